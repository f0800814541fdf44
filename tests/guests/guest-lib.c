/* SPDX-License-Identifier: Apache-2.0 */
#include "guest.h"

void putc_(char c) {
        outb(0x3f8, (uint8_t) c);
}

void puts_(const char *s) {
        while (*s)
                putc_(*s++);
}

void puthex(uint64_t v) {
        char b[17];
        for (int i = 15; i >= 0; i--, v >>= 4)
                b[i] = "0123456789abcdef"[v & 15];
        b[16] = 0;
        puts_(b);
}

void putdec(uint64_t v) {
        char b[21];
        int i = 20;
        b[i] = 0;
        do
                b[--i] = (char) ('0' + v % 10);
        while (v /= 10);
        puts_(b + i);
}

void *memset(void *d, int c, size_t n) {
        uint8_t *p = d;
        while (n--)
                *p++ = (uint8_t) c;
        return d;
}

void *memcpy(void *d, const void *s, size_t n) {
        uint8_t *p = d;
        const uint8_t *q = s;
        while (n--)
                *p++ = *q++;
        return d;
}

uint64_t virtio_find(uint32_t device_id) {
        for (unsigned i = 0; i < MMIO_MAX; i++) {
                uint64_t b = MMIO_BASE + i * MMIO_STRIDE;
                if (mmio_read(b) == 0x74726976 && mmio_read(b + 4) == 2 && mmio_read(b + 8) == device_id)
                        return b;
        }
        return 0;
}

int virtio_init(uint64_t base, uint64_t extra, Virtq *qs, unsigned nq) {
        mmio_write(base + 0x70, 0);
        mmio_write(base + 0x70, 1 | 2); /* ACKNOWLEDGE | DRIVER */
        mmio_write(base + 0x24, 0);
        mmio_write(base + 0x20, (uint32_t) extra);
        mmio_write(base + 0x24, 1);
        mmio_write(base + 0x20, 1 | (uint32_t) (extra >> 32)); /* VIRTIO_F_VERSION_1 */
        mmio_write(base + 0x70, 1 | 2 | 8);
        if (!(mmio_read(base + 0x70) & 8))
                return -1;
        for (unsigned i = 0; i < nq; i++) {
                Virtq *q = &qs[i];
                memset(q, 0, sizeof(*q));
                q->base = base;
                q->index = i;
                mmio_write(base + 0x30, i);
                if (mmio_read(base + 0x34) < QSIZE)
                        return -1;
                mmio_write(base + 0x38, QSIZE);
                mmio_write(base + 0x80, (uint32_t) (uint64_t) q->desc);
                mmio_write(base + 0x84, 0);
                mmio_write(base + 0x90, (uint32_t) (uint64_t) &q->avail);
                mmio_write(base + 0x94, 0);
                mmio_write(base + 0xa0, (uint32_t) (uint64_t) &q->used);
                mmio_write(base + 0xa4, 0);
                mmio_write(base + 0x44, 1);
        }
        mmio_write(base + 0x70, 1 | 2 | 8 | 4); /* DRIVER_OK */
        return 0;
}

unsigned virtq_post(Virtq *q, void *const *bufs, const uint32_t *lens, const uint16_t *flags, unsigned n) {
        unsigned head = (q->avail.idx % (QSIZE / 4)) * 4;

        for (unsigned i = 0; i < n; i++) {
                q->desc[head + i].addr = (uint64_t) bufs[i];
                q->desc[head + i].len = lens[i];
                q->desc[head + i].flags = (uint16_t) (flags[i] | (i + 1 < n ? 1 : 0));
                q->desc[head + i].next = (uint16_t) (head + i + 1);
        }
        q->avail.ring[q->avail.idx % QSIZE] = (uint16_t) head;
        __asm__ volatile("" ::: "memory");
        q->avail.idx++;
        __asm__ volatile("mfence" ::: "memory");
        mmio_write(q->base + 0x50, q->index);
        return head;
}

long virtq_wait(Virtq *q, unsigned *id) {
        for (unsigned long spins = 0; spins < 2000000; spins++) {
                volatile uint16_t *idx = &q->used.idx;
                if (*idx != q->last_used) {
                        long len = q->used.ring[q->last_used % QSIZE].len;
                        if (id)
                                *id = q->used.ring[q->last_used % QSIZE].id;
                        q->last_used++;
                        return len;
                }
                __asm__ volatile("pause");
        }
        return -1;
}

uint32_t fnv1a(const void *p, size_t n) {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < n; i++)
                h = (h ^ ((const uint8_t *) p)[i]) * 16777619u;
        return h;
}

void poweroff(int status) {
        mmio_write(0xd0800004, (uint32_t) status);
        outb(0x3c0, 0x34);
        for (;;)
                __asm__ volatile("hlt");
}
