# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2154  # uri, work and domains are the caller's
# Shared by the scripts that run real guests under libvirt (sourced after lib.sh): the end-to-end
# test and the benchmarks. The caller sets uri (qemu:///system) and work (a scratch dir), and
# calls libvirt_stop_started from its exit trap. Starts virtlogd and libvirtd only when they are
# not running, and stops only what it started.

started_libvirtd=0
started_virtlogd=0

virsh_() { timeout 30 virsh -q -c "$uri" "$@"; }
libvirtd_up() { timeout 5 virsh -q -c "$uri" version >/dev/null 2>&1; }

# When /dev/kvm is root-only (no udev here), libvirtd's QEMU capability cache never stays valid:
# QEMU is probed as root and sees KVM, the check runs as libvirt-qemu and does not, so every
# lookup re-probes QEMU (libvirtd takes a minute to answer, each guest start ~45 s). A libvirtd
# started here then gets, in a private mount namespace, a qemu.conf that runs QEMU as root, so
# both agree. Nothing outside that namespace changes; the guests use TCG anyway.
libvirt_qemu_conf=""
if [ -e /dev/kvm ] && ! runuser -u libvirt-qemu -- test -w /dev/kvm 2>/dev/null; then
  libvirt_qemu_conf=$work/qemu.conf
  { cat /etc/libvirt/qemu.conf; printf 'user = "root"\ngroup = "root"\n'; } >"$libvirt_qemu_conf"
fi

start_libvirtd() {
  if [ -n "$libvirt_qemu_conf" ]; then
    # Where mount namespaces are not allowed (some containers), the plain libvirtd still works,
    # only slowly.
    unshare -m --propagation private \
      sh -c "mount --bind '$libvirt_qemu_conf' /etc/libvirt/qemu.conf && exec libvirtd -d" ||
      libvirtd -d || return 1
  else
    libvirtd -d || return 1
  fi
  started_libvirtd=1
  wait_for "libvirtd to answer" 120 libvirtd_up
}

# Starts virtlogd and libvirtd unless libvirtd already answers.
libvirt_ensure() {
  libvirtd_up && return 0
  if ! pgrep -x virtlogd >/dev/null; then
    virtlogd -d && started_virtlogd=1
  fi
  start_libvirtd || return 1
  log "started virtlogd=$started_virtlogd libvirtd=1"
}

# Stops what libvirt_ensure started and waits (10 s at most) until it is gone, so that a script
# run right after finds no libvirtd half-way through its shutdown.
libvirt_stop_started() {
  local pid name
  for name in libvirtd virtlogd; do
    [ "$name" = libvirtd ] && [ "$started_libvirtd" != 1 ] && continue
    [ "$name" = virtlogd ] && [ "$started_virtlogd" != 1 ] && continue
    pid=$(cat "/run/$name.pid" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
}

# guest_xml NAME MIB DIR CMDLINE-EXTRA [STATS_PERIOD_S] [DISK]: a transient TCG guest booting
# DIR/vmlinuz and DIR/initrd.gz, with a virtio balloon device (stats at STATS_PERIOD_S when
# given, else off until balloond turns them on), its serial console in DIR/NAME.console, and
# DISK as a raw virtio disk when given.
guest_xml() {
  local stats="<memballoon model='virtio'/>" disk=""
  [ -n "${5:-}" ] && stats="<memballoon model='virtio'><stats period='$5'/></memballoon>"
  [ -n "${6:-}" ] && disk="<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$6'/><target dev='vda' bus='virtio'/></disk>"
  cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>$2</memory>
  <currentMemory unit='MiB'>$2</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$3/vmlinuz</kernel>
    <initrd>$3/initrd.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet $4</cmdline>
  </os>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='$3/$1.console'/><target port='0'/></serial>
    $disk
    $stats
  </devices>
</domain>
XML
}

# Every domain named in the array `domains` has had its balloon driver report (last_update set).
all_report() {
  local d
  for d in "${domains[@]}"; do
    virsh_ dommemstat "$d" 2>/dev/null | awk '$1 == "last_update" && $2 > 0 {ok = 1} END {exit !ok}' ||
      return 1
  done
}
