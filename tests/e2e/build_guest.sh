#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the tiny guest for balloond's end-to-end tests into OUT_DIR (default build/e2e-guest):
#   vmlinuz     the Debian 12 kernel, from the linux-image package (apt-get download + dpkg -x,
#               nothing installed)
#   initrd.gz   busybox (static), the virtio and virtio_balloon modules, tests/e2e/workload.c
#               built with gcc -static, and an init script
# The guest's kernel command line drives it:
#   wl=ARG[:ARG...]   run the workload with these arguments (see workload.c)
#   wlrestart         start the workload again a second after it exits (an OOM kill), as a
#                     service manager would
#   wlreport          also run `workload report`: a bench-stat line every second
#   noballoon         do not load virtio_balloon: a balloon device without a driver
# A virtio disk, when the domain has one, is /dev/vda (for the benchmark's page-cache reader).
# Cached: reruns only rebuild what is older than its sources.
# Usage: tests/e2e/build_guest.sh [OUT_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../build/e2e-guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The kernel: whatever linux-image-amd64 points at on this Debian release.
if [ ! -f "$out/vmlinuz" ] || [ ! -d "$out/modules" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  if [ -z "$pkg" ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  fi
  [ -n "$pkg" ] || { echo "build_guest: cannot find the linux-image package" >&2; exit 1; }
  rm -rf "$out/kernel" && mkdir -p "$out/kernel"
  (cd "$out/kernel" && apt-get download "$pkg" >/dev/null)
  deb=$(ls "$out"/kernel/*.deb)
  dpkg -x "$deb" "$out/kernel/root"
  cp "$out"/kernel/root/boot/vmlinuz-* "$out/vmlinuz"
  rm -rf "$out/modules" && mkdir -p "$out/modules"
  for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_balloon virtio_blk; do
    f=$(find "$out/kernel/root/lib/modules" -name "$m.ko*" | head -n 1)
    [ -n "$f" ] || continue  # built into the kernel
    case "$f" in
      *.xz) xz -dc "$f" >"$out/modules/$m.ko" ;;
      *) cp "$f" "$out/modules/$m.ko" ;;
    esac
  done
  rm -rf "$out/kernel"
fi

if [ ! -x "$out/workload" ] || [ "$here/workload.c" -nt "$out/workload" ]; then
  gcc -static -O2 -Wall -o "$out/workload" "$here/workload.c"
fi

if [ ! -f "$out/initrd.gz" ] || [ "$here/build_guest.sh" -nt "$out/initrd.gz" ] ||
   [ "$out/workload" -nt "$out/initrd.gz" ]; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,dev,proc,sys,lib/modules,tmp}
  cp /bin/busybox "$root/bin/busybox"
  cp "$out"/modules/*.ko "$root/lib/modules/"
  cp "$out/workload" "$root/bin/workload"
  cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
wl=""
balloon=1
restart=0
report=0
for x in $(cat /proc/cmdline); do
  case "$x" in
    wl=*) wl="${x#wl=}" ;;
    wlrestart) restart=1 ;;
    wlreport) report=1 ;;
    noballoon) balloon=0 ;;
  esac
done
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci; do
  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko
done
if [ "$balloon" = 1 ]; then
  insmod /lib/modules/virtio_balloon.ko && echo "guest-balloon-driver loaded"
else
  echo "guest-balloon-driver not-loaded"
fi
[ -f /lib/modules/virtio_blk.ko ] && insmod /lib/modules/virtio_blk.ko
echo "guest-ready mem_kib=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
[ "$report" = 1 ] && /bin/workload report &
if [ -n "$wl" ] && [ "$restart" = 1 ]; then
  (while true; do
    /bin/workload $(echo "$wl" | tr ':' ' ')
    echo "workload-exited status=$?"
    sleep 1
  done) &
elif [ -n "$wl" ]; then
  /bin/workload $(echo "$wl" | tr ':' ' ') &
fi
while true; do sleep 3600; done
INIT
  chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd.gz.tmp"
  mv "$out/initrd.gz.tmp" "$out/initrd.gz"
fi
echo "$out"
