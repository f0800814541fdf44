/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * libaula-shim: instances and labs, for the `aula` command.
 *
 * An instance is a definition under the data root (image, isolation,
 * limits, command) plus a persistent writable layer; while it runs it has one
 * aula-shim process (docs/shim-protocol.md) that owns it. A lab is a set of
 * instances made from one image, one per student, named LAB/STUDENT, on one
 * lab network (libaula-netns).
 *
 * Data root (DATA: --root, $AULA_ROOT, /var/lib/aula):
 *   instances/NAME/           instance.json, config.json (the OCI bundle),
 *                             upper/ work/ (its files), snapshots/SNAP/,
 *                             console.log[.1], exit.json, shim.log
 *   instances/LAB/STUDENT/    the same for a lab's students
 *   labs/LAB.json             a lab's definition (students, image, network)
 * Run directory (RUN: $AULA_RUN_DIR, else /run/aula for the default data
 * root, else DATA/run): instances/NAME/{run.json,shim.sock,shim.lock,root/,rt/}.
 * Definitions are written atomically (temporary file, fsync, rename).
 *
 * This layer logs (STYLE.md rule 10): errors are logged once where they are
 * detected and returned as -errno. Per-student outcomes of lab operations
 * are returned in result arrays instead, so a lab command can print a table.
 * Needs root (mounts, cgroups, namespaces, network).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"

typedef struct ShimContext ShimContext;

/*
 * root: NULL for $AULA_ROOT or /var/lib/aula. self: the program to run as the
 * cleanup command of dead shims (`SELF --root DATA _reap ...`); NULL for
 * /proc/self/exe. The shim binary is $AULA_SHIM, else aula-shim next to self
 * (or in the build tree's shim/), else the installed one.
 */
int shim_context_new(const char *root, const char *self, ShimContext **ret);
ShimContext *shim_context_free(ShimContext *c);
DEFINE_CLEANUP_FUNC(ShimContext *, shim_context_free);
const char *shim_context_root(const ShimContext *c);
const char *shim_context_run_dir(const ShimContext *c);

typedef enum ShimIsolation {
        SHIM_ISOLATION_CONTAINER,
        SHIM_ISOLATION_VM,
        _SHIM_ISOLATION_MAX,
        _SHIM_ISOLATION_INVALID = -EINVAL,
} ShimIsolation;

const char *shim_isolation_to_string(ShimIsolation i);
ShimIsolation shim_isolation_from_string(const char *s);

/* Instance names: 1-63 of [A-Za-z0-9_.-] starting with a letter or digit; a student is LAB/STUDENT. */
bool shim_name_is_valid(const char *name);

typedef struct ShimLimits {
        uint64_t cpus_milli; /* 1500 = 1.5 CPUs; 0: no limit */
        uint64_t memory; /* bytes; 0: no limit */
        uint64_t pids; /* 0: no limit */
} ShimLimits;

/* "1.5" -> 1500. */
int shim_parse_cpus(const char *s, uint64_t *ret_milli);
/* Refuse limits this host cannot give (more CPUs or memory than it has, tiny memory, ...). Logs. */
int shim_limits_check(const ShimLimits *l);

typedef struct ShimCreateOptions {
        const char *image; /* NAME[:TAG], digest or prefix */
        ShimIsolation isolation;
        ShimLimits limits;
        char **env; /* KEY=VALUE over the image's */
        char **cmd; /* replaces the image's Cmd; NULL: keep */
        bool start;
} ShimCreateOptions;

int shim_instance_create(ShimContext *c, const char *name, const ShimCreateOptions *o);
int shim_instance_start(ShimContext *c, const char *name);
/* Stop (stop signal, then SIGKILL after timeout_usec). *ret_exit_code (may be NULL): the exit code. */
int shim_instance_stop(ShimContext *c, const char *name, uint64_t timeout_usec, int *ret_exit_code);
int shim_instance_restart(ShimContext *c, const char *name, uint64_t timeout_usec);
/* Remove an instance; force stops it first, else a running instance is -EBUSY. */
int shim_instance_remove(ShimContext *c, const char *name, bool force, uint64_t timeout_usec);

typedef struct ShimInstanceInfo {
        char *name;
        char *lab; /* NULL for a standalone instance */
        char *image; /* as given */
        char *image_digest;
        char *isolation;
        char *state; /* "running", "stopped", "created", "stopping", "starting" */
        pid_t pid;
        int exit_code; /* -1: none recorded */
        char *exit_reason;
        char *created;
        char *started; /* while running */
        char *finished; /* last exit */
        char *ipv4;
        ShimLimits limits;
} ShimInstanceInfo;

void shim_instance_info_done(ShimInstanceInfo *i);
void shim_instance_info_free_many(ShimInstanceInfo *l, size_t n);
int shim_instance_info(ShimContext *c, const char *name, ShimInstanceInfo *ret);
/* All instances (lab NULL) or a lab's students, sorted by name. Cleans up after dead shims it finds. */
int shim_instance_list(ShimContext *c, const char *lab, ShimInstanceInfo **ret, size_t *ret_n);

typedef struct ShimExecOptions {
        char **args;
        char **env;
        const char *cwd;
        const char *user;
        bool tty; /* a terminal: our stdin must be one, it is switched to raw mode */
        const int *stdio; /* NULL: ours */
} ShimExecOptions;

/* Run a command in a running instance; returns its exit status (0-255). */
int shim_instance_exec(ShimContext *c, const char *name, const ShimExecOptions *o);

/* Attach the terminal (stdin/stdout) to the instance's console until the detach keys or its exit. */
int shim_instance_console(ShimContext *c, const char *name, const char *detach_keys);

/* Write the console log to out_fd; with follow, keep writing new output until the instance stops. */
int shim_instance_logs(ShimContext *c, const char *name, bool follow, int out_fd);

typedef struct ShimStats {
        uint64_t cpu_usec;
        uint64_t memory_bytes, memory_limit; /* limit UINT64_MAX: none */
        uint64_t pids, pids_limit;
        uint64_t net_rx_bytes, net_tx_bytes;
} ShimStats;

int shim_instance_stats(ShimContext *c, const char *name, ShimStats *ret);

/* Copy the instance's files (its writable layer) to snapshot SNAP. A running instance is frozen meanwhile. */
int shim_instance_snapshot(ShimContext *c, const char *name, const char *snap);
/* Back to the image (snap NULL) or to a snapshot; a running instance is restarted. */
int shim_instance_reset(ShimContext *c, const char *name, const char *snap, uint64_t timeout_usec);
/* Sorted snapshot names. */
int shim_instance_snapshots(ShimContext *c, const char *name, char ***ret);

/*
 * Checkpoint a running container instance with CRIU (docs/criu.md) into
 * DATA/instances/NAME/checkpoint: its processes, memory and terminal. Without
 * leave_running the instance stops (exit reason "checkpointed"). restore brings
 * the processes back where they were (once: the checkpoint is used up).
 */
int shim_instance_checkpoint(ShimContext *c, const char *name, bool leave_running);
int shim_instance_restore(ShimContext *c, const char *name);

/*
 * The cleanup of one run of an instance (`aula _reap`): kill what is left in
 * its cgroup, delete runtime state and cgroups, unmount its root, remove its
 * links, note a missing exit status, remove the run directory. lock_fd: the
 * shim's lock when inherited from the keeper, else -EBADF (then taken here).
 */
int shim_reap(ShimContext *c, const char *name, int lock_fd);

/* ---------------------------------------------------------------------- labs */

typedef enum ShimNetwork {
        SHIM_NETWORK_ISOLATED,
        SHIM_NETWORK_NAT,
        SHIM_NETWORK_EXAM,
        _SHIM_NETWORK_MAX,
        _SHIM_NETWORK_INVALID = -EINVAL,
} ShimNetwork;

const char *shim_network_to_string(ShimNetwork n);
ShimNetwork shim_network_from_string(const char *s);

/*
 * A student list: one name per line; blank lines and lines starting with '#'
 * are skipped; names follow shim_name_is_valid(). Duplicates, unsafe
 * characters and an empty list are refused with *error_msg naming the line.
 */
int shim_students_parse(const char *text, size_t len, char ***ret, char **error_msg);
/* student01..studentNN for --count N (1..999). */
int shim_students_count(unsigned n, char ***ret);

typedef enum ShimProgressKind {
        SHIM_PROGRESS_BEGIN, /* total known */
        SHIM_PROGRESS_STEP, /* one student done (ok or not) */
        SHIM_PROGRESS_END,
} ShimProgressKind;

typedef struct ShimProgress {
        ShimProgressKind kind;
        const char *what; /* "create", "start", "stop", ... */
        const char *student; /* STEP */
        int error; /* STEP: 0 or -errno */
        unsigned done, total;
} ShimProgress;

typedef void (*ShimProgressFn)(const ShimProgress *p, void *userdata);

typedef struct ShimLabOptions {
        const char *image;
        ShimIsolation isolation;
        ShimLimits limits;
        char **env;
        char **cmd;
        ShimNetwork network;
        char **students;
        ShimProgressFn progress;
        void *userdata;
} ShimLabOptions;

/* One row of a lab operation's outcome. */
typedef struct ShimLabResult {
        char *student;
        int error; /* 0 or -errno */
        char *message; /* error text, or NULL */
        int exit_code; /* exec: the command's status; -1 when it did not run */
        char *out; /* exec: stdout (at most 64 KiB kept) */
        char *err; /* exec: stderr */
        bool truncated;
        char *path; /* collect: where the file went */
        uint64_t bytes; /* collect: its size */
} ShimLabResult;

void shim_lab_results_free(ShimLabResult *l, size_t n);

/*
 * Create lab LAB and one instance per student, and start them in parallel.
 * A rerun of the same command after an interruption completes the lab.
 * Returns 0 when every student runs, -EIO when some failed (see *ret).
 */
int shim_lab_create(ShimContext *c, const char *lab, const ShimLabOptions *o, ShimLabResult **ret, size_t *ret_n);

/* Add student STUDENT to lab LAB (o->image NULL: the lab's image); with o->start, start it. */
int shim_lab_add(ShimContext *c, const char *lab, const char *student, const ShimCreateOptions *o);

typedef struct ShimLabInfo {
        char *name;
        char *image;
        char *isolation;
        char *network;
        char *subnet;
        char *created;
        char **students;
        unsigned running;
        ShimLimits limits;
} ShimLabInfo;

void shim_lab_info_done(ShimLabInfo *i);
int shim_lab_info(ShimContext *c, const char *lab, ShimLabInfo *ret);
int shim_lab_list(ShimContext *c, ShimLabInfo **ret, size_t *ret_n);
void shim_lab_info_free_many(ShimLabInfo *l, size_t n);

typedef struct ShimLabRunOptions {
        uint64_t timeout_usec; /* stop */
        ShimProgressFn progress;
        void *userdata;
} ShimLabRunOptions;

int shim_lab_start(ShimContext *c, const char *lab, const ShimLabRunOptions *o, ShimLabResult **ret, size_t *ret_n);
int shim_lab_stop(ShimContext *c, const char *lab, const ShimLabRunOptions *o, ShimLabResult **ret, size_t *ret_n);
/* Stop and remove every student, the lab network and the definition. */
int shim_lab_remove(ShimContext *c, const char *lab, const ShimLabRunOptions *o);
/* Back to the image: every student, or one (student not NULL). */
int shim_lab_reset(
                ShimContext *c,
                const char *lab,
                const char *student,
                const ShimLabRunOptions *o,
                ShimLabResult **ret,
                size_t *ret_n);
/* Run args in every running student's instance, in parallel; results per student. */
int shim_lab_exec(
                ShimContext *c,
                const char *lab,
                char **args,
                uint64_t timeout_usec,
                ShimLabResult **ret,
                size_t *ret_n);
/* Copy PATH (inside each instance) to DIR/STUDENT/<basename>. */
int shim_lab_collect(
                ShimContext *c,
                const char *lab,
                const char *path,
                const char *dir,
                ShimLabResult **ret,
                size_t *ret_n);
int shim_lab_network(ShimContext *c, const char *lab, ShimNetwork mode);
