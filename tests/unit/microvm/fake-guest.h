/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A fake virtio driver in a malloc'd buffer (STYLE.md rule 24): guest RAM,
 * a descriptor table, avail and used rings, and helpers to build chains and
 * read back what the device did. Devices are kicked with a plain call.
 */
#include "microvm-internal.h"
#include "tap.h"

#define FG_DESC 0x1000ULL
#define FG_AVAIL 0x2000ULL
#define FG_USED 0x3000ULL
#define FG_DATA 0x10000ULL /* after three queues of rings */

typedef struct FakeGuest {
        uint8_t *ram;
        uint64_t ram_size;
        GuestMem *mem;
        Vq *vq; /* the queue under test (standalone or a device's) */
        Vq own; /* used when testing the vq core alone */
        uint16_t avail_idx;
        uint64_t next_data;
        unsigned irqs;
} FakeGuest;

static inline void fake_guest_free(FakeGuest *g) {
        if (!g)
                return;
        gm_free(g->mem);
        free(g->ram);
        free(g);
}
static inline void fake_guest_freep(FakeGuest **g) {
        fake_guest_free(*g);
}

/* Point vq at this guest's rings (size qsize) and mark it ready. */
static inline void fake_guest_attach(FakeGuest *g, Vq *vq, uint16_t qsize, unsigned qi) {
        g->vq = vq;
        vq->size = qsize;
        vq->desc_gpa = FG_DESC + qi * 0x4000ULL;
        vq->avail_gpa = FG_AVAIL + qi * 0x4000ULL;
        vq->used_gpa = FG_USED + qi * 0x4000ULL;
        vq->ready = true;
}

static inline int fake_guest_new(uint64_t ram, uint16_t qsize, FakeGuest **ret) {
        FakeGuest *g = calloc(1, sizeof(*g));
        int r;

        if (!g)
                return -ENOMEM;
        g->ram = calloc(1, ram);
        g->ram_size = ram;
        g->next_data = FG_DATA;
        if (!g->ram) {
                free(g);
                return -ENOMEM;
        }
        r = gm_new_buffer(g->ram, 0, ram, &g->mem);
        if (r < 0) {
                fake_guest_free(g);
                return r;
        }
        vq_init(&g->own, g->mem, VQ_MAX_SIZE);
        fake_guest_attach(g, &g->own, qsize, 0);
        *ret = g;
        return 0;
}

static inline void fake_guest_set_desc(
                FakeGuest *g,
                uint16_t i,
                uint64_t gpa,
                uint32_t len,
                uint16_t flags,
                uint16_t next) {
        VringDesc d = { .addr = gpa, .len = len, .flags = flags, .next = next };
        memcpy(g->ram + g->vq->desc_gpa + 16ULL * i, &d, sizeof(d));
}

static inline void fake_guest_publish_avail(FakeGuest *g, uint16_t head) {
        uint16_t *ring = (uint16_t *) (g->ram + g->vq->avail_gpa + 4);
        ring[g->avail_idx % g->vq->size] = head;
        g->avail_idx++;
        memcpy(g->ram + g->vq->avail_gpa + 2, &g->avail_idx, 2);
}

static inline void fake_guest_set_avail_idx(FakeGuest *g, uint16_t idx) {
        memcpy(g->ram + g->vq->avail_gpa + 2, &idx, 2);
}

static inline uint16_t fake_guest_used_idx(FakeGuest *g) {
        uint16_t v;
        memcpy(&v, g->ram + g->vq->used_gpa + 2, 2);
        return v;
}

static inline void fake_guest_used_elem(FakeGuest *g, uint16_t i, uint32_t *id, uint32_t *len) {
        const uint8_t *e = g->ram + g->vq->used_gpa + 4 + 8ULL * (i % g->vq->size);
        memcpy(id, e, 4);
        memcpy(len, e + 4, 4);
}

/* Allocate len bytes of guest data (16-aligned); returns its gpa. */
static inline uint64_t fake_guest_alloc(FakeGuest *g, uint64_t len) {
        uint64_t gpa = g->next_data;
        g->next_data = (g->next_data + len + 15) & ~15ULL;
        assert(g->next_data <= g->ram_size);
        return gpa;
}

/*
 * Build a chain from descriptor index `first` with n buffers; flags[i] gives
 * VRING_DESC_F_WRITE; returns the head index.
 */
static inline uint16_t fake_guest_chain(
                FakeGuest *g,
                uint16_t first,
                const uint64_t *gpa,
                const uint32_t *len,
                const uint16_t *wr,
                unsigned n) {
        for (unsigned i = 0; i < n; i++)
                fake_guest_set_desc(
                                g, (uint16_t) (first + i), gpa[i], len[i],
                                (uint16_t) ((wr[i] ? VRING_DESC_F_WRITE : 0) |
                                            (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
                                (uint16_t) (first + i + 1));
        return first;
}

static inline void fake_guest_irq(void *opaque) {
        ((FakeGuest *) opaque)->irqs++;
}

/* Wire a device's queue qi to this guest's rings and make the device active. */
static inline void fake_guest_activate(FakeGuest *g, VirtioDev *d, unsigned nq, uint16_t qsize) {
        d->irq_raise = fake_guest_irq;
        d->irq_opaque = g;
        d->driver_features = d->device_features;
        d->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                        VIRTIO_STATUS_DRIVER_OK;
        for (unsigned q = 0; q < nq; q++) {
                d->vqs[q].mem = g->mem;
                fake_guest_attach(g, &d->vqs[q], qsize, q);
        }
}
