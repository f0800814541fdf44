/* SPDX-License-Identifier: Apache-2.0 */
#include <time.h>

#include "common.h"

static const char *log_program = "aula";
static LogLevel log_max_level = LOG_LEVEL_INFO;
static int log_fd = -EBADF;
static LogFormat log_format = LOG_FORMAT_TEXT;
static unsigned log_errors;

void log_set_program(const char *name) {
        const char *slash = strrchr(name, '/');
        log_program = slash ? slash + 1 : name;
}

void log_set_max_level(LogLevel level) {
        log_max_level = level;
}

LogLevel log_get_max_level(void) {
        return log_max_level;
}

unsigned log_error_count(void) {
        return log_errors;
}

LogFormat log_format_from_string(const char *s) {
        if (streq(s, "text"))
                return LOG_FORMAT_TEXT;
        if (streq(s, "json"))
                return LOG_FORMAT_JSON;
        return _LOG_FORMAT_INVALID;
}

int log_open_file(const char *path, LogFormat format) {
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        log_set_fd(fd, format);
        return 0;
}

void log_set_fd(int fd, LogFormat format) {
        safe_close(log_fd);
        log_fd = fd;
        log_format = format;
}

void log_close(void) {
        log_fd = safe_close(log_fd);
}

static const char *level_name(LogLevel level) {
        switch (level) {
        case LOG_LEVEL_ERROR:
                return "error";
        case LOG_LEVEL_WARNING:
                return "warning";
        case LOG_LEVEL_INFO:
                return "info";
        default:
                return "debug";
        }
}

/* Append s to buf as the body of a JSON string (escaping quotes, backslashes and controls). */
static size_t json_escape_into(char *buf, size_t size, size_t pos, const char *s) {
        for (; *s && pos + 7 < size; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '"' || c == '\\') {
                        buf[pos++] = '\\';
                        buf[pos++] = (char) c;
                } else if (c < 0x20) {
                        pos += (size_t) snprintf(buf + pos, size - pos, "\\u%04x", c);
                } else
                        buf[pos++] = (char) c;
        }
        buf[pos] = 0;
        return pos;
}

static void emit_structured(LogLevel level, const char *msg) {
        char line[4096 + 256], ts[64];
        struct timespec t;
        size_t pos;

        clock_gettime(CLOCK_REALTIME, &t);
        format_rfc3339((uint64_t) t.tv_sec * 1000000000ULL + (uint64_t) t.tv_nsec, ts, sizeof ts);
        if (log_format == LOG_FORMAT_JSON) {
                pos = (size_t) snprintf(line, sizeof line, "{\"level\":\"%s\",\"msg\":\"", level_name(level));
                pos = json_escape_into(line, sizeof line - 32, pos, msg);
                pos += (size_t) snprintf(line + pos, sizeof line - pos, "\",\"time\":\"%s\"}\n", ts);
        } else
                pos = (size_t) snprintf(
                                line, sizeof line, "time=\"%s\" level=%s msg=\"%s\"\n", ts,
                                level_name(level), msg);
        (void) loop_write(log_fd, line, MIN(pos, sizeof line - 1));
}

int log_internal(LogLevel level, int error, const char *fmt, ...) {
        int saved_errno = errno;
        char msg[4096];
        va_list ap;

        error = ERRNO_VALUE(error);
        if (level > log_max_level)
                goto out;

        /* "%m" expands to strerror(errno): make it name the error we were given. */
        errno = error;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);

        if (level <= LOG_LEVEL_ERROR)
                log_errors++;
        if (log_fd >= 0)
                emit_structured(level, msg);
        if (log_fd < 0 || level <= LOG_LEVEL_ERROR) {
                char line[4096 + 64];
                int n = snprintf(line, sizeof line, "%s: %s\n", log_program, msg);
                (void) loop_write(STDERR_FILENO, line, MIN((size_t) n, sizeof line - 1));
        }
out:
        errno = saved_errno;
        return -error;
}
