#!/usr/bin/env bats
# Real clients: podman (through conmon) and containerd (through containerd-shim-runc-v2)
# each run a container with aula-runtime as their OCI runtime.

load helpers

setup_file() {
        common_setup_file
        for t in podman containerd ctr umoci; do
                if ! command -v $t >/dev/null; then
                        [ "${RT_MUST_WORK:-0}" = 1 ] && { echo "$t missing under RT_MUST_WORK=1" >&2; return 1; }
                        skip "$t not installed (contrib/install-deps.sh)"
                fi
        done
}

teardown_file() {
        common_teardown_file
}

@test "podman run --runtime aula-runtime" {
        run "$TESTS_DIR/shared/clients.sh" -c podman "$AULA_RUNTIME"
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"podman + $AULA_RUNTIME: OK"* ]]
}

@test "ctr run --runc-binary aula-runtime (containerd's runc v2 shim)" {
        run "$TESTS_DIR/shared/clients.sh" -c containerd -L "$AULA_RUNTIME"
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"containerd + $AULA_RUNTIME: OK"* ]]
        # the shim drove the whole lifecycle through us, with JSON logs
        [[ "$output" == *"--log-format json create --bundle"* ]]
        [[ "$output" == *"--log-format json start"* ]]
        [[ "$output" == *"--log-format json delete"* ]]
}
