#!/bin/sh
# The aula-runtime suites on unified cgroup v2, inside tests/vmhost's stock kernel.
# The busybox base bundle is built here on the host first (fast) and shared.
#   vmhost-runtime.sh TIMEOUT BATS-FILE...
set -eu
timeout=$1
shift
here=$(cd "$(dirname "$0")" && pwd -P)
base=$(mktemp -d /tmp/aula-vmhost-base.XXXXXX)
trap 'rm -rf "$base"' EXIT
"$here/../shared/make-bundle.sh" -c /unused "$base" /bin/true >/dev/null
chmod 0755 "$base"
export AULA_TEST_BASE_BUNDLE="$base"
export BATS_TEST_TIMEOUT="${BATS_TEST_TIMEOUT:-240}"
"$here/../vmhost/run.sh" --tap --timeout "$timeout" -- bats --tap "$@"
