/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aula-vmm: the standalone microVM monitor. Parses argv into a VmConfig,
 * calls libaula-microvm, and turns the guest's exit into an exit status:
 *
 *   guest's status   after poweroff or reboot (0 unless the guest set one)
 *   0                stopped by a signal or after --snapshot
 *   123              the guest crashed (triple fault, KVM error)
 *   124              --timeout elapsed
 *   125              bad arguments, or the VMM itself failed
 */
#include <getopt.h>
#include <time.h>

#include "common.h"
#include "microvm.h"

#define EXIT_CRASH 123
#define EXIT_TIMEOUT 124
#define EXIT_VMM 125

static VmConfig arg_cfg = {
        .memory = 128ULL << 20,
        .vcpus = 1,
        .rng = true,
        .console = VM_CONSOLE_STDIO,
};
static const char *arg_snapshot, *arg_restore;
static bool arg_boot_time;

static void help(void) {
        printf("Usage: aula-vmm --kernel IMAGE [OPTIONS]\n"
               "       aula-vmm --restore DIR [OPTIONS]\n"
               "\n"
               "Boot a Linux kernel (bzImage or ELF vmlinux) in a KVM microVM with virtio-mmio devices.\n"
               "\n"
               "  --kernel PATH           kernel image (bzImage, boot protocol >= 2.12, or ELF)\n"
               "  --initrd PATH           initial ramdisk\n"
               "  --cmdline TEXT          kernel command line (default \"console=ttyS0 reboot=k panic=-1\")\n"
               "  --memory SIZE           guest RAM, e.g. 128M, 1G (default 128M; multiple of 2M)\n"
               "  --vcpus N               number of vCPUs (default 1, at most %d)\n"
               "  --disk PATH[,ro]        raw disk image as virtio-blk (repeatable; vda, vdb, ...)\n"
               "  --net tap=NAME[,mac=M]  virtio-net on a tap interface (repeatable)\n"
               "  --vsock cid=N,socket=P  virtio-vsock; host side as unix socket P (see docs/microvm.md)\n"
               "  --console stdio|file=PATH|none  where ttyS0 goes (default stdio)\n"
               "  --snapshot DIR          on SIGUSR1, write a snapshot to DIR and exit (SIGUSR2 pauses/resumes)\n"
               "  --restore DIR           resume a snapshot instead of booting a kernel\n"
               "  --cpuid-mask LIST       hide CPU features: names (avx512f,x2apic) or LEAF:SUB:REG:BIT\n"
               "  --no-rng                no virtio-rng device\n"
               "  --no-acpi               no ACPI tables; devices go on the command line instead\n"
               "  --hugepages             back guest RAM with 2 MiB hugepages\n"
               "  --timeout SECONDS       stop the guest after this long (exit status 124)\n"
               "  --boot-time             print the guest's boot-time marker (microseconds) on stderr\n"
               "  --no-seccomp            do not install seccomp filters (debugging)\n"
               "  -v, --verbose           debug logging\n"
               "  -h, --help              show this help\n"
               "\n"
               "Exit status: the guest's status after poweroff/reboot, 0 after a snapshot or signal,\n"
               "123 guest crash, 124 timeout, 125 usage or VMM error.\n",
               VM_MAX_VCPUS);
}

static int parse_disk(char *s) {
        char *opt = strchr(s, ',');

        if (arg_cfg.n_disks >= VM_MAX_DISKS)
                return log_error_errno(SYNTHETIC_ERRNO(E2BIG), "At most %d disks", VM_MAX_DISKS);
        if (opt) {
                *opt++ = 0;
                if (!streq(opt, "ro") && !streq(opt, "rw"))
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL), "Unknown disk option '%s' (use ro or rw)",
                                        opt);
        }
        if (isempty(s))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--disk needs a path");
        arg_cfg.disks[arg_cfg.n_disks++] = (VmDisk){ .path = s, .read_only = opt && streq(opt, "ro") };
        return 0;
}

static int parse_mac(const char *s, uint8_t mac[6]) {
        unsigned v[6];
        int n = 0;

        if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &n) != 6 ||
            (size_t) n != strlen(s))
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t) v[i];
        return (mac[0] & 1) ? -EINVAL : 0; /* multicast is not an interface address */
}

static int parse_net(char *s) {
        VmNet n = {};
        char *save = NULL;

        if (arg_cfg.n_nets >= VM_MAX_NETS)
                return log_error_errno(SYNTHETIC_ERRNO(E2BIG), "At most %d network interfaces", VM_MAX_NETS);
        for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                const char *v;
                if ((v = startswith(t, "tap=")))
                        n.tap = v;
                else if ((v = startswith(t, "mac="))) {
                        if (parse_mac(v, n.mac) < 0)
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Invalid MAC address '%s'", v);
                        n.has_mac = true;
                } else
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unknown --net option '%s'", t);
        }
        if (isempty(n.tap))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--net needs tap=NAME");
        arg_cfg.nets[arg_cfg.n_nets++] = n;
        return 0;
}

static int parse_vsock(char *s) {
        char *save = NULL;

        for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                const char *v;
                uint32_t cid;
                if ((v = startswith(t, "cid="))) {
                        if (safe_atou(v, &cid) < 0 || cid < 3 || cid == UINT32_MAX)
                                return log_error_errno(
                                                SYNTHETIC_ERRNO(EINVAL),
                                                "Invalid vsock cid '%s' (3 or more)", v);
                        arg_cfg.vsock_cid = cid;
                } else if ((v = startswith(t, "socket=")))
                        arg_cfg.vsock_socket = v;
                else
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unknown --vsock option '%s'", t);
        }
        if (!arg_cfg.vsock_cid || isempty(arg_cfg.vsock_socket))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--vsock needs cid=N,socket=PATH");
        return 0;
}

static int parse_console(const char *s) {
        const char *v;
        if (streq(s, "stdio"))
                arg_cfg.console = VM_CONSOLE_STDIO;
        else if (streq(s, "none"))
                arg_cfg.console = VM_CONSOLE_NONE;
        else if ((v = startswith(s, "file=")) && *v) {
                arg_cfg.console = VM_CONSOLE_FILE;
                arg_cfg.console_path = v;
        } else
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL), "Invalid --console '%s' (stdio, file=PATH or none)",
                                s);
        return 0;
}

enum {
        ARG_KERNEL = 0x100,
        ARG_INITRD,
        ARG_CMDLINE,
        ARG_MEMORY,
        ARG_VCPUS,
        ARG_DISK,
        ARG_NET,
        ARG_VSOCK,
        ARG_CONSOLE,
        ARG_SNAPSHOT,
        ARG_RESTORE,
        ARG_CPUID_MASK,
        ARG_NO_RNG,
        ARG_NO_ACPI,
        ARG_HUGEPAGES,
        ARG_TIMEOUT,
        ARG_BOOT_TIME,
        ARG_NO_SECCOMP,
};

static const struct option options[] = {
        { "kernel", required_argument, NULL, ARG_KERNEL },
        { "initrd", required_argument, NULL, ARG_INITRD },
        { "cmdline", required_argument, NULL, ARG_CMDLINE },
        { "memory", required_argument, NULL, ARG_MEMORY },
        { "vcpus", required_argument, NULL, ARG_VCPUS },
        { "disk", required_argument, NULL, ARG_DISK },
        { "net", required_argument, NULL, ARG_NET },
        { "vsock", required_argument, NULL, ARG_VSOCK },
        { "console", required_argument, NULL, ARG_CONSOLE },
        { "snapshot", required_argument, NULL, ARG_SNAPSHOT },
        { "restore", required_argument, NULL, ARG_RESTORE },
        { "cpuid-mask", required_argument, NULL, ARG_CPUID_MASK },
        { "no-rng", no_argument, NULL, ARG_NO_RNG },
        { "no-acpi", no_argument, NULL, ARG_NO_ACPI },
        { "hugepages", no_argument, NULL, ARG_HUGEPAGES },
        { "timeout", required_argument, NULL, ARG_TIMEOUT },
        { "boot-time", no_argument, NULL, ARG_BOOT_TIME },
        { "no-seccomp", no_argument, NULL, ARG_NO_SECCOMP },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        {},
};

/* Options with a value that needs checking; returns 0 or a logged -errno. */
static int parse_value(int c, char *arg) {
        uint64_t u;

        switch (c) {
        case ARG_MEMORY:
                if (parse_size(arg, &u) < 0)
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Invalid memory size '%s'", arg);
                arg_cfg.memory = u;
                return 0;
        case ARG_VCPUS:
                if (safe_atou(arg, &arg_cfg.vcpus) < 0)
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Invalid vCPU count '%s'", arg);
                return 0;
        case ARG_TIMEOUT:
                if (safe_atou64(arg, &u) < 0 || u == 0 || u > 86400 * 365)
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Invalid timeout '%s'", arg);
                arg_cfg.timeout_usec = u * 1000000;
                return 0;
        case ARG_DISK:
                return parse_disk(arg);
        case ARG_NET:
                return parse_net(arg);
        case ARG_VSOCK:
                return parse_vsock(arg);
        case ARG_CONSOLE:
                return parse_console(arg);
        default:
                return -EINVAL;
        }
}

static int parse_argv(int argc, char *argv[]) {
        int c, r;

        while ((c = getopt_long(argc, argv, "vh", options, NULL)) >= 0) {
                switch (c) {
                case ARG_KERNEL:
                        arg_cfg.kernel = optarg;
                        break;
                case ARG_INITRD:
                        arg_cfg.initrd = optarg;
                        break;
                case ARG_CMDLINE:
                        arg_cfg.cmdline = optarg;
                        break;
                case ARG_SNAPSHOT:
                        arg_snapshot = optarg;
                        break;
                case ARG_RESTORE:
                        arg_restore = optarg;
                        break;
                case ARG_CPUID_MASK:
                        arg_cfg.cpuid_mask = optarg;
                        break;
                case ARG_NO_RNG:
                        arg_cfg.rng = false;
                        break;
                case ARG_NO_ACPI:
                        arg_cfg.no_acpi = true;
                        break;
                case ARG_HUGEPAGES:
                        arg_cfg.hugepages = true;
                        break;
                case ARG_BOOT_TIME:
                        arg_boot_time = true;
                        break;
                case ARG_NO_SECCOMP:
                        arg_cfg.no_seccomp = true;
                        break;
                case 'v':
                        log_set_max_level(LOG_LEVEL_DEBUG);
                        break;
                case 'h':
                        help();
                        return 0;
                case '?':
                        return -EINVAL;
                default:
                        r = parse_value(c, optarg);
                        if (r < 0)
                                return r;
                }
        }
        if (optind < argc)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unexpected argument '%s'", argv[optind]);
        if (!arg_cfg.kernel && !arg_restore)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Missing --kernel (or --restore); see --help");
        if (arg_cfg.kernel && arg_restore)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--kernel and --restore exclude each other");
        if (!arg_cfg.cmdline)
                arg_cfg.cmdline = "console=ttyS0 reboot=k panic=-1";
        return 1;
}

static int exit_code(const VmExit *e) {
        switch (e->reason) {
        case VM_EXIT_POWEROFF:
        case VM_EXIT_REBOOT:
                return e->status & 0xff;
        case VM_EXIT_STOPPED:
                return 0;
        case VM_EXIT_TIMEOUT:
                return EXIT_TIMEOUT;
        default:
                return EXIT_CRASH;
        }
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *error_msg = NULL;
        Vm *vm = NULL;
        VmExit e = {};
        uint64_t marker;
        int r;

        arg_cfg.start_usec = now_usec(CLOCK_MONOTONIC);
        arg_cfg.seccomp_caller = true;
        log_set_program("aula-vmm");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_VMM : 0;

        r = arg_restore ? vm_restore(&arg_cfg, arg_restore, &vm, &error_msg)
                        : vm_new(&arg_cfg, &vm, &error_msg);
        if (r < 0) {
                log_error_errno(r, "%s", error_msg ?: strerror(ERRNO_VALUE(r)));
                return EXIT_VMM;
        }
        r = vm_handle_signals(vm, arg_snapshot);
        if (r >= 0)
                r = vm_run(vm, &e);
        if (r < 0) {
                log_error_errno(r, "Failed to run the VM: %m");
                vm_free(vm);
                return EXIT_VMM;
        }
        if (arg_boot_time && vm_boot_marker_usec(vm, &marker) >= 0)
                fprintf(stderr, "aula-vmm: boot marker after %" PRIu64 " us\n", marker);
        vm_free(vm);
        if (e.reason == VM_EXIT_CRASH || e.reason == VM_EXIT_TIMEOUT)
                log_error("Guest %s: %s", vm_exit_reason_to_string(e.reason), e.message);
        else
                log_debug("Guest %s (%s), status %d", vm_exit_reason_to_string(e.reason), e.message, e.status);
        if (e.reason == VM_EXIT_STOPPED && arg_snapshot && streq(e.message, "snapshot written"))
                log_info("Snapshot written to '%s'", arg_snapshot);
        return exit_code(&e);
}
