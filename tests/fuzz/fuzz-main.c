/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replays files through LLVMFuzzerTestOneInput for builds without libFuzzer:
 * each argument is a file or a directory whose regular files are replayed.
 * A crash or abort fails the test; an unreadable corpus fails it too.
 */
#include <dirent.h>

#include "common.h"
#include "fuzz.h"

static int replay_file(int dirfd, const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r;

        r = read_full_file_at(dirfd, path, 64u * 1024u * 1024u, &data, &len);
        if (r < 0) {
                fprintf(stderr, "cannot read %s: %s\n", path, strerror(-r));
                return r;
        }
        (void) LLVMFuzzerTestOneInput((const uint8_t *) data, len);
        return 0;
}

static int replay_dir(const char *path, unsigned *count) {
        DIR *d = opendir(path);
        struct dirent *de;
        int r = 0;

        if (!d) {
                fprintf(stderr, "cannot open %s: %m\n", path);
                return -errno;
        }
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (replay_file(dirfd(d), de->d_name) < 0)
                        r = -EIO;
                else
                        (*count)++;
        }
        closedir(d);
        return r;
}

int main(int argc, char **argv) {
        unsigned count = 0;
        int r = 0;

        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                if (d) {
                        closedir(d);
                        if (replay_dir(argv[i], &count) < 0)
                                r = -EIO;
                } else if (replay_file(AT_FDCWD, argv[i]) < 0)
                        r = -EIO;
                else
                        count++;
        }
        printf("replayed %u inputs\n", count);
        return r < 0 || count == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
