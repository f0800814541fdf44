/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared inside runtime/ only. */

#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <sys/types.h>
#include <time.h>

#include "cgroups.h"
#include "common.h"
#include "oci.h"
#include "runtime.h"

#define RT_STATE_FILE "state.json"
#define RT_CONFIG_FILE "config.json"
#define RT_FIFO_FILE "exec.fifo"
#define RT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ------------------------------------------------------------ sync channel */

/*
 * The one error struct of STYLE.md rule 11: it crosses from the container
 * init (between clone and exec) to the runtime, which turns it back into
 * -errno and one log line.
 */
typedef struct RtError {
        int32_t error; /* positive errno */
        char stage[32];
        char msg[216];
} RtError;

typedef enum RtSyncType {
        RT_SYNC_GO = 1, /* parent -> init: maps written, cgroup joined */
        RT_SYNC_RUN_HOOKS, /* init -> parent: run prestart + createRuntime hooks */
        RT_SYNC_HOOKS_DONE, /* parent -> init */
        RT_SYNC_CONSOLE, /* init -> parent, with the pty master fd */
        RT_SYNC_SECCOMP, /* init -> parent, with the seccomp listener fd */
        RT_SYNC_READY, /* init -> parent: set up, about to wait or exec */
        RT_SYNC_EXEC, /* parent -> init: exec now (run, without the fifo) */
        RT_SYNC_PID, /* middle -> parent: the init's pid (double-fork path) */
        RT_SYNC_USERNS, /* middle -> parent: write uid/gid maps of pid value, then GO */
        RT_SYNC_ERROR = 10, /* init -> parent, with an RtError (aula-dmz writes this too) */
} RtSyncType;

typedef struct RtSyncMsg {
        uint32_t type;
        int32_t value;
        RtError err;
} RtSyncMsg;

int rt_sync_send(int fd, RtSyncType type, int32_t value);
int rt_sync_send_fd(int fd, RtSyncType type, int payload_fd);
/* Receive one message; *ret_fd gets a passed fd or -EBADF. -ECONNRESET on EOF. */
int rt_sync_recv(int fd, RtSyncMsg *ret, int *ret_fd);
/* In the init: report an error to the parent and return -error. */
int rt_sync_error(int fd, int error, const char *stage, const char *fmt, ...) _printf_(4, 5);
/* In the parent: log an RtError received from the init, return its -errno. */
int rt_error_log(const RtError *e);

/* --------------------------------------------------------------- the init */

typedef struct RtInit {
        const RtContext *ctx;
        const RtCreateOptions *opts;
        OciConfig *config;
        const OciProcess *process;
        char *bundle; /* absolute */
        char *rootfs; /* absolute, symlinks resolved */
        char *state_dir; /* <root>/<id> */
        CgManager *cgroup;
        int ns_fds[_OCI_NS_MAX]; /* namespaces to join, or -EBADF */
        unsigned long clone_flags; /* new namespaces created by clone() */
        unsigned long unshare_flags; /* new namespaces the init unshares itself */
        bool userns_new;
        bool rootless; /* not root in the initial user namespace: no mknod, maybe no cgroups */
        bool double_fork; /* join a user ns, then create pid/time ns: needs a middle process */
        bool use_fifo; /* create: wait on exec.fifo; run: wait for RT_SYNC_EXEC */
        bool cgroup_self_enter; /* the child joins its v1 cgroups itself (fast path) */
        bool cgroup_v2_joined; /* the child was cloned into its cgroup2 directory */
        int sync_fd; /* the init's end of the sync socket */
        int fifo_fd; /* O_PATH fd of exec.fifo (init) */
        int dmz_fd; /* sealed memfd of the exec trampoline */
        int *idmap_fds; /* per config mount: user ns fd of an idmapped mount, or -EBADF */
        char *config_text; /* config.json as read, for the state directory */
        size_t config_len;
        pid_t pid; /* init pid, host view (parent) */
} RtInit;

/*
 * rt-create.c: clone a child into its cgroups as cheaply as the host allows
 * (CLONE_INTO_CGROUP for cgroup2; the child moves itself into v1 ones).
 * Returns the pid in the parent, 0 in the child, -errno on failure.
 */
pid_t rt_clone_into_cgroup(RtInit *init, unsigned long flags);
/* In the child of rt_clone_into_cgroup(): finish joining the cgroups. */
int rt_child_join_cgroup(RtInit *init);

/* rt-init.c: runs in the cloned child; never returns. */
_noreturn_ void rt_init_main(RtInit *init);
/* Pieces shared with exec: setsid + pty; cwd, limits, seccomp, user, caps; default signals. */
int rt_init_setup_console(RtInit *init);
int rt_init_setup_process(RtInit *init, char **ret_path, char ***ret_env);
void rt_init_reset_signals(void);

/* rt-run.c */
/* Send RT_SYNC_EXEC and wait until the process has exec'd (EOF) or failed (RtError). */
int rt_release(int sock);
/* Forward signals (and a pty when master >= 0) until pid exits; returns its exit status. */
int rt_foreground(pid_t pid, int master);

/* rt-mount.c: everything between "new mount namespace" and "pivot_root done". */
int rt_mount_rootfs_prepare(RtInit *init);
int rt_mount_config(RtInit *init);
int rt_mount_pivot(RtInit *init);
int rt_mount_finalize(RtInit *init);
/* Resolve path below rootfd (never escaping it), creating missing directories, and
 * the final component as a directory (is_dir) or an empty file. Returns an O_PATH fd. */
int rt_open_in_root(int rootfd, const char *path, bool create, bool is_dir, int *ret_fd);
/* The cgroup hierarchies under /sys/fs/cgroup in a mountinfo text, with our path from /proc/self/cgroup. */
typedef struct RtHierarchy {
        char *mount_point; /* /sys/fs/cgroup/cpu */
        char *options; /* "cpu", "name=systemd", NULL for cgroup2 */
        char *path; /* our cgroup in it */
} RtHierarchy;
int rt_hierarchies_parse(const char *mountinfo, const char *self_cgroup, RtHierarchy **ret, size_t *ret_n);
void rt_hierarchies_free(RtHierarchy *h, size_t n);

/* rt-process.c: credentials, capabilities, rlimits and the final exec. */
int rt_process_setup_rlimits(const OciProcess *p);
int rt_process_setup_user(const OciProcess *p, bool in_userns);
int rt_process_drop_bounding(const OciProcess *p);
int rt_process_setup_caps(const OciProcess *p);
int rt_process_resolve_exec(const OciProcess *p, char **ret_path);
int rt_process_build_env(const OciProcess *p, char ***ret);
/* Mark every fd >= 3 + preserve close-on-exec; make 3 .. 3+preserve-1 inheritable. */
int rt_close_fds(unsigned preserve);
_noreturn_ void rt_exec_process(int dmz_fd, const char *path, char *const *args, char *const *env, int errfd);
int rt_dmz_open(int *ret_fd);
int rt_close_inherited_fds(unsigned preserve);
int rt_setup_stdio(const int *stdio);

/* rt-seccomp.c */
int rt_seccomp_load(const OciSeccomp *s, int *ret_listener_fd);
/* Builds the filter rt_seccomp_load() would load and writes it to fd as BPF instead (fuzzing, tests). */
int rt_seccomp_export(const OciSeccomp *s, int fd);
int rt_seccomp_features(JsonWriter *w);

/*
 * rt-hooks.c: run hooks of one kind with the state on stdin. A failing hook
 * stops the rest (error) unless warn_only (poststart, poststop: a warning
 * each). Errors are logged, or written to errbuf when given (the init must
 * not log into the container's stdio).
 */
int rt_hooks_run(
                const OciConfig *c,
                OciHookKind kind,
                const char *state_json,
                bool warn_only,
                char *errbuf,
                size_t errlen);
int rt_state_json_for_hooks(
                const OciConfig *c,
                const char *id,
                const char *status,
                pid_t pid,
                const char *bundle,
                char **ret);

/*
 * rt_hooks_run() of the hooks of one kind, logging, with the state of container id (status, pid,
 * bundle) on their stdin. 0 at once when c has no such hooks.
 */
int rt_hooks_run_for(
                const OciConfig *c,
                OciHookKind kind,
                const char *id,
                const char *status,
                pid_t pid,
                const char *bundle,
                bool warn_only);
/* The runtime's side of creating: prestart, then createRuntime hooks, in state "creating". */
int rt_hooks_run_create(const OciConfig *c, const char *id, pid_t pid, const char *bundle);

/* rt-console.c */
int rt_console_create(int *ret_master, int *ret_slave);
int rt_console_send(const char *socket_path, int master_fd);
int rt_console_setup_slave(int slave_fd, uint32_t height, uint32_t width);
/* Foreground: shuttle bytes between our stdio and the pty master until child exits. */

/* rt-resources.c */
int rt_resources_from_oci(const OciResources *o, CgResources *ret);
int rt_resources_add_default_devices(const OciConfig *c, CgResources *r);
/*
 * Whether o asks for anything only a cgroup can enforce. Device rules alone do not: without a
 * cgroup (rootless) the container's devices are bind mounts of host nodes its user can open anyway.
 */
bool rt_resources_need_cgroup(const OciResources *o);
int rt_cgroup_path(const OciConfig *c, const char *id, char **ret);

/* rt-state.c: the state directory. */
typedef struct RtState {
        char *id;
        pid_t pid;
        uint64_t pid_start; /* /proc/<pid>/stat starttime, guards against pid reuse */
        char *bundle;
        char *rootfs;
        char *created; /* RFC 3339 */
        char *owner;
        char *cgroup; /* cg_manager_save() */
        OciKeyValue *annotations;
        size_t n_annotations;
        bool systemd_cgroup;
} RtState;

RtState *rt_state_free(RtState *s);
DEFINE_CLEANUP_FUNC(RtState *, rt_state_free);
int rt_state_dir(const RtContext *ctx, const char *id, char **ret);
int rt_state_save(const char *state_dir, const RtState *s);
/* -ENOENT is logged as "container ID does not exist". */
int rt_state_load(const RtContext *ctx, const char *id, RtState **ret, char **ret_dir);
/* Live status from the init process, the fifo and the freezer. */
OciStatus rt_state_status(const RtState *s, const char *state_dir);
/* rt_state_load() of a container with its live status, what every operation on one starts with. */
int rt_state_load_status(const RtContext *ctx, const char *id, RtState **ret, char **ret_dir, OciStatus *ret_status);
/* The runtime-spec state object of s (pid 0 once stopped), as `state` and `list --format json` print it. */
void rt_state_write_json(JsonWriter *w, const RtState *s, OciStatus status);
int rt_state_json(const RtState *s, OciStatus status, bool pretty, char **ret);
/*
 * pidfd of the init if it is still the same process, else -ESRCH. Without pidfds (Linux < 5.3, or
 * tests/tools/nosys) *ret is -EBADF on success: the start-time check is all there is, and callers
 * use rt_state_kill() and rt_state_init_alive(), which fall back to the pid.
 */
int rt_state_pidfd(const RtState *s, int *ret);
/* Signal the init through pidfd (from rt_state_pidfd()), or by pid where there is none. */
int rt_state_kill(const RtState *s, int pidfd, int sig);
/* Whether the init recorded in s is still that process and not a zombie. */
bool rt_state_init_alive(const RtState *s);
int rt_proc_start_time(pid_t pid, uint64_t *ret, char *ret_state);
int rt_config_load_saved(const char *state_dir, OciConfig **ret);
int rt_write_pid_file(const char *path, pid_t pid);
/* rt-ops.c: remove cgroup, run poststop hooks, remove the state directory. */
int rt_container_destroy(const RtState *s, const char *dir);
/*
 * After a foreground init exited (run, restore): destroy (which kills what is left in its cgroup).
 * config: the container's, already parsed, for the poststop hooks; NULL reads the saved copy.
 */
void rt_container_remove_exited(const RtContext *ctx, const char *id, const OciConfig *config);

/*
 * rt-bundle.c: the steps create and restore share.
 */
typedef struct RtBundle {
        char *path; /* absolute */
        char *rootfs; /* root.path, absolute, symlinks resolved */
        OciConfig *config; /* has a process */
        char *config_text; /* config.json as read */
        size_t config_len;
} RtBundle;

/* Read <bundle>/config.json (bundle NULL: the working directory). Logs. */
int rt_bundle_load(const char *bundle, RtBundle *ret);
void rt_bundle_done(RtBundle *b);
/*
 * Make the state directory dir of container id (its existence is the "id in use" lock: -EEXIST when
 * taken) and save config.json (the bundle's, as read) in it, unless config is NULL (then the caller
 * writes it later with rt_state_config_write(), before state.json). On failure nothing is left behind.
 */
int rt_state_dir_create(const RtContext *ctx, const char *id, const char *dir, const char *config, size_t len);
int rt_state_config_write(const char *dir, const char *config, size_t len);
/*
 * Create the container's cgroup, with linux.resources applied when apply is set (else the caller
 * calls rt_cgroup_apply() itself, e.g. while the cloned init joins). Rootless, *ret is NULL (no
 * cgroup) when it cannot be made and nothing needs one; device rules are then skipped too. On
 * failure nothing is left behind. *ret_path (optional) gets the cgroup path.
 */
int rt_cgroup_setup(const OciConfig *c, const char *id, bool rootless, bool apply, CgManager **ret, char **ret_path);
/* Apply linux.resources to m (NULL: nothing to do). Logs; the caller destroys m on failure. */
int rt_cgroup_apply(const OciConfig *c, bool rootless, CgManager *m);
/*
 * Write state.json for a new container: s with id, pid, bundle, rootfs, annotations and
 * systemd_cgroup set; the init's start time, the creation time and cgroup's record are added.
 */
int rt_state_save_new(const char *state_dir, const RtState *s, CgManager *cgroup);
