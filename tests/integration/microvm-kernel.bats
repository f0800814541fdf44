#!/usr/bin/env bats
# Debian's stock kernel with an aula-init initramfs (contrib/guest-kernel.sh).
#
# Where KVM runs guest code natively the guest boots, mounts the busybox root
# disk under an overlay, runs a command sent over vsock and powers off. Where
# KVM emulates guest code (PVM, as on our development machines) the kernel
# cannot get far in a test's time: the VMM must then end with a clear
# diagnostic before its timeout, never hang.

load microvm-lib

setup() {
        require_kvm
        CACHE="${AULA_GUEST_CACHE:-/var/cache/aula/guest}"
        if [ ! -e "$CACHE/vmlinuz" ]; then
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

@test "stock Debian kernel: boots and runs a command, or fails clearly where KVM is emulated" {
        local start end
        start=$(date +%s)
        if emulated_kvm; then
                boot 20
                end=$(date +%s)
                kill "$AGENT" 2>/dev/null || true
                echo "$output"
                [ $((end - start)) -lt 60 ]
                [ "$status" -eq 124 ] || [ "$status" -eq 123 ]
                [[ "$output" == *"Guest timeout: the guest did not finish within 20 s (vcpu0 at RIP 0x"* ]] ||
                        [[ "$output" == *"Guest crash: vcpu"* ]]
        else
                boot 120
                wait "$AGENT" || true
                cat "$BATS_TEST_TMPDIR/agent.out"
                [ "$status" -eq 0 ]
                grep -q "hello from .*-amd64 on aula-vm" "$BATS_TEST_TMPDIR/agent.out"
                grep -q "^scratch$" "$BATS_TEST_TMPDIR/agent.out"
        fi
}
