#!/usr/bin/env bats
# Single instances on a real imported image: create, start, exec (plain and
# on a terminal), console, logs, stats, stop, restart, snapshot and reset, rm.
# Suite 'root'.

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

@test "create makes a stopped instance; start runs it" {
        run -0 aula create web --image bb:1 --memory 64M --pids 64 --cpus 0.5 -e GREETING=hello
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "web") | .state' <<<"$output")" = stopped ]
        [ "$(jq -r '.[] | select(.name == "web") | .memory' <<<"$output")" = 67108864 ]
        run -0 aula start web
        run -0 aula ls
        [[ "$output" == *"web"*"running"*"bb:1"* ]]
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "web") | .pid' <<<"$output")" -gt 1 ]
        # A second start says so and changes nothing.
        run -1 aula start web
        [[ "$output" == *"instance web is running already"* ]]
}

@test "exec: output, exit status, environment, user, working directory" {
        run -0 aula exec web -- sh -c 'echo "$GREETING from $(hostname) in $(pwd)"; echo course=$COURSE'
        [ "${lines[0]}" = "hello from web in /root" ]
        [ "${lines[1]}" = "course=networks" ]
        run -3 aula exec web -- sh -c 'exit 3'
        run -0 aula exec -u 1000:1000 -w /tmp -e X=1 web -- sh -c 'echo $(id -u):$(id -g) $(pwd) $X'
        [ "$output" = "1000:1000 /tmp 1" ]
        # stdin is passed through.
        run -0 bash -c "echo piped | nsenter --net=/run/netns/$AULA_TEST_NETNS '$AULA' --root '$AULA_TEST_ROOT' exec web -- cat"
        [ "$output" = piped ]
        # stderr stays stderr.
        run -0 --separate-stderr aula exec web -- sh -c 'echo out; echo err >&2'
        [ "$output" = out ]
        # shellcheck disable=SC2154 # set by run --separate-stderr
        [ "$stderr" = err ]
        run -125 aula exec web -- /nonexistent
        [[ "$output" == *"/nonexistent"* ]]
}

@test "exec -t runs on a terminal of the given size" {
        run -0 python3 - "$AULA" "$AULA_TEST_ROOT" <<'EOF'
import os, pty, sys, select, struct, fcntl, termios
aula, root = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(aula, [aula, "--root", root, "exec", "-t", "web", "--", "sh", "-c", "stty size; tty; exit 7"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
out = b""
while True:
    r, _, _ = select.select([fd], [], [], 20)
    if not r:
        break
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
print(out.decode(errors="replace"))
print("status", os.waitstatus_to_exitcode(st))
EOF
        [[ "$output" == *"33 111"* ]]
        [[ "$output" == *"/dev/pts/"* ]]
        [[ "$output" == *"status 7"* ]]
        run -125 aula exec -t web -- true </dev/null
        [[ "$output" == *"needs a terminal"* ]]
}

@test "console: type into the main shell, detach with the keys" {
        run -0 python3 - "$AULA" "$AULA_TEST_ROOT" <<'EOF'
import os, pty, sys, select, time
aula, root = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(aula, [aula, "--root", root, "console", "web"])
def read_until(needle, t=20):
    out, end = b"", time.time() + t
    while needle not in out and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    return out
read_until(b"detach with")
os.write(fd, b"echo console-$((6*7))\r")
out = read_until(b"console-42\r\n")
os.write(fd, b"\x10\x11")
out += read_until(b"Detached")
_, st = os.waitpid(pid, 0)
print(out.decode(errors="replace"))
print("status", os.waitstatus_to_exitcode(st))
EOF
        [[ "$output" == *"console-42"* ]]
        [[ "$output" == *"Detached from web"* ]]
        [[ "$output" == *"status 0"* ]]
        # The instance goes on running after a detach.
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "web") | .state' <<<"$output")" = running ]
}

@test "logs has what the console showed; stats reports the limits" {
        run -0 aula logs web
        [[ "$output" == *"console-42"* ]]
        run -0 aula stats --format json web
        [ "$(jq -r '.[0].name' <<<"$output")" = web ]
        [ "$(jq -r '.[0].memory_limit' <<<"$output")" = 67108864 ]
        [ "$(jq -r '.[0].pids_limit' <<<"$output")" = 64 ]
        [ "$(jq -r '.[0].pids' <<<"$output")" -ge 1 ]
        [ "$(jq -r '.[0].memory_bytes' <<<"$output")" -gt 0 ]
        run -0 aula stats
        [[ "$output" == *"web"*"64.0 MiB"* ]]
}

@test "files survive stop and start; the exit status is kept" {
        aula exec web -- sh -c 'echo homework > /root/hw.txt'
        run -0 aula stop -t 1 web
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "web") | .state' <<<"$output")" = stopped ]
        [ "$(jq -r '.[] | select(.name == "web") | .exit_code' <<<"$output")" = 137 ]
        assert_nothing_left
        run -125 aula exec web -- true
        [[ "$output" == *"instance web is not running"* ]]
        run -0 aula start web
        run -0 aula exec web -- cat /root/hw.txt
        [ "$output" = homework ]
        run -0 aula restart -t 1 web
        run -0 aula exec web -- cat /root/hw.txt
        [ "$output" = homework ]
}

@test "an instance that exits by itself shows its exit code" {
        run -0 aula create quick --image bb:1 --start -- sh -c 'echo bye; exit 5'
        wait_state quick stopped
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "quick") | .exit_code' <<<"$output")" = 5 ]
        [ "$(jq -r '.[] | select(.name == "quick") | .exit_reason' <<<"$output")" = exited ]
        run -0 aula logs quick
        [[ "$output" == *bye* ]]
        run -0 aula rm quick
}

@test "snapshot and reset: back to a snapshot, back to the image" {
        aula exec web -- sh -c 'echo v1 > /root/hw.txt; rm /bin/vi'
        run -0 aula snapshot web good
        run -0 aula snapshot --list web
        [ "$output" = good ]
        aula exec web -- sh -c 'echo broken > /root/hw.txt; rm /bin/cat /etc/motd'
        run -0 aula reset -t 1 web good
        run -0 aula exec web -- sh -c 'busybox cat /root/hw.txt; ls /bin/cat /etc/motd; ls /bin/vi 2>&1 || true'
        [ "${lines[0]}" = v1 ]
        [[ "$output" == *"/bin/vi: No such file"* ]]
        run -0 aula reset -t 1 web
        run -0 aula exec web -- sh -c 'ls /root; ls /bin/vi; cat /etc/motd'
        [ "${lines[0]}" = /bin/vi ]
        [ "${lines[1]}" = "welcome to the lab" ]
        run -1 aula snapshot web good
        [[ "$output" == *"already has a snapshot named good"* ]]
        run -1 aula reset web nope
        [[ "$output" == *"has no snapshot named nope"* ]]
}

@test "rm refuses a running instance, rm -f removes it and leaves nothing" {
        run -1 aula rm web
        [[ "$output" == *"instance web is running: stop it first, or use -f"* ]]
        run -0 aula rm -f web
        run -0 aula ls --format json
        [ "$(jq 'length' <<<"$output")" = 0 ]
        [ ! -e "$AULA_TEST_ROOT/instances/web" ]
        assert_nothing_left
}
