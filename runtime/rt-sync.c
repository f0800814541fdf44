/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/socket.h>

#include "rt-internal.h"

int rt_sync_send(int fd, RtSyncType type, int32_t value) {
        RtSyncMsg m = { .type = type, .value = value };
        ssize_t n;

        do
                n = send(fd, &m, sizeof m, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return n == sizeof m ? 0 : -EIO;
}

int rt_sync_send_fd(int fd, RtSyncType type, int payload_fd) {
        RtSyncMsg m = { .type = type };
        return send_fd(fd, payload_fd, &m, sizeof m);
}

int rt_sync_recv(int fd, RtSyncMsg *ret, int *ret_fd) {
        int passed = -EBADF;
        int n = recv_with_fd(fd, ret, sizeof *ret, &passed);

        if (n < 0)
                return n;
        if (n == 0 || n != sizeof *ret) {
                safe_close(passed);
                return n == 0 ? -ECONNRESET : -EBADMSG;
        }
        ret->err.stage[sizeof ret->err.stage - 1] = 0;
        ret->err.msg[sizeof ret->err.msg - 1] = 0;
        if (ret_fd)
                *ret_fd = passed;
        else
                safe_close(passed);
        return 0;
}

int rt_sync_error(int fd, int error, const char *stage, const char *fmt, ...) {
        RtSyncMsg m = { .type = RT_SYNC_ERROR };
        va_list ap;

        error = ERRNO_VALUE(error);
        m.err.error = error;
        snprintf(m.err.stage, sizeof m.err.stage, "%s", stage);
        errno = error;
        va_start(ap, fmt);
        vsnprintf(m.err.msg, sizeof m.err.msg, fmt, ap);
        va_end(ap);
        (void) send(fd, &m, sizeof m, MSG_NOSIGNAL);
        return -error;
}

int rt_error_log(const RtError *e) {
        int error = e->error > 0 ? e->error : EIO;
        return log_error_errno(error, "%s: %s", e->stage, e->msg);
}

/* aula-dmz writes this record itself, without our headers. */
_Static_assert(RT_SYNC_ERROR == 10, "aula-dmz's DMZ_SYNC_ERROR");
_Static_assert(sizeof(RtSyncMsg) == 260, "aula-dmz's struct dmz_msg");
