/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net against a SEQPACKET socketpair standing in for a tap (packet boundaries kept). */
#include <sys/socket.h>

#include "fake-guest.h"

typedef struct Env {
        FakeGuest *g;
        VirtioDev *d;
        int peer;
} Env;

static void env_done(Env *e) {
        virtio_dev_free(e->d);
        fake_guest_free(e->g);
        safe_close(e->peer);
}

static void env_init(Env *e) {
        int fd[2];

        *e = (Env){ .peer = -EBADF };
        ASSERT_OK(fake_guest_new(512 * 1024, 8, &e->g));
        ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fd));
        ASSERT_OK(virtio_net_new(e->g->mem, fd[0], (const uint8_t[6]){ 2, 1, 2, 3, 4, 5 }, &e->d));
        e->peer = fd[1];
        fake_guest_activate(e->g, e->d, 2, 8);
}

TEST(net_tx_sends_header_and_frame) {
        _cleanup_(env_done) Env e;
        uint8_t pkt[128];
        uint64_t gpa[2];
        uint32_t len[2] = { VIRTIO_NET_HDR_LEN, 60 };
        uint16_t wr[2] = { 0, 0 };

        env_init(&e);
        e.g->vq = &e.d->vqs[1];
        gpa[0] = fake_guest_alloc(e.g, 12);
        gpa[1] = fake_guest_alloc(e.g, 60);
        memset(e.g->ram + gpa[1], 0xcd, 60);
        fake_guest_publish_avail(e.g, fake_guest_chain(e.g, 0, gpa, len, wr, 2));
        virtio_dev_kick(e.d, 1);
        ASSERT_EQ(read(e.peer, pkt, sizeof(pkt)), 72);
        ASSERT_EQ(pkt[12], 0xcd);
        ASSERT_EQ(fake_guest_used_idx(e.g), 1);
        ASSERT_EQ(e.g->irqs, 1u);
}

TEST(net_tx_drops_runt_frames_but_completes_them) {
        _cleanup_(env_done) Env e;
        uint8_t pkt[16];

        env_init(&e);
        e.g->vq = &e.d->vqs[1];
        fake_guest_set_desc(e.g, 0, fake_guest_alloc(e.g, 8), 8, 0, 0); /* shorter than the vnet header */
        fake_guest_publish_avail(e.g, 0);
        virtio_dev_kick(e.d, 1);
        ASSERT_EQ(fake_guest_used_idx(e.g), 1);
        ASSERT_EQ(read(e.peer, pkt, sizeof(pkt)), -1);
        ASSERT_FALSE(e.d->status & VIRTIO_STATUS_NEEDS_RESET);
}

TEST(net_rx_delivers_frame_with_num_buffers) {
        _cleanup_(env_done) Env e;
        uint8_t frame[12 + 42] = {};
        uint64_t buf;
        uint32_t id, len;
        uint16_t nb;

        env_init(&e);
        e.g->vq = &e.d->vqs[0];
        ASSERT_FALSE(virtio_net_wants_rx(e.d));
        buf = fake_guest_alloc(e.g, 1526);
        fake_guest_set_desc(e.g, 0, buf, 1526, VRING_DESC_F_WRITE, 0);
        fake_guest_publish_avail(e.g, 0);
        ASSERT_TRUE(virtio_net_wants_rx(e.d));

        memset(frame + 12, 0x42, 42);
        ASSERT_EQ(write(e.peer, frame, sizeof(frame)), (ssize_t) sizeof(frame));
        virtio_net_rx(e.d);
        ASSERT_EQ(fake_guest_used_idx(e.g), 1);
        fake_guest_used_elem(e.g, 0, &id, &len);
        ASSERT_EQ(len, (uint32_t) sizeof(frame));
        memcpy(&nb, e.g->ram + buf + 10, 2);
        ASSERT_EQ(nb, 1);
        ASSERT_EQ(e.g->ram[buf + 12], 0x42);
        ASSERT_FALSE(virtio_net_wants_rx(e.d)); /* buffer used up */

        /* no packet waiting: the buffer stays with the device */
        fake_guest_set_desc(e.g, 1, buf, 1526, VRING_DESC_F_WRITE, 0);
        fake_guest_publish_avail(e.g, 1);
        virtio_net_rx(e.d);
        ASSERT_EQ(fake_guest_used_idx(e.g), 1);
        ASSERT_TRUE(virtio_net_wants_rx(e.d));
}

TEST(net_rx_buffer_smaller_than_header_breaks_queue) {
        _cleanup_(env_done) Env e;

        env_init(&e);
        e.g->vq = &e.d->vqs[0];
        fake_guest_set_desc(e.g, 0, fake_guest_alloc(e.g, 4), 4, VRING_DESC_F_WRITE, 0);
        fake_guest_publish_avail(e.g, 0);
        ASSERT_EQ(write(e.peer, "x", 1), 1);
        virtio_net_rx(e.d);
        ASSERT_TRUE(e.d->status & VIRTIO_STATUS_NEEDS_RESET);
}
