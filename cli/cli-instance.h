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
/*
 * The getopt_long() options create and lab create share: 'I' --image, 'i' --isolation, 'C'/'m'/'P' limits,
 * 'e' --env. 1: c was one of them; 0: it was not; -EINVAL (logged): a bad value; -ENOMEM.
 */
int cli_parse_recipe_option(int c, const char **image, ShimIsolation *isolation, ShimLimits *limits, char ***env);
void cli_jw_instance(JsonWriter *w, const ShimInstanceInfo *i);
const char *cli_status(char *buf, size_t n, const ShimInstanceInfo *i);
