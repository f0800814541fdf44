/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "rt-internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

bool rt_id_is_valid(const char *id) {
        size_t n = 0;
        if (isempty(id) || streq(id, ".") || streq(id, ".."))
                return false;
        for (const char *p = id; *p; p++, n++) {
                char c = *p;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '+' || c == '-' || c == '.'))
                        return false;
        }
        return n <= 1024;
}

RtState *rt_state_free(RtState *s) {
        if (!s)
                return NULL;
        free(s->id);
        free(s->bundle);
        free(s->rootfs);
        free(s->created);
        free(s->owner);
        free(s->cgroup);
        for (size_t i = 0; i < s->n_annotations; i++) {
                free(s->annotations[i].key);
                free(s->annotations[i].value);
        }
        free(s->annotations);
        free(s);
        return NULL;
}

int rt_state_dir(const RtContext *ctx, const char *id, char **ret) {
        char *p;
        if (!rt_id_is_valid(id))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid container id '%s'", id);
        p = path_join(ctx->state_root, id);
        if (!p)
                return log_error_errno(ENOMEM, "Out of memory");
        *ret = p;
        return 0;
}

/* Field 22 of /proc/<pid>/stat (starttime) and field 3 (state), parsed after the last ')'. */
int rt_proc_start_time(pid_t pid, uint64_t *ret, char *ret_state) {
        char path[64], buf[1024], *p;
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        uint64_t v = 0;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        n = loop_read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return (int) n;
        buf[n] = 0;
        p = strrchr(buf, ')');
        if (!p || p[1] != ' ')
                return -EBADMSG;
        p += 2;
        if (ret_state)
                *ret_state = *p;
        /* p is at field 3; starttime is field 22. */
        for (int field = 3; field < 22; field++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EBADMSG;
                p++;
        }
        while (*p >= '0' && *p <= '9')
                v = v * 10 + (uint64_t) (*p++ - '0');
        *ret = v;
        return 0;
}

int rt_state_pidfd(const RtState *s, int *ret) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t start;
        char st;
        int r;

        if (s->pid <= 0)
                return -ESRCH;
        fd = (int) syscall(SYS_pidfd_open, s->pid, 0);
        if (fd < 0 && errno != ENOSYS)
                return -errno;
        if (fd < 0)
                fd = -EBADF; /* no pidfds: the pid, checked by its start time, is all there is */
        /* Checked after opening: from here on the pidfd pins this exact process. */
        r = rt_proc_start_time(s->pid, &start, &st);
        if (r < 0)
                return r;
        if (start != s->pid_start || st == 'Z' || st == 'X')
                return -ESRCH;
        *ret = TAKE_FD(fd);
        return 0;
}

int rt_state_kill(const RtState *s, int pidfd, int sig) {
        if (pidfd >= 0) {
                if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) >= 0)
                        return 0;
                if (errno != ENOSYS)
                        return -errno;
        }
        if (s->pid <= 0)
                return -ESRCH;
        return RET_NERRNO(kill(s->pid, sig));
}

bool rt_state_init_alive(const RtState *s) {
        uint64_t start;
        char st;
        if (s->pid <= 0 || rt_proc_start_time(s->pid, &start, &st) < 0)
                return false;
        return start == s->pid_start && st != 'Z' && st != 'X';
}

OciStatus rt_state_status(const RtState *s, const char *state_dir) {
        _cleanup_free_ char *fifo = NULL;
        _cleanup_(cg_manager_freep) CgManager *m = NULL;

        if (!rt_state_init_alive(s))
                return OCI_STATUS_STOPPED;
        fifo = path_join(state_dir, RT_FIFO_FILE);
        if (fifo && access(fifo, F_OK) == 0)
                return OCI_STATUS_CREATED;
        if (s->cgroup && cg_manager_load(s->cgroup, &m) >= 0 && cg_manager_is_frozen(m) > 0)
                return OCI_STATUS_PAUSED;
        return OCI_STATUS_RUNNING;
}

static void write_annotations(JsonWriter *w, const OciKeyValue *a, size_t n) {
        jw_object_open(w);
        for (size_t i = 0; i < n; i++) {
                jw_key(w, a[i].key);
                jw_string(w, a[i].value);
        }
        jw_object_close(w);
}

/* The fields of s that the state object and state.json share, in both in this order. */
static void write_bundle_fields(JsonWriter *w, const RtState *s) {
        jw_key(w, "bundle");
        jw_string(w, s->bundle);
        jw_key(w, "rootfs");
        jw_string(w, s->rootfs);
        jw_key(w, "created");
        jw_string(w, s->created);
        jw_key(w, "owner");
        jw_string(w, s->owner ?: "");
}

void rt_state_write_json(JsonWriter *w, const RtState *s, OciStatus status) {
        jw_object_open(w);
        jw_key(w, "ociVersion");
        jw_string(w, OCI_VERSION);
        jw_key(w, "id");
        jw_string(w, s->id);
        jw_key(w, "pid");
        jw_int(w, status == OCI_STATUS_STOPPED ? 0 : s->pid);
        jw_key(w, "status");
        jw_string(w, oci_status_to_string(status));
        write_bundle_fields(w, s);
        if (s->n_annotations > 0) {
                jw_key(w, "annotations");
                write_annotations(w, s->annotations, s->n_annotations);
        }
        jw_object_close(w);
}

int rt_state_json(const RtState *s, OciStatus status, bool pretty, char **ret) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        int r;

        r = json_writer_new(pretty, &w);
        if (r < 0)
                return r;
        rt_state_write_json(w, s, status);
        return json_writer_finish(w, ret, NULL);
}

int rt_state_save(const char *state_dir, const RtState *s) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *text = NULL, *path = NULL;
        size_t len;
        int r;

        r = json_writer_new(false, &w);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        jw_object_open(w);
        jw_key(w, "id");
        jw_string(w, s->id);
        jw_key(w, "pid");
        jw_int(w, s->pid);
        jw_key(w, "pidStart");
        jw_uint(w, s->pid_start);
        write_bundle_fields(w, s);
        if (s->cgroup) { /* none: rootless without a writable cgroup */
                jw_key(w, "cgroup");
                jw_string(w, s->cgroup);
        }
        jw_key(w, "systemdCgroup");
        jw_bool(w, s->systemd_cgroup);
        jw_key(w, "annotations");
        write_annotations(w, s->annotations, s->n_annotations);
        jw_object_close(w);
        r = json_writer_finish(w, &text, &len);
        if (r < 0)
                return log_error_errno(r, "Failed to serialise state: %m");
        path = path_join(state_dir, RT_STATE_FILE);
        if (!path)
                return log_error_errno(ENOMEM, "Out of memory");
        r = write_file_replace_at(AT_FDCWD, path, text, len, 0600);
        if (r < 0)
                return log_error_errno(r, "Failed to write '%s': %m", path);
        return 0;
}

static int state_parse(const char *text, size_t len, RtState **ret, char **err) {
        _cleanup_(json_freep) JsonVal v = NULL;
        _cleanup_(rt_state_freep) RtState *s = NULL;
        JsonVal a, cg;
        int64_t pid;
        int r;

        r = json_parse(text, len, &v, err);
        if (r < 0)
                return r;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        if ((r = json_want_string(json_get(v, "id"), "id", &s->id, err)) < 0 ||
            (r = json_want_int64(json_get(v, "pid"), "pid", 0, INT32_MAX, &pid, err)) < 0 ||
            (r = json_want_uint64(json_get(v, "pidStart"), "pidStart", UINT64_MAX, &s->pid_start, err)) < 0 ||
            (r = json_want_string(json_get(v, "bundle"), "bundle", &s->bundle, err)) < 0 ||
            (r = json_want_string(json_get(v, "rootfs"), "rootfs", &s->rootfs, err)) < 0 ||
            (r = json_want_string(json_get(v, "created"), "created", &s->created, err)) < 0 ||
            (r = json_want_string(json_get(v, "owner"), "owner", &s->owner, err)) < 0)
                return r;
        s->pid = (pid_t) pid;
        cg = json_get(v, "cgroup");
        /* Absent (or null, as earlier versions wrote it): the container has no cgroup (rootless). */
        if (cg && cg->type != yajl_t_null && (r = json_want_string(cg, "cgroup", &s->cgroup, err)) < 0)
                return r;
        if (json_get(v, "systemdCgroup"))
                (void) json_want_bool(json_get(v, "systemdCgroup"), "systemdCgroup", &s->systemd_cgroup, NULL);
        a = json_get(v, "annotations");
        if (a && a->type == yajl_t_object && a->u.object.len > 0) {
                s->annotations = calloc(a->u.object.len, sizeof(OciKeyValue));
                if (!s->annotations)
                        return -ENOMEM;
                for (size_t i = 0; i < a->u.object.len; i++) {
                        char p[JSON_PATH_MAX];
                        json_path_key(p, sizeof p, "annotations", a->u.object.keys[i]);
                        s->annotations[i].key = strdup(a->u.object.keys[i]);
                        if (!s->annotations[i].key)
                                return -ENOMEM;
                        s->n_annotations++;
                        r = json_want_string(a->u.object.values[i], p, &s->annotations[i].value, err);
                        if (r < 0)
                                return r;
                }
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int rt_state_load(const RtContext *ctx, const char *id, RtState **ret, char **ret_dir) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL, *err = NULL;
        _cleanup_(rt_state_freep) RtState *s = NULL;
        size_t len;
        int r;

        if (!rt_id_is_valid(id))
                return log_error_errno(SYNTHETIC_ERRNO(ENOENT), "container %s does not exist", id);
        r = rt_state_dir(ctx, id, &dir);
        if (r < 0)
                return r;
        path = path_join(dir, RT_STATE_FILE);
        if (!path)
                return log_error_errno(ENOMEM, "Out of memory");
        r = read_full_file_at(AT_FDCWD, path, 1024 * 1024, &text, &len);
        if (r == -ENOENT)
                return log_error_errno(SYNTHETIC_ERRNO(ENOENT), "container %s does not exist", id);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s': %m", path);
        r = state_parse(text, len, &s, &err);
        if (r < 0)
                return log_error_errno(r, "Corrupt state file '%s': %s", path, err ?: "out of memory");
        *ret = TAKE_PTR(s);
        if (ret_dir)
                *ret_dir = TAKE_PTR(dir);
        return 0;
}

int rt_state_load_status(const RtContext *ctx, const char *id, RtState **ret, char **ret_dir, OciStatus *ret_status) {
        _cleanup_(rt_state_freep) RtState *s = NULL;
        _cleanup_free_ char *dir = NULL;
        int r;

        r = rt_state_load(ctx, id, &s, &dir);
        if (r < 0)
                return r;
        *ret_status = rt_state_status(s, dir);
        *ret = TAKE_PTR(s);
        *ret_dir = TAKE_PTR(dir);
        return 0;
}

int rt_config_load_saved(const char *state_dir, OciConfig **ret) {
        _cleanup_free_ char *path = NULL, *text = NULL, *err = NULL;
        size_t len;
        int r;

        path = path_join(state_dir, RT_CONFIG_FILE);
        if (!path)
                return log_error_errno(ENOMEM, "Out of memory");
        r = read_full_file_at(AT_FDCWD, path, OCI_CONFIG_MAX_BYTES, &text, &len);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s': %m", path);
        r = oci_config_parse(text, len, ret, &err);
        if (r < 0)
                return log_error_errno(r, "Corrupt saved config '%s': %s", path, err ?: "out of memory");
        return 0;
}

int rt_write_pid_file(const char *path, pid_t pid) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%d", (int) pid);
        int r = write_file_replace_at(AT_FDCWD, path, buf, (size_t) n, 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write pid file '%s': %m", path);
        return 0;
}
