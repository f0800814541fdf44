/* SPDX-License-Identifier: Apache-2.0 */
#include "netns-internal.h"
#include "tap.h"

TEST(name_rules) {
        ASSERT_TRUE(netns_name_valid("lab1"));
        ASSERT_TRUE(netns_name_valid("2024-redes.grupo_A"));
        ASSERT_FALSE(netns_name_valid(""));
        ASSERT_FALSE(netns_name_valid(NULL));
        ASSERT_FALSE(netns_name_valid("-lab"));
        ASSERT_FALSE(netns_name_valid(".lab"));
        ASSERT_FALSE(netns_name_valid("a/b"));
        ASSERT_FALSE(netns_name_valid("a b"));
        ASSERT_FALSE(netns_name_valid("ñandú"));
        char longname[65];
        memset(longname, 'a', 64);
        longname[64] = 0;
        ASSERT_FALSE(netns_name_valid(longname));
        longname[63] = 0;
        ASSERT_TRUE(netns_name_valid(longname));
}

TEST(link_names_fit_and_are_stable) {
        char a[16], b[16], c[16];

        netns_bridge_name("lab1", a);
        ASSERT_EQ(strlen(a), 14u);
        ASSERT_TRUE(strlen(a) < IFNAMSIZ);
        ASSERT_TRUE(startswith(a, "aub-") != NULL);
        ASSERT_STREQ(netns_bridge_name("lab1", b), a);
        ASSERT_TRUE(strcmp(netns_bridge_name("lab2", b), a) != 0);
        netns_link_name("lab1", "ana", false, a);
        netns_link_name("lab1", "ana", true, b);
        netns_link_name("lab1", "bob", false, c);
        ASSERT_TRUE(startswith(a, "auv-") != NULL);
        ASSERT_TRUE(startswith(b, "aut-") != NULL);
        ASSERT_STREQ(a + 4, b + 4);
        ASSERT_TRUE(strcmp(a, c) != 0);
        /* "lab1"+"0ana" and "lab10"+"ana" must not collide: the separator is hashed too. */
        netns_link_name("lab10", "ana", false, b);
        netns_link_name("lab1", "0ana", false, c);
        ASSERT_TRUE(strcmp(b, c) != 0);
        ASSERT_TRUE(netns_link_name_is_ours(a));
        ASSERT_TRUE(netns_link_name_is_ours("aub-0123456789"));
        ASSERT_FALSE(netns_link_name_is_ours("aub-012345678"));
        ASSERT_FALSE(netns_link_name_is_ours("aub-0123456789a"));
        ASSERT_FALSE(netns_link_name_is_ours("aub-012345678G"));
        ASSERT_FALSE(netns_link_name_is_ours("eth0"));
        ASSERT_FALSE(netns_link_name_is_ours("aux-0123456789"));
}

TEST(macs) {
        uint8_t m[6], n[6];
        char buf[18];

        netns_mac("lab1", "ana", m);
        netns_mac("lab1", "ana", n);
        ASSERT_TRUE(memcmp(m, n, 6) == 0);
        ASSERT_EQ(m[0] & 1, 0); /* unicast */
        ASSERT_EQ(m[0] & 2, 2); /* locally administered */
        netns_mac("lab1", "bob", n);
        ASSERT_TRUE(memcmp(m, n, 6) != 0);
        netns_mac("lab1", NULL, n);
        ASSERT_EQ(n[0] & 3, 2);
        ASSERT_EQ(strlen(netns_mac_to_string(m, buf)), 17u);
}

TEST(enums) {
        ASSERT_STREQ(netns_mode_to_string(NETNS_MODE_EXAM), "exam");
        ASSERT_EQ(netns_mode_from_string("nat"), NETNS_MODE_NAT);
        ASSERT_EQ(netns_mode_from_string("isolated"), NETNS_MODE_ISOLATED);
        ASSERT_EQ((int) netns_mode_from_string("open"), -EINVAL);
        ASSERT_EQ((int) netns_mode_from_string(NULL), -EINVAL);
        ASSERT_NULL(netns_mode_to_string((NetnsMode) 7));
        ASSERT_EQ(netns_proto_from_string("udp"), NETNS_PROTO_UDP);
        ASSERT_EQ((int) netns_proto_from_string("sctp"), -EINVAL);
}
