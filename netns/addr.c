/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>

#include "netns-internal.h"

unsigned naddr_bits(int family) {
        return family == AF_INET6 ? 128 : family == AF_INET ? 32 : 0;
}

int naddr_parse(const char *s, int family, NAddr *ret) {
        NAddr a = {};

        assert(ret);
        if (isempty(s))
                return -EINVAL;
        if (family != AF_INET6 && inet_pton(AF_INET, s, a.b) == 1)
                a.family = AF_INET;
        else if (family != AF_INET && inet_pton(AF_INET6, s, a.b) == 1)
                a.family = AF_INET6;
        else
                return -EINVAL;
        *ret = a;
        return 0;
}

const char *naddr_to_string(const NAddr *a, char buf[static NADDR_STRLEN]) {
        if (!a || !a->family || !inet_ntop(a->family, a->b, buf, NADDR_STRLEN))
                buf[0] = 0;
        return buf;
}

bool naddr_equal(const NAddr *a, const NAddr *b) {
        return a->family == b->family && memcmp(a->b, b->b, a->family == AF_INET ? 4 : 16) == 0;
}

u128 naddr_to_u128(const NAddr *a) {
        unsigned n = naddr_bits(a->family) / 8;
        u128 v = 0;

        for (unsigned i = 0; i < n; i++)
                v = v << 8 | a->b[i];
        return v;
}

void naddr_from_u128(int family, u128 v, NAddr *ret) {
        unsigned n = naddr_bits(family) / 8;

        *ret = (NAddr){ .family = family };
        for (unsigned i = n; i > 0; i--) {
                ret->b[i - 1] = (uint8_t) (v & 0xff);
                v >>= 8;
        }
}

static u128 host_mask(int family, unsigned prefixlen) {
        unsigned bits = naddr_bits(family);
        u128 all = bits == 128 ? ~(u128) 0 : ((u128) 1 << bits) - 1;

        return prefixlen >= bits ? 0 : all >> prefixlen;
}

int ncidr_parse(const char *s,
                int family,
                bool allow_bare,
                bool allow_host_bits,
                const char *what,
                NCidr *ret,
                char **error_msg) {
        _cleanup_free_ char *copy = NULL;
        char buf[NCIDR_STRLEN];
        const char *slash;
        NCidr c = {};
        unsigned p;
        u128 v, m;

        assert(what && ret);
        if (isempty(s))
                return json_error(error_msg, what, "empty address");
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        slash = strchr(s, '/');
        if (slash)
                copy[slash - s] = 0;
        else if (!allow_bare)
                return json_error(error_msg, what, "'%s' is not a CIDR (expected ADDRESS/PREFIX)", s);
        if (naddr_parse(copy, family, &c.addr) < 0)
                return json_error(
                                error_msg, what, "'%s' is not a valid %s address", copy,
                                family == AF_INET                    ? "IPv4"
                                                : family == AF_INET6 ? "IPv6"
                                                                     : "IP");
        if (slash) {
                if (safe_atou(slash + 1, &p) < 0 || !slash[1] || slash[1] == '+' || slash[1] == '-' ||
                    p > naddr_bits(c.addr.family))
                        return json_error(
                                        error_msg, what, "'%s': bad prefix length '%s' (0..%u)", s,
                                        slash + 1, naddr_bits(c.addr.family));
                c.prefixlen = p;
        } else
                c.prefixlen = naddr_bits(c.addr.family);

        m = host_mask(c.addr.family, c.prefixlen);
        v = naddr_to_u128(&c.addr);
        if (v & m) {
                if (!allow_host_bits) {
                        NCidr fixed = { .prefixlen = c.prefixlen };
                        naddr_from_u128(c.addr.family, v & ~m, &fixed.addr);
                        return json_error(
                                        error_msg, what, "'%s' has host bits set (did you mean %s?)", s,
                                        ncidr_to_string(&fixed, buf));
                }
                naddr_from_u128(c.addr.family, v & ~m, &c.addr);
        }
        *ret = c;
        return 0;
}

const char *ncidr_to_string(const NCidr *c, char buf[static NCIDR_STRLEN]) {
        char a[NADDR_STRLEN];

        snprintf(buf, NCIDR_STRLEN, "%s/%u", naddr_to_string(&c->addr, a), c->prefixlen);
        return buf;
}

bool ncidr_contains(const NCidr *c, const NAddr *a) {
        u128 m;

        if (c->addr.family != a->family)
                return false;
        m = ~host_mask(a->family, c->prefixlen);
        return (naddr_to_u128(a) & m) == (naddr_to_u128(&c->addr) & m);
}

bool ncidr_overlaps(const NCidr *a, const NCidr *b) {
        if (a->addr.family != b->addr.family)
                return false;
        /* Two prefixes overlap exactly when the shorter one contains the other's network address. */
        return a->prefixlen <= b->prefixlen ? ncidr_contains(a, &b->addr) : ncidr_contains(b, &a->addr);
}

int ncidr_host(const NCidr *c, u128 n, NAddr *ret) {
        if (n > host_mask(c->addr.family, c->prefixlen))
                return -ERANGE;
        naddr_from_u128(c->addr.family, naddr_to_u128(&c->addr) + n, ret);
        return 0;
}

void ncidr_normalize(NCidr *c) {
        naddr_from_u128(c->addr.family, naddr_to_u128(&c->addr) & ~host_mask(c->addr.family, c->prefixlen),
                        &c->addr);
}

u128 ncidr_offset(const NCidr *c, const NAddr *a) {
        return naddr_to_u128(a) & host_mask(c->addr.family, c->prefixlen);
}
