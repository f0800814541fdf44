/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ends the VM the way its command line says: "exit=reboot" (i8042 0xfe, what
 * reboot=k does), "exit=acpi-reset" (0xcf9), "exit=crash" (a triple fault),
 * "exit=status" (status 42 then ACPI poweroff).
 */
#include "guest.h"

static int has(const char *s, const char *word) {
        for (; *s; s++) {
                const char *a = s, *b = word;
                while (*b && *a == *b)
                        a++, b++;
                if (!*b)
                        return 1;
        }
        return 0;
}

int guest_main(void *boot_params);
int guest_main(void *boot_params) {
        const char *cmdline = (const char *) (uint64_t) * (uint32_t *) ((char *) boot_params + 0x228);

        puts_("exits: ");
        puts_(cmdline);
        putc_('\n');
        if (has(cmdline, "exit=reboot"))
                outb(0x64, 0xfe);
        else if (has(cmdline, "exit=acpi-reset"))
                outb(0xcf9, 0x06);
        else if (has(cmdline, "exit=crash")) {
                /* no IDT: the breakpoint faults, the fault double-faults, then shutdown */
                static const struct {
                        uint16_t limit;
                        uint64_t base;
                } __attribute__((packed)) idt = { 0, 0 };
                __asm__ volatile("lidt %0; int3" : : "m"(idt));
        } else if (has(cmdline, "exit=status"))
                return 42;
        for (;;)
                __asm__ volatile("hlt");
}
