/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM: guest memory, devices, vCPU threads and the device loop, and the
 * port/MMIO dispatch between them.
 *
 * Threads:
 *   vm_run() caller  waits for an exit or a request (stop, snapshot)
 *   vcpuN            KVM_RUN loop; port and MMIO exits are served here
 *   loop             every host-side fd: ioeventfds (queue kicks), tap,
 *                    vsock sockets, console input
 * Interrupts reach the guest through irqfds (virtio) and KVM_IRQ_LINE (UART).
 */
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <time.h>

#include <linux/fs.h>

#include "microvm-internal.h"

#define MMIO_QUEUE_NOTIFY 0x50
#define RESET_PORT 0xcf9
#define SLP_EN 0x20
#define SLP_TYP_S5 5

const char *vm_exit_reason_to_string(VmExitReason r) {
        static const char *const names[] = {
                [VM_EXIT_POWEROFF] = "poweroff", [VM_EXIT_REBOOT] = "reboot",   [VM_EXIT_CRASH] = "crash",
                [VM_EXIT_STOPPED] = "stopped",   [VM_EXIT_TIMEOUT] = "timeout",
        };
        return r >= 0 && r < _VM_EXIT_MAX ? names[r] : NULL;
}

int vm_config_validate(const VmConfig *c, char **error_msg) {
        if (!c)
                return -EINVAL;
        if (c->memory < VM_MIN_MEMORY || c->memory > VM_MAX_MEMORY || c->memory % (2ULL << 20))
                return error_msg_set(
                                error_msg, -EINVAL,
                                "memory must be a multiple of 2 MiB between %llu MiB and %llu GiB",
                                VM_MIN_MEMORY >> 20, VM_MAX_MEMORY >> 30);
        if (c->vcpus < 1 || c->vcpus > VM_MAX_VCPUS)
                return error_msg_set(error_msg, -EINVAL, "vcpus must be between 1 and %d", VM_MAX_VCPUS);
        if (c->n_disks > VM_MAX_DISKS || c->n_nets > VM_MAX_NETS)
                return error_msg_set(error_msg, -EINVAL, "too many disks or network interfaces");
        if (c->n_disks + c->n_nets + (c->vsock_cid ? 1 : 0) + (c->rng ? 1 : 0) > VM_MMIO_MAX_DEVICES)
                return error_msg_set(error_msg, -EINVAL, "more than %d virtio devices", VM_MMIO_MAX_DEVICES);
        for (size_t i = 0; i < c->n_disks; i++)
                if (isempty(c->disks[i].path))
                        return error_msg_set(error_msg, -EINVAL, "disk %zu has no path", i);
        for (size_t i = 0; i < c->n_nets; i++)
                if (isempty(c->nets[i].tap) || strlen(c->nets[i].tap) >= IFNAMSIZ)
                        return error_msg_set(
                                        error_msg, -EINVAL, "tap name must be 1 to %d characters",
                                        IFNAMSIZ - 1);
        if (c->vsock_cid != 0 && (c->vsock_cid < 3 || c->vsock_cid == UINT32_MAX || isempty(c->vsock_socket)))
                return error_msg_set(error_msg, -EINVAL, "vsock needs a cid >= 3 and a socket path");
        if (c->console < 0 || c->console >= _VM_CONSOLE_MAX ||
            (c->console == VM_CONSOLE_FILE && isempty(c->console_path)))
                return error_msg_set(error_msg, -EINVAL, "console file mode needs a path");
        return 0;
}

/* ------------------------------------------------------------ run control */

void vm_wake_runner(Vm *vm) {
        uint64_t one = 1;
        (void) !write(vm->wake_fd, &one, sizeof(one));
}

void vm_request_exit(Vm *vm, VmExitReason reason, const char *msg) {
        pthread_mutex_lock(&vm->lock);
        if (!vm->exiting) {
                vm->exiting = true;
                vm->exit.reason = reason;
                vm->exit.status = vm->guest_status;
                if (msg)
                        snprintf(vm->exit.message, sizeof(vm->exit.message), "%s", msg);
        }
        pthread_cond_broadcast(&vm->cond);
        pthread_mutex_unlock(&vm->lock);
        vm_wake_runner(vm);
}

void vm_request_stop(Vm *vm) {
        vm->req_stop = 1;
        vm_wake_runner(vm);
}

void vm_request_snapshot(Vm *vm, const char *dir) {
        vm->snapshot_dir = dir;
        vm->req_snapshot = 1;
        vm_wake_runner(vm);
}

int vm_boot_marker_usec(Vm *vm, uint64_t *ret) {
        bool seen;
        uint64_t v;

        pthread_mutex_lock(&vm->io_lock);
        seen = vm->marker_seen;
        v = vm->marker_usec;
        pthread_mutex_unlock(&vm->io_lock);
        if (!seen)
                return -ENODATA;
        *ret = v;
        return 0;
}

/* ------------------------------------------------------------ exits */

static void debug_page(Vm *vm, uint64_t off, bool is_write, uint8_t *data, unsigned size) {
        uint32_t v = 0;

        if (!is_write) {
                memset(data, 0, size);
                return;
        }
        memcpy(&v, data, MIN(size, 4U));
        pthread_mutex_lock(&vm->io_lock);
        if (off == VM_DEBUG_MARKER && !vm->marker_seen) {
                vm->marker_usec = now_usec(CLOCK_MONOTONIC) - vm->start_usec;
                vm->marker_seen = true;
        } else if (off == VM_DEBUG_STATUS)
                vm->guest_status = (int32_t) v;
        pthread_mutex_unlock(&vm->io_lock);
        if (off == VM_DEBUG_CONSOLE && vm->console_out >= 0)
                (void) loop_write(vm->console_out, data, 1);
}

static void on_mmio(void *opaque, unsigned cpu, uint64_t addr, bool is_write, uint8_t *data, unsigned size) {
        Vm *vm = opaque;

        if (addr >= VM_MMIO_BASE && addr < VM_MMIO_BASE + vm->n_devs * VM_MMIO_SIZE) {
                VmDevice *d = &vm->devs[(addr - VM_MMIO_BASE) / VM_MMIO_SIZE];
                uint64_t val = 0;
                if (is_write)
                        memcpy(&val, data, size);
                (void) vm_mmio_access(d->dev, addr & (VM_MMIO_SIZE - 1), size, is_write, &val);
                if (!is_write)
                        memcpy(data, &val, size);
                return;
        }
        if (addr >= VM_DEBUG_BASE && addr < VM_DEBUG_BASE + VM_DEBUG_SIZE) {
                debug_page(vm, addr - VM_DEBUG_BASE, is_write, data, size);
                return;
        }
        if (!is_write)
                memset(data, 0xff, size); /* nothing there: reads float high */
}

static void on_pio(void *opaque, unsigned cpu, uint16_t port, bool is_write, uint8_t *data, unsigned size) {
        Vm *vm = opaque;
        bool reset;

        if (port >= VM_SERIAL_PORT && port < VM_SERIAL_PORT + 8) {
                serial_io(&vm->serial, port - VM_SERIAL_PORT, is_write, data);
                return;
        }
        switch (port) {
        case VM_I8042_DATA:
        case VM_I8042_CMD:
                pthread_mutex_lock(&vm->io_lock);
                reset = i8042_io(&vm->i8042, port, is_write, data);
                pthread_mutex_unlock(&vm->io_lock);
                if (reset)
                        vm_request_exit(vm, VM_EXIT_REBOOT, "i8042 reset");
                return;
        case VM_SLEEP_CONTROL_PORT:
                /* ACPI hardware-reduced sleep control: SLP_EN with SLP_TYP from \_S5 is poweroff */
                if (is_write && (data[0] & SLP_EN) && ((data[0] >> 2) & 7) == SLP_TYP_S5)
                        vm_request_exit(vm, VM_EXIT_POWEROFF, "ACPI S5");
                else if (!is_write)
                        data[0] = 0;
                return;
        case RESET_PORT:
                if (is_write && (data[0] & 0x4))
                        vm_request_exit(vm, VM_EXIT_REBOOT, "ACPI reset");
                else if (!is_write)
                        data[0] = 0;
                return;
        default:
                if (!is_write)
                        memset(data, 0xff, size);
        }
}

const VcpuIo vm_vcpu_io = { .pio = on_pio, .mmio = on_mmio };

/* ------------------------------------------------------------ devices */

static void dev_irq(void *opaque) {
        VmDevice *d = opaque;
        uint64_t one = 1;
        (void) !write(d->irqfd, &one, sizeof(one));
}

static void serial_irq(void *opaque, bool level) {
        Vm *vm = opaque;
        (void) kvm_vm_irq_line(&vm->kvm, VM_SERIAL_IRQ, level);
}

static void net_event(void *opaque, uint32_t events) {
        VmDevice *d = opaque;

        virtio_net_rx(d->dev);
        /* no rx buffers left: stop polling the tap until the guest adds some */
        if (!virtio_net_wants_rx(d->dev) && d->net_polling) {
                (void) event_loop_mod(d->vm->loop, d->net_fd, 0);
                d->net_polling = false;
        }
}

static void kick_event(void *opaque, uint32_t events) {
        VmDevice *d = opaque;
        uint64_t v;

        for (unsigned q = 0; q < d->dev->ops->num_queues; q++) {
                if (read(d->kickfd[q], &v, sizeof(v)) != sizeof(v))
                        continue;
                virtio_dev_kick(d->dev, q);
                if (d->kind == VM_DEV_NET && q == 0 && !d->net_polling) {
                        (void) event_loop_mod(d->vm->loop, d->net_fd, EPOLLIN);
                        d->net_polling = true;
                }
        }
}

static int open_tap(const char *name, int *ret) {
        struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
        _cleanup_close_ int fd = -EBADF;
        int hdr = VIRTIO_NET_HDR_LEN;

        fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
            ioctl(fd, TUNSETOFFLOAD, 0) < 0)
                return -errno;
        *ret = TAKE_FD(fd);
        return 0;
}

static int open_disk(const VmDisk *disk, int *ret_fd, uint64_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        uint64_t size;

        fd = open(disk->path, (disk->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISBLK(st.st_mode)) {
                if (ioctl(fd, BLKGETSIZE64, &size) < 0)
                        return -errno;
        } else if (S_ISREG(st.st_mode))
                size = (uint64_t) st.st_size;
        else
                return -EINVAL;
        *ret_fd = TAKE_FD(fd);
        *ret_size = size;
        return 0;
}

static void derive_mac(const char *name, uint8_t mac[6]) {
        uint64_t h = hash64(name, strlen(name));
        mac[0] = 0x02; /* locally administered, unicast */
        for (int i = 1; i < 6; i++)
                mac[i] = (uint8_t) (h >> (8 * i));
}

static int add_device(Vm *vm, VmDevKind kind, VirtioDev *dev, int net_fd) {
        VmDevice *d = &vm->devs[vm->n_devs];
        unsigned i = (unsigned) vm->n_devs;
        int r;

        *d = (VmDevice){ .kind = kind,
                         .dev = dev,
                         .vm = vm,
                         .base = VM_MMIO_BASE + i * VM_MMIO_SIZE,
                         .gsi = KVM_GSI_VIRTIO(i),
                         .irqfd = -EBADF,
                         .net_fd = net_fd };
        for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
                d->kickfd[q] = -EBADF;
        vm->n_devs++;
        dev->irq_raise = dev_irq;
        dev->irq_opaque = d;

        d->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->irqfd < 0)
                return -errno;
        r = kvm_vm_irqfd(&vm->kvm, d->irqfd, d->gsi);
        if (r < 0)
                return r;
        for (unsigned q = 0; q < dev->ops->num_queues; q++) {
                d->kickfd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (d->kickfd[q] < 0)
                        return -errno;
                r = kvm_vm_ioeventfd(&vm->kvm, d->kickfd[q], d->base + MMIO_QUEUE_NOTIFY, q);
                if (r < 0)
                        return r;
                r = event_loop_add(vm->loop, d->kickfd[q], EPOLLIN, kick_event, d);
                if (r < 0)
                        return r;
        }
        if (kind == VM_DEV_NET) {
                r = event_loop_add(vm->loop, net_fd, EPOLLIN, net_event, d);
                if (r < 0)
                        return r;
                d->net_polling = true;
        }
        return 0;
}

static int create_devices(Vm *vm, char **error_msg) {
        const VmConfig *c = &vm->cfg;
        VirtioDev *dev;
        int r;

        for (size_t i = 0; i < c->n_disks; i++) {
                char serial[21];
                uint64_t size = 0;
                int fd = -EBADF;

                r = open_disk(&c->disks[i], &fd, &size);
                if (r < 0)
                        return error_msg_set(
                                        error_msg, r, "cannot open disk '%s': %s", c->disks[i].path,
                                        strerror(-r));
                snprintf(serial, sizeof(serial), "aula-disk%zu", i);
                r = virtio_blk_new(
                                vm->gm, &blk_fd_ops, (void *) (intptr_t) fd, size, c->disks[i].read_only,
                                serial, &dev);
                if (r < 0) {
                        safe_close(fd);
                        return r;
                }
                r = add_device(vm, VM_DEV_BLK, dev, -1);
                vm->devs[vm->n_devs - 1].net_fd = fd; /* the disk fd, closed with the device */
                if (r < 0)
                        return error_msg_set(
                                        error_msg, r, "cannot wire disk '%s': %s", c->disks[i].path,
                                        strerror(-r));
        }
        for (size_t i = 0; i < c->n_nets; i++) {
                uint8_t mac[6];
                int fd = -EBADF;

                r = open_tap(c->nets[i].tap, &fd);
                if (r < 0)
                        return error_msg_set(
                                        error_msg, r, "cannot open tap '%s': %s", c->nets[i].tap,
                                        strerror(-r));
                if (c->nets[i].has_mac)
                        memcpy(mac, c->nets[i].mac, 6);
                else
                        derive_mac(c->nets[i].tap, mac);
                r = virtio_net_new(vm->gm, fd, mac, &dev);
                if (r < 0) {
                        safe_close(fd);
                        return r;
                }
                r = add_device(vm, VM_DEV_NET, dev, fd);
                if (r < 0)
                        return error_msg_set(
                                        error_msg, r, "cannot wire tap '%s': %s", c->nets[i].tap,
                                        strerror(-r));
        }
        if (c->vsock_cid) {
                r = virtio_vsock_new(vm->gm, vm->loop, c->vsock_cid, c->vsock_socket, &dev);
                if (r < 0)
                        return error_msg_set(
                                        error_msg, r, "cannot listen on vsock socket '%s': %s",
                                        c->vsock_socket, strerror(-r));
                r = add_device(vm, VM_DEV_VSOCK, dev, -1);
                if (r < 0)
                        return r;
        }
        if (c->rng) {
                r = virtio_rng_new(vm->gm, NULL, &dev);
                if (r < 0)
                        return r;
                r = add_device(vm, VM_DEV_RNG, dev, -1);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ------------------------------------------------------------ console */

static void stdin_event(void *opaque, uint32_t events) {
        Vm *vm = opaque;
        uint8_t buf[64];
        ssize_t n;
        size_t room = 0;

        pthread_mutex_lock(&vm->serial.lock);
        room = sizeof(vm->serial.rx) - vm->serial.rx_len;
        pthread_mutex_unlock(&vm->serial.lock);
        if (room == 0) {
                /* the guest is not reading: poll again in 10 ms instead of spinning */
                struct itimerspec ts = { .it_value.tv_nsec = 10 * 1000 * 1000 };
                (void) event_loop_mod(vm->loop, vm->console_in, 0);
                (void) timerfd_settime(vm->stdin_timer, 0, &ts, NULL);
                return;
        }
        n = read(vm->console_in, buf, MIN(room, sizeof(buf)));
        if (n <= 0) {
                if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                        (void) event_loop_del(vm->loop, vm->console_in);
                        vm->console_in = -1;
                }
                return;
        }
        (void) serial_input(&vm->serial, buf, (size_t) n);
}

static void stdin_timer_event(void *opaque, uint32_t events) {
        Vm *vm = opaque;
        uint64_t v;

        (void) !read(vm->stdin_timer, &v, sizeof(v));
        if (vm->console_in >= 0)
                (void) event_loop_mod(vm->loop, vm->console_in, EPOLLIN);
}

static int setup_console(Vm *vm, char **error_msg) {
        int r;

        vm->console_in = vm->console_out = -1;
        if (vm->cfg.console == VM_CONSOLE_FILE) {
                vm->console_out = open(vm->cfg.console_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                if (vm->console_out < 0)
                        return error_msg_set(
                                        error_msg, -errno, "cannot open console file '%s': %m",
                                        vm->cfg.console_path);
        } else if (vm->cfg.console == VM_CONSOLE_STDIO) {
                vm->console_out = STDOUT_FILENO;
                vm->console_in = STDIN_FILENO;
                if (isatty(STDIN_FILENO)) {
                        struct termios t;
                        vm->saved_termios = malloc(sizeof(struct termios));
                        if (vm->saved_termios && tcgetattr(STDIN_FILENO, vm->saved_termios) == 0) {
                                t = *vm->saved_termios;
                                cfmakeraw(&t);
                                t.c_lflag |= ISIG; /* keep ^C for the host */
                                t.c_oflag |= OPOST | ONLCR;
                                (void) tcsetattr(STDIN_FILENO, TCSANOW, &t);
                        }
                }
                vm->stdin_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
                if (vm->stdin_timer < 0)
                        return -errno;
                r = event_loop_add(vm->loop, vm->stdin_timer, EPOLLIN, stdin_timer_event, vm);
                if (r < 0)
                        return r;
                /* regular files and /dev/null cannot be polled: then the guest gets no input */
                if (event_loop_add(vm->loop, vm->console_in, EPOLLIN, stdin_event, vm) < 0)
                        vm->console_in = -1;
        }
        serial_init(&vm->serial, vm->console_out, serial_irq, vm);
        return 0;
}

/* ------------------------------------------------------------ lifecycle */

int vm_create(const VmConfig *c, Vm **ret, char **error_msg) {
        Vm *vm;
        int r;

        r = vm_config_validate(c, error_msg);
        if (r < 0)
                return r;
        vm = calloc(1, sizeof(*vm));
        if (!vm)
                return -ENOMEM;
        vm->cfg = *c;
        vm->start_usec = c->start_usec ?: now_usec(CLOCK_MONOTONIC);
        vm->n_vcpus = c->vcpus;
        vm->wake_fd = vm->stdin_timer = -EBADF;
        vm->console_in = vm->console_out = -1;
        vm->kvm = (KvmVm){ .kvm_fd = -EBADF, .vm_fd = -EBADF };
        for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
                vm->vcpus[i].fd = -EBADF;
        pthread_mutex_init(&vm->lock, NULL);
        pthread_mutex_init(&vm->io_lock, NULL);
        pthread_cond_init(&vm->cond, NULL);
        i8042_init(&vm->i8042);

        r = cpuid_parse_mask(c->cpuid_mask, &vm->masks, &vm->n_masks, error_msg);
        if (r < 0)
                goto fail;
        vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (vm->wake_fd < 0) {
                r = -errno;
                goto fail;
        }
        r = kvm_vm_open(&vm->kvm, error_msg);
        if (r < 0)
                goto fail;
        r = gm_new(c->memory, c->hugepages, &vm->gm);
        if (r < 0) {
                error_msg_set(error_msg, r, "cannot allocate %" PRIu64 " MiB of guest memory%s: %s",
                              c->memory >> 20, c->hugepages ? " in hugepages" : "", strerror(-r));
                goto fail;
        }
        r = kvm_vm_set_memory_start(&vm->kvm, vm->gm);
        if (r < 0) {
                error_msg_set(error_msg, r, "cannot register guest memory with KVM: %s", strerror(-r));
                goto fail;
        }
        r = kvm_vm_setup_irqchip(&vm->kvm);
        if (r < 0) {
                error_msg_set(error_msg, r, "cannot create the in-kernel irqchip and PIT: %s", strerror(-r));
                goto fail;
        }
        r = event_loop_new(&vm->loop);
        if (r < 0)
                goto fail;
        r = setup_console(vm, error_msg);
        if (r < 0)
                goto fail;
        r = create_devices(vm, error_msg);
        if (r < 0)
                goto fail;
        r = kvm_vm_supported_cpuid(&vm->kvm, &vm->cpuid, &vm->n_cpuid);
        if (r < 0) {
                error_msg_set(error_msg, r, "cannot read KVM's supported CPUID: %s", strerror(-r));
                goto fail;
        }
        *ret = vm;
        return 0;
fail:
        vm_free(vm);
        return r;
}

int vm_vcpus_create(Vm *vm) {
        for (unsigned i = 0; i < vm->n_vcpus; i++) {
                int r = kvm_vcpu_new(&vm->kvm, i, &vm->vcpus[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_file(const char *path, size_t max, char **ret, size_t *ret_len, char **error_msg, const char *what) {
        int r = read_full_file_at(AT_FDCWD, path, max, ret, ret_len);
        if (r == -EFBIG)
                return error_msg_set(error_msg, r, "%s '%s' is larger than %zu MiB", what, path, max >> 20);
        if (r < 0)
                return error_msg_set(error_msg, r, "cannot read %s '%s': %s", what, path, strerror(-r));
        return 0;
}

static int build_cmdline(Vm *vm, char **ret) {
        _cleanup_free_ char *s = strdup(vm->cfg.cmdline ?: "");

        if (!s)
                return -ENOMEM;
        /* kernels without ACPI find virtio-mmio devices only on the command line (virtio_mmio.c) */
        for (size_t i = 0; vm->cfg.no_acpi && i < vm->n_devs; i++) {
                char *n;
                if (asprintf(&n, "%s%svirtio_mmio.device=4K@0x%" PRIx64 ":%u", s, *s ? " " : "",
                             vm->devs[i].base, vm->devs[i].gsi) < 0)
                        return -ENOMEM;
                free(s);
                s = n;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int vm_new(const VmConfig *c, Vm **ret, char **error_msg) {
        _cleanup_free_ char *kernel = NULL, *initrd = NULL, *cmdline = NULL;
        size_t kernel_len = 0, initrd_len = 0;
        AcpiDevice acpi_devs[VM_MMIO_MAX_DEVICES];
        KernelFormat fmt;
        Vm *vm = NULL;
        int r;

        r = vm_config_validate(c, error_msg);
        if (r < 0)
                return r;
        if (isempty(c->kernel))
                return error_msg_set(error_msg, -EINVAL, "no kernel image given");
        /* Check the images before touching /dev/kvm, so a wrong path is the error the user sees. */
        r = read_file(c->kernel, 512ULL << 20, &kernel, &kernel_len, error_msg, "kernel");
        if (r < 0)
                return r;
        r = boot_probe_kernel((uint8_t *) kernel, kernel_len, &fmt, error_msg);
        if (r < 0)
                return r;
        if (c->initrd) {
                r = read_file(c->initrd, 2048ULL << 20, &initrd, &initrd_len, error_msg, "initrd");
                if (r < 0)
                        return r;
        }
        r = vm_create(c, &vm, error_msg);
        if (r < 0)
                return r;
        r = build_cmdline(vm, &cmdline);
        if (r < 0)
                goto fail;
        r = boot_load(vm->gm, (uint8_t *) kernel, kernel_len, (uint8_t *) initrd, initrd_len, cmdline,
                      &vm->boot, error_msg);
        if (r < 0)
                goto fail;
        if (!c->no_acpi) {
                for (size_t i = 0; i < vm->n_devs; i++)
                        acpi_devs[i] = (AcpiDevice){ vm->devs[i].base, VM_MMIO_SIZE, vm->devs[i].gsi };
                r = acpi_build(vm->gm, vm->n_vcpus, acpi_devs, vm->n_devs);
                if (r < 0) {
                        error_msg_set(error_msg, r, "cannot build ACPI tables: %s", strerror(-r));
                        goto fail;
                }
        }
        r = vm_vcpus_create(vm);
        if (r < 0) {
                error_msg_set(error_msg, r, "cannot create vCPUs: %s", strerror(-r));
                goto fail;
        }
        for (unsigned i = 0; i < vm->n_vcpus; i++) {
                _cleanup_free_ CpuidEntry *cp = malloc(vm->n_cpuid * sizeof(CpuidEntry));
                if (!cp) {
                        r = -ENOMEM;
                        goto fail;
                }
                memcpy(cp, vm->cpuid, vm->n_cpuid * sizeof(CpuidEntry));
                cpuid_normalize(cp, vm->n_cpuid, i, vm->n_vcpus, vm->masks, vm->n_masks);
                r = kvm_vcpu_setup(&vm->vcpus[i], cp, vm->n_cpuid, i == 0, vm->boot.entry, BOOT_PARAMS_ADDR);
                if (r < 0) {
                        error_msg_set(error_msg, r, "cannot set up vcpu%u: %s", i, strerror(-r));
                        goto fail;
                }
        }
        r = kvm_vm_set_memory_wait(&vm->kvm);
        if (r < 0) {
                error_msg_set(error_msg, r, "cannot register guest memory with KVM: %s", strerror(-r));
                goto fail;
        }
        *ret = vm;
        return 0;
fail:
        vm_free(vm);
        return r;
}

Vm *vm_free(Vm *vm) {
        if (!vm)
                return NULL;
        vm_forget_signals(vm);
        vm_stop_threads(vm);
        for (size_t i = 0; i < vm->n_devs; i++) {
                VmDevice *d = &vm->devs[i];
                for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
                        if (d->kickfd[q] >= 0)
                                (void) event_loop_del(vm->loop, d->kickfd[q]);
                        safe_close(d->kickfd[q]);
                }
                if (d->kind == VM_DEV_NET && d->net_fd >= 0)
                        (void) event_loop_del(vm->loop, d->net_fd);
                if (d->kind == VM_DEV_BLK)
                        safe_close(d->net_fd);
                safe_close(d->irqfd);
                virtio_dev_free(d->dev); /* closes a net device's tap */
        }
        for (unsigned i = 0; i < vm->n_vcpus; i++)
                if (vm->vcpus[i].fd >= 0)
                        kvm_vcpu_close(&vm->vcpus[i]);
        event_loop_free(vm->loop);
        if (vm->saved_termios) {
                (void) tcsetattr(STDIN_FILENO, TCSANOW, vm->saved_termios);
                free(vm->saved_termios);
        }
        if (vm->cfg.console == VM_CONSOLE_FILE)
                safe_close(vm->console_out);
        safe_close(vm->stdin_timer);
        kvm_vm_close(&vm->kvm);
        gm_free(vm->gm);
        safe_close(vm->wake_fd);
        free(vm->cpuid);
        free(vm->masks);
        pthread_mutex_destroy(&vm->lock);
        pthread_mutex_destroy(&vm->io_lock);
        pthread_cond_destroy(&vm->cond);
        free(vm);
        return NULL;
}
