/* SPDX-License-Identifier: Apache-2.0 */
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "rt-internal.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/*
 * Resolving paths inside a container's rootfs, from outside it.
 *
 * A hostile image can put symlinks anywhere ("/etc -> /host/etc",
 * "a -> ../../.."), so a mount destination must be resolved as if the
 * rootfs were "/": absolute symlinks restart at the rootfs and ".." stops
 * there. openat2(RESOLVE_IN_ROOT) does exactly that in the kernel (5.6+);
 * where it is missing (ENOSYS, or tests/tools/nosys), a component-by-
 * component walk with O_NOFOLLOW does the same in user space.
 */

static int openat2_in_root(int rootfd, const char *path, int *ret_fd) {
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        do
                fd = (int) syscall(SYS_openat2, rootfd, path, &how, sizeof how);
        while (fd < 0 && errno == EAGAIN);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

static bool same_inode(int a, int b) {
        struct stat sa, sb;
        return fstat(a, &sa) >= 0 && fstat(b, &sb) >= 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* User-space RESOLVE_IN_ROOT. */
static int walk_in_root(int rootfd, const char *path, int *ret_fd) {
        _cleanup_free_ char *todo = NULL;
        _cleanup_close_ int cur = -EBADF;
        unsigned links = 0;
        char *p;

        todo = strdup(path);
        cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (!todo)
                return -ENOMEM;
        if (cur < 0)
                return -errno;
        p = todo;
        for (;;) {
                _cleanup_close_ int next = -EBADF;
                struct stat st;
                char *comp;
                size_t n;

                p += strspn(p, "/");
                if (!*p)
                        break;
                n = strcspn(p, "/");
                comp = strndup(p, n);
                if (!comp)
                        return -ENOMEM;
                p += n;
                if (streq(comp, ".")) {
                        free(comp);
                        continue;
                }
                if (streq(comp, "..")) {
                        free(comp);
                        if (same_inode(cur, rootfd))
                                continue;
                        next = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (next < 0)
                                return -errno;
                        safe_close(cur);
                        cur = TAKE_FD(next);
                        continue;
                }
                next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                free(comp);
                if (next < 0)
                        return -errno;
                if (fstat(next, &st) < 0)
                        return -errno;
                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t k;
                        char *rest;

                        if (++links > 40)
                                return -ELOOP;
                        k = readlinkat(next, "", target, sizeof target - 1);
                        if (k < 0)
                                return -errno;
                        target[k] = 0;
                        if (xasprintf(&rest, "%s/%s", target, p) < 0)
                                return -ENOMEM;
                        free(todo);
                        todo = p = rest;
                        if (target[0] == '/') {
                                safe_close(cur);
                                cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
                                if (cur < 0)
                                        return -errno;
                        }
                        continue;
                }
                if (*p && !S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                safe_close(cur);
                cur = TAKE_FD(next);
        }
        *ret_fd = TAKE_FD(cur);
        return 0;
}

static int resolve(int rootfd, const char *path, int *ret_fd) {
        static bool no_openat2;
        int r;

        if (!no_openat2) {
                r = openat2_in_root(rootfd, path, ret_fd);
                if (r != -ENOSYS && r != -EPERM)
                        return r;
                no_openat2 = true;
        }
        return walk_in_root(rootfd, path, ret_fd);
}

int rt_open_in_root(int rootfd, const char *path, bool create, bool is_dir, int *ret_fd) {
        _cleanup_free_ char *prefix = NULL;
        const char *p;
        int r;

        r = resolve(rootfd, path, ret_fd);
        if (r != -ENOENT || !create)
                return r;

        /* Create what is missing one component at a time, each resolved again from the root. */
        prefix = malloc(strlen(path) + 1);
        if (!prefix)
                return -ENOMEM;
        prefix[0] = 0;
        p = path;
        for (;;) {
                _cleanup_close_ int parent = -EBADF, fd = -EBADF;
                size_t len = strlen(prefix), n;
                bool last;
                char name[NAME_MAX + 1];

                p += strspn(p, "/");
                if (!*p)
                        break;
                n = strcspn(p, "/");
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, p, n);
                name[n] = 0;
                p += n;
                last = p[strspn(p, "/")] == 0;

                r = resolve(rootfd, len ? prefix : "/", &parent);
                if (r < 0)
                        return r;
                snprintf(prefix + len, strlen(path) + 1 - len, "/%s", name);
                r = resolve(rootfd, prefix, &fd);
                if (r >= 0)
                        continue;
                if (r != -ENOENT)
                        return r;
                if (streq(name, "..") || streq(name, "."))
                        return -ENOENT;
                if (!last || is_dir) {
                        if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
                                return -errno;
                } else {
                        int f = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                       0644);
                        if (f < 0 && errno != EEXIST)
                                return -errno;
                        safe_close(f);
                }
                /* A name that exists but does not resolve is a dangling symlink: refuse it. */
                r = resolve(rootfd, prefix, &fd);
                if (r < 0)
                        return r == -ENOENT ? -ELOOP : r;
        }
        return resolve(rootfd, path, ret_fd);
}
