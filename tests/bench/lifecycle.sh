#!/bin/bash
# lifecycle.sh - aula-runtime against crun and runc, side by side, in one run.
#
#   sudo tests/bench/lifecycle.sh [-q] [-R ROUNDS] [BUILD_DIR]
#
# Runs tests/shared/peers.sh (a copy of ../shared/bench/peers.sh) with crun as the
# baseline: run /bin/true, create/start/delete, exec, peak RSS, and 50 parallel
# `run -d` / `delete -f`, each as a ratio to crun measured in the same run.
# -H hides the host's cgroup2 mount in a private mount namespace, because
# crun 1.8 refuses hybrid hosts; every runtime then sees the same v1 layout.
# -q: quick mode (20 runs, 10 parallel) for CI smoke runs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd -P)
TOP=$(cd "$HERE/../.." && pwd -P)
ROUNDS=3 QUICK=()
while getopts qR: opt; do
        case $opt in
        q) QUICK=(-q) ;;
        R) ROUNDS=$OPTARG ;;
        *) sed -n '2,12p' "$0" >&2; exit 2 ;;
        esac
done
shift $((OPTIND - 1))
BUILD=${1:-$TOP/build}
RT=$BUILD/cli/aula-runtime
[ -x "$RT" ] || { echo "lifecycle.sh: $RT not built (ninja -C $BUILD)" >&2; exit 1; }
for p in crun runc; do
        command -v $p >/dev/null || { echo "lifecycle.sh: $p missing (contrib/install-deps.sh)" >&2; exit 1; }
done
exec "$TOP/tests/shared/peers.sh" -H -R "$ROUNDS" "${QUICK[@]}" crun runc "aula=$RT"
