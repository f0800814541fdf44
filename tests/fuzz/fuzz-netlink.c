/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtnetlink replies as libaula-netns reads them: an NLMSG_ERROR with
 * extended-ack attributes, and a datagram of replies walked with each reply
 * decoder (link index, link names, addresses). The first input byte picks the
 * decoder; the rest is the datagram. Replies are untrusted (STYLE.md rule 13).
 */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "fuzz.h"
#include "netns-internal.h"

static void check_error_decoding(const uint8_t *buf, size_t size) {
        char *msg = NULL;
        int error = 1, r;

        r = nl_decode_error(buf, size, &error, &msg);
        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG || r == -ENOMEM);
                return;
        }
        FUZZ_CHECK(error <= 0 && error >= -4095);
        FUZZ_CHECK(!msg || strlen(msg) < size);
        free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *err = NULL;
        NlAddrList addrs = {};
        uint32_t seq = 0, portid = 0;
        int ifindex = -1, r;
        uint8_t mode;

        if (size < 1)
                return 0;
        mode = data[0];
        data++;
        size--;
        /* A datagram starts aligned, as in the socket's receive buffer; nothing past it is readable. */
        buf = malloc(size ?: 1);
        FUZZ_CHECK(buf);
        memcpy(buf, data, size);
        check_error_decoding(buf, size);

        /* The request being answered is the one the first header names; later ones may be stale. */
        if (size >= sizeof(struct nlmsghdr)) {
                memcpy(&seq, buf + offsetof(struct nlmsghdr, nlmsg_seq), sizeof seq);
                memcpy(&portid, buf + offsetof(struct nlmsghdr, nlmsg_pid), sizeof portid);
        }
        switch (mode % 5) {
        case 0:
                r = nl_reply_walk(buf, size, seq, portid, NULL, NULL, "fuzz", &err);
                break;
        case 1:
                r = nl_reply_walk(buf, size, seq, portid, nl_index_cb, &ifindex, "fuzz", &err);
                break;
        case 2:
                names = calloc(1, sizeof(char *));
                FUZZ_CHECK(names);
                r = nl_reply_walk(buf, size, seq, portid, nl_name_cb, &names, "fuzz", &err);
                STRV_FOREACH(n, names)
                        FUZZ_CHECK(strlen(*n) < size);
                break;
        default:
                addrs.family = mode % 5 == 3 ? AF_INET : AF_INET6;
                r = nl_reply_walk(buf, size, seq, portid, nl_addr_cb, &addrs, "fuzz", &err);
                for (size_t i = 0; i < addrs.n; i++) {
                        FUZZ_CHECK(addrs.v[i].addr.family == addrs.family);
                        FUZZ_CHECK(addrs.v[i].prefixlen > 0 &&
                                   addrs.v[i].prefixlen <= naddr_bits(addrs.family));
                }
                free(addrs.v);
                break;
        }
        FUZZ_CHECK(r >= -4095 && r <= 1);
        /* A failure explains itself in one line. */
        if (r < 0)
                FUZZ_CHECK(r == -ENOMEM || (err && !strchr(err, '\n')));
        return 0;
}
