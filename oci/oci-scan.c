/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pre-parse pass that bounds the number of entries of every JSON array and
 * object to OCI_MAX_ARRAY before yajl sees the text. yajl_tree grows its
 * arrays one element at a time (realloc per value), which is quadratic where
 * realloc cannot grow in place (ASan, fuzzing); this pass rejects absurd
 * documents in linear time, and still names the offending field.
 */
#include "oci-internal.h"

typedef struct ScanLevel {
        char type; /* '{' or '[' */
        bool want_key; /* objects: the next string is a key */
        size_t commas;
        const char *key; /* objects: the current key, raw */
        size_t key_len;
} ScanLevel;

typedef struct Scan {
        ScanLevel levels[JSON_MAX_DEPTH];
        unsigned depth; /* levels in use */
        unsigned untracked; /* nesting beyond JSON_MAX_DEPTH (json_parse rejects it later) */
} Scan;

static void path_append(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static void path_append(char *buf, size_t size, const char *fmt, ...) {
        size_t l = strlen(buf);
        va_list ap;

        if (l + 1 >= size)
                return;
        va_start(ap, fmt);
        vsnprintf(buf + l, size - l, fmt, ap);
        va_end(ap);
}

/* The path of the container at level d: the keys and indexes leading to it. */
static const char *scan_path(const Scan *s, unsigned d, char *buf, size_t size) {
        buf[0] = 0;
        for (unsigned i = 0; i < d; i++) {
                const ScanLevel *l = &s->levels[i];
                if (l->type == '[') {
                        path_append(buf, size, "[%zu]", l->commas);
                        continue;
                }
                if (buf[0])
                        path_append(buf, size, ".");
                for (size_t k = 0; k < l->key_len && k < 64; k++) {
                        char c = l->key[k];
                        path_append(buf, size, "%c", (unsigned char) c < 0x20 || c == 0x7f ? '?' : c);
                }
        }
        return buf;
}

static int scan_comma(Scan *s, const char *label, char **error_msg) {
        ScanLevel *l = &s->levels[s->depth - 1];
        char path[JSON_PATH_MAX];

        l->commas++;
        l->want_key = l->type == '{';
        if (l->commas < OCI_MAX_ARRAY)
                return 0;
        scan_path(s, s->depth - 1, path, sizeof path);
        (void) json_error(error_msg, path[0] ? path : label, "more than %u entries", OCI_MAX_ARRAY);
        return -E2BIG;
}

static void scan_open(Scan *s, char c) {
        if (s->depth >= JSON_MAX_DEPTH || s->untracked > 0) {
                s->untracked++;
                return;
        }
        s->levels[s->depth++] = (ScanLevel){ .type = c, .want_key = c == '{' };
}

static void scan_close(Scan *s) {
        if (s->untracked > 0)
                s->untracked--;
        else if (s->depth > 0)
                s->depth--;
}

/* Skips a string starting after its opening quote; returns the index of the closing quote (or len). */
static size_t scan_string(const char *text, size_t len, size_t i) {
        for (; i < len; i++) {
                if (text[i] == '\\')
                        i++;
                else if (text[i] == '"')
                        break;
        }
        return i;
}

int oci_scan_bounds(const char *text, size_t len, const char *label, char **error_msg) {
        _cleanup_free_ Scan *s = calloc(1, sizeof(Scan));
        int r;

        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                char c = text[i];
                ScanLevel *top = s->depth > 0 && s->untracked == 0 ? &s->levels[s->depth - 1] : NULL;

                if (c == '"') {
                        size_t end = scan_string(text, len, i + 1);
                        if (top && top->want_key) {
                                top->key = text + i + 1;
                                top->key_len = end - i - 1;
                                top->want_key = false;
                        }
                        i = end;
                } else if (c == '{' || c == '[')
                        scan_open(s, c);
                else if (c == '}' || c == ']')
                        scan_close(s);
                else if (c == ',' && top) {
                        r = scan_comma(s, label, error_msg);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}
