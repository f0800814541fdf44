/* SPDX-License-Identifier: Apache-2.0 */
#include "microvm-internal.h"
#include "tap.h"

TEST(gm_slice_bounds) {
        uint8_t buf[4096];
        GuestMem *gm = NULL;
        void *p;

        ASSERT_OK(gm_new_buffer(buf, 0x1000, sizeof(buf), &gm));
        ASSERT_OK(gm_slice(gm, 0x1000, 4096, &p));
        ASSERT_TRUE(p == buf);
        ASSERT_OK(gm_slice(gm, 0x1fff, 1, &p));
        ASSERT_TRUE(p == buf + 4095);
        ASSERT_OK(gm_slice(gm, 0x1800, 0, &p));
        ASSERT_ERROR(gm_slice(gm, 0x2000, 0, &p), EFAULT); /* one past the end */
        ASSERT_ERROR(gm_slice(gm, 0x2000, 1, &p), EFAULT);
        ASSERT_ERROR(gm_slice(gm, 0xfff, 1, &p), EFAULT);
        ASSERT_ERROR(gm_slice(gm, 0xfff, 2, &p), EFAULT);
        ASSERT_ERROR(gm_slice(gm, 0x1fff, 2, &p), EFAULT);
        ASSERT_ERROR(gm_slice(gm, 0x1000, 4097, &p), EFAULT);
        ASSERT_ERROR(gm_slice(gm, UINT64_MAX, 2, &p), EFAULT); /* wraps */
        ASSERT_ERROR(gm_slice(gm, 0x1000, UINT64_MAX, &p), EFAULT);
        gm_free(gm);
}

TEST(gm_read_write) {
        uint8_t buf[64] = {};
        GuestMem *gm = NULL;
        char out[6] = {};

        ASSERT_OK(gm_new_buffer(buf, 0, sizeof(buf), &gm));
        ASSERT_OK(gm_write(gm, 10, "hello", 5));
        ASSERT_OK(gm_read(gm, 10, out, 5));
        ASSERT_STREQ(out, "hello");
        ASSERT_ERROR(gm_write(gm, 60, "hello", 5), EFAULT);
        ASSERT_ERROR(gm_read(gm, 64, out, 1), EFAULT);
        ASSERT_ERROR(gm_offset(gm, 0, &(uint64_t){ 0 }), EFAULT); /* no memfd mapping */
        gm_free(gm);
}

TEST(gm_memfd_layout_splits_around_hole) {
        GuestMem *gm = NULL;
        void *p;
        uint64_t off;

        /* 3.5 GiB of sparse RAM: 3 GiB below the MMIO hole, 512 MiB from 4 GiB */
        if (gm_new(3584ULL << 20, false, &gm) < 0)
                TEST_SKIP("cannot map 3.5 GiB of sparse memory here");
        ASSERT_EQ(gm->n_regions, 2u);
        ASSERT_EQ(gm->regions[0].size, GM_LOW_RAM_MAX);
        ASSERT_EQ(gm->regions[1].gpa, GM_HIGH_RAM_START);
        ASSERT_OK(gm_slice(gm, GM_LOW_RAM_MAX - 1, 1, &p));
        ASSERT_ERROR(gm_slice(gm, GM_LOW_RAM_MAX - 1, 2, &p), EFAULT); /* into the hole */
        ASSERT_ERROR(gm_slice(gm, VM_MMIO_BASE, 4, &p), EFAULT);
        ASSERT_OK(gm_slice(gm, GM_HIGH_RAM_START, 4096, &p));
        ASSERT_OK(gm_offset(gm, GM_HIGH_RAM_START, &off));
        ASSERT_EQ(off, GM_LOW_RAM_MAX);
        ASSERT_ERROR(gm_slice(gm, GM_HIGH_RAM_START + (512ULL << 20), 1, &p), EFAULT);
        gm_free(gm);
}

TEST(gm_new_rejects_bad_sizes) {
        GuestMem *gm = NULL;
        ASSERT_ERROR(gm_new(0, false, &gm), EINVAL);
        ASSERT_ERROR(gm_new(4095, false, &gm), EINVAL);
        ASSERT_ERROR(gm_new(4096, true, &gm), EINVAL); /* hugepages need 2 MiB multiples */
        ASSERT_ERROR(gm_new_buffer((void *) 1, UINT64_MAX, 2, &gm), EINVAL);
}

TEST(hash64_streaming_matches_one_shot) {
        uint8_t data[1000];
        Hash64 h;

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) (i * 7);
        hash64_init(&h);
        hash64_update(&h, data, 3);
        hash64_update(&h, data + 3, 100);
        hash64_update(&h, data + 103, sizeof(data) - 103);
        ASSERT_EQ(hash64_final(&h), hash64(data, sizeof(data)));
        data[500] ^= 1;
        ASSERT_NE(hash64(data, sizeof(data)), hash64_final(&h));
        ASSERT_NE(hash64(data, 10), hash64(data, 11));
}
