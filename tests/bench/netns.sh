#!/bin/bash
# netns.sh - lab network setup + teardown: aula's libaula-netns against podman's
# netavark, in the same run, on the same instance namespaces (docs/netns.md).
#
#   sudo tests/bench/netns.sh [ROUNDS]        (default 5 rounds; N=30 instances)
#
# Everything runs inside a private network namespace (unshare -n), so neither
# tool touches the machine's interfaces or firewall. Instance namespaces are
# held by sleeping processes and passed to both tools as /proc/PID/ns/net.
#
# Scenarios (each timed end to end, median of ROUNDS, both tools per round):
#   one  : a lab with a single instance: network + attach, then detach + network gone
#          (netavark: setup creates the bridge and its rules, teardown of the last
#          container removes them; aula: lab-create + attach, detach + lab-delete)
#   lab  : the same with N instances (N setups then N teardowns)
# Both are driven as one CLI process per instance, as podman and aula's shims do;
# aula's in-process figure (one process attaching all N) is printed for reference.
# Both use NAT mode, IPv4 only, no DNS; netavark gets static addresses (podman does
# IPAM itself), aula does its own IPAM and persists leases (fsync) in a data root on disk.
set -euo pipefail

ROUNDS=${1:-${ROUNDS:-5}}
N=${N:-30}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
TOOL=${AULA_NETNS:-$HERE/build/tests/integration/netns/aula-netns}
NETAVARK=${NETAVARK:-/usr/lib/podman/netavark}

skip() { echo "netns.sh: SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$TOOL" ] || skip "build aula first ($TOOL missing; set AULA_NETNS)"
[ -x "$NETAVARK" ] || skip "netavark not found ($NETAVARK; Debian package netavark)"
command -v iptables >/dev/null || skip "netavark's firewall driver needs iptables"

if [ -z "${AULA_BENCH_INNER:-}" ]; then
        exec env AULA_BENCH_INNER=1 unshare -n "$0" "$@"
fi

ip link set lo up
WORK=$(mktemp -d /var/tmp/aula-bench-netns.XXXXXX)
HOLDERS=()
cleanup() {
        for p in "${HOLDERS[@]}"; do kill "$p" 2>/dev/null || true; done
        rm -rf "$WORK"
}
trap cleanup EXIT

for ((i = 0; i < N; i++)); do
        unshare -n sleep 100000 &
        HOLDERS+=("$!")
done
sleep 0.3
NS=()
for p in "${HOLDERS[@]}"; do NS+=("/proc/$p/ns/net"); done

# One netavark options file per container: a bridge network like podman's default one.
mkdir -p "$WORK/nv-config"
for ((i = 0; i < N; i++)); do
        cat >"$WORK/nv-$i.json" <<JSON
{
  "container_id": "$(printf 'a%063x' "$i")",
  "container_name": "bench$i",
  "networks": { "lab": { "interface_name": "eth0", "static_ips": ["10.88.0.$((i + 2))"] } },
  "network_info": { "lab": { "dns_enabled": false, "driver": "bridge",
    "id": "$(printf 'b%063x' 1)", "internal": false, "ipv6_enabled": false, "name": "lab",
    "network_interface": "nvbr0", "subnets": [ { "subnet": "10.88.0.0/24", "gateway": "10.88.0.1" } ] } }
}
JSON
done

AROOT="$WORK/aula"
aula() { "$TOOL" --root "$AROOT" "$@" >/dev/null; }
nv() { "$NETAVARK" --config "$WORK/nv-config" -f "$WORK/nv-$2.json" "$1" "${NS[$2]}" >/dev/null; }

aula_up() {
        aula lab-create bench --mode nat --pool6 none --subnet 10.88.0.0/24
        for ((i = 0; i < $1; i++)); do aula attach bench "i$i" "${NS[$i]}"; done
}
aula_down() {
        for ((i = 0; i < $1; i++)); do aula detach bench "i$i"; done
        aula lab-delete bench
}
aulaip_up() {
        aula lab-create bench --mode nat --pool6 none --subnet 10.88.0.0/24
        aula attach-many bench i "${NS[@]:0:$1}"
}
aulaip_down() {
        aula detach-many bench i "$1"
        aula lab-delete bench
}
nv_up() { for ((i = 0; i < $1; i++)); do nv setup "$i"; done; }
nv_down() { for ((i = 0; i < $1; i++)); do nv teardown "$i"; done; }

# Milliseconds (3 decimals) one function call takes.
time_ms() {
        local t0 t1
        t0=$(date +%s%N)
        "$@"
        t1=$(date +%s%N)
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Sanity: both tools really configure the instance (an address on eth0, the gateway answers).
check() {
        local what=$1
        if ! nsenter --net="${NS[0]}" ping -c1 -W2 10.88.0.1 >/dev/null 2>&1; then
                echo "netns.sh: $what did not give instance 0 a working network" >&2
                exit 1
        fi
}
aula lab-create bench --mode nat --pool6 none --subnet 10.88.0.0/24
aula attach bench i0 "${NS[0]}"
check aula
aula detach bench i0
aula lab-delete bench
nv setup 0
check netavark
nv teardown 0
[ -z "$(ip -o link show | grep -E 'aub-|auv-|nvbr0|veth' || true)" ] || { echo "netns.sh: links left over" >&2; exit 1; }

# One sample, "setup_ms teardown_ms", of tool $1 (aula, aulaip: aula in one process, nv) with $2 instances.
sample() {
        local up down
        up=$(time_ms "$1_up" "$2")
        down=$(time_ms "$1_down" "$2")
        echo "$up $down"
}
declare -A S
for ((r = 0; r < ROUNDS; r++)); do
        for n in 1 "$N"; do
                for tool in aula nv; do S[$tool.$n]+="$(sample "$tool" "$n")"$'\n'; done
        done
        S[aulaip.$N]+="$(sample aulaip "$N")"$'\n'
done

# Medians of setup, teardown and their sum for one key of S.
stats() {
        local col
        for col in 1 2 3; do
                printf '%s' "${S[$1]}" | awk -v c="$col" 'NF { print c == 3 ? $1 + $2 : $c }' | median
        done | paste -sd' '
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }

echo "lab network setup + teardown, medians of $ROUNDS rounds ($(uname -r), $(nproc) CPUs), ms"
printf '%-30s %9s %9s %9s   %9s %9s %9s   %s\n' "" "aula up" "down" "total" "netavark" "down" "total" \
        "netavark/aula (up, down, total)"
for n in 1 "$N"; do
        read -r au ad at <<<"$(stats "aula.$n")"
        read -r vu vd vt <<<"$(stats "nv.$n")"
        printf '%-30s %9.1f %9.1f %9.1f   %9.1f %9.1f %9.1f   %s %s %s\n' "$n instance(s), process each" \
                "$au" "$ad" "$at" "$vu" "$vd" "$vt" "$(ratio "$au" "$vu")" "$(ratio "$ad" "$vd")" "$(ratio "$at" "$vt")"
done
read -r au ad at <<<"$(stats "aulaip.$N")"
read -r vu vd vt <<<"$(stats "nv.$N")"
printf '%-30s %9.1f %9.1f %9.1f   %9s %9s %9s   %s %s %s\n' "$N instances, aula one process" \
        "$au" "$ad" "$at" "" "" "" "$(ratio "$au" "$vu")" "$(ratio "$ad" "$vd")" "$(ratio "$at" "$vt")"
