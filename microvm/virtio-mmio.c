/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio version 2 transport (virtio 1.2 4.2) as a pure register
 * file over a VirtioDev, plus the transport-independent device state
 * machine (status, feature negotiation, reset, interrupts).
 */
#include "microvm-internal.h"

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define MMIO_VENDOR 0x414c5541 /* "AULA" */

enum {
        REG_MAGIC = 0x000,
        REG_VERSION = 0x004,
        REG_DEVICE_ID = 0x008,
        REG_VENDOR_ID = 0x00c,
        REG_DEVICE_FEATURES = 0x010,
        REG_DEVICE_FEATURES_SEL = 0x014,
        REG_DRIVER_FEATURES = 0x020,
        REG_DRIVER_FEATURES_SEL = 0x024,
        REG_QUEUE_SEL = 0x030,
        REG_QUEUE_NUM_MAX = 0x034,
        REG_QUEUE_NUM = 0x038,
        REG_QUEUE_READY = 0x044,
        REG_QUEUE_NOTIFY = 0x050,
        REG_INTERRUPT_STATUS = 0x060,
        REG_INTERRUPT_ACK = 0x064,
        REG_STATUS = 0x070,
        REG_QUEUE_DESC_LOW = 0x080,
        REG_QUEUE_DESC_HIGH = 0x084,
        REG_QUEUE_DRIVER_LOW = 0x090,
        REG_QUEUE_DRIVER_HIGH = 0x094,
        REG_QUEUE_DEVICE_LOW = 0x0a0,
        REG_QUEUE_DEVICE_HIGH = 0x0a4,
        REG_SHM_SEL = 0x0ac,
        REG_SHM_LEN_LOW = 0x0b0,
        REG_SHM_LEN_HIGH = 0x0b4,
        REG_SHM_BASE_LOW = 0x0b8,
        REG_SHM_BASE_HIGH = 0x0bc,
        REG_QUEUE_RESET = 0x0c0,
        REG_CONFIG_GENERATION = 0x0fc,
        REG_CONFIG = 0x100,
};

int virtio_dev_init(VirtioDev *d, const VirtioDevOps *ops, void *backend, GuestMem *mem) {
        int r;

        assert(ops->num_queues <= VIRTIO_MAX_QUEUES);
        *d = (VirtioDev){ .ops = ops, .backend = backend, .mem = mem };
        d->device_features |= 1ULL << VIRTIO_F_VERSION_1;
        for (unsigned q = 0; q < ops->num_queues; q++)
                vq_init(&d->vqs[q], mem, ops->queue_max);
        r = -pthread_mutex_init(&d->lock, NULL);
        return r;
}

void virtio_dev_done(VirtioDev *d) {
        pthread_mutex_destroy(&d->lock);
}

VirtioDev *virtio_dev_free(VirtioDev *d) {
        if (!d)
                return NULL;
        if (d->ops->free)
                d->ops->free(d->backend);
        virtio_dev_done(d);
        free(d);
        return NULL;
}

bool virtio_dev_active(const VirtioDev *d) {
        return (d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_NEEDS_RESET);
}

bool virtio_dev_has_feature(const VirtioDev *d, unsigned bit) {
        return bit < 64 && (d->driver_features & (1ULL << bit));
}

static void raise_irq(VirtioDev *d, uint32_t why) {
        d->isr |= why;
        if (d->irq_raise)
                d->irq_raise(d->irq_opaque);
}

void virtio_dev_notify_used(VirtioDev *d, unsigned q) {
        if (q < d->ops->num_queues && vq_should_notify(&d->vqs[q]))
                raise_irq(d, VIRTIO_INT_VRING);
}

void virtio_dev_fail(VirtioDev *d, unsigned q, int error) {
        log_debug_errno(error, "virtio-%s: queue %u: malformed chain, device needs reset: %m", d->ops->name,
                        q);
        if (q < d->ops->num_queues)
                d->vqs[q].broken = true;
        if (d->status & VIRTIO_STATUS_NEEDS_RESET)
                return;
        d->status |= VIRTIO_STATUS_NEEDS_RESET;
        raise_irq(d, VIRTIO_INT_CONFIG);
}

void virtio_dev_serve_queue(VirtioDev *d, unsigned q, VirtioChainFn serve) {
        Vq *vq = &d->vqs[q];
        VqChain *c = malloc(sizeof(*c));
        bool pushed = false;
        int r;

        if (!c)
                return;
        while ((r = vq_pop_chain(vq, c)) > 0) {
                uint32_t written = 0;

                r = serve(d, c, &written);
                if (r < 0)
                        break;
                if (vq_push(vq, c->head, written) < 0) {
                        r = -EFAULT;
                        break;
                }
                pushed = true;
        }
        if (r < 0)
                virtio_dev_fail(d, q, r);
        if (pushed)
                virtio_dev_notify_used(d, q);
        free(c);
}

void virtio_dev_kick(VirtioDev *d, unsigned q) {
        pthread_mutex_lock(&d->lock);
        if (q < d->ops->num_queues && virtio_dev_active(d) && d->vqs[q].ready && d->ops->queue_notify)
                d->ops->queue_notify(d, q);
        pthread_mutex_unlock(&d->lock);
}

static void dev_reset(VirtioDev *d) {
        if (d->ops->reset)
                d->ops->reset(d);
        for (unsigned q = 0; q < d->ops->num_queues; q++)
                vq_reset(&d->vqs[q]);
        d->status = 0;
        d->isr = 0;
        d->driver_features = 0;
        d->device_features_sel = d->driver_features_sel = d->queue_sel = 0;
}

static void set_status(VirtioDev *d, uint32_t v) {
        uint32_t old = d->status;

        if (v == 0) {
                dev_reset(d);
                return;
        }
        v &= 0xff;
        /* FEATURES_OK sticks only for a subset of what we offer that includes VERSION_1 (4.2.3.1). */
        if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
                if ((d->driver_features & ~d->device_features) ||
                    !(d->driver_features & (1ULL << VIRTIO_F_VERSION_1)))
                        v &= ~VIRTIO_STATUS_FEATURES_OK;
        }
        if ((v & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK))
                v &= ~VIRTIO_STATUS_DRIVER_OK;
        d->status = v | (old & VIRTIO_STATUS_NEEDS_RESET);
        if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) && d->ops->activate)
                d->ops->activate(d);
}

static Vq *cur_vq(VirtioDev *d) {
        return d->queue_sel < d->ops->num_queues ? &d->vqs[d->queue_sel] : NULL;
}

static void set_addr_half(uint64_t *a, uint32_t v, bool high) {
        if (high)
                *a = (*a & 0xffffffffULL) | ((uint64_t) v << 32);
        else
                *a = (*a & ~0xffffffffULL) | v;
}

static int config_access(VirtioDev *d, uint64_t off, unsigned size, bool is_write, uint64_t *val) {
        if (size != 1 && size != 2 && size != 4 && size != 8)
                return -EINVAL;
        if (off >= d->config_size || size > d->config_size - off)
                return -EINVAL;
        if (!is_write) {
                *val = 0;
                memcpy(val, d->config + off, size); /* little-endian host */
                return 0;
        }
        if (!d->ops->config_write)
                return -EINVAL;
        d->ops->config_write(d, (uint32_t) off, val, size);
        return 0;
}

static int reg_read(VirtioDev *d, uint64_t off, uint32_t *v) {
        Vq *vq = cur_vq(d);

        switch (off) {
        case REG_MAGIC:
                *v = MMIO_MAGIC;
                break;
        case REG_VERSION:
                *v = 2;
                break;
        case REG_DEVICE_ID:
                *v = d->ops->device_id;
                break;
        case REG_VENDOR_ID:
                *v = MMIO_VENDOR;
                break;
        case REG_DEVICE_FEATURES:
                *v = d->device_features_sel == 0              ? (uint32_t) d->device_features
                                : d->device_features_sel == 1 ? (uint32_t) (d->device_features >> 32)
                                                              : 0;
                break;
        case REG_QUEUE_NUM_MAX:
                *v = vq ? vq->max_size : 0;
                break;
        case REG_QUEUE_READY:
                *v = vq ? vq->ready : 0;
                break;
        case REG_INTERRUPT_STATUS:
                *v = d->isr;
                break;
        case REG_STATUS:
                *v = d->status;
                break;
        case REG_CONFIG_GENERATION:
                *v = d->config_generation;
                break;
        case REG_SHM_LEN_LOW:
        case REG_SHM_LEN_HIGH:
        case REG_SHM_BASE_LOW:
        case REG_SHM_BASE_HIGH:
                *v = 0xffffffff;
                break; /* no shared memory regions (4.2.2) */
        case REG_QUEUE_RESET:
                *v = 0;
                break;
        default:
                return -EINVAL; /* write-only or reserved */
        }
        return 0;
}

static int queue_write(VirtioDev *d, uint64_t off, uint32_t v) {
        Vq *vq = cur_vq(d);

        if (!vq)
                return -EINVAL;
        /* Queue layout may change only while the queue is not ready (4.2.3.2). */
        if (vq->ready && off != REG_QUEUE_READY)
                return -EINVAL;
        switch (off) {
        case REG_QUEUE_NUM:
                if (v == 0 || v > vq->max_size || (v & (v - 1)))
                        return -EINVAL;
                vq->size = (uint16_t) v;
                break;
        case REG_QUEUE_READY:
                if (v == 1 && !vq->ready) {
                        if (vq_validate(vq) < 0)
                                return -EINVAL;
                        vq->ready = true;
                        vq->broken = false;
                } else if (v == 0)
                        vq->ready = false;
                break;
        case REG_QUEUE_DESC_LOW:
                set_addr_half(&vq->desc_gpa, v, false);
                break;
        case REG_QUEUE_DESC_HIGH:
                set_addr_half(&vq->desc_gpa, v, true);
                break;
        case REG_QUEUE_DRIVER_LOW:
                set_addr_half(&vq->avail_gpa, v, false);
                break;
        case REG_QUEUE_DRIVER_HIGH:
                set_addr_half(&vq->avail_gpa, v, true);
                break;
        case REG_QUEUE_DEVICE_LOW:
                set_addr_half(&vq->used_gpa, v, false);
                break;
        case REG_QUEUE_DEVICE_HIGH:
                set_addr_half(&vq->used_gpa, v, true);
                break;
        default:
                return -EINVAL;
        }
        return 0;
}

static int reg_write(VirtioDev *d, uint64_t off, uint32_t v) {
        switch (off) {
        case REG_DEVICE_FEATURES_SEL:
                d->device_features_sel = v;
                return 0;
        case REG_DRIVER_FEATURES:
                if (d->status & VIRTIO_STATUS_FEATURES_OK)
                        return -EINVAL;
                if (d->driver_features_sel == 0)
                        d->driver_features = (d->driver_features & ~0xffffffffULL) | v;
                else if (d->driver_features_sel == 1)
                        d->driver_features = (d->driver_features & 0xffffffffULL) | ((uint64_t) v << 32);
                else if (v != 0)
                        return -EINVAL;
                return 0;
        case REG_DRIVER_FEATURES_SEL:
                d->driver_features_sel = v;
                return 0;
        case REG_QUEUE_SEL:
                d->queue_sel = v;
                return 0;
        case REG_QUEUE_NOTIFY:
                if (v >= d->ops->num_queues)
                        return -EINVAL;
                if (virtio_dev_active(d) && d->vqs[v].ready && d->ops->queue_notify)
                        d->ops->queue_notify(d, v);
                return 0;
        case REG_INTERRUPT_ACK:
                d->isr &= ~v;
                return 0;
        case REG_STATUS:
                set_status(d, v);
                return 0;
        case REG_SHM_SEL:
                return 0;
        case REG_QUEUE_NUM:
        case REG_QUEUE_READY:
        case REG_QUEUE_DESC_LOW:
        case REG_QUEUE_DESC_HIGH:
        case REG_QUEUE_DRIVER_LOW:
        case REG_QUEUE_DRIVER_HIGH:
        case REG_QUEUE_DEVICE_LOW:
        case REG_QUEUE_DEVICE_HIGH:
                return queue_write(d, off, v);
        default:
                return -EINVAL;
        }
}

int vm_mmio_access(VirtioDev *d, uint64_t off, unsigned size, bool is_write, uint64_t *val) {
        uint32_t v = 0;
        int r;

        assert(d && val);
        pthread_mutex_lock(&d->lock);
        if (off >= REG_CONFIG) {
                r = config_access(d, off - REG_CONFIG, size, is_write, val);
                if (r < 0 && !is_write)
                        *val = 0;
        } else if (size != 4 || off % 4) {
                r = -EINVAL;
                if (!is_write)
                        *val = 0;
        } else if (is_write)
                r = reg_write(d, off, (uint32_t) *val);
        else {
                r = reg_read(d, off, &v);
                *val = v;
        }
        pthread_mutex_unlock(&d->lock);
        return r;
}
