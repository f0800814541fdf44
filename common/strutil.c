/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <signal.h>
#include <limits.h>

#include "common.h"

bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

char **strv_free(char **l) {
        STRV_FOREACH(s, l)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

int strv_push(char ***l, char *s) {
        size_t n = strv_length(*l);
        char **m = realloc(*l, sizeof(char *) * (n + 2));
        if (!m)
                return -ENOMEM;
        m[n] = s;
        m[n + 1] = NULL;
        *l = m;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        char *c = strdup(s);
        int r;
        if (!c)
                return -ENOMEM;
        r = strv_push(l, c);
        if (r < 0)
                free(c);
        return r;
}

char **strv_copy(char *const *l) {
        size_t n = strv_length(l);
        char **c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(l[i])))
                        return strv_free(c);
        return c;
}

bool strv_contains(char *const *l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

const char *strv_env_get(char *const *l, const char *key) {
        size_t k = strlen(key);
        for (size_t i = 0; l && l[i]; i++)
                if (strncmp(l[i], key, k) == 0 && l[i][k] == '=')
                        return l[i] + k + 1;
        return NULL;
}

int strv_env_set(char ***l, const char *entry) {
        const char *eq = strchr(entry, '=');
        size_t k = eq ? (size_t) (eq - entry) : strlen(entry);
        char *c = strdup(entry);
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; *l && (*l)[i]; i++)
                if (strncmp((*l)[i], entry, k) == 0 && ((*l)[i][k] == '=' || (*l)[i][k] == 0)) {
                        free((*l)[i]);
                        (*l)[i] = c;
                        return 0;
                }
        int r = strv_push(l, c);
        if (r < 0)
                free(c);
        return r;
}

int xasprintf(char **ret, const char *fmt, ...) {
        va_list ap;
        char *s;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        *ret = s;
        return n;
}

int error_msg_set(char **error_msg, int r, const char *fmt, ...) {
        va_list ap;

        if (error_msg && !*error_msg) {
                va_start(ap, fmt);
                if (vasprintf(error_msg, fmt, ap) < 0)
                        *error_msg = NULL;
                va_end(ap);
        }
        return r;
}

int safe_atou64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (isempty(s) || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int safe_atoi64(const char *s, int64_t *ret) {
        char *end;
        long long v;

        if (isempty(s) || !(isdigit((unsigned char) s[0]) || (s[0] == '-' && isdigit((unsigned char) s[1]))))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int safe_atou(const char *s, unsigned *ret) {
        uint64_t v;
        int r = safe_atou64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT_MAX)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

int safe_atoi(const char *s, int *ret) {
        int64_t v;
        int r = safe_atoi64(s, &v);
        if (r < 0)
                return r;
        if (v > INT_MAX || v < INT_MIN)
                return -ERANGE;
        *ret = (int) v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } table[] = {
                { "", 1ULL },          { "b", 1ULL },         { "k", 1ULL << 10 },   { "kb", 1ULL << 10 },
                { "kib", 1ULL << 10 }, { "m", 1ULL << 20 },   { "mb", 1ULL << 20 },  { "mib", 1ULL << 20 },
                { "g", 1ULL << 30 },   { "gb", 1ULL << 30 },  { "gib", 1ULL << 30 }, { "t", 1ULL << 40 },
                { "tb", 1ULL << 40 },  { "tib", 1ULL << 40 },
        };
        char *end, suffix[8];
        long double v;
        size_t n = 0;

        if (isempty(s) || !(isdigit((unsigned char) s[0]) || s[0] == '.'))
                return -EINVAL;
        errno = 0;
        v = strtold(s, &end);
        if (errno != 0 || end == s || v < 0)
                return -EINVAL;
        while (*end == ' ')
                end++;
        for (; end[n] && n < sizeof suffix - 1; n++)
                suffix[n] = (char) tolower((unsigned char) end[n]);
        if (end[n])
                return -EINVAL;
        suffix[n] = 0;
        FOREACH_ARRAY(t, table, ELEMENTSOF(table))
                if (streq(t->suffix, suffix)) {
                        long double b = v * (long double) t->factor;
                        if (b >= 18446744073709551615.0L)
                                return -ERANGE;
                        *ret = (uint64_t) b;
                        return 0;
                }
        return -EINVAL;
}

static const char *const signal_names[] = {
        [SIGHUP] = "HUP",   [SIGINT] = "INT",       [SIGQUIT] = "QUIT", [SIGILL] = "ILL",
        [SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",     [SIGBUS] = "BUS",   [SIGFPE] = "FPE",
        [SIGKILL] = "KILL", [SIGUSR1] = "USR1",     [SIGSEGV] = "SEGV", [SIGUSR2] = "USR2",
        [SIGPIPE] = "PIPE", [SIGALRM] = "ALRM",     [SIGTERM] = "TERM", [SIGSTKFLT] = "STKFLT",
        [SIGCHLD] = "CHLD", [SIGCONT] = "CONT",     [SIGSTOP] = "STOP", [SIGTSTP] = "TSTP",
        [SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",     [SIGURG] = "URG",   [SIGXCPU] = "XCPU",
        [SIGXFSZ] = "XFSZ", [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF", [SIGWINCH] = "WINCH",
        [SIGIO] = "IO",     [SIGPWR] = "PWR",       [SIGSYS] = "SYS",
};

const char *signal_to_string(int sig) {
        if (sig > 0 && (size_t) sig < ELEMENTSOF(signal_names))
                return signal_names[sig];
        return NULL;
}

int signal_from_string(const char *s) {
        const char *p;
        int n;

        if (isempty(s))
                return -EINVAL;
        if (safe_atoi(s, &n) >= 0)
                return n > 0 && n < _NSIG ? n : -EINVAL;
        p = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
        for (size_t i = 1; i < ELEMENTSOF(signal_names); i++)
                if (signal_names[i] && strcasecmp(p, signal_names[i]) == 0)
                        return (int) i;
        if (strcasecmp(p, "IOT") == 0)
                return SIGABRT;
        if (strcasecmp(p, "CLD") == 0)
                return SIGCHLD;
        if (strcasecmp(p, "POLL") == 0)
                return SIGIO;
        if (strncasecmp(p, "RTMIN", 5) == 0) {
                if (!p[5])
                        return SIGRTMIN;
                if (p[5] == '+' && safe_atoi(p + 6, &n) >= 0 && n >= 0 && SIGRTMIN + n <= SIGRTMAX)
                        return SIGRTMIN + n;
        }
        if (strncasecmp(p, "RTMAX", 5) == 0) {
                if (!p[5])
                        return SIGRTMAX;
                if (p[5] == '-' && safe_atoi(p + 6, &n) >= 0 && n >= 0 && SIGRTMAX - n >= SIGRTMIN)
                        return SIGRTMAX - n;
        }
        return -EINVAL;
}
