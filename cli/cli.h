/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The `aula` command: aula.c parses the global options and dispatches to a
 * verb family (aula-<verb>.c). A verb gets argv starting at its own name
 * and returns the process exit status. cli/ only parses, calls one library
 * function and prints (STYLE.md rule 4).
 */

#include <stdbool.h>

#include "common.h"

typedef struct CliGlobal {
        const char *root; /* --root / $AULA_ROOT; NULL: the library default */
        bool debug;
} CliGlobal;

typedef struct CliVerb {
        const char *name;
        int (*run)(int argc, char **argv, const CliGlobal *g);
        const char *summary;
} CliVerb;

/* Verb families. */
int cli_image_main(int argc, char **argv, const CliGlobal *g);
int cli_create_main(int argc, char **argv, const CliGlobal *g);
int cli_start_main(int argc, char **argv, const CliGlobal *g);
int cli_stop_main(int argc, char **argv, const CliGlobal *g);
int cli_restart_main(int argc, char **argv, const CliGlobal *g);
int cli_rm_main(int argc, char **argv, const CliGlobal *g);
int cli_ls_main(int argc, char **argv, const CliGlobal *g);
int cli_exec_main(int argc, char **argv, const CliGlobal *g);
int cli_console_main(int argc, char **argv, const CliGlobal *g);
int cli_logs_main(int argc, char **argv, const CliGlobal *g);
int cli_stats_main(int argc, char **argv, const CliGlobal *g);
int cli_snapshot_main(int argc, char **argv, const CliGlobal *g);
int cli_reset_main(int argc, char **argv, const CliGlobal *g);
int cli_lab_main(int argc, char **argv, const CliGlobal *g);
int cli_checkpoint_main(int argc, char **argv, const CliGlobal *g);
int cli_restore_main(int argc, char **argv, const CliGlobal *g);
/* Internal: the cleanup a dead shim's keeper runs (docs/shim-protocol.md). */
int cli_reap_main(int argc, char **argv, const CliGlobal *g);

/* cli-util.c */
/* --format: "json" or "table"; logs and returns -EINVAL for anything else. */
int cli_parse_format(const char *s, bool *ret_json);
/* Index of the first "--" in argv (argc when none). */
int cli_split_dashdash(int argc, char **argv);
/* "1.5 MiB"; "-" for UINT64_MAX (no limit). Returns buf, or the constant "-". */
const char *cli_format_bytes(char *buf, size_t n, uint64_t v);
/* Finish w and print it on stdout. */
void cli_print_json(JsonWriter *w);
