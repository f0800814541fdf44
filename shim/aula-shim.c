/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>

#include "shim-clients.h"

/*
 * aula-shim RUN_DIR: one per instance, started by libaula-shim with the
 * ready channel on fd 3 and stdio on /dev/null (docs/shim-protocol.md).
 */

int main(int argc, char **argv) {
        Shim s = {};
        int r, ready_fd = 3, logfd = -EBADF, null;

        log_set_program("aula-shim");
        if (argc == 3 && streq(argv[2], "--debug"))
                log_set_max_level(LOG_LEVEL_DEBUG);
        else if (argc != 2 || argv[1][0] == '-') {
                fprintf(stderr,
                        "Usage: aula-shim RUN_DIR [--debug]\n"
                        "Started by aula for one instance; see docs/shim-protocol.md.\n");
                return 2;
        }
        if (fcntl(ready_fd, F_SETFD, FD_CLOEXEC) < 0)
                ready_fd = -EBADF;
        /* Until the instance is up, our error lines are kept for the ready channel. */
        (void) shim_helper_capture_logs(&logfd);
        r = shim_setup(&s, argv[1], ready_fd);
        if (r < 0 && s.ready_fd >= 0) {
                _cleanup_free_ char *msg = shim_helper_last_error(logfd);
                shim_ready_error(&s, r, msg);
        }
        null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0)
                (void) dup2(null, STDERR_FILENO);
        safe_close(null);
        safe_close(logfd);
        if (r >= 0)
                r = shim_run(&s);
        if (r < 0 && s.state != SHIM_STATE_STOPPED) {
                /* Setup failed: the instance never ran; make sure its processes go too. */
                if (s.backend && s.main_pid > 0)
                        (void) s.backend->kill(&s, SIGKILL, true);
        }
        if (s.keeper_pid > 0) {
                /* Closing the pipe is the keeper's cue: it cleans up after us (and keeps the lock). */
                s.keeper_pipe = safe_close(s.keeper_pipe);
        } else if (s.lock_fd >= 0 && s.cfg.reap) {
                /* No keeper (it died or never started): clean up ourselves. */
                shim_clients_free_all(&s);
                (void) shim_exec_reaper(&s);
        }
        shim_done(&s);
        return r < 0 ? 1 : 0;
}
