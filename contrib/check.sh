#!/bin/bash
# check.sh - the whole test suite, as CI runs it (README: "Run all tests").
#
#   sudo ./contrib/check.sh [--quick]
#
# 1. installs build and test dependencies (contrib/install-deps.sh, idempotent)
# 2. gcc build with warnings as errors; every meson suite (unit, integration,
#    vmhost, fuzz corpus replay, style)
# 3. clang build with AddressSanitizer + UBSan running the unit suites
# 4. prints a per-suite summary and, as the very last line,
#    "N passed, N failed, N skipped" computed from meson's test logs.
# --quick skips the sanitizer build.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
TOP=$(pwd)
QUICK=0
[ "${1:-}" = --quick ] && QUICK=1

step() { printf '\n==> %s\n' "$*"; }
fail_early() { echo "check.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

step "dependencies"
./contrib/install-deps.sh || fail_early "install-deps.sh failed"

BUILD=${BUILD:-$TOP/build-ci}
ASAN=${ASAN:-$TOP/build-asan}
LOGS=()

step "gcc build (-Werror)"
if [ ! -d "$BUILD" ]; then
        CC=gcc meson setup "$BUILD" -Dwerror=true >/dev/null || fail_early "meson setup failed"
fi
ninja -C "$BUILD" || fail_early "gcc build failed"

step "tests (gcc build)"
meson test -C "$BUILD" --num-processes "${TEST_JOBS:-2}" --print-errorlogs
LOGS+=("$BUILD/meson-logs/testlog.json")

if [ "$QUICK" = 0 ]; then
        step "clang build with -Db_sanitize=address,undefined (unit suites)"
        if [ ! -d "$ASAN" ]; then
                CC=clang meson setup "$ASAN" -Db_sanitize=address,undefined -Db_lundef=false \
                        --optimization=1 -Dintegration=false >/dev/null || fail_early "meson setup (asan) failed"
        fi
        ninja -C "$ASAN" || fail_early "clang sanitizer build failed"
        meson test -C "$ASAN" --suite unit --print-errorlogs
        LOGS+=("$ASAN/meson-logs/testlog.json")
fi

step "summary"
exec python3 "$TOP/contrib/test-summary.py" "${LOGS[@]}"
