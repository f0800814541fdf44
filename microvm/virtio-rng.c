/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-rng / entropy device (virtio 1.2 5.4): fill each writable buffer. */
#include <sys/random.h>

#include "microvm-internal.h"

#define RNG_QUEUE_MAX 64
#define RNG_MAX_PER_REQ 4096

typedef struct VirtioRng {
        int (*fill)(void *buf, size_t len);
} VirtioRng;

static int fill_getrandom(void *buf, size_t len) {
        size_t done = 0;
        while (done < len) {
                ssize_t n = getrandom((uint8_t *) buf + done, len - done, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) n;
        }
        return 0;
}

static int rng_serve(VirtioDev *d, const VqChain *c, uint32_t *ret_written) {
        VirtioRng *rng = d->backend;
        uint8_t buf[RNG_MAX_PER_REQ];
        size_t n = (size_t) MIN(c->writable_len, (uint64_t) sizeof(buf));

        if (n > 0 && rng->fill(buf, n) < 0)
                n = 0;
        *ret_written = (uint32_t) vq_chain_write(c, 0, buf, n);
        return 0;
}

static void rng_queue_notify(VirtioDev *d, unsigned q) {
        virtio_dev_serve_queue(d, q, rng_serve);
}

static void *rng_free(void *p) {
        free(p);
        return NULL;
}

static const VirtioDevOps rng_ops = {
        .name = "rng",
        .device_id = VIRTIO_ID_RNG,
        .num_queues = 1,
        .queue_max = RNG_QUEUE_MAX,
        .queue_notify = rng_queue_notify,
        .free = rng_free,
};

int virtio_rng_new(GuestMem *mem, int (*fill)(void *buf, size_t len), VirtioDev **ret) {
        _cleanup_free_ VirtioRng *rng = calloc(1, sizeof(VirtioRng));
        _cleanup_free_ VirtioDev *d = calloc(1, sizeof(VirtioDev));
        int r;

        if (!rng || !d)
                return -ENOMEM;
        rng->fill = fill ?: fill_getrandom;
        r = virtio_dev_init(d, &rng_ops, rng, mem);
        if (r < 0)
                return r;
        TAKE_PTR(rng);
        *ret = TAKE_PTR(d);
        return 0;
}
