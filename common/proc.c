/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "common.h"

int send_fd(int sock, int fd, const void *data, size_t len) {
        union {
                struct cmsghdr cmsg;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        char dummy = 0;
        struct iovec iov = {
                .iov_base = data ? (void *) data : &dummy,
                .iov_len = data ? len : 1,
        };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        for (;;) {
                ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
                if (n >= 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

int recv_with_fd(int sock, void *data, size_t len, int *ret_fd) {
        union {
                struct cmsghdr cmsg;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        char dummy;
        struct iovec iov = {
                .iov_base = data ?: &dummy,
                .iov_len = data ? len : 1,
        };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        ssize_t n;
        int fd = -EBADF;

        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
                    c->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        if (mh.msg_flags & MSG_CTRUNC) {
                safe_close(fd);
                return -EPROTO;
        }
        *ret_fd = fd;
        return (int) n;
}

int recv_fd(int sock, void *data, size_t len, int *ret_fd) {
        int fd, n = recv_with_fd(sock, data, len, &fd);

        if (n < 0)
                return n;
        if (fd < 0)
                return n == 0 ? -ECONNRESET : -EBADMSG;
        *ret_fd = fd;
        return n;
}

int exit_status_from_wait(int status) {
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}

int wait_for_pid(pid_t pid) {
        int status;
        for (;;) {
                if (waitpid(pid, &status, __WALL) >= 0)
                        return exit_status_from_wait(status);
                if (errno != EINTR)
                        return -errno;
        }
}

uint64_t now_usec(int clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

char *format_rfc3339(uint64_t ns, char *buf, size_t size) {
        time_t sec = (time_t) (ns / 1000000000ULL);
        struct tm tm;
        char base[32];

        gmtime_r(&sec, &tm);
        strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%09" PRIu64 "Z", base, (uint64_t) (ns % 1000000000ULL));
        return buf;
}

int lock_file_at(int dirfd, const char *path, int operation, int *ret_fd) {
        _cleanup_close_ int fd = openat(dirfd, path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        while (flock(fd, operation) < 0)
                if (errno != EINTR)
                        return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
