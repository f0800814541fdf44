/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup files libaula-cgroups reads back (memory.stat and other keyed
 * files, io.stat, blkio.throttle.*, PSI, "max"-or-number knobs): the kernel
 * writes them, but a fake tree or a future kernel may not look like today's.
 * No input may crash a parser; what parses is a plain value.
 */
#include "cg-internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const keys[] = { "anon", "file", "usage_usec", "frozen", "oom_kill", "" };
        _cleanup_free_ char *text = strndup((const char *) data, size);
        uint64_t a, b, c, d;
        double avg;
        int r;

        FUZZ_CHECK(text);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                r = cg_parse_keyed(text, keys[i], &a);
                FUZZ_CHECK(r >= 0 || r == -ENOENT || r == -EINVAL || r == -ERANGE);
        }
        r = cg_parse_io_stat(text, &a, &b, &c, &d);
        FUZZ_CHECK(r >= 0 || r == -EINVAL || r == -ERANGE);
        r = cg_parse_blkio_stat(text, &a, &b);
        FUZZ_CHECK(r >= 0 || r == -EINVAL || r == -ERANGE);
        r = cg_parse_psi(text, &avg, &a);
        FUZZ_CHECK(r < 0 || avg == avg); /* never NaN */
        r = cg_parse_max(text, &a);
        FUZZ_CHECK(r >= 0 || r == -EINVAL || r == -ERANGE);
        return 0;
}
