/* SPDX-License-Identifier: Apache-2.0 */
#include "netns.h"
#include "tap.h"

/* Argument checking of the public API: all of it happens before any kernel access, so no root is needed. */

static const char *root = "/nonexistent/aula-test-netns";

#define ASSERT_FAILS(expr, err, needle) \
        do { \
                _cleanup_free_ char *msg = NULL; \
                ASSERT_ERROR(expr, err); \
                ASSERT_STRCONTAINS(msg, needle); \
        } while (0)

TEST(lab_create_rejects_bad_options) {
        NetnsLabOptions o = {};

        ASSERT_FAILS(netns_lab_create(root, "bad/name", NULL, NULL, &msg), EINVAL,
                     "invalid lab name 'bad/name'");
        ASSERT_FAILS(netns_lab_create(root, "", NULL, NULL, &msg), EINVAL, "invalid lab name");
        o.subnet = "10.0.0.0/33";
        ASSERT_FAILS(netns_lab_create(root, "l", &o, NULL, &msg), EINVAL,
                     "subnet: '10.0.0.0/33': bad prefix length");
        o.subnet = "10.0.0.1/24";
        ASSERT_FAILS(netns_lab_create(root, "l", &o, NULL, &msg), EINVAL, "did you mean 10.0.0.0/24?");
        o.subnet = "10.0.0.0/31";
        ASSERT_FAILS(netns_lab_create(root, "l", &o, NULL, &msg), EINVAL, "prefix length must be 8..30");
        o.subnet = "banana";
        ASSERT_FAILS(netns_lab_create(root, "l", &o, NULL, &msg), EINVAL, "not a CIDR");
        o = (NetnsLabOptions){ .pool = "10.0.0.0/16", .prefixlen = 12 };
        ASSERT_FAILS(netns_lab_create(root, "l", &o, NULL, &msg), EINVAL, "larger than the pool");
        o = (NetnsLabOptions){ .pool6 = "fd00::/80" };
        ASSERT_FAILS(netns_lab_create(root, "l", &o, NULL, &msg), EINVAL, "pool6");
        o = (NetnsLabOptions){ .mtu = 1000 };
        ASSERT_FAILS(netns_lab_create(root, "l", &o, NULL, &msg), EINVAL, "mtu: 1000: must be 1280..65535");
        o = (NetnsLabOptions){ .mode = (NetnsMode) 9 };
        ASSERT_FAILS(netns_lab_create(root, "l", &o, NULL, &msg), EINVAL, "unknown mode");
        char *bad_teachers[] = { (char *) "10.0.0.0/24", (char *) "300.1.1.1", NULL };
        o = (NetnsLabOptions){ .teachers = bad_teachers };
        ASSERT_FAILS(netns_lab_create(root, "l", &o, NULL, &msg), EINVAL, "teachers[1]");
        char *bad_dns[] = { (char *) "dns.example", NULL };
        o = (NetnsLabOptions){ .dns = bad_dns };
        ASSERT_FAILS(netns_lab_create(root, "l", &o, NULL, &msg), EINVAL,
                     "dns[0]: 'dns.example' is not an IP address");
}

TEST(instance_calls_reject_bad_arguments) {
        NetnsAttachOptions o = { .ifname = "bad/if" };
        NetnsPortForward f = { .proto = NETNS_PROTO_TCP, .host_port = 80, .port = 80 };

        ASSERT_FAILS(netns_attach(root, "lab", "a b", 0, NULL, NULL, &msg), EINVAL,
                     "invalid instance name 'a b'");
        ASSERT_FAILS(netns_attach(root, "la/b", "a", 0, NULL, NULL, &msg), EINVAL, "invalid lab name");
        ASSERT_FAILS(netns_attach(root, "lab", "a", 0, &o, NULL, &msg), EINVAL,
                     "invalid interface name 'bad/if'");
        o.ifname = "averyveryverylongname";
        ASSERT_FAILS(netns_attach(root, "lab", "a", 0, &o, NULL, &msg), EINVAL, "invalid interface name");
        ASSERT_FAILS(netns_attach(root, "lab", "a", -1, NULL, NULL, &msg), EINVAL, "no network namespace fd");
        ASSERT_FAILS(netns_detach(root, "lab", "", &msg), EINVAL, "invalid instance name");
        ASSERT_FAILS(netns_forward_add(root, "lab", "..", &f, &msg), EINVAL, "invalid instance name");
        ASSERT_FAILS(netns_lab_set_mode(root, "lab", (NetnsMode) 5, &msg), EINVAL, "unknown mode");
        ASSERT_FAILS(netns_lab_delete(root, "", &msg), EINVAL, "invalid lab name");
        /* A missing data root reads as "no such lab". */
        ASSERT_FAILS(netns_attach(root, "lab", "a", 0, NULL, NULL, &msg), ENOENT, "no lab 'lab'");
        ASSERT_FAILS(netns_detach(root, "lab", "a", &msg), ENOENT, "no lab 'lab'");
        ASSERT_FAILS(netns_lab_delete(root, "lab", &msg), ENOENT, "no lab 'lab'");
        ASSERT_FAILS(netns_lab_load(root, "lab", NULL, &msg), ENOENT, "no lab 'lab'");
}
