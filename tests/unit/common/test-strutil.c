/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>

#include "common.h"
#include "tap.h"

TEST(parse_size_units) {
        uint64_t v;
        ASSERT_OK(parse_size("512", &v));
        ASSERT_EQ(v, 512u);
        ASSERT_OK(parse_size("64k", &v));
        ASSERT_EQ(v, 65536u);
        ASSERT_OK(parse_size("1.5G", &v));
        ASSERT_EQ(v, 1610612736u);
        ASSERT_OK(parse_size("2MiB", &v));
        ASSERT_EQ(v, 2097152u);
        ASSERT_ERROR(parse_size("", &v), EINVAL);
        ASSERT_ERROR(parse_size("-1", &v), EINVAL);
        ASSERT_ERROR(parse_size("12 parsecs", &v), EINVAL);
        ASSERT_ERROR(parse_size("99999999999T", &v), ERANGE);
}

TEST(safe_ato) {
        uint64_t u;
        int64_t i;
        int n;
        unsigned un;
        ASSERT_OK(safe_atou64("18446744073709551615", &u));
        ASSERT_ERROR(safe_atou64("18446744073709551616", &u), ERANGE);
        ASSERT_ERROR(safe_atou64("-1", &u), EINVAL);
        ASSERT_ERROR(safe_atou64(" 1", &u), EINVAL);
        ASSERT_ERROR(safe_atou64("1x", &u), EINVAL);
        ASSERT_OK(safe_atoi64("-9223372036854775808", &i));
        ASSERT_ERROR(safe_atoi("2147483648", &n), ERANGE);
        ASSERT_ERROR(safe_atou("4294967296", &un), ERANGE);
}

TEST(signals) {
        ASSERT_EQ(signal_from_string("KILL"), SIGKILL);
        ASSERT_EQ(signal_from_string("SIGTERM"), SIGTERM);
        ASSERT_EQ(signal_from_string("sigusr1"), SIGUSR1);
        ASSERT_EQ(signal_from_string("9"), 9);
        ASSERT_EQ(signal_from_string("RTMIN+2"), SIGRTMIN + 2);
        ASSERT_EQ(signal_from_string("RTMAX"), SIGRTMAX);
        ASSERT_ERROR(signal_from_string("NOPE"), EINVAL);
        ASSERT_ERROR(signal_from_string("0"), EINVAL);
        ASSERT_ERROR(signal_from_string("65"), EINVAL);
        ASSERT_STREQ(signal_to_string(SIGHUP), "HUP");
}

TEST(strv_env) {
        _cleanup_strv_free_ char **l = NULL;
        ASSERT_OK(strv_extend(&l, "PATH=/bin"));
        ASSERT_OK(strv_env_set(&l, "HOME=/root"));
        ASSERT_OK(strv_env_set(&l, "PATH=/usr/bin"));
        ASSERT_EQ(strv_length(l), 2u);
        ASSERT_STREQ(strv_env_get(l, "PATH"), "/usr/bin");
        ASSERT_NULL(strv_env_get(l, "PAT"));
        ASSERT_TRUE(strv_contains(l, "HOME=/root"));
}

TEST(paths) {
        _cleanup_free_ char *a = path_join("/a/", "/b");
        ASSERT_STREQ(a, "/a/b");
        ASSERT_TRUE(path_is_safe("/a/b/..c"));
        ASSERT_FALSE(path_is_safe("a/../b"));
        ASSERT_FALSE(path_is_safe(".."));
        ASSERT_TRUE(endswith("foo.json", ".json"));
        ASSERT_FALSE(endswith("n", "json"));
}

TEST(error_msg_set_keeps_the_first) {
        _cleanup_free_ char *msg = NULL;

        ASSERT_ERROR(error_msg_set(NULL, -ENOENT, "ignored %d", 1), ENOENT);
        ASSERT_ERROR(error_msg_set(&msg, -ENOENT, "no lab '%s'", "a"), ENOENT);
        ASSERT_STREQ(msg, "no lab 'a'");
        ASSERT_ERROR(error_msg_set(&msg, -EIO, "later"), EIO);
        ASSERT_STREQ(msg, "no lab 'a'");
}
