/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Internals of libaula-microvm, shared between its files and its unit tests.
 * No other folder may include this header (STYLE.md rule 1).
 *
 * Layering (STYLE.md rule 23):
 *   GuestMem      guest RAM; every guest-physical access goes through gm_slice()
 *   Vq            split virtqueue core over GuestMem only
 *   VirtioDev     device state + ops table + irq_raise() callback
 *   vm_mmio_*     the virtio-mmio v2 register file over a VirtioDev
 *   Serial/I8042  legacy port devices as register files
 *   kvm-*.c       the only files that touch /dev/kvm
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common.h"
#include "microvm.h"

/* ------------------------------------------------------------ memory map */

#define GM_LOW_RAM_MAX 0xc0000000ULL /* RAM below the 32-bit MMIO hole */
#define GM_HIGH_RAM_START 0x100000000ULL
#define VM_MMIO_BASE 0xd0000000ULL /* virtio-mmio device windows */
#define VM_MMIO_SIZE 0x1000ULL
#define VM_MMIO_MAX_DEVICES 10
#define VM_DEBUG_BASE 0xd0800000ULL /* boot marker and exit status page */
#define VM_DEBUG_SIZE 0x1000ULL
#define VM_DEBUG_MARKER 0x0 /* any write: boot-time marker */
#define VM_DEBUG_STATUS 0x4 /* 32-bit write: exit status reported at poweroff */
#define VM_DEBUG_CONSOLE 0x8 /* byte write: emitted on the console (debug only) */
#define VM_IOAPIC_BASE 0xfec00000ULL
#define VM_LAPIC_BASE 0xfee00000ULL
#define VM_FIRST_DEVICE_IRQ 5
#define VM_SERIAL_IRQ 4
#define VM_SERIAL_PORT 0x3f8
#define VM_I8042_DATA 0x60
#define VM_I8042_CMD 0x64
#define VM_SLEEP_CONTROL_PORT 0x3c0 /* FADT hardware-reduced sleep control/status */
#define VM_SLEEP_STATUS_PORT 0x3c1

/* Boot-time layout in low memory (below 1 MiB), see boot.c. */
#define BOOT_GDT_ADDR 0x500ULL
#define BOOT_IDT_ADDR 0x520ULL
#define BOOT_PARAMS_ADDR 0x7000ULL
#define BOOT_PML4_ADDR 0x9000ULL
#define BOOT_PDPT_ADDR 0xa000ULL
#define BOOT_PD_ADDR 0xb000ULL /* four pages: identity map of 4 GiB in 2 MiB pages */
#define BOOT_CMDLINE_ADDR 0x20000ULL
#define BOOT_CMDLINE_MAX 4096
#define BOOT_ACPI_ADDR 0xe0000ULL /* RSDP is found by scanning 0xe0000-0xfffff */
#define BOOT_ACPI_SIZE 0x20000ULL
#define BOOT_EBDA_START 0x9fc00ULL
#define BOOT_KERNEL_ADDR 0x100000ULL

/* ------------------------------------------------------------- GuestMem */

typedef struct GmRegion {
        uint64_t gpa;
        uint64_t size;
        uint8_t *host;
} GmRegion;

typedef struct GuestMem {
        GmRegion regions[2];
        unsigned n_regions;
        uint64_t ram_size; /* total bytes of RAM */
        int memfd; /* -EBADF for buffer-backed memory (unit tests) */
        uint8_t *map; /* whole mapping (memfd-backed) */
        size_t map_size;
        bool owns_map;
} GuestMem;

/* Guest RAM from a memfd laid out around the 32-bit hole (hugepages optional). */
int gm_new(uint64_t ram_size, bool hugepages, GuestMem **ret);
/* Guest RAM of one region [gpa, gpa+size) over a caller's buffer; for tests. */
int gm_new_buffer(void *buf, uint64_t gpa, uint64_t size, GuestMem **ret);
GuestMem *gm_free(GuestMem *gm);
DEFINE_CLEANUP_FUNC(GuestMem *, gm_free);
/*
 * Host pointer for guest range [gpa, gpa+len): -EFAULT when any byte lies
 * outside one RAM region or gpa+len overflows. len 0 is valid inside RAM.
 */
int gm_slice(const GuestMem *gm, uint64_t gpa, uint64_t len, void **ret);
int gm_read(const GuestMem *gm, uint64_t gpa, void *buf, size_t len);
int gm_write(const GuestMem *gm, uint64_t gpa, const void *buf, size_t len);
/* Offset of gpa within the memfd (snapshots); -EFAULT outside RAM. */
int gm_offset(const GuestMem *gm, uint64_t gpa, uint64_t *ret);

/* ---------------------------------------------------------- virtqueues */

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VQ_MAX_SIZE 256
#define VQ_MAX_SEGS VQ_MAX_SIZE

typedef struct VringDesc {
        uint64_t addr;
        uint32_t len;
        uint16_t flags;
        uint16_t next;
} __attribute__((packed)) VringDesc;

typedef struct Vq {
        GuestMem *mem;
        uint16_t size; /* QueueNum chosen by the driver */
        uint16_t max_size; /* QueueNumMax */
        bool ready;
        bool broken; /* a malformed chain was seen: stop until reset */
        uint64_t desc_gpa, avail_gpa, used_gpa;
        uint16_t last_avail_idx;
        uint16_t used_idx;
} Vq;

typedef struct VqSeg {
        void *host;
        uint32_t len;
        bool writable;
} VqSeg;

typedef struct VqChain {
        uint16_t head;
        unsigned n_segs;
        unsigned n_readable; /* readable segments come first (virtio 1.2 2.7.4.2) */
        uint64_t readable_len;
        uint64_t writable_len;
        VqSeg segs[VQ_MAX_SEGS];
} VqChain;

void vq_init(Vq *vq, GuestMem *mem, uint16_t max_size);
void vq_reset(Vq *vq);
/* Ring addresses are in RAM and aligned (virtio 1.2 2.7). */
int vq_validate(const Vq *vq);
/*
 * Pop the next available chain. Returns 1 with *chain filled, 0 when the ring
 * is empty, or -errno for a malformed chain: -EFAULT (outside RAM), -ELOOP
 * (longer than the queue, hence a loop), -EINVAL (bad index, zero length,
 * indirect, readable after writable), -EOVERFLOW (total length over 4 GiB).
 * A malformed chain is consumed; the caller marks the queue broken.
 */
int vq_pop_chain(Vq *vq, VqChain *chain);
/* Put head on the used ring with len bytes written. */
int vq_push(Vq *vq, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt (VRING_AVAIL_F_NO_INTERRUPT not set). */
bool vq_should_notify(const Vq *vq);
bool vq_has_avail(const Vq *vq);
/* Copy from/to a chain's readable/writable bytes starting at off; returns bytes copied. */
size_t vq_chain_read(const VqChain *c, uint64_t off, void *buf, size_t len);
size_t vq_chain_write(const VqChain *c, uint64_t off, const void *buf, size_t len);
/* iovec views of the readable or writable part (skipping off bytes); returns count. */
int vq_chain_iov(const VqChain *c, bool writable, uint64_t off, struct iovec *iov, int max_iov);

/* ------------------------------------------------------- virtio devices */

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_VSOCK 19

#define VIRTIO_F_VERSION_1 32
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128
#define VIRTIO_INT_VRING 1
#define VIRTIO_INT_CONFIG 2
#define VIRTIO_MAX_QUEUES 3
#define VIRTIO_CONFIG_MAX 64

typedef struct VirtioDev VirtioDev;

typedef struct VirtioDevOps {
        const char *name;
        uint32_t device_id;
        unsigned num_queues;
        uint16_t queue_max;
        /* The driver kicked queue q (event-loop thread, device lock held). */
        void (*queue_notify)(VirtioDev *d, unsigned q);
        /* DRIVER_OK was set; may start host-side polling. */
        void (*activate)(VirtioDev *d);
        /* Status was written 0; drop in-flight state. */
        void (*reset)(VirtioDev *d);
        /* Device-specific config space write (only vsock/net ignore them). */
        void (*config_write)(VirtioDev *d, uint32_t off, const void *buf, size_t len);
        void *(*free)(void *backend);
} VirtioDevOps;

struct VirtioDev {
        const VirtioDevOps *ops;
        void *backend; /* the device's own state */
        GuestMem *mem;
        pthread_mutex_t lock;

        uint64_t device_features;
        uint64_t driver_features;
        uint32_t device_features_sel, driver_features_sel;
        uint32_t queue_sel;
        uint32_t status;
        uint32_t isr;
        uint32_t config_generation;
        uint8_t config[VIRTIO_CONFIG_MAX];
        size_t config_size;
        Vq vqs[VIRTIO_MAX_QUEUES];

        void (*irq_raise)(void *opaque);
        void *irq_opaque;
};

int virtio_dev_init(VirtioDev *d, const VirtioDevOps *ops, void *backend, GuestMem *mem);
void virtio_dev_done(VirtioDev *d);
/* Raise a used-buffer interrupt for queue q if the driver wants one. */
void virtio_dev_notify_used(VirtioDev *d, unsigned q);
/* A malformed chain: set DEVICE_NEEDS_RESET and a config interrupt (virtio 1.2 2.1.2). */
void virtio_dev_fail(VirtioDev *d, unsigned q, int error);
/*
 * Serve one popped chain: 0 with *ret_written (bytes placed in its writable
 * part), or -errno for a malformed chain.
 */
typedef int (*VirtioChainFn)(VirtioDev *d, const VqChain *c, uint32_t *ret_written);
/*
 * Pop every available chain of queue q, serve it and put it on the used ring,
 * then interrupt if anything was used. A malformed chain (from the ring or
 * from serve) or a failed push fails the queue (virtio_dev_fail) and stops.
 */
void virtio_dev_serve_queue(VirtioDev *d, unsigned q, VirtioChainFn serve);
bool virtio_dev_active(const VirtioDev *d);
bool virtio_dev_has_feature(const VirtioDev *d, unsigned bit);
/* Kick queue q as the transport would after QueueNotify (takes the lock). */
void virtio_dev_kick(VirtioDev *d, unsigned q);

/*
 * The virtio-mmio version 2 register file (virtio 1.2 4.2.2). off is relative
 * to the device window; config space at 0x100 takes 1/2/4/8-byte accesses,
 * registers only aligned 4-byte ones. Returns 0, or -EINVAL for an access the
 * spec does not allow (reads then yield 0; writes are ignored). A QueueNotify
 * write that reaches here (no ioeventfd) runs the queue handler directly.
 */
int vm_mmio_access(VirtioDev *d, uint64_t off, unsigned size, bool is_write, uint64_t *val);

/* virtio-blk over a backend (file fd by default). */
typedef struct BlkBackendOps {
        ssize_t (*preadv)(void *opaque, const struct iovec *iov, int n, uint64_t off);
        ssize_t (*pwritev)(void *opaque, const struct iovec *iov, int n, uint64_t off);
        int (*flush)(void *opaque);
} BlkBackendOps;
extern const BlkBackendOps blk_fd_ops; /* opaque is (void *)(intptr_t) fd */
int virtio_blk_new(
                GuestMem *mem,
                const BlkBackendOps *ops,
                void *opaque,
                uint64_t size_bytes,
                bool read_only,
                const char *serial,
                VirtioDev **ret);

/* virtio-net over a packet fd (tap with IFF_VNET_HDR, or a SEQPACKET socket in tests). */
int virtio_net_new(GuestMem *mem, int fd, const uint8_t mac[6], VirtioDev **ret);
/* The packet fd is readable: move frames into the rx queue. */
void virtio_net_rx(VirtioDev *d);
/* Whether the device wants fd readiness now (rx buffers available). */
bool virtio_net_wants_rx(VirtioDev *d);
#define VIRTIO_NET_HDR_LEN 12

/* virtio-rng; fill is getrandom() unless a test passes its own. */
int virtio_rng_new(GuestMem *mem, int (*fill)(void *buf, size_t len), VirtioDev **ret);

/* virtio-vsock with host-side unix sockets; see virtio-vsock.c. */
typedef struct EventLoop EventLoop;
int virtio_vsock_new(GuestMem *mem, EventLoop *loop, uint64_t guest_cid, const char *socket_path, VirtioDev **ret);
/* After restore: tell the guest its connections are gone (virtio 1.2 5.10.6.7). */
void virtio_vsock_transport_reset(VirtioDev *d);

VirtioDev *virtio_dev_free(VirtioDev *d);
DEFINE_CLEANUP_FUNC(VirtioDev *, virtio_dev_free);

/* ------------------------------------------------------------ event loop */

typedef void (*EventHandler)(void *opaque, uint32_t events);
int event_loop_new(EventLoop **ret);
EventLoop *event_loop_free(EventLoop *l);
DEFINE_CLEANUP_FUNC(EventLoop *, event_loop_free);
int event_loop_add(EventLoop *l, int fd, uint32_t events, EventHandler h, void *opaque);
int event_loop_mod(EventLoop *l, int fd, uint32_t events);
int event_loop_del(EventLoop *l, int fd);
/* Dispatch ready handlers once; timeout_ms as epoll_wait. Returns handlers run. */
int event_loop_run_once(EventLoop *l, int timeout_ms);
/* Start/stop the loop thread; pause parks it between dispatches (snapshots). */
int event_loop_start(EventLoop *l, void (*thread_init)(void *), void *arg);
void event_loop_stop(EventLoop *l);
void event_loop_pause(EventLoop *l);
void event_loop_resume(EventLoop *l);

/* --------------------------------------------------------- legacy devices */

typedef struct Serial {
        pthread_mutex_t lock;
        uint8_t ier, iir_pending_thre, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
        uint8_t rx[64];
        unsigned rx_head, rx_len;
        int out_fd;
        void (*irq_set)(void *opaque, bool level);
        void *irq_opaque;
        bool irq_level;
} Serial;

void serial_init(Serial *s, int out_fd, void (*irq_set)(void *, bool), void *opaque);
/* Port access at offset 0..7 from the base (8250/16550A registers). */
void serial_io(Serial *s, unsigned off, bool is_write, uint8_t *val);
/* Queue input bytes; returns how many fitted (the rest stays with the caller). */
size_t serial_input(Serial *s, const uint8_t *buf, size_t len);
bool serial_rx_has_room(Serial *s);

typedef struct I8042 {
        uint8_t ctr, status, out[4];
        unsigned out_len;
        uint8_t pending_cmd;
        bool reset_requested;
} I8042;

void i8042_init(I8042 *k);
/* Returns true when the guest asked for a CPU reset (command 0xfe). */
bool i8042_io(I8042 *k, uint16_t port, bool is_write, uint8_t *val);

/* ------------------------------------------------------------------ boot */

typedef struct BootInfo {
        uint64_t entry;
        uint64_t kernel_start, kernel_end;
        uint64_t initrd_addr, initrd_size;
        bool is_bzimage;
} BootInfo;

typedef enum KernelFormat {
        KERNEL_BZIMAGE,
        KERNEL_ELF,
        _KERNEL_FORMAT_MAX,
        _KERNEL_FORMAT_INVALID = -EINVAL,
} KernelFormat;

/*
 * Identify a kernel image: bzImage (boot protocol >= 2.12, 64-bit entry) or
 * ELF64 x86-64 executable. -ENOEXEC with *error_msg for anything else.
 */
int boot_probe_kernel(const uint8_t *img, size_t len, KernelFormat *ret, char **error_msg);
/* Load kernel (and initrd, may be NULL) into gm, write boot_params, cmdline, e820, tables. */
int boot_load(GuestMem *gm,
              const uint8_t *kernel,
              size_t kernel_len,
              const uint8_t *initrd,
              size_t initrd_len,
              const char *cmdline,
              BootInfo *ret,
              char **error_msg);
/* Identity page tables for 4 GiB and the boot GDT (selectors 0x10 code, 0x18 data). */
int boot_setup_tables(GuestMem *gm);

/* ------------------------------------------------------------------ ACPI */

typedef struct AcpiDevice {
        uint64_t mmio_base;
        uint32_t mmio_size;
        uint32_t irq;
} AcpiDevice;

/* RSDP at BOOT_ACPI_ADDR, XSDT, FADT (hardware reduced), DSDT, MADT. */
int acpi_build(GuestMem *gm, unsigned n_cpus, const AcpiDevice *devs, size_t n_devs);
uint8_t acpi_checksum(const void *p, size_t len);

/* ----------------------------------------------------------------- CPUID */

typedef struct CpuidEntry {
        uint32_t function, index, flags;
        uint32_t eax, ebx, ecx, edx;
} CpuidEntry;

typedef struct CpuidMask {
        uint32_t function, index;
        uint8_t reg; /* 0 eax, 1 ebx, 2 ecx, 3 edx */
        uint8_t bit;
} CpuidMask;

/* Parse "avx512f,x2apic,0x7:0:ebx:16" into masks; -EINVAL with *error_msg. */
int cpuid_parse_mask(const char *list, CpuidMask **ret, size_t *ret_n, char **error_msg);
/* Normalise supported entries for vCPU cpu_index of n_cpus and clear masked bits. */
void cpuid_normalize(CpuidEntry *e, size_t n, unsigned cpu_index, unsigned n_cpus, const CpuidMask *m, size_t n_m);

/* --------------------------------------------------------------- hashing */

/* A fast 64-bit checksum over bytes (snapshots); streaming via state. */
typedef struct Hash64 {
        uint64_t h[4];
        uint64_t total;
        uint8_t tail[32];
        size_t tail_len;
} Hash64;
void hash64_init(Hash64 *s);
void hash64_update(Hash64 *s, const void *p, size_t len);
uint64_t hash64_final(Hash64 *s);
uint64_t hash64(const void *p, size_t len);

/* ------------------------------------------------------- byte buffers, TLV */

typedef struct Buf {
        uint8_t *data;
        size_t len, cap;
        bool oom;
} Buf;

void buf_put(Buf *b, const void *p, size_t n);
/* Append { u32 tag; u32 len; data } */
void buf_put_tlv(Buf *b, uint32_t tag, const void *p, size_t n);
void buf_done(Buf *b);
/* Find tag in a TLV sequence; -ENOENT if absent, -EBADMSG if the sequence is malformed. */
int tlv_find(const uint8_t *p, size_t len, uint32_t tag, const uint8_t **ret, size_t *ret_len);
/* Fetch a tag whose payload must be exactly size bytes. */
int tlv_get(const uint8_t *p, size_t len, uint32_t tag, void *out, size_t size);

/* -------------------------------------------------------------------- KVM */

typedef struct KvmVm {
        int kvm_fd;
        int vm_fd;
        int run_size;
        pthread_t mem_thread; /* kvm_vm_set_memory_start() */
        bool mem_pending;
        int mem_result;
        const GuestMem *mem_gm;
} KvmVm;

typedef struct KvmVcpu {
        int fd;
        int kvm_fd; /* for system ioctls (MSR index list) */
        unsigned index;
        void *run; /* struct kvm_run */
        int run_size;
} KvmVcpu;

typedef struct VcpuIo {
        /* port I/O and MMIO exits; data holds size bytes (little endian) */
        void (*pio)(void *opaque, unsigned cpu, uint16_t port, bool is_write, uint8_t *data, unsigned size);
        void (*mmio)(void *opaque, unsigned cpu, uint64_t addr, bool is_write, uint8_t *data, unsigned size);
} VcpuIo;

typedef enum VcpuEvent {
        VCPU_EVENT_NONE, /* handled an exit; run again */
        VCPU_EVENT_INTR, /* KVM_RUN interrupted by a signal or immediate_exit */
        VCPU_EVENT_SHUTDOWN, /* triple fault */
        VCPU_EVENT_CRASH, /* internal error, failed entry, unknown exit: msg says which */
} VcpuEvent;

#define KVM_GSI_VIRTIO(i) (VM_FIRST_DEVICE_IRQ + (i) + ((i) >= 3 ? 1 : 0)) /* skip IRQ 8 (RTC) */

/* Open /dev/kvm and create a VM; *error_msg explains a missing or unusable /dev/kvm. */
int kvm_vm_open(KvmVm *k, char **error_msg);
void kvm_vm_close(KvmVm *k);
/* TSS, in-kernel irqchip (PIC + IOAPIC + LAPICs) and PIT. */
int kvm_vm_setup_irqchip(KvmVm *k);
int kvm_vm_set_memory(KvmVm *k, const GuestMem *gm);
/*
 * The same on a helper thread: registering memslots has a fixed cost on some
 * hosts (milliseconds under PVM) that can overlap the rest of VM setup. Every
 * start must be followed by kvm_vm_set_memory_wait() before the vCPUs run.
 */
int kvm_vm_set_memory_start(KvmVm *k, const GuestMem *gm);
int kvm_vm_set_memory_wait(KvmVm *k);
int kvm_vm_irqfd(KvmVm *k, int fd, unsigned gsi);
int kvm_vm_ioeventfd(KvmVm *k, int fd, uint64_t addr, uint32_t datamatch);
int kvm_vm_irq_line(KvmVm *k, unsigned irq, bool level);
int kvm_vm_supported_cpuid(KvmVm *k, CpuidEntry **ret, size_t *ret_n);
/* irqchip (PIC, IOAPIC), PIT and kvmclock as TLV records. */
int kvm_vm_save(KvmVm *k, Buf *out);
int kvm_vm_restore(KvmVm *k, const uint8_t *p, size_t len);

int kvm_vcpu_new(KvmVm *k, unsigned index, KvmVcpu *ret);
void kvm_vcpu_close(KvmVcpu *v);
/* CPUID, MSRs (refusals tolerated), LAPIC LINT0/1; for the BSP also 64-bit boot registers. */
int kvm_vcpu_setup(KvmVcpu *v, const CpuidEntry *cpuid, size_t n_cpuid, bool bsp, uint64_t entry, uint64_t boot_params);
int kvm_vcpu_set_cpuid(KvmVcpu *v, const CpuidEntry *cpuid, size_t n_cpuid);
/* One KVM_RUN and its exit; *msg (size bytes) gets words for VCPU_EVENT_CRASH. */
VcpuEvent kvm_vcpu_run(KvmVcpu *v, const VcpuIo *io, void *opaque, char *msg, size_t size);
void kvm_vcpu_set_immediate_exit(KvmVcpu *v, bool on);
int kvm_vcpu_get_rip(KvmVcpu *v, uint64_t *ret);
int kvm_vcpu_save(KvmVcpu *v, Buf *out);
int kvm_vcpu_restore(KvmVcpu *v, const uint8_t *p, size_t len);

/* --------------------------------------------------------------- the VM */

typedef enum VmDevKind {
        VM_DEV_BLK,
        VM_DEV_NET,
        VM_DEV_VSOCK,
        VM_DEV_RNG,
} VmDevKind;

typedef struct VmDevice {
        VmDevKind kind;
        VirtioDev *dev;
        struct Vm *vm;
        uint64_t base;
        unsigned gsi;
        int irqfd;
        int kickfd[VIRTIO_MAX_QUEUES];
        int net_fd; /* tap fd for net (owned by the device), -1 otherwise */
        bool net_polling;
} VmDevice;

typedef enum VmThreadKind {
        VM_THREAD_VCPU,
        VM_THREAD_LOOP,
        VM_THREAD_MAIN,
} VmThreadKind;

/* Install the seccomp filter for this kind of thread on the calling thread. */
int vm_seccomp_apply(VmThreadKind kind);

struct Vm {
        VmConfig cfg;
        KvmVm kvm;
        GuestMem *gm;
        EventLoop *loop;
        unsigned n_vcpus;
        KvmVcpu vcpus[VM_MAX_VCPUS];
        pthread_t threads[VM_MAX_VCPUS];
        bool threads_started;
        CpuidEntry *cpuid;
        size_t n_cpuid;
        CpuidMask *masks;
        size_t n_masks;

        Serial serial;
        I8042 i8042;
        pthread_mutex_t io_lock; /* i8042 and the debug page */
        VmDevice devs[VM_MMIO_MAX_DEVICES];
        size_t n_devs;
        int console_in, console_out;
        bool console_raw;
        int stdin_timer;
        BootInfo boot;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool exiting;
        VmExit exit;
        bool pause_requested;
        unsigned n_parked, n_running;
        int wake_fd; /* eventfd: vm_run() re-checks requests */
        volatile int req_stop, req_snapshot, req_pause_toggle;
        bool user_paused;
        const char *snapshot_dir;

        uint64_t start_usec, marker_usec;
        bool marker_seen;
        int32_t guest_status;
        struct termios *saved_termios;
};

/* Shared between vm.c (devices, exits) and vm-run.c (threads, requests). */
void vm_request_exit(struct Vm *vm, VmExitReason reason, const char *msg);
void vm_wake_runner(struct Vm *vm);
void vm_forget_signals(struct Vm *vm);
void vm_stop_threads(struct Vm *vm);
extern const VcpuIo vm_vcpu_io;

/* Snapshot helpers (snapshot.c) on a paused VM. */
int vm_devices_save(struct Vm *vm, Buf *out);
int vm_devices_restore(struct Vm *vm, const uint8_t *p, size_t len);
/* Build the VM from config without loading a kernel (vm_new and vm_restore share this). */
int vm_create(const VmConfig *c, struct Vm **ret, char **error_msg);
int vm_vcpus_create(struct Vm *vm);
