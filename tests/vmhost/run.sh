#!/bin/bash
# tests/vmhost/run.sh - run one command as root inside Debian's stock kernel.
#
#   tests/vmhost/run.sh [options] -- CMD [ARG...]
#
# Boots linux-image-amd64 (downloaded once with apt-get download, cached) under
# qemu-system-x86_64 -M microvm with this host's root filesystem shared read-only
# over virtio-9p plus a tmpfs overlay, cgroup2 at /sys/fs/cgroup, and runs CMD in
# the current directory. CMD's stdout and stderr come back on ours; the exit
# status is CMD's. 124: timed out. 125: the harness or the guest failed.
# 77: a prerequisite is missing (1 under RT_MUST_WORK=1; with --tap, "1..0 # SKIP"
# and 0). docs/vmhost.md has it all.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${AULA_VMHOST_CACHE:-/var/cache/aula-vmhost}
TIMEOUT=300
MEM=1024
CPUS=2
DISK=16
ACCEL=${AULA_VMHOST_ACCEL:-auto}
TAP=0
CONSOLE=0
REFRESH=0
KEEP=0
APPEND=""

usage() {
        sed -n '2,12s/^# \{0,1\}//p' "$0"
        cat <<EOF
options:
  --timeout S     kill the guest after S seconds (default $TIMEOUT); exit 124
  --mem M         guest memory in MiB (default $MEM)
  --cpus N        guest CPUs (default $CPUS)
  --disk MB       scratch virtio-blk disk /dev/vda of MB MiB, 0 for none (default $DISK)
  --accel A       tcg, kvm or auto (default $ACCEL; auto avoids PVM-backed /dev/kvm)
  --append ARGS   extra kernel command line
  --cache DIR     kernel/initramfs cache (default $CACHE, env AULA_VMHOST_CACHE)
  --refresh       look up the newest linux-image-amd64 again
  --console       copy the guest console (boot log) to stderr as it runs
  --keep          keep the run directory (console log, outputs) and print its path
  --tap           CMD speaks TAP: report a missing prerequisite as "1..0 # SKIP" and a
                  harness failure as "Bail out!" on stdout, for meson's TAP parser
EOF
}

die() {
        echo "vmhost: $*" >&2
        [ "$TAP" = 1 ] && echo "Bail out! vmhost: $*"
        exit 125
}

missing() {
        echo "vmhost: $*" >&2
        if [ "${RT_MUST_WORK:-0}" = 1 ]; then
                [ "$TAP" = 1 ] && echo "Bail out! vmhost: $* (RT_MUST_WORK=1)"
                exit 1
        fi
        if [ "$TAP" = 1 ]; then
                # meson's TAP protocol reads any non-zero status, 77 too, as an error: the plan says it.
                echo "1..0 # SKIP vmhost: $*"
                exit 0
        fi
        exit 77
}

while [ $# -gt 0 ]; do
        case "$1" in
        --timeout) TIMEOUT=$2; shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --cpus) CPUS=$2; shift 2 ;;
        --disk) DISK=$2; shift 2 ;;
        --accel) ACCEL=$2; shift 2 ;;
        --append) APPEND=$2; shift 2 ;;
        --cache) CACHE=$2; shift 2 ;;
        --refresh) REFRESH=1; shift ;;
        --console) CONSOLE=1; shift ;;
        --keep) KEEP=1; shift ;;
        --tap) TAP=1; shift ;;
        -h | --help) usage; exit 0 ;;
        --) shift; break ;;
        *) usage >&2; die "unknown option '$1'" ;;
        esac
done
[ $# -gt 0 ] || { usage >&2; die "no command given"; }
for n in "$TIMEOUT" "$MEM" "$CPUS" "$DISK"; do
        [[ "$n" =~ ^[0-9]+$ ]] || die "'$n' is not a number"
done

for tool in qemu-system-x86_64 dpkg-deb cpio gzip depmod modprobe flock; do
        command -v "$tool" >/dev/null || missing "$tool not installed (contrib/install-deps.sh)"
done
BUSYBOX=/bin/busybox
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' || missing "$BUSYBOX is not busybox-static"

mkdir -p "$CACHE" || missing "cannot create cache directory $CACHE"
exec 9>"$CACHE/.lock"

# ---------------------------------------------------------------- kernel
# The newest linux-image-<abi>-amd64 that the metapackage points at, unpacked once.
resolve_kver() {
        if [ "$REFRESH" = 0 ] && [ -s "$CACHE/kver" ]; then
                cat "$CACHE/kver"
                return
        fi
        local pkg
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
                sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
        if [ -z "$pkg" ]; then
                apt-get update -qq >/dev/null 2>&1 || true
                pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
                        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
        fi
        [ -n "$pkg" ] || return 1
        echo "${pkg#linux-image-}" >"$CACHE/kver"
        cat "$CACHE/kver"
}

prepare_kernel() {
        local kdir=$CACHE/$KVER deb tmp
        [ -f "$kdir/.done" ] && return 0
        mkdir -p "$CACHE/debs"
        deb=$(ls "$CACHE/debs/linux-image-${KVER}_"*.deb 2>/dev/null | head -n1 || true)
        if [ -z "$deb" ]; then
                echo "vmhost: downloading linux-image-$KVER" >&2
                (cd "$CACHE/debs" && apt-get download -q "linux-image-$KVER" >/dev/null 2>&1) ||
                        missing "apt-get download linux-image-$KVER failed"
                deb=$(ls "$CACHE/debs/linux-image-${KVER}_"*.deb | head -n1)
        fi
        tmp=$(mktemp -d "$CACHE/.unpack.XXXXXX")
        dpkg-deb -x "$deb" "$tmp/root" || die "cannot unpack $deb"
        cp "$tmp/root/boot/vmlinuz-$KVER" "$tmp/vmlinuz"
        depmod -b "$tmp/root" "$KVER" || die "depmod failed"
        rm -rf "$kdir"
        mv "$tmp" "$kdir"
        touch "$kdir/.done"
}

# ------------------------------------------------------------- initramfs
# busybox-static, kmod with its libraries, the modules needed to reach the host root,
# and the two stages of init. Rebuilt when any of that changes.
INITRD_MODULES="virtio_mmio virtio_blk 9pnet_virtio 9p overlay"

build_initramfs() {
        local kdir=$CACHE/$KVER key out tmp lib m f
        key=$( (cat "$HERE/init" "$HERE/stage2" "$BUSYBOX" /usr/bin/kmod; echo "$INITRD_MODULES") |
                sha256sum | cut -c1-16)
        out=$kdir/initramfs-$key.cpio.gz
        if [ -f "$out" ]; then
                echo "$out"
                return
        fi
        tmp=$(mktemp -d "$CACHE/.initramfs.XXXXXX")
        mkdir -p "$tmp"/{bin,sbin,proc,sys,dev,lower,rw,newroot,lib/modules,etc}
        cp "$BUSYBOX" "$tmp/bin/busybox"
        for a in $("$BUSYBOX" --list); do
                [ -e "$tmp/bin/$a" ] || ln -s busybox "$tmp/bin/$a"
        done
        # kmod resolves and loads modules (dependencies from modules.dep), as later on the real root
        cp /usr/bin/kmod "$tmp/bin/kmod"
        for a in modprobe insmod lsmod depmod modinfo rmmod; do ln -sf ../bin/kmod "$tmp/sbin/$a"; rm -f "$tmp/bin/$a"; done
        for lib in $(ldd /usr/bin/kmod | grep -o '/[^ ]*'); do
                mkdir -p "$tmp$(dirname "$lib")"
                cp -L "$lib" "$tmp$lib"
        done
        for m in $INITRD_MODULES; do
                modprobe -d "$kdir/root" -S "$KVER" --show-depends "$m" 2>/dev/null |
                        sed -n 's/^insmod \([^ ]*\).*/\1/p' | while read -r f; do
                        mkdir -p "$tmp$(dirname "${f#"$kdir/root"}")"
                        cp "$f" "$tmp${f#"$kdir/root"}"
                done
        done
        cp "$kdir/root/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$tmp/lib/modules/$KVER/" 2>/dev/null || true
        depmod -b "$tmp" "$KVER" || die "depmod (initramfs) failed"
        cp "$HERE/init" "$tmp/init"
        cp "$HERE/stage2" "$tmp/stage2"
        chmod 0755 "$tmp/init" "$tmp/stage2"
        (cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp" || die "cpio failed"
        mv "$out.tmp" "$out"
        rm -rf "$tmp"
        echo "$out"
}

flock 9
KVER=$(resolve_kver) || missing "cannot resolve linux-image-amd64 (apt lists missing?)"
prepare_kernel
INITRD=$(build_initramfs)
flock -u 9

# ------------------------------------------------------------------ run
if [ "$ACCEL" = auto ]; then
        # A PVM-backed /dev/kvm emulates guest code and stock kernels die on it: use TCG there.
        if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then ACCEL=kvm; else ACCEL=tcg; fi
fi
case "$ACCEL" in
kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
tcg)
        ACCEL_ARGS=(-accel "tcg,thread=multi" -cpu max)
        # TCG's TSC runs at the host's rate, but calibrating it against the emulated PIT fails
        # often enough (and then boot hangs) that we tell the guest the rate instead.
        TSC_KHZ=${AULA_VMHOST_TSC_KHZ:-$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)}
        [ -n "$TSC_KHZ" ] && APPEND="tsc_early_khz=$TSC_KHZ $APPEND"
        ;;
*) die "--accel must be tcg, kvm or auto" ;;
esac

RUN=$(mktemp -d /tmp/aula-vmhost.XXXXXX)
cleanup() {
        if [ "$KEEP" = 1 ]; then echo "vmhost: run directory $RUN" >&2; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
mkdir "$RUN/out"

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
        echo "# generated by tests/vmhost/run.sh"
        while IFS= read -r -d '' kv; do
                name=${kv%%=*}
                [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
                case "$name" in PWD | OLDPWD | SHLVL | _ | HOSTNAME | BASH_* | LD_PRELOAD) continue ;; esac
                echo "export $name=$(q "${kv#*=}")"
        done < <(env -0)
        echo "cd $(q "$PWD") 2>/dev/null || cd /"
        printf 'exec'
        for a in "$@"; do printf ' %s' "$(q "$a")"; done
        echo
} >"$RUN/out/cmd.sh"

DISK_ARGS=()
if [ "$DISK" -gt 0 ]; then
        truncate -s "${DISK}M" "$RUN/disk.img"
        # shellcheck disable=SC2054
        DISK_ARGS=(-drive "if=none,id=scratch,format=raw,file=$RUN/disk.img"
                -device "virtio-blk-device,drive=scratch")
fi

CONSOLE_LOG=$RUN/console.log
: >"$CONSOLE_LOG"
TAIL_PID=
if [ "$CONSOLE" = 1 ]; then
        tail -n +1 -f "$CONSOLE_LOG" >&2 &
        TAIL_PID=$!
fi

start=$(date +%s.%N)
set +e
timeout --kill-after=5 "$TIMEOUT" qemu-system-x86_64 \
        -M microvm,x-option-roms=off,isa-serial=on,rtc=on,pit=on,pic=on \
        "${ACCEL_ARGS[@]}" -m "$MEM" -smp "$CPUS" \
        -nodefaults -no-user-config -nographic -no-reboot \
        -kernel "$CACHE/$KVER/vmlinuz" -initrd "$INITRD" \
        -append "console=ttyS0 quiet loglevel=3 panic=-1 reboot=t tsc=reliable psi=1 cgroup_no_v1=all aula.kver=$KVER aula.moddir=$CACHE/$KVER/root/lib/modules $APPEND" \
        -chardev "file,id=con,path=$CONSOLE_LOG" -serial chardev:con \
        -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
        -device virtio-9p-device,fsdev=hostroot,mount_tag=aularoot \
        -fsdev "local,id=out,path=$RUN/out,security_model=none,multidevs=remap" \
        -device virtio-9p-device,fsdev=out,mount_tag=aulaout \
        "${DISK_ARGS[@]}" >"$RUN/qemu.log" 2>&1
qrc=$?
set -e
end=$(date +%s.%N)
[ -n "$TAIL_PID" ] && { sleep 0.2; kill "$TAIL_PID" 2>/dev/null || true; }

[ -f "$RUN/out/stdout" ] && cat "$RUN/out/stdout"
[ -f "$RUN/out/stderr" ] && cat "$RUN/out/stderr" >&2
if [ -s "$RUN/out/status" ]; then
        rc=$(cat "$RUN/out/status")
        [ "${AULA_VMHOST_QUIET:-0}" = 1 ] ||
                printf 'vmhost: %s, %s: exit %s after %.1f s\n' "$KVER" "$ACCEL" "$rc" "$(awk "BEGIN { print $end - $start }")" >&2
        exit "$rc"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
        echo "vmhost: timed out after $TIMEOUT s; console:" >&2
        tail -n 40 "$CONSOLE_LOG" >&2
        [ "$TAP" = 1 ] && echo "Bail out! vmhost: timed out after $TIMEOUT s"
        exit 124
fi
echo "vmhost: the guest ended without an exit status (qemu exit $qrc); console and qemu log:" >&2
tail -n 40 "$CONSOLE_LOG" >&2
tail -n 10 "$RUN/qemu.log" >&2
[ "$TAP" = 1 ] && echo "Bail out! vmhost: the guest ended without an exit status"
exit 125
