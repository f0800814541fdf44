# Shared helpers for the images bats suites (sourced, not run).
# AULA comes from meson (the built `aula`); every test uses a private data root.
# A missing prerequisite skips the test, except under RT_MUST_WORK=1 (CI), where it fails.

need() {
        if [ "${RT_MUST_WORK:-0}" = 1 ]; then
                echo "prerequisite missing (RT_MUST_WORK=1): $*" >&2
                return 1
        fi
        skip "$*"
}

require_root() {
        [ "$(id -u)" = 0 ] || need "needs root"
        # Root in a user namespace (unshare -r) cannot attach loop devices or open a root-only /dev/fuse.
        grep -qw 4294967295 /proc/self/uid_map || need "needs root in the initial user namespace"
}

require_cmd() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 || need "$c is not installed"
        done
}

# aula ARGS...: the built binary on this test's data root, bounded in time.
aula() {
        timeout -k 5 "${AULA_TIMEOUT:-120}" "${AULA:?AULA is not set}" --root "$AULA_TEST_ROOT" "$@"
}

# A fresh data root per test (tests may run as root: keep it under a private tmp dir).
images_setup() {
        AULA_TEST_ROOT=$(mktemp -d /tmp/aula-images-test.XXXXXX)
        export AULA_TEST_ROOT
        AULA_TEST_TMP=$(mktemp -d /tmp/aula-images-tmp.XXXXXX)
        export AULA_TEST_TMP
}

# Unmount everything below the test's directories, then remove them.
images_teardown() {
        local d m
        for d in "$AULA_TEST_TMP" "$AULA_TEST_ROOT"; do
                [ -n "$d" ] && [ -d "$d" ] || continue
                # Deepest first: overlays before the layers below them.
                for m in $(awk -v p="$d/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
                        umount -l "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null || true
                done
                rm -rf "$d"
        done
}

# build_image LAYOUT: an OCI layout (umoci) with a busybox root in three layers:
#   1: /bin/busybox and links, /etc/{passwd,group,motd}, /tmp (1777), /home/student/.profile
#   2: /etc/motd deleted (whiteout), /etc/new added
#   3: /home made opaque with only /home/only in it
# The image runs /bin/sh as "student" in /tmp with FOO=bar, labels lab=1 and org.aula.isolation=container.
build_image() {
        local layout=$1 root
        root=$(mktemp -d "$AULA_TEST_TMP/rootfs.XXXXXX")
        mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/home/student"
        cp "$(command -v busybox)" "$root/bin/busybox"
        for a in sh ls cat echo id pwd env stat; do
                ln -s busybox "$root/bin/$a"
        done
        printf 'root:x:0:0:root:/root:/bin/sh\nstudent:x:1000:1000::/home/student:/bin/sh\n' >"$root/etc/passwd"
        printf 'root:x:0:\nstudent:x:1000:\nlab:x:2000:student\n' >"$root/etc/group"
        echo "welcome" >"$root/etc/motd"
        echo "# profile" >"$root/home/student/.profile"
        chmod 1777 "$root/tmp"
        umoci init --layout "$layout"
        umoci new --image "$layout:bb"
        umoci insert --image "$layout:bb" "$root" /
        umoci insert --image "$layout:bb" --whiteout /etc/motd
        echo added >"$AULA_TEST_TMP/new"
        umoci insert --image "$layout:bb" "$AULA_TEST_TMP/new" /etc/new
        mkdir -p "$AULA_TEST_TMP/opq"
        echo only >"$AULA_TEST_TMP/opq/only"
        umoci insert --image "$layout:bb" --opaque "$AULA_TEST_TMP/opq" /home
        umoci config --image "$layout:bb" --config.cmd=/bin/sh --config.user=student \
                --config.workingdir=/tmp --config.env=FOO=bar --config.label=lab=1 \
                --config.label=org.aula.isolation=container --config.stopsignal=SIGINT
        rm -rf "$root"
}

# The mounts of this test that are squashfs, fuse or overlay.
our_mounts() {
        awk -v a="$AULA_TEST_ROOT/" -v b="$AULA_TEST_TMP/" \
                'index($5, a) == 1 || index($5, b) == 1 { print $5 }' /proc/self/mountinfo
}

# Loop devices backed by files of this test's store.
our_loops() {
        losetup -a 2>/dev/null | grep -F "$AULA_TEST_ROOT" || true
}

free_port() {
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL [CURL-ARGS...]: until it answers at all (up to 10 s).
wait_http() {
        local url=$1 _
        shift
        for _ in $(seq 1 100); do
                curl -s -o /dev/null "$@" "$url" && return 0
                sleep 0.1
        done
        echo "nothing answers at $url" >&2
        return 1
}
