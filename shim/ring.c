/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/stat.h>

#include "shim-proto.h"

/*
 * The console log of one instance: a power-of-two ring in memory (recent
 * output for console replays and followers) and an append-only file rotated
 * once it passes max_file bytes (console.log -> console.log.1, one
 * generation kept, so the disk use of an instance is bounded by 2 * max_file).
 * Writes to the file are synchronous with the ring, so the two never disagree
 * about what was logged. The ring's memory is allocated on first use: an
 * instance that prints nothing costs nothing.
 */

struct ShimLogRing {
        char *path;
        int fd;
        uint64_t file_size;
        uint64_t max_file;
        uint8_t *buf;
        size_t capacity;
        uint64_t end; /* stream position of the next byte */
        int error;
        unsigned rotations;
};

int shim_log_ring_new(const char *path, size_t capacity, uint64_t max_file, ShimLogRing **ret) {
        _cleanup_free_ ShimLogRing *r = NULL;
        struct stat st;

        if (capacity < 4096 || (capacity & (capacity - 1)))
                return -EINVAL;
        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->fd = -EBADF;
        r->capacity = capacity;
        r->max_file = max_file;
        if (path) {
                r->path = strdup(path);
                if (!r->path)
                        return -ENOMEM;
                r->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0640);
                if (r->fd < 0) {
                        int e = -errno;
                        free(r->path);
                        return e;
                }
                if (fstat(r->fd, &st) >= 0)
                        r->file_size = (uint64_t) st.st_size;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

ShimLogRing *shim_log_ring_free(ShimLogRing *r) {
        if (!r)
                return NULL;
        safe_close(r->fd);
        free(r->path);
        free(r->buf);
        free(r);
        return NULL;
}

static void rotate(ShimLogRing *r) {
        _cleanup_free_ char *old = NULL;
        int fd;

        if (xasprintf(&old, "%s.1", r->path) < 0) {
                r->error = -ENOMEM;
                return;
        }
        if (rename(r->path, old) < 0) {
                r->error = -errno;
                return;
        }
        fd = open(r->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0640);
        if (fd < 0) {
                r->error = -errno;
                return;
        }
        safe_close(r->fd);
        r->fd = fd;
        r->file_size = 0;
        r->rotations++;
}

static void file_append(ShimLogRing *r, const uint8_t *data, size_t len) {
        int q;

        if (r->fd < 0)
                return;
        if (r->max_file > 0 && r->file_size > 0 && r->file_size + len > r->max_file)
                rotate(r);
        q = loop_write(r->fd, data, len);
        if (q < 0)
                r->error = q;
        else
                r->file_size += len;
}

void shim_log_ring_append(ShimLogRing *r, const void *data, size_t len) {
        const uint8_t *p = data;

        if (len == 0)
                return;
        file_append(r, p, len);
        if (!r->buf) {
                r->buf = malloc(r->capacity);
                if (!r->buf) {
                        r->error = -ENOMEM;
                        r->end += len;
                        return;
                }
        }
        if (len > r->capacity) {
                /* Only the tail can be held. */
                r->end += len - r->capacity;
                p += len - r->capacity;
                len = r->capacity;
        }
        size_t off = (size_t) (r->end & (r->capacity - 1)), first = MIN(len, r->capacity - off);
        memcpy(r->buf + off, p, first);
        memcpy(r->buf, p + first, len - first);
        r->end += len;
}

uint64_t shim_log_ring_end(const ShimLogRing *r) {
        return r->end;
}

uint64_t shim_log_ring_start(const ShimLogRing *r) {
        if (!r->buf)
                return r->end;
        return r->end > r->capacity ? r->end - r->capacity : 0;
}

size_t shim_log_ring_read(const ShimLogRing *r, uint64_t *pos, void *buf, size_t size, uint64_t *ret_skipped) {
        uint64_t start = shim_log_ring_start(r), p = *pos, skipped = 0;
        size_t n, off, first;

        if (p < start) {
                skipped = start - p;
                p = start;
        }
        if (p > r->end)
                p = r->end;
        n = (size_t) MIN((uint64_t) size, r->end - p);
        if (n > 0) {
                off = (size_t) (p & (r->capacity - 1));
                first = MIN(n, r->capacity - off);
                memcpy(buf, r->buf + off, first);
                memcpy((uint8_t *) buf + first, r->buf, n - first);
        }
        *pos = p + n;
        if (ret_skipped)
                *ret_skipped = skipped;
        return n;
}

int shim_log_ring_error(const ShimLogRing *r) {
        return r->error;
}

unsigned shim_log_ring_rotations(const ShimLogRing *r) {
        return r->rotations;
}
