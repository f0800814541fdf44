/* SPDX-License-Identifier: Apache-2.0 */
#include "common.h"
#include "tap.h"

TEST(errno_returned_and_json_line) {
        char path[] = "/tmp/aula-test-log.XXXXXX";
        _cleanup_close_ int fd = mkstemp(path);
        _cleanup_free_ char *buf = NULL;
        _cleanup_(json_freep) JsonVal v = NULL;
        int saved;

        ASSERT_OK(fd);
        ASSERT_OK(log_open_file(path, LOG_FORMAT_JSON));
        log_set_max_level(LOG_LEVEL_INFO);
        errno = 42;
        ASSERT_EQ(log_debug_errno(ENOENT, "hidden %s", "x"), -ENOENT);
        saved = errno;
        ASSERT_EQ(saved, 42);
        ASSERT_EQ(log_error_errno(SYNTHETIC_ERRNO(EINVAL), "bad \"thing\": %m"), -EINVAL);
        ASSERT_EQ(log_error_count(), 1u);
        log_close();
        ASSERT_OK(read_full_file_at(AT_FDCWD, path, 4096, &buf, NULL));
        unlink(path);
        ASSERT_EQ((int) (strchr(buf, '\n') - buf), (int) strlen(buf) - 1); /* exactly one line */
        ASSERT_OK(json_parse(buf, strlen(buf), &v, NULL));
        ASSERT_STREQ(json_get(v, "level")->u.string, "error");
        ASSERT_STREQ(json_get(v, "msg")->u.string, "bad \"thing\": Invalid argument");
        ASSERT_NOT_NULL(json_get(v, "time"));
}
