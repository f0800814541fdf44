/* SPDX-License-Identifier: Apache-2.0 */
/* Conversions between runtime-spec units and cgroup v2 knobs, and the stat file parsers. */
#include "cg-internal.h"
#include "tap.h"

TEST(cpu_shares_to_weight) {
        /* runc: 1 + ((shares - 2) * 9999) / 262142 */
        ASSERT_EQ(cg_cpu_shares_to_weight(0), 0u);
        ASSERT_EQ(cg_cpu_shares_to_weight(2), 1u);
        ASSERT_EQ(cg_cpu_shares_to_weight(1024), 39u);
        ASSERT_EQ(cg_cpu_shares_to_weight(512), 20u);
        ASSERT_EQ(cg_cpu_shares_to_weight(262144), 10000u);
        /* out of range: clamped to the v1 range first */
        ASSERT_EQ(cg_cpu_shares_to_weight(1), 1u);
        ASSERT_EQ(cg_cpu_shares_to_weight(1000000), 10000u);
        ASSERT_EQ(cg_cpu_shares_to_weight(UINT64_MAX), 10000u);
}

TEST(blkio_weight_to_io_weight) {
        ASSERT_EQ(cg_blkio_weight_to_io_weight(0), 0u);
        ASSERT_EQ(cg_blkio_weight_to_io_weight(10), 1u);
        ASSERT_EQ(cg_blkio_weight_to_io_weight(500), 4950u);
        ASSERT_EQ(cg_blkio_weight_to_io_weight(1000), 10000u);
        ASSERT_EQ(cg_blkio_weight_to_io_weight(5), 1u);
        ASSERT_EQ(cg_blkio_weight_to_io_weight(5000), 10000u);
}

TEST(swap_conversion) {
        int64_t v;
        bool set;

        ASSERT_OK(cg_memory_swap_to_v2(INT64_C(2) << 30, true, 1 << 30, &v, &set));
        ASSERT_TRUE(set);
        ASSERT_EQ(v, (int64_t) 1 << 30);
        ASSERT_OK(cg_memory_swap_to_v2(1 << 30, true, 1 << 30, &v, &set)); /* no swap at all */
        ASSERT_TRUE(set);
        ASSERT_EQ(v, 0);
        ASSERT_OK(cg_memory_swap_to_v2(-1, true, 1 << 30, &v, &set));
        ASSERT_TRUE(set);
        ASSERT_EQ(v, -1);
        ASSERT_OK(cg_memory_swap_to_v2(-1, false, 0, &v, &set));
        ASSERT_EQ(v, -1);
        ASSERT_OK(cg_memory_swap_to_v2(0, true, 1 << 30, &v, &set)); /* 0 = unset */
        ASSERT_FALSE(set);
        ASSERT_OK(cg_memory_swap_to_v2(0, true, -1, &v, &set)); /* unlimited memory: unlimited swap */
        ASSERT_TRUE(set);
        ASSERT_EQ(v, -1);
        ASSERT_ERROR(cg_memory_swap_to_v2(1 << 30, true, INT64_C(2) << 30, &v, &set),
                     EINVAL); /* swap < memory */
        ASSERT_ERROR(cg_memory_swap_to_v2(1 << 30, false, 0, &v, &set), EINVAL); /* no memory limit */
        ASSERT_ERROR(cg_memory_swap_to_v2(1 << 30, true, -1, &v, &set), EINVAL);
        ASSERT_ERROR(cg_memory_swap_to_v2(-2, true, 1 << 30, &v, &set), EINVAL);
}

TEST(format_and_parse_max) {
        char buf[24];
        uint64_t v;

        ASSERT_STREQ(cg_format_max(-1, buf, sizeof buf), "max");
        ASSERT_STREQ(cg_format_max(0, buf, sizeof buf), "0");
        ASSERT_STREQ(cg_format_max(INT64_MAX, buf, sizeof buf), "9223372036854775807");
        ASSERT_OK(cg_parse_max("max", &v));
        ASSERT_EQ(v, UINT64_MAX);
        ASSERT_OK(cg_parse_max("4096", &v));
        ASSERT_EQ(v, 4096u);
        ASSERT_TRUE(cg_parse_max("", &v) < 0);
        ASSERT_TRUE(cg_parse_max("12x", &v) < 0);
        ASSERT_TRUE(cg_parse_max("-5", &v) < 0);
        ASSERT_TRUE(cg_parse_max("maximum", &v) < 0);
}

static const char memory_stat[] = "anon 1048576\n"
                                  "file 2097152\n"
                                  "kernel 40960\n"
                                  "anon_thp 0\n"
                                  "workingset_refault_anon 0\n";

TEST(parse_memory_stat) {
        uint64_t v;

        ASSERT_OK(cg_parse_keyed(memory_stat, "anon", &v));
        ASSERT_EQ(v, 1048576u);
        ASSERT_OK(cg_parse_keyed(memory_stat, "file", &v));
        ASSERT_EQ(v, 2097152u);
        ASSERT_OK(cg_parse_keyed(memory_stat, "anon_thp", &v)); /* not confused with "anon" */
        ASSERT_EQ(v, 0u);
        ASSERT_ERROR(cg_parse_keyed(memory_stat, "shmem", &v), ENOENT);
        ASSERT_ERROR(cg_parse_keyed(memory_stat, "", &v), EINVAL);
        ASSERT_ERROR(cg_parse_keyed("", "anon", &v), ENOENT);
}

TEST(parse_keyed_malformed) {
        uint64_t v = 7;

        ASSERT_ERROR(cg_parse_keyed("anon abc\n", "anon", &v), EINVAL);
        ASSERT_ERROR(cg_parse_keyed("anon \n", "anon", &v), EINVAL);
        ASSERT_ERROR(cg_parse_keyed("anon -1\n", "anon", &v), EINVAL);
        ASSERT_ERROR(cg_parse_keyed("anon 1 2\n", "anon", &v), EINVAL);
        ASSERT_ERROR(cg_parse_keyed("anon 99999999999999999999999\n", "anon", &v), EINVAL);
        ASSERT_ERROR(cg_parse_keyed("anon", "anon", &v), ENOENT); /* no value at all */
        ASSERT_EQ(v, 7u); /* untouched on failure */
        /* a malformed line elsewhere does not matter */
        ASSERT_OK(cg_parse_keyed("junk\n\nx y z\nanon 5", "anon", &v));
        ASSERT_EQ(v, 5u);
}

TEST(parse_cpu_stat_and_events) {
        const char cpu_stat[] = "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n"
                                "nr_periods 10\nnr_throttled 4\nthrottled_usec 80000\n";
        const char events[] = "low 0\nhigh 0\nmax 17\noom 2\noom_kill 1\noom_group_kill 0\n";
        uint64_t v;

        ASSERT_OK(cg_parse_keyed(cpu_stat, "throttled_usec", &v));
        ASSERT_EQ(v, 80000u);
        ASSERT_OK(cg_parse_keyed(cpu_stat, "nr_throttled", &v));
        ASSERT_EQ(v, 4u);
        ASSERT_OK(cg_parse_keyed(events, "oom_kill", &v));
        ASSERT_EQ(v, 1u);
        ASSERT_OK(cg_parse_keyed(events, "oom", &v));
        ASSERT_EQ(v, 2u);
        ASSERT_OK(cg_parse_keyed(events, "max", &v));
        ASSERT_EQ(v, 17u);
}

TEST(parse_io_stat) {
        uint64_t rb = 1, wb = 1, ri = 1, wi = 1;

        ASSERT_OK(cg_parse_io_stat(
                        "8:0 rbytes=1024 wbytes=2048 rios=3 wios=4 dbytes=0 dios=0\n"
                        "253:1 rbytes=1 wbytes=2 rios=5 wios=6 dbytes=9 dios=9\n",
                        &rb, &wb, &ri, &wi));
        ASSERT_EQ(rb, 1025u);
        ASSERT_EQ(wb, 2050u);
        ASSERT_EQ(ri, 8u);
        ASSERT_EQ(wi, 10u);
        ASSERT_OK(cg_parse_io_stat("", &rb, &wb, &ri, &wi));
        ASSERT_EQ(rb, 0u);
        /* unknown keys are fine, future kernels add some */
        ASSERT_OK(cg_parse_io_stat("8:0 rbytes=5 cost.vrate=1\n", &rb, &wb, &ri, &wi));
        ASSERT_EQ(rb, 5u);
}

TEST(parse_io_stat_malformed) {
        uint64_t rb = 9, wb = 9, ri = 9, wi = 9;

        ASSERT_ERROR(cg_parse_io_stat("rbytes=5\n", &rb, &wb, &ri, &wi), EINVAL);
        ASSERT_ERROR(cg_parse_io_stat("8: rbytes=5\n", &rb, &wb, &ri, &wi), EINVAL);
        ASSERT_ERROR(cg_parse_io_stat("8:0 rbytes\n", &rb, &wb, &ri, &wi), EINVAL);
        ASSERT_ERROR(cg_parse_io_stat("8:0 rbytes=x\n", &rb, &wb, &ri, &wi), EINVAL);
        ASSERT_ERROR(cg_parse_io_stat("8:0 =5\n", &rb, &wb, &ri, &wi), EINVAL);
        ASSERT_ERROR(cg_parse_io_stat("8:0 rbytes=18446744073709551615\n8:1 rbytes=1\n", &rb, &wb, &ri, &wi),
                     ERANGE);
        ASSERT_EQ(rb, 9u);
}

TEST(parse_blkio_stat) {
        uint64_t r = 0, w = 0;

        ASSERT_OK(cg_parse_blkio_stat(
                        "8:0 Read 100\n8:0 Write 50\n8:0 Sync 150\n8:0 Async 0\n"
                        "8:0 Discard 0\n8:0 Total 150\n8:16 Read 1\n8:16 Write 2\nTotal 153\n",
                        &r, &w));
        ASSERT_EQ(r, 101u);
        ASSERT_EQ(w, 52u);
        ASSERT_OK(cg_parse_blkio_stat("Total 0\n", &r, &w));
        ASSERT_EQ(r, 0u);
        ASSERT_ERROR(cg_parse_blkio_stat("8:0 Read\n", &r, &w), EINVAL);
        ASSERT_ERROR(cg_parse_blkio_stat("8:0 Read x\n", &r, &w), EINVAL);
        ASSERT_ERROR(cg_parse_blkio_stat("sda Read 5\n", &r, &w), EINVAL);
}

TEST(parse_psi) {
        double avg;
        uint64_t total;

        ASSERT_OK(
                        cg_parse_psi("some avg10=1.21 avg60=0.73 avg300=0.35 total=8840979\n"
                                     "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
                                     &avg, &total));
        ASSERT_TRUE(avg > 1.2099 && avg < 1.2101);
        ASSERT_EQ(total, 8840979u);
        /* cpu.pressure of older kernels has no "full" line */
        ASSERT_OK(cg_parse_psi("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", &avg, &total));
        ASSERT_EQ(total, 0u);
}

TEST(parse_psi_malformed) {
        double avg = 5;
        uint64_t total = 5;

        ASSERT_ERROR(cg_parse_psi("", &avg, &total), EINVAL);
        ASSERT_ERROR(cg_parse_psi("full avg10=0.00 total=1\n", &avg, &total), EINVAL);
        ASSERT_ERROR(cg_parse_psi("some avg10=0.00\n", &avg, &total), EINVAL);
        ASSERT_ERROR(cg_parse_psi("some total=1\n", &avg, &total), EINVAL);
        ASSERT_ERROR(cg_parse_psi("some avg10=abc total=1\n", &avg, &total), EINVAL);
        ASSERT_ERROR(cg_parse_psi("some avg10=1.2.3 total=1\n", &avg, &total), EINVAL);
        ASSERT_ERROR(cg_parse_psi("some avg10=. total=1\n", &avg, &total), EINVAL);
        ASSERT_ERROR(cg_parse_psi("some avg10=1.0 total=-1\n", &avg, &total), EINVAL);
        ASSERT_ERROR(cg_parse_psi("some avg10 total\n", &avg, &total), EINVAL);
        ASSERT_TRUE(avg == 5 && total == 5u);
}

TEST(unified_keys) {
        ASSERT_OK(cg_unified_key_valid("memory.high"));
        ASSERT_OK(cg_unified_key_valid("cpu.weight.nice"));
        ASSERT_OK(cg_unified_key_valid("hugetlb.2MB.max"));
        ASSERT_OK(cg_unified_key_valid("cgroup.max.descendants"));
        ASSERT_ERROR(cg_unified_key_valid(""), EINVAL);
        ASSERT_ERROR(cg_unified_key_valid(NULL), EINVAL);
        ASSERT_ERROR(cg_unified_key_valid("memory"), EINVAL);
        ASSERT_ERROR(cg_unified_key_valid(".memory"), EINVAL);
        ASSERT_ERROR(cg_unified_key_valid("memory."), EINVAL);
        ASSERT_ERROR(cg_unified_key_valid("../memory.max"), EINVAL);
        ASSERT_ERROR(cg_unified_key_valid("sub/memory.max"), EINVAL);
        ASSERT_ERROR(cg_unified_key_valid("memory..max"), EINVAL);
        ASSERT_ERROR(cg_unified_key_valid("memory.max\n"), EINVAL);
        ASSERT_ERROR(cg_unified_key_valid("memory max"), EINVAL);
        ASSERT_ERROR(cg_unified_key_valid("cgroup.procs"), EPERM);
        ASSERT_ERROR(cg_unified_key_valid("cgroup.kill"), EPERM);
        ASSERT_ERROR(cg_unified_key_valid("cgroup.freeze"), EPERM);
        char longkey[300];
        memset(longkey, 'a', sizeof longkey - 1);
        longkey[3] = '.';
        longkey[sizeof longkey - 1] = 0;
        ASSERT_ERROR(cg_unified_key_valid(longkey), EINVAL);
        ASSERT_TRUE(cg_value_valid("1G"));
        ASSERT_FALSE(cg_value_valid("1G\nmax"));
        ASSERT_FALSE(cg_value_valid(NULL));
}

TEST(device_rule_validation) {
        CgDeviceRule ok = { .allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm" };
        CgDeviceRule r;

        ASSERT_OK(cg_device_rule_valid(&ok));
        r = ok;
        r.type = 'x';
        ASSERT_ERROR(cg_device_rule_valid(&r), EINVAL);
        r = ok;
        r.type = 0;
        ASSERT_ERROR(cg_device_rule_valid(&r), EINVAL);
        r = ok;
        memcpy(r.access, "rx", 3);
        ASSERT_ERROR(cg_device_rule_valid(&r), EINVAL);
        r = ok;
        r.access[0] = 0;
        ASSERT_ERROR(cg_device_rule_valid(&r), EINVAL);
        r = ok;
        memcpy(r.access, "rwmr", 4); /* not NUL-terminated within 4 bytes */
        ASSERT_ERROR(cg_device_rule_valid(&r), EINVAL);
        r = ok;
        r.major = -2;
        ASSERT_ERROR(cg_device_rule_valid(&r), EINVAL);
        r = ok;
        r.minor = (int64_t) UINT32_MAX + 1;
        ASSERT_ERROR(cg_device_rule_valid(&r), EINVAL);
        r = ok;
        r.major = r.minor = -1;
        ASSERT_OK(cg_device_rule_valid(&r));
}

TEST(device_decisions) {
        /* the runtime-spec default: deny everything, then allow a few */
        CgDeviceRule rules[] = {
                { .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
                { .allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm" },
                { .allow = true, .type = 'c', .major = 1, .minor = 5, .access = "r" },
                { .allow = true, .type = 'c', .major = 1, .minor = 5, .access = "w" },
                { .allow = false, .type = 'c', .major = 1, .minor = 5, .access = "w" },
                { .allow = true, .type = 'c', .major = 136, .minor = -1, .access = "rw" },
        };
        const unsigned R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;

        ASSERT_EQ(cg_devices_decide(rules, 6, 'c', 1, 3, R | W | M), 1);
        ASSERT_EQ(cg_devices_decide(rules, 6, 'b', 1, 3, R), 0);
        ASSERT_EQ(cg_devices_decide(rules, 6, 'c', 1, 5, R), 1);
        ASSERT_EQ(cg_devices_decide(rules, 6, 'c', 1, 5, W), 0); /* the later deny wins */
        ASSERT_EQ(cg_devices_decide(rules, 6, 'c', 1, 5, R | W), 0);
        ASSERT_EQ(cg_devices_decide(rules, 6, 'c', 136, 7, R | W), 1);
        ASSERT_EQ(cg_devices_decide(rules, 6, 'c', 136, 7, M), 0);
        ASSERT_EQ(cg_devices_decide(rules, 6, 'b', 8, 0, R), 0);
        ASSERT_EQ(cg_devices_decide(NULL, 0, 'b', 8, 0, R), 0); /* no rules: nothing allowed */
}
