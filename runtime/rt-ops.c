/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "rt-internal.h"

int rt_state(const RtContext *ctx, const char *id, char **ret_json) {
        _cleanup_(rt_state_freep) RtState *s = NULL;
        _cleanup_free_ char *dir = NULL;
        OciStatus st;
        int r;

        r = rt_state_load_status(ctx, id, &s, &dir, &st);
        if (r < 0)
                return r;
        r = rt_state_json(s, st, true, ret_json);
        if (r < 0)
                return log_error_errno(r, "Failed to format state: %m");
        return 0;
}

static int load_cgroup(const RtState *s, CgManager **ret) {
        int r;
        if (!s->cgroup)
                return -ENOENT;
        r = cg_manager_load(s->cgroup, ret);
        if (r < 0)
                return log_error_errno(r, "Corrupt cgroup record of container %s: %m", s->id);
        return 0;
}

int rt_kill(const RtContext *ctx, const char *id, int sig, bool all) {
        _cleanup_(rt_state_freep) RtState *s = NULL;
        _cleanup_(cg_manager_freep) CgManager *m = NULL;
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        OciStatus st;
        int r;

        r = rt_state_load_status(ctx, id, &s, &dir, &st);
        if (r < 0)
                return r;
        if (all && load_cgroup(s, &m) >= 0) {
                /* A frozen task only acts on SIGKILL once thawed. */
                r = cg_manager_kill(m, sig);
                if (r < 0 && r != -ESRCH)
                        return log_error_errno(r, "Failed to signal the processes of %s: %m", id);
                if (st == OCI_STATUS_PAUSED && sig == SIGKILL)
                        (void) cg_manager_freeze(m, false);
                return 0;
        }
        if (st == OCI_STATUS_STOPPED)
                return log_error_errno(SYNTHETIC_ERRNO(ESRCH), "container not running");
        r = rt_state_pidfd(s, &pidfd);
        if (r < 0)
                return log_error_errno(SYNTHETIC_ERRNO(ESRCH), "container not running");
        r = rt_state_kill(s, pidfd, sig);
        if (r < 0)
                return log_error_errno(r, r == -ESRCH ? "no such process" : "Failed to send signal: %m");
        return 0;
}

/* Wait until the init is gone (not our child: a pidfd says when). */
static int wait_gone(const RtState *s, uint64_t timeout_usec) {
        _cleanup_close_ int pidfd = -EBADF;
        struct pollfd p;

        if (rt_state_pidfd(s, &pidfd) < 0)
                return 0;
        if (pidfd < 0) {
                /* No pidfds: poll the pid (checked by its start time) every 10 ms. */
                for (uint64_t waited = 0; rt_state_init_alive(s); waited += 10000) {
                        if (waited >= timeout_usec)
                                return -ETIMEDOUT;
                        (void) usleep(10000);
                }
                return 0;
        }
        p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
        if (poll(&p, 1, (int) (timeout_usec / 1000)) <= 0)
                return -ETIMEDOUT;
        return 0;
}

/* Everything but the process itself: cgroup, poststop hooks (config: NULL = the saved one), state dir. */
static int container_destroy(const RtState *s, const char *dir, const OciConfig *config) {
        _cleanup_(oci_config_freep) OciConfig *c = NULL;
        _cleanup_(cg_manager_freep) CgManager *m = NULL;
        int r = 0;

        if (load_cgroup(s, &m) >= 0) {
                r = cg_manager_destroy(m, 5 * 1000000);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove cgroup of %s: %m", s->id);
        }
        if (config || rt_config_load_saved(dir, &c) >= 0)
                (void) rt_hooks_run_for(config ?: c, OCI_HOOK_POSTSTOP, s->id, "stopped", 0, s->bundle, true);
        r = rm_rf_at(AT_FDCWD, dir);
        if (r < 0)
                return log_error_errno(r, "Failed to remove state of %s: %m", s->id);
        return 0;
}

int rt_container_destroy(const RtState *s, const char *dir) {
        return container_destroy(s, dir, NULL);
}

/*
 * No kill before destroying: with its own pid namespace the container's
 * processes died with its init, and cg_manager_destroy() SIGKILLs whatever
 * keeps a cgroup busy anyway. Listing every hierarchy first (three rounds
 * of cgroup.procs and directory reads) cost a foreground `run` ~0.3 ms.
 */
void rt_container_remove_exited(const RtContext *ctx, const char *id, const OciConfig *config) {
        _cleanup_(rt_state_freep) RtState *s = NULL;
        _cleanup_free_ char *dir = NULL;

        if (rt_state_load(ctx, id, &s, &dir) < 0)
                return;
        (void) container_destroy(s, dir, config);
}

int rt_delete(const RtContext *ctx, const char *id, bool force) {
        _cleanup_(rt_state_freep) RtState *s = NULL;
        _cleanup_free_ char *dir = NULL;
        OciStatus st;
        int r;

        /* runc: delete --force of a missing container succeeds (-ENOENT), but says so. */
        r = rt_state_load_status(ctx, id, &s, &dir, &st);
        if (r < 0)
                return r;
        if (st == OCI_STATUS_RUNNING || st == OCI_STATUS_PAUSED) {
                if (!force)
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EBUSY),
                                        "cannot delete container %s that is not stopped: %s", id,
                                        oci_status_to_string(st));
        }
        if (st != OCI_STATUS_STOPPED) {
                _cleanup_(cg_manager_freep) CgManager *m = NULL;
                _cleanup_close_ int pidfd = -EBADF;
                if (load_cgroup(s, &m) >= 0) {
                        (void) cg_manager_kill(m, SIGKILL);
                        if (st == OCI_STATUS_PAUSED)
                                (void) cg_manager_freeze(m, false);
                }
                if (rt_state_pidfd(s, &pidfd) >= 0)
                        (void) rt_state_kill(s, pidfd, SIGKILL);
                r = wait_gone(s, 10 * 1000000);
                if (r < 0)
                        return log_error_errno(r, "container %s did not die after SIGKILL: %m", id);
        }
        return rt_container_destroy(s, dir);
}

static int freeze(const RtContext *ctx, const char *id, bool frozen) {
        _cleanup_(rt_state_freep) RtState *s = NULL;
        _cleanup_(cg_manager_freep) CgManager *m = NULL;
        _cleanup_free_ char *dir = NULL;
        OciStatus st;
        int r;

        r = rt_state_load_status(ctx, id, &s, &dir, &st);
        if (r < 0)
                return r;
        if (frozen && st != OCI_STATUS_RUNNING)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL), "container %s is not running: %s", id,
                                oci_status_to_string(st));
        if (!frozen && st != OCI_STATUS_PAUSED)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL), "container %s is not paused: %s", id,
                                oci_status_to_string(st));
        if (load_cgroup(s, &m) < 0)
                return log_error_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "container %s has no cgroup to freeze", id);
        r = cg_manager_freeze(m, frozen);
        if (r < 0)
                return log_error_errno(r, "Failed to %s container %s: %m", frozen ? "pause" : "resume", id);
        return 0;
}

int rt_pause(const RtContext *ctx, const char *id) {
        return freeze(ctx, id, true);
}

int rt_resume(const RtContext *ctx, const char *id) {
        return freeze(ctx, id, false);
}

int rt_pids(const RtContext *ctx, const char *id, pid_t **ret, size_t *ret_n) {
        _cleanup_(rt_state_freep) RtState *s = NULL;
        _cleanup_(cg_manager_freep) CgManager *m = NULL;
        _cleanup_free_ char *dir = NULL;
        OciStatus st;
        int r;

        r = rt_state_load_status(ctx, id, &s, &dir, &st);
        if (r < 0)
                return r;
        if (st == OCI_STATUS_STOPPED) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (load_cgroup(s, &m) < 0) {
                /* No cgroup (rootless): the init alone. */
                *ret = malloc(sizeof(pid_t));
                if (!*ret)
                        return log_error_errno(ENOMEM, "Out of memory");
                (*ret)[0] = s->pid;
                *ret_n = 1;
                return 0;
        }
        r = cg_manager_pids(m, ret, ret_n);
        if (r < 0)
                return log_error_errno(r, "Failed to list processes of %s: %m", id);
        return 0;
}

static int cmp_info(const void *a, const void *b) {
        return strcmp(((const RtContainerInfo *) a)->id, ((const RtContainerInfo *) b)->id);
}

void rt_container_info_free_many(RtContainerInfo *l, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(l[i].id);
                free(l[i].status);
                free(l[i].bundle);
                free(l[i].rootfs);
                free(l[i].created);
                free(l[i].owner);
        }
        free(l);
}

int rt_list(const RtContext *ctx, RtContainerInfo **ret, size_t *ret_n) {
        RtContainerInfo *l = NULL;
        size_t n = 0;
        DIR *d;

        d = opendir(ctx->state_root);
        if (!d) {
                if (errno == ENOENT) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                return log_error_errno(errno, "Failed to open '%s': %m", ctx->state_root);
        }
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_(rt_state_freep) RtState *s = NULL;
                _cleanup_free_ char *dir = NULL;
                RtContainerInfo *nl;

                if (de->d_name[0] == '.' || !rt_id_is_valid(de->d_name))
                        continue;
                /* A container being created or deleted right now has no (valid) state yet: skip it. */
                LogLevel saved = log_get_max_level();
                log_set_max_level(LOG_LEVEL_ERROR - 1);
                int r = rt_state_load(ctx, de->d_name, &s, &dir);
                log_set_max_level(saved);
                if (r < 0)
                        continue;
                nl = realloc(l, sizeof *l * (n + 1));
                if (!nl)
                        goto oom;
                l = nl;
                l[n] = (RtContainerInfo){
                        .id = TAKE_PTR(s->id),
                        .pid = s->pid,
                        .status = strdup(oci_status_to_string(rt_state_status(s, dir))),
                        .bundle = TAKE_PTR(s->bundle),
                        .rootfs = TAKE_PTR(s->rootfs),
                        .created = TAKE_PTR(s->created),
                        .owner = TAKE_PTR(s->owner),
                };
                n++;
                if (!l[n - 1].status)
                        goto oom;
                if (streq(l[n - 1].status, "stopped"))
                        l[n - 1].pid = 0;
        }
        closedir(d);
        if (n > 1)
                qsort(l, n, sizeof *l, cmp_info);
        *ret = l;
        *ret_n = n;
        return 0;
oom:
        closedir(d);
        rt_container_info_free_many(l, n);
        return log_error_errno(ENOMEM, "Out of memory");
}

int rt_list_json(const RtContext *ctx, char **ret_json) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        RtContainerInfo *l = NULL;
        size_t n = 0;
        int r;

        r = rt_list(ctx, &l, &n);
        if (r < 0)
                return r;
        r = json_writer_new(false, &w);
        if (r >= 0) {
                jw_array_open(w);
                for (size_t i = 0; i < n; i++) {
                        RtState s = {
                                .id = l[i].id,
                                .pid = l[i].pid,
                                .bundle = l[i].bundle,
                                .rootfs = l[i].rootfs,
                                .created = l[i].created,
                                .owner = l[i].owner,
                        };
                        rt_state_write_json(w, &s, oci_status_from_string(l[i].status));
                }
                jw_array_close(w);
                r = json_writer_finish(w, ret_json, NULL);
        }
        rt_container_info_free_many(l, n);
        if (r < 0)
                return log_error_errno(r, "Failed to format list: %m");
        return 0;
}

int rt_update(const RtContext *ctx, const char *id, const OciResources *res) {
        _cleanup_(rt_state_freep) RtState *s = NULL;
        _cleanup_(cg_manager_freep) CgManager *m = NULL;
        _cleanup_(cg_resources_done) CgResources cg = {};
        _cleanup_free_ char *dir = NULL;
        OciStatus st;
        int r;

        r = rt_state_load_status(ctx, id, &s, &dir, &st);
        if (r < 0)
                return r;
        if (st == OCI_STATUS_STOPPED)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "container %s is not running", id);
        r = rt_resources_from_oci(res, &cg);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        if (load_cgroup(s, &m) < 0)
                return log_error_errno(SYNTHETIC_ERRNO(EOPNOTSUPP), "container %s has no cgroup", id);
        r = cg_manager_apply(m, &cg);
        if (r < 0)
                return log_error_errno(r, "Failed to update resources of %s: %m", id);
        return 0;
}

/* Run ps with the given arguments, keep its header and the lines whose PID column is ours. */
int rt_ps_table(const RtContext *ctx, const char *id, char *const *ps_args, char **ret_text) {
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_free_ char *out = NULL, *res = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        int pfd[2], r, col = -1;
        size_t n = 0, len = 0, size = 0;
        pid_t child;

        r = rt_pids(ctx, id, &pids, &n);
        if (r < 0)
                return r;
        if (strv_extend(&argv, "ps") < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        if (strv_length((char **) ps_args) == 0)
                r = strv_extend(&argv, "-ef");
        else
                STRV_FOREACH(a, (char **) ps_args)
                        if ((r = strv_extend(&argv, *a)) < 0)
                                break;
        if (r < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return log_error_errno(errno, "pipe: %m");
        child = fork();
        if (child < 0)
                return log_error_errno(errno, "fork: %m");
        if (child == 0) {
                dup2(pfd[1], STDOUT_FILENO);
                execvp("ps", argv);
                _exit(127);
        }
        close(pfd[1]);
        r = read_full_fd(pfd[0], 16 * 1024 * 1024, &out, NULL);
        close(pfd[0]);
        if (wait_for_pid(child) != 0 || r < 0)
                return log_error_errno(r < 0 ? r : SYNTHETIC_ERRNO(EIO), "ps %s failed", argv[1]);
        for (char *line = out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
                nl = strchr(line, '\n');
                if (nl)
                        *nl = 0;
                bool keep = col < 0;
                if (col < 0) {
                        /* Header: find the PID column. */
                        int c = 0;
                        for (char *save = NULL, *copy = strdup(line),
                                  *t = copy ? strtok_r(copy, " \t", &save) : NULL;
                             t || (free(copy), false); t = strtok_r(NULL, " \t", &save), c++)
                                if (streq(t, "PID")) {
                                        col = c;
                                        free(copy);
                                        break;
                                }
                        if (col < 0)
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "ps output has no PID column");
                } else {
                        _cleanup_free_ char *copy = strdup(line);
                        char *save = NULL, *t = copy ? strtok_r(copy, " \t", &save) : NULL;
                        int p;
                        for (int c = 0; t && c < col; c++)
                                t = strtok_r(NULL, " \t", &save);
                        if (t && safe_atoi(t, &p) >= 0)
                                for (size_t i = 0; i < n; i++)
                                        keep = keep || pids[i] == p;
                }
                if (!keep)
                        continue;
                size_t l = strlen(line);
                if (len + l + 2 > size) {
                        size = (len + l + 2) * 2;
                        char *nr = realloc(res, size);
                        if (!nr)
                                return log_error_errno(ENOMEM, "Out of memory");
                        res = nr;
                }
                memcpy(res + len, line, l);
                len += l;
                res[len++] = '\n';
                res[len] = 0;
        }
        *ret_text = res ? TAKE_PTR(res) : strdup("");
        return *ret_text ? 0 : log_error_errno(ENOMEM, "Out of memory");
}
