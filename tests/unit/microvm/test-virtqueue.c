/* SPDX-License-Identifier: Apache-2.0 */
/* The split-virtqueue core against a fake driver, including the mandatory malformed chains. */
#include <sys/mman.h>

#include "fake-guest.h"

TEST(vq_pops_valid_chain) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;
        uint64_t gpa[3] = { FG_DATA, FG_DATA + 0x100, FG_DATA + 0x200 };
        uint32_t len[3] = { 16, 100, 1 }, id, ulen;
        uint16_t wr[3] = { 0, 1, 1 };

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        memcpy(g->ram + FG_DATA, "0123456789abcdef", 16);
        fake_guest_publish_avail(g, fake_guest_chain(g, 2, gpa, len, wr, 3));

        ASSERT_EQ(vq_pop_chain(g->vq, &c), 1);
        ASSERT_EQ(c.head, 2);
        ASSERT_EQ(c.n_segs, 3u);
        ASSERT_EQ(c.n_readable, 1u);
        ASSERT_EQ(c.readable_len, 16u);
        ASSERT_EQ(c.writable_len, 101u);

        char buf[17] = {};
        ASSERT_EQ(vq_chain_read(&c, 4, buf, 12), 12u);
        ASSERT_STREQ(buf, "456789abcdef");
        ASSERT_EQ(vq_chain_write(&c, 99, "XY", 2), 2u); /* spans the two writable buffers */
        ASSERT_EQ(g->ram[FG_DATA + 0x100 + 99], 'X');
        ASSERT_EQ(g->ram[FG_DATA + 0x200], 'Y');
        ASSERT_EQ(vq_chain_write(&c, 100, "ZZ", 2), 1u); /* only one byte left */

        ASSERT_OK(vq_push(g->vq, c.head, 42));
        ASSERT_EQ(fake_guest_used_idx(g), 1);
        fake_guest_used_elem(g, 0, &id, &ulen);
        ASSERT_EQ(id, 2u);
        ASSERT_EQ(ulen, 42u);
        ASSERT_EQ(vq_pop_chain(g->vq, &c), 0); /* empty again */
}

TEST(vq_empty_and_not_ready) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        ASSERT_EQ(vq_pop_chain(g->vq, &c), 0);
        ASSERT_FALSE(vq_has_avail(g->vq));
        fake_guest_set_desc(g, 0, FG_DATA, 8, 0, 0);
        fake_guest_publish_avail(g, 0);
        ASSERT_TRUE(vq_has_avail(g->vq));
        g->vq->ready = false;
        ASSERT_EQ(vq_pop_chain(g->vq, &c), 0);
}

TEST(vq_rejects_descriptor_outside_ram) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        fake_guest_set_desc(g, 0, 0xfffff000, 8192, VRING_DESC_F_WRITE, 0);
        fake_guest_publish_avail(g, 0);
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), EFAULT);
        ASSERT_EQ(fake_guest_used_idx(g), 0u);
}

TEST(vq_rejects_descriptor_straddling_end_of_ram) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        fake_guest_set_desc(g, 0, 256 * 1024 - 4, 8, 0, 0);
        fake_guest_publish_avail(g, 0);
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), EFAULT);
}

TEST(vq_rejects_address_plus_len_overflow) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        fake_guest_set_desc(g, 0, UINT64_MAX - 15, 32, 0, 0); /* gpa + len wraps to 16 */
        fake_guest_publish_avail(g, 0);
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), EFAULT);
}

TEST(vq_rejects_total_length_over_4g) {
        const uint64_t size = 4ULL << 30;
        uint8_t *big;
        GuestMem *mem = NULL;
        Vq vq;
        VqChain c;
        VringDesc d[2] = {
                { .addr = 0x100000, .len = 3U << 30, .flags = VRING_DESC_F_NEXT, .next = 1 },
                { .addr = 0x100000, .len = 3U << 30, .flags = 0, .next = 0 },
        };
        uint16_t avail[3] = { 0, 1, 0 }; /* flags, idx, ring[0] = head 0 */

        /* Each descriptor lies in (sparse, never touched) RAM; their sum does not fit a u32. */
        big = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (big == MAP_FAILED)
                TEST_SKIP("cannot reserve 4 GiB of address space");
        ASSERT_OK(gm_new_buffer(big, 0, size, &mem));
        vq_init(&vq, mem, 8);
        vq.desc_gpa = FG_DESC;
        vq.avail_gpa = FG_AVAIL;
        vq.used_gpa = FG_USED;
        vq.ready = true;
        memcpy(big + FG_DESC, d, sizeof(d));
        memcpy(big + FG_AVAIL, avail, sizeof(avail));
        ASSERT_ERROR(vq_pop_chain(&vq, &c), EOVERFLOW);
        gm_free(mem);
        munmap(big, size);
}

TEST(vq_rejects_descriptor_loop) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        fake_guest_set_desc(g, 0, FG_DATA, 8, VRING_DESC_F_NEXT, 1);
        fake_guest_set_desc(g, 1, FG_DATA, 8, VRING_DESC_F_NEXT, 0); /* back to 0 */
        fake_guest_publish_avail(g, 0);
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), ELOOP);
}

TEST(vq_rejects_self_loop) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        fake_guest_set_desc(g, 3, FG_DATA, 8, VRING_DESC_F_NEXT, 3);
        fake_guest_publish_avail(g, 3);
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), ELOOP);
}

TEST(vq_rejects_chain_longer_than_queue) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        /* 4-entry queue, but the descriptor table the guest wrote has 8 linked entries */
        ASSERT_OK(fake_guest_new(256 * 1024, 4, &g));
        for (uint16_t i = 0; i < 8; i++)
                fake_guest_set_desc(g, i, FG_DATA, 8, VRING_DESC_F_NEXT, (uint16_t) (i + 1));
        fake_guest_publish_avail(g, 0);
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), ELOOP); /* stops at the 5th descriptor of a 4-entry queue */
}

TEST(vq_accepts_chain_of_queue_size_and_no_more) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        ASSERT_OK(fake_guest_new(256 * 1024, 4, &g));
        for (uint16_t i = 0; i < 4; i++)
                fake_guest_set_desc(g, i, FG_DATA, 8, i < 3 ? VRING_DESC_F_NEXT : 0, (uint16_t) (i + 1));
        fake_guest_publish_avail(g, 0);
        ASSERT_EQ(vq_pop_chain(g->vq, &c), 1);
        ASSERT_EQ(c.n_segs, 4u);

        fake_guest_set_desc(g, 3, FG_DATA, 8, VRING_DESC_F_NEXT, 0); /* 0 -> 1 -> 2 -> 3 -> 0 ... */
        fake_guest_publish_avail(g, 0);
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), ELOOP);
}

TEST(vq_rejects_zero_length_descriptor) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        fake_guest_set_desc(g, 0, FG_DATA, 16, VRING_DESC_F_NEXT, 1);
        fake_guest_set_desc(g, 1, FG_DATA, 0, VRING_DESC_F_WRITE, 0);
        fake_guest_publish_avail(g, 0);
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), EINVAL);
}

TEST(vq_rejects_bad_head_and_next) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        fake_guest_publish_avail(g, 8); /* head == size */
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), EINVAL);
        fake_guest_set_desc(g, 0, FG_DATA, 16, VRING_DESC_F_NEXT, 200);
        fake_guest_publish_avail(g, 0);
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), EINVAL);
}

TEST(vq_rejects_readable_after_writable_and_indirect) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        fake_guest_set_desc(g, 0, FG_DATA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
        fake_guest_set_desc(g, 1, FG_DATA, 16, 0, 0);
        fake_guest_publish_avail(g, 0);
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), EINVAL);

        fake_guest_set_desc(g, 2, FG_DATA, 16, VRING_DESC_F_INDIRECT, 0);
        fake_guest_publish_avail(g, 2);
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), EINVAL);
}

TEST(vq_rejects_avail_idx_beyond_ring) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        fake_guest_set_avail_idx(g, 9); /* claims 9 entries in an 8-entry ring */
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), EINVAL);
}

TEST(vq_rings_outside_ram_fault) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        g->vq->avail_gpa = 256 * 1024 - 2; /* idx field would straddle the end */
        ASSERT_ERROR(vq_pop_chain(g->vq, &c), EFAULT);
        ASSERT_ERROR(vq_validate(g->vq), EFAULT);
        g->vq->avail_gpa = FG_AVAIL + 1; /* misaligned */
        ASSERT_ERROR(vq_validate(g->vq), EINVAL);
        g->vq->avail_gpa = FG_AVAIL;
        g->vq->used_gpa = UINT64_MAX - 4;
        ASSERT_ERROR(vq_validate(g->vq), EINVAL); /* misaligned first */
        g->vq->used_gpa = UINT64_MAX - 7;
        ASSERT_ERROR(vq_validate(g->vq), EFAULT);
        ASSERT_ERROR(vq_push(g->vq, 0, 0), EFAULT);
        g->vq->used_gpa = FG_USED;
        ASSERT_OK(vq_validate(g->vq));
}

TEST(vq_notification_suppression) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        uint16_t flags = VRING_AVAIL_F_NO_INTERRUPT;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        ASSERT_TRUE(vq_should_notify(g->vq));
        memcpy(g->ram + FG_AVAIL, &flags, 2);
        ASSERT_FALSE(vq_should_notify(g->vq));
}

TEST(vq_used_ring_wraps) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;
        uint32_t id, len;

        ASSERT_OK(fake_guest_new(256 * 1024, 2, &g));
        for (unsigned i = 0; i < 5; i++) {
                fake_guest_set_desc(g, (uint16_t) (i % 2), FG_DATA, 8, 0, 0);
                fake_guest_publish_avail(g, (uint16_t) (i % 2));
                ASSERT_EQ(vq_pop_chain(g->vq, &c), 1);
                ASSERT_OK(vq_push(g->vq, c.head, i));
        }
        ASSERT_EQ(fake_guest_used_idx(g), 5);
        fake_guest_used_elem(g, 4, &id, &len);
        ASSERT_EQ(id, 0u);
        ASSERT_EQ(len, 4u);
}

TEST(vq_chain_iov_skips_offset) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VqChain c;
        struct iovec iov[4];
        uint64_t gpa[3] = { FG_DATA, FG_DATA + 0x100, FG_DATA + 0x200 };
        uint32_t len[3] = { 10, 20, 30 };
        uint16_t wr[3] = { 0, 0, 1 };

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        fake_guest_publish_avail(g, fake_guest_chain(g, 0, gpa, len, wr, 3));
        ASSERT_EQ(vq_pop_chain(g->vq, &c), 1);
        ASSERT_EQ(vq_chain_iov(&c, false, 12, iov, 4), 1);
        ASSERT_EQ(iov[0].iov_len, 18u);
        ASSERT_TRUE(iov[0].iov_base == g->ram + FG_DATA + 0x100 + 2);
        ASSERT_EQ(vq_chain_iov(&c, true, 0, iov, 4), 1);
        ASSERT_EQ(iov[0].iov_len, 30u);
}
