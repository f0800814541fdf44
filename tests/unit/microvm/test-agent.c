/* SPDX-License-Identifier: Apache-2.0 */
/* The host side of the aula-init frame protocol. */
#include <sys/socket.h>

#include "microvm-internal.h"
#include "tap.h"

TEST(agent_spec_encoding) {
        char *argv[] = { "/bin/sh", "-c", "echo hi", NULL }, *env[] = { "A=1", "PATH=/bin", NULL };
        VmProcessSpec spec = {
                .argv = argv, .env = env, .cwd = "/tmp", .uid = 1000, .gid = 100, .hostname = "vm1"
        };
        char *data = NULL;
        size_t len;
        const char *expect[] = { "arg=/bin/sh", "arg=-c",   "arg=echo hi", "env=A=1",     "env=PATH=/bin",
                                 "cwd=/tmp",    "uid=1000", "gid=100",     "hostname=vm1" };
        size_t off = 0;

        ASSERT_OK(vm_agent_encode_spec(&spec, &data, &len));
        for (size_t i = 0; i < ELEMENTSOF(expect); i++) {
                ASSERT_STREQ(data + off, expect[i]);
                off += strlen(expect[i]) + 1;
        }
        ASSERT_EQ(off, len);
        free(data);
}

TEST(agent_spec_rejects_bad_input) {
        char *noargv[] = { NULL }, *argv[] = { "x", NULL }, *badenv[] = { "NOEQUALS", NULL };
        VmProcessSpec spec = { .argv = noargv };
        char *data = NULL;
        size_t len;

        ASSERT_ERROR(vm_agent_encode_spec(&spec, &data, &len), EINVAL);
        ASSERT_ERROR(vm_agent_encode_spec(NULL, &data, &len), EINVAL);
        spec = (VmProcessSpec){ .argv = argv, .env = badenv };
        ASSERT_ERROR(vm_agent_encode_spec(&spec, &data, &len), EINVAL);
}

TEST(agent_frames_roundtrip) {
        int sv[2];
        uint8_t type;
        char *data = NULL;
        size_t len;

        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
        ASSERT_OK(vm_agent_write_frame(sv[0], VM_AGENT_STDOUT, "hello", 5));
        ASSERT_OK(vm_agent_write_frame(sv[0], VM_AGENT_STDIN, NULL, 0));
        ASSERT_OK(vm_agent_read_frame(sv[1], &type, &data, &len));
        ASSERT_EQ(type, VM_AGENT_STDOUT);
        ASSERT_STREQ(data, "hello");
        free(data);
        ASSERT_OK(vm_agent_read_frame(sv[1], &type, &data, &len));
        ASSERT_EQ(len, 0u);
        free(data);
        ASSERT_ERROR(vm_agent_write_frame(sv[0], 'X', "", VM_AGENT_MAX_FRAME + 1), E2BIG);
        close(sv[0]);
        ASSERT_ERROR(vm_agent_read_frame(sv[1], &type, &data, &len), ECONNRESET);
        close(sv[1]);
}

TEST(agent_rejects_oversized_and_truncated_frames) {
        int sv[2];
        uint8_t type, hdr[8] = { 'E' };
        uint32_t big = VM_AGENT_MAX_FRAME + 1, ten = 10;
        char *data = NULL;
        size_t len;

        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
        memcpy(hdr + 4, &big, 4);
        ASSERT_EQ(write(sv[0], hdr, 8), 8);
        ASSERT_ERROR(vm_agent_read_frame(sv[1], &type, &data, &len), EPROTO);
        memcpy(hdr + 4, &ten, 4);
        ASSERT_EQ(write(sv[0], hdr, 8), 8);
        ASSERT_EQ(write(sv[0], "abc", 3), 3);
        close(sv[0]);
        ASSERT_ERROR(vm_agent_read_frame(sv[1], &type, &data, &len), EPROTO);
        close(sv[1]);
}
