/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared by lab.c, lab-run.c and lab-exec.c. Internal to shim/. */

#include "shim-lib.h"

typedef struct LabDef {
        char *name;
        char *image;
        char *image_digest;
        ShimIsolation isolation;
        ShimLimits limits;
        char **env;
        char **cmd;
        ShimNetwork network;
        char **students;
        char *created;
        bool complete;
} LabDef;

void lab_def_done(LabDef *d);
/* Logs; -ENOENT as "no such lab". */
int lab_def_load(ShimContext *c, const char *lab, LabDef *ret);
int instance_name(const char *lab, const char *student, char **ret);
int results_new(char **students, ShimLabResult **ret, size_t *ret_n);
void result_fail(ShimLabResult *r, int error, const char *fmt, ...) _printf_(3, 4);
int count_failed(const ShimLabResult *l, size_t n);
/*
 * Lock a lab (op: LOCK_EX or LOCK_SH), load its definition and make one result row per student.
 * Logs. On success the caller owns *ret_lock, *ret_def and the rows.
 */
int lab_open(ShimContext *c,
             const char *lab,
             int op,
             int *ret_lock,
             LabDef *ret_def,
             ShimLabResult **ret_res,
             size_t *ret_n);

/* lab-run.c: start or stop the students' instances, many in flight; -EIO when some failed (see res). */
int lab_start_many(ShimContext *c, const char *lab, char **students, ShimLabResult *res, ShimProgressFn fn, void *ud);
int lab_stop_many(
                ShimContext *c,
                const char *lab,
                char **students,
                ShimLabResult *res,
                uint64_t timeout_usec,
                ShimProgressFn fn,
                void *ud);
