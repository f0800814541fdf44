/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "netns.h"
#include "oci.h"
#include "shim-lib.h"

/*
 * Starting an instance, from the client's side (docs/shim-protocol.md):
 *
 *   1. run directory RUN/instances/NAME, with root/upper and root/work as
 *      symlinks to the instance's persistent DATA/instances/NAME/{upper,work};
 *   2. the instance root: an overlay of the image's shared squashfs layers
 *      with that upper directory (libaula-images), at root/rootfs;
 *   3. the OCI bundle: config.json generated from the image config
 *      (libaula-images), then adjusted: cgroup, writable root, capabilities,
 *      hostname, the lab's /etc/hosts and /etc/resolv.conf;
 *   4. run.json for the shim, and the shim itself;
 *   5. (labs) on "created", the network: a veth into the container's network
 *      namespace (libaula-netns), then "start".
 *
 * The upper directory is reached through symlinks because the instance root
 * of libaula-images is per run: destroying it removes root/upper and
 * root/work, which are then only links (rm_rf never follows them), while the
 * student's files stay in DATA.
 */

/* podman's default set: what root in a class container needs (packages, users, chown). */
static const char *const default_caps[] = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE",     "CAP_FOWNER",     "CAP_FSETID",
        "CAP_KILL",    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP",    "CAP_SETGID",
        "CAP_SETPCAP", "CAP_SETUID",           "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE",
        "CAP_NET_RAW",
};

static int add_bind(OciConfig *cfg, const char *dst, const char *src) {
        OciMount *m = realloc(cfg->mounts, (cfg->n_mounts + 1) * sizeof *m);
        char **opts = NULL;

        if (!m)
                return -ENOMEM;
        cfg->mounts = m;
        m = &cfg->mounts[cfg->n_mounts];
        *m = (OciMount){};
        if (strv_extend(&opts, "bind") < 0 || strv_extend(&opts, "nosuid") < 0 ||
            strv_extend(&opts, "nodev") < 0) {
                strv_free(opts);
                return -ENOMEM;
        }
        m->destination = strdup(dst);
        m->source = strdup(src);
        m->type = strdup("bind");
        m->options = opts;
        cfg->n_mounts++;
        if (!m->destination || !m->source || !m->type)
                return -ENOMEM;
        return 0;
}

static int add_annotation(OciConfig *cfg, const char *key, const char *value) {
        OciKeyValue *a = realloc(cfg->annotations, (cfg->n_annotations + 1) * sizeof *a);

        if (!a)
                return -ENOMEM;
        cfg->annotations = a;
        a = &cfg->annotations[cfg->n_annotations++];
        a->key = strdup(key);
        a->value = strdup(value);
        return a->key && a->value ? 0 : -ENOMEM;
}

/*
 * The instance's config.json: the image's config as libaula-images generates
 * it (text), adjusted: root, hostname, cgroup, writable root, capabilities, the
 * lab's network files, an annotation naming the instance. *ret_stop_signal gets
 * the image's StopSignal (or NULL).
 */
static int write_config(
                ShimContext *c,
                const ShimDef *d,
                const char *generated,
                const char *run_dir,
                const char *rootfs,
                char **ret_stop_signal) {
        _cleanup_free_ char *path = path_join(run_dir, "config.json"), *err = NULL, *out = NULL,
                            *cg = shim_cgroup_path(c, d->name), *hosts = NULL, *resolv = NULL;
        _cleanup_(oci_config_freep) OciConfig *cfg = NULL;
        const char *stop;
        uint64_t caps = 0;
        int r;

        if (!path || !cg)
                return -ENOMEM;
        r = oci_config_parse(generated, strlen(generated), &cfg, &err);
        if (r < 0)
                return log_error_errno(
                                r, "The generated config of %s is invalid: %s", d->name, err ?: strerror(-r));
        if (!cfg->linux_cfg || !cfg->process)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL), "The generated config of %s has no linux/process",
                                d->name);
        free(cfg->root_path);
        cfg->root_path = strdup(rootfs);
        free(cfg->hostname);
        cfg->hostname = strdup(d->student ?: d->name);
        if (!cfg->root_path || !cfg->hostname)
                return -ENOMEM;
        free(cfg->linux_cfg->cgroups_path);
        cfg->linux_cfg->cgroups_path = TAKE_PTR(cg);
        cfg->root_readonly = false;
        for (size_t i = 0; i < ELEMENTSOF(default_caps); i++) {
                int n = oci_capability_from_string(default_caps[i]);
                if (n >= 0)
                        caps |= UINT64_C(1) << n;
        }
        OciCapabilities *pc = &cfg->process->capabilities;
        pc->bounding = pc->effective = pc->permitted = caps;
        pc->has_bounding = pc->has_effective = pc->has_permitted = true;
        if (d->lab) {
                hosts = path_join(run_dir, "hosts");
                resolv = path_join(run_dir, "resolv.conf");
                if (!hosts || !resolv || add_bind(cfg, "/etc/hosts", hosts) < 0 ||
                    add_bind(cfg, "/etc/resolv.conf", resolv) < 0)
                        return -ENOMEM;
        }
        if (add_annotation(cfg, "org.aula.instance", d->name) < 0)
                return -ENOMEM;
        stop = oci_config_annotation(cfg, "org.opencontainers.image.stopSignal");
        if (stop && signal_from_string(stop) > 0) {
                *ret_stop_signal = strdup(stop);
                if (!*ret_stop_signal)
                        return -ENOMEM;
        }
        r = oci_config_emit(cfg, false, &out);
        if (r < 0)
                return log_error_errno(r, "Cannot write the bundle of %s: %m", d->name);
        r = write_file_atomic_at(AT_FDCWD, path, out, strlen(out), 0600);
        if (r < 0)
                return log_error_errno(r, "Cannot write '%s': %m", path);
        return 0;
}

static int bundle_options(const ShimDef *d, ImgBundleOptions *o) {
        *o = (ImgBundleOptions){
                .args = d->cmd,
                .env = d->env,
                .hostname = d->student ?: d->name,
                .terminal = true,
                .memory_limit = (int64_t) d->limits.memory,
                .pids_limit = (int64_t) d->limits.pids,
                .cpu_quota = d->limits.cpus_milli * 100, /* per 100 ms period */
        };
        return 0;
}

/* What makes two instances' generated configs equal: image and the options given to the generator. */
static char *template_key(const ShimDef *d) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        char *text = NULL;
        size_t len;

        if (json_writer_new(false, &w) < 0)
                return NULL;
        jw_array_open(w);
        jw_string(w, d->image_digest);
        jw_strv(w, d->cmd);
        jw_strv(w, d->env);
        jw_uint(w, d->limits.cpus_milli);
        jw_uint(w, d->limits.memory);
        jw_uint(w, d->limits.pids);
        jw_array_close(w);
        return json_writer_finish(w, &text, &len) < 0 ? NULL : text;
}

/*
 * Generating a config from the image (its config blob, the user looked up in
 * the image's /etc/passwd) is the same for every student of a lab: do it once
 * per image and options, then only adjust per instance.
 */
static int generated_config(
                ShimContext *c,
                ImgStore *store,
                const ShimDef *d,
                const char *rootfs,
                const char *run_dir,
                const char **ret) {
        _cleanup_free_ char *key = template_key(d), *msg = NULL, *path = NULL, *text = NULL;
        ImgBundleOptions bo;
        size_t len;
        int r;

        if (!key)
                return log_error_errno(ENOMEM, "Out of memory");
        if (c->template_key && streq(c->template_key, key)) {
                *ret = c->template;
                return 0;
        }
        bundle_options(d, &bo);
        r = img_bundle_generate(store, d->image_digest, rootfs, &bo, run_dir, &msg);
        if (r < 0)
                return log_error_errno(r, "%s: cannot generate the bundle: %s", d->name, msg ?: strerror(-r));
        path = path_join(run_dir, "config.json");
        if (!path)
                return log_error_errno(ENOMEM, "Out of memory");
        r = read_full_file_at(AT_FDCWD, path, OCI_CONFIG_MAX_BYTES, &text, &len);
        if (r < 0)
                return log_error_errno(r, "Cannot read '%s': %m", path);
        free(c->template_key);
        free(c->template);
        c->template_key = TAKE_PTR(key);
        c->template = TAKE_PTR(text);
        *ret = c->template;
        return 0;
}

void shim_jw_reap(JsonWriter *w, const ShimContext *c, const char *name) {
        jw_key(w, "reap");
        jw_array_open(w);
        jw_string(w, c->self_path);
        jw_string(w, "--root");
        jw_string(w, c->root);
        jw_string(w, "_reap");
        jw_string(w, "--run-dir");
        jw_string(w, c->run);
        jw_string(w, name);
        jw_array_close(w);
}

static int write_run_json(
                ShimContext *c,
                const ShimDef *d,
                const char *run_dir,
                const char *stop_signal,
                const char *restore,
                bool start) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *data = shim_data_dir(c, d->name), *rt = path_join(run_dir, "rt"),
                            *cg = shim_cgroup_path(c, d->name), *text = NULL,
                            *path = path_join(run_dir, SHIM_RUN_CONFIG), *id = strdup(d->name);
        size_t len;
        int r;

        if (!data || !rt || !cg || !path || !id || json_writer_new(true, &w) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        for (char *p = id; *p; p++)
                if (*p == '/')
                        *p = '.';
        jw_object_open(w);
        jw_key(w, "name");
        jw_string(w, d->name);
        jw_key(w, "isolation");
        jw_string(w, shim_isolation_to_string(d->isolation));
        jw_key(w, "data_dir");
        jw_string(w, data);
        jw_key(w, "start");
        jw_bool(w, start);
        jw_key(w, "stop_signal");
        jw_string(w, stop_signal ?: "SIGTERM");
        jw_key(w, "stop_timeout_ms");
        jw_uint(w, SHIM_DEFAULT_STOP_USEC / 1000);
        jw_key(w, "log_max");
        jw_uint(w, 1 << 20);
        shim_jw_reap(w, c, d->name);
        jw_key(w, "container");
        jw_object_open(w);
        jw_key(w, "id");
        jw_string(w, id);
        jw_key(w, "bundle");
        jw_string(w, run_dir);
        jw_key(w, "state_root");
        jw_string(w, rt);
        jw_key(w, "cgroup");
        jw_string(w, cg);
        jw_key(w, "restore");
        jw_string(w, restore);
        jw_object_close(w);
        jw_object_close(w);
        r = json_writer_finish(w, &text, &len);
        if (r >= 0)
                r = write_file_atomic_at(AT_FDCWD, path, text, len, 0600);
        if (r < 0)
                return log_error_errno(r, "Cannot write '%s': %m", path);
        return 0;
}

static int link_layer_dir(const char *data_dir, const char *root_dir, const char *name, mode_t mode) {
        _cleanup_free_ char *target = path_join(data_dir, name), *link = path_join(root_dir, name);

        if (!target || !link)
                return -ENOMEM;
        if (mkdir(target, mode) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Cannot create '%s': %m", target);
        (void) unlink(link);
        if (symlink(target, link) < 0)
                return log_error_errno(errno, "Cannot link '%s': %m", link);
        return 0;
}

static int spawn_shim(ShimContext *c, const char *run_dir, int *ret_fd, pid_t *ret_pid) {
        _cleanup_close_ int mine = -EBADF, theirs = -EBADF;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, dfl;
        char *argv[] = { (char *) "aula-shim", (char *) run_dir, NULL };
        _cleanup_strv_free_ char **envp = NULL;
        int pair[2], r;
        pid_t pid;

        /* A clean environment: PATH, and aula's own settings (AULA_CRIU, AULA_CGROUP_ROOT...). */
        if (strv_extend(&envp, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        for (char **e = environ; e && *e; e++)
                if (startswith(*e, "AULA_") && strv_extend(&envp, *e) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return log_error_errno(errno, "socketpair: %m");
        mine = pair[0];
        theirs = pair[1];
        sigemptyset(&none);
        sigfillset(&dfl);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, theirs, 3);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &dfl);
        /* A session of its own: the teacher's terminal closing must not reach the instance. */
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        r = posix_spawn(&pid, c->shim_path, &fa, &attr, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return log_error_errno(r, "Cannot start %s: %m", c->shim_path);
        *ret_fd = TAKE_FD(mine);
        *ret_pid = pid;
        return 0;
}

static int touch(const char *dir, const char *name) {
        _cleanup_free_ char *p = path_join(dir, name);
        _cleanup_close_ int fd = -EBADF;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        return fd < 0 ? -errno : 0;
}

int shim_start_begin(ShimContext *c, ShimStart *st) {
        uint64_t t0 = now_usec(CLOCK_MONOTONIC), t1, t2, t3;
        _cleanup_free_ char *run_dir = shim_run_path(c, st->name), *data = shim_data_dir(c, st->name),
                            *root = NULL, *rootfs = NULL, *msg = NULL, *stop = NULL, *exitf = NULL;
        const char *generated = NULL;
        ImgStore *store;
        int r;

        st->ready_fd = -EBADF;
        if (!run_dir || !data || !(root = path_join(run_dir, "root")) ||
            !(exitf = path_join(data, "exit.json")))
                return log_error_errno(ENOMEM, "Out of memory");
        if (st->def.isolation == SHIM_ISOLATION_VM) {
                r = mkdir_p(run_dir, 0700);
                if (r < 0)
                        return log_error_errno(r, "Cannot create '%s': %m", run_dir);
                (void) unlink(exitf);
                r = shim_vm_prepare(c, st, run_dir);
                if (r >= 0)
                        r = spawn_shim(c, run_dir, &st->ready_fd, &st->pid);
                if (r < 0) {
                        /* A tap made for it goes with the run directory. */
                        (void) shim_reap(c, st->name, -EBADF);
                        return r;
                }
                st->spawned_usec = now_usec(CLOCK_MONOTONIC);
                return 0;
        }
        r = shim_store(c, &store);
        if (r < 0)
                return r;
        r = mkdir_p(root, 0700);
        if (r < 0)
                return log_error_errno(r, "Cannot create '%s': %m", root);
        (void) unlink(exitf);
        r = link_layer_dir(data, root, "upper", 0755);
        if (r >= 0)
                r = link_layer_dir(data, root, "work", 0700);
        if (r < 0)
                goto fail_dir;
        t1 = now_usec(CLOCK_MONOTONIC);
        r = img_instance_root_create(store, st->def.image_digest, root, IMG_MOUNT_AUTO, &rootfs, &msg);
        t2 = now_usec(CLOCK_MONOTONIC);
        if (r < 0) {
                log_error_errno(r, "%s: cannot mount the instance root: %s", st->name, msg ?: strerror(-r));
                goto fail_dir;
        }
        msg = mfree(msg);
        r = generated_config(c, store, &st->def, rootfs, run_dir, &generated);
        if (r < 0)
                goto fail_root;
        t3 = now_usec(CLOCK_MONOTONIC);
        r = write_config(c, &st->def, generated, run_dir, rootfs, &stop);
        if (r < 0)
                goto fail_root;
        st->network = st->def.lab != NULL;
        if (st->network && ((r = touch(run_dir, "hosts")) < 0 || (r = touch(run_dir, "resolv.conf")) < 0)) {
                log_error_errno(r, "Cannot create the network files of %s: %m", st->name);
                goto fail_root;
        }
        r = write_run_json(c, &st->def, run_dir, stop, st->restore, !st->network);
        if (r < 0)
                goto fail_root;
        r = spawn_shim(c, run_dir, &st->ready_fd, &st->pid);
        if (r < 0)
                goto fail_root;
        st->spawned_usec = now_usec(CLOCK_MONOTONIC);
        log_debug("%s: prepare %.1f ms (dirs %.1f, root %.1f, bundle %.1f, config+spawn %.1f)", st->name,
                  (st->spawned_usec - t0) / 1e3, (t1 - t0) / 1e3, (t2 - t1) / 1e3, (t3 - t2) / 1e3,
                  (st->spawned_usec - t3) / 1e3);
        return 0;

fail_root:
        msg = mfree(msg);
        (void) img_instance_root_destroy(store, root, &msg);
fail_dir:
        (void) rm_rf_at(AT_FDCWD, run_dir);
        return r;
}

/* ------------------------------------------------------------- network */

static int write_in_place(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *p = path_join(dir, name);
        _cleanup_close_ int fd = -EBADF;

        if (!p)
                return -ENOMEM;
        /* The file is bind-mounted into the container already: same inode, new content. */
        fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        return loop_write(fd, text, strlen(text));
}

static int attach_network(ShimContext *c, ShimStart *st, pid_t pid) {
        _cleanup_(netns_attachment_freep) NetnsAttachment *att = NULL;
        _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
        _cleanup_free_ char *err = NULL, *hosts = NULL, *resolv = NULL, *run_dir = shim_run_path(c, st->name);
        _cleanup_close_ int nsfd = -EBADF;
        NetnsAttachOptions ao = { .ipv4 = st->def.ipv4 };
        char ns[64];
        int r;

        if (!run_dir)
                return -ENOMEM;
        snprintf(ns, sizeof ns, "/proc/%d/ns/net", (int) pid);
        nsfd = open(ns, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0)
                return log_error_errno(errno, "%s: cannot open its network namespace: %m", st->name);
        r = netns_attach(c->root, st->def.lab, st->def.student, nsfd, &ao, &att, &err);
        if (r == -EADDRINUSE && ao.ipv4) {
                /* Its old address went to someone else meanwhile: take a new one. */
                err = mfree(err);
                ao.ipv4 = NULL;
                r = netns_attach(c->root, st->def.lab, st->def.student, nsfd, &ao, &att, &err);
        }
        if (r == -EEXIST) {
                /* A leftover of an earlier run (its shim died): replace it. */
                err = mfree(err);
                (void) netns_detach(c->root, st->def.lab, st->def.student, NULL);
                r = netns_attach(c->root, st->def.lab, st->def.student, nsfd, &ao, &att, &err);
        }
        if (r < 0)
                return log_error_errno(
                                r, "%s: cannot attach it to its lab network: %s", st->name,
                                err ?: strerror(-r));
        err = mfree(err);
        r = netns_lab_load(c->root, st->def.lab, &lab, &err);
        if (r >= 0)
                r = netns_render_hosts(lab, st->def.student, &hosts);
        if (r >= 0)
                r = netns_render_resolv_conf(lab, "/etc/resolv.conf", &resolv);
        if (r >= 0)
                r = write_in_place(run_dir, "hosts", hosts);
        if (r >= 0)
                r = write_in_place(run_dir, "resolv.conf", resolv);
        if (r < 0)
                return log_error_errno(
                                r, "%s: cannot write its /etc/hosts and /etc/resolv.conf: %s", st->name,
                                err ?: strerror(-r));
        if (!streq_ptr(st->def.ipv4, netns_attachment_ipv4(att))) {
                free(st->def.ipv4);
                st->def.ipv4 = strdup(netns_attachment_ipv4(att));
                if (st->def.ipv4)
                        (void) shim_def_save(c, &st->def);
        }
        return 0;
}

int shim_start_step(ShimContext *c, ShimStart *st) {
        _cleanup_(json_freep) JsonVal v = NULL;
        char buf[4096];
        int fds[SHIM_MAX_FDS];
        const char *event;
        ssize_t n;
        JsonVal e, x;
        int r;

        n = shim_recv_packet(st->ready_fd, buf, sizeof buf - 1, fds, SHIM_MAX_FDS, NULL);
        if (n == -EAGAIN || n == -EINTR)
                return 0;
        if (n <= 0) {
                st->message = strdup("the shim exited during start (see its shim.log)");
                return -ECHILD;
        }
        if (json_parse(buf, (size_t) n, &v, NULL) < 0 || !(e = json_get(v, "event")) || !YAJL_IS_STRING(e)) {
                st->message = strdup("the shim sent garbage on its ready channel");
                return -EBADMSG;
        }
        event = YAJL_GET_STRING(e);
        if (streq(event, "error")) {
                x = json_get(v, "error");
                st->message = strdup(x && YAJL_IS_STRING(x) ? YAJL_GET_STRING(x) : "unknown error");
                x = json_get(v, "errno");
                return x && YAJL_IS_INTEGER(x) && YAJL_GET_INTEGER(x) > 0 ? -(int) YAJL_GET_INTEGER(x) : -EIO;
        }
        if (streq(event, "running")) {
                log_debug("%s: running after %.1f ms", st->name,
                          (now_usec(CLOCK_MONOTONIC) - st->spawned_usec) / 1e3);
                st->done = true;
                return 1;
        }
        if (streq(event, "created") && !st->created) {
                st->created = true;
                x = json_get(v, "pid");
                if (!x || !YAJL_IS_INTEGER(x) || YAJL_GET_INTEGER(x) <= 0) {
                        st->message = strdup("the shim sent no pid");
                        return -EBADMSG;
                }
                log_debug("%s: created after %.1f ms", st->name,
                          (now_usec(CLOCK_MONOTONIC) - st->spawned_usec) / 1e3);
                if (st->network) {
                        uint64_t a = now_usec(CLOCK_MONOTONIC);
                        r = attach_network(c, st, (pid_t) YAJL_GET_INTEGER(x));
                        log_debug("%s: network %.1f ms", st->name, (now_usec(CLOCK_MONOTONIC) - a) / 1e3);
                        if (r < 0)
                                return r;
                }
                r = shim_send_packet(st->ready_fd, "{\"op\":\"start\"}", 14, NULL, 0);
                if (r < 0) {
                        st->message = strdup("the shim went away before start");
                        return -ECHILD;
                }
        }
        return 0;
}

void shim_start_abort(ShimContext *c, ShimStart *st) {
        bool spawned = st->ready_fd >= 0;

        /* Closing the channel before "start" tells the shim to give up; its keeper cleans up. */
        st->ready_fd = safe_close(st->ready_fd);
        if (spawned && shim_wait_gone(c, st->name, 30 * 1000000ULL) >= 0 &&
            shim_live(c, st->name) == SHIM_LIVE_STALE)
                (void) shim_reap(c, st->name, -EBADF);
}

void shim_start_done(ShimStart *st) {
        free(st->name);
        shim_def_done(&st->def);
        safe_close(st->ready_fd);
        free(st->message);
        free(st->restore);
        *st = (ShimStart){ .ready_fd = -EBADF };
}
