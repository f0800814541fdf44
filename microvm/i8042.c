/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal i8042 keyboard controller: enough for Linux's probe and for
 * "reboot=k", which writes command 0xfe (pulse the reset line) to port 0x64.
 */
#include "microvm-internal.h"

#define I8042_STATUS_OBF 0x01
#define I8042_STATUS_SYS 0x04
#define I8042_STATUS_CMD 0x08
#define I8042_CMD_READ_CTR 0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_SELF_TEST 0xaa
#define I8042_CMD_RESET 0xfe

void i8042_init(I8042 *k) {
        *k = (I8042){ .ctr = 0x44, .status = I8042_STATUS_SYS };
}

static void push(I8042 *k, uint8_t v) {
        if (k->out_len < sizeof(k->out))
                k->out[k->out_len++] = v;
}

static void command(I8042 *k, uint8_t cmd) {
        k->status |= I8042_STATUS_CMD;
        switch (cmd) {
        case I8042_CMD_READ_CTR:
                push(k, k->ctr);
                break;
        case I8042_CMD_WRITE_CTR:
        case 0xd1: /* write output port */
        case 0xd2: /* write keyboard output buffer */
        case 0xd3: /* write aux output buffer */
        case 0xd4: /* write to aux device */
                k->pending_cmd = cmd;
                break;
        case I8042_CMD_SELF_TEST:
                push(k, 0x55);
                break;
        case 0xab: /* keyboard interface test */
        case 0xa9: /* aux interface test */
                push(k, 0x00);
                break;
        case I8042_CMD_RESET:
                k->reset_requested = true;
                break;
        default:
                break; /* enable/disable kbd/aux (0xa7, 0xa8, 0xad, 0xae) need no state */
        }
}

static void data_write(I8042 *k, uint8_t v) {
        uint8_t cmd = k->pending_cmd;

        k->pending_cmd = 0;
        k->status &= ~I8042_STATUS_CMD;
        switch (cmd) {
        case I8042_CMD_WRITE_CTR:
                k->ctr = v;
                break;
        case 0xd1:
                if (!(v & 1)) /* output port bit 0 low: system reset */
                        k->reset_requested = true;
                break;
        case 0xd2:
        case 0xd3:
                push(k, v);
                break;
        case 0xd4:
                push(k, 0xfe);
                break; /* no aux device: resend */
        default:
                push(k, 0xfe);
                break; /* no keyboard either */
        }
}

bool i8042_io(I8042 *k, uint16_t port, bool is_write, uint8_t *val) {
        if (port == VM_I8042_CMD) {
                if (is_write)
                        command(k, *val);
                else
                        *val = (uint8_t) (k->status | (k->out_len > 0 ? I8042_STATUS_OBF : 0));
        } else if (port == VM_I8042_DATA) {
                if (is_write)
                        data_write(k, *val);
                else if (k->out_len > 0) {
                        *val = k->out[0];
                        memmove(k->out, k->out + 1, --k->out_len);
                } else
                        *val = 0;
        }
        if (k->reset_requested) {
                k->reset_requested = false;
                return true;
        }
        return false;
}
