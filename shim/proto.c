/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <sys/socket.h>

#include "shim-proto.h"

int shim_send_packet(int fd, const void *data, size_t len, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * SHIM_MAX_FDS)];
        } u = {};
        struct iovec iov = { .iov_base = (void *) data, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (len > SHIM_PACKET_MAX || n_fds > SHIM_MAX_FDS)
                return -EMSGSIZE;
        if (n_fds > 0) {
                struct cmsghdr *c;
                mh.msg_control = u.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        do
                n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

ssize_t shim_recv_packet(int fd, void *buf, size_t size, int *fds, size_t max_fds, size_t *ret_n_fds) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 16)];
        } u;
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u };
        size_t got = 0;
        ssize_t n;

        for (size_t i = 0; i < max_fds; i++)
                fds[i] = -EBADF;
        do
                n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int x;
                        memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (got < max_fds)
                                fds[got++] = x;
                        else
                                safe_close(x);
                }
        }
        if (ret_n_fds)
                *ret_n_fds = got;
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                for (size_t i = 0; i < got; i++)
                        fds[i] = safe_close(fds[i]);
                if (ret_n_fds)
                        *ret_n_fds = 0;
                return -EMSGSIZE;
        }
        return n;
}

int shim_reply_error(int error, const char *msg, char **ret, size_t *ret_len) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        int r;

        r = json_writer_new(false, &w);
        if (r < 0)
                return r;
        jw_object_open(w);
        jw_key(w, "ok");
        jw_bool(w, false);
        jw_key(w, "error");
        jw_string(w, msg ?: strerror(ERRNO_VALUE(error)));
        jw_key(w, "errno");
        jw_int(w, ERRNO_VALUE(error));
        jw_object_close(w);
        return json_writer_finish(w, ret, ret_len);
}

/* "ctrl-X" (X in a-z, @, [, \, ], ^, _) or a single printable character. */
static int parse_key(const char *s, size_t n, uint8_t *ret) {
        if (n == 1 && isprint((unsigned char) s[0])) {
                *ret = (uint8_t) s[0];
                return 0;
        }
        if (n == 6 && strncasecmp(s, "ctrl-", 5) == 0) {
                char c = s[5];
                if (c >= 'a' && c <= 'z')
                        *ret = (uint8_t) (c - 'a' + 1);
                else if (c >= 'A' && c <= 'Z')
                        *ret = (uint8_t) (c - 'A' + 1);
                else if (c == '@')
                        *ret = 0;
                else if (c >= '[' && c <= '_')
                        *ret = (uint8_t) (c - '[' + 27);
                else
                        return -EINVAL;
                return 0;
        }
        return -EINVAL;
}

int shim_parse_detach_keys(const char *s, uint8_t *ret, size_t *ret_n) {
        uint8_t keys[8];
        size_t n = 0;

        if (isempty(s))
                return -EINVAL;
        for (const char *p = s;;) {
                size_t len = strcspn(p, ",");
                if (n == ELEMENTSOF(keys) || parse_key(p, len, &keys[n]) < 0)
                        return -EINVAL;
                n++;
                if (!p[len])
                        break;
                p += len + 1;
        }
        memcpy(ret, keys, n);
        *ret_n = n;
        return 0;
}

int shim_detach_feed(ShimDetach *d, const uint8_t *in, size_t len, uint8_t *out, size_t *ret_out_len) {
        size_t o = 0;

        for (size_t i = 0; i < len; i++) {
                uint8_t cand[ELEMENTSOF(d->keys) + 1];
                size_t n = d->matched, s;

                if (d->n_keys == 0) {
                        out[o++] = in[i];
                        continue;
                }
                /* The held bytes are keys[0..matched); with the new byte, keep the longest
                 * suffix that is still a prefix of the sequence and release what precedes it. */
                memcpy(cand, d->keys, n);
                cand[n++] = in[i];
                for (s = 0; s < n; s++)
                        if (n - s <= d->n_keys && memcmp(cand + s, d->keys, n - s) == 0)
                                break;
                memcpy(out + o, cand, s);
                o += s;
                d->matched = n - s;
                if (d->matched == d->n_keys) {
                        d->matched = 0;
                        *ret_out_len = o;
                        return 1;
                }
        }
        *ret_out_len = o;
        return 0;
}
