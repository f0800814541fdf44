#!/usr/bin/env bats
# VM instances (--isolation vm) through the shim's microvm backend. Our /dev/kvm
# emulates guest code instruction by instruction, so a Linux guest cannot boot
# here: the guest agent (aula-init) runs on the host with --agent-fd instead
# ($AULA_VM_AGENT), and everything above the vsock transport is what a real VM
# uses: the agent protocol, the console and log ring, stop and kill, cgroups,
# taps on the lab bridge, cleanup after a dead shim. Suite 'root'.
#
# NB: in this mode the "guest" process runs on the host as root: harmless commands only.

load aula-lib

setup_file() {
        aula_setup_file
        [ -n "${AULA_SKIP_REASON:-}" ] && return 0
        if [ ! -x "${AULA_INIT:-}" ]; then
                AULA_SKIP_REASON="AULA_INIT (aula-init) is not set"
                export AULA_SKIP_REASON
        fi
}

teardown_file() {
        aula_teardown_file
}

setup() {
        aula_setup
        export AULA_VM_AGENT=$AULA_INIT
}

@test "without a guest kernel a VM instance does not start, and says why" {
        run -0 aula create vm0 --image bb:1 --isolation vm
        AULA_VM_AGENT='' run -1 aula start vm0
        [[ "$output" == *"vm0: no guest kernel at $AULA_TEST_ROOT/vm/vmlinuz"* ]]
        [ ! -e "$AULA_TEST_ROOT/run/instances/vm0" ]
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "vm0") | .state' <<<"$output")" = stopped ]
        run -0 aula rm vm0
}

@test "a VM instance runs its process through the agent: output, input, exit status" {
        run -0 aula create vm1 --image bb:1 --isolation vm --memory 128M --start -- \
                sh -c 'echo "hello from the agent"; echo oops >&2; read line; echo "got $line"; exit 4'
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "vm1") | .state' <<<"$output")" = running ]
        [ "$(jq -r '.[] | select(.name == "vm1") | .isolation' <<<"$output")" = vm ]
        run -0 aula stats --format json vm1
        [ "$(jq -r '.[0].memory_limit' <<<"$output")" = 134217728 ]
        run -125 aula exec vm1 -- true
        [[ "$output" == *"exec is not available in microvm instances (use the console)"* ]]
        run -0 python3 - "$AULA" "$AULA_TEST_ROOT" <<'EOF'
import os, pty, sys, select, time
aula, root = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(aula, [aula, "--root", root, "console", "vm1"])
out, end = b"", time.time() + 20
sent = False
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.5)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        out += d
    if not sent and b"detach with" in out:
        os.write(fd, b"typed\r")
        sent = True
    if os.waitpid(pid, os.WNOHANG)[0]:
        break
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
print(out.decode(errors="replace"))
EOF
        [[ "$output" == *"vm1 stopped (exit code 4)"* ]]
        run -0 aula logs vm1
        [[ "$output" == *"hello from the agent"* ]]
        [[ "$output" == *"oops"* ]]
        [[ "$output" == *"got typed"* ]]
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "vm1") | .exit_code' <<<"$output")" = 4 ]
        assert_nothing_left
}

@test "stop reaches the VM's process as a signal; a dead shim leaves nothing" {
        run -0 aula create vm2 --image bb:1 --isolation vm --start -- sleep 1000
        run -0 aula stop -t 1 vm2
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "vm2") | .state' <<<"$output")" = stopped ]
        # sleep dies of the stop signal (SIGTERM, relayed by the agent).
        [ "$(jq -r '.[] | select(.name == "vm2") | .exit_code' <<<"$output")" = 143 ]
        run -0 aula start vm2
        local agent
        agent=$(pgrep -f "aula-init --agent-fd 3" | head -1)
        kill -9 "$(shim_pid vm2)"
        for _ in $(seq 1 50); do [ -e "$AULA_TEST_ROOT/run/instances/vm2" ] || break; sleep 0.1; done
        [ ! -e "$AULA_TEST_ROOT/run/instances/vm2" ]
        [ ! -e "/proc/$agent" ] || [ "$(awk '{ print $3 }' "/proc/$agent/stat")" = Z ]
        assert_nothing_left
        run -0 aula ls --format json
        [ "$(jq -r '.[] | select(.name == "vm2") | .exit_reason' <<<"$output")" = shim-died ]
        run -0 aula rm vm2
}

@test "a VM lab: every student gets a tap on the lab bridge; rm removes them" {
        run -0 aula lab create vlab --image bb:1 --isolation vm --count 3 -- sleep 1000
        [[ "$output" == *"lab vlab: 3 students running"* ]]
        [ "$(in_netns ip -br link | grep -c '^aut-')" = 3 ]
        run -0 aula lab show --format json vlab
        [ "$(jq -r '.instances[] | select(.name == "vlab/student02") | .ipv4' <<<"$output" | cut -d. -f4)" = 3 ]
        run -1 aula lab exec vlab -- true
        [[ "$output" == *"exec is not available in microvm instances"* ]]
        run -0 aula lab stop -t 1 vlab
        [ "$(in_netns ip -br link | grep -c '^aut-' || true)" = 0 ]
        run -0 aula lab start vlab
        [ "$(in_netns ip -br link | grep -c '^aut-')" = 3 ]
        run -0 aula lab rm vlab
        [ "$(in_netns ip -br link | grep -c '^au[tbv]-' || true)" = 0 ]
        assert_nothing_left
}
