/* SPDX-License-Identifier: Apache-2.0 */
#include "shim-lib.h"

/* instance.json: an instance's definition. Written atomically; read back strictly. */

#define DEF_MAX (256 * 1024)

void shim_def_done(ShimDef *d) {
        free(d->name);
        free(d->lab);
        free(d->student);
        free(d->image);
        free(d->image_digest);
        strv_free(d->env);
        strv_free(d->cmd);
        free(d->created);
        free(d->ipv4);
        *d = (ShimDef){};
}

static int opt_string(JsonVal o, const char *key, char **ret, char **err) {
        JsonVal v = json_get(o, key);
        if (!v || YAJL_IS_NULL(v))
                return 0;
        return json_want_string(v, key, ret, err);
}

static int opt_u64(JsonVal o, const char *key, uint64_t *ret, char **err) {
        JsonVal v = json_get(o, key);
        if (!v || YAJL_IS_NULL(v))
                return 0;
        return json_want_uint64(v, key, UINT64_MAX, ret, err);
}

static int opt_strv(JsonVal o, const char *key, char ***ret, char **err) {
        JsonVal v = json_get(o, key);
        if (!v || YAJL_IS_NULL(v))
                return 0;
        return json_want_strv(v, key, ret, err);
}

int shim_def_load(ShimContext *c, const char *name, ShimDef *ret) {
        _cleanup_free_ char *dir = shim_data_dir(c, name), *path = NULL, *text = NULL, *err = NULL,
                            *iso = NULL;
        _cleanup_(json_freep) JsonVal v = NULL;
        ShimDef d = {};
        size_t len;
        int r;

        if (!dir || !(path = path_join(dir, "instance.json")))
                return log_error_errno(ENOMEM, "Out of memory");
        r = read_full_file_at(AT_FDCWD, path, DEF_MAX, &text, &len);
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return log_error_errno(r, "Cannot read '%s': %m", path);
        r = json_parse(text, len, &v, &err);
        if (r >= 0 && (r = opt_string(v, "name", &d.name, &err)) >= 0 && !d.name)
                r = json_error(&err, "name", "missing");
        if (r >= 0 && !streq(d.name, name))
                r = json_error(&err, "name", "'%s' does not match its directory", d.name);
        if (r >= 0)
                r = opt_string(v, "image", &d.image, &err);
        if (r >= 0)
                r = opt_string(v, "image_digest", &d.image_digest, &err);
        if (r >= 0 && !d.image_digest)
                r = json_error(&err, "image_digest", "missing");
        if (r >= 0 && (r = opt_string(v, "isolation", &iso, &err)) >= 0) {
                d.isolation = iso ? shim_isolation_from_string(iso) : SHIM_ISOLATION_CONTAINER;
                if (d.isolation < 0)
                        r = json_error(&err, "isolation", "unknown isolation '%s'", iso);
        }
        if (r >= 0)
                r = opt_u64(v, "cpus_milli", &d.limits.cpus_milli, &err);
        if (r >= 0)
                r = opt_u64(v, "memory", &d.limits.memory, &err);
        if (r >= 0)
                r = opt_u64(v, "pids", &d.limits.pids, &err);
        if (r >= 0)
                r = opt_strv(v, "env", &d.env, &err);
        if (r >= 0)
                r = opt_strv(v, "cmd", &d.cmd, &err);
        if (r >= 0)
                r = opt_string(v, "created", &d.created, &err);
        if (r >= 0)
                r = opt_string(v, "ipv4", &d.ipv4, &err);
        if (r >= 0)
                r = shim_name_split(name, &d.lab, &d.student);
        if (r < 0) {
                shim_def_done(&d);
                return log_error_errno(r, "Corrupt instance definition '%s': %s", path, err ?: strerror(-r));
        }
        *ret = d;
        return 0;
}

void shim_jw_recipe(
                JsonWriter *w,
                const char *image,
                const char *image_digest,
                ShimIsolation isolation,
                const ShimLimits *limits,
                char **env,
                char **cmd) {
        jw_key(w, "image");
        jw_string(w, image);
        jw_key(w, "image_digest");
        jw_string(w, image_digest);
        jw_key(w, "isolation");
        jw_string(w, shim_isolation_to_string(isolation));
        jw_key(w, "cpus_milli");
        jw_uint(w, limits->cpus_milli);
        jw_key(w, "memory");
        jw_uint(w, limits->memory);
        jw_key(w, "pids");
        jw_uint(w, limits->pids);
        jw_key(w, "env");
        jw_strv(w, env);
        jw_key(w, "cmd");
        if (cmd)
                jw_strv(w, cmd);
        else
                jw_null(w);
}

int shim_def_save(ShimContext *c, const ShimDef *d) {
        _cleanup_free_ char *dir = shim_data_dir(c, d->name), *text = NULL, *path = NULL;
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        size_t len;
        int r;

        if (!dir || json_writer_new(true, &w) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        jw_object_open(w);
        jw_key(w, "name");
        jw_string(w, d->name);
        jw_key(w, "lab");
        jw_string(w, d->lab);
        shim_jw_recipe(w, d->image, d->image_digest, d->isolation, &d->limits, d->env, d->cmd);
        jw_key(w, "created");
        jw_string(w, d->created);
        jw_key(w, "ipv4");
        jw_string(w, d->ipv4);
        jw_object_close(w);
        r = json_writer_finish(w, &text, &len);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Cannot create '%s': %m", dir);
        path = path_join(dir, "instance.json");
        if (!path)
                return log_error_errno(ENOMEM, "Out of memory");
        r = write_file_atomic_at(AT_FDCWD, path, text, len, 0644);
        if (r < 0)
                return log_error_errno(r, "Cannot write the definition of %s: %m", d->name);
        return 0;
}
