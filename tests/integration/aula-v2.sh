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

# shellcheck source=tests/shared/tap-missing.sh
. "$here/../shared/tap-missing.sh"

for c in umoci busybox; do
        command -v "$c" >/dev/null 2>&1 || missing "$c is not installed"
done
tmp=$(mktemp -d /tmp/aula-v2.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$here/../shared/make-layout.sh" "$tmp/layout" 2>"$tmp/err" ||
        missing "cannot build the OCI layout: $(head -n1 "$tmp/err")"
export AULA_TEST_LAYOUT=$tmp/layout
st=0
"$VMHOST_RUN" --tap --timeout "${AULA_V2_TIMEOUT:-500}" -- "$BATS" --tap "$here/aula-v2.bats" || st=$?
exit "$st"
