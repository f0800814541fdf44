#!/bin/sh
# Run shellcheck on every tracked shell script (and the bats suites, as bash).
set -eu
cd "$(dirname "$0")/.." || exit 1
files=$(git ls-files '*.sh' '.ci/run' 2>/dev/null || true)
[ -n "$files" ] || exit 0
# shellcheck disable=SC2086
shellcheck -x -S warning $files
