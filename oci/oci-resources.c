/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.resources: config-linux.md "Control groups" (devices, memory, cpu,
 * blockIO, hugepageLimits, network, pids, rdma, unified).
 */
#include "oci-internal.h"

#define R(k, kind, m, ...) OCI_FIELD(k, kind, OciResources, m, __VA_ARGS__)

/* Device numbers fit the 32-bit major/minor of the kernel's dev_t. */
#define DEV_MAX UINT32_MAX

/* ---------------------------------------------------------------- devices */

static void rule_init(void *p) {
        OciDeviceRule *d = p;
        d->type = 'a';
        d->major = d->minor = -1;
}

/* "access": a composition of r, w and m, each at most once. */
static int access_parse(JsonVal v, const char *path, void *p, char **error_msg) {
        char *access = p, q[OCI_QUOTE_MAX];
        const char *s;

        if (!v || v->type != yajl_t_string)
                return json_error(error_msg, path, "expected string, got %s", json_type_name(v));
        s = v->u.string;
        for (size_t i = 0; s[i]; i++)
                if (i >= 3 || !strchr("rwm", s[i]) || strchr(s + i + 1, s[i]))
                        return json_error(
                                        error_msg, path, "expected a combination of \"rwm\", got %s",
                                        oci_quote(q, sizeof q, s));
        strcpy(access, s);
        return 0;
}

static void access_emit(JsonWriter *w, const void *p) {
        jw_string(w, p);
}

static bool access_present(const void *p) {
        return *(const char *) p != 0;
}

static bool access_equal(const void *a, const void *b) {
        return streq(a, b);
}

static const OciCustom access_custom = {
        .parse = access_parse,
        .emit = access_emit,
        .present = access_present,
        .equal = access_equal,
};

static const OciField rule_fields[] = {
        OCI_FIELD("allow", OCI_K_BOOL, OciDeviceRule, allow, .flags = OCI_F_REQUIRED),
        OCI_FIELD("type", OCI_K_CHAR, OciDeviceRule, type, .chars = "acb"),
        OCI_FIELD("major", OCI_K_I64, OciDeviceRule, major, .flags = OCI_F_MINUS1, .min = -1, .max = DEV_MAX),
        OCI_FIELD("minor", OCI_K_I64, OciDeviceRule, minor, .flags = OCI_F_MINUS1, .min = -1, .max = DEV_MAX),
        OCI_FIELD("access", OCI_K_CUSTOM, OciDeviceRule, access, .custom = &access_custom),
};
static const OciType rule_type = { .size = sizeof(OciDeviceRule), OCI_FIELDS(rule_fields), .init = rule_init };

/* ----------------------------------------------------------- memory, cpu */

/* config-linux.md, Memory: bytes, or -1 for unlimited. */
#define MEM(k, m) R(k, OCI_K_OPT_I64, memory.m, .min = -1, .max = INT64_MAX)

static const OciField memory_fields[] = {
        MEM("limit", limit),
        MEM("reservation", reservation),
        MEM("swap", swap),
        MEM("kernel", kernel),
        MEM("kernelTCP", kernel_tcp),
        R("swappiness", OCI_K_OPT_U64, memory.swappiness, .max = 100),
        R("disableOOMKiller", OCI_K_OPT_BOOL, memory.disable_oom_killer),
        R("useHierarchy", OCI_K_OPT_BOOL, memory.use_hierarchy),
        R("checkBeforeUpdate", OCI_K_OPT_BOOL, memory.check_before_update),
};
static const OciType memory_type = { OCI_FIELDS(memory_fields) };

static const OciField cpu_fields[] = {
        R("shares", OCI_K_OPT_U64, cpu.shares),
        R("quota", OCI_K_OPT_I64, cpu.quota, .min = -1, .max = INT64_MAX),
        R("burst", OCI_K_OPT_U64, cpu.burst),
        R("period", OCI_K_OPT_U64, cpu.period),
        R("realtimeRuntime", OCI_K_OPT_I64, cpu.realtime_runtime, .min = -1, .max = INT64_MAX),
        R("realtimePeriod", OCI_K_OPT_U64, cpu.realtime_period),
        R("cpus", OCI_K_STRING, cpu.cpus),
        R("mems", OCI_K_STRING, cpu.mems),
        /* "0: default behavior, 1: SCHED_IDLE". */
        R("idle", OCI_K_OPT_I64, cpu.idle, .min = 0, .max = 1),
};
static const OciType cpu_type = { OCI_FIELDS(cpu_fields) };

static const OciField pids_fields[] = {
        R("limit", OCI_K_OPT_I64, pids_limit, .flags = OCI_F_REQUIRED, .min = -1, .max = INT64_MAX),
};
static const OciType pids_type = { OCI_FIELDS(pids_fields) };

/* --------------------------------------------------------------- blockIO */

/* "You MUST specify at least one of weight or leafWeight in a given entry". */
static int weight_device_check(const void *p, const char *path, char **error_msg) {
        const OciWeightDevice *d = p;
        if (!d->weight.set && !d->leaf_weight.set)
                return json_error(error_msg, path, "one of weight or leafWeight is required");
        return 0;
}

static const OciField weight_device_fields[] = {
        OCI_FIELD("major", OCI_K_I64, OciWeightDevice, major, .flags = OCI_F_REQUIRED, .min = 0, .max = DEV_MAX),
        OCI_FIELD("minor", OCI_K_I64, OciWeightDevice, minor, .flags = OCI_F_REQUIRED, .min = 0, .max = DEV_MAX),
        OCI_FIELD("weight", OCI_K_OPT_U64, OciWeightDevice, weight, .max = UINT16_MAX),
        OCI_FIELD("leafWeight", OCI_K_OPT_U64, OciWeightDevice, leaf_weight, .max = UINT16_MAX),
};
static const OciType weight_device_type = {
        .size = sizeof(OciWeightDevice),
        OCI_FIELDS(weight_device_fields),
        .check = weight_device_check,
};

static const OciField throttle_fields[] = {
        OCI_FIELD("major", OCI_K_I64, OciThrottleDevice, major, .flags = OCI_F_REQUIRED, .min = 0, .max = DEV_MAX),
        OCI_FIELD("minor", OCI_K_I64, OciThrottleDevice, minor, .flags = OCI_F_REQUIRED, .min = 0, .max = DEV_MAX),
        OCI_FIELD("rate", OCI_K_U64, OciThrottleDevice, rate, .flags = OCI_F_REQUIRED),
};
static const OciType throttle_type = { .size = sizeof(OciThrottleDevice), OCI_FIELDS(throttle_fields) };

#define THROTTLE(k, m) OCI_ARRAY(k, OCI_K_ARRAY, OciResources, block_io.m, block_io.n_##m, &throttle_type)

static const OciField block_io_fields[] = {
        R("weight", OCI_K_OPT_U64, block_io.weight, .max = UINT16_MAX),
        R("leafWeight", OCI_K_OPT_U64, block_io.leaf_weight, .max = UINT16_MAX),
        OCI_ARRAY("weightDevice",
                  OCI_K_ARRAY,
                  OciResources,
                  block_io.weight_device,
                  block_io.n_weight_device,
                  &weight_device_type),
        THROTTLE("throttleReadBpsDevice", throttle_read_bps),
        THROTTLE("throttleWriteBpsDevice", throttle_write_bps),
        THROTTLE("throttleReadIOPSDevice", throttle_read_iops),
        THROTTLE("throttleWriteIOPSDevice", throttle_write_iops),
};
static const OciType block_io_type = { OCI_FIELDS(block_io_fields) };

/* ------------------------------------------------- hugepages, net, rdma */

/* config-linux.md, Huge page limits: "<size><unit-prefix>B" (64KB, 2MB, 1GB). */
static int page_size_check(const char *s, const char *path, char **error_msg) {
        size_t digits = strspn(s, "0123456789");
        char q[OCI_QUOTE_MAX];

        if (digits == 0 || digits > 10 || s[0] == '0' || !strchr("KMGT", s[digits]) || s[digits] == 0 ||
            !streq(s + digits + 1, "B"))
                return json_error(
                                error_msg, path, "expected <size><K|M|G|T>B, got %s",
                                oci_quote(q, sizeof q, s));
        return 0;
}

static const OciField hugepage_fields[] = {
        OCI_FIELD("pageSize",
                  OCI_K_STRING,
                  OciHugepageLimit,
                  page_size,
                  .flags = OCI_F_REQUIRED,
                  .check_string = page_size_check),
        OCI_FIELD("limit", OCI_K_U64, OciHugepageLimit, limit, .flags = OCI_F_REQUIRED),
};
static const OciType hugepage_type = { .size = sizeof(OciHugepageLimit), OCI_FIELDS(hugepage_fields) };

static const OciField priority_fields[] = {
        OCI_FIELD("name", OCI_K_STRING, OciNetPriority, name, .flags = OCI_F_REQUIRED | OCI_F_NONEMPTY),
        OCI_FIELD("priority", OCI_K_U32, OciNetPriority, priority, .flags = OCI_F_REQUIRED),
};
static const OciType priority_type = { .size = sizeof(OciNetPriority), OCI_FIELDS(priority_fields) };

static const OciField network_fields[] = {
        R("classID", OCI_K_OPT_U64, network.class_id, .max = UINT32_MAX),
        OCI_ARRAY("priorities", OCI_K_ARRAY, OciResources, network.priorities, network.n_priorities, &priority_type),
};
static const OciType network_type = { OCI_FIELDS(network_fields) };

/* "You MUST specify at least one of the hcaHandles or hcaObjects in a given entry". */
static int rdma_check(const void *p, const char *path, char **error_msg) {
        const OciRdma *d = p;
        if (!d->hca_handles.set && !d->hca_objects.set)
                return json_error(error_msg, path, "one of hcaHandles or hcaObjects is required");
        return 0;
}

static const OciField rdma_value_fields[] = {
        OCI_FIELD("hcaHandles", OCI_K_OPT_U64, OciRdma, hca_handles, .max = UINT32_MAX),
        OCI_FIELD("hcaObjects", OCI_K_OPT_U64, OciRdma, hca_objects, .max = UINT32_MAX),
};
static const OciType rdma_value_type = { OCI_FIELDS(rdma_value_fields), .check = rdma_check };
static const OciField rdma_value = { .key = "", .kind = OCI_K_OBJECT, .offset = 0, .type = &rdma_value_type };

static int nonempty_key_check(const char *key, const char *path, char **error_msg) {
        if (isempty(key))
                return json_error(error_msg, path, "key must not be empty");
        return 0;
}

static const OciType rdma_type = {
        .size = sizeof(OciRdma),
        .key_offset = offsetof(OciRdma, device),
        .value = &rdma_value,
        .check_key = nonempty_key_check,
};

/* unified: keys are file names in the container's cgroup directory, nothing else. */
static int unified_key_check(const char *key, const char *path, char **error_msg) {
        if (isempty(key) || strchr(key, '/') || streq(key, ".") || streq(key, ".."))
                return json_error(error_msg, path, "not a cgroup file name");
        return 0;
}

static const OciField unified_value = OCI_FIELD("", OCI_K_STRING, OciKeyValue, value, .flags = OCI_F_REQUIRED);
static const OciType unified_type = {
        .size = sizeof(OciKeyValue),
        .key_offset = offsetof(OciKeyValue, key),
        .value = &unified_value,
        .check_key = unified_key_check,
};

/* -------------------------------------------------------------- resources */

/* config-linux.md, CPU: a positive quota MUST be no smaller than burst (runtimes MAY error). */
static int resources_check(const void *p, const char *path, char **error_msg) {
        const OciResources *r = p;
        char sub[JSON_PATH_MAX];

        if (r->cpu.burst.set && r->cpu.quota.set && r->cpu.quota.v > 0 &&
            r->cpu.burst.v > (uint64_t) r->cpu.quota.v)
                return json_error(
                                error_msg, json_path_key(sub, sizeof sub, path, "cpu.burst"),
                                "%" PRIu64 " exceeds quota %" PRIi64, r->cpu.burst.v, r->cpu.quota.v);
        return 0;
}

static const OciField resources_fields[] = {
        OCI_ARRAY("devices", OCI_K_ARRAY, OciResources, devices, n_devices, &rule_type),
        { .key = "memory", .kind = OCI_K_OBJECT, .offset = 0, .type = &memory_type },
        { .key = "cpu", .kind = OCI_K_OBJECT, .offset = 0, .type = &cpu_type },
        { .key = "pids", .kind = OCI_K_OBJECT, .offset = 0, .type = &pids_type },
        { .key = "blockIO", .kind = OCI_K_OBJECT, .offset = 0, .type = &block_io_type },
        OCI_ARRAY("hugepageLimits", OCI_K_ARRAY, OciResources, hugepage_limits, n_hugepage_limits, &hugepage_type),
        { .key = "network", .kind = OCI_K_OBJECT, .offset = 0, .type = &network_type },
        OCI_ARRAY("rdma", OCI_K_MAP, OciResources, rdma, n_rdma, &rdma_type),
        OCI_ARRAY("unified", OCI_K_MAP, OciResources, unified, n_unified, &unified_type),
};

const OciType oci_resources_type = {
        .size = sizeof(OciResources),
        OCI_FIELDS(resources_fields),
        .check = resources_check,
};

int oci_resources_parse(const char *text, size_t len, OciResources **ret, char **error_msg) {
        return oci_parse_document(&oci_resources_type, "resources", text, len, (void **) ret, error_msg);
}

OciResources *oci_resources_free(OciResources *r) {
        return oci_document_free(&oci_resources_type, r);
}

int oci_resources_emit(const OciResources *r, bool pretty, char **ret) {
        return oci_emit_document(&oci_resources_type, r, pretty, ret);
}
