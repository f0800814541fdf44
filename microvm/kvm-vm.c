/* SPDX-License-Identifier: Apache-2.0 */
/* The VM-wide half of the KVM interface (Documentation/virt/kvm/api.rst). */
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "microvm-internal.h"

#define TSS_ADDR 0xfffbd000ULL
#define IDENTITY_MAP_ADDR 0xfffbc000ULL
#define MAX_CPUID_ENTRIES 256

enum {
        TAG_PIC_MASTER = 1,
        TAG_PIC_SLAVE,
        TAG_IOAPIC,
        TAG_PIT,
        TAG_CLOCK,
};

int kvm_vm_open(KvmVm *k, char **error_msg) {
        int r;

        *k = (KvmVm){ .kvm_fd = -EBADF, .vm_fd = -EBADF };
        k->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (k->kvm_fd < 0) {
                r = -errno;
                if (error_msg &&
                    asprintf(error_msg, "cannot open /dev/kvm: %s%s", strerror(errno),
                             errno == ENOENT ? " (no KVM on this host: load kvm-intel or kvm-amd)"
                                             : errno == EACCES ? " (add yourself to the kvm group)"
                                                               : "") < 0)
                        *error_msg = NULL;
                return r;
        }
        r = ioctl(k->kvm_fd, KVM_GET_API_VERSION, 0);
        if (r != KVM_API_VERSION) {
                if (error_msg &&
                    asprintf(error_msg, "/dev/kvm speaks API version %d, not %d", r, KVM_API_VERSION) < 0)
                        *error_msg = NULL;
                kvm_vm_close(k);
                return -ENOTSUP;
        }
        static const int needed[] = { KVM_CAP_IRQCHIP,        KVM_CAP_IRQFD,       KVM_CAP_IOEVENTFD,
                                      KVM_CAP_PIT2,           KVM_CAP_USER_MEMORY, KVM_CAP_SET_TSS_ADDR,
                                      KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_EXT_CPUID };
        for (size_t i = 0; i < ELEMENTSOF(needed); i++)
                if (ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, needed[i]) <= 0) {
                        if (error_msg && asprintf(error_msg, "/dev/kvm lacks capability %d", needed[i]) < 0)
                                *error_msg = NULL;
                        kvm_vm_close(k);
                        return -ENOTSUP;
                }
        k->run_size = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
        k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
        if (k->run_size <= 0 || k->vm_fd < 0) {
                r = -errno;
                if (error_msg && asprintf(error_msg, "cannot create a KVM VM: %s", strerror(errno)) < 0)
                        *error_msg = NULL;
                kvm_vm_close(k);
                return r;
        }
        return 0;
}

void kvm_vm_close(KvmVm *k) {
        (void) kvm_vm_set_memory_wait(k);
        k->vm_fd = safe_close(k->vm_fd);
        k->kvm_fd = safe_close(k->kvm_fd);
}

int kvm_vm_setup_irqchip(KvmVm *k) {
        struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
        uint64_t idmap = IDENTITY_MAP_ADDR;

        if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long) TSS_ADDR) < 0)
                return -errno;
        (void) ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap); /* VMX without unrestricted guest only */
        if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
                return -errno;
        if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
                return -errno;
        return 0;
}

int kvm_vm_set_memory(KvmVm *k, const GuestMem *gm) {
        for (unsigned i = 0; i < gm->n_regions; i++) {
                struct kvm_userspace_memory_region mr = {
                        .slot = i,
                        .guest_phys_addr = gm->regions[i].gpa,
                        .memory_size = gm->regions[i].size,
                        .userspace_addr = (uint64_t) (uintptr_t) gm->regions[i].host,
                };
                if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
                        return -errno;
        }
        return 0;
}

static void *set_memory_thread(void *arg) {
        KvmVm *k = arg;
        k->mem_result = kvm_vm_set_memory(k, k->mem_gm);
        return NULL;
}

int kvm_vm_set_memory_start(KvmVm *k, const GuestMem *gm) {
        int r;

        k->mem_gm = gm;
        r = -pthread_create(&k->mem_thread, NULL, set_memory_thread, k);
        if (r < 0)
                return kvm_vm_set_memory(k, gm); /* no thread: do it inline */
        k->mem_pending = true;
        return 0;
}

int kvm_vm_set_memory_wait(KvmVm *k) {
        if (!k->mem_pending)
                return 0;
        pthread_join(k->mem_thread, NULL);
        k->mem_pending = false;
        return k->mem_result;
}

int kvm_vm_irqfd(KvmVm *k, int fd, unsigned gsi) {
        struct kvm_irqfd f = { .fd = (uint32_t) fd, .gsi = gsi };
        return RET_NERRNO(ioctl(k->vm_fd, KVM_IRQFD, &f));
}

int kvm_vm_ioeventfd(KvmVm *k, int fd, uint64_t addr, uint32_t datamatch) {
        struct kvm_ioeventfd e = {
                .datamatch = datamatch,
                .addr = addr,
                .len = 4,
                .fd = fd,
                .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
        };
        return RET_NERRNO(ioctl(k->vm_fd, KVM_IOEVENTFD, &e));
}

int kvm_vm_irq_line(KvmVm *k, unsigned irq, bool level) {
        struct kvm_irq_level l = { .irq = irq, .level = level };
        return RET_NERRNO(ioctl(k->vm_fd, KVM_IRQ_LINE, &l));
}

int kvm_vm_supported_cpuid(KvmVm *k, CpuidEntry **ret, size_t *ret_n) {
        _cleanup_free_ struct kvm_cpuid2 *c = NULL;
        CpuidEntry *e;

        c = calloc(1, sizeof(*c) + MAX_CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2));
        if (!c)
                return -ENOMEM;
        c->nent = MAX_CPUID_ENTRIES;
        if (ioctl(k->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0)
                return -errno;
        e = calloc(c->nent, sizeof(*e));
        if (!e)
                return -ENOMEM;
        for (unsigned i = 0; i < c->nent; i++)
                e[i] = (CpuidEntry){ c->entries[i].function, c->entries[i].index, c->entries[i].flags,
                                     c->entries[i].eax,      c->entries[i].ebx,   c->entries[i].ecx,
                                     c->entries[i].edx };
        *ret = e;
        *ret_n = c->nent;
        return 0;
}

int kvm_vm_save(KvmVm *k, Buf *out) {
        static const uint32_t chips[] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC };
        struct kvm_pit_state2 pit;
        struct kvm_clock_data clock = {};

        for (size_t i = 0; i < ELEMENTSOF(chips); i++) {
                struct kvm_irqchip chip = { .chip_id = chips[i] };
                if (ioctl(k->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
                        return -errno;
                buf_put_tlv(out, TAG_PIC_MASTER + (uint32_t) i, &chip, sizeof(chip));
        }
        if (ioctl(k->vm_fd, KVM_GET_PIT2, &pit) < 0)
                return -errno;
        buf_put_tlv(out, TAG_PIT, &pit, sizeof(pit));
        if (ioctl(k->vm_fd, KVM_GET_CLOCK, &clock) < 0)
                return -errno;
        clock.flags = 0; /* KVM_SET_CLOCK accepts only KVM_CLOCK_REALTIME-style flags it knows */
        buf_put_tlv(out, TAG_CLOCK, &clock, sizeof(clock));
        return out->oom ? -ENOMEM : 0;
}

int kvm_vm_restore(KvmVm *k, const uint8_t *p, size_t len) {
        struct kvm_pit_state2 pit;
        struct kvm_clock_data clock;
        int r;

        for (uint32_t i = 0; i < 3; i++) {
                struct kvm_irqchip chip;
                r = tlv_get(p, len, TAG_PIC_MASTER + i, &chip, sizeof(chip));
                if (r < 0)
                        return r;
                if (ioctl(k->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
                        return -errno;
        }
        r = tlv_get(p, len, TAG_PIT, &pit, sizeof(pit));
        if (r < 0)
                return r;
        if (ioctl(k->vm_fd, KVM_SET_PIT2, &pit) < 0)
                return -errno;
        r = tlv_get(p, len, TAG_CLOCK, &clock, sizeof(clock));
        if (r < 0)
                return r;
        if (ioctl(k->vm_fd, KVM_SET_CLOCK, &clock) < 0)
                return -errno;
        return 0;
}
