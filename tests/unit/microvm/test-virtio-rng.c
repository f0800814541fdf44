/* SPDX-License-Identifier: Apache-2.0 */
#include "fake-guest.h"

static int fill_seq(void *buf, size_t len) {
        for (size_t i = 0; i < len; i++)
                ((uint8_t *) buf)[i] = (uint8_t) i;
        return 0;
}

TEST(rng_fills_every_writable_byte) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;
        uint64_t gpa[2] = { FG_DATA, FG_DATA + 0x100 };
        uint32_t len[2] = { 10, 20 }, id, ulen;
        uint16_t wr[2] = { 1, 1 };

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        ASSERT_OK(virtio_rng_new(g->mem, fill_seq, &d));
        fake_guest_activate(g, d, 1, 8);
        fake_guest_publish_avail(g, fake_guest_chain(g, 0, gpa, len, wr, 2));
        virtio_dev_kick(d, 0);
        fake_guest_used_elem(g, 0, &id, &ulen);
        ASSERT_EQ(ulen, 30u);
        ASSERT_EQ(g->ram[FG_DATA + 9], 9);
        ASSERT_EQ(g->ram[FG_DATA + 0x100 + 19], 29);
}

TEST(rng_real_source_and_readonly_buffer) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;
        uint32_t id, ulen;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        ASSERT_OK(virtio_rng_new(g->mem, NULL, &d));
        fake_guest_activate(g, d, 1, 8);
        fake_guest_set_desc(g, 0, FG_DATA, 64, 0, 0); /* device-readable: nothing to fill */
        fake_guest_publish_avail(g, 0);
        virtio_dev_kick(d, 0);
        fake_guest_used_elem(g, 0, &id, &ulen);
        ASSERT_EQ(ulen, 0u);
        fake_guest_set_desc(g, 1, FG_DATA, 64, VRING_DESC_F_WRITE, 0);
        fake_guest_publish_avail(g, 1);
        virtio_dev_kick(d, 0);
        fake_guest_used_elem(g, 1, &id, &ulen);
        ASSERT_EQ(ulen, 64u);
}

TEST(rng_ignores_kicks_before_driver_ok) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        ASSERT_OK(virtio_rng_new(g->mem, fill_seq, &d));
        fake_guest_activate(g, d, 1, 8);
        d->status = VIRTIO_STATUS_ACKNOWLEDGE;
        fake_guest_set_desc(g, 0, FG_DATA, 64, VRING_DESC_F_WRITE, 0);
        fake_guest_publish_avail(g, 0);
        virtio_dev_kick(d, 0);
        ASSERT_EQ(fake_guest_used_idx(g), 0);
}
