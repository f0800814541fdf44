/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v2 backend (Documentation/admin-guide/cgroup-v2.rst). Resources
 * arrive in the runtime-spec's v1-flavoured units and are converted here
 * (cg-convert.c holds the formulas). The cgroup2 helpers at the top are
 * shared with the hybrid backend, whose cgroup2 mount holds hugetlb/rdma
 * and offers cgroup.freeze, cgroup.kill and PSI.
 */
#include <time.h>

#include "cg-internal.h"

static int enable_in(const char *dir, uint32_t wanted) {
        _cleanup_free_ char *avail_s = NULL, *enabled_s = NULL;
        int r;

        r = cg_read(dir, "cgroup.controllers", &avail_s);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        r = cg_read(dir, "cgroup.subtree_control", &enabled_s);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        for (CgController c = 0; c < _CG_CTRL_MAX; c++) {
                const char *name = cg_controller_to_string(c);
                char word[32];
                if (!(wanted & CG_MASK(c)))
                        continue;
                snprintf(word, sizeof word, " %s ", name);
                /* Pad both lists so " cpu " does not match "cpuset". */
                _cleanup_free_ char *a = NULL, *e = NULL;
                if (xasprintf(&a, " %.*s ", (int) strcspn(avail_s, "\n"), avail_s) < 0 ||
                    xasprintf(&e, " %.*s ", (int) strcspn(enabled_s, "\n"), enabled_s) < 0)
                        return -ENOMEM;
                if (!strstr(a, word) || strstr(e, word))
                        continue;
                /* One at a time: a controller that cannot be enabled must not block the others. */
                r = cg_writef(dir, "cgroup.subtree_control", "+%s", name);
                if (r < 0)
                        log_debug_errno(r, "cg: cannot enable %s in %s: %m", name, dir);
        }
        return 0;
}

int cg_v2_enable_controllers(CgManager *m, size_t i, uint32_t wanted) {
        _cleanup_free_ char *d = cg_dir(m, i);
        size_t pos, len;
        int r;

        if (!d)
                return -ENOMEM;
        if (wanted == 0)
                return 0;
        len = strlen(d);
        /* Every ancestor from the hierarchy root down to the parent; never the cgroup itself, which will
         * hold processes (the "no internal processes" rule). d[0, pos) is the ancestor at hand. */
        for (pos = len - strlen(m->path); pos < len;) {
                char *next;
                d[pos] = 0;
                r = enable_in(d, wanted);
                d[pos] = '/';
                if (r < 0)
                        return cg_fail(m, r, "cannot enable controllers below %s: %s", d, strerror(-r));
                next = strchr(d + pos + 1, '/');
                if (!next)
                        break;
                pos = (size_t) (next - d);
        }
        return 0;
}

static int v2_post_create(CgManager *m, bool created_any) {
        return cg_v2_enable_controllers(m, 0, m->host->hier[0].controllers);
}

int cg_v2_is_frozen_dir(const char *dir) {
        _cleanup_free_ char *s = NULL;
        uint64_t v;
        int r;

        r = cg_read(dir, "cgroup.events", &s);
        if (r >= 0 && cg_parse_keyed(s, "frozen", &v) >= 0)
                return v ? 1 : 0;
        s = cg_mfree(s);
        r = cg_read(dir, "cgroup.freeze", &s);
        if (r < 0)
                return r == -ENOENT ? -EOPNOTSUPP : r;
        return s[0] == '1' ? 1 : 0;
}

int cg_v2_freeze_dir(CgManager *m, const char *dir, bool frozen) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * 1000000ULL, wait = 200;
        int r;

        r = cg_write(dir, "cgroup.freeze", frozen ? "1" : "0");
        if (r == -ENOENT)
                return cg_fail(m, -EOPNOTSUPP, "%s/cgroup.freeze does not exist (Linux < 5.2)", dir);
        if (r < 0)
                return cg_fail(m, r, "cannot write %s/cgroup.freeze: %s", dir, strerror(-r));
        if (m->host->fake)
                return 0; /* plain files never change state on their own */
        /* The write starts freezing; cgroup.events says when every task has stopped. */
        for (;;) {
                r = cg_v2_is_frozen_dir(dir);
                if (r < 0)
                        return cg_fail(m, r, "cannot read %s/cgroup.events: %s", dir, strerror(-r));
                if ((r > 0) == frozen)
                        return 0;
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        return cg_fail(m, -ETIMEDOUT, "%s did not %s within 10 s", dir,
                                       frozen ? "freeze" : "thaw");
                cg_sleep_usec(wait);
                wait = MIN(wait * 2, 20000u);
        }
}

int cg_v2_apply_hugetlb(CgManager *m, const char *dir, const CgResources *r, bool dry_run) {
        for (size_t i = 0; i < r->n_hugetlb; i++) {
                const CgHugetlb *h = &r->hugetlb[i];
                char knob[64], value[24];
                int q;

                if (h->limit == UINT64_MAX)
                        snprintf(value, sizeof value, "max");
                else
                        snprintf(value, sizeof value, "%" PRIu64, h->limit);
                snprintf(knob, sizeof knob, "hugetlb.%s.max", h->page_size);
                q = cg_knob_set(m, dir, knob, value, dry_run);
                if (q < 0)
                        return q;
                /* Reservations (Linux 5.7) follow the limit, so a mapping cannot reserve past it either. */
                snprintf(knob, sizeof knob, "hugetlb.%s.rsvd.max", h->page_size);
                if (!dry_run && cg_knob_exists(dir, knob)) {
                        q = cg_knob_set(m, dir, knob, value, false);
                        if (q < 0)
                                return q;
                }
        }
        return 0;
}

int cg_v2_apply_rdma(CgManager *m, const char *dir, const CgResources *r, bool dry_run) {
        for (size_t i = 0; i < r->n_rdma; i++) {
                int q = cg_knob_setf(m, dir, "rdma.max", dry_run, "%s %s", r->rdma[i].key, r->rdma[i].value);
                if (q < 0)
                        return q;
        }
        return 0;
}

int cg_v2_apply_unified(CgManager *m, const char *dir, const CgResources *r, bool dry_run) {
        for (size_t i = 0; i < r->n_unified; i++) {
                int q = cg_knob_set(m, dir, r->unified[i].key, r->unified[i].value, dry_run);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int apply_memory(CgManager *m, const char *dir, const CgResources *r, bool dry_run) {
        int q;

        if (r->memory_limit.set && r->memory_limit.v != 0) {
                q = cg_knob_set_max(m, dir, "memory.max", r->memory_limit.v, dry_run);
                if (q < 0)
                        return q;
        }
        if (r->memory_swap.set || (r->memory_limit.set && r->memory_limit.v == -1)) {
                int64_t swap;
                bool set;
                q = cg_memory_swap_to_v2(
                                r->memory_swap.set ? r->memory_swap.v : 0, r->memory_limit.set,
                                r->memory_limit.v, &swap, &set);
                if (q < 0)
                        return cg_fail(m, q, "memory swap %" PRId64 " is invalid with memory limit %s%" PRId64,
                                       r->memory_swap.v, r->memory_limit.set ? "" : "unset ",
                                       r->memory_limit.set ? r->memory_limit.v : 0);
                /* No swap accounting: "unlimited" is what we have anyway. */
                if (set && !(swap == -1 && !cg_knob_exists(dir, "memory.swap.max"))) {
                        q = cg_knob_set_max(m, dir, "memory.swap.max", swap, dry_run);
                        if (q < 0)
                                return q;
                }
        }
        if (r->memory_reservation.set && r->memory_reservation.v != 0) {
                q = cg_knob_set_max(m, dir, "memory.low", r->memory_reservation.v, dry_run);
                if (q < 0)
                        return q;
        }
        /* memory.swappiness and the OOM-killer switch have no v2 knob; runc ignores them too (docs/cgroups.md). */
        return 0;
}

static int apply_cpu_max(CgManager *m, const char *dir, const CgResources *r, bool dry_run) {
        _cleanup_free_ char *cur = NULL;
        char quota[24] = "max";
        uint64_t period = 100000;

        if (!(r->cpu_quota.set && r->cpu_quota.v != 0) && !(r->cpu_period.set && r->cpu_period.v != 0))
                return 0;
        /* Keep whichever half is not being changed. */
        if (cg_read(dir, "cpu.max", &cur) >= 0) {
                char q[24];
                unsigned long long p;
                if (sscanf(cur, "%23s %llu", q, &p) == 2) {
                        snprintf(quota, sizeof quota, "%s", q);
                        period = p;
                }
        }
        if (r->cpu_quota.set && r->cpu_quota.v != 0) {
                if (r->cpu_quota.v > 0)
                        snprintf(quota, sizeof quota, "%" PRId64, r->cpu_quota.v);
                else
                        snprintf(quota, sizeof quota, "max");
        }
        if (r->cpu_period.set && r->cpu_period.v != 0)
                period = r->cpu_period.v;
        return cg_knob_setf(m, dir, "cpu.max", dry_run, "%s %" PRIu64, quota, period);
}

static int apply_cpu(CgManager *m, const char *dir, const CgResources *r, bool dry_run) {
        int q;

        if ((r->cpu_rt_period.set && r->cpu_rt_period.v != 0) ||
            (r->cpu_rt_runtime.set && r->cpu_rt_runtime.v != 0))
                return cg_fail(m, -EOPNOTSUPP, "realtime CPU limits (cpu.rt_*) exist only on cgroup v1");
        if (r->cpu_shares.set && r->cpu_shares.v != 0) {
                q = cg_knob_setf(
                                m, dir, "cpu.weight", dry_run, "%" PRIu64,
                                cg_cpu_shares_to_weight(r->cpu_shares.v));
                if (q < 0)
                        return q;
        }
        q = apply_cpu_max(m, dir, r, dry_run);
        if (q < 0)
                return q;
        if (r->cpu_burst.set) {
                q = cg_knob_setf(m, dir, "cpu.max.burst", dry_run, "%" PRIu64, r->cpu_burst.v);
                if (q < 0)
                        return q;
        }
        if (r->cpu_idle.set) {
                q = cg_knob_setf(m, dir, "cpu.idle", dry_run, "%" PRId64, r->cpu_idle.v);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int apply_cpuset_pids(CgManager *m, const char *dir, const CgResources *r, bool dry_run) {
        int q;

        if (r->cpuset_cpus) {
                q = cg_knob_set(m, dir, "cpuset.cpus", r->cpuset_cpus, dry_run);
                if (q < 0)
                        return q;
        }
        if (r->cpuset_mems) {
                q = cg_knob_set(m, dir, "cpuset.mems", r->cpuset_mems, dry_run);
                if (q < 0)
                        return q;
        }
        if (r->pids_limit.set) {
                q = cg_knob_set_max(m, dir, "pids.max", r->pids_limit.v > 0 ? r->pids_limit.v : -1, dry_run);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int apply_throttle(
                CgManager *m,
                const char *dir,
                const CgDeviceValue *v,
                size_t n,
                const char *key,
                bool dry_run) {
        for (size_t i = 0; i < n; i++) {
                char rate[24];
                int q;
                if (v[i].major < 0 || v[i].minor < 0)
                        return cg_fail(m, -EINVAL, "io throttle device %" PRId64 ":%" PRId64 " is invalid",
                                       v[i].major, v[i].minor);
                /* A rate of 0 removes the limit, as blkio.throttle.* does on v1. */
                cg_format_max(v[i].value ? (int64_t) MIN(v[i].value, (uint64_t) INT64_MAX) : -1, rate,
                              sizeof rate);
                q = cg_knob_setf(
                                m, dir, "io.max", dry_run, "%" PRId64 ":%" PRId64 " %s=%s", v[i].major,
                                v[i].minor, key, rate);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int apply_io(CgManager *m, const char *dir, const CgResources *r, bool dry_run) {
        /* BFQ's io.bfq.weight takes blkio's own scale; io.weight (iocost) takes the converted one. */
        bool bfq = cg_knob_exists(dir, "io.bfq.weight");
        const char *wknob = bfq ? "io.bfq.weight" : "io.weight";
        int q;

        if (r->blkio_weight.set && r->blkio_weight.v != 0) {
                uint64_t w = bfq ? r->blkio_weight.v : cg_blkio_weight_to_io_weight(r->blkio_weight.v);
                q = cg_knob_setf(m, dir, wknob, dry_run, "%" PRIu64, w);
                if (q < 0)
                        return q;
        }
        for (size_t i = 0; i < r->n_blkio_weight_device; i++) {
                const CgDeviceValue *d = &r->blkio_weight_device[i];
                if (d->major < 0 || d->minor < 0)
                        return cg_fail(m, -EINVAL, "io weight device %" PRId64 ":%" PRId64 " is invalid",
                                       d->major, d->minor);
                if (d->value == 0)
                        continue;
                q = cg_knob_setf(
                                m, dir, wknob, dry_run, "%" PRId64 ":%" PRId64 " %" PRIu64, d->major,
                                d->minor, bfq ? d->value : cg_blkio_weight_to_io_weight(d->value));
                if (q < 0)
                        return q;
        }
        if ((q = apply_throttle(m, dir, r->throttle_read_bps, r->n_throttle_read_bps, "rbps", dry_run)) < 0 ||
            (q = apply_throttle(m, dir, r->throttle_write_bps, r->n_throttle_write_bps, "wbps", dry_run)) < 0 ||
            (q = apply_throttle(m, dir, r->throttle_read_iops, r->n_throttle_read_iops, "riops", dry_run)) < 0 ||
            (q = apply_throttle(m, dir, r->throttle_write_iops, r->n_throttle_write_iops, "wiops", dry_run)) <
                            0)
                return q;
        return 0;
}

static int apply_devices(CgManager *m, const char *dir, const CgResources *r, bool dry_run) {
        _cleanup_free_ struct bpf_insn *insns = NULL;
        _cleanup_free_ char *log = NULL;
        size_t n;
        int q;

        if (!r->devices_set)
                return 0;
        q = cg_bpf_device_program(r->devices, r->n_devices, &insns, &n);
        if (q < 0)
                return cg_fail(m, q, "cannot compile %zu device rules: %s", r->n_devices, strerror(-q));
        if (dry_run || m->host->fake)
                return 0; /* a fake tree's directories are not cgroups a program could attach to */
        q = cg_bpf_device_attach(dir, insns, n, &log);
        if (q < 0) {
                if (log)
                        log[strcspn(log, "\n")] = 0;
                return cg_fail(m, q, "cannot attach the device program to %s: %s%s%s", dir, strerror(-q),
                               log ? ": " : "", log ?: "");
        }
        return 0;
}

static int v2_apply_pass(CgManager *m, const char *dir, const CgResources *r, bool dry_run) {
        int q;

        if ((q = apply_memory(m, dir, r, dry_run)) < 0 || (q = apply_cpu(m, dir, r, dry_run)) < 0 ||
            (q = apply_cpuset_pids(m, dir, r, dry_run)) < 0 || (q = apply_io(m, dir, r, dry_run)) < 0 ||
            (q = cg_v2_apply_hugetlb(m, dir, r, dry_run)) < 0 ||
            (q = cg_v2_apply_rdma(m, dir, r, dry_run)) < 0 ||
            (q = cg_v2_apply_unified(m, dir, r, dry_run)) < 0 || (q = apply_devices(m, dir, r, dry_run)) < 0)
                return q;
        return 0;
}

static int v2_apply(CgManager *m, const CgResources *r) {
        _cleanup_free_ char *dir = cg_dir(m, 0);
        int q;

        if (!dir)
                return -ENOMEM;
        /* Check everything first, so a missing controller leaves the cgroup as it was. */
        q = v2_apply_pass(m, dir, r, true);
        if (q < 0)
                return q;
        return v2_apply_pass(m, dir, r, false);
}

static int v2_freeze(CgManager *m, bool frozen) {
        _cleanup_free_ char *dir = cg_dir(m, 0);
        if (!dir)
                return -ENOMEM;
        return cg_v2_freeze_dir(m, dir, frozen);
}

static int v2_is_frozen(CgManager *m) {
        _cleanup_free_ char *dir = cg_dir(m, 0);
        int r;
        if (!dir)
                return -ENOMEM;
        r = cg_v2_is_frozen_dir(dir);
        if (r < 0)
                return cg_fail(m, r, "cannot read the freezer state of %s: %s", dir, strerror(-r));
        return r;
}

/* Read keys from a keyed file; a missing file or key leaves the value alone, malformed input fails. */
typedef struct KeyDst {
        const char *key;
        uint64_t *dst;
} KeyDst;

static int read_keys(CgManager *m, const char *dir, const char *knob, const KeyDst *keys, size_t n) {
        _cleanup_free_ char *s = NULL;
        int r = cg_read(dir, knob, &s);

        if (r == -ENOENT || r == -ENODEV)
                return 0;
        if (r < 0)
                return cg_fail(m, r, "cannot read %s/%s: %s", dir, knob, strerror(-r));
        for (size_t i = 0; i < n; i++) {
                r = cg_parse_keyed(s, keys[i].key, keys[i].dst);
                if (r == -EINVAL)
                        return cg_fail(m, r, "%s/%s: malformed value for '%s'", dir, knob, keys[i].key);
        }
        return 0;
}

static int read_value(CgManager *m, const char *dir, const char *knob, uint64_t *dst) {
        int r = cg_read_u64(dir, knob, dst);
        if (r == -ENOENT || r == -ENODEV)
                return 0;
        if (r < 0)
                return cg_fail(m, r, "cannot read %s/%s: %s", dir, knob, strerror(-r));
        return 0;
}

void cg_v2_read_psi(const char *dir, CgStats *s) {
        static const struct {
                const char *knob;
                size_t avg, total;
        } files[] = {
                { "cpu.pressure", offsetof(CgStats, cpu_pressure_avg10),
                  offsetof(CgStats, cpu_pressure_total) },
                { "memory.pressure", offsetof(CgStats, memory_pressure_avg10),
                  offsetof(CgStats, memory_pressure_total) },
                { "io.pressure", offsetof(CgStats, io_pressure_avg10), offsetof(CgStats, io_pressure_total) },
        };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *t = NULL;
                double avg;
                uint64_t total;
                /* PSI may be compiled out or disabled (psi=0): then the figures stay 0, as documented. */
                if (cg_read(dir, files[i].knob, &t) < 0 || cg_parse_psi(t, &avg, &total) < 0)
                        continue;
                memcpy((char *) s + files[i].avg, &avg, sizeof avg);
                memcpy((char *) s + files[i].total, &total, sizeof total);
        }
}

static int v2_stats(CgManager *m, CgStats *s) {
        _cleanup_free_ char *dir = cg_dir(m, 0), *io = NULL;
        uint64_t kstack = 0, ptables = 0, percpu = 0, sock = 0, slab = 0, kernel = UINT64_MAX;
        int r;

        if (!dir)
                return -ENOMEM;
        const KeyDst cpu[] = {
                { "usage_usec", &s->cpu_usage_usec },     { "user_usec", &s->cpu_user_usec },
                { "system_usec", &s->cpu_system_usec },   { "nr_periods", &s->cpu_nr_periods },
                { "nr_throttled", &s->cpu_nr_throttled }, { "throttled_usec", &s->cpu_throttled_usec },
        };
        const KeyDst mem[] = {
                { "anon", &s->memory_anon }, { "file", &s->memory_file }, { "kernel", &kernel },
                { "kernel_stack", &kstack }, { "pagetables", &ptables },  { "percpu", &percpu },
                { "sock", &sock },           { "slab", &slab },
        };
        const KeyDst events[] = { { "oom", &s->memory_oom },
                                  { "oom_kill", &s->memory_oom_kill },
                                  { "max", &s->memory_max_events } };

        if ((r = read_keys(m, dir, "cpu.stat", cpu, ELEMENTSOF(cpu))) < 0 ||
            (r = read_keys(m, dir, "memory.stat", mem, ELEMENTSOF(mem))) < 0 ||
            (r = read_keys(m, dir, "memory.events", events, ELEMENTSOF(events))) < 0 ||
            (r = read_value(m, dir, "memory.current", &s->memory_current)) < 0 ||
            (r = read_value(m, dir, "memory.max", &s->memory_max)) < 0 ||
            (r = read_value(m, dir, "memory.swap.current", &s->memory_swap_current)) < 0 ||
            (r = read_value(m, dir, "pids.current", &s->pids_current)) < 0 ||
            (r = read_value(m, dir, "pids.max", &s->pids_max)) < 0)
                return r;
        /* "kernel" appeared in 6.x; before, add up its parts. */
        s->memory_kernel = kernel != UINT64_MAX ? kernel : kstack + ptables + percpu + sock + slab;
        r = cg_read(dir, "io.stat", &io);
        if (r >= 0 &&
            cg_parse_io_stat(io, &s->io_read_bytes, &s->io_write_bytes, &s->io_read_ops, &s->io_write_ops) < 0)
                return cg_fail(m, -EINVAL, "%s/io.stat: malformed", dir);
        cg_v2_read_psi(dir, s);
        return 0;
}

const CgBackend cg_backend_v2 = {
        .name = "v2",
        .post_create = v2_post_create,
        .apply = v2_apply,
        .freeze = v2_freeze,
        .is_frozen = v2_is_frozen,
        .stats = v2_stats,
};
