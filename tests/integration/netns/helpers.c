/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>

#include "helpers.h"

#define CHECK(expr) \
        do { \
                if ((expr) < 0) \
                        tap_fail(__FILE__, __LINE__, "%s: %m", #expr); \
        } while (0)

/* Made by tap_setup() in the parent, which removes it at exit; tests run in children and use subdirectories. */
static char base_dir[] = "/tmp/aula-test-netns.XXXXXX";

static void remove_base_dir(void) {
        (void) rm_rf_at(AT_FDCWD, base_dir);
}

static void enter(int fd) {
        if (setns(fd, CLONE_NEWNET) < 0)
                tap_fail(__FILE__, __LINE__, "setns: %m");
}

void host_setup(Host *h) {
        _cleanup_(nl_closep) NlSock *nl = NULL;

        *h = (Host){ .outside_fd = -1 };
        CHECK(unshare(CLONE_NEWNET));
        CHECK(h->host_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
        snprintf(h->root, sizeof h->root, "%s/t.XXXXXX", base_dir);
        if (!mkdtemp(h->root))
                tap_fail(__FILE__, __LINE__, "mkdtemp: %m");
        CHECK(nl_open(-1, &nl));
        CHECK(nl_link_set(nl, 1, 0, 0, true, NULL));
}

int ns_new(Host *h) {
        int fd;

        CHECK(unshare(CLONE_NEWNET));
        CHECK(fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
        enter(h->host_fd);
        return fd;
}

static NAddr addr(const char *s) {
        NAddr a;
        if (naddr_parse(s, AF_UNSPEC, &a) < 0)
                tap_fail(__FILE__, __LINE__, "bad address %s", s);
        return a;
}

void outside_setup(Host *h) {
        _cleanup_(nl_closep) NlSock *nl = NULL, *out = NULL;
        const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };
        NAddr a;
        int up0, up1;

        h->outside_fd = ns_new(h);
        CHECK(nl_open(-1, &nl));
        CHECK(nl_open(h->outside_fd, &out));
        CHECK(nl_veth_create(nl, "up0", 0, 1500, "up1", h->outside_fd, mac, NULL));
        CHECK(nl_link_index(nl, "up0", &up0));
        CHECK(nl_link_index(out, "up1", &up1));
        CHECK(nl_link_set(out, up1, 0, 0, true, NULL));
        CHECK(nl_link_set(out, 1, 0, 0, true, NULL));
        a = addr(HOST_UPLINK);
        CHECK(nl_addr_add(nl, up0, &a, 24, NULL));
        a = addr(INTERNET);
        CHECK(nl_addr_add(out, up1, &a, 24, NULL));
        a = addr(TEACHER);
        CHECK(nl_addr_add(out, up1, &a, 24, NULL));
}

int socket_in(Host *h, int nsfd, int family, int type, int proto) {
        int fd;

        enter(nsfd);
        fd = socket(family, type | SOCK_CLOEXEC, proto);
        enter(h->host_fd);
        if (fd < 0)
                tap_fail(__FILE__, __LINE__, "socket: %m");
        return fd;
}

static uint16_t checksum(const void *p, size_t n) {
        const uint8_t *b = p;
        uint32_t sum = 0;
        for (size_t i = 0; i + 1 < n; i += 2)
                sum += (uint32_t) (b[i] << 8 | b[i + 1]);
        if (n & 1)
                sum += (uint32_t) (b[n - 1] << 8);
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return htons((uint16_t) ~sum);
}

static int64_t now_ms(void) {
        return (int64_t) (now_usec(CLOCK_MONOTONIC) / 1000);
}

bool ping_from(Host *h, int from, const char *dst, int timeout_ms) {
        static uint16_t seq;
        NAddr d = addr(dst);
        bool v6 = d.family == AF_INET6;
        _cleanup_close_ int fd = socket_in(h, from, d.family, SOCK_RAW, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
        struct sockaddr_storage ss = {};
        uint8_t pkt[64] = {}, buf[2048];
        uint16_t id = (uint16_t) getpid();
        int64_t deadline = now_ms() + timeout_ms;

        seq++;
        if (v6) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
                struct icmp6_hdr *ic = (struct icmp6_hdr *) pkt;
                s6->sin6_family = AF_INET6;
                memcpy(&s6->sin6_addr, d.b, 16);
                ic->icmp6_type = ICMP6_ECHO_REQUEST;
                ic->icmp6_id = htons(id);
                ic->icmp6_seq = htons(seq);
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
                struct icmphdr *ic = (struct icmphdr *) pkt;
                s4->sin_family = AF_INET;
                memcpy(&s4->sin_addr, d.b, 4);
                ic->type = ICMP_ECHO;
                ic->un.echo.id = htons(id);
                ic->un.echo.sequence = htons(seq);
                ic->checksum = checksum(pkt, sizeof pkt);
        }
        if (sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *) &ss,
                   v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) < 0)
                return false; /* e.g. no route */
        for (int64_t left; (left = deadline - now_ms()) > 0;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                struct sockaddr_storage from_addr;
                socklen_t fl = sizeof from_addr;
                ssize_t n;
                if (poll(&p, 1, (int) left) <= 0)
                        break;
                n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *) &from_addr, &fl);
                if (n <= 0)
                        continue;
                if (v6) {
                        struct icmp6_hdr *ic = (struct icmp6_hdr *) buf;
                        if ((size_t) n >= sizeof *ic && ic->icmp6_type == ICMP6_ECHO_REPLY &&
                            ntohs(ic->icmp6_id) == id && ntohs(ic->icmp6_seq) == seq &&
                            !memcmp(&((struct sockaddr_in6 *) &from_addr)->sin6_addr, d.b, 16))
                                return true;
                } else {
                        struct iphdr *ip = (struct iphdr *) buf;
                        size_t hl = (size_t) ip->ihl * 4;
                        struct icmphdr *ic = (struct icmphdr *) (buf + hl);
                        if ((size_t) n >= hl + sizeof *ic && ic->type == ICMP_ECHOREPLY &&
                            ntohs(ic->un.echo.id) == id && ntohs(ic->un.echo.sequence) == seq &&
                            !memcmp(&ip->saddr, d.b, 4))
                                return true;
                }
        }
        return false;
}

static socklen_t sockaddr_of(const char *s, uint16_t port, struct sockaddr_storage *ss) {
        NAddr a = addr(s);
        memset(ss, 0, sizeof *ss);
        if (a.family == AF_INET6) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons(port);
                memcpy(&s6->sin6_addr, a.b, 16);
                return sizeof *s6;
        }
        struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, a.b, 4);
        return sizeof *s4;
}

int tcp_listen(Host *h, int ns, const char *address, uint16_t port) {
        struct sockaddr_storage ss;
        socklen_t len = sockaddr_of(address ?: "0.0.0.0", port, &ss);
        int fd = socket_in(h, ns, ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

        CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
        CHECK(bind(fd, (struct sockaddr *) &ss, len));
        CHECK(listen(fd, 16));
        return fd;
}

static bool wait_fd(int fd, short events, int64_t deadline) {
        struct pollfd p = { .fd = fd, .events = events };
        int64_t left = deadline - now_ms();
        return left > 0 && poll(&p, 1, (int) left) == 1 && (p.revents & events);
}

static bool xfer(int from, int to, const char *word, int64_t deadline) {
        char buf[16] = {};
        if (write(from, word, strlen(word)) != (ssize_t) strlen(word) || !wait_fd(to, POLLIN, deadline))
                return false;
        return read(to, buf, sizeof buf - 1) == (ssize_t) strlen(word) && streq(buf, word);
}

bool tcp_exchange(
                Host *h,
                int from,
                const char *src,
                const char *dst,
                uint16_t port,
                int listen_fd,
                int timeout_ms,
                char *peer) {
        struct sockaddr_storage ss, ps;
        socklen_t len = sockaddr_of(dst, port, &ss), pl = sizeof ps;
        _cleanup_close_ int c = socket_in(h, from, ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0), a = -EBADF;
        int64_t deadline = now_ms() + timeout_ms;
        int err = 0;
        socklen_t el = sizeof err;

        if (src) {
                struct sockaddr_storage bs;
                socklen_t bl = sockaddr_of(src, 0, &bs);
                CHECK(bind(c, (struct sockaddr *) &bs, bl));
        }
        if (connect(c, (struct sockaddr *) &ss, len) < 0 && errno != EINPROGRESS)
                return false;
        if (!wait_fd(c, POLLOUT, deadline) || getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0)
                return false;
        if (!wait_fd(listen_fd, POLLIN, deadline))
                return false;
        a = accept4(listen_fd, (struct sockaddr *) &ps, &pl, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (a < 0)
                return false;
        if (peer) {
                NAddr p = { .family = ps.ss_family };
                memcpy(p.b,
                       ps.ss_family == AF_INET6 ? (void *) &((struct sockaddr_in6 *) &ps)->sin6_addr
                                                : (void *) &((struct sockaddr_in *) &ps)->sin_addr,
                       ps.ss_family == AF_INET6 ? 16 : 4);
                naddr_to_string(&p, peer);
        }
        return xfer(c, a, "hello", deadline) && xfer(a, c, "world", deadline);
}

char **our_links(Host *h, int ns) {
        _cleanup_(nl_closep) NlSock *nl = NULL;
        _cleanup_strv_free_ char **all = NULL;
        char **ours = calloc(1, sizeof(char *));

        CHECK(nl_open(ns, &nl));
        CHECK(nl_link_names(nl, &all));
        STRV_FOREACH(l, all)
                if (netns_link_name_is_ours(*l))
                        CHECK(strv_extend(&ours, *l));
        return ours;
}

bool link_exists(Host *h, int ns, const char *name) {
        _cleanup_(nl_closep) NlSock *nl = NULL;
        int ifindex;

        CHECK(nl_open(ns, &nl));
        return nl_link_index(nl, name, &ifindex) >= 0;
}

bool wait_link_gone(Host *h, int ns, const char *name, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;

        while (link_exists(h, ns, name)) {
                if (now_ms() > deadline)
                        return false;
                usleep(10 * 1000);
        }
        return true;
}

char *nft_table(void) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        char *text = NULL;

        if (!ctx)
                tap_fail(__FILE__, __LINE__, "nft_ctx_new");
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        if (nft_run_cmd_from_buffer(ctx, "list table inet aula") == 0)
                text = strdup(nft_ctx_get_output_buffer(ctx));
        nft_ctx_free(ctx);
        return text;
}

unsigned state_files(Host *h) {
        unsigned n = 0;

        for (unsigned k = 0; k < 2; k++) {
                _cleanup_free_ char *dir = path_join(h->root, k ? "netns/leases" : "netns/labs");
                DIR *d = opendir(dir);
                if (!d)
                        continue;
                for (struct dirent *de; (de = readdir(d));)
                        if (de->d_type == DT_REG)
                                n++;
                closedir(d);
        }
        return n;
}

char *run_cmd(const char *cmd) {
        char *buf = calloc(1, 4096);
        FILE *p = popen(cmd, "r");
        if (!p || !buf)
                tap_fail(__FILE__, __LINE__, "popen %s: %m", cmd);
        (void) !fread(buf, 1, 4095, p);
        pclose(p);
        return buf;
}

/* Prerequisites, checked once in a throwaway child: root, network namespaces, nf_tables, /dev/net/tun. */
void tap_setup(void) {
        pid_t pid;

        if (geteuid() != 0)
                tap_skip_all("lab networking tests need root");
        pid = fork();
        if (pid < 0)
                tap_skip_all("fork: %m");
        if (pid == 0) {
                _cleanup_free_ char *msg = NULL;
                if (unshare(CLONE_NEWNET) < 0)
                        _exit(2);
                if (fw_apply("table inet aula_probe\ndelete table inet aula_probe\n", &msg) < 0)
                        _exit(3);
                if (access("/dev/net/tun", R_OK | W_OK) < 0)
                        _exit(4);
                _exit(0);
        }
        switch (wait_for_pid(pid)) {
        case 0:
                if (!mkdtemp(base_dir))
                        tap_skip_all("mkdtemp: %m");
                atexit(remove_base_dir);
                return;
        case 2:
                tap_skip_all("cannot create network namespaces");
        case 3:
                tap_skip_all("nf_tables is not usable");
        case 4:
                tap_skip_all("/dev/net/tun is missing");
        default:
                tap_skip_all("prerequisite check failed");
        }
}
