# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared helpers of the QEMU boot tests (tests/e2e/*.sh). Sourced, not run.
#
# Inputs (environment):
#   UHS_E2E_IMAGE    the out dir of a `uhs-image build` (out/<image-id>/: rootfs.tar, boot/,
#                    nodes/, disk.img with --disk). Without it the tests skip (125).
#   UHS_E2E_NODE     which node's cmdline.txt/config.txt to boot (default: the first in nodes/)
#   UHS_E2E_TIMEOUT  seconds for one QEMU run (default 900; TCG on 2 shared cores)
#   UHS_E2E_LOG_DIR  where the serial log of a failed run is kept (default: the test's build dir)
#   UHS_E2E_SMP / UHS_E2E_MEM   QEMU -smp / -m (default 2 / 2048)

# shellcheck source=../lib/skip.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"

# A documented skip, in CI too: the test has no built image to boot (the README's test command
# builds none; tests/e2e/run_example.sh builds one and counts any skip as a failure).
e2e_skip() {
  uhs_skip "$@"
}

e2e_fail() {
  echo "FAIL: $*" >&2
  exit 1
}

e2e_need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || uhs_needs "$tool is not installed ($(e2e_package_of "$tool"))"
  done
}

e2e_package_of() {
  case $1 in
  qemu-system-aarch64) echo "apt-get install qemu-system-arm" ;;
  ganesha.nfsd) echo "apt-get install nfs-ganesha nfs-ganesha-vfs" ;;
  rpcbind | rpcinfo) echo "apt-get install rpcbind" ;;
  mcopy) echo "apt-get install mtools" ;;
  *) echo "see tests/e2e/README.md" ;;
  esac
}

# The image dir, checked; sets E2E_IMAGE.
e2e_image() {
  E2E_IMAGE=${UHS_E2E_IMAGE:-}
  [ -n "$E2E_IMAGE" ] || e2e_skip "no image: set UHS_E2E_IMAGE to the out dir of a 'uhs-image build' (see tests/e2e/README.md)"
  [ -d "$E2E_IMAGE" ] || e2e_fail "UHS_E2E_IMAGE=$E2E_IMAGE is not a directory"
  [ -d "$E2E_IMAGE/nodes" ] || e2e_fail "$E2E_IMAGE has no nodes/ (is it the out dir of 'uhs-image build'?)"
}

# The node dir to boot as; sets E2E_NODE_DIR.
e2e_node_dir() {
  local name=${UHS_E2E_NODE:-}
  if [ -z "$name" ]; then
    name=$(cd "$E2E_IMAGE/nodes" && LC_ALL=C ls | head -n 1)
  fi
  E2E_NODE_DIR=$E2E_IMAGE/nodes/$name
  [ -f "$E2E_NODE_DIR/cmdline.txt" ] || e2e_fail "$E2E_NODE_DIR/cmdline.txt does not exist"
}

# The value of `key=` in config.txt (first match), e.g. kernel / the initramfs line.
e2e_config_value() {
  sed -n "s/^$2[= ]\([^ ]*\).*/\1/p" "$1" | head -n 1
}

# Skips unless FILE is an arm64 Linux Image ("ARM\x64" at offset 56), gzip-compressed or not
# (boot/ holds BCM2712 kernels gzipped; QEMU's -kernel inflates them as the firmware does): a
# stand-in kernel (the generated test repository's) cannot boot, and that is no failure of the
# image.
e2e_need_arm64_image() {
  local magic
  if gzip -t "$1" 2>/dev/null; then
    magic=$({ gzip -dc "$1" 2>/dev/null || true; } | od -An -c -j 56 -N 4 | tr -d ' \n')
  else
    magic=$(od -An -c -j 56 -N 4 "$1" 2>/dev/null | tr -d ' \n')
  fi
  [ "$magic" = 'ARMd' ] ||
    e2e_skip "$1 is not a bootable arm64 kernel Image (built from a stand-in kernel package?)"
}

# Lists an initramfs's members with initramfs-tools' lsinitramfs (Debian's initramfs is an
# uncompressed cpio of modules followed by a compressed one); nothing when it is not installed.
e2e_initramfs_list() {
  command -v lsinitramfs >/dev/null 2>&1 || return 0
  lsinitramfs "$1" 2>/dev/null || true
}

# The marker unit the TEST adds to the booted root (never part of the product's overlays): at
# multi-user it prints what the test checks to the serial console, then powers off.
e2e_install_marker() {
  local root=$1
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants" "$root/usr/local/sbin"
  cat >"$root/usr/local/sbin/uhs-e2e-marker" <<'MARKER'
#!/bin/sh
# Added by tests/e2e (not part of the image): reports over the serial console, then powers off.
out=/dev/ttyAMA0
# A newline first: getty's login prompt may share the console line.
say() { printf '\nUHS-E2E: %s\n' "$*" >"$out"; }
say "multi-user reached at $(cut -d' ' -f1 /proc/uptime) s uptime"
i=0
while [ "$i" -lt 120 ] && ! systemctl is-active --quiet containerd; do
  i=$((i + 1))
  sleep 1
done
say "containerd $(systemctl is-active containerd)"
say "kubelet-version $(kubelet --version 2>&1 | head -n 1) rc=$?"
say "root $(findmnt -n -o FSTYPE,OPTIONS /)"
say "lower $(findmnt -n -o FSTYPE,OPTIONS /run/uhs/lower 2>/dev/null || echo none)"
say "lower-write $(touch /run/uhs/lower/uhs-e2e-probe 2>/dev/null && echo allowed || echo refused)"
say "root-write $(touch /uhs-e2e-probe 2>/dev/null && echo allowed || echo refused)"
say "state $(findmnt -n -o FSTYPE /var/lib/uhs/state 2>/dev/null || echo none)"
say "containerd-dir $(findmnt -n -o FSTYPE,SOURCE --target /var/lib/containerd)"
say "kubelet-dir $(findmnt -n -o FSTYPE,SOURCE --target /var/lib/kubelet)"
say "hostname $(cat /proc/sys/kernel/hostname)"
say "machine-id $(cat /etc/machine-id)"
say "ssh-hostkey $(ls /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null || echo none)"
say "timesyncd $(systemctl is-enabled systemd-timesyncd 2>&1)"
say "modules $(for m in overlay br_netfilter iscsi_tcp; do grep -q "^$m " /proc/modules && printf '%s ' "$m"; done)"
say "sysctl $(cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/bridge/bridge-nf-call-iptables 2>&1 | tr '\n' ' ')"
say "swap $(tail -n +2 /proc/swaps | wc -l)"
say "failed-units $(systemctl --failed --no-legend --plain | cut -d' ' -f1 | tr '\n' ' ')"
say "system $(systemctl is-system-running 2>&1)"
for unit in $(systemctl --failed --no-legend --plain | cut -d' ' -f1); do
  journalctl -b -u "$unit" -n 8 --no-pager 2>&1 | while IFS= read -r line; do say "journal $line"; done
done
say "done"
systemctl --no-block poweroff
MARKER
  chmod 755 "$root/usr/local/sbin/uhs-e2e-marker"
  cat >"$root/etc/systemd/system/uhs-e2e-marker.service" <<'UNIT'
# Added by tests/e2e (not part of the image).
[Unit]
Description=uhs e2e marker
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/uhs-e2e-marker

[Install]
WantedBy=multi-user.target
UNIT
  ln -sfn ../uhs-e2e-marker.service "$root/etc/systemd/system/multi-user.target.wants/uhs-e2e-marker.service"
}

# Runs QEMU (virt, cortex-a72, TCG) with a bounded timeout, serial console to $log.
# Usage: e2e_qemu LOG KERNEL INITRD CMDLINE [extra qemu args...]
e2e_qemu() {
  local log=$1 kernel=$2 initrd=$3 cmdline=$4
  shift 4
  local start end rc=0
  start=$(date +%s.%N)
  timeout --kill-after=10 "${UHS_E2E_TIMEOUT:-900}" qemu-system-aarch64 -M virt -cpu cortex-a72 \
    -smp "${UHS_E2E_SMP:-2}" -m "${UHS_E2E_MEM:-2048}" -nographic -no-reboot \
    -kernel "$kernel" -initrd "$initrd" -append "$cmdline" "$@" </dev/null >"$log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  E2E_QEMU_SECONDS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  E2E_QEMU_RC=$rc
}

# Reads the marker's report line for KEY from the log ("" when absent).
e2e_report() {
  tr -d '\r' <"$1" | sed -n "s/.*UHS-E2E: $2 //p" | head -n 1
}

# Checks the marker's report against what a uhs node must be; prints each check. Returns the
# number of failed checks. MODE: nfsroot-tmpfs, nfsroot-iscsi or disk.
e2e_check_report() {
  local log=$1 mode=$2 failed=0 value
  check() { # name, value, pattern (grep -E)
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then
      echo "  ok   $1: $2"
    else
      echo "  FAIL $1: '$2' does not match /$3/"
      failed=$((failed + 1))
    fi
  }
  grep -q 'UHS-E2E: done' "$log" || { echo "  FAIL the marker never finished (no 'UHS-E2E: done')"; failed=$((failed + 1)); }
  check "multi-user.target" "$(sed -n 's/.*UHS-E2E: \(multi-user reached\).*/\1/p' "$log" | head -n 1)" '^multi-user reached$'
  check "containerd" "$(e2e_report "$log" containerd)" '^active$'
  check "kubelet --version" "$(e2e_report "$log" kubelet-version)" '^Kubernetes v[0-9].* rc=0$'
  check "swap" "$(e2e_report "$log" swap)" '^0$'
  check "hostname" "$(e2e_report "$log" hostname)" "^${E2E_HOSTNAME:-.+}\$"
  check "machine-id" "$(e2e_report "$log" machine-id)" '^[0-9a-f]{32}$'
  check "ssh host key" "$(e2e_report "$log" ssh-hostkey)" '^/etc/ssh/ssh_host_ed25519_key.pub$'
  check "timesyncd enabled" "$(e2e_report "$log" timesyncd)" '^enabled$'
  check "modules" "$(e2e_report "$log" modules)" 'overlay br_netfilter'
  check "sysctls" "$(e2e_report "$log" sysctl)" '^1 1 ?$'
  if [ "${mode%%-*}" = nfsroot ]; then
    check "root is an overlay" "$(e2e_report "$log" root)" '^overlay '
    check "lower is NFSv3 read-only" "$(e2e_report "$log" lower)" '^nfs ro,.*vers=3'
    check "NFS root refuses writes" "$(e2e_report "$log" lower-write)" 'refused$'
    check "overlay root takes writes" "$(e2e_report "$log" root-write)" 'allowed$'
    local fs=tmpfs
    [ "$mode" = nfsroot-iscsi ] && fs=ext4
    check "per-node state on $fs" "$(e2e_report "$log" state)" "^$fs\$"
    check "/var/lib/containerd off NFS" "$(e2e_report "$log" containerd-dir)" "^$fs "
    check "/var/lib/kubelet off NFS" "$(e2e_report "$log" kubelet-dir)" "^$fs "
  else
    check "root is ext4" "$(e2e_report "$log" root)" '^ext4 rw'
  fi
  return "$failed"
}

# On failure: keep the serial log where the user can read it and show its end.
e2e_keep_log() {
  local log=$1 name=$2 dir=${UHS_E2E_LOG_DIR:-$3}
  mkdir -p "$dir"
  [ -f "$log" ] || { echo "no serial log (QEMU did not start)"; return 0; }
  cp "$log" "$dir/$name.log"
  echo "serial log kept: $dir/$name.log (last 40 lines below)"
  tail -n 40 "$log" | tr -d '\r'
}
