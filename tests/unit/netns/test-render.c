/* SPDX-License-Identifier: Apache-2.0 */
#include "lab-fixture.h"

TEST(resolv_conf_uses_lab_servers) {
        _cleanup_(netns_lab_freep) NetnsLab *lab = lab_fixture(LAB_JSON("exam", LEASE_ANA, ""));
        _cleanup_free_ char *s = NULL;

        ASSERT_OK(netns_render_resolv_conf(lab, NULL, &s));
        ASSERT_STRCONTAINS(s, "nameserver 192.0.2.53\n");
        ASSERT_STRCONTAINS(s, "(exam mode)");
}

TEST(resolv_conf_falls_back_to_host_in_nat_mode) {
        char path[] = "/tmp/aula-test-resolv.XXXXXX";
        _cleanup_(netns_lab_freep) NetnsLab *lab = lab_fixture(LAB_JSON("nat", LEASE_ANA, ""));
        _cleanup_free_ char *s = NULL;
        _cleanup_close_ int fd = mkstemp(path);
        const char *host = "# comment\nnameserver 127.0.0.53\nnameserver 192.0.2.9\nsearch school.example\n"
                           "nameserver ::1\nnameserver bogus\n";

        ASSERT_OK(fd);
        ASSERT_OK(loop_write(fd, host, strlen(host)));
        lab->dns = strv_free(lab->dns);
        lab->dns = calloc(1, sizeof(char *));
        ASSERT_OK(netns_render_resolv_conf(lab, path, &s));
        ASSERT_STRCONTAINS(s, "nameserver 192.0.2.9\n");
        ASSERT_STRCONTAINS(s, "search school.example\n");
        ASSERT_TRUE(strstr(s, "127.0.0.53") == NULL);
        ASSERT_TRUE(strstr(s, "::1") == NULL);
        ASSERT_TRUE(strstr(s, "bogus") == NULL);
        free(s);
        s = NULL;
        lab->mode = NETNS_MODE_ISOLATED;
        ASSERT_OK(netns_render_resolv_conf(lab, path, &s));
        ASSERT_TRUE(strstr(s, "nameserver") == NULL);
        unlink(path);
}

TEST(hosts_lists_self_then_classmates) {
        _cleanup_(netns_lab_freep)
                        NetnsLab *lab = lab_fixture(LAB_JSON("nat", LEASE_ANA "," LEASE_BOB_TAP, ""));
        _cleanup_free_ char *s = NULL, *t = NULL;

        ASSERT_OK(netns_render_hosts(lab, "bob", &s));
        ASSERT_STRCONTAINS(s, "127.0.0.1\tlocalhost\n");
        ASSERT_STRCONTAINS(s, "10.77.0.1\taula-gateway\n");
        ASSERT_STRCONTAINS(s, "10.77.0.3\tbob\nfd61:756c:6100::3\tbob\n10.77.0.2\tana\n");
        ASSERT_OK(netns_render_hosts(lab, "carol", &t));
        ASSERT_STRCONTAINS(t, "127.0.1.1\tcarol\n");
        ASSERT_ERROR(netns_render_hosts(lab, "../x", &t), EINVAL);
}
