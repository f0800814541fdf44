/* SPDX-License-Identifier: Apache-2.0 */
#include "helpers.h"
#include "tap.h"

typedef struct Reading {
        int fd;
        ImgStream *s;
        TarReader *t;
        char *msg;
        ImgLimits limits;
} Reading;

static void open_tar(Reading *r, const Buf *b) {
        r->fd = memfd_with(b->data, b->len);
        ASSERT_TRUE(r->fd >= 0);
        r->msg = NULL;
        if (r->limits.max_path == 0)
                r->limits = img_default_limits;
        ASSERT_OK(img_stream_fd(r->fd, 0, UINT64_MAX, &r->msg, &r->s));
        ASSERT_OK(tar_reader_new(r->s, &r->limits, &r->msg, &r->t));
}

static void close_tar(Reading *r) {
        tar_reader_free(r->t);
        img_stream_free(r->s);
        close(r->fd);
        free(r->msg);
}

TEST(reads_basic_entries) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;
        char data[16] = {};

        tb_dir(&b, "etc/");
        tb_file(&b, "etc/hostname", "aula\n");
        tb_symlink(&b, "etc/link", "hostname");
        tb_hardlink(&b, "etc/hard", "etc/hostname");
        tb_entry(&b, '3', "dev/null", NULL, 0666, NULL, 0, 1, 3);
        tb_entry(&b, '6', "fifo", NULL, 0600, NULL, 0, 0, 0);
        tb_end(&b);
        open_tar(&rd, &b.out);

        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_STREQ(e->path, "etc/");
        ASSERT_EQ(e->type, TAR_DIR);
        ASSERT_EQ(e->mode, 0755u);
        ASSERT_EQ(e->mtime, 1700000000);
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_EQ(e->type, TAR_REG);
        ASSERT_EQ(e->size, 5u);
        ASSERT_EQ(tar_read(rd.t, data, sizeof(data)), 5);
        ASSERT_STREQ(data, "aula\n");
        ASSERT_EQ(tar_read(rd.t, data, sizeof(data)), 0);
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_EQ(e->type, TAR_SYMLINK);
        ASSERT_STREQ(e->link, "hostname");
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_EQ(e->type, TAR_HARDLINK);
        ASSERT_STREQ(e->link, "etc/hostname");
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_EQ(e->type, TAR_CHR);
        ASSERT_EQ(e->devmajor, 1u);
        ASSERT_EQ(e->devminor, 3u);
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_EQ(e->type, TAR_FIFO);
        ASSERT_EQ(tar_next(rd.t, &e), 0);
        ASSERT_EQ(tar_next(rd.t, &e), 0);
        close_tar(&rd);
        tb_done(&b);
}

TEST(unread_data_is_skipped) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;
        char big[3000];

        memset(big, 'x', sizeof(big));
        tb_entry(&b, '0', "big", NULL, 0644, big, sizeof(big), 0, 0);
        tb_file(&b, "small", "s");
        tb_end(&b);
        open_tar(&rd, &b.out);
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_STREQ(e->path, "small");
        close_tar(&rd);
        tb_done(&b);
}

TEST(pax_overrides_and_xattrs) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;
        _cleanup_free_ char *longname = malloc(300);

        memset(longname, 'n', 299);
        longname[299] = '\0';
        tb_pax(&b, "path", longname, 299);
        tb_pax(&b, "uid", "100000", 6);
        tb_pax(&b, "mtime", "1234567890.123456", 17);
        tb_pax(&b, "SCHILY.xattr.security.capability", "\x01\x00\x00\x02", 4);
        tb_pax(&b, "LIBARCHIVE.xattr.user.a%3Db", "aGVsbG8=", 8);
        tb_file(&b, "short", "x");
        tb_end(&b);
        open_tar(&rd, &b.out);
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_STREQ(e->path, longname);
        ASSERT_EQ(e->uid, 100000u);
        ASSERT_EQ(e->mtime, 1234567890);
        ASSERT_EQ(e->n_xattrs, 2u);
        ASSERT_STREQ(e->xattrs[0].name, "security.capability");
        ASSERT_EQ(e->xattrs[0].size, 4u);
        ASSERT_TRUE(memcmp(e->xattrs[0].value, "\x01\x00\x00\x02", 4) == 0);
        ASSERT_STREQ(e->xattrs[1].name, "user.a=b");
        ASSERT_EQ(e->xattrs[1].size, 5u);
        ASSERT_TRUE(memcmp(e->xattrs[1].value, "hello", 5) == 0);
        close_tar(&rd);
        tb_done(&b);
}

TEST(gnu_long_names) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;
        char name[201];

        memset(name, 'g', 200);
        name[200] = '\0';
        tb_entry(&b, 'L', "././@LongLink", NULL, 0644, name, 201, 0, 0);
        tb_file(&b, "truncated-name", "data");
        tb_end(&b);
        open_tar(&rd, &b.out);
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_STREQ(e->path, name);
        close_tar(&rd);
        tb_done(&b);
}

TEST(bad_checksum) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;

        tb_file(&b, "a", "x");
        b.out.data[0] = 'b';
        tb_end(&b);
        open_tar(&rd, &b.out);
        ASSERT_ERROR(tar_next(rd.t, &e), EBADMSG);
        ASSERT_STRCONTAINS(rd.msg, "checksum");
        close_tar(&rd);
        tb_done(&b);
}

TEST(truncated_data) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;
        char big[2000] = {}, sink[4096];

        tb_entry(&b, '0', "big", NULL, 0644, big, sizeof(big), 0, 0);
        b.out.len = 512 + 700;
        open_tar(&rd, &b.out);
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_EQ(tar_read(rd.t, sink, sizeof(sink)), 700);
        ASSERT_ERROR(tar_read(rd.t, sink, sizeof(sink)), EPIPE);
        close_tar(&rd);
        tb_done(&b);
}

TEST(truncated_header) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;

        tb_file(&b, "a", "x");
        b.out.len = 300;
        open_tar(&rd, &b.out);
        ASSERT_ERROR(tar_next(rd.t, &e), EPIPE);
        ASSERT_STRCONTAINS(rd.msg, "truncated");
        close_tar(&rd);
        tb_done(&b);
}

TEST(enormous_pax_header) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;
        size_t n = 2 * 1024 * 1024;
        _cleanup_free_ char *v = malloc(n);

        memset(v, 'v', n);
        tb_pax(&b, "comment", v, n);
        tb_file(&b, "a", "x");
        tb_end(&b);
        open_tar(&rd, &b.out);
        ASSERT_ERROR(tar_next(rd.t, &e), E2BIG);
        ASSERT_STRCONTAINS(rd.msg, "pax header");
        close_tar(&rd);
        tb_done(&b);
}

TEST(too_many_entries) {
        TarB b = {};
        Reading rd = { .limits = img_default_limits };
        const TarEntry *e;
        int r;

        rd.limits.max_entries = 10;
        for (int i = 0; i < 20; i++)
                tb_file(&b, "f", "x");
        tb_end(&b);
        open_tar(&rd, &b.out);
        while ((r = tar_next(rd.t, &e)) > 0)
                ;
        ASSERT_EQ(r, -E2BIG);
        close_tar(&rd);
        tb_done(&b);
}

TEST(huge_xattr_value) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;
        size_t n = 100 * 1024;
        _cleanup_free_ char *v = calloc(1, n);

        tb_pax(&b, "SCHILY.xattr.user.big", v, n);
        tb_file(&b, "a", "x");
        tb_end(&b);
        open_tar(&rd, &b.out);
        ASSERT_ERROR(tar_next(rd.t, &e), E2BIG);
        close_tar(&rd);
        tb_done(&b);
}

TEST(malformed_pax_record) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;

        buf_add(&b.pax, "999 path=x\n", 11);
        tb_file(&b, "a", "x");
        tb_end(&b);
        open_tar(&rd, &b.out);
        ASSERT_ERROR(tar_next(rd.t, &e), EINVAL);
        ASSERT_STRCONTAINS(rd.msg, "pax");
        close_tar(&rd);
        tb_done(&b);
}

TEST(sparse_and_unknown_types_are_refused) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;

        tb_entry(&b, 'S', "sparse", NULL, 0644, NULL, 0, 0, 0);
        tb_end(&b);
        open_tar(&rd, &b.out);
        ASSERT_ERROR(tar_next(rd.t, &e), EOPNOTSUPP);
        close_tar(&rd);
        tb_done(&b);

        b = (TarB){};
        tb_entry(&b, 'Z', "odd", NULL, 0644, NULL, 0, 0, 0);
        tb_end(&b);
        open_tar(&rd, &b.out);
        ASSERT_ERROR(tar_next(rd.t, &e), EOPNOTSUPP);
        ASSERT_STRCONTAINS(rd.msg, "unsupported entry type");
        close_tar(&rd);
        tb_done(&b);
}

TEST(end_without_marker_is_accepted) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;

        tb_file(&b, "a", "x");
        open_tar(&rd, &b.out);
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_EQ(tar_next(rd.t, &e), 0);
        close_tar(&rd);
        tb_done(&b);
}

TEST(base256_numbers) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;
        uint8_t *h;
        unsigned sum = 0;

        tb_file(&b, "a", "x");
        tb_end(&b);
        h = b.out.data;
        /* uid 3000000 in GNU base-256 */
        memset(h + 108, 0, 8);
        h[108] = 0x80;
        h[113] = 0x2d;
        h[114] = 0xc6;
        h[115] = 0xc0;
        memset(h + 148, ' ', 8);
        for (int i = 0; i < 512; i++)
                sum += h[i];
        for (int i = 5; i >= 0; i--, sum >>= 3)
                h[148 + i] = (uint8_t) ('0' + (sum & 7));
        h[154] = 0;
        open_tar(&rd, &b.out);
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_EQ(e->uid, 3000000u);
        close_tar(&rd);
        tb_done(&b);
}

TEST(end_of_input_instead_of_padding_is_accepted) {
        TarB b = {};
        Reading rd = {};
        const TarEntry *e;
        char data[8] = {};

        tb_file(&b, "etc/new", "added\n");
        b.out.len = 512 + 6; /* no padding, no end marker: what umoci insert writes */
        open_tar(&rd, &b.out);
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_EQ(tar_read(rd.t, data, sizeof(data)), 6);
        ASSERT_EQ(tar_next(rd.t, &e), 0);
        close_tar(&rd);

        /* Partial padding is truncation. */
        b.out.len = 512 + 100;
        open_tar(&rd, &b.out);
        ASSERT_EQ(tar_next(rd.t, &e), 1);
        ASSERT_ERROR(tar_next(rd.t, &e), EPIPE);
        close_tar(&rd);
        tb_done(&b);
}
