/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.json: config.md top level (ociVersion, root, mounts, process,
 * hostname, domainname, hooks, annotations, linux).
 */
#include "oci-internal.h"

#define C(k, kind, m, ...) OCI_FIELD(k, kind, OciConfig, m, __VA_ARGS__)

/* ------------------------------------------------------------------ hooks */

static const OciField hook_fields[] = {
        OCI_FIELD("path", OCI_K_STRING, OciHook, path, .flags = OCI_F_REQUIRED | OCI_F_ABSOLUTE),
        OCI_FIELD("args", OCI_K_STRV, OciHook, args),
        OCI_FIELD("env", OCI_K_STRV, OciHook, env),
        /* "If set, timeout MUST be greater than zero"; kept within int so seconds * 1e9 cannot overflow. */
        OCI_FIELD("timeout", OCI_K_OPT_I64, OciHook, timeout, .min = 1, .max = INT32_MAX),
};
static const OciType hook_type = { .size = sizeof(OciHook), OCI_FIELDS(hook_fields) };

#define HOOK(k, kind) OCI_ARRAY(k, OCI_K_ARRAY, OciConfig, hooks[kind], n_hooks[kind], &hook_type)

static const OciField hooks_fields[] = {
        HOOK("prestart", OCI_HOOK_PRESTART),
        HOOK("createRuntime", OCI_HOOK_CREATE_RUNTIME),
        HOOK("createContainer", OCI_HOOK_CREATE_CONTAINER),
        HOOK("startContainer", OCI_HOOK_START_CONTAINER),
        HOOK("poststart", OCI_HOOK_POSTSTART),
        HOOK("poststop", OCI_HOOK_POSTSTOP),
};
static const OciType hooks_type = { OCI_FIELDS(hooks_fields) };

/* ------------------------------------------------------------------- root */

static const OciField root_fields[] = {
        C("path", OCI_K_STRING, root_path, .flags = OCI_F_REQUIRED | OCI_F_NONEMPTY),
        C("readonly", OCI_K_BOOL, root_readonly),
};
static const OciType root_type = { OCI_FIELDS(root_fields) };

/* ------------------------------------------------------------- ociVersion */

static bool semver_number(const char **p) {
        size_t n = strspn(*p, "0123456789");
        if (n == 0 || (n > 1 && **p == '0'))
                return false;
        *p += n;
        return true;
}

/*
 * config.md: ociVersion MUST be SemVer 2.0.0. Only 1.x is compatible with
 * this parser (0.x had another capabilities layout, 2.x does not exist).
 */
static int version_check(const char *s, const char *path, char **error_msg) {
        char q[OCI_QUOTE_MAX];
        const char *p = s;

        if (!semver_number(&p) || *p++ != '.' || !semver_number(&p) || *p++ != '.' || !semver_number(&p) ||
            (*p && *p != '-' && *p != '+'))
                return json_error(error_msg, path, "not a SemVer version: %s", oci_quote(q, sizeof q, s));
        if (!startswith(s, "1."))
                return json_error(
                                error_msg, path, "unsupported version %s (expected 1.x)",
                                oci_quote(q, sizeof q, s));
        return 0;
}

/* ----------------------------------------------------------------- config */

static const OciField config_fields[] = {
        C("ociVersion", OCI_K_STRING, oci_version, .flags = OCI_F_REQUIRED, .check_string = version_check),
        { .key = "root", .kind = OCI_K_OBJECT, .offset = 0, .flags = OCI_F_REQUIRED, .type = &root_type },
        OCI_ARRAY("mounts", OCI_K_ARRAY, OciConfig, mounts, n_mounts, &oci_mount_type),
        C("process", OCI_K_PTR, process, .type = &oci_process_type),
        C("hostname", OCI_K_STRING, hostname),
        C("domainname", OCI_K_STRING, domainname),
        { .key = "hooks", .kind = OCI_K_OBJECT, .offset = 0, .type = &hooks_type },
        OCI_ARRAY("annotations", OCI_K_MAP, OciConfig, annotations, n_annotations, &oci_kv_type),
        C("linux", OCI_K_PTR, linux_cfg, .type = &oci_linux_type),
};

const OciType oci_config_type = { .size = sizeof(OciConfig), OCI_FIELDS(config_fields) };

int oci_config_parse(const char *text, size_t len, OciConfig **ret, char **error_msg) {
        if (!text || !ret)
                return -EINVAL;
        return oci_parse_document(&oci_config_type, "config.json", text, len, (void **) ret, error_msg);
}

OciConfig *oci_config_free(OciConfig *c) {
        return oci_document_free(&oci_config_type, c);
}

int oci_config_emit(const OciConfig *c, bool pretty, char **ret) {
        return oci_emit_document(&oci_config_type, c, pretty, ret);
}

bool oci_config_equal(const OciConfig *a, const OciConfig *b) {
        if (!a || !b)
                return a == b;
        return oci_type_equal(&oci_config_type, a, b);
}

const OciNamespace *oci_config_namespace(const OciConfig *c, OciNamespaceType t) {
        if (!c || !c->linux_cfg)
                return NULL;
        FOREACH_ARRAY(ns, c->linux_cfg->namespaces, c->linux_cfg->n_namespaces)
                if (ns->type == t)
                        return ns;
        return NULL;
}

const char *oci_config_annotation(const OciConfig *c, const char *key) {
        if (!c || !key)
                return NULL;
        FOREACH_ARRAY(a, c->annotations, c->n_annotations)
                if (streq(a->key, key))
                        return a->value;
        return NULL;
}
