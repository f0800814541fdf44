/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recvtty: the receiving end of --console-socket, for tests.
 *
 *   recvtty SOCKET [INPUT]
 *
 * Listens on SOCKET, accepts one connection, receives the pty master by
 * SCM_RIGHTS, writes INPUT (if given) to it, then copies everything the
 * container writes to stdout until the pty closes. Prints "recvtty: no fd"
 * and exits 1 when the peer sent none.
 */
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common.h"

int main(int argc, char **argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int ls = -EBADF, c = -EBADF, master = -EBADF;
        char name[64] = "";
        int r;

        if (argc < 2 || strlen(argv[1]) >= sizeof sa.sun_path) {
                fprintf(stderr, "usage: recvtty SOCKET [INPUT]\n");
                return 2;
        }
        strcpy(sa.sun_path, argv[1]);
        ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (ls < 0 || bind(ls, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(ls, 1) < 0) {
                perror("recvtty: listen");
                return 1;
        }
        /* Tell the test we are listening. */
        printf("ready\n");
        fflush(stdout);
        c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
                perror("recvtty: accept");
                return 1;
        }
        r = recv_fd(c, name, sizeof name - 1, &master);
        if (r < 0) {
                fprintf(stderr, "recvtty: no fd (%s)\n", strerror(-r));
                return 1;
        }
        if (argc > 2)
                (void) loop_write(master, argv[2], strlen(argv[2]));
        for (;;) {
                char buf[4096];
                struct pollfd p = { .fd = master, .events = POLLIN };
                if (poll(&p, 1, 10000) <= 0)
                        break;
                ssize_t n = read(master, buf, sizeof buf);
                if (n <= 0)
                        break;
                (void) loop_write(STDOUT_FILENO, buf, (size_t) n);
        }
        return 0;
}
