/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connects to host port 1234 over virtio-vsock, sends a line, prints the
 * host's reply and resets the connection; then accepts one connection from
 * the host on port 4321 (the host's "CONNECT 4321"), and prints what it says.
 */
#include "guest.h"

#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_RW 5

typedef struct __attribute__((packed)) Hdr {
        uint64_t src_cid, dst_cid;
        uint32_t src_port, dst_port, len;
        uint16_t type, op;
        uint32_t flags, buf_alloc, fwd_cnt;
} Hdr;

static Virtq qs[3];
static struct {
        Hdr h;
        char data[256];
} rx[4], tx;
static uint64_t cid;
static uint32_t local_port = 5000, peer_port = 1234;

/* The buffer is the one matching the descriptor head virtq_post() will pick (head = 4 * slot). */
static void post_rx(unsigned unused) {
        unsigned i = qs[0].avail.idx % 4;
        void *b[1] = { &rx[i] };
        uint32_t l[1] = { sizeof(rx[i]) };
        uint16_t f[1] = { 2 };
        virtq_post(&qs[0], b, l, f, 1);
}

static void send(uint16_t op, const char *data, uint32_t len) {
        void *b[1] = { &tx };
        uint32_t l[1] = { (uint32_t) sizeof(Hdr) + len };
        uint16_t f[1] = { 0 };

        tx.h = (Hdr){ .src_cid = cid,
                      .dst_cid = 2,
                      .src_port = local_port,
                      .dst_port = peer_port,
                      .len = len,
                      .type = 1,
                      .op = op,
                      .buf_alloc = 4096 };
        memcpy(tx.data, data, len);
        virtq_post(&qs[1], b, l, f, 1);
        virtq_wait(&qs[1], 0);
}

/* Next packet from the host, skipping credit updates; its rx slot is reposted afterwards by the caller. */
static Hdr *recv(unsigned *slot) {
        for (;;) {
                unsigned id;
                if (virtq_wait(&qs[0], &id) < 0)
                        return 0;
                *slot = id / 4;
                if (rx[*slot].h.op != 6) /* CREDIT_UPDATE */
                        return &rx[*slot].h;
                post_rx(*slot);
        }
}

int guest_main(void *boot_params);
int guest_main(void *boot_params) {
        uint64_t b = virtio_find(19);
        unsigned slot;
        Hdr *h;

        if (!b || virtio_init(b, 0, qs, 3) < 0) {
                puts_("vsock: no device\n");
                return 1;
        }
        cid = mmio_read(b + 0x100);
        puts_("vsock: guest cid ");
        putdec(cid);
        putc_('\n');
        for (unsigned i = 0; i < 3; i++)
                post_rx(i);
        send(OP_REQUEST, "", 0);
        h = recv(&slot);
        if (!h || h->op != OP_RESPONSE) {
                puts_("vsock: connection refused\n");
                return 2;
        }
        post_rx(slot);
        send(OP_RW, "hello from the guest\n", 21);
        h = recv(&slot);
        if (!h || h->op != OP_RW) {
                puts_("vsock: no reply\n");
                return 3;
        }
        rx[slot].data[h->len < 255 ? h->len : 255] = 0;
        puts_("vsock: host says ");
        puts_(rx[slot].data);
        send(OP_RST, "", 0);
        post_rx(slot);

        /* now the other direction: wait for the host's REQUEST to port 4321 */
        h = recv(&slot);
        while (h && h->op == OP_RST) { /* the reset we caused above, echoed */
                post_rx(slot);
                h = recv(&slot);
        }
        if (!h || h->op != OP_REQUEST || h->dst_port != 4321) {
                puts_("vsock: no connection from the host\n");
                return 4;
        }
        peer_port = h->src_port;
        local_port = 4321;
        post_rx(slot);
        send(OP_RESPONSE, "", 0);
        h = recv(&slot);
        if (!h || h->op != OP_RW) {
                puts_("vsock: the host sent nothing\n");
                return 5;
        }
        rx[slot].data[h->len < 255 ? h->len : 255] = 0;
        puts_("vsock: host connected and says ");
        puts_(rx[slot].data);
        send(OP_RST, "", 0);
        return 0;
}
