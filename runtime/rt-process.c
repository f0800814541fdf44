/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "rt-internal.h"

/* The exec trampoline, embedded at build time (runtime/dmz). */
extern const unsigned char rt_dmz_blob[];
extern const size_t rt_dmz_blob_size;

int rt_process_setup_rlimits(const OciProcess *p) {
        for (size_t i = 0; i < p->n_rlimits; i++) {
                struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
                if (setrlimit(p->rlimits[i].type, &rl) < 0)
                        return -errno;
        }
        return 0;
}

static bool setgroups_allowed(void) {
        _cleanup_free_ char *s = NULL;
        if (read_one_line_at(AT_FDCWD, "/proc/self/setgroups", &s) < 0)
                return true;
        return !streq(s, "deny");
}

/*
 * Switch to the process user while keeping the capabilities we are about to
 * set explicitly: PR_SET_KEEPCAPS across setresuid(), then capset().
 */
int rt_process_setup_user(const OciProcess *p, bool in_userns) {
        const OciUser *u = &p->user;

        if (setgroups_allowed()) {
                gid_t *g = calloc(MAX(u->n_additional_gids, 1u), sizeof(gid_t));
                if (!g)
                        return -ENOMEM;
                for (size_t i = 0; i < u->n_additional_gids; i++)
                        g[i] = u->additional_gids[i];
                int r = setgroups(u->n_additional_gids, g);
                free(g);
                if (r < 0 && !(in_userns && errno == EPERM))
                        return -errno;
        } else if (u->n_additional_gids > 0)
                return -EPERM;
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return -errno;
        if (setresgid(u->gid, u->gid, u->gid) < 0)
                return -errno;
        if (setresuid(u->uid, u->uid, u->uid) < 0)
                return -errno;
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return -errno;
        if (u->umask.set)
                umask((mode_t) u->umask.v & 0777);
        else
                umask(0022);
        return 0;
}

static int cap_last(void) {
        static int last = -1;
        if (last < 0) {
                _cleanup_free_ char *s = NULL;
                int v;
                if (read_one_line_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", &s) >= 0 &&
                    safe_atoi(s, &v) >= 0)
                        last = v;
                else
                        last = CAP_LAST_CAP;
        }
        return last;
}

/* Before the user switch: dropping from the bounding set needs CAP_SETPCAP in the effective set. */
int rt_process_drop_bounding(const OciProcess *p) {
        int last = cap_last();
        for (int i = 0; i <= last && i < 64; i++)
                if (!(p->capabilities.bounding >> i & 1) && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 &&
                    errno != EINVAL)
                        return -errno;
        return 0;
}

int rt_process_setup_caps(const OciProcess *p) {
        const OciCapabilities *c = &p->capabilities;
        int last = cap_last(), r = 0;
        cap_t caps;

        caps = cap_init();
        if (!caps)
                return -ENOMEM;
        for (int i = 0; i <= last && i < 64; i++) {
                cap_value_t v = i;
                if (c->effective >> i & 1)
                        cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET);
                if (c->permitted >> i & 1)
                        cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET);
                if (c->inheritable >> i & 1)
                        cap_set_flag(caps, CAP_INHERITABLE, 1, &v, CAP_SET);
        }
        if (cap_set_proc(caps) < 0)
                r = -errno;
        cap_free(caps);
        if (r < 0)
                return r;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        /* An ambient capability needs to be permitted and inheritable; runc's own default template
         * asks for ambient ones without inheritable, so those are skipped, as runc and crun do. */
        for (int i = 0; i <= last && i < 64; i++)
                if ((c->ambient >> i & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0 &&
                    errno != EPERM)
                        return -errno;
        return 0;
}

/* PATH lookup as execvp() would do it, but reporting like runc (podman maps these texts to 126/127). */
int rt_process_resolve_exec(const OciProcess *p, char **ret_path) {
        const char *name = p->args[0], *path;
        struct stat st;

        if (strchr(name, '/')) {
                if (stat(name, &st) < 0)
                        return -errno;
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                if (access(name, X_OK) < 0)
                        return -errno;
                *ret_path = strdup(name);
                return *ret_path ? 0 : -ENOMEM;
        }
        path = strv_env_get(p->env, "PATH") ?: RT_DEFAULT_PATH;
        for (const char *d = path; *d;) {
                size_t n = strcspn(d, ":");
                _cleanup_free_ char *cand = NULL;
                if (xasprintf(&cand, "%.*s/%s", (int) n, n ? d : ".", name) < 0)
                        return -ENOMEM;
                if (stat(cand, &st) >= 0 && S_ISREG(st.st_mode) && access(cand, X_OK) >= 0) {
                        *ret_path = TAKE_PTR(cand);
                        return 0;
                }
                d += n;
                d += *d == ':';
        }
        return -ENOENT;
}

/* HOME from the container's /etc/passwd when the config does not set it, as runc does. */
static char *home_of(uid_t uid) {
        _cleanup_free_ char *pw = NULL;
        char *save = NULL;
        if (read_full_file_at(AT_FDCWD, "/etc/passwd", 4 * 1024 * 1024, &pw, NULL) < 0)
                return NULL;
        for (char *line = strtok_r(pw, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *f[7] = {};
                size_t n = 0;
                for (char *q = line; n < 7; n++) {
                        f[n] = q;
                        q = strchr(q, ':');
                        if (!q)
                                break;
                        *q++ = 0;
                }
                unsigned u;
                if (n >= 5 && f[2] && safe_atou(f[2], &u) >= 0 && u == uid && f[5] && *f[5])
                        return strdup(f[5]);
        }
        return NULL;
}

int rt_process_build_env(const OciProcess *p, char ***ret) {
        _cleanup_strv_free_ char **env = strv_copy(p->env);
        int r;

        if (!env)
                return -ENOMEM;
        if (!strv_env_get(env, "HOME")) {
                _cleanup_free_ char *home = home_of(p->user.uid), *e = NULL;
                if (xasprintf(&e, "HOME=%s", home ?: "/") < 0)
                        return -ENOMEM;
                r = strv_env_set(&env, e);
                if (r < 0)
                        return r;
        }
        if (!strv_env_get(env, "PATH")) {
                r = strv_env_set(&env, "PATH=" RT_DEFAULT_PATH);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(env);
        return 0;
}

/* Call f for every open fd >= first, as /proc/self/fd lists them; -errno when it cannot be read. */
static int for_each_fd(int first, void (*f)(int fd)) {
        _cleanup_close_ int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;

        if (!d)
                return -errno;
        dfd = -EBADF; /* owned by d now */
        for (struct dirent *de; (de = readdir(d));) {
                int fd;
                if (safe_atoi(de->d_name, &fd) >= 0 && fd >= first && fd != dirfd(d))
                        f(fd);
        }
        closedir(d);
        return 0;
}

static void set_cloexec(int fd) {
        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void close_if_inheritable(int fd) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC))
                (void) close(fd);
}

/*
 * No host fd may reach the container (CVE-2024-21626): everything from
 * 3 + preserve up is marked close-on-exec (the init still needs a few of
 * them until execve), and the preserved ones are made inheritable.
 */
int rt_close_fds(unsigned preserve) {
        int first = 3 + (int) preserve;

        if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0 &&
            for_each_fd(first, set_cloexec) < 0) {
                /* No close_range and no /proc in the container: every possible fd, one by one. */
                struct rlimit rl;
                rlim_t max = getrlimit(RLIMIT_NOFILE, &rl) >= 0 ? rl.rlim_cur : 1024;
                for (rlim_t fd = (rlim_t) first; fd < MIN(max, (rlim_t) INT_MAX); fd++)
                        set_cloexec((int) fd);
        }
        for (int fd = 3; fd < first; fd++) {
                int fl = fcntl(fd, F_GETFD);
                if (fl >= 0)
                        (void) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
        }
        return 0;
}

/*
 * In the init (or exec child), first thing: fds inherited without O_CLOEXEC
 * that were not asked to be preserved are closed, so a container waiting in
 * "created" does not hold the caller's pipes open (a caller reading our
 * output to EOF would hang until `start`). Ours are all O_CLOEXEC.
 */
int rt_close_inherited_fds(unsigned preserve) {
        return for_each_fd(3 + (int) preserve, close_if_inheritable);
}

/* stdio handed in by an embedding caller becomes the process's 0, 1, 2. */
int rt_setup_stdio(const int *stdio) {
        int fds[3];

        if (!stdio)
                return 0;
        /* Move them above 2 first, so dup2 of one cannot clobber another. */
        for (int i = 0; i < 3; i++) {
                fds[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3);
                if (fds[i] < 0)
                        return -errno;
        }
        for (int i = 0; i < 3; i++)
                if (dup2(fds[i], i) < 0)
                        return -errno;
        for (int i = 0; i < 3; i++)
                close(fds[i]);
        return 0;
}

int rt_dmz_open(int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (rt_dmz_blob_size == 0)
                return -EOPNOTSUPP;
        fd = memfd_create("aula-dmz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        r = loop_write(fd, rt_dmz_blob, rt_dmz_blob_size);
        if (r < 0)
                return r;
        if (fchmod(fd, 0555) < 0)
                return -errno;
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/*
 * Exec through the trampoline: aula-dmz is a sealed memfd, so at the moment
 * the user's binary is resolved (a "#!/proc/self/exe" script included),
 * /proc/self/exe is the trampoline and never the host runtime binary.
 * errfd stays open across that first exec and is closed by the second one,
 * so the runtime sees EOF exactly when the user's program runs; any failure
 * arrives on it as one RtSyncMsg error.
 */
void rt_exec_process(int dmz_fd, const char *path, char *const *args, char *const *env, int errfd) {
        size_t n = strv_length(env);
        char **envp = calloc(n + 2, sizeof(char *)), *dmz_env = NULL;

        if (envp && dmz_fd >= 0 && errfd >= 0 && xasprintf(&dmz_env, "AULA_DMZ=%d:%s", errfd, path) >= 0) {
                memcpy(envp, env, n * sizeof(char *));
                envp[n] = dmz_env;
                (void) fcntl(errfd, F_SETFD, 0);
                syscall(SYS_execveat, dmz_fd, "", args, envp, AT_EMPTY_PATH);
                (void) fcntl(errfd, F_SETFD, FD_CLOEXEC);
        }
        /* Only a seccomp profile denying execveat (or no trampoline) gets here: exec directly. */
        if (dmz_fd < 0 || errfd < 0 || errno == EPERM || errno == ENOSYS || errno == EACCES)
                execve(path, args, env);
        {
                RtSyncMsg m = { .type = RT_SYNC_ERROR, .err.error = errno };
                snprintf(m.err.stage, sizeof m.err.stage, "exec");
                snprintf(m.err.msg, sizeof m.err.msg, "exec %s: %s", path, strerror(errno));
                if (errfd >= 0)
                        (void) write(errfd, &m, sizeof m);
        }
        _exit(127);
}
