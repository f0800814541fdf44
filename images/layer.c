/* SPDX-License-Identifier: Apache-2.0 */

/*
 * One layer tar -> one squashfs, applying the image-spec's layer rules
 * (layer.md) within the layer and expressing what reaches below it in
 * overlayfs terms, so that an overlay of the layers' squashfs images shows
 * what applying the changesets in order would have produced:
 *
 *   ".wh.NAME"            -> NAME as a 0/0 character device (an overlayfs whiteout),
 *                            unless NAME itself is in this layer (layer.md: whiteouts
 *                            apply only to lower layers)
 *   "DIR/.wh..wh..opq"    -> DIR gets trusted.overlay.opaque=y and user.overlay.opaque=y
 *                            (the latter for overlays mounted with "userxattr")
 *   NAME deleted by ".wh.NAME" and recreated as a directory in the same layer
 *                         -> an opaque directory
 *
 * Nothing is ever extracted onto the host, so a hostile layer cannot write
 * outside its image; still, entries that would escape a real extraction are
 * refused so that the image means the same everywhere: absolute paths, ".."
 * components, paths through a symlink, hard links to anything not earlier in
 * this layer. Device nodes are refused unless the caller allows them.
 */

#include "images-internal.h"

#define OPAQUE_XATTR_TRUSTED "trusted.overlay.opaque"
#define OPAQUE_XATTR_USER "user.overlay.opaque"

void img_layer_result_done(ImgLayerResult *r) {
        img_layer_summary_done(&r->summary);
        *r = (ImgLayerResult){};
}

int img_path_split(const char *path, size_t max_path, char ***ret, char **error_msg) {
        _cleanup_strv_free_ char **v = NULL;
        size_t n = 0;
        int r;

        if (strlen(path) > max_path)
                return img_err(error_msg, -ENAMETOOLONG, "path is longer than %zu bytes", max_path);
        /* "/" alone names the root (umoci writes it so); any other absolute path is refused. */
        if (path[0] == '/' && path[strspn(path, "/")] != '\0')
                return img_err(error_msg, -EPERM, "'%s' is an absolute path", path);
        for (const char *p = path; *p;) {
                size_t len = strcspn(p, "/");
                if (len == 2 && p[0] == '.' && p[1] == '.')
                        return img_err(error_msg, -EPERM, "'%s' has a '..' component", path);
                if (len > 255)
                        return img_err(error_msg, -ENAMETOOLONG,
                                       "'%s' has a component longer than 255 bytes", path);
                if (len > 0 && !(len == 1 && p[0] == '.')) {
                        _cleanup_free_ char *c = strndup(p, len);
                        if (!c)
                                return -ENOMEM;
                        r = strv_push(&v, c);
                        if (r < 0)
                                return r;
                        c = NULL;
                        n++;
                }
                p += len;
                while (*p == '/')
                        p++;
        }
        if (!v) {
                v = calloc(1, sizeof(char *));
                if (!v)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(v);
        return (int) n;
}

typedef struct Builder {
        SqfsWriter *w;
        TarReader *tar;
        const ImgLayerOptions *o;
        char **error_msg;
        uint8_t *buf;
        size_t implicit;
} Builder;

#define COPY_BUF (256 * 1024)

static uint32_t clamp_mtime(int64_t t) {
        return t < 0 ? 0 : t > (int64_t) UINT32_MAX ? UINT32_MAX : (uint32_t) t;
}

static int mark_opaque(Builder *b, SqfsNode *dir) {
        int r;

        sqfs_node_set_flags(dir, sqfs_node_flags(dir) | SQFS_NODE_OPAQUE);
        r = sqfs_node_add_xattr(b->w, dir, OPAQUE_XATTR_TRUSTED, "y", 1);
        if (r >= 0)
                r = sqfs_node_add_xattr(b->w, dir, OPAQUE_XATTR_USER, "y", 1);
        return r;
}

static int join_prefix(char *const *comps, size_t n, char **ret) {
        size_t len = 0;
        char *s, *p;

        for (size_t i = 0; i < n; i++)
                len += strlen(comps[i]) + 1;
        s = p = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        *s = '\0';
        for (size_t i = 0; i < n; i++)
                p = stpcpy(stpcpy(p, i ? "/" : ""), comps[i]);
        *ret = s;
        return 0;
}

/*
 * Attributes for a parent the layer does not list: those of the directory
 * below (lower layers), else 0755 root. A symlink below would make a real
 * extraction write through it: refused.
 */
static int implicit_attr(Builder *b, const char *path, char *const *comps, size_t n, SqfsAttr *ret) {
        ImgDirAttr a;
        ImgViewKind k = b->o->lower ? img_view_lookup(b->o->lower, comps, n, &a) : IMG_VIEW_NONE;

        *ret = (SqfsAttr){ .mode = S_IFDIR | 0755 };
        if (k == IMG_VIEW_SYMLINK) {
                _cleanup_free_ char *via = NULL;
                int r = join_prefix(comps, n, &via);
                if (r < 0)
                        return r;
                return img_err(b->error_msg, -EPERM, "'%s' leads through '%s', a symlink in a lower layer",
                               path, via);
        }
        if (k == IMG_VIEW_DIR)
                *ret = (SqfsAttr){
                        .mode = S_IFDIR | (a.mode & 07777), .uid = a.uid, .gid = a.gid, .mtime = a.mtime
                };
        return 0;
}

/* Walk to the directory holding the last component, creating missing parents. */
static int resolve_parent(Builder *b, const char *path, char *const *comps, size_t n, SqfsNode **ret) {
        SqfsNode *dir = sqfs_writer_root(b->w);
        int r;

        for (size_t i = 0; i + 1 < n; i++) {
                SqfsNode *c = sqfs_node_lookup(b->w, dir, comps[i]);
                uint32_t mode = c ? sqfs_node_mode(c) : 0;
                SqfsAttr implicit = { .mode = S_IFDIR | 0755 };

                if (c && S_ISDIR(mode)) {
                        dir = c;
                        continue;
                }
                if (c && S_ISLNK(mode)) {
                        _cleanup_free_ char *via = NULL;
                        r = join_prefix(comps, i + 1, &via);
                        if (r < 0)
                                return r;
                        return img_err(b->error_msg, -EPERM, "'%s' leads through the symlink '%s'", path, via);
                }
                if (c && !sqfs_node_is_whiteout(c)) {
                        _cleanup_free_ char *via = NULL;
                        r = join_prefix(comps, i + 1, &via);
                        if (r < 0)
                                return r;
                        return img_err(b->error_msg, -ENOTDIR, "'%s': '%s' is not a directory", path, via);
                }
                /* Missing: inherit from below. Deleted by a whiteout in this layer: a new, opaque one. */
                bool whited_out = c;
                if (!whited_out) {
                        r = implicit_attr(b, path, comps, i + 1, &implicit);
                        if (r < 0)
                                return r;
                }
                r = sqfs_writer_add(b->w, dir, comps[i], &implicit, &dir); /* frees c */
                if (r < 0)
                        return r;
                sqfs_node_set_flags(dir, SQFS_NODE_IMPLICIT);
                b->implicit++;
                if (whited_out) {
                        r = mark_opaque(b, dir);
                        if (r < 0)
                                return r;
                }
        }
        *ret = dir;
        return 0;
}

static int filter_xattrs(Builder *b, const TarEntry *e, TarXattr **ret, size_t *ret_n) {
        TarXattr *v = NULL;
        size_t n = 0;

        if (e->n_xattrs > 0) {
                v = calloc(e->n_xattrs, sizeof(*v));
                if (!v)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < e->n_xattrs; i++) {
                const char *name = e->xattrs[i].name;
                /*
                 * overlay.* attributes steer overlayfs itself (whiteouts, redirects, metacopy):
                 * only this converter may set them. squashfs stores only the user, trusted and
                 * security namespaces, so ACLs (system.*) cannot be kept.
                 */
                if (startswith(name, "trusted.overlay.") || startswith(name, "user.overlay."))
                        continue;
                if (!startswith(name, "user.") && !startswith(name, "trusted.") &&
                    !startswith(name, "security."))
                        continue;
                v[n++] = e->xattrs[i]; /* borrowed */
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int add_whiteout(Builder *b, SqfsNode *dir, const char *path, const char *target) {
        SqfsAttr wh = { .mode = S_IFCHR, .rdev = 0 };
        SqfsNode *existing;

        if (isempty(target) || streq(target, ".") || streq(target, ".."))
                return img_err(b->error_msg, -EINVAL, "'%s' is not a valid whiteout", path);
        existing = sqfs_node_lookup(b->w, dir, target);
        if (existing)
                return 0; /* the entry of this layer wins (layer.md "Whiteouts") */
        return sqfs_writer_add(b->w, dir, target, &wh, NULL);
}

static int add_file_data(Builder *b, const TarEntry *e) {
        int r;

        for (;;) {
                ssize_t n = tar_read(b->tar, b->buf, COPY_BUF);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        break;
                r = sqfs_writer_append(b->w, b->buf, (size_t) n);
                if (r < 0)
                        return r;
        }
        return sqfs_writer_end_file(b->w);
}

static int add_hardlink(Builder *b, SqfsNode *dir, const char *name, const TarEntry *e) {
        _cleanup_strv_free_ char **comps = NULL;
        SqfsNode *target = sqfs_writer_root(b->w);
        int n;

        n = img_path_split(e->link, b->o->limits->max_path, &comps, NULL);
        if (n <= 0)
                return img_err(b->error_msg, -EPERM, "hard link '%s' points to '%s', outside the layer",
                               e->path, e->link);
        for (int i = 0; i < n && target; i++) {
                if (i > 0 && !S_ISDIR(sqfs_node_mode(target)))
                        target = NULL;
                else
                        target = sqfs_node_lookup(b->w, target, comps[i]);
        }
        if (!target || S_ISDIR(sqfs_node_mode(target)) || sqfs_node_is_whiteout(target))
                return img_err(b->error_msg, -EPERM,
                               "hard link '%s' points to '%s', which is not a file earlier in this layer",
                               e->path, e->link);
        return sqfs_writer_link(b->w, dir, name, target, NULL);
}

static int add_entry(Builder *b, const TarEntry *e) {
        _cleanup_strv_free_ char **comps = NULL;
        _cleanup_free_ TarXattr *xattrs = NULL;
        SqfsNode *dir = NULL, *existing, *node;
        SqfsAttr a = {};
        const char *name;
        int n, r;

        n = img_path_split(e->path, b->o->limits->max_path, &comps, b->error_msg);
        if (n < 0)
                return n;
        r = filter_xattrs(b, e, &xattrs, &a.n_xattrs);
        if (r < 0)
                return r;
        a.xattrs = xattrs;
        a.uid = e->uid;
        a.gid = e->gid;
        a.mtime = clamp_mtime(e->mtime);

        if (n == 0) {
                /* "./": the root directory's own metadata. */
                if (e->type != TAR_DIR)
                        return img_err(b->error_msg, -EINVAL, "'%s' names the root but is not a directory",
                                       e->path);
                a.mode = S_IFDIR | e->mode;
                return sqfs_node_set_attr(b->w, sqfs_writer_root(b->w), &a);
        }
        r = resolve_parent(b, e->path, comps, (size_t) n, &dir);
        if (r < 0)
                return r;
        name = comps[n - 1];

        if (startswith(name, ".wh.")) {
                if (streq(name, ".wh..wh..opq"))
                        return mark_opaque(b, dir);
                if (startswith(name, ".wh..wh."))
                        return 0; /* AUFS bookkeeping (".wh..wh.plnk", ".wh..wh.aufs"): not content */
                return add_whiteout(b, dir, e->path, name + STRLEN(".wh."));
        }

        existing = sqfs_node_lookup(b->w, dir, name);
        switch (e->type) {
        case TAR_DIR:
                a.mode = S_IFDIR | e->mode;
                if (existing && S_ISDIR(sqfs_node_mode(existing))) {
                        /* layer.md "Changeset over existing files": directories keep their contents. */
                        unsigned flags = sqfs_node_flags(existing);
                        r = sqfs_node_set_attr(b->w, existing, &a);
                        if (r < 0)
                                return r;
                        sqfs_node_set_flags(existing, flags & ~SQFS_NODE_IMPLICIT);
                        return (flags & SQFS_NODE_OPAQUE) ? mark_opaque(b, existing) : 0;
                }
                /* Deleted below by a whiteout of this layer and recreated: the lower one must not show. */
                bool was_whiteout = existing && sqfs_node_is_whiteout(existing);
                r = sqfs_writer_add(b->w, dir, name, &a, &node); /* frees existing */
                if (r < 0)
                        return r;
                return was_whiteout ? mark_opaque(b, node) : 0;
        case TAR_REG:
                a.mode = S_IFREG | e->mode;
                r = sqfs_writer_add(b->w, dir, name, &a, NULL);
                if (r < 0)
                        return r;
                return add_file_data(b, e);
        case TAR_HARDLINK:
                return add_hardlink(b, dir, name, e);
        case TAR_SYMLINK:
                if (isempty(e->link))
                        return img_err(b->error_msg, -EINVAL, "symlink '%s' has an empty target", e->path);
                a.mode = S_IFLNK | 0777;
                a.link = e->link;
                return sqfs_writer_add(b->w, dir, name, &a, NULL);
        case TAR_CHR:
        case TAR_BLK:
                if (!b->o->allow_devices)
                        return img_err(b->error_msg, -EPERM,
                                       "'%s' is a device node (%u:%u); device nodes are only accepted when importing "
                                       "as root",
                                       e->path, e->devmajor, e->devminor);
                a.mode = (e->type == TAR_CHR ? S_IFCHR : S_IFBLK) | e->mode;
                a.rdev = e->devmajor << 20 | e->devminor;
                return sqfs_writer_add(b->w, dir, name, &a, NULL);
        case TAR_FIFO:
                a.mode = S_IFIFO | e->mode;
                return sqfs_writer_add(b->w, dir, name, &a, NULL);
        default:
                return img_err(b->error_msg, -EOPNOTSUPP, "'%s' has an unsupported type", e->path);
        }
}

typedef struct Collect {
        ImgLayerResult *res;
        char *path;
        size_t len, size;
} Collect;

static int collect_walk(SqfsWriter *w, SqfsNode *dir, Collect *c);

static int collect_node(SqfsWriter *w, SqfsNode *n, Collect *c) {
        ImgLayerSummary *sum = &c->res->summary;
        const char *name = sqfs_node_name(n);
        size_t saved = c->len, need = c->len + strlen(name) + 2;
        uint32_t mode = sqfs_node_mode(n);
        int r = 0;

        if (need > c->size) {
                char *p = realloc(c->path, need * 2);
                if (!p)
                        return -ENOMEM;
                c->path = p;
                c->size = need * 2;
        }
        c->len += (size_t) sprintf(c->path + c->len, "%s%s", c->len ? "/" : "", name);
        if (S_ISLNK(mode))
                r = strv_extend(&sum->symlinks, c->path);
        else if (sqfs_node_is_whiteout(n))
                r = strv_extend(&sum->whiteouts, c->path);
        else if (S_ISDIR(mode)) {
                ImgDirAttr *grown = reallocarray(sum->dirs, sum->n_dirs + 1, sizeof(*grown));
                if (!grown)
                        return -ENOMEM;
                sum->dirs = grown;
                grown[sum->n_dirs] = (ImgDirAttr){ .path = strdup(c->path) };
                if (!grown[sum->n_dirs].path)
                        return -ENOMEM;
                sqfs_node_get_attr(
                                n, &grown[sum->n_dirs].mode, &grown[sum->n_dirs].uid,
                                &grown[sum->n_dirs].gid, &grown[sum->n_dirs].mtime);
                sum->n_dirs++;
                if (sqfs_node_flags(n) & SQFS_NODE_OPAQUE)
                        r = strv_extend(&sum->opaque_dirs, c->path);
                if (r >= 0)
                        r = collect_walk(w, n, c);
        }
        c->len = saved;
        c->path[saved] = '\0';
        return r;
}

static int collect_walk(SqfsWriter *w, SqfsNode *dir, Collect *c) {
        for (SqfsNode *n = sqfs_node_first_child(dir); n; n = sqfs_node_next_sibling(n)) {
                int r = collect_node(w, n, c);
                if (r < 0)
                        return r;
        }
        return 0;
}

int img_layer_convert(
                ImgStream *in,
                ImgCompression compression,
                int out_fd,
                const ImgLayerOptions *o,
                ImgLayerResult *ret,
                char **error_msg) {
        _cleanup_(img_stream_freep) ImgStream *owned = in, *plain = NULL, *hashed = NULL;
        _cleanup_(img_hash_freep) ImgHash *h = NULL;
        _cleanup_(tar_reader_freep) TarReader *tar = NULL;
        _cleanup_(sqfs_writer_freep) SqfsWriter *w = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_(img_layer_result_done) ImgLayerResult res = {};
        Collect col = { .res = &res };
        Builder b;
        size_t entries = 0;
        int r;

        r = img_hash_new(o->diff_id_algorithm ?: "sha256", &h);
        if (r < 0)
                return r;
        r = img_stream_decompress(TAKE_PTR(owned), compression, &plain);
        if (r < 0)
                return r;
        r = img_stream_tee(TAKE_PTR(plain), h, -1, UINT64_MAX, &res.tar_size, &hashed);
        if (r < 0)
                return r;
        r = tar_reader_new(hashed, o->limits, error_msg, &tar);
        if (r < 0)
                return r;
        r = sqfs_writer_new(out_fd, &o->sqfs, error_msg, &w);
        if (r < 0)
                return r;
        buf = malloc(COPY_BUF);
        if (!buf)
                return -ENOMEM;
        b = (Builder){ .w = w, .tar = tar, .o = o, .error_msg = error_msg, .buf = buf };

        for (;;) {
                const TarEntry *e;
                r = tar_next(tar, &e);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                entries++;
                r = add_entry(&b, e);
                if (r < 0)
                        return r;
        }
        /* Trailing blocks after the end marker still count for the diff_id. */
        r = img_stream_drain(hashed);
        if (r < 0)
                return r;
        r = img_hash_final(h, res.diff_id);
        if (r < 0)
                return r;
        r = sqfs_writer_finish(w, &res.squashfs_size);
        if (r < 0)
                return r;
        res.entries = entries;
        res.implicit_dirs = b.implicit;
        r = collect_walk(w, sqfs_writer_root(w), &col);
        free(col.path);
        if (r < 0)
                return r;
        *ret = res;
        res = (ImgLayerResult){};
        return 0;
}
