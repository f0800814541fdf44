/* SPDX-License-Identifier: Apache-2.0 */
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>

#include "rt-internal.h"

int rt_release(int sock) {
        RtSyncMsg m;
        int r;

        r = rt_sync_send(sock, RT_SYNC_EXEC, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to release the container process: %m");
        r = rt_sync_recv(sock, &m, NULL);
        if (r == -ECONNRESET)
                return 0; /* the socket is O_CLOEXEC: EOF means execve succeeded */
        if (r < 0)
                return log_error_errno(r, "Failed to read from the container process: %m");
        if (m.type == RT_SYNC_ERROR)
                return rt_error_log(&m.err);
        return log_error_errno(SYNTHETIC_ERRNO(EBADMSG), "unexpected message %u", m.type);
}

static void copy_winsize(int master) {
        struct winsize ws;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) >= 0)
                (void) ioctl(master, TIOCSWINSZ, &ws);
}

/* Shuttle one direction; returns false at EOF or error. */
static bool pump(int from, int to) {
        char buf[8192];
        ssize_t n = read(from, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return true;
        if (n <= 0)
                return false;
        return loop_write(to, buf, (size_t) n) >= 0;
}

int rt_foreground(pid_t pid, int master) {
        static const int forward[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD };
        struct termios saved;
        bool raw = false, in_open = master >= 0;
        _cleanup_close_ int sfd = -EBADF;
        int status = -1;
        sigset_t mask;

        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(forward); i++)
                sigaddset(&mask, forward[i]);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                return log_error_errno(errno, "signalfd: %m");
        if (master >= 0 && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) >= 0) {
                struct termios t = saved;
                cfmakeraw(&t);
                raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) >= 0;
                copy_winsize(master);
        }
        for (;;) {
                struct pollfd p[3] = {
                        { .fd = sfd, .events = POLLIN },
                        { .fd = master, .events = POLLIN },
                        { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
                };
                struct signalfd_siginfo si;
                int st;
                pid_t w;

                /* Reap first: the child may have exited before we listened. */
                while ((w = waitpid(-1, &st, WNOHANG)) > 0)
                        if (w == pid)
                                status = exit_status_from_wait(st);
                if (status >= 0) {
                        /* Drain what the process wrote before it died. */
                        while (master >= 0 && poll(&p[1], 1, 0) > 0 && pump(master, STDOUT_FILENO))
                                ;
                        break;
                }
                if (poll(p, 3, -1) < 0 && errno != EINTR)
                        break;
                if (p[0].revents & POLLIN) {
                        while (read(sfd, &si, sizeof si) == sizeof si) {
                                if (si.ssi_signo == SIGCHLD)
                                        continue;
                                if (si.ssi_signo == SIGWINCH) {
                                        if (master >= 0)
                                                copy_winsize(master);
                                        continue;
                                }
                                (void) kill(pid, (int) si.ssi_signo);
                        }
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
                        if (!pump(master, STDOUT_FILENO))
                                master = -1; /* slave side closed: keep waiting for the exit */
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
                        if (!pump(STDIN_FILENO, master))
                                in_open = false;
        }
        if (raw)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        (void) sigprocmask(SIG_UNBLOCK, &mask, NULL);
        return status < 0 ? log_error_errno(SYNTHETIC_ERRNO(ECHILD), "lost track of the container process")
                          : status;
}
