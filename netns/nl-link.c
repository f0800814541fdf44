/* SPDX-License-Identifier: Apache-2.0 */
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>

#include "netns-internal.h"

/* Link, address and route requests (rtnetlink(7)). */

static struct nlmsghdr *link_msg(NlSock *s, uint16_t type, uint16_t flags, int ifindex, struct ifinfomsg **ret) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl_buf(s));
        struct ifinfomsg *ifi;

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        if (ret)
                *ret = ifi;
        return nlh;
}

static void set_up(struct ifinfomsg *ifi, bool up) {
        ifi->ifi_change |= IFF_UP;
        if (up)
                ifi->ifi_flags |= IFF_UP;
}

int nl_index_cb(const struct nlmsghdr *nlh, void *userdata) {
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

        if (nlh->nlmsg_type == RTM_NEWLINK && nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof *ifi)
                *(int *) userdata = ifi->ifi_index;
        return 0;
}

int nl_link_index(NlSock *s, const char *name, int *ret_ifindex) {
        int ifindex = -1;
        struct nlmsghdr *nlh;
        int r;

        if (strlen(name) >= IFNAMSIZ)
                return -EINVAL;
        nlh = link_msg(s, RTM_GETLINK, 0, 0, NULL);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        r = nl_call(s, nlh, nl_index_cb, &ifindex, "get link", NULL);
        if (r < 0)
                return r;
        if (ifindex <= 0)
                return -ENODEV;
        *ret_ifindex = ifindex;
        return 0;
}

int nl_bridge_create(NlSock *s, const char *name, const uint8_t mac[static 6], unsigned mtu, char **error_msg) {
        struct ifinfomsg *ifi;
        struct nlmsghdr *nlh = link_msg(s, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, &ifi);
        struct nlattr *info, *data;
        char what[64];

        set_up(ifi, true);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        /* A fixed MAC: otherwise the bridge takes its ports' lowest one and changes it as ports come and go. */
        mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        mnl_attr_put_u32(nlh, IFLA_BR_STP_STATE, 0);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, info);
        snprintf(what, sizeof what, "create bridge '%s'", name);
        return nl_call(s, nlh, NULL, NULL, what, error_msg);
}

/*
 * One request creates both ends: the host end enslaved (IFLA_MASTER is
 * honoured at creation) and up, the peer directly inside the instance's
 * namespace (IFLA_NET_NS_FD in the peer's attributes) with its MAC.
 */
int nl_veth_create(
                NlSock *s,
                const char *name,
                int master,
                unsigned mtu,
                const char *peer,
                int peer_netns_fd,
                const uint8_t peer_mac[static 6],
                char **error_msg) {
        struct ifinfomsg *ifi, *pifi;
        struct nlmsghdr *nlh = link_msg(s, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, &ifi);
        struct nlattr *info, *data, *pnest;
        char what[96];

        set_up(ifi, true);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        if (master > 0)
                mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t) master);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        pnest = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        /* VETH_INFO_PEER carries a struct ifinfomsg, then the peer's attributes. */
        pifi = mnl_nlmsg_get_payload_tail(nlh);
        memset(pifi, 0, sizeof *pifi);
        pifi->ifi_family = AF_UNSPEC;
        /* No IFF_UP here: the kernel refuses it for a peer in another namespace (ENOTCONN); it is set later. */
        nlh->nlmsg_len += MNL_ALIGN(sizeof *pifi);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
        mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t) peer_netns_fd);
        mnl_attr_nest_end(nlh, pnest);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, info);
        snprintf(what, sizeof what, "create veth '%s' (peer '%s' in the instance)", name, peer);
        return nl_call(s, nlh, NULL, NULL, what, error_msg);
}

int nl_link_set(NlSock *s, int ifindex, int master, unsigned mtu, bool up, char **error_msg) {
        struct ifinfomsg *ifi;
        struct nlmsghdr *nlh = link_msg(s, RTM_NEWLINK, 0, ifindex, &ifi);
        char what[64];

        set_up(ifi, up);
        if (master > 0)
                mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t) master);
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        snprintf(what, sizeof what, "configure link #%d", ifindex);
        return nl_call(s, nlh, NULL, NULL, what, error_msg);
}

int nl_link_delete(NlSock *s, const char *name, char **error_msg) {
        struct nlmsghdr *nlh = link_msg(s, RTM_DELLINK, 0, 0, NULL);
        char what[64];

        if (strlen(name) >= IFNAMSIZ)
                return -EINVAL;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        snprintf(what, sizeof what, "delete link '%s'", name);
        return nl_call(s, nlh, NULL, NULL, what, error_msg);
}

/* Isolated bridge ports cannot talk to each other, only to non-isolated ones (the bridge itself). */
int nl_brport_isolate(NlSock *s, int ifindex, bool isolated, char **error_msg) {
        struct ifinfomsg *ifi;
        struct nlmsghdr *nlh = link_msg(s, RTM_SETLINK, 0, ifindex, &ifi);
        struct nlattr *prot;
        char what[64];

        ifi->ifi_family = AF_BRIDGE;
        prot = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
        mnl_attr_put_u8(nlh, IFLA_BRPORT_ISOLATED, isolated);
        mnl_attr_nest_end(nlh, prot);
        snprintf(what, sizeof what, "set bridge port #%d isolated=%d", ifindex, isolated);
        return nl_call(s, nlh, NULL, NULL, what, error_msg);
}

int nl_addr_add(NlSock *s, int ifindex, const NAddr *a, unsigned prefixlen, char **error_msg) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl_buf(s));
        struct ifaddrmsg *ifa;
        size_t alen = a->family == AF_INET ? 4 : 16;
        char what[96], buf[NADDR_STRLEN];

        nlh->nlmsg_type = RTM_NEWADDR;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
        ifa->ifa_family = (uint8_t) a->family;
        ifa->ifa_prefixlen = (uint8_t) prefixlen;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (uint32_t) ifindex;
        mnl_attr_put(nlh, IFA_LOCAL, alen, a->b);
        mnl_attr_put(nlh, IFA_ADDRESS, alen, a->b);
        if (a->family == AF_INET && prefixlen < 31) {
                NCidr c = { .addr = *a, .prefixlen = prefixlen };
                NAddr bcast;
                u128 host = ((u128) 1 << (32 - prefixlen)) - 1;
                naddr_from_u128(AF_INET, (naddr_to_u128(&c.addr) | host), &bcast);
                mnl_attr_put(nlh, IFA_BROADCAST, 4, bcast.b);
        }
        /* Addresses are unique by construction (IPAM), so skip duplicate address detection and its delay. */
        if (a->family == AF_INET6)
                mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
        snprintf(what, sizeof what, "add address %s/%u to link #%d", naddr_to_string(a, buf), prefixlen,
                 ifindex);
        return nl_call(s, nlh, NULL, NULL, what, error_msg);
}

int nl_route_add_default(NlSock *s, int ifindex, const NAddr *gw, char **error_msg) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl_buf(s));
        struct rtmsg *rtm;
        char what[96], buf[NADDR_STRLEN];

        nlh->nlmsg_type = RTM_NEWROUTE;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
        rtm->rtm_family = (uint8_t) gw->family;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_STATIC;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put(nlh, RTA_GATEWAY, gw->family == AF_INET ? 4 : 16, gw->b);
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t) ifindex);
        snprintf(what, sizeof what, "add default route via %s", naddr_to_string(gw, buf));
        return nl_call(s, nlh, NULL, NULL, what, error_msg);
}

int nl_name_cb(const struct nlmsghdr *nlh, void *userdata) {
        const struct nlattr *attr;

        if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct ifinfomsg))
                return 0;
        mnl_attr_for_each(attr, nlh, sizeof(struct ifinfomsg)) {
                if (mnl_attr_get_type(attr) != IFLA_IFNAME)
                        continue;
                if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
                        return 0; /* untrusted reply: skip what we cannot read */
                return strv_extend((char ***) userdata, mnl_attr_get_str(attr));
        }
        return 0;
}

int nl_link_names(NlSock *s, char ***ret) {
        int r = -EAGAIN;

        /* A dump interrupted by a concurrent change is retried; a few tries are plenty. */
        for (unsigned attempt = 0; attempt < 5 && r == -EAGAIN; attempt++) {
                _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
                struct nlmsghdr *nlh = link_msg(s, RTM_GETLINK, NLM_F_DUMP, 0, NULL);
                if (!l)
                        return -ENOMEM;
                mnl_attr_put_u32(nlh, IFLA_EXT_MASK, 0);
                r = nl_call(s, nlh, nl_name_cb, &l, "list links", NULL);
                if (r >= 0) {
                        *ret = TAKE_PTR(l);
                        return 0;
                }
        }
        return r;
}

int nl_addr_cb(const struct nlmsghdr *nlh, void *userdata) {
        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *attr, *local = NULL, *address = NULL;
        NlAddrList *l = userdata;
        NCidr c = {};
        size_t alen;

        if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof *ifa ||
            ifa->ifa_family != l->family || ifa->ifa_scope >= RT_SCOPE_LINK || ifa->ifa_prefixlen == 0 ||
            ifa->ifa_prefixlen > naddr_bits(l->family))
                return 0;
        alen = ifa->ifa_family == AF_INET ? 4 : 16;
        mnl_attr_for_each(attr, nlh, sizeof *ifa) {
                if (mnl_attr_get_payload_len(attr) != alen)
                        continue;
                if (mnl_attr_get_type(attr) == IFA_LOCAL)
                        local = attr;
                else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
                        address = attr;
        }
        if (!local)
                local = address;
        if (!local)
                return 0;
        c.addr.family = l->family;
        memcpy(c.addr.b, mnl_attr_get_payload(local), alen);
        c.prefixlen = ifa->ifa_prefixlen;
        ncidr_normalize(&c);
        if (l->n == l->size) {
                size_t ns = l->size ? l->size * 2 : 16;
                NCidr *v = realloc(l->v, ns * sizeof *v);
                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->size = ns;
        }
        l->v[l->n++] = c;
        return 0;
}

int nl_addr_networks(NlSock *s, int family, NCidr **ret, size_t *ret_n) {
        NlAddrList l = { .family = family };
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl_buf(s));
        struct ifaddrmsg *ifa;
        int r;

        nlh->nlmsg_type = RTM_GETADDR;
        nlh->nlmsg_flags = NLM_F_DUMP;
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
        ifa->ifa_family = (uint8_t) family;
        r = nl_call(s, nlh, nl_addr_cb, &l, "list addresses", NULL);
        if (r < 0) {
                free(l.v);
                return r;
        }
        *ret = l.v;
        *ret_n = l.n;
        return 0;
}
