/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * aula-shim, the per-instance process: an epoll loop (server.c) that owns
 * the instance's console (pty or agent stdio), its log ring, its exit status
 * and the control socket, and a backend (ShimBackendOps) that owns the
 * container or the VM. Internal to shim/.
 */

#include <sys/types.h>

#include "shim-proto.h"

typedef struct Shim Shim;
typedef struct ShimWatch ShimWatch;
typedef struct ShimClient ShimClient;

typedef void (*ShimWatchFn)(Shim *s, ShimWatch *w, uint32_t events);

struct ShimWatch {
        int fd;
        uint32_t events;
        ShimWatchFn fn;
        void *userdata;
};

typedef enum ShimInstanceState {
        SHIM_STATE_CREATING,
        SHIM_STATE_CREATED,
        SHIM_STATE_RUNNING,
        SHIM_STATE_STOPPING,
        SHIM_STATE_STOPPED,
        _SHIM_STATE_MAX,
} ShimInstanceState;

const char *shim_state_to_string(ShimInstanceState st);

typedef struct ShimDisk {
        char *path;
        bool read_only;
} ShimDisk;

/* run.json, written by libaula-shim before it starts the shim (docs/shim-protocol.md). */
typedef struct ShimRunConfig {
        char *name;
        char *isolation; /* "container" | "vm" */
        char *data_dir; /* persistent: console.log, exit.json */
        bool start; /* start at once; else wait for "start" on the ready channel */
        int stop_signal;
        uint64_t stop_timeout_usec;
        uint64_t log_max;
        char **reap; /* the cleanup command the keeper runs when the shim is gone */
        /* container */
        char *container_id;
        char *bundle;
        char *state_root;
        char *cgroup;
        char *restore; /* a CRIU checkpoint to restore instead of starting afresh */
        /* vm */
        char *kernel, *initrd, *cmdline, *vsock, *tap, *agent;
        uint64_t memory;
        unsigned vcpus;
        ShimDisk *disks;
        size_t n_disks;
        char **args, **env;
        char *cwd, *hostname;
        uint32_t uid, gid;
} ShimRunConfig;

int shim_run_config_load(const char *path, ShimRunConfig *ret, char **error_msg);
void shim_run_config_done(ShimRunConfig *c);

typedef struct ShimExecRequest {
        char **args;
        char **env;
        char *cwd;
        char *user;
        bool tty;
        bool detach;
        unsigned rows, cols;
        int stdio[3]; /* non-tty: the client's fds (owned by the request) */
} ShimExecRequest;

void shim_exec_request_done(ShimExecRequest *r);

typedef struct ShimBackendOps {
        const char *name;
        /* Create the instance; with start, also start it. Completion: shim_created() / shim_started(). */
        int (*create)(Shim *s, bool start);
        /* Release a created instance. Completion: shim_started(). */
        int (*start)(Shim *s);
        /* Signal the main process, or with all every process of the instance. */
        int (*kill)(Shim *s, int sig, bool all);
        /* Start a process; completion: shim_exec_started() (takes ownership of req's fds on success). */
        int (*exec)(Shim *s, ShimClient *c, ShimExecRequest *req);
        int (*stats)(Shim *s, JsonWriter *w);
        /* Checkpoint into image_path (CRIU); without leave_running the instance ends (reason "checkpointed"). */
        int (*checkpoint)(Shim *s, ShimClient *c, const char *image_path, bool leave_running);
        /* Console input; returns bytes taken (may be short, then -EAGAIN style back-pressure is the caller's). */
        ssize_t (*input)(Shim *s, const void *data, size_t len);
        int (*resize)(Shim *s, unsigned rows, unsigned cols);
        void (*free)(Shim *s);
} ShimBackendOps;

extern const ShimBackendOps shim_backend_container;
extern const ShimBackendOps shim_backend_microvm;

struct Shim {
        ShimRunConfig cfg;
        const ShimBackendOps *backend;
        void *backend_data;
        ShimInstanceState state;
        int epoll_fd;
        int ready_fd; /* channel to the starter; -EBADF once done */
        ShimWatch ready_watch;
        int listen_fd;
        ShimWatch listen_watch;
        int signal_fd;
        ShimWatch signal_watch;
        int timer_fd;
        ShimWatch timer_watch;
        int lock_fd;
        int keeper_pipe; /* write end; closing it makes the keeper clean up */
        pid_t keeper_pid;
        pid_t main_pid;
        int exit_code; /* -1 while running */
        char *exit_reason;
        uint64_t started_usec; /* CLOCK_REALTIME */
        ShimLogRing *ring;
        ShimClient *clients;
        struct ShimChild *children;
        struct ShimOrphan *orphans;
        bool stop_requested;
        bool checkpointing; /* the main process's end is a checkpoint's, not an exit */
        bool kill_sent;
        bool quit;
        uint64_t quit_deadline;
        bool busy_since_trim;
};

/* ---------------------------------------------------------- event loop (server.c) */

int shim_watch_add(Shim *s, ShimWatch *w, int fd, uint32_t events, ShimWatchFn fn, void *userdata);
int shim_watch_modify(Shim *s, ShimWatch *w, uint32_t events);
void shim_watch_remove(Shim *s, ShimWatch *w);

typedef void (*ShimChildFn)(Shim *s, pid_t pid, int status, void *userdata);
/* Call fn when pid (a child or an orphan reparented to us) exits; status as from waitpid. */
int shim_child_watch(Shim *s, pid_t pid, ShimChildFn fn, void *userdata);
void shim_child_forget_userdata(Shim *s, void *userdata);

/* Fork a helper in the host pid namespace with a SEQPACKET channel; in the child, returns 0 and *ret_fd is its end. */
pid_t shim_fork_helper(Shim *s, int *ret_fd);

/* Backend completions. */
void shim_created(Shim *s, pid_t main_pid);
void shim_started(Shim *s);
void shim_create_failed(Shim *s, int error, const char *msg);
/* The main process ended (exit code 0-255, 128+signal). */
void shim_main_exited(Shim *s, int exit_code, const char *reason);
/* Output of the main process: logged, sent to consoles and followers. */
void shim_console_output(Shim *s, const void *data, size_t len);
/* The console can take input again (after a short write). */
void shim_console_writable(Shim *s);
/* An exec started (pid > 0, tty master or -EBADF, passed to the client) or failed (error < 0, msg). */
void shim_exec_started(Shim *s, ShimClient *c, pid_t pid, int master, int error, const char *msg);
/* A checkpoint finished (error < 0: it failed, msg says why; the instance runs on). */
void shim_checkpoint_done(Shim *s, ShimClient *c, int error, const char *msg);

/* trim.c: unmap clean text and read-only data of our executable while idle. */
int shim_trim_init(void);
void shim_trim(void);

/* Helpers shared by backends (be-util.c). */
int shim_helper_capture_logs(int *ret_fd);
char *shim_helper_last_error(int fd);
int shim_net_dev_bytes(pid_t pid, uint64_t *ret_rx, uint64_t *ret_tx);
