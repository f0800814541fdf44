/* SPDX-License-Identifier: Apache-2.0 */
#include "netns-internal.h"

static u128 block_size(int family, unsigned prefixlen) {
        return (u128) 1 << (naddr_bits(family) - prefixlen);
}

int ipam_pick_subnet(const NCidr *pool, unsigned prefixlen, const NCidr *used, size_t n_used, NCidr *ret) {
        int family = pool->addr.family;
        u128 size, count, base, k = 0;

        assert(ret);
        if (prefixlen < pool->prefixlen || prefixlen > naddr_bits(family) || prefixlen - pool->prefixlen >= 127)
                return -EINVAL;
        size = block_size(family, prefixlen);
        count = (u128) 1 << (prefixlen - pool->prefixlen);
        base = naddr_to_u128(&pool->addr);

        while (k < count) {
                NCidr c = { .prefixlen = prefixlen };
                bool clash = false;

                naddr_from_u128(family, base + k * size, &c.addr);
                for (size_t i = 0; i < n_used; i++) {
                        u128 end;

                        if (!ncidr_overlaps(&c, &used[i]))
                                continue;
                        /* Jump past the used block, so a big pool with many labs is not walked one by one. */
                        end = naddr_to_u128(&used[i].addr) + block_size(family, used[i].prefixlen);
                        if (used[i].prefixlen < pool->prefixlen || end - base >= count * size)
                                return -ENOSPC;
                        k = MAX(k + 1, (end - base + size - 1) / size);
                        clash = true;
                        break;
                }
                if (!clash) {
                        *ret = c;
                        return 0;
                }
        }
        return -ENOSPC;
}

static int cmp_u128(const void *a, const void *b) {
        u128 x = *(const u128 *) a, y = *(const u128 *) b;
        return x < y ? -1 : x > y;
}

int ipam_pick_host(const NCidr *subnet, const NAddr *used, size_t n_used, NAddr *ret) {
        _cleanup_free_ u128 *offs = NULL;
        u128 want = 2, last;

        assert(subnet->addr.family == AF_INET && ret);
        if (subnet->prefixlen > 30)
                return -ENOSPC;
        last = block_size(AF_INET, subnet->prefixlen) - 2;
        offs = calloc(n_used + 1, sizeof(u128));
        if (!offs)
                return -ENOMEM;
        for (size_t i = 0; i < n_used; i++)
                offs[i] = ncidr_offset(subnet, &used[i]);
        qsort(offs, n_used, sizeof(u128), cmp_u128);
        for (size_t i = 0; i < n_used && offs[i] <= want; i++)
                if (offs[i] == want)
                        want++;
        if (want > last)
                return -ENOSPC;
        return ncidr_host(subnet, want, ret);
}

int ipam_check_host(const NCidr *subnet, const NAddr *want, const NAddr *used, size_t n_used) {
        u128 off;

        if (!ncidr_contains(subnet, want))
                return -EINVAL;
        off = ncidr_offset(subnet, want);
        if (off < 2 || off > block_size(AF_INET, subnet->prefixlen) - 2)
                return -EINVAL;
        for (size_t i = 0; i < n_used; i++)
                if (naddr_equal(&used[i], want))
                        return -EADDRINUSE;
        return 0;
}
