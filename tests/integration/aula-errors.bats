#!/usr/bin/env bats
# Bad input: each gets a clear one-line message and leaves nothing behind.
# Unknown images and instances, duplicate names, malformed student lists,
# limits the host cannot give, bad names, bad options. Suite 'root'.

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

# The state after every refused command: no instance, no lab.
assert_empty() {
        run -0 aula ls --format json
        [ "$(jq length <<<"$output")" = 0 ]
        run -0 aula lab ls --format json
        [ "$(jq length <<<"$output")" = 0 ]
}

@test "unknown image" {
        run -1 aula create a1 --image nope:1
        [ "$output" = "aula: unknown image 'nope:1' (see 'aula image ls')" ]
        run -1 aula lab create l1 --image nope:1 --count 2
        [ "$output" = "aula: unknown image 'nope:1' (see 'aula image ls')" ]
        assert_empty
}

@test "unknown instance or lab" {
        for cmd in start stop rm; do
                run -1 aula "$cmd" ghost
                [ "$output" = "aula: no such instance: ghost" ]
        done
        run -125 aula exec ghost -- true
        [[ "$output" == *"instance ghost is not running"* ]]
        run -1 aula logs ghost
        [ "$output" = "aula: no such instance: ghost" ]
        run -1 aula stats ghost
        [[ "$output" == *"instance ghost is not running"* ]]
        run -1 aula lab show ghost
        [ "$output" = "aula: no such lab: ghost" ]
        run -1 aula lab exec ghost -- true
        [ "$output" = "aula: no such lab: ghost" ]
        run -1 aula reset ghost
        [ "$output" = "aula: no such instance: ghost" ]
}

@test "duplicate names: instances, labs, and one of each" {
        run -0 aula create dup --image bb:1
        run -1 aula create dup --image bb:1
        [ "$output" = "aula: instance dup already exists" ]
        run -1 aula lab create dup --image bb:1 --count 1
        [ "$output" = "aula: dup is the name of an instance" ]
        run -0 aula lab create lab1 --image bb:1 --count 1
        run -1 aula lab create lab1 --image bb:1 --count 1
        [ "$output" = "aula: lab lab1 already exists" ]
        run -1 aula create lab1 --image bb:1
        [ "$output" = "aula: lab1 is the name of a lab" ]
        run -0 aula rm dup
        run -0 aula lab rm lab1
        assert_empty
}

@test "invalid names" {
        run -1 aula create "bad name" --image bb:1
        [[ "$output" == *"invalid instance name 'bad name'"* ]]
        run -1 aula create ../etc --image bb:1
        [[ "$output" == *"invalid instance name '../etc'"* ]]
        run -2 aula create -- --image bb:1
        run -1 aula lab create "x/y" --image bb:1 --count 1
        [[ "$output" == *"invalid lab name 'x/y'"* ]]
        run -1 aula create a/b --image bb:1
        [[ "$output" == *"students are added with"* ]]
        assert_empty
}

@test "malformed student lists" {
        printf '\n\n# nobody\n' >"$AULA_TEST_TMP/empty.txt"
        run -1 aula lab create l2 --image bb:1 --students "$AULA_TEST_TMP/empty.txt"
        [[ "$output" == *"the list has no students"* ]]
        printf 'ana\nbruno\nana\n' >"$AULA_TEST_TMP/dup.txt"
        run -1 aula lab create l2 --image bb:1 --students "$AULA_TEST_TMP/dup.txt"
        [[ "$output" == *"line 3: 'ana' is listed twice (first on line 1)"* ]]
        printf 'ana\n../../etc\n' >"$AULA_TEST_TMP/unsafe.txt"
        run -1 aula lab create l2 --image bb:1 --students "$AULA_TEST_TMP/unsafe.txt"
        [[ "$output" == *"line 2: '../../etc' is not a valid student name"* ]]
        printf 'ana\nmaria jose\n' >"$AULA_TEST_TMP/space.txt"
        run -1 aula lab create l2 --image bb:1 --students "$AULA_TEST_TMP/space.txt"
        [[ "$output" == *"line 2: 'maria jose' is not a valid student name"* ]]
        printf 'ana\n$(reboot)\n' >"$AULA_TEST_TMP/shell.txt"
        run -1 aula lab create l2 --image bb:1 --students "$AULA_TEST_TMP/shell.txt"
        [[ "$output" == *"line 2:"*"is not a valid student name"* ]]
        run -1 aula lab create l2 --image bb:1 --students "$AULA_TEST_TMP/missing.txt"
        [[ "$output" == *"Cannot read the student list"*"No such file"* ]]
        run -2 aula lab create l2 --image bb:1
        [[ "$output" == *"--students FILE or --count N"* ]]
        run -2 aula lab create l2 --image bb:1 --count 0
        assert_empty
}

@test "limits the host cannot give" {
        run -1 aula create big --image bb:1 --cpus 4096
        [[ "$output" == *"--cpus 4096.000: this host has only"*"CPU"* ]]
        run -1 aula create big --image bb:1 --memory 1000T
        [[ "$output" == *"--memory 1048576000 MiB: this host has only"*"MiB"* ]]
        run -1 aula create big --image bb:1 --memory 1M
        [[ "$output" == *"too little for an instance"* ]]
        run -1 aula create big --image bb:1 --pids 999999999
        [[ "$output" == *"this host allows at most"* ]]
        run -2 aula create big --image bb:1 --cpus lots
        [[ "$output" == *"invalid --cpus 'lots'"* ]]
        run -2 aula create big --image bb:1 --memory -5
        run -1 aula lab create big --image bb:1 --count 2 --memory 1000T
        [[ "$output" == *"this host has only"* ]]
        assert_empty
}

@test "a memory limit is enforced: the instance's process is killed, not the server's" {
        run -0 aula create small --image bb:1 --memory 8M --start
        run -137 aula exec small -- sh -c 'x=$(head -c 64000000 /dev/zero | tr "\0" a); echo ${#x}'
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "small") | .state' <<<"$output")" = running ]
        run -0 aula rm -f small
}

@test "bad options and commands" {
        run -2 aula create x
        run -2 aula create x --image bb:1 --isolation kvm
        [[ "$output" == *"--isolation: container or vm"* ]]
        run -2 aula lab create x --image bb:1 --count 2 --network open
        [[ "$output" == *"--network: isolated, nat or exam"* ]]
        run -2 aula lab network x wide
        run -2 aula exec
        run -2 aula exec x
        run -2 aula frobnicate
        run -2 aula lab frobnicate
        run -1 aula snapshot x "bad snap"
        [[ "$output" == *"invalid snapshot name"* ]]
        run -0 aula create stopped1 --image bb:1
        run -125 aula exec stopped1 -- true
        [[ "$output" == *"instance stopped1 is not running"* ]]
        run -0 aula stop stopped1
        run -0 aula rm stopped1
        assert_empty
}

@test "checkpoint where CRIU fails: a clear message, the instance runs on; restore needs a checkpoint" {
        # A stand-in for criu that always fails (this host's kernel and CRIU 3.17 do not get along
        # anyway; the real thing is exercised by the runtime's tests in tests/vmhost).
        printf '#!/bin/sh\nexit 1\n' >"$AULA_TEST_TMP/criu"
        chmod +x "$AULA_TEST_TMP/criu"
        run -0 aula create ck --image bb:1 --start
        AULA_CRIU=$AULA_TEST_TMP/criu run -1 aula checkpoint ck
        [[ "$output" == *"ck: Failed to checkpoint container"*"criu exited with status 1"* ]]
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "ck") | .state' <<<"$output")" = running ]
        run -0 aula exec ck -- true
        run -1 aula restore ck
        [ "$output" = "aula: ck has no checkpoint ('aula checkpoint ck' makes one)" ]
        run -1 aula checkpoint ghost
        [ "$output" = "aula: no such instance: ghost" ]
        run -0 aula stop -t 0 ck
        run -1 aula checkpoint ck
        [ "$output" = "aula: instance ck is not running" ]
        run -0 aula rm ck
        assert_empty
}
