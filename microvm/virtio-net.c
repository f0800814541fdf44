/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net (virtio 1.2 5.1) over a packet fd: a tap opened with
 * IFF_VNET_HDR and a 12-byte vnet header (virtio_net_hdr_v1), so frames pass
 * between the rings and the fd with their header unchanged; no offloads are
 * offered, so the header is all zeros but num_buffers.
 */
#include <sys/uio.h>

#include "microvm-internal.h"

#define VIRTIO_NET_F_MAC 5
#define NET_QUEUE_MAX 256
#define NET_RXQ 0
#define NET_TXQ 1
#define NET_MAX_FRAME (65536 + VIRTIO_NET_HDR_LEN)

typedef struct VirtioNet {
        int fd;
} VirtioNet;

static int net_tx_frame(VirtioDev *d, const VqChain *c, uint32_t *ret_written) {
        VirtioNet *n = d->backend;
        struct iovec iov[VQ_MAX_SEGS];
        int k = vq_chain_iov(c, false, 0, iov, VQ_MAX_SEGS);

        /* A frame needs a header; oversized or short frames are dropped, not fatal. */
        if (c->readable_len > VIRTIO_NET_HDR_LEN && c->readable_len <= NET_MAX_FRAME)
                (void) writev(n->fd, iov, k);
        *ret_written = 0;
        return 0;
}

bool virtio_net_wants_rx(VirtioDev *d) {
        bool r;
        pthread_mutex_lock(&d->lock);
        r = virtio_dev_active(d) && vq_has_avail(&d->vqs[NET_RXQ]);
        pthread_mutex_unlock(&d->lock);
        return r;
}

void virtio_net_rx(VirtioDev *d) {
        VirtioNet *n = d->backend;
        Vq *vq = &d->vqs[NET_RXQ];
        VqChain *c = malloc(sizeof(*c));
        bool pushed = false;

        if (!c)
                return;
        pthread_mutex_lock(&d->lock);
        while (virtio_dev_active(d) && vq_has_avail(vq)) {
                struct iovec iov[VQ_MAX_SEGS];
                uint16_t one = 1;
                ssize_t len;
                int k, r;

                /* peek first, so a packet is never lost for want of a buffer */
                r = vq_pop_chain(vq, c);
                if (r <= 0) {
                        if (r < 0)
                                virtio_dev_fail(d, NET_RXQ, r);
                        break;
                }
                if (c->writable_len < VIRTIO_NET_HDR_LEN) {
                        virtio_dev_fail(d, NET_RXQ, -EINVAL);
                        break;
                }
                k = vq_chain_iov(c, true, 0, iov, VQ_MAX_SEGS);
                len = readv(n->fd, iov, k);
                if (len <= 0) {
                        vq->last_avail_idx--; /* nothing to receive: give the buffer back */
                        break;
                }
                if (len < VIRTIO_NET_HDR_LEN)
                        len = VIRTIO_NET_HDR_LEN;
                vq_chain_write(c, 10, &one, sizeof(one)); /* num_buffers (5.1.6.4) */
                if (vq_push(vq, c->head, (uint32_t) len) < 0) {
                        virtio_dev_fail(d, NET_RXQ, -EFAULT);
                        break;
                }
                pushed = true;
        }
        if (pushed)
                virtio_dev_notify_used(d, NET_RXQ);
        pthread_mutex_unlock(&d->lock);
        free(c);
}

static void net_queue_notify(VirtioDev *d, unsigned q) {
        if (q == NET_TXQ)
                virtio_dev_serve_queue(d, NET_TXQ, net_tx_frame);
        /* rx kicks only mean "buffers added": the loop re-arms the fd (vm.c) */
}

static void *net_free(void *p) {
        VirtioNet *n = p;
        if (n)
                safe_close(n->fd);
        free(n);
        return NULL;
}

static const VirtioDevOps net_ops = {
        .name = "net",
        .device_id = VIRTIO_ID_NET,
        .num_queues = 2,
        .queue_max = NET_QUEUE_MAX,
        .queue_notify = net_queue_notify,
        .free = net_free,
};

int virtio_net_new(GuestMem *mem, int fd, const uint8_t mac[6], VirtioDev **ret) {
        _cleanup_free_ VirtioNet *n = calloc(1, sizeof(VirtioNet));
        _cleanup_free_ VirtioDev *d = calloc(1, sizeof(VirtioDev));
        int r;

        if (!n || !d)
                return -ENOMEM;
        r = virtio_dev_init(d, &net_ops, n, mem);
        if (r < 0)
                return r;
        n->fd = fd; /* owned from here on success */
        d->device_features |= 1ULL << VIRTIO_NET_F_MAC;
        memcpy(d->config, mac, 6); /* struct virtio_net_config: mac[6], status, ... */
        d->config_size = 8;
        TAKE_PTR(n);
        *ret = TAKE_PTR(d);
        return 0;
}
