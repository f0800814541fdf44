#!/usr/bin/env bats
# Debian's stock kernel with an aula-init initramfs (contrib/guest-kernel.sh).
#
# Where KVM runs guest code natively the guest boots, mounts the busybox root
# disk under an overlay, runs a command sent over vsock and powers off. Where
# KVM emulates guest code (PVM, as on our development machines) a stock kernel
# cannot finish booting (PVM cannot deliver the int3 of the kernel's
# alternatives self-test): there the ELF vmlinux must get far enough to find
# and parse our ACPI tables, and the VMM must end with a clear diagnostic
# before its timeout, never hang.

load microvm-lib

setup() {
        require_kvm
        CACHE="${AULA_GUEST_CACHE:-/var/cache/aula/guest}"
        if [ ! -e "$CACHE/vmlinuz" ] || [ ! -e "$CACHE/vmlinux" ]; then
                [ -x "$AULA_INIT" ] || need "aula-init was not built"
                "$AULA_SOURCE_ROOT/contrib/guest-kernel.sh" --aula-init "$AULA_INIT" "$CACHE" >&2 ||
                        need "cannot prepare Debian's kernel (apt-get download linux-image-amd64)"
        fi
}

emulated_kvm() {
        [ -d /sys/module/kvm_pvm ] || [ "${AULA_KVM_EMULATED:-0}" = 1 ]
}

boot() {
        local sock="$BATS_TEST_TMPDIR/vsock" scratch="$BATS_TEST_TMPDIR/scratch.ext4"
        cp "$CACHE/scratch.ext4" "$scratch"
        python3 "$AULA_SOURCE_ROOT/tests/integration/microvm-agent-host.py" "$sock" 1024 "$1" \
                /bin/sh -c 'echo "hello from $(uname -r) on $(hostname)"; echo scratch >/root/w; cat /root/w' \
                >"$BATS_TEST_TMPDIR/agent.out" 2>&1 &
        AGENT=$!
        run timeout -k 5 $(($1 + 30)) "$AULA_VMM" --kernel "$CACHE/vmlinuz" --initrd "$CACHE/initrd.img" \
                --memory 512M --vcpus 2 --disk "$CACHE/rootfs.squashfs,ro" --disk "$scratch" \
                --vsock "cid=3,socket=$sock" --timeout "$1" \
                --cmdline "console=ttyS0 reboot=k panic=-1 quiet aula.root=/dev/vda aula.scratch=/dev/vdb"
}

@test "stock Debian kernel: boots fully where KVM is real; finds our ACPI tables where it is emulated" {
        if ! emulated_kvm; then
                boot 120
                wait "$AGENT" || true
                cat "$BATS_TEST_TMPDIR/agent.out"
                [ "$status" -eq 0 ]
                grep -q "hello from .*-amd64 on aula-vm" "$BATS_TEST_TMPDIR/agent.out"
                grep -q "^scratch$" "$BATS_TEST_TMPDIR/agent.out"
                return
        fi
        # PVM lacks cmpxchg16b and xrstor: mask CX16, and noxsave (PVM forces the XSAVE bit on).
        # The kernel needs about 30 s here to report its CPUs; allow 90 on a loaded machine, stop once seen.
        local out="$BATS_TEST_TMPDIR/console" pid rc=0
        "$AULA_VMM" --kernel "$CACHE/vmlinux" --initrd "$CACHE/initrd.img" --memory 512M --vcpus 2 \
                --disk "$CACHE/rootfs.squashfs,ro" --cpuid-mask cx16 --timeout 90 \
                --cmdline "console=ttyS0 earlyprintk=ttyS0 nokaslr noxsave reboot=k panic=-1" \
                </dev/null >"$out" 2>&1 3>&- &
        pid=$!
        for _ in $(seq 950); do
                grep -q "smpboot: Allowing 2 CPUs" "$out" && break
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" || rc=$?
        tail -n 20 "$out"
        grep -q "Linux version 6\." "$out"
        grep -q "ACPI: RSDP 0x00000000000E0000 000024 (v02 AULA  )" "$out"
        grep -q "ACPI: DSDT 0x00000000000E1000" "$out"
        grep -q "ACPI: Using ACPI (MADT) for SMP configuration information" "$out"
        grep -q "smpboot: Allowing 2 CPUs" "$out"
        [ "$rc" -eq 0 ] # stopped by us, not crashed
}

@test "the bzImage path ends with a clear diagnostic, never hangs" {
        local start end
        start=$(date +%s)
        if emulated_kvm; then
                boot 8
                end=$(date +%s)
                kill "$AGENT" 2>/dev/null || true
                [ $((end - start)) -lt 45 ]
                [ "$status" -eq 124 ] || [ "$status" -eq 123 ]
                [[ "$output" == *"Guest timeout: the guest did not finish within 8 s (vcpu0 at RIP 0x"* ]] ||
                        [[ "$output" == *"Guest crash: vcpu"* ]]
        else
                boot 120
                wait "$AGENT" || true
                [ "$status" -eq 0 ]
        fi
}
