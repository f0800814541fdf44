/* SPDX-License-Identifier: Apache-2.0 */
#include <endian.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "cgroups.h"
#include "microvm.h"
#include "shim-clients.h"
#include "shim-server.h"

/*
 * The microVM backend: a VMM child (libaula-microvm, one VM per process) boots
 * the guest kernel with aula-init as PID 1; aula-init connects back over
 * virtio-vsock, which the VMM turns into a connection on the unix socket
 * "<vsock>_1024" we listen on (docs/microvm.md). The agent protocol then
 * carries the instance's main process: we send its spec, it sends stdout and
 * stderr (our console and log ring), takes stdin and signals, and reports the
 * exit status before the guest powers off.
 *
 *   shim ── fork ──> VMM child (instance cgroup) ── KVM ──> guest: aula-init ─> process
 *     └── <vsock>_1024 <──────── vsock connection ──────────────┘
 *
 * With run.json's "agent" set (tests, hosts without hardware KVM), no VM is
 * booted: aula-init runs on the host with --agent-fd on one end of a
 * socketpair, and everything above the transport is the same.
 *
 * aula-init runs one process per VM, so exec is not available here.
 */

typedef struct Vmb {
        pid_t vmm_pid; /* the VMM child, or the host-side agent in test mode */
        int listen_fd;
        ShimWatch listen_watch;
        int agent_fd;
        ShimWatch agent_watch;
        uint8_t *buf;
        size_t len, cap;
        bool spec_sent;
        bool exit_seen;
        int exit_code;
        bool vmm_gone;
        int vmm_status;
        CgManager *cg;
} Vmb;

static Vmb *vb(Shim *s) {
        return s->backend_data;
}

/* ------------------------------------------------------------- the VMM child */

static int vmm_exit_code(const VmExit *e) {
        switch (e->reason) {
        case VM_EXIT_POWEROFF:
        case VM_EXIT_REBOOT:
                return e->status;
        case VM_EXIT_STOPPED:
                return 0;
        case VM_EXIT_TIMEOUT:
                return 124;
        default:
                return 123;
        }
}

_noreturn_ static void vmm_main(Shim *s) {
        ShimRunConfig *c = &s->cfg;
        _cleanup_free_ char *console = path_join(c->data_dir, "vm-console.log"), *err = NULL;
        VmConfig vc = {
                .kernel = c->kernel,
                .initrd = c->initrd,
                .cmdline = c->cmdline ?: "console=ttyS0 reboot=k panic=-1 quiet",
                .memory = c->memory ?: 256ULL << 20,
                .vcpus = c->vcpus ?: 1,
                .vsock_cid = 3,
                .vsock_socket = c->vsock,
                .rng = true,
                .console = console ? VM_CONSOLE_FILE : VM_CONSOLE_NONE,
                .console_path = console,
                .seccomp_caller = true,
        };
        VmExit e = {};
        Vm *vm = NULL;
        int r;

        for (size_t i = 0; i < c->n_disks && i < VM_MAX_DISKS; i++)
                vc.disks[vc.n_disks++] = (VmDisk){ .path = c->disks[i].path,
                                                   .read_only = c->disks[i].read_only };
        if (c->tap)
                vc.nets[vc.n_nets++] = (VmNet){ .tap = c->tap };
        r = vm_new(&vc, &vm, &err);
        if (r < 0) {
                log_error_errno(r, "Cannot start the VM: %s", err ?: strerror(-r));
                _exit(125);
        }
        r = vm_handle_signals(vm, NULL);
        if (r >= 0)
                r = vm_run(vm, &e);
        if (r < 0) {
                log_error_errno(r, "The VMM failed: %m");
                _exit(125);
        }
        if (e.reason == VM_EXIT_CRASH || e.reason == VM_EXIT_TIMEOUT)
                log_error("VM %s: %s: %s", c->name, vm_exit_reason_to_string(e.reason), e.message);
        _exit(vmm_exit_code(&e));
}

/* ------------------------------------------------------------------ frames */

static void finish(Shim *s) {
        Vmb *v = vb(s);
        const char *reason;
        int code;

        /* The process's status once the VM is gone; without one, how the VMM ended. */
        if (!v->vmm_gone || s->state == SHIM_STATE_STOPPED)
                return;
        if (v->exit_seen)
                code = v->exit_code;
        else if (WIFSIGNALED(v->vmm_status))
                code = 128 + WTERMSIG(v->vmm_status);
        else
                code = exit_status_from_wait(v->vmm_status);
        reason = s->stop_requested ? "stopped" : (!v->exit_seen && code >= 128) ? "killed" : "exited";
        shim_main_exited(s, code, reason);
}

static void agent_close(Shim *s) {
        Vmb *v = vb(s);

        if (v->agent_fd < 0)
                return;
        shim_watch_remove(s, &v->agent_watch);
        v->agent_fd = safe_close(v->agent_fd);
}

static int send_spec(Shim *s) {
        ShimRunConfig *c = &s->cfg;
        _cleanup_free_ char *data = NULL;
        VmProcessSpec spec = {
                .argv = c->args,
                .env = c->env,
                .cwd = c->cwd ?: "/",
                .uid = c->uid,
                .gid = c->gid,
                .hostname = c->hostname,
        };
        size_t len;
        int r;

        r = vm_agent_encode_spec(&spec, &data, &len);
        if (r >= 0)
                r = vm_agent_write_frame(vb(s)->agent_fd, VM_AGENT_SPEC, data, len);
        return r;
}

static void handle_frame(Shim *s, uint8_t type, const uint8_t *data, uint32_t len) {
        Vmb *v = vb(s);
        int32_t i;

        switch (type) {
        case VM_AGENT_HELLO:
                if (v->spec_sent)
                        break;
                if (send_spec(s) < 0) {
                        shim_create_failed(s, -EIO, "cannot send the process to the guest agent");
                        return;
                }
                v->spec_sent = true;
                s->main_pid = v->vmm_pid;
                shim_started(s);
                break;
        case VM_AGENT_STDOUT:
        case VM_AGENT_STDERR:
                shim_console_output(s, data, len);
                break;
        case VM_AGENT_EXIT:
                if (len >= 4) {
                        memcpy(&i, data, 4);
                        v->exit_code = (int) le32toh((uint32_t) i);
                        v->exit_seen = true;
                }
                break;
        case VM_AGENT_ERROR:
                if (len > 4) {
                        char line[512];
                        int32_t e;
                        memcpy(&e, data, 4);
                        /* "stage\0message\0" after the errno */
                        const char *stage = (const char *) data + 4;
                        const char *msg = memchr(stage, 0, len - 4) ? stage + strlen(stage) + 1 : "";
                        if ((const uint8_t *) msg >= data + len)
                                msg = "";
                        int n = snprintf(
                                        line, sizeof line, "aula-init: %s: %.*s\r\n", stage,
                                        (int) (data + len - (const uint8_t *) msg), msg);
                        shim_console_output(s, line, (size_t) MIN(n, (int) sizeof line - 1));
                        log_error("guest agent: %s: %s (errno %d)", stage, msg, (int) le32toh((uint32_t) e));
                }
                break;
        default:
                break;
        }
}

/* Read and handle what the agent sent; false when nothing is to be had now (or ever). */
static bool agent_read(Shim *s) {
        Vmb *v = vb(s);
        ssize_t n;

        if (v->cap - v->len < 65536) {
                uint8_t *nb = realloc(v->buf, v->cap + 65536 + 8);
                if (!nb)
                        return false;
                v->buf = nb;
                v->cap += 65536 + 8;
        }
        n = read(v->agent_fd, v->buf + v->len, v->cap - v->len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return false;
        if (n <= 0) {
                agent_close(s);
                finish(s);
                return false;
        }
        v->len += (size_t) n;
        /* Frames: { u8 type; u8 pad[3]; u32 len (LE); data[len] }. */
        size_t off = 0;
        while (v->len - off >= 8) {
                uint32_t flen;
                memcpy(&flen, v->buf + off + 4, 4);
                flen = le32toh(flen);
                if (flen > VM_AGENT_MAX_FRAME) {
                        log_error("guest agent sent a frame of %u bytes; closing", flen);
                        agent_close(s);
                        return false;
                }
                if (v->len - off - 8 < flen)
                        break;
                handle_frame(s, v->buf[off], v->buf + off + 8, flen);
                off += 8 + flen;
                if (v->agent_fd < 0)
                        return false;
        }
        memmove(v->buf, v->buf + off, v->len - off);
        v->len -= off;
        return true;
}

static void on_agent(Shim *s, ShimWatch *w, uint32_t events) {
        (void) agent_read(s);
}

static void on_listen(Shim *s, ShimWatch *w, uint32_t events) {
        Vmb *v = vb(s);
        int fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (fd < 0)
                return;
        if (v->agent_fd >= 0) {
                safe_close(fd); /* one agent per VM */
                return;
        }
        v->agent_fd = fd;
        if (shim_watch_add(s, &v->agent_watch, fd, EPOLLIN, on_agent, NULL) < 0)
                v->agent_fd = safe_close(v->agent_fd);
}

static void on_vmm_exit(Shim *s, pid_t pid, int status, void *userdata) {
        Vmb *v = vb(s);

        v->vmm_gone = true;
        v->vmm_status = status;
        if (!v->spec_sent && s->state == SHIM_STATE_CREATING) {
                char msg[128];
                snprintf(msg, sizeof msg,
                         "the VM ended before its agent connected (exit status %d; see vm-console.log)",
                         exit_status_from_wait(status));
                shim_create_failed(s, -ECHILD, msg);
                return;
        }
        /* Take what the agent still had to say, then report. Something it started may still hold
         * the connection (an agent on the host): EOF may never come. */
        while (v->agent_fd >= 0 && agent_read(s))
                ;
        agent_close(s);
        finish(s);
}

/* ----------------------------------------------------------------- backend */

static int start_test_agent(Shim *s) {
        Vmb *v = vb(s);
        int sv[2];
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                safe_close(sv[0]);
                safe_close(sv[1]);
                return -errno;
        }
        if (pid == 0) {
                sigset_t all;
                sigfillset(&all);
                (void) sigprocmask(SIG_UNBLOCK, &all, NULL);
                safe_close(s->lock_fd);
                safe_close(s->keeper_pipe);
                if (dup2(sv[1], 3) < 0)
                        _exit(127);
                if (v->cg)
                        (void) cg_manager_enter(v->cg, getpid());
                execl(s->cfg.agent, "aula-init", "--agent-fd", "3", (char *) NULL);
                _exit(127);
        }
        safe_close(sv[1]);
        v->vmm_pid = pid;
        v->agent_fd = sv[0];
        (void) fcntl(v->agent_fd, F_SETFL, fcntl(v->agent_fd, F_GETFL) | O_NONBLOCK);
        return shim_watch_add(s, &v->agent_watch, v->agent_fd, EPOLLIN, on_agent, NULL);
}

static int start_vmm(Shim *s) {
        Vmb *v = vb(s);
        _cleanup_free_ char *path = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        pid_t pid;

        /* Relative to the run directory (our cwd), like the VMM's own view of it. */
        if (xasprintf(&path, "%s_%u", s->cfg.vsock, VM_AGENT_PORT) < 0)
                return -ENOMEM;
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        (void) unlink(path);
        v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (v->listen_fd < 0)
                return -errno;
        if (bind(v->listen_fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(v->listen_fd, 4) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sigset_t all;
                sigfillset(&all);
                (void) sigprocmask(SIG_UNBLOCK, &all, NULL);
                safe_close(s->lock_fd);
                safe_close(s->keeper_pipe);
                safe_close(s->listen_fd);
                safe_close(v->listen_fd);
                if (v->cg)
                        (void) cg_manager_enter(v->cg, getpid());
                vmm_main(s);
        }
        v->vmm_pid = pid;
        return shim_watch_add(s, &v->listen_watch, v->listen_fd, EPOLLIN, on_listen, NULL);
}

static int make_cgroup(Shim *s) {
        Vmb *v = vb(s);
        _cleanup_free_ char *saved = NULL;
        int r;

        if (!s->cfg.cgroup)
                return 0;
        r = cg_manager_new(s->cfg.cgroup, &v->cg);
        if (r >= 0)
                r = cg_manager_create(v->cg);
        if (r >= 0)
                r = cg_manager_save(v->cg, &saved);
        /* For the cleanup after us: which directories this run made. */
        if (r >= 0)
                r = write_file_atomic_at(AT_FDCWD, "vm-cgroup", saved, strlen(saved), 0600);
        if (r < 0)
                return log_error_errno(r, "Cannot create the VM's cgroup %s: %m", s->cfg.cgroup);
        return 0;
}

static int mvm_create(Shim *s, bool start) {
        Vmb *v = calloc(1, sizeof *v);
        int r;

        if (!v)
                return -ENOMEM;
        v->listen_fd = v->agent_fd = -EBADF;
        s->backend_data = v;
        r = make_cgroup(s);
        if (r < 0)
                return r;
        r = s->cfg.agent ? start_test_agent(s) : start_vmm(s);
        if (r < 0)
                return log_error_errno(r, "Cannot start the VM of %s: %m", s->cfg.name);
        return shim_child_watch(s, v->vmm_pid, on_vmm_exit, NULL);
}

static int mvm_start(Shim *s) {
        return 0; /* the process starts once the agent says hello */
}

static int mvm_kill(Shim *s, int sig, bool all) {
        Vmb *v = vb(s);
        uint32_t le = htole32((uint32_t) sig);

        if ((all || sig == SIGKILL) && v->vmm_pid > 0) {
                /* Everything of a VM instance is its VMM (and, with an agent on the host, what it ran). */
                if (v->cg)
                        (void) cg_manager_kill(v->cg, SIGKILL);
                if (kill(v->vmm_pid, SIGKILL) < 0 && errno != ESRCH)
                        return -errno;
                return 0;
        }
        if (v->agent_fd >= 0 && v->spec_sent)
                return vm_agent_write_frame(v->agent_fd, VM_AGENT_SIGNAL, &le, sizeof le);
        return v->vmm_pid > 0 ? RET_NERRNO(kill(v->vmm_pid, SIGKILL)) : -ESRCH;
}

static int mvm_exec(Shim *s, ShimClient *c, ShimExecRequest *req) {
        return log_error_errno(
                        SYNTHETIC_ERRNO(EOPNOTSUPP),
                        "exec is not available in VM instances: aula-init runs one process (use the console)");
}

static int read_u64(const char *path, uint64_t *ret) {
        _cleanup_free_ char *line = NULL;
        int r = read_one_line_at(AT_FDCWD, path, &line);
        return r < 0 ? r : safe_atou64(line, ret);
}

static int mvm_stats(Shim *s, JsonWriter *w) {
        Vmb *v = vb(s);
        _cleanup_free_ char *stat = NULL, *status = NULL;
        uint64_t cpu = 0, rss = 0, rx = 0, tx = 0;
        char path[64];
        long hz = sysconf(_SC_CLK_TCK);

        snprintf(path, sizeof path, "/proc/%d/stat", (int) v->vmm_pid);
        if (v->vmm_pid > 0 && read_one_line_at(AT_FDCWD, path, &stat) >= 0) {
                /* utime and stime are fields 14 and 15, after the parenthesised name. */
                const char *p = strrchr(stat, ')');
                unsigned long long ut = 0, st = 0;
                if (p &&
                    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2 &&
                    hz > 0)
                        cpu = (ut + st) * 1000000ULL / (uint64_t) hz;
        }
        snprintf(path, sizeof path, "/proc/%d/status", (int) v->vmm_pid);
        if (v->vmm_pid > 0 && read_full_file_at(AT_FDCWD, path, 64 * 1024, &status, NULL) >= 0) {
                const char *p = strstr(status, "VmRSS:");
                unsigned long long kb;
                if (p && sscanf(p, "VmRSS: %llu kB", &kb) == 1)
                        rss = kb * 1024;
        }
        if (s->cfg.tap) {
                _cleanup_free_ char *a = NULL, *b = NULL;
                /* The host end's receive is the guest's transmit. */
                if (xasprintf(&a, "/sys/class/net/%s/statistics/tx_bytes", s->cfg.tap) >= 0)
                        (void) read_u64(a, &rx);
                if (xasprintf(&b, "/sys/class/net/%s/statistics/rx_bytes", s->cfg.tap) >= 0)
                        (void) read_u64(b, &tx);
        }
        jw_key(w, "cpu_usec");
        jw_uint(w, cpu);
        jw_key(w, "memory_bytes");
        jw_uint(w, rss);
        jw_key(w, "memory_limit");
        jw_uint(w, s->cfg.memory ?: UINT64_MAX);
        jw_key(w, "pids");
        jw_uint(w, v->vmm_gone ? 0 : 1);
        jw_key(w, "pids_limit");
        jw_uint(w, UINT64_MAX);
        jw_key(w, "net_rx_bytes");
        jw_uint(w, rx);
        jw_key(w, "net_tx_bytes");
        jw_uint(w, tx);
        return 0;
}

static ssize_t mvm_input(Shim *s, const void *data, size_t len) {
        Vmb *v = vb(s);
        size_t chunk = MIN(len, (size_t) 65536);

        if (v->agent_fd < 0 || !v->spec_sent)
                return (ssize_t) len;
        /* The agent socket is nonblocking for reads; input frames are small and written whole. */
        (void) fcntl(v->agent_fd, F_SETFL, fcntl(v->agent_fd, F_GETFL) & ~O_NONBLOCK);
        if (vm_agent_write_frame(v->agent_fd, VM_AGENT_STDIN, data, chunk) < 0)
                chunk = len;
        (void) fcntl(v->agent_fd, F_SETFL, fcntl(v->agent_fd, F_GETFL) | O_NONBLOCK);
        return (ssize_t) chunk;
}

static int mvm_resize(Shim *s, unsigned rows, unsigned cols) {
        return -ENOTTY; /* the agent relays plain stdio, not a terminal */
}

static void mvm_free(Shim *s) {
        Vmb *v = vb(s);

        if (!v)
                return;
        safe_close(v->listen_fd);
        safe_close(v->agent_fd);
        free(v->buf);
        cg_manager_free(v->cg);
        free(v);
        s->backend_data = NULL;
}

const ShimBackendOps shim_backend_microvm = {
        .name = "microvm",
        .create = mvm_create,
        .start = mvm_start,
        .kill = mvm_kill,
        .exec = mvm_exec,
        .stats = mvm_stats,
        .input = mvm_input,
        .resize = mvm_resize,
        .free = mvm_free,
};
