/* SPDX-License-Identifier: Apache-2.0 */
/* Valid config.json documents: what real tools write, and every field once. */
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "oci-test.h"

#define CAP(x) (UINT64_C(1) << (x))

static OciConfig *parse_fixture(const char *name) {
        _cleanup_free_ char *text = NULL;
        OciConfig *c = NULL;
        size_t len;

        text = fixture(name, &len);
        ASSERT_PARSE_OK(oci_config_parse, text, len, &c);
        return c;
}

TEST(runc_spec) {
        _cleanup_(oci_config_freep) OciConfig *c = parse_fixture("runc-spec.json");
        uint64_t def = CAP(29) | CAP(5) | CAP(10); /* AUDIT_WRITE, KILL, NET_BIND_SERVICE */

        ASSERT_STREQ(c->oci_version, "1.0.2-dev");
        ASSERT_STREQ(c->root_path, "rootfs");
        ASSERT_TRUE(c->root_readonly);
        ASSERT_STREQ(c->hostname, "runc");
        ASSERT_NOT_NULL(c->process);
        ASSERT_TRUE(c->process->terminal);
        ASSERT_STREQ(c->process->args[0], "sh");
        ASSERT_NULL(c->process->args[1]);
        ASSERT_STREQ(c->process->cwd, "/");
        ASSERT_EQ(c->process->capabilities.bounding, def);
        ASSERT_EQ(c->process->capabilities.ambient, def);
        ASSERT_TRUE(c->process->capabilities.has_permitted);
        ASSERT_FALSE(c->process->capabilities.has_inheritable);
        ASSERT_NULL(c->process->capabilities.unknown);
        ASSERT_EQ(c->process->n_rlimits, 1u);
        ASSERT_EQ(c->process->rlimits[0].type, RLIMIT_NOFILE);
        ASSERT_EQ(c->process->rlimits[0].soft, 1024u);
        ASSERT_TRUE(c->process->no_new_privileges);
        ASSERT_FALSE(c->process->oom_score_adj.set);
        ASSERT_EQ(c->n_mounts, 7u);
        ASSERT_STREQ(c->mounts[6].destination, "/sys/fs/cgroup");
        ASSERT_STREQ(c->mounts[6].type, "cgroup");
        ASSERT_NOT_NULL(c->linux_cfg);
        ASSERT_EQ(c->linux_cfg->n_namespaces, 5u);
        ASSERT_EQ(c->linux_cfg->namespaces[1].type, OCI_NS_NETWORK);
        ASSERT_NULL(c->linux_cfg->namespaces[1].path);
        ASSERT_NOT_NULL(c->linux_cfg->resources);
        ASSERT_EQ(c->linux_cfg->resources->n_devices, 1u);
        ASSERT_FALSE(c->linux_cfg->resources->devices[0].allow);
        ASSERT_EQ(c->linux_cfg->resources->devices[0].type, 'a');
        ASSERT_EQ(c->linux_cfg->resources->devices[0].major, -1);
        ASSERT_STREQ(c->linux_cfg->resources->devices[0].access, "rwm");
        ASSERT_EQ(strv_length(c->linux_cfg->masked_paths), 10u);
        ASSERT_STREQ(c->linux_cfg->readonly_paths[4], "/proc/sysrq-trigger");
        ASSERT_NULL(c->linux_cfg->seccomp);
        ASSERT_NOT_NULL(oci_config_namespace(c, OCI_NS_PID));
        ASSERT_NULL(oci_config_namespace(c, OCI_NS_USER));
}

TEST(runc_spec_rootless) {
        _cleanup_(oci_config_freep) OciConfig *c = parse_fixture("runc-spec-rootless.json");

        ASSERT_NOT_NULL(oci_config_namespace(c, OCI_NS_USER));
        ASSERT_NULL(oci_config_namespace(c, OCI_NS_NETWORK));
        ASSERT_EQ(c->linux_cfg->n_uid_mappings, 1u);
        ASSERT_EQ(c->linux_cfg->uid_mappings[0].size, 1u);
        ASSERT_NULL(c->linux_cfg->resources);
        ASSERT_STREQ(c->mounts[5].source, "/sys");
        ASSERT_STREQ(c->mounts[5].options[0], "rbind");
}

TEST(crun_spec) {
        _cleanup_(oci_config_freep) OciConfig *c = parse_fixture("crun-spec.json");
        _cleanup_(oci_config_freep) OciConfig *r = parse_fixture("crun-spec-rootless.json");

        ASSERT_STREQ(c->oci_version, "1.0.0");
        ASSERT_STREQ(c->hostname, "crun");
        /* "inheritable": [] is present and empty. */
        ASSERT_TRUE(c->process->capabilities.has_inheritable);
        ASSERT_EQ(c->process->capabilities.inheritable, 0u);
        ASSERT_NOT_NULL(oci_config_namespace(r, OCI_NS_USER));
}

TEST(podman_style_with_seccomp) {
        _cleanup_(oci_config_freep) OciConfig *c = parse_fixture("podman-style.json");
        const OciSeccomp *s;

        ASSERT_EQ(c->process->user.umask.set, true);
        ASSERT_EQ(c->process->user.umask.v, 022u);
        ASSERT_EQ(c->process->user.n_additional_gids, 11u);
        ASSERT_TRUE(c->process->oom_score_adj.set);
        ASSERT_EQ(c->process->oom_score_adj.v, 0);
        ASSERT_STREQ(oci_config_annotation(c, "io.container.manager"), "libpod");
        ASSERT_NULL(oci_config_annotation(c, "io.container"));
        ASSERT_STREQ(c->linux_cfg->cgroups_path, "machine.slice:libpod:8c1b5e4f2a3d");
        ASSERT_STREQ(oci_config_namespace(c, OCI_NS_NETWORK)->path, "/run/netns/netns-2b4c1f5e");
        ASSERT_TRUE(c->linux_cfg->resources->pids_limit.set);
        ASSERT_EQ(c->linux_cfg->resources->pids_limit.v, 2048);
        ASSERT_EQ(c->linux_cfg->n_sysctl, 1u);
        ASSERT_STREQ(c->linux_cfg->sysctl[0].key, "net.ipv4.ping_group_range");
        ASSERT_STREQ(c->linux_cfg->sysctl[0].value, "0 0");
        s = c->linux_cfg->seccomp;
        ASSERT_NOT_NULL(s);
        ASSERT_STREQ(s->default_action, "SCMP_ACT_ERRNO");
        ASSERT_EQ(s->default_errno_ret.v, 38u);
        ASSERT_STREQ(s->architectures[2], "SCMP_ARCH_X32");
        ASSERT_EQ(s->n_syscalls, 15u);
        ASSERT_EQ(s->syscalls[0].errno_ret.v, 1u);
        ASSERT_TRUE(strv_length(s->syscalls[1].names) > 150);
        ASSERT_EQ(s->syscalls[11].n_args, 1u);
        ASSERT_STREQ(s->syscalls[11].args[0].op, "SCMP_CMP_MASKED_EQ");
        ASSERT_EQ(s->syscalls[11].args[0].value, 2080505856u);
        ASSERT_EQ(s->syscalls[13].n_args, 2u);
        ASSERT_EQ(s->syscalls[13].args[1].index, 2u);
}

TEST(containerd_style) {
        _cleanup_(oci_config_freep) OciConfig *c = parse_fixture("containerd-style.json");

        ASSERT_EQ(c->process->user.uid, 65535u);
        ASSERT_EQ(c->process->oom_score_adj.v, -998);
        ASSERT_STREQ(c->hostname, "");
        ASSERT_EQ(c->n_annotations, 10u);
        ASSERT_STREQ(oci_config_annotation(c, "io.kubernetes.cri.container-type"), "sandbox");
        ASSERT_EQ(c->linux_cfg->resources->cpu.shares.v, 2u);
        ASSERT_FALSE(c->linux_cfg->resources->memory.limit.set);
        ASSERT_STREQ(c->linux_cfg->seccomp->syscalls[1].args[0].op, "SCMP_CMP_MASKED_EQ");
        ASSERT_FALSE(c->linux_cfg->seccomp->syscalls[1].args[0].value_two != 0);
}

TEST(kitchen_sink_process) {
        _cleanup_(oci_config_freep) OciConfig *c = parse_fixture("kitchen-sink.json");
        const OciProcess *p = c->process;

        ASSERT_EQ(p->console_height, 25u);
        ASSERT_EQ(p->console_width, 80u);
        ASSERT_EQ(p->user.additional_gids[2], UINT32_MAX);
        ASSERT_STREQ(p->user.username, "student");
        ASSERT_EQ(p->capabilities.bounding & CAP(38), CAP(38)); /* CAP_PERFMON */
        ASSERT_EQ(p->capabilities.bounding & CAP(39), CAP(39)); /* CAP_BPF */
        ASSERT_EQ(p->capabilities.bounding & CAP(40), CAP(40)); /* CAP_CHECKPOINT_RESTORE */
        ASSERT_EQ(p->capabilities.effective, CAP(5));
        ASSERT_EQ(p->rlimits[1].hard, UINT64_MAX);
        ASSERT_EQ(p->rlimits[2].type, RLIMIT_RTTIME);
        ASSERT_EQ(p->oom_score_adj.v, -1000);
        ASSERT_TRUE(p->scheduler.set);
        ASSERT_EQ(p->scheduler.policy, 6); /* SCHED_DEADLINE */
        ASSERT_EQ(p->scheduler.nice, -20);
        ASSERT_EQ(p->scheduler.priority, 99);
        ASSERT_EQ(p->scheduler.flags, 0x41u);
        ASSERT_EQ(p->scheduler.period, 30000000u);
        ASSERT_TRUE(p->io_priority.set);
        ASSERT_EQ(p->io_priority.class, 3);
        ASSERT_EQ(p->io_priority.priority, 7);
        ASSERT_STREQ(p->apparmor_profile, "aula-default");
        ASSERT_STREQ(p->exec_cpu_affinity_final, "0-3,7");
        ASSERT_EQ(c->n_hooks[OCI_HOOK_PRESTART], 1u);
        ASSERT_STREQ(c->hooks[OCI_HOOK_PRESTART][0].args[1], "arg1");
        ASSERT_EQ(c->hooks[OCI_HOOK_CREATE_RUNTIME][0].timeout.v, 10);
        ASSERT_FALSE(c->hooks[OCI_HOOK_CREATE_CONTAINER][0].timeout.set);
        ASSERT_EQ(c->hooks[OCI_HOOK_POSTSTART][0].timeout.v, INT32_MAX);
        ASSERT_STREQ(c->hooks[OCI_HOOK_POSTSTOP][0].path, "/usr/sbin/cleanup.sh");
        ASSERT_STREQ(oci_config_annotation(c, "com.example.key2"), "");
        ASSERT_STREQ(c->domainname, "school.example");
}

TEST(kitchen_sink_linux) {
        _cleanup_(oci_config_freep) OciConfig *c = parse_fixture("kitchen-sink.json");
        const OciLinux *l = c->linux_cfg;

        ASSERT_EQ(l->n_namespaces, 8u);
        ASSERT_EQ(l->namespaces[7].type, OCI_NS_TIME);
        ASSERT_EQ(l->uid_mappings[0].host_id, 100000u);
        ASSERT_TRUE(l->time_offsets_monotonic.set);
        ASSERT_EQ(l->time_offsets_monotonic.secs, -86400);
        ASSERT_EQ(l->time_offsets_monotonic.nanosecs, 999999999u);
        ASSERT_EQ(l->time_offsets_boottime.secs, 172800);
        ASSERT_EQ(l->n_devices, 3u);
        ASSERT_EQ(l->devices[0].type, 'c');
        ASSERT_EQ(l->devices[0].major, 10);
        ASSERT_EQ(l->devices[0].file_mode.v, 0666u);
        ASSERT_FALSE(l->devices[1].uid.set);
        ASSERT_EQ(l->devices[2].type, 'p');
        ASSERT_EQ(l->devices[2].major, -1);
        ASSERT_STREQ(l->rootfs_propagation, "rslave");
        ASSERT_STREQ(l->sysctl[1].key, "net/core/somaxconn");
        ASSERT_STREQ(l->mount_label, "system_u:object_r:container_file_t:s0:c1,c2");
        ASSERT_TRUE(l->personality.set);
        ASSERT_STREQ(l->personality.domain, "LINUX32");
        ASSERT_NOT_NULL(l->personality.flags);
        ASSERT_TRUE(l->intel_rdt_set);
        ASSERT_STREQ(l->intel_rdt_clos_id, "guaranteed_group");
        ASSERT_STREQ(l->intel_rdt_mem_bw_schema, "MB:0=20;1=70");
        ASSERT_TRUE(l->intel_rdt_enable_mbm);
        ASSERT_STREQ(l->seccomp->listener_path, "/run/seccomp-agent.sock");
        ASSERT_STREQ(l->seccomp->flags[1], "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
        ASSERT_STREQ(l->seccomp->syscalls[2].action, "SCMP_ACT_NOTIFY");
        ASSERT_EQ(l->seccomp->syscalls[1].args[1].value_two, 8u);
        ASSERT_EQ(c->mounts[1].n_uid_mappings, 1u);
        ASSERT_EQ(c->mounts[1].gid_mappings[0].size, 65536u);
}

TEST(kitchen_sink_resources) {
        _cleanup_(oci_config_freep) OciConfig *c = parse_fixture("kitchen-sink.json");
        const OciResources *r = c->linux_cfg->resources;

        ASSERT_EQ(r->n_devices, 4u);
        ASSERT_TRUE(r->devices[1].allow);
        ASSERT_EQ(r->devices[1].minor, 229);
        ASSERT_EQ(r->devices[2].minor, -1);
        ASSERT_EQ(r->devices[3].major, -1);
        ASSERT_STREQ(r->devices[3].access, "m");
        ASSERT_EQ(r->memory.limit.v, 536870912);
        ASSERT_EQ(r->memory.swap.v, -1);
        ASSERT_TRUE(r->memory.kernel_tcp.set);
        ASSERT_EQ(r->memory.swappiness.v, 100u);
        ASSERT_TRUE(r->memory.disable_oom_killer.set);
        ASSERT_FALSE(r->memory.disable_oom_killer.v);
        ASSERT_TRUE(r->memory.check_before_update.v);
        ASSERT_EQ(r->cpu.burst.v, 1000000u);
        ASSERT_EQ(r->cpu.realtime_runtime.v, 950000);
        ASSERT_STREQ(r->cpu.mems, "0-7");
        ASSERT_EQ(r->cpu.idle.v, 1);
        ASSERT_EQ(r->pids_limit.v, 32771);
        ASSERT_EQ(r->block_io.weight.v, 10u);
        ASSERT_EQ(r->block_io.n_weight_device, 2u);
        ASSERT_FALSE(r->block_io.weight_device[1].leaf_weight.set);
        ASSERT_EQ(r->block_io.throttle_write_iops[0].rate, 300u);
        ASSERT_EQ(r->block_io.n_throttle_read_bps, 1u);
        ASSERT_STREQ(r->hugepage_limits[1].page_size, "64KB");
        ASSERT_EQ(r->network.class_id.v, 1048577u);
        ASSERT_STREQ(r->network.priorities[1].name, "eth1");
        ASSERT_EQ(r->n_rdma, 2u);
        ASSERT_STREQ(r->rdma[1].device, "mlx4_0");
        ASSERT_FALSE(r->rdma[1].hca_handles.set);
        ASSERT_EQ(r->rdma[1].hca_objects.v, 1000u);
        ASSERT_EQ(r->n_unified, 2u);
        ASSERT_STREQ(r->unified[1].key, "hugetlb.1GB.max");
}

TEST(relative_mount_destination_is_rooted) {
        _cleanup_free_ char *t = jq("{'ociVersion':'1.0.0','root':{'path':'r'},"
                                    "'mounts':[{'destination':'data/x','type':'tmpfs'}]}");
        _cleanup_(oci_config_freep) OciConfig *c = NULL;

        ASSERT_PARSE_OK(oci_config_parse, t, strlen(t), &c);
        ASSERT_STREQ(c->mounts[0].destination, "/data/x");
        ASSERT_NULL(c->mounts[0].source);
}

TEST(null_and_unknown_fields_are_ignored) {
        _cleanup_free_ char *t = jq("{'ociVersion':'1.2.0','root':{'path':'r'},'process':null,'linux':{"
                                    "'resources':null,'futureField':{'x':[1,2]},'seccomp':null},"
                                    "'hostname':null,'vm':{'hypervisor':{}}}");
        _cleanup_(oci_config_freep) OciConfig *c = NULL;

        ASSERT_PARSE_OK(oci_config_parse, t, strlen(t), &c);
        ASSERT_NULL(c->process);
        ASSERT_NULL(c->hostname);
        ASSERT_NOT_NULL(c->linux_cfg);
        ASSERT_NULL(c->linux_cfg->resources);
}

TEST(duplicate_annotation_keys_last_wins) {
        _cleanup_free_ char *t = jq("{'ociVersion':'1.2.0','root':{'path':'r'},"
                                    "'annotations':{'a':'1','b':'2','a':'3'}}");
        _cleanup_(oci_config_freep) OciConfig *c = NULL;

        ASSERT_PARSE_OK(oci_config_parse, t, strlen(t), &c);
        ASSERT_EQ(c->n_annotations, 2u);
        ASSERT_STREQ(c->annotations[0].key, "b");
        ASSERT_STREQ(oci_config_annotation(c, "a"), "3");
}

TEST(unknown_capabilities_are_kept_for_warnings) {
        _cleanup_free_ char *t = jq(
                        "{'ociVersion':'1.2.0','root':{'path':'r'},'process':{'cwd':'/',"
                        "'capabilities':{'bounding':['CAP_KILL','CAP_FUTURE_THING','CAP_FUTURE_THING'],"
                        "'effective':['CAP_FUTURE_THING','CAP_NEXT']}}}");
        _cleanup_(oci_config_freep) OciConfig *c = NULL;

        ASSERT_PARSE_OK(oci_config_parse, t, strlen(t), &c);
        ASSERT_EQ(c->process->capabilities.bounding, CAP(5));
        ASSERT_EQ(c->process->capabilities.effective, 0u);
        ASSERT_TRUE(c->process->capabilities.has_effective);
        ASSERT_EQ(strv_length(c->process->capabilities.unknown), 2u);
        ASSERT_STREQ(c->process->capabilities.unknown[0], "CAP_FUTURE_THING");
        ASSERT_STREQ(c->process->capabilities.unknown[1], "CAP_NEXT");
}

TEST(process_json) {
        _cleanup_free_ char *t = jq("{'args':['ls','-l'],'cwd':'/tmp','env':['A=1'],'terminal':false}");
        _cleanup_(oci_process_freep) OciProcess *p = NULL;

        ASSERT_PARSE_OK(oci_process_parse, t, strlen(t), &p);
        ASSERT_STREQ(p->args[1], "-l");
        ASSERT_STREQ(p->cwd, "/tmp");
        ASSERT_FALSE(p->terminal);
}

TEST(resources_json) {
        _cleanup_free_ char *t = jq("{'memory':{'limit':-1},'pids':{'limit':0},'cpu':{'cpus':'0-1'}}");
        _cleanup_(oci_resources_freep) OciResources *r = NULL;

        ASSERT_PARSE_OK(oci_resources_parse, t, strlen(t), &r);
        ASSERT_EQ(r->memory.limit.v, -1);
        ASSERT_TRUE(r->pids_limit.set);
        ASSERT_EQ(r->pids_limit.v, 0);
        ASSERT_STREQ(r->cpu.cpus, "0-1");
}

TEST(name_tables) {
        ASSERT_EQ(oci_capability_from_string("CAP_CHOWN"), 0);
        ASSERT_EQ(oci_capability_from_string("CAP_SYS_ADMIN"), 21);
        ASSERT_EQ(oci_capability_from_string("CAP_PERFMON"), 38);
        ASSERT_EQ(oci_capability_from_string("CAP_BPF"), 39);
        ASSERT_EQ(oci_capability_from_string("CAP_CHECKPOINT_RESTORE"), 40);
        ASSERT_ERROR(oci_capability_from_string("CAP_NOPE"), EINVAL);
        ASSERT_ERROR(oci_capability_from_string(NULL), EINVAL);
        ASSERT_STREQ(oci_capability_to_string(13), "CAP_NET_RAW");
        ASSERT_NULL(oci_capability_to_string(41));
        ASSERT_NULL(oci_capability_to_string(-1));
        for (int i = 0; i < RLIMIT_NLIMITS; i++)
                ASSERT_EQ(oci_rlimit_from_string(oci_rlimit_to_string(i)), i);
        ASSERT_EQ(oci_rlimit_from_string("RLIMIT_NOFILE"), RLIMIT_NOFILE);
        ASSERT_ERROR(oci_rlimit_from_string("RLIMIT_FOO"), EINVAL);
        ASSERT_NULL(oci_rlimit_to_string(RLIMIT_NLIMITS));
        for (int i = 0; i < _OCI_NS_MAX; i++)
                ASSERT_EQ(oci_namespace_type_from_string(oci_namespace_type_to_string(i)), i);
        ASSERT_ERROR(oci_namespace_type_from_string("net"), EINVAL);
        ASSERT_EQ(oci_namespace_clone_flag(OCI_NS_PID), (unsigned long) CLONE_NEWPID);
        ASSERT_EQ(oci_namespace_clone_flag(OCI_NS_NETWORK), (unsigned long) CLONE_NEWNET);
        ASSERT_EQ(oci_namespace_clone_flag(OCI_NS_MOUNT), (unsigned long) CLONE_NEWNS);
        ASSERT_EQ(oci_namespace_clone_flag(OCI_NS_USER), (unsigned long) CLONE_NEWUSER);
        ASSERT_EQ(oci_namespace_clone_flag(OCI_NS_CGROUP), (unsigned long) CLONE_NEWCGROUP);
        ASSERT_EQ(oci_namespace_clone_flag(OCI_NS_TIME), 0x80ul);
        ASSERT_EQ(oci_namespace_clone_flag(_OCI_NS_MAX), 0ul);
        ASSERT_STREQ(oci_hook_kind_to_string(OCI_HOOK_CREATE_RUNTIME), "createRuntime");
        ASSERT_STREQ(oci_hook_kind_to_string(OCI_HOOK_POSTSTOP), "poststop");
        ASSERT_NULL(oci_hook_kind_to_string(_OCI_HOOK_MAX));
        ASSERT_EQ(oci_status_from_string("paused"), OCI_STATUS_PAUSED);
        ASSERT_STREQ(oci_status_to_string(OCI_STATUS_CREATING), "creating");
        ASSERT_ERROR(oci_status_from_string("dead"), EINVAL);
}

TEST(lookups_tolerate_null) {
        ASSERT_NULL(oci_config_namespace(NULL, OCI_NS_PID));
        ASSERT_NULL(oci_config_annotation(NULL, "x"));
        ASSERT_NULL(oci_config_free(NULL));
        ASSERT_NULL(oci_process_free(NULL));
        ASSERT_NULL(oci_resources_free(NULL));
}
