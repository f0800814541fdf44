/* SPDX-License-Identifier: Apache-2.0 */
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "rt-internal.h"

/*
 * exec: a new process in a running container. The runtime joins the
 * container's pid namespace for its child only, then clones; the child
 * joins the other namespaces of the container's init (the user namespace
 * last), sets itself up exactly like the init does (rt-init.c, phases 5-6),
 * reports READY and execs through aula-dmz when released.
 */

static const OciNamespaceType exec_order[] = {
        OCI_NS_CGROUP, OCI_NS_IPC, OCI_NS_UTS, OCI_NS_NETWORK, OCI_NS_TIME, OCI_NS_MOUNT, OCI_NS_USER,
};

static int open_container_ns(pid_t pid, RtInit *init) {
        for (size_t i = 0; i < _OCI_NS_MAX; i++) {
                static const char *const names[] = {
                        [OCI_NS_PID] = "pid",       [OCI_NS_NETWORK] = "net", [OCI_NS_MOUNT] = "mnt",
                        [OCI_NS_IPC] = "ipc",       [OCI_NS_UTS] = "uts",     [OCI_NS_USER] = "user",
                        [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
                };
                char theirs[64], ours[64];
                struct stat a, b;

                init->ns_fds[i] = -EBADF;
                snprintf(theirs, sizeof theirs, "/proc/%d/ns/%s", (int) pid, names[i]);
                snprintf(ours, sizeof ours, "/proc/self/ns/%s", names[i]);
                if (stat(theirs, &a) < 0 || stat(ours, &b) < 0)
                        continue; /* kernel without this namespace type */
                if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
                        continue; /* shared with the host: nothing to join */
                init->ns_fds[i] = open(theirs, O_RDONLY | O_CLOEXEC);
                if (init->ns_fds[i] < 0)
                        return log_error_errno(errno, "Failed to open %s: %m", theirs);
        }
        return 0;
}

static int parse_user(const char *spec, OciUser *u) {
        _cleanup_free_ char *copy = strdup(spec);
        char *colon;
        unsigned v;

        if (!copy)
                return -ENOMEM;
        colon = strchr(copy, ':');
        if (colon)
                *colon++ = 0;
        if (safe_atou(copy, &v) < 0)
                return -EINVAL;
        u->uid = v;
        if (colon) {
                if (safe_atou(colon, &v) < 0)
                        return -EINVAL;
                u->gid = v;
        }
        return 0;
}

/* Overlay the command-line flags on the container's own process definition. */
static int build_process(const RtExecOptions *o, OciConfig *c, OciProcess **ret_owned, const OciProcess **ret) {
        _cleanup_free_ char *text = NULL, *err = NULL;
        OciProcess *p = c->process;
        size_t len;
        int r;

        if (o->process_file) {
                r = read_full_file_at(AT_FDCWD, o->process_file, OCI_CONFIG_MAX_BYTES, &text, &len);
                if (r < 0)
                        return log_error_errno(r, "Failed to read '%s': %m", o->process_file);
                r = oci_process_parse(text, len, ret_owned, &err);
                if (r < 0)
                        return log_error_errno(r, "%s: %s", o->process_file, err ?: strerror(-r));
                if (strv_length((*ret_owned)->args) == 0)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL), "%s: args: must not be empty",
                                        o->process_file);
                *ret = *ret_owned;
                return 0;
        }
        if (!p)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "container has no process definition");
        if (strv_length(o->args) == 0)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "exec: no command given");
        strv_free(p->args);
        p->args = strv_copy(o->args);
        if (!p->args)
                return log_error_errno(ENOMEM, "Out of memory");
        STRV_FOREACH(e, o->env) {
                r = strv_env_set(&p->env, *e);
                if (r < 0)
                        return log_error_errno(r, "Out of memory");
        }
        if (o->cwd) {
                free(p->cwd);
                p->cwd = strdup(o->cwd);
                if (!p->cwd)
                        return log_error_errno(ENOMEM, "Out of memory");
        }
        if (o->user) {
                p->user.n_additional_gids = 0;
                r = parse_user(o->user, &p->user);
                if (r < 0)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL), "invalid --user '%s': want UID[:GID]",
                                        o->user);
        }
        STRV_FOREACH(cap, o->caps) {
                int n = oci_capability_from_string(*cap);
                if (n < 0)
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "unknown capability '%s'", *cap);
                uint64_t bit = UINT64_C(1) << n;
                p->capabilities.bounding |= bit;
                p->capabilities.effective |= bit;
                p->capabilities.permitted |= bit;
                p->capabilities.inheritable |= bit;
                p->capabilities.ambient |= bit;
        }
        p->terminal = o->tty;
        p->no_new_privileges = p->no_new_privileges || o->no_new_privs;
        *ret = p;
        return 0;
}

static int exec_child_setup(RtInit *init) {
        for (size_t i = 0; i < ELEMENTSOF(exec_order); i++) {
                OciNamespaceType t = exec_order[i];
                if (init->ns_fds[t] >= 0 && setns(init->ns_fds[t], (int) oci_namespace_clone_flag(t)) < 0)
                        return rt_sync_error(
                                        init->sync_fd, errno, "namespaces", "join %s namespace: %m",
                                        oci_namespace_type_to_string(t));
        }
        return 0;
}

_noreturn_ static void exec_child(RtInit *init) {
        _cleanup_free_ char *path = NULL;
        _cleanup_strv_free_ char **env = NULL;
        RtSyncMsg m;
        int r;

        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if (rt_child_join_cgroup(init) < 0)
                _exit(1);
        rt_init_reset_signals();
        if (rt_setup_stdio(init->opts->stdio) < 0)
                _exit(1);
        (void) rt_close_inherited_fds(init->opts->preserve_fds);
        r = rt_sync_recv(init->sync_fd, &m, NULL);
        if (r < 0 || m.type != RT_SYNC_GO)
                _exit(1);
        if (exec_child_setup(init) < 0 || rt_init_setup_console(init) < 0 ||
            rt_init_setup_process(init, &path, &env) < 0)
                _exit(1);
        if (rt_sync_send(init->sync_fd, RT_SYNC_READY, 0) < 0)
                _exit(1);
        r = rt_sync_recv(init->sync_fd, &m, NULL);
        if (r < 0 || m.type != RT_SYNC_EXEC)
                _exit(1);
        (void) rt_close_fds(init->opts->preserve_fds);
        rt_exec_process(init->dmz_fd, path, init->process->args, env, init->sync_fd);
}

/* Returns 1 when the child joins its cgroups itself (or has none), 0 when the parent must move it. */
static int spawn(RtInit *init, int pidns_fd) {
        _cleanup_close_ int saved = -EBADF;
        pid_t pid;

        if (pidns_fd >= 0) {
                saved = open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
                if (saved < 0 || setns(pidns_fd, CLONE_NEWPID) < 0)
                        return log_error_errno(errno, "Failed to join the container's pid namespace: %m");
        }
        pid = rt_clone_into_cgroup(init, 0);
        if (pid == 0)
                exec_child(init);
        if (saved >= 0)
                (void) setns(saved, CLONE_NEWPID);
        if (pid < 0)
                return log_error_errno(pid, "Failed to fork: %m");
        init->pid = pid;
        if (!init->cgroup || init->cgroup_self_enter)
                return 1;
        return 0;
}

/* The container, which must be running: its state, state directory and a pidfd of its init. */
static int load_running(const RtContext *ctx, const char *id, RtState **ret, char **ret_dir, int *ret_pidfd) {
        _cleanup_(rt_state_freep) RtState *s = NULL;
        _cleanup_free_ char *dir = NULL;
        int r, pidfd;
        OciStatus st;

        r = rt_state_load_status(ctx, id, &s, &dir, &st);
        if (r < 0)
                return r;
        if (st != OCI_STATUS_RUNNING)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "cannot exec in container %s: container not running (%s)", id,
                                oci_status_to_string(st));
        r = rt_state_pidfd(s, &pidfd);
        if (r < 0)
                return log_error_errno(SYNTHETIC_ERRNO(ESRCH), "container not running");
        *ret = TAKE_PTR(s);
        *ret_dir = TAKE_PTR(dir);
        *ret_pidfd = pidfd;
        return 0;
}

/* Clone the process into the container's pid namespace and cgroup and tell it to go. */
static int start_process(RtInit *init, int *ret_sock) {
        _cleanup_close_ int sock = -EBADF;
        int pair[2], r, joined;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return log_error_errno(errno, "Failed to create sync socket: %m");
        sock = pair[0];
        init->sync_fd = pair[1];
        joined = spawn(init, init->ns_fds[OCI_NS_PID]);
        init->sync_fd = safe_close(init->sync_fd);
        if (joined < 0)
                return joined;
        if (init->cgroup && joined == 0 && (r = cg_manager_enter(init->cgroup, init->pid)) < 0)
                log_debug_errno(r, "Failed to move exec process into the container's cgroup: %m");
        (void) rt_sync_send(sock, RT_SYNC_GO, (int32_t) init->pid);
        *ret_sock = TAKE_FD(sock);
        return 0;
}

/* Serve the process until it is READY: pass on its pty (to --console-socket, the caller, or *master). */
static int serve_process(const RtExecOptions *o, int sock, int *master) {
        for (;;) {
                _cleanup_close_ int fd = -EBADF;
                RtSyncMsg m;
                int r;

                r = rt_sync_recv(sock, &m, &fd);
                if (r < 0)
                        return log_error_errno(
                                        r == -ECONNRESET ? ECHILD : r, "exec process died during setup: %m");
                if (m.type == RT_SYNC_READY)
                        return 0;
                if (m.type == RT_SYNC_ERROR)
                        return rt_error_log(&m.err);
                if (m.type == RT_SYNC_CONSOLE) {
                        if (o->console_socket) {
                                r = rt_console_send(o->console_socket, fd);
                                if (r < 0)
                                        return r;
                        } else if (o->detach && o->ret_pty_master)
                                *o->ret_pty_master = TAKE_FD(fd);
                        else {
                                safe_close(*master);
                                *master = TAKE_FD(fd);
                        }
                }
        }
}

int rt_exec(const RtContext *ctx, const RtExecOptions *o) {
        _cleanup_(rt_state_freep) RtState *s = NULL;
        _cleanup_(oci_config_freep) OciConfig *c = NULL;
        _cleanup_(oci_process_freep) OciProcess *owned = NULL;
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int pidfd = -EBADF, sock = -EBADF, master = -EBADF;
        RtCreateOptions copts = { .id = o->id,
                                  .preserve_fds = o->preserve_fds,
                                  .no_new_keyring = true,
                                  .console_socket = o->console_socket,
                                  .stdio = o->stdio };
        RtInit init = { .ctx = ctx, .opts = &copts, .sync_fd = -EBADF, .fifo_fd = -EBADF, .dmz_fd = -EBADF };
        int r;

        r = load_running(ctx, o->id, &s, &dir, &pidfd);
        if (r < 0)
                return r;
        r = rt_config_load_saved(dir, &c);
        if (r < 0)
                return r;
        r = build_process(o, c, &owned, &init.process);
        if (r < 0)
                return r;
        init.config = c;
        init.bundle = s->bundle;
        r = open_container_ns(s->pid, &init);
        if (r < 0)
                goto out;
        init.userns_new = false;
        if (s->cgroup && cg_manager_load(s->cgroup, &init.cgroup) < 0)
                init.cgroup = NULL;
        r = rt_dmz_open(&init.dmz_fd);
        if (r < 0) {
                log_error_errno(r, "Failed to prepare the exec trampoline: %m");
                goto out;
        }
        r = start_process(&init, &sock);
        if (r < 0)
                goto out;
        r = serve_process(o, sock, &master);
        if (r < 0)
                goto err_process;
        if (o->pid_file && (r = rt_write_pid_file(o->pid_file, init.pid)) < 0)
                goto err_process;
        r = rt_release(sock);
        if (r < 0)
                goto err_process;
        if (o->ret_pid)
                *o->ret_pid = init.pid;
        r = o->detach ? 0 : rt_foreground(init.pid, master);
        goto out;

err_process:
        (void) kill(init.pid, SIGKILL);
        (void) wait_for_pid(init.pid);
out:
        for (size_t i = 0; i < _OCI_NS_MAX; i++)
                safe_close(init.ns_fds[i]);
        safe_close(init.dmz_fd);
        cg_manager_free(init.cgroup);
        return r;
}
