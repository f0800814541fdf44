/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * libaula-cgroups: one manager interface over cgroup v2 (unified) and
 * cgroup v1/hybrid hosts.
 *
 * A CgManager stands for one cgroup path (absolute, e.g. "/aula/lab1/ana"),
 * present in every hierarchy the host has: on unified hosts one directory
 * below the cgroup2 mount; on v1/hybrid hosts one directory in each mounted
 * v1 controller hierarchy (cpu, cpuacct, cpuset, memory, devices, freezer,
 * blkio, pids, net_cls, ..., name=systemd) plus the cgroup2 mount when the
 * host has one next to them (hybrid: /sys/fs/cgroup/unified).
 *
 * The manager only ever removes directories it created itself, never
 * unmounts or rebinds hierarchies, and never writes to cgroups it did not
 * create except cgroup.subtree_control of ancestors on v2 (to enable the
 * controllers the container needs) and cgroup.procs of its own cgroup.
 *
 * Non-logging (debug level only): callers log. Not thread-safe; a manager
 * belongs to one thread. Safe to use in a child after fork().
 */

#include "common.h"

typedef enum CgLayout {
        CG_LAYOUT_UNIFIED, /* /sys/fs/cgroup is cgroup2 */
        CG_LAYOUT_HYBRID, /* v1 controllers + a cgroup2 mount beside them */
        CG_LAYOUT_LEGACY, /* v1 only */
        _CG_LAYOUT_MAX,
        _CG_LAYOUT_INVALID = -EINVAL,
} CgLayout;

/* Detected once per process and cached. Root of the hierarchies: /sys/fs/cgroup, or $AULA_CGROUP_ROOT for tests. */
int cg_layout(CgLayout *ret);
const char *cg_layout_to_string(CgLayout l);

typedef struct CgManager CgManager;

/* Opens no files. path must be absolute and must not contain "..". */
int cg_manager_new(const char *path, CgManager **ret);
CgManager *cg_manager_free(CgManager *m);
DEFINE_CLEANUP_FUNC(CgManager *, cg_manager_free);

const char *cg_manager_path(const CgManager *m);

/*
 * A one-line description of the last failure of a call on m (which knob,
 * which value, why), or NULL. Valid until the next call on m. For callers'
 * error messages, since this library does not log.
 */
const char *cg_manager_error(const CgManager *m);

/*
 * Create the cgroup in every hierarchy (mkdir -p), remembering which
 * directories were created here so cg_manager_destroy() removes only those.
 * On v2 enables the needed controllers in ancestors' cgroup.subtree_control.
 * An already existing cgroup is joined, not an error.
 */
int cg_manager_create(CgManager *m);

/* Move pid into the cgroup in every hierarchy. */
int cg_manager_enter(CgManager *m, pid_t pid);

/*
 * Move the calling process, which must be single-threaded, into the cgroup
 * in every hierarchy (skip_v2: all but the cgroup2 one, joined at clone
 * time). On v1 this avoids the kernel's global migration lock and its RCU
 * grace period (milliseconds), so a container init joins its cgroups itself.
 */
int cg_manager_enter_self(CgManager *m, bool skip_v2);

/*
 * An O_DIRECTORY fd of the cgroup's cgroup2 directory (unified or hybrid
 * layouts; -EOPNOTSUPP on legacy), for clone3(CLONE_INTO_CGROUP) of a child
 * that joins its v1 hierarchies itself with cg_manager_enter_self().
 */
int cg_manager_open_v2(CgManager *m, int *ret_fd);

/*
 * An O_DIRECTORY fd of the cgroup2 directory for clone3(CLONE_INTO_CGROUP),
 * or -EOPNOTSUPP when the layout has no usable cgroup2 directory for the
 * whole container (legacy, or hybrid where controllers live in v1).
 * The caller owns the fd.
 */
int cg_manager_open_unified(CgManager *m, int *ret_fd);

/*
 * Fork a child that is inside the cgroup, in every hierarchy, before it runs
 * any of the caller's code: clone3(CLONE_INTO_CGROUP) on unified hosts
 * (Linux 5.7); on hybrid/legacy hosts or older kernels a plain clone whose
 * child waits until the parent has moved it (cg_manager_enter()).
 * flags: extra clone flags, namespaces (CLONE_NEW*) and CLONE_FS, FILES,
 * SYSVSEM, PARENT, PTRACE, UNTRACED, IO; anything else (a shared address
 * space, a stack, the exit signal, CLONE_PIDFD) is -EINVAL. The exit signal
 * is SIGCHLD. ret_pidfd, when not NULL, receives a pidfd (O_CLOEXEC) of the
 * child, or -errno if none could be had on a kernel without pidfds.
 * Returns like fork(): the child's pid in the parent, 0 in the child, -errno
 * in the parent (nothing left running). The child comes from a raw clone: in
 * a multithreaded parent it may only call async-signal-safe functions until
 * it execs.
 */
int cg_manager_clone(CgManager *m, uint64_t flags, int *ret_pidfd);

/* Persist/restore which directories the manager created (an opaque string for state files). */
int cg_manager_save(const CgManager *m, char **ret);
int cg_manager_load(const char *saved, CgManager **ret);

/* ------------------------------------------------------------- resources */

typedef struct CgOptU64 {
        bool set;
        uint64_t v;
} CgOptU64;

typedef struct CgOptI64 {
        bool set;
        int64_t v;
} CgOptI64;

typedef struct CgDeviceRule {
        bool allow;
        char type; /* 'a', 'c', 'b' */
        int64_t major, minor; /* -1 = any */
        char access[4]; /* subset of "rwm" */
} CgDeviceRule;

typedef struct CgDeviceValue {
        int64_t major, minor;
        uint64_t value; /* weight or rate */
        uint64_t leaf_value; /* v1 leaf weight, 0 = unset */
} CgDeviceValue;

typedef struct CgHugetlb {
        char *page_size; /* "2MB" */
        uint64_t limit;
} CgHugetlb;

typedef struct CgKeyValue {
        char *key;
        char *value;
} CgKeyValue;

/*
 * Resources in the runtime-spec's (v1-flavoured) units; the v2 backend
 * converts (cpu shares -> cpu.weight, blkio weight -> io.weight, swap ->
 * memory.swap.max = swap - limit, ...). Unset fields are left alone.
 * Memory values of -1 mean "unlimited".
 */
typedef struct CgResources {
        CgOptI64 memory_limit, memory_reservation, memory_swap;
        CgOptU64 memory_swappiness;
        bool memory_disable_oom_killer;
        CgOptU64 cpu_shares, cpu_period, cpu_burst, cpu_rt_period;
        CgOptI64 cpu_quota, cpu_rt_runtime, cpu_idle;
        char *cpuset_cpus, *cpuset_mems;
        CgOptI64 pids_limit; /* <= 0 = unlimited */
        CgOptU64 blkio_weight, blkio_leaf_weight;
        CgDeviceValue *blkio_weight_device;
        size_t n_blkio_weight_device;
        CgDeviceValue *throttle_read_bps, *throttle_write_bps, *throttle_read_iops, *throttle_write_iops;
        size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops, n_throttle_write_iops;
        CgHugetlb *hugetlb;
        size_t n_hugetlb;
        CgKeyValue *rdma; /* device -> "hca_handle=N hca_object=M" */
        size_t n_rdma;
        CgKeyValue *unified; /* v2 file -> value; keys validated (no '/', no "..", must exist) */
        size_t n_unified;
        CgDeviceRule *devices; /* in order; later rules win, as in the spec */
        size_t n_devices;
        bool devices_set; /* apply device rules at all */
} CgResources;

void cg_resources_done(CgResources *r);

/*
 * Apply resources. Applying to a cgroup with processes in it is `update`.
 * Returns -EOPNOTSUPP (with nothing half-applied where avoidable) for what
 * the layout cannot do, e.g. io.max on a hybrid host without blkio.
 */
int cg_manager_apply(CgManager *m, const CgResources *r);

/* ------------------------------------------------------------ lifecycle */

/* Freeze (true) or thaw (false); waits until the state is reached. */
int cg_manager_freeze(CgManager *m, bool frozen);
/* 1 frozen, 0 not frozen. */
int cg_manager_is_frozen(CgManager *m);
/* Send sig to every process of the cgroup (cgroup.kill on v2 for SIGKILL). */
int cg_manager_kill(CgManager *m, int sig);
/* PIDs in the cgroup (and below). Caller frees *ret. */
int cg_manager_pids(CgManager *m, pid_t **ret, size_t *ret_n);
/*
 * Remove the directories this manager created, deepest first, retrying
 * for up to timeout_usec and SIGKILLing stragglers. Missing is fine.
 */
int cg_manager_destroy(CgManager *m, uint64_t timeout_usec);

/* ---------------------------------------------------------------- stats */

typedef struct CgStats {
        uint64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
        uint64_t cpu_nr_periods, cpu_nr_throttled, cpu_throttled_usec;
        uint64_t memory_current, memory_max, memory_swap_current;
        uint64_t memory_anon, memory_file, memory_kernel;
        uint64_t memory_oom, memory_oom_kill;
        uint64_t pids_current, pids_max;
        uint64_t io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
        /* PSI "some avg10" and totals (usec) when available, else 0 */
        double cpu_pressure_avg10, memory_pressure_avg10, io_pressure_avg10;
        uint64_t cpu_pressure_total, memory_pressure_total, io_pressure_total;
        /* Times usage hit the limit: v2 memory.events "max", v1 memory.failcnt. */
        uint64_t memory_max_events;
} CgStats;

int cg_manager_stats(CgManager *m, CgStats *ret);
