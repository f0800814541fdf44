#!/bin/sh
# Check (default) or fix (--fix) the formatting of every tracked C file with clang-format.
set -eu
cd "$(dirname "$0")/.." || exit 1
files=$(git ls-files '*.c' '*.h' 2>/dev/null | grep -v '^tests/guests/.*\.S$' || true)
[ -n "$files" ] || exit 0
if [ "${1:-}" = --fix ]; then
        # shellcheck disable=SC2086
        clang-format -i $files
else
        # shellcheck disable=SC2086
        clang-format --dry-run --Werror $files
fi
