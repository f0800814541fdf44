/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMP: the BSP wakes APIC 1 with INIT-SIPI-SIPI into a real-mode trampoline
 * at 0x6000, which prints 'A' on the serial port and raises a flag.
 */
#include "guest.h"

#define LAPIC 0xfee00000UL
#define ICR_LOW 0x300
#define ICR_HIGH 0x310
#define TRAMPOLINE 0x6000
#define FLAG 0x6ff0

extern const uint8_t trampoline_start[], trampoline_end[];
__asm__(".code16\n"
        "trampoline_start:\n"
        "  cli\n"
        "  mov $0x3f8, %dx\n"
        "  mov $0x41, %al\n"
        "  out %al, %dx\n"
        "  xor %ax, %ax\n"
        "  mov %ax, %ds\n"
        "  movw $0x1234, 0x6ff0\n"
        "1: hlt\n"
        "  jmp 1b\n"
        "trampoline_end:\n"
        ".code64\n");

static void icr(uint32_t high, uint32_t low) {
        mmio_write(LAPIC + ICR_HIGH, high);
        mmio_write(LAPIC + ICR_LOW, low);
}

int guest_main(void *boot_params);
int guest_main(void *boot_params) {
        volatile uint16_t *flag = (volatile uint16_t *) FLAG;

        memcpy((void *) TRAMPOLINE, trampoline_start, (size_t) (trampoline_end - trampoline_start));
        *flag = 0;
        puts_("smp: bsp apic id ");
        putdec(mmio_read(LAPIC + 0x20) >> 24);
        putc_('\n');
        icr(1U << 24, 0x4500); /* INIT, level assert */
        icr(1U << 24, 0x4600 | (TRAMPOLINE >> 12)); /* STARTUP */
        for (unsigned long i = 0; i < 1000000 && *flag != 0x1234; i++)
                __asm__ volatile("pause");
        puts_(*flag == 0x1234 ? "\nsmp: ap started\n" : "\nsmp: ap did not start\n");
        return *flag == 0x1234 ? 0 : 1;
}
