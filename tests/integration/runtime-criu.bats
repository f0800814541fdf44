#!/usr/bin/env bats
# aula-runtime checkpoint/restore on this host: arguments and every error path that needs no
# working CRIU (CRIU 3.17 fails on this host's kernel; runtime-criu-vm.bats runs it in tests/vmhost).
# A stand-in criu ($AULA_CRIU) checks that a failing CRIU leaves nothing behind.

load helpers

setup_file() {
        common_setup_file
        export B=$BATS_FILE_TMPDIR/bundle
        make_bundle "$B" /bin/sleep 1000
        # A checkpoint directory that passes our checks, for a CRIU that then fails.
        export FAKE_IMG=$BATS_FILE_TMPDIR/fake-img
        mkdir -p "$FAKE_IMG"
        : >"$FAKE_IMG/inventory.img"
        cat >"$FAKE_IMG/aula-criu.json" <<EOF
{"version": 1, "id": "old", "cgroup": "/old", "terminal": false, "stdio": [null, null, null],
 "externalNetns": false, "externalPidns": false, "mounts": []}
EOF
        export FAKE_CRIU=$BATS_FILE_TMPDIR/fake-criu
        printf '#!/bin/sh\nexit 3\n' >"$FAKE_CRIU"
        chmod +x "$FAKE_CRIU"
}

teardown_file() {
        common_teardown_file
}

teardown() {
        for c in $(rt list -q 2>/dev/null); do rt delete -f "$c" >/dev/null 2>&1; done
}

# Built without protobuf-c/rpc.proto, every CRIU step says so instead.
require_criu_build() {
        run rt restore --image-path "$FAKE_IMG" -b "$B" probe
        if [[ "$output" == *"built without CRIU support"* ]]; then
                [ "${RT_MUST_WORK:-0}" = 1 ] && return 1
                skip "aula-runtime was built without CRIU support"
        fi
}

# Nothing of container $1 is left: state, cgroup, the rootfs bind CRIU would have used.
assert_nothing_left() {
        [ ! -e "$RT_ROOT/$1" ]
        if grep -q "criu-root" /proc/self/mountinfo; then
                echo "a criu-root is still mounted" >&2
                return 1
        fi
        if ls -d /sys/fs/cgroup/*/aula-runtime/"$1" /sys/fs/cgroup/aula-runtime/"$1" 2>/dev/null; then
                return 1
        fi
}

@test "checkpoint and restore are listed and take runc's flags" {
        run "$AULA_RUNTIME" --help
        [[ "$output" == *"  checkpoint "* ]]
        [[ "$output" == *"  restore "* ]]
        run "$AULA_RUNTIME" checkpoint --help
        [ "$status" -eq 0 ]
        for f in --image-path --work-path --leave-running --tcp-established --ext-unix-sk --shell-job \
                --file-locks --manage-cgroups-mode; do
                [[ "$output" == *"$f"* ]]
        done
        run "$AULA_RUNTIME" restore --help
        [ "$status" -eq 0 ]
        for f in --image-path --work-path --bundle --detach --pid-file --console-socket --tcp-established \
                --manage-cgroups-mode --no-subreaper; do
                [[ "$output" == *"$f"* ]]
        done
}

@test "argument errors are one line each" {
        run rt checkpoint
        [ "$status" -eq 1 ]
        [[ "$output" == *"checkpoint: missing argument"* ]]
        run rt restore a b
        [ "$status" -eq 1 ]
        [[ "$output" == *"restore: unexpected argument"* ]]
        run rt checkpoint --manage-cgroups-mode sometimes c1
        [ "$status" -eq 1 ]
        [ "$output" = "aula-runtime: checkpoint: invalid --manage-cgroups-mode 'sometimes': want soft, full, strict or ignore" ]
        run rt restore --empty-ns pid c1
        [ "$status" -eq 1 ]
        [[ "$output" == *'namespace "pid" is not supported by --empty-ns'* ]]
        run rt checkpoint --pre-dump c1
        [ "$status" -eq 1 ]
        [[ "$output" == *"--pre-dump is not supported"* ]]
        run rt restore --frob c1
        [ "$status" -eq 1 ]
        [[ "$output" == *"unknown flag --frob"* ]]
        [ "${#lines[@]}" -eq 1 ]
}

@test "checkpoint of a missing, created or stopped container fails and creates no image" {
        cd "$BATS_TEST_TMPDIR"
        run rt checkpoint nope
        [ "$status" -eq 1 ]
        [ "$output" = "aula-runtime: container nope does not exist" ]
        rt_bg create --bundle "$B" cr
        run rt checkpoint cr
        [ "$status" -eq 1 ]
        [ "$output" = "aula-runtime: cannot checkpoint container cr: it is created, not running" ]
        local b=$BATS_TEST_TMPDIR/b
        make_bundle "$b" /bin/true
        rt_bg run -d --bundle "$b" st
        wait_status st stopped
        run rt checkpoint --image-path "$BATS_TEST_TMPDIR/img" st
        [ "$status" -eq 1 ]
        [[ "$output" == *"cannot checkpoint container st: it is stopped"* ]]
        [ ! -e "$BATS_TEST_TMPDIR/img" ]
        [ ! -e "$BATS_TEST_TMPDIR/checkpoint" ]
}

@test "a failing CRIU leaves the container running and no checkpoint behind" {
        require_criu_build
        rt_bg run -d --bundle "$B" run1
        local pid
        pid=$(rt state run1 | jq -r .pid)
        run env AULA_CRIU=/nonexistent/criu "$AULA_RUNTIME" --root "$RT_ROOT" checkpoint \
                --image-path "$BATS_TEST_TMPDIR/img" run1
        [ "$status" -eq 1 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == *"Failed to checkpoint container run1: cannot execute /nonexistent/criu: No such file or directory"* ]]
        [ ! -e "$BATS_TEST_TMPDIR/img" ]
        run env AULA_CRIU="$FAKE_CRIU" "$AULA_RUNTIME" --root "$RT_ROOT" checkpoint \
                --image-path "$BATS_TEST_TMPDIR/img" run1
        [ "$status" -eq 1 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == *"Failed to checkpoint container run1: criu exited with status 3 without an answer"* ]]
        [ ! -e "$BATS_TEST_TMPDIR/img" ]
        # a directory that existed is kept, without our files
        mkdir "$BATS_TEST_TMPDIR/img"
        run env AULA_CRIU="$FAKE_CRIU" "$AULA_RUNTIME" --root "$RT_ROOT" checkpoint \
                --image-path "$BATS_TEST_TMPDIR/img" run1
        [ "$status" -eq 1 ]
        [ -d "$BATS_TEST_TMPDIR/img" ]
        [ -z "$(ls "$BATS_TEST_TMPDIR/img")" ]
        [ "$(rt state run1 | jq -r .status)" = running ]
        [ "$(rt state run1 | jq -r .pid)" = "$pid" ]
}

@test "restore refuses an id in use, before looking at the image" {
        rt_bg create --bundle "$B" used
        run rt restore --image-path "$BATS_TEST_TMPDIR/none" -b "$B" used
        [ "$status" -eq 1 ]
        [ "$output" = "aula-runtime: container with id used already exists" ]
        [ "$(rt state used | jq -r .status)" = created ]
        run rt restore -b "$B" "bad/id"
        [ "$status" -eq 1 ]
        [[ "$output" == *"invalid container id 'bad/id'"* ]]
}

@test "restore of a missing, empty, foreign or corrupt image fails cleanly" {
        local img=$BATS_TEST_TMPDIR/img
        run rt restore --image-path "$img" -b "$B" r1
        [ "$status" -eq 1 ]
        [ "$output" = "aula-runtime: checkpoint image directory '$img' does not exist" ]
        cd "$BATS_TEST_TMPDIR"
        run rt restore -b "$B" r1
        [ "$output" = "aula-runtime: checkpoint image directory 'checkpoint' does not exist" ]
        mkdir "$img"
        run rt restore --image-path "$img" -b "$B" r1
        [ "$status" -eq 1 ]
        [ "$output" = "aula-runtime: '$img' holds no checkpoint (no inventory.img)" ]
        : >"$img/inventory.img"
        run rt restore --image-path "$img" -b "$B" r1
        [ "$status" -eq 1 ]
        [ "$output" = "aula-runtime: '$img' was not checkpointed by aula-runtime (no aula-criu.json)" ]
        echo '{"version": 1, "id": "x", "terminal": "yes"}' >"$img/aula-criu.json"
        run rt restore --image-path "$img" -b "$B" r1
        [ "$status" -eq 1 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == *"Corrupt checkpoint '$img/aula-criu.json':"*terminal* ]]
        echo '{"version": 9}' >"$img/aula-criu.json"
        run rt restore --image-path "$img" -b "$B" r1
        [[ "$output" == *"Corrupt checkpoint"*"unsupported version 9"* ]]
        run rt restore --image-path "$FAKE_IMG" -b "$BATS_TEST_TMPDIR/nobundle" r1
        [ "$status" -eq 1 ]
        [[ "$output" == *"Invalid bundle"* ]]
        assert_nothing_left r1
}

@test "restore checks the image against config.json before creating anything" {
        local img=$BATS_TEST_TMPDIR/img b=$BATS_TEST_TMPDIR/b
        cp -r "$FAKE_IMG" "$img"
        make_bundle "$b" /bin/sh
        jq '.terminal = true' "$FAKE_IMG/aula-criu.json" >"$img/aula-criu.json"
        run rt restore -d --image-path "$img" -b "$b" r2
        [ "$status" -eq 1 ]
        [[ "$output" == *"has a terminal: restoring it detached needs --console-socket"* ]]
        jq '.externalNetns = true' "$FAKE_IMG/aula-criu.json" >"$img/aula-criu.json"
        run rt restore -d --image-path "$img" -b "$b" r2
        [ "$status" -eq 1 ]
        [[ "$output" == *"taken in a network namespace given by path, but config.json names no one"* ]]
        jq '.mounts = [{"mountpoint": "/data", "kind": "bind", "source": null}]' "$FAKE_IMG/aula-criu.json" \
                >"$img/aula-criu.json"
        require_criu_build
        run env AULA_CRIU="$FAKE_CRIU" "$AULA_RUNTIME" --root "$RT_ROOT" restore -d --image-path "$img" -b "$b" r2
        [ "$status" -eq 1 ]
        [[ "$output" == *"the checkpoint has a bind mount at /data, but config.json does not say where it comes from"* ]]
        assert_nothing_left r2
        # stdout was a file at checkpoint time; `run` gives restore a pipe
        jq '.stdio[1] = "file[18:4]"' "$FAKE_IMG/aula-criu.json" >"$img/aula-criu.json"
        run env AULA_CRIU="$FAKE_CRIU" "$AULA_RUNTIME" --root "$RT_ROOT" restore -d --image-path "$img" -b "$b" r2
        [ "$status" -eq 1 ]
        [ "$output" = "aula-runtime: the checkpointed container's stdout was a file (file[18:4]), ours is a pipe: give restore the same kind of stdout" ]
        assert_nothing_left r2
}

@test "a failing CRIU during restore leaves nothing behind" {
        require_criu_build
        run env AULA_CRIU="$FAKE_CRIU" "$AULA_RUNTIME" --root "$RT_ROOT" restore -d --image-path "$FAKE_IMG" \
                -b "$B" r3
        [ "$status" -eq 1 ]
        [ "${#lines[@]}" -eq 1 ]
        [ "$output" = "aula-runtime: Failed to restore container r3: criu exited with status 3 without an answer (log: $FAKE_IMG/restore.log)" ]
        assert_nothing_left r3
        # the cgroup it made is gone too (make_bundle's cgroupsPath)
        [ -z "$(ls -d /sys/fs/cgroup/*/"${CG_PREFIX#/}"/bundle /sys/fs/cgroup/"${CG_PREFIX#/}"/bundle 2>/dev/null)" ]
        run env AULA_CRIU=/nonexistent/criu "$AULA_RUNTIME" --root "$RT_ROOT" restore -d \
                --image-path "$FAKE_IMG" -b "$B" r3
        [ "$status" -eq 1 ]
        [[ "$output" == *"cannot execute /nonexistent/criu: No such file or directory (install criu, or point \$AULA_CRIU at it)"* ]]
        assert_nothing_left r3
}
