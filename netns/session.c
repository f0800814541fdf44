/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/stat.h>

#include "netns-internal.h"

/*
 * A session is one mutating call: state directory + lock + host netlink
 * socket + every lab's state. Opening one also repairs what a crash or a
 * reboot left behind:
 *   1. links named like ours that no lab claims are deleted (a crash between
 *      creating a link and recording it, or between forgetting and deleting);
 *   2. leases whose link is gone are dropped (the instance's namespace died,
 *      or a crash mid-attach);
 *   3. a lab whose bridge is missing (reboot) gets it back;
 *   4. the nftables table is re-applied when the ruleset the state implies
 *      differs from the last one applied in this boot and namespace.
 */

void session_end(Session *s) {
        labset_done(&s->labs);
        s->nl = nl_close(s->nl);
        s->lockfd = safe_close(s->lockfd);
        s->dirfd = safe_close(s->dirfd);
}

NetnsLab *session_find(Session *s, const char *name) {
        for (size_t i = 0; i < s->labs.n; i++)
                if (streq(s->labs.labs[i]->name, name))
                        return s->labs.labs[i];
        return NULL;
}

int lab_bridge_setup(NlSock *nl, const NetnsLab *lab, char **error_msg) {
        uint8_t mac[6];
        int ifindex, r;

        netns_mac(lab->name, NULL, mac);
        r = nl_bridge_create(nl, lab->bridge, mac, lab->mtu, error_msg);
        if (r < 0)
                return r;
        r = nl_link_index(nl, lab->bridge, &ifindex);
        if (r >= 0)
                r = nl_addr_add(nl, ifindex, &lab->gateway, lab->subnet.prefixlen, error_msg);
        if (r >= 0 && lab->subnet6.addr.family)
                r = nl_addr_add(nl, ifindex, &lab->gateway6, lab->subnet6.prefixlen, error_msg);
        if (r < 0) {
                (void) nl_link_delete(nl, lab->bridge, NULL);
                return error_msg_set(error_msg, r, "configure bridge '%s': %s", lab->bridge, strerror(-r));
        }
        return 0;
}

/* "<boot id> <netns inode> <hash>": the ruleset applied last, and where. */
static int fw_stamp(const char *script, char **ret) {
        _cleanup_free_ char *boot = NULL;
        struct stat st;

        if (state_boot_id(&boot) < 0)
                boot = NULL;
        if (stat("/proc/thread-self/ns/net", &st) < 0)
                return -errno;
        return xasprintf(
                        ret, "%s %" PRIu64 " %016" PRIx64 "\n", boot ?: "-", (uint64_t) st.st_ino,
                        netns_hash(script, NULL));
}

int session_fw_sync(Session *s, bool force, char **error_msg) {
        _cleanup_free_ char *script = NULL, *stamp = NULL, *old = NULL;
        bool v6 = false;
        size_t len;
        int r;

        r = fw_render(s->labs.labs, s->labs.n, &script);
        if (r < 0)
                return r;
        r = fw_stamp(script, &stamp);
        if (r < 0)
                return r;
        r = read_full_file_at(s->dirfd, "firewall.applied", 4096, &old, &len);
        if (!force && r >= 0 && streq(old, stamp))
                return 0;
        /* Never applied from this data root and nothing to apply: there is no table of ours to remove. */
        if (!force && r == -ENOENT && s->labs.n == 0)
                return 0;
        r = fw_apply(script, error_msg);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->labs.n; i++)
                v6 = v6 || s->labs.labs[i]->subnet6.addr.family;
        if (s->labs.n > 0) {
                r = fw_enable_forwarding(v6);
                if (r < 0)
                        return error_msg_set(error_msg, r, "enable IP forwarding: %s", strerror(-r));
        }
        /* Losing the stamp only costs one needless re-apply later. */
        (void) write_file_atomic_at(s->dirfd, "firewall.applied", stamp, strlen(stamp), 0600);
        return 0;
}

static bool claimed(const Session *s, const char *ifname) {
        for (size_t i = 0; i < s->labs.n; i++) {
                const NetnsLab *lab = s->labs.labs[i];
                if (streq(lab->bridge, ifname))
                        return true;
                for (size_t j = 0; j < lab->n_leases; j++)
                        if (streq(lab->leases[j].link, ifname))
                                return true;
        }
        return false;
}

static int reapply_isolation(Session *s, NetnsLab *lab, char **error_msg) {
        for (size_t i = 0; i < lab->n_leases; i++) {
                int ifindex, r;
                if (nl_link_index(s->nl, lab->leases[i].link, &ifindex) < 0)
                        continue;
                r = nl_brport_isolate(s->nl, ifindex, lab->mode == NETNS_MODE_EXAM, error_msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Steps 2 and 3 for one lab; sets *changed when the state was rewritten or rules must be redone. */
static int repair_lab(Session *s, NetnsLab *lab, char **links, bool force, int *removed, bool *changed, char **error_msg) {
        bool dirty = false;
        int r;

        for (size_t i = 0; i < lab->n_leases;) {
                if (strv_contains(links, lab->leases[i].link)) {
                        i++;
                        continue;
                }
                _cleanup_free_ char *inst = strdup(lab->leases[i].instance);
                if (!inst)
                        return -ENOMEM;
                lab_drop_instance(lab, inst);
                (*removed)++;
                dirty = true;
        }
        if (dirty) {
                r = session_save_leases(s, lab, error_msg);
                if (r < 0)
                        return r;
                *changed = true;
        }
        if (!strv_contains(links, lab->bridge)) {
                r = lab_bridge_setup(s->nl, lab, error_msg);
                if (r < 0)
                        return r;
                *changed = true;
        }
        if (force)
                return reapply_isolation(s, lab, error_msg);
        return 0;
}

static int collect_garbage(Session *s, bool force, int *ret_removed, char **error_msg) {
        _cleanup_strv_free_ char **links = NULL;
        bool changed = false;
        int removed = 0, r;

        r = nl_link_names(s->nl, &links);
        if (r < 0)
                return error_msg_set(error_msg, r, "list links: %s", strerror(-r));
        STRV_FOREACH(l, links) {
                if (!netns_link_name_is_ours(*l) || claimed(s, *l))
                        continue;
                r = nl_link_delete(s->nl, *l, error_msg);
                if (r < 0 && r != -ENODEV)
                        return r;
                removed++;
                changed = true;
        }
        for (size_t i = 0; i < s->labs.n; i++) {
                r = repair_lab(s, s->labs.labs[i], links, force, &removed, &changed, error_msg);
                if (r < 0)
                        return r;
        }
        (void) state_prune_leases(s->dirfd, &s->labs);
        r = session_fw_sync(s, force || changed, error_msg);
        if (r < 0)
                return r;
        if (ret_removed)
                *ret_removed = removed;
        return 0;
}

int session_begin(const char *data_root, bool create, bool force, Session *s, int *ret_removed, char **error_msg) {
        int r;

        *s = (Session){ .dirfd = -EBADF, .lockfd = -EBADF };
        r = state_open(data_root, create, &s->dirfd);
        if (r == -ENOENT && !create)
                return r; /* no state yet: the caller knows what was missing */
        if (r < 0)
                return error_msg_set(
                                error_msg, r, "open state directory under '%s': %s", data_root ?: "(null)",
                                strerror(-r));
        r = state_lock(s->dirfd, &s->lockfd);
        if (r < 0) {
                error_msg_set(error_msg, r, "lock state directory: %s", strerror(-r));
                goto fail;
        }
        r = nl_open(-1, &s->nl);
        if (r == -EOPNOTSUPP) {
                error_msg_set(error_msg, r, "aula was built without lab networking (libmnl, libnftables)");
                goto fail;
        }
        if (r < 0) {
                error_msg_set(error_msg, r, "open rtnetlink socket: %s", strerror(-r));
                goto fail;
        }
        r = state_load_all(s->dirfd, &s->labs, error_msg);
        if (r < 0) {
                error_msg_set(error_msg, r, "load lab state: %s", strerror(-r));
                goto fail;
        }
        r = collect_garbage(s, force, ret_removed, error_msg);
        if (r < 0)
                goto fail;
        return 0;
fail:
        session_end(s);
        return r;
}

int session_save_leases(Session *s, NetnsLab *lab, char **error_msg) {
        int r = lab_sync(lab);

        if (r >= 0)
                r = state_save_leases(s->dirfd, lab);
        if (r < 0)
                return error_msg_set(error_msg, r, "save lab '%s': %s", lab->name, strerror(-r));
        return 0;
}

int session_save_lab(Session *s, const NetnsLab *lab, char **error_msg) {
        int r = state_save(s->dirfd, lab);

        if (r < 0)
                return error_msg_set(error_msg, r, "save lab '%s': %s", lab->name, strerror(-r));
        return 0;
}

int session_begin_lab(const char *data_root, const char *name, Session *s, NetnsLab **ret_lab, char **error_msg) {
        NetnsLab *lab;
        int r;

        r = session_begin(data_root, false, false, s, NULL, error_msg);
        if (r == -ENOENT)
                return error_msg_set(error_msg, r, "no lab '%s'", name);
        if (r < 0)
                return r;
        lab = session_find(s, name);
        if (!lab) {
                session_end(s);
                return error_msg_set(error_msg, -ENOENT, "no lab '%s'", name);
        }
        *ret_lab = lab;
        return 0;
}

int netns_gc(const char *data_root, char **error_msg) {
        Session s;
        int removed = 0, r;

        r = session_begin(data_root, false, true, &s, &removed, error_msg);
        if (r == -ENOENT)
                return error_msg_set(error_msg, r, "no lab state under '%s'", data_root ?: "(null)");
        if (r < 0)
                return r;
        session_end(&s);
        return removed;
}
