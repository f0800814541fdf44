/* SPDX-License-Identifier: Apache-2.0 */

/* Image records and the operations over them: list, resolve, inspect, tag, remove, gc. */

#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "images-internal.h"

#define RECORD_MAX (16u * 1024 * 1024)

static void layer_info_done(ImgLayerInfo *l) {
        free(l->digest);
        free(l->diff_id);
        free(l->chain_id);
        free(l->media_type);
}

ImgInfo *img_info_free(ImgInfo *i) {
        if (!i)
                return NULL;
        free(i->digest);
        free(i->media_type);
        free(i->config_digest);
        strv_free(i->names);
        free(i->os);
        free(i->architecture);
        free(i->variant);
        free(i->created);
        free(i->source);
        for (size_t k = 0; k < i->n_layers; k++)
                layer_info_done(&i->layers[k]);
        free(i->layers);
        free(i);
        return NULL;
}

void img_info_free_many(ImgInfo **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                img_info_free(l[i]);
        free(l);
}

static int record_path(const char *digest, char **ret) {
        char alg[16];
        const char *hex;

        if (img_digest_split(digest, alg, &hex) < 0)
                return -EINVAL;
        return xasprintf(ret, "images/%s.json", hex);
}

int img_record_write(ImgStore *s, const ImgInfo *info, char **error_msg) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *text = NULL, *path = NULL;
        size_t len;
        int r;

        r = record_path(info->digest, &path);
        if (r < 0)
                return r;
        r = json_writer_new(true, &w);
        if (r < 0)
                return r;
        jw_object_open(w);
        jw_key(w, "digest");
        jw_string(w, info->digest);
        jw_key(w, "mediaType");
        jw_string(w, info->media_type);
        jw_key(w, "config");
        jw_string(w, info->config_digest);
        jw_key(w, "os");
        jw_string(w, info->os);
        jw_key(w, "architecture");
        jw_string(w, info->architecture);
        jw_key(w, "variant");
        jw_string(w, info->variant);
        jw_key(w, "created");
        jw_string(w, info->created);
        jw_key(w, "source");
        jw_string(w, info->source);
        jw_key(w, "imported");
        jw_uint(w, info->imported_usec);
        jw_key(w, "layers");
        jw_array_open(w);
        for (size_t i = 0; i < info->n_layers; i++) {
                const ImgLayerInfo *l = &info->layers[i];
                jw_object_open(w);
                jw_key(w, "digest");
                jw_string(w, l->digest);
                jw_key(w, "diffId");
                jw_string(w, l->diff_id);
                jw_key(w, "chainId");
                jw_string(w, l->chain_id);
                jw_key(w, "mediaType");
                jw_string(w, l->media_type);
                jw_key(w, "size");
                jw_uint(w, l->size);
                jw_key(w, "squashfsSize");
                jw_uint(w, l->squashfs_size);
                jw_object_close(w);
        }
        jw_array_close(w);
        jw_object_close(w);
        r = json_writer_finish(w, &text, &len);
        if (r < 0)
                return r;
        r = write_file_atomic_at(s->dirfd, path, text, len, 0600);
        if (r < 0)
                return img_err(error_msg, r, "cannot write the image record: %s", strerror(-r));
        return 0;
}

static int opt_string(JsonVal obj, const char *key, char **ret, char **error_msg) {
        JsonVal v = json_get(obj, key);
        if (!v || YAJL_IS_NULL(v)) {
                *ret = NULL;
                return 0;
        }
        return json_want_string(v, key, ret, error_msg);
}

static int parse_layers(JsonVal arr, ImgInfo *info, char **error_msg) {
        if (!arr || !YAJL_IS_ARRAY(arr))
                return json_error(error_msg, "layers", "expected array");
        info->layers = calloc(arr->u.array.len + 1, sizeof(*info->layers));
        if (!info->layers)
                return -ENOMEM;
        for (size_t i = 0; i < arr->u.array.len; i++) {
                JsonVal o = arr->u.array.values[i];
                ImgLayerInfo *l = &info->layers[i];
                int r;

                info->n_layers++;
                r = json_want_string(json_get(o, "digest"), "layers.digest", &l->digest, error_msg);
                if (r >= 0)
                        r = json_want_string(json_get(o, "diffId"), "layers.diffId", &l->diff_id, error_msg);
                if (r >= 0)
                        r = json_want_string(json_get(o, "chainId"), "layers.chainId", &l->chain_id, error_msg);
                if (r >= 0)
                        r = opt_string(o, "mediaType", &l->media_type, error_msg);
                if (r >= 0)
                        r = json_want_uint64(
                                        json_get(o, "size"), "layers.size", UINT64_MAX, &l->size, error_msg);
                if (r >= 0)
                        r = json_want_uint64(
                                        json_get(o, "squashfsSize"), "layers.squashfsSize", UINT64_MAX,
                                        &l->squashfs_size, error_msg);
                if (r < 0)
                        return r;
                if (img_digest_split(l->digest, (char[16]){}, NULL) < 0 ||
                    img_digest_split(l->diff_id, (char[16]){}, NULL) < 0 ||
                    img_digest_split(l->chain_id, (char[16]){}, NULL) < 0)
                        return json_error(error_msg, "layers", "invalid digest");
                info->size += l->size;
                info->squashfs_size += l->squashfs_size;
        }
        return 0;
}

int img_record_read(ImgStore *s, const char *digest, ImgInfo **ret, char **error_msg) {
        _cleanup_(img_info_freep) ImgInfo *info = NULL;
        _cleanup_(json_freep) JsonVal root = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len;
        int r;

        r = record_path(digest, &path);
        if (r < 0)
                return img_err(error_msg, r, "invalid digest '%s'", digest);
        r = read_full_file_at(s->dirfd, path, RECORD_MAX, &text, &len);
        if (r == -ENOENT)
                return img_err(error_msg, r, "no image %s in the store", digest);
        if (r < 0)
                return img_err(error_msg, r, "cannot read the record of %s: %s", digest, strerror(-r));
        r = json_parse(text, len, &root, error_msg);
        if (r < 0)
                return img_err_wrap(error_msg, r, "image record %s", digest);
        info = calloc(1, sizeof(*info));
        if (!info)
                return -ENOMEM;
        r = json_want_string(json_get(root, "digest"), "digest", &info->digest, error_msg);
        if (r >= 0)
                r = opt_string(root, "mediaType", &info->media_type, error_msg);
        if (r >= 0)
                r = json_want_string(json_get(root, "config"), "config", &info->config_digest, error_msg);
        if (r >= 0)
                r = opt_string(root, "os", &info->os, error_msg);
        if (r >= 0)
                r = opt_string(root, "architecture", &info->architecture, error_msg);
        if (r >= 0)
                r = opt_string(root, "variant", &info->variant, error_msg);
        if (r >= 0)
                r = opt_string(root, "created", &info->created, error_msg);
        if (r >= 0)
                r = opt_string(root, "source", &info->source, error_msg);
        if (r >= 0)
                r = json_want_uint64(
                                json_get(root, "imported"), "imported", UINT64_MAX, &info->imported_usec,
                                error_msg);
        if (r >= 0)
                r = parse_layers(json_get(root, "layers"), info, error_msg);
        if (r < 0)
                return img_err_wrap(error_msg, r, "image record %s", digest);
        if (!streq(info->digest, digest))
                return img_err(error_msg, -EBADMSG, "image record %s names %s", digest, info->digest);
        info->names = calloc(1, sizeof(char *));
        if (!info->names)
                return -ENOMEM;
        *ret = TAKE_PTR(info);
        return 0;
}

/* Every record's digest in the store. */
static int list_digests(ImgStore *s, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_close_ int fd = -EBADF;
        DIR *d;
        struct dirent *de;
        int r = 0;

        fd = openat(s->dirfd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -EBADF;
        while ((de = readdir(d))) {
                _cleanup_free_ char *digest = NULL;
                size_t n = strlen(de->d_name);
                if ((n != 64 + 5 && n != 128 + 5) || !endswith(de->d_name, ".json"))
                        continue;
                if (xasprintf(&digest, "%s:%.*s", n == 64 + 5 ? "sha256" : "sha512", (int) n - 5,
                              de->d_name) < 0 ||
                    img_digest_split(digest, (char[16]){}, NULL) < 0)
                        continue;
                r = strv_push(&l, digest);
                if (r < 0)
                        break;
                digest = NULL;
        }
        closedir(d);
        if (r < 0)
                return r;
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int attach_names(ImgInfo *info, const ImgRefs *refs) {
        for (size_t i = 0; i < refs->n; i++)
                if (streq(refs->digests[i], info->digest) && strv_extend(&info->names, refs->names[i]) < 0)
                        return -ENOMEM;
        qsort(info->names, strv_length(info->names), sizeof(char *), cmp_str);
        return 0;
}

static int cmp_imported(const void *a, const void *b) {
        const ImgInfo *x = *(ImgInfo *const *) a, *y = *(ImgInfo *const *) b;
        return x->imported_usec < y->imported_usec ? 1 : x->imported_usec > y->imported_usec ? -1 : 0;
}

int img_list(ImgStore *s, ImgInfo ***ret, size_t *ret_n, char **error_msg) {
        _cleanup_strv_free_ char **digests = NULL;
        _cleanup_(img_refs_done) ImgRefs refs = {};
        ImgInfo **v;
        size_t n = 0;
        int r;

        r = img_refs_load(s, &refs, error_msg);
        if (r < 0)
                return r;
        r = list_digests(s, &digests);
        if (r < 0)
                return img_err(error_msg, r, "cannot list images: %s", strerror(-r));
        v = calloc(strv_length(digests) + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        STRV_FOREACH(d, digests) {
                r = img_record_read(s, *d, &v[n], error_msg);
                if (r == -ENOENT)
                        continue; /* removed meanwhile */
                if (r >= 0)
                        r = attach_names(v[n++], &refs);
                if (r < 0) {
                        img_info_free_many(v, n);
                        return r;
                }
        }
        qsort(v, n, sizeof(*v), cmp_imported);
        *ret = v;
        *ret_n = n;
        return 0;
}

static bool is_hex(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

/* Resolve with refs already loaded; *ret_name_index is the matching ref or -1. */
static int resolve_loaded(
                ImgStore *s,
                const ImgRefs *refs,
                const char *ref,
                char **ret_digest,
                ssize_t *ret_name_index,
                char **error_msg) {
        _cleanup_free_ char *name = NULL, *full = NULL;
        _cleanup_strv_free_ char **digests = NULL;
        const char *hex = startswith(ref, "sha256:") ?: startswith(ref, "sha512:") ?: ref;
        char *found = NULL;
        int r;

        if (isempty(ref))
                return img_err(error_msg, -EINVAL, "empty image reference");
        /* Names first: "NAME", "NAME:TAG", then the normalized docker form. */
        if (img_name_normalize(ref, &name, NULL) >= 0) {
                _cleanup_(img_ref_done) ImgRef parsed = {};
                if (img_ref_parse(ref, true, &parsed, NULL) >= 0 && !parsed.digest)
                        (void) img_ref_name(&parsed, &full);
                for (size_t i = 0; i < refs->n; i++)
                        if (streq(refs->names[i], name)) {
                                *ret_name_index = (ssize_t) i;
                                return (*ret_digest = strdup(refs->digests[i])) ? 0 : -ENOMEM;
                        }
                if (full) {
                        _cleanup_free_ char *tagged = NULL;
                        if (xasprintf(&tagged, "%s:%s", full, parsed.tag) < 0)
                                return -ENOMEM;
                        for (size_t i = 0; i < refs->n; i++)
                                if (streq(refs->names[i], tagged)) {
                                        *ret_name_index = (ssize_t) i;
                                        return (*ret_digest = strdup(refs->digests[i])) ? 0 : -ENOMEM;
                                }
                }
        }
        /* A digest, or a unique prefix of one (at least 4 hex digits). */
        if (strlen(hex) >= 4 && is_hex(hex)) {
                r = list_digests(s, &digests);
                if (r < 0)
                        return img_err(error_msg, r, "cannot list images: %s", strerror(-r));
                STRV_FOREACH(d, digests)
                        if (startswith(strchr(*d, ':') + 1, hex)) {
                                if (found)
                                        return img_err(error_msg, -ENOTUNIQ,
                                                       "'%s' matches more than one image", ref);
                                found = *d;
                        }
                if (found) {
                        *ret_name_index = -1;
                        return (*ret_digest = strdup(found)) ? 0 : -ENOMEM;
                }
        }
        return img_err(error_msg, -ENOENT, "no image '%s' in the store", ref);
}

int img_resolve(ImgStore *s, const char *ref, char **ret_digest, char **error_msg) {
        _cleanup_(img_refs_done) ImgRefs refs = {};
        ssize_t idx;
        int r;

        r = img_refs_load(s, &refs, error_msg);
        if (r < 0)
                return r;
        return resolve_loaded(s, &refs, ref, ret_digest, &idx, error_msg);
}

int img_inspect(ImgStore *s, const char *ref, ImgInfo **ret, char **error_msg) {
        _cleanup_(img_refs_done) ImgRefs refs = {};
        _cleanup_(img_info_freep) ImgInfo *info = NULL;
        _cleanup_free_ char *digest = NULL;
        ssize_t idx;
        int r;

        r = img_refs_load(s, &refs, error_msg);
        if (r < 0)
                return r;
        r = resolve_loaded(s, &refs, ref, &digest, &idx, error_msg);
        if (r < 0)
                return r;
        r = img_record_read(s, digest, &info, error_msg);
        if (r < 0)
                return r;
        r = attach_names(info, &refs);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(info);
        return 0;
}

int img_config_json(ImgStore *s, const char *ref, char **ret, size_t *ret_len, char **error_msg) {
        _cleanup_(img_info_freep) ImgInfo *info = NULL;
        int r;

        r = img_inspect(s, ref, &info, error_msg);
        if (r < 0)
                return r;
        return img_blob_read(s, info->config_digest, s->limits.max_config, ret, ret_len, error_msg);
}

int img_tag(ImgStore *s, const char *ref, const char *name, char **error_msg) {
        _cleanup_free_ char *digest = NULL, *norm = NULL;
        int r;

        r = img_name_normalize(name, &norm, error_msg);
        if (r < 0)
                return r;
        r = img_resolve(s, ref, &digest, error_msg);
        if (r < 0)
                return r;
        return img_refs_add(s, (char *[]){ norm, NULL }, digest, error_msg);
}

int img_remove(ImgStore *s, const char *ref, char **ret_digest, char **error_msg) {
        _cleanup_(img_refs_done) ImgRefs refs = {};
        _cleanup_close_ int lock = -EBADF;
        _cleanup_free_ char *digest = NULL, *path = NULL;
        bool still_named = false;
        ssize_t idx;
        int r;

        r = lock_file_at(s->dirfd, "refs.lock", LOCK_EX, &lock);
        if (r < 0)
                return img_err(error_msg, r, "cannot lock refs: %s", strerror(-r));
        r = img_refs_load(s, &refs, error_msg);
        if (r < 0)
                return r;
        r = resolve_loaded(s, &refs, ref, &digest, &idx, error_msg);
        if (r < 0)
                return r;
        if (idx >= 0)
                img_refs_remove_at(&refs, (size_t) idx);
        else
                /* By digest: every name of the image goes. */
                for (size_t i = refs.n; i > 0; i--)
                        if (streq(refs.digests[i - 1], digest))
                                img_refs_remove_at(&refs, i - 1);
        for (size_t i = 0; i < refs.n; i++)
                still_named = still_named || streq(refs.digests[i], digest);
        r = img_refs_save(s, &refs, error_msg);
        if (r < 0)
                return r;
        if (!still_named) {
                r = record_path(digest, &path);
                if (r < 0)
                        return r;
                if (unlinkat(s->dirfd, path, 0) < 0 && errno != ENOENT)
                        return img_err(error_msg, -errno, "cannot remove the image record: %m");
        }
        lock = safe_close(lock);

        if (!still_named) {
                /* Reclaim space now unless an import holds the store; gc will do it later then. */
                _cleanup_free_ char *ignored = NULL;
                r = img_gc_locked(s, LOCK_EX | LOCK_NB, NULL, &ignored);
                if (r < 0 && r != -EWOULDBLOCK)
                        return img_err(error_msg, r, "image removed, but reclaiming space failed: %s",
                                       ignored ?: strerror(-r));
        }
        if (ret_digest)
                *ret_digest = TAKE_PTR(digest);
        return 0;
}

/* --------------------------------------------------------------------- gc */

typedef struct Needed {
        char **blobs; /* paths "blobs/alg/hex" */
        char **layers; /* "layers/<hex>" prefixes */
} Needed;

static int remove_unneeded(ImgStore *s, const char *dir, char *const *keep, bool layers, ImgGcStats *st) {
        _cleanup_close_ int fd = openat(s->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;
        struct dirent *de;

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -EBADF;
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *stem = NULL;
                struct stat stt;
                if (de->d_name[0] == '.')
                        continue;
                if (xasprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        break;
                stem = strndup(path, strcspn(path, "."));
                if (!stem)
                        break;
                if (strv_contains(keep, layers ? stem : path))
                        continue;
                /* A layer still mounted for an instance stays, image or not. */
                if (layers && img_layer_in_use(s, stem + STRLEN("layers/")))
                        continue;
                if (fstatat(s->dirfd, path, &stt, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (unlinkat(s->dirfd, path, 0) < 0)
                        continue;
                st->bytes_freed += (uint64_t) stt.st_size;
                if (layers) {
                        if (endswith(path, ".sqfs"))
                                st->layers_removed++;
                } else
                        st->blobs_removed++;
        }
        closedir(d);
        return 0;
}

static int collect_needed(ImgStore *s, Needed *n, char **error_msg) {
        _cleanup_strv_free_ char **digests = NULL;
        int r;

        r = list_digests(s, &digests);
        if (r < 0)
                return img_err(error_msg, r, "cannot list images: %s", strerror(-r));
        STRV_FOREACH(d, digests) {
                _cleanup_(img_info_freep) ImgInfo *info = NULL;
                _cleanup_free_ char *mp = NULL, *cp = NULL;
                /* An unreadable record keeps its blobs: never delete what we cannot account for. */
                r = img_record_read(s, *d, &info, NULL);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return img_err(error_msg, r, "image record %s is unreadable; not collecting", *d);
                if (img_blob_path(info->digest, &mp) < 0 || img_blob_path(info->config_digest, &cp) < 0)
                        return -EINVAL;
                if (strv_push(&n->blobs, TAKE_PTR(mp)) < 0 || strv_push(&n->blobs, TAKE_PTR(cp)) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < info->n_layers; i++) {
                        _cleanup_free_ char *bp = NULL, *lp = NULL;
                        if (img_blob_path(info->layers[i].digest, &bp) < 0 ||
                            img_layer_path(info->layers[i].chain_id, "", &lp) < 0)
                                return -EINVAL;
                        if (strv_push(&n->blobs, TAKE_PTR(bp)) < 0 || strv_push(&n->layers, TAKE_PTR(lp)) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

int img_gc_locked(ImgStore *s, int lock_op, ImgGcStats *ret, char **error_msg) {
        _cleanup_strv_free_ char **blobs = NULL, **layers = NULL;
        _cleanup_close_ int tfd = -EBADF;
        ImgGcStats st = {};
        Needed n = {};
        DIR *d;
        struct dirent *de;
        int r;

        r = img_store_lock(s, lock_op, error_msg);
        if (r < 0)
                return r;
        r = img_mounts_prune(s, &st.layers_unmounted);
        if (r >= 0)
                r = collect_needed(s, &n, error_msg);
        blobs = n.blobs;
        layers = n.layers;
        if (r >= 0)
                r = remove_unneeded(s, "blobs/sha256", blobs, false, &st);
        if (r >= 0)
                r = remove_unneeded(s, "blobs/sha512", blobs, false, &st);
        if (r >= 0)
                r = remove_unneeded(s, "layers", layers, true, &st);
        /* No import runs while we hold the lock exclusively: whatever is in tmp/ was abandoned. */
        tfd = openat(s->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r >= 0 && tfd >= 0 && (d = fdopendir(tfd))) {
                tfd = -EBADF;
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.' && rm_rf_at(dirfd(d), de->d_name) >= 0)
                                st.tmp_removed++;
                closedir(d);
        }
        img_store_unlock(s);
        if (r < 0)
                return img_err(error_msg, r, "gc failed: %s", strerror(-r));
        if (ret)
                *ret = st;
        return 0;
}

int img_gc(ImgStore *s, ImgGcStats *ret, char **error_msg) {
        return img_gc_locked(s, LOCK_EX, ret, error_msg);
}
