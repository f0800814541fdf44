/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container state of runtime.md, "State": what `state` prints and what
 * hooks read on stdin.
 */
#include "oci-internal.h"

/* runtime.md: pid is REQUIRED when status is created or running (on Linux). */
static int state_check(const void *p, const char *path, char **error_msg) {
        const OciState *s = p;
        char sub[JSON_PATH_MAX];

        if ((s->status == OCI_STATUS_CREATED || s->status == OCI_STATUS_RUNNING) && s->pid <= 0)
                return json_error(
                                error_msg, json_path_key(sub, sizeof sub, path, "pid"),
                                "required when status is \"%s\"", oci_status_to_string(s->status));
        return 0;
}

static const OciField state_fields[] = {
        OCI_FIELD("ociVersion", OCI_K_STRING, OciState, oci_version, .flags = OCI_F_REQUIRED | OCI_F_NONEMPTY),
        OCI_FIELD("id", OCI_K_STRING, OciState, id, .flags = OCI_F_REQUIRED | OCI_F_NONEMPTY),
        OCI_FIELD("status", OCI_K_ENUM, OciState, status, .flags = OCI_F_REQUIRED, .names = &oci_status_names),
        OCI_FIELD("pid", OCI_K_I32, OciState, pid, .min = 0, .max = INT32_MAX),
        OCI_FIELD("bundle", OCI_K_STRING, OciState, bundle, .flags = OCI_F_REQUIRED | OCI_F_ABSOLUTE),
        OCI_ARRAY("annotations", OCI_K_MAP, OciState, annotations, n_annotations, &oci_kv_type),
};

const OciType oci_state_type = {
        .size = sizeof(OciState),
        OCI_FIELDS(state_fields),
        .check = state_check,
};

int oci_state_emit(const OciState *s, char **ret) {
        return oci_emit_document(&oci_state_type, s, false, ret);
}

int oci_state_parse(const char *text, size_t len, OciState **ret, char **error_msg) {
        return oci_parse_document(&oci_state_type, "state", text, len, (void **) ret, error_msg);
}

OciState *oci_state_free(OciState *s) {
        return oci_document_free(&oci_state_type, s);
}
