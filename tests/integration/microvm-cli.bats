#!/usr/bin/env bats
# aula-vmm's argument handling and errors: no KVM needed, as these fail before /dev/kvm.

load microvm-lib

@test "--help lists every option" {
        run "$AULA_VMM" --help
        [ "$status" -eq 0 ]
        for o in --kernel --initrd --cmdline --memory --vcpus --disk --net --vsock --console --snapshot \
                --restore --cpuid-mask; do
                [[ "$output" == *"$o"* ]]
        done
}

@test "missing kernel" {
        run "$AULA_VMM"
        [ "$status" -eq 125 ]
        [[ "$output" == *"Missing --kernel"* ]]
        run "$AULA_VMM" --kernel /nonexistent/vmlinuz
        [ "$status" -eq 125 ]
        [[ "$output" == *"cannot read kernel '/nonexistent/vmlinuz'"* ]]
}

@test "a file that is not a Linux kernel" {
        printf 'not a kernel at all' >"$BATS_TEST_TMPDIR/k"
        run "$AULA_VMM" --kernel "$BATS_TEST_TMPDIR/k"
        [ "$status" -eq 125 ]
        [[ "$output" == *"not a Linux kernel image"* ]]
        run "$AULA_VMM" --kernel /bin/true # an ELF, but a dynamic executable, not a kernel
        [ "$status" -eq 125 ]
        [[ "$output" == *"not an x86-64 executable"* ]]
}

@test "bad sizes and counts" {
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --memory lots
        [ "$status" -eq 125 ]
        [[ "$output" == *"Invalid memory size 'lots'"* ]]
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --memory 1M
        [ "$status" -eq 125 ]
        [[ "$output" == *"memory must be a multiple of 2 MiB"* ]]
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --memory 129M
        [ "$status" -eq 125 ]
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --vcpus 0
        [ "$status" -eq 125 ]
        [[ "$output" == *"vcpus must be between 1 and 32"* ]]
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --vcpus 99
        [ "$status" -eq 125 ]
}

@test "bad device options" {
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --disk /x,rx
        [ "$status" -eq 125 ]
        [[ "$output" == *"Unknown disk option 'rx'"* ]]
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --net mac=02:00:00:00:00:01
        [ "$status" -eq 125 ]
        [[ "$output" == *"--net needs tap=NAME"* ]]
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --net tap=t0,mac=01:00:00:00:00:01
        [ "$status" -eq 125 ]
        [[ "$output" == *"Invalid MAC address"* ]]
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --vsock cid=2,socket=/tmp/x
        [ "$status" -eq 125 ]
        [[ "$output" == *"Invalid vsock cid"* ]]
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --console tty
        [ "$status" -eq 125 ]
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --cpuid-mask nosuchfeature
        [ "$status" -eq 125 ]
        [[ "$output" == *"unknown CPUID feature 'nosuchfeature'"* ]]
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --restore /tmp
        [ "$status" -eq 125 ]
        [[ "$output" == *"exclude each other"* ]]
}

@test "missing disk and missing snapshot are named" {
        [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "the disk is opened after /dev/kvm, which this user cannot open"
        run "$AULA_VMM" --kernel "$(guest hello.elf)" --disk /nonexistent.img
        [ "$status" -eq 125 ]
        [[ "$output" == *"cannot open disk '/nonexistent.img'"* ]]
        run "$AULA_VMM" --restore /nonexistent-snapshot
        [ "$status" -eq 125 ]
        [[ "$output" == *"cannot open snapshot directory '/nonexistent-snapshot'"* ]]
}

@test "no /dev/kvm is a clear error" {
        command -v unshare >/dev/null || skip "no unshare"
        [ "$(id -u)" = 0 ] || skip "needs root for a private mount namespace"
        run unshare -m sh -c "mount -t tmpfs none /dev && exec '$AULA_VMM' --kernel '$(guest hello.elf)'"
        [ "$status" -eq 125 ]
        [[ "$output" == *"cannot open /dev/kvm"* ]]
}
