/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Test helpers for images/: build tar streams in memory, compress them, read squashfs images back. */

#include "images-internal.h"

/* ------------------------------------------------------------ tar builder */

typedef struct Buf {
        uint8_t *data;
        size_t len, size;
} Buf;

void buf_add(Buf *b, const void *p, size_t n);
void buf_done(Buf *b);

typedef struct TarB {
        Buf out;
        Buf pax; /* pending records for the next entry */
} TarB;

/* typeflag '0', '1', '2', '3', '4', '5', '6', ...; data only for regular files. */
void tb_entry(TarB *t,
              char type,
              const char *path,
              const char *link,
              uint32_t mode,
              const void *data,
              size_t len,
              uint32_t major,
              uint32_t minor);
void tb_file(TarB *t, const char *path, const char *content);
void tb_dir(TarB *t, const char *path);
void tb_symlink(TarB *t, const char *path, const char *target);
void tb_hardlink(TarB *t, const char *path, const char *target);
/* A pax record ("key=value") applied to the next entry. */
void tb_pax(TarB *t, const char *key, const void *value, size_t vlen);
/* End-of-archive marker. */
void tb_end(TarB *t);
void tb_done(TarB *t);

void gzip_buf(const void *p, size_t n, Buf *out);
void zstd_buf(const void *p, size_t n, Buf *out);

/* A memfd holding the bytes, for img_stream_fd(). */
int memfd_with(const void *p, size_t n);

/* --------------------------------------------------------- squashfs read */

typedef struct SqEntry {
        char *path; /* "" for the root, else "a/b" */
        uint32_t mode; /* with type bits */
        uint32_t uid, gid, mtime;
        uint32_t nlink;
        uint32_t inode_number;
        uint32_t rdev; /* kernel "new" encoding as stored */
        char *link;
        Buf data;
        char *xattrs; /* "key=value;" concatenated, sorted as stored */
} SqEntry;

typedef struct SqImage {
        SqEntry *e;
        size_t n;
} SqImage;

/* Read a whole squashfs image from fd. Returns -errno or 0. */
int sq_read(int fd, SqImage *ret);
void sq_done(SqImage *img);
const SqEntry *sq_find(const SqImage *img, const char *path);

/* ------------------------------------------------------------- conversion */

/* Convert tar bytes (maybe compressed) into a squashfs in a memfd; returns the fd or -errno. */
int convert_tar(const void *tar, size_t len, bool allow_devices, ImgLayerResult *ret_res, char **error_msg);

/* ------------------------------------------------------------ image kits */

/* A temporary directory, removed by tmpdir_done(). */
typedef struct TmpDir {
        char path[64];
        int fd;
} TmpDir;

void tmpdir_new(TmpDir *t);
void tmpdir_done(TmpDir *t);

/* Write a blob into <dirfd>/blobs/sha256/<hex>; digest (IMG_DIGEST_MAX) receives its digest. */
void layout_blob(int dirfd, const void *p, size_t n, char *digest);

typedef struct KitLayer {
        Buf blob; /* as stored (maybe compressed) */
        const char *media_type;
        char digest[IMG_DIGEST_MAX];
        char diff_id[IMG_DIGEST_MAX];
} KitLayer;

/* A layer from a finished tar builder: compression 'g' gzip, 'z' zstd, 0 none. */
void kit_layer(KitLayer *l, const TarB *tar, char compression);
/* A config text for the given layers (diff_ids), with some runtime settings. */
char *kit_config(const KitLayer *layers, size_t n, const char *arch);
/* A manifest text. */
char *kit_manifest(
                const char *config_digest,
                size_t config_size,
                const char *config_type,
                const KitLayer *layers,
                size_t n);
/*
 * Write a whole OCI layout into dirfd (blobs of the layers, config and manifest; index.json with one
 * descriptor carrying ref). Returns the manifest digest in mdigest.
 */
void kit_layout(int dirfd, KitLayer *layers, size_t n, const char *ref, char *mdigest);
/* Write a file relative to dirfd. */
void write_at(int dirfd, const char *path, const void *p, size_t n);
/* Sorted list of every path under dir (for "the store is unchanged" checks), ignoring *.lock files. */
char *tree_listing(const char *dir);
/* Tar up a directory tree (regular files and dirs only) into a Buf, as an archive source. */
void tar_directory(const char *dir, Buf *out);
