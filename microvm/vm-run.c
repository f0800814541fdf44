/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running a VM: one thread per vCPU, the device loop thread, and the calling
 * thread of vm_run(), which waits for an exit or a request (stop, pause,
 * snapshot, timeout). Pausing parks each vCPU only after re-entering KVM_RUN
 * once with immediate_exit, so a pending I/O or MMIO exit completes and the
 * saved register state is consistent (api.rst, KVM_RUN).
 */
#include <poll.h>
#include <signal.h>
#include <time.h>

#include "microvm-internal.h"

#define VCPU_KICK_SIGNAL (SIGRTMIN + 7)

static Vm *signal_vm;
static const char *signal_snapshot_dir;

void vm_forget_signals(Vm *vm) {
        if (signal_vm == vm)
                signal_vm = NULL;
}

typedef struct VcpuArg {
        Vm *vm;
        unsigned index;
} VcpuArg;

static void on_signal(int sig) {
        Vm *vm = signal_vm;
        if (!vm)
                return;
        if (sig == SIGUSR1 && signal_snapshot_dir)
                vm_request_snapshot(vm, signal_snapshot_dir);
        else if (sig == SIGUSR2) {
                vm->req_pause_toggle = 1;
                vm_wake_runner(vm);
        } else
                vm_request_stop(vm);
}

int vm_handle_signals(Vm *vm, const char *snapshot_dir) {
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
        struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

        signal_vm = vm;
        signal_snapshot_dir = snapshot_dir;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                if (sigaction(sigs[i], &sa, NULL) < 0)
                        return -errno;
        return 0;
}

static void kick_handler(int sig) {
}

/* Park this vCPU while a pause is requested; returns false when the VM is exiting. */
static bool vcpu_park(Vm *vm, KvmVcpu *v) {
        char msg[8];
        bool go;

        pthread_mutex_lock(&vm->lock);
        if (vm->pause_requested && !vm->exiting) {
                pthread_mutex_unlock(&vm->lock);
                /* Re-enter KVM_RUN once so a pending I/O or MMIO exit completes (api.rst, KVM_RUN). */
                kvm_vcpu_set_immediate_exit(v, true);
                (void) kvm_vcpu_run(v, &vm_vcpu_io, vm, msg, sizeof(msg));
                pthread_mutex_lock(&vm->lock);
                vm->n_parked++;
                pthread_cond_broadcast(&vm->cond);
                while (vm->pause_requested && !vm->exiting)
                        pthread_cond_wait(&vm->cond, &vm->lock);
                vm->n_parked--;
        }
        kvm_vcpu_set_immediate_exit(v, vm->exiting);
        go = !vm->exiting;
        pthread_mutex_unlock(&vm->lock);
        return go;
}

static void *vcpu_thread(void *p) {
        Vm *vm = ((VcpuArg *) p)->vm;
        KvmVcpu *v = &vm->vcpus[((VcpuArg *) p)->index];
        char msg[sizeof(vm->exit.message)];
        sigset_t set;

        free(p);
        sigemptyset(&set);
        sigaddset(&set, VCPU_KICK_SIGNAL);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        if (!vm->cfg.no_seccomp && vm_seccomp_apply(VM_THREAD_VCPU) < 0) {
                vm_request_exit(vm, VM_EXIT_CRASH, "cannot install the vCPU seccomp filter");
                return NULL;
        }
        while (vcpu_park(vm, v)) {
                switch (kvm_vcpu_run(v, &vm_vcpu_io, vm, msg, sizeof(msg))) {
                case VCPU_EVENT_NONE:
                case VCPU_EVENT_INTR:
                        break;
                case VCPU_EVENT_SHUTDOWN:
                        snprintf(msg, sizeof(msg), "vcpu%u: triple fault (shutdown)", v->index);
                        vm_request_exit(vm, VM_EXIT_CRASH, msg);
                        break;
                case VCPU_EVENT_CRASH:
                        vm_request_exit(vm, VM_EXIT_CRASH, msg);
                        break;
                }
        }
        pthread_mutex_lock(&vm->lock);
        vm->n_running--;
        pthread_cond_broadcast(&vm->cond);
        pthread_mutex_unlock(&vm->lock);
        return NULL;
}

static void kick_vcpus(Vm *vm) {
        for (unsigned i = 0; i < vm->n_vcpus; i++) {
                kvm_vcpu_set_immediate_exit(&vm->vcpus[i], true);
                if (vm->threads_started)
                        pthread_kill(vm->threads[i], VCPU_KICK_SIGNAL);
        }
}

int vm_pause(Vm *vm) {
        pthread_mutex_lock(&vm->lock);
        vm->pause_requested = true;
        pthread_mutex_unlock(&vm->lock);
        if (vm->threads_started) {
                kick_vcpus(vm);
                pthread_mutex_lock(&vm->lock);
                while (vm->n_parked < vm->n_running && !vm->exiting)
                        pthread_cond_wait(&vm->cond, &vm->lock);
                pthread_mutex_unlock(&vm->lock);
        }
        event_loop_pause(vm->loop);
        return 0;
}

int vm_resume(Vm *vm) {
        event_loop_resume(vm->loop);
        pthread_mutex_lock(&vm->lock);
        vm->pause_requested = false;
        pthread_cond_broadcast(&vm->cond);
        pthread_mutex_unlock(&vm->lock);
        return 0;
}

static void loop_thread_init(void *arg) {
        Vm *vm = arg;
        if (!vm->cfg.no_seccomp && vm_seccomp_apply(VM_THREAD_LOOP) < 0)
                vm_request_exit(vm, VM_EXIT_CRASH, "cannot install the device-loop seccomp filter");
}

static int start_threads(Vm *vm) {
        struct sigaction sa = { .sa_handler = kick_handler };
        sigset_t set, old;
        int r;

        sigemptyset(&sa.sa_mask);
        if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
                return -errno;
        r = event_loop_start(vm->loop, loop_thread_init, vm);
        if (r < 0)
                return r;
        /* vCPU threads start with every signal blocked but the kick; the caller's handlers stay on its thread */
        sigfillset(&set);
        pthread_sigmask(SIG_BLOCK, &set, &old);
        for (unsigned i = 0; i < vm->n_vcpus; i++) {
                VcpuArg *a = malloc(sizeof(*a));
                if (!a) {
                        r = -ENOMEM;
                        break;
                }
                *a = (VcpuArg){ vm, i };
                r = -pthread_create(&vm->threads[i], NULL, vcpu_thread, a);
                if (r < 0) {
                        free(a);
                        break;
                }
                pthread_mutex_lock(&vm->lock);
                vm->n_running++;
                pthread_mutex_unlock(&vm->lock);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        vm->threads_started = true;
        return r < 0 ? r : 0;
}

void vm_stop_threads(Vm *vm) {
        pthread_mutex_lock(&vm->lock);
        vm->exiting = true;
        pthread_cond_broadcast(&vm->cond);
        pthread_mutex_unlock(&vm->lock);
        if (vm->threads_started) {
                unsigned started = vm->n_vcpus;
                kick_vcpus(vm);
                for (unsigned i = 0; i < started; i++)
                        pthread_join(vm->threads[i], NULL);
                vm->threads_started = false;
        }
        event_loop_stop(vm->loop);
}

/* Say where the guest was when time ran out: a stuck guest and a slow one look different. */
static void timeout_exit(Vm *vm) {
        char msg[sizeof(vm->exit.message)];
        uint64_t rip = 0;
        bool marker;

        (void) vm_pause(vm);
        (void) kvm_vcpu_get_rip(&vm->vcpus[0], &rip);
        pthread_mutex_lock(&vm->io_lock);
        marker = vm->marker_seen;
        pthread_mutex_unlock(&vm->io_lock);
        snprintf(msg, sizeof(msg),
                 "the guest did not finish within %" PRIu64 " s (vcpu0 at RIP 0x%" PRIx64 "%s)",
                 vm->cfg.timeout_usec / 1000000, rip, marker ? "" : ", no boot marker");
        vm_request_exit(vm, VM_EXIT_TIMEOUT, msg);
        (void) vm_resume(vm);
}

int vm_run(Vm *vm, VmExit *ret) {
        int r;

        uint64_t deadline = vm->cfg.timeout_usec ? now_usec(CLOCK_MONOTONIC) + vm->cfg.timeout_usec : 0;

        r = start_threads(vm);
        if (r < 0) {
                vm_stop_threads(vm);
                return r;
        }
        if (!vm->cfg.no_seccomp && vm->cfg.seccomp_caller) {
                r = vm_seccomp_apply(VM_THREAD_MAIN);
                if (r < 0)
                        vm_request_exit(vm, VM_EXIT_CRASH,
                                        "cannot install the seccomp filter of the calling thread");
        }
        for (;;) {
                struct pollfd p = { .fd = vm->wake_fd, .events = POLLIN };
                int timeout = -1;
                uint64_t v;

                pthread_mutex_lock(&vm->lock);
                bool done = vm->exiting;
                pthread_mutex_unlock(&vm->lock);
                if (done)
                        break;
                if (vm->req_snapshot) {
                        _cleanup_free_ char *msg = NULL;
                        vm->req_snapshot = 0;
                        (void) vm_pause(vm);
                        r = vm_snapshot(vm, vm->snapshot_dir, &msg);
                        vm_request_exit(vm, r < 0 ? VM_EXIT_CRASH : VM_EXIT_STOPPED,
                                        r < 0 ? (msg ?: "snapshot failed") : "snapshot written");
                        vm_resume(vm);
                        continue;
                }
                if (vm->req_pause_toggle) {
                        vm->req_pause_toggle = 0;
                        vm->user_paused = !vm->user_paused;
                        (void) (vm->user_paused ? vm_pause(vm) : vm_resume(vm));
                        continue;
                }
                if (vm->req_stop) {
                        vm_request_exit(vm, VM_EXIT_STOPPED, "stopped by the host");
                        continue;
                }
                if (deadline) {
                        uint64_t now = now_usec(CLOCK_MONOTONIC);
                        if (now >= deadline) {
                                timeout_exit(vm);
                                continue;
                        }
                        timeout = (int) MIN((deadline - now + 999) / 1000, (uint64_t) INT32_MAX);
                }
                if (poll(&p, 1, timeout) > 0)
                        (void) !read(vm->wake_fd, &v, sizeof(v));
        }
        vm_stop_threads(vm);
        pthread_mutex_lock(&vm->lock);
        *ret = vm->exit;
        pthread_mutex_unlock(&vm->lock);
        return 0;
}
