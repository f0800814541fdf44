/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Command-line options as Go's flag/urfave-cli accept them, because
 * containerd, conmon and podman call OCI runtimes that way:
 * "--name value", "--name=value", "-name value", "-name=value", short
 * "-n value", booleans as "--flag" or "--flag=true|false", and grouped short
 * booleans ("-dt"). Parsing stops at "--" and, when stop_at > 0, after that
 * many positional arguments (exec's command line is not ours to parse).
 */

#include "common.h"

typedef enum CliOptKind {
        CLI_BOOL,
        CLI_STRING,
        CLI_STRV,
        CLI_UINT,
        CLI_INT64,
} CliOptKind;

typedef struct CliOption {
        const char *name;
        char short_name;
        CliOptKind kind;
        void *ptr; /* bool *, const char **, char ***, unsigned *, int64_t *; NULL: accepted and ignored */
        const char *metavar;
        const char *help;
        bool *seen; /* optional: set when given */
} CliOption;

/* Returns 0 and the positional arguments (pointers into argv, NULL-terminated, caller frees the array). */
int cli_parse(const char *cmd,
              int argc,
              char **argv,
              const CliOption *opts,
              size_t n_opts,
              int stop_at,
              char ***ret_positional);
void cli_print_options(FILE *f, const CliOption *opts, size_t n_opts);
