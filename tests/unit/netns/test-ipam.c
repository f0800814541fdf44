/* SPDX-License-Identifier: Apache-2.0 */
#include "netns-internal.h"
#include "tap.h"

static NCidr cidr(const char *s) {
        NCidr c;
        if (ncidr_parse(s, AF_UNSPEC, false, false, "test", &c, NULL) < 0)
                tap_fail(__FILE__, __LINE__, "cannot parse %s", s);
        return c;
}

static NAddr addr(const char *s) {
        NAddr a;
        if (naddr_parse(s, AF_UNSPEC, &a) < 0)
                tap_fail(__FILE__, __LINE__, "cannot parse %s", s);
        return a;
}

#define ASSERT_CIDR(c, s) \
        do { \
                char cbuf_[NCIDR_STRLEN]; \
                ASSERT_STREQ(ncidr_to_string(&(c), cbuf_), s); \
        } while (0)

TEST(subnets_in_order) {
        NCidr pool = cidr("10.77.0.0/16"), got;
        NCidr used[3];

        ASSERT_OK(ipam_pick_subnet(&pool, 24, NULL, 0, &got));
        ASSERT_CIDR(got, "10.77.0.0/24");
        used[0] = got;
        ASSERT_OK(ipam_pick_subnet(&pool, 24, used, 1, &got));
        ASSERT_CIDR(got, "10.77.1.0/24");
        /* A bigger used block (host LAN 10.77.0.0/22) is jumped over as a whole. */
        used[1] = cidr("10.77.0.0/22");
        ASSERT_OK(ipam_pick_subnet(&pool, 24, used, 2, &got));
        ASSERT_CIDR(got, "10.77.4.0/24");
        /* A small used block inside a candidate disqualifies it. */
        used[2] = cidr("10.77.4.128/25");
        ASSERT_OK(ipam_pick_subnet(&pool, 24, used, 3, &got));
        ASSERT_CIDR(got, "10.77.5.0/24");
        /* A used block covering the whole pool. */
        used[0] = cidr("10.0.0.0/8");
        ASSERT_ERROR(ipam_pick_subnet(&pool, 24, used, 1, &got), ENOSPC);
}

TEST(pool_exhaustion) {
        NCidr pool = cidr("10.9.0.0/23"), used[2];

        ASSERT_OK(ipam_pick_subnet(&pool, 24, NULL, 0, &used[0]));
        ASSERT_OK(ipam_pick_subnet(&pool, 24, used, 1, &used[1]));
        ASSERT_CIDR(used[1], "10.9.1.0/24");
        ASSERT_ERROR(ipam_pick_subnet(&pool, 24, used, 2, &used[0]), ENOSPC);
        ASSERT_ERROR(ipam_pick_subnet(&pool, 22, NULL, 0, &used[0]), EINVAL);
}

TEST(ipv6_subnets) {
        NCidr pool = cidr("fd61:756c:6100::/48"), got, used[1];

        ASSERT_OK(ipam_pick_subnet(&pool, 64, NULL, 0, &got));
        ASSERT_CIDR(got, "fd61:756c:6100::/64");
        used[0] = got;
        ASSERT_OK(ipam_pick_subnet(&pool, 64, used, 1, &got));
        ASSERT_CIDR(got, "fd61:756c:6100:1::/64");
        pool = cidr("fd00::/64");
        ASSERT_OK(ipam_pick_subnet(&pool, 64, NULL, 0, &used[0]));
        ASSERT_ERROR(ipam_pick_subnet(&pool, 64, used, 1, &got), ENOSPC);
}

TEST(hosts) {
        NCidr s = cidr("10.77.0.0/24"), tiny = cidr("10.5.0.0/30");
        NAddr used[3] = { addr("10.77.0.2"), addr("10.77.0.4"), addr("10.77.0.3") }, got;
        char buf[NADDR_STRLEN];

        ASSERT_OK(ipam_pick_host(&s, NULL, 0, &got));
        ASSERT_STREQ(naddr_to_string(&got, buf), "10.77.0.2");
        ASSERT_OK(ipam_pick_host(&s, used, 2, &got));
        ASSERT_STREQ(naddr_to_string(&got, buf), "10.77.0.3");
        ASSERT_OK(ipam_pick_host(&s, used, 3, &got));
        ASSERT_STREQ(naddr_to_string(&got, buf), "10.77.0.5");
        /* A /30 has exactly one instance address: .2 (.1 is the gateway, .3 broadcast). */
        ASSERT_OK(ipam_pick_host(&tiny, NULL, 0, &got));
        ASSERT_STREQ(naddr_to_string(&got, buf), "10.5.0.2");
        ASSERT_ERROR(ipam_pick_host(&tiny, &got, 1, &got), ENOSPC);
}

TEST(requested_hosts) {
        NCidr s = cidr("10.77.0.0/24");
        NAddr used[1] = { addr("10.77.0.9") }, want;

        want = addr("10.77.0.10");
        ASSERT_OK(ipam_check_host(&s, &want, used, 1));
        want = addr("10.77.0.9");
        ASSERT_ERROR(ipam_check_host(&s, &want, used, 1), EADDRINUSE);
        want = addr("10.77.0.1");
        ASSERT_ERROR(ipam_check_host(&s, &want, used, 1), EINVAL);
        want = addr("10.77.0.0");
        ASSERT_ERROR(ipam_check_host(&s, &want, used, 1), EINVAL);
        want = addr("10.77.0.255");
        ASSERT_ERROR(ipam_check_host(&s, &want, used, 1), EINVAL);
        want = addr("10.78.0.5");
        ASSERT_ERROR(ipam_check_host(&s, &want, used, 1), EINVAL);
}
