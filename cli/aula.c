/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>

#include "cli.h"
#include "common.h"

/* One line per verb family; other engineers add theirs here (create, start, lab, ...). */
static const CliVerb verbs[] = {
        { "image", cli_image_main, "Import, pull, list, inspect, mount and remove images" },
#ifdef AULA_HAVE_SHIM
        { "create", cli_create_main, "Create an instance from an image" },
        { "start", cli_start_main, "Start instances" },
        { "stop", cli_stop_main, "Stop instances" },
        { "restart", cli_restart_main, "Stop and start instances" },
        { "rm", cli_rm_main, "Remove instances" },
        { "ls", cli_ls_main, "List instances" },
        { "exec", cli_exec_main, "Run a command in an instance" },
        { "console", cli_console_main, "Attach to an instance's console" },
        { "logs", cli_logs_main, "Print an instance's console log" },
        { "stats", cli_stats_main, "Show CPU, memory, process and network use" },
        { "snapshot", cli_snapshot_main, "Save an instance's files as a named snapshot" },
        { "reset", cli_reset_main, "Put an instance's files back to the image or a snapshot" },
        { "checkpoint", cli_checkpoint_main, "Save a running instance's processes (CRIU)" },
        { "restore", cli_restore_main, "Start an instance from its checkpoint" },
        { "lab", cli_lab_main, "Labs: one instance per student from one image" },
        { "_reap", cli_reap_main, NULL },
#endif
};

static void help(FILE *f) {
        fprintf(f,
                "Usage: aula [--root DIR] [--debug] COMMAND [ARGS...]\n"
                "       aula --help | --version\n"
                "\n"
                "Lightweight containers and microVMs for labs.\n"
                "\n"
                "Options:\n"
                "  --root DIR   data root (default: $AULA_ROOT or /var/lib/aula)\n"
                "  --debug      log debug messages\n"
                "  -h, --help   show this help\n"
                "  --version    show the version\n"
                "\n"
                "Commands:\n");
        FOREACH_ARRAY(v, verbs, ELEMENTSOF(verbs))
                if (v->summary)
                        fprintf(f, "  %-10s %s\n", v->name, v->summary);
        fprintf(f, "\nRun 'aula COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "root", required_argument, NULL, 'r' },
                { "debug", no_argument, NULL, 'd' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        CliGlobal g = { .root = getenv("AULA_ROOT") };
        int c;

        log_set_program("aula");
        /* '+': stop at the first non-option, which is the verb. */
        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                switch (c) {
                case 'r':
                        g.root = optarg;
                        break;
                case 'd':
                        g.debug = true;
                        log_set_max_level(LOG_LEVEL_DEBUG);
                        break;
                case 'h':
                        help(stdout);
                        return 0;
                case 'V':
                        printf("aula %s\n", AULA_VERSION);
                        return 0;
                default:
                        help(stderr);
                        return 2;
                }
        }
        if (optind >= argc) {
                help(stderr);
                return 2;
        }
        FOREACH_ARRAY(v, verbs, ELEMENTSOF(verbs))
                if (streq(v->name, argv[optind])) {
                        int first = optind;
                        optind = 0; /* glibc: the verb's getopt starts afresh */
                        return v->run(argc - first, argv + first, &g);
                }
        log_error("unknown command '%s'; see 'aula --help'", argv[optind]);
        return 2;
}
