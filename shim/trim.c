/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/mman.h>

#include "shim-server.h"

/*
 * An idle shim's resident memory. The shim is a static binary; its code and
 * read-only data are file pages shared by every shim in the page cache, but
 * each shim maps whatever it touched, and the kernel maps up to 64 KiB around
 * every fault ("fault-around"), so a shim that ran its setup code maps most
 * of its text. Once idle, it unmaps them again (MADV_DONTNEED): the pages stay
 * in the page cache, and the few the event loop needs come back as minor
 * faults on the next request.
 *
 * Only mappings of our own executable that hold no private or anonymous page
 * are touched: text and .rodata. RELRO and .data (written at startup) keep
 * their contents, since dropping a private dirty page would lose it.
 */

#define MAX_RANGES 8

static struct { uintptr_t start, end; } ranges[MAX_RANGES];
static size_t n_ranges;

static void add_range(uintptr_t start, uintptr_t end) {
        if (n_ranges < MAX_RANGES) {
                ranges[n_ranges].start = start;
                ranges[n_ranges].end = end;
                n_ranges++;
        }
}

int shim_trim_init(void) {
        _cleanup_free_ char *text = NULL;
        char exe[4096], *save = NULL;
        unsigned long start = 0, end = 0, dirty = 0, anon = 0, v;
        bool candidate = false;
        ssize_t n;
        int r;

        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n < 0)
                return -errno;
        exe[n] = 0;
        r = read_full_file_at(AT_FDCWD, "/proc/self/smaps", 1 << 20, &text, NULL);
        if (r < 0)
                return r;
        /* Mapping lines start with a lowercase hex address; their fields ("Rss:") with a capital. */
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char perms[8], path[4096];
                if ((*l >= '0' && *l <= '9') || (*l >= 'a' && *l <= 'f')) {
                        if (candidate && dirty == 0 && anon == 0)
                                add_range(start, end);
                        path[0] = 0;
                        candidate = sscanf(l, "%lx-%lx %7s %*s %*s %*s %4095s", &start, &end, perms, path) ==
                                                        4 &&
                                        streq(path, exe) && perms[1] != 'w';
                        dirty = anon = 0;
                } else if (sscanf(l, "Private_Dirty: %lu kB", &v) == 1)
                        dirty += v;
                else if (sscanf(l, "Anonymous: %lu kB", &v) == 1)
                        anon += v;
        }
        if (candidate && dirty == 0 && anon == 0)
                add_range(start, end);
        return (int) n_ranges;
}

void shim_trim(void) {
        for (size_t i = 0; i < n_ranges; i++)
                (void) madvise((void *) ranges[i].start, ranges[i].end - ranges[i].start, MADV_DONTNEED);
}
