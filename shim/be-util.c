/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/mman.h>

#include "shim-server.h"

/*
 * Helpers run library code that logs its errors to stderr ("aula-shim: ...");
 * they point stderr at a memfd so that the line can travel back to the
 * client that asked.
 */
int shim_helper_capture_logs(int *ret_fd) {
        int fd = memfd_create("aula-shim-log", MFD_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (dup2(fd, STDERR_FILENO) < 0) {
                safe_close(fd);
                return -errno;
        }
        *ret_fd = fd;
        return 0;
}

char *shim_helper_last_error(int fd) {
        _cleanup_free_ char *text = NULL;
        char *line, *end;
        size_t len;

        if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0 || read_full_fd(fd, 64 * 1024, &text, &len) < 0 || len == 0)
                return NULL;
        while (len > 0 && text[len - 1] == '\n')
                text[--len] = 0;
        line = strrchr(text, '\n');
        line = line ? line + 1 : text;
        end = (char *) startswith(line, "aula-shim: ");
        return strdup(end ?: line);
}

int shim_net_dev_bytes(pid_t pid, uint64_t *ret_rx, uint64_t *ret_tx) {
        _cleanup_free_ char *text = NULL;
        char path[64], *save = NULL;
        uint64_t rx = 0, tx = 0;
        unsigned lineno = 0;
        int r;

        snprintf(path, sizeof path, "/proc/%d/net/dev", (int) pid);
        r = read_full_file_at(AT_FDCWD, path, 256 * 1024, &text, NULL);
        if (r < 0)
                return r;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                unsigned long long v[9];
                char *colon;
                if (lineno++ < 2)
                        continue;
                colon = strchr(l, ':');
                if (!colon)
                        continue;
                *colon = 0;
                while (*l == ' ')
                        l++;
                if (streq(l, "lo"))
                        continue;
                if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                           &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) != 9)
                        continue;
                rx += v[0];
                tx += v[8];
        }
        *ret_rx = rx;
        *ret_tx = tx;
        return 0;
}
