/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nosys - run a command with chosen system calls failing as on an older kernel
 * (STYLE.md rule 22, crun's no_openat2 in spirit).
 *
 *   nosys [-s SYSCALL[,SYSCALL...]] [-e ERRNO] [--] COMMAND [ARG...]
 *
 * Installs a seccomp filter under which each listed syscall fails with ENOSYS
 * (or -e ERRNO, a number or a name such as EPERM), then execs COMMAND. The
 * filter is inherited by every descendant, containers included, so the
 * runtime's fallbacks run: the user-space RESOLVE_IN_ROOT walk without
 * openat2, clone without clone3, /proc/self/fd without close_range, kill
 * without pidfds, the old mount API without fsopen and friends.
 * Names unknown to this libseccomp are an error; -s replaces the default
 * list, -s +NAME adds to it. No no_new_privs where the caller may do without
 * (CAP_SYS_ADMIN), so setuid programs under it keep working.
 */
#include <getopt.h>
#include <seccomp.h>

#include "common.h"

static const char *const default_syscalls[] = {
        "openat2",   "clone3",        "fsopen",     "fsmount",           "move_mount",
        "open_tree", "mount_setattr", "pidfd_open", "pidfd_send_signal", "close_range",
};

static int errno_from_string(const char *s) {
        static const struct {
                const char *name;
                int value;
        } names[] = { { "ENOSYS", ENOSYS }, { "EPERM", EPERM }, { "EINVAL", EINVAL }, { "EACCES", EACCES } };
        unsigned v;

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i].name))
                        return names[i].value;
        if (safe_atou(s, &v) < 0 || v == 0 || v > 4095)
                return -EINVAL;
        return (int) v;
}

static int add(scmp_filter_ctx ctx, const char *name, int err) {
        int nr = seccomp_syscall_resolve_name(name);

        if (nr == __NR_SCMP_ERROR) {
                fprintf(stderr, "nosys: unknown system call '%s'\n", name);
                return -ENOENT;
        }
        return seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint16_t) err), nr, 0);
}

static int add_list(scmp_filter_ctx ctx, const char *list, int err) {
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;
        int r;

        if (!copy)
                return -ENOMEM;
        for (char *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
                r = add(ctx, n, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void usage(FILE *f) {
        fprintf(f,
                "usage: nosys [-s SYSCALL[,SYSCALL...]|+SYSCALL...] [-e ERRNO] [--] COMMAND [ARG...]\n"
                "default syscalls:");
        for (size_t i = 0; i < ELEMENTSOF(default_syscalls); i++)
                fprintf(f, " %s", default_syscalls[i]);
        fputc('\n', f);
}

int main(int argc, char **argv) {
        const char *list = NULL;
        bool extend = false;
        int err = ENOSYS, c, r;
        scmp_filter_ctx ctx;

        while ((c = getopt(argc, argv, "+s:e:h")) >= 0)
                switch (c) {
                case 's':
                        extend = optarg[0] == '+';
                        list = extend ? optarg + 1 : optarg;
                        break;
                case 'e':
                        err = errno_from_string(optarg);
                        if (err < 0) {
                                fprintf(stderr, "nosys: invalid errno '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind >= argc) {
                usage(stderr);
                return 2;
        }

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx) {
                fprintf(stderr, "nosys: seccomp_init failed\n");
                return 1;
        }
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        /* Other ABIs (x32, i386 binaries) pass untouched rather than being killed. */
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
        for (size_t i = 0; r >= 0 && (!list || extend) && i < ELEMENTSOF(default_syscalls); i++)
                r = add(ctx, default_syscalls[i], err);
        if (r >= 0 && list)
                r = add_list(ctx, list, err);
        if (r >= 0) {
                r = seccomp_load(ctx);
                /* Without CAP_SYS_ADMIN (rootless runs) the kernel wants no_new_privs first. */
                if (r < 0 && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) >= 0)
                        r = seccomp_load(ctx);
        }
        seccomp_release(ctx);
        if (r == -ENOENT)
                return 2;
        if (r < 0) {
                fprintf(stderr, "nosys: cannot install the filter: %s\n", strerror(-r));
                return 1;
        }
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "nosys: cannot run %s: %m\n", argv[optind]);
        return 127;
}
