/* SPDX-License-Identifier: Apache-2.0 */

/*
 * Local import sources. Both formats are read through ImgFiles, a
 * read-only view of either a directory or an indexed tar archive, so that an
 * OCI layout, an OCI archive and a docker/podman save archive (or an
 * unpacked one) are handled by the same two readers:
 *
 *   OCI image layout (image-spec image-layout.md): oci-layout, index.json,
 *   blobs/<alg>/<hex>; the image is picked by its
 *   org.opencontainers.image.ref.name annotation or by platform.
 *
 *   docker save (moby image/spec "Combined Image JSON + Filesystem
 *   Changeset Format"): manifest.json = [{Config, RepoTags, Layers}], the
 *   config and layer tars at the listed paths; "repositories" is legacy and
 *   not needed. There is no manifest, so one is written (OCI media types)
 *   once the layers' digests are known.
 */

#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "images-internal.h"
#include "oci.h"

#define OCI_REF_NAME "org.opencontainers.image.ref.name"
#define MAX_LINK_DEPTH 16

/* ------------------------------------------------------------------ files */

typedef struct ArchiveEntry {
        char *name; /* normalized: no "./", no leading or trailing '/' */
        char *link; /* symlink or hardlink target */
        TarType type;
        uint64_t offset, size;
} ArchiveEntry;

typedef struct ImgFiles {
        int dirfd; /* a directory source, or -EBADF */
        int archive_fd; /* an archive source */
        ArchiveEntry *entries;
        size_t n_entries;
        char **error_msg;
} ImgFiles;

static ImgFiles *files_free(ImgFiles *f) {
        if (!f)
                return NULL;
        safe_close(f->dirfd);
        safe_close(f->archive_fd);
        for (size_t i = 0; i < f->n_entries; i++) {
                free(f->entries[i].name);
                free(f->entries[i].link);
        }
        free(f->entries);
        free(f);
        return NULL;
}
DEFINE_CLEANUP_FUNC(ImgFiles *, files_free);

/* Normalize an archive member name; NULL for names that leave the archive. */
static char *normalize_member(const char *base_dir, const char *path) {
        _cleanup_free_ char *joined = NULL;
        char **stack;
        size_t n = 0, len = 0;
        char *out, *p;

        if (path[0] == '/' || !base_dir)
                joined = strdup(path);
        else
                joined = path_join(base_dir, path);
        if (!joined)
                return NULL;
        stack = calloc(strlen(joined) + 1, sizeof(char *));
        if (!stack)
                return NULL;
        for (char *tok = strtok(joined, "/"); tok; tok = strtok(NULL, "/")) {
                if (streq(tok, "."))
                        continue;
                if (streq(tok, "..")) {
                        if (n == 0) {
                                free(stack);
                                return NULL;
                        }
                        n--;
                        continue;
                }
                stack[n++] = tok;
        }
        for (size_t i = 0; i < n; i++)
                len += strlen(stack[i]) + 1;
        out = p = malloc(len + 1);
        if (out) {
                *p = '\0';
                for (size_t i = 0; i < n; i++)
                        p = stpcpy(stpcpy(p, i ? "/" : ""), stack[i]);
        }
        free(stack);
        return out;
}

static int archive_index(ImgFiles *f, const ImgLimits *limits) {
        _cleanup_(img_stream_freep) ImgStream *s = NULL;
        _cleanup_(tar_reader_freep) TarReader *t = NULL;
        int r;

        r = img_stream_fd(f->archive_fd, 0, UINT64_MAX, f->error_msg, &s);
        if (r < 0)
                return r;
        r = tar_reader_new(s, limits, f->error_msg, &t);
        if (r < 0)
                return r;
        for (;;) {
                const TarEntry *e;
                ArchiveEntry *n;

                r = tar_next(t, &e);
                if (r < 0)
                        return img_err_wrap(f->error_msg, r, "reading the archive");
                if (r == 0)
                        return 0;
                if (f->n_entries >= limits->max_archive_entries)
                        return img_err(f->error_msg, -E2BIG, "the archive has more than %zu entries",
                                       limits->max_archive_entries);
                n = reallocarray(f->entries, f->n_entries + 1, sizeof(*n));
                if (!n)
                        return -ENOMEM;
                f->entries = n;
                n = &f->entries[f->n_entries];
                *n = (ArchiveEntry){ .type = e->type, .offset = tar_data_offset(t), .size = e->size };
                n->name = normalize_member(NULL, e->path);
                if (!n->name)
                        continue; /* escapes the archive: never looked up */
                n->link = strdup(e->link);
                if (!n->link) {
                        free(n->name);
                        return -ENOMEM;
                }
                f->n_entries++;
        }
}

static const ArchiveEntry *archive_find(ImgFiles *f, const char *name) {
        /* Last one wins, as extracting would. */
        for (size_t i = f->n_entries; i > 0; i--)
                if (streq(f->entries[i - 1].name, name))
                        return &f->entries[i - 1];
        return NULL;
}

/* Resolve symlinks and hard links inside the archive. */
static int archive_lookup(ImgFiles *f, const char *path, const ArchiveEntry **ret) {
        _cleanup_free_ char *cur = normalize_member(NULL, path);

        if (!cur)
                return -ENOENT;
        for (int depth = 0; depth < MAX_LINK_DEPTH; depth++) {
                const ArchiveEntry *e = archive_find(f, cur);
                char *next, *slash;

                if (!e)
                        return -ENOENT;
                if (e->type == TAR_REG) {
                        *ret = e;
                        return 0;
                }
                if (e->type == TAR_HARDLINK)
                        next = normalize_member(NULL, e->link);
                else if (e->type == TAR_SYMLINK) {
                        slash = strrchr(cur, '/');
                        if (slash)
                                *slash = '\0';
                        next = normalize_member(slash ? cur : NULL, e->link);
                } else
                        return -EISDIR;
                if (!next)
                        return -EPERM;
                free(cur);
                cur = next;
        }
        return -ELOOP;
}

static int files_open(ImgFiles *f, const char *path, ImgStream **ret, uint64_t *ret_size) {
        if (f->dirfd >= 0) {
                struct open_how how = {
                        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
                };
                struct stat st;
                int fd = (int) syscall(SYS_openat2, f->dirfd, path, &how, sizeof(how));
                if (fd < 0)
                        return -errno;
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                        safe_close(fd);
                        return -EISDIR;
                }
                *ret_size = (uint64_t) st.st_size;
                return img_stream_fd_take(fd, 0, (uint64_t) st.st_size, f->error_msg, ret);
        } else {
                const ArchiveEntry *e;
                int r = archive_lookup(f, path, &e);
                if (r < 0)
                        return r;
                *ret_size = e->size;
                return img_stream_fd(f->archive_fd, e->offset, e->size, f->error_msg, ret);
        }
}

static bool files_exists(ImgFiles *f, const char *path) {
        _cleanup_(img_stream_freep) ImgStream *s = NULL;
        uint64_t size;
        return files_open(f, path, &s, &size) >= 0;
}

/* Read a whole small file (at most max bytes). */
static int files_read(ImgFiles *f, const char *path, uint64_t max, char **ret, size_t *ret_len) {
        _cleanup_(img_stream_freep) ImgStream *s = NULL;
        _cleanup_free_ char *buf = NULL;
        uint64_t size;
        int r;

        r = files_open(f, path, &s, &size);
        if (r < 0)
                return img_err(f->error_msg, r, "cannot open '%s': %s", path, strerror(-r));
        if (size > max)
                return img_err(f->error_msg, -E2BIG, "'%s' is %" PRIu64 " bytes; the limit is %" PRIu64,
                               path, size, max);
        buf = malloc((size_t) size + 1);
        if (!buf)
                return -ENOMEM;
        r = img_stream_read_full(s, buf, (size_t) size);
        if (r < 0)
                return img_err_wrap(f->error_msg, r, "reading '%s'", path);
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = (size_t) size;
        return 0;
}

static int blob_member(const char *digest, char **ret) {
        char alg[16];
        const char *hex;

        if (img_digest_split(digest, alg, &hex) < 0)
                return -EINVAL;
        return xasprintf(ret, "blobs/%s/%s", alg, hex);
}

/* A blob, verified, at most max bytes and exactly size bytes when size is known. */
static int files_read_blob(ImgFiles *f, const char *digest, uint64_t size, uint64_t max, char **ret, size_t *ret_len) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        size_t len;
        int r;

        r = blob_member(digest, &path);
        if (r < 0)
                return img_err(f->error_msg, r, "invalid digest '%s'", digest ?: "");
        if (!files_exists(f, path))
                return img_err(f->error_msg, -ENOENT, "blob %s is missing", digest);
        r = files_read(f, path, max, &buf, &len);
        if (r < 0)
                return r;
        if (size != UINT64_MAX && len != size)
                return img_err(f->error_msg, -EBADMSG, "blob %s is %zu bytes, but %" PRIu64 " were declared",
                               digest, len, size);
        r = img_verify_digest(buf, len, digest, f->error_msg);
        if (r < 0)
                return img_err_wrap(f->error_msg, r, "blob %s", digest);
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* ------------------------------------------------------- source callbacks */

static int src_read_blob(void *userdata, ImgJob *j, const char *digest, uint64_t size, char **ret, size_t *ret_len) {
        return files_read_blob(userdata, digest, size, j->s->limits.max_config, ret, ret_len);
}

static int src_open_layer(
                void *userdata,
                ImgJob *j,
                unsigned index,
                const ImgJobLayer *l,
                ImgStream **ret,
                bool *ret_staged) {
        ImgFiles *f = userdata;
        _cleanup_free_ char *path = NULL;
        uint64_t size;
        int r;

        r = blob_member(l->digest, &path);
        if (r < 0)
                return r;
        r = files_open(f, path, ret, &size);
        if (r == -ENOENT)
                return img_err(f->error_msg, r, "blob %s is missing", l->digest);
        if (r < 0)
                return img_err(f->error_msg, r, "cannot open blob %s: %s", l->digest, strerror(-r));
        *ret_staged = false;
        return 0;
}

/* ------------------------------------------------------------------ names */

static const char *const archive_extensions[] = { ".tar.gz", ".tar.zst", ".tgz", ".tar", ".oci" };

/* A default repository name from a file name: "debian-12.tar.gz" -> "debian-12". */
static int name_from_path(const char *path, char **ret) {
        _cleanup_free_ char *copy = strdup(path), *s = NULL;
        const char *base;
        char *p;
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        while (strlen(copy) > 1 && endswith(copy, "/"))
                copy[strlen(copy) - 1] = '\0';
        base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
        s = malloc(strlen(base) + 1);
        if (!s)
                return -ENOMEM;
        for (const char *c = base; *c; c++) {
                char l = (char) ((*c >= 'A' && *c <= 'Z') ? *c - 'A' + 'a' : *c);
                s[n++] = ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '.' || l == '_' || l == '-')
                                ? l
                                : '-';
        }
        s[n] = '\0';
        FOREACH_ARRAY(ext, archive_extensions, ELEMENTSOF(archive_extensions))
                if (endswith(s, *ext) && strlen(s) > strlen(*ext)) {
                        s[strlen(s) - strlen(*ext)] = '\0';
                        break;
                }
        /* Trim separators at the ends so that the result is a valid path component. */
        for (p = s; *p && !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')); p++)
                ;
        memmove(s, p, strlen(p) + 1);
        while (*s &&
               !((s[strlen(s) - 1] >= 'a' && s[strlen(s) - 1] <= 'z') ||
                 (s[strlen(s) - 1] >= '0' && s[strlen(s) - 1] <= '9')))
                s[strlen(s) - 1] = '\0';
        if (!*s)
                return -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}

/* Names for the result: --name, else what the source says, else the file's name. */
static int pick_names(
                const char *opt_name,
                char *const *source_names,
                const char *tag,
                const char *path,
                char ***ret,
                char **error_msg) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *norm = NULL, *base = NULL;
        int r;

        if (opt_name) {
                r = img_name_normalize(opt_name, &norm, error_msg);
                if (r < 0)
                        return r;
                r = strv_push(&names, TAKE_PTR(norm));
                if (r < 0)
                        return r;
        } else {
                STRV_FOREACH(n, (char **) source_names)
                        if (img_name_normalize(*n, &norm, NULL) >= 0) {
                                r = strv_push(&names, TAKE_PTR(norm));
                                if (r < 0)
                                        return r;
                        }
                if (!names && name_from_path(path, &base) >= 0) {
                        _cleanup_free_ char *candidate = NULL;
                        if (xasprintf(&candidate, "%s:%s", base, tag ?: "latest") < 0)
                                return -ENOMEM;
                        if (img_name_normalize(candidate, &norm, NULL) >= 0 &&
                            strv_push(&names, TAKE_PTR(norm)) < 0)
                                return -ENOMEM;
                }
        }
        if (!names && !(names = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(names);
        return 0;
}

/* -------------------------------------------------------------- OCI layout */

static const char *descriptor_ref(const OciDescriptor *d) {
        for (size_t i = 0; i < d->n_annotations; i++)
                if (streq(d->annotations[i].key, OCI_REF_NAME))
                        return d->annotations[i].value;
        return NULL;
}

static bool is_index_type(const char *t) {
        return t && (streq(t, OCI_MEDIA_TYPE_INDEX) || streq(t, DOCKER_MEDIA_TYPE_MANIFEST_LIST));
}

static bool is_manifest_type(const char *t) {
        return t && (streq(t, OCI_MEDIA_TYPE_MANIFEST) || streq(t, DOCKER_MEDIA_TYPE_MANIFEST));
}

static int list_refs(const OciIndex *idx, char **ret) {
        _cleanup_free_ char *s = strdup("");
        for (size_t i = 0; s && i < idx->n_manifests; i++) {
                const char *ref = descriptor_ref(&idx->manifests[i]);
                char *n;
                if (!ref)
                        continue;
                if (xasprintf(&n, "%s%s%s", s, *s ? ", " : "", ref) < 0)
                        return -ENOMEM;
                free(s);
                s = n;
        }
        if (!s)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

static int layout_pick(
                ImgFiles *f,
                const OciIndex *idx,
                const char *ref,
                const char *platform,
                const OciDescriptor **ret) {
        _cleanup_free_ char *refs = NULL;
        const OciDescriptor *pick = NULL;
        bool all_platforms = idx->n_manifests > 0;

        if (ref) {
                for (size_t i = 0; i < idx->n_manifests; i++)
                        if (streq_ptr(descriptor_ref(&idx->manifests[i]), ref))
                                pick = &idx->manifests[i];
                if (!pick) {
                        if (list_refs(idx, &refs) < 0)
                                return -ENOMEM;
                        return img_err(f->error_msg, -ENOENT, "no image '%s' in index.json (refs: %s)", ref,
                                       *refs ? refs : "none");
                }
        } else if (idx->n_manifests == 1)
                pick = &idx->manifests[0];
        else {
                for (size_t i = 0; i < idx->n_manifests; i++)
                        all_platforms = all_platforms && idx->manifests[i].platform;
                if (all_platforms)
                        return img_index_select(idx, platform, ret, f->error_msg);
                if (list_refs(idx, &refs) < 0)
                        return -ENOMEM;
                return img_err(f->error_msg, idx->n_manifests == 0 ? -ENOENT : -ENOTUNIQ,
                               idx->n_manifests == 0
                                               ? "index.json lists no image"
                                               : "index.json lists %zu images; pick one with PATH:REF (refs: %s)",
                               idx->n_manifests, *refs ? refs : "none");
        }
        *ret = pick;
        return 0;
}

static int import_layout(
                ImgJob *j,
                ImgFiles *f,
                const char *path,
                const char *ref,
                const ImgImportOptions *o,
                bool archive,
                char **ret_digest) {
        _cleanup_(oci_index_freep) OciIndex *idx = NULL, *inner = NULL;
        _cleanup_free_ char *text = NULL, *itext = NULL, *mtext = NULL, *msg = NULL, *source = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_(json_freep) JsonVal layout = NULL;
        const OciDescriptor *d;
        ImgJobSource src = { .read_blob = src_read_blob, .open_layer = src_open_layer, .userdata = f };
        const char *tag;
        size_t len;
        int r;

        r = files_read(f, "oci-layout", 64 * 1024, &text, &len);
        if (r < 0)
                return r;
        r = json_parse(text, len, &layout, &msg);
        if (r < 0 || !YAJL_IS_STRING(json_get(layout, "imageLayoutVersion")) ||
            !startswith(YAJL_GET_STRING(json_get(layout, "imageLayoutVersion")), "1."))
                return img_err(f->error_msg, -EPROTONOSUPPORT,
                               "oci-layout: unsupported or missing imageLayoutVersion");
        r = files_read(f, "index.json", j->s->limits.max_manifest, &itext, &len);
        if (r < 0)
                return r;
        r = oci_index_parse(itext, len, &idx, &msg);
        if (r < 0)
                return img_err(f->error_msg, r, "invalid index.json: %s", msg ?: strerror(-r));
        r = layout_pick(f, idx, ref, o->platform, &d);
        if (r < 0)
                return r;
        tag = descriptor_ref(d);
        if ((uint64_t) d->size > j->s->limits.max_manifest)
                return img_err(f->error_msg, -E2BIG, "manifest %s is %" PRId64 " bytes; the limit is %" PRIu64,
                               d->digest, d->size, j->s->limits.max_manifest);
        if (is_index_type(d->media_type)) {
                r = files_read_blob(f, d->digest, (uint64_t) d->size, j->s->limits.max_manifest, &mtext, &len);
                if (r < 0)
                        return r;
                r = oci_index_parse(mtext, len, &inner, &msg);
                if (r < 0)
                        return img_err(f->error_msg, r, "invalid image index %s: %s", d->digest,
                                       msg ?: strerror(-r));
                r = img_index_select(inner, o->platform, &d, f->error_msg);
                if (r < 0)
                        return r;
                free(mtext);
                mtext = NULL;
        }
        if (!is_manifest_type(d->media_type))
                return img_err(f->error_msg, -EPROTONOSUPPORT, "%s has the unknown media type '%s'",
                               d->digest, d->media_type ?: "(none)");
        r = files_read_blob(f, d->digest, (uint64_t) d->size, j->s->limits.max_manifest, &mtext, &len);
        if (r < 0)
                return r;
        /* A full reference as ref name names the image; a bare tag goes with the file's name. */
        r = pick_names(o->name,
                       tag && (strchr(tag, '/') || strchr(tag, ':')) ? (char *[]){ (char *) tag, NULL } : NULL,
                       tag, path, &names, f->error_msg);
        if (r < 0)
                return r;
        if (xasprintf(&source, "%s:%s%s%s", archive ? "oci-archive" : "oci", path, ref ? ":" : "",
                      ref ?: "") < 0)
                return -ENOMEM;
        return img_job_import_manifest(j, d->digest, mtext, len, &src, source, names, ret_digest);
}

/* ----------------------------------------------------------- docker archive */

typedef struct DockerEntry {
        char *config;
        char **repo_tags;
        char **layers;
} DockerEntry;

static void docker_entry_done(DockerEntry *e) {
        free(e->config);
        strv_free(e->repo_tags);
        strv_free(e->layers);
}

static int docker_manifest_pick(ImgFiles *f, JsonVal root, const char *ref, DockerEntry *ret) {
        _cleanup_free_ char *want = NULL, *all = NULL;
        JsonVal pick = NULL;
        int r;

        if (!YAJL_IS_ARRAY(root) || root->u.array.len == 0)
                return img_err(f->error_msg, -EINVAL, "manifest.json: expected a non-empty array");
        if (ref && img_name_normalize(ref, &want, f->error_msg) < 0)
                return -EINVAL;
        for (size_t i = 0; i < root->u.array.len; i++) {
                JsonVal e = root->u.array.values[i], tags = json_get(e, "RepoTags");
                if (!ref) {
                        if (root->u.array.len == 1)
                                pick = e;
                        continue;
                }
                for (size_t k = 0; tags && YAJL_IS_ARRAY(tags) && k < tags->u.array.len; k++) {
                        _cleanup_free_ char *n = NULL;
                        JsonVal t = tags->u.array.values[k];
                        if (YAJL_IS_STRING(t) && img_name_normalize(YAJL_GET_STRING(t), &n, NULL) >= 0 &&
                            streq(n, want))
                                pick = e;
                }
        }
        if (!pick) {
                for (size_t i = 0; i < root->u.array.len; i++) {
                        JsonVal tags = json_get(root->u.array.values[i], "RepoTags");
                        for (size_t k = 0; tags && YAJL_IS_ARRAY(tags) && k < tags->u.array.len; k++) {
                                char *n;
                                if (!YAJL_IS_STRING(tags->u.array.values[k]))
                                        continue;
                                if (xasprintf(&n, "%s%s%s", all ?: "", all ? ", " : "",
                                              YAJL_GET_STRING(tags->u.array.values[k])) < 0)
                                        return -ENOMEM;
                                free(all);
                                all = n;
                        }
                }
                if (ref)
                        return img_err(f->error_msg, -ENOENT, "no image '%s' in manifest.json (tags: %s)",
                                       ref, all ?: "none");
                return img_err(f->error_msg, -ENOTUNIQ,
                               "manifest.json lists %zu images; pick one with PATH:NAME[:TAG] (tags: %s)",
                               root->u.array.len, all ?: "none");
        }
        r = json_want_string(json_get(pick, "Config"), "manifest.json Config", &ret->config, f->error_msg);
        if (r >= 0)
                r = json_want_strv(
                                json_get(pick, "Layers"), "manifest.json Layers", &ret->layers, f->error_msg);
        if (r >= 0 && json_get(pick, "RepoTags") && !YAJL_IS_NULL(json_get(pick, "RepoTags")))
                r = json_want_strv(
                                json_get(pick, "RepoTags"), "manifest.json RepoTags", &ret->repo_tags,
                                f->error_msg);
        return r;
}

typedef struct DockerLayerSource {
        ImgFiles *f;
        const char *path;
} DockerLayerSource;

static int docker_open_layer(
                void *userdata,
                ImgJob *j,
                unsigned index,
                const ImgJobLayer *l,
                ImgStream **ret,
                bool *ret_staged) {
        DockerLayerSource *d = userdata;
        uint64_t size;
        int r = files_open(d->f, d->path, ret, &size);
        if (r < 0)
                return img_err(d->f->error_msg, r, "cannot open '%s': %s", d->path, strerror(-r));
        *ret_staged = false;
        return 0;
}

/* A layer's media type from its first bytes, and its digest when the member is named by one. */
static int docker_layer_describe(ImgFiles *f, const char *path, ImgJobLayer *l) {
        _cleanup_(img_stream_freep) ImgStream *s = NULL;
        uint8_t magic[4] = {};
        const char *hex;
        uint64_t size;
        int r;

        r = files_open(f, path, &s, &size);
        if (r < 0)
                return img_err(f->error_msg, r, "layer '%s' is missing from the archive: %s", path,
                               strerror(-r));
        if (size >= 4) {
                r = img_stream_read_full(s, magic, 4);
                if (r < 0)
                        return r;
        }
        l->size = size;
        l->media_type = strdup(
                        magic[0] == 0x1f && magic[1] == 0x8b ? OCI_MEDIA_TYPE_LAYER_GZIP
                                        : memcmp(magic, "\x28\xb5\x2f\xfd", 4) == 0 ? OCI_MEDIA_TYPE_LAYER_ZSTD
                                                                                    : OCI_MEDIA_TYPE_LAYER);
        if (!l->media_type)
                return -ENOMEM;
        /* docker >= 25 names members blobs/sha256/<hex>: then the digest is known and checked. */
        if ((hex = startswith(path, "blobs/sha256/"))) {
                if (xasprintf(&l->digest, "sha256:%s", hex) < 0)
                        return -ENOMEM;
                if (img_digest_split(l->digest, (char[16]){}, NULL) < 0) {
                        free(l->digest);
                        l->digest = NULL;
                }
        }
        return 0;
}

static int docker_manifest_text(ImgJob *j, const char *config_digest, size_t config_size, char **ret, size_t *ret_len) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        int r;

        r = json_writer_new(false, &w);
        if (r < 0)
                return r;
        jw_object_open(w);
        jw_key(w, "schemaVersion");
        jw_int(w, 2);
        jw_key(w, "mediaType");
        jw_string(w, OCI_MEDIA_TYPE_MANIFEST);
        jw_key(w, "config");
        jw_object_open(w);
        jw_key(w, "mediaType");
        jw_string(w, OCI_MEDIA_TYPE_CONFIG);
        jw_key(w, "digest");
        jw_string(w, config_digest);
        jw_key(w, "size");
        jw_uint(w, config_size);
        jw_object_close(w);
        jw_key(w, "layers");
        jw_array_open(w);
        for (size_t i = 0; i < j->n_layers; i++) {
                jw_object_open(w);
                jw_key(w, "mediaType");
                jw_string(w, j->layers[i].media_type);
                jw_key(w, "digest");
                jw_string(w, j->layers[i].digest);
                jw_key(w, "size");
                jw_uint(w, j->layers[i].size);
                jw_object_close(w);
        }
        jw_array_close(w);
        jw_object_close(w);
        return json_writer_finish(w, ret, ret_len);
}

static int import_docker(
                ImgJob *j,
                ImgFiles *f,
                const char *path,
                const char *ref,
                const ImgImportOptions *o,
                char **ret_digest) {
        _cleanup_(docker_entry_done) DockerEntry e = {};
        _cleanup_(json_freep) JsonVal root = NULL;
        _cleanup_(oci_image_config_freep) OciImageConfig *cfg = NULL;
        _cleanup_(img_info_freep) ImgInfo *info = NULL;
        _cleanup_free_ char *text = NULL, *cfg_text = NULL, *mtext = NULL, *msg = NULL, *source = NULL;
        _cleanup_strv_free_ char **names = NULL;
        char cfg_digest[IMG_DIGEST_MAX], mdigest[IMG_DIGEST_MAX];
        size_t len, cfg_len, mlen;
        const char *hex;
        int r;

        r = files_read(f, "manifest.json", j->s->limits.max_manifest, &text, &len);
        if (r < 0)
                return r;
        r = json_parse(text, len, &root, &msg);
        if (r < 0)
                return img_err(f->error_msg, r, "manifest.json: %s", msg ?: strerror(-r));
        r = docker_manifest_pick(f, root, ref, &e);
        if (r < 0)
                return r;
        if (strv_length(e.layers) > j->s->limits.max_layers)
                return img_err(f->error_msg, -E2BIG, "the image has %zu layers; at most %zu are supported",
                               strv_length(e.layers), j->s->limits.max_layers);

        r = files_read(f, e.config, j->s->limits.max_config, &cfg_text, &cfg_len);
        if (r < 0)
                return r;
        r = img_digest_buffer(cfg_text, cfg_len, cfg_digest);
        if (r < 0)
                return r;
        /* Old archives name the config "<hex>.json", new ones "blobs/sha256/<hex>": either way, check it. */
        hex = startswith(e.config, "blobs/sha256/") ?: e.config;
        if (strlen(hex) >= 64 && strspn(hex, "0123456789abcdef") == 64 && strncmp(hex, cfg_digest + 7, 64) != 0)
                return img_err(f->error_msg, -EBADMSG, "config '%s' does not match its name (content is %s)",
                               e.config, cfg_digest);
        r = oci_image_config_parse(cfg_text, cfg_len, &cfg, &msg);
        if (r < 0)
                return img_err(f->error_msg, r, "invalid image config: %s", msg ?: strerror(-r));
        r = img_job_check_config(j, cfg, strv_length(e.layers));
        if (r < 0)
                return r;

        j->expected_layers = strv_length(e.layers);
        for (size_t i = 0; e.layers[i]; i++) {
                ImgJobLayer in = {}, *l;
                DockerLayerSource ds = { .f = f, .path = e.layers[i] };
                r = docker_layer_describe(f, e.layers[i], &in);
                if (r >= 0)
                        r = img_job_add_layer(j, &in, &l);
                img_job_layer_done(&in);
                if (r < 0)
                        return r;
                r = img_job_convert_layer(j, (unsigned) i, l, cfg->diff_ids[i], docker_open_layer, &ds);
                if (r < 0)
                        return r;
        }
        r = docker_manifest_text(j, cfg_digest, cfg_len, &mtext, &mlen);
        if (r < 0)
                return r;
        r = img_digest_buffer(mtext, mlen, mdigest);
        if (r < 0)
                return r;
        r = img_job_stage_blob(j, cfg_digest, cfg_text, cfg_len);
        if (r >= 0)
                r = img_job_stage_blob(j, mdigest, mtext, mlen);
        if (r < 0)
                return img_err(f->error_msg, r, "cannot stage the manifest: %s", strerror(-r));

        r = pick_names(o->name, e.repo_tags, NULL, path, &names, f->error_msg);
        if (r < 0)
                return r;
        info = calloc(1, sizeof(*info));
        if (!info)
                return -ENOMEM;
        info->digest = strdup(mdigest);
        info->media_type = strdup(OCI_MEDIA_TYPE_MANIFEST);
        info->config_digest = strdup(cfg_digest);
        if (xasprintf(&source, "docker-archive:%s%s%s", path, ref ? ":" : "", ref ?: "") < 0)
                return -ENOMEM;
        info->source = TAKE_PTR(source);
        if (!info->digest || !info->media_type || !info->config_digest)
                return -ENOMEM;
        r = img_job_fill_info(j, cfg, info);
        if (r < 0)
                return r;
        return img_job_commit(j, info, names, ret_digest);
}

/* ------------------------------------------------------------------- entry */

/* A compressed archive is decompressed into the staging directory first (it must be seekable). */
static int open_archive(ImgJob *j, int fd, char **error_msg, int *ret_fd) {
        _cleanup_(img_stream_freep) ImgStream *raw = NULL, *plain = NULL;
        _cleanup_close_ int out = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        uint8_t magic[4] = {};
        int r;

        if (pread(fd, magic, sizeof(magic), 0) < 0)
                return img_err(error_msg, -errno, "cannot read the archive: %m");
        if (!(magic[0] == 0x1f && magic[1] == 0x8b) && memcmp(magic, "\x28\xb5\x2f\xfd", 4) != 0) {
                *ret_fd = fd;
                return 0;
        }
        r = img_stream_fd(fd, 0, UINT64_MAX, error_msg, &raw);
        if (r < 0)
                return r;
        r = img_stream_decompress(TAKE_PTR(raw), IMG_COMPRESSION_AUTO, &plain);
        if (r < 0)
                return r;
        r = img_staging_create(j->st, "archive.tar", &out);
        if (r < 0)
                return img_err(error_msg, r, "cannot stage the archive: %s", strerror(-r));
        buf = malloc(256 * 1024);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = plain->read(plain, buf, 256 * 1024);
                if (n < 0)
                        return img_err_wrap(error_msg, (int) n, "decompressing the archive");
                if (n == 0)
                        break;
                r = loop_write(out, buf, (size_t) n);
                if (r < 0)
                        return img_err(error_msg, r, "cannot stage the archive: %s", strerror(-r));
        }
        safe_close(fd);
        *ret_fd = TAKE_FD(out);
        return 0;
}

/* "PATH" if it exists, else "PATH:REF" split at the first ':' after which PATH exists (refs may hold ':'). */
static int split_source(const char *source, char **ret_path, char **ret_ref) {
        _cleanup_free_ char *path = NULL, *ref = NULL;
        struct stat st;

        if (stat(source, &st) < 0)
                for (const char *c = strchr(source, ':'); c; c = strchr(c + 1, ':')) {
                        _cleanup_free_ char *p = strndup(source, (size_t) (c - source));
                        if (!p)
                                return -ENOMEM;
                        if (c > source && c[1] && stat(p, &st) >= 0) {
                                path = TAKE_PTR(p);
                                ref = strdup(c + 1);
                                if (!ref)
                                        return -ENOMEM;
                                break;
                        }
                }
        if (!path && !(path = strdup(source)))
                return -ENOMEM;
        *ret_path = TAKE_PTR(path);
        *ret_ref = TAKE_PTR(ref);
        return 0;
}

int img_import(ImgStore *s, const char *source, const ImgImportOptions *opts, char **ret_digest, char **error_msg) {
        static const ImgImportOptions defaults = {};
        const ImgImportOptions *o = opts ?: &defaults;
        _cleanup_(img_job_freep) ImgJob *j = NULL;
        _cleanup_(files_freep) ImgFiles *f = NULL;
        _cleanup_free_ char *path = NULL, *ref = NULL;
        struct stat st;
        int fd, r;

        if (isempty(source))
                return img_err(error_msg, -EINVAL, "no source given");
        r = split_source(source, &path, &ref);
        if (r < 0)
                return r;
        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->dirfd = f->archive_fd = -EBADF;
        f->error_msg = error_msg;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return img_err(error_msg, -errno, "cannot open '%s': %m", path);
        if (fstat(fd, &st) < 0) {
                safe_close(fd);
                return img_err(error_msg, -errno, "cannot stat '%s': %m", path);
        }

        r = img_store_lock(s, LOCK_SH, error_msg);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        r = img_job_new(s, o->progress, o->userdata, error_msg, &j);
        if (r < 0) {
                safe_close(fd);
                goto out;
        }
        if (S_ISDIR(st.st_mode))
                f->dirfd = fd;
        else if (S_ISREG(st.st_mode)) {
                r = open_archive(j, fd, error_msg, &f->archive_fd);
                if (r < 0) {
                        safe_close(fd);
                        goto out;
                }
                r = archive_index(f, &s->limits);
                if (r < 0) {
                        img_err_wrap(error_msg, r, "'%s' is not a readable tar archive", path);
                        goto out;
                }
        } else {
                safe_close(fd);
                r = img_err(error_msg, -EINVAL, "'%s' is neither a directory nor an archive file", path);
                goto out;
        }

        if (files_exists(f, "manifest.json"))
                r = import_docker(j, f, path, ref, o, ret_digest);
        else if (files_exists(f, "index.json") || files_exists(f, "oci-layout"))
                r = import_layout(j, f, path, ref, o, f->archive_fd >= 0, ret_digest);
        else
                r = img_err(error_msg, -EPROTONOSUPPORT,
                            "'%s' is not an OCI layout, OCI archive or docker archive (no index.json or manifest.json)",
                            path);
out:
        j = img_job_free(j);
        img_store_unlock(s);
        return r;
}
