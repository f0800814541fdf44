/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk (virtio 1.2 5.2): one request queue over a raw image. Every
 * request is checked against the disk size with overflow-safe arithmetic; a
 * write to a read-only disk fails with VIRTIO_BLK_S_IOERR.
 */
#include <sys/uio.h>

#include "microvm-internal.h"

#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define SECTOR 512ULL
#define BLK_QUEUE_MAX 256
#define BLK_SEG_MAX (BLK_QUEUE_MAX - 2)

typedef struct BlkReqHdr {
        uint32_t type;
        uint32_t reserved;
        uint64_t sector;
} BlkReqHdr;

typedef struct VirtioBlk {
        const BlkBackendOps *ops;
        void *opaque;
        uint64_t size;
        bool read_only;
        char serial[VIRTIO_BLK_ID_BYTES];
} VirtioBlk;

static ssize_t fd_preadv(void *opaque, const struct iovec *iov, int n, uint64_t off) {
        return RET_NERRNO(preadv((int) (intptr_t) opaque, iov, n, (off_t) off));
}

static ssize_t fd_pwritev(void *opaque, const struct iovec *iov, int n, uint64_t off) {
        return RET_NERRNO(pwritev((int) (intptr_t) opaque, iov, n, (off_t) off));
}

static int fd_flush(void *opaque) {
        return RET_NERRNO(fdatasync((int) (intptr_t) opaque));
}

const BlkBackendOps blk_fd_ops = { .preadv = fd_preadv, .pwritev = fd_pwritev, .flush = fd_flush };

/* Full transfer of len bytes at off, retrying short transfers. */
static int blk_rw(VirtioBlk *b, bool write, struct iovec *iov, int n, uint64_t off, uint64_t len) {
        while (len > 0) {
                ssize_t k = write ? b->ops->pwritev(b->opaque, iov, n, off)
                                  : b->ops->preadv(b->opaque, iov, n, off);
                if (k == -EINTR)
                        continue;
                if (k < 0)
                        return (int) k;
                if (k == 0) {
                        /* short file: reads past EOF of a sparse image are zeros */
                        if (write)
                                return -EIO;
                        for (int i = 0; i < n; i++)
                                memset(iov[i].iov_base, 0, iov[i].iov_len);
                        return 0;
                }
                len -= (uint64_t) k;
                off += (uint64_t) k;
                while (n > 0 && (size_t) k >= iov->iov_len) {
                        k -= (ssize_t) iov->iov_len;
                        iov++;
                        n--;
                }
                if (n > 0) {
                        iov->iov_base = (uint8_t *) iov->iov_base + k;
                        iov->iov_len -= (size_t) k;
                }
        }
        return 0;
}

/* Returns the status byte; *written counts bytes placed in guest buffers (excluding status). */
static uint8_t blk_handle(VirtioBlk *b, const VqChain *c, uint64_t data_len, uint32_t *written) {
        struct iovec iov[VQ_MAX_SEGS];
        BlkReqHdr h;
        uint64_t off;
        int n, r;

        *written = 0;
        if (vq_chain_read(c, 0, &h, sizeof(h)) != sizeof(h))
                return VIRTIO_BLK_S_IOERR;

        switch (h.type) {
        case VIRTIO_BLK_T_IN:
        case VIRTIO_BLK_T_OUT: {
                bool write = h.type == VIRTIO_BLK_T_OUT;
                if (write && b->read_only)
                        return VIRTIO_BLK_S_IOERR;
                if (data_len % SECTOR)
                        return VIRTIO_BLK_S_IOERR;
                if (h.sector > b->size / SECTOR)
                        return VIRTIO_BLK_S_IOERR;
                off = h.sector * SECTOR;
                if (data_len > b->size - off)
                        return VIRTIO_BLK_S_IOERR;
                if (data_len == 0)
                        return VIRTIO_BLK_S_OK;
                if (write)
                        n = vq_chain_iov(c, false, sizeof(h), iov, VQ_MAX_SEGS);
                else {
                        /* the writable part minus the trailing status byte */
                        n = vq_chain_iov(c, true, 0, iov, VQ_MAX_SEGS);
                        uint64_t left = data_len;
                        for (int i = 0; i < n; i++) {
                                if (iov[i].iov_len > left)
                                        iov[i].iov_len = left;
                                left -= iov[i].iov_len;
                                if (iov[i].iov_len == 0) {
                                        n = i;
                                        break;
                                }
                        }
                }
                r = blk_rw(b, write, iov, n, off, data_len);
                if (r < 0)
                        return VIRTIO_BLK_S_IOERR;
                if (!write)
                        *written = (uint32_t) data_len;
                return VIRTIO_BLK_S_OK;
        }
        case VIRTIO_BLK_T_FLUSH:
                if (b->read_only)
                        return VIRTIO_BLK_S_OK;
                return b->ops->flush(b->opaque) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
        case VIRTIO_BLK_T_GET_ID: {
                size_t k = MIN(data_len, (uint64_t) VIRTIO_BLK_ID_BYTES);
                *written = (uint32_t) vq_chain_write(c, 0, b->serial, k);
                return VIRTIO_BLK_S_OK;
        }
        default:
                return VIRTIO_BLK_S_UNSUPP;
        }
}

/* header (16 bytes, readable) ... status (1 byte, writable, last) */
static int blk_serve(VirtioDev *d, const VqChain *c, uint32_t *ret_written) {
        uint32_t written = 0;
        uint64_t data_len;
        uint8_t status;
        BlkReqHdr h;

        if (c->readable_len < sizeof(BlkReqHdr) || c->writable_len < 1)
                return -EINVAL;
        vq_chain_read(c, 0, &h, sizeof(h));
        data_len = h.type == VIRTIO_BLK_T_OUT ? c->readable_len - sizeof(BlkReqHdr) : c->writable_len - 1;
        status = blk_handle(d->backend, c, data_len, &written);
        vq_chain_write(c, c->writable_len - 1, &status, 1);
        *ret_written = written + 1;
        return 0;
}

static void blk_queue_notify(VirtioDev *d, unsigned q) {
        virtio_dev_serve_queue(d, q, blk_serve);
}

static void *blk_free(void *p) {
        free(p);
        return NULL;
}

static const VirtioDevOps blk_ops = {
        .name = "blk",
        .device_id = VIRTIO_ID_BLOCK,
        .num_queues = 1,
        .queue_max = BLK_QUEUE_MAX,
        .queue_notify = blk_queue_notify,
        .free = blk_free,
};

int virtio_blk_new(
                GuestMem *mem,
                const BlkBackendOps *ops,
                void *opaque,
                uint64_t size_bytes,
                bool read_only,
                const char *serial,
                VirtioDev **ret) {
        _cleanup_free_ VirtioBlk *b = NULL;
        _cleanup_free_ VirtioDev *d = NULL;
        uint64_t capacity = size_bytes / SECTOR;
        uint32_t seg_max = BLK_SEG_MAX;
        int r;

        b = calloc(1, sizeof(*b));
        d = calloc(1, sizeof(*d));
        if (!b || !d)
                return -ENOMEM;
        *b = (VirtioBlk){ .ops = ops, .opaque = opaque, .size = capacity * SECTOR, .read_only = read_only };
        if (serial) /* not NUL-terminated when 20 bytes long (virtio 1.2 5.2.6) */
                memcpy(b->serial, serial, strnlen(serial, sizeof(b->serial)));
        r = virtio_dev_init(d, &blk_ops, b, mem);
        if (r < 0)
                return r;
        d->device_features |= 1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_BLK_F_SEG_MAX;
        if (read_only)
                d->device_features |= 1ULL << VIRTIO_BLK_F_RO;
        /* struct virtio_blk_config: capacity (le64) @0, size_max @8, seg_max @12 */
        memcpy(d->config, &capacity, 8);
        memcpy(d->config + 12, &seg_max, 4);
        d->config_size = 60;
        TAKE_PTR(b);
        *ret = TAKE_PTR(d);
        return 0;
}
