/* SPDX-License-Identifier: Apache-2.0 */
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "rt-criu-internal.h"

/*
 * checkpoint and restore (docs/criu.md), CRIU doing the work over its RPC
 * (rt-criu-swrk.c).
 *
 * checkpoint:
 *   1. the container must be running or paused; its saved config.json says
 *      which namespaces are new and which are joined by path;
 *   2. the plan: from the init's mountinfo, the mounts CRIU must take as
 *      external (config binds, the cgroup bound from the host, host device
 *      nodes); from its fds 0-2, what comes from outside (pipes, sockets,
 *      files, ttys of ours); external namespaces (net, pid by path);
 *   3. descriptors.json (runc's) and aula-criu.json (the plan) go into the
 *      image directory, then CRIU dumps, freezing through the cgroup;
 *   4. unless --leave-running, the container is then deleted.
 *
 * restore:
 *   1. checks before anything is made: a free id, a checkpoint made by us,
 *      a bundle, a terminal that has somewhere to go;
 *   2. the state directory (the id lock), config.json, the cgroup with the
 *      bundle's resources, the mount points, the rootfs bound at
 *      <state>/criu-root (CRIU wants a mount point as root);
 *   3. CRIU restores the tree as our child: external mounts re-bound from
 *      the bundle's sources and the new cgroup, our stdio in place of the
 *      outside fds, a new empty network namespace (loopback set up and the
 *      prestart/createRuntime hooks run at setup-namespaces) or the
 *      configured one, the new pty master to the console socket;
 *   4. state.json with the new pid; then, as `run`, detach or wait.
 * Each step of 2-4 is undone in reverse when a later one fails.
 */

#define DEFAULT_IMAGE_PATH "checkpoint"

static int no_criu(void) {
        return log_error_errno(
                        SYNTHETIC_ERRNO(EOPNOTSUPP),
                        "checkpoint/restore is not available: aula-runtime was built without CRIU support "
                        "(needs protobuf-c and CRIU's rpc.proto at build time)");
}

static const OciNamespace *find_ns(const OciConfig *c, OciNamespaceType t) {
        for (size_t i = 0; c->linux_cfg && i < c->linux_cfg->n_namespaces; i++)
                if (c->linux_cfg->namespaces[i].type == t)
                        return &c->linux_cfg->namespaces[i];
        return NULL;
}

static const char *annotation(const OciConfig *c, const char *key) {
        for (size_t i = 0; i < c->n_annotations; i++)
                if (streq(c->annotations[i].key, key))
                        return c->annotations[i].value;
        return NULL;
}

/* The annotation org.criu.config names a CRIU configuration file (as runc). */
static const char *criu_config_file(const OciConfig *c) {
        const char *f = annotation(c, "org.criu.config");
        return isempty(f) ? NULL : f;
}

/*
 * The message for a failed CRIU request: CRIU's own (a log line, whose
 * message part we keep), else its log's last error, else the errno.
 */
static char *criu_failure(const char *cr_error, int error, int dirfd, const char *log_file) {
        _cleanup_free_ char *text = NULL, *msg = NULL;
        char *full = NULL;

        if (!isempty(cr_error) && rt_criu_log_last_error(cr_error, &msg) < 0) {
                msg = strdup(cr_error);
                for (size_t n = msg ? strlen(msg) : 0; n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '); n--)
                        msg[n - 1] = 0;
        }
        if (!msg && read_full_file_at(dirfd, log_file, 16 * 1024 * 1024, &text, NULL) >= 0)
                (void) rt_criu_log_last_error(text, &msg);
        if (!msg)
                msg = strdup(strerror(ERRNO_VALUE(error)));
        if (!msg)
                return NULL;
        /* CRIU checks the size of regular files it reopens: say what that means for stdio. */
        if (strstr(msg, "has bad size") &&
            xasprintf(&full,
                      "%s; a file given as the container's stdio must have the size it had at checkpoint "
                      "time, unless it is opened for appending",
                      msg) >= 0)
                return full;
        return TAKE_PTR(msg);
}

/* Where CRIU's images are, and where its log and temporary files go (--work-path, else the images). */
typedef struct ImageDirs {
        char *image_path;
        const char *work_path;
        int image_fd, work_fd;
} ImageDirs;

#define IMAGE_DIRS_INIT(work) \
        { .work_path = (work), .image_fd = -EBADF, .work_fd = -EBADF }

static void image_dirs_done(ImageDirs *d) {
        free(d->image_path);
        safe_close(d->image_fd);
        safe_close(d->work_fd);
}

static int open_work_dir(ImageDirs *d) {
        int r;

        if (!d->work_path)
                return 0;
        r = mkdir_p(d->work_path, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create work directory '%s': %m", d->work_path);
        d->work_fd = open(d->work_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->work_fd < 0)
                return log_error_errno(errno, "Failed to open work directory '%s': %m", d->work_path);
        return 0;
}

/* Log a failed CRIU request (verb: "checkpoint", "restore"): why, and where CRIU's log_file is. */
static int log_criu_failure(
                int error,
                const char *verb,
                const char *id,
                const char *cr_error,
                const ImageDirs *d,
                const char *log_file) {
        const char *dir = d->work_path ?: d->image_path;
        _cleanup_free_ char *absdir = realpath(dir, NULL), *logp = NULL, *msg = NULL;

        logp = path_join(absdir ?: dir, log_file);
        msg = criu_failure(cr_error, error, d->work_fd >= 0 ? d->work_fd : d->image_fd, log_file);
        return log_error_errno(
                        error, "Failed to %s container %s: %s (log: %s)", verb, id, msg ?: "criu failed",
                        logp ?: log_file);
}

/* The directory CRIU freezes the container through: the freezer hierarchy (v1) or cgroup2. */
static char *freezer_dir(const char *cgroup) {
        CgLayout layout = CG_LAYOUT_LEGACY;
        char *p = NULL;

        (void) cg_layout(&layout);
        if (xasprintf(&p, "/sys/fs/cgroup%s%s", layout == CG_LAYOUT_UNIFIED ? "" : "/freezer", cgroup) < 0)
                return NULL;
        if (access(p, F_OK) < 0)
                return mfree(p); /* none: CRIU stops the tasks with ptrace instead */
        return p;
}

/* ------------------------------------------------------------- checkpoint */

typedef struct Checkpoint {
        const RtCheckpointOptions *o;
        RtState *state;
        char *dir;
        OciConfig *config;
        CgManager *cgroup;
        ImageDirs dirs;
        bool image_created;
        RtCriuMeta meta;
        char **descriptors; /* runc's descriptors.json: what fds 0-2 were */
        char **external;
        char **ext_mnt;
        uint32_t empty_ns;
} Checkpoint;

static void checkpoint_done(Checkpoint *c) {
        rt_state_free(c->state);
        free(c->dir);
        oci_config_free(c->config);
        cg_manager_free(c->cgroup);
        image_dirs_done(&c->dirs);
        rt_criu_meta_done(&c->meta);
        strv_free(c->descriptors);
        strv_free(c->external);
        strv_free(c->ext_mnt);
}

static int read_mountinfo(const char *path, RtMountInfo **ret, size_t *ret_n) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_full_file_at(AT_FDCWD, path, 16 * 1024 * 1024, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s': %m", path);
        r = rt_mountinfo_parse(text, ret, ret_n);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        return 0;
}

static int fd_mnt_id(pid_t pid, int fd, int *ret) {
        _cleanup_free_ char *text = NULL;
        char path[64];
        const char *p;
        int r;

        snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int) pid, fd);
        r = read_full_file_at(AT_FDCWD, path, 64 * 1024, &text, NULL);
        if (r < 0)
                return r;
        p = strstr(text, "mnt_id:");
        if (!p || sscanf(p + 7, "%d", ret) != 1)
                return -EBADMSG;
        return 0;
}

/* fds 0-2 of the init: which are external, and what restore plugs in for them. */
static int plan_stdio(Checkpoint *c, const RtMountInfo *ctr, size_t n_ctr) {
        pid_t pid = c->state->pid;
        int r;

        for (int fd = 0; fd < 3; fd++) {
                _cleanup_free_ char *ext = NULL, *key = NULL;
                char path[64], link[PATH_MAX] = "";
                RtFdInfo f = { .link = link };
                struct stat st;
                ssize_t n;

                snprintf(path, sizeof path, "/proc/%d/fd/%d", (int) pid, fd);
                n = readlink(path, link, sizeof link - 1);
                if (n >= 0)
                        link[n] = 0;
                r = strv_extend(&c->descriptors, link);
                if (r < 0)
                        return log_error_errno(r, "Out of memory");
                if (n < 0 || stat(path, &st) < 0 || fd_mnt_id(pid, fd, &f.mnt_id) < 0)
                        continue; /* closed: nothing to restore */
                f.mode = st.st_mode;
                f.dev = st.st_dev;
                f.rdev = st.st_rdev;
                f.ino = st.st_ino;
                for (size_t i = 0; i < n_ctr && !f.in_container; i++)
                        f.in_container = ctr[i].id == f.mnt_id;
                r = rt_criu_fd_keys(&f, &ext, &key);
                if (r < 0)
                        return log_error_errno(r, "Out of memory");
                if (ext && !strv_contains(c->external, ext) && strv_extend(&c->external, ext) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");
                c->meta.stdio[fd] = TAKE_PTR(key);
        }
        return 0;
}

static int plan_mounts(Checkpoint *c, const RtMountInfo *ctr, size_t n_ctr) {
        _cleanup_(rt_mountinfo_freep) RtMountInfoList host = {};
        int r;

        r = read_mountinfo("/proc/self/mountinfo", &host.l, &host.n);
        if (r < 0)
                return r;
        r = rt_criu_external_mounts(c->config, ctr, n_ctr, host.l, host.n, &c->meta.mounts, &c->meta.n_mounts);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        for (size_t i = 0; i < c->meta.n_mounts; i++) {
                const RtExtMount *e = &c->meta.mounts[i];
                log_debug("checkpoint: external mount %s (%s, from %s)", e->mountpoint,
                          rt_ext_mount_kind_to_string(e->kind), e->source ?: "?");
                /* CRIU's --ext-mount-map KEY:VAL on dump: VAL is our cookie, the mount point again. */
                if (strv_extend(&c->ext_mnt, e->mountpoint) < 0 || strv_extend(&c->ext_mnt, e->mountpoint) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");
        }
        return 0;
}

/* Namespaces joined by path are external for CRIU (net, pid), the restore gets them back by path. */
static int plan_namespaces(Checkpoint *c) {
        static const struct {
                OciNamespaceType type;
                const char *name, *key;
        } ext[] = {
                { OCI_NS_NETWORK, "net", RT_CRIU_NETNS_KEY },
                { OCI_NS_PID, "pid", RT_CRIU_PIDNS_KEY },
        };

        for (size_t i = 0; i < ELEMENTSOF(ext); i++) {
                const OciNamespace *ns = find_ns(c->config, ext[i].type);
                _cleanup_free_ char *v = NULL;
                struct stat st;

                if (!ns)
                        continue;
                if (!ns->path) {
                        if (ext[i].type == OCI_NS_NETWORK)
                                c->empty_ns |= CLONE_NEWNET; /* restored new and empty, as runc */
                        continue;
                }
                if (stat(ns->path, &st) < 0)
                        return log_error_errno(
                                        errno, "Failed to stat %s namespace '%s': %m", ext[i].name, ns->path);
                if (xasprintf(&v, "%s[%" PRIu64 "]:%s", ext[i].name, (uint64_t) st.st_ino, ext[i].key) < 0 ||
                    strv_push(&c->external, v) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");
                TAKE_PTR(v);
                if (ext[i].type == OCI_NS_NETWORK)
                        c->meta.external_netns = true;
                else
                        c->meta.external_pidns = true;
        }
        return 0;
}

static int open_dirs(Checkpoint *c) {
        const char *img = c->o->image_path ?: DEFAULT_IMAGE_PATH;

        c->dirs.image_path = strdup(img);
        if (!c->dirs.image_path)
                return log_error_errno(ENOMEM, "Out of memory");
        if (mkdir(img, 0700) >= 0)
                c->image_created = true;
        else if (errno != EEXIST)
                return log_error_errno(errno, "Failed to create image directory '%s': %m", img);
        c->dirs.image_fd = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->dirs.image_fd < 0)
                return log_error_errno(errno, "Failed to open image directory '%s': %m", img);
        return open_work_dir(&c->dirs);
}

static int write_image_files(Checkpoint *c) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *meta = NULL, *desc = NULL;
        size_t len = 0;
        int r;

        r = rt_criu_meta_format(&c->meta, &meta);
        if (r >= 0)
                r = json_writer_new(false, &w);
        if (r >= 0) {
                jw_strv(w, c->descriptors);
                r = json_writer_finish(w, &desc, &len);
        }
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        r = write_file_atomic_at(c->dirs.image_fd, RT_CRIU_DESCRIPTORS_FILE, desc, len, 0600);
        if (r >= 0)
                r = write_file_atomic_at(c->dirs.image_fd, RT_CRIU_META_FILE, meta, strlen(meta), 0600);
        if (r < 0)
                return log_error_errno(r, "Failed to write into image directory '%s': %m", c->dirs.image_path);
        return 0;
}

static void remove_image(Checkpoint *c) {
        if (c->image_created) {
                (void) rm_rf_at(AT_FDCWD, c->dirs.image_path);
                return;
        }
        (void) unlinkat(c->dirs.image_fd, RT_CRIU_META_FILE, 0);
        (void) unlinkat(c->dirs.image_fd, RT_CRIU_DESCRIPTORS_FILE, 0);
        (void) unlinkat(c->dirs.image_fd, "inventory.img", 0);
}

static int checkpoint_prepare(const RtContext *ctx, Checkpoint *c) {
        _cleanup_(rt_mountinfo_freep) RtMountInfoList ctr = {};
        char path[64];
        OciStatus st;
        int r;

        r = rt_state_load_status(ctx, c->o->id, &c->state, &c->dir, &st);
        if (r < 0)
                return r;
        if (st != OCI_STATUS_RUNNING && st != OCI_STATUS_PAUSED)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "cannot checkpoint container %s: it is %s, not running", c->o->id,
                                oci_status_to_string(st));
        if (!HAVE_CRIU_RPC)
                return no_criu();
        r = rt_config_load_saved(c->dir, &c->config);
        if (r < 0)
                return r;
        if (c->state->cgroup) {
                r = cg_manager_load(c->state->cgroup, &c->cgroup);
                if (r < 0)
                        return log_error_errno(r, "Corrupt cgroup record of container %s: %m", c->o->id);
                c->meta.cgroup = strdup(cg_manager_path(c->cgroup));
                if (!c->meta.cgroup)
                        return log_error_errno(ENOMEM, "Out of memory");
        }
        c->meta.id = strdup(c->o->id);
        if (!c->meta.id)
                return log_error_errno(ENOMEM, "Out of memory");
        c->meta.terminal = c->config->process && c->config->process->terminal;
        snprintf(path, sizeof path, "/proc/%d/mountinfo", (int) c->state->pid);
        r = read_mountinfo(path, &ctr.l, &ctr.n);
        if (r < 0)
                return r;
        r = plan_stdio(c, ctr.l, ctr.n);
        if (r < 0)
                return r;
        r = plan_mounts(c, ctr.l, ctr.n);
        if (r < 0)
                return r;
        return plan_namespaces(c);
}

int rt_checkpoint(const RtContext *ctx, const RtCheckpointOptions *o) {
        _cleanup_(checkpoint_done) Checkpoint c = { .o = o, .dirs = IMAGE_DIRS_INIT(o->work_path) };
        _cleanup_free_ char *freeze = NULL, *cr_error = NULL;
        RtCriuRequest req;
        int r;

        r = checkpoint_prepare(ctx, &c);
        if (r < 0)
                return r;
        r = open_dirs(&c);
        if (r < 0)
                goto err_image;
        r = write_image_files(&c);
        if (r < 0)
                goto err_image;
        freeze = c.meta.cgroup ? freezer_dir(c.meta.cgroup) : NULL;
        req = (RtCriuRequest){
                .images_dir_fd = c.dirs.image_fd,
                .work_dir_fd = c.dirs.work_fd,
                .log_file = "dump.log",
                .root = c.state->rootfs,
                .pid = c.state->pid,
                .leave_running = o->leave_running,
                .tcp_established = o->tcp_established,
                .ext_unix_sk = o->ext_unix_sk,
                .shell_job = o->shell_job,
                .file_locks = o->file_locks,
                .cgroup_mode = o->cgroup_mode,
                .freeze_cgroup = freeze,
                .external = c.external,
                .ext_mnt = c.ext_mnt,
                .empty_ns = c.empty_ns,
                .config_file = criu_config_file(c.config),
        };
        r = rt_criu_swrk(&req, NULL, &cr_error);
        if (r < 0) {
                log_criu_failure(r, "checkpoint", o->id, cr_error, &c.dirs, "dump.log");
                goto err_image;
        }
        if (o->leave_running)
                return 0;
        /* CRIU killed the tasks; what is left is what delete removes. */
        return rt_delete(ctx, o->id, true);

err_image:
        if (c.image_created || c.dirs.image_fd >= 0)
                remove_image(&c);
        return r;
}

/* ---------------------------------------------------------------- restore */

typedef struct Restore {
        const RtContext *ctx;
        const RtRestoreOptions *o;
        RtBundle b;
        char *state_dir, *criu_root;
        bool criu_root_mounted;
        CgManager *cgroup;
        char *cgroup_path;
        ImageDirs dirs;
        RtCriuMeta meta;
        bool new_netns;
        int master; /* the new pty master, kept for a foreground restore */
        int ns_fds[2]; /* external net, pid */
        char **ext_mnt, **join_ns;
        pid_t pid;
} Restore;

static void restore_done(Restore *rs) {
        rt_bundle_done(&rs->b);
        free(rs->state_dir);
        free(rs->criu_root);
        cg_manager_free(rs->cgroup);
        free(rs->cgroup_path);
        image_dirs_done(&rs->dirs);
        rt_criu_meta_done(&rs->meta);
        safe_close(rs->master);
        safe_close(rs->ns_fds[0]);
        safe_close(rs->ns_fds[1]);
        strv_free(rs->ext_mnt);
        strv_free(rs->join_ns);
}

/* The image directory: a checkpoint, taken by aula-runtime. */
static int open_image(Restore *rs) {
        const char *img = rs->o->image_path ?: DEFAULT_IMAGE_PATH;
        _cleanup_free_ char *text = NULL, *err = NULL;
        size_t len;
        int r;

        rs->dirs.image_path = strdup(img);
        if (!rs->dirs.image_path)
                return log_error_errno(ENOMEM, "Out of memory");
        rs->dirs.image_fd = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rs->dirs.image_fd < 0) {
                if (errno == ENOENT)
                        return log_error_errno(errno, "checkpoint image directory '%s' does not exist", img);
                return log_error_errno(errno, "Failed to open checkpoint image directory '%s': %m", img);
        }
        if (faccessat(rs->dirs.image_fd, "inventory.img", F_OK, 0) < 0)
                return log_error_errno(
                                SYNTHETIC_ERRNO(ENOENT), "'%s' holds no checkpoint (no inventory.img)", img);
        r = read_full_file_at(rs->dirs.image_fd, RT_CRIU_META_FILE, 4 * 1024 * 1024, &text, &len);
        if (r == -ENOENT)
                return log_error_errno(
                                SYNTHETIC_ERRNO(ENOENT),
                                "'%s' was not checkpointed by aula-runtime (no " RT_CRIU_META_FILE ")", img);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s/" RT_CRIU_META_FILE "': %m", img);
        r = rt_criu_meta_parse(text, len, &rs->meta, &err);
        if (r < 0)
                return log_error_errno(
                                r, "Corrupt checkpoint '%s/" RT_CRIU_META_FILE "': %s", img,
                                err ?: strerror(-r));
        return open_work_dir(&rs->dirs);
}

/* Everything that can be refused before anything is created. */
static int restore_check(Restore *rs) {
        const OciNamespace *net, *pid;
        int r;

        r = open_image(rs);
        if (r < 0)
                return r;
        r = rt_bundle_load(rs->o->bundle, &rs->b);
        if (r < 0)
                return r;
        if (rs->meta.terminal && rs->o->detach && !rs->o->console_socket && !rs->o->ret_pty_master)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "the checkpointed container has a terminal: restoring it detached "
                                "needs --console-socket");
        net = find_ns(rs->b.config, OCI_NS_NETWORK);
        pid = find_ns(rs->b.config, OCI_NS_PID);
        if (rs->meta.external_netns != (net && net->path))
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "the checkpoint was taken %s a network namespace given by path, but "
                                "config.json %s one",
                                rs->meta.external_netns ? "in" : "without",
                                rs->meta.external_netns ? "names no" : "names");
        if (rs->meta.external_pidns != (pid && pid->path))
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "the checkpoint was taken %s a pid namespace given by path, but "
                                "config.json %s one",
                                rs->meta.external_pidns ? "in" : "without",
                                rs->meta.external_pidns ? "names no" : "names");
        rs->new_netns = net && !net->path;
        for (size_t i = 0; rs->b.config->linux_cfg && i < rs->b.config->linux_cfg->n_namespaces; i++) {
                const OciNamespace *ns = &rs->b.config->linux_cfg->namespaces[i];
                if (ns->path &&
                    (ns->type == OCI_NS_MOUNT || ns->type == OCI_NS_CGROUP || ns->type == OCI_NS_TIME))
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EOPNOTSUPP),
                                        "restore into an existing %s namespace (%s) is not supported",
                                        oci_namespace_type_to_string(ns->type), ns->path);
        }
        return 0;
}

/* The mount points of config.json, where create made them: a fresh copy of the rootfs may lack them. */
static int make_mount_points(Restore *rs) {
        _cleanup_close_ int rootfd = open(rs->b.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (rootfd < 0)
                return log_error_errno(errno, "Failed to open rootfs '%s': %m", rs->b.rootfs);
        for (size_t i = 0; i < rs->b.config->n_mounts; i++) {
                const OciMount *m = &rs->b.config->mounts[i];
                _cleanup_free_ char *src = NULL;
                _cleanup_close_ int fd = -EBADF;
                bool is_dir = true;
                struct stat st;
                int r;

                if (!rt_criu_mount_needs_point(rs->b.config, i))
                        continue;
                if (m->source &&
                    (streq_ptr(m->type, "bind") || strv_contains(m->options, "bind") ||
                     strv_contains(m->options, "rbind"))) {
                        src = m->source[0] == '/' ? strdup(m->source) : path_join(rs->b.path, m->source);
                        if (!src)
                                return log_error_errno(ENOMEM, "Out of memory");
                        is_dir = stat(src, &st) < 0 || S_ISDIR(st.st_mode);
                }
                r = rt_open_in_root(rootfd, m->destination, true, is_dir, &fd);
                if (r < 0)
                        return log_error_errno(
                                        r, "Failed to create mount point %s in '%s': %m", m->destination,
                                        rs->b.rootfs);
        }
        return 0;
}

/* CRIU wants its root to be a mount point whose parent is not overmounted: bind the rootfs. */
static int mount_criu_root(Restore *rs) {
        rs->criu_root = path_join(rs->state_dir, "criu-root");
        if (!rs->criu_root)
                return log_error_errno(ENOMEM, "Out of memory");
        if (mkdir(rs->criu_root, 0755) < 0)
                return log_error_errno(errno, "Failed to create '%s': %m", rs->criu_root);
        if (mount(rs->b.rootfs, rs->criu_root, NULL, MS_BIND | MS_REC, NULL) < 0)
                return log_error_errno(errno, "Failed to bind '%s' to '%s': %m", rs->b.rootfs, rs->criu_root);
        rs->criu_root_mounted = true;
        return 0;
}

static void umount_criu_root(Restore *rs) {
        if (rs->criu_root_mounted && umount2(rs->criu_root, MNT_DETACH) < 0)
                log_warning_errno(errno, "Failed to unmount '%s': %m", rs->criu_root);
        rs->criu_root_mounted = false;
        if (rs->criu_root)
                (void) rmdir(rs->criu_root);
}

/* External mounts: where each comes from now. Joined namespaces: CRIU's join_ns. */
static int plan_restore(Restore *rs, RtCriuInherit *inh, size_t *n_inh) {
        static const struct {
                OciNamespaceType type;
                const char *criu;
        } joins[] = { { OCI_NS_IPC, "ipc" }, { OCI_NS_UTS, "uts" }, { OCI_NS_USER, "user" } };
        const OciNamespace *net = find_ns(rs->b.config, OCI_NS_NETWORK),
                           *pid = find_ns(rs->b.config, OCI_NS_PID);
        int r;

        for (size_t i = 0; i < rs->meta.n_mounts; i++) {
                const RtExtMount *e = &rs->meta.mounts[i];
                _cleanup_free_ char *src = NULL;

                r = rt_criu_ext_mount_source(
                                e, rs->b.config, rs->b.path, rs->meta.cgroup, rs->cgroup_path, &src);
                if (r == -ENOENT)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(ENOENT),
                                        "the checkpoint has a bind mount at %s, but config.json does not "
                                        "say where it comes from",
                                        e->mountpoint);
                if (r < 0)
                        return log_error_errno(r, "Out of memory");
                log_debug("restore: external mount %s from %s", e->mountpoint, src);
                if (strv_extend(&rs->ext_mnt, e->mountpoint) < 0 || strv_push(&rs->ext_mnt, src) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");
                TAKE_PTR(src);
        }
        for (size_t i = 0; i < ELEMENTSOF(joins); i++) {
                const OciNamespace *ns = find_ns(rs->b.config, joins[i].type);
                if (ns && ns->path &&
                    (strv_extend(&rs->join_ns, joins[i].criu) < 0 || strv_extend(&rs->join_ns, ns->path) < 0))
                        return log_error_errno(ENOMEM, "Out of memory");
        }
        for (int fd = 0; fd < 3; fd++) {
                static const char *const names[] = { "stdin", "stdout", "stderr" };
                int ours = rs->o->stdio ? rs->o->stdio[fd] : fd;
                const char *key = rs->meta.stdio[fd];
                struct stat st;

                if (!key)
                        continue;
                if (ours < 0 || fstat(ours, &st) < 0)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EBADF),
                                        "the checkpointed container's %s came from outside, but ours is "
                                        "closed",
                                        names[fd]);
                /* CRIU plugs ours in where its file was: it must be the same kind of file. */
                if (!rt_criu_key_accepts(key, st.st_mode, isatty(ours)))
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL),
                                        "the checkpointed container's %s was %s (%s), ours is %s: give "
                                        "restore the same kind of %s",
                                        names[fd], rt_criu_key_kind(key) ?: "unknown", key,
                                        rt_criu_mode_kind(st.st_mode, isatty(ours)), names[fd]);
                inh[(*n_inh)++] = (RtCriuInherit){ .fd = ours, .key = key };
        }
        if (net && net->path) {
                rs->ns_fds[0] = open(net->path, O_RDONLY | O_CLOEXEC);
                if (rs->ns_fds[0] < 0)
                        return log_error_errno(errno, "Failed to open network namespace '%s': %m", net->path);
                inh[(*n_inh)++] = (RtCriuInherit){ .fd = rs->ns_fds[0], .key = RT_CRIU_NETNS_KEY };
        }
        if (pid && pid->path) {
                rs->ns_fds[1] = open(pid->path, O_RDONLY | O_CLOEXEC);
                if (rs->ns_fds[1] < 0)
                        return log_error_errno(errno, "Failed to open pid namespace '%s': %m", pid->path);
                inh[(*n_inh)++] = (RtCriuInherit){ .fd = rs->ns_fds[1], .key = RT_CRIU_PIDNS_KEY };
        }
        return 0;
}

/*
 * A new network namespace is restored empty: bring its loopback up, as in a
 * namespace made at create time. A child does it, so that we never leave our
 * own network namespace (we may be a thread of the shim).
 */
static int loopback_up(pid_t pid) {
        _cleanup_close_ int target = -EBADF;
        char path[64];
        pid_t child;
        int st;

        snprintf(path, sizeof path, "/proc/%d/ns/net", (int) pid);
        target = open(path, O_RDONLY | O_CLOEXEC);
        if (target < 0)
                return log_error_errno(errno, "Failed to open network namespace of %d: %m", (int) pid);
        child = fork();
        if (child < 0)
                return log_error_errno(errno, "Failed to fork: %m");
        if (child == 0) {
                struct ifreq ifr = { .ifr_name = "lo" };
                int sock;

                if (setns(target, CLONE_NEWNET) < 0)
                        _exit(1);
                sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
                        _exit(2);
                ifr.ifr_flags |= IFF_UP;
                _exit(ioctl(sock, SIOCSIFFLAGS, &ifr) < 0 ? 3 : 0);
        }
        st = wait_for_pid(child);
        if (st != 0)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EIO),
                                "Failed to bring up loopback of the restored container (%s)",
                                st == 1                   ? "setns"
                                                : st == 2 ? "no lo"
                                                          : "SIOCSIFFLAGS");
        return 0;
}

static int restore_notify(const char *script, pid_t pid, int fd, void *userdata) {
        Restore *rs = userdata;
        int r;

        if (streq_ptr(script, "setup-namespaces") && pid > 0) {
                if (rs->new_netns) {
                        r = loopback_up(pid);
                        if (r < 0)
                                return r;
                }
                return rt_hooks_run_create(rs->b.config, rs->o->id, pid, rs->b.path);
        }
        if (streq_ptr(script, "orphan-pts-master")) {
                if (fd < 0)
                        return log_error_errno(SYNTHETIC_ERRNO(EBADMSG), "criu sent no pty master");
                if (rs->o->console_socket)
                        return rt_console_send(rs->o->console_socket, fd);
                rs->master = safe_close(rs->master);
                rs->master = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (rs->master < 0)
                        return log_error_errno(errno, "Failed to keep the pty master: %m");
                return 0;
        }
        if (streq_ptr(script, "post-restore") && pid > 0)
                rs->pid = pid;
        return 0;
}

static int run_criu(Restore *rs) {
        _cleanup_free_ char *cr_error = NULL;
        RtCriuInherit inh[8];
        size_t n_inh = 0;
        RtCriuRequest req;
        pid_t pid = 0;
        int r;

        r = plan_restore(rs, inh, &n_inh);
        if (r < 0)
                return r;
        req = (RtCriuRequest){
                .restore = true,
                .images_dir_fd = rs->dirs.image_fd,
                .work_dir_fd = rs->dirs.work_fd,
                .log_file = "restore.log",
                .root = rs->criu_root,
                .tcp_established = rs->o->tcp_established,
                .ext_unix_sk = rs->o->ext_unix_sk,
                .shell_job = rs->o->shell_job,
                .file_locks = rs->o->file_locks,
                .cgroup_mode = rs->o->cgroup_mode,
                .cgroup_root = rs->o->cgroup_mode == RT_CGROUP_MODE_IGNORE ? NULL : rs->cgroup_path,
                .ext_mnt = rs->ext_mnt,
                .join_ns = rs->join_ns,
                .inherit = inh,
                .n_inherit = n_inh,
                .empty_ns = rs->new_netns ? CLONE_NEWNET : 0,
                .config_file = criu_config_file(rs->b.config),
                .cgroup = rs->cgroup,
                .notify = restore_notify,
                .userdata = rs,
        };
        r = rt_criu_swrk(&req, &pid, &cr_error);
        if (r < 0)
                return log_criu_failure(r, "restore", rs->o->id, cr_error, &rs->dirs, "restore.log");
        rs->pid = pid;
        return 0;
}

static int save_state(Restore *rs) {
        RtState s = {
                .id = (char *) rs->o->id,
                .pid = rs->pid,
                .bundle = rs->b.path,
                .rootfs = rs->b.rootfs,
                .annotations = rs->b.config->annotations,
                .n_annotations = rs->b.config->n_annotations,
                .systemd_cgroup = rs->ctx->systemd_cgroup,
        };
        int r;

        r = rt_state_save_new(rs->state_dir, &s, rs->cgroup);
        if (r >= 0 && rs->o->pid_file)
                r = rt_write_pid_file(rs->o->pid_file, rs->pid);
        return r;
}

/* The restored process runs: detach, or wait for it as `run` does and remove the container. */
static int restore_finish(Restore *rs) {
        int status;

        if (rs->o->ret_pid)
                *rs->o->ret_pid = rs->pid;
        if (rs->o->detach) {
                if (rs->o->ret_pty_master && rs->master >= 0)
                        *rs->o->ret_pty_master = TAKE_FD(rs->master);
                return 0;
        }
        status = rt_foreground(rs->pid, TAKE_FD(rs->master));
        rt_container_remove_exited(rs->ctx, rs->o->id, NULL);
        return status;
}

int rt_restore(const RtContext *ctx, const RtRestoreOptions *o) {
        _cleanup_(restore_done) Restore rs = {
                .ctx = ctx,
                .o = o,
                .dirs = IMAGE_DIRS_INIT(o->work_path),
                .master = -EBADF,
                .ns_fds = { -EBADF, -EBADF },
        };
        int r;

        r = rt_state_dir(ctx, o->id, &rs.state_dir);
        if (r < 0)
                return r;
        if (access(rs.state_dir, F_OK) >= 0)
                return log_error_errno(SYNTHETIC_ERRNO(EEXIST), "container with id %s already exists", o->id);
        r = restore_check(&rs);
        if (r < 0)
                return r;
        if (!HAVE_CRIU_RPC)
                return no_criu();
        r = rt_state_dir_create(ctx, o->id, rs.state_dir, rs.b.config_text, rs.b.config_len);
        if (r < 0)
                return r;
        r = rt_cgroup_setup(
                        rs.b.config, o->id, /* rootless= */ false, /* apply= */ true, &rs.cgroup,
                        &rs.cgroup_path);
        if (r < 0)
                goto err_state;
        r = make_mount_points(&rs);
        if (r < 0)
                goto err_cgroup;
        r = mount_criu_root(&rs);
        if (r < 0)
                goto err_mount;
        if (!o->detach && !o->no_subreaper)
                (void) prctl(PR_SET_CHILD_SUBREAPER, 1);
        r = run_criu(&rs);
        if (r < 0)
                goto err_mount;
        umount_criu_root(&rs);
        r = save_state(&rs);
        if (r < 0)
                goto err_init;
        return restore_finish(&rs);

err_init:
        if (rs.cgroup)
                (void) cg_manager_kill(rs.cgroup, SIGKILL);
        (void) kill(rs.pid, SIGKILL);
        (void) wait_for_pid(rs.pid);
err_mount:
        umount_criu_root(&rs);
err_cgroup:
        if (rs.cgroup)
                (void) cg_manager_destroy(rs.cgroup, 5 * 1000000);
err_state:
        (void) rm_rf_at(AT_FDCWD, rs.state_dir);
        return r;
}
