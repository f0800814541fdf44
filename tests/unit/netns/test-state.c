/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/file.h>

#include "lab-fixture.h"

TEST(json_round_trip) {
        _cleanup_(netns_lab_freep)
                        NetnsLab *lab = lab_fixture(LAB_JSON("exam", LEASE_ANA "," LEASE_BOB_TAP, FWD_ANA));
        _cleanup_(netns_lab_freep) NetnsLab *again = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL, *msg = NULL;

        ASSERT_STREQ(netns_lab_name(lab), "lab1");
        ASSERT_EQ(netns_lab_mode(lab), NETNS_MODE_EXAM);
        ASSERT_STREQ(netns_lab_subnet(lab), "10.77.0.0/24");
        ASSERT_STREQ(netns_lab_gateway(lab), "10.77.0.1");
        ASSERT_STREQ(netns_lab_gateway6(lab), "fd61:756c:6100::1");
        ASSERT_STREQ(netns_lab_bridge(lab), "aub-ec8eefa74d");
        ASSERT_EQ(strv_length(netns_lab_instances(lab)), 2u);
        ASSERT_STREQ(netns_lab_instances(lab)[1], "bob");
        ASSERT_OK(lab_to_json(lab, true, &text));
        ASSERT_OK(lab_from_json(text, strlen(text), &again, &msg));
        ASSERT_OK(lab_to_json(again, true, &text2));
        ASSERT_STREQ(text, text2);
}

TEST(attachment_view) {
        _cleanup_(netns_lab_freep)
                        NetnsLab *lab = lab_fixture(LAB_JSON("nat", LEASE_ANA "," LEASE_BOB_TAP, ""));
        _cleanup_(netns_attachment_freep) NetnsAttachment *a = NULL, *b = NULL;

        ASSERT_OK(netns_lab_attachment(lab, "ana", &a));
        ASSERT_STREQ(netns_attachment_ipv4(a), "10.77.0.2");
        ASSERT_EQ(netns_attachment_prefixlen(a), 24u);
        ASSERT_STREQ(netns_attachment_ipv6(a), "fd61:756c:6100::2");
        ASSERT_EQ(netns_attachment_prefixlen6(a), 64u);
        ASSERT_STREQ(netns_attachment_gateway(a), "10.77.0.1");
        ASSERT_STREQ(netns_attachment_ifname(a), "eth0");
        ASSERT_STREQ(netns_attachment_host_link(a), "auv-b1ca5b0b8d");
        ASSERT_STREQ(netns_attachment_mac(a), "2e:41:36:1f:89:98");
        ASSERT_EQ(netns_attachment_mtu(a), 1500u);
        ASSERT_OK(netns_lab_attachment(lab, "bob", &b));
        ASSERT_NULL(netns_attachment_ifname(b));
        ASSERT_ERROR(netns_lab_attachment(lab, "carol", &b), ENOENT);
}

static void expect_corrupt(const char *json, const char *needle) {
        _cleanup_free_ char *msg = NULL;
        NetnsLab *lab = NULL;

        ASSERT_ERROR(lab_from_json(json, strlen(json), &lab, &msg), EINVAL);
        ASSERT_NULL(lab);
        ASSERT_STRCONTAINS(msg, needle);
}

TEST(corrupt_state_is_rejected_with_the_field_named) {
        expect_corrupt("[]", "expected object");
        expect_corrupt("{\"version\":2}", "unsupported state version");
        expect_corrupt(LAB_JSON("open", "", ""), "mode: unknown mode 'open'");
        expect_corrupt("{\"version\":1,\"name\":\"../x\"}", "invalid lab name");
        expect_corrupt("{\"version\":1,\"name\":\"l\",\"mode\":\"nat\",\"subnet\":\"10.0.0.0/31\",\"mtu\":1500}",
                       "prefix too long");
        expect_corrupt("{\"version\":1,\"name\":\"l\",\"mode\":\"nat\",\"subnet\":\"10.0.0.1/24\",\"mtu\":1500}",
                       "host bits set");
        expect_corrupt(LAB_JSON("nat",
                                "{\"instance\":\"ana\",\"link\":\"auv-0000000000\",\"ifname\":\"eth0\",\"tap\":false,"
                                "\"mac\":\"2e:41:36:1f:89:98\",\"ipv4\":\"10.77.0.2\",\"ipv6\":null}",
                                ""),
                       "does not match instance");
        expect_corrupt(LAB_JSON("nat",
                                "{\"instance\":\"ana\",\"link\":\"auv-b1ca5b0b8d\",\"ifname\":\"eth0\",\"tap\":false,"
                                "\"mac\":\"2e:41:36:1f:89\",\"ipv4\":\"10.77.0.2\",\"ipv6\":null}",
                                ""),
                       "is not a MAC address");
        expect_corrupt(LAB_JSON("nat",
                                "{\"instance\":\"ana\",\"link\":\"auv-b1ca5b0b8d\",\"ifname\":\"eth0\",\"tap\":false,"
                                "\"mac\":\"2e:41:36:1f:89:98\",\"ipv4\":\"10.78.0.2\",\"ipv6\":null}",
                                ""),
                       "leases[0].ipv4: address outside the lab subnet");
        expect_corrupt(LAB_JSON("nat", LEASE_ANA,
                                "{\"instance\":\"ana\",\"proto\":\"tcp\",\"host_addr\":null,\"host_port\":70000,"
                                "\"port\":80}"),
                       "forwards[0].host_port");
        expect_corrupt(LAB_JSON("nat", LEASE_ANA,
                                "{\"instance\":\"ana\",\"proto\":\"icmp\",\"host_addr\":null,\"host_port\":1,"
                                "\"port\":80}"),
                       "unknown protocol");
        expect_corrupt("{\"version\":1,\"name\":\"l\",\"mode\":\"nat\",\"subnet\":\"10.0.0.0/24\",\"subnet6\":"
                       "\"fd00::/48\",\"mtu\":1500}",
                       "expected a /64");
        expect_corrupt("{\"version\":1,", "");
}

TEST(files_locking_and_listing) {
        char dir[] = "/tmp/aula-test-netns-state.XXXXXX";
        _cleanup_(netns_lab_freep) NetnsLab *lab = lab_fixture(LAB_JSON("nat", LEASE_ANA, FWD_ANA));
        _cleanup_(netns_lab_freep) NetnsLab *back = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int dirfd = -EBADF, lockfd = -EBADF, other = -EBADF;
        _cleanup_free_ char *msg = NULL;
        LabSet set = {};

        ASSERT_NOT_NULL(mkdtemp(dir));
        ASSERT_ERROR(state_open(dir, false, &dirfd), ENOENT);
        ASSERT_OK(netns_lab_list(dir, &names));
        ASSERT_EQ(strv_length(names), 0u);
        names = strv_free(names);
        ASSERT_OK(state_open(dir, true, &dirfd));
        ASSERT_OK(state_lock(dirfd, &lockfd));
        /* A second open file description cannot take the lock while we hold it. */
        other = openat(dirfd, "lock", O_RDWR | O_CLOEXEC);
        ASSERT_OK(other);
        ASSERT_TRUE(flock(other, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK);

        ASSERT_OK(state_save(dirfd, lab));
        ASSERT_OK(state_load(dirfd, "lab1", &back, &msg));
        ASSERT_EQ(back->n_forwards, 1u);
        ASSERT_OK(netns_lab_list(dir, &names));
        ASSERT_EQ(strv_length(names), 1u);
        ASSERT_STREQ(names[0], "lab1");
        ASSERT_OK(state_load_all(dirfd, &set, &msg));
        ASSERT_EQ(set.n, 1u);
        labset_done(&set);
        netns_lab_free(back);
        back = NULL;
        ASSERT_OK(netns_lab_load(dir, "lab1", &back, &msg));
        ASSERT_ERROR(netns_lab_load(dir, "lab2", &back, &msg), ENOENT);
        ASSERT_STRCONTAINS(msg, "no lab 'lab2'");

        /* Leases from another boot are void; an unreadable lease file is an error, not "no leases". */
        {
                _cleanup_(netns_lab_freep) NetnsLab *l2 = NULL;
                _cleanup_free_ char *m = NULL;
                const char *old_boot = "{\"version\":1,\"boot_id\":\"0000\",\"leases\":[" LEASE_ANA
                                       "],\"forwards\":[]}";
                ASSERT_OK(write_file_atomic_at(dirfd, "leases/lab1.json", old_boot, strlen(old_boot), 0600));
                ASSERT_OK(state_load(dirfd, "lab1", &l2, &m));
                ASSERT_EQ(l2->n_leases, 0u);
                ASSERT_EQ(l2->n_forwards, 0u);
                ASSERT_OK(write_file_atomic_at(dirfd, "leases/lab1.json", "{\"x\"", 5, 0600));
                ASSERT_ERROR(state_load(dirfd, "lab1", &l2, &m), EINVAL);
                ASSERT_STRCONTAINS(m, "corrupt lease state leases/lab1.json");
        }
        ASSERT_OK(state_save(dirfd, lab));
        /* A corrupt file is reported with its path. */
        ASSERT_OK(write_file_atomic_at(dirfd, "labs/lab1.json", "{", 1, 0600));
        free(msg);
        msg = NULL;
        ASSERT_ERROR(state_load(dirfd, "lab1", &back, &msg), EINVAL);
        ASSERT_STRCONTAINS(msg, "corrupt lab state labs/lab1.json");
        ASSERT_OK(state_remove(dirfd, "lab1"));
        ASSERT_ERROR(state_remove(dirfd, "lab1"), ENOENT);
        ASSERT_TRUE(faccessat(dirfd, "leases/lab1.json", F_OK, 0) < 0);
        ASSERT_ERROR(state_load(dirfd, "../x", &back, NULL), EINVAL);
        ASSERT_OK(rm_rf_at(AT_FDCWD, dir));
}
