/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.seccomp: config-linux.md "Seccomp". Names are validated here;
 * translating them to libseccomp values is runtime/'s business.
 */
#include "oci-internal.h"

/* SECCOMP_RET_DATA is 16 bits wide: the most an errno return can carry. */
#define ERRNO_RET_MAX 0xffff

/* The actions that carry an errno ("When the action doesn't support an errno, the runtime MUST ... fail"). */
static bool action_takes_errno(const char *action) {
        return action && (streq(action, "SCMP_ACT_ERRNO") || streq(action, "SCMP_ACT_TRACE"));
}

static const OciField arg_fields[] = {
        /* Syscalls take at most six arguments. */
        OCI_FIELD("index", OCI_K_U32, OciSeccompArg, index, .flags = OCI_F_REQUIRED, .max = 5),
        OCI_FIELD("value", OCI_K_U64, OciSeccompArg, value, .flags = OCI_F_REQUIRED),
        OCI_FIELD("valueTwo", OCI_K_U64, OciSeccompArg, value_two),
        OCI_FIELD("op", OCI_K_STRING, OciSeccompArg, op, .flags = OCI_F_REQUIRED, .names = &oci_seccomp_op_names),
};
static const OciType arg_type = { .size = sizeof(OciSeccompArg), OCI_FIELDS(arg_fields) };

static int errno_check(const char *action, OciOptU64 errno_ret, const char *path, const char *key, char **error_msg) {
        char sub[JSON_PATH_MAX];
        if (errno_ret.set && !action_takes_errno(action))
                return json_error(
                                error_msg, json_path_key(sub, sizeof sub, path, key),
                                "not allowed with action %s", action);
        return 0;
}

static int rule_check(const void *p, const char *path, char **error_msg) {
        const OciSeccompRule *r = p;
        return errno_check(r->action, r->errno_ret, path, "errnoRet", error_msg);
}

static const OciField rule_fields[] = {
        OCI_FIELD("names", OCI_K_STRV, OciSeccompRule, names, .flags = OCI_F_REQUIRED | OCI_F_NONEMPTY),
        OCI_FIELD("action",
                  OCI_K_STRING,
                  OciSeccompRule,
                  action,
                  .flags = OCI_F_REQUIRED,
                  .names = &oci_seccomp_action_names),
        OCI_FIELD("errnoRet", OCI_K_OPT_U64, OciSeccompRule, errno_ret, .max = ERRNO_RET_MAX),
        OCI_ARRAY("args", OCI_K_ARRAY, OciSeccompRule, args, n_args, &arg_type),
};
static const OciType rule_type = { .size = sizeof(OciSeccompRule),
                                   OCI_FIELDS(rule_fields),
                                   .check = rule_check };

static int seccomp_check(const void *p, const char *path, char **error_msg) {
        const OciSeccomp *s = p;
        char sub[JSON_PATH_MAX];
        int r;

        r = errno_check(s->default_action, s->default_errno_ret, path, "defaultErrnoRet", error_msg);
        if (r < 0)
                return r;
        /* "This field MUST NOT be set if listenerPath is not set." */
        if (s->listener_metadata && !s->listener_path)
                return json_error(
                                error_msg, json_path_key(sub, sizeof sub, path, "listenerMetadata"),
                                "requires listenerPath");
        return 0;
}

static const OciField seccomp_fields[] = {
        OCI_FIELD("defaultAction",
                  OCI_K_STRING,
                  OciSeccomp,
                  default_action,
                  .flags = OCI_F_REQUIRED,
                  .names = &oci_seccomp_action_names),
        OCI_FIELD("defaultErrnoRet", OCI_K_OPT_U64, OciSeccomp, default_errno_ret, .max = ERRNO_RET_MAX),
        OCI_FIELD("architectures", OCI_K_STRV, OciSeccomp, architectures, .names = &oci_seccomp_arch_names),
        OCI_FIELD("flags", OCI_K_STRV, OciSeccomp, flags, .names = &oci_seccomp_flag_names),
        OCI_FIELD("listenerPath", OCI_K_STRING, OciSeccomp, listener_path, .flags = OCI_F_NONEMPTY),
        OCI_FIELD("listenerMetadata", OCI_K_STRING, OciSeccomp, listener_metadata),
        OCI_ARRAY("syscalls", OCI_K_ARRAY, OciSeccomp, syscalls, n_syscalls, &rule_type),
};

const OciType oci_seccomp_type = {
        .size = sizeof(OciSeccomp),
        OCI_FIELDS(seccomp_fields),
        .check = seccomp_check,
};
