/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux: config-linux.md except resources (oci-resources.c) and seccomp
 * (oci-seccomp.c).
 */
#include "oci-internal.h"

#define L(k, kind, m, ...) OCI_FIELD(k, kind, OciLinux, m, __VA_ARGS__)

/* ------------------------------------------------------------------ maps */

static const OciField kv_value = OCI_FIELD("", OCI_K_STRING, OciKeyValue, value, .flags = OCI_F_REQUIRED);

/* config.md, Annotations: keys MUST NOT be an empty string. */
static int annotation_key_check(const char *key, const char *path, char **error_msg) {
        if (isempty(key))
                return json_error(error_msg, path, "key must not be empty");
        return 0;
}

const OciType oci_kv_type = {
        .size = sizeof(OciKeyValue),
        .key_offset = offsetof(OciKeyValue, key),
        .value = &kv_value,
        .check_key = annotation_key_check,
};

/*
 * sysctl keys name files below /proc/sys ("net.ipv4.ip_forward" or
 * "net/ipv4/ip_forward"): refuse what could step out of it.
 */
static int sysctl_key_check(const char *key, const char *path, char **error_msg) {
        if (isempty(key) || key[0] == '/' || key[0] == '.' || !path_is_safe(key) || strstr(key, ".."))
                return json_error(error_msg, path, "not a valid sysctl name");
        return 0;
}

static const OciType sysctl_kv_type = {
        .size = sizeof(OciKeyValue),
        .key_offset = offsetof(OciKeyValue, key),
        .value = &kv_value,
        .check_key = sysctl_key_check,
};

/* ---------------------------------------------------------- namespaces */

static const OciField namespace_fields[] = {
        OCI_FIELD("type", OCI_K_ENUM, OciNamespace, type, .flags = OCI_F_REQUIRED, .names = &oci_namespace_names),
        OCI_FIELD("path", OCI_K_STRING, OciNamespace, path, .flags = OCI_F_ABSOLUTE),
};
static const OciType namespace_type = { .size = sizeof(OciNamespace), OCI_FIELDS(namespace_fields) };

/* ---------------------------------------------------------------- devices */

static void device_init(void *p) {
        OciDevice *d = p;
        d->major = d->minor = -1;
}

/* config-linux.md, Devices: major and minor are REQUIRED unless type is p. */
static int device_check(const void *p, const char *path, char **error_msg) {
        const OciDevice *d = p;
        char sub[JSON_PATH_MAX];

        if (d->type == 'p')
                return 0;
        if (d->major < 0)
                return json_error(
                                error_msg, json_path_key(sub, sizeof sub, path, "major"),
                                "required field missing (type '%c')", d->type);
        if (d->minor < 0)
                return json_error(
                                error_msg, json_path_key(sub, sizeof sub, path, "minor"),
                                "required field missing (type '%c')", d->type);
        return 0;
}

static const OciField device_fields[] = {
        OCI_FIELD("type", OCI_K_CHAR, OciDevice, type, .flags = OCI_F_REQUIRED, .chars = "cbup"),
        OCI_FIELD("path", OCI_K_STRING, OciDevice, path, .flags = OCI_F_REQUIRED | OCI_F_ABSOLUTE),
        OCI_FIELD("major", OCI_K_I64, OciDevice, major, .flags = OCI_F_MINUS1, .min = 0, .max = UINT32_MAX),
        OCI_FIELD("minor", OCI_K_I64, OciDevice, minor, .flags = OCI_F_MINUS1, .min = 0, .max = UINT32_MAX),
        OCI_FIELD("fileMode", OCI_K_OPT_U64, OciDevice, file_mode, .max = UINT32_MAX),
        OCI_FIELD("uid", OCI_K_OPT_U64, OciDevice, uid, .max = UINT32_MAX),
        OCI_FIELD("gid", OCI_K_OPT_U64, OciDevice, gid, .max = UINT32_MAX),
};
static const OciType device_type = {
        .size = sizeof(OciDevice),
        OCI_FIELDS(device_fields),
        .init = device_init,
        .check = device_check,
};

/* ---------------------------------------------------------- time offsets */

static const OciField monotonic_fields[] = {
        L("secs", OCI_K_I64, time_offsets_monotonic.secs),
        L("nanosecs", OCI_K_U32, time_offsets_monotonic.nanosecs, .max = 999999999),
};
static const OciField boottime_fields[] = {
        L("secs", OCI_K_I64, time_offsets_boottime.secs),
        L("nanosecs", OCI_K_U32, time_offsets_boottime.nanosecs, .max = 999999999),
};
static const OciType monotonic_type = {
        OCI_FIELDS(monotonic_fields),
        .has_set = true,
        .set_offset = offsetof(OciLinux, time_offsets_monotonic.set),
};
static const OciType boottime_type = {
        OCI_FIELDS(boottime_fields),
        .has_set = true,
        .set_offset = offsetof(OciLinux, time_offsets_boottime.set),
};

/* time_namespaces(7): the clocks with offsets; any other key is an error. */
static const OciField time_offsets_fields[] = {
        { .key = "monotonic", .kind = OCI_K_OBJECT, .offset = 0, .type = &monotonic_type },
        { .key = "boottime", .kind = OCI_K_OBJECT, .offset = 0, .type = &boottime_type },
};
static const OciType time_offsets_type = { OCI_FIELDS(time_offsets_fields), .strict = true };

/* ----------------------------------------------------- personality, rdt */

static const OciField personality_fields[] = {
        L("domain",
          OCI_K_STRING,
          personality.domain,
          .flags = OCI_F_REQUIRED,
          .names = &oci_personality_domain_names),
        L("flags", OCI_K_STRV, personality.flags),
};
static const OciType personality_type = {
        OCI_FIELDS(personality_fields),
        .has_set = true,
        .set_offset = offsetof(OciLinux, personality.set),
};

/* config-linux.md, IntelRdt: memBwSchema MUST start with "MB:" and MUST NOT contain newlines. */
static int mem_bw_schema_check(const char *s, const char *path, char **error_msg) {
        if (!startswith(s, "MB:") || strchr(s, '\n'))
                return json_error(error_msg, path, "must start with \"MB:\" and be one line");
        return 0;
}

static const OciField intel_rdt_fields[] = {
        L("closID", OCI_K_STRING, intel_rdt_clos_id),
        L("l3CacheSchema", OCI_K_STRING, intel_rdt_l3_cache_schema),
        L("memBwSchema", OCI_K_STRING, intel_rdt_mem_bw_schema, .check_string = mem_bw_schema_check),
        L("enableCMT", OCI_K_BOOL, intel_rdt_enable_cmt),
        L("enableMBM", OCI_K_BOOL, intel_rdt_enable_mbm),
};
static const OciType intel_rdt_type = {
        OCI_FIELDS(intel_rdt_fields),
        .has_set = true,
        .set_offset = offsetof(OciLinux, intel_rdt_set),
};

/* ------------------------------------------------------------------ linux */

/* config-linux.md, Namespaces: a type given twice MUST be an error. */
static int linux_check(const void *p, const char *path, char **error_msg) {
        const OciLinux *l = p;
        char base[JSON_PATH_MAX], elem[JSON_PATH_MAX], sub[JSON_PATH_MAX];
        bool seen[_OCI_NS_MAX] = {};

        json_path_key(base, sizeof base, path, "namespaces");
        for (size_t i = 0; i < l->n_namespaces; i++) {
                OciNamespaceType t = l->namespaces[i].type;
                if (t < 0 || t >= _OCI_NS_MAX)
                        continue;
                if (seen[t]) {
                        json_path_index(elem, sizeof elem, base, i);
                        return json_error(
                                        error_msg, json_path_key(sub, sizeof sub, elem, "type"),
                                        "duplicate namespace \"%s\"", oci_namespace_type_to_string(t));
                }
                seen[t] = true;
        }
        return 0;
}

static const OciField linux_fields[] = {
        OCI_ARRAY("namespaces", OCI_K_ARRAY, OciLinux, namespaces, n_namespaces, &namespace_type),
        OCI_ARRAY("uidMappings", OCI_K_ARRAY, OciLinux, uid_mappings, n_uid_mappings, &oci_idmap_type),
        OCI_ARRAY("gidMappings", OCI_K_ARRAY, OciLinux, gid_mappings, n_gid_mappings, &oci_idmap_type),
        { .key = "timeOffsets", .kind = OCI_K_OBJECT, .offset = 0, .type = &time_offsets_type },
        OCI_ARRAY("devices", OCI_K_ARRAY, OciLinux, devices, n_devices, &device_type),
        L("cgroupsPath", OCI_K_STRING, cgroups_path),
        L("resources", OCI_K_PTR, resources, .type = &oci_resources_type),
        L("rootfsPropagation", OCI_K_STRING, rootfs_propagation, .names = &oci_propagation_names),
        OCI_ARRAY("sysctl", OCI_K_MAP, OciLinux, sysctl, n_sysctl, &sysctl_kv_type),
        L("seccomp", OCI_K_PTR, seccomp, .type = &oci_seccomp_type),
        L("maskedPaths", OCI_K_STRV, masked_paths, .flags = OCI_F_ABSOLUTE),
        L("readonlyPaths", OCI_K_STRV, readonly_paths, .flags = OCI_F_ABSOLUTE),
        L("mountLabel", OCI_K_STRING, mount_label),
        { .key = "personality", .kind = OCI_K_OBJECT, .offset = 0, .type = &personality_type },
        { .key = "intelRdt", .kind = OCI_K_OBJECT, .offset = 0, .type = &intel_rdt_type },
};

const OciType oci_linux_type = {
        .size = sizeof(OciLinux),
        OCI_FIELDS(linux_fields),
        .check = linux_check,
};
