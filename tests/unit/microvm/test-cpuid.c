/* SPDX-License-Identifier: Apache-2.0 */
#include "microvm-internal.h"
#include "tap.h"

TEST(cpuid_mask_parsing) {
        CpuidMask *m = NULL;
        size_t n = 0;
        char *msg = NULL;

        ASSERT_OK(cpuid_parse_mask("avx512f,x2apic,0x7:0:ebx:16", &m, &n, &msg));
        ASSERT_EQ(n, 3u);
        ASSERT_EQ(m[0].function, 7u);
        ASSERT_EQ(m[0].reg, 1);
        ASSERT_EQ(m[0].bit, 16);
        ASSERT_EQ(m[1].function, 1u);
        ASSERT_EQ(m[1].reg, 2);
        ASSERT_EQ(m[1].bit, 21);
        ASSERT_EQ(m[2].bit, 16);
        free(m);
        m = NULL;
        ASSERT_OK(cpuid_parse_mask("", &m, &n, NULL));
        ASSERT_EQ(n, 0u);
        ASSERT_ERROR(cpuid_parse_mask("avx9000", &m, &n, &msg), EINVAL);
        ASSERT_STRCONTAINS(msg, "avx9000");
        free(msg);
        ASSERT_ERROR(cpuid_parse_mask("7:0:exx:1", &m, &n, NULL), EINVAL);
        ASSERT_ERROR(cpuid_parse_mask("7:0:ebx:32", &m, &n, NULL), EINVAL);
        ASSERT_ERROR(cpuid_parse_mask("7:0:ebx:3junk", &m, &n, NULL), EINVAL);
}

TEST(cpuid_normalize_topology_and_masks) {
        CpuidEntry e[] = {
                { .function = 1, .ebx = 0xff0000ab, .ecx = 1U << 21, .edx = 0 },
                { .function = 4, .index = 0, .eax = 0x121 },
                { .function = 7, .index = 0, .ebx = 0xffffffff },
                { .function = 0xa, .eax = 0x07300805 },
                { .function = 0xb, .index = 0 },
                { .function = 0xb, .index = 1 },
                { .function = 0xb, .index = 2 },
        };
        CpuidMask m[] = { { 1, 0, 2, 21 }, { 7, 0, 1, 16 } };

        cpuid_normalize(e, ELEMENTSOF(e), 3, 4, m, 2);
        ASSERT_EQ(e[0].ebx >> 24, 3u); /* APIC ID */
        ASSERT_EQ((e[0].ebx >> 16) & 0xff, 4u); /* logical processors */
        ASSERT_EQ(e[0].ebx & 0xff, 0xabu);
        ASSERT_TRUE(e[0].ecx & (1U << 31)); /* hypervisor */
        ASSERT_FALSE(e[0].ecx & (1U << 21)); /* x2apic masked */
        ASSERT_TRUE(e[0].edx & (1U << 28)); /* HTT */
        ASSERT_EQ(e[1].eax >> 26, 3u); /* cores per package - 1 */
        ASSERT_FALSE(e[2].ebx & (1U << 16)); /* avx512f masked */
        ASSERT_TRUE(e[2].ebx & (1U << 17));
        ASSERT_EQ(e[3].eax, 0u); /* no PMU */
        ASSERT_EQ(e[4].edx, 3u);
        ASSERT_EQ(e[4].ebx, 1u);
        ASSERT_EQ(e[5].eax, 2u); /* 4 cores need 2 bits */
        ASSERT_EQ(e[5].ebx, 4u);
        ASSERT_EQ(e[6].ebx, 0u);
}
