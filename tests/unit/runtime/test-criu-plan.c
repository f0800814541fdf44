/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <sys/sysmacros.h>

#include "rt-criu-internal.h"
#include "tap.h"

/* A container as aula-runtime sets it up on cgroup v2 without a cgroup namespace, seen from inside. */
static const char ctr_mountinfo[] =
                "58 40 0:24 /tmp/exp/b/rootfs / rw,relatime - overlay overlay rw,lowerdir=/lower\n"
                "59 58 0:34 / /proc rw,relatime - proc proc rw\n"
                "60 58 0:35 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k\n"
                "61 60 0:36 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620\n"
                "64 58 0:38 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro\n"
                "65 64 0:31 /aula-exp/b1 /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
                "44 59 0:35 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw\n"
                "48 59 0:34 /bus /proc/bus ro,relatime - proc proc rw\n"
                "70 58 0:24 /tmp/exp/data /data rw,relatime shared:5 master:2 - overlay overlay rw\n"
                "71 60 0:5 /null /dev/null rw,nosuid - devtmpfs udev rw\n"
                "72 60 0:36 /0 /dev/console rw - devpts devpts rw\n"
                "73 58 0:24 /tmp/exp/my\\040dir /my\\040dir rw - overlay overlay rw\n"
                "garbage line\n"
                "74 58 0:40 / /tmp rw - tmpfs tmpfs rw\n";

static const char host_mountinfo[] = "40 1 0:24 / / rw - overlay overlay rw\n"
                                     "22 40 0:5 / /dev rw,nosuid - devtmpfs udev rw\n"
                                     "31 40 0:31 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
                                     "32 40 0:24 /var/lib /var/lib rw - overlay overlay rw\n";

static const char config_json[] =
                "{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"rootfs\"},"
                " \"process\": {\"cwd\": \"/\", \"args\": [\"/bin/sh\"]},"
                " \"mounts\": ["
                "  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
                "  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"},"
                "  {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\"},"
                "  {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\"},"
                "  {\"destination\": \"/data/\", \"type\": \"bind\", \"source\": \"data\", \"options\": [\"rbind\"]},"
                "  {\"destination\": \"/my dir\", \"source\": \"/tmp/exp/my dir\", \"options\": [\"bind\"]},"
                "  {\"destination\": \"/data/sub\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"}"
                " ]}";

static OciConfig *config(void) {
        OciConfig *c = NULL;
        char *err = NULL;
        if (oci_config_parse(config_json, strlen(config_json), &c, &err) < 0)
                tap_fail(__FILE__, __LINE__, "config: %s", err ?: "?");
        return c;
}

static const RtExtMount *find(const RtExtMount *l, size_t n, const char *mountpoint) {
        for (size_t i = 0; i < n; i++)
                if (streq(l[i].mountpoint, mountpoint))
                        return &l[i];
        return NULL;
}

TEST(mountinfo_parse) {
        RtMountInfo *m = NULL;
        size_t n = 0;

        ASSERT_OK(rt_mountinfo_parse(ctr_mountinfo, &m, &n));
        ASSERT_EQ(n, (size_t) 13); /* the garbage line is skipped */
        ASSERT_EQ(m[0].id, 58);
        ASSERT_EQ(m[0].major, 0u);
        ASSERT_EQ(m[0].minor, 24u);
        ASSERT_STREQ(m[0].root, "/tmp/exp/b/rootfs");
        ASSERT_STREQ(m[0].mountpoint, "/");
        ASSERT_STREQ(m[0].fstype, "overlay");
        /* optional fields before the separator */
        ASSERT_STREQ(m[8].mountpoint, "/data");
        ASSERT_STREQ(m[8].fstype, "overlay");
        /* octal escapes */
        ASSERT_STREQ(m[11].root, "/tmp/exp/my dir");
        ASSERT_STREQ(m[11].mountpoint, "/my dir");
        rt_mountinfo_free(m, n);

        ASSERT_OK(rt_mountinfo_parse("", &m, &n));
        ASSERT_EQ(n, (size_t) 0);
        rt_mountinfo_free(m, n);
        ASSERT_OK(rt_mountinfo_parse("1 2 3:4 / /x rw - \n5 6 7:8 / /y rw -\n", &m, &n));
        ASSERT_EQ(n, (size_t) 0); /* no fstype after "-" */
        rt_mountinfo_free(m, n);
}

TEST(external_mounts) {
        _cleanup_(oci_config_freep) OciConfig *c = config();
        RtMountInfo *ctr = NULL, *host = NULL;
        size_t n_ctr = 0, n_host = 0, n = 0;
        RtExtMount *l = NULL;
        const RtExtMount *e;

        ASSERT_OK(rt_mountinfo_parse(ctr_mountinfo, &ctr, &n_ctr));
        ASSERT_OK(rt_mountinfo_parse(host_mountinfo, &host, &n_host));
        ASSERT_OK(rt_criu_external_mounts(c, ctr, n_ctr, host, n_host, &l, &n));
        ASSERT_EQ(n, (size_t) 4);

        e = find(l, n, "/sys/fs/cgroup");
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->kind, RT_EXT_MOUNT_CGROUP);
        ASSERT_STREQ(e->source, "/sys/fs/cgroup/aula-exp/b1");
        ASSERT_STREQ(e->hierarchy, "/sys/fs/cgroup");
        ASSERT_STREQ(e->cgroup, "/aula-exp/b1");

        e = find(l, n, "/data");
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->kind, RT_EXT_MOUNT_BIND);
        ASSERT_STREQ(e->source, "/tmp/exp/data");

        e = find(l, n, "/my dir");
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->kind, RT_EXT_MOUNT_BIND);
        ASSERT_STREQ(e->source, "/tmp/exp/my dir");

        e = find(l, n, "/dev/null");
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->kind, RT_EXT_MOUNT_HOST);
        ASSERT_STREQ(e->source, "/dev/null");

        /* binds inside the container (masked files, /dev/console, proc parts) and whole filesystems are not */
        ASSERT_NULL(find(l, n, "/proc/kcore"));
        ASSERT_NULL(find(l, n, "/dev/console"));
        ASSERT_NULL(find(l, n, "/proc/bus"));
        ASSERT_NULL(find(l, n, "/tmp"));
        ASSERT_NULL(find(l, n, "/"));

        rt_ext_mounts_free(l, n);
        rt_mountinfo_free(ctr, n_ctr);
        rt_mountinfo_free(host, n_host);
}

TEST(external_mounts_cgroupns) {
        /* With a cgroup namespace, cgroup2 is mounted anew: CRIU handles it. */
        static const char ctr_text[] = "1 0 0:24 /r / rw - overlay overlay rw\n"
                                       "2 1 0:31 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        _cleanup_(oci_config_freep) OciConfig *c = config();
        RtMountInfo *ctr = NULL;
        size_t n_ctr = 0, n = 0;
        RtExtMount *l = NULL;

        ASSERT_OK(rt_mountinfo_parse(ctr_text, &ctr, &n_ctr));
        ASSERT_OK(rt_criu_external_mounts(c, ctr, n_ctr, NULL, 0, &l, &n));
        ASSERT_EQ(n, (size_t) 0);
        rt_ext_mounts_free(l, n);
        rt_mountinfo_free(ctr, n_ctr);
}

TEST(ext_mount_source) {
        _cleanup_(oci_config_freep) OciConfig *c = config();
        RtExtMount bind = { .mountpoint = (char *) "/data",
                            .kind = RT_EXT_MOUNT_BIND,
                            .source = (char *) "/old" };
        RtExtMount gone = { .mountpoint = (char *) "/gone", .kind = RT_EXT_MOUNT_BIND };
        RtExtMount gone2 = { .mountpoint = (char *) "/gone",
                             .kind = RT_EXT_MOUNT_BIND,
                             .source = (char *) "/g" };
        RtExtMount cg = { .mountpoint = (char *) "/sys/fs/cgroup",
                          .kind = RT_EXT_MOUNT_CGROUP,
                          .source = (char *) "/sys/fs/cgroup/a/b1",
                          .hierarchy = (char *) "/sys/fs/cgroup",
                          .cgroup = (char *) "/a/b1" };
        RtExtMount cgsub = cg;
        RtExtMount host = { .mountpoint = (char *) "/dev/null",
                            .kind = RT_EXT_MOUNT_HOST,
                            .source = (char *) "/dev/null" };
        char *s = NULL;

        /* a bind: the restore's config.json decides, relative to its bundle */
        ASSERT_OK(rt_criu_ext_mount_source(&bind, c, "/bundle2", "/a/b1", "/x", &s));
        ASSERT_STREQ(s, "/bundle2/data");
        s = mfree(s);
        ASSERT_ERROR(rt_criu_ext_mount_source(&gone, c, "/bundle2", NULL, NULL, &s), ENOENT);
        ASSERT_OK(rt_criu_ext_mount_source(&gone2, c, "/bundle2", NULL, NULL, &s));
        ASSERT_STREQ(s, "/g");
        s = mfree(s);

        /* the cgroup: the same place below the new container's cgroup */
        ASSERT_OK(rt_criu_ext_mount_source(&cg, c, "/b", "/a/b1", "/x/y", &s));
        ASSERT_STREQ(s, "/sys/fs/cgroup/x/y");
        s = mfree(s);
        cgsub.cgroup = (char *) "/a/b1/sub";
        ASSERT_OK(rt_criu_ext_mount_source(&cgsub, c, "/b", "/a/b1", "/x/y", &s));
        ASSERT_STREQ(s, "/sys/fs/cgroup/x/y/sub");
        s = mfree(s);
        /* not below the old cgroup (or no cgroup): the recorded path */
        ASSERT_OK(rt_criu_ext_mount_source(&cg, c, "/b", "/a/b10", "/x/y", &s));
        ASSERT_STREQ(s, "/sys/fs/cgroup/a/b1");
        s = mfree(s);
        ASSERT_OK(rt_criu_ext_mount_source(&host, c, "/b", NULL, NULL, &s));
        ASSERT_STREQ(s, "/dev/null");
        s = mfree(s);
}

TEST(mount_needs_point) {
        _cleanup_(oci_config_freep) OciConfig *c = config();

        ASSERT_TRUE(rt_criu_mount_needs_point(c, 0)); /* /proc */
        ASSERT_TRUE(rt_criu_mount_needs_point(c, 1)); /* /dev */
        ASSERT_FALSE(rt_criu_mount_needs_point(c, 2)); /* /dev/pts: inside /dev */
        ASSERT_TRUE(rt_criu_mount_needs_point(c, 3)); /* /sys/fs/cgroup: no /sys mount in this config */
        ASSERT_TRUE(rt_criu_mount_needs_point(c, 4)); /* /data/ */
        ASSERT_TRUE(rt_criu_mount_needs_point(c, 5)); /* /my dir */
        ASSERT_FALSE(rt_criu_mount_needs_point(c, 6)); /* /data/sub: inside the /data bind */
}

TEST(fd_keys) {
        RtFdInfo f = { .mode = S_IFIFO | 0600, .ino = 4242, .link = "pipe:[4242]" };
        char *ext = NULL, *key = NULL;

        ASSERT_OK(rt_criu_fd_keys(&f, &ext, &key));
        ASSERT_NULL(ext);
        ASSERT_STREQ(key, "pipe:[4242]");
        key = mfree(key);

        f = (RtFdInfo){ .mode = S_IFSOCK | 0777, .ino = 77, .link = "socket:[77]" };
        ASSERT_OK(rt_criu_fd_keys(&f, &ext, &key));
        ASSERT_STREQ(ext, "unix[77]");
        ASSERT_STREQ(key, "socket:[77]");
        ext = mfree(ext);
        key = mfree(key);

        /* our terminal */
        f = (RtFdInfo){
                .mode = S_IFCHR | 0620, .rdev = makedev(136, 3), .dev = 0x19, .mnt_id = 9, .link = "/dev/pts/3"
        };
        ASSERT_OK(rt_criu_fd_keys(&f, &ext, &key));
        ASSERT_STREQ(ext, "tty[8803:19]");
        ASSERT_STREQ(key, "tty[8803:19]");
        ext = mfree(ext);
        key = mfree(key);

        /* the container's own pty: CRIU's */
        f.in_container = true;
        ASSERT_OK(rt_criu_fd_keys(&f, &ext, &key));
        ASSERT_NULL(ext);
        ASSERT_NULL(key);

        /* a file or device of ours */
        f = (RtFdInfo){
                .mode = S_IFCHR | 0666, .rdev = makedev(1, 3), .ino = 4, .mnt_id = 24, .link = "/dev/null"
        };
        ASSERT_OK(rt_criu_fd_keys(&f, &ext, &key));
        ASSERT_STREQ(ext, "file[18:4]");
        ASSERT_STREQ(key, "file[18:4]");
        ext = mfree(ext);
        key = mfree(key);
        f = (RtFdInfo){ .mode = S_IFREG | 0644, .ino = 0x130, .mnt_id = 29, .link = "/tmp/out" };
        ASSERT_OK(rt_criu_fd_keys(&f, &ext, &key));
        ASSERT_STREQ(ext, "file[1d:130]");
        ext = mfree(ext);
        key = mfree(key);
}

TEST(key_accepts) {
        ASSERT_TRUE(rt_criu_key_accepts("pipe:[12]", S_IFIFO | 0600, false));
        ASSERT_FALSE(rt_criu_key_accepts("pipe:[12]", S_IFREG | 0600, false));
        ASSERT_TRUE(rt_criu_key_accepts("file[18:4]", S_IFREG | 0600, false));
        ASSERT_TRUE(rt_criu_key_accepts("file[18:4]", S_IFCHR | 0666, false)); /* /dev/null */
        ASSERT_FALSE(rt_criu_key_accepts("file[18:4]", S_IFIFO | 0600, false));
        ASSERT_FALSE(rt_criu_key_accepts("file[18:4]", S_IFCHR | 0620, true));
        ASSERT_TRUE(rt_criu_key_accepts("tty[8803:19]", S_IFCHR | 0620, true));
        ASSERT_FALSE(rt_criu_key_accepts("tty[8803:19]", S_IFCHR | 0666, false));
        ASSERT_TRUE(rt_criu_key_accepts("socket:[77]", S_IFSOCK | 0777, false));
        ASSERT_FALSE(rt_criu_key_accepts("nonsense", S_IFREG | 0600, false));
        ASSERT_STREQ(rt_criu_key_kind("pipe:[1]"), "a pipe");
        ASSERT_NULL(rt_criu_key_kind("x"));
        ASSERT_STREQ(rt_criu_mode_kind(S_IFDIR | 0755, false), "something else");
}

static void meta_sample(RtCriuMeta *m) {
        *m = (RtCriuMeta){ .terminal = true, .external_netns = true };
        m->id = strdup("c1");
        m->cgroup = strdup("/aula/c1");
        m->stdio[0] = strdup("pipe:[12]");
        m->stdio[2] = strdup("file[18:4]");
        m->mounts = calloc(2, sizeof *m->mounts);
        m->n_mounts = 2;
        m->mounts[0] = (RtExtMount){ .mountpoint = strdup("/data"),
                                     .kind = RT_EXT_MOUNT_BIND,
                                     .source = strdup("/d") };
        m->mounts[1] = (RtExtMount){ .mountpoint = strdup("/sys/fs/cgroup"),
                                     .kind = RT_EXT_MOUNT_CGROUP,
                                     .source = strdup("/sys/fs/cgroup/aula/c1"),
                                     .hierarchy = strdup("/sys/fs/cgroup"),
                                     .cgroup = strdup("/aula/c1") };
}

TEST(meta_roundtrip) {
        _cleanup_free_ char *text = NULL, *err = NULL;
        RtCriuMeta m, back = {};

        meta_sample(&m);
        ASSERT_OK(rt_criu_meta_format(&m, &text));
        ASSERT_OK(rt_criu_meta_parse(text, strlen(text), &back, &err));
        ASSERT_STREQ(back.id, "c1");
        ASSERT_STREQ(back.cgroup, "/aula/c1");
        ASSERT_TRUE(back.terminal);
        ASSERT_TRUE(back.external_netns);
        ASSERT_FALSE(back.external_pidns);
        ASSERT_STREQ(back.stdio[0], "pipe:[12]");
        ASSERT_NULL(back.stdio[1]);
        ASSERT_STREQ(back.stdio[2], "file[18:4]");
        ASSERT_EQ(back.n_mounts, (size_t) 2);
        ASSERT_STREQ(back.mounts[0].mountpoint, "/data");
        ASSERT_EQ(back.mounts[0].kind, RT_EXT_MOUNT_BIND);
        ASSERT_STREQ(back.mounts[0].source, "/d");
        ASSERT_NULL(back.mounts[0].hierarchy);
        ASSERT_EQ(back.mounts[1].kind, RT_EXT_MOUNT_CGROUP);
        ASSERT_STREQ(back.mounts[1].hierarchy, "/sys/fs/cgroup");
        ASSERT_STREQ(back.mounts[1].cgroup, "/aula/c1");
        rt_criu_meta_done(&back);
        rt_criu_meta_done(&m);
}

static void expect_bad(const char *text, const char *field) {
        _cleanup_free_ char *err = NULL;
        RtCriuMeta m = {};
        int r = rt_criu_meta_parse(text, strlen(text), &m, &err);
        if (r >= 0)
                tap_fail(__FILE__, __LINE__, "accepted: %s", text);
        ASSERT_STRCONTAINS(err, field);
        ASSERT_NULL(m.id);
}

#define GOOD_HEAD \
        "\"version\": 1, \"id\": \"c\", \"terminal\": false, \"externalNetns\": false, \"externalPidns\": false"

TEST(meta_rejects_bad_input) {
        expect_bad("not json", "");
        expect_bad("[]", "");
        expect_bad("{\"version\": 2}", "version");
        expect_bad("{\"version\": 1}", "id");
        expect_bad("{" GOOD_HEAD ", \"stdio\": [null, null], \"mounts\": []}", "stdio");
        expect_bad("{" GOOD_HEAD ", \"stdio\": [null, 3, null], \"mounts\": []}", "stdio[1]");
        expect_bad("{" GOOD_HEAD ", \"stdio\": [null, null, null]}", "mounts");
        expect_bad("{" GOOD_HEAD ", \"stdio\": [null, null, null], \"mounts\": [{\"mountpoint\": \"/a\", "
                   "\"kind\": \"nfs\"}]}",
                   "mounts[0].kind");
        expect_bad("{" GOOD_HEAD ", \"stdio\": [null, null, null], \"mounts\": [{\"mountpoint\": \"a\", "
                   "\"kind\": \"bind\"}]}",
                   "mounts[0].mountpoint");
        expect_bad("{" GOOD_HEAD ", \"stdio\": [null, null, null], \"mounts\": [{\"kind\": \"bind\"}]}",
                   "mounts[0].mountpoint");
}

TEST(log_last_error) {
        static const char log[] = "(00.000047) Version: 3.17.1\n"
                                  "(01.386644)      1: Error (criu/files-reg.c:2093): File fd/1 has bad size 0\n"
                                  "(01.386839)      1: Error (criu/files.c:1213): Unable to open fd=1 id=0x3  \n"
                                  "(01.397608) Restoring FAILED.\n";
        char *s = NULL;

        ASSERT_OK(rt_criu_log_last_error(log, &s));
        ASSERT_STREQ(s, "Unable to open fd=1 id=0x3");
        s = mfree(s);
        ASSERT_OK(rt_criu_log_last_error("Error (criu/cr-dump.c:1): no newline at the end", &s));
        ASSERT_STREQ(s, "no newline at the end");
        s = mfree(s);
        ASSERT_ERROR(rt_criu_log_last_error("all fine\n", &s), ENOENT);
        ASSERT_ERROR(rt_criu_log_last_error("Error (x): \n", &s), ENOENT);
        ASSERT_ERROR(rt_criu_log_last_error("", &s), ENOENT);
}

TEST(cgroup_modes) {
        ASSERT_EQ(rt_cgroup_mode_from_string("soft"), RT_CGROUP_MODE_SOFT);
        ASSERT_EQ(rt_cgroup_mode_from_string("full"), RT_CGROUP_MODE_FULL);
        ASSERT_EQ(rt_cgroup_mode_from_string("strict"), RT_CGROUP_MODE_STRICT);
        ASSERT_EQ(rt_cgroup_mode_from_string("ignore"), RT_CGROUP_MODE_IGNORE);
        ASSERT_EQ(rt_cgroup_mode_from_string("SOFT"), _RT_CGROUP_MODE_INVALID);
        ASSERT_EQ(rt_cgroup_mode_from_string(""), _RT_CGROUP_MODE_INVALID);
        ASSERT_EQ(rt_cgroup_mode_from_string(NULL), _RT_CGROUP_MODE_INVALID);
        ASSERT_EQ(rt_cgroup_mode_to_criu(RT_CGROUP_MODE_DEFAULT), -1);
        ASSERT_EQ(rt_cgroup_mode_to_criu(RT_CGROUP_MODE_SOFT), 3);
        ASSERT_EQ(rt_cgroup_mode_to_criu(RT_CGROUP_MODE_IGNORE), 0);
        ASSERT_EQ(rt_ext_mount_kind_from_string("host"), RT_EXT_MOUNT_HOST);
        ASSERT_EQ(rt_ext_mount_kind_from_string("x"), _RT_EXT_MOUNT_KIND_INVALID);
}
