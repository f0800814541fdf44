/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image-spec 1.1: descriptor.md, image-index.md, manifest.md, config.md;
 * and Docker's image manifest v2 schema 2 and manifest list, which share
 * their layout.
 */
#include "oci-internal.h"

/* ---------------------------------------------------------------- digests */

static bool is_lower_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return s[n] == 0;
}

/* descriptor.md: the registered algorithms, with their encoded lengths. */
bool oci_digest_is_valid(const char *digest) {
        const char *hex;

        if (!digest)
                return false;
        if ((hex = startswith(digest, "sha256:")))
                return is_lower_hex(hex, 64);
        if ((hex = startswith(digest, "sha512:")))
                return is_lower_hex(hex, 128);
        return false;
}

static int digest_check(const char *s, const char *path, char **error_msg) {
        char q[OCI_QUOTE_MAX];
        if (!oci_digest_is_valid(s))
                return json_error(error_msg, path, "invalid digest %s", oci_quote(q, sizeof q, s));
        return 0;
}

/* ------------------------------------------------------------ media types */

static const struct {
        const char *type;
        OciMediaKind kind;
} media_kinds[] = {
        { OCI_MEDIA_TYPE_INDEX, OCI_MEDIA_INDEX },
        { DOCKER_MEDIA_TYPE_MANIFEST_LIST, OCI_MEDIA_INDEX },
        { OCI_MEDIA_TYPE_MANIFEST, OCI_MEDIA_MANIFEST },
        { DOCKER_MEDIA_TYPE_MANIFEST, OCI_MEDIA_MANIFEST },
        { OCI_MEDIA_TYPE_CONFIG, OCI_MEDIA_CONFIG },
        { DOCKER_MEDIA_TYPE_CONFIG, OCI_MEDIA_CONFIG },
        { OCI_MEDIA_TYPE_LAYER, OCI_MEDIA_LAYER },
        { DOCKER_MEDIA_TYPE_LAYER, OCI_MEDIA_LAYER },
        { OCI_MEDIA_TYPE_LAYER_GZIP, OCI_MEDIA_LAYER_GZIP },
        { DOCKER_MEDIA_TYPE_LAYER_GZIP, OCI_MEDIA_LAYER_GZIP },
        { OCI_MEDIA_TYPE_LAYER_ZSTD, OCI_MEDIA_LAYER_ZSTD },
        /* Deprecated non-distributable ("foreign") layers are still layers. */
        { "application/vnd.oci.image.layer.nondistributable.v1.tar", OCI_MEDIA_LAYER },
        { "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", OCI_MEDIA_LAYER_GZIP },
        { "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", OCI_MEDIA_LAYER_ZSTD },
        { "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", OCI_MEDIA_LAYER_GZIP },
};

OciMediaKind oci_media_type_kind(const char *media_type) {
        if (!media_type)
                return OCI_MEDIA_UNKNOWN;
        for (size_t i = 0; i < ELEMENTSOF(media_kinds); i++)
                if (streq(media_kinds[i].type, media_type))
                        return media_kinds[i].kind;
        return OCI_MEDIA_UNKNOWN;
}

static int document_media_type_check(
                const char *s,
                OciMediaKind want,
                const char *what,
                const char *path,
                char **error_msg) {
        char q[OCI_QUOTE_MAX];
        if (oci_media_type_kind(s) != want)
                return json_error(error_msg, path, "%s is not %s media type", oci_quote(q, sizeof q, s), what);
        return 0;
}

static int index_media_type_check(const char *s, const char *path, char **error_msg) {
        return document_media_type_check(s, OCI_MEDIA_INDEX, "an image index", path, error_msg);
}

static int manifest_media_type_check(const char *s, const char *path, char **error_msg) {
        return document_media_type_check(s, OCI_MEDIA_MANIFEST, "an image manifest", path, error_msg);
}

/* Both documents: "This REQUIRED property ... MUST be 2" (schema 1 manifests are not supported). */
static int schema_version_check(int64_t v, const char *path, char **error_msg) {
        if (v != 2)
                return json_error(error_msg, path, "unsupported value %" PRIi64 " (expected 2)", v);
        return 0;
}

/* ------------------------------------------------------------ descriptors */

/* image-spec annotations and labels: any string keys, string values. */
static const OciField kv_value = OCI_FIELD("", OCI_K_STRING, OciKeyValue, value, .flags = OCI_F_REQUIRED);
static const OciType kv_type = {
        .size = sizeof(OciKeyValue),
        .key_offset = offsetof(OciKeyValue, key),
        .value = &kv_value,
};

static const OciField platform_fields[] = {
        OCI_FIELD("architecture", OCI_K_STRING, OciPlatform, architecture, .flags = OCI_F_REQUIRED),
        OCI_FIELD("os", OCI_K_STRING, OciPlatform, os, .flags = OCI_F_REQUIRED),
        OCI_FIELD("os.version", OCI_K_STRING, OciPlatform, os_version),
        OCI_FIELD("os.features", OCI_K_STRV, OciPlatform, os_features),
        OCI_FIELD("variant", OCI_K_STRING, OciPlatform, variant),
};
static const OciType platform_type = { .size = sizeof(OciPlatform), OCI_FIELDS(platform_fields) };

static const OciField descriptor_fields[] = {
        OCI_FIELD("mediaType", OCI_K_STRING, OciDescriptor, media_type, .flags = OCI_F_REQUIRED | OCI_F_NONEMPTY),
        OCI_FIELD("artifactType", OCI_K_STRING, OciDescriptor, artifact_type),
        OCI_FIELD("digest", OCI_K_STRING, OciDescriptor, digest, .flags = OCI_F_REQUIRED, .check_string = digest_check),
        OCI_FIELD("size", OCI_K_I64, OciDescriptor, size, .flags = OCI_F_REQUIRED, .min = 0, .max = INT64_MAX),
        OCI_FIELD("urls", OCI_K_STRV, OciDescriptor, urls),
        OCI_ARRAY("annotations", OCI_K_MAP, OciDescriptor, annotations, n_annotations, &kv_type),
        OCI_FIELD("data", OCI_K_STRING, OciDescriptor, data),
        OCI_FIELD("platform", OCI_K_PTR, OciDescriptor, platform, .type = &platform_type),
};
static const OciType descriptor_type = { .size = sizeof(OciDescriptor), OCI_FIELDS(descriptor_fields) };

/* ------------------------------------------------------------------ index */

static const OciField index_fields[] = {
        OCI_FIELD("schemaVersion",
                  OCI_K_I64,
                  OciIndex,
                  schema_version,
                  .flags = OCI_F_REQUIRED,
                  .check_int = schema_version_check),
        OCI_FIELD("mediaType", OCI_K_STRING, OciIndex, media_type, .check_string = index_media_type_check),
        OCI_FIELD("artifactType", OCI_K_STRING, OciIndex, artifact_type),
        OCI_ARRAY("manifests", OCI_K_ARRAY, OciIndex, manifests, n_manifests, &descriptor_type, .flags = OCI_F_REQUIRED),
        OCI_FIELD("subject", OCI_K_PTR, OciIndex, subject, .type = &descriptor_type),
        OCI_ARRAY("annotations", OCI_K_MAP, OciIndex, annotations, n_annotations, &kv_type),
};
const OciType oci_index_type = { .size = sizeof(OciIndex), OCI_FIELDS(index_fields) };

int oci_index_parse(const char *text, size_t len, OciIndex **ret, char **error_msg) {
        return oci_parse_document(&oci_index_type, "index", text, len, (void **) ret, error_msg);
}

OciIndex *oci_index_free(OciIndex *i) {
        return oci_document_free(&oci_index_type, i);
}

int oci_index_emit(const OciIndex *i, char **ret) {
        return oci_emit_document(&oci_index_type, i, false, ret);
}

/* --------------------------------------------------------------- manifest */

static const OciField manifest_fields[] = {
        OCI_FIELD("schemaVersion",
                  OCI_K_I64,
                  OciManifest,
                  schema_version,
                  .flags = OCI_F_REQUIRED,
                  .check_int = schema_version_check),
        OCI_FIELD("mediaType", OCI_K_STRING, OciManifest, media_type, .check_string = manifest_media_type_check),
        OCI_FIELD("artifactType", OCI_K_STRING, OciManifest, artifact_type),
        OCI_FIELD("config", OCI_K_OBJECT, OciManifest, config, .flags = OCI_F_REQUIRED, .type = &descriptor_type),
        OCI_ARRAY("layers", OCI_K_ARRAY, OciManifest, layers, n_layers, &descriptor_type, .flags = OCI_F_REQUIRED),
        OCI_FIELD("subject", OCI_K_PTR, OciManifest, subject, .type = &descriptor_type),
        OCI_ARRAY("annotations", OCI_K_MAP, OciManifest, annotations, n_annotations, &kv_type),
};
const OciType oci_manifest_type = { .size = sizeof(OciManifest), OCI_FIELDS(manifest_fields) };

int oci_manifest_parse(const char *text, size_t len, OciManifest **ret, char **error_msg) {
        return oci_parse_document(&oci_manifest_type, "manifest", text, len, (void **) ret, error_msg);
}

OciManifest *oci_manifest_free(OciManifest *m) {
        return oci_document_free(&oci_manifest_type, m);
}

int oci_manifest_emit(const OciManifest *m, char **ret) {
        return oci_emit_document(&oci_manifest_type, m, false, ret);
}

/* ----------------------------------------------------------- image config */

#define IC(k, kind, m, ...) OCI_FIELD(k, kind, OciImageConfig, m, __VA_ARGS__)

static const OciField exec_fields[] = {
        IC("User", OCI_K_STRING, user),
        IC("ExposedPorts", OCI_K_KEYSET, exposed_ports),
        IC("Env", OCI_K_STRV, env),
        IC("Entrypoint", OCI_K_STRV, entrypoint),
        IC("Cmd", OCI_K_STRV, cmd),
        IC("Volumes", OCI_K_KEYSET, volumes),
        IC("WorkingDir", OCI_K_STRING, working_dir),
        OCI_ARRAY("Labels", OCI_K_MAP, OciImageConfig, labels, n_labels, &kv_type),
        IC("StopSignal", OCI_K_STRING, stop_signal),
        IC("ArgsEscaped", OCI_K_BOOL, args_escaped),
};
static const OciType exec_type = { OCI_FIELDS(exec_fields) };

static int rootfs_type_check(const char *s, const char *path, char **error_msg) {
        char q[OCI_QUOTE_MAX];
        /* config.md: "MUST be set to layers". */
        if (!streq(s, "layers"))
                return json_error(error_msg, path, "expected \"layers\", got %s", oci_quote(q, sizeof q, s));
        return 0;
}

static const OciField rootfs_fields[] = {
        IC("type", OCI_K_STRING, rootfs_type, .flags = OCI_F_REQUIRED, .check_string = rootfs_type_check),
        IC("diff_ids", OCI_K_STRV, diff_ids, .flags = OCI_F_REQUIRED, .check_string = digest_check),
};
static const OciType rootfs_type = { OCI_FIELDS(rootfs_fields) };

static const OciField history_fields[] = {
        OCI_FIELD("created", OCI_K_STRING, OciHistory, created),
        OCI_FIELD("author", OCI_K_STRING, OciHistory, author),
        OCI_FIELD("created_by", OCI_K_STRING, OciHistory, created_by),
        OCI_FIELD("comment", OCI_K_STRING, OciHistory, comment),
        OCI_FIELD("empty_layer", OCI_K_BOOL, OciHistory, empty_layer),
};
static const OciType history_type = { .size = sizeof(OciHistory), OCI_FIELDS(history_fields) };

static const OciField image_config_fields[] = {
        IC("created", OCI_K_STRING, created),
        IC("author", OCI_K_STRING, author),
        IC("architecture", OCI_K_STRING, architecture, .flags = OCI_F_REQUIRED | OCI_F_NONEMPTY),
        IC("os", OCI_K_STRING, os, .flags = OCI_F_REQUIRED | OCI_F_NONEMPTY),
        IC("os.version", OCI_K_STRING, os_version),
        IC("os.features", OCI_K_STRV, os_features),
        IC("variant", OCI_K_STRING, variant),
        { .key = "config", .kind = OCI_K_OBJECT, .offset = 0, .type = &exec_type },
        { .key = "rootfs", .kind = OCI_K_OBJECT, .offset = 0, .flags = OCI_F_REQUIRED, .type = &rootfs_type },
        OCI_ARRAY("history", OCI_K_ARRAY, OciImageConfig, history, n_history, &history_type),
};
const OciType oci_image_config_type = { .size = sizeof(OciImageConfig), OCI_FIELDS(image_config_fields) };

int oci_image_config_parse(const char *text, size_t len, OciImageConfig **ret, char **error_msg) {
        return oci_parse_document(&oci_image_config_type, "image config", text, len, (void **) ret, error_msg);
}

OciImageConfig *oci_image_config_free(OciImageConfig *c) {
        return oci_document_free(&oci_image_config_type, c);
}

int oci_image_config_emit(const OciImageConfig *c, char **ret) {
        return oci_emit_document(&oci_image_config_type, c, false, ret);
}
