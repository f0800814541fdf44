#!/bin/sh
# Build a small guest kernel (bzImage and ELF vmlinux) from Debian's
# linux-source package with contrib/guest-kernel.config, for aula-vmm.
#
#   contrib/guest-kernel-build.sh [OUTDIR]
#
# Installs linux-source and the kernel build dependencies with apt-get,
# unpacks the source under OUTDIR/src, applies the fragment over tinyconfig
# and builds with all CPUs. Then boot it (the initramfs needs no modules):
#   contrib/guest-initramfs.sh /nonexistent none build/microvm/guest/aula-init OUTDIR/initrd.img
#   aula-vmm --kernel OUTDIR/bzImage --initrd OUTDIR/initrd.img ...
set -eu
OUT="${1:-${AULA_GUEST_CACHE:-/var/cache/aula/guest}/custom}"
HERE="$(cd "$(dirname "$0")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends linux-source build-essential bc bison flex libelf-dev \
        libssl-dev xz-utils >/dev/null
tarball=$(ls /usr/src/linux-source-*.tar.xz | sort -V | tail -n1)
mkdir -p "$OUT/src"
[ -f "$OUT/src/Makefile" ] || tar -xJf "$tarball" -C "$OUT/src" --strip-components=1
cd "$OUT/src"
make -s tinyconfig
./scripts/kconfig/merge_config.sh -m .config "$HERE/guest-kernel.config" >/dev/null
make -s olddefconfig
for opt in VIRTIO_MMIO VIRTIO_BLK VIRTIO_NET VIRTIO_VSOCKETS SERIAL_8250_CONSOLE ACPI OVERLAY_FS SQUASHFS; do
        grep -q "^CONFIG_$opt=y" .config || { echo "guest-kernel-build: CONFIG_$opt did not stick" >&2; exit 1; }
done
make -s -j"$(nproc)" bzImage vmlinux
cp arch/x86/boot/bzImage "$OUT/bzImage"
cp vmlinux "$OUT/vmlinux"
echo "guest-kernel-build: $OUT/bzImage and $OUT/vmlinux"
