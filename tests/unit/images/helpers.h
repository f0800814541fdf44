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
