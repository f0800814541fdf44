/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshots: a directory with two files.
 *
 *   memory  guest RAM as laid out in the memfd, written sparse (all-zero
 *           64 KiB chunks become holes)
 *   state   SnapHeader + TLV body: KVM VM state (irqchip, PIT, clock), one
 *           record per vCPU, device state, the device list
 *
 * The header carries a version, the body's and the memory's checksums and a
 * checksum of itself; restore refuses anything that does not match, and a
 * config whose devices differ from the snapshot's. The state file is written
 * last and atomically, so it is the commit point of a snapshot.
 */
#include <sys/stat.h>
#include <time.h>

#include "microvm-internal.h"

#define SNAP_MAGIC "AULASNAP"
#define SNAP_VERSION 1
#define SNAP_MAX_STATE (64U << 20)
#define CHUNK (64U << 10)

enum {
        TAG_KVM_VM = 1,
        TAG_DEVICE_KINDS = 2,
        TAG_DEVICES = 3,
        TAG_VCPU_BASE = 0x100,
        TAG_DEV_BASE = 0x200,
        TAG_SERIAL = 0x300,
        TAG_I8042 = 0x301,
        TAG_DEBUG = 0x302,
};

typedef struct SnapHeader {
        char magic[8];
        uint32_t version;
        uint32_t header_size;
        uint64_t body_len;
        uint64_t body_hash;
        uint64_t mem_size;
        uint64_t mem_hash;
        uint32_t n_vcpus;
        uint32_t n_devs;
        uint64_t header_hash; /* of everything above */
} SnapHeader;

typedef struct QueueState {
        uint16_t size, last_avail_idx, used_idx;
        uint8_t ready, broken;
        uint64_t desc_gpa, avail_gpa, used_gpa;
} QueueState;

typedef struct DevState {
        uint32_t device_id, status, device_features_sel, driver_features_sel, queue_sel, isr,
                        config_generation;
        uint64_t driver_features;
        QueueState q[VIRTIO_MAX_QUEUES];
} DevState;

typedef struct SerialState {
        uint8_t ier, thre, lcr, mcr, scr, dll, dlm, fcr;
        uint8_t rx[64];
        uint32_t rx_head, rx_len;
} SerialState;

typedef struct DebugState {
        uint64_t marker_usec;
        uint32_t marker_seen;
        int32_t guest_status;
} DebugState;

/* ------------------------------------------------------------ Buf and TLV */

void buf_put(Buf *b, const void *p, size_t n) {
        if (b->oom || n == 0)
                return;
        if (b->len + n > b->cap) {
                size_t cap = MAX(b->cap * 2, b->len + n + 4096);
                uint8_t *d = realloc(b->data, cap);
                if (!d) {
                        b->oom = true;
                        return;
                }
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

void buf_put_tlv(Buf *b, uint32_t tag, const void *p, size_t n) {
        uint32_t hdr[2] = { tag, (uint32_t) n };
        if (n > UINT32_MAX) {
                b->oom = true;
                return;
        }
        buf_put(b, hdr, sizeof(hdr));
        buf_put(b, p, n);
}

void buf_done(Buf *b) {
        free(b->data);
        *b = (Buf){};
}

int tlv_find(const uint8_t *p, size_t len, uint32_t tag, const uint8_t **ret, size_t *ret_len) {
        size_t off = 0;

        while (off < len) {
                uint32_t hdr[2];
                if (len - off < sizeof(hdr))
                        return -EBADMSG;
                memcpy(hdr, p + off, sizeof(hdr));
                off += sizeof(hdr);
                if (hdr[1] > len - off)
                        return -EBADMSG;
                if (hdr[0] == tag) {
                        *ret = p + off;
                        *ret_len = hdr[1];
                        return 0;
                }
                off += hdr[1];
        }
        return -ENOENT;
}

int tlv_get(const uint8_t *p, size_t len, uint32_t tag, void *out, size_t size) {
        const uint8_t *v;
        size_t n;
        int r = tlv_find(p, len, tag, &v, &n);
        if (r < 0)
                return r;
        if (n != size)
                return -EBADMSG;
        memcpy(out, v, size);
        return 0;
}

/* ------------------------------------------------------------ devices */

int vm_devices_save(Vm *vm, Buf *out) {
        SerialState ss;
        DebugState ds;
        uint8_t kinds[VM_MMIO_MAX_DEVICES];

        for (size_t i = 0; i < vm->n_devs; i++) {
                VirtioDev *d = vm->devs[i].dev;
                DevState st = {};

                pthread_mutex_lock(&d->lock);
                st = (DevState){ d->ops->device_id,      d->status,         d->device_features_sel,
                                 d->driver_features_sel, d->queue_sel,      d->isr,
                                 d->config_generation,   d->driver_features };
                for (unsigned q = 0; q < d->ops->num_queues; q++) {
                        const Vq *vq = &d->vqs[q];
                        st.q[q] = (QueueState){ vq->size,   vq->last_avail_idx, vq->used_idx,  vq->ready,
                                                vq->broken, vq->desc_gpa,       vq->avail_gpa, vq->used_gpa };
                }
                pthread_mutex_unlock(&d->lock);
                buf_put_tlv(out, TAG_DEV_BASE + (uint32_t) i, &st, sizeof(st));
                kinds[i] = (uint8_t) vm->devs[i].kind;
        }
        buf_put_tlv(out, TAG_DEVICE_KINDS, kinds, vm->n_devs);

        pthread_mutex_lock(&vm->serial.lock);
        ss = (SerialState){ vm->serial.ier, vm->serial.iir_pending_thre,
                            vm->serial.lcr, vm->serial.mcr,
                            vm->serial.scr, vm->serial.dll,
                            vm->serial.dlm, vm->serial.fcr };
        memcpy(ss.rx, vm->serial.rx, sizeof(ss.rx));
        ss.rx_head = vm->serial.rx_head;
        ss.rx_len = vm->serial.rx_len;
        pthread_mutex_unlock(&vm->serial.lock);
        buf_put_tlv(out, TAG_SERIAL, &ss, sizeof(ss));

        pthread_mutex_lock(&vm->io_lock);
        buf_put_tlv(out, TAG_I8042, &vm->i8042, sizeof(vm->i8042));
        ds = (DebugState){ vm->marker_usec, vm->marker_seen, vm->guest_status };
        pthread_mutex_unlock(&vm->io_lock);
        buf_put_tlv(out, TAG_DEBUG, &ds, sizeof(ds));
        return out->oom ? -ENOMEM : 0;
}

int vm_devices_restore(Vm *vm, const uint8_t *p, size_t len) {
        SerialState ss;
        DebugState ds;
        int r;

        for (size_t i = 0; i < vm->n_devs; i++) {
                VirtioDev *d = vm->devs[i].dev;
                DevState st;

                r = tlv_get(p, len, TAG_DEV_BASE + (uint32_t) i, &st, sizeof(st));
                if (r < 0)
                        return r;
                if (st.device_id != d->ops->device_id)
                        return -EBADMSG;
                pthread_mutex_lock(&d->lock);
                d->status = st.status;
                d->device_features_sel = st.device_features_sel;
                d->driver_features_sel = st.driver_features_sel;
                d->queue_sel = st.queue_sel;
                d->isr = st.isr;
                d->config_generation = st.config_generation;
                d->driver_features = st.driver_features & d->device_features;
                for (unsigned q = 0; q < d->ops->num_queues; q++) {
                        Vq *vq = &d->vqs[q];
                        vq->size = st.q[q].size;
                        vq->last_avail_idx = st.q[q].last_avail_idx;
                        vq->used_idx = st.q[q].used_idx;
                        vq->ready = st.q[q].ready;
                        vq->broken = st.q[q].broken;
                        vq->desc_gpa = st.q[q].desc_gpa;
                        vq->avail_gpa = st.q[q].avail_gpa;
                        vq->used_gpa = st.q[q].used_gpa;
                        /* the snapshot is checksummed, but a ready queue must still be sane */
                        if (vq->ready && vq_validate(vq) < 0)
                                vq->broken = true;
                }
                pthread_mutex_unlock(&d->lock);
        }
        r = tlv_get(p, len, TAG_SERIAL, &ss, sizeof(ss));
        if (r < 0)
                return r;
        pthread_mutex_lock(&vm->serial.lock);
        vm->serial.ier = ss.ier;
        vm->serial.iir_pending_thre = ss.thre;
        vm->serial.lcr = ss.lcr;
        vm->serial.mcr = ss.mcr;
        vm->serial.scr = ss.scr;
        vm->serial.dll = ss.dll;
        vm->serial.dlm = ss.dlm;
        vm->serial.fcr = ss.fcr;
        memcpy(vm->serial.rx, ss.rx, sizeof(ss.rx));
        vm->serial.rx_head = ss.rx_head % sizeof(ss.rx);
        vm->serial.rx_len = MIN(ss.rx_len, (uint32_t) sizeof(ss.rx));
        pthread_mutex_unlock(&vm->serial.lock);

        r = tlv_get(p, len, TAG_I8042, &vm->i8042, sizeof(vm->i8042));
        if (r < 0)
                return r;
        vm->i8042.out_len = MIN(vm->i8042.out_len, (unsigned) sizeof(vm->i8042.out));
        r = tlv_get(p, len, TAG_DEBUG, &ds, sizeof(ds));
        if (r < 0)
                return r;
        vm->marker_usec = ds.marker_usec;
        vm->marker_seen = ds.marker_seen;
        vm->guest_status = ds.guest_status;
        return 0;
}

/* ------------------------------------------------------------ files */

static bool all_zero(const uint8_t *p, size_t n) {
        const uint64_t *w = (const uint64_t *) p;
        for (size_t i = 0; i < n / 8; i++)
                if (w[i])
                        return false;
        return true;
}

/*
 * The memory checksum covers every non-zero CHUNK-aligned chunk as
 * (offset, length, bytes); all other bytes are zero by construction (holes in
 * the memfd, holes in the file). Only allocated extents are ever touched, so
 * neither snapshot nor restore faults in the guest's untouched RAM.
 */
static void hash_chunk(Hash64 *h, uint64_t off, const uint8_t *p, size_t n) {
        uint64_t hdr[2] = { off, n };
        hash64_update(h, hdr, sizeof(hdr));
        hash64_update(h, p, n);
}

/* Calls f for each CHUNK-aligned chunk that overlaps a data extent of fd. */
static int for_each_data_chunk(int fd, uint64_t size, int (*f)(void *, uint64_t, size_t), void *arg) {
        uint64_t off = 0;

        while (off < size) {
                off_t data = lseek(fd, (off_t) off, SEEK_DATA), hole;
                if (data < 0)
                        return errno == ENXIO ? 0 : -errno;
                hole = lseek(fd, data, SEEK_HOLE);
                if (hole < 0)
                        return -errno;
                for (uint64_t c = (uint64_t) data / CHUNK * CHUNK; c < (uint64_t) hole && c < size;
                     c += CHUNK) {
                        int r = f(arg, c, (size_t) MIN((uint64_t) CHUNK, size - c));
                        if (r < 0)
                                return r;
                }
                off = ((uint64_t) hole + CHUNK - 1) / CHUNK * CHUNK;
        }
        return 0;
}

typedef struct MemIo {
        Vm *vm;
        int fd;
        Hash64 h;
} MemIo;

static int save_chunk(void *arg, uint64_t off, size_t n) {
        MemIo *m = arg;
        const uint8_t *p = m->vm->gm->map + off;

        if (all_zero(p, n))
                return 0;
        hash_chunk(&m->h, off, p, n);
        if (pwrite(m->fd, p, n, (off_t) off) != (ssize_t) n)
                return errno ? -errno : -EIO;
        return 0;
}

static int write_memory(Vm *vm, int dirfd, uint64_t *ret_hash) {
        MemIo m = { .vm = vm, .fd = -EBADF };
        uint64_t size = vm->gm->ram_size;
        int r;

        m.fd = openat(dirfd, "memory.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (m.fd < 0)
                return -errno;
        hash64_init(&m.h);
        r = for_each_data_chunk(vm->gm->memfd, size, save_chunk, &m);
        if (r >= 0 && (ftruncate(m.fd, (off_t) size) < 0 || fsync(m.fd) < 0))
                r = -errno;
        safe_close(m.fd);
        if (r >= 0 && renameat(dirfd, "memory.tmp", dirfd, "memory") < 0)
                r = -errno;
        if (r < 0)
                return r;
        *ret_hash = hash64_final(&m.h);
        return 0;
}

static int load_chunk(void *arg, uint64_t off, size_t n) {
        MemIo *m = arg;
        uint8_t *p = m->vm->gm->map + off;
        size_t done = 0;

        while (done < n) {
                ssize_t k = pread(m->fd, p + done, n - done, (off_t) (off + done));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EIO;
                done += (size_t) k;
        }
        if (!all_zero(p, n))
                hash_chunk(&m->h, off, p, n);
        return 0;
}

static uint64_t header_hash(const SnapHeader *h) {
        return hash64(h, offsetof(SnapHeader, header_hash));
}

int vm_snapshot(Vm *vm, const char *dir, char **error_msg) {
        _cleanup_close_ int dirfd = -EBADF;
        _cleanup_(buf_done) Buf body = {}, file = {};
        SnapHeader h = { .magic = SNAP_MAGIC, .version = SNAP_VERSION, .header_size = sizeof(SnapHeader) };
        Buf vb = {};
        int r;

        if (isempty(dir))
                return -EINVAL;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return error_msg_set(error_msg, -errno, "cannot create snapshot directory '%s': %m", dir);
        dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dirfd < 0)
                return error_msg_set(error_msg, -errno, "cannot open snapshot directory '%s': %m", dir);

        r = kvm_vm_save(&vm->kvm, &vb);
        if (r >= 0)
                buf_put_tlv(&body, TAG_KVM_VM, vb.data, vb.len);
        buf_done(&vb);
        for (unsigned i = 0; r >= 0 && i < vm->n_vcpus; i++) {
                r = kvm_vcpu_save(&vm->vcpus[i], &vb);
                if (r >= 0)
                        buf_put_tlv(&body, TAG_VCPU_BASE + i, vb.data, vb.len);
                buf_done(&vb);
        }
        if (r >= 0)
                r = vm_devices_save(vm, &body);
        if (r >= 0 && body.oom)
                r = -ENOMEM;
        if (r < 0)
                return error_msg_set(error_msg, r, "cannot read VM state: %s", strerror(-r));

        r = write_memory(vm, dirfd, &h.mem_hash);
        if (r < 0)
                return error_msg_set(error_msg, r, "cannot write '%s/memory': %s", dir, strerror(-r));
        h.body_len = body.len;
        h.body_hash = hash64(body.data, body.len);
        h.mem_size = vm->gm->ram_size;
        h.n_vcpus = vm->n_vcpus;
        h.n_devs = (uint32_t) vm->n_devs;
        h.header_hash = header_hash(&h);
        buf_put(&file, &h, sizeof(h));
        buf_put(&file, body.data, body.len);
        if (file.oom)
                return -ENOMEM;
        r = write_file_atomic_at(dirfd, "state", file.data, file.len, 0600);
        if (r < 0)
                return error_msg_set(error_msg, r, "cannot write '%s/state': %s", dir, strerror(-r));
        return 0;
}

static int read_memory(Vm *vm, int dirfd, uint64_t expect, char **error_msg, const char *dir) {
        MemIo m = { .vm = vm, .fd = -EBADF };
        struct stat st;
        uint64_t size = vm->gm->ram_size;
        int r;

        m.fd = openat(dirfd, "memory", O_RDONLY | O_CLOEXEC);
        if (m.fd < 0 || fstat(m.fd, &st) < 0) {
                r = error_msg_set(error_msg, -errno, "cannot open '%s/memory': %m", dir);
                safe_close(m.fd);
                return r;
        }
        if ((uint64_t) st.st_size != size) {
                safe_close(m.fd);
                return error_msg_set(
                                error_msg, -EBADMSG, "'%s/memory' has %lld bytes, the snapshot says %" PRIu64,
                                dir, (long long) st.st_size, size);
        }
        hash64_init(&m.h);
        r = for_each_data_chunk(m.fd, size, load_chunk, &m);
        safe_close(m.fd);
        if (r < 0)
                return error_msg_set(error_msg, r, "cannot read '%s/memory': %s", dir, strerror(-r));
        if (hash64_final(&m.h) != expect)
                return error_msg_set(error_msg, -EBADMSG, "'%s/memory' does not match its checksum", dir);
        return 0;
}

static int read_state(const char *dir, int dirfd, SnapHeader *h, char **ret_body, char **error_msg) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r;

        r = read_full_file_at(dirfd, "state", SNAP_MAX_STATE, &data, &len);
        if (r < 0)
                return error_msg_set(error_msg, r, "cannot read '%s/state': %s", dir, strerror(-r));
        if (len < sizeof(*h))
                return error_msg_set(error_msg, -EBADMSG, "'%s/state' is truncated", dir);
        memcpy(h, data, sizeof(*h));
        if (memcmp(h->magic, SNAP_MAGIC, 8) != 0)
                return error_msg_set(error_msg, -EBADMSG, "'%s/state' is not an aula snapshot", dir);
        if (h->version != SNAP_VERSION || h->header_size != sizeof(*h))
                return error_msg_set(
                                error_msg, -EPROTONOSUPPORT,
                                "'%s/state' has snapshot version %u, this VMM reads %u", dir, h->version,
                                SNAP_VERSION);
        if (h->header_hash != header_hash(h) || h->body_len != len - sizeof(*h) ||
            hash64(data + sizeof(*h), h->body_len) != h->body_hash)
                return error_msg_set(error_msg, -EBADMSG, "'%s/state' is corrupted (checksum mismatch)", dir);
        memmove(data, data + sizeof(*h), h->body_len);
        *ret_body = TAKE_PTR(data);
        return 0;
}

static int check_devices(Vm *vm, const uint8_t *body, size_t len, char **error_msg) {
        static const char *const names[] = { "disk", "net", "vsock", "rng" };
        const uint8_t *kinds;
        size_t n;

        if (tlv_find(body, len, TAG_DEVICE_KINDS, &kinds, &n) < 0)
                return -EBADMSG;
        if (n != vm->n_devs)
                return error_msg_set(
                                error_msg, -EINVAL,
                                "the snapshot has %zu virtio devices, the configuration %zu", n, vm->n_devs);
        for (size_t i = 0; i < n; i++)
                if (kinds[i] != vm->devs[i].kind)
                        return error_msg_set(
                                        error_msg, -EINVAL, "device %zu is a %s in the snapshot but a %s here",
                                        i, kinds[i] < 4 ? names[kinds[i]] : "?", names[vm->devs[i].kind]);
        return 0;
}

static int restore_state(Vm *vm, const uint8_t *body, size_t len) {
        const uint8_t *p;
        size_t n;
        int r;

        r = tlv_find(body, len, TAG_KVM_VM, &p, &n);
        if (r < 0)
                return r;
        r = kvm_vm_restore(&vm->kvm, p, n);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < vm->n_vcpus; i++) {
                _cleanup_free_ CpuidEntry *cp = malloc(vm->n_cpuid * sizeof(CpuidEntry));
                if (!cp)
                        return -ENOMEM;
                memcpy(cp, vm->cpuid, vm->n_cpuid * sizeof(CpuidEntry));
                cpuid_normalize(cp, vm->n_cpuid, i, vm->n_vcpus, vm->masks, vm->n_masks);
                r = kvm_vcpu_set_cpuid(&vm->vcpus[i], cp, vm->n_cpuid);
                if (r < 0)
                        return r;
                r = tlv_find(body, len, TAG_VCPU_BASE + i, &p, &n);
                if (r < 0)
                        return r;
                r = kvm_vcpu_restore(&vm->vcpus[i], p, n);
                if (r < 0)
                        return r;
        }
        return vm_devices_restore(vm, body, len);
}

int vm_restore(const VmConfig *c, const char *dir, Vm **ret, char **error_msg) {
        _cleanup_free_ char *body = NULL;
        _cleanup_close_ int dirfd = -EBADF;
        VmConfig cfg = *c;
        SnapHeader h;
        Vm *vm = NULL;
        int r;

        dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dirfd < 0)
                return error_msg_set(error_msg, -errno, "cannot open snapshot directory '%s': %m", dir);
        r = read_state(dir, dirfd, &h, &body, error_msg);
        if (r < 0)
                return r;
        /* memory size and vCPU count come from the snapshot */
        cfg.memory = h.mem_size;
        cfg.vcpus = h.n_vcpus;
        r = vm_create(&cfg, &vm, error_msg);
        if (r < 0)
                return r;
        r = check_devices(vm, (uint8_t *) body, h.body_len, error_msg);
        if (r < 0)
                goto fail;
        r = read_memory(vm, dirfd, h.mem_hash, error_msg, dir);
        if (r < 0)
                goto fail;
        r = vm_vcpus_create(vm);
        if (r < 0)
                goto fail;
        r = restore_state(vm, (uint8_t *) body, h.body_len);
        if (r < 0) {
                if (error_msg && !*error_msg)
                        error_msg_set(error_msg, 0, "cannot restore VM state from '%s/state': %s", dir,
                                      strerror(-r));
                goto fail;
        }
        r = kvm_vm_set_memory_wait(&vm->kvm);
        if (r < 0) {
                error_msg_set(error_msg, 0, "cannot register guest memory with KVM: %s", strerror(-r));
                goto fail;
        }
        for (size_t i = 0; i < vm->n_devs; i++)
                if (vm->devs[i].kind == VM_DEV_VSOCK)
                        virtio_vsock_transport_reset(vm->devs[i].dev);
        *ret = vm;
        return 0;
fail:
        vm_free(vm);
        return r;
}
