/* SPDX-License-Identifier: Apache-2.0 */

/*
 * Instance roots: an overlay of shared, read-only squashfs layers.
 *
 * Each layer is mounted once, at <store>/mnt/<hex>, and shared by every
 * instance that uses it; <store>/mnt/<hex>.refs/ holds one entry per
 * instance (named by a hash of the instance directory), and the last
 * instance to go unmounts the layer. mnt/<hex>.lock serializes mounting,
 * referencing and unmounting one layer across processes.
 *
 * Creating an instance root, in order (undone in reverse on failure):
 *   1. take the store lock shared (gc cannot delete the layers meanwhile);
 *   2. per layer: mount it if nobody has, add this instance's reference;
 *   3. create upper/, work/ and rootfs/ in the instance directory;
 *   4. mount the overlay (lowerdir+ per layer, topmost first; the new mount
 *      API has no 4 KiB limit on the option string);
 *   5. write image-root.json, which destroy() reads.
 *
 * Backends: the kernel's squashfs over a loop device (LOOP_CONFIGURE, read
 * only, auto-clear: the device goes away with the last unmount), or
 * squashfuse where the kernel's is out of reach (user namespaces). In a user
 * namespace overlayfs reads user.overlay.* instead of trusted.overlay.*
 * ("userxattr"); layer conversion writes both.
 */

#include <dirent.h>
#include <limits.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "images-internal.h"

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

#define STATE_FILE "image-root.json"
#define LOOP_ATTEMPTS 32

static const char *const backend_names[_IMG_MOUNT_BACKEND_MAX] = {
        [IMG_MOUNT_AUTO] = "auto",
        [IMG_MOUNT_KERNEL] = "kernel",
        [IMG_MOUNT_SQUASHFUSE] = "squashfuse",
};

const char *img_mount_backend_to_string(ImgMountBackend b) {
        return b >= 0 && b < _IMG_MOUNT_BACKEND_MAX ? backend_names[b] : NULL;
}

ImgMountBackend img_mount_backend_from_string(const char *s) {
        for (int i = 0; s && i < _IMG_MOUNT_BACKEND_MAX; i++)
                if (streq(backend_names[i], s))
                        return (ImgMountBackend) i;
        return _IMG_MOUNT_BACKEND_INVALID;
}

/* A layer's file stem "<hex>" from layers/<hex>.sqfs. */
static int layer_name(const char *chain_id, char **ret) {
        _cleanup_free_ char *p = NULL;
        int r = img_layer_path(chain_id, "", &p);
        if (r < 0)
                return r;
        *ret = strdup(p + STRLEN("layers/"));
        return *ret ? 0 : -ENOMEM;
}

static bool is_mountpoint_at(int dirfd, const char *path) {
        struct stat a, b;
        _cleanup_free_ char *parent = NULL;
        const char *slash = strrchr(path, '/');

        if (fstatat(dirfd, path, &a, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(a.st_mode))
                return false;
        parent = slash ? strndup(path, (size_t) (slash - path)) : strdup(".");
        if (!parent || fstatat(dirfd, parent, &b, AT_SYMLINK_NOFOLLOW) < 0)
                return false;
        return a.st_dev != b.st_dev;
}

static bool dir_has_entries_at(int dirfd, const char *path) {
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        struct dirent *de;
        bool found = false;
        DIR *d;

        if (fd < 0)
                return false;
        d = fdopendir(fd);
        if (!d)
                return false;
        fd = -EBADF;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        found = true;
                        break;
                }
        closedir(d);
        return found;
}

bool img_layer_in_use(ImgStore *s, const char *name) {
        _cleanup_free_ char *mnt = NULL, *refs = NULL;

        if (xasprintf(&mnt, "mnt/%s", name) < 0 || xasprintf(&refs, "mnt/%s.refs", name) < 0)
                return true; /* when in doubt, keep it */
        return is_mountpoint_at(s->dirfd, mnt) || dir_has_entries_at(s->dirfd, refs);
}

/* --------------------------------------------------------------- backends */

/*
 * Some backing file systems accept direct I/O at LOOP_CONFIGURE and fail every
 * read later (a file on overlayfs over tmpfs before Linux 6.6: overlayfs says
 * yes, tmpfs has no O_DIRECT). Read the first sector; on EIO turn direct I/O
 * off (LOOP_SET_DIRECT_IO) and read again.
 */
static int loop_dio_works(int lfd) {
        char sector[512];

        if (pread(lfd, sector, sizeof sector, 0) >= 0)
                return 0;
        if (errno != EIO || ioctl(lfd, LOOP_SET_DIRECT_IO, 0UL) < 0)
                return -EIO;
        return pread(lfd, sector, sizeof sector, 0) >= 0 ? 0 : -EIO;
}

static int loop_attach(int file_fd, const char *label, char **ret_dev, int *ret_fd, char **error_msg) {
        _cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        bool dio = true;

        if (ctl < 0)
                return img_err(error_msg, -errno, "cannot open /dev/loop-control: %m");
        for (int attempt = 0; attempt < LOOP_ATTEMPTS; attempt++) {
                _cleanup_free_ char *dev = NULL;
                _cleanup_close_ int lfd = -EBADF;
                struct loop_config cfg = {
                        .fd = (uint32_t) file_fd,
                        .info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR |
                                        (dio ? LO_FLAGS_DIRECT_IO : 0),
                };
                int nr = ioctl(ctl, LOOP_CTL_GET_FREE);

                if (nr < 0)
                        return img_err(error_msg, -errno, "no free loop device: %m");
                if (xasprintf(&dev, "/dev/loop%d", nr) < 0)
                        return -ENOMEM;
                lfd = open(dev, O_RDONLY | O_CLOEXEC);
                if (lfd < 0)
                        continue; /* raced with someone, or udev is late: try the next one */
                snprintf((char *) cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", label);
                if (ioctl(lfd, LOOP_CONFIGURE, &cfg) >= 0) {
                        if (dio && loop_dio_works(lfd) < 0)
                                return img_err(error_msg, -EIO, "cannot read %s through %s", label, dev);
                        *ret_dev = TAKE_PTR(dev);
                        *ret_fd = TAKE_FD(lfd);
                        return 0;
                }
                if (errno == EINVAL && dio) {
                        dio = false; /* backing file system without direct I/O */
                        continue;
                }
                if (errno != EBUSY)
                        return img_err(error_msg, -errno, "cannot set up %s: %m", dev);
        }
        return img_err(error_msg, -EBUSY, "no loop device could be claimed after %d attempts", LOOP_ATTEMPTS);
}

static int mount_kernel(ImgStore *s, const char *sqfs, const char *target, const char *label, char **error_msg) {
        _cleanup_close_ int file = -EBADF, lfd = -EBADF;
        _cleanup_free_ char *dev = NULL, *abs_target = NULL;
        int r;

        file = openat(s->dirfd, sqfs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (file < 0)
                return img_err(error_msg, -errno, "cannot open layer '%s': %m", sqfs);
        r = loop_attach(file, label, &dev, &lfd, error_msg);
        if (r < 0)
                return r;
        abs_target = path_join(s->dir, target);
        if (!abs_target)
                return -ENOMEM;
        /* nodev, nosuid: these mounts are only overlay lowers; the overlay decides for instances. */
        if (mount(dev, abs_target, "squashfs", MS_RDONLY | MS_NODEV | MS_NOSUID, NULL) < 0)
                return img_err(error_msg, -errno, "cannot mount layer '%s' (%s): %m", sqfs, dev);
        /* lfd closes here; the mount keeps the device, auto-clear frees it with the last unmount. */
        return 0;
}

static int run_helper(char *const argv[], char **error_msg) {
        pid_t pid;
        int status;

        pid = fork();
        if (pid < 0)
                return img_err(error_msg, -errno, "fork: %m");
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0) {
                        (void) dup2(null, STDIN_FILENO);
                        (void) dup2(null, STDOUT_FILENO);
                }
                execvp(argv[0], argv);
                _exit(127);
        }
        status = wait_for_pid(pid);
        if (status < 0)
                return img_err(error_msg, status, "waiting for %s: %s", argv[0], strerror(-status));
        if (status == 127)
                return img_err(error_msg, -ENOENT, "%s is not installed", argv[0]);
        if (status != 0)
                return img_err(error_msg, -EIO, "%s failed with exit status %d", argv[0], status);
        return 0;
}

static int mount_squashfuse(ImgStore *s, const char *sqfs, const char *target, char **error_msg) {
        _cleanup_free_ char *file = path_join(s->dir, sqfs), *dir = path_join(s->dir, target);

        if (!file || !dir)
                return -ENOMEM;
        /*
         * squashfuse daemonizes once the mount exists. allow_other: instance processes run under
         * other ids (root may always ask for it; in a user namespace it is ours to give).
         */
        return run_helper(
                        (char *[]){ "squashfuse", "-o", geteuid() == 0 ? "ro,allow_other" : "ro", file, dir,
                                    NULL },
                        error_msg);
}

static int unmount_layer(ImgStore *s, const char *target, char **error_msg) {
        _cleanup_free_ char *dir = path_join(s->dir, target);
        struct statfs sf;

        if (!dir)
                return -ENOMEM;
        if (umount2(dir, UMOUNT_NOFOLLOW) >= 0)
                return 0;
        if (errno == EPERM && statfs(dir, &sf) >= 0 && sf.f_type == FUSE_SUPER_MAGIC)
                return run_helper((char *[]){ "fusermount3", "-u", "-z", dir, NULL }, error_msg);
        if (errno == EBUSY && umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) >= 0)
                return 0; /* still used by someone's overlay; it goes when they do */
        return img_err(error_msg, -errno, "cannot unmount layer '%s': %m", dir);
}

/* --------------------------------------------------------- layer refcount */

static int layer_acquire(
                ImgStore *s,
                const char *name,
                ImgMountBackend backend,
                const char *key,
                const char *instance_dir,
                char **error_msg) {
        _cleanup_free_ char *mnt = NULL, *refs = NULL, *lockp = NULL, *sqfs = NULL, *ref = NULL, *label = NULL;
        _cleanup_close_ int lock = -EBADF;
        bool mounted_here = false;
        int r;

        if (xasprintf(&mnt, "mnt/%s", name) < 0 || xasprintf(&refs, "mnt/%s.refs", name) < 0 ||
            xasprintf(&lockp, "mnt/%s.lock", name) < 0 || xasprintf(&sqfs, "layers/%s.sqfs", name) < 0 ||
            xasprintf(&ref, "mnt/%s.refs/%s", name, key) < 0 || xasprintf(&label, "aula:%s", name) < 0)
                return -ENOMEM;
        r = lock_file_at(s->dirfd, lockp, LOCK_EX, &lock);
        if (r < 0)
                return img_err(error_msg, r, "cannot lock layer %s: %s", name, strerror(-r));
        if (!is_mountpoint_at(s->dirfd, mnt)) {
                /* References without a mount are left over from before a reboot: none of them is alive. */
                (void) rm_rf_at(s->dirfd, refs);
                if (mkdirat(s->dirfd, mnt, 0700) < 0 && errno != EEXIST)
                        return img_err(error_msg, -errno, "cannot create '%s': %m", mnt);
                if (backend == IMG_MOUNT_KERNEL)
                        r = mount_kernel(s, sqfs, mnt, label, error_msg);
                else
                        r = mount_squashfuse(s, sqfs, mnt, error_msg);
                if (r < 0)
                        return r;
                mounted_here = true;
        }
        if (mkdirat(s->dirfd, refs, 0700) < 0 && errno != EEXIST)
                r = -errno;
        else if (symlinkat(instance_dir, s->dirfd, ref) < 0 && errno != EEXIST)
                r = -errno;
        if (r < 0) {
                if (mounted_here)
                        (void) unmount_layer(s, mnt, NULL);
                return img_err(error_msg, r, "cannot reference layer %s: %s", name, strerror(-r));
        }
        return 0;
}

static int layer_release(ImgStore *s, const char *name, const char *key, char **error_msg) {
        _cleanup_free_ char *mnt = NULL, *refs = NULL, *lockp = NULL, *ref = NULL;
        _cleanup_close_ int lock = -EBADF;
        int r;

        if (xasprintf(&mnt, "mnt/%s", name) < 0 || xasprintf(&refs, "mnt/%s.refs", name) < 0 ||
            xasprintf(&lockp, "mnt/%s.lock", name) < 0 || xasprintf(&ref, "mnt/%s.refs/%s", name, key) < 0)
                return -ENOMEM;
        r = lock_file_at(s->dirfd, lockp, LOCK_EX, &lock);
        if (r < 0)
                return img_err(error_msg, r, "cannot lock layer %s: %s", name, strerror(-r));
        (void) unlinkat(s->dirfd, ref, 0);
        if (dir_has_entries_at(s->dirfd, refs))
                return 0;
        if (is_mountpoint_at(s->dirfd, mnt)) {
                r = unmount_layer(s, mnt, error_msg);
                if (r < 0)
                        return r;
        }
        (void) unlinkat(s->dirfd, refs, AT_REMOVEDIR);
        (void) unlinkat(s->dirfd, mnt, AT_REMOVEDIR);
        /* The lock file stays: removing it would let two processes lock different files. */
        return 0;
}

/* ---------------------------------------------------------------- overlay */

static int mount_overlay(
                char *const *lowers,
                const char *upper,
                const char *work,
                const char *target,
                bool userxattr,
                char **error_msg) {
        _cleanup_close_ int fs = -EBADF, mfd = -EBADF;
        _cleanup_free_ char *opts = NULL, *lowerdir = NULL;
        size_t n = strv_length((char **) lowers);

        fs = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs >= 0) {
                /*
                 * lowerdir+ (Linux 6.8) appends one lower layer per call, uppermost first. Before
                 * 6.5 overlayfs parses its options only at FSCONFIG_CMD_CREATE (the legacy
                 * context), so an unknown "lowerdir+" shows up there, as EINVAL, as well.
                 */
                bool ok = true;
                for (size_t i = n; ok && i > 0; i--)
                        ok = fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lowers[i - 1], 0) >= 0;
                ok = ok && fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) >= 0 &&
                                fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) >= 0 &&
                                (!userxattr || fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) >= 0) &&
                                fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) >= 0;
                if (ok) {
                        mfd = fsmount(fs, FSMOUNT_CLOEXEC, 0);
                        if (mfd < 0 || move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                                return img_err(error_msg, -errno, "cannot mount the overlay at '%s': %m",
                                               target);
                        return 0;
                }
                if (errno != EINVAL)
                        return img_err(error_msg, -errno, "cannot set up the overlay for '%s': %m", target);
        }
        /* Older kernels: one option string, limited to a page. */
        lowerdir = strdup("");
        for (size_t i = n; lowerdir && i > 0; i--) {
                char *x;
                if (xasprintf(&x, "%s%s%s", lowerdir, *lowerdir ? ":" : "", lowers[i - 1]) < 0)
                        return -ENOMEM;
                free(lowerdir);
                lowerdir = x;
        }
        if (!lowerdir ||
            xasprintf(&opts, "lowerdir=%s,upperdir=%s,workdir=%s%s", lowerdir, upper, work,
                      userxattr ? ",userxattr" : "") < 0)
                return -ENOMEM;
        if (mount("overlay", target, "overlay", 0, opts) < 0)
                return img_err(error_msg, -errno, "cannot mount the overlay at '%s': %m", target);
        return 0;
}

/* ---------------------------------------------------------------- state */

static int instance_key(const char *abs_dir, char **ret) {
        char d[IMG_DIGEST_MAX];
        int r = img_digest_buffer(abs_dir, strlen(abs_dir), d);
        if (r < 0)
                return r;
        *ret = strndup(d + STRLEN("sha256:"), 32);
        return *ret ? 0 : -ENOMEM;
}

static int state_write(int dfd, const char *digest, ImgMountBackend backend, char *const *names) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len;
        int r;

        r = json_writer_new(true, &w);
        if (r < 0)
                return r;
        jw_object_open(w);
        jw_key(w, "image");
        jw_string(w, digest);
        jw_key(w, "backend");
        jw_string(w, img_mount_backend_to_string(backend));
        jw_key(w, "layers");
        jw_strv(w, names);
        jw_object_close(w);
        r = json_writer_finish(w, &text, &len);
        if (r < 0)
                return r;
        /* Runtime state: no fsync (after a crash no mount survives anyway), but never half-written. */
        fd = openat(dfd, STATE_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = loop_write(fd, text, len);
        if (r < 0)
                return r;
        return RET_NERRNO(renameat(dfd, STATE_FILE ".tmp", dfd, STATE_FILE));
}

static int state_read(int dfd, char ***ret_layers, char **error_msg) {
        _cleanup_(json_freep) JsonVal root = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = read_full_file_at(dfd, STATE_FILE, 4u * 1024 * 1024, &text, &len);
        if (r < 0)
                return r;
        r = json_parse(text, len, &root, error_msg);
        if (r < 0)
                return img_err_wrap(error_msg, r, STATE_FILE);
        r = json_want_strv(json_get(root, "layers"), "layers", ret_layers, error_msg);
        if (r < 0)
                return img_err_wrap(error_msg, r, STATE_FILE);
        STRV_FOREACH(l, *ret_layers)
                if (strlen(*l) > 200 || strchr(*l, '/') || streq(*l, ".") || streq(*l, "..")) {
                        *ret_layers = strv_free(*ret_layers);
                        return img_err(error_msg, -EINVAL, STATE_FILE ": invalid layer name");
                }
        return 0;
}

/* ------------------------------------------------------------------ prune */

/* Drop references whose instance has no state file: left by a crash between acquiring and recording. */
static size_t prune_refs(ImgStore *s, const char *refs) {
        _cleanup_close_ int fd = openat(s->dirfd, refs, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        struct dirent *de;
        size_t pruned = 0;
        DIR *d;

        if (fd < 0)
                return 0;
        d = fdopendir(fd);
        if (!d)
                return 0;
        fd = -EBADF;
        while ((de = readdir(d))) {
                char target[PATH_MAX];
                _cleanup_free_ char *state = NULL;
                ssize_t n;

                if (de->d_name[0] == '.')
                        continue;
                n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                if (n < 0)
                        continue;
                target[n] = '\0';
                state = path_join(target, STATE_FILE);
                if (state && access(state, F_OK) < 0 && errno == ENOENT &&
                    unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        pruned++;
        }
        closedir(d);
        return pruned;
}

int img_mounts_prune(ImgStore *s, uint64_t *ret_unmounted) {
        _cleanup_close_ int fd = openat(s->dirfd, "mnt", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent *de;
        uint64_t unmounted = 0;
        DIR *d;

        /* Under the exclusive store lock no instance root is half made: every reference is final. */
        assert(s->lock_fd >= 0);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -EBADF;
        while ((de = readdir(d))) {
                _cleanup_free_ char *name = NULL, *refs = NULL, *mnt = NULL;
                if (!endswith(de->d_name, ".refs"))
                        continue;
                name = strndup(de->d_name, strlen(de->d_name) - STRLEN(".refs"));
                if (!name || xasprintf(&refs, "mnt/%s", de->d_name) < 0 || xasprintf(&mnt, "mnt/%s", name) < 0)
                        break;
                (void) prune_refs(s, refs);
                if (dir_has_entries_at(s->dirfd, refs))
                        continue;
                if (is_mountpoint_at(s->dirfd, mnt) && unmount_layer(s, mnt, NULL) >= 0)
                        unmounted++;
                (void) unlinkat(s->dirfd, refs, AT_REMOVEDIR);
                (void) unlinkat(s->dirfd, mnt, AT_REMOVEDIR);
        }
        closedir(d);
        if (ret_unmounted)
                *ret_unmounted = unmounted;
        return 0;
}

/* --------------------------------------------------------------- public */

static int abs_path(const char *p, char **ret) {
        _cleanup_free_ char *cwd = NULL;
        if (p[0] == '/')
                return (*ret = strdup(p)) ? 0 : -ENOMEM;
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return -errno;
        return (*ret = path_join(cwd, p)) ? 0 : -ENOMEM;
}

/* Drop the first n references that acquire_layers() took, top first. */
static void release_layers(ImgStore *s, char *const *names, size_t n, const char *key) {
        for (size_t i = n; i > 0; i--)
                (void) layer_release(s, names[i - 1], key, NULL);
}

/*
 * Mount (or share) every layer of info for the instance (key, dir): *ret_names gets the layers' names
 * and *ret_lowers their mount points, bottom first. On failure no reference is left.
 */
static int acquire_layers(
                ImgStore *s,
                const ImgInfo *info,
                ImgMountBackend backend,
                const char *key,
                const char *dir,
                char ***ret_names,
                char ***ret_lowers,
                char **error_msg) {
        _cleanup_strv_free_ char **names = NULL, **lowers = NULL;
        size_t acquired = 0;
        int r = 0;

        for (size_t i = 0; i < info->n_layers; i++) {
                _cleanup_free_ char *name = NULL, *mnt = NULL;
                r = layer_name(info->layers[i].chain_id, &name);
                if (r >= 0 && !(mnt = path_join(s->dir, "mnt")))
                        r = -ENOMEM;
                if (r >= 0) {
                        char *full = NULL;
                        r = xasprintf(&full, "%s/%s", mnt, name);
                        if (r >= 0)
                                r = strv_push(&lowers, full);
                        if (r < 0)
                                free(full);
                }
                if (r >= 0)
                        r = strv_extend(&names, name);
                if (r >= 0)
                        r = layer_acquire(s, name, backend, key, dir, error_msg);
                if (r < 0) {
                        release_layers(s, names, acquired, key);
                        return r;
                }
                acquired++;
        }
        *ret_names = TAKE_PTR(names);
        *ret_lowers = TAKE_PTR(lowers);
        return 0;
}

int img_instance_root_create(
                ImgStore *s,
                const char *image,
                const char *instance_dir,
                ImgMountBackend backend,
                char **ret_rootfs,
                char **error_msg) {
        _cleanup_(img_info_freep) ImgInfo *info = NULL;
        _cleanup_free_ char *dir = NULL, *key = NULL, *rootfs = NULL, *upper = NULL, *work = NULL;
        _cleanup_strv_free_ char **names = NULL, **lowers = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (backend == IMG_MOUNT_AUTO)
                backend = s->privileged ? IMG_MOUNT_KERNEL : IMG_MOUNT_SQUASHFUSE;
        if (backend != IMG_MOUNT_KERNEL && backend != IMG_MOUNT_SQUASHFUSE)
                return img_err(error_msg, -EINVAL, "invalid mount backend");
        r = abs_path(instance_dir, &dir);
        if (r < 0)
                return r;
        r = img_inspect(s, image, &info, error_msg);
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return img_err(error_msg, r, "cannot create '%s': %s", dir, strerror(-r));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return img_err(error_msg, -errno, "cannot open '%s': %m", dir);
        if (faccessat(dfd, STATE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return img_err(error_msg, -EEXIST, "'%s' already holds an instance root", dir);
        r = instance_key(dir, &key);
        if (r < 0)
                return r;
        rootfs = path_join(dir, "rootfs");
        upper = path_join(dir, "upper");
        work = path_join(dir, "work");
        if (!rootfs || !upper || !work)
                return -ENOMEM;

        r = img_store_lock(s, LOCK_SH, error_msg);
        if (r < 0)
                return r;
        r = acquire_layers(s, info, backend, key, dir, &names, &lowers, error_msg);
        if (r < 0) {
                img_store_unlock(s);
                return r;
        }
        if ((mkdirat(dfd, "upper", 0755) < 0 && errno != EEXIST) ||
            (mkdirat(dfd, "work", 0700) < 0 && errno != EEXIST) ||
            (mkdirat(dfd, "rootfs", 0755) < 0 && errno != EEXIST)) {
                r = img_err(error_msg, -errno, "cannot create the instance directories in '%s': %m", dir);
                goto fail_dirs;
        }
        if (info->n_layers == 0) {
                r = img_err(error_msg, -EINVAL, "image %s has no layers", info->digest);
                goto fail_dirs;
        }
        r = mount_overlay(lowers, upper, work, rootfs, !s->initial_userns, error_msg);
        if (r < 0)
                goto fail_dirs;
        r = state_write(dfd, info->digest, backend, names);
        if (r < 0) {
                img_err(error_msg, r, "cannot write %s/%s: %s", dir, STATE_FILE, strerror(-r));
                goto fail_overlay;
        }
        img_store_unlock(s);
        if (ret_rootfs)
                *ret_rootfs = TAKE_PTR(rootfs);
        return 0;

fail_overlay:
        (void) umount2(rootfs, MNT_DETACH);
fail_dirs:
        (void) rm_rf_at(dfd, "upper");
        (void) rm_rf_at(dfd, "work");
        (void) unlinkat(dfd, "rootfs", AT_REMOVEDIR);
        release_layers(s, names, info->n_layers, key);
        img_store_unlock(s);
        return r;
}

int img_instance_root_destroy(ImgStore *s, const char *instance_dir, char **error_msg) {
        _cleanup_free_ char *dir = NULL, *key = NULL, *rootfs = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r, ret = 0;

        r = abs_path(instance_dir, &dir);
        if (r < 0)
                return r;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : img_err(error_msg, -errno, "cannot open '%s': %m", dir);
        r = state_read(dfd, &names, error_msg);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = instance_key(dir, &key);
        if (r < 0)
                return r;
        rootfs = path_join(dir, "rootfs");
        if (!rootfs)
                return -ENOMEM;
        if (is_mountpoint_at(dfd, "rootfs") && umount2(rootfs, UMOUNT_NOFOLLOW) < 0) {
                /* Busy: something still has files open in it. Detach; it disappears when they close. */
                if (errno != EBUSY || umount2(rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                        return img_err(error_msg, -errno, "cannot unmount '%s': %m", rootfs);
        }
        r = rm_rf_at(dfd, "upper");
        if (r >= 0)
                r = rm_rf_at(dfd, "work");
        if (r < 0)
                return img_err(error_msg, r, "cannot remove the writable layer of '%s': %s", dir,
                               strerror(-r));
        (void) unlinkat(dfd, "rootfs", AT_REMOVEDIR);

        r = img_store_lock(s, LOCK_SH, error_msg);
        if (r < 0)
                return r;
        STRV_FOREACH(n, names) {
                r = layer_release(s, *n, key, error_msg);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        img_store_unlock(s);
        if (ret < 0)
                return ret;
        if (unlinkat(dfd, STATE_FILE, 0) < 0 && errno != ENOENT)
                return img_err(error_msg, -errno, "cannot remove %s/%s: %m", dir, STATE_FILE);
        return 0;
}
