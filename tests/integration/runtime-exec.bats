#!/usr/bin/env bats
# aula-runtime exec, consoles, and the runtime escapes that must stay closed.

load helpers

setup_file() {
        common_setup_file
        export B=$BATS_FILE_TMPDIR/bundle
        make_bundle "$B" /bin/sleep 1000
        edit_config "$B" '.process.env += ["FROMCONFIG=yes"] | .process.noNewPrivileges = false'
        rt_bg run -d --bundle "$B" ex
}

teardown_file() {
        common_teardown_file
}

@test "exec: output, exit status, environment" {
        run rt exec ex /bin/echo hi
        [ "$status" -eq 0 ]
        [ "$output" = hi ]
        run rt exec ex /bin/sh -c 'exit 5'
        [ "$status" -eq 5 ]
        run rt exec --env FOO=bar ex /bin/sh -c 'echo $FOO $FROMCONFIG'
        [ "$output" = "bar yes" ]
}

@test "exec: --cwd, --user, PATH lookup and not-found errors" {
        run rt exec --cwd /tmp ex pwd
        [ "$output" = /tmp ]
        run rt exec --user 65534:65534 ex id
        [[ "$output" == "uid=65534"*"gid=65534"* ]]
        run rt exec ex no-such-binary
        [ "$status" -eq 1 ]
        [[ "$output" == *'"no-such-binary": executable file not found in $PATH'* ]]
        run rt exec ex /no/such/path
        [ "$status" -eq 1 ]
        [[ "$output" == *"no such file or directory"* ]]
}

@test "exec: joins the container's namespaces" {
        local pid
        pid=$(rt state ex | jq -r .pid)
        for ns in pid mnt net ipc uts; do
                run rt exec ex readlink /proc/self/ns/$ns
                [ "$output" = "$(readlink /proc/"$pid"/ns/$ns)" ]
        done
        run rt exec ex cat /etc/hostname
        [ "$output" = ocibench ]
        run rt exec ex hostname
        [ "$output" = ocibench ]
}

@test "exec --cap adds a capability; --no-new-privs sets no_new_privs" {
        run rt exec ex /bin/sh -c 'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status'
        [ "${lines[0]}" = "CapEff:	0000000020000420" ]
        [ "${lines[1]}" = "NoNewPrivs:	0" ]
        run rt exec --cap CAP_SYS_ADMIN --no-new-privs ex /bin/sh -c 'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status'
        [ "${lines[0]}" = "CapEff:	0000000020200420" ]
        [ "${lines[1]}" = "NoNewPrivs:	1" ]
        run rt exec --cap CAP_BOGUS ex true
        [ "$status" -eq 1 ]
        [[ "$output" == *"unknown capability 'CAP_BOGUS'"* ]]
}

@test "exec --detach --pid-file" {
        run rt_bg exec --detach --pid-file "$BATS_TEST_TMPDIR/p" ex /bin/sleep 30
        [ "$status" -eq 0 ]
        local p
        p=$(cat "$BATS_TEST_TMPDIR/p")
        [ "$(tr '\0' ' ' </proc/"$p"/cmdline)" = "/bin/sleep 30 " ]
        kill "$p"
}

@test "exec --process FILE runs a process.json" {
        cat >"$BATS_TEST_TMPDIR/p.json" <<'JSON'
{"args": ["/bin/sh", "-c", "echo $X; pwd"], "env": ["X=from-process-json"], "cwd": "/etc",
 "user": {"uid": 0, "gid": 0}, "terminal": false}
JSON
        run rt exec --process "$BATS_TEST_TMPDIR/p.json" ex
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = from-process-json ]
        [ "${lines[1]}" = /etc ]
        echo '{"args": "not-an-array", "cwd": "/"}' >"$BATS_TEST_TMPDIR/bad.json"
        run rt exec --process "$BATS_TEST_TMPDIR/bad.json" ex
        [ "$status" -eq 1 ]
        [[ "$output" == *"args"* ]]
}

@test "exec into a stopped or unknown container fails clearly" {
        run rt exec nope true
        [ "$status" -eq 1 ]
        [[ "$output" == *"does not exist"* ]]
        local b=$BATS_TEST_TMPDIR/b
        make_bundle "$b" /bin/true
        rt_bg create --bundle "$b" st
        run rt exec st true
        [ "$status" -eq 1 ]
        [[ "$output" == *"container not running"* ]]
        rt delete st
}

@test "--console-socket receives a pty master (create and exec)" {
        local b=$BATS_TEST_TMPDIR/tty sock=$BATS_TEST_TMPDIR/tty.sock
        make_bundle "$b" /bin/sh -c 'tty; echo term=$TERM'
        edit_config "$b" '.process.terminal = true | .process.env += ["TERM=xterm"]'
        "$RECVTTY" "$sock" >"$BATS_TEST_TMPDIR/tty.out" &
        local rp=$!
        while [ ! -S "$sock" ]; do sleep 0.01; done
        rt_bg run -d --console-socket "$sock" --bundle "$b" tty1
        wait $rp
        run cat "$BATS_TEST_TMPDIR/tty.out"
        [[ "$output" == *"/dev/pts/0"* ]]
        [[ "$output" == *"term=xterm"* ]]
        # exec -t with a console socket, input flows in too
        rm -f "$sock"
        "$RECVTTY" "$sock" $'echo typed-in\nexit\n' >"$BATS_TEST_TMPDIR/tty2.out" &
        rp=$!
        while [ ! -S "$sock" ]; do sleep 0.01; done
        rt exec -t --console-socket "$sock" ex /bin/sh
        wait $rp
        grep -q typed-in "$BATS_TEST_TMPDIR/tty2.out"
}

@test "no host fd and no host cwd leak into the container (CVE-2024-21626 class)" {
        # extra fds open in the caller (bats keeps several too) must not arrive in the container
        run bash -c 'exec 7</etc/passwd 8>/dev/null; cd /tmp && exec "$AULA_RUNTIME" --root "$RT_ROOT" exec ex /bin/sh -c "ls /proc/self/fd | sort -n | tr \"\n\" \" \"; echo; readlink /proc/self/cwd"'
        [ "${lines[0]}" = "0 1 2 3 " ] # 3: ls's own directory fd
        [ "${lines[1]}" = "/" ]
        local b=$BATS_TEST_TMPDIR/fd
        # no pipeline in PID 1: its own pipe fds would show up in the list
        make_bundle "$b" /bin/sh -c 'ls -1 /proc/1/fd; readlink /proc/1/cwd'
        export b
        run bash -c 'exec 7</etc/passwd; cd /tmp && exec "$AULA_RUNTIME" --root "$RT_ROOT" run --bundle "$b" fdleak'
        [ "$(printf '%s\n' "${lines[@]}" | head -n -1 | sort -n | tr '\n' ' ')" = "0 1 2 " ]
        [ "${lines[-1]}" = "/" ]
}

@test "--preserve-fds passes exactly the requested fds" {
        local b=$BATS_TEST_TMPDIR/pf
        make_bundle "$b" /bin/sh -c 'cat <&3; ls /proc/self/fd | sort -n | tr "\n" " "'
        echo through-fd-3 >"$BATS_TEST_TMPDIR/f3"
        export b f3=$BATS_TEST_TMPDIR/f3
        run bash -c 'exec 3<"$f3" 4</etc/passwd; exec "$AULA_RUNTIME" --root "$RT_ROOT" run --preserve-fds 1 --bundle "$b" pf'
        [ "${lines[0]}" = through-fd-3 ]
        [ "${lines[1]}" = "0 1 2 3 4 " ] # 3 = preserved, 4 = ls's own directory fd
}

@test "the host runtime binary is never the exe of a container process (CVE-2019-5736 class)" {
        local before after
        before=$(sha256sum "$AULA_RUNTIME" | cut -d' ' -f1)
        # A binary replaced by a script whose interpreter is /proc/self/exe: with the
        # trampoline, that resolves to the sealed aula-dmz copy, never to aula-runtime.
        local b=$BATS_TEST_TMPDIR/evil
        make_bundle "$b" -w /bin/sh -c 'printf "#!/proc/self/exe\n" > /evil && chmod +x /evil && sleep 1000'
        rt_bg run -d --bundle "$b" evil
        sleep 0.3
        run -127 rt exec evil /evil
        # the container cannot open the runtime through /proc/<init>/exe while it is set up
        run rt exec evil /bin/sh -c 'for p in /proc/[0-9]*; do readlink $p/exe; done'
        [[ "$output" != *aula-runtime* ]]
        after=$(sha256sum "$AULA_RUNTIME" | cut -d' ' -f1)
        [ "$before" = "$after" ]
        rt delete -f evil
}
