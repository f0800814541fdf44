/* SPDX-License-Identifier: Apache-2.0 */

/*
 * A streaming tar reader for image layers and image archives: POSIX ustar
 * with pax extended headers (POSIX.1-2008 "pax" format: path, linkpath, size,
 * uid, gid, mtime, SCHILY.xattr.*, LIBARCHIVE.xattr.*) and the GNU long
 * name/link extensions and base-256 numbers that docker, podman and GNU tar
 * write. Sparse files, multi-volume archives and anything else exotic are
 * refused rather than misread.
 */

#include "images-internal.h"

#define BLOCK 512

typedef struct TarHeader {
        char name[100];
        char mode[8];
        char uid[8];
        char gid[8];
        char size[12];
        char mtime[12];
        char chksum[8];
        char typeflag;
        char linkname[100];
        char magic[6];
        char version[2];
        char uname[32];
        char gname[32];
        char devmajor[8];
        char devminor[8];
        char prefix[155];
        char pad[12];
} TarHeader;

_Static_assert(sizeof(TarHeader) == BLOCK, "tar header is one block");

struct TarReader {
        ImgStream *in;
        ImgLimits limits;
        char **error_msg;
        uint64_t offset; /* bytes consumed from in */
        uint64_t data_left; /* of the current entry */
        uint64_t padding; /* after the current entry's data */
        uint64_t data_offset;
        size_t entries;
        bool done;
        TarEntry entry;
};

static void entry_done(TarEntry *e) {
        free(e->path);
        free(e->link);
        for (size_t i = 0; i < e->n_xattrs; i++) {
                free(e->xattrs[i].name);
                free(e->xattrs[i].value);
        }
        free(e->xattrs);
        *e = (TarEntry){};
}

int tar_reader_new(ImgStream *in, const ImgLimits *limits, char **error_msg, TarReader **ret) {
        TarReader *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->in = in;
        t->limits = *limits;
        t->error_msg = error_msg;
        *ret = t;
        return 0;
}

TarReader *tar_reader_free(TarReader *t) {
        if (t) {
                entry_done(&t->entry);
                free(t);
        }
        return NULL;
}

uint64_t tar_data_offset(const TarReader *t) {
        return t->data_offset;
}

static int skip_bytes(TarReader *t, uint64_t n) {
        int r = img_stream_skip(t->in, n);
        if (r == -EPIPE)
                return img_err_wrap(t->error_msg, -EPIPE, "tar: truncated archive");
        if (r >= 0)
                t->offset += n;
        return r;
}

/* Octal (NUL/space terminated, leading spaces allowed) or GNU base-256 (high bit of the first byte). */
static int parse_number(const char *field, size_t len, uint64_t *ret) {
        const unsigned char *p = (const unsigned char *) field;
        uint64_t v = 0;
        size_t i = 0;

        if (p[0] & 0x80) {
                if (p[0] & 0x40)
                        return -ERANGE; /* negative */
                v = p[0] & 0x3f;
                for (i = 1; i < len; i++) {
                        if (v > (UINT64_MAX >> 8))
                                return -ERANGE;
                        v = (v << 8) | p[i];
                }
                *ret = v;
                return 0;
        }
        while (i < len && p[i] == ' ')
                i++;
        for (; i < len && p[i] >= '0' && p[i] <= '7'; i++) {
                if (v > (UINT64_MAX >> 3))
                        return -ERANGE;
                v = (v << 3) | (uint64_t) (p[i] - '0');
        }
        for (; i < len; i++)
                if (p[i] != ' ' && p[i] != '\0')
                        return -EINVAL;
        *ret = v;
        return 0;
}

static bool checksum_ok(const TarHeader *h) {
        const unsigned char *p = (const unsigned char *) h;
        uint64_t want;
        long unsigned_sum = 0, signed_sum = 0;

        if (parse_number(h->chksum, sizeof(h->chksum), &want) < 0)
                return false;
        for (size_t i = 0; i < BLOCK; i++) {
                bool in_sum = i >= offsetof(TarHeader, chksum) && i < offsetof(TarHeader, chksum) + 8;
                unsigned_sum += in_sum ? ' ' : p[i];
                signed_sum += in_sum ? ' ' : (signed char) p[i];
        }
        /* Old tars summed signed chars; accept either, as GNU tar does. */
        return (long) want == unsigned_sum || (long) want == signed_sum;
}

static bool is_zero_block(const void *b) {
        const uint64_t *p = b;
        for (size_t i = 0; i < BLOCK / sizeof(uint64_t); i++)
                if (p[i] != 0)
                        return false;
        return true;
}

static char *field_string(const char *f, size_t len) {
        return strndup(f, strnlen(f, len));
}

/* Read the data of a pax/GNU meta entry (bounded), consuming its padding. */
static int read_meta_data(TarReader *t, uint64_t size, size_t max, const char *what, char **ret) {
        _cleanup_free_ char *buf = NULL;
        uint64_t pad = (BLOCK - size % BLOCK) % BLOCK;
        int r;

        if (size > max)
                return img_err(t->error_msg, -E2BIG,
                               "tar: %s of %" PRIu64 " bytes exceeds the limit of %zu bytes", what, size, max);
        buf = malloc((size_t) size + 1);
        if (!buf)
                return -ENOMEM;
        r = img_stream_read_full(t->in, buf, (size_t) size);
        if (r < 0)
                return img_err_wrap(t->error_msg, r, "tar: truncated %s", what);
        t->offset += size;
        buf[size] = '\0';
        r = skip_bytes(t, pad);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return (int) MIN(size, (uint64_t) INT32_MAX);
}

typedef struct PaxState {
        char *path, *link;
        bool has_size, has_uid, has_gid, has_mtime;
        uint64_t size, uid, gid;
        int64_t mtime;
        TarXattr *xattrs;
        size_t n_xattrs;
} PaxState;

static void pax_done(PaxState *p) {
        free(p->path);
        free(p->link);
        for (size_t i = 0; i < p->n_xattrs; i++) {
                free(p->xattrs[i].name);
                free(p->xattrs[i].value);
        }
        free(p->xattrs);
        *p = (PaxState){};
}

static int pax_add_xattr(TarReader *t, PaxState *p, const char *name, const void *value, size_t size) {
        TarXattr *n;

        if (isempty(name) || strlen(name) > 255)
                return img_err(t->error_msg, -EINVAL, "tar: invalid xattr name");
        if (size > t->limits.max_xattr_value)
                return img_err(t->error_msg, -E2BIG, "tar: xattr '%s' of %zu bytes exceeds the limit of %zu",
                               name, size, t->limits.max_xattr_value);
        if (p->n_xattrs >= t->limits.max_xattrs)
                return img_err(t->error_msg, -E2BIG, "tar: more than %zu xattrs on one entry",
                               t->limits.max_xattrs);
        n = reallocarray(p->xattrs, p->n_xattrs + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        p->xattrs = n;
        n = &p->xattrs[p->n_xattrs];
        *n = (TarXattr){ .name = strdup(name), .value = malloc(MAX(size, (size_t) 1)), .size = size };
        if (!n->name || !n->value) {
                free(n->name);
                free(n->value);
                return -ENOMEM;
        }
        memcpy(n->value, value, size);
        p->n_xattrs++;
        return 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int base64_decode(const char *s, size_t len, uint8_t *out, size_t *ret_len) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        uint32_t acc = 0;
        int bits = 0;
        size_t n = 0;

        for (size_t i = 0; i < len; i++) {
                const char *q;
                if (s[i] == '=')
                        break;
                q = strchr(alphabet, s[i]);
                if (!q || s[i] == '\0')
                        return -EINVAL;
                acc = (acc << 6) | (uint32_t) (q - alphabet);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[n++] = (uint8_t) (acc >> bits);
                }
        }
        *ret_len = n;
        return 0;
}

static int pax_record(TarReader *t, PaxState *p, bool global, const char *key, const char *value, size_t vlen) {
        const char *x;
        uint64_t u;
        int r;

        if (global)
                return 0; /* global headers carry only comments in practice; never let them rename entries */
        if (streq(key, "path") || streq(key, "linkpath")) {
                char **dst = streq(key, "path") ? &p->path : &p->link;
                if (memchr(value, '\0', vlen))
                        return img_err(t->error_msg, -EINVAL, "tar: NUL byte in pax %s", key);
                free(*dst);
                *dst = strndup(value, vlen);
                return *dst ? 0 : -ENOMEM;
        }
        if (streq(key, "size") || streq(key, "uid") || streq(key, "gid")) {
                r = safe_atou64(value, &u);
                if (r < 0)
                        return img_err(t->error_msg, -EINVAL, "tar: invalid pax %s '%s'", key, value);
                if (streq(key, "size"))
                        p->size = u, p->has_size = true;
                else if (u > UINT32_MAX)
                        return img_err(t->error_msg, -ERANGE, "tar: pax %s %" PRIu64 " out of range", key, u);
                else if (streq(key, "uid"))
                        p->uid = u, p->has_uid = true;
                else
                        p->gid = u, p->has_gid = true;
                return 0;
        }
        if (streq(key, "mtime")) {
                /* "seconds[.fraction]", possibly negative. */
                _cleanup_free_ char *secs = strndup(value, strcspn(value, "."));
                int64_t v;
                if (!secs)
                        return -ENOMEM;
                r = safe_atoi64(secs, &v);
                if (r < 0)
                        return img_err(t->error_msg, -EINVAL, "tar: invalid pax mtime '%s'", value);
                p->mtime = v;
                p->has_mtime = true;
                return 0;
        }
        if ((x = startswith(key, "SCHILY.xattr.")))
                return pax_add_xattr(t, p, x, value, vlen);
        if ((x = startswith(key, "LIBARCHIVE.xattr."))) {
                /* Name is URL-encoded, value base64 (libarchive's tar(5)). */
                _cleanup_free_ char *name = malloc(strlen(x) + 1);
                _cleanup_free_ uint8_t *bin = malloc(vlen + 1);
                size_t n = 0, blen;
                if (!name || !bin)
                        return -ENOMEM;
                for (const char *c = x; *c; c++) {
                        if (*c == '%' && unhex(c[1]) >= 0 && unhex(c[2]) >= 0) {
                                name[n++] = (char) (unhex(c[1]) << 4 | unhex(c[2]));
                                c += 2;
                        } else
                                name[n++] = *c;
                }
                name[n] = '\0';
                if (strlen(name) != n || base64_decode(value, vlen, bin, &blen) < 0)
                        return img_err(t->error_msg, -EINVAL, "tar: invalid LIBARCHIVE.xattr record");
                return pax_add_xattr(t, p, name, bin, blen);
        }
        if (startswith(key, "GNU.sparse."))
                return img_err(t->error_msg, -EOPNOTSUPP, "tar: sparse files are not supported");
        return 0; /* atime, ctime, uname, gname, comment, charset, ... */
}

/* Records are "LEN KEY=VALUE\n" where LEN counts the whole record (POSIX pax "extended header"). */
static int pax_parse(TarReader *t, PaxState *p, bool global, char *buf, size_t len) {
        size_t pos = 0;
        int r;

        while (pos < len) {
                char *rec = buf + pos, *sp, *eq, *end;
                uint64_t rlen;

                if (buf[pos] == '\0')
                        break; /* some writers pad with NULs */
                sp = memchr(rec, ' ', len - pos);
                if (!sp || sp == rec || sp - rec > 20)
                        return img_err(t->error_msg, -EINVAL, "tar: malformed pax header");
                *sp = '\0';
                r = safe_atou64(rec, &rlen);
                *sp = ' ';
                if (r < 0 || rlen > len - pos || rlen < (uint64_t) (sp - rec) + 3)
                        return img_err(t->error_msg, -EINVAL, "tar: malformed pax record length");
                end = rec + rlen - 1;
                if (*end != '\n')
                        return img_err(t->error_msg, -EINVAL, "tar: pax record not terminated by a newline");
                *end = '\0';
                eq = memchr(sp + 1, '=', (size_t) (end - sp - 1));
                if (!eq || eq == sp + 1)
                        return img_err(t->error_msg, -EINVAL, "tar: malformed pax record");
                *eq = '\0';
                r = pax_record(t, p, global, sp + 1, eq + 1, (size_t) (end - eq - 1));
                if (r < 0)
                        return r;
                pos += (size_t) rlen;
        }
        return 0;
}

static int map_type(TarReader *t, char flag, const char *name, TarType *ret) {
        switch (flag) {
        case '0':
        case '\0':
        case '7': /* contiguous file: a regular file everywhere but on ancient systems */
                *ret = TAR_REG;
                return 0;
        case '1':
                *ret = TAR_HARDLINK;
                return 0;
        case '2':
                *ret = TAR_SYMLINK;
                return 0;
        case '3':
                *ret = TAR_CHR;
                return 0;
        case '4':
                *ret = TAR_BLK;
                return 0;
        case '5':
                *ret = TAR_DIR;
                return 0;
        case '6':
                *ret = TAR_FIFO;
                return 0;
        case 'S':
                return img_err(t->error_msg, -EOPNOTSUPP,
                               "tar: '%s' is a GNU sparse file, which is not supported", name);
        default:
                return img_err(t->error_msg, -EOPNOTSUPP, "tar: '%s' has unsupported entry type '%c' (0x%02x)",
                               name, flag >= 0x20 && flag < 0x7f ? flag : '?', (unsigned char) flag);
        }
}

static int build_entry(TarReader *t, const TarHeader *h, PaxState *pax, char *gnu_name, char *gnu_link) {
        TarEntry *e = &t->entry;
        bool ustar = memcmp(h->magic, "ustar\0", 6) == 0;
        uint64_t mode, uid, gid, mtime, size, maj = 0, min = 0;
        int r;

        if (pax->path)
                e->path = TAKE_PTR(pax->path);
        else if (gnu_name)
                e->path = strdup(gnu_name);
        else if (ustar && h->prefix[0]) {
                _cleanup_free_ char *pre = field_string(h->prefix, sizeof(h->prefix));
                _cleanup_free_ char *nm = field_string(h->name, sizeof(h->name));
                if (!pre || !nm)
                        return -ENOMEM;
                e->path = path_join(pre, nm);
        } else
                e->path = field_string(h->name, sizeof(h->name));
        if (!e->path)
                return -ENOMEM;

        if (pax->link)
                e->link = TAKE_PTR(pax->link);
        else if (gnu_link)
                e->link = strdup(gnu_link);
        else
                e->link = field_string(h->linkname, sizeof(h->linkname));
        if (!e->link)
                return -ENOMEM;
        if (strlen(e->path) > t->limits.max_path || strlen(e->link) > t->limits.max_path)
                return img_err(t->error_msg, -ENAMETOOLONG, "tar: path longer than %zu bytes",
                               t->limits.max_path);

        r = map_type(t, h->typeflag, e->path, &e->type);
        if (r < 0)
                return r;
        if (parse_number(h->mode, sizeof(h->mode), &mode) < 0 ||
            parse_number(h->uid, sizeof(h->uid), &uid) < 0 || parse_number(h->gid, sizeof(h->gid), &gid) < 0 ||
            parse_number(h->mtime, sizeof(h->mtime), &mtime) < 0 ||
            parse_number(h->size, sizeof(h->size), &size) < 0)
                return img_err(t->error_msg, -EINVAL, "tar: '%s': malformed numeric header field", e->path);
        if (e->type == TAR_CHR || e->type == TAR_BLK) {
                if (parse_number(h->devmajor, sizeof(h->devmajor), &maj) < 0 ||
                    parse_number(h->devminor, sizeof(h->devminor), &min) < 0 || maj > 0xfff || min > 0xfffff)
                        return img_err(t->error_msg, -EINVAL, "tar: '%s': invalid device number", e->path);
        }
        if (pax->has_uid)
                uid = pax->uid;
        if (pax->has_gid)
                gid = pax->gid;
        if (pax->has_size)
                size = pax->size;
        if (uid > UINT32_MAX || gid > UINT32_MAX)
                return img_err(t->error_msg, -ERANGE, "tar: '%s': uid/gid out of range", e->path);
        e->mode = (uint32_t) (mode & 07777);
        e->uid = (uint32_t) uid;
        e->gid = (uint32_t) gid;
        e->mtime = pax->has_mtime ? pax->mtime : (int64_t) MIN(mtime, (uint64_t) INT64_MAX);
        e->devmajor = (uint32_t) maj;
        e->devminor = (uint32_t) min;
        /* Only regular files carry data; a size on anything else (hard links in some writers) is skipped. */
        e->size = e->type == TAR_REG ? size : 0;
        e->xattrs = TAKE_PTR(pax->xattrs);
        e->n_xattrs = pax->n_xattrs;
        pax->n_xattrs = 0;

        if (e->size > UINT64_MAX - BLOCK)
                return img_err(t->error_msg, -ERANGE, "tar: '%s': size out of range", e->path);
        /* Header-only types have no data records whatever their size field says (pax "ustar Interchange Format"). */
        t->data_left = e->size;
        t->padding = (BLOCK - e->size % BLOCK) % BLOCK;
        t->data_offset = t->offset;
        return 0;
}

/* Skip what the caller left of the current entry's data, and its padding; sets t->done at the end of input. */
static int skip_entry_rest(TarReader *t) {
        int r;

        r = skip_bytes(t, t->data_left);
        if (r < 0)
                return r;
        t->data_left = 0;
        if (t->padding > 0) {
                /*
                 * The end of input where the padding of the last entry should start is taken as the
                 * end of the archive: some writers (umoci insert) stop there, and Go's archive/tar,
                 * which docker and containerd use, reads such layers the same way. The data itself
                 * was complete, and the digests vouch for the rest.
                 */
                uint8_t pad[BLOCK];
                ssize_t n = t->in->read(t->in, pad, 1);
                if (n < 0)
                        return (int) n;
                if (n == 0) {
                        t->done = true;
                        return 0;
                }
                t->offset += 1;
                r = skip_bytes(t, t->padding - 1);
                if (r < 0)
                        return r;
                t->padding = 0;
        }
        return 0;
}

/*
 * Read and check the next header block into *h with its size field. Returns 1, or 0 at the end of the
 * archive (t->done set); pending says an extended header still waits for its entry.
 */
static int read_header(TarReader *t, bool pending, TarHeader *h, uint64_t *ret_size) {
        ssize_t n;
        int r;

        /* A clean end of input at a block boundary is accepted as the end (as Go's archive/tar does). */
        n = t->in->read(t->in, h, 1);
        if (n < 0)
                return (int) n;
        if (n == 0) {
                if (pending)
                        return img_err(t->error_msg, -EPIPE, "tar: archive ends after an extended header");
                t->done = true;
                return 0;
        }
        r = img_stream_read_full(t->in, (char *) h + 1, BLOCK - 1);
        if (r < 0)
                return img_err_wrap(t->error_msg, r, "tar: truncated header");
        t->offset += BLOCK;

        if (is_zero_block(h)) {
                /* End of archive: two zero blocks. Whatever follows is not ours to read here. */
                t->done = true;
                return 0;
        }
        if (!checksum_ok(h))
                return img_err(t->error_msg, -EBADMSG, "tar: header checksum mismatch at offset %" PRIu64,
                               t->offset - BLOCK);
        if (++t->entries > t->limits.max_entries)
                return img_err(t->error_msg, -E2BIG, "tar: more than %zu entries", t->limits.max_entries);
        if (parse_number(h->size, sizeof(h->size), ret_size) < 0)
                return img_err(t->error_msg, -EINVAL, "tar: malformed size field");
        return 1;
}

int tar_next(TarReader *t, const TarEntry **ret) {
        _cleanup_(pax_done) PaxState pax = {};
        _cleanup_free_ char *gnu_name = NULL, *gnu_link = NULL;
        TarHeader h;
        int r;

        if (t->done)
                return 0;
        r = skip_entry_rest(t);
        if (r < 0)
                return r;
        entry_done(&t->entry);
        if (t->done)
                return 0;

        for (;;) {
                uint64_t size;
                _cleanup_free_ char *meta = NULL;

                r = read_header(t, gnu_name || gnu_link || pax.path || pax.n_xattrs, &h, &size);
                if (r <= 0)
                        return r;

                switch (h.typeflag) {
                case 'x':
                case 'g':
                        r = read_meta_data(t, size, t->limits.max_pax, "pax header", &meta);
                        if (r < 0)
                                return r;
                        r = pax_parse(t, &pax, h.typeflag == 'g', meta, (size_t) size);
                        if (r < 0)
                                return r;
                        continue;
                case 'L':
                case 'K': {
                        char **dst = h.typeflag == 'L' ? &gnu_name : &gnu_link;
                        r = read_meta_data(t, size, t->limits.max_path + 1, "GNU long name", &meta);
                        if (r < 0)
                                return r;
                        free(*dst);
                        *dst = strndup(meta, strnlen(meta, (size_t) size));
                        if (!*dst)
                                return -ENOMEM;
                        continue;
                }
                case 'V': /* volume label: no file */
                        r = skip_bytes(t, size + (BLOCK - size % BLOCK) % BLOCK);
                        if (r < 0)
                                return r;
                        continue;
                }

                r = build_entry(t, &h, &pax, gnu_name, gnu_link);
                if (r < 0)
                        return r;
                *ret = &t->entry;
                return 1;
        }
}

ssize_t tar_read(TarReader *t, void *buf, size_t len) {
        ssize_t n;

        len = (size_t) MIN((uint64_t) len, t->data_left);
        if (len == 0)
                return 0;
        n = t->in->read(t->in, buf, len);
        if (n < 0)
                return n;
        if (n == 0)
                return img_err(t->error_msg, -EPIPE, "tar: '%s' is truncated (%" PRIu64 " bytes missing)",
                               t->entry.path, t->data_left);
        t->data_left -= (uint64_t) n;
        t->offset += (uint64_t) n;
        return n;
}
