/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aula-keeper: the guard of one instance (no libc, a few hundred bytes).
 *
 * aula-shim forks it first thing and holds the write end of a pipe whose
 * read end only the keeper has. The shim may exit or be SIGKILLed at any
 * moment; the keeper notices either by EOF on the pipe and replaces itself
 * with the cleanup program, which kills what is left of the instance (its
 * cgroup), unmounts its root and removes its network links. So a dead shim
 * never leaves a running or mounted instance behind.
 *
 * argv: aula-keeper FD CMD [ARG...]
 *   FD   read end of a pipe whose write end only the shim holds;
 *   CMD  the cleanup program (`aula ... _reap NAME`), run when the shim is gone.
 *
 * The keeper blocks reading FD. A 'q' means "exit quietly" (nothing to clean
 * or someone else cleans). EOF means the shim exited or was killed: the keeper
 * replaces itself with CMD. The instance lock is an inherited fd, so the lock
 * stays held from the shim through the cleanup.
 */

#define NOLIBC_MAIN "keeper_main"
#include "nolibc.h"

#define EINTR 4

static int parse_fd(const char *s) {
        int v = 0;
        if (!*s)
                return -1;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > 100000)
                        return -1;
                v = v * 10 + (*s - '0');
        }
        return v;
}

__attribute__((noreturn, used)) void keeper_main(long *sp);
void keeper_main(long *sp) {
        long argc = sp[0];
        char **argv = (char **) (sp + 1), **envp = argv + argc + 1;
        char c;
        long n;
        int fd = -1;

        if (argc < 3 || (fd = parse_fd(argv[1])) < 0) {
                say("aula-keeper: usage: aula-keeper FD CMD [ARG...]\n");
                sys3(NR_EXIT, 2, 0, 0);
        }
        for (;;) {
                n = sys3(NR_READ, fd, (long) &c, 1);
                if (n == -EINTR)
                        continue;
                if (n == 1 && c == 'q')
                        sys3(NR_EXIT, 0, 0, 0);
                if (n == 1)
                        continue;
                break; /* EOF or error: the shim is gone */
        }
        (void) sys3(NR_CLOSE, fd, 0, 0);
        (void) sys3(NR_EXECVE, (long) argv[2], (long) (argv + 2), (long) envp);
        say("aula-keeper: cannot run the cleanup program\n");
        sys3(NR_EXIT, 1, 0, 0);
        for (;;)
                ;
}
