#!/bin/bash
# Run aula-v2.bats inside tests/vmhost: Debian's stock kernel with unified cgroup v2 and a CRIU
# that works. The busybox OCI layout is built here on the host (umoci is slow under TCG) below
# /tmp, which the guest sees. One guest boot for the whole file.
#
# Env (set by meson): AULA, AULA_SHIM, VMHOST_RUN, BATS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
: "${AULA:?}" "${VMHOST_RUN:?}"
BATS=${BATS:-bats}

missing() {
        if [ "${RT_MUST_WORK:-0}" = 1 ]; then
                echo "Bail out! $* (RT_MUST_WORK=1)"
                exit 1
        fi
        echo "1..0 # SKIP $*"
        exit 0
}

for c in umoci busybox; do
        command -v "$c" >/dev/null 2>&1 || missing "$c is not installed"
done
tmp=$(mktemp -d /tmp/aula-v2.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/proc" "$root/sys" "$root/dev"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in $(busybox --list); do
        [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
: >"$root/etc/hosts"
chmod 1777 "$root/tmp"
{
        umoci init --layout "$tmp/layout" &&
                umoci new --image "$tmp/layout:img" &&
                umoci insert --image "$tmp/layout:img" "$root" / &&
                umoci config --image "$tmp/layout:img" --config.cmd=/bin/sh --config.workingdir=/root \
                        --config.env=PATH=/bin
} >/dev/null 2>"$tmp/err" || missing "cannot build the OCI layout: $(head -n1 "$tmp/err")"
export AULA_TEST_LAYOUT=$tmp/layout
st=0
"$VMHOST_RUN" --tap --timeout "${AULA_V2_TIMEOUT:-500}" -- "$BATS" --tap "$here/aula-v2.bats" || st=$?
exit "$st"
