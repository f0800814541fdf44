/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "netns.h"
#include "cgroups.h"
#include "runtime.h"
#include "shim-lib.h"

/*
 * Locks, always taken in this order: a lab's lock (shared for operations on
 * one of its students, exclusive for lab-wide changes), the names lock (while
 * names are created or removed), an instance's lock (start, stop, rm, reset,
 * snapshot). The shim's own lock (RUN/.../shim.lock) only says whether a shim
 * or its cleanup is alive.
 */

static int lock_for(ShimContext *c, const char *name, int *ret_lab_fd, int *ret_inst_fd) {
        _cleanup_free_ char *lab = NULL, *student = NULL;
        int r;

        *ret_lab_fd = -EBADF;
        r = shim_name_split(name, &lab, &student);
        if (r < 0)
                return log_error_errno(r, "invalid instance name '%s'", name);
        if (lab && (r = shim_lock_lab(c, lab, LOCK_SH, ret_lab_fd)) < 0)
                return r;
        r = shim_lock_instance(c, name, ret_inst_fd);
        if (r < 0)
                *ret_lab_fd = safe_close(*ret_lab_fd);
        return r;
}

static int load_def(ShimContext *c, const char *name, ShimDef *ret) {
        int r = shim_def_load(c, name, ret);
        if (r == -ENOENT)
                return log_error_errno(SYNTHETIC_ERRNO(ENOENT), "no such instance: %s", name);
        return r;
}

int shim_lock_existing(ShimContext *c, const char *name, int *ret_lab_fd, int *ret_inst_fd) {
        _cleanup_close_ int lab_fd = -EBADF, fd = -EBADF;
        ShimDef d = {};
        int r;

        r = lock_for(c, name, &lab_fd, &fd);
        if (r < 0)
                return r;
        r = load_def(c, name, &d);
        shim_def_done(&d);
        if (r < 0)
                return r;
        *ret_lab_fd = TAKE_FD(lab_fd);
        *ret_inst_fd = TAKE_FD(fd);
        return 0;
}

static char *now_rfc3339(void) {
        char buf[64];
        return strdup(format_rfc3339(now_usec(CLOCK_REALTIME) * 1000, buf, sizeof buf));
}

/* ------------------------------------------------------------------ create */

int shim_image_resolve(ShimContext *c, const char *image, char **ret_digest) {
        _cleanup_free_ char *msg = NULL;
        ImgStore *store;
        int r;

        r = shim_store(c, &store);
        if (r < 0)
                return r;
        r = img_resolve(store, image, ret_digest, &msg);
        if (r == -ENOENT)
                return log_error_errno(
                                SYNTHETIC_ERRNO(ENOENT), "unknown image '%s' (see 'aula image ls')", image);
        if (r < 0)
                return log_error_errno(r, "image '%s': %s", image, msg ?: strerror(-r));
        return 0;
}

int shim_instance_create_def(ShimContext *c, const char *name, const ShimCreateOptions *o, ShimDef *ret) {
        _cleanup_free_ char *digest = NULL;
        ShimDef d = {};
        int r;

        if (!shim_name_is_valid(name))
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "invalid instance name '%s': use 1-63 of A-Z a-z 0-9 _ . -, starting with a "
                                "letter or digit",
                                name);
        if (isempty(o->image))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--image is required");
        if (o->isolation < 0 || o->isolation >= _SHIM_ISOLATION_MAX)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid isolation");
        STRV_FOREACH(e, o->env)
                if (!strchr(*e, '=') || **e == '=')
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--env '%s': expected KEY=VALUE", *e);
        r = shim_limits_check(&o->limits);
        if (r < 0)
                return r;
        r = shim_image_resolve(c, o->image, &digest);
        if (r < 0)
                return r;
        d.name = strdup(name);
        d.image = strdup(o->image);
        d.image_digest = TAKE_PTR(digest);
        d.isolation = o->isolation;
        d.limits = o->limits;
        d.env = strv_copy(o->env ?: (char *[]){ NULL });
        d.cmd = o->cmd ? strv_copy(o->cmd) : NULL;
        d.created = now_rfc3339();
        if (!d.name || !d.image || !d.env || (o->cmd && !d.cmd) || !d.created ||
            shim_name_split(name, &d.lab, &d.student) < 0) {
                shim_def_done(&d);
                return log_error_errno(ENOMEM, "Out of memory");
        }
        *ret = d;
        return 0;
}

static int name_taken(ShimContext *c, const char *name) {
        _cleanup_free_ char *dir = shim_data_dir(c, name), *def = NULL, *lab = NULL;

        if (!dir || !(def = path_join(dir, "instance.json")) || !(lab = shim_lab_file(c, name)))
                return -ENOMEM;
        if (access(def, F_OK) >= 0)
                return log_error_errno(SYNTHETIC_ERRNO(EEXIST), "instance %s already exists", name);
        if (!strchr(name, '/') && access(lab, F_OK) >= 0)
                return log_error_errno(SYNTHETIC_ERRNO(EEXIST), "%s is the name of a lab", name);
        return 0;
}

int shim_instance_create(ShimContext *c, const char *name, const ShimCreateOptions *o) {
        _cleanup_close_ int names = -EBADF;
        ShimDef d = {};
        int r;

        if (shim_name_is_valid(name) && strchr(name, '/'))
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "'%s': students are added with 'aula lab create' (or --lab)", name);
        r = shim_instance_create_def(c, name, o, &d);
        if (r < 0)
                return r;
        r = shim_lock_names(c, &names);
        if (r >= 0)
                r = name_taken(c, name);
        if (r >= 0)
                r = shim_def_save(c, &d);
        names = safe_close(names);
        shim_def_done(&d);
        if (r < 0 || !o->start)
                return r;
        return shim_instance_start(c, name);
}

/* ------------------------------------------------------------------- start */

static int run_start(ShimContext *c, ShimStart *st) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + SHIM_START_TIMEOUT_USEC;
        int r;

        r = shim_start_begin(c, st);
        if (r < 0)
                return r;
        for (;;) {
                struct pollfd p = { .fd = st->ready_fd, .events = POLLIN };
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline) {
                        st->message = strdup("timed out");
                        r = -ETIMEDOUT;
                        break;
                }
                if (poll(&p, 1, (int) ((deadline - now) / 1000) + 1) < 0 && errno != EINTR) {
                        r = -errno;
                        break;
                }
                if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                r = shim_start_step(c, st);
                if (r != 0)
                        break;
        }
        if (r > 0) {
                st->ready_fd = safe_close(st->ready_fd);
                return 0;
        }
        if (st->message)
                log_error_errno(r, "%s: %s", st->name, st->message);
        shim_start_abort(c, st);
        return r;
}

/* With the instance lock held: clean up after a dead shim; refuse a running instance. */
static int check_startable(ShimContext *c, const char *name) {
        switch (shim_live(c, name)) {
        case SHIM_LIVE_RUNNING:
                return log_error_errno(SYNTHETIC_ERRNO(EALREADY), "instance %s is running already", name);
        case SHIM_LIVE_STALE:
                return shim_reap(c, name, -EBADF);
        default:
                return 0;
        }
}

static int start_locked(ShimContext *c, const char *name, const char *restore) {
        ShimStart st = { .ready_fd = -EBADF };
        int r;

        r = load_def(c, name, &st.def);
        if (r < 0)
                return r;
        r = check_startable(c, name);
        if (r >= 0) {
                st.name = strdup(name);
                st.restore = restore ? strdup(restore) : NULL;
                r = st.name && (!restore || st.restore) ? run_start(c, &st)
                                                        : log_error_errno(ENOMEM, "Out of memory");
        }
        shim_start_done(&st);
        return r;
}

int shim_instance_start_locked(ShimContext *c, const char *name) {
        return start_locked(c, name, NULL);
}

/* ------------------------------------------------------- checkpoint, restore */

static char *checkpoint_dir(ShimContext *c, const char *name) {
        _cleanup_free_ char *data = shim_data_dir(c, name);
        return data ? path_join(data, "checkpoint") : NULL;
}

int shim_instance_checkpoint(ShimContext *c, const char *name, bool leave_running) {
        _cleanup_close_ int lab_fd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *dir = NULL, *req = NULL, *msg = NULL;
        ShimDef d = {};
        int r;

        r = lock_for(c, name, &lab_fd, &fd);
        if (r < 0)
                return r;
        r = load_def(c, name, &d);
        if (r >= 0 && d.isolation != SHIM_ISOLATION_CONTAINER)
                r = log_error_errno(
                                SYNTHETIC_ERRNO(EOPNOTSUPP), "%s: checkpoints are for container instances",
                                name);
        shim_def_done(&d);
        if (r < 0)
                return r;
        if (shim_live(c, name) != SHIM_LIVE_RUNNING)
                return log_error_errno(SYNTHETIC_ERRNO(ESRCH), "instance %s is not running", name);
        dir = checkpoint_dir(c, name);
        if (!dir ||
            xasprintf(&req, "{\"op\":\"checkpoint\",\"image_path\":\"%s\",\"leave_running\":%s}", dir,
                      leave_running ? "true" : "false") < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        /* A new checkpoint replaces the last one. */
        (void) rm_rf_at(AT_FDCWD, dir);
        r = shim_request(c, name, req, NULL, &msg);
        if (r < 0) /* The directory stays for CRIU's log; restore looks for a complete image set. */
                return log_error_errno(r, "%s: %s", name, msg ?: strerror(-r));
        if (!leave_running && (r = shim_wait_gone(c, name, 60 * 1000000ULL)) < 0)
                return log_error_errno(r, "%s: the instance did not finish after its checkpoint: %m", name);
        return 0;
}

int shim_instance_restore(ShimContext *c, const char *name) {
        _cleanup_close_ int lab_fd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *dir = NULL, *inventory = NULL;
        int r;

        r = lock_for(c, name, &lab_fd, &fd);
        if (r < 0)
                return r;
        dir = checkpoint_dir(c, name);
        if (!dir || !(inventory = path_join(dir, "inventory.img")))
                return log_error_errno(ENOMEM, "Out of memory");
        if (access(inventory, F_OK) < 0) {
                ShimDef d = {};
                r = load_def(c, name, &d);
                shim_def_done(&d);
                if (r < 0)
                        return r;
                return log_error_errno(
                                SYNTHETIC_ERRNO(ENOENT),
                                "%s has no checkpoint ('aula checkpoint %s' makes one)", name, name);
        }
        r = start_locked(c, name, dir);
        if (r < 0)
                return r;
        /* Its files went on from there: the checkpoint would not match them again. */
        (void) rm_rf_at(AT_FDCWD, dir);
        return 0;
}

int shim_instance_start(ShimContext *c, const char *name) {
        _cleanup_close_ int lab_fd = -EBADF, fd = -EBADF;
        int r;

        r = lock_for(c, name, &lab_fd, &fd);
        if (r < 0)
                return r;
        return shim_instance_start_locked(c, name);
}

/* -------------------------------------------------------------------- stop */

int shim_instance_stop_locked(ShimContext *c, const char *name, uint64_t timeout_usec, int *ret_exit_code) {
        _cleanup_(json_freep) JsonVal v = NULL;
        _cleanup_free_ char *msg = NULL;
        char req[96];
        int r, code = -1;

        switch (shim_live(c, name)) {
        case SHIM_LIVE_NONE:
                break;
        case SHIM_LIVE_STALE:
                r = shim_reap(c, name, -EBADF);
                if (r < 0)
                        return r;
                break;
        case SHIM_LIVE_RUNNING:
                snprintf(req, sizeof req, "{\"op\":\"stop\",\"timeout_ms\":%" PRIu64 "}", timeout_usec / 1000);
                r = shim_request(c, name, req, &v, &msg);
                if (r >= 0) {
                        JsonVal x = json_get(v, "exit_code");
                        code = x && YAJL_IS_INTEGER(x) ? (int) YAJL_GET_INTEGER(x) : -1;
                } else if (r != -ESRCH)
                        return log_error_errno(r, "%s: stop: %s", name, msg ?: strerror(-r));
                /* The shim is gone once it answered; its cleanup follows. */
                r = shim_wait_gone(c, name, timeout_usec + 60 * 1000000ULL);
                if (r < 0)
                        return log_error_errno(r, "%s: the instance did not finish stopping: %m", name);
                if (shim_live(c, name) == SHIM_LIVE_STALE && (r = shim_reap(c, name, -EBADF)) < 0)
                        return r;
                break;
        }
        if (ret_exit_code)
                *ret_exit_code = code;
        return 0;
}

int shim_instance_stop(ShimContext *c, const char *name, uint64_t timeout_usec, int *ret_exit_code) {
        _cleanup_close_ int lab_fd = -EBADF, fd = -EBADF;
        int r;

        r = shim_lock_existing(c, name, &lab_fd, &fd);
        if (r < 0)
                return r;
        return shim_instance_stop_locked(c, name, timeout_usec, ret_exit_code);
}

int shim_instance_restart(ShimContext *c, const char *name, uint64_t timeout_usec) {
        _cleanup_close_ int lab_fd = -EBADF, fd = -EBADF;
        int r;

        r = shim_lock_existing(c, name, &lab_fd, &fd);
        if (r >= 0)
                r = shim_instance_stop_locked(c, name, timeout_usec, NULL);
        if (r >= 0)
                r = shim_instance_start_locked(c, name);
        return r;
}

/* ---------------------------------------------------------------- remove */

int shim_instance_purge(ShimContext *c, const char *name) {
        _cleanup_free_ char *dir = shim_data_dir(c, name), *lock = NULL, *parent = NULL;
        int r;

        if (!dir || xasprintf(&lock, "%s/locks/instance/%s.lock", c->root, name) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        /* Forget the definition first: a crash halfway leaves files, not a half instance. */
        r = rm_rf_at(AT_FDCWD, dir);
        if (r < 0)
                return log_error_errno(r, "Cannot remove '%s': %m", dir);
        (void) unlink(lock);
        if (strchr(name, '/')) {
                /* The lab's directory of students goes with its last student. */
                parent = strndup(dir, (size_t) (strrchr(dir, '/') - dir));
                if (parent)
                        (void) rmdir(parent);
        }
        return 0;
}

int shim_instance_remove_locked(ShimContext *c, const char *name) {
        _cleanup_close_ int names = -EBADF;
        int r;

        r = shim_lock_names(c, &names);
        if (r < 0)
                return r;
        return shim_instance_purge(c, name);
}

int shim_instance_remove(ShimContext *c, const char *name, bool force, uint64_t timeout_usec) {
        _cleanup_close_ int lab_fd = -EBADF, fd = -EBADF;
        int r;

        if (shim_name_is_valid(name) && strchr(name, '/'))
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL), "'%s' is a student: use 'aula lab rm' for labs",
                                name);
        r = shim_lock_existing(c, name, &lab_fd, &fd);
        if (r < 0)
                return r;
        if (shim_live(c, name) == SHIM_LIVE_RUNNING && !force)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EBUSY), "instance %s is running: stop it first, or use -f",
                                name);
        r = shim_instance_stop_locked(c, name, force ? 0 : timeout_usec, NULL);
        if (r < 0)
                return r;
        return shim_instance_remove_locked(c, name);
}

/* ------------------------------------------------------------- state, list */

void shim_instance_info_done(ShimInstanceInfo *i) {
        free(i->name);
        free(i->lab);
        free(i->image);
        free(i->image_digest);
        free(i->isolation);
        free(i->state);
        free(i->exit_reason);
        free(i->created);
        free(i->started);
        free(i->finished);
        free(i->ipv4);
        *i = (ShimInstanceInfo){};
}

void shim_instance_info_free_many(ShimInstanceInfo *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                shim_instance_info_done(&l[i]);
        free(l);
}

static char *json_str(JsonVal v, const char *key) {
        JsonVal x = json_get(v, key);
        return x && YAJL_IS_STRING(x) ? strdup(YAJL_GET_STRING(x) ?: "") : NULL;
}

static void read_exit(ShimContext *c, const char *name, ShimInstanceInfo *i) {
        _cleanup_free_ char *dir = shim_data_dir(c, name), *path = NULL, *text = NULL;
        _cleanup_(json_freep) JsonVal v = NULL;
        JsonVal x;
        size_t len;

        if (!dir || !(path = path_join(dir, "exit.json")))
                return;
        if (read_full_file_at(AT_FDCWD, path, 64 * 1024, &text, &len) < 0 ||
            json_parse(text, len, &v, NULL) < 0)
                return;
        x = json_get(v, "exit_code");
        if (x && YAJL_IS_INTEGER(x))
                i->exit_code = (int) YAJL_GET_INTEGER(x);
        i->exit_reason = json_str(v, "reason");
        i->finished = json_str(v, "finished");
}

static int info_from_def(ShimContext *c, ShimDef *d, ShimInstanceInfo *ret) {
        _cleanup_(json_freep) JsonVal v = NULL;
        ShimInstanceInfo i = { .pid = 0, .exit_code = -1 };
        ShimLive live;

        i.name = TAKE_PTR(d->name);
        i.lab = TAKE_PTR(d->lab);
        i.image = TAKE_PTR(d->image);
        i.image_digest = TAKE_PTR(d->image_digest);
        i.isolation = strdup(shim_isolation_to_string(d->isolation));
        i.created = TAKE_PTR(d->created);
        i.ipv4 = TAKE_PTR(d->ipv4);
        i.limits = d->limits;
        live = shim_live(c, i.name);
        if (live == SHIM_LIVE_STALE && shim_reap(c, i.name, -EBADF) >= 0)
                live = SHIM_LIVE_NONE;
        if (live == SHIM_LIVE_RUNNING && shim_request(c, i.name, "{\"op\":\"state\"}", &v, NULL) >= 0) {
                JsonVal x = json_get(v, "pid");
                i.state = json_str(v, "state");
                i.started = json_str(v, "started");
                i.pid = x && YAJL_IS_INTEGER(x) ? (pid_t) YAJL_GET_INTEGER(x) : 0;
        } else if (live == SHIM_LIVE_RUNNING)
                i.state = strdup("stopping"); /* the shim is gone, its cleanup runs */
        else
                i.state = strdup("stopped");
        if (!i.state || streq(i.state, "stopped"))
                read_exit(c, i.name, &i);
        if (!i.state || !i.isolation) {
                shim_instance_info_done(&i);
                return log_error_errno(ENOMEM, "Out of memory");
        }
        *ret = i;
        return 0;
}

int shim_instance_info(ShimContext *c, const char *name, ShimInstanceInfo *ret) {
        ShimDef d = {};
        int r;

        if (!shim_name_is_valid(name))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid instance name '%s'", name);
        r = load_def(c, name, &d);
        if (r < 0)
                return r;
        r = info_from_def(c, &d, ret);
        shim_def_done(&d);
        return r;
}

static int cmp_info(const void *a, const void *b) {
        return strcmp(((const ShimInstanceInfo *) a)->name, ((const ShimInstanceInfo *) b)->name);
}

static int list_dir(ShimContext *c, const char *prefix, ShimInstanceInfo **l, size_t *n, bool recurse) {
        _cleanup_free_ char *dir = NULL;
        DIR *d;
        int r = 0;

        dir = prefix ? shim_data_dir(c, prefix) : path_join(c->root, "instances");
        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Cannot list '%s': %m", dir);
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *name = NULL;
                ShimDef def = {};
                ShimInstanceInfo *nl;
                if (de->d_name[0] == '.' || de->d_type != DT_DIR)
                        continue;
                if (prefix ? xasprintf(&name, "%s/%s", prefix, de->d_name) < 0 : !(name = strdup(de->d_name))) {
                        r = -ENOMEM;
                        break;
                }
                if (!shim_name_is_valid(name))
                        continue;
                r = shim_def_load(c, name, &def);
                if (r == -ENOENT) {
                        r = 0;
                        if (recurse && !prefix)
                                (void) list_dir(c, name, l, n, false); /* a lab's students */
                        continue;
                }
                if (r < 0) {
                        r = 0; /* logged; show the others */
                        continue;
                }
                nl = realloc(*l, (*n + 1) * sizeof **l);
                if (!nl) {
                        shim_def_done(&def);
                        r = -ENOMEM;
                        break;
                }
                *l = nl;
                r = info_from_def(c, &def, &nl[*n]);
                shim_def_done(&def);
                if (r < 0)
                        break;
                (*n)++;
        }
        closedir(d);
        return r;
}

int shim_instance_list(ShimContext *c, const char *lab, ShimInstanceInfo **ret, size_t *ret_n) {
        ShimInstanceInfo *l = NULL;
        size_t n = 0;
        int r;

        r = list_dir(c, lab, &l, &n, true);
        if (r < 0) {
                shim_instance_info_free_many(l, n);
                return r;
        }
        if (n > 1)
                qsort(l, n, sizeof *l, cmp_info);
        *ret = l;
        *ret_n = n;
        return 0;
}

/* ------------------------------------------------------------------ reaper */

static int read_run_json(const char *run_dir, char **ret_id, char **ret_state_root) {
        _cleanup_free_ char *path = path_join(run_dir, SHIM_RUN_CONFIG), *text = NULL;
        _cleanup_(json_freep) JsonVal v = NULL;
        JsonVal ct;
        size_t len;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, path, 256 * 1024, &text, &len);
        if (r < 0)
                return r;
        r = json_parse(text, len, &v, NULL);
        if (r < 0)
                return r;
        ct = json_get(v, "container");
        *ret_id = ct ? json_str(ct, "id") : NULL;
        *ret_state_root = ct ? json_str(ct, "state_root") : NULL;
        return 0;
}

/* A VM instance's cgroup (the VMM and nothing else): kill what is left, remove what its shim made. */
static int reap_vm_cgroup(const char *run_dir) {
        _cleanup_free_ char *path = path_join(run_dir, "vm-cgroup"), *saved = NULL;
        _cleanup_(cg_manager_freep) CgManager *m = NULL;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, path, 64 * 1024, &saved, NULL);
        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = cg_manager_load(saved, &m);
        if (r >= 0) {
                (void) cg_manager_kill(m, SIGKILL);
                r = cg_manager_destroy(m, 10 * 1000000ULL);
        }
        if (r < 0)
                return log_error_errno(r, "Cannot remove the cgroup of the VM in %s: %m", run_dir);
        return 0;
}

static void note_shim_died(ShimContext *c, const char *name) {
        _cleanup_free_ char *dir = shim_data_dir(c, name), *path = NULL, *fin = now_rfc3339(), *text = NULL;

        if (!dir || !fin || !(path = path_join(dir, "exit.json")) || access(dir, F_OK) < 0 ||
            access(path, F_OK) >= 0)
                return;
        if (xasprintf(&text,
                      "{\n\t\"exit_code\": 137,\n\t\"reason\": \"shim-died\",\n\t\"finished\": \"%s\"\n}",
                      fin) >= 0)
                (void) write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644);
}

int shim_reap(ShimContext *c, const char *name, int lock_fd) {
        _cleanup_free_ char *run_dir = shim_run_path(c, name), *lock = NULL, *root = NULL, *id = NULL,
                            *state_root = NULL, *msg = NULL, *lab = NULL, *student = NULL;
        _cleanup_close_ int own = -EBADF;
        ImgStore *store;
        int r, ret = 0;

        if (!run_dir || !(lock = path_join(run_dir, SHIM_LOCK_NAME)) || !(root = path_join(run_dir, "root")))
                return log_error_errno(ENOMEM, "Out of memory");
        if (access(run_dir, F_OK) < 0)
                return 0;
        if (lock_fd < 0) {
                r = shim_lock_path(lock, LOCK_EX, 60 * 1000000ULL, name, &own);
                if (r < 0)
                        return log_error_errno(r, "%s: cannot lock its run directory: %m", name);
                if (access(run_dir, F_OK) < 0)
                        return 0; /* someone else cleaned up meanwhile */
        }
        /* 1. Processes, cgroups and runtime state. */
        if (read_run_json(run_dir, &id, &state_root) >= 0 && id && state_root) {
                _cleanup_free_ char *state = NULL;
                RtContext ctx = { .state_root = state_root };
                /* No state: the container never got that far (the runtime cleaned up after itself). */
                if (xasprintf(&state, "%s/%s/state.json", state_root, id) >= 0 && access(state, F_OK) >= 0) {
                        r = rt_delete(&ctx, id, true);
                        if (r < 0 && r != -ENOENT && ret == 0)
                                ret = r;
                }
        }
        r = reap_vm_cgroup(run_dir);
        if (r < 0 && ret == 0)
                ret = r;
        /* 2. Network: a veth goes with the container's namespace, a lease or a tap does not. */
        if (shim_name_split(name, &lab, &student) >= 0 && lab) {
                _cleanup_free_ char *err = NULL;
                r = netns_detach(c->root, lab, student, &err);
                if (r < 0 && r != -ENOENT)
                        log_warning_errno(r, "%s: cannot detach it from its lab: %s", name, err ?: strerror(-r));
        }
        /* 3. The instance root and the layer references. */
        r = shim_store(c, &store);
        if (r >= 0) {
                r = img_instance_root_destroy(store, root, &msg);
                if (r < 0)
                        log_error_errno(r, "%s: cannot unmount its root: %s", name, msg ?: strerror(-r));
        }
        if (r < 0 && ret == 0)
                ret = r;
        note_shim_died(c, name);
        if (ret < 0)
                return log_error_errno(ret, "%s: cleanup incomplete; 'aula rm -f %s' retries: %m", name, name);
        r = rm_rf_at(AT_FDCWD, run_dir);
        if (r < 0)
                return log_error_errno(r, "Cannot remove '%s': %m", run_dir);
        return 0;
}
