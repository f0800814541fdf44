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

/* Run one hook: state on stdin, output captured (bounded), killed at its timeout. */
static int run_hook(const OciHook *h, const char *state, char *out, size_t out_size, int *ret_status) {
        int in[2] = { -EBADF, -EBADF }, o[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF;
        uint64_t deadline = 0;
        size_t got = 0;
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
        if (pid == 0) {
                char *const noenv[] = { NULL };
                char *argv0[] = { h->path, NULL };
                if (dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0 || dup2(o[1], 2) < 0)
                        _exit(127);
                (void) setsid();
                execve(h->path, h->args && h->args[0] ? h->args : argv0, h->env ?: noenv);
                dprintf(2, "exec %s: %s", h->path, strerror(errno));
                _exit(127);
        }
        in[0] = safe_close(in[0]);
        o[1] = safe_close(o[1]);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        /* The hook may exit without reading: EPIPE is not an error. */
        {
                struct sigaction ign = { .sa_handler = SIG_IGN }, old;
                sigaction(SIGPIPE, &ign, &old);
                (void) loop_write(in[1], state, strlen(state));
                sigaction(SIGPIPE, &old, NULL);
        }
        in[1] = safe_close(in[1]);
        if (h->timeout.set)
                deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t) h->timeout.v * 1000000ULL;
        for (bool eof = false; !eof;) {
                struct pollfd p = { .fd = o[0], .events = POLLIN };
                int timeout = -1;
                if (deadline) {
                        uint64_t now = now_usec(CLOCK_MONOTONIC);
                        if (now >= deadline) {
                                (void) kill(pid, SIGKILL);
                                (void) wait_for_pid(pid);
                                snprintf(out, out_size, "timed out after %" PRIi64 " s", h->timeout.v);
                                r = -ETIMEDOUT;
                                goto out;
                        }
                        timeout = (int) ((deadline - now) / 1000) + 1;
                }
                if (poll(&p, 1, timeout) < 0 && errno != EINTR) {
                        r = -errno;
                        goto out;
                }
                if (p.revents) {
                        char buf[512];
                        ssize_t n = read(o[0], buf, sizeof buf);
                        if (n <= 0)
                                eof = n == 0 || errno != EINTR;
                        else if (got + 1 < out_size) {
                                size_t k = MIN((size_t) n, out_size - 1 - got);
                                memcpy(out + got, buf, k);
                                got += k;
                                out[got] = 0;
                        }
                }
        }
        /* Output closed: the hook (or a child of it holding the pipe) is done with it. */
        if (deadline && pidfd >= 0) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                struct pollfd p = { .fd = pidfd, .events = POLLIN };
                if (now < deadline && poll(&p, 1, (int) ((deadline - now) / 1000) + 1) == 0) {
                        (void) kill(pid, SIGKILL);
                        (void) wait_for_pid(pid);
                        snprintf(out, out_size, "timed out after %" PRIi64 " s", h->timeout.v);
                        r = -ETIMEDOUT;
                        goto out;
                }
        }
        /* No pidfd (Linux < 5.3, tests/tools/nosys): look for the exit, without reaping, every 10 ms. */
        while (deadline && pidfd < 0) {
                siginfo_t si = {};
                if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno != EINTR)
                        break;
                if (si.si_pid != 0)
                        break;
                if (now_usec(CLOCK_MONOTONIC) >= deadline) {
                        (void) kill(pid, SIGKILL);
                        (void) wait_for_pid(pid);
                        snprintf(out, out_size, "timed out after %" PRIi64 " s", h->timeout.v);
                        r = -ETIMEDOUT;
                        goto out;
                }
                (void) usleep(10000);
        }
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
