/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-thread seccomp allowlists (the filter is installed on the calling
 * thread only, no TSYNC): a vCPU thread needs KVM_RUN and a few writes, the
 * device loop needs sockets and file I/O on already-open fds, the thread
 * running vm_run() additionally writes snapshots. Anything else kills the
 * process: a guest that subverts the VMM gets no new syscalls.
 */
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "microvm-internal.h"

#if HAVE_SECCOMP
#include <seccomp.h>

static const int common_syscalls[] = {
        SCMP_SYS(read),
        SCMP_SYS(write),
        SCMP_SYS(readv),
        SCMP_SYS(writev),
        SCMP_SYS(futex),
        SCMP_SYS(exit),
        SCMP_SYS(exit_group),
        SCMP_SYS(rt_sigreturn),
        SCMP_SYS(rt_sigprocmask),
        SCMP_SYS(madvise),
        SCMP_SYS(munmap),
        SCMP_SYS(mmap),
        SCMP_SYS(mprotect),
        SCMP_SYS(brk),
        SCMP_SYS(clock_gettime),
        SCMP_SYS(gettid),
        SCMP_SYS(getpid),
        SCMP_SYS(tgkill),
        SCMP_SYS(restart_syscall),
        SCMP_SYS(sched_yield),
        SCMP_SYS(close),
        SCMP_SYS(rseq),
        SCMP_SYS(set_robust_list),
        /* a device reset from a vCPU (status write 0) drops vsock connections: epoll_ctl, close */
        SCMP_SYS(epoll_ctl),
};

static const int loop_syscalls[] = {
        SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),       SCMP_SYS(pread64),
        SCMP_SYS(pwrite64),   SCMP_SYS(preadv),      SCMP_SYS(pwritev),         SCMP_SYS(fdatasync),
        SCMP_SYS(fsync),      SCMP_SYS(sendto),      SCMP_SYS(recvfrom),        SCMP_SYS(sendmsg),
        SCMP_SYS(recvmsg),    SCMP_SYS(accept4),     SCMP_SYS(socket),          SCMP_SYS(connect),
        SCMP_SYS(shutdown),   SCMP_SYS(getrandom),   SCMP_SYS(timerfd_settime), SCMP_SYS(lseek),
};

static const int main_syscalls[] = {
        SCMP_SYS(poll),     SCMP_SYS(ppoll),     SCMP_SYS(openat),       SCMP_SYS(mkdir),
        SCMP_SYS(mkdirat),  SCMP_SYS(renameat),  SCMP_SYS(rename),       SCMP_SYS(unlink),
        SCMP_SYS(unlinkat), SCMP_SYS(fsync),     SCMP_SYS(ftruncate),    SCMP_SYS(pwrite64),
        SCMP_SYS(pread64),  SCMP_SYS(fstat),     SCMP_SYS(newfstatat),   SCMP_SYS(lseek),
        SCMP_SYS(fchmod),   SCMP_SYS(getrandom), SCMP_SYS(rt_sigaction), SCMP_SYS(epoll_ctl),
        SCMP_SYS(fcntl),    SCMP_SYS(statx),     SCMP_SYS(getdents64),   SCMP_SYS(sigaltstack),
        SCMP_SYS(kill),     SCMP_SYS(wait4),     SCMP_SYS(linkat),       SCMP_SYS(fdatasync),
};

static int add_all(scmp_filter_ctx ctx, const int *list, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i], 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int allow_ioctl(scmp_filter_ctx ctx, unsigned long req) {
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, req));
}

int vm_seccomp_apply(VmThreadKind kind) {
        scmp_filter_ctx ctx;
        int r;

        ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
        if (!ctx)
                return -ENOMEM;
        r = add_all(ctx, common_syscalls, ELEMENTSOF(common_syscalls));
        if (r >= 0)
                r = allow_ioctl(ctx, KVM_IRQ_LINE); /* the UART's interrupt, from any thread */
        if (r >= 0 && kind == VM_THREAD_VCPU) {
                r = allow_ioctl(ctx, KVM_RUN);
                if (r >= 0)
                        r = allow_ioctl(ctx, KVM_GET_REGS); /* RIP for crash reports */
        }
        if (r >= 0 && kind != VM_THREAD_VCPU)
                r = add_all(ctx, loop_syscalls, ELEMENTSOF(loop_syscalls));
        if (r >= 0 && kind == VM_THREAD_MAIN) {
                r = add_all(ctx, main_syscalls, ELEMENTSOF(main_syscalls));
                /* snapshots read every piece of KVM state; restoring the console sets termios */
                static const unsigned long reqs[] = {
                        KVM_GET_REGS,     KVM_GET_SREGS,          KVM_GET_FPU,
                        KVM_GET_XSAVE,    KVM_GET_XCRS,           KVM_GET_LAPIC,
                        KVM_GET_MP_STATE, KVM_GET_VCPU_EVENTS,    KVM_GET_DEBUGREGS,
                        KVM_GET_MSRS,     KVM_GET_MSR_INDEX_LIST, KVM_GET_IRQCHIP,
                        KVM_GET_PIT2,     KVM_GET_CLOCK,          TCSETS,
                        TCGETS,
                };
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(reqs); i++)
                        r = allow_ioctl(ctx, reqs[i]);
        }
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

#else

int vm_seccomp_apply(VmThreadKind kind) {
        return 0; /* built without libseccomp: documented in docs/microvm.md */
}

#endif
