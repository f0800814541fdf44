/* SPDX-License-Identifier: Apache-2.0 */
#include "rt-internal.h"

/* linux.cgroupsPath: absolute as given; relative below /aula-runtime; absent: /aula-runtime/<id>. */
int rt_cgroup_path(const OciConfig *c, const char *id, char **ret) {
        const char *p = c->linux_cfg ? c->linux_cfg->cgroups_path : NULL;
        int r;

        if (p && strchr(p, ':') && !strchr(p, '/'))
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "linux.cgroupsPath '%s' is a systemd slice path; systemd is not used here "
                                "(pass a cgroupfs path such as /mygroup/%s)",
                                p, id);
        if (p && p[0] == '/')
                r = xasprintf(ret, "%s", p);
        else if (!isempty(p))
                r = xasprintf(ret, "/aula-runtime/%s", p);
        else
                r = xasprintf(ret, "/aula-runtime/%s", id);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        if (!path_is_safe(*ret)) {
                log_error("linux.cgroupsPath '%s' must not contain '..'", *ret);
                *ret = mfree(*ret);
                return -EINVAL;
        }
        return 0;
}

#define COPY_OPT(dst, src) \
        do { \
                (dst).set = (src).set; \
                (dst).v = (src).v; \
        } while (0)

static int copy_values(const void *src_arr, size_t n, size_t stride, bool weights, CgDeviceValue **ret, size_t *ret_n) {
        CgDeviceValue *v;
        if (n == 0)
                return 0;
        v = calloc(n, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *p = (const char *) src_arr + i * stride;
                if (weights) {
                        const OciWeightDevice *w = (const OciWeightDevice *) p;
                        v[i] = (CgDeviceValue){ .major = w->major,
                                                .minor = w->minor,
                                                .value = w->weight.set ? w->weight.v : 0,
                                                .leaf_value = w->leaf_weight.set ? w->leaf_weight.v : 0 };
                } else {
                        const OciThrottleDevice *t = (const OciThrottleDevice *) p;
                        v[i] = (CgDeviceValue){ .major = t->major, .minor = t->minor, .value = t->rate };
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int copy_kv(const OciKeyValue *src, size_t n, CgKeyValue **ret, size_t *ret_n) {
        CgKeyValue *kv;
        if (n == 0)
                return 0;
        kv = calloc(n, sizeof *kv);
        if (!kv)
                return -ENOMEM;
        *ret = kv;
        for (size_t i = 0; i < n; i++) {
                kv[i].key = strdup(src[i].key);
                kv[i].value = strdup(src[i].value);
                *ret_n = i + 1;
                if (!kv[i].key || !kv[i].value)
                        return -ENOMEM;
        }
        return 0;
}

static int copy_rdma(const OciRdma *src, size_t n, CgKeyValue **ret, size_t *ret_n) {
        CgKeyValue *kv;
        if (n == 0)
                return 0;
        kv = calloc(n, sizeof *kv);
        if (!kv)
                return -ENOMEM;
        *ret = kv;
        for (size_t i = 0; i < n; i++) {
                char h[32] = "", o[32] = "";
                if (src[i].hca_handles.set)
                        snprintf(h, sizeof h, "hca_handle=%" PRIu64, src[i].hca_handles.v);
                if (src[i].hca_objects.set)
                        snprintf(o, sizeof o, "hca_object=%" PRIu64, src[i].hca_objects.v);
                kv[i].key = strdup(src[i].device);
                if (xasprintf(&kv[i].value, "%s%s%s", h, *h && *o ? " " : "", o) < 0)
                        kv[i].value = NULL;
                *ret_n = i + 1;
                if (!kv[i].key || !kv[i].value)
                        return -ENOMEM;
        }
        return 0;
}

/* blockIO.throttle* of o into the CgResources field of the same name. */
#define COPY_THROTTLE(name) \
        copy_values(o->block_io.name, o->block_io.n_##name, sizeof(OciThrottleDevice), false, &r.name, \
                    &r.n_##name)

int rt_resources_from_oci(const OciResources *o, CgResources *ret) {
        CgResources r = {};
        int k;

        COPY_OPT(r.memory_limit, o->memory.limit);
        COPY_OPT(r.memory_reservation, o->memory.reservation);
        COPY_OPT(r.memory_swap, o->memory.swap);
        COPY_OPT(r.memory_swappiness, o->memory.swappiness);
        r.memory_disable_oom_killer = o->memory.disable_oom_killer.set && o->memory.disable_oom_killer.v;
        COPY_OPT(r.cpu_shares, o->cpu.shares);
        COPY_OPT(r.cpu_period, o->cpu.period);
        COPY_OPT(r.cpu_burst, o->cpu.burst);
        COPY_OPT(r.cpu_rt_period, o->cpu.realtime_period);
        COPY_OPT(r.cpu_quota, o->cpu.quota);
        COPY_OPT(r.cpu_rt_runtime, o->cpu.realtime_runtime);
        COPY_OPT(r.cpu_idle, o->cpu.idle);
        COPY_OPT(r.pids_limit, o->pids_limit);
        COPY_OPT(r.blkio_weight, o->block_io.weight);
        COPY_OPT(r.blkio_leaf_weight, o->block_io.leaf_weight);
        if ((o->cpu.cpus && !(r.cpuset_cpus = strdup(o->cpu.cpus))) ||
            (o->cpu.mems && !(r.cpuset_mems = strdup(o->cpu.mems))))
                goto oom;
        if ((k = copy_values(o->block_io.weight_device, o->block_io.n_weight_device, sizeof(OciWeightDevice),
                             true, &r.blkio_weight_device, &r.n_blkio_weight_device)) < 0 ||
            (k = COPY_THROTTLE(throttle_read_bps)) < 0 || (k = COPY_THROTTLE(throttle_write_bps)) < 0 ||
            (k = COPY_THROTTLE(throttle_read_iops)) < 0 || (k = COPY_THROTTLE(throttle_write_iops)) < 0 ||
            (k = copy_kv(o->unified, o->n_unified, &r.unified, &r.n_unified)) < 0 ||
            (k = copy_rdma(o->rdma, o->n_rdma, &r.rdma, &r.n_rdma)) < 0)
                goto oom;
        if (o->n_hugepage_limits > 0) {
                r.hugetlb = calloc(o->n_hugepage_limits, sizeof(CgHugetlb));
                if (!r.hugetlb)
                        goto oom;
                for (size_t i = 0; i < o->n_hugepage_limits; i++) {
                        r.hugetlb[i].page_size = strdup(o->hugepage_limits[i].page_size);
                        r.hugetlb[i].limit = o->hugepage_limits[i].limit;
                        r.n_hugetlb = i + 1;
                        if (!r.hugetlb[i].page_size)
                                goto oom;
                }
        }
        if (o->n_devices > 0) {
                r.devices = calloc(o->n_devices, sizeof(CgDeviceRule));
                if (!r.devices)
                        goto oom;
                for (size_t i = 0; i < o->n_devices; i++) {
                        const OciDeviceRule *d = &o->devices[i];
                        r.devices[i] = (CgDeviceRule){
                                .allow = d->allow, .type = d->type, .major = d->major, .minor = d->minor
                        };
                        snprintf(r.devices[i].access, sizeof r.devices[i].access, "%s",
                                 *d->access ? d->access : "rwm");
                }
                r.n_devices = o->n_devices;
                r.devices_set = true;
        }
        *ret = r;
        return 0;
oom:
        cg_resources_done(&r);
        return -ENOMEM;
}

/*
 * The devices a container always has (runtime-spec config-linux.md "Default
 * Devices"), plus a pty and mknod of anything (the node is useless without
 * read/write permission), are appended after the config's own rules so a
 * "deny all" in linux.resources.devices does not take them away; so are the
 * devices listed in linux.devices.
 */
bool rt_resources_need_cgroup(const OciResources *o) {
        _cleanup_free_ char *json = NULL;
        OciResources rest;

        if (!o)
                return false;
        rest = *o;
        rest.devices = NULL;
        rest.n_devices = 0;
        /* Everything else, emitted: an empty object asks for nothing (and stays right as fields grow). */
        if (oci_resources_emit(&rest, false, &json) < 0)
                return true;
        return !streq(json, "{}");
}

int rt_resources_add_default_devices(const OciConfig *c, CgResources *r) {
        static const CgDeviceRule defaults[] = {
                { true, 'c', -1, -1, "m" }, { true, 'b', -1, -1, "m" },    { true, 'c', 1, 3, "rwm" },
                { true, 'c', 1, 5, "rwm" }, { true, 'c', 1, 7, "rwm" },    { true, 'c', 1, 8, "rwm" },
                { true, 'c', 1, 9, "rwm" }, { true, 'c', 5, 0, "rwm" },    { true, 'c', 5, 1, "rwm" },
                { true, 'c', 5, 2, "rwm" }, { true, 'c', 136, -1, "rwm" },
        };
        const OciLinux *l = c->linux_cfg;
        size_t extra = ELEMENTSOF(defaults) + (l ? l->n_devices : 0);
        CgDeviceRule *d;

        if (!r->devices_set)
                return 0; /* no rules in the config: the cgroup allows everything anyway */
        d = realloc(r->devices, sizeof *d * (r->n_devices + extra));
        if (!d)
                return -ENOMEM;
        r->devices = d;
        memcpy(d + r->n_devices, defaults, sizeof defaults);
        r->n_devices += ELEMENTSOF(defaults);
        for (size_t i = 0; l && i < l->n_devices; i++) {
                const OciDevice *dev = &l->devices[i];
                if (dev->type == 'p')
                        continue;
                d[r->n_devices++] = (CgDeviceRule){ .allow = true,
                                                    .type = dev->type == 'u' ? 'c' : dev->type,
                                                    .major = dev->major,
                                                    .minor = dev->minor,
                                                    .access = "rwm" };
        }
        return 0;
}
