/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "shim-clients.h"

/*
 * Control-socket connections. Each connection carries one request; some
 * requests turn it into a stream (docs/shim-protocol.md):
 *
 *   attach  console output from the ring, input to the console
 *   logs    the log files as they were when asked, then (follow) the ring
 *   exec    the reply, then one END frame with the exit code
 *   wait, stop, start   a reply that comes when the instance gets there
 *
 * Streaming clients keep no output buffers of their own: each keeps a
 * position in the log ring and is sent what lies past it whenever its socket
 * is writable. A client too slow for the ring skips ahead (logs say so).
 */

#define CHUNK (32 * 1024)

typedef struct Packet {
        struct Packet *next;
        size_t len;
        int fds[SHIM_MAX_FDS];
        size_t n_fds;
        char data[];
} Packet;

typedef enum ClientMode {
        MODE_REQUEST,
        MODE_REPLIED, /* one-shot: close once the reply is out */
        MODE_ATTACH,
        MODE_LOGS,
        MODE_EXEC,
        MODE_WAIT,
        MODE_STOP,
        MODE_START,
        MODE_CHECKPOINT,
} ClientMode;

struct ShimClient {
        ShimWatch watch;
        Shim *shim;
        ClientMode mode;
        Packet *out, *out_tail;
        bool dead;
        unsigned busy; /* an exec helper in flight refers to us */
        /* streams */
        bool stream;
        bool follow;
        bool end_pending; /* send END once caught up */
        uint64_t pos;
        int replay_fd[2];
        uint64_t replay_left[2];
        /* attach */
        ShimDetach detach;
        uint8_t *pending;
        size_t n_pending;
        /* exec */
        bool exec_detach;
        ShimClient *next;
};

static void client_update(ShimClient *c);

/* ------------------------------------------------------------------ queueing */

static int queue_packet(ShimClient *c, const void *data, size_t len, const int *fds, size_t n_fds) {
        Packet *p = malloc(sizeof *p + len);

        if (!p) {
                for (size_t i = 0; i < n_fds; i++)
                        safe_close(fds[i]);
                return -ENOMEM;
        }
        p->next = NULL;
        p->len = len;
        p->n_fds = n_fds;
        for (size_t i = 0; i < SHIM_MAX_FDS; i++)
                p->fds[i] = i < n_fds ? fds[i] : -EBADF;
        memcpy(p->data, data, len);
        if (c->out_tail)
                c->out_tail->next = p;
        else
                c->out = p;
        c->out_tail = p;
        return 0;
}

static void packet_free(Packet *p) {
        for (size_t i = 0; i < p->n_fds; i++)
                safe_close(p->fds[i]);
        free(p);
}

static int queue_frame(ShimClient *c, char type, const char *json) {
        size_t n = strlen(json);
        _cleanup_free_ char *buf = malloc(n + 1);

        if (!buf)
                return -ENOMEM;
        buf[0] = type;
        memcpy(buf + 1, json, n);
        return queue_packet(c, buf, n + 1, NULL, 0);
}

static int queue_json(ShimClient *c, JsonWriter *w, const int *fds, size_t n_fds) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = json_writer_finish(w, &text, &len);
        if (r < 0) {
                for (size_t i = 0; i < n_fds; i++)
                        safe_close(fds[i]);
                return r;
        }
        return queue_packet(c, text, len, fds, n_fds);
}

static JsonWriter *reply_begin(void) {
        JsonWriter *w = NULL;

        if (json_writer_new(false, &w) < 0)
                return NULL;
        jw_object_open(w);
        jw_key(w, "ok");
        jw_bool(w, true);
        return w;
}

static void reply_end(ShimClient *c, JsonWriter *w, const int *fds, size_t n_fds) {
        if (!w) {
                c->dead = true;
                return;
        }
        jw_object_close(w);
        if (queue_json(c, w, fds, n_fds) < 0)
                c->dead = true;
        json_writer_free(w);
}

static void reply_error(ShimClient *c, int error, const char *fmt, ...) _printf_(3, 4);
static void reply_error(ShimClient *c, int error, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL, *text = NULL;
        size_t len;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (shim_reply_error(error, msg, &text, &len) < 0 || queue_packet(c, text, len, NULL, 0) < 0)
                c->dead = true;
        c->mode = MODE_REPLIED;
}

static void reply_exit(ShimClient *c, int exit_code) {
        JsonWriter *w = reply_begin();

        if (w) {
                jw_key(w, "exit_code");
                jw_int(w, exit_code);
        }
        reply_end(c, w, NULL, 0);
        c->mode = MODE_REPLIED;
}

static void end_frame(ShimClient *c, const char *json) {
        if (queue_frame(c, SHIM_FRAME_END, json) < 0)
                c->dead = true;
        c->mode = MODE_REPLIED;
        c->stream = false;
}

/* ------------------------------------------------------------------- sending */

static int send_now(ShimClient *c, const void *data, size_t len) {
        return shim_send_packet(c->watch.fd, data, len, NULL, 0);
}

/* Push replayed log files, then ring data, as far as the socket takes it. Returns -EAGAIN when full. */
static int push_stream(ShimClient *c) {
        Shim *s = c->shim;
        char buf[CHUNK + 1];
        int r;

        buf[0] = SHIM_FRAME_DATA;
        for (int i = 0; i < 2; i++)
                while (c->replay_fd[i] >= 0 && c->replay_left[i] > 0) {
                        /* pread from the saved offset: a short send must not lose the bytes. */
                        off_t off;
                        ssize_t n;
                        off = lseek(c->replay_fd[i], 0, SEEK_CUR);
                        n = pread(c->replay_fd[i], buf + 1,
                                  (size_t) MIN((uint64_t) CHUNK, c->replay_left[i]), off);
                        if (n <= 0) {
                                c->replay_left[i] = 0;
                                break;
                        }
                        r = send_now(c, buf, (size_t) n + 1);
                        if (r < 0)
                                return r;
                        (void) lseek(c->replay_fd[i], n, SEEK_CUR);
                        c->replay_left[i] -= (uint64_t) n;
                }
        for (int i = 0; i < 2; i++)
                c->replay_fd[i] = safe_close(c->replay_fd[i]);
        if (!c->follow)
                return 0;
        for (;;) {
                uint64_t pos = c->pos, skipped = 0;
                size_t n = shim_log_ring_read(s->ring, &pos, buf + 1, CHUNK, &skipped);
                if (skipped > 0 && c->mode == MODE_LOGS) {
                        char note[96];
                        int k = snprintf(
                                        note, sizeof note, "%c\n[aula: %" PRIu64 " bytes of output skipped]\n",
                                        SHIM_FRAME_DATA, skipped);
                        r = send_now(c, note, (size_t) k);
                        if (r < 0)
                                return r;
                        c->pos = pos - n;
                }
                if (n == 0)
                        return 0;
                r = send_now(c, buf, n + 1);
                if (r < 0)
                        return r;
                c->pos = pos;
        }
}

static void client_flush(ShimClient *c) {
        int r;

        while (c->out) {
                Packet *p = c->out;
                r = shim_send_packet(c->watch.fd, p->data, p->len, p->fds, p->n_fds);
                if (r == -EAGAIN)
                        return;
                if (r < 0) {
                        c->dead = true;
                        return;
                }
                c->out = p->next;
                if (!c->out)
                        c->out_tail = NULL;
                packet_free(p);
        }
        if (c->stream) {
                r = push_stream(c);
                if (r == -EAGAIN)
                        return;
                if (r < 0) {
                        c->dead = true;
                        return;
                }
                if (c->end_pending || (!c->follow && c->mode == MODE_LOGS)) {
                        char json[64];
                        if (c->shim->exit_code >= 0)
                                snprintf(json, sizeof json, "{\"exit_code\":%d}", c->shim->exit_code);
                        else
                                strcpy(json, "{}");
                        end_frame(c, json);
                        client_flush(c);
                        return;
                }
        }
        if (c->mode == MODE_REPLIED && !c->out)
                c->dead = true;
}

static bool stream_behind(ShimClient *c) {
        if (!c->stream)
                return false;
        for (int i = 0; i < 2; i++)
                if (c->replay_fd[i] >= 0 && c->replay_left[i] > 0)
                        return true;
        return c->follow && c->pos < shim_log_ring_end(c->shim->ring);
}

static void client_update(ShimClient *c) {
        uint32_t ev = 0;

        if (c->dead)
                return;
        client_flush(c);
        if (c->dead)
                return;
        if (c->out || stream_behind(c))
                ev |= EPOLLOUT;
        /* Stop reading console input while the console has not taken the previous input. */
        if (!(c->mode == MODE_ATTACH && c->n_pending > 0))
                ev |= EPOLLIN;
        if (shim_watch_modify(c->shim, &c->watch, ev) < 0)
                c->dead = true;
}

/* ------------------------------------------------------------------ requests */

static void op_state(ShimClient *c) {
        Shim *s = c->shim;
        JsonWriter *w = reply_begin();
        char ts[64];

        if (w) {
                jw_key(w, "name");
                jw_string(w, s->cfg.name);
                jw_key(w, "state");
                jw_string(w, shim_state_to_string(s->state));
                jw_key(w, "isolation");
                jw_string(w, s->cfg.isolation);
                jw_key(w, "pid");
                jw_int(w, s->main_pid);
                jw_key(w, "shim_pid");
                jw_int(w, getpid());
                if (s->started_usec) {
                        jw_key(w, "started");
                        jw_string(w, format_rfc3339(s->started_usec * 1000, ts, sizeof ts));
                }
                if (s->exit_code >= 0) {
                        jw_key(w, "exit_code");
                        jw_int(w, s->exit_code);
                        jw_key(w, "reason");
                        jw_string(w, s->exit_reason);
                }
                jw_key(w, "version");
                jw_int(w, SHIM_PROTO_VERSION);
        }
        reply_end(c, w, NULL, 0);
        c->mode = MODE_REPLIED;
}

static int want_uint(JsonVal req, const char *key, uint64_t max, uint64_t def, uint64_t *ret, char **err) {
        JsonVal v = json_get(req, key);
        if (!v) {
                *ret = def;
                return 0;
        }
        return json_want_uint64(v, key, max, ret, err);
}

static int want_bool(JsonVal req, const char *key, bool *ret, char **err) {
        JsonVal v = json_get(req, key);
        if (!v) {
                *ret = false;
                return 0;
        }
        return json_want_bool(v, key, ret, err);
}

static int want_string(JsonVal req, const char *key, char **ret, char **err) {
        JsonVal v = json_get(req, key);
        if (!v || YAJL_IS_NULL(v)) {
                *ret = NULL;
                return 0;
        }
        return json_want_string(v, key, ret, err);
}

static int want_signal(JsonVal req, int def, int *ret, char **err) {
        JsonVal v = json_get(req, "signal");
        int sig;

        if (!v) {
                *ret = def;
                return 0;
        }
        if (YAJL_IS_INTEGER(v))
                sig = (int) YAJL_GET_INTEGER(v);
        else if (YAJL_IS_STRING(v))
                sig = signal_from_string(YAJL_GET_STRING(v));
        else
                return json_error(err, "signal", "expected a name or a number");
        if (sig <= 0 || sig >= 65)
                return json_error(err, "signal", "unknown signal");
        *ret = sig;
        return 0;
}

static void op_kill(ShimClient *c, JsonVal req) {
        _cleanup_free_ char *err = NULL;
        bool all = false;
        int sig = 0, r;

        if (want_signal(req, SIGTERM, &sig, &err) < 0 || want_bool(req, "all", &all, &err) < 0)
                return reply_error(c, EINVAL, "%s", err);
        if (c->shim->state != SHIM_STATE_RUNNING && c->shim->state != SHIM_STATE_STOPPING &&
            c->shim->state != SHIM_STATE_CREATED)
                return reply_error(c, ESRCH, "the instance is %s", shim_state_to_string(c->shim->state));
        r = c->shim->backend->kill(c->shim, sig, all);
        if (r < 0)
                return reply_error(c, r, "cannot send %s: %s", signal_to_string(sig) ?: "signal", strerror(-r));
        reply_end(c, reply_begin(), NULL, 0);
        c->mode = MODE_REPLIED;
}

static void op_stop(ShimClient *c, JsonVal req) {
        _cleanup_free_ char *err = NULL;
        uint64_t timeout;

        if (want_uint(req, "timeout_ms", 24 * 3600 * 1000, c->shim->cfg.stop_timeout_usec / 1000, &timeout,
                      &err) < 0)
                return reply_error(c, EINVAL, "%s", err);
        if (c->shim->state == SHIM_STATE_STOPPED)
                return reply_exit(c, c->shim->exit_code);
        c->mode = MODE_STOP;
        shim_request_stop(c->shim, timeout * 1000);
}

static void op_wait(ShimClient *c) {
        if (c->shim->state == SHIM_STATE_STOPPED)
                return reply_exit(c, c->shim->exit_code);
        c->mode = MODE_WAIT;
}

static void op_start(ShimClient *c) {
        Shim *s = c->shim;
        int r;

        if (s->state == SHIM_STATE_RUNNING)
                return reply_error(c, EALREADY, "the instance is running already");
        if (s->state != SHIM_STATE_CREATED)
                return reply_error(c, EINVAL, "the instance is %s", shim_state_to_string(s->state));
        r = s->backend->start(s);
        if (r < 0)
                return reply_error(c, r, "cannot start: %s", strerror(-r));
        c->mode = MODE_START;
}

static void op_resize(ShimClient *c, JsonVal req) {
        _cleanup_free_ char *err = NULL;
        uint64_t rows, cols;
        int r;

        if (want_uint(req, "rows", 65535, 0, &rows, &err) < 0 ||
            want_uint(req, "cols", 65535, 0, &cols, &err) < 0)
                return reply_error(c, EINVAL, "%s", err);
        if (rows == 0 || cols == 0)
                return reply_error(c, EINVAL, "rows and cols must be 1..65535");
        r = c->shim->backend->resize(c->shim, (unsigned) rows, (unsigned) cols);
        if (r < 0)
                return reply_error(c, r, "cannot resize the console: %s", strerror(-r));
        reply_end(c, reply_begin(), NULL, 0);
        c->mode = MODE_REPLIED;
}

static void op_stats(ShimClient *c) {
        JsonWriter *w = reply_begin();
        int r;

        if (!w) {
                c->dead = true;
                return;
        }
        r = c->shim->backend->stats(c->shim, w);
        if (r < 0) {
                json_writer_free(w);
                return reply_error(c, r, "cannot read statistics: %s", strerror(-r));
        }
        reply_end(c, w, NULL, 0);
        c->mode = MODE_REPLIED;
}

static void op_attach(ShimClient *c, JsonVal req) {
        _cleanup_free_ char *err = NULL, *keys = NULL;
        uint64_t replay, rows, cols;
        Shim *s = c->shim;

        if (want_string(req, "detach_keys", &keys, &err) < 0 ||
            want_uint(req, "replay", 1 << 20, 0, &replay, &err) < 0 ||
            want_uint(req, "rows", 65535, 0, &rows, &err) < 0 ||
            want_uint(req, "cols", 65535, 0, &cols, &err) < 0)
                return reply_error(c, EINVAL, "%s", err);
        if (keys && *keys && shim_parse_detach_keys(keys, c->detach.keys, &c->detach.n_keys) < 0)
                return reply_error(c, EINVAL, "invalid detach keys '%s' (e.g. ctrl-p,ctrl-q)", keys);
        if (s->state != SHIM_STATE_RUNNING && s->state != SHIM_STATE_CREATED)
                return reply_error(c, ESRCH, "the instance is %s", shim_state_to_string(s->state));
        JsonWriter *w = reply_begin();
        /* A console without a terminal (a VM's agent relays plain stdio): the client keeps line mode. */
        bool tty = s->backend->resize(s, rows ?: 24, cols ?: 80) != -ENOTTY;
        if (w) {
                jw_key(w, "tty");
                jw_bool(w, tty);
        }
        reply_end(c, w, NULL, 0);
        c->mode = MODE_ATTACH;
        c->stream = c->follow = true;
        c->pos = shim_log_ring_end(s->ring);
        c->pos = c->pos > replay ? c->pos - replay : 0;
        if (c->pos < shim_log_ring_start(s->ring))
                c->pos = shim_log_ring_start(s->ring);
}

static void op_logs(ShimClient *c, JsonVal req) {
        _cleanup_free_ char *err = NULL, *path = NULL, *old = NULL;
        Shim *s = c->shim;
        bool follow;

        if (want_bool(req, "follow", &follow, &err) < 0)
                return reply_error(c, EINVAL, "%s", err);
        path = path_join(s->cfg.data_dir, "console.log");
        if (!path || xasprintf(&old, "%s.1", path) < 0)
                return reply_error(c, ENOMEM, "out of memory");
        /* Files as they are now; everything after this point comes from the ring. */
        const char *paths[2] = { old, path };
        for (int i = 0; i < 2; i++) {
                struct stat st;
                c->replay_fd[i] = open(paths[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (c->replay_fd[i] >= 0 && fstat(c->replay_fd[i], &st) >= 0)
                        c->replay_left[i] = (uint64_t) st.st_size;
        }
        reply_end(c, reply_begin(), NULL, 0);
        c->mode = MODE_LOGS;
        c->stream = true;
        c->follow = follow && s->state != SHIM_STATE_STOPPED;
        c->pos = shim_log_ring_end(s->ring);
        if (s->state == SHIM_STATE_STOPPED)
                c->end_pending = true;
}

static int parse_exec(JsonVal req, ShimExecRequest *x, char **err) {
        JsonVal v;
        uint64_t rows, cols;
        int r;

        v = json_get(req, "args");
        if (!v)
                return json_error(err, "args", "missing");
        r = json_want_strv(v, "args", &x->args, err);
        if (r < 0)
                return r;
        if (strv_length(x->args) == 0)
                return json_error(err, "args", "must not be empty");
        v = json_get(req, "env");
        if (v && (r = json_want_strv(v, "env", &x->env, err)) < 0)
                return r;
        STRV_FOREACH(e, x->env)
                if (!strchr(*e, '=') || **e == '=')
                        return json_error(err, "env", "'%s' is not KEY=VALUE", *e);
        if ((r = want_string(req, "cwd", &x->cwd, err)) < 0 ||
            (r = want_string(req, "user", &x->user, err)) < 0 ||
            (r = want_bool(req, "tty", &x->tty, err)) < 0 ||
            (r = want_bool(req, "detach", &x->detach, err)) < 0 ||
            (r = want_uint(req, "rows", 65535, 0, &rows, err)) < 0 ||
            (r = want_uint(req, "cols", 65535, 0, &cols, err)) < 0)
                return r;
        if (x->cwd && x->cwd[0] != '/')
                return json_error(err, "cwd", "must be an absolute path");
        x->rows = (unsigned) rows;
        x->cols = (unsigned) cols;
        return 0;
}

static void op_exec(ShimClient *c, JsonVal req, int *fds, size_t n_fds) {
        _cleanup_(shim_exec_request_done) ShimExecRequest x = { .stdio = { -EBADF, -EBADF, -EBADF } };
        _cleanup_free_ char *err = NULL;
        int r;

        for (size_t i = 0; i < n_fds && i < 3; i++)
                x.stdio[i] = TAKE_FD(fds[i]);
        if (parse_exec(req, &x, &err) < 0)
                return reply_error(c, EINVAL, "%s", err);
        if (c->shim->state != SHIM_STATE_RUNNING)
                return reply_error(c, ESRCH, "the instance is %s", shim_state_to_string(c->shim->state));
        if (!x.tty)
                for (int i = 0; i < 3; i++)
                        if (x.stdio[i] < 0) {
                                x.stdio[i] = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
                                if (x.stdio[i] < 0)
                                        return reply_error(c, errno, "cannot open /dev/null: %m");
                        }
        c->exec_detach = x.detach;
        r = c->shim->backend->exec(c->shim, c, &x);
        if (r == -EOPNOTSUPP)
                return reply_error(
                                c, r, "exec is not available in %s instances (use the console)",
                                c->shim->backend->name);
        if (r < 0)
                return reply_error(c, r, "exec failed: %s", strerror(-r));
        c->busy++;
        c->mode = MODE_EXEC;
}

static void client_exec_exited(Shim *s, pid_t pid, int status, void *userdata) {
        ShimClient *c = userdata;
        char json[64];

        if (!c || c->dead)
                return;
        snprintf(json, sizeof json, "{\"exit_code\":%d}", exit_status_from_wait(status));
        end_frame(c, json);
        client_update(c);
}

void shim_exec_started(Shim *s, ShimClient *c, pid_t pid, int master, int error, const char *msg) {
        JsonWriter *w;

        c->busy--;
        if (c->dead) {
                safe_close(master);
                return;
        }
        if (error < 0) {
                reply_error(c, error, "%s", msg ?: strerror(ERRNO_VALUE(error)));
                client_update(c);
                return;
        }
        w = reply_begin();
        if (w) {
                jw_key(w, "pid");
                jw_int(w, pid);
        }
        reply_end(c, w, master >= 0 ? &master : NULL, master >= 0 ? 1 : 0);
        if (c->exec_detach)
                c->mode = MODE_REPLIED;
        else if (shim_child_watch(s, pid, client_exec_exited, c) < 0)
                c->dead = true;
        client_update(c);
}

static void op_checkpoint(ShimClient *c, JsonVal req) {
        _cleanup_free_ char *err = NULL, *path = NULL;
        bool leave;
        int r;

        if (want_string(req, "image_path", &path, &err) < 0 ||
            want_bool(req, "leave_running", &leave, &err) < 0)
                return reply_error(c, EINVAL, "%s", err);
        if (!path || path[0] != '/')
                return reply_error(c, EINVAL, "image_path: an absolute path is required");
        if (c->shim->state != SHIM_STATE_RUNNING)
                return reply_error(c, ESRCH, "the instance is %s", shim_state_to_string(c->shim->state));
        if (!c->shim->backend->checkpoint)
                return reply_error(
                                c, EOPNOTSUPP, "checkpoints of %s instances are not supported",
                                c->shim->backend->name);
        r = c->shim->backend->checkpoint(c->shim, c, path, leave);
        if (r < 0)
                return reply_error(c, r, "checkpoint failed: %s", strerror(-r));
        c->busy++;
        c->mode = MODE_CHECKPOINT;
}

void shim_checkpoint_done(Shim *s, ShimClient *c, int error, const char *msg) {
        c->busy--;
        if (c->dead)
                return;
        if (error < 0)
                reply_error(c, error, "%s", msg ?: strerror(ERRNO_VALUE(error)));
        else {
                reply_end(c, reply_begin(), NULL, 0);
                c->mode = MODE_REPLIED;
        }
        client_update(c);
}

static void dispatch(ShimClient *c, const char *buf, size_t len, int *fds, size_t n_fds) {
        _cleanup_(json_freep) JsonVal req = NULL;
        _cleanup_free_ char *err = NULL;
        const char *op;
        JsonVal v;

        if (json_parse(buf, len, &req, &err) < 0)
                return reply_error(c, EINVAL, "malformed request: %s", err ?: "invalid JSON");
        v = json_get(req, "op");
        if (!v || !YAJL_IS_STRING(v))
                return reply_error(c, EINVAL, "op: missing");
        op = YAJL_GET_STRING(v);
        if (streq(op, "exec"))
                return op_exec(c, req, fds, n_fds);
        if (streq(op, "state"))
                return op_state(c);
        if (streq(op, "stop"))
                return op_stop(c, req);
        if (streq(op, "kill"))
                return op_kill(c, req);
        if (streq(op, "wait"))
                return op_wait(c);
        if (streq(op, "start"))
                return op_start(c);
        if (streq(op, "attach"))
                return op_attach(c, req);
        if (streq(op, "resize"))
                return op_resize(c, req);
        if (streq(op, "stats"))
                return op_stats(c);
        if (streq(op, "logs"))
                return op_logs(c, req);
        if (streq(op, "checkpoint"))
                return op_checkpoint(c, req);
        return reply_error(c, EOPNOTSUPP, "unknown op '%s'", op);
}

/* ------------------------------------------------------------ console input */

static void console_push(ShimClient *c) {
        ssize_t n;

        while (c->n_pending > 0) {
                n = c->shim->backend->input(c->shim, c->pending, c->n_pending);
                if (n <= 0)
                        break;
                memmove(c->pending, c->pending + n, c->n_pending - (size_t) n);
                c->n_pending -= (size_t) n;
        }
}

static void attach_input(ShimClient *c, const uint8_t *buf, size_t len) {
        uint8_t *p;
        size_t out;
        int detached;

        if (len == 0)
                return;
        if (buf[0] == SHIM_FRAME_RESIZE) {
                _cleanup_(json_freep) JsonVal v = NULL;
                JsonVal rows, cols;
                if (json_parse((const char *) buf + 1, len - 1, &v, NULL) < 0)
                        return;
                rows = json_get(v, "rows");
                cols = json_get(v, "cols");
                if (rows && cols && YAJL_IS_INTEGER(rows) && YAJL_IS_INTEGER(cols) &&
                    YAJL_GET_INTEGER(rows) > 0 && YAJL_GET_INTEGER(cols) > 0 &&
                    YAJL_GET_INTEGER(rows) < 65536 && YAJL_GET_INTEGER(cols) < 65536)
                        (void) c->shim->backend->resize(
                                        c->shim, (unsigned) YAJL_GET_INTEGER(rows),
                                        (unsigned) YAJL_GET_INTEGER(cols));
                return;
        }
        if (buf[0] != SHIM_FRAME_DATA)
                return;
        p = realloc(c->pending, c->n_pending + len + 8);
        if (!p) {
                c->dead = true;
                return;
        }
        c->pending = p;
        detached = shim_detach_feed(&c->detach, buf + 1, len - 1, c->pending + c->n_pending, &out);
        c->n_pending += out;
        console_push(c);
        if (detached)
                end_frame(c, "{\"detached\":true}");
}

/* ------------------------------------------------------------------ lifecycle */

static void on_client(Shim *s, ShimWatch *w, uint32_t events) {
        ShimClient *c = w->userdata;
        char buf[SHIM_PACKET_MAX];
        int fds[SHIM_MAX_FDS];
        size_t n_fds = 0;
        ssize_t n;

        if (events & EPOLLIN) {
                n = shim_recv_packet(c->watch.fd, buf, sizeof buf, fds, SHIM_MAX_FDS, &n_fds);
                if (n == -EAGAIN)
                        ;
                else if (n <= 0) {
                        /* Peer gone. A running exec or stop goes on without it. */
                        c->dead = true;
                        return;
                } else if (c->mode == MODE_REQUEST)
                        dispatch(c, buf, (size_t) n, fds, n_fds);
                else if (c->mode == MODE_ATTACH)
                        attach_input(c, (const uint8_t *) buf, (size_t) n);
                for (size_t i = 0; i < n_fds; i++)
                        safe_close(fds[i]);
        } else if (events & (EPOLLHUP | EPOLLERR) && !(events & EPOLLOUT)) {
                c->dead = true;
                return;
        }
        client_update(c);
}

int shim_client_new(Shim *s, int fd) {
        ShimClient *c = calloc(1, sizeof *c);
        int r;

        if (!c)
                return -ENOMEM;
        c->shim = s;
        c->replay_fd[0] = c->replay_fd[1] = -EBADF;
        r = shim_watch_add(s, &c->watch, fd, EPOLLIN, on_client, c);
        if (r < 0) {
                free(c);
                return r;
        }
        c->next = s->clients;
        s->clients = c;
        return 0;
}

static void client_free(Shim *s, ShimClient *c) {
        shim_watch_remove(s, &c->watch);
        shim_child_forget_userdata(s, c);
        safe_close(c->watch.fd);
        for (Packet *p = c->out, *n; p; p = n) {
                n = p->next;
                packet_free(p);
        }
        safe_close(c->replay_fd[0]);
        safe_close(c->replay_fd[1]);
        free(c->pending);
        free(c);
}

void shim_clients_gc(Shim *s) {
        for (ShimClient **p = &s->clients; *p;) {
                ShimClient *c = *p;
                if (c->dead && c->busy == 0) {
                        *p = c->next;
                        client_free(s, c);
                } else
                        p = &c->next;
        }
}

void shim_clients_free_all(Shim *s) {
        while (s->clients) {
                ShimClient *c = s->clients;
                s->clients = c->next;
                client_free(s, c);
        }
}

bool shim_clients_idle(Shim *s) {
        for (ShimClient *c = s->clients; c; c = c->next)
                if (!c->dead && (c->out || c->stream || c->mode == MODE_EXEC || c->mode == MODE_CHECKPOINT))
                        return false;
        return true;
}

void shim_clients_instance_stopped(Shim *s) {
        for (ShimClient *c = s->clients; c; c = c->next) {
                if (c->dead)
                        continue;
                switch (c->mode) {
                case MODE_WAIT:
                case MODE_STOP:
                        reply_exit(c, s->exit_code);
                        break;
                case MODE_START:
                        reply_error(c, ECHILD, "the instance exited during start");
                        break;
                case MODE_ATTACH:
                case MODE_LOGS:
                        c->end_pending = true;
                        break;
                default:
                        break;
                }
                client_update(c);
        }
}

void shim_clients_instance_started(Shim *s, int error) {
        for (ShimClient *c = s->clients; c; c = c->next) {
                if (c->dead || c->mode != MODE_START)
                        continue;
                if (error < 0)
                        reply_error(c, error, "cannot start: %s", strerror(ERRNO_VALUE(error)));
                else {
                        reply_end(c, reply_begin(), NULL, 0);
                        c->mode = MODE_REPLIED;
                }
                client_update(c);
        }
}

void shim_clients_output(Shim *s) {
        for (ShimClient *c = s->clients; c; c = c->next)
                if (!c->dead && c->stream && c->follow)
                        client_update(c);
}

void shim_clients_console_writable(Shim *s) {
        for (ShimClient *c = s->clients; c; c = c->next)
                if (!c->dead && c->mode == MODE_ATTACH && c->n_pending > 0) {
                        console_push(c);
                        client_update(c);
                }
}

void shim_console_output(Shim *s, const void *data, size_t len) {
        shim_log_ring_append(s->ring, data, len);
        shim_clients_output(s);
}

void shim_console_writable(Shim *s) {
        shim_clients_console_writable(s);
}
