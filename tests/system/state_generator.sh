#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The uhs-state systemd generator (overlays/base) turns the kernel command line firmware/bootcfg
# writes into mount units: tmpfs state, iSCSI state, nothing, or a failing unit with the reason.
# Runs the real script on each command line and checks the units it writes; when the host has
# systemd-analyze, the units must also pass `systemd-analyze verify`'s parser.
set -u
source_dir=$3
generator=$source_dir/overlays/base/etc/systemd/system-generators/uhs-state
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
run() { # run NAME CMDLINE
  mkdir -p "$work/$1"
  UHS_STATE_CMDLINE=$2 sh "$generator" "$work/$1" || fail "$1: the generator exited $?"
}
has() { # has NAME FILE PATTERN
  grep -qE -- "$3" "$work/$1/$2" 2>/dev/null || fail "$1: $2 lacks /$3/"
}

run none "root=LABEL=rootfs rw"
[ -z "$(ls -A "$work/none")" ] || fail "none: no uhs.state must write nothing, wrote $(ls "$work/none")"

run tmpfs "root=/dev/nfs uhs.node=n1 uhs.state=tmpfs"
has tmpfs var-lib-uhs-state.mount '^What=tmpfs$'
has tmpfs var-lib-uhs-state.mount '^Type=tmpfs$'
has tmpfs var-lib-containerd.mount '^What=/var/lib/uhs/state/containerd$'
has tmpfs var-lib-containerd.mount '^Options=bind$'
has tmpfs var-lib-kubelet.mount '^Where=/var/lib/kubelet$'
for unit in var-lib-uhs-state.mount var-lib-containerd.mount var-lib-kubelet.mount; do
  [ -L "$work/tmpfs/local-fs.target.wants/$unit" ] || fail "tmpfs: $unit is not wanted by local-fs.target"
done

# iSCSI: needs the login script of overlays/iscsi-state; the generator looks for it at its
# installed path, so this case checks the error when it is absent and the units when present.
line="uhs.state=iscsi uhs.iscsi.portal=10.1.0.5:3260 uhs.iscsi.target=iqn.2005-10.org.freenas.ctl:uhs-test-n1 uhs.iscsi.initiator=iqn.2025-01.arpa.home.test:uhs-test-n1 uhs.iscsi.lun=0"
run iscsi "$line"
if [ -x /usr/lib/uhs/iscsi-login ]; then
  has iscsi uhs-iscsi-login.service '^ExecStart=/usr/lib/uhs/iscsi-login 10.1.0.5:3260 iqn.2005-10.org.freenas.ctl:uhs-test-n1 iqn.2025-01.arpa.home.test:uhs-test-n1 0$'
  has iscsi var-lib-uhs-state.mount '^What=/dev/disk/by-path/ip-10.1.0.5:3260-iscsi-iqn.2005-10.org.freenas.ctl:uhs-test-n1-lun-0$'
  has iscsi var-lib-containerd.mount '^Options=bind,_netdev$'
  device=$(systemd-escape --path --suffix=device /dev/disk/by-path/ip-10.1.0.5:3260-iscsi-iqn.2005-10.org.freenas.ctl:uhs-test-n1-lun-0)
  has iscsi "$device.d/uhs-state.conf" '^JobRunningTimeoutSec=10min$'
else
  has iscsi uhs-state-invalid.service 'no /usr/lib/uhs/iscsi-login'
  has iscsi var-lib-uhs-state.mount '^Requires=uhs-state-invalid.service$'
fi

run iscsi-incomplete "uhs.state=iscsi uhs.iscsi.portal=10.1.0.5"
has iscsi-incomplete uhs-state-invalid.service 'needs uhs.iscsi.portal=, uhs.iscsi.target= and uhs.iscsi.initiator='
has iscsi-incomplete var-lib-containerd.mount '^Requires=uhs-state-dirs.service$'

run typo "uhs.state=nfs"
has typo uhs-state-invalid.service 'uhs.state=nfs is not tmpfs or iscsi'

if command -v systemd-analyze >/dev/null 2>&1; then
  # Parse only (no boot): every generated unit must load without a syntax error.
  for dir in tmpfs iscsi typo; do
    for unit in "$work/$dir"/*.mount "$work/$dir"/*.service; do
      [ -e "$unit" ] || continue
      if systemd-analyze verify --man=no "$unit" 2>&1 | grep -E 'Unknown (key|section)|Invalid|Failed to parse|bad-setting' >"$work/verify.txt"; then
        fail "$dir: $(basename "$unit"): $(cat "$work/verify.txt")"
      fi
    done
  done
fi

if [ "$failures" -ne 0 ]; then
  echo "state_generator.sh: $failures failure(s)"
  exit 1
fi
echo "state_generator.sh: ok"
