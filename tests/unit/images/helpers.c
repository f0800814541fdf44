/* SPDX-License-Identifier: Apache-2.0 */
#include <sqfs/compressor.h>
#include <sqfs/data_reader.h>
#include <sqfs/dir_reader.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/super.h>
#include <sqfs/xattr.h>
#include <sqfs/xattr_reader.h>
#include <sys/mman.h>
#include <zlib.h>
#include <zstd.h>

#include "helpers.h"

void buf_add(Buf *b, const void *p, size_t n) {
        if (b->len + n > b->size) {
                b->size = MAX(b->size * 2, b->len + n + 1024);
                b->data = realloc(b->data, b->size);
                assert(b->data);
        }
        if (n)
                memcpy(b->data + b->len, p, n);
        b->len += n;
}

void buf_done(Buf *b) {
        free(b->data);
        *b = (Buf){};
}

static void octal(char *field, size_t len, uint64_t v) {
        /* len-1 octal digits and a NUL. */
        field[len - 1] = '\0';
        for (size_t i = len - 1; i > 0; i--, v >>= 3)
                field[i - 1] = (char) ('0' + (v & 7));
}

static void header(
                TarB *t,
                char type,
                const char *path,
                const char *link,
                uint32_t mode,
                uint64_t size,
                uint32_t major,
                uint32_t minor) {
        char h[512] = {};
        unsigned sum = 0;

        snprintf(h, 100, "%s", path);
        octal(h + 100, 8, mode);
        octal(h + 108, 8, 0);
        octal(h + 116, 8, 0);
        octal(h + 124, 12, size);
        octal(h + 136, 12, 1700000000);
        memset(h + 148, ' ', 8);
        h[156] = type;
        if (link)
                snprintf(h + 157, 100, "%s", link);
        memcpy(h + 257,
               "ustar\0"
               "00",
               8);
        octal(h + 329, 8, major);
        octal(h + 337, 8, minor);
        for (size_t i = 0; i < 512; i++)
                sum += (unsigned char) h[i];
        octal(h + 148, 7, sum);
        buf_add(&t->out, h, 512);
}

static void pad(TarB *t, size_t len) {
        static const char zero[512];
        buf_add(&t->out, zero, (512 - len % 512) % 512);
}

void tb_pax(TarB *t, const char *key, const void *value, size_t vlen) {
        /* "LEN key=value\n" where LEN counts itself. */
        size_t body = strlen(key) + vlen + 3, len = body + 1;
        char num[32];
        while (strlen((snprintf(num, sizeof(num), "%zu", len), num)) + body != len)
                len = strlen(num) + body;
        buf_add(&t->pax, num, strlen(num));
        buf_add(&t->pax, " ", 1);
        buf_add(&t->pax, key, strlen(key));
        buf_add(&t->pax, "=", 1);
        buf_add(&t->pax, value, vlen);
        buf_add(&t->pax, "\n", 1);
}

void tb_entry(TarB *t,
              char type,
              const char *path,
              const char *link,
              uint32_t mode,
              const void *data,
              size_t len,
              uint32_t major,
              uint32_t minor) {
        if (t->pax.len > 0) {
                header(t, 'x', "PaxHeaders/x", NULL, 0644, t->pax.len, 0, 0);
                buf_add(&t->out, t->pax.data, t->pax.len);
                pad(t, t->pax.len);
                buf_done(&t->pax);
        }
        header(t, type, path, link, mode, len, major, minor);
        if (len > 0) {
                buf_add(&t->out, data, len);
                pad(t, len);
        }
}

void tb_file(TarB *t, const char *path, const char *content) {
        tb_entry(t, '0', path, NULL, 0644, content, strlen(content), 0, 0);
}

void tb_dir(TarB *t, const char *path) {
        tb_entry(t, '5', path, NULL, 0755, NULL, 0, 0, 0);
}

void tb_symlink(TarB *t, const char *path, const char *target) {
        tb_entry(t, '2', path, target, 0777, NULL, 0, 0, 0);
}

void tb_hardlink(TarB *t, const char *path, const char *target) {
        tb_entry(t, '1', path, target, 0644, NULL, 0, 0, 0);
}

void tb_end(TarB *t) {
        static const char zero[1024];
        buf_add(&t->out, zero, sizeof(zero));
}

void tb_done(TarB *t) {
        buf_done(&t->out);
        buf_done(&t->pax);
}

void gzip_buf(const void *p, size_t n, Buf *out) {
        z_stream z = {};
        uint8_t chunk[65536];
        int r;

        assert(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
        z.next_in = (Bytef *) p;
        z.avail_in = (uInt) n;
        do {
                z.next_out = chunk;
                z.avail_out = sizeof(chunk);
                r = deflate(&z, Z_FINISH);
                buf_add(out, chunk, sizeof(chunk) - z.avail_out);
        } while (r != Z_STREAM_END);
        deflateEnd(&z);
}

void zstd_buf(const void *p, size_t n, Buf *out) {
        size_t cap = ZSTD_compressBound(n), k;
        uint8_t *tmp = malloc(cap);
        assert(tmp);
        k = ZSTD_compress(tmp, cap, p, n, 3);
        assert(!ZSTD_isError(k));
        buf_add(out, tmp, k);
        free(tmp);
}

int memfd_with(const void *p, size_t n) {
        int fd = memfd_create("test", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (n > 0 && loop_write(fd, p, n) < 0) {
                close(fd);
                return -EIO;
        }
        return fd;
}

/* ---------------------------------------------------------- squashfs read */

typedef struct Reader {
        sqfs_file_t *file;
        sqfs_super_t super;
        sqfs_compressor_t *cmp;
        sqfs_id_table_t *ids;
        sqfs_dir_reader_t *dr;
        sqfs_data_reader_t *data;
        sqfs_xattr_reader_t *xr;
} Reader;

static void read_xattrs(Reader *rd, const sqfs_inode_generic_t *ino, SqEntry *e) {
        sqfs_u32 idx;
        sqfs_xattr_id_t desc;
        Buf b = {};

        if (sqfs_inode_get_xattr_index(ino, &idx) || idx == 0xFFFFFFFF || !rd->xr)
                return;
        if (sqfs_xattr_reader_get_desc(rd->xr, idx, &desc) || sqfs_xattr_reader_seek_kv(rd->xr, &desc))
                return;
        for (sqfs_u32 i = 0; i < desc.count; i++) {
                sqfs_xattr_entry_t *key = NULL;
                sqfs_xattr_value_t *val = NULL;
                const char *k, *prefix;
                if (sqfs_xattr_reader_read_key(rd->xr, &key) ||
                    sqfs_xattr_reader_read_value(rd->xr, key, &val)) {
                        sqfs_free(key);
                        break;
                }
                k = (const char *) key->key;
                prefix = sqfs_get_xattr_prefix(key->type & SQFS_XATTR_PREFIX_MASK);
                if (prefix && !startswith(k, prefix))
                        buf_add(&b, prefix, strlen(prefix));
                buf_add(&b, k, strlen(k));
                buf_add(&b, "=", 1);
                buf_add(&b, val->value, val->size);
                buf_add(&b, ";", 1);
                sqfs_free(key);
                sqfs_free(val);
        }
        buf_add(&b, "", 1);
        e->xattrs = (char *) b.data;
}

static void add_node(Reader *rd, const sqfs_tree_node_t *n, SqImage *img) {
        const sqfs_inode_generic_t *ino = n->inode;
        SqEntry *e;
        char *path = NULL;

        img->e = realloc(img->e, (img->n + 1) * sizeof(*img->e));
        assert(img->e);
        e = &img->e[img->n++];
        *e = (SqEntry){};
        assert(sqfs_tree_node_get_path(n, &path) == 0);
        e->path = strdup(path[0] == '/' ? path + 1 : path);
        sqfs_free(path);
        e->mode = ino->base.mode;
        e->uid = n->uid;
        e->gid = n->gid;
        e->mtime = ino->base.mod_time;
        e->inode_number = ino->base.inode_number;
        switch (ino->base.type) {
        case SQFS_INODE_DIR:
                e->mode |= S_IFDIR;
                e->nlink = ino->data.dir.nlink;
                break;
        case SQFS_INODE_EXT_DIR:
                e->mode |= S_IFDIR;
                e->nlink = ino->data.dir_ext.nlink;
                break;
        case SQFS_INODE_FILE:
        case SQFS_INODE_EXT_FILE: {
                sqfs_u64 size = 0, off = 0;
                uint8_t chunk[65536];
                e->mode |= S_IFREG;
                e->nlink = ino->base.type == SQFS_INODE_EXT_FILE ? ino->data.file_ext.nlink : 1;
                sqfs_inode_get_file_size(ino, &size);
                while (off < size) {
                        sqfs_s32 k = sqfs_data_reader_read(rd->data, ino, off, chunk, sizeof(chunk));
                        assert(k > 0);
                        buf_add(&e->data, chunk, (size_t) k);
                        off += (sqfs_u64) k;
                }
                break;
        }
        case SQFS_INODE_SLINK:
        case SQFS_INODE_EXT_SLINK:
                e->mode |= S_IFLNK;
                e->nlink = ino->data.slink.nlink;
                e->link = strndup((const char *) ino->extra, ino->data.slink.target_size);
                break;
        case SQFS_INODE_CDEV:
        case SQFS_INODE_BDEV:
        case SQFS_INODE_EXT_CDEV:
        case SQFS_INODE_EXT_BDEV:
                e->mode |= (ino->base.type == SQFS_INODE_CDEV || ino->base.type == SQFS_INODE_EXT_CDEV)
                                ? S_IFCHR
                                : S_IFBLK;
                e->nlink = ino->data.dev.nlink;
                e->rdev = ino->data.dev.devno;
                break;
        default:
                e->mode |= S_IFIFO;
                e->nlink = ino->data.ipc.nlink;
        }
        read_xattrs(rd, ino, e);
        for (const sqfs_tree_node_t *c = n->children; c; c = c->next)
                add_node(rd, c, img);
}

static const char *fd_path(int fd, char *buf, size_t n) {
        snprintf(buf, n, "/proc/self/fd/%d", fd);
        return buf;
}

int sq_read(int fd, SqImage *ret) {
        Reader rd = {};
        sqfs_compressor_config_t cfg;
        sqfs_tree_node_t *root = NULL;
        char p[64];
        int r = -EIO;

        *ret = (SqImage){};
        rd.file = sqfs_open_file(fd_path(fd, p, sizeof(p)), SQFS_FILE_OPEN_READ_ONLY);
        if (!rd.file)
                return -errno;
        if (sqfs_super_read(&rd.super, rd.file))
                goto out;
        sqfs_compressor_config_init(
                        &cfg, rd.super.compression_id, rd.super.block_size, SQFS_COMP_FLAG_UNCOMPRESS);
        if (sqfs_compressor_create(&cfg, &rd.cmp))
                goto out;
        rd.ids = sqfs_id_table_create(0);
        if (sqfs_id_table_read(rd.ids, rd.file, &rd.super, rd.cmp))
                goto out;
        rd.dr = sqfs_dir_reader_create(&rd.super, rd.cmp, rd.file, 0);
        rd.data = sqfs_data_reader_create(rd.file, rd.super.block_size, rd.cmp, 0);
        if (!rd.dr || !rd.data || sqfs_data_reader_load_fragment_table(rd.data, &rd.super))
                goto out;
        if (!(rd.super.flags & SQFS_FLAG_NO_XATTRS)) {
                rd.xr = sqfs_xattr_reader_create(0);
                if (sqfs_xattr_reader_load(rd.xr, &rd.super, rd.file, rd.cmp)) {
                        sqfs_destroy(rd.xr);
                        rd.xr = NULL;
                }
        }
        if (sqfs_dir_reader_get_full_hierarchy(rd.dr, rd.ids, NULL, 0, &root))
                goto out;
        add_node(&rd, root, ret);
        r = 0;
out:
        sqfs_dir_tree_destroy(root);
        sqfs_destroy(rd.xr);
        sqfs_destroy(rd.data);
        sqfs_destroy(rd.dr);
        sqfs_destroy(rd.ids);
        sqfs_destroy(rd.cmp);
        sqfs_destroy(rd.file);
        return r;
}

void sq_done(SqImage *img) {
        for (size_t i = 0; i < img->n; i++) {
                free(img->e[i].path);
                free(img->e[i].link);
                free(img->e[i].xattrs);
                buf_done(&img->e[i].data);
        }
        free(img->e);
        *img = (SqImage){};
}

const SqEntry *sq_find(const SqImage *img, const char *path) {
        for (size_t i = 0; i < img->n; i++)
                if (streq(img->e[i].path, path))
                        return &img->e[i];
        return NULL;
}

int convert_tar(const void *tar, size_t len, bool allow_devices, ImgLayerResult *ret_res, char **error_msg) {
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        ImgStream *s = NULL;
        ImgLayerOptions o = {
                .limits = &img_default_limits,
                .allow_devices = allow_devices,
                .sqfs = { .compressor = SQFS_COMP_ZSTD, .level = 3, .workers = 2 },
        };
        ImgLayerResult res = {};
        int r;

        in = memfd_with(tar, len);
        out = memfd_create("sqfs", MFD_CLOEXEC);
        if (in < 0 || out < 0)
                return -EIO;
        r = img_stream_fd(in, 0, UINT64_MAX, error_msg, &s);
        if (r < 0)
                return r;
        r = img_layer_convert(s, IMG_COMPRESSION_AUTO, out, &o, &res, error_msg);
        if (r < 0)
                return r;
        if (ret_res)
                *ret_res = res;
        else
                img_layer_result_done(&res);
        return TAKE_FD(out);
}

/* ------------------------------------------------------------ image kits */

#include <dirent.h>
#include <ftw.h>

void tmpdir_new(TmpDir *t) {
        snprintf(t->path, sizeof(t->path), "/tmp/aula-images-unit-XXXXXX");
        assert(mkdtemp(t->path));
        t->fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert(t->fd >= 0);
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *f) {
        (void) st;
        (void) f;
        if (type == FTW_DP)
                rmdir(p);
        else
                unlink(p);
        return 0;
}

void tmpdir_done(TmpDir *t) {
        close(t->fd);
        nftw(t->path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void write_at(int dirfd, const char *path, const void *p, size_t n) {
        _cleanup_free_ char *dir = strdup(path);
        char *slash = strrchr(dir, '/');
        int fd;

        if (slash) {
                *slash = '\0';
                for (char *q = dir; (q = strchr(q, '/')); q++) {
                        *q = '\0';
                        mkdirat(dirfd, dir, 0755);
                        *q = '/';
                }
                mkdirat(dirfd, dir, 0755);
        }
        fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert(fd >= 0);
        assert(loop_write(fd, p, n) >= 0);
        close(fd);
}

void layout_blob(int dirfd, const void *p, size_t n, char *digest) {
        char path[128];
        assert(img_digest_buffer(p, n, digest) >= 0);
        snprintf(path, sizeof(path), "blobs/sha256/%s", digest + 7);
        write_at(dirfd, path, p, n);
}

void kit_layer(KitLayer *l, const TarB *tar, char compression) {
        *l = (KitLayer){};
        assert(img_digest_buffer(tar->out.data, tar->out.len, l->diff_id) >= 0);
        if (compression == 'g') {
                gzip_buf(tar->out.data, tar->out.len, &l->blob);
                l->media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
        } else if (compression == 'z') {
                zstd_buf(tar->out.data, tar->out.len, &l->blob);
                l->media_type = "application/vnd.oci.image.layer.v1.tar+zstd";
        } else {
                buf_add(&l->blob, tar->out.data, tar->out.len);
                l->media_type = "application/vnd.oci.image.layer.v1.tar";
        }
        assert(img_digest_buffer(l->blob.data, l->blob.len, l->digest) >= 0);
}

char *kit_config(const KitLayer *layers, size_t n, const char *arch) {
        Buf b = {};
        char tmp[1024];

        snprintf(tmp, sizeof(tmp),
                 "{\"architecture\":\"%s\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\","
                 "\"config\":{\"Env\":[\"PATH=/bin\",\"LANG=C\"],\"Cmd\":[\"/bin/sh\"],\"WorkingDir\":\"/srv\","
                 "\"User\":\"student\",\"StopSignal\":\"SIGINT\",\"Labels\":{\"lab\":\"1\",\"org.aula.isolation\":\"container\"}},"
                 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[",
                 arch);
        buf_add(&b, tmp, strlen(tmp));
        for (size_t i = 0; i < n; i++) {
                snprintf(tmp, sizeof(tmp), "%s\"%s\"", i ? "," : "", layers[i].diff_id);
                buf_add(&b, tmp, strlen(tmp));
        }
        buf_add(&b, "]}}", 4);
        return (char *) b.data;
}

char *kit_manifest(
                const char *config_digest,
                size_t config_size,
                const char *config_type,
                const KitLayer *layers,
                size_t n) {
        Buf b = {};
        char tmp[512];

        snprintf(tmp, sizeof(tmp),
                 "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                 "\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[",
                 config_type, config_digest, config_size);
        buf_add(&b, tmp, strlen(tmp));
        for (size_t i = 0; i < n; i++) {
                snprintf(tmp, sizeof(tmp), "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}",
                         i ? "," : "", layers[i].media_type, layers[i].digest, layers[i].blob.len);
                buf_add(&b, tmp, strlen(tmp));
        }
        buf_add(&b, "]}", 3);
        return (char *) b.data;
}

void kit_layout(int dirfd, KitLayer *layers, size_t n, const char *ref, char *mdigest) {
        _cleanup_free_ char *cfg = kit_config(layers, n, img_host_arch()), *man = NULL;
        char cdigest[IMG_DIGEST_MAX], idx[1024];

        for (size_t i = 0; i < n; i++) {
                char d[IMG_DIGEST_MAX];
                layout_blob(dirfd, layers[i].blob.data, layers[i].blob.len, d);
        }
        layout_blob(dirfd, cfg, strlen(cfg), cdigest);
        man = kit_manifest(cdigest, strlen(cfg), "application/vnd.oci.image.config.v1+json", layers, n);
        layout_blob(dirfd, man, strlen(man), mdigest);
        snprintf(idx, sizeof(idx),
                 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                 "\"digest\":\"%s\",\"size\":%zu%s%s%s}]}",
                 mdigest, strlen(man), ref ? ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"" : "",
                 ref ?: "", ref ? "\"}" : "");
        write_at(dirfd, "index.json", idx, strlen(idx));
        write_at(dirfd, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
}

static Buf listing;
static size_t listing_root;

static int list_one(const char *p, const struct stat *st, int type, struct FTW *f) {
        (void) st;
        (void) type;
        (void) f;
        if (endswith(p, ".lock"))
                return 0;
        buf_add(&listing, p + listing_root, strlen(p + listing_root));
        buf_add(&listing, "\n", 1);
        return 0;
}

static int cmp_lines(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

char *tree_listing(const char *dir) {
        char **lines = NULL;
        size_t n = 0;
        Buf out = {};

        listing = (Buf){};
        listing_root = strlen(dir);
        nftw(dir, list_one, 16, FTW_PHYS);
        buf_add(&listing, "", 1);
        for (char *l = strtok((char *) listing.data, "\n"); l; l = strtok(NULL, "\n")) {
                lines = realloc(lines, (n + 1) * sizeof(char *));
                lines[n++] = l;
        }
        qsort(lines, n, sizeof(char *), cmp_lines);
        for (size_t i = 0; i < n; i++) {
                buf_add(&out, lines[i], strlen(lines[i]));
                buf_add(&out, "\n", 1);
        }
        buf_add(&out, "", 1);
        free(lines);
        buf_done(&listing);
        return (char *) out.data;
}

static TarB *tar_out;
static size_t tar_root;

static int tar_one(const char *p, const struct stat *st, int type, struct FTW *f) {
        char name[4096];
        (void) f;
        if (strlen(p) <= tar_root)
                return 0;
        snprintf(name, sizeof(name), "%s%s", p + tar_root + 1, type == FTW_D ? "/" : "");
        if (type == FTW_D)
                tb_dir(tar_out, name);
        else if (type == FTW_F) {
                char *data;
                size_t len;
                assert(read_full_file_at(AT_FDCWD, p, SIZE_MAX / 2, &data, &len) >= 0);
                tb_entry(tar_out, '0', name, NULL, st->st_mode & 07777, data, len, 0, 0);
                free(data);
        } else if (type == FTW_SL) {
                char target[4096] = {};
                assert(readlink(p, target, sizeof(target) - 1) >= 0);
                tb_symlink(tar_out, name, target);
        }
        return 0;
}

void tar_directory(const char *dir, Buf *out) {
        TarB t = {};
        tar_out = &t;
        tar_root = strlen(dir);
        nftw(dir, tar_one, 16, FTW_PHYS);
        tb_end(&t);
        *out = t.out;
        buf_done(&t.pax);
}
