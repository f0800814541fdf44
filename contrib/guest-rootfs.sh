#!/bin/sh
# A tiny root disk for microVM smoke tests: busybox (static) as a squashfs
# image, plus an empty ext4 scratch disk for the overlay's upper layer.
#
#   contrib/guest-rootfs.sh ROOTFS.squashfs SCRATCH.ext4
set -eu
[ $# -eq 2 ] || { sed -n '2,6p' "$0" >&2; exit 1; }
ROOTFS="$1" SCRATCH="$2"
BUSYBOX=$(command -v busybox || echo /bin/busybox)
file -L "$BUSYBOX" | grep -q "statically linked" || { echo "guest-rootfs: need busybox-static" >&2; exit 1; }

if [ ! -f "$ROOTFS" ]; then
        tree=$(mktemp -d)
        trap 'rm -rf "$tree"' EXIT
        mkdir -p "$tree/bin" "$tree/etc" "$tree/proc" "$tree/sys" "$tree/dev" "$tree/run" "$tree/tmp" "$tree/root"
        cp "$BUSYBOX" "$tree/bin/busybox"
        for app in sh echo cat uname ls mount ps sleep hostname ip ifconfig true false id env; do
                ln -s busybox "$tree/bin/$app"
        done
        echo "aula-guest" >"$tree/etc/hostname"
        mksquashfs "$tree" "$ROOTFS.tmp" -noappend -quiet -all-root >/dev/null
        mv "$ROOTFS.tmp" "$ROOTFS"
fi
if [ ! -f "$SCRATCH" ]; then
        truncate -s 64M "$SCRATCH.tmp"
        mkfs.ext4 -q -F "$SCRATCH.tmp"
        mv "$SCRATCH.tmp" "$SCRATCH"
fi
echo "guest-rootfs: $ROOTFS, $SCRATCH"
