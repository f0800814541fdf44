/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A lab state as lab_from_json() reads it, for tests that need a NetnsLab without a kernel. */

#include "netns-internal.h"
#include "tap.h"

#define LAB_JSON(mode, leases, forwards) \
        "{\"version\":1,\"name\":\"lab1\",\"mode\":\"" mode "\",\"subnet\":\"10.77.0.0/24\"," \
        "\"subnet6\":\"fd61:756c:6100::/64\",\"mtu\":1500," \
        "\"teachers\":[\"10.77.0.1/32\",\"198.51.100.10\"],\"dns\":[\"192.0.2.53\"]," \
        "\"leases\":[" leases "],\"forwards\":[" forwards "]}"

#define LEASE_ANA \
        "{\"instance\":\"ana\",\"link\":\"auv-b1ca5b0b8d\",\"ifname\":\"eth0\",\"tap\":false," \
        "\"mac\":\"2e:41:36:1f:89:98\",\"ipv4\":\"10.77.0.2\",\"ipv6\":\"fd61:756c:6100::2\"}"
#define LEASE_BOB_TAP \
        "{\"instance\":\"bob\",\"link\":\"aut-b1d8e17ffc\",\"ifname\":null,\"tap\":true," \
        "\"mac\":\"66:b7:d4:3a:00:8f\",\"ipv4\":\"10.77.0.3\",\"ipv6\":\"fd61:756c:6100::3\"}"
#define FWD_ANA "{\"instance\":\"ana\",\"proto\":\"tcp\",\"host_addr\":null,\"host_port\":8080,\"port\":80}"

static inline NetnsLab *lab_fixture(const char *json) {
        _cleanup_free_ char *msg = NULL;
        NetnsLab *lab = NULL;
        if (lab_from_json(json, strlen(json), &lab, &msg) < 0)
                tap_fail(__FILE__, __LINE__, "fixture: %s", msg ?: "?");
        return lab;
}
