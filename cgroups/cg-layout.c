/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "cg-internal.h"

static const char *const controller_names[_CG_CTRL_MAX] = {
        [CG_CTRL_CPU] = "cpu",
        [CG_CTRL_CPUACCT] = "cpuacct",
        [CG_CTRL_CPUSET] = "cpuset",
        [CG_CTRL_MEMORY] = "memory",
        [CG_CTRL_DEVICES] = "devices",
        [CG_CTRL_FREEZER] = "freezer",
        [CG_CTRL_BLKIO] = "blkio",
        [CG_CTRL_IO] = "io",
        [CG_CTRL_PIDS] = "pids",
        [CG_CTRL_HUGETLB] = "hugetlb",
        [CG_CTRL_RDMA] = "rdma",
        [CG_CTRL_MISC] = "misc",
        [CG_CTRL_NET_CLS] = "net_cls",
        [CG_CTRL_NET_PRIO] = "net_prio",
        [CG_CTRL_PERF_EVENT] = "perf_event",
};

const char *cg_controller_to_string(CgController c) {
        return c >= 0 && c < _CG_CTRL_MAX ? controller_names[c] : NULL;
}

CgController cg_controller_from_string(const char *s) {
        for (CgController c = 0; c < _CG_CTRL_MAX; c++)
                if (streq(controller_names[c], s))
                        return c;
        return _CG_CTRL_INVALID;
}

static const char *const layout_names[_CG_LAYOUT_MAX] = {
        [CG_LAYOUT_UNIFIED] = "unified",
        [CG_LAYOUT_HYBRID] = "hybrid",
        [CG_LAYOUT_LEGACY] = "legacy",
};

const char *cg_layout_to_string(CgLayout l) {
        return l >= 0 && l < _CG_LAYOUT_MAX ? layout_names[l] : NULL;
}

/* A space- or comma-separated controller list ("cpu io memory", "cpu,cpuacct") to a mask; unknown names are skipped. */
static uint32_t controllers_from_list(const char *list) {
        uint32_t mask = 0;
        const char *p = list;

        while (*p) {
                size_t l = strcspn(p, " ,\n\t");
                if (l > 0 && l < 32) {
                        char word[32];
                        memcpy(word, p, l);
                        word[l] = 0;
                        CgController c = cg_controller_from_string(word);
                        if (c >= 0)
                                mask |= CG_MASK(c);
                }
                p += l;
                p += strspn(p, " ,\n\t");
        }
        return mask;
}

static int v2_controllers(const char *dir, uint32_t *ret) {
        _cleanup_free_ char *s = NULL;
        int r = cg_read(dir, "cgroup.controllers", &s);
        if (r < 0)
                return r;
        *ret = controllers_from_list(s);
        return 0;
}

CgHost *cg_host_free(CgHost *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_hier; i++)
                free(h->hier[i].name);
        free(h->hier);
        free(h->root);
        free(h);
        return NULL;
}

static int host_add(CgHost *h, const char *name, bool v2, uint32_t controllers) {
        CgHierarchy *n = realloc(h->hier, sizeof(CgHierarchy) * (h->n_hier + 1));
        if (!n)
                return -ENOMEM;
        h->hier = n;
        n[h->n_hier] = (CgHierarchy){ .name = strdup(name), .v2 = v2, .controllers = controllers };
        if (!n[h->n_hier].name)
                return -ENOMEM;
        h->n_hier++;
        return 0;
}

static int hier_cmp(const void *a, const void *b) {
        const CgHierarchy *x = a, *y = b;
        /* v1 hierarchies first (joined first, as runc does), then the cgroup2 mount. */
        if (x->v2 != y->v2)
                return x->v2 ? 1 : -1;
        return strcmp(x->name, y->name);
}

/* Classify root/name: 1 = v1 hierarchy, 2 = cgroup2, 0 = something else. */
static int classify(const char *root, const char *name, bool check_fs) {
        _cleanup_free_ char *p = path_join(root, name);
        struct statfs sfs;

        if (!p)
                return -ENOMEM;
        if (!check_fs)
                return cg_knob_exists(p, "cgroup.controllers") ? 2 : 1;
        if (statfs(p, &sfs) < 0)
                return 0;
        if (sfs.f_type == CGROUP2_SUPER_MAGIC)
                return 2;
        if (sfs.f_type == CGROUP_SUPER_MAGIC)
                return 1;
        return 0;
}

static int scan_hierarchies(CgHost *h, bool check_fs) {
        _cleanup_(cg_closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        d = opendir(h->root);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                uint32_t mask = 0;
                if (de->d_name[0] == '.' || de->d_type != DT_DIR)
                        continue; /* symlinks like cpu -> cpu,cpuacct name a hierarchy listed anyway */
                r = classify(h->root, de->d_name, check_fs);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (r == 2) {
                        _cleanup_free_ char *p = path_join(h->root, de->d_name);
                        if (!p)
                                return -ENOMEM;
                        (void) v2_controllers(p, &mask);
                } else
                        mask = controllers_from_list(de->d_name);
                r = host_add(h, de->d_name, r == 2, mask);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cg_host_detect(const char *root, bool check_fs, CgHost **ret) {
        _cleanup_(cg_host_freep) CgHost *h = NULL;
        size_t n_v2 = 0;
        int r;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->root = strdup(root);
        if (!h->root)
                return -ENOMEM;
        for (size_t l = strlen(h->root); l > 1 && h->root[l - 1] == '/'; l--)
                h->root[l - 1] = 0;
        h->fake = !check_fs;

        r = classify(root, "", check_fs);
        if (r < 0)
                return r;
        if (r == 2 && (check_fs || cg_knob_exists(root, "cgroup.controllers"))) {
                uint32_t mask = 0;
                (void) v2_controllers(root, &mask);
                r = host_add(h, "", true, mask);
                if (r < 0)
                        return r;
                h->layout = CG_LAYOUT_UNIFIED;
                *ret = TAKE_PTR(h);
                return 0;
        }

        r = scan_hierarchies(h, check_fs);
        if (r < 0)
                return r;
        if (h->n_hier == 0)
                return -ENOMEDIUM;
        qsort(h->hier, h->n_hier, sizeof(CgHierarchy), hier_cmp);
        for (size_t i = 0; i < h->n_hier; i++)
                n_v2 += h->hier[i].v2;
        if (n_v2 > 1)
                return -EINVAL; /* two cgroup2 mounts below the root: not a layout we understand */
        h->layout = n_v2 ? CG_LAYOUT_HYBRID : CG_LAYOUT_LEGACY;
        *ret = TAKE_PTR(h);
        return 0;
}

static CgHost *cached_host;

int cg_host_get(const CgHost **ret) {
        if (!cached_host) {
                const char *root = getenv("AULA_CGROUP_ROOT");
                struct statfs sfs;
                bool check_fs = true;
                int r;

                if (isempty(root))
                        root = "/sys/fs/cgroup";
                else
                        /* An override is a fake tree of plain files, unless it is a real cgroup2 mount
                         * (tests use the hybrid host's /sys/fs/cgroup/unified as a unified root). */
                        check_fs = statfs(root, &sfs) >= 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
                r = cg_host_detect(root, check_fs, &cached_host);
                if (r < 0)
                        return log_debug_errno(r, "cg: cannot detect the cgroup layout below '%s': %m", root);
        }
        *ret = cached_host;
        return 0;
}

void cg_host_reset(void) {
        cached_host = cg_host_free(cached_host);
}

int cg_layout(CgLayout *ret) {
        const CgHost *h;
        int r = cg_host_get(&h);
        if (r < 0)
                return r;
        *ret = h->layout;
        return 0;
}

int cg_host_find(const CgHost *h, CgController c, bool allow_v2) {
        for (size_t i = 0; i < h->n_hier; i++)
                if (!h->hier[i].v2 && (h->hier[i].controllers & CG_MASK(c)))
                        return (int) i;
        if (allow_v2)
                for (size_t i = 0; i < h->n_hier; i++)
                        if (h->hier[i].v2 && (h->hier[i].controllers & CG_MASK(c)))
                                return (int) i;
        return -ENOENT;
}

int cg_host_find_v2(const CgHost *h) {
        for (size_t i = 0; i < h->n_hier; i++)
                if (h->hier[i].v2)
                        return (int) i;
        return -ENOENT;
}
