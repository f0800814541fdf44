/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "netns.h"
#include "shim-lab.h"

/*
 * Labs: DATA/labs/LAB.json names the students and says how they were made;
 * each student is an ordinary instance LAB/STUDENT. Lab-wide commands hold
 * the lab's lock exclusively, so two teachers (or two terminals) never
 * interleave changes to one lab.
 *
 * Creation is restartable: the definition is written first with
 * "complete": false, then the network, the students' definitions and their
 * starts follow; only then does it become complete. A rerun of the same
 * `aula lab create` after an interruption (kill -9 of aula, a crash) picks up
 * where it stopped; `aula lab rm` removes whatever exists.
 */

#define LAB_MAX (4 * 1024 * 1024)

static const char *const network_names[_SHIM_NETWORK_MAX] = {
        [SHIM_NETWORK_ISOLATED] = "isolated",
        [SHIM_NETWORK_NAT] = "nat",
        [SHIM_NETWORK_EXAM] = "exam",
};

const char *shim_network_to_string(ShimNetwork n) {
        return n >= 0 && n < _SHIM_NETWORK_MAX ? network_names[n] : NULL;
}

ShimNetwork shim_network_from_string(const char *s) {
        for (int i = 0; s && i < _SHIM_NETWORK_MAX; i++)
                if (streq(network_names[i], s))
                        return (ShimNetwork) i;
        return _SHIM_NETWORK_INVALID;
}

static NetnsMode netns_mode(ShimNetwork n) {
        return n == SHIM_NETWORK_NAT             ? NETNS_MODE_NAT
                        : n == SHIM_NETWORK_EXAM ? NETNS_MODE_EXAM
                                                 : NETNS_MODE_ISOLATED;
}

/* ---------------------------------------------------------------- students */

int shim_students_parse(const char *text, size_t len, char ***ret, char **error_msg) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ unsigned *lines = NULL;
        size_t n = 0;
        unsigned lineno = 0;

        for (const char *p = text, *end = text + len; p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p)), *s = p, *e = nl ?: end;
                _cleanup_free_ char *name = NULL;
                unsigned *nlines;
                lineno++;
                p = nl ? nl + 1 : end;
                while (s < e && isspace((unsigned char) *s))
                        s++;
                while (e > s && isspace((unsigned char) e[-1]))
                        e--;
                if (s == e || *s == '#')
                        continue;
                if (memchr(s, 0, (size_t) (e - s)))
                        return json_error(error_msg, "students", "line %u: a NUL byte", lineno);
                name = strndup(s, (size_t) (e - s));
                if (!name)
                        return -ENOMEM;
                if (!shim_name_is_valid(name) || strchr(name, '/'))
                        return json_error(
                                        error_msg, "students",
                                        "line %u: '%.64s' is not a valid student name (1-63 of A-Z a-z 0-9 _ . -, "
                                        "starting with a letter or digit)",
                                        lineno, name);
                for (size_t i = 0; i < n; i++)
                        if (streq(l[i], name))
                                return json_error(
                                                error_msg, "students",
                                                "line %u: '%s' is listed twice (first on line %u)", lineno,
                                                name, lines[i]);
                if (n >= 999)
                        return json_error(error_msg, "students", "more than 999 students");
                nlines = realloc(lines, (n + 1) * sizeof *lines);
                if (!nlines)
                        return -ENOMEM;
                lines = nlines;
                lines[n] = lineno;
                if (strv_push(&l, name) < 0)
                        return -ENOMEM;
                name = NULL;
                n++;
        }
        if (n == 0)
                return json_error(error_msg, "students", "the list has no students");
        *ret = TAKE_PTR(l);
        return 0;
}

int shim_students_count(unsigned n, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int width = n >= 100 ? 3 : 2;

        if (n == 0 || n > 999)
                return -ERANGE;
        for (unsigned i = 1; i <= n; i++) {
                char *s = NULL;
                if (xasprintf(&s, "student%0*u", width, i) < 0 || strv_push(&l, s) < 0) {
                        free(s);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

void shim_lab_results_free(ShimLabResult *l, size_t n) {
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].student);
                free(l[i].message);
                free(l[i].out);
                free(l[i].err);
                free(l[i].path);
        }
        free(l);
}

int results_new(char **students, ShimLabResult **ret, size_t *ret_n) {
        size_t n = strv_length(students);
        ShimLabResult *l = calloc(n ?: 1, sizeof *l);

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                l[i].exit_code = -1;
                l[i].student = strdup(students[i]);
                if (!l[i].student) {
                        shim_lab_results_free(l, n);
                        return -ENOMEM;
                }
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

void result_fail(ShimLabResult *r, int error, const char *fmt, ...) {
        va_list ap;

        r->error = -ERRNO_VALUE(error);
        free(r->message);
        va_start(ap, fmt);
        if (vasprintf(&r->message, fmt, ap) < 0)
                r->message = NULL;
        va_end(ap);
}

int count_failed(const ShimLabResult *l, size_t n) {
        int failed = 0;
        for (size_t i = 0; i < n; i++)
                failed += l[i].error < 0;
        return failed;
}

/* ------------------------------------------------------------ definition */

void lab_def_done(LabDef *d) {
        free(d->name);
        free(d->image);
        free(d->image_digest);
        strv_free(d->env);
        strv_free(d->cmd);
        strv_free(d->students);
        free(d->created);
        *d = (LabDef){};
}

int lab_def_load(ShimContext *c, const char *lab, LabDef *ret) {
        _cleanup_free_ char *path = shim_lab_file(c, lab), *text = NULL, *err = NULL, *iso = NULL, *net = NULL;
        _cleanup_(json_freep) JsonVal v = NULL;
        LabDef d = {};
        JsonVal x;
        size_t len;
        int r;

        if (!path)
                return log_error_errno(ENOMEM, "Out of memory");
        r = read_full_file_at(AT_FDCWD, path, LAB_MAX, &text, &len);
        if (r == -ENOENT)
                return log_error_errno(SYNTHETIC_ERRNO(ENOENT), "no such lab: %s", lab);
        if (r < 0)
                return log_error_errno(r, "Cannot read '%s': %m", path);
        r = json_parse(text, len, &v, &err);
#define STR(key, field) \
        if (r >= 0 && (x = json_get(v, key)) && !YAJL_IS_NULL(x)) \
                r = json_want_string(x, key, &(field), &err);
#define STRV(key, field) \
        if (r >= 0 && (x = json_get(v, key)) && !YAJL_IS_NULL(x)) \
                r = json_want_strv(x, key, &(field), &err);
#define U64(key, field) \
        if (r >= 0 && (x = json_get(v, key)) && !YAJL_IS_NULL(x)) \
                r = json_want_uint64(x, key, UINT64_MAX, &(field), &err);
        STR("name", d.name)
        STR("image", d.image)
        STR("image_digest", d.image_digest)
        STR("isolation", iso)
        STR("network", net)
        STR("created", d.created)
        STRV("env", d.env)
        STRV("cmd", d.cmd)
        STRV("students", d.students)
        U64("cpus_milli", d.limits.cpus_milli)
        U64("memory", d.limits.memory)
        U64("pids", d.limits.pids)
#undef STR
#undef STRV
#undef U64
        if (r >= 0 && (x = json_get(v, "complete")))
                r = json_want_bool(x, "complete", &d.complete, &err);
        if (r >= 0 && (!d.name || !streq(d.name, lab)))
                r = json_error(&err, "name", "does not match the file name");
        if (r >= 0 && !d.image_digest)
                r = json_error(&err, "image_digest", "missing");
        if (r >= 0 && (d.isolation = iso ? shim_isolation_from_string(iso) : SHIM_ISOLATION_CONTAINER) < 0)
                r = json_error(&err, "isolation", "unknown isolation '%s'", iso);
        if (r >= 0 && (d.network = net ? shim_network_from_string(net) : SHIM_NETWORK_ISOLATED) < 0)
                r = json_error(&err, "network", "unknown network mode '%s'", net);
        STRV_FOREACH(s, d.students)
                if (r >= 0 && (!shim_name_is_valid(*s) || strchr(*s, '/')))
                        r = json_error(&err, "students", "invalid student name '%s'", *s);
        if (r >= 0 && !d.students && !(d.students = calloc(1, sizeof(char *))))
                r = -ENOMEM;
        if (r < 0) {
                lab_def_done(&d);
                return log_error_errno(r, "Corrupt lab definition '%s': %s", path, err ?: strerror(-r));
        }
        *ret = d;
        return 0;
}

static int lab_def_save(ShimContext *c, const LabDef *d) {
        _cleanup_free_ char *path = shim_lab_file(c, d->name), *text = NULL, *dir = NULL;
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        size_t len;
        int r;

        if (!path || !(dir = path_join(c->root, "labs")) || json_writer_new(true, &w) < 0)
                return log_error_errno(ENOMEM, "Out of memory");
        jw_object_open(w);
        jw_key(w, "name");
        jw_string(w, d->name);
        shim_jw_recipe(w, d->image, d->image_digest, d->isolation, &d->limits, d->env, d->cmd);
        jw_key(w, "network");
        jw_string(w, shim_network_to_string(d->network));
        jw_key(w, "students");
        jw_strv(w, d->students);
        jw_key(w, "created");
        jw_string(w, d->created);
        jw_key(w, "complete");
        jw_bool(w, d->complete);
        jw_object_close(w);
        r = json_writer_finish(w, &text, &len);
        if (r >= 0)
                r = mkdir_p(dir, 0755);
        if (r >= 0)
                r = write_file_atomic_at(AT_FDCWD, path, text, len, 0644);
        if (r < 0)
                return log_error_errno(r, "Cannot write '%s': %m", path);
        return 0;
}

int instance_name(const char *lab, const char *student, char **ret) {
        return xasprintf(ret, "%s/%s", lab, student) < 0 ? -ENOMEM : 0;
}

int lab_open(ShimContext *c,
             const char *lab,
             int op,
             int *ret_lock,
             LabDef *ret_def,
             ShimLabResult **ret_res,
             size_t *ret_n) {
        _cleanup_close_ int lock = -EBADF;
        LabDef d = {};
        int r;

        r = shim_lock_lab(c, lab, op, &lock);
        if (r < 0)
                return r;
        r = lab_def_load(c, lab, &d);
        if (r < 0)
                return r;
        r = results_new(d.students, ret_res, ret_n);
        if (r < 0) {
                lab_def_done(&d);
                return log_error_errno(r, "Out of memory");
        }
        *ret_lock = TAKE_FD(lock);
        *ret_def = d;
        return 0;
}

/* ------------------------------------------------------------------ create */

static int lab_name_check(ShimContext *c, const char *lab) {
        _cleanup_free_ char *dir = NULL, *def = NULL;

        if (!shim_name_is_valid(lab) || strchr(lab, '/'))
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "invalid lab name '%s': use 1-63 of A-Z a-z 0-9 _ . -, starting with a letter or "
                                "digit",
                                lab);
        dir = shim_data_dir(c, lab);
        if (!dir || !(def = path_join(dir, "instance.json")))
                return log_error_errno(ENOMEM, "Out of memory");
        if (access(def, F_OK) >= 0)
                return log_error_errno(SYNTHETIC_ERRNO(EEXIST), "%s is the name of an instance", lab);
        return 0;
}

/* The address of the i-th student (0-based) in the lab's subnet: .2, .3, ... after the gateway. */
static char *student_address(const char *subnet, size_t i) {
        unsigned a, b, cc, dd, prefix;
        uint32_t net, host;
        char *s = NULL;

        if (!subnet || sscanf(subnet, "%u.%u.%u.%u/%u", &a, &b, &cc, &dd, &prefix) != 5 || prefix < 8 ||
            prefix > 30 || a > 255 || b > 255 || cc > 255 || dd > 255)
                return NULL;
        net = a << 24 | b << 16 | cc << 8 | dd;
        host = (uint32_t) i + 2;
        if (host >= (1u << (32 - prefix)) - 1)
                return NULL; /* past the subnet: let IPAM choose */
        net += host;
        (void) xasprintf(&s, "%u.%u.%u.%u", net >> 24, (net >> 16) & 255, (net >> 8) & 255, net & 255);
        return s;
}

static int make_students(ShimContext *c, const LabDef *d, ShimLabResult *res) {
        ShimCreateOptions o = {
                .image = d->image_digest,
                .isolation = d->isolation,
                .limits = d->limits,
                .env = d->env,
                .cmd = d->cmd,
        };
        _cleanup_(netns_lab_freep) NetnsLab *nl = NULL;
        _cleanup_close_ int names = -EBADF;
        int r;

        (void) netns_lab_load(c->root, d->name, &nl, NULL);
        r = shim_lock_names(c, &names);
        if (r < 0)
                return r;
        for (size_t i = 0; d->students[i]; i++) {
                _cleanup_free_ char *name = NULL;
                ShimDef def = {};
                if (instance_name(d->name, d->students[i], &name) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");
                r = shim_def_load(c, name, &def);
                if (r >= 0) {
                        shim_def_done(&def); /* made by an interrupted run */
                        continue;
                }
                r = shim_instance_create_def(c, name, &o, &def);
                if (r >= 0) {
                        free(def.image);
                        def.image = strdup(d->image);
                        /* Student i gets .i+2 when it is free: the same address every class. */
                        def.ipv4 = nl ? student_address(netns_lab_subnet(nl), i) : NULL;
                        r = def.image ? shim_def_save(c, &def) : -ENOMEM;
                }
                shim_def_done(&def);
                if (r < 0)
                        result_fail(&res[i], r, "cannot create its definition");
        }
        return 0;
}

static int ensure_network(ShimContext *c, const LabDef *d) {
        _cleanup_free_ char *err = NULL;
        NetnsLabOptions no = { .mode = netns_mode(d->network) };
        int r;

        r = netns_lab_create(c->root, d->name, &no, NULL, &err);
        if (r == -EEXIST)
                return 0;
        if (r < 0)
                return log_error_errno(
                                r, "Cannot create the network of lab %s: %s", d->name, err ?: strerror(-r));
        return 0;
}

int shim_lab_create(ShimContext *c, const char *lab, const ShimLabOptions *o, ShimLabResult **ret, size_t *ret_n) {
        _cleanup_close_ int lock = -EBADF, names = -EBADF;
        _cleanup_free_ char *digest = NULL, *path = NULL;
        ShimLabResult *res = NULL;
        LabDef d = {};
        size_t n = 0;
        char buf[64];
        int r;

        r = lab_name_check(c, lab);
        if (r < 0)
                return r;
        if (strv_length(o->students) == 0)
                return log_error_errno(
                                SYNTHETIC_ERRNO(EINVAL),
                                "a lab needs students (--students FILE or --count N)");
        if (o->network < 0 || o->network >= _SHIM_NETWORK_MAX)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid network mode");
        r = shim_limits_check(&o->limits);
        if (r < 0)
                return r;
        r = shim_image_resolve(c, o->image, &digest);
        if (r < 0)
                return r;
        r = shim_lock_lab(c, lab, LOCK_EX, &lock);
        if (r < 0)
                return r;
        path = shim_lab_file(c, lab);
        if (!path)
                return log_error_errno(ENOMEM, "Out of memory");
        if (access(path, F_OK) >= 0) {
                r = lab_def_load(c, lab, &d);
                if (r < 0)
                        return r;
                if (d.complete) {
                        lab_def_done(&d);
                        return log_error_errno(SYNTHETIC_ERRNO(EEXIST), "lab %s already exists", lab);
                }
                if (!streq(d.image_digest, digest) || strv_length(d.students) != strv_length(o->students)) {
                        lab_def_done(&d);
                        return log_error_errno(
                                        SYNTHETIC_ERRNO(EEXIST),
                                        "an interrupted creation of lab %s with other options exists; "
                                        "remove it with 'aula lab rm %s' first",
                                        lab, lab);
                }
                log_info("lab %s: completing an interrupted creation", lab);
        } else {
                d = (LabDef){
                        .name = strdup(lab),
                        .image = strdup(o->image),
                        .image_digest = TAKE_PTR(digest),
                        .isolation = o->isolation,
                        .limits = o->limits,
                        .env = strv_copy(o->env ?: (char *[]){ NULL }),
                        .cmd = o->cmd ? strv_copy(o->cmd) : NULL,
                        .network = o->network,
                        .students = strv_copy(o->students),
                        .created = strdup(format_rfc3339(now_usec(CLOCK_REALTIME) * 1000, buf, sizeof buf)),
                };
                if (!d.name || !d.image || !d.env || (o->cmd && !d.cmd) || !d.students || !d.created) {
                        lab_def_done(&d);
                        return log_error_errno(ENOMEM, "Out of memory");
                }
                /* The name is taken from here on; an interruption leaves an incomplete lab to finish or remove. */
                r = shim_lock_names(c, &names);
                if (r >= 0)
                        r = lab_name_check(c, lab);
                if (r >= 0)
                        r = lab_def_save(c, &d);
                names = safe_close(names);
                if (r < 0) {
                        lab_def_done(&d);
                        return r;
                }
        }
        r = results_new(d.students, &res, &n);
        if (r >= 0)
                r = ensure_network(c, &d);
        if (r >= 0)
                r = make_students(c, &d, res);
        if (r >= 0) {
                r = lab_start_many(c, lab, d.students, res, o->progress, o->userdata);
                d.complete = true;
                (void) lab_def_save(c, &d);
        }
        lab_def_done(&d);
        if (r < 0 && r != -EIO) {
                shim_lab_results_free(res, n);
                return r;
        }
        *ret = res;
        *ret_n = n;
        return r;
}

/* Add one student to an existing lab (`aula create NAME --lab LAB`). */
int shim_lab_add(ShimContext *c, const char *lab, const char *student, const ShimCreateOptions *o) {
        _cleanup_close_ int lock = -EBADF, names = -EBADF;
        _cleanup_free_ char *name = NULL;
        ShimCreateOptions so = *o;
        ShimDef def = {};
        LabDef d = {};
        int r;

        if (!shim_name_is_valid(student) || strchr(student, '/'))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid student name '%s'", student);
        r = shim_lock_lab(c, lab, LOCK_EX, &lock);
        if (r < 0)
                return r;
        r = lab_def_load(c, lab, &d);
        if (r < 0)
                return r;
        if (strv_contains(d.students, student)) {
                lab_def_done(&d);
                return log_error_errno(
                                SYNTHETIC_ERRNO(EEXIST), "lab %s already has a student %s", lab, student);
        }
        if (instance_name(lab, student, &name) < 0 || strv_extend(&d.students, student) < 0) {
                lab_def_done(&d);
                return log_error_errno(ENOMEM, "Out of memory");
        }
        so.image = o->image ?: d.image_digest;
        r = shim_instance_create_def(c, name, &so, &def);
        if (r >= 0)
                r = shim_lock_names(c, &names);
        if (r >= 0)
                r = shim_def_save(c, &def);
        if (r >= 0)
                r = lab_def_save(c, &d);
        names = safe_close(names);
        shim_def_done(&def);
        lab_def_done(&d);
        if (r < 0 || !o->start)
                return r;
        return shim_instance_start_locked(c, name);
}

/* ------------------------------------------------------------ start, stop */

static int lab_run(
                ShimContext *c,
                const char *lab,
                bool start,
                const ShimLabRunOptions *o,
                ShimLabResult **ret,
                size_t *ret_n) {
        _cleanup_close_ int lock = -EBADF;
        ShimLabResult *res = NULL;
        LabDef d = {};
        size_t n = 0;
        int r;

        r = lab_open(c, lab, LOCK_EX, &lock, &d, &res, &n);
        if (r < 0)
                return r;
        if (start) {
                r = ensure_network(c, &d);
                if (r >= 0)
                        r = lab_start_many(
                                        c, lab, d.students, res, o ? o->progress : NULL,
                                        o ? o->userdata : NULL);
        } else
                r = lab_stop_many(
                                c, lab, d.students, res,
                                o && o->timeout_usec ? o->timeout_usec : SHIM_DEFAULT_STOP_USEC,
                                o ? o->progress : NULL, o ? o->userdata : NULL);
        lab_def_done(&d);
        *ret = res;
        *ret_n = n;
        return r;
}

int shim_lab_start(ShimContext *c, const char *lab, const ShimLabRunOptions *o, ShimLabResult **ret, size_t *ret_n) {
        return lab_run(c, lab, true, o, ret, ret_n);
}

int shim_lab_stop(ShimContext *c, const char *lab, const ShimLabRunOptions *o, ShimLabResult **ret, size_t *ret_n) {
        return lab_run(c, lab, false, o, ret, ret_n);
}

int shim_lab_remove(ShimContext *c, const char *lab, const ShimLabRunOptions *o) {
        _cleanup_close_ int lock = -EBADF, names = -EBADF;
        _cleanup_free_ char *path = NULL, *err = NULL, *dir = NULL;
        ShimLabResult *res = NULL;
        LabDef d = {};
        size_t n = 0;
        int r, ret = 0;

        r = lab_open(c, lab, LOCK_EX, &lock, &d, &res, &n);
        if (r < 0)
                return r;
        r = lab_stop_many(
                        c, lab, d.students, res, o ? o->timeout_usec : 0, o ? o->progress : NULL,
                        o ? o->userdata : NULL);
        for (size_t i = 0; i < n; i++)
                if (res[i].error < 0) {
                        log_error("%s/%s: %s", lab, res[i].student, res[i].message ?: strerror(-res[i].error));
                        ret = res[i].error;
                }
        shim_lab_results_free(res, n);
        if (r < 0 && r != -EIO) {
                lab_def_done(&d);
                return r;
        }
        if (ret < 0) {
                lab_def_done(&d);
                return log_error_errno(ret, "lab %s was not removed: some students did not stop", lab);
        }
        r = shim_lock_names(c, &names);
        if (r < 0) {
                lab_def_done(&d);
                return r;
        }
        for (size_t i = 0; d.students[i]; i++) {
                _cleanup_free_ char *name = NULL;
                if (instance_name(lab, d.students[i], &name) < 0 || (r = shim_instance_purge(c, name)) < 0)
                        ret = ret ?: -ENOMEM;
        }
        lab_def_done(&d);
        r = netns_lab_delete(c->root, lab, &err);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Cannot remove the network of lab %s: %s", lab, err ?: strerror(-r));
        dir = shim_data_dir(c, lab);
        if (dir)
                (void) rmdir(dir);
        path = shim_lab_file(c, lab);
        if (!path || (unlink(path) < 0 && errno != ENOENT))
                return log_error_errno(errno ?: ENOMEM, "Cannot remove the definition of lab %s: %m", lab);
        return ret;
}

/* ------------------------------------------------------------------ reset */

int shim_lab_reset(
                ShimContext *c,
                const char *lab,
                const char *student,
                const ShimLabRunOptions *o,
                ShimLabResult **ret,
                size_t *ret_n) {
        _cleanup_close_ int lock = -EBADF;
        _cleanup_strv_free_ char **targets = NULL, **restart = NULL;
        ShimLabResult *res = NULL, *res2 = NULL;
        LabDef d = {};
        size_t n = 0, n2 = 0;
        int r;

        r = shim_lock_lab(c, lab, LOCK_EX, &lock);
        if (r < 0)
                return r;
        r = lab_def_load(c, lab, &d);
        if (r < 0)
                return r;
        if (student && !strv_contains(d.students, student)) {
                lab_def_done(&d);
                return log_error_errno(SYNTHETIC_ERRNO(ENOENT), "lab %s has no student %s", lab, student);
        }
        targets = student ? strv_copy((char *[]){ (char *) student, NULL }) : strv_copy(d.students);
        lab_def_done(&d);
        if (!targets)
                return log_error_errno(ENOMEM, "Out of memory");
        STRV_FOREACH(s, targets) {
                _cleanup_free_ char *name = NULL;
                if (instance_name(lab, *s, &name) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");
                if (shim_live(c, name) == SHIM_LIVE_RUNNING && strv_extend(&restart, *s) < 0)
                        return log_error_errno(ENOMEM, "Out of memory");
        }
        r = results_new(targets, &res, &n);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        r = lab_stop_many(
                        c, lab, targets, res,
                        o && o->timeout_usec ? o->timeout_usec : SHIM_DEFAULT_STOP_USEC, NULL, NULL);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = NULL;
                if (res[i].error < 0)
                        continue;
                if (instance_name(lab, res[i].student, &name) < 0 || shim_reset_files(c, name, NULL) < 0)
                        result_fail(&res[i], EIO, "cannot reset its files");
        }
        if (restart && results_new(restart, &res2, &n2) >= 0) {
                (void) lab_start_many(c, lab, restart, res2, o ? o->progress : NULL, o ? o->userdata : NULL);
                for (size_t i = 0; i < n2; i++)
                        for (size_t k = 0; k < n; k++)
                                if (streq(res[k].student, res2[i].student) && res2[i].error < 0 &&
                                    res[k].error == 0) {
                                        res[k].error = res2[i].error;
                                        res[k].message = TAKE_PTR(res2[i].message);
                                }
                shim_lab_results_free(res2, n2);
        }
        *ret = res;
        *ret_n = n;
        return count_failed(res, n) > 0 ? -EIO : 0;
}

/* --------------------------------------------------------- network, info */

int shim_lab_network(ShimContext *c, const char *lab, ShimNetwork mode) {
        _cleanup_close_ int lock = -EBADF;
        _cleanup_free_ char *err = NULL;
        LabDef d = {};
        int r;

        if (mode < 0 || mode >= _SHIM_NETWORK_MAX)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "network mode: isolated, nat or exam");
        r = shim_lock_lab(c, lab, LOCK_EX, &lock);
        if (r < 0)
                return r;
        r = lab_def_load(c, lab, &d);
        if (r < 0)
                return r;
        r = ensure_network(c, &d);
        if (r >= 0) {
                r = netns_lab_set_mode(c->root, lab, netns_mode(mode), &err);
                if (r < 0)
                        log_error_errno(r, "Cannot switch lab %s to %s: %s", lab,
                                        shim_network_to_string(mode), err ?: strerror(-r));
        }
        if (r >= 0) {
                d.network = mode;
                r = lab_def_save(c, &d);
        }
        lab_def_done(&d);
        return r;
}

void shim_lab_info_done(ShimLabInfo *i) {
        free(i->name);
        free(i->image);
        free(i->isolation);
        free(i->network);
        free(i->subnet);
        free(i->created);
        strv_free(i->students);
        *i = (ShimLabInfo){};
}

void shim_lab_info_free_many(ShimLabInfo *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                shim_lab_info_done(&l[i]);
        free(l);
}

int shim_lab_info(ShimContext *c, const char *lab, ShimLabInfo *ret) {
        _cleanup_(netns_lab_freep) NetnsLab *nl = NULL;
        ShimLabInfo i = {};
        LabDef d = {};
        int r;

        if (!shim_name_is_valid(lab) || strchr(lab, '/'))
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid lab name '%s'", lab);
        r = lab_def_load(c, lab, &d);
        if (r < 0)
                return r;
        STRV_FOREACH(s, d.students) {
                _cleanup_free_ char *name = NULL;
                if (instance_name(lab, *s, &name) >= 0 && shim_live(c, name) == SHIM_LIVE_RUNNING)
                        i.running++;
        }
        i.name = TAKE_PTR(d.name);
        i.image = TAKE_PTR(d.image);
        i.isolation = strdup(shim_isolation_to_string(d.isolation));
        i.network = strdup(shim_network_to_string(d.network));
        i.created = TAKE_PTR(d.created);
        i.students = TAKE_PTR(d.students);
        i.limits = d.limits;
        if (netns_lab_load(c->root, lab, &nl, NULL) >= 0)
                i.subnet = strdup(netns_lab_subnet(nl));
        lab_def_done(&d);
        if (!i.isolation || !i.network) {
                shim_lab_info_done(&i);
                return log_error_errno(ENOMEM, "Out of memory");
        }
        *ret = i;
        return 0;
}

int shim_lab_list(ShimContext *c, ShimLabInfo **ret, size_t *ret_n) {
        _cleanup_free_ char *dir = path_join(c->root, "labs");
        _cleanup_strv_free_ char **names = NULL;
        ShimLabInfo *l = NULL;
        size_t n = 0;
        DIR *d;

        if (!dir)
                return log_error_errno(ENOMEM, "Out of memory");
        d = opendir(dir);
        if (d) {
                for (struct dirent *de; (de = readdir(d));)
                        if (endswith(de->d_name, ".json") && de->d_name[0] != '.') {
                                char *s = strndup(de->d_name, strlen(de->d_name) - 5);
                                if (!s || strv_push(&names, s) < 0) {
                                        free(s);
                                        closedir(d);
                                        return log_error_errno(ENOMEM, "Out of memory");
                                }
                        }
                closedir(d);
        }
        l = calloc(strv_length(names) + 1, sizeof *l);
        if (!l)
                return log_error_errno(ENOMEM, "Out of memory");
        STRV_FOREACH(s, names)
                if (shim_lab_info(c, *s, &l[n]) >= 0)
                        n++;
        for (size_t i = 0; i + 1 < n; i++)
                for (size_t k = i + 1; k < n; k++)
                        if (strcmp(l[i].name, l[k].name) > 0) {
                                ShimLabInfo t = l[i];
                                l[i] = l[k];
                                l[k] = t;
                        }
        *ret = l;
        *ret_n = n;
        return 0;
}
