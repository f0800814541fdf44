/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "tap.h"

/*
 * The forked test child leaves with _exit(), which skips LeakSanitizer's
 * at-exit check; in ASan builds the child runs that check itself, so a test
 * that leaks fails (LSan reports on stderr and exits non-zero or aborts).
 */
#if defined(__SANITIZE_ADDRESS__)
#define TAP_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAP_LSAN 1
#endif
#endif
#ifdef TAP_LSAN
#include <sanitizer/lsan_interface.h>
#endif

static TapTest *tests, **tail = &tests;

void tap_register(TapTest *t) {
        *tail = t;
        tail = &t->next;
}

__attribute__((weak)) void tap_setup(void) {
}

void tap_fail(const char *file, int line, const char *fmt, ...) {
        va_list ap;
        fprintf(stdout, "# %s:%d: ", file, line);
        va_start(ap, fmt);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
        _exit(1);
}

void tap_skip(const char *fmt, ...) {
        va_list ap;
        fprintf(stdout, "#SKIP# ");
        va_start(ap, fmt);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
        _exit(77);
}

void tap_skip_all(const char *fmt, ...) {
        bool must = getenv("RT_MUST_WORK") && strcmp(getenv("RT_MUST_WORK"), "1") == 0;
        va_list ap;
        printf(must ? "1..1\nnot ok 1 - prerequisite missing (RT_MUST_WORK=1): " : "1..0 # SKIP ");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
        exit(must ? 1 : 0);
}

/* Run one test in a child; the child's skip reason comes back over a pipe. */
static int run_one(TapTest *t, char *reason, size_t size) {
        int pfd[2], status;
        pid_t pid;
        ssize_t n;

        if (pipe(pfd) < 0)
                return -errno;
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                close(pfd[0]);
                dup2(pfd[1], STDOUT_FILENO);
                close(pfd[1]);
                t->func();
                fflush(stdout);
#ifdef TAP_LSAN
                __lsan_do_leak_check();
#endif
                _exit(0);
        }
        close(pfd[1]);
        /* Pass the child's diagnostics through, remembering a skip reason. */
        {
                char buf[8192];
                size_t len = 0;
                while ((n = read(pfd[0], buf + len, sizeof buf - 1 - len)) > 0 || (n < 0 && errno == EINTR))
                        if (n > 0) {
                                len += (size_t) n;
                                if (len >= sizeof buf - 1) {
                                        fwrite(buf, 1, len, stdout);
                                        len = 0;
                                }
                        }
                buf[len] = 0;
                char *skip = strstr(buf, "#SKIP# ");
                if (skip) {
                        snprintf(reason, size, "%s", skip + 7);
                        reason[strcspn(reason, "\n")] = 0;
                        *skip = 0;
                }
                fputs(buf, stdout);
        }
        close(pfd[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (WIFSIGNALED(status)) {
#ifdef TAP_LSAN
                printf("# killed by signal %d (see the sanitizer's report on stderr)\n", WTERMSIG(status));
#else
                printf("# killed by signal %d\n", WTERMSIG(status));
#endif
                return 1;
        }
        return WEXITSTATUS(status);
}

int main(int argc, char **argv) {
        const char *only = getenv("TAP_ONLY");
        bool must = getenv("RT_MUST_WORK") && strcmp(getenv("RT_MUST_WORK"), "1") == 0;
        unsigned n = 0, i = 0, failed = 0;

        (void) argc;
        (void) argv;
        setvbuf(stdout, NULL, _IOLBF, 0);
        tap_setup();
        for (TapTest *t = tests; t; t = t->next)
                if (!only || strcmp(only, t->name) == 0)
                        n++;
        printf("1..%u\n", n);
        for (TapTest *t = tests; t; t = t->next) {
                char reason[256] = "";
                int r;
                if (only && strcmp(only, t->name) != 0)
                        continue;
                r = run_one(t, reason, sizeof reason);
                i++;
                if (r == 0)
                        printf("ok %u - %s\n", i, t->name);
                else if (r == 77 && !must) {
                        printf("ok %u - %s # SKIP %s\n", i, t->name, reason);
                } else {
                        printf("not ok %u - %s%s%s\n", i, t->name,
                               r == 77 ? " # skipped but RT_MUST_WORK=1: " : "", r == 77 ? reason : "");
                        failed++;
                }
        }
        /* Every test skipped: the "# SKIP" lines say so, and meson reports the binary as skipped. */
        return failed ? 1 : 0;
}
