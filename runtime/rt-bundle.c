/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/stat.h>
#include <time.h>

#include "rt-internal.h"

/*
 * The steps that create (rt-create.c) and restore (rt-criu.c) share: read the
 * bundle, take the id with the state directory, make the cgroup and record
 * the new container in state.json.
 */

void rt_bundle_done(RtBundle *b) {
        b->path = mfree(b->path);
        b->rootfs = mfree(b->rootfs);
        b->config = oci_config_free(b->config);
        b->config_text = mfree(b->config_text);
        b->config_len = 0;
}

int rt_bundle_load(const char *bundle, RtBundle *ret) {
        _cleanup_(rt_bundle_done) RtBundle b = {};
        _cleanup_free_ char *cfg_path = NULL, *err = NULL, *root = NULL;
        int r;

        b.path = realpath(bundle ?: ".", NULL);
        if (!b.path)
                return log_error_errno(errno, "Invalid bundle '%s': %m", bundle ?: ".");
        cfg_path = path_join(b.path, "config.json");
        if (!cfg_path)
                return log_error_errno(ENOMEM, "Out of memory");
        r = read_full_file_at(AT_FDCWD, cfg_path, OCI_CONFIG_MAX_BYTES, &b.config_text, &b.config_len);
        if (r == -EFBIG)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EFBIG), "%s: larger than %u bytes", cfg_path,
                                OCI_CONFIG_MAX_BYTES);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s': %m", cfg_path);
        r = oci_config_parse(b.config_text, b.config_len, &b.config, &err);
        if (r < 0)
                return log_error_errno(r, "%s: %s", cfg_path, err ?: strerror(-r));
        if (!b.config->process)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "%s: process: missing", cfg_path);
        root = b.config->root_path[0] == '/' ? strdup(b.config->root_path)
                                             : path_join(b.path, b.config->root_path);
        if (!root)
                return log_error_errno(ENOMEM, "Out of memory");
        b.rootfs = realpath(root, NULL);
        if (!b.rootfs)
                return log_error_errno(errno, "Invalid root.path '%s': %m", root);
        *ret = b;
        b = (RtBundle){};
        return 0;
}

int rt_state_dir_create(const RtContext *ctx, const char *id, const char *dir, const char *config, size_t len) {
        int r;

        r = mkdir_p(ctx->state_root, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create state root '%s': %m", ctx->state_root);
        if (mkdir(dir, 0700) < 0) {
                if (errno == EEXIST)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EEXIST), "container with id %s already exists", id);
                return log_error_errno(errno, "Failed to create '%s': %m", dir);
        }
        if (!config)
                return 0;
        r = rt_state_config_write(dir, config, len);
        if (r < 0)
                (void) rm_rf_at(AT_FDCWD, dir);
        return r;
}

int rt_state_config_write(const char *dir, const char *config, size_t len) {
        _cleanup_free_ char *path = NULL;
        int r;

        /* The config as created: later operations (poststart, delete's poststop hooks) read it here. */
        path = path_join(dir, RT_CONFIG_FILE);
        if (!path)
                return log_error_errno(ENOMEM, "Out of memory");
        r = write_file_replace_at(AT_FDCWD, path, config, len, 0600);
        if (r < 0)
                return log_error_errno(r, "Failed to write '%s': %m", path);
        return 0;
}

int rt_cgroup_apply(const OciConfig *c, bool rootless, CgManager *m) {
        _cleanup_(cg_resources_done) CgResources res = {};
        const OciLinux *l = c->linux_cfg;
        int r;

        if (!m || !l || !l->resources)
                return 0;
        r = rt_resources_from_oci(l->resources, &res);
        if (r >= 0)
                r = rt_resources_add_default_devices(c, &res);
        if (r < 0)
                return log_error_errno(r, "Invalid linux.resources: %m");
        /*
         * Rootless, even in a cgroup we may write: device rules need CAP_SYS_ADMIN in the initial
         * namespace (v1 devices.deny) or a BPF program (v2), and the container's devices are bind
         * mounts of host nodes its user can open anyway (runc skips them too).
         */
        if (rootless)
                res.devices_set = false;
        r = cg_manager_apply(m, &res);
        if (r < 0)
                return log_error_errno(r, "Failed to apply resources to cgroup '%s': %m", cg_manager_path(m));
        return 0;
}

int rt_cgroup_setup(const OciConfig *c, const char *id, bool rootless, bool apply, CgManager **ret, char **ret_path) {
        _cleanup_(cg_manager_freep) CgManager *m = NULL;
        _cleanup_free_ char *path = NULL;
        const OciLinux *l = c->linux_cfg;
        int r;

        r = rt_cgroup_path(c, id, &path);
        if (r < 0)
                return r;
        r = cg_manager_new(path, &m);
        if (r < 0)
                return log_error_errno(r, "Invalid cgroup path '%s': %m", path);
        r = cg_manager_create(m);
        if (r < 0) {
                if (rootless && (r == -EACCES || r == -EPERM || r == -EROFS) &&
                    !(l && rt_resources_need_cgroup(l->resources))) {
                        log_debug("rootless: running without a cgroup (%s)", strerror(-r));
                        *ret = NULL;
                        if (ret_path)
                                *ret_path = TAKE_PTR(path);
                        return 0;
                }
                return log_error_errno(r, "Failed to create cgroup '%s': %m", path);
        }
        if (apply) {
                r = rt_cgroup_apply(c, rootless, m);
                if (r < 0) {
                        (void) cg_manager_destroy(m, 1000000);
                        return r;
                }
        }
        *ret = TAKE_PTR(m);
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}

int rt_state_save_new(const char *state_dir, const RtState *s, CgManager *cgroup) {
        _cleanup_free_ char *cg = NULL;
        RtState full = *s;
        char created[64];
        struct timespec ts;
        int r;

        r = rt_proc_start_time(s->pid, &full.pid_start, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read start time of container init %d: %m", (int) s->pid);
        clock_gettime(CLOCK_REALTIME, &ts);
        full.created = (char *) format_rfc3339(
                        (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec, created, sizeof created);
        full.owner = (char *) "";
        if (cgroup) {
                r = cg_manager_save(cgroup, &cg);
                if (r < 0)
                        return log_error_errno(r, "Failed to record cgroup: %m");
        }
        full.cgroup = cg;
        return rt_state_save(state_dir, &full);
}
