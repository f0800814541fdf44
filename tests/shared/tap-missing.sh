# shellcheck shell=bash
# Sourced by the TAP wrapper scripts of meson suites: `missing REASON` reports a missing
# prerequisite and exits. Under RT_MUST_WORK=1 (CI) it is a failure ("Bail out!"); otherwise
# a skip plan and status 0, since meson's TAP protocol reads any non-zero status, 77 too, as
# an error.
missing() {
        if [ "${RT_MUST_WORK:-0}" = 1 ]; then
                echo "Bail out! $* (RT_MUST_WORK=1)"
                exit 1
        fi
        echo "1..0 # SKIP $*"
        exit 0
}
