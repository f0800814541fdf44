/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-vCPU half of the KVM interface: initial 64-bit state for the boot
 * protocol, the run loop's exit decoding, and state save/restore.
 *
 * Hosts differ in what they let a guest have: on PVM-backed KVM some MSRs are
 * refused and the instruction emulator lacks some instructions. MSRs are
 * therefore written one at a time and refusals are skipped (debug log), and
 * an emulation failure ends the VM with a message naming RIP.
 */
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "microvm-internal.h"

#define X86_CR0_PE 0x1ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_NE 0x20ULL
#define X86_CR0_PG 0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7
#define BOOT_STACK 0x8ff0ULL

enum {
        TAG_REGS = 1,
        TAG_SREGS,
        TAG_FPU,
        TAG_XSAVE,
        TAG_XCRS,
        TAG_LAPIC,
        TAG_MP_STATE,
        TAG_EVENTS,
        TAG_DEBUGREGS,
        TAG_MSRS,
};

/* MSRs we set at boot: SYSENTER/SYSCALL zeroed, fast strings on, MTRRs write-back (as firmware leaves them). */
static const struct {
        uint32_t index;
        uint64_t value;
} boot_msrs[] = {
        { 0x174, 0 }, /* IA32_SYSENTER_CS */
        { 0x175, 0 }, /* IA32_SYSENTER_ESP */
        { 0x176, 0 }, /* IA32_SYSENTER_EIP */
        { 0xc0000081, 0 }, /* STAR */
        { 0xc0000082, 0 }, /* LSTAR */
        { 0xc0000083, 0 }, /* CSTAR */
        { 0xc0000084, 0 }, /* SYSCALL_MASK */
        { 0xc0000102, 0 }, /* KERNEL_GS_BASE */
        { 0x10, 0 }, /* TSC */
        { 0x1a0, 1 }, /* MISC_ENABLE: fast strings */
        { 0x2ff, (1 << 11) | 6 }, /* MTRRdefType: enabled, write-back */
};

/* struct kvm_msrs with one entry, without a flexible array member inside a struct */
typedef union OneMsr {
        struct kvm_msrs hdr;
        uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
} OneMsr;

static int set_msr(KvmVcpu *v, uint32_t index, uint64_t value) {
        OneMsr m = {};
        int r;

        m.hdr.nmsrs = 1;
        m.hdr.entries[0] = (struct kvm_msr_entry){ .index = index, .data = value };
        r = ioctl(v->fd, KVM_SET_MSRS, &m);

        if (r < 0)
                return -errno;
        return r == 1 ? 0 : -EPERM;
}

static int get_msr(KvmVcpu *v, uint32_t index, uint64_t *ret) {
        OneMsr m = {};
        int r;

        m.hdr.nmsrs = 1;
        m.hdr.entries[0].index = index;
        r = ioctl(v->fd, KVM_GET_MSRS, &m);
        if (r < 0)
                return -errno;
        if (r != 1)
                return -EPERM;
        *ret = m.hdr.entries[0].data;
        return 0;
}

int kvm_vcpu_new(KvmVm *k, unsigned index, KvmVcpu *ret) {
        KvmVcpu v = { .fd = -EBADF, .kvm_fd = k->kvm_fd, .index = index, .run_size = k->run_size };

        v.fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long) index);
        if (v.fd < 0)
                return -errno;
        (void) fcntl(v.fd, F_SETFD, FD_CLOEXEC);
        v.run = mmap(NULL, (size_t) k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v.fd, 0);
        if (v.run == MAP_FAILED) {
                int r = -errno;
                safe_close(v.fd);
                return r;
        }
        *ret = v;
        return 0;
}

void kvm_vcpu_close(KvmVcpu *v) {
        if (v->run && v->run != MAP_FAILED)
                munmap(v->run, (size_t) v->run_size);
        v->run = NULL;
        v->fd = safe_close(v->fd);
}

int kvm_vcpu_set_cpuid(KvmVcpu *v, const CpuidEntry *e, size_t n) {
        _cleanup_free_ struct kvm_cpuid2 *c = NULL;

        c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
        if (!c)
                return -ENOMEM;
        c->nent = (uint32_t) n;
        for (size_t i = 0; i < n; i++)
                c->entries[i] = (struct kvm_cpuid_entry2){ .function = e[i].function,
                                                           .index = e[i].index,
                                                           .flags = e[i].flags,
                                                           .eax = e[i].eax,
                                                           .ebx = e[i].ebx,
                                                           .ecx = e[i].ecx,
                                                           .edx = e[i].edx };
        return RET_NERRNO(ioctl(v->fd, KVM_SET_CPUID2, c));
}

static int setup_lapic(KvmVcpu *v) {
        struct kvm_lapic_state l;
        uint32_t lvt;

        if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
                return -errno;
        /* LINT0 = ExtINT (the PIC), LINT1 = NMI, as the MP spec's virtual-wire mode */
        memcpy(&lvt, l.regs + APIC_LVT0, 4);
        lvt = (lvt & ~0x700U) | (APIC_MODE_EXTINT << 8);
        memcpy(l.regs + APIC_LVT0, &lvt, 4);
        memcpy(&lvt, l.regs + APIC_LVT1, 4);
        lvt = (lvt & ~0x700U) | (APIC_MODE_NMI << 8);
        memcpy(l.regs + APIC_LVT1, &lvt, 4);
        return RET_NERRNO(ioctl(v->fd, KVM_SET_LAPIC, &l));
}

static void seg64(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code) {
        *s = (struct kvm_segment){
                .base = 0,
                .limit = 0xffffffff,
                .selector = sel,
                .type = type,
                .present = 1,
                .dpl = 0,
                .db = code ? 0 : 1,
                .s = 1,
                .l = code ? 1 : 0,
                .g = 1,
        };
}

static int setup_boot_regs(KvmVcpu *v, uint64_t entry, uint64_t boot_params) {
        struct kvm_sregs s;
        struct kvm_regs r = {
                .rflags = 0x2,
                .rip = entry,
                .rsi = boot_params,
                .rsp = BOOT_STACK,
                .rbp = BOOT_STACK,
        };
        struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

        if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
                return -errno;
        seg64(&s.cs, 0x10, 0xb, true);
        seg64(&s.ds, 0x18, 0x3, false);
        s.es = s.fs = s.gs = s.ss = s.ds;
        s.tr = (struct kvm_segment){ .selector = 0x20, .limit = 0x67, .type = 0xb, .present = 1 };
        s.ldt = (struct kvm_segment){ .type = 0x2, .present = 1, .limit = 0xffff };
        s.gdt.base = BOOT_GDT_ADDR;
        s.gdt.limit = 4 * 8 - 1;
        s.idt.base = BOOT_IDT_ADDR;
        s.idt.limit = 0;
        s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
        s.cr3 = BOOT_PML4_ADDR;
        s.cr4 = X86_CR4_PAE;
        s.efer = EFER_LME | EFER_LMA;
        if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
                return -errno;
        if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
                return -errno;
        return RET_NERRNO(ioctl(v->fd, KVM_SET_FPU, &fpu));
}

int kvm_vcpu_setup(KvmVcpu *v, const CpuidEntry *cpuid, size_t n_cpuid, bool bsp, uint64_t entry, uint64_t boot_params) {
        int r;

        r = kvm_vcpu_set_cpuid(v, cpuid, n_cpuid);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(boot_msrs); i++) {
                r = set_msr(v, boot_msrs[i].index, boot_msrs[i].value);
                if (r < 0)
                        log_debug_errno(r, "vcpu%u: KVM refused MSR 0x%x, continuing: %m", v->index,
                                        boot_msrs[i].index);
        }
        r = setup_lapic(v);
        if (r < 0)
                return r;
        if (!bsp)
                return 0; /* APs wait for INIT/SIPI from the guest's BSP */
        return setup_boot_regs(v, entry, boot_params);
}

void kvm_vcpu_set_immediate_exit(KvmVcpu *v, bool on) {
        __atomic_store_n(&((struct kvm_run *) v->run)->immediate_exit, on, __ATOMIC_SEQ_CST);
}

int kvm_vcpu_get_rip(KvmVcpu *v, uint64_t *ret) {
        struct kvm_regs regs;
        if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
                return -errno;
        *ret = regs.rip;
        return 0;
}

static VcpuEvent crash(KvmVcpu *v, char *msg, size_t size, const char *what) {
        struct kvm_regs regs = {};
        (void) ioctl(v->fd, KVM_GET_REGS, &regs);
        snprintf(msg, size, "vcpu%u: %s at RIP 0x%llx", v->index, what, (unsigned long long) regs.rip);
        return VCPU_EVENT_CRASH;
}

VcpuEvent kvm_vcpu_run(KvmVcpu *v, const VcpuIo *io, void *opaque, char *msg, size_t size) {
        struct kvm_run *run = v->run;

        if (ioctl(v->fd, KVM_RUN, 0) < 0) {
                if (errno == EINTR || errno == EAGAIN)
                        return VCPU_EVENT_INTR;
                snprintf(msg, size, "vcpu%u: KVM_RUN failed: %s", v->index, strerror(errno));
                return VCPU_EVENT_CRASH;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
                uint8_t *data = (uint8_t *) run + run->io.data_offset;
                if (run->io.data_offset > (uint64_t) v->run_size ||
                    (uint64_t) run->io.size * run->io.count > (uint64_t) v->run_size - run->io.data_offset)
                        return crash(v, msg, size, "malformed I/O exit");
                for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
                        io->pio(opaque, v->index, run->io.port, run->io.direction == KVM_EXIT_IO_OUT, data,
                                run->io.size);
                return VCPU_EVENT_NONE;
        }
        case KVM_EXIT_MMIO:
                if (run->mmio.len > 8)
                        return crash(v, msg, size, "malformed MMIO exit");
                io->mmio(opaque, v->index, run->mmio.phys_addr, run->mmio.is_write, run->mmio.data,
                         run->mmio.len);
                return VCPU_EVENT_NONE;
        case KVM_EXIT_INTR:
                return VCPU_EVENT_INTR;
        case KVM_EXIT_HLT:
                return VCPU_EVENT_NONE; /* only without an in-kernel LAPIC */
        case KVM_EXIT_SHUTDOWN:
                return VCPU_EVENT_SHUTDOWN;
        case KVM_EXIT_SYSTEM_EVENT:
                if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
                        return VCPU_EVENT_SHUTDOWN;
                return crash(v, msg, size, "system event");
        case KVM_EXIT_FAIL_ENTRY: {
                char what[96];
                snprintf(what, sizeof(what), "VM entry failed (hardware reason 0x%llx)",
                         (unsigned long long) run->fail_entry.hardware_entry_failure_reason);
                return crash(v, msg, size, what);
        }
        case KVM_EXIT_INTERNAL_ERROR: {
                char what[160];
                snprintf(what, sizeof(what), "KVM internal error %u%s", run->internal.suberror,
                         run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                                         ? " (KVM could not emulate an instruction; hosts whose KVM emulates guest code, "
                                           "such as PVM, lack some instructions)"
                                         : "");
                return crash(v, msg, size, what);
        }
        default: {
                char what[64];
                snprintf(what, sizeof(what), "unexpected KVM exit %u", run->exit_reason);
                return crash(v, msg, size, what);
        }
        }
}

/* ------------------------------------------------------------- snapshots */

int kvm_vcpu_save(KvmVcpu *v, Buf *out) {
        struct kvm_regs regs;
        struct kvm_sregs sregs;
        struct kvm_fpu fpu;
        struct kvm_xsave xsave;
        struct kvm_xcrs xcrs;
        struct kvm_lapic_state lapic;
        struct kvm_mp_state mp;
        struct kvm_vcpu_events ev;
        struct kvm_debugregs dr;
        union {
                struct kvm_msr_list hdr;
                uint8_t bytes[sizeof(struct kvm_msr_list) + 1024 * sizeof(uint32_t)];
        } list = { .hdr.nmsrs = 1024 };
        Buf msrs = {};
        int r = 0;

        if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0 ||
            ioctl(v->fd, KVM_GET_FPU, &fpu) < 0 || ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0 ||
            ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0 || ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
                return -errno;
        buf_put_tlv(out, TAG_REGS, &regs, sizeof(regs));
        buf_put_tlv(out, TAG_SREGS, &sregs, sizeof(sregs));
        buf_put_tlv(out, TAG_FPU, &fpu, sizeof(fpu));
        buf_put_tlv(out, TAG_LAPIC, &lapic, sizeof(lapic));
        buf_put_tlv(out, TAG_MP_STATE, &mp, sizeof(mp));
        buf_put_tlv(out, TAG_EVENTS, &ev, sizeof(ev));
        if (ioctl(v->fd, KVM_GET_XSAVE, &xsave) == 0)
                buf_put_tlv(out, TAG_XSAVE, &xsave, sizeof(xsave));
        if (ioctl(v->fd, KVM_GET_XCRS, &xcrs) == 0)
                buf_put_tlv(out, TAG_XCRS, &xcrs, sizeof(xcrs));
        if (ioctl(v->fd, KVM_GET_DEBUGREGS, &dr) == 0)
                buf_put_tlv(out, TAG_DEBUGREGS, &dr, sizeof(dr));

        /* Every MSR KVM lists and lets us read, as (index, value) pairs. */
        if (ioctl(v->kvm_fd, KVM_GET_MSR_INDEX_LIST, &list) < 0)
                list.hdr.nmsrs = 0; /* fall back to the MSRs we set at boot */
        if (list.hdr.nmsrs == 0)
                for (size_t i = 0; i < ELEMENTSOF(boot_msrs); i++)
                        list.hdr.indices[list.hdr.nmsrs++] = boot_msrs[i].index;
        for (uint32_t i = 0; i < list.hdr.nmsrs && i < 1024; i++) {
                uint64_t val;
                if (get_msr(v, list.hdr.indices[i], &val) < 0)
                        continue;
                buf_put(&msrs, &list.hdr.indices[i], 4);
                buf_put(&msrs, &val, 8);
        }
        if (msrs.oom)
                r = -ENOMEM;
        else
                buf_put_tlv(out, TAG_MSRS, msrs.data, msrs.len);
        buf_done(&msrs);
        if (r < 0)
                return r;
        return out->oom ? -ENOMEM : 0;
}

static int restore_one(
                KvmVcpu *v,
                const uint8_t *p,
                size_t len,
                uint32_t tag,
                unsigned long req,
                size_t size,
                bool optional) {
        _cleanup_free_ void *buf = malloc(size);
        int r;

        if (!buf)
                return -ENOMEM;
        r = tlv_get(p, len, tag, buf, size);
        if (r == -ENOENT && optional)
                return 0;
        if (r < 0)
                return r;
        return RET_NERRNO(ioctl(v->fd, req, buf));
}

int kvm_vcpu_restore(KvmVcpu *v, const uint8_t *p, size_t len) {
        const uint8_t *m;
        size_t mlen;
        int r;

        /* Order as api.rst implies: sregs (APIC base, EFER) before regs, MSRs before LAPIC, events last. */
        r = restore_one(v, p, len, TAG_SREGS, KVM_SET_SREGS, sizeof(struct kvm_sregs), false);
        if (r >= 0)
                r = restore_one(v, p, len, TAG_REGS, KVM_SET_REGS, sizeof(struct kvm_regs), false);
        if (r >= 0)
                r = restore_one(v, p, len, TAG_FPU, KVM_SET_FPU, sizeof(struct kvm_fpu), false);
        if (r >= 0)
                r = restore_one(v, p, len, TAG_XSAVE, KVM_SET_XSAVE, sizeof(struct kvm_xsave), true);
        if (r >= 0)
                r = restore_one(v, p, len, TAG_XCRS, KVM_SET_XCRS, sizeof(struct kvm_xcrs), true);
        if (r < 0)
                return r;
        r = tlv_find(p, len, TAG_MSRS, &m, &mlen);
        if (r < 0 || mlen % 12)
                return r < 0 ? r : -EBADMSG;
        for (size_t i = 0; i < mlen; i += 12) {
                uint32_t idx;
                uint64_t val;
                memcpy(&idx, m + i, 4);
                memcpy(&val, m + i + 4, 8);
                if (set_msr(v, idx, val) < 0)
                        log_debug("vcpu%u: KVM refused MSR 0x%x on restore, continuing", v->index, idx);
        }
        r = restore_one(v, p, len, TAG_LAPIC, KVM_SET_LAPIC, sizeof(struct kvm_lapic_state), false);
        if (r >= 0)
                r = restore_one(v, p, len, TAG_MP_STATE, KVM_SET_MP_STATE, sizeof(struct kvm_mp_state), false);
        if (r >= 0)
                r = restore_one(v, p, len, TAG_DEBUGREGS, KVM_SET_DEBUGREGS, sizeof(struct kvm_debugregs),
                                true);
        if (r >= 0)
                r = restore_one(v, p, len, TAG_EVENTS, KVM_SET_VCPU_EVENTS, sizeof(struct kvm_vcpu_events),
                                false);
        return r;
}
