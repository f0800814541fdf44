/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * libaula-microvm: a KVM microVM with virtio-mmio devices.
 *
 * One Vm per process is the intended use (aula-vmm, the shim's microvm
 * backend): vm_run() starts one thread per vCPU and one event-loop thread for
 * all devices, each under its own seccomp filter, and returns when the guest
 * powers off, reboots or crashes. Guest memory and everything the guest writes
 * to it is untrusted input.
 *
 * Errors are -errno; where a caller needs words for the user, functions take
 * a char **error_msg that receives a malloc'd one-line reason. This module does
 * not log above debug level.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VM_MAX_DISKS 8
#define VM_MAX_NETS 4
#define VM_MAX_VCPUS 32
#define VM_MIN_MEMORY (16ULL << 20)
#define VM_MAX_MEMORY (1ULL << 40)

typedef struct Vm Vm;

typedef struct VmDisk {
        const char *path;
        bool read_only;
} VmDisk;

typedef struct VmNet {
        const char *tap; /* an existing or new tap interface name */
        uint8_t mac[6];
        bool has_mac; /* else a locally administered MAC derived from the tap name */
} VmNet;

typedef enum VmConsoleMode {
        VM_CONSOLE_STDIO, /* ttyS0 output to stdout, input from stdin */
        VM_CONSOLE_FILE, /* output appended to console_path, no input */
        VM_CONSOLE_NONE,
        _VM_CONSOLE_MAX,
        _VM_CONSOLE_INVALID = -22,
} VmConsoleMode;

/* Strings are borrowed: they must outlive the Vm created from the config. */
typedef struct VmConfig {
        const char *kernel; /* bzImage (boot protocol >= 2.12) or ELF vmlinux */
        const char *initrd; /* may be NULL */
        const char *cmdline;
        uint64_t memory; /* bytes, VM_MIN_MEMORY..VM_MAX_MEMORY, multiple of 2 MiB */
        unsigned vcpus; /* 1..VM_MAX_VCPUS */
        VmDisk disks[VM_MAX_DISKS];
        size_t n_disks;
        VmNet nets[VM_MAX_NETS];
        size_t n_nets;
        uint32_t vsock_cid; /* 0: no vsock device; else >= 3 */
        const char *vsock_socket;
        bool rng; /* virtio-rng, on by default in aula-vmm */
        VmConsoleMode console;
        const char *console_path;
        const char *cpuid_mask; /* "avx512f,x2apic,0x7:0:ebx:16" */
        bool hugepages;
        bool no_acpi; /* rely on virtio_mmio.device= and no ACPI tables */
        bool no_seccomp; /* debugging only */
        bool seccomp_caller; /* also filter the thread calling vm_run() (one VM per process) */
        uint64_t timeout_usec; /* vm_run() ends with VM_EXIT_TIMEOUT after this long; 0: never */
        uint64_t start_usec; /* CLOCK_MONOTONIC of process start; 0: at vm_new() */
} VmConfig;

typedef enum VmExitReason {
        VM_EXIT_POWEROFF, /* ACPI S5 or the debug status page */
        VM_EXIT_REBOOT, /* i8042 reset (reboot=k) or ACPI reset */
        VM_EXIT_CRASH, /* triple fault, failed entry, KVM internal error */
        VM_EXIT_STOPPED, /* vm_request_stop() or a snapshot request from the host */
        VM_EXIT_TIMEOUT, /* timeout_usec elapsed */
        _VM_EXIT_MAX,
        _VM_EXIT_INVALID = -22,
} VmExitReason;

typedef struct VmExit {
        VmExitReason reason;
        int status; /* guest-reported status (debug page), 0 if none */
        char message[256]; /* for VM_EXIT_CRASH: what KVM said, with RIP */
} VmExit;

const char *vm_exit_reason_to_string(VmExitReason r);

/* Check a config without touching the system; -EINVAL and *error_msg on the first problem. */
int vm_config_validate(const VmConfig *c, char **error_msg);

/*
 * Create a VM: open /dev/kvm, guest memory, devices, and load the kernel.
 * -ENOENT/-EACCES for /dev/kvm, -ENOEXEC for a non-Linux kernel image.
 */
int vm_new(const VmConfig *c, Vm **ret, char **error_msg);
/* Create a VM from a snapshot directory instead of a kernel; c gives disks, nets, vsock, console. */
int vm_restore(const VmConfig *c, const char *dir, Vm **ret, char **error_msg);
Vm *vm_free(Vm *vm);

/*
 * Run until the guest exits or a stop is requested; fills *ret. Blocks the
 * calling thread; installs a handler for SIGRTMIN+7, which kicks vCPU threads
 * out of KVM_RUN. Returns -errno only when the VMM itself fails.
 */
int vm_run(Vm *vm, VmExit *ret);
/* Thread- and async-signal-safe requests, honoured by vm_run()'s thread. */
void vm_request_stop(Vm *vm);
/* Ask vm_run() to snapshot into dir and then stop (async-signal-safe; dir must outlive the VM). */
void vm_request_snapshot(Vm *vm, const char *dir);

/*
 * For one-VM processes: SIGINT, SIGTERM and SIGHUP request a stop, SIGUSR1 a
 * snapshot into snapshot_dir (or a stop when NULL), SIGUSR2 toggles
 * pause/resume. Call before vm_run().
 */
int vm_handle_signals(Vm *vm, const char *snapshot_dir);

/* Park every vCPU and the device loop (vCPU state is then consistent); idempotent. */
int vm_pause(Vm *vm);
int vm_resume(Vm *vm);
/*
 * Write memory, vCPU, irqchip, clock and device state into dir (created
 * 0700; files "state" and "memory"). The VM must be paused. The state file is
 * versioned and checksummed, the memory file's checksum is in it.
 */
int vm_snapshot(Vm *vm, const char *dir, char **error_msg);

/* Microseconds from start_usec to the guest's first write to the boot marker; -ENODATA if none yet. */
int vm_boot_marker_usec(Vm *vm, uint64_t *ret);

/* ----------------------------------------------------------- aula-init agent */

/*
 * The protocol between the host (shim) and aula-init over vsock, see
 * docs/microvm.md. aula-init connects to host CID 2 at VM_AGENT_PORT; the
 * VMM turns that into a connection on the unix socket "<vsock_socket>_<port>".
 * Frames are { u8 type; u8 pad[3]; u32 len (little endian); u8 data[len] }.
 */
#define VM_AGENT_PORT 1024
#define VM_AGENT_VERSION 1
#define VM_AGENT_MAX_FRAME (1U << 20)

typedef enum VmAgentFrameType {
        VM_AGENT_HELLO = 'H', /* guest->host: u32 version */
        VM_AGENT_SPEC = 'S', /* host->guest: NUL-separated "key=value" records */
        VM_AGENT_STDIN = '0', /* host->guest: bytes; empty frame = EOF */
        VM_AGENT_STDOUT = '1', /* guest->host */
        VM_AGENT_STDERR = '2', /* guest->host */
        VM_AGENT_SIGNAL = 'K', /* host->guest: u32 signal number */
        VM_AGENT_EXIT = 'E', /* guest->host: i32 status (code, or 128+signal) */
        VM_AGENT_ERROR = 'X', /* guest->host: i32 errno, then "stage\0message" */
} VmAgentFrameType;

typedef struct VmProcessSpec {
        char **argv; /* required */
        char **env;
        const char *cwd;
        uint32_t uid, gid;
        const char *hostname;
} VmProcessSpec;

/* Encode a process spec as a VM_AGENT_SPEC payload (malloc'd). */
int vm_agent_encode_spec(const VmProcessSpec *spec, char **ret, size_t *ret_len);
/* Write one frame; read one frame (payload malloc'd, NUL-terminated). -EPROTO on a bad frame. */
int vm_agent_write_frame(int fd, uint8_t type, const void *data, size_t len);
int vm_agent_read_frame(int fd, uint8_t *ret_type, char **ret_data, size_t *ret_len);
