/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared by libaula-shim's files (the client side). Internal to shim/. */

#include <signal.h>

#include "common.h"
#include "images.h"
#include "shim-proto.h"
#include "shim.h"

#define SHIM_DEFAULT_ROOT "/var/lib/aula"
#define SHIM_DEFAULT_RUN "/run/aula"
#define SHIM_DEFAULT_STOP_USEC (5 * 1000000ULL)
#define SHIM_START_TIMEOUT_USEC (120 * 1000000ULL)

struct ShimContext {
        char *root; /* data root */
        char *run; /* run directory */
        char *shim_path;
        char *self_path;
        char *cg_prefix; /* "/aula" or "/aula/r-<hash>" for other data roots */
        ImgStore *store; /* opened on first use */
        char *template_key; /* the last generated config.json and what it was generated from */
        char *template;
};

/* An instance definition (DATA/instances/NAME/instance.json). */
typedef struct ShimDef {
        char *name;
        char *lab; /* lab part of LAB/STUDENT, or NULL */
        char *student; /* student part, or NULL */
        char *image;
        char *image_digest;
        ShimIsolation isolation;
        ShimLimits limits;
        char **env;
        char **cmd;
        char *created;
        char *ipv4; /* the lab address it had; asked for again at the next start */
} ShimDef;

void shim_def_done(ShimDef *d);
/* -ENOENT (not logged) when there is no such instance. */
int shim_def_load(ShimContext *c, const char *name, ShimDef *ret);
int shim_def_save(ShimContext *c, const ShimDef *d);
/* The keys an instance definition and a lab definition share (what instances are made from), in order. */
void shim_jw_recipe(
                JsonWriter *w,
                const char *image,
                const char *image_digest,
                ShimIsolation isolation,
                const ShimLimits *limits,
                char **env,
                char **cmd);

/* Paths (malloc'd; NULL on OOM). */
char *shim_data_dir(const ShimContext *c, const char *name);
char *shim_run_path(const ShimContext *c, const char *name);
char *shim_lab_file(const ShimContext *c, const char *lab);
char *shim_cgroup_path(const ShimContext *c, const char *name);
/* Create or remove (when empty) the cgroup directory of name (a lab) in every hierarchy. */
int shim_cgroup_mkdir(const ShimContext *c, const char *name);
int shim_cgroup_rmdir(const ShimContext *c, const char *name);
/* Split "LAB/STUDENT"; both NULL for a plain name. -EINVAL if malformed. */
int shim_name_split(const char *name, char **ret_lab, char **ret_student);

int shim_store(ShimContext *c, ImgStore **ret);
/* Resolve an image reference in the store to its manifest digest; logs ("unknown image" for -ENOENT). */
int shim_image_resolve(ShimContext *c, const char *image, char **ret_digest);

/*
 * flock path (created if missing) with op (LOCK_EX / LOCK_SH), waiting at
 * most timeout_usec; says once on stderr what it waits for. -ETIMEDOUT.
 */
int shim_lock_path(const char *path, int op, uint64_t timeout_usec, const char *what, int *ret_fd);
/* Lifecycle lock of one instance (DATA/instances/NAME/.lock). */
int shim_lock_instance(ShimContext *c, const char *name, int *ret_fd);
/* Names lock: creating and removing instance and lab names. */
int shim_lock_names(ShimContext *c, int *ret_fd);
/* A lab's lock: exclusive for lab-wide changes, shared for instance operations within it. */
int shim_lock_lab(ShimContext *c, const char *lab, int op, int *ret_fd);
/*
 * Lock an instance (a student's lab shared first) and check that its definition exists
 * ("no such instance" for -ENOENT). Logs.
 */
int shim_lock_existing(ShimContext *c, const char *name, int *ret_lab_fd, int *ret_inst_fd);

/* Run-time state of an instance, from its run directory and shim. */
typedef enum ShimLive {
        SHIM_LIVE_NONE, /* no run directory: stopped */
        SHIM_LIVE_RUNNING, /* a shim holds the lock */
        SHIM_LIVE_STALE, /* run directory without shim or cleanup: shim and keeper died */
} ShimLive;

ShimLive shim_live(const ShimContext *c, const char *name);
/* Wait until the shim and its cleanup are gone (the lock is free), at most timeout_usec. */
int shim_wait_gone(const ShimContext *c, const char *name, uint64_t timeout_usec);

/* ------------------------------------------------------------- client.c */

/* Connect to an instance's shim. -ESRCH (not logged) when it has none. */
int shim_connect(const ShimContext *c, const char *name, int *ret_fd);
/* Send a request (JSON text) with fds; read the reply. An {"ok":false} reply is returned as -errno with *ret_error. */
int shim_call(int fd,
              const char *request,
              const int *fds,
              size_t n_fds,
              JsonVal *ret_reply,
              int *ret_fd,
              char **ret_error);
/* Connect, call, close: for simple requests. */
int shim_request(const ShimContext *c, const char *name, const char *request, JsonVal *ret_reply, char **ret_error);

/* ------------------------------------------------------------ instance.c */

/* Instance start in two halves, so that labs can overlap many of them. */
typedef struct ShimStart {
        char *name;
        ShimDef def;
        int ready_fd;
        pid_t pid;
        bool network;
        bool created;
        bool done;
        int error;
        char *message;
        uint64_t spawned_usec;
        char *restore; /* a checkpoint to restore instead of starting afresh */
} ShimStart;

/* Prepare the run directory and spawn the shim; -errno with start->message set. */
int shim_start_begin(ShimContext *c, ShimStart *st);
/* Handle one ready-channel message; returns 1 when the instance runs, 0 to wait more, -errno on failure. */
int shim_start_step(ShimContext *c, ShimStart *st);
/* Give up a start: close the channel (the shim cleans up) and wait for the cleanup. */
void shim_start_abort(ShimContext *c, ShimStart *st);
void shim_start_done(ShimStart *st);

int shim_instance_start_locked(ShimContext *c, const char *name);
int shim_instance_create_def(ShimContext *c, const char *name, const ShimCreateOptions *o, ShimDef *ret);
int shim_instance_stop_locked(ShimContext *c, const char *name, uint64_t timeout_usec, int *ret_exit_code);
int shim_instance_remove_locked(ShimContext *c, const char *name);
/* Remove the definition and files of a stopped instance (names lock held). */
int shim_instance_purge(ShimContext *c, const char *name);

/* prepare.c: the run.json key "reap", the command the keeper runs when the shim dies (`aula _reap`). */
void shim_jw_reap(JsonWriter *w, const ShimContext *c, const char *name);

/* prepare-vm.c: run.json of a VM instance (and its disks, its tap); its writable disk. */
int shim_vm_prepare(ShimContext *c, ShimStart *st, const char *run_dir);
int shim_vm_scratch(ShimContext *c, const char *name, char **ret);

/* snapshot.c */
int shim_tree_copy(int src_dirfd, int dst_dirfd);
int shim_reset_files(ShimContext *c, const char *name, const char *snap);

char *shim_strerror_msg(int error, char *msg);
