/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Malformed config.json documents: each must fail with a one-line message
 * that names the field, never crash, and leave *ret untouched.
 */
#include "oci-test.h"

typedef struct BadCase {
        const char *json; /* single quotes stand for double quotes */
        int error;
        const char *want;
} BadCase;

#define B "'ociVersion':'1.2.0','root':{'path':'r'}"
#define DOC(x) "{" B "," x "}"
#define PROC(x) DOC("'process':{'cwd':'/'," x "}")
#define LINUX(x) DOC("'linux':{" x "}")
#define RES(x) LINUX("'resources':{" x "}")
#define SECCOMP(x) LINUX("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW'," x "}")

static void run_cases(const BadCase *cases, size_t n) {
        for (size_t i = 0; i < n; i++)
                ASSERT_PARSE_FAILS(oci_config_parse, OciConfig, cases[i].json, cases[i].error, cases[i].want);
}

#define RUN(cases) run_cases(cases, ELEMENTSOF(cases))

TEST(document_level) {
        static const BadCase cases[] = {
                { "[]", EINVAL, "config.json: expected object, got array" },
                { "42", EINVAL, "config.json: expected object, got integer" },
                { "null", EINVAL, "config.json: expected object, got null" },
                { "", EINVAL, "config.json: invalid JSON" },
                { "{'ociVersion':'1.2.0','root':{'pa", EINVAL, "config.json: invalid JSON" },
                { "{'ociVersion':'1.2.0',}", EINVAL, "config.json: invalid JSON" },
                { "{'root':{'path':'r'}}", EINVAL, "ociVersion: required field missing" },
                { "{'ociVersion':null,'root':{'path':'r'}}", EINVAL, "ociVersion: required field missing" },
                { "{'ociVersion':'1.2.0'}", EINVAL, "root: required field missing" },
                { "{'ociVersion':'1.2.0','root':{}}", EINVAL, "root.path: required field missing" },
                { "{'ociVersion':'1.2.0','root':{'path':''}}", EINVAL, "root.path: must not be empty" },
                { "{'ociVersion':'1.2.0','root':'rootfs'}", EINVAL, "root: expected object, got string" },
                { "{'ociVersion':1,'root':{'path':'r'}}", EINVAL, "ociVersion: expected string, got integer" },
                { "{'ociVersion':'1.0','root':{'path':'r'}}", EINVAL,
                  "ociVersion: not a SemVer version: \"1.0\"" },
                { "{'ociVersion':'01.0.0','root':{'path':'r'}}", EINVAL, "ociVersion: not a SemVer" },
                { "{'ociVersion':'2.0.0','root':{'path':'r'}}", EINVAL,
                  "ociVersion: unsupported version \"2.0.0\" (expected 1.x)" },
                { "{'ociVersion':'0.5.0-dev','root':{'path':'r'}}", EINVAL, "ociVersion: unsupported version" },
                { "{'ociVersion':'1.2.0','root':{'path':'r','readonly':'yes'}}", EINVAL,
                  "root.readonly: expected boolean, got string" },
                { DOC("'hostname':5"), EINVAL, "hostname: expected string, got integer" },
                { DOC("'domainname':[]"), EINVAL, "domainname: expected string, got array" },
                { DOC("'process':'sh'"), EINVAL, "process: expected object, got string" },
                { DOC("'linux':'yes'"), EINVAL, "linux: expected object, got string" },
                { DOC("'annotations':['a']"), EINVAL, "annotations: expected object, got array" },
                { DOC("'annotations':{'a':1}"), EINVAL, "annotations[\"a\"]: expected string, got integer" },
                { DOC("'annotations':{'':'x'}"), EINVAL, "annotations[\"\"]: key must not be empty" },
        };
        RUN(cases);
}

TEST(mounts) {
        static const BadCase cases[] = {
                { DOC("'mounts':{}"), EINVAL, "mounts: expected array, got object" },
                { DOC("'mounts':[{'type':'tmpfs'}]"), EINVAL, "mounts[0].destination: required field missing" },
                { DOC("'mounts':[{'destination':''}]"), EINVAL, "mounts[0].destination: must not be empty" },
                { DOC("'mounts':[{'destination':'/a'},'b']"), EINVAL,
                  "mounts[1]: expected object, got string" },
                { DOC("'mounts':[{'destination':'/a','options':'ro'}]"), EINVAL,
                  "mounts[0].options: expected array of strings, got string" },
                { DOC("'mounts':[{'destination':'/a','options':['ro',1]}]"), EINVAL,
                  "mounts[0].options[1]: expected string, got integer" },
                { DOC("'mounts':[{'destination':'/a','uidMappings':[{'containerID':0,'hostID':1,'size':1}]}]"),
                  EINVAL, "mounts[0]: uidMappings and gidMappings must be given together" },
                { DOC("'mounts':[{'destination':'/a','uidMappings':[{'containerID':0,'hostID':1,'size':0}],"
                      "'gidMappings':[]}]"),
                  EINVAL, "mounts[0].uidMappings[0]: size must be at least 1" },
        };
        RUN(cases);
}

TEST(process_and_user) {
        static const BadCase cases[] = {
                { DOC("'process':{}"), EINVAL, "process.cwd: required field missing" },
                { DOC("'process':{'cwd':'tmp'}"), EINVAL,
                  "process.cwd: must be an absolute path, got \"tmp\"" },
                { PROC("'args':[]"), EINVAL, "process.args: must have at least one entry" },
                { PROC("'args':[1]"), EINVAL, "process.args[0]: expected string, got integer" },
                { PROC("'env':[null]"), EINVAL, "process.env[0]: expected string, got null" },
                { PROC("'terminal':'true'"), EINVAL, "process.terminal: expected boolean, got string" },
                { PROC("'consoleSize':{'height':1}"), EINVAL,
                  "process.consoleSize.width: required field missing" },
                { PROC("'user':{'uid':4294967296,'gid':0}"), EINVAL,
                  "process.user.uid: 4294967296 out of range [0, 4294967295]" },
                { PROC("'user':{'uid':-1,'gid':0}"), EINVAL,
                  "process.user.uid: expected unsigned integer, got -1" },
                { PROC("'user':{'uid':1.5,'gid':0}"), EINVAL,
                  "process.user.uid: expected unsigned integer, got 1.5" },
                { PROC("'user':{'uid':'0','gid':0}"), EINVAL,
                  "process.user.uid: expected unsigned integer, got string" },
                { PROC("'user':{'uid':0}"), EINVAL, "process.user.gid: required field missing" },
                { PROC("'user':{'uid':0,'gid':0,'umask':512}"), EINVAL,
                  "process.user.umask: 512 out of range [0, 511]" },
                { PROC("'user':{'uid':0,'gid':0,'additionalGids':[1,'x']}"), EINVAL,
                  "process.user.additionalGids[1]: expected unsigned integer, got string" },
                { PROC("'oomScoreAdj':5000"), EINVAL, "process.oomScoreAdj: 5000 out of range [-1000, 1000]" },
                { PROC("'oomScoreAdj':-1001"), EINVAL, "process.oomScoreAdj: -1001 out of range" },
                { PROC("'oomScoreAdj':1000000000000000000000000000000"), EINVAL,
                  "process.oomScoreAdj: expected integer, got 1000000000000000000000000000000" },
                { PROC("'noNewPrivileges':1"), EINVAL,
                  "process.noNewPrivileges: expected boolean, got integer" },
                { PROC("'apparmorProfile':{}"), EINVAL,
                  "process.apparmorProfile: expected string, got object" },
        };
        RUN(cases);
}

TEST(rlimits_and_capabilities) {
        static const BadCase cases[] = {
                { PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':1,'hard':1},{'type':'RLIMIT_CORE','soft':1,'hard':1},"
                       "{'type':'RLIMIT_FOO','soft':1,'hard':1}]"),
                  EINVAL, "process.rlimits[2].type: unknown rlimit \"RLIMIT_FOO\"" },
                { PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':1,'hard':1},{'type':'RLIMIT_NOFILE','soft':2,'hard':2}]"),
                  EINVAL, "process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\"" },
                { PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':10,'hard':5}]"), EINVAL,
                  "process.rlimits[0]: soft limit 10 exceeds hard limit 5" },
                { PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':10}]"), EINVAL,
                  "process.rlimits[0].hard: required field missing" },
                { PROC("'rlimits':[{'soft':1,'hard':1}]"), EINVAL,
                  "process.rlimits[0].type: required field missing" },
                { PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':18446744073709551616,'hard':1}]"), EINVAL,
                  "process.rlimits[0].soft: expected unsigned integer, got 18446744073709551616" },
                { PROC("'rlimits':[{'type':'RLIMIT_\\n\\u0001','soft':1,'hard':1}]"), EINVAL,
                  "process.rlimits[0].type: unknown rlimit \"RLIMIT_\\x0a\\x01\"" },
                { PROC("'capabilities':['CAP_KILL']"), EINVAL,
                  "process.capabilities: expected object, got array" },
                { PROC("'capabilities':{'bounding':['KILL']}"), EINVAL,
                  "process.capabilities.bounding[0]: unknown capability \"KILL\"" },
                { PROC("'capabilities':{'ambient':['CAP_KILL','cap_chown']}"), EINVAL,
                  "process.capabilities.ambient[1]: unknown capability \"cap_chown\"" },
                { PROC("'capabilities':{'effective':'CAP_KILL'}"), EINVAL,
                  "process.capabilities.effective: expected array of strings, got string" },
                { PROC("'capabilities':{'permitted':[5]}"), EINVAL,
                  "process.capabilities.permitted[0]: expected string, got integer" },
        };
        RUN(cases);
}

TEST(scheduler_and_io_priority) {
        static const BadCase cases[] = {
                { PROC("'scheduler':{'policy':'SCHED_FOO'}"), EINVAL,
                  "process.scheduler.policy: unknown scheduler policy \"SCHED_FOO\"" },
                { PROC("'scheduler':{'nice':1}"), EINVAL, "process.scheduler.policy: required field missing" },
                { PROC("'scheduler':{'policy':'SCHED_OTHER','nice':20}"), EINVAL,
                  "process.scheduler.nice: 20 out of range [-20, 19]" },
                { PROC("'scheduler':{'policy':'SCHED_FIFO','priority':100}"), EINVAL,
                  "process.scheduler.priority: 100 out of range [0, 99]" },
                { PROC("'scheduler':{'policy':'SCHED_OTHER','flags':['SCHED_FLAG_RECLAIM','SCHED_FLAG_X']}"),
                  EINVAL, "process.scheduler.flags[1]: unknown scheduler flag \"SCHED_FLAG_X\"" },
                { PROC("'scheduler':{'policy':'SCHED_DEADLINE','runtime':-1}"), EINVAL,
                  "process.scheduler.runtime: expected unsigned integer, got -1" },
                { PROC("'ioPriority':{'class':'IOPRIO_CLASS_NONE','priority':0}"), EINVAL,
                  "process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_NONE\"" },
                { PROC("'ioPriority':{'class':'IOPRIO_CLASS_BE','priority':8}"), EINVAL,
                  "process.ioPriority.priority: 8 out of range [0, 7]" },
                { PROC("'ioPriority':{'class':'IOPRIO_CLASS_BE'}"), EINVAL,
                  "process.ioPriority.priority: required field missing" },
        };
        RUN(cases);
}

TEST(hooks) {
        static const BadCase cases[] = {
                { DOC("'hooks':{'prestart':[{'path':'hook'}]}"), EINVAL,
                  "hooks.prestart[0].path: must be an absolute path, got \"hook\"" },
                { DOC("'hooks':{'createRuntime':[{'path':'/h','timeout':0}]}"), EINVAL,
                  "hooks.createRuntime[0].timeout: 0 out of range [1, 2147483647]" },
                { DOC("'hooks':{'createContainer':[{'path':'/h','timeout':-5}]}"), EINVAL,
                  "hooks.createContainer[0].timeout: -5 out of range" },
                { DOC("'hooks':{'startContainer':[{'args':['x']}]}"), EINVAL,
                  "hooks.startContainer[0].path: required field missing" },
                { DOC("'hooks':{'poststart':[{'path':'/h','env':'A=1'}]}"), EINVAL,
                  "hooks.poststart[0].env: expected array of strings, got string" },
                { DOC("'hooks':{'poststop':{}}"), EINVAL, "hooks.poststop: expected array, got object" },
                { DOC("'hooks':[]"), EINVAL, "hooks: expected object, got array" },
        };
        RUN(cases);
}

TEST(linux_namespaces_mappings_devices) {
        static const BadCase cases[] = {
                { LINUX("'namespaces':[{'type':'pid'},{'type':'mount'},{'type':'pid'}]"), EINVAL,
                  "linux.namespaces[2].type: duplicate namespace \"pid\"" },
                { LINUX("'namespaces':[{'type':'net'}]"), EINVAL,
                  "linux.namespaces[0].type: unknown namespace type \"net\"" },
                { LINUX("'namespaces':[{'path':'/proc/1/ns/pid'}]"), EINVAL,
                  "linux.namespaces[0].type: required field missing" },
                { LINUX("'namespaces':[{'type':'network','path':'run/netns/x'}]"), EINVAL,
                  "linux.namespaces[0].path: must be an absolute path" },
                { LINUX("'uidMappings':[{'containerID':0,'hostID':4294967296,'size':1}]"), EINVAL,
                  "linux.uidMappings[0].hostID: 4294967296 out of range [0, 4294967295]" },
                { LINUX("'gidMappings':[{'containerID':4294967295,'hostID':0,'size':2}]"), EINVAL,
                  "linux.gidMappings[0]: range exceeds the 32-bit id space" },
                { LINUX("'uidMappings':[{'containerID':0,'hostID':0}]"), EINVAL,
                  "linux.uidMappings[0].size: required field missing" },
                { LINUX("'timeOffsets':{'realtime':{'secs':1}}"), EINVAL,
                  "linux.timeOffsets[\"realtime\"]: unknown key" },
                { LINUX("'timeOffsets':{'monotonic':{'nanosecs':1000000000}}"), EINVAL,
                  "linux.timeOffsets.monotonic.nanosecs: 1000000000 out of range [0, 999999999]" },
                { LINUX("'devices':[{'type':'x','path':'/dev/x'}]"), EINVAL,
                  "linux.devices[0].type: expected one of \"cbup\", got \"x\"" },
                { LINUX("'devices':[{'type':'cc','path':'/dev/x'}]"), EINVAL,
                  "linux.devices[0].type: expected one of" },
                { LINUX("'devices':[{'type':'c','path':'/dev/x','minor':1}]"), EINVAL,
                  "linux.devices[0].major: required field missing (type 'c')" },
                { LINUX("'devices':[{'type':'b','path':'/dev/x','major':1}]"), EINVAL,
                  "linux.devices[0].minor: required field missing (type 'b')" },
                { LINUX("'devices':[{'type':'c','path':'dev/x','major':1,'minor':1}]"), EINVAL,
                  "linux.devices[0].path: must be an absolute path" },
                { LINUX("'devices':[{'type':'c','major':1,'minor':1}]"), EINVAL,
                  "linux.devices[0].path: required field missing" },
                { LINUX("'devices':[{'type':'c','path':'/d','major':1,'minor':1,'fileMode':4294967296}]"),
                  EINVAL, "linux.devices[0].fileMode: 4294967296 out of range" },
                { LINUX("'devices':[{'type':'c','path':'/d','major':-1,'minor':1}]"), EINVAL,
                  "linux.devices[0].major: -1 out of range [0, 4294967295]" },
                { LINUX("'rootfsPropagation':'bogus'"), EINVAL,
                  "linux.rootfsPropagation: unknown propagation \"bogus\"" },
                { LINUX("'sysctl':{'../../etc/passwd':'x'}"), EINVAL,
                  "linux.sysctl[\"../../etc/passwd\"]: not a valid sysctl name" },
                { LINUX("'sysctl':{'/proc/sys/x':'x'}"), EINVAL,
                  "linux.sysctl[\"/proc/sys/x\"]: not a valid sysctl name" },
                { LINUX("'sysctl':{'net.ipv4.ip_forward':1}"), EINVAL,
                  "linux.sysctl[\"net.ipv4.ip_forward\"]: expected string, got integer" },
                { LINUX("'maskedPaths':['/proc/acpi','proc/kcore']"), EINVAL,
                  "linux.maskedPaths[1]: must be an absolute path, got \"proc/kcore\"" },
                { LINUX("'readonlyPaths':[true]"), EINVAL,
                  "linux.readonlyPaths[0]: expected string, got boolean" },
                { LINUX("'personality':{'domain':'LINUX64'}"), EINVAL,
                  "linux.personality.domain: unknown personality domain \"LINUX64\"" },
                { LINUX("'personality':{'flags':[]}"), EINVAL,
                  "linux.personality.domain: required field missing" },
                { LINUX("'intelRdt':{'memBwSchema':'L3:0=1'}"), EINVAL,
                  "linux.intelRdt.memBwSchema: must start with \"MB:\"" },
                { LINUX("'intelRdt':{'memBwSchema':'MB:0=20\\nMB:1=70'}"), EINVAL,
                  "linux.intelRdt.memBwSchema" },
                { LINUX("'cgroupsPath':7"), EINVAL, "linux.cgroupsPath: expected string, got integer" },
        };
        RUN(cases);
}

TEST(linux_resources) {
        static const BadCase cases[] = {
                { RES("'devices':[{'allow':true,'access':'rwx'}]"), EINVAL,
                  "linux.resources.devices[0].access: expected a combination of \"rwm\", got \"rwx\"" },
                { RES("'devices':[{'allow':true,'access':'rr'}]"), EINVAL,
                  "linux.resources.devices[0].access: expected a combination" },
                { RES("'devices':[{'allow':true,'access':'rwmr'}]"), EINVAL,
                  "linux.resources.devices[0].access: expected a combination" },
                { RES("'devices':[{'access':'rwm'}]"), EINVAL,
                  "linux.resources.devices[0].allow: required field missing" },
                { RES("'devices':[{'allow':true,'type':'p'}]"), EINVAL,
                  "linux.resources.devices[0].type: expected one of \"acb\", got \"p\"" },
                { RES("'devices':[{'allow':true,'major':-2}]"), EINVAL,
                  "linux.resources.devices[0].major: -2 out of range [-1, 4294967295]" },
                { RES("'memory':{'limit':-2}"), EINVAL,
                  "linux.resources.memory.limit: -2 out of range [-1, 9223372036854775807]" },
                { RES("'memory':{'swappiness':101}"), EINVAL,
                  "linux.resources.memory.swappiness: 101 out of range [0, 100]" },
                { RES("'memory':{'disableOOMKiller':'no'}"), EINVAL,
                  "linux.resources.memory.disableOOMKiller: expected boolean, got string" },
                { RES("'pids':{'limit':'max'}"), EINVAL,
                  "linux.resources.pids.limit: expected integer, got string" },
                { RES("'pids':{}"), EINVAL, "linux.resources.pids.limit: required field missing" },
                { RES("'cpu':{'quota':1000,'burst':2000}"), EINVAL,
                  "linux.resources.cpu.burst: 2000 exceeds quota 1000" },
                { RES("'cpu':{'idle':2}"), EINVAL, "linux.resources.cpu.idle: 2 out of range [0, 1]" },
                { RES("'cpu':{'shares':-1}"), EINVAL,
                  "linux.resources.cpu.shares: expected unsigned integer, got -1" },
                { RES("'cpu':{'cpus':[0]}"), EINVAL, "linux.resources.cpu.cpus: expected string, got array" },
                { RES("'blockIO':{'weight':70000}"), EINVAL,
                  "linux.resources.blockIO.weight: 70000 out of range [0, 65535]" },
                { RES("'blockIO':{'weightDevice':[{'major':8,'minor':0}]}"), EINVAL,
                  "linux.resources.blockIO.weightDevice[0]: one of weight or leafWeight is required" },
                { RES("'blockIO':{'weightDevice':[{'minor':0,'weight':5}]}"), EINVAL,
                  "linux.resources.blockIO.weightDevice[0].major: required field missing" },
                { RES("'blockIO':{'throttleReadBpsDevice':[{'major':8,'minor':0}]}"), EINVAL,
                  "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required field missing" },
                { RES("'blockIO':{'throttleWriteIOPSDevice':[{'major':8,'minor':0,'rate':-1}]}"), EINVAL,
                  "linux.resources.blockIO.throttleWriteIOPSDevice[0].rate: expected unsigned integer, got -1" },
                { RES("'hugepageLimits':[{'pageSize':'2M','limit':1}]"), EINVAL,
                  "linux.resources.hugepageLimits[0].pageSize: expected <size><K|M|G|T>B, got \"2M\"" },
                { RES("'hugepageLimits':[{'pageSize':'MB','limit':1}]"), EINVAL,
                  "linux.resources.hugepageLimits[0].pageSize: expected" },
                { RES("'hugepageLimits':[{'pageSize':'2MB'}]"), EINVAL,
                  "linux.resources.hugepageLimits[0].limit: required field missing" },
                { RES("'network':{'classID':4294967296}"), EINVAL,
                  "linux.resources.network.classID: 4294967296 out of range [0, 4294967295]" },
                { RES("'network':{'priorities':[{'priority':1}]}"), EINVAL,
                  "linux.resources.network.priorities[0].name: required field missing" },
                { RES("'rdma':{'mlx5_1':{}}"), EINVAL,
                  "linux.resources.rdma[\"mlx5_1\"]: one of hcaHandles or hcaObjects is required" },
                { RES("'rdma':{'mlx5_1':{'hcaHandles':4294967296}}"), EINVAL,
                  "linux.resources.rdma[\"mlx5_1\"].hcaHandles: 4294967296 out of range" },
                { RES("'rdma':{'mlx5_1':3}"), EINVAL,
                  "linux.resources.rdma[\"mlx5_1\"]: expected object, got integer" },
                { RES("'unified':{'../cgroup.procs':'1'}"), EINVAL,
                  "linux.resources.unified[\"../cgroup.procs\"]: not a cgroup file name" },
                { RES("'unified':{'..':'1'}"), EINVAL,
                  "linux.resources.unified[\"..\"]: not a cgroup file name" },
                { RES("'unified':{'memory.max':1024}"), EINVAL,
                  "linux.resources.unified[\"memory.max\"]: expected string, got integer" },
        };
        RUN(cases);
}

TEST(linux_seccomp) {
        static const BadCase cases[] = {
                { LINUX("'seccomp':{'defaultAction':'SCMP_ACT_FOO'}"), EINVAL,
                  "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_FOO\"" },
                { LINUX("'seccomp':{'syscalls':[]}"), EINVAL,
                  "linux.seccomp.defaultAction: required field missing" },
                { SECCOMP("'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_Z80']"), EINVAL,
                  "linux.seccomp.architectures[1]: unknown seccomp architecture \"SCMP_ARCH_Z80\"" },
                { SECCOMP("'flags':['SECCOMP_FILTER_FLAG_NEW_LISTENER']"), EINVAL,
                  "linux.seccomp.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_NEW_LISTENER\"" },
                { SECCOMP("'syscalls':[{'names':['read'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':1,'op':"
                          "'SCMP_CMP_XX'}]}]"),
                  EINVAL, "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_XX\"" },
                { SECCOMP("'syscalls':[{'names':['read'],'action':'SCMP_ACT_ALLOW','args':[{'index':6,'value':1,'op':"
                          "'SCMP_CMP_EQ'}]}]"),
                  EINVAL, "linux.seccomp.syscalls[0].args[0].index: 6 out of range [0, 5]" },
                { SECCOMP("'syscalls':[{'names':['read'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'op':"
                          "'SCMP_CMP_EQ'}]}]"),
                  EINVAL, "linux.seccomp.syscalls[0].args[0].value: required field missing" },
                { SECCOMP("'syscalls':[{'names':[],'action':'SCMP_ACT_ALLOW'}]"), EINVAL,
                  "linux.seccomp.syscalls[0].names: must have at least one entry" },
                { SECCOMP("'syscalls':[{'action':'SCMP_ACT_ALLOW'}]"), EINVAL,
                  "linux.seccomp.syscalls[0].names: required field missing" },
                { SECCOMP("'syscalls':[{'names':['read']}]"), EINVAL,
                  "linux.seccomp.syscalls[0].action: required field missing" },
                { SECCOMP("'syscalls':[{'names':['read'],'action':'SCMP_ACT_ALLOW','errnoRet':1}]"), EINVAL,
                  "linux.seccomp.syscalls[0].errnoRet: not allowed with action SCMP_ACT_ALLOW" },
                { SECCOMP("'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','errnoRet':65536}]"),
                  EINVAL, "linux.seccomp.syscalls[0].errnoRet: 65536 out of range [0, 65535]" },
                { LINUX("'seccomp':{'defaultAction':'SCMP_ACT_KILL','defaultErrnoRet':1}"), EINVAL,
                  "linux.seccomp.defaultErrnoRet: not allowed with action SCMP_ACT_KILL" },
                { SECCOMP("'listenerMetadata':'x'"), EINVAL,
                  "linux.seccomp.listenerMetadata: requires listenerPath" },
                { SECCOMP("'syscalls':{}"), EINVAL, "linux.seccomp.syscalls: expected array, got object" },
        };
        RUN(cases);
}

TEST(process_and_resources_documents) {
        ASSERT_PARSE_FAILS(
                        oci_process_parse, OciProcess, "{'args':['sh']}", EINVAL,
                        "cwd: required field missing");
        ASSERT_PARSE_FAILS(
                        oci_process_parse, OciProcess, "['sh']", EINVAL,
                        "process.json: expected object, got array");
        ASSERT_PARSE_FAILS(
                        oci_process_parse, OciProcess, "{'cwd':'/','user':{'uid':4294967296,'gid':0}}",
                        EINVAL, "user.uid: 4294967296 out of range");
        ASSERT_PARSE_FAILS(
                        oci_resources_parse, OciResources, "{'pids':{'limit':'x'}}", EINVAL,
                        "pids.limit: expected integer, got string");
        ASSERT_PARSE_FAILS(oci_resources_parse, OciResources, "{'memory':", EINVAL, "resources: invalid JSON");
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail) {
        size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
        char *s = malloc(hl + ul * n + tl + 1), *p;

        if (!s)
                tap_fail(__FILE__, __LINE__, "out of memory");
        p = mempcpy(s, head, hl);
        for (size_t i = 0; i < n; i++)
                p = mempcpy(p, unit, ul);
        p = mempcpy(p, tail, tl);
        *p = 0;
        return s;
}

TEST(deep_nesting_is_rejected) {
        _cleanup_free_ char *open = repeat("{" B ",'annotations':{'a':", "[", 1000, "");
        _cleanup_free_ char *doc = repeat(open, "]", 1000, "}}");
        ASSERT_PARSE_FAILS(
                        oci_config_parse, OciConfig, doc, E2BIG,
                        "config.json: JSON nested deeper than 64 levels");
}

static char *distinct_keys_map(size_t n) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        if (!f)
                tap_fail(__FILE__, __LINE__, "out of memory");
        fputs("{'ociVersion':'1.2.0','root':{'path':'r'},'annotations':{", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s'k%zu':'v'", i ? "," : "", i);
        fputs("}}", f);
        fclose(f);
        return s;
}

TEST(huge_arrays_are_rejected) {
        _cleanup_free_ char *doc = repeat("{" B ",'linux':{'namespaces':[", "{},", OCI_MAX_ARRAY + 10, "{}]}}");
        _cleanup_free_ char *strv = repeat(
                        "{" B ",'linux':{'maskedPaths':[", "'/a',", OCI_MAX_ARRAY, "'/b']}}");
        _cleanup_free_ char *map = distinct_keys_map(OCI_MAX_ARRAY + 2);

        ASSERT_PARSE_FAILS(
                        oci_config_parse, OciConfig, doc, E2BIG, "linux.namespaces: more than 65536 entries");
        ASSERT_PARSE_FAILS(
                        oci_config_parse, OciConfig, strv, E2BIG,
                        "linux.maskedPaths: more than 65536 entries");
        ASSERT_PARSE_FAILS(oci_config_parse, OciConfig, map, E2BIG, "annotations: more than 65536 entries");
}

TEST(large_map_parses) {
        _cleanup_free_ char *map = distinct_keys_map(2000), *t = jq(map), *err = NULL;
        _cleanup_(oci_config_freep) OciConfig *c = NULL;

        ASSERT_OK(oci_config_parse(t, strlen(t), &c, &err));
        ASSERT_EQ(c->n_annotations, 2000u);
        ASSERT_STREQ(oci_config_annotation(c, "k1999"), "v");
}

TEST(bounds_apply_to_unknown_fields_and_nested_paths) {
        _cleanup_free_ char *unknown = repeat("{" B ",'x-future':{'list':[", "0,", OCI_MAX_ARRAY, "0]}}");
        _cleanup_free_ char *nested = repeat(
                        "{" B ",'process':{'cwd':'/','rlimits':[{},{'bad':[", "1,", OCI_MAX_ARRAY, "1]}]}}");

        ASSERT_PARSE_FAILS(
                        oci_config_parse, OciConfig, unknown, E2BIG, "x-future.list: more than 65536 entries");
        ASSERT_PARSE_FAILS(
                        oci_config_parse, OciConfig, nested, E2BIG,
                        "process.rlimits[1].bad: more than 65536 entries");
}

TEST(oversized_document_is_rejected) {
        size_t n = OCI_CONFIG_MAX_BYTES + 1;
        _cleanup_free_ char *text = malloc(n), *err = NULL;
        OciConfig *c = NULL;

        ASSERT_NOT_NULL(text);
        memset(text, ' ', n);
        ASSERT_ERROR(oci_config_parse(text, n, &c, &err), E2BIG);
        ASSERT_NULL(c);
        ASSERT_STRCONTAINS(err, "config.json: 16777217 bytes exceed the limit of 16777216");
}

TEST(nul_byte_is_rejected) {
        static const char text[] = "{\"ociVersion\":\"1.2.0\",\0\"root\":{\"path\":\"r\"}}";
        _cleanup_free_ char *err = NULL;
        OciConfig *c = NULL;

        ASSERT_ERROR(oci_config_parse(text, sizeof text - 1, &c, &err), EINVAL);
        ASSERT_STRCONTAINS(err, "config.json: NUL byte at offset 22");
}

TEST(error_message_is_optional) {
        _cleanup_free_ char *t = jq(PROC("'rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]"));
        OciConfig *c = NULL;

        ASSERT_ERROR(oci_config_parse(t, strlen(t), &c, NULL), EINVAL);
        ASSERT_ERROR(oci_config_parse("[", 1, &c, NULL), EINVAL);
        ASSERT_ERROR(oci_config_parse(NULL, 0, &c, NULL), EINVAL);
        ASSERT_NULL(c);
}

TEST(too_many_unknown_capabilities) {
        _cleanup_free_ char *caps = NULL, *doc = NULL, *err = NULL;
        OciConfig *c = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&caps, &len);

        ASSERT_NOT_NULL(f);
        for (int i = 0; i < 65; i++)
                fprintf(f, "%s\"CAP_NEW_%d\"", i ? "," : "", i);
        fclose(f);
        ASSERT_OK(xasprintf(
                        &doc,
                        "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"},\"process\":{\"cwd\":\"/\","
                        "\"capabilities\":{\"bounding\":[%s]}}}",
                        caps));
        ASSERT_ERROR(oci_config_parse(doc, strlen(doc), &c, &err), EINVAL);
        ASSERT_STRCONTAINS(err, "process.capabilities.bounding[64]: more than 64 unknown capabilities");
}
