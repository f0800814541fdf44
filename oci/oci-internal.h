/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The schema engine behind libaula-oci. Every JSON object of the runtime and
 * image specs is described once, as a table of fields (OciField) grouped into
 * a type (OciType); one set of walkers then parses, validates, frees,
 * compares and emits any of them. A field's table entry is the single place
 * that says what its JSON key is, where it lives in the C struct, whether it
 * is required, its range and its enum values, so parse and emit cannot drift
 * apart.
 *
 * Only files of oci/ (and the unit tests of oci/) include this header.
 */

#include <stddef.h>

#include "oci.h"

/* Field flags. */
enum {
        OCI_F_REQUIRED = 1 << 0, /* absent or null is an error; always emitted */
        OCI_F_ABSOLUTE = 1 << 1, /* string, or each string of a strv, must start with '/' */
        OCI_F_NONEMPTY = 1 << 2, /* string must not be "", strv/array must have an entry */
        OCI_F_ALWAYS = 1 << 3, /* emitted even when zero/absent */
        OCI_F_MINUS1 = 1 << 4, /* int64 where -1 means absent: initialised to -1, not emitted then */
        OCI_F_ROOTREL = 1 << 5, /* path: a relative one is taken relative to "/" (made absolute) */
};

typedef enum OciKind {
        OCI_K_STRING, /* char *; with names: one of them */
        OCI_K_BOOL, /* bool */
        OCI_K_OPT_BOOL, /* OciOptBool */
        OCI_K_I32, /* int32_t (or int) */
        OCI_K_I64, /* int64_t */
        OCI_K_U32, /* uint32_t */
        OCI_K_U64, /* uint64_t */
        OCI_K_OPT_I64, /* OciOptI64 */
        OCI_K_OPT_U64, /* OciOptU64 */
        OCI_K_STRV, /* char ** (NULL-terminated); with names: each one of them */
        OCI_K_U32_ARRAY, /* uint32_t * + size_t at count_offset */
        OCI_K_ENUM, /* int: index into names */
        OCI_K_FLAGS, /* uint32_t bitmask: array of names, bit n = names[n] */
        OCI_K_CHAR, /* char: one-character string out of chars */
        OCI_K_OBJECT, /* embedded struct at offset (type's offsets are relative to it) */
        OCI_K_PTR, /* pointer to a struct of type, NULL when absent */
        OCI_K_ARRAY, /* array of type + size_t at count_offset */
        OCI_K_MAP, /* JSON object -> array of type (key at type->key_offset) + count */
        OCI_K_KEYSET, /* JSON object whose values are ignored objects -> char ** of its keys */
        OCI_K_CUSTOM, /* custom ops */
} OciKind;

typedef struct OciNames {
        const char *what; /* "rlimit": for `unknown rlimit "X"` */
        const char *const *names; /* indexed by value, NULL holes allowed */
        size_t n;
} OciNames;

typedef struct OciType OciType;

typedef struct OciCustom {
        int (*parse)(JsonVal v, const char *path, void *p, char **error_msg);
        void (*emit)(JsonWriter *w, const void *p);
        bool (*present)(const void *p);
        void (*done)(void *p);
        bool (*equal)(const void *a, const void *b);
} OciCustom;

typedef struct OciField {
        const char *key;
        OciKind kind;
        unsigned flags;
        size_t offset;
        size_t count_offset;
        int64_t min; /* ranges: both 0 means the C type's natural range */
        uint64_t max;
        const OciType *type;
        const OciNames *names;
        const char *chars;
        const OciCustom *custom;
        /* Extra validation of a string value (after type checks); returns an error message. */
        int (*check_string)(const char *s, const char *path, char **error_msg);
        /* The same for an OCI_K_I64 value (after the range check). */
        int (*check_int)(int64_t v, const char *path, char **error_msg);
} OciField;

struct OciType {
        size_t size;
        const OciField *fields;
        size_t n_fields;
        bool strict; /* keys not in fields are errors */
        bool has_set; /* a bool at set_offset says the object was present */
        size_t set_offset;
        void (*init)(void *p);
        /* Cross-field validation once all fields are parsed; path names the object. */
        int (*check)(const void *p, const char *path, char **error_msg);
        /* OCI_K_MAP elements: the key's place and the value's decoding. */
        size_t key_offset;
        const OciField *value;
        int (*check_key)(const char *key, const char *path, char **error_msg);
};

#define OCI_FIELDS(f) .fields = (f), .n_fields = ELEMENTSOF(f)

/* Walkers (oci-schema.c, oci-emit.c). */
int oci_parse_object(const OciType *t, JsonVal v, const char *path, void *p, char **error_msg);
void oci_type_done(const OciType *t, void *p);
bool oci_type_equal(const OciType *t, const void *a, const void *b);
void oci_emit_object(JsonWriter *w, const OciType *t, const void *p);
int oci_emit_document(const OciType *t, const void *p, bool pretty, char **ret);

/*
 * Parse a whole document: size limit, JSON, object root, then the table.
 * label names the document in messages about the document as a whole
 * ("config.json: expected object, got array").
 */
int oci_parse_document(const OciType *t, const char *label, const char *text, size_t len, void **ret, char **error_msg);
void *oci_document_free(const OciType *t, void *p);
/* oci-scan.c: -E2BIG when an array or object has more than OCI_MAX_ARRAY entries. */
int oci_scan_bounds(const char *text, size_t len, const char *label, char **error_msg);

/* Helpers. */
bool oci_json_absent(JsonVal v);
/* Quote s for a one-line message: escapes control characters, truncates long strings. */
const char *oci_quote(char *buf, size_t size, const char *s);
#define OCI_QUOTE_MAX 80
int oci_names_lookup(const OciNames *n, const char *s);
const char *oci_names_get(const OciNames *n, int v);
/* "parent[\"key\"]" for map entries. */
const char *oci_path_map(char *buf, size_t size, const char *parent, const char *key);

/* Types shared across files. */
extern const OciType oci_config_type;
extern const OciType oci_process_type;
extern const OciType oci_linux_type;
extern const OciType oci_resources_type;
extern const OciType oci_seccomp_type;
extern const OciType oci_mount_type;
extern const OciType oci_idmap_type;
extern const OciType oci_kv_type;
extern const OciType oci_state_type;
extern const OciType oci_index_type;
extern const OciType oci_manifest_type;
extern const OciType oci_image_config_type;

/* Name tables (oci-tables.c). */
extern const OciNames oci_namespace_names;
extern const OciNames oci_capability_names;
extern const OciNames oci_rlimit_names;
extern const OciNames oci_hook_names;
extern const OciNames oci_status_names;
extern const OciNames oci_sched_policy_names;
extern const OciNames oci_sched_flag_names;
extern const OciNames oci_ioprio_class_names;
extern const OciNames oci_seccomp_action_names;
extern const OciNames oci_seccomp_op_names;
extern const OciNames oci_seccomp_arch_names;
extern const OciNames oci_seccomp_flag_names;
extern const OciNames oci_propagation_names;
extern const OciNames oci_personality_domain_names;

/* oci-mount.c: validate a mount's options, naming path in errors. */
int oci_mount_flags_parse_at(char *const *options, const char *path, OciMountFlags *ret, char **error_msg);

/* Table entry for member m of struct T, e.g. OCI_FIELD("cwd", OCI_K_STRING, OciProcess, cwd, .flags = ...). */
#define OCI_FIELD(k, kind_, T, m, ...) \
        { .key = (k), .kind = (kind_), .offset = offsetof(T, m), __VA_ARGS__ }
/* Arrays and maps: m is the pointer, n the count. */
#define OCI_ARRAY(k, kind_, T, m, n, t, ...) \
        OCI_FIELD(k, kind_, T, m, .count_offset = offsetof(T, n), .type = (t), __VA_ARGS__)
