/* SPDX-License-Identifier: Apache-2.0 */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "netns-internal.h"
#include "tap.h"

/* NLMSG_ERROR replies as the kernel builds them (netlink_ack()), plus broken ones. */

#define ALIGN4(x) (((x) + 3u) & ~3u)

typedef struct Msg {
        uint8_t buf[512];
        size_t len;
} Msg;

static void put(Msg *m, const void *p, size_t n) {
        memcpy(m->buf + m->len, p, n);
        m->len += n;
}

static void put_attr(Msg *m, uint16_t type, const void *p, size_t n) {
        struct nlattr a = { .nla_len = (uint16_t) (sizeof a + n), .nla_type = type };
        put(m, &a, sizeof a);
        put(m, p, n);
        m->len = ALIGN4(m->len);
}

/* error: errno (negative); capped: omit the echoed request; ext: extack text or NULL. */
static void build(Msg *m, int error, bool capped, const char *ext) {
        struct nlmsghdr h = { .nlmsg_type = NLMSG_ERROR, .nlmsg_seq = 7 };
        struct nlmsgerr e = { .error = error };
        struct ifinfomsg body = {};

        memset(m, 0, sizeof *m);
        e.msg = (struct nlmsghdr){ .nlmsg_len = NLMSG_HDRLEN + sizeof body, .nlmsg_type = RTM_NEWLINK };
        m->len = NLMSG_HDRLEN;
        put(m, &e, sizeof e);
        if (!capped)
                put(m, &body, sizeof body);
        if (capped)
                h.nlmsg_flags |= NLM_F_CAPPED;
        if (ext) {
                h.nlmsg_flags |= NLM_F_ACK_TLVS;
                uint32_t off = 20;
                put_attr(m, NLMSGERR_ATTR_OFFS, &off, sizeof off);
                put_attr(m, NLMSGERR_ATTR_MSG, ext, strlen(ext) + 1);
        }
        h.nlmsg_len = (uint32_t) m->len;
        memcpy(m->buf, &h, sizeof h);
}

TEST(ack) {
        Msg m;
        int e = 1;
        char *s = (char *) "x";

        build(&m, 0, true, NULL);
        ASSERT_OK(nl_decode_error(m.buf, m.len, &e, &s));
        ASSERT_EQ(e, 0);
        ASSERT_NULL(s);
}

TEST(error_with_extack_capped_and_uncapped) {
        _cleanup_free_ char *s = NULL, *t = NULL;
        Msg m;
        int e;

        build(&m, -EEXIST, true, "Link name already in use");
        ASSERT_OK(nl_decode_error(m.buf, m.len, &e, &s));
        ASSERT_EQ(e, -EEXIST);
        ASSERT_STREQ(s, "Link name already in use");
        build(&m, -EINVAL, false, "Invalid MTU");
        ASSERT_OK(nl_decode_error(m.buf, m.len, &e, &t));
        ASSERT_EQ(e, -EINVAL);
        ASSERT_STREQ(t, "Invalid MTU");
}

TEST(error_without_extack) {
        Msg m;
        int e;
        char *s = (char *) "x";

        build(&m, -EPERM, false, NULL);
        ASSERT_OK(nl_decode_error(m.buf, m.len, &e, &s));
        ASSERT_EQ(e, -EPERM);
        ASSERT_NULL(s);
}

TEST(malformed_replies) {
        Msg m;
        int e;
        char *s;

        build(&m, -EEXIST, false, "text");
        ASSERT_ERROR(nl_decode_error(m.buf, 8, &e, &s), EBADMSG); /* truncated header */
        ASSERT_ERROR(nl_decode_error(m.buf, m.len - 4, &e, &s), EBADMSG); /* nlmsg_len beyond the buffer */
        ASSERT_ERROR(nl_decode_error(NULL, 0, &e, &s), EBADMSG);
        ((struct nlmsghdr *) m.buf)->nlmsg_type = RTM_NEWLINK;
        ASSERT_ERROR(nl_decode_error(m.buf, m.len, &e, &s), EBADMSG);
        build(&m, 5, true, NULL); /* positive errno */
        ASSERT_ERROR(nl_decode_error(m.buf, m.len, &e, &s), EBADMSG);
        build(&m, -100000, true, NULL);
        ASSERT_ERROR(nl_decode_error(m.buf, m.len, &e, &s), EBADMSG);
        /* The echoed request claims to be longer than the reply. */
        build(&m, -EEXIST, false, "text");
        ((struct nlmsgerr *) (m.buf + NLMSG_HDRLEN))->msg.nlmsg_len = 400;
        ASSERT_ERROR(nl_decode_error(m.buf, m.len, &e, &s), EBADMSG);
        /* Header only, no nlmsgerr. */
        struct nlmsghdr h = { .nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = NLMSG_ERROR };
        ASSERT_ERROR(nl_decode_error(&h, sizeof h, &e, &s), EBADMSG);
}

TEST(bad_extack_attributes_are_ignored) {
        Msg m;
        int e;
        char *s = (char *) "x";

        /* A message attribute without its terminating NUL. */
        build(&m, -EEXIST, true, NULL);
        ((struct nlmsghdr *) m.buf)->nlmsg_flags |= NLM_F_ACK_TLVS;
        put_attr(&m, NLMSGERR_ATTR_MSG, "abcd", 4);
        ((struct nlmsghdr *) m.buf)->nlmsg_len = (uint32_t) m.len;
        ASSERT_OK(nl_decode_error(m.buf, m.len, &e, &s));
        ASSERT_EQ(e, -EEXIST);
        ASSERT_NULL(s);
        /* An attribute length running past the message. */
        build(&m, -EEXIST, true, NULL);
        ((struct nlmsghdr *) m.buf)->nlmsg_flags |= NLM_F_ACK_TLVS;
        struct nlattr a = { .nla_len = 200, .nla_type = NLMSGERR_ATTR_MSG };
        put(&m, &a, sizeof a);
        put(&m, "hi\0\0", 4);
        ((struct nlmsghdr *) m.buf)->nlmsg_len = (uint32_t) m.len;
        s = (char *) "x";
        ASSERT_OK(nl_decode_error(m.buf, m.len, &e, &s));
        ASSERT_NULL(s);
        /* A zero-length attribute must not loop forever. */
        build(&m, -EEXIST, true, NULL);
        ((struct nlmsghdr *) m.buf)->nlmsg_flags |= NLM_F_ACK_TLVS;
        struct nlattr z = { .nla_len = 0, .nla_type = 9 };
        put(&m, &z, sizeof z);
        put(&m, &z, sizeof z);
        ((struct nlmsghdr *) m.buf)->nlmsg_len = (uint32_t) m.len;
        s = (char *) "x";
        ASSERT_OK(nl_decode_error(m.buf, m.len, &e, &s));
        ASSERT_NULL(s);
}

TEST(extack_text_is_one_printable_line) {
        _cleanup_free_ char *s = NULL;
        Msg m;
        int e;

        build(&m, -EINVAL, true, "bad\nvalue\033[2J");
        ASSERT_OK(nl_decode_error(m.buf, m.len, &e, &s));
        ASSERT_STREQ(s, "bad?value?[2J");
}

TEST(reply_walk_bounds_every_message) {
        _cleanup_free_ char *err = NULL;
        struct {
                struct nlmsghdr h;
                uint8_t body[16];
                struct nlmsghdr next;
        } d = {};

        /* A first message claiming more than 2 GiB: libmnl's int comparison would accept it. */
        d.h = (struct nlmsghdr){ .nlmsg_len = 0xd200024c, .nlmsg_type = RTM_NEWLINK, .nlmsg_seq = 7 };
        ASSERT_EQ(nl_reply_walk(&d, sizeof d, 7, 0, NULL, NULL, "walk", &err), 0);
        /* One that fits, then a DONE: the request is complete. */
        d.h.nlmsg_len = sizeof d.h + sizeof d.body;
        d.next = (struct nlmsghdr){ .nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = NLMSG_DONE, .nlmsg_seq = 7 };
        ASSERT_EQ(nl_reply_walk(&d, sizeof d, 7, 0, NULL, NULL, "walk", &err), 1);
        /* The same DONE for another request is stale and skipped. */
        ASSERT_EQ(nl_reply_walk(&d, sizeof d, 8, 0, NULL, NULL, "walk", &err), 0);
}
