/* SPDX-License-Identifier: Apache-2.0 */
/* run.json, the file libaula-shim writes for aula-shim: every field and every mistake. */
#include <signal.h>

#include "shim-server.h"
#include "tap.h"

static int load(const char *text, ShimRunConfig *c, char **err) {
        char path[] = "/tmp/aula-shim-runconfig.XXXXXX";
        int fd = mkstemp(path), r;

        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(loop_write(fd, text, strlen(text)));
        close(fd);
        r = shim_run_config_load(path, c, err);
        unlink(path);
        return r;
}

TEST(container_config) {
        ShimRunConfig c = {};
        _cleanup_free_ char *err = NULL;

        ASSERT_OK(load("{\"name\":\"lab1/ana\",\"isolation\":\"container\",\"data_dir\":\"/d\",\"start\":true,"
                       "\"stop_signal\":\"SIGINT\",\"stop_timeout_ms\":2500,\"log_max\":4096,"
                       "\"reap\":[\"/usr/bin/aula\",\"_reap\",\"lab1/ana\"],"
                       "\"container\":{\"id\":\"lab1.ana\",\"bundle\":\"/b\",\"state_root\":\"/r\",\"cgroup\":\"/aula/lab1/ana\"}}",
                       &c, &err));
        ASSERT_STREQ(c.name, "lab1/ana");
        ASSERT_TRUE(c.start);
        ASSERT_EQ(c.stop_signal, SIGINT);
        ASSERT_EQ(c.stop_timeout_usec, 2500000u);
        ASSERT_EQ(c.log_max, 4096u);
        ASSERT_EQ(strv_length(c.reap), 3u);
        ASSERT_STREQ(c.container_id, "lab1.ana");
        ASSERT_STREQ(c.cgroup, "/aula/lab1/ana");
        shim_run_config_done(&c);
}

TEST(defaults) {
        ShimRunConfig c = {};

        ASSERT_OK(load("{\"name\":\"a\",\"isolation\":\"container\",\"data_dir\":\"/d\","
                       "\"container\":{\"id\":\"a\",\"bundle\":\"/b\",\"state_root\":\"/r\"}}",
                       &c, NULL));
        ASSERT_FALSE(c.start);
        ASSERT_EQ(c.stop_signal, SIGTERM);
        ASSERT_EQ(c.stop_timeout_usec, 10000000u);
        ASSERT_EQ(c.log_max, 1u << 20);
        ASSERT_NULL(c.cgroup);
        shim_run_config_done(&c);
}

TEST(vm_config) {
        ShimRunConfig c = {};
        _cleanup_free_ char *err = NULL;

        ASSERT_OK(load("{\"name\":\"v\",\"isolation\":\"vm\",\"data_dir\":\"/d\",\"vm\":{\"kernel\":\"/k\","
                       "\"initrd\":\"/i\",\"cmdline\":\"console=ttyS0\",\"vsock\":\"/run/v.sock\",\"memory\":134217728,"
                       "\"vcpus\":2,\"disks\":[{\"path\":\"/root.sqfs\",\"read_only\":true},{\"path\":\"/scratch\"}],"
                       "\"args\":[\"/bin/sh\"],\"env\":[\"A=1\"],\"uid\":1000,\"gid\":1000,\"hostname\":\"v\"}}",
                       &c, &err));
        ASSERT_EQ(c.n_disks, 2u);
        ASSERT_TRUE(c.disks[0].read_only);
        ASSERT_FALSE(c.disks[1].read_only);
        ASSERT_EQ(c.vcpus, 2u);
        ASSERT_EQ(c.uid, 1000u);
        ASSERT_EQ(c.memory, 134217728u);
        shim_run_config_done(&c);
}

static void expect_error(const char *text, const char *what) {
        ShimRunConfig c = {};
        _cleanup_free_ char *err = NULL;

        ASSERT_ERROR(load(text, &c, &err), EINVAL);
        ASSERT_STRCONTAINS(err, what);
}

TEST(bad_configs_name_the_field) {
        expect_error("{", "");
        expect_error("{\"isolation\":\"container\",\"data_dir\":\"/d\"}", "name: missing");
        expect_error("{\"name\":1,\"isolation\":\"container\",\"data_dir\":\"/d\"}", "name: expected string");
        expect_error("{\"name\":\"a\",\"isolation\":\"kvm\",\"data_dir\":\"/d\"}", "unknown isolation 'kvm'");
        expect_error("{\"name\":\"a\",\"isolation\":\"container\",\"data_dir\":\"/d\"}", "container: missing");
        expect_error("{\"name\":\"a\",\"isolation\":\"container\",\"data_dir\":\"/d\",\"container\":{\"id\":\"a\"}}",
                     "container.bundle: missing");
        expect_error("{\"name\":\"a\",\"isolation\":\"container\",\"data_dir\":\"/d\",\"stop_signal\":\"SIGNOPE\","
                     "\"container\":{\"id\":\"a\",\"bundle\":\"/b\",\"state_root\":\"/r\"}}",
                     "unknown signal 'SIGNOPE'");
        expect_error("{\"name\":\"a\",\"isolation\":\"container\",\"data_dir\":\"/d\",\"stop_timeout_ms\":-1,"
                     "\"container\":{\"id\":\"a\",\"bundle\":\"/b\",\"state_root\":\"/r\"}}",
                     "stop_timeout_ms");
        expect_error("{\"name\":\"v\",\"isolation\":\"vm\",\"data_dir\":\"/d\",\"vm\":{\"kernel\":\"/k\","
                     "\"vsock\":\"/s\"}}",
                     "vm.args: must not be empty");
        expect_error("{\"name\":\"v\",\"isolation\":\"vm\",\"data_dir\":\"/d\",\"vm\":{\"kernel\":\"/k\",\"vsock\":\"/s\","
                     "\"args\":[\"x\"],\"disks\":[{\"read_only\":true}]}}",
                     "vm.disks[0].path: missing");
}

TEST(missing_file) {
        ShimRunConfig c = {};
        ASSERT_ERROR(shim_run_config_load("/nonexistent/run.json", &c, NULL), ENOENT);
}
