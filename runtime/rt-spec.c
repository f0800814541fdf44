/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/stat.h>

#include "rt-internal.h"

int rt_spec(const char *bundle, bool rootless) {
        _cleanup_(oci_config_freep) OciConfig *c = NULL;
        _cleanup_free_ char *text = NULL, *path = NULL;
        int fd, r;

        r = oci_config_default(rootless, (uint32_t) geteuid(), (uint32_t) getegid(), &c);
        if (r < 0)
                return log_error_errno(r, "Failed to build the default config: %m");
        r = oci_config_emit(c, true, &text);
        if (r < 0)
                return log_error_errno(r, "Failed to serialise the default config: %m");
        path = path_join(bundle ?: ".", "config.json");
        if (!path)
                return log_error_errno(ENOMEM, "Out of memory");
        /* O_EXCL: never overwrite someone's config. */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EEXIST)
                return log_error_errno(SYNTHETIC_ERRNO(EEXIST), "File %s exists. Remove it first", path);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create '%s': %m", path);
        r = loop_write(fd, text, strlen(text));
        if (r >= 0)
                r = loop_write(fd, "\n", 1);
        close(fd);
        if (r < 0) {
                (void) unlink(path);
                return log_error_errno(r, "Failed to write '%s': %m", path);
        }
        return 0;
}

static void jw_names(JsonWriter *w, const char *key, const char *const *names, size_t n) {
        jw_key(w, key);
        jw_array_open(w);
        for (size_t i = 0; i < n; i++)
                if (names[i])
                        jw_string(w, names[i]);
        jw_array_close(w);
}

static const char *const hooks[] = { "prestart",       "createRuntime", "createContainer",
                                     "startContainer", "poststart",     "poststop" };
static const char *const mount_options[] = {
        "async",         "atime",        "bind",        "defaults",     "dev",         "diratime",
        "dirsync",       "exec",         "idmap",       "lazytime",     "mand",        "noatime",
        "nodev",         "nodiratime",   "noexec",      "nolazytime",   "nomand",      "norelatime",
        "nostrictatime", "nosuid",       "nosymfollow", "private",      "ratime",      "rbind",
        "rdev",          "rdiratime",    "relatime",    "remount",      "ridmap",      "rexec",
        "rnoatime",      "rnodev",       "rnodiratime", "rnoexec",      "rnorelatime", "rnostrictatime",
        "rnosuid",       "rnosymfollow", "ro",          "rprivate",     "rrelatime",   "rro",
        "rrw",           "rshared",      "rslave",      "rstrictatime", "rsuid",       "rsymfollow",
        "runbindable",   "rw",           "shared",      "slave",        "strictatime", "suid",
        "symfollow",     "sync",         "unbindable",
};

/* "key": { "enabled": enabled } */
static void jw_enabled(JsonWriter *w, const char *key, bool enabled) {
        jw_key(w, key);
        jw_object_open(w);
        jw_key(w, "enabled");
        jw_bool(w, enabled);
        jw_object_close(w);
}

static void write_linux_features(JsonWriter *w) {
        const char *ns[_OCI_NS_MAX], *caps[64];
        size_t ncaps = 0;

        for (int i = 0; i < _OCI_NS_MAX; i++)
                ns[i] = oci_namespace_type_to_string((OciNamespaceType) i);
        for (int i = 0; i < 64; i++)
                if (oci_capability_to_string(i))
                        caps[ncaps++] = oci_capability_to_string(i);
        jw_key(w, "linux");
        jw_object_open(w);
        jw_names(w, "namespaces", ns, _OCI_NS_MAX);
        jw_names(w, "capabilities", caps, ncaps);
        jw_key(w, "cgroup");
        jw_object_open(w);
        jw_key(w, "v1");
        jw_bool(w, true);
        jw_key(w, "v2");
        jw_bool(w, true);
        jw_key(w, "systemd");
        jw_bool(w, false);
        jw_key(w, "systemdUser");
        jw_bool(w, false);
        jw_key(w, "rdma");
        jw_bool(w, true);
        jw_object_close(w);
        rt_seccomp_features(w);
        jw_enabled(w, "apparmor", false);
        jw_enabled(w, "selinux", false);
        jw_enabled(w, "intelRdt", false);
        jw_key(w, "mountExtensions");
        jw_object_open(w);
        jw_enabled(w, "idmap", true);
        jw_object_close(w);
        jw_object_close(w);
}

int rt_features(char **ret_json) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        CgLayout layout = CG_LAYOUT_LEGACY;
        int r;

        r = json_writer_new(true, &w);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        (void) cg_layout(&layout);
        jw_object_open(w);
        jw_key(w, "ociVersionMin");
        jw_string(w, "1.0.0");
        jw_key(w, "ociVersionMax");
        jw_string(w, OCI_VERSION);
        jw_names(w, "hooks", hooks, ELEMENTSOF(hooks));
        jw_names(w, "mountOptions", mount_options, ELEMENTSOF(mount_options));
        write_linux_features(w);
        jw_key(w, "annotations");
        jw_object_open(w);
        jw_key(w, "org.aula.runtime.layout");
        jw_string(w, cg_layout_to_string(layout));
        jw_key(w, "org.opencontainers.runc.checkpoint.enabled");
        jw_string(w, "false");
        jw_object_close(w);
        jw_object_close(w);
        r = json_writer_finish(w, ret_json, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to format features: %m");
        return 0;
}
