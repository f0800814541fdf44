/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aula-dmz: the exec trampoline (well under a page, no libc).
 *
 * The container init runs host code until its final execve. If it exec'd the
 * user's binary directly and that binary were a script "#!/proc/self/exe",
 * the kernel would resolve the interpreter to the runtime binary on the host
 * and run it inside the container, where a process could then reopen and
 * overwrite it (CVE-2019-5736). So the init instead execs this trampoline
 * from a sealed memfd: /proc/self/exe is then the sealed copy.
 *
 * Protocol: argv is the user's argv, unchanged. The last environment entry
 * is "AULA_DMZ=<fd>:<path>"; the trampoline removes it, marks <fd> (the
 * runtime's sync channel) close-on-exec, and execs <path>. The runtime sees
 * EOF on <fd> exactly when the user's program replaced us; on failure it
 * gets one RtSyncMsg error record (runtime/rt-internal.h) instead.
 */

#if defined(__x86_64__)
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call dmz_main\n"
        "  hlt\n");

static long sys3(long n, long a, long b, long c) {
        long ret;
        __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
        return ret;
}
#define NR_WRITE 1
#define NR_FCNTL 72
#define NR_EXECVE 59
#define NR_EXIT 60
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  mov x0, sp\n"
        "  bl dmz_main\n");

static long sys3(long n, long a, long b, long c) {
        register long x8 __asm__("x8") = n;
        register long x0 __asm__("x0") = a;
        register long x1 __asm__("x1") = b;
        register long x2 __asm__("x2") = c;
        __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
        return x0;
}
#define NR_WRITE 64
#define NR_FCNTL 25
#define NR_EXECVE 221
#define NR_EXIT 93
#else
#error "aula-dmz: unsupported architecture"
#endif

/* Must match RtSyncMsg / RtError in runtime/rt-internal.h. */
struct dmz_msg {
        unsigned type;
        int value;
        int error;
        char stage[32];
        char msg[216];
};
#define DMZ_SYNC_ERROR 10

static unsigned long slen(const char *s) {
        unsigned long n = 0;
        while (s[n])
                n++;
        return n;
}

static void say(const char *s) {
        (void) sys3(NR_WRITE, 2, (long) s, (long) slen(s));
}

static void report(long fd, const char *path, long err) {
        static struct dmz_msg m;
        static const char pre[] = "exec ";
        const char *why = err == -2  ? ": no such file or directory"
                        : err == -13 ? ": permission denied"
                                     : ": exec failed";
        unsigned long n = 0;

        m.type = DMZ_SYNC_ERROR;
        m.error = (int) -err;
        m.stage[0] = 'e', m.stage[1] = 'x', m.stage[2] = 'e', m.stage[3] = 'c';
        for (unsigned long i = 0; pre[i] && n < sizeof m.msg - 1; i++)
                m.msg[n++] = pre[i];
        for (unsigned long i = 0; path[i] && n < sizeof m.msg - 1; i++)
                m.msg[n++] = path[i];
        for (unsigned long i = 0; why[i] && n < sizeof m.msg - 1; i++)
                m.msg[n++] = why[i];
        if (fd < 0 || sys3(NR_WRITE, fd, (long) &m, sizeof m) < 0) {
                say("aula-runtime: ");
                say(m.msg);
                say("\n");
        }
}

__attribute__((used, noreturn)) void dmz_main(long *sp);
void dmz_main(long *sp) {
        long argc = sp[0], fd = -1, r = -22;
        char **argv = (char **) (sp + 1);
        char **envp = argv + argc + 1, **last = envp, *p;
        static const char key[] = "AULA_DMZ=";

        while (*last)
                last++;
        if (last == envp)
                goto fail;
        p = *--last;
        for (unsigned long i = 0; i < sizeof key - 1; i++)
                if (p[i] != key[i])
                        goto fail;
        p += sizeof key - 1;
        for (fd = 0; *p >= '0' && *p <= '9'; p++)
                fd = fd * 10 + (*p - '0');
        if (*p++ != ':')
                goto fail;
        *last = 0;
        (void) sys3(NR_FCNTL, fd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
        r = sys3(NR_EXECVE, (long) p, (long) argv, (long) envp);
        report(fd, p, r);
        (void) sys3(NR_EXIT, r == -2 ? 127 : 126, 0, 0);
fail:
        report(-1, "(no AULA_DMZ)", r);
        (void) sys3(NR_EXIT, 127, 0, 0);
        for (;;)
                ;
}
