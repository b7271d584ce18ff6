/**
 * The shell text that goes into the initramfs: the builder (runs on the host, bash) and the
 * guest's /init (busybox ash). Both are hashed into the image cache key, so editing either
 * rebuilds the image.
 */

/**
 * Builds the base initramfs on the host from the machine's Debian packages.
 *
 * Environment: NVMU_ROOT (staging directory; /init and /etc/nvmu/* already written there),
 * NVMU_KVER (kernel version, names /lib/modules/$NVMU_KVER), NVMU_MODULES (modules to include,
 * with their dependencies), NVMU_BINARIES (programs to include, with their shared libraries),
 * NVMU_OUT (archive to write), NVMU_COMPRESS (`gzip` or `none`).
 */
export const BUILDER_SCRIPT = String.raw`#!/usr/bin/env bash
set -euo pipefail
root="$NVMU_ROOT"; kver="$NVMU_KVER"
for tool in cpio depmod modprobe ldd; do
  command -v "$tool" >/dev/null || { echo "initramfs: '$tool' not found (run tools/interop/scripts/install-deps.sh)" >&2; exit 2; }
done
[ -x /bin/busybox ] || { echo "initramfs: /bin/busybox not found (install busybox-static)" >&2; exit 2; }
[ -d "/lib/modules/$kver" ] || { echo "initramfs: /lib/modules/$kver not found (install linux-image-amd64)" >&2; exit 2; }

# Merged /usr layout, as on Debian 12 itself: /bin, /sbin, /lib, /lib64 point into /usr.
mkdir -p "$root"/usr/bin "$root"/usr/sbin "$root"/usr/lib "$root"/usr/lib64
for d in bin sbin lib lib64; do ln -sfn "usr/$d" "$root/$d"; done
mkdir -p "$root"/proc "$root"/sys "$root"/dev "$root"/tmp "$root"/run "$root"/mnt "$root"/root \
  "$root"/etc/nvme "$root"/var/run "$root"/nvmu

copy_file() { # copy_file <host path>: same path inside the image, following symlinks
  local src="$1" dst="$root$1"
  [ -e "$dst" ] && return 0
  mkdir -p "$(dirname "$dst")"
  cp -L "$src" "$dst"
}

# Programs and every shared library ldd names (including the dynamic loader).
for b in $NVMU_BINARIES; do
  p="$(command -v "$b" || true)"
  [ -n "$p" ] || { echo "initramfs: program '$b' not found (run tools/interop/scripts/install-deps.sh)" >&2; exit 2; }
  p="$(readlink -f "$p")"
  copy_file "$p"
  ldd "$p" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | while read -r lib; do
    copy_file "$lib"
  done
done

# busybox applets for everything not provided by a real program above.
cp /bin/busybox "$root/usr/bin/busybox"
for a in $(/bin/busybox --list-full); do
  [ -e "$root/$a" ] || [ -L "$root/$a" ] || ln -s /usr/bin/busybox "$root/$a"
done

# Kernel modules with their dependencies (modprobe --show-depends resolves modules.dep), then
# a fresh modules.dep for the image so busybox modprobe works in the guest.
for m in $NVMU_MODULES; do
  modprobe -S "$kver" --show-depends "$m" || { echo "initramfs: module '$m' not found for $kver" >&2; exit 2; }
done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r ko; do
  dst="$root$ko"
  mkdir -p "$(dirname "$dst")"
  # Compressed modules are stored plain: busybox insmod may lack the decompressor.
  plain="$(printf '%s' "$dst" | sed -e 's/\.ko\.[a-z]*$/.ko/')"
  case "$ko" in
    *.ko.xz) xz -dc "$ko" > "$plain" ;;
    *.ko.zst) zstd -qdc "$ko" > "$plain" ;;
    *.ko.gz) gzip -dc "$ko" > "$plain" ;;
    *) cp "$ko" "$dst" ;;
  esac
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
  [ -e "/lib/modules/$kver/$f" ] && cp "/lib/modules/$kver/$f" "$root/lib/modules/$kver/"
done
depmod -b "$root" "$kver"

chmod 0755 "$root/init"
cd "$root"
case "$NVMU_COMPRESS" in
  gzip) find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0 | gzip -1 > "$NVMU_OUT" ;;
  none) find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0 > "$NVMU_OUT" ;;
  *) echo "initramfs: unknown compression '$NVMU_COMPRESS'" >&2; exit 2 ;;
esac
`;

/** Markers the guest prints around the script's output on its script channel (ttyS1). */
export const START_MARKER = 'NVMU-GUEST-START';
export const EXIT_MARKER = 'NVMU-GUEST-EXIT';

/**
 * The guest's /init (busybox ash). The kernel console is ttyS0; the script's own channel is
 * ttyS1 (QEMU's stdio), so kernel messages never interleave with the script's output.
 * Per-run files come from the appended archive: /nvmu/env (exported variables, including
 * NVMU_NONCE, NVMU_HOSTNQN, NVMU_HOSTID) and /nvmu/script.
 */
export const INIT_SCRIPT = String.raw`#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
log() { echo "nvmu-init: $*"; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
log "mounted proc sys dev tmp; uptime $(cut -d' ' -f1 /proc/uptime)s"

modprobe configfs && mount -t configfs configfs /sys/kernel/config
for m in $(cat /etc/nvmu/autoload); do
  modprobe "$m" || log "modprobe $m failed"
done
[ -r /nvmu/env ] && . /nvmu/env
for m in $NVMU_EXTRA_MODULES; do
  modprobe "$m" || log "modprobe $m failed"
done
log "modules loaded; uptime $(cut -d' ' -f1 /proc/uptime)s"

hostname nvmu-guest
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2 \
  || log "eth0 setup failed"
# Wait (up to 3 s) for the link, so the script can use the network at once.
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do
  [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" = 1 ] && break
  sleep 0.1
done
echo "nameserver 10.0.2.3" > /etc/resolv.conf

# A host NQN and ID of this boot (libnvme reads these files), so that two guests never look
# like one host to a target that checks hosts.
[ -n "$NVMU_HOSTNQN" ] && echo "$NVMU_HOSTNQN" > /etc/nvme/hostnqn
[ -n "$NVMU_HOSTID" ] && echo "$NVMU_HOSTID" > /etc/nvme/hostid

out=/dev/ttyS1
# Held open from here on: a tty that nobody has open discards the input it receives, and the
# host may send lines as soon as it sees the start marker.
exec 3<>"$out"
stty -F "$out" raw -echo 2>/dev/null
log "running the guest script; uptime $(cut -d' ' -f1 /proc/uptime)s"
echo "${START_MARKER} $NVMU_NONCE" > "$out"
cd /root
if head -c 2 /nvmu/script | grep -q '^#!'; then
  chmod 0755 /nvmu/script
  /nvmu/script < "$out" > "$out" 2>&1 3>&-
else
  /bin/sh /nvmu/script < "$out" > "$out" 2>&1 3>&-
fi
rc=$?
echo "${EXIT_MARKER} $NVMU_NONCE $rc" > "$out"
log "guest script exited with status $rc; uptime $(cut -d' ' -f1 /proc/uptime)s"
sync
poweroff -f
sleep 5
echo o > /proc/sysrq-trigger
`;
