#!/usr/bin/env bats
# Instance roots: overlays of shared squashfs layers (kernel or squashfuse), bundles, user namespaces.

load images-lib

setup() {
        images_setup
        require_root
        require_cmd umoci jq busybox squashfuse fusermount3 losetup
        LAYOUT=$AULA_TEST_TMP/layout
        build_image "$LAYOUT"
        aula image import -q "$LAYOUT:bb" --name lab >/dev/null
}

teardown() {
        images_teardown
}

# check_root ROOTFS: the image's content as the overlay must show it.
check_root() {
        local r=$1
        [ "$(cat "$r/etc/new")" = added ]
        [ ! -e "$r/etc/motd" ]                              # whiteout in layer 2
        [ "$(ls -A "$r/home")" = only ]                     # opaque /home in layer 3
        [ "$(stat -c %a "$r/tmp")" = 1777 ]                 # implicit parents keep the lower mode
        [ -x "$r/bin/busybox" ]
        [ "$(readlink "$r/bin/sh")" = busybox ]
}

@test "kernel backend: mount, write, unmount leaves nothing behind" {
        run aula image mount --backend kernel lab "$AULA_TEST_TMP/i1"
        [ "$status" -eq 0 ]
        [ "$output" = "$AULA_TEST_TMP/i1/rootfs" ]
        check_root "$AULA_TEST_TMP/i1/rootfs"
        [ "$(our_mounts | grep -c /images/mnt/)" = 4 ]
        [ "$(our_loops | wc -l)" = 4 ]

        echo mine >"$AULA_TEST_TMP/i1/rootfs/etc/new"
        rm "$AULA_TEST_TMP/i1/rootfs/bin/busybox"
        [ "$(cat "$AULA_TEST_TMP/i1/upper/etc/new")" = mine ]

        # A second instance sees the image, not the first one's changes, and shares the layer mounts.
        aula image mount lab "$AULA_TEST_TMP/i2" >/dev/null
        check_root "$AULA_TEST_TMP/i2/rootfs"
        [ "$(our_mounts | grep -c /images/mnt/)" = 4 ]
        # Two references on every shared layer.
        for refs in "$AULA_TEST_ROOT"/images/mnt/*.refs; do
                [ "$(find "$refs" -mindepth 1 | wc -l)" = 2 ]
        done

        run aula image mount lab "$AULA_TEST_TMP/i1"
        [ "$status" -eq 1 ]
        [[ "$output" == *"already holds an instance root"* ]]

        aula image unmount "$AULA_TEST_TMP/i1"
        [ ! -e "$AULA_TEST_TMP/i1/upper" ]
        [ "$(our_mounts | grep -c /images/mnt/)" = 4 ]   # still used by i2
        aula image unmount "$AULA_TEST_TMP/i2"
        [ -z "$(our_mounts)" ]
        [ -z "$(our_loops)" ]
        # Idempotent.
        aula image unmount "$AULA_TEST_TMP/i2"
}

@test "squashfuse backend gives the same root" {
        run aula image mount --backend squashfuse lab "$AULA_TEST_TMP/f1"
        [ "$status" -eq 0 ]
        check_root "$AULA_TEST_TMP/f1/rootfs"
        # mountinfo: the file system type is the first field after " - ".
        [ "$(awk -v p="$AULA_TEST_ROOT/" '{ split($0, a, " - "); split(a[2], f, " ") }
                index($5, p) == 1 && f[1] ~ /^fuse/' /proc/self/mountinfo | wc -l)" = 4 ]
        [ -z "$(our_loops)" ]
        aula image unmount "$AULA_TEST_TMP/f1"
        [ -z "$(our_mounts)" ]
}

@test "thirty instance roots from one image, copying nothing" {
        start=$(date +%s%N)
        for i in $(seq 1 30); do
                aula image mount lab "$AULA_TEST_TMP/s$i" >/dev/null
        done
        ms=$(( ($(date +%s%N) - start) / 1000000 ))
        echo "# 30 instance roots in ${ms} ms" >&3
        [ "$(our_mounts | grep -c '/rootfs$')" = 30 ]
        [ "$(our_mounts | grep -c /images/mnt/)" = 4 ]
        # Nothing was copied: each upper directory is empty until written to.
        [ "$(du -s "$AULA_TEST_TMP/s7/upper" | cut -f1)" -le 4 ]
        [ "$ms" -lt 3000 ]
        for i in $(seq 1 30); do
                aula image unmount "$AULA_TEST_TMP/s$i"
        done
        [ -z "$(our_mounts)" ]
        [ -z "$(our_loops)" ]
}

@test "a bundle from the image runs under runc with the image's user, env and cwd" {
        require_cmd runc
        run aula image bundle lab "$AULA_TEST_TMP/b" -e X=1 --hostname lab1 -- /bin/sh -c \
                'id; pwd; echo "$FOO $X"; hostname; cat /etc/new'
        [ "$status" -eq 0 ]
        cfg=$AULA_TEST_TMP/b/config.json
        [ "$(jq -r .root.path "$cfg")" = "$AULA_TEST_TMP/b/rootfs" ]
        [ "$(jq -r .process.user.uid "$cfg")" = 1000 ]
        [ "$(jq -r '.process.user.additionalGids | join(",")' "$cfg")" = 2000 ]
        [ "$(jq -r .process.cwd "$cfg")" = /tmp ]
        [ "$(jq -r '.annotations.lab' "$cfg")" = 1 ]
        [ "$(jq -r '.annotations["org.opencontainers.image.stopSignal"]' "$cfg")" = SIGINT ]
        [ "$(jq -r '.annotations["org.aula.isolation"]' "$cfg")" = null ]

        id="aula-images-test-$$"
        run timeout 60 runc run -b "$AULA_TEST_TMP/b" "$id" </dev/null
        runc delete -f "$id" 2>/dev/null || true
        [ "$status" -eq 0 ]
        [[ "${lines[0]}" == "uid=1000(student) gid=1000(student) groups=2000(lab)"* ]]
        [ "${lines[1]}" = /tmp ]
        [ "${lines[2]}" = "bar 1" ]
        [ "${lines[3]}" = lab1 ]
        [ "${lines[4]}" = added ]
        aula image unmount "$AULA_TEST_TMP/b"
        [ -z "$(our_mounts)" ]
}

@test "an unknown image user is an error, and the instance root is undone" {
        run aula image bundle lab "$AULA_TEST_TMP/b" --user nobody
        [ "$status" -eq 1 ]
        [[ "$output" == *"user 'nobody' is not in the image's /etc/passwd"* ]]
        [ -z "$(our_mounts)" ]
}

@test "in a user namespace: squashfuse layers and a userxattr overlay" {
        require_cmd unshare
        run unshare -Urm --propagation private sh -c '
                set -e
                "$0" --root "$1" image mount lab "$2/u" >/dev/null
                grep -q userxattr /proc/self/mountinfo
                cat "$2/u/rootfs/etc/new"
                ls -A "$2/u/rootfs/home"
                test ! -e "$2/u/rootfs/etc/motd"
                "$0" --root "$1" image unmount "$2/u"
                ! grep -q " $2/" /proc/self/mountinfo' "$AULA" "$AULA_TEST_ROOT" "$AULA_TEST_TMP"
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = added ]
        [ "${lines[1]}" = only ]
        [ -z "$(our_mounts)" ]
}

@test "gc keeps layers an instance still uses" {
        aula image mount lab "$AULA_TEST_TMP/g" >/dev/null
        aula image rm lab
        [ "$(find "$AULA_TEST_ROOT/images/layers" -name '*.sqfs' | wc -l)" = 4 ]
        check_root "$AULA_TEST_TMP/g/rootfs"
        aula image unmount "$AULA_TEST_TMP/g"
        run aula image gc --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq .layersRemoved)" = 4 ]
}

@test "gc recovers the layer mounts of an instance root whose creation was cut short" {
        aula image mount lab "$AULA_TEST_TMP/c" >/dev/null
        # What a crash between mounting the layers and recording the instance leaves.
        umount "$AULA_TEST_TMP/c/rootfs"
        rm "$AULA_TEST_TMP/c/image-root.json"
        [ "$(our_mounts | grep -c /images/mnt/)" = 4 ]
        run aula image gc --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq .layersUnmounted)" = 4 ]
        [ -z "$(our_mounts)" ]
        [ -z "$(our_loops)" ]
        # The image itself is untouched and mounts again.
        aula image mount lab "$AULA_TEST_TMP/c2" >/dev/null
        check_root "$AULA_TEST_TMP/c2/rootfs"
        aula image unmount "$AULA_TEST_TMP/c2"
}
