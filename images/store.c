/* SPDX-License-Identifier: Apache-2.0 */

/*
 * The content-addressed store. Durable state changes are renames of
 * complete, fsync'ed files (blobs, layers, records) or atomic rewrites
 * (refs.json), so a reader, or a crash, sees the old state or the new one.
 *
 * Locks (flock):
 *   lock       shared by imports and instance roots, exclusive for gc: gc never
 *              sees an import's half-committed blobs, and never deletes a layer
 *              being mounted
 *   refs.lock  exclusive around read-modify-write of refs.json
 *   mnt/<hex>.lock  around mounting/unmounting one shared layer (mount.c)
 */

#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "images-internal.h"

#define DEFAULT_ROOT "/var/lib/aula"

static const char *const store_dirs[] = {
        "blobs", "blobs/sha256", "blobs/sha512", "layers", "images", "mnt", "tmp",
};

static const char *const store_locks[] = { "lock", "refs.lock" };

static bool in_initial_userns(void) {
        _cleanup_free_ char *line = NULL;
        unsigned a, b, c;

        if (read_one_line_at(AT_FDCWD, "/proc/self/uid_map", &line) < 0)
                return false;
        return sscanf(line, "%u %u %u", &a, &b, &c) == 3 && a == 0 && b == 0 && c == UINT32_MAX;
}

int img_store_open(const char *root, unsigned flags, ImgStore **ret, char **error_msg) {
        _cleanup_(img_store_freep) ImgStore *s = NULL;
        int r;

        if (!root)
                root = getenv("AULA_ROOT");
        if (isempty(root))
                root = DEFAULT_ROOT;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->dirfd = s->lock_fd = -EBADF;
        s->flags = flags;
        s->limits = img_default_limits;
        s->initial_userns = in_initial_userns();
        s->privileged = geteuid() == 0 && s->initial_userns;
        s->root = strdup(root);
        s->dir = path_join(root, "images");
        if (!s->root || !s->dir)
                return -ENOMEM;
        r = mkdir_p(s->dir, 0700);
        if (r < 0)
                return img_err(error_msg, r, "cannot create the image store '%s': %s", s->dir, strerror(-r));
        s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0)
                return img_err(error_msg, -errno, "cannot open the image store '%s': %m", s->dir);
        FOREACH_ARRAY(d, store_dirs, ELEMENTSOF(store_dirs))
                if (mkdirat(s->dirfd, *d, 0700) < 0 && errno != EEXIST)
                        return img_err(error_msg, -errno, "cannot create '%s/%s': %m", s->dir, *d);
        /* The lock files exist from the start, so that taking a lock never changes the store. */
        FOREACH_ARRAY(l, store_locks, ELEMENTSOF(store_locks)) {
                int fd = openat(s->dirfd, *l, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return img_err(error_msg, -errno, "cannot create '%s/%s': %m", s->dir, *l);
                safe_close(fd);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

ImgStore *img_store_free(ImgStore *s) {
        if (s) {
                safe_close(s->lock_fd);
                safe_close(s->dirfd);
                free(s->root);
                free(s->dir);
                free(s);
        }
        return NULL;
}

const char *img_store_root(const ImgStore *s) {
        return s->root;
}

ImgLimits *img_store_limits(ImgStore *s) {
        return &s->limits;
}

bool img_store_allow_devices(const ImgStore *s) {
        return s->privileged && !(s->flags & IMG_STORE_NO_DEVICES);
}

int img_store_lock(ImgStore *s, int operation, char **error_msg) {
        int r;

        assert(s->lock_fd < 0);
        r = lock_file_at(s->dirfd, "lock", operation, &s->lock_fd);
        if (r == -EWOULDBLOCK)
                return img_err(error_msg, r, "the image store is busy");
        if (r < 0)
                return img_err(error_msg, r, "cannot lock the image store: %s", strerror(-r));
        return 0;
}

void img_store_unlock(ImgStore *s) {
        s->lock_fd = safe_close(s->lock_fd);
}

/* ------------------------------------------------------------------ blobs */

int img_blob_path(const char *digest, char **ret) {
        char alg[16];
        const char *hex;

        if (img_digest_split(digest, alg, &hex) < 0)
                return -EINVAL;
        return xasprintf(ret, "blobs/%s/%s", alg, hex);
}

int img_blob_stat(ImgStore *s, const char *digest, uint64_t *ret_size) {
        _cleanup_free_ char *p = NULL;
        struct stat st;
        int r;

        r = img_blob_path(digest, &p);
        if (r < 0)
                return r;
        if (fstatat(s->dirfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if (ret_size)
                *ret_size = (uint64_t) st.st_size;
        return 0;
}

int img_blob_read(ImgStore *s, const char *digest, size_t max, char **ret, size_t *ret_len, char **error_msg) {
        _cleanup_free_ char *p = NULL, *buf = NULL;
        char got[IMG_DIGEST_MAX], alg[16];
        _cleanup_(img_hash_freep) ImgHash *h = NULL;
        size_t len;
        int r;

        r = img_blob_path(digest, &p);
        if (r < 0)
                return img_err(error_msg, r, "invalid digest '%s'", digest);
        r = read_full_file_at(s->dirfd, p, max, &buf, &len);
        if (r < 0)
                return img_err(error_msg, r, "cannot read blob %s: %s", digest, strerror(-r));
        /* Small blobs are re-verified on every read: the store is data, not trusted code. */
        (void) img_digest_split(digest, alg, NULL);
        r = img_hash_new(alg, &h);
        if (r < 0)
                return r;
        img_hash_update(h, buf, len);
        r = img_hash_final(h, got);
        if (r < 0)
                return r;
        if (!streq(got, digest))
                return img_err(error_msg, -EBADMSG,
                               "blob %s is corrupt in the store (its content hashes to %s)", digest, got);
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int img_layer_path(const char *chain_id, const char *suffix, char **ret) {
        char alg[16];
        const char *hex;

        if (img_digest_split(chain_id, alg, &hex) < 0)
                return -EINVAL;
        /* sha256 is the norm; others keep their algorithm in the name. */
        return streq(alg, "sha256") ? xasprintf(ret, "layers/%s%s", hex, suffix)
                                    : xasprintf(ret, "layers/%s-%s%s", alg, hex, suffix);
}

/* ---------------------------------------------------------------- staging */

int img_staging_new(ImgStore *s, ImgStaging **ret, char **error_msg) {
        _cleanup_(img_staging_freep) ImgStaging *st = NULL;
        char rnd[17];
        int r;

        st = calloc(1, sizeof(*st));
        if (!st)
                return -ENOMEM;
        st->store = s;
        st->dirfd = -EBADF;
        r = img_random_hex(rnd, sizeof(rnd));
        if (r < 0)
                return r;
        r = xasprintf(&st->name, "tmp/import-%s", rnd);
        if (r < 0)
                return r;
        if (mkdirat(s->dirfd, st->name, 0700) < 0)
                return img_err(error_msg, -errno, "cannot create a staging directory in the store: %m");
        st->dirfd = openat(s->dirfd, st->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (st->dirfd < 0)
                return img_err(error_msg, -errno, "cannot open the staging directory: %m");
        *ret = TAKE_PTR(st);
        return 0;
}

ImgStaging *img_staging_free(ImgStaging *st) {
        if (!st)
                return NULL;
        safe_close(st->dirfd);
        if (st->name)
                (void) rm_rf_at(st->store->dirfd, st->name);
        for (size_t i = 0; i < st->n_moves; i++) {
                free(st->moves[i].staged);
                free(st->moves[i].final);
        }
        free(st->moves);
        free(st->name);
        free(st);
        return NULL;
}

int img_staging_create(ImgStaging *st, const char *name, int *ret_fd) {
        int fd = openat(st->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

int img_staging_add(ImgStaging *st, const char *name, const char *final) {
        void *n = reallocarray(st->moves, st->n_moves + 1, sizeof(*st->moves));
        if (!n)
                return -ENOMEM;
        st->moves = n;
        st->moves[st->n_moves].staged = strdup(name);
        st->moves[st->n_moves].final = strdup(final);
        if (!st->moves[st->n_moves].staged || !st->moves[st->n_moves].final) {
                free(st->moves[st->n_moves].staged);
                free(st->moves[st->n_moves].final);
                return -ENOMEM;
        }
        st->n_moves++;
        return 0;
}

static void fsync_dir_at(int dirfd, const char *path) {
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
                (void) fsync(fd);
}

int img_staging_commit(ImgStaging *st, char **error_msg) {
        ImgStore *s = st->store;

        /* Data first, then the names: a crash leaves complete files or none. */
        for (size_t i = 0; i < st->n_moves; i++) {
                _cleanup_close_ int fd = openat(st->dirfd, st->moves[i].staged, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || fdatasync(fd) < 0)
                        return img_err(error_msg, -errno, "cannot sync '%s': %m", st->moves[i].staged);
        }
        for (size_t i = 0; i < st->n_moves; i++)
                if (renameat(st->dirfd, st->moves[i].staged, s->dirfd, st->moves[i].final) < 0)
                        return img_err(error_msg, -errno, "cannot move '%s' into the store: %m",
                                       st->moves[i].final);
        fsync_dir_at(s->dirfd, "blobs/sha256");
        fsync_dir_at(s->dirfd, "blobs/sha512");
        fsync_dir_at(s->dirfd, "layers");
        return 0;
}

/* ------------------------------------------------------------------- refs */

void img_refs_done(ImgRefs *r) {
        strv_free(r->names);
        strv_free(r->digests);
        *r = (ImgRefs){};
}

int img_refs_load(ImgStore *s, ImgRefs *ret, char **error_msg) {
        _cleanup_(img_refs_done) ImgRefs refs = {};
        _cleanup_(json_freep) JsonVal root = NULL;
        _cleanup_free_ char *text = NULL;
        JsonVal obj;
        size_t len;
        int r;

        r = read_full_file_at(s->dirfd, "refs.json", 64u * 1024 * 1024, &text, &len);
        if (r == -ENOENT) {
                *ret = refs;
                return 0;
        }
        if (r < 0)
                return img_err(error_msg, r, "cannot read refs.json: %s", strerror(-r));
        r = json_parse(text, len, &root, error_msg);
        if (r < 0)
                return img_err_wrap(error_msg, r, "refs.json");
        obj = json_get(root, "refs");
        if (!obj || !YAJL_IS_OBJECT(obj))
                return img_err(error_msg, -EINVAL, "refs.json: no \"refs\" object");
        for (size_t i = 0; i < obj->u.object.len; i++) {
                JsonVal v = obj->u.object.values[i];
                if (!YAJL_IS_STRING(v) || img_digest_split(YAJL_GET_STRING(v), (char[16]){}, NULL) < 0)
                        return img_err(error_msg, -EINVAL, "refs.json: invalid digest for '%s'",
                                       obj->u.object.keys[i]);
                if (strv_extend(&refs.names, obj->u.object.keys[i]) < 0 ||
                    strv_extend(&refs.digests, YAJL_GET_STRING(v)) < 0)
                        return -ENOMEM;
                refs.n++;
        }
        *ret = refs;
        refs = (ImgRefs){};
        return 0;
}

int img_refs_save(ImgStore *s, const ImgRefs *refs, char **error_msg) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = json_writer_new(true, &w);
        if (r < 0)
                return r;
        jw_object_open(w);
        jw_key(w, "refs");
        jw_object_open(w);
        for (size_t i = 0; i < refs->n; i++) {
                jw_key(w, refs->names[i]);
                jw_string(w, refs->digests[i]);
        }
        jw_object_close(w);
        jw_object_close(w);
        r = json_writer_finish(w, &text, &len);
        if (r < 0)
                return r;
        r = write_file_atomic_at(s->dirfd, "refs.json", text, len, 0600);
        if (r < 0)
                return img_err(error_msg, r, "cannot write refs.json: %s", strerror(-r));
        return 0;
}

int img_refs_set(ImgRefs *refs, const char *name, const char *digest) {
        for (size_t i = 0; i < refs->n; i++)
                if (streq(refs->names[i], name)) {
                        char *d = strdup(digest);
                        if (!d)
                                return -ENOMEM;
                        free(refs->digests[i]);
                        refs->digests[i] = d;
                        return 0;
                }
        if (strv_extend(&refs->names, name) < 0)
                return -ENOMEM;
        if (strv_extend(&refs->digests, digest) < 0) {
                free(refs->names[refs->n]);
                refs->names[refs->n] = NULL;
                return -ENOMEM;
        }
        refs->n++;
        return 0;
}

void img_refs_remove_at(ImgRefs *refs, size_t i) {
        free(refs->names[i]);
        free(refs->digests[i]);
        memmove(refs->names + i, refs->names + i + 1, (refs->n - i) * sizeof(char *));
        memmove(refs->digests + i, refs->digests + i + 1, (refs->n - i) * sizeof(char *));
        refs->n--;
}

/* Apply names -> digest under the refs lock. */
int img_refs_add(ImgStore *s, char *const *names, const char *digest, char **error_msg) {
        _cleanup_(img_refs_done) ImgRefs refs = {};
        _cleanup_close_ int lock = -EBADF;
        int r;

        if (strv_length(names) == 0)
                return 0;
        r = lock_file_at(s->dirfd, "refs.lock", LOCK_EX, &lock);
        if (r < 0)
                return img_err(error_msg, r, "cannot lock refs: %s", strerror(-r));
        r = img_refs_load(s, &refs, error_msg);
        if (r < 0)
                return r;
        STRV_FOREACH(n, (char **) names) {
                r = img_refs_set(&refs, *n, digest);
                if (r < 0)
                        return r;
        }
        return img_refs_save(s, &refs, error_msg);
}
