/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock (virtio 1.2 5.10) with the host side as unix sockets, so no
 * vhost-vsock module is needed on the host:
 *
 *   guest connects to CID 2 port P   -> the VMM connects to "<socket>_<P>"
 *   a host client connects to <socket> and writes "CONNECT <P>\n"
 *                                    -> the guest sees a connection to its port P;
 *                                       once it accepts, the client reads "OK <local port>\n"
 *
 * Stream data is forwarded byte for byte. Credit (5.10.6.3): we advertise
 * VSOCK_BUF_ALLOC per connection and buffer at most that much when the host
 * socket is slow, so a guest that respects credit never makes us drop data and
 * one that does not is reset. Reads from a host socket are bounded by the
 * guest's advertised credit.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "microvm-internal.h"

#define VSOCK_HOST_CID 2
#define VSOCK_QUEUE_MAX 128
#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2
#define VSOCK_TYPE_STREAM 1
#define VSOCK_OP_REQUEST 1
#define VSOCK_OP_RESPONSE 2
#define VSOCK_OP_RST 3
#define VSOCK_OP_SHUTDOWN 4
#define VSOCK_OP_RW 5
#define VSOCK_OP_CREDIT_UPDATE 6
#define VSOCK_OP_CREDIT_REQUEST 7
#define VSOCK_SHUTDOWN_RCV 1
#define VSOCK_SHUTDOWN_SEND 2
#define VSOCK_BUF_ALLOC (256U * 1024)
#define VSOCK_MAX_PKT (64U * 1024)
#define VSOCK_CTL_MAX 256
#define VSOCK_EPHEMERAL_START 0x40000000U
#define VSOCK_MAX_CONNS 128

typedef struct VsockHdr {
        uint64_t src_cid, dst_cid;
        uint32_t src_port, dst_port;
        uint32_t len;
        uint16_t type, op;
        uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed)) VsockHdr;

typedef enum ConnState {
        CONN_HANDSHAKE, /* host client connected, "CONNECT <port>" not read yet */
        CONN_CONNECTING, /* REQUEST sent to the guest, waiting for RESPONSE */
        CONN_ESTABLISHED,
        CONN_CLOSING, /* forgotten by the guest side; flushing wbuf to the host */
} ConnState;

typedef struct VirtioVsock VirtioVsock;

typedef struct VsockConn {
        struct VsockConn *next;
        VirtioVsock *v;
        int fd;
        ConnState state;
        uint32_t local_port, peer_port;
        uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
        uint32_t fwd_cnt, fwd_cnt_sent;
        uint8_t *wbuf;
        size_t wlen;
        uint32_t events; /* registered with the loop; 0 = not registered */
        bool readable, host_eof, peer_shut_send, shut_wr_done;
        char line[64];
        size_t line_len;
} VsockConn;

struct VirtioVsock {
        VirtioDev *dev;
        EventLoop *loop;
        uint64_t cid;
        char *socket_path;
        int listen_fd;
        VsockConn *conns;
        unsigned n_conns;
        uint32_t next_port;
        VsockHdr ctl[VSOCK_CTL_MAX];
        unsigned ctl_head, ctl_len;
        bool reset_pending;
};

static void conn_event(void *opaque, uint32_t events);
static void vsock_rx(VirtioVsock *v);

static VsockConn *conn_find(VirtioVsock *v, uint32_t local_port, uint32_t peer_port) {
        for (VsockConn *c = v->conns; c; c = c->next)
                if (c->state != CONN_HANDSHAKE && c->state != CONN_CLOSING && c->local_port == local_port &&
                    c->peer_port == peer_port)
                        return c;
        return NULL;
}

static void conn_destroy(VirtioVsock *v, VsockConn *c) {
        for (VsockConn **p = &v->conns; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        if (c->events)
                (void) event_loop_del(v->loop, c->fd);
        safe_close(c->fd);
        free(c->wbuf);
        free(c);
        v->n_conns--;
}

/* Register for exactly the readiness we can act on; an fd we cannot serve is not polled. */
static void conn_update_epoll(VirtioVsock *v, VsockConn *c) {
        bool want_in = !c->readable && !c->host_eof && c->state != CONN_CLOSING && c->state != CONN_CONNECTING;
        uint32_t ev = (want_in ? EPOLLIN : 0) | (c->wlen > 0 ? EPOLLOUT : 0);

        if (ev == c->events)
                return;
        if (ev == 0)
                (void) event_loop_del(v->loop, c->fd);
        else if (c->events == 0)
                (void) event_loop_add(v->loop, c->fd, ev, conn_event, c);
        else
                (void) event_loop_mod(v->loop, c->fd, ev);
        c->events = ev;
}

static void ctl_queue(VirtioVsock *v, VsockConn *c, uint16_t op, uint32_t flags, uint32_t local, uint32_t peer) {
        VsockHdr *h;

        if (v->ctl_len >= VSOCK_CTL_MAX)
                return; /* the guest is not draining rx: stay bounded, it will time out */
        h = &v->ctl[(v->ctl_head + v->ctl_len++) % VSOCK_CTL_MAX];
        *h = (VsockHdr){
                .src_cid = VSOCK_HOST_CID,
                .dst_cid = v->cid,
                .src_port = local,
                .dst_port = peer,
                .type = VSOCK_TYPE_STREAM,
                .op = op,
                .flags = flags,
                .buf_alloc = VSOCK_BUF_ALLOC,
                .fwd_cnt = c ? c->fwd_cnt : 0,
        };
        if (c)
                c->fwd_cnt_sent = c->fwd_cnt;
}

static void conn_close(VirtioVsock *v, VsockConn *c, bool send_rst) {
        if (send_rst && c->state != CONN_HANDSHAKE)
                ctl_queue(v, c, VSOCK_OP_RST, 0, c->local_port, c->peer_port);
        if (c->wlen == 0) {
                conn_destroy(v, c);
                return;
        }
        c->state = CONN_CLOSING; /* keep the fd until the guest's last bytes reach the host */
        c->readable = false;
        conn_update_epoll(v, c);
}

/* Move buffered guest bytes to the host socket. Returns false if c was destroyed. */
static bool conn_flush(VirtioVsock *v, VsockConn *c) {
        while (c->wlen > 0) {
                ssize_t n = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0) {
                        c->wlen = 0; /* the host side is gone */
                        if (c->state == CONN_CLOSING)
                                conn_destroy(v, c);
                        else
                                conn_close(v, c, true);
                        return false;
                }
                memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t) n);
                c->wlen -= (size_t) n;
                c->fwd_cnt += (uint32_t) n;
        }
        if (c->state == CONN_CLOSING) {
                if (c->wlen == 0) {
                        conn_destroy(v, c);
                        return false;
                }
                conn_update_epoll(v, c);
                return true;
        }
        if (c->wlen == 0 && c->peer_shut_send && !c->shut_wr_done) {
                (void) shutdown(c->fd, SHUT_WR);
                c->shut_wr_done = true;
        }
        if (c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_BUF_ALLOC / 4)
                ctl_queue(v, c, VSOCK_OP_CREDIT_UPDATE, 0, c->local_port, c->peer_port);
        conn_update_epoll(v, c);
        return true;
}

static VsockConn *conn_new(VirtioVsock *v, int fd, ConnState state) {
        VsockConn *c;

        if (v->n_conns >= VSOCK_MAX_CONNS)
                return NULL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        *c = (VsockConn){ .next = v->conns, .v = v, .fd = fd, .state = state };
        v->conns = c;
        v->n_conns++;
        return c;
}

/* Guest -> host connection request: connect to "<socket>_<port>" or answer RST. */
static void guest_connect(VirtioVsock *v, const VsockHdr *h) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        VsockConn *c;
        int n;

        n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->socket_path, h->dst_port);
        if (n < 0 || (size_t) n >= sizeof(sa.sun_path))
                goto rst;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                goto rst;
        c = conn_new(v, fd, CONN_ESTABLISHED);
        if (!c)
                goto rst;
        TAKE_FD(fd);
        c->local_port = h->dst_port;
        c->peer_port = h->src_port;
        c->peer_buf_alloc = h->buf_alloc;
        c->peer_fwd_cnt = h->fwd_cnt;
        ctl_queue(v, c, VSOCK_OP_RESPONSE, 0, c->local_port, c->peer_port);
        conn_update_epoll(v, c);
        return;
rst:
        ctl_queue(v, NULL, VSOCK_OP_RST, 0, h->dst_port, h->src_port);
}

static bool hdr_valid(VirtioVsock *v, const VsockHdr *h, const VqChain *ch) {
        return h->src_cid == v->cid && h->dst_cid == VSOCK_HOST_CID && h->type == VSOCK_TYPE_STREAM &&
                        h->len <= ch->readable_len - sizeof(VsockHdr) && h->len <= VSOCK_MAX_PKT;
}

static void tx_packet(VirtioVsock *v, const VsockHdr *h, const VqChain *ch) {
        VsockConn *c;

        if (!hdr_valid(v, h, ch)) {
                if (h->op != VSOCK_OP_RST)
                        ctl_queue(v, NULL, VSOCK_OP_RST, 0, h->dst_port, h->src_port);
                return;
        }
        c = conn_find(v, h->dst_port, h->src_port);
        if (h->op == VSOCK_OP_REQUEST) {
                if (c)
                        conn_close(v, c, true);
                else
                        guest_connect(v, h);
                return;
        }
        if (!c) {
                if (h->op != VSOCK_OP_RST)
                        ctl_queue(v, NULL, VSOCK_OP_RST, 0, h->dst_port, h->src_port);
                return;
        }
        c->peer_buf_alloc = h->buf_alloc;
        c->peer_fwd_cnt = h->fwd_cnt;

        switch (h->op) {
        case VSOCK_OP_RESPONSE:
                if (c->state != CONN_CONNECTING) {
                        conn_close(v, c, true);
                        return;
                }
                {
                        char ok[32];
                        int n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
                        if (send(c->fd, ok, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
                                conn_close(v, c, true);
                                return;
                        }
                }
                c->state = CONN_ESTABLISHED;
                conn_update_epoll(v, c);
                return;
        case VSOCK_OP_RW:
                if (c->state != CONN_ESTABLISHED || h->len > VSOCK_BUF_ALLOC - c->wlen) {
                        conn_close(v, c, true); /* data before the handshake, or beyond our credit */
                        return;
                }
                if (!c->wbuf && !(c->wbuf = malloc(VSOCK_BUF_ALLOC))) {
                        conn_close(v, c, true);
                        return;
                }
                c->wlen += vq_chain_read(ch, sizeof(VsockHdr), c->wbuf + c->wlen, h->len);
                (void) conn_flush(v, c);
                return;
        case VSOCK_OP_CREDIT_REQUEST:
                ctl_queue(v, c, VSOCK_OP_CREDIT_UPDATE, 0, c->local_port, c->peer_port);
                return;
        case VSOCK_OP_CREDIT_UPDATE:
                return; /* credit taken above; rx resumes after tx */
        case VSOCK_OP_SHUTDOWN:
                if (h->flags & VSOCK_SHUTDOWN_SEND)
                        c->peer_shut_send = true;
                if ((h->flags & (VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV)) ==
                    (VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV)) {
                        conn_close(v, c, true);
                        return;
                }
                (void) conn_flush(v, c);
                return;
        case VSOCK_OP_RST:
                conn_close(v, c, false);
                return;
        default:
                conn_close(v, c, true);
                return;
        }
}

static int vsock_tx_chain(VirtioDev *d, const VqChain *ch, uint32_t *ret_written) {
        VsockHdr h;

        if (ch->readable_len < sizeof(h))
                return -EINVAL;
        vq_chain_read(ch, 0, &h, sizeof(h));
        tx_packet(d->backend, &h, ch);
        *ret_written = 0;
        return 0;
}

static void vsock_tx(VirtioDev *d) {
        virtio_dev_serve_queue(d, VSOCK_TXQ, vsock_tx_chain);
        vsock_rx(d->backend); /* replies, and data the new credit allows */
}

/* Fill one rx chain with data from c; returns bytes moved, 0 when nothing, -1 when the chain is unused. */
static int rx_data(VirtioVsock *v, VsockConn *c, VqChain *ch) {
        struct iovec iov[VQ_MAX_SEGS];
        uint32_t credit = c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt);
        uint64_t room = MIN(ch->writable_len - sizeof(VsockHdr), (uint64_t) MIN(credit, VSOCK_MAX_PKT));
        uint64_t left = room;
        VsockHdr h;
        ssize_t n;
        int k;

        if (credit == 0 || credit > c->peer_buf_alloc || room == 0)
                return -1;
        k = vq_chain_iov(ch, true, sizeof(VsockHdr), iov, VQ_MAX_SEGS);
        for (int i = 0; i < k; i++) {
                iov[i].iov_len = MIN(iov[i].iov_len, left);
                left -= iov[i].iov_len;
        }
        n = readv(c->fd, iov, k);
        if (n < 0 && errno == EAGAIN) {
                c->readable = false;
                conn_update_epoll(v, c);
                return -1;
        }
        if (n <= 0) {
                /* EOF: the host will send no more (5.10.6.5); errors reset */
                c->readable = false;
                if (n < 0) {
                        conn_close(v, c, true);
                        return -1;
                }
                c->host_eof = true;
                ctl_queue(v, c, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, c->local_port, c->peer_port);
                if (c->peer_shut_send)
                        conn_close(v, c, true);
                else
                        conn_update_epoll(v, c);
                return -1;
        }
        h = (VsockHdr){
                .src_cid = VSOCK_HOST_CID,
                .dst_cid = v->cid,
                .src_port = c->local_port,
                .dst_port = c->peer_port,
                .len = (uint32_t) n,
                .type = VSOCK_TYPE_STREAM,
                .op = VSOCK_OP_RW,
                .buf_alloc = VSOCK_BUF_ALLOC,
                .fwd_cnt = c->fwd_cnt,
        };
        c->fwd_cnt_sent = c->fwd_cnt;
        c->tx_cnt += (uint32_t) n;
        vq_chain_write(ch, 0, &h, sizeof(h));
        return (int) n;
}

static bool rx_one(VirtioVsock *v, Vq *vq, VqChain *ch) {
        if (v->ctl_len > 0) {
                VsockHdr *h = &v->ctl[v->ctl_head];
                vq_chain_write(ch, 0, h, sizeof(*h));
                v->ctl_head = (v->ctl_head + 1) % VSOCK_CTL_MAX;
                v->ctl_len--;
                return vq_push(vq, ch->head, sizeof(*h)) == 0;
        }
        for (VsockConn *c = v->conns, *next; c; c = next) {
                int n;
                next = c->next;
                if (!c->readable || c->state != CONN_ESTABLISHED)
                        continue;
                n = rx_data(v, c, ch);
                if (n > 0)
                        return vq_push(vq, ch->head, (uint32_t) (sizeof(VsockHdr) + (size_t) n)) == 0;
                if (v->ctl_len > 0)
                        return rx_one(v, vq, ch); /* rx_data queued a SHUTDOWN or RST */
        }
        vq->last_avail_idx--; /* nothing to send: give the chain back */
        return false;
}

static void vsock_rx(VirtioVsock *v) {
        VirtioDev *d = v->dev;
        Vq *vq = &d->vqs[VSOCK_RXQ];
        VqChain *ch;
        bool pushed = false;
        int r;

        if (!virtio_dev_active(d))
                return;
        ch = malloc(sizeof(*ch));
        if (!ch)
                return;
        while ((r = vq_pop_chain(vq, ch)) > 0) {
                if (ch->writable_len < sizeof(VsockHdr)) {
                        virtio_dev_fail(d, VSOCK_RXQ, -EINVAL);
                        break;
                }
                if (!rx_one(v, vq, ch))
                        break;
                pushed = true;
        }
        if (r < 0)
                virtio_dev_fail(d, VSOCK_RXQ, r);
        if (pushed)
                virtio_dev_notify_used(d, VSOCK_RXQ);
        free(ch);
}

/* A host client's "CONNECT <port>\n" line, read without buffering past it. */
static void conn_handshake(VirtioVsock *v, VsockConn *c) {
        uint32_t port;
        char *end;

        while (c->line_len < sizeof(c->line) - 1) {
                ssize_t n = recv(c->fd, c->line + c->line_len, 1, MSG_DONTWAIT);
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        conn_destroy(v, c);
                        return;
                }
                if (c->line[c->line_len++] == '\n')
                        break;
        }
        c->line[c->line_len] = 0;
        if (c->line[c->line_len - 1] != '\n' || !startswith(c->line, "CONNECT ")) {
                conn_destroy(v, c);
                return;
        }
        errno = 0;
        port = (uint32_t) strtoul(c->line + 8, &end, 10);
        if (errno || end == c->line + 8 || *end != '\n') {
                conn_destroy(v, c);
                return;
        }
        c->local_port = v->next_port++;
        if (v->next_port < VSOCK_EPHEMERAL_START)
                v->next_port = VSOCK_EPHEMERAL_START;
        c->peer_port = port;
        c->state = CONN_CONNECTING;
        ctl_queue(v, c, VSOCK_OP_REQUEST, 0, c->local_port, c->peer_port);
        conn_update_epoll(v, c);
        vsock_rx(v);
}

static void conn_event(void *opaque, uint32_t events) {
        VsockConn *c = opaque;
        VirtioVsock *v = c->v;
        VirtioDev *d = v->dev;

        pthread_mutex_lock(&d->lock);
        if (c->state == CONN_HANDSHAKE)
                conn_handshake(v, c);
        else {
                if ((events & EPOLLOUT) && !conn_flush(v, c))
                        goto out;
                if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                        c->readable = true;
                        conn_update_epoll(v, c);
                }
                vsock_rx(v);
        }
out:
        pthread_mutex_unlock(&d->lock);
}

static void listen_event(void *opaque, uint32_t events) {
        VirtioVsock *v = opaque;
        VsockConn *c;
        int fd;

        fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
                return;
        pthread_mutex_lock(&v->dev->lock);
        c = conn_new(v, fd, CONN_HANDSHAKE);
        if (!c)
                safe_close(fd);
        else if (event_loop_add(v->loop, fd, EPOLLIN, conn_event, c) < 0)
                conn_destroy(v, c);
        else
                c->events = EPOLLIN;
        pthread_mutex_unlock(&v->dev->lock);
}

static void send_reset_event(VirtioVsock *v) {
        VirtioDev *d = v->dev;
        Vq *vq = &d->vqs[VSOCK_EVQ];
        VqChain *ch = malloc(sizeof(*ch));
        uint32_t id = 0; /* VIRTIO_VSOCK_EVENT_TRANSPORT_RESET */

        if (!ch)
                return;
        if (vq_pop_chain(vq, ch) > 0 && ch->writable_len >= sizeof(id)) {
                vq_chain_write(ch, 0, &id, sizeof(id));
                if (vq_push(vq, ch->head, sizeof(id)) == 0) {
                        v->reset_pending = false;
                        virtio_dev_notify_used(d, VSOCK_EVQ);
                }
        }
        free(ch);
}

void virtio_vsock_transport_reset(VirtioDev *d) {
        VirtioVsock *v = d->backend;

        pthread_mutex_lock(&d->lock);
        v->reset_pending = true;
        if (virtio_dev_active(d))
                send_reset_event(v);
        pthread_mutex_unlock(&d->lock);
}

static void vsock_queue_notify(VirtioDev *d, unsigned q) {
        VirtioVsock *v = d->backend;

        if (q == VSOCK_TXQ)
                vsock_tx(d);
        else if (q == VSOCK_RXQ)
                vsock_rx(v);
        else if (q == VSOCK_EVQ && v->reset_pending)
                send_reset_event(v);
}

static void vsock_reset(VirtioDev *d) {
        VirtioVsock *v = d->backend;

        while (v->conns)
                conn_destroy(v, v->conns);
        v->ctl_len = v->ctl_head = 0;
}

static void *vsock_free(void *p) {
        VirtioVsock *v = p;

        if (!v)
                return NULL;
        while (v->conns)
                conn_destroy(v, v->conns);
        if (v->listen_fd >= 0) {
                (void) event_loop_del(v->loop, v->listen_fd);
                safe_close(v->listen_fd);
                (void) unlink(v->socket_path);
        }
        free(v->socket_path);
        free(v);
        return NULL;
}

static const VirtioDevOps vsock_ops = {
        .name = "vsock",
        .device_id = VIRTIO_ID_VSOCK,
        .num_queues = 3,
        .queue_max = VSOCK_QUEUE_MAX,
        .queue_notify = vsock_queue_notify,
        .reset = vsock_reset,
        .free = vsock_free,
};

static int listen_unix(const char *path, int *ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path) - 12) /* room for "_<port>" */
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                return -errno;
        *ret = TAKE_FD(fd);
        return 0;
}

int virtio_vsock_new(GuestMem *mem, EventLoop *loop, uint64_t guest_cid, const char *socket_path, VirtioDev **ret) {
        _cleanup_free_ VirtioDev *d = NULL;
        VirtioVsock *v;
        int r;

        if (guest_cid < 3 || guest_cid > UINT32_MAX - 1 || isempty(socket_path))
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        v = calloc(1, sizeof(*v));
        if (!d || !v) {
                free(v);
                return -ENOMEM;
        }
        *v = (VirtioVsock){
                .dev = d, .loop = loop, .cid = guest_cid, .listen_fd = -EBADF, .next_port = VSOCK_EPHEMERAL_START
        };
        v->socket_path = strdup(socket_path);
        if (!v->socket_path) {
                free(v);
                return -ENOMEM;
        }
        r = listen_unix(socket_path, &v->listen_fd);
        if (r >= 0)
                r = event_loop_add(loop, v->listen_fd, EPOLLIN, listen_event, v);
        if (r >= 0)
                r = virtio_dev_init(d, &vsock_ops, v, mem);
        if (r < 0) {
                if (v->listen_fd >= 0)
                        (void) unlink(socket_path);
                safe_close(v->listen_fd);
                free(v->socket_path);
                free(v);
                return r;
        }
        memcpy(d->config, &guest_cid, 8); /* struct virtio_vsock_config: le64 guest_cid */
        d->config_size = 8;
        *ret = TAKE_PTR(d);
        return 0;
}
