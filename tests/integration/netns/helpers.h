/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Plumbing for the root integration tests of libaula-netns. Each test (a
 * forked child of the TAP harness) calls host_setup(), which moves it into a
 * fresh network namespace: its private "host". Instance namespaces are kept
 * alive by fds only (no names under /run/netns), so everything disappears
 * when the test process exits, whatever happened.
 */

#include "netns-internal.h"
#include "tap.h"

typedef struct Host {
        int host_fd; /* the private host namespace */
        char root[64]; /* data root (temporary directory) */
        int outside_fd; /* "the internet" after outside_setup(), else -1 */
} Host;

/* Outside network: host 198.51.100.1 on "up0" <-> 198.51.100.2 ("internet") and .10 ("teacher") in outside_fd. */
#define HOST_UPLINK "198.51.100.1"
#define INTERNET "198.51.100.2"
#define TEACHER "198.51.100.10"

void host_setup(Host *h);
void outside_setup(Host *h);
/* A new network namespace (held by the returned fd); the caller stays in the host. */
int ns_new(Host *h);
/* A socket created inside the namespace nsfd. */
int socket_in(Host *h, int nsfd, int family, int type, int proto);

/* ICMP(v6) echo from namespace `from` to dst; true when a reply came within timeout_ms. */
bool ping_from(Host *h, int from, const char *dst, int timeout_ms);
/* TCP listener in ns on addr:port (addr NULL: any IPv4). */
int tcp_listen(Host *h, int ns, const char *addr, uint16_t port);
/*
 * Connect from namespace `from` (bound to src when not NULL) to dst:port,
 * accept on listen_fd, exchange a message each way. True on success; *peer
 * (if not NULL, 64 bytes) receives the client address the server saw.
 */
bool tcp_exchange(
                Host *h,
                int from,
                const char *src,
                const char *dst,
                uint16_t port,
                int listen_fd,
                int timeout_ms,
                char *peer);

/* Names of links in namespace ns (host when ns < 0) that look like ours. */
char **our_links(Host *h, int ns);
bool link_exists(Host *h, int ns, const char *name);
/* Namespaces die asynchronously after their last reference goes: wait for a link to vanish. */
bool wait_link_gone(Host *h, int ns, const char *name, int timeout_ms);
/* `nft list table inet aula` in the host: the text, or NULL when there is no such table. */
char *nft_table(void);
/* Number of regular files under <root>/netns/labs and <root>/netns/leases. */
unsigned state_files(Host *h);
/* Run a shell command in the host namespace; returns its output (first 4 KiB). */
char *run_cmd(const char *cmd);

#define POSITIVE_MS 3000
#define NEGATIVE_MS 400

#define ASSERT_API(expr) \
        do { \
                _cleanup_free_ char *_m = NULL; \
                char **msg = &_m; \
                long _r = (long) (expr); \
                (void) msg; \
                if (_r < 0) \
                        tap_fail(__FILE__, __LINE__, "%s failed: %s", #expr, _m ?: strerror((int) -_r)); \
        } while (0)
