/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The split-virtqueue chain walker against guest RAM the fuzzer writes: every
 * chain it returns must lie inside RAM, be no longer than the queue, list its
 * readable segments first and add up; a malformed one fails with one of the
 * documented errors. The ring addresses may come from the input too (a
 * driver writing QueueDesc/QueueDriver/QueueDevice), checked by vq_validate().
 */
#include <sys/uio.h>

#include "fuzz-guest.h"

/* Header: queue size selector, flags, [24 bytes of ring addresses]; then guest RAM. */
#define HDR_ADDRS 1u /* ring addresses from the header instead of the fixed layout */

static void check_chain(const FuzzGuest *g, const Vq *vq, const VqChain *c) {
        uint64_t rd = 0, wr = 0;

        FUZZ_CHECK(c->head < vq->size);
        FUZZ_CHECK(c->n_segs >= 1 && c->n_segs <= vq->size);
        FUZZ_CHECK(c->n_readable <= c->n_segs);
        for (unsigned i = 0; i < c->n_segs; i++) {
                const VqSeg *s = &c->segs[i];
                FUZZ_CHECK(s->len > 0 && fuzz_guest_holds(g, s->host, s->len));
                FUZZ_CHECK(s->writable == (i >= c->n_readable));
                if (s->writable)
                        wr += s->len;
                else
                        rd += s->len;
        }
        FUZZ_CHECK(rd == c->readable_len && wr == c->writable_len);
        FUZZ_CHECK(rd + wr <= UINT32_MAX);
}

static void use_chain(const VqChain *c) {
        static uint8_t buf[FG_RAM_SIZE];
        struct iovec iov[8];
        size_t n;
        int k;

        n = vq_chain_read(c, 0, buf, sizeof buf);
        FUZZ_CHECK(n == MIN(c->readable_len, (uint64_t) sizeof buf));
        n = vq_chain_read(c, c->readable_len / 2, buf, sizeof buf);
        FUZZ_CHECK(n == MIN(c->readable_len - c->readable_len / 2, (uint64_t) sizeof buf));
        k = vq_chain_iov(c, true, 1, iov, (int) ELEMENTSOF(iov));
        FUZZ_CHECK(k >= 0 && k <= (int) ELEMENTSOF(iov));
        memset(buf, 0xa5, 64);
        n = vq_chain_write(c, c->writable_len > 64 ? c->writable_len - 64 : 0, buf, 64);
        FUZZ_CHECK(n == MIN(c->writable_len, (uint64_t) 64));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ VqChain *c = malloc(sizeof *c);
        FuzzGuest g;
        Vq vq;
        uint8_t flags = size > 1 ? data[1] : 0;
        int r;

        FUZZ_CHECK(c);
        if (fuzz_guest_new(data, size, flags & HDR_ADDRS ? 2 + 24 : 2, VQ_MAX_SIZE, &g) < 0)
                return 0;
        vq_init(&vq, g.mem, VQ_MAX_SIZE);
        fuzz_guest_attach(&g, &vq);
        if (flags & HDR_ADDRS) {
                memcpy(&vq.desc_gpa, data + 2, 8);
                memcpy(&vq.avail_gpa, data + 10, 8);
                memcpy(&vq.used_gpa, data + 18, 8);
        }
        if (vq_validate(&vq) < 0)
                goto out; /* the transport refuses QueueReady */

        /* Up to two laps of the ring; each chain consumes one avail entry. */
        for (unsigned i = 0; i < 2u * vq.size + 1; i++) {
                r = vq_pop_chain(&vq, c);
                if (r == 0)
                        break;
                if (r < 0) {
                        FUZZ_CHECK(r == -EFAULT || r == -ELOOP || r == -EINVAL || r == -EOVERFLOW);
                        vq.broken = true;
                        FUZZ_CHECK(vq_pop_chain(&vq, c) == 0 && !vq_has_avail(&vq));
                        break;
                }
                FUZZ_CHECK(r == 1);
                check_chain(&g, &vq, c);
                use_chain(c);
                FUZZ_CHECK(vq_push(&vq, c->head, (uint32_t) MIN(c->writable_len, 64u)) >= 0);
                (void) vq_should_notify(&vq);
        }
out:
        fuzz_guest_done(&g);
        return 0;
}
