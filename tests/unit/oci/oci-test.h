/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Helpers shared by the oci unit tests. */

#include "oci.h"
#include "tap.h"

/* Read tests/unit/oci/fixtures/<name> (OCI_FIXTURES is set by meson). */
static inline char *fixture(const char *name, size_t *ret_len) {
        _cleanup_free_ char *path = NULL;
        char *text = NULL;
        size_t len;

        if (xasprintf(&path, "%s/%s", OCI_FIXTURES, name) < 0)
                tap_fail(__FILE__, __LINE__, "out of memory");
        if (read_full_file_at(AT_FDCWD, path, OCI_CONFIG_MAX_BYTES, &text, &len) < 0)
                tap_fail(__FILE__, __LINE__, "cannot read fixture %s", path);
        if (ret_len)
                *ret_len = len;
        return text;
}

/* JSON written with single quotes in C strings: turn them into double quotes. */
static inline char *jq(const char *s) {
        char *t = strdup(s);
        if (!t)
                tap_fail(__FILE__, __LINE__, "out of memory");
        for (char *p = t; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return t;
}

#define ASSERT_PARSE_OK(fn, text, len, ret) \
        do { \
                _cleanup_free_ char *_err = NULL; \
                int _r = fn((text), (len), (ret), &_err); \
                if (_r < 0) \
                        tap_fail(__FILE__, __LINE__, "%s failed: %s (%d)", #fn, _err ?: "(no message)", _r); \
        } while (0)

/*
 * Expect fn(text) to fail with -err and a one-line message that contains
 * want (the field name and the reason).
 */
#define ASSERT_PARSE_FAILS(fn, T, text, err, want) \
        do { \
                _cleanup_free_ char *_err = NULL, *_t = jq(text); \
                T *_c = NULL; \
                int _r = fn(_t, strlen(_t), &_c, &_err); \
                if (_r != -(err)) \
                        tap_fail(__FILE__, __LINE__, "%s returned %d, expected -%s (message: %s)", #fn, _r, \
                                 #err, _err ?: "(none)"); \
                if (_c) \
                        tap_fail(__FILE__, __LINE__, "ret written on failure"); \
                if (!_err || !strstr(_err, (want)) || strchr(_err, '\n')) \
                        tap_fail(__FILE__, __LINE__, "message \"%s\" does not contain \"%s\" on one line", \
                                 _err ?: "(none)", (want)); \
        } while (0)

/* JSON values equal up to the order of object members. */
static inline bool json_equal(JsonVal a, JsonVal b) {
        if (!a || !b)
                return a == b;
        if (a->type != b->type)
                return false;
        switch (a->type) {
        case yajl_t_string:
                return streq(a->u.string, b->u.string);
        case yajl_t_number:
                return streq(a->u.number.r, b->u.number.r);
        case yajl_t_array:
                if (a->u.array.len != b->u.array.len)
                        return false;
                for (size_t i = 0; i < a->u.array.len; i++)
                        if (!json_equal(a->u.array.values[i], b->u.array.values[i]))
                                return false;
                return true;
        case yajl_t_object:
                if (a->u.object.len != b->u.object.len)
                        return false;
                for (size_t i = 0; i < a->u.object.len; i++) {
                        JsonVal m = json_get(b, a->u.object.keys[i]);
                        if (!m) {
                                printf("# missing key %s\n", a->u.object.keys[i]);
                                return false;
                        }
                        if (!json_equal(a->u.object.values[i], m)) {
                                printf("# differs at key %s\n", a->u.object.keys[i]);
                                return false;
                        }
                }
                return true;
        default:
                return true;
        }
}
