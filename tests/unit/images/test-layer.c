/* SPDX-License-Identifier: Apache-2.0 */
#include "helpers.h"
#include "tap.h"

static int convert(TarB *b, bool devices, SqImage *img, ImgLayerResult *res, char **msg) {
        _cleanup_close_ int fd = -EBADF;
        fd = convert_tar(b->out.data, b->out.len, devices, res, msg);
        if (fd < 0)
                return fd;
        return sq_read(fd, img);
}

static bool has_xattr(const SqEntry *e, const char *kv) {
        return e && e->xattrs && strstr(e->xattrs, kv);
}

TEST(path_split) {
        _cleanup_strv_free_ char **v = NULL;
        _cleanup_free_ char *msg = NULL;

        ASSERT_EQ(img_path_split("./usr//bin/./ls", 4096, &v, &msg), 3);
        ASSERT_STREQ(v[0], "usr");
        ASSERT_STREQ(v[1], "bin");
        ASSERT_STREQ(v[2], "ls");
        strv_free(v);
        v = NULL;
        ASSERT_EQ(img_path_split("./", 4096, &v, &msg), 0);
        strv_free(v);
        v = NULL;
        ASSERT_EQ(img_path_split("/", 4096, &v, &msg), 0);
        strv_free(v);
        v = NULL;
        ASSERT_ERROR(img_path_split("/etc/passwd", 4096, &v, &msg), EPERM);
        ASSERT_STRCONTAINS(msg, "absolute");
        free(msg);
        msg = NULL;
        ASSERT_ERROR(img_path_split("a/../../etc", 4096, &v, &msg), EPERM);
        ASSERT_STRCONTAINS(msg, "'..'");
}

TEST(basic_tree_roundtrip) {
        TarB b = {};
        SqImage img = {};
        ImgLayerResult res = {};
        _cleanup_free_ char *msg = NULL;
        const SqEntry *e;
        char big[300000];

        for (size_t i = 0; i < sizeof(big); i++)
                big[i] = (char) (i * 31 + i / 1000);
        tb_dir(&b, "./");
        tb_dir(&b, "./etc/");
        tb_file(&b, "./etc/hostname", "aula\n");
        tb_entry(&b, '0', "./usr/lib/big", NULL, 0600, big, sizeof(big), 0, 0);
        tb_symlink(&b, "./lib", "usr/lib");
        tb_hardlink(&b, "./etc/hostname2", "etc/hostname");
        tb_entry(&b, '6', "./run/fifo", NULL, 0600, NULL, 0, 0, 0);
        tb_end(&b);
        ASSERT_OK(convert(&b, false, &img, &res, &msg));

        e = sq_find(&img, "etc/hostname");
        ASSERT_NOT_NULL(e);
        ASSERT_TRUE(S_ISREG(e->mode));
        ASSERT_EQ(e->mode & 07777, 0644u);
        ASSERT_EQ(e->nlink, 2u);
        ASSERT_EQ(e->data.len, 5u);
        ASSERT_TRUE(memcmp(e->data.data, "aula\n", 5) == 0);
        ASSERT_EQ(e->mtime, 1700000000u);
        ASSERT_EQ(sq_find(&img, "etc/hostname2")->inode_number, e->inode_number);
        e = sq_find(&img, "usr/lib/big");
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(e->data.len, sizeof(big));
        ASSERT_TRUE(memcmp(e->data.data, big, sizeof(big)) == 0);
        e = sq_find(&img, "lib");
        ASSERT_TRUE(S_ISLNK(e->mode));
        ASSERT_STREQ(e->link, "usr/lib");
        ASSERT_TRUE(S_ISFIFO(sq_find(&img, "run/fifo")->mode));
        ASSERT_TRUE(S_ISDIR(sq_find(&img, "usr")->mode));

        /* usr, usr/lib and run were only parents; the symlink list feeds the cross-layer check. */
        ASSERT_EQ(res.implicit_dirs, 3u);
        ASSERT_EQ(res.summary.n_dirs, 4u); /* etc, usr, usr/lib, run */
        ASSERT_EQ(strv_length(res.summary.symlinks), 1u);
        ASSERT_STREQ(res.summary.symlinks[0], "lib");
        ASSERT_TRUE(startswith(res.diff_id, "sha256:") != NULL);
        {
                char want[IMG_DIGEST_MAX];
                ASSERT_OK(img_digest_buffer(b.out.data, b.out.len, want));
                ASSERT_STREQ(res.diff_id, want);
                ASSERT_EQ(res.tar_size, b.out.len);
        }
        img_layer_result_done(&res);
        sq_done(&img);
        tb_done(&b);
}

TEST(compressed_layers_give_the_same_tree_and_diff_id) {
        TarB b = {};
        Buf gz = {}, zs = {};
        SqImage a = {}, c = {};
        ImgLayerResult ra = {}, rc = {};
        _cleanup_free_ char *msg = NULL;
        _cleanup_close_ int fa = -EBADF, fc = -EBADF;

        tb_file(&b, "a", "hello");
        tb_end(&b);
        gzip_buf(b.out.data, b.out.len, &gz);
        zstd_buf(b.out.data, b.out.len, &zs);
        fa = convert_tar(gz.data, gz.len, false, &ra, &msg);
        fc = convert_tar(zs.data, zs.len, false, &rc, &msg);
        ASSERT_TRUE(fa >= 0 && fc >= 0);
        ASSERT_STREQ(ra.diff_id, rc.diff_id);
        ASSERT_OK(sq_read(fa, &a));
        ASSERT_OK(sq_read(fc, &c));
        ASSERT_EQ(sq_find(&a, "a")->data.len, 5u);
        ASSERT_EQ(sq_find(&c, "a")->data.len, 5u);
        img_layer_result_done(&ra);
        img_layer_result_done(&rc);
        sq_done(&a);
        sq_done(&c);
        buf_done(&gz);
        buf_done(&zs);
        tb_done(&b);
}

TEST(whiteouts_become_overlay_whiteouts) {
        TarB b = {};
        SqImage img = {};
        ImgLayerResult res = {};
        _cleanup_free_ char *msg = NULL;
        const SqEntry *e;

        tb_dir(&b, "etc/");
        tb_file(&b, "etc/.wh.motd", "");
        tb_dir(&b, "var/");
        tb_file(&b, "var/.wh..wh..opq", "");
        tb_file(&b, "var/new", "n");
        tb_file(&b, "keep", "k");
        tb_file(&b, ".wh.keep", ""); /* same-layer entry wins */
        tb_file(&b, "gone/.wh.x", ""); /* parent only implied */
        tb_file(&b, ".wh..wh.plnk", ""); /* AUFS bookkeeping is ignored */
        tb_end(&b);
        ASSERT_OK(convert(&b, false, &img, &res, &msg));

        e = sq_find(&img, "etc/motd");
        ASSERT_NOT_NULL(e);
        ASSERT_TRUE(S_ISCHR(e->mode));
        ASSERT_EQ(e->rdev, 0u);
        ASSERT_NULL(sq_find(&img, "etc/.wh.motd"));
        e = sq_find(&img, "var");
        ASSERT_TRUE(has_xattr(e, "trusted.overlay.opaque=y"));
        ASSERT_TRUE(has_xattr(e, "user.overlay.opaque=y"));
        ASSERT_NULL(sq_find(&img, "var/.wh..wh..opq"));
        ASSERT_NOT_NULL(sq_find(&img, "var/new"));
        ASSERT_TRUE(S_ISREG(sq_find(&img, "keep")->mode));
        ASSERT_TRUE(S_ISCHR(sq_find(&img, "gone/x")->mode));
        ASSERT_NULL(sq_find(&img, ".wh..wh.plnk"));
        ASSERT_NULL(sq_find(&img, "plnk"));
        ASSERT_EQ(strv_length(res.summary.whiteouts), 2u);
        ASSERT_TRUE(strv_contains(res.summary.whiteouts, "etc/motd"));
        ASSERT_EQ(strv_length(res.summary.opaque_dirs), 1u);
        ASSERT_STREQ(res.summary.opaque_dirs[0], "var");
        img_layer_result_done(&res);
        sq_done(&img);
        tb_done(&b);
}

TEST(opaque_marker_before_its_directory_entry) {
        TarB b = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;

        tb_file(&b, "a/.wh..wh..opq", "");
        tb_entry(&b, '5', "a/", NULL, 0700, NULL, 0, 0, 0);
        tb_end(&b);
        ASSERT_OK(convert(&b, false, &img, NULL, &msg));
        ASSERT_TRUE(has_xattr(sq_find(&img, "a"), "trusted.overlay.opaque=y"));
        ASSERT_EQ(sq_find(&img, "a")->mode & 07777, 0700u);
        sq_done(&img);
        tb_done(&b);
}

TEST(whiteout_then_recreated_directory_is_opaque) {
        TarB b = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;

        tb_file(&b, ".wh.d", "");
        tb_dir(&b, "d/");
        tb_file(&b, ".wh.e", "");
        tb_file(&b, "e/f", "x"); /* implied parent of a deleted directory */
        tb_end(&b);
        ASSERT_OK(convert(&b, false, &img, NULL, &msg));
        ASSERT_TRUE(S_ISDIR(sq_find(&img, "d")->mode));
        ASSERT_TRUE(has_xattr(sq_find(&img, "d"), "trusted.overlay.opaque=y"));
        ASSERT_TRUE(S_ISDIR(sq_find(&img, "e")->mode));
        ASSERT_TRUE(has_xattr(sq_find(&img, "e"), "user.overlay.opaque=y"));
        sq_done(&img);
        tb_done(&b);
}

TEST(duplicates_follow_tar_semantics) {
        TarB b = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;

        tb_file(&b, "f", "first");
        tb_file(&b, "f", "second");
        tb_dir(&b, "d/");
        tb_file(&b, "d/x", "x");
        tb_file(&b, "d", "now a file");
        tb_end(&b);
        ASSERT_OK(convert(&b, false, &img, NULL, &msg));
        ASSERT_EQ(sq_find(&img, "f")->data.len, 6u);
        ASSERT_TRUE(S_ISREG(sq_find(&img, "d")->mode));
        ASSERT_NULL(sq_find(&img, "d/x"));
        sq_done(&img);
        tb_done(&b);
}

TEST(xattrs_are_filtered) {
        TarB b = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;
        const SqEntry *e;

        tb_pax(&b, "SCHILY.xattr.security.capability", "cap", 3);
        tb_pax(&b, "SCHILY.xattr.user.note", "hi", 2);
        tb_pax(&b, "SCHILY.xattr.trusted.overlay.redirect", "/etc", 4);
        tb_pax(&b, "SCHILY.xattr.user.overlay.opaque", "y", 1);
        tb_pax(&b, "SCHILY.xattr.system.posix_acl_access", "acl", 3);
        tb_file(&b, "ping", "elf");
        tb_end(&b);
        ASSERT_OK(convert(&b, false, &img, NULL, &msg));
        e = sq_find(&img, "ping");
        ASSERT_TRUE(has_xattr(e, "security.capability=cap"));
        ASSERT_TRUE(has_xattr(e, "user.note=hi"));
        ASSERT_FALSE(has_xattr(e, "overlay"));
        ASSERT_FALSE(has_xattr(e, "posix_acl"));
        sq_done(&img);
        tb_done(&b);
}

TEST(device_nodes_need_permission) {
        TarB b = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;

        tb_entry(&b, '4', "dev/sda", NULL, 0660, NULL, 0, 8, 0);
        tb_end(&b);
        ASSERT_ERROR(convert(&b, false, &img, NULL, &msg), EPERM);
        ASSERT_STRCONTAINS(msg, "device node");
        ASSERT_STRCONTAINS(msg, "dev/sda");
        free(msg);
        msg = NULL;
        ASSERT_OK(convert(&b, true, &img, NULL, &msg));
        ASSERT_TRUE(S_ISBLK(sq_find(&img, "dev/sda")->mode));
        /* kernel new_encode_dev(8, 0) */
        ASSERT_EQ(sq_find(&img, "dev/sda")->rdev, 8u << 8);
        sq_done(&img);
        tb_done(&b);
}

TEST(escapes_are_refused) {
        struct {
                char type;
                const char *path, *link, *needle;
                int err;
        } one[] = {
                { '0', "../etc/passwd", NULL, "'..'", EPERM },
                { '0', "a/../../x", NULL, "'..'", EPERM },
                { '0', "/etc/passwd", NULL, "absolute", EPERM },
                { '1', "x", "../../etc/shadow", "outside the layer", EPERM },
                { '1', "x", "/etc/shadow", "outside the layer", EPERM },
                { '1', "x", "not/here", "not a file earlier in this layer", EPERM },
                { '2', "x", "", "empty target", EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(one); i++) {
                TarB b = {};
                SqImage img = {};
                _cleanup_free_ char *msg = NULL;

                tb_entry(&b, one[i].type, one[i].path, one[i].link, 0644, NULL, 0, 0, 0);
                tb_end(&b);
                ASSERT_ERROR(convert(&b, true, &img, NULL, &msg), one[i].err);
                ASSERT_STRCONTAINS(msg, one[i].needle);
                tb_done(&b);
        }
}

TEST(symlinked_parent_is_refused) {
        TarB b = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;

        tb_symlink(&b, "evil", "/etc");
        tb_file(&b, "evil/passwd", "root::0:0::/:/bin/sh\n");
        tb_end(&b);
        ASSERT_ERROR(convert(&b, true, &img, NULL, &msg), EPERM);
        ASSERT_STRCONTAINS(msg, "'evil/passwd' leads through the symlink 'evil'");
        tb_done(&b);
}

TEST(file_as_parent_is_refused) {
        TarB b = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;

        tb_file(&b, "f", "x");
        tb_file(&b, "f/g", "y");
        tb_end(&b);
        ASSERT_ERROR(convert(&b, true, &img, NULL, &msg), ENOTDIR);
        tb_done(&b);
}

TEST(hardlink_to_directory_is_refused) {
        TarB b = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;

        tb_dir(&b, "d/");
        tb_hardlink(&b, "x", "d");
        tb_end(&b);
        ASSERT_ERROR(convert(&b, true, &img, NULL, &msg), EPERM);
        tb_done(&b);
}

TEST(hardlink_survives_replacement_of_its_target) {
        TarB b = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;

        tb_file(&b, "t", "old");
        tb_hardlink(&b, "l", "t");
        tb_file(&b, "t", "newer");
        tb_end(&b);
        ASSERT_OK(convert(&b, true, &img, NULL, &msg));
        ASSERT_EQ(sq_find(&img, "l")->data.len, 3u);
        ASSERT_EQ(sq_find(&img, "l")->nlink, 1u);
        ASSERT_EQ(sq_find(&img, "t")->data.len, 5u);
        sq_done(&img);
        tb_done(&b);
}

TEST(corrupt_layer_stream_fails) {
        TarB b = {};
        Buf gz = {};
        _cleanup_free_ char *msg = NULL;
        int fd;

        for (int i = 0; i < 50; i++)
                tb_file(&b, "f", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        tb_end(&b);
        gzip_buf(b.out.data, b.out.len, &gz);
        fd = convert_tar(gz.data, gz.len / 2, false, NULL, &msg);
        ASSERT_EQ(fd, -EBADMSG);
        ASSERT_STRCONTAINS(msg, "gzip");
        buf_done(&gz);
        tb_done(&b);
}

TEST(many_entries_in_one_directory) {
        TarB b = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;
        char name[64];

        /* Enough to need several directory headers and an index in an extended directory inode. */
        for (int i = 0; i < 3000; i++) {
                snprintf(name, sizeof(name), "usr/bin/tool-%05d-with-a-long-enough-name", i);
                tb_file(&b, name, "#!/bin/sh\n");
        }
        tb_end(&b);
        ASSERT_OK(convert(&b, false, &img, NULL, &msg));
        ASSERT_EQ(img.n, 3000u + 3u);
        ASSERT_NOT_NULL(sq_find(&img, "usr/bin/tool-02999-with-a-long-enough-name"));
        sq_done(&img);
        tb_done(&b);
}

TEST(empty_layer) {
        TarB b = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;

        tb_end(&b);
        ASSERT_OK(convert(&b, false, &img, NULL, &msg));
        ASSERT_EQ(img.n, 1u);
        ASSERT_TRUE(S_ISDIR(img.e[0].mode));
        sq_done(&img);
        tb_done(&b);
}

/* What the writer produces passes the superblock check; each kind of damage is named. */
TEST(superblock_check) {
        static const struct {
                size_t off, size;
                uint64_t value;
                const char *msg;
        } damage[] = {
                { 0, 4, 0x73717369, "bad magic" },
                { 28, 2, 3, "version 3.0" },
                { 22, 2, 11, "bad block size" },
                { 12, 4, 4096 * 3, "bad block size" },
                { 20, 2, 7, "unknown compressor" },
                { 24, 2, 0x1000, "unknown flags" },
                { 26, 2, 0, "no ids" },
                { 40, 8, UINT64_MAX / 2, "the file holds" },
                { 64, 8, 8, "out of order" },
                { 32, 8, 0xffffffffffffull, "root inode reference" },
                { 48, 8, UINT64_MAX, "no id table" },
                { 48, 8, 100, "id table" },
        };
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *msg = NULL;
        uint8_t super[96];
        uint64_t used;
        struct stat st;
        TarB b = {};

        tb_dir(&b, "etc/");
        tb_file(&b, "etc/hostname", "lab\n");
        tb_end(&b);
        fd = convert_tar(b.out.data, b.out.len, false, NULL, &msg);
        ASSERT_OK(fd);
        ASSERT_OK(img_sqfs_check_fd(fd, &msg));
        ASSERT_EQ(pread(fd, super, sizeof super, 0), (ssize_t) sizeof super);
        ASSERT_OK(fstat(fd, &st));
        ASSERT_ERROR(img_sqfs_check_super(super, 95, (uint64_t) st.st_size, &msg), EBADMSG);
        ASSERT_STRCONTAINS(msg, "too short");
        for (size_t i = 0; i < ELEMENTSOF(damage); i++) {
                uint8_t bad[96];
                char *m = NULL;
                memcpy(bad, super, sizeof bad);
                memcpy(bad + damage[i].off, &damage[i].value, damage[i].size); /* little-endian host */
                ASSERT_ERROR(img_sqfs_check_super(bad, sizeof bad, (uint64_t) st.st_size, &m), EBADMSG);
                ASSERT_STRCONTAINS(m, damage[i].msg);
                free(m);
        }
        /* A truncated file: the image claims more than the file holds. */
        memcpy(&used, super + 40, sizeof used);
        ASSERT_OK(img_sqfs_check_super(super, sizeof super, used, &msg));
        ASSERT_ERROR(img_sqfs_check_super(super, sizeof super, used - 1, &msg), EBADMSG);
        tb_done(&b);
}

/* Build a view from a first layer, as an import does, and convert a second layer over it. */
static int convert_over(TarB *lower, TarB *upper, SqImage *img, char **msg) {
        _cleanup_(img_view_freep) ImgView *v = NULL;
        ImgLayerResult res = {};
        _cleanup_close_ int fd = -EBADF, in = -EBADF, out = -EBADF;
        ImgStream *s = NULL;
        ImgLayerOptions o = { .limits = &img_default_limits,
                              .sqfs = { .compressor = 6, .level = 1, .workers = 1 } };
        int r;

        ASSERT_OK(img_view_new(&v));
        fd = convert_tar(lower->out.data, lower->out.len, false, &res, msg);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(img_view_apply(v, &res.summary));
        img_layer_result_done(&res);

        o.lower = v;
        in = memfd_with(upper->out.data, upper->out.len);
        out = memfd_with("", 0);
        ASSERT_OK(img_stream_fd(in, 0, UINT64_MAX, msg, &s));
        r = img_layer_convert(s, IMG_COMPRESSION_AUTO, out, &o, &res, msg);
        if (r < 0)
                return r;
        img_layer_result_done(&res);
        return sq_read(out, img);
}

TEST(implicit_parents_inherit_from_lower_layers) {
        TarB lower = {}, upper = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;
        const SqEntry *e;

        tb_entry(&lower, '5', "tmp/", NULL, 01777, NULL, 0, 0, 0);
        tb_entry(&lower, '5', "home/", NULL, 0750, NULL, 0, 0, 0);
        tb_end(&lower);
        tb_file(&upper, "tmp/x", "x"); /* no tmp/ entry, as umoci writes layers */
        tb_file(&upper, "home/student/notes", "n");
        tb_file(&upper, "new/dir/f", "f");
        tb_end(&upper);
        ASSERT_OK(convert_over(&lower, &upper, &img, &msg));
        e = sq_find(&img, "tmp");
        ASSERT_EQ(e->mode & 07777, 01777u);
        ASSERT_EQ(e->mtime, 1700000000u);
        ASSERT_EQ(sq_find(&img, "home")->mode & 07777, 0750u);
        ASSERT_EQ(sq_find(&img, "home/student")->mode & 07777, 0755u);
        ASSERT_EQ(sq_find(&img, "new")->mode & 07777, 0755u);
        sq_done(&img);
        tb_done(&lower);
        tb_done(&upper);
}

TEST(symlinked_parent_in_lower_layer_is_refused) {
        TarB lower = {}, upper = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;

        tb_symlink(&lower, "evil", "/etc");
        tb_end(&lower);
        tb_file(&upper, "evil/passwd", "root::0:0::/:/bin/sh\n");
        tb_end(&upper);
        ASSERT_ERROR(convert_over(&lower, &upper, &img, &msg), EPERM);
        ASSERT_STRCONTAINS(msg, "'evil/passwd' leads through 'evil', a symlink in a lower layer");
        tb_done(&lower);
        tb_done(&upper);
}

TEST(explicit_directory_replaces_lower_symlink) {
        TarB lower = {}, upper = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;

        tb_symlink(&lower, "lib", "usr/lib");
        tb_end(&lower);
        tb_dir(&upper, "lib/");
        tb_file(&upper, "lib/x", "x");
        tb_end(&upper);
        ASSERT_OK(convert_over(&lower, &upper, &img, &msg));
        ASSERT_TRUE(S_ISDIR(sq_find(&img, "lib")->mode));
        sq_done(&img);
        tb_done(&lower);
        tb_done(&upper);
}

TEST(whiteout_of_lower_symlink_then_directory) {
        TarB lower = {}, upper = {};
        SqImage img = {};
        _cleanup_free_ char *msg = NULL;

        tb_symlink(&lower, "lib", "usr/lib");
        tb_end(&lower);
        tb_file(&upper, ".wh.lib", "");
        tb_file(&upper, "lib/x", "x");
        tb_end(&upper);
        ASSERT_OK(convert_over(&lower, &upper, &img, &msg));
        ASSERT_TRUE(S_ISDIR(sq_find(&img, "lib")->mode));
        ASSERT_TRUE(has_xattr(sq_find(&img, "lib"), "trusted.overlay.opaque=y"));
        sq_done(&img);
        tb_done(&lower);
        tb_done(&upper);
}

TEST(view_applies_whiteouts_and_opaque_dirs) {
        _cleanup_(img_view_freep) ImgView *v = NULL;
        ImgDirAttr dirs[] = {
                { .path = (char *) "a", .mode = S_IFDIR | 0700 },
                { .path = (char *) "a/b", .mode = S_IFDIR | 0711 },
                { .path = (char *) "c", .mode = S_IFDIR | 0755 },
        };
        ImgLayerSummary one = { .dirs = dirs, .n_dirs = 3, .symlinks = (char *[]){ (char *) "s", NULL } };
        ImgLayerSummary two = { .whiteouts = (char *[]){ (char *) "c", NULL },
                                .opaque_dirs = (char *[]){ (char *) "a", NULL } };
        ImgDirAttr got;

        ASSERT_OK(img_view_new(&v));
        ASSERT_OK(img_view_apply(v, &one));
        ASSERT_EQ(img_view_lookup(v, (char *[]){ (char *) "a", (char *) "b" }, 2, &got), IMG_VIEW_DIR);
        ASSERT_EQ(got.mode & 07777, 0711u);
        ASSERT_EQ(img_view_lookup(v, (char *[]){ (char *) "s" }, 1, NULL), IMG_VIEW_SYMLINK);
        ASSERT_EQ(img_view_lookup(v, (char *[]){ (char *) "s", (char *) "x" }, 2, NULL), IMG_VIEW_NONE);
        ASSERT_OK(img_view_apply(v, &two));
        ASSERT_EQ(img_view_lookup(v, (char *[]){ (char *) "c" }, 1, NULL), IMG_VIEW_NONE);
        ASSERT_EQ(img_view_lookup(v, (char *[]){ (char *) "a" }, 1, NULL), IMG_VIEW_DIR);
        ASSERT_EQ(img_view_lookup(v, (char *[]){ (char *) "a", (char *) "b" }, 2, NULL), IMG_VIEW_NONE);
}
