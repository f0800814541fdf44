/* SPDX-License-Identifier: Apache-2.0 */
/* The console log ring: memory window, skipping, the file and its rotation. */
#include <sys/stat.h>

#include "shim-proto.h"
#include "tap.h"

static char *tmpdir(void) {
        char t[] = "/tmp/aula-shim-ring.XXXXXX";
        char *d = mkdtemp(t);
        ASSERT_NOT_NULL(d);
        return strdup(d);
}

static uint64_t file_size(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0)
                return UINT64_MAX;
        return (uint64_t) st.st_size;
}

TEST(ring_rejects_bad_capacity) {
        ShimLogRing *r;
        ASSERT_ERROR(shim_log_ring_new(NULL, 1000, 0, &r), EINVAL);
        ASSERT_ERROR(shim_log_ring_new(NULL, 6000, 0, &r), EINVAL);
        ASSERT_ERROR(shim_log_ring_new("/nonexistent/dir/log", 4096, 0, &r), ENOENT);
}

TEST(ring_memory_only) {
        _cleanup_(shim_log_ring_freep) ShimLogRing *r = NULL;
        char buf[8192];
        uint64_t pos = 0, skipped = 1;

        ASSERT_OK(shim_log_ring_new(NULL, 4096, 0, &r));
        ASSERT_EQ(shim_log_ring_end(r), 0u);
        ASSERT_EQ(shim_log_ring_read(r, &pos, buf, sizeof buf, &skipped), 0u);
        ASSERT_EQ(skipped, 0u);
        shim_log_ring_append(r, "hello ", 6);
        shim_log_ring_append(r, "world", 5);
        ASSERT_EQ(shim_log_ring_end(r), 11u);
        ASSERT_EQ(shim_log_ring_read(r, &pos, buf, 6, NULL), 6u);
        ASSERT_TRUE(memcmp(buf, "hello ", 6) == 0);
        ASSERT_EQ(shim_log_ring_read(r, &pos, buf, sizeof buf, NULL), 5u);
        ASSERT_TRUE(memcmp(buf, "world", 5) == 0);
        ASSERT_EQ(pos, 11u);
        /* A position past the end is clamped. */
        pos = 1000;
        ASSERT_EQ(shim_log_ring_read(r, &pos, buf, sizeof buf, NULL), 0u);
        ASSERT_EQ(pos, 11u);
}

TEST(ring_wraps_and_reports_skips) {
        _cleanup_(shim_log_ring_freep) ShimLogRing *r = NULL;
        char chunk[1000], buf[8192];
        uint64_t pos = 0, skipped = 0;
        size_t n;

        ASSERT_OK(shim_log_ring_new(NULL, 4096, 0, &r));
        for (int i = 0; i < 10; i++) {
                memset(chunk, 'a' + i, sizeof chunk);
                shim_log_ring_append(r, chunk, sizeof chunk);
        }
        ASSERT_EQ(shim_log_ring_end(r), 10000u);
        ASSERT_EQ(shim_log_ring_start(r), 10000u - 4096u);
        n = shim_log_ring_read(r, &pos, buf, sizeof buf, &skipped);
        ASSERT_EQ(skipped, 10000u - 4096u);
        ASSERT_EQ(n, 4096u);
        /* The window holds the last 4096 bytes in order: ...gggg hhhh iiii jjjj */
        ASSERT_EQ(buf[4095], 'j');
        ASSERT_EQ(buf[4096 - 1000], 'j');
        ASSERT_EQ(buf[4096 - 1001], 'i');
        ASSERT_EQ(buf[0], 'f');
        ASSERT_EQ(pos, 10000u);
}

TEST(ring_append_larger_than_capacity) {
        _cleanup_(shim_log_ring_freep) ShimLogRing *r = NULL;
        char *big = malloc(10000), buf[4096];
        uint64_t pos = 0, skipped;

        ASSERT_NOT_NULL(big);
        for (int i = 0; i < 10000; i++)
                big[i] = (char) ('0' + i % 10);
        ASSERT_OK(shim_log_ring_new(NULL, 4096, 0, &r));
        shim_log_ring_append(r, big, 10000);
        ASSERT_EQ(shim_log_ring_end(r), 10000u);
        ASSERT_EQ(shim_log_ring_read(r, &pos, buf, sizeof buf, &skipped), 4096u);
        ASSERT_EQ(skipped, 10000u - 4096u);
        ASSERT_TRUE(memcmp(buf, big + 10000 - 4096, 4096) == 0);
        free(big);
}

TEST(ring_file_and_rotation) {
        _cleanup_free_ char *dir = tmpdir(), *path = NULL, *old = NULL, *text = NULL;
        ShimLogRing *r = NULL;
        char line[100];

        ASSERT_OK(xasprintf(&path, "%s/console.log", dir));
        ASSERT_OK(xasprintf(&old, "%s/console.log.1", dir));
        ASSERT_OK(shim_log_ring_new(path, 4096, 1000, &r));
        memset(line, 'x', sizeof line);
        for (int i = 0; i < 25; i++) {
                line[0] = (char) ('A' + i);
                shim_log_ring_append(r, line, sizeof line);
        }
        /* 2500 bytes with a 1000-byte limit: rotated twice, 500 in the current file, 1000 in .1 */
        ASSERT_EQ(shim_log_ring_rotations(r), 2u);
        ASSERT_EQ(file_size(path), 500u);
        ASSERT_EQ(file_size(old), 1000u);
        ASSERT_OK(read_full_file_at(AT_FDCWD, old, 4096, &text, NULL));
        ASSERT_EQ(text[0], 'K');
        ASSERT_EQ(shim_log_ring_error(r), 0);
        shim_log_ring_free(r);
        /* Reopening appends to the existing file and keeps counting from its size. */
        ASSERT_OK(shim_log_ring_new(path, 4096, 1000, &r));
        shim_log_ring_append(r, line, sizeof line);
        ASSERT_EQ(file_size(path), 600u);
        ASSERT_EQ(shim_log_ring_end(r), 100u);
        shim_log_ring_free(r);
        ASSERT_OK(rm_rf_at(AT_FDCWD, dir));
}

TEST(ring_file_unlimited) {
        _cleanup_free_ char *dir = tmpdir(), *path = NULL;
        _cleanup_(shim_log_ring_freep) ShimLogRing *r = NULL;
        char kb[1024] = {};

        ASSERT_OK(xasprintf(&path, "%s/console.log", dir));
        ASSERT_OK(shim_log_ring_new(path, 4096, 0, &r));
        for (int i = 0; i < 64; i++)
                shim_log_ring_append(r, kb, sizeof kb);
        ASSERT_EQ(file_size(path), 65536u);
        ASSERT_EQ(shim_log_ring_rotations(r), 0u);
        ASSERT_OK(rm_rf_at(AT_FDCWD, dir));
}
