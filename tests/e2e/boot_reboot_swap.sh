#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: per-node state survives a reboot and a module swap. Boots a built image as in
# boot_nfsroot.sh (QEMU virt, the image's kernel and initramfs, the root read-only over NFSv3
# from nfs-ganesha, per-node state on an iSCSI LUN from tgtd) three times on the same LUN:
#   1. write: a marker into every path of the image's /usr/lib/uhs/state-paths, and a small OCI
#      image (made here from Debian's busybox-static for arm64) imported and run with `ctr`;
#   2. reboot (same MAC): every marker, the SSH host key and the container image are still
#      there, the container runs again, and nothing persisted landed on the tmpfs root;
#   3. swap (same node name and LUN, another MAC: a new module in the slot): the same, with a
#      new machine-id (it follows the board) and the node's old host key.
# After the boots the LUN itself (an ext4 image) is read with debugfs: the markers are on it.
# Usage: boot_reboot_swap.sh UHS_IMAGE SOURCE_DIR WORK_DIR [reboot|swap]   (exit 125 = skipped)
# The last argument stops after the reboot (ctest "e2e: state-reboot") or runs all three boots
# (ctest "e2e: state-reboot-swap", the default).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work_parent=${3:-${TMPDIR:-/tmp}}
until=${4:-swap}
case $until in reboot | swap) ;; *) e2e_fail "the last argument is reboot or swap, not '$until'" ;; esac

[ "$(id -u)" -eq 0 ] || e2e_skip "needs root (network/mount namespace, ganesha exporting a root tree)"
e2e_need_tools qemu-system-aarch64 ganesha.nfsd rpcbind rpcinfo unshare tar timeout
e2e_need_tools tgtd tgtadm truncate debugfs apt-get dpkg-deb sha256sum jq
[ -e /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so ] || ls /usr/lib/*/ganesha/libfsalvfs.so >/dev/null 2>&1 ||
  e2e_skip "ganesha's VFS backend is not installed (apt-get install nfs-ganesha-vfs)"
e2e_image
e2e_node_dir
[ -f "$E2E_IMAGE/rootfs.tar" ] || e2e_fail "$E2E_IMAGE/rootfs.tar does not exist"

mkdir -p "$work_parent"
work=$(mktemp -d "$work_parent/boot-reboot-swap.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# The node's command line, adapted to QEMU as boot_nfsroot.sh does, with iSCSI state at
# 10.0.2.2:3260 LUN 1; uhs.e2e.phase= tells the test's marker what to do on this boot.
cmdline=$(tr -d '\n' <"$E2E_NODE_DIR/cmdline.txt")
nfsroot=$(printf '%s\n' $cmdline | sed -n 's/^nfsroot=//p')
[ -n "$nfsroot" ] || e2e_fail "$E2E_NODE_DIR/cmdline.txt has no nfsroot="
export_path=${nfsroot#*:}
export_path=${export_path%%,*}
E2E_HOSTNAME=$(printf '%s\n' $cmdline | sed -n 's/^systemd.hostname=//p')
iscsi_target=$(printf '%s\n' $cmdline | sed -n 's/^uhs.iscsi.target=//p')
iscsi_initiator=$(printf '%s\n' $cmdline | sed -n 's/^uhs.iscsi.initiator=//p')
iscsi_target=${iscsi_target:-iqn.2005-10.org.freenas.ctl:uhs-e2e-${E2E_HOSTNAME:-node}}
iscsi_initiator=${iscsi_initiator:-iqn.2025-01.arpa.home.e2e:uhs-e2e-${E2E_HOSTNAME:-node}}
base_cmdline=
for word in $cmdline; do
  case $word in
  console=*) continue ;;
  ip=*) word=ip=dhcp ;;
  nfsroot=*) word=nfsroot=10.0.2.2:${nfsroot#*:} ;;
  uhs.state=*) word=uhs.state=iscsi ;;
  uhs.iscsi.*) continue ;;
  esac
  base_cmdline+="$word "
done
base_cmdline+="uhs.iscsi.portal=10.0.2.2:3260 uhs.iscsi.target=$iscsi_target "
base_cmdline+="uhs.iscsi.initiator=$iscsi_initiator uhs.iscsi.lun=1 console=ttyAMA0"
echo "cmdline: $base_cmdline uhs.e2e.phase=..."

# The container image: Debian's busybox-static for arm64 as a one-layer OCI archive. The .deb
# comes through apt-get with a private state and cache (the host's own sources, arm64 indices
# only), kept in the user's cache so a second run does not download it again.
cache=${XDG_CACHE_HOME:-$HOME/.cache}/uhs/e2e
mkdir -p "$cache"
deb=$(ls "$cache"/busybox-static_*_arm64.deb 2>/dev/null | head -n 1 || true)
if [ -z "$deb" ]; then
  apt=$work/apt
  mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial"
  apt_opts=(-o APT::Architecture=arm64 -o APT::Architectures=arm64 -o Dir::State="$apt/state"
    -o Dir::Cache="$apt/cache" -o Dir::State::status=/dev/null -o Debug::NoLocking=1)
  apt-get "${apt_opts[@]}" -qq update >"$work/apt.log" 2>&1 ||
    e2e_fail "apt-get update (arm64 indices from this host's sources) failed: $(tail -n 3 "$work/apt.log")"
  (cd "$cache" && apt-get "${apt_opts[@]}" -qq download busybox-static) >>"$work/apt.log" 2>&1 ||
    e2e_fail "apt-get download busybox-static (arm64) failed: $(tail -n 3 "$work/apt.log")"
  deb=$(ls "$cache"/busybox-static_*_arm64.deb | head -n 1)
fi
echo "busybox: $(basename "$deb")"
oci=$work/oci
mkdir -p "$oci/blobs/sha256" "$work/busybox" "$work/layer/bin"
dpkg-deb -x "$deb" "$work/busybox"
busybox=
for candidate in "$work/busybox/bin/busybox" "$work/busybox/usr/bin/busybox"; do
  [ -f "$candidate" ] && [ ! -L "$candidate" ] && busybox=$candidate && break
done
[ -n "$busybox" ] || e2e_fail "$deb has no bin/busybox or usr/bin/busybox"
cp "$busybox" "$work/layer/bin/busybox"
ln -s busybox "$work/layer/bin/sh"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/layer" -cf "$work/layer.tar" bin
blob() { # FILE -> prints "sha256:HEX SIZE" and stores it under blobs/
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  cp "$1" "$oci/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}
read -r layer_digest layer_size < <(blob "$work/layer.tar")
jq -cn --arg diff "$layer_digest" \
  '{architecture: "arm64", os: "linux", config: {Cmd: ["/bin/sh"]}, rootfs: {type: "layers", diff_ids: [$diff]}}' \
  >"$work/config.json"
read -r config_digest config_size < <(blob "$work/config.json")
jq -cn --arg c "$config_digest" --argjson cs "$config_size" --arg l "$layer_digest" --argjson ls "$layer_size" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
    layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' \
  >"$work/manifest.json"
read -r manifest_digest manifest_size < <(blob "$work/manifest.json")
image_name=docker.io/library/uhs-e2e-busybox:1
jq -cn --arg m "$manifest_digest" --argjson ms "$manifest_size" --arg name "$image_name" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
      platform: {architecture: "arm64", os: "linux"},
      annotations: {"io.containerd.image.name": $name}}]}' \
  >"$oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"

echo "unpacking rootfs.tar into the export"
root=$work/export
mkdir -p "$root"
tar -C "$root" --numeric-owner -xpf "$E2E_IMAGE/rootfs.tar"
mkdir -p "$root/usr/local/share/uhs-e2e"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$oci" -cf "$root/usr/local/share/uhs-e2e/busybox-oci.tar" .
[ -f "$root/usr/lib/uhs/state-paths" ] || e2e_fail "the image has no /usr/lib/uhs/state-paths (built before the list of persisted paths?)"

# The test's marker (not part of the image): at multi-user, writes or checks the markers,
# reports over the serial console, powers off.
mkdir -p "$root/etc/systemd/system/multi-user.target.wants" "$root/usr/local/sbin"
cat >"$root/usr/local/sbin/uhs-e2e-persist" <<'MARKER'
#!/bin/sh
# Added by tests/e2e/boot_reboot_swap.sh (not part of the image).
out=/dev/ttyAMA0
say() { printf '\nUHS-E2E: %s\n' "$*" >"$out"; }
phase=$(sed -n 's/.*uhs\.e2e\.phase=\([a-z]*\).*/\1/p' /proc/cmdline)
list=/usr/lib/uhs/state-paths
say "multi-user reached at $(cut -d' ' -f1 /proc/uptime) s uptime"
i=0
while [ "$i" -lt 120 ] && ! systemctl is-active --quiet containerd; do i=$((i + 1)); sleep 1; done
say "phase $phase"
say "containerd $(systemctl is-active containerd)"
say "hostname $(cat /proc/sys/kernel/hostname)"
say "machine-id $(cat /etc/machine-id)"
say "mac $(cat /sys/class/net/e*/address 2>/dev/null | head -n 1)"
say "state $(findmnt -n -o FSTYPE /var/lib/uhs/state 2>/dev/null || echo none)"
say "persisted $(grep -v '^#' "$list" | while read -r k p m; do printf '%s:%s ' "$k" "$p"; done)"
grep -v '^#' "$list" | while read -r kind path mode; do
  [ "$kind" = bind ] || continue
  if [ "$phase" = write ]; then
    echo "uhs-e2e marker for $path" >"$path/.uhs-e2e-marker" && sync
  fi
  fs=$(findmnt -n -o FSTYPE --target "$path")
  bound=$(mountpoint -q "$path" && echo bound || echo not-bound)
  marker=$(cat "$path/.uhs-e2e-marker" 2>/dev/null || echo missing)
  # Nothing persisted may sit in the tmpfs layer of the root (the systemd-made mount point
  # itself may, empty).
  leaked=$(find "/run/uhs/rw/upper$path" -mindepth 1 2>/dev/null | head -n 1)
  say "path $path fs=$fs $bound marker=$( [ "$marker" = "uhs-e2e marker for $path" ] && echo ok || echo "$marker") tmpfs=${leaked:-clean}"
done
say "hostkey $(sha256sum /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null | cut -c1-32)"
if [ "$phase" = write ]; then
  ctr -n k8s.io images import /usr/local/share/uhs-e2e/busybox-oci.tar >/dev/null 2>&1 || say "import failed"
fi
say "images $(ctr -n k8s.io images ls -q 2>&1 | grep uhs-e2e | tr '\n' ' ')"
say "run $(ctr -n k8s.io run --rm docker.io/library/uhs-e2e-busybox:1 "e2e-$phase" /bin/busybox echo hello-from-busybox 2>&1 | tail -n 1)"
say "etcd-probe $(grep -h '^p99_ms=\|^verdict=' /run/uhs/etcd-disk-probe 2>/dev/null | tr '\n' ' ')"
journalctl -b -u uhs-etcd-disk-probe -o cat --no-pager 2>/dev/null | grep 'etcd disk probe' | while IFS= read -r line; do say "journal $line"; done
journalctl -b -u uhs-state-seed -o cat --no-pager 2>/dev/null | grep '^uhs:' | while IFS= read -r line; do say "seed $line"; done
say "failed-units $(systemctl --failed --no-legend --plain | cut -d' ' -f1 | tr '\n' ' ')"
for unit in $(systemctl --failed --no-legend --plain | cut -d' ' -f1); do
  journalctl -b -u "$unit" -n 8 --no-pager 2>&1 | while IFS= read -r line; do say "journal $line"; done
done
say "done"
systemctl --no-block poweroff
MARKER
chmod 755 "$root/usr/local/sbin/uhs-e2e-persist"
cat >"$root/etc/systemd/system/uhs-e2e-persist.service" <<'UNIT'
# Added by tests/e2e/boot_reboot_swap.sh (not part of the image).
[Unit]
Description=uhs e2e persistence marker
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/uhs-e2e-persist

[Install]
WantedBy=multi-user.target
UNIT
ln -sfn ../uhs-e2e-persist.service "$root/etc/systemd/system/multi-user.target.wants/uhs-e2e-persist.service"

kernel= initrd=
config=$E2E_NODE_DIR/config.txt
if [ -f "$config" ]; then
  k=$(e2e_config_value "$config" kernel)
  i=$(e2e_config_value "$config" initramfs)
  [ -n "$k" ] && [ -f "$E2E_IMAGE/boot/$k" ] && kernel=$E2E_IMAGE/boot/$k
  [ -n "$i" ] && [ -f "$E2E_IMAGE/boot/$i" ] && initrd=$E2E_IMAGE/boot/$i
fi
[ -n "$kernel" ] || kernel=$(LC_ALL=C ls "$root"/boot/vmlinuz-* 2>/dev/null | tail -n 1)
[ -n "$initrd" ] || initrd=$(LC_ALL=C ls "$root"/boot/initrd.img-* 2>/dev/null | tail -n 1)
[ -f "$kernel" ] && [ -f "$initrd" ] || e2e_fail "no kernel/initramfs in $E2E_IMAGE/boot or the root's /boot"
e2e_need_arm64_image "$kernel"

cat >"$work/ganesha.conf" <<CONF
NFS_CORE_PARAM {
  Protocols = 3;
  NFS_Port = 2049;
  MNT_Port = 20048;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Mount_Path_Pseudo = true;
}
NFS_KRB5 { Active_krb5 = false; }
EXPORT {
  Export_Id = 1;
  Path = $root;
  Pseudo = $export_path;
  Protocols = 3;
  Transports = TCP;
  Access_Type = RO;
  Squash = No_Root_Squash;
  SecType = sys;
  FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
CONF

# The NFS and iSCSI side stays up for all boots (one namespace); each boot is its own QEMU run
# with its own serial log. The LUN is a sparse file the node formats on its first boot.
cat >"$work/inner.sh" <<'INNER'
set -euo pipefail
. "$E2E_LIB"
ip link set lo up
mount -t tmpfs -o mode=0755 e2e-run /run
mkdir -p /run/rpcbind /var/lib/nfs/ganesha
daemons=()
stop() {
  local pid _
  kill "${daemons[@]}" 2>/dev/null || true
  for _ in $(seq 1 50); do
    for pid in "${daemons[@]}"; do kill -0 "$pid" 2>/dev/null && break; pid=; done
    [ -z "${pid:-}" ] && break
    sleep 0.1
  done
  kill -KILL "${daemons[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT
rpcbind -f -w &
daemons+=($!)
ganesha.nfsd -F -L "$E2E_WORK/ganesha.log" -f "$E2E_WORK/ganesha.conf" -p "$E2E_WORK/ganesha.pid" -N NIV_EVENT &
daemons+=($!)
ready=no
for _ in $(seq 1 100); do
  if rpcinfo -p 127.0.0.1 2>/dev/null | grep -q ' mountd$'; then ready=yes; break; fi
  sleep 0.1
done
[ "$ready" = yes ] || { echo "ganesha did not register mountd within 10 s"; exit 1; }
truncate -s 2G "$E2E_WORK/state.img"
tgtd -f --iscsi portal=127.0.0.1:3260 >"$E2E_WORK/tgtd.log" 2>&1 &
daemons+=($!)
for _ in $(seq 1 50); do tgtadm --lld iscsi --op show --mode target >/dev/null 2>&1 && break; sleep 0.1; done
tgtadm --lld iscsi --op new --mode target --tid 1 -T "$E2E_ISCSI_TARGET"
tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$E2E_WORK/state.img"
tgtadm --lld iscsi --op bind --mode target --tid 1 --initiator-name "$E2E_ISCSI_INITIATOR"
echo "tgtd serves $E2E_ISCSI_TARGET LUN 1 to $E2E_ISCSI_INITIATOR"
for boot in $E2E_BOOTS; do
  phase=${boot%%:*}
  mac=${boot#*:}
  name=${boot%%:*}
  [ "$mac" = 52:54:00:e2:e0:02 ] && name=swap
  echo "boot '$name' (uhs.e2e.phase=$phase, MAC $mac; timeout ${UHS_E2E_TIMEOUT:-900} s)"
  e2e_qemu "$E2E_WORK/$name.log" "$E2E_KERNEL" "$E2E_INITRD" "$E2E_CMDLINE uhs.e2e.phase=$phase" \
    -netdev user,id=n0 -device "virtio-net-pci,netdev=n0,mac=$mac"
  echo "  qemu exit $E2E_QEMU_RC after $E2E_QEMU_SECONDS s"
  # The LUN must be released before the next boot logs in again (tgtd ends the old session
  # when QEMU's connection closes).
  for _ in $(seq 1 50); do
    tgtadm --lld iscsi --op show --mode conn --tid 1 2>/dev/null | grep -q . || break
    sleep 0.2
  done
done
INNER
boots="write:52:54:00:e2:e0:01 check:52:54:00:e2:e0:01"
[ "$until" = swap ] && boots+=" check:52:54:00:e2:e0:02"
E2E_BOOTS=$boots E2E_ISCSI_TARGET=$iscsi_target E2E_ISCSI_INITIATOR=$iscsi_initiator \
  E2E_LIB=$here/lib.sh E2E_WORK=$work E2E_KERNEL=$kernel E2E_INITRD=$initrd \
  E2E_CMDLINE=$base_cmdline unshare --net --mount --propagation private --fork \
  bash "$work/inner.sh" || e2e_fail "the NFS/iSCSI side or QEMU failed"

# write.log is the first boot; check.log the reboot; swap.log the swapped module.
failed=0
check() { # NAME VALUE PATTERN
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then
    echo "  ok   $1: $2"
  else
    echo "  FAIL $1: '$2' does not match /$3/"
    failed=$((failed + 1))
  fi
}
paths=$(grep -v '^#' "$root/usr/lib/uhs/state-paths" | awk '$1 == "bind" { print $2 }')
for required in /etc/kubernetes /var/lib/etcd /var/lib/kubelet /var/lib/containerd /etc/cni/net.d /var/lib/cni; do
  grep -qx "$required" <<<"$paths" || { echo "  FAIL the image's list lacks $required"; failed=$((failed + 1)); }
done
logs="write check"
[ "$until" = swap ] && logs+=" swap"
for name in $logs; do
  log=$work/$name.log
  echo "boot '$name':"
  grep -q 'UHS-E2E: done' "$log" || { echo "  FAIL the marker never finished"; failed=$((failed + 1)); }
  check "containerd" "$(e2e_report "$log" containerd)" '^active$'
  check "hostname" "$(e2e_report "$log" hostname)" "^${E2E_HOSTNAME:-.+}\$"
  check "state" "$(e2e_report "$log" state)" '^ext4$'
  for path in $paths; do
    check "$path" "$(tr -d '\r' <"$log" | sed -n "s|.*UHS-E2E: path $path ||p" | head -n 1)" '^fs=ext4 bound marker=ok tmpfs=clean$'
  done
  check "hostkey" "$(e2e_report "$log" hostkey)" '^[0-9a-f]{32}$'
  check "container image" "$(e2e_report "$log" images)" "^$image_name ?\$"
  check "container runs" "$(e2e_report "$log" run)" '^hello-from-busybox$'
  check "etcd probe" "$(e2e_report "$log" etcd-probe)" '^p99_ms=[0-9.]+ verdict=(ok|slow) ?$'
  echo "  info $(e2e_report "$log" journal)"
done
same() { # WHAT KEY A B
  local a b
  a=$(e2e_report "$work/$3.log" "$2")
  b=$(e2e_report "$work/$4.log" "$2")
  if [ -n "$a" ] && [ "$a" = "$b" ]; then echo "  ok   $1 kept ($3 = $4)"; else echo "  FAIL $1 changed: $3 '$a', $4 '$b'"; failed=$((failed + 1)); fi
}
echo "across boots:"
same "SSH host key" hostkey write check
same "machine-id (same board)" machine-id write check
if [ "$until" = swap ]; then
  same "SSH host key (swapped module)" hostkey check swap
  a=$(e2e_report "$work/check.log" machine-id) b=$(e2e_report "$work/swap.log" machine-id)
  if [ "$a" != "$b" ]; then echo "  ok   the swapped module is another board (machine-id $a -> $b)"; else echo "  FAIL the swap booted the same board"; failed=$((failed + 1)); fi
fi
echo "the LUN (read with debugfs):"
for path in $paths; do
  got=$(debugfs -R "cat $path/.uhs-e2e-marker" "$work/state.img" 2>/dev/null || true)
  check "on the LUN: $path" "$got" "^uhs-e2e marker for $path\$"
done
if [ "$failed" -ne 0 ]; then
  for name in $logs; do e2e_keep_log "$work/$name.log" "state-$until-$name" "$work_parent"; done
  e2e_fail "$failed check(s) failed"
fi
survived="the reboot"
[ "$until" = swap ] && survived+=" and the module swap"
echo "PASS: every marker, the SSH host key and the container image survived $survived"
