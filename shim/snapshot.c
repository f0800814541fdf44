/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "cgroups.h"
#include "shim-lib.h"

/*
 * Snapshots and resets work on an instance's writable layer (its overlay
 * upper directory): the image's layers are shared and read-only, so the
 * upper directory is everything a student changed. A snapshot is a copy of
 * it; a reset swaps in an empty directory or a copy of a snapshot with
 * renameat2(RENAME_EXCHANGE), so a crash leaves either the old or the new
 * files, never a mix. The copy keeps what overlayfs needs: whiteouts (0/0
 * character devices), opaque directories (trusted.overlay.* xattrs), owners,
 * modes, times and hard links. File data is reflinked where the filesystem
 * can, else copied with copy_file_range().
 */

typedef struct Link {
        dev_t dev;
        ino_t ino;
        char *path; /* relative to the destination root */
} Link;

typedef struct Copy {
        int dst_root;
        Link *links;
        size_t n_links;
} Copy;

static int copy_xattrs(int src, int dst) {
        char names[65536], value[65536];
        ssize_t n = flistxattr(src, names, sizeof names);

        if (n < 0)
                return errno == ENOTSUP ? 0 : -errno;
        for (char *p = names; p < names + n; p += strlen(p) + 1) {
                ssize_t v = fgetxattr(src, p, value, sizeof value);
                if (v < 0)
                        continue;
                if (fsetxattr(dst, p, value, (size_t) v, 0) < 0 && errno != ENOTSUP)
                        return -errno;
        }
        return 0;
}

/* Copy file data, keeping holes (a VM's sparse disk must not become 2 GiB of zeros). */
static int copy_data(int src, int dst, off_t size) {
        off_t data = 0, hole;

        if (ioctl(dst, FICLONE, src) >= 0)
                return 0;
        for (;;) {
                data = lseek(src, data, SEEK_DATA);
                if (data < 0) {
                        if (errno == ENXIO)
                                break; /* only a hole is left */
                        return -errno;
                }
                hole = lseek(src, data, SEEK_HOLE);
                if (hole < 0)
                        return -errno;
                while (data < hole) {
                        loff_t in = data, out = data;
                        ssize_t n = copy_file_range(
                                        src, &in, dst, &out, (size_t) MIN(hole - data, (off_t) (1 << 30)), 0);
                        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP)) {
                                char buf[65536];
                                n = pread(src, buf, (size_t) MIN(hole - data, (off_t) sizeof buf), data);
                                if (n > 0 && pwrite(dst, buf, (size_t) n, data) != n)
                                        return -EIO;
                        }
                        if (n < 0)
                                return -errno;
                        if (n == 0)
                                break;
                        data += n;
                }
                data = hole;
        }
        return RET_NERRNO(ftruncate(dst, size));
}

static void set_times(int dirfd, const char *name, const struct stat *st) {
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        (void) utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

static int copy_entry(Copy *cp, int sdir, int ddir, const char *name, const char *rel);

static int copy_dir_contents(Copy *cp, int sfd, int dfd, const char *rel) {
        DIR *d;
        int r = 0;

        d = fdopendir(sfd);
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *child = NULL;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (xasprintf(&child, "%s%s%s", rel, *rel ? "/" : "", de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = copy_entry(cp, dirfd(d), dfd, de->d_name, child);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

static int copy_hardlink(Copy *cp, const struct stat *st, int ddir, const char *name, const char *rel, bool *ret_done) {
        Link *l;

        *ret_done = false;
        if (st->st_nlink < 2)
                return 0;
        FOREACH_ARRAY(x, cp->links, cp->n_links)
                if (x->dev == st->st_dev && x->ino == st->st_ino) {
                        if (linkat(cp->dst_root, x->path, ddir, name, 0) < 0)
                                return -errno;
                        *ret_done = true;
                        return 0;
                }
        l = realloc(cp->links, (cp->n_links + 1) * sizeof *l);
        if (!l)
                return -ENOMEM;
        cp->links = l;
        l[cp->n_links] = (Link){ .dev = st->st_dev, .ino = st->st_ino, .path = strdup(rel) };
        if (!l[cp->n_links].path)
                return -ENOMEM;
        cp->n_links++;
        return 0;
}

static int copy_entry(Copy *cp, int sdir, int ddir, const char *name, const char *rel) {
        _cleanup_close_ int s = -EBADF, d = -EBADF;
        struct stat st;
        bool done;
        int r;

        if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode)) {
                if (mkdirat(ddir, name, 0700) < 0)
                        return -errno;
                s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (s < 0 || d < 0)
                        return -errno;
                r = copy_xattrs(s, d);
                if (r >= 0)
                        r = copy_dir_contents(cp, TAKE_FD(s), d, rel);
                if (r < 0)
                        return r;
                if (fchown(d, st.st_uid, st.st_gid) < 0 || fchmod(d, st.st_mode & 07777) < 0)
                        return -errno;
                set_times(ddir, name, &st);
                return 0;
        }
        r = copy_hardlink(cp, &st, ddir, name, rel, &done);
        if (r < 0 || done)
                return r;
        if (S_ISREG(st.st_mode)) {
                s = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (s < 0)
                        return -errno;
                d = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (d < 0)
                        return -errno;
                r = copy_data(s, d, st.st_size);
                if (r >= 0)
                        r = copy_xattrs(s, d);
                if (r < 0)
                        return r;
                if (fchown(d, st.st_uid, st.st_gid) < 0 || fchmod(d, st.st_mode & 07777) < 0)
                        return -errno;
        } else if (S_ISLNK(st.st_mode)) {
                char target[4097];
                ssize_t n = readlinkat(sdir, name, target, sizeof target - 1);
                if (n < 0)
                        return -errno;
                target[n] = 0;
                if (symlinkat(target, ddir, name) < 0 ||
                    fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
                /* Character devices 0/0 are overlayfs whiteouts: files the student deleted. */
                if (mknodat(ddir, name, st.st_mode, st.st_rdev) < 0 ||
                    fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
        } else
                return 0; /* sockets: nothing to keep */
        set_times(ddir, name, &st);
        return 0;
}

int shim_tree_copy(int src_dirfd, int dst_dirfd) {
        Copy cp = { .dst_root = dst_dirfd };
        int s, r;

        s = fcntl(src_dirfd, F_DUPFD_CLOEXEC, 3);
        if (s < 0)
                return -errno;
        r = copy_xattrs(src_dirfd, dst_dirfd);
        if (r >= 0)
                r = copy_dir_contents(&cp, s, dst_dirfd, "");
        for (size_t i = 0; i < cp.n_links; i++)
                free(cp.links[i].path);
        free(cp.links);
        return r;
}

/* ---------------------------------------------------------------- commands */

static int copy_dir(const char *src, const char *dst) {
        _cleanup_close_ int s = -EBADF, d = -EBADF;
        struct stat st;
        int r;

        s = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0 && errno != ENOENT)
                return -errno;
        if (mkdir(dst, 0755) < 0)
                return -errno;
        if (s < 0)
                return 0; /* never started: nothing changed yet */
        d = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0)
                return -errno;
        r = shim_tree_copy(s, d);
        if (r < 0)
                return r;
        if (fstat(s, &st) >= 0 && (fchown(d, st.st_uid, st.st_gid) < 0 || fchmod(d, st.st_mode & 07777) < 0))
                return -errno;
        return 0;
}

/* A VM instance's writable disk (DATA/instances/NAME/scratch.img), when it has one. */
static int copy_file_if_there(const char *src_dir, const char *dst_dir, const char *name) {
        _cleanup_close_ int s = -EBADF, d = -EBADF, sd = -EBADF, dd = -EBADF;
        struct stat st;

        sd = open(src_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dd = open(dst_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sd < 0 || dd < 0)
                return -errno;
        s = openat(sd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(s, &st) < 0)
                return -errno;
        d = openat(dd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (d < 0)
                return -errno;
        return copy_data(s, d, st.st_size);
}

static int check_snap_name(const char *snap) {
        if (!shim_name_is_valid(snap) || strchr(snap, '/'))
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "invalid snapshot name '%s': use 1-63 of A-Z a-z 0-9 _ . -, starting with a "
                                "letter or digit",
                                snap);
        return 0;
}

int shim_instance_snapshot(ShimContext *c, const char *name, const char *snap) {
        _cleanup_close_ int lab_fd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *data = NULL, *upper = NULL, *dir = NULL, *tmp = NULL, *final = NULL, *cg = NULL;
        _cleanup_(cg_manager_freep) CgManager *m = NULL;
        bool frozen = false;
        int r;

        r = check_snap_name(snap);
        if (r < 0)
                return r;
        r = shim_lock_existing(c, name, &lab_fd, &fd);
        if (r < 0)
                return r;
        data = shim_data_dir(c, name);
        if (!data || !(upper = path_join(data, "upper")) ||
            xasprintf(&dir, "%s/snapshots/%s", data, snap) < 0 || xasprintf(&tmp, "%s.tmp", dir) < 0 ||
            !(final = path_join(tmp, "upper")))
                return log_error_errno(ENOMEM, "Out of memory");
        if (access(dir, F_OK) >= 0)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EEXIST), "%s already has a snapshot named %s", name, snap);
        (void) rm_rf_at(AT_FDCWD, tmp);
        r = mkdir_p(tmp, 0700);
        if (r < 0)
                return log_error_errno(r, "Cannot create '%s': %m", tmp);
        /* A running instance holds still (frozen) while its files are copied. */
        if (shim_live(c, name) == SHIM_LIVE_RUNNING && (cg = shim_cgroup_path(c, name)) &&
            cg_manager_new(cg, &m) >= 0 && cg_manager_freeze(m, true) >= 0)
                frozen = true;
        r = copy_dir(upper, final);
        if (r >= 0)
                r = copy_file_if_there(data, tmp, "scratch.img");
        if (frozen)
                (void) cg_manager_freeze(m, false);
        if (r >= 0 && rename(tmp, dir) < 0)
                r = -errno;
        if (r < 0) {
                (void) rm_rf_at(AT_FDCWD, tmp);
                return log_error_errno(r, "Cannot snapshot %s: %m", name);
        }
        return 0;
}

static int reset_scratch(const char *data, const char *snap) {
        _cleanup_free_ char *path = path_join(data, "scratch.img"), *src = NULL, *tmp = NULL;
        int r;

        if (!path)
                return -ENOMEM;
        if (snap) {
                if (xasprintf(&src, "%s/snapshots/%s", data, snap) < 0 ||
                    xasprintf(&tmp, "%s/.reset", data) < 0)
                        return -ENOMEM;
                _cleanup_free_ char *img = path_join(src, "scratch.img");
                if (!img)
                        return -ENOMEM;
                if (access(img, F_OK) >= 0) {
                        (void) rm_rf_at(AT_FDCWD, tmp);
                        if (mkdir(tmp, 0700) < 0)
                                return -errno;
                        r = copy_file_if_there(src, tmp, "scratch.img");
                        if (r >= 0) {
                                _cleanup_free_ char *n = path_join(tmp, "scratch.img");
                                r = n ? RET_NERRNO(rename(n, path)) : -ENOMEM;
                        }
                        (void) rm_rf_at(AT_FDCWD, tmp);
                        return r;
                }
        }
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int shim_reset_files(ShimContext *c, const char *name, const char *snap) {
        _cleanup_free_ char *data = shim_data_dir(c, name), *upper = NULL, *fresh = NULL, *work = NULL,
                            *src = NULL;
        int r;

        if (!data || !(upper = path_join(data, "upper")) || !(fresh = path_join(data, "upper.new")) ||
            !(work = path_join(data, "work")))
                return log_error_errno(ENOMEM, "Out of memory");
        if (snap) {
                if (xasprintf(&src, "%s/snapshots/%s/upper", data, snap) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");
                if (access(src, F_OK) < 0)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(ENOENT), "%s has no snapshot named %s", name, snap);
        }
        (void) rm_rf_at(AT_FDCWD, fresh);
        r = src ? copy_dir(src, fresh) : RET_NERRNO(mkdir(fresh, 0755));
        if (r < 0) {
                (void) rm_rf_at(AT_FDCWD, fresh);
                return log_error_errno(r, "Cannot prepare the files of %s: %m", name);
        }
        if (access(upper, F_OK) < 0)
                r = RET_NERRNO(rename(fresh, upper));
        else
                r = RET_NERRNO(renameat2(AT_FDCWD, fresh, AT_FDCWD, upper, RENAME_EXCHANGE));
        if (r < 0) {
                (void) rm_rf_at(AT_FDCWD, fresh);
                return log_error_errno(r, "Cannot swap in the files of %s: %m", name);
        }
        /* upper.new now holds the old files; overlayfs' work directory must start empty. */
        (void) rm_rf_at(AT_FDCWD, fresh);
        (void) rm_rf_at(AT_FDCWD, work);
        /* A VM's disk: back to a fresh one (made at the next start), or to the snapshot's. */
        r = reset_scratch(data, snap);
        if (r < 0)
                return log_error_errno(r, "Cannot reset the disk of %s: %m", name);
        return 0;
}

int shim_instance_reset(ShimContext *c, const char *name, const char *snap, uint64_t timeout_usec) {
        _cleanup_close_ int lab_fd = -EBADF, fd = -EBADF;
        bool running;
        int r;

        if (snap && (r = check_snap_name(snap)) < 0)
                return r;
        r = shim_lock_existing(c, name, &lab_fd, &fd);
        if (r < 0)
                return r;
        if (snap) {
                /* Refuse before stopping anything. */
                _cleanup_free_ char *data = shim_data_dir(c, name), *src = NULL;
                if (!data || xasprintf(&src, "%s/snapshots/%s/upper", data, snap) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");
                if (access(src, F_OK) < 0)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(ENOENT), "%s has no snapshot named %s", name, snap);
        }
        running = shim_live(c, name) == SHIM_LIVE_RUNNING;
        r = shim_instance_stop_locked(c, name, timeout_usec, NULL);
        if (r < 0)
                return r;
        r = shim_reset_files(c, name, snap);
        if (r < 0)
                return r;
        return running ? shim_instance_start_locked(c, name) : 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int shim_instance_snapshots(ShimContext *c, const char *name, char ***ret) {
        _cleanup_free_ char *data = shim_data_dir(c, name), *dir = NULL;
        _cleanup_strv_free_ char **l = NULL;
        ShimDef d = {};
        DIR *dp;
        int r;

        if (!shim_name_is_valid(name))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid instance name '%s'", name);
        r = shim_def_load(c, name, &d);
        shim_def_done(&d);
        if (r == -ENOENT)
                return log_error_errno(SYNTHETIC_ERRNO(ENOENT), "no such instance: %s", name);
        if (r < 0)
                return r;
        if (!data || !(dir = path_join(data, "snapshots")))
                return log_error_errno(ENOMEM, "Out of memory");
        dp = opendir(dir);
        if (dp) {
                for (struct dirent *de; (de = readdir(dp));)
                        if (de->d_name[0] != '.' && !endswith(de->d_name, ".tmp") &&
                            strv_extend(&l, de->d_name) < 0) {
                                closedir(dp);
                                return log_error_errno(ENOMEM, "Out of memory");
                        }
                closedir(dp);
        }
        if (!l && !(l = calloc(1, sizeof(char *))))
                return log_error_errno(ENOMEM, "Out of memory");
        qsort(l, strv_length(l), sizeof(char *), cmp_str);
        *ret = TAKE_PTR(l);
        return 0;
}
