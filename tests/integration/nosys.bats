#!/usr/bin/env bats
# tests/tools/nosys itself: the listed syscalls fail with ENOSYS (or -e ERRNO)
# in the command and its children, the others still work, and bad arguments
# are refused. Needs NOSYS (the tool) and python3 to make the calls.

setup() {
        if ! command -v python3 >/dev/null; then
                [ "${RT_MUST_WORK:-0}" = 1 ] && { echo "python3 missing under RT_MUST_WORK=1" >&2; return 1; }
                skip "needs python3"
        fi
}

pidfd_errno() {
        "$@" python3 -c 'import os
try:
    os.close(os.pidfd_open(os.getpid()))
    print(0)
except OSError as e:
    print(e.errno)'
}

@test "default list: pidfd_open fails with ENOSYS, in children too" {
        run pidfd_errno "$NOSYS"
        [ "$status" -eq 0 ]
        [ "$output" = 38 ]
        run "$NOSYS" sh -c 'python3 -c "import os; os.pidfd_open(os.getpid())" 2>&1'
        [[ "$output" == *"Errno 38"* ]]
}

@test "unlisted syscalls still work" {
        run pidfd_errno "$NOSYS" -s openat2
        [ "$status" -eq 0 ]
        [ "$output" = 0 ]
}

@test "-e picks the errno, -s +NAME extends the default list" {
        run pidfd_errno "$NOSYS" -e EPERM
        [ "$output" = 1 ]
        run "$NOSYS" -s +getcwd python3 -c 'import os; os.getcwd()'
        [ "$status" -ne 0 ]
        [[ "$output" == *"Errno 38"* ]]
}

@test "bad arguments are refused" {
        run "$NOSYS" -s no_such_call true
        [ "$status" -eq 2 ]
        [[ "$output" == *"unknown system call 'no_such_call'"* ]]
        run "$NOSYS" -e 0 true
        [ "$status" -eq 2 ]
        run "$NOSYS"
        [ "$status" -eq 2 ]
        run "$NOSYS" /nonexistent/program
        [ "$status" -eq 127 ]
}
