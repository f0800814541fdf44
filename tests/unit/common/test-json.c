/* SPDX-License-Identifier: Apache-2.0 */
#include "common.h"
#include "tap.h"

static JsonVal parse_ok(const char *s) {
        JsonVal v = NULL;
        _cleanup_free_ char *err = NULL;
        if (json_parse(s, strlen(s), &v, &err) < 0)
                tap_fail(__FILE__, __LINE__, "parse failed: %s", err);
        return v;
}

TEST(parse_and_types) {
        _cleanup_(json_freep) JsonVal v = parse_ok("{\"a\":1,\"b\":\"x\",\"c\":[true,null],\"d\":1.5}");
        ASSERT_STREQ(json_type_name(json_get(v, "a")), "integer");
        ASSERT_STREQ(json_type_name(json_get(v, "b")), "string");
        ASSERT_STREQ(json_type_name(json_get(v, "c")), "array");
        ASSERT_STREQ(json_type_name(json_get(v, "d")), "number");
        ASSERT_NULL(json_get(v, "missing"));
        ASSERT_NULL(json_get(json_get(v, "b"), "x"));
}

TEST(duplicate_keys_last_wins) {
        _cleanup_(json_freep) JsonVal v = parse_ok("{\"a\":1,\"a\":2}");
        int64_t x;
        ASSERT_OK(json_want_int64(json_get(v, "a"), "a", 0, 10, &x, NULL));
        ASSERT_EQ(x, 2);
}

TEST(syntax_error_is_one_line) {
        JsonVal v = NULL;
        _cleanup_free_ char *err = NULL;
        ASSERT_ERROR(json_parse("{\"a\":", 5, &v, &err), EINVAL);
        ASSERT_NOT_NULL(err);
        ASSERT_TRUE(strchr(err, '\n') == NULL);
        ASSERT_STRCONTAINS(err, "invalid JSON");
}

TEST(depth_bomb_rejected) {
        size_t n = 100000;
        _cleanup_free_ char *s = malloc(n * 2);
        _cleanup_free_ char *err = NULL;
        JsonVal v = NULL;
        memset(s, '[', n);
        memset(s + n, ']', n);
        ASSERT_ERROR(json_parse(s, n * 2, &v, &err), E2BIG);
        ASSERT_STRCONTAINS(err, "nested deeper");
}

TEST(brackets_inside_strings_do_not_count) {
        char s[4096];
        size_t p = 0;
        p += (size_t) snprintf(s + p, sizeof s - p, "[\"");
        for (int i = 0; i < 200; i++)
                s[p++] = '[';
        p += (size_t) snprintf(s + p, sizeof s - p, "\\\"\"]");
        _cleanup_(json_freep) JsonVal v = NULL;
        ASSERT_OK(json_parse(s, p, &v, NULL));
}

TEST(nul_byte_rejected) {
        JsonVal v = NULL;
        _cleanup_free_ char *err = NULL;
        ASSERT_ERROR(json_parse("{\"a\":\"\0\"}", 9, &v, &err), EINVAL);
        ASSERT_STRCONTAINS(err, "NUL");
}

TEST(want_errors_name_the_field) {
        _cleanup_(json_freep) JsonVal v = parse_ok(
                        "{\"n\":\"7\",\"big\":99999999999999999999,\"neg\":-1,\"f\":2.5}");
        _cleanup_free_ char *err = NULL;
        int64_t i;
        uint64_t u;
        ASSERT_ERROR(json_want_int64(json_get(v, "n"), "x.n", 0, 10, &i, &err), EINVAL);
        ASSERT_STREQ(err, "x.n: expected integer, got string");
        ASSERT_ERROR(json_want_int64(json_get(v, "big"), "x.big", INT64_MIN, INT64_MAX, &i, &err), EINVAL);
        ASSERT_STRCONTAINS(err, "x.big");
        ASSERT_ERROR(json_want_uint64(json_get(v, "neg"), "x.neg", UINT64_MAX, &u, &err), EINVAL);
        ASSERT_STRCONTAINS(err, "x.neg: expected unsigned integer");
        ASSERT_ERROR(json_want_int64(json_get(v, "f"), "x.f", 0, 10, &i, &err), EINVAL);
        ASSERT_ERROR(json_want_int64(json_get(v, "neg"), "x.neg", 0, 10, &i, &err), EINVAL);
        ASSERT_STRCONTAINS(err, "out of range");
        ASSERT_ERROR(json_want_string(json_get(v, "missing"), "x.missing", (char **) &err, &err), EINVAL);
}

TEST(uint64_full_range) {
        _cleanup_(json_freep) JsonVal v = parse_ok("[18446744073709551615]");
        uint64_t u;
        ASSERT_OK(json_want_uint64(v->u.array.values[0], "v", UINT64_MAX, &u, NULL));
        ASSERT_TRUE(u == UINT64_MAX);
}

TEST(strv) {
        _cleanup_(json_freep) JsonVal v = parse_ok("{\"a\":[\"x\",\"y\"],\"b\":[\"x\",3]}");
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *err = NULL;
        ASSERT_OK(json_want_strv(json_get(v, "a"), "a", &l, NULL));
        ASSERT_EQ(strv_length(l), 2u);
        ASSERT_STREQ(l[1], "y");
        ASSERT_ERROR(json_want_strv(json_get(v, "b"), "p.b", &l, &err), EINVAL);
        ASSERT_STREQ(err, "p.b[1]: expected string, got integer");
}

TEST(writer_roundtrip) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *out = NULL;
        _cleanup_(json_freep)
                        JsonVal in = parse_ok("{\"k\":[1,\"two\",{\"x\":null}],\"u\":18446744073709551615}");
        ASSERT_OK(json_writer_new(false, &w));
        jw_object_open(w);
        jw_key(w, "s");
        jw_string(w, "q\"\n");
        jw_key(w, "i");
        jw_int(w, -5);
        jw_key(w, "raw");
        jw_value(w, in);
        jw_key(w, "l");
        jw_strv(w, (char *[]){ "a", NULL });
        jw_object_close(w);
        ASSERT_OK(json_writer_finish(w, &out, NULL));
        ASSERT_STREQ(out,
                     "{\"s\":\"q\\\"\\n\",\"i\":-5,\"raw\":{\"k\":[1,\"two\",{\"x\":null}],"
                     "\"u\":18446744073709551615},\"l\":[\"a\"]}");
}

TEST(writer_misuse_is_an_error) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *out = NULL;
        ASSERT_OK(json_writer_new(false, &w));
        jw_object_open(w);
        jw_int(w, 1); /* a value where a key is required */
        ASSERT_TRUE(json_writer_finish(w, &out, NULL) < 0);
}
