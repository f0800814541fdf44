/* SPDX-License-Identifier: Apache-2.0 */
/* aula-init's agent protocol, run on the host with --agent-fd (no VM needed). */
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "microvm-internal.h"
#include "tap.h"

typedef struct Run {
        char out[4096], err[4096];
        int status;
        int32_t err_errno;
        char err_stage[64];
        bool hello;
} Run;

static pid_t start(int *ret_fd) {
        const char *init = getenv("AULA_INIT");
        int sv[2];
        pid_t pid;

        if (!init || access(init, X_OK) < 0)
                TEST_SKIP("AULA_INIT not set");
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                char fd[16];
                int n = dup(sv[1]); /* without CLOEXEC */
                snprintf(fd, sizeof(fd), "%d", n);
                execl(init, init, "--agent-fd", fd, (char *) NULL);
                _exit(127);
        }
        close(sv[1]);
        *ret_fd = sv[0];
        return pid;
}

static void collect(int fd, Run *r) {
        *r = (Run){ .status = -1 };
        for (;;) {
                uint8_t type;
                char *data = NULL;
                size_t len;
                if (vm_agent_read_frame(fd, &type, &data, &len) < 0)
                        break;
                if (type == VM_AGENT_HELLO)
                        r->hello = len == 4;
                else if (type == VM_AGENT_STDOUT)
                        strncat(r->out, data, sizeof(r->out) - strlen(r->out) - 1);
                else if (type == VM_AGENT_STDERR)
                        strncat(r->err, data, sizeof(r->err) - strlen(r->err) - 1);
                else if (type == VM_AGENT_EXIT && len == 4)
                        memcpy(&r->status, data, 4);
                else if (type == VM_AGENT_ERROR && len > 4) {
                        memcpy(&r->err_errno, data, 4);
                        snprintf(r->err_stage, sizeof(r->err_stage), "%s", data + 4);
                }
                free(data);
                if (type == VM_AGENT_EXIT)
                        break;
        }
}

static void send_spec(int fd, char **argv, char **env) {
        VmProcessSpec spec = { .argv = argv, .env = env, .cwd = "/", .uid = getuid(), .gid = getgid() };
        _cleanup_free_ char *data = NULL;
        size_t len;
        ASSERT_OK(vm_agent_encode_spec(&spec, &data, &len));
        ASSERT_OK(vm_agent_write_frame(fd, VM_AGENT_SPEC, data, len));
}

TEST(init_runs_process_relays_stdio_and_status) {
        char *argv[] = { "sh", "-c", "echo out:$GREETING; echo err >&2; read x; echo got:$x; exit 3", NULL };
        char *env[] = { "PATH=/usr/bin:/bin", "GREETING=hi", NULL };
        _cleanup_close_ int fd = -EBADF;
        pid_t pid = start(&fd);
        Run r;

        send_spec(fd, argv, env);
        ASSERT_OK(vm_agent_write_frame(fd, VM_AGENT_STDIN, "hello\n", 6));
        ASSERT_OK(vm_agent_write_frame(fd, VM_AGENT_STDIN, NULL, 0));
        collect(fd, &r);
        ASSERT_TRUE(r.hello);
        ASSERT_STREQ(r.out, "out:hi\ngot:hello\n");
        ASSERT_STREQ(r.err, "err\n");
        ASSERT_EQ(r.status, 3);
        ASSERT_EQ(wait_for_pid(pid), 3);
}

TEST(init_reports_exec_failure) {
        char *argv[] = { "/nonexistent/binary", NULL };
        _cleanup_close_ int fd = -EBADF;
        pid_t pid = start(&fd);
        Run r;

        send_spec(fd, argv, NULL);
        collect(fd, &r);
        ASSERT_EQ(r.err_errno, ENOENT);
        ASSERT_STREQ(r.err_stage, "exec");
        ASSERT_EQ(r.status, 127);
        (void) wait_for_pid(pid);
}

TEST(init_forwards_signals) {
        char *argv[] = { "sh", "-c", "echo ready; exec sleep 30", NULL };
        _cleanup_close_ int fd = -EBADF;
        pid_t pid = start(&fd);
        uint32_t sig = SIGTERM;
        uint8_t type;
        char *data = NULL;
        size_t len;
        Run r;

        send_spec(fd, argv, NULL);
        ASSERT_OK(vm_agent_read_frame(fd, &type, &data, &len)); /* HELLO */
        free(data);
        ASSERT_OK(vm_agent_read_frame(fd, &type, &data, &len));
        ASSERT_EQ(type, VM_AGENT_STDOUT);
        free(data);
        ASSERT_OK(vm_agent_write_frame(fd, VM_AGENT_SIGNAL, &sig, 4));
        collect(fd, &r);
        ASSERT_EQ(r.status, 128 + SIGTERM);
        (void) wait_for_pid(pid);
}

TEST(init_rejects_garbage_spec) {
        _cleanup_close_ int fd = -EBADF;
        pid_t pid = start(&fd);
        Run r;

        ASSERT_OK(vm_agent_write_frame(fd, VM_AGENT_SPEC, "no-equals-sign", 15));
        collect(fd, &r);
        ASSERT_STREQ(r.err_stage, "spec");
        ASSERT_EQ(wait_for_pid(pid), 1);
}
