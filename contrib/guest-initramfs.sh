#!/bin/sh
# Build an initramfs for aula microVMs: aula-init as /init, plus the kernel
# modules it loads in dependency order (from /lib/modules/aula.list).
#
#   contrib/guest-initramfs.sh KERNEL_ROOT VERSION AULA_INIT OUT.img
#
# KERNEL_ROOT holds lib/modules/VERSION with modules.dep (run depmod -b).
# A kernel with these drivers built in (contrib/guest-kernel.config) needs no
# modules: then the list is empty and /init is all there is.
set -eu
[ $# -eq 4 ] || { sed -n '2,9p' "$0" >&2; exit 1; }
ROOT="$1" VERSION="$2" INIT="$3" OUT="$4"
MODDIR="$ROOT/lib/modules/$VERSION"
WANT="virtio_mmio virtio_blk virtio_net virtio-rng vmw_vsock_virtio_transport squashfs overlay ext4"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/dev" "$stage/proc" "$stage/sys" "$stage/run" "$stage/mnt" "$stage/lib/modules"
cp "$INIT" "$stage/init"
chmod 0755 "$stage/init"
# The kernel opens /dev/console before /init runs; without it aula-init has no stdio.
mknod -m 0600 "$stage/dev/console" c 5 1

: >"$stage/lib/modules/aula.list"
if [ -f "$MODDIR/modules.dep" ]; then
        seen=" "
        # add MODULE_PATH: dependencies first, each once
        add() {
                case "$seen" in *" $1 "*) return ;; esac
                seen="$seen$1 "
                for dep in $(sed -n "s|^$1: *||p" "$MODDIR/modules.dep"); do
                        add "$dep"
                done
                mkdir -p "$stage/lib/modules/$VERSION/$(dirname "$1")"
                cp "$MODDIR/$1" "$stage/lib/modules/$VERSION/$1"
                echo "/lib/modules/$VERSION/$1" >>"$stage/lib/modules/aula.list"
        }
        for m in $WANT; do
                alt=$(echo "$m" | tr '_-' '__')
                path=$(sed -n 's|^\(.*/\)\('"$m"'\|'"$alt"'\)\.ko[^:]*:.*|\1\2.ko|p' "$MODDIR/modules.dep" | head -n1)
                if [ -z "$path" ]; then
                        path=$(grep -o "^[^:]*/$(echo "$m" | sed 's/[-_]/[-_]/g')\.ko[^:]*" "$MODDIR/modules.dep" | head -n1 || true)
                fi
                if [ -n "$path" ]; then add "$path"; else echo "guest-initramfs: $m: built in or absent" >&2; fi
        done
fi
(cd "$stage" && find . -print | cpio -o -H newc --quiet) | gzip -9 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "guest-initramfs: $OUT ($(wc -l <"$stage/lib/modules/aula.list") modules)"
