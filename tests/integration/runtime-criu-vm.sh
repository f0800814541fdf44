#!/bin/bash
# Run runtime-criu-vm.bats inside tests/vmhost: Debian's stock kernel, where CRIU 3.17 works.
# The busybox bundle template is built here on the host (in the guest it takes a minute under TCG)
# below /tmp, which the guest sees; the tests share its rootfs. One guest boot for the whole file.
#
# Env (set by meson): AULA_RUNTIME, RECVTTY, TESTS_DIR, VMHOST_RUN, BATS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
: "${AULA_RUNTIME:?}" "${TESTS_DIR:?}" "${VMHOST_RUN:?}"
BATS=${BATS:-bats}

# shellcheck source=tests/shared/tap-missing.sh
. "$here/../shared/tap-missing.sh"

tmp=$(mktemp -d /tmp/aula-criu-vm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$TESTS_DIR/shared/make-bundle.sh" -c '' "$tmp/template" /bin/true >/dev/null 2>"$tmp/err" ||
        missing "cannot build the bundle template: $(head -n1 "$tmp/err")"
export CRIU_TEMPLATE=$tmp/template
st=0
"$VMHOST_RUN" --tap --timeout "${CRIU_VM_TIMEOUT:-500}" -- "$BATS" --tap ${CRIU_VM_BATS_OPTS:-} "$here/runtime-criu-vm.bats" || st=$?
exit "$st"
