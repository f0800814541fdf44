/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueues (virtio 1.2 2.7). The rings live in guest memory, which
 * the guest may rewrite at any moment: each descriptor is copied out once and
 * validated, avail->idx is read once per pop, and a chain can never be longer
 * than the queue, so loops end with -ELOOP instead of spinning.
 */
#include "microvm-internal.h"

#define AVAIL_IDX_OFF 2
#define AVAIL_RING_OFF 4
#define USED_IDX_OFF 2
#define USED_RING_OFF 4

void vq_init(Vq *vq, GuestMem *mem, uint16_t max_size) {
        assert(max_size > 0 && max_size <= VQ_MAX_SIZE && (max_size & (max_size - 1)) == 0);
        *vq = (Vq){ .mem = mem, .max_size = max_size, .size = max_size };
}

void vq_reset(Vq *vq) {
        vq_init(vq, vq->mem, vq->max_size);
}

int vq_validate(const Vq *vq) {
        void *p;
        int r;

        if (vq->size == 0 || vq->size > vq->max_size || (vq->size & (vq->size - 1)))
                return -EINVAL;
        if (vq->desc_gpa % 16 || vq->avail_gpa % 2 || vq->used_gpa % 4)
                return -EINVAL;
        r = gm_slice(vq->mem, vq->desc_gpa, 16ULL * vq->size, &p);
        if (r < 0)
                return r;
        r = gm_slice(vq->mem, vq->avail_gpa, 6 + 2ULL * vq->size, &p);
        if (r < 0)
                return r;
        return gm_slice(vq->mem, vq->used_gpa, 6 + 8ULL * vq->size, &p);
}

static int ring_u16(const Vq *vq, uint64_t gpa, uint16_t **ret) {
        return gm_slice(vq->mem, gpa, sizeof(uint16_t), (void **) ret);
}

bool vq_has_avail(const Vq *vq) {
        uint16_t *idx;

        if (!vq->ready || vq->broken || ring_u16(vq, vq->avail_gpa + AVAIL_IDX_OFF, &idx) < 0)
                return false;
        return __atomic_load_n(idx, __ATOMIC_ACQUIRE) != vq->last_avail_idx;
}

static int vq_read_desc(const Vq *vq, uint16_t i, VringDesc *ret) {
        if (i >= vq->size)
                return -EINVAL;
        return gm_read(vq->mem, vq->desc_gpa + 16ULL * i, ret, sizeof(*ret));
}

static int vq_walk(const Vq *vq, uint16_t head, VqChain *c) {
        uint16_t i = head;
        bool seen_writable = false;
        int r;

        c->head = head;
        c->n_segs = c->n_readable = 0;
        c->readable_len = c->writable_len = 0;

        for (;;) {
                VringDesc d;
                void *host;

                if (c->n_segs >= vq->size)
                        return -ELOOP;
                r = vq_read_desc(vq, i, &d);
                if (r < 0)
                        return r;
                if (d.flags & VRING_DESC_F_INDIRECT) /* not offered, so not allowed */
                        return -EINVAL;
                if (d.len == 0)
                        return -EINVAL;
                r = gm_slice(vq->mem, d.addr, d.len, &host);
                if (r < 0)
                        return r;
                if (d.flags & VRING_DESC_F_WRITE) {
                        seen_writable = true;
                        c->writable_len += d.len;
                } else {
                        if (seen_writable)
                                return -EINVAL;
                        c->readable_len += d.len;
                        c->n_readable++;
                }
                if (c->readable_len + c->writable_len > UINT32_MAX)
                        return -EOVERFLOW;
                c->segs[c->n_segs++] = (VqSeg){ .host = host,
                                                .len = d.len,
                                                .writable = !!(d.flags & VRING_DESC_F_WRITE) };
                if (!(d.flags & VRING_DESC_F_NEXT))
                        return 0;
                i = d.next;
        }
}

int vq_pop_chain(Vq *vq, VqChain *chain) {
        uint16_t *avail_idx, *slot, avail, head;
        int r;

        assert(vq && chain);
        if (!vq->ready || vq->broken)
                return 0;
        r = ring_u16(vq, vq->avail_gpa + AVAIL_IDX_OFF, &avail_idx);
        if (r < 0)
                return r;
        avail = __atomic_load_n(avail_idx, __ATOMIC_ACQUIRE);
        if (avail == vq->last_avail_idx)
                return 0;
        if ((uint16_t) (avail - vq->last_avail_idx) > vq->size)
                return -EINVAL; /* the driver claims more entries than the ring holds */

        r = ring_u16(vq, vq->avail_gpa + AVAIL_RING_OFF + 2ULL * (vq->last_avail_idx % vq->size), &slot);
        if (r < 0)
                return r;
        head = __atomic_load_n(slot, __ATOMIC_RELAXED);
        vq->last_avail_idx++;
        if (head >= vq->size)
                return -EINVAL;
        r = vq_walk(vq, head, chain);
        if (r < 0)
                return r;
        return 1;
}

int vq_push(Vq *vq, uint16_t head, uint32_t len) {
        uint8_t *elem;
        uint16_t *used_idx;
        uint32_t e[2] = { head, len };
        int r;

        r = gm_slice(vq->mem, vq->used_gpa + USED_RING_OFF + 8ULL * (vq->used_idx % vq->size), 8,
                     (void **) &elem);
        if (r < 0)
                return r;
        r = ring_u16(vq, vq->used_gpa + USED_IDX_OFF, &used_idx);
        if (r < 0)
                return r;
        memcpy(elem, e, sizeof(e));
        vq->used_idx++;
        /* The element must be visible before the index (virtio 1.2 2.7.8). */
        __atomic_store_n(used_idx, vq->used_idx, __ATOMIC_RELEASE);
        return 0;
}

bool vq_should_notify(const Vq *vq) {
        uint16_t *flags;

        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (ring_u16(vq, vq->avail_gpa, &flags) < 0)
                return true;
        return !(__atomic_load_n(flags, __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT);
}

static size_t chain_copy(const VqChain *c, bool writable, uint64_t off, void *buf, size_t len, bool to_guest) {
        size_t done = 0;

        for (unsigned i = 0; i < c->n_segs && done < len; i++) {
                const VqSeg *s = &c->segs[i];
                size_t n;

                if (s->writable != writable)
                        continue;
                if (off >= s->len) {
                        off -= s->len;
                        continue;
                }
                n = MIN(len - done, s->len - off);
                if (to_guest)
                        memcpy((uint8_t *) s->host + off, (uint8_t *) buf + done, n);
                else
                        memcpy((uint8_t *) buf + done, (uint8_t *) s->host + off, n);
                done += n;
                off = 0;
        }
        return done;
}

size_t vq_chain_read(const VqChain *c, uint64_t off, void *buf, size_t len) {
        return chain_copy(c, false, off, buf, len, false);
}

size_t vq_chain_write(const VqChain *c, uint64_t off, const void *buf, size_t len) {
        return chain_copy(c, true, off, (void *) buf, len, true);
}

int vq_chain_iov(const VqChain *c, bool writable, uint64_t off, struct iovec *iov, int max_iov) {
        int n = 0;

        for (unsigned i = 0; i < c->n_segs && n < max_iov; i++) {
                const VqSeg *s = &c->segs[i];
                if (s->writable != writable)
                        continue;
                if (off >= s->len) {
                        off -= s->len;
                        continue;
                }
                iov[n++] = (struct iovec){ .iov_base = (uint8_t *) s->host + off, .iov_len = s->len - off };
                off = 0;
        }
        return n;
}
