/* SPDX-License-Identifier: Apache-2.0 */
/* Reads sector 0 of the first disk and prints its FNV-1a; writes sector 1 unless the disk is read-only. */
#include "guest.h"

static Virtq q;
static uint8_t sector[512], hdr[16], status;

static int request(uint64_t base, uint32_t type, uint64_t lba, int write) {
        void *bufs[3] = { hdr, sector, &status };
        uint32_t lens[3] = { 16, 512, 1 };
        uint16_t flags[3] = { 0, (uint16_t) (write ? 0 : 2), 2 };

        memset(hdr, 0, 16);
        memcpy(hdr, &type, 4);
        memcpy(hdr + 8, &lba, 8);
        status = 0xff;
        if (type == 4) { /* flush: header and status only */
                bufs[1] = &status;
                lens[1] = 1;
                flags[1] = 2;
                virtq_post(&q, bufs, lens, flags, 2);
        } else
                virtq_post(&q, bufs, lens, flags, 3);
        if (virtq_wait(&q, 0) < 0)
                return -1;
        return status;
}

int guest_main(void *boot_params);
int guest_main(void *boot_params) {
        uint64_t b = virtio_find(2);
        uint32_t features;

        if (!b || virtio_init(b, 0, &q, 1) < 0) {
                puts_("blk: no device\n");
                return 1;
        }
        mmio_write(b + 0x14, 0);
        features = mmio_read(b + 0x10);
        puts_("blk: capacity ");
        putdec(mmio_read(b + 0x100));
        puts_(features & (1U << 5) ? " ro\n" : " rw\n");
        if (request(b, 0, 0, 0) != 0) {
                puts_("blk: read failed\n");
                return 2;
        }
        puts_("blk: sector0 fnv1a ");
        puthex(fnv1a(sector, 512));
        putc_('\n');
        memcpy(sector, "written by the tiny guest", 26);
        puts_("blk: write ");
        putdec((uint64_t) request(b, 1, 1, 1));
        puts_(" flush ");
        putdec((uint64_t) request(b, 4, 0, 0));
        putc_('\n');
        return 0;
}
