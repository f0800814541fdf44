/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process: config.md "Process", "POSIX process", "Linux Process" and "User".
 */
#include <sys/resource.h>

#include "oci-internal.h"

#define P(k, kind, m, ...) OCI_FIELD(k, kind, OciProcess, m, __VA_ARGS__)

/* Distinct unknown capability names kept for warnings; more than this is not a real config. */
#define CAPS_UNKNOWN_MAX 64

/* ---------------------------------------------------------- capabilities */

static const struct {
        const char *key;
        size_t mask, has;
} cap_sets[] = {
        { "bounding", offsetof(OciCapabilities, bounding), offsetof(OciCapabilities, has_bounding) },
        { "effective", offsetof(OciCapabilities, effective), offsetof(OciCapabilities, has_effective) },
        { "inheritable", offsetof(OciCapabilities, inheritable), offsetof(OciCapabilities, has_inheritable) },
        { "permitted", offsetof(OciCapabilities, permitted), offsetof(OciCapabilities, has_permitted) },
        { "ambient", offsetof(OciCapabilities, ambient), offsetof(OciCapabilities, has_ambient) },
};

#define CAP_MASK(c, i) ((uint64_t *) (void *) ((char *) (c) + cap_sets[i].mask))
#define CAP_HAS(c, i) ((bool *) (void *) ((char *) (c) + cap_sets[i].has))

static bool cap_name_is_wellformed(const char *s) {
        const char *rest = startswith(s, "CAP_");
        return rest && *rest && strspn(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(rest);
}

static int caps_add(OciCapabilities *c, uint64_t *mask, const char *name, const char *path, char **error_msg) {
        char q[OCI_QUOTE_MAX];
        int x = oci_capability_from_string(name);

        if (x >= 0) {
                *mask |= UINT64_C(1) << x;
                return 0;
        }
        /* config.md: capabilities that cannot be mapped are logged as warnings, not fatal. */
        if (!cap_name_is_wellformed(name))
                return json_error(error_msg, path, "unknown capability %s", oci_quote(q, sizeof q, name));
        if (strv_contains(c->unknown, name))
                return 0;
        if (strv_length(c->unknown) >= CAPS_UNKNOWN_MAX)
                return json_error(error_msg, path, "more than %d unknown capabilities", CAPS_UNKNOWN_MAX);
        return strv_extend(&c->unknown, name);
}

static int caps_parse_set(OciCapabilities *c, size_t i, JsonVal v, const char *path, char **error_msg) {
        char sub[JSON_PATH_MAX];
        uint64_t mask = 0;
        int r;

        if (!v || v->type != yajl_t_array)
                return json_error(error_msg, path, "expected array of strings, got %s", json_type_name(v));
        if (v->u.array.len > OCI_MAX_ARRAY) {
                (void) json_error(
                                error_msg, path, "%zu entries exceed the limit of %u", v->u.array.len,
                                OCI_MAX_ARRAY);
                return -E2BIG;
        }
        for (size_t j = 0; j < v->u.array.len; j++) {
                JsonVal e = v->u.array.values[j];
                json_path_index(sub, sizeof sub, path, j);
                if (!e || e->type != yajl_t_string)
                        return json_error(error_msg, sub, "expected string, got %s", json_type_name(e));
                r = caps_add(c, &mask, e->u.string, sub, error_msg);
                if (r < 0)
                        return r;
        }
        *CAP_MASK(c, i) = mask;
        *CAP_HAS(c, i) = true;
        return 0;
}

static int caps_parse(JsonVal v, const char *path, void *p, char **error_msg) {
        char sub[JSON_PATH_MAX];
        int r;

        r = json_want_type(v, path, yajl_t_object, error_msg);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(cap_sets); i++) {
                JsonVal m = json_get(v, cap_sets[i].key);
                if (oci_json_absent(m))
                        continue;
                r = caps_parse_set(p, i, m, json_path_key(sub, sizeof sub, path, cap_sets[i].key), error_msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void caps_emit(JsonWriter *w, const void *p) {
        OciCapabilities *c = (OciCapabilities *) p;

        jw_object_open(w);
        for (size_t i = 0; i < ELEMENTSOF(cap_sets); i++) {
                if (!*CAP_HAS(c, i))
                        continue;
                jw_key(w, cap_sets[i].key);
                jw_array_open(w);
                for (int x = 0; x < 64; x++)
                        if ((*CAP_MASK(c, i) & (UINT64_C(1) << x)) && oci_capability_to_string(x))
                                jw_string(w, oci_capability_to_string(x));
                jw_array_close(w);
        }
        jw_object_close(w);
}

static bool caps_present(const void *p) {
        OciCapabilities *c = (OciCapabilities *) p;
        for (size_t i = 0; i < ELEMENTSOF(cap_sets); i++)
                if (*CAP_HAS(c, i))
                        return true;
        return false;
}

static void caps_done(void *p) {
        OciCapabilities *c = p;
        c->unknown = strv_free(c->unknown);
}

/* Unknown names are not emitted, so they take no part in equality. */
static bool caps_equal(const void *a, const void *b) {
        OciCapabilities *x = (OciCapabilities *) a, *y = (OciCapabilities *) b;
        for (size_t i = 0; i < ELEMENTSOF(cap_sets); i++)
                if (*CAP_HAS(x, i) != *CAP_HAS(y, i) || *CAP_MASK(x, i) != *CAP_MASK(y, i))
                        return false;
        return true;
}

static const OciCustom caps_custom = {
        .parse = caps_parse,
        .emit = caps_emit,
        .present = caps_present,
        .done = caps_done,
        .equal = caps_equal,
};

/* ----------------------------------------------------------------- parts */

static const OciField console_fields[] = {
        P("height", OCI_K_U32, console_height, .flags = OCI_F_REQUIRED),
        P("width", OCI_K_U32, console_width, .flags = OCI_F_REQUIRED),
};
static const OciType console_type = { OCI_FIELDS(console_fields) };

static const OciField user_fields[] = {
        OCI_FIELD("uid", OCI_K_U32, OciUser, uid, .flags = OCI_F_REQUIRED),
        OCI_FIELD("gid", OCI_K_U32, OciUser, gid, .flags = OCI_F_REQUIRED),
        OCI_FIELD("umask", OCI_K_OPT_U64, OciUser, umask, .max = 0777),
        OCI_ARRAY("additionalGids", OCI_K_U32_ARRAY, OciUser, additional_gids, n_additional_gids, NULL),
        OCI_FIELD("username", OCI_K_STRING, OciUser, username),
};
static const OciType user_type = { OCI_FIELDS(user_fields) };

static const OciField rlimit_fields[] = {
        OCI_FIELD("type", OCI_K_ENUM, OciRlimit, type, .flags = OCI_F_REQUIRED, .names = &oci_rlimit_names),
        OCI_FIELD("soft", OCI_K_U64, OciRlimit, soft, .flags = OCI_F_REQUIRED),
        OCI_FIELD("hard", OCI_K_U64, OciRlimit, hard, .flags = OCI_F_REQUIRED),
};
static const OciType rlimit_type = { .size = sizeof(OciRlimit), OCI_FIELDS(rlimit_fields) };

static const OciField scheduler_fields[] = {
        OCI_FIELD("policy",
                  OCI_K_ENUM,
                  OciScheduler,
                  policy,
                  .flags = OCI_F_REQUIRED,
                  .names = &oci_sched_policy_names),
        OCI_FIELD("nice", OCI_K_I32, OciScheduler, nice, .min = -20, .max = 19),
        OCI_FIELD("priority", OCI_K_I32, OciScheduler, priority, .min = 0, .max = 99),
        OCI_FIELD("flags", OCI_K_FLAGS, OciScheduler, flags, .names = &oci_sched_flag_names),
        OCI_FIELD("runtime", OCI_K_U64, OciScheduler, runtime),
        OCI_FIELD("deadline", OCI_K_U64, OciScheduler, deadline),
        OCI_FIELD("period", OCI_K_U64, OciScheduler, period),
};
static const OciType scheduler_type = {
        OCI_FIELDS(scheduler_fields),
        .has_set = true,
        .set_offset = offsetof(OciScheduler, set),
};

static const OciField io_priority_fields[] = {
        OCI_FIELD("class", OCI_K_ENUM, OciIoPriority, class, .flags = OCI_F_REQUIRED, .names = &oci_ioprio_class_names),
        /* config.md: "from 0 (highest) to 7 (lowest)". */
        OCI_FIELD("priority", OCI_K_I32, OciIoPriority, priority, .flags = OCI_F_REQUIRED, .min = 0, .max = 7),
};
static const OciType io_priority_type = {
        OCI_FIELDS(io_priority_fields),
        .has_set = true,
        .set_offset = offsetof(OciIoPriority, set),
};

static const OciField affinity_fields[] = {
        P("initial", OCI_K_STRING, exec_cpu_affinity_initial),
        P("final", OCI_K_STRING, exec_cpu_affinity_final),
};
static const OciType affinity_type = { OCI_FIELDS(affinity_fields) };

/* ---------------------------------------------------------------- process */

/* config.md, POSIX process: duplicated rlimit types MUST be an error; setrlimit(2) wants soft <= hard. */
static int process_check(const void *p, const char *path, char **error_msg) {
        const OciProcess *proc = p;
        char base[JSON_PATH_MAX], sub[JSON_PATH_MAX], type[JSON_PATH_MAX];
        bool seen[RLIMIT_NLIMITS] = {};

        json_path_key(base, sizeof base, path, "rlimits");
        for (size_t i = 0; i < proc->n_rlimits; i++) {
                const OciRlimit *l = &proc->rlimits[i];
                json_path_index(sub, sizeof sub, base, i);
                if (l->type >= 0 && l->type < RLIMIT_NLIMITS) {
                        if (seen[l->type])
                                return json_error(
                                                error_msg, json_path_key(type, sizeof type, sub, "type"),
                                                "duplicate rlimit \"%s\"", oci_rlimit_to_string(l->type));
                        seen[l->type] = true;
                }
                if (l->soft > l->hard)
                        return json_error(
                                        error_msg, sub, "soft limit %" PRIu64 " exceeds hard limit %" PRIu64,
                                        l->soft, l->hard);
        }
        return 0;
}

static const OciField process_fields[] = {
        P("terminal", OCI_K_BOOL, terminal),
        { .key = "consoleSize", .kind = OCI_K_OBJECT, .offset = 0, .type = &console_type },
        P("user", OCI_K_OBJECT, user, .flags = OCI_F_ALWAYS, .type = &user_type),
        /* config.md: at least one entry is REQUIRED (non-Windows). */
        P("args", OCI_K_STRV, args, .flags = OCI_F_NONEMPTY),
        P("env", OCI_K_STRV, env),
        P("cwd", OCI_K_STRING, cwd, .flags = OCI_F_REQUIRED | OCI_F_ABSOLUTE),
        P("capabilities", OCI_K_CUSTOM, capabilities, .custom = &caps_custom),
        OCI_ARRAY("rlimits", OCI_K_ARRAY, OciProcess, rlimits, n_rlimits, &rlimit_type),
        P("noNewPrivileges", OCI_K_BOOL, no_new_privileges),
        P("oomScoreAdj", OCI_K_OPT_I64, oom_score_adj, .min = -1000, .max = 1000),
        P("scheduler", OCI_K_OBJECT, scheduler, .type = &scheduler_type),
        P("ioPriority", OCI_K_OBJECT, io_priority, .type = &io_priority_type),
        P("apparmorProfile", OCI_K_STRING, apparmor_profile),
        P("selinuxLabel", OCI_K_STRING, selinux_label),
        { .key = "execCPUAffinity", .kind = OCI_K_OBJECT, .offset = 0, .type = &affinity_type },
};

const OciType oci_process_type = {
        .size = sizeof(OciProcess),
        OCI_FIELDS(process_fields),
        .check = process_check,
};

int oci_process_parse(const char *text, size_t len, OciProcess **ret, char **error_msg) {
        return oci_parse_document(&oci_process_type, "process.json", text, len, (void **) ret, error_msg);
}

OciProcess *oci_process_free(OciProcess *p) {
        return oci_document_free(&oci_process_type, p);
}

int oci_process_emit(const OciProcess *p, bool pretty, char **ret) {
        return oci_emit_document(&oci_process_type, p, pretty, ret);
}
