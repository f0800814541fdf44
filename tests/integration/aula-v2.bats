#!/usr/bin/env bats
# aula on Debian's stock kernel with unified cgroup v2 (and CRIU that works), inside tests/vmhost
# (run by aula-v2.sh, which builds the busybox OCI layout on the host: umoci is slow under TCG).
# Suite 'vmhost'. On this project's own hosts (hybrid cgroups, kernel 6.18) the aula-*.bats
# suites cover the rest; here: what only a stock kernel and cgroup v2 show.

load aula-lib

# Counts 1, 2, 3, ... into /root/count, five times a second: a session whose state lives in memory.
COUNTER='i=0; while :; do i=$((i+1)); echo $i > /root/count; sleep 0.2; done'

setup_file() {
        if [ -z "${AULA_TEST_LAYOUT:-}" ]; then
                [ "${RT_MUST_WORK:-0}" = 1 ] && { echo "AULA_TEST_LAYOUT missing" >&2; return 1; }
        fi
        # The modules a Debian host loads through udev and static nodes; the vmhost guest has neither.
        modprobe -a loop squashfs overlay 2>/dev/null || true
        export AULA_TEST_ROOT_TMPFS=1
        aula_setup_file
}

teardown_file() {
        aula_teardown_file
}

setup() {
        [ -n "${AULA_TEST_LAYOUT:-}" ] || skip "run through aula-v2.sh (AULA_TEST_LAYOUT missing)"
        aula_setup
        grep -q cgroup2 <(awk '$5 == "/sys/fs/cgroup" { print $9 }' /proc/self/mountinfo) ||
                need "/sys/fs/cgroup is not cgroup v2 here"
}

# cgfile NAME FILE: a file of instance NAME's cgroup (v2).
cgfile() {
        cat "/sys/fs/cgroup$(aula_cgroup_prefix)/$1/$2"
}

@test "a lab on cgroup v2: limits in memory.max, pids.max and cpu.max; students reach each other" {
        run -0 aula lab create v2 --image bb:1 --count 3 --memory 64M --pids 50 --cpus 0.5
        [[ "$output" == *"lab v2: 3 students running"* ]]
        [ "$(cgfile v2/student01 memory.max)" = 67108864 ]
        [ "$(cgfile v2/student02 pids.max)" = 50 ]
        [ "$(cgfile v2/student03 cpu.max)" = "50000 100000" ]
        # Each student sees only its own cgroup (a cgroup namespace) and has its own address.
        run -0 aula lab exec --format json v2 -- cat /proc/self/cgroup
        [ "$(jq -r '[.[] | select(.stdout | rtrimstr("\n") == "0::/")] | length' <<<"$output")" = 3 ]
        run -0 aula exec v2/student01 -- ping -c 1 -W 5 student02
        # Stats come from the v2 files (memory.current, pids.current, cpu.stat).
        run -0 aula stats --format json v2/student01
        [ "$(jq -r '.[0].memory_limit' <<<"$output")" = 67108864 ]
        [ "$(jq -r '.[0].pids_limit' <<<"$output")" = 50 ]
        [ "$(jq -r '.[0].pids' <<<"$output")" -ge 1 ]
}

@test "the memory limit holds on cgroup v2: a hog is OOM-killed, the instance runs on" {
        run aula exec v2/student01 -- sh -c 'x=$(head -c 100000000 /dev/zero | tr "\0" a); echo survived'
        [ "$status" -ne 0 ]
        [[ "$output" != *survived* ]]
        [ "$(awk '$1 == "oom_kill" { print $2 }' "/sys/fs/cgroup$(aula_cgroup_prefix)/v2/student01/memory.events")" -ge 1 ]
        run -0 aula exec v2/student01 -- echo still here
        [ "$output" = "still here" ]
}

@test "aula checkpoint and restore on a stock kernel: the session goes on where it stopped" {
        criu check >/dev/null 2>&1 || need "criu check fails here: $(criu check 2>&1 | grep -m1 -i error)"
        run -0 aula create ck --image bb:1 -- sh -c "$COUNTER"
        run -0 aula start ck
        sleep 2
        local before after
        run -0 aula checkpoint ck
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "ck") | .state' <<<"$output")" = stopped ]
        [ "$(jq -r '.[] | select(.name == "ck") | .exit_reason' <<<"$output")" = checkpointed ]
        [ -d "$AULA_TEST_ROOT/instances/ck/checkpoint" ]
        # Nothing of it runs while checkpointed: the count stands still.
        before=$(cat "$AULA_TEST_ROOT/instances/ck/upper/root/count")
        sleep 1
        [ "$(cat "$AULA_TEST_ROOT/instances/ck/upper/root/count")" = "$before" ]
        run -0 aula restore ck
        sleep 1
        after=$(aula exec ck -- cat /root/count)
        # Counting on from where it stood: a fresh start would be back near 5 after a second.
        [ "$before" -ge 8 ]
        [ "$after" -gt "$before" ]
        [ ! -e "$AULA_TEST_ROOT/instances/ck/checkpoint" ]
        run -0 aula rm -f ck
}

@test "lab rm on cgroup v2 leaves no cgroup, mount or link" {
        run -0 aula lab rm v2
        assert_nothing_left
        [ -z "$(in_netns ip -o link show type veth)" ]
        [ -z "$(in_netns ip -o link show type bridge)" ]
}
