#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages balloond needs to build and test, when any is missing.
# Usage: scripts/deps.sh [EXTRA-PACKAGE...]   (runs apt-get as root, or through sudo)
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libboost-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libsystemd-dev libvirt-dev
  # End-to-end tests with real guests: libvirtd, QEMU, and what builds the guest image.
  libvirt-daemon-system libvirt-clients qemu-system-x86 dnsmasq-base
  busybox-static cpio xz-utils gzip libc6-dev procps util-linux
  prometheus curl  # the metrics tests: promtool check metrics, and a real scrape
  systemd python3  # the systemd tests: systemd-analyze verify, the sd_notify listener
  python3-matplotlib  # the real-guest benchmark's pictures (bench/guests/, its smoke test)
  man-db groff-base  # the man page test: man --warnings renders every page
  dpkg-dev lintian debootstrap  # the package: dpkg-shlibdeps; its checks; a clean root for it
  systemd-container  # systemd-nspawn: the packaged unit under a real systemd
  clang libclang-rt-14-dev  # the sanitizer build and the libFuzzer targets (tests/fuzz/)
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "deps: missing packages (${missing[*]}) and not root, no sudo" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
