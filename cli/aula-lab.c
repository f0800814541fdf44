/* SPDX-License-Identifier: Apache-2.0 */

/* `aula lab ...`: parsing, progress bars, tables and JSON over libaula-shim. */

#include <getopt.h>
#include <time.h>

#include "cli-instance.h"

/* --------------------------------------------------------------- progress */

typedef struct Bar {
        bool tty;
        uint64_t start;
        unsigned failed;
} Bar;

static void on_progress(const ShimProgress *p, void *userdata) {
        Bar *b = userdata;
        char bar[31];
        size_t fill;

        if (p->kind == SHIM_PROGRESS_BEGIN) {
                b->start = now_usec(CLOCK_MONOTONIC);
                b->failed = 0;
        }
        if (p->kind == SHIM_PROGRESS_STEP && p->error < 0)
                b->failed++;
        if (!b->tty) {
                if (p->kind == SHIM_PROGRESS_END)
                        fprintf(stderr, "%s: %u/%u done%s\n", p->what, p->done - b->failed, p->total,
                                b->failed ? ", some failed" : "");
                return;
        }
        fill = p->total ? (size_t) p->done * 30 / p->total : 30;
        for (size_t i = 0; i < 30; i++)
                bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r\033[K%-6s [%s] %u/%u %.1fs%s", p->what, bar, p->done, p->total,
                (double) (now_usec(CLOCK_MONOTONIC) - b->start) / 1e6, b->failed ? " (failures below)" : "");
        if (p->kind == SHIM_PROGRESS_END)
                fputc('\n', stderr);
}

static void print_failures(const char *lab, const ShimLabResult *res, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (res[i].error < 0)
                        fprintf(stderr, "aula: %s/%s: %s\n", lab, res[i].student,
                                res[i].message ?: strerror(-res[i].error));
}

static int read_students(const char *path, char ***ret) {
        _cleanup_free_ char *text = NULL, *err = NULL;
        size_t len;
        int r;

        r = read_full_file_at(AT_FDCWD, path, 1 << 20, &text, &len);
        if (r < 0)
                return log_error_errno(r, "Cannot read the student list '%s': %m", path);
        r = shim_students_parse(text, len, ret, &err);
        if (r < 0)
                return log_error_errno(r, "%s: %s", path, err ? err + strlen("students: ") : strerror(-r));
        return 0;
}

/* ------------------------------------------------------------------ create */

static const char create_usage[] =
                "lab create LAB --image IMAGE (--students FILE | --count N) [OPTIONS] [-- COMMAND...]";
static const char create_options[] =
                "  --image IMAGE            image of every student's instance (required)\n"
                "  --students FILE          one student name per line ('#' comments, blank lines ignored)\n"
                "  --count N                N students named student01..studentN\n"
                "  --isolation container|vm container (default) or microVM\n"
                "  --cpus N, -m/--memory SIZE, --pids N   limits of each instance\n"
                "  -e, --env KEY=VALUE      environment variable (repeatable)\n"
                "  --network isolated|nat|exam   lab network mode (default isolated)\n";

static int lab_create(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "image", required_argument, NULL, 'I' },
                { "students", required_argument, NULL, 's' },
                { "count", required_argument, NULL, 'n' },
                { "isolation", required_argument, NULL, 'i' },
                { "cpus", required_argument, NULL, 'C' },
                { "memory", required_argument, NULL, 'm' },
                { "pids", required_argument, NULL, 'P' },
                { "env", required_argument, NULL, 'e' },
                { "network", required_argument, NULL, 'N' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        _cleanup_strv_free_ char **env = NULL, **cmd = NULL, **students = NULL;
        ShimLabOptions o = { .isolation = SHIM_ISOLATION_CONTAINER, .network = SHIM_NETWORK_ISOLATED };
        const char *file = NULL, *count = NULL;
        ShimLabResult *res = NULL;
        Bar bar = { .tty = isatty(STDERR_FILENO) };
        size_t n = 0;
        unsigned cnt;
        int c, r, dash = cli_split_dashdash(argc, argv);

        while ((c = getopt_long(dash, argv, "hm:e:", opts, NULL)) >= 0) {
                r = cli_parse_recipe_option(c, &o.image, &o.isolation, &o.limits, &env);
                if (r < 0)
                        return r == -ENOMEM ? 1 : 2;
                if (r > 0)
                        continue;
                switch (c) {
                case 's':
                        file = optarg;
                        break;
                case 'n':
                        count = optarg;
                        break;
                case 'N':
                        o.network = shim_network_from_string(optarg);
                        if (o.network < 0)
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL),
                                                       "--network: isolated, nat or exam"),
                                       2;
                        break;
                case 'h':
                        return cli_usage(create_usage, create_options, false);
                default:
                        return cli_usage(create_usage, create_options, true);
                }
        }
        if (optind + 1 != dash)
                return cli_usage(create_usage, create_options, true);
        if (!o.image)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--image is required"), 2;
        if (!!file == !!count)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "give either --students FILE or --count N"), 2;
        if (count && (safe_atou(count, &cnt) < 0 || cnt == 0 || cnt > 999))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--count: 1 to 999"), 2;
        if (file ? read_students(file, &students) < 0 : shim_students_count(cnt, &students) < 0)
                return 1;
        for (int i = dash + 1; i < argc; i++)
                if (strv_extend(&cmd, argv[i]) < 0)
                        return 1;
        o.env = env;
        o.cmd = cmd;
        o.students = students;
        o.progress = on_progress;
        o.userdata = &bar;
        if (cli_context(g, &ctx) < 0)
                return 1;
        r = shim_lab_create(ctx, argv[optind], &o, &res, &n);
        if (r < 0 && r != -EIO)
                return 1;
        print_failures(argv[optind], res, n);
        if (r >= 0) {
                ShimLabInfo info = {};
                if (shim_lab_info(ctx, argv[optind], &info) >= 0)
                        printf("lab %s: %u students running (network %s, %s)\n", info.name, info.running,
                               info.network, info.subnet ?: "-");
                shim_lab_info_done(&info);
        }
        shim_lab_results_free(res, n);
        return r < 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ ls, show */

static int parse_format_only(int argc, char **argv, const char *usage, int nargs, bool *json) {
        static const struct option opts[] = {
                { "format", required_argument, NULL, 'F' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static const char options[] = "  --format table|json   output format\n";
        int c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 'F':
                        if (cli_parse_format(optarg, json) < 0)
                                return 2;
                        break;
                case 'h':
                        return cli_usage(usage, options, false), 0;
                default:
                        return cli_usage(usage, options, true);
                }
        if (argc - optind != nargs)
                return cli_usage(usage, options, true);
        return -1;
}

static void jw_lab(JsonWriter *w, const ShimLabInfo *l) {
        jw_key(w, "name");
        jw_string(w, l->name);
        jw_key(w, "image");
        jw_string(w, l->image);
        jw_key(w, "isolation");
        jw_string(w, l->isolation);
        jw_key(w, "network");
        jw_string(w, l->network);
        jw_key(w, "subnet");
        jw_string(w, l->subnet);
        jw_key(w, "created");
        jw_string(w, l->created);
        jw_key(w, "students");
        jw_strv(w, l->students);
        jw_key(w, "running");
        jw_uint(w, l->running);
}

static int lab_ls(int argc, char **argv, const CliGlobal *g) {
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        ShimLabInfo *l = NULL;
        bool json = false;
        size_t n = 0;
        int r;

        r = parse_format_only(argc, argv, "lab ls [--format table|json]", 0, &json);
        if (r >= 0)
                return r;
        if (cli_context(g, &ctx) < 0 || shim_lab_list(ctx, &l, &n) < 0)
                return 1;
        if (json) {
                _cleanup_(json_writer_freep) JsonWriter *w = NULL;
                if (json_writer_new(true, &w) < 0)
                        return 1;
                jw_array_open(w);
                for (size_t i = 0; i < n; i++) {
                        jw_object_open(w);
                        jw_lab(w, &l[i]);
                        jw_object_close(w);
                }
                jw_array_close(w);
                cli_print_json(w);
        } else {
                printf("%-20s %-20s %-9s %-8s %-9s %-15s\n", "LAB", "IMAGE", "STUDENTS", "RUNNING",
                       "NETWORK", "SUBNET");
                for (size_t i = 0; i < n; i++)
                        printf("%-20s %-20s %-9zu %-8u %-9s %-15s\n", l[i].name, l[i].image,
                               strv_length(l[i].students), l[i].running, l[i].network, l[i].subnet ?: "-");
        }
        shim_lab_info_free_many(l, n);
        return 0;
}

static int lab_show(int argc, char **argv, const CliGlobal *g) {
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        ShimInstanceInfo *l = NULL;
        ShimLabInfo info = {};
        bool json = false;
        size_t n = 0;
        int r;

        r = parse_format_only(argc, argv, "lab show [--format table|json] LAB", 1, &json);
        if (r >= 0)
                return r;
        if (cli_context(g, &ctx) < 0 || shim_lab_info(ctx, argv[optind], &info) < 0)
                return 1;
        if (shim_instance_list(ctx, argv[optind], &l, &n) < 0) {
                shim_lab_info_done(&info);
                return 1;
        }
        if (json) {
                _cleanup_(json_writer_freep) JsonWriter *w = NULL;
                if (json_writer_new(true, &w) < 0)
                        return 1;
                jw_object_open(w);
                jw_lab(w, &info);
                jw_key(w, "instances");
                jw_array_open(w);
                for (size_t i = 0; i < n; i++)
                        cli_jw_instance(w, &l[i]);
                jw_array_close(w);
                jw_object_close(w);
                cli_print_json(w);
        } else {
                printf("lab %s: image %s, %s, network %s %s, %u of %zu running\n\n", info.name, info.image,
                       info.isolation, info.network, info.subnet ?: "-", info.running,
                       strv_length(info.students));
                printf("%-24s %-20s %-15s %s\n", "STUDENT", "STATUS", "IPV4", "CREATED");
                for (size_t i = 0; i < n; i++) {
                        char st[64];
                        const char *slash = strchr(l[i].name, '/');
                        printf("%-24s %-20s %-15s %.19s\n", slash ? slash + 1 : l[i].name,
                               cli_status(st, sizeof st, &l[i]), l[i].ipv4 ?: "-", l[i].created ?: "-");
                }
        }
        shim_lab_info_done(&info);
        shim_instance_info_free_many(l, n);
        return 0;
}

/* -------------------------------------------------- start, stop, rm, reset */

typedef enum LabAct { LAB_START, LAB_STOP, LAB_RM, LAB_RESET } LabAct;

static int lab_action(int argc, char **argv, const CliGlobal *g, LabAct act) {
        static const struct option opts[] = {
                { "time", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static const char *const usages[] = {
                [LAB_START] = "lab start LAB",
                [LAB_STOP] = "lab stop [-t SECONDS] LAB",
                [LAB_RM] = "lab rm [-t SECONDS] LAB",
                [LAB_RESET] = "lab reset [-t SECONDS] LAB [STUDENT]",
        };
        static const char options[] =
                        "  -t, --time SECONDS   wait this long after the stop signal before killing\n";
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        ShimLabRunOptions o = { .timeout_usec = act == LAB_RM ? 0 : 5 * 1000000ULL, .progress = on_progress };
        Bar bar = { .tty = isatty(STDERR_FILENO) };
        ShimLabResult *res = NULL;
        size_t n = 0;
        int c, r, want = act == LAB_RESET ? 2 : 1;

        o.userdata = &bar;
        while ((c = getopt_long(argc, argv, "ht:", opts, NULL)) >= 0)
                switch (c) {
                case 't':
                        if (act == LAB_START || cli_parse_timeout(optarg, &o.timeout_usec) < 0)
                                return cli_usage(usages[act], options, true);
                        break;
                case 'h':
                        return cli_usage(usages[act], act == LAB_START ? NULL : options, false);
                default:
                        return cli_usage(usages[act], act == LAB_START ? NULL : options, true);
                }
        if (argc - optind != 1 && argc - optind != want)
                return cli_usage(usages[act], act == LAB_START ? NULL : options, true);
        if (cli_context(g, &ctx) < 0)
                return 1;
        switch (act) {
        case LAB_START:
                r = shim_lab_start(ctx, argv[optind], &o, &res, &n);
                break;
        case LAB_STOP:
                r = shim_lab_stop(ctx, argv[optind], &o, &res, &n);
                break;
        case LAB_RM:
                return shim_lab_remove(ctx, argv[optind], &o) < 0 ? 1 : 0;
        default:
                r = shim_lab_reset(
                                ctx, argv[optind], argc - optind == 2 ? argv[optind + 1] : NULL, &o, &res, &n);
                break;
        }
        if (r < 0 && r != -EIO)
                return 1;
        print_failures(argv[optind], res, n);
        shim_lab_results_free(res, n);
        return r < 0 ? 1 : 0;
}

/* -------------------------------------------------------------------- exec */

static void print_indented(const char *text) {
        bool first = true;
        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');
                int len = nl ? (int) (nl - p) : (int) strlen(p);
                printf("%s%.*s\n", first ? "" : "                          ", len, p);
                first = false;
                p = nl ? nl + 1 : p + len;
        }
        if (first)
                printf("\n");
}

static int lab_exec(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "format", required_argument, NULL, 'F' },
                { "timeout", required_argument, NULL, 'T' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static const char usage[] = "lab exec [--format table|json] [--timeout SECONDS] LAB -- COMMAND [ARG...]";
        static const char options[] = "  --format table|json   a table of exit codes and output, or JSON\n"
                                      "  --timeout SECONDS     give up waiting after this long\n";
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        ShimLabResult *res = NULL;
        uint64_t timeout = 0;
        bool json = false;
        size_t n = 0;
        int c, r, dash = cli_split_dashdash(argc, argv), failed = 0;

        while ((c = getopt_long(dash, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 'F':
                        if (cli_parse_format(optarg, &json) < 0)
                                return 2;
                        break;
                case 'T':
                        if (cli_parse_timeout(optarg, &timeout) < 0)
                                return 2;
                        break;
                case 'h':
                        return cli_usage(usage, options, false);
                default:
                        return cli_usage(usage, options, true);
                }
        if (optind + 1 != dash || dash + 1 >= argc)
                return cli_usage(usage, options, true);
        if (cli_context(g, &ctx) < 0)
                return 1;
        r = shim_lab_exec(ctx, argv[optind], argv + dash + 1, timeout, &res, &n);
        if (r < 0 && r != -EIO)
                return 1;
        if (json) {
                _cleanup_(json_writer_freep) JsonWriter *w = NULL;
                if (json_writer_new(true, &w) < 0)
                        return 1;
                jw_array_open(w);
                for (size_t i = 0; i < n; i++) {
                        jw_object_open(w);
                        jw_key(w, "student");
                        jw_string(w, res[i].student);
                        jw_key(w, "exit_code");
                        if (res[i].exit_code >= 0)
                                jw_int(w, res[i].exit_code);
                        else
                                jw_null(w);
                        jw_key(w, "stdout");
                        jw_string(w, res[i].out ?: "");
                        jw_key(w, "stderr");
                        jw_string(w, res[i].err ?: "");
                        jw_key(w, "truncated");
                        jw_bool(w, res[i].truncated);
                        jw_key(w, "error");
                        jw_string(w, res[i].error < 0 ? (res[i].message ?: strerror(-res[i].error)) : NULL);
                        jw_object_close(w);
                }
                jw_array_close(w);
                cli_print_json(w);
        } else {
                printf("%-18s %-6s %s\n", "STUDENT", "EXIT", "OUTPUT");
                for (size_t i = 0; i < n; i++) {
                        char code[16];
                        if (res[i].exit_code >= 0)
                                snprintf(code, sizeof code, "%d", res[i].exit_code);
                        else
                                strcpy(code, "-");
                        printf("%-18s %-6s ", res[i].student, code);
                        if (res[i].error < 0)
                                printf("(%s)\n", res[i].message ?: strerror(-res[i].error));
                        else {
                                _cleanup_free_ char *both = NULL;
                                if (xasprintf(&both, "%s%s%s", res[i].out ?: "", res[i].err ?: "",
                                              res[i].truncated ? "[aula: output truncated]" : "") < 0)
                                        return 1;
                                size_t l = strlen(both);
                                if (l > 0 && both[l - 1] == '\n')
                                        both[l - 1] = 0;
                                print_indented(both);
                        }
                }
        }
        for (size_t i = 0; i < n; i++)
                failed += res[i].error < 0 || res[i].exit_code != 0;
        shim_lab_results_free(res, n);
        return r < 0 || failed ? 1 : 0;
}

/* ----------------------------------------------------------------- collect */

static int lab_collect(int argc, char **argv, const CliGlobal *g) {
        static const char usage[] = "lab collect LAB PATH DIR";
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        ShimLabResult *res = NULL;
        size_t n = 0;
        unsigned ok = 0;
        int r;

        if (argc == 2 && (streq(argv[1], "-h") || streq(argv[1], "--help")))
                return cli_usage(
                                usage, "Copies PATH from every running student's instance to DIR/STUDENT/.\n",
                                false);
        if (argc != 4)
                return cli_usage(usage, NULL, true);
        if (cli_context(g, &ctx) < 0)
                return 1;
        r = shim_lab_collect(ctx, argv[1], argv[2], argv[3], &res, &n);
        if (r < 0 && r != -EIO)
                return 1;
        for (size_t i = 0; i < n; i++) {
                char sz[32];
                if (res[i].error < 0)
                        printf("%-18s (%s)\n", res[i].student, res[i].message ?: strerror(-res[i].error));
                else {
                        printf("%-18s %s (%s)\n", res[i].student, res[i].path,
                               cli_format_bytes(sz, sizeof sz, res[i].bytes));
                        ok++;
                }
        }
        fprintf(stderr, "collected %u of %zu\n", ok, n);
        shim_lab_results_free(res, n);
        return r < 0 ? 1 : 0;
}

/* ----------------------------------------------------------------- network */

static int lab_network(int argc, char **argv, const CliGlobal *g) {
        static const char usage[] = "lab network LAB isolated|nat|exam";
        _cleanup_(shim_context_freep) ShimContext *ctx = NULL;
        ShimNetwork mode;

        if (argc == 2 && (streq(argv[1], "-h") || streq(argv[1], "--help")))
                return cli_usage(
                                usage,
                                "  isolated  students reach each other and the server's lab address\n"
                                "  nat       as isolated, plus the outside world through the server\n"
                                "  exam      students reach only the teacher, not each other\n",
                                false);
        if (argc != 3)
                return cli_usage(usage, NULL, true);
        mode = shim_network_from_string(argv[2]);
        if (mode < 0)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "network mode: isolated, nat or exam"), 2;
        if (cli_context(g, &ctx) < 0)
                return 1;
        return shim_lab_network(ctx, argv[1], mode) < 0 ? 1 : 0;
}

/* ------------------------------------------------------------------- entry */

static int lab_start(int argc, char **argv, const CliGlobal *g) {
        return lab_action(argc, argv, g, LAB_START);
}
static int lab_stop(int argc, char **argv, const CliGlobal *g) {
        return lab_action(argc, argv, g, LAB_STOP);
}
static int lab_rm(int argc, char **argv, const CliGlobal *g) {
        return lab_action(argc, argv, g, LAB_RM);
}
static int lab_reset(int argc, char **argv, const CliGlobal *g) {
        return lab_action(argc, argv, g, LAB_RESET);
}

static const CliVerb lab_verbs[] = {
        { "create", lab_create, "create the lab and start one instance per student" },
        { "ls", lab_ls, "list labs" },
        { "show", lab_show, "a lab and its students" },
        { "start", lab_start, "start every student's instance" },
        { "stop", lab_stop, "stop every student's instance" },
        { "rm", lab_rm, "stop and remove the lab, its instances and its network" },
        { "reset", lab_reset, "put every student's (or one student's) files back to the image" },
        { "exec", lab_exec, "run a command in every instance; a table of exit codes and output" },
        { "collect", lab_collect, "copy a file from every instance into one folder per student" },
        { "network", lab_network, "switch the lab network: isolated, nat or exam" },
};

int cli_lab_main(int argc, char **argv, const CliGlobal *g) {
        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                FILE *f = argc < 2 ? stderr : stdout;
                fprintf(f, "Usage: aula lab COMMAND [OPTIONS]\n\nCommands:\n");
                FOREACH_ARRAY(v, lab_verbs, ELEMENTSOF(lab_verbs))
                        fprintf(f, "  %-8s %s\n", v->name, v->summary);
                fprintf(f,
                        "\nA student's instance is LAB/STUDENT for the other commands (exec, console, logs...).\n");
                return argc < 2 ? 2 : 0;
        }
        FOREACH_ARRAY(v, lab_verbs, ELEMENTSOF(lab_verbs))
                if (streq(v->name, argv[1]) || (streq(argv[1], "list") && streq(v->name, "ls"))) {
                        optind = 0;
                        return v->run(argc - 1, argv + 1, g);
                }
        log_error("unknown lab command '%s'; see 'aula lab --help'", argv[1]);
        return 2;
}
