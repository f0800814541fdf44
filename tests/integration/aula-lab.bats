#!/usr/bin/env bats
# The teacher's workflow on a real imported image: a lab of 5 from a student
# list, exec in all, collect a file, break one instance and reset it, network
# modes, stop, start, rm. Suite 'root'.

load aula-lib

setup_file() {
        aula_setup_file
        [ -z "$AULA_SKIP_REASON" ] || return 0
        printf '# class 1A\nana\n\nbruno\r\n  carla  \ndiego\neva\n' >"$AULA_TEST_TMP/students.txt"
}

teardown_file() {
        aula_teardown_file
}

setup() {
        aula_setup
}

@test "lab create: one running instance per student, with an address each" {
        run -0 aula lab create net1 --image bb:1 --students "$AULA_TEST_TMP/students.txt" --memory 64M
        [[ "$output" == *"lab net1: 5 students running"* ]]
        run -0 aula lab show --format json net1
        [ "$(jq -r '.students | join(",")' <<<"$output")" = "ana,bruno,carla,diego,eva" ]
        [ "$(jq -r '.running' <<<"$output")" = 5 ]
        [ "$(jq -r '[.instances[] | select(.state == "running")] | length' <<<"$output")" = 5 ]
        # Student N has address .N+1 of the lab subnet: stable from class to class.
        [ "$(jq -r '.instances[] | select(.name == "net1/ana") | .ipv4' <<<"$output" | cut -d. -f4)" = 2 ]
        [ "$(jq -r '.instances[] | select(.name == "net1/eva") | .ipv4' <<<"$output" | cut -d. -f4)" = 6 ]
        run -0 aula lab ls
        [[ "$output" == *"net1"*"bb:1"*"5"*"5"*"isolated"* ]]
        run -0 aula ls --lab net1
        [ "${#lines[@]}" = 6 ]
}

@test "lab exec runs in every instance: a table, and JSON" {
        run -0 aula lab exec net1 -- sh -c 'echo I am $(hostname)'
        [[ "${lines[0]}" == STUDENT*EXIT*OUTPUT ]]
        [[ "$output" == *"ana"*"0"*"I am ana"* ]]
        [[ "$output" == *"eva"*"0"*"I am eva"* ]]
        run -0 aula lab exec --format json net1 -- sh -c 'echo out-$(hostname); echo err >&2'
        [ "$(jq 'length' <<<"$output")" = 5 ]
        [ "$(jq -r '.[] | select(.student == "carla") | .stdout' <<<"$output")" = "out-carla" ]
        [ "$(jq -r '.[] | select(.student == "carla") | .stderr' <<<"$output")" = "err" ]
        [ "$(jq -r '[.[] | .exit_code] | unique | join(",")' <<<"$output")" = 0 ]
        # A failing command shows per student and makes the command fail.
        run -1 aula lab exec net1 -- sh -c '[ $(hostname) != diego ]'
        [[ "$output" == *"diego"*"1"* ]]
}

@test "students reach each other by name on the lab network (isolated)" {
        run -0 aula lab exec net1 -- sh -c 'ping -c1 -W2 eva >/dev/null && ping -c1 -W2 aula-gateway >/dev/null && echo ok'
        [ "$(grep -c ' ok$' <<<"$output")" = 5 ]
}

@test "exam mode: students no longer reach each other; isolated again restores it" {
        run -0 aula lab network net1 exam
        run -1 aula lab exec net1 -- ping -c1 -W1 eva
        [[ "$output" == *"ana"*"1"* ]]
        run -0 aula lab show --format json net1
        [ "$(jq -r .network <<<"$output")" = exam ]
        run -0 aula lab network net1 isolated
        run -0 aula exec net1/ana -- ping -c1 -W2 eva
}

@test "collect copies a file from every instance into one folder per student" {
        aula lab exec net1 -- sh -c 'echo "answers of $(hostname)" > /root/exam.txt'
        aula exec net1/bruno -- rm /root/exam.txt
        run -1 aula lab collect net1 /root/exam.txt "$AULA_TEST_TMP/collected"
        [[ "$output" == *"bruno"*"No such file"* ]]
        [ "$(cat "$AULA_TEST_TMP/collected/ana/exam.txt")" = "answers of ana" ]
        [ "$(cat "$AULA_TEST_TMP/collected/eva/exam.txt")" = "answers of eva" ]
        [ ! -e "$AULA_TEST_TMP/collected/bruno/exam.txt" ]
        # A student's symlink out of the instance is resolved inside it, never on the server.
        aula exec net1/carla -- sh -c 'rm /root/exam.txt; ln -s /etc/shadow /root/exam.txt'
        run -1 aula lab collect net1 /root/exam.txt "$AULA_TEST_TMP/collected2"
        [ ! -e "$AULA_TEST_TMP/collected2/carla/exam.txt" ]
        run -1 aula lab collect net1 relative/path "$AULA_TEST_TMP/collected3"
        [[ "$output" == *"absolute path"* ]]
}

@test "break one instance and reset it; the others keep their files" {
        aula lab exec net1 -- sh -c 'echo mine > /root/keep.txt'
        aula exec net1/diego -- sh -c 'rm -f /bin/ls /bin/cat; echo broken > /etc/motd'
        run -125 aula exec net1/diego -- ls /
        run -0 aula lab reset net1 diego
        run -0 aula exec net1/diego -- sh -c 'ls /bin/ls; cat /etc/motd; ls /root'
        [ "${lines[0]}" = /bin/ls ]
        [ "${lines[1]}" = "welcome to the lab" ]
        [ "${#lines[@]}" = 2 ]
        run -0 aula exec net1/ana -- cat /root/keep.txt
        [ "$output" = mine ]
        run -0 aula lab show --format json net1
        [ "$(jq -r '.instances[] | select(.name == "net1/diego") | .state' <<<"$output")" = running ]
        [ "$(jq -r '.instances[] | select(.name == "net1/diego") | .ipv4' <<<"$output" | cut -d. -f4)" = 5 ]
}

@test "stop and start the whole lab: files and addresses survive" {
        run -0 aula lab stop -t 1 net1
        run -0 aula lab show --format json net1
        [ "$(jq -r .running <<<"$output")" = 0 ]
        assert_nothing_left
        run -0 aula lab start net1
        run -0 aula lab show --format json net1
        [ "$(jq -r .running <<<"$output")" = 5 ]
        [ "$(jq -r '.instances[] | select(.name == "net1/eva") | .ipv4' <<<"$output" | cut -d. -f4)" = 6 ]
        run -0 aula exec net1/ana -- cat /root/keep.txt
        [ "$output" = mine ]
        run -0 aula exec net1/ana -- ping -c1 -W2 eva
}

@test "concurrent commands on one lab are serialised and leave it consistent" {
        aula lab stop -t 1 net1 &
        aula lab start net1 &
        aula lab exec net1 -- true &
        aula lab start net1 &
        wait
        # Whatever the order, a final start leaves everything running and nothing twice.
        run -0 aula lab start net1
        run -0 aula lab show --format json net1
        [ "$(jq -r .running <<<"$output")" = 5 ]
        [ "$(pgrep -fc "aula-shim $AULA_TEST_ROOT/run/instances/net1/")" = 5 ]
}

@test "a student added later joins the lab; --count names students" {
        run -0 aula create fabio --lab net1 --image bb:1 --start
        run -0 aula exec net1/fabio -- ping -c1 -W2 ana
        run -1 aula create fabio --lab net1 --image bb:1
        [[ "$output" == *"already has a student fabio"* ]]
        run -0 aula lab create big --image bb:1 --count 3 --network nat
        run -0 aula lab show --format json big
        [ "$(jq -r '.students | join(",")' <<<"$output")" = "student01,student02,student03" ]
        [ "$(jq -r .network <<<"$output")" = nat ]
}

@test "lab rm stops and removes everything: instances, network, definitions" {
        run -0 aula lab rm big
        run -0 aula lab rm net1
        run -0 aula lab ls --format json
        [ "$(jq length <<<"$output")" = 0 ]
        run -0 aula ls --format json
        [ "$(jq length <<<"$output")" = 0 ]
        [ ! -e "$AULA_TEST_ROOT/labs/net1.json" ]
        [ ! -e "$AULA_TEST_ROOT/instances/net1" ]
        assert_nothing_left
        run -1 aula lab show net1
        [[ "$output" == *"no such lab: net1"* ]]
}
