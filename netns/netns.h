/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * libaula-netns: lab networks over rtnetlink (libmnl) and nftables (libnftables).
 *
 * A lab is a Linux bridge in the caller's network namespace (the "host") with
 * an IPv4 subnet taken from a pool (and, unless disabled, an IPv6 /64 from a
 * ULA pool); the host holds the first address of each (the gateway). An
 * instance joins a lab by a veth pair whose peer is created directly inside
 * the instance's network namespace (passed as an fd), or, for microVMs, by a
 * persistent tap device on the bridge. Names of kernel objects are derived
 * from lab and instance names by hashing (aub-/auv-/aut- + 10 hex digits) so
 * that orphans can be recognised after a crash.
 *
 * Modes:
 *   isolated  instances reach each other and the host's lab address only;
 *   nat       as isolated, plus outbound traffic masqueraded (never into
 *             another lab);
 *   exam      instances reach only the teacher addresses (by default the
 *             host's lab address); bridge ports are isolated from each other.
 * In every mode teacher addresses may open connections to instances, and
 * port forwards (host:port -> instance:port) are honoured (in exam mode only
 * for teacher clients).
 *
 * Firewalling lives in one nftables table, "inet aula", which only this
 * library changes; it is rebuilt atomically from the lab state on each change
 * (and removed when no lab is left). State lives under <data_root>/netns/:
 * labs/<lab>.json (configuration, fsync'ed) and leases/<lab>.json (leases and
 * port forwards, stamped with the boot id: void after a reboot, like the links
 * they name). Every change happens under <data_root>/netns/lock. Use one data
 * root per network namespace.
 *
 * Every mutating call first removes orphans: links named like ours that no
 * lab claims, and leases whose link has vanished (an instance whose network
 * namespace died, a crash between steps).
 *
 * Conventions: functions return >= 0 on success and -errno on failure; ret_*
 * are written only on success. Pass error_msg pointing to NULL (or NULL): a
 * failure normally leaves a malloc'd one-line message there (with the
 * kernel's extended ack text when netlink gave one), for the caller to free;
 * when it stays NULL (e.g. -ENOMEM), strerror() says it all. Non-logging.
 *
 * Functions act on the calling thread's network namespace, the host. An
 * instance's namespace is entered only by a short-lived helper thread (to open
 * a netlink socket there), never by the caller's thread. Calls are safe from
 * several processes and threads at once (a file lock per call); a NetnsLab or
 * NetnsAttachment object belongs to one thread. Requires CAP_NET_ADMIN over
 * the host namespace (root, or root in a user namespace that owns it).
 */

#include "common.h"

typedef enum NetnsMode {
        NETNS_MODE_ISOLATED,
        NETNS_MODE_NAT,
        NETNS_MODE_EXAM,
        _NETNS_MODE_MAX,
        _NETNS_MODE_INVALID = -EINVAL,
} NetnsMode;

const char *netns_mode_to_string(NetnsMode m);
/* "isolated", "nat", "exam"; returns _NETNS_MODE_INVALID otherwise. */
NetnsMode netns_mode_from_string(const char *s);

typedef enum NetnsProto {
        NETNS_PROTO_TCP,
        NETNS_PROTO_UDP,
        _NETNS_PROTO_MAX,
        _NETNS_PROTO_INVALID = -EINVAL,
} NetnsProto;

const char *netns_proto_to_string(NetnsProto p);
NetnsProto netns_proto_from_string(const char *s);

#define NETNS_DEFAULT_POOL "10.77.0.0/16"
#define NETNS_DEFAULT_PREFIXLEN 24
#define NETNS_DEFAULT_POOL6 "fd61:756c:6100::/48"
#define NETNS_DEFAULT_MTU 1500
#define NETNS_DEFAULT_IFNAME "eth0"

/* Zero-initialise, then set what you need; NULL/0 fields take the defaults above. */
typedef struct NetnsLabOptions {
        NetnsMode mode; /* default NETNS_MODE_ISOLATED (0) */
        const char *subnet; /* explicit IPv4 subnet ("10.5.0.0/24"), else one from pool */
        const char *pool; /* IPv4 pool the lab subnet is carved from */
        unsigned prefixlen; /* prefix of a lab subnet taken from pool (8..30) */
        const char *pool6; /* IPv6 pool (prefix <= 64) for the lab's /64; "none" disables IPv6 */
        unsigned mtu; /* 1280..65535 (68.. without IPv6) */
        char *const *teachers; /* addresses or CIDRs (v4/v6); default: the lab gateways */
        char *const *dns; /* nameservers for netns_render_resolv_conf() */
} NetnsLabOptions;

typedef struct NetnsPortForward {
        NetnsProto proto;
        const char *host_addr; /* a local address of the host, or NULL for all of them */
        uint16_t host_port;
        uint16_t port; /* port in the instance */
} NetnsPortForward;

typedef struct NetnsAttachOptions {
        const char *ifname; /* interface name inside the instance (veth only); default "eth0" */
        const char *ipv4; /* ask for this address (must be free, inside the lab subnet) */
        const NetnsPortForward *forwards;
        size_t n_forwards;
} NetnsAttachOptions;

typedef struct NetnsLab NetnsLab;
typedef struct NetnsAttachment NetnsAttachment;

/* ------------------------------------------------------------------ labs */

/*
 * Create lab `name` (1..63 of [A-Za-z0-9_.-], not starting with '.' or '-'):
 * allocate its subnets, create and address its bridge, install its rules and
 * enable IPv4 (and IPv6) forwarding in the host namespace. -EEXIST if the lab
 * exists, -ENOSPC when the pool is exhausted, -EADDRINUSE when an explicit
 * subnet overlaps another lab, -EINVAL for malformed options. On failure
 * nothing is left behind. ret may be NULL.
 */
int netns_lab_create(
                const char *data_root,
                const char *name,
                const NetnsLabOptions *opts,
                NetnsLab **ret,
                char **error_msg);

/* Detach every instance, remove the bridge, the lab's rules and its state. -ENOENT if there is no such lab. */
int netns_lab_delete(const char *data_root, const char *name, char **error_msg);

/* Switch mode; takes effect at once for running instances (rules and bridge port isolation). */
int netns_lab_set_mode(const char *data_root, const char *name, NetnsMode mode, char **error_msg);

/* Read a lab's state (no lock, no kernel access). -ENOENT if there is no such lab. */
int netns_lab_load(const char *data_root, const char *name, NetnsLab **ret, char **error_msg);

/* Sorted names of all labs. */
int netns_lab_list(const char *data_root, char ***ret);

NetnsLab *netns_lab_free(NetnsLab *lab);
DEFINE_CLEANUP_FUNC(NetnsLab *, netns_lab_free);

/* Accessors: strings are owned by the lab. IPv6 ones return NULL when the lab has no IPv6. */
const char *netns_lab_name(const NetnsLab *lab);
const char *netns_lab_bridge(const NetnsLab *lab);
NetnsMode netns_lab_mode(const NetnsLab *lab);
const char *netns_lab_subnet(const NetnsLab *lab); /* "10.77.0.0/24" */
const char *netns_lab_gateway(const NetnsLab *lab); /* "10.77.0.1" */
const char *netns_lab_subnet6(const NetnsLab *lab);
const char *netns_lab_gateway6(const NetnsLab *lab);
unsigned netns_lab_mtu(const NetnsLab *lab);
/* Names of the attached instances, in attach order (NULL-terminated, owned by the lab). */
char **netns_lab_instances(const NetnsLab *lab);
/* The attachment of one instance as recorded in the lab; -ENOENT if it is not attached. */
int netns_lab_attachment(const NetnsLab *lab, const char *instance, NetnsAttachment **ret);

/* ------------------------------------------------------------- instances */

/*
 * Join instance `instance` (same name rules as labs) to lab `lab`: lease
 * addresses, create a veth pair whose host end sits on the bridge and whose
 * peer is created in the namespace netns_fd refers to (as opts->ifname, with
 * a MAC derived from the names), address it, bring it and "lo" up, add
 * default routes via the gateways and install the port forwards. Writes
 * nothing into the instance's filesystem. -EEXIST if the instance is
 * attached already, -ENOSPC when the lab has no free address. On failure
 * nothing is left behind. ret may be NULL.
 */
int netns_attach(
                const char *data_root,
                const char *lab,
                const char *instance,
                int netns_fd,
                const NetnsAttachOptions *opts,
                NetnsAttachment **ret,
                char **error_msg);

/*
 * As netns_attach() for a microVM: create a persistent tap (IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR) on the bridge instead of a veth. The guest is
 * expected to use the returned MAC and addresses (e.g. from the kernel
 * command line). When ret_tap_fd is not NULL it receives an O_CLOEXEC fd
 * attached to the tap; a VMM may also open it by name.
 */
int netns_attach_tap(
                const char *data_root,
                const char *lab,
                const char *instance,
                const NetnsAttachOptions *opts,
                int *ret_tap_fd,
                NetnsAttachment **ret,
                char **error_msg);

/* Remove the instance's link (veth or tap), its port forwards and its lease. -ENOENT if it is not attached. */
int netns_detach(const char *data_root, const char *lab, const char *instance, char **error_msg);

/* Add or remove one port forward of an attached instance. Add: -EADDRINUSE if proto/host_addr/host_port is taken. */
int netns_forward_add(
                const char *data_root,
                const char *lab,
                const char *instance,
                const NetnsPortForward *fwd,
                char **error_msg);
int netns_forward_remove(
                const char *data_root,
                const char *lab,
                const char *instance,
                const NetnsPortForward *fwd,
                char **error_msg);

NetnsAttachment *netns_attachment_free(NetnsAttachment *a);
DEFINE_CLEANUP_FUNC(NetnsAttachment *, netns_attachment_free);

/* Accessors; strings owned by the attachment, IPv6 ones NULL without IPv6. */
const char *netns_attachment_instance(const NetnsAttachment *a);
const char *netns_attachment_ipv4(const NetnsAttachment *a); /* "10.77.0.2" */
unsigned netns_attachment_prefixlen(const NetnsAttachment *a);
const char *netns_attachment_gateway(const NetnsAttachment *a);
const char *netns_attachment_ipv6(const NetnsAttachment *a);
unsigned netns_attachment_prefixlen6(const NetnsAttachment *a);
const char *netns_attachment_gateway6(const NetnsAttachment *a);
const char *netns_attachment_mac(const NetnsAttachment *a); /* "02:xx:xx:xx:xx:xx" */
const char *netns_attachment_host_link(const NetnsAttachment *a); /* "auv-..." or "aut-..." */
const char *netns_attachment_ifname(const NetnsAttachment *a); /* in the instance; NULL for a tap */
unsigned netns_attachment_mtu(const NetnsAttachment *a);

/* --------------------------------------------------------------- helpers */

/*
 * Remove orphans (see above) and rebuild the nftables table from the state.
 * Returns the number of orphaned links and leases removed.
 */
int netns_gc(const char *data_root, char **error_msg);

/*
 * Content for the instance's /etc/resolv.conf: the lab's nameservers; in nat
 * mode without any, the host's non-loopback ones (read from host_resolv_conf,
 * e.g. "/etc/resolv.conf", when not NULL). The caller writes it.
 */
int netns_render_resolv_conf(const NetnsLab *lab, const char *host_resolv_conf, char **ret);

/*
 * Content for the instance's /etc/hosts: localhost entries, the instance
 * itself, its classmates attached so far and "aula-gateway" for the host.
 */
int netns_render_hosts(const NetnsLab *lab, const char *instance, char **ret);

/* Link names (IFNAMSIZ-safe) derived from the names; buffers of at least 16 bytes. Pure. */
char *netns_bridge_name(const char *lab, char buf[static 16]);
char *netns_link_name(const char *lab, const char *instance, bool tap, char buf[static 16]);
