/* SPDX-License-Identifier: Apache-2.0 */
#include "netns-internal.h"

/*
 * The "inet aula" nftables table, rebuilt as a whole from the lab state and
 * replaced in one transaction ("add table; delete table; table { … }"), so
 * no packet ever sees half a ruleset and no stale rule survives a change.
 *
 * Per lab (bridge B, subnets S4/S6, gateways G4/G6, teachers T):
 *   lab_<id>_host  input from B:    replies; IPv6 neighbour discovery; G4/G6
 *                                   (exam: T); else drop
 *   lab_<id>_out   forward from B:  anti-spoofing; replies; B->B (not exam);
 *                                   nat: anything but another lab;
 *                                   exam: T only; isolated: nothing
 *   lab_<id>_in    forward to B:    replies; T; port forwards (not exam)
 * Instance-initiated traffic is judged packet by packet (only reply-direction
 * packets are accepted by state), so a mode change takes effect at once, also
 * for connections that were already open.
 * NAT: masquerade outbound (nat and exam modes) and hairpinned port
 * forwards; port forwards are DNAT rules matched on local destinations in
 * prerouting (other hosts) and output (the host itself).
 */

static const char *chain_id(const NetnsLab *lab) {
        return lab->bridge + STRLEN(NETNS_BRIDGE_PREFIX);
}

/* "{ a, b }" of the teachers of one family into f; returns false when there is none. */
static bool put_teachers(FILE *f, const NetnsLab *lab, int family) {
        char buf[NCIDR_STRLEN];
        bool any = false;

        for (size_t i = 0; i < lab->n_teachers; i++) {
                const NCidr *t = &lab->teachers[i];
                if (t->addr.family != family)
                        continue;
                fprintf(f, "%s%s", any ? ", " : "{ ", ncidr_to_string(t, buf));
                any = true;
        }
        if (any)
                fputs(" }", f);
        return any;
}

static void teacher_rule(FILE *f, const NetnsLab *lab, int family, const char *dir) {
        if (!lab->n_teachers)
                return;
        for (size_t i = 0; i < lab->n_teachers; i++)
                if (lab->teachers[i].addr.family == family) {
                        fprintf(f, "\t\t%s %s ", family == AF_INET ? "ip" : "ip6", dir);
                        (void) put_teachers(f, lab, family);
                        fputs(" accept\n", f);
                        return;
                }
}

static void render_lab_chains(FILE *f, const NetnsLab *lab) {
        const char *id = chain_id(lab);
        bool v6 = lab->subnet6.addr.family == AF_INET6, exam = lab->mode == NETNS_MODE_EXAM;
        char s4[NCIDR_STRLEN], s6[NCIDR_STRLEN], g4[NADDR_STRLEN], g6[NADDR_STRLEN];

        ncidr_to_string(&lab->subnet, s4);
        naddr_to_string(&lab->gateway, g4);
        if (v6) {
                ncidr_to_string(&lab->subnet6, s6);
                naddr_to_string(&lab->gateway6, g6);
        }

        fprintf(f, "\tchain lab_%s_host {\n", id);
        fputs("\t\tct direction reply accept\n", f);
        fputs("\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n", f);
        if (exam) {
                teacher_rule(f, lab, AF_INET, "daddr");
                teacher_rule(f, lab, AF_INET6, "daddr");
        } else {
                fprintf(f, "\t\tip daddr %s accept\n", g4);
                if (v6)
                        fprintf(f, "\t\tip6 daddr %s accept\n", g6);
        }
        fputs("\t\tdrop\n\t}\n", f);

        fprintf(f, "\tchain lab_%s_out {\n", id);
        fprintf(f, "\t\tip saddr != %s drop\n", s4);
        if (v6)
                fprintf(f, "\t\tip6 saddr != %s drop\n", s6);
        else
                fputs("\t\tmeta nfproto ipv6 drop\n", f);
        fputs("\t\tct direction reply accept\n\t\tct state related accept\n", f);
        if (exam) {
                teacher_rule(f, lab, AF_INET, "daddr");
                teacher_rule(f, lab, AF_INET6, "daddr");
        } else
                fprintf(f, "\t\toifname \"%s\" accept\n", lab->bridge);
        if (lab->mode == NETNS_MODE_NAT)
                fprintf(f, "\t\toifname \"%s*\" drop\n\t\taccept\n", NETNS_BRIDGE_PREFIX);
        fputs("\t\tdrop\n\t}\n", f);

        fprintf(f, "\tchain lab_%s_in {\n", id);
        fputs("\t\tct direction reply accept\n\t\tct state related accept\n", f);
        teacher_rule(f, lab, AF_INET, "saddr");
        teacher_rule(f, lab, AF_INET6, "saddr");
        if (!exam)
                fputs("\t\tct status dnat accept\n", f);
        fputs("\t\tdrop\n\t}\n", f);
}

static void render_forward(FILE *f, const NetnsLab *lab, const Forward *fw) {
        const Lease *l = lab_find_lease(lab, fw->instance);
        const char *proto = netns_proto_to_string(fw->proto);
        char h[NADDR_STRLEN], a[NADDR_STRLEN];

        if (!l)
                return;
        for (int family = AF_INET; family; family = family == AF_INET ? AF_INET6 : 0) {
                const NAddr *to = family == AF_INET ? &l->ip4 : &l->ip6;
                const char *ip = family == AF_INET ? "ip" : "ip6";
                if (!to->family || (fw->host.family && fw->host.family != family))
                        continue;
                fprintf(f, "\t\tmeta nfproto %s ", family == AF_INET ? "ipv4" : "ipv6");
                if (fw->host.family)
                        fprintf(f, "%s daddr %s ", ip, naddr_to_string(&fw->host, h));
                naddr_to_string(to, a);
                fprintf(f, "%s dport %u dnat %s to %s%s%s:%u\n", proto, fw->host_port, ip,
                        family == AF_INET6 ? "[" : "", a, family == AF_INET6 ? "]" : "", fw->port);
        }
}

static void render_base_chains(FILE *f, NetnsLab *const *labs, size_t n, bool any_forward) {
        fputs("\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "\t\tiifname \"%s\" jump lab_%s_host\n", labs[i]->bridge, chain_id(labs[i]));
        fputs("\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n", f);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "\t\tiifname \"%s\" jump lab_%s_out\n", labs[i]->bridge, chain_id(labs[i]));
                fprintf(f, "\t\toifname \"%s\" jump lab_%s_in\n", labs[i]->bridge, chain_id(labs[i]));
        }
        fputs("\t}\n", f);

        fputs("\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n", f);
        if (any_forward)
                fputs("\t\tfib daddr type local jump port_forwards\n", f);
        fputs("\t}\n\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n", f);
        /* Loopback destinations are left alone: DNAT to another host from 127/8 needs route_localnet. */
        if (any_forward)
                fputs("\t\tmeta nfproto ipv4 ip daddr != 127.0.0.0/8 fib daddr type local jump port_forwards\n"
                      "\t\tmeta nfproto ipv6 ip6 daddr != ::1 fib daddr type local jump port_forwards\n",
                      f);
        fputs("\t}\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n",
              f);
        for (size_t i = 0; i < n; i++) {
                const NetnsLab *lab = labs[i];
                char s4[NCIDR_STRLEN], s6[NCIDR_STRLEN];
                bool v6 = lab->subnet6.addr.family == AF_INET6;

                ncidr_to_string(&lab->subnet, s4);
                if (v6)
                        ncidr_to_string(&lab->subnet6, s6);
                /* Hairpin: an instance reaching a classmate through a port forward must see replies come back via the host. */
                fprintf(f, "\t\toifname \"%s\" ct status dnat ip saddr %s masquerade\n", lab->bridge, s4);
                if (v6)
                        fprintf(f, "\t\toifname \"%s\" ct status dnat ip6 saddr %s masquerade\n",
                                lab->bridge, s6);
                if (lab->mode == NETNS_MODE_ISOLATED)
                        continue;
                fprintf(f, "\t\tip saddr %s oifname != \"%s\" masquerade\n", s4, lab->bridge);
                if (v6)
                        fprintf(f, "\t\tip6 saddr %s oifname != \"%s\" masquerade\n", s6, lab->bridge);
        }
        fputs("\t}\n", f);
}

int fw_render(NetnsLab *const *labs, size_t n, char **ret) {
        _cleanup_free_ char *buf = NULL;
        bool any_forward = false;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        /* Creating the table first makes the delete valid whether or not it existed. */
        fputs("table inet " NETNS_NFT_TABLE "\ndelete table inet " NETNS_NFT_TABLE "\n", f);
        if (n > 0) {
                for (size_t i = 0; i < n; i++)
                        any_forward = any_forward || labs[i]->n_forwards > 0;
                fputs("table inet " NETNS_NFT_TABLE " {\n", f);
                render_base_chains(f, labs, n, any_forward);
                if (any_forward) {
                        fputs("\tchain port_forwards {\n", f);
                        for (size_t i = 0; i < n; i++)
                                for (size_t j = 0; j < labs[i]->n_forwards; j++)
                                        render_forward(f, labs[i], &labs[i]->forwards[j]);
                        fputs("\t}\n", f);
                }
                for (size_t i = 0; i < n; i++)
                        render_lab_chains(f, labs[i]);
                fputs("}\n", f);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int write_sysctl(const char *path) {
        _cleanup_free_ char *cur = NULL;
        int r;

        r = read_one_line_at(AT_FDCWD, path, &cur);
        if (r >= 0 && streq(cur, "1"))
                return 0;
        return write_string_at(AT_FDCWD, path, "1\n");
}

int fw_enable_forwarding(bool v6) {
        int r;

        r = write_sysctl("/proc/sys/net/ipv4/ip_forward");
        if (r >= 0 && v6)
                r = write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding");
        return r;
}
