#!/bin/bash
# check.sh - the whole test suite, as CI runs it (README: "Run all tests").
#
#   sudo ./contrib/check.sh [--quick]
#
# 1. installs build and test dependencies (contrib/install-deps.sh, idempotent)
# 2. gcc build with warnings as errors; every meson suite (unit, integration,
#    vmhost, fuzz corpus replay, style)
# 3. clang build with AddressSanitizer + UBSan running the unit suites
#    (LeakSanitizer checks every unit test, tests/lib/tap.c)
# 4. compile-only builds: --auto-features=disabled, and release with LTO
# 5. --fuzz SECONDS: a clang -Dfuzzing=true build running each fuzz target
#    under libFuzzer for SECONDS (not by default: it does not fit the budget)
# 6. prints a per-suite summary, every skip with its reason and, as the very
#    last line, "N passed, N failed, N skipped" computed from meson's test logs.
# --quick skips the sanitizer and compile-only builds.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
TOP=$(pwd)
START=$SECONDS
QUICK=0
FUZZ=0
while [ $# -gt 0 ]; do
        case $1 in
        --quick) QUICK=1; shift ;;
        --fuzz) FUZZ=${2:?--fuzz needs seconds}; shift 2 ;;
        *) echo "usage: check.sh [--quick] [--fuzz SECONDS]" >&2; exit 2 ;;
        esac
done

step() { printf '\n==> %s\n' "$*"; }
fail_early() { echo "check.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

step "dependencies"
./contrib/install-deps.sh || fail_early "install-deps.sh failed"

BUILD=${BUILD:-$TOP/build-ci}
ASAN=${ASAN:-$TOP/build-asan}
NOFEAT=${NOFEAT:-$TOP/build-nofeatures}
LTO=${LTO:-$TOP/build-lto}
FUZZDIR=${FUZZDIR:-$TOP/build-fuzz}
LOGS=()

# A result that is not a meson test (a compile-only build, a fuzz run), in
# meson's testlog.json format so test-summary.py counts it: record LOG NAME OK|FAIL [STDOUT].
record() {
        python3 -c 'import json, sys
print(json.dumps({"name": sys.argv[2], "suite": [sys.argv[3]], "result": sys.argv[4], "stdout": sys.argv[5]}))' \
                "$1" "$2" "$3" "$4" "${5:-}" >>"$1"
}

# compile_only DIR NAME MESON-ARGS...: configure (once) and build; the result is one "test".
compile_only() {
        local dir=$1 name=$2 log t0=$SECONDS
        shift 2
        step "compile only: $name"
        mkdir -p "$dir/meson-logs"
        log=$dir/meson-logs/compile.json
        : >"$log"
        if { [ -d "$dir/meson-private" ] || meson setup "$dir" "$@" >/dev/null; } && ninja -C "$dir" >"$dir/meson-logs/compile.txt" 2>&1; then
                record "$log" "$name" build OK
        else
                tail -n 30 "$dir/meson-logs/compile.txt" 2>/dev/null
                record "$log" "$name" build FAIL
        fi
        echo "($name: $((SECONDS - t0)) s)"
        LOGS+=("$log")
}

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

        # Every feature off must still compile (the static inline stubs of STYLE.md rule 5), and
        # a release build with link-time optimisation must compile warning-free.
        CC=gcc compile_only "$NOFEAT" "auto-features=disabled" --auto-features=disabled -Dwerror=true
        CC=gcc compile_only "$LTO" "release+lto" --buildtype=release -Db_lto=true -Dwerror=true
fi

if [ "$FUZZ" != 0 ]; then
        step "fuzz targets under libFuzzer, $FUZZ s each"
        if [ ! -d "$FUZZDIR" ]; then
                CC=clang meson setup "$FUZZDIR" -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
                        --optimization=1 -Dintegration=false >/dev/null || fail_early "meson setup (fuzz) failed"
        fi
        ninja -C "$FUZZDIR" || fail_early "fuzz build failed"
        flog=$FUZZDIR/meson-logs/fuzz.json
        : >"$flog"
        for exe in "$FUZZDIR"/tests/fuzz/fuzz-*; do
                [ -x "$exe" ] && [ -f "$exe" ] || continue
                t=${exe##*/fuzz-}
                work=$FUZZDIR/fuzz-corpus/$t
                mkdir -p "$work"
                dict=()
                case $t in oci-* | seccomp) dict=(-dict="$TOP/tests/fuzz/oci.dict") ;; esac
                if "$exe" -max_total_time="$FUZZ" -print_final_stats=1 -artifact_prefix="$FUZZDIR/fuzz-$t-" \
                        "${dict[@]}" "$work" "$TOP/tests/fuzz/corpus/$t" >"$FUZZDIR/meson-logs/fuzz-$t.txt" 2>&1; then
                        res=OK
                else
                        res=FAIL
                        grep -m1 -E 'ERROR|check failed' "$FUZZDIR/meson-logs/fuzz-$t.txt"
                fi
                execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$FUZZDIR/meson-logs/fuzz-$t.txt")
                echo "fuzz-$t: $res, ${execs:-0} executions"
                record "$flog" "fuzz-$t" fuzz "$res"
        done
        LOGS+=("$flog")
fi

step "summary ($((SECONDS - START)) s)"
exec python3 "$TOP/contrib/test-summary.py" "${LOGS[@]}"
