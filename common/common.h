/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * libcommon: the few things every folder of aula shares.
 *
 *   - macros: cleanup attributes, ownership transfer, error conversion;
 *   - logging: text or JSON lines (runc's --log-format), levels, "%m";
 *   - files: bounded reads, atomic writes, directory trees;
 *   - strings: string vectors, number and size parsing, signals;
 *   - fds and processes: fd passing, EINTR-safe waits, sync pipes;
 *   - JSON over yajl: a depth-bounded DOM parser with field-naming errors,
 *     and a writer.
 *
 * Conventions (STYLE.md): functions that can fail return an int, >= 0 on
 * success and -errno on failure; ret_* out-parameters are written only on
 * success. Nothing here logs above debug level except the logging API.
 */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

/* ------------------------------------------------------------------ macros */

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define STRLEN(s) (sizeof(s) - 1)

/* Positive errno values that did not come from a syscall carry this bit until logged. */
#define SYNTHETIC_ERRNO(e) (1 << 30 | (e))
#define ERRNO_VALUE(e) (abs(e) & ~(1 << 30))

/* Convert a libc "-1 and errno" return into "-errno". */
#define RET_NERRNO(expr) \
        ({ \
                long _r = (long) (expr); \
                _r < 0 ? -errno : (int) _r; \
        })

#define TAKE_PTR(p) \
        ({ \
                __typeof__(p) _p = (p); \
                (p) = NULL; \
                _p; \
        })
#define TAKE_FD(fd) \
        ({ \
                int _fd = (fd); \
                (fd) = -EBADF; \
                _fd; \
        })

#define DEFINE_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p) { \
                if (*p) \
                        *p = func(*p); \
        }

#define FOREACH_ARRAY(i, array, num) for (__typeof__(array[0]) *i = (array); i && i < (array) + (num); i++)
#define STRV_FOREACH(s, l) for (char **s = (l); s && *s; s++)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

int safe_close(int fd);
static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

char **strv_free(char **l);
DEFINE_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b) {
        return (!a && !b) || (a && b && streq(a, b));
}
static inline bool isempty(const char *s) {
        return !s || !*s;
}
/* Returns a pointer just past the prefix, or NULL. */
static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}
bool endswith(const char *s, const char *suffix);

/* ----------------------------------------------------------------- logging */

typedef enum LogLevel {
        LOG_LEVEL_ERROR = 3,
        LOG_LEVEL_WARNING = 4,
        LOG_LEVEL_INFO = 6,
        LOG_LEVEL_DEBUG = 7,
} LogLevel;

typedef enum LogFormat {
        LOG_FORMAT_TEXT,
        LOG_FORMAT_JSON,
        _LOG_FORMAT_MAX,
        _LOG_FORMAT_INVALID = -EINVAL,
} LogFormat;

/* Program name shown in text lines on stderr. Not thread-safe; call from main. */
void log_set_program(const char *name);
void log_set_max_level(LogLevel level);
LogLevel log_get_max_level(void);
LogFormat log_format_from_string(const char *s);
/*
 * Send log lines to the file at path (appended, created 0600) in the given
 * format instead of stderr. Errors still go to stderr as one text line too,
 * as runc does, so that a caller reading either sees the failure.
 */
int log_open_file(const char *path, LogFormat format);
/* Use an already open fd (e.g. a pipe to a parent) for structured lines. Takes ownership. */
void log_set_fd(int fd, LogFormat format);
void log_close(void);
/* Number of error-level lines emitted so far by this process. */
unsigned log_error_count(void);

/* Formats and emits one line; returns -abs(error) (or 0 when error is 0). errno is preserved. */
int log_internal(LogLevel level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...) \
        ({ \
                int _e = ERRNO_VALUE(error); \
                (level) <= log_get_max_level() ? log_internal(level, _e, __VA_ARGS__) : -_e; \
        })
#define log_error_errno(e, ...) log_full_errno(LOG_LEVEL_ERROR, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_LEVEL_WARNING, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_LEVEL_INFO, e, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_LEVEL_DEBUG, e, __VA_ARGS__)
#define log_error(...) (void) log_full_errno(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warning(...) (void) log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_info(...) (void) log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) (void) log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)

/* ------------------------------------------------------------------- files */

/* Read a whole file (at most max bytes, else -EFBIG) into a NUL-terminated buffer. */
int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_len);
/* Read the first line, without its newline. */
int read_one_line_at(int dirfd, const char *path, char **ret);
/*
 * Replace path atomically: write a temporary file in the same directory,
 * fsync it, rename it over path and fsync the directory. Readers see the old
 * or the new content, never a mix; a crash leaves at most a stray temp file.
 */
int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode);
/*
 * The same without the fsyncs: readers still see old or new, never a mix,
 * but a power cut may lose the update. For state that does not outlive a
 * reboot anyway (/run), where fsync on a disk-backed directory costs ms.
 */
int write_file_replace_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode);
/* Plain open(O_WRONLY|O_TRUNC)+write, for /proc, /sys and cgroup knobs. No O_CREAT. */
int write_string_at(int dirfd, const char *path, const char *s);
/* Write all bytes, retrying on EINTR and short writes. */
int loop_write(int fd, const void *buf, size_t len);
/* Read up to len bytes, retrying on EINTR; returns the number read (short only at EOF). */
ssize_t loop_read(int fd, void *buf, size_t len);
/* mkdir -p; existing directories are fine, anything else in the way is -ENOTDIR. */
int mkdir_p(const char *path, mode_t mode);
/* Remove a tree below dirfd/name without following symlinks or crossing mounts. */
int rm_rf_at(int dirfd, const char *name);
/* Join path components with exactly one '/'; returns NULL on OOM. */
char *path_join(const char *a, const char *b);
/* True if path has no ".." component (after splitting on '/'). */
bool path_is_safe(const char *path);

/* ----------------------------------------------------------------- strings */

size_t strv_length(char *const *l);
/* Append a copy of s; on failure l is unchanged. */
int strv_extend(char ***l, const char *s);
/* Append s itself (ownership moves on success only). */
int strv_push(char ***l, char *s);
char **strv_copy(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Look up KEY in an environ-style vector; returns the value after '=' or NULL. */
const char *strv_env_get(char *const *l, const char *key);
/* Set KEY=VALUE (entry = "KEY=VALUE"), replacing an existing KEY. */
int strv_env_set(char ***l, const char *entry);

int xasprintf(char **ret, const char *fmt, ...) _printf_(2, 3);
/*
 * Set *error_msg to the formatted one-line message unless error_msg is NULL or
 * already holds one (the first, most specific message wins). Returns r.
 */
int error_msg_set(char **error_msg, int r, const char *fmt, ...) _printf_(3, 4);
int safe_atou64(const char *s, uint64_t *ret);
int safe_atoi64(const char *s, int64_t *ret);
int safe_atou(const char *s, unsigned *ret);
int safe_atoi(const char *s, int *ret);
/* "512", "64k", "1.5G", "2MiB" -> bytes (base 1024). */
int parse_size(const char *s, uint64_t *ret);
/* "KILL", "SIGKILL", "9", "RTMIN+3" -> signal number. */
int signal_from_string(const char *s);
/* Canonical name without "SIG" prefix ("KILL"), or NULL if unknown. */
const char *signal_to_string(int sig);

/* -------------------------------------------------------- fds, processes */

/* Send/receive one fd with SCM_RIGHTS, with a small payload (may be NULL/0). */
int send_fd(int sock, int fd, const void *data, size_t len);
int recv_fd(int sock, void *data, size_t len, int *ret_fd);
/* The same, but a message without an fd is fine: *ret_fd is then -EBADF. Returns the bytes read (0 at EOF). */
int recv_with_fd(int sock, void *data, size_t len, int *ret_fd);
/* Wait for pid, retrying on EINTR. Returns the exit status (128+signal if killed). */
int wait_for_pid(pid_t pid);
/* Convert a waitpid status into a shell-style exit code. */
int exit_status_from_wait(int status);
/* Monotonic and realtime clocks in microseconds. */
uint64_t now_usec(int clock);
/* RFC 3339 with nanoseconds in UTC, as Go's time.RFC3339Nano: buf of at least 40 bytes. */
char *format_rfc3339(uint64_t realtime_nsec, char *buf, size_t size);
/* Take an flock on dirfd/path (created if missing); returns the locked fd. */
int lock_file_at(int dirfd, const char *path, int operation, int *ret_fd);

/* -------------------------------------------------------------------- JSON */

typedef struct yajl_val_s *JsonVal;

/* Limits applied before yajl ever sees the text, so hostile input cannot exhaust the stack. */
#define JSON_MAX_DEPTH 64
#define JSON_PATH_MAX 256

/*
 * Parse text (need not be NUL-terminated) into a DOM. On failure returns
 * -EINVAL (or -E2BIG for nesting deeper than JSON_MAX_DEPTH) and, when
 * error_msg is not NULL, sets *error_msg to a malloc'd one-line message.
 */
int json_parse(const char *text, size_t len, JsonVal *ret, char **error_msg);
JsonVal json_free(JsonVal v);
DEFINE_CLEANUP_FUNC(JsonVal, json_free);

const char *json_type_name(JsonVal v);
/* Member of an object, or NULL (also NULL when v is not an object). */
JsonVal json_get(JsonVal obj, const char *key);

/*
 * Typed decoders. "path" names the value for messages ("linux.resources.pids.limit").
 * On a type or range mismatch they return -EINVAL and set *error_msg like
 * "linux.resources.pids.limit: expected integer, got string".
 */
int json_want_string(JsonVal v, const char *path, char **ret, char **error_msg);
int json_want_bool(JsonVal v, const char *path, bool *ret, char **error_msg);
int json_want_int64(JsonVal v, const char *path, int64_t min, int64_t max, int64_t *ret, char **error_msg);
int json_want_uint64(JsonVal v, const char *path, uint64_t max, uint64_t *ret, char **error_msg);
int json_want_strv(JsonVal v, const char *path, char ***ret, char **error_msg);
int json_want_type(JsonVal v, const char *path, int yajl_type, char **error_msg);
/* Set *error_msg to "path: <formatted>" and return -EINVAL. */
int json_error(char **error_msg, const char *path, const char *fmt, ...) _printf_(3, 4);
/* Build "parent.key" or "parent[i]" into buf. */
const char *json_path_key(char *buf, size_t size, const char *parent, const char *key);
const char *json_path_index(char *buf, size_t size, const char *parent, size_t i);

typedef struct JsonWriter JsonWriter;

/* A JSON text builder over yajl_gen. Errors are sticky and reported by json_writer_finish(). */
int json_writer_new(bool pretty, JsonWriter **ret);
JsonWriter *json_writer_free(JsonWriter *w);
DEFINE_CLEANUP_FUNC(JsonWriter *, json_writer_free);
void jw_object_open(JsonWriter *w);
void jw_object_close(JsonWriter *w);
void jw_array_open(JsonWriter *w);
void jw_array_close(JsonWriter *w);
void jw_key(JsonWriter *w, const char *key);
void jw_string(JsonWriter *w, const char *s); /* NULL writes null */
void jw_int(JsonWriter *w, int64_t v);
void jw_uint(JsonWriter *w, uint64_t v);
void jw_double(JsonWriter *w, double v);
void jw_bool(JsonWriter *w, bool v);
void jw_null(JsonWriter *w);
void jw_strv(JsonWriter *w, char *const *l);
/* Copy an already-parsed value verbatim (used to round-trip unknown fields). */
void jw_value(JsonWriter *w, JsonVal v);
/* Returns a malloc'd NUL-terminated text. */
int json_writer_finish(JsonWriter *w, char **ret, size_t *ret_len);
