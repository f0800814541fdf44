/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Internal to cgroups/: the host description (which hierarchies exist and
 * where), the backend ops table, knob helpers, and the pure conversions and
 * parsers (cg-convert.c) and eBPF device program generator (cg-bpf.c) that
 * unit tests exercise directly. No other folder may include this file.
 */

#include <dirent.h>
#include <linux/bpf.h>

#include "cgroups.h"

/* Controllers we know by name. v1 hierarchies carry a set of them; the v2 tree carries its cgroup.controllers. */
typedef enum CgController {
        CG_CTRL_CPU,
        CG_CTRL_CPUACCT,
        CG_CTRL_CPUSET,
        CG_CTRL_MEMORY,
        CG_CTRL_DEVICES,
        CG_CTRL_FREEZER,
        CG_CTRL_BLKIO,
        CG_CTRL_IO,
        CG_CTRL_PIDS,
        CG_CTRL_HUGETLB,
        CG_CTRL_RDMA,
        CG_CTRL_MISC,
        CG_CTRL_NET_CLS,
        CG_CTRL_NET_PRIO,
        CG_CTRL_PERF_EVENT,
        _CG_CTRL_MAX,
        _CG_CTRL_INVALID = -EINVAL,
} CgController;

#define CG_MASK(c) (1U << (c))

static inline void *cg_mfree(void *p) {
        free(p);
        return NULL;
}

static inline void cg_closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

const char *cg_controller_to_string(CgController c);
CgController cg_controller_from_string(const char *s);

typedef struct CgHierarchy {
        char *name; /* directory below the root: "memory", "cpu,cpuacct", "systemd", "unified"; "" = the root */
        bool v2;
        uint32_t controllers; /* CG_MASK() set: mounted (v1) or available at the root (v2) */
} CgHierarchy;

typedef struct CgHost {
        char *root; /* "/sys/fs/cgroup" or $AULA_CGROUP_ROOT */
        bool fake; /* root overridden: plain directories, no statfs checks */
        CgLayout layout;
        CgHierarchy *hier;
        size_t n_hier;
} CgHost;

/* Describe the cgroup tree at root. check_fs: require the real cgroup/cgroup2 filesystems (statfs). */
int cg_host_detect(const char *root, bool check_fs, CgHost **ret);
CgHost *cg_host_free(CgHost *h);
DEFINE_CLEANUP_FUNC(CgHost *, cg_host_free);
/* The process-wide host description, detected on first use. */
int cg_host_get(const CgHost **ret);
/* Forget the cached description (tests switching $AULA_CGROUP_ROOT). */
void cg_host_reset(void);
/* Index of the hierarchy holding controller c (v1 mounts first; for hybrid, then the cgroup2 mount), or -ENOENT. */
int cg_host_find(const CgHost *h, CgController c, bool allow_v2);
int cg_host_find_v2(const CgHost *h);

typedef struct CgBackend CgBackend;

struct CgManager {
        char *path; /* "/aula/lab1/ana", normalized (single slashes, no trailing '/') */
        const CgHost *host;
        const CgBackend *backend;
        unsigned *created; /* per host->hier: trailing path components created by this manager */
        char *error; /* last error, one line, for callers to log */
        bool cloned_into; /* the last cg_manager_clone() used CLONE_INTO_CGROUP (tests look) */
};

struct CgBackend {
        const char *name;
        /* After the directories exist: enable controllers (v2), initialize cpuset (v1). */
        int (*post_create)(CgManager *m, bool created_any);
        int (*apply)(CgManager *m, const CgResources *r);
        int (*freeze)(CgManager *m, bool frozen);
        int (*is_frozen)(CgManager *m);
        int (*stats)(CgManager *m, CgStats *ret);
};

extern const CgBackend cg_backend_v2;
extern const CgBackend cg_backend_v1;

/* Directory of the manager's cgroup in hierarchy i (malloc'd), or NULL on OOM. */
char *cg_dir(const CgManager *m, size_t i);
/* Same for the hierarchy holding c; -EOPNOTSUPP when no hierarchy has it. */
int cg_dir_for(const CgManager *m, CgController c, bool allow_v2, char **ret);

/* Record a one-line error on the manager (also logged at debug level); returns r. */
int cg_fail(CgManager *m, int r, const char *fmt, ...) _printf_(3, 4);

/* Knobs: dir/knob. Writes are one write(2); ENOENT means the knob (or controller) is missing. */
int cg_write(const char *dir, const char *knob, const char *value);
int cg_writef(const char *dir, const char *knob, const char *fmt, ...) _printf_(3, 4);
int cg_read(const char *dir, const char *knob, char **ret);
int cg_read_u64(const char *dir, const char *knob, uint64_t *ret);
bool cg_knob_exists(const char *dir, const char *knob);
/* Read cgroup.procs of dir and of every cgroup below it; appends to *pids. */
int cg_read_pids_recursive(const char *dir, pid_t **pids, size_t *n);
/* rmdir dir and every cgroup below it, deepest first. Missing is fine. */
int cg_rmdir_recursive(const char *dir);
/*
 * Set one knob as part of cg_manager_apply(). dry_run only checks that the knob exists (-EOPNOTSUPP with a
 * message naming it when not), so that a whole resource set is checked before anything is written.
 */
int cg_knob_set(CgManager *m, const char *dir, const char *knob, const char *value, bool dry_run);
int cg_knob_setf(CgManager *m, const char *dir, const char *knob, bool dry_run, const char *fmt, ...)
                _printf_(5, 6);
/* cg_knob_set() of v as cg_format_max() writes it (negative: "max"). */
int cg_knob_set_max(CgManager *m, const char *dir, const char *knob, int64_t v, bool dry_run);

/* Shared with the hybrid backend: the cgroup2 side (cg-v2.c). */
/* Enable controllers in `wanted` in cgroup.subtree_control of every ancestor of the cgroup in hierarchy i. */
int cg_v2_enable_controllers(CgManager *m, size_t i, uint32_t wanted);
int cg_v2_freeze_dir(CgManager *m, const char *dir, bool frozen);
int cg_v2_is_frozen_dir(const char *dir);
int cg_v2_apply_hugetlb(CgManager *m, const char *dir, const CgResources *r, bool dry_run);
int cg_v2_apply_rdma(CgManager *m, const char *dir, const CgResources *r, bool dry_run);
int cg_v2_apply_unified(CgManager *m, const char *dir, const CgResources *r, bool dry_run);
/* PSI of dir into s (missing files leave zeros). */
void cg_v2_read_psi(const char *dir, CgStats *s);

/* Sleep helper for retry loops. */
void cg_sleep_usec(uint64_t usec);

/* ------------------------------------------------------- conversions (cg-convert.c) */

/* runc's formula: [2, 262144] -> [1, 10000]; 0 -> 0 (unset). Out-of-range shares are clamped. */
uint64_t cg_cpu_shares_to_weight(uint64_t shares);
/* blkio weight [10, 1000] -> io.weight [1, 10000]; 0 -> 0 (unset). */
uint64_t cg_blkio_weight_to_io_weight(uint64_t weight);
/*
 * runtime-spec memory.swap (memory+swap) -> memory.swap.max given memory.limit.
 * Writes -1 for "max"; 0 with *ret_set=false when nothing is to be written.
 * -EINVAL: swap without a memory limit, swap < limit, negative values.
 */
int cg_memory_swap_to_v2(int64_t swap, bool limit_set, int64_t limit, int64_t *ret, bool *ret_set);
/* Format a v2 memory value: -1 (or any negative) -> "max". buf >= 24. */
const char *cg_format_max(int64_t v, char *buf, size_t size);
/* Parse "max" or a number; "max" -> UINT64_MAX. */
int cg_parse_max(const char *s, uint64_t *ret);

/* "key value\n" files (memory.stat, cpu.stat, memory.events): look up key. -ENOENT when absent, -EINVAL when malformed. */
int cg_parse_keyed(const char *text, const char *key, uint64_t *ret);
/* io.stat: sum rbytes/wbytes/rios/wios over devices. */
int cg_parse_io_stat(const char *text, uint64_t *rbytes, uint64_t *wbytes, uint64_t *rios, uint64_t *wios);
/* blkio.throttle.io_service_bytes(_recursive) / io_serviced: sum "Read" and "Write" over devices. */
int cg_parse_blkio_stat(const char *text, uint64_t *read, uint64_t *write);
/* PSI: the "some" line's avg10 and total. */
int cg_parse_psi(const char *text, double *ret_avg10, uint64_t *ret_total);

/* A unified-map key: "<controller>.<knob>" or "cgroup.<knob>", no '/', not a process-moving file. */
int cg_unified_key_valid(const char *key);
/* Values written to knobs must be one line. */
bool cg_value_valid(const char *v);

/* ------------------------------------------------------- eBPF device filter (cg-bpf.c) */

/* Upper bound on device rules we compile; more is -E2BIG. */
#define CG_BPF_MAX_RULES 4096

/*
 * Compile rules into a BPF_PROG_TYPE_CGROUP_DEVICE program: for every access
 * bit requested (m, r, w), the last rule that matches the device and names
 * that bit decides; no matching rule denies. Returns 1 allow / 0 deny.
 */
int cg_bpf_device_program(const CgDeviceRule *rules, size_t n, struct bpf_insn **ret, size_t *ret_n);
/* Load the program and make it the only BPF_CGROUP_DEVICE program on the cgroup directory. */
int cg_bpf_device_attach(const char *dir, const struct bpf_insn *insns, size_t n, char **ret_log);
/* Reference semantics of the rules, for tests and for v1 comparisons: 1 allow, 0 deny. */
int cg_devices_decide(const CgDeviceRule *rules, size_t n, char type, uint32_t major, uint32_t minor, unsigned access);
/* Validate one rule (type, access letters, major/minor range). */
int cg_device_rule_valid(const CgDeviceRule *rule);
