/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk requests against a memfd-backed disk. */
#include <sys/mman.h>

#include "fake-guest.h"

#define DISK_SIZE (64 * 1024)

typedef struct Env {
        FakeGuest *g;
        VirtioDev *d;
        int fd;
} Env;

static void env_done(Env *e) {
        virtio_dev_free(e->d);
        fake_guest_free(e->g);
        safe_close(e->fd);
}

static void env_init(Env *e, bool ro) {
        uint8_t pattern[DISK_SIZE];

        *e = (Env){ .fd = -EBADF };
        ASSERT_OK(fake_guest_new(256 * 1024, 8, &e->g));
        e->fd = memfd_create("disk", MFD_CLOEXEC);
        ASSERT_TRUE(e->fd >= 0);
        for (size_t i = 0; i < sizeof(pattern); i++)
                pattern[i] = (uint8_t) (i / 512 + i);
        ASSERT_EQ(write(e->fd, pattern, sizeof(pattern)), (ssize_t) sizeof(pattern));
        ASSERT_OK(virtio_blk_new(
                        e->g->mem, &blk_fd_ops, (void *) (intptr_t) e->fd, DISK_SIZE, ro, "serial-1", &e->d));
        fake_guest_activate(e->g, e->d, 1, 8);
}

/* Submit header + data (len, writable for reads) + status; returns the status byte or -1 if not completed. */
static int submit(
                Env *e,
                uint32_t type,
                uint64_t sector,
                uint64_t data_gpa,
                uint32_t data_len,
                bool data_wr,
                uint32_t *ret_len) {
        uint64_t hdr = fake_guest_alloc(e->g, 16), st = fake_guest_alloc(e->g, 1);
        uint8_t h[16] = {};
        uint16_t before = fake_guest_used_idx(e->g);
        uint32_t id, len;

        memcpy(h, &type, 4);
        memcpy(h + 8, &sector, 8);
        memcpy(e->g->ram + hdr, h, 16);
        e->g->ram[st] = 0xee;
        if (data_len) {
                uint64_t gpa[3] = { hdr, data_gpa, st };
                uint32_t lens[3] = { 16, data_len, 1 };
                uint16_t wr[3] = { 0, data_wr, 1 };
                fake_guest_publish_avail(e->g, fake_guest_chain(e->g, 0, gpa, lens, wr, 3));
        } else {
                uint64_t gpa[2] = { hdr, st };
                uint32_t lens[2] = { 16, 1 };
                uint16_t wr[2] = { 0, 1 };
                fake_guest_publish_avail(e->g, fake_guest_chain(e->g, 0, gpa, lens, wr, 2));
        }
        virtio_dev_kick(e->d, 0);
        if (fake_guest_used_idx(e->g) == before)
                return -1;
        fake_guest_used_elem(e->g, before, &id, &len);
        if (ret_len)
                *ret_len = len;
        return e->g->ram[st];
}

TEST(blk_config_and_features) {
        _cleanup_(env_done) Env e;
        uint64_t cap;

        env_init(&e, true);
        memcpy(&cap, e.d->config, 8);
        ASSERT_EQ(cap, (uint64_t) DISK_SIZE / 512);
        ASSERT_TRUE(e.d->device_features & (1ULL << 5)); /* RO */
        ASSERT_TRUE(e.d->device_features & (1ULL << 9)); /* FLUSH */
}

TEST(blk_read_sector) {
        _cleanup_(env_done) Env e;
        uint64_t buf;
        uint32_t len;

        env_init(&e, false);
        buf = fake_guest_alloc(e.g, 1024);
        ASSERT_EQ(submit(&e, 0, 3, buf, 1024, true, &len), 0);
        ASSERT_EQ(len, 1025u);
        ASSERT_EQ(e.g->ram[buf], (uint8_t) (3 + 3 * 512));
        ASSERT_EQ(e.g->ram[buf + 1023], (uint8_t) (4 + 3 * 512 + 1023));
        ASSERT_EQ(e.g->irqs, 1u);
}

TEST(blk_write_then_read_back_and_flush) {
        _cleanup_(env_done) Env e;
        uint64_t buf, back;
        uint8_t disk[512];

        env_init(&e, false);
        buf = fake_guest_alloc(e.g, 512);
        memset(e.g->ram + buf, 0x5a, 512);
        ASSERT_EQ(submit(&e, 1, 10, buf, 512, false, NULL), 0);
        ASSERT_EQ(pread(e.fd, disk, 512, 10 * 512), 512);
        ASSERT_EQ(disk[0], 0x5a);
        ASSERT_EQ(disk[511], 0x5a);
        back = fake_guest_alloc(e.g, 512);
        ASSERT_EQ(submit(&e, 0, 10, back, 512, true, NULL), 0);
        ASSERT_EQ(memcmp(e.g->ram + back, e.g->ram + buf, 512), 0);
        ASSERT_EQ(submit(&e, 4, 0, 0, 0, false, NULL), 0);
}

TEST(blk_read_only_rejects_writes) {
        _cleanup_(env_done) Env e;
        uint64_t buf;
        uint8_t disk;

        env_init(&e, true);
        buf = fake_guest_alloc(e.g, 512);
        memset(e.g->ram + buf, 0x77, 512);
        ASSERT_EQ(submit(&e, 1, 0, buf, 512, false, NULL), 1); /* IOERR */
        ASSERT_EQ(pread(e.fd, &disk, 1, 0), 1);
        ASSERT_EQ(disk, 0);
        ASSERT_EQ(submit(&e, 4, 0, 0, 0, false, NULL), 0); /* flush is harmless */
}

TEST(blk_rejects_out_of_range_and_overflowing_sectors) {
        _cleanup_(env_done) Env e;
        uint64_t buf;

        env_init(&e, false);
        buf = fake_guest_alloc(e.g, 1024);
        ASSERT_EQ(submit(&e, 0, DISK_SIZE / 512, buf, 512, true, NULL), 1);
        ASSERT_EQ(submit(&e, 0, DISK_SIZE / 512 - 1, buf, 1024, true, NULL), 1); /* runs past the end */
        ASSERT_EQ(submit(&e, 0, UINT64_MAX / 512 + 1, buf, 512, true, NULL), 1); /* sector * 512 wraps */
        ASSERT_EQ(submit(&e, 0, UINT64_MAX, buf, 512, true, NULL), 1);
        ASSERT_EQ(submit(&e, 0, 0, buf, 100, true, NULL), 1); /* not a multiple of 512 */
        ASSERT_EQ(submit(&e, 0, DISK_SIZE / 512 - 1, buf, 512, true, NULL), 0);
}

TEST(blk_get_id_and_unsupported) {
        _cleanup_(env_done) Env e;
        uint64_t buf;
        uint32_t len;

        env_init(&e, false);
        buf = fake_guest_alloc(e.g, 20);
        ASSERT_EQ(submit(&e, 8, 0, buf, 20, true, &len), 0);
        ASSERT_EQ(len, 21u);
        ASSERT_EQ(memcmp(e.g->ram + buf, "serial-1", 9), 0);
        ASSERT_EQ(submit(&e, 99, 0, 0, 0, false, NULL), 2); /* UNSUPP */
}

TEST(blk_malformed_request_breaks_queue) {
        _cleanup_(env_done) Env e;
        uint64_t hdr;

        env_init(&e, false);
        hdr = fake_guest_alloc(e.g, 16);
        fake_guest_set_desc(e.g, 0, hdr, 16, 0, 0); /* no status byte */
        fake_guest_publish_avail(e.g, 0);
        virtio_dev_kick(e.d, 0);
        ASSERT_TRUE(e.d->status & VIRTIO_STATUS_NEEDS_RESET);
        ASSERT_EQ(fake_guest_used_idx(e.g), 0);

        /* a header shorter than 16 bytes is just as fatal */
        env_done(&e);
        env_init(&e, false);
        hdr = fake_guest_alloc(e.g, 16);
        fake_guest_set_desc(e.g, 0, hdr, 8, VRING_DESC_F_NEXT, 1);
        fake_guest_set_desc(e.g, 1, hdr + 8, 1, VRING_DESC_F_WRITE, 0);
        fake_guest_publish_avail(e.g, 0);
        virtio_dev_kick(e.d, 0);
        ASSERT_TRUE(e.d->status & VIRTIO_STATUS_NEEDS_RESET);
}

TEST(blk_out_of_ram_data_buffer) {
        _cleanup_(env_done) Env e;

        env_init(&e, false);
        ASSERT_EQ(submit(&e, 0, 0, 0x7ffff000, 512, true, NULL), -1);
        ASSERT_TRUE(e.d->status & VIRTIO_STATUS_NEEDS_RESET);
}
