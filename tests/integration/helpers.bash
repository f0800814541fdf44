# Shared setup for the bats suites (sourced with `load helpers`).
bats_require_minimum_version 1.5.0
#
# Needs: AULA_RUNTIME (path to the binary under test), TESTS_DIR (tests/).
# A missing prerequisite skips the file, except under RT_MUST_WORK=1 (CI),
# where it fails (STYLE.md rule 20).

require_root() {
        if [ "$(id -u)" != 0 ]; then
                if [ "${RT_MUST_WORK:-0}" = 1 ]; then
                        echo "must run as root under RT_MUST_WORK=1" >&2
                        return 1
                fi
                skip "needs root"
        fi
}

# A JSON string for $1 (bundles' args; no jq process per argument: process
# creation is slow inside tests/vmhost's emulated VM).
json_str() {
        local s=${1//\\/\\\\}
        s=${s//\"/\\\"}
        s=${s//$'\n'/\\n}
        s=${s//$'\t'/\\t}
        printf '"%s"' "$s"
}

# make_bundle DIR [-w] [-r ROOTFS] [ARG...]: a busybox bundle for the process ARG...
# (default /bin/true). The busybox rootfs and runc-style config are made once per
# test file; bundles share that rootfs read-only, -w gives a private writable copy,
# -r uses the given rootfs. $AULA_TEST_BASE_BUNDLE names a prebuilt base (tests/vmhost:
# building one spawns ~800 processes, minutes in the emulated VM).
make_bundle() {
        local dir=$1 rootfs="" ro=true base=${AULA_TEST_BASE_BUNDLE:-$BATS_FILE_TMPDIR/.base-bundle}
        shift
        while [ $# -gt 0 ]; do
                case $1 in
                -w) ro=false; shift ;;
                -r) rootfs=$2; shift 2 ;;
                *) break ;;
                esac
        done
        [ $# -gt 0 ] || set -- /bin/true
        if [ ! -e "$base/config.json" ]; then
                "$TESTS_DIR/shared/make-bundle.sh" -c /unused "$base" /bin/true >/dev/null || return 1
        fi
        mkdir -p "$dir"
        if [ -z "$rootfs" ]; then
                if [ "$ro" = false ]; then
                        rm -rf "$dir/rootfs"
                        cp -a "$base/rootfs" "$dir/rootfs"
                        rootfs=$dir/rootfs
                else
                        rootfs=$base/rootfs
                fi
        fi
        local args="" a
        for a in "$@"; do args+="${args:+,}$(json_str "$a")"; done
        jq --argjson args "[$args]" --arg root "$rootfs" --argjson ro "$ro" \
                --arg cg "$CG_PREFIX/$(basename "$dir")" \
                '.process.args = $args | .root.path = $root | .root.readonly = $ro | .linux.cgroupsPath = $cg' \
                "$base/config.json" >"$dir/config.json"
}

# Let a user namespace's root (an unprivileged host uid) reach the bundle and its rootfs.
make_traversable() {
        local d
        for d in "$1" "$(jq -r .root.path "$1/config.json")"; do
                while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
        done
}

# Edit the bundle's config.json with a jq filter: edit_config DIR FILTER [JQ-ARGS...]
edit_config() {
        local dir=$1 filter=$2
        shift 2
        jq "$@" "$filter" "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

rt() {
        "$AULA_RUNTIME" --root "$RT_ROOT" "$@"
}

# For `create` and `run -d`: the container keeps the caller's stdio (as with runc),
# so a command substitution reading it to EOF would wait for the container. Use files;
# print what the runtime wrote to stderr, return its status.
rt_bg() {
        local st=0 d=${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}
        "$AULA_RUNTIME" --root "$RT_ROOT" "$@" </dev/null >>"$d/bg.out" 2>"$d/bg.err" || st=$?
        cat "$d/bg.err"
        return $st
}

common_setup_file() {
        require_root
        export RT_ROOT=$BATS_FILE_TMPDIR/state
        export CG_PREFIX=/aula-bats-$$
        mkdir -p "$RT_ROOT"
}

common_teardown_file() {
        local c d
        if [ -n "${RT_ROOT:-}" ] && [ -d "$RT_ROOT" ]; then
                for c in $("$AULA_RUNTIME" --root "$RT_ROOT" list -q 2>/dev/null); do
                        "$AULA_RUNTIME" --root "$RT_ROOT" delete -f "$c" >/dev/null 2>&1
                done
        fi
        for d in /sys/fs/cgroup/*/"${CG_PREFIX#/}" /sys/fs/cgroup/"${CG_PREFIX#/}"; do
                [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        return 0
}

# Wait until `state` reports the given status (max ~5 s).
wait_status() {
        local id=$1 want=$2 i
        for i in $(seq 1 500); do
                [ "$(rt state "$id" 2>/dev/null | jq -r .status)" = "$want" ] && return 0
                sleep 0.01
        done
        echo "container $id did not reach $want: $(rt state "$id" 2>&1)" >&2
        return 1
}
