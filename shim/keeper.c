/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "shim-clients.h"

/*
 * The keeper (keeper/aula-keeper.c) is embedded and executed from a sealed
 * memfd, so it needs no installed file and costs a few KiB of memory.
 */

extern const unsigned char shim_keeper_blob[];
extern const size_t shim_keeper_blob_size;

static int blob_fd(int *ret) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = memfd_create("aula-keeper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        r = loop_write(fd, shim_keeper_blob, shim_keeper_blob_size);
        if (r < 0)
                return r;
        if (fchmod(fd, 0555) < 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                return -errno;
        *ret = TAKE_FD(fd);
        return 0;
}

static char **reaper_env(int lock_fd) {
        char **env = NULL, *e = NULL;

        if (xasprintf(&e, "AULA_REAP_LOCK_FD=%d", lock_fd) < 0 || strv_push(&env, e) < 0) {
                free(e);
                return strv_free(env);
        }
        if (strv_extend(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") < 0)
                return strv_free(env);
        return env;
}

int shim_keeper_start(Shim *s) {
        _cleanup_close_ int memfd = -EBADF, logfd = -EBADF, rd = -EBADF, wr = -EBADF;
        _cleanup_strv_free_ char **argv = NULL, **envp = NULL;
        _cleanup_free_ char *fdstr = NULL, *log_path = NULL;
        int p[2], r;
        pid_t pid;

        if (strv_length(s->cfg.reap) == 0)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "run.json: reap: missing");
        r = blob_fd(&memfd);
        if (r < 0)
                return log_error_errno(r, "Failed to prepare the keeper: %m");
        if (pipe2(p, O_CLOEXEC) < 0)
                return log_error_errno(errno, "pipe: %m");
        rd = p[0];
        wr = p[1];
        if (xasprintf(&fdstr, "%d", rd) < 0 || strv_extend(&argv, "aula-keeper") < 0 ||
            strv_extend(&argv, fdstr) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        STRV_FOREACH(a, s->cfg.reap)
                if (strv_extend(&argv, *a) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");
        envp = reaper_env(s->lock_fd);
        log_path = path_join(s->cfg.data_dir, "shim.log");
        if (!envp || !log_path)
                return log_error_errno(ENOMEM, "Out of memory");
        logfd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);

        pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "Failed to start the keeper: %m");
        if (pid == 0) {
                sigset_t all;
                sigfillset(&all);
                (void) sigprocmask(SIG_UNBLOCK, &all, NULL);
                (void) signal(SIGPIPE, SIG_DFL);
                if (logfd >= 0)
                        (void) dup2(logfd, STDERR_FILENO);
                (void) fcntl(rd, F_SETFD, 0);
                (void) fcntl(s->lock_fd, F_SETFD, 0);
                syscall(SYS_execveat, memfd, "", argv, envp, AT_EMPTY_PATH);
                _exit(127);
        }
        s->keeper_pid = (pid_t) pid;
        s->keeper_pipe = TAKE_FD(wr);
        return 0;
}

int shim_exec_reaper(Shim *s) {
        _cleanup_strv_free_ char **envp = NULL;

        if (strv_length(s->cfg.reap) == 0 || s->lock_fd < 0)
                return -EINVAL;
        envp = reaper_env(s->lock_fd);
        if (!envp)
                return -ENOMEM;
        (void) fcntl(s->lock_fd, F_SETFD, 0);
        execve(s->cfg.reap[0], s->cfg.reap, envp);
        return log_error_errno(errno, "Failed to run the cleanup '%s': %m", s->cfg.reap[0]);
}
