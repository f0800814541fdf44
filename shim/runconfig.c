/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>

#include "shim-server.h"

/* run.json: what libaula-shim prepared for this run of the instance (docs/shim-protocol.md). */

#define RUN_CONFIG_MAX (256 * 1024)

static int opt_string(JsonVal obj, const char *key, const char *parent, char **ret, char **err) {
        char path[JSON_PATH_MAX];
        JsonVal v = json_get(obj, key);

        if (!v || YAJL_IS_NULL(v))
                return 0;
        return json_want_string(v, json_path_key(path, sizeof path, parent, key), ret, err);
}

static int req_string(JsonVal obj, const char *key, const char *parent, char **ret, char **err) {
        char path[JSON_PATH_MAX];
        int r = opt_string(obj, key, parent, ret, err);

        if (r >= 0 && !*ret)
                return json_error(err, json_path_key(path, sizeof path, parent, key), "missing");
        return r;
}

static int opt_strv(JsonVal obj, const char *key, const char *parent, char ***ret, char **err) {
        char path[JSON_PATH_MAX];
        JsonVal v = json_get(obj, key);

        if (!v || YAJL_IS_NULL(v))
                return 0;
        return json_want_strv(v, json_path_key(path, sizeof path, parent, key), ret, err);
}

static int opt_u64(JsonVal obj, const char *key, const char *parent, uint64_t max, uint64_t *ret, char **err) {
        char path[JSON_PATH_MAX];
        JsonVal v = json_get(obj, key);

        if (!v || YAJL_IS_NULL(v))
                return 0;
        return json_want_uint64(v, json_path_key(path, sizeof path, parent, key), max, ret, err);
}

static int parse_vm(JsonVal vm, ShimRunConfig *c, char **err) {
        uint64_t vcpus = 1, uid = 0, gid = 0;
        JsonVal disks;
        int r;

        if ((r = opt_string(vm, "agent", "vm", &c->agent, err)) < 0 ||
            (r = (c->agent ? opt_string : req_string)(vm, "kernel", "vm", &c->kernel, err)) < 0 ||
            (r = opt_string(vm, "initrd", "vm", &c->initrd, err)) < 0 ||
            (r = opt_string(vm, "cgroup", "vm", &c->cgroup, err)) < 0 ||
            (r = opt_string(vm, "cmdline", "vm", &c->cmdline, err)) < 0 ||
            (r = req_string(vm, "vsock", "vm", &c->vsock, err)) < 0 ||
            (r = opt_string(vm, "tap", "vm", &c->tap, err)) < 0 ||
            (r = opt_u64(vm, "memory", "vm", UINT64_MAX, &c->memory, err)) < 0 ||
            (r = opt_u64(vm, "vcpus", "vm", 64, &vcpus, err)) < 0 ||
            (r = opt_strv(vm, "args", "vm", &c->args, err)) < 0 ||
            (r = opt_strv(vm, "env", "vm", &c->env, err)) < 0 ||
            (r = opt_string(vm, "cwd", "vm", &c->cwd, err)) < 0 ||
            (r = opt_string(vm, "hostname", "vm", &c->hostname, err)) < 0 ||
            (r = opt_u64(vm, "uid", "vm", UINT32_MAX, &uid, err)) < 0 ||
            (r = opt_u64(vm, "gid", "vm", UINT32_MAX, &gid, err)) < 0)
                return r;
        c->vcpus = (unsigned) vcpus;
        c->uid = (uint32_t) uid;
        c->gid = (uint32_t) gid;
        if (strv_length(c->args) == 0)
                return json_error(err, "vm.args", "must not be empty");
        disks = json_get(vm, "disks");
        if (disks) {
                if ((r = json_want_type(disks, "vm.disks", yajl_t_array, err)) < 0)
                        return r;
                size_t n = YAJL_GET_ARRAY(disks)->len;
                c->disks = calloc(n ?: 1, sizeof *c->disks);
                if (!c->disks)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        JsonVal d = YAJL_GET_ARRAY(disks)->values[i], ro;
                        char path[JSON_PATH_MAX];
                        json_path_index(path, sizeof path, "vm.disks", i);
                        if ((r = req_string(d, "path", path, &c->disks[i].path, err)) < 0)
                                return r;
                        c->n_disks++;
                        ro = json_get(d, "read_only");
                        if (ro && (r = json_want_bool(ro, path, &c->disks[i].read_only, err)) < 0)
                                return r;
                }
        }
        return 0;
}

int shim_run_config_load(const char *path, ShimRunConfig *ret, char **err) {
        _cleanup_(json_freep) JsonVal root = NULL;
        _cleanup_free_ char *text = NULL, *sig = NULL;
        ShimRunConfig c = { .stop_signal = SIGTERM, .stop_timeout_usec = 10000000, .log_max = 1 << 20 };
        uint64_t timeout_ms = 10000;
        JsonVal v;
        size_t len;
        int r;

        r = read_full_file_at(AT_FDCWD, path, RUN_CONFIG_MAX, &text, &len);
        if (r < 0)
                return r;
        r = json_parse(text, len, &root, err);
        if (r < 0)
                return r;
        if ((r = req_string(root, "name", NULL, &c.name, err)) < 0 ||
            (r = req_string(root, "isolation", NULL, &c.isolation, err)) < 0 ||
            (r = req_string(root, "data_dir", NULL, &c.data_dir, err)) < 0 ||
            (r = opt_string(root, "stop_signal", NULL, &sig, err)) < 0 ||
            (r = opt_u64(root, "stop_timeout_ms", NULL, 24 * 3600 * 1000, &timeout_ms, err)) < 0 ||
            (r = opt_u64(root, "log_max", NULL, UINT64_MAX, &c.log_max, err)) < 0 ||
            (r = opt_strv(root, "reap", NULL, &c.reap, err)) < 0)
                goto fail;
        c.stop_timeout_usec = timeout_ms * 1000;
        v = json_get(root, "start");
        if (v && (r = json_want_bool(v, "start", &c.start, err)) < 0)
                goto fail;
        if (sig) {
                c.stop_signal = signal_from_string(sig);
                if (c.stop_signal <= 0) {
                        r = json_error(err, "stop_signal", "unknown signal '%s'", sig);
                        goto fail;
                }
        }
        if (streq(c.isolation, "container")) {
                JsonVal ct = json_get(root, "container");
                if (!ct) {
                        r = json_error(err, "container", "missing");
                        goto fail;
                }
                if ((r = req_string(ct, "id", "container", &c.container_id, err)) < 0 ||
                    (r = req_string(ct, "bundle", "container", &c.bundle, err)) < 0 ||
                    (r = req_string(ct, "state_root", "container", &c.state_root, err)) < 0 ||
                    (r = opt_string(ct, "cgroup", "container", &c.cgroup, err)) < 0 ||
                    (r = opt_string(ct, "restore", "container", &c.restore, err)) < 0)
                        goto fail;
        } else if (streq(c.isolation, "vm")) {
                JsonVal vm = json_get(root, "vm");
                if (!vm) {
                        r = json_error(err, "vm", "missing");
                        goto fail;
                }
                if ((r = parse_vm(vm, &c, err)) < 0)
                        goto fail;
        } else {
                r = json_error(err, "isolation", "unknown isolation '%s'", c.isolation);
                goto fail;
        }
        *ret = c;
        return 0;
fail:
        shim_run_config_done(&c);
        return r;
}

void shim_run_config_done(ShimRunConfig *c) {
        free(c->name);
        free(c->isolation);
        free(c->data_dir);
        strv_free(c->reap);
        free(c->container_id);
        free(c->bundle);
        free(c->state_root);
        free(c->cgroup);
        free(c->restore);
        free(c->kernel);
        free(c->initrd);
        free(c->cmdline);
        free(c->vsock);
        free(c->tap);
        free(c->agent);
        for (size_t i = 0; i < c->n_disks; i++)
                free(c->disks[i].path);
        free(c->disks);
        strv_free(c->args);
        strv_free(c->env);
        free(c->cwd);
        free(c->hostname);
        *c = (ShimRunConfig){};
}

void shim_exec_request_done(ShimExecRequest *r) {
        strv_free(r->args);
        strv_free(r->env);
        free(r->cwd);
        free(r->user);
        for (int i = 0; i < 3; i++)
                r->stdio[i] = safe_close(r->stdio[i]);
}
