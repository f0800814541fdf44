/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>

#include "netns-internal.h"

static const char *const mode_table[_NETNS_MODE_MAX] = {
        [NETNS_MODE_ISOLATED] = "isolated",
        [NETNS_MODE_NAT] = "nat",
        [NETNS_MODE_EXAM] = "exam",
};

static const char *const proto_table[_NETNS_PROTO_MAX] = {
        [NETNS_PROTO_TCP] = "tcp",
        [NETNS_PROTO_UDP] = "udp",
};

const char *netns_mode_to_string(NetnsMode m) {
        return m >= 0 && m < _NETNS_MODE_MAX ? mode_table[m] : NULL;
}

NetnsMode netns_mode_from_string(const char *s) {
        for (int i = 0; s && i < _NETNS_MODE_MAX; i++)
                if (streq(s, mode_table[i]))
                        return (NetnsMode) i;
        return _NETNS_MODE_INVALID;
}

const char *netns_proto_to_string(NetnsProto p) {
        return p >= 0 && p < _NETNS_PROTO_MAX ? proto_table[p] : NULL;
}

NetnsProto netns_proto_from_string(const char *s) {
        for (int i = 0; s && i < _NETNS_PROTO_MAX; i++)
                if (streq(s, proto_table[i]))
                        return (NetnsProto) i;
        return _NETNS_PROTO_INVALID;
}

bool netns_name_valid(const char *s) {
        size_t n;

        if (isempty(s) || !isalnum((unsigned char) s[0]))
                return false;
        n = strlen(s);
        if (n > NETNS_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

#define NAME_RULES "1..63 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit"

int netns_name_check(const char *what, const char *name, char **error_msg) {
        if (netns_name_valid(name))
                return 0;
        return json_error(error_msg, NULL, "invalid %s name '%s': use " NAME_RULES, what, name ?: "");
}

/* 64-bit FNV-1a over "a", a zero byte and "b": stable across builds and hosts, which is all we need. */
uint64_t netns_hash(const char *a, const char *b) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (const char *p = a; p && *p; p++)
                h = (h ^ (uint8_t) *p) * 0x100000001b3ULL;
        h = (h ^ 0) * 0x100000001b3ULL;
        for (const char *p = b; p && *p; p++)
                h = (h ^ (uint8_t) *p) * 0x100000001b3ULL;
        return h;
}

/* Prefix + 10 hex digits (40 bits of the hash) = 14 characters, below IFNAMSIZ - 1. */
static char *link_name(const char *prefix, uint64_t h, char buf[static 16]) {
        snprintf(buf, 16, "%s%010" PRIx64, prefix, (uint64_t) (h & UINT64_C(0xffffffffff)));
        return buf;
}

char *netns_bridge_name(const char *lab, char buf[static 16]) {
        return link_name(NETNS_BRIDGE_PREFIX, netns_hash(lab, NULL), buf);
}

char *netns_link_name(const char *lab, const char *instance, bool tap, char buf[static 16]) {
        return link_name(tap ? NETNS_TAP_PREFIX : NETNS_VETH_PREFIX, netns_hash(lab, instance), buf);
}

bool netns_link_name_is_ours(const char *ifname) {
        const char *hex = startswith(ifname, NETNS_BRIDGE_PREFIX);

        if (!hex)
                hex = startswith(ifname, NETNS_VETH_PREFIX);
        if (!hex)
                hex = startswith(ifname, NETNS_TAP_PREFIX);
        if (!hex || strlen(hex) != 10)
                return false;
        for (const char *p = hex; *p; p++)
                if (!isdigit((unsigned char) *p) && !(*p >= 'a' && *p <= 'f'))
                        return false;
        return true;
}

void netns_mac(const char *lab, const char *instance, uint8_t ret[static 6]) {
        /* A different hash input than the link names, so MAC and name do not share bits. */
        uint64_t h = netns_hash(instance ? instance : "", lab);

        for (unsigned i = 0; i < 6; i++)
                ret[i] = (uint8_t) (h >> (8 * i));
        ret[0] = (uint8_t) ((ret[0] & 0xfe) | 0x02); /* unicast, locally administered */
}

const char *netns_mac_to_string(const uint8_t mac[static 6], char buf[static 18]) {
        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
        return buf;
}
