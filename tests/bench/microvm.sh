#!/bin/bash
# aula-vmm against qemu-system-x86_64 -M microvm -accel kvm, on the same tiny
# guest (tests/guests/bench.S), in one run on one machine. Prints ratios:
#
#   start: VMM start to the guest's first instruction (its first serial byte),
#          median of N runs (goal <= 0.2x QEMU; under 5 ms where KVM is real)
#   rss:   VMM resident memory excluding guest RAM (goal <= 3 MiB)
#   snapshot/restore: a 128 MiB guest (aula-vmm --snapshot/--restore against
#          QEMU migrate to a file and -incoming)
#
#   tests/bench/microvm.sh [BUILD_DIR] [N]     (defaults: build, 100)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${1:-build}"
N="${2:-100}"
VMM="$BUILD/cli/aula-vmm"
GUEST="$BUILD/tests/guests/bench.elf"
[ -x "$VMM" ] && [ -f "$GUEST" ] || { echo "microvm.sh: build first (ninja -C $BUILD)" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "microvm.sh: qemu-system-x86_64 not installed" >&2; exit 1; }
[ -w /dev/kvm ] || { echo "microvm.sh: needs /dev/kvm" >&2; exit 1; }
EMULATED=0
[ -d /sys/module/kvm_pvm ] && EMULATED=1

exec python3 - "$VMM" "$GUEST" "$N" "$EMULATED" <<'PY'
import json, os, signal, socket, statistics, subprocess, sys, tempfile, time

vmm, guest, n, emulated = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
tmp = tempfile.mkdtemp(prefix="aula-bench-")
MEM = "128M"

def aula(extra=()):
    return [vmm, "--kernel", guest, "--memory", MEM, "--no-rng", *extra]

def qemu(extra=()):
    # -cpu host minus arch-capabilities: emulated KVM (PVM) refuses that MSR and QEMU aborts on it
    return ["qemu-system-x86_64", "-M", "microvm,x-option-roms=off,rtc=off,memory-backend=mem",
            "-object", "memory-backend-memfd,id=mem,size=" + MEM, "-accel", "kvm",
            "-cpu", "host,-arch-capabilities", "-m", MEM, "-nodefaults", "-no-user-config", "-nographic",
            "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", guest, *extra]

def spawn(cmd, stdin_data=None):
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if stdin_data is not None:
        p.stdin.write(stdin_data)
        p.stdin.flush()
    return p

def finish(p):
    try:
        p.stdin.write(b"q")
        p.stdin.close()
    except BrokenPipeError:
        pass
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()

def first_byte_ms(cmd):
    t0 = time.perf_counter_ns()
    p = spawn(cmd)
    b = p.stdout.read(1)
    t1 = time.perf_counter_ns()
    finish(p)
    if b != b"!":
        raise SystemExit("bench: %s printed %r, not '!'" % (cmd[0], b))
    return (t1 - t0) / 1e6

def rss_kib(cmd):
    p = spawn(cmd)
    p.stdout.read(1)
    time.sleep(0.2)
    total = guest_ram = 0
    mapping = ""
    with open("/proc/%d/smaps" % p.pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and "-" in parts[0]:
                mapping = line
            elif parts and parts[0] == "Rss:":
                total += int(parts[1])
                if "memfd:" in mapping:  # aula-guest-ram / QEMU's memory-backend-memfd
                    guest_ram += int(parts[1])
    finish(p)
    return total - guest_ram

def wait_exit_ms(p, t0):
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise SystemExit("bench: %s did not finish a restored run" % p.args[0])
    return (time.perf_counter_ns() - t0) / 1e6

def aula_snapshot_restore():
    d = tempfile.mkdtemp(dir=tmp)
    p = spawn(aula(["--snapshot", d + "/s"]))
    p.stdout.read(1)
    t0 = time.perf_counter_ns()
    p.send_signal(signal.SIGUSR1)
    snap = wait_exit_ms(p, t0)
    t0 = time.perf_counter_ns()
    p = spawn([vmm, "--restore", d + "/s", "--no-rng"], b"q")
    p.stdin.close()
    rest = wait_exit_ms(p, t0)
    if p.returncode != 0:
        raise SystemExit("bench: aula-vmm restore failed (%d)" % p.returncode)
    subprocess.run(["rm", "-rf", d])
    return snap, rest

def qmp(sock, cmd, **args):
    sock.sendall(json.dumps({"execute": cmd, "arguments": args}).encode() + b"\n")
    buf = b""
    while True:
        buf += sock.recv(65536)
        for line in buf.split(b"\n"):
            if line.strip():
                msg = json.loads(line)
                if "return" in msg or "error" in msg:
                    return msg
        buf = buf[buf.rfind(b"\n") + 1:] if b"\n" in buf else buf

def qemu_snapshot_restore():
    d = tempfile.mkdtemp(dir=tmp)
    qs = d + "/qmp.sock"
    p = spawn(qemu(["-qmp", "unix:%s,server=on,wait=off" % qs]))
    p.stdout.read(1)
    s = socket.socket(socket.AF_UNIX)
    s.connect(qs)
    s.recv(65536)
    qmp(s, "qmp_capabilities")
    t0 = time.perf_counter_ns()
    # migrate while running (QEMU stops the guest at the end); a stopped source restores stopped
    qmp(s, "migrate", uri="exec:cat > %s/state" % d)
    while qmp(s, "query-migrate")["return"].get("status") not in ("completed", "failed"):
        time.sleep(0.0005)
    snap = (time.perf_counter_ns() - t0) / 1e6
    qmp(s, "quit")
    p.wait()
    # restored when QMP says running; input sent earlier would be overwritten by the UART's saved state
    qs2 = d + "/qmp2.sock"
    t0 = time.perf_counter_ns()
    p = spawn(qemu(["-incoming", "exec:cat %s/state" % d, "-qmp", "unix:%s,server=on,wait=off" % qs2]))
    s = None
    while s is None:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(qs2)
        except OSError:
            s = None
            time.sleep(0.0005)
    s.recv(65536)
    qmp(s, "qmp_capabilities")
    while not qmp(s, "query-status")["return"].get("running"):
        time.sleep(0.0005)
    rest = (time.perf_counter_ns() - t0) / 1e6
    finish(p)
    subprocess.run(["rm", "-rf", d])
    return snap, rest

def ratio(a, b):
    return a / b if b else float("nan")

for _ in range(3):  # warm caches
    first_byte_ms(aula()); first_byte_ms(qemu())
a_start, q_start = [], []
for _ in range(n):
    a_start.append(first_byte_ms(aula()))
    q_start.append(first_byte_ms(qemu()))
a_ms, q_ms = statistics.median(a_start), statistics.median(q_start)
a_rss, q_rss = rss_kib(aula()), rss_kib(qemu())
snaps = [(aula_snapshot_restore(), qemu_snapshot_restore()) for _ in range(5)]
a_snap = statistics.median(s[0][0] for s in snaps)
a_rest = statistics.median(s[0][1] for s in snaps)
q_snap = statistics.median(s[1][0] for s in snaps)
q_rest = statistics.median(s[1][1] for s in snaps)
os.rmdir(tmp)

print("microvm bench: aula-vmm vs qemu-system-x86_64 -M microvm -accel kvm, same guest, %d runs" % n)
if emulated:
    print("note: this host's KVM emulates guest code (PVM): absolute times are not those of real KVM")
print("%-34s %10s %10s %8s  %s" % ("", "aula-vmm", "qemu", "ratio", "goal"))
print("%-34s %8.2fms %8.2fms %7.3fx  <= 0.2x, < 5 ms on real KVM" % ("start to first instruction (median)", a_ms, q_ms, ratio(a_ms, q_ms)))
print("%-34s %7.2fMiB %7.2fMiB %7.3fx  <= 3 MiB (Firecracker: 5 MiB)" % ("resident memory minus guest RAM", a_rss / 1024, q_rss / 1024, ratio(a_rss, q_rss)))
print("%-34s %8.2fms %8.2fms %7.3fx" % ("snapshot, 128 MiB guest (median 5)", a_snap, q_snap, ratio(a_snap, q_snap)))
print("%-34s %8.2fms %8.2fms %7.3fx" % ("restore, 128 MiB guest (median 5)", a_rest, q_rest, ratio(a_rest, q_rest)))
PY
