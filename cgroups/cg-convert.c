/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pure conversions between the runtime-spec's (cgroup v1 flavoured) units and
 * cgroup v2 knobs, and parsers for the kernel's stat files. No syscalls, so
 * unit tests and fuzzers can call everything here directly.
 */
#include <ctype.h>

#include "cg-internal.h"

uint64_t cg_cpu_shares_to_weight(uint64_t shares) {
        /* v1 cpu.shares spans [2, 262144], v2 cpu.weight [1, 10000]; linear, as runc maps it. */
        if (shares == 0)
                return 0;
        shares = MAX(shares, 2u);
        shares = MIN(shares, 262144u);
        return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cg_blkio_weight_to_io_weight(uint64_t weight) {
        /* blkio.weight spans [10, 1000], io.weight [1, 10000]. */
        if (weight == 0)
                return 0;
        weight = MAX(weight, 10u);
        weight = MIN(weight, 1000u);
        return 1 + ((weight - 10) * 9999) / 990;
}

int cg_memory_swap_to_v2(int64_t swap, bool limit_set, int64_t limit, int64_t *ret, bool *ret_set) {
        /* runtime-spec: memory.swap is memory+swap; v2's memory.swap.max counts swap alone. */
        if (limit_set && limit == -1 && swap == 0) {
                /* An unlimited memory with swap unset means both unlimited, as on v1. */
                *ret = -1;
                *ret_set = true;
                return 0;
        }
        if (swap == 0) {
                *ret = 0;
                *ret_set = false;
                return 0;
        }
        if (swap == -1) {
                *ret = -1;
                *ret_set = true;
                return 0;
        }
        if (swap < 0)
                return -EINVAL;
        if (!limit_set || limit <= 0)
                return -EINVAL; /* swap limit without a memory limit */
        if (swap < limit)
                return -EINVAL; /* memory+swap must be >= memory */
        *ret = swap - limit;
        *ret_set = true;
        return 0;
}

const char *cg_format_max(int64_t v, char *buf, size_t size) {
        if (v < 0)
                snprintf(buf, size, "max");
        else
                snprintf(buf, size, "%" PRId64, v);
        return buf;
}

int cg_parse_max(const char *s, uint64_t *ret) {
        if (streq(s, "max")) {
                *ret = UINT64_MAX;
                return 0;
        }
        return safe_atou64(s, ret);
}

/* Next line of text as [start, len); advances *p. */
static bool next_line(const char **p, const char **ret_line, size_t *ret_len) {
        if (!**p)
                return false;
        *ret_line = *p;
        *ret_len = strcspn(*p, "\n");
        *p += *ret_len;
        if (**p)
                (*p)++;
        return true;
}

static int parse_u64_n(const char *s, size_t len, uint64_t *ret) {
        char buf[32];
        if (len == 0 || len >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = 0;
        return safe_atou64(buf, ret) < 0 ? -EINVAL : 0;
}

int cg_parse_keyed(const char *text, const char *key, uint64_t *ret) {
        size_t klen = strlen(key), len;
        const char *p = text, *line;

        if (klen == 0)
                return -EINVAL;
        while (next_line(&p, &line, &len)) {
                const char *v;
                if (len <= klen || memcmp(line, key, klen) != 0 || line[klen] != ' ')
                        continue;
                v = line + klen + 1;
                return parse_u64_n(v, len - klen - 1, ret);
        }
        return -ENOENT;
}

/* "MAJ:MIN" at the start of a line; returns the length consumed. */
static int parse_devno(const char *s, size_t len) {
        size_t i = 0, digits = 0;
        while (i < len && isdigit((unsigned char) s[i]))
                i++, digits++;
        if (!digits || i >= len || s[i] != ':')
                return -EINVAL;
        i++;
        digits = 0;
        while (i < len && isdigit((unsigned char) s[i]))
                i++, digits++;
        if (!digits)
                return -EINVAL;
        return (int) i;
}

static int add_checked(uint64_t *acc, uint64_t v) {
        if (__builtin_add_overflow(*acc, v, acc))
                return -ERANGE;
        return 0;
}

int cg_parse_io_stat(const char *text, uint64_t *rbytes, uint64_t *wbytes, uint64_t *rios, uint64_t *wios) {
        uint64_t rb = 0, wb = 0, ri = 0, wi = 0;
        const char *p = text, *line;
        size_t len;

        while (next_line(&p, &line, &len)) {
                int n = parse_devno(line, len);
                size_t i;
                if (len == 0)
                        continue;
                if (n < 0)
                        return -EINVAL;
                for (i = (size_t) n; i < len;) {
                        const char *tok, *eq;
                        size_t tl;
                        uint64_t v, *dst = NULL;
                        while (i < len && line[i] == ' ')
                                i++;
                        if (i >= len)
                                break;
                        tok = line + i;
                        tl = strcspn(tok, " \n");
                        tl = MIN(tl, len - i);
                        i += tl;
                        eq = memchr(tok, '=', tl);
                        if (!eq || eq == tok)
                                return -EINVAL;
                        if (parse_u64_n(eq + 1, tl - (size_t) (eq + 1 - tok), &v) < 0)
                                return -EINVAL;
                        if ((size_t) (eq - tok) == 6 && memcmp(tok, "rbytes", 6) == 0)
                                dst = &rb;
                        else if ((size_t) (eq - tok) == 6 && memcmp(tok, "wbytes", 6) == 0)
                                dst = &wb;
                        else if ((size_t) (eq - tok) == 4 && memcmp(tok, "rios", 4) == 0)
                                dst = &ri;
                        else if ((size_t) (eq - tok) == 4 && memcmp(tok, "wios", 4) == 0)
                                dst = &wi;
                        if (dst && add_checked(dst, v) < 0)
                                return -ERANGE;
                }
        }
        *rbytes = rb;
        *wbytes = wb;
        *rios = ri;
        *wios = wi;
        return 0;
}

int cg_parse_blkio_stat(const char *text, uint64_t *read, uint64_t *write) {
        uint64_t rd = 0, wr = 0;
        const char *p = text, *line;
        size_t len;

        while (next_line(&p, &line, &len)) {
                const char *op, *num;
                uint64_t v;
                int n;
                if (len == 0)
                        continue;
                if (len > 6 && memcmp(line, "Total ", 6) == 0)
                        continue; /* the grand total over devices */
                n = parse_devno(line, len);
                if (n < 0 || (size_t) n >= len || line[n] != ' ')
                        return -EINVAL;
                op = line + n + 1;
                num = memchr(op, ' ', len - (size_t) (op - line));
                if (!num || num == op)
                        return -EINVAL;
                if (parse_u64_n(num + 1, len - (size_t) (num + 1 - line), &v) < 0)
                        return -EINVAL;
                if (num - op == 4 && memcmp(op, "Read", 4) == 0) {
                        if (add_checked(&rd, v) < 0)
                                return -ERANGE;
                } else if (num - op == 5 && memcmp(op, "Write", 5) == 0) {
                        if (add_checked(&wr, v) < 0)
                                return -ERANGE;
                }
        }
        *read = rd;
        *write = wr;
        return 0;
}

/* "12.34" without locale dependence; at most 2^53 before the point. */
static int parse_decimal(const char *s, size_t len, double *ret) {
        double v = 0, scale = 1;
        bool point = false, digits = false;

        for (size_t i = 0; i < len; i++) {
                if (s[i] == '.' && !point) {
                        point = true;
                        continue;
                }
                if (!isdigit((unsigned char) s[i]))
                        return -EINVAL;
                digits = true;
                if (point) {
                        scale /= 10;
                        v += (s[i] - '0') * scale;
                } else {
                        v = v * 10 + (s[i] - '0');
                        if (v > 9007199254740992.0)
                                return -ERANGE;
                }
        }
        if (!digits)
                return -EINVAL;
        *ret = v;
        return 0;
}

int cg_parse_psi(const char *text, double *ret_avg10, uint64_t *ret_total) {
        const char *p = text, *line;
        size_t len;

        while (next_line(&p, &line, &len)) {
                bool have_avg = false, have_total = false;
                double avg10 = 0;
                uint64_t total = 0;
                size_t i;

                if (len < 5 || memcmp(line, "some ", 5) != 0)
                        continue;
                for (i = 5; i < len;) {
                        const char *tok = line + i, *eq;
                        size_t tl = strcspn(tok, " \n");
                        tl = MIN(tl, len - i);
                        i += tl;
                        while (i < len && line[i] == ' ')
                                i++;
                        if (tl == 0)
                                continue;
                        eq = memchr(tok, '=', tl);
                        if (!eq)
                                return -EINVAL;
                        size_t kl = (size_t) (eq - tok), vl = tl - kl - 1;
                        if (kl == 5 && memcmp(tok, "avg10", 5) == 0) {
                                if (parse_decimal(eq + 1, vl, &avg10) < 0)
                                        return -EINVAL;
                                have_avg = true;
                        } else if (kl == 5 && memcmp(tok, "total", 5) == 0) {
                                if (parse_u64_n(eq + 1, vl, &total) < 0)
                                        return -EINVAL;
                                have_total = true;
                        }
                }
                if (!have_avg || !have_total)
                        return -EINVAL;
                *ret_avg10 = avg10;
                *ret_total = total;
                return 0;
        }
        return -EINVAL;
}

int cg_unified_key_valid(const char *key) {
        static const char *const forbidden[] = {
                /* Moving, killing and freezing processes belong to the manager's own calls. */
                "cgroup.procs",  "cgroup.threads",     "cgroup.kill", "cgroup.freeze",
                "cgroup.events", "cgroup.controllers", "cgroup.type",
        };
        const char *dot;
        size_t len;

        if (isempty(key))
                return -EINVAL;
        len = strlen(key);
        if (len > 255)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char) key[i]) && !strchr("._-", key[i]))
                        return -EINVAL;
        dot = strchr(key, '.');
        if (!dot || dot == key || dot[1] == 0 || strstr(key, ".."))
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(forbidden); i++)
                if (streq(key, forbidden[i]))
                        return -EPERM;
        return 0;
}

bool cg_value_valid(const char *v) {
        return v && strlen(v) <= 4096 && !strchr(v, '\n');
}

int cg_device_rule_valid(const CgDeviceRule *rule) {
        size_t l = strnlen(rule->access, sizeof rule->access);

        if (!strchr("abc", rule->type) || rule->type == 0)
                return -EINVAL;
        if (l == 0 || l >= sizeof rule->access)
                return -EINVAL;
        for (size_t i = 0; i < l; i++)
                if (!strchr("rwm", rule->access[i]))
                        return -EINVAL;
        if (rule->major < -1 || rule->major > UINT32_MAX || rule->minor < -1 || rule->minor > UINT32_MAX)
                return -EINVAL;
        return 0;
}

static unsigned access_mask(const char *access, size_t size) {
        unsigned m = 0;
        for (size_t i = 0; i < size && access[i]; i++)
                m |= access[i] == 'm'              ? BPF_DEVCG_ACC_MKNOD
                                : access[i] == 'r' ? BPF_DEVCG_ACC_READ
                                : access[i] == 'w' ? BPF_DEVCG_ACC_WRITE
                                                   : 0;
        return m;
}

static bool rule_matches(const CgDeviceRule *rule, char type, uint32_t major, uint32_t minor) {
        return (rule->type == 'a' || rule->type == type) &&
                        (rule->major < 0 || (uint32_t) rule->major == major) &&
                        (rule->minor < 0 || (uint32_t) rule->minor == minor);
}

int cg_devices_decide(const CgDeviceRule *rules, size_t n, char type, uint32_t major, uint32_t minor, unsigned access) {
        static const unsigned bits[] = { BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE };

        for (size_t b = 0; b < ELEMENTSOF(bits); b++) {
                bool allowed = false;
                if (!(access & bits[b]))
                        continue;
                for (size_t i = n; i-- > 0;)
                        if ((access_mask(rules[i].access, sizeof rules[i].access) & bits[b]) &&
                            rule_matches(&rules[i], type, major, minor)) {
                                allowed = rules[i].allow;
                                break;
                        }
                if (!allowed)
                        return 0;
        }
        return 1;
}
