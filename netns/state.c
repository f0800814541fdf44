/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "netns-internal.h"

/*
 * Two JSON files per lab, each replaced atomically (temp file + rename):
 *   labs/<name>.json    the configuration (mode, subnets, teachers, ...),
 *                       fsync'ed: it must survive power loss;
 *   leases/<name>.json  leases and port forwards, stamped with the boot id.
 *                       Not fsync'ed: a lease names a link, and no link
 *                       survives a reboot, so after one the leases are void
 *                       (and ignored, whatever the file holds).
 * Gateways, bridge and MAC addresses are derived, not stored.
 */

#define STATE_VERSION 1
#define STATE_MAX_SIZE (4u << 20)

void lease_done(Lease *l) {
        free(l->instance);
        free(l->ifname);
        *l = (Lease){};
}

void forward_done(Forward *f) {
        free(f->instance);
        *f = (Forward){};
}

NetnsLab *netns_lab_free(NetnsLab *lab) {
        if (!lab)
                return NULL;
        free(lab->name);
        free(lab->teachers);
        strv_free(lab->dns);
        for (size_t i = 0; i < lab->n_leases; i++)
                lease_done(&lab->leases[i]);
        free(lab->leases);
        for (size_t i = 0; i < lab->n_forwards; i++)
                forward_done(&lab->forwards[i]);
        free(lab->forwards);
        strv_free(lab->instance_names);
        free(lab);
        return NULL;
}

int lab_sync(NetnsLab *lab) {
        _cleanup_strv_free_ char **names = calloc(lab->n_leases + 1, sizeof(char *));

        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < lab->n_leases; i++) {
                names[i] = strdup(lab->leases[i].instance);
                if (!names[i])
                        return -ENOMEM;
        }
        strv_free(lab->instance_names);
        lab->instance_names = TAKE_PTR(names);
        netns_bridge_name(lab->name, lab->bridge);
        (void) ncidr_host(&lab->subnet, 1, &lab->gateway);
        ncidr_to_string(&lab->subnet, lab->subnet_str);
        naddr_to_string(&lab->gateway, lab->gateway_str);
        lab->gateway6 = (NAddr){};
        lab->subnet6_str[0] = 0;
        if (lab->subnet6.addr.family) {
                (void) ncidr_host(&lab->subnet6, 1, &lab->gateway6);
                ncidr_to_string(&lab->subnet6, lab->subnet6_str);
        }
        naddr_to_string(&lab->gateway6, lab->gateway6_str);
        return 0;
}

Lease *lab_find_lease(const NetnsLab *lab, const char *instance) {
        for (size_t i = 0; i < lab->n_leases; i++)
                if (streq(lab->leases[i].instance, instance))
                        return &lab->leases[i];
        return NULL;
}

void lab_drop_instance(NetnsLab *lab, const char *instance) {
        size_t j = 0;

        for (size_t i = 0; i < lab->n_forwards; i++)
                if (streq(lab->forwards[i].instance, instance))
                        forward_done(&lab->forwards[i]);
                else
                        lab->forwards[j++] = lab->forwards[i];
        lab->n_forwards = j;
        j = 0;
        for (size_t i = 0; i < lab->n_leases; i++)
                if (streq(lab->leases[i].instance, instance))
                        lease_done(&lab->leases[i]);
                else
                        lab->leases[j++] = lab->leases[i];
        lab->n_leases = j;
}

/* ------------------------------------------------------------------ JSON out */

static void write_addr(JsonWriter *w, const char *key, const NAddr *a) {
        char buf[NADDR_STRLEN];

        jw_key(w, key);
        if (a->family)
                jw_string(w, naddr_to_string(a, buf));
        else
                jw_null(w);
}

static void write_lease(JsonWriter *w, const Lease *l) {
        char mac[18];

        jw_object_open(w);
        jw_key(w, "instance");
        jw_string(w, l->instance);
        jw_key(w, "link");
        jw_string(w, l->link);
        jw_key(w, "ifname");
        jw_string(w, l->ifname);
        jw_key(w, "tap");
        jw_bool(w, l->tap);
        jw_key(w, "mac");
        jw_string(w, netns_mac_to_string(l->mac, mac));
        write_addr(w, "ipv4", &l->ip4);
        write_addr(w, "ipv6", &l->ip6);
        jw_object_close(w);
}

static void write_forward(JsonWriter *w, const Forward *f) {
        jw_object_open(w);
        jw_key(w, "instance");
        jw_string(w, f->instance);
        jw_key(w, "proto");
        jw_string(w, netns_proto_to_string(f->proto));
        write_addr(w, "host_addr", &f->host);
        jw_key(w, "host_port");
        jw_uint(w, f->host_port);
        jw_key(w, "port");
        jw_uint(w, f->port);
        jw_object_close(w);
}

static void write_leases(JsonWriter *w, const NetnsLab *lab) {
        jw_key(w, "leases");
        jw_array_open(w);
        for (size_t i = 0; i < lab->n_leases; i++)
                write_lease(w, &lab->leases[i]);
        jw_array_close(w);
        jw_key(w, "forwards");
        jw_array_open(w);
        for (size_t i = 0; i < lab->n_forwards; i++)
                write_forward(w, &lab->forwards[i]);
        jw_array_close(w);
}

int lab_to_json(const NetnsLab *lab, bool with_leases, char **ret) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        char buf[NCIDR_STRLEN];
        int r;

        r = json_writer_new(true, &w);
        if (r < 0)
                return r;
        jw_object_open(w);
        jw_key(w, "version");
        jw_uint(w, STATE_VERSION);
        jw_key(w, "name");
        jw_string(w, lab->name);
        jw_key(w, "mode");
        jw_string(w, netns_mode_to_string(lab->mode));
        jw_key(w, "subnet");
        jw_string(w, ncidr_to_string(&lab->subnet, buf));
        jw_key(w, "subnet6");
        jw_string(w, lab->subnet6.addr.family ? ncidr_to_string(&lab->subnet6, buf) : NULL);
        jw_key(w, "mtu");
        jw_uint(w, lab->mtu);
        jw_key(w, "teachers");
        jw_array_open(w);
        for (size_t i = 0; i < lab->n_teachers; i++)
                jw_string(w, ncidr_to_string(&lab->teachers[i], buf));
        jw_array_close(w);
        jw_key(w, "dns");
        jw_strv(w, lab->dns);
        if (with_leases)
                write_leases(w, lab);
        jw_object_close(w);
        return json_writer_finish(w, ret, NULL);
}

int leases_to_json(const NetnsLab *lab, const char *boot_id, char **ret) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        int r;

        r = json_writer_new(true, &w);
        if (r < 0)
                return r;
        jw_object_open(w);
        jw_key(w, "version");
        jw_uint(w, STATE_VERSION);
        jw_key(w, "boot_id");
        jw_string(w, boot_id);
        write_leases(w, lab);
        jw_object_close(w);
        return json_writer_finish(w, ret, NULL);
}

/* ------------------------------------------------------------------- JSON in */

static int want_addr(JsonVal v, const char *path, int family, bool nullable, NAddr *ret, char **error_msg) {
        if (nullable && (!v || v->type == yajl_t_null)) {
                *ret = (NAddr){};
                return 0;
        }
        if (!v || v->type != yajl_t_string)
                return json_error(error_msg, path, "expected address, got %s", json_type_name(v));
        if (naddr_parse(v->u.string, family, ret) < 0)
                return json_error(error_msg, path, "'%s' is not a valid address", v->u.string);
        return 0;
}

static int parse_mac(const char *s, uint8_t ret[static 6]) {
        unsigned m[6];
        int n = -1;

        if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &n) != 6 ||
            n != 17 || s[n])
                return -EINVAL;
        for (unsigned i = 0; i < 6; i++)
                ret[i] = (uint8_t) m[i];
        return 0;
}

static int parse_lease(JsonVal v, const char *path, const NetnsLab *lab, Lease *l, char **error_msg) {
        _cleanup_free_ char *link = NULL, *mac = NULL;
        char p[JSON_PATH_MAX], expect[16];
        JsonVal ifname;
        int r;

        r = json_want_type(v, path, yajl_t_object, error_msg);
        if (r < 0)
                return r;
        r = json_want_string(
                        json_get(v, "instance"), json_path_key(p, sizeof p, path, "instance"), &l->instance,
                        error_msg);
        if (r < 0)
                return r;
        if (!netns_name_valid(l->instance))
                return json_error(error_msg, p, "invalid instance name '%s'", l->instance);
        r = json_want_bool(json_get(v, "tap"), json_path_key(p, sizeof p, path, "tap"), &l->tap, error_msg);
        if (r < 0)
                return r;
        r = json_want_string(json_get(v, "link"), json_path_key(p, sizeof p, path, "link"), &link, error_msg);
        if (r < 0)
                return r;
        if (!streq(link, netns_link_name(lab->name, l->instance, l->tap, expect)))
                return json_error(error_msg, p, "link '%s' does not match instance (expected %s)", link, expect);
        memcpy(l->link, expect, sizeof l->link);
        ifname = json_get(v, "ifname");
        if (!l->tap) {
                r = json_want_string(ifname, json_path_key(p, sizeof p, path, "ifname"), &l->ifname, error_msg);
                if (r < 0)
                        return r;
                if (strlen(l->ifname) >= IFNAMSIZ)
                        return json_error(error_msg, p, "interface name too long");
        }
        r = json_want_string(json_get(v, "mac"), json_path_key(p, sizeof p, path, "mac"), &mac, error_msg);
        if (r < 0)
                return r;
        if (parse_mac(mac, l->mac) < 0)
                return json_error(error_msg, p, "'%s' is not a MAC address", mac);
        r = want_addr(json_get(v, "ipv4"), json_path_key(p, sizeof p, path, "ipv4"), AF_INET, false, &l->ip4,
                      error_msg);
        if (r < 0)
                return r;
        if (!ncidr_contains(&lab->subnet, &l->ip4))
                return json_error(error_msg, p, "address outside the lab subnet");
        r = want_addr(json_get(v, "ipv6"), json_path_key(p, sizeof p, path, "ipv6"), AF_INET6, true, &l->ip6,
                      error_msg);
        if (r < 0)
                return r;
        if (l->ip6.family && !ncidr_contains(&lab->subnet6, &l->ip6))
                return json_error(error_msg, p, "address outside the lab's IPv6 subnet");
        return 0;
}

static int parse_forward(JsonVal v, const char *path, Forward *f, char **error_msg) {
        _cleanup_free_ char *proto = NULL;
        char p[JSON_PATH_MAX];
        uint64_t port;
        int r;

        r = json_want_type(v, path, yajl_t_object, error_msg);
        if (r < 0)
                return r;
        r = json_want_string(
                        json_get(v, "instance"), json_path_key(p, sizeof p, path, "instance"), &f->instance,
                        error_msg);
        if (r < 0)
                return r;
        r = json_want_string(
                        json_get(v, "proto"), json_path_key(p, sizeof p, path, "proto"), &proto, error_msg);
        if (r < 0)
                return r;
        f->proto = netns_proto_from_string(proto);
        if (f->proto < 0)
                return json_error(error_msg, p, "unknown protocol '%s'", proto);
        r = want_addr(json_get(v, "host_addr"), json_path_key(p, sizeof p, path, "host_addr"), AF_UNSPEC,
                      true, &f->host, error_msg);
        if (r < 0)
                return r;
        r = json_want_uint64(
                        json_get(v, "host_port"), json_path_key(p, sizeof p, path, "host_port"), 65535,
                        &port, error_msg);
        if (r < 0)
                return r;
        f->host_port = (uint16_t) port;
        r = json_want_uint64(
                        json_get(v, "port"), json_path_key(p, sizeof p, path, "port"), 65535, &port,
                        error_msg);
        if (r < 0)
                return r;
        f->port = (uint16_t) port;
        if (!f->port || !f->host_port)
                return json_error(error_msg, path, "port 0");
        return 0;
}

static int parse_array(JsonVal v, const char *path, char **error_msg) {
        return json_want_type(v, path, yajl_t_array, error_msg);
}

static int parse_teachers(JsonVal root, NetnsLab *lab, char **error_msg) {
        JsonVal t = json_get(root, "teachers");
        char p[JSON_PATH_MAX];
        int r;

        r = parse_array(t, "teachers", error_msg);
        if (r >= 0)
                r = json_want_strv(json_get(root, "dns"), "dns", &lab->dns, error_msg);
        if (r < 0)
                return r;
        lab->teachers = calloc(t->u.array.len + 1, sizeof(NCidr));
        if (!lab->teachers)
                return -ENOMEM;
        for (size_t i = 0; i < t->u.array.len; i++, lab->n_teachers++) {
                JsonVal s = t->u.array.values[i];
                json_path_index(p, sizeof p, "teachers", i);
                if (!s || s->type != yajl_t_string)
                        return json_error(error_msg, p, "expected string, got %s", json_type_name(s));
                r = ncidr_parse(s->u.string, AF_UNSPEC, true, false, p, &lab->teachers[i], error_msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "leases" and "forwards" of root, both optional (a lab without instances). */
static int parse_leases(JsonVal root, NetnsLab *lab, char **error_msg) {
        JsonVal l = json_get(root, "leases"), f = json_get(root, "forwards");
        char p[JSON_PATH_MAX];
        int r = 0;

        if (l)
                r = parse_array(l, "leases", error_msg);
        if (r >= 0 && f)
                r = parse_array(f, "forwards", error_msg);
        if (r < 0)
                return r;
        lab->leases = calloc((l ? l->u.array.len : 0) + 1, sizeof(Lease));
        lab->forwards = calloc((f ? f->u.array.len : 0) + 1, sizeof(Forward));
        if (!lab->leases || !lab->forwards)
                return -ENOMEM;
        /* Each entry counts as soon as it is parsed into, so a failure half-way frees what it holds. */
        for (size_t i = 0; l && i < l->u.array.len; i++) {
                lab->n_leases = i + 1;
                r = parse_lease(l->u.array.values[i], json_path_index(p, sizeof p, "leases", i), lab,
                                &lab->leases[i], error_msg);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (streq(lab->leases[j].instance, lab->leases[i].instance) ||
                            naddr_equal(&lab->leases[j].ip4, &lab->leases[i].ip4))
                                return json_error(error_msg, p, "duplicate lease");
        }
        for (size_t i = 0; f && i < f->u.array.len; i++) {
                lab->n_forwards = i + 1;
                r = parse_forward(
                                f->u.array.values[i], json_path_index(p, sizeof p, "forwards", i),
                                &lab->forwards[i], error_msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_header(JsonVal root, NetnsLab *lab, char **error_msg) {
        _cleanup_free_ char *mode = NULL, *subnet = NULL, *subnet6 = NULL;
        JsonVal s6 = json_get(root, "subnet6");
        uint64_t u;
        int r;

        r = json_want_uint64(json_get(root, "version"), "version", UINT32_MAX, &u, error_msg);
        if (r < 0)
                return r;
        if (u != STATE_VERSION)
                return json_error(error_msg, "version", "unsupported state version %" PRIu64, u);
        r = json_want_string(json_get(root, "name"), "name", &lab->name, error_msg);
        if (r < 0)
                return r;
        if (!netns_name_valid(lab->name))
                return json_error(error_msg, "name", "invalid lab name '%s'", lab->name);
        r = json_want_string(json_get(root, "mode"), "mode", &mode, error_msg);
        if (r < 0)
                return r;
        lab->mode = netns_mode_from_string(mode);
        if (lab->mode < 0)
                return json_error(error_msg, "mode", "unknown mode '%s'", mode);
        r = json_want_string(json_get(root, "subnet"), "subnet", &subnet, error_msg);
        if (r < 0)
                return r;
        r = ncidr_parse(subnet, AF_INET, false, false, "subnet", &lab->subnet, error_msg);
        if (r < 0)
                return r;
        if (lab->subnet.prefixlen > 30)
                return json_error(error_msg, "subnet", "prefix too long");
        if (s6 && s6->type != yajl_t_null) {
                r = json_want_string(s6, "subnet6", &subnet6, error_msg);
                if (r < 0)
                        return r;
                r = ncidr_parse(subnet6, AF_INET6, false, false, "subnet6", &lab->subnet6, error_msg);
                if (r < 0)
                        return r;
                if (lab->subnet6.prefixlen != 64)
                        return json_error(error_msg, "subnet6", "expected a /64");
        }
        r = json_want_uint64(json_get(root, "mtu"), "mtu", 65535, &u, error_msg);
        if (r < 0)
                return r;
        if (u < 68)
                return json_error(error_msg, "mtu", "MTU %" PRIu64 " too small", u);
        lab->mtu = (unsigned) u;
        return 0;
}

int lab_from_json(const char *text, size_t len, NetnsLab **ret, char **error_msg) {
        _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
        _cleanup_(json_freep) JsonVal root = NULL;
        int r;

        r = json_parse(text, len, &root, error_msg);
        if (r < 0)
                return r;
        r = json_want_type(root, "", yajl_t_object, error_msg);
        if (r < 0)
                return r;
        lab = calloc(1, sizeof *lab);
        if (!lab)
                return -ENOMEM;
        r = parse_header(root, lab, error_msg);
        if (r < 0)
                return r;
        r = parse_teachers(root, lab, error_msg);
        if (r >= 0)
                r = parse_leases(root, lab, error_msg);
        if (r < 0)
                return r;
        r = lab_sync(lab);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(lab);
        return 0;
}

int leases_from_json(NetnsLab *lab, const char *text, size_t len, const char *boot_id, char **error_msg) {
        _cleanup_(json_freep) JsonVal root = NULL;
        JsonVal b;
        int r;

        /*
         * An unreadable file is an error, not "no leases": that would make the next call delete the
         * links of running instances as orphans. It cannot come from a crash (rename is atomic).
         */
        r = json_parse(text, len, &root, error_msg);
        if (r >= 0)
                r = json_want_type(root, "", yajl_t_object, error_msg);
        if (r < 0)
                return r;
        b = json_get(root, "boot_id");
        if (!b || b->type != yajl_t_string)
                return json_error(error_msg, "boot_id", "expected string, got %s", json_type_name(b));
        /* Leases from an earlier boot are void: their links died with it. */
        if (!streq_ptr(b->u.string, boot_id))
                return 0;
        for (size_t i = 0; i < lab->n_leases; i++)
                lease_done(&lab->leases[i]);
        for (size_t i = 0; i < lab->n_forwards; i++)
                forward_done(&lab->forwards[i]);
        free(lab->leases);
        lab->leases = NULL;
        free(lab->forwards);
        lab->forwards = NULL;
        lab->n_leases = lab->n_forwards = 0;
        r = parse_leases(root, lab, error_msg);
        if (r < 0)
                return r;
        return lab_sync(lab);
}

int state_boot_id(char **ret) {
        int r = read_one_line_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", ret);
        return r == -ENOENT ? xasprintf(ret, "-") : r;
}

/* Temp file + rename, without fsync (see the top of this file). */
static int replace_file_at(int dirfd, const char *path, const char *text) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = xasprintf(&tmp, "%s.%d.tmp", path, (int) getpid());
        if (r < 0)
                return r;
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = loop_write(fd, text, strlen(text));
        if (r >= 0 && renameat(dirfd, tmp, dirfd, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dirfd, tmp, 0);
        return r;
}

/* --------------------------------------------------------------------- files */

int state_open(const char *data_root, bool create, int *ret_dirfd) {
        _cleanup_free_ char *dir = NULL, *labs = NULL, *leases = NULL;
        int fd, r;

        if (isempty(data_root))
                return -EINVAL;
        dir = path_join(data_root, "netns");
        labs = path_join(data_root, "netns/labs");
        leases = path_join(data_root, "netns/leases");
        if (!dir || !labs || !leases)
                return -ENOMEM;
        if (create) {
                r = mkdir_p(labs, 0700);
                if (r >= 0)
                        r = mkdir_p(leases, 0700);
                if (r < 0)
                        return r;
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_dirfd = fd;
        return 0;
}

int state_lock(int dirfd, int *ret_lockfd) {
        return lock_file_at(dirfd, "lock", LOCK_EX, ret_lockfd);
}

static int state_path(const char *dir, const char *name, char **ret) {
        if (!netns_name_valid(name))
                return -EINVAL;
        return xasprintf(ret, "%s/%s.json", dir, name);
}

static int load_leases(int dirfd, NetnsLab *lab, char **error_msg) {
        _cleanup_free_ char *path = NULL, *text = NULL, *boot = NULL, *msg = NULL;
        size_t len;
        int r;

        r = state_path("leases", lab->name, &path);
        if (r >= 0)
                r = read_full_file_at(dirfd, path, STATE_MAX_SIZE, &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = state_boot_id(&boot);
        if (r < 0)
                return r;
        r = leases_from_json(lab, text, len, boot, &msg);
        if (r < 0 && error_msg)
                (void) xasprintf(error_msg, "corrupt lease state %s: %s", path, msg ?: "parse error");
        return r;
}

int state_load(int dirfd, const char *name, NetnsLab **ret, char **error_msg) {
        _cleanup_free_ char *path = NULL, *text = NULL, *msg = NULL;
        _cleanup_(netns_lab_freep) NetnsLab *lab = NULL;
        size_t len;
        int r;

        r = state_path("labs", name, &path);
        if (r < 0)
                return r;
        r = read_full_file_at(dirfd, path, STATE_MAX_SIZE, &text, &len);
        if (r < 0)
                return r;
        r = lab_from_json(text, len, &lab, &msg);
        if (r < 0) {
                if (error_msg)
                        (void) xasprintf(error_msg, "corrupt lab state %s: %s", path, msg ?: "parse error");
                return r;
        }
        if (!streq(lab->name, name) || lab->n_leases > 0) {
                if (error_msg)
                        (void) xasprintf(
                                        error_msg, "corrupt lab state %s: not the configuration of lab '%s'",
                                        path, name);
                return -EINVAL;
        }
        r = load_leases(dirfd, lab, error_msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(lab);
        return 0;
}

int state_save_leases(int dirfd, const NetnsLab *lab) {
        _cleanup_free_ char *path = NULL, *text = NULL, *boot = NULL;
        int r;

        r = state_path("leases", lab->name, &path);
        if (r >= 0)
                r = state_boot_id(&boot);
        if (r >= 0)
                r = leases_to_json(lab, boot, &text);
        if (r < 0)
                return r;
        return replace_file_at(dirfd, path, text);
}

int state_save(int dirfd, const NetnsLab *lab) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        r = state_path("labs", lab->name, &path);
        if (r >= 0)
                r = lab_to_json(lab, false, &text);
        if (r >= 0)
                r = write_file_atomic_at(dirfd, path, text, strlen(text), 0600);
        if (r < 0)
                return r;
        return state_save_leases(dirfd, lab);
}

int state_remove(int dirfd, const char *name) {
        _cleanup_free_ char *path = NULL, *lpath = NULL;
        int r;

        r = state_path("labs", name, &path);
        if (r >= 0)
                r = state_path("leases", name, &lpath);
        if (r < 0)
                return r;
        /* The configuration goes first: without it the lab is gone, and stale leases are never read. */
        if (unlinkat(dirfd, path, 0) < 0)
                return -errno;
        (void) unlinkat(dirfd, lpath, 0);
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int state_list(int dirfd, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_close_ int fd = -EBADF;
        DIR *d;
        int r = 0;

        fd = openat(dirfd, "labs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT)
                return -errno;
        if (fd >= 0) {
                d = fdopendir(fd);
                if (!d)
                        return -errno;
                fd = -EBADF;
                for (struct dirent *de; (de = readdir(d));) {
                        _cleanup_free_ char *n = NULL;
                        const char *dot = strrchr(de->d_name, '.');
                        if (!dot || !streq(dot, ".json"))
                                continue;
                        n = strndup(de->d_name, (size_t) (dot - de->d_name));
                        if (!n) {
                                r = -ENOMEM;
                                break;
                        }
                        if (!netns_name_valid(n))
                                continue;
                        r = strv_push(&l, n);
                        if (r < 0)
                                break;
                        n = NULL;
                }
                closedir(d);
                if (r < 0)
                        return r;
        }
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        qsort(l, strv_length(l), sizeof(char *), cmp_str);
        *ret = TAKE_PTR(l);
        return 0;
}

int state_prune_leases(int root_fd, const LabSet *set) {
        _cleanup_close_ int fd = openat(root_fd, "leases", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int removed = 0;
        DIR *d;

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -EBADF;
        for (struct dirent *de; (de = readdir(d));) {
                bool known = false;
                if (de->d_name[0] == '.')
                        continue;
                for (size_t i = 0; i < set->n && !known; i++) {
                        const char *rest = startswith(de->d_name, set->labs[i]->name);
                        known = rest && streq(rest, ".json");
                }
                if (!known && unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        removed++;
        }
        closedir(d);
        return removed;
}

void labset_done(LabSet *s) {
        for (size_t i = 0; i < s->n; i++)
                netns_lab_free(s->labs[i]);
        free(s->labs);
        *s = (LabSet){};
}

int state_load_all(int dirfd, LabSet *ret, char **error_msg) {
        _cleanup_strv_free_ char **names = NULL;
        LabSet s = {};
        int r;

        r = state_list(dirfd, &names);
        if (r < 0)
                return r;
        s.labs = calloc(strv_length(names) + 1, sizeof(NetnsLab *));
        if (!s.labs)
                return -ENOMEM;
        STRV_FOREACH(n, names) {
                r = state_load(dirfd, *n, &s.labs[s.n], error_msg);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        labset_done(&s);
                        return r;
                }
                s.n++;
        }
        *ret = s;
        return 0;
}
