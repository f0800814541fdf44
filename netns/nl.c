/* SPDX-License-Identifier: Apache-2.0 */
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "netns-internal.h"

/*
 * rtnetlink requests with libmnl: one request at a time, acked, errors
 * decoded with the kernel's extended ack (NETLINK_EXT_ACK) so callers get
 * "create veth 'auv-…': File exists (kernel: …)" rather than a bare errno.
 */

#define NL_SEND_SIZE 8192
#define NL_RECV_SIZE 32768

struct NlSock {
        struct mnl_socket *nl;
        uint32_t seq;
        uint32_t portid;
        uint8_t *sbuf;
        uint8_t *rbuf;
};

NlSock *nl_close(NlSock *s) {
        if (!s)
                return NULL;
        if (s->nl)
                mnl_socket_close(s->nl);
        free(s->sbuf);
        free(s->rbuf);
        free(s);
        return NULL;
}

void *nl_buf(NlSock *s) {
        memset(s->sbuf, 0, NL_SEND_SIZE);
        return s->sbuf;
}

typedef struct OpenArgs {
        int netns_fd;
        struct mnl_socket *nl;
        int error;
} OpenArgs;

/*
 * A netlink socket belongs to the namespace it was created in. A helper
 * thread enters the instance's namespace, creates the socket and ends, so the
 * caller's thread never leaves its own namespace (not even on error paths).
 */
static void *open_in_netns(void *p) {
        OpenArgs *a = p;

        if (setns(a->netns_fd, CLONE_NEWNET) < 0) {
                a->error = -errno;
                return NULL;
        }
        a->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        a->error = a->nl ? 0 : -errno;
        return NULL;
}

static int socket_open(int netns_fd, struct mnl_socket **ret) {
        OpenArgs a = { .netns_fd = netns_fd };
        pthread_t t;
        int r;

        if (netns_fd < 0) {
                *ret = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
                return *ret ? 0 : -errno;
        }
        r = pthread_create(&t, NULL, open_in_netns, &a);
        if (r != 0)
                return -r;
        r = pthread_join(t, NULL);
        if (r != 0)
                return -r;
        if (a.error < 0)
                return a.error;
        *ret = a.nl;
        return 0;
}

int nl_open(int netns_fd, NlSock **ret) {
        _cleanup_(nl_closep) NlSock *s = NULL;
        int one = 1, r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->sbuf = malloc(NL_SEND_SIZE);
        s->rbuf = malloc(NL_RECV_SIZE);
        if (!s->sbuf || !s->rbuf)
                return -ENOMEM;
        r = socket_open(netns_fd, &s->nl);
        if (r < 0)
                return r;
        /* Best effort: without them we still work, with plainer messages. */
        (void) mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof one);
        (void) mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof one);
        if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        s->portid = mnl_socket_get_portid(s->nl);
        s->seq = (uint32_t) time(NULL);
        *ret = TAKE_PTR(s);
        return 0;
}

static const char *find_ext_msg(const struct nlattr *attr, size_t len) {
        while (len >= sizeof(struct nlattr) && attr->nla_len >= sizeof(struct nlattr) && attr->nla_len <= len) {
                size_t step = MNL_ALIGN(attr->nla_len);
                if ((attr->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
                        const char *s = mnl_attr_get_payload(attr);
                        size_t n = attr->nla_len - sizeof(struct nlattr);
                        return n > 0 && memchr(s, 0, n) ? s : NULL;
                }
                if (step >= len)
                        break;
                len -= step;
                attr = (const struct nlattr *) ((const uint8_t *) attr + step);
        }
        return NULL;
}

int nl_decode_error(const void *buf, size_t len, int *ret_error, char **ret_msg) {
        const struct nlmsghdr *nlh = buf;
        const struct nlmsgerr *err;
        const char *ext = NULL;
        size_t payload, off;

        assert(ret_error && ret_msg);
        if (!buf || len < NLMSG_HDRLEN || nlh->nlmsg_len > len || nlh->nlmsg_type != NLMSG_ERROR ||
            nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nlmsgerr))
                return -EBADMSG;
        err = mnl_nlmsg_get_payload(nlh);
        if (err->error > 0 || err->error < -4095)
                return -EBADMSG;
        payload = nlh->nlmsg_len - NLMSG_HDRLEN;
        if (err->error != 0 && (nlh->nlmsg_flags & NLM_F_ACK_TLVS)) {
                /* The echoed request sits between the header and the TLVs unless it was capped. */
                off = sizeof(struct nlmsgerr);
                if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
                        if (err->msg.nlmsg_len < NLMSG_HDRLEN || err->msg.nlmsg_len > payload)
                                return -EBADMSG;
                        off += MNL_ALIGN(err->msg.nlmsg_len) - NLMSG_HDRLEN;
                }
                off = MNL_ALIGN(off);
                if (off < payload)
                        ext = find_ext_msg(
                                        (const struct nlattr *) ((const uint8_t *) err + off), payload - off);
        }
        if (ext) {
                char *m = strdup(ext);
                if (!m)
                        return -ENOMEM;
                /* It ends up in a one-line error message: no newlines or terminal escapes from a reply. */
                for (char *c = m; *c; c++)
                        if ((unsigned char) *c < ' ' || *c == 0x7f)
                                *c = '?';
                *ret_msg = m;
        } else
                *ret_msg = NULL;
        *ret_error = err->error;
        return 0;
}

static int fail(char **error_msg, int error, const char *what, const char *ext) {
        if (error_msg) {
                free(*error_msg);
                *error_msg = NULL;
                if (ext)
                        (void) xasprintf(error_msg, "%s: %s (kernel: %s)", what, strerror(-error), ext);
                else
                        (void) xasprintf(error_msg, "%s: %s", what, strerror(-error));
        }
        return error;
}

/*
 * libmnl's mnl_nlmsg_ok() compares nlmsg_len as an int, so a reply claiming more than 2 GiB passes
 * it and mnl_nlmsg_next() then steps outside the buffer: bound the length here, in size_t.
 */
static bool msg_ok(const struct nlmsghdr *nlh, size_t len) {
        return len >= sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) && nlh->nlmsg_len <= len;
}

static const struct nlmsghdr *msg_next(const struct nlmsghdr *nlh, size_t *len) {
        size_t step = MNL_ALIGN(nlh->nlmsg_len);

        if (step >= *len) {
                *len = 0;
                return nlh;
        }
        *len -= step;
        return (const struct nlmsghdr *) ((const uint8_t *) nlh + step);
}

int nl_reply_walk(
                const void *buf,
                size_t n,
                uint32_t seq,
                uint32_t portid,
                NlDataCb cb,
                void *userdata,
                const char *what,
                char **error_msg) {
        const struct nlmsghdr *nlh = buf;
        size_t len = n;
        int r;

        for (; msg_ok(nlh, len); nlh = msg_next(nlh, &len)) {
                if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid)
                        continue; /* a stale reply to an earlier, abandoned request */
                if (nlh->nlmsg_type == NLMSG_ERROR) {
                        _cleanup_free_ char *ext = NULL;
                        int error;
                        r = nl_decode_error(nlh, nlh->nlmsg_len, &error, &ext);
                        if (r < 0)
                                return fail(error_msg, r, what, "malformed error message");
                        return error < 0 ? fail(error_msg, error, what, ext) : 1;
                }
                if (nlh->nlmsg_type == NLMSG_DONE) {
                        int32_t e = 0;
                        if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof e)
                                memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof e);
                        if (e < 0 && e >= -4095)
                                return fail(error_msg, e, what, NULL);
                        if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                                return fail(error_msg, -EAGAIN, what, "dump interrupted");
                        return 1;
                }
                if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
                        continue;
                if (cb) {
                        r = cb(nlh, userdata);
                        if (r < 0)
                                return fail(error_msg, r, what, NULL);
                }
        }
        return 0;
}

int nl_call(NlSock *s, struct nlmsghdr *nlh, NlDataCb cb, void *userdata, const char *what, char **error_msg) {
        int r;

        /* NLM_F_DUMP shares bits with NLM_F_EXCL/NLM_F_REPLACE: only a GET request with both bits is a dump. */
        bool dump = nlh->nlmsg_type % 4 == 2 && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;

        nlh->nlmsg_flags |= NLM_F_REQUEST;
        if (!dump)
                nlh->nlmsg_flags |= NLM_F_ACK;
        nlh->nlmsg_seq = ++s->seq;
        nlh->nlmsg_pid = 0;
        if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
                return fail(error_msg, -errno, what, NULL);
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(s->nl, s->rbuf, NL_RECV_SIZE);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return fail(error_msg, -errno, what, NULL);
                }
                r = nl_reply_walk(s->rbuf, (size_t) n, s->seq, s->portid, cb, userdata, what, error_msg);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
}
