/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The table walkers: parse (with validation), free and compare any type
 * described by an OciType. See oci-internal.h.
 */
#include "oci-internal.h"

#define AT(p, off, T) ((T *) (void *) ((char *) (p) + (off)))
#define CAT(p, off, T) ((const T *) (const void *) ((const char *) (p) + (off)))

static int parse_value(const OciField *f, JsonVal v, const char *path, void *base, char **error_msg);
static void field_done(const OciField *f, void *base);
static bool field_equal(const OciField *f, const void *a, const void *b);

bool oci_json_absent(JsonVal v) {
        return !v || v->type == yajl_t_null;
}

const char *oci_quote(char *buf, size_t size, const char *s) {
        static const char hex[] = "0123456789abcdef";
        size_t o = 0, in = 0;

        assert(size >= 16);
        buf[o++] = '"';
        for (; s && s[in] && o + 8 < size; in++) {
                unsigned char c = (unsigned char) s[in];
                if (c == '"' || c == '\\') {
                        buf[o++] = '\\';
                        buf[o++] = (char) c;
                } else if (c < 0x20 || c == 0x7f) {
                        buf[o++] = '\\';
                        buf[o++] = 'x';
                        buf[o++] = hex[c >> 4];
                        buf[o++] = hex[c & 15];
                } else
                        buf[o++] = (char) c;
        }
        buf[o++] = '"';
        if (s && s[in]) {
                memcpy(buf + o, "...", 3);
                o += 3;
        }
        buf[o] = 0;
        return buf;
}

const char *oci_path_map(char *buf, size_t size, const char *parent, const char *key) {
        char q[OCI_QUOTE_MAX];
        snprintf(buf, size, "%s[%s]", parent ?: "", oci_quote(q, sizeof q, key));
        return buf;
}

int oci_names_lookup(const OciNames *n, const char *s) {
        for (size_t i = 0; i < n->n; i++)
                if (n->names[i] && streq(n->names[i], s))
                        return (int) i;
        return -EINVAL;
}

const char *oci_names_get(const OciNames *n, int v) {
        if (v < 0 || (size_t) v >= n->n)
                return NULL;
        return n->names[v];
}

static int error_too_many(char **error_msg, const char *path, size_t n) {
        (void) json_error(error_msg, path, "%zu entries exceed the limit of %u", n, OCI_MAX_ARRAY);
        return -E2BIG;
}

static int error_unknown(char **error_msg, const char *path, const OciNames *names, const char *s) {
        char q[OCI_QUOTE_MAX];
        return json_error(error_msg, path, "unknown %s %s", names->what, oci_quote(q, sizeof q, s));
}

/* Checks a parsed string against the field's flags; may rewrite it (OCI_F_ROOTREL). */
static int check_string(const OciField *f, char **s, const char *path, char **error_msg) {
        char q[OCI_QUOTE_MAX];

        if ((f->flags & OCI_F_NONEMPTY) && isempty(*s))
                return json_error(error_msg, path, "must not be empty");
        if ((f->flags & OCI_F_ABSOLUTE) && (*s)[0] != '/')
                return json_error(
                                error_msg, path, "must be an absolute path, got %s",
                                oci_quote(q, sizeof q, *s));
        if ((f->flags & OCI_F_ROOTREL) && (*s)[0] != '/') {
                /* runtime-spec config.md, Mounts: relative destinations are relative to "/". */
                char *a;
                if (xasprintf(&a, "/%s", *s) < 0)
                        return -ENOMEM;
                free(*s);
                *s = a;
        }
        if (f->names && oci_names_lookup(f->names, *s) < 0)
                return error_unknown(error_msg, path, f->names, *s);
        if (f->check_string)
                return f->check_string(*s, path, error_msg);
        return 0;
}

static int parse_string(const OciField *f, JsonVal v, const char *path, char **ret, char **error_msg) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = json_want_string(v, path, &s, error_msg);
        if (r < 0)
                return r;
        r = check_string(f, &s, path, error_msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

static int want_array(JsonVal v, const char *path, const char *what, char **error_msg) {
        if (!v || v->type != yajl_t_array)
                return json_error(error_msg, path, "expected array%s, got %s", what, json_type_name(v));
        if (v->u.array.len > OCI_MAX_ARRAY)
                return error_too_many(error_msg, path, v->u.array.len);
        return 0;
}

static int parse_strv(const OciField *f, JsonVal v, const char *path, char ***ret, char **error_msg) {
        _cleanup_strv_free_ char **l = NULL;
        char sub[JSON_PATH_MAX];
        size_t n;
        int r;

        r = want_array(v, path, " of strings", error_msg);
        if (r < 0)
                return r;
        n = v->u.array.len;
        if ((f->flags & OCI_F_NONEMPTY) && n == 0)
                return json_error(error_msg, path, "must have at least one entry");
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_path_index(sub, sizeof sub, path, i);
                r = json_want_string(v->u.array.values[i], sub, &l[i], error_msg);
                if (r < 0)
                        return r;
                OciField ef = *f;
                ef.flags &= ~OCI_F_NONEMPTY;
                r = check_string(&ef, &l[i], sub, error_msg);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_u32_array(const OciField *f, JsonVal v, const char *path, void *base, char **error_msg) {
        _cleanup_free_ uint32_t *a = NULL;
        char sub[JSON_PATH_MAX];
        size_t n;
        int r;

        r = want_array(v, path, " of integers", error_msg);
        if (r < 0)
                return r;
        n = v->u.array.len;
        a = calloc(MAX(n, 1u), sizeof(uint32_t));
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                uint64_t x;
                r = json_want_uint64(
                                v->u.array.values[i], json_path_index(sub, sizeof sub, path, i), UINT32_MAX,
                                &x, error_msg);
                if (r < 0)
                        return r;
                a[i] = (uint32_t) x;
        }
        *AT(base, f->offset, uint32_t *) = TAKE_PTR(a);
        *AT(base, f->count_offset, size_t) = n;
        return 0;
}

static int parse_enum(const OciField *f, JsonVal v, const char *path, int *ret, char **error_msg) {
        _cleanup_free_ char *s = NULL;
        int r, x;

        r = json_want_string(v, path, &s, error_msg);
        if (r < 0)
                return r;
        x = oci_names_lookup(f->names, s);
        if (x < 0)
                return error_unknown(error_msg, path, f->names, s);
        *ret = x;
        return 0;
}

static int parse_flags(const OciField *f, JsonVal v, const char *path, uint32_t *ret, char **error_msg) {
        _cleanup_strv_free_ char **l = NULL;
        char sub[JSON_PATH_MAX];
        uint32_t mask = 0;
        int r;

        r = want_array(v, path, " of strings", error_msg);
        if (r < 0)
                return r;
        r = json_want_strv(v, path, &l, error_msg);
        if (r < 0)
                return r;
        for (size_t i = 0; l[i]; i++) {
                int x = oci_names_lookup(f->names, l[i]);
                if (x < 0 || x >= 32)
                        return error_unknown(
                                        error_msg, json_path_index(sub, sizeof sub, path, i), f->names, l[i]);
                mask |= UINT32_C(1) << x;
        }
        *ret = mask;
        return 0;
}

static int parse_char(const OciField *f, JsonVal v, const char *path, char *ret, char **error_msg) {
        _cleanup_free_ char *s = NULL;
        char q[OCI_QUOTE_MAX];
        int r;

        r = json_want_string(v, path, &s, error_msg);
        if (r < 0)
                return r;
        if (strlen(s) != 1 || !strchr(f->chars, s[0]))
                return json_error(
                                error_msg, path, "expected one of \"%s\", got %s", f->chars,
                                oci_quote(q, sizeof q, s));
        *ret = s[0];
        return 0;
}

static int parse_ptr(const OciField *f, JsonVal v, const char *path, void **ret, char **error_msg) {
        void *p;
        int r;

        p = calloc(1, f->type->size);
        if (!p)
                return -ENOMEM;
        if (f->type->init)
                f->type->init(p);
        r = oci_parse_object(f->type, v, path, p, error_msg);
        if (r < 0) {
                oci_type_done(f->type, p);
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

static int parse_array(const OciField *f, JsonVal v, const char *path, void *base, char **error_msg) {
        const OciType *t = f->type;
        char sub[JSON_PATH_MAX];
        size_t n;
        char *a;
        int r;

        r = want_array(v, path, "", error_msg);
        if (r < 0)
                return r;
        n = v->u.array.len;
        if ((f->flags & OCI_F_NONEMPTY) && n == 0)
                return json_error(error_msg, path, "must have at least one entry");
        a = calloc(MAX(n, 1u), t->size);
        if (!a)
                return -ENOMEM;
        /* Owned by base from here on, so that a failure midway frees what was parsed. */
        *AT(base, f->offset, void *) = a;
        *AT(base, f->count_offset, size_t) = n;
        for (size_t i = 0; i < n && t->init; i++)
                t->init(a + i * t->size);
        for (size_t i = 0; i < n; i++) {
                r = oci_parse_object(
                                t, v->u.array.values[i], json_path_index(sub, sizeof sub, path, i),
                                a + i * t->size, error_msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct KeyRef {
        const char *key;
        size_t index;
} KeyRef;

static int keyref_compare(const void *a, const void *b) {
        const KeyRef *x = a, *y = b;
        int c = strcmp(x->key, y->key);
        if (c != 0)
                return c;
        return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Marks which members of a JSON object to keep: for duplicated keys only the
 * last one counts, as with json_get() and Go's encoding/json.
 */
static int object_keep_last(JsonVal v, bool **ret, size_t *ret_n) {
        size_t n = v->u.object.len, kept = 0;
        _cleanup_free_ KeyRef *refs = NULL;
        _cleanup_free_ bool *keep = NULL;

        refs = calloc(MAX(n, 1u), sizeof(KeyRef));
        keep = calloc(MAX(n, 1u), sizeof(bool));
        if (!refs || !keep)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                refs[i] = (KeyRef){ v->u.object.keys[i], i };
        qsort(refs, n, sizeof(KeyRef), keyref_compare);
        for (size_t i = 0; i < n; i++)
                if (i + 1 == n || !streq(refs[i].key, refs[i + 1].key)) {
                        keep[refs[i].index] = true;
                        kept++;
                }
        *ret = TAKE_PTR(keep);
        *ret_n = kept;
        return 0;
}

static int want_object_bounded(JsonVal v, const char *path, char **error_msg) {
        int r = json_want_type(v, path, yajl_t_object, error_msg);
        if (r < 0)
                return r;
        if (v->u.object.len > OCI_MAX_ARRAY)
                return error_too_many(error_msg, path, v->u.object.len);
        return 0;
}

static int parse_map(const OciField *f, JsonVal v, const char *path, void *base, char **error_msg) {
        const OciType *t = f->type;
        _cleanup_free_ bool *keep = NULL;
        char sub[JSON_PATH_MAX];
        size_t n, j = 0;
        char *a;
        int r;

        r = want_object_bounded(v, path, error_msg);
        if (r < 0)
                return r;
        r = object_keep_last(v, &keep, &n);
        if (r < 0)
                return r;
        a = calloc(MAX(n, 1u), t->size);
        if (!a)
                return -ENOMEM;
        *AT(base, f->offset, void *) = a;
        *AT(base, f->count_offset, size_t) = n;
        for (size_t i = 0; i < v->u.object.len; i++) {
                const char *key = v->u.object.keys[i];
                char *elem = a + j * t->size;

                if (!keep[i])
                        continue;
                j++;
                oci_path_map(sub, sizeof sub, path, key);
                if (t->check_key) {
                        r = t->check_key(key, sub, error_msg);
                        if (r < 0)
                                return r;
                }
                *AT(elem, t->key_offset, char *) = strdup(key);
                if (!*AT(elem, t->key_offset, char *))
                        return -ENOMEM;
                r = parse_value(t->value, v->u.object.values[i], sub, elem, error_msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_keyset(const OciField *f, JsonVal v, const char *path, char ***ret, char **error_msg) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ bool *keep = NULL;
        char sub[JSON_PATH_MAX];
        size_t n, j = 0;
        int r;

        r = want_object_bounded(v, path, error_msg);
        if (r < 0)
                return r;
        r = object_keep_last(v, &keep, &n);
        if (r < 0)
                return r;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < v->u.object.len; i++) {
                JsonVal e = v->u.object.values[i];
                if (!keep[i])
                        continue;
                /* image-spec: the values are empty objects, kept for compatibility with Docker. */
                if (!oci_json_absent(e) && e->type != yajl_t_object)
                        return json_error(
                                        error_msg, oci_path_map(sub, sizeof sub, path, v->u.object.keys[i]),
                                        "expected object, got %s", json_type_name(e));
                l[j] = strdup(v->u.object.keys[i]);
                if (!l[j++])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static void range_signed(const OciField *f, int64_t lo, int64_t hi, int64_t *ret_lo, int64_t *ret_hi) {
        bool natural = f->min == 0 && f->max == 0;
        *ret_lo = natural ? lo : f->min;
        *ret_hi = natural ? hi : (int64_t) f->max;
}

static uint64_t range_unsigned(const OciField *f, uint64_t hi) {
        return f->max == 0 ? hi : f->max;
}

static int parse_number(const OciField *f, JsonVal v, const char *path, void *base, char **error_msg) {
        void *p = AT(base, f->offset, char);
        int64_t lo, hi, s;
        uint64_t u;
        int r;

        switch (f->kind) {
        case OCI_K_I32:
                range_signed(f, INT32_MIN, INT32_MAX, &lo, &hi);
                r = json_want_int64(v, path, lo, hi, &s, error_msg);
                if (r >= 0)
                        *(int32_t *) p = (int32_t) s;
                return r;
        case OCI_K_I64:
        case OCI_K_OPT_I64:
                range_signed(f, INT64_MIN, INT64_MAX, &lo, &hi);
                r = json_want_int64(v, path, lo, hi, &s, error_msg);
                if (r >= 0 && f->check_int)
                        r = f->check_int(s, path, error_msg);
                if (r < 0)
                        return r;
                if (f->kind == OCI_K_I64)
                        *(int64_t *) p = s;
                else
                        *(OciOptI64 *) p = (OciOptI64){ true, s };
                return 0;
        case OCI_K_U32:
                r = json_want_uint64(v, path, range_unsigned(f, UINT32_MAX), &u, error_msg);
                if (r >= 0)
                        *(uint32_t *) p = (uint32_t) u;
                return r;
        default:
                r = json_want_uint64(v, path, range_unsigned(f, UINT64_MAX), &u, error_msg);
                if (r < 0)
                        return r;
                if (f->kind == OCI_K_U64)
                        *(uint64_t *) p = u;
                else
                        *(OciOptU64 *) p = (OciOptU64){ true, u };
                return 0;
        }
}

static int parse_value(const OciField *f, JsonVal v, const char *path, void *base, char **error_msg) {
        void *p = AT(base, f->offset, char);
        int r;

        switch (f->kind) {
        case OCI_K_STRING:
                return parse_string(f, v, path, p, error_msg);
        case OCI_K_BOOL:
                return json_want_bool(v, path, p, error_msg);
        case OCI_K_OPT_BOOL:
                r = json_want_bool(v, path, &((OciOptBool *) p)->v, error_msg);
                if (r >= 0)
                        ((OciOptBool *) p)->set = true;
                return r;
        case OCI_K_I32:
        case OCI_K_I64:
        case OCI_K_U32:
        case OCI_K_U64:
        case OCI_K_OPT_I64:
        case OCI_K_OPT_U64:
                return parse_number(f, v, path, base, error_msg);
        case OCI_K_STRV:
                return parse_strv(f, v, path, p, error_msg);
        case OCI_K_U32_ARRAY:
                return parse_u32_array(f, v, path, base, error_msg);
        case OCI_K_ENUM:
                return parse_enum(f, v, path, p, error_msg);
        case OCI_K_FLAGS:
                return parse_flags(f, v, path, p, error_msg);
        case OCI_K_CHAR:
                return parse_char(f, v, path, p, error_msg);
        case OCI_K_OBJECT:
                return oci_parse_object(f->type, v, path, p, error_msg);
        case OCI_K_PTR:
                return parse_ptr(f, v, path, p, error_msg);
        case OCI_K_ARRAY:
                return parse_array(f, v, path, base, error_msg);
        case OCI_K_MAP:
                return parse_map(f, v, path, base, error_msg);
        case OCI_K_KEYSET:
                return parse_keyset(f, v, path, p, error_msg);
        case OCI_K_CUSTOM:
                return f->custom->parse(v, path, p, error_msg);
        }
        return -EINVAL;
}

static bool type_has_key(const OciType *t, const char *key) {
        for (size_t i = 0; i < t->n_fields; i++)
                if (streq(t->fields[i].key, key))
                        return true;
        return false;
}

int oci_parse_object(const OciType *t, JsonVal v, const char *path, void *p, char **error_msg) {
        char sub[JSON_PATH_MAX];
        int r;

        r = json_want_type(v, path, yajl_t_object, error_msg);
        if (r < 0)
                return r;
        for (size_t i = 0; t->strict && i < v->u.object.len; i++)
                if (!type_has_key(t, v->u.object.keys[i]))
                        return json_error(
                                        error_msg, oci_path_map(sub, sizeof sub, path, v->u.object.keys[i]),
                                        "unknown key");
        if (t->has_set)
                *AT(p, t->set_offset, bool) = true;
        for (size_t i = 0; i < t->n_fields; i++) {
                const OciField *f = &t->fields[i];
                JsonVal m = json_get(v, f->key);

                json_path_key(sub, sizeof sub, path, f->key);
                if (oci_json_absent(m)) {
                        if (f->flags & OCI_F_REQUIRED)
                                return json_error(error_msg, sub, "required field missing");
                        continue;
                }
                r = parse_value(f, m, sub, p, error_msg);
                if (r < 0)
                        return r;
        }
        return t->check ? t->check(p, path, error_msg) : 0;
}

int oci_parse_document(const OciType *t, const char *label, const char *text, size_t len, void **ret, char **error_msg) {
        _cleanup_(json_freep) JsonVal v = NULL;
        _cleanup_free_ char *m = NULL;
        void *p;
        int r;

        if (!text || !ret)
                return -EINVAL;
        if (len > OCI_CONFIG_MAX_BYTES) {
                (void) json_error(
                                error_msg, label, "%zu bytes exceed the limit of %u", len,
                                OCI_CONFIG_MAX_BYTES);
                return -E2BIG;
        }
        r = oci_scan_bounds(text, len, label, error_msg);
        if (r < 0)
                return r;
        r = json_parse(text, len, &v, error_msg ? &m : NULL);
        if (r < 0) {
                if (error_msg && m)
                        (void) json_error(error_msg, label, "%s", m);
                return r;
        }
        if (!v || v->type != yajl_t_object)
                return json_error(error_msg, label, "expected object, got %s", json_type_name(v));
        p = calloc(1, t->size);
        if (!p)
                return -ENOMEM;
        if (t->init)
                t->init(p);
        r = oci_parse_object(t, v, "", p, error_msg);
        if (r < 0) {
                oci_document_free(t, p);
                return r;
        }
        *ret = p;
        return 0;
}

void *oci_document_free(const OciType *t, void *p) {
        if (p) {
                oci_type_done(t, p);
                free(p);
        }
        return NULL;
}

/* ------------------------------------------------------------------ free */

static void field_done(const OciField *f, void *base) {
        void *p = AT(base, f->offset, char);
        const OciType *t = f->type;

        switch (f->kind) {
        case OCI_K_STRING:
        case OCI_K_U32_ARRAY:
                free(*(void **) p);
                *(void **) p = NULL;
                break;
        case OCI_K_STRV:
        case OCI_K_KEYSET:
                *(char ***) p = strv_free(*(char ***) p);
                break;
        case OCI_K_OBJECT:
                oci_type_done(t, p);
                break;
        case OCI_K_PTR:
                *(void **) p = oci_document_free(t, *(void **) p);
                break;
        case OCI_K_ARRAY:
        case OCI_K_MAP: {
                char *a = *(char **) p;
                size_t n = *AT(base, f->count_offset, size_t);
                for (size_t i = 0; a && i < n; i++) {
                        if (f->kind == OCI_K_ARRAY)
                                oci_type_done(t, a + i * t->size);
                        else {
                                free(*AT(a + i * t->size, t->key_offset, char *));
                                field_done(t->value, a + i * t->size);
                        }
                }
                free(a);
                *(void **) p = NULL;
                *AT(base, f->count_offset, size_t) = 0;
                break;
        }
        case OCI_K_CUSTOM:
                if (f->custom->done)
                        f->custom->done(p);
                break;
        default:
                break;
        }
}

void oci_type_done(const OciType *t, void *p) {
        for (size_t i = 0; i < t->n_fields; i++)
                field_done(&t->fields[i], p);
}

/* --------------------------------------------------------------- compare */

static bool strv_equal(char *const *a, char *const *b) {
        if (!a || !b)
                return a == b;
        for (; *a && *b; a++, b++)
                if (!streq(*a, *b))
                        return false;
        return !*a && !*b;
}

/* OCI_K_ARRAY and OCI_K_MAP: same presence, count, and elements in order. */
static bool elements_equal(const OciField *f, const void *a, const void *b) {
        const OciType *t = f->type;
        const char *x = *CAT(a, f->offset, char *), *y = *CAT(b, f->offset, char *);
        size_t n = *CAT(a, f->count_offset, size_t);

        if (!x || !y)
                return x == y;
        if (n != *CAT(b, f->count_offset, size_t))
                return false;
        for (size_t i = 0; i < n; i++) {
                const char *ex = x + i * t->size, *ey = y + i * t->size;
                if (f->kind == OCI_K_ARRAY) {
                        if (!oci_type_equal(t, ex, ey))
                                return false;
                } else if (!streq(*CAT(ex, t->key_offset, char *), *CAT(ey, t->key_offset, char *)) ||
                           !field_equal(t->value, ex, ey))
                        return false;
        }
        return true;
}

static bool u32_array_equal(const OciField *f, const void *a, const void *b) {
        const uint32_t *x = *CAT(a, f->offset, uint32_t *), *y = *CAT(b, f->offset, uint32_t *);
        size_t n = *CAT(a, f->count_offset, size_t);

        if (!x || !y)
                return x == y;
        return n == *CAT(b, f->count_offset, size_t) && memcmp(x, y, n * sizeof(uint32_t)) == 0;
}

static bool field_equal(const OciField *f, const void *a, const void *b) {
        const void *x = CAT(a, f->offset, char), *y = CAT(b, f->offset, char);

        switch (f->kind) {
        case OCI_K_STRING:
                return streq_ptr(*(char *const *) x, *(char *const *) y);
        case OCI_K_BOOL:
                return *(const bool *) x == *(const bool *) y;
        case OCI_K_OPT_BOOL:
                return memcmp(x, y, sizeof(OciOptBool)) == 0;
        case OCI_K_I32:
        case OCI_K_U32:
        case OCI_K_ENUM:
        case OCI_K_FLAGS:
                return *(const uint32_t *) x == *(const uint32_t *) y;
        case OCI_K_I64:
        case OCI_K_U64:
                return *(const uint64_t *) x == *(const uint64_t *) y;
        case OCI_K_OPT_I64:
        case OCI_K_OPT_U64: {
                const OciOptU64 *ox = x, *oy = y;
                return ox->set == oy->set && (!ox->set || ox->v == oy->v);
        }
        case OCI_K_CHAR:
                return *(const char *) x == *(const char *) y;
        case OCI_K_STRV:
        case OCI_K_KEYSET:
                return strv_equal(*(char *const *const *) x, *(char *const *const *) y);
        case OCI_K_OBJECT:
                return oci_type_equal(f->type, x, y);
        case OCI_K_PTR: {
                const void *px = *(const void *const *) x, *py = *(const void *const *) y;
                return px && py ? oci_type_equal(f->type, px, py) : px == py;
        }
        case OCI_K_U32_ARRAY:
                return u32_array_equal(f, a, b);
        case OCI_K_ARRAY:
        case OCI_K_MAP:
                return elements_equal(f, a, b);
        case OCI_K_CUSTOM:
                return f->custom->equal(x, y);
        }
        return false;
}

bool oci_type_equal(const OciType *t, const void *a, const void *b) {
        if (t->has_set && *CAT(a, t->set_offset, bool) != *CAT(b, t->set_offset, bool))
                return false;
        for (size_t i = 0; i < t->n_fields; i++)
                if (!field_equal(&t->fields[i], a, b))
                        return false;
        return true;
}
