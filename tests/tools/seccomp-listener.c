/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp-listener: the receiving end of linux.seccomp.listenerPath, for tests.
 *
 *   seccomp-listener SOCKET ERRNO
 *
 * Accepts one connection, receives the container state (JSON) with the
 * seccomp notify fd (SCM_RIGHTS), prints "state: <json>", then answers every
 * notification with -ERRNO and prints "notify: <syscall nr>" until the
 * container goes away.
 */
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common.h"

int main(int argc, char **argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int ls = -EBADF, c = -EBADF, nfd = -EBADF;
        char state[8192] = "";
        int err, r;

        if (argc != 3 || strlen(argv[1]) >= sizeof sa.sun_path || safe_atoi(argv[2], &err) < 0) {
                fprintf(stderr, "usage: seccomp-listener SOCKET ERRNO\n");
                return 2;
        }
        strcpy(sa.sun_path, argv[1]);
        ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (ls < 0 || bind(ls, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(ls, 1) < 0) {
                perror("seccomp-listener: listen");
                return 1;
        }
        c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
                perror("seccomp-listener: accept");
                return 1;
        }
        r = recv_fd(c, state, sizeof state - 1, &nfd);
        if (r < 0) {
                fprintf(stderr, "seccomp-listener: no fd: %s\n", strerror(-r));
                return 1;
        }
        state[r] = 0;
        printf("state: %s\n", state);
        fflush(stdout);
        for (;;) {
                struct seccomp_notif req = {};
                struct seccomp_notif_resp resp = {};
                struct pollfd p = { .fd = nfd, .events = POLLIN };

                if (poll(&p, 1, 20000) <= 0 || (p.revents & (POLLHUP | POLLERR)))
                        break;
                if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
                        if (errno == EINTR || errno == ENOENT)
                                continue;
                        break;
                }
                resp.id = req.id;
                resp.error = -err;
                printf("notify: %d\n", req.data.nr);
                fflush(stdout);
                (void) ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
        }
        return 0;
}
