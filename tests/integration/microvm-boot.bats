#!/usr/bin/env bats
# Booting tiny guests through both kernel formats, the boot-time marker, SMP and exit paths.

load microvm-lib

setup() {
        require_kvm
}

@test "ELF guest prints over serial and its status becomes the exit status" {
        run vmm --kernel "$(guest hello.elf)" --cmdline "aula test"
        [ "$status" -eq 7 ]
        [[ "$output" == *"hello from guest"* ]]
        [[ "$output" == *"cmdline: aula test"* ]]
}

@test "bzImage guest boots through the 64-bit entry at +0x200" {
        run vmm --kernel "$(guest hello.bzImage)"
        [ "$status" -eq 7 ]
        [[ "$output" == *"hello from guest"* ]]
        [[ "$output" == *"cmdline: console=ttyS0 reboot=k panic=-1"* ]]
}

@test "boot-time marker is recorded" {
        run vmm --kernel "$(guest hello.elf)" --boot-time
        [ "$status" -eq 7 ]
        [[ "$output" =~ "boot marker after "[0-9]+" us" ]]
}

@test "two vCPUs: the BSP starts the AP with INIT-SIPI" {
        run vmm --kernel "$(guest smp.elf)" --vcpus 2
        [ "$status" -eq 0 ]
        [[ "$output" == *"smp: ap started"* ]]
}

@test "console to a file" {
        local f="$BATS_TEST_TMPDIR/console.log"
        run vmm --kernel "$(guest hello.elf)" --console "file=$f"
        [ "$status" -eq 7 ]
        [[ "$output" != *"hello from guest"* ]]
        grep -q "hello from guest" "$f"
}

@test "hugepages are optional and fail clearly when none are reserved" {
        if [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 64 ]; then
                run vmm --kernel "$(guest hello.elf)" --hugepages
                [ "$status" -eq 7 ]
        else
                run vmm --kernel "$(guest hello.elf)" --hugepages
                [ "$status" -eq 125 ]
                [[ "$output" == *"in hugepages"* ]]
        fi
}

@test "cpuid mask is accepted and the guest still runs" {
        run vmm --kernel "$(guest hello.elf)" --cpuid-mask avx512f,x2apic,0x7:0:ebx:5
        [ "$status" -eq 7 ]
}

@test "every VMM thread runs under a seccomp filter" {
        local out="$BATS_TEST_TMPDIR/out" pid n=0
        mkfifo "$BATS_TEST_TMPDIR/in"
        exec 4<>"$BATS_TEST_TMPDIR/in"
        "$AULA_VMM" --kernel "$(guest snap.elf)" --vcpus 2 <&4 >"$out" 2>&1 3>&- &
        pid=$!
        exec 4>&-
        for _ in $(seq 100); do grep -q "snap: ready" "$out" && break; sleep 0.1; done
        for s in /proc/"$pid"/task/*/status; do
                grep -q "^Name:[[:space:]]*aula-vmm" "$s" || continue # KVM's own kernel worker threads
                grep -q "^Seccomp:[[:space:]]*2" "$s" || { cat "$s"; false; }
                n=$((n + 1))
        done
        kill "$pid"
        wait "$pid" || true
        [ "$n" -eq 4 ] # main, device loop, two vCPUs
}

@test "--no-acpi puts the devices on the kernel command line" {
        run vmm --kernel "$(guest hello.elf)" --no-acpi --cmdline "console=ttyS0"
        [ "$status" -eq 7 ]
        [[ "$output" == *"cmdline: console=ttyS0 virtio_mmio.device=4K@0xd0000000:5"* ]]
}

@test "exits: i8042 reset (reboot=k), ACPI reset, guest status, triple fault" {
        run vmm --kernel "$(guest exits.elf)" --cmdline "exit=reboot" -v
        [ "$status" -eq 0 ]
        [[ "$output" == *"Guest reboot (i8042 reset)"* ]]
        run vmm --kernel "$(guest exits.elf)" --cmdline "exit=acpi-reset" -v
        [ "$status" -eq 0 ]
        [[ "$output" == *"Guest reboot (ACPI reset)"* ]]
        run vmm --kernel "$(guest exits.elf)" --cmdline "exit=status" -v
        [ "$status" -eq 42 ]
        [[ "$output" == *"Guest poweroff (ACPI S5), status 42"* ]]
        # hardware KVM sees a triple fault; emulating KVM (PVM) gives up on the faulting int3 first
        run vmm --kernel "$(guest exits.elf)" --cmdline "exit=crash"
        [ "$status" -eq 123 ]
        [[ "$output" == *"Guest crash: vcpu0: triple fault (shutdown)"* ]] ||
                [[ "$output" == *"Guest crash: vcpu0: KVM internal error"*" at RIP 0x"* ]]
}

@test "a guest that never stops is ended by --timeout with its RIP" {
        run vmm --kernel "$(guest exits.elf)" --cmdline "exit=never" --timeout 1
        [ "$status" -eq 124 ]
        [[ "$output" =~ "did not finish within 1 s (vcpu0 at RIP 0x10"[0-9a-f]+")" ]]
}
