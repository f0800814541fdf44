/* SPDX-License-Identifier: Apache-2.0 */
#include "helpers.h"
#include "tap.h"

static int decompress_all(const void *p, size_t n, ImgCompression c, Buf *out, char **msg) {
        _cleanup_close_ int fd = memfd_with(p, n);
        _cleanup_(img_stream_freep) ImgStream *d = NULL;
        ImgStream *s = NULL;
        uint8_t chunk[4096];
        int r;

        r = img_stream_fd(fd, 0, UINT64_MAX, msg, &s);
        if (r < 0)
                return r;
        r = img_stream_decompress(s, c, &d);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t k = d->read(d, chunk, sizeof(chunk));
                if (k < 0)
                        return (int) k;
                if (k == 0)
                        return 0;
                buf_add(out, chunk, (size_t) k);
        }
}

static void payload(Buf *b, size_t n) {
        for (size_t i = 0; i < n; i++) {
                uint8_t c = (uint8_t) ((i * 7919) >> 3);
                buf_add(b, &c, 1);
        }
}

TEST(digest_of_known_strings) {
        char d[IMG_DIGEST_MAX], alg[16];
        const char *hex;

        ASSERT_OK(img_digest_buffer("", 0, d));
        ASSERT_STREQ(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        ASSERT_OK(img_digest_buffer("abc", 3, d));
        ASSERT_STREQ(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        ASSERT_OK(img_digest_split(d, alg, &hex));
        ASSERT_STREQ(alg, "sha256");
        ASSERT_EQ(strlen(hex), 64u);
        ASSERT_ERROR(img_digest_split("sha256:ABC", alg, &hex), EINVAL);
        ASSERT_ERROR(img_digest_split("md5:00", alg, &hex), EINVAL);
        ASSERT_ERROR(img_digest_split(
                                     "sha256:../../../../etc/passwd0000000000000000000000000000000000000",
                                     alg, &hex),
                     EINVAL);
}

TEST(gzip_roundtrip_and_multimember) {
        Buf plain = {}, gz = {}, out = {};
        _cleanup_free_ char *msg = NULL;

        payload(&plain, 300000);
        gzip_buf(plain.data, 100000, &gz);
        gzip_buf(plain.data + 100000, 200000, &gz); /* a second member */
        ASSERT_OK(decompress_all(gz.data, gz.len, IMG_COMPRESSION_AUTO, &out, &msg));
        ASSERT_EQ(out.len, plain.len);
        ASSERT_TRUE(memcmp(out.data, plain.data, plain.len) == 0);
        buf_done(&out);
        ASSERT_OK(decompress_all(gz.data, gz.len, IMG_COMPRESSION_GZIP, &out, &msg));
        ASSERT_EQ(out.len, plain.len);
        buf_done(&plain);
        buf_done(&gz);
        buf_done(&out);
}

TEST(zstd_roundtrip) {
        Buf plain = {}, zs = {}, out = {};
        _cleanup_free_ char *msg = NULL;

        payload(&plain, 500000);
        zstd_buf(plain.data, plain.len, &zs);
        ASSERT_OK(decompress_all(zs.data, zs.len, IMG_COMPRESSION_AUTO, &out, &msg));
        ASSERT_EQ(out.len, plain.len);
        ASSERT_TRUE(memcmp(out.data, plain.data, plain.len) == 0);
        buf_done(&plain);
        buf_done(&zs);
        buf_done(&out);
}

TEST(plain_passthrough) {
        Buf out = {};
        _cleanup_free_ char *msg = NULL;

        ASSERT_OK(decompress_all("hello tar", 9, IMG_COMPRESSION_AUTO, &out, &msg));
        ASSERT_EQ(out.len, 9u);
        ASSERT_TRUE(memcmp(out.data, "hello tar", 9) == 0);
        buf_done(&out);
        ASSERT_OK(decompress_all("", 0, IMG_COMPRESSION_AUTO, &out, &msg));
        ASSERT_EQ(out.len, 0u);
        buf_done(&out);
}

TEST(truncated_gzip_is_rejected) {
        Buf plain = {}, gz = {}, out = {};
        _cleanup_free_ char *msg = NULL;

        payload(&plain, 200000);
        gzip_buf(plain.data, plain.len, &gz);
        ASSERT_ERROR(decompress_all(gz.data, gz.len - 9, IMG_COMPRESSION_AUTO, &out, &msg), EBADMSG);
        ASSERT_STRCONTAINS(msg, "truncated gzip");
        buf_done(&plain);
        buf_done(&gz);
        buf_done(&out);
}

TEST(corrupt_gzip_is_rejected) {
        Buf plain = {}, gz = {}, out = {};
        _cleanup_free_ char *msg = NULL;

        payload(&plain, 200000);
        gzip_buf(plain.data, plain.len, &gz);
        gz.data[gz.len - 6] ^= 0xff; /* the CRC-32 in the trailer */
        ASSERT_ERROR(decompress_all(gz.data, gz.len, IMG_COMPRESSION_AUTO, &out, &msg), EBADMSG);
        ASSERT_STRCONTAINS(msg, "corrupt gzip");
        buf_done(&plain);
        buf_done(&gz);
        buf_done(&out);
}

TEST(gzip_trailing_garbage_is_rejected) {
        Buf plain = {}, gz = {}, out = {};
        _cleanup_free_ char *msg = NULL;

        payload(&plain, 1000);
        gzip_buf(plain.data, plain.len, &gz);
        buf_add(&gz, "garbage", 7);
        ASSERT_ERROR(decompress_all(gz.data, gz.len, IMG_COMPRESSION_AUTO, &out, &msg), EBADMSG);
        ASSERT_STRCONTAINS(msg, "trailing data");
        buf_done(&plain);
        buf_done(&gz);
        buf_done(&out);
}

TEST(truncated_and_corrupt_zstd_are_rejected) {
        Buf plain = {}, zs = {}, out = {};
        _cleanup_free_ char *msg = NULL;

        payload(&plain, 300000);
        zstd_buf(plain.data, plain.len, &zs);
        ASSERT_ERROR(decompress_all(zs.data, zs.len - 5, IMG_COMPRESSION_AUTO, &out, &msg), EBADMSG);
        ASSERT_STRCONTAINS(msg, "zstd");
        buf_done(&out);
        free(msg);
        msg = NULL;
        /* The frame header descriptor's reserved bit (RFC 8878 3.1.1.1.1); zstd frames carry no checksum
         * by default, so corrupt block contents are for the digest check to catch. */
        zs.data[4] |= 0x08;
        ASSERT_ERROR(decompress_all(zs.data, zs.len, IMG_COMPRESSION_AUTO, &out, &msg), EBADMSG);
        buf_done(&plain);
        buf_done(&zs);
        buf_done(&out);
}

TEST(declared_compression_must_match) {
        Buf out = {};
        _cleanup_free_ char *msg = NULL;

        ASSERT_ERROR(decompress_all("plain data", 10, IMG_COMPRESSION_GZIP, &out, &msg), EBADMSG);
        ASSERT_STRCONTAINS(msg, "not gzip-compressed");
        buf_done(&out);
}

TEST(media_types) {
        ImgCompression c;

        ASSERT_OK(img_layer_media_type_compression("application/vnd.oci.image.layer.v1.tar+gzip", &c));
        ASSERT_EQ(c, IMG_COMPRESSION_GZIP);
        ASSERT_OK(img_layer_media_type_compression("application/vnd.oci.image.layer.v1.tar+zstd", &c));
        ASSERT_EQ(c, IMG_COMPRESSION_ZSTD);
        ASSERT_OK(img_layer_media_type_compression("application/vnd.docker.image.rootfs.diff.tar.gzip", &c));
        ASSERT_EQ(c, IMG_COMPRESSION_GZIP);
        ASSERT_OK(img_layer_media_type_compression("application/vnd.oci.image.layer.v1.tar", &c));
        ASSERT_EQ(c, IMG_COMPRESSION_AUTO);
        ASSERT_ERROR(img_layer_media_type_compression("application/vnd.example.layer+zip", &c),
                     EPROTONOSUPPORT);
        ASSERT_ERROR(img_layer_media_type_compression(NULL, &c), EPROTONOSUPPORT);
}

TEST(tee_hashes_copies_and_bounds) {
        _cleanup_close_ int in = memfd_with("0123456789", 10), copy = memfd_with("", 0);
        _cleanup_(img_hash_freep) ImgHash *h = NULL;
        _cleanup_(img_stream_freep) ImgStream *t = NULL, *t2 = NULL;
        ImgStream *s = NULL;
        _cleanup_free_ char *msg = NULL;
        char d[IMG_DIGEST_MAX], want[IMG_DIGEST_MAX], back[11] = {};
        uint64_t count = 0;

        ASSERT_OK(img_hash_new("sha256", &h));
        ASSERT_OK(img_stream_fd(in, 0, UINT64_MAX, &msg, &s));
        ASSERT_OK(img_stream_tee(s, h, copy, UINT64_MAX, &count, &t));
        ASSERT_OK(img_stream_drain(t));
        ASSERT_EQ(count, 10u);
        ASSERT_OK(img_hash_final(h, d));
        ASSERT_OK(img_digest_buffer("0123456789", 10, want));
        ASSERT_STREQ(d, want);
        ASSERT_EQ(pread(copy, back, 10, 0), 10);
        ASSERT_STREQ(back, "0123456789");

        ASSERT_OK(img_stream_fd(in, 2, 5, &msg, &s));
        ASSERT_OK(img_stream_tee(s, NULL, -1, 4, NULL, &t2));
        ASSERT_ERROR(img_stream_drain(t2), EFBIG);
}

TEST(fd_range_short_file_is_an_error) {
        _cleanup_close_ int in = memfd_with("abc", 3);
        _cleanup_(img_stream_freep) ImgStream *s = NULL;
        _cleanup_free_ char *msg = NULL;
        char b[16];

        ASSERT_OK(img_stream_fd(in, 1, 10, &msg, &s));
        ASSERT_ERROR(img_stream_read_full(s, b, 10), EPIPE);
}
