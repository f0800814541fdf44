#!/bin/bash
# demo.sh - the main job: install dependencies, build, and show aula at work.
#
#   sudo ./contrib/demo.sh [--keep]
#
# Works offline. It builds a small OCI image from Debian's busybox-static,
# imports it into a private aula store, gives five "students" an instance root
# each (an overlay on the shared squashfs layers: nothing copied), runs their
# containers with aula-runtime, execs into one, pauses and resumes it, breaks
# one student's files and resets them, shows the figures, and cleans up.
# --keep leaves the work directory (and its store) behind.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
TOP=$(pwd)
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (sudo ./contrib/demo.sh)" >&2; exit 1; }

say "dependencies (contrib/install-deps.sh)"
./contrib/install-deps.sh

say "build (meson + ninja into ./build)"
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build

AULA=$TOP/build/cli/aula
RT=$TOP/build/cli/aula-runtime
WORK=$(mktemp -d /tmp/aula-demo.XXXXXX)
DATA=$WORK/data
STATE=$WORK/run
STUDENTS=(ana ben cai dan eva)
cleanup() {
        local s
        for s in "${STUDENTS[@]}"; do
                "$RT" --root "$STATE" delete -f "$s" >/dev/null 2>&1 || true
                "$AULA" --root "$DATA" image unmount "$WORK/inst/$s" >/dev/null 2>&1 || true
        done
        if [ "$KEEP" = 1 ]; then echo "demo.sh: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

say "a demo image from Debian packages (busybox-static), packed as an OCI layout with umoci"
"$TOP/tests/shared/make-bundle.sh" -c '' "$WORK/base" /bin/true >/dev/null
tar -C "$WORK/base/rootfs" -cf "$WORK/rootfs.tar" .
umoci init --layout "$WORK/layout" >/dev/null
umoci new --image "$WORK/layout:demo" >/dev/null
umoci raw add-layer --image "$WORK/layout:demo" "$WORK/rootfs.tar" >/dev/null
umoci config --image "$WORK/layout:demo" --config.cmd /bin/sh \
        --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin --config.workingdir /root >/dev/null
du -sh "$WORK/rootfs.tar" | awk '{print "layer: " $1}'

say "import it (digests verified, the layer becomes one squashfs file)"
run "$AULA" --root "$DATA" image import "$WORK/layout:demo" --name demo:1
run "$AULA" --root "$DATA" image ls

say "five students: an instance root and a container each"
t0=$(date +%s%N)
for s in "${STUDENTS[@]}"; do
        "$AULA" --root "$DATA" image bundle demo:1 "$WORK/inst/$s" --hostname "$s" \
                -- /bin/sh -c 'echo "$(hostname) is ready" > /root/status; exec sleep 100000' >/dev/null
        "$RT" --root "$STATE" run -d --bundle "$WORK/inst/$s" "$s" </dev/null >/dev/null
done
t1=$(date +%s%N)
echo "5 instance roots + 5 containers in $(( (t1 - t0) / 1000000 )) ms"
run "$RT" --root "$STATE" list

say "the teacher gets into one instance"
run "$RT" --root "$STATE" exec ben /bin/sh -c 'hostname; cat /root/status; id; ps'

say "pause and resume a student (cgroup freezer)"
run "$RT" --root "$STATE" pause cai
"$RT" --root "$STATE" state cai | jq -r '"cai is " + .status'
run "$RT" --root "$STATE" resume cai
"$RT" --root "$STATE" state cai | jq -r '"cai is " + .status'

say "a student breaks their files; a reset gives them the image back"
run "$RT" --root "$STATE" exec dan /bin/sh -c 'rm -rf /bin/busybox /root/status; echo broken > /etc/motd'
"$RT" --root "$STATE" exec dan /bin/ls /bin/sh >/dev/null 2>&1 || echo "dan's /bin/sh is gone"
"$RT" --root "$STATE" delete -f dan
"$AULA" --root "$DATA" image unmount "$WORK/inst/dan"
"$AULA" --root "$DATA" image bundle demo:1 "$WORK/inst/dan" --hostname dan \
        -- /bin/sh -c 'echo "$(hostname) is ready" > /root/status; exec sleep 100000' >/dev/null
"$RT" --root "$STATE" run -d --bundle "$WORK/inst/dan" dan </dev/null >/dev/null
sleep 0.2
run "$RT" --root "$STATE" exec dan /bin/sh -c 'cat /root/status; ls -l /bin/busybox'

say "what it costs: nothing copied, one shared squashfs layer"
du -sh "$DATA/images" | awk '{print "store: " $1}'
for s in "${STUDENTS[@]}"; do du -s "$WORK/inst/$s/upper" 2>/dev/null; done | awk '{t += $1} END {print "5 writable layers together: " t " KiB"}'

say "clean up"
for s in "${STUDENTS[@]}"; do "$RT" --root "$STATE" delete -f "$s"; done
run "$RT" --root "$STATE" list
echo
echo "demo.sh: done. Next: sudo ./contrib/check.sh runs the whole test suite."
