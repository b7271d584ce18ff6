#!/usr/bin/env bash
# Gets a QEMU >= 10.1 whose qemu-system-x86_64 has the vfio-user client (`vfio-user-pci`), for the
# vfio-user interop tests. Debian 12's QEMU (7.2) has none, so this builds one from Debian's
# `qemu` source package in sid (shared INTEROP.md, "Building QEMU with vfio-user-pci"):
#
#   1. Reuse: any <cache>/qemu-<version>/bin/qemu-system-x86_64 that runs and lists
#      vfio-user-pci in `-device help` is kept as is (nothing downloaded, nothing built).
#   2. Sources: a deb-src entry for sid on the machine's own Debian mirror (the URI of its
#      existing bookworm entry, read from /etc/apt/sources.list(.d)), kept in a private apt
#      state under <cache>/apt so the system's package lists are untouched; the versions sid
#      lists (>= 10.1) are tried newest first, and the first whose files download is used.
#   3. Build dependencies from bookworm, meson >= 1.5 from bookworm-backports (added as a
#      system source: NotAutomatic, so it upgrades nothing by itself).
#   4. configure for x86_64-softmmu only, `ninja qemu-system-x86_64` (~3 min on 2 idle cores),
#      installed as <cache>/qemu-<version>/bin/qemu-system-x86_64, checked, then renamed into
#      place: an interrupted build never looks like a cached one.
#
# Run as root (install-deps.sh calls it; CI's .ci/run runs that). Idempotent. Prints the binary's
# path last on stdout; exits non-zero, saying why, when it cannot produce a working binary.
#
# Options: --find (only step 1: print a cached binary, or exit 1), --mirror (print the Debian
# mirror URI and keyring step 2 would use, and exit).
# Environment: NVMU_QEMU_CACHE (default /var/cache/nvmu), NVMU_QEMU_MIN_VERSION (default 10.1),
# NVMU_QEMU_VERSIONS (Debian versions to try instead of sid's list, e.g. "1:10.2.2+ds-1"),
# NVMU_QEMU_JOBS (ninja -j, default: nproc), NVMU_APT_ETC (default /etc/apt: where the existing
# sources are read).
set -euo pipefail
mode="${1:-build}"
case "$mode" in build | --find | --mirror) ;; *) echo "usage: build-qemu.sh [--find | --mirror]" >&2; exit 2 ;; esac
apt_etc="${NVMU_APT_ETC:-/etc/apt}"

cache="${NVMU_QEMU_CACHE:-/var/cache/nvmu}"
min_version="${NVMU_QEMU_MIN_VERSION:-10.1}"
jobs="${NVMU_QEMU_JOBS:-$(nproc)}"
say() { echo "build-qemu: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
t_start=$SECONDS

# A binary is intact when it runs and offers the vfio-user client device.
qemu_ok() {
  local bin="$1"
  [ -x "$bin" ] || return 1
  "$bin" --version >/dev/null 2>&1 || return 1
  "$bin" -nodefaults -machine none -device help 2>/dev/null | grep -q '"vfio-user-pci"'
}

# 1. Reuse a cached build (newest version first).
if [ "$mode" != --mirror ] && [ -d "$cache" ]; then
  while read -r dir; do
    [ -n "$dir" ] || continue
    if qemu_ok "$dir/bin/qemu-system-x86_64"; then
      say "using cached $dir/bin/qemu-system-x86_64 ($("$dir/bin/qemu-system-x86_64" --version | head -n1))"
      echo "$dir/bin/qemu-system-x86_64"
      exit 0
    fi
    say "ignoring $dir: its qemu-system-x86_64 is missing, does not run or lacks vfio-user-pci"
  done < <(find "$cache" -maxdepth 1 -type d -name 'qemu-*' | sort -rV)
fi
[ "$mode" != --find ] || { say "no cached QEMU with vfio-user-pci in $cache"; exit 1; }


# 2. The machine's Debian mirror and keyring: the first deb entry for suite bookworm, in either
# sources format. Prints "URI KEYRING" (KEYRING may be empty).
debian_entry() {
  local f
  for f in "$apt_etc"/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # deb822: blank-line separated stanzas with Types / URIs / Suites / Signed-By fields.
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ / bookworm / && uris != "") { split(uris, u, " "); print u[1], signed; found = 1; exit }
        types = ""; uris = ""; suites = ""; signed = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "types:" { $1 = ""; types = $0 }
      tolower($1) == "uris:" { $1 = ""; uris = $0 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      tolower($1) == "signed-by:" { $1 = ""; signed = $0 }
      END { if (!found) flush() }
    ' "$f" | sed -e 's/^ *//' | head -n1
  done
  for f in "$apt_etc"/sources.list "$apt_etc"/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    # One-line: deb [options] URI SUITE COMPONENTS...
    awk '$1 == "deb" {
      i = 2; signed = ""
      if ($2 ~ /^\[/) { while (i <= NF) { if ($i ~ /^signed-by=/) { signed = $i; sub(/^signed-by=/, "", signed); sub(/\]$/, "", signed) } if ($i ~ /\]$/) { i++; break } i++ } }
      if ($(i + 1) == "bookworm") { print $i, signed; exit }
    }' "$f"
  done
}
read -r mirror keyring < <(debian_entry | head -n1) || true
[ -n "${mirror:-}" ] || die "no Debian bookworm entry in $apt_etc/sources.list or $apt_etc/sources.list.d/: cannot tell which mirror to use"
[ -n "${keyring:-}" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if [ "$mode" = --mirror ]; then echo "$mirror $keyring"; exit 0; fi
say "Debian mirror: $mirror (keyring $keyring)"

[ "$(id -u)" = 0 ] || die "no cached QEMU with vfio-user-pci in $cache, and building one needs root (apt-get)"
command -v apt-get >/dev/null || die "apt-get not found: this script builds from Debian's source package"
export DEBIAN_FRONTEND=noninteractive

# 3. Build dependencies. meson >= 1.5 only exists in bookworm-backports.
backports="$apt_etc/sources.list.d/nvmu-bookworm-backports.sources"
deps=(build-essential dpkg-dev pkg-config ninja-build flex bison python3-venv python3-tomli
  libglib2.0-dev libpixman-1-dev libslirp-dev libfdt-dev zlib1g-dev libaio-dev libcap-ng-dev
  libattr1-dev seabios qemu-system-data ipxe-qemu)
meson_ok() { command -v meson >/dev/null && dpkg --compare-versions "$(meson --version 2>/dev/null || echo 0)" ge 1.5; }
missing=()
for p in "${deps[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] || ! meson_ok; then
  if ! meson_ok && ! grep -rqs 'bookworm-backports' "$apt_etc"/sources.list "$apt_etc"/sources.list.d/; then
    say "adding $backports (for meson >= 1.5)"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' "$mirror" "$keyring" > "$backports"
  fi
  say "installing build dependencies: ${missing[*]} meson (bookworm-backports)"
  apt-get update -qq || die "apt-get update failed"
  [ ${#missing[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "could not install ${missing[*]}"
  meson_ok || apt-get install -y -qq --no-install-recommends -t bookworm-backports meson >/dev/null \
    || die "could not install meson from bookworm-backports"
fi
meson_ok || die "meson >= 1.5 is needed (have $(meson --version 2>/dev/null || echo none))"
say "build dependencies present (meson $(meson --version))"

# 4. sid's qemu source package, through a private apt state (lists and sources under the cache).
aptdir="$cache/apt"
mkdir -p "$aptdir/lists/partial" "$aptdir/etc/sources.list.d"
printf 'Types: deb-src\nURIs: %s\nSuites: sid\nComponents: main\nSigned-By: %s\n' "$mirror" "$keyring" \
  > "$aptdir/etc/sources.list.d/sid-src.sources"
apt_sid=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$aptdir/etc/sources.list.d"
  -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
if [ -n "${NVMU_QEMU_VERSIONS:-}" ]; then
  read -r -a versions <<< "$NVMU_QEMU_VERSIONS"
else
  say "reading sid's source index from $mirror"
  apt-get "${apt_sid[@]}" update -qq || die "apt-get update of sid's deb-src entry failed"
  mapfile -t versions < <(apt-cache "${apt_sid[@]}" showsrc qemu | awk '$1 == "Package:" { p = $2 } $1 == "Version:" && p == "qemu" { print $2 }' | sort -u)
  # Newest first (dpkg's ordering), only >= the minimum.
  sorted=()
  for v in "${versions[@]}"; do
    dpkg --compare-versions "$v" ge "1:$min_version~" || continue
    i=0
    while [ $i -lt ${#sorted[@]} ] && dpkg --compare-versions "${sorted[$i]}" gt "$v"; do i=$((i + 1)); done
    sorted=("${sorted[@]:0:$i}" "$v" "${sorted[@]:$i}")
  done
  versions=("${sorted[@]}")
fi
[ ${#versions[@]} -gt 0 ] || die "sid lists no qemu source >= $min_version"
say "sid's qemu versions >= $min_version, newest first: ${versions[*]}"

work="$cache/work"
rm -rf "$work"
mkdir -p "$work"
chosen=""
for v in "${versions[@]}"; do
  say "downloading qemu=$v"
  rm -rf "${work:?}"/*
  if (cd "$work" && apt-get "${apt_sid[@]}" source --download-only -qq "qemu=$v" >"$work/../apt-source.log" 2>&1); then
    chosen="$v"
    break
  fi
  say "qemu=$v did not download ($(grep -m1 '^E:' "$cache/apt-source.log" || tail -n1 "$cache/apt-source.log")); trying the next"
done
[ -n "$chosen" ] || die "none of sid's qemu versions (${versions[*]}) downloaded from $mirror"
upstream="${chosen#*:}"            # 1:10.2.2+ds-1 -> 10.2.2+ds-1
dest="$cache/qemu-$upstream"
dsc="$(ls "$work"/*.dsc | head -n1)"
say "unpacking $(basename "$dsc")"
(cd "$work" && dpkg-source --no-check -x "$dsc" src >/dev/null) || die "dpkg-source -x $dsc failed"

# 5. Configure and build only the x86_64 system emulator. The +ds tarball carries its meson
# subprojects (so --disable-download works) and no firmware (so --disable-install-blobs).
# --python: a pyenv Python first on PATH cannot see Debian's meson.
say "configuring ($(nproc) cores, ninja -j$jobs)"
t_conf=$SECONDS
mkdir -p "$work/src/build"
(cd "$work/src/build" && ../configure --prefix="$dest" --python=/usr/bin/python3 --target-list=x86_64-softmmu \
  --enable-slirp --enable-linux-aio --disable-docs --disable-werror --disable-download --disable-install-blobs \
  >"$work/configure.log" 2>&1) || { tail -n 30 "$work/configure.log" >&2; die "configure failed (log: $work/configure.log)"; }
say "configured in $((SECONDS - t_conf)) s; building qemu-system-x86_64"
t_build=$SECONDS
ninja -C "$work/src/build" -j "$jobs" qemu-system-x86_64 >"$work/build.log" 2>&1 \
  || { tail -n 30 "$work/build.log" >&2; die "ninja qemu-system-x86_64 failed (log: $work/build.log)"; }
say "built in $((SECONDS - t_build)) s"

staging="$cache/.qemu-$upstream.partial"
rm -rf "$staging"
mkdir -p "$staging/bin"
cp "$work/src/build/qemu-system-x86_64" "$staging/bin/"
strip "$staging/bin/qemu-system-x86_64" 2>/dev/null || true
printf 'debian-source-version: %s\nbuilt: %s\nmirror: %s\n' "$chosen" "$(date -u +%FT%TZ)" "$mirror" > "$staging/BUILD-INFO"
qemu_ok "$staging/bin/qemu-system-x86_64" || die "the built qemu-system-x86_64 does not run or lacks vfio-user-pci"
rm -rf "$dest"
mv "$staging" "$dest"
rm -rf "$work"
say "installed $dest/bin/qemu-system-x86_64 ($("$dest/bin/qemu-system-x86_64" --version | head -n1)); total $((SECONDS - t_start)) s"
echo "$dest/bin/qemu-system-x86_64"
