/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A 16550A UART as a register file (ttyS0 at 0x3f8, IRQ 4): enough for the
 * Linux 8250 driver and for polling guests. Output goes straight to out_fd;
 * input is a small FIFO filled by the event loop from the console.
 */
#include "microvm-internal.h"

#define UART_RBR_THR 0
#define UART_IER 1
#define UART_IIR_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define MCR_LOOP 0x10
#define MCR_OUT2 0x08
#define MSR_DEFAULT 0xb0 /* DCD, DSR, CTS */

void serial_init(Serial *s, int out_fd, void (*irq_set)(void *, bool), void *opaque) {
        *s = (Serial){
                .lsr = LSR_THRE | LSR_TEMT,
                .msr = MSR_DEFAULT,
                .mcr = MCR_OUT2,
                .out_fd = out_fd,
                .irq_set = irq_set,
                .irq_opaque = opaque,
        };
        pthread_mutex_init(&s->lock, NULL);
}

static uint8_t iir(const Serial *s) {
        uint8_t fifo = (s->fcr & 1) ? IIR_FIFO : 0;
        if ((s->ier & IER_RDI) && s->rx_len > 0)
                return IIR_RDI | fifo;
        if ((s->ier & IER_THRI) && s->iir_pending_thre)
                return IIR_THRI | fifo;
        return IIR_NONE | fifo;
}

static void update_irq(Serial *s) {
        bool level = !(iir(s) & IIR_NONE);
        if (level != s->irq_level && s->irq_set)
                s->irq_set(s->irq_opaque, level);
        s->irq_level = level;
}

static void emit(Serial *s, uint8_t c) {
        if (s->mcr & MCR_LOOP) {
                if (s->rx_len < sizeof(s->rx))
                        s->rx[(s->rx_head + s->rx_len++) % sizeof(s->rx)] = c;
                return;
        }
        if (s->out_fd >= 0)
                (void) loop_write(s->out_fd, &c, 1);
}

static void write_reg(Serial *s, unsigned off, uint8_t v) {
        bool dlab = s->lcr & LCR_DLAB;

        switch (off) {
        case UART_RBR_THR:
                if (dlab) {
                        s->dll = v;
                        break;
                }
                emit(s, v);
                s->iir_pending_thre = 1; /* transmitted at once */
                break;
        case UART_IER:
                if (dlab) {
                        s->dlm = v;
                        break;
                }
                if (!(s->ier & IER_THRI) && (v & IER_THRI))
                        s->iir_pending_thre = 1; /* enabling THRI with an empty THR interrupts (8250) */
                s->ier = v & 0x0f;
                break;
        case UART_IIR_FCR:
                s->fcr = v;
                if (v & 0x02)
                        s->rx_len = 0;
                break;
        case UART_LCR:
                s->lcr = v;
                break;
        case UART_MCR:
                s->mcr = v & 0x1f;
                break;
        case UART_SCR:
                s->scr = v;
                break;
        default:
                break; /* LSR and MSR are read-only */
        }
}

static uint8_t read_reg(Serial *s, unsigned off) {
        bool dlab = s->lcr & LCR_DLAB;
        uint8_t v;

        switch (off) {
        case UART_RBR_THR:
                if (dlab)
                        return s->dll;
                if (s->rx_len == 0)
                        return 0;
                v = s->rx[s->rx_head];
                s->rx_head = (s->rx_head + 1) % sizeof(s->rx);
                s->rx_len--;
                return v;
        case UART_IER:
                return dlab ? s->dlm : s->ier;
        case UART_IIR_FCR:
                v = iir(s);
                if ((v & 0x0f) == IIR_THRI)
                        s->iir_pending_thre = 0; /* reading IIR clears a THRE interrupt */
                return v;
        case UART_LCR:
                return s->lcr;
        case UART_MCR:
                return s->mcr;
        case UART_LSR:
                return LSR_THRE | LSR_TEMT | (s->rx_len > 0 ? LSR_DR : 0);
        case UART_MSR:
                if (s->mcr & MCR_LOOP) /* loopback: MCR outputs appear as modem inputs */
                        return (uint8_t) (((s->mcr & 0x0c) << 4) | ((s->mcr & 0x02) << 3) | ((s->mcr & 0x01) << 5));
                return s->msr;
        case UART_SCR:
                return s->scr;
        default:
                return 0xff;
        }
}

void serial_io(Serial *s, unsigned off, bool is_write, uint8_t *val) {
        pthread_mutex_lock(&s->lock);
        if (off > 7) {
                if (!is_write)
                        *val = 0xff;
        } else if (is_write)
                write_reg(s, off, *val);
        else
                *val = read_reg(s, off);
        update_irq(s);
        pthread_mutex_unlock(&s->lock);
}

size_t serial_input(Serial *s, const uint8_t *buf, size_t len) {
        size_t n = 0;

        pthread_mutex_lock(&s->lock);
        while (n < len && s->rx_len < sizeof(s->rx))
                s->rx[(s->rx_head + s->rx_len++) % sizeof(s->rx)] = buf[n++];
        update_irq(s);
        pthread_mutex_unlock(&s->lock);
        return n;
}

bool serial_rx_has_room(Serial *s) {
        bool r;
        pthread_mutex_lock(&s->lock);
        r = s->rx_len < sizeof(s->rx);
        pthread_mutex_unlock(&s->lock);
        return r;
}
