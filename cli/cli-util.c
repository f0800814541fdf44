/* SPDX-License-Identifier: Apache-2.0 */

/* Output and option helpers every verb family of `aula` uses (declared in cli.h). */

#include "cli.h"

int cli_parse_format(const char *s, bool *ret_json) {
        if (!streq(s, "json") && !streq(s, "table"))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "unknown format '%s' (json or table)", s);
        *ret_json = streq(s, "json");
        return 0;
}

int cli_split_dashdash(int argc, char **argv) {
        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--"))
                        return i;
        return argc;
}

const char *cli_format_bytes(char *buf, size_t n, uint64_t v) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double d = (double) v;
        size_t u = 0;

        if (v == UINT64_MAX)
                return "-";
        while (d >= 1024 && u + 1 < ELEMENTSOF(units)) {
                d /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, n, "%" PRIu64 " B", v);
        else
                snprintf(buf, n, "%.1f %s", d, units[u]);
        return buf;
}

void cli_print_json(JsonWriter *w) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (json_writer_finish(w, &text, &len) >= 0)
                printf("%s\n", text);
}
