#!/usr/bin/env bats
# Snapshot a running guest on SIGUSR1, restore it, and check its state survived.

load microvm-lib

setup() {
        require_kvm
}

take_snapshot() {
        local dir="$1" out="$2" pid
        # stdin: a FIFO held open read-write, empty, so the guest keeps waiting on the UART
        mkfifo "$BATS_TEST_TMPDIR/in"
        exec 4<>"$BATS_TEST_TMPDIR/in"
        "$AULA_VMM" --kernel "$(guest snap.elf)" --snapshot "$dir" <&4 >"$out" 2>&1 3>&- &
        pid=$!
        exec 4>&-
        for _ in $(seq 100); do grep -q "snap: ready" "$out" && break; sleep 0.1; done
        grep -q "snap: ready" "$out"
        kill -USR1 "$pid"
        wait "$pid"
}

@test "snapshot mid-run, restore, and the guest continues with its state intact" {
        local dir="$BATS_TEST_TMPDIR/snap" value
        take_snapshot "$dir" "$BATS_TEST_TMPDIR/first.out"
        [ -s "$dir/state" ]
        [ "$(stat -c %s "$dir/memory")" -eq $((128 << 20)) ]
        value=$(sed -n 's/^snap: ready //p' "$BATS_TEST_TMPDIR/first.out")
        run bash -c "echo x | timeout -k 5 30 '$AULA_VMM' --restore '$dir'"
        [ "$status" -eq 0 ]
        [[ "$output" == *"snap: byte x state intact $value"* ]]
        [[ "$output" != *"snap: ready"* ]] # continued, not rebooted
}

@test "a corrupted snapshot is refused with a clear error" {
        local dir="$BATS_TEST_TMPDIR/snap"
        take_snapshot "$dir" "$BATS_TEST_TMPDIR/first.out"
        cp -r "$dir" "$BATS_TEST_TMPDIR/bad-mem"
        printf 'X' | dd of="$BATS_TEST_TMPDIR/bad-mem/memory" bs=1 seek=1048576 conv=notrunc 2>/dev/null
        run vmm --restore "$BATS_TEST_TMPDIR/bad-mem"
        [ "$status" -eq 125 ]
        [[ "$output" == *"does not match its checksum"* ]]

        cp -r "$dir" "$BATS_TEST_TMPDIR/bad-state"
        printf 'X' | dd of="$BATS_TEST_TMPDIR/bad-state/state" bs=1 seek=200 conv=notrunc 2>/dev/null
        run vmm --restore "$BATS_TEST_TMPDIR/bad-state"
        [ "$status" -eq 125 ]
        [[ "$output" == *"corrupted"* ]]
}

@test "restore refuses a different device set" {
        local dir="$BATS_TEST_TMPDIR/snap"
        take_snapshot "$dir" "$BATS_TEST_TMPDIR/first.out"
        run vmm --restore "$dir" --no-rng
        [ "$status" -eq 125 ]
        [[ "$output" == *"the snapshot has 1 virtio devices, the configuration 0"* ]]
}

@test "SIGUSR2 pauses and resumes: input waits while paused" {
        local out="$BATS_TEST_TMPDIR/out" pid
        mkfifo "$BATS_TEST_TMPDIR/in"
        exec 4<>"$BATS_TEST_TMPDIR/in"
        "$AULA_VMM" --kernel "$(guest snap.elf)" <&4 >"$out" 2>&1 3>&- &
        pid=$!
        for _ in $(seq 100); do grep -q "snap: ready" "$out" && break; sleep 0.1; done
        kill -USR2 "$pid"
        sleep 0.3
        echo x >&4
        sleep 0.5
        ! grep -q "snap: byte" "$out"
        kill -0 "$pid"
        kill -USR2 "$pid"
        exec 4>&-
        wait "$pid"
        grep -q "snap: byte x state intact" "$out"
}
