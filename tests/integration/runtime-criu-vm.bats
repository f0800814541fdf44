#!/usr/bin/env bats
# aula-runtime checkpoint/restore with CRIU, inside tests/vmhost (run by runtime-criu-vm.sh, which
# builds $CRIU_TEMPLATE, a busybox bundle, on the host). Everything here needs a CRIU that works.
# TCG makes each process start cost: bundles share the template's rootfs, one jq call each.

load helpers

# Prints 1, 2, 3, ...: its stdout (a file opened for appending: CRIU checks the size of others)
# must read on without a gap or a restart across a checkpoint and restore.
COUNTER='i=0; trap "exit 7" TERM; while :; do i=$((i+1)); echo $i; sleep 0.1; done'

setup_file() {
        common_setup_file
        if [ -z "${CRIU_TEMPLATE:-}" ] || [ ! -d "${CRIU_TEMPLATE:-}" ]; then
                [ "${RT_MUST_WORK:-0}" = 1 ] && { echo "CRIU_TEMPLATE missing" >&2; return 1; }
                skip "run through runtime-criu-vm.sh (CRIU_TEMPLATE missing)"
        fi
        # The first CRIU run probes the kernel (seconds under TCG) and caches it in /run/criu.kdat.
        if ! criu check >"$BATS_FILE_TMPDIR/criu-check" 2>&1; then
                [ "${RT_MUST_WORK:-0}" = 1 ] && { cat "$BATS_FILE_TMPDIR/criu-check" >&2; return 1; }
                skip "criu check fails here: $(grep -m1 -i error "$BATS_FILE_TMPDIR/criu-check")"
        fi
}

teardown_file() {
        common_teardown_file
}

teardown() {
        for c in $(rt list -q 2>/dev/null); do rt delete -f "$c" >/dev/null 2>&1; done
        ip netns del "aula-criu-$$" 2>/dev/null || true
}

# bundle DIR [SCRIPT [JQ-FILTER [JQ-ARGS...]]]: the template's rootfs running `sh -c SCRIPT` (default:
# the counter), in a cgroup of its own, config.json edited by JQ-FILTER.
bundle() {
        local dir=$1 script=${2:-$COUNTER} filter=${3:-.}
        shift $(($# < 3 ? $# : 3))
        mkdir -p "$dir"
        jq --arg s "$script" --arg root "$CRIU_TEMPLATE/rootfs" --arg cg "$CG_PREFIX/$(basename "$dir")" "$@" \
                ".process.args = [\"/bin/sh\", \"-c\", \$s] | .root.path = \$root | .linux.cgroupsPath = \$cg | $filter" \
                "$CRIU_TEMPLATE/config.json" >"$dir/config.json"
}

# The runtime with the container's stdio on $BATS_TEST_TMPDIR/$OUT.out and .err (default ctr), for appending.
rtd() {
        local o=$BATS_TEST_TMPDIR/${OUT:-ctr}
        "$AULA_RUNTIME" --root "$RT_ROOT" "$@" </dev/null >>"$o.out" 2>>"$o.err"
}

# rtf ARGS: the runtime as rtd (the container's stdio on files), printing its own stderr, for `run`.
rtf() {
        local st=0
        "$AULA_RUNTIME" --root "$RT_ROOT" "$@" </dev/null >>"$BATS_TEST_TMPDIR/ctr.out" \
                2>"$BATS_TEST_TMPDIR/rt.err" || st=$?
        cat "$BATS_TEST_TMPDIR/rt.err"
        return "$st"
}

# last FILE: the last number in FILE (0 when none).
last() {
        local l c=0
        if [ -f "$1" ]; then
                while read -r l; do
                        [[ "$l" =~ ^[0-9]+$ ]] && c=$l
                done <"$1"
        fi
        echo "$c"
}

# wait_count FILE N: until the last number in FILE is above N (20 s at most: TCG is slow); prints it.
wait_count() {
        local c end=$((SECONDS + 20))
        while [ "$SECONDS" -le "$end" ]; do
                c=$(last "$1")
                [ "$c" -gt "$2" ] && { echo "$c"; return 0; }
                sleep 0.05
        done
        echo "$1 did not pass $2 (at $c); stderr: $(tail -n3 "${1%.out}.err" 2>/dev/null)" >&2
        return 1
}

# consecutive FILE: its numbers read 1, 2, 3, ... (other lines ignored); prints the last.
consecutive() {
        awk '/^[0-9]+$/ { if ($1 != ++n) { print "line " NR ": " $1 " where " n " was due"; exit 1 } } END { print n }' "$1"
}

# recvtty SOCKET OUT: the console-socket receiver, listening once this returns.
recvtty() {
        local end=$((SECONDS + 10))
        "$RECVTTY" "$1" >"$2" &
        while [ ! -S "$1" ] && [ "$SECONDS" -le "$end" ]; do sleep 0.05; done
        [ -S "$1" ]
}

cgroup_of() {
        sed -n 's/^0:://p' "/proc/$1/cgroup"
}

@test "a counting container is checkpointed and restored, and counts on from where it was" {
        local b=$BATS_TEST_TMPDIR/b img=$BATS_TEST_TMPDIR/img out=$BATS_TEST_TMPDIR/ctr.out pid npid frozen
        bundle "$b"
        rtd run -d -b "$b" c1
        pid=$(rt state c1 | jq -r .pid)
        wait_count "$out" 5 >/dev/null

        run rt checkpoint --image-path "$img" c1
        [ "$status" -eq 0 ]
        [ -z "$output" ]
        # the container is gone, as after delete; its process stopped counting
        run rt state c1
        [[ "$output" == *"container c1 does not exist"* ]]
        [ ! -d "/sys/fs/cgroup$CG_PREFIX/b" ]
        [ ! -d "/proc/$pid" ] || [ "$(awk '{print $3}' "/proc/$pid/stat")" = Z ]
        frozen=$(last "$out")
        [ -f "$img/inventory.img" ]
        [ "$(jq -r .id "$img/aula-criu.json")" = c1 ]
        [ "$(jq -r '.[1]' "$img/descriptors.json")" = "$out" ]

        run rtd restore -d --image-path "$img" -b "$b" --pid-file "$BATS_TEST_TMPDIR/pid" c1
        [ "$status" -eq 0 ]
        [ "$(rt state c1 | jq -r .status)" = running ]
        npid=$(rt state c1 | jq -r .pid)
        [ "$npid" != "$pid" ]
        [ "$(cat "$BATS_TEST_TMPDIR/pid")" = "$npid" ]
        # state.json guards the new pid with its start time
        [ "$(jq -r .pidStart "$RT_ROOT/c1/state.json")" = "$(awk '{print $22}' "/proc/$npid/stat")" ]
        # it goes on from the number it had, not from 1, into the restoring runtime's stdout
        wait_count "$out" $((frozen + 2)) >/dev/null
        run consecutive "$out"
        [ "$status" -eq 0 ]
        [ "$output" -gt $((frozen + 2)) ]
        [ "$(readlink "/proc/$npid/fd/1")" = "$out" ]
        # same cgroup, a new network namespace with its loopback up, init still PID 1 inside
        [ "$(cgroup_of "$npid")" = "$CG_PREFIX/b" ]
        [ "$(readlink "/proc/$npid/ns/net")" != "$(readlink /proc/self/ns/net)" ]
        nsenter --net="/proc/$npid/ns/net" ip -o link show lo | grep -q "[<,]UP[,>]"
        grep -q "^NSpid:.*[[:space:]]1$" "/proc/$npid/status"
        run rt delete -f c1
        [ "$status" -eq 0 ]
        [ ! -e "$RT_ROOT/c1" ]
}

@test "--leave-running; restore into another id, bundle, bind source and cgroup, in a netns given by path" {
        local b=$BATS_TEST_TMPDIR/b b2=$BATS_TEST_TMPDIR/b2 img=$BATS_TEST_TMPDIR/img work=$BATS_TEST_TMPDIR/work
        local ns=aula-criu-$$ d=$BATS_TEST_TMPDIR v0 p1 p2
        ip netns add "$ns"
        mkdir -p "$d/data" "$d/data2"
        echo one >"$d/data/which"
        echo two >"$d/data2/which"
        local mounts='.mounts += [{"destination": "/data", "type": "bind", "source": $d, "options": ["rbind"]}]
                | (.linux.namespaces[] | select(.type == "network")).path = $ns'
        bundle "$b" "$COUNTER" "$mounts" --arg d "$d/data" --arg ns "/run/netns/$ns"
        rtd run -d -b "$b" c2
        p1=$(rt state c2 | jq -r .pid)
        v0=$(wait_count "$d/ctr.out" 5)

        run rt checkpoint --leave-running --image-path "$img" --work-path "$work" c2
        [ "$status" -eq 0 ]
        [ "$(rt state c2 | jq -r .pid)" = "$p1" ]
        wait_count "$d/ctr.out" "$(last "$d/ctr.out")" >/dev/null
        [ -f "$work/dump.log" ] && [ ! -f "$img/dump.log" ]
        [ "$(jq -c '[.mounts[] | .mountpoint + "=" + .kind] | sort' "$img/aula-criu.json")" = '["/data=bind","/sys/fs/cgroup=cgroup"]' ]
        [ "$(jq -r .externalNetns "$img/aula-criu.json")" = true ]

        # another bundle: another bind source, another cgroup; its own stdout
        bundle "$b2" "$COUNTER" "$mounts | .linux.cgroupsPath = \$cg2" --arg d "$d/data2" --arg ns "/run/netns/$ns" \
                --arg cg2 "$CG_PREFIX/other"
        OUT=ctr2 run rtd restore -d --image-path "$img" --work-path "$work" -b "$b2" c3
        [ "$status" -eq 0 ]
        [ -f "$work/restore.log" ]
        p2=$(rt state c3 | jq -r .pid)
        [ "$(rt state c3 | jq -r .bundle)" = "$b2" ]
        # it counts on from where c2 was at the checkpoint, into the new stdout
        [ "$(wait_count "$d/ctr2.out" 0)" -gt "$v0" ]
        [ "$(cgroup_of "$p2")" = "$CG_PREFIX/other" ]
        [ "$(cat "/proc/$p2/root/data/which")" = two ]
        [ "$(stat -L -c %i "/proc/$p2/ns/net")" = "$(stat -L -c %i "/run/netns/$ns")" ]
        # and c2 runs on, on its own
        [ "$(rt state c2 | jq -r .status)" = running ]
        [ "$(cgroup_of "$p1")" = "$CG_PREFIX/b" ]
        [ "$(cat "/proc/$p1/root/data/which")" = one ]
        wait_count "$d/ctr.out" "$(last "$d/ctr.out")" >/dev/null
}

@test "a terminal container gets its new pty through --console-socket and keeps writing to it" {
        local b=$BATS_TEST_TMPDIR/b img=$BATS_TEST_TMPDIR/img t=$BATS_TEST_TMPDIR frozen first
        bundle "$b" "$COUNTER" '.process.terminal = true'
        recvtty "$t/tty1.sock" "$t/tty1.out"
        rtd run -d --console-socket "$t/tty1.sock" -b "$b" t1
        wait_count "$t/tty1.out" 5 >/dev/null
        run rt checkpoint --image-path "$img" t1
        [ "$status" -eq 0 ]
        [ "$(jq -r .terminal "$img/aula-criu.json")" = true ]
        frozen=$(last "$t/tty1.out")

        run rt restore -d --image-path "$img" -b "$b" t1
        [ "$status" -eq 1 ]
        [[ "$output" == *"restoring it detached needs --console-socket"* ]]
        [ ! -e "$RT_ROOT/t1" ]

        recvtty "$t/tty2.sock" "$t/tty2.out"
        run rtd restore -d --console-socket "$t/tty2.sock" --image-path "$img" -b "$b" t1
        [ "$status" -eq 0 ]
        wait_count "$t/tty2.out" $((frozen + 2)) >/dev/null
        # the new pty carries what the process writes after the checkpoint, from where it was
        first=$(grep -m1 '^[0-9][0-9]*$' "$t/tty2.out")
        [ "$first" -ge $((frozen - 2)) ] && [ "$first" -le $((frozen + 2)) ]
        [[ "$(readlink "/proc/$(rt state t1 | jq -r .pid)/fd/1")" == /dev/pts/* ]]
}

@test "stdout on a pipe, as podman and containerd give it; a foreground restore returns the exit status" {
        local b=$BATS_TEST_TMPDIR/b img=$BATS_TEST_TMPDIR/img p=$BATS_TEST_TMPDIR/pipe.out rpid st=0 frozen
        bundle "$b"
        "$AULA_RUNTIME" --root "$RT_ROOT" run -d -b "$b" f1 </dev/null 2>>"$BATS_TEST_TMPDIR/ctr.err" \
                > >(cat >>"$p")
        wait_count "$p" 3 >/dev/null
        rt checkpoint --image-path "$img" f1
        [[ "$(jq -r '.stdio[1]' "$img/aula-criu.json")" == "pipe:["*"]" ]]
        sleep 0.3 # cat drains the pipe
        frozen=$(last "$p")
        # the restored process writes into the pipe the restoring runtime has as stdout
        "$AULA_RUNTIME" --root "$RT_ROOT" restore --image-path "$img" -b "$b" f1 </dev/null \
                2>>"$BATS_TEST_TMPDIR/ctr.err" > >(cat >>"$p") &
        rpid=$!
        wait_count "$p" $((frozen + 2)) >/dev/null
        run consecutive "$p"
        [ "$status" -eq 0 ]
        [[ "$(readlink "/proc/$(rt state f1 | jq -r .pid)/fd/1")" == pipe:* ]]
        rt kill f1 TERM
        wait "$rpid" || st=$?
        [ "$st" -eq 7 ]
        # a foreground restore removes the container afterwards, as run does
        run rt state f1
        [[ "$output" == *"does not exist"* ]]
        [ ! -d "/sys/fs/cgroup$CG_PREFIX/b" ]
}

@test "restore of an id in use, of a corrupt image, with a missing bind source: one line, nothing left" {
        local b=$BATS_TEST_TMPDIR/b img=$BATS_TEST_TMPDIR/img bad=$BATS_TEST_TMPDIR/bad
        local bind='.mounts += [{"destination": "/data", "type": "bind", "source": $d, "options": ["rbind"]}]'
        mkdir "$BATS_TEST_TMPDIR/data"
        bundle "$b" "$COUNTER" "$bind" --arg d "$BATS_TEST_TMPDIR/data"
        rtd run -d -b "$b" e1
        wait_count "$BATS_TEST_TMPDIR/ctr.out" 3 >/dev/null
        rt checkpoint --leave-running --image-path "$img" e1

        run rt restore -d --image-path "$img" -b "$b" e1
        [ "$status" -eq 1 ]
        [ "$output" = "aula-runtime: container with id e1 already exists" ]

        cp -a "$img" "$bad"
        : >"$bad/pstree.img"
        run rtf restore -d --image-path "$bad" -b "$b" e2
        [ "$status" -eq 1 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == "aula-runtime: Failed to restore container e2: "*" (log: $bad/restore.log)" ]]
        [ ! -e "$RT_ROOT/e2" ]
        run grep -c criu-root /proc/self/mountinfo
        [ "$output" = 0 ]

        # config.json's bind source is gone: CRIU cannot bind it back
        bundle "$b" "$COUNTER" "$bind" --arg d "$BATS_TEST_TMPDIR/nowhere"
        run rtf restore -d --image-path "$img" -b "$b" e3
        [ "$status" -eq 1 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == "aula-runtime: Failed to restore container e3: "* ]]
        [ ! -e "$RT_ROOT/e3" ]
        run grep -c criu-root /proc/self/mountinfo
        [ "$output" = 0 ]
        # the original runs on, its cgroup (shared with the failed restores) untouched
        [ "$(rt state e1 | jq -r .status)" = running ]
        [ "$(cgroup_of "$(rt state e1 | jq -r .pid)")" = "$CG_PREFIX/b" ]
}
