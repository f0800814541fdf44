/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/wait.h>

#include "helpers.h"

/* Creation, deletion, cleanup after crashes, concurrency and bad input, on real kernels. */

TEST(delete_leaves_nothing_behind) {
        Host h;
        NetnsLabOptions nat = { .mode = NETNS_MODE_NAT };
        NetnsPortForward f = { .proto = NETNS_PROTO_UDP, .host_port = 5353, .port = 53 };
        NetnsAttachOptions ao = { .forwards = &f, .n_forwards = 1 };
        _cleanup_(netns_attachment_freep) NetnsAttachment *va = NULL, *ta = NULL;
        _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
        _cleanup_strv_free_ char **links = NULL;
        _cleanup_free_ char *table = NULL;
        _cleanup_close_ int tapfd = -EBADF;
        int a;

        host_setup(&h);
        ASSERT_API(netns_lab_create(h.root, "lab1", &nat, NULL, msg));
        ASSERT_API(netns_lab_create(h.root, "lab2", NULL, NULL, msg));
        a = ns_new(&h);
        ASSERT_API(netns_attach(h.root, "lab1", "ana", a, &ao, &va, msg));
        ASSERT_API(netns_attach_tap(h.root, "lab1", "vm1", NULL, &tapfd, &ta, msg));
        ASSERT_OK(tapfd);
        ASSERT_TRUE(startswith(netns_attachment_host_link(ta), "aut-") != NULL);
        ASSERT_STREQ(netns_attachment_ipv4(ta), "10.77.0.3");
        links = our_links(&h, -1);
        ASSERT_EQ(strv_length(links), 4u); /* two bridges, a veth, a tap */
        ASSERT_TRUE(link_exists(&h, a, "eth0"));
        table = nft_table();
        ASSERT_NOT_NULL(table);
        ASSERT_STRCONTAINS(table, "udp dport 5353 dnat ip to 10.77.0.2:53");
        {
                _cleanup_free_ char *cmd = NULL, *out = NULL;
                ASSERT_OK(xasprintf(&cmd, "ip -o link show dev %s", netns_attachment_host_link(ta)));
                out = run_cmd(cmd);
                ASSERT_STRCONTAINS(out, "master aub-");
        }

        /* Detaching removes the link, the peer, the lease and the forward. */
        ASSERT_API(netns_detach(h.root, "lab1", "ana", msg));
        ASSERT_FALSE(link_exists(&h, -1, netns_attachment_host_link(va)));
        ASSERT_FALSE(link_exists(&h, a, "eth0"));
        free(table);
        table = nft_table();
        ASSERT_TRUE(strstr(table, "5353") == NULL);
        ASSERT_API(netns_lab_load(h.root, "lab1", &lab, msg));
        ASSERT_EQ(strv_length(netns_lab_instances(lab)), 1u);
        {
                _cleanup_free_ char *m = NULL;
                ASSERT_ERROR(netns_detach(h.root, "lab1", "ana", &m), ENOENT);
                ASSERT_STRCONTAINS(m, "instance 'ana' is not attached to lab 'lab1'");
        }

        /* Deleting the labs removes bridges, taps, rules and state. */
        ASSERT_API(netns_lab_delete(h.root, "lab1", msg));
        free(table);
        table = nft_table();
        ASSERT_NOT_NULL(table); /* lab2 still has rules */
        ASSERT_TRUE(strstr(table, netns_lab_bridge(lab)) == NULL);
        ASSERT_API(netns_lab_delete(h.root, "lab2", msg));
        links = strv_free(links);
        links = our_links(&h, -1);
        ASSERT_EQ(strv_length(links), 0u);
        ASSERT_NULL(nft_table());
        ASSERT_EQ(state_files(&h), 0u);
        {
                _cleanup_strv_free_ char **labs = NULL;
                ASSERT_OK(netns_lab_list(h.root, &labs));
                ASSERT_EQ(strv_length(labs), 0u);
        }
}

TEST(orphans_are_removed_by_the_next_call) {
        Host h;
        _cleanup_(nl_closep) NlSock *nl = NULL;
        _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
        _cleanup_strv_free_ char **links = NULL;
        _cleanup_free_ char *path = NULL;
        const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
        int a, b, n;

        host_setup(&h);
        ASSERT_OK(nl_open(-1, &nl));
        ASSERT_API(netns_lab_create(h.root, "keep", NULL, NULL, msg));
        ASSERT_API(netns_lab_create(h.root, "crashed", NULL, NULL, msg));
        a = ns_new(&h);
        b = ns_new(&h);
        ASSERT_API(netns_attach(h.root, "crashed", "ana", a, NULL, NULL, msg));
        ASSERT_API(netns_attach(h.root, "keep", "bob", b, NULL, NULL, msg));

        /* A crash after forgetting a lab but before removing its objects ... */
        path = path_join(h.root, "netns/labs/crashed.json");
        ASSERT_OK(unlink(path));
        /* ... one between creating a link and recording it ... */
        ASSERT_OK(nl_bridge_create(nl, "aub-00000000aa", mac, 1500, NULL));
        ASSERT_OK(tap_create("aut-00000000bb", NULL, NULL));
        /* ... an instance whose namespace died without a detach ... */
        close(b);
        {
                char bob_link[16];
                ASSERT_TRUE(wait_link_gone(&h, -1, netns_link_name("keep", "bob", false, bob_link), 10000));
        }
        /* ... and links that are not ours, which must survive. */
        ASSERT_OK(nl_bridge_create(nl, "br-teacher", mac, 1500, NULL));

        /* The next call of any kind cleans up (here: creating another lab). */
        ASSERT_API(netns_lab_create(h.root, "next", NULL, NULL, msg));
        ASSERT_EQ(state_files(&h), 4u); /* configuration and leases of "keep" and "next" */
        links = our_links(&h, -1);
        ASSERT_EQ(strv_length(links), 2u); /* the bridges of "keep" and "next" */
        ASSERT_TRUE(link_exists(&h, -1, "br-teacher"));
        ASSERT_FALSE(link_exists(&h, a, "eth0"));
        ASSERT_API(netns_lab_load(h.root, "keep", &lab, msg));
        ASSERT_EQ(strv_length(netns_lab_instances(lab)), 0u); /* bob's lease is released */
        {
                _cleanup_free_ char *table = nft_table();
                ASSERT_NOT_NULL(table);
                char crashed_bridge[16];
                ASSERT_TRUE(strstr(table, netns_bridge_name("crashed", crashed_bridge)) == NULL);
        }

        /* After a "reboot" (links and rules gone), gc restores the lab and reports nothing removed. */
        ASSERT_OK(nl_link_delete(nl, netns_lab_bridge(lab), NULL));
        ASSERT_OK(fw_apply("delete table inet aula", NULL));
        ASSERT_API(n = netns_gc(h.root, msg));
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(link_exists(&h, -1, netns_lab_bridge(lab)));
        {
                _cleanup_free_ char *table = nft_table();
                ASSERT_NOT_NULL(table);
                ASSERT_STRCONTAINS(table, netns_lab_bridge(lab));
        }
        a = ns_new(&h);
        ASSERT_API(netns_attach(h.root, "keep", "carol", a, NULL, NULL, msg));
        ASSERT_TRUE(ping_from(&h, a, "10.77.0.1", POSITIVE_MS));
}

TEST(concurrent_attaches_get_distinct_addresses) {
        enum { N = 8 };
        Host h;
        _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
        char links[N][16];
        pid_t pids[N];
        int ns[N];
        int r;

        host_setup(&h);
        ASSERT_API(netns_lab_create(h.root, "lab1", NULL, NULL, msg));
        /* The namespaces belong to the parent, so they outlive the children that attach them. */
        for (int i = 0; i < N; i++)
                ns[i] = ns_new(&h);
        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                ASSERT_OK(pids[i]);
                if (pids[i] == 0) {
                        char name[16];
                        snprintf(name, sizeof name, "s%d", i);
                        _exit(netns_attach(h.root, "lab1", name, ns[i], NULL, NULL, NULL) < 0);
                }
        }
        for (int i = 0; i < N; i++) {
                r = wait_for_pid(pids[i]);
                ASSERT_EQ(r, 0);
        }
        ASSERT_API(netns_lab_load(h.root, "lab1", &lab, msg));
        ASSERT_EQ(strv_length(netns_lab_instances(lab)), (size_t) N);
        for (int i = 0; i < N; i++)
                for (int j = i + 1; j < N; j++) {
                        _cleanup_(netns_attachment_freep) NetnsAttachment *x = NULL, *y = NULL;
                        ASSERT_OK(netns_lab_attachment(lab, netns_lab_instances(lab)[i], &x));
                        ASSERT_OK(netns_lab_attachment(lab, netns_lab_instances(lab)[j], &y));
                        ASSERT_TRUE(!streq(netns_attachment_ipv4(x), netns_attachment_ipv4(y)));
                }
        for (int i = 0; i < N; i++)
                ASSERT_TRUE(ping_from(&h, ns[i], "10.77.0.1", POSITIVE_MS));
        ASSERT_API(r = netns_gc(h.root, msg));
        ASSERT_EQ(r, 0);
        /* When the namespaces die, the next call releases all eight leases. */
        for (int i = 0; i < N; i++) {
                char name[16];
                snprintf(name, sizeof name, "s%d", i);
                close(ns[i]);
                netns_link_name("lab1", name, false, links[i]);
        }
        for (int i = 0; i < N; i++)
                ASSERT_TRUE(wait_link_gone(&h, -1, links[i], 10000));
        ASSERT_API(r = netns_gc(h.root, msg));
        ASSERT_EQ(r, N);
}

#define ASSERT_FAILS(expr, err, needle) \
        do { \
                _cleanup_free_ char *m = NULL; \
                char **msg = &m; \
                ASSERT_ERROR(expr, err); \
                ASSERT_STRCONTAINS(m, needle); \
        } while (0)

TEST(bad_input_gets_clear_errors_and_leaves_nothing) {
        Host h;
        NetnsLabOptions small = { .pool = "10.9.0.0/24", .prefixlen = 24 },
                        tiny = { .subnet = "10.5.0.0/30" }, clash = { .subnet = "10.9.0.0/16" },
                        bad = { .subnet = "10.0.0.0/33" };
        NetnsAttachOptions twice = { .ipv4 = "10.9.0.2" }, outside = { .ipv4 = "10.10.0.2" };
        _cleanup_close_ int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        _cleanup_strv_free_ char **links = NULL;
        int a, b, c;

        host_setup(&h);
        ASSERT_FAILS(netns_lab_create(h.root, "bad", &bad, NULL, msg), EINVAL, "bad prefix length");
        ASSERT_API(netns_lab_create(h.root, "small", &small, NULL, msg));
        ASSERT_FAILS(netns_lab_create(h.root, "small", &small, NULL, msg), EEXIST,
                     "lab 'small' already exists");
        ASSERT_FAILS(netns_lab_create(h.root, "more", &small, NULL, msg), ENOSPC,
                     "address pool 10.9.0.0/24 is exhausted");
        ASSERT_FAILS(netns_lab_create(h.root, "clash", &clash, NULL, msg), EADDRINUSE,
                     "subnet 10.9.0.0/16 overlaps lab 'small'");
        ASSERT_API(netns_lab_create(h.root, "tiny", &tiny, NULL, msg));

        a = ns_new(&h);
        b = ns_new(&h);
        c = ns_new(&h);
        ASSERT_API(netns_attach(h.root, "tiny", "one", a, NULL, NULL, msg));
        ASSERT_FAILS(netns_attach(h.root, "tiny", "two", b, NULL, NULL, msg), ENOSPC,
                     "lab 'tiny' has no free address left in 10.5.0.0/30");
        ASSERT_FAILS(netns_attach(h.root, "tiny", "one", b, NULL, NULL, msg), EEXIST,
                     "instance 'one' is already attached to lab 'tiny'");
        ASSERT_FAILS(netns_attach(h.root, "nope", "x", b, NULL, NULL, msg), ENOENT, "no lab 'nope'");
        ASSERT_API(netns_attach(h.root, "small", "s1", b, &twice, NULL, msg));
        ASSERT_FAILS(netns_attach(h.root, "small", "s2", c, &twice, NULL, msg), EADDRINUSE,
                     "10.9.0.2 is already leased in lab 'small'");
        ASSERT_FAILS(netns_attach(h.root, "small", "s2", c, &outside, NULL, msg), EINVAL,
                     "not a usable host address of lab subnet 10.9.0.0/24");
        ASSERT_FAILS(netns_attach(h.root, "small", "s3", h.host_fd, NULL, NULL, msg), EINVAL,
                     "the instance's network namespace is the host's own");
        /* Not a namespace fd. */
        ASSERT_FAILS(netns_attach(h.root, "small", "s3", devnull, NULL, NULL, msg), EINVAL,
                     "enter the instance's network namespace");
        /* The instance already has an eth0 (from lab "small"): the kernel refuses, and says so. */
        ASSERT_FAILS(netns_attach(h.root, "tiny", "dup", b, NULL, NULL, msg), ENOSPC, "no free address");
        {
                NetnsLabOptions o = {};
                ASSERT_API(netns_lab_create(h.root, "third", &o, NULL, msg));
        }
        ASSERT_FAILS(netns_attach(h.root, "third", "dup", b, NULL, NULL, msg), EEXIST, "File exists");
        /* Failed calls left no link and no lease. */
        links = our_links(&h, -1);
        ASSERT_EQ(strv_length(links), 5u); /* 3 bridges + one + s1 */
        {
                _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
                ASSERT_API(netns_lab_load(h.root, "third", &lab, msg));
                ASSERT_EQ(strv_length(netns_lab_instances(lab)), 0u);
        }
        {
                NetnsPortForward f = { .proto = NETNS_PROTO_TCP, .host_port = 0, .port = 80 };
                ASSERT_FAILS(netns_forward_add(h.root, "small", "s1", &f, msg), EINVAL,
                             "ports must be 1..65535");
                f = (NetnsPortForward){ .proto = NETNS_PROTO_TCP, .host_port = 80, .port = 80, .host_addr = "x" };
                ASSERT_FAILS(netns_forward_add(h.root, "small", "s1", &f, msg), EINVAL,
                             "'x' is not an IP address");
                f.host_addr = NULL;
                ASSERT_FAILS(netns_forward_remove(h.root, "small", "s1", &f, msg), ENOENT, "is not forwarded");
        }
}

TEST(subnets_avoid_the_hosts_own_networks) {
        Host h;
        _cleanup_(nl_closep) NlSock *nl = NULL;
        _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
        NetnsLabOptions explicit = { .subnet = "10.77.0.0/16" };
        const uint8_t mac[6] = { 2, 0, 0, 0, 0, 2 };
        NAddr a;
        int ifindex;

        host_setup(&h);
        /* The school LAN happens to use 10.77.0.0/23. */
        ASSERT_OK(nl_open(-1, &nl));
        ASSERT_OK(nl_bridge_create(nl, "br-lan", mac, 1500, NULL));
        ASSERT_OK(nl_link_index(nl, "br-lan", &ifindex));
        ASSERT_OK(naddr_parse("10.77.1.20", AF_INET, &a));
        ASSERT_OK(nl_addr_add(nl, ifindex, &a, 23, NULL));
        ASSERT_API(netns_lab_create(h.root, "lab1", NULL, &lab, msg));
        ASSERT_STREQ(netns_lab_subnet(lab), "10.77.2.0/24");
        {
                _cleanup_free_ char *m = NULL;
                ASSERT_ERROR(netns_lab_create(h.root, "lab2", &explicit, NULL, &m), EADDRINUSE);
                ASSERT_STRCONTAINS(m, "subnet 10.77.0.0/16 overlaps");
        }
}
