/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mounts[]: config.md "Mounts", "Linux mount options" and "POSIX-platform
 * Mounts", and the translation of options for mount(2)/mount_setattr(2).
 */
#include <sys/mount.h>

#include "oci-internal.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#define MOUNT_ATTR__ATIME 0x00000070
#define MOUNT_ATTR_RELATIME 0x00000000
#define MOUNT_ATTR_NOATIME 0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME 0x00000080
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

/* ---------------------------------------------------------- option table */

typedef enum OptKind {
        OPT_SET, /* flags |= v, clear &= ~v */
        OPT_CLEAR, /* clear |= v, flags &= ~v */
        OPT_NOOP, /* "defaults" */
        OPT_BIND,
        OPT_RBIND,
        OPT_PROPAGATION,
        OPT_ATTR_SET, /* recursive attribute: attr_set |= v */
        OPT_ATTR_CLEAR, /* attr_clr |= v */
        OPT_ATTR_ATIME, /* recursive atime mode: attr_clr |= _ATIME, atime bits of attr_set = v */
        OPT_IDMAP,
        OPT_RIDMAP,
        OPT_TMPCOPYUP,
} OptKind;

typedef struct MountOption {
        const char *name;
        OptKind kind;
        unsigned long value;
} MountOption;

/* Every option of runtime-spec config.md, "Linux mount options". */
static const MountOption mount_options[] = {
        { "defaults", OPT_NOOP, 0 },
        { "ro", OPT_SET, MS_RDONLY },
        { "rw", OPT_CLEAR, MS_RDONLY },
        { "nosuid", OPT_SET, MS_NOSUID },
        { "suid", OPT_CLEAR, MS_NOSUID },
        { "nodev", OPT_SET, MS_NODEV },
        { "dev", OPT_CLEAR, MS_NODEV },
        { "noexec", OPT_SET, MS_NOEXEC },
        { "exec", OPT_CLEAR, MS_NOEXEC },
        { "sync", OPT_SET, MS_SYNCHRONOUS },
        { "async", OPT_CLEAR, MS_SYNCHRONOUS },
        { "dirsync", OPT_SET, MS_DIRSYNC },
        { "remount", OPT_SET, MS_REMOUNT },
        { "mand", OPT_SET, MS_MANDLOCK },
        { "nomand", OPT_CLEAR, MS_MANDLOCK },
        { "noatime", OPT_SET, MS_NOATIME },
        { "atime", OPT_CLEAR, MS_NOATIME },
        { "nodiratime", OPT_SET, MS_NODIRATIME },
        { "diratime", OPT_CLEAR, MS_NODIRATIME },
        { "relatime", OPT_SET, MS_RELATIME },
        { "norelatime", OPT_CLEAR, MS_RELATIME },
        { "strictatime", OPT_SET, MS_STRICTATIME },
        { "nostrictatime", OPT_CLEAR, MS_STRICTATIME },
        { "lazytime", OPT_SET, MS_LAZYTIME },
        { "nolazytime", OPT_CLEAR, MS_LAZYTIME },
        { "iversion", OPT_SET, MS_I_VERSION },
        { "noiversion", OPT_CLEAR, MS_I_VERSION },
        { "silent", OPT_SET, MS_SILENT },
        { "loud", OPT_CLEAR, MS_SILENT },
        { "nosymfollow", OPT_SET, MS_NOSYMFOLLOW },
        { "symfollow", OPT_CLEAR, MS_NOSYMFOLLOW },
        { "bind", OPT_BIND, MS_BIND },
        { "rbind", OPT_RBIND, MS_BIND | MS_REC },
        { "shared", OPT_PROPAGATION, MS_SHARED },
        { "rshared", OPT_PROPAGATION, MS_SHARED | MS_REC },
        { "slave", OPT_PROPAGATION, MS_SLAVE },
        { "rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC },
        { "private", OPT_PROPAGATION, MS_PRIVATE },
        { "rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC },
        { "unbindable", OPT_PROPAGATION, MS_UNBINDABLE },
        { "runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC },
        /* The AT_RECURSIVE attributes of runtime-spec 1.1, for mount_setattr(2). */
        { "rro", OPT_ATTR_SET, MOUNT_ATTR_RDONLY },
        { "rrw", OPT_ATTR_CLEAR, MOUNT_ATTR_RDONLY },
        { "rnosuid", OPT_ATTR_SET, MOUNT_ATTR_NOSUID },
        { "rsuid", OPT_ATTR_CLEAR, MOUNT_ATTR_NOSUID },
        { "rnodev", OPT_ATTR_SET, MOUNT_ATTR_NODEV },
        { "rdev", OPT_ATTR_CLEAR, MOUNT_ATTR_NODEV },
        { "rnoexec", OPT_ATTR_SET, MOUNT_ATTR_NOEXEC },
        { "rexec", OPT_ATTR_CLEAR, MOUNT_ATTR_NOEXEC },
        { "rnodiratime", OPT_ATTR_SET, MOUNT_ATTR_NODIRATIME },
        { "rdiratime", OPT_ATTR_CLEAR, MOUNT_ATTR_NODIRATIME },
        { "rnosymfollow", OPT_ATTR_SET, MOUNT_ATTR_NOSYMFOLLOW },
        { "rsymfollow", OPT_ATTR_CLEAR, MOUNT_ATTR_NOSYMFOLLOW },
        /*
         * The atime mode is one 3-valued field of mount_setattr(2): it changes
         * only with MOUNT_ATTR__ATIME in attr_clr. "atime"/"norelatime"/
         * "nostrictatime" are the negations in mount(8)'s sense: not noatime
         * gives the kernel default (relatime), not relatime means updating
         * always (strictatime), not strictatime falls back to relatime.
         */
        { "ratime", OPT_ATTR_ATIME, MOUNT_ATTR_RELATIME },
        { "rnoatime", OPT_ATTR_ATIME, MOUNT_ATTR_NOATIME },
        { "rrelatime", OPT_ATTR_ATIME, MOUNT_ATTR_RELATIME },
        { "rnorelatime", OPT_ATTR_ATIME, MOUNT_ATTR_STRICTATIME },
        { "rstrictatime", OPT_ATTR_ATIME, MOUNT_ATTR_STRICTATIME },
        { "rnostrictatime", OPT_ATTR_ATIME, MOUNT_ATTR_RELATIME },
        { "idmap", OPT_IDMAP, 0 },
        { "ridmap", OPT_RIDMAP, 0 },
        { "tmpcopyup", OPT_TMPCOPYUP, 0 },
};

static const MountOption *mount_option_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(mount_options); i++)
                if (streq(mount_options[i].name, name))
                        return &mount_options[i];
        return NULL;
}

/*
 * "r" + an option that has no recursive form ("rremount", "rsync") is a
 * mistake, not a filesystem option: reject it rather than hand it to the fs.
 * Options with a value ("rsize=8192", "rootcontext=...") are never attributes.
 */
static bool is_bad_recursive(const char *o) {
        const MountOption *m;
        if (o[0] != 'r' || strchr(o, '='))
                return false;
        m = mount_option_find(o + 1);
        return m != NULL;
}

static void apply_option(const MountOption *m, OciMountFlags *f) {
        switch (m->kind) {
        case OPT_SET:
                f->flags |= m->value;
                f->clear &= ~m->value;
                break;
        case OPT_CLEAR:
                f->clear |= m->value;
                f->flags &= ~m->value;
                break;
        case OPT_NOOP:
                break;
        case OPT_BIND:
        case OPT_RBIND:
                f->flags |= m->value;
                f->bind = true;
                f->recursive_bind = f->recursive_bind || m->kind == OPT_RBIND;
                break;
        case OPT_PROPAGATION:
                f->propagation = m->value; /* the last one wins */
                break;
        case OPT_ATTR_SET:
                f->attr_set |= m->value;
                f->attr_clr &= ~(uint64_t) m->value;
                break;
        case OPT_ATTR_CLEAR:
                f->attr_clr |= m->value;
                f->attr_set &= ~(uint64_t) m->value;
                break;
        case OPT_ATTR_ATIME:
                f->attr_clr |= MOUNT_ATTR__ATIME;
                f->attr_set = (f->attr_set & ~(uint64_t) MOUNT_ATTR__ATIME) | m->value;
                break;
        case OPT_IDMAP:
        case OPT_RIDMAP:
                f->idmap = true;
                f->recursive_idmap = f->recursive_idmap || m->kind == OPT_RIDMAP;
                break;
        case OPT_TMPCOPYUP:
                f->tmpcopyup = true;
                break;
        }
}

static int data_append(char **data, const char *o) {
        char *n;
        if (!*data)
                n = strdup(o);
        else if (xasprintf(&n, "%s,%s", *data, o) < 0)
                n = NULL;
        if (!n)
                return -ENOMEM;
        free(*data);
        *data = n;
        return 0;
}

int oci_mount_flags_parse_at(char *const *options, const char *path, OciMountFlags *ret, char **error_msg) {
        OciMountFlags f = {};
        char sub[JSON_PATH_MAX], q[OCI_QUOTE_MAX];
        size_t i = 0;
        int r;

        for (char *const *o = options; o && *o; o++, i++) {
                const MountOption *m = mount_option_find(*o);
                if (m) {
                        apply_option(m, &f);
                        continue;
                }
                if (is_bad_recursive(*o)) {
                        r = json_error(error_msg, json_path_index(sub, sizeof sub, path, i),
                                       "%s has no recursive form", oci_quote(q, sizeof q, *o));
                        goto fail;
                }
                if (isempty(*o))
                        continue;
                r = data_append(&f.data, *o);
                if (r < 0)
                        goto fail;
        }
        *ret = f;
        return 0;
fail:
        free(f.data);
        return r;
}

int oci_mount_flags_parse(char *const *options, OciMountFlags *ret, char **error_msg) {
        if (!ret)
                return -EINVAL;
        return oci_mount_flags_parse_at(options, "options", ret, error_msg);
}

void oci_mount_flags_done(OciMountFlags *f) {
        if (!f)
                return;
        free(f->data);
        f->data = NULL;
}

/* ----------------------------------------------------------------- mounts */

/* config-linux.md, User namespace mappings: size >= 1 and no wrap past 2^32. */
static int idmap_check(const void *p, const char *path, char **error_msg) {
        const OciIdMapping *m = p;
        if (m->size == 0)
                return json_error(error_msg, path, "size must be at least 1");
        if ((uint64_t) m->container_id + m->size > UINT64_C(1) << 32 ||
            (uint64_t) m->host_id + m->size > UINT64_C(1) << 32)
                return json_error(error_msg, path, "range exceeds the 32-bit id space");
        return 0;
}

static const OciField idmap_fields[] = {
        OCI_FIELD("containerID", OCI_K_U32, OciIdMapping, container_id, .flags = OCI_F_REQUIRED),
        OCI_FIELD("hostID", OCI_K_U32, OciIdMapping, host_id, .flags = OCI_F_REQUIRED),
        OCI_FIELD("size", OCI_K_U32, OciIdMapping, size, .flags = OCI_F_REQUIRED),
};
const OciType oci_idmap_type = { .size = sizeof(OciIdMapping), OCI_FIELDS(idmap_fields), .check = idmap_check };

static int mount_check(const void *p, const char *path, char **error_msg) {
        const OciMount *m = p;
        OciMountFlags f = {};
        char sub[JSON_PATH_MAX];
        int r;

        /* config.md, POSIX-platform Mounts: each MUST be specified along with the other. */
        if (!m->uid_mappings != !m->gid_mappings)
                return json_error(error_msg, path, "uidMappings and gidMappings must be given together");
        r = oci_mount_flags_parse_at(
                        m->options, json_path_key(sub, sizeof sub, path, "options"), &f, error_msg);
        if (r < 0)
                return r;
        oci_mount_flags_done(&f);
        return 0;
}

static const OciField mount_fields[] = {
        OCI_FIELD("destination",
                  OCI_K_STRING,
                  OciMount,
                  destination,
                  .flags = OCI_F_REQUIRED | OCI_F_NONEMPTY | OCI_F_ROOTREL),
        OCI_FIELD("type", OCI_K_STRING, OciMount, type),
        OCI_FIELD("source", OCI_K_STRING, OciMount, source),
        OCI_FIELD("options", OCI_K_STRV, OciMount, options),
        OCI_ARRAY("uidMappings", OCI_K_ARRAY, OciMount, uid_mappings, n_uid_mappings, &oci_idmap_type),
        OCI_ARRAY("gidMappings", OCI_K_ARRAY, OciMount, gid_mappings, n_gid_mappings, &oci_idmap_type),
};
const OciType oci_mount_type = { .size = sizeof(OciMount), OCI_FIELDS(mount_fields), .check = mount_check };
