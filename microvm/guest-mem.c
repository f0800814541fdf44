/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM. A guest is untrusted input: every guest-physical address the VMM
 * dereferences comes through gm_slice(), which checks that the whole range
 * lies inside one RAM region and that gpa + len does not overflow.
 */
#include <sys/mman.h>

#include "microvm-internal.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

static int gm_alloc(GuestMem **ret) {
        GuestMem *gm = calloc(1, sizeof(*gm));
        if (!gm)
                return -ENOMEM;
        gm->memfd = -EBADF;
        *ret = gm;
        return 0;
}

int gm_new(uint64_t ram_size, bool hugepages, GuestMem **ret) {
        _cleanup_(gm_freep) GuestMem *gm = NULL;
        uint64_t low;
        int r;

        assert(ret);
        if (ram_size == 0 || ram_size % 4096 || ram_size > VM_MAX_MEMORY)
                return -EINVAL;
        if (hugepages && ram_size % (2ULL << 20))
                return -EINVAL;
        r = gm_alloc(&gm);
        if (r < 0)
                return r;

        gm->memfd = memfd_create("aula-guest-ram", MFD_CLOEXEC | (hugepages ? MFD_HUGETLB : 0));
        if (gm->memfd < 0)
                return -errno;
        if (ftruncate(gm->memfd, (off_t) ram_size) < 0)
                return -errno;
        /* hugetlb pages are reserved at mmap time (ENOMEM now), never SIGBUS at first touch */
        gm->map = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | (hugepages ? 0 : MAP_NORESERVE),
                       gm->memfd, 0);
        if (gm->map == MAP_FAILED) {
                gm->map = NULL;
                return -errno;
        }
        gm->map_size = ram_size;
        gm->owns_map = true;
        gm->ram_size = ram_size;
        (void) madvise(gm->map, ram_size, MADV_DONTDUMP);

        low = MIN(ram_size, GM_LOW_RAM_MAX);
        gm->regions[0] = (GmRegion){ .gpa = 0, .size = low, .host = gm->map };
        gm->n_regions = 1;
        if (ram_size > low) {
                gm->regions[1] = (GmRegion){ .gpa = GM_HIGH_RAM_START,
                                             .size = ram_size - low,
                                             .host = gm->map + low };
                gm->n_regions = 2;
        }
        *ret = TAKE_PTR(gm);
        return 0;
}

int gm_new_buffer(void *buf, uint64_t gpa, uint64_t size, GuestMem **ret) {
        GuestMem *gm;
        int r;

        assert(buf && ret);
        if (size == 0 || gpa + size < gpa)
                return -EINVAL;
        r = gm_alloc(&gm);
        if (r < 0)
                return r;
        gm->regions[0] = (GmRegion){ .gpa = gpa, .size = size, .host = buf };
        gm->n_regions = 1;
        gm->ram_size = size;
        *ret = gm;
        return 0;
}

GuestMem *gm_free(GuestMem *gm) {
        if (!gm)
                return NULL;
        if (gm->owns_map && gm->map)
                munmap(gm->map, gm->map_size);
        safe_close(gm->memfd);
        free(gm);
        return NULL;
}

int gm_slice(const GuestMem *gm, uint64_t gpa, uint64_t len, void **ret) {
        assert(gm && ret);

        if (gpa + len < gpa)
                return -EFAULT;
        for (unsigned i = 0; i < gm->n_regions; i++) {
                const GmRegion *rg = &gm->regions[i];
                if (gpa < rg->gpa || gpa - rg->gpa > rg->size)
                        continue;
                if (len > rg->size - (gpa - rg->gpa))
                        return -EFAULT;
                if (len == 0 && gpa - rg->gpa == rg->size)
                        continue; /* one past the end is not inside RAM */
                *ret = rg->host + (gpa - rg->gpa);
                return 0;
        }
        return -EFAULT;
}

int gm_read(const GuestMem *gm, uint64_t gpa, void *buf, size_t len) {
        void *p;
        int r = gm_slice(gm, gpa, len, &p);
        if (r < 0)
                return r;
        memcpy(buf, p, len);
        return 0;
}

int gm_write(const GuestMem *gm, uint64_t gpa, const void *buf, size_t len) {
        void *p;
        int r = gm_slice(gm, gpa, len, &p);
        if (r < 0)
                return r;
        memcpy(p, buf, len);
        return 0;
}

int gm_offset(const GuestMem *gm, uint64_t gpa, uint64_t *ret) {
        void *p;
        int r = gm_slice(gm, gpa, 1, &p);
        if (r < 0)
                return r;
        if (!gm->map)
                return -EFAULT;
        *ret = (uint64_t) ((uint8_t *) p - gm->map);
        return 0;
}

/*
 * hash64: four independent multiply-rotate lanes over 8-byte words, merged at
 * the end. Not cryptographic: it detects torn or corrupted snapshot files at
 * memory speed (a snapshot is trusted as much as the directory holding it).
 */
#define H_P1 0x9e3779b185ebca87ULL
#define H_P2 0xc2b2ae3d27d4eb4fULL

static inline uint64_t rotl64(uint64_t x, int r) {
        return (x << r) | (x >> (64 - r));
}

static inline uint64_t lane(uint64_t acc, uint64_t v) {
        return rotl64(acc + v * H_P2, 31) * H_P1;
}

void hash64_init(Hash64 *s) {
        *s = (Hash64){ .h = { H_P1 + H_P2, H_P2, 0, -H_P1 } };
}

static void hash64_block(Hash64 *s, const uint8_t *p) {
        uint64_t w[4];
        memcpy(w, p, 32);
        for (int i = 0; i < 4; i++)
                s->h[i] = lane(s->h[i], w[i]);
}

void hash64_update(Hash64 *s, const void *data, size_t len) {
        const uint8_t *p = data;

        s->total += len;
        if (s->tail_len > 0) {
                size_t n = MIN(len, 32 - s->tail_len);
                memcpy(s->tail + s->tail_len, p, n);
                s->tail_len += n;
                p += n;
                len -= n;
                if (s->tail_len < 32)
                        return;
                hash64_block(s, s->tail);
                s->tail_len = 0;
        }
        for (; len >= 32; p += 32, len -= 32)
                hash64_block(s, p);
        memcpy(s->tail, p, len);
        s->tail_len = len;
}

uint64_t hash64_final(Hash64 *s) {
        uint64_t h = rotl64(s->h[0], 1) + rotl64(s->h[1], 7) + rotl64(s->h[2], 12) + rotl64(s->h[3], 18);

        for (int i = 0; i < 4; i++)
                h = (h ^ lane(0, s->h[i])) * H_P1 + H_P2;
        h ^= s->total;
        for (size_t i = 0; i < s->tail_len; i++)
                h = rotl64(h ^ (s->tail[i] * H_P1), 11) * H_P2;
        h ^= h >> 33;
        h *= H_P2;
        h ^= h >> 29;
        return h;
}

uint64_t hash64(const void *p, size_t len) {
        Hash64 s;
        hash64_init(&s);
        hash64_update(&s, p, len);
        return hash64_final(&s);
}
