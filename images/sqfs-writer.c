/* SPDX-License-Identifier: Apache-2.0 */

/*
 * Build a squashfs image in one pass over a tar stream with libsquashfs
 * (squashfs-tools-ng). File data goes to the block processor as it arrives
 * (compressed by worker threads, deduplicated, tails packed into fragments);
 * the tree is kept in memory and serialized at the end, because squashfs
 * stores a directory's inode after its children's (the listing refers to
 * their inode positions):
 *
 *   [superblock][compressor options][data and fragment blocks]
 *   [inode table][directory table][fragment table][id table][xattr tables]
 *
 * Nodes are directory entries; inodes are separate so that hard links share
 * one. Inodes are never freed before the writer: the block processor may
 * still update a file inode after the entry that owned it was replaced.
 */

#include <sqfs/block.h>
#include <sqfs/block_processor.h>
#include <sqfs/block_writer.h>
#include <sqfs/compressor.h>
#include <sqfs/dir_writer.h>
#include <sqfs/error.h>
#include <sqfs/frag_table.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_writer.h>
#include <sqfs/super.h>
#include <sqfs/xattr_writer.h>

#include "images-internal.h"

typedef struct SqfsInode SqfsInode;
struct SqfsInode {
        uint32_t mode, uid, gid, mtime, rdev;
        char *link;
        sqfs_inode_generic_t *file; /* regular files: owned by the block processor until finish */
        TarXattr *xattrs;
        size_t n_xattrs;
        unsigned refs; /* live directory entries */
        uint32_t number;
        uint64_t ref; /* on-disk location, once written */
        bool written;
        SqfsInode *all_next;
};

struct SqfsNode {
        char *name;
        SqfsNode *parent;
        SqfsNode *prev, *next; /* siblings */
        SqfsNode *head, *tail; /* children */
        size_t n_children;
        SqfsNode *hash_next;
        SqfsInode *inode;
        unsigned flags;
};

typedef struct FdFile {
        sqfs_file_t base;
        int fd;
        uint64_t size;
} FdFile;

struct SqfsWriter {
        FdFile file;
        sqfs_super_t super;
        sqfs_compressor_t *cmp;
        sqfs_block_writer_t *bw;
        sqfs_frag_table_t *frags;
        sqfs_block_processor_t *proc;
        sqfs_meta_writer_t *im, *dm;
        sqfs_dir_writer_t *dirw;
        sqfs_id_table_t *ids;
        sqfs_xattr_writer_t *xw;
        bool in_file;
        bool failed;
        bool finished; /* the block processor was finished */
        char **error_msg;

        SqfsNode *root;
        SqfsInode *inodes;
        SqfsNode **buckets;
        size_t n_buckets, n_nodes;
        uint32_t next_number;
};

/* ------------------------------------------------------------- the file */

static int fd_file_read_at(sqfs_file_t *base, sqfs_u64 offset, void *buf, size_t size) {
        FdFile *f = (FdFile *) base;
        uint8_t *p = buf;

        while (size > 0) {
                ssize_t n = pread(f->fd, p, size, (off_t) offset);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n == 0 ? SQFS_ERROR_OUT_OF_BOUNDS : SQFS_ERROR_IO;
                p += n;
                size -= (size_t) n;
                offset += (uint64_t) n;
        }
        return 0;
}

static int fd_file_write_at(sqfs_file_t *base, sqfs_u64 offset, const void *buf, size_t size) {
        FdFile *f = (FdFile *) base;
        const uint8_t *p = buf;
        uint64_t end = offset + size;

        while (size > 0) {
                ssize_t n = pwrite(f->fd, p, size, (off_t) offset);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return SQFS_ERROR_IO;
                p += n;
                size -= (size_t) n;
                offset += (uint64_t) n;
        }
        if (end > f->size)
                f->size = end;
        return 0;
}

static sqfs_u64 fd_file_get_size(const sqfs_file_t *base) {
        return ((const FdFile *) base)->size;
}

static int fd_file_truncate(sqfs_file_t *base, sqfs_u64 size) {
        FdFile *f = (FdFile *) base;
        if (ftruncate(f->fd, (off_t) size) < 0)
                return SQFS_ERROR_IO;
        f->size = size;
        return 0;
}

static void fd_file_destroy(sqfs_object_t *o) {
        /* Embedded in the writer; nothing to free. */
}

/* ------------------------------------------------------------- helpers */

static int sqfs_errno(int e) {
        switch (e) {
        case SQFS_ERROR_ALLOC:
                return -ENOMEM;
        case SQFS_ERROR_IO:
                return -EIO;
        case SQFS_ERROR_OVERFLOW:
                return -EOVERFLOW;
        case SQFS_ERROR_UNSUPPORTED:
                return -EOPNOTSUPP;
        default:
                return -EINVAL;
        }
}

static int fail(SqfsWriter *w, int e, const char *what) {
        int r = sqfs_errno(e);
        w->failed = true;
        return img_err(w->error_msg, r, "squashfs: %s failed (libsquashfs error %d: %s)", what, e,
                       strerror(-r));
}

static uint64_t hash_key(const SqfsNode *parent, const char *name) {
        uint64_t h = 1469598103934665603ull ^ (uint64_t) (uintptr_t) parent;
        for (const unsigned char *p = (const unsigned char *) name; *p; p++)
                h = (h ^ *p) * 1099511628211ull;
        return h ^ (h >> 29);
}

static int grow_buckets(SqfsWriter *w) {
        size_t n = w->n_buckets ? w->n_buckets * 2 : 1024;
        SqfsNode **b = calloc(n, sizeof(*b));
        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < w->n_buckets; i++)
                for (SqfsNode *x = w->buckets[i], *next; x; x = next) {
                        size_t k = hash_key(x->parent, x->name) & (n - 1);
                        next = x->hash_next;
                        x->hash_next = b[k];
                        b[k] = x;
                }
        free(w->buckets);
        w->buckets = b;
        w->n_buckets = n;
        return 0;
}

static void hash_remove(SqfsWriter *w, SqfsNode *n) {
        SqfsNode **p = &w->buckets[hash_key(n->parent, n->name) & (w->n_buckets - 1)];
        for (; *p; p = &(*p)->hash_next)
                if (*p == n) {
                        *p = n->hash_next;
                        return;
                }
}

SqfsNode *sqfs_node_lookup(SqfsWriter *w, SqfsNode *dir, const char *name) {
        for (SqfsNode *x = w->buckets[hash_key(dir, name) & (w->n_buckets - 1)]; x; x = x->hash_next)
                if (x->parent == dir && streq(x->name, name))
                        return x;
        return NULL;
}

uint32_t sqfs_node_mode(const SqfsNode *n) {
        return n->inode->mode;
}

const char *sqfs_node_name(const SqfsNode *n) {
        return n->name;
}

SqfsNode *sqfs_node_parent(const SqfsNode *n) {
        return n->parent;
}

bool sqfs_node_is_whiteout(const SqfsNode *n) {
        return S_ISCHR(n->inode->mode) && n->inode->rdev == 0;
}

SqfsNode *sqfs_node_first_child(const SqfsNode *dir) {
        return dir->head;
}

SqfsNode *sqfs_node_next_sibling(const SqfsNode *n) {
        return n->next;
}

void sqfs_node_get_attr(const SqfsNode *n, uint32_t *mode, uint32_t *uid, uint32_t *gid, uint32_t *mtime) {
        *mode = n->inode->mode;
        *uid = n->inode->uid;
        *gid = n->inode->gid;
        *mtime = n->inode->mtime;
}

unsigned sqfs_node_flags(const SqfsNode *n) {
        return n->flags;
}

void sqfs_node_set_flags(SqfsNode *n, unsigned flags) {
        n->flags = flags;
}

SqfsNode *sqfs_writer_root(SqfsWriter *w) {
        return w->root;
}

size_t sqfs_writer_node_count(const SqfsWriter *w) {
        return w->n_nodes;
}

static void xattrs_free(TarXattr *x, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(x[i].name);
                free(x[i].value);
        }
        free(x);
}

static int xattrs_copy(const TarXattr *src, size_t n, TarXattr **ret) {
        TarXattr *x;

        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        x = calloc(n, sizeof(*x));
        if (!x)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                x[i].name = strdup(src[i].name);
                x[i].value = malloc(MAX(src[i].size, (size_t) 1));
                x[i].size = src[i].size;
                if (!x[i].name || !x[i].value) {
                        xattrs_free(x, i + 1);
                        return -ENOMEM;
                }
                memcpy(x[i].value, src[i].value, src[i].size);
        }
        *ret = x;
        return 0;
}

static int inode_new(SqfsWriter *w, const SqfsAttr *a, SqfsInode **ret) {
        SqfsInode *i = calloc(1, sizeof(*i));
        int r;

        if (!i)
                return -ENOMEM;
        i->mode = a->mode;
        i->uid = a->uid;
        i->gid = a->gid;
        i->mtime = a->mtime;
        i->rdev = a->rdev;
        if (S_ISLNK(a->mode)) {
                i->link = strdup(a->link ?: "");
                if (!i->link) {
                        free(i);
                        return -ENOMEM;
                }
        }
        r = xattrs_copy(a->xattrs, a->n_xattrs, &i->xattrs);
        if (r < 0) {
                free(i->link);
                free(i);
                return r;
        }
        i->n_xattrs = a->n_xattrs;
        i->all_next = w->inodes;
        w->inodes = i;
        *ret = i;
        return 0;
}

static int node_new(SqfsWriter *w, SqfsNode *parent, const char *name, SqfsInode *inode, SqfsNode **ret) {
        SqfsNode *n;
        size_t k;

        if (w->n_nodes + 1 > w->n_buckets && grow_buckets(w) < 0)
                return -ENOMEM;
        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->name = strdup(name);
        if (!n->name) {
                free(n);
                return -ENOMEM;
        }
        n->parent = parent;
        n->inode = inode;
        inode->refs++;
        if (parent) {
                n->prev = parent->tail;
                if (parent->tail)
                        parent->tail->next = n;
                else
                        parent->head = n;
                parent->tail = n;
                parent->n_children++;
                k = hash_key(parent, name) & (w->n_buckets - 1);
                n->hash_next = w->buckets[k];
                w->buckets[k] = n;
        }
        w->n_nodes++;
        *ret = n;
        return 0;
}

static void node_free(SqfsWriter *w, SqfsNode *n) {
        while (n->head)
                sqfs_writer_remove(w, n->head);
        n->inode->refs--;
        free(n->name);
        free(n);
        w->n_nodes--;
}

void sqfs_writer_remove(SqfsWriter *w, SqfsNode *n) {
        SqfsNode *p = n->parent;

        assert(p); /* the root stays */
        hash_remove(w, n);
        if (n->prev)
                n->prev->next = n->next;
        else
                p->head = n->next;
        if (n->next)
                n->next->prev = n->prev;
        else
                p->tail = n->prev;
        p->n_children--;
        node_free(w, n);
}

/* ---------------------------------------------------------- construction */

int sqfs_writer_new(int out_fd, const SqfsWriterOptions *o, char **error_msg, SqfsWriter **ret) {
        _cleanup_(sqfs_writer_freep) SqfsWriter *w = NULL;
        sqfs_compressor_config_t cfg;
        size_t block_size = o->block_size ?: SQFS_DEFAULT_BLOCK_SIZE;
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned workers = o->workers ?: (unsigned) MAX(ncpu, 1L);
        SqfsAttr root_attr = { .mode = S_IFDIR | 0755 };
        SqfsInode *ri;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->error_msg = error_msg;
        w->file = (FdFile){
                .base = {
                        .base = { .destroy = fd_file_destroy },
                        .read_at = fd_file_read_at,
                        .write_at = fd_file_write_at,
                        .get_size = fd_file_get_size,
                        .truncate = fd_file_truncate,
                },
                .fd = out_fd,
        };
        if (ftruncate(out_fd, 0) < 0)
                return img_err(error_msg, -errno, "squashfs: cannot truncate the output: %m");

        r = sqfs_super_init(&w->super, block_size, o->mtime, o->compressor);
        if (r)
                return fail(w, r, "superblock setup");
        r = sqfs_compressor_config_init(&cfg, o->compressor, block_size, 0);
        if (r)
                return fail(w, r, "compressor setup");
        if (o->level > 0)
                cfg.level = (sqfs_u32) o->level;
        r = sqfs_compressor_create(&cfg, &w->cmp);
        if (r)
                return fail(w, r, "compressor creation");
        /* Placeholder superblock; the real one is written by finish(). */
        r = sqfs_super_write(&w->super, &w->file.base);
        if (r)
                return fail(w, r, "superblock write");
        r = w->cmp->write_options(w->cmp, &w->file.base);
        if (r < 0)
                return fail(w, r, "compressor options write");
        if (r > 0)
                w->super.flags |= SQFS_FLAG_COMPRESSOR_OPTIONS;

        w->bw = sqfs_block_writer_create(&w->file.base, SQFS_DEVBLK_SIZE, 0);
        w->frags = sqfs_frag_table_create(0);
        w->ids = sqfs_id_table_create(0);
        w->xw = sqfs_xattr_writer_create(0);
        w->im = sqfs_meta_writer_create(&w->file.base, w->cmp, SQFS_META_WRITER_KEEP_IN_MEMORY);
        w->dm = sqfs_meta_writer_create(&w->file.base, w->cmp, SQFS_META_WRITER_KEEP_IN_MEMORY);
        if (!w->bw || !w->frags || !w->ids || !w->xw || !w->im || !w->dm)
                return -ENOMEM;
        w->dirw = sqfs_dir_writer_create(w->dm, 0);
        w->proc = sqfs_block_processor_create(block_size, w->cmp, workers, 4 * workers, w->bw, w->frags);
        if (!w->dirw || !w->proc)
                return -ENOMEM;

        r = grow_buckets(w);
        if (r < 0)
                return r;
        r = inode_new(w, &root_attr, &ri);
        if (r < 0)
                return r;
        r = node_new(w, NULL, "", ri, &w->root);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

SqfsWriter *sqfs_writer_free(SqfsWriter *w) {
        if (!w)
                return NULL;
        /*
         * The block processor must stop (and stop touching inodes) before they go. Unfinished, it
         * is flushed first: libsquashfs 1.2 leaks a pending fragment block otherwise. What it writes
         * goes to an image nobody will use.
         */
        if (w->proc && !w->finished) {
                if (w->in_file)
                        (void) sqfs_block_processor_end_file(w->proc);
                (void) sqfs_block_processor_finish(w->proc);
        }
        sqfs_destroy(w->proc);
        if (w->root)
                node_free(w, w->root);
        for (SqfsInode *i = w->inodes, *next; i; i = next) {
                next = i->all_next;
                sqfs_free(i->file);
                free(i->link);
                xattrs_free(i->xattrs, i->n_xattrs);
                free(i);
        }
        sqfs_destroy(w->dirw);
        sqfs_destroy(w->dm);
        sqfs_destroy(w->im);
        sqfs_destroy(w->xw);
        sqfs_destroy(w->ids);
        sqfs_destroy(w->frags);
        sqfs_destroy(w->bw);
        sqfs_destroy(w->cmp);
        free(w->buckets);
        free(w);
        return NULL;
}

int sqfs_node_set_attr(SqfsWriter *w, SqfsNode *n, const SqfsAttr *a) {
        SqfsInode *i = n->inode;
        TarXattr *x;
        int r;

        r = xattrs_copy(a->xattrs, a->n_xattrs, &x);
        if (r < 0)
                return r;
        xattrs_free(i->xattrs, i->n_xattrs);
        i->xattrs = x;
        i->n_xattrs = a->n_xattrs;
        i->mode = (i->mode & S_IFMT) | (a->mode & 07777);
        i->uid = a->uid;
        i->gid = a->gid;
        i->mtime = a->mtime;
        return 0;
}

int sqfs_node_add_xattr(SqfsWriter *w, SqfsNode *n, const char *name, const void *value, size_t size) {
        SqfsInode *i = n->inode;
        TarXattr one = { .name = (char *) name, .value = (void *) value, .size = size }, *c, *grown;
        int r;

        for (size_t k = 0; k < i->n_xattrs; k++)
                if (streq(i->xattrs[k].name, name)) {
                        void *v = malloc(MAX(size, (size_t) 1));
                        if (!v)
                                return -ENOMEM;
                        memcpy(v, value, size);
                        free(i->xattrs[k].value);
                        i->xattrs[k].value = v;
                        i->xattrs[k].size = size;
                        return 0;
                }
        r = xattrs_copy(&one, 1, &c);
        if (r < 0)
                return r;
        grown = reallocarray(i->xattrs, i->n_xattrs + 1, sizeof(*grown));
        if (!grown) {
                xattrs_free(c, 1);
                return -ENOMEM;
        }
        i->xattrs = grown;
        i->xattrs[i->n_xattrs++] = *c;
        free(c);
        return 0;
}

int sqfs_writer_add(SqfsWriter *w, SqfsNode *dir, const char *name, const SqfsAttr *a, SqfsNode **ret) {
        SqfsNode *old, *n;
        SqfsInode *i;
        int r;

        assert(!w->in_file);
        old = sqfs_node_lookup(w, dir, name);
        if (old)
                sqfs_writer_remove(w, old);
        r = inode_new(w, a, &i);
        if (r < 0)
                return r;
        r = node_new(w, dir, name, i, &n);
        if (r < 0)
                return r;
        if (S_ISREG(a->mode)) {
                r = sqfs_block_processor_begin_file(w->proc, &i->file, NULL, 0);
                if (r)
                        return fail(w, r, "starting a file");
                w->in_file = true;
        }
        if (ret)
                *ret = n;
        return 0;
}

int sqfs_writer_append(SqfsWriter *w, const void *data, size_t len) {
        int r;

        assert(w->in_file);
        r = sqfs_block_processor_append(w->proc, data, len);
        return r ? fail(w, r, "writing file data") : 0;
}

int sqfs_writer_end_file(SqfsWriter *w) {
        int r;

        assert(w->in_file);
        w->in_file = false;
        r = sqfs_block_processor_end_file(w->proc);
        return r ? fail(w, r, "finishing a file") : 0;
}

int sqfs_writer_link(SqfsWriter *w, SqfsNode *dir, const char *name, SqfsNode *target, SqfsNode **ret) {
        SqfsInode *i = target->inode;
        SqfsNode *old, *n;
        int r;

        assert(!S_ISDIR(i->mode));
        old = sqfs_node_lookup(w, dir, name);
        if (old == target)
                return 0;
        i->refs++; /* keep the inode while the old entry goes (it may be the last other link) */
        if (old)
                sqfs_writer_remove(w, old);
        r = node_new(w, dir, name, i, &n);
        i->refs--;
        if (r < 0)
                return r;
        if (ret)
                *ret = n;
        return 0;
}

/* ---------------------------------------------------------- serialization */

static int cmp_nodes(const void *a, const void *b) {
        return strcmp((*(SqfsNode *const *) a)->name, (*(SqfsNode *const *) b)->name);
}

static int sorted_children(SqfsNode *dir, SqfsNode ***ret) {
        SqfsNode **v = calloc(dir->n_children + 1, sizeof(*v));
        size_t k = 0;

        if (!v)
                return -ENOMEM;
        for (SqfsNode *c = dir->head; c; c = c->next)
                v[k++] = c;
        qsort(v, k, sizeof(*v), cmp_nodes);
        *ret = v;
        return 0;
}

/* Post-order numbering: children (and their subtrees) before their directory; the root comes last. */
static int assign_numbers(SqfsWriter *w, SqfsNode *dir) {
        for (SqfsNode *c = dir->head; c; c = c->next) {
                if (S_ISDIR(c->inode->mode)) {
                        int r = assign_numbers(w, c);
                        if (r < 0)
                                return r;
                } else if (c->inode->number == 0)
                        c->inode->number = ++w->next_number;
        }
        dir->inode->number = ++w->next_number;
        return 0;
}

/* squashfs stores device numbers in the kernel's "new" encoding (new_encode_dev). */
static uint32_t encode_dev(uint32_t rdev) {
        uint32_t major = rdev >> 20, minor = rdev & 0xfffff;
        return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

static int set_common(SqfsWriter *w, SqfsInode *i, sqfs_inode_generic_t *g) {
        sqfs_u16 uid_idx, gid_idx;
        int r;

        r = sqfs_id_table_id_to_index(w->ids, i->uid, &uid_idx);
        if (r == 0)
                r = sqfs_id_table_id_to_index(w->ids, i->gid, &gid_idx);
        if (r)
                return fail(w, r, "mapping uid/gid (more than 65536 distinct ids?)");
        g->base.mode = (sqfs_u16) i->mode;
        g->base.uid_idx = uid_idx;
        g->base.gid_idx = gid_idx;
        g->base.mod_time = i->mtime;
        g->base.inode_number = i->number;
        return 0;
}

static int xattr_index(SqfsWriter *w, SqfsInode *i, sqfs_u32 *ret) {
        int r;

        *ret = 0xFFFFFFFF;
        if (i->n_xattrs == 0)
                return 0;
        r = sqfs_xattr_writer_begin(w->xw, 0);
        for (size_t k = 0; r == 0 && k < i->n_xattrs; k++)
                r = sqfs_xattr_writer_add(w->xw, i->xattrs[k].name, i->xattrs[k].value, i->xattrs[k].size);
        if (r == 0)
                r = sqfs_xattr_writer_end(w->xw, ret);
        return r ? fail(w, r, "storing xattrs") : 0;
}

static int write_generic(SqfsWriter *w, SqfsInode *i, sqfs_inode_generic_t *g) {
        sqfs_u64 block;
        sqfs_u32 offset;
        int r;

        sqfs_meta_writer_get_position(w->im, &block, &offset);
        r = sqfs_meta_writer_write_inode(w->im, g);
        if (r)
                return fail(w, r, "writing an inode");
        i->ref = (block << 16) | offset;
        i->written = true;
        return 0;
}

static int write_leaf(SqfsWriter *w, SqfsInode *i) {
        _cleanup_free_ sqfs_inode_generic_t *own = NULL;
        sqfs_inode_generic_t *g;
        sqfs_u32 xattr;
        size_t extra = 0;
        int r;

        r = xattr_index(w, i, &xattr);
        if (r < 0)
                return r;
        if (S_ISREG(i->mode)) {
                g = i->file;
                if (!g)
                        return img_err(w->error_msg, -EINVAL, "squashfs: regular file without data");
        } else {
                if (S_ISLNK(i->mode))
                        extra = strlen(i->link);
                own = calloc(1, sizeof(*own) + extra + 1);
                if (!own)
                        return -ENOMEM;
                g = own;
                g->payload_bytes_available = g->payload_bytes_used = (sqfs_u32) extra;
                switch (i->mode & S_IFMT) {
                case S_IFLNK:
                        g->base.type = SQFS_INODE_SLINK;
                        g->data.slink.nlink = i->refs;
                        g->data.slink.target_size = (sqfs_u32) extra;
                        memcpy(g->extra, i->link, extra);
                        break;
                case S_IFCHR:
                case S_IFBLK:
                        g->base.type = S_ISCHR(i->mode) ? SQFS_INODE_CDEV : SQFS_INODE_BDEV;
                        g->data.dev.nlink = i->refs;
                        g->data.dev.devno = encode_dev(i->rdev);
                        break;
                case S_IFIFO:
                case S_IFSOCK:
                        g->base.type = S_ISFIFO(i->mode) ? SQFS_INODE_FIFO : SQFS_INODE_SOCKET;
                        g->data.ipc.nlink = i->refs;
                        break;
                default:
                        return img_err(w->error_msg, -EINVAL, "squashfs: unknown file type %o", i->mode);
                }
        }
        r = set_common(w, i, g);
        if (r < 0)
                return r;
        r = sqfs_inode_set_xattr_index(g, xattr);
        if (r == 0 && S_ISREG(i->mode) && i->refs > 1)
                r = sqfs_inode_make_extended(g);
        if (r)
                return fail(w, r, "preparing an inode");
        /* Extended file inodes carry a link count; basic ones imply 1. */
        if (g->base.type == SQFS_INODE_EXT_FILE)
                g->data.file_ext.nlink = i->refs;
        return write_generic(w, i, g);
}

static int write_dir(SqfsWriter *w, SqfsNode *dir, uint32_t parent_number) {
        _cleanup_free_ SqfsNode **kids = NULL;
        sqfs_inode_generic_t *g;
        size_t subdirs = 0;
        sqfs_u32 xattr;
        int r;

        r = sorted_children(dir, &kids);
        if (r < 0)
                return r;
        for (size_t k = 0; k < dir->n_children; k++) {
                SqfsInode *ci = kids[k]->inode;
                if (S_ISDIR(ci->mode)) {
                        r = write_dir(w, kids[k], dir->inode->number);
                        subdirs++;
                } else if (!ci->written)
                        r = write_leaf(w, ci);
                if (r < 0)
                        return r;
        }

        r = sqfs_dir_writer_begin(w->dirw, 0);
        for (size_t k = 0; r == 0 && k < dir->n_children; k++) {
                SqfsInode *ci = kids[k]->inode;
                r = sqfs_dir_writer_add_entry(w->dirw, kids[k]->name, ci->number, ci->ref, (sqfs_u16) ci->mode);
        }
        if (r == 0)
                r = sqfs_dir_writer_end(w->dirw);
        if (r)
                return fail(w, r, "writing a directory listing");

        r = xattr_index(w, dir->inode, &xattr);
        if (r < 0)
                return r;
        g = sqfs_dir_writer_create_inode(w->dirw, 2 + subdirs, xattr, parent_number);
        if (!g)
                return -ENOMEM;
        /* A directory's link count is 2 ("." and its entry) plus one ".." per subdirectory. */
        if (g->base.type == SQFS_INODE_EXT_DIR)
                g->data.dir_ext.nlink = (sqfs_u32) (2 + subdirs);
        else
                g->data.dir.nlink = (sqfs_u32) (2 + subdirs);
        r = set_common(w, dir->inode, g);
        if (r >= 0)
                r = write_generic(w, dir->inode, g);
        sqfs_free(g);
        return r;
}

int sqfs_writer_finish(SqfsWriter *w, uint64_t *ret_size) {
        uint64_t pad;
        int r;

        assert(!w->in_file);
        if (w->failed)
                return -EIO;
        r = sqfs_block_processor_finish(w->proc);
        w->finished = true;
        if (r)
                return fail(w, r, "flushing data blocks");

        w->next_number = 0;
        r = assign_numbers(w, w->root);
        if (r < 0)
                return r;
        /* The root's parent is one past the last inode, as mksquashfs does. */
        r = write_dir(w, w->root, w->next_number + 1);
        if (r < 0)
                return r;
        w->super.inode_count = w->next_number;
        w->super.root_inode_ref = w->root->inode->ref;

        r = sqfs_meta_writer_flush(w->im);
        if (r == 0)
                r = sqfs_meta_writer_flush(w->dm);
        if (r)
                return fail(w, r, "flushing metadata");
        w->super.inode_table_start = w->file.size;
        r = sqfs_meta_write_write_to_file(w->im);
        if (r)
                return fail(w, r, "writing the inode table");
        w->super.directory_table_start = w->file.size;
        r = sqfs_meta_write_write_to_file(w->dm);
        if (r)
                return fail(w, r, "writing the directory table");
        r = sqfs_frag_table_write(w->frags, &w->file.base, &w->super, w->cmp);
        if (r)
                return fail(w, r, "writing the fragment table");
        r = sqfs_id_table_write(w->ids, &w->file.base, &w->super, w->cmp);
        if (r)
                return fail(w, r, "writing the id table");
        r = sqfs_xattr_writer_flush(w->xw, &w->file.base, &w->super, w->cmp);
        if (r)
                return fail(w, r, "writing the xattr table");

        w->super.bytes_used = w->file.size;
        /* Pad to the 4 KiB device block size so that a loop device sees the whole image. */
        pad = (SQFS_DEVBLK_SIZE - w->file.size % SQFS_DEVBLK_SIZE) % SQFS_DEVBLK_SIZE;
        if (pad > 0 && ftruncate(w->file.fd, (off_t) (w->file.size + pad)) < 0)
                return img_err(w->error_msg, -errno, "squashfs: cannot pad the image: %m");
        w->file.size += pad;
        r = sqfs_super_write(&w->super, &w->file.base);
        if (r)
                return fail(w, r, "writing the superblock");
        if (ret_size)
                *ret_size = w->file.size;
        return 0;
}
