/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>

#include "netns-internal.h"
#include "tap.h"

static NCidr cidr(const char *s) {
        NCidr c;
        if (ncidr_parse(s, AF_UNSPEC, true, false, "test", &c, NULL) < 0)
                tap_fail(__FILE__, __LINE__, "cannot parse %s", s);
        return c;
}

TEST(parse_addresses) {
        NAddr a;
        char buf[NADDR_STRLEN];

        ASSERT_OK(naddr_parse("10.1.2.3", AF_UNSPEC, &a));
        ASSERT_EQ(a.family, AF_INET);
        ASSERT_STREQ(naddr_to_string(&a, buf), "10.1.2.3");
        ASSERT_OK(naddr_parse("fd00::1", AF_UNSPEC, &a));
        ASSERT_EQ(a.family, AF_INET6);
        ASSERT_STREQ(naddr_to_string(&a, buf), "fd00::1");
        ASSERT_ERROR(naddr_parse("fd00::1", AF_INET, &a), EINVAL);
        ASSERT_ERROR(naddr_parse("10.0.0.1", AF_INET6, &a), EINVAL);
        ASSERT_ERROR(naddr_parse("10.0.0.256", AF_UNSPEC, &a), EINVAL);
        ASSERT_ERROR(naddr_parse("", AF_UNSPEC, &a), EINVAL);
        ASSERT_ERROR(naddr_parse(NULL, AF_UNSPEC, &a), EINVAL);
        ASSERT_ERROR(naddr_parse("10.0.0.1 ", AF_UNSPEC, &a), EINVAL);
}

TEST(parse_cidrs) {
        _cleanup_free_ char *msg = NULL;
        char buf[NCIDR_STRLEN];
        NCidr c;

        ASSERT_OK(ncidr_parse("10.77.0.0/16", AF_INET, false, false, "pool", &c, &msg));
        ASSERT_STREQ(ncidr_to_string(&c, buf), "10.77.0.0/16");
        ASSERT_OK(ncidr_parse("fd61:756c:6100::/48", AF_INET6, false, false, "pool6", &c, &msg));
        ASSERT_STREQ(ncidr_to_string(&c, buf), "fd61:756c:6100::/48");
        ASSERT_OK(ncidr_parse("192.0.2.7", AF_UNSPEC, true, false, "t", &c, &msg));
        ASSERT_EQ(c.prefixlen, 32u);
        ASSERT_OK(ncidr_parse("10.1.2.3/8", AF_INET, false, true, "t", &c, &msg));
        ASSERT_STREQ(ncidr_to_string(&c, buf), "10.0.0.0/8");
        ASSERT_OK(ncidr_parse("0.0.0.0/0", AF_INET, false, false, "t", &c, &msg));

        ASSERT_ERROR(ncidr_parse("10.0.0.0/33", AF_INET, false, false, "subnet", &c, &msg), EINVAL);
        ASSERT_STRCONTAINS(msg, "subnet: '10.0.0.0/33': bad prefix length");
        ASSERT_ERROR(ncidr_parse("10.0.0.300/24", AF_INET, false, false, "subnet", &c, &msg), EINVAL);
        ASSERT_STRCONTAINS(msg, "not a valid IPv4 address");
        ASSERT_ERROR(ncidr_parse("10.0.0.5/24", AF_INET, false, false, "subnet", &c, &msg), EINVAL);
        ASSERT_STRCONTAINS(msg, "host bits set (did you mean 10.0.0.0/24?)");
        ASSERT_ERROR(ncidr_parse("10.0.0.0", AF_INET, false, false, "subnet", &c, &msg), EINVAL);
        ASSERT_STRCONTAINS(msg, "is not a CIDR");
        ASSERT_ERROR(ncidr_parse("10.0.0.0/", AF_INET, false, false, "s", &c, &msg), EINVAL);
        ASSERT_ERROR(ncidr_parse("10.0.0.0/-1", AF_INET, false, false, "s", &c, &msg), EINVAL);
        ASSERT_ERROR(ncidr_parse("10.0.0.0/+8", AF_INET, false, false, "s", &c, &msg), EINVAL);
        ASSERT_ERROR(ncidr_parse("10.0.0.0/8x", AF_INET, false, false, "s", &c, &msg), EINVAL);
        ASSERT_ERROR(ncidr_parse("abc", AF_UNSPEC, true, false, "s", &c, &msg), EINVAL);
        ASSERT_ERROR(ncidr_parse("", AF_UNSPEC, true, false, "s", &c, &msg), EINVAL);
        ASSERT_ERROR(ncidr_parse("fd00::/129", AF_INET6, false, false, "s", &c, &msg), EINVAL);
        ASSERT_ERROR(ncidr_parse("fd00::/64", AF_INET, false, false, "s", &c, &msg), EINVAL);
        ASSERT_ERROR(ncidr_parse("10.0.0.0/99999999999999999999", AF_INET, false, false, "s", &c, NULL),
                     EINVAL);
}

TEST(contains_and_overlaps) {
        NCidr a = cidr("10.77.0.0/16"), b = cidr("10.77.5.0/24"), c = cidr("10.78.0.0/24"),
              d = cidr("fd00::/64");
        NAddr x;

        ASSERT_TRUE(ncidr_overlaps(&a, &b));
        ASSERT_TRUE(ncidr_overlaps(&b, &a));
        ASSERT_FALSE(ncidr_overlaps(&a, &c));
        ASSERT_FALSE(ncidr_overlaps(&a, &d));
        ASSERT_OK(naddr_parse("10.77.5.9", AF_INET, &x));
        ASSERT_TRUE(ncidr_contains(&b, &x));
        ASSERT_FALSE(ncidr_contains(&c, &x));
        ASSERT_FALSE(ncidr_contains(&d, &x));
}

TEST(host_arithmetic) {
        NCidr s = cidr("10.77.3.0/24"), s6 = cidr("fd61:756c:6100:3::/64");
        char buf[NADDR_STRLEN];
        NAddr a;

        ASSERT_OK(ncidr_host(&s, 1, &a));
        ASSERT_STREQ(naddr_to_string(&a, buf), "10.77.3.1");
        ASSERT_OK(ncidr_host(&s, 255, &a));
        ASSERT_STREQ(naddr_to_string(&a, buf), "10.77.3.255");
        ASSERT_ERROR(ncidr_host(&s, 256, &a), ERANGE);
        ASSERT_EQ((uint64_t) ncidr_offset(&s, &a), 255u);
        ASSERT_OK(ncidr_host(&s6, 5, &a));
        ASSERT_STREQ(naddr_to_string(&a, buf), "fd61:756c:6100:3::5");

        NCidr n = { .prefixlen = 20 };
        ASSERT_OK(naddr_parse("10.1.255.255", AF_INET, &n.addr));
        ncidr_normalize(&n);
        ASSERT_STREQ(naddr_to_string(&n.addr, buf), "10.1.240.0");
}
