/* SPDX-License-Identifier: Apache-2.0 */
#include <math.h>
#include <yajl/yajl_gen.h>

#include "common.h"

/*
 * yajl's tree parser recurses when freeing and has no nesting limit, so a
 * document like "[[[[..." a million deep would exhaust the stack. Scan the
 * text first: count nesting outside strings and reject NUL bytes (yajl_tree
 * wants a C string).
 */
static int json_prescan(const char *text, size_t len, char **error_msg) {
        bool in_string = false, escaped = false;
        unsigned depth = 0;

        for (size_t i = 0; i < len; i++) {
                char c = text[i];
                if (c == 0)
                        return json_error(error_msg, "", "NUL byte at offset %zu", i);
                if (in_string) {
                        if (escaped)
                                escaped = false;
                        else if (c == '\\')
                                escaped = true;
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (c == '"')
                        in_string = true;
                else if (c == '[' || c == '{') {
                        if (++depth > JSON_MAX_DEPTH) {
                                if (error_msg)
                                        (void) xasprintf(
                                                        error_msg, "JSON nested deeper than %d levels",
                                                        JSON_MAX_DEPTH);
                                return -E2BIG;
                        }
                } else if ((c == ']' || c == '}') && depth > 0)
                        depth--;
        }
        return 0;
}

int json_parse(const char *text, size_t len, JsonVal *ret, char **error_msg) {
        _cleanup_free_ char *copy = NULL;
        char errbuf[512];
        JsonVal v;
        int r;

        r = json_prescan(text, len, error_msg);
        if (r < 0)
                return r;
        copy = strndup(text, len);
        if (!copy)
                return -ENOMEM;
        errbuf[0] = 0;
        v = yajl_tree_parse(copy, errbuf, sizeof errbuf);
        if (!v) {
                /* yajl's message spans lines and quotes the input: keep the first line. */
                errbuf[strcspn(errbuf, "\n")] = 0;
                if (error_msg)
                        (void) xasprintf(error_msg, "invalid JSON: %s", errbuf[0] ? errbuf : "parse error");
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

JsonVal json_free(JsonVal v) {
        if (v)
                yajl_tree_free(v);
        return NULL;
}

const char *json_type_name(JsonVal v) {
        if (!v)
                return "nothing";
        switch (v->type) {
        case yajl_t_string:
                return "string";
        case yajl_t_number:
                return YAJL_IS_INTEGER(v) ? "integer" : "number";
        case yajl_t_object:
                return "object";
        case yajl_t_array:
                return "array";
        case yajl_t_true:
        case yajl_t_false:
                return "boolean";
        case yajl_t_null:
                return "null";
        default:
                return "unknown";
        }
}

JsonVal json_get(JsonVal obj, const char *key) {
        if (!obj || obj->type != yajl_t_object)
                return NULL;
        /* Last one wins for duplicate keys, as in Go's encoding/json. */
        for (size_t i = obj->u.object.len; i > 0; i--)
                if (streq(obj->u.object.keys[i - 1], key))
                        return obj->u.object.values[i - 1];
        return NULL;
}

int json_error(char **error_msg, const char *path, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;
        int n;

        if (!error_msg)
                return -EINVAL;
        va_start(ap, fmt);
        n = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        free(*error_msg);
        *error_msg = NULL;
        if (isempty(path))
                *error_msg = TAKE_PTR(m);
        else
                (void) xasprintf(error_msg, "%s: %s", path, m);
        return -EINVAL;
}

const char *json_path_key(char *buf, size_t size, const char *parent, const char *key) {
        snprintf(buf, size, "%s%s%s", isempty(parent) ? "" : parent, isempty(parent) ? "" : ".", key);
        return buf;
}

const char *json_path_index(char *buf, size_t size, const char *parent, size_t i) {
        snprintf(buf, size, "%s[%zu]", parent ?: "", i);
        return buf;
}

int json_want_type(JsonVal v, const char *path, int type, char **error_msg) {
        static const char *const names[] = {
                [yajl_t_string] = "string", [yajl_t_number] = "number", [yajl_t_object] = "object",
                [yajl_t_array] = "array",   [yajl_t_true] = "boolean",  [yajl_t_false] = "boolean",
                [yajl_t_null] = "null",
        };
        if (v && (int) v->type == type)
                return 0;
        if (v && type == yajl_t_true && v->type == yajl_t_false)
                return 0;
        return json_error(
                        error_msg, path, "expected %s, got %s",
                        type >= 0 && (size_t) type < ELEMENTSOF(names) ? names[type] : "?", json_type_name(v));
}

int json_want_string(JsonVal v, const char *path, char **ret, char **error_msg) {
        char *s;
        if (!v || v->type != yajl_t_string)
                return json_error(error_msg, path, "expected string, got %s", json_type_name(v));
        s = strdup(v->u.string);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int json_want_bool(JsonVal v, const char *path, bool *ret, char **error_msg) {
        if (!v || (v->type != yajl_t_true && v->type != yajl_t_false))
                return json_error(error_msg, path, "expected boolean, got %s", json_type_name(v));
        *ret = v->type == yajl_t_true;
        return 0;
}

int json_want_int64(JsonVal v, const char *path, int64_t min, int64_t max, int64_t *ret, char **error_msg) {
        int64_t x;
        if (!v || v->type != yajl_t_number)
                return json_error(error_msg, path, "expected integer, got %s", json_type_name(v));
        if (safe_atoi64(v->u.number.r, &x) < 0)
                return json_error(
                                error_msg, path, "expected integer, got %s%s", v->u.number.r,
                                YAJL_IS_INTEGER(v) ? " (out of range)" : "");
        if (x < min || x > max)
                return json_error(
                                error_msg, path, "%" PRIi64 " out of range [%" PRIi64 ", %" PRIi64 "]", x,
                                min, max);
        *ret = x;
        return 0;
}

int json_want_uint64(JsonVal v, const char *path, uint64_t max, uint64_t *ret, char **error_msg) {
        uint64_t x;
        if (!v || v->type != yajl_t_number)
                return json_error(error_msg, path, "expected unsigned integer, got %s", json_type_name(v));
        if (safe_atou64(v->u.number.r, &x) < 0)
                return json_error(error_msg, path, "expected unsigned integer, got %s", v->u.number.r);
        if (x > max)
                return json_error(error_msg, path, "%" PRIu64 " out of range [0, %" PRIu64 "]", x, max);
        *ret = x;
        return 0;
}

int json_want_strv(JsonVal v, const char *path, char ***ret, char **error_msg) {
        _cleanup_strv_free_ char **l = NULL;
        char sub[JSON_PATH_MAX];

        if (!v || v->type != yajl_t_array)
                return json_error(error_msg, path, "expected array of strings, got %s", json_type_name(v));
        l = calloc(v->u.array.len + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < v->u.array.len; i++) {
                int r = json_want_string(
                                v->u.array.values[i], json_path_index(sub, sizeof sub, path, i), &l[i],
                                error_msg);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* ------------------------------------------------------------------ writer */

struct JsonWriter {
        yajl_gen gen;
        int error;
};

int json_writer_new(bool pretty, JsonWriter **ret) {
        JsonWriter *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->gen = yajl_gen_alloc(NULL);
        if (!w->gen) {
                free(w);
                return -ENOMEM;
        }
        if (pretty) {
                yajl_gen_config(w->gen, yajl_gen_beautify, 1);
                yajl_gen_config(w->gen, yajl_gen_indent_string, "\t");
        }
        *ret = w;
        return 0;
}

JsonWriter *json_writer_free(JsonWriter *w) {
        if (w) {
                yajl_gen_free(w->gen);
                free(w);
        }
        return NULL;
}

static void jw_check(JsonWriter *w, yajl_gen_status s) {
        if (s != yajl_gen_status_ok && w->error == 0)
                w->error = s == yajl_gen_generation_complete ? -EINVAL : -ENOMEM;
}

void jw_object_open(JsonWriter *w) {
        jw_check(w, yajl_gen_map_open(w->gen));
}
void jw_object_close(JsonWriter *w) {
        jw_check(w, yajl_gen_map_close(w->gen));
}
void jw_array_open(JsonWriter *w) {
        jw_check(w, yajl_gen_array_open(w->gen));
}
void jw_array_close(JsonWriter *w) {
        jw_check(w, yajl_gen_array_close(w->gen));
}
void jw_key(JsonWriter *w, const char *key) {
        jw_string(w, key);
}
void jw_string(JsonWriter *w, const char *s) {
        if (!s)
                jw_null(w);
        else
                jw_check(w, yajl_gen_string(w->gen, (const unsigned char *) s, strlen(s)));
}
void jw_int(JsonWriter *w, int64_t v) {
        jw_check(w, yajl_gen_integer(w->gen, (long long) v));
}
void jw_uint(JsonWriter *w, uint64_t v) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%" PRIu64, v);
        jw_check(w, yajl_gen_number(w->gen, buf, (size_t) n));
}
void jw_double(JsonWriter *w, double v) {
        jw_check(w, isfinite(v) ? yajl_gen_double(w->gen, v) : yajl_gen_null(w->gen));
}
void jw_bool(JsonWriter *w, bool v) {
        jw_check(w, yajl_gen_bool(w->gen, v));
}
void jw_null(JsonWriter *w) {
        jw_check(w, yajl_gen_null(w->gen));
}
void jw_strv(JsonWriter *w, char *const *l) {
        jw_array_open(w);
        for (size_t i = 0; l && l[i]; i++)
                jw_string(w, l[i]);
        jw_array_close(w);
}

void jw_value(JsonWriter *w, JsonVal v) {
        if (!v) {
                jw_null(w);
                return;
        }
        switch (v->type) {
        case yajl_t_string:
                jw_string(w, v->u.string);
                break;
        case yajl_t_number:
                jw_check(w, yajl_gen_number(w->gen, v->u.number.r, strlen(v->u.number.r)));
                break;
        case yajl_t_object:
                jw_object_open(w);
                for (size_t i = 0; i < v->u.object.len; i++) {
                        jw_key(w, v->u.object.keys[i]);
                        jw_value(w, v->u.object.values[i]);
                }
                jw_object_close(w);
                break;
        case yajl_t_array:
                jw_array_open(w);
                for (size_t i = 0; i < v->u.array.len; i++)
                        jw_value(w, v->u.array.values[i]);
                jw_array_close(w);
                break;
        case yajl_t_true:
                jw_bool(w, true);
                break;
        case yajl_t_false:
                jw_bool(w, false);
                break;
        default:
                jw_null(w);
        }
}

int json_writer_finish(JsonWriter *w, char **ret, size_t *ret_len) {
        const unsigned char *buf;
        size_t len;
        char *s;

        if (w->error < 0)
                return w->error;
        if (yajl_gen_get_buf(w->gen, &buf, &len) != yajl_gen_status_ok)
                return -EINVAL;
        s = strndup((const char *) buf, len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        if (ret_len)
                *ret_len = len;
        return 0;
}
