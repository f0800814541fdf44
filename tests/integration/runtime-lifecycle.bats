#!/usr/bin/env bats
# aula-runtime: create/start/run/state/kill/delete/pause/resume/ps/list/update on a busybox bundle.

load helpers

setup_file() {
        common_setup_file
        export B=$BATS_FILE_TMPDIR/bundle
        make_bundle "$B" /bin/sleep 1000
}

teardown_file() {
        common_teardown_file
}

teardown() {
        for c in $(rt list -q 2>/dev/null); do rt delete -f "$c" >/dev/null 2>&1; done
}

@test "run: stdout passes through and the exit status is the process's" {
        local b=$BATS_TEST_TMPDIR/b
        make_bundle "$b" /bin/echo hello-aula
        run rt run --bundle "$b" r1
        [ "$status" -eq 0 ]
        [ "$output" = "hello-aula" ]
        # the container is gone afterwards, as with runc
        run rt state r1
        [[ "$output" == *"does not exist"* ]]
        make_bundle "$b" /bin/sh -c 'exit 42'
        run rt run --bundle "$b" r2
        [ "$status" -eq 42 ]
}

@test "run: a process killed by a signal gives 128+signal" {
        local b=$BATS_TEST_TMPDIR/b
        make_bundle "$b" /bin/sleep 100
        "$AULA_RUNTIME" --root "$RT_ROOT" run --bundle "$b" rs &
        local pid=$!
        wait_status rs running
        rt kill rs KILL
        wait $pid && st=0 || st=$?
        [ "$st" -eq 137 ]
}

@test "run: forwards SIGTERM to the container process" {
        local b=$BATS_TEST_TMPDIR/b
        make_bundle "$b" /bin/sh -c 'trap "echo got-term; exit 7" TERM; while :; do sleep 0.05; done'
        "$AULA_RUNTIME" --root "$RT_ROOT" run --bundle "$b" rt1 >"$BATS_TEST_TMPDIR/out" 2>&1 &
        local pid=$!
        wait_status rt1 running
        sleep 0.2
        kill -TERM $pid
        wait $pid && st=0 || st=$?
        [ "$st" -eq 7 ]
        grep -q got-term "$BATS_TEST_TMPDIR/out"
}

@test "create -> created; start -> running; kill -> stopped; delete -> gone" {
        run rt_bg create --bundle "$B" --pid-file "$BATS_TEST_TMPDIR/pid" c1
        [ "$status" -eq 0 ]
        run rt state c1
        [ "$(jq -r .status <<<"$output")" = created ]
        local pid
        pid=$(jq -r .pid <<<"$output")
        [ "$pid" -gt 0 ]
        # the pid file holds the PID without a newline
        [ "$(cat "$BATS_TEST_TMPDIR/pid")" = "$pid" ]
        [ "$(wc -l <"$BATS_TEST_TMPDIR/pid")" -eq 0 ]
        [ "$(jq -r .bundle <<<"$output")" = "$B" ]
        [ "$(jq -r .id <<<"$output")" = c1 ]
        [ "$(jq -r .ociVersion <<<"$output")" = 1.2.0 ]
        run rt start c1
        [ "$status" -eq 0 ]
        [ "$(rt state c1 | jq -r .status)" = running ]
        # the init runs the configured process now
        [ "$(tr '\0' ' ' </proc/"$pid"/cmdline)" = "/bin/sleep 1000 " ]
        run rt start c1
        [ "$status" -eq 1 ]
        [[ "$output" == *"cannot start a container in state running"* ]]
        run rt delete c1
        [ "$status" -eq 1 ]
        [[ "$output" == *"is not stopped: running"* ]]
        run rt kill c1 KILL
        [ "$status" -eq 0 ]
        wait_status c1 stopped
        [ "$(rt state c1 | jq -r .pid)" = 0 ]
        run rt kill c1 TERM
        [ "$status" -eq 1 ]
        [[ "$output" == *"container not running"* ]]
        run rt delete c1
        [ "$status" -eq 0 ]
        run rt state c1
        [[ "$output" == *"does not exist"* ]]
        # nothing left: state dir and cgroups
        [ ! -e "$RT_ROOT/c1" ]
        ! ls -d /sys/fs/cgroup/*/"${CG_PREFIX#/}"/bundle 2>/dev/null
}

@test "create twice with one id fails and leaves the first intact" {
        rt_bg create --bundle "$B" dup
        run rt_bg create --bundle "$B" dup
        [ "$status" -eq 1 ]
        [[ "$output" == *"already exists"* ]]
        [ "$(rt state dup | jq -r .status)" = created ]
}

@test "kill accepts names, SIG-names and numbers" {
        # PID 1 of a pid namespace ignores signals it has no handler for: trap TERM.
        local b=$BATS_TEST_TMPDIR/b
        make_bundle "$b" /bin/sh -c 'trap "exit 0" TERM; while :; do sleep 0.05; done'
        for sig in TERM SIGTERM 15; do
                rt_bg run -d --bundle "$b" k1
                sleep 0.1
                run rt kill k1 "$sig"
                [ "$status" -eq 0 ]
                wait_status k1 stopped
                rt delete k1
        done
        rt_bg run -d --bundle "$B" k2
        run rt kill k2 NOSUCHSIG
        [ "$status" -eq 1 ]
        [[ "$output" == *"unknown signal"* ]]
}

@test "kill --all signals every process of the container" {
        require_cgroup
        local b=$BATS_TEST_TMPDIR/b
        make_bundle "$b" /bin/sh -c 'sleep 1000 & sleep 1000 & wait'
        rt_bg run -d --bundle "$b" ka
        sleep 0.3
        run rt ps --format json ka
        [ "$(jq length <<<"$output")" -eq 3 ]
        run rt kill --all ka KILL
        [ "$status" -eq 0 ]
        wait_status ka stopped
}

@test "delete --force kills a running container" {
        rt_bg run -d --bundle "$B" f1
        run rt delete --force f1
        [ "$status" -eq 0 ]
        run rt state f1
        [[ "$output" == *"does not exist"* ]]
}

@test "delete of a created (never started) container works without --force" {
        rt_bg create --bundle "$B" cr
        local pid
        pid=$(rt state cr | jq -r .pid)
        run rt delete cr
        [ "$status" -eq 0 ]
        # gone, or a zombie waiting for whoever inherited it
        [ ! -e /proc/"$pid" ] || [ "$(awk '{print $3}' /proc/"$pid"/stat)" = Z ]
}

@test "run --detach returns at once; the process keeps running" {
        run rt_bg run -d --bundle "$B" d1
        [ "$status" -eq 0 ]
        [ "$(rt state d1 | jq -r .status)" = running ]
}

@test "pause and resume freeze the container" {
        require_cgroup
        rt_bg run -d --bundle "$B" p1
        run rt pause p1
        [ "$status" -eq 0 ]
        [ "$(rt state p1 | jq -r .status)" = paused ]
        run rt pause p1
        [ "$status" -eq 1 ]
        run rt resume p1
        [ "$status" -eq 0 ]
        [ "$(rt state p1 | jq -r .status)" = running ]
        run rt resume p1
        [ "$status" -eq 1 ]
        [[ "$output" == *"not paused"* ]]
        # a paused container can be deleted with --force
        rt pause p1
        run rt delete -f p1
        [ "$status" -eq 0 ]
}

@test "ps: table has ps -ef's header and the container's processes; json is the pid list" {
        rt_bg run -d --bundle "$B" ps1
        local pid
        pid=$(rt state ps1 | jq -r .pid)
        run rt ps ps1
        [ "$status" -eq 0 ]
        [[ "${lines[0]}" == *PID* ]]
        [[ "$output" == *"sleep 1000"* ]]
        [ "${#lines[@]}" -eq 2 ]
        run rt ps --format json ps1
        [ "$output" = "[$pid]" ]
}

@test "list: table, -q and json" {
        rt_bg run -d --bundle "$B" l1
        rt_bg create --bundle "$B" l2
        run rt list
        [[ "${lines[0]}" == ID*PID*STATUS*BUNDLE*CREATED*OWNER ]]
        [[ "$output" == *"l1 "*running* ]]
        [[ "$output" == *"l2 "*created* ]]
        run rt list -q
        [ "$output" = "$(printf 'l1\nl2')" ]
        run rt list --format json
        [ "$(jq -r 'map(.id + ":" + .status) | join(",")' <<<"$output")" = "l1:running,l2:created" ]
}

@test "update changes live limits (pids, memory)" {
        require_cgroup
        rt_bg run -d --bundle "$B" u1
        run rt update --pids-limit 42 --memory 64M u1
        [ "$status" -eq 0 ]
        local cg=$CG_PREFIX/bundle
        if [ -e /sys/fs/cgroup/pids$cg/pids.max ]; then
                [ "$(cat /sys/fs/cgroup/pids$cg/pids.max)" = 42 ]
                [ "$(cat /sys/fs/cgroup/memory$cg/memory.limit_in_bytes)" = 67108864 ]
        else
                [ "$(cat /sys/fs/cgroup$cg/pids.max)" = 42 ]
                [ "$(cat /sys/fs/cgroup$cg/memory.max)" = 67108864 ]
        fi
        echo '{"pids": {"limit": 17}}' | rt update --resources - u1
        if [ -e /sys/fs/cgroup/pids$cg/pids.max ]; then
                [ "$(cat /sys/fs/cgroup/pids$cg/pids.max)" = 17 ]
        fi
        run rt update --resources - u1 <<<'{"pids": {"limit": "x"}}'
        [ "$status" -eq 1 ]
        [[ "$output" == *"pids.limit"* ]]
}

@test "start after the init died reports it and leaves the state consistent" {
        rt_bg create --bundle "$B" dead
        kill -9 "$(rt state dead | jq -r .pid)"
        wait_status dead stopped
        run rt start dead
        [ "$status" -eq 1 ]
        run rt delete dead
        [ "$status" -eq 0 ]
}
