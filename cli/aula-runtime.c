/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aula-runtime: a runc-compatible OCI runtime (same subcommands, flags, exit
 * codes, state JSON and console-socket protocol), so podman --runtime,
 * containerd's runc shim (BinaryName) and CRI-O can use it unchanged.
 * Only argument parsing and output here; everything else is libruntime.
 */
#include <signal.h>

#include "cli-opts.h"
#include "oci.h"
#include "runtime.h"

typedef struct Globals {
        const char *root;
        const char *log;
        const char *log_format;
        bool debug;
        bool systemd_cgroup;
        bool version;
        bool help;
        const char *criu;
} Globals;

static Globals arg_globals;

typedef struct Verb {
        const char *name;
        const char *args;
        const char *summary;
        int (*run)(const struct Verb *v, RtContext *ctx, int argc, char **argv);
} Verb;

#define HELP_OPTION(v) \
        { "help", 'h', CLI_BOOL, (v), NULL, "show this help" }

static int usage_error(const Verb *v, const char *fmt, ...) _printf_(2, 3);
static int usage_error(const Verb *v, const char *fmt, ...) {
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        log_error("%s: %s", v->name, msg);
        return -EINVAL;
}

static void verb_help(const Verb *v, const CliOption *opts, size_t n) {
        printf("Usage: aula-runtime [global options] %s%s%s\n\n%s\n", v->name, *v->args ? " " : "", v->args,
               v->summary);
        if (n > 1) {
                printf("\nOptions:\n");
                cli_print_options(stdout, opts, n);
        }
}

/* Parse, handle --help, and check the positional count (min..max, max < 0 = unbounded). */
static int parse_verb(
                const Verb *v,
                int argc,
                char **argv,
                const CliOption *opts,
                size_t n,
                int min,
                int max,
                int stop_at,
                char ***ret) {
        bool *help = opts[n - 1].ptr;
        char **pos = NULL;
        int r, k;

        r = cli_parse(v->name, argc, argv, opts, n, stop_at, &pos);
        if (r < 0)
                return r;
        if (*help) {
                verb_help(v, opts, n);
                free(pos);
                return 1;
        }
        k = (int) strv_length(pos);
        if (k < min || (max >= 0 && k > max)) {
                free(pos);
                if (k < min)
                        return usage_error(v, "missing argument%s (see --help)", min - k > 1 ? "s" : "");
                return usage_error(v, "unexpected argument '%s' (see --help)", argv[argc - 1]);
        }
        *ret = pos;
        return 0;
}

/* --------------------------------------------------------- create / run */

static int verb_create_or_run(const Verb *v, RtContext *ctx, int argc, char **argv) {
        RtCreateOptions o = {};
        bool help = false, is_run = streq(v->name, "run");
        _cleanup_free_ char **pos = NULL;
        const CliOption opts[] = {
                { "bundle", 'b', CLI_STRING, &o.bundle, "DIR",
                  "bundle directory (default: current directory)" },
                { "console-socket", 0, CLI_STRING, &o.console_socket, "PATH",
                  "unix socket that receives the pty master (process.terminal)" },
                { "pid-file", 0, CLI_STRING, &o.pid_file, "FILE", "write the init's PID here" },
                { "preserve-fds", 0, CLI_UINT, &o.preserve_fds, "N", "pass fds 3..3+N-1 to the container" },
                { "no-pivot", 0, CLI_BOOL, &o.no_pivot, NULL, "MS_MOVE + chroot instead of pivot_root" },
                { "no-new-keyring", 0, CLI_BOOL, &o.no_new_keyring, NULL, "keep the caller's session keyring" },
                { "detach", 'd', CLI_BOOL, is_run ? &o.detach : NULL, NULL,
                  is_run ? "return once started" : NULL },
                { "keep", 0, CLI_BOOL, is_run ? &o.keep : NULL, NULL,
                  is_run ? "keep the container after exit" : NULL },
                { "no-subreaper", 0, CLI_BOOL, &o.no_subreaper, NULL, "do not become a subreaper" },
                HELP_OPTION(&help),
        };
        int r;

        r = parse_verb(v, argc, argv, opts, ELEMENTSOF(opts), 1, 1, 0, &pos);
        if (r != 0)
                return r < 0 ? r : 0;
        o.id = pos[0];
        return is_run ? rt_run(ctx, &o) : rt_create(ctx, &o);
}

/* ------------------------------------------------------- single-id verbs */

static int verb_simple(const Verb *v, RtContext *ctx, int argc, char **argv) {
        _cleanup_free_ char **pos = NULL;
        _cleanup_free_ char *json = NULL;
        bool help = false, force = false;
        const bool is_delete = streq(v->name, "delete");
        const CliOption opts[] = {
                { "force", 'f', CLI_BOOL, is_delete ? &force : NULL, NULL,
                  is_delete ? "kill the container first if it is still running" : NULL },
                HELP_OPTION(&help),
        };
        int r;

        r = parse_verb(v, argc, argv, opts, ELEMENTSOF(opts), 1, 1, 0, &pos);
        if (r != 0)
                return r < 0 ? r : 0;
        if (streq(v->name, "start"))
                return rt_start(ctx, pos[0]);
        if (streq(v->name, "pause"))
                return rt_pause(ctx, pos[0]);
        if (streq(v->name, "resume"))
                return rt_resume(ctx, pos[0]);
        if (is_delete) {
                r = rt_delete(ctx, pos[0], force);
                return r == -ENOENT && force ? 0 : r;
        }
        r = rt_state(ctx, pos[0], &json);
        if (r >= 0)
                printf("%s\n", json);
        return r;
}

static int verb_kill(const Verb *v, RtContext *ctx, int argc, char **argv) {
        _cleanup_free_ char **pos = NULL;
        bool help = false, all = false;
        const CliOption opts[] = {
                { "all", 'a', CLI_BOOL, &all, NULL, "signal every process of the container" },
                HELP_OPTION(&help),
        };
        int r, sig = SIGTERM;

        r = parse_verb(v, argc, argv, opts, ELEMENTSOF(opts), 1, 2, 0, &pos);
        if (r != 0)
                return r < 0 ? r : 0;
        if (pos[1]) {
                sig = signal_from_string(pos[1]);
                if (sig < 0)
                        return usage_error(v, "unknown signal '%s'", pos[1]);
        }
        return rt_kill(ctx, pos[0], sig, all);
}

/* ------------------------------------------------------------------ exec */

static int verb_exec(const Verb *v, RtContext *ctx, int argc, char **argv) {
        _cleanup_free_ char **pos = NULL;
        _cleanup_strv_free_ char **env = NULL, **caps = NULL, **gids = NULL;
        RtExecOptions o = {};
        bool help = false;
        const CliOption opts[] = {
                { "process", 'p', CLI_STRING, &o.process_file, "FILE",
                  "process.json to run (replaces the flags below)" },
                { "tty", 't', CLI_BOOL, &o.tty, NULL, "allocate a pseudo-TTY" },
                { "detach", 'd', CLI_BOOL, &o.detach, NULL, "return once the process runs" },
                { "pid-file", 0, CLI_STRING, &o.pid_file, "FILE", "write the process's PID here" },
                { "console-socket", 0, CLI_STRING, &o.console_socket, "PATH",
                  "send the pty master to this socket" },
                { "cwd", 0, CLI_STRING, &o.cwd, "DIR", "working directory in the container" },
                { "env", 'e', CLI_STRV, &env, "K=V", "set an environment variable (repeatable)" },
                { "user", 'u', CLI_STRING, &o.user, "UID[:GID]", "run as this user" },
                { "additional-gids", 'g', CLI_STRV, &gids, NULL, NULL },
                { "cap", 'c', CLI_STRV, &caps, "CAP", "add a capability (repeatable)" },
                { "no-new-privs", 0, CLI_BOOL, &o.no_new_privs, NULL, "set no_new_privs" },
                { "preserve-fds", 0, CLI_UINT, &o.preserve_fds, "N", "pass fds 3..3+N-1 to the process" },
                { "process-label", 0, CLI_STRING, NULL, "LABEL", NULL },
                { "apparmor", 0, CLI_STRING, NULL, "PROFILE", NULL },
                { "cgroup", 0, CLI_STRING, NULL, "PATH", NULL },
                { "ignore-paused", 0, CLI_BOOL, NULL, NULL, NULL },
                HELP_OPTION(&help),
        };
        int r;

        r = parse_verb(v, argc, argv, opts, ELEMENTSOF(opts), 1, -1, 1, &pos);
        if (r != 0)
                return r < 0 ? r : 0;
        if (!o.process_file && !pos[1])
                return usage_error(v, "no command given (see --help)");
        o.id = pos[0];
        o.args = pos + 1;
        o.env = env;
        o.caps = caps;
        return rt_exec(ctx, &o);
}

/* ------------------------------------------------------------ ps / list */

static int verb_ps(const Verb *v, RtContext *ctx, int argc, char **argv) {
        _cleanup_free_ char **pos = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_free_ char *table = NULL;
        const char *format = "table";
        bool help = false;
        const CliOption opts[] = {
                { "format", 'f', CLI_STRING, &format, "table|json", "output format (default table)" },
                HELP_OPTION(&help),
        };
        size_t n = 0;
        int r;

        r = parse_verb(v, argc, argv, opts, ELEMENTSOF(opts), 1, -1, 1, &pos);
        if (r != 0)
                return r < 0 ? r : 0;
        if (streq(format, "json")) {
                r = rt_pids(ctx, pos[0], &pids, &n);
                if (r < 0)
                        return r;
                printf("[");
                for (size_t i = 0; i < n; i++)
                        printf("%s%d", i ? "," : "", (int) pids[i]);
                printf("]\n");
                return 0;
        }
        if (!streq(format, "table"))
                return usage_error(v, "unknown format '%s'", format);
        r = rt_ps_table(ctx, pos[0], pos + 1, &table);
        if (r >= 0)
                fputs(table, stdout);
        return r;
}

static int verb_list(const Verb *v, RtContext *ctx, int argc, char **argv) {
        _cleanup_free_ char **pos = NULL;
        _cleanup_free_ char *json = NULL;
        const char *format = "table";
        bool help = false, quiet = false;
        const CliOption opts[] = {
                { "format", 'f', CLI_STRING, &format, "table|json", "output format (default table)" },
                { "quiet", 'q', CLI_BOOL, &quiet, NULL, "print only the ids" },
                HELP_OPTION(&help),
        };
        RtContainerInfo *l = NULL;
        size_t n = 0;
        int r;

        r = parse_verb(v, argc, argv, opts, ELEMENTSOF(opts), 0, 0, 0, &pos);
        if (r != 0)
                return r < 0 ? r : 0;
        if (streq(format, "json")) {
                r = rt_list_json(ctx, &json);
                if (r >= 0)
                        printf("%s\n", json);
                return r;
        }
        if (!streq(format, "table") && !streq(format, "text"))
                return usage_error(v, "unknown format '%s'", format);
        r = rt_list(ctx, &l, &n);
        if (r < 0)
                return r;
        if (!quiet)
                printf("%-20s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
                       "OWNER");
        for (size_t i = 0; i < n; i++) {
                if (quiet)
                        printf("%s\n", l[i].id);
                else
                        printf("%-20s %-8d %-10s %-40s %-31s %s\n", l[i].id, (int) l[i].pid, l[i].status,
                               l[i].bundle, l[i].created, isempty(l[i].owner) ? "root" : l[i].owner);
        }
        rt_container_info_free_many(l, n);
        return 0;
}

/* ---------------------------------------------------------------- update */

typedef struct UpdateFlags {
        const char *resources;
        int64_t blkio_weight, cpu_period, cpu_quota, cpu_share, cpu_rt_period, cpu_rt_runtime, pids_limit;
        const char *cpuset_cpus, *cpuset_mems, *memory, *memory_reservation, *memory_swap;
        bool seen[16];
} UpdateFlags;

static int size_flag(const char *s, OciOptI64 *o) {
        uint64_t v;
        if (!s)
                return 0;
        if (streq(s, "-1")) {
                *o = (OciOptI64){ true, -1 };
                return 0;
        }
        if (parse_size(s, &v) < 0 || v > INT64_MAX)
                return -EINVAL;
        *o = (OciOptI64){ true, (int64_t) v };
        return 0;
}

static int verb_update(const Verb *v, RtContext *ctx, int argc, char **argv) {
        _cleanup_free_ char **pos = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;
        _cleanup_(oci_resources_freep) OciResources *res = NULL;
        UpdateFlags f = {};
        bool help = false;
        bool *s = f.seen;
        const CliOption opts[] = {
                { "resources", 'r', CLI_STRING, &f.resources, "FILE|-", "linux.resources JSON (\"-\": stdin)" },
                { "blkio-weight", 0, CLI_INT64, &f.blkio_weight, "N", "block IO weight (10-1000)", &s[0] },
                { "cpu-period", 0, CLI_INT64, &f.cpu_period, "USEC", "CFS period", &s[1] },
                { "cpu-quota", 0, CLI_INT64, &f.cpu_quota, "USEC", "CFS quota per period", &s[2] },
                { "cpu-share", 0, CLI_INT64, &f.cpu_share, "N", "CPU shares", &s[3] },
                { "cpu-rt-period", 0, CLI_INT64, &f.cpu_rt_period, "USEC", "realtime period", &s[4] },
                { "cpu-rt-runtime", 0, CLI_INT64, &f.cpu_rt_runtime, "USEC", "realtime runtime", &s[5] },
                { "cpuset-cpus", 0, CLI_STRING, &f.cpuset_cpus, "LIST", "CPUs allowed (0-3,5)" },
                { "cpuset-mems", 0, CLI_STRING, &f.cpuset_mems, "LIST", "memory nodes allowed" },
                { "memory", 'm', CLI_STRING, &f.memory, "SIZE", "memory limit" },
                { "memory-reservation", 0, CLI_STRING, &f.memory_reservation, "SIZE", "memory soft limit" },
                { "memory-swap", 0, CLI_STRING, &f.memory_swap, "SIZE", "memory + swap limit (-1: unlimited)" },
                { "pids-limit", 0, CLI_INT64, &f.pids_limit, "N", "maximum number of tasks", &s[6] },
                { "kernel-memory", 0, CLI_STRING, NULL, "SIZE", NULL },
                { "kernel-memory-tcp", 0, CLI_STRING, NULL, "SIZE", NULL },
                { "l3-cache-schema", 0, CLI_STRING, NULL, "S", NULL },
                { "mem-bw-schema", 0, CLI_STRING, NULL, "S", NULL },
                HELP_OPTION(&help),
        };
        size_t len = 2;
        int r;

        r = parse_verb(v, argc, argv, opts, ELEMENTSOF(opts), 1, 1, 0, &pos);
        if (r != 0)
                return r < 0 ? r : 0;
        if (f.resources) {
                r = streq(f.resources, "-")
                                ? read_full_fd(STDIN_FILENO, OCI_CONFIG_MAX_BYTES, &text, &len)
                                : read_full_file_at(AT_FDCWD, f.resources, OCI_CONFIG_MAX_BYTES, &text, &len);
                if (r < 0)
                        return log_error_errno(r, "Failed to read resources from '%s': %m", f.resources);
        }
        r = oci_resources_parse(text ?: "{}", text ? len : 2, &res, &err);
        if (r < 0)
                return log_error_errno(r, "Invalid resources: %s", err ?: strerror(-r));
        if (s[0])
                res->block_io.weight = (OciOptU64){ true, (uint64_t) f.blkio_weight };
        if (s[1])
                res->cpu.period = (OciOptU64){ true, (uint64_t) f.cpu_period };
        if (s[2])
                res->cpu.quota = (OciOptI64){ true, f.cpu_quota };
        if (s[3])
                res->cpu.shares = (OciOptU64){ true, (uint64_t) f.cpu_share };
        if (s[4])
                res->cpu.realtime_period = (OciOptU64){ true, (uint64_t) f.cpu_rt_period };
        if (s[5])
                res->cpu.realtime_runtime = (OciOptI64){ true, f.cpu_rt_runtime };
        if (s[6])
                res->pids_limit = (OciOptI64){ true, f.pids_limit };
        if ((f.cpuset_cpus && !(res->cpu.cpus = strdup(f.cpuset_cpus))) ||
            (f.cpuset_mems && !(res->cpu.mems = strdup(f.cpuset_mems))))
                return log_error_errno(ENOMEM, "Out of memory");
        if (size_flag(f.memory, &res->memory.limit) < 0 ||
            size_flag(f.memory_reservation, &res->memory.reservation) < 0 ||
            size_flag(f.memory_swap, &res->memory.swap) < 0)
                return usage_error(v, "invalid size");
        return rt_update(ctx, pos[0], res);
}

/* ------------------------------------------------------- spec / features */

static int verb_spec(const Verb *v, RtContext *ctx, int argc, char **argv) {
        _cleanup_free_ char **pos = NULL;
        const char *bundle = NULL;
        bool help = false, rootless = false;
        const CliOption opts[] = {
                { "bundle", 'b', CLI_STRING, &bundle, "DIR",
                  "write config.json there (default: current directory)" },
                { "rootless", 0, CLI_BOOL, &rootless, NULL,
                  "a config for running without root (user namespace)" },
                HELP_OPTION(&help),
        };
        int r = parse_verb(v, argc, argv, opts, ELEMENTSOF(opts), 0, 0, 0, &pos);
        if (r != 0)
                return r < 0 ? r : 0;
        return rt_spec(bundle, rootless);
}

static int verb_features(const Verb *v, RtContext *ctx, int argc, char **argv) {
        _cleanup_free_ char **pos = NULL;
        _cleanup_free_ char *json = NULL;
        bool help = false;
        const CliOption opts[] = { HELP_OPTION(&help) };
        int r = parse_verb(v, argc, argv, opts, ELEMENTSOF(opts), 0, 0, 0, &pos);
        if (r != 0)
                return r < 0 ? r : 0;
        r = rt_features(&json);
        if (r >= 0)
                printf("%s\n", json);
        return r;
}

/* ---------------------------------------------------- checkpoint / restore */

static int cgroup_mode_flag(const Verb *v, const char *s, RtCgroupMode *ret) {
        if (!s) {
                *ret = RT_CGROUP_MODE_DEFAULT;
                return 0;
        }
        *ret = rt_cgroup_mode_from_string(s);
        if (*ret < 0)
                return usage_error(
                                v, "invalid --manage-cgroups-mode '%s': want soft, full, strict or ignore", s);
        return 0;
}

/* --empty-ns: runc accepts only "network", which is what happens anyway (docs/criu.md). */
static int empty_ns_flag(const Verb *v, char **l) {
        STRV_FOREACH(ns, l)
                if (!streq(*ns, "network"))
                        return usage_error(v, "namespace \"%s\" is not supported by --empty-ns", *ns);
        return 0;
}

static int verb_checkpoint(const Verb *v, RtContext *ctx, int argc, char **argv) {
        _cleanup_free_ char **pos = NULL;
        _cleanup_strv_free_ char **empty_ns = NULL;
        RtCheckpointOptions o = {};
        const char *mode = NULL, *parent = NULL, *page_server = NULL;
        bool help = false, pre_dump = false, lazy = false;
        const CliOption opts[] = {
                { "image-path", 0, CLI_STRING, &o.image_path, "DIR",
                  "where CRIU's images go (default ./checkpoint)" },
                { "work-path", 0, CLI_STRING, &o.work_path, "DIR",
                  "CRIU's work files and log (default: image path)" },
                { "leave-running", 0, CLI_BOOL, &o.leave_running, NULL,
                  "leave the container running afterwards" },
                { "tcp-established", 0, CLI_BOOL, &o.tcp_established, NULL, "allow open TCP connections" },
                { "ext-unix-sk", 0, CLI_BOOL, &o.ext_unix_sk, NULL, "allow external unix sockets" },
                { "shell-job", 0, CLI_BOOL, &o.shell_job, NULL, "allow shell jobs" },
                { "file-locks", 0, CLI_BOOL, &o.file_locks, NULL, "handle file locks" },
                { "manage-cgroups-mode", 0, CLI_STRING, &mode, "MODE",
                  "soft (default), full, strict or ignore" },
                { "empty-ns", 0, CLI_STRV, &empty_ns, "NS", "network: leave it out (always done)" },
                { "parent-path", 0, CLI_STRING, &parent, "DIR", NULL },
                { "pre-dump", 0, CLI_BOOL, &pre_dump, NULL, NULL },
                { "lazy-pages", 0, CLI_BOOL, &lazy, NULL, NULL },
                { "page-server", 0, CLI_STRING, &page_server, "ADDR:PORT", NULL },
                { "status-fd", 0, CLI_STRING, NULL, "FD", NULL },
                { "auto-dedup", 0, CLI_BOOL, NULL, NULL, NULL },
                HELP_OPTION(&help),
        };
        int r;

        r = parse_verb(v, argc, argv, opts, ELEMENTSOF(opts), 1, 1, 0, &pos);
        if (r != 0)
                return r < 0 ? r : 0;
        if (pre_dump || parent || lazy || page_server)
                return usage_error(
                                v, "--%s is not supported (no iterative or lazy migration)",
                                pre_dump                 ? "pre-dump"
                                                : parent ? "parent-path"
                                                : lazy   ? "lazy-pages"
                                                         : "page-server");
        if (cgroup_mode_flag(v, mode, &o.cgroup_mode) < 0 || empty_ns_flag(v, empty_ns) < 0)
                return -EINVAL;
        o.id = pos[0];
        return rt_checkpoint(ctx, &o);
}

static int verb_restore(const Verb *v, RtContext *ctx, int argc, char **argv) {
        _cleanup_free_ char **pos = NULL;
        _cleanup_strv_free_ char **empty_ns = NULL;
        RtRestoreOptions o = {};
        const char *mode = NULL;
        bool help = false, lazy = false;
        const CliOption opts[] = {
                { "image-path", 0, CLI_STRING, &o.image_path, "DIR", "CRIU's images (default ./checkpoint)" },
                { "work-path", 0, CLI_STRING, &o.work_path, "DIR",
                  "CRIU's work files and log (default: image path)" },
                { "bundle", 'b', CLI_STRING, &o.bundle, "DIR",
                  "bundle directory (default: current directory)" },
                { "detach", 'd', CLI_BOOL, &o.detach, NULL, "return once restored" },
                { "pid-file", 0, CLI_STRING, &o.pid_file, "FILE", "write the restored init's PID here" },
                { "console-socket", 0, CLI_STRING, &o.console_socket, "PATH",
                  "unix socket that receives the new pty master" },
                { "no-subreaper", 0, CLI_BOOL, &o.no_subreaper, NULL, "do not become a subreaper" },
                { "tcp-established", 0, CLI_BOOL, &o.tcp_established, NULL, "allow open TCP connections" },
                { "ext-unix-sk", 0, CLI_BOOL, &o.ext_unix_sk, NULL, "allow external unix sockets" },
                { "shell-job", 0, CLI_BOOL, &o.shell_job, NULL, "allow shell jobs" },
                { "file-locks", 0, CLI_BOOL, &o.file_locks, NULL, "handle file locks" },
                { "manage-cgroups-mode", 0, CLI_STRING, &mode, "MODE",
                  "soft (default), full, strict or ignore" },
                { "empty-ns", 0, CLI_STRV, &empty_ns, "NS", "network: restore it empty (always done)" },
                { "no-pivot", 0, CLI_BOOL, NULL, NULL, NULL },
                { "auto-dedup", 0, CLI_BOOL, NULL, NULL, NULL },
                { "lazy-pages", 0, CLI_BOOL, &lazy, NULL, NULL },
                { "lsm-profile", 0, CLI_STRING, NULL, "TYPE:LABEL", NULL },
                { "lsm-mount-context", 0, CLI_STRING, NULL, "CONTEXT", NULL },
                HELP_OPTION(&help),
        };
        int r;

        r = parse_verb(v, argc, argv, opts, ELEMENTSOF(opts), 1, 1, 0, &pos);
        if (r != 0)
                return r < 0 ? r : 0;
        if (lazy)
                return usage_error(v, "--lazy-pages is not supported");
        if (cgroup_mode_flag(v, mode, &o.cgroup_mode) < 0 || empty_ns_flag(v, empty_ns) < 0)
                return -EINVAL;
        o.id = pos[0];
        return rt_restore(ctx, &o);
}

/* ------------------------------------------------------------------ main */

static const Verb verbs[] = {
        { "create", "ID", "Create a container from the bundle; its process waits for `start`.",
          verb_create_or_run },
        { "start", "ID", "Start the process of a created container.", verb_simple },
        { "run", "ID", "Create and start a container; wait for it unless --detach.", verb_create_or_run },
        { "state", "ID", "Print the container's state as JSON.", verb_simple },
        { "kill", "ID [SIGNAL]", "Send a signal (default TERM; name or number) to the container.", verb_kill },
        { "delete", "ID", "Delete a stopped container (--force: also a running one).", verb_simple },
        { "exec", "ID COMMAND [ARG...]", "Run a process in a running container.", verb_exec },
        { "ps", "ID [PS-ARG...]", "List the container's processes.", verb_ps },
        { "list", "", "List containers.", verb_list },
        { "pause", "ID", "Freeze every process of the container.", verb_simple },
        { "resume", "ID", "Thaw a paused container.", verb_simple },
        { "update", "ID", "Change the container's resource limits.", verb_update },
        { "spec", "", "Write a default config.json.", verb_spec },
        { "features", "", "Print the runtime-spec features document.", verb_features },
        { "checkpoint", "ID", "Checkpoint a running container with CRIU.", verb_checkpoint },
        { "restore", "ID", "Restore a container from a checkpoint.", verb_restore },
};

static void main_help(void) {
        printf("Usage: aula-runtime [global options] COMMAND [options] [args]\n\n"
               "An OCI runtime (runtime-spec %s), compatible with runc's command line.\n\nCommands:\n",
               OCI_VERSION);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-10s %s\n", verbs[i].name, verbs[i].summary);
        printf("\nGlobal options:\n"
               "      --root DIR          state directory (default /run/aula-runtime)\n"
               "      --log FILE          write log lines to FILE instead of stderr\n"
               "      --log-format FMT    text or json (JSON lines with level, msg, time)\n"
               "      --debug             log debug messages\n"
               "      --systemd-cgroup    use systemd for cgroups (refused: no systemd here)\n"
               "      --criu PATH         the criu binary for checkpoint/restore (default: criu on PATH)\n"
               "  -v, --version           print the version\n"
               "  -h, --help              show this help\n\n"
               "\"aula-runtime COMMAND --help\" shows the options of a command.\n");
}

static int exit_code(int r) {
        /* Negative: an error already logged once. Otherwise a process's exit status. */
        return r < 0 ? 1 : r;
}

int main(int argc, char **argv) {
        Globals *g = &arg_globals;
        const CliOption gopts[] = {
                { "root", 0, CLI_STRING, &g->root, "DIR", NULL },
                { "log", 0, CLI_STRING, &g->log, "FILE", NULL },
                { "log-format", 0, CLI_STRING, &g->log_format, "FMT", NULL },
                { "debug", 0, CLI_BOOL, &g->debug, NULL, NULL },
                { "systemd-cgroup", 0, CLI_BOOL, &g->systemd_cgroup, NULL, NULL },
                { "version", 'v', CLI_BOOL, &g->version, NULL, NULL },
                { "help", 'h', CLI_BOOL, &g->help, NULL, NULL },
                { "rootless", 0, CLI_STRING, NULL, "auto|true|false", NULL },
                { "criu", 0, CLI_STRING, &g->criu, "PATH", NULL },
        };
        _cleanup_free_ char **pos = NULL;
        _cleanup_free_ char *root_buf = NULL;
        RtContext ctx = {};
        int r, first = 1;

        log_set_program("aula-runtime");
        /* Global options end at the first non-option: the command. */
        while (first < argc && argv[first][0] == '-' && argv[first][1]) {
                const char *name = argv[first] + 1 + (argv[first][1] == '-');
                bool takes_value = streq(name, "root") || streq(name, "log") || streq(name, "log-format") ||
                                streq(name, "criu") || streq(name, "rootless");
                first += takes_value ? 2 : 1;
        }
        first = MIN(first, argc);
        r = cli_parse("aula-runtime", first - 1, argv + 1, gopts, ELEMENTSOF(gopts), 0, &pos);
        if (r < 0)
                return 1;
        if (g->debug)
                log_set_max_level(LOG_LEVEL_DEBUG);
        if (g->log) {
                LogFormat fmt = g->log_format ? log_format_from_string(g->log_format) : LOG_FORMAT_TEXT;
                if (fmt < 0) {
                        log_error("invalid --log-format '%s': want text or json", g->log_format);
                        return 1;
                }
                r = log_open_file(g->log, fmt);
                if (r < 0) {
                        log_error_errno(r, "Failed to open log file '%s': %m", g->log);
                        return 1;
                }
        } else if (g->log_format && log_format_from_string(g->log_format) < 0) {
                log_error("invalid --log-format '%s': want text or json", g->log_format);
                return 1;
        }
        if (g->version) {
                printf("aula-runtime version %s\nspec: %s\n", AULA_VERSION, OCI_VERSION);
                return 0;
        }
        if (g->help || first >= argc) {
                main_help();
                return g->help ? 0 : 1;
        }
        if (g->root)
                ctx.state_root = g->root;
        else if (geteuid() != 0 && getenv("XDG_RUNTIME_DIR")) {
                if (xasprintf(&root_buf, "%s/aula-runtime", getenv("XDG_RUNTIME_DIR")) < 0)
                        return 1;
                ctx.state_root = root_buf;
        } else
                ctx.state_root = "/run/aula-runtime";
        ctx.systemd_cgroup = g->systemd_cgroup;
        /* libruntime finds CRIU through $AULA_CRIU (default: criu on PATH). */
        if (g->criu && setenv("AULA_CRIU", g->criu, 1) < 0)
                return 1;

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[first], verbs[i].name))
                        return exit_code(verbs[i].run(&verbs[i], &ctx, argc - first - 1, argv + first + 1));
        if (streq(argv[first], "help")) {
                main_help();
                return 0;
        }
        log_error("unknown command '%s' (see --help)", argv[first]);
        return 1;
}
