/* SPDX-License-Identifier: Apache-2.0 */
/* oci_config_emit round trips, the default spec, and the state JSON. */
#include <sys/resource.h>

#include "oci-test.h"

static const char *const fixtures[] = {
        "runc-spec.json",    "runc-spec-rootless.json", "crun-spec.json",    "crun-spec-rootless.json",
        "podman-style.json", "containerd-style.json",   "kitchen-sink.json",
};

static OciConfig *parse_text(const char *text) {
        OciConfig *c = NULL;
        ASSERT_PARSE_OK(oci_config_parse, text, strlen(text), &c);
        return c;
}

TEST(round_trip_gives_equal_structures) {
        for (size_t i = 0; i < ELEMENTSOF(fixtures); i++) {
                _cleanup_free_ char *text = fixture(fixtures[i], NULL);
                _cleanup_free_ char *pretty = NULL, *compact = NULL, *again = NULL;
                _cleanup_(oci_config_freep) OciConfig *a = parse_text(text), *b = NULL, *c = NULL;

                ASSERT_OK(oci_config_emit(a, true, &pretty));
                ASSERT_OK(oci_config_emit(a, false, &compact));
                ASSERT_TRUE(strchr(pretty, '\n') != NULL);
                ASSERT_TRUE(strchr(compact, '\n') == NULL);
                b = parse_text(pretty);
                c = parse_text(compact);
                if (!oci_config_equal(a, b) || !oci_config_equal(a, c))
                        tap_fail(__FILE__, __LINE__, "%s: round trip differs", fixtures[i]);
                /* Emitting is a fixed point after one round. */
                ASSERT_OK(oci_config_emit(b, false, &again));
                ASSERT_STREQ(again, compact);
        }
}

TEST(kitchen_sink_emits_every_field_back) {
        _cleanup_free_ char *text = fixture("kitchen-sink.json", NULL), *out = NULL;
        _cleanup_(oci_config_freep) OciConfig *c = parse_text(text);
        _cleanup_(json_freep) JsonVal orig = NULL, emitted = NULL;

        ASSERT_OK(oci_config_emit(c, true, &out));
        ASSERT_OK(json_parse(text, strlen(text), &orig, NULL));
        ASSERT_OK(json_parse(out, strlen(out), &emitted, NULL));
        ASSERT_TRUE(json_equal(orig, emitted));
}

TEST(equality_sees_changes) {
        _cleanup_free_ char *text = fixture("kitchen-sink.json", NULL);
        _cleanup_(oci_config_freep) OciConfig *a = parse_text(text), *b = parse_text(text);

        ASSERT_TRUE(oci_config_equal(a, b));
        b->linux_cfg->resources->memory.limit.v++;
        ASSERT_FALSE(oci_config_equal(a, b));
        b->linux_cfg->resources->memory.limit.v--;
        b->process->capabilities.ambient = 0;
        ASSERT_FALSE(oci_config_equal(a, b));
        b->process->capabilities.ambient = a->process->capabilities.ambient;
        b->linux_cfg->seccomp->syscalls[1].args[1].op[9] = 'N';
        ASSERT_FALSE(oci_config_equal(a, b));
        b->linux_cfg->seccomp->syscalls[1].args[1].op[9] = a->linux_cfg->seccomp->syscalls[1].args[1].op[9];
        b->linux_cfg->time_offsets_boottime.set = false;
        ASSERT_FALSE(oci_config_equal(a, b));
        b->linux_cfg->time_offsets_boottime.set = true;
        b->n_hooks[OCI_HOOK_POSTSTOP] = 0;
        ASSERT_FALSE(oci_config_equal(a, b));
        b->n_hooks[OCI_HOOK_POSTSTOP] = 1;
        b->linux_cfg->resources->rdma[0].device[0] = 'X';
        ASSERT_FALSE(oci_config_equal(a, b));
        b->linux_cfg->resources->rdma[0].device[0] = 'm';
        ASSERT_TRUE(oci_config_equal(a, b));
        ASSERT_FALSE(oci_config_equal(a, NULL));
        ASSERT_TRUE(oci_config_equal(NULL, NULL));
}

TEST(emit_rejects_null) {
        char *out = NULL;
        ASSERT_ERROR(oci_config_emit(NULL, false, &out), EINVAL);
        ASSERT_NULL(out);
}

TEST(process_and_resources_emit) {
        _cleanup_free_ char *text = fixture("kitchen-sink.json", NULL), *p = NULL, *r = NULL;
        _cleanup_(oci_config_freep) OciConfig *c = parse_text(text);
        _cleanup_(oci_process_freep) OciProcess *proc = NULL;
        _cleanup_(oci_resources_freep) OciResources *res = NULL;

        ASSERT_OK(oci_process_emit(c->process, false, &p));
        ASSERT_OK(oci_resources_emit(c->linux_cfg->resources, false, &r));
        ASSERT_PARSE_OK(oci_process_parse, p, strlen(p), &proc);
        ASSERT_PARSE_OK(oci_resources_parse, r, strlen(r), &res);
        ASSERT_EQ(proc->scheduler.flags, c->process->scheduler.flags);
        ASSERT_STREQ(proc->user.username, "student");
        ASSERT_EQ(res->block_io.throttle_write_iops[0].rate, 300u);
        ASSERT_STREQ(res->unified[0].value, c->linux_cfg->resources->unified[0].value);
}

TEST(default_spec) {
        _cleanup_(oci_config_freep) OciConfig *c = NULL;
        const OciProcess *p;
        const OciLinux *l;
        static const char *const dests[] = { "/proc",       "/dev", "/dev/pts",      "/dev/shm",
                                             "/dev/mqueue", "/sys", "/sys/fs/cgroup" };
        uint64_t caps = (UINT64_C(1) << 29) | (UINT64_C(1) << 5) | (UINT64_C(1) << 10);

        ASSERT_OK(oci_config_default(false, 1000, 1000, &c));
        p = c->process;
        l = c->linux_cfg;
        ASSERT_STREQ(c->oci_version, OCI_VERSION);
        ASSERT_STREQ(c->root_path, "rootfs");
        ASSERT_TRUE(c->root_readonly);
        ASSERT_STREQ(p->args[0], "sh");
        ASSERT_TRUE(p->terminal);
        ASSERT_TRUE(p->no_new_privileges);
        ASSERT_EQ(p->capabilities.bounding, caps);
        ASSERT_EQ(p->capabilities.effective, caps);
        ASSERT_EQ(p->capabilities.permitted, caps);
        ASSERT_EQ(p->capabilities.ambient, caps);
        ASSERT_EQ(p->n_rlimits, 1u);
        ASSERT_EQ(p->rlimits[0].type, RLIMIT_NOFILE);
        ASSERT_EQ(p->rlimits[0].soft, 1024u);
        ASSERT_EQ(p->rlimits[0].hard, 1024u);
        ASSERT_EQ(c->n_mounts, ELEMENTSOF(dests));
        for (size_t i = 0; i < ELEMENTSOF(dests); i++)
                ASSERT_STREQ(c->mounts[i].destination, dests[i]);
        ASSERT_TRUE(strv_contains(c->mounts[2].options, "gid=5"));
        ASSERT_STREQ(c->mounts[5].type, "sysfs");
        ASSERT_EQ(l->n_namespaces, 6u);
        ASSERT_EQ(l->namespaces[0].type, OCI_NS_PID);
        ASSERT_EQ(l->namespaces[1].type, OCI_NS_NETWORK);
        ASSERT_EQ(l->namespaces[2].type, OCI_NS_IPC);
        ASSERT_EQ(l->namespaces[3].type, OCI_NS_UTS);
        ASSERT_EQ(l->namespaces[4].type, OCI_NS_MOUNT);
        ASSERT_EQ(l->namespaces[5].type, OCI_NS_CGROUP);
        ASSERT_NULL(oci_config_namespace(c, OCI_NS_USER));
        ASSERT_EQ(l->n_uid_mappings, 0u);
        ASSERT_NOT_NULL(l->resources);
        ASSERT_FALSE(l->resources->devices[0].allow);
        ASSERT_STREQ(l->resources->devices[0].access, "rwm");
        ASSERT_TRUE(strv_contains(l->masked_paths, "/proc/kcore"));
        ASSERT_TRUE(strv_contains(l->masked_paths, "/sys/firmware"));
        ASSERT_EQ(strv_length(l->masked_paths), 11u);
        ASSERT_TRUE(strv_contains(l->readonly_paths, "/proc/sysrq-trigger"));
        ASSERT_EQ(strv_length(l->readonly_paths), 5u);
}

TEST(default_spec_rootless) {
        _cleanup_(oci_config_freep) OciConfig *c = NULL, *back = NULL;
        _cleanup_free_ char *text = NULL;
        const OciLinux *l;

        ASSERT_OK(oci_config_default(true, 1000, 1001, &c));
        l = c->linux_cfg;
        ASSERT_NOT_NULL(oci_config_namespace(c, OCI_NS_USER));
        ASSERT_NULL(oci_config_namespace(c, OCI_NS_NETWORK));
        ASSERT_NOT_NULL(oci_config_namespace(c, OCI_NS_PID));
        ASSERT_EQ(l->n_uid_mappings, 1u);
        ASSERT_EQ(l->uid_mappings[0].container_id, 0u);
        ASSERT_EQ(l->uid_mappings[0].host_id, 1000u);
        ASSERT_EQ(l->uid_mappings[0].size, 1u);
        ASSERT_EQ(l->gid_mappings[0].host_id, 1001u);
        ASSERT_EQ(c->process->n_rlimits, 0u);
        ASSERT_NULL(l->resources);
        ASSERT_EQ(c->n_mounts, 6u);
        ASSERT_STREQ(c->mounts[5].destination, "/sys");
        ASSERT_STREQ(c->mounts[5].source, "/sys");
        ASSERT_TRUE(strv_contains(c->mounts[5].options, "rbind"));
        ASSERT_FALSE(strv_contains(c->mounts[2].options, "gid=5"));
        for (size_t i = 0; i < c->n_mounts; i++)
                ASSERT_FALSE(streq(c->mounts[i].destination, "/sys/fs/cgroup"));
        /* The largest ids round-trip too. */
        ASSERT_OK(oci_config_default(true, UINT32_MAX - 1, UINT32_MAX - 1, &back));
        ASSERT_EQ(back->linux_cfg->uid_mappings[0].host_id, UINT32_MAX - 1);
        ASSERT_OK(oci_config_emit(c, true, &text));
        ASSERT_STRCONTAINS(text, "\"hostID\": 1000");
        ASSERT_ERROR(oci_config_default(false, 0, 0, NULL), EINVAL);
}

TEST(state_round_trip) {
        _cleanup_free_ char *t = jq("{'ociVersion':'1.2.0','id':'lab-01','status':'running','pid':4422,"
                                    "'bundle':'/containers/redis','annotations':{'myKey':'myValue'}}");
        _cleanup_free_ char *out = NULL;
        _cleanup_(oci_state_freep) OciState *s = NULL, *back = NULL;

        ASSERT_PARSE_OK(oci_state_parse, t, strlen(t), &s);
        ASSERT_STREQ(s->id, "lab-01");
        ASSERT_EQ(s->status, OCI_STATUS_RUNNING);
        ASSERT_EQ(s->pid, 4422);
        ASSERT_STREQ(s->bundle, "/containers/redis");
        ASSERT_STREQ(s->annotations[0].value, "myValue");
        ASSERT_OK(oci_state_emit(s, &out));
        ASSERT_STREQ(out, t);
        ASSERT_PARSE_OK(oci_state_parse, out, strlen(out), &back);
        ASSERT_EQ(back->pid, 4422);
}

TEST(state_emit_from_runtime_struct) {
        OciKeyValue a[] = { { (char *) "org.aula.isolation", (char *) "vm" } };
        OciState s = {
                .oci_version = (char *) OCI_VERSION,
                .id = (char *) "c1",
                .status = OCI_STATUS_STOPPED,
                .bundle = (char *) "/b",
                .annotations = a,
                .n_annotations = 1,
        };
        _cleanup_free_ char *out = NULL;

        ASSERT_OK(oci_state_emit(&s, &out));
        ASSERT_STREQ(out,
                     "{\"ociVersion\":\"" OCI_VERSION
                     "\",\"id\":\"c1\",\"status\":\"stopped\",\"bundle\":\"/b\","
                     "\"annotations\":{\"org.aula.isolation\":\"vm\"}}");
        s.status = OCI_STATUS_CREATING;
        s.pid = 7;
        s.annotations = NULL;
        free(out);
        out = NULL;
        ASSERT_OK(oci_state_emit(&s, &out));
        ASSERT_STRCONTAINS(out, "\"status\":\"creating\",\"pid\":7");
}

TEST(state_invalid) {
        ASSERT_PARSE_FAILS(
                        oci_state_parse, OciState,
                        "{'ociVersion':'1.2.0','id':'x','status':'running','bundle':'/b'}", EINVAL,
                        "pid: required when status is \"running\"");
        ASSERT_PARSE_FAILS(
                        oci_state_parse, OciState,
                        "{'ociVersion':'1.2.0','id':'x','status':'zombie','pid':1,'bundle':'/b'}", EINVAL,
                        "status: unknown status \"zombie\"");
        ASSERT_PARSE_FAILS(
                        oci_state_parse, OciState,
                        "{'ociVersion':'1.2.0','id':'x','status':'stopped','bundle':'b'}", EINVAL,
                        "bundle: must be an absolute path");
        ASSERT_PARSE_FAILS(
                        oci_state_parse, OciState,
                        "{'ociVersion':'1.2.0','id':'','status':'stopped','bundle':'/b'}", EINVAL,
                        "id: must not be empty");
        ASSERT_PARSE_FAILS(
                        oci_state_parse, OciState, "{'ociVersion':'1.2.0','status':'stopped','bundle':'/b'}",
                        EINVAL, "id: required field missing");
        ASSERT_PARSE_FAILS(
                        oci_state_parse, OciState,
                        "{'ociVersion':'1.2.0','id':'x','status':'created','pid':-1,'bundle':'/b'}", EINVAL,
                        "pid: -1 out of range [0, 2147483647]");
        ASSERT_PARSE_FAILS(oci_state_parse, OciState, "[1]", EINVAL, "state: expected object, got array");
        ASSERT_NULL(oci_state_free(NULL));
}
