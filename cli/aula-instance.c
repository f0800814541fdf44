/* SPDX-License-Identifier: Apache-2.0 */

/* `aula create|start|stop|restart|rm|ls|exec|console|logs|stats|snapshot|reset`: parsing and printing over libaula-shim. */

#include <getopt.h>
#include <time.h>

#include "cli-instance.h"
#include "common.h"
#include "shim.h"

int cli_context(const CliGlobal *g, ShimContext **ret) {
        return shim_context_new(g->root, getenv("AULA_SELF"), ret) < 0 ? -1 : 0;
}

int cli_usage(const char *usage, const char *options, bool error) {
        fprintf(error ? stderr : stdout, "Usage: aula %s\n%s%s", usage, options ? "\nOptions:\n" : "",
                options ?: "");
        return error ? 2 : 0;
}

int cli_parse_timeout(const char *s, uint64_t *ret) {
        uint64_t ms;
        if (shim_parse_cpus(s, &ms) < 0 || ms > 3600 * 1000)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid timeout '%s' (seconds)", s);
        *ret = ms * 1000;
        return 0;
}

int cli_parse_limit(int opt, const char *arg, ShimLimits *l) {
        uint64_t u;
        switch (opt) {
        case 'C':
                if (shim_parse_cpus(arg, &l->cpus_milli) < 0 || l->cpus_milli == 0)
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid --cpus '%s' (e.g. 1.5)", arg);
                return 0;
        case 'm':
                if (parse_size(arg, &u) < 0 || u == 0 || u > INT64_MAX)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL), "invalid --memory '%s' (e.g. 512M)", arg);
                l->memory = u;
                return 0;
        case 'P':
                if (safe_atou64(arg, &u) < 0 || u == 0 || u > INT64_MAX)
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid --pids '%s'", arg);
                l->pids = u;
                return 0;
        }
        return -EINVAL;
}

/* ------------------------------------------------------------------ create */

int cli_parse_recipe_option(int c, const char **image, ShimIsolation *isolation, ShimLimits *limits, char ***env) {
        switch (c) {
        case 'I':
                *image = optarg;
                return 1;
        case 'i':
                *isolation = shim_isolation_from_string(optarg);
                if (*isolation < 0)
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--isolation: container or vm");
                return 1;
        case 'C':
        case 'm':
        case 'P':
                return cli_parse_limit(c, optarg, limits) < 0 ? -EINVAL : 1;
        case 'e':
                return strv_extend(env, optarg) < 0 ? -ENOMEM : 1;
        default:
                return 0;
        }
}

static const char create_usage[] = "create NAME --image IMAGE [OPTIONS] [-- COMMAND [ARG...]]";
static const char create_options[] = "  --image IMAGE          image to make the instance from (required)\n"
                                     "  --isolation container|vm  container (default) or microVM\n"
                                     "  --cpus N               CPU limit, e.g. 0.5 or 2\n"
                                     "  -m, --memory SIZE      memory limit, e.g. 512M\n"
                                     "  --pids N               process limit\n"
                                     "  -e, --env KEY=VALUE    environment variable (repeatable)\n"
                                     "  --lab LAB              create it as student NAME of lab LAB (LAB/NAME)\n"
                                     "  --start                start it at once\n"
                                     "  -h, --help             show this help\n"
                                     "Arguments after -- replace the image's command.\n";

int cli_create_main(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "image", required_argument, NULL, 'I' }, { "isolation", required_argument, NULL, 'i' },
                { "cpus", required_argument, NULL, 'C' },  { "memory", required_argument, NULL, 'm' },
                { "pids", required_argument, NULL, 'P' },  { "env", required_argument, NULL, 'e' },
                { "lab", required_argument, NULL, 'L' },   { "start", no_argument, NULL, 'S' },
                { "help", no_argument, NULL, 'h' },        {},
        };
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        _cleanup_strv_free_ char **env = NULL, **cmd = NULL;
        ShimCreateOptions o = { .isolation = SHIM_ISOLATION_CONTAINER };
        const char *lab = NULL, *name;
        int c, r;

        /* Everything after "--" is the command; options and NAME may come in any order before it. */
        int dash = cli_split_dashdash(argc, argv);
        while ((c = getopt_long(dash, argv, "hm:e:", opts, NULL)) >= 0) {
                r = cli_parse_recipe_option(c, &o.image, &o.isolation, &o.limits, &env);
                if (r < 0)
                        return r == -ENOMEM ? 1 : 2;
                if (r > 0)
                        continue;
                switch (c) {
                case 'L':
                        lab = optarg;
                        break;
                case 'S':
                        o.start = true;
                        break;
                case 'h':
                        return cli_usage(create_usage, create_options, false);
                default:
                        return cli_usage(create_usage, create_options, true);
                }
        }
        if (optind + 1 != dash)
                return cli_usage(create_usage, create_options, true);
        name = argv[optind];
        for (int i = dash + 1; i < argc; i++)
                if (strv_extend(&cmd, argv[i]) < 0)
                        return 1;
        if (!o.image)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--image is required"), 2;
        o.env = env;
        o.cmd = cmd;
        if (cli_context(g, &ctx) < 0)
                return 1;
        if (lab)
                r = shim_lab_add(ctx, lab, name, &o);
        else
                r = shim_instance_create(ctx, name, &o);
        return r < 0 ? 1 : 0;
}

/* --------------------------------------------------------- start/stop/rm */

typedef enum Action { ACT_START, ACT_STOP, ACT_RESTART, ACT_RM } Action;

static int lifecycle(int argc, char **argv, const CliGlobal *g, Action act) {
        static const struct option opts[] = {
                { "time", required_argument, NULL, 't' },
                { "force", no_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static const char *const usages[] = {
                [ACT_START] = "start NAME...",
                [ACT_STOP] = "stop [-t SECONDS] NAME...",
                [ACT_RESTART] = "restart [-t SECONDS] NAME...",
                [ACT_RM] = "rm [-f] NAME...",
        };
        static const char *const options[] = {
                [ACT_START] = NULL,
                [ACT_STOP] = "  -t, --time SECONDS   wait this long after the stop signal before killing (default 5)\n",
                [ACT_RESTART] = "  -t, --time SECONDS   as for stop\n",
                [ACT_RM] = "  -f, --force          stop (kill) a running instance first\n",
        };
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        uint64_t timeout = 5 * 1000000ULL;
        bool force = false;
        int c, ret = 0;

        while ((c = getopt_long(argc, argv, "ht:f", opts, NULL)) >= 0)
                switch (c) {
                case 't':
                        if (act == ACT_START || act == ACT_RM || cli_parse_timeout(optarg, &timeout) < 0)
                                return cli_usage(usages[act], options[act], true);
                        break;
                case 'f':
                        if (act != ACT_RM)
                                return cli_usage(usages[act], options[act], true);
                        force = true;
                        break;
                case 'h':
                        return cli_usage(usages[act], options[act], false);
                default:
                        return cli_usage(usages[act], options[act], true);
                }
        if (optind >= argc)
                return cli_usage(usages[act], options[act], true);
        if (cli_context(g, &ctx) < 0)
                return 1;
        for (int i = optind; i < argc; i++) {
                int r;
                switch (act) {
                case ACT_START:
                        r = shim_instance_start(ctx, argv[i]);
                        break;
                case ACT_STOP:
                        r = shim_instance_stop(ctx, argv[i], timeout, NULL);
                        break;
                case ACT_RESTART:
                        r = shim_instance_restart(ctx, argv[i], timeout);
                        break;
                default:
                        r = shim_instance_remove(ctx, argv[i], force, timeout);
                        break;
                }
                if (r < 0)
                        ret = 1;
        }
        return ret;
}

int cli_start_main(int argc, char **argv, const CliGlobal *g) {
        return lifecycle(argc, argv, g, ACT_START);
}

int cli_stop_main(int argc, char **argv, const CliGlobal *g) {
        return lifecycle(argc, argv, g, ACT_STOP);
}

int cli_restart_main(int argc, char **argv, const CliGlobal *g) {
        return lifecycle(argc, argv, g, ACT_RESTART);
}

int cli_rm_main(int argc, char **argv, const CliGlobal *g) {
        return lifecycle(argc, argv, g, ACT_RM);
}

/* ---------------------------------------------------------------------- ls */

void cli_jw_instance(JsonWriter *w, const ShimInstanceInfo *i) {
        jw_object_open(w);
        jw_key(w, "name");
        jw_string(w, i->name);
        jw_key(w, "lab");
        jw_string(w, i->lab);
        jw_key(w, "state");
        jw_string(w, i->state);
        jw_key(w, "image");
        jw_string(w, i->image);
        jw_key(w, "image_digest");
        jw_string(w, i->image_digest);
        jw_key(w, "isolation");
        jw_string(w, i->isolation);
        jw_key(w, "pid");
        jw_int(w, i->pid);
        jw_key(w, "ipv4");
        jw_string(w, i->ipv4);
        jw_key(w, "created");
        jw_string(w, i->created);
        jw_key(w, "started");
        jw_string(w, i->started);
        jw_key(w, "exit_code");
        if (i->exit_code >= 0)
                jw_int(w, i->exit_code);
        else
                jw_null(w);
        jw_key(w, "exit_reason");
        jw_string(w, i->exit_reason);
        jw_key(w, "finished");
        jw_string(w, i->finished);
        jw_key(w, "cpus");
        jw_double(w, (double) i->limits.cpus_milli / 1000.0);
        jw_key(w, "memory");
        jw_uint(w, i->limits.memory);
        jw_key(w, "pids");
        jw_uint(w, i->limits.pids);
        jw_object_close(w);
}

const char *cli_status(char *buf, size_t n, const ShimInstanceInfo *i) {
        if (!streq(i->state, "stopped") || i->exit_code < 0)
                snprintf(buf, n, "%s", i->state);
        else if (streq_ptr(i->exit_reason, "shim-died"))
                snprintf(buf, n, "stopped (shim died)");
        else if (streq_ptr(i->exit_reason, "failed"))
                snprintf(buf, n, "failed to start");
        else if (streq_ptr(i->exit_reason, "checkpointed"))
                snprintf(buf, n, "checkpointed");
        else
                snprintf(buf, n, "%s (%d)", i->exit_reason ?: "exited", i->exit_code);
        return buf;
}

static const char ls_usage[] = "ls [--format table|json] [--lab LAB]";
static const char ls_options[] = "  --format table|json   output format\n"
                                 "  --lab LAB             only the students of this lab\n";

int cli_ls_main(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "format", required_argument, NULL, 'F' },
                { "lab", required_argument, NULL, 'L' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        ShimInstanceInfo *l = NULL;
        const char *lab = NULL;
        bool json = false;
        size_t n = 0;
        int c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 'F':
                        if (cli_parse_format(optarg, &json) < 0)
                                return 2;
                        break;
                case 'L':
                        lab = optarg;
                        break;
                case 'h':
                        return cli_usage(ls_usage, ls_options, false);
                default:
                        return cli_usage(ls_usage, ls_options, true);
                }
        if (optind < argc)
                return cli_usage(ls_usage, ls_options, true);
        if (cli_context(g, &ctx) < 0 || shim_instance_list(ctx, lab, &l, &n) < 0)
                return 1;
        if (json) {
                _cleanup_(json_writer_freep) JsonWriter *w = NULL;
                if (json_writer_new(true, &w) < 0)
                        return 1;
                jw_array_open(w);
                for (size_t i = 0; i < n; i++)
                        cli_jw_instance(w, &l[i]);
                jw_array_close(w);
                cli_print_json(w);
        } else {
                printf("%-24s %-20s %-20s %-10s %-15s %s\n", "NAME", "STATUS", "IMAGE", "ISOLATION", "IPV4",
                       "CREATED");
                for (size_t i = 0; i < n; i++) {
                        char st[64];
                        printf("%-24s %-20s %-20s %-10s %-15s %.19s\n", l[i].name,
                               cli_status(st, sizeof st, &l[i]), l[i].image, l[i].isolation,
                               l[i].ipv4 ?: "-", l[i].created ?: "-");
                }
        }
        shim_instance_info_free_many(l, n);
        return 0;
}

/* -------------------------------------------------------------------- exec */

static const char exec_usage[] =
                "exec [-i] [-t] [-e KEY=VALUE] [-w DIR] [-u UID[:GID]] NAME [--] COMMAND [ARG...]";
static const char exec_options[] =
                "  -i, --interactive     keep stdin open (the default; accepted for familiarity)\n"
                "  -t, --tty             run the command on a terminal\n"
                "  -e, --env KEY=VALUE   environment variable (repeatable)\n"
                "  -w, --workdir DIR     working directory\n"
                "  -u, --user UID[:GID]  run as this user\n";

int cli_exec_main(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "interactive", no_argument, NULL, 'i' },
                { "tty", no_argument, NULL, 't' },
                { "env", required_argument, NULL, 'e' },
                { "workdir", required_argument, NULL, 'w' },
                { "user", required_argument, NULL, 'u' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        _cleanup_strv_free_ char **env = NULL;
        ShimExecOptions o = {};
        const char *name;
        int c, r;

        /* '+': the command's own options are not ours. */
        while ((c = getopt_long(argc, argv, "+hite:w:u:", opts, NULL)) >= 0)
                switch (c) {
                case 'i':
                        break;
                case 't':
                        o.tty = true;
                        break;
                case 'e':
                        if (!strchr(optarg, '=') || optarg[0] == '=')
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--env wants KEY=VALUE"), 2;
                        if (strv_extend(&env, optarg) < 0)
                                return 1;
                        break;
                case 'w':
                        o.cwd = optarg;
                        break;
                case 'u':
                        o.user = optarg;
                        break;
                case 'h':
                        return cli_usage(exec_usage, exec_options, false);
                default:
                        return cli_usage(exec_usage, exec_options, true);
                }
        if (optind >= argc)
                return cli_usage(exec_usage, exec_options, true);
        name = argv[optind++];
        if (optind < argc && streq(argv[optind], "--"))
                optind++;
        if (optind >= argc)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "no command given"), 2;
        o.args = argv + optind;
        o.env = env;
        if (cli_context(g, &ctx) < 0)
                return 125;
        r = shim_instance_exec(ctx, name, &o);
        /* As docker/podman: 125 when aula failed, else the command's status. */
        return r < 0 ? 125 : r;
}

/* ----------------------------------------------------------------- console */

int cli_console_main(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "detach-keys", required_argument, NULL, 'd' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static const char usage[] = "console [--detach-keys KEYS] NAME";
        static const char options[] =
                        "  --detach-keys KEYS   keys that detach (default ctrl-p,ctrl-q; \"\" for none)\n";
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        const char *keys = "ctrl-p,ctrl-q";
        int c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 'd':
                        keys = optarg;
                        break;
                case 'h':
                        return cli_usage(usage, options, false);
                default:
                        return cli_usage(usage, options, true);
                }
        if (optind + 1 != argc)
                return cli_usage(usage, options, true);
        if (cli_context(g, &ctx) < 0)
                return 1;
        return shim_instance_console(ctx, argv[optind], keys) < 0 ? 1 : 0;
}

/* -------------------------------------------------------------------- logs */

int cli_logs_main(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "follow", no_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static const char usage[] = "logs [-f] NAME";
        static const char options[] = "  -f, --follow   keep printing new output until the instance stops\n";
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        bool follow = false;
        int c;

        while ((c = getopt_long(argc, argv, "hf", opts, NULL)) >= 0)
                switch (c) {
                case 'f':
                        follow = true;
                        break;
                case 'h':
                        return cli_usage(usage, options, false);
                default:
                        return cli_usage(usage, options, true);
                }
        if (optind + 1 != argc)
                return cli_usage(usage, options, true);
        if (cli_context(g, &ctx) < 0)
                return 1;
        return shim_instance_logs(ctx, argv[optind], follow, STDOUT_FILENO) < 0 ? 1 : 0;
}

/* ------------------------------------------------------------------- stats */

/* A limit in JSON: null for none (UINT64_MAX). */
static void jw_limit(JsonWriter *w, uint64_t v) {
        if (v == UINT64_MAX)
                jw_null(w);
        else
                jw_uint(w, v);
}

static void jw_stats(JsonWriter *w, const char *name, const ShimStats *s) {
        jw_object_open(w);
        jw_key(w, "name");
        jw_string(w, name);
        jw_key(w, "cpu_usec");
        jw_uint(w, s->cpu_usec);
        jw_key(w, "memory_bytes");
        jw_uint(w, s->memory_bytes);
        jw_key(w, "memory_limit");
        jw_limit(w, s->memory_limit);
        jw_key(w, "pids");
        jw_uint(w, s->pids);
        jw_key(w, "pids_limit");
        jw_limit(w, s->pids_limit);
        jw_key(w, "net_rx_bytes");
        jw_uint(w, s->net_rx_bytes);
        jw_key(w, "net_tx_bytes");
        jw_uint(w, s->net_tx_bytes);
        jw_object_close(w);
}

static void print_stats_row(const char *name, const ShimStats *s) {
        char a[32], b[32], rx[32], tx[32], pl[24];

        if (s->pids_limit == UINT64_MAX)
                strcpy(pl, "-");
        else
                snprintf(pl, sizeof pl, "%" PRIu64, s->pids_limit);
        printf("%-24s %10.2f %12s %12s %7" PRIu64 " %7s %12s %12s\n", name, (double) s->cpu_usec / 1e6,
               cli_format_bytes(a, sizeof a, s->memory_bytes), cli_format_bytes(b, sizeof b, s->memory_limit),
               s->pids, pl, cli_format_bytes(rx, sizeof rx, s->net_rx_bytes),
               cli_format_bytes(tx, sizeof tx, s->net_tx_bytes));
}

int cli_stats_main(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "format", required_argument, NULL, 'F' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static const char usage[] = "stats [--format table|json] [NAME...]";
        static const char options[] = "  --format table|json   output format\n"
                                      "Without names: every running instance.\n";
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_strv_free_ char **names = NULL;
        ShimInstanceInfo *l = NULL;
        bool json = false;
        size_t n = 0;
        int c, ret = 0;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 'F':
                        if (cli_parse_format(optarg, &json) < 0)
                                return 2;
                        break;
                case 'h':
                        return cli_usage(usage, options, false);
                default:
                        return cli_usage(usage, options, true);
                }
        if (cli_context(g, &ctx) < 0)
                return 1;
        for (int i = optind; i < argc; i++)
                if (strv_extend(&names, argv[i]) < 0)
                        return 1;
        if (!names) {
                if (shim_instance_list(ctx, NULL, &l, &n) < 0)
                        return 1;
                for (size_t i = 0; i < n; i++)
                        if (streq(l[i].state, "running") && strv_extend(&names, l[i].name) < 0)
                                return 1;
                shim_instance_info_free_many(l, n);
        }
        if (json) {
                if (json_writer_new(true, &w) < 0)
                        return 1;
                jw_array_open(w);
        } else
                printf("%-24s %10s %12s %12s %7s %7s %12s %12s\n", "NAME", "CPU-SEC", "MEMORY", "MEM-LIMIT",
                       "PIDS", "PIDS-MAX", "NET-RX", "NET-TX");
        STRV_FOREACH(name, names) {
                ShimStats s;
                if (shim_instance_stats(ctx, *name, &s) < 0) {
                        ret = 1;
                        continue;
                }
                if (json)
                        jw_stats(w, *name, &s);
                else
                        print_stats_row(*name, &s);
        }
        if (json) {
                jw_array_close(w);
                cli_print_json(w);
        }
        return ret;
}

/* ------------------------------------------------------- snapshot, reset */

int cli_snapshot_main(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "list", no_argument, NULL, 'l' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static const char usage[] = "snapshot NAME SNAP | snapshot --list NAME";
        static const char options[] = "  --list   list the snapshots of an instance\n";
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        bool list = false;
        int c;

        while ((c = getopt_long(argc, argv, "hl", opts, NULL)) >= 0)
                switch (c) {
                case 'l':
                        list = true;
                        break;
                case 'h':
                        return cli_usage(usage, options, false);
                default:
                        return cli_usage(usage, options, true);
                }
        if (argc - optind != (list ? 1 : 2))
                return cli_usage(usage, options, true);
        if (cli_context(g, &ctx) < 0)
                return 1;
        if (list) {
                _cleanup_strv_free_ char **snaps = NULL;
                if (shim_instance_snapshots(ctx, argv[optind], &snaps) < 0)
                        return 1;
                STRV_FOREACH(s, snaps)
                        printf("%s\n", *s);
                return 0;
        }
        return shim_instance_snapshot(ctx, argv[optind], argv[optind + 1]) < 0 ? 1 : 0;
}

int cli_reset_main(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "time", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static const char usage[] = "reset [-t SECONDS] NAME [SNAP]";
        static const char options[] =
                        "  -t, --time SECONDS   stop timeout of a running instance (default 5)\n"
                        "Without SNAP the instance's files go back to the image; with SNAP, to that snapshot.\n";
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        uint64_t timeout = 5 * 1000000ULL;
        int c;

        while ((c = getopt_long(argc, argv, "ht:", opts, NULL)) >= 0)
                switch (c) {
                case 't':
                        if (cli_parse_timeout(optarg, &timeout) < 0)
                                return 2;
                        break;
                case 'h':
                        return cli_usage(usage, options, false);
                default:
                        return cli_usage(usage, options, true);
                }
        if (argc - optind < 1 || argc - optind > 2)
                return cli_usage(usage, options, true);
        if (cli_context(g, &ctx) < 0)
                return 1;
        return shim_instance_reset(ctx, argv[optind], argc - optind == 2 ? argv[optind + 1] : NULL, timeout) < 0
                        ? 1
                        : 0;
}

/* ------------------------------------------------------- checkpoint, restore */

int cli_checkpoint_main(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "leave-running", no_argument, NULL, 'l' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static const char usage[] = "checkpoint [--leave-running] NAME";
        static const char options[] =
                        "  --leave-running   keep the instance running after the checkpoint\n"
                        "Saves the running processes with CRIU; 'aula restore NAME' brings them back.\n";
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        bool leave = false;
        int c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 'l':
                        leave = true;
                        break;
                case 'h':
                        return cli_usage(usage, options, false);
                default:
                        return cli_usage(usage, options, true);
                }
        if (optind + 1 != argc)
                return cli_usage(usage, options, true);
        if (cli_context(g, &ctx) < 0)
                return 1;
        return shim_instance_checkpoint(ctx, argv[optind], leave) < 0 ? 1 : 0;
}

int cli_restore_main(int argc, char **argv, const CliGlobal *g) {
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;

        if (argc == 2 && (streq(argv[1], "-h") || streq(argv[1], "--help")))
                return cli_usage(
                                "restore NAME", "Starts NAME from its checkpoint (aula checkpoint NAME).\n",
                                false);
        if (argc != 2)
                return cli_usage("restore NAME", NULL, true);
        if (cli_context(g, &ctx) < 0)
                return 1;
        return shim_instance_restore(ctx, argv[1]) < 0 ? 1 : 0;
}

/* ------------------------------------------------------- _reap (internal) */

int cli_reap_main(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "run-dir", required_argument, NULL, 'r' },
                {},
        };
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        const char *lock = getenv("AULA_REAP_LOCK_FD");
        int c, fd = -EBADF;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case 'r':
                        if (setenv("AULA_RUN_DIR", optarg, 1) < 0)
                                return 1;
                        break;
                default:
                        return 2;
                }
        if (optind + 1 != argc)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL),
                                       "usage: aula _reap [--run-dir DIR] NAME (internal)"),
                       2;
        if (lock && safe_atoi(lock, &fd) < 0)
                fd = -EBADF;
        if (cli_context(g, &ctx) < 0)
                return 1;
        return shim_reap(ctx, argv[optind], fd) < 0 ? 1 : 0;
}
