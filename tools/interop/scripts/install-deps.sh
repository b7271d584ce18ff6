#!/usr/bin/env bash
# Debian packages the interop harness needs (run as root; CI's .ci/run calls it):
#   qemu-system-x86   QEMU (TCG works everywhere; KVM where usable)
#   linux-image-amd64 the kernel the guest boots, with the NVMe/TCP host and target modules
#   busybox-static    the guest's userland
#   nvme-cli, fio     the guest's NVMe tools (copied into the initramfs with their libraries)
#   cpio, kmod        the initramfs builder (cpio archive, modprobe --show-depends, depmod)
#   util-linux        setpriv --pdeathsig, so QEMU dies with the Node process that started it
#   bash              for guest scripts starting with #!/bin/bash
#   xz-utils          unpacks vmlinux from the bzImage for PVH boot (5 s faster under TCG)
# and then, through build-qemu.sh, a QEMU >= 10.1 with vfio-user-pci built from Debian sid's source.
set -euo pipefail
pkgs=(qemu-system-x86 linux-image-amd64 busybox-static nvme-cli fio cpio kmod util-linux bash xz-utils)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The guest boots /boot/vmlinuz-*; Debian installs it readable by root only.
ls /boot/vmlinuz-* >/dev/null 2>&1 || { echo "install-deps: no /boot/vmlinuz-* after installing linux-image-amd64" >&2; exit 1; }
echo "interop dependencies present: ${pkgs[*]}"

# A QEMU >= 10.1 with the vfio-user client for the vfio-user interop tests (Debian 12's 7.2 has
# none): built once from Debian's sid source package into /var/cache/nvmu (outside the clone)
# and reused from there; see build-qemu.sh. NVMU_QEMU_BUILD=0 skips it (those tests then fail).
if [ "${NVMU_QEMU_BUILD:-1}" != 0 ]; then
  qemu="$(bash "$(dirname "$0")/build-qemu.sh")" || { echo "install-deps: could not get a QEMU with vfio-user-pci (see build-qemu.sh's output above)" >&2; exit 1; }
  echo "vfio-user QEMU: $qemu"
fi
