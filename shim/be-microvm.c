/* SPDX-License-Identifier: Apache-2.0 */
#include "shim-server.h"

/* Filled in with the microVM backend; until then VM instances are refused clearly. */

static int vm_create(Shim *s, bool start) {
        return log_error_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "the microVM backend is not built yet");
}

const ShimBackendOps shim_backend_microvm = {
        .name = "microvm",
        .create = vm_create,
};
