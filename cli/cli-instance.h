/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Helpers shared by the instance and lab verbs (aula-instance.c, aula-lab.c). */

#include "cli.h"
#include "common.h"
#include "shim.h"

int cli_context(const CliGlobal *g, ShimContext **ret);
int cli_usage(const char *usage, const char *options, bool error);
int cli_parse_timeout(const char *s, uint64_t *ret);
/* opt: 'C' --cpus, 'm' --memory, 'P' --pids. */
int cli_parse_limit(int opt, const char *arg, ShimLimits *l);
/* Index of the first "--" in argv (argc when none). */
int cli_split_dashdash(int argc, char **argv);
const char *cli_format_bytes(char *buf, size_t n, uint64_t v);
void cli_print_json(JsonWriter *w);
void cli_jw_instance(JsonWriter *w, const ShimInstanceInfo *i);
const char *cli_status(char *buf, size_t n, const ShimInstanceInfo *i);
