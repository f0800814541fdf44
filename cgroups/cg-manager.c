/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layout-independent half of the manager: path rules, creating and
 * removing directories (and remembering which ones are ours), joining,
 * listing and signalling processes, persisting state. Resource knobs,
 * freezing and statistics go through the backend ops table (cg-v2.c for
 * unified hosts, cg-v1.c for hybrid and legacy ones).
 */
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "cg-internal.h"

static int normalize_path(const char *path, char **ret) {
        size_t len;
        char *s, *o;

        if (isempty(path) || path[0] != '/')
                return -EINVAL;
        len = strlen(path);
        if (len >= 2048 || !path_is_safe(path))
                return -EINVAL;
        s = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        o = s;
        for (const char *p = path; *p;) {
                size_t n;
                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (n == 1 && p[0] == '.') {
                        free(s);
                        return -EINVAL;
                }
                *o++ = '/';
                memcpy(o, p, n);
                o += n;
                p += n;
        }
        *o = 0;
        if (o == s) { /* "/" itself: the root cgroup is the host's, never a container's */
                free(s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

static unsigned path_depth(const char *path) {
        unsigned n = 0;
        for (const char *p = path; *p; p++)
                n += *p == '/';
        return n;
}

int cg_manager_new(const char *path, CgManager **ret) {
        _cleanup_(cg_manager_freep) CgManager *m = NULL;
        int r;

        if (!path || !ret)
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        r = normalize_path(path, &m->path);
        if (r < 0)
                return r;
        r = cg_host_get(&m->host);
        if (r < 0)
                return r;
        m->backend = m->host->layout == CG_LAYOUT_UNIFIED ? &cg_backend_v2 : &cg_backend_v1;
        m->created = calloc(m->host->n_hier ?: 1, sizeof(unsigned));
        if (!m->created)
                return -ENOMEM;
        *ret = TAKE_PTR(m);
        return 0;
}

CgManager *cg_manager_free(CgManager *m) {
        if (!m)
                return NULL;
        free(m->path);
        free(m->created);
        free(m->error);
        free(m);
        return NULL;
}

const char *cg_manager_path(const CgManager *m) {
        return m ? m->path : NULL;
}

const char *cg_manager_error(const CgManager *m) {
        return m ? m->error : NULL;
}

static void clear_error(CgManager *m) {
        m->error = cg_mfree(m->error);
}

/* The directory of the k-th trailing ancestor of the cgroup in hierarchy i (k = 0: the cgroup itself). */
static char *ancestor_dir(const CgManager *m, size_t i, unsigned k) {
        char *d = cg_dir(m, i);
        for (unsigned j = 0; d && j < k; j++) {
                char *slash = strrchr(d, '/');
                if (slash)
                        *slash = 0;
        }
        return d;
}

/* Remove the last `count` components of the cgroup in hierarchy i, deepest first. */
static int remove_created(CgManager *m, size_t i, unsigned count, bool leaf_recursive) {
        for (unsigned k = 0; k < count; k++) {
                _cleanup_free_ char *d = ancestor_dir(m, i, k);
                int r;
                if (!d)
                        return -ENOMEM;
                if (k == 0 && leaf_recursive)
                        r = cg_rmdir_recursive(d);
                else
                        r = RET_NERRNO(rmdir(d));
                if (r == -ENOENT)
                        r = 0;
                if (r < 0 && k > 0 && (r == -EBUSY || r == -ENOTEMPTY)) {
                        /* An ancestor we created now holds someone else's cgroup: leave it to them. */
                        m->created[i] = 0;
                        return 0;
                }
                if (r < 0)
                        return r;
                m->created[i] = count - k - 1;
        }
        return 0;
}

static int mkdir_hierarchy(CgManager *m, size_t i, unsigned *ret_created) {
        _cleanup_free_ char *d = cg_dir(m, i);
        unsigned depth = path_depth(m->path), k = 0, created = 0;
        size_t base;

        if (!d)
                return -ENOMEM;
        /* Usually the parent exists: one mkdir. */
        if (mkdir(d, 0755) == 0) {
                *ret_created = 1;
                return 0;
        }
        if (errno == EEXIST) {
                struct stat st;
                *ret_created = 0;
                return stat(d, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        }
        if (errno != ENOENT) {
                *ret_created = 0;
                return -errno;
        }
        base = strlen(d) - strlen(m->path);
        for (char *s = d + base + 1;; s++) {
                bool last = *s == 0;
                if (*s != '/' && !last)
                        continue;
                *s = 0;
                k++;
                if (mkdir(d, 0755) == 0) {
                        if (created == 0)
                                created = depth - k + 1; /* this one and everything below it are ours */
                } else if (errno != EEXIST) {
                        *ret_created = created;
                        return -errno;
                } else {
                        struct stat st;
                        if (stat(d, &st) < 0 || !S_ISDIR(st.st_mode)) {
                                *ret_created = created;
                                return -ENOTDIR;
                        }
                }
                if (last)
                        break;
                *s = '/';
        }
        *ret_created = created;
        return 0;
}

int cg_manager_create(CgManager *m) {
        _cleanup_free_ unsigned *now = NULL, *saved = NULL;
        bool any = false;
        size_t i;
        int r;

        clear_error(m);
        now = calloc(m->host->n_hier, sizeof(unsigned));
        saved = malloc(m->host->n_hier * sizeof(unsigned));
        if (!now || !saved)
                return -ENOMEM;
        memcpy(saved, m->created, m->host->n_hier * sizeof(unsigned));

        for (i = 0; i < m->host->n_hier; i++) {
                r = mkdir_hierarchy(m, i, &now[i]);
                if (r < 0) {
                        cg_fail(m, r, "cannot create cgroup %s in hierarchy '%s': %s", m->path,
                                m->host->hier[i].name, strerror(-r));
                        i++;
                        goto err_rmdir;
                }
                if (now[i] > m->created[i])
                        m->created[i] = now[i];
                any = any || now[i] > 0;
        }
        r = m->backend->post_create(m, any);
        if (r < 0)
                goto err_rmdir;
        return 0;

err_rmdir:
        /* Undo only what this call created. */
        while (i-- > 0) {
                if (now[i] > 0)
                        (void) remove_created(m, i, now[i], false);
                m->created[i] = saved[i];
        }
        return r;
}

int cg_manager_enter(CgManager *m, pid_t pid) {
        char buf[24];

        if (pid < 0)
                return -EINVAL;
        clear_error(m);
        snprintf(buf, sizeof buf, "%d", (int) pid);
        for (size_t i = 0; i < m->host->n_hier; i++) {
                _cleanup_free_ char *d = cg_dir(m, i);
                int r;
                if (!d)
                        return -ENOMEM;
                r = cg_write(d, "cgroup.procs", buf);
                if (r == -ENOSPC && (m->host->hier[i].controllers & CG_MASK(CG_CTRL_CPUSET)))
                        return cg_fail(m, r,
                                       "cannot move pid %s into %s: its cpuset.cpus or cpuset.mems is empty",
                                       buf, d);
                if (r < 0)
                        return cg_fail(m, r, "cannot move pid %s into %s: %s", buf, d, strerror(-r));
        }
        return 0;
}

/*
 * Moving a whole process (cgroup.procs, or any pid but our own) takes the
 * kernel's global cgroup_threadgroup_rwsem for writing, whose first use in a
 * burst waits for an RCU grace period: about 7 ms on our 2-CPU VMs, most of a
 * container start. A single-threaded process writing "0" to a v1 "tasks"
 * file moves its only thread without that lock (cgroup_procs_write_start()
 * skips it for the current thread). cgroup2 has no such path, so the v2 part
 * joins at clone time with CLONE_INTO_CGROUP (cg_manager_open_v2()).
 */
int cg_manager_enter_self(CgManager *m, bool skip_v2) {
        clear_error(m);
        for (size_t i = 0; i < m->host->n_hier; i++) {
                const CgHierarchy *h = &m->host->hier[i];
                _cleanup_free_ char *d = NULL;
                int r;

                if (h->v2 && skip_v2)
                        continue;
                d = cg_dir(m, i);
                if (!d)
                        return -ENOMEM;
                r = cg_write(d, h->v2 ? "cgroup.procs" : "tasks", "0");
                if (r == -ENOSPC && (h->controllers & CG_MASK(CG_CTRL_CPUSET)))
                        return cg_fail(m, r, "cannot enter %s: its cpuset.cpus or cpuset.mems is empty", d);
                if (r < 0)
                        return cg_fail(m, r, "cannot enter %s: %s", d, strerror(-r));
        }
        return 0;
}

int cg_manager_open_v2(CgManager *m, int *ret_fd) {
        _cleanup_free_ char *d = NULL;
        int i = cg_host_find_v2(m->host), fd;

        if (i < 0)
                return -EOPNOTSUPP;
        d = cg_dir(m, (size_t) i);
        if (!d)
                return -ENOMEM;
        fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

int cg_manager_open_unified(CgManager *m, int *ret_fd) {
        _cleanup_free_ char *d = NULL;
        int fd;

        if (m->host->layout != CG_LAYOUT_UNIFIED)
                return -EOPNOTSUPP;
        d = cg_dir(m, 0);
        if (!d)
                return -ENOMEM;
        fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

static const char *hier_key(const CgHierarchy *h) {
        return *h->name ? h->name : "/";
}

int cg_manager_save(const CgManager *m, char **ret) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        int r;

        r = json_writer_new(false, &w);
        if (r < 0)
                return r;
        jw_object_open(w);
        jw_key(w, "path");
        jw_string(w, m->path);
        jw_key(w, "layout");
        jw_string(w, cg_layout_to_string(m->host->layout));
        jw_key(w, "created");
        jw_object_open(w);
        for (size_t i = 0; i < m->host->n_hier; i++)
                if (m->created[i] > 0) {
                        jw_key(w, hier_key(&m->host->hier[i]));
                        jw_uint(w, m->created[i]);
                }
        jw_object_close(w);
        jw_object_close(w);
        return json_writer_finish(w, ret, NULL);
}

int cg_manager_load(const char *saved, CgManager **ret) {
        _cleanup_(cg_manager_freep) CgManager *m = NULL;
        _cleanup_(json_freep) JsonVal v = NULL;
        _cleanup_free_ char *path = NULL, *msg = NULL;
        JsonVal created;
        int r;

        if (!saved || !ret)
                return -EINVAL;
        r = json_parse(saved, strlen(saved), &v, &msg);
        if (r < 0)
                return -EINVAL;
        r = json_want_string(json_get(v, "path"), "path", &path, &msg);
        if (r < 0)
                return -EINVAL;
        r = cg_manager_new(path, &m);
        if (r < 0)
                return r;
        created = json_get(v, "created");
        if (created && !YAJL_IS_OBJECT(created))
                return -EINVAL;
        for (size_t k = 0; created && k < created->u.object.len; k++) {
                const char *key = created->u.object.keys[k];
                uint64_t n;
                r = json_want_uint64(created->u.object.values[k], "created", path_depth(m->path), &n, &msg);
                if (r < 0)
                        return -EINVAL;
                /* Hierarchies that vanished since (another boot) are skipped. */
                for (size_t i = 0; i < m->host->n_hier; i++)
                        if (streq(hier_key(&m->host->hier[i]), key))
                                m->created[i] = (unsigned) n;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

void cg_resources_done(CgResources *r) {
        if (!r)
                return;
        free(r->cpuset_cpus);
        free(r->cpuset_mems);
        free(r->blkio_weight_device);
        free(r->throttle_read_bps);
        free(r->throttle_write_bps);
        free(r->throttle_read_iops);
        free(r->throttle_write_iops);
        for (size_t i = 0; i < r->n_hugetlb; i++)
                free(r->hugetlb[i].page_size);
        free(r->hugetlb);
        for (size_t i = 0; i < r->n_rdma; i++) {
                free(r->rdma[i].key);
                free(r->rdma[i].value);
        }
        free(r->rdma);
        for (size_t i = 0; i < r->n_unified; i++) {
                free(r->unified[i].key);
                free(r->unified[i].value);
        }
        free(r->unified);
        free(r->devices);
        *r = (CgResources){};
}

/* Checks that do not depend on the layout, so bad input fails before anything is written. */
static int validate_resources(CgManager *m, const CgResources *r) {
        if (r->n_devices > CG_BPF_MAX_RULES)
                return cg_fail(m, -E2BIG, "too many device rules (%zu, at most %d)", r->n_devices,
                               CG_BPF_MAX_RULES);
        for (size_t i = 0; i < r->n_devices; i++)
                if (cg_device_rule_valid(&r->devices[i]) < 0)
                        return cg_fail(m, -EINVAL, "device rule %zu is invalid (type '%c', access '%.4s')",
                                       i, r->devices[i].type ?: '?', r->devices[i].access);
        for (size_t i = 0; i < r->n_unified; i++) {
                int q = cg_unified_key_valid(r->unified[i].key);
                if (q < 0)
                        return cg_fail(m, -EINVAL, "unified key '%s' is not a cgroup v2 knob we may write",
                                       r->unified[i].key ?: "");
                if (!cg_value_valid(r->unified[i].value))
                        return cg_fail(m, -EINVAL, "unified value for '%s' must be one line",
                                       r->unified[i].key);
        }
        for (size_t i = 0; i < r->n_rdma; i++)
                if (isempty(r->rdma[i].key) || strpbrk(r->rdma[i].key, " \n/") ||
                    !cg_value_valid(r->rdma[i].value))
                        return cg_fail(m, -EINVAL, "rdma entry %zu is invalid", i);
        for (size_t i = 0; i < r->n_hugetlb; i++) {
                const char *p = r->hugetlb[i].page_size;
                if (isempty(p) || strlen(p) > 16 || strspn(p, "0123456789KMGB") != strlen(p))
                        return cg_fail(m, -EINVAL, "hugetlb page size '%s' is invalid", p ?: "");
        }
        if ((r->cpuset_cpus && !cg_value_valid(r->cpuset_cpus)) ||
            (r->cpuset_mems && !cg_value_valid(r->cpuset_mems)))
                return cg_fail(m, -EINVAL, "cpuset values must be one line");
        if (r->memory_swappiness.set && r->memory_swappiness.v > 100 && r->memory_swappiness.v != UINT64_MAX)
                return cg_fail(m, -EINVAL, "memory swappiness %" PRIu64 " is not in [0, 100]",
                               r->memory_swappiness.v);
        return 0;
}

int cg_manager_apply(CgManager *m, const CgResources *r) {
        int q;

        if (!m || !r)
                return -EINVAL;
        clear_error(m);
        q = validate_resources(m, r);
        if (q < 0)
                return q;
        return m->backend->apply(m, r);
}

int cg_manager_freeze(CgManager *m, bool frozen) {
        clear_error(m);
        return m->backend->freeze(m, frozen);
}

int cg_manager_is_frozen(CgManager *m) {
        clear_error(m);
        return m->backend->is_frozen(m);
}

int cg_manager_pids(CgManager *m, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r;

        /* v1: the union over all hierarchies, so a process that joined only some of them (a failed enter) is
         * still found, killed and waited for. */
        for (size_t i = 0; i < m->host->n_hier; i++) {
                _cleanup_free_ char *d = cg_dir(m, i);
                if (!d)
                        return -ENOMEM;
                r = cg_read_pids_recursive(d, &pids, &n);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

static int signal_pids(CgManager *m, int sig) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = cg_manager_pids(m, &pids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (kill(pids[i], sig) < 0 && errno != ESRCH)
                        return -errno;
        return 0;
}

int cg_manager_kill(CgManager *m, int sig) {
        int v2 = cg_host_find_v2(m->host);

        if (sig < 0 || sig >= _NSIG)
                return -EINVAL;
        clear_error(m);
        if (sig == SIGKILL && v2 >= 0) {
                /* cgroup.kill (Linux 5.14) kills race-free, forks included, frozen or not. */
                _cleanup_free_ char *d = cg_dir(m, (size_t) v2);
                if (!d)
                        return -ENOMEM;
                if (!m->host->fake && cg_write(d, "cgroup.kill", "1") >= 0 &&
                    m->host->layout == CG_LAYOUT_UNIFIED)
                        return 0;
        }
        /* Repeat for processes forked while we read the list, a few rounds. */
        for (int round = 0; round < (sig == SIGKILL ? 3 : 1); round++) {
                int r = signal_pids(m, sig);
                if (r < 0)
                        return cg_fail(m, r, "cannot signal the processes of %s: %s", m->path, strerror(-r));
        }
        return 0;
}

static int remove_all(CgManager *m) {
        int ret = 0;
        for (size_t i = 0; i < m->host->n_hier; i++) {
                int r;
                if (m->created[i] == 0)
                        continue;
                r = remove_created(m, i, m->created[i], true);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

int cg_manager_destroy(CgManager *m, uint64_t timeout_usec) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_usec, wait = 100;
        int r;

        clear_error(m);
        for (;;) {
                r = remove_all(m);
                if (r >= 0)
                        return 0;
                if (r != -EBUSY && r != -ENOTEMPTY)
                        return cg_fail(m, r, "cannot remove cgroup %s: %s", m->path, strerror(-r));
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        return cg_fail(m, -EBUSY, "cgroup %s still busy after %" PRIu64 " ms", m->path,
                                       timeout_usec / 1000);
                /* Stragglers: kill them, thaw so frozen ones can die (v1 freezer), retry. */
                (void) cg_manager_kill(m, SIGKILL);
                (void) m->backend->freeze(m, false);
                cg_sleep_usec(wait);
                wait = MIN(wait * 2, 50000u);
        }
}

int cg_manager_stats(CgManager *m, CgStats *ret) {
        CgStats s = {};
        int r;

        clear_error(m);
        r = m->backend->stats(m, &s);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}
