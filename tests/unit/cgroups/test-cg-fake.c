/* SPDX-License-Identifier: Apache-2.0 */
/* Both backends against fake trees: what apply writes, what stats read, what a layout refuses. */
#include <signal.h>

#include "fake-tree.h"

static CgManager *v2_setup(FakeTree *t, char **ret_dir) {
        CgManager *m = NULL;
        fake_tree_init(t);
        fake_write(t->root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n");
        fake_write(t->root, "cgroup.subtree_control", "");
        ASSERT_OK(cg_manager_new("/aula/ana", &m));
        ASSERT_OK(cg_manager_create(m));
        *ret_dir = path_join(t->root, "aula/ana");
        fake_v2_knobs(*ret_dir);
        return m;
}

static CgDeviceValue dv(int64_t major, int64_t minor, uint64_t value) {
        return (CgDeviceValue){ .major = major, .minor = minor, .value = value };
}

TEST(v2_apply_full_set) {
        _cleanup_free_ char *d = NULL;
        FakeTree t;
        CgManager *m = v2_setup(&t, &d);
        CgDeviceValue wd[] = { dv(8, 0, 500) }, rbps[] = { dv(8, 0, 1048576) }, wiops[] = { dv(8, 16, 0) };
        CgHugetlb huge[] = { { .page_size = (char *) "2MB", .limit = 4194304 } };
        CgKeyValue uni[] = { { .key = (char *) "memory.high", .value = (char *) "100M" } };
        CgKeyValue rdma[] = { { .key = (char *) "mlx4_0", .value = (char *) "hca_handle=2 hca_object=100" } };
        CgResources r = {
                .memory_limit = { true, 256 << 20 },
                .memory_reservation = { true, 128 << 20 },
                .memory_swap = { true, 512 << 20 },
                .memory_swappiness = { true, 10 }, /* no v2 knob: ignored, as by runc */
                .cpu_shares = { true, 1024 },
                .cpu_quota = { true, 50000 },
                .cpu_period = { true, 200000 },
                .cpu_burst = { true, 1000 },
                .cpu_idle = { true, 1 },
                .cpuset_cpus = (char *) "0-1",
                .cpuset_mems = (char *) "0",
                .pids_limit = { true, 64 },
                .blkio_weight = { true, 500 },
                .blkio_weight_device = wd,
                .n_blkio_weight_device = 1,
                .throttle_read_bps = rbps,
                .n_throttle_read_bps = 1,
                .throttle_write_iops = wiops,
                .n_throttle_write_iops = 1,
                .hugetlb = huge,
                .n_hugetlb = 1,
                .rdma = rdma,
                .n_rdma = 1,
                .unified = uni,
                .n_unified = 1,
        };

        ASSERT_OK(cg_manager_apply(m, &r));
        ASSERT_STREQ(fake_read(d, "memory.max"), "268435456");
        ASSERT_STREQ(fake_read(d, "memory.low"), "134217728");
        ASSERT_STREQ(fake_read(d, "memory.swap.max"), "268435456"); /* swap - limit */
        ASSERT_STREQ(fake_read(d, "cpu.weight"), "39");
        ASSERT_STREQ(fake_read(d, "cpu.max"), "50000 200000");
        ASSERT_STREQ(fake_read(d, "cpu.max.burst"), "1000");
        ASSERT_STREQ(fake_read(d, "cpu.idle"), "1");
        ASSERT_STREQ(fake_read(d, "cpuset.cpus"), "0-1");
        ASSERT_STREQ(fake_read(d, "cpuset.mems"), "0");
        ASSERT_STREQ(fake_read(d, "pids.max"), "64");
        /* a plain file keeps the last write: the per-device weight after the default one */
        ASSERT_STREQ(fake_read(d, "io.weight"), "8:0 4950");
        ASSERT_STREQ(fake_read(d, "io.max"), "8:16 wiops=max"); /* a 0 rate removes the limit */
        ASSERT_STREQ(fake_read(d, "hugetlb.2MB.max"), "4194304");
        ASSERT_STREQ(fake_read(d, "rdma.max"), "mlx4_0 hca_handle=2 hca_object=100");
        ASSERT_STREQ(fake_read(d, "memory.high"), "100M");
        ASSERT_NULL(cg_manager_error(m));
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(v2_update_keeps_other_half_of_cpu_max) {
        _cleanup_free_ char *d = NULL;
        FakeTree t;
        CgManager *m = v2_setup(&t, &d);
        CgResources r = { .cpu_quota = { true, 20000 } };

        fake_write(d, "cpu.max", "max 50000");
        ASSERT_OK(cg_manager_apply(m, &r));
        ASSERT_STREQ(fake_read(d, "cpu.max"), "20000 50000");
        r = (CgResources){ .cpu_period = { true, 100000 } };
        ASSERT_OK(cg_manager_apply(m, &r));
        ASSERT_STREQ(fake_read(d, "cpu.max"), "20000 100000");
        r = (CgResources){ .cpu_quota = { true, -1 } };
        ASSERT_OK(cg_manager_apply(m, &r));
        ASSERT_STREQ(fake_read(d, "cpu.max"), "max 100000");
        /* unlimited memory and pids */
        r = (CgResources){ .memory_limit = { true, -1 }, .pids_limit = { true, 0 } };
        fake_write(d, "memory.swap.max", "0");
        ASSERT_OK(cg_manager_apply(m, &r));
        ASSERT_STREQ(fake_read(d, "memory.max"), "max");
        ASSERT_STREQ(fake_read(d, "memory.swap.max"), "max");
        ASSERT_STREQ(fake_read(d, "pids.max"), "max");
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(v2_bfq_weight_takes_blkio_scale) {
        _cleanup_free_ char *d = NULL;
        FakeTree t;
        CgManager *m = v2_setup(&t, &d);
        CgResources r = { .blkio_weight = { true, 500 } };

        fake_write(d, "io.bfq.weight", "default 100");
        ASSERT_OK(cg_manager_apply(m, &r));
        ASSERT_STREQ(fake_read(d, "io.bfq.weight"), "500");
        ASSERT_STREQ(fake_read(d, "io.weight"), "default 100");
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(v2_missing_controller_changes_nothing) {
        _cleanup_free_ char *d = NULL, *p = NULL;
        FakeTree t;
        CgManager *m = v2_setup(&t, &d);
        CgResources r = { .memory_limit = { true, 1 << 30 }, .pids_limit = { true, 10 } };

        p = path_join(d, "pids.max");
        ASSERT_OK(unlink(p)); /* pids not enabled */
        ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP);
        ASSERT_STRCONTAINS(cg_manager_error(m), "pids.max");
        ASSERT_STREQ(fake_read(d, "memory.max"), "max"); /* memory was not touched */
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(v2_bad_input) {
        _cleanup_free_ char *d = NULL;
        FakeTree t;
        CgManager *m = v2_setup(&t, &d);
        CgResources r;
        CgKeyValue uni[] = { { .key = (char *) "../memory.max", .value = (char *) "1" } };
        CgKeyValue uni2[] = { { .key = (char *) "memory.nonexistent", .value = (char *) "1" } };
        CgKeyValue uni3[] = { { .key = (char *) "memory.high", .value = (char *) "1\n2" } };
        CgDeviceRule dev[] = { { .allow = true, .type = 'q', .access = "r" } };
        CgHugetlb huge[] = { { .page_size = (char *) "../x", .limit = 1 } };
        CgHugetlb huge2[] = { { .page_size = (char *) "1GB", .limit = 1 } };

        r = (CgResources){ .memory_swap = { true, 1 << 20 }, .memory_limit = { true, 2 << 20 } };
        ASSERT_ERROR(cg_manager_apply(m, &r), EINVAL);
        ASSERT_STRCONTAINS(cg_manager_error(m), "memory swap");
        r = (CgResources){ .memory_swap = { true, 1 << 20 } };
        ASSERT_ERROR(cg_manager_apply(m, &r), EINVAL);
        r = (CgResources){ .cpu_rt_runtime = { true, 1000 } };
        ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP);
        ASSERT_STRCONTAINS(cg_manager_error(m), "cgroup v1");
        r = (CgResources){ .unified = uni, .n_unified = 1 };
        ASSERT_ERROR(cg_manager_apply(m, &r), EINVAL);
        r = (CgResources){ .unified = uni2, .n_unified = 1 };
        ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP);
        r = (CgResources){ .unified = uni3, .n_unified = 1 };
        ASSERT_ERROR(cg_manager_apply(m, &r), EINVAL);
        r = (CgResources){ .devices = dev, .n_devices = 1, .devices_set = true };
        ASSERT_ERROR(cg_manager_apply(m, &r), EINVAL);
        ASSERT_STRCONTAINS(cg_manager_error(m), "device rule 0");
        r = (CgResources){ .hugetlb = huge, .n_hugetlb = 1 };
        ASSERT_ERROR(cg_manager_apply(m, &r), EINVAL);
        r = (CgResources){ .hugetlb = huge2, .n_hugetlb = 1 };
        ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP); /* no such page size here */
        r = (CgResources){ .memory_swappiness = { true, 101 } };
        ASSERT_ERROR(cg_manager_apply(m, &r), EINVAL);
        r = (CgResources){ .cpuset_cpus = (char *) "0\n1" };
        ASSERT_ERROR(cg_manager_apply(m, &r), EINVAL);
        CgDeviceValue bad[] = { dv(-1, 0, 5) };
        r = (CgResources){ .throttle_read_bps = bad, .n_throttle_read_bps = 1 };
        ASSERT_ERROR(cg_manager_apply(m, &r), EINVAL);
        ASSERT_ERROR(cg_manager_apply(m, NULL), EINVAL);
        /* nothing of the above reached a knob */
        ASSERT_STREQ(fake_read(d, "memory.max"), "max");
        ASSERT_STREQ(fake_read(d, "memory.swap.max"), "max");
        ASSERT_STREQ(fake_read(d, "memory.high"), "max");
        /* devices_set with valid rules compiles (attaching needs a real cgroup2 directory) */
        CgDeviceRule ok[] = { { .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm" } };
        r = (CgResources){ .devices = ok, .n_devices = 1, .devices_set = true };
        ASSERT_OK(cg_manager_apply(m, &r));
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(v2_stats) {
        _cleanup_free_ char *d = NULL;
        FakeTree t;
        CgManager *m = v2_setup(&t, &d);
        CgStats s;

        fake_write(d, "cpu.stat",
                   "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 10\n"
                   "nr_throttled 3\nthrottled_usec 700\n");
        fake_write(d, "memory.current", "1048576\n");
        fake_write(d, "memory.max", "max\n");
        fake_write(d, "memory.swap.current", "4096\n");
        fake_write(d, "memory.stat",
                   "anon 100\nfile 200\nkernel_stack 1\npagetables 2\npercpu 3\nsock 4\nslab 5\n");
        fake_write(d, "memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n");
        fake_write(d, "pids.current", "7\n");
        fake_write(d, "pids.max", "64\n");
        fake_write(d, "io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2\n");
        fake_write(d, "cpu.pressure",
                   "some avg10=2.50 avg60=0 avg300=0 total=99\nfull avg10=0 avg60=0 avg300=0 total=1\n");
        fake_write(d, "memory.pressure", "garbage\n"); /* bad PSI is skipped: pressure is best effort */
        ASSERT_OK(cg_manager_stats(m, &s));
        ASSERT_EQ(s.cpu_usage_usec, 5000u);
        ASSERT_EQ(s.cpu_user_usec, 3000u);
        ASSERT_EQ(s.cpu_nr_throttled, 3u);
        ASSERT_EQ(s.cpu_throttled_usec, 700u);
        ASSERT_EQ(s.memory_current, 1048576u);
        ASSERT_EQ(s.memory_max, UINT64_MAX);
        ASSERT_EQ(s.memory_swap_current, 4096u);
        ASSERT_EQ(s.memory_anon, 100u);
        ASSERT_EQ(s.memory_file, 200u);
        ASSERT_EQ(s.memory_kernel, 15u); /* summed from its parts before Linux 6.x's "kernel" */
        ASSERT_EQ(s.memory_oom, 2u);
        ASSERT_EQ(s.memory_oom_kill, 1u);
        ASSERT_EQ(s.memory_max_events, 9u);
        ASSERT_EQ(s.pids_current, 7u);
        ASSERT_EQ(s.pids_max, 64u);
        ASSERT_EQ(s.io_read_bytes, 10u);
        ASSERT_EQ(s.io_write_ops, 2u);
        ASSERT_TRUE(s.cpu_pressure_avg10 > 2.49 && s.cpu_pressure_avg10 < 2.51);
        ASSERT_EQ(s.cpu_pressure_total, 99u);
        ASSERT_EQ(s.memory_pressure_total, 0u);

        /* malformed stat files are errors, not zeros */
        fake_write(d, "memory.stat", "anon many\n");
        ASSERT_ERROR(cg_manager_stats(m, &s), EINVAL);
        ASSERT_STRCONTAINS(cg_manager_error(m), "memory.stat");
        fake_write(d, "memory.stat", "anon 1\n");
        fake_write(d, "pids.current", "seven\n");
        ASSERT_ERROR(cg_manager_stats(m, &s), EINVAL);
        fake_write(d, "pids.current", "7\n");
        fake_write(d, "io.stat", "8:0 rbytes\n");
        ASSERT_ERROR(cg_manager_stats(m, &s), EINVAL);
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(v2_freeze_pids_kill) {
        _cleanup_free_ char *d = NULL, *sub = NULL;
        FakeTree t;
        CgManager *m = v2_setup(&t, &d);
        pid_t *pids = NULL;
        size_t n = 0;

        ASSERT_EQ(cg_manager_is_frozen(m), 0);
        ASSERT_OK(cg_manager_freeze(m, true));
        ASSERT_STREQ(fake_read(d, "cgroup.freeze"), "1");
        fake_write(d, "cgroup.events", "populated 1\nfrozen 1\n");
        ASSERT_EQ(cg_manager_is_frozen(m), 1);
        ASSERT_OK(cg_manager_freeze(m, false));
        ASSERT_STREQ(fake_read(d, "cgroup.freeze"), "0");

        fake_write(d, "cgroup.procs", "2000000001\n2000000002\n");
        sub = path_join(d, "inner");
        fake_write(sub, "cgroup.procs", "2000000003\n2000000001\n");
        ASSERT_OK(cg_manager_pids(m, &pids, &n));
        ASSERT_EQ(n, 3u); /* recursive, duplicates once */
        ASSERT_EQ(pids[2], 2000000003);
        free(pids);
        /* those pids do not exist: signalling them is fine (ESRCH) */
        ASSERT_OK(cg_manager_kill(m, SIGTERM));
        ASSERT_ERROR(cg_manager_kill(m, -1), EINVAL);
        ASSERT_ERROR(cg_manager_kill(m, 1000), EINVAL);
        fake_write(d, "cgroup.procs", "12ab\n");
        ASSERT_ERROR(cg_manager_pids(m, &pids, &n), EINVAL);
        fake_write(d, "cgroup.procs", "-5\n");
        ASSERT_ERROR(cg_manager_pids(m, &pids, &n), EINVAL);
        fake_write(d, "cgroup.procs", "");

        ASSERT_OK(cg_manager_enter(m, 1234));
        ASSERT_STREQ(fake_read(d, "cgroup.procs"), "1234");
        ASSERT_ERROR(cg_manager_enter(m, -1), EINVAL);
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

/* ------------------------------------------------------------------------- hybrid / legacy */

static const char *const v1_ctrls[] = { "blkio",   "cpu,cpuacct", "cpuset", "devices",
                                        "freezer", "memory",      "pids",   "systemd" };

static CgManager *v1_setup(FakeTree *t, bool hybrid) {
        CgManager *m = NULL;
        fake_tree_init(t);
        for (size_t i = 0; i < ELEMENTSOF(v1_ctrls); i++) {
                _cleanup_free_ char *p = path_join(t->root, v1_ctrls[i]);
                ASSERT_OK(mkdir_p(p, 0755));
        }
        if (hybrid) {
                fake_write(t->root, "unified/cgroup.controllers", "hugetlb\n");
                fake_write(t->root, "unified/cgroup.subtree_control", "");
        }
        ASSERT_OK(cg_manager_new("/aula/ana", &m));
        ASSERT_OK(cg_manager_create(m));
        return m;
}

static char *v1_leaf(FakeTree *t, const char *ctrl) {
        char *p = NULL;
        ASSERT_OK(xasprintf(&p, "%s/%s/aula/ana", t->root, ctrl));
        return p;
}

static void v1_knobs(FakeTree *t) {
        static const char *const knobs[][3] = {
                { "memory", "memory.limit_in_bytes", "9223372036854771712" },
                { "memory", "memory.memsw.limit_in_bytes", "9223372036854771712" },
                { "memory", "memory.soft_limit_in_bytes", "9223372036854771712" },
                { "memory", "memory.swappiness", "60" },
                { "memory", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n" },
                { "cpu,cpuacct", "cpu.shares", "1024" },
                { "cpu,cpuacct", "cpu.cfs_period_us", "100000" },
                { "cpu,cpuacct", "cpu.cfs_quota_us", "-1" },
                { "cpu,cpuacct", "cpu.cfs_burst_us", "0" },
                { "cpu,cpuacct", "cpu.idle", "0" },
                { "cpuset", "cpuset.cpus", "" },
                { "cpuset", "cpuset.mems", "" },
                { "pids", "pids.max", "max" },
                { "blkio", "blkio.bfq.weight", "100" },
                { "blkio", "blkio.bfq.weight_device", "" },
                { "blkio", "blkio.throttle.read_bps_device", "" },
                { "blkio", "blkio.throttle.write_bps_device", "" },
                { "blkio", "blkio.throttle.read_iops_device", "" },
                { "blkio", "blkio.throttle.write_iops_device", "" },
                { "devices", "devices.allow", "" },
                { "devices", "devices.deny", "" },
                { "freezer", "freezer.state", "THAWED" },
                { "unified", "hugetlb.2MB.max", "max" },
                { "unified", "memory.pressure", "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(knobs); i++) {
                _cleanup_free_ char *d = v1_leaf(t, knobs[i][0]);
                fake_write(d, knobs[i][1], knobs[i][2]);
        }
}

TEST(hybrid_apply_full_set) {
        FakeTree t;
        CgManager *m = v1_setup(&t, true);
        CgDeviceValue wd[] = { dv(8, 0, 300) }, wbps[] = { dv(8, 0, 2097152) };
        CgHugetlb huge[] = { { .page_size = (char *) "2MB", .limit = 2097152 } };
        CgDeviceRule dev[] = {
                { .allow = true, .type = 'c', .major = 4, .minor = 1, .access = "r" }, /* before the reset: dropped */
                { .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
                { .allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm" },
                { .allow = false, .type = 'a', .major = 8, .minor = -1, .access = "rw" },
        };
        CgResources r = {
                .memory_limit = { true, 256 << 20 },
                .memory_swap = { true, 512 << 20 },
                .memory_reservation = { true, 128 << 20 },
                .memory_swappiness = { true, 0 },
                .memory_disable_oom_killer = true,
                .cpu_shares = { true, 512 },
                .cpu_quota = { true, 25000 },
                .cpu_period = { true, 50000 },
                .cpu_burst = { true, 100 },
                .cpu_idle = { true, 0 },
                .cpuset_cpus = (char *) "1",
                .cpuset_mems = (char *) "0",
                .pids_limit = { true, -1 },
                .blkio_weight = { true, 700 },
                .blkio_weight_device = wd,
                .n_blkio_weight_device = 1,
                .throttle_write_bps = wbps,
                .n_throttle_write_bps = 1,
                .hugetlb = huge,
                .n_hugetlb = 1,
                .devices = dev,
                .n_devices = ELEMENTSOF(dev),
                .devices_set = true,
        };
        _cleanup_free_ char *mem = v1_leaf(&t, "memory"), *cpu = v1_leaf(&t, "cpu,cpuacct"),
                            *cs = v1_leaf(&t, "cpuset"), *pids = v1_leaf(&t, "pids"),
                            *blk = v1_leaf(&t, "blkio"), *devd = v1_leaf(&t, "devices"),
                            *uni = v1_leaf(&t, "unified");

        v1_knobs(&t);
        ASSERT_OK(cg_manager_apply(m, &r));
        ASSERT_STREQ(fake_read(mem, "memory.limit_in_bytes"), "268435456");
        ASSERT_STREQ(fake_read(mem, "memory.memsw.limit_in_bytes"),
                     "536870912"); /* v1 takes memory+swap as is */
        ASSERT_STREQ(fake_read(mem, "memory.soft_limit_in_bytes"), "134217728");
        ASSERT_STREQ(fake_read(mem, "memory.swappiness"), "0");
        ASSERT_STREQ(fake_read(mem, "memory.oom_control"), "1");
        ASSERT_STREQ(fake_read(cpu, "cpu.shares"), "512");
        ASSERT_STREQ(fake_read(cpu, "cpu.cfs_quota_us"), "25000");
        ASSERT_STREQ(fake_read(cpu, "cpu.cfs_period_us"), "50000");
        ASSERT_STREQ(fake_read(cpu, "cpu.cfs_burst_us"), "100");
        ASSERT_STREQ(fake_read(cs, "cpuset.cpus"), "1");
        ASSERT_STREQ(fake_read(pids, "pids.max"), "max");
        ASSERT_STREQ(fake_read(blk, "blkio.bfq.weight"), "700"); /* no CFQ: BFQ's knob, same scale */
        ASSERT_STREQ(fake_read(blk, "blkio.bfq.weight_device"), "8:0 300");
        ASSERT_STREQ(fake_read(blk, "blkio.throttle.write_bps_device"), "8:0 2097152");
        ASSERT_STREQ(fake_read(uni, "hugetlb.2MB.max"), "2097152"); /* hugetlb lives in the cgroup2 mount */
        /* last writes: deny "a" reset, then allow c 1:3, then the partial "a 8:*" as b and c */
        ASSERT_STREQ(fake_read(devd, "devices.allow"), "c 1:3 rwm");
        ASSERT_STREQ(fake_read(devd, "devices.deny"), "c 8:* rw");
        ASSERT_NULL(cg_manager_error(m));
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(hybrid_refusals) {
        FakeTree t;
        CgManager *m = v1_setup(&t, true);
        CgKeyValue rdma[] = { { .key = (char *) "mlx4_0", .value = (char *) "hca_handle=1" } };
        CgKeyValue uni[] = { { .key = (char *) "memory.high", .value = (char *) "1G" } };
        CgResources r;
        _cleanup_free_ char *mem = v1_leaf(&t, "memory");
        int fd = -1;

        v1_knobs(&t);
        r = (CgResources){ .rdma = rdma, .n_rdma = 1, .memory_limit = { true, 1 << 20 } };
        ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP);
        ASSERT_STRCONTAINS(cg_manager_error(m), "rdma");
        ASSERT_STREQ(fake_read(mem, "memory.limit_in_bytes"), "9223372036854771712"); /* untouched */
        r = (CgResources){ .unified = uni, .n_unified = 1 };
        ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP); /* memory is v1 here: no memory.high in cgroup2 */
        r = (CgResources){ .memory_swap = { true, 1 << 20 }, .memory_limit = { true, 2 << 20 } };
        ASSERT_ERROR(cg_manager_apply(m, &r), EINVAL);
        r = (CgResources){ .blkio_leaf_weight = { true, 100 } };
        ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP); /* blkio.leaf_weight went with CFQ */
        r = (CgResources){ .cpu_rt_runtime = { true, 100 } };
        ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP); /* no CONFIG_RT_GROUP_SCHED knob here */
        ASSERT_ERROR(cg_manager_open_unified(m, &fd), EOPNOTSUPP);
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(hybrid_swap_without_accounting) {
        FakeTree t;
        CgManager *m = v1_setup(&t, true);
        _cleanup_free_ char *mem = v1_leaf(&t, "memory"), *p = NULL;
        CgResources r = { .memory_limit = { true, 1 << 20 }, .memory_swap = { true, 2 << 20 } };

        v1_knobs(&t);
        p = path_join(mem, "memory.memsw.limit_in_bytes");
        ASSERT_OK(unlink(p));
        ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP);
        ASSERT_STRCONTAINS(cg_manager_error(m), "swap accounting");
        r.memory_swap.v = -1; /* "unlimited swap" is what we have anyway */
        ASSERT_OK(cg_manager_apply(m, &r));
        ASSERT_STREQ(fake_read(mem, "memory.limit_in_bytes"), "1048576");
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(hybrid_freeze_and_stats) {
        FakeTree t;
        CgManager *m = v1_setup(&t, true);
        _cleanup_free_ char *fr = v1_leaf(&t, "freezer"), *mem = v1_leaf(&t, "memory"),
                            *cpu = v1_leaf(&t, "cpu,cpuacct"), *pids = v1_leaf(&t, "pids"),
                            *blk = v1_leaf(&t, "blkio"), *uni = v1_leaf(&t, "unified");
        CgStats s;

        v1_knobs(&t);
        ASSERT_EQ(cg_manager_is_frozen(m), 0);
        ASSERT_OK(cg_manager_freeze(m, true));
        ASSERT_STREQ(fake_read(fr, "freezer.state"), "FROZEN");
        ASSERT_EQ(cg_manager_is_frozen(m), 1);
        ASSERT_OK(cg_manager_freeze(m, false));
        ASSERT_EQ(cg_manager_is_frozen(m), 0);

        fake_write(cpu, "cpuacct.usage", "5000000\n");
        fake_write(cpu, "cpuacct.stat", "user 30\nsystem 20\n");
        fake_write(cpu, "cpu.stat", "nr_periods 4\nnr_throttled 2\nthrottled_time 3000000\n");
        fake_write(mem, "memory.usage_in_bytes", "4096\n");
        fake_write(mem, "memory.memsw.usage_in_bytes", "8192\n");
        fake_write(mem, "memory.stat", "rss 1\ncache 2\ntotal_rss 10\ntotal_cache 20\n");
        fake_write(mem, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        fake_write(mem, "memory.failcnt", "12\n");
        fake_write(pids, "pids.current", "5\n");
        fake_write(blk, "blkio.throttle.io_service_bytes_recursive",
                   "8:0 Read 100\n8:0 Write 200\nTotal 300\n");
        fake_write(blk, "blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\nTotal 3\n");
        fake_write(uni, "io.pressure", "some avg10=0.50 avg60=0 avg300=0 total=42\n");
        ASSERT_OK(cg_manager_stats(m, &s));
        ASSERT_EQ(s.cpu_usage_usec, 5000u);
        ASSERT_EQ(s.cpu_user_usec, 30u * (1000000u / (uint64_t) sysconf(_SC_CLK_TCK)));
        ASSERT_EQ(s.cpu_nr_throttled, 2u);
        ASSERT_EQ(s.cpu_throttled_usec, 3000u);
        ASSERT_EQ(s.memory_current, 4096u);
        ASSERT_EQ(s.memory_max, UINT64_MAX); /* v1's PAGE_COUNTER_MAX reads as unlimited */
        ASSERT_EQ(s.memory_swap_current, 4096u);
        ASSERT_EQ(s.memory_anon, 10u);
        ASSERT_EQ(s.memory_file, 20u);
        ASSERT_EQ(s.memory_oom_kill, 3u);
        ASSERT_EQ(s.memory_max_events, 12u);
        ASSERT_EQ(s.pids_current, 5u);
        ASSERT_EQ(s.pids_max, UINT64_MAX);
        ASSERT_EQ(s.io_read_bytes, 100u);
        ASSERT_EQ(s.io_write_ops, 2u);
        ASSERT_EQ(s.io_pressure_total, 42u);
        fake_write(mem, "memory.oom_control", "oom_kill x\n");
        ASSERT_ERROR(cg_manager_stats(m, &s), EINVAL);
        fake_write(mem, "memory.oom_control", "oom_kill 3\n");
        fake_write(blk, "blkio.throttle.io_serviced_recursive", "8:0 Read\n");
        ASSERT_ERROR(cg_manager_stats(m, &s), EINVAL);
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(hybrid_enter_joins_every_hierarchy) {
        FakeTree t;
        CgManager *m = v1_setup(&t, true);

        for (size_t i = 0; i < ELEMENTSOF(v1_ctrls); i++) {
                _cleanup_free_ char *d = v1_leaf(&t, v1_ctrls[i]);
                fake_write(d, "cgroup.procs", "");
        }
        _cleanup_free_ char *uni = v1_leaf(&t, "unified");
        ASSERT_ERROR(cg_manager_enter(m, 4321), ENOENT); /* unified/.../cgroup.procs missing */
        ASSERT_STRCONTAINS(cg_manager_error(m), "unified");
        fake_write(uni, "cgroup.procs", "");
        ASSERT_OK(cg_manager_enter(m, 4321));
        for (size_t i = 0; i < ELEMENTSOF(v1_ctrls); i++) {
                _cleanup_free_ char *d = v1_leaf(&t, v1_ctrls[i]);
                ASSERT_STREQ(fake_read(d, "cgroup.procs"), "4321");
        }
        ASSERT_STREQ(fake_read(uni, "cgroup.procs"), "4321");
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(legacy_refusals) {
        FakeTree t;
        CgManager *m = v1_setup(&t, false);
        CgHugetlb huge[] = { { .page_size = (char *) "2MB", .limit = 1 } };
        CgKeyValue uni[] = { { .key = (char *) "memory.high", .value = (char *) "1G" } };
        CgResources r;
        CgLayout l;

        ASSERT_OK(cg_layout(&l));
        ASSERT_EQ(l, CG_LAYOUT_LEGACY);
        v1_knobs(&t);
        r = (CgResources){ .hugetlb = huge, .n_hugetlb = 1 };
        ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP);
        ASSERT_STRCONTAINS(cg_manager_error(m), "hugetlb");
        r = (CgResources){ .unified = uni, .n_unified = 1 };
        ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP);
        ASSERT_STRCONTAINS(cg_manager_error(m), "legacy");
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(v1_missing_controller) {
        static const char *const only[] = { "memory", "cpu" };
        FakeTree t;
        CgManager *m = NULL;
        CgResources r = { .pids_limit = { true, 5 } };

        fake_tree_init(&t);
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *p = path_join(t.root, only[i]);
                ASSERT_OK(mkdir_p(p, 0755));
        }
        ASSERT_OK(cg_manager_new("/x", &m));
        ASSERT_OK(cg_manager_create(m));
        ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP);
        ASSERT_STRCONTAINS(cg_manager_error(m), "'pids'");
        ASSERT_ERROR(cg_manager_freeze(m, true), EOPNOTSUPP);
        ASSERT_ERROR(cg_manager_is_frozen(m), EOPNOTSUPP);
        cg_manager_destroy(m, 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}
