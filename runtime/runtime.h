/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * libaula-runtime: the OCI container lifecycle (runtime-spec 1.2 runtime.md)
 * for Linux: create, start, run, state, kill, delete, exec, ps, list, pause,
 * resume, update, plus the `spec` and `features` documents.
 *
 * A container lives in <state root>/<id>/ (state.json, the config.json it
 * was created from, and exec.fifo while it is "created"). Its status is
 * computed on every read from the init process (alive? same start time?),
 * the fifo and the cgroup freezer, so a killed runtime never leaves a lie
 * behind.
 *
 * This layer logs (STYLE.md rule 10): every error is logged once with
 * log_error_errno() where it is detected and returned as -errno, so the CLI
 * only maps it to an exit status.
 */

#include <sys/types.h>

#include "common.h"

typedef struct RtContext {
        const char *state_root; /* e.g. /run/aula-runtime */
        bool systemd_cgroup; /* --systemd-cgroup: refused where systemd is absent */
} RtContext;

typedef enum RtConsoleMode {
        RT_CONSOLE_INHERIT, /* stdio passed through */
        RT_CONSOLE_SOCKET, /* pty master sent to console_socket */
} RtConsoleMode;

typedef struct RtCreateOptions {
        const char *id;
        const char *bundle; /* NULL: current directory */
        const char *console_socket; /* NULL: none */
        const char *pid_file; /* NULL: none */
        unsigned preserve_fds; /* fds 3 .. 3+n-1 pass to the container */
        bool no_pivot;
        bool no_new_keyring;
        bool no_subreaper;
        bool detach; /* run only */
        bool keep; /* run only: keep the container after it exits */
        /* For callers embedding the library (aula-shim): */
        const int *stdio; /* NULL: the process inherits ours; else its stdin, stdout, stderr */
        int *ret_pty_master; /* terminal, no console_socket, not a foreground run: gets the pty master */
        pid_t *ret_pid; /* gets the init's pid (our child: waitpid() works) */
} RtCreateOptions;

/* Create the container and leave its init blocked before exec. Returns 0 or -errno. */
int rt_create(const RtContext *ctx, const RtCreateOptions *o);
/* Release a created container's init into the user process; runs poststart hooks. */
int rt_start(const RtContext *ctx, const char *id);
/*
 * create + start. Detached: returns 0 once the process runs. Foreground:
 * forwards signals (and a pty when the process has a terminal and no
 * console socket was given), waits, deletes the container, and returns the
 * process's exit status (0-255, 128+signal when killed).
 */
int rt_run(const RtContext *ctx, const RtCreateOptions *o);

/* The runtime-spec state JSON (runc's shape: id, pid, status, bundle, rootfs, created, owner, annotations). */
int rt_state(const RtContext *ctx, const char *id, char **ret_json);

/* Signal the init (or, with all, every process of the container's cgroup). */
int rt_kill(const RtContext *ctx, const char *id, int sig, bool all);
/* Remove a stopped (or created) container; force kills a running one first. */
int rt_delete(const RtContext *ctx, const char *id, bool force);

int rt_pause(const RtContext *ctx, const char *id);
int rt_resume(const RtContext *ctx, const char *id);

typedef struct RtContainerInfo {
        char *id;
        pid_t pid;
        char *status;
        char *bundle;
        char *rootfs;
        char *created; /* RFC 3339 */
        char *owner;
} RtContainerInfo;

/* All containers under the state root, sorted by id. */
int rt_list(const RtContext *ctx, RtContainerInfo **ret, size_t *ret_n);
void rt_container_info_free_many(RtContainerInfo *l, size_t n);
/* list --format json: an array of state objects. */
int rt_list_json(const RtContext *ctx, char **ret_json);

/* PIDs of the container's processes, as the host sees them. */
int rt_pids(const RtContext *ctx, const char *id, pid_t **ret, size_t *ret_n);

typedef struct RtExecOptions {
        const char *id;
        const char *process_file; /* --process: a process.json, replaces the fields below */
        char **args;
        char **env; /* --env, added to the container's environment */
        const char *cwd; /* --cwd */
        const char *user; /* --user UID[:GID] */
        char **caps; /* --cap, added to every capability set */
        bool tty;
        bool detach;
        bool no_new_privs;
        const char *pid_file;
        const char *console_socket;
        unsigned preserve_fds;
        const int *stdio; /* as in RtCreateOptions */
        int *ret_pty_master; /* tty without console_socket, detached: gets the pty master */
        pid_t *ret_pid; /* gets the process's pid (our child) */
} RtExecOptions;

/* Run a process in a running container. Foreground: returns its exit status. Detached: 0. */
int rt_exec(const RtContext *ctx, const RtExecOptions *o);

/* Apply new values to the live resources of a created, running or paused container. */
typedef struct OciResources OciResources;
int rt_update(const RtContext *ctx, const char *id, const OciResources *res);

/* `ps` as runc prints it: the header and the lines of `ps ps_args` (default -ef) for the container's pids. */
int rt_ps_table(const RtContext *ctx, const char *id, char *const *ps_args, char **ret_text);

/* `spec`: write a default config.json into bundle (refuses to overwrite). */
int rt_spec(const char *bundle, bool rootless);
/* `features`: the runtime-spec features document. */
int rt_features(char **ret_json);

/*
 * Checkpoint/restore through CRIU (docs/criu.md), as runc's `checkpoint` and
 * `restore`. The image directory holds CRIU's images plus descriptors.json
 * (runc's: the init's stdio) and aula-criu.json (what restore needs: stdio
 * keys, external mounts, the cgroup, namespaces).
 */
typedef enum RtCgroupMode {
        RT_CGROUP_MODE_DEFAULT, /* not given: CRIU's default, soft */
        RT_CGROUP_MODE_SOFT, /* restore properties only of cgroups CRIU creates */
        RT_CGROUP_MODE_FULL,
        RT_CGROUP_MODE_STRICT,
        RT_CGROUP_MODE_IGNORE, /* leave cgroups alone (restore into another cgroup) */
        _RT_CGROUP_MODE_MAX,
        _RT_CGROUP_MODE_INVALID = -EINVAL,
} RtCgroupMode;

/* "soft", "full", "strict", "ignore" (--manage-cgroups-mode); -EINVAL otherwise. */
RtCgroupMode rt_cgroup_mode_from_string(const char *s);

typedef struct RtCheckpointOptions {
        const char *id;
        const char *image_path; /* NULL: ./checkpoint (created if missing) */
        const char *work_path; /* NULL: the image directory (logs: dump.log) */
        bool leave_running;
        bool tcp_established;
        bool ext_unix_sk;
        bool shell_job;
        bool file_locks;
        RtCgroupMode cgroup_mode;
} RtCheckpointOptions;

/*
 * Checkpoint a running or paused container into image_path. Without
 * leave_running the container is gone afterwards (as after delete). On
 * failure the container keeps running and the image directory holds no
 * checkpoint (it is removed when this call created it). 0 or -errno, logged.
 */
int rt_checkpoint(const RtContext *ctx, const RtCheckpointOptions *o);

typedef struct RtRestoreOptions {
        const char *id; /* must not exist yet; may differ from the checkpointed one */
        const char *bundle; /* NULL: current directory */
        const char *image_path; /* NULL: ./checkpoint */
        const char *work_path; /* NULL: the image directory (logs: restore.log) */
        const char *console_socket; /* terminal containers: receives the new pty master */
        const char *pid_file;
        bool detach; /* else: wait, forward signals (and the pty), delete, return the exit status */
        bool no_subreaper;
        bool tcp_established;
        bool ext_unix_sk;
        bool shell_job;
        bool file_locks;
        RtCgroupMode cgroup_mode;
        /* For callers embedding the library, as in RtCreateOptions: */
        const int *stdio; /* NULL: our stdio replaces the checkpointed container's outside stdio */
        int *ret_pty_master; /* terminal, no console_socket, detached: gets the pty master */
        pid_t *ret_pid; /* gets the restored init's pid (our child: waitpid() works) */
} RtRestoreOptions;

/*
 * Restore a checkpoint as container id from the bundle's config.json: same
 * rootfs and mounts (bind mounts re-bound from their configured sources),
 * its cgroup, a new network namespace with loopback up (or the configured
 * one), state.json with the new pid. Detached: 0 once it runs. Foreground:
 * the exit status as rt_run(). On failure nothing is left behind.
 */
int rt_restore(const RtContext *ctx, const RtRestoreOptions *o);

/* Container ids: 1-1024 characters of [A-Za-z0-9_+.-], not "." or "..". */
bool rt_id_is_valid(const char *id);

/*
 * Entry for the `aula-runtime init` trampoline is not needed: the container
 * init runs in the forked child. The tiny static exec trampoline (aula-dmz)
 * is embedded and executed from a sealed memfd, so no process inside a
 * container ever has the host runtime binary as /proc/self/exe at exec time
 * (CVE-2019-5736).
 */
