#!/usr/bin/env bash
# Recipe of the local container hosts' base image: Debian 12 with systemd as PID 1.
# mlcops tags the image with a hash of this file, so editing it is what triggers a rebuild.
# Usage: base-image.sh TAG [MIRROR]
set -euo pipefail
tag=$1
mirror=${2:-http://deb.debian.org/debian}
suite=bookworm
root=$(mktemp -d /var/tmp/mlcops-rootfs.XXXXXX)
trap 'rm -rf --one-file-system "$root"' EXIT

debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,sudo,procps,iproute2,gnupg,pciutils,kmod,less \
  "$suite" "$root" "$mirror"

cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main contrib non-free non-free-firmware
deb $mirror $suite-updates main contrib non-free non-free-firmware
deb ${mirror%/debian}/debian-security $suite-security main contrib non-free non-free-firmware
SOURCES
# A container host behaves like a fresh cloud image: no package lists yet, no recommends.
cat >"$root/etc/apt/apt.conf.d/90mlcops-container" <<'APT'
APT::Install-Recommends "false";
Acquire::Retries "5";
APT
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
# Old enough that cache_valid_time triggers an update on the first run.
touch -d @0 "$root/var/lib/apt/lists"
# Units that make no sense in a container and only slow the boot.
for unit in systemd-remount-fs.service systemd-udevd.service systemd-udev-trigger.service \
  systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount \
  getty.target console-getty.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
: >"$root/etc/machine-id"

tar -C "$root" --numeric-owner --exclude=./proc --exclude=./sys --exclude=./dev -c . |
  docker import \
    -c 'CMD ["/sbin/init"]' \
    -c 'ENV container=docker' \
    -c "LABEL org.opencontainers.image.title=mlcops-debian12-systemd" \
    - "$tag" >/dev/null
