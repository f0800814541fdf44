/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * libaula-oci: the OCI runtime-spec (1.2) config.json and state, and the
 * OCI image-spec (1.1) index, manifest and image config, as plain data.
 *
 * Pure data: no syscalls, no logging above debug, so everything here is
 * fuzzable. The structures are deliberately transparent (unlike the rest of
 * aula): they are the contract of the spec itself, read field by field by
 * runtime/ and images/, and hiding them behind ~200 getters would add
 * nothing. They are owned by their top-level object; free with the
 * matching oci_*_free().
 *
 * Parsers take untrusted text. On failure they return -EINVAL (-E2BIG for
 * absurd sizes, -ENOMEM) and set *error_msg (if not NULL) to a malloc'd
 * one-line message naming the field: "linux.resources.pids.limit: expected
 * integer, got string". Unknown fields are ignored, as the spec requires,
 * and null counts as absent; unknown enum values are rejected, except
 * well-formed capability names (kept in OciCapabilities.unknown, see there)
 * and media types (see oci_media_type_kind()). docs/oci.md lists the checks.
 */

#include "common.h"

#define OCI_VERSION "1.2.0"
/* Upper bounds applied while parsing; far above any real config. */
#define OCI_CONFIG_MAX_BYTES (16u * 1024u * 1024u)
#define OCI_MAX_ARRAY 65536u

typedef struct OciOptU64 {
        bool set;
        uint64_t v;
} OciOptU64;

typedef struct OciOptI64 {
        bool set;
        int64_t v;
} OciOptI64;

typedef struct OciOptBool {
        bool set;
        bool v;
} OciOptBool;

/* ---------------------------------------------------------------- mounts */

typedef struct OciIdMapping {
        uint32_t container_id;
        uint32_t host_id;
        uint32_t size;
} OciIdMapping;

typedef struct OciMount {
        char *destination; /* required, absolute (a relative one in the JSON is taken from "/") */
        char *type; /* may be NULL (bind mounts) */
        char *source; /* may be NULL */
        char **options; /* NULL-terminated, may be NULL */
        OciIdMapping *uid_mappings;
        size_t n_uid_mappings;
        OciIdMapping *gid_mappings;
        size_t n_gid_mappings;
} OciMount;

/*
 * Mount options translated for mount(2)/mount_setattr(2) (runtime-spec
 * config.md "Mounts", and the recursive "r*" attributes of 1.1).
 */
typedef struct OciMountFlags {
        unsigned long flags; /* MS_* to set (MS_RDONLY, MS_NOSUID, ...) */
        unsigned long clear; /* MS_* explicitly cleared ("rw", "suid", ...) */
        unsigned long propagation; /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE, | MS_REC */
        uint64_t attr_set; /* MOUNT_ATTR_* from "r*" options, applied recursively */
        uint64_t attr_clr;
        bool bind; /* "bind" or "rbind" (then flags has MS_BIND[|MS_REC]) */
        bool recursive_bind;
        bool idmap; /* "idmap" or "ridmap" */
        bool recursive_idmap; /* "ridmap" */
        bool tmpcopyup;
        char *data; /* unknown options, comma-joined, for the fs; may be NULL */
} OciMountFlags;

/* Translate options (NULL-terminated, may be NULL). Unknown "r*" attributes are -EINVAL. */
int oci_mount_flags_parse(char *const *options, OciMountFlags *ret, char **error_msg);
void oci_mount_flags_done(OciMountFlags *f);

/* --------------------------------------------------------------- process */

typedef struct OciRlimit {
        int type; /* RLIMIT_* */
        uint64_t soft;
        uint64_t hard;
} OciRlimit;

typedef struct OciCapabilities {
        /* Each a bitmask of CAP_* numbers (bit n = capability n); cap_*_set tells presence. */
        uint64_t bounding, effective, inheritable, permitted, ambient;
        bool has_bounding, has_effective, has_inheritable, has_permitted, has_ambient;
        /*
         * Well-formed "CAP_*" names this library does not know (a newer kernel's), over all sets,
         * each once. config.md: such values MUST be logged as a warning and SHOULD NOT fail the
         * container; they are not part of the masks and are not emitted. NULL when none.
         */
        char **unknown;
} OciCapabilities;

typedef struct OciUser {
        uint32_t uid;
        uint32_t gid;
        OciOptU64 umask;
        uint32_t *additional_gids;
        size_t n_additional_gids;
        char *username; /* windows only; kept for round-trips */
} OciUser;

typedef struct OciScheduler {
        bool set;
        int policy; /* SCHED_* */
        int32_t nice;
        int32_t priority;
        uint64_t runtime, deadline, period;
        uint32_t flags; /* SCHED_FLAG_* */
} OciScheduler;

typedef struct OciIoPriority {
        bool set;
        int class; /* IOPRIO_CLASS_RT=1, BE=2, IDLE=3 */
        int priority;
} OciIoPriority;

typedef struct OciProcess {
        bool terminal;
        uint32_t console_height, console_width;
        OciUser user;
        char **args; /* may be NULL in config.json (then `start` fails) */
        char **env;
        char *cwd; /* required, absolute */
        OciCapabilities capabilities;
        OciRlimit *rlimits;
        size_t n_rlimits;
        bool no_new_privileges;
        OciOptI64 oom_score_adj;
        OciScheduler scheduler;
        OciIoPriority io_priority;
        char *apparmor_profile;
        char *selinux_label;
        char *exec_cpu_affinity_initial, *exec_cpu_affinity_final;
} OciProcess;

/* ----------------------------------------------------------------- hooks */

typedef struct OciHook {
        char *path; /* required, absolute */
        char **args;
        char **env;
        OciOptI64 timeout; /* seconds, > 0 */
} OciHook;

typedef enum OciHookKind {
        OCI_HOOK_PRESTART,
        OCI_HOOK_CREATE_RUNTIME,
        OCI_HOOK_CREATE_CONTAINER,
        OCI_HOOK_START_CONTAINER,
        OCI_HOOK_POSTSTART,
        OCI_HOOK_POSTSTOP,
        _OCI_HOOK_MAX,
        _OCI_HOOK_INVALID = -EINVAL,
} OciHookKind;

const char *oci_hook_kind_to_string(OciHookKind k); /* "prestart", "createRuntime", ... */

/* ----------------------------------------------------------------- linux */

typedef enum OciNamespaceType {
        OCI_NS_PID,
        OCI_NS_NETWORK,
        OCI_NS_MOUNT,
        OCI_NS_IPC,
        OCI_NS_UTS,
        OCI_NS_USER,
        OCI_NS_CGROUP,
        OCI_NS_TIME,
        _OCI_NS_MAX,
        _OCI_NS_INVALID = -EINVAL,
} OciNamespaceType;

const char *oci_namespace_type_to_string(OciNamespaceType t); /* "pid", "network", ... */
OciNamespaceType oci_namespace_type_from_string(const char *s);
/* CLONE_NEW* flag of a namespace type. */
unsigned long oci_namespace_clone_flag(OciNamespaceType t);

typedef struct OciNamespace {
        OciNamespaceType type;
        char *path; /* NULL: create a new one */
} OciNamespace;

typedef struct OciDevice {
        char type; /* 'c', 'b', 'u' or 'p' */
        char *path;
        int64_t major, minor; /* -1 when absent (allowed only for 'p') */
        OciOptU64 file_mode;
        OciOptU64 uid, gid;
} OciDevice;

typedef struct OciDeviceRule {
        bool allow;
        char type; /* 'a', 'c' or 'b' ('a' when absent) */
        int64_t major, minor; /* -1: wildcard */
        char access[4]; /* subset of "rwm", "" when absent means "rwm" */
} OciDeviceRule;

typedef struct OciWeightDevice {
        int64_t major, minor;
        OciOptU64 weight, leaf_weight;
} OciWeightDevice;

typedef struct OciThrottleDevice {
        int64_t major, minor;
        uint64_t rate;
} OciThrottleDevice;

typedef struct OciHugepageLimit {
        char *page_size; /* "2MB", "1GB" */
        uint64_t limit;
} OciHugepageLimit;

typedef struct OciNetPriority {
        char *name;
        uint32_t priority;
} OciNetPriority;

typedef struct OciRdma {
        char *device;
        OciOptU64 hca_handles, hca_objects;
} OciRdma;

typedef struct OciKeyValue {
        char *key;
        char *value;
} OciKeyValue;

typedef struct OciResources {
        OciDeviceRule *devices;
        size_t n_devices;
        struct {
                OciOptI64 limit, reservation, swap, kernel, kernel_tcp;
                OciOptU64 swappiness;
                OciOptBool disable_oom_killer, use_hierarchy, check_before_update;
        } memory;
        struct {
                OciOptU64 shares, period, realtime_period, burst;
                OciOptI64 quota, realtime_runtime, idle;
                char *cpus, *mems;
        } cpu;
        OciOptI64 pids_limit;
        struct {
                OciOptU64 weight, leaf_weight;
                OciWeightDevice *weight_device;
                size_t n_weight_device;
                OciThrottleDevice *throttle_read_bps, *throttle_write_bps, *throttle_read_iops,
                                *throttle_write_iops;
                size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops, n_throttle_write_iops;
        } block_io;
        OciHugepageLimit *hugepage_limits;
        size_t n_hugepage_limits;
        struct {
                OciOptU64 class_id;
                OciNetPriority *priorities;
                size_t n_priorities;
        } network;
        OciRdma *rdma;
        size_t n_rdma;
        OciKeyValue *unified; /* cgroup v2 file -> value */
        size_t n_unified;
} OciResources;

/* ---------------------------------------------------------------- seccomp */

typedef struct OciSeccompArg {
        uint32_t index;
        uint64_t value, value_two;
        char *op; /* "SCMP_CMP_EQ", ... (validated) */
} OciSeccompArg;

typedef struct OciSeccompRule {
        char **names;
        char *action; /* "SCMP_ACT_ERRNO", ... (validated) */
        OciOptU64 errno_ret;
        OciSeccompArg *args;
        size_t n_args;
} OciSeccompRule;

typedef struct OciSeccomp {
        char *default_action;
        OciOptU64 default_errno_ret;
        char **architectures; /* "SCMP_ARCH_X86_64", ... */
        char **flags; /* "SECCOMP_FILTER_FLAG_LOG", ... */
        char *listener_path;
        char *listener_metadata;
        OciSeccompRule *syscalls;
        size_t n_syscalls;
} OciSeccomp;

typedef struct OciLinux {
        OciNamespace *namespaces;
        size_t n_namespaces;
        OciIdMapping *uid_mappings;
        size_t n_uid_mappings;
        OciIdMapping *gid_mappings;
        size_t n_gid_mappings;
        struct {
                bool set;
                int64_t secs;
                uint32_t nanosecs;
        } time_offsets_monotonic, time_offsets_boottime;
        OciDevice *devices;
        size_t n_devices;
        char *cgroups_path;
        OciResources *resources; /* NULL when absent */
        char *rootfs_propagation; /* "shared", "slave", "private", "unbindable" or r* forms; may be NULL */
        OciKeyValue *sysctl;
        size_t n_sysctl;
        OciSeccomp *seccomp; /* NULL when absent */
        char **masked_paths;
        char **readonly_paths;
        char *mount_label;
        struct {
                bool set;
                char *domain; /* "LINUX" or "LINUX32" */
                char **flags;
        } personality;
        char *intel_rdt_clos_id;
        /* The rest of intelRdt; intel_rdt_set says the object was present (even empty). */
        bool intel_rdt_set;
        char *intel_rdt_l3_cache_schema;
        char *intel_rdt_mem_bw_schema; /* validated: starts with "MB:", no newline */
        bool intel_rdt_enable_cmt, intel_rdt_enable_mbm;
} OciLinux;

typedef struct OciConfig {
        char *oci_version;
        char *root_path; /* required */
        bool root_readonly;
        OciMount *mounts;
        size_t n_mounts;
        OciProcess *process; /* NULL when absent */
        char *hostname;
        char *domainname;
        OciHook *hooks[_OCI_HOOK_MAX];
        size_t n_hooks[_OCI_HOOK_MAX];
        OciKeyValue *annotations;
        size_t n_annotations;
        OciLinux *linux_cfg; /* NULL when absent */
} OciConfig;

/*
 * Parse and validate config.json text. Validation covers types, required
 * fields (ociVersion, root.path, process.cwd when process is present),
 * absolute paths where the spec demands them, enum values (namespace types,
 * rlimit names, capability names, seccomp actions/operators/architectures,
 * device types), duplicates that make no sense (two namespaces of one type),
 * and ranges (uid/gid 32-bit, oomScoreAdj in [-1000, 1000]).
 */
int oci_config_parse(const char *text, size_t len, OciConfig **ret, char **error_msg);
OciConfig *oci_config_free(OciConfig *c);
DEFINE_CLEANUP_FUNC(OciConfig *, oci_config_free);

/* The same, for a process.json given to `exec --process`. */
int oci_process_parse(const char *text, size_t len, OciProcess **ret, char **error_msg);
OciProcess *oci_process_free(OciProcess *p);
DEFINE_CLEANUP_FUNC(OciProcess *, oci_process_free);

/* Serialise a process (as `exec --process` reads it). */
int oci_process_emit(const OciProcess *p, bool pretty, char **ret);

/* Parse only linux.resources, as `update --resources FILE` takes it. */
int oci_resources_parse(const char *text, size_t len, OciResources **ret, char **error_msg);
OciResources *oci_resources_free(OciResources *r);
DEFINE_CLEANUP_FUNC(OciResources *, oci_resources_free);
int oci_resources_emit(const OciResources *r, bool pretty, char **ret);

/* Serialise back to JSON (round-trips every field this header models). */
int oci_config_emit(const OciConfig *c, bool pretty, char **ret);
/*
 * The default spec of `spec` (runc's template), rootless variant when asked:
 * then uid/gid (the caller's, as the library makes no syscalls) are mapped to
 * 0 in a new user namespace.
 */
int oci_config_default(bool rootless, uint32_t uid, uint32_t gid, OciConfig **ret);
/* Deep comparison of every field this header models. */
bool oci_config_equal(const OciConfig *a, const OciConfig *b);

/* Lookups. */
const OciNamespace *oci_config_namespace(const OciConfig *c, OciNamespaceType t); /* NULL if absent */
const char *oci_config_annotation(const OciConfig *c, const char *key); /* NULL if absent */

/* Capabilities by name ("CAP_SYS_ADMIN") <-> number; -EINVAL if unknown. */
int oci_capability_from_string(const char *s);
const char *oci_capability_to_string(int cap);
/* "RLIMIT_NOFILE" <-> RLIMIT_*. */
int oci_rlimit_from_string(const char *s);
const char *oci_rlimit_to_string(int resource);

/* ----------------------------------------------------------------- state */

typedef enum OciStatus {
        OCI_STATUS_CREATING,
        OCI_STATUS_CREATED,
        OCI_STATUS_RUNNING,
        OCI_STATUS_STOPPED,
        OCI_STATUS_PAUSED,
        _OCI_STATUS_MAX,
        _OCI_STATUS_INVALID = -EINVAL,
} OciStatus;

const char *oci_status_to_string(OciStatus s);
OciStatus oci_status_from_string(const char *s);

typedef struct OciState {
        char *oci_version;
        char *id;
        OciStatus status;
        int pid; /* 0 when none */
        char *bundle;
        OciKeyValue *annotations;
        size_t n_annotations;
} OciState;

/* The runtime-spec state JSON (what hooks read on stdin). */
int oci_state_emit(const OciState *s, char **ret);
int oci_state_parse(const char *text, size_t len, OciState **ret, char **error_msg);
OciState *oci_state_free(OciState *s);
DEFINE_CLEANUP_FUNC(OciState *, oci_state_free);

/* ----------------------------------------------------------- image-spec */

#define OCI_MEDIA_TYPE_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MEDIA_TYPE_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MEDIA_TYPE_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MEDIA_TYPE_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_MEDIA_TYPE_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MEDIA_TYPE_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define DOCKER_MEDIA_TYPE_MANIFEST_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MEDIA_TYPE_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MEDIA_TYPE_CONFIG "application/vnd.docker.container.image.v1+json"
#define DOCKER_MEDIA_TYPE_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define DOCKER_MEDIA_TYPE_LAYER "application/vnd.docker.image.rootfs.diff.tar"

typedef struct OciPlatform {
        char *architecture;
        char *os;
        char *variant;
        char *os_version;
        char **os_features;
} OciPlatform;

typedef struct OciDescriptor {
        char *media_type;
        char *digest; /* validated "sha256:<64 hex>" (or sha512) */
        int64_t size; /* >= 0 */
        char **urls;
        OciKeyValue *annotations;
        size_t n_annotations;
        OciPlatform *platform; /* NULL when absent */
        char *artifact_type;
        char *data; /* embedded content, base64 (image-spec 1.1); may be NULL */
} OciDescriptor;

typedef struct OciIndex {
        int64_t schema_version; /* must be 2 */
        char *media_type; /* NULL, OCI_MEDIA_TYPE_INDEX or DOCKER_MEDIA_TYPE_MANIFEST_LIST */
        OciDescriptor *manifests;
        size_t n_manifests;
        OciKeyValue *annotations;
        size_t n_annotations;
        char *artifact_type;
        OciDescriptor *subject; /* NULL when absent */
} OciIndex;

typedef struct OciManifest {
        int64_t schema_version; /* must be 2 */
        char *media_type; /* NULL, OCI_MEDIA_TYPE_MANIFEST or DOCKER_MEDIA_TYPE_MANIFEST */
        OciDescriptor config;
        OciDescriptor *layers;
        size_t n_layers;
        OciKeyValue *annotations;
        size_t n_annotations;
        char *artifact_type;
        OciDescriptor *subject; /* NULL when absent */
} OciManifest;

typedef struct OciHistory {
        char *created;
        char *author;
        char *created_by;
        char *comment;
        bool empty_layer; /* no entry in rootfs.diff_ids */
} OciHistory;

typedef struct OciImageConfig {
        char *architecture;
        char *os;
        char *variant;
        char *created;
        char *author;
        /* config */
        char *user;
        char **env;
        char **entrypoint;
        char **cmd;
        char *working_dir;
        char *stop_signal;
        OciKeyValue *labels;
        size_t n_labels;
        char **exposed_ports;
        char **volumes;
        /* rootfs */
        char *rootfs_type; /* "layers" */
        char **diff_ids; /* validated digests */
        char *os_version;
        char **os_features;
        bool args_escaped; /* config.ArgsEscaped (Windows); kept for round-trips */
        OciHistory *history;
        size_t n_history;
} OciImageConfig;

/*
 * What a media type is. The parsers accept any media type string in
 * descriptors (image-spec: unknown ones are to be ignored, not fatal); this
 * is how callers tell the kinds apart, Docker's schema2 types included.
 */
typedef enum OciMediaKind {
        OCI_MEDIA_UNKNOWN,
        OCI_MEDIA_INDEX, /* OCI index, Docker manifest list */
        OCI_MEDIA_MANIFEST, /* OCI manifest, Docker schema2 manifest */
        OCI_MEDIA_CONFIG, /* OCI image config, Docker container image config */
        OCI_MEDIA_LAYER, /* uncompressed tar */
        OCI_MEDIA_LAYER_GZIP,
        OCI_MEDIA_LAYER_ZSTD,
        _OCI_MEDIA_KIND_MAX,
} OciMediaKind;

OciMediaKind oci_media_type_kind(const char *media_type); /* NULL or unknown: OCI_MEDIA_UNKNOWN */

int oci_index_parse(const char *text, size_t len, OciIndex **ret, char **error_msg);
OciIndex *oci_index_free(OciIndex *i);
DEFINE_CLEANUP_FUNC(OciIndex *, oci_index_free);
int oci_index_emit(const OciIndex *i, char **ret);

int oci_manifest_parse(const char *text, size_t len, OciManifest **ret, char **error_msg);
OciManifest *oci_manifest_free(OciManifest *m);
DEFINE_CLEANUP_FUNC(OciManifest *, oci_manifest_free);
int oci_manifest_emit(const OciManifest *m, char **ret);

int oci_image_config_parse(const char *text, size_t len, OciImageConfig **ret, char **error_msg);
OciImageConfig *oci_image_config_free(OciImageConfig *c);
DEFINE_CLEANUP_FUNC(OciImageConfig *, oci_image_config_free);
int oci_image_config_emit(const OciImageConfig *c, char **ret);

/* "sha256:<64 lowercase hex>" or "sha512:<128 lowercase hex>". */
bool oci_digest_is_valid(const char *digest);
