/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Guest RAM for the virtio fuzz targets: a plain buffer whose first bytes
 * come from the input, with one split virtqueue of qsize entries laid out
 * from gpa 0 (descriptor table, avail ring, used ring; virtio 1.2 2.7), so
 * the fuzzer writes descriptors and ring entries directly.
 */

#include "fuzz.h"
#include "microvm-internal.h"

#define FG_RAM_SIZE (64u * 1024u)

typedef struct FuzzGuest {
        uint8_t *ram;
        GuestMem *mem;
        uint16_t qsize;
        uint64_t desc, avail, used;
} FuzzGuest;

/*
 * The first input byte picks the queue size (1..max_size); bytes from hdr_len on fill RAM from
 * gpa 0 (the ones between are the target's own header).
 */
static inline int fuzz_guest_new(const uint8_t *data, size_t size, size_t hdr_len, uint16_t max_size, FuzzGuest *ret) {
        FuzzGuest g = {};
        unsigned shift = 0;

        if (size < hdr_len || hdr_len < 1)
                return -EINVAL;
        while ((1u << (shift + 1)) <= max_size)
                shift++;
        g.qsize = (uint16_t) (1u << (data[0] % (shift + 1)));
        g.ram = calloc(1, FG_RAM_SIZE);
        FUZZ_CHECK(g.ram);
        memcpy(g.ram, data + hdr_len, MIN(size - hdr_len, (size_t) FG_RAM_SIZE));
        FUZZ_CHECK(gm_new_buffer(g.ram, 0, FG_RAM_SIZE, &g.mem) >= 0);
        g.desc = 0;
        g.avail = 16ULL * g.qsize;
        g.used = (g.avail + 6 + 2ULL * g.qsize + 3) & ~3ULL;
        *ret = g;
        return 0;
}

static inline void fuzz_guest_attach(FuzzGuest *g, Vq *vq) {
        vq->size = g->qsize;
        vq->desc_gpa = g->desc;
        vq->avail_gpa = g->avail;
        vq->used_gpa = g->used;
        vq->ready = true;
}

static inline void fuzz_guest_done(FuzzGuest *g) {
        gm_free(g->mem);
        free(g->ram);
}

static inline uint16_t fuzz_guest_used_idx(const FuzzGuest *g) {
        uint16_t v;
        memcpy(&v, g->ram + g->used + 2, sizeof v);
        return v;
}

/* Whether [p, p + len) lies inside guest RAM. */
static inline bool fuzz_guest_holds(const FuzzGuest *g, const void *p, uint64_t len) {
        const uint8_t *b = p;
        return b >= g->ram && len <= FG_RAM_SIZE && (uint64_t) (b - g->ram) <= FG_RAM_SIZE - len;
}
