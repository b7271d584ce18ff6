#!/usr/bin/env bash
# Debian packages the interop harness needs: QEMU, a Linux kernel with the NVMe/TCP host and
# target modules, busybox for the initramfs, nvme-cli and fio for the guest.
set -euo pipefail
pkgs=(qemu-system-x86 linux-image-amd64 busybox-static nvme-cli fio cpio kmod)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
