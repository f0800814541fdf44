/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup v2 has no devices.allow/deny: device access is decided by a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup
 * (Documentation/admin-guide/cgroup-v2.rst, "Device controller"). We write the
 * program as raw instructions and load it with bpf(2); no libbpf.
 *
 * The program sees struct bpf_cgroup_dev_ctx { access_type, major, minor },
 * access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*, and returns 1 to
 * allow. Rules follow the runtime-spec: in order, later rules win. Since the
 * kernel may ask for several access bits at once (open(O_RDWR) asks for r and
 * w), each requested bit is decided on its own by the last rule that names it
 * and matches the device, and every requested bit must be allowed.
 *
 * Register use:  r1 ctx, r2 access_type, r3 device type, r4 access bits,
 *                r5 major, r6 minor, r7 scratch, r0 verdict.
 */
#include <sys/syscall.h>

#include "cg-internal.h"

#define INSN(c, d, s, o, i) \
        ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

typedef struct Prog {
        struct bpf_insn *insns;
        size_t n, size;
        bool oom;
} Prog;

static size_t emit(Prog *p, struct bpf_insn insn) {
        if (p->n == p->size) {
                size_t ns = p->size ? p->size * 2 : 64;
                struct bpf_insn *ni = realloc(p->insns, ns * sizeof(*ni));
                if (!ni) {
                        p->oom = true;
                        return p->n;
                }
                p->insns = ni;
                p->size = ns;
        }
        p->insns[p->n] = insn;
        return p->n++;
}

/* Point the jump at index at to target (a later instruction). */
static int patch(Prog *p, size_t at, size_t target) {
        ptrdiff_t off = (ptrdiff_t) target - (ptrdiff_t) at - 1;
        if (p->oom)
                return -ENOMEM;
        if (off < 0 || off > INT16_MAX)
                return -E2BIG;
        p->insns[at].off = (int16_t) off;
        return 0;
}

static unsigned rule_access(const CgDeviceRule *r) {
        unsigned m = 0;
        for (size_t i = 0; i < sizeof r->access && r->access[i]; i++)
                m |= r->access[i] == 'm'              ? BPF_DEVCG_ACC_MKNOD
                                : r->access[i] == 'r' ? BPF_DEVCG_ACC_READ
                                                      : BPF_DEVCG_ACC_WRITE;
        return m;
}

/* One rule's test for one access bit. Returns true when the rule matches unconditionally. */
static int emit_rule(Prog *p, const CgDeviceRule *rule, size_t **fix_next_bit, size_t *n_fix) {
        size_t checks[3], n_checks = 0;
        bool any = rule->type == 'a' && rule->major < 0 && rule->minor < 0;

        if (rule->type != 'a')
                checks[n_checks++] = emit(
                                p,
                                INSN(BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_3, 0, 0,
                                     rule->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
        if (rule->major >= 0)
                checks[n_checks++] = emit(
                                p,
                                INSN(BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_5, 0, 0,
                                     (int32_t) (uint32_t) rule->major));
        if (rule->minor >= 0)
                checks[n_checks++] = emit(
                                p,
                                INSN(BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_6, 0, 0,
                                     (int32_t) (uint32_t) rule->minor));
        if (rule->allow) {
                size_t *nf = realloc(*fix_next_bit, sizeof(size_t) * (*n_fix + 1));
                if (!nf)
                        return -ENOMEM;
                *fix_next_bit = nf;
                nf[(*n_fix)++] = emit(p, INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0));
        } else {
                emit(p, INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
                emit(p, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        }
        for (size_t i = 0; i < n_checks; i++) {
                int r = patch(p, checks[i], p->n);
                if (r < 0)
                        return r;
        }
        return any;
}

static int emit_bit_chain(Prog *p, const CgDeviceRule *rules, size_t n, unsigned bit) {
        _cleanup_free_ size_t *fix = NULL;
        size_t n_fix = 0;
        bool ended = false;
        int r;

        /* if (!(access & bit)) goto next_bit */
        emit(p, INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_4, 0, 0));
        emit(p, INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_7, 0, 0, (int32_t) bit));
        fix = malloc(sizeof(size_t));
        if (!fix)
                return -ENOMEM;
        fix[n_fix++] = emit(p, INSN(BPF_JMP32 | BPF_JEQ | BPF_K, BPF_REG_7, 0, 0, 0));

        /* Last rule first: the first match decides. Rules after an unconditional one are unreachable (and
         * the verifier rejects unreachable code), so stop there. */
        for (size_t i = n; i-- > 0 && !ended;) {
                if (!(rule_access(&rules[i]) & bit))
                        continue;
                r = emit_rule(p, &rules[i], &fix, &n_fix);
                if (r < 0)
                        return r;
                ended = r > 0;
        }
        if (!ended) {
                /* No rule names this bit for this device: deny. */
                emit(p, INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
                emit(p, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        }
        for (size_t i = 0; i < n_fix; i++) {
                r = patch(p, fix[i], p->n);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cg_bpf_device_program(const CgDeviceRule *rules, size_t n, struct bpf_insn **ret, size_t *ret_n) {
        static const unsigned bits[] = { BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE };
        Prog p = {};
        int r;

        if (n > CG_BPF_MAX_RULES)
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                if (cg_device_rule_valid(&rules[i]) < 0)
                        return -EINVAL;

        emit(&p, INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0));
        emit(&p, INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0));
        emit(&p, INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_3, 0, 0, 0xffff));
        emit(&p, INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_2, 0, 0));
        emit(&p, INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_4, 0, 0, 16));
        emit(&p, INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 4, 0));
        emit(&p, INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_6, BPF_REG_1, 8, 0));
        for (size_t b = 0; b < ELEMENTSOF(bits); b++) {
                r = emit_bit_chain(&p, rules, n, bits[b]);
                if (r < 0)
                        goto fail;
        }
        emit(&p, INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1));
        emit(&p, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        if (p.oom) {
                r = -ENOMEM;
                goto fail;
        }
        *ret = p.insns;
        *ret_n = p.n;
        return 0;
fail:
        free(p.insns);
        return r;
}

static int sys_bpf(int cmd, union bpf_attr *attr) {
        return (int) syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int prog_load(const struct bpf_insn *insns, size_t n, char **ret_log) {
        union bpf_attr attr = {};
        int fd;

        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = (uint64_t) (uintptr_t) insns;
        attr.insn_cnt = (uint32_t) n;
        attr.license = (uint64_t) (uintptr_t) "Apache-2.0";
        fd = sys_bpf(BPF_PROG_LOAD, &attr);
        if (fd >= 0)
                return fd;
        fd = -errno;
        if (ret_log && (fd == -EINVAL || fd == -EACCES)) {
                /* Load again with the verifier log, so callers can say why. */
                size_t size = 64 * 1024;
                char *log = calloc(1, size);
                if (log) {
                        attr.log_buf = (uint64_t) (uintptr_t) log;
                        attr.log_size = (uint32_t) size;
                        attr.log_level = 1;
                        int fd2 = sys_bpf(BPF_PROG_LOAD, &attr);
                        if (fd2 >= 0) {
                                free(log);
                                return fd2;
                        }
                        *ret_log = log;
                }
        }
        return fd;
}

/* IDs of the BPF_CGROUP_DEVICE programs attached directly to the cgroup. */
static int query_attached(int cgfd, uint32_t *ids, uint32_t cap, uint32_t *ret_n) {
        union bpf_attr attr = {};

        attr.query.target_fd = (uint32_t) cgfd;
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = (uint64_t) (uintptr_t) ids;
        attr.query.prog_cnt = cap;
        if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
                return -errno;
        *ret_n = MIN(attr.query.prog_cnt, cap);
        return 0;
}

static int detach_id(int cgfd, uint32_t id) {
        _cleanup_close_ int fd = -EBADF;
        union bpf_attr attr = {};

        attr.prog_id = id;
        fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        memset(&attr, 0, sizeof attr);
        attr.target_fd = (uint32_t) cgfd;
        attr.attach_bpf_fd = (uint32_t) fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        if (sys_bpf(BPF_PROG_DETACH, &attr) < 0)
                return errno == ENOENT ? 0 : -errno;
        return 0;
}

static int attach(int cgfd, int progfd, uint32_t flags) {
        union bpf_attr attr = {};

        attr.target_fd = (uint32_t) cgfd;
        attr.attach_bpf_fd = (uint32_t) progfd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        attr.attach_flags = flags;
        return RET_NERRNO(sys_bpf(BPF_PROG_ATTACH, &attr));
}

int cg_bpf_device_attach(const char *dir, const struct bpf_insn *insns, size_t n, char **ret_log) {
        _cleanup_close_ int cgfd = -EBADF, progfd = -EBADF;
        uint32_t old[64], n_old = 0;
        int r;

        cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgfd < 0)
                return -errno;
        progfd = prog_load(insns, n, ret_log);
        if (progfd < 0)
                return progfd;
        r = query_attached(cgfd, old, ELEMENTSOF(old), &n_old);
        if (r < 0)
                return r;

        /*
         * Attach the new program next to the old ones first, then detach the old
         * ones: with BPF_F_ALLOW_MULTI every program must allow, so during the swap
         * the cgroup gets at most the intersection of old and new rules, never more.
         */
        r = attach(cgfd, progfd, BPF_F_ALLOW_MULTI);
        if (r == -EPERM && n_old > 0) {
                /* Someone attached without ALLOW_MULTI: replace it. */
                for (uint32_t i = 0; i < n_old; i++)
                        (void) detach_id(cgfd, old[i]);
                n_old = 0;
                r = attach(cgfd, progfd, BPF_F_ALLOW_MULTI);
        }
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < n_old; i++) {
                r = detach_id(cgfd, old[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}
