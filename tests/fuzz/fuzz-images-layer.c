/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A layer blob, as an image could carry it (plain, gzip or zstd tar): no
 * input may crash the tar reader, the decompressors or the squashfs builder,
 * and what converts must be a squashfs the writer can account for.
 */
#include <sqfs/super.h>
#include <sys/mman.h>

#include "fuzz.h"
#include "images-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_close_ int in = memfd_create("fuzz-in", MFD_CLOEXEC),
                            out = memfd_create("fuzz-out", MFD_CLOEXEC);
        _cleanup_free_ char *msg = NULL;
        ImgLimits limits = img_default_limits;
        ImgLayerOptions o = {
                .limits = &limits,
                .allow_devices = true,
                .sqfs = { .compressor = SQFS_COMP_ZSTD, .level = 1, .workers = 1 },
        };
        ImgLayerResult res = {};
        ImgStream *s = NULL;
        struct stat st;
        int r;

        FUZZ_CHECK(in >= 0 && out >= 0);
        /* Small bounds keep each run fast; the limits are tested for themselves elsewhere. */
        limits.max_entries = 4096;
        limits.max_pax = 64 * 1024;
        if (size > 0)
                FUZZ_CHECK(loop_write(in, data, size) >= 0);
        FUZZ_CHECK(img_stream_fd(in, 0, UINT64_MAX, &msg, &s) >= 0);
        r = img_layer_convert(s, IMG_COMPRESSION_AUTO, out, &o, &res, &msg);
        if (r < 0) {
                /* Every failure explains itself. */
                FUZZ_CHECK(r == -ENOMEM || msg != NULL);
                return 0;
        }
        FUZZ_CHECK(fstat(out, &st) >= 0);
        FUZZ_CHECK((uint64_t) st.st_size == res.squashfs_size && st.st_size % 4096 == 0);
        FUZZ_CHECK(startswith(res.diff_id, "sha256:") != NULL);
        /* What the writer made passes the check a reused layer gets. */
        FUZZ_CHECK(img_sqfs_check_fd(out, NULL) >= 0);
        img_layer_result_done(&res);
        return 0;
}
