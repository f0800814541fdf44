/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.seccomp translation: any object the OCI parser accepts is turned into
 * a libseccomp filter and exported as BPF (to /dev/null), never loaded. No
 * input may crash the translation or leak; a refusal is a plain -errno.
 */
#include <fcntl.h>

#include "fuzz.h"
#include "oci-internal.h"
#include "rt-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static int null_fd = -EBADF;
        OciSeccomp *s = NULL;
        char *err = NULL;
        int r;

        if (null_fd < 0)
                null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        FUZZ_CHECK(null_fd >= 0);
        r = oci_parse_document(&oci_seccomp_type, "seccomp", (const char *) data, size, (void **) &s, &err);
        if (r < 0) {
                FUZZ_CHECK(r != -EINVAL || (err && !strchr(err, '\n')));
                free(err);
                return 0;
        }
        r = rt_seccomp_export(s, null_fd);
        /* The parser checked every name, so what is left is what libseccomp refuses. */
        FUZZ_CHECK(r >= 0 || (r >= -4095 && r != -EBADF && r != -EFAULT));
        oci_document_free(&oci_seccomp_type, s);
        return 0;
}
