/* SPDX-License-Identifier: Apache-2.0 */
/* The control protocol's building blocks: packets with fds, error replies, detach keys. */
#include <sys/socket.h>
#include <sys/stat.h>

#include "shim-proto.h"
#include "tap.h"

static void pair(int sv[2]) {
        ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
}

TEST(packet_roundtrip_with_fds) {
        int sv[2], fds[SHIM_MAX_FDS], p[2];
        char buf[SHIM_PACKET_MAX];
        size_t n_fds = 99;
        struct stat a, b;

        pair(sv);
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        ASSERT_OK(shim_send_packet(sv[0], "{\"op\":\"exec\"}", 13, (int[]){ p[0], p[1], p[1] }, 3));
        ASSERT_EQ(shim_recv_packet(sv[1], buf, sizeof buf, fds, SHIM_MAX_FDS, &n_fds), 13);
        ASSERT_EQ(n_fds, 3u);
        ASSERT_TRUE(memcmp(buf, "{\"op\":\"exec\"}", 13) == 0);
        ASSERT_OK(fstat(fds[0], &a));
        ASSERT_OK(fstat(p[0], &b));
        ASSERT_EQ(a.st_ino, b.st_ino);
        ASSERT_TRUE(fcntl(fds[1], F_GETFD) & FD_CLOEXEC);
        for (int i = 0; i < 3; i++)
                close(fds[i]);
        close(sv[0]);
        close(sv[1]);
}

TEST(packet_without_fds_and_eof) {
        int sv[2], fds[SHIM_MAX_FDS];
        char buf[64];
        size_t n_fds = 7;

        pair(sv);
        ASSERT_OK(shim_send_packet(sv[0], "x", 1, NULL, 0));
        ASSERT_EQ(shim_recv_packet(sv[1], buf, sizeof buf, fds, SHIM_MAX_FDS, &n_fds), 1);
        ASSERT_EQ(n_fds, 0u);
        ASSERT_EQ(fds[0], -EBADF);
        close(sv[0]);
        ASSERT_EQ(shim_recv_packet(sv[1], buf, sizeof buf, fds, SHIM_MAX_FDS, &n_fds), 0);
        close(sv[1]);
}

TEST(packet_too_large_or_truncated) {
        int sv[2], fds[SHIM_MAX_FDS], p[2];
        char *big = calloc(1, SHIM_PACKET_MAX + 1), small[8];
        size_t n_fds = 5;

        ASSERT_NOT_NULL(big);
        pair(sv);
        ASSERT_ERROR(shim_send_packet(sv[0], big, SHIM_PACKET_MAX + 1, NULL, 0), EMSGSIZE);
        ASSERT_ERROR(shim_send_packet(sv[0], "x", 1, (int[]){ 0, 0, 0, 0 }, 4), EMSGSIZE);
        /* A packet longer than the reader's buffer is refused, and its fds are closed, not leaked. */
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        ASSERT_OK(shim_send_packet(sv[0], big, 100, &p[0], 1));
        ASSERT_ERROR(shim_recv_packet(sv[1], small, sizeof small, fds, SHIM_MAX_FDS, &n_fds), EMSGSIZE);
        ASSERT_EQ(n_fds, 0u);
        ASSERT_EQ(fds[0], -EBADF);
        free(big);
        close(p[0]);
        close(p[1]);
        close(sv[0]);
        close(sv[1]);
}

TEST(extra_fds_are_closed) {
        int sv[2], fds[1], p[2];
        char buf[16];
        size_t n_fds;

        pair(sv);
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        ASSERT_OK(shim_send_packet(sv[0], "y", 1, (int[]){ p[0], p[1], p[1] }, 3));
        ASSERT_EQ(shim_recv_packet(sv[1], buf, sizeof buf, fds, 1, &n_fds), 1);
        ASSERT_EQ(n_fds, 1u);
        close(fds[0]);
        close(p[1]);
        /* The two extra copies of p[1] were closed by the receiver: the pipe reads EOF. */
        ASSERT_EQ(read(p[0], buf, 1), 0);
        close(p[0]);
        close(sv[0]);
        close(sv[1]);
}

TEST(error_reply) {
        _cleanup_free_ char *text = NULL;
        _cleanup_(json_freep) JsonVal v = NULL;
        size_t len;

        ASSERT_OK(shim_reply_error(-ENOENT, "no \"such\" instance", &text, &len));
        ASSERT_OK(json_parse(text, len, &v, NULL));
        ASSERT_TRUE(YAJL_IS_FALSE(json_get(v, "ok")));
        ASSERT_STREQ(YAJL_GET_STRING(json_get(v, "error")), "no \"such\" instance");
        ASSERT_EQ(YAJL_GET_INTEGER(json_get(v, "errno")), ENOENT);
        free(text);
        text = NULL;
        ASSERT_OK(shim_reply_error(SYNTHETIC_ERRNO(EBUSY), NULL, &text, &len));
        ASSERT_STRCONTAINS(text, "\"errno\":16");
        ASSERT_STRCONTAINS(text, strerror(EBUSY));
}

TEST(detach_keys_parse) {
        uint8_t k[8];
        size_t n;

        ASSERT_OK(shim_parse_detach_keys("ctrl-p,ctrl-q", k, &n));
        ASSERT_EQ(n, 2u);
        ASSERT_EQ(k[0], 16);
        ASSERT_EQ(k[1], 17);
        ASSERT_OK(shim_parse_detach_keys("ctrl-a,d", k, &n));
        ASSERT_EQ(n, 2u);
        ASSERT_EQ(k[0], 1);
        ASSERT_EQ(k[1], 'd');
        ASSERT_OK(shim_parse_detach_keys("CTRL-[,ctrl-@,ctrl-_", k, &n));
        ASSERT_EQ(k[0], 27);
        ASSERT_EQ(k[1], 0);
        ASSERT_EQ(k[2], 31);
        ASSERT_ERROR(shim_parse_detach_keys("", k, &n), EINVAL);
        ASSERT_ERROR(shim_parse_detach_keys("ctrl-p,", k, &n), EINVAL);
        ASSERT_ERROR(shim_parse_detach_keys("ctrl-1", k, &n), EINVAL);
        ASSERT_ERROR(shim_parse_detach_keys("ab", k, &n), EINVAL);
        ASSERT_ERROR(shim_parse_detach_keys("a,b,c,d,e,f,g,h,i", k, &n), EINVAL);
}

/* Feed a string in chunks of `step` bytes; return what was forwarded and whether detach was seen. */
static int feed(ShimDetach *d, const char *in, size_t step, char *out, size_t *out_len) {
        size_t len = strlen(in), o = 0;
        for (size_t i = 0; i < len; i += step) {
                uint8_t tmp[64];
                size_t n, chunk = MIN(step, len - i);
                int r = shim_detach_feed(d, (const uint8_t *) in + i, chunk, tmp, &n);
                memcpy(out + o, tmp, n);
                o += n;
                if (r) {
                        *out_len = o;
                        out[o] = 0;
                        return 1;
                }
        }
        *out_len = o;
        out[o] = 0;
        return 0;
}

TEST(detach_sequence_matching) {
        ShimDetach d = {};
        char out[128];
        size_t n;

        ASSERT_OK(shim_parse_detach_keys("ctrl-p,ctrl-q", d.keys, &d.n_keys));
        /* Plain input passes through. */
        ASSERT_EQ(feed(&d, "ls -l\r", 1, out, &n), 0);
        ASSERT_STREQ(out, "ls -l\r");
        /* The sequence detaches, whatever the chunking, and nothing of it is forwarded. */
        for (size_t step = 1; step <= 4; step++) {
                d.matched = 0;
                ASSERT_EQ(feed(&d, "ab\x10\x11zz", step, out, &n), 1);
                ASSERT_STREQ(out, "ab");
        }
        /* A lone ctrl-p followed by something else is released with it. */
        d.matched = 0;
        ASSERT_EQ(feed(&d, "\x10x", 1, out, &n), 0);
        ASSERT_STREQ(out, "\x10x");
        /* ctrl-p ctrl-p ctrl-q: the first ctrl-p is input, then the sequence. */
        d.matched = 0;
        ASSERT_EQ(feed(&d, "\x10\x10\x11", 1, out, &n), 1);
        ASSERT_STREQ(out, "\x10");
        /* A held prefix stays held across calls until it resolves. */
        d.matched = 0;
        ASSERT_EQ(feed(&d, "q\x10", 2, out, &n), 0);
        ASSERT_STREQ(out, "q");
        ASSERT_EQ(d.matched, 1u);
}

TEST(detach_repeated_keys) {
        ShimDetach d = {};
        char out[128];
        size_t n;

        /* A sequence with a repeated prefix: a,a,b. Input "aaab" detaches after forwarding one 'a'. */
        ASSERT_OK(shim_parse_detach_keys("a,a,b", d.keys, &d.n_keys));
        ASSERT_EQ(feed(&d, "aaab", 1, out, &n), 1);
        ASSERT_STREQ(out, "a");
        d.matched = 0;
        ASSERT_EQ(feed(&d, "aaxaab!", 1, out, &n), 1);
        ASSERT_STREQ(out, "aax");
}

TEST(detach_disabled) {
        ShimDetach d = {};
        char out[64];
        size_t n;

        ASSERT_EQ(feed(&d, "\x10\x11", 1, out, &n), 0);
        ASSERT_EQ(n, 2u);
}
