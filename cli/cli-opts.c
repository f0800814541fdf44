/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-opts.h"

static const CliOption *find(const CliOption *opts, size_t n, const char *name, size_t len, char short_name) {
        for (size_t i = 0; i < n; i++) {
                if (short_name && opts[i].short_name == short_name)
                        return &opts[i];
                if (!short_name && strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
                        return &opts[i];
        }
        return NULL;
}

static int set_value(const char *cmd, const CliOption *o, const char *value) {
        if (o->seen)
                *o->seen = true;
        if (!o->ptr)
                return 0;
        switch (o->kind) {
        case CLI_BOOL:
                if (!value || streq(value, "true") || streq(value, "1"))
                        *(bool *) o->ptr = true;
                else if (streq(value, "false") || streq(value, "0"))
                        *(bool *) o->ptr = false;
                else
                        goto bad;
                return 0;
        case CLI_STRING:
                *(const char **) o->ptr = value;
                return 0;
        case CLI_STRV:
                return strv_extend((char ***) o->ptr, value);
        case CLI_UINT:
                if (safe_atou(value, (unsigned *) o->ptr) < 0)
                        goto bad;
                return 0;
        case CLI_INT64:
                if (safe_atoi64(value, (int64_t *) o->ptr) < 0)
                        goto bad;
                return 0;
        }
bad:
        log_error("%s: invalid value '%s' for --%s", cmd, value, o->name);
        return -EINVAL;
}

int cli_parse(const char *cmd,
              int argc,
              char **argv,
              const CliOption *opts,
              size_t n_opts,
              int stop_at,
              char ***ret_positional) {
        _cleanup_free_ char **pos = calloc((size_t) argc + 1, sizeof(char *));
        size_t npos = 0;
        int r;

        if (!pos)
                return log_error_errno(ENOMEM, "Out of memory");
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i], *name, *eq;
                const CliOption *o;

                if (stop_at > 0 && npos >= (size_t) stop_at) {
                        pos[npos++] = argv[i];
                        continue;
                }
                if (streq(a, "--")) {
                        while (++i < argc)
                                pos[npos++] = argv[i];
                        break;
                }
                if (a[0] != '-' || a[1] == 0) {
                        pos[npos++] = argv[i];
                        continue;
                }
                name = a + 1 + (a[1] == '-');
                eq = strchr(name, '=');
                o = find(opts, n_opts, name, eq ? (size_t) (eq - name) : strlen(name), 0);
                if (!o && a[1] != '-' && !eq) {
                        /* "-d", or grouped short booleans "-dt", or "-p FILE" */
                        for (const char *c = a + 1; *c; c++) {
                                const CliOption *s = find(opts, n_opts, NULL, 0, *c);
                                if (!s)
                                        return log_error_errno(
                                                        SYNTHETIC_ERRNO(EINVAL),
                                                        "%s: unknown flag -%c (see --help)", cmd, *c);
                                if (s->kind == CLI_BOOL) {
                                        r = set_value(cmd, s, NULL);
                                } else {
                                        const char *v = c[1] ? c + 1 : (i + 1 < argc ? argv[++i] : NULL);
                                        if (!v)
                                                return log_error_errno(
                                                                SYNTHETIC_ERRNO(EINVAL),
                                                                "%s: flag -%c needs a value", cmd, *c);
                                        r = set_value(cmd, s, v);
                                        if (r < 0)
                                                return r;
                                        break; /* the value consumed the rest of the group */
                                }
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                if (!o)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL), "%s: unknown flag %s (see --help)", cmd, a);
                if (o->kind == CLI_BOOL)
                        r = set_value(cmd, o, eq ? eq + 1 : NULL);
                else if (eq)
                        r = set_value(cmd, o, eq + 1);
                else if (i + 1 < argc)
                        r = set_value(cmd, o, argv[++i]);
                else
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL), "%s: flag --%s needs a value", cmd, o->name);
                if (r < 0)
                        return r;
        }
        pos[npos] = NULL;
        *ret_positional = TAKE_PTR(pos);
        return 0;
}

void cli_print_options(FILE *f, const CliOption *opts, size_t n_opts) {
        for (size_t i = 0; i < n_opts; i++) {
                char left[80];
                if (!opts[i].help)
                        continue;
                if (opts[i].short_name)
                        snprintf(left, sizeof left, "-%c, --%s%s%s", opts[i].short_name, opts[i].name,
                                 opts[i].metavar ? " " : "", opts[i].metavar ?: "");
                else
                        snprintf(left, sizeof left, "    --%s%s%s", opts[i].name, opts[i].metavar ? " " : "",
                                 opts[i].metavar ?: "");
                fprintf(f, "  %-36s %s\n", left, opts[i].help);
        }
}
