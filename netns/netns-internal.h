/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared between the files of netns/ (and its tests). No other folder may include this. */

#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>

#include "netns.h"

/* ---------------------------------------------------------- addresses (addr.c) */

typedef unsigned __int128 u128;

/* An IPv4 or IPv6 address; family 0 means "none". IPv4 uses b[0..3], network byte order. */
typedef struct NAddr {
        int family;
        uint8_t b[16];
} NAddr;

typedef struct NCidr {
        NAddr addr;
        unsigned prefixlen;
} NCidr;

#define NADDR_STRLEN INET6_ADDRSTRLEN
#define NCIDR_STRLEN (INET6_ADDRSTRLEN + 4)

unsigned naddr_bits(int family);
/* family AF_UNSPEC accepts either. -EINVAL on anything else. */
int naddr_parse(const char *s, int family, NAddr *ret);
const char *naddr_to_string(const NAddr *a, char buf[static NADDR_STRLEN]);
bool naddr_equal(const NAddr *a, const NAddr *b);
u128 naddr_to_u128(const NAddr *a);
void naddr_from_u128(int family, u128 v, NAddr *ret);

/*
 * "10.0.0.0/24", "fd00::/64". With allow_bare, an address without "/n" is a
 * host route (/32, /128). Host bits set is an error unless allow_host_bits
 * (then they are cleared). Failures set *error_msg naming `what`.
 */
int ncidr_parse(const char *s,
                int family,
                bool allow_bare,
                bool allow_host_bits,
                const char *what,
                NCidr *ret,
                char **error_msg);
const char *ncidr_to_string(const NCidr *c, char buf[static NCIDR_STRLEN]);
bool ncidr_contains(const NCidr *c, const NAddr *a);
bool ncidr_overlaps(const NCidr *a, const NCidr *b);
/* First address of the subnet plus n; -ERANGE when outside. */
int ncidr_host(const NCidr *c, u128 n, NAddr *ret);
/* Clear the host bits. */
void ncidr_normalize(NCidr *c);
/* Offset of a within c (a must be inside). */
u128 ncidr_offset(const NCidr *c, const NAddr *a);

/* ------------------------------------------------------------- names (names.c) */

#define NETNS_BRIDGE_PREFIX "aub-"
#define NETNS_VETH_PREFIX "auv-"
#define NETNS_TAP_PREFIX "aut-"
#define NETNS_NAME_MAX 63

/* Lab and instance names: 1..63 of [A-Za-z0-9_.-], first character alphanumeric. */
bool netns_name_valid(const char *s);
/* 0 for a valid name, else -EINVAL with "invalid <what> name '<name>': use <the rules>". */
int netns_name_check(const char *what, const char *name, char **error_msg);
/* True for names this library creates: a prefix above plus 10 lowercase hex digits. */
bool netns_link_name_is_ours(const char *ifname);
uint64_t netns_hash(const char *a, const char *b);
/* Locally administered unicast MAC from the names (instance may be NULL for a bridge). */
void netns_mac(const char *lab, const char *instance, uint8_t ret[static 6]);
const char *netns_mac_to_string(const uint8_t mac[static 6], char buf[static 18]);

/* ---------------------------------------------------------------- IPAM (ipam.c) */

/* First prefixlen-subnet inside pool that overlaps none of used[]; -ENOSPC when there is none. */
int ipam_pick_subnet(const NCidr *pool, unsigned prefixlen, const NCidr *used, size_t n_used, NCidr *ret);
/*
 * Host addresses of an IPv4 subnet run from offset 2 (offset 1 is the
 * gateway) to the last but one. Lowest free one not in used[]; -ENOSPC.
 */
int ipam_pick_host(const NCidr *subnet, const NAddr *used, size_t n_used, NAddr *ret);
/* Check a requested host address: -EINVAL outside the usable range, -EADDRINUSE if in used[]. */
int ipam_check_host(const NCidr *subnet, const NAddr *want, const NAddr *used, size_t n_used);

/* ----------------------------------------------------------- lab state (state.c) */

typedef struct Lease {
        char *instance;
        char link[IFNAMSIZ];
        char *ifname; /* NULL for a tap */
        bool tap;
        uint8_t mac[6];
        NAddr ip4;
        NAddr ip6; /* family 0 without IPv6 */
} Lease;

typedef struct Forward {
        char *instance;
        NetnsProto proto;
        NAddr host; /* family 0: every local address */
        uint16_t host_port;
        uint16_t port;
} Forward;

struct NetnsLab {
        char *name;
        char bridge[IFNAMSIZ];
        NetnsMode mode;
        NCidr subnet;
        NAddr gateway;
        NCidr subnet6; /* addr.family 0 without IPv6 */
        NAddr gateway6;
        unsigned mtu;
        NCidr *teachers;
        size_t n_teachers;
        char **dns;
        Lease *leases;
        size_t n_leases;
        Forward *forwards;
        size_t n_forwards;

        /* Text forms for the accessors; refreshed by lab_sync(). */
        char subnet_str[NCIDR_STRLEN], gateway_str[NADDR_STRLEN];
        char subnet6_str[NCIDR_STRLEN], gateway6_str[NADDR_STRLEN];
        char **instance_names;
};

struct NetnsAttachment {
        char *instance;
        char link[IFNAMSIZ];
        char *ifname;
        char mac[18];
        char ip4[NADDR_STRLEN], gateway[NADDR_STRLEN];
        char ip6[NADDR_STRLEN], gateway6[NADDR_STRLEN];
        unsigned prefixlen, prefixlen6, mtu;
        bool has_v6;
};

int lab_sync(NetnsLab *lab);
Lease *lab_find_lease(const NetnsLab *lab, const char *instance);
void lease_done(Lease *l);
void forward_done(Forward *f);
/* Remove the lease and the instance's forwards. */
void lab_drop_instance(NetnsLab *lab, const char *instance);
int lab_attachment_new(const NetnsLab *lab, const Lease *l, NetnsAttachment **ret);

/* The configuration, plus leases and forwards when with_leases; lab_from_json() reads both (leases optional). */
int lab_to_json(const NetnsLab *lab, bool with_leases, char **ret);
int lab_from_json(const char *text, size_t len, NetnsLab **ret, char **error_msg);
/* The lease file: leases and forwards stamped with the boot id. Reading one from another boot yields no leases. */
int leases_to_json(const NetnsLab *lab, const char *boot_id, char **ret);
int leases_from_json(NetnsLab *lab, const char *text, size_t len, const char *boot_id, char **error_msg);
int state_boot_id(char **ret);

/* <data_root>/netns (with labs/ and leases/), created when create is true; -ENOENT otherwise when missing. */
int state_open(const char *data_root, bool create, int *ret_dirfd);
int state_lock(int dirfd, int *ret_lockfd);
int state_load(int dirfd, const char *name, NetnsLab **ret, char **error_msg);
/* Configuration (fsync'ed) and leases. */
int state_save(int dirfd, const NetnsLab *lab);
/* Leases and forwards only (no fsync: they do not outlive a reboot anyway). */
int state_save_leases(int dirfd, const NetnsLab *lab);
int state_remove(int dirfd, const char *name);
int state_list(int dirfd, char ***ret);
typedef struct LabSet {
        NetnsLab **labs;
        size_t n;
} LabSet;
void labset_done(LabSet *s);
/* Remove files under leases/ that belong to no lab in set (a crash during lab deletion, temp files). */
int state_prune_leases(int dirfd, const LabSet *set);
int state_load_all(int dirfd, LabSet *ret, char **error_msg);

/* ------------------------------------------------------- rtnetlink (nl.c, nl-link.c) */

typedef struct NlSock NlSock;

/* A NETLINK_ROUTE socket in the namespace netns_fd refers to (the current one when netns_fd < 0). */
int nl_open(int netns_fd, NlSock **ret);
NlSock *nl_close(NlSock *s);
DEFINE_CLEANUP_FUNC(NlSock *, nl_close);
/*
 * Decode an NLMSG_ERROR message of len bytes (untrusted): *ret_error gets the
 * (negative) errno or 0 for an ack, *ret_msg the extended-ack text or NULL.
 * -EBADMSG when malformed.
 */
int nl_decode_error(const void *buf, size_t len, int *ret_error, char **ret_msg);
/* Send nlh (NLM_F_ACK is added) and wait for the ack; cb sees data messages (dumps). */
typedef int (*NlDataCb)(const struct nlmsghdr *nlh, void *userdata);
int nl_call(NlSock *s, struct nlmsghdr *nlh, NlDataCb cb, void *userdata, const char *what, char **error_msg);
/*
 * Walk one datagram of n bytes (untrusted) of replies to request seq on port portid: 1 when the
 * request is complete, 0 to read more, < 0 for an error (described in *error_msg). nl_call()'s loop.
 */
int nl_reply_walk(
                const void *buf,
                size_t n,
                uint32_t seq,
                uint32_t portid,
                NlDataCb cb,
                void *userdata,
                const char *what,
                char **error_msg);
void *nl_buf(NlSock *s);

int nl_link_index(NlSock *s, const char *name, int *ret_ifindex);
int nl_bridge_create(NlSock *s, const char *name, const uint8_t mac[static 6], unsigned mtu, char **error_msg);
int nl_veth_create(
                NlSock *s,
                const char *name,
                int master,
                unsigned mtu,
                const char *peer,
                int peer_netns_fd,
                const uint8_t peer_mac[static 6],
                char **error_msg);
/* master: ifindex of the bridge, 0 to leave as is. */
int nl_link_set(NlSock *s, int ifindex, int master, unsigned mtu, bool up, char **error_msg);
/* -ENODEV when there is no such link. */
int nl_link_delete(NlSock *s, const char *name, char **error_msg);
int nl_brport_isolate(NlSock *s, int ifindex, bool isolated, char **error_msg);
int nl_addr_add(NlSock *s, int ifindex, const NAddr *a, unsigned prefixlen, char **error_msg);
int nl_route_add_default(NlSock *s, int ifindex, const NAddr *gw, char **error_msg);
/* Networks (address & prefix) of the namespace's addresses of one family, link-local ones excepted. */
int nl_addr_networks(NlSock *s, int family, NCidr **ret, size_t *ret_n);
/* Names of all links in the socket's namespace. */
int nl_link_names(NlSock *s, char ***ret);
/* The reply decoders of the three calls above (NlDataCb), exposed for the fuzzer. */
typedef struct NlAddrList {
        int family;
        NCidr *v;
        size_t n, size;
} NlAddrList;
int nl_index_cb(const struct nlmsghdr *nlh, void *userdata); /* userdata: int *ifindex */
int nl_name_cb(const struct nlmsghdr *nlh, void *userdata); /* userdata: char *** (strv) */
int nl_addr_cb(const struct nlmsghdr *nlh, void *userdata); /* userdata: NlAddrList * */

/* Persistent tap (tun.c). ret_fd may be NULL. */
int tap_create(const char *name, int *ret_fd, char **error_msg);

/* ----------------------------------------------------------- nftables (firewall.c) */

#define NETNS_NFT_TABLE "aula"

/* The whole "inet aula" table for these labs, as one atomic nft script (deletes the table when n is 0). */
int fw_render(NetnsLab *const *labs, size_t n, char **ret);
int fw_apply(const char *script, char **error_msg);
/* Turn on IPv4 (and, with v6, IPv6) forwarding in the current namespace. */
int fw_enable_forwarding(bool v6);

/* ------------------------------------------------------ sessions (session.c) */

/* Everything a mutating call holds: the state directory, its lock, a host netlink socket and all labs. */
typedef struct Session {
        int dirfd;
        int lockfd;
        NlSock *nl;
        LabSet labs;
} Session;

/*
 * Open (create) the state directory, take the lock, load every lab and
 * remove orphans; *ret_removed (may be NULL) counts what was removed. With
 * force, the nftables table and bridge port isolation are re-applied even if
 * they look current.
 */
int session_begin(const char *data_root, bool create, bool force, Session *s, int *ret_removed, char **error_msg);
/* session_begin() on existing state, then the lab called name; on failure no session is left open. */
int session_begin_lab(const char *data_root, const char *name, Session *s, NetnsLab **ret_lab, char **error_msg);
void session_end(Session *s);
/* Refresh the lab's derived fields and write its leases and forwards; a "save lab" message on failure. */
int session_save_leases(Session *s, NetnsLab *lab, char **error_msg);
/* Write the lab's configuration and leases; a "save lab" message on failure. */
int session_save_lab(Session *s, const NetnsLab *lab, char **error_msg);
NetnsLab *session_find(Session *s, const char *name);
/* Bring the nftables table in line with the labs (skipped when the last applied ruleset is the same). */
int session_fw_sync(Session *s, bool force, char **error_msg);
/* Create the lab's bridge with its gateway addresses; the bridge is removed again on failure. */
int lab_bridge_setup(NlSock *nl, const NetnsLab *lab, char **error_msg);
