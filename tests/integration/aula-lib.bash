# Shared helpers for the aula-*.bats suites (instances and labs; sourced, not run).
# AULA comes from meson (the built `aula`; it finds build/shim/aula-shim next to it).
# Each file gets a private data root (and so a private run directory, cgroup
# prefix and lab network state); a missing prerequisite skips, except under
# RT_MUST_WORK=1 (CI), where it fails.
bats_require_minimum_version 1.5.0

need() {
        if [ "${RT_MUST_WORK:-0}" = 1 ]; then
                echo "prerequisite missing (RT_MUST_WORK=1): $*" >&2
                return 1
        fi
        skip "$*"
}

require_root() {
        [ "$(id -u)" = 0 ] || need "needs root"
}

require_cmd() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 || need "$c is not installed"
        done
}

# aula ARGS...: the built binary on this file's data root, in this file's network namespace
# (lab bridges live in the caller's namespace, and libaula-netns wants one data root per
# namespace), bounded in time.
aula() {
        timeout -k 5 "${AULA_TIMEOUT:-120}" nsenter --net="/run/netns/$AULA_TEST_NETNS" -- \
                "${AULA:?AULA is not set}" --root "$AULA_TEST_ROOT" "$@"
}

# in_netns CMD...: run a command in this file's network namespace.
in_netns() {
        nsenter --net="/run/netns/$AULA_TEST_NETNS" -- "$@"
}

# The cgroup directory aula uses for this data root (see shim/context.c: /aula/r-<fnv1a32 of the root>).
aula_cgroup_prefix() {
        python3 -c '
import sys
h = 2166136261
for b in sys.argv[1].encode():
    h = ((h ^ b) * 16777619) & 0xffffffff
print("/aula/r-%08x" % h)' "$AULA_TEST_ROOT"
}

# build_busybox_image NAME[:TAG]: a one-layer OCI layout with every busybox applet, imported.
# With AULA_TEST_LAYOUT (an OCI layout with ref "img", built outside, as the vmhost suite does:
# umoci is slow under TCG) that one is imported instead.
build_busybox_image() {
        local ref=$1 layout
        if [ -n "${AULA_TEST_LAYOUT:-}" ]; then
                aula image import "$AULA_TEST_LAYOUT:img" --name "$ref" -q >/dev/null
                return
        fi
        layout=$AULA_TEST_TMP/layout-$$
        TMPDIR=$AULA_TEST_TMP "$BATS_TEST_DIRNAME/../shared/make-layout.sh" "$layout"
        aula image import "$layout:img" --name "$ref" -q >/dev/null
        rm -rf "$layout"
}

# A missing prerequisite found in setup_file (where bats cannot skip) is reported by each test's setup.
prerequisite_missing() {
        local c
        [ "$(id -u)" = 0 ] || { echo "needs root"; return; }
        # Root in a user namespace (unshare -r) cannot add named network namespaces under /run/netns.
        grep -qw 4294967295 /proc/self/uid_map || { echo "needs root in the initial user namespace (ip netns add)"; return; }
        [ -x "${AULA:-}" ] || { echo "AULA is not set"; return; }
        for c in umoci busybox jq python3 nsenter ip; do
                command -v "$c" >/dev/null 2>&1 || { echo "$c is not installed"; return; }
        done
}

aula_setup_file() {
        AULA_SKIP_REASON=$(prerequisite_missing)
        export AULA_SKIP_REASON
        [ -z "$AULA_SKIP_REASON" ] || return 0
        AULA_TEST_ROOT=$(mktemp -d /tmp/aula-it.XXXXXX)
        AULA_TEST_TMP=$(mktemp -d /tmp/aula-it-tmp.XXXXXX)
        # Where /tmp is itself an overlay (tests/vmhost), instance uppers need a file system of their own.
        [ "${AULA_TEST_ROOT_TMPFS:-0}" = 1 ] && mount -t tmpfs -o mode=0711 aula-it "$AULA_TEST_ROOT"
        AULA_TEST_NETNS=aula-it-$$-${RANDOM}
        export AULA_TEST_ROOT AULA_TEST_TMP AULA_TEST_NETNS
        ip netns add "$AULA_TEST_NETNS"
        in_netns ip link set lo up
        unset AULA_RUN_DIR
        build_busybox_image bb:1
}

aula_setup() {
        [ -z "${AULA_SKIP_REASON:-}" ] || need "$AULA_SKIP_REASON"
}

# Everything this file made goes: labs, instances, mounts, cgroups, links.
aula_teardown_file() {
        local l i d m cg
        [ -n "${AULA_TEST_ROOT:-}" ] && [ -d "$AULA_TEST_ROOT" ] || return 0
        for l in $(aula lab ls --format json 2>/dev/null | jq -r '.[].name'); do
                aula lab rm "$l" >/dev/null 2>&1 || true
        done
        for i in $(aula ls --format json 2>/dev/null | jq -r '.[].name'); do
                aula rm -f "$i" >/dev/null 2>&1 || true
        done
        for d in "$AULA_TEST_TMP" "$AULA_TEST_ROOT"; do
                [ -n "$d" ] && [ -d "$d" ] || continue
                for m in $(awk -v p="$d/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
                        umount -l "$m" 2>/dev/null || true
                done
        done
        # The cgroup directory of this data root (/aula/r-<hash>), empty by now.
        cg=$(aula_cgroup_prefix)
        for d in /sys/fs/cgroup/*"$cg" /sys/fs/cgroup"$cg"; do
                [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        mountpoint -q "$AULA_TEST_ROOT" && umount -l "$AULA_TEST_ROOT"
        rm -rf "$AULA_TEST_ROOT" "$AULA_TEST_TMP"
        [ -n "${AULA_TEST_NETNS:-}" ] && ip netns del "$AULA_TEST_NETNS" 2>/dev/null
        return 0
}

# No mount below the data root, no cgroup of ours left; with LAB, only that lab's students
# are checked (its own empty directory belongs to the lab until it is stopped or removed).
assert_nothing_left() {
        local scope=${1:-} cg n dirs
        n=$(awk -v p="$AULA_TEST_ROOT/run/instances/$scope" 'index($5, p) == 1' /proc/self/mountinfo | wc -l)
        if [ "$n" != 0 ]; then
                echo "mounts left:" >&2
                awk -v p="$AULA_TEST_ROOT/run/instances/$scope" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo >&2
                return 1
        fi
        cg=$(aula_cgroup_prefix)
        if [ -n "$scope" ]; then
                dirs=$(find /sys/fs/cgroup/*"$cg/$scope" -mindepth 1 -type d 2>/dev/null || true)
        else
                dirs=$(find /sys/fs/cgroup/*"$cg" -mindepth 1 -type d 2>/dev/null || true)
        fi
        if [ -n "$dirs" ]; then
                echo "cgroups left:" >&2
                echo "$dirs" >&2
                return 1
        fi
}

# The pid of NAME's shim (from its lock's holder), or nothing.
shim_pid() {
        local name=$1
        pgrep -f "aula-shim $AULA_TEST_ROOT/run/instances/$name\$" || true
}

# Wait until `aula ls` reports STATE for NAME (max ~10 s).
wait_state() {
        local name=$1 want=$2 st
        for _ in $(seq 1 100); do
                st=$(aula ls --format json | jq -r --arg n "$name" '.[] | select(.name == $n) | .state')
                [ "$st" = "$want" ] && return 0
                sleep 0.1
        done
        echo "$name: state '$st', expected '$want'" >&2
        return 1
}
