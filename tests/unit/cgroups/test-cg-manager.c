/* SPDX-License-Identifier: Apache-2.0 */
/* Layout detection, path rules, create/destroy ownership and save/load, on fake trees. */
#include "fake-tree.h"

static void make_unified(FakeTree *t) {
        fake_tree_init(t);
        fake_write(t->root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
        fake_write(t->root, "cgroup.subtree_control", "");
}

TEST(detect_unified) {
        FakeTree t;
        CgLayout l;
        const CgHost *h;

        make_unified(&t);
        ASSERT_OK(cg_layout(&l));
        ASSERT_EQ(l, CG_LAYOUT_UNIFIED);
        ASSERT_STREQ(cg_layout_to_string(l), "unified");
        ASSERT_OK(cg_host_get(&h));
        ASSERT_EQ(h->n_hier, 1u);
        ASSERT_TRUE(h->hier[0].v2);
        ASSERT_TRUE(h->hier[0].controllers & CG_MASK(CG_CTRL_MEMORY));
        ASSERT_TRUE(h->hier[0].controllers & CG_MASK(CG_CTRL_IO));
        ASSERT_FALSE(h->hier[0].controllers & CG_MASK(CG_CTRL_FREEZER));
        fake_tree_done(&t);
}

static void mkdirs(const char *root, const char *const *names, size_t n) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = path_join(root, names[i]);
                ASSERT_OK(mkdir_p(p, 0755));
        }
}

TEST(detect_hybrid) {
        static const char *const v1[] = { "blkio",  "cpu,cpuacct",      "cpuset", "devices", "freezer",
                                          "memory", "net_cls,net_prio", "pids",   "systemd" };
        FakeTree t;
        CgLayout l;
        const CgHost *h;
        int i;

        fake_tree_init(&t);
        mkdirs(t.root, v1, ELEMENTSOF(v1));
        fake_write(t.root, "unified/cgroup.controllers", "hugetlb\n");
        _cleanup_free_ char *link = path_join(t.root, "cpu");
        ASSERT_OK(symlink("cpu,cpuacct", link)); /* aliases are skipped, the real directory counts */
        ASSERT_OK(cg_layout(&l));
        ASSERT_EQ(l, CG_LAYOUT_HYBRID);
        ASSERT_OK(cg_host_get(&h));
        ASSERT_EQ(h->n_hier, ELEMENTSOF(v1) + 1);
        ASSERT_TRUE(h->hier[h->n_hier - 1].v2); /* cgroup2 last: joined after v1, as runc does */
        ASSERT_STREQ(h->hier[h->n_hier - 1].name, "unified");
        i = cg_host_find(h, CG_CTRL_CPUACCT, false);
        ASSERT_TRUE(i >= 0);
        ASSERT_STREQ(h->hier[i].name, "cpu,cpuacct");
        ASSERT_EQ(cg_host_find(h, CG_CTRL_CPU, false), i);
        ASSERT_ERROR(cg_host_find(h, CG_CTRL_HUGETLB, false), ENOENT);
        ASSERT_TRUE(cg_host_find(h, CG_CTRL_HUGETLB, true) == (int) h->n_hier - 1);
        ASSERT_ERROR(cg_host_find(h, CG_CTRL_RDMA, true), ENOENT);
        fake_tree_done(&t);
}

TEST(detect_legacy_and_empty) {
        static const char *const v1[] = { "memory", "pids" };
        FakeTree t;
        CgLayout l;

        fake_tree_init(&t);
        ASSERT_ERROR(cg_layout(&l), ENOMEDIUM); /* nothing there */
        cg_host_reset();
        mkdirs(t.root, v1, 2);
        ASSERT_OK(cg_layout(&l));
        ASSERT_EQ(l, CG_LAYOUT_LEGACY);
        fake_tree_done(&t);

        ASSERT_OK(setenv("AULA_CGROUP_ROOT", "/nonexistent/aula-cg", 1));
        cg_host_reset();
        ASSERT_ERROR(cg_layout(&l), ENOENT);
        ASSERT_NULL(cg_layout_to_string(_CG_LAYOUT_MAX));
        ASSERT_NULL(cg_layout_to_string(_CG_LAYOUT_INVALID));
}

TEST(paths) {
        FakeTree t;
        CgManager *m = NULL;

        make_unified(&t);
        ASSERT_ERROR(cg_manager_new("relative/path", &m), EINVAL);
        ASSERT_ERROR(cg_manager_new("", &m), EINVAL);
        ASSERT_ERROR(cg_manager_new(NULL, &m), EINVAL);
        ASSERT_ERROR(cg_manager_new("/", &m), EINVAL);
        ASSERT_ERROR(cg_manager_new("///", &m), EINVAL);
        ASSERT_ERROR(cg_manager_new("/a/../b", &m), EINVAL);
        ASSERT_ERROR(cg_manager_new("/..", &m), EINVAL);
        ASSERT_ERROR(cg_manager_new("/a/./b", &m), EINVAL);
        ASSERT_NULL(m);
        ASSERT_OK(cg_manager_new("//aula///lab1/ana/", &m));
        ASSERT_STREQ(cg_manager_path(m), "/aula/lab1/ana");
        m = cg_manager_free(m);
        ASSERT_NULL(cg_manager_free(NULL));
        ASSERT_NULL(cg_manager_path(NULL));
        ASSERT_OK(cg_manager_new("/a..b/c.d", &m)); /* dots inside names are fine */
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(create_and_destroy_only_what_was_created) {
        _cleanup_free_ char *lab = NULL, *ana = NULL, *nested = NULL;
        FakeTree t;
        CgManager *m = NULL;

        make_unified(&t);
        lab = path_join(t.root, "aula/lab1");
        ASSERT_OK(mkdir_p(lab, 0755)); /* someone else's */
        ASSERT_OK(cg_manager_new("/aula/lab1/ana/x", &m));
        ASSERT_OK(cg_manager_create(m));
        ASSERT_OK(cg_manager_create(m)); /* joining an existing cgroup is fine */
        ana = path_join(t.root, "aula/lab1/ana/x");
        ASSERT_TRUE(access(ana, F_OK) == 0);
        /* a nested cgroup the container made inside its own */
        nested = path_join(ana, "inner/deeper");
        ASSERT_OK(mkdir_p(nested, 0755));
        fake_v2_knobs(ana);
        ASSERT_OK(cg_manager_destroy(m, 100000));
        ASSERT_FALSE(access(ana, F_OK) == 0);
        _cleanup_free_ char *ana_dir = path_join(t.root, "aula/lab1/ana");
        ASSERT_FALSE(access(ana_dir, F_OK) == 0);
        ASSERT_TRUE(access(lab, F_OK) == 0);
        ASSERT_OK(cg_manager_destroy(m, 100000)); /* twice is fine */
        cg_manager_free(m);

        /* a manager that created nothing removes nothing */
        ASSERT_OK(cg_manager_new("/aula/lab1", &m));
        ASSERT_OK(cg_manager_create(m));
        ASSERT_OK(cg_manager_destroy(m, 100000));
        ASSERT_TRUE(access(lab, F_OK) == 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(create_fails_cleanly) {
        FakeTree t;
        CgManager *m = NULL;

        make_unified(&t);
        fake_write(t.root, "aula/file", "x"); /* a file where a directory should go */
        ASSERT_OK(cg_manager_new("/aula/file/ana", &m));
        ASSERT_ERROR(cg_manager_create(m), ENOTDIR);
        ASSERT_STRCONTAINS(cg_manager_error(m), "cannot create cgroup /aula/file/ana");
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(create_undoes_partial_hybrid) {
        static const char *const v1[] = { "cpu", "memory", "pids" };
        _cleanup_free_ char *cpu = NULL, *mem = NULL;
        FakeTree t;
        CgManager *m = NULL;

        fake_tree_init(&t);
        mkdirs(t.root, v1, 3);
        fake_write(t.root, "unified/cgroup.controllers", "");
        fake_write(t.root, "pids/aula", "blocker"); /* pids hierarchy cannot hold /aula/x */
        ASSERT_OK(cg_manager_new("/aula/x", &m));
        ASSERT_ERROR(cg_manager_create(m), ENOTDIR);
        /* what this call created in the other hierarchies is gone again */
        cpu = path_join(t.root, "cpu/aula");
        mem = path_join(t.root, "memory/aula");
        ASSERT_FALSE(access(cpu, F_OK) == 0);
        ASSERT_FALSE(access(mem, F_OK) == 0);
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(save_and_load) {
        FakeTree t;
        CgManager *m = NULL, *m2 = NULL;
        _cleanup_free_ char *s = NULL, *s2 = NULL, *dir = NULL;

        make_unified(&t);
        dir = path_join(t.root, "aula");
        ASSERT_OK(mkdir_p(dir, 0755));
        ASSERT_OK(cg_manager_new("/aula/lab/ana", &m));
        ASSERT_OK(cg_manager_create(m));
        ASSERT_OK(cg_manager_save(m, &s));
        ASSERT_STRCONTAINS(s, "\"path\":\"/aula/lab/ana\"");
        ASSERT_STRCONTAINS(s, "\"/\":2");
        ASSERT_OK(cg_manager_load(s, &m2));
        ASSERT_STREQ(cg_manager_path(m2), "/aula/lab/ana");
        ASSERT_OK(cg_manager_save(m2, &s2));
        ASSERT_STREQ(s, s2);
        /* the loaded manager removes what the first one created, and only that */
        ASSERT_OK(cg_manager_destroy(m2, 100000));
        _cleanup_free_ char *lab = path_join(t.root, "aula/lab");
        ASSERT_FALSE(access(lab, F_OK) == 0);
        ASSERT_TRUE(access(dir, F_OK) == 0);
        cg_manager_free(m);
        cg_manager_free(m2);
        fake_tree_done(&t);
}

TEST(load_rejects_bad_state) {
        FakeTree t;
        CgManager *m = NULL;

        make_unified(&t);
        ASSERT_ERROR(cg_manager_load("", &m), EINVAL);
        ASSERT_ERROR(cg_manager_load("{", &m), EINVAL);
        ASSERT_ERROR(cg_manager_load("[]", &m), EINVAL);
        ASSERT_ERROR(cg_manager_load("{\"path\":5}", &m), EINVAL);
        ASSERT_ERROR(cg_manager_load("{\"path\":\"rel\"}", &m), EINVAL);
        ASSERT_ERROR(cg_manager_load("{\"path\":\"/a/../b\"}", &m), EINVAL);
        ASSERT_ERROR(cg_manager_load("{\"path\":\"/a\",\"created\":[]}", &m), EINVAL);
        ASSERT_ERROR(cg_manager_load("{\"path\":\"/a\",\"created\":{\"/\":\"x\"}}", &m), EINVAL);
        ASSERT_ERROR(cg_manager_load("{\"path\":\"/a\",\"created\":{\"/\":2}}", &m),
                     EINVAL); /* deeper than path */
        ASSERT_ERROR(cg_manager_load("{\"path\":\"/a\",\"created\":{\"/\":-1}}", &m), EINVAL);
        ASSERT_ERROR(cg_manager_load(NULL, &m), EINVAL);
        ASSERT_NULL(m);
        /* unknown hierarchies (another boot) are skipped */
        ASSERT_OK(cg_manager_load("{\"path\":\"/a\",\"created\":{\"memory\":1}}", &m));
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(enable_controllers_up_the_tree) {
        FakeTree t;
        CgManager *m = NULL;
        _cleanup_free_ char *mid = NULL;

        make_unified(&t);
        mid = path_join(t.root, "aula");
        fake_write(mid, "cgroup.controllers", "cpu memory pids");
        fake_write(mid, "cgroup.subtree_control", "memory");
        ASSERT_OK(cg_manager_new("/aula/x", &m));
        ASSERT_OK(cg_manager_create(m));
        /* a plain file keeps the last write: the last controller enabled, in mask order, and never one
         * already enabled or unavailable */
        ASSERT_STREQ(fake_read(t.root, "cgroup.subtree_control"), "+misc");
        ASSERT_STREQ(fake_read(mid, "cgroup.subtree_control"), "+pids");
        cg_manager_free(m);
        fake_tree_done(&t);
}

TEST(open_unified) {
        FakeTree t;
        CgManager *m = NULL;
        int fd = -1;

        make_unified(&t);
        ASSERT_OK(cg_manager_new("/aula/x", &m));
        ASSERT_ERROR(cg_manager_open_unified(m, &fd), ENOENT);
        ASSERT_OK(cg_manager_create(m));
        ASSERT_OK(cg_manager_open_unified(m, &fd));
        ASSERT_TRUE(fd >= 0);
        close(fd);
        cg_manager_free(m);
        fake_tree_done(&t);
}
