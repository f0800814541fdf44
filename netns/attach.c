/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/stat.h>

#include "netns-internal.h"

/*
 * Attaching an instance, in this order (so that a failure or a crash at any
 * point leaves either nothing or orphans the next call removes):
 *   1. validate, lease the addresses (in memory only);
 *   2. create the link: veth with its peer inside the instance (or a tap),
 *      enslaved to the bridge, up;
 *   3. configure the instance side: lo up, addresses, default routes;
 *   4. exam mode: isolate the bridge port;
 *   5. record the lease and forwards (state file);
 *   6. rules, when port forwards changed them.
 */

NetnsAttachment *netns_attachment_free(NetnsAttachment *a) {
        if (!a)
                return NULL;
        free(a->instance);
        free(a->ifname);
        free(a);
        return NULL;
}

int lab_attachment_new(const NetnsLab *lab, const Lease *l, NetnsAttachment **ret) {
        _cleanup_(netns_attachment_freep) NetnsAttachment *a = calloc(1, sizeof *a);

        if (!a)
                return -ENOMEM;
        a->instance = strdup(l->instance);
        if (!a->instance)
                return -ENOMEM;
        if (l->ifname) {
                a->ifname = strdup(l->ifname);
                if (!a->ifname)
                        return -ENOMEM;
        }
        memcpy(a->link, l->link, sizeof a->link);
        netns_mac_to_string(l->mac, a->mac);
        naddr_to_string(&l->ip4, a->ip4);
        naddr_to_string(&lab->gateway, a->gateway);
        a->prefixlen = lab->subnet.prefixlen;
        a->has_v6 = l->ip6.family == AF_INET6;
        if (a->has_v6) {
                naddr_to_string(&l->ip6, a->ip6);
                naddr_to_string(&lab->gateway6, a->gateway6);
                a->prefixlen6 = lab->subnet6.prefixlen;
        }
        a->mtu = lab->mtu;
        *ret = TAKE_PTR(a);
        return 0;
}

/* True when fd refers to the calling thread's own network namespace (a caller's mistake). */
static bool same_netns(int fd) {
        struct stat a, b;

        return fstat(fd, &a) >= 0 && stat("/proc/thread-self/ns/net", &b) >= 0 && a.st_dev == b.st_dev &&
                        a.st_ino == b.st_ino;
}

static bool ifname_valid(const char *s) {
        /* dev_valid_name() in net/core/dev.c */
        if (isempty(s) || strlen(s) >= IFNAMSIZ || streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (*p == '/' || *p == ':' || *p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

static int parse_forward(
                const NetnsLab *lab,
                const char *instance,
                const NetnsPortForward *in,
                Forward *out,
                char **error_msg) {
        char what[32];

        snprintf(what, sizeof what, "port forward %u", in->host_port);
        if (!netns_proto_to_string(in->proto))
                return json_error(error_msg, what, "unknown protocol %d", (int) in->proto);
        if (in->host_port == 0 || in->port == 0)
                return json_error(error_msg, what, "ports must be 1..65535");
        *out = (Forward){ .proto = in->proto, .host_port = in->host_port, .port = in->port };
        if (in->host_addr) {
                if (naddr_parse(in->host_addr, AF_UNSPEC, &out->host) < 0)
                        return json_error(error_msg, what, "'%s' is not an IP address", in->host_addr);
                if (out->host.family == AF_INET6 && !lab->subnet6.addr.family)
                        return json_error(error_msg, what, "lab '%s' has no IPv6", lab->name);
        }
        out->instance = strdup(instance);
        return out->instance ? 0 : -ENOMEM;
}

static bool forwards_clash(const Forward *a, const Forward *b) {
        return a->proto == b->proto && a->host_port == b->host_port &&
                        (!a->host.family || !b->host.family || naddr_equal(&a->host, &b->host));
}

/* A forward that clashes with one of any lab: -EADDRINUSE with a message naming the owner. */
static int check_forward(Session *s, const Forward *f, char **error_msg) {
        for (size_t i = 0; i < s->labs.n; i++) {
                const NetnsLab *lab = s->labs.labs[i];
                for (size_t j = 0; j < lab->n_forwards; j++)
                        if (forwards_clash(f, &lab->forwards[j]))
                                return error_msg_set(
                                                error_msg, -EADDRINUSE,
                                                "%s port %u is already forwarded to %s/%s",
                                                netns_proto_to_string(f->proto), f->host_port, lab->name,
                                                lab->forwards[j].instance);
        }
        return 0;
}

static int add_forward(NetnsLab *lab, Forward *f) {
        Forward *v = realloc(lab->forwards, (lab->n_forwards + 1) * sizeof *v);

        if (!v)
                return -ENOMEM;
        lab->forwards = v;
        lab->forwards[lab->n_forwards++] = *f;
        *f = (Forward){};
        return 0;
}

static int lease_addresses(const NetnsLab *lab, const char *want, Lease *l, char **error_msg) {
        _cleanup_free_ NAddr *used = calloc(lab->n_leases + 1, sizeof(NAddr));
        char a[NCIDR_STRLEN];
        int r;

        if (!used)
                return -ENOMEM;
        for (size_t i = 0; i < lab->n_leases; i++)
                used[i] = lab->leases[i].ip4;
        if (want) {
                if (naddr_parse(want, AF_INET, &l->ip4) < 0)
                        return json_error(error_msg, "ipv4", "'%s' is not an IPv4 address", want);
                r = ipam_check_host(&lab->subnet, &l->ip4, used, lab->n_leases);
                if (r == -EINVAL)
                        return error_msg_set(
                                        error_msg, r, "%s is not a usable host address of lab subnet %s",
                                        want, ncidr_to_string(&lab->subnet, a));
                if (r == -EADDRINUSE)
                        return error_msg_set(error_msg, r, "%s is already leased in lab '%s'", want, lab->name);
        } else {
                r = ipam_pick_host(&lab->subnet, used, lab->n_leases, &l->ip4);
                if (r == -ENOSPC)
                        return error_msg_set(
                                        error_msg, r, "lab '%s' has no free address left in %s", lab->name,
                                        ncidr_to_string(&lab->subnet, a));
                if (r < 0)
                        return r;
        }
        /* The IPv6 address mirrors the IPv4 one: 10.77.3.5 <-> <prefix>::5. */
        if (lab->subnet6.addr.family)
                return ncidr_host(&lab->subnet6, ncidr_offset(&lab->subnet, &l->ip4), &l->ip6);
        return 0;
}

typedef struct AttachRequest {
        const char *lab;
        const char *instance;
        bool tap;
        int netns_fd;
        const NetnsAttachOptions *opts;
} AttachRequest;

/* Step 1: everything that can be checked before touching the kernel. */
static int plan(Session *s, const AttachRequest *q, NetnsLab *lab, Lease *l, Forward **ret_fw, char **error_msg) {
        _cleanup_free_ Forward *fw = NULL;
        const NetnsAttachOptions *o = q->opts;
        int r;

        if (lab_find_lease(lab, q->instance))
                return error_msg_set(
                                error_msg, -EEXIST, "instance '%s' is already attached to lab '%s'",
                                q->instance, q->lab);
        *l = (Lease){ .tap = q->tap };
        netns_link_name(q->lab, q->instance, q->tap, l->link);
        for (size_t i = 0; i < s->labs.n; i++)
                for (size_t j = 0; j < s->labs.labs[i]->n_leases; j++)
                        if (streq(s->labs.labs[i]->leases[j].link, l->link))
                                return error_msg_set(
                                                error_msg, -EEXIST, "link name %s of '%s' collides with %s/%s",
                                                l->link, q->instance, s->labs.labs[i]->name,
                                                s->labs.labs[i]->leases[j].instance);
        netns_mac(q->lab, q->instance, l->mac);
        l->instance = strdup(q->instance);
        if (!q->tap)
                l->ifname = strdup(o->ifname ?: NETNS_DEFAULT_IFNAME);
        if (!l->instance || (!q->tap && !l->ifname))
                return -ENOMEM;
        r = lease_addresses(lab, o->ipv4, l, error_msg);
        if (r < 0)
                return r;
        fw = calloc(o->n_forwards + 1, sizeof(Forward));
        if (!fw)
                return -ENOMEM;
        for (size_t i = 0; i < o->n_forwards; i++) {
                r = parse_forward(lab, q->instance, &o->forwards[i], &fw[i], error_msg);
                if (r >= 0)
                        r = check_forward(s, &fw[i], error_msg);
                for (size_t j = 0; r >= 0 && j < i; j++)
                        if (forwards_clash(&fw[i], &fw[j]))
                                r = error_msg_set(
                                                error_msg, -EADDRINUSE, "port %u is forwarded twice",
                                                fw[i].host_port);
                if (r < 0) {
                        for (size_t j = 0; j <= i; j++)
                                forward_done(&fw[j]);
                        return r;
                }
        }
        *ret_fw = TAKE_PTR(fw);
        return 0;
}

/* Step 3, in the instance's namespace. */
static int configure_instance(NlSock *ns, const NetnsLab *lab, const Lease *l, char **error_msg) {
        int ifindex, r;

        /* The loopback device is always ifindex 1 (LOOPBACK_IFINDEX). */
        r = nl_link_set(ns, 1, 0, 0, true, error_msg);
        if (r >= 0)
                r = nl_link_index(ns, l->ifname, &ifindex);
        if (r >= 0)
                r = nl_link_set(ns, ifindex, 0, 0, true, error_msg);
        if (r >= 0)
                r = nl_addr_add(ns, ifindex, &l->ip4, lab->subnet.prefixlen, error_msg);
        if (r >= 0 && l->ip6.family)
                r = nl_addr_add(ns, ifindex, &l->ip6, lab->subnet6.prefixlen, error_msg);
        if (r >= 0)
                r = nl_route_add_default(ns, ifindex, &lab->gateway, error_msg);
        if (r >= 0 && l->ip6.family)
                r = nl_route_add_default(ns, ifindex, &lab->gateway6, error_msg);
        return r;
}

/* Steps 2-4. Returns the tap fd for taps (>= 0), 0 for veths. */
static int create_link(Session *s, const AttachRequest *q, const NetnsLab *lab, const Lease *l, char **error_msg) {
        _cleanup_(nl_closep) NlSock *ns = NULL;
        _cleanup_close_ int tapfd = -EBADF;
        int bridge, ifindex = 0, r;

        r = nl_link_index(s->nl, lab->bridge, &bridge);
        if (r < 0)
                return error_msg_set(
                                error_msg, r, "bridge '%s' of lab '%s': %s", lab->bridge, lab->name,
                                strerror(-r));
        if (q->tap) {
                r = tap_create(l->link, &tapfd, error_msg);
                if (r < 0)
                        return r;
                r = nl_link_index(s->nl, l->link, &ifindex);
                if (r >= 0)
                        r = nl_link_set(s->nl, ifindex, bridge, lab->mtu, true, error_msg);
        } else {
                r = nl_open(q->netns_fd, &ns);
                if (r < 0)
                        return error_msg_set(
                                        error_msg, r, "enter the instance's network namespace (fd %d): %s",
                                        q->netns_fd, strerror(-r));
                r = nl_veth_create(s->nl, l->link, bridge, lab->mtu, l->ifname, q->netns_fd, l->mac, error_msg);
                if (r < 0)
                        return r;
                r = nl_link_index(s->nl, l->link, &ifindex);
                if (r >= 0)
                        r = configure_instance(ns, lab, l, error_msg);
        }
        if (r >= 0 && lab->mode == NETNS_MODE_EXAM)
                r = nl_brport_isolate(s->nl, ifindex, true, error_msg);
        if (r < 0) {
                (void) nl_link_delete(s->nl, l->link, NULL);
                return error_msg_set(error_msg, r, "attach '%s': %s", l->instance, strerror(-r));
        }
        return q->tap ? TAKE_FD(tapfd) : 0;
}

static int add_lease(NetnsLab *lab, Lease *l) {
        Lease *v = realloc(lab->leases, (lab->n_leases + 1) * sizeof *v);

        if (!v)
                return -ENOMEM;
        lab->leases = v;
        lab->leases[lab->n_leases++] = *l;
        *l = (Lease){};
        return lab_sync(lab);
}

/* Steps 5-6. On failure the in-memory lab is as before. */
static int record(Session *s, NetnsLab *lab, Lease *l, Forward *fw, size_t n_fw, char **error_msg) {
        _cleanup_free_ char *instance = strdup(l->instance);
        int r;

        if (!instance)
                return -ENOMEM;
        r = add_lease(lab, l);
        for (size_t i = 0; r >= 0 && i < n_fw; i++)
                r = add_forward(lab, &fw[i]);
        if (r >= 0)
                r = session_save_leases(s, lab, error_msg);
        if (r >= 0 && n_fw > 0)
                r = session_fw_sync(s, false, error_msg);
        if (r < 0) {
                lab_drop_instance(lab, instance);
                (void) lab_sync(lab);
                (void) state_save_leases(s->dirfd, lab);
        }
        return r;
}

static int attach(
                const char *data_root,
                const AttachRequest *q,
                int *ret_tap_fd,
                NetnsAttachment **ret,
                char **error_msg) {
        _cleanup_(netns_attachment_freep) NetnsAttachment *att = NULL;
        _cleanup_close_ int tapfd = -EBADF;
        _cleanup_free_ Forward *fw = NULL;
        NetnsLab *lab = NULL;
        Lease l = {};
        Session s;
        int r;

        r = netns_name_check("lab", q->lab, error_msg);
        if (r >= 0)
                r = netns_name_check("instance", q->instance, error_msg);
        if (r < 0)
                return r;
        if (!q->tap && !ifname_valid(q->opts->ifname ?: NETNS_DEFAULT_IFNAME))
                return json_error(error_msg, "ifname", "invalid interface name '%s'", q->opts->ifname);
        if (!q->tap && q->netns_fd < 0)
                return json_error(error_msg, NULL, "no network namespace fd given");
        if (!q->tap && same_netns(q->netns_fd))
                return json_error(error_msg, NULL, "the instance's network namespace is the host's own");
        if (q->opts->n_forwards > 0 && !q->opts->forwards)
                return -EINVAL;

        r = session_begin_lab(data_root, q->lab, &s, &lab, error_msg);
        if (r < 0)
                return r;
        r = plan(&s, q, lab, &l, &fw, error_msg);
        if (r >= 0 && ret)
                r = lab_attachment_new(lab, &l, &att);
        if (r < 0)
                goto finish;
        r = create_link(&s, q, lab, &l, error_msg);
        if (r < 0)
                goto finish;
        tapfd = q->tap ? r : -EBADF;
        r = record(&s, lab, &l, fw, q->opts->n_forwards, error_msg);
        if (r < 0)
                goto err_link;
        if (ret)
                *ret = TAKE_PTR(att);
        if (ret_tap_fd)
                *ret_tap_fd = TAKE_FD(tapfd);
        goto finish;

err_link:
        (void) nl_link_delete(s.nl, netns_link_name(q->lab, q->instance, q->tap, (char[16]){}), NULL);
finish:
        for (size_t i = 0; fw && i < q->opts->n_forwards; i++)
                forward_done(&fw[i]);
        lease_done(&l);
        session_end(&s);
        return r;
}

int netns_attach(
                const char *data_root,
                const char *lab,
                const char *instance,
                int netns_fd,
                const NetnsAttachOptions *opts,
                NetnsAttachment **ret,
                char **error_msg) {
        static const NetnsAttachOptions defaults = {};
        AttachRequest q = { .lab = lab, .instance = instance, .netns_fd = netns_fd, .opts = opts ?: &defaults };

        return attach(data_root, &q, NULL, ret, error_msg);
}

int netns_attach_tap(
                const char *data_root,
                const char *lab,
                const char *instance,
                const NetnsAttachOptions *opts,
                int *ret_tap_fd,
                NetnsAttachment **ret,
                char **error_msg) {
        static const NetnsAttachOptions defaults = {};
        AttachRequest q = {
                .lab = lab, .instance = instance, .tap = true, .netns_fd = -EBADF, .opts = opts ?: &defaults
        };

        return attach(data_root, &q, ret_tap_fd, ret, error_msg);
}

/* Session + lab + lease lookup shared by detach and the forward calls. */
static int open_instance(
                const char *data_root,
                const char *lab,
                const char *instance,
                Session *s,
                NetnsLab **ret_lab,
                char **error_msg) {
        NetnsLab *l;
        int r;

        r = netns_name_check("lab", lab, error_msg);
        if (r >= 0)
                r = netns_name_check("instance", instance, error_msg);
        if (r < 0)
                return r;
        r = session_begin_lab(data_root, lab, s, &l, error_msg);
        if (r < 0)
                return r;
        if (!lab_find_lease(l, instance)) {
                session_end(s);
                return error_msg_set(
                                error_msg, -ENOENT, "instance '%s' is not attached to lab '%s'", instance,
                                lab);
        }
        *ret_lab = l;
        return 0;
}

int netns_detach(const char *data_root, const char *lab, const char *instance, char **error_msg) {
        char link[IFNAMSIZ];
        bool had_forwards = false;
        NetnsLab *l;
        Session s;
        int r;

        r = open_instance(data_root, lab, instance, &s, &l, error_msg);
        if (r < 0)
                return r;
        memcpy(link, lab_find_lease(l, instance)->link, sizeof link);
        for (size_t i = 0; i < l->n_forwards; i++)
                had_forwards = had_forwards || streq(l->forwards[i].instance, instance);
        /* Forget first: a crash after this leaves an orphan link, which the next call removes. */
        lab_drop_instance(l, instance);
        r = session_save_leases(&s, l, error_msg);
        if (r < 0)
                goto finish;
        r = nl_link_delete(s.nl, link, error_msg);
        if (r == -ENODEV)
                r = 0; /* the instance's namespace is gone, and its veth with it */
        if (r >= 0 && had_forwards)
                r = session_fw_sync(&s, false, error_msg);
finish:
        session_end(&s);
        return r;
}

int netns_forward_add(
                const char *data_root,
                const char *lab,
                const char *instance,
                const NetnsPortForward *fwd,
                char **error_msg) {
        Forward f = {};
        NetnsLab *l;
        Session s;
        int r;

        if (!fwd)
                return -EINVAL;
        r = open_instance(data_root, lab, instance, &s, &l, error_msg);
        if (r < 0)
                return r;
        r = parse_forward(l, instance, fwd, &f, error_msg);
        if (r >= 0)
                r = check_forward(&s, &f, error_msg);
        if (r >= 0)
                r = add_forward(l, &f);
        if (r < 0)
                goto finish;
        r = session_save_leases(&s, l, error_msg);
        if (r >= 0)
                r = session_fw_sync(&s, false, error_msg);
        if (r < 0) {
                forward_done(&l->forwards[--l->n_forwards]);
                (void) state_save_leases(s.dirfd, l);
        }
finish:
        forward_done(&f);
        session_end(&s);
        return r;
}

int netns_forward_remove(
                const char *data_root,
                const char *lab,
                const char *instance,
                const NetnsPortForward *fwd,
                char **error_msg) {
        Forward f = {}, removed = {};
        NetnsLab *l;
        Session s;
        size_t i;
        int r;

        if (!fwd)
                return -EINVAL;
        r = open_instance(data_root, lab, instance, &s, &l, error_msg);
        if (r < 0)
                return r;
        r = parse_forward(l, instance, fwd, &f, error_msg);
        if (r < 0)
                goto finish;
        for (i = 0; i < l->n_forwards; i++)
                if (streq(l->forwards[i].instance, instance) && forwards_clash(&l->forwards[i], &f) &&
                    naddr_equal(&l->forwards[i].host, &f.host))
                        break;
        if (i == l->n_forwards) {
                r = error_msg_set(
                                error_msg, -ENOENT, "%s port %u is not forwarded to %s/%s",
                                netns_proto_to_string(f.proto), f.host_port, lab, instance);
                goto finish;
        }
        removed = l->forwards[i];
        memmove(&l->forwards[i], &l->forwards[i + 1], (l->n_forwards - i - 1) * sizeof(Forward));
        l->n_forwards--;
        r = session_save_leases(&s, l, error_msg);
        if (r >= 0)
                r = session_fw_sync(&s, false, error_msg);
finish:
        forward_done(&removed);
        forward_done(&f);
        session_end(&s);
        return r;
}

const char *netns_attachment_instance(const NetnsAttachment *a) {
        return a->instance;
}
const char *netns_attachment_ipv4(const NetnsAttachment *a) {
        return a->ip4;
}
unsigned netns_attachment_prefixlen(const NetnsAttachment *a) {
        return a->prefixlen;
}
const char *netns_attachment_gateway(const NetnsAttachment *a) {
        return a->gateway;
}
const char *netns_attachment_ipv6(const NetnsAttachment *a) {
        return a->has_v6 ? a->ip6 : NULL;
}
unsigned netns_attachment_prefixlen6(const NetnsAttachment *a) {
        return a->has_v6 ? a->prefixlen6 : 0;
}
const char *netns_attachment_gateway6(const NetnsAttachment *a) {
        return a->has_v6 ? a->gateway6 : NULL;
}
const char *netns_attachment_mac(const NetnsAttachment *a) {
        return a->mac;
}
const char *netns_attachment_host_link(const NetnsAttachment *a) {
        return a->link;
}
const char *netns_attachment_ifname(const NetnsAttachment *a) {
        return a->ifname;
}
unsigned netns_attachment_mtu(const NetnsAttachment *a) {
        return a->mtu;
}
