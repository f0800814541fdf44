/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Shared by rt-criu.c (the checkpoint and restore flows), rt-criu-plan.c
 * (pure decisions: which mounts and fds are external, the image metadata,
 * CRIU's log) and rt-criu-swrk.c (CRIU's RPC). Inside runtime/ only.
 */

#include <sys/stat.h>

#include "rt-internal.h"

#ifndef HAVE_CRIU_RPC
#define HAVE_CRIU_RPC 0
#endif

#define RT_CRIU_META_FILE "aula-criu.json"
#define RT_CRIU_DESCRIPTORS_FILE "descriptors.json"
#define RT_CRIU_META_VERSION 1
/* CRIU's key for an external namespace: --external net[INODE]:extRootNetNS, as runc names it. */
#define RT_CRIU_NETNS_KEY "extRootNetNS"
#define RT_CRIU_PIDNS_KEY "extRootPidNS"

/* ------------------------------------------------------------- mountinfo */

typedef struct RtMountInfo {
        int id;
        unsigned major, minor;
        char *root; /* the path inside its filesystem that is mounted */
        char *mountpoint;
        char *fstype;
} RtMountInfo;

/* Parse /proc/<pid>/mountinfo text (octal escapes decoded). Lines that do not parse are skipped. */
int rt_mountinfo_parse(const char *text, RtMountInfo **ret, size_t *ret_n);
void rt_mountinfo_free(RtMountInfo *m, size_t n);

typedef struct RtMountInfoList {
        RtMountInfo *l;
        size_t n;
} RtMountInfoList;

static inline void rt_mountinfo_freep(RtMountInfoList *m) {
        rt_mountinfo_free(m->l, m->n);
}

/* ------------------------------------------------------- external mounts */

typedef enum RtExtMountKind {
        RT_EXT_MOUNT_BIND, /* a bind mount of config.json: re-bound from its (bundle's) source */
        RT_EXT_MOUNT_CGROUP, /* the container's cgroup bound from the host: re-bound from the new cgroup */
        RT_EXT_MOUNT_HOST, /* anything else from the host (device nodes in a user ns): the same path */
        _RT_EXT_MOUNT_KIND_MAX,
        _RT_EXT_MOUNT_KIND_INVALID = -EINVAL,
} RtExtMountKind;

const char *rt_ext_mount_kind_to_string(RtExtMountKind k);
RtExtMountKind rt_ext_mount_kind_from_string(const char *s);

typedef struct RtExtMount {
        char *mountpoint; /* in the container; also CRIU's cookie for it */
        RtExtMountKind kind;
        char *source; /* host path at checkpoint time; NULL: not found (binds: taken from config.json) */
        char *hierarchy; /* CGROUP: the hierarchy's mount point on the host */
        char *cgroup; /* CGROUP: the path inside it that was bound */
} RtExtMount;

void rt_ext_mounts_free(RtExtMount *m, size_t n);

/*
 * The container's mounts CRIU cannot recreate by itself: the bind mounts of
 * config.json, and mounts of a part of a filesystem that the container
 * holds no other mount of (its cgroup bound from the host, host device
 * nodes). ctr is the container's mountinfo, host ours. -ENOMEM only.
 */
int rt_criu_external_mounts(
                const OciConfig *c,
                const RtMountInfo *ctr,
                size_t n_ctr,
                const RtMountInfo *host,
                size_t n_host,
                RtExtMount **ret,
                size_t *ret_n);

/*
 * Where to bind e from when restoring: a bind mount's source in the
 * restore's config.json (relative ones below bundle), the same cgroup
 * subtree of the new container's cgroup_path, or the recorded path.
 * -ENOENT when there is none.
 */
int rt_criu_ext_mount_source(
                const RtExtMount *e,
                const OciConfig *c,
                const char *bundle,
                const char *old_cgroup,
                const char *new_cgroup,
                char **ret);

/* Config mounts whose mount point lies in no other config mount: restore creates those mount points. */
bool rt_criu_mount_needs_point(const OciConfig *c, size_t i);

/* ------------------------------------------------------------------ stdio */

typedef struct RtFdInfo {
        mode_t mode;
        dev_t dev, rdev;
        ino_t ino;
        int mnt_id;
        const char *link; /* readlink of /proc/PID/fd/N */
        bool in_container; /* its mount is one of the container's */
} RtFdInfo;

/*
 * For one of the init's stdio fds: *ret_external, what the dump must name
 * external (NULL: nothing), and *ret_key, what restore must hand in with
 * inherit_fd (NULL: CRIU restores the file itself). Pipes, sockets and
 * files or ttys from outside the container come from the restoring caller.
 */
int rt_criu_fd_keys(const RtFdInfo *f, char **ret_external, char **ret_key);

/*
 * What kind of file a stdio key of rt_criu_fd_keys() stands for ("a pipe",
 * "a file", ...), and whether an fd of ours of that mode (is_tty: isatty())
 * can take its place at restore: CRIU reopens a file and seeks, plugs a pipe
 * or socket in as it is. NULL/false for an unknown key.
 */
const char *rt_criu_key_kind(const char *key);
bool rt_criu_key_accepts(const char *key, mode_t mode, bool is_tty);
const char *rt_criu_mode_kind(mode_t mode, bool is_tty);

/* ---------------------------------------------------------------- metadata */

typedef struct RtCriuMeta {
        char *id; /* the checkpointed container */
        char *cgroup; /* its cgroup path, NULL without one */
        bool terminal;
        char *stdio[3]; /* inherit keys, NULL: restored by CRIU */
        bool external_netns, external_pidns;
        RtExtMount *mounts;
        size_t n_mounts;
} RtCriuMeta;

int rt_criu_meta_format(const RtCriuMeta *m, char **ret);
/* Parses aula-criu.json; *err names the bad field. */
int rt_criu_meta_parse(const char *text, size_t len, RtCriuMeta *ret, char **err);
void rt_criu_meta_done(RtCriuMeta *m);

/* ------------------------------------------------------------------- misc */

/* The message of the last "Error (file:line): message" line of a CRIU log; -ENOENT when none. */
int rt_criu_log_last_error(const char *text, char **ret);

/* CRIU's cgroup-mode number (rpc.proto criu_cg_mode) for m, or -1 when not given. */
int rt_cgroup_mode_to_criu(RtCgroupMode m);

/* ------------------------------------------------------------------- swrk */

typedef struct RtCriuInherit {
        int fd; /* ours; CRIU gets a copy */
        const char *key;
} RtCriuInherit;

/*
 * A notification (rpc.proto criu_notify): the action-script name, the pid it
 * concerns (or 0) and an fd passed along (orphan-pts-master), or -EBADF;
 * the fd is closed after the call. A negative return fails the request.
 */
typedef int (*RtCriuNotifyFunc)(const char *script, pid_t pid, int fd, void *userdata);

typedef struct RtCriuRequest {
        bool restore; /* else dump */
        int images_dir_fd;
        int work_dir_fd; /* -EBADF: the images directory */
        const char *log_file;
        const char *root;
        pid_t pid; /* dump: the init */
        bool leave_running, tcp_established, ext_unix_sk, shell_job, file_locks;
        RtCgroupMode cgroup_mode;
        const char *freeze_cgroup; /* dump: the cgroup directory CRIU freezes through */
        const char *cgroup_root; /* restore: the cgroup the dumped tree's root becomes */
        char **external; /* --external values */
        char **ext_mnt; /* pairs: key, value, key, value, ... */
        char **join_ns; /* pairs: namespace name ("ipc", "uts", "user"), path */
        const RtCriuInherit *inherit;
        size_t n_inherit;
        uint32_t empty_ns; /* CLONE_NEWNET: a new network namespace, not restored */
        const char *config_file;
        CgManager *cgroup; /* CRIU itself runs in it (restore; with cgroup_mode ignore the tasks stay there) */
        RtCriuNotifyFunc notify;
        void *userdata;
} RtCriuRequest;

/*
 * Run one DUMP or RESTORE through `criu swrk` ($AULA_CRIU, else criu from
 * PATH). Restore: *ret_pid is the restored init, a child of ours. On
 * failure, *ret_error (when not NULL) gets CRIU's own message if it gave
 * one. Not logged: the caller knows the operation and the log file.
 */
int rt_criu_swrk(const RtCriuRequest *r, pid_t *ret_pid, char **ret_error);
