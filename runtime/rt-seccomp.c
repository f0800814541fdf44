/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>

#include "rt-internal.h"

#if HAVE_SECCOMP
#include <seccomp.h>

/*
 * linux.seccomp (runtime-spec config-linux.md "Seccomp") through libseccomp.
 * Unknown syscall names are skipped (a profile written for newer kernels
 * must still load), rules whose action equals the default are skipped (the
 * kernel would do the same), and libseccomp's own no_new_privs default is
 * turned off: process.noNewPrivileges alone decides that.
 */

static const struct {
        const char *name;
        uint32_t action;
        bool takes_errno;
} actions[] = {
        { "SCMP_ACT_KILL", SCMP_ACT_KILL, false },
        { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false },
        { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false },
        { "SCMP_ACT_TRAP", SCMP_ACT_TRAP, false },
        { "SCMP_ACT_ERRNO", 0, true },
        { "SCMP_ACT_TRACE", 1, true },
        { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false },
        { "SCMP_ACT_LOG", SCMP_ACT_LOG, false },
        { "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false },
};

static const struct {
        const char *name;
        enum scmp_compare op;
} operators[] = {
        { "SCMP_CMP_NE", SCMP_CMP_NE },
        { "SCMP_CMP_LT", SCMP_CMP_LT },
        { "SCMP_CMP_LE", SCMP_CMP_LE },
        { "SCMP_CMP_EQ", SCMP_CMP_EQ },
        { "SCMP_CMP_GE", SCMP_CMP_GE },
        { "SCMP_CMP_GT", SCMP_CMP_GT },
        { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static const struct {
        const char *name;
        int attr; /* -1: known but unsupported by this libseccomp */
} flags[] = {
        { "SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC },
        { "SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG },
        { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB },
        { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", -1 },
};

static const char *const archs[] = {
        "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
};

static int action_of(const char *name, const OciOptU64 *errno_ret, uint32_t *ret) {
        for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
                if (!streq(name, actions[i].name))
                        continue;
                if (!actions[i].takes_errno)
                        *ret = actions[i].action;
                else {
                        uint16_t e = errno_ret && errno_ret->set ? (uint16_t) errno_ret->v : EPERM;
                        *ret = actions[i].action == 0 ? SCMP_ACT_ERRNO(e) : SCMP_ACT_TRACE(e);
                }
                return 0;
        }
        return -EINVAL;
}

static int arch_of(const char *name, uint32_t *ret) {
        const char *p = startswith(name, "SCMP_ARCH_");
        char lower[32];
        size_t i = 0;

        if (!p)
                return -EINVAL;
        for (; p[i] && i < sizeof lower - 1; i++)
                lower[i] = (char) tolower((unsigned char) p[i]);
        lower[i] = 0;
        *ret = seccomp_arch_resolve_name(lower);
        return *ret ? 0 : -EOPNOTSUPP;
}

static int add_rule(scmp_filter_ctx ctx, const OciSeccompRule *rule, uint32_t action, int nr) {
        struct scmp_arg_cmp cmp[6];
        bool distinct = rule->n_args <= 6;
        int r;

        for (size_t i = 0; i < rule->n_args && i < 6; i++) {
                const OciSeccompArg *a = &rule->args[i];
                enum scmp_compare op = _SCMP_CMP_MIN;
                for (size_t k = 0; k < ELEMENTSOF(operators); k++)
                        if (streq(a->op, operators[k].name))
                                op = operators[k].op;
                if (op == _SCMP_CMP_MIN || a->index > 5)
                        return -EINVAL;
                cmp[i] = (struct scmp_arg_cmp){
                        .arg = a->index, .op = op, .datum_a = a->value, .datum_b = a->value_two
                };
                for (size_t k = 0; k < i; k++)
                        if (cmp[k].arg == cmp[i].arg)
                                distinct = false;
        }
        if (distinct)
                return seccomp_rule_add_array(ctx, action, nr, (unsigned) rule->n_args, cmp);
        /* The same argument compared twice cannot be one libseccomp rule: one rule per comparison. */
        for (size_t i = 0; i < rule->n_args && i < 6; i++) {
                r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int build(const OciSeccomp *s, scmp_filter_ctx ctx, uint32_t def, bool *ret_notify) {
        int r;

        for (size_t i = 0; s->architectures && s->architectures[i]; i++) {
                uint32_t a;
                r = arch_of(s->architectures[i], &a);
                if (r == -EOPNOTSUPP)
                        continue;
                if (r < 0)
                        return r;
                r = seccomp_arch_add(ctx, a);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        for (size_t i = 0; s->flags && s->flags[i]; i++) {
                bool known = false;
                for (size_t k = 0; k < ELEMENTSOF(flags); k++)
                        if (streq(s->flags[i], flags[k].name)) {
                                known = true;
                                if (flags[k].attr < 0)
                                        return -EOPNOTSUPP;
                                r = seccomp_attr_set(ctx, (enum scmp_filter_attr) flags[k].attr, 1);
                                if (r < 0)
                                        return r;
                        }
                if (!known)
                        return -EINVAL;
        }
        for (size_t i = 0; i < s->n_syscalls; i++) {
                const OciSeccompRule *rule = &s->syscalls[i];
                uint32_t action;
                r = action_of(rule->action, &rule->errno_ret, &action);
                if (r < 0)
                        return r;
                if (action == def)
                        continue;
                if (action == SCMP_ACT_NOTIFY)
                        *ret_notify = true;
                STRV_FOREACH(n, rule->names) {
                        int nr = seccomp_syscall_resolve_name(*n);
                        if (nr == __NR_SCMP_ERROR)
                                continue; /* unknown to this libseccomp or kernel */
                        r = add_rule(ctx, rule, action, nr);
                        if (r < 0 && r != -EEXIST)
                                return r;
                }
        }
        return 0;
}

/* The filter for s, not loaded; *ret_notify says whether a rule asks for a listener. */
static int filter_new(const OciSeccomp *s, scmp_filter_ctx *ret, bool *ret_notify) {
        scmp_filter_ctx ctx;
        uint32_t def;
        bool notify = false;
        int r;

        r = action_of(s->default_action, &s->default_errno_ret, &def);
        if (r < 0)
                return r;
        ctx = seccomp_init(def);
        if (!ctx)
                return -ENOMEM;
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r >= 0)
                r = build(s, ctx, def, &notify);
        if (r < 0) {
                seccomp_release(ctx);
                return r;
        }
        *ret = ctx;
        *ret_notify = notify;
        return 0;
}

int rt_seccomp_load(const OciSeccomp *s, int *ret_listener_fd) {
        scmp_filter_ctx ctx;
        bool notify;
        int r;

        r = filter_new(s, &ctx, &notify);
        if (r < 0)
                return r;
        r = seccomp_load(ctx);
        if (r >= 0 && notify) {
                int fd = seccomp_notify_fd(ctx);
                if (fd < 0)
                        r = fd;
                else
                        *ret_listener_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        }
        seccomp_release(ctx);
        return r;
}

int rt_seccomp_export(const OciSeccomp *s, int fd) {
        scmp_filter_ctx ctx;
        bool notify;
        int r;

        r = filter_new(s, &ctx, &notify);
        if (r < 0)
                return r;
        r = seccomp_export_bpf(ctx, fd);
        seccomp_release(ctx);
        return r;
}

/* "key": [ the .name of each entry of table ] */
#define JW_TABLE_NAMES(w, key, table) \
        do { \
                jw_key(w, key); \
                jw_array_open(w); \
                for (size_t _i = 0; _i < ELEMENTSOF(table); _i++) \
                        jw_string(w, table[_i].name); \
                jw_array_close(w); \
        } while (0)

int rt_seccomp_features(JsonWriter *w) {
        jw_key(w, "seccomp");
        jw_object_open(w);
        jw_key(w, "enabled");
        jw_bool(w, true);
        JW_TABLE_NAMES(w, "actions", actions);
        JW_TABLE_NAMES(w, "operators", operators);
        jw_key(w, "archs");
        jw_array_open(w);
        for (size_t i = 0; i < ELEMENTSOF(archs); i++)
                jw_string(w, archs[i]);
        jw_array_close(w);
        JW_TABLE_NAMES(w, "knownFlags", flags);
        jw_key(w, "supportedFlags");
        jw_array_open(w);
        for (size_t i = 0; i < ELEMENTSOF(flags); i++)
                if (flags[i].attr >= 0)
                        jw_string(w, flags[i].name);
        jw_array_close(w);
        jw_object_close(w);
        return 0;
}

#else

int rt_seccomp_load(const OciSeccomp *s, int *ret_listener_fd) {
        return -EOPNOTSUPP;
}

int rt_seccomp_export(const OciSeccomp *s, int fd) {
        return -EOPNOTSUPP;
}

int rt_seccomp_features(JsonWriter *w) {
        jw_key(w, "seccomp");
        jw_object_open(w);
        jw_key(w, "enabled");
        jw_bool(w, false);
        jw_object_close(w);
        return 0;
}

#endif
