#!/bin/bash
# tests/bench/images.sh - aula's image path against the tools a user would pick instead.
#
#   sudo tests/bench/images.sh [BUILD_DIR]
#
# 1. Builds a Debian-sized root (>= 100 MiB) from files of installed Debian packages (libc6,
#    coreutils, bash, perl, python3.11, openssl, util-linux, ...), packs it as one image with
#    umoci and saves it as a docker archive with skopeo.
# 2. Import: `aula image import ARCHIVE` against `skopeo copy docker-archive:... oci:...` +
#    `umoci unpack` (what it takes to get a runnable root from the same archive), RUNS times
#    each, alternating, warm cache; medians compared. Goal: ratio <= 0.5.
# 3. Instance roots: 30 `aula image mount` against 30 `umoci unpack` of the same image.
#    Goal: ratio <= 0.05 (no copying).
# Every figure is a ratio from one run on one machine. Needs root (umoci unpack, mounts).
# RUNS (default 3) and UNPACKS (default 30) can be lowered for a quick look.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$TOP/build}
AULA=${AULA:-$BUILD/cli/aula}
RUNS=${RUNS:-3}
UNPACKS=${UNPACKS:-30}
PKGS="libc6 libgcc-s1 libstdc++6 base-files dash bash coreutils busybox-static findutils grep sed tar gzip
      util-linux perl-base perl-modules-5.36 libperl5.36 python3.11-minimal libpython3.11-minimal
      libpython3.11-stdlib libssl3 openssl libicu72"

die() {
        echo "images.sh: $*" >&2
        exit 1
}

[ "$(id -u)" = 0 ] || die "needs root (umoci unpack and mounts)"
[ -x "$AULA" ] || die "no aula binary at $AULA (build first, or set AULA)"
for c in umoci skopeo dpkg python3; do
        command -v "$c" >/dev/null || die "$c is not installed (contrib/install-deps.sh)"
done

WORK=$(mktemp -d /tmp/aula-bench-images.XXXXXX)
cleanup() {
        local m
        for m in $(awk -v p="$WORK/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
                umount -l "$m" 2>/dev/null || true
        done
        rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() {
        echo $(($(date +%s%N) / 1000000))
}

median() {
        sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# ---------------------------------------------------------------- the image
echo "== building a root from Debian packages"
mkdir "$WORK/root"
# shellcheck disable=SC2086
dpkg -L $PKGS 2>/dev/null | python3 -c '
import os, sys
# Canonical parents (this may be a merged-/usr system), files and symlinks only: tar adds the dirs.
out = set()
for p in sys.stdin.read().split():
    if not p.startswith("/") or not os.path.lexists(p):
        continue
    q = os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p))
    if os.path.isdir(q) and not os.path.islink(q):
        continue
    out.add(q.lstrip("/"))
print("\n".join(sorted(out)))' >"$WORK/files"
tar -C / -cf - -T "$WORK/files" | tar -C "$WORK/root" -xf -
for l in bin sbin lib lib64; do
        [ -e "$WORK/root/$l" ] || ln -s "usr/$l" "$WORK/root/$l"
done
size_mib=$(du -sm "$WORK/root" | cut -f1)
files=$(find "$WORK/root" | wc -l)
[ "$size_mib" -ge 100 ] || die "the root is only $size_mib MiB"
umoci init --layout "$WORK/oci" >/dev/null
umoci new --image "$WORK/oci:debian"
umoci insert --image "$WORK/oci:debian" "$WORK/root" / >/dev/null
umoci config --image "$WORK/oci:debian" --config.cmd=/bin/bash
skopeo copy -q "oci:$WORK/oci:debian" "docker-archive:$WORK/debian.tar:lab/debian:12"
archive_mib=$(($(stat -c %s "$WORK/debian.tar") / 1048576))
echo "   $size_mib MiB in $files files; docker archive $archive_mib MiB"

# ------------------------------------------------------------------- import
echo "== import: aula vs skopeo copy + umoci unpack ($RUNS runs each, alternating)"
: >"$WORK/t-aula"
: >"$WORK/t-peer"
for i in $(seq 1 "$RUNS"); do
        rm -rf "$WORK/store" "$WORK/peer-oci" "$WORK/peer-bundle"
        t0=$(now_ms)
        "$AULA" --root "$WORK/store" image import -q "$WORK/debian.tar" >/dev/null
        t1=$(now_ms)
        skopeo copy -q "docker-archive:$WORK/debian.tar" "oci:$WORK/peer-oci:debian"
        umoci unpack --image "$WORK/peer-oci:debian" "$WORK/peer-bundle" >/dev/null
        t2=$(now_ms)
        echo $((t1 - t0)) >>"$WORK/t-aula"
        echo $((t2 - t1)) >>"$WORK/t-peer"
        echo "   run $i: aula $((t1 - t0)) ms, skopeo+umoci $((t2 - t1)) ms"
done
imp_aula=$(median <"$WORK/t-aula")
imp_peer=$(median <"$WORK/t-peer")
rm -rf "$WORK/peer-bundle"

# ------------------------------------------------------------ instance roots
echo "== $UNPACKS instance roots: aula image mount vs umoci unpack"
t0=$(now_ms)
for i in $(seq 1 "$UNPACKS"); do
        "$AULA" --root "$WORK/store" image mount lab/debian:12 "$WORK/inst/$i" >/dev/null
done
t1=$(now_ms)
roots_aula=$((t1 - t0))
[ -x "$WORK/inst/1/rootfs/usr/bin/bash" ] || die "instance root 1 has no /usr/bin/bash"
upper_kib=$(du -sk "$WORK/inst" --exclude=rootfs | cut -f1)
for i in $(seq 1 "$UNPACKS"); do
        "$AULA" --root "$WORK/store" image unmount "$WORK/inst/$i"
done
t0=$(now_ms)
for i in $(seq 1 "$UNPACKS"); do
        umoci unpack --image "$WORK/peer-oci:debian" "$WORK/unpack/$i" >/dev/null
done
t1=$(now_ms)
roots_peer=$((t1 - t0))
peer_mib=$(du -sm "$WORK/unpack" | cut -f1)
rm -rf "$WORK/unpack"

# ------------------------------------------------------------------ summary
ratio() {
        python3 -c "print(f'{$1 / $2:.3f}')"
}
verdict() {
        python3 -c "print('met' if $1 <= $2 else 'MISSED')"
}
r1=$(ratio "$imp_aula" "$imp_peer")
r2=$(ratio "$roots_aula" "$roots_peer")
echo
echo "image: $size_mib MiB, $files files (docker archive, one layer) on $(nproc) CPUs"
printf 'import          aula %6d ms | skopeo copy + umoci unpack %6d ms | ratio %s (goal <= 0.5: %s)\n' \
        "$imp_aula" "$imp_peer" "$r1" "$(verdict "$r1" 0.5)"
printf '%2d roots        aula %6d ms | %2d x umoci unpack        %6d ms | ratio %s (goal <= 0.05: %s)\n' \
        "$UNPACKS" "$roots_aula" "$UNPACKS" "$roots_peer" "$r2" "$(verdict "$r2" 0.05)"
printf 'disk for roots  aula %6d KiB (upper dirs)  | umoci %d MiB\n' "$upper_kib" "$peer_mib"
