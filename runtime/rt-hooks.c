/* SPDX-License-Identifier: Apache-2.0 */
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "rt-internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int rt_state_json_for_hooks(
                const OciConfig *c,
                const char *id,
                const char *status,
                pid_t pid,
                const char *bundle,
                char **ret) {
        OciState s = {
                .oci_version = (char *) OCI_VERSION,
                .id = (char *) id,
                .status = oci_status_from_string(status),
                .pid = pid,
                .bundle = (char *) bundle,
                .annotations = c->annotations,
                .n_annotations = c->n_annotations,
        };
        return oci_state_emit(&s, ret);
}

/* In the child: the hook, with in_fd as stdin and out_fd as stdout and stderr. */
_noreturn_ static void exec_hook(const OciHook *h, int in_fd, int out_fd) {
        char *const noenv[] = { NULL };
        char *argv0[] = { h->path, NULL };

        if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
                _exit(127);
        (void) setsid();
        execve(h->path, h->args && h->args[0] ? h->args : argv0, h->env ?: noenv);
        dprintf(2, "exec %s: %s", h->path, strerror(errno));
        _exit(127);
}

/* The hook may exit without reading: EPIPE is not an error. */
static void write_state(int fd, const char *state) {
        struct sigaction ign = { .sa_handler = SIG_IGN }, old;

        sigaction(SIGPIPE, &ign, &old);
        (void) loop_write(fd, state, strlen(state));
        sigaction(SIGPIPE, &old, NULL);
}

/* Milliseconds left until deadline (0: none) for poll(): -1 without one, -ETIMEDOUT once past it. */
static int poll_timeout(uint64_t deadline) {
        uint64_t now;

        if (!deadline)
                return -1;
        now = now_usec(CLOCK_MONOTONIC);
        if (now >= deadline)
                return -ETIMEDOUT;
        return (int) ((deadline - now) / 1000) + 1;
}

/* Read fd to EOF, keeping what fits of it in out (NUL-terminated). -ETIMEDOUT at the deadline. */
static int read_output(int fd, uint64_t deadline, char *out, size_t out_size) {
        size_t got = 0;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int timeout = poll_timeout(deadline);
                char buf[512];
                ssize_t n;

                if (timeout == -ETIMEDOUT)
                        return timeout;
                if (poll(&p, 1, timeout) < 0 && errno != EINTR)
                        return -errno;
                if (!p.revents)
                        continue;
                n = read(fd, buf, sizeof buf);
                if (n <= 0 && (n == 0 || errno != EINTR))
                        return 0;
                if (n > 0 && got + 1 < out_size) {
                        size_t k = MIN((size_t) n, out_size - 1 - got);
                        memcpy(out + got, buf, k);
                        got += k;
                        out[got] = 0;
                }
        }
}

/* Output closed: the hook (or a child of it holding the pipe) is done with it. Wait for its exit. */
static int wait_exit(pid_t pid, int pidfd, uint64_t deadline) {
        if (!deadline)
                return 0;
        if (pidfd >= 0) {
                struct pollfd p = { .fd = pidfd, .events = POLLIN };
                int timeout = poll_timeout(deadline);
                if (timeout >= 0 && poll(&p, 1, timeout) == 0)
                        return -ETIMEDOUT;
                return 0;
        }
        /* No pidfd (Linux < 5.3, tests/tools/nosys): look for the exit, without reaping, every 10 ms. */
        for (;;) {
                siginfo_t si = {};
                if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno != EINTR)
                        return 0;
                if (si.si_pid != 0)
                        return 0;
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        return -ETIMEDOUT;
                (void) usleep(10000);
        }
}

/* Run one hook: state on stdin, output captured (bounded), killed at its timeout. */
static int run_hook(const OciHook *h, const char *state, char *out, size_t out_size, int *ret_status) {
        int in[2] = { -EBADF, -EBADF }, o[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF;
        uint64_t deadline = 0;
        pid_t pid;
        int r;

        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0) {
                r = -errno;
                goto out;
        }
        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto out;
        }
        if (pid == 0)
                exec_hook(h, in[0], o[1]);
        in[0] = safe_close(in[0]);
        o[1] = safe_close(o[1]);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        write_state(in[1], state);
        in[1] = safe_close(in[1]);
        if (h->timeout.set)
                deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t) h->timeout.v * 1000000ULL;
        r = read_output(o[0], deadline, out, out_size);
        if (r >= 0)
                r = wait_exit(pid, pidfd, deadline);
        if (r == -ETIMEDOUT) {
                (void) kill(pid, SIGKILL);
                (void) wait_for_pid(pid);
                snprintf(out, out_size, "timed out after %" PRIi64 " s", h->timeout.v);
                goto out;
        }
        if (r < 0)
                goto out;
        r = wait_for_pid(pid);
        if (r >= 0) {
                *ret_status = r;
                r = 0;
        }
out:
        safe_close(in[0]);
        safe_close(in[1]);
        safe_close(o[0]);
        safe_close(o[1]);
        return r;
}

int rt_hooks_run(
                const OciConfig *c,
                OciHookKind kind,
                const char *state_json,
                bool warn_only,
                char *errbuf,
                size_t errlen) {
        for (size_t i = 0; i < c->n_hooks[kind]; i++) {
                const OciHook *h = &c->hooks[kind][i];
                char out[1024] = "", msg[1536];
                int status = 0, r;

                r = run_hook(h, state_json, out, sizeof out, &status);
                if (r >= 0 && status == 0)
                        continue;
                out[strcspn(out, "\n")] = 0;
                if (r >= 0) {
                        snprintf(msg, sizeof msg, "error running %s hook #%zu (%s): exit status %d%s%s",
                                 oci_hook_kind_to_string(kind), i, h->path, status, *out ? ": " : "", out);
                        r = -EIO;
                } else
                        snprintf(msg, sizeof msg, "error running %s hook #%zu (%s): %s%s%s",
                                 oci_hook_kind_to_string(kind), i, h->path, strerror(-r), *out ? ": " : "",
                                 out);
                if (warn_only) {
                        log_warning("%s", msg);
                        continue;
                }
                if (errbuf) {
                        snprintf(errbuf, errlen, "%s", msg);
                        return r;
                }
                return log_error_errno(r, "%s", msg);
        }
        return 0;
}

int rt_hooks_run_for(
                const OciConfig *c,
                OciHookKind kind,
                const char *id,
                const char *status,
                pid_t pid,
                const char *bundle,
                bool warn_only) {
        _cleanup_free_ char *state = NULL;
        int r;

        if (c->n_hooks[kind] == 0)
                return 0;
        r = rt_state_json_for_hooks(c, id, status, pid, bundle, &state);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        return rt_hooks_run(c, kind, state, warn_only, NULL, 0);
}

int rt_hooks_run_create(const OciConfig *c, const char *id, pid_t pid, const char *bundle) {
        int r;

        r = rt_hooks_run_for(c, OCI_HOOK_PRESTART, id, "creating", pid, bundle, false);
        if (r < 0)
                return r;
        return rt_hooks_run_for(c, OCI_HOOK_CREATE_RUNTIME, id, "creating", pid, bundle, false);
}
