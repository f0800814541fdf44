/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /proc/self/mountinfo and /proc/self/cgroup as the runtime reads them to
 * mount cgroups into a container (runtime/rt-mount.c). The input is the
 * mountinfo text, a NUL byte, then the cgroup text. Every hierarchy found
 * lies under /sys/fs/cgroup and carries our path in it.
 */
#include "fuzz.h"
#include "rt-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *mi = NULL, *self = NULL;
        const uint8_t *nul = memchr(data, 0, size);
        size_t mlen = nul ? (size_t) (nul - data) : size;
        RtHierarchy *h = NULL;
        size_t n = 0;
        int r;

        mi = strndup((const char *) data, mlen);
        self = nul ? strndup((const char *) nul + 1, size - mlen - 1) : strdup("");
        FUZZ_CHECK(mi && self);
        r = rt_hierarchies_parse(mi, self, &h, &n);
        FUZZ_CHECK(r >= 0 || r == -ENOMEM);
        if (r < 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                FUZZ_CHECK(startswith(h[i].mount_point, "/sys/fs/cgroup"));
                FUZZ_CHECK(h[i].path != NULL);
                if (h[i].options) {
                        FUZZ_CHECK(!streq(h[i].options, "rw") && !startswith(h[i].options, "rw,"));
                        FUZZ_CHECK(strlen(h[i].options) < 512);
                }
        }
        rt_hierarchies_free(h, n);
        return 0;
}
