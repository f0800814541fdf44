/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/stat.h>
#include <time.h>

#include "cg-internal.h"

char *cg_dir(const CgManager *m, size_t i) {
        const char *name = m->host->hier[i].name;
        char *s;

        if (asprintf(&s, "%s%s%s%s", m->host->root, *name ? "/" : "", name, m->path) < 0)
                return NULL;
        return s;
}

int cg_dir_for(const CgManager *m, CgController c, bool allow_v2, char **ret) {
        int i = cg_host_find(m->host, c, allow_v2);
        char *s;

        if (i < 0)
                return -EOPNOTSUPP;
        s = cg_dir(m, (size_t) i);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int cg_fail(CgManager *m, int r, const char *fmt, ...) {
        char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (s) {
                free(m->error);
                m->error = s;
                log_debug("cg: %s", s);
        }
        return r;
}

static char *knob_path(const char *dir, const char *knob) {
        return path_join(dir, knob);
}

int cg_write(const char *dir, const char *knob, const char *value) {
        _cleanup_free_ char *p = knob_path(dir, knob);
        int r;

        if (!p)
                return -ENOMEM;
        r = write_string_at(AT_FDCWD, p, value);
        if (r < 0)
                log_debug_errno(r, "cg: write '%s' to %s: %m", value, p);
        return r;
}

int cg_writef(const char *dir, const char *knob, const char *fmt, ...) {
        _cleanup_free_ char *v = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&v, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return cg_write(dir, knob, v);
}

int cg_read(const char *dir, const char *knob, char **ret) {
        _cleanup_free_ char *p = knob_path(dir, knob);
        if (!p)
                return -ENOMEM;
        return read_full_file_at(AT_FDCWD, p, 1024 * 1024, ret, NULL);
}

int cg_read_u64(const char *dir, const char *knob, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        int r = cg_read(dir, knob, &s);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        return cg_parse_max(s, ret);
}

bool cg_knob_exists(const char *dir, const char *knob) {
        _cleanup_free_ char *p = knob_path(dir, knob);
        return p && access(p, F_OK) == 0;
}

static int pids_append(const char *text, pid_t **pids, size_t *n) {
        const char *p = text;

        while (*p) {
                size_t l = strcspn(p, "\n");
                char num[24];
                int v;

                if (l > 0) {
                        if (l >= sizeof num)
                                return -EINVAL;
                        memcpy(num, p, l);
                        num[l] = 0;
                        if (safe_atoi(num, &v) < 0 || v <= 0)
                                return -EINVAL;
                        bool dup = false;
                        for (size_t i = 0; i < *n && !dup; i++)
                                dup = (*pids)[i] == v;
                        if (!dup) {
                                pid_t *np = realloc(*pids, sizeof(pid_t) * (*n + 1));
                                if (!np)
                                        return -ENOMEM;
                                *pids = np;
                                np[(*n)++] = v;
                        }
                }
                p += l;
                if (*p)
                        p++;
        }
        return 0;
}

static int read_pids_at(const char *dir, unsigned depth, pid_t **pids, size_t *n) {
        _cleanup_(cg_closedirp) DIR *d = NULL;
        _cleanup_free_ char *text = NULL;
        struct dirent *de;
        int r;

        if (depth > 256)
                return -ELOOP;
        r = cg_read(dir, "cgroup.procs", &text);
        if (r == -ENOENT || r == -ENODEV)
                return 0; /* removed under us */
        if (r < 0)
                return r;
        r = pids_append(text, pids, n);
        if (r < 0)
                return r;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                sub = path_join(dir, de->d_name);
                if (!sub)
                        return -ENOMEM;
                r = read_pids_at(sub, depth + 1, pids, n);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cg_read_pids_recursive(const char *dir, pid_t **pids, size_t *n) {
        return read_pids_at(dir, 0, pids, n);
}

static int rmdir_at(const char *dir, unsigned depth, bool fake) {
        _cleanup_(cg_closedirp) DIR *d = NULL;
        struct dirent *de;
        int r = 0;

        if (depth > 256)
                return -ELOOP;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (de->d_type != DT_DIR && !fake)
                        continue; /* cgroupfs knobs vanish with their directory */
                sub = path_join(dir, de->d_name);
                if (!sub)
                        return -ENOMEM;
                if (de->d_type != DT_DIR) {
                        if (unlink(sub) < 0 && errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }
                int q = rmdir_at(sub, depth + 1, fake);
                if (q < 0 && r == 0)
                        r = q;
        }
        if (rmdir(dir) < 0 && errno != ENOENT)
                return r < 0 ? r : -errno;
        return r;
}

int cg_rmdir_recursive(const char *dir) {
        const CgHost *h;
        bool fake = cg_host_get(&h) >= 0 && h->fake;

        /* The common case, a leaf without children: one rmdir, no directory listing. */
        if (!fake && rmdir(dir) >= 0)
                return 0;
        if (!fake && errno == ENOENT)
                return 0;
        return rmdir_at(dir, 0, fake);
}

void cg_sleep_usec(uint64_t usec) {
        struct timespec ts = { .tv_sec = (time_t) (usec / 1000000), .tv_nsec = (long) (usec % 1000000) * 1000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int cg_knob_set(CgManager *m, const char *dir, const char *knob, const char *value, bool dry_run) {
        int r;

        if (dry_run) {
                if (!cg_knob_exists(dir, knob))
                        return cg_fail(m, -EOPNOTSUPP, "%s/%s does not exist: controller not available here",
                                       dir, knob);
                return 0;
        }
        r = cg_write(dir, knob, value);
        if (r < 0)
                return cg_fail(m, r, "cannot write '%s' to %s/%s: %s", value, dir, knob, strerror(-r));
        return 0;
}

int cg_knob_set_max(CgManager *m, const char *dir, const char *knob, int64_t v, bool dry_run) {
        char buf[24];
        return cg_knob_set(m, dir, knob, cg_format_max(v, buf, sizeof buf), dry_run);
}

int cg_knob_setf(CgManager *m, const char *dir, const char *knob, bool dry_run, const char *fmt, ...) {
        _cleanup_free_ char *v = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&v, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return cg_knob_set(m, dir, knob, v, dry_run);
}
