/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk requests (virtio 1.2 5.2.6) from guest RAM the fuzzer writes,
 * against an in-memory disk: no request may touch memory outside guest RAM
 * or the disk, a read-only disk never changes, and one kick completes at most
 * a ring's worth of requests. (The used ring itself is guest memory that a
 * request's buffers may overlap, so it is not read back.)
 */
#include <sys/uio.h>

#include "fuzz-guest.h"

#define DISK_SIZE (16u * 1024u)
/* Header: queue size selector, device options; then guest RAM. */
#define HDR_RO 1u
#define HDR_FAIL_IO 2u
#define HDR_SHORT_IO 4u

typedef struct Disk {
        uint8_t data[DISK_SIZE];
        uint8_t flags;
} Disk;

static ssize_t disk_rw(Disk *d, const struct iovec *iov, int n, uint64_t off, bool write) {
        size_t done = 0;

        FUZZ_CHECK(n >= 0 && n <= VQ_MAX_SEGS);
        if (d->flags & HDR_FAIL_IO)
                return -EIO;
        FUZZ_CHECK(off <= DISK_SIZE);
        for (int i = 0; i < n; i++) {
                size_t k = MIN(iov[i].iov_len, (size_t) (DISK_SIZE - off - done));
                if (write)
                        memcpy(d->data + off + done, iov[i].iov_base, k);
                else
                        memcpy(iov[i].iov_base, d->data + off + done, k);
                done += k;
                /* A backend may transfer less than asked; the device must retry the rest. */
                if ((d->flags & HDR_SHORT_IO) && done > 0)
                        break;
        }
        return (ssize_t) done;
}

static ssize_t disk_preadv(void *opaque, const struct iovec *iov, int n, uint64_t off) {
        return disk_rw(opaque, iov, n, off, false);
}

static ssize_t disk_pwritev(void *opaque, const struct iovec *iov, int n, uint64_t off) {
        return disk_rw(opaque, iov, n, off, true);
}

static int disk_flush(void *opaque) {
        return ((Disk *) opaque)->flags & HDR_FAIL_IO ? -EIO : 0;
}

static const BlkBackendOps disk_ops = { .preadv = disk_preadv, .pwritev = disk_pwritev, .flush = disk_flush };

static void irq(void *opaque) {
        (*(unsigned *) opaque)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static Disk disk, before;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;
        uint8_t flags = size > 1 ? data[1] : 0;
        unsigned irqs = 0;
        uint16_t used;
        FuzzGuest g;

        if (fuzz_guest_new(data, size, 2, 256, &g) < 0)
                return 0;
        for (size_t i = 0; i < DISK_SIZE; i++)
                disk.data[i] = (uint8_t) (i * 7 + i / 512);
        disk.flags = flags;
        before = disk;
        FUZZ_CHECK(virtio_blk_new(g.mem, &disk_ops, &disk, DISK_SIZE, flags & HDR_RO, "fuzz", &d) >= 0);
        d->irq_raise = irq;
        d->irq_opaque = &irqs;
        d->driver_features = d->device_features;
        d->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                        VIRTIO_STATUS_DRIVER_OK;
        fuzz_guest_attach(&g, &d->vqs[0]);

        virtio_dev_kick(d, 0);
        /* One kick completes at most a ring's worth of requests. */
        used = d->vqs[0].used_idx;
        FUZZ_CHECK(used <= g.qsize);
        /* After a malformed chain the queue stays broken until reset: a second kick does nothing. */
        if (d->status & VIRTIO_STATUS_NEEDS_RESET) {
                virtio_dev_kick(d, 0);
                FUZZ_CHECK(d->vqs[0].used_idx == used);
        }
        if (flags & HDR_RO)
                FUZZ_CHECK(memcmp(disk.data, before.data, DISK_SIZE) == 0);
        fuzz_guest_done(&g);
        return 0;
}
