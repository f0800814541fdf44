# Shared helpers for the microvm bats suites (sourced, not run).
# AULA_VMM and AULA_GUESTS come from meson; a missing prerequisite skips,
# except under RT_MUST_WORK=1 (CI), where it fails.

need() {
        if [ "${RT_MUST_WORK:-0}" = 1 ]; then
                echo "prerequisite missing (RT_MUST_WORK=1): $*" >&2
                return 1
        fi
        skip "$*"
}

require_kvm() {
        [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || need "no usable /dev/kvm"
}

require_root() {
        [ "$(id -u)" = 0 ] || need "needs root"
}

guest() {
        echo "$AULA_GUESTS/$1"
}

# vmm ARGS...: aula-vmm with a hard wall-clock bound, so a hung VM fails the test instead of CI.
vmm() {
        timeout -k 5 "${VMM_TIMEOUT:-30}" "$AULA_VMM" "$@"
}
