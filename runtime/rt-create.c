/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "rt-internal.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

/*
 * create, from the runtime's side. The phases, each undone in reverse on
 * failure (labels name what they undo):
 *
 *   1. read and validate config.json; resolve the bundle and rootfs;
 *   2. make the state directory (its existence is the "id in use" lock);
 *   3. create the cgroup and apply resources;
 *   4. open the namespaces to join; make exec.fifo (create only);
 *   5. clone the init into its new namespaces (rt-init.c runs there);
 *   6. write its uid/gid maps, move it into the cgroup, tell it to go;
 *   7. serve its requests (hooks, console, seccomp listener) until READY;
 *   8. write state.json and the pid file.
 *
 * The init is a fork of this process, so it shares the parsed config
 * without any serialisation; the sync socket only carries small messages.
 */

pid_t rt_clone_into_cgroup(RtInit *init, unsigned long flags) {
        struct clone_args args = { .flags = flags, .exit_signal = SIGCHLD };
        _cleanup_close_ int cgfd = -EBADF;
        CgLayout layout = CG_LAYOUT_LEGACY;
        long pid;

        init->cgroup_self_enter = init->cgroup_v2_joined = false;
        if (init->cgroup) {
                (void) cg_layout(&layout);
                if (cg_manager_open_v2(init->cgroup, &cgfd) >= 0) {
                        args.flags |= CLONE_INTO_CGROUP;
                        args.cgroup = (uint64_t) cgfd;
                }
                /* A child in a new user ns cannot write to the host's cgroupfs: the parent moves it. */
                init->cgroup_self_enter = layout != CG_LAYOUT_UNIFIED && !(flags & CLONE_NEWUSER) &&
                                !init->rootless;
        }
        fflush(NULL);
        pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid < 0 && (args.flags & CLONE_INTO_CGROUP) && errno != ENOMEM && errno != EAGAIN) {
                args.flags &= ~(uint64_t) CLONE_INTO_CGROUP;
                args.cgroup = 0;
                pid = syscall(SYS_clone3, &args, sizeof args);
        }
        if (pid < 0 && errno == ENOSYS)
                pid = syscall(SYS_clone, (unsigned long) flags | SIGCHLD, NULL, NULL, NULL, NULL);
        if (pid < 0)
                return -errno;
        init->cgroup_v2_joined = args.flags & CLONE_INTO_CGROUP;
        return (pid_t) pid;
}

int rt_child_join_cgroup(RtInit *init) {
        if (!init->cgroup_self_enter)
                return 0;
        return cg_manager_enter_self(init->cgroup, init->cgroup_v2_joined);
}

/* Returns 1 when the child is (or will put itself) in every cgroup, 0 when the parent must move it. */
static int clone_init(RtInit *init) {
        pid_t pid = rt_clone_into_cgroup(init, init->clone_flags);

        if (pid < 0)
                return pid;
        if (pid == 0)
                rt_init_main(init); /* never returns */
        init->pid = pid;
        if (!init->cgroup || init->cgroup_self_enter)
                return 1;
        /* Fully placed by CLONE_INTO_CGROUP only where cgroup2 is the whole tree. */
        if (init->cgroup_v2_joined) {
                CgLayout layout = CG_LAYOUT_LEGACY;
                (void) cg_layout(&layout);
                return layout == CG_LAYOUT_UNIFIED;
        }
        return 0;
}

static int write_id_map(pid_t pid, const char *file, const OciIdMapping *m, size_t n) {
        char path[64], buf[4096];
        size_t len = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                int k = snprintf(
                                buf + len, sizeof buf - len, "%u %u %u\n", m[i].container_id, m[i].host_id,
                                m[i].size);
                if (k < 0 || (size_t) k >= sizeof buf - len)
                        return -E2BIG;
                len += (size_t) k;
        }
        snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, file);
        r = write_string_at(AT_FDCWD, path, buf);
        return r;
}

static int write_maps(RtInit *init, pid_t pid) {
        const OciLinux *l = init->config->linux_cfg;
        int r;

        r = write_id_map(pid, "uid_map", l->uid_mappings, l->n_uid_mappings);
        if (r < 0)
                return log_error_errno(r, "Failed to write uid_map of the container: %m");
        r = write_id_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings);
        if (r == -EPERM) {
                /* Unprivileged: gid_map is only writable once setgroups is denied. */
                char path[64];
                snprintf(path, sizeof path, "/proc/%d/setgroups", (int) pid);
                if (write_string_at(AT_FDCWD, path, "deny") >= 0)
                        r = write_id_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write gid_map of the container: %m");
        return 0;
}

/*
 * A user namespace holding an idmapped mount's mappings (runtime-spec 1.2
 * "idmap"): made by a child that unshares and stops, so the maps can be
 * written from here, in the initial user namespace.
 */
static int make_userns_fd(const OciIdMapping *u, size_t nu, const OciIdMapping *g, size_t ng, int *ret_fd) {
        char path[64];
        int status, r = 0, fd;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (unshare(CLONE_NEWUSER) < 0)
                        _exit(1);
                raise(SIGSTOP);
                _exit(0);
        }
        if (waitpid(pid, &status, WUNTRACED) < 0 || !WIFSTOPPED(status))
                r = -ECHILD;
        if (r >= 0)
                r = write_id_map(pid, "uid_map", u, nu);
        if (r >= 0) {
                snprintf(path, sizeof path, "/proc/%d/setgroups", (int) pid);
                (void) write_string_at(AT_FDCWD, path, "deny");
                r = write_id_map(pid, "gid_map", g, ng);
        }
        if (r >= 0) {
                snprintf(path, sizeof path, "/proc/%d/ns/user", (int) pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                r = fd < 0 ? -errno : 0;
        }
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        if (r < 0)
                return r;
        *ret_fd = fd;
        return 0;
}

/*
 * The detached, idmapped copy of an idmapped mount's source. Made here, in
 * the initial user namespace: setting MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN
 * over the filesystem's own user namespace, which an init inside a new user
 * namespace lacks. The init only moves the tree into place.
 */
static int make_idmapped_tree(
                RtInit *init,
                const OciMount *m,
                const OciMountFlags *f,
                const OciIdMapping *u,
                size_t nu,
                const OciIdMapping *g,
                size_t ng,
                int *ret_fd) {
        struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP };
        _cleanup_close_ int userns = -EBADF, tree = -EBADF;
        _cleanup_free_ char *src = NULL;
        int r;

        if (!m->source)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL), "mounts: %s: idmap needs a source", m->destination);
        src = m->source[0] == '/' ? strdup(m->source) : path_join(init->bundle, m->source);
        if (!src)
                return log_error_errno(ENOMEM, "Out of memory");
        r = make_userns_fd(u, nu, g, ng, &userns);
        if (r < 0)
                return log_error_errno(
                                r, "mounts: %s: cannot make the idmap user namespace: %m", m->destination);
        tree = (int) syscall(
                        SYS_open_tree, AT_FDCWD, src,
                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (f->recursive_bind ? AT_RECURSIVE : 0));
        if (tree < 0)
                return log_error_errno(errno, "mounts: %s: open_tree %s: %m", m->destination, src);
        a.userns_fd = (uint64_t) userns;
        if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (f->recursive_idmap ? AT_RECURSIVE : 0), &a,
                    sizeof a) < 0)
                return log_error_errno(
                                errno,
                                "mounts: %s: idmap %s (does its filesystem support idmapped mounts?): %m",
                                m->destination, src);
        *ret_fd = TAKE_FD(tree);
        return 0;
}

static int prepare_idmaps(RtInit *init) {
        const OciConfig *c = init->config;
        const OciLinux *l = c->linux_cfg;
        int r;

        for (size_t i = 0; i < c->n_mounts; i++) {
                const OciMount *m = &c->mounts[i];
                _cleanup_(oci_mount_flags_done) OciMountFlags f = {};
                const OciIdMapping *u = m->uid_mappings, *g = m->gid_mappings;
                size_t nu = m->n_uid_mappings, ng = m->n_gid_mappings;

                if (oci_mount_flags_parse(m->options, &f, NULL) < 0 || !f.idmap)
                        continue;
                if (nu == 0 && l) {
                        /* No mappings of its own: the container's user namespace mappings. */
                        u = l->uid_mappings, nu = l->n_uid_mappings;
                        g = l->gid_mappings, ng = l->n_gid_mappings;
                }
                if (nu == 0 || ng == 0)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EINVAL),
                                        "mounts: %s: idmap needs uidMappings and gidMappings", m->destination);
                if (!init->idmap_fds) {
                        init->idmap_fds = malloc(sizeof(int) * c->n_mounts);
                        if (!init->idmap_fds)
                                return log_error_errno(ENOMEM, "Out of memory");
                        for (size_t k = 0; k < c->n_mounts; k++)
                                init->idmap_fds[k] = -EBADF;
                }
                r = make_idmapped_tree(init, m, &f, u, nu, g, ng, &init->idmap_fds[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool is_rootless(void) {
        _cleanup_free_ char *map = NULL;
        if (geteuid() != 0)
                return true;
        if (read_full_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &map, NULL) < 0)
                return false;
        /* The initial user namespace maps every id: "0 0 4294967295". */
        return !strstr(map, "4294967295");
}

/* Which namespaces are created by clone(), which by the init itself, which are joined. */
static int plan_namespaces(RtInit *init) {
        const OciLinux *l = init->config->linux_cfg;
        unsigned long created = 0;
        bool join_user = false, join_other = false;
        CgLayout layout = CG_LAYOUT_LEGACY;

        for (size_t i = 0; i < _OCI_NS_MAX; i++)
                init->ns_fds[i] = -EBADF;
        for (size_t i = 0; l && i < l->n_namespaces; i++) {
                const OciNamespace *ns = &l->namespaces[i];
                if (!ns->path) {
                        created |= oci_namespace_clone_flag(ns->type);
                        continue;
                }
                init->ns_fds[ns->type] = open(ns->path, O_RDONLY | O_CLOEXEC);
                if (init->ns_fds[ns->type] < 0)
                        return log_error_errno(
                                        errno, "Failed to open %s namespace '%s': %m",
                                        oci_namespace_type_to_string(ns->type), ns->path);
                if (ns->type == OCI_NS_USER)
                        join_user = true;
                else
                        join_other = true;
        }
        init->userns_new = created & CLONE_NEWUSER;
        if (init->userns_new && (!l || l->n_uid_mappings == 0 || l->n_gid_mappings == 0))
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "user namespace requested, but linux.uidMappings or gidMappings is empty");
        (void) cg_layout(&layout);

        if (join_user || (init->userns_new && join_other)) {
                /* Joined namespaces first (while privileged), then new ones owned by the right user ns. */
                init->clone_flags = 0;
                init->unshare_flags = created;
                init->double_fork = created & (CLONE_NEWPID | CLONE_NEWTIME);
        } else {
                init->clone_flags = created & ~(unsigned long) (CLONE_NEWTIME | CLONE_NEWCGROUP);
                init->unshare_flags = created & (CLONE_NEWTIME | CLONE_NEWCGROUP);
                /* With CLONE_INTO_CGROUP the cgroup namespace can be made at clone time. */
                if ((created & CLONE_NEWCGROUP) && layout == CG_LAYOUT_UNIFIED && init->cgroup) {
                        init->clone_flags |= CLONE_NEWCGROUP;
                        init->unshare_flags &= ~(unsigned long) CLONE_NEWCGROUP;
                }
        }
        /*
         * A time namespace's offsets can only be written before any process is in it, so the
         * init unshares it and the offsets are set; but only children enter it (execve moves a
         * process in on newer kernels, not on 6.1). So the init forks once more, and the pid
         * namespace, if new, must be made by the same unshare for that child to be its PID 1.
         */
        if (created & CLONE_NEWTIME) {
                init->unshare_flags |= created & CLONE_NEWPID;
                init->clone_flags &= ~(unsigned long) CLONE_NEWPID;
                init->double_fork = true;
        }
        return 0;
}

static int load_bundle(RtInit *init) {
        _cleanup_(rt_bundle_done) RtBundle b = {};
        int r;

        r = rt_bundle_load(init->opts->bundle, &b);
        if (r < 0)
                return r;
        if (strv_length(b.config->process->args) == 0)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL), "%s/config.json: process.args: must not be empty",
                                b.path);
        init->bundle = TAKE_PTR(b.path);
        init->rootfs = TAKE_PTR(b.rootfs);
        init->config = TAKE_PTR(b.config);
        init->process = init->config->process;
        init->config_text = TAKE_PTR(b.config_text);
        init->config_len = b.config_len;
        return 0;
}

static int send_seccomp_listener(RtInit *init, int fd) {
        const char *path = init->config->linux_cfg->seccomp->listener_path;
        _cleanup_free_ char *state = NULL;
        _cleanup_close_ int sock = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(
                                SYNTHETIC_ERRNO(ENAMETOOLONG), "seccomp listenerPath too long: %s", path);
        strcpy(sa.sun_path, path);
        sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0 || connect(sock, (struct sockaddr *) &sa, sizeof sa) < 0)
                return log_error_errno(errno, "Failed to connect to seccomp listener '%s': %m", path);
        /* runtime-spec: the container process state, with the listener fd, over SCM_RIGHTS. */
        r = rt_state_json_for_hooks(init->config, init->opts->id, "creating", init->pid, init->bundle, &state);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        r = send_fd(sock, fd, state, strlen(state));
        if (r < 0)
                return log_error_errno(r, "Failed to send seccomp listener fd to '%s': %m", path);
        return 0;
}

/* Serve the init until it is READY. *ret_master gets a pty master when kept for the caller. */
static int serve_init(RtInit *init, int sock, int *ret_master) {
        for (;;) {
                _cleanup_close_ int fd = -EBADF;
                RtSyncMsg m;
                int r;

                r = rt_sync_recv(sock, &m, &fd);
                if (r == -ECONNRESET)
                        return log_error_errno(SYNTHETIC_ERRNO(ECHILD), "container init exited during setup");
                if (r < 0)
                        return log_error_errno(r, "Failed to read from container init: %m");
                switch (m.type) {
                case RT_SYNC_PID:
                        (void) wait_for_pid(init->pid); /* the middle process */
                        init->pid = m.value;
                        break;
                case RT_SYNC_USERNS: /* the init made its user ns itself: it needs maps */
                        r = write_maps(init, m.value);
                        if (r < 0)
                                return r;
                        r = rt_sync_send(sock, RT_SYNC_GO, 0);
                        if (r < 0)
                                return log_error_errno(r, "Failed to signal container init: %m");
                        break;
                case RT_SYNC_RUN_HOOKS:
                        r = rt_hooks_run_create(init->config, init->opts->id, init->pid, init->bundle);
                        if (r < 0)
                                return r;
                        r = rt_sync_send(sock, RT_SYNC_HOOKS_DONE, 0);
                        if (r < 0)
                                return log_error_errno(r, "Failed to signal container init: %m");
                        break;
                case RT_SYNC_CONSOLE:
                        if (fd < 0)
                                return log_error_errno(SYNTHETIC_ERRNO(EBADMSG), "container init sent no pty");
                        if (init->opts->console_socket) {
                                r = rt_console_send(init->opts->console_socket, fd);
                                if (r < 0)
                                        return r;
                        } else if (ret_master)
                                *ret_master = TAKE_FD(fd);
                        else if (init->opts->ret_pty_master)
                                *init->opts->ret_pty_master = TAKE_FD(fd);
                        break;
                case RT_SYNC_SECCOMP:
                        r = send_seccomp_listener(init, fd);
                        if (r < 0)
                                return r;
                        break;
                case RT_SYNC_READY:
                        return 0;
                case RT_SYNC_ERROR:
                        return rt_error_log(&m.err);
                default:
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EBADMSG), "unexpected message %u from init", m.type);
                }
        }
}

static int save_state(RtInit *init) {
        RtState s = {
                .id = (char *) init->opts->id,
                .pid = init->pid,
                .bundle = init->bundle,
                .rootfs = init->rootfs,
                .annotations = init->config->annotations,
                .n_annotations = init->config->n_annotations,
                .systemd_cgroup = init->ctx->systemd_cgroup,
        };
        int r;

        r = rt_state_save_new(init->state_dir, &s, init->cgroup);
        if (r < 0)
                return r;
        if (init->opts->pid_file)
                return rt_write_pid_file(init->opts->pid_file, init->pid);
        return 0;
}

static void init_done(RtInit *init) {
        for (size_t i = 0; i < _OCI_NS_MAX; i++)
                safe_close(init->ns_fds[i]);
        for (size_t i = 0; init->idmap_fds && init->config && i < init->config->n_mounts; i++)
                safe_close(init->idmap_fds[i]);
        init->idmap_fds = mfree(init->idmap_fds);
        safe_close(init->dmz_fd);
        safe_close(init->fifo_fd);
        init->cgroup = cg_manager_free(init->cgroup);
        init->config = oci_config_free(init->config);
        free(init->bundle);
        free(init->rootfs);
        free(init->config_text);
        free(init->state_dir);
}

static void kill_init(RtInit *init) {
        if (init->pid > 0) {
                (void) kill(init->pid, SIGKILL);
                (void) wait_for_pid(init->pid);
                init->pid = 0;
        }
}

/* Move into the joined pid namespace for the clone only; returns the fd to come back with. */
static int enter_pid_ns(RtInit *init, int *ret_saved) {
        _cleanup_close_ int saved = -EBADF;
        int fd = init->ns_fds[OCI_NS_PID];

        *ret_saved = -EBADF;
        if (fd < 0 || init->double_fork)
                return 0;
        saved = open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
        if (saved < 0)
                return log_error_errno(errno, "Failed to open own pid namespace: %m");
        if (setns(fd, CLONE_NEWPID) < 0)
                return log_error_errno(errno, "Failed to join pid namespace: %m");
        *ret_saved = TAKE_FD(saved);
        return 0;
}

/* Phase 1: config.json, bundle, rootfs and the state directory's path; nothing is made yet. */
static int load_config(RtInit *init) {
        int r;

        if (init->ctx->systemd_cgroup && access("/run/systemd/system", F_OK) < 0)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EOPNOTSUPP),
                                "--systemd-cgroup: systemd is not running on this host (no "
                                "/run/systemd/system); use the default cgroupfs driver");
        r = load_bundle(init);
        if (r < 0)
                return r;
        init->rootless = is_rootless();
        return rt_state_dir(init->ctx, init->opts->id, &init->state_dir);
}

/* Phase 4: namespaces to join, idmapped mount trees, exec.fifo, the exec trampoline. */
static int prepare_init(RtInit *init) {
        int r;

        r = plan_namespaces(init);
        if (r < 0)
                return r;
        r = prepare_idmaps(init);
        if (r < 0)
                return r;
        if (init->use_fifo) {
                _cleanup_free_ char *fifo = path_join(init->state_dir, RT_FIFO_FILE);
                if (!fifo || mkfifo(fifo, 0600) < 0)
                        return log_error_errno(fifo ? errno : ENOMEM, "Failed to create exec fifo: %m");
        }
        r = rt_dmz_open(&init->dmz_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to prepare the exec trampoline: %m");
        return 0;
}

/*
 * Phases 5 and 6: clone the init, give it its id maps and cgroup, and tell it to go. *ret_sock is
 * the parent's end of the sync socket. On failure no init is left.
 */
static int start_init(RtInit *init, int *ret_sock) {
        _cleanup_close_ int sock_parent = -EBADF, saved_pidns = -EBADF;
        int pair[2] = { -EBADF, -EBADF };
        int r, joined;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return log_error_errno(errno, "Failed to create sync socket: %m");
        sock_parent = pair[0];
        init->sync_fd = pair[1];
        r = enter_pid_ns(init, &saved_pidns);
        if (r < 0) {
                init->sync_fd = safe_close(init->sync_fd);
                return r;
        }
        joined = clone_init(init);
        if (saved_pidns >= 0 && setns(saved_pidns, CLONE_NEWPID) < 0)
                log_debug_errno(errno, "Failed to return to own pid namespace: %m");
        init->sync_fd = safe_close(init->sync_fd);
        if (joined < 0)
                return log_error_errno(joined, "Failed to create container init: %m");
        if (init->userns_new && (init->clone_flags & CLONE_NEWUSER)) {
                r = write_maps(init, init->pid);
                if (r < 0)
                        goto err_init;
        }
        if (init->cgroup && joined == 0) {
                r = cg_manager_enter(init->cgroup, init->pid);
                if (r < 0) {
                        log_error_errno(r, "Failed to move container init into its cgroup: %m");
                        goto err_init;
                }
        }
        /*
         * Resources (v1 device rules: a dozen kernfs writes) only now, while the init joins its cgroups
         * on the other CPU: it waits for RT_SYNC_GO below before it mounts, makes device nodes or runs
         * anything of the container's, so every limit is in place by then. ~0.1 ms off create and run.
         */
        r = rt_cgroup_apply(init->config, init->rootless, init->cgroup);
        if (r < 0)
                goto err_init;
        r = rt_sync_send(sock_parent, RT_SYNC_GO, (int32_t) init->pid);
        if (r < 0) {
                log_error_errno(r, "Failed to start container init: %m");
                goto err_init;
        }
        *ret_sock = TAKE_FD(sock_parent);
        return 0;

err_init:
        kill_init(init);
        return r;
}

/*
 * The shared part of create and run: on success the init is READY, waiting
 * (on the fifo for create, on RT_SYNC_EXEC for run), state.json is written,
 * and *ret_sock is the parent's end of the sync socket.
 */
static int create_container(RtInit *init, int *ret_sock, int *ret_master) {
        _cleanup_close_ int sock = -EBADF;
        pid_t saved_pid = 0;
        int r;

        init->sync_fd = init->fifo_fd = init->dmz_fd = -EBADF;
        r = load_config(init);
        if (r < 0)
                return r;
        /* run writes config.json later, in parallel with the init's setup */
        r = rt_state_dir_create(
                        init->ctx, init->opts->id, init->state_dir,
                        init->use_fifo ? init->config_text : NULL, init->config_len);
        if (r < 0)
                return r;
        r = rt_cgroup_setup(
                        init->config, init->opts->id, init->rootless, /* apply= */ false, &init->cgroup, NULL);
        if (r < 0)
                goto err_state;
        r = prepare_init(init);
        if (r < 0)
                goto err_cgroup;
        r = start_init(init, &sock);
        if (r < 0)
                goto err_cgroup;
        if (!init->use_fifo) {
                /* run: write the state while the init sets itself up (on another CPU) instead of
                 * after its READY, when it waits for us: ~0.2 ms off `run`. Nothing but this process
                 * uses a container that `run` is still creating. config.json first: whoever sees
                 * state.json may read it. */
                r = rt_state_config_write(init->state_dir, init->config_text, init->config_len);
                if (r >= 0)
                        r = save_state(init);
                if (r < 0)
                        goto err_init;
                saved_pid = init->pid;
        }
        r = serve_init(init, sock, ret_master);
        if (r < 0)
                goto err_init;
        if (init->pid != saved_pid) { /* create, or the init's pid changed (RT_SYNC_PID) */
                r = save_state(init);
                if (r < 0)
                        goto err_init;
        }
        if (init->opts->ret_pid)
                *init->opts->ret_pid = init->pid;
        *ret_sock = TAKE_FD(sock);
        return 0;

err_init:
        kill_init(init);
err_cgroup:
        if (init->cgroup)
                (void) cg_manager_destroy(init->cgroup, 1000000);
err_state:
        (void) rm_rf_at(AT_FDCWD, init->state_dir);
        return r;
}

int rt_create(const RtContext *ctx, const RtCreateOptions *o) {
        RtInit init = { .ctx = ctx, .opts = o, .use_fifo = true };
        _cleanup_close_ int sock = -EBADF;
        int r;

        r = create_container(&init, &sock, NULL);
        init_done(&init);
        return r;
}

/* ------------------------------------------------------------------ start */

/*
 * The init wrote '0' into the fifo once a reader appeared; EOF then means
 * it reached execve (the fifo is O_CLOEXEC). Anything else is an RtError.
 */
static int wait_exec(int fd, int pidfd, const RtState *s, const char *id) {
        struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
        char buf[1 + sizeof(RtSyncMsg)];
        size_t got = 0;

        for (;;) {
                ssize_t n;
                if (poll(p, pidfd >= 0 ? 2 : 1, 10000) < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "poll: %m");
                }
                n = read(fd, buf + got, sizeof buf - got);
                if (n > 0) {
                        got += (size_t) n;
                        if (got == sizeof buf) {
                                RtSyncMsg m;
                                memcpy(&m, buf + 1, sizeof m);
                                m.err.stage[sizeof m.err.stage - 1] = m.err.msg[sizeof m.err.msg - 1] = 0;
                                return rt_error_log(&m.err);
                        }
                        continue;
                }
                if (n == 0 && got >= 1)
                        return 0; /* exec'd */
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return log_error_errno(errno, "Failed to read exec fifo: %m");
                /* Without a pidfd, the pid (checked by its start time) tells. */
                if ((p[1].revents & POLLIN) || (pidfd < 0 && !rt_state_init_alive(s)))
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(ESRCH), "container %s init exited before start", id);
        }
}

static int run_poststart(const RtState *s, const char *dir) {
        _cleanup_(oci_config_freep) OciConfig *c = NULL;
        int r;

        r = rt_config_load_saved(dir, &c);
        if (r < 0)
                return r;
        return rt_hooks_run_for(c, OCI_HOOK_POSTSTART, s->id, "running", s->pid, s->bundle, true);
}

int rt_start(const RtContext *ctx, const char *id) {
        _cleanup_(rt_state_freep) RtState *s = NULL;
        _cleanup_free_ char *dir = NULL, *fifo = NULL;
        _cleanup_close_ int fd = -EBADF, pidfd = -EBADF;
        OciStatus status;
        int r;

        r = rt_state_load_status(ctx, id, &s, &dir, &status);
        if (r < 0)
                return r;
        if (status != OCI_STATUS_CREATED)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL), "cannot start a container in state %s: %s",
                                oci_status_to_string(status), id);
        fifo = path_join(dir, RT_FIFO_FILE);
        if (!fifo)
                return log_error_errno(ENOMEM, "Out of memory");
        fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open exec fifo of %s: %m", id);
        /* Only one start wins: the fifo disappears with the first reader. */
        if (unlink(fifo) < 0)
                return log_error_errno(
                                errno == ENOENT ? EBUSY : errno, "container %s is already starting: %m", id);
        (void) rt_state_pidfd(s, &pidfd);
        r = wait_exec(fd, pidfd, s, id);
        if (r < 0)
                return r;
        return run_poststart(s, dir);
}

/* -------------------------------------------------------------------- run */

static int run_release(RtInit *init, int sock, int master) {
        _cleanup_close_ int s = sock, m = master;
        int r, status;

        r = rt_release(s);
        if (r < 0) {
                kill_init(init);
                (void) rt_delete(init->ctx, init->opts->id, true);
                return r;
        }
        s = safe_close(s);
        (void) rt_hooks_run_for(
                        init->config, OCI_HOOK_POSTSTART, init->opts->id, "running", init->pid, init->bundle,
                        true);
        if (init->opts->detach)
                return 0;
        status = rt_foreground(init->pid, m);
        if (init->opts->keep)
                return status;
        /* runc run removes the container once its process is gone. */
        rt_container_remove_exited(init->ctx, init->opts->id, init->config);
        return status;
}

int rt_run(const RtContext *ctx, const RtCreateOptions *o) {
        RtInit init = { .ctx = ctx, .opts = o, .use_fifo = false };
        _cleanup_close_ int sock = -EBADF, master = -EBADF;
        int r;

        if (!o->no_subreaper && !o->detach)
                (void) prctl(PR_SET_CHILD_SUBREAPER, 1);
        r = create_container(&init, &sock, o->detach ? NULL : &master);
        if (r < 0)
                goto out;
        r = run_release(&init, TAKE_FD(sock), TAKE_FD(master));
out:
        init_done(&init);
        return r;
}
