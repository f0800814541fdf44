/* SPDX-License-Identifier: Apache-2.0 */

/*
 * Imports from OCI layouts, OCI archives and docker archives built in memory,
 * and every kind of bad input: each must fail with a clear message and leave
 * the store exactly as it was.
 */

#include <sys/file.h>
#include <sys/wait.h>

#include "helpers.h"
#include "oci.h"
#include "tap.h"

typedef struct Env {
        TmpDir src, root;
        ImgStore *s;
        char *msg;
} Env;

static void env_new(Env *e, unsigned flags) {
        *e = (Env){};
        tmpdir_new(&e->src);
        tmpdir_new(&e->root);
        ASSERT_OK(img_store_open(e->root.path, flags, &e->s, &e->msg));
}

static void env_done(Env *e) {
        img_store_free(e->s);
        tmpdir_done(&e->src);
        tmpdir_done(&e->root);
        free(e->msg);
}

static void two_layers(KitLayer l[2]) {
        TarB a = {}, b = {};

        tb_dir(&a, "bin/");
        tb_file(&a, "bin/hello", "#!/bin/sh\necho hello\n");
        tb_dir(&a, "etc/");
        tb_file(&a, "etc/passwd", "root:x:0:0::/root:/bin/sh\nstudent:x:1000:1000::/home:/bin/sh\n");
        tb_file(&a, "etc/group", "root:x:0:\nstudent:x:1000:\nlab:x:2000:student\n");
        tb_file(&a, "etc/motd", "old\n");
        tb_end(&a);
        tb_file(&b, "etc/.wh.motd", "");
        tb_file(&b, "etc/issue", "aula\n");
        tb_end(&b);
        kit_layer(&l[0], &a, 'g');
        kit_layer(&l[1], &b, 'z');
        tb_done(&a);
        tb_done(&b);
}

static void layers_done(KitLayer *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                buf_done(&l[i].blob);
}

static char *source_path(Env *e, const char *suffix) {
        char *p;
        ASSERT_OK(xasprintf(&p, "%s%s", e->src.path, suffix));
        return p;
}

/* --------------------------------------------------------------- happy */

TEST(oci_layout_import_list_inspect_remove) {
        Env e;
        KitLayer l[2];
        char mdigest[IMG_DIGEST_MAX];
        _cleanup_free_ char *digest = NULL, *src = NULL, *resolved = NULL, *cfg = NULL;
        ImgInfo **list = NULL, *info = NULL;
        size_t n, len;
        ImgGcStats st;

        env_new(&e, 0);
        two_layers(l);
        kit_layout(e.src.fd, l, 2, "1.0", mdigest);
        ASSERT_OK(xasprintf(&src, "%s:1.0", e.src.path));
        ASSERT_OK(img_import(e.s, src, &(ImgImportOptions){ .name = "lab/base" }, &digest, &e.msg));
        ASSERT_STREQ(digest, mdigest);

        ASSERT_OK(img_list(e.s, &list, &n, &e.msg));
        ASSERT_EQ(n, 1u);
        ASSERT_STREQ(list[0]->names[0], "lab/base:latest");
        ASSERT_EQ(list[0]->n_layers, 2u);
        ASSERT_STREQ(list[0]->layers[1].diff_id, l[1].diff_id);
        ASSERT_STREQ(list[0]->os, "linux");
        ASSERT_STREQ(list[0]->created, "2024-01-02T03:04:05Z");
        ASSERT_TRUE(startswith(list[0]->source, "oci:") != NULL);
        img_info_free_many(list, n);

        /* By name, name:tag, digest and a short prefix of it. */
        ASSERT_OK(img_resolve(e.s, "lab/base", &resolved, &e.msg));
        ASSERT_STREQ(resolved, mdigest);
        free(resolved);
        ASSERT_OK(img_resolve(e.s, mdigest + 7, &resolved, &e.msg));
        free(resolved);
        {
                char prefix[16];
                snprintf(prefix, sizeof(prefix), "%.10s", mdigest + 7);
                ASSERT_OK(img_resolve(e.s, prefix, &resolved, &e.msg));
                ASSERT_STREQ(resolved, mdigest);
        }
        ASSERT_ERROR(img_resolve(e.s, "nothere", &resolved, &e.msg), ENOENT);

        ASSERT_OK(img_config_json(e.s, "lab/base:latest", &cfg, &len, &e.msg));
        ASSERT_STRCONTAINS(cfg, "\"WorkingDir\":\"/srv\"");
        ASSERT_OK(img_tag(e.s, "lab/base", "other:2", &e.msg));
        ASSERT_OK(img_inspect(e.s, "other:2", &info, &e.msg));
        ASSERT_EQ(strv_length(info->names), 2u);
        img_info_free(info);

        /* Removing one name keeps the image; the last one deletes it and reclaims space. */
        ASSERT_OK(img_remove(e.s, "other:2", NULL, &e.msg));
        ASSERT_OK(img_inspect(e.s, "lab/base", &info, &e.msg));
        img_info_free(info);
        ASSERT_OK(img_remove(e.s, "lab/base", NULL, &e.msg));
        ASSERT_ERROR(img_inspect(e.s, "lab/base", &info, &e.msg), ENOENT);
        ASSERT_OK(img_gc(e.s, &st, &e.msg));
        ASSERT_EQ(st.blobs_removed, 0u); /* rm already collected */
        {
                _cleanup_free_ char *t = tree_listing(e.root.path);
                ASSERT_NULL(strstr(t, ".sqfs"));
                ASSERT_NULL(strstr(t, "blobs/sha256/"));
        }
        layers_done(l, 2);
        env_done(&e);
}

static void count_cached(const ImgProgress *p, void *u) {
        if (p->kind == IMG_PROGRESS_CACHED)
                (*(int *) u)++;
}

TEST(reimport_uses_the_store) {
        Env e;
        KitLayer l[2];
        char mdigest[IMG_DIGEST_MAX];
        _cleanup_free_ char *before = NULL, *after = NULL;
        int cached = 0;

        env_new(&e, 0);
        two_layers(l);
        kit_layout(e.src.fd, l, 2, "x", mdigest);
        ASSERT_OK(img_import(e.s, e.src.path, NULL, NULL, &e.msg));
        before = tree_listing(e.root.path);
        ASSERT_OK(img_import(
                        e.s, e.src.path,
                        &(ImgImportOptions){ .progress = count_cached, .userdata = &cached }, NULL, &e.msg));
        after = tree_listing(e.root.path);
        ASSERT_EQ(cached, 2);
        ASSERT_STREQ(before, after);
        layers_done(l, 2);
        env_done(&e);
}

/* A layer squashfs that is damaged in the store is not reused: the import converts it again. */
TEST(damaged_store_layer_is_converted_again) {
        Env e;
        KitLayer l[2];
        char mdigest[IMG_DIGEST_MAX];
        _cleanup_free_ char *sq = NULL, *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        ImgInfo *info = NULL;
        size_t len;
        int cached = 0;

        env_new(&e, 0);
        two_layers(l);
        kit_layout(e.src.fd, l, 2, NULL, mdigest);
        ASSERT_OK(img_import(e.s, e.src.path, &(ImgImportOptions){ .name = "x" }, NULL, &e.msg));
        ASSERT_OK(img_inspect(e.s, "x", &info, &e.msg));
        ASSERT_OK(img_layer_path(info->layers[1].chain_id, ".sqfs", &sq));
        ASSERT_OK(read_full_file_at(e.s->dirfd, sq, 64u << 20, &text, &len));
        /* Same size, superblock gone: only a check of the contents notices. */
        memset(text, 0, 96);
        write_at(e.s->dirfd, sq, text, len);
        fd = openat(e.s->dirfd, sq, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_ERROR(img_sqfs_check_fd(fd, &e.msg), EBADMSG);
        ASSERT_STRCONTAINS(e.msg, "bad magic");
        fd = safe_close(fd);
        free(e.msg);
        e.msg = NULL;
        ASSERT_OK(img_import(
                        e.s, e.src.path,
                        &(ImgImportOptions){ .name = "x", .progress = count_cached, .userdata = &cached },
                        NULL, &e.msg));
        ASSERT_EQ(cached, 1);
        fd = openat(e.s->dirfd, sq, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(img_sqfs_check_fd(fd, &e.msg));
        img_info_free(info);
        layers_done(l, 2);
        env_done(&e);
}

TEST(default_name_from_layout_and_ref) {
        Env e;
        KitLayer l[2];
        char mdigest[IMG_DIGEST_MAX];
        ImgInfo *info = NULL;

        env_new(&e, 0);
        two_layers(l);
        kit_layout(e.src.fd, l, 2, "v2", mdigest);
        ASSERT_OK(img_import(e.s, e.src.path, NULL, NULL, &e.msg));
        ASSERT_OK(img_inspect(e.s, mdigest, &info, &e.msg));
        /* /tmp/aula-images-unit-XXXXXX -> "aula-images-unit-xxxxxx:v2" */
        ASSERT_TRUE(startswith(info->names[0], "aula-images-unit-") != NULL);
        ASSERT_TRUE(endswith(info->names[0], ":v2"));
        img_info_free(info);
        layers_done(l, 2);
        env_done(&e);
}

TEST(oci_archive_and_compressed_archive) {
        Env e;
        KitLayer l[2];
        char mdigest[IMG_DIGEST_MAX];
        Buf tar = {}, gz = {};
        _cleanup_free_ char *digest = NULL, *p1 = NULL, *p2 = NULL;
        TmpDir layout;

        env_new(&e, 0);
        tmpdir_new(&layout);
        two_layers(l);
        kit_layout(layout.fd, l, 2, "1", mdigest);
        tar_directory(layout.path, &tar);
        gzip_buf(tar.data, tar.len, &gz);
        write_at(e.src.fd, "image.tar", tar.data, tar.len);
        write_at(e.src.fd, "image.tar.gz", gz.data, gz.len);
        p1 = source_path(&e, "/image.tar");
        p2 = source_path(&e, "/image.tar.gz");
        ASSERT_OK(img_import(e.s, p1, &(ImgImportOptions){ .name = "arch" }, &digest, &e.msg));
        ASSERT_STREQ(digest, mdigest);
        free(digest);
        digest = NULL;
        ASSERT_OK(img_import(e.s, p2, &(ImgImportOptions){ .name = "archgz" }, &digest, &e.msg));
        ASSERT_STREQ(digest, mdigest);
        buf_done(&tar);
        buf_done(&gz);
        layers_done(l, 2);
        tmpdir_done(&layout);
        env_done(&e);
}

/* A docker save archive: manifest.json, <id>.json config, <id>/layer.tar (uncompressed). */
static void docker_archive(Env *e, const char *name, KitLayer *layers, size_t n, const char *tags, Buf *out) {
        TmpDir d;
        _cleanup_free_ char *cfg = kit_config(layers, n, img_host_arch());
        char cdigest[IMG_DIGEST_MAX], path[256], manifest[4096] = "[{\"Config\":\"";
        size_t off;

        tmpdir_new(&d);
        ASSERT_OK(img_digest_buffer(cfg, strlen(cfg), cdigest));
        snprintf(path, sizeof(path), "%s.json", cdigest + 7);
        write_at(d.fd, path, cfg, strlen(cfg));
        off = strlen(manifest);
        off += (size_t) snprintf(
                        manifest + off, sizeof(manifest) - off, "%s\",\"RepoTags\":%s,\"Layers\":[", path,
                        tags);
        for (size_t i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "%.12s/layer.tar", layers[i].diff_id + 7 + i);
                write_at(d.fd, path, layers[i].blob.data, layers[i].blob.len);
                off += (size_t) snprintf(
                                manifest + off, sizeof(manifest) - off, "%s\"%s\"", i ? "," : "", path);
        }
        snprintf(manifest + off, sizeof(manifest) - off, "]}]");
        write_at(d.fd, "manifest.json", manifest, strlen(manifest));
        write_at(d.fd, "repositories", "{}", 2);
        tar_directory(d.path, out);
        write_at(e->src.fd, name, out->data, out->len);
        tmpdir_done(&d);
}

TEST(docker_archive_import) {
        Env e;
        TarB a = {};
        KitLayer l[1];
        Buf arch = {};
        _cleanup_free_ char *p = NULL, *digest = NULL;
        ImgInfo *info = NULL;

        env_new(&e, 0);
        tb_file(&a, "hello", "world");
        tb_end(&a);
        kit_layer(&l[0], &a, 0);
        docker_archive(&e, "save.tar", l, 1, "[\"busybox:1.36\",\"busybox:latest\"]", &arch);
        p = source_path(&e, "/save.tar");
        ASSERT_OK(img_import(e.s, p, NULL, &digest, &e.msg));
        ASSERT_OK(img_inspect(e.s, "busybox:1.36", &info, &e.msg));
        ASSERT_EQ(strv_length(info->names), 2u);
        ASSERT_STREQ(info->layers[0].digest, l[0].diff_id); /* uncompressed: digest == diff_id */
        ASSERT_STREQ(info->layers[0].media_type, "application/vnd.oci.image.layer.v1.tar");
        ASSERT_TRUE(startswith(info->source, "docker-archive:") != NULL);
        img_info_free(info);
        buf_done(&arch);
        layers_done(l, 1);
        tb_done(&a);
        env_done(&e);
}

TEST(docker_archive_picks_by_tag) {
        Env e;
        TarB a = {};
        KitLayer l[1];
        Buf arch = {};
        _cleanup_free_ char *p = NULL, *p2 = NULL;

        env_new(&e, 0);
        tb_file(&a, "x", "y");
        tb_end(&a);
        kit_layer(&l[0], &a, 0);
        docker_archive(&e, "save.tar", l, 1, "[\"one:1\"]", &arch);
        p = source_path(&e, "/save.tar:two:2");
        ASSERT_ERROR(img_import(e.s, p, NULL, NULL, &e.msg), ENOENT);
        ASSERT_STRCONTAINS(e.msg, "no image 'two:2' in manifest.json (tags: one:1)");
        p2 = source_path(&e, "/save.tar:one:1");
        ASSERT_OK(img_import(e.s, p2, NULL, NULL, &e.msg));
        buf_done(&arch);
        layers_done(l, 1);
        tb_done(&a);
        env_done(&e);
}

TEST(index_picks_platform) {
        Env e;
        KitLayer l[1];
        TarB a = {};
        char m_amd[IMG_DIGEST_MAX], m_arm[IMG_DIGEST_MAX], c1[IMG_DIGEST_MAX], c2[IMG_DIGEST_MAX],
                        inner[IMG_DIGEST_MAX];
        _cleanup_free_ char *cfg1 = NULL, *cfg2 = NULL, *man1 = NULL, *man2 = NULL, *digest = NULL,
                            *src = NULL;
        char idx[2048], top[1024];

        env_new(&e, 0);
        tb_file(&a, "f", "x");
        tb_end(&a);
        kit_layer(&l[0], &a, 'g');
        layout_blob(e.src.fd, l[0].blob.data, l[0].blob.len, c1);
        cfg1 = kit_config(l, 1, img_host_arch());
        cfg2 = kit_config(l, 1, "riscv64");
        layout_blob(e.src.fd, cfg1, strlen(cfg1), c1);
        layout_blob(e.src.fd, cfg2, strlen(cfg2), c2);
        man1 = kit_manifest(c1, strlen(cfg1), OCI_MEDIA_TYPE_CONFIG, l, 1);
        man2 = kit_manifest(c2, strlen(cfg2), OCI_MEDIA_TYPE_CONFIG, l, 1);
        layout_blob(e.src.fd, man1, strlen(man1), m_amd);
        layout_blob(e.src.fd, man2, strlen(man2), m_arm);
        /* riscv64 first, so that picking the first entry would be wrong. */
        snprintf(idx, sizeof(idx),
                 "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MEDIA_TYPE_INDEX "\",\"manifests\":["
                 "{\"mediaType\":\"" OCI_MEDIA_TYPE_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,"
                 "\"platform\":{\"os\":\"linux\",\"architecture\":\"riscv64\"}},"
                 "{\"mediaType\":\"" OCI_MEDIA_TYPE_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,"
                 "\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}}]}",
                 m_arm, strlen(man2), m_amd, strlen(man1), img_host_arch());
        layout_blob(e.src.fd, idx, strlen(idx), inner);
        snprintf(top, sizeof(top),
                 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MEDIA_TYPE_INDEX
                 "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"multi\"}}]}",
                 inner, strlen(idx));
        write_at(e.src.fd, "index.json", top, strlen(top));
        write_at(e.src.fd, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);

        ASSERT_OK(img_import(e.s, e.src.path, NULL, &digest, &e.msg));
        ASSERT_STREQ(digest, m_amd);
        free(digest);
        digest = NULL;
        ASSERT_OK(img_import(
                        e.s, e.src.path, &(ImgImportOptions){ .platform = "linux/riscv64", .name = "rv" },
                        &digest, &e.msg));
        ASSERT_STREQ(digest, m_arm);
        ASSERT_ERROR(img_import(e.s, e.src.path, &(ImgImportOptions){ .platform = "linux/s390x" }, NULL,
                                &e.msg),
                     ENOENT);
        ASSERT_STRCONTAINS(e.msg, "no manifest for linux/s390x");
        free(e.msg);
        e.msg = NULL;
        ASSERT_ERROR(img_import(e.s, e.src.path, &(ImgImportOptions){ .platform = "linux" }, NULL, &e.msg),
                     EINVAL);
        (void) src;
        layers_done(l, 1);
        tb_done(&a);
        env_done(&e);
}

TEST(layout_with_several_images_needs_a_ref) {
        Env e;
        KitLayer l[2];
        char m[IMG_DIGEST_MAX];
        char idx[1024];
        _cleanup_free_ char *src = NULL;

        env_new(&e, 0);
        two_layers(l);
        kit_layout(e.src.fd, l, 2, "a", m);
        snprintf(idx, sizeof(idx),
                 "{\"schemaVersion\":2,\"manifests\":["
                 "{\"mediaType\":\"" OCI_MEDIA_TYPE_MANIFEST "\",\"digest\":\"%s\",\"size\":1,"
                 "\"annotations\":{\"org.opencontainers.image.ref.name\":\"a\"}},"
                 "{\"mediaType\":\"" OCI_MEDIA_TYPE_MANIFEST "\",\"digest\":\"%s\",\"size\":1,"
                 "\"annotations\":{\"org.opencontainers.image.ref.name\":\"b\"}}]}",
                 m, m);
        write_at(e.src.fd, "index.json", idx, strlen(idx));
        ASSERT_ERROR(img_import(e.s, e.src.path, NULL, NULL, &e.msg), ENOTUNIQ);
        ASSERT_STRCONTAINS(e.msg, "pick one with PATH:REF (refs: a, b)");
        free(e.msg);
        e.msg = NULL;
        ASSERT_OK(xasprintf(&src, "%s:c", e.src.path));
        ASSERT_ERROR(img_import(e.s, src, NULL, NULL, &e.msg), ENOENT);
        layers_done(l, 2);
        env_done(&e);
}

/* ------------------------------------------------------------ bad input */

typedef void (*Corrupt)(Env *e, KitLayer *l, char *mdigest);

/* Build a good layout, corrupt it, import: expect err and a message with needle, and an unchanged store. */
static void expect_refused_flags(Corrupt corrupt, int err, const char *needle, unsigned flags) {
        Env e;
        KitLayer l[2];
        char mdigest[IMG_DIGEST_MAX];
        _cleanup_free_ char *before = NULL, *after = NULL;

        env_new(&e, flags);
        two_layers(l);
        kit_layout(e.src.fd, l, 2, NULL, mdigest);
        corrupt(&e, l, mdigest);
        before = tree_listing(e.root.path);
        ASSERT_ERROR(img_import(e.s, e.src.path, &(ImgImportOptions){ .name = "bad" }, NULL, &e.msg), err);
        ASSERT_STRCONTAINS(e.msg, needle);
        after = tree_listing(e.root.path);
        ASSERT_STREQ(before, after);
        layers_done(l, 2);
        env_done(&e);
}

static void expect_refused(Corrupt corrupt, int err, const char *needle) {
        expect_refused_flags(corrupt, err, needle, 0);
}

/* Rewrite the layout around modified layers/config (all blobs consistent with the descriptors). */
static void relayout(Env *e, KitLayer *l, size_t n, const char *cfg, const char *config_type) {
        char cdigest[IMG_DIGEST_MAX], mdigest[IMG_DIGEST_MAX], idx[512];
        _cleanup_free_ char *man = NULL;

        for (size_t i = 0; i < n; i++)
                layout_blob(e->src.fd, l[i].blob.data, l[i].blob.len, cdigest);
        layout_blob(e->src.fd, cfg, strlen(cfg), cdigest);
        man = kit_manifest(cdigest, strlen(cfg), config_type, l, n);
        layout_blob(e->src.fd, man, strlen(man), mdigest);
        snprintf(idx, sizeof(idx),
                 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MEDIA_TYPE_MANIFEST
                 "\",\"digest\":\"%s\",\"size\":%zu}]}",
                 mdigest, strlen(man));
        write_at(e->src.fd, "index.json", idx, strlen(idx));
}

static void corrupt_layer_bytes(Env *e, KitLayer *l, char *m) {
        char path[128];
        Buf b = {};
        buf_add(&b, l[1].blob.data, l[1].blob.len);
        b.data[b.len / 2] ^= 0x40;
        snprintf(path, sizeof(path), "blobs/sha256/%s", l[1].digest + 7);
        write_at(e->src.fd, path, b.data, b.len);
        buf_done(&b);
}
TEST(bad_layer_digest) {
        expect_refused(corrupt_layer_bytes, EBADMSG, "layer 2");
}

static void grow_layer(Env *e, KitLayer *l, char *m) {
        char path[128];
        Buf b = {};
        buf_add(&b, l[0].blob.data, l[0].blob.len);
        buf_add(&b, "extra", 5);
        snprintf(path, sizeof(path), "blobs/sha256/%s", l[0].digest + 7);
        write_at(e->src.fd, path, b.data, b.len);
        buf_done(&b);
}
TEST(bad_layer_size) {
        expect_refused(grow_layer, EFBIG, "more data than");
}

static void missing_blob(Env *e, KitLayer *l, char *m) {
        char path[128];
        snprintf(path, sizeof(path), "blobs/sha256/%s", l[1].digest + 7);
        ASSERT_TRUE(unlinkat(e->src.fd, path, 0) == 0);
}
TEST(manifest_points_at_missing_blob) {
        expect_refused(missing_blob, ENOENT, "is missing");
}

static void missing_manifest(Env *e, KitLayer *l, char *m) {
        char path[128];
        snprintf(path, sizeof(path), "blobs/sha256/%s", m + 7);
        ASSERT_TRUE(unlinkat(e->src.fd, path, 0) == 0);
}
TEST(index_points_at_missing_manifest) {
        expect_refused(missing_manifest, ENOENT, "is missing");
}

static void unknown_layer_type(Env *e, KitLayer *l, char *m) {
        _cleanup_free_ char *cfg = kit_config(l, 2, img_host_arch());
        l[1].media_type = "application/vnd.example.layer.v1+squashfs";
        relayout(e, l, 2, cfg, OCI_MEDIA_TYPE_CONFIG);
}
TEST(unknown_layer_media_type) {
        expect_refused(unknown_layer_type, EPROTONOSUPPORT, "unknown media type");
}

static void unknown_config_type(Env *e, KitLayer *l, char *m) {
        _cleanup_free_ char *cfg = kit_config(l, 2, img_host_arch());
        relayout(e, l, 2, cfg, "application/vnd.example.config+json");
}
TEST(unknown_config_media_type) {
        expect_refused(unknown_config_type, EPROTONOSUPPORT, "not an image config");
}

static void wrong_diff_id(Env *e, KitLayer *l, char *m) {
        _cleanup_free_ char *cfg = NULL;
        memcpy(l[1].diff_id + 7, l[0].diff_id + 7, 64);
        cfg = kit_config(l, 2, img_host_arch());
        relayout(e, l, 2, cfg, OCI_MEDIA_TYPE_CONFIG);
}
TEST(diff_id_mismatch) {
        expect_refused(wrong_diff_id, EBADMSG, "but the image config says");
}

static void truncated_gzip(Env *e, KitLayer *l, char *m) {
        _cleanup_free_ char *cfg = kit_config(l, 2, img_host_arch());
        l[0].blob.len -= 20;
        /* The descriptor matches the truncated blob: only decompression can tell. */
        ASSERT_OK(img_digest_buffer(l[0].blob.data, l[0].blob.len, l[0].digest));
        relayout(e, l, 2, cfg, OCI_MEDIA_TYPE_CONFIG);
}
TEST(truncated_compressed_layer) {
        expect_refused(truncated_gzip, EBADMSG, "truncated gzip stream");
}

static void corrupt_zstd(Env *e, KitLayer *l, char *m) {
        _cleanup_free_ char *cfg = kit_config(l, 2, img_host_arch());
        l[1].blob.data[4] |= 0x08;
        ASSERT_OK(img_digest_buffer(l[1].blob.data, l[1].blob.len, l[1].digest));
        relayout(e, l, 2, cfg, OCI_MEDIA_TYPE_CONFIG);
}
TEST(corrupt_compressed_layer) {
        expect_refused(corrupt_zstd, EBADMSG, "corrupt zstd stream");
}

static void layer_with(Env *e, KitLayer *l, void (*build)(TarB *b)) {
        TarB t = {};
        _cleanup_free_ char *cfg = NULL;
        build(&t);
        tb_end(&t);
        buf_done(&l[1].blob);
        kit_layer(&l[1], &t, 'g');
        tb_done(&t);
        cfg = kit_config(l, 2, img_host_arch());
        relayout(e, l, 2, cfg, OCI_MEDIA_TYPE_CONFIG);
}

static void dotdot(TarB *t) {
        tb_file(t, "../../../etc/cron.d/evil", "* * * * * root sh\n");
}
static void corrupt_dotdot(Env *e, KitLayer *l, char *m) {
        layer_with(e, l, dotdot);
}
TEST(layer_entry_with_dotdot) {
        expect_refused(corrupt_dotdot, EPERM, "'..' component");
}

static void absolute(TarB *t) {
        tb_file(t, "/etc/shadow", "x");
}
static void corrupt_absolute(Env *e, KitLayer *l, char *m) {
        layer_with(e, l, absolute);
}
TEST(layer_entry_with_absolute_path) {
        expect_refused(corrupt_absolute, EPERM, "absolute path");
}

static void symlink_parent(TarB *t) {
        tb_symlink(t, "escape", "/");
        tb_file(t, "escape/etc/shadow", "x");
}
static void corrupt_symlink_parent(Env *e, KitLayer *l, char *m) {
        layer_with(e, l, symlink_parent);
}
TEST(layer_entry_through_symlink) {
        expect_refused(corrupt_symlink_parent, EPERM, "leads through the symlink 'escape'");
}

static void lower_symlink(TarB *t) {
        /* bin/ is a directory in the first layer; etc is too; "etc/passwd" is a file: so link it */
        tb_file(t, "bin/hello/x", "y");
}
static void corrupt_file_parent(Env *e, KitLayer *l, char *m) {
        layer_with(e, l, lower_symlink);
}
TEST(layer_entry_under_lower_file_is_accepted_as_overlay_does) {
        /* A directory over a lower file hides it in the overlay as in tar application: nothing escapes. */
        Env e;
        KitLayer l[2];
        char mdigest[IMG_DIGEST_MAX];

        env_new(&e, 0);
        two_layers(l);
        kit_layout(e.src.fd, l, 2, NULL, mdigest);
        corrupt_file_parent(&e, l, mdigest);
        ASSERT_OK(img_import(e.s, e.src.path, NULL, NULL, &e.msg));
        layers_done(l, 2);
        env_done(&e);
}

static void hardlink_out(TarB *t) {
        tb_hardlink(t, "shadow", "../../etc/shadow");
}
static void corrupt_hardlink(Env *e, KitLayer *l, char *m) {
        layer_with(e, l, hardlink_out);
}
TEST(layer_hardlink_outside) {
        expect_refused(corrupt_hardlink, EPERM, "outside the layer");
}

static void hardlink_lower(TarB *t) {
        tb_hardlink(t, "passwd2", "etc/passwd"); /* in the layer below, not in this one */
}
static void corrupt_hardlink_lower(Env *e, KitLayer *l, char *m) {
        layer_with(e, l, hardlink_lower);
}
TEST(layer_hardlink_to_lower_layer) {
        expect_refused(corrupt_hardlink_lower, EPERM, "not a file earlier in this layer");
}

static void device(TarB *t) {
        tb_entry(t, '3', "dev/mem", NULL, 0600, NULL, 0, 1, 1);
}
static void corrupt_device(Env *e, KitLayer *l, char *m) {
        layer_with(e, l, device);
}
TEST(device_node_when_not_allowed) {
        expect_refused_flags(corrupt_device, EPERM, "device node", IMG_STORE_NO_DEVICES);
}
TEST(device_node_refused_with_no_devices_flag) {
        Env e;
        env_new(&e, IMG_STORE_NO_DEVICES);
        ASSERT_FALSE(img_store_allow_devices(e.s));
        env_done(&e);
}

static void huge_index(Env *e, KitLayer *l, char *m) {
        size_t n = 5u * 1024 * 1024;
        char *big = malloc(n);
        memset(big, ' ', n);
        memcpy(big, "{\"schemaVersion\":2,\"manifests\":[]", 33);
        big[n - 1] = '}';
        write_at(e->src.fd, "index.json", big, n);
        free(big);
}
TEST(enormous_index) {
        expect_refused(huge_index, E2BIG, "the limit is");
}

static void huge_config(Env *e, KitLayer *l, char *m) {
        size_t n = 9u * 1024 * 1024;
        _cleanup_free_ char *cfg = kit_config(l, 2, img_host_arch());
        char *big = malloc(n + strlen(cfg) + 1);
        /* A valid config padded with whitespace beyond the 8 MiB limit. */
        memset(big, ' ', n);
        strcpy(big + n, cfg);
        relayout(e, l, 2, big, OCI_MEDIA_TYPE_CONFIG);
        free(big);
}
TEST(enormous_config) {
        expect_refused(huge_config, E2BIG, "image config is");
}

static void deep_json(Env *e, KitLayer *l, char *m) {
        size_t n = 100000;
        char *big = malloc(2 * n + 64);
        size_t k = (size_t) sprintf(big, "{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"a\":");
        for (size_t i = 0; i < n; i++)
                big[k++] = '[';
        for (size_t i = 0; i < n; i++)
                big[k++] = ']';
        big[k++] = '}';
        big[k++] = '}';
        write_at(e->src.fd, "index.json", big, k);
        free(big);
}
TEST(deeply_nested_metadata) {
        expect_refused(deep_json, E2BIG, "index.json");
}

TEST(too_many_layers) {
        Env e;
        KitLayer l[2];
        char mdigest[IMG_DIGEST_MAX];
        _cleanup_free_ char *before = NULL;

        env_new(&e, 0);
        img_store_limits(e.s)->max_layers = 1;
        two_layers(l);
        kit_layout(e.src.fd, l, 2, NULL, mdigest);
        before = tree_listing(e.root.path);
        ASSERT_ERROR(img_import(e.s, e.src.path, NULL, NULL, &e.msg), E2BIG);
        ASSERT_STRCONTAINS(e.msg, "at most 1 are supported");
        layers_done(l, 2);
        env_done(&e);
}

TEST(too_many_layer_entries) {
        Env e;
        KitLayer l[2];
        char mdigest[IMG_DIGEST_MAX];

        env_new(&e, 0);
        img_store_limits(e.s)->max_entries = 3;
        two_layers(l);
        kit_layout(e.src.fd, l, 2, NULL, mdigest);
        ASSERT_ERROR(img_import(e.s, e.src.path, NULL, NULL, &e.msg), E2BIG);
        ASSERT_STRCONTAINS(e.msg, "more than 3 entries");
        layers_done(l, 2);
        env_done(&e);
}

TEST(not_an_image) {
        Env e;
        _cleanup_free_ char *p = NULL;

        env_new(&e, 0);
        write_at(e.src.fd, "notes.txt", "hello", 5);
        ASSERT_ERROR(img_import(e.s, e.src.path, NULL, NULL, &e.msg), EPROTONOSUPPORT);
        free(e.msg);
        e.msg = NULL;
        p = source_path(&e, "/notes.txt");
        ASSERT_TRUE(img_import(e.s, p, NULL, NULL, &e.msg) < 0);
        ASSERT_STRCONTAINS(e.msg, "not a readable tar archive");
        env_done(&e);
}

TEST(docker_archive_bad_inputs) {
        Env e;
        TarB a = {};
        KitLayer l[1];
        Buf arch = {};
        TmpDir d;
        _cleanup_free_ char *p = NULL;
        char path[128];

        env_new(&e, 0);
        tb_file(&a, "x", "y");
        tb_end(&a);
        kit_layer(&l[0], &a, 0);
        /* The layer member is missing. */
        tmpdir_new(&d);
        {
                const char *m = "[{\"Config\":\"c.json\",\"RepoTags\":null,\"Layers\":[\"l/layer.tar\"]}]";
                write_at(d.fd, "manifest.json", m, strlen(m));
        }
        {
                _cleanup_free_ char *cfg = kit_config(l, 1, img_host_arch());
                write_at(d.fd, "c.json", cfg, strlen(cfg));
        }
        tar_directory(d.path, &arch);
        write_at(e.src.fd, "a.tar", arch.data, arch.len);
        p = source_path(&e, "/a.tar");
        ASSERT_ERROR(img_import(e.s, p, NULL, NULL, &e.msg), ENOENT);
        ASSERT_STRCONTAINS(e.msg, "missing from the archive");
        buf_done(&arch);
        free(e.msg);
        e.msg = NULL;

        /* The layer's content does not match the config's diff_id. */
        snprintf(path, sizeof(path), "l/layer.tar");
        write_at(d.fd, path, "not the layer", 13);
        tar_directory(d.path, &arch);
        write_at(e.src.fd, "a.tar", arch.data, arch.len);
        ASSERT_TRUE(img_import(e.s, p, NULL, NULL, &e.msg) < 0);
        buf_done(&arch);
        free(e.msg);
        e.msg = NULL;

        /* A config named by a digest it does not have. */
        {
                const char *m = "[{\"Config\":\"0000000000000000000000000000000000000000000000000000000000000000.json\","
                                "\"Layers\":[]}]";
                write_at(d.fd, "manifest.json", m, strlen(m));
        }
        write_at(d.fd, "0000000000000000000000000000000000000000000000000000000000000000.json", "{}", 2);
        tar_directory(d.path, &arch);
        write_at(e.src.fd, "a.tar", arch.data, arch.len);
        ASSERT_ERROR(img_import(e.s, p, NULL, NULL, &e.msg), EBADMSG);
        ASSERT_STRCONTAINS(e.msg, "does not match its name");
        buf_done(&arch);
        tmpdir_done(&d);
        layers_done(l, 1);
        tb_done(&a);
        env_done(&e);
}

/* ----------------------------------------------------- store mechanics */

TEST(gc_clears_abandoned_staging) {
        Env e;
        ImgGcStats st;

        env_new(&e, 0);
        ASSERT_TRUE(mkdirat(e.s->dirfd, "tmp/import-deadbeef", 0700) == 0);
        write_at(e.s->dirfd, "tmp/import-deadbeef/layer-0.sqfs", "half", 4);
        write_at(e.s->dirfd, "blobs/sha256/0000000000000000000000000000000000000000000000000000000000000000",
                 "x", 1);
        ASSERT_OK(img_gc(e.s, &st, &e.msg));
        ASSERT_EQ(st.tmp_removed, 1u);
        ASSERT_EQ(st.blobs_removed, 1u);
        ASSERT_TRUE(faccessat(e.s->dirfd, "tmp/import-deadbeef", F_OK, 0) < 0);
        env_done(&e);
}

TEST(gc_waits_for_imports) {
        Env e;
        int pfd[2];
        pid_t pid;
        char c;

        env_new(&e, 0);
        ASSERT_TRUE(pipe(pfd) == 0);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                /* An "import" holding the store lock shared. */
                ImgStore *s2 = NULL;
                if (img_store_open(e.root.path, 0, &s2, NULL) < 0 || img_store_lock(s2, LOCK_SH, NULL) < 0)
                        _exit(1);
                (void) !write(pfd[1], "x", 1);
                sleep(2);
                _exit(0);
        }
        ASSERT_EQ(read(pfd[0], &c, 1), 1);
        ASSERT_ERROR(img_gc_locked(e.s, LOCK_EX | LOCK_NB, NULL, &e.msg), EWOULDBLOCK);
        ASSERT_STRCONTAINS(e.msg, "busy");
        ASSERT_EQ(wait_for_pid(pid), 0);
        ASSERT_OK(img_gc(e.s, NULL, &e.msg));
        close(pfd[0]);
        close(pfd[1]);
        env_done(&e);
}

TEST(corrupt_store_blob_is_detected) {
        Env e;
        KitLayer l[2];
        char mdigest[IMG_DIGEST_MAX], path[128];
        _cleanup_free_ char *cfg = NULL;
        ImgInfo *info = NULL;
        size_t len;

        env_new(&e, 0);
        two_layers(l);
        kit_layout(e.src.fd, l, 2, NULL, mdigest);
        ASSERT_OK(img_import(e.s, e.src.path, &(ImgImportOptions){ .name = "x" }, NULL, &e.msg));
        ASSERT_OK(img_inspect(e.s, "x", &info, &e.msg));
        snprintf(path, sizeof(path), "blobs/sha256/%s", info->config_digest + 7);
        write_at(e.s->dirfd, path, "{}", 2);
        ASSERT_ERROR(img_config_json(e.s, "x", &cfg, &len, &e.msg), EBADMSG);
        ASSERT_STRCONTAINS(e.msg, "corrupt in the store");
        img_info_free(info);
        layers_done(l, 2);
        env_done(&e);
}

TEST(references) {
        _cleanup_free_ char *n = NULL, *msg = NULL;
        ImgRef r = {};

        ASSERT_OK(img_ref_parse("busybox", true, &r, &msg));
        ASSERT_STREQ(r.domain, "docker.io");
        ASSERT_STREQ(r.path, "library/busybox");
        ASSERT_STREQ(r.tag, "latest");
        img_ref_done(&r);
        ASSERT_OK(
                        img_ref_parse("127.0.0.1:5000/lab/debian:12@sha256:"
                                      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                                      true, &r, &msg));
        ASSERT_STREQ(r.domain, "127.0.0.1:5000");
        ASSERT_STREQ(r.path, "lab/debian");
        ASSERT_STREQ(r.tag, "12");
        ASSERT_TRUE(startswith(r.digest, "sha256:e3b0") != NULL);
        img_ref_done(&r);
        ASSERT_OK(img_ref_parse("localhost/x", false, &r, &msg));
        ASSERT_STREQ(r.domain, "localhost");
        img_ref_done(&r);
        ASSERT_ERROR(img_ref_parse("Busybox:1", false, &r, &msg), EINVAL);
        ASSERT_ERROR(img_ref_parse("a//b", false, &r, &msg), EINVAL);
        ASSERT_ERROR(img_ref_parse("x:bad tag", false, &r, &msg), EINVAL);
        ASSERT_ERROR(img_ref_parse("x@sha256:1234", false, &r, &msg), EINVAL);
        ASSERT_OK(img_name_normalize("lab/base", &n, &msg));
        ASSERT_STREQ(n, "lab/base:latest");
}
