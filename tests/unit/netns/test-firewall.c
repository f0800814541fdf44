/* SPDX-License-Identifier: Apache-2.0 */
#include "lab-fixture.h"

static char *render1(NetnsLab *lab) {
        char *s = NULL;
        if (fw_render(&lab, 1, &s) < 0)
                tap_fail(__FILE__, __LINE__, "fw_render failed");
        return s;
}

/* The text of one chain, "chain NAME {" up to its closing brace. */
static char *chain(const char *script, const char *name) {
        char head[128];
        const char *b, *e;
        snprintf(head, sizeof head, "chain %s {", name);
        b = strstr(script, head);
        if (!b)
                return strdup("");
        e = strstr(b, "\n\t}");
        return strndup(b, e ? (size_t) (e - b) : strlen(b));
}

TEST(no_labs_removes_the_table) {
        _cleanup_free_ char *s = NULL;
        ASSERT_OK(fw_render(NULL, 0, &s));
        ASSERT_STREQ(s, "table inet aula\ndelete table inet aula\n");
}

TEST(isolated_mode) {
        _cleanup_(netns_lab_freep) NetnsLab *lab = lab_fixture(LAB_JSON("isolated", LEASE_ANA, ""));
        _cleanup_free_ char *s = render1(lab), *host = chain(s, "lab_ec8eefa74d_host"),
                            *out = chain(s, "lab_ec8eefa74d_out"), *in = chain(s, "lab_ec8eefa74d_in");

        ASSERT_TRUE(startswith(s, "table inet aula\ndelete table inet aula\ntable inet aula {\n") != NULL);
        ASSERT_STRCONTAINS(s, "iifname \"aub-ec8eefa74d\" jump lab_ec8eefa74d_host");
        ASSERT_STRCONTAINS(s, "oifname \"aub-ec8eefa74d\" jump lab_ec8eefa74d_in");
        ASSERT_STRCONTAINS(host, "ip daddr 10.77.0.1 accept");
        ASSERT_STRCONTAINS(host, "ip6 daddr fd61:756c:6100::1 accept");
        ASSERT_STRCONTAINS(out, "ip saddr != 10.77.0.0/24 drop");
        ASSERT_STRCONTAINS(out, "oifname \"aub-ec8eefa74d\" accept");
        ASSERT_TRUE(strstr(out, "\t\taccept\n") == NULL); /* no blanket accept: nothing leaves the lab */
        ASSERT_TRUE(endswith(out, "drop"));
        ASSERT_STRCONTAINS(in, "ip saddr { 10.77.0.1/32, 198.51.100.10/32 } accept");
        ASSERT_STRCONTAINS(in, "ct status dnat accept");
        ASSERT_TRUE(strstr(s, "oifname != \"aub-ec8eefa74d\" masquerade") == NULL);
        ASSERT_TRUE(strstr(s, "port_forwards") == NULL);
}

TEST(nat_mode) {
        _cleanup_(netns_lab_freep) NetnsLab *lab = lab_fixture(LAB_JSON("nat", LEASE_ANA, FWD_ANA));
        _cleanup_free_ char *s = render1(lab), *out = chain(s, "lab_ec8eefa74d_out"),
                            *pf = chain(s, "port_forwards");

        ASSERT_STRCONTAINS(out, "oifname \"aub-*\" drop\n\t\taccept");
        ASSERT_STRCONTAINS(s, "ip saddr 10.77.0.0/24 oifname != \"aub-ec8eefa74d\" masquerade");
        ASSERT_STRCONTAINS(s, "ip6 saddr fd61:756c:6100::/64 oifname != \"aub-ec8eefa74d\" masquerade");
        ASSERT_STRCONTAINS(s, "fib daddr type local jump port_forwards");
        ASSERT_STRCONTAINS(pf, "meta nfproto ipv4 tcp dport 8080 dnat ip to 10.77.0.2:80");
        ASSERT_STRCONTAINS(pf, "meta nfproto ipv6 tcp dport 8080 dnat ip6 to [fd61:756c:6100::2]:80");
}

TEST(exam_mode) {
        _cleanup_(netns_lab_freep) NetnsLab *lab = lab_fixture(LAB_JSON("exam", LEASE_ANA, FWD_ANA));
        _cleanup_free_ char *s = render1(lab), *host = chain(s, "lab_ec8eefa74d_host"),
                            *out = chain(s, "lab_ec8eefa74d_out"), *in = chain(s, "lab_ec8eefa74d_in");

        ASSERT_STRCONTAINS(host, "ip daddr { 10.77.0.1/32, 198.51.100.10/32 } accept");
        ASSERT_STRCONTAINS(out, "ip daddr { 10.77.0.1/32, 198.51.100.10/32 } accept");
        ASSERT_TRUE(strstr(out, "oifname \"aub-ec8eefa74d\" accept") == NULL);
        ASSERT_TRUE(strstr(out, "\t\taccept\n") == NULL);
        ASSERT_TRUE(strstr(in, "ct status dnat accept") == NULL);
        /* Only reply-direction packets are accepted by state, so switching to exam cuts open connections. */
        ASSERT_TRUE(strstr(out, "ct state established") == NULL);
}

TEST(forward_with_host_address_and_two_labs) {
        _cleanup_(netns_lab_freep) NetnsLab *a = lab_fixture(LAB_JSON(
                        "nat", LEASE_ANA,
                        "{\"instance\":\"ana\",\"proto\":\"udp\",\"host_addr\":\"192.0.2.1\",\"host_port\":53,\"port\":5353}"));
        _cleanup_(netns_lab_freep) NetnsLab *b = lab_fixture(LAB_JSON("isolated", "", ""));
        _cleanup_free_ char *s = NULL;
        NetnsLab *labs[2];

        free(b->name);
        b->name = strdup("lab2");
        b->subnet.addr.b[2] = 1;
        ASSERT_OK(lab_sync(b));
        labs[0] = a;
        labs[1] = b;
        ASSERT_OK(fw_render(labs, 2, &s));
        ASSERT_STRCONTAINS(s, "meta nfproto ipv4 ip daddr 192.0.2.1 udp dport 53 dnat ip to 10.77.0.2:5353");
        ASSERT_TRUE(strstr(s, "dnat ip6 to") == NULL);
        ASSERT_STRCONTAINS(s, "jump lab_ec8eefa74d_out");
        ASSERT_STRCONTAINS(s, netns_lab_bridge(b));
        ASSERT_STRCONTAINS(s, "ip saddr != 10.77.1.0/24 drop");
}
