#!/usr/bin/env bats
# Each virtio-mmio device seen and used by a tiny guest.

load microvm-lib

setup() {
        require_kvm
}

@test "probe finds blk, vsock and rng in slot order" {
        truncate -s 1M "$BATS_TEST_TMPDIR/d.img"
        run vmm --kernel "$(guest probe.elf)" --disk "$BATS_TEST_TMPDIR/d.img,ro" \
                --vsock "cid=5,socket=$BATS_TEST_TMPDIR/v.sock"
        [ "$status" -eq 3 ]
        [[ "$output" == *"slot 0 version 2 id 2 blk features-ok"* ]]
        [[ "$output" == *"slot 1 version 2 id 19 vsock features-ok"* ]]
        [[ "$output" == *"slot 2 version 2 id 4 rng features-ok"* ]]
}

@test "probe without rng sees no device" {
        run vmm --kernel "$(guest probe.elf)" --no-rng
        [ "$status" -eq 0 ]
        [[ "$output" == *"probe: 0 devices"* ]]
}

@test "virtio-blk: read a sector, checksum it, write another" {
        local img="$BATS_TEST_TMPDIR/disk.img" sum
        python3 -c "
import sys
d = bytearray(1 << 20)
for i in range(512): d[i] = (i * 7 + 3) & 255
open(sys.argv[1], 'wb').write(d)" "$img"
        sum=$(python3 -c "
import sys
h = 2166136261
for b in open(sys.argv[1], 'rb').read(512): h = ((h ^ b) * 16777619) & 0xffffffff
print('%016x' % h)" "$img")
        run vmm --kernel "$(guest blk.elf)" --disk "$img"
        [ "$status" -eq 0 ]
        [[ "$output" == *"capacity 2048 rw"* ]]
        [[ "$output" == *"sector0 fnv1a $sum"* ]]
        [[ "$output" == *"write 0 flush 0"* ]]
        [ "$(dd if="$img" bs=512 skip=1 count=1 2>/dev/null | head -c 25)" = "written by the tiny guest" ]
}

@test "virtio-blk read-only disk refuses writes" {
        local img="$BATS_TEST_TMPDIR/ro.img"
        truncate -s 64K "$img"
        chmod 0444 "$img"
        run vmm --kernel "$(guest blk.elf)" --disk "$img,ro"
        [ "$status" -eq 0 ]
        [[ "$output" == *"ro"* ]]
        [[ "$output" == *"write 1 flush 0"* ]]
        [ "$(od -An -tx1 -j512 -N4 "$img" | tr -d ' ')" = 00000000 ]
}

@test "virtio-vsock: guest connects to a host unix socket" {
        local sock="$BATS_TEST_TMPDIR/v.sock"
        python3 - "$sock" >"$BATS_TEST_TMPDIR/host.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1] + "_1234")
s.listen(1)
s.settimeout(20)
c, _ = s.accept()
print("host got:", c.recv(100).decode().strip())
c.sendall(b"hi guest\n")
c.recv(10)
# host-initiated: CONNECT through the VMM's listening socket
h = socket.socket(socket.AF_UNIX)
h.settimeout(20)
h.connect(sys.argv[1])
h.sendall(b"CONNECT 4321\n")
print("host connect:", h.recv(64).decode().strip())
h.sendall(b"knock knock\n")
h.recv(10)
PY
        local peer=$!
        for _ in $(seq 50); do [ -S "${sock}_1234" ] && break; sleep 0.1; done
        run vmm --kernel "$(guest vsock.elf)" --vsock "cid=7,socket=$sock"
        wait "$peer"
        [ "$status" -eq 0 ]
        [[ "$output" == *"guest cid 7"* ]]
        [[ "$output" == *"host says hi guest"* ]]
        [[ "$output" == *"host connected and says knock knock"* ]]
        grep -q "host got: hello from the guest" "$BATS_TEST_TMPDIR/host.out"
        grep -q "host connect: OK 1073741824" "$BATS_TEST_TMPDIR/host.out"
        [ ! -e "$sock" ] # the VMM removes its listening socket
}

@test "virtio-vsock: nobody listening means the guest is refused, not hung" {
        run vmm --kernel "$(guest vsock.elf)" --vsock "cid=8,socket=$BATS_TEST_TMPDIR/none.sock"
        [ "$status" -eq 2 ]
        [[ "$output" == *"connection refused"* ]]
}

@test "virtio-net: frames both ways through a tap in a private network namespace" {
        require_root
        command -v ip >/dev/null || need "no ip(8)"
        local ns="aula-mvm-$$-$BATS_TEST_NUMBER"
        ip netns add "$ns" || need "cannot create a network namespace"
        ip netns exec "$ns" ip tuntap add dev aulatap0 mode tap
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.aulatap0.disable_ipv6=1 2>/dev/null || true
        ip netns exec "$ns" ip link set aulatap0 up
        ip netns exec "$ns" python3 - >"$BATS_TEST_TMPDIR/peer.out" 2>&1 <<'PY' &
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5))
s.bind(("aulatap0", 0))
s.settimeout(20)
print("ready", flush=True)
f = s.recv(2000)
print("host got", f[14:27].decode(), "from", f[6:12].hex())
s.send(f[6:12] + bytes.fromhex("020000000001") + b"\x88\xb5" + b"aula-net-pong\x00" + bytes(40))
PY
        local peer=$!
        for _ in $(seq 100); do grep -q ready "$BATS_TEST_TMPDIR/peer.out" && break; sleep 0.1; done
        run ip netns exec "$ns" timeout -k 5 30 "$AULA_VMM" --kernel "$(guest net.elf)" \
                --net tap=aulatap0,mac=02:aa:bb:cc:dd:ee
        wait "$peer" || true
        ip netns del "$ns"
        [ "$status" -eq 0 ]
        [[ "$output" == *"net: received aula-net-pong"* ]]
        grep -q "host got aula-net-ping from 02aabbccddee" "$BATS_TEST_TMPDIR/peer.out"
}
