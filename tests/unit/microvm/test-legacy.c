/* SPDX-License-Identifier: Apache-2.0 */
/* The 16550A UART and the i8042 as register files. */
#include "microvm-internal.h"
#include "tap.h"

static int irq_level = -1;
static void on_irq(void *opaque, bool level) {
        irq_level = level;
}

static uint8_t in(Serial *s, unsigned off) {
        uint8_t v = 0;
        serial_io(s, off, false, &v);
        return v;
}
static void out(Serial *s, unsigned off, uint8_t v) {
        serial_io(s, off, true, &v);
}

TEST(serial_output_reaches_fd) {
        Serial s;
        int p[2];
        char buf[8] = {};

        ASSERT_OK(pipe(p));
        serial_init(&s, p[1], on_irq, NULL);
        out(&s, 0, 'h');
        out(&s, 0, 'i');
        ASSERT_EQ(read(p[0], buf, sizeof(buf)), 2);
        ASSERT_STREQ(buf, "hi");
        ASSERT_EQ(in(&s, 5) & 0x60, 0x60); /* THRE | TEMT: always ready */
        close(p[0]);
        close(p[1]);
}

TEST(serial_input_and_interrupts) {
        Serial s;

        irq_level = -1;
        serial_init(&s, -1, on_irq, NULL);
        ASSERT_EQ(in(&s, 2) & 0x0f, 0x01); /* no interrupt pending */
        out(&s, 1, 0x01); /* IER: received data */
        ASSERT_EQ(serial_input(&s, (const uint8_t *) "ab", 2), 2u);
        ASSERT_EQ(irq_level, 1);
        ASSERT_EQ(in(&s, 2) & 0x0f, 0x04); /* RDI */
        ASSERT_EQ(in(&s, 5) & 0x01, 0x01); /* DR */
        ASSERT_EQ(in(&s, 0), 'a');
        ASSERT_EQ(in(&s, 0), 'b');
        ASSERT_EQ(irq_level, 0);
        ASSERT_EQ(in(&s, 5) & 0x01, 0);
        ASSERT_EQ(in(&s, 0), 0); /* empty FIFO reads 0 */

        out(&s, 1, 0x02); /* THRI: fires once on enable, cleared by reading IIR */
        ASSERT_EQ(irq_level, 1);
        ASSERT_EQ(in(&s, 2) & 0x0f, 0x02);
        ASSERT_EQ(irq_level, 0);
}

TEST(serial_fifo_is_bounded) {
        Serial s;
        uint8_t big[100];

        serial_init(&s, -1, NULL, NULL);
        memset(big, 'x', sizeof(big));
        ASSERT_EQ(serial_input(&s, big, sizeof(big)), 64u);
        ASSERT_FALSE(serial_rx_has_room(&s));
        (void) in(&s, 0);
        ASSERT_TRUE(serial_rx_has_room(&s));
}

TEST(serial_divisor_latch_scratch_loopback) {
        Serial s;
        int p[2];
        char c;

        ASSERT_OK(pipe(p));
        serial_init(&s, p[1], NULL, NULL);
        out(&s, 3, 0x80); /* DLAB */
        out(&s, 0, 0x0c);
        out(&s, 1, 0x00);
        ASSERT_EQ(in(&s, 0), 0x0c);
        out(&s, 3, 0x03);
        out(&s, 7, 0x5a);
        ASSERT_EQ(in(&s, 7), 0x5a);
        out(&s, 4, 0x10); /* loopback: output comes back as input, not to the fd */
        out(&s, 0, 'L');
        ASSERT_EQ(in(&s, 0), 'L');
        ASSERT_EQ(in(&s, 9), 0xff); /* beyond the 8 registers */
        out(&s, 4, 0x00);
        out(&s, 0, 'Z');
        ASSERT_EQ(read(p[0], &c, 1), 1);
        ASSERT_EQ(c, 'Z');
        close(p[0]);
        close(p[1]);
}

TEST(i8042_reset_and_probe) {
        I8042 k;
        uint8_t v;

        i8042_init(&k);
        v = 0xaa;
        ASSERT_FALSE(i8042_io(&k, VM_I8042_CMD, true, &v));
        ASSERT_FALSE(i8042_io(&k, VM_I8042_CMD, false, &v));
        ASSERT_TRUE(v & 0x01); /* output buffer full */
        ASSERT_FALSE(i8042_io(&k, VM_I8042_DATA, false, &v));
        ASSERT_EQ(v, 0x55);

        v = 0x60; /* write CTR */
        i8042_io(&k, VM_I8042_CMD, true, &v);
        v = 0x47;
        i8042_io(&k, VM_I8042_DATA, true, &v);
        v = 0x20;
        i8042_io(&k, VM_I8042_CMD, true, &v);
        i8042_io(&k, VM_I8042_DATA, false, &v);
        ASSERT_EQ(v, 0x47);

        v = 0xfe; /* pulse reset: reboot=k */
        ASSERT_TRUE(i8042_io(&k, VM_I8042_CMD, true, &v));
        v = 0xd1; /* output port with bit 0 low also resets */
        ASSERT_FALSE(i8042_io(&k, VM_I8042_CMD, true, &v));
        v = 0x00;
        ASSERT_TRUE(i8042_io(&k, VM_I8042_DATA, true, &v));
}

TEST(i8042_output_buffer_bounded) {
        I8042 k;
        uint8_t v = 0xaa;

        i8042_init(&k);
        for (int i = 0; i < 10; i++)
                i8042_io(&k, VM_I8042_CMD, true, &v);
        ASSERT_EQ(k.out_len, 4u);
}
