/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The eBPF device program, checked without the kernel: decode every
 * instruction, check what the verifier would (known opcodes only, forward
 * jumps inside the program, every instruction reachable, ends in exit), then
 * run it in a small interpreter against the reference semantics for many rule
 * sets and every device/access combination.
 */
#include "cg-internal.h"
#include "tap.h"

/* Returns 0/1 (the program's verdict) or -1 on an instruction we do not expect. */
static int run(const struct bpf_insn *p, size_t n, const struct bpf_cgroup_dev_ctx *ctx) {
        uint64_t reg[11] = { 0 };
        size_t pc = 0;
        unsigned steps = 0;

        while (pc < n && steps++ < 1000000) {
                const struct bpf_insn *i = &p[pc++];
                switch (i->code) {
                case BPF_LDX | BPF_MEM | BPF_W:
                        if (i->src_reg != BPF_REG_1 || i->off < 0 || i->off > 8 || i->off % 4 || i->imm)
                                return -1;
                        reg[i->dst_reg] = ((const uint32_t *) ctx)[i->off / 4];
                        break;
                case BPF_ALU | BPF_MOV | BPF_X:
                        reg[i->dst_reg] = (uint32_t) reg[i->src_reg];
                        break;
                case BPF_ALU | BPF_AND | BPF_K:
                        reg[i->dst_reg] = (uint32_t) (reg[i->dst_reg] & (uint32_t) i->imm);
                        break;
                case BPF_ALU | BPF_RSH | BPF_K:
                        reg[i->dst_reg] = (uint32_t) reg[i->dst_reg] >> i->imm;
                        break;
                case BPF_ALU64 | BPF_MOV | BPF_K:
                        reg[i->dst_reg] = (uint64_t) (int64_t) i->imm;
                        break;
                case BPF_JMP32 | BPF_JNE | BPF_K:
                        if ((uint32_t) reg[i->dst_reg] != (uint32_t) i->imm)
                                pc += (size_t) i->off;
                        break;
                case BPF_JMP32 | BPF_JEQ | BPF_K:
                        if ((uint32_t) reg[i->dst_reg] == (uint32_t) i->imm)
                                pc += (size_t) i->off;
                        break;
                case BPF_JMP | BPF_JA:
                        pc += (size_t) i->off;
                        break;
                case BPF_JMP | BPF_EXIT:
                        return (int) reg[BPF_REG_0];
                default:
                        return -1;
                }
        }
        return -1;
}

static bool is_jump(const struct bpf_insn *i) {
        return i->code == (BPF_JMP32 | BPF_JNE | BPF_K) || i->code == (BPF_JMP32 | BPF_JEQ | BPF_K) ||
                        i->code == (BPF_JMP | BPF_JA);
}

/* What the kernel verifier checks about control flow: in-bounds forward jumps, no dead code, exit at the end. */
static void check_shape(const struct bpf_insn *p, size_t n) {
        _cleanup_free_ bool *reach = calloc(n, sizeof(bool));
        ASSERT_NOT_NULL(reach);
        ASSERT_TRUE(n > 0);
        reach[0] = true;
        for (size_t pc = 0; pc < n; pc++) {
                if (!reach[pc])
                        tap_fail(__FILE__, __LINE__, "instruction %zu is unreachable", pc);
                if (p[pc].code == (BPF_JMP | BPF_EXIT))
                        continue;
                if (is_jump(&p[pc])) {
                        ASSERT_TRUE(p[pc].off >= 0);
                        ASSERT_TRUE(pc + 1 + (size_t) p[pc].off < n);
                        reach[pc + 1 + (size_t) p[pc].off] = true;
                        if (p[pc].code == (BPF_JMP | BPF_JA))
                                continue;
                }
                ASSERT_TRUE(pc + 1 < n);
                reach[pc + 1] = true;
        }
        ASSERT_EQ(p[n - 1].code, BPF_JMP | BPF_EXIT);
}

static void check_against_reference(const CgDeviceRule *rules, size_t n_rules) {
        _cleanup_free_ struct bpf_insn *p = NULL;
        size_t n;
        const char types[] = { 'b', 'c' };
        const uint32_t majors[] = { 1, 8, 9, 0xfffffff0u }, minors[] = { 3, 5, 7 };

        ASSERT_OK(cg_bpf_device_program(rules, n_rules, &p, &n));
        check_shape(p, n);
        for (size_t t = 0; t < ELEMENTSOF(types); t++)
                for (size_t a = 0; a < ELEMENTSOF(majors); a++)
                        for (size_t b = 0; b < ELEMENTSOF(minors); b++)
                                for (unsigned acc = 1; acc <= 7; acc++) {
                                        struct bpf_cgroup_dev_ctx ctx = {
                                                .access_type = (acc << 16) |
                                                                (types[t] == 'b' ? BPF_DEVCG_DEV_BLOCK
                                                                                 : BPF_DEVCG_DEV_CHAR),
                                                .major = majors[a],
                                                .minor = minors[b],
                                        };
                                        int want = cg_devices_decide(
                                                        rules, n_rules, types[t], majors[a], minors[b], acc);
                                        int got = run(p, n, &ctx);
                                        if (got != want)
                                                tap_fail(__FILE__, __LINE__,
                                                         "%c %u:%u access %u: program says %d, rules say %d",
                                                         types[t], majors[a], minors[b], acc, got, want);
                                }
}

TEST(prologue_decodes) {
        _cleanup_free_ struct bpf_insn *p = NULL;
        size_t n;

        ASSERT_OK(cg_bpf_device_program(NULL, 0, &p, &n));
        /* r2 = ctx->access_type; r3 = r2 & 0xffff; r4 = r2 >> 16; r5 = ctx->major; r6 = ctx->minor */
        ASSERT_EQ(p[0].code, BPF_LDX | BPF_MEM | BPF_W);
        ASSERT_EQ((int) p[0].dst_reg, BPF_REG_2);
        ASSERT_EQ((int) p[0].src_reg, BPF_REG_1);
        ASSERT_EQ(p[0].off, 0);
        ASSERT_EQ(p[2].code, BPF_ALU | BPF_AND | BPF_K);
        ASSERT_EQ(p[2].imm, 0xffff);
        ASSERT_EQ(p[4].code, BPF_ALU | BPF_RSH | BPF_K);
        ASSERT_EQ(p[4].imm, 16);
        ASSERT_EQ(p[5].off, 4);
        ASSERT_EQ((int) p[5].dst_reg, BPF_REG_5);
        ASSERT_EQ(p[6].off, 8);
        ASSERT_EQ((int) p[6].dst_reg, BPF_REG_6);
        for (size_t i = 0; i < n; i++) /* no reserved fields in use */
                if (p[i].code == (BPF_LDX | BPF_MEM | BPF_W))
                        ASSERT_EQ(p[i].imm, 0);
        check_shape(p, n);
        /* no rules: everything denied */
        struct bpf_cgroup_dev_ctx ctx = { .access_type = (BPF_DEVCG_ACC_READ << 16) | BPF_DEVCG_DEV_CHAR, 1, 3 };
        ASSERT_EQ(run(p, n, &ctx), 0);
}

TEST(one_allow_rule_decodes) {
        CgDeviceRule r = { .allow = true, .type = 'c', .major = 1, .minor = 3, .access = "r" };
        _cleanup_free_ struct bpf_insn *p = NULL;
        size_t n, i = 7;

        ASSERT_OK(cg_bpf_device_program(&r, 1, &p, &n));
        /* m chain: not requested -> skip; requested -> no rule names m -> deny */
        ASSERT_EQ(p[i].code, BPF_ALU | BPF_MOV | BPF_X);
        ASSERT_EQ(p[i + 1].imm, BPF_DEVCG_ACC_MKNOD);
        ASSERT_EQ(p[i + 2].code, BPF_JMP32 | BPF_JEQ | BPF_K);
        ASSERT_EQ(p[i + 3].code, BPF_ALU64 | BPF_MOV | BPF_K);
        ASSERT_EQ(p[i + 3].imm, 0);
        ASSERT_EQ(p[i + 4].code, BPF_JMP | BPF_EXIT);
        ASSERT_EQ(p[i + 2].off, 2);
        i += 5;
        /* r chain: type == char, major == 1, minor == 3 -> allowed (jump to the next chain) */
        ASSERT_EQ(p[i + 1].imm, BPF_DEVCG_ACC_READ);
        ASSERT_EQ(p[i + 3].code, BPF_JMP32 | BPF_JNE | BPF_K);
        ASSERT_EQ((int) p[i + 3].dst_reg, BPF_REG_3);
        ASSERT_EQ(p[i + 3].imm, BPF_DEVCG_DEV_CHAR);
        ASSERT_EQ((int) p[i + 4].dst_reg, BPF_REG_5);
        ASSERT_EQ(p[i + 4].imm, 1);
        ASSERT_EQ((int) p[i + 5].dst_reg, BPF_REG_6);
        ASSERT_EQ(p[i + 5].imm, 3);
        ASSERT_EQ(p[i + 6].code, BPF_JMP | BPF_JA);
        /* the end: r0 = 1; exit */
        ASSERT_EQ(p[n - 2].code, BPF_ALU64 | BPF_MOV | BPF_K);
        ASSERT_EQ(p[n - 2].imm, 1);
        check_against_reference(&r, 1);
}

TEST(oci_default_rules) {
        CgDeviceRule rules[] = {
                { .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
                { .allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm" },
                { .allow = true, .type = 'c', .major = 1, .minor = 5, .access = "rwm" },
                { .allow = true, .type = 'c', .major = 1, .minor = 7, .access = "rwm" },
                { .allow = true, .type = 'c', .major = 5, .minor = 0, .access = "rwm" },
                { .allow = true, .type = 'c', .major = 136, .minor = -1, .access = "rwm" },
                { .allow = true, .type = 'c', .major = -1, .minor = -1, .access = "m" },
                { .allow = true, .type = 'b', .major = -1, .minor = -1, .access = "m" },
        };
        check_against_reference(rules, ELEMENTSOF(rules));
}

TEST(allow_all_then_deny) {
        CgDeviceRule rules[] = {
                { .allow = true, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
                { .allow = false, .type = 'b', .major = 8, .minor = -1, .access = "rw" },
                { .allow = false, .type = 'c', .major = -1, .minor = 5, .access = "w" },
        };
        check_against_reference(rules, ELEMENTSOF(rules));
}

TEST(unconditional_rule_cuts_dead_code) {
        /* rules before an unconditional one must not be emitted (the verifier rejects dead code) */
        CgDeviceRule rules[] = {
                { .allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm" },
                { .allow = true, .type = 'b', .major = 8, .minor = 0, .access = "r" },
                { .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
        };
        _cleanup_free_ struct bpf_insn *p = NULL;
        size_t n;

        ASSERT_OK(cg_bpf_device_program(rules, 3, &p, &n));
        for (size_t i = 0; i < n; i++)
                ASSERT_FALSE(p[i].code == (BPF_JMP32 | BPF_JNE | BPF_K) && p[i].dst_reg == BPF_REG_5);
        check_against_reference(rules, 3);
}

TEST(random_rule_sets) {
        const char types[] = { 'a', 'b', 'c' };
        const int64_t majors[] = { -1, 1, 8, 0xfffffff0 }, minors[] = { -1, 3, 5 };
        const char *accesses[] = { "r", "w", "m", "rw", "rm", "wm", "rwm" };
        unsigned seed = 12345;

        for (int round = 0; round < 400; round++) {
                CgDeviceRule rules[10];
                size_t n = (size_t) (rand_r(&seed) % 10);
                for (size_t i = 0; i < n; i++) {
                        rules[i] = (CgDeviceRule){
                                .allow = rand_r(&seed) % 2,
                                .type = types[rand_r(&seed) % 3],
                                .major = majors[rand_r(&seed) % 4],
                                .minor = minors[rand_r(&seed) % 3],
                        };
                        snprintf(rules[i].access, sizeof rules[i].access, "%s", accesses[rand_r(&seed) % 7]);
                }
                check_against_reference(rules, n);
        }
}

TEST(bad_rules) {
        CgDeviceRule r = { .allow = true, .type = 'x', .major = 1, .minor = 3, .access = "r" };
        _cleanup_free_ CgDeviceRule *many = NULL;
        struct bpf_insn *p = NULL;
        size_t n;

        ASSERT_ERROR(cg_bpf_device_program(&r, 1, &p, &n), EINVAL);
        r.type = 'c';
        r.access[0] = 'x';
        ASSERT_ERROR(cg_bpf_device_program(&r, 1, &p, &n), EINVAL);
        many = calloc(CG_BPF_MAX_RULES + 1, sizeof(CgDeviceRule));
        ASSERT_NOT_NULL(many);
        ASSERT_ERROR(cg_bpf_device_program(many, CG_BPF_MAX_RULES + 1, &p, &n), E2BIG);
        ASSERT_NULL(p);
}

TEST(max_rules_fit_jump_range) {
        _cleanup_free_ CgDeviceRule *many = calloc(CG_BPF_MAX_RULES, sizeof(CgDeviceRule));
        _cleanup_free_ struct bpf_insn *p = NULL;
        size_t n;

        ASSERT_NOT_NULL(many);
        for (size_t i = 0; i < CG_BPF_MAX_RULES; i++)
                many[i] = (CgDeviceRule){
                        .allow = i % 2, .type = 'c', .major = (int64_t) i, .minor = 1, .access = "rwm"
                };
        ASSERT_OK(cg_bpf_device_program(many, CG_BPF_MAX_RULES, &p, &n));
        check_shape(p, n);
        struct bpf_cgroup_dev_ctx ctx = { .access_type = (BPF_DEVCG_ACC_READ << 16) | BPF_DEVCG_DEV_CHAR,
                                          4095,
                                          1 };
        ASSERT_EQ(run(p, n, &ctx), 1);
        ctx.major = 4094;
        ASSERT_EQ(run(p, n, &ctx), 0);
}
