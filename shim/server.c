/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sched.h>
#include <malloc.h>

#include "shim-clients.h"
#include "shim-server.h"

/*
 * aula-shim's lifetime, in order:
 *
 *   1. lock <run dir>/shim.lock (held until the cleanup is over, see 3 and 8);
 *   2. read run.json, open the console log, block signals into a signalfd,
 *      become a child subreaper (processes started by short-lived helpers
 *      become our children when the helpers exit);
 *   3. start the keeper (shim/keeper): a tiny process that inherits the lock
 *      and the read end of a pipe only we write to;
 *   4. bind shim.sock;
 *   5. create (and start) the instance through the backend; report on the
 *      ready channel (fd 3);
 *   6. serve requests until the main process exits;
 *   7. record the exit status (exit.json), finish replies, exit;
 *   8. the keeper sees the pipe close and runs the cleanup command, which
 *      kills whatever is left in the instance's cgroup, unmounts its root and
 *      removes its links.
 *
 * If the shim is SIGKILLed at any point, 8 happens just the same.
 */

static const char *const state_names[_SHIM_STATE_MAX] = {
        [SHIM_STATE_CREATING] = "creating", [SHIM_STATE_CREATED] = "created",
        [SHIM_STATE_RUNNING] = "running",   [SHIM_STATE_STOPPING] = "stopping",
        [SHIM_STATE_STOPPED] = "stopped",
};

const char *shim_state_to_string(ShimInstanceState st) {
        return st >= 0 && st < _SHIM_STATE_MAX ? state_names[st] : NULL;
}

/* ------------------------------------------------------------------ watches */

int shim_watch_add(Shim *s, ShimWatch *w, int fd, uint32_t events, ShimWatchFn fn, void *userdata) {
        struct epoll_event ev = { .events = events, .data.ptr = w };

        w->fd = fd;
        w->events = events;
        w->fn = fn;
        w->userdata = userdata;
        return RET_NERRNO(epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev));
}

int shim_watch_modify(Shim *s, ShimWatch *w, uint32_t events) {
        struct epoll_event ev = { .events = events, .data.ptr = w };

        if (w->events == events)
                return 0;
        w->events = events;
        return RET_NERRNO(epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, w->fd, &ev));
}

void shim_watch_remove(Shim *s, ShimWatch *w) {
        if (w->fd >= 0)
                (void) epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
        w->fn = NULL;
}

/* ------------------------------------------------------------------ children */

typedef struct ShimChild {
        pid_t pid;
        ShimChildFn fn;
        void *userdata;
        struct ShimChild *next;
} ShimChild;

/* A child reaped before anyone asked for it (an exec'd process that beat its helper's report). */
typedef struct ShimOrphan {
        pid_t pid;
        int status;
        struct ShimOrphan *next;
} ShimOrphan;

int shim_child_watch(Shim *s, pid_t pid, ShimChildFn fn, void *userdata) {
        ShimChild *c;

        for (ShimOrphan **o = &s->orphans; *o; o = &(*o)->next)
                if ((*o)->pid == pid) {
                        ShimOrphan *x = *o;
                        int status = x->status;
                        *o = x->next;
                        free(x);
                        if (fn)
                                fn(s, pid, status, userdata);
                        return 0;
                }
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *c = (ShimChild){ .pid = pid, .fn = fn, .userdata = userdata, .next = s->children };
        s->children = c;
        return 0;
}

void shim_child_forget_userdata(Shim *s, void *userdata) {
        for (ShimChild *c = s->children; c; c = c->next)
                if (c->userdata == userdata)
                        c->userdata = NULL;
}

static void child_exited(Shim *s, pid_t pid, int status) {
        for (ShimChild **p = &s->children; *p; p = &(*p)->next) {
                ShimChild *c = *p;
                if (c->pid != pid)
                        continue;
                *p = c->next;
                if (c->fn)
                        c->fn(s, pid, status, c->userdata);
                free(c);
                return;
        }
        if (pid == s->keeper_pid) {
                /* The keeper went (someone killed it): we clean up ourselves when we exit. */
                log_warning("keeper %d exited unexpectedly", (int) pid);
                s->keeper_pid = 0;
                s->keeper_pipe = safe_close(s->keeper_pipe);
                return;
        }
        /* Keep a bounded memory of unclaimed statuses. */
        size_t n = 0;
        for (ShimOrphan *o = s->orphans; o; o = o->next)
                n++;
        if (n >= 64)
                return;
        ShimOrphan *o = calloc(1, sizeof *o);
        if (o) {
                *o = (ShimOrphan){ .pid = pid, .status = status, .next = s->orphans };
                s->orphans = o;
        }
}

static void reap_children(Shim *s) {
        for (;;) {
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
                if (pid <= 0)
                        return;
                child_exited(s, pid, status);
        }
}

pid_t shim_fork_helper(Shim *s, int *ret_fd) {
        int pair[2];
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int e = -errno;
                safe_close(pair[0]);
                safe_close(pair[1]);
                return e;
        }
        if (pid == 0) {
                sigset_t all;
                /* The helper must not outlive the shim, nor keep its lock, socket or clients. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                safe_close(pair[0]);
                safe_close(s->lock_fd);
                safe_close(s->listen_fd);
                safe_close(s->keeper_pipe);
                safe_close(s->epoll_fd);
                safe_close(s->signal_fd);
                safe_close(s->ready_fd);
                sigfillset(&all);
                (void) sigprocmask(SIG_UNBLOCK, &all, NULL);
                *ret_fd = pair[1];
                return 0;
        }
        safe_close(pair[1]);
        *ret_fd = pair[0];
        return pid;
}

/* ------------------------------------------------------------- ready channel */

static void ready_send(Shim *s, const char *event, int error, const char *msg) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;

        if (s->ready_fd < 0 || json_writer_new(false, &w) < 0)
                return;
        jw_object_open(w);
        jw_key(w, "event");
        jw_string(w, event);
        if (error) {
                jw_key(w, "error");
                jw_string(w, msg ?: strerror(ERRNO_VALUE(error)));
                jw_key(w, "errno");
                jw_int(w, ERRNO_VALUE(error));
        } else {
                jw_key(w, "pid");
                jw_int(w, s->main_pid);
        }
        jw_object_close(w);
        if (json_writer_finish(w, &text, &len) >= 0)
                (void) shim_send_packet(s->ready_fd, text, len, NULL, 0);
}

void shim_ready_error(Shim *s, int error, const char *msg) {
        ready_send(s, "error", error, msg);
}

static void ready_close(Shim *s) {
        if (s->ready_fd < 0)
                return;
        shim_watch_remove(s, &s->ready_watch);
        s->ready_fd = safe_close(s->ready_fd);
}

static void on_ready(Shim *s, ShimWatch *w, uint32_t events) {
        char buf[512];
        int fds[SHIM_MAX_FDS];
        ssize_t n;

        n = shim_recv_packet(s->ready_fd, buf, sizeof buf - 1, fds, SHIM_MAX_FDS, NULL);
        if (n <= 0) {
                /* The starter died before asking us to start: give up, the keeper cleans up. */
                ready_close(s);
                if (s->state == SHIM_STATE_CREATED || s->state == SHIM_STATE_CREATING) {
                        log_warning("starter went away before start; stopping");
                        shim_request_stop(s, 0);
                }
                return;
        }
        buf[n] = 0;
        if (strstr(buf, "\"start\"") && s->state == SHIM_STATE_CREATED) {
                int r = s->backend->start(s);
                if (r < 0) {
                        ready_send(s, "error", r, NULL);
                        shim_request_stop(s, 0);
                }
        }
}

void shim_created(Shim *s, pid_t main_pid) {
        s->main_pid = main_pid;
        s->state = SHIM_STATE_CREATED;
        ready_send(s, "created", 0, NULL);
        /* A stop asked for while creating (the starter went away) could not reach the init before. */
        if (s->stop_requested)
                (void) s->backend->kill(s, SIGKILL, true);
}

void shim_started(Shim *s) {
        s->state = s->stop_requested ? SHIM_STATE_STOPPING : SHIM_STATE_RUNNING;
        s->started_usec = now_usec(CLOCK_REALTIME);
        ready_send(s, "running", 0, NULL);
        ready_close(s);
        shim_clients_instance_started(s, 0);
        if (s->stop_requested)
                (void) s->backend->kill(s, SIGKILL, true);
        /* Setup code (runtime, config parsing) ran in helpers; give back what the loop no longer needs. */
        (void) malloc_trim(0);
        if (shim_trim_init() > 0)
                shim_trim();
}

void shim_create_failed(Shim *s, int error, const char *msg) {
        log_error_errno(error, "%s", msg ?: "Failed to create the instance");
        ready_send(s, "error", error, msg);
        ready_close(s);
        s->main_pid = 0;
        shim_main_exited(s, 127, "failed");
}

/* ------------------------------------------------------------------ stopping */

static void arm_timer(Shim *s, uint64_t usec) {
        struct itimerspec its = {
                .it_value = { .tv_sec = (time_t) (usec / 1000000), .tv_nsec = (long) (usec % 1000000) * 1000 },
        };
        if (usec == 0)
                its.it_value.tv_nsec = 1;
        (void) timerfd_settime(s->timer_fd, 0, &its, NULL);
}

void shim_request_stop(Shim *s, uint64_t timeout_usec) {
        if (s->state == SHIM_STATE_STOPPED)
                return;
        s->stop_requested = true;
        if (s->state == SHIM_STATE_CREATED || s->state == SHIM_STATE_CREATING || timeout_usec == 0) {
                s->kill_sent = true;
                if (s->main_pid > 0 || s->state != SHIM_STATE_CREATING)
                        (void) s->backend->kill(s, SIGKILL, true);
        } else
                (void) s->backend->kill(s, s->cfg.stop_signal, false);
        if (s->state == SHIM_STATE_RUNNING)
                s->state = SHIM_STATE_STOPPING;
        arm_timer(s, s->kill_sent ? 5000000 : timeout_usec);
}

static void on_timer(Shim *s, ShimWatch *w, uint32_t events) {
        uint64_t n;

        (void) read(s->timer_fd, &n, sizeof n);
        if (s->quit) {
                s->quit_deadline = 1; /* flush time is over */
                return;
        }
        if (!s->kill_sent) {
                log_info("instance did not stop in time; killing it");
                s->kill_sent = true;
                (void) s->backend->kill(s, SIGKILL, true);
                arm_timer(s, 5000000);
        } else if (s->state != SHIM_STATE_STOPPED) {
                /* Not even SIGKILL helped (D state, a stuck VMM): let the keeper end the namespace. */
                log_error("instance did not die after SIGKILL; giving up");
                shim_main_exited(s, 137, "killed");
        }
}

static void on_timer_watch(Shim *s, ShimWatch *w, uint32_t events) {
        on_timer(s, w, events);
}

static void write_exit_record(Shim *s) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *text = NULL, *path = NULL;
        char ts[64];
        size_t len;

        path = path_join(s->cfg.data_dir, "exit.json");
        if (!path || json_writer_new(true, &w) < 0)
                return;
        jw_object_open(w);
        jw_key(w, "exit_code");
        jw_int(w, s->exit_code);
        jw_key(w, "reason");
        jw_string(w, s->exit_reason);
        jw_key(w, "finished");
        jw_string(w, format_rfc3339(now_usec(CLOCK_REALTIME) * 1000, ts, sizeof ts));
        if (s->started_usec) {
                jw_key(w, "started");
                jw_string(w, format_rfc3339(s->started_usec * 1000, ts, sizeof ts));
        }
        jw_object_close(w);
        if (json_writer_finish(w, &text, &len) >= 0) {
                int r = write_file_atomic_at(AT_FDCWD, path, text, len, 0644);
                if (r < 0)
                        log_warning_errno(r, "Failed to write '%s': %m", path);
        }
}

void shim_main_exited(Shim *s, int exit_code, const char *reason) {
        if (s->state == SHIM_STATE_STOPPED)
                return;
        s->state = SHIM_STATE_STOPPED;
        s->exit_code = exit_code;
        free(s->exit_reason);
        s->exit_reason = strdup(reason ?: (s->stop_requested ? "stopped" : "exited"));
        log_info("instance %s: %s, exit code %d", s->cfg.name, s->exit_reason ?: "exited", exit_code);
        write_exit_record(s);
        ready_send(s, "error", ECHILD, "the instance exited during start");
        ready_close(s);
        /* New connections now find nobody: the instance is stopped. */
        if (s->listen_fd >= 0) {
                shim_watch_remove(s, &s->listen_watch);
                (void) unlink(SHIM_SOCKET_NAME);
                s->listen_fd = safe_close(s->listen_fd);
        }
        shim_clients_instance_stopped(s);
        s->quit = true;
        arm_timer(s, 2000000); /* at most this long to flush replies */
}

/* ------------------------------------------------------------------ signals */

static void on_signal(Shim *s, ShimWatch *w, uint32_t events) {
        struct signalfd_siginfo si;

        while (read(s->signal_fd, &si, sizeof si) == (ssize_t) sizeof si) {
                switch (si.ssi_signo) {
                case SIGCHLD:
                        reap_children(s);
                        break;
                case SIGTERM:
                case SIGINT:
                        log_info("signal %s: stopping the instance", signal_to_string((int) si.ssi_signo));
                        shim_request_stop(s, s->cfg.stop_timeout_usec);
                        break;
                default:
                        break;
                }
        }
}

/* ----------------------------------------------------------------- listening */

static void on_listen(Shim *s, ShimWatch *w, uint32_t events) {
        for (;;) {
                int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                        return;
                if (shim_client_new(s, fd) < 0)
                        safe_close(fd);
        }
}

static int listen_socket(Shim *s) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create the control socket: %m");
        /* Relative to the run directory (our cwd): deep instance paths exceed sun_path. */
        strcpy(sa.sun_path, SHIM_SOCKET_NAME);
        (void) unlink(SHIM_SOCKET_NAME);
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 128) < 0)
                return log_error_errno(errno, "Failed to listen on %s: %m", SHIM_SOCKET_NAME);
        (void) chmod(SHIM_SOCKET_NAME, 0600);
        s->listen_fd = TAKE_FD(fd);
        return shim_watch_add(s, &s->listen_watch, s->listen_fd, EPOLLIN, on_listen, NULL);
}

/* --------------------------------------------------------------------- setup */

static int setup_signals(Shim *s) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        (void) signal(SIGPIPE, SIG_IGN);
        s->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (s->signal_fd < 0)
                return -errno;
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return -errno;
        return shim_watch_add(s, &s->signal_watch, s->signal_fd, EPOLLIN, on_signal, NULL);
}

int shim_setup(Shim *s, const char *run_dir, int ready_fd) {
        _cleanup_free_ char *err = NULL, *log_path = NULL, *console = NULL;
        int r;

        s->ready_fd = ready_fd;
        s->listen_fd = s->signal_fd = s->timer_fd = s->lock_fd = s->keeper_pipe = -EBADF;
        s->exit_code = -1;
        s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epoll_fd < 0)
                return log_error_errno(errno, "epoll: %m");
        if (chdir(run_dir) < 0)
                return log_error_errno(errno, "Failed to enter '%s': %m", run_dir);
        r = lock_file_at(AT_FDCWD, SHIM_LOCK_NAME, LOCK_EX | LOCK_NB, &s->lock_fd);
        if (r == -EWOULDBLOCK || r == -EAGAIN)
                return log_error_errno(SYNTHETIC_ERRNO(EBUSY), "the instance already has a shim");
        if (r < 0)
                return log_error_errno(r, "Failed to lock %s/%s: %m", run_dir, SHIM_LOCK_NAME);
        r = shim_run_config_load(SHIM_RUN_CONFIG, &s->cfg, &err);
        if (r < 0)
                return log_error_errno(r, "%s/%s: %s", run_dir, SHIM_RUN_CONFIG, err ?: strerror(-r));
        log_path = path_join(s->cfg.data_dir, "shim.log");
        if (log_path && log_open_file(log_path, LOG_FORMAT_TEXT) < 0)
                log_debug("cannot open %s", log_path);
        console = path_join(s->cfg.data_dir, "console.log");
        if (!console)
                return log_error_errno(ENOMEM, "Out of memory");
        r = shim_log_ring_new(console, 64 * 1024, s->cfg.log_max, &s->ring);
        if (r < 0)
                return log_error_errno(r, "Failed to open the console log '%s': %m", console);
        if (streq(s->cfg.isolation, "vm"))
                s->backend = &shim_backend_microvm;
        else
                s->backend = &shim_backend_container;
        r = setup_signals(s);
        if (r < 0)
                return log_error_errno(r, "Failed to set up signals: %m");
        s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (s->timer_fd < 0)
                return log_error_errno(errno, "timerfd: %m");
        r = shim_watch_add(s, &s->timer_watch, s->timer_fd, EPOLLIN, on_timer_watch, NULL);
        if (r < 0)
                return r;
        r = shim_keeper_start(s);
        if (r < 0)
                return r;
        r = listen_socket(s);
        if (r < 0)
                return r;
        if (s->ready_fd >= 0) {
                r = shim_watch_add(s, &s->ready_watch, s->ready_fd, EPOLLIN, on_ready, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch the ready channel: %m");
        }
        r = s->backend->create(s, s->cfg.start);
        if (r < 0) {
                shim_create_failed(s, r, NULL);
                return 0;
        }
        return 0;
}

static bool flushed(Shim *s) {
        return s->quit && (s->quit_deadline || shim_clients_idle(s));
}

int shim_run(Shim *s) {
        while (!flushed(s)) {
                struct epoll_event ev[16];
                int n = epoll_wait(s->epoll_fd, ev, ELEMENTSOF(ev), -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "epoll_wait: %m");
                }
                for (int i = 0; i < n; i++) {
                        ShimWatch *w = ev[i].data.ptr;
                        if (w->fn)
                                w->fn(s, w, ev[i].events);
                }
                shim_clients_gc(s);
                s->busy_since_trim = true;
                /* Idle again (nobody connected, running): drop the pages the work mapped. */
                if (!s->clients && s->state == SHIM_STATE_RUNNING) {
                        shim_trim();
                        s->busy_since_trim = false;
                }
        }
        return 0;
}

void shim_done(Shim *s) {
        shim_clients_free_all(s);
        if (s->backend && s->backend->free)
                s->backend->free(s);
        for (ShimChild *c = s->children, *n; c; c = n) {
                n = c->next;
                free(c);
        }
        for (ShimOrphan *o = s->orphans, *n; o; o = n) {
                n = o->next;
                free(o);
        }
        s->ring = shim_log_ring_free(s->ring);
        safe_close(s->listen_fd);
        safe_close(s->signal_fd);
        safe_close(s->timer_fd);
        safe_close(s->epoll_fd);
        safe_close(s->ready_fd);
        free(s->exit_reason);
        shim_run_config_done(&s->cfg);
}
