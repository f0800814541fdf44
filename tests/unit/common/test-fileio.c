/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/stat.h>

#include "common.h"
#include "tap.h"

static char tmpdir[] = "/tmp/aula-test-fileio.XXXXXX";

static void make_tmp(void) {
        if (!mkdtemp(tmpdir))
                tap_fail(__FILE__, __LINE__, "mkdtemp: %m");
}

TEST(atomic_write_and_read) {
        _cleanup_close_ int d = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        struct stat st;

        make_tmp();
        d = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_OK(d);
        ASSERT_OK(write_file_atomic_at(d, "state.json", "{}", 2, 0600));
        ASSERT_OK(write_file_atomic_at(d, "state.json", "{\"a\":1}", 7, 0640));
        ASSERT_OK(read_full_file_at(d, "state.json", 1024, &buf, &len));
        ASSERT_STREQ(buf, "{\"a\":1}");
        ASSERT_EQ(len, 7u);
        ASSERT_OK(fstatat(d, "state.json", &st, 0));
        ASSERT_EQ(st.st_mode & 0777, 0640u);
        ASSERT_ERROR(read_full_file_at(d, "state.json", 3, &buf, &len), EFBIG);
        ASSERT_ERROR(read_full_file_at(d, "nope", 3, &buf, &len), ENOENT);
        ASSERT_OK(rm_rf_at(AT_FDCWD, tmpdir));
}

TEST(mkdir_p_and_rm_rf) {
        _cleanup_free_ char *deep = NULL, *file = NULL;
        make_tmp();
        deep = path_join(tmpdir, "a/b/c");
        ASSERT_OK(mkdir_p(deep, 0755));
        ASSERT_OK(mkdir_p(deep, 0755));
        file = path_join(tmpdir, "a/f");
        ASSERT_OK(write_file_atomic_at(AT_FDCWD, file, "x", 1, 0600));
        ASSERT_OK(symlinkat("/etc", AT_FDCWD, deep) < 0 ? 0 : 0); /* c exists: no-op */
        _cleanup_free_ char *link = path_join(tmpdir, "a/b/etc-link");
        ASSERT_OK(symlink("/etc", link));
        _cleanup_free_ char *under = path_join(tmpdir, "a/f/x");
        ASSERT_ERROR(mkdir_p(under, 0755), ENOTDIR);
        ASSERT_OK(rm_rf_at(AT_FDCWD, tmpdir));
        ASSERT_TRUE(access(tmpdir, F_OK) < 0);
        ASSERT_TRUE(access("/etc/passwd", F_OK) == 0); /* the symlink was not followed */
}

TEST(one_line) {
        _cleanup_free_ char *s = NULL;
        ASSERT_OK(read_one_line_at(AT_FDCWD, "/proc/self/comm", &s));
        ASSERT_TRUE(strlen(s) > 0 && !strchr(s, '\n'));
}
