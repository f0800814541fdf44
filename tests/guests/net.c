/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sends one broadcast frame (ethertype 0x88b5, "aula-net-ping") through
 * virtio-net and prints the first frame that comes back.
 */
#include "guest.h"

static Virtq qs[2];
static uint8_t txbuf[12 + 64], rxbuf[12 + 1514];

int guest_main(void *boot_params);
int guest_main(void *boot_params) {
        uint64_t b = virtio_find(1);
        uint8_t *eth = txbuf + 12;
        long len;

        if (!b || virtio_init(b, 1ULL << 5 /* MAC */, qs, 2) < 0) {
                puts_("net: no device\n");
                return 1;
        }
        {
                void *bu[1] = { rxbuf };
                uint32_t l[1] = { sizeof(rxbuf) };
                uint16_t f[1] = { 2 };
                virtq_post(&qs[0], bu, l, f, 1);
        }
        memset(txbuf, 0, sizeof(txbuf));
        memset(eth, 0xff, 6);
        for (int i = 0; i < 6; i++)
                eth[6 + i] = *(volatile uint8_t *) (b + 0x100 + i);
        eth[12] = 0x88;
        eth[13] = 0xb5;
        memcpy(eth + 14, "aula-net-ping", 14);
        puts_("net: mac ");
        puthex((uint64_t) eth[6] << 40 | (uint64_t) eth[7] << 32 | (uint64_t) eth[8] << 24 | eth[9] << 16 |
               eth[10] << 8 | eth[11]);
        putc_('\n');
        {
                void *bu[1] = { txbuf };
                uint32_t l[1] = { sizeof(txbuf) };
                uint16_t f[1] = { 0 };
                virtq_post(&qs[1], bu, l, f, 1);
        }
        if (virtq_wait(&qs[1], 0) < 0)
                return 2;
        puts_("net: sent\n");
        /* the host stack may send its own frames (IPv6 neighbour discovery...): wait for ours */
        for (int tries = 0;; tries++) {
                void *bu[1] = { rxbuf };
                uint32_t l[1] = { sizeof(rxbuf) };
                uint16_t f[1] = { 2 };

                len = virtq_wait(&qs[0], 0);
                if (len < 12 + 14 || tries > 16) {
                        puts_("net: nothing received\n");
                        return 3;
                }
                if (rxbuf[12 + 12] == 0x88 && rxbuf[12 + 13] == 0xb5)
                        break;
                virtq_post(&qs[0], bu, l, f, 1);
        }
        rxbuf[len < (long) sizeof(rxbuf) ? len : (long) sizeof(rxbuf) - 1] = 0;
        puts_("net: received ");
        puts_((char *) rxbuf + 12 + 14);
        putc_('\n');
        return 0;
}
