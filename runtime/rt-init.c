/* SPDX-License-Identifier: Apache-2.0 */
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "rt-internal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/*
 * The container init, from clone() to execve(). Phases, in order:
 *
 *   1. wait for the runtime (uid/gid maps written, cgroup joined);
 *   2. namespaces: join the given ones (privileged first, the user ns
 *      last), create the rest; for a pid or time ns made here, fork once
 *      more so the init itself lives in it (the "middle" then exits);
 *   3. identity: become root of a new user ns; hostname, domainname;
 *   4. filesystem: rootfs, mounts, /dev; prestart/createRuntime hooks (in
 *      the runtime), createContainer hooks (here); pivot_root; masked and
 *      read-only paths; sysctl;
 *   5. session and console: setsid, a pty from the container's devpts;
 *   6. process: cwd, rlimits, oom_score_adj, keyring, personality; seccomp
 *      (before dropping privileges unless no_new_privs), user, capabilities,
 *      no_new_privs, seccomp (when no_new_privs);
 *   7. READY; then wait for start (exec.fifo) or run (RT_SYNC_EXEC);
 *      startContainer hooks; mark host fds close-on-exec; execve via aula-dmz.
 *
 * Every failure goes to the runtime as one RtError. Until READY that is the
 * sync socket; after it, for `create`, the exec fifo that `start` reads.
 */

static int wait_for(int fd, RtSyncType want) {
        RtSyncMsg m;
        int r = rt_sync_recv(fd, &m, NULL);
        if (r < 0)
                return r;
        return m.type == want ? 0 : -EBADMSG;
}

void rt_init_reset_signals(void) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t all;

        for (int s = 1; s < _NSIG; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        (void) sigaction(s, &sa, NULL);
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
}

static int join_namespaces(RtInit *init) {
        static const OciNamespaceType order[] = {
                OCI_NS_IPC, OCI_NS_UTS, OCI_NS_NETWORK, OCI_NS_CGROUP, OCI_NS_TIME, OCI_NS_PID, OCI_NS_MOUNT,
        };
        /* The pid ns was joined by the runtime before clone, unless a middle process does it. */
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                OciNamespaceType t = order[i];
                if (init->ns_fds[t] < 0 || (t == OCI_NS_PID && !init->double_fork))
                        continue;
                if (setns(init->ns_fds[t], (int) oci_namespace_clone_flag(t)) < 0)
                        return rt_sync_error(
                                        init->sync_fd, errno, "namespaces", "join %s namespace: %m",
                                        oci_namespace_type_to_string(t));
        }
        if (init->ns_fds[OCI_NS_USER] >= 0 && setns(init->ns_fds[OCI_NS_USER], CLONE_NEWUSER) < 0)
                return rt_sync_error(init->sync_fd, errno, "namespaces", "join user namespace: %m");
        return 0;
}

static int write_time_offsets(RtInit *init) {
        const OciLinux *l = init->config->linux_cfg;
        char buf[128];
        size_t n = 0;

        if (l->time_offsets_monotonic.set)
                n += (size_t) snprintf(
                                buf + n, sizeof buf - n, "monotonic %" PRIi64 " %u\n",
                                l->time_offsets_monotonic.secs, l->time_offsets_monotonic.nanosecs);
        if (l->time_offsets_boottime.set)
                n += (size_t) snprintf(
                                buf + n, sizeof buf - n, "boottime %" PRIi64 " %u\n",
                                l->time_offsets_boottime.secs, l->time_offsets_boottime.nanosecs);
        if (n == 0)
                return 0;
        /* One write per clock: the kernel parses one line at a time. */
        for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
                char one[64];
                snprintf(one, sizeof one, "%.*s", (int) (nl - line + 1), line);
                if (write_string_at(AT_FDCWD, "/proc/self/timens_offsets", one) < 0)
                        return rt_sync_error(init->sync_fd, errno, "namespaces", "timens_offsets: %m");
        }
        return 0;
}

/* Phase 2. Returns 0 in the init; the middle of a double fork never returns. */
static int setup_namespaces(RtInit *init) {
        unsigned long flags = init->unshare_flags & ~(unsigned long) (CLONE_NEWTIME | CLONE_NEWUSER);
        int r;

        r = join_namespaces(init);
        if (r < 0)
                return r;
        if (init->userns_new && !(init->clone_flags & CLONE_NEWUSER)) {
                if (unshare(CLONE_NEWUSER) < 0)
                        return rt_sync_error(init->sync_fd, errno, "namespaces", "new user namespace: %m");
                r = rt_sync_send(init->sync_fd, RT_SYNC_USERNS, (int32_t) getpid());
                if (r >= 0)
                        r = wait_for(init->sync_fd, RT_SYNC_GO);
                if (r < 0)
                        return rt_sync_error(init->sync_fd, r, "namespaces", "uid/gid maps: %m");
        }
        if (init->userns_new && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
                return rt_sync_error(
                                init->sync_fd, errno, "namespaces",
                                "become root of the user namespace (is container id 0 mapped?): %m");
        if (flags && unshare((int) flags) < 0)
                return rt_sync_error(init->sync_fd, errno, "namespaces", "unshare 0x%lx: %m", flags);
        if (init->unshare_flags & CLONE_NEWTIME) {
                if (unshare(CLONE_NEWTIME) < 0)
                        return rt_sync_error(init->sync_fd, errno, "namespaces", "new time namespace: %m");
                r = write_time_offsets(init);
                if (r < 0)
                        return r;
        }
        if (init->double_fork) {
                /* CLONE_PARENT: the init becomes the runtime's child, the middle just leaves. */
                long pid = syscall(SYS_clone, CLONE_PARENT, NULL, NULL, NULL, NULL);
                if (pid < 0)
                        return rt_sync_error(init->sync_fd, errno, "namespaces", "fork into new pid ns: %m");
                if (pid > 0) {
                        (void) rt_sync_send(init->sync_fd, RT_SYNC_PID, (int32_t) pid);
                        _exit(0);
                }
                init->pid = 0; /* unknown here; hooks then see the pid of our own namespace */
        }
        return 0;
}

static int setup_identity(RtInit *init) {
        const OciConfig *c = init->config;

        if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
                return rt_sync_error(init->sync_fd, errno, "identity", "sethostname %s: %m", c->hostname);
        if (c->domainname && setdomainname(c->domainname, strlen(c->domainname)) < 0)
                return rt_sync_error(init->sync_fd, errno, "identity", "setdomainname %s: %m", c->domainname);
        return 0;
}

/* linux.sysctl, written through the container's own /proc/sys after pivot_root. */
static int apply_sysctl(RtInit *init) {
        const OciLinux *l = init->config->linux_cfg;
        int r;

        for (size_t i = 0; l && i < l->n_sysctl; i++) {
                const OciKeyValue *kv = &l->sysctl[i];
                _cleanup_free_ char *path = NULL, *full = NULL;

                if (!path_is_safe(kv->key) || strchr(kv->key, '/'))
                        return rt_sync_error(init->sync_fd, EINVAL, "sysctl", "invalid key %s", kv->key);
                path = strdup(kv->key);
                if (!path)
                        return rt_sync_error(init->sync_fd, ENOMEM, "sysctl", "out of memory");
                for (char *p = path; *p; p++)
                        if (*p == '.')
                                *p = '/';
                full = path_join("/proc/sys", path);
                if (!full)
                        return rt_sync_error(init->sync_fd, ENOMEM, "sysctl", "out of memory");
                r = write_string_at(AT_FDCWD, full, kv->value);
                if (r < 0)
                        return rt_sync_error(init->sync_fd, r, "sysctl", "%s=%s: %m", kv->key, kv->value);
        }
        return 0;
}

static int setup_filesystem(RtInit *init) {
        const OciConfig *c = init->config;
        int r;

        r = rt_mount_rootfs_prepare(init);
        if (r < 0)
                return r;
        r = rt_mount_config(init);
        if (r < 0)
                return r;
        if (init->use_fifo) {
                _cleanup_free_ char *fifo = path_join(init->state_dir, RT_FIFO_FILE);
                init->fifo_fd = fifo ? open(fifo, O_PATH | O_CLOEXEC) : -ENOMEM;
                if (init->fifo_fd < 0)
                        return rt_sync_error(init->sync_fd, errno, "fifo", "open exec fifo: %m");
        }
        if (c->n_hooks[OCI_HOOK_PRESTART] + c->n_hooks[OCI_HOOK_CREATE_RUNTIME] > 0) {
                r = rt_sync_send(init->sync_fd, RT_SYNC_RUN_HOOKS, 0);
                if (r >= 0)
                        r = wait_for(init->sync_fd, RT_SYNC_HOOKS_DONE);
                if (r < 0)
                        return -ECANCELED; /* the runtime reported the hook failure */
        }
        if (c->n_hooks[OCI_HOOK_CREATE_CONTAINER] > 0) {
                _cleanup_free_ char *state = NULL;
                r = rt_state_json_for_hooks(
                                c, init->opts->id, "created", init->pid ?: getpid(), init->bundle, &state);
                char msg[sizeof((RtError *) 0)->msg] = "out of memory";
                if (r >= 0)
                        r = rt_hooks_run(c, OCI_HOOK_CREATE_CONTAINER, state, false, msg, sizeof msg);
                if (r < 0)
                        return rt_sync_error(init->sync_fd, r, "hooks", "%s", msg);
        }
        r = rt_mount_pivot(init);
        if (r < 0)
                return r;
        /* sysctl before readonlyPaths: /proc/sys is usually one of them. */
        r = apply_sysctl(init);
        if (r < 0)
                return r;
        return rt_mount_finalize(init);
}

int rt_init_setup_console(RtInit *init) {
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        int r;

        if (setsid() < 0)
                return rt_sync_error(init->sync_fd, errno, "console", "setsid: %m");
        if (!init->process->terminal)
                return 0;
        r = rt_console_create(&master, &slave);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "console", "create pty: %m");
        r = rt_console_setup_slave(slave, init->process->console_height, init->process->console_width);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "console", "set up pty: %m");
        /* /dev/console is the pty too, as runtime-spec config.md requires for terminal: true. */
        {
                char sp[32];
                struct stat st;
                snprintf(sp, sizeof sp, "/proc/self/fd/%d", slave);
                if (stat("/dev", &st) >= 0) {
                        int f = open("/dev/console", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
                        if (f >= 0) {
                                close(f);
                                (void) mount(sp, "/dev/console", NULL, MS_BIND, NULL);
                        }
                }
        }
        r = rt_sync_send_fd(init->sync_fd, RT_SYNC_CONSOLE, master);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "console", "send pty: %m");
        for (int fd = 0; fd < 3; fd++)
                if (dup2(slave, fd) < 0)
                        return rt_sync_error(init->sync_fd, errno, "console", "dup2: %m");
        if (ioctl(0, TIOCSCTTY, 0) < 0)
                return rt_sync_error(init->sync_fd, errno, "console", "TIOCSCTTY: %m");
        return 0;
}

static int setup_personality(RtInit *init) {
        const OciLinux *l = init->config->linux_cfg;
        unsigned long p;
        if (!l || !l->personality.set)
                return 0;
        p = streq_ptr(l->personality.domain, "LINUX32") ? PER_LINUX32 : PER_LINUX;
        if (personality(p) < 0)
                return rt_sync_error(init->sync_fd, errno, "personality", "%s: %m", l->personality.domain);
        return 0;
}

int rt_init_setup_process(RtInit *init, char **ret_path, char ***ret_env) {
        const OciProcess *p = init->process;
        const OciSeccomp *sc = init->config->linux_cfg ? init->config->linux_cfg->seccomp : NULL;
        bool cwd_done = chdir(p->cwd) >= 0, in_userns = init->userns_new || init->ns_fds[OCI_NS_USER] >= 0;
        int listener = -EBADF, r;

        if (!cwd_done && errno != EACCES)
                return rt_sync_error(init->sync_fd, errno, "process", "chdir %s: %m", p->cwd);
        r = rt_process_setup_rlimits(p);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "process", "setrlimit: %m");
        if (p->oom_score_adj.set) {
                char v[16];
                snprintf(v, sizeof v, "%" PRIi64, p->oom_score_adj.v);
                r = write_string_at(AT_FDCWD, "/proc/self/oom_score_adj", v);
                if (r < 0)
                        return rt_sync_error(init->sync_fd, r, "process", "oom_score_adj %s: %m", v);
        }
        if (!init->opts->no_new_keyring &&
            syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, init->opts->id) < 0 &&
            errno != ENOSYS && errno != EPERM && errno != EACCES)
                return rt_sync_error(init->sync_fd, errno, "process", "session keyring: %m");
        r = setup_personality(init);
        if (r < 0)
                return r;
        if (sc && !p->no_new_privileges) {
                r = rt_seccomp_load(sc, &listener);
                if (r < 0)
                        return rt_sync_error(init->sync_fd, r, "seccomp", "load filter: %m");
        }
        r = rt_process_drop_bounding(p);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "process", "drop bounding capabilities: %m");
        r = rt_process_setup_user(p, in_userns);
        if (r < 0)
                return rt_sync_error(
                                init->sync_fd, r, "process", "set user %u:%u: %m", p->user.uid, p->user.gid);
        r = rt_process_setup_caps(p);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "process", "set capabilities: %m");
        if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return rt_sync_error(init->sync_fd, errno, "process", "no_new_privs: %m");
        if (!cwd_done && chdir(p->cwd) < 0)
                return rt_sync_error(init->sync_fd, errno, "process", "chdir %s: %m", p->cwd);
        /* runc's wording, in Go's lower-case errno texts: podman maps these to exit codes 126/127. */
        r = rt_process_resolve_exec(p, ret_path);
        if (r == -ENOENT && !strchr(p->args[0], '/'))
                return rt_sync_error(
                                init->sync_fd, ENOENT, "exec",
                                "exec: \"%s\": executable file not found in $PATH", p->args[0]);
        if (r == -ENOENT)
                return rt_sync_error(
                                init->sync_fd, ENOENT, "exec",
                                "exec: \"%s\": stat %s: no such file or directory", p->args[0], p->args[0]);
        if (r == -EACCES || r == -EISDIR)
                return rt_sync_error(
                                init->sync_fd, EACCES, "exec", "exec: \"%s\": permission denied", p->args[0]);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "exec", "exec: \"%s\": %m", p->args[0]);
        r = rt_process_build_env(p, ret_env);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "process", "environment: %m");
        if (sc && p->no_new_privileges) {
                r = rt_seccomp_load(sc, &listener);
                if (r < 0)
                        return rt_sync_error(init->sync_fd, r, "seccomp", "load filter: %m");
        }
        if (listener >= 0) {
                r = rt_sync_send_fd(init->sync_fd, RT_SYNC_SECCOMP, listener);
                safe_close(listener);
                if (r < 0)
                        return rt_sync_error(init->sync_fd, r, "seccomp", "send listener: %m");
        }
        return 0;
}

/* Report an error after READY of `create`: '0' was already written into the fifo. */
static int fifo_error(int fd, int error, const char *stage, const char *msg) {
        RtSyncMsg m = { .type = RT_SYNC_ERROR, .err.error = ERRNO_VALUE(error) };
        snprintf(m.err.stage, sizeof m.err.stage, "%s", stage);
        snprintf(m.err.msg, sizeof m.err.msg, "%s", msg);
        (void) loop_write(fd, &m, sizeof m);
        return -ERRNO_VALUE(error);
}

static int wait_start(RtInit *init, int *ret_errfd) {
        char p[32];
        int fd, r;

        if (!init->use_fifo) {
                r = wait_for(init->sync_fd, RT_SYNC_EXEC);
                *ret_errfd = init->sync_fd;
                return r;
        }
        /* Blocks until `start` opens the fifo for reading. */
        snprintf(p, sizeof p, "/proc/self/fd/%d", init->fifo_fd);
        do
                fd = open(p, O_WRONLY | O_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        if (fd < 0)
                return -errno;
        init->fifo_fd = safe_close(init->fifo_fd);
        init->sync_fd = safe_close(init->sync_fd);
        r = loop_write(fd, "0", 1);
        if (r < 0)
                return r;
        *ret_errfd = fd;
        return 0;
}

static int init_run(RtInit *init) {
        _cleanup_free_ char *path = NULL;
        _cleanup_strv_free_ char **env = NULL;
        int errfd = -EBADF, r;

        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        r = rt_child_join_cgroup(init);
        if (r < 0)
                return rt_sync_error(
                                init->sync_fd, r, "cgroup", "join %s: %s", cg_manager_path(init->cgroup),
                                cg_manager_error(init->cgroup) ?: strerror(-r));
        rt_init_reset_signals();
        umask(0);
        r = rt_setup_stdio(init->opts->stdio);
        if (r < 0)
                return rt_sync_error(init->sync_fd, r, "stdio", "set up stdio: %m");
        (void) rt_close_inherited_fds(init->opts->preserve_fds);
        {
                /* GO carries our pid as the host sees it, for hooks' state. */
                RtSyncMsg m;
                r = rt_sync_recv(init->sync_fd, &m, NULL);
                if (r < 0 || m.type != RT_SYNC_GO)
                        return r < 0 ? r : -EBADMSG;
                init->pid = m.value;
        }
        if ((r = setup_namespaces(init)) < 0 || (r = setup_identity(init)) < 0 ||
            (r = setup_filesystem(init)) < 0 || (r = rt_init_setup_console(init)) < 0 ||
            (r = rt_init_setup_process(init, &path, &env)) < 0)
                return r;
        r = rt_sync_send(init->sync_fd, RT_SYNC_READY, 0);
        if (r < 0)
                return r;
        r = wait_start(init, &errfd);
        if (r < 0)
                return r;
        if (init->config->n_hooks[OCI_HOOK_START_CONTAINER] > 0) {
                _cleanup_free_ char *state = NULL;
                r = rt_state_json_for_hooks(
                                init->config, init->opts->id, "created", getpid(), init->bundle, &state);
                char msg[sizeof((RtError *) 0)->msg] = "out of memory";
                if (r >= 0)
                        r = rt_hooks_run(init->config, OCI_HOOK_START_CONTAINER, state, false, msg, sizeof msg);
                if (r < 0) {
                        if (init->use_fifo)
                                return fifo_error(errfd, r, "hooks", msg);
                        return rt_sync_error(errfd, r, "hooks", "%s", msg);
                }
        }
        (void) rt_close_fds(init->opts->preserve_fds);
        rt_exec_process(init->dmz_fd, path, init->process->args, env, errfd);
}

void rt_init_main(RtInit *init) {
        (void) init_run(init);
        _exit(1);
}
