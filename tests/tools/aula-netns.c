/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aula-netns: a small command-line front end to libaula-netns, for manual
 * use, the bats suite and the benchmark. Not installed; the user-facing
 * command is "aula lab network".
 *
 *   aula-netns [--root DIR] COMMAND ...
 *
 * Commands:
 *   lab-create NAME [--mode M] [--subnet CIDR] [--pool CIDR] [--prefixlen N]
 *              [--pool6 CIDR|none] [--mtu N] [--teacher ADDR]... [--dns ADDR]...
 *   lab-delete NAME
 *   lab-mode NAME isolated|nat|exam
 *   lab-show NAME
 *   lab-list
 *   attach LAB INSTANCE NETNS_PATH [--ifname NAME] [--ip ADDR] [--forward SPEC]...
 *   attach-many LAB PREFIX NETNS_PATH...   (instances PREFIX0, PREFIX1, ... in one process)
 *   detach-many LAB PREFIX COUNT
 *   attach-tap LAB INSTANCE [--ip ADDR]
 *   detach LAB INSTANCE
 *   forward-add|forward-remove LAB INSTANCE SPEC
 *   gc
 *   resolv-conf LAB
 *   hosts LAB INSTANCE
 * SPEC is PROTO:[HOSTADDR:]HOSTPORT:PORT, e.g. tcp:8080:80 or udp:192.0.2.1:53:53.
 * Exit status: 0 on success, 1 on failure (with one line on stderr), 2 on usage errors.
 */
#include <getopt.h>

#include "common.h"
#include "netns.h"

static const char *arg_root = "/var/lib/aula";

static int fail(int r, char *msg, const char *what) {
        fprintf(stderr, "aula-netns: %s: %s\n", what, msg ?: strerror(-r));
        free(msg);
        return 1;
}

static int usage(void) {
        fputs("usage: aula-netns [--root DIR] COMMAND ... (see the comment at the top of aula-netns.c)\n",
              stderr);
        return 2;
}

static int parse_spec(char *spec, NetnsPortForward *ret) {
        char *parts[4] = {};
        unsigned n = 0, hp, p;

        for (char *s = spec, *save = NULL, *tok; n < 4 && (tok = strtok_r(s, ":", &save)); s = NULL)
                parts[n++] = tok;
        /* An IPv6 host address would contain ':'; use brackets: tcp:[::1]:8080:80 is not supported, keep it simple. */
        if (n < 3 || n > 4)
                return -EINVAL;
        ret->proto = netns_proto_from_string(parts[0]);
        ret->host_addr = n == 4 ? parts[1] : NULL;
        if (ret->proto < 0 || safe_atou(parts[n - 2], &hp) < 0 || safe_atou(parts[n - 1], &p) < 0 ||
            hp > 65535 || p > 65535)
                return -EINVAL;
        ret->host_port = (uint16_t) hp;
        ret->port = (uint16_t) p;
        return 0;
}

static int cmd_lab_create(int argc, char **argv) {
        static const struct option opts[] = {
                { "mode", required_argument, NULL, 'm' },
                { "subnet", required_argument, NULL, 's' },
                { "pool", required_argument, NULL, 'p' },
                { "prefixlen", required_argument, NULL, 'l' },
                { "pool6", required_argument, NULL, '6' },
                { "mtu", required_argument, NULL, 'M' },
                { "teacher", required_argument, NULL, 't' },
                { "dns", required_argument, NULL, 'd' },
                {},
        };
        _cleanup_strv_free_ char **teachers = NULL, **dns = NULL;
        _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
        NetnsLabOptions o = {};
        char *msg = NULL;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case 'm':
                        o.mode = netns_mode_from_string(optarg);
                        if ((int) o.mode < 0)
                                return fprintf(stderr, "aula-netns: unknown mode '%s'\n", optarg), 2;
                        break;
                case 's':
                        o.subnet = optarg;
                        break;
                case 'p':
                        o.pool = optarg;
                        break;
                case 'l':
                        if (safe_atou(optarg, &o.prefixlen) < 0)
                                return usage();
                        break;
                case '6':
                        o.pool6 = optarg;
                        break;
                case 'M':
                        if (safe_atou(optarg, &o.mtu) < 0)
                                return usage();
                        break;
                case 't':
                        if (strv_extend(&teachers, optarg) < 0)
                                return 1;
                        break;
                case 'd':
                        if (strv_extend(&dns, optarg) < 0)
                                return 1;
                        break;
                default:
                        return usage();
                }
        if (optind != argc - 1)
                return usage();
        o.teachers = teachers;
        o.dns = dns;
        r = netns_lab_create(arg_root, argv[optind], &o, &lab, &msg);
        if (r < 0)
                return fail(r, msg, "lab-create");
        printf("bridge=%s subnet=%s gateway=%s subnet6=%s gateway6=%s\n", netns_lab_bridge(lab),
               netns_lab_subnet(lab), netns_lab_gateway(lab), netns_lab_subnet6(lab) ?: "-",
               netns_lab_gateway6(lab) ?: "-");
        return 0;
}

static void print_attachment(const NetnsAttachment *a) {
        printf("instance=%s ipv4=%s/%u gateway=%s ipv6=%s gateway6=%s mac=%s link=%s ifname=%s mtu=%u\n",
               netns_attachment_instance(a), netns_attachment_ipv4(a), netns_attachment_prefixlen(a),
               netns_attachment_gateway(a), netns_attachment_ipv6(a) ?: "-",
               netns_attachment_gateway6(a) ?: "-", netns_attachment_mac(a), netns_attachment_host_link(a),
               netns_attachment_ifname(a) ?: "-", netns_attachment_mtu(a));
}

static int cmd_lab_show(const char *name) {
        _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
        char *msg = NULL;
        int r;

        r = netns_lab_load(arg_root, name, &lab, &msg);
        if (r < 0)
                return fail(r, msg, "lab-show");
        printf("lab=%s mode=%s bridge=%s subnet=%s gateway=%s subnet6=%s mtu=%u\n", netns_lab_name(lab),
               netns_mode_to_string(netns_lab_mode(lab)), netns_lab_bridge(lab), netns_lab_subnet(lab),
               netns_lab_gateway(lab), netns_lab_subnet6(lab) ?: "-", netns_lab_mtu(lab));
        STRV_FOREACH(i, netns_lab_instances(lab)) {
                _cleanup_(netns_attachment_freep) NetnsAttachment *a = NULL;
                if (netns_lab_attachment(lab, *i, &a) >= 0)
                        print_attachment(a);
        }
        return 0;
}

static int attach_one(const char *lab, const char *instance, const char *path, const NetnsAttachOptions *o) {
        _cleanup_(netns_attachment_freep) NetnsAttachment *a = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        char *msg = NULL;
        int r;

        if (fd < 0)
                return fprintf(stderr, "aula-netns: open %s: %m\n", path), 1;
        r = netns_attach(arg_root, lab, instance, fd, o, &a, &msg);
        if (r < 0)
                return fail(r, msg, "attach");
        print_attachment(a);
        return 0;
}

static int cmd_attach(int argc, char **argv, bool tap) {
        static const struct option opts[] = {
                { "ifname", required_argument, NULL, 'i' },
                { "ip", required_argument, NULL, 'a' },
                { "forward", required_argument, NULL, 'f' },
                {},
        };
        NetnsPortForward fw[16];
        NetnsAttachOptions o = { .forwards = fw };
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case 'i':
                        o.ifname = optarg;
                        break;
                case 'a':
                        o.ipv4 = optarg;
                        break;
                case 'f':
                        if (o.n_forwards >= ELEMENTSOF(fw) || parse_spec(optarg, &fw[o.n_forwards]) < 0)
                                return usage();
                        o.n_forwards++;
                        break;
                default:
                        return usage();
                }
        if (tap) {
                _cleanup_(netns_attachment_freep) NetnsAttachment *a = NULL;
                char *msg = NULL;
                int r;
                if (optind != argc - 2)
                        return usage();
                r = netns_attach_tap(arg_root, argv[optind], argv[optind + 1], &o, NULL, &a, &msg);
                if (r < 0)
                        return fail(r, msg, "attach-tap");
                print_attachment(a);
                return 0;
        }
        if (optind != argc - 3)
                return usage();
        return attach_one(argv[optind], argv[optind + 1], argv[optind + 2], &o);
}

static int cmd_many(int argc, char **argv, bool attach) {
        unsigned count;

        if (attach) {
                for (int i = 3; i < argc; i++) {
                        char name[80];
                        snprintf(name, sizeof name, "%s%d", argv[2], i - 3);
                        if (attach_one(argv[1], name, argv[i], NULL) != 0)
                                return 1;
                }
                return 0;
        }
        if (argc != 4 || safe_atou(argv[3], &count) < 0)
                return usage();
        for (unsigned i = 0; i < count; i++) {
                char name[80], *msg = NULL;
                int r;
                snprintf(name, sizeof name, "%s%u", argv[2], i);
                r = netns_detach(arg_root, argv[1], name, &msg);
                if (r < 0)
                        return fail(r, msg, "detach");
        }
        return 0;
}

static int cmd_forward(int argc, char **argv, bool add) {
        NetnsPortForward f;
        char *msg = NULL;
        int r;

        if (argc != 4 || parse_spec(argv[3], &f) < 0)
                return usage();
        r = (add ? netns_forward_add : netns_forward_remove)(arg_root, argv[1], argv[2], &f, &msg);
        return r < 0 ? fail(r, msg, argv[0]) : 0;
}

static int cmd_render(int argc, char **argv) {
        _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
        _cleanup_free_ char *text = NULL;
        char *msg = NULL;
        int r;

        if (argc < 2)
                return usage();
        r = netns_lab_load(arg_root, argv[1], &lab, &msg);
        if (r < 0)
                return fail(r, msg, argv[0]);
        if (streq(argv[0], "hosts")) {
                if (argc != 3)
                        return usage();
                r = netns_render_hosts(lab, argv[2], &text);
        } else
                r = netns_render_resolv_conf(lab, "/etc/resolv.conf", &text);
        if (r < 0)
                return fail(r, NULL, argv[0]);
        fputs(text, stdout);
        return 0;
}

static int run(int argc, char **argv) {
        const char *cmd = argv[0];
        char *msg = NULL;
        int r;

        if (streq(cmd, "lab-create"))
                return cmd_lab_create(argc, argv);
        if (streq(cmd, "lab-delete") && argc == 2) {
                r = netns_lab_delete(arg_root, argv[1], &msg);
                return r < 0 ? fail(r, msg, cmd) : 0;
        }
        if (streq(cmd, "lab-mode") && argc == 3) {
                NetnsMode m = netns_mode_from_string(argv[2]);
                if ((int) m < 0)
                        return fprintf(stderr, "aula-netns: unknown mode '%s'\n", argv[2]), 2;
                r = netns_lab_set_mode(arg_root, argv[1], m, &msg);
                return r < 0 ? fail(r, msg, cmd) : 0;
        }
        if (streq(cmd, "lab-show") && argc == 2)
                return cmd_lab_show(argv[1]);
        if (streq(cmd, "lab-list") && argc == 1) {
                _cleanup_strv_free_ char **l = NULL;
                r = netns_lab_list(arg_root, &l);
                if (r < 0)
                        return fail(r, NULL, cmd);
                STRV_FOREACH(n, l)
                        puts(*n);
                return 0;
        }
        if (streq(cmd, "attach") || streq(cmd, "attach-tap"))
                return cmd_attach(argc, argv, streq(cmd, "attach-tap"));
        if (streq(cmd, "attach-many") && argc >= 4)
                return cmd_many(argc, argv, true);
        if (streq(cmd, "detach-many"))
                return cmd_many(argc, argv, false);
        if (streq(cmd, "detach") && argc == 3) {
                r = netns_detach(arg_root, argv[1], argv[2], &msg);
                return r < 0 ? fail(r, msg, cmd) : 0;
        }
        if (streq(cmd, "forward-add") || streq(cmd, "forward-remove"))
                return cmd_forward(argc, argv, streq(cmd, "forward-add"));
        if (streq(cmd, "gc") && argc == 1) {
                r = netns_gc(arg_root, &msg);
                if (r < 0)
                        return fail(r, msg, cmd);
                printf("removed=%d\n", r);
                return 0;
        }
        if (streq(cmd, "resolv-conf") || streq(cmd, "hosts"))
                return cmd_render(argc, argv);
        return usage();
}

int main(int argc, char **argv) {
        int i = 1;

        if (argc > 2 && streq(argv[1], "--root")) {
                arg_root = argv[2];
                i = 3;
        } else if (getenv("AULA_ROOT"))
                arg_root = getenv("AULA_ROOT");
        if (i >= argc)
                return usage();
        return run(argc - i, argv + i);
}
