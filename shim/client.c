/* SPDX-License-Identifier: Apache-2.0 */
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "shim-lib.h"

/* The client side of docs/shim-protocol.md. */

int shim_connect(const ShimContext *c, const char *name, int *ret_fd) {
        _cleanup_free_ char *dir = shim_run_path(c, name);
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (!dir)
                return -ENOMEM;
        dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        /* Through the directory fd: deep instance paths exceed sun_path. */
        snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, SHIM_SOCKET_NAME);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return errno == ENOENT || errno == ECONNREFUSED ? -ESRCH : -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int shim_call(int fd,
              const char *request,
              const int *fds,
              size_t n_fds,
              JsonVal *ret_reply,
              int *ret_fd,
              char **ret_error) {
        _cleanup_(json_freep) JsonVal v = NULL;
        _cleanup_free_ char *buf = malloc(SHIM_PACKET_MAX);
        int rfds[SHIM_MAX_FDS];
        size_t n_rfds = 0;
        ssize_t n;
        JsonVal ok;
        int r;

        if (!buf)
                return -ENOMEM;
        r = shim_send_packet(fd, request, strlen(request), fds, n_fds);
        if (r < 0)
                return r == -EPIPE || r == -ECONNRESET ? -ESRCH : r;
        n = shim_recv_packet(fd, buf, SHIM_PACKET_MAX, rfds, SHIM_MAX_FDS, &n_rfds);
        if (n == 0 || n == -ECONNRESET)
                return -ESRCH; /* the shim went away: the instance stopped */
        if (n < 0)
                return (int) n;
        for (size_t i = 1; i < n_rfds; i++)
                safe_close(rfds[i]);
        if (json_parse(buf, (size_t) n, &v, NULL) < 0) {
                if (n_rfds > 0)
                        safe_close(rfds[0]);
                return -EBADMSG;
        }
        ok = json_get(v, "ok");
        if (!ok || !YAJL_IS_TRUE(ok)) {
                JsonVal e = json_get(v, "errno"), m = json_get(v, "error");
                if (n_rfds > 0)
                        safe_close(rfds[0]);
                if (ret_error && m && YAJL_IS_STRING(m))
                        *ret_error = strdup(YAJL_GET_STRING(m) ?: "");
                return e && YAJL_IS_INTEGER(e) && YAJL_GET_INTEGER(e) > 0 ? -(int) YAJL_GET_INTEGER(e) : -EIO;
        }
        if (ret_fd)
                *ret_fd = n_rfds > 0 ? rfds[0] : -EBADF;
        else if (n_rfds > 0)
                safe_close(rfds[0]);
        if (ret_reply)
                *ret_reply = TAKE_PTR(v);
        return 0;
}

int shim_request(const ShimContext *c, const char *name, const char *request, JsonVal *ret_reply, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = shim_connect(c, name, &fd);
        if (r < 0)
                return r;
        return shim_call(fd, request, NULL, 0, ret_reply, NULL, ret_error);
}

static int not_running(const char *name, int r, const char *msg) {
        if (r == -ESRCH)
                return log_error_errno(SYNTHETIC_ERRNO(ESRCH), "instance %s is not running", name);
        return log_error_errno(r, "%s: %s", name, msg ?: strerror(ERRNO_VALUE(r)));
}

/* Wait for the END frame of a stream; data frames go to out_fd (-EBADF: dropped). Returns the exit code or -errno. */
static int read_end(int fd, int out_fd, bool *ret_detached) {
        _cleanup_free_ char *buf = malloc(SHIM_PACKET_MAX + 1);
        int fds[SHIM_MAX_FDS];

        if (!buf)
                return -ENOMEM;
        for (;;) {
                _cleanup_(json_freep) JsonVal v = NULL;
                ssize_t n = shim_recv_packet(fd, buf, SHIM_PACKET_MAX, fds, SHIM_MAX_FDS, NULL);
                JsonVal code;
                if (n <= 0)
                        return n == 0 || n == -ECONNRESET ? -ESRCH : (int) n;
                if (buf[0] == SHIM_FRAME_DATA) {
                        if (out_fd >= 0)
                                (void) loop_write(out_fd, buf + 1, (size_t) n - 1);
                        continue;
                }
                if (buf[0] != SHIM_FRAME_END)
                        continue;
                if (json_parse(buf + 1, (size_t) n - 1, &v, NULL) < 0)
                        return -EBADMSG;
                if (ret_detached)
                        *ret_detached = json_get(v, "detached") != NULL;
                code = json_get(v, "exit_code");
                return code && YAJL_IS_INTEGER(code) ? (int) YAJL_GET_INTEGER(code) : 0;
        }
}

/* ---------------------------------------------------------------- terminal */

typedef struct Term {
        bool raw;
        struct termios saved;
        int sigfd;
        sigset_t oldmask;
} Term;

/*
 * raw: a terminal on the other side does echo and line editing. Otherwise (a VM
 * console relays plain stdio) keep them local, Enter giving a newline, with
 * signals and flow control off so ^C and the detach keys travel as input.
 */
static void term_setup(Term *t, bool raw) {
        sigset_t m;

        t->raw = false;
        sigemptyset(&m);
        sigaddset(&m, SIGWINCH);
        sigaddset(&m, SIGTERM);
        sigaddset(&m, SIGHUP);
        sigaddset(&m, SIGINT);
        (void) sigprocmask(SIG_BLOCK, &m, &t->oldmask);
        t->sigfd = signalfd(-1, &m, SFD_CLOEXEC | SFD_NONBLOCK);
        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) >= 0) {
                struct termios r = t->saved;
                if (raw)
                        cfmakeraw(&r);
                else {
                        r.c_lflag &= ~(tcflag_t) ISIG;
                        r.c_iflag &= ~(tcflag_t) (IXON | IXOFF);
                }
                if (tcsetattr(STDIN_FILENO, TCSANOW, &r) >= 0)
                        t->raw = true; /* i.e. changed: restore at the end */
        }
}

static void term_restore(Term *t) {
        if (t->raw)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
        t->sigfd = safe_close(t->sigfd);
        (void) sigprocmask(SIG_SETMASK, &t->oldmask, NULL);
}

static bool term_size(unsigned *rows, unsigned *cols) {
        struct winsize ws;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
                return false;
        *rows = ws.ws_row;
        *cols = ws.ws_col;
        return true;
}

/* A signal on the terminal's signalfd: 1 for a window change, -EINTR to stop. */
static int term_signal(Term *t) {
        struct signalfd_siginfo si;
        int r = 0;

        while (read(t->sigfd, &si, sizeof si) == (ssize_t) sizeof si)
                if (si.ssi_signo == SIGWINCH)
                        r = r ?: 1;
                else
                        r = -EINTR;
        return r;
}

/* ------------------------------------------------------------------- exec */

/* A request's terminal size, when known. */
static void jw_term_size(JsonWriter *w, unsigned rows, unsigned cols) {
        if (rows && cols) {
                jw_key(w, "rows");
                jw_uint(w, rows);
                jw_key(w, "cols");
                jw_uint(w, cols);
        }
}

static int exec_request(const ShimExecOptions *o, unsigned rows, unsigned cols, char **ret) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        size_t len;
        int r;

        r = json_writer_new(false, &w);
        if (r < 0)
                return r;
        jw_object_open(w);
        jw_key(w, "op");
        jw_string(w, "exec");
        jw_key(w, "args");
        jw_strv(w, o->args);
        if (o->env) {
                jw_key(w, "env");
                jw_strv(w, o->env);
        }
        if (o->cwd) {
                jw_key(w, "cwd");
                jw_string(w, o->cwd);
        }
        if (o->user) {
                jw_key(w, "user");
                jw_string(w, o->user);
        }
        jw_key(w, "tty");
        jw_bool(w, o->tty);
        jw_term_size(w, rows, cols);
        jw_object_close(w);
        return json_writer_finish(w, ret, &len);
}

/* Shuttle bytes between our terminal and the exec's pty until the END frame. */
static int exec_tty_loop(int sock, int master) {
        Term t;
        char buf[16384];
        bool stdin_open = true, master_open = true;
        int code = -ESRCH;

        term_setup(&t, true);
        for (;;) {
                struct pollfd p[4] = {
                        { .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
                        { .fd = master_open ? master : -1, .events = POLLIN },
                        { .fd = sock, .events = POLLIN },
                        { .fd = t.sigfd, .events = POLLIN },
                };
                if (poll(p, 4, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[3].revents & POLLIN) {
                        int s = term_signal(&t);
                        unsigned rows, cols;
                        if (s == 1 && term_size(&rows, &cols)) {
                                struct winsize ws = { .ws_row = (unsigned short) rows,
                                                      .ws_col = (unsigned short) cols };
                                (void) ioctl(master, TIOCSWINSZ, &ws);
                        } else if (s < 0) {
                                (void) ioctl(master, TIOCSIG, SIGHUP);
                        }
                }
                if (p[0].revents & (POLLIN | POLLHUP)) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
                        if (n <= 0)
                                stdin_open = false;
                        else
                                (void) loop_write(master, buf, (size_t) n);
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = read(master, buf, sizeof buf);
                        if (n <= 0)
                                master_open = false;
                        else
                                (void) loop_write(STDOUT_FILENO, buf, (size_t) n);
                }
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
                        code = read_end(sock, -EBADF, NULL);
                        break;
                }
        }
        /* What the process printed just before exiting. */
        (void) fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
        for (ssize_t n; master_open && (n = read(master, buf, sizeof buf)) > 0;)
                (void) loop_write(STDOUT_FILENO, buf, (size_t) n);
        term_restore(&t);
        return code;
}

int shim_instance_exec(ShimContext *c, const char *name, const ShimExecOptions *o) {
        _cleanup_free_ char *req = NULL, *msg = NULL;
        _cleanup_close_ int fd = -EBADF, master = -EBADF;
        static const int std_fds[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
        unsigned rows = 0, cols = 0;
        int r;

        if (!shim_name_is_valid(name))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid instance name '%s'", name);
        if (o->tty && !isatty(STDIN_FILENO))
                return log_error_errno(SYNTHETIC_ERRNO(ENOTTY), "-t needs a terminal on stdin");
        if (o->tty)
                (void) term_size(&rows, &cols);
        r = exec_request(o, rows, cols, &req);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        r = shim_connect(c, name, &fd);
        if (r < 0)
                return not_running(name, r, NULL);
        r = shim_call(fd, req, o->tty ? NULL : (o->stdio ?: std_fds), o->tty ? 0 : 3, NULL, &master, &msg);
        if (r < 0)
                return not_running(name, r, msg);
        if (o->tty) {
                if (master < 0)
                        return log_error_errno(SYNTHETIC_ERRNO(EBADMSG), "%s: the shim sent no terminal", name);
                r = exec_tty_loop(fd, master);
        } else
                r = read_end(fd, -EBADF, NULL);
        if (r == -ESRCH)
                return log_error_errno(SYNTHETIC_ERRNO(ESRCH), "instance %s stopped during exec", name);
        if (r < 0)
                return log_error_errno(r, "%s: exec: %m", name);
        return r;
}

/* ---------------------------------------------------------------- console */

static int send_frame(int fd, char type, const void *data, size_t len) {
        char buf[16385];
        if (len > sizeof buf - 1)
                return -EMSGSIZE;
        buf[0] = type;
        memcpy(buf + 1, data, len);
        return shim_send_packet(fd, buf, len + 1, NULL, 0);
}

static int attach_request(const char *detach_keys, unsigned rows, unsigned cols, char **ret) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        size_t len;
        int r;

        r = json_writer_new(false, &w);
        if (r < 0)
                return r;
        jw_object_open(w);
        jw_key(w, "op");
        jw_string(w, "attach");
        jw_key(w, "detach_keys");
        jw_string(w, detach_keys ?: "");
        jw_key(w, "replay");
        jw_uint(w, 0);
        jw_term_size(w, rows, cols);
        jw_object_close(w);
        return json_writer_finish(w, ret, &len);
}

int shim_instance_console(ShimContext *c, const char *name, const char *detach_keys) {
        _cleanup_free_ char *req = NULL, *msg = NULL, *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_(json_freep) JsonVal reply = NULL;
        unsigned rows = 0, cols = 0;
        bool detached = false, stdin_open = true, tty;
        int code = -ESRCH, r;
        JsonVal x;
        Term t;

        if (!isatty(STDIN_FILENO))
                return log_error_errno(SYNTHETIC_ERRNO(ENOTTY), "console needs a terminal on stdin");
        buf = malloc(SHIM_PACKET_MAX + 1);
        (void) term_size(&rows, &cols);
        if (!buf || attach_request(detach_keys, rows, cols, &req) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        r = shim_connect(c, name, &fd);
        if (r < 0)
                return not_running(name, r, NULL);
        r = shim_call(fd, req, NULL, 0, &reply, NULL, &msg);
        if (r < 0)
                return not_running(name, r, msg);
        x = json_get(reply, "tty");
        tty = !x || !YAJL_IS_FALSE(x);
        if (detach_keys && *detach_keys)
                fprintf(stderr, "Connected to %s; detach with %s%s.\r\n", name, detach_keys,
                        tty ? "" : " and Enter (input goes line by line)");
        term_setup(&t, tty);
        /* Make the prompt show up: the same size again still tells the shell to redraw (SIGWINCH). */
        for (;;) {
                struct pollfd p[3] = {
                        { .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
                        { .fd = fd, .events = POLLIN },
                        { .fd = t.sigfd, .events = POLLIN },
                };
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[2].revents & POLLIN) {
                        int s = term_signal(&t);
                        if (s == 1 && term_size(&rows, &cols)) {
                                char j[64];
                                int k = snprintf(j, sizeof j, "{\"rows\":%u,\"cols\":%u}", rows, cols);
                                (void) send_frame(fd, SHIM_FRAME_RESIZE, j, (size_t) k);
                        } else if (s < 0)
                                break;
                }
                if (p[0].revents & (POLLIN | POLLHUP)) {
                        ssize_t n = read(STDIN_FILENO, buf, 16384);
                        if (n <= 0)
                                stdin_open = false;
                        else if (send_frame(fd, SHIM_FRAME_DATA, buf, (size_t) n) < 0)
                                break;
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = shim_recv_packet(
                                        fd, buf, SHIM_PACKET_MAX, (int[SHIM_MAX_FDS]){}, SHIM_MAX_FDS, NULL);
                        if (n <= 0)
                                break;
                        if (buf[0] == SHIM_FRAME_DATA)
                                (void) loop_write(STDOUT_FILENO, buf + 1, (size_t) n - 1);
                        else if (buf[0] == SHIM_FRAME_END) {
                                _cleanup_(json_freep) JsonVal v = NULL;
                                JsonVal e;
                                if (json_parse(buf + 1, (size_t) n - 1, &v, NULL) >= 0) {
                                        detached = json_get(v, "detached") != NULL;
                                        e = json_get(v, "exit_code");
                                        code = e && YAJL_IS_INTEGER(e) ? (int) YAJL_GET_INTEGER(e) : 0;
                                }
                                break;
                        }
                }
        }
        term_restore(&t);
        if (detached) {
                fprintf(stderr, "\r\nDetached from %s.\n", name);
                return 0;
        }
        if (code >= 0)
                fprintf(stderr, "\r\n%s stopped (exit code %d).\n", name, code);
        return 0;
}

/* ------------------------------------------------------------------ logs */

static int cat_file(const char *path, int out_fd) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        char buf[65536];
        ssize_t n;

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
                int r = loop_write(out_fd, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
        return n < 0 ? -errno : 0;
}

int shim_instance_logs(ShimContext *c, const char *name, bool follow, int out_fd) {
        _cleanup_free_ char *dir = NULL, *log = NULL, *old = NULL, *msg = NULL;
        _cleanup_close_ int fd = -EBADF;
        ShimDef d = {};
        int r;

        if (!shim_name_is_valid(name))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid instance name '%s'", name);
        r = shim_def_load(c, name, &d);
        if (r == -ENOENT)
                return log_error_errno(SYNTHETIC_ERRNO(ENOENT), "no such instance: %s", name);
        if (r < 0)
                return r;
        shim_def_done(&d);
        if (follow && shim_connect(c, name, &fd) >= 0) {
                r = shim_call(fd, "{\"op\":\"logs\",\"follow\":true}", NULL, 0, NULL, NULL, &msg);
                if (r >= 0) {
                        r = read_end(fd, out_fd, NULL);
                        return r == -ESRCH ? 0 : r < 0 ? log_error_errno(r, "%s: logs: %m", name) : 0;
                }
                fd = safe_close(fd);
        }
        dir = shim_data_dir(c, name);
        if (!dir || !(log = path_join(dir, "console.log")) || xasprintf(&old, "%s.1", log) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        r = cat_file(old, out_fd);
        if (r >= 0)
                r = cat_file(log, out_fd);
        if (r < 0)
                return log_error_errno(r, "Cannot read the log of %s: %m", name);
        return 0;
}

/* ----------------------------------------------------------------- stats */

static uint64_t get_u64(JsonVal v, const char *key) {
        JsonVal x = json_get(v, key);
        if (!x || !YAJL_IS_NUMBER(x))
                return 0;
        if (YAJL_IS_INTEGER(x))
                return (uint64_t) YAJL_GET_INTEGER(x);
        /* yajl keeps integers above INT64_MAX as doubles (an unlimited memory.max). */
        return YAJL_GET_DOUBLE(x) >= 1.8e19 ? UINT64_MAX : (uint64_t) YAJL_GET_DOUBLE(x);
}

int shim_instance_stats(ShimContext *c, const char *name, ShimStats *ret) {
        _cleanup_(json_freep) JsonVal v = NULL;
        _cleanup_free_ char *msg = NULL;
        int r;

        if (!shim_name_is_valid(name))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid instance name '%s'", name);
        r = shim_request(c, name, "{\"op\":\"stats\"}", &v, &msg);
        if (r < 0)
                return not_running(name, r, msg);
        *ret = (ShimStats){
                .cpu_usec = get_u64(v, "cpu_usec"),
                .memory_bytes = get_u64(v, "memory_bytes"),
                .memory_limit = get_u64(v, "memory_limit"),
                .pids = get_u64(v, "pids"),
                .pids_limit = get_u64(v, "pids_limit"),
                .net_rx_bytes = get_u64(v, "net_rx_bytes"),
                .net_tx_bytes = get_u64(v, "net_tx_bytes"),
        };
        return 0;
}
