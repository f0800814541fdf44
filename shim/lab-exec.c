/* SPDX-License-Identifier: Apache-2.0 */
#include <linux/openat2.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "shim-lab.h"

/*
 * Lab-wide exec and collect. exec runs one command in every running student
 * at the same time: each shim gets the same request with a pipe pair of its
 * own as stdout/stderr, and one poll loop gathers every pipe and every exit
 * status. collect reads a file from each running instance's root, resolving
 * the path as if that root were "/" (the student owns every symlink there).
 */

#define EXEC_OUTPUT_MAX (64 * 1024)

/* ------------------------------------------------------------------- exec */

typedef struct ExecJob {
        int sock;
        int out, err;
        bool got_reply;
        size_t out_len, err_len;
} ExecJob;

/* Read what fd has: 1 bytes read, 0 end of file (or an error), -EAGAIN nothing for now. */
static int append_output(ShimLabResult *r, char **buf, size_t *len, int fd) {
        char tmp[16384];
        ssize_t n = read(fd, tmp, sizeof tmp);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return -EAGAIN;
        if (n <= 0)
                return 0;
        if (*len >= EXEC_OUTPUT_MAX) {
                r->truncated = true;
                return 1;
        }
        size_t take = MIN((size_t) n, EXEC_OUTPUT_MAX - *len);
        char *nb = realloc(*buf, *len + take + 1);
        if (!nb)
                return 1;
        memcpy(nb + *len, tmp, take);
        *len += take;
        nb[*len] = 0;
        *buf = nb;
        if (take < (size_t) n)
                r->truncated = true;
        return 1;
}

static int exec_start(ShimContext *c, const char *name, const char *req, ExecJob *j, ShimLabResult *res) {
        _cleanup_close_ int devnull = -EBADF;
        int o[2] = { -EBADF, -EBADF }, e[2] = { -EBADF, -EBADF }, r;

        j->sock = j->out = j->err = -EBADF;
        r = shim_connect(c, name, &j->sock);
        if (r < 0) {
                result_fail(res, r, "%s", r == -ESRCH ? "not running" : strerror(-r));
                return r;
        }
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0 || pipe2(o, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(e, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = -errno;
                goto fail;
        }
        r = shim_send_packet(j->sock, req, strlen(req), (int[]){ devnull, o[1], e[1] }, 3);
        if (r < 0)
                goto fail;
        safe_close(o[1]);
        safe_close(e[1]);
        j->out = o[0];
        j->err = e[0];
        return 0;
fail:
        result_fail(res, r, "exec: %s", strerror(-r));
        safe_close(o[0]);
        safe_close(o[1]);
        safe_close(e[0]);
        safe_close(e[1]);
        j->sock = safe_close(j->sock);
        return r;
}

/* The reply, then the END frame, on the exec's socket. Returns 1 when finished. */
static int exec_socket(ExecJob *j, ShimLabResult *res) {
        _cleanup_(json_freep) JsonVal v = NULL;
        char buf[8192];
        ssize_t n;
        JsonVal x;

        n = shim_recv_packet(j->sock, buf, sizeof buf - 1, (int[SHIM_MAX_FDS]){}, SHIM_MAX_FDS, NULL);
        if (n <= 0) {
                if (res->exit_code < 0 && res->error == 0)
                        result_fail(res, ESRCH, "the instance stopped during exec");
                return 1;
        }
        if (!j->got_reply) {
                j->got_reply = true;
                if (json_parse(buf, (size_t) n, &v, NULL) < 0)
                        return result_fail(res, EBADMSG, "garbled reply"), 1;
                x = json_get(v, "ok");
                if (!x || !YAJL_IS_TRUE(x)) {
                        JsonVal m = json_get(v, "error"), e = json_get(v, "errno");
                        result_fail(res, e && YAJL_IS_INTEGER(e) ? (int) YAJL_GET_INTEGER(e) : EIO, "%s",
                                    m && YAJL_IS_STRING(m) ? YAJL_GET_STRING(m) : "exec failed");
                        return 1;
                }
                return 0;
        }
        if (buf[0] != SHIM_FRAME_END)
                return 0;
        if (json_parse(buf + 1, (size_t) n - 1, &v, NULL) >= 0 && (x = json_get(v, "exit_code")) &&
            YAJL_IS_INTEGER(x))
                res->exit_code = (int) YAJL_GET_INTEGER(x);
        return 1;
}

static int exec_request(char **args, char **ret) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        size_t len;

        if (json_writer_new(false, &w) < 0)
                return -ENOMEM;
        jw_object_open(w);
        jw_key(w, "op");
        jw_string(w, "exec");
        jw_key(w, "args");
        jw_strv(w, args);
        jw_object_close(w);
        return json_writer_finish(w, ret, &len);
}

int shim_lab_exec(
                ShimContext *c,
                const char *lab,
                char **args,
                uint64_t timeout_usec,
                ShimLabResult **ret,
                size_t *ret_n) {
        _cleanup_close_ int lock = -EBADF;
        _cleanup_free_ char *req = NULL;
        _cleanup_free_ ExecJob *jobs = NULL;
        _cleanup_free_ struct pollfd *p = NULL;
        ShimLabResult *res = NULL;
        uint64_t deadline = timeout_usec ? now_usec(CLOCK_MONOTONIC) + timeout_usec : UINT64_MAX;
        LabDef d = {};
        size_t n = 0;
        int r;

        if (strv_length(args) == 0)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "no command given");
        r = lab_open(c, lab, LOCK_SH, &lock, &d, &res, &n);
        if (r < 0)
                return r;
        r = exec_request(args, &req);
        jobs = calloc(n ?: 1, sizeof *jobs);
        p = calloc(3 * (n ?: 1), sizeof *p);
        if (r < 0 || !jobs || !p) {
                lab_def_done(&d);
                shim_lab_results_free(res, n);
                return log_error_errno(ENOMEM, "Out of memory");
        }
        /* Start them all, then gather: every instance runs the command at the same time. */
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = NULL;
                if (instance_name(lab, d.students[i], &name) < 0) {
                        result_fail(&res[i], ENOMEM, "out of memory");
                        jobs[i].sock = jobs[i].out = jobs[i].err = -EBADF;
                        continue;
                }
                (void) exec_start(c, name, req, &jobs[i], &res[i]);
        }
        lab_def_done(&d);
        for (;;) {
                nfds_t k = 0;
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                for (size_t i = 0; i < n; i++) {
                        p[3 * i] = (struct pollfd){ .fd = jobs[i].sock, .events = POLLIN };
                        p[3 * i + 1] = (struct pollfd){ .fd = jobs[i].out, .events = POLLIN };
                        p[3 * i + 2] = (struct pollfd){ .fd = jobs[i].err, .events = POLLIN };
                        k += (jobs[i].sock >= 0) + (jobs[i].out >= 0) + (jobs[i].err >= 0);
                }
                if (k == 0)
                        break;
                if (now >= deadline) {
                        for (size_t i = 0; i < n; i++)
                                if (jobs[i].sock >= 0 || jobs[i].out >= 0 || jobs[i].err >= 0) {
                                        if (res[i].error == 0 && res[i].exit_code < 0)
                                                result_fail(&res[i], ETIMEDOUT, "timed out");
                                        jobs[i].sock = safe_close(jobs[i].sock);
                                        jobs[i].out = safe_close(jobs[i].out);
                                        jobs[i].err = safe_close(jobs[i].err);
                                }
                        break;
                }
                if (poll(p, 3 * n, deadline == UINT64_MAX ? -1 : (int) ((deadline - now) / 1000) + 1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (size_t i = 0; i < n; i++) {
                        ExecJob *j = &jobs[i];
                        if (p[3 * i + 1].revents &&
                            append_output(&res[i], &res[i].out, &j->out_len, j->out) == 0)
                                j->out = safe_close(j->out);
                        if (p[3 * i + 2].revents &&
                            append_output(&res[i], &res[i].err, &j->err_len, j->err) == 0)
                                j->err = safe_close(j->err);
                        if (p[3 * i].revents && exec_socket(j, &res[i]) > 0) {
                                /* Finished: what it wrote before exiting is in the pipes; a background
                                 * process that still holds them must not keep us waiting. */
                                j->sock = safe_close(j->sock);
                                while (j->out >= 0 &&
                                       append_output(&res[i], &res[i].out, &j->out_len, j->out) > 0)
                                        ;
                                while (j->err >= 0 &&
                                       append_output(&res[i], &res[i].err, &j->err_len, j->err) > 0)
                                        ;
                                j->out = safe_close(j->out);
                                j->err = safe_close(j->err);
                        }
                }
        }
        *ret = res;
        *ret_n = n;
        return count_failed(res, n) > 0 ? -EIO : 0;
}

/* ---------------------------------------------------------------- collect */

static int open_in_root(const char *root, const char *path, int *ret_fd) {
        _cleanup_close_ int rfd = -EBADF;
        struct open_how how = {
                .flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        long fd;

        rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return -errno;
        /* The student controls every symlink in there: resolve as if root were "/". */
        fd = syscall(SYS_openat2, rfd, path, &how, sizeof how);
        if (fd < 0)
                return -errno;
        *ret_fd = (int) fd;
        return 0;
}

static int collect_one(
                ShimContext *c,
                const char *lab,
                const char *student,
                const char *path,
                const char *dir,
                ShimLabResult *res) {
        _cleanup_free_ char *name = NULL, *run = NULL, *rootfs = NULL, *sdir = NULL, *dst = NULL, *tmp = NULL;
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        const char *base = strrchr(path, '/');
        struct stat st;
        int r;

        base = base ? base + 1 : path;
        if (instance_name(lab, student, &name) < 0 || !(run = shim_run_path(c, name)) ||
            xasprintf(&rootfs, "%s/root/rootfs", run) < 0 || !(sdir = path_join(dir, student)) ||
            !(dst = path_join(sdir, base)) || xasprintf(&tmp, "%s.aula-tmp", dst) < 0) {
                result_fail(res, ENOMEM, "out of memory");
                return -ENOMEM;
        }
        if (shim_live(c, name) != SHIM_LIVE_RUNNING) {
                result_fail(res, ESRCH, "not running");
                return -ESRCH;
        }
        r = open_in_root(rootfs, path, &in);
        if (r < 0) {
                result_fail(res, r, "%s: %s", path, strerror(-r));
                return r;
        }
        if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
                result_fail(res, EISDIR, "%s: not a regular file", path);
                return -EISDIR;
        }
        (void) fcntl(in, F_SETFL, fcntl(in, F_GETFL) & ~O_NONBLOCK);
        r = mkdir_p(sdir, 0755);
        if (r >= 0) {
                out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (out < 0)
                        r = -errno;
        }
        for (off_t left = st.st_size; r >= 0 && left > 0;) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t) MIN(left, (off_t) (1 << 30)), 0);
                if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS)) {
                        char buf[65536];
                        n = read(in, buf, sizeof buf);
                        if (n > 0 && loop_write(out, buf, (size_t) n) < 0)
                                n = -1;
                }
                if (n < 0)
                        r = -errno;
                else if (n == 0)
                        break;
                else
                        left -= n;
        }
        if (r >= 0 && rename(tmp, dst) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                result_fail(res, r, "cannot write %s: %s", dst, strerror(-r));
                return r;
        }
        res->path = TAKE_PTR(dst);
        res->bytes = (uint64_t) st.st_size;
        return 0;
}

int shim_lab_collect(
                ShimContext *c,
                const char *lab,
                const char *path,
                const char *dir,
                ShimLabResult **ret,
                size_t *ret_n) {
        _cleanup_close_ int lock = -EBADF;
        ShimLabResult *res = NULL;
        LabDef d = {};
        size_t n = 0;
        int r;

        if (isempty(path) || path[0] != '/' || endswith(path, "/"))
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "'%s': give the absolute path of a file in the instances", path ?: "");
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Cannot create '%s': %m", dir);
        r = lab_open(c, lab, LOCK_SH, &lock, &d, &res, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                (void) collect_one(c, lab, d.students[i], path, dir, &res[i]);
        lab_def_done(&d);
        *ret = res;
        *ret_n = n;
        return count_failed(res, n) > 0 ? -EIO : 0;
}
