/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/sysmacros.h>

#include "rt-criu-internal.h"

/*
 * The decisions of checkpoint/restore that need no CRIU and no system:
 * which mounts and stdio fds are external to the container, what the image
 * metadata says, and what CRIU's log says went wrong. Unit-tested
 * (tests/unit/runtime/test-criu-plan.c).
 */

/* ------------------------------------------------------------- mountinfo */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape(const char *s, size_t len) {
        char *r = malloc(len + 1), *w = r;

        if (!r)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
                    s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
                        *w++ = (char) ((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
                        i += 3;
                } else
                        *w++ = s[i];
        }
        *w = 0;
        return r;
}

static void mountinfo_done(RtMountInfo *m) {
        free(m->root);
        free(m->mountpoint);
        free(m->fstype);
}

void rt_mountinfo_free(RtMountInfo *m, size_t n) {
        for (size_t i = 0; i < n; i++)
                mountinfo_done(&m[i]);
        free(m);
}

/* Split line into its space-separated fields (at most max). */
static size_t split_fields(const char *line, const char **f, size_t *len, size_t max) {
        size_t n = 0;

        for (const char *p = line; *p && n < max;) {
                while (*p == ' ')
                        p++;
                if (!*p)
                        break;
                f[n] = p;
                while (*p && *p != ' ')
                        p++;
                len[n] = (size_t) (p - f[n]);
                n++;
        }
        return n;
}

static int parse_one(const char *line, RtMountInfo *ret) {
        const char *f[64];
        size_t len[64], n, sep;
        RtMountInfo m = {};

        n = split_fields(line, f, len, ELEMENTSOF(f));
        /* id parent maj:min root mountpoint options [optional...] - fstype source super */
        for (sep = 6; sep < n; sep++)
                if (len[sep] == 1 && f[sep][0] == '-')
                        break;
        if (n < 7 || sep + 1 >= n)
                return 0;
        if (sscanf(f[0], "%d", &m.id) != 1 || sscanf(f[2], "%u:%u", &m.major, &m.minor) != 2)
                return 0;
        m.root = unescape(f[3], len[3]);
        m.mountpoint = unescape(f[4], len[4]);
        m.fstype = unescape(f[sep + 1], len[sep + 1]);
        if (!m.root || !m.mountpoint || !m.fstype) {
                mountinfo_done(&m);
                return -ENOMEM;
        }
        *ret = m;
        return 1;
}

int rt_mountinfo_parse(const char *text, RtMountInfo **ret, size_t *ret_n) {
        RtMountInfo *l = NULL;
        size_t n = 0;

        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t ll = nl ? (size_t) (nl - p) : strlen(p);
                _cleanup_free_ char *line = strndup(p, ll);
                RtMountInfo m, *nw;
                int r;

                p = nl ? nl + 1 : NULL;
                if (!line) {
                        rt_mountinfo_free(l, n);
                        return -ENOMEM;
                }
                r = parse_one(line, &m);
                if (r == 0)
                        continue;
                nw = r > 0 ? realloc(l, sizeof *l * (n + 1)) : NULL;
                if (!nw) {
                        if (r > 0)
                                mountinfo_done(&m);
                        rt_mountinfo_free(l, n);
                        return -ENOMEM;
                }
                l = nw;
                l[n++] = m;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

/* ------------------------------------------------------- external mounts */

static const char *const ext_kind_names[_RT_EXT_MOUNT_KIND_MAX] = {
        [RT_EXT_MOUNT_BIND] = "bind",
        [RT_EXT_MOUNT_CGROUP] = "cgroup",
        [RT_EXT_MOUNT_HOST] = "host",
};

const char *rt_ext_mount_kind_to_string(RtExtMountKind k) {
        return k >= 0 && k < _RT_EXT_MOUNT_KIND_MAX ? ext_kind_names[k] : NULL;
}

RtExtMountKind rt_ext_mount_kind_from_string(const char *s) {
        for (int i = 0; s && i < _RT_EXT_MOUNT_KIND_MAX; i++)
                if (streq(s, ext_kind_names[i]))
                        return (RtExtMountKind) i;
        return _RT_EXT_MOUNT_KIND_INVALID;
}

static void ext_mount_done(RtExtMount *e) {
        free(e->mountpoint);
        free(e->source);
        free(e->hierarchy);
        free(e->cgroup);
}

void rt_ext_mounts_free(RtExtMount *m, size_t n) {
        for (size_t i = 0; i < n; i++)
                ext_mount_done(&m[i]);
        free(m);
}

/* "/a//b/" -> "/a/b"; NULL on OOM. */
static char *normalize(const char *p) {
        char *r = malloc(strlen(p) + 2), *w = r;

        if (!r)
                return NULL;
        if (*p != '/')
                *w++ = '/';
        for (; *p; p++)
                if (*p != '/' || w == r || w[-1] != '/')
                        *w++ = *p;
        if (w > r + 1 && w[-1] == '/')
                w--;
        *w = 0;
        return r;
}

/* Is path at or below prefix? Both normalized. */
static bool path_below(const char *prefix, const char *path) {
        const char *rest;

        if (streq(prefix, "/"))
                return path[0] == '/';
        rest = startswith(path, prefix);
        return rest && (*rest == 0 || *rest == '/');
}

/* The remainder of path below prefix ("" when equal). */
static const char *path_rest(const char *prefix, const char *path) {
        return streq(prefix, "/") ? path + 1 : path + strlen(prefix) + (path[strlen(prefix)] == '/');
}

static bool mount_is_bind(const OciMount *m) {
        return streq_ptr(m->type, "bind") || strv_contains(m->options, "bind") ||
                        strv_contains(m->options, "rbind");
}

/* The last bind mount of config.json at mountpoint (normalized), or NULL. */
static const OciMount *config_bind_at(const OciConfig *c, const char *mountpoint) {
        const OciMount *found = NULL;

        for (size_t i = 0; c && i < c->n_mounts; i++) {
                _cleanup_free_ char *d = normalize(c->mounts[i].destination);
                if (d && streq(d, mountpoint) && mount_is_bind(&c->mounts[i]))
                        found = &c->mounts[i];
        }
        return found;
}

/* Where the part of a filesystem that m shows lives on the host: the most specific host mount of it. */
static int host_path_of(const RtMountInfo *m, const RtMountInfo *host, size_t n_host, char **ret) {
        const RtMountInfo *best = NULL;

        for (size_t i = 0; i < n_host; i++) {
                const RtMountInfo *h = &host[i];
                if (h->major != m->major || h->minor != m->minor || !path_below(h->root, m->root))
                        continue;
                if (!best || strlen(h->root) > strlen(best->root))
                        best = h;
        }
        if (!best) {
                *ret = NULL;
                return 0;
        }
        *ret = *path_rest(best->root, m->root) ? path_join(best->mountpoint, path_rest(best->root, m->root))
                                               : strdup(best->mountpoint);
        return *ret ? 0 : -ENOMEM;
}

/* Does another mount of the container show a part of m's filesystem that contains m's? */
static bool has_provider(const RtMountInfo *ctr, size_t n, size_t self) {
        for (size_t i = 0; i < n; i++)
                if (i != self && ctr[i].major == ctr[self].major && ctr[i].minor == ctr[self].minor &&
                    path_below(ctr[i].root, ctr[self].root))
                        return true;
        return false;
}

static int add_ext_mount(
                const RtMountInfo *m,
                RtExtMountKind kind,
                const RtMountInfo *host,
                size_t n_host,
                RtExtMount **l,
                size_t *n) {
        RtExtMount e = { .kind = kind }, *nl;
        int r;

        e.mountpoint = strdup(m->mountpoint);
        r = e.mountpoint ? host_path_of(m, host, n_host, &e.source) : -ENOMEM;
        if (r >= 0 && kind == RT_EXT_MOUNT_CGROUP) {
                /* The hierarchy: the host's mount of the whole cgroup filesystem. */
                for (size_t i = 0; i < n_host && !e.hierarchy; i++)
                        if (host[i].major == m->major && host[i].minor == m->minor && streq(host[i].root, "/"))
                                e.hierarchy = strdup(host[i].mountpoint);
                e.cgroup = strdup(m->root);
                if (!e.cgroup)
                        r = -ENOMEM;
        }
        nl = r >= 0 ? realloc(*l, sizeof **l * (*n + 1)) : NULL;
        if (!nl) {
                ext_mount_done(&e);
                return r < 0 ? r : -ENOMEM;
        }
        *l = nl;
        (*l)[(*n)++] = e;
        return 0;
}

int rt_criu_external_mounts(
                const OciConfig *c,
                const RtMountInfo *ctr,
                size_t n_ctr,
                const RtMountInfo *host,
                size_t n_host,
                RtExtMount **ret,
                size_t *ret_n) {
        RtExtMount *l = NULL;
        size_t n = 0;
        int r;

        for (size_t i = 0; i < n_ctr; i++) {
                const RtMountInfo *m = &ctr[i];
                bool cgroup = streq(m->fstype, "cgroup") || streq(m->fstype, "cgroup2");
                RtExtMountKind kind;

                if (streq(m->mountpoint, "/"))
                        continue; /* the rootfs: CRIU's root */
                if (config_bind_at(c, m->mountpoint))
                        kind = RT_EXT_MOUNT_BIND; /* runc's rule: every configured bind is external */
                else if (streq(m->root, "/") || has_provider(ctr, n_ctr, i))
                        continue; /* a whole filesystem (CRIU mounts it anew), or a bind inside the container */
                else
                        kind = cgroup ? RT_EXT_MOUNT_CGROUP : RT_EXT_MOUNT_HOST;
                r = add_ext_mount(m, kind, host, n_host, &l, &n);
                if (r < 0) {
                        rt_ext_mounts_free(l, n);
                        return r;
                }
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int rt_criu_ext_mount_source(
                const RtExtMount *e,
                const OciConfig *c,
                const char *bundle,
                const char *old_cgroup,
                const char *new_cgroup,
                char **ret) {
        const OciMount *b;
        char *s = NULL;

        switch (e->kind) {
        case RT_EXT_MOUNT_BIND:
                b = config_bind_at(c, e->mountpoint);
                if (b && b->source) {
                        s = b->source[0] == '/' || !bundle ? strdup(b->source) : path_join(bundle, b->source);
                        if (!s)
                                return -ENOMEM;
                        *ret = s;
                        return 0;
                }
                break;
        case RT_EXT_MOUNT_CGROUP:
                /* The same place below the new container's cgroup as below the old one. */
                if (e->hierarchy && e->cgroup && old_cgroup && new_cgroup &&
                    path_below(old_cgroup, e->cgroup)) {
                        _cleanup_free_ char *cg = *path_rest(old_cgroup, e->cgroup)
                                        ? path_join(new_cgroup, path_rest(old_cgroup, e->cgroup))
                                        : strdup(new_cgroup);
                        s = cg ? path_join(e->hierarchy, cg) : NULL;
                        if (!s)
                                return -ENOMEM;
                        *ret = s;
                        return 0;
                }
                break;
        default:
                break;
        }
        if (!e->source)
                return -ENOENT;
        s = strdup(e->source);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

bool rt_criu_mount_needs_point(const OciConfig *c, size_t i) {
        _cleanup_free_ char *d = normalize(c->mounts[i].destination);

        if (!d || streq(d, "/"))
                return false;
        for (size_t j = 0; j < c->n_mounts; j++) {
                _cleanup_free_ char *o = NULL;
                if (j == i)
                        continue;
                o = normalize(c->mounts[j].destination);
                if (!o || (!streq(o, "/") && !streq(o, d) && path_below(o, d)))
                        return false;
        }
        return true;
}

/* ------------------------------------------------------------------ stdio */

int rt_criu_fd_keys(const RtFdInfo *f, char **ret_external, char **ret_key) {
        _cleanup_free_ char *ext = NULL, *key = NULL;
        int r = 0;

        if (S_ISFIFO(f->mode) && startswith(f->link, "pipe:")) {
                /* CRIU dumps the pipe itself; restore plugs in the caller's end. */
                key = strdup(f->link);
                r = key ? 0 : -ENOMEM;
        } else if (S_ISSOCK(f->mode)) {
                /* A socket whose peer is ours: external (CRIU's "unix[INODE]"), the caller's on restore. */
                if (xasprintf(&ext, "unix[%" PRIu64 "]", (uint64_t) f->ino) < 0 ||
                    xasprintf(&key, "socket:[%" PRIu64 "]", (uint64_t) f->ino) < 0)
                        r = -ENOMEM;
        } else if (f->in_container) {
                /* The container's own (its pty, a file in it): CRIU restores it. */
        } else if (S_ISCHR(f->mode) &&
                   (major(f->rdev) == 4 || major(f->rdev) == 5 ||
                    (major(f->rdev) >= 136 && major(f->rdev) <= 143))) {
                /* A terminal of ours: criu names it by tty[rdev:dev]. */
                if (xasprintf(&ext, "tty[%" PRIx64 ":%" PRIx64 "]", (uint64_t) f->rdev, (uint64_t) f->dev) < 0)
                        r = -ENOMEM;
                else if (!(key = strdup(ext)))
                        r = -ENOMEM;
        } else {
                /* A file or device of ours (a log file, /dev/null): criu names it by file[MNT_ID:INODE]. */
                if (xasprintf(&ext, "file[%x:%" PRIx64 "]", (unsigned) f->mnt_id, (uint64_t) f->ino) < 0)
                        r = -ENOMEM;
                else if (!(key = strdup(ext)))
                        r = -ENOMEM;
        }
        if (r < 0)
                return r;
        *ret_external = TAKE_PTR(ext);
        *ret_key = TAKE_PTR(key);
        return 0;
}

const char *rt_criu_key_kind(const char *key) {
        if (startswith(key, "pipe:["))
                return "a pipe";
        if (startswith(key, "socket:["))
                return "a socket";
        if (startswith(key, "tty["))
                return "a terminal";
        if (startswith(key, "file["))
                return "a file";
        return NULL;
}

const char *rt_criu_mode_kind(mode_t mode, bool is_tty) {
        if (S_ISFIFO(mode))
                return "a pipe";
        if (S_ISSOCK(mode))
                return "a socket";
        if (is_tty)
                return "a terminal";
        if (S_ISREG(mode) || S_ISCHR(mode) || S_ISBLK(mode))
                return "a file";
        return "something else";
}

bool rt_criu_key_accepts(const char *key, mode_t mode, bool is_tty) {
        const char *want = rt_criu_key_kind(key);
        return want && streq(want, rt_criu_mode_kind(mode, is_tty));
}

/* ---------------------------------------------------------------- metadata */

int rt_criu_meta_format(const RtCriuMeta *m, char **ret) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        int r;

        r = json_writer_new(true, &w);
        if (r < 0)
                return r;
        jw_object_open(w);
        jw_key(w, "version");
        jw_int(w, RT_CRIU_META_VERSION);
        jw_key(w, "id");
        jw_string(w, m->id);
        jw_key(w, "cgroup");
        jw_string(w, m->cgroup);
        jw_key(w, "terminal");
        jw_bool(w, m->terminal);
        jw_key(w, "stdio");
        jw_array_open(w);
        for (size_t i = 0; i < 3; i++)
                jw_string(w, m->stdio[i]);
        jw_array_close(w);
        jw_key(w, "externalNetns");
        jw_bool(w, m->external_netns);
        jw_key(w, "externalPidns");
        jw_bool(w, m->external_pidns);
        jw_key(w, "mounts");
        jw_array_open(w);
        for (size_t i = 0; i < m->n_mounts; i++) {
                const RtExtMount *e = &m->mounts[i];
                jw_object_open(w);
                jw_key(w, "mountpoint");
                jw_string(w, e->mountpoint);
                jw_key(w, "kind");
                jw_string(w, rt_ext_mount_kind_to_string(e->kind));
                jw_key(w, "source");
                jw_string(w, e->source);
                if (e->kind == RT_EXT_MOUNT_CGROUP) {
                        jw_key(w, "hierarchy");
                        jw_string(w, e->hierarchy);
                        jw_key(w, "cgroup");
                        jw_string(w, e->cgroup);
                }
                jw_object_close(w);
        }
        jw_array_close(w);
        jw_object_close(w);
        return json_writer_finish(w, ret, NULL);
}

void rt_criu_meta_done(RtCriuMeta *m) {
        free(m->id);
        free(m->cgroup);
        for (size_t i = 0; i < 3; i++)
                free(m->stdio[i]);
        rt_ext_mounts_free(m->mounts, m->n_mounts);
        *m = (RtCriuMeta){};
}

/* An optional string: absent and null give NULL. */
static int want_opt_string(JsonVal v, const char *path, char **ret, char **err) {
        if (!v || v->type == yajl_t_null) {
                *ret = NULL;
                return 0;
        }
        return json_want_string(v, path, ret, err);
}

static int parse_mount(JsonVal v, const char *path, RtExtMount *e, char **err) {
        _cleanup_free_ char *kind = NULL;
        char p[JSON_PATH_MAX];
        int r;

        r = json_want_type(v, path, yajl_t_object, err);
        if (r < 0)
                return r;
        if ((r = json_want_string(
                             json_get(v, "mountpoint"), json_path_key(p, sizeof p, path, "mountpoint"),
                             &e->mountpoint, err)) < 0 ||
            (r = json_want_string(json_get(v, "kind"), json_path_key(p, sizeof p, path, "kind"), &kind, err)) <
                            0 ||
            (r = want_opt_string(
                             json_get(v, "source"), json_path_key(p, sizeof p, path, "source"), &e->source,
                             err)) < 0 ||
            (r = want_opt_string(
                             json_get(v, "hierarchy"), json_path_key(p, sizeof p, path, "hierarchy"),
                             &e->hierarchy, err)) < 0 ||
            (r = want_opt_string(
                             json_get(v, "cgroup"), json_path_key(p, sizeof p, path, "cgroup"), &e->cgroup,
                             err)) < 0)
                return r;
        e->kind = rt_ext_mount_kind_from_string(kind);
        if (e->kind < 0)
                return json_error(err, json_path_key(p, sizeof p, path, "kind"), "unknown kind '%s'", kind);
        if (e->mountpoint[0] != '/')
                return json_error(err, json_path_key(p, sizeof p, path, "mountpoint"), "not an absolute path");
        return 0;
}

static int parse_meta(JsonVal v, RtCriuMeta *m, char **err) {
        JsonVal a;
        int64_t version;
        int r;

        r = json_want_type(v, "", yajl_t_object, err);
        if (r < 0)
                return r;
        if ((r = json_want_int64(json_get(v, "version"), "version", 1, INT32_MAX, &version, err)) < 0)
                return r;
        if (version != RT_CRIU_META_VERSION)
                return json_error(err, "version", "unsupported version %" PRIi64, version);
        if ((r = json_want_string(json_get(v, "id"), "id", &m->id, err)) < 0 ||
            (r = want_opt_string(json_get(v, "cgroup"), "cgroup", &m->cgroup, err)) < 0 ||
            (r = json_want_bool(json_get(v, "terminal"), "terminal", &m->terminal, err)) < 0 ||
            (r = json_want_bool(json_get(v, "externalNetns"), "externalNetns", &m->external_netns, err)) < 0 ||
            (r = json_want_bool(json_get(v, "externalPidns"), "externalPidns", &m->external_pidns, err)) < 0)
                return r;
        a = json_get(v, "stdio");
        if ((r = json_want_type(a, "stdio", yajl_t_array, err)) < 0)
                return r;
        if (a->u.array.len != 3)
                return json_error(err, "stdio", "must hold 3 entries");
        for (size_t i = 0; i < 3; i++) {
                char p[JSON_PATH_MAX];
                r = want_opt_string(
                                a->u.array.values[i], json_path_index(p, sizeof p, "stdio", i), &m->stdio[i],
                                err);
                if (r < 0)
                        return r;
        }
        a = json_get(v, "mounts");
        if ((r = json_want_type(a, "mounts", yajl_t_array, err)) < 0)
                return r;
        if (a->u.array.len > 0) {
                m->mounts = calloc(a->u.array.len, sizeof *m->mounts);
                if (!m->mounts)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < a->u.array.len; i++) {
                char p[JSON_PATH_MAX];
                m->n_mounts++;
                r = parse_mount(a->u.array.values[i], json_path_index(p, sizeof p, "mounts", i),
                                &m->mounts[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int rt_criu_meta_parse(const char *text, size_t len, RtCriuMeta *ret, char **err) {
        _cleanup_(json_freep) JsonVal v = NULL;
        RtCriuMeta m = {};
        int r;

        r = json_parse(text, len, &v, err);
        if (r < 0)
                return r;
        r = parse_meta(v, &m, err);
        if (r < 0) {
                rt_criu_meta_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

/* ------------------------------------------------------------------- misc */

int rt_criu_log_last_error(const char *text, char **ret) {
        const char *best = NULL;
        size_t best_len = 0;

        /* "(00.123456) Error (criu/mount.c:1234): the message" */
        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n'), *e = strstr(p, "Error (");
                size_t ll = nl ? (size_t) (nl - p) : strlen(p);

                if (e && e < p + ll) {
                        const char *msg = strstr(e, "): ");
                        if (msg && msg < p + ll) {
                                msg += 3;
                                best = msg;
                                best_len = (size_t) (p + ll - msg);
                        }
                }
                p = nl ? nl + 1 : NULL;
        }
        while (best_len > 0 && (best[best_len - 1] == ' ' || best[best_len - 1] == '\r'))
                best_len--;
        if (!best || best_len == 0)
                return -ENOENT;
        *ret = strndup(best, best_len);
        return *ret ? 0 : -ENOMEM;
}

int rt_cgroup_mode_to_criu(RtCgroupMode m) {
        /* rpc.proto: enum criu_cg_mode { IGNORE = 0; CG_NONE = 1; PROPS = 2; SOFT = 3; FULL = 4; STRICT = 5; } */
        switch (m) {
        case RT_CGROUP_MODE_SOFT:
                return 3;
        case RT_CGROUP_MODE_FULL:
                return 4;
        case RT_CGROUP_MODE_STRICT:
                return 5;
        case RT_CGROUP_MODE_IGNORE:
                return 0;
        default:
                return -1;
        }
}

RtCgroupMode rt_cgroup_mode_from_string(const char *s) {
        static const char *const names[_RT_CGROUP_MODE_MAX] = {
                [RT_CGROUP_MODE_SOFT] = "soft",
                [RT_CGROUP_MODE_FULL] = "full",
                [RT_CGROUP_MODE_STRICT] = "strict",
                [RT_CGROUP_MODE_IGNORE] = "ignore",
        };
        for (int i = 0; s && i < _RT_CGROUP_MODE_MAX; i++)
                if (names[i] && streq(s, names[i]))
                        return (RtCgroupMode) i;
        return _RT_CGROUP_MODE_INVALID;
}
