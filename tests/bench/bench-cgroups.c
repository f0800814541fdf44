/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-cgroups [--base] N PARENT [MAJ:MIN]: the cgroup side of N containers through
 * libaula-cgroups, as runc does it for `runc create` + `runc delete`: create
 * PARENT/c<i> in every hierarchy, apply the benchmark's full resource set,
 * move a waiting child in; then let it exit and remove the cgroup. Prints
 * the time spent in library calls (forking and reaping the children is not
 * counted: runc's baseline does that too) as "aula_ms <total> create <ms>
 * apply <ms> enter <ms> destroy <ms>". --base applies only the device rules,
 * as the runc baseline of tests/bench/cgroups.sh does.
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroups.h"

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* The rules runc ends up with for the benchmark's config: the spec's deny-all, its own defaults, ours. */
static const CgDeviceRule rules[] = {
        { false, 'a', -1, -1, "rwm" }, { true, 'c', 1, 3, "rwm" }, { true, 'c', -1, -1, "m" },
        { true, 'b', -1, -1, "m" },    { true, 'c', 1, 3, "rwm" }, { true, 'c', 1, 5, "rwm" },
        { true, 'c', 1, 7, "rwm" },    { true, 'c', 1, 8, "rwm" }, { true, 'c', 1, 9, "rwm" },
        { true, 'c', 5, 0, "rwm" },    { true, 'c', 5, 2, "rwm" }, { true, 'c', 10, 200, "rwm" },
        { true, 'c', 136, -1, "rwm" },
};

int main(int argc, char **argv) {
        uint64_t t_create = 0, t_apply = 0, t_enter = 0, t_destroy = 0, t;
        unsigned maj = 0, min = 0;
        bool have_dev;
        int n, r;

        bool base = argc > 1 && streq(argv[1], "--base");
        if (base) {
                argc--;
                argv++;
        }
        if (argc < 3 || (n = atoi(argv[1])) <= 0 || argv[2][0] != '/') {
                fprintf(stderr, "usage: bench-cgroups [--base] N /PARENT [MAJ:MIN]\n");
                return 2;
        }
        have_dev = argc > 3 && sscanf(argv[3], "%u:%u", &maj, &min) == 2;
        CgDeviceValue rbps = { .major = maj, .minor = min, .value = 10485760 },
                      wiops = { .major = maj, .minor = min, .value = 100 };
        CgResources res = {
                .memory_limit = { true, 268435456 },
                .memory_reservation = { true, 134217728 },
                .memory_swap = { true, 536870912 },
                .memory_swappiness = { true, 10 },
                .cpu_shares = { true, 512 },
                .cpu_quota = { true, 50000 },
                .cpu_period = { true, 100000 },
                .cpuset_cpus = (char *) "0-1",
                .cpuset_mems = (char *) "0",
                .pids_limit = { true, 128 },
                .blkio_weight = { true, 500 },
                .throttle_read_bps = &rbps,
                .n_throttle_read_bps = have_dev,
                .throttle_write_iops = &wiops,
                .n_throttle_write_iops = have_dev,
                .devices = (CgDeviceRule *) rules,
                .n_devices = sizeof rules / sizeof rules[0],
                .devices_set = true,
        };

        if (base)
                res = (CgResources){ .devices = res.devices, .n_devices = res.n_devices, .devices_set = true };

        for (int i = 0; i < n; i++) {
                _cleanup_(cg_manager_freep) CgManager *m = NULL;
                char path[256];
                int p[2];
                pid_t pid;
                char c;

                snprintf(path, sizeof path, "%s/c%d", argv[2], i);
                r = cg_manager_new(path, &m);
                if (r < 0) {
                        fprintf(stderr, "cg_manager_new %s: %s\n", path, strerror(-r));
                        return 1;
                }
                t = now_ns();
                r = cg_manager_create(m);
                t_create += now_ns() - t;
                if (r < 0)
                        goto fail;
                t = now_ns();
                r = cg_manager_apply(m, &res);
                t_apply += now_ns() - t;
                if (r < 0)
                        goto fail;
                if (pipe2(p, O_CLOEXEC) < 0)
                        return 1;
                pid = fork();
                if (pid == 0) {
                        close(p[1]);
                        (void) !read(p[0], &c, 1); /* like runc init: wait for "start" (never comes) */
                        _exit(0);
                }
                close(p[0]);
                t = now_ns();
                r = cg_manager_enter(m, pid);
                t_enter += now_ns() - t;
                if (r < 0)
                        goto fail;
                /* runc delete --force kills and reaps init in the baseline too: not cgroup work. */
                close(p[1]);
                (void) waitpid(pid, NULL, 0);
                t = now_ns();
                r = cg_manager_destroy(m, 5 * 1000000);
                t_destroy += now_ns() - t;
                if (r < 0)
                        goto fail;
                continue;
fail:
                fprintf(stderr, "%s: %s\n", path, cg_manager_error(m) ?: strerror(-r));
                (void) cg_manager_destroy(m, 1000000);
                return 1;
        }
        printf("aula_ms %.1f create %.1f apply %.1f enter %.1f destroy %.1f\n",
               (double) (t_create + t_apply + t_enter + t_destroy) / 1e6, (double) t_create / 1e6,
               (double) t_apply / 1e6, (double) t_enter / 1e6, (double) t_destroy / 1e6);
        return 0;
}
