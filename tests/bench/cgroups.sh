#!/bin/bash
# tests/bench/cgroups.sh - the cgroup work of N containers: libaula-cgroups against runc.
#
#   sudo tests/bench/cgroups.sh [-n N] [-r ROUNDS] [-b BUILD_DIR]
#
# Both sides create, configure (a full resource set) and delete the cgroups of N
# containers whose init process waits in the cgroup; the last line is the ratio
# "runc's cgroup time / aula's". docs/cgroups.md explains the method. Both are
# measured the same way, as full minus a baseline:
#   full:     all hierarchies, the full resource set;
#   baseline: in a private mount namespace only the hierarchies runc cannot run
#             without (devices, name=systemd), only the device rules.
#   runc:     wall time of `runc create` + `runc delete --force` per container,
#             full and baseline back to back; median difference times N;
#   aula:     tests/bench/bench-cgroups timing library calls only; full minus
#             baseline, median over rounds.
set -euo pipefail
shopt -s inherit_errexit

N=100
ROUNDS=3
BUILD=build
while getopts "n:r:b:h" o; do
        case "$o" in
        n) N=$OPTARG ;;
        r) ROUNDS=$OPTARG ;;
        b) BUILD=$OPTARG ;;
        *) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 2 ;;
        esac
done
cd "$(dirname "$0")/../.."
DRIVER=$BUILD/tests/bench/bench-cgroups

skip() { echo "cgroups.sh: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
for t in runc jq unshare; do command -v "$t" >/dev/null || skip "$t not installed"; done
[ -x "$DRIVER" ] || skip "$DRIVER not built (ninja -C $BUILD)"
file -L /bin/busybox | grep -q 'statically linked' || skip "busybox-static not installed"

TMP=$(mktemp -d /tmp/aula-bench-cg.XXXXXX)
PARENT=/aula-bench-$$
STATE=$TMP/state

# Every cgroup hierarchy mounted below /sys/fs/cgroup (v1 controllers, name=systemd, cgroup2).
mapfile -t HIER < <(awk '$9 == "cgroup" || $9 == "cgroup2" { print $5 }' /proc/self/mountinfo |
        grep '^/sys/fs/cgroup' | sort -u)
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then LAYOUT=unified; else LAYOUT=v1/hybrid; fi

cleanup() {
        [ -n "${BASE_PID:-}" ] && kill "$BASE_PID" 2>/dev/null
        for i in $(seq 1 "$N"); do
                runc --root "$STATE" delete --force "f$i" >/dev/null 2>&1 || true
                runc --root "$STATE" delete --force "b$i" >/dev/null 2>&1 || true
        done
        for h in "${HIER[@]}"; do
                [ -d "$h$PARENT" ] || continue
                find "$h$PARENT" -depth -type d -exec rmdir {} \; 2>/dev/null || true
        done
        rm -rf "$TMP"
}
trap cleanup EXIT

# The parent exists before either side runs, so both create exactly one directory per hierarchy.
make_parent() {
        for h in "${HIER[@]}"; do
                mkdir -p "$h$PARENT"
                if [ -f "$h/cpuset.cpus" ] && [ -f "$h$PARENT/cpuset.cpus" ] && [ ! -f "$h/cgroup.controllers" ]; then
                        cat "$h/cpuset.cpus" >"$h$PARENT/cpuset.cpus"
                        cat "$h/cpuset.mems" >"$h$PARENT/cpuset.mems"
                fi
        done
}

# A whole disk for the io throttles, if any.
DEV=
for d in /sys/block/*; do
        case "${d##*/}" in loop* | zram* | ram* | nbd*) continue ;; esac
        [ -r "$d/dev" ] && { DEV=$(cat "$d/dev"); break; }
done

mkdir -p "$TMP/rootfs/bin" "$TMP/spec"
cp /bin/busybox "$TMP/rootfs/bin/busybox"
(cd "$TMP/spec" && runc spec)
DEVICES='[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]'
THROTTLE='{}'
if [ -n "$DEV" ]; then
        THROTTLE=$(jq -n --argjson ma "${DEV%%:*}" --argjson mi "${DEV##*:}" \
                '{throttleReadBpsDevice: [{major: $ma, minor: $mi, rate: 10485760}],
                  throttleWriteIOPSDevice: [{major: $ma, minor: $mi, rate: 100}]}')
fi
FULL=$(jq -n --argjson dev "$DEVICES" --argjson thr "$THROTTLE" '{
        memory: {limit: 268435456, reservation: 134217728, swap: 536870912, swappiness: 10},
        cpu: {shares: 512, quota: 50000, period: 100000, cpus: "0-1", mems: "0"},
        pids: {limit: 128},
        blockIO: ({weight: 500} + $thr),
        devices: $dev}')
BASE=$(jq -n --argjson dev "$DEVICES" '{devices: $dev}')

# One bundle per container (same rootfs), so nothing is rewritten between timed calls. Only a mount
# namespace and no mounts: what runc does besides cgroups is kept small, so it varies less.
bundles() { # $1: resources JSON, $2: directory, $3: name prefix
        for i in $(seq 1 "$N"); do
                mkdir -p "$2/$3$i"
                jq --arg root "$TMP/rootfs" --arg cg "$PARENT/$3$i" --argjson res "$1" \
                        '.root.path = $root | .process.terminal = false | .process.args = ["/bin/busybox", "true"] |
                         del(.hostname) | .mounts |= map(select(.destination == "/proc" or .destination == "/dev")) |
                         .linux.maskedPaths = [] | .linux.readonlyPaths = [] |
                         .linux.namespaces = [{type: "mount"}] |
                         .linux.cgroupsPath = $cg | .linux.resources = $res' \
                        "$TMP/spec/config.json" >"$2/$3$i/config.json"
        done
}
bundles "$FULL" "$TMP/full" f
bundles "$BASE" "$TMP/base" b

# The baseline runs in a coprocess in a private mount namespace (the host's mounts stay as they are)
# that keeps only the hierarchies runc refuses to run without (devices, name=systemd): there runc's
# cgroup work shrinks to one directory in each, with no limits. On a unified host the one cgroup2
# tree stays, and the difference is the configuring alone.
RUNNER='
if [ "$1" != unified ]; then
        shift
        for h in "$@"; do case "$h" in */devices | */systemd) ;; *) umount "$h" || exit 1 ;; esac; done
fi
echo ready
while read -r op a b; do
        if [ "$op" = aula ]; then
                "$DRIVER" --base "$N" "$a" $b | awk "{ print int(\$2 * 1000) }" || echo fail
                continue
        fi
        t0=${EPOCHREALTIME/./}
        if [ "$op" = create ]; then
                runc --root "$STATE" create --bundle "$a" "$b" >/dev/null || { echo fail; continue; }
        else
                # (runc warns that it cannot thaw without a freezer hierarchy: expected here)
                runc --root "$STATE" delete --force "$a" 2>/dev/null || { echo fail; continue; }
        fi
        t1=${EPOCHREALTIME/./}
        echo $((t1 - t0))
done'
export STATE DRIVER N
coproc BASE { unshare --mount --propagation private bash -c "$RUNNER" _ "$LAYOUT" "${HIER[@]}"; }
read -r ready <&"${BASE[0]}"
[ "$ready" = ready ] || { echo "cgroups.sh: the baseline namespace failed" >&2; exit 1; }

host_runc() { # op args...: wall time in us
        local t0 t1
        t0=${EPOCHREALTIME/./}
        if [ "$1" = create ]; then
                runc --root "$STATE" create --bundle "$2" "$3" >/dev/null
        else
                runc --root "$STATE" delete --force "$2"
        fi
        t1=${EPOCHREALTIME/./}
        echo $((t1 - t0))
}
base_runc() { # op args...: wall time in us
        local t
        echo "$@" >&"${BASE[1]}"
        read -r t <&"${BASE[0]}"
        [[ "$t" =~ ^[0-9]+$ ]] || { echo "cgroups.sh: baseline runc $1 failed" >&2; exit 1; }
        echo "$t"
}

# Container i with the full set and its baseline twin run back to back (alternating which goes
# first), so load changes hit both; appends full-minus-baseline of create+delete per container, in us.
runc_pairs() {
        local i fc bc fd bd
        for i in $(seq 1 "$N"); do
                if [ $((i % 2)) = 1 ]; then
                        fc=$(host_runc create "$TMP/full/f$i" "f$i")
                        bc=$(base_runc create "$TMP/base/b$i" "b$i")
                else
                        bc=$(base_runc create "$TMP/base/b$i" "b$i")
                        fc=$(host_runc create "$TMP/full/f$i" "f$i")
                fi
                echo "$fc $bc" >>"$TMP/create.us"
        done
        for i in $(seq 1 "$N"); do
                if [ $((i % 2)) = 1 ]; then
                        fd=$(host_runc delete "f$i")
                        bd=$(base_runc delete "b$i")
                else
                        bd=$(base_runc delete "b$i")
                        fd=$(host_runc delete "f$i")
                fi
                echo "$fd $bd" >>"$TMP/delete.us"
        done
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
quartiles() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 3) / 4)], a[int((3 * NR + 3) / 4)] }'; }
ms() { awk "BEGIN { printf \"%.2f\", $1 / 1000 }"; }

echo "cgroups bench: $N containers, $LAYOUT host, $ROUNDS rounds, io device ${DEV:-none}" >&2
: >"$TMP/aula.us"
for r in $(seq 1 "$ROUNDS"); do
        make_parent
        runc_pairs
        "$DRIVER" "$N" "$PARENT" ${DEV:+"$DEV"} >"$TMP/aula.out"
        full_us=$(awk '{ print int($2 * 1000) }' "$TMP/aula.out")
        base_us=$(base_runc aula "$PARENT")
        echo $((full_us - base_us)) >>"$TMP/aula.us"
        echo "  round $r: $(cat "$TMP/aula.out"); baseline $(ms "$base_us") ms" >&2
done

# runc: per container, (full - baseline) of create plus of delete; its median over all rounds, times N.
paste -d' ' "$TMP/create.us" "$TMP/delete.us" | awk '{ print ($1 - $2) + ($3 - $4) }' >"$TMP/diff.us"
d=$(median <"$TMP/diff.us")
read -r q1 q3 < <(quartiles <"$TMP/diff.us")
runc=$((d * N))
aula=$(median <"$TMP/aula.us")
[ "$aula" -gt 0 ] || aula=1
echo "runc create: median $(ms "$(cut -d' ' -f1 "$TMP/create.us" | median)") ms full," \
        "$(ms "$(cut -d' ' -f2 "$TMP/create.us" | median)") ms baseline; delete:" \
        "$(ms "$(cut -d' ' -f1 "$TMP/delete.us" | median)") / $(ms "$(cut -d' ' -f2 "$TMP/delete.us" | median)") ms"
# A distribution-free 95% interval for that median: the order statistics n/2 -+ 0.98 sqrt(n).
read -r lo hi < <(sort -g "$TMP/diff.us" | awk '{ a[NR] = $1 } END {
        k = 0.98 * sqrt(NR); l = int(NR / 2 - k); h = int(NR / 2 + k + 1)
        if (l < 1) l = 1; if (h > NR) h = NR; print a[l], a[h] }')
echo "runc cgroup work per container: median $(ms "$d") ms (quartiles $(ms "$q1") .. $(ms "$q3") ms," \
        "95% interval of the median $(ms "$lo") .. $(ms "$hi") ms)"
echo "runc cgroup work for $N containers: $(ms "$runc") ms"
echo "aula cgroup work for $N containers: $(ms "$aula") ms (full minus baseline, median of $ROUNDS rounds)"
echo "ratio interval: $(awk "BEGIN { printf \"%.1f .. %.1f\", $lo * $N / $aula, $hi * $N / $aula }")"
echo "ratio runc/aula: $(awk "BEGIN { printf \"%.1f\", $runc / $aula }")"
