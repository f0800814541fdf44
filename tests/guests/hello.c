/* SPDX-License-Identifier: Apache-2.0 */
/* Prints over the serial port and returns a status the VMM reports. */
#include "guest.h"

int guest_main(void *boot_params);
int guest_main(void *boot_params) {
        const char *cmdline = (const char *) (uint64_t) * (uint32_t *) ((char *) boot_params + 0x228);

        puts_("hello from guest\n");
        puts_("cmdline: ");
        puts_(cmdline);
        putc_('\n');
        return 7;
}
