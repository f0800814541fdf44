/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>

#include "helpers.h"

/* Packets on real kernels: who can reach whom in each mode, and port forwards. */

static char *teachers_gw_and_outside[] = { (char *) "10.77.0.1", (char *) TEACHER, NULL };

static int attach(Host *h, const char *lab, const char *inst, int ns, const char *want_ip) {
        _cleanup_(netns_attachment_freep) NetnsAttachment *a = NULL;
        _cleanup_free_ char *m = NULL;
        int r = netns_attach(h->root, lab, inst, ns, NULL, &a, &m);
        if (r < 0)
                tap_fail(__FILE__, __LINE__, "attach %s: %s", inst, m ?: strerror(-r));
        if (want_ip && !streq(netns_attachment_ipv4(a), want_ip))
                tap_fail(__FILE__, __LINE__, "%s got %s, expected %s", inst, netns_attachment_ipv4(a),
                         want_ip);
        return 0;
}

TEST(same_lab_ping_and_tcp) {
        Host h;
        NetnsLabOptions o = { .mode = NETNS_MODE_ISOLATED };
        int a, b, l;

        host_setup(&h);
        outside_setup(&h);
        ASSERT_API(netns_lab_create(h.root, "lab1", &o, NULL, msg));
        a = ns_new(&h);
        b = ns_new(&h);
        attach(&h, "lab1", "ana", a, "10.77.0.2");
        attach(&h, "lab1", "bob", b, "10.77.0.3");

        ASSERT_TRUE(ping_from(&h, a, "10.77.0.3", POSITIVE_MS));
        ASSERT_TRUE(ping_from(&h, b, "10.77.0.2", POSITIVE_MS));
        ASSERT_TRUE(ping_from(&h, a, "fd61:756c:6100::3", POSITIVE_MS));
        ASSERT_TRUE(ping_from(&h, a, "10.77.0.1", POSITIVE_MS)); /* the host's lab address */
        l = tcp_listen(&h, b, "10.77.0.3", 7000);
        ASSERT_TRUE(tcp_exchange(&h, a, NULL, "10.77.0.3", 7000, l, POSITIVE_MS, NULL));
        close(l);
        l = tcp_listen(&h, b, "fd61:756c:6100::3", 7001);
        ASSERT_TRUE(tcp_exchange(&h, a, NULL, "fd61:756c:6100::3", 7001, l, POSITIVE_MS, NULL));
        close(l);
        /* The host reaches its instances. */
        l = tcp_listen(&h, a, NULL, 7002);
        ASSERT_TRUE(tcp_exchange(&h, h.host_fd, NULL, "10.77.0.2", 7002, l, POSITIVE_MS, NULL));
        close(l);

        /* Isolated: nothing beyond the lab, not even the host's other addresses. */
        ASSERT_FALSE(ping_from(&h, a, INTERNET, NEGATIVE_MS));
        ASSERT_FALSE(ping_from(&h, a, HOST_UPLINK, NEGATIVE_MS));
}

TEST(labs_cannot_reach_each_other) {
        Host h;
        NetnsLabOptions nat = { .mode = NETNS_MODE_NAT }, iso = { .mode = NETNS_MODE_ISOLATED };
        _cleanup_(netns_lab_freep) NetnsLab *lb = NULL;
        int a, b, c, l;

        host_setup(&h);
        ASSERT_API(netns_lab_create(h.root, "red", &nat, NULL, msg));
        ASSERT_API(netns_lab_create(h.root, "blue", &nat, &lb, msg));
        ASSERT_STREQ(netns_lab_subnet(lb), "10.77.1.0/24");
        ASSERT_API(netns_lab_create(h.root, "green", &iso, NULL, msg));
        a = ns_new(&h);
        b = ns_new(&h);
        c = ns_new(&h);
        attach(&h, "red", "r1", a, "10.77.0.2");
        attach(&h, "blue", "b1", b, "10.77.1.2");
        attach(&h, "green", "g1", c, "10.77.2.2");

        ASSERT_TRUE(ping_from(&h, a, "10.77.0.1", POSITIVE_MS));
        ASSERT_FALSE(ping_from(&h, a, "10.77.1.2", NEGATIVE_MS));
        ASSERT_FALSE(ping_from(&h, b, "10.77.0.2", NEGATIVE_MS));
        ASSERT_FALSE(ping_from(&h, a, "10.77.2.2", NEGATIVE_MS));
        ASSERT_FALSE(ping_from(&h, c, "10.77.0.2", NEGATIVE_MS));
        ASSERT_FALSE(ping_from(&h, a, "fd61:756c:6100:1::2", NEGATIVE_MS));
        ASSERT_FALSE(ping_from(&h, a, "10.77.1.1", NEGATIVE_MS)); /* the other lab's gateway */
        l = tcp_listen(&h, b, NULL, 7000);
        ASSERT_FALSE(tcp_exchange(&h, a, NULL, "10.77.1.2", 7000, l, NEGATIVE_MS, NULL));
        close(l);
        l = tcp_listen(&h, a, NULL, 7000);
        ASSERT_FALSE(tcp_exchange(&h, b, NULL, "10.77.0.2", 7000, l, NEGATIVE_MS, NULL));
        ASSERT_FALSE(tcp_exchange(&h, c, NULL, "10.77.0.2", 7000, l, NEGATIVE_MS, NULL));
        close(l);
}

TEST(nat_mode_reaches_outside_masqueraded) {
        Host h;
        NetnsLabOptions o = { .mode = NETNS_MODE_NAT };
        char peer[64] = "";
        int a, l;

        host_setup(&h);
        outside_setup(&h);
        ASSERT_API(netns_lab_create(h.root, "lab1", &o, NULL, msg));
        a = ns_new(&h);
        attach(&h, "lab1", "ana", a, NULL);
        ASSERT_TRUE(ping_from(&h, a, INTERNET, POSITIVE_MS));
        l = tcp_listen(&h, h.outside_fd, INTERNET, 8000);
        ASSERT_TRUE(tcp_exchange(&h, a, NULL, INTERNET, 8000, l, POSITIVE_MS, peer));
        ASSERT_STREQ(peer, HOST_UPLINK);
        close(l);
        /* Still no way into the host's other addresses. */
        ASSERT_FALSE(ping_from(&h, a, HOST_UPLINK, NEGATIVE_MS));
}

TEST(exam_mode_blocks_outbound_but_not_the_teacher) {
        Host h;
        NetnsLabOptions o = { .mode = NETNS_MODE_NAT, .teachers = teachers_gw_and_outside };
        _cleanup_close_ int l = -EBADF, lt = -EBADF, lin = -EBADF;
        int a, b, open_conn;
        char peer[64];

        host_setup(&h);
        outside_setup(&h);
        ASSERT_API(netns_lab_create(h.root, "lab1", &o, NULL, msg));
        a = ns_new(&h);
        b = ns_new(&h);
        attach(&h, "lab1", "ana", a, NULL);
        attach(&h, "lab1", "bob", b, NULL);
        l = tcp_listen(&h, h.outside_fd, INTERNET, 8000);
        lt = tcp_listen(&h, h.outside_fd, TEACHER, 8001);
        ASSERT_TRUE(ping_from(&h, a, INTERNET, POSITIVE_MS));

        /* A connection opened before the switch ... */
        {
                struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(8000) };
                inet_pton(AF_INET, INTERNET, &sa.sin_addr);
                open_conn = socket_in(&h, a, AF_INET, SOCK_STREAM, 0);
                ASSERT_OK(connect(open_conn, (struct sockaddr *) &sa, sizeof sa));
        }

        ASSERT_API(netns_lab_set_mode(h.root, "lab1", NETNS_MODE_EXAM, msg));
        ASSERT_FALSE(ping_from(&h, a, INTERNET, NEGATIVE_MS));
        ASSERT_FALSE(tcp_exchange(&h, a, NULL, INTERNET, 8000, l, NEGATIVE_MS, NULL));
        ASSERT_TRUE(ping_from(&h, a, TEACHER, POSITIVE_MS));
        ASSERT_TRUE(tcp_exchange(&h, a, NULL, TEACHER, 8001, lt, POSITIVE_MS, peer));
        ASSERT_TRUE(ping_from(&h, a, "10.77.0.1", POSITIVE_MS)); /* the gateway is a teacher address here */
        /* Classmates are cut off from each other (isolated bridge ports). */
        ASSERT_FALSE(ping_from(&h, a, "10.77.0.3", NEGATIVE_MS));
        ASSERT_FALSE(ping_from(&h, b, "fd61:756c:6100::2", NEGATIVE_MS));
        /* ... is cut too: its data no longer gets through. */
        {
                _cleanup_close_ int acc = -EBADF;
                char buf[8];
                struct pollfd p = { .fd = l, .events = POLLIN };
                ASSERT_TRUE(poll(&p, 1, POSITIVE_MS) == 1);
                acc = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                ASSERT_OK(acc);
                ASSERT_EQ(write(open_conn, "leak", 4), 4);
                p = (struct pollfd){ .fd = acc, .events = POLLIN };
                ASSERT_EQ(poll(&p, 1, NEGATIVE_MS), 0);
                ASSERT_TRUE(read(acc, buf, sizeof buf) < 0);
        }
        /* The teacher can still open connections to instances. */
        {
                _cleanup_(nl_closep) NlSock *nl = NULL;
                NAddr gw;
                int up1;
                ASSERT_OK(nl_open(h.outside_fd, &nl));
                ASSERT_OK(nl_link_index(nl, "up1", &up1));
                ASSERT_OK(naddr_parse(HOST_UPLINK, AF_INET, &gw));
                ASSERT_OK(nl_route_add_default(nl, up1, &gw, NULL));
        }
        lin = tcp_listen(&h, a, NULL, 9000);
        ASSERT_TRUE(tcp_exchange(&h, h.outside_fd, TEACHER, "10.77.0.2", 9000, lin, POSITIVE_MS, NULL));
        ASSERT_FALSE(tcp_exchange(&h, h.outside_fd, INTERNET, "10.77.0.2", 9000, lin, NEGATIVE_MS, NULL));

        ASSERT_API(netns_lab_set_mode(h.root, "lab1", NETNS_MODE_NAT, msg));
        ASSERT_TRUE(ping_from(&h, a, INTERNET, POSITIVE_MS));
        ASSERT_TRUE(ping_from(&h, a, "10.77.0.3", POSITIVE_MS));
        close(open_conn);
}

TEST(port_forward_reaches_an_instance) {
        Host h;
        NetnsLabOptions o = { .mode = NETNS_MODE_ISOLATED };
        NetnsPortForward f = { .proto = NETNS_PROTO_TCP, .host_port = 8080, .port = 80 };
        NetnsAttachOptions ao = { .forwards = &f, .n_forwards = 1 };
        _cleanup_free_ char *m = NULL;
        int a, b, l;

        host_setup(&h);
        outside_setup(&h);
        ASSERT_API(netns_lab_create(h.root, "lab1", &o, NULL, msg));
        a = ns_new(&h);
        b = ns_new(&h);
        ASSERT_API(netns_attach(h.root, "lab1", "web", a, &ao, NULL, msg));
        attach(&h, "lab1", "client", b, NULL);
        l = tcp_listen(&h, a, NULL, 80);
        /* From another machine, to the host's address. */
        ASSERT_TRUE(tcp_exchange(&h, h.outside_fd, NULL, HOST_UPLINK, 8080, l, POSITIVE_MS, NULL));
        /* From the host itself. */
        ASSERT_TRUE(tcp_exchange(&h, h.host_fd, NULL, HOST_UPLINK, 8080, l, POSITIVE_MS, NULL));
        /* From a classmate, through the host (hairpin). */
        ASSERT_TRUE(tcp_exchange(&h, b, NULL, "10.77.0.1", 8080, l, POSITIVE_MS, NULL));
        /* A second forward to the same port is refused; another port is fine. */
        ASSERT_ERROR(netns_forward_add(h.root, "lab1", "client", &f, &m), EADDRINUSE);
        ASSERT_STRCONTAINS(m, "tcp port 8080 is already forwarded to lab1/web");
        f.host_port = 8081;
        ASSERT_API(netns_forward_add(h.root, "lab1", "web", &f, msg));
        ASSERT_TRUE(tcp_exchange(&h, h.outside_fd, NULL, HOST_UPLINK, 8081, l, POSITIVE_MS, NULL));
        ASSERT_API(netns_forward_remove(h.root, "lab1", "web", &f, msg));
        ASSERT_FALSE(tcp_exchange(&h, h.outside_fd, NULL, HOST_UPLINK, 8081, l, NEGATIVE_MS, NULL));
        /* Exam mode: only teachers may use forwards. */
        ASSERT_API(netns_lab_set_mode(h.root, "lab1", NETNS_MODE_EXAM, msg));
        ASSERT_FALSE(tcp_exchange(&h, h.outside_fd, INTERNET, HOST_UPLINK, 8080, l, NEGATIVE_MS, NULL));
        close(l);
}

TEST(instance_link_has_lab_mtu_mac_and_routes) {
        Host h;
        NetnsLabOptions o = { .mtu = 1400 };
        _cleanup_(netns_attachment_freep) NetnsAttachment *att = NULL;
        NetnsAttachOptions ao = { .ifname = "lab0", .ipv4 = "10.77.0.50" };
        struct ifreq ifr = {};
        char mac[18];
        int a, s;

        host_setup(&h);
        ASSERT_API(netns_lab_create(h.root, "lab1", &o, NULL, msg));
        a = ns_new(&h);
        ASSERT_API(netns_attach(h.root, "lab1", "ana", a, &ao, &att, msg));
        ASSERT_STREQ(netns_attachment_ipv4(att), "10.77.0.50");
        ASSERT_STREQ(netns_attachment_ipv6(att), "fd61:756c:6100::32");
        s = socket_in(&h, a, AF_INET, SOCK_DGRAM, 0);
        strcpy(ifr.ifr_name, "lab0");
        ASSERT_OK(ioctl(s, SIOCGIFMTU, &ifr));
        ASSERT_EQ(ifr.ifr_mtu, 1400);
        ASSERT_OK(ioctl(s, SIOCGIFHWADDR, &ifr));
        netns_mac_to_string((uint8_t *) ifr.ifr_hwaddr.sa_data, mac);
        ASSERT_STREQ(mac, netns_attachment_mac(att));
        ASSERT_OK(ioctl(s, SIOCGIFFLAGS, &ifr));
        ASSERT_TRUE(ifr.ifr_flags & IFF_UP);
        strcpy(ifr.ifr_name, "lo");
        ASSERT_OK(ioctl(s, SIOCGIFFLAGS, &ifr));
        ASSERT_TRUE(ifr.ifr_flags & IFF_UP);
        close(s);
        ASSERT_TRUE(ping_from(&h, a, "10.77.0.1", POSITIVE_MS));
        ASSERT_TRUE(ping_from(&h, a, "fd61:756c:6100::1", POSITIVE_MS));
}
