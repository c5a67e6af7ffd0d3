#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The uhs-state systemd generator (overlays/base) turns the kernel command line firmware/bootcfg
# writes, and the list of persisted paths the build renders into the image, into mount units:
# tmpfs state, iSCSI state, nothing, or a failing unit with the reason. Runs the real script on
# each command line and checks the units it writes; when the host has systemd-analyze, the units
# must also pass `systemd-analyze verify`'s parser. Then runs the seeding script
# (overlays/base/usr/lib/uhs/state-seed) on a fake root and volume: first boot seeds from the
# image, later boots leave the volume alone, the old layout moves once. Last, the etcd disk probe.
set -u
source_dir=$3
generator=$source_dir/overlays/base/etc/systemd/system-generators/uhs-state
seed=$source_dir/overlays/base/usr/lib/uhs/state-seed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# The list as uhs-image build renders it (builder/image/state_files.cpp; its format is checked by
# tests/unit/state_paths_test.cpp), with one storage.persist path.
cat >"$work/state-paths" <<'LIST'
# Written by uhs-image build (a test copy).
bind /etc/kubernetes 0755
bind /var/lib/etcd 0700
bind /var/lib/containerd 0711
bind /var/lib/kubelet 0700
host-keys /etc/ssh 0700
bind /var/lib/longhorn 0755
LIST
list=$work/state-paths
run() { # run NAME CMDLINE
  mkdir -p "$work/$1"
  UHS_STATE_LIST=$list UHS_STATE_CMDLINE=$2 sh "$generator" "$work/$1" || fail "$1: the generator exited $?"
}
has() { # has NAME FILE PATTERN
  grep -qE -- "$3" "$work/$1/$2" 2>/dev/null || fail "$1: $2 lacks /$3/"
}

run none "root=LABEL=rootfs rw"
[ -z "$(ls -A "$work/none")" ] || fail "none: no uhs.state must write nothing, wrote $(ls "$work/none")"

run tmpfs "root=/dev/nfs uhs.node=n1 uhs.state=tmpfs"
has tmpfs var-lib-uhs-state.mount '^What=tmpfs$'
has tmpfs var-lib-uhs-state.mount '^Type=tmpfs$'
has tmpfs var-lib-containerd.mount '^What=/var/lib/uhs/state/var/lib/containerd$'
has tmpfs var-lib-containerd.mount '^Options=bind$'
has tmpfs var-lib-containerd.mount '^Requires=uhs-state-seed.service$'
has tmpfs var-lib-kubelet.mount '^Where=/var/lib/kubelet$'
has tmpfs etc-kubernetes.mount '^What=/var/lib/uhs/state/etc/kubernetes$'
has tmpfs var-lib-etcd.mount '^Where=/var/lib/etcd$'
has tmpfs var-lib-longhorn.mount '^Where=/var/lib/longhorn$'
[ ! -e "$work/tmpfs/etc-ssh.mount" ] || fail "tmpfs: the host keys must be copied, /etc/ssh never bound"
for unit in var-lib-uhs-state.mount var-lib-containerd.mount var-lib-kubelet.mount etc-kubernetes.mount var-lib-etcd.mount var-lib-longhorn.mount; do
  [ -L "$work/tmpfs/local-fs.target.wants/$unit" ] || fail "tmpfs: $unit is not wanted by local-fs.target"
done

# An image without the list: the state fails with the reason, nothing is bound.
mkdir -p "$work/nolist"
UHS_STATE_LIST=$work/absent UHS_STATE_CMDLINE="uhs.state=tmpfs" sh "$generator" "$work/nolist" || fail "nolist: the generator exited $?"
has nolist uhs-state-invalid.service 'the image has no .*absent'
has nolist var-lib-uhs-state.mount '^Requires=uhs-state-invalid.service$'

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
has iscsi-incomplete var-lib-containerd.mount '^Requires=uhs-state-seed.service$'
has iscsi-incomplete var-lib-etcd.mount '^Requires=uhs-state-seed.service$'

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

# Seeding: a fake image root and an empty volume.
image=$work/image volume=$work/volume
mkdir -p "$image/etc/kubernetes/manifests" "$image/var/lib/containerd" "$volume"
echo from-image >"$image/etc/kubernetes/manifests/static.yaml"
chmod 0750 "$image/etc/kubernetes"
sh "$seed" "$list" "$volume" "$image" >"$work/seed1.txt" 2>&1 || fail "seed: first run exited $?: $(cat "$work/seed1.txt")"
[ "$(cat "$volume/etc/kubernetes/manifests/static.yaml" 2>/dev/null)" = from-image ] || fail "seed: /etc/kubernetes was not seeded from the image"
[ "$(stat -c %a "$volume/etc/kubernetes" 2>/dev/null)" = 750 ] || fail "seed: /etc/kubernetes lost the image's mode"
[ "$(stat -c %a "$volume/var/lib/etcd" 2>/dev/null)" = 700 ] || fail "seed: /var/lib/etcd (not in the image) is not 0700"
[ "$(stat -c %a "$volume/var/lib/containerd" 2>/dev/null)" = 755 ] || fail "seed: /var/lib/containerd is not the image's own (0755)"
[ "$(stat -c %a "$volume/etc/ssh" 2>/dev/null)" = 700 ] || fail "seed: the host-key directory is not 0700"
[ -d "$volume/var/lib/longhorn" ] || fail "seed: the storage.persist path was not made"
ls -A "$volume/etc" "$volume/var/lib" | grep -q '^\.uhs-seed-' && fail "seed: a temporary copy was left behind"
grep -q "seeded from the image for /etc/kubernetes" "$work/seed1.txt" || fail "seed: the journal line for /etc/kubernetes is missing"
# A later boot: the node's state wins over the image, nothing is copied again.
echo changed-on-node >"$volume/etc/kubernetes/manifests/static.yaml"
echo new-in-image >"$image/etc/kubernetes/manifests/other.yaml"
sh "$seed" "$list" "$volume" "$image" >"$work/seed2.txt" 2>&1 || fail "seed: second run exited $?"
[ "$(cat "$volume/etc/kubernetes/manifests/static.yaml")" = changed-on-node ] || fail "seed: a later boot overwrote the node's state"
[ ! -e "$volume/etc/kubernetes/manifests/other.yaml" ] || fail "seed: a later boot copied from the image again"
[ ! -s "$work/seed2.txt" ] || fail "seed: a later boot did something: $(cat "$work/seed2.txt")"
# The layout before the list moves once.
old=$work/old
mkdir -p "$old/containerd/io.containerd.content.v1.content" "$old/ssh"
touch "$old/ssh/ssh_host_ed25519_key"
sh "$seed" "$list" "$old" "$image" >"$work/seed3.txt" 2>&1 || fail "seed: migration run exited $?"
[ -d "$old/var/lib/containerd/io.containerd.content.v1.content" ] || fail "seed: old containerd/ did not move to var/lib/containerd"
[ -e "$old/etc/ssh/ssh_host_ed25519_key" ] || fail "seed: old ssh/ did not move to etc/ssh"
[ ! -e "$old/containerd" ] || fail "seed: old containerd/ is still there"
# A list that is not there: the unit fails (and with it every bind mount).
if sh "$seed" "$work/absent" "$volume" "$image" >/dev/null 2>&1; then fail "seed: no list must fail"; fi

# The etcd disk probe (overlays/kubelet): real fdatasync calls on this host's temp filesystem;
# the report has every key `uhs-image cluster up` reads, and the probe file is gone afterwards.
probe=$source_dir/overlays/kubelet/usr/lib/uhs/etcd-disk-probe
if command -v perl >/dev/null 2>&1; then
  mkdir -p "$work/probe"
  perl "$probe" "$work/probe" "$work/probe-report" 16 >"$work/probe.txt" 2>&1 || fail "probe: exited $?: $(cat "$work/probe.txt")"
  for key in path fstype block_bytes writes p50_ms p99_ms max_ms threshold_ms verdict; do
    grep -q "^$key=" "$work/probe-report" || fail "probe: the report has no $key="
  done
  grep -qx 'writes=16' "$work/probe-report" || fail "probe: not 16 writes: $(grep writes "$work/probe-report")"
  grep -qE '^verdict=(ok|slow)$' "$work/probe-report" || fail "probe: bad verdict"
  grep -q 'etcd disk probe on .*p99 [0-9.]* ms' "$work/probe.txt" || fail "probe: no journal line: $(cat "$work/probe.txt")"
  [ -z "$(ls -A "$work/probe")" ] || fail "probe: left $(ls -A "$work/probe") behind"
fi

if [ "$failures" -ne 0 ]; then
  echo "state_generator.sh: $failures failure(s)"
  exit 1
fi
echo "state_generator.sh: ok"
