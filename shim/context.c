/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <libgen.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroups.h"
#include "shim-lib.h"

static const char *const isolation_names[_SHIM_ISOLATION_MAX] = {
        [SHIM_ISOLATION_CONTAINER] = "container",
        [SHIM_ISOLATION_VM] = "vm",
};

const char *shim_isolation_to_string(ShimIsolation i) {
        return i >= 0 && i < _SHIM_ISOLATION_MAX ? isolation_names[i] : NULL;
}

ShimIsolation shim_isolation_from_string(const char *s) {
        for (int i = 0; s && i < _SHIM_ISOLATION_MAX; i++)
                if (streq(isolation_names[i], s))
                        return (ShimIsolation) i;
        return _SHIM_ISOLATION_INVALID;
}

static bool part_is_valid(const char *s, size_t n) {
        if (n == 0 || n > 63 || !isalnum((unsigned char) s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

bool shim_name_is_valid(const char *name) {
        const char *slash;

        if (!name)
                return false;
        slash = strchr(name, '/');
        if (!slash)
                return part_is_valid(name, strlen(name));
        return part_is_valid(name, (size_t) (slash - name)) && part_is_valid(slash + 1, strlen(slash + 1));
}

int shim_name_split(const char *name, char **ret_lab, char **ret_student) {
        const char *slash;

        if (!shim_name_is_valid(name))
                return -EINVAL;
        slash = strchr(name, '/');
        if (!slash) {
                *ret_lab = *ret_student = NULL;
                return 0;
        }
        *ret_lab = strndup(name, (size_t) (slash - name));
        *ret_student = strdup(slash + 1);
        if (!*ret_lab || !*ret_student) {
                *ret_lab = mfree(*ret_lab);
                *ret_student = mfree(*ret_student);
                return -ENOMEM;
        }
        return 0;
}

/* FNV-1a: a short stable tag for non-default data roots (cgroup names). */
static uint32_t hash32(const char *s) {
        uint32_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619u;
        return h;
}

static char *find_shim(const char *self) {
        const char *env = getenv("AULA_SHIM");
        _cleanup_free_ char *copy = NULL;
        char *p = NULL;
        const char *dir;

        if (!isempty(env))
                return strdup(env);
        copy = strdup(self);
        if (!copy)
                return NULL;
        dir = dirname(copy);
        /* Installed side by side, or the build tree (build/cli/aula, build/shim/aula-shim). */
        if (xasprintf(&p, "%s/aula-shim", dir) >= 0 && access(p, X_OK) == 0)
                return p;
        p = mfree(p);
        if (xasprintf(&p, "%s/../shim/aula-shim", dir) >= 0 && access(p, X_OK) == 0)
                return p;
        p = mfree(p);
        return strdup(AULA_LIBEXECDIR "/aula-shim");
}

int shim_context_new(const char *root, const char *self, ShimContext **ret) {
        _cleanup_(shim_context_freep) ShimContext *c = NULL;
        const char *run = getenv("AULA_RUN_DIR");
        char exe[4096];
        ssize_t n;

        c = calloc(1, sizeof *c);
        if (!c)
                return log_error_errno(ENOMEM, "Out of memory");
        if (isempty(root))
                root = getenv("AULA_ROOT");
        if (isempty(root))
                root = SHIM_DEFAULT_ROOT;
        if (root[0] != '/')
                c->root = realpath(root, NULL);
        else
                c->root = strdup(root);
        if (!c->root)
                return log_error_errno(errno ?: ENOMEM, "Invalid data root '%s': %m", root);
        if (!self) {
                n = readlink("/proc/self/exe", exe, sizeof exe - 1);
                if (n < 0)
                        return log_error_errno(errno, "Cannot find our own program: %m");
                exe[n] = 0;
                self = exe;
        }
        c->self_path = strdup(self);
        if (!isempty(run))
                c->run = strdup(run);
        else if (streq(c->root, SHIM_DEFAULT_ROOT))
                c->run = strdup(SHIM_DEFAULT_RUN);
        else
                c->run = path_join(c->root, "run");
        if (streq(c->root, SHIM_DEFAULT_ROOT))
                c->cg_prefix = strdup("/aula");
        else
                (void) xasprintf(&c->cg_prefix, "/aula/r-%08x", hash32(c->root));
        c->shim_path = c->self_path ? find_shim(c->self_path) : NULL;
        if (!c->self_path || !c->run || !c->cg_prefix || !c->shim_path)
                return log_error_errno(ENOMEM, "Out of memory");
        *ret = TAKE_PTR(c);
        return 0;
}

ShimContext *shim_context_free(ShimContext *c) {
        if (!c)
                return NULL;
        img_store_free(c->store);
        free(c->template_key);
        free(c->template);
        free(c->root);
        free(c->run);
        free(c->shim_path);
        free(c->self_path);
        free(c->cg_prefix);
        free(c);
        return NULL;
}

const char *shim_context_root(const ShimContext *c) {
        return c->root;
}

const char *shim_context_run_dir(const ShimContext *c) {
        return c->run;
}

int shim_store(ShimContext *c, ImgStore **ret) {
        _cleanup_free_ char *msg = NULL;
        int r;

        if (!c->store) {
                r = img_store_open(c->root, 0, &c->store, &msg);
                if (r < 0)
                        return log_error_errno(r, "Cannot open the image store: %s", msg ?: strerror(-r));
        }
        *ret = c->store;
        return 0;
}

char *shim_data_dir(const ShimContext *c, const char *name) {
        char *p = NULL;
        (void) xasprintf(&p, "%s/instances/%s", c->root, name);
        return p;
}

char *shim_run_path(const ShimContext *c, const char *name) {
        char *p = NULL;
        (void) xasprintf(&p, "%s/instances/%s", c->run, name);
        return p;
}

char *shim_lab_file(const ShimContext *c, const char *lab) {
        char *p = NULL;
        (void) xasprintf(&p, "%s/labs/%s.json", c->root, lab);
        return p;
}

char *shim_cgroup_path(const ShimContext *c, const char *name) {
        char *p = NULL;
        (void) xasprintf(&p, "%s/%s", c->cg_prefix, name);
        return p;
}

/*
 * Roots of the cgroup hierarchies: the cgroup2 mount itself on unified hosts;
 * each cgroup (v1 or v2) mount below it on v1 and hybrid ones. Only mounts count,
 * so nothing is ever created inside somebody else's cgroup.
 */
static int cgroup_roots(char ***ret) {
        const char *root = getenv("AULA_CGROUP_ROOT");
        _cleanup_strv_free_ char **l = NULL;
        struct statfs fs;
        DIR *d;

        root = isempty(root) ? "/sys/fs/cgroup" : root;
        if (statfs(root, &fs) < 0)
                return -errno;
        if (fs.f_type == CGROUP2_SUPER_MAGIC) {
                if (strv_extend(&l, root) < 0)
                        return -ENOMEM;
                *ret = TAKE_PTR(l);
                return 0;
        }
        d = opendir(root);
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *p = NULL;
                if (de->d_name[0] == '.' || de->d_type != DT_DIR || !(p = path_join(root, de->d_name)))
                        continue;
                if (statfs(p, &fs) >= 0 &&
                    (fs.f_type == CGROUP_SUPER_MAGIC || fs.f_type == CGROUP2_SUPER_MAGIC) &&
                    strv_push(&l, p) >= 0)
                        p = NULL;
        }
        closedir(d);
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int shim_cgroup_mkdir(const ShimContext *c, const char *name) {
        _cleanup_free_ char *path = shim_cgroup_path(c, name);
        _cleanup_(cg_manager_freep) CgManager *m = NULL;
        int r;

        if (!path)
                return -ENOMEM;
        /* Through libaula-cgroups: a v1 cpuset directory, for one, needs its cpus and mems set up. */
        r = cg_manager_new(path, &m);
        if (r >= 0)
                r = cg_manager_create(m);
        return r;
}

int shim_cgroup_rmdir(const ShimContext *c, const char *name) {
        _cleanup_free_ char *rel = shim_cgroup_path(c, name);
        _cleanup_strv_free_ char **roots = NULL;
        int r, ret = 0;

        if (!rel)
                return -ENOMEM;
        r = cgroup_roots(&roots);
        if (r < 0)
                return r;
        STRV_FOREACH(root, roots) {
                _cleanup_free_ char *p = path_join(*root, rel);
                if (!p)
                        return -ENOMEM;
                if (rmdir(p) < 0 && errno != ENOENT && ret == 0)
                        ret = -errno;
        }
        return ret;
}

/* ---------------------------------------------------------------- locking */

int shim_lock_path(const char *path, int op, uint64_t timeout_usec, const char *what, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t start = now_usec(CLOCK_MONOTONIC), wait = 1000;
        bool said = false;
        _cleanup_free_ char *dir = strdup(path);

        if (!dir)
                return -ENOMEM;
        (void) mkdir_p(dirname(dir), 0755);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        for (;;) {
                if (flock(fd, op | LOCK_NB) >= 0)
                        break;
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return -errno;
                if (now_usec(CLOCK_MONOTONIC) - start >= timeout_usec)
                        return -ETIMEDOUT;
                if (!said && now_usec(CLOCK_MONOTONIC) - start > 1000000 && what) {
                        log_info("waiting for another aula command on %s...", what);
                        said = true;
                }
                (void) nanosleep(&(struct timespec){ .tv_nsec = (long) wait * 1000 }, NULL);
                wait = MIN(wait * 2, 50000u);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

#define LOCK_TIMEOUT_USEC (120 * 1000000ULL)

int shim_lock_instance(ShimContext *c, const char *name, int *ret_fd) {
        _cleanup_free_ char *p = NULL;
        int r;

        if (xasprintf(&p, "%s/locks/instance/%s.lock", c->root, name) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        r = shim_lock_path(p, LOCK_EX, LOCK_TIMEOUT_USEC, name, ret_fd);
        if (r < 0)
                return log_error_errno(r, "Cannot lock instance %s: %m", name);
        return 0;
}

int shim_lock_names(ShimContext *c, int *ret_fd) {
        _cleanup_free_ char *p = NULL;
        int r;

        if (xasprintf(&p, "%s/locks/names.lock", c->root) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        r = shim_lock_path(p, LOCK_EX, LOCK_TIMEOUT_USEC, "the instance names", ret_fd);
        if (r < 0)
                return log_error_errno(r, "Cannot lock the instance names: %m");
        return 0;
}

int shim_lock_lab(ShimContext *c, const char *lab, int op, int *ret_fd) {
        _cleanup_free_ char *p = NULL, *what = NULL;
        int r;

        if (xasprintf(&p, "%s/locks/lab/%s.lock", c->root, lab) < 0 || xasprintf(&what, "lab %s", lab) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        r = shim_lock_path(p, op, LOCK_TIMEOUT_USEC, what, ret_fd);
        if (r < 0)
                return log_error_errno(r, "Cannot lock lab %s: %m", lab);
        return 0;
}

ShimLive shim_live(const ShimContext *c, const char *name) {
        _cleanup_free_ char *dir = shim_run_path(c, name), *lock = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (!dir || access(dir, F_OK) < 0)
                return SHIM_LIVE_NONE;
        lock = path_join(dir, SHIM_LOCK_NAME);
        if (!lock)
                return SHIM_LIVE_NONE;
        fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return access(dir, F_OK) < 0 ? SHIM_LIVE_NONE : SHIM_LIVE_STALE;
        if (flock(fd, LOCK_SH | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? SHIM_LIVE_RUNNING : SHIM_LIVE_STALE;
        return access(dir, F_OK) < 0 ? SHIM_LIVE_NONE : SHIM_LIVE_STALE;
}

int shim_wait_gone(const ShimContext *c, const char *name, uint64_t timeout_usec) {
        _cleanup_free_ char *dir = shim_run_path(c, name), *lock = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t start = now_usec(CLOCK_MONOTONIC), wait = 500;

        if (!dir)
                return -ENOMEM;
        lock = path_join(dir, SHIM_LOCK_NAME);
        if (!lock)
                return -ENOMEM;
        fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return 0;
        while (flock(fd, LOCK_SH | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return -errno;
                if (now_usec(CLOCK_MONOTONIC) - start >= timeout_usec)
                        return -ETIMEDOUT;
                (void) nanosleep(&(struct timespec){ .tv_nsec = (long) wait * 1000 }, NULL);
                wait = MIN(wait * 2, 20000u);
        }
        return 0;
}

char *shim_strerror_msg(int error, char *msg) {
        if (msg)
                return msg;
        return strdup(strerror(ERRNO_VALUE(error)));
}

/* ---------------------------------------------------------------- limits */

int shim_parse_cpus(const char *s, uint64_t *ret_milli) {
        uint64_t whole = 0, frac = 0, scale = 1000;
        const char *p = s;

        if (isempty(s))
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                whole = whole * 10 + (uint64_t) (*p - '0');
                if (whole > 1000000)
                        return -ERANGE;
        }
        if (*p == '.') {
                p++;
                for (; *p >= '0' && *p <= '9'; p++) {
                        if (scale > 1) {
                                scale /= 10;
                                frac += (uint64_t) (*p - '0') * scale;
                        }
                }
        }
        if (*p || p == s)
                return -EINVAL;
        *ret_milli = whole * 1000 + frac;
        return 0;
}

static uint64_t host_memory(void) {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        return pages > 0 && size > 0 ? (uint64_t) pages * (uint64_t) size : 0;
}

int shim_limits_check(const ShimLimits *l) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        uint64_t mem = host_memory();
        _cleanup_free_ char *pid_max = NULL;
        uint64_t pm = 4194304;

        if (l->cpus_milli > 0 && l->cpus_milli < 10)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--cpus must be at least 0.01");
        if (cpus > 0 && l->cpus_milli > (uint64_t) cpus * 1000)
                return log_error_errno(
                                SYNTHETIC_ERRNO(ERANGE),
                                "--cpus %" PRIu64 ".%03" PRIu64 ": this host has only %ld CPU%s",
                                l->cpus_milli / 1000, l->cpus_milli % 1000, cpus, cpus == 1 ? "" : "s");
        if (l->memory > 0 && l->memory < (6ULL << 20))
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "--memory %" PRIu64 " bytes is too little for an instance (at least 6 MiB)",
                                l->memory);
        if (mem > 0 && l->memory > mem)
                return log_error_errno(
                                SYNTHETIC_ERRNO(ERANGE),
                                "--memory %" PRIu64 " MiB: this host has only %" PRIu64 " MiB",
                                l->memory >> 20, mem >> 20);
        if (read_one_line_at(AT_FDCWD, "/proc/sys/kernel/pid_max", &pid_max) >= 0)
                (void) safe_atou64(pid_max, &pm);
        if (l->pids > pm)
                return log_error_errno(
                                SYNTHETIC_ERRNO(ERANGE),
                                "--pids %" PRIu64 ": this host allows at most %" PRIu64 " processes",
                                l->pids, pm);
        return 0;
}
