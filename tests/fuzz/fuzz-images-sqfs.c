/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A layer's squashfs file from the store, as a reused layer is checked before
 * it is mounted: no input may crash the superblock check, every refusal names
 * its reason, and what passes has its tables inside the file.
 */
#include <sys/mman.h>

#include "fuzz.h"
#include "images-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_close_ int fd = memfd_create("fuzz-sqfs", MFD_CLOEXEC);
        _cleanup_free_ char *msg = NULL, *msg2 = NULL;
        uint64_t used;
        int r, r2;

        FUZZ_CHECK(fd >= 0);
        if (size > 0)
                FUZZ_CHECK(loop_write(fd, data, size) >= 0);
        r = img_sqfs_check_fd(fd, &msg);
        /* The buffer and the file variant agree. */
        r2 = img_sqfs_check_super(data, size, size, &msg2);
        FUZZ_CHECK(r == r2);
        if (r < 0) {
                FUZZ_CHECK(r == -EBADMSG && msg && !strchr(msg, '\n'));
                return 0;
        }
        memcpy(&used, data + 40, sizeof used);
        used = le64toh(used);
        FUZZ_CHECK(used >= 96 && used <= size);
        /* Cut below what it claims, the same image is refused. */
        FUZZ_CHECK(img_sqfs_check_super(data, size, used - 1, NULL) == -EBADMSG);
        return 0;
}
