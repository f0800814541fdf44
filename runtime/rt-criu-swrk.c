/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "rt-criu-internal.h"

/*
 * CRIU's RPC, the way runc drives it: `criu swrk 3` is our child with one
 * end of a SOCK_SEQPACKET pair as fd 3; we send one criu_req (rpc.proto)
 * and read criu_resp messages until the final answer. NOTIFY messages
 * (action scripts: setup-namespaces, post-restore, orphan-pts-master, ...)
 * are answered one by one; orphan-pts-master carries the new pty master as
 * SCM_RIGHTS. CRIU opens images_dir_fd and work_dir_fd through
 * /proc/<our pid>/fd, so those stay ours; inherited fds (stdio, namespace
 * files) are copied into the child as fds 4, 5, ...
 */

#if HAVE_CRIU_RPC

#include "rpc.pb-c.h"

#define SWRK_FD 3
#define INHERIT_BASE 4
#define RESP_MAX (64 * 1024)

static void set_error(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static void set_error(char **ret_error, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        if (!ret_error)
                return;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        free(*ret_error);
        *ret_error = s;
}

/*
 * In the child: place want[i] at fd i (want[i] < 0: leave closed), with
 * every copy made first above the targets so that no source is clobbered.
 * Only async-signal-safe calls (we may be a fork of a threaded shim).
 */
_noreturn_ static void exec_criu(const char *bin, const int *want, int n, int errfd) {
        int high[64];
        sigset_t all;
        int e;

        for (int i = 0; i < n; i++) {
                high[i] = want[i] >= 0 ? fcntl(want[i], F_DUPFD_CLOEXEC, n + 64) : -1;
                if (want[i] >= 0 && high[i] < 0)
                        goto fail;
        }
        for (int i = 0; i < n; i++)
                if (high[i] >= 0 && dup2(high[i], i) < 0)
                        goto fail;
        for (int s = 1; s < _NSIG; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        (void) signal(s, SIG_DFL);
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
        execlp(bin, bin, "swrk", "3", (char *) NULL);
fail:
        e = errno;
        (void) !write(errfd, &e, sizeof e);
        _exit(127);
}

static int spawn(const RtCriuRequest *r, pid_t *ret_pid, int *ret_sock, char **ret_error) {
        const char *bin = getenv("AULA_CRIU");
        _cleanup_close_ int sock = -EBADF, peer = -EBADF, devnull = -EBADF, err_r = -EBADF, err_w = -EBADF;
        int sp[2], ep[2], want[INHERIT_BASE + 32], n = INHERIT_BASE + (int) r->n_inherit, e = 0;
        ssize_t k;
        pid_t pid;

        if (isempty(bin))
                bin = "criu";
        if (r->n_inherit > 32)
                return -E2BIG;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return -errno;
        sock = sp[0];
        peer = sp[1];
        if (pipe2(ep, O_CLOEXEC) < 0)
                return -errno;
        err_r = ep[0];
        err_w = ep[1];
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0)
                return -errno;
        /* CRIU logs to its log file; its own stdio is not the container's (that comes by inherit_fd). */
        want[0] = want[1] = want[2] = devnull;
        want[SWRK_FD] = peer;
        for (size_t i = 0; i < r->n_inherit; i++)
                want[INHERIT_BASE + i] = r->inherit[i].fd;
        fflush(NULL);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                exec_criu(bin, want, n, err_w);
        err_w = safe_close(err_w);
        k = read(err_r, &e, sizeof e);
        if (k == sizeof e) {
                (void) wait_for_pid(pid);
                set_error(ret_error, "cannot execute %s: %s%s", bin, strerror(e),
                          e == ENOENT ? " (install criu, or point $AULA_CRIU at it)" : "");
                return -e;
        }
        *ret_pid = pid;
        *ret_sock = TAKE_FD(sock);
        return 0;
}

static int send_req(int sock, const CriuReq *req) {
        size_t len = criu_req__get_packed_size(req);
        _cleanup_free_ uint8_t *buf = malloc(len ?: 1);

        if (!buf)
                return -ENOMEM;
        criu_req__pack(req, buf);
        if (send(sock, buf, len, MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}

/* One message; *ret_fd gets a passed fd or -EBADF. 0 at EOF. */
static ssize_t recv_resp(int sock, uint8_t *buf, size_t size, int *ret_fd) {
        char cbuf[CMSG_SPACE(sizeof(int) * 4)];
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
        };
        ssize_t n;

        *ret_fd = -EBADF;
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                        if (*ret_fd < 0)
                                *ret_fd = fd;
                        else
                                safe_close(fd);
                }
        }
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                *ret_fd = safe_close(*ret_fd);
                return -EMSGSIZE;
        }
        return n;
}

/* The arrays of pointers protobuf-c wants, built from the request. */
typedef struct Wire {
        ExtMountMap *mnt;
        ExtMountMap **mnt_p;
        JoinNamespace *ns;
        JoinNamespace **ns_p;
        InheritFd *inh;
        InheritFd **inh_p;
        CgroupRoot cg;
        CgroupRoot *cg_p;
} Wire;

static void wire_done(Wire *w) {
        free(w->mnt);
        free(w->mnt_p);
        free(w->ns);
        free(w->ns_p);
        free(w->inh);
        free(w->inh_p);
}

static int build_opts(const RtCriuRequest *r, Wire *w, CriuOpts *o) {
        size_t n_mnt = strv_length(r->ext_mnt) / 2, n_ns = strv_length(r->join_ns) / 2;
        int mode = rt_cgroup_mode_to_criu(r->cgroup_mode);

        *o = (CriuOpts) CRIU_OPTS__INIT;
        o->images_dir_fd = r->images_dir_fd;
        if (r->work_dir_fd >= 0) {
                o->has_work_dir_fd = true;
                o->work_dir_fd = r->work_dir_fd;
        }
        o->has_log_level = true;
        o->log_level = 4;
        o->log_file = (char *) r->log_file;
        o->root = (char *) r->root;
        if (!r->restore) {
                o->has_pid = true;
                o->pid = r->pid;
                o->has_leave_running = true;
                o->leave_running = r->leave_running;
                o->freeze_cgroup = (char *) r->freeze_cgroup;
        } else {
                o->has_rst_sibling = o->rst_sibling = true;
                o->has_evasive_devices = o->evasive_devices = true;
        }
#define SET(field, v) (o->has_##field = true, o->field = (v))
        SET(tcp_established, r->tcp_established);
        SET(ext_unix_sk, r->ext_unix_sk);
        SET(shell_job, r->shell_job);
        SET(file_locks, r->file_locks);
        SET(manage_cgroups, true);
        SET(notify_scripts, true);
        SET(orphan_pts_master, true);
#undef SET
        if (mode >= 0) {
                o->has_manage_cgroups_mode = true;
                o->manage_cgroups_mode = (CriuCgMode) mode;
        }
        if (r->empty_ns) {
                o->has_empty_ns = true;
                o->empty_ns = r->empty_ns;
        }
        o->config_file = (char *) r->config_file;
        o->n_external = strv_length(r->external);
        o->external = r->external;
        if (r->cgroup_root) {
                w->cg = (CgroupRoot) CGROUP_ROOT__INIT;
                w->cg.path = (char *) r->cgroup_root;
                w->cg_p = &w->cg;
                o->n_cg_root = 1;
                o->cg_root = &w->cg_p;
        }
        w->mnt = calloc(n_mnt + 1, sizeof *w->mnt);
        w->mnt_p = calloc(n_mnt + 1, sizeof *w->mnt_p);
        w->ns = calloc(n_ns + 1, sizeof *w->ns);
        w->ns_p = calloc(n_ns + 1, sizeof *w->ns_p);
        w->inh = calloc(r->n_inherit + 1, sizeof *w->inh);
        w->inh_p = calloc(r->n_inherit + 1, sizeof *w->inh_p);
        if (!w->mnt || !w->mnt_p || !w->ns || !w->ns_p || !w->inh || !w->inh_p)
                return -ENOMEM;
        for (size_t i = 0; i < n_mnt; i++) {
                w->mnt[i] = (ExtMountMap) EXT_MOUNT_MAP__INIT;
                w->mnt[i].key = r->ext_mnt[2 * i];
                w->mnt[i].val = r->ext_mnt[2 * i + 1];
                w->mnt_p[i] = &w->mnt[i];
        }
        o->n_ext_mnt = n_mnt;
        o->ext_mnt = w->mnt_p;
        for (size_t i = 0; i < n_ns; i++) {
                w->ns[i] = (JoinNamespace) JOIN_NAMESPACE__INIT;
                w->ns[i].ns = r->join_ns[2 * i];
                w->ns[i].ns_file = r->join_ns[2 * i + 1];
                w->ns_p[i] = &w->ns[i];
        }
        o->n_join_ns = n_ns;
        o->join_ns = w->ns_p;
        for (size_t i = 0; i < r->n_inherit; i++) {
                w->inh[i] = (InheritFd) INHERIT_FD__INIT;
                w->inh[i].key = (char *) r->inherit[i].key;
                w->inh[i].fd = INHERIT_BASE + (int32_t) i;
                w->inh_p[i] = &w->inh[i];
        }
        o->n_inherit_fd = r->n_inherit;
        o->inherit_fd = w->inh_p;
        return 0;
}

/* Answer a notification; a failing handler makes CRIU abort the request. */
static int handle_notify(const RtCriuRequest *r, int sock, const CriuResp *resp, int fd, int *handler_error) {
        CriuReq ack = CRIU_REQ__INIT;
        const char *script = resp->notify ? resp->notify->script : NULL;
        pid_t pid = resp->notify && resp->notify->has_pid ? resp->notify->pid : 0;
        int k = 0;

        log_debug("criu: notify %s (pid %d)", script ?: "?", (int) pid);
        if (r->notify && *handler_error == 0)
                k = r->notify(script, pid, fd, r->userdata);
        if (k < 0)
                *handler_error = k;
        ack.type = CRIU_REQ_TYPE__NOTIFY;
        ack.has_notify_success = true;
        ack.notify_success = k >= 0;
        return send_req(sock, &ack);
}

/* The conversation after the request: notifications until the final answer. */
static int converse(const RtCriuRequest *r, int sock, pid_t *ret_pid, char **ret_error) {
        _cleanup_free_ uint8_t *buf = malloc(RESP_MAX);
        int handler_error = 0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                _cleanup_close_ int fd = -EBADF;
                CriuResp *resp;
                ssize_t n;
                int r2;

                n = recv_resp(sock, buf, RESP_MAX, &fd);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        return handler_error < 0 ? handler_error : -ECONNRESET;
                resp = criu_resp__unpack(NULL, (size_t) n, buf);
                if (!resp) {
                        set_error(ret_error, "unreadable answer from criu");
                        return -EBADMSG;
                }
                if (resp->type == CRIU_REQ_TYPE__NOTIFY && resp->success) {
                        r2 = handle_notify(r, sock, resp, fd, &handler_error);
                        criu_resp__free_unpacked(resp, NULL);
                        if (r2 < 0)
                                return handler_error < 0 ? handler_error : r2;
                        continue;
                }
                if (!resp->success) {
                        int e = resp->has_cr_errno && resp->cr_errno > 0 ? resp->cr_errno : EIO;
                        if (!isempty(resp->cr_errmsg))
                                set_error(ret_error, "%s", resp->cr_errmsg);
                        criu_resp__free_unpacked(resp, NULL);
                        return handler_error < 0 ? handler_error : -e;
                }
                if (r->restore && ret_pid)
                        *ret_pid = resp->restore ? resp->restore->pid : 0;
                criu_resp__free_unpacked(resp, NULL);
                return handler_error;
        }
}

int rt_criu_swrk(const RtCriuRequest *r, pid_t *ret_pid, char **ret_error) {
        _cleanup_close_ int sock = -EBADF;
        _cleanup_(wire_done) Wire w = {};
        CriuReq req = CRIU_REQ__INIT;
        CriuOpts opts;
        pid_t criu = 0, restored = 0;
        int r2, status;

        r2 = build_opts(r, &w, &opts);
        if (r2 < 0)
                return r2;
        req.type = r->restore ? CRIU_REQ_TYPE__RESTORE : CRIU_REQ_TYPE__DUMP;
        req.opts = &opts;
        r2 = spawn(r, &criu, &sock, ret_error);
        if (r2 < 0)
                return r2;
        /* The restored tasks start in CRIU's cgroup unless CRIU moves them (cgroup mode ignore). */
        if (r->cgroup) {
                r2 = cg_manager_enter(r->cgroup, criu);
                if (r2 < 0) {
                        set_error(ret_error, "cannot move criu into the container's cgroup: %s",
                                  strerror(-r2));
                        goto kill;
                }
        }
        r2 = send_req(sock, &req);
        if (r2 >= 0)
                r2 = converse(r, sock, &restored, ret_error);
        sock = safe_close(sock);
        status = wait_for_pid(criu);
        /* No answer (a lost connection, a dead CRIU), or success with a failing exit: CRIU died. */
        if ((r2 < 0 && status != 0 && (!ret_error || !*ret_error)) || (r2 >= 0 && status != 0)) {
                set_error(ret_error,
                          status > 128 ? "criu was killed by signal %d"
                                       : "criu exited with status %d without an answer",
                          status > 128 ? status - 128 : status);
                return -ECOMM;
        }
        if (r2 < 0)
                return r2;
        if (r->restore && restored <= 0) {
                set_error(ret_error, "criu reported no restored process");
                return -ESRCH;
        }
        if (ret_pid)
                *ret_pid = restored;
        return 0;
kill:
        (void) kill(criu, SIGKILL);
        (void) wait_for_pid(criu);
        return r2;
}

#else /* !HAVE_CRIU_RPC */

int rt_criu_swrk(const RtCriuRequest *r, pid_t *ret_pid, char **ret_error) {
        if (ret_error)
                *ret_error = strdup("aula-runtime was built without CRIU support");
        return -EOPNOTSUPP;
}

#endif
