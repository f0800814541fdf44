/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libaula-cgroups against the running kernel, whatever its layout: on this
 * project's hybrid hosts they exercise the v1 backend (suite integration+root),
 * inside tests/vmhost's stock Debian kernel the cgroup v2 one (suite vmhost).
 * Root only (with writable cgroup hierarchies, so not root in a user
 * namespace); otherwise the binary skips unless RT_MUST_WORK=1.
 *
 * Every test works in its own cgroup /aula-test-<pid>-<name> and removes it.
 */
#include <dirent.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include "cg-internal.h"
#include "tap.h"

static void sweep(void);

void tap_setup(void) {
        CgLayout l;
        int r;

        if (geteuid() != 0)
                tap_skip_all("cgroup integration tests need root");
        r = cg_layout(&l);
        if (r < 0)
                tap_skip_all("no cgroup filesystem: %s", strerror(-r));
        printf("# cgroup layout: %s\n", cg_layout_to_string(l));
        {
                /* Root in a user namespace (unshare -r) sees root-owned hierarchies it cannot write. */
                _cleanup_(cg_manager_freep) CgManager *m = NULL;
                char probe[64];
                snprintf(probe, sizeof probe, "/aula-test-%d-probe", (int) getpid());
                r = cg_manager_new(probe, &m);
                if (r >= 0)
                        r = cg_manager_create(m);
                if (r == -EACCES || r == -EPERM || r == -EROFS)
                        tap_skip_all("cgroup hierarchies are not writable here (%s): root in a user namespace?",
                                     strerror(-r));
                if (r >= 0)
                        (void) cg_manager_destroy(m, 1000000);
        }
        /* Tests run in children; a failed one exits without its destroy(). Sweep after all of them. */
        atexit(sweep);
}

/* Test cgroups are /aula-test-<harness pid>-<name>; the harness is the tests' parent. */
static char *test_path(const char *name) {
        char *p = NULL;
        ASSERT_OK(xasprintf(&p, "/aula-test-%d-%s", (int) getppid(), name));
        return p;
}

/* Kill what is left in dir (recursively), then remove it deepest first. */
static void sweep_dir(const char *dir) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        if (cg_read_pids_recursive(dir, &pids, &n) >= 0)
                for (size_t i = 0; i < n; i++)
                        kill(pids[i], SIGKILL);
        for (int i = 0; i < 50 && cg_rmdir_recursive(dir) < 0; i++)
                cg_sleep_usec(20000);
}

static void sweep(void) {
        const CgHost *h;
        char prefix[64];

        if (cg_host_get(&h) < 0)
                return;
        snprintf(prefix, sizeof prefix, "aula-test-%d-", (int) getpid());
        for (size_t i = 0; i < h->n_hier; i++) {
                _cleanup_(cg_closedirp) DIR *d = NULL;
                char base[512];
                struct dirent *de;
                snprintf(base, sizeof base, "%s%s%s", h->root, *h->hier[i].name ? "/" : "", h->hier[i].name);
                d = opendir(base);
                while (d && (de = readdir(d)))
                        if (startswith(de->d_name, prefix)) {
                                char p[1024];
                                snprintf(p, sizeof p, "%s/%s", base, de->d_name);
                                printf("# sweeping %s\n", p);
                                sweep_dir(p);
                        }
        }
}

static CgManager *make(const char *name, const CgResources *r) {
        _cleanup_free_ char *p = test_path(name);
        CgManager *m = NULL;

        ASSERT_OK(cg_manager_new(p, &m));
        if (cg_manager_create(m) < 0)
                tap_fail(__FILE__, __LINE__, "create %s: %s", p, cg_manager_error(m));
        if (r && cg_manager_apply(m, r) < 0)
                tap_fail(__FILE__, __LINE__, "apply %s: %s", p, cg_manager_error(m));
        return m;
}

static void destroy(CgManager *m) {
        if (cg_manager_destroy(m, 5 * 1000000) < 0)
                tap_fail(__FILE__, __LINE__, "destroy: %s", cg_manager_error(m));
        cg_manager_free(m);
}

/* Fork a child that runs fn once the parent has moved it into m's cgroup. */
static pid_t spawn_in(CgManager *m, int (*fn)(void *), void *arg) {
        int p[2];
        pid_t pid;
        char c;

        ASSERT_OK(pipe2(p, O_CLOEXEC));
        pid = fork();
        ASSERT_OK(pid);
        if (pid == 0) {
                close(p[1]);
                if (read(p[0], &c, 1) != 1)
                        _exit(120);
                _exit(fn(arg));
        }
        close(p[0]);
        if (cg_manager_enter(m, pid) < 0) {
                kill(pid, SIGKILL);
                tap_fail(__FILE__, __LINE__, "enter: %s", cg_manager_error(m));
        }
        ASSERT_EQ(write(p[1], "x", 1), 1);
        close(p[1]);
        return pid;
}

static int wait_status(pid_t pid) {
        int status;
        while (waitpid(pid, &status, 0) < 0)
                ASSERT_TRUE(errno == EINTR);
        return status;
}

static void sleep_ms(unsigned ms) {
        cg_sleep_usec((uint64_t) ms * 1000);
}

static uint64_t now_ms(void) {
        return now_usec(CLOCK_MONOTONIC) / 1000;
}

/* ----------------------------------------------------------------------------- memory */

static int hog(void *arg) {
        size_t mib = (size_t) (uintptr_t) arg;
        for (size_t i = 0; i < mib; i++) {
                char *p = malloc(1 << 20);
                if (!p)
                        return 3;
                memset(p, 0x5a, 1 << 20);
        }
        return 0; /* survived: the limit did not work */
}

TEST(memory_limit_oom_kills_hog) {
        CgResources r = { .memory_limit = { true, 32 << 20 }, .memory_swap = { true, 32 << 20 } };
        CgManager *m = make("oom", &r);
        CgStats s;
        int st;

        st = wait_status(spawn_in(m, hog, (void *) (uintptr_t) 256));
        ASSERT_TRUE(WIFSIGNALED(st));
        ASSERT_EQ(WTERMSIG(st), SIGKILL);
        ASSERT_OK(cg_manager_stats(m, &s));
        printf("# oom_kill=%" PRIu64 " oom=%" PRIu64 " max_events=%" PRIu64 " memory_max=%" PRIu64 "\n",
               s.memory_oom_kill, s.memory_oom, s.memory_max_events, s.memory_max);
        ASSERT_TRUE(s.memory_oom_kill >= 1);
        ASSERT_TRUE(s.memory_oom >= 1);
        ASSERT_EQ(s.memory_max, (uint64_t) 32 << 20);
        /* v1's memory.failcnt is not kept by every kernel (6.18 leaves it 0); v2 always counts "max". */
        CgLayout l;
        ASSERT_OK(cg_layout(&l));
        if (l == CG_LAYOUT_UNIFIED)
                ASSERT_TRUE(s.memory_max_events >= 1);
        destroy(m);
}

TEST(memory_below_limit_survives) {
        CgResources r = { .memory_limit = { true, 128 << 20 } };
        CgManager *m = make("nooom", &r);
        CgStats s;
        int st = wait_status(spawn_in(m, hog, (void *) (uintptr_t) 16));

        ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        ASSERT_OK(cg_manager_stats(m, &s));
        ASSERT_EQ(s.memory_oom_kill, 0u);
        destroy(m);
}

/* ------------------------------------------------------------------------------- pids */

static int fork_bomb(void *arg) {
        int *out = arg, n = 0;
        for (int i = 0; i < 1000; i++) {
                pid_t p = fork();
                if (p == 0) {
                        pause();
                        _exit(0);
                }
                if (p < 0) {
                        out[1] = errno;
                        break;
                }
                n++;
        }
        out[0] = n;
        pause(); /* stay, so the parent can count and kill */
        return 0;
}

TEST(pids_limit_stops_fork_bomb) {
        CgResources r = { .pids_limit = { true, 16 } };
        CgManager *m = make("pids", &r);
        int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        uint64_t deadline = now_ms() + 20000;
        pid_t pid;
        CgStats s;

        ASSERT_TRUE(shared != MAP_FAILED);
        shared[0] = -1;
        pid = spawn_in(m, fork_bomb, shared);
        while (__atomic_load_n(&shared[0], __ATOMIC_SEQ_CST) < 0 && now_ms() < deadline)
                sleep_ms(10);
        printf("# forks before the limit: %d (errno %d)\n", shared[0], shared[1]);
        ASSERT_EQ(shared[0], 15); /* 16 tasks: the bomb and 15 children */
        ASSERT_EQ(shared[1], EAGAIN);
        ASSERT_OK(cg_manager_stats(m, &s));
        ASSERT_EQ(s.pids_current, 16u);
        ASSERT_EQ(s.pids_max, 16u);
        ASSERT_OK(cg_manager_kill(m, SIGKILL));
        ASSERT_TRUE(WIFSIGNALED(wait_status(pid)));
        destroy(m);
}

/* -------------------------------------------------------------------------------- cpu */

static int busy(void *arg) {
        uint64_t end = now_ms() + (uint64_t) (uintptr_t) arg;
        volatile uint64_t x = 0;
        while (now_ms() < end)
                for (int i = 0; i < 100000; i++)
                        x++;
        return 0;
}

TEST(cpu_quota_throttles_busy_loop) {
        CgResources r = { .cpu_quota = { true, 20000 }, .cpu_period = { true, 100000 } };
        CgManager *m = make("cpu", &r);
        const unsigned wall = 2000;
        CgStats s;
        int st;

        st = wait_status(spawn_in(m, busy, (void *) (uintptr_t) wall));
        ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        ASSERT_OK(cg_manager_stats(m, &s));
        printf("# cpu: %" PRIu64 " ms used in %u ms wall at a 20%% quota; %" PRIu64 " of %" PRIu64
               " periods throttled for %" PRIu64 " ms\n",
               s.cpu_usage_usec / 1000, wall, s.cpu_nr_throttled, s.cpu_nr_periods,
               s.cpu_throttled_usec / 1000);
        ASSERT_TRUE(s.cpu_usage_usec > 0);
        ASSERT_TRUE(s.cpu_usage_usec <= (uint64_t) wall * 1000 * 30 / 100); /* 20% plus slack */
        ASSERT_TRUE(s.cpu_nr_throttled > 0);
        ASSERT_TRUE(s.cpu_throttled_usec > 0);
        destroy(m);
}

TEST(cpu_update_live) {
        CgResources r = { .cpu_shares = { true, 2048 } };
        CgManager *m = make("cpuupd", &r);
        pid_t pid = spawn_in(m, busy, (void *) (uintptr_t) 5000);
        CgResources u = { .cpu_quota = { true, 10000 },
                          .cpu_period = { true, 100000 },
                          .pids_limit = { true, 50 } };
        CgStats s;

        ASSERT_OK(cg_manager_apply(m, &u)); /* update with a process running */
        ASSERT_OK(cg_manager_stats(m, &s));
        ASSERT_EQ(s.pids_max, 50u);
        ASSERT_OK(cg_manager_kill(m, SIGKILL));
        ASSERT_TRUE(WIFSIGNALED(wait_status(pid)));
        destroy(m);
}

/* ----------------------------------------------------------------------------- freezer */

static int count(void *arg) {
        volatile uint64_t *c = arg;
        for (;;)
                __atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
        return 0;
}

TEST(freeze_stops_progress_thaw_resumes) {
        CgManager *m = make("freeze", NULL);
        uint64_t *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        uint64_t a, b, deadline = now_ms() + 10000;
        pid_t pid;

        ASSERT_TRUE(c != MAP_FAILED);
        pid = spawn_in(m, count, c);
        while (__atomic_load_n(c, __ATOMIC_SEQ_CST) == 0 && now_ms() < deadline)
                sleep_ms(5);
        ASSERT_EQ(cg_manager_is_frozen(m), 0);
        if (cg_manager_freeze(m, true) < 0)
                tap_fail(__FILE__, __LINE__, "freeze: %s", cg_manager_error(m));
        ASSERT_EQ(cg_manager_is_frozen(m), 1);
        a = __atomic_load_n(c, __ATOMIC_SEQ_CST);
        sleep_ms(300);
        b = __atomic_load_n(c, __ATOMIC_SEQ_CST);
        ASSERT_EQ(a, b);
        ASSERT_OK(cg_manager_freeze(m, false));
        ASSERT_EQ(cg_manager_is_frozen(m), 0);
        deadline = now_ms() + 10000;
        while (__atomic_load_n(c, __ATOMIC_SEQ_CST) == b && now_ms() < deadline)
                sleep_ms(5);
        ASSERT_TRUE(__atomic_load_n(c, __ATOMIC_SEQ_CST) > b);
        printf("# counter held at %" PRIu64 " while frozen\n", b);
        ASSERT_OK(cg_manager_kill(m, SIGKILL));
        ASSERT_TRUE(WIFSIGNALED(wait_status(pid)));
        destroy(m);
}

/* ----------------------------------------------------------------------------- devices */

typedef struct DevProbe {
        char dir[64];
        int null_rw, zero_r, sda_mknod, sda_open, sdb_mknod;
} DevProbe;

static int errno_of(int r) {
        return r >= 0 ? 0 : errno;
}

/* In a private mount namespace (a tmpfs that allows device nodes): try devices, report errnos. */
static int probe_devices(void *arg) {
        DevProbe *p = arg;
        _cleanup_free_ char *sda = path_join(p->dir, "sda"), *sdb = path_join(p->dir, "sdb");
        int fd;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", p->dir, "tmpfs", 0, "mode=0700") < 0)
                return 100;
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        p->null_rw = errno_of(fd);
        if (fd >= 0)
                close(fd);
        fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        p->zero_r = errno_of(fd);
        if (fd >= 0)
                close(fd);
        p->sda_mknod = errno_of(mknod(sda, S_IFBLK | 0600, makedev(8, 0)));
        fd = open(sda, O_RDONLY | O_CLOEXEC);
        p->sda_open = errno_of(fd);
        if (fd >= 0)
                close(fd);
        p->sdb_mknod = errno_of(mknod(sdb, S_IFBLK | 0600, makedev(8, 16)));
        return 0;
}

static DevProbe *probe_in(CgManager *m) {
        DevProbe *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(p != MAP_FAILED);
        snprintf(p->dir, sizeof p->dir, "/tmp/aula-test-dev.XXXXXX");
        ASSERT_NOT_NULL(mkdtemp(p->dir));
        int st = wait_status(spawn_in(m, probe_devices, p));
        ASSERT_TRUE(WIFEXITED(st));
        ASSERT_EQ(WEXITSTATUS(st), 0);
        rmdir(p->dir);
        return p;
}

TEST(device_rules_deny_block_devices) {
        CgDeviceRule rules[] = {
                { .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
                { .allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm" },
                { .allow = true, .type = 'b', .major = 8, .minor = 0, .access = "m" },
        };
        CgResources r = { .devices = rules, .n_devices = 3, .devices_set = true };
        _cleanup_free_ char *map = NULL;
        CgManager *m;
        DevProbe *p;

        /* Root in a user namespace may write cgroups it owns, but never mknod or set device rules. */
        if (read_full_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &map, NULL) >= 0 &&
            !strstr(map, "4294967295"))
                TEST_SKIP("device rules and mknod need the initial user namespace");
        m = make("dev", NULL);

        /* without rules: everything goes (sda may not exist here: ENXIO, but not EPERM) */
        p = probe_in(m);
        ASSERT_EQ(p->null_rw, 0);
        ASSERT_EQ(p->zero_r, 0);
        ASSERT_EQ(p->sda_mknod, 0);
        ASSERT_NE(p->sda_open, EPERM);
        ASSERT_EQ(p->sdb_mknod, 0);

        if (cg_manager_apply(m, &r) < 0)
                tap_fail(__FILE__, __LINE__, "apply: %s", cg_manager_error(m));
        p = probe_in(m);
        printf("# null=%d zero=%d sda mknod=%d open=%d sdb mknod=%d\n", p->null_rw, p->zero_r, p->sda_mknod,
               p->sda_open, p->sdb_mknod);
        ASSERT_EQ(p->null_rw, 0);
        ASSERT_EQ(p->zero_r, EPERM);
        ASSERT_EQ(p->sda_mknod, 0); /* m allowed */
        ASSERT_EQ(p->sda_open, EPERM); /* r not */
        ASSERT_EQ(p->sdb_mknod, EPERM);

        /* update: allow /dev/zero for reading too */
        CgDeviceRule more[] = {
                rules[0],
                rules[1],
                rules[2],
                { .allow = true, .type = 'c', .major = 1, .minor = 5, .access = "r" },
        };
        r.devices = more;
        r.n_devices = 4;
        ASSERT_OK(cg_manager_apply(m, &r));
        p = probe_in(m);
        ASSERT_EQ(p->zero_r, 0);
        ASSERT_EQ(p->sda_open, EPERM);
        destroy(m);
}

/* ------------------------------------------------------------------------ io, hugetlb */

/* A whole block device (throttling takes disks, not partitions). */
static bool find_disk(int64_t *major, int64_t *minor) {
        _cleanup_(cg_closedirp) DIR *d = opendir("/sys/block");
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char p[300];
                unsigned a, b;
                _cleanup_free_ char *s = NULL;
                if (de->d_name[0] == '.' || startswith(de->d_name, "loop") || startswith(de->d_name, "zram"))
                        continue;
                snprintf(p, sizeof p, "/sys/block/%s/dev", de->d_name);
                if (read_one_line_at(AT_FDCWD, p, &s) < 0 || sscanf(s, "%u:%u", &a, &b) != 2)
                        continue;
                *major = a;
                *minor = b;
                return true;
        }
        return false;
}

TEST(io_limits_set_and_read_back) {
        int64_t maj, min;
        if (!find_disk(&maj, &min))
                TEST_SKIP("no block device");
        CgDeviceValue rbps = { .major = maj, .minor = min, .value = 1048576 },
                      wiops = { .major = maj, .minor = min, .value = 100 };
        CgResources r = { .throttle_read_bps = &rbps,
                          .n_throttle_read_bps = 1,
                          .throttle_write_iops = &wiops,
                          .n_throttle_write_iops = 1 };
        CgManager *m = make("io", &r);
        _cleanup_free_ char *dir = NULL, *text = NULL;
        char want[64];
        CgLayout l;

        ASSERT_OK(cg_layout(&l));
        if (l == CG_LAYOUT_UNIFIED) {
                ASSERT_OK(cg_dir_for(m, CG_CTRL_IO, true, &dir));
                ASSERT_OK(cg_read(dir, "io.max", &text));
                snprintf(want, sizeof want,
                         "%" PRId64 ":%" PRId64 " rbps=1048576 wbps=max riops=max wiops=100", maj, min);
                ASSERT_STRCONTAINS(text, want);
        } else {
                ASSERT_OK(cg_dir_for(m, CG_CTRL_BLKIO, false, &dir));
                ASSERT_OK(cg_read(dir, "blkio.throttle.read_bps_device", &text));
                snprintf(want, sizeof want, "%" PRId64 ":%" PRId64 " 1048576", maj, min);
                ASSERT_STRCONTAINS(text, want);
                text = cg_mfree(text);
                ASSERT_OK(cg_read(dir, "blkio.throttle.write_iops_device", &text));
                snprintf(want, sizeof want, "%" PRId64 ":%" PRId64 " 100", maj, min);
                ASSERT_STRCONTAINS(text, want);
        }
        printf("# %s", text);
        /* a rate of 0 removes the limit again */
        rbps.value = 0;
        ASSERT_OK(cg_manager_apply(m, &r));
        text = cg_mfree(text);
        ASSERT_OK(cg_read(dir, l == CG_LAYOUT_UNIFIED ? "io.max" : "blkio.throttle.read_bps_device", &text));
        ASSERT_TRUE(!strstr(text, "rbps=1048576") && !strstr(text, " 1048576"));
        destroy(m);
}

TEST(hugetlb_limit_set_and_read_back) {
        const CgHost *h;
        ASSERT_OK(cg_host_get(&h));
        if (cg_host_find(h, CG_CTRL_HUGETLB, true) < 0)
                TEST_SKIP("no hugetlb controller");
        if (access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) < 0)
                TEST_SKIP("no 2MB huge pages");
        CgHugetlb huge = { .page_size = (char *) "2MB", .limit = 8 << 20 };
        CgResources r = { .hugetlb = &huge, .n_hugetlb = 1 };
        CgManager *m = make("huge", &r);
        _cleanup_free_ char *dir = NULL;
        uint64_t v;

        if (cg_dir_for(m, CG_CTRL_HUGETLB, false, &dir) >= 0)
                ASSERT_OK(cg_read_u64(dir, "hugetlb.2MB.limit_in_bytes", &v));
        else {
                ASSERT_OK(cg_dir_for(m, CG_CTRL_HUGETLB, true, &dir));
                ASSERT_OK(cg_read_u64(dir, "hugetlb.2MB.max", &v));
        }
        ASSERT_EQ(v, (uint64_t) 8 << 20);
        printf("# %s: hugetlb.2MB = %" PRIu64 "\n", dir, v);
        destroy(m);
}

/* -------------------------------------------------------------------- lifecycle, stats */

static int sleeper(void *arg) {
        for (;;)
                pause();
        return 0;
}

/* True when no hierarchy has the directory any more. */
static bool gone_everywhere(const char *path, bool report) {
        const CgHost *h;
        ASSERT_OK(cg_host_get(&h));
        for (size_t i = 0; i < h->n_hier; i++) {
                char p[512];
                snprintf(p, sizeof p, "%s%s%s%s", h->root, *h->hier[i].name ? "/" : "", h->hier[i].name, path);
                if (access(p, F_OK) == 0) {
                        if (report)
                                printf("# left behind: %s\n", p);
                        return false;
                }
        }
        return true;
}

TEST(destroy_kills_stragglers_and_leaves_nothing) {
        _cleanup_free_ char *top = test_path("del"), *path = NULL;
        CgManager *m = NULL;
        pid_t a, b;

        ASSERT_OK(xasprintf(&path, "%s/lab/ana", top));
        ASSERT_OK(cg_manager_new(path, &m));
        ASSERT_OK(cg_manager_create(m));
        a = spawn_in(m, sleeper, NULL);
        b = spawn_in(m, sleeper, NULL);
        /* a cgroup the container made below its own */
        const CgHost *h;
        ASSERT_OK(cg_host_get(&h));
        for (size_t i = 0; i < h->n_hier; i++) {
                _cleanup_free_ char *d = cg_dir(m, i), *sub = path_join(d, "inner");
                ASSERT_TRUE(mkdir(sub, 0755) == 0);
        }
        ASSERT_OK(cg_manager_freeze(m, true)); /* frozen stragglers must die too */
        ASSERT_OK(cg_manager_destroy(m, 10 * 1000000));
        ASSERT_TRUE(WIFSIGNALED(wait_status(a)));
        ASSERT_TRUE(WIFSIGNALED(wait_status(b)));
        ASSERT_TRUE(gone_everywhere(path, true));
        ASSERT_TRUE(gone_everywhere(top, true));
        cg_manager_free(m);
}

TEST(destroy_spares_cgroups_it_did_not_create) {
        _cleanup_free_ char *top = test_path("spare"), *child = NULL;
        CgManager *parent = NULL, *m = NULL;

        ASSERT_OK(cg_manager_new(top, &parent));
        ASSERT_OK(cg_manager_create(parent));
        ASSERT_OK(xasprintf(&child, "%s/ana", top));
        ASSERT_OK(cg_manager_new(child, &m));
        ASSERT_OK(cg_manager_create(m));
        ASSERT_OK(cg_manager_destroy(m, 1000000));
        ASSERT_TRUE(gone_everywhere(child, true));
        ASSERT_FALSE(gone_everywhere(top, false));
        cg_manager_free(m);
        destroy(parent);
        ASSERT_TRUE(gone_everywhere(top, true));
}

TEST(pids_kill_and_stats) {
        CgManager *m = make("life", NULL);
        pid_t a = spawn_in(m, busy, (void *) (uintptr_t) 30000), b = spawn_in(m, sleeper, NULL);
        pid_t *pids = NULL;
        size_t n = 0;
        CgStats s;

        ASSERT_OK(cg_manager_pids(m, &pids, &n));
        ASSERT_EQ(n, 2u);
        ASSERT_TRUE((pids[0] == a && pids[1] == b) || (pids[0] == b && pids[1] == a));
        free(pids);
        sleep_ms(300);
        ASSERT_OK(cg_manager_stats(m, &s));
        printf("# usage %" PRIu64 " us, user %" PRIu64 " us, pids %" PRIu64 ", memory %" PRIu64
               ", cpu psi total %" PRIu64 "\n",
               s.cpu_usage_usec, s.cpu_user_usec, s.pids_current, s.memory_current, s.cpu_pressure_total);
        ASSERT_TRUE(s.cpu_usage_usec > 0);
        ASSERT_EQ(s.pids_current, 2u);
        ASSERT_OK(cg_manager_kill(m, SIGTERM));
        ASSERT_EQ(WTERMSIG(wait_status(a)), SIGTERM);
        ASSERT_EQ(WTERMSIG(wait_status(b)), SIGTERM);
        ASSERT_OK(cg_manager_pids(m, &pids, &n));
        ASSERT_EQ(n, 0u);
        free(pids);
        destroy(m);
}

TEST(save_load_across_processes) {
        CgManager *m = make("saved", NULL), *m2 = NULL;
        _cleanup_free_ char *s = NULL, *path = strdup(cg_manager_path(m));

        ASSERT_OK(cg_manager_save(m, &s));
        cg_manager_free(m);
        ASSERT_OK(cg_manager_load(s, &m2));
        ASSERT_FALSE(gone_everywhere(path, false));
        destroy(m2);
        ASSERT_TRUE(gone_everywhere(path, true));
}

/* ------------------------------------------------------------------------------- clone */

/* 0 when every line of /proc/self/cgroup names path. */
static int check_self_cgroup(const char *path) {
        _cleanup_free_ char *text = NULL;
        const char *p;
        if (read_full_file_at(AT_FDCWD, "/proc/self/cgroup", 65536, &text, NULL) < 0)
                return 2;
        for (p = text; *p;) {
                size_t l = strcspn(p, "\n");
                const char *colon = memrchr(p, ':', l);
                if (!colon || (size_t) (p + l - colon - 1) != strlen(path) ||
                    memcmp(colon + 1, path, strlen(path)))
                        return 3;
                p += l + (p[l] == '\n');
        }
        return 0;
}

TEST(clone_starts_child_in_its_cgroup) {
        CgManager *m = make("clone", NULL);
        CgLayout l;
        int pidfd = -1, st;
        pid_t pid;

        ASSERT_OK(cg_layout(&l));
        pid = cg_manager_clone(m, CLONE_NEWPID | CLONE_NEWNS, &pidfd);
        if (pid == 0)
                _exit(getpid() != 1 ? 4 : check_self_cgroup(cg_manager_path(m)));
        ASSERT_OK(pid);
        ASSERT_TRUE(pidfd >= 0);
        st = wait_status(pid);
        ASSERT_TRUE(WIFEXITED(st));
        ASSERT_EQ(WEXITSTATUS(st), 0);
        close(pidfd);
        printf("# %s: CLONE_INTO_CGROUP %s\n", cg_layout_to_string(l), m->cloned_into ? "used" : "not used");
        ASSERT_EQ(m->cloned_into, l == CG_LAYOUT_UNIFIED);

        pid = cg_manager_clone(m, 0, NULL);
        if (pid == 0)
                _exit(check_self_cgroup(cg_manager_path(m)));
        ASSERT_OK(pid);
        st = wait_status(pid);
        ASSERT_EQ(WEXITSTATUS(st), 0);

        ASSERT_ERROR(cg_manager_clone(m, CLONE_VM, NULL), EINVAL);
        ASSERT_ERROR(cg_manager_clone(m, CLONE_THREAD, NULL), EINVAL);
        ASSERT_ERROR(cg_manager_clone(m, SIGCHLD, NULL), EINVAL);
        ASSERT_ERROR(cg_manager_clone(NULL, 0, NULL), EINVAL);
        destroy(m);
}

TEST(clone_into_a_missing_cgroup_fails_cleanly) {
        _cleanup_free_ char *p = test_path("clonemissing");
        CgManager *m = NULL;
        pid_t pid;

        ASSERT_OK(cg_manager_new(p, &m)); /* never created */
        pid = cg_manager_clone(m, 0, NULL);
        if (pid == 0)
                _exit(0); /* must not get here */
        ASSERT_TRUE(pid < 0);
        ASSERT_NOT_NULL(cg_manager_error(m));
        ASSERT_TRUE(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); /* no child left behind */
        cg_manager_free(m);
}

/* ------------------------------------------------------------------------ unified map */

TEST(unified_map_written_where_cgroup2_has_it) {
        CgManager *m = make("unified", NULL);
        CgKeyValue mem[] = { { .key = (char *) "memory.high", .value = (char *) "67108864" },
                             { .key = (char *) "pids.max", .value = (char *) "33" } };
        CgKeyValue bad[] = { { .key = (char *) "cgroup.procs", .value = (char *) "1" } };
        CgResources r = { .unified = mem, .n_unified = 2 };
        _cleanup_free_ char *dir = NULL;
        uint64_t v;
        CgLayout l;

        ASSERT_OK(cg_layout(&l));
        if (l == CG_LAYOUT_UNIFIED) {
                if (cg_manager_apply(m, &r) < 0)
                        tap_fail(__FILE__, __LINE__, "apply: %s", cg_manager_error(m));
                dir = cg_dir(m, 0);
                ASSERT_OK(cg_read_u64(dir, "memory.high", &v));
                ASSERT_EQ(v, 67108864u);
                ASSERT_OK(cg_read_u64(dir, "pids.max", &v));
                ASSERT_EQ(v, 33u);
        } else {
                /* memory and pids live in v1 here: the cgroup2 side has no such knobs */
                ASSERT_ERROR(cg_manager_apply(m, &r), EOPNOTSUPP);
                printf("# %s\n", cg_manager_error(m));
        }
        r = (CgResources){ .unified = bad, .n_unified = 1 };
        ASSERT_ERROR(cg_manager_apply(m, &r), EINVAL);
        destroy(m);
}
