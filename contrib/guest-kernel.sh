#!/bin/sh
# Fetch Debian's stock kernel (linux-image-amd64) and build an aula microVM
# guest from it: vmlinuz, the uncompressed ELF vmlinux inside it, an initramfs
# with aula-init and the virtio modules, and a small busybox root disk.
#
#   contrib/guest-kernel.sh [--aula-init PATH] [OUTDIR]
#
# OUTDIR defaults to $AULA_GUEST_CACHE or /var/cache/aula/guest. Re-running
# with the same kernel version reuses what is there. Needs apt-get (Debian's
# mirror), dpkg-deb, depmod, cpio, gzip, mksquashfs and mkfs.ext4.
set -eu

AULA_INIT=""
while [ $# -gt 0 ]; do
        case "$1" in
        --aula-init) AULA_INIT="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) break ;;
        esac
done
OUT="${1:-${AULA_GUEST_CACHE:-/var/cache/aula/guest}}"
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -z "$AULA_INIT" ]; then
        for c in "$HERE/../build/microvm/guest/aula-init" "$HERE/../build-ci/microvm/guest/aula-init"; do
                [ -x "$c" ] && AULA_INIT="$c" && break
        done
fi
[ -x "$AULA_INIT" ] || { echo "guest-kernel: no aula-init binary; pass --aula-init PATH" >&2; exit 1; }

mkdir -p "$OUT"
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
if [ -z "$pkg" ]; then
        apt-get update -qq >/dev/null 2>&1 || true
        pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
fi
[ -n "$pkg" ] || { echo "guest-kernel: cannot resolve linux-image-amd64" >&2; exit 1; }
version=${pkg#linux-image-}

if [ ! -f "$OUT/vmlinuz-$version" ] || [ ! -d "$OUT/root-$version" ]; then
        dl=$(mktemp -d)
        chmod 0777 "$dl" # apt's _apt user writes the download
        (cd "$dl" && apt-get download -qq "$pkg")
        rm -rf "$OUT/root-$version"
        mkdir -p "$OUT/root-$version"
        dpkg-deb -x "$dl"/*.deb "$OUT/root-$version"
        rm -rf "$dl"
        depmod -b "$OUT/root-$version" "$version"
        cp "$OUT/root-$version/boot/vmlinuz-$version" "$OUT/vmlinuz-$version"
fi

# The ELF vmlinux inside the bzImage (what scripts/extract-vmlinux does): aula-vmm boots it
# through the ELF path, which skips the decompressor (minutes where KVM emulates guest code).
if [ ! -f "$OUT/vmlinux-$version" ]; then
        for fmt in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
                tool=${fmt%%:*}
                for off in $(LC_ALL=C grep -obUaP "${fmt#*:}" "$OUT/vmlinuz-$version" | cut -d: -f1 | head -n 3); do
                        tail -c +$((off + 1)) "$OUT/vmlinuz-$version" | "$tool" -dc 2>/dev/null >"$OUT/vmlinux.tmp" || true
                        if [ "$(head -c 4 "$OUT/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
                                mv "$OUT/vmlinux.tmp" "$OUT/vmlinux-$version"
                                break 2
                        fi
                done
        done
        rm -f "$OUT/vmlinux.tmp"
fi

"$HERE/guest-initramfs.sh" "$OUT/root-$version" "$version" "$AULA_INIT" "$OUT/initrd-$version.img"
"$HERE/guest-rootfs.sh" "$OUT/rootfs.squashfs" "$OUT/scratch.ext4"
ln -sf "vmlinuz-$version" "$OUT/vmlinuz"
ln -sf "initrd-$version.img" "$OUT/initrd.img"
[ -f "$OUT/vmlinux-$version" ] && ln -sf "vmlinux-$version" "$OUT/vmlinux"
echo "guest-kernel: $OUT/vmlinuz ($version), $OUT/vmlinux, $OUT/initrd.img, $OUT/rootfs.squashfs, $OUT/scratch.ext4"
