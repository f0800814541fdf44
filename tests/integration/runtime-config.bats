#!/usr/bin/env bats
# aula-runtime: what config.json asks for is what the container gets.

load helpers

setup_file() {
        common_setup_file
}

teardown_file() {
        common_teardown_file
        # Named in a test's process ($$ differs here): the names are listed in the file's tmpdir.
        local ns
        for ns in $(cat "$BATS_FILE_TMPDIR/netns" 2>/dev/null); do
                ip netns del "$ns" 2>/dev/null || true
        done
}

setup() {
        common_setup
        b=$BATS_TEST_TMPDIR/b
}

teardown() {
        for c in $(rt list -q 2>/dev/null); do rt delete -f "$c" >/dev/null 2>&1; done
        umount "$BATS_TEST_TMPDIR/host" 2>/dev/null || true
}

# crun (run) the bundle $b with the given command, output in $output
crun_b() {
        run rt run --bundle "$b" "t$BATS_TEST_NUMBER"
}

@test "hostname, domainname, env, cwd, user, additional gids, umask" {
        require_ids 1000 4 27
        make_bundle "$b" /bin/sh -c 'hostname; cat /proc/sys/kernel/domainname; echo $GREETING; pwd; id; umask'
        edit_config "$b" '.hostname = "student-07" | .domainname = "lab.example" | .process.env += ["GREETING=hi"]
                | .process.cwd = "/tmp" | .process.user = {uid: 1000, gid: 1000, additionalGids: [4, 27], umask: 63}'
        crun_b
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = student-07 ]
        [ "${lines[1]}" = lab.example ]
        [ "${lines[2]}" = hi ]
        [ "${lines[3]}" = /tmp ]
        [[ "${lines[4]}" == "uid=1000 gid=1000 groups=4,27"* ]]
        [ "${lines[5]}" = 0077 ]
}

@test "read-only root, masked paths, read-only paths" {
        make_bundle "$b" /bin/sh -c 'touch /x 2>&1; stat -c %t:%T /etc/hostname; ls /usr/bin | wc -l; echo 1 > /proc/sys/kernel/domainname 2>&1; echo done'
        # runc's default list (missing paths are skipped) plus a file and a directory of the image
        edit_config "$b" '.linux.maskedPaths += ["/etc/hostname", "/usr/bin", "/no/such/path"]'
        crun_b
        [[ "${lines[0]}" == *"Read-only file system"* ]]
        [ "${lines[1]}" = "1:3" ]          # a masked file is /dev/null
        [ "${lines[2]}" = "0" ]            # a masked directory is an empty tmpfs
        [[ "${lines[3]}" == *"Read-only file system"* ]]
        [ "${lines[4]}" = done ]
}

@test "writable root when root.readonly is false" {
        make_bundle "$b" -w /bin/sh -c 'touch /x && echo ok && rm /x'
        crun_b
        [ "$output" = ok ]
}

@test "mounts: tmpfs with options, read-only bind, propagation" {
        mkdir -p "$BATS_TEST_TMPDIR/host"
        echo from-host >"$BATS_TEST_TMPDIR/host/file"
        make_bundle "$b" /bin/sh -c 'grep " /scratch " /proc/mounts; cat /data/file; echo x > /data/file 2>&1; stat -c %a /scratch'
        edit_config "$b" '.mounts += [
                {destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1m", "mode=1700"]},
                {destination: "/data", type: "bind", source: $src, options: ["rbind", "ro", "rprivate"]}]' --arg src "$BATS_TEST_TMPDIR/host"
        crun_b
        [ "$status" -eq 0 ]
        [[ "${lines[0]}" == *"tmpfs /scratch tmpfs rw,nosuid,nodev"*"size=1024k"* ]]
        [ "${lines[1]}" = from-host ]
        [[ "${lines[2]}" == *"Read-only file system"* ]]
        [ "${lines[3]}" = 1700 ]
        [ "$(cat "$BATS_TEST_TMPDIR/host/file")" = from-host ]
}

@test "a symlink in the image cannot redirect a mount outside the rootfs" {
        make_bundle "$b" -w /bin/true
        ln -s /etc "$b/rootfs/escape"
        make_bundle "$b" -r "$b/rootfs" -w /bin/sh -c 'ls /escape/aula-target >/dev/null 2>&1 && echo inside'
        edit_config "$b" '.mounts += [{destination: "/escape/aula-target", type: "tmpfs", source: "tmpfs"}]'
        crun_b
        [ "$status" -eq 0 ]
        [ "$output" = inside ]
        # the mount point was created in the rootfs's own /etc, not the host's
        [ -d "$b/rootfs/etc/aula-target" ]
        [ ! -e /etc/aula-target ]
}

@test "/dev: default devices, symlinks, devpts, shm and configured devices" {
        make_bundle "$b" /bin/sh -c 'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T" /dev/$d; done; readlink /dev/fd; readlink /dev/ptmx; stat -c %t:%T /dev/fuse; grep -c devpts /proc/mounts'
        edit_config "$b" '.linux.devices = [{path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0}]'
        crun_b
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "/dev/null character special file 1:3" ]
        [ "${lines[5]}" = "/dev/tty character special file 5:0" ]
        [ "${lines[6]}" = /proc/self/fd ]
        [ "${lines[7]}" = pts/ptmx ]
        [ "${lines[8]}" = "a:e5" ]
        [ "${lines[9]}" = 1 ]
}

@test "capabilities, no_new_privs, rlimits, oom_score_adj" {
        make_bundle "$b" /bin/sh -c 'grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status; ulimit -n; cat /proc/self/oom_score_adj'
        edit_config "$b" '.process.noNewPrivileges = true | .process.rlimits = [{type: "RLIMIT_NOFILE", soft: 512, hard: 1024}]
                | .process.oomScoreAdj = 500'
        crun_b
        [ "$status" -eq 0 ]
        # CAP_AUDIT_WRITE (29), CAP_KILL (5), CAP_NET_BIND_SERVICE (10): runc's default set
        [ "${lines[0]}" = "CapEff:	0000000020000420" ]
        [ "${lines[1]}" = "CapBnd:	0000000020000420" ]
        [ "${lines[2]}" = "NoNewPrivs:	1" ]
        [ "${lines[3]}" = 512 ]
        [ "${lines[4]}" = 500 ]
}

@test "a non-root user gets the ambient capabilities asked for" {
        require_ids 1000
        make_bundle "$b" /bin/sh -c 'grep -E "^(CapEff|CapAmb)" /proc/self/status'
        edit_config "$b" '.process.user = {uid: 1000, gid: 1000}
                | .process.capabilities = {bounding: ["CAP_NET_BIND_SERVICE"], effective: ["CAP_NET_BIND_SERVICE"],
                   permitted: ["CAP_NET_BIND_SERVICE"], inheritable: ["CAP_NET_BIND_SERVICE"], ambient: ["CAP_NET_BIND_SERVICE"]}'
        crun_b
        [ "${lines[0]}" = "CapEff:	0000000000000400" ]
        [ "${lines[1]}" = "CapAmb:	0000000000000400" ]
}

@test "sysctl in the container's namespaces" {
        make_bundle "$b" /bin/sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax'
        edit_config "$b" '.linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "4242"}'
        crun_b
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = 1 ]
        [ "${lines[1]}" = 4242 ]
        [ "$(cat /proc/sys/kernel/msgmax)" != 4242 ]
}

@test "seccomp: errno actions, errnoRet, argument filters" {
        make_bundle "$b" -w /bin/sh -c 'mkdir /tmp/a 2>&1; touch /tmp/f; chmod 700 /tmp/f 2>&1; chmod 755 /tmp/f && echo chmod-755-ok; chown 1 /tmp/f 2>&1; echo end'
        edit_config "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                syscalls: [
                 {names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38},
                 {names: ["chmod"], action: "SCMP_ACT_ERRNO", args: [{index: 1, value: 448, op: "SCMP_CMP_EQ"}]},
                 {names: ["fchmodat"], action: "SCMP_ACT_ERRNO", args: [{index: 2, value: 448, op: "SCMP_CMP_EQ"}]},
                 {names: ["chown", "fchownat", "lchown", "no_such_syscall_x"], action: "SCMP_ACT_ERRNO"}]}'
        crun_b
        [ "$status" -eq 0 ]
        [[ "${lines[0]}" == *"/tmp/a"*"Function not implemented"* ]]  # errnoRet 38 = ENOSYS
        [[ "${lines[1]}" == *"/tmp/f"*"Operation not permitted"* ]]   # mode 0700 only
        [ "${lines[2]}" = chmod-755-ok ]
        [[ "${lines[3]}" == *"Operation not permitted"* ]]            # default errno EPERM
        [ "${lines[4]}" = end ]
}

@test "seccomp: SCMP_ACT_NOTIFY sends the listener fd and the state to listenerPath" {
        local sock=$BATS_TEST_TMPDIR/seccomp.sock out=$BATS_TEST_TMPDIR/listener.out
        "$SECCOMP_LISTENER" "$sock" 99 >"$out" &
        local lp=$!
        while [ ! -S "$sock" ]; do sleep 0.01; done
        make_bundle "$b" -w /bin/sh -c 'mkdir /tmp/n 2>&1; echo done'
        edit_config "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $sock,
                syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY"}]}' --arg sock "$sock"
        crun_b
        kill "$lp" 2>/dev/null || true
        [ "$status" -eq 0 ]
        [[ "${lines[0]}" == *"Cannot assign requested address"* ]] # errno 99 from the listener
        [ "${lines[1]}" = done ]
        run sed -n 's/^state: //p' "$out"
        [ "$(jq -r .id <<<"$output")" = "t$BATS_TEST_NUMBER" ]
        grep -q '^notify: ' "$out"
}

@test "seccomp: a bad profile is refused before anything runs" {
        make_bundle "$b" /bin/true
        edit_config "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_BOGUS"}'
        run rt run --bundle "$b" badsc
        [ "$status" -eq 1 ]
        [[ "$output" == *"linux.seccomp.defaultAction"* ]]
}

@test "hooks: order, state on stdin, failures and timeouts" {
        local log=$BATS_TEST_TMPDIR/hooks.log
        make_bundle "$b" /bin/true
        edit_config "$b" '.hooks = {
                prestart: [{path: "/bin/sh", args: ["sh", "-c", ("read s; echo prestart $s >> " + $log)]}],
                createRuntime: [{path: "/bin/sh", args: ["sh", "-c", ("echo createRuntime >> " + $log)]}],
                createContainer: [{path: "/bin/sh", args: ["sh", "-c", ("echo createContainer $(hostname) >> " + $log)]}],
                poststart: [{path: "/bin/sh", args: ["sh", "-c", ("echo poststart >> " + $log)]}],
                poststop: [{path: "/bin/sh", args: ["sh", "-c", ("echo poststop >> " + $log)]}]}' --arg log "$log"
        crun_b
        [ "$status" -eq 0 ]
        run cut -d' ' -f1 "$log"
        [ "$output" = "$(printf 'prestart\ncreateRuntime\ncreateContainer\npoststart\npoststop')" ]
        # prestart got the state JSON on stdin
        run sed -n '1s/^prestart //p' "$log"
        [ "$(jq -r .id <<<"$output")" = "t$BATS_TEST_NUMBER" ]
        [ "$(jq -r .pid <<<"$output")" -gt 0 ]
        [ "$(jq -r .bundle <<<"$output")" = "$b" ]
        grep -q "createContainer ocibench" "$log"

        # a failing prestart hook aborts create and leaves nothing behind
        edit_config "$b" '.hooks = {prestart: [{path: "/bin/sh", args: ["sh", "-c", "echo nope; exit 3"]}]}'
        run rt_bg create --bundle "$b" hookfail
        [ "$status" -eq 1 ]
        [[ "$output" == *"error running prestart hook #0"*"exit status 3"*nope* ]]
        run rt state hookfail
        [[ "$output" == *"does not exist"* ]]

        # a hook over its timeout is killed
        edit_config "$b" '.hooks = {createRuntime: [{path: "/bin/sleep", args: ["sleep", "10"], timeout: 1}]}'
        SECONDS=0
        run rt_bg create --bundle "$b" hooktimeout
        [ "$status" -eq 1 ]
        [[ "$output" == *"timed out"* ]]
        [ "$SECONDS" -lt 5 ]
}

@test "user namespace with uid/gid mappings" {
        require_init_userns "mapping host ids 100000-165535"
        make_bundle "$b" /bin/sh -c 'id -u; cat /proc/self/uid_map; touch /tmp/x && stat -c %u /tmp/x'
        edit_config "$b" '.linux.namespaces += [{type: "user"}]
                | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
                | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
                | .mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs"}]'
        # the container's root (host uid 100000) must be able to reach its rootfs
        make_traversable "$b"
        crun_b
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = 0 ]
        [[ "${lines[1]}" == *"0"*"100000"*"65536"* ]]
        [ "${lines[2]}" = 0 ]
}

@test "joining a network namespace by path" {
        require_init_userns "ip netns add"
        ip netns add "aula-bats-$$"
        echo "aula-bats-$$" >>"$BATS_FILE_TMPDIR/netns"
        make_bundle "$b" /bin/sh -c 'readlink /proc/self/ns/net'
        edit_config "$b" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' --arg p "/run/netns/aula-bats-$$"
        crun_b
        [ "$status" -eq 0 ]
        [ "$output" = "net:[$(stat -L -c %i "/run/netns/aula-bats-$$")]" ]
}

@test "time namespace with offsets" {
        [ -e /proc/self/ns/time ] || skip "kernel without time namespaces"
        make_bundle "$b" /bin/sh -c 'cut -d. -f1 /proc/uptime'
        edit_config "$b" '.linux.namespaces += [{type: "time"}] | .linux.timeOffsets = {boottime: {secs: 864000, nanosecs: 0}}'
        crun_b
        [ "$status" -eq 0 ]
        [ "$output" -gt 864000 ]
}

@test "cgroup namespace: the container sees its cgroup as /" {
        make_bundle "$b" /bin/sh -c 'grep -c ":/$" /proc/self/cgroup; ls /sys/fs/cgroup | wc -l'
        edit_config "$b" '.linux.namespaces += [{type: "cgroup"}]'
        crun_b
        [ "$status" -eq 0 ]
        [ "${lines[0]}" -eq "$(wc -l </proc/self/cgroup)" ]
        [ "${lines[1]}" -ge 1 ]
}

@test "the init is placed in its cgroup in every hierarchy" {
        require_cgroup
        make_bundle "$b" /bin/sleep 100
        rt_bg run -d --bundle "$b" cgp
        local pid
        pid=$(rt state cgp | jq -r .pid)
        run grep -c ":$CG_PREFIX/b\$" /proc/"$pid"/cgroup
        [ "$output" -eq "$(wc -l </proc/self/cgroup)" ]
}

@test "--no-pivot works (MS_MOVE + chroot)" {
        make_bundle "$b" /bin/sh -c 'ls /bin/busybox'
        run rt run --no-pivot --bundle "$b" np
        [ "$status" -eq 0 ]
        [ "$output" = /bin/busybox ]
}

@test "malformed config.json: a clear error naming the field, nothing left behind" {
        make_bundle "$b" /bin/true
        cp "$b/config.json" "$b/good.json"
        local cases=(
                '{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"cwd": "/", "args": "sh"}}|process.args'
                '{"ociVersion": "1.0.0", "process": {"cwd": "/", "args": ["sh"]}}|root'
                '{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"cwd": "/", "args": ["sh"]}, "linux": {"namespaces": [{"type": "bogus"}]}}|linux.namespaces[0].type'
                '{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"cwd": "/", "args": ["sh"], "user": {"uid": 4294967296, "gid": 0}}}|process.user.uid'
                '{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"cwd": "/", "args": ["sh"], "oomScoreAdj": 5000}}|process.oomScoreAdj'
                '{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"cwd": "/", "args": []}}|process.args'
                '{"ociVersion": "1.0.0", "root": {"path": "rootfs"|invalid JSON'
                '[1, 2]|'
        )
        local c
        for c in "${cases[@]}"; do
                printf '%s' "${c%|*}" >"$b/config.json"
                run rt_bg create --bundle "$b" bad
                [ "$status" -eq 1 ]
                [ "${#lines[@]}" -eq 1 ]
                [[ "$output" == *"config.json"*"${c##*|}"* ]]
                [ ! -e "$RT_ROOT/bad" ]
        done
        ! ls -d /sys/fs/cgroup/*/"${CG_PREFIX#/}"/b 2>/dev/null
        cp "$b/good.json" "$b/config.json"
        edit_config "$b" '.root.path = "/no/such/rootfs"'
        run rt_bg create --bundle "$b" bad
        [ "$status" -eq 1 ]
        [[ "$output" == *"root.path"*"/no/such/rootfs"* ]]
}

@test "idmapped bind mounts: explicit mappings, the container's own, and errors" {
        require_init_userns "mount -o loop"
        require_mount_api
        # The source lives on a small ext4 (idmap support since 5.12), wherever /tmp is
        # (overlayfs in tests/vmhost, which cannot be idmapped on 6.1).
        truncate -s 16M "$BATS_TEST_TMPDIR/ext4.img"
        mkfs.ext4 -q "$BATS_TEST_TMPDIR/ext4.img"
        mkdir -p "$BATS_TEST_TMPDIR/host"
        modprobe -q loop 2>/dev/null || true # tests/vmhost loads modules on demand only
        mount -o loop "$BATS_TEST_TMPDIR/ext4.img" "$BATS_TEST_TMPDIR/host"
        echo hi >"$BATS_TEST_TMPDIR/host/f"
        chown 0:0 "$BATS_TEST_TMPDIR/host/f"
        make_bundle "$b" /bin/sh -c 'stat -c "%u:%g" /data/f /plain/f'
        edit_config "$b" '.mounts += [
                {destination: "/data", type: "bind", source: $src, options: ["bind", "idmap"],
                 uidMappings: [{containerID: 0, hostID: 1000, size: 1}], gidMappings: [{containerID: 0, hostID: 2000, size: 1}]},
                {destination: "/plain", type: "bind", source: $src, options: ["bind"]}]' --arg src "$BATS_TEST_TMPDIR/host"
        crun_b
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "1000:2000" ]   # on-disk 0 shows as the mapped id
        [ "${lines[1]}" = "0:0" ]

        # in a user namespace, "idmap" alone uses the container's mappings: root's files stay root's
        make_bundle "$b" /bin/sh -c 'stat -c "%u:%g" /data/f; touch /data/new && stat -c "%u" /data/new'
        edit_config "$b" '.linux.namespaces += [{type: "user"}]
                | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
                | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
                | .mounts += [{destination: "/data", type: "bind", source: $src, options: ["rbind", "rw", "idmap"]}]' \
                --arg src "$BATS_TEST_TMPDIR/host"
        make_traversable "$b"
        crun_b
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "0:0" ]
        [ "${lines[1]}" = 0 ]
        [ "$(stat -c %u "$BATS_TEST_TMPDIR/host/new")" = 0 ] # written as the host's root through the mapping

        # no mappings anywhere: a clear error
        make_bundle "$b" /bin/true
        edit_config "$b" '.mounts += [{destination: "/data", type: "bind", source: $src, options: ["bind", "idmap"]}]' \
                --arg src "$BATS_TEST_TMPDIR/host"
        crun_b
        [ "$status" -eq 1 ]
        [[ "$output" == *"/data: idmap needs uidMappings and gidMappings"* ]]
        umount "$BATS_TEST_TMPDIR/host"
}
