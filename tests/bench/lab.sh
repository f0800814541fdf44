#!/bin/bash
# tests/bench/lab.sh [BUILD_DIR] [N] [ROUNDS]: a lab of N (default 30) instances against podman.
#
#   aula    `aula lab create` of N students (created and started in parallel), then
#           `aula lab exec` of `true` in every one;
#   podman  the same N containers from the same image with crun: `podman create -t`,
#           `podman start`, `podman exec true` each, one after another (what a script
#           does) and, for reference, all N at once (xargs -P N);
#   memory  resident memory of each instance's babysitter: aula-shim (RSS, PSS, USS),
#           conmon (podman), containerd-shim-runc-v2 (a private containerd, when installed).
#
# Both run as root in the same throwaway network namespace (aula's lab bridge and
# podman's netavark bridge live there), with their data on the same disk and their
# run-time state on one tmpfs (where /run is on a normal host). Each round runs
# both; the figures are medians over the rounds and the ratio is from this run on
# this machine. Goals (issue 7): aula <= 1.5 s and <= 0.2x podman; shim RSS <= 1 MiB.
set -euo pipefail

BUILD=$(cd "${1:-build}" && pwd)
N=${2:-30}
ROUNDS=${3:-3}
AULA=$BUILD/cli/aula
export AULA_SHIM=$BUILD/shim/aula-shim

die() { echo "lab.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$AULA" ] && [ -x "$AULA_SHIM" ] || die "build first: $AULA, $AULA_SHIM"
for c in podman crun conmon umoci busybox jq nsenter ip python3; do
        command -v "$c" >/dev/null || die "$c is not installed (contrib/install-deps.sh)"
done

# Lower case: podman names an image pulled from a layout after its path.
# crun 1.x refuses hybrid hosts whose cgroup2 mount has controllers: like tests/shared/peers.sh -H,
# re-run in a private mount namespace where /sys/fs/cgroup/unified is hidden; both sides then see cgroup v1.
if [ -z "${AULA_BENCH_PRIVATE_NS:-}" ]; then
        export AULA_BENCH_PRIVATE_NS=1
        exec unshare --mount --propagation private -- "$0" "$BUILD" "$N" "$ROUNDS"
fi
if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        mount -t tmpfs -o mode=755 aula-bench-hide-unified /sys/fs/cgroup/unified
fi

work=/tmp/aula-bench-lab-$$
mkdir "$work"
netns=aula-bench-$$
mkdir -p "$work/run" "$work/data" "$work/podman" "$work/tmp"
mount -t tmpfs -o mode=0755 aula-bench "$work/run"
ip netns add "$netns"
inns() { nsenter --net="/run/netns/$netns" -- "$@"; }
inns ip link set lo up

export AULA_RUN_DIR=$work/run/aula
aula() { inns "$AULA" --root "$work/data" "$@"; }
# podman asks for more open files and processes than this host lets root raise its limits to
# (CAP_SYS_RESOURCE is not in the bounding set); the runtime-spec default (1024 files) is what aula uses.
ULIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
podman_() {
        inns podman --root "$work/podman" --runroot "$work/run/podman" --tmpdir "$work/run/podman-tmp" \
                --storage-driver overlay --runtime crun --cgroup-manager cgroupfs --events-backend file "$@"
}

containerd_pid=
cleanup() {
        set +e
        aula lab rm bench >/dev/null 2>&1
        aula lab rm warm >/dev/null 2>&1
        podman_ rm -af -t 0 >/dev/null 2>&1
        if [ -n "$containerd_pid" ]; then
                for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s KILL "$t" >/dev/null 2>&1; done
                sleep 0.5
                for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks rm -f "$t" >/dev/null 2>&1; done
                for t in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers rm "$t" >/dev/null 2>&1; done
                kill "$containerd_pid"
                wait "$containerd_pid"
        fi
        for m in $(awk -v p="$work/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
                umount -l "$m"
        done
        ip netns del "$netns"
        rm -rf "$work"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# --------------------------------------------------------------------- image
echo "building a busybox image (every applet) with umoci..." >&2
root=$work/tmp/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/proc" "$root/sys" "$root/dev"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
: >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
chmod 1777 "$root/tmp"
umoci init --layout "$work/tmp/layout" >/dev/null
umoci new --image "$work/tmp/layout:lab" >/dev/null
umoci insert --image "$work/tmp/layout:lab" "$root" / >/dev/null
umoci config --image "$work/tmp/layout:lab" --config.cmd=/bin/sh --config.env=PATH=/bin >/dev/null
aula image import "$work/tmp/layout:lab" --name bench:1 -q >/dev/null
podman_ pull -q "oci:$work/tmp/layout:lab" >/dev/null 2>&1
podman_ tag "$(podman_ images -q 2>/dev/null | head -1)" localhost/bench:1 2>/dev/null

# Warm both up once (page cache of the image, the binaries, first-use kernel paths).
aula lab create warm --image bench:1 --count 2 >/dev/null 2>&1
aula lab exec warm -- true >/dev/null
aula lab rm warm >/dev/null
podman_ create -t "${ULIMITS[@]}" --name warm localhost/bench:1 >/dev/null
podman_ start warm >/dev/null
podman_ exec warm true
podman_ rm -f -t 0 warm >/dev/null

# ------------------------------------------------------------------- rounds
mem_of() { # PID: "rss pss uss" in KiB (nothing when it is gone)
        [ -r "/proc/$1/smaps_rollup" ] || return 0
        awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 } END { print r, p, u }' \
                "/proc/$1/smaps_rollup" 2>/dev/null || true
}
mem_avg() { # PIDS...: average "rss pss uss" and the max rss
        local p
        for p in "$@"; do mem_of "$p"; done |
                awk '{ r += $1; p += $2; u += $3; if ($1 > m) m = $1; n++ }
                     END { if (n) printf "%.0f %.0f %.0f %d %d\n", r / n, p / n, u / n, m, n; else print "- - - - 0" }'
}

aula_ms=() podseq_ms=() podpar_ms=()
for round in $(seq 1 "$ROUNDS"); do
        # aula: create and start N, then every one answers an exec.
        t0=$(now_ms)
        aula lab create bench --image bench:1 --count "$N" >/dev/null 2>&1
        aula lab exec bench -- true >"$work/exec.out" || { cat "$work/exec.out" >&2; die "aula lab exec failed"; }
        t1=$(now_ms)
        aula_ms+=($((t1 - t0)))
        [ "$(grep -c '^student[0-9]* *0 *$' "$work/exec.out")" = "$N" ] || die "not every instance answered"
        if [ "$round" = 1 ]; then
                mapfile -t shims < <(pgrep -f "aula-shim $AULA_RUN_DIR/instances/bench/")
                [ "${#shims[@]}" = "$N" ] || die "expected $N shims, found ${#shims[@]}"
                mapfile -t keepers < <(pgrep -f "aula-keeper .* _reap --run-dir $AULA_RUN_DIR bench/")
                shim_mem=$(mem_avg "${shims[@]}")
                keeper_mem=$(mem_avg "${keepers[@]}")
        fi
        aula lab rm bench >/dev/null 2>&1

        # podman, one command after another.
        t0=$(now_ms)
        for i in $(seq 1 "$N"); do podman_ create -t "${ULIMITS[@]}" --name "s$i" localhost/bench:1 >/dev/null; done
        for i in $(seq 1 "$N"); do podman_ start "s$i" >/dev/null; done
        for i in $(seq 1 "$N"); do podman_ exec "s$i" true; done
        t1=$(now_ms)
        podseq_ms+=($((t1 - t0)))
        if [ "$round" = 1 ]; then
                mapfile -t conmons < <(pgrep -f "conmon .* -b $work/podman/" || true)
                conmon_mem=$(mem_avg "${conmons[@]}")
        fi
        podman_ rm -af -t 0 >/dev/null

        # podman, all N at once.
        t0=$(now_ms)
        seq 1 "$N" | xargs -P "$N" -I{} nsenter --net="/run/netns/$netns" -- sh -c \
                'p="podman --root '"$work/podman"' --runroot '"$work/run/podman"' --tmpdir '"$work/run/podman-tmp"' --storage-driver overlay --runtime crun --cgroup-manager cgroupfs --events-backend file"
                 $p create -t '"${ULIMITS[*]}"' --name p{} localhost/bench:1 >/dev/null && $p start p{} >/dev/null && $p exec p{} true'
        t1=$(now_ms)
        podpar_ms+=($((t1 - t0)))
        podman_ rm -af -t 0 >/dev/null
        echo "round $round: aula ${aula_ms[-1]} ms, podman ${podseq_ms[-1]} ms (one by one), ${podpar_ms[-1]} ms (all at once)" >&2
done

# ------------------------------------------------ containerd-shim-runc-v2
ctr_() { inns ctr --address "$work/run/containerd/containerd.sock" --namespace bench "$@"; }
cshim_mem="- - - - 0"
if command -v containerd >/dev/null && command -v ctr >/dev/null; then
        mkdir -p "$work/run/containerd" "$work/containerd"
        cat >"$work/containerd.toml" <<EOF
version = 2
root = "$work/containerd"
state = "$work/run/containerd/state"
[grpc]
  address = "$work/run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_cgroup = true
EOF
        inns containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
        containerd_pid=$!
        for _ in $(seq 1 100); do [ -S "$work/run/containerd/containerd.sock" ] && break; sleep 0.1; done
        (cd "$work/tmp/layout" && tar -cf "$work/tmp/layout.tar" .)
        if ctr_ images import --base-name localhost/bench --digests "$work/tmp/layout.tar" >/dev/null 2>&1; then
                img=$(ctr_ images ls -q | grep -m1 localhost/bench)
                for i in $(seq 1 "$N"); do
                        ctr_ run -d "$img" "c$i" /bin/sleep 1000000 >/dev/null 2>&1 </dev/null || break
                done
                sleep 1
                mapfile -t cshims < <(pgrep -f "containerd-shim-runc-v2 .*-address $work/run/containerd/" || true)
                [ "${#cshims[@]}" -gt 0 ] && cshim_mem=$(mem_avg "${cshims[@]}")
        fi
fi

# ------------------------------------------------------------------ report
a=$(printf '%s\n' "${aula_ms[@]}" | median)
ps=$(printf '%s\n' "${podseq_ms[@]}" | median)
pp=$(printf '%s\n' "${podpar_ms[@]}" | median)
read -r s_rss s_pss s_uss s_max s_n <<<"$shim_mem"
read -r k_rss k_pss k_uss k_max k_n <<<"$keeper_mem"
read -r c_rss c_pss c_uss c_max c_n <<<"$conmon_mem"
read -r d_rss d_pss d_uss d_max d_n <<<"$cshim_mem"
best=$((ps < pp ? ps : pp))
ratio=$(awk -v a="$a" -v b="$best" 'BEGIN { printf "%.3f", a / b }')
goal() { if awk "BEGIN { exit !($1) }"; then echo met; else echo MISSED; fi; }

cat <<EOF

$N instances from one image, created, started and each answering an exec (median of $ROUNDS rounds, ms)
$(uptime)

| | wall time | ratio to aula |
| --- | ---: | ---: |
| aula lab create + aula lab exec | $a | 1 |
| podman + crun, one after another | $ps | $(awk -v a="$a" -v b="$ps" 'BEGIN { printf "%.1fx", b / a }') |
| podman + crun, all $N at once | $pp | $(awk -v a="$a" -v b="$pp" 'BEGIN { printf "%.1fx", b / a }') |

Resident memory of the per-instance process, KiB (average over the instances; max RSS):

| process | instances | RSS | PSS | USS | max RSS |
| --- | ---: | ---: | ---: | ---: | ---: |
| aula-shim | $s_n | $s_rss | $s_pss | $s_uss | $s_max |
| aula-keeper (beside each shim) | $k_n | $k_rss | $k_pss | $k_uss | $k_max |
| conmon | $c_n | $c_rss | $c_pss | $c_uss | $c_max |
| containerd-shim-runc-v2 | $d_n | $d_rss | $d_pss | $d_uss | $d_max |

Goals: wall <= 1500 ms: $(goal "$a <= 1500") ($a ms); <= 0.2x podman: $(goal "$ratio <= 0.2") (${ratio}x the faster podman);
       shim + keeper RSS <= 1024 KiB: $(goal "$s_rss + $k_rss <= 1024") ($((s_rss + k_rss)) KiB)
EOF
