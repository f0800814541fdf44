/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Start a process directly in its cgroup. With clone3(CLONE_INTO_CGROUP)
 * (Linux 5.7) the child is born in the cgroup2 directory: no window in which
 * it runs, forks or allocates memory outside the container's limits. Where
 * that is not possible (hybrid and legacy hosts keep controllers in v1; older
 * kernels) the child is cloned plainly and blocks on a pipe until the parent
 * has moved it into every hierarchy.
 */
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cg-internal.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* Flags the caller may add: namespaces and the like. Anything that needs a stack, shares the address
 * space or sets the exit signal is ours to decide. */
#define CG_CLONE_ALLOWED \
        ((uint64_t) (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
                     CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME | CLONE_FS | CLONE_FILES | \
                     CLONE_SYSVSEM | CLONE_PARENT | CLONE_PTRACE | CLONE_UNTRACED | CLONE_IO))

static pid_t sys_clone3(struct clone_args *args) {
        return (pid_t) syscall(SYS_clone3, args, sizeof(*args));
}

/* 0 in the child, the pid in the parent; falls back to clone(2) where clone3 is missing. */
static pid_t plain_clone(uint64_t flags, int *pidfd) {
        struct clone_args a = {
                .flags = flags | (pidfd ? CLONE_PIDFD : 0),
                .pidfd = (uint64_t) (uintptr_t) pidfd,
                .exit_signal = SIGCHLD,
        };
        pid_t pid = sys_clone3(&a);

        if (pid >= 0 || errno != ENOSYS)
                return pid;
        /* No clone3 (Linux < 5.3): clone(2) with no new stack behaves like fork(). Its low byte is the exit
         * signal, where clone3 has CLONE_NEWTIME. */
        if (flags & CLONE_NEWTIME) {
                errno = EOPNOTSUPP;
                return -1;
        }
        return (pid_t) syscall(SYS_clone, (unsigned long) flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

static int clone_and_enter(CgManager *m, uint64_t flags, int *ret_pidfd) {
        int p[2], pidfd = -EBADF, r;
        pid_t pid;
        char c = 0;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = plain_clone(flags, ret_pidfd ? &pidfd : NULL);
        if (pid < 0) {
                r = -errno;
                safe_close(p[0]);
                safe_close(p[1]);
                return cg_fail(m, r, "clone: %s", strerror(-r));
        }
        if (pid == 0) {
                /* Wait until the parent has moved us; EOF without a byte means it failed. */
                safe_close(p[1]);
                if (read(p[0], &c, 1) != 1)
                        _exit(127);
                safe_close(p[0]);
                return 0;
        }
        safe_close(p[0]);
        r = cg_manager_enter(m, pid);
        if (r < 0) {
                safe_close(p[1]);
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, __WALL);
                safe_close(pidfd);
                return r;
        }
        if (write(p[1], &c, 1) != 1)
                r = -errno;
        safe_close(p[1]);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, __WALL);
                safe_close(pidfd);
                return r;
        }
        if (ret_pidfd && pidfd < 0) {
                /* clone(2) fallback: no CLONE_PIDFD there. */
                pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
                if (pidfd < 0)
                        pidfd = -errno;
        }
        if (ret_pidfd)
                *ret_pidfd = pidfd;
        return pid;
}

int cg_manager_clone(CgManager *m, uint64_t flags, int *ret_pidfd) {
        _cleanup_close_ int cgfd = -EBADF;
        int pidfd = -EBADF;
        pid_t pid;

        if (!m || (flags & ~CG_CLONE_ALLOWED))
                return -EINVAL;
        m->cloned_into = false;
        if (cg_manager_open_unified(m, &cgfd) >= 0) {
                struct clone_args a = {
                        .flags = flags | CLONE_INTO_CGROUP | (ret_pidfd ? CLONE_PIDFD : 0),
                        .pidfd = (uint64_t) (uintptr_t) &pidfd,
                        .exit_signal = SIGCHLD,
                        .cgroup = (uint64_t) cgfd,
                };
                pid = sys_clone3(&a);
                if (pid == 0)
                        return 0;
                if (pid > 0) {
                        m->cloned_into = true;
                        if (ret_pidfd)
                                *ret_pidfd = pidfd;
                        return pid;
                }
                /* ENOSYS: no clone3; E2BIG: clone3 without the cgroup field (5.3-5.6); EINVAL: the flag
                 * unknown there. Anything else is a real answer about this cgroup. */
                if (errno != ENOSYS && errno != E2BIG && errno != EINVAL)
                        return cg_fail(m, -errno, "clone3 into %s: %s", m->path, strerror(errno));
        }
        return clone_and_enter(m, flags, ret_pidfd);
}
