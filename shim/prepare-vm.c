/* SPDX-License-Identifier: Apache-2.0 */
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "netns.h"
#include "oci.h"
#include "shim-lib.h"

/*
 * Preparing a VM instance (isolation vm), from the client's side:
 *
 *   kernel, initrd   $AULA_VM_KERNEL / $AULA_VM_INITRD, else DATA/vm/vmlinuz and
 *                    DATA/vm/initrd.img (contrib/guest-kernel.sh makes both; the
 *                    initramfs carries aula-init);
 *   /dev/vda         the image's root, read-only: the layer's own squashfs for a
 *                    one-layer image, else a flattened squashfs made once per
 *                    image (DATA/vm/roots/<digest>.sqfs);
 *   /dev/vdb         the instance's writable disk, DATA/instances/NAME/scratch.img
 *                    (sparse ext4): the overlay upper layer in the guest, kept
 *                    across restarts, snapshotted and reset like a container's;
 *   network          a tap on the lab bridge (libaula-netns), the address on the
 *                    kernel command line for aula-init;
 *   the process      Entrypoint + Cmd, Env, WorkingDir and a numeric User from the
 *                    image config, sent by the shim to aula-init.
 *
 * $AULA_VM_AGENT=PATH (aula-init) runs the agent on the host instead of booting
 * a VM (tests, hosts without hardware KVM): no kernel or disks are needed then.
 */

#define SCRATCH_SIZE (2ULL << 30)

static int run_cmd(char *const argv[]) {
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int r, status;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return exit_status_from_wait(status) == 0 ? 0 : -EIO;
}

int shim_vm_scratch(ShimContext *c, const char *name, char **ret) {
        _cleanup_free_ char *data = shim_data_dir(c, name), *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!data || !(path = path_join(data, "scratch.img")) || xasprintf(&tmp, "%s.new", path) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        if (access(path, F_OK) >= 0) {
                *ret = TAKE_PTR(path);
                return 0;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, (off_t) SCRATCH_SIZE) < 0)
                return log_error_errno(errno, "Cannot create '%s': %m", tmp);
        fd = safe_close(fd);
        r = run_cmd((char *const[]){ (char *) "mkfs.ext4", (char *) "-q", (char *) "-F", tmp, NULL });
        if (r < 0) {
                (void) unlink(tmp);
                return log_error_errno(r, "mkfs.ext4 of '%s' failed (is e2fsprogs installed?)", tmp);
        }
        if (rename(tmp, path) < 0)
                return log_error_errno(errno, "Cannot rename '%s': %m", tmp);
        *ret = TAKE_PTR(path);
        return 0;
}

/* The image's root as one squashfs file. */
static int root_disk(ShimContext *c, ImgStore *store, const char *digest, char **ret) {
        _cleanup_(img_info_freep) ImgInfo *info = NULL;
        _cleanup_free_ char *msg = NULL, *out = NULL, *tmp = NULL, *work = NULL, *rootfs = NULL;
        const char *hex = strchr(digest, ':');
        int r;

        r = img_inspect(store, digest, &info, &msg);
        if (r < 0)
                return log_error_errno(r, "image %s: %s", digest, msg ?: strerror(-r));
        if (info->n_layers == 1) {
                /* images/images.h: layers/<hex of the ChainID>.sqfs */
                const char *chain = strchr(info->layers[0].chain_id, ':');
                if (xasprintf(ret, "%s/images/layers/%s.sqfs", c->root,
                              chain ? chain + 1 : info->layers[0].chain_id) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");
                return 0;
        }
        if (xasprintf(&out, "%s/vm/roots/%s.sqfs", c->root, hex ? hex + 1 : digest) < 0 ||
            xasprintf(&tmp, "%s.new", out) < 0 ||
            xasprintf(&work, "%s/vm/roots/.flatten-%d", c->root, getpid()) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        if (access(out, F_OK) >= 0) {
                *ret = TAKE_PTR(out);
                return 0;
        }
        /* Several layers: flatten them once through an overlay, into one squashfs. */
        r = img_instance_root_create(store, digest, work, IMG_MOUNT_AUTO, &rootfs, &msg);
        if (r < 0)
                return log_error_errno(
                                r, "Cannot mount image %s to flatten it: %s", digest, msg ?: strerror(-r));
        r = run_cmd((char *const[]){ (char *) "mksquashfs", rootfs, tmp, (char *) "-noappend",
                                     (char *) "-quiet", (char *) "-comp", (char *) "zstd", NULL });
        msg = mfree(msg);
        (void) img_instance_root_destroy(store, work, &msg);
        (void) rm_rf_at(AT_FDCWD, work);
        if (r >= 0 && rename(tmp, out) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return log_error_errno(r, "Cannot flatten image %s with mksquashfs: %m", digest);
        }
        *ret = TAKE_PTR(out);
        return 0;
}

typedef struct VmProcess {
        char **args, **env;
        char *cwd;
        uint32_t uid, gid;
} VmProcess;

static void vm_process_done(VmProcess *p) {
        strv_free(p->args);
        strv_free(p->env);
        free(p->cwd);
}

static int process_from_image(ImgStore *store, const ShimDef *d, VmProcess *ret) {
        _cleanup_(oci_image_config_freep) OciImageConfig *ic = NULL;
        _cleanup_free_ char *text = NULL, *msg = NULL;
        VmProcess p = {};
        unsigned uid = 0, gid = 0;
        size_t len;
        int r;

        r = img_config_json(store, d->image_digest, &text, &len, &msg);
        if (r >= 0)
                r = oci_image_config_parse(text, len, &ic, &msg);
        if (r < 0)
                return log_error_errno(r, "image %s: %s", d->image, msg ?: strerror(-r));
        STRV_FOREACH(a, ic->entrypoint)
                if (strv_extend(&p.args, *a) < 0)
                        goto oom;
        STRV_FOREACH(a, d->cmd ?: ic->cmd)
                if (strv_extend(&p.args, *a) < 0)
                        goto oom;
        if (strv_length(p.args) == 0 && strv_extend(&p.args, "/bin/sh") < 0)
                goto oom;
        p.env = strv_copy(ic->env ?: (char *[]){ NULL });
        if (!p.env)
                goto oom;
        STRV_FOREACH(e, d->env)
                if (strv_env_set(&p.env, *e) < 0)
                        goto oom;
        p.cwd = strdup(isempty(ic->working_dir) ? "/" : ic->working_dir);
        if (!p.cwd)
                goto oom;
        if (!isempty(ic->user)) {
                /* Names would need the image's /etc/passwd, which lives inside the guest. */
                if (sscanf(ic->user, "%u:%u", &uid, &gid) < 1)
                        log_warning("%s: image user '%s' is not numeric; the VM's process runs as root",
                                    d->name, ic->user);
                else if (!strchr(ic->user, ':'))
                        gid = uid;
        }
        p.uid = uid;
        p.gid = gid;
        *ret = p;
        return 0;
oom:
        vm_process_done(&p);
        return log_error_errno(ENOMEM, "Out of memory");
}

/* What run.json says of a VM instance besides its definition and its process. */
typedef struct VmRunJson {
        const char *data; /* the instance's data directory */
        const char *cg; /* its cgroup */
        const char *kernel, *initrd, *cmdline;
        uint64_t memory;
        const char *tap; /* NULL: no network */
        const char *agent; /* AULA_VM_AGENT */
        const char *root, *scratch; /* disks; NULL: none */
} VmRunJson;

static void jw_vm_run(JsonWriter *w, const ShimContext *c, const ShimDef *d, const VmProcess *p, const VmRunJson *v) {
        jw_object_open(w);
        jw_key(w, "name");
        jw_string(w, d->name);
        jw_key(w, "isolation");
        jw_string(w, "vm");
        jw_key(w, "data_dir");
        jw_string(w, v->data);
        jw_key(w, "start");
        jw_bool(w, true);
        jw_key(w, "stop_timeout_ms");
        jw_uint(w, SHIM_DEFAULT_STOP_USEC / 1000);
        shim_jw_reap(w, c, d->name);
        jw_key(w, "vm");
        jw_object_open(w);
        jw_key(w, "kernel");
        jw_string(w, v->kernel);
        jw_key(w, "initrd");
        jw_string(w, v->initrd);
        jw_key(w, "cmdline");
        jw_string(w, v->cmdline);
        jw_key(w, "memory");
        jw_uint(w, v->memory);
        jw_key(w, "vcpus");
        jw_uint(w, d->limits.cpus_milli ? (d->limits.cpus_milli + 999) / 1000 : 1);
        jw_key(w, "vsock");
        jw_string(w, "vm.sock");
        jw_key(w, "tap");
        jw_string(w, v->tap);
        jw_key(w, "agent");
        jw_string(w, isempty(v->agent) ? NULL : v->agent);
        jw_key(w, "disks");
        jw_array_open(w);
        if (v->root) {
                jw_object_open(w);
                jw_key(w, "path");
                jw_string(w, v->root);
                jw_key(w, "read_only");
                jw_bool(w, true);
                jw_object_close(w);
        }
        if (v->scratch) {
                jw_object_open(w);
                jw_key(w, "path");
                jw_string(w, v->scratch);
                jw_object_close(w);
        }
        jw_array_close(w);
        jw_key(w, "args");
        jw_strv(w, p->args);
        jw_key(w, "env");
        jw_strv(w, p->env);
        jw_key(w, "cwd");
        jw_string(w, p->cwd);
        jw_key(w, "uid");
        jw_uint(w, p->uid);
        jw_key(w, "gid");
        jw_uint(w, p->gid);
        jw_key(w, "hostname");
        jw_string(w, d->student ?: d->name);
        jw_key(w, "cgroup");
        jw_string(w, v->cg);
        jw_object_close(w);
        jw_object_close(w);
}

int shim_vm_prepare(ShimContext *c, ShimStart *st, const char *run_dir) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_(netns_attachment_freep) NetnsAttachment *att = NULL;
        _cleanup_(vm_process_done) VmProcess p = {};
        _cleanup_free_ char *kernel = NULL, *initrd = NULL, *root = NULL, *scratch = NULL, *cmdline = NULL,
                            *text = NULL, *path = NULL, *data = shim_data_dir(c, st->name),
                            *cg = shim_cgroup_path(c, st->name), *err = NULL;
        const char *agent = getenv("AULA_VM_AGENT");
        const ShimDef *d = &st->def;
        uint64_t memory = d->limits.memory ?: 256ULL << 20;
        ImgStore *store;
        size_t len;
        int r;

        if (!data || !cg || !(path = path_join(run_dir, SHIM_RUN_CONFIG)))
                return log_error_errno(ENOMEM, "Out of memory");
        r = shim_store(c, &store);
        if (r < 0)
                return r;
        if (isempty(agent)) {
                const char *k = getenv("AULA_VM_KERNEL"), *i = getenv("AULA_VM_INITRD");
                kernel = !isempty(k) ? strdup(k) : path_join(c->root, "vm/vmlinuz");
                initrd = !isempty(i) ? strdup(i) : path_join(c->root, "vm/initrd.img");
                if (!kernel || !initrd)
                        return log_error_errno(ENOMEM, "Out of memory");
                if (access(kernel, R_OK) < 0)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(ENOENT),
                                        "%s: no guest kernel at %s (contrib/guest-kernel.sh makes a kernel and "
                                        "an initramfs with aula-init; or set AULA_VM_KERNEL and AULA_VM_INITRD)",
                                        st->name, kernel);
                if (access("/dev/kvm", R_OK | W_OK) < 0)
                        return log_error_errno(errno, "%s: VM instances need /dev/kvm: %m", st->name);
                r = root_disk(c, store, d->image_digest, &root);
                if (r >= 0)
                        r = shim_vm_scratch(c, d->name, &scratch);
                if (r < 0)
                        return r;
        }
        r = process_from_image(store, d, &p);
        if (r < 0)
                return r;
        /* Whole 2 MiB pages, as the VMM wants them. */
        memory = MAX((memory + (2ULL << 20) - 1) & ~((2ULL << 20) - 1), 64ULL << 20);
        if (xasprintf(&cmdline,
                      "console=ttyS0 reboot=k panic=-1 quiet aula.root=/dev/vda aula.scratch=/dev/vdb "
                      "aula.hostname=%s",
                      d->student ?: d->name) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        if (d->lab) {
                NetnsAttachOptions ao = { .ipv4 = d->ipv4 };
                char *more = NULL;
                r = netns_attach_tap(c->root, d->lab, d->student, &ao, NULL, &att, &err);
                if (r == -EEXIST) {
                        err = mfree(err);
                        (void) netns_detach(c->root, d->lab, d->student, NULL);
                        r = netns_attach_tap(c->root, d->lab, d->student, &ao, NULL, &att, &err);
                }
                if (r < 0)
                        return log_error_errno(
                                        r, "%s: cannot attach it to its lab network: %s", st->name,
                                        err ?: strerror(-r));
                if (xasprintf(&more, "%s aula.ip=%s/%u aula.gw=%s", cmdline, netns_attachment_ipv4(att),
                              netns_attachment_prefixlen(att), netns_attachment_gateway(att)) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");
                free(cmdline);
                cmdline = more;
        }
        if (json_writer_new(true, &w) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        jw_vm_run(w, c, d, &p,
                  &(VmRunJson){
                                  .data = data,
                                  .cg = cg,
                                  .kernel = kernel,
                                  .initrd = initrd,
                                  .cmdline = cmdline,
                                  .memory = memory,
                                  .tap = att ? netns_attachment_host_link(att) : NULL,
                                  .agent = agent,
                                  .root = root,
                                  .scratch = scratch,
                  });
        r = json_writer_finish(w, &text, &len);
        if (r >= 0)
                r = write_file_atomic_at(AT_FDCWD, path, text, len, 0600);
        if (r < 0)
                return log_error_errno(r, "Cannot write '%s': %m", path);
        if (att && !streq_ptr(st->def.ipv4, netns_attachment_ipv4(att))) {
                free(st->def.ipv4);
                st->def.ipv4 = strdup(netns_attachment_ipv4(att));
                if (st->def.ipv4)
                        (void) shim_def_save(c, &st->def);
        }
        return 0;
}
