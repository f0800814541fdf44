/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A tiny TAP test harness (STYLE.md rule 18).
 *
 *   TEST(name) { ASSERT_OK(f()); ASSERT_ERROR(g(), EINVAL); }
 *
 * Tests register themselves; main() comes from tap.c. Each test runs in a
 * forked child, so a crash or a failed assertion fails that test only.
 * TEST_SKIP("why") skips the current test; tap_skip_all("why") skips the
 * binary with "1..0 # SKIP why". A skip travels in the TAP stream and the exit
 * status stays 0: meson's 'tap' protocol reads a non-zero status, 77
 * included, as an error. RT_MUST_WORK=1 turns skips into failures (CI).
 * TAP_ONLY=name runs one test.
 */

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct TapTest {
        const char *name;
        void (*func)(void);
        struct TapTest *next;
} TapTest;

void tap_register(TapTest *t);
void tap_fail(const char *file, int line, const char *fmt, ...)
                __attribute__((noreturn, format(printf, 3, 4)));
void tap_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Runs before the tests; may call TEST_SKIP-like tap_skip_all(). Optional (weak). */
void tap_setup(void);
void tap_skip_all(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define TEST(n) \
        static void test_##n(void); \
        static TapTest tap_test_##n = { .name = #n, .func = test_##n }; \
        __attribute__((constructor)) static void tap_reg_##n(void) { \
                tap_register(&tap_test_##n); \
        } \
        static void test_##n(void)

#define TEST_SKIP(...) tap_skip(__VA_ARGS__)

#define ASSERT_TRUE(expr) \
        do { \
                if (!(expr)) \
                        tap_fail(__FILE__, __LINE__, "expected true: %s", #expr); \
        } while (0)
#define ASSERT_FALSE(expr) ASSERT_TRUE(!(expr))

#define ASSERT_OK(expr) \
        ({ \
                long _r = (long) (expr); \
                if (_r < 0) \
                        tap_fail(__FILE__, __LINE__, "%s failed: %s (%ld)", #expr, strerror((int) -_r), _r); \
                _r; \
        })

#define ASSERT_ERROR(expr, err) \
        do { \
                long _r = (long) (expr); \
                if (_r != -(long) (err)) \
                        tap_fail(__FILE__, __LINE__, "%s returned %ld (%s), expected -%s", #expr, _r, \
                                 _r < 0 ? strerror((int) -_r) : "success", #err); \
        } while (0)

#define ASSERT_EQ(a, b) \
        do { \
                __typeof__(a) _a = (a); \
                __typeof__(a) _b = (__typeof__(a)) (b); \
                if (_a != _b) \
                        tap_fail(__FILE__, __LINE__, "%s == %s: %jd != %jd", #a, #b, (intmax_t) _a, \
                                 (intmax_t) _b); \
        } while (0)

#define ASSERT_NE(a, b) \
        do { \
                if ((a) == (b)) \
                        tap_fail(__FILE__, __LINE__, "%s != %s: both %jd", #a, #b, (intmax_t) (a)); \
        } while (0)

#define ASSERT_STREQ(a, b) \
        do { \
                const char *_a = (a), *_b = (b); \
                if (!_a || !_b || strcmp(_a, _b) != 0) \
                        tap_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, _a ?: "(null)", \
                                 _b ?: "(null)"); \
        } while (0)

#define ASSERT_STRCONTAINS(hay, needle) \
        do { \
                const char *_h = (hay), *_n = (needle); \
                if (!_h || !strstr(_h, _n)) \
                        tap_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", _h ?: "(null)", _n); \
        } while (0)

#define ASSERT_NULL(p) ASSERT_TRUE((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)
