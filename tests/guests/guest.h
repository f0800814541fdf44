/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* A freestanding runtime for tiny test guests: serial output and virtio-mmio (v2) drivers by polling. */
#include <stddef.h>
#include <stdint.h>

#define MMIO_BASE 0xd0000000UL
#define MMIO_STRIDE 0x1000UL
#define MMIO_MAX 10

static inline void outb(uint16_t port, uint8_t v) {
        __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port) {
        uint8_t v;
        __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
        return v;
}
static inline uint32_t mmio_read(uint64_t a) {
        return *(volatile uint32_t *) a;
}
static inline void mmio_write(uint64_t a, uint32_t v) {
        *(volatile uint32_t *) a = v;
}

void putc_(char c);
void puts_(const char *s);
void puthex(uint64_t v);
void putdec(uint64_t v);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

/* Split virtqueue of QSIZE entries in guest memory, polled. */
#define QSIZE 16 /* four chains of up to four descriptors in flight */
typedef struct Virtq {
        struct {
                uint64_t addr;
                uint32_t len;
                uint16_t flags, next;
        } desc[QSIZE] __attribute__((aligned(16)));
        struct {
                uint16_t flags, idx, ring[QSIZE], used_event;
        } avail __attribute__((aligned(2)));
        struct {
                uint16_t flags, idx;
                struct {
                        uint32_t id, len;
                } ring[QSIZE];
                uint16_t avail_event;
        } used __attribute__((aligned(4)));
        uint16_t last_used;
        uint64_t base;
        unsigned index;
} Virtq;

/* Find the first device with this virtio device id; 0 if none. */
uint64_t virtio_find(uint32_t device_id);
/* Reset, negotiate VERSION_1 (plus extra feature bits), set up queues; returns 0 or -1. */
int virtio_init(uint64_t base, uint64_t extra_features, Virtq *qs, unsigned nq);
/* Post a chain of n <= 4 buffers (flags: 2 = device-writable) and notify; returns its head. */
unsigned virtq_post(Virtq *q, void *const *bufs, const uint32_t *lens, const uint16_t *flags, unsigned n);
/* Spin until the device returns a chain; returns its len (and head via *id), or -1 after too many polls. */
long virtq_wait(Virtq *q, unsigned *id);
uint32_t fnv1a(const void *p, size_t n);
void poweroff(int status);
