#!/usr/bin/env bats
# aula-runtime: global flags, help, errors, spec, features.

load helpers

setup_file() {
        common_setup_file
}

teardown_file() {
        common_teardown_file
}

@test "--version prints the version and spec" {
        run "$AULA_RUNTIME" --version
        [ "$status" -eq 0 ]
        [[ "$output" == *"aula-runtime version"* ]]
        [[ "$output" == *"spec: 1.2"* ]]
}

@test "--help lists every command; COMMAND --help lists its flags" {
        run "$AULA_RUNTIME" --help
        [ "$status" -eq 0 ]
        for c in create start run state kill delete exec ps list pause resume update spec features; do
                [[ "$output" == *"  $c "* ]]
        done
        run "$AULA_RUNTIME" exec --help
        [ "$status" -eq 0 ]
        [[ "$output" == *"--console-socket"* ]]
        [[ "$output" == *"--preserve-fds"* ]]
}

@test "unknown command and unknown flag fail with one clear line" {
        run "$AULA_RUNTIME" frobnicate
        [ "$status" -eq 1 ]
        [[ "$output" == *"unknown command 'frobnicate'"* ]]
        run "$AULA_RUNTIME" --root "$RT_ROOT" create --frob x
        [ "$status" -eq 1 ]
        [[ "$output" == *"unknown flag --frob"* ]]
        [ "${#lines[@]}" -eq 1 ]
}

@test "missing and extra arguments are usage errors" {
        run rt start
        [ "$status" -eq 1 ]
        [[ "$output" == *"missing argument"* ]]
        run rt state a b
        [ "$status" -eq 1 ]
        [[ "$output" == *"unexpected argument"* ]]
}

@test "Go-style single-dash long flags are accepted (as containerd sends them)" {
        run "$AULA_RUNTIME" -root "$RT_ROOT" -log "$BATS_TEST_TMPDIR/log" -log-format json list -q
        [ "$status" -eq 0 ]
        run "$AULA_RUNTIME" --root="$RT_ROOT" list --format=json
        [ "$status" -eq 0 ]
        [ "$output" = "[]" ]
}

@test "state of an unknown container: 'does not exist', exit 1" {
        run rt state nope
        [ "$status" -eq 1 ]
        [[ "$output" == *"container nope does not exist"* ]]
        run rt delete nope
        [ "$status" -eq 1 ]
        [[ "$output" == *"does not exist"* ]]
        run rt delete --force nope
        [ "$status" -eq 0 ]
}

@test "--log-format json writes exactly one JSON error line on failure" {
        local log=$BATS_TEST_TMPDIR/log.json
        run "$AULA_RUNTIME" --root "$RT_ROOT" --log "$log" --log-format json start nope
        [ "$status" -eq 1 ]
        [ "$(wc -l <"$log")" -eq 1 ]
        run jq -r '.level + "|" + .msg' "$log"
        [ "$output" = "error|container nope does not exist" ]
        run jq -r .time "$log"
        [[ "$output" == 20*T*Z ]]
}

@test "--log-format rejects unknown formats" {
        run "$AULA_RUNTIME" --log "$BATS_TEST_TMPDIR/l" --log-format xml list
        [ "$status" -eq 1 ]
        [[ "$output" == *"invalid --log-format 'xml'"* ]]
}

@test "--systemd-cgroup is refused with a clear error where systemd is absent" {
        [ -d /run/systemd/system ] && skip "this host runs systemd"
        make_bundle "$BATS_TEST_TMPDIR/b"
        run "$AULA_RUNTIME" --root "$RT_ROOT" --systemd-cgroup run --bundle "$BATS_TEST_TMPDIR/b" sd
        [ "$status" -eq 1 ]
        [[ "$output" == *"systemd is not running"* ]]
        run rt state sd
        [[ "$output" == *"does not exist"* ]]
}

@test "spec writes runc's default template and never overwrites" {
        cd "$BATS_TEST_TMPDIR"
        run "$AULA_RUNTIME" spec
        [ "$status" -eq 0 ]
        run jq -r '.process.args[0], .root.path, (.linux.namespaces | map(.type) | sort | join(","))' config.json
        [ "${lines[0]}" = "sh" ]
        [ "${lines[1]}" = "rootfs" ]
        [ "${lines[2]}" = "cgroup,ipc,mount,network,pid,uts" ]
        run "$AULA_RUNTIME" spec
        [ "$status" -eq 1 ]
        [[ "$output" == *"exists. Remove it first"* ]]
        mkdir rl
        run "$AULA_RUNTIME" spec --rootless --bundle rl
        [ "$status" -eq 0 ]
        run jq -r '(.linux.namespaces | map(.type) | index("user")) != null, .linux.uidMappings[0].containerID' rl/config.json
        [ "${lines[0]}" = "true" ]
        [ "${lines[1]}" = "0" ]
}

@test "features is the runtime-spec features document" {
        run "$AULA_RUNTIME" features
        [ "$status" -eq 0 ]
        run jq -r '.ociVersionMax, (.hooks | length), (.linux.namespaces | index("time") != null), .linux.seccomp.enabled' <<<"$output"
        [ "${lines[0]}" = "1.2.0" ]
        [ "${lines[1]}" = "6" ]
        [ "${lines[2]}" = "true" ]
        [ "${lines[3]}" = "true" ]
}
