# SPDX-License-Identifier: Apache-2.0
# Sourced by the package tests that need a clean Debian 12: make_root DIR unpacks a minimal
# bookworm root (debootstrap --variant=minbase, made once and cached as a tarball), in_root runs
# a command in it, root_apt_install installs packages or .debs there with apt-get. Needs root;
# skips (77) without debootstrap or the Debian mirror. The tarball and the .debs apt fetched are
# kept in $BALLOOND_TEST_CACHE (default /var/cache/balloond-tests): delete it to start over.
# Uses $work and fail from harness.sh.
cache=${BALLOOND_TEST_CACHE:-/var/cache/balloond-tests}

skip() { echo "SKIP: $*"; exit 77; }

make_root() {
  local dir=$1 base mirror
  [ "$(id -u)" -eq 0 ] || skip "needs root for debootstrap and chroot"
  command -v debootstrap >/dev/null ||
    skip "debootstrap is not installed (scripts/deps.sh installs it)"
  base="$cache/bookworm-minbase-$(dpkg --print-architecture).tar.gz"
  mkdir -p "$cache/archives"
  mirror=$(grep -hoE "https?://[^ ]+/debian/?( |$)" /etc/apt/sources.list.d/*.sources \
    /etc/apt/sources.list 2>/dev/null | head -n 1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  (
    flock 9
    if [ ! -s "$base" ]; then
      echo "debootstrap: making $base from $mirror (once)"
      rm -rf "$cache/root.new"
      debootstrap --variant=minbase bookworm "$cache/root.new" "$mirror" \
        >"$cache/debootstrap.log" 2>&1 ||
        { tail -20 "$cache/debootstrap.log"; rm -rf "$cache/root.new"; exit 3; }
      tar -C "$cache/root.new" -czf "$base.new" . && mv "$base.new" "$base"
      rm -rf "$cache/root.new"
    fi
  ) 9>"$cache/lock" || {
    [ $? -eq 3 ] && skip "debootstrap could not make a root from $mirror (no network?)"
    fail "could not make the base root"
  }
  root=$dir
  mkdir -p "$root"
  tar -C "$root" -xzf "$base"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  cp "$cache/archives/"*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true
  in_root apt-get update -qq >>"$work/apt.log" 2>&1 ||
    { cat "$work/apt.log"; skip "apt-get update in the root failed (no network?)"; }
}

in_root() {
  chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# Installs packages (names, or .deb paths inside the root) without recommends, and keeps what
# apt fetched for the next run.
root_apt_install() {
  if ! in_root apt-get install -y -qq --no-install-recommends "$@" >>"$work/apt.log" 2>&1; then
    tail -30 "$work/apt.log"
    fail "apt-get install $* in a clean bookworm root"
  fi
  cp -n "$root/var/cache/apt/archives/"*.deb "$cache/archives/" 2>/dev/null || true
}

# Builds the .deb from this build tree into $work/cpack and sets $deb to its path.
build_deb() {
  local build=$1
  cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/cpack" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log"; fail "cpack"; }
  deb=$(ls "$work/cpack"/balloond_*_amd64.deb)
}
