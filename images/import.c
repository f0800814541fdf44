/* SPDX-License-Identifier: Apache-2.0 */

/*
 * What every import does once it knows a manifest, whatever the source:
 *
 *   1. check the manifest (schema 2, known media types, layer count) and
 *      read the config (bounded, digest-verified, rootfs.diff_ids present);
 *   2. per layer, unless blob and squashfs are both in the store already:
 *      stream the blob through [hash + copy to staging] -> decompress ->
 *      [hash = diff_id] -> tar -> squashfs (staging), then check digest,
 *      size and diff_id;
 *   3. refuse paths that reach through a lower layer's symlink;
 *   4. commit: move staged blobs and layers into place, write the record,
 *      point the names at it.
 *
 * Until 4 nothing is visible; any failure drops the staging directory and
 * leaves the store as it was.
 */

#include <sqfs/super.h>
#include <time.h>

#include "images-internal.h"
#include "oci.h"

#define PROGRESS_STEP (512u * 1024)

void img_job_layer_done(ImgJobLayer *l) {
        free(l->digest);
        free(l->diff_id);
        free(l->chain_id);
        free(l->media_type);
        img_layer_summary_done(&l->summary);
        *l = (ImgJobLayer){};
}

int img_chain_id(const char *lower_chain_id, const char *diff_id, char **ret) {
        _cleanup_free_ char *s = NULL;
        char d[IMG_DIGEST_MAX];
        int r;

        /* image-spec config.md: ChainID(L0) = DiffID(L0); ChainID(Ln) = Digest(ChainID(Ln-1) + " " + DiffID(Ln)). */
        if (!lower_chain_id)
                return (*ret = strdup(diff_id)) ? 0 : -ENOMEM;
        r = xasprintf(&s, "%s %s", lower_chain_id, diff_id);
        if (r < 0)
                return r;
        r = img_digest_buffer(s, strlen(s), d);
        if (r < 0)
                return r;
        return (*ret = strdup(d)) ? 0 : -ENOMEM;
}

int img_job_new(ImgStore *s, ImgProgressFn progress, void *userdata, char **error_msg, ImgJob **ret) {
        _cleanup_(img_job_freep) ImgJob *j = NULL;
        int r;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->s = s;
        j->progress = progress;
        j->userdata = userdata;
        j->error_msg = error_msg;
        j->sqfs = (SqfsWriterOptions){ .compressor = SQFS_COMP_ZSTD, .level = 3 };
        r = img_staging_new(s, &j->st, error_msg);
        if (r < 0)
                return r;
        r = img_view_new(&j->view);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

ImgJob *img_job_free(ImgJob *j) {
        if (!j)
                return NULL;
        for (size_t i = 0; i < j->n_layers; i++)
                img_job_layer_done(&j->layers[i]);
        free(j->layers);
        strv_free(j->staged);
        img_view_free(j->view);
        img_staging_free(j->st);
        free(j);
        return NULL;
}

void img_job_report(
                ImgJob *j,
                ImgProgressKind kind,
                const char *what,
                const char *digest,
                unsigned index,
                uint64_t done,
                uint64_t total) {
        ImgProgress p = {
                .kind = kind,
                .what = what,
                .digest = digest,
                .index = index,
                .count = (unsigned) j->expected_layers,
                .done = done,
                .total = total,
        };
        if (j->progress)
                j->progress(&p, j->userdata);
}

/* Stage a small blob (manifest, config) unless the store or this job has it. */
int img_job_stage_blob(ImgJob *j, const char *digest, const void *data, size_t len) {
        _cleanup_free_ char *final = NULL, *name = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = img_blob_path(digest, &final);
        if (r < 0)
                return r;
        if (img_blob_stat(j->s, digest, NULL) >= 0 || strv_contains(j->staged, final))
                return 0;
        r = xasprintf(&name, "blob-%zu", strv_length(j->staged));
        if (r < 0)
                return r;
        r = img_staging_create(j->st, name, &fd);
        if (r < 0)
                return img_err(j->error_msg, r, "cannot stage a blob: %s", strerror(-r));
        r = loop_write(fd, data, len);
        if (r < 0)
                return img_err(j->error_msg, r, "cannot stage a blob: %s", strerror(-r));
        r = img_staging_add(j->st, name, final);
        if (r < 0)
                return r;
        return strv_extend(&j->staged, final);
}

/* ------------------------------------------------------------- progress */

typedef struct ProgressStream {
        ImgStream s;
        ImgStream *inner;
        ImgJob *job;
        const char *digest;
        unsigned index;
        uint64_t total, done, reported;
} ProgressStream;

static ssize_t progress_read(ImgStream *s, void *buf, size_t len) {
        ProgressStream *p = (ProgressStream *) s;
        ssize_t n = p->inner->read(p->inner, buf, len);

        if (n > 0) {
                p->done += (uint64_t) n;
                if (p->done - p->reported >= PROGRESS_STEP) {
                        p->reported = p->done;
                        img_job_report(p->job, IMG_PROGRESS_BYTES, "layer", p->digest, p->index, p->done,
                                       p->total);
                }
        }
        return n;
}

static void progress_destroy(ImgStream *s) {
        ProgressStream *p = (ProgressStream *) s;
        img_stream_free(p->inner);
        free(p);
}

static int progress_stream(
                ImgStream *inner,
                ImgJob *j,
                const char *digest,
                unsigned index,
                uint64_t total,
                ImgStream **ret) {
        ProgressStream *p = calloc(1, sizeof(*p));
        if (!p) {
                img_stream_free(inner);
                return -ENOMEM;
        }
        p->s = (ImgStream){ .read = progress_read, .destroy = progress_destroy, .error_msg = inner->error_msg };
        p->inner = inner;
        p->job = j;
        p->digest = digest;
        p->index = index;
        p->total = total;
        *ret = &p->s;
        return 0;
}

/* ------------------------------------------------------------ layer meta */

static int meta_write(ImgJob *j, const char *name, const ImgJobLayer *l, const ImgLayerResult *res) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        const ImgLayerSummary *sum = &res->summary;
        size_t len;
        int r;

        r = json_writer_new(false, &w);
        if (r < 0)
                return r;
        jw_object_open(w);
        jw_key(w, "diffId");
        jw_string(w, l->diff_id);
        jw_key(w, "chainId");
        jw_string(w, l->chain_id);
        jw_key(w, "tarSize");
        jw_uint(w, res->tar_size);
        jw_key(w, "squashfsSize");
        jw_uint(w, res->squashfs_size);
        jw_key(w, "entries");
        jw_uint(w, res->entries);
        jw_key(w, "implicitDirs");
        jw_uint(w, res->implicit_dirs);
        /* [path, mode, uid, gid, mtime] for every directory: what implicit parents above inherit. */
        jw_key(w, "dirs");
        jw_array_open(w);
        for (size_t i = 0; i < sum->n_dirs; i++) {
                jw_array_open(w);
                jw_string(w, sum->dirs[i].path);
                jw_uint(w, sum->dirs[i].mode);
                jw_uint(w, sum->dirs[i].uid);
                jw_uint(w, sum->dirs[i].gid);
                jw_uint(w, sum->dirs[i].mtime);
                jw_array_close(w);
        }
        jw_array_close(w);
        jw_key(w, "symlinks");
        jw_strv(w, sum->symlinks ?: (char *[]){ NULL });
        jw_key(w, "whiteouts");
        jw_strv(w, sum->whiteouts ?: (char *[]){ NULL });
        jw_key(w, "opaqueDirs");
        jw_strv(w, sum->opaque_dirs ?: (char *[]){ NULL });
        jw_object_close(w);
        r = json_writer_finish(w, &text, &len);
        if (r < 0)
                return r;
        r = img_staging_create(j->st, name, &fd);
        if (r >= 0)
                r = loop_write(fd, text, len);
        return r;
}

static int meta_dirs(JsonVal arr, ImgLayerSummary *sum) {
        if (!arr || !YAJL_IS_ARRAY(arr))
                return -EINVAL;
        sum->dirs = calloc(arr->u.array.len + 1, sizeof(*sum->dirs));
        if (!sum->dirs)
                return -ENOMEM;
        for (size_t i = 0; i < arr->u.array.len; i++) {
                JsonVal e = arr->u.array.values[i];
                uint64_t v[4];
                if (!YAJL_IS_ARRAY(e) || e->u.array.len != 5 || !YAJL_IS_STRING(e->u.array.values[0]))
                        return -EINVAL;
                for (size_t k = 0; k < 4; k++)
                        if (json_want_uint64(e->u.array.values[k + 1], "dirs", UINT32_MAX, &v[k], NULL) < 0)
                                return -EINVAL;
                const char *path = YAJL_GET_STRING(e->u.array.values[0]);
                sum->dirs[i] = (ImgDirAttr){ .path = strdup(path ?: ""),
                                             .mode = (uint32_t) v[0],
                                             .uid = (uint32_t) v[1],
                                             .gid = (uint32_t) v[2],
                                             .mtime = (uint32_t) v[3] };
                sum->n_dirs++;
                if (!sum->dirs[i].path)
                        return -ENOMEM;
        }
        return 0;
}

/* Read layers/<hex>.json of a layer already in the store. */
static int meta_read(ImgJob *j, ImgJobLayer *l) {
        _cleanup_(json_freep) JsonVal root = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len;
        int r;

        r = img_layer_path(l->chain_id, ".json", &path);
        if (r < 0)
                return r;
        r = read_full_file_at(j->s->dirfd, path, 256u * 1024 * 1024, &text, &len);
        if (r < 0)
                return r;
        r = json_parse(text, len, &root, NULL);
        if (r < 0)
                return r;
        r = json_want_uint64(
                        json_get(root, "squashfsSize"), "squashfsSize", UINT64_MAX, &l->squashfs_size, NULL);
        if (r >= 0)
                r = meta_dirs(json_get(root, "dirs"), &l->summary);
        if (r >= 0)
                r = json_want_strv(json_get(root, "symlinks"), "symlinks", &l->summary.symlinks, NULL);
        if (r >= 0)
                r = json_want_strv(json_get(root, "whiteouts"), "whiteouts", &l->summary.whiteouts, NULL);
        if (r >= 0)
                r = json_want_strv(json_get(root, "opaqueDirs"), "opaqueDirs", &l->summary.opaque_dirs, NULL);
        if (r < 0)
                img_layer_summary_done(&l->summary);
        return r;
}

/* A layer is reused only when its squashfs is whole: a damaged one is converted again. */
static bool layer_cached(ImgJob *j, ImgJobLayer *l) {
        _cleanup_free_ char *sq = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (!l->digest || !l->chain_id || img_blob_stat(j->s, l->digest, NULL) < 0)
                return false;
        if (img_layer_path(l->chain_id, ".sqfs", &sq) < 0)
                return false;
        fd = openat(j->s->dirfd, sq, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fstat(fd, &st) < 0 || img_sqfs_check_fd(fd, NULL) < 0)
                return false;
        if (meta_read(j, l) < 0)
                return false;
        if (l->squashfs_size != (uint64_t) st.st_size) {
                img_layer_summary_done(&l->summary);
                l->squashfs_size = 0;
                return false;
        }
        return true;
}

/* ----------------------------------------------------------------- layers */

int img_job_add_layer(ImgJob *j, ImgJobLayer *in, ImgJobLayer **ret) {
        ImgJobLayer *n = reallocarray(j->layers, j->n_layers + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        j->layers = n;
        n[j->n_layers] = *in;
        *in = (ImgJobLayer){};
        *ret = &n[j->n_layers++];
        return 0;
}

int img_verify_digest(const void *data, size_t len, const char *digest, char **error_msg) {
        _cleanup_(img_hash_freep) ImgHash *h = NULL;
        char got[IMG_DIGEST_MAX], alg[16];
        int r;

        if (img_digest_split(digest, alg, NULL) < 0)
                return img_err(error_msg, -EINVAL, "invalid digest '%s'", digest ?: "");
        r = img_hash_new(alg, &h);
        if (r < 0)
                return r;
        img_hash_update(h, data, len);
        r = img_hash_final(h, got);
        if (r < 0)
                return r;
        if (!streq(got, digest))
                return img_err(error_msg, -EBADMSG, "digest mismatch: content is %s, expected %s", got,
                               digest);
        return 0;
}

/* Add a staged file's move into the store, once per final path. */
static int stage_move(ImgJob *j, const char *name, const char *final) {
        int r;

        if (strv_contains(j->staged, final))
                return 0;
        r = img_staging_add(j->st, name, final);
        if (r >= 0)
                r = strv_extend(&j->staged, final);
        return r;
}

/* Check what the stream was against what the manifest and config promised. */
static int verify_layer(
                ImgJob *j,
                unsigned index,
                const ImgJobLayer *l,
                const char *got,
                uint64_t count,
                const ImgLayerResult *res,
                const char *expected_diff_id) {
        if (l->size != UINT64_MAX && count != l->size)
                return img_err(j->error_msg, -EBADMSG,
                               "layer %u: size mismatch: %" PRIu64 " bytes, expected %" PRIu64, index + 1,
                               count, l->size);
        if (l->digest && !streq(got, l->digest))
                return img_err(j->error_msg, -EBADMSG, "layer %u: digest mismatch: got %s, expected %s",
                               index + 1, got, l->digest);
        if (!streq(res->diff_id, expected_diff_id))
                return img_err(j->error_msg, -EBADMSG,
                               "layer %u: uncompressed content is %s, but the image config says %s",
                               index + 1, res->diff_id, expected_diff_id);
        return 0;
}

/* After a verified conversion: record what the layer is, and stage blob, squashfs and summary. */
static int stage_layer(
                ImgJob *j,
                unsigned index,
                ImgJobLayer *l,
                const char *got,
                uint64_t count,
                bool copied,
                ImgLayerResult *res) {
        _cleanup_free_ char *blob_name = NULL, *sq_name = NULL, *meta_name = NULL, *final = NULL;
        int r;

        if (!l->digest && !(l->digest = strdup(got)))
                return -ENOMEM;
        l->size = count;
        free(l->diff_id);
        l->diff_id = strdup(res->diff_id);
        if (!l->diff_id)
                return -ENOMEM;
        l->squashfs_size = res->squashfs_size;
        if (xasprintf(&blob_name, "layer-%u.blob", index) < 0 ||
            xasprintf(&sq_name, "layer-%u.sqfs", index) < 0 ||
            xasprintf(&meta_name, "layer-%u.json", index) < 0)
                return -ENOMEM;

        if (copied) {
                r = img_blob_path(l->digest, &final);
                if (r >= 0)
                        r = stage_move(j, blob_name, final);
                if (r < 0)
                        return r;
                final = mfree(final);
        }
        r = img_layer_path(l->chain_id, ".sqfs", &final);
        if (r >= 0)
                r = img_staging_add(j->st, sq_name, final);
        if (r < 0)
                return r;
        final = mfree(final);
        r = meta_write(j, meta_name, l, res);
        if (r >= 0)
                r = img_layer_path(l->chain_id, ".json", &final);
        if (r >= 0)
                r = img_staging_add(j->st, meta_name, final);
        if (r < 0)
                return img_err(j->error_msg, r, "cannot stage layer %u: %s", index + 1, strerror(-r));
        l->summary = res->summary;
        res->summary = (ImgLayerSummary){};
        return 0;
}

/* Whether the blob must be copied into the staging area while it is read (not for downloads, not if known). */
static bool needs_copy(ImgJob *j, const ImgJobLayer *l, bool staged_by_source) {
        _cleanup_free_ char *final = NULL;

        if (staged_by_source)
                return false;
        if (!l->digest)
                return true;
        if (img_blob_path(l->digest, &final) < 0)
                return true;
        return img_blob_stat(j->s, l->digest, NULL) < 0 && !strv_contains(j->staged, final);
}

int img_job_convert_layer(
                ImgJob *j,
                unsigned index,
                ImgJobLayer *l,
                const char *expected_diff_id,
                ImgJobOpenFn open_fn,
                void *userdata) {
        _cleanup_(img_stream_freep) ImgStream *raw = NULL, *tee = NULL, *prog = NULL;
        _cleanup_(img_hash_freep) ImgHash *h = NULL;
        _cleanup_(img_layer_result_done) ImgLayerResult res = {};
        _cleanup_close_ int blob_fd = -EBADF, sq_fd = -EBADF;
        ImgCompression comp;
        ImgLayerOptions o = {
                .limits = &j->s->limits,
                .lower = j->view,
                .allow_devices = img_store_allow_devices(j->s),
                .sqfs = j->sqfs,
        };
        char got[IMG_DIGEST_MAX], alg[16] = "sha256", name[64];
        uint64_t count = 0;
        bool staged = false;
        int r;

        r = img_layer_media_type_compression(l->media_type, &comp);
        if (r < 0)
                return img_err(j->error_msg, r, "layer %u has the unknown media type '%s'", index + 1,
                               l->media_type ?: "(none)");
        if (!expected_diff_id)
                return img_err(j->error_msg, -EINVAL, "layer %u has no diff_id in the image config",
                               index + 1);
        if (!l->diff_id && !(l->diff_id = strdup(expected_diff_id)))
                return -ENOMEM;
        r = img_chain_id(index > 0 ? j->layers[index - 1].chain_id : NULL, expected_diff_id, &l->chain_id);
        if (r < 0)
                return r;
        if (layer_cached(j, l)) {
                img_job_report(j, IMG_PROGRESS_CACHED, "layer", l->digest, index, l->size, l->size);
                return img_view_apply(j->view, &l->summary);
        }

        /* One pass: [hash + copy to staging] -> progress -> decompress -> [diff_id] -> tar -> squashfs. */
        img_job_report(j, IMG_PROGRESS_START, "layer", l->digest, index, 0, l->size);
        r = open_fn(userdata, j, index, l, &raw, &staged);
        if (r < 0)
                return img_err_wrap(j->error_msg, r, "layer %u", index + 1);
        if (l->digest)
                (void) img_digest_split(l->digest, alg, NULL);
        r = img_hash_new(alg, &h);
        if (r < 0)
                return r;
        if (needs_copy(j, l, staged)) {
                snprintf(name, sizeof(name), "layer-%u.blob", index);
                r = img_staging_create(j->st, name, &blob_fd);
        }
        snprintf(name, sizeof(name), "layer-%u.sqfs", index);
        if (r >= 0)
                r = img_staging_create(j->st, name, &sq_fd);
        if (r < 0)
                return img_err(j->error_msg, r, "cannot stage layer %u: %s", index + 1, strerror(-r));
        r = img_stream_tee(TAKE_PTR(raw), h, blob_fd, l->size, &count, &tee);
        if (r >= 0)
                r = progress_stream(
                                TAKE_PTR(tee), j, l->digest, index, l->size == UINT64_MAX ? 0 : l->size,
                                &prog);
        if (r < 0)
                return r;
        r = img_layer_convert(TAKE_PTR(prog), comp, sq_fd, &o, &res, j->error_msg);
        if (r < 0)
                return img_err_wrap(j->error_msg, r, "layer %u (%s)", index + 1, l->digest ?: "archive member");

        r = img_hash_final(h, got);
        if (r >= 0)
                r = verify_layer(j, index, l, got, count, &res, expected_diff_id);
        if (r >= 0)
                r = stage_layer(j, index, l, got, count, blob_fd >= 0, &res);
        if (r < 0)
                return r;
        img_job_report(j, IMG_PROGRESS_DONE, "layer", l->digest, index, count, count);
        return img_view_apply(j->view, &l->summary);
}

/* ----------------------------------------------------------------- commit */

int img_job_commit(ImgJob *j, ImgInfo *info, char *const *names, char **ret_digest) {
        int r;

        info->layers = calloc(j->n_layers + 1, sizeof(*info->layers));
        if (!info->layers)
                return -ENOMEM;
        info->n_layers = j->n_layers;
        for (size_t i = 0; i < j->n_layers; i++) {
                ImgLayerInfo *d = &info->layers[i];
                d->digest = strdup(j->layers[i].digest);
                d->diff_id = strdup(j->layers[i].diff_id);
                d->chain_id = strdup(j->layers[i].chain_id);
                d->media_type = strdup(j->layers[i].media_type);
                if (!d->digest || !d->diff_id || !d->chain_id || !d->media_type)
                        return -ENOMEM;
                d->size = j->layers[i].size;
                d->squashfs_size = j->layers[i].squashfs_size;
        }
        info->imported_usec = now_usec(CLOCK_REALTIME);
        r = img_staging_commit(j->st, j->error_msg);
        if (r < 0)
                return r;
        r = img_record_write(j->s, info, j->error_msg);
        if (r < 0)
                return r;
        r = img_refs_add(j->s, names, info->digest, j->error_msg);
        if (r < 0)
                return r;
        if (ret_digest && !(*ret_digest = strdup(info->digest)))
                return -ENOMEM;
        return 0;
}

/* ------------------------------------------------------ manifest imports */

static bool known_config_type(const char *t) {
        return t && (streq(t, OCI_MEDIA_TYPE_CONFIG) || streq(t, DOCKER_MEDIA_TYPE_CONFIG));
}

int img_job_check_config(ImgJob *j, const OciImageConfig *cfg, size_t n_layers) {
        if (!cfg->rootfs_type || !streq(cfg->rootfs_type, "layers"))
                return img_err(j->error_msg, -EINVAL, "image config: rootfs.type is not \"layers\"");
        if (strv_length(cfg->diff_ids) != n_layers)
                return img_err(j->error_msg, -EINVAL,
                               "image config lists %zu layer diff_ids but the manifest has %zu layers",
                               strv_length(cfg->diff_ids), n_layers);
        STRV_FOREACH(d, cfg->diff_ids)
                if (img_digest_split(*d, (char[16]){}, NULL) < 0)
                        return img_err(j->error_msg, -EINVAL, "image config: invalid diff_id '%s'", *d);
        return 0;
}

int img_job_fill_info(ImgJob *j, const OciImageConfig *cfg, ImgInfo *info) {
        info->os = cfg->os ? strdup(cfg->os) : NULL;
        info->architecture = cfg->architecture ? strdup(cfg->architecture) : NULL;
        info->variant = cfg->variant ? strdup(cfg->variant) : NULL;
        info->created = cfg->created ? strdup(cfg->created) : NULL;
        if ((cfg->os && !info->os) || (cfg->architecture && !info->architecture) ||
            (cfg->variant && !info->variant) || (cfg->created && !info->created))
                return -ENOMEM;
        return 0;
}

int img_job_import_manifest(
                ImgJob *j,
                const char *manifest_digest,
                const char *text,
                size_t len,
                const ImgJobSource *src,
                const char *source_desc,
                char *const *names,
                char **ret_digest) {
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL;
        _cleanup_(oci_image_config_freep) OciImageConfig *cfg = NULL;
        _cleanup_(img_info_freep) ImgInfo *info = NULL;
        _cleanup_free_ char *cfg_text = NULL, *msg = NULL;
        size_t cfg_len;
        int r;

        r = oci_manifest_parse(text, len, &m, &msg);
        if (r < 0)
                return img_err(j->error_msg, r, "invalid image manifest: %s", msg ?: strerror(-r));
        if (m->schema_version != 2)
                return img_err(j->error_msg, -EPROTONOSUPPORT,
                               "manifest schemaVersion %" PRId64 " is not supported", m->schema_version);
        if (m->media_type && !streq(m->media_type, OCI_MEDIA_TYPE_MANIFEST) &&
            !streq(m->media_type, DOCKER_MEDIA_TYPE_MANIFEST))
                return img_err(j->error_msg, -EPROTONOSUPPORT, "unknown manifest media type '%s'",
                               m->media_type);
        if (!known_config_type(m->config.media_type))
                return img_err(j->error_msg, -EPROTONOSUPPORT,
                               "config has the media type '%s', which is not an image config",
                               m->config.media_type ?: "(none)");
        if (m->n_layers > j->s->limits.max_layers)
                return img_err(j->error_msg, -E2BIG, "the image has %zu layers; at most %zu are supported",
                               m->n_layers, j->s->limits.max_layers);
        for (size_t i = 0; i < m->n_layers; i++) {
                ImgCompression c;
                if (img_layer_media_type_compression(m->layers[i].media_type, &c) < 0)
                        return img_err(j->error_msg, -EPROTONOSUPPORT,
                                       "layer %zu has the unknown media type '%s'", i + 1,
                                       m->layers[i].media_type ?: "(none)");
        }
        if ((uint64_t) m->config.size > j->s->limits.max_config)
                return img_err(j->error_msg, -E2BIG,
                               "the image config is %" PRId64 " bytes; the limit is %" PRIu64,
                               m->config.size, j->s->limits.max_config);

        r = src->read_blob(src->userdata, j, m->config.digest, (uint64_t) m->config.size, &cfg_text, &cfg_len);
        if (r < 0)
                return img_err_wrap(j->error_msg, r, "image config %s", m->config.digest);
        r = oci_image_config_parse(cfg_text, cfg_len, &cfg, &msg);
        if (r < 0)
                return img_err(j->error_msg, r, "invalid image config: %s", msg ?: strerror(-r));
        r = img_job_check_config(j, cfg, m->n_layers);
        if (r < 0)
                return r;

        j->expected_layers = m->n_layers;
        for (size_t i = 0; i < m->n_layers; i++) {
                ImgJobLayer in = { .size = (uint64_t) m->layers[i].size }, *l;
                in.digest = strdup(m->layers[i].digest);
                in.media_type = strdup(m->layers[i].media_type);
                if (!in.digest || !in.media_type) {
                        img_job_layer_done(&in);
                        return -ENOMEM;
                }
                r = img_job_add_layer(j, &in, &l);
                if (r < 0) {
                        img_job_layer_done(&in);
                        return r;
                }
                r = img_job_convert_layer(j, (unsigned) i, l, cfg->diff_ids[i], src->open_layer, src->userdata);
                if (r < 0)
                        return r;
        }
        r = img_job_stage_blob(j, m->config.digest, cfg_text, cfg_len);
        if (r >= 0)
                r = img_job_stage_blob(j, manifest_digest, text, len);
        if (r < 0)
                return img_err(j->error_msg, r, "cannot stage the manifest: %s", strerror(-r));

        info = calloc(1, sizeof(*info));
        if (!info)
                return -ENOMEM;
        info->digest = strdup(manifest_digest);
        info->media_type = strdup(m->media_type ?: OCI_MEDIA_TYPE_MANIFEST);
        info->config_digest = strdup(m->config.digest);
        info->source = strdup(source_desc);
        if (!info->digest || !info->media_type || !info->config_digest || !info->source)
                return -ENOMEM;
        r = img_job_fill_info(j, cfg, info);
        if (r < 0)
                return r;
        return img_job_commit(j, info, names, ret_digest);
}

/* ------------------------------------------------- index/platform choice */

int img_platform_default(const char *platform, char **ret_os, char **ret_arch, char **ret_variant, char **error_msg) {
        if (!platform) {
                *ret_os = strdup("linux");
                *ret_arch = strdup(img_host_arch());
                *ret_variant = NULL;
                return *ret_os && *ret_arch ? 0 : -ENOMEM;
        }
        if (img_platform_parse(platform, ret_os, ret_arch, ret_variant) < 0)
                return img_err(error_msg, -EINVAL, "invalid platform '%s' (expected os/arch[/variant])",
                               platform);
        return 0;
}

int img_index_select(const OciIndex *idx, const char *platform, const OciDescriptor **ret, char **error_msg) {
        _cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
        const OciDescriptor *best = NULL;
        int r;

        r = img_platform_default(platform, &os, &arch, &variant, error_msg);
        if (r < 0)
                return r;
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const OciDescriptor *d = &idx->manifests[i];
                const OciPlatform *p = d->platform;
                if (!p || !streq_ptr(p->os, os) || !streq_ptr(p->architecture, arch))
                        continue;
                if (variant && !streq_ptr(p->variant, variant))
                        continue;
                /* Without a requested variant, prefer an entry without one, else the first. */
                if (!best || (!p->variant && best->platform->variant))
                        best = d;
        }
        if (!best)
                return img_err(error_msg, -ENOENT, "the image index has no manifest for %s/%s%s%s", os, arch,
                               variant ? "/" : "", variant ?: "");
        *ret = best;
        return 0;
}
