/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "rt-internal.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int rt_console_create(int *ret_master, int *ret_slave) {
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        int unlock = 0;

        /* The container's devpts: /dev/ptmx is pts/ptmx there. */
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return -errno;
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                return -errno;
        /* Open the peer through the master itself: no lookup by name in /dev/pts. */
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0) {
                char name[64];
                if (ptsname_r(master, name, sizeof name) != 0)
                        return -errno;
                slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (slave < 0)
                        return -errno;
        }
        *ret_master = TAKE_FD(master);
        *ret_slave = TAKE_FD(slave);
        return 0;
}

int rt_console_setup_slave(int slave, uint32_t height, uint32_t width) {
        struct termios t;

        /* As runc: no "\n" -> "\r\n" translation, callers get the bytes the process wrote. */
        if (tcgetattr(slave, &t) < 0)
                return -errno;
        t.c_oflag &= ~(tcflag_t) ONLCR;
        if (tcsetattr(slave, TCSANOW, &t) < 0)
                return -errno;
        if (height > 0 && width > 0) {
                struct winsize ws = { .ws_row = (unsigned short) height, .ws_col = (unsigned short) width };
                if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
                        return -errno;
        }
        return 0;
}

int rt_console_send(const char *socket_path, int master_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int sock = -EBADF;
        static const char name[] = "/dev/ptmx";
        int r;

        if (strlen(socket_path) >= sizeof sa.sun_path)
                return log_error_errno(
                                SYNTHETIC_ERRNO(ENAMETOOLONG), "console socket path too long: %s",
                                socket_path);
        strcpy(sa.sun_path, socket_path);
        sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0)
                return log_error_errno(errno, "Failed to create socket: %m");
        if (connect(sock, (struct sockaddr *) &sa, sizeof sa) < 0)
                return log_error_errno(errno, "Failed to connect to console socket '%s': %m", socket_path);
        r = send_fd(sock, master_fd, name, sizeof name - 1);
        if (r < 0)
                return log_error_errno(r, "Failed to send the pty to console socket '%s': %m", socket_path);
        return 0;
}
