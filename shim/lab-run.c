/* SPDX-License-Identifier: Apache-2.0 */
#include <poll.h>
#include <time.h>

#include "netns.h"
#include "shim-lab.h"

/*
 * Lab-wide starts and stops: many students' shims in flight at once, with
 * progress reported per student. The callers (lab.c) hold the lab's lock.
 */

#define MAX_INFLIGHT 64

/* -------------------------------------------------------- parallel starts */

typedef struct Job {
        ShimStart st;
        ShimLabResult *res;
        bool active;
} Job;

static void progress(
                ShimProgressFn fn,
                void *ud,
                ShimProgressKind kind,
                const char *what,
                const char *student,
                int error,
                unsigned done,
                unsigned total) {
        ShimProgress p = {
                .kind = kind, .what = what, .student = student, .error = error, .done = done, .total = total
        };
        if (fn)
                fn(&p, ud);
}

typedef struct Batch {
        ShimContext *c;
        Job *jobs;
        size_t n;
        unsigned done;
        unsigned active;
        ShimProgressFn fn;
        void *ud;
        const char *what;
} Batch;

static void job_finish(Batch *b, Job *j, int r) {
        if (r < 0) {
                result_fail(j->res, r, "%s", j->st.message ?: strerror(ERRNO_VALUE(r)));
                if (j->st.ready_fd >= 0)
                        shim_start_abort(b->c, &j->st);
        }
        j->st.ready_fd = safe_close(j->st.ready_fd);
        if (j->active)
                b->active--;
        j->active = false;
        b->done++;
        progress(b->fn, b->ud, SHIM_PROGRESS_STEP, b->what, j->res->student, r < 0 ? r : 0, b->done,
                 (unsigned) b->n);
}

/* Handle ready-channel events of the starts in flight; wait at most timeout_ms (-1: until one). */
static void batch_service(Batch *b, int timeout_ms) {
        struct pollfd p[MAX_INFLIGHT];
        Job *owner[MAX_INFLIGHT];
        nfds_t k = 0;

        for (size_t i = 0; i < b->n && k < MAX_INFLIGHT; i++)
                if (b->jobs[i].active) {
                        p[k] = (struct pollfd){ .fd = b->jobs[i].st.ready_fd, .events = POLLIN };
                        owner[k++] = &b->jobs[i];
                }
        if (k == 0)
                return;
        if (poll(p, k, timeout_ms) <= 0)
                return;
        for (nfds_t i = 0; i < k; i++) {
                int r;
                if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                r = shim_start_step(b->c, &owner[i]->st);
                if (r != 0)
                        job_finish(b, owner[i], r > 0 ? 0 : r);
        }
}

/* Every student's /etc/hosts lists its classmates: rewrite them once all are attached. */
static void refresh_hosts(ShimContext *c, const char *lab, char **students) {
        _cleanup_(netns_lab_freep) NetnsLab *nl = NULL;

        if (netns_lab_load(c->root, lab, &nl, NULL) < 0)
                return;
        STRV_FOREACH(s, students) {
                _cleanup_free_ char *name = NULL, *run = NULL, *path = NULL, *text = NULL;
                _cleanup_close_ int fd = -EBADF;
                if (instance_name(lab, *s, &name) < 0 || shim_live(c, name) != SHIM_LIVE_RUNNING ||
                    !(run = shim_run_path(c, name)) || !(path = path_join(run, "hosts")) ||
                    netns_render_hosts(nl, *s, &text) < 0)
                        continue;
                /* Bind-mounted into the instance: rewrite the same inode. */
                fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0)
                        (void) loop_write(fd, text, strlen(text));
        }
}

/*
 * Tests of interrupted lab creations: AULA_FAULT_INJECT=kill-after-starts=N makes
 * this process SIGKILL itself once N shims are spawned, exactly as a teacher's
 * `kill -9` (or a crash) would, at a point a test can rely on.
 */
static void fault_point(size_t started) {
        const char *f = getenv("AULA_FAULT_INJECT"), *v;
        unsigned n;

        if (f && (v = startswith(f, "kill-after-starts=")) && safe_atou(v, &n) >= 0 && started >= n)
                (void) raise(SIGKILL);
}

/*
 * Start the named instances with many in flight: the expensive part on our
 * side (mounting the root, writing the bundle) runs here one after another
 * while the shims, each its own process, create their containers in parallel.
 */
int lab_start_many(ShimContext *c, const char *lab, char **students, ShimLabResult *res, ShimProgressFn fn, void *ud) {
        Batch b = { .c = c, .n = strv_length(students), .fn = fn, .ud = ud, .what = "start" };
        uint64_t deadline;
        size_t next = 0;

        b.jobs = calloc(b.n ?: 1, sizeof *b.jobs);
        if (!b.jobs)
                return log_error_errno(ENOMEM, "Out of memory");
        /*
         * The lab's cgroup directory belongs to the lab, not to its first student: made here and
         * removed by lab_stop_many() (both under the lab's lock), so a student's cleanup never removes
         * it under another student being created.
         */
        if (shim_cgroup_mkdir(c, lab) < 0)
                log_debug("cannot create the cgroup directory of lab %s", lab);
        progress(fn, ud, SHIM_PROGRESS_BEGIN, "start", NULL, 0, 0, (unsigned) b.n);
        deadline = now_usec(CLOCK_MONOTONIC) + SHIM_START_TIMEOUT_USEC;
        while (b.done < b.n) {
                while (next < b.n && b.active < MAX_INFLIGHT) {
                        Job *j = &b.jobs[next];
                        int r;
                        j->res = &res[next];
                        j->st.ready_fd = -EBADF;
                        next++;
                        if (instance_name(lab, j->res->student, &j->st.name) < 0) {
                                job_finish(&b, j, -ENOMEM);
                                continue;
                        }
                        switch (shim_live(c, j->st.name)) {
                        case SHIM_LIVE_RUNNING:
                                job_finish(&b, j, 0); /* running already */
                                continue;
                        case SHIM_LIVE_STALE:
                                (void) shim_reap(c, j->st.name, -EBADF);
                                break;
                        default:
                                break;
                        }
                        r = shim_def_load(c, j->st.name, &j->st.def);
                        if (r == -ENOENT) {
                                result_fail(j->res, ENOENT,
                                            "no definition (the lab was interrupted: rerun lab create)");
                                job_finish(&b, j, -ENOENT);
                                continue;
                        }
                        if (r >= 0)
                                r = shim_start_begin(c, &j->st);
                        if (r < 0) {
                                job_finish(&b, j, r);
                                continue;
                        }
                        j->active = true;
                        b.active++;
                        fault_point(next);
                        batch_service(&b, 0);
                }
                batch_service(&b, next < b.n ? 0 : 1000);
                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        break;
        }
        for (size_t i = 0; i < b.n; i++) {
                if (b.jobs[i].active) {
                        b.jobs[i].st.message = b.jobs[i].st.message ?: strdup("timed out");
                        job_finish(&b, &b.jobs[i], -ETIMEDOUT);
                }
                shim_start_done(&b.jobs[i].st);
        }
        free(b.jobs);
        refresh_hosts(c, lab, students);
        progress(fn, ud, SHIM_PROGRESS_END, "start", NULL, 0, b.done, (unsigned) b.n);
        return count_failed(res, b.n) > 0 ? -EIO : 0;
}

/* Stop many: send every stop first, then collect the answers, then wait for the cleanups. */
int lab_stop_many(
                ShimContext *c,
                const char *lab,
                char **students,
                ShimLabResult *res,
                uint64_t timeout_usec,
                ShimProgressFn fn,
                void *ud) {
        size_t n = strv_length(students);
        _cleanup_free_ int *fds = calloc(n ?: 1, sizeof(int));
        char req[96];
        unsigned done = 0;

        if (!fds)
                return log_error_errno(ENOMEM, "Out of memory");
        snprintf(req, sizeof req, "{\"op\":\"stop\",\"timeout_ms\":%" PRIu64 "}", timeout_usec / 1000);
        progress(fn, ud, SHIM_PROGRESS_BEGIN, "stop", NULL, 0, 0, (unsigned) n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = NULL;
                fds[i] = -EBADF;
                if (instance_name(lab, students[i], &name) < 0)
                        continue;
                if (shim_live(c, name) == SHIM_LIVE_STALE)
                        (void) shim_reap(c, name, -EBADF);
                if (shim_connect(c, name, &fds[i]) >= 0 &&
                    shim_send_packet(fds[i], req, strlen(req), NULL, 0) < 0)
                        fds[i] = safe_close(fds[i]);
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = NULL;
                char buf[4096];
                int r;
                if (fds[i] >= 0) {
                        (void) shim_recv_packet(
                                        fds[i], buf, sizeof buf, (int[SHIM_MAX_FDS]){}, SHIM_MAX_FDS, NULL);
                        fds[i] = safe_close(fds[i]);
                }
                if (instance_name(lab, students[i], &name) < 0) {
                        result_fail(&res[i], ENOMEM, "out of memory");
                        continue;
                }
                r = shim_wait_gone(c, name, timeout_usec + 60 * 1000000ULL);
                if (r >= 0 && shim_live(c, name) == SHIM_LIVE_STALE)
                        r = shim_reap(c, name, -EBADF);
                if (r < 0)
                        result_fail(&res[i], r, "did not stop: %s", strerror(-r));
                progress(fn, ud, SHIM_PROGRESS_STEP, "stop", students[i], res[i].error, ++done, (unsigned) n);
        }
        /* The lab's own cgroup directory was made by whichever student came first. */
        if (n == strv_length(students) && count_failed(res, n) == 0)
                (void) shim_cgroup_rmdir(c, lab);
        progress(fn, ud, SHIM_PROGRESS_END, "stop", NULL, 0, done, (unsigned) n);
        return count_failed(res, n) > 0 ? -EIO : 0;
}
