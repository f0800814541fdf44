/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The default config.json of `spec`: runc's template (libcontainer/specconv
 * Example() and ToRootless()), written out as JSON and run through the parser,
 * so that the default is validated like any user config.
 */
#include "oci-internal.h"

/* Single quotes stand for double quotes (none of the content has one). */
#define CAPS "['CAP_AUDIT_WRITE','CAP_KILL','CAP_NET_BIND_SERVICE']"

static const char default_template[] =
                "{'ociVersion':'" OCI_VERSION "',"
                "'process':{'terminal':true,'user':{'uid':0,'gid':0},'args':['sh'],"
                "'env':['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin','TERM=xterm'],"
                "'cwd':'/',"
                "'capabilities':{'bounding':" CAPS ",'effective':" CAPS ",'permitted':" CAPS
                ",'ambient':" CAPS "},"
                "%s" /* rlimits */
                "'noNewPrivileges':true},"
                "'root':{'path':'rootfs','readonly':true},"
                "'hostname':'aula',"
                "'mounts':["
                "{'destination':'/proc','type':'proc','source':'proc'},"
                "{'destination':'/dev','type':'tmpfs','source':'tmpfs',"
                "'options':['nosuid','strictatime','mode=755','size=65536k']},"
                "{'destination':'/dev/pts','type':'devpts','source':'devpts',"
                "'options':['nosuid','noexec','newinstance','ptmxmode=0666','mode=0620'%s]},"
                "{'destination':'/dev/shm','type':'tmpfs','source':'shm',"
                "'options':['nosuid','noexec','nodev','mode=1777','size=65536k']},"
                "{'destination':'/dev/mqueue','type':'mqueue','source':'mqueue','options':['nosuid','noexec','nodev']},"
                "%s" /* /sys, and /sys/fs/cgroup */
                "],"
                "'linux':{%s" /* id mappings or resources */
                "'namespaces':[{'type':'pid'},%s{'type':'ipc'},{'type':'uts'},{'type':'mount'},{'type':'cgroup'}%s],"
                "'maskedPaths':['/proc/acpi','/proc/asound','/proc/kcore','/proc/keys','/proc/latency_stats',"
                "'/proc/timer_list','/proc/timer_stats','/proc/sched_debug','/sys/firmware','/proc/scsi',"
                "'/sys/devices/virtual/powercap'],"
                "'readonlyPaths':['/proc/bus','/proc/fs','/proc/irq','/proc/sys','/proc/sysrq-trigger']}}";

static const char sys_mounts[] =
                "{'destination':'/sys','type':'sysfs','source':'sysfs','options':['nosuid','noexec','nodev','ro']},"
                "{'destination':'/sys/fs/cgroup','type':'cgroup','source':'cgroup',"
                "'options':['nosuid','noexec','nodev','relatime','ro']}";

/* Without CAP_SYS_ADMIN in the init user namespace sysfs cannot be mounted: bind the host's. */
static const char sys_mounts_rootless[] =
                "{'destination':'/sys','type':'none','source':'/sys','options':['rbind','nosuid','noexec','nodev','ro']}";

int oci_config_default(bool rootless, uint32_t uid, uint32_t gid, OciConfig **ret) {
        _cleanup_free_ char *text = NULL, *mappings = NULL, *err = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        if (rootless &&
            xasprintf(&mappings,
                      "'uidMappings':[{'containerID':0,'hostID':%" PRIu32 ",'size':1}],"
                      "'gidMappings':[{'containerID':0,'hostID':%" PRIu32 ",'size':1}],",
                      uid, gid) < 0)
                return -ENOMEM;
        r = xasprintf(&text, default_template,
                      rootless ? "" : "'rlimits':[{'type':'RLIMIT_NOFILE','hard':1024,'soft':1024}],",
                      rootless ? "" : ",'gid=5'", rootless ? sys_mounts_rootless : sys_mounts,
                      rootless ? mappings : "'resources':{'devices':[{'allow':false,'access':'rwm'}]},",
                      rootless ? "" : "{'type':'network'},", rootless ? ",{'type':'user'}" : "");
        if (r < 0)
                return -ENOMEM;
        for (char *p = text; *p; p++)
                if (*p == '\'')
                        *p = '"';
        r = oci_config_parse(text, strlen(text), ret, &err);
        if (r < 0)
                log_debug("oci: default template does not parse: %s", err);
        return r;
}
