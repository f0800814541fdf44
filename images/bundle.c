/* SPDX-License-Identifier: Apache-2.0 */

/*
 * OCI bundle generation from an image config, following the image-spec's
 * conversion.md: WorkingDir -> process.cwd, Env -> process.env,
 * Entrypoint + Cmd -> process.args, User -> process.user (names resolved
 * through the image's own /etc/passwd and /etc/group), and os,
 * architecture, variant, author, created, StopSignal, ExposedPorts and
 * Labels -> annotations (Labels win over the implicit ones).
 */

#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "images-internal.h"
#include "oci.h"

#define PASSWD_MAX (4u * 1024 * 1024)
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Read a file of the image's root without ever leaving it (symlinks resolve inside rootfs). */
static int read_in_root(const char *rootfs, const char *path, char **ret, size_t *ret_len) {
        _cleanup_close_ int root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -EBADF;
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        struct stat st;

        if (root < 0)
                return -errno;
        fd = (int) syscall(SYS_openat2, root, path, &how, sizeof(how));
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        return read_full_fd(fd, PASSWD_MAX, ret, ret_len);
}

typedef struct DbEntry {
        char *name;
        uint32_t id;
        uint32_t gid; /* passwd: primary group */
        char **members; /* group: member names */
} DbEntry;

static void db_free(DbEntry *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                strv_free(v[i].members);
        }
        free(v);
}

/* passwd(5) "name:pw:uid:gid:..." or group(5) "name:pw:gid:member,member". Malformed lines are skipped. */
static int db_parse(char *text, bool group, DbEntry **ret, size_t *ret_n) {
        DbEntry *v = NULL;
        size_t n = 0;

        for (char *line = text, *next; line && *line; line = next) {
                char *f[7] = {};
                size_t k = 0;
                unsigned id, gid = 0;
                DbEntry *grown;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (line[0] == '#' || line[0] == '+' || line[0] == '-')
                        continue;
                for (char *p = line; p && k < ELEMENTSOF(f); k++) {
                        f[k] = p;
                        p = strchr(p, ':');
                        if (p)
                                *p++ = '\0';
                }
                if (k < (group ? 3u : 4u) || isempty(f[0]) || safe_atou(f[2], &id) < 0 ||
                    (!group && safe_atou(f[3], &gid) < 0))
                        continue;
                grown = reallocarray(v, n + 1, sizeof(*v));
                if (!grown) {
                        db_free(v, n);
                        return -ENOMEM;
                }
                v = grown;
                v[n] = (DbEntry){ .name = strdup(f[0]), .id = id, .gid = gid };
                if (!v[n].name) {
                        db_free(v, n);
                        return -ENOMEM;
                }
                if (group && k >= 4 && f[3][0])
                        for (char *m = strtok(f[3], ","); m; m = strtok(NULL, ","))
                                if (strv_extend(&v[n].members, m) < 0) {
                                        db_free(v, n + 1);
                                        return -ENOMEM;
                                }
                n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int load_db(const char *rootfs, const char *path, bool group, DbEntry **ret, size_t *ret_n) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_in_root(rootfs, path, &text, &len);
        if (r == -ENOENT) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (r < 0)
                return r;
        return db_parse(text, group, ret, ret_n);
}

static bool numeric(const char *s, uint32_t *ret) {
        unsigned v;
        if (safe_atou(s, &v) < 0)
                return false;
        *ret = v;
        return true;
}

/* conversion.md "Config.User": numbers verbatim, names through the image's databases. */
int img_resolve_user(const char *rootfs, const char *spec, OciUser *ret, char **error_msg) {
        _cleanup_free_ char *user = NULL;
        DbEntry *pw = NULL, *gr = NULL;
        size_t npw = 0, ngr = 0;
        const char *group = NULL;
        uint32_t uid = 0, gid = 0;
        bool uid_numeric, found_pw = false;
        uint32_t *extra = NULL;
        size_t n_extra = 0;
        int r;

        *ret = (OciUser){};
        if (isempty(spec))
                return 0; /* root */
        user = strdup(spec);
        if (!user)
                return -ENOMEM;
        if (strchr(user, ':')) {
                *strchr(user, ':') = '\0';
                group = spec + strlen(user) + 1;
        }
        r = load_db(rootfs, "etc/passwd", false, &pw, &npw);
        if (r >= 0)
                r = load_db(rootfs, "etc/group", true, &gr, &ngr);
        if (r < 0) {
                img_err(error_msg, r, "cannot read the image's /etc/passwd or /etc/group: %s", strerror(-r));
                goto out;
        }

        uid_numeric = numeric(user, &uid);
        for (size_t i = 0; i < npw && !found_pw; i++)
                if (uid_numeric ? pw[i].id == uid : streq(pw[i].name, user)) {
                        uid = pw[i].id;
                        gid = pw[i].gid;
                        found_pw = true;
                }
        if (!uid_numeric && !found_pw) {
                r = img_err(error_msg, -ESRCH, "user '%s' is not in the image's /etc/passwd", user);
                goto out;
        }
        if (!isempty(group)) {
                bool found = numeric(group, &gid);
                for (size_t i = 0; i < ngr && !found; i++)
                        if (streq(gr[i].name, group)) {
                                gid = gr[i].id;
                                found = true;
                        }
                if (!found) {
                        r = img_err(error_msg, -ESRCH, "group '%s' is not in the image's /etc/group", group);
                        goto out;
                }
        } else if (!uid_numeric) {
                /* Supplementary groups only for a user given by name without a group. */
                for (size_t i = 0; i < ngr; i++)
                        if (gr[i].id != gid && strv_contains(gr[i].members, user)) {
                                uint32_t *g = reallocarray(extra, n_extra + 1, sizeof(*g));
                                if (!g) {
                                        r = -ENOMEM;
                                        goto out;
                                }
                                extra = g;
                                extra[n_extra++] = gr[i].id;
                        }
        }
        ret->uid = uid;
        ret->gid = gid;
        ret->additional_gids = TAKE_PTR(extra);
        ret->n_additional_gids = n_extra;
        r = 0;
out:
        free(extra);
        db_free(pw, npw);
        db_free(gr, ngr);
        return r;
}

static int set_annotation(OciConfig *c, const char *key, const char *value, bool overwrite) {
        OciKeyValue *grown;

        if (!value)
                return 0;
        for (size_t i = 0; i < c->n_annotations; i++)
                if (streq(c->annotations[i].key, key)) {
                        char *v;
                        if (!overwrite)
                                return 0;
                        v = strdup(value);
                        if (!v)
                                return -ENOMEM;
                        free(c->annotations[i].value);
                        c->annotations[i].value = v;
                        return 0;
                }
        grown = reallocarray(c->annotations, c->n_annotations + 1, sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        c->annotations = grown;
        grown[c->n_annotations] = (OciKeyValue){ .key = strdup(key), .value = strdup(value) };
        if (!grown[c->n_annotations].key || !grown[c->n_annotations].value) {
                free(grown[c->n_annotations].key);
                free(grown[c->n_annotations].value);
                return -ENOMEM;
        }
        c->n_annotations++;
        return 0;
}

static int annotations_from_image(OciConfig *c, const OciImageConfig *ic) {
        _cleanup_free_ char *ports = NULL;
        int r = 0;

        /* Labels first: they win over the implicit annotations below (conversion.md "Annotations"). */
        for (size_t i = 0; r >= 0 && i < ic->n_labels; i++)
                if (!startswith(ic->labels[i].key, "org.aula."))
                        r = set_annotation(c, ic->labels[i].key, ic->labels[i].value, true);
        if (r >= 0)
                r = set_annotation(c, "org.opencontainers.image.os", ic->os, false);
        if (r >= 0)
                r = set_annotation(c, "org.opencontainers.image.architecture", ic->architecture, false);
        if (r >= 0)
                r = set_annotation(c, "org.opencontainers.image.variant", ic->variant, false);
        if (r >= 0)
                r = set_annotation(c, "org.opencontainers.image.author", ic->author, false);
        if (r >= 0)
                r = set_annotation(c, "org.opencontainers.image.created", ic->created, false);
        if (r >= 0)
                r = set_annotation(c, "org.opencontainers.image.stopSignal", ic->stop_signal, false);
        STRV_FOREACH(p, ic->exposed_ports) {
                char *n;
                if (xasprintf(&n, "%s%s%s", ports ?: "", ports ? "," : "", *p) < 0)
                        return -ENOMEM;
                free(ports);
                ports = n;
        }
        if (r >= 0 && ports)
                r = set_annotation(c, "org.opencontainers.image.exposedPorts", ports, false);
        return r;
}

static int build_args(const OciImageConfig *ic, const ImgBundleOptions *o, char ***ret) {
        _cleanup_strv_free_ char **args = NULL;
        char **entry = o->entrypoint ?: ic->entrypoint;
        /* An explicit entrypoint drops the image's Cmd (docker run --entrypoint does the same). */
        char **cmd = o->args ?: (o->entrypoint ? NULL : ic->cmd);

        STRV_FOREACH(a, entry)
                if (strv_extend(&args, *a) < 0)
                        return -ENOMEM;
        STRV_FOREACH(a, cmd)
                if (strv_extend(&args, *a) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(args);
        return 0;
}

static int build_env(const OciImageConfig *ic, const ImgBundleOptions *o, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;

        STRV_FOREACH(e, ic->env)
                if (strchr(*e, '=') && strv_env_set(&env, *e) < 0)
                        return -ENOMEM;
        /* Implementation defaults never override what the image sets (conversion.md note 1). */
        if (!strv_env_get(env, "PATH") && strv_env_set(&env, DEFAULT_PATH) < 0)
                return -ENOMEM;
        if (o->terminal && !strv_env_get(env, "TERM") && strv_env_set(&env, "TERM=xterm") < 0)
                return -ENOMEM;
        STRV_FOREACH(e, o->env)
                if (strv_env_set(&env, *e) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(env);
        return 0;
}

static int apply_limits(OciConfig *c, const ImgBundleOptions *o) {
        OciResources *res;

        if (o->memory_limit <= 0 && o->pids_limit <= 0 && o->cpu_quota == 0)
                return 0;
        if (!c->linux_cfg && !(c->linux_cfg = calloc(1, sizeof(*c->linux_cfg))))
                return -ENOMEM;
        if (!c->linux_cfg->resources && !(c->linux_cfg->resources = calloc(1, sizeof(OciResources))))
                return -ENOMEM;
        res = c->linux_cfg->resources;
        if (o->memory_limit > 0)
                res->memory.limit = (OciOptI64){ .set = true, .v = o->memory_limit };
        if (o->pids_limit > 0)
                res->pids_limit = (OciOptI64){ .set = true, .v = o->pids_limit };
        if (o->cpu_quota > 0) {
                res->cpu.quota = (OciOptI64){ .set = true, .v = (int64_t) o->cpu_quota };
                res->cpu.period = (OciOptU64){ .set = true, .v = o->cpu_period ?: 100000 };
        }
        return 0;
}

int img_bundle_generate(
                ImgStore *s,
                const char *image,
                const char *rootfs,
                const ImgBundleOptions *opts,
                const char *bundle_dir,
                char **error_msg) {
        static const ImgBundleOptions defaults = {};
        const ImgBundleOptions *o = opts ?: &defaults;
        _cleanup_(oci_image_config_freep) OciImageConfig *ic = NULL;
        _cleanup_(oci_config_freep) OciConfig *c = NULL;
        _cleanup_free_ char *text = NULL, *msg = NULL, *root_abs = NULL, *cwd = NULL, *out = NULL;
        _cleanup_close_ int dfd = -EBADF;
        const char *workdir;
        size_t len;
        int r;

        r = img_config_json(s, image, &text, &len, error_msg);
        if (r < 0)
                return r;
        r = oci_image_config_parse(text, len, &ic, &msg);
        if (r < 0)
                return img_err(error_msg, r, "invalid image config: %s", msg ?: strerror(-r));
        r = oci_config_default(o->rootless, getuid(), getgid(), &c);
        if (r < 0)
                return img_err(error_msg, r, "cannot build the default runtime config");
        if (!c->process && !(c->process = calloc(1, sizeof(*c->process))))
                return -ENOMEM;

        if (rootfs[0] == '/')
                root_abs = strdup(rootfs);
        else if ((cwd = getcwd(NULL, 0)))
                root_abs = path_join(cwd, rootfs);
        if (!root_abs)
                return -ENOMEM;
        free(c->root_path);
        c->root_path = TAKE_PTR(root_abs);
        c->root_readonly = false;

        strv_free(c->process->args);
        c->process->args = NULL;
        r = build_args(ic, o, &c->process->args);
        if (r < 0)
                return r;
        if (strv_length(c->process->args) == 0)
                return img_err(error_msg, -EINVAL,
                               "the image sets neither Entrypoint nor Cmd: a command is needed");
        strv_free(c->process->env);
        c->process->env = NULL;
        r = build_env(ic, o, &c->process->env);
        if (r < 0)
                return r;
        workdir = o->cwd ?: ic->working_dir;
        free(c->process->cwd);
        if (isempty(workdir))
                c->process->cwd = strdup("/");
        else if (workdir[0] == '/')
                c->process->cwd = strdup(workdir);
        else
                r = xasprintf(&c->process->cwd, "/%s", workdir);
        if (r < 0 || !c->process->cwd)
                return -ENOMEM;
        c->process->terminal = o->terminal;

        free(c->process->user.additional_gids);
        r = img_resolve_user(c->root_path, o->user ?: ic->user, &c->process->user, error_msg);
        if (r < 0)
                return r;
        if (o->hostname) {
                free(c->hostname);
                c->hostname = strdup(o->hostname);
                if (!c->hostname)
                        return -ENOMEM;
        }
        r = annotations_from_image(c, ic);
        if (r >= 0)
                r = apply_limits(c, o);
        if (r < 0)
                return r;

        r = oci_config_emit(c, true, &out);
        if (r < 0)
                return img_err(error_msg, r, "cannot serialize config.json: %s", strerror(-r));
        r = mkdir_p(bundle_dir, 0700);
        if (r < 0)
                return img_err(error_msg, r, "cannot create '%s': %s", bundle_dir, strerror(-r));
        dfd = open(bundle_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return img_err(error_msg, -errno, "cannot open '%s': %m", bundle_dir);
        r = write_file_atomic_at(dfd, "config.json", out, strlen(out), 0644);
        if (r < 0)
                return img_err(error_msg, r, "cannot write %s/config.json: %s", bundle_dir, strerror(-r));
        return 0;
}
