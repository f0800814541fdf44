/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

#include "cgroups.h"
#include "runtime.h"
#include "shim-clients.h"
#include "shim-server.h"

/*
 * The container backend: libaula-runtime, called from short-lived helper
 * processes forked by the shim.
 *
 * Why helpers: the runtime's create and exec paths parse config.json, build
 * seccomp filters and touch a good part of the runtime's code; done in a fork
 * that exits, none of that stays resident in the shim, which lives as long as
 * the instance (tens of them per server). The processes the helpers start are
 * their children; when a helper exits they become ours (we are a child
 * subreaper), so waitpid() still gives us the exit status.
 */

typedef struct ExecHelper {
        ShimWatch watch;
        pid_t pid;
        ShimClient *client;
        struct ExecHelper *next;
} ExecHelper;

typedef struct Container {
        RtContext ctx;
        int master;
        ShimWatch master_watch;
        bool master_open;
        int create_fd;
        ShimWatch create_watch;
        pid_t create_pid;
        CgManager *cg;
        ExecHelper *execs;
} Container;

static Container *ct(Shim *s) {
        return s->backend_data;
}

/* ------------------------------------------------------------ helper side */

static void helper_reply(int fd, pid_t pid, bool started, int master, int error, int logfd) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *text = NULL, *msg = NULL;
        size_t len;

        if (json_writer_new(false, &w) < 0)
                _exit(1);
        jw_object_open(w);
        if (error < 0) {
                msg = shim_helper_last_error(logfd);
                jw_key(w, "error");
                jw_string(w, msg ?: strerror(ERRNO_VALUE(error)));
                jw_key(w, "errno");
                jw_int(w, ERRNO_VALUE(error));
        } else {
                jw_key(w, "pid");
                jw_int(w, pid);
                jw_key(w, "started");
                jw_bool(w, started);
        }
        jw_object_close(w);
        if (json_writer_finish(w, &text, &len) < 0)
                _exit(1);
        (void) shim_send_packet(fd, text, len, master >= 0 ? &master : NULL, master >= 0 ? 1 : 0);
}

_noreturn_ static void create_helper(Shim *s, int fd, bool start) {
        int master = -EBADF, logfd = -EBADF, r;
        pid_t pid = 0;
        RtCreateOptions o = {
                .id = s->cfg.container_id,
                .bundle = s->cfg.bundle,
                .detach = true,
                .ret_pty_master = &master,
                .ret_pid = &pid,
        };
        RtContext ctx = { .state_root = s->cfg.state_root };
        char buf[64];

        (void) shim_helper_capture_logs(&logfd);
        if (s->cfg.restore) {
                /* The checkpointed processes come back running; "go" has nothing left to release. */
                RtRestoreOptions ro = {
                        .id = s->cfg.container_id,
                        .bundle = s->cfg.bundle,
                        .image_path = s->cfg.restore,
                        .detach = true,
                        .ret_pty_master = &master,
                        .ret_pid = &pid,
                };
                r = rt_restore(&ctx, &ro);
                helper_reply(fd, pid, start && r >= 0, master, r, logfd);
                if (r < 0 || start ||
                    shim_recv_packet(fd, buf, sizeof buf, (int[SHIM_MAX_FDS]){}, SHIM_MAX_FDS, NULL) <= 0)
                        _exit(r < 0);
                helper_reply(fd, pid, true, -EBADF, 0, logfd);
                _exit(0);
        }
        r = start ? rt_run(&ctx, &o) : rt_create(&ctx, &o);
        if (r < 0) {
                helper_reply(fd, 0, false, -EBADF, r, logfd);
                _exit(1);
        }
        helper_reply(fd, pid, start, master, 0, logfd);
        if (start)
                _exit(0);
        /* Wait for "go" (after the network is up); EOF means the shim gave up: the keeper cleans up. */
        if (shim_recv_packet(fd, buf, sizeof buf, (int[SHIM_MAX_FDS]){}, SHIM_MAX_FDS, NULL) <= 0)
                _exit(1);
        (void) lseek(logfd, 0, SEEK_SET);
        (void) ftruncate(logfd, 0);
        r = rt_start(&ctx, s->cfg.container_id);
        helper_reply(fd, pid, r >= 0, -EBADF, r, logfd);
        _exit(r < 0);
}

_noreturn_ static void exec_helper(Shim *s, int fd, ShimExecRequest *req) {
        int master = -EBADF, logfd = -EBADF, r;
        pid_t pid = 0;
        RtContext ctx = { .state_root = s->cfg.state_root };
        RtExecOptions o = {
                .id = s->cfg.container_id,
                .args = req->args,
                .env = req->env,
                .cwd = req->cwd,
                .user = req->user,
                .tty = req->tty,
                .detach = true,
                .stdio = req->tty ? NULL : req->stdio,
                .ret_pty_master = &master,
                .ret_pid = &pid,
        };

        (void) shim_helper_capture_logs(&logfd);
        r = rt_exec(&ctx, &o);
        if (r < 0) {
                helper_reply(fd, 0, false, -EBADF, r, logfd);
                _exit(1);
        }
        if (master >= 0 && req->rows > 0 && req->cols > 0) {
                struct winsize ws = { .ws_row = (unsigned short) req->rows,
                                      .ws_col = (unsigned short) req->cols };
                (void) ioctl(master, TIOCSWINSZ, &ws);
        }
        helper_reply(fd, pid, true, master, 0, logfd);
        _exit(0);
}

/* ------------------------------------------------------------ shim side */

/* Read one helper reply: the JSON, a pty master if one came. */
static int read_helper_reply(int fd, pid_t *ret_pid, bool *ret_started, int *ret_master, char **ret_msg) {
        _cleanup_(json_freep) JsonVal v = NULL;
        char buf[8192];
        int fds[SHIM_MAX_FDS];
        size_t n_fds = 0;
        ssize_t n;
        JsonVal x;

        *ret_master = -EBADF;
        n = shim_recv_packet(fd, buf, sizeof buf, fds, SHIM_MAX_FDS, &n_fds);
        if (n <= 0) {
                *ret_msg = strdup("the setup helper exited without a result (see shim.log)");
                return n == 0 ? -ECHILD : (int) n;
        }
        for (size_t i = 1; i < n_fds; i++)
                safe_close(fds[i]);
        if (json_parse(buf, (size_t) n, &v, NULL) < 0) {
                safe_close(fds[0]);
                return -EBADMSG;
        }
        x = json_get(v, "error");
        if (x && YAJL_IS_STRING(x)) {
                JsonVal e = json_get(v, "errno");
                safe_close(fds[0]);
                const char *m = YAJL_GET_STRING(x);
                *ret_msg = strdup(m ?: "");
                return e && YAJL_IS_INTEGER(e) && YAJL_GET_INTEGER(e) > 0 ? -(int) YAJL_GET_INTEGER(e) : -EIO;
        }
        x = json_get(v, "pid");
        *ret_pid = x && YAJL_IS_INTEGER(x) ? (pid_t) YAJL_GET_INTEGER(x) : 0;
        x = json_get(v, "started");
        *ret_started = x && YAJL_IS_TRUE(x);
        *ret_master = n_fds > 0 ? fds[0] : -EBADF;
        return 0;
}

static void drain_master(Shim *s) {
        Container *c = ct(s);
        char buf[16384];

        while (c->master_open) {
                ssize_t n = read(c->master, buf, sizeof buf);
                if (n > 0) {
                        shim_console_output(s, buf, (size_t) n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                /* EIO: every slave fd is closed (the container's processes are gone). */
                shim_watch_remove(s, &c->master_watch);
                c->master_open = false;
        }
}

static void on_master(Shim *s, ShimWatch *w, uint32_t events) {
        Container *c = ct(s);

        if (events & EPOLLOUT) {
                (void) shim_watch_modify(s, &c->master_watch, EPOLLIN);
                shim_console_writable(s);
        }
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                drain_master(s);
}

static void on_main_exit(Shim *s, pid_t pid, int status, void *userdata) {
        const char *reason = s->checkpointing ? "checkpointed"
                        : s->stop_requested   ? "stopped"
                        : WIFSIGNALED(status) ? "killed"
                                              : "exited";

        drain_master(s);
        shim_main_exited(s, exit_status_from_wait(status), reason);
}

static void create_channel_close(Shim *s) {
        Container *c = ct(s);

        if (c->create_fd < 0)
                return;
        shim_watch_remove(s, &c->create_watch);
        c->create_fd = safe_close(c->create_fd);
}

static void on_create(Shim *s, ShimWatch *w, uint32_t events) {
        Container *c = ct(s);
        _cleanup_free_ char *msg = NULL;
        bool started = false;
        int master = -EBADF, r;
        pid_t pid = 0;

        r = read_helper_reply(c->create_fd, &pid, &started, &master, &msg);
        if (r < 0) {
                create_channel_close(s);
                if (s->main_pid > 0) {
                        /* Created, but start failed: the init is ours or the helper's; kill it. */
                        shim_clients_instance_started(s, r);
                        log_error_errno(r, "%s", msg ?: "start failed");
                        shim_request_stop(s, 0);
                } else
                        shim_create_failed(s, r, msg);
                return;
        }
        if (s->main_pid == 0) {
                if (master >= 0) {
                        c->master = master;
                        (void) fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
                        if (shim_watch_add(s, &c->master_watch, master, EPOLLIN, on_master, NULL) >= 0)
                                c->master_open = true;
                }
                if (shim_child_watch(s, pid, on_main_exit, NULL) < 0)
                        log_error("Out of memory");
                if (!started) {
                        shim_created(s, pid);
                        return;
                }
                s->main_pid = pid;
        } else
                safe_close(master);
        create_channel_close(s);
        shim_started(s);
}

static int container_create(Shim *s, bool start) {
        Container *c = calloc(1, sizeof *c);
        pid_t pid;
        int fd;

        if (!c)
                return -ENOMEM;
        c->master = c->create_fd = -EBADF;
        c->ctx.state_root = s->cfg.state_root;
        s->backend_data = c;
        pid = shim_fork_helper(s, &fd);
        if (pid < 0)
                return log_error_errno(pid, "Failed to fork: %m");
        if (pid == 0)
                create_helper(s, fd, start);
        c->create_pid = pid;
        c->create_fd = fd;
        (void) shim_child_watch(s, pid, NULL, NULL);
        return shim_watch_add(s, &c->create_watch, fd, EPOLLIN, on_create, NULL);
}

static int container_start(Shim *s) {
        Container *c = ct(s);

        if (c->create_fd < 0)
                return -ECHILD;
        return shim_send_packet(c->create_fd, "go", 2, NULL, 0);
}

static int container_kill(Shim *s, int sig, bool all) {
        Container *c = ct(s);
        int r = 0;

        if (all && s->cfg.cgroup) {
                if (!c->cg && cg_manager_new(s->cfg.cgroup, &c->cg) < 0)
                        c->cg = NULL;
                if (c->cg)
                        r = cg_manager_kill(c->cg, sig);
        }
        if (s->main_pid > 0 && kill(s->main_pid, sig) < 0 && errno != ESRCH)
                return -errno;
        return r == -ENOENT ? 0 : r;
}

static void on_exec_helper(Shim *s, ShimWatch *w, uint32_t events) {
        ExecHelper *h = w->userdata;
        _cleanup_free_ char *msg = NULL;
        bool started;
        int master = -EBADF, r;
        pid_t pid = 0;

        r = read_helper_reply(w->fd, &pid, &started, &master, &msg);
        shim_watch_remove(s, w);
        safe_close(w->fd);
        for (ExecHelper **p = &ct(s)->execs; *p; p = &(*p)->next)
                if (*p == h) {
                        *p = h->next;
                        break;
                }
        shim_exec_started(s, h->client, r < 0 ? 0 : pid, master, r, msg);
        free(h);
}

static int container_exec(Shim *s, ShimClient *client, ShimExecRequest *req) {
        ExecHelper *h = calloc(1, sizeof *h);
        pid_t pid;
        int fd, r;

        if (!h)
                return -ENOMEM;
        pid = shim_fork_helper(s, &fd);
        if (pid < 0) {
                free(h);
                return pid;
        }
        if (pid == 0)
                exec_helper(s, fd, req);
        for (int i = 0; i < 3; i++)
                req->stdio[i] = safe_close(req->stdio[i]);
        (void) shim_child_watch(s, pid, NULL, NULL);
        h->pid = pid;
        h->client = client;
        r = shim_watch_add(s, &h->watch, fd, EPOLLIN, on_exec_helper, h);
        if (r < 0) {
                safe_close(fd);
                free(h);
                return r;
        }
        h->next = ct(s)->execs;
        ct(s)->execs = h;
        return 0;
}

typedef struct CkptHelper {
        ShimWatch watch;
        ShimClient *client;
} CkptHelper;

static void on_checkpoint_helper(Shim *s, ShimWatch *w, uint32_t events) {
        CkptHelper *h = w->userdata;
        _cleanup_free_ char *msg = NULL;
        bool started;
        int master = -EBADF, r;
        pid_t pid;

        r = read_helper_reply(w->fd, &pid, &started, &master, &msg);
        safe_close(master);
        shim_watch_remove(s, w);
        safe_close(w->fd);
        if (r < 0)
                s->checkpointing = false; /* the instance runs on */
        shim_checkpoint_done(s, h->client, r, msg);
        free(h);
}

static int container_checkpoint(Shim *s, ShimClient *c, const char *image_path, bool leave_running) {
        CkptHelper *h = calloc(1, sizeof *h);
        pid_t pid;
        int fd, r;

        if (!h)
                return -ENOMEM;
        pid = shim_fork_helper(s, &fd);
        if (pid < 0) {
                free(h);
                return pid;
        }
        if (pid == 0) {
                RtContext ctx = { .state_root = s->cfg.state_root };
                RtCheckpointOptions o = { .id = s->cfg.container_id,
                                          .image_path = image_path,
                                          .leave_running = leave_running };
                int logfd = -EBADF;
                (void) shim_helper_capture_logs(&logfd);
                r = rt_checkpoint(&ctx, &o);
                helper_reply(fd, 0, false, -EBADF, r, logfd);
                _exit(r < 0);
        }
        (void) shim_child_watch(s, pid, NULL, NULL);
        h->client = c;
        r = shim_watch_add(s, &h->watch, fd, EPOLLIN, on_checkpoint_helper, h);
        if (r < 0) {
                safe_close(fd);
                free(h);
                return r;
        }
        /* The init's end during the dump is the checkpoint's, not an exit. */
        s->checkpointing = !leave_running;
        return 0;
}

static int container_stats(Shim *s, JsonWriter *w) {
        Container *c = ct(s);
        CgStats st = {};
        uint64_t rx = 0, tx = 0;
        int r;

        if (!s->cfg.cgroup)
                return -EOPNOTSUPP;
        if (!c->cg && (r = cg_manager_new(s->cfg.cgroup, &c->cg)) < 0)
                return r;
        r = cg_manager_stats(c->cg, &st);
        if (r < 0)
                return r;
        if (s->main_pid > 0)
                (void) shim_net_dev_bytes(s->main_pid, &rx, &tx);
        jw_key(w, "cpu_usec");
        jw_uint(w, st.cpu_usage_usec);
        jw_key(w, "memory_bytes");
        jw_uint(w, st.memory_current);
        jw_key(w, "memory_limit");
        jw_uint(w, st.memory_max);
        jw_key(w, "pids");
        jw_uint(w, st.pids_current);
        jw_key(w, "pids_limit");
        jw_uint(w, st.pids_max);
        jw_key(w, "net_rx_bytes");
        jw_uint(w, rx);
        jw_key(w, "net_tx_bytes");
        jw_uint(w, tx);
        return 0;
}

static ssize_t container_input(Shim *s, const void *data, size_t len) {
        Container *c = ct(s);
        ssize_t n;

        if (c->master < 0)
                return len; /* no console: input goes nowhere */
        n = write(c->master, data, len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                (void) shim_watch_modify(s, &c->master_watch, EPOLLIN | EPOLLOUT);
                return 0;
        }
        if (n < 0)
                return len; /* the console is gone: drop input */
        if ((size_t) n < len)
                (void) shim_watch_modify(s, &c->master_watch, EPOLLIN | EPOLLOUT);
        return n;
}

static int container_resize(Shim *s, unsigned rows, unsigned cols) {
        Container *c = ct(s);
        struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };

        if (c->master < 0)
                return -ENOTTY;
        return RET_NERRNO(ioctl(c->master, TIOCSWINSZ, &ws));
}

static void container_free(Shim *s) {
        Container *c = ct(s);

        if (!c)
                return;
        safe_close(c->master);
        safe_close(c->create_fd);
        for (ExecHelper *h = c->execs, *n; h; h = n) {
                n = h->next;
                safe_close(h->watch.fd);
                free(h);
        }
        cg_manager_free(c->cg);
        free(c);
        s->backend_data = NULL;
}

const ShimBackendOps shim_backend_container = {
        .name = "container",
        .create = container_create,
        .start = container_start,
        .kill = container_kill,
        .exec = container_exec,
        .stats = container_stats,
        .checkpoint = container_checkpoint,
        .input = container_input,
        .resize = container_resize,
        .free = container_free,
};
