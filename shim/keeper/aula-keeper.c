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

#if defined(__x86_64__)
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call keeper_main\n"
        "  hlt\n");

static long sys3(long n, long a, long b, long c) {
        long ret;
        __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
        return ret;
}
#define NR_READ 0
#define NR_WRITE 1
#define NR_CLOSE 3
#define NR_EXECVE 59
#define NR_EXIT 60
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  mov x0, sp\n"
        "  bl keeper_main\n");

static long sys3(long n, long a, long b, long c) {
        register long x8 __asm__("x8") = n;
        register long x0 __asm__("x0") = a;
        register long x1 __asm__("x1") = b;
        register long x2 __asm__("x2") = c;
        __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
        return x0;
}
#define NR_READ 63
#define NR_WRITE 64
#define NR_CLOSE 57
#define NR_EXECVE 221
#define NR_EXIT 93
#else
#error "aula-keeper: unsupported architecture"
#endif

#define EINTR 4

static unsigned long slen(const char *s) {
        unsigned long n = 0;
        while (s[n])
                n++;
        return n;
}

static void say(const char *s) {
        (void) sys3(NR_WRITE, 2, (long) s, (long) slen(s));
}

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
