#!/bin/bash
# make-layout.sh DIR: an OCI image layout at DIR (ref "img"), one layer holding busybox-static with
# every applet linked, root and a "student" user (uid 1000), /tmp and /var/tmp sticky, /etc/motd;
# the image config runs /bin/sh in /root with PATH=/bin and COURSE=networks. Needs umoci, busybox.
set -euo pipefail
layout=${1:?usage: make-layout.sh DIR}
root=$(mktemp -d "${TMPDIR:-/tmp}/aula-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/home/student" "$root/proc" "$root/sys" \
        "$root/dev" "$root/var/tmp"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in $(busybox --list); do
        [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nstudent:x:1000:1000::/home/student:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nstudent:x:1000:\n' >"$root/etc/group"
echo "welcome to the lab" >"$root/etc/motd"
chmod 1777 "$root/tmp" "$root/var/tmp"
chown 1000:1000 "$root/home/student"
umoci init --layout "$layout" >/dev/null
umoci new --image "$layout:img" >/dev/null
umoci insert --image "$layout:img" "$root" / >/dev/null
umoci config --image "$layout:img" --config.cmd=/bin/sh --config.workingdir=/root \
        --config.env=PATH=/bin --config.env=COURSE=networks >/dev/null
