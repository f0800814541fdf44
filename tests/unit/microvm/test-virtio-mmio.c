/* SPDX-License-Identifier: Apache-2.0 */
/* Every register of the virtio-mmio v2 transport (virtio 1.2 4.2.2), driven as a guest driver would. */
#include <sys/socket.h>

#include "fake-guest.h"

static uint32_t rd(VirtioDev *d, uint64_t off) {
        uint64_t v = 0xdeadbeef;
        ASSERT_OK(vm_mmio_access(d, off, 4, false, &v));
        return (uint32_t) v;
}

static void wr(VirtioDev *d, uint64_t off, uint32_t val) {
        uint64_t v = val;
        ASSERT_OK(vm_mmio_access(d, off, 4, true, &v));
}

static int fill_ones(void *buf, size_t len) {
        memset(buf, 0xab, len);
        return 0;
}

static VirtioDev *new_dev(FakeGuest *g) {
        VirtioDev *d = NULL;
        ASSERT_OK(virtio_rng_new(g->mem, fill_ones, &d));
        d->irq_raise = fake_guest_irq;
        d->irq_opaque = g;
        return d;
}

/* The driver initialisation sequence of 3.1.1 with queue 0 at the fake guest's rings. */
static void driver_init(FakeGuest *g, VirtioDev *d) {
        wr(d, 0x70, 0);
        wr(d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
        wr(d, 0x24, 1);
        wr(d, 0x20, 1); /* VERSION_1 */
        wr(d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
        ASSERT_TRUE(rd(d, 0x70) & VIRTIO_STATUS_FEATURES_OK);
        wr(d, 0x30, 0);
        wr(d, 0x38, 8);
        wr(d, 0x80, FG_DESC);
        wr(d, 0x84, 0);
        wr(d, 0x90, FG_AVAIL);
        wr(d, 0x94, 0);
        wr(d, 0xa0, FG_USED);
        wr(d, 0xa4, 0);
        wr(d, 0x44, 1);
        ASSERT_EQ(rd(d, 0x44), 1u);
        wr(d, 0x70,
           VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                           VIRTIO_STATUS_DRIVER_OK);
        g->vq = &d->vqs[0];
}

TEST(mmio_identification_registers) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        d = new_dev(g);
        ASSERT_EQ(rd(d, 0x000), 0x74726976u);
        ASSERT_EQ(rd(d, 0x004), 2u);
        ASSERT_EQ(rd(d, 0x008), (uint32_t) VIRTIO_ID_RNG);
        ASSERT_EQ(rd(d, 0x00c), 0x414c5541u);
        ASSERT_EQ(rd(d, 0x034), 64u); /* QueueNumMax */
        ASSERT_EQ(rd(d, 0x0fc), 0u); /* ConfigGeneration */
        ASSERT_EQ(rd(d, 0x0b0), 0xffffffffu); /* no shared memory region */
        ASSERT_EQ(rd(d, 0x0b4), 0xffffffffu);
        ASSERT_EQ(rd(d, 0x0c0), 0u);
}

TEST(mmio_feature_windows) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        d = new_dev(g);
        wr(d, 0x14, 0);
        ASSERT_EQ(rd(d, 0x10), 0u);
        wr(d, 0x14, 1);
        ASSERT_EQ(rd(d, 0x10), 1u); /* VERSION_1 is bit 32 */
        wr(d, 0x14, 2);
        ASSERT_EQ(rd(d, 0x10), 0u);
        wr(d, 0x24, 1);
        wr(d, 0x20, 1);
        wr(d, 0x24, 0);
        wr(d, 0x20, 0);
        ASSERT_EQ(d->driver_features, 1ULL << 32);
        wr(d, 0x24, 5);
        uint64_t v = 1;
        ASSERT_ERROR(vm_mmio_access(d, 0x20, 4, true, &v), EINVAL); /* no feature bits beyond 64 */
}

TEST(mmio_features_ok_requires_subset_with_version_1) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        d = new_dev(g);
        wr(d, 0x70, 3);
        wr(d, 0x70, 3 | VIRTIO_STATUS_FEATURES_OK); /* legacy driver: no VERSION_1 */
        ASSERT_FALSE(rd(d, 0x70) & VIRTIO_STATUS_FEATURES_OK);
        wr(d, 0x24, 0);
        wr(d, 0x20, 1U << 5); /* a feature we never offered */
        wr(d, 0x24, 1);
        wr(d, 0x20, 1);
        wr(d, 0x70, 3 | VIRTIO_STATUS_FEATURES_OK);
        ASSERT_FALSE(rd(d, 0x70) & VIRTIO_STATUS_FEATURES_OK);
        wr(d, 0x70, 3 | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
        ASSERT_FALSE(rd(d, 0x70) & VIRTIO_STATUS_DRIVER_OK); /* never DRIVER_OK without FEATURES_OK */
        wr(d, 0x24, 0);
        wr(d, 0x20, 0);
        wr(d, 0x70, 3 | VIRTIO_STATUS_FEATURES_OK);
        ASSERT_TRUE(rd(d, 0x70) & VIRTIO_STATUS_FEATURES_OK);
        uint64_t v = 0;
        ASSERT_ERROR(vm_mmio_access(d, 0x20, 4, true, &v), EINVAL); /* frozen after FEATURES_OK */
}

TEST(mmio_queue_registers) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;
        uint64_t v;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        d = new_dev(g);
        wr(d, 0x30, 0);
        v = 3;
        ASSERT_ERROR(vm_mmio_access(d, 0x38, 4, true, &v), EINVAL); /* not a power of two */
        v = 128;
        ASSERT_ERROR(vm_mmio_access(d, 0x38, 4, true, &v), EINVAL); /* above QueueNumMax */
        v = 0;
        ASSERT_ERROR(vm_mmio_access(d, 0x38, 4, true, &v), EINVAL);
        wr(d, 0x38, 8);
        wr(d, 0x80, 0x1000);
        wr(d, 0x84, 0x1);
        wr(d, 0x90, 0x2000);
        wr(d, 0x94, 0x2);
        wr(d, 0xa0, 0x3000);
        wr(d, 0xa4, 0x3);
        ASSERT_EQ(d->vqs[0].desc_gpa, 0x100001000ULL);
        ASSERT_EQ(d->vqs[0].avail_gpa, 0x200002000ULL);
        ASSERT_EQ(d->vqs[0].used_gpa, 0x300003000ULL);
        v = 1;
        ASSERT_ERROR(vm_mmio_access(d, 0x44, 4, true, &v), EINVAL); /* rings outside RAM: not ready */
        ASSERT_EQ(rd(d, 0x44), 0u);
        wr(d, 0x84, 0);
        wr(d, 0x94, 0);
        wr(d, 0xa4, 0);
        wr(d, 0x44, 1);
        ASSERT_EQ(rd(d, 0x44), 1u);
        v = 0x5000;
        ASSERT_ERROR(vm_mmio_access(d, 0x80, 4, true, &v), EINVAL); /* layout frozen while ready */
        wr(d, 0x44, 0);
        ASSERT_EQ(rd(d, 0x44), 0u);

        wr(d, 0x30, 7); /* no such queue */
        ASSERT_EQ(rd(d, 0x34), 0u);
        ASSERT_EQ(rd(d, 0x44), 0u);
        v = 8;
        ASSERT_ERROR(vm_mmio_access(d, 0x38, 4, true, &v), EINVAL);
}

TEST(mmio_notify_interrupt_and_ack) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;
        uint32_t id, len;
        uint64_t v;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        d = new_dev(g);
        driver_init(g, d);
        fake_guest_set_desc(g, 0, FG_DATA, 32, VRING_DESC_F_WRITE, 0);
        fake_guest_publish_avail(g, 0);
        wr(d, 0x50, 0); /* QueueNotify */
        ASSERT_EQ(fake_guest_used_idx(g), 1);
        fake_guest_used_elem(g, 0, &id, &len);
        ASSERT_EQ(len, 32u);
        ASSERT_EQ(g->ram[FG_DATA + 31], 0xab);
        ASSERT_EQ(g->irqs, 1u);
        ASSERT_EQ(rd(d, 0x60), (uint32_t) VIRTIO_INT_VRING);
        wr(d, 0x64, VIRTIO_INT_VRING);
        ASSERT_EQ(rd(d, 0x60), 0u);
        v = 1;
        ASSERT_ERROR(vm_mmio_access(d, 0x50, 4, true, &v), EINVAL); /* queue 1 does not exist */
}

TEST(mmio_reset_clears_everything) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        d = new_dev(g);
        driver_init(g, d);
        d->isr = 3;
        wr(d, 0x70, 0);
        ASSERT_EQ(rd(d, 0x70), 0u);
        ASSERT_EQ(rd(d, 0x60), 0u);
        ASSERT_EQ(rd(d, 0x44), 0u);
        ASSERT_EQ(d->driver_features, 0u);
        ASSERT_EQ(d->vqs[0].desc_gpa, 0u);
}

TEST(mmio_broken_chain_sets_needs_reset) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        d = new_dev(g);
        driver_init(g, d);
        fake_guest_set_desc(g, 0, FG_DATA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0); /* loop */
        fake_guest_publish_avail(g, 0);
        wr(d, 0x50, 0);
        ASSERT_TRUE(rd(d, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
        ASSERT_TRUE(rd(d, 0x60) & VIRTIO_INT_CONFIG);
        ASSERT_EQ(fake_guest_used_idx(g), 0);
        /* a broken device processes nothing more until reset */
        fake_guest_set_desc(g, 1, FG_DATA, 8, VRING_DESC_F_WRITE, 0);
        fake_guest_publish_avail(g, 1);
        wr(d, 0x50, 0);
        ASSERT_EQ(fake_guest_used_idx(g), 0);
        wr(d, 0x70, 0);
        ASSERT_FALSE(rd(d, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
}

/* A transport-level device: a chain of exactly 8 writable bytes gets them filled, anything else is malformed. */
static int serve_eight(VirtioDev *d, const VqChain *c, uint32_t *ret_written) {
        static const uint8_t data[8] = "abcdefg";

        if (c->writable_len != sizeof(data))
                return -EINVAL;
        *ret_written = (uint32_t) vq_chain_write(c, 0, data, sizeof(data));
        return 0;
}

static void serve_notify(VirtioDev *d, unsigned q) {
        virtio_dev_serve_queue(d, q, serve_eight);
}

static const VirtioDevOps serve_ops = {
        .name = "serve-test",
        .device_id = VIRTIO_ID_RNG,
        .num_queues = 1,
        .queue_max = 8,
        .queue_notify = serve_notify,
};

TEST(serve_queue_uses_good_chains_and_stops_at_a_malformed_one) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        VirtioDev d;
        uint32_t id, len;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        ASSERT_OK(virtio_dev_init(&d, &serve_ops, NULL, g->mem));
        fake_guest_activate(g, &d, 1, 8);
        fake_guest_set_desc(g, 0, FG_DATA, 8, VRING_DESC_F_WRITE, 0);
        fake_guest_set_desc(g, 1, FG_DATA + 0x100, 4, VRING_DESC_F_WRITE, 0); /* malformed for serve */
        fake_guest_set_desc(g, 2, FG_DATA + 0x200, 8, VRING_DESC_F_WRITE, 0);
        fake_guest_publish_avail(g, 0);
        fake_guest_publish_avail(g, 1);
        fake_guest_publish_avail(g, 2);
        virtio_dev_kick(&d, 0);

        ASSERT_EQ(fake_guest_used_idx(g), 1); /* the chain before the bad one, and nothing after it */
        fake_guest_used_elem(g, 0, &id, &len);
        ASSERT_EQ(id, 0u);
        ASSERT_EQ(len, 8u);
        ASSERT_EQ(g->ram[FG_DATA + 6], 'g');
        ASSERT_TRUE(d.vqs[0].broken);
        ASSERT_TRUE(d.status & VIRTIO_STATUS_NEEDS_RESET);
        ASSERT_TRUE(d.isr & VIRTIO_INT_VRING);
        ASSERT_TRUE(d.isr & VIRTIO_INT_CONFIG);
        virtio_dev_done(&d);
}

TEST(mmio_rejects_bad_access_sizes) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;
        uint64_t v = 0x55;

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        d = new_dev(g);
        ASSERT_ERROR(vm_mmio_access(d, 0x000, 2, false, &v), EINVAL);
        ASSERT_EQ(v, 0u);
        ASSERT_ERROR(vm_mmio_access(d, 0x002, 4, false, &v), EINVAL);
        ASSERT_ERROR(vm_mmio_access(d, 0x070, 1, true, &v), EINVAL);
        ASSERT_ERROR(vm_mmio_access(d, 0x050, 4, false, &v), EINVAL); /* write-only register */
        ASSERT_ERROR(vm_mmio_access(d, 0x0f0, 4, false, &v), EINVAL); /* reserved */
        v = 1;
        ASSERT_ERROR(vm_mmio_access(d, 0x000, 4, true, &v), EINVAL); /* read-only register */
        ASSERT_ERROR(vm_mmio_access(d, 0x100, 4, false, &v), EINVAL); /* rng has no config space */
}

TEST(mmio_config_space_sizes) {
        _cleanup_(fake_guest_freep) FakeGuest *g = NULL;
        _cleanup_(virtio_dev_freep) VirtioDev *d = NULL;
        uint64_t v;
        int fd[2];

        ASSERT_OK(fake_guest_new(256 * 1024, 8, &g));
        ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fd));
        ASSERT_OK(virtio_net_new(g->mem, fd[0], (const uint8_t[6]){ 2, 0x11, 0x22, 0x33, 0x44, 0x55 }, &d));
        ASSERT_OK(vm_mmio_access(d, 0x100, 1, false, &v));
        ASSERT_EQ(v, 2u);
        ASSERT_OK(vm_mmio_access(d, 0x101, 2, false, &v));
        ASSERT_EQ(v, 0x2211u);
        ASSERT_OK(vm_mmio_access(d, 0x100, 4, false, &v));
        ASSERT_EQ(v, 0x33221102u);
        ASSERT_OK(vm_mmio_access(d, 0x100, 8, false, &v));
        ASSERT_EQ(v, 0x554433221102ULL);
        ASSERT_ERROR(vm_mmio_access(d, 0x100, 3, false, &v), EINVAL);
        ASSERT_ERROR(vm_mmio_access(d, 0x107, 2, false, &v), EINVAL); /* runs past the config */
        ASSERT_ERROR(vm_mmio_access(d, 0x100, 1, true, &v), EINVAL); /* read-only config */
        ASSERT_ERROR(vm_mmio_access(d, UINT64_MAX - 1, 1, false, &v), EINVAL);
        safe_close(fd[1]);
}
