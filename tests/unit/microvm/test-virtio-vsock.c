/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-vsock with host-side unix sockets, both connection directions, credit and resets. */
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fake-guest.h"

#define CID 42
#define HDR 44
#define RXBUF 4096

typedef struct __attribute__((packed)) Hdr {
        uint64_t src_cid, dst_cid;
        uint32_t src_port, dst_port, len;
        uint16_t type, op;
        uint32_t flags, buf_alloc, fwd_cnt;
} Hdr;

typedef struct Env {
        FakeGuest *g;
        VirtioDev *d;
        EventLoop *loop;
        char dir[64], path[128];
        uint16_t avail[3], used_seen[3];
        uint16_t next_desc[3];
} Env;

static void env_done(Env *e) {
        virtio_dev_free(e->d);
        event_loop_free(e->loop);
        fake_guest_free(e->g);
        rm_rf_at(AT_FDCWD, e->dir);
}

static void env_init(Env *e) {
        *e = (Env){};
        strcpy(e->dir, "/tmp/aula-vsock-test-XXXXXX");
        ASSERT_NOT_NULL(mkdtemp(e->dir));
        snprintf(e->path, sizeof(e->path), "%s/v.sock", e->dir);
        ASSERT_OK(fake_guest_new(2 * 1024 * 1024, 8, &e->g));
        ASSERT_OK(event_loop_new(&e->loop));
        ASSERT_OK(virtio_vsock_new(e->g->mem, e->loop, CID, e->path, &e->d));
        fake_guest_activate(e->g, e->d, 3, 8);
}

static void publish(Env *e, unsigned q, uint16_t head) {
        e->g->vq = &e->d->vqs[q];
        e->g->avail_idx = e->avail[q];
        fake_guest_publish_avail(e->g, head);
        e->avail[q] = e->g->avail_idx;
}

/* Post one rx buffer (descriptor slot cycles through the queue). */
static void post_rx(Env *e) {
        uint16_t i = e->next_desc[0]++ % 8;
        e->g->vq = &e->d->vqs[0];
        fake_guest_set_desc(e->g, i, FG_DATA + 0x40000 + i * 0x2000ULL, HDR + RXBUF, VRING_DESC_F_WRITE, 0);
        publish(e, 0, i);
        virtio_dev_kick(e->d, 0);
}

static void guest_send(
                Env *e,
                uint16_t op,
                uint32_t src_port,
                uint32_t dst_port,
                const void *data,
                uint32_t len,
                uint32_t flags) {
        uint16_t i = e->next_desc[1]++ % 8;
        uint64_t gpa = FG_DATA + 0x10000 + i * 0x2000ULL;
        Hdr h = { .src_cid = CID,
                  .dst_cid = 2,
                  .src_port = src_port,
                  .dst_port = dst_port,
                  .len = len,
                  .type = 1,
                  .op = op,
                  .flags = flags,
                  .buf_alloc = 65536,
                  .fwd_cnt = 0 };

        memcpy(e->g->ram + gpa, &h, sizeof(h));
        if (len)
                memcpy(e->g->ram + gpa + HDR, data, len);
        e->g->vq = &e->d->vqs[1];
        fake_guest_set_desc(e->g, i, gpa, HDR + len, 0, 0);
        publish(e, 1, i);
        virtio_dev_kick(e->d, 1);
}

/* Next packet the device put on the rx queue; false if none. */
static bool guest_recv(Env *e, Hdr *h, char *data) {
        uint32_t id, len;
        uint64_t gpa;

        e->g->vq = &e->d->vqs[0];
        if (fake_guest_used_idx(e->g) == e->used_seen[0])
                return false;
        fake_guest_used_elem(e->g, e->used_seen[0]++, &id, &len);
        gpa = FG_DATA + 0x40000 + id * 0x2000ULL;
        memcpy(h, e->g->ram + gpa, sizeof(*h));
        ASSERT_EQ(len, HDR + h->len);
        if (data) {
                memcpy(data, e->g->ram + gpa + HDR, h->len);
                data[h->len] = 0;
        }
        return true;
}

static void pump(Env *e) {
        for (int i = 0; i < 5; i++)
                if (event_loop_run_once(e->loop, 20) <= 0)
                        break;
}

static int listen_at(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        strcpy(sa.sun_path, path);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(bind(fd, (struct sockaddr *) &sa, sizeof(sa)));
        ASSERT_OK(listen(fd, 4));
        return fd;
}

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        strcpy(sa.sun_path, path);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(connect(fd, (struct sockaddr *) &sa, sizeof(sa)));
        return fd;
}

TEST(vsock_config_has_guest_cid) {
        _cleanup_(env_done) Env e;
        uint64_t cid;

        env_init(&e);
        memcpy(&cid, e.d->config, 8);
        ASSERT_EQ(cid, (uint64_t) CID);
}

TEST(vsock_guest_connects_to_host_socket) {
        _cleanup_(env_done) Env e;
        _cleanup_close_ int lfd = -EBADF, cfd = -EBADF;
        char path[160], buf[RXBUF + 1];
        Hdr h;

        env_init(&e);
        snprintf(path, sizeof(path), "%s_1024", e.path);
        lfd = listen_at(path);
        post_rx(&e);
        post_rx(&e);
        guest_send(&e, 1 /* REQUEST */, 5000, 1024, NULL, 0, 0);
        ASSERT_TRUE(guest_recv(&e, &h, NULL));
        ASSERT_EQ(h.op, 2); /* RESPONSE */
        ASSERT_EQ(h.src_port, 1024u);
        ASSERT_EQ(h.dst_port, 5000u);
        ASSERT_EQ(h.dst_cid, (uint64_t) CID);
        cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        ASSERT_TRUE(cfd >= 0);

        guest_send(&e, 5 /* RW */, 5000, 1024, "ping", 4, 0);
        ASSERT_EQ(read(cfd, buf, sizeof(buf)), 4);
        ASSERT_EQ(memcmp(buf, "ping", 4), 0);

        ASSERT_EQ(write(cfd, "pong!", 5), 5);
        pump(&e);
        ASSERT_TRUE(guest_recv(&e, &h, buf));
        ASSERT_EQ(h.op, 5);
        ASSERT_STREQ(buf, "pong!");
        ASSERT_EQ(h.fwd_cnt, 4u); /* the 4 bytes we forwarded to the host */

        /* host closes: the guest is told the host will send no more */
        safe_close(TAKE_FD(cfd));
        post_rx(&e);
        pump(&e);
        ASSERT_TRUE(guest_recv(&e, &h, NULL));
        ASSERT_EQ(h.op, 4); /* SHUTDOWN */
        ASSERT_TRUE(h.flags & 2);
        guest_send(&e, 3 /* RST */, 5000, 1024, NULL, 0, 0);
}

TEST(vsock_guest_connect_to_missing_port_gets_rst) {
        _cleanup_(env_done) Env e;
        Hdr h;

        env_init(&e);
        post_rx(&e);
        guest_send(&e, 1, 5001, 7777, NULL, 0, 0);
        ASSERT_TRUE(guest_recv(&e, &h, NULL));
        ASSERT_EQ(h.op, 3);
        ASSERT_EQ(h.dst_port, 5001u);
}

TEST(vsock_host_connect_handshake) {
        _cleanup_(env_done) Env e;
        _cleanup_close_ int fd = -EBADF;
        char buf[64];
        Hdr h;
        ssize_t n;

        env_init(&e);
        post_rx(&e);
        post_rx(&e);
        fd = connect_to(e.path);
        ASSERT_EQ(write(fd, "CONNECT 1234\n", 13), 13);
        pump(&e);
        ASSERT_TRUE(guest_recv(&e, &h, NULL));
        ASSERT_EQ(h.op, 1); /* REQUEST */
        ASSERT_EQ(h.dst_port, 1234u);
        ASSERT_TRUE(h.src_port >= 0x40000000u);

        guest_send(&e, 2 /* RESPONSE */, 1234, h.src_port, NULL, 0, 0);
        n = read(fd, buf, sizeof(buf) - 1);
        ASSERT_TRUE(n > 0);
        buf[n] = 0;
        ASSERT_TRUE(startswith(buf, "OK ") != NULL);
        ASSERT_EQ((uint32_t) strtoul(buf + 3, NULL, 10), h.src_port);

        guest_send(&e, 5, 1234, h.src_port, "data", 4, 0);
        ASSERT_EQ(read(fd, buf, sizeof(buf)), 4);
}

TEST(vsock_host_connect_refused_by_guest) {
        _cleanup_(env_done) Env e;
        _cleanup_close_ int fd = -EBADF;
        char buf[8];
        Hdr h;

        env_init(&e);
        post_rx(&e);
        fd = connect_to(e.path);
        ASSERT_EQ(write(fd, "CONNECT 9\n", 10), 10);
        pump(&e);
        ASSERT_TRUE(guest_recv(&e, &h, NULL));
        guest_send(&e, 3 /* RST */, 9, h.src_port, NULL, 0, 0);
        ASSERT_EQ(read(fd, buf, sizeof(buf)), 0); /* closed without "OK" */
}

TEST(vsock_bad_handshake_line_closes) {
        _cleanup_(env_done) Env e;
        _cleanup_close_ int fd = -EBADF;
        char buf[8];
        Hdr h;

        env_init(&e);
        post_rx(&e);
        fd = connect_to(e.path);
        ASSERT_EQ(write(fd, "HELLO 1\n", 8), 8);
        pump(&e);
        ASSERT_EQ(read(fd, buf, sizeof(buf)), 0);
        ASSERT_FALSE(guest_recv(&e, &h, NULL));
}

TEST(vsock_rejects_spoofed_source_and_bad_type) {
        _cleanup_(env_done) Env e;
        uint16_t i = 0;
        Hdr h = { .src_cid = 7, .dst_cid = 2, .src_port = 1, .dst_port = 2, .type = 1, .op = 1 };

        env_init(&e);
        post_rx(&e);
        memcpy(e.g->ram + FG_DATA + 0x10000, &h, sizeof(h));
        e.g->vq = &e.d->vqs[1];
        fake_guest_set_desc(e.g, i, FG_DATA + 0x10000, HDR, 0, 0);
        publish(&e, 1, i);
        virtio_dev_kick(e.d, 1);
        ASSERT_TRUE(guest_recv(&e, &h, NULL));
        ASSERT_EQ(h.op, 3); /* RST, no connection attempt */
        ASSERT_FALSE(e.d->status & VIRTIO_STATUS_NEEDS_RESET);
}

TEST(vsock_len_beyond_buffer_is_rejected) {
        _cleanup_(env_done) Env e;
        Hdr h = { .src_cid = CID, .dst_cid = 2, .src_port = 1, .dst_port = 2, .len = 1000, .type = 1, .op = 5 };

        env_init(&e);
        post_rx(&e);
        memcpy(e.g->ram + FG_DATA + 0x10000, &h, sizeof(h));
        e.g->vq = &e.d->vqs[1];
        fake_guest_set_desc(e.g, 0, FG_DATA + 0x10000, HDR + 10, 0, 0); /* claims 1000, carries 10 */
        publish(&e, 1, 0);
        virtio_dev_kick(e.d, 1);
        ASSERT_TRUE(guest_recv(&e, &h, NULL));
        ASSERT_EQ(h.op, 3);
}

TEST(vsock_short_tx_header_breaks_queue) {
        _cleanup_(env_done) Env e;

        env_init(&e);
        e.g->vq = &e.d->vqs[1];
        fake_guest_set_desc(e.g, 0, FG_DATA + 0x10000, 10, 0, 0);
        publish(&e, 1, 0);
        virtio_dev_kick(e.d, 1);
        ASSERT_TRUE(e.d->status & VIRTIO_STATUS_NEEDS_RESET);
}

TEST(vsock_transport_reset_event) {
        _cleanup_(env_done) Env e;
        uint32_t id, len, ev;

        env_init(&e);
        e.g->vq = &e.d->vqs[2];
        fake_guest_set_desc(e.g, 0, FG_DATA + 0x30000, 4, VRING_DESC_F_WRITE, 0);
        publish(&e, 2, 0);
        virtio_vsock_transport_reset(e.d);
        ASSERT_EQ(fake_guest_used_idx(e.g), 1);
        fake_guest_used_elem(e.g, 0, &id, &len);
        ASSERT_EQ(len, 4u);
        memcpy(&ev, e.g->ram + FG_DATA + 0x30000, 4);
        ASSERT_EQ(ev, 0u);
}

TEST(vsock_rejects_bad_config) {
        GuestMem *gm = NULL;
        VirtioDev *d = NULL;
        EventLoop *l = NULL;
        uint8_t ram[4096];
        char longpath[200];

        ASSERT_OK(gm_new_buffer(ram, 0, sizeof(ram), &gm));
        ASSERT_OK(event_loop_new(&l));
        ASSERT_ERROR(virtio_vsock_new(gm, l, 2, "/tmp/x", &d), EINVAL);
        ASSERT_ERROR(virtio_vsock_new(gm, l, 3, "", &d), EINVAL);
        memset(longpath, 'a', sizeof(longpath) - 1);
        longpath[sizeof(longpath) - 1] = 0;
        ASSERT_ERROR(virtio_vsock_new(gm, l, 3, longpath, &d), ENAMETOOLONG);
        event_loop_free(l);
        gm_free(gm);
}
