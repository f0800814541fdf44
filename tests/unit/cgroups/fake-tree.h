/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Fake cgroup trees for unit tests: plain directories and files below a
 * temporary directory, which $AULA_CGROUP_ROOT points the library at. A
 * "knob" is a plain file, so tests pre-create the knobs a kernel would
 * offer, call the library and read back what it wrote.
 */
#include <sys/stat.h>

#include "cg-internal.h"
#include "tap.h"

typedef struct FakeTree {
        char root[64];
} FakeTree;

static inline void fake_write(const char *dir, const char *file, const char *content) {
        _cleanup_free_ char *p = path_join(dir, file);
        _cleanup_free_ char *parent = NULL;
        int fd;
        ASSERT_NOT_NULL(p);
        parent = strndup(p, (size_t) (strrchr(p, '/') - p));
        ASSERT_OK(mkdir_p(parent, 0755));
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_OK(fd);
        ASSERT_OK(loop_write(fd, content, strlen(content)));
        close(fd);
}

/* The content of dir/file without its trailing newline (static buffer). */
static inline const char *fake_read(const char *dir, const char *file) {
        static char buf[4096];
        _cleanup_free_ char *p = path_join(dir, file), *s = NULL;
        if (read_full_file_at(AT_FDCWD, p, sizeof buf - 1, &s, NULL) < 0)
                return NULL;
        snprintf(buf, sizeof buf, "%s", s);
        buf[strcspn(buf, "\n")] = 0;
        return buf;
}

static inline bool fake_exists(const char *dir, const char *file) {
        _cleanup_free_ char *p = path_join(dir, file);
        return access(p, F_OK) == 0;
}

/* A fresh temporary root; the library is pointed at it and forgets any earlier layout. */
static inline void fake_tree_init(FakeTree *t) {
        snprintf(t->root, sizeof t->root, "/tmp/aula-test-cg.XXXXXX");
        ASSERT_NOT_NULL(mkdtemp(t->root));
        ASSERT_OK(setenv("AULA_CGROUP_ROOT", t->root, 1));
        cg_host_reset();
}

static inline void fake_tree_done(FakeTree *t) {
        (void) rm_rf_at(AT_FDCWD, t->root);
        cg_host_reset();
}

/* Knobs of a v2 cgroup with every controller enabled, at their kernel defaults. */
static inline void fake_v2_knobs(const char *d) {
        static const char *const knobs[][2] = {
                { "cgroup.procs", "" },
                { "cgroup.freeze", "0" },
                { "cgroup.events", "populated 0\nfrozen 0\n" },
                { "memory.max", "max" },
                { "memory.swap.max", "max" },
                { "memory.low", "0" },
                { "cpu.weight", "100" },
                { "cpu.max", "max 100000" },
                { "cpu.max.burst", "0" },
                { "cpu.idle", "0" },
                { "cpuset.cpus", "" },
                { "cpuset.mems", "" },
                { "pids.max", "max" },
                { "io.weight", "default 100" },
                { "io.max", "" },
                { "hugetlb.2MB.max", "max" },
                { "rdma.max", "" },
                { "memory.high", "max" },
        };
        for (size_t i = 0; i < ELEMENTSOF(knobs); i++)
                fake_write(d, knobs[i][0], knobs[i][1]);
}
