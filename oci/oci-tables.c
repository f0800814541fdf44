/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Name tables of the runtime-spec: each is indexed by the value it names,
 * so one lookup function serves them all.
 */
#include <sched.h>
#include <sys/resource.h>

#include "oci-internal.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define NAMES(w, table) \
        { .what = (w), .names = (table), .n = ELEMENTSOF(table) }

/* config-linux.md, Namespaces. */
static const char *const namespace_names[_OCI_NS_MAX] = {
        [OCI_NS_PID] = "pid",       [OCI_NS_NETWORK] = "network", [OCI_NS_MOUNT] = "mount",
        [OCI_NS_IPC] = "ipc",       [OCI_NS_UTS] = "uts",         [OCI_NS_USER] = "user",
        [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};
const OciNames oci_namespace_names = NAMES("namespace type", namespace_names);

static const unsigned long namespace_flags[_OCI_NS_MAX] = {
        [OCI_NS_PID] = CLONE_NEWPID,       [OCI_NS_NETWORK] = CLONE_NEWNET, [OCI_NS_MOUNT] = CLONE_NEWNS,
        [OCI_NS_IPC] = CLONE_NEWIPC,       [OCI_NS_UTS] = CLONE_NEWUTS,     [OCI_NS_USER] = CLONE_NEWUSER,
        [OCI_NS_CGROUP] = CLONE_NEWCGROUP, [OCI_NS_TIME] = CLONE_NEWTIME,
};

/* capabilities(7), numbered as in linux/capability.h (CAP_LAST_CAP is 40 as of Linux 5.9). */
static const char *const capability_names[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};
const OciNames oci_capability_names = NAMES("capability", capability_names);

/* getrlimit(2), numbered as in sys/resource.h. */
static const char *const rlimit_names[] = {
        [RLIMIT_CPU] = "RLIMIT_CPU",           [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
        [RLIMIT_DATA] = "RLIMIT_DATA",         [RLIMIT_STACK] = "RLIMIT_STACK",
        [RLIMIT_CORE] = "RLIMIT_CORE",         [RLIMIT_RSS] = "RLIMIT_RSS",
        [RLIMIT_NPROC] = "RLIMIT_NPROC",       [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
        [RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",   [RLIMIT_AS] = "RLIMIT_AS",
        [RLIMIT_LOCKS] = "RLIMIT_LOCKS",       [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
        [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
        [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",     [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};
const OciNames oci_rlimit_names = NAMES("rlimit", rlimit_names);

static const char *const hook_names[_OCI_HOOK_MAX] = {
        [OCI_HOOK_PRESTART] = "prestart",
        [OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
        [OCI_HOOK_CREATE_CONTAINER] = "createContainer",
        [OCI_HOOK_START_CONTAINER] = "startContainer",
        [OCI_HOOK_POSTSTART] = "poststart",
        [OCI_HOOK_POSTSTOP] = "poststop",
};
const OciNames oci_hook_names = NAMES("hook", hook_names);

/* runtime.md, State; "paused" is runc's addition. */
static const char *const status_names[_OCI_STATUS_MAX] = {
        [OCI_STATUS_CREATING] = "creating", [OCI_STATUS_CREATED] = "created",
        [OCI_STATUS_RUNNING] = "running",   [OCI_STATUS_STOPPED] = "stopped",
        [OCI_STATUS_PAUSED] = "paused",
};
const OciNames oci_status_names = NAMES("status", status_names);

/* config.md, Linux Process: scheduler, numbered as in linux/sched.h (SCHED_ISO is reserved, 4). */
static const char *const sched_policy_names[] = {
        "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE",
};
const OciNames oci_sched_policy_names = NAMES("scheduler policy", sched_policy_names);

/* Bit n of sched_attr.sched_flags (linux/sched.h: SCHED_FLAG_RESET_ON_FORK is 0x01, ...). */
static const char *const sched_flag_names[] = {
        "SCHED_FLAG_RESET_ON_FORK",  "SCHED_FLAG_RECLAIM",     "SCHED_FLAG_DL_OVERRUN",
        "SCHED_FLAG_KEEP_POLICY",    "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
        "SCHED_FLAG_UTIL_CLAMP_MAX",
};
const OciNames oci_sched_flag_names = NAMES("scheduler flag", sched_flag_names);

/* IOPRIO_CLASS_* of linux/ioprio.h. */
static const char *const ioprio_class_names[] = {
        [1] = "IOPRIO_CLASS_RT",
        [2] = "IOPRIO_CLASS_BE",
        [3] = "IOPRIO_CLASS_IDLE",
};
const OciNames oci_ioprio_class_names = NAMES("I/O priority class", ioprio_class_names);

/* config-linux.md, Seccomp (libseccomp 2.5 names, plus architectures added by libseccomp 2.6). */
static const char *const seccomp_action_names[] = {
        "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
        "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY",
};
const OciNames oci_seccomp_action_names = NAMES("seccomp action", seccomp_action_names);

static const char *const seccomp_op_names[] = {
        "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
        "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};
const OciNames oci_seccomp_op_names = NAMES("seccomp operator", seccomp_op_names);

static const char *const seccomp_arch_names[] = {
        "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
        "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};
const OciNames oci_seccomp_arch_names = NAMES("seccomp architecture", seccomp_arch_names);

static const char *const seccomp_flag_names[] = {
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};
const OciNames oci_seccomp_flag_names = NAMES("seccomp flag", seccomp_flag_names);

/* config-linux.md, Rootfs Mount Propagation (the r* forms are accepted as runc does). */
static const char *const propagation_names[] = {
        "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable",
};
const OciNames oci_propagation_names = NAMES("propagation", propagation_names);

static const char *const personality_domain_names[] = { "LINUX", "LINUX32" };
const OciNames oci_personality_domain_names = NAMES("personality domain", personality_domain_names);

/* ----------------------------------------------------------- public API */

const char *oci_namespace_type_to_string(OciNamespaceType t) {
        return oci_names_get(&oci_namespace_names, t);
}

OciNamespaceType oci_namespace_type_from_string(const char *s) {
        return s ? oci_names_lookup(&oci_namespace_names, s) : _OCI_NS_INVALID;
}

unsigned long oci_namespace_clone_flag(OciNamespaceType t) {
        return t >= 0 && t < _OCI_NS_MAX ? namespace_flags[t] : 0;
}

const char *oci_hook_kind_to_string(OciHookKind k) {
        return oci_names_get(&oci_hook_names, k);
}

int oci_capability_from_string(const char *s) {
        return s ? oci_names_lookup(&oci_capability_names, s) : -EINVAL;
}

const char *oci_capability_to_string(int cap) {
        return oci_names_get(&oci_capability_names, cap);
}

int oci_rlimit_from_string(const char *s) {
        return s ? oci_names_lookup(&oci_rlimit_names, s) : -EINVAL;
}

const char *oci_rlimit_to_string(int resource) {
        return oci_names_get(&oci_rlimit_names, resource);
}

const char *oci_status_to_string(OciStatus s) {
        return oci_names_get(&oci_status_names, s);
}

OciStatus oci_status_from_string(const char *s) {
        return s ? oci_names_lookup(&oci_status_names, s) : _OCI_STATUS_INVALID;
}
