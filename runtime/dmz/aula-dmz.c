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

#define NOLIBC_MAIN "dmz_main"
#include "nolibc.h"

/* Must match RtSyncMsg / RtError in runtime/rt-internal.h. */
struct dmz_msg {
        unsigned type;
        int value;
        int error;
        char stage[32];
        char msg[216];
};
#define DMZ_SYNC_ERROR 10

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
