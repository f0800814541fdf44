/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared inside images/ only; no other folder may include this. */

#include <sys/stat.h>

#include "images.h"

/* ----------------------------------------------------------------- limits */

/*
 * Bounds on untrusted metadata. Far above anything real; they exist so that a
 * hostile image cannot make the importer allocate without end. Tests lower
 * them through img_store_limits().
 */
typedef struct ImgLimits {
        uint64_t max_manifest; /* manifest, index, docker manifest.json */
        uint64_t max_config; /* image config */
        size_t max_layers; /* per image */
        size_t max_entries; /* tar entries per layer */
        size_t max_pax; /* one pax extended header */
        size_t max_path; /* path or link name */
        size_t max_xattr_value;
        size_t max_xattrs; /* per entry */
        size_t max_archive_entries; /* entries of an outer OCI/docker archive */
} ImgLimits;

extern const ImgLimits img_default_limits;
ImgLimits *img_store_limits(ImgStore *s);

/* ------------------------------------------------------------------ store */

struct ImgStore {
        char *root; /* the data root */
        char *dir; /* root/images */
        int dirfd; /* of dir */
        int lock_fd; /* the store lock while held */
        unsigned flags;
        bool initial_userns; /* not inside a user namespace */
        bool privileged; /* root in the initial user namespace */
        ImgLimits limits;
};

bool img_store_allow_devices(const ImgStore *s);
/* Take the store lock (LOCK_SH / LOCK_EX, maybe | LOCK_NB); one at a time per store object. */
int img_store_lock(ImgStore *s, int operation, char **error_msg);
void img_store_unlock(ImgStore *s);

/* "blobs/<alg>/<hex>" relative to the store directory. */
int img_blob_path(const char *digest, char **ret);
/* -ENOENT when absent. */
int img_blob_stat(ImgStore *s, const char *digest, uint64_t *ret_size);
/* Read a small blob (at most max bytes) and verify it against its digest. */
int img_blob_read(ImgStore *s, const char *digest, size_t max, char **ret, size_t *ret_len, char **error_msg);
/* "layers/<hex><suffix>" for a layer's chain id. */
int img_layer_path(const char *chain_id, const char *suffix, char **ret);

/* An import's private directory under tmp/; everything moves into place at commit. */
typedef struct ImgStaging {
        ImgStore *store;
        char *name; /* "tmp/import-<random>" */
        int dirfd;
        struct {
                char *staged, *final;
        } * moves;
        size_t n_moves;
} ImgStaging;

int img_staging_new(ImgStore *s, ImgStaging **ret, char **error_msg);
/* Removes the staging directory and whatever was not committed. */
ImgStaging *img_staging_free(ImgStaging *st);
DEFINE_CLEANUP_FUNC(ImgStaging *, img_staging_free);
int img_staging_create(ImgStaging *st, const char *name, int *ret_fd);
/* At commit, move staged name to final (a path relative to the store directory). */
int img_staging_add(ImgStaging *st, const char *name, const char *final);
/* fdatasync every staged file, rename them into place, fsync the directories. */
int img_staging_commit(ImgStaging *st, char **error_msg);

typedef struct ImgRefs {
        char **names;
        char **digests;
        size_t n;
} ImgRefs;

void img_refs_done(ImgRefs *r);
int img_refs_load(ImgStore *s, ImgRefs *ret, char **error_msg);
int img_refs_save(ImgStore *s, const ImgRefs *refs, char **error_msg);
int img_refs_set(ImgRefs *refs, const char *name, const char *digest);
void img_refs_remove_at(ImgRefs *refs, size_t i);
/* Point every name at digest, under the refs lock. */
int img_refs_add(ImgStore *s, char *const *names, const char *digest, char **error_msg);

/* Image records (images/<hex>.json): an ImgInfo without names. */
int img_record_write(ImgStore *s, const ImgInfo *info, char **error_msg);
int img_record_read(ImgStore *s, const char *digest, ImgInfo **ret, char **error_msg);
/* gc taking the store lock with lock_op (LOCK_EX, maybe | LOCK_NB). */
int img_gc_locked(ImgStore *s, int lock_op, ImgGcStats *ret, char **error_msg);
/* A layer (by the name of its files, "<hex>") mounted for at least one instance. */
bool img_layer_in_use(ImgStore *s, const char *layer_name);
/*
 * With the store locked exclusively: drop layer references of instances that
 * have no state (a crash mid-create), and unmount layers nobody references.
 */
int img_mounts_prune(ImgStore *s, uint64_t *ret_unmounted);

/* ----------------------------------------------------------------- errors */

/*
 * Set *error_msg (if error_msg and no message is there yet) to the formatted
 * text and return -abs(r). Inner layers state what went wrong; outer layers
 * add context with img_err_wrap().
 */
int img_err(char **error_msg, int r, const char *fmt, ...) _printf_(3, 4);
/* Prefix an existing message with context ("layer 2: "), or create "context: strerror(r)". */
int img_err_wrap(char **error_msg, int r, const char *fmt, ...) _printf_(3, 4);

/* ----------------------------------------------------------------- digest */

#define IMG_DIGEST_MAX 136 /* "sha512:" + 128 hex + NUL */

typedef struct ImgHash ImgHash;

/* algorithm "sha256" or "sha512"; -EOPNOTSUPP otherwise. */
int img_hash_new(const char *algorithm, ImgHash **ret);
ImgHash *img_hash_free(ImgHash *h);
DEFINE_CLEANUP_FUNC(ImgHash *, img_hash_free);
void img_hash_update(ImgHash *h, const void *p, size_t n);
/* Write "alg:hex" into buf (IMG_DIGEST_MAX bytes). The hash cannot be updated afterwards. */
int img_hash_final(ImgHash *h, char *buf);
/* "sha256:..." of a buffer. */
int img_digest_buffer(const void *p, size_t n, char *buf);
/* For a valid digest: the algorithm part ("sha256") into alg (16 bytes) and a pointer to the hex. */
int img_digest_split(const char *digest, char alg[static 16], const char **ret_hex);

/* ---------------------------------------------------------------- streams */

/*
 * A pull stream: read() returns bytes read, 0 at the end, -errno on failure
 * (after setting *error_msg through the stream's message pointer).
 */
typedef struct ImgStream ImgStream;
struct ImgStream {
        ssize_t (*read)(ImgStream *s, void *buf, size_t len);
        int (*skip)(ImgStream *s, uint64_t n); /* optional: skip without reading */
        void (*destroy)(ImgStream *s);
        char **error_msg;
};

ImgStream *img_stream_free(ImgStream *s);
DEFINE_CLEANUP_FUNC(ImgStream *, img_stream_free);
/* Read exactly len bytes; -EPIPE (with message) on a premature end. */
int img_stream_read_full(ImgStream *s, void *buf, size_t len);
/* Read and discard n bytes. */
int img_stream_skip(ImgStream *s, uint64_t n);
/* Read everything that is left, discarding it; returns 0 or -errno. */
int img_stream_drain(ImgStream *s);

/* Bytes [offset, offset+length) of fd (pread; fd is borrowed). length UINT64_MAX: to the end. */
int img_stream_fd(int fd, uint64_t offset, uint64_t length, char **error_msg, ImgStream **ret);
/* The same, taking ownership of fd (closed with the stream, also on failure). */
int img_stream_fd_take(int fd, uint64_t offset, uint64_t length, char **error_msg, ImgStream **ret);
/*
 * Pass through inner (owned): every byte read is hashed into hash (borrowed,
 * may be NULL), written to copy_fd (borrowed, may be -1) and counted; a read
 * past max_bytes (UINT64_MAX: unbounded) fails with -EFBIG.
 */
int img_stream_tee(
                ImgStream *inner,
                ImgHash *hash,
                int copy_fd,
                uint64_t max_bytes,
                uint64_t *counter,
                ImgStream **ret);

typedef enum ImgCompression {
        IMG_COMPRESSION_AUTO, /* detect gzip / zstd / none from the magic */
        IMG_COMPRESSION_NONE,
        IMG_COMPRESSION_GZIP,
        IMG_COMPRESSION_ZSTD,
        _IMG_COMPRESSION_MAX,
        _IMG_COMPRESSION_INVALID = -EINVAL,
} ImgCompression;

const char *img_compression_to_string(ImgCompression c);
/* Map a layer media type to its compression; -EPROTONOSUPPORT for unknown layer types. */
int img_layer_media_type_compression(const char *media_type, ImgCompression *ret);
/*
 * Decompress inner (owned). AUTO detects; GZIP/ZSTD insist on that format
 * (-EBADMSG otherwise). Gzip members may be concatenated; anything else after
 * the compressed data, a truncated stream or a bad checksum is -EBADMSG.
 */
int img_stream_decompress(ImgStream *inner, ImgCompression c, ImgStream **ret);

/* -------------------------------------------------------------------- tar */

typedef enum TarType {
        TAR_REG,
        TAR_HARDLINK,
        TAR_SYMLINK,
        TAR_CHR,
        TAR_BLK,
        TAR_DIR,
        TAR_FIFO,
        _TAR_TYPE_MAX,
} TarType;

typedef struct TarXattr {
        char *name;
        void *value;
        size_t size;
} TarXattr;

typedef struct TarEntry {
        char *path; /* as stored (not normalized) */
        char *link; /* hardlink or symlink target */
        TarType type;
        uint32_t mode; /* permission bits (07777) */
        uint32_t uid, gid;
        int64_t mtime;
        uint64_t size; /* data bytes following (regular files) */
        uint32_t devmajor, devminor;
        TarXattr *xattrs;
        size_t n_xattrs;
} TarEntry;

typedef struct TarReader TarReader;

/* in is borrowed. Limits are copied. */
int tar_reader_new(ImgStream *in, const ImgLimits *limits, char **error_msg, TarReader **ret);
TarReader *tar_reader_free(TarReader *t);
DEFINE_CLEANUP_FUNC(TarReader *, tar_reader_free);
/*
 * Advance to the next entry (skipping unread data of the current one). Returns
 * 1 and points *ret at the entry (valid until the next call), or 0 at the end
 * of the archive (two zero blocks, or a clean end of input).
 */
int tar_next(TarReader *t, const TarEntry **ret);
/* Data of the current entry: bytes read, 0 when all was read. */
ssize_t tar_read(TarReader *t, void *buf, size_t len);
/* Offset in the input of the current entry's data (for indexing outer archives). */
uint64_t tar_data_offset(const TarReader *t);

/* --------------------------------------------------------------- squashfs */

typedef struct SqfsWriter SqfsWriter;

typedef struct SqfsWriterOptions {
        int compressor; /* SQFS_COMP_* */
        int level; /* 0: the writer's default */
        unsigned block_size; /* 0: 128 KiB */
        unsigned workers; /* 0: one per online CPU */
        uint32_t mtime; /* superblock time */
} SqfsWriterOptions;

typedef struct SqfsAttr {
        uint32_t mode; /* full st_mode: type and permission bits */
        uint32_t uid, gid;
        uint32_t mtime;
        uint32_t rdev; /* device number for S_IFCHR/S_IFBLK, encoded like makedev() */
        const char *link; /* symlink target */
        const TarXattr *xattrs;
        size_t n_xattrs;
} SqfsAttr;

typedef struct SqfsNode SqfsNode;

/* out_fd is borrowed: the image is written from offset 0. */
int sqfs_writer_new(int out_fd, const SqfsWriterOptions *o, char **error_msg, SqfsWriter **ret);
SqfsWriter *sqfs_writer_free(SqfsWriter *w);
DEFINE_CLEANUP_FUNC(SqfsWriter *, sqfs_writer_free);
SqfsNode *sqfs_writer_root(SqfsWriter *w);
size_t sqfs_writer_node_count(const SqfsWriter *w);

/* Child of a directory by name, or NULL. */
SqfsNode *sqfs_node_lookup(SqfsWriter *w, SqfsNode *dir, const char *name);
uint32_t sqfs_node_mode(const SqfsNode *n);
void sqfs_node_get_attr(const SqfsNode *n, uint32_t *mode, uint32_t *uid, uint32_t *gid, uint32_t *mtime);
const char *sqfs_node_name(const SqfsNode *n);
SqfsNode *sqfs_node_parent(const SqfsNode *n);
bool sqfs_node_is_whiteout(const SqfsNode *n);
/* Children in insertion order. */
SqfsNode *sqfs_node_first_child(const SqfsNode *dir);
SqfsNode *sqfs_node_next_sibling(const SqfsNode *n);
/* Flags the layer builder keeps on nodes. */
#define SQFS_NODE_IMPLICIT (1u << 0) /* a directory created only as a parent */
#define SQFS_NODE_OPAQUE (1u << 1)
unsigned sqfs_node_flags(const SqfsNode *n);
void sqfs_node_set_flags(SqfsNode *n, unsigned flags);
/*
 * Set attributes of an existing node (directory metadata from a later tar entry);
 * xattrs replace the old ones.
 */
int sqfs_node_set_attr(SqfsWriter *w, SqfsNode *n, const SqfsAttr *a);
/* Add an xattr to a node (replacing one of the same name). */
int sqfs_node_add_xattr(SqfsWriter *w, SqfsNode *n, const char *name, const void *value, size_t size);

/*
 * Create name in dir, replacing whatever had that name (a replaced directory
 * loses its subtree). For regular files, the data follows with
 * sqfs_writer_append() and ends with sqfs_writer_end_file().
 */
int sqfs_writer_add(SqfsWriter *w, SqfsNode *dir, const char *name, const SqfsAttr *a, SqfsNode **ret);
int sqfs_writer_append(SqfsWriter *w, const void *data, size_t len);
int sqfs_writer_end_file(SqfsWriter *w);
/* A hard link: name in dir shares target's inode. */
int sqfs_writer_link(SqfsWriter *w, SqfsNode *dir, const char *name, SqfsNode *target, SqfsNode **ret);
/* Remove one entry (and its subtree). */
void sqfs_writer_remove(SqfsWriter *w, SqfsNode *n);
/* Serialize the tree: inode and directory tables, ids, xattrs, superblock. */
int sqfs_writer_finish(SqfsWriter *w, uint64_t *ret_size);

/*
 * sqfs-check.c: whether buf (len bytes from the start of a file of file_size bytes; untrusted)
 * holds a squashfs 4.0 superblock whose tables lie inside the image. -EBADMSG with a message.
 */
int img_sqfs_check_super(const void *buf, size_t len, uint64_t file_size, char **error_msg);
/* The same for an open file. */
int img_sqfs_check_fd(int fd, char **error_msg);

/* ------------------------------------------------------------------ layer */

typedef struct ImgDirAttr {
        char *path; /* NULL inside the view */
        uint32_t mode, uid, gid, mtime;
} ImgDirAttr;

/* What a converted layer means for the layers above it. */
typedef struct ImgLayerSummary {
        ImgDirAttr *dirs; /* every directory but the root */
        size_t n_dirs;
        char **symlinks;
        char **whiteouts;
        char **opaque_dirs;
} ImgLayerSummary;

void img_layer_summary_done(ImgLayerSummary *l);

typedef enum ImgViewKind {
        IMG_VIEW_NONE,
        IMG_VIEW_DIR,
        IMG_VIEW_SYMLINK,
} ImgViewKind;

/* The merged directories and symlinks of lower layers (view.c). */
typedef struct ImgView ImgView;
int img_view_new(ImgView **ret);
ImgView *img_view_free(ImgView *v);
DEFINE_CLEANUP_FUNC(ImgView *, img_view_free);
ImgViewKind img_view_lookup(const ImgView *v, char *const *comps, size_t n, ImgDirAttr *ret_attr);
/* Apply one more layer on top. */
int img_view_apply(ImgView *v, const ImgLayerSummary *l);

typedef struct ImgLayerResult {
        char diff_id[IMG_DIGEST_MAX];
        uint64_t tar_size; /* uncompressed */
        uint64_t squashfs_size;
        size_t entries;
        size_t implicit_dirs; /* parents the layer did not list */
        ImgLayerSummary summary;
} ImgLayerResult;

void img_layer_result_done(ImgLayerResult *r);

typedef struct ImgLayerOptions {
        const ImgLimits *limits;
        const ImgView *lower; /* may be NULL: nothing below */
        bool allow_devices;
        SqfsWriterOptions sqfs;
        const char *diff_id_algorithm; /* "sha256" (default) */
} ImgLayerOptions;

/*
 * Convert one layer blob stream (in: owned, compressed as c says; AUTO
 * detects) into a squashfs image written to out_fd, computing the diff_id
 * over the uncompressed tar. OCI whiteouts become overlayfs whiteouts (0/0
 * character devices) and opaque directories get trusted.overlay.opaque and
 * user.overlay.opaque = "y". Entries escaping the root, hard links leaving the
 * layer, and device nodes when not allowed fail with a message naming the
 * entry. The stream is read to its very end, so hashes over it are complete.
 */
int img_layer_convert(
                ImgStream *in,
                ImgCompression c,
                int out_fd,
                const ImgLayerOptions *o,
                ImgLayerResult *ret,
                char **error_msg);

/*
 * Normalize a tar path: drop "./", "//" and "." components, reject absolute
 * paths, ".." components, empty names and names longer than 255 bytes.
 * Returns the number of components stored in *ret (malloc'd, NULL-terminated).
 */
int img_path_split(const char *path, size_t max_path, char ***ret, char **error_msg);

/* ----------------------------------------------------------------- import */

typedef struct OciImageConfig OciImageConfig;
typedef struct OciIndex OciIndex;
typedef struct OciDescriptor OciDescriptor;

typedef struct ImgJobLayer {
        char *digest; /* NULL: unknown until read (old docker archives) */
        char *media_type;
        uint64_t size; /* UINT64_MAX: unknown */
        char *diff_id;
        char *chain_id; /* image-spec config.md "Layer ChainID": names the squashfs */
        uint64_t squashfs_size;
        ImgLayerSummary summary;
} ImgJobLayer;

void img_job_layer_done(ImgJobLayer *l);

typedef struct ImgJob ImgJob;

/*
 * Open a layer blob. A source that already put the verified blob in the
 * staging directory (a download) registers it itself and sets *ret_staged.
 */
typedef int (*ImgJobOpenFn)(
                void *userdata,
                ImgJob *j,
                unsigned index,
                const ImgJobLayer *l,
                ImgStream **ret,
                bool *ret_staged);

typedef struct ImgJobSource {
        /* A small blob (config), verified against digest, at most size bytes. */
        int (*read_blob)(void *userdata, ImgJob *j, const char *digest, uint64_t size, char **ret, size_t *ret_len);
        ImgJobOpenFn open_layer;
        void *userdata;
} ImgJobSource;

struct ImgJob {
        ImgStore *s;
        ImgStaging *st;
        ImgProgressFn progress;
        void *userdata;
        char **error_msg;
        SqfsWriterOptions sqfs;
        ImgJobLayer *layers;
        size_t n_layers;
        size_t expected_layers;
        char **staged; /* final paths already staged by this job */
        ImgView *view; /* the layers converted so far, merged */
};

int img_job_new(ImgStore *s, ImgProgressFn progress, void *userdata, char **error_msg, ImgJob **ret);
ImgJob *img_job_free(ImgJob *j);
DEFINE_CLEANUP_FUNC(ImgJob *, img_job_free);
void img_job_report(
                ImgJob *j,
                ImgProgressKind kind,
                const char *what,
                const char *digest,
                unsigned index,
                uint64_t done,
                uint64_t total);
int img_job_stage_blob(ImgJob *j, const char *digest, const void *data, size_t len);
/* Append a layer (taking over the contents of *in); *ret points into the job. */
int img_job_add_layer(ImgJob *j, ImgJobLayer *in, ImgJobLayer **ret);
/* Convert (or find in the store) the next layer; expected_diff_id comes from the image config. */
int img_job_convert_layer(
                ImgJob *j,
                unsigned index,
                ImgJobLayer *l,
                const char *expected_diff_id,
                ImgJobOpenFn open_fn,
                void *userdata);
/* ChainID of a layer over the chain below it (NULL for the bottom layer). */
int img_chain_id(const char *lower_chain_id, const char *diff_id, char **ret);
int img_job_check_config(ImgJob *j, const OciImageConfig *cfg, size_t n_layers);
int img_job_fill_info(ImgJob *j, const OciImageConfig *cfg, ImgInfo *info);
/* Commit staged files, write the record (info gets the layers), add names. */
int img_job_commit(ImgJob *j, ImgInfo *info, char *const *names, char **ret_digest);
/* The whole path for a manifest (OCI or docker schema 2) whose blobs come from src. */
int img_job_import_manifest(
                ImgJob *j,
                const char *manifest_digest,
                const char *text,
                size_t len,
                const ImgJobSource *src,
                const char *source_desc,
                char *const *names,
                char **ret_digest);

/* Check data against a digest; -EBADMSG with a message on mismatch. */
int img_verify_digest(const void *data, size_t len, const char *digest, char **error_msg);
int img_platform_default(const char *platform, char **ret_os, char **ret_arch, char **ret_variant, char **error_msg);
/* Pick the manifest for a platform (NULL: linux/<host arch>) from an index. */
int img_index_select(const OciIndex *idx, const char *platform, const OciDescriptor **ret, char **error_msg);

/* ------------------------------------------------------------- references */

typedef struct ImgRef {
        char *domain; /* NULL when absent (not normalized) */
        char *path;
        char *tag; /* NULL when absent */
        char *digest; /* NULL when absent */
} ImgRef;

/*
 * Parse [DOMAIN/]PATH[:TAG][@DIGEST]. normalize: fill in docker.io, library/
 * and the "latest" tag (when there is no digest), as pulling needs.
 */
int img_ref_parse(const char *s, bool normalize, ImgRef *ret, char **error_msg);
void img_ref_done(ImgRef *r);
/* "DOMAIN/PATH" or "PATH". */
int img_ref_name(const ImgRef *r, char **ret);
/* A local image name as stored in refs: "NAME:TAG" (":latest" added when there is no tag). */
int img_name_normalize(const char *s, char **ret, char **error_msg);

/* ----------------------------------------------------------------- bundle */

typedef struct OciUser OciUser;
/*
 * Resolve an image-config User ("user[:group]", names or numbers) through
 * rootfs/etc/passwd and rootfs/etc/group, read without leaving rootfs.
 * Unknown names are -ESRCH (conversion.md: "MUST return an error").
 */
int img_resolve_user(const char *rootfs, const char *spec, OciUser *ret, char **error_msg);

/* ------------------------------------------------------------------- misc */

/* Host platform "linux/amd64" components. */
const char *img_host_arch(void);
/* Parse "os/arch[/variant]"; strings point into a malloc'd copy in *ret_buf. */
int img_platform_parse(const char *s, char **ret_os, char **ret_arch, char **ret_variant);
/* Random hex suffix for temp names. */
int img_random_hex(char *buf, size_t n);
