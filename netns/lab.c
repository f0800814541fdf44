/* SPDX-License-Identifier: Apache-2.0 */
#include "netns-internal.h"

/* Labs: creation (address allocation, bridge, rules), deletion, mode changes, state access. */

typedef struct LabPlan {
        bool explicit_subnet;
        NCidr subnet; /* explicit */
        NCidr pool;
        unsigned prefixlen;
        NCidr pool6; /* family 0: no IPv6 */
} LabPlan;

static int parse_addressing(const NetnsLabOptions *o, LabPlan *p, char **error_msg) {
        int r;

        p->prefixlen = o->prefixlen ?: NETNS_DEFAULT_PREFIXLEN;
        if (o->subnet) {
                r = ncidr_parse(o->subnet, AF_INET, false, false, "subnet", &p->subnet, error_msg);
                if (r < 0)
                        return r;
                if (p->subnet.prefixlen < 8 || p->subnet.prefixlen > 30)
                        return json_error(error_msg, "subnet", "'%s': prefix length must be 8..30", o->subnet);
                p->explicit_subnet = true;
        } else {
                r = ncidr_parse(o->pool ?: NETNS_DEFAULT_POOL, AF_INET, false, false, "pool", &p->pool,
                                error_msg);
                if (r < 0)
                        return r;
                if (p->prefixlen < 8 || p->prefixlen > 30)
                        return json_error(error_msg, "prefixlen", "%u: must be 8..30", p->prefixlen);
                if (p->prefixlen < p->pool.prefixlen)
                        return json_error(
                                        error_msg, "prefixlen", "/%u is larger than the pool /%u",
                                        p->prefixlen, p->pool.prefixlen);
        }
        if (o->pool6 && streq(o->pool6, "none"))
                return 0;
        r = ncidr_parse(o->pool6 ?: NETNS_DEFAULT_POOL6, AF_INET6, false, false, "pool6", &p->pool6,
                        error_msg);
        if (r < 0)
                return r;
        if (p->pool6.prefixlen < 8 || p->pool6.prefixlen > 64)
                return json_error(error_msg, "pool6", "'%s': prefix length must be 8..64", o->pool6);
        return 0;
}

static int parse_lists(const NetnsLabOptions *o, NetnsLab *lab, char **error_msg) {
        char path[JSON_PATH_MAX];
        NAddr a;
        int r;

        lab->teachers = calloc(strv_length(o->teachers) + 2, sizeof(NCidr));
        if (!lab->teachers)
                return -ENOMEM;
        for (size_t i = 0; o->teachers && o->teachers[i]; i++) {
                r = ncidr_parse(o->teachers[i], AF_UNSPEC, true, false,
                                json_path_index(path, sizeof path, "teachers", i),
                                &lab->teachers[lab->n_teachers++], error_msg);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; o->dns && o->dns[i]; i++) {
                if (naddr_parse(o->dns[i], AF_UNSPEC, &a) < 0)
                        return json_error(
                                        error_msg, json_path_index(path, sizeof path, "dns", i),
                                        "'%s' is not an IP address", o->dns[i]);
                r = strv_extend(&lab->dns, o->dns[i]);
                if (r < 0)
                        return r;
        }
        if (!lab->dns) {
                lab->dns = calloc(1, sizeof(char *));
                if (!lab->dns)
                        return -ENOMEM;
        }
        return 0;
}

static int parse_options(const char *name, const NetnsLabOptions *o, NetnsLab **ret, LabPlan *p, char **error_msg) {
        _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
        int r;

        r = netns_name_check("lab", name, error_msg);
        if (r < 0)
                return r;
        if (!netns_mode_to_string(o->mode))
                return json_error(error_msg, "mode", "unknown mode %d", (int) o->mode);
        *p = (LabPlan){};
        r = parse_addressing(o, p, error_msg);
        if (r < 0)
                return r;
        lab = calloc(1, sizeof *lab);
        if (!lab)
                return -ENOMEM;
        lab->name = strdup(name);
        if (!lab->name)
                return -ENOMEM;
        lab->mode = o->mode;
        lab->mtu = o->mtu ?: NETNS_DEFAULT_MTU;
        if (lab->mtu > 65535 || lab->mtu < (p->pool6.addr.family ? 1280u : 68u))
                return json_error(
                                error_msg, "mtu", "%u: must be %u..65535", lab->mtu,
                                p->pool6.addr.family ? 1280u : 68u);
        r = parse_lists(o, lab, error_msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(lab);
        return 0;
}

/* Networks of the host's own IPv4 addresses, minus our bridges' (which are lab subnets anyway). */
static int used_subnets(Session *s, int family, NCidr **ret, size_t *ret_n) {
        _cleanup_free_ NCidr *host = NULL, *all = NULL;
        size_t n_host = 0, n = 0;
        int r;

        r = nl_addr_networks(s->nl, family, &host, &n_host);
        if (r < 0)
                return r;
        all = calloc(n_host + s->labs.n + 1, sizeof(NCidr));
        if (!all)
                return -ENOMEM;
        for (size_t i = 0; i < s->labs.n; i++) {
                const NCidr *c = family == AF_INET ? &s->labs.labs[i]->subnet : &s->labs.labs[i]->subnet6;
                if (c->addr.family)
                        all[n++] = *c;
        }
        for (size_t i = 0; i < n_host; i++)
                all[n++] = host[i];
        *ret = TAKE_PTR(all);
        *ret_n = n;
        return 0;
}

static const char *owner_of(Session *s, const NCidr *c) {
        for (size_t i = 0; i < s->labs.n; i++)
                if (ncidr_overlaps(&s->labs.labs[i]->subnet, c))
                        return s->labs.labs[i]->name;
        return NULL;
}

static int allocate(Session *s, NetnsLab *lab, const LabPlan *p, char **error_msg) {
        _cleanup_free_ NCidr *used = NULL;
        char a[NCIDR_STRLEN], b[NCIDR_STRLEN];
        size_t n;
        int r;

        r = used_subnets(s, AF_INET, &used, &n);
        if (r < 0)
                return error_msg_set(error_msg, r, "list host addresses: %s", strerror(-r));
        if (p->explicit_subnet) {
                for (size_t i = 0; i < n; i++) {
                        if (!ncidr_overlaps(&p->subnet, &used[i]))
                                continue;
                        const char *owner = owner_of(s, &used[i]);
                        return error_msg_set(
                                        error_msg, -EADDRINUSE, "subnet %s overlaps %s%s%s %s",
                                        ncidr_to_string(&p->subnet, a), owner ? "lab '" : "a host network",
                                        owner ?: "", owner ? "'" : "", ncidr_to_string(&used[i], b));
                }
                lab->subnet = p->subnet;
        } else {
                r = ipam_pick_subnet(&p->pool, p->prefixlen, used, n, &lab->subnet);
                if (r == -ENOSPC)
                        return error_msg_set(
                                        error_msg, r, "address pool %s is exhausted (no free /%u left)",
                                        ncidr_to_string(&p->pool, a), p->prefixlen);
                if (r < 0)
                        return r;
        }
        if (!p->pool6.addr.family)
                return 0;
        free(used);
        used = NULL;
        r = used_subnets(s, AF_INET6, &used, &n);
        if (r < 0)
                return error_msg_set(error_msg, r, "list host addresses: %s", strerror(-r));
        r = ipam_pick_subnet(&p->pool6, 64, used, n, &lab->subnet6);
        if (r == -ENOSPC)
                return error_msg_set(error_msg, r, "IPv6 pool %s is exhausted", ncidr_to_string(&p->pool6, a));
        return r;
}

static int labset_add(LabSet *set, NetnsLab *lab) {
        NetnsLab **l = realloc(set->labs, (set->n + 2) * sizeof(NetnsLab *));

        if (!l)
                return -ENOMEM;
        set->labs = l;
        set->labs[set->n++] = lab;
        return 0;
}

static void labset_take(LabSet *set, const NetnsLab *lab) {
        for (size_t i = 0; i < set->n; i++)
                if (set->labs[i] == lab) {
                        memmove(&set->labs[i], &set->labs[i + 1], (set->n - i - 1) * sizeof(NetnsLab *));
                        set->n--;
                        return;
                }
}

static int default_teachers(NetnsLab *lab) {
        if (lab->n_teachers > 0)
                return 0;
        lab->teachers[lab->n_teachers++] = (NCidr){ .addr = lab->gateway, .prefixlen = 32 };
        if (lab->subnet6.addr.family)
                lab->teachers[lab->n_teachers++] = (NCidr){ .addr = lab->gateway6, .prefixlen = 128 };
        return 0;
}

int netns_lab_create(
                const char *data_root,
                const char *name,
                const NetnsLabOptions *opts,
                NetnsLab **ret,
                char **error_msg) {
        static const NetnsLabOptions defaults = {};
        _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
        Session s;
        LabPlan plan;
        NetnsLab *added;
        int r;

        r = parse_options(name, opts ?: &defaults, &lab, &plan, error_msg);
        if (r < 0)
                return r;
        r = session_begin(data_root, true, false, &s, NULL, error_msg);
        if (r < 0)
                return r;
        if (session_find(&s, name)) {
                r = error_msg_set(error_msg, -EEXIST, "lab '%s' already exists", name);
                goto finish;
        }
        r = allocate(&s, lab, &plan, error_msg);
        if (r < 0)
                goto finish;
        r = lab_sync(lab);
        if (r >= 0)
                r = default_teachers(lab);
        if (r < 0)
                goto finish;
        r = lab_bridge_setup(s.nl, lab, error_msg);
        if (r < 0)
                goto finish;
        r = session_save_lab(&s, lab, error_msg);
        if (r < 0)
                goto err_bridge;
        r = labset_add(&s.labs, lab);
        if (r < 0)
                goto err_state;
        added = TAKE_PTR(lab);
        r = session_fw_sync(&s, false, error_msg);
        if (r < 0) {
                labset_take(&s.labs, added);
                lab = added;
                goto err_state;
        }
        if (ret) {
                labset_take(&s.labs, added);
                *ret = added;
        }
        goto finish;

err_state:
        (void) state_remove(s.dirfd, name);
err_bridge:
        (void) nl_link_delete(s.nl, lab->bridge, NULL);
finish:
        session_end(&s);
        return r;
}

int netns_lab_delete(const char *data_root, const char *name, char **error_msg) {
        _cleanup_(netns_lab_freep) NetnsLab *owned = NULL;
        NetnsLab *lab;
        Session s;
        int r;

        r = netns_name_check("lab", name, error_msg);
        if (r < 0)
                return r;
        r = session_begin_lab(data_root, name, &s, &lab, error_msg);
        if (r < 0)
                return r;
        /* Forget first: a crash after this leaves only orphans, which the next call removes. */
        r = state_remove(s.dirfd, name);
        if (r < 0) {
                error_msg_set(error_msg, r, "remove state of lab '%s': %s", name, strerror(-r));
                goto finish;
        }
        labset_take(&s.labs, lab);
        owned = lab;
        for (size_t i = 0; i < lab->n_leases; i++) {
                r = nl_link_delete(s.nl, lab->leases[i].link, error_msg);
                if (r < 0 && r != -ENODEV)
                        goto finish;
        }
        r = nl_link_delete(s.nl, lab->bridge, error_msg);
        if (r < 0 && r != -ENODEV)
                goto finish;
        r = session_fw_sync(&s, false, error_msg);
finish:
        session_end(&s);
        return r;
}

int netns_lab_set_mode(const char *data_root, const char *name, NetnsMode mode, char **error_msg) {
        NetnsLab *lab;
        NetnsMode old;
        Session s;
        int r;

        r = netns_name_check("lab", name, error_msg);
        if (r < 0)
                return r;
        if (!netns_mode_to_string(mode))
                return json_error(error_msg, NULL, "unknown mode %d", (int) mode);
        r = session_begin_lab(data_root, name, &s, &lab, error_msg);
        if (r < 0)
                return r;
        old = lab->mode;
        lab->mode = mode;
        r = session_save_lab(&s, lab, error_msg);
        if (r < 0) {
                lab->mode = old;
                goto finish;
        }
        /* Rules first (they cut outbound traffic), then port isolation between classmates. */
        r = session_fw_sync(&s, false, error_msg);
        for (size_t i = 0; r >= 0 && i < lab->n_leases; i++) {
                int ifindex;
                if (nl_link_index(s.nl, lab->leases[i].link, &ifindex) >= 0)
                        r = nl_brport_isolate(s.nl, ifindex, mode == NETNS_MODE_EXAM, error_msg);
        }
        if (r < 0) {
                lab->mode = old;
                (void) state_save(s.dirfd, lab);
                (void) session_fw_sync(&s, true, NULL);
        }
finish:
        session_end(&s);
        return r;
}

int netns_lab_load(const char *data_root, const char *name, NetnsLab **ret, char **error_msg) {
        _cleanup_close_ int dirfd = -EBADF;
        int r;

        r = netns_name_check("lab", name, error_msg);
        if (r < 0)
                return r;
        r = state_open(data_root, false, &dirfd);
        if (r >= 0)
                r = state_load(dirfd, name, ret, error_msg);
        if (r == -ENOENT)
                return error_msg_set(error_msg, r, "no lab '%s'", name);
        return r;
}

int netns_lab_list(const char *data_root, char ***ret) {
        _cleanup_close_ int dirfd = -EBADF;
        int r;

        r = state_open(data_root, false, &dirfd);
        if (r == -ENOENT) {
                char **l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
                *ret = l;
                return 0;
        }
        if (r < 0)
                return r;
        return state_list(dirfd, ret);
}

const char *netns_lab_name(const NetnsLab *lab) {
        return lab->name;
}
const char *netns_lab_bridge(const NetnsLab *lab) {
        return lab->bridge;
}
NetnsMode netns_lab_mode(const NetnsLab *lab) {
        return lab->mode;
}
const char *netns_lab_subnet(const NetnsLab *lab) {
        return lab->subnet_str;
}
const char *netns_lab_gateway(const NetnsLab *lab) {
        return lab->gateway_str;
}
const char *netns_lab_subnet6(const NetnsLab *lab) {
        return lab->subnet6.addr.family ? lab->subnet6_str : NULL;
}
const char *netns_lab_gateway6(const NetnsLab *lab) {
        return lab->subnet6.addr.family ? lab->gateway6_str : NULL;
}
unsigned netns_lab_mtu(const NetnsLab *lab) {
        return lab->mtu;
}
char **netns_lab_instances(const NetnsLab *lab) {
        return lab->instance_names;
}

int netns_lab_attachment(const NetnsLab *lab, const char *instance, NetnsAttachment **ret) {
        const Lease *l = instance ? lab_find_lease(lab, instance) : NULL;

        if (!l)
                return -ENOENT;
        return lab_attachment_new(lab, l, ret);
}
