/* SPDX-License-Identifier: Apache-2.0 */
/* Lists every virtio-mmio window and negotiates features with each device found. */
#include "guest.h"

int guest_main(void *boot_params);
int guest_main(void *boot_params) {
        static const char *const names[] = { [1] = "net", [2] = "blk", [4] = "rng", [19] = "vsock" };
        unsigned found = 0;

        for (unsigned i = 0; i < MMIO_MAX; i++) {
                uint64_t b = MMIO_BASE + i * MMIO_STRIDE;
                uint32_t id;

                if (mmio_read(b) != 0x74726976)
                        continue;
                id = mmio_read(b + 8);
                puts_("probe: slot ");
                putdec(i);
                puts_(" version ");
                putdec(mmio_read(b + 4));
                puts_(" id ");
                putdec(id);
                puts_(" ");
                puts_(id < 20 && names[id] ? names[id] : "?");
                if (virtio_init(b, 0, 0, 0) == 0)
                        puts_(" features-ok");
                putc_('\n');
                found++;
        }
        puts_("probe: ");
        putdec(found);
        puts_(" devices\n");
        return (int) found;
}
