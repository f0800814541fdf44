/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The instance control protocol (docs/shim-protocol.md), shared by aula-shim
 * (server) and libaula-shim (client). Internal to shim/.
 *
 * Transport: a SOCK_SEQPACKET unix socket. A request is one packet holding a
 * JSON object with an "op"; the reply is one JSON packet {"ok":true,...} or
 * {"ok":false,"error":"...","errno":N}. File descriptors travel as
 * SCM_RIGHTS with the packet they belong to. Streaming operations (attach,
 * logs, exec) continue after the reply with framed packets: one type byte
 * and a payload.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define SHIM_PROTO_VERSION 1
#define SHIM_PACKET_MAX (64 * 1024)
#define SHIM_MAX_FDS 3
#define SHIM_SOCKET_NAME "shim.sock"
#define SHIM_LOCK_NAME "shim.lock"
#define SHIM_RUN_CONFIG "run.json"

/* Stream frame types (first byte of a packet after the reply). */
enum {
        SHIM_FRAME_DATA = 'd', /* payload: bytes (output to the client, input from it) */
        SHIM_FRAME_RESIZE = 'r', /* client -> shim: JSON {"rows":R,"cols":C} */
        SHIM_FRAME_END = 'e', /* shim -> client, last packet: JSON {"exit_code":N} / {"detached":true} / {} */
};

/* Send one packet with up to SHIM_MAX_FDS fds (n_fds may be 0). Blocking unless the socket is not. */
int shim_send_packet(int fd, const void *data, size_t len, const int *fds, size_t n_fds);
/*
 * Receive one packet into buf (size SHIM_PACKET_MAX). Returns its length (0:
 * the peer closed), -EMSGSIZE when truncated. Received fds go to fds[] (each
 * O_CLOEXEC, the rest set to -EBADF), *ret_n_fds their count; extra fds are
 * closed.
 */
ssize_t shim_recv_packet(int fd, void *buf, size_t size, int *fds, size_t max_fds, size_t *ret_n_fds);

/* A JSON reply {"ok":false,"error":msg,"errno":e} (malloc'd). */
int shim_reply_error(int error, const char *msg, char **ret, size_t *ret_len);

/* Parse "ctrl-p,ctrl-q" / "ctrl-a,d" into bytes (at most 8). */
int shim_parse_detach_keys(const char *s, uint8_t *ret, size_t *ret_n);

/* Incremental matcher of a detach key sequence over an input stream. */
typedef struct ShimDetach {
        uint8_t keys[8];
        size_t n_keys;
        size_t matched; /* keys matched so far (held back, not yet forwarded) */
} ShimDetach;

/*
 * Feed input: bytes to forward go to out (capacity >= len + 8), *ret_out_len
 * their count. Returns 1 when the whole sequence was seen (bytes after it are
 * dropped), 0 otherwise. Partial matches are held back until they complete or
 * fail.
 */
int shim_detach_feed(ShimDetach *d, const uint8_t *in, size_t len, uint8_t *out, size_t *ret_out_len);

/* ------------------------------------------------------------------- log ring */

/*
 * The console log: the last `capacity` bytes in memory (for attach replays
 * and followers) and every byte appended to a file that is rotated to
 * "<path>.1" when it grows past max_file bytes. Positions are stream offsets
 * counted from the start of this run (total bytes written).
 */
typedef struct ShimLogRing ShimLogRing;

/* path may be NULL (memory only). capacity: a power of two >= 4096. */
int shim_log_ring_new(const char *path, size_t capacity, uint64_t max_file, ShimLogRing **ret);
ShimLogRing *shim_log_ring_free(ShimLogRing *r);
DEFINE_CLEANUP_FUNC(ShimLogRing *, shim_log_ring_free);
/* Append bytes; file errors are remembered (shim_log_ring_error) but never stop the ring. */
void shim_log_ring_append(ShimLogRing *r, const void *data, size_t len);
/* Stream position of the next byte to be written. */
uint64_t shim_log_ring_end(const ShimLogRing *r);
/* Oldest position still in memory. */
uint64_t shim_log_ring_start(const ShimLogRing *r);
/*
 * Copy bytes from position *pos (advanced) into buf. If *pos is older than the
 * ring, it first jumps to the oldest byte held and *ret_skipped says how many
 * bytes were lost. Returns the number of bytes copied.
 */
size_t shim_log_ring_read(const ShimLogRing *r, uint64_t *pos, void *buf, size_t size, uint64_t *ret_skipped);
/* Last file error (-errno) or 0. */
int shim_log_ring_error(const ShimLogRing *r);
/* Number of file rotations done. */
unsigned shim_log_ring_rotations(const ShimLogRing *r);
