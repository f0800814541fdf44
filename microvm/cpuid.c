/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPUID normalisation: start from what KVM supports and make each vCPU
 * describe the machine we build (APIC IDs, one package of n cores with one
 * thread each, "hypervisor" set, no PMU), then clear the bits the user masks.
 */
#include "microvm-internal.h"

typedef struct CpuFeature {
        const char *name;
        uint32_t function, index;
        uint8_t reg, bit;
} CpuFeature;

enum { EAX, EBX, ECX, EDX };

static const CpuFeature features[] = {
        { "sse3", 1, 0, ECX, 0 },
        { "pclmulqdq", 1, 0, ECX, 1 },
        { "vmx", 1, 0, ECX, 5 },
        { "ssse3", 1, 0, ECX, 9 },
        { "fma", 1, 0, ECX, 12 },
        { "cx16", 1, 0, ECX, 13 },
        { "pcid", 1, 0, ECX, 17 },
        { "sse4_1", 1, 0, ECX, 19 },
        { "sse4_2", 1, 0, ECX, 20 },
        { "x2apic", 1, 0, ECX, 21 },
        { "movbe", 1, 0, ECX, 22 },
        { "popcnt", 1, 0, ECX, 23 },
        { "tsc_deadline", 1, 0, ECX, 24 },
        { "aes", 1, 0, ECX, 25 },
        { "xsave", 1, 0, ECX, 26 },
        { "avx", 1, 0, ECX, 28 },
        { "f16c", 1, 0, ECX, 29 },
        { "rdrand", 1, 0, ECX, 30 },
        { "hypervisor", 1, 0, ECX, 31 },
        { "mtrr", 1, 0, EDX, 12 },
        { "pge", 1, 0, EDX, 13 },
        { "pat", 1, 0, EDX, 16 },
        { "clflush", 1, 0, EDX, 19 },
        { "mmx", 1, 0, EDX, 23 },
        { "sse", 1, 0, EDX, 25 },
        { "sse2", 1, 0, EDX, 26 },
        { "fsgsbase", 7, 0, EBX, 0 },
        { "bmi1", 7, 0, EBX, 3 },
        { "hle", 7, 0, EBX, 4 },
        { "avx2", 7, 0, EBX, 5 },
        { "smep", 7, 0, EBX, 7 },
        { "bmi2", 7, 0, EBX, 8 },
        { "erms", 7, 0, EBX, 9 },
        { "invpcid", 7, 0, EBX, 10 },
        { "rtm", 7, 0, EBX, 11 },
        { "avx512f", 7, 0, EBX, 16 },
        { "avx512dq", 7, 0, EBX, 17 },
        { "rdseed", 7, 0, EBX, 18 },
        { "adx", 7, 0, EBX, 19 },
        { "smap", 7, 0, EBX, 20 },
        { "avx512ifma", 7, 0, EBX, 21 },
        { "clflushopt", 7, 0, EBX, 23 },
        { "clwb", 7, 0, EBX, 24 },
        { "avx512cd", 7, 0, EBX, 28 },
        { "sha_ni", 7, 0, EBX, 29 },
        { "avx512bw", 7, 0, EBX, 30 },
        { "avx512vl", 7, 0, EBX, 31 },
        { "avx512vbmi", 7, 0, ECX, 1 },
        { "umip", 7, 0, ECX, 2 },
        { "pku", 7, 0, ECX, 3 },
        { "waitpkg", 7, 0, ECX, 5 },
        { "avx512_vbmi2", 7, 0, ECX, 6 },
        { "gfni", 7, 0, ECX, 8 },
        { "vaes", 7, 0, ECX, 9 },
        { "vpclmulqdq", 7, 0, ECX, 10 },
        { "avx512_vnni", 7, 0, ECX, 11 },
        { "avx512_bitalg", 7, 0, ECX, 12 },
        { "avx512_vpopcntdq", 7, 0, ECX, 14 },
        { "la57", 7, 0, ECX, 16 },
        { "rdpid", 7, 0, ECX, 22 },
        { "fsrm", 7, 0, EDX, 4 },
        { "serialize", 7, 0, EDX, 14 },
        { "amx_bf16", 7, 0, EDX, 22 },
        { "avx512_fp16", 7, 0, EDX, 23 },
        { "amx_tile", 7, 0, EDX, 24 },
        { "amx_int8", 7, 0, EDX, 25 },
        { "xsaveopt", 0xd, 1, EAX, 0 },
        { "xsavec", 0xd, 1, EAX, 1 },
        { "xsaves", 0xd, 1, EAX, 3 },
        { "lahf_lm", 0x80000001, 0, ECX, 0 },
        { "abm", 0x80000001, 0, ECX, 5 },
        { "sse4a", 0x80000001, 0, ECX, 6 },
        { "prefetchw", 0x80000001, 0, ECX, 8 },
        { "nx", 0x80000001, 0, EDX, 20 },
        { "pdpe1gb", 0x80000001, 0, EDX, 26 },
        { "rdtscp", 0x80000001, 0, EDX, 27 },
};

static int parse_reg(const char *s) {
        static const char *const names[] = { "eax", "ebx", "ecx", "edx" };
        for (int i = 0; i < 4; i++)
                if (streq(s, names[i]))
                        return i;
        return -EINVAL;
}

/* "0x7:0:ebx:16" */
static int parse_raw(const char *s, CpuidMask *m) {
        char reg[8];
        unsigned long fn, idx, bit;
        int n = 0, r;

        if (sscanf(s, "%li:%li:%7[a-z]:%lu%n", (long *) &fn, (long *) &idx, reg, &bit, &n) != 4 ||
            (size_t) n != strlen(s))
                return -EINVAL;
        r = parse_reg(reg);
        if (r < 0 || bit > 31 || fn > UINT32_MAX || idx > UINT32_MAX)
                return -EINVAL;
        *m = (CpuidMask){
                .function = (uint32_t) fn, .index = (uint32_t) idx, .reg = (uint8_t) r, .bit = (uint8_t) bit
        };
        return 0;
}

int cpuid_parse_mask(const char *list, CpuidMask **ret, size_t *ret_n, char **error_msg) {
        _cleanup_free_ char *copy = NULL;
        _cleanup_free_ CpuidMask *m = NULL;
        size_t n = 0, cap = 0;
        char *save = NULL;

        if (!list || !*list) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        copy = strdup(list);
        if (!copy)
                return -ENOMEM;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                CpuidMask one;
                bool found = false;

                for (size_t i = 0; i < ELEMENTSOF(features); i++)
                        if (streq(tok, features[i].name)) {
                                one = (CpuidMask){ features[i].function, features[i].index, features[i].reg,
                                                   features[i].bit };
                                found = true;
                        }
                if (!found && parse_raw(tok, &one) < 0) {
                        if (error_msg &&
                            asprintf(error_msg,
                                     "unknown CPUID feature '%s' (use a name such as "
                                     "avx512f, or LEAF:SUBLEAF:REG:BIT)",
                                     tok) < 0)
                                *error_msg = NULL;
                        return -EINVAL;
                }
                if (n == cap) {
                        CpuidMask *p = reallocarray(m, cap = cap ? cap * 2 : 8, sizeof(*m));
                        if (!p)
                                return -ENOMEM;
                        m = p;
                }
                m[n++] = one;
        }
        *ret = TAKE_PTR(m);
        *ret_n = n;
        return 0;
}

static uint32_t *reg_of(CpuidEntry *e, uint8_t reg) {
        return reg == EAX ? &e->eax : reg == EBX ? &e->ebx : reg == ECX ? &e->ecx : &e->edx;
}

static unsigned order(unsigned n) {
        unsigned s = 0;
        while ((1U << s) < n)
                s++;
        return s;
}

void cpuid_normalize(CpuidEntry *e, size_t n, unsigned cpu, unsigned n_cpus, const CpuidMask *m, size_t n_m) {
        for (size_t i = 0; i < n; i++) {
                CpuidEntry *c = &e[i];

                switch (c->function) {
                case 1:
                        c->ebx = (cpu << 24) | ((n_cpus & 0xff) << 16) | (8 << 8) | (c->ebx & 0xff);
                        c->ecx |= 1U << 31; /* hypervisor present */
                        if (n_cpus > 1)
                                c->edx |= 1U << 28; /* HTT: the logical count in EBX is valid */
                        break;
                case 4:
                        if (c->eax & 0x1f) /* a cache level: n cores share the package */
                                c->eax = (c->eax & 0x3ffffff) | ((n_cpus - 1) << 26);
                        break;
                case 0xa:
                        c->eax = c->ebx = c->ecx = c->edx = 0;
                        break; /* no PMU */
                case 0xb:
                case 0x1f:
                        c->edx = cpu;
                        if (c->index == 0) {
                                c->eax = 0;
                                c->ebx = 1;
                                c->ecx = 1 << 8; /* SMT level */
                        } else if (c->index == 1) {
                                c->eax = order(n_cpus);
                                c->ebx = n_cpus;
                                c->ecx = (2 << 8) | 1; /* core level */
                        } else {
                                c->eax = c->ebx = 0;
                                c->ecx = c->index;
                        }
                        break;
                default:
                        break;
                }
                for (size_t k = 0; k < n_m; k++)
                        if (m[k].function == c->function && m[k].index == c->index)
                                *reg_of(c, m[k].reg) &= ~(1U << m[k].bit);
        }
}
