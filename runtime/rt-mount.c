/* SPDX-License-Identifier: Apache-2.0 */
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "rt-internal.h"

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif

/*
 * The container's filesystem, set up by the init in its own mount namespace.
 *
 * Before pivot_root the host's /proc is still at /proc, so every mount
 * target is first resolved inside the rootfs (rt_open_in_root) and then
 * named as /proc/self/fd/N: the kernel mounts on exactly the inode we
 * resolved, and a symlink swapped in meanwhile cannot redirect it.
 *
 * Order (runtime-spec config.md and runc's behaviour):
 *   prepare:  "/" rslave (or the requested private/slave form), rootfs bound onto itself
 *   config:   mounts in order; /dev devices and symlinks when /dev is a tmpfs of ours
 *   pivot:    pivot_root(".", ".") and a lazy unmount of the old root (or MS_MOVE + chroot)
 *   finalize: maskedPaths, readonlyPaths, read-only root, rootfs propagation
 */

typedef struct DefaultDevice {
        const char *name;
        unsigned major, minor;
} DefaultDevice;

static const DefaultDevice default_devices[] = {
        { "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
        { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static int rootfd_of(RtInit *init) {
        static int fd = -EBADF;
        if (fd < 0)
                fd = open(init->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static const char *fd_path(int fd, char buf[static 32]) {
        snprintf(buf, 32, "/proc/self/fd/%d", fd);
        return buf;
}

static bool in_userns(RtInit *init) {
        return init->userns_new || init->ns_fds[OCI_NS_USER] >= 0 || init->rootless;
}

/* Flags the kernel will not let a bind remount drop (locked in a user ns): keep them. */
static unsigned long locked_flags(const char *path) {
        struct statvfs sv;
        unsigned long f = 0;
        if (statvfs(path, &sv) < 0)
                return 0;
        if (sv.f_flag & ST_NOSUID)
                f |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
                f |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
                f |= MS_NOEXEC;
        if (sv.f_flag & ST_RDONLY)
                f |= MS_RDONLY;
        if (sv.f_flag & ST_NOATIME)
                f |= MS_NOATIME;
        if (sv.f_flag & ST_NODIRATIME)
                f |= MS_NODIRATIME;
        if (sv.f_flag & ST_RELATIME)
                f |= MS_RELATIME;
        return f;
}

static int remount_bind(const char *target, unsigned long flags, unsigned long clear) {
        unsigned long keep = locked_flags(target) & ~clear;
        unsigned long f = MS_BIND | MS_REMOUNT | flags | keep;

        if (mount(NULL, target, NULL, f, NULL) >= 0)
                return 0;
        /* In a user namespace, atime flags of the source are locked too: retry keeping all of them. */
        if (errno == EPERM && mount(NULL, target, NULL, f | locked_flags(target), NULL) >= 0)
                return 0;
        return -errno;
}

static int set_mount_attr(int fd, const OciMountFlags *f) {
        struct mount_attr a = { .attr_set = f->attr_set, .attr_clr = f->attr_clr };
        if (f->attr_set == 0 && f->attr_clr == 0)
                return 0;
        if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0)
                return errno == ENOSYS ? -EOPNOTSUPP : -errno;
        return 0;
}

int rt_mount_rootfs_prepare(RtInit *init) {
        const OciLinux *l = init->config->linux_cfg;
        unsigned long prop = MS_SLAVE | MS_REC;
        const char *p = l ? l->rootfs_propagation : NULL;

        if (p) {
                if (streq(p, "private") || streq(p, "rprivate"))
                        prop = MS_PRIVATE | (p[0] == 'r' ? MS_REC : 0);
                else if (streq(p, "unbindable") || streq(p, "runbindable"))
                        prop = MS_UNBINDABLE | (p[0] == 'r' ? MS_REC : 0);
                else if (streq(p, "slave"))
                        prop = MS_SLAVE;
                /* shared forms are applied after pivot_root, which refuses shared parents */
        }
        if (mount(NULL, "/", NULL, prop, NULL) < 0)
                return rt_sync_error(init->sync_fd, errno, "rootfs", "make / %s: %m", p ?: "rslave");
        if (mount(init->rootfs, init->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return rt_sync_error(init->sync_fd, errno, "rootfs", "bind %s: %m", init->rootfs);
        return 0;
}

/* --------------------------------------------------------- cgroup mounts */

void rt_hierarchies_free(RtHierarchy *h, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(h[i].mount_point);
                free(h[i].options);
                free(h[i].path);
        }
        free(h);
}

/* Our cgroup path in the v1 hierarchy with these super options (or v2 when opts is NULL). */
static char *own_cgroup_path(const char *self_cgroup, const char *opts) {
        _cleanup_free_ char *copy = strdup(self_cgroup);
        char *save = NULL;
        if (!copy)
                return NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = 0;
                if (!opts ? streq(c1 + 1, "") : streq(c1 + 1, opts))
                        return strdup(c2 + 1);
        }
        return strdup("/");
}

int rt_hierarchies_parse(const char *mountinfo, const char *self_cgroup, RtHierarchy **ret, size_t *ret_n) {
        _cleanup_free_ char *mi = strdup(mountinfo);
        RtHierarchy *h = NULL;
        size_t n = 0;
        char *save = NULL;

        if (!mi)
                return -ENOMEM;
        for (char *line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char mp[512], fstype[64], super[512];
                const char *sep = strstr(line, " - ");
                RtHierarchy *nh;
                bool v2;

                if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mp) != 1 ||
                    sscanf(sep + 3, "%63s %*s %511s", fstype, super) != 2)
                        continue;
                v2 = streq(fstype, "cgroup2");
                if (!v2 && !streq(fstype, "cgroup"))
                        continue;
                if (!startswith(mp, "/sys/fs/cgroup"))
                        continue;
                nh = realloc(h, sizeof *h * (n + 1));
                if (!nh) {
                        rt_hierarchies_free(h, n);
                        return -ENOMEM;
                }
                h = nh;
                h[n] = (RtHierarchy){ .mount_point = strdup(mp) };
                if (!v2) {
                        /* super options: "rw,cpu" or "rw,name=systemd" -> drop rw/ro and the like */
                        _cleanup_free_ char *opts = NULL;
                        char *s2 = NULL;
                        for (char *o = strtok_r(super, ",", &s2); o; o = strtok_r(NULL, ",", &s2)) {
                                if (streq(o, "rw") || streq(o, "ro") || startswith(o, "release_agent") ||
                                    streq(o, "clone_children") || streq(o, "noprefix") || streq(o, "xattr"))
                                        continue;
                                char *j = NULL;
                                if (xasprintf(&j, "%s%s%s", opts ?: "", opts ? "," : "", o) < 0)
                                        break;
                                free(opts);
                                opts = j;
                        }
                        h[n].options = TAKE_PTR(opts);
                }
                h[n].path = own_cgroup_path(self_cgroup, h[n].options);
                n++;
                if (!h[n - 1].mount_point || !h[n - 1].path || (!v2 && !h[n - 1].options)) {
                        rt_hierarchies_free(h, n);
                        return -ENOMEM;
                }
        }
        *ret = h;
        *ret_n = n;
        return 0;
}

static int list_hierarchies(RtHierarchy **ret, size_t *ret_n) {
        _cleanup_free_ char *mi = NULL, *self = NULL;
        int r;

        r = read_full_file_at(AT_FDCWD, "/proc/self/mountinfo", 4 * 1024 * 1024, &mi, NULL);
        if (r < 0)
                return r;
        r = read_full_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, &self, NULL);
        if (r < 0)
                return r;
        return rt_hierarchies_parse(mi, self, ret, ret_n);
}

/*
 * Bind src (recursively) onto the directory target_fd with MS_* flags (MS_RDONLY, MS_NOSUID, MS_NODEV,
 * MS_NOEXEC) set: a detached copy (open_tree), its flags set while detached (mount_setattr, which
 * leaves atime and locked flags alone), then attached. 3 syscalls instead of bind, reopen, statfs
 * and remount. -EOPNOTSUPP: the kernel lacks these calls (or refuses them here); bind the old way.
 */
static int bind_cgroup_tree(const char *src, int target_fd, unsigned long flags) {
        struct mount_attr a = {
                .attr_set = (flags & MS_RDONLY ? MOUNT_ATTR_RDONLY : 0) |
                                (flags & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0) |
                                (flags & MS_NODEV ? MOUNT_ATTR_NODEV : 0) |
                                (flags & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0),
        };
        _cleanup_close_ int tree = -EBADF;

        tree = (int) syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0)
                return errno == ENOSYS || errno == EPERM || errno == EINVAL ? -EOPNOTSUPP : -errno;
        if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0)
                return -EOPNOTSUPP;
        if (syscall(SYS_move_mount, tree, "", target_fd, "",
                    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

/* v1/hybrid: a tmpfs holding one directory per hierarchy, each a cgroup mount or a bind of ours. */
static int mount_cgroup_v1(RtInit *init, const char *dest, int target_fd, unsigned long flags) {
        bool cgns = (init->clone_flags | init->unshare_flags) & CLONE_NEWCGROUP;
        unsigned long common = MS_NOSUID | MS_NODEV | MS_NOEXEC;
        _cleanup_close_ int top = -EBADF;
        RtHierarchy *h = NULL;
        size_t n = 0;
        char tp[32];
        int r;

        r = list_hierarchies(&h, &n);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "mounts", "read cgroup hierarchies: %m");
        if (mount("tmpfs", fd_path(target_fd, tp), "tmpfs", (flags & ~MS_RDONLY) | common,
                  "mode=755,size=1024k") < 0) {
                r = rt_sync_error(init->sync_fd, errno, "mounts", "tmpfs for cgroups on %s: %m", dest);
                goto out;
        }
        r = rt_open_in_root(rootfd_of(init), dest, false, true, &top);
        if (r < 0) {
                r = rt_sync_error(init->sync_fd, r, "mounts", "reopen %s: %m", dest);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                const char *name = strrchr(h[i].mount_point, '/') + 1;
                _cleanup_close_ int sub = -EBADF;
                _cleanup_free_ char *src = NULL;
                char sp[32];
                int k;

                if ((mkdirat(top, name, 0755) < 0 && errno != EEXIST) ||
                    (sub = openat(top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                        r = rt_sync_error(init->sync_fd, errno, "mounts", "cgroup dir %s: %m", name);
                        goto out;
                }
                if (cgns)
                        k = mount(h[i].options ? "cgroup" : "cgroup2", fd_path(sub, sp),
                                  h[i].options ? "cgroup" : "cgroup2", flags | common, h[i].options);
                else {
                        src = path_join(h[i].mount_point, h[i].path);
                        k = src ? bind_cgroup_tree(src, sub, (flags & MS_RDONLY) | common) : -ENOMEM;
                        if (k == -EOPNOTSUPP) {
                                k = mount(src, fd_path(sub, sp), NULL, MS_BIND | MS_REC, NULL) < 0 ? -errno
                                                                                                   : 0;
                                if (k >= 0) {
                                        _cleanup_close_ int subtop = openat(
                                                        top, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
                                        k = subtop < 0 ? -errno
                                                       : remount_bind(fd_path(subtop, sp),
                                                                      (flags & MS_RDONLY) | common, 0);
                                }
                        }
                        if (k < 0) {
                                errno = -k;
                                k = -1;
                        }
                }
                if (k < 0) {
                        r = rt_sync_error(init->sync_fd, errno, "mounts", "cgroup hierarchy %s: %m", name);
                        goto out;
                }
                /* Co-mounted controllers ("cpu,cpuacct") are reachable by each name. */
                if (strchr(name, ',')) {
                        _cleanup_free_ char *parts = strdup(name);
                        char *s3 = NULL;
                        for (char *c = parts ? strtok_r(parts, ",", &s3) : NULL; c;
                             c = strtok_r(NULL, ",", &s3))
                                (void) symlinkat(name, top, c);
                }
        }
        if (flags & MS_RDONLY) {
                r = remount_bind(fd_path(top, tp), flags | common, 0);
                if (r < 0) {
                        r = rt_sync_error(init->sync_fd, r, "mounts", "remount %s read-only: %m", dest);
                        goto out;
                }
        }
        r = 0;
out:
        rt_hierarchies_free(h, n);
        return r;
}

static int mount_cgroup(RtInit *init, const OciMount *m, int *target_fd, unsigned long flags) {
        CgLayout layout = CG_LAYOUT_LEGACY;
        char tp[32];
        int r;

        (void) cg_layout(&layout);
        if (layout != CG_LAYOUT_UNIFIED)
                return mount_cgroup_v1(init, m->destination, *target_fd, flags);
        if ((init->clone_flags | init->unshare_flags) & CLONE_NEWCGROUP) {
                if (mount("cgroup2", fd_path(*target_fd, tp), "cgroup2",
                          flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                        return rt_sync_error(
                                        init->sync_fd, errno, "mounts", "cgroup2 on %s: %m", m->destination);
                return 0;
        } else {
                RtHierarchy *h = NULL;
                size_t n = 0;
                _cleanup_free_ char *src = NULL;
                r = list_hierarchies(&h, &n);
                if (r >= 0 && n > 0)
                        src = path_join(h[0].mount_point, h[0].path);
                rt_hierarchies_free(h, n);
                if (!src)
                        return rt_sync_error(
                                        init->sync_fd, r < 0 ? r : ENOENT, "mounts", "find own cgroup: %m");
                if (mount(src, fd_path(*target_fd, tp), NULL, MS_BIND | MS_REC, NULL) < 0)
                        return rt_sync_error(init->sync_fd, errno, "mounts", "bind cgroup %s: %m", src);
        }
        /* Read-only applies to the mount now on top of the destination. */
        if (flags & MS_RDONLY) {
                _cleanup_close_ int top = -EBADF;
                r = rt_open_in_root(rootfd_of(init), m->destination, false, true, &top);
                if (r >= 0)
                        r = remount_bind(fd_path(top, tp), flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0);
                if (r < 0)
                        return rt_sync_error(
                                        init->sync_fd, r, "mounts", "remount %s read-only: %m",
                                        m->destination);
        }
        return 0;
}

/* ----------------------------------------------------------- one mount */

static bool source_is_dir(const char *src) {
        struct stat st;
        return stat(src, &st) < 0 || S_ISDIR(st.st_mode);
}

/*
 * devpts without its gid= option: in a user namespace where that group (tty, 5 in runc's default
 * spec) is not mapped, the kernel refuses the option with EINVAL. crun drops it there too.
 */
static int mount_devpts_without_gid(const char *src, const char *target, unsigned long flags, const char *data) {
        _cleanup_free_ char *copy = NULL, *out = NULL;
        char *save = NULL;
        size_t n = 0;

        if (!data || !strstr(data, "gid="))
                return -EINVAL;
        copy = strdup(data);
        out = calloc(1, strlen(data) + 1);
        if (!copy || !out)
                return -ENOMEM;
        for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
                if (!startswith(o, "gid="))
                        n += (size_t) sprintf(out + n, "%s%s", n ? "," : "", o);
        return RET_NERRNO(mount(src, target, "devpts", flags, out));
}

/* An idmapped bind mount: the runtime prepared the detached, idmapped tree; move it onto the target. */
static int attach_tree(int tree_fd, int target_fd) {
        if (syscall(SYS_move_mount, tree_fd, "", target_fd, "",
                    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return errno == ENOSYS ? -EOPNOTSUPP : -errno;
        return 0;
}

static int do_one_mount(RtInit *init, size_t index, const OciMount *m) {
        _cleanup_(oci_mount_flags_done) OciMountFlags f = {};
        _cleanup_free_ char *err = NULL, *src = NULL;
        _cleanup_close_ int target = -EBADF, top = -EBADF;
        const char *type = m->type;
        int rootfd = rootfd_of(init), r;
        bool bind;
        char tp[32];

        r = oci_mount_flags_parse(m->options, &f, &err);
        if (r < 0)
                return rt_sync_error(
                                init->sync_fd, r, "mounts", "%s: %s", m->destination, err ?: "bad options");
        bind = f.bind || streq_ptr(type, "bind");
        if (f.idmap && !bind)
                return rt_sync_error(
                                init->sync_fd, EOPNOTSUPP, "mounts",
                                "%s: idmap is supported on bind mounts only", m->destination);
        if (bind && m->source && m->source[0] != '/')
                src = path_join(init->bundle, m->source);
        else if (m->source)
                src = strdup(m->source);
        if (m->source && !src)
                return rt_sync_error(init->sync_fd, ENOMEM, "mounts", "out of memory");

        r = rt_open_in_root(rootfd, m->destination, true, !bind || !src || source_is_dir(src), &target);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "mounts", "mount point %s: %m", m->destination);
        fd_path(target, tp);

        if (streq_ptr(type, "cgroup") || streq_ptr(type, "cgroup2"))
                return mount_cgroup(init, m, &target, f.flags);

        if (bind) {
                if (!src)
                        return rt_sync_error(
                                        init->sync_fd, EINVAL, "mounts", "%s: bind mount without source",
                                        m->destination);
                if (f.idmap) {
                        r = attach_tree(init->idmap_fds[index], target);
                        if (r < 0)
                                return rt_sync_error(
                                                init->sync_fd, r, "mounts", "idmapped bind %s on %s: %m",
                                                src, m->destination);
                } else if (mount(src, tp, NULL, MS_BIND | (f.recursive_bind ? MS_REC : 0), NULL) < 0)
                        return rt_sync_error(
                                        init->sync_fd, errno, "mounts", "bind %s on %s: %m", src,
                                        m->destination);
        } else if (mount(src ?: type ?: "none", tp, type, f.flags, f.data) < 0) {
                int e = errno;
                /* Without a network (ipc) namespace of our own, sysfs (mqueue) cannot be mounted in a
                 * user namespace: bind the host's, as runc does for rootless containers. */
                const char *host = streq_ptr(type, "sysfs") ? "/sys"
                                : streq_ptr(type, "mqueue") ? "/dev/mqueue"
                                                            : NULL;
                bool devpts = e == EINVAL && streq_ptr(type, "devpts") && in_userns(init);

                if (devpts && mount_devpts_without_gid(src ?: type, tp, f.flags, f.data) >= 0)
                        ; /* mounted, without gid= */
                else if (e != EPERM || !host || !in_userns(init) ||
                         mount(host, tp, NULL, MS_BIND | MS_REC, NULL) < 0)
                        return rt_sync_error(init->sync_fd, e, "mounts", "mount %s (%s) on %s: %m",
                                             src ?: type ?: "none", type ?: "?", m->destination);
                else
                        bind = true;
        }

        /* Flags, propagation and attributes act on the mount now on top: reopen it. */
        r = rt_open_in_root(rootfd, m->destination, false, true, &top);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "mounts", "reopen %s: %m", m->destination);
        fd_path(top, tp);
        if (bind && (f.flags & ~(unsigned long) (MS_BIND | MS_REC | MS_REMOUNT))) {
                r = remount_bind(tp, f.flags & ~(unsigned long) (MS_BIND | MS_REC | MS_REMOUNT), f.clear);
                if (r < 0)
                        return rt_sync_error(init->sync_fd, r, "mounts", "remount %s: %m", m->destination);
        }
        if (f.propagation && mount(NULL, tp, NULL, f.propagation, NULL) < 0)
                return rt_sync_error(init->sync_fd, errno, "mounts", "propagation of %s: %m", m->destination);
        r = set_mount_attr(top, &f);
        if (r < 0)
                return rt_sync_error(
                                init->sync_fd, r, "mounts", "recursive attributes of %s: %m", m->destination);
        return 0;
}

/* ----------------------------------------------------------------- /dev */

static int make_device(
                RtInit *init,
                int rootfd,
                const char *path,
                char type,
                unsigned major,
                unsigned minor,
                mode_t perm,
                uid_t uid,
                gid_t gid) {
        _cleanup_close_ int parent = -EBADF;
        _cleanup_free_ char *dir = NULL;
        const char *name = strrchr(path, '/');
        char tp[32];
        int r;

        dir = name ? strndup(path, (size_t) (name - path)) : strdup("/");
        if (!dir)
                return -ENOMEM;
        name = name ? name + 1 : path;
        r = rt_open_in_root(rootfd, *dir ? dir : "/", true, true, &parent);
        if (r < 0)
                return r;
        if (in_userns(init)) {
                /* mknod is refused in a user namespace: bind the host's node. */
                _cleanup_close_ int f = -EBADF;
                f = openat(parent, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (f < 0 && errno != EEXIST)
                        return -errno;
                safe_close(f);
                f = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (f < 0)
                        return -errno;
                if (mount(path, fd_path(f, tp), NULL, MS_BIND, NULL) < 0)
                        return -errno;
                return 0;
        }
        mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
        (void) unlinkat(parent, name, 0);
        if (mknodat(parent, name, kind | perm, makedev(major, minor)) < 0)
                return -errno;
        if (fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

static bool dev_is_ours(const OciConfig *c) {
        for (size_t i = 0; i < c->n_mounts; i++)
                if (streq(c->mounts[i].destination, "/dev"))
                        return !streq_ptr(c->mounts[i].type, "bind") &&
                                        !strv_contains(c->mounts[i].options, "bind") &&
                                        !strv_contains(c->mounts[i].options, "rbind");
        return false;
}

static int setup_dev(RtInit *init) {
        const OciLinux *l = init->config->linux_cfg;
        _cleanup_close_ int devfd = -EBADF;
        int rootfd = rootfd_of(init), r;
        static const char *const links[][2] = {
                { "/proc/self/fd", "fd" },       { "/proc/self/fd/0", "stdin" },
                { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
                { "pts/ptmx", "ptmx" },          { "/proc/kcore", "core" },
        };

        if (!dev_is_ours(init->config))
                goto config_devices;
        r = rt_open_in_root(rootfd, "/dev", true, true, &devfd);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "devices", "/dev: %m");
        if (in_userns(init))
                FOREACH_ARRAY(d, default_devices, ELEMENTSOF(default_devices)) {
                        char path[32];
                        snprintf(path, sizeof path, "/dev/%s", d->name);
                        r = make_device(init, rootfd, path, 'c', d->major, d->minor, 0666, 0, 0);
                        if (r < 0)
                                return rt_sync_error(init->sync_fd, r, "devices", "%s: %m", path);
                }
        else {
                /*
                 * Our own fresh tmpfs: one /dev fd for all, no unlink of what cannot be there yet (only
                 * on EEXIST), and no chown to 0:0 when mknod already made them ours as root. ~20
                 * syscalls less than make_device() six times.
                 */
                struct stat st;
                bool chown_needed;

                if (fstat(devfd, &st) < 0)
                        return rt_sync_error(init->sync_fd, errno, "devices", "/dev: %m");
                chown_needed = geteuid() != 0 || getegid() != 0 || (st.st_mode & S_ISGID);
                FOREACH_ARRAY(d, default_devices, ELEMENTSOF(default_devices)) {
                        dev_t dev = makedev(d->major, d->minor);
                        if (mknodat(devfd, d->name, S_IFCHR | 0666, dev) < 0 &&
                            (errno != EEXIST || unlinkat(devfd, d->name, 0) < 0 ||
                             mknodat(devfd, d->name, S_IFCHR | 0666, dev) < 0))
                                return rt_sync_error(init->sync_fd, errno, "devices", "/dev/%s: %m", d->name);
                        if (chown_needed && fchownat(devfd, d->name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
                                return rt_sync_error(init->sync_fd, errno, "devices", "/dev/%s: %m", d->name);
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i][0], devfd, links[i][1]) < 0 && errno != EEXIST)
                        return rt_sync_error(init->sync_fd, errno, "devices", "/dev/%s: %m", links[i][1]);
config_devices:
        for (size_t i = 0; l && i < l->n_devices; i++) {
                const OciDevice *d = &l->devices[i];
                mode_t mode = d->file_mode.set ? (mode_t) d->file_mode.v & 07777 : 0666;
                r = make_device(init, rootfd, d->path, d->type, (unsigned) MAX(d->major, 0),
                                (unsigned) MAX(d->minor, 0), mode, d->uid.set ? (uid_t) d->uid.v : 0,
                                d->gid.set ? (gid_t) d->gid.v : 0);
                if (r < 0)
                        return rt_sync_error(init->sync_fd, r, "devices", "%s: %m", d->path);
        }
        return 0;
}

int rt_mount_config(RtInit *init) {
        int r;

        if (rootfd_of(init) < 0)
                return rt_sync_error(init->sync_fd, errno, "rootfs", "open %s: %m", init->rootfs);
        for (size_t i = 0; i < init->config->n_mounts; i++) {
                r = do_one_mount(init, i, &init->config->mounts[i]);
                if (r < 0)
                        return r;
        }
        return setup_dev(init);
}

/* ---------------------------------------------------------------- pivot */

int rt_mount_pivot(RtInit *init) {
        if (chdir(init->rootfs) < 0)
                return rt_sync_error(init->sync_fd, errno, "pivot", "chdir %s: %m", init->rootfs);
        if (init->opts->no_pivot) {
                if (mount(init->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
                        return rt_sync_error(init->sync_fd, errno, "pivot", "move rootfs to /: %m");
                if (chroot(".") < 0)
                        return rt_sync_error(init->sync_fd, errno, "pivot", "chroot: %m");
        } else {
                /* pivot_root(".", ".") stacks the old root on top of the new one; detach it. */
                if (syscall(SYS_pivot_root, ".", ".") < 0)
                        return rt_sync_error(init->sync_fd, errno, "pivot", "pivot_root: %m");
                if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                        return rt_sync_error(init->sync_fd, errno, "pivot", "make old root rslave: %m");
                if (umount2(".", MNT_DETACH) < 0)
                        return rt_sync_error(init->sync_fd, errno, "pivot", "detach old root: %m");
        }
        if (chdir("/") < 0)
                return rt_sync_error(init->sync_fd, errno, "pivot", "chdir /: %m");
        return 0;
}

/* ------------------------------------------------------------- finalize */

static int mask_path(const char *p) {
        struct stat st;
        if (stat(p, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode))
                return mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0k") < 0 ? -errno : 0;
        return mount("/dev/null", p, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

static int readonly_path(const char *p) {
        struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
        _cleanup_close_ int fd = -EBADF;

        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
                return errno == ENOENT ? 0 : -errno;
        fd = open(p, O_PATH | O_CLOEXEC);
        if (fd >= 0 && syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) >= 0)
                return 0;
        return remount_bind(p, MS_RDONLY, 0);
}

int rt_mount_finalize(RtInit *init) {
        const OciLinux *l = init->config->linux_cfg;
        int r;

        STRV_FOREACH(p, l ? l->masked_paths : NULL) {
                r = mask_path(*p);
                if (r < 0)
                        return rt_sync_error(init->sync_fd, r, "mounts", "mask %s: %m", *p);
        }
        STRV_FOREACH(p, l ? l->readonly_paths : NULL) {
                r = readonly_path(*p);
                if (r < 0)
                        return rt_sync_error(init->sync_fd, r, "mounts", "read-only %s: %m", *p);
        }
        if (init->config->root_readonly) {
                r = remount_bind("/", MS_RDONLY, 0);
                if (r < 0)
                        return rt_sync_error(init->sync_fd, r, "mounts", "remount / read-only: %m");
        }
        if (l && l->rootfs_propagation && strstr(l->rootfs_propagation, "shared")) {
                unsigned long f = MS_SHARED | (l->rootfs_propagation[0] == 'r' ? MS_REC : 0);
                if (mount(NULL, "/", NULL, f, NULL) < 0)
                        return rt_sync_error(init->sync_fd, errno, "mounts", "make / shared: %m");
        }
        return 0;
}
