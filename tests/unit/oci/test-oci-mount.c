/* SPDX-License-Identifier: Apache-2.0 */
/* oci_mount_flags_parse: every runtime-spec mount option. */
#include <sys/mount.h>

#include "oci-test.h"

static OciMountFlags flags_of(char **options) {
        _cleanup_free_ char *err = NULL;
        OciMountFlags f;
        if (oci_mount_flags_parse(options, &f, &err) < 0)
                tap_fail(__FILE__, __LINE__, "oci_mount_flags_parse: %s", err);
        return f;
}

#define FLAGS(...) flags_of((char *[]){ __VA_ARGS__, NULL })

typedef struct SimpleOption {
        const char *set, *clear;
        unsigned long flag;
} SimpleOption;

static const SimpleOption simple[] = {
        { "ro", "rw", MS_RDONLY },
        { "nosuid", "suid", MS_NOSUID },
        { "nodev", "dev", MS_NODEV },
        { "noexec", "exec", MS_NOEXEC },
        { "sync", "async", MS_SYNCHRONOUS },
        { "mand", "nomand", MS_MANDLOCK },
        { "noatime", "atime", MS_NOATIME },
        { "nodiratime", "diratime", MS_NODIRATIME },
        { "relatime", "norelatime", MS_RELATIME },
        { "strictatime", "nostrictatime", MS_STRICTATIME },
        { "lazytime", "nolazytime", MS_LAZYTIME },
        { "iversion", "noiversion", MS_I_VERSION },
        { "silent", "loud", MS_SILENT },
        { "nosymfollow", "symfollow", 256 },
};

TEST(simple_options_set_and_clear) {
        FOREACH_ARRAY(o, simple, ELEMENTSOF(simple)) {
                OciMountFlags f = FLAGS((char *) o->set);
                ASSERT_EQ(f.flags, o->flag);
                ASSERT_EQ(f.clear, 0ul);
                f = FLAGS((char *) o->clear);
                ASSERT_EQ(f.flags, 0ul);
                ASSERT_EQ(f.clear, o->flag);
                /* The last one wins. */
                f = FLAGS((char *) o->clear, (char *) o->set);
                ASSERT_EQ(f.flags, o->flag);
                ASSERT_EQ(f.clear, 0ul);
                ASSERT_NULL(f.data);
        }
}

TEST(other_plain_options) {
        OciMountFlags f = FLAGS("dirsync", "remount", "defaults");
        ASSERT_EQ(f.flags, (unsigned long) (MS_DIRSYNC | MS_REMOUNT));
        ASSERT_NULL(f.data);
}

TEST(bind_and_rbind) {
        OciMountFlags f = FLAGS("bind");
        ASSERT_TRUE(f.bind);
        ASSERT_FALSE(f.recursive_bind);
        ASSERT_EQ(f.flags, (unsigned long) MS_BIND);
        f = FLAGS("rbind", "ro");
        ASSERT_TRUE(f.bind);
        ASSERT_TRUE(f.recursive_bind);
        ASSERT_EQ(f.flags, (unsigned long) (MS_BIND | MS_REC | MS_RDONLY));
}

TEST(propagation) {
        static const struct {
                const char *name;
                unsigned long v;
        } p[] = {
                { "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
                { "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
                { "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
                { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
        };
        for (size_t i = 0; i < ELEMENTSOF(p); i++) {
                OciMountFlags f = FLAGS("bind", (char *) p[i].name);
                ASSERT_EQ(f.propagation, p[i].v);
                ASSERT_EQ(f.flags, (unsigned long) MS_BIND);
        }
        ASSERT_EQ(FLAGS("rshared", "private").propagation, (unsigned long) MS_PRIVATE);
}

TEST(recursive_attributes) {
        static const struct {
                const char *set, *clear;
                uint64_t attr;
        } a[] = {
                { "rro", "rrw", 0x1 },
                { "rnosuid", "rsuid", 0x2 },
                { "rnodev", "rdev", 0x4 },
                { "rnoexec", "rexec", 0x8 },
                { "rnodiratime", "rdiratime", 0x80 },
                { "rnosymfollow", "rsymfollow", 0x200000 },
        };
        for (size_t i = 0; i < ELEMENTSOF(a); i++) {
                OciMountFlags f = FLAGS((char *) a[i].set);
                ASSERT_EQ(f.attr_set, a[i].attr);
                ASSERT_EQ(f.attr_clr, 0u);
                ASSERT_EQ(f.flags, 0ul);
                f = FLAGS((char *) a[i].set, (char *) a[i].clear);
                ASSERT_EQ(f.attr_set, 0u);
                ASSERT_EQ(f.attr_clr, a[i].attr);
        }
}

TEST(recursive_atime_modes) {
        /* MOUNT_ATTR__ATIME (0x70) in attr_clr; NOATIME 0x10, STRICTATIME 0x20, RELATIME 0. */
        OciMountFlags f = FLAGS("rnoatime");
        ASSERT_EQ(f.attr_clr, 0x70u);
        ASSERT_EQ(f.attr_set, 0x10u);
        f = FLAGS("rnoatime", "rstrictatime");
        ASSERT_EQ(f.attr_set, 0x20u);
        f = FLAGS("rro", "rstrictatime", "rrelatime");
        ASSERT_EQ(f.attr_set, 0x1u);
        ASSERT_EQ(f.attr_clr, 0x70u);
        ASSERT_EQ(FLAGS("ratime").attr_set, 0u);
        ASSERT_EQ(FLAGS("rnorelatime").attr_set, 0x20u);
        ASSERT_EQ(FLAGS("rnostrictatime").attr_set, 0u);
        ASSERT_EQ(FLAGS("rnostrictatime").attr_clr, 0x70u);
}

TEST(idmap_and_tmpcopyup) {
        OciMountFlags f = FLAGS("idmap");
        ASSERT_TRUE(f.idmap);
        ASSERT_FALSE(f.recursive_idmap);
        f = FLAGS("ridmap", "tmpcopyup");
        ASSERT_TRUE(f.idmap);
        ASSERT_TRUE(f.recursive_idmap);
        ASSERT_TRUE(f.tmpcopyup);
        ASSERT_NULL(f.data);
}

TEST(unknown_options_go_to_data) {
        OciMountFlags f = FLAGS(
                        "nosuid", "mode=755", "size=65536k", "rsize=8192", "rootcontext=x", "", "newinstance");
        ASSERT_EQ(f.flags, (unsigned long) MS_NOSUID);
        ASSERT_STREQ(f.data, "mode=755,size=65536k,rsize=8192,rootcontext=x,newinstance");
        oci_mount_flags_done(&f);
        ASSERT_NULL(f.data);
        oci_mount_flags_done(NULL);
}

TEST(no_options) {
        OciMountFlags f = flags_of(NULL);
        ASSERT_EQ(f.flags, 0ul);
        ASSERT_NULL(f.data);
}

TEST(recursive_form_of_a_plain_option_is_an_error) {
        static const char *bad[] = { "rremount", "rsync",      "rdefaults", "rlazytime",
                                     "rmand",    "rtmpcopyup", "rrbind" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *err = NULL;
                OciMountFlags f = { .flags = 42 };
                char *o[] = { (char *) "ro", (char *) "mode=1", (char *) bad[i], NULL };
                ASSERT_ERROR(oci_mount_flags_parse(o, &f, &err), EINVAL);
                ASSERT_EQ(f.flags, 42ul); /* not written on failure */
                ASSERT_STRCONTAINS(err, "options[2]");
                ASSERT_STRCONTAINS(err, bad[i]);
                ASSERT_STRCONTAINS(err, "has no recursive form");
        }
}

TEST(config_mount_options_are_validated) {
        ASSERT_PARSE_FAILS(
                        oci_config_parse, OciConfig,
                        "{'ociVersion':'1.2.0','root':{'path':'r'},'mounts':[{'destination':'/a'},"
                        "{'destination':'/b','options':['rbind','rremount']}]}",
                        EINVAL, "mounts[1].options[1]: \"rremount\" has no recursive form");
}
