/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshot subject: computes a value into memory and a register, says
 * "ready", then waits for one byte on the serial port. After a snapshot and a
 * restore, the byte arrives in the restored VM, which recomputes the value
 * and reports whether memory, the register and the stack survived.
 */
#include "guest.h"

static volatile uint64_t value;

static uint64_t compute(void) {
        uint64_t v = 0x12345;
        for (int i = 0; i < 50; i++)
                v = v * 6364136223846793005ULL + 1442695040888963407ULL;
        return v;
}

int guest_main(void *boot_params);
int guest_main(void *boot_params) {
        register uint64_t in_reg __asm__("r12") = compute();
        uint64_t on_stack = in_reg ^ 0xffff;
        uint8_t c;

        value = in_reg;
        puts_("snap: ready ");
        puthex(value);
        putc_('\n');
        while (!(inb(0x3fd) & 1))
                __asm__ volatile("" : "+r"(in_reg));
        c = inb(0x3f8);
        puts_("snap: byte ");
        putc_((char) c);
        puts_(value == compute() && in_reg == value && on_stack == (value ^ 0xffff) ? " state intact "
                                                                                    : " state LOST ");
        puthex(value);
        putc_('\n');
        return c == 'x' ? 0 : 1;
}
