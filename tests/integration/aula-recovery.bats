#!/usr/bin/env bats
# Crashes: a shim killed with -9, every shim and keeper killed (a reboot),
# aula killed in the middle of lab create. Each leaves consistent state and
# nothing running or mounted. Suite 'root'.

load aula-lib

setup_file() {
        aula_setup_file
}

teardown_file() {
        aula_teardown_file
}

setup() {
        aula_setup
}

@test "kill -9 of a shim: the instance shows stopped and nothing is left" {
        run -0 aula create victim --image bb:1 --start
        aula exec victim -- sh -c 'echo precious > /root/data.txt; sleep 1000 &'
        local shim init
        shim=$(shim_pid victim)
        init=$(aula ls --format json | jq -r '.[] | select(.name == "victim") | .pid')
        [ -n "$shim" ]
        kill -9 "$shim"
        # The keeper runs the cleanup at once: no command needed.
        for _ in $(seq 1 50); do
                [ -e "$AULA_TEST_ROOT/run/instances/victim" ] || break
                sleep 0.1
        done
        [ ! -e "$AULA_TEST_ROOT/run/instances/victim" ]
        # Gone, or a zombie waiting for a parent that does not reap (init here is not a real one).
        [ ! -e "/proc/$init/stat" ] || [ "$(awk '{ print $3 }' "/proc/$init/stat")" = Z ]
        assert_nothing_left
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "victim") | .state' <<<"$output")" = stopped ]
        [ "$(jq -r '.[] | select(.name == "victim") | .exit_reason' <<<"$output")" = shim-died ]
        run -0 aula ls
        [[ "$output" == *"victim"*"stopped (shim died)"* ]]
        # It starts again, with its files.
        run -0 aula start victim
        run -0 aula exec victim -- cat /root/data.txt
        [ "$output" = precious ]
}

@test "every shim and keeper killed (a reboot): ls shows stopped, lab start brings them back" {
        run -0 aula lab create l1 --image bb:1 --count 3
        aula lab exec l1 -- sh -c 'echo $(hostname) > /root/me.txt'
        # Kill the keepers first (their cleanup must not run), then the shims, then what ran inside.
        pkill -9 -f "aula-keeper [0-9]+ .*--root $AULA_TEST_ROOT " || true
        pkill -9 -f "aula-shim $AULA_TEST_ROOT/run/" || true
        sleep 0.5
        # The instances' processes outlive their shims here (as after a crash without reboot);
        # the next command finds the stale run directories and cleans them up.
        run -0 aula ls --format json
        [ "$(jq -r '[.[] | select(.state == "running")] | length' <<<"$output")" = 0 ]
        [ "$(jq -r '.[] | select(.name == "l1/student01") | .exit_reason' <<<"$output")" = shim-died ]
        [ -z "$(ls "$AULA_TEST_ROOT/run/instances/l1" 2>/dev/null)" ]
        run -0 aula lab start l1
        run -0 aula lab exec --format json l1 -- cat /root/me.txt
        [ "$(jq -r '.[] | select(.student == "student02") | .stdout' <<<"$output")" = student02 ]
        run -0 aula lab show --format json l1
        [ "$(jq -r .running <<<"$output")" = 3 ]
}

# aula SIGKILLs itself once N shims are spawned (AULA_FAULT_INJECT, shim/lab.c): a kill -9 at a known point.
interrupted_lab_create() {
        local lab=$1
        run -137 env AULA_FAULT_INJECT=kill-after-starts=3 nsenter --net="/run/netns/$AULA_TEST_NETNS" -- \
                "$AULA" --root "$AULA_TEST_ROOT" lab create "$lab" --image bb:1 --count 8
        [ "$(jq -r .complete "$AULA_TEST_ROOT/labs/$lab.json")" = false ]
        [ -e "$AULA_TEST_ROOT/instances/$lab/student08/instance.json" ]
}

@test "kill -9 of aula in the middle of lab create: a rerun completes the lab" {
        interrupted_lab_create l2
        # Instances it started before it died keep running (a crash stops nothing); the shims it
        # left waiting for "start" give up by themselves and clean up. Which ones got started
        # depends on timing (under load the first shims may be created before the kill), so
        # wait until every live shim belongs to a running instance.
        local running shims st
        for _ in $(seq 1 150); do
                run -0 aula lab show --format json l2
                running=$(jq -r .running <<<"$output")
                shims=$(pgrep -fc "aula-shim $AULA_TEST_ROOT/run/instances/l2/" || true)
                [ "$shims" = "$running" ] &&
                        [ "$(jq -r '[.instances[] | select(.state != "running" and .state != "stopped")] | length' <<<"$output")" = 0 ] &&
                        break
                sleep 0.1
        done
        [ "$shims" = "$running" ]
        [ "$running" -lt 3 ]
        for st in $(jq -r '.instances[] | select(.state != "running") | .name | sub("^l2/"; "")' <<<"$output"); do
                assert_nothing_left "l2/$st"
        done
        [ "$(jq -r '[.instances[] | select(.state == "running" and .started == null)] | length' <<<"$output")" = 0 ]
        run -0 aula lab create l2 --image bb:1 --count 8
        [[ "$output" == *"lab l2: 8 students running"* ]]
        run -0 aula lab exec l2 -- true
        [ "$(jq -r .complete "$AULA_TEST_ROOT/labs/l2.json")" = true ]
        run -1 aula lab create l2 --image bb:1 --count 8
        [[ "$output" == *"lab l2 already exists"* ]]
}

@test "kill -9 of aula in the middle of lab create: another lab with the name is refused, lab rm cleans up" {
        interrupted_lab_create l3
        run -1 aula lab create l3 --image bb:1 --count 4
        [[ "$output" == *"an interrupted creation of lab l3 with other options exists"* ]]
        run -0 aula lab rm l3
        run -1 aula lab show l3
        [ ! -e "$AULA_TEST_ROOT/instances/l3" ]
        [ -z "$(pgrep -f "aula-shim $AULA_TEST_ROOT/run/instances/l3/")" ]
        assert_nothing_left l3
}

@test "kill -9 of aula itself in the middle of lab create (no injection)" {
        # A real kill at whatever point it lands: afterwards a rerun must always give a complete lab.
        nsenter --net="/run/netns/$AULA_TEST_NETNS" -- "$AULA" --root "$AULA_TEST_ROOT" \
                lab create l4 --image bb:1 --count 12 >/dev/null 2>&1 &
        local pid=$!
        for _ in $(seq 1 400); do
                [ -e "$AULA_TEST_ROOT/instances/l4/student01/instance.json" ] && break
                sleep 0.002
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" || true
        if [ "$(jq -r .complete "$AULA_TEST_ROOT/labs/l4.json")" = true ]; then
                run -1 aula lab create l4 --image bb:1 --count 12
                [[ "$output" == *"already exists"* ]]
        else
                run -0 aula lab create l4 --image bb:1 --count 12
        fi
        run -0 aula lab start l4
        run -0 aula lab show --format json l4
        [ "$(jq -r .running <<<"$output")" = 12 ]
}

@test "everything removed at the end leaves nothing" {
        run -0 aula lab rm l1
        run -0 aula lab rm l2
        run -0 aula lab rm l4
        run -0 aula rm -f victim
        assert_nothing_left
        # No bridge, veth or tap of ours in the lab's network namespace.
        [ -z "$(in_netns ip -br link | grep -E '^au[bvt]-' || true)" ]
}
