/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v1 backend, for legacy hosts (v1 only) and hybrid ones (v1
 * controllers plus a cgroup2 mount, usually /sys/fs/cgroup/unified).
 * Documentation/admin-guide/cgroup-v1/. On hybrid hosts the cgroup2 side is
 * used for what lives only there: hugetlb/rdma/misc when not bound to v1,
 * the `unified` map, PSI, and cgroup.freeze/cgroup.kill when v1 has no
 * freezer.
 */
#include <time.h>

#include "cg-internal.h"

/* v1 reports "unlimited" as PAGE_COUNTER_MAX pages: 2^63 - 1 rounded down to a page. */
#define V1_UNLIMITED_MIN (UINT64_C(9223372036854775807) - UINT64_C(1) * 1024 * 1024)

static int v1_dir(CgManager *m, CgController c, const char *what, char **ret) {
        int r = cg_dir_for(m, c, false, ret);
        if (r == -EOPNOTSUPP)
                return cg_fail(m, r, "%s needs the cgroup v1 '%s' controller, which this host does not mount",
                               what, cg_controller_to_string(c));
        return r;
}

/*
 * Copy cpuset.cpus/mems from the parent into cpuset cgroups we created: v1 starts them empty (or, with
 * cgroup.clone_children, with the parent's values), and an empty cpuset cannot hold a process. Top-down,
 * so only the topmost parent is read; each level below gets the value just written above it. Writing
 * the parent's value is right in both cases, so the new directory itself is not read.
 */
static int init_cpuset(CgManager *m) {
        int i = cg_host_find(m->host, CG_CTRL_CPUSET, false);
        static const char *const knobs[] = { "cpuset.cpus", "cpuset.mems" };
        _cleanup_free_ char *leaf = NULL;

        if (i < 0 || m->created[i] == 0)
                return 0;
        leaf = cg_dir(m, (size_t) i);
        if (!leaf)
                return -ENOMEM;
        FOREACH_ARRAY(knob, knobs, ELEMENTSOF(knobs)) {
                _cleanup_free_ char *want = NULL;
                for (unsigned k = m->created[i]; k-- > 0;) {
                        _cleanup_free_ char *d = strdup(leaf);
                        int r;
                        if (!d)
                                return -ENOMEM;
                        for (unsigned j = 0; j < k; j++)
                                *strrchr(d, '/') = 0;
                        if (!want) {
                                _cleanup_free_ char *parent = strndup(d, (size_t) (strrchr(d, '/') - d));
                                if (!parent)
                                        return -ENOMEM;
                                r = cg_read(parent, *knob, &want);
                                if (r == -ENOENT)
                                        break;
                                if (r < 0)
                                        return r;
                                want[strcspn(want, "\n")] = 0;
                        }
                        r = cg_write(d, *knob, want);
                        if (r < 0)
                                return cg_fail(m, r, "cannot initialize %s/%s: %s", d, *knob, strerror(-r));
                }
        }
        return 0;
}

static int v1_post_create(CgManager *m, bool created_any) {
        int r = init_cpuset(m), v2 = cg_host_find_v2(m->host);

        if (r < 0)
                return r;
        if (v2 < 0)
                return 0;
        /* Hybrid: enable in the cgroup2 tree the controllers that live only there. */
        return cg_v2_enable_controllers(
                        m, (size_t) v2,
                        m->host->hier[v2].controllers &
                                        (CG_MASK(CG_CTRL_HUGETLB) | CG_MASK(CG_CTRL_RDMA) |
                                         CG_MASK(CG_CTRL_MISC)));
}

/*
 * Write two knobs whose order matters (memory vs memory+swap, cfs period vs
 * quota): if the first write is refused because it would break an invariant
 * with the other's current value, write them the other way round.
 */
static int write_pair(
                CgManager *m,
                const char *dir,
                const char *k1,
                const char *v1,
                const char *k2,
                const char *v2,
                bool dry_run) {
        int r;

        if (dry_run || !v1 || !v2) {
                if (v1 && (r = cg_knob_set(m, dir, k1, v1, dry_run)) < 0)
                        return r;
                if (v2 && (r = cg_knob_set(m, dir, k2, v2, dry_run)) < 0)
                        return r;
                return 0;
        }
        if (cg_write(dir, k1, v1) >= 0)
                return cg_knob_set(m, dir, k2, v2, false);
        if ((r = cg_knob_set(m, dir, k2, v2, false)) < 0)
                return r;
        return cg_knob_set(m, dir, k1, v1, false);
}

static bool any_memory(const CgResources *r) {
        return (r->memory_limit.set && r->memory_limit.v != 0) ||
                        (r->memory_swap.set && r->memory_swap.v != 0) ||
                        (r->memory_reservation.set && r->memory_reservation.v != 0) ||
                        (r->memory_swappiness.set && r->memory_swappiness.v != UINT64_MAX) ||
                        r->memory_disable_oom_killer;
}

static int apply_memory(CgManager *m, const CgResources *r, bool dry_run) {
        _cleanup_free_ char *dir = NULL;
        char lim[24], swap[24];
        bool has_lim = r->memory_limit.set && r->memory_limit.v != 0,
             has_swap = r->memory_swap.set && r->memory_swap.v != 0;
        int q;

        if (!any_memory(r))
                return 0;
        if ((q = v1_dir(m, CG_CTRL_MEMORY, "a memory limit", &dir)) < 0)
                return q;
        if (has_lim && has_swap && r->memory_limit.v > 0 && r->memory_swap.v > 0 &&
            r->memory_swap.v < r->memory_limit.v)
                return cg_fail(m, -EINVAL, "memory+swap limit %" PRId64 " is below the memory limit %" PRId64,
                               r->memory_swap.v, r->memory_limit.v);
        snprintf(lim, sizeof lim, "%" PRId64, r->memory_limit.v < 0 ? -1 : r->memory_limit.v);
        snprintf(swap, sizeof swap, "%" PRId64, r->memory_swap.v < 0 ? -1 : r->memory_swap.v);
        if (has_swap && !cg_knob_exists(dir, "memory.memsw.limit_in_bytes")) {
                if (r->memory_swap.v != -1)
                        return cg_fail(m, -EOPNOTSUPP,
                                       "a swap limit needs swap accounting (memory.memsw.*), "
                                       "which this kernel does not have");
                has_swap = false;
        }
        q = write_pair(m, dir, "memory.limit_in_bytes", has_lim ? lim : NULL, "memory.memsw.limit_in_bytes",
                       has_swap ? swap : NULL, dry_run);
        if (q < 0)
                return q;
        if (r->memory_reservation.set && r->memory_reservation.v != 0 &&
            (q = cg_knob_setf(
                             m, dir, "memory.soft_limit_in_bytes", dry_run, "%" PRId64,
                             r->memory_reservation.v < 0 ? -1 : r->memory_reservation.v)) < 0)
                return q;
        if (r->memory_swappiness.set && r->memory_swappiness.v != UINT64_MAX &&
            (q = cg_knob_setf(m, dir, "memory.swappiness", dry_run, "%" PRIu64, r->memory_swappiness.v)) < 0)
                return q;
        if (r->memory_disable_oom_killer && (q = cg_knob_set(m, dir, "memory.oom_control", "1", dry_run)) < 0)
                return q;
        return 0;
}

static int apply_cpu(CgManager *m, const CgResources *r, bool dry_run) {
        _cleanup_free_ char *dir = NULL, *period = NULL, *quota = NULL, *rtp = NULL, *rtr = NULL;
        bool has_quota = r->cpu_quota.set && r->cpu_quota.v != 0,
             has_period = r->cpu_period.set && r->cpu_period.v != 0;
        bool has_rtp = r->cpu_rt_period.set && r->cpu_rt_period.v != 0,
             has_rtr = r->cpu_rt_runtime.set && r->cpu_rt_runtime.v != 0;
        int q;

        if (!(r->cpu_shares.set && r->cpu_shares.v != 0) && !has_quota && !has_period && !r->cpu_burst.set &&
            !r->cpu_idle.set && !has_rtp && !has_rtr)
                return 0;
        if ((q = v1_dir(m, CG_CTRL_CPU, "a CPU limit", &dir)) < 0)
                return q;
        if (r->cpu_shares.set && r->cpu_shares.v != 0 &&
            (q = cg_knob_setf(m, dir, "cpu.shares", dry_run, "%" PRIu64, r->cpu_shares.v)) < 0)
                return q;
        if ((has_period && xasprintf(&period, "%" PRIu64, r->cpu_period.v) < 0) ||
            (has_quota && xasprintf(&quota, "%" PRId64, r->cpu_quota.v > 0 ? r->cpu_quota.v : -1) < 0) ||
            (has_rtp && xasprintf(&rtp, "%" PRIu64, r->cpu_rt_period.v) < 0) ||
            (has_rtr && xasprintf(&rtr, "%" PRId64, r->cpu_rt_runtime.v) < 0))
                return -ENOMEM;
        if ((q = write_pair(m, dir, "cpu.cfs_period_us", period, "cpu.cfs_quota_us", quota, dry_run)) < 0)
                return q;
        if (r->cpu_burst.set &&
            (q = cg_knob_setf(m, dir, "cpu.cfs_burst_us", dry_run, "%" PRIu64, r->cpu_burst.v)) < 0)
                return q;
        if ((q = write_pair(m, dir, "cpu.rt_period_us", rtp, "cpu.rt_runtime_us", rtr, dry_run)) < 0)
                return q;
        if (r->cpu_idle.set && (q = cg_knob_setf(m, dir, "cpu.idle", dry_run, "%" PRId64, r->cpu_idle.v)) < 0)
                return q;
        return 0;
}

static int apply_cpuset_pids(CgManager *m, const CgResources *r, bool dry_run) {
        _cleanup_free_ char *cs = NULL, *pids = NULL;
        int q;

        if (r->cpuset_cpus || r->cpuset_mems) {
                if ((q = v1_dir(m, CG_CTRL_CPUSET, "a cpuset", &cs)) < 0)
                        return q;
                if (r->cpuset_cpus && (q = cg_knob_set(m, cs, "cpuset.cpus", r->cpuset_cpus, dry_run)) < 0)
                        return q;
                if (r->cpuset_mems && (q = cg_knob_set(m, cs, "cpuset.mems", r->cpuset_mems, dry_run)) < 0)
                        return q;
        }
        if (r->pids_limit.set) {
                if ((q = v1_dir(m, CG_CTRL_PIDS, "a pids limit", &pids)) < 0)
                        return q;
                q = cg_knob_set_max(m, pids, "pids.max", r->pids_limit.v > 0 ? r->pids_limit.v : -1, dry_run);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int apply_devvals(
                CgManager *m,
                const char *dir,
                const char *knob,
                const CgDeviceValue *v,
                size_t n,
                bool leaf,
                bool dry_run) {
        for (size_t i = 0; i < n; i++) {
                uint64_t val = leaf ? v[i].leaf_value : v[i].value;
                int q;
                if (v[i].major < 0 || v[i].minor < 0)
                        return cg_fail(m, -EINVAL, "block device %" PRId64 ":%" PRId64 " is invalid",
                                       v[i].major, v[i].minor);
                if (leaf && val == 0)
                        continue;
                q = cg_knob_setf(
                                m, dir, knob, dry_run, "%" PRId64 ":%" PRId64 " %" PRIu64, v[i].major,
                                v[i].minor, val);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int apply_blkio(CgManager *m, const CgResources *r, bool dry_run) {
        _cleanup_free_ char *dir = NULL;
        const char *w, *wd;
        int q;

        if (!(r->blkio_weight.set && r->blkio_weight.v != 0) &&
            !(r->blkio_leaf_weight.set && r->blkio_leaf_weight.v) && !r->n_blkio_weight_device &&
            !r->n_throttle_read_bps && !r->n_throttle_write_bps && !r->n_throttle_read_iops &&
            !r->n_throttle_write_iops)
                return 0;
        if ((q = v1_dir(m, CG_CTRL_BLKIO, "an io limit", &dir)) < 0)
                return q;
        /* CFQ's blkio.weight is gone since Linux 5.0; BFQ offers the same scale as blkio.bfq.weight. */
        w = cg_knob_exists(dir, "blkio.weight") ? "blkio.weight" : "blkio.bfq.weight";
        wd = cg_knob_exists(dir, "blkio.weight_device") ? "blkio.weight_device" : "blkio.bfq.weight_device";
        if (r->blkio_weight.set && r->blkio_weight.v != 0 &&
            (q = cg_knob_setf(m, dir, w, dry_run, "%" PRIu64, r->blkio_weight.v)) < 0)
                return q;
        if (r->blkio_leaf_weight.set && r->blkio_leaf_weight.v != 0 &&
            (q = cg_knob_setf(m, dir, "blkio.leaf_weight", dry_run, "%" PRIu64, r->blkio_leaf_weight.v)) < 0)
                return q;
        if ((q = apply_devvals(m, dir, wd, r->blkio_weight_device, r->n_blkio_weight_device, false, dry_run)) <
                            0 ||
            (q = apply_devvals(
                             m, dir, "blkio.leaf_weight_device", r->blkio_weight_device,
                             r->n_blkio_weight_device, true, dry_run)) < 0 ||
            (q = apply_devvals(
                             m, dir, "blkio.throttle.read_bps_device", r->throttle_read_bps,
                             r->n_throttle_read_bps, false, dry_run)) < 0 ||
            (q = apply_devvals(
                             m, dir, "blkio.throttle.write_bps_device", r->throttle_write_bps,
                             r->n_throttle_write_bps, false, dry_run)) < 0 ||
            (q = apply_devvals(
                             m, dir, "blkio.throttle.read_iops_device", r->throttle_read_iops,
                             r->n_throttle_read_iops, false, dry_run)) < 0 ||
            (q = apply_devvals(
                             m, dir, "blkio.throttle.write_iops_device", r->throttle_write_iops,
                             r->n_throttle_write_iops, false, dry_run)) < 0)
                return q;
        return 0;
}

/* The cgroup2 directory of a hybrid host, when it has controller c (or any, for c < 0). */
static int hybrid_v2_dir(CgManager *m, int c, char **ret) {
        int i = cg_host_find_v2(m->host);
        if (i < 0 || (c >= 0 && !(m->host->hier[i].controllers & CG_MASK(c))))
                return -EOPNOTSUPP;
        *ret = cg_dir(m, (size_t) i);
        return *ret ? 0 : -ENOMEM;
}

static int apply_hugetlb_rdma(CgManager *m, const CgResources *r, bool dry_run) {
        _cleanup_free_ char *hdir = NULL, *rdir = NULL;
        int q;

        if (r->n_hugetlb > 0) {
                if (cg_dir_for(m, CG_CTRL_HUGETLB, false, &hdir) >= 0) {
                        for (size_t i = 0; i < r->n_hugetlb; i++) {
                                char knob[64];
                                snprintf(knob, sizeof knob, "hugetlb.%s.limit_in_bytes",
                                         r->hugetlb[i].page_size);
                                q = cg_knob_setf(
                                                m, hdir, knob, dry_run, "%" PRIu64,
                                                MIN(r->hugetlb[i].limit, (uint64_t) INT64_MAX));
                                if (q < 0)
                                        return q;
                        }
                } else if (hybrid_v2_dir(m, CG_CTRL_HUGETLB, &hdir) >= 0) {
                        if ((q = cg_v2_apply_hugetlb(m, hdir, r, dry_run)) < 0)
                                return q;
                } else
                        return cg_fail(m, -EOPNOTSUPP,
                                       "hugetlb limits need the hugetlb controller, which this host "
                                       "has neither in v1 nor in its cgroup2 mount");
        }
        if (r->n_rdma > 0) {
                if (cg_dir_for(m, CG_CTRL_RDMA, false, &rdir) < 0 && hybrid_v2_dir(m, CG_CTRL_RDMA, &rdir) < 0)
                        return cg_fail(m, -EOPNOTSUPP,
                                       "rdma limits need the rdma controller, which this host lacks");
                if ((q = cg_v2_apply_rdma(m, rdir, r, dry_run)) < 0)
                        return q;
        }
        return 0;
}

static int apply_unified(CgManager *m, const CgResources *r, bool dry_run) {
        _cleanup_free_ char *dir = NULL;

        if (r->n_unified == 0)
                return 0;
        if (hybrid_v2_dir(m, -1, &dir) < 0)
                return cg_fail(m, -EOPNOTSUPP, "the 'unified' map needs cgroup v2; this host is %s",
                               cg_layout_to_string(m->host->layout));
        return cg_v2_apply_unified(m, dir, r, dry_run);
}

static int write_device_rule(CgManager *m, const char *dir, const CgDeviceRule *d, bool dry_run) {
        const char *knob = d->allow ? "devices.allow" : "devices.deny";
        char maj[24] = "*", min[24] = "*";
        int q;

        if (d->major >= 0)
                snprintf(maj, sizeof maj, "%" PRId64, d->major);
        if (d->minor >= 0)
                snprintf(min, sizeof min, "%" PRId64, d->minor);
        if (d->type != 'a')
                return cg_knob_setf(m, dir, knob, dry_run, "%c %s:%s %.3s", d->type, maj, min, d->access);
        /* v1's "a" takes no numbers or access: spell a partial "all" rule as one rule per type. */
        if ((q = cg_knob_setf(m, dir, knob, dry_run, "b %s:%s %.3s", maj, min, d->access)) < 0)
                return q;
        return cg_knob_setf(m, dir, knob, dry_run, "c %s:%s %.3s", maj, min, d->access);
}

static bool rule_is_everything(const CgDeviceRule *d) {
        return d->type == 'a' && d->major < 0 && d->minor < 0 && strchr(d->access, 'r') &&
                        strchr(d->access, 'w') && strchr(d->access, 'm');
}

static int apply_devices(CgManager *m, const CgResources *r, bool dry_run) {
        _cleanup_free_ char *dir = NULL;
        size_t start = 0;
        bool base_allow = false;
        int q;

        if (!r->devices_set)
                return 0;
        if ((q = v1_dir(m, CG_CTRL_DEVICES, "device rules", &dir)) < 0)
                return q;
        /* Later rules win: a rule covering every device resets the list, so start from the last such rule. */
        for (size_t i = 0; i < r->n_devices; i++)
                if (rule_is_everything(&r->devices[i])) {
                        start = i + 1;
                        base_allow = r->devices[i].allow;
                }
        if ((q = cg_knob_set(m, dir, base_allow ? "devices.allow" : "devices.deny", "a", dry_run)) < 0)
                return q;
        if (dry_run) {
                /* Rules only ever name these two knobs: check each once, not once per rule. */
                bool allow = false, deny = false;
                for (size_t i = start; i < r->n_devices; i++)
                        *(r->devices[i].allow ? &allow : &deny) = true;
                if ((allow && !base_allow && (q = cg_knob_set(m, dir, "devices.allow", NULL, true)) < 0) ||
                    (deny && base_allow && (q = cg_knob_set(m, dir, "devices.deny", NULL, true)) < 0))
                        return q;
                return 0;
        }
        for (size_t i = start; i < r->n_devices; i++)
                if ((q = write_device_rule(m, dir, &r->devices[i], dry_run)) < 0)
                        return q;
        return 0;
}

static int v1_apply_pass(CgManager *m, const CgResources *r, bool dry_run) {
        int q;

        if ((q = apply_memory(m, r, dry_run)) < 0 || (q = apply_cpu(m, r, dry_run)) < 0 ||
            (q = apply_cpuset_pids(m, r, dry_run)) < 0 || (q = apply_blkio(m, r, dry_run)) < 0 ||
            (q = apply_hugetlb_rdma(m, r, dry_run)) < 0 || (q = apply_unified(m, r, dry_run)) < 0 ||
            (q = apply_devices(m, r, dry_run)) < 0)
                return q;
        return 0;
}

static int v1_apply(CgManager *m, const CgResources *r) {
        int q = v1_apply_pass(m, r, true);
        if (q < 0)
                return q;
        return v1_apply_pass(m, r, false);
}

static int freezer_state(const char *dir, char **ret) {
        int r = cg_read(dir, "freezer.state", ret);
        if (r >= 0)
                (*ret)[strcspn(*ret, "\n")] = 0;
        return r;
}

static int v1_freeze(CgManager *m, bool frozen) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * 1000000ULL, wait = 200;
        const char *want = frozen ? "FROZEN" : "THAWED";
        _cleanup_free_ char *dir = NULL;
        int r;

        if (cg_dir_for(m, CG_CTRL_FREEZER, false, &dir) < 0) {
                if (hybrid_v2_dir(m, -1, &dir) >= 0 && cg_knob_exists(dir, "cgroup.freeze"))
                        return cg_v2_freeze_dir(m, dir, frozen);
                return cg_fail(m, -EOPNOTSUPP,
                               "freezing needs the v1 freezer or cgroup v2; this host has neither");
        }
        for (;;) {
                _cleanup_free_ char *state = NULL;
                /* Writing FROZEN again nudges a FREEZING cgroup whose tasks were busy the first time. */
                r = cg_write(dir, "freezer.state", want);
                if (r < 0)
                        return cg_fail(m, r, "cannot write %s to %s/freezer.state: %s", want, dir,
                                       strerror(-r));
                if (m->host->fake)
                        return 0;
                r = freezer_state(dir, &state);
                if (r < 0)
                        return cg_fail(m, r, "cannot read %s/freezer.state: %s", dir, strerror(-r));
                if (streq(state, want))
                        return 0;
                if (now_usec(CLOCK_MONOTONIC) >= deadline) {
                        if (frozen)
                                (void) cg_write(dir, "freezer.state", "THAWED");
                        return cg_fail(m, -ETIMEDOUT, "%s stayed %s instead of %s for 10 s", dir, state, want);
                }
                cg_sleep_usec(wait);
                wait = MIN(wait * 2, 20000u);
        }
}

static int v1_is_frozen(CgManager *m) {
        _cleanup_free_ char *dir = NULL, *state = NULL;
        int r;

        if (cg_dir_for(m, CG_CTRL_FREEZER, false, &dir) < 0) {
                if (hybrid_v2_dir(m, -1, &dir) >= 0 && cg_knob_exists(dir, "cgroup.freeze"))
                        return cg_v2_is_frozen_dir(dir);
                return cg_fail(m, -EOPNOTSUPP, "no freezer on this host");
        }
        r = freezer_state(dir, &state);
        if (r < 0)
                return cg_fail(m, r, "cannot read %s/freezer.state: %s", dir, strerror(-r));
        return streq(state, "FROZEN") ? 1 : 0;
}

/* Read one value; missing controller or knob leaves *dst alone. */
static int stat_value(CgManager *m, CgController c, const char *knob, uint64_t *dst) {
        _cleanup_free_ char *dir = NULL;
        int r;

        if (cg_dir_for(m, c, false, &dir) < 0)
                return 0;
        r = cg_read_u64(dir, knob, dst);
        if (r == -ENOENT || r == -ENODEV)
                return 0;
        if (r < 0)
                return cg_fail(m, r, "cannot read %s/%s: %s", dir, knob, strerror(-r));
        return 0;
}

static int stat_keys(
                CgManager *m,
                CgController c,
                const char *knob,
                const char *const *keys,
                uint64_t **dst,
                size_t n) {
        _cleanup_free_ char *dir = NULL, *s = NULL;
        int r;

        if (cg_dir_for(m, c, false, &dir) < 0)
                return 0;
        r = cg_read(dir, knob, &s);
        if (r == -ENOENT || r == -ENODEV)
                return 0;
        if (r < 0)
                return cg_fail(m, r, "cannot read %s/%s: %s", dir, knob, strerror(-r));
        for (size_t i = 0; i < n; i++) {
                r = cg_parse_keyed(s, keys[i], dst[i]);
                if (r == -EINVAL)
                        return cg_fail(m, r, "%s/%s: malformed value for '%s'", dir, knob, keys[i]);
        }
        return 0;
}

static int stat_blkio(CgManager *m, const char *knob, uint64_t *rd, uint64_t *wr) {
        _cleanup_free_ char *dir = NULL, *s = NULL, *rec = NULL;
        int r;

        if (cg_dir_for(m, CG_CTRL_BLKIO, false, &dir) < 0)
                return 0;
        if (xasprintf(&rec, "%s_recursive", knob) < 0)
                return -ENOMEM;
        r = cg_read(dir, rec, &s);
        if (r == -ENOENT)
                r = cg_read(dir, knob, &s);
        if (r == -ENOENT || r == -ENODEV)
                return 0;
        if (r < 0)
                return cg_fail(m, r, "cannot read %s/%s: %s", dir, knob, strerror(-r));
        if (cg_parse_blkio_stat(s, rd, wr) < 0)
                return cg_fail(m, -EINVAL, "%s/%s: malformed", dir, knob);
        return 0;
}

static uint64_t unlimited(uint64_t v) {
        return v >= V1_UNLIMITED_MIN ? UINT64_MAX : v;
}

static int v1_stats_cpu(CgManager *m, CgStats *s) {
        uint64_t ns = 0, user_ns = UINT64_MAX, sys_ns = UINT64_MAX, user_t = 0, sys_t = 0, thr_ns = 0;
        long tck = sysconf(_SC_CLK_TCK);
        int r;

        if ((r = stat_value(m, CG_CTRL_CPUACCT, "cpuacct.usage", &ns)) < 0 ||
            (r = stat_value(m, CG_CTRL_CPUACCT, "cpuacct.usage_user", &user_ns)) < 0 ||
            (r = stat_value(m, CG_CTRL_CPUACCT, "cpuacct.usage_sys", &sys_ns)) < 0 ||
            (r = stat_keys(m, CG_CTRL_CPUACCT, "cpuacct.stat", (const char *const[]){ "user", "system" },
                           (uint64_t *[]){ &user_t, &sys_t }, 2)) < 0 ||
            (r = stat_keys(m, CG_CTRL_CPU, "cpu.stat",
                           (const char *const[]){ "nr_periods", "nr_throttled", "throttled_time" },
                           (uint64_t *[]){ &s->cpu_nr_periods, &s->cpu_nr_throttled, &thr_ns }, 3)) < 0)
                return r;
        s->cpu_usage_usec = ns / 1000;
        /* usage_user/usage_sys (Linux 4.15) are exact; cpuacct.stat counts USER_HZ ticks. */
        s->cpu_user_usec = user_ns != UINT64_MAX ? user_ns / 1000
                                                 : user_t * (1000000 / (uint64_t) (tck > 0 ? tck : 100));
        s->cpu_system_usec = sys_ns != UINT64_MAX ? sys_ns / 1000
                                                  : sys_t * (1000000 / (uint64_t) (tck > 0 ? tck : 100));
        s->cpu_throttled_usec = thr_ns / 1000;
        return 0;
}

static int v1_stats(CgManager *m, CgStats *s) {
        uint64_t memsw = 0, memsw_fail = 0, rss = 0, cache = 0, trss = UINT64_MAX, tcache = UINT64_MAX;
        _cleanup_free_ char *v2 = NULL;
        int r;

        if ((r = v1_stats_cpu(m, s)) < 0 ||
            (r = stat_value(m, CG_CTRL_MEMORY, "memory.usage_in_bytes", &s->memory_current)) < 0 ||
            (r = stat_value(m, CG_CTRL_MEMORY, "memory.limit_in_bytes", &s->memory_max)) < 0 ||
            (r = stat_value(m, CG_CTRL_MEMORY, "memory.memsw.usage_in_bytes", &memsw)) < 0 ||
            (r = stat_value(m, CG_CTRL_MEMORY, "memory.kmem.usage_in_bytes", &s->memory_kernel)) < 0 ||
            (r = stat_value(m, CG_CTRL_MEMORY, "memory.failcnt", &s->memory_max_events)) < 0 ||
            (r = stat_value(m, CG_CTRL_MEMORY, "memory.memsw.failcnt", &memsw_fail)) < 0 ||
            (r = stat_keys(m, CG_CTRL_MEMORY, "memory.stat",
                           (const char *const[]){ "rss", "cache", "total_rss", "total_cache" },
                           (uint64_t *[]){ &rss, &cache, &trss, &tcache }, 4)) < 0 ||
            (r = stat_keys(m, CG_CTRL_MEMORY, "memory.oom_control", (const char *const[]){ "oom_kill" },
                           (uint64_t *[]){ &s->memory_oom_kill }, 1)) < 0 ||
            (r = stat_value(m, CG_CTRL_PIDS, "pids.current", &s->pids_current)) < 0 ||
            (r = stat_value(m, CG_CTRL_PIDS, "pids.max", &s->pids_max)) < 0 ||
            (r = stat_blkio(m, "blkio.throttle.io_service_bytes", &s->io_read_bytes, &s->io_write_bytes)) < 0 ||
            (r = stat_blkio(m, "blkio.throttle.io_serviced", &s->io_read_ops, &s->io_write_ops)) < 0)
                return r;
        s->memory_max = unlimited(s->memory_max);
        /* With swap accounting the memory+swap counter is charged first and takes the hits. */
        s->memory_max_events += memsw_fail;
        s->memory_swap_current = memsw > s->memory_current ? memsw - s->memory_current : 0;
        /* Hierarchical totals include child cgroups, like v2's memory.stat. */
        s->memory_anon = trss != UINT64_MAX ? trss : rss;
        s->memory_file = tcache != UINT64_MAX ? tcache : cache;
        /* v1 has no count of OOM situations apart from kills. */
        s->memory_oom = s->memory_oom_kill;
        if (hybrid_v2_dir(m, -1, &v2) >= 0)
                cg_v2_read_psi(v2, s);
        return 0;
}

const CgBackend cg_backend_v1 = {
        .name = "v1",
        .post_create = v1_post_create,
        .apply = v1_apply,
        .freeze = v1_freeze,
        .is_frozen = v1_is_frozen,
        .stats = v1_stats,
};
