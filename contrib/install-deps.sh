#!/bin/sh
# Install everything aula needs to build, run and test on Debian 12.
# This file is the single list of packages. It is idempotent: running it
# again installs nothing new and exits 0.
set -eu

BUILD="meson ninja-build gcc clang clang-format pkg-config
       libyajl-dev libseccomp-dev libcap-dev libmnl-dev
       libnftnl-dev libnftables-dev
       libcurl4-openssl-dev libssl-dev libzstd-dev zlib1g-dev
       libsquashfuse-dev libsquashfs-dev libfuse3-dev
       protobuf-c-compiler libprotobuf-c-dev"
RUN="busybox-static squashfs-tools squashfs-tools-ng squashfuse fuse3
     criu iproute2 nftables kmod util-linux procps"
TEST="bats jq time file python3 strace crun runc podman containerd skopeo umoci
      qemu-system-x86 hyperfine netavark iptables docker-registry acpica-tools
      cpio xz-utils zstd libclang-rt-14-dev shellcheck e2fsprogs openssl curl"

missing=""
for p in $BUILD $RUN $TEST; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
        echo "install-deps: all packages present"
        exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing:$missing; run as root" >&2
        exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing:$missing"
apt-get update -qq || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"
