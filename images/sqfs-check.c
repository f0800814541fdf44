/* SPDX-License-Identifier: Apache-2.0 */

/*
 * A squashfs superblock checked before a layer file from the store is reused
 * or handed to a mounter: the kernel's squashfs (fs/squashfs/super.c) and
 * squashfuse then parse the rest, but a truncated, foreign or damaged file is
 * caught here with a message naming what is wrong. Layout: squashfs 4.0,
 * superblock of 96 little-endian bytes, then data blocks, inode table,
 * directory table, fragment/export/id/xattr tables, all below bytes_used.
 */

#include <endian.h>
#include <sys/stat.h>

#include "images-internal.h"

#define SQFS_SUPER_SIZE 96
#define SQFS_MAGIC_LE 0x73717368u /* "hsqs" */
#define SQFS_METADATA_SIZE 8192u
#define SQFS_KNOWN_FLAGS 0x0fffu
#define SQFS_COMPRESSOR_MAX 6 /* gzip, lzma, lzo, xz, lz4, zstd */
#define SQFS_NO_TABLE UINT64_MAX

static uint16_t le16_at(const uint8_t *p, size_t off) {
        uint16_t v;
        memcpy(&v, p + off, sizeof v);
        return le16toh(v);
}

static uint32_t le32_at(const uint8_t *p, size_t off) {
        uint32_t v;
        memcpy(&v, p + off, sizeof v);
        return le32toh(v);
}

static uint64_t le64_at(const uint8_t *p, size_t off) {
        uint64_t v;
        memcpy(&v, p + off, sizeof v);
        return le64toh(v);
}

/* An optional table (SQFS_NO_TABLE when absent) must start after the directory table, below bytes_used. */
static int check_table(uint64_t start, uint64_t after, uint64_t used, const char *name, char **error_msg) {
        if (start == SQFS_NO_TABLE)
                return 0;
        if (start < after || start >= used)
                return img_err(error_msg, -EBADMSG,
                               "squashfs: %s table at %" PRIu64 " is outside %" PRIu64 "..%" PRIu64, name,
                               start, after, used);
        return 0;
}

int img_sqfs_check_super(const void *buf, size_t len, uint64_t file_size, char **error_msg) {
        const uint8_t *p = buf;
        uint64_t used, inodes_at, dirs_at, root;
        uint32_t block_size;
        uint16_t block_log, comp;
        int r;

        if (len < SQFS_SUPER_SIZE || file_size < SQFS_SUPER_SIZE)
                return img_err(error_msg, -EBADMSG, "squashfs: file too short for a superblock");
        if (le32_at(p, 0) != SQFS_MAGIC_LE)
                return img_err(error_msg, -EBADMSG, "squashfs: bad magic");
        if (le16_at(p, 28) != 4 || le16_at(p, 30) != 0)
                return img_err(error_msg, -EBADMSG, "squashfs: version %u.%u, expected 4.0", le16_at(p, 28),
                               le16_at(p, 30));
        block_size = le32_at(p, 12);
        block_log = le16_at(p, 22);
        if (block_log < 12 || block_log > 20 || block_size != 1u << block_log)
                return img_err(error_msg, -EBADMSG, "squashfs: bad block size %" PRIu32 " (log %u)",
                               block_size, block_log);
        comp = le16_at(p, 20);
        if (comp < 1 || comp > SQFS_COMPRESSOR_MAX)
                return img_err(error_msg, -EBADMSG, "squashfs: unknown compressor %u", comp);
        if (le16_at(p, 24) & ~SQFS_KNOWN_FLAGS)
                return img_err(error_msg, -EBADMSG, "squashfs: unknown flags 0x%x", le16_at(p, 24));
        if (le32_at(p, 4) == 0 || le16_at(p, 26) == 0)
                return img_err(error_msg, -EBADMSG, "squashfs: no inodes or no ids");

        used = le64_at(p, 40);
        if (used < SQFS_SUPER_SIZE || used > file_size)
                return img_err(error_msg, -EBADMSG,
                               "squashfs: image claims %" PRIu64 " bytes, the file holds %" PRIu64, used,
                               file_size);
        inodes_at = le64_at(p, 64);
        dirs_at = le64_at(p, 72);
        if (inodes_at < SQFS_SUPER_SIZE || inodes_at >= dirs_at || dirs_at >= used)
                return img_err(error_msg, -EBADMSG,
                               "squashfs: inode table at %" PRIu64 " and directory table at %" PRIu64
                               " out of order",
                               inodes_at, dirs_at);
        /* The root inode reference: metadata block offset (from the inode table) << 16 | offset in it. */
        root = le64_at(p, 32);
        if (root >> 48 || (root & 0xffff) >= SQFS_METADATA_SIZE || (root >> 16) >= dirs_at - inodes_at)
                return img_err(error_msg, -EBADMSG,
                               "squashfs: root inode reference 0x%" PRIx64 " out of range", root);
        /* The id table is not optional. */
        if (le64_at(p, 48) == SQFS_NO_TABLE)
                return img_err(error_msg, -EBADMSG, "squashfs: no id table");
        r = check_table(le64_at(p, 48), dirs_at, used, "id", error_msg);
        if (r >= 0)
                r = check_table(le64_at(p, 56), dirs_at, used, "xattr", error_msg);
        if (r >= 0)
                r = check_table(le64_at(p, 80), dirs_at, used, "fragment", error_msg);
        if (r >= 0)
                r = check_table(le64_at(p, 88), dirs_at, used, "export", error_msg);
        return r;
}

int img_sqfs_check_fd(int fd, char **error_msg) {
        uint8_t super[SQFS_SUPER_SIZE];
        struct stat st;
        ssize_t n;

        if (fstat(fd, &st) < 0)
                return img_err(error_msg, -errno, "squashfs: stat: %m");
        if (!S_ISREG(st.st_mode))
                return img_err(error_msg, -EBADMSG, "squashfs: not a regular file");
        n = pread(fd, super, sizeof super, 0);
        if (n < 0)
                return img_err(error_msg, -errno, "squashfs: read superblock: %m");
        return img_sqfs_check_super(super, (size_t) n, (uint64_t) st.st_size, error_msg);
}
