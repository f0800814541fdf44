/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include "images-internal.h"

#define STREAM_BUF (128 * 1024)

ImgStream *img_stream_free(ImgStream *s) {
        if (s)
                s->destroy(s);
        return NULL;
}

int img_stream_read_full(ImgStream *s, void *buf, size_t len) {
        uint8_t *p = buf;
        size_t done = 0;

        while (done < len) {
                ssize_t n = s->read(s, p + done, len - done);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        return img_err(s->error_msg, -EPIPE, "unexpected end of data (%zu of %zu bytes)",
                                       done, len);
                done += (size_t) n;
        }
        return 0;
}

int img_stream_skip(ImgStream *s, uint64_t n) {
        static uint8_t sink[16384];

        if (s->skip)
                return s->skip(s, n);
        while (n > 0) {
                ssize_t k = s->read(s, sink, (size_t) MIN(n, (uint64_t) sizeof(sink)));
                if (k < 0)
                        return (int) k;
                if (k == 0)
                        return img_err(s->error_msg, -EPIPE, "unexpected end of data");
                n -= (uint64_t) k;
        }
        return 0;
}

int img_stream_drain(ImgStream *s) {
        _cleanup_free_ uint8_t *buf = malloc(STREAM_BUF);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = s->read(s, buf, STREAM_BUF);
                if (k <= 0)
                        return (int) k;
        }
}

/* --------------------------------------------------------------------- fd */

typedef struct FdStream {
        ImgStream s;
        int fd;
        bool owned;
        uint64_t pos, end;
} FdStream;

static ssize_t fd_read(ImgStream *s, void *buf, size_t len) {
        FdStream *f = (FdStream *) s;
        ssize_t n;

        if (f->end != UINT64_MAX)
                len = (size_t) MIN((uint64_t) len, f->end - f->pos);
        if (len == 0)
                return 0;
        do
                n = pread(f->fd, buf, len, (off_t) f->pos);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return img_err(s->error_msg, -errno, "read failed: %m");
        if (n == 0 && f->end != UINT64_MAX)
                return img_err(s->error_msg, -EPIPE, "file ends %" PRIu64 " bytes early", f->end - f->pos);
        f->pos += (uint64_t) n;
        return n;
}

static int fd_skip(ImgStream *s, uint64_t n) {
        FdStream *f = (FdStream *) s;
        struct stat st;

        if (f->end != UINT64_MAX) {
                if (n > f->end - f->pos)
                        return img_err(s->error_msg, -EPIPE, "unexpected end of data");
        } else if (fstat(f->fd, &st) < 0 || (S_ISREG(st.st_mode) && f->pos + n > (uint64_t) st.st_size))
                return img_err(s->error_msg, -EPIPE, "unexpected end of data");
        f->pos += n;
        return 0;
}

static void fd_destroy(ImgStream *s) {
        FdStream *f = (FdStream *) s;
        if (f->owned)
                safe_close(f->fd);
        free(s);
}

static int stream_fd(int fd, bool owned, uint64_t offset, uint64_t length, char **error_msg, ImgStream **ret) {
        FdStream *f = calloc(1, sizeof(*f));
        if (!f) {
                if (owned)
                        safe_close(fd);
                return -ENOMEM;
        }
        f->s = (ImgStream){ .read = fd_read, .skip = fd_skip, .destroy = fd_destroy, .error_msg = error_msg };
        f->fd = fd;
        f->owned = owned;
        f->pos = offset;
        f->end = length == UINT64_MAX ? UINT64_MAX : offset + length;
        *ret = &f->s;
        return 0;
}

int img_stream_fd(int fd, uint64_t offset, uint64_t length, char **error_msg, ImgStream **ret) {
        return stream_fd(fd, false, offset, length, error_msg, ret);
}

int img_stream_fd_take(int fd, uint64_t offset, uint64_t length, char **error_msg, ImgStream **ret) {
        return stream_fd(fd, true, offset, length, error_msg, ret);
}

/* -------------------------------------------------------------------- tee */

typedef struct TeeStream {
        ImgStream s;
        ImgStream *inner;
        ImgHash *hash;
        int copy_fd;
        uint64_t max, count;
        uint64_t *counter;
} TeeStream;

static ssize_t tee_read(ImgStream *s, void *buf, size_t len) {
        TeeStream *t = (TeeStream *) s;
        ssize_t n = t->inner->read(t->inner, buf, len);
        int r;

        if (n <= 0)
                return n;
        if ((uint64_t) n > t->max - t->count)
                return img_err(s->error_msg, -EFBIG, "more data than the %" PRIu64 " bytes expected", t->max);
        t->count += (uint64_t) n;
        if (t->counter)
                *t->counter = t->count;
        if (t->hash)
                img_hash_update(t->hash, buf, (size_t) n);
        if (t->copy_fd >= 0) {
                r = loop_write(t->copy_fd, buf, (size_t) n);
                if (r < 0)
                        return img_err(s->error_msg, r, "cannot write to the store: %s", strerror(-r));
        }
        return n;
}

static void tee_destroy(ImgStream *s) {
        TeeStream *t = (TeeStream *) s;
        img_stream_free(t->inner);
        free(t);
}

int img_stream_tee(
                ImgStream *inner,
                ImgHash *hash,
                int copy_fd,
                uint64_t max_bytes,
                uint64_t *counter,
                ImgStream **ret) {
        TeeStream *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->s = (ImgStream){ .read = tee_read, .destroy = tee_destroy, .error_msg = inner->error_msg };
        t->inner = inner;
        t->hash = hash;
        t->copy_fd = copy_fd;
        t->max = max_bytes;
        t->counter = counter;
        *ret = &t->s;
        return 0;
}

/* ----------------------------------------------------------- decompression */

static const char *const compression_names[_IMG_COMPRESSION_MAX] = {
        [IMG_COMPRESSION_AUTO] = "auto",
        [IMG_COMPRESSION_NONE] = "none",
        [IMG_COMPRESSION_GZIP] = "gzip",
        [IMG_COMPRESSION_ZSTD] = "zstd",
};

const char *img_compression_to_string(ImgCompression c) {
        return c >= 0 && c < _IMG_COMPRESSION_MAX ? compression_names[c] : NULL;
}

int img_layer_media_type_compression(const char *media_type, ImgCompression *ret) {
        static const struct {
                const char *type;
                ImgCompression c;
        } table[] = {
                /* image-spec media-types.md and layer.md; nondistributable kept for old images. */
                { "application/vnd.oci.image.layer.v1.tar", IMG_COMPRESSION_AUTO },
                { "application/vnd.oci.image.layer.v1.tar+gzip", IMG_COMPRESSION_GZIP },
                { "application/vnd.oci.image.layer.v1.tar+zstd", IMG_COMPRESSION_ZSTD },
                { "application/vnd.oci.image.layer.nondistributable.v1.tar", IMG_COMPRESSION_AUTO },
                { "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", IMG_COMPRESSION_GZIP },
                { "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", IMG_COMPRESSION_ZSTD },
                { "application/vnd.docker.image.rootfs.diff.tar", IMG_COMPRESSION_AUTO },
                { "application/vnd.docker.image.rootfs.diff.tar.gzip", IMG_COMPRESSION_GZIP },
                { "application/vnd.docker.image.rootfs.diff.tar.zstd", IMG_COMPRESSION_ZSTD },
                { "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", IMG_COMPRESSION_GZIP },
        };

        if (!media_type)
                return -EPROTONOSUPPORT;
        FOREACH_ARRAY(t, table, ELEMENTSOF(table))
                if (streq(t->type, media_type)) {
                        *ret = t->c;
                        return 0;
                }
        return -EPROTONOSUPPORT;
}

typedef struct DecStream {
        ImgStream s;
        ImgStream *inner;
        ImgCompression mode;
        uint8_t *in;
        size_t in_pos, in_len;
        bool in_eof;
        bool member_done; /* gzip: a member ended; zstd: a frame ended */
        bool finished;
        z_stream z;
        bool z_init;
        ZSTD_DStream *zd;
} DecStream;

static int dec_fill(DecStream *d) {
        ssize_t n;

        if (d->in_pos > 0 && d->in_pos < d->in_len)
                memmove(d->in, d->in + d->in_pos, d->in_len - d->in_pos);
        d->in_len -= d->in_pos;
        d->in_pos = 0;
        if (d->in_eof || d->in_len == STREAM_BUF)
                return 0;
        n = d->inner->read(d->inner, d->in + d->in_len, STREAM_BUF - d->in_len);
        if (n < 0)
                return (int) n;
        if (n == 0)
                d->in_eof = true;
        d->in_len += (size_t) n;
        return 0;
}

static ssize_t dec_read_none(DecStream *d, void *buf, size_t len) {
        /* Small reads (tar headers) are served from the buffer, so that the layers below see large ones. */
        if (d->in_pos == d->in_len) {
                int r;
                if (len >= STREAM_BUF || d->in_eof)
                        return d->in_eof ? 0 : d->inner->read(d->inner, buf, len);
                d->in_pos = d->in_len = 0;
                r = dec_fill(d);
                if (r < 0)
                        return r;
                if (d->in_len == 0)
                        return 0;
        }
        size_t k = MIN(len, d->in_len - d->in_pos);
        memcpy(buf, d->in + d->in_pos, k);
        d->in_pos += k;
        return (ssize_t) k;
}

static ssize_t dec_read_gzip(DecStream *d, void *buf, size_t len) {
        int r;

        for (;;) {
                if (d->in_pos == d->in_len && !d->in_eof) {
                        r = dec_fill(d);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (d->member_done) {
                        /* RFC 1952 2.2: a gzip file is a series of members. Anything else is an error. */
                        if (d->in_len - d->in_pos < 2 && !d->in_eof) {
                                r = dec_fill(d);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        if (d->in_pos == d->in_len)
                                return 0;
                        if (d->in_len - d->in_pos < 2 || d->in[d->in_pos] != 0x1f ||
                            d->in[d->in_pos + 1] != 0x8b)
                                return img_err(d->s.error_msg, -EBADMSG,
                                               "trailing data after the gzip stream");
                        if (inflateReset(&d->z) != Z_OK)
                                return -ENOMEM;
                        d->member_done = false;
                }
                d->z.next_in = d->in + d->in_pos;
                d->z.avail_in = (uInt) (d->in_len - d->in_pos);
                d->z.next_out = buf;
                d->z.avail_out = (uInt) MIN(len, (size_t) UINT32_MAX);
                r = inflate(&d->z, Z_NO_FLUSH);
                d->in_pos = d->in_len - d->z.avail_in;
                if (r == Z_STREAM_END)
                        d->member_done = true;
                else if (r != Z_OK && r != Z_BUF_ERROR)
                        return img_err(d->s.error_msg, -EBADMSG, "corrupt gzip stream: %s",
                                       d->z.msg ? d->z.msg : "inflate failed");
                if (d->z.avail_out < len)
                        return (ssize_t) (len - d->z.avail_out);
                if (!d->member_done && d->in_pos == d->in_len && d->in_eof)
                        return img_err(d->s.error_msg, -EBADMSG, "truncated gzip stream");
        }
}

static ssize_t dec_read_zstd(DecStream *d, void *buf, size_t len) {
        int r;

        for (;;) {
                ZSTD_inBuffer ib;
                ZSTD_outBuffer ob = { .dst = buf, .size = len, .pos = 0 };
                size_t z;

                if (d->in_pos == d->in_len && !d->in_eof) {
                        r = dec_fill(d);
                        if (r < 0)
                                return r;
                        continue;
                }
                ib = (ZSTD_inBuffer){ .src = d->in, .size = d->in_len, .pos = d->in_pos };
                z = ZSTD_decompressStream(d->zd, &ob, &ib);
                if (ZSTD_isError(z))
                        return img_err(d->s.error_msg, -EBADMSG, "corrupt zstd stream: %s",
                                       ZSTD_getErrorName(z));
                /*
                 * 0: a frame is complete and flushed; more frames may follow (RFC 8878 2). A call that
                 * neither consumed nor produced anything says nothing new (it asks for the next frame).
                 */
                if (ib.pos > d->in_pos || ob.pos > 0)
                        d->member_done = z == 0;
                d->in_pos = ib.pos;
                if (ob.pos > 0)
                        return (ssize_t) ob.pos;
                if (d->in_pos == d->in_len && d->in_eof) {
                        if (!d->member_done)
                                return img_err(d->s.error_msg, -EBADMSG, "truncated zstd stream");
                        return 0;
                }
        }
}

static ssize_t dec_read(ImgStream *s, void *buf, size_t len) {
        DecStream *d = (DecStream *) s;
        ssize_t n;

        if (len == 0 || d->finished)
                return 0;
        switch (d->mode) {
        case IMG_COMPRESSION_GZIP:
                n = dec_read_gzip(d, buf, len);
                break;
        case IMG_COMPRESSION_ZSTD:
                n = dec_read_zstd(d, buf, len);
                break;
        default:
                n = dec_read_none(d, buf, len);
        }
        if (n == 0)
                d->finished = true;
        return n;
}

static void dec_destroy(ImgStream *s) {
        DecStream *d = (DecStream *) s;
        if (d->z_init)
                inflateEnd(&d->z);
        ZSTD_freeDStream(d->zd);
        img_stream_free(d->inner);
        free(d->in);
        free(d);
}

static ImgCompression detect(const uint8_t *p, size_t n) {
        if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
                return IMG_COMPRESSION_GZIP;
        if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
                return IMG_COMPRESSION_ZSTD;
        return IMG_COMPRESSION_NONE;
}

int img_stream_decompress(ImgStream *inner, ImgCompression c, ImgStream **ret) {
        _cleanup_(img_stream_freep) ImgStream *result = NULL;
        DecStream *d;
        ImgCompression found;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d) {
                img_stream_free(inner);
                return -ENOMEM;
        }
        d->s = (ImgStream){ .read = dec_read, .destroy = dec_destroy, .error_msg = inner->error_msg };
        d->inner = inner;
        result = &d->s;
        d->in = malloc(STREAM_BUF);
        if (!d->in)
                return -ENOMEM;

        while (d->in_len < 4 && !d->in_eof) {
                r = dec_fill(d);
                if (r < 0)
                        return r;
        }
        found = detect(d->in, d->in_len);
        if (c == IMG_COMPRESSION_GZIP || c == IMG_COMPRESSION_ZSTD) {
                if (found != c)
                        return img_err(d->s.error_msg, -EBADMSG, "data is not %s-compressed as declared",
                                       img_compression_to_string(c));
        } else if (c == IMG_COMPRESSION_NONE)
                found = IMG_COMPRESSION_NONE;
        d->mode = found;

        if (found == IMG_COMPRESSION_GZIP) {
                /* 15 + 16: a 32 KiB window, gzip header and trailer (CRC-32 and size checked). */
                if (inflateInit2(&d->z, 15 + 16) != Z_OK)
                        return -ENOMEM;
                d->z_init = true;
        } else if (found == IMG_COMPRESSION_ZSTD) {
                d->zd = ZSTD_createDStream();
                if (!d->zd)
                        return -ENOMEM;
                /* Refuse frames asking for more than a 128 MiB window (the zstd CLI's default limit). */
                if (ZSTD_isError(ZSTD_DCtx_setParameter(d->zd, ZSTD_d_windowLogMax, 27)))
                        return -ENOMEM;
                d->member_done = true; /* an empty stream is a valid (empty) input */
        }
        *ret = TAKE_PTR(result);
        return 0;
}
