/* SPDX-License-Identifier: Apache-2.0 */
/* The TLV container of snapshot state files, fed truncated and lying input. */
#include "microvm-internal.h"
#include "tap.h"

TEST(tlv_roundtrip) {
        Buf b = {};
        const uint8_t *p;
        size_t n;
        uint64_t v = 0x1122334455667788ULL, out;

        buf_put_tlv(&b, 1, "abc", 3);
        buf_put_tlv(&b, 2, &v, sizeof(v));
        buf_put_tlv(&b, 3, NULL, 0);
        ASSERT_FALSE(b.oom);
        ASSERT_OK(tlv_find(b.data, b.len, 1, &p, &n));
        ASSERT_EQ(n, 3u);
        ASSERT_EQ(memcmp(p, "abc", 3), 0);
        ASSERT_OK(tlv_get(b.data, b.len, 2, &out, sizeof(out)));
        ASSERT_EQ(out, v);
        ASSERT_OK(tlv_find(b.data, b.len, 3, &p, &n));
        ASSERT_EQ(n, 0u);
        ASSERT_ERROR(tlv_find(b.data, b.len, 4, &p, &n), ENOENT);
        ASSERT_ERROR(tlv_get(b.data, b.len, 1, &out, sizeof(out)), EBADMSG); /* wrong size */
        buf_done(&b);
}

TEST(tlv_rejects_truncated_and_lying_lengths) {
        Buf b = {};
        const uint8_t *p;
        size_t n;
        uint32_t lie[2] = { 9, 0xffffffff };

        buf_put_tlv(&b, 1, "abcdef", 6);
        ASSERT_ERROR(tlv_find(b.data, b.len - 1, 1, &p, &n), EBADMSG);
        ASSERT_ERROR(tlv_find(b.data, 5, 1, &p, &n), EBADMSG);
        buf_put(&b, lie, sizeof(lie));
        ASSERT_ERROR(tlv_find(b.data, b.len, 9, &p, &n), EBADMSG);
        ASSERT_OK(tlv_find(b.data, b.len, 1, &p, &n)); /* found before the bad record */
        buf_done(&b);
}
