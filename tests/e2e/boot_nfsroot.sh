#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: boot a built image the way a CM5 does, but in QEMU (virt, cortex-a72, TCG): the image's
# own kernel and initramfs, the kernel command line `uhs-image build` wrote for a node, the
# root read-only over NFSv3 from nfs-ganesha, a tmpfs overlay on top, per-node state on tmpfs
# (or, with UHS_E2E_STATE=iscsi, on an iSCSI LUN that tgtd, a userspace target, serves).
# Passes when systemd reaches multi-user.target, containerd is active and `kubelet --version`
# runs (read from the serial console, where a marker unit this test adds reports).
#
# Everything runs in a network and mount namespace this test creates: rpcbind and ganesha
# listen on that namespace's loopback, which QEMU's user network reaches as 10.0.2.2.
# Usage: boot_nfsroot.sh UHS_IMAGE SOURCE_DIR WORK_DIR     (exit 125 = skipped)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work_parent=${3:-${TMPDIR:-/tmp}}

uhs_need_root "network/mount namespace, ganesha exporting a root tree"
e2e_need_tools qemu-system-aarch64 ganesha.nfsd rpcbind rpcinfo unshare tar timeout
state=${UHS_E2E_STATE:-tmpfs}
case $state in
tmpfs) ;;
iscsi) e2e_need_tools tgtd tgtadm truncate ;;
*) e2e_fail "UHS_E2E_STATE=$state is not tmpfs or iscsi" ;;
esac
[ -e /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so ] || ls /usr/lib/*/ganesha/libfsalvfs.so >/dev/null 2>&1 ||
  uhs_needs "ganesha's VFS backend is not installed (apt-get install nfs-ganesha-vfs)"
e2e_image
e2e_node_dir
[ -f "$E2E_IMAGE/rootfs.tar" ] || e2e_fail "$E2E_IMAGE/rootfs.tar does not exist"

mkdir -p "$work_parent"
work=$(mktemp -d "$work_parent/boot-nfsroot.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# The node's command line as build wrote it, adapted to QEMU's virt machine only where the
# hardware differs: the PL011 console, DHCP from QEMU's user network, the NFS server at
# 10.0.2.2, and tmpfs state, or for iscsi the target at 10.0.2.2 and LUN 1 (tgt keeps LUN 0
# for its controller). Everything else stays as written.
cmdline=$(tr -d '\n' <"$E2E_NODE_DIR/cmdline.txt")
nfsroot=$(printf '%s\n' $cmdline | sed -n 's/^nfsroot=//p')
[ -n "$nfsroot" ] || e2e_fail "$E2E_NODE_DIR/cmdline.txt has no nfsroot="
export_path=${nfsroot#*:}
export_path=${export_path%%,*}
E2E_HOSTNAME=$(printf '%s\n' $cmdline | sed -n 's/^systemd.hostname=//p')
iscsi_target=$(printf '%s\n' $cmdline | sed -n 's/^uhs.iscsi.target=//p')
iscsi_initiator=$(printf '%s\n' $cmdline | sed -n 's/^uhs.iscsi.initiator=//p')
# A tmpfs image's cmdline has no iSCSI names: the same shape bootcfg gives them.
iscsi_target=${iscsi_target:-iqn.2005-10.org.freenas.ctl:uhs-e2e-${E2E_HOSTNAME:-node}}
iscsi_initiator=${iscsi_initiator:-iqn.2025-01.arpa.home.e2e:uhs-e2e-${E2E_HOSTNAME:-node}}
qemu_cmdline=
for word in $cmdline; do
  case $word in
  console=*) continue ;;
  ip=*) word=ip=dhcp ;;
  nfsroot=*) word=nfsroot=10.0.2.2:${nfsroot#*:} ;;
  uhs.state=*) word=uhs.state=$state ;;
  uhs.iscsi.*) continue ;;
  esac
  qemu_cmdline+="$word "
done
if [ "$state" = iscsi ]; then
  qemu_cmdline+="uhs.iscsi.portal=10.0.2.2:3260 uhs.iscsi.target=$iscsi_target "
  qemu_cmdline+="uhs.iscsi.initiator=$iscsi_initiator uhs.iscsi.lun=1 "
fi
qemu_cmdline+="console=ttyAMA0"
echo "cmdline: $qemu_cmdline"

echo "unpacking rootfs.tar into the export"
root=$work/export
mkdir -p "$root"
tar -C "$root" --numeric-owner -xpf "$E2E_IMAGE/rootfs.tar"
e2e_install_marker "$root"

# The kernel and initramfs: the ones config.txt names in boot/, else the root's /boot.
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
[ -f "$kernel" ] || e2e_fail "no kernel in $E2E_IMAGE/boot or the root's /boot"
[ -f "$initrd" ] || e2e_fail "no initramfs in $E2E_IMAGE/boot or the root's /boot"
e2e_need_arm64_image "$kernel"
echo "kernel: $kernel ($(stat -c %s "$kernel") bytes)"
echo "initramfs: $initrd ($(stat -c %s "$initrd") bytes)"
# Without overlays/nfsroot's script in it the node would boot a bare read-only root: say why
# now instead of after a long boot.
members=$(e2e_initramfs_list "$initrd")
if [ -n "$members" ] && ! grep -q 'scripts/nfs-bottom/uhs-overlayroot$' <<<"$members"; then
  e2e_fail "the initramfs has no scripts/nfs-bottom/uhs-overlayroot: it was generated before overlays/nfsroot was laid into the root (run update-initramfs after the overlays)"
fi

cat >"$work/ganesha.conf" <<CONF
NFS_CORE_PARAM {
  Protocols = 3;
  NFS_Port = 2049;
  MNT_Port = 20048;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  # Without it a v3 mount of the pseudo path is refused (MNT3ERR_ACCES).
  Mount_Path_Pseudo = true;
  # No Bind_addr: ganesha resolves it with AI_ADDRCONFIG, which finds nothing in a namespace
  # that has only loopback. That namespace is this test's own, so binding all of it is its lo.
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

log=$work/serial.log
cat >"$work/inner.sh" <<'INNER'
set -euo pipefail
. "$E2E_LIB"
ip link set lo up
# A private /run: rpcbind's socket and ganesha's files never meet the host's.
mount -t tmpfs -o mode=0755 e2e-run /run
mkdir -p /run/rpcbind /var/lib/nfs/ganesha
rpcbind -f -w &
rpcbind_pid=$!
ganesha.nfsd -F -L "$E2E_WORK/ganesha.log" -f "$E2E_WORK/ganesha.conf" -p "$E2E_WORK/ganesha.pid" -N NIV_EVENT &
ganesha_pid=$!
daemons=()
# Bounded: tgtd, for one, ignores SIGTERM while it has targets, so SIGKILL after 5 s.
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
daemons+=("$rpcbind_pid" "$ganesha_pid")
ready=no
for _ in $(seq 1 100); do
  if rpcinfo -p 127.0.0.1 2>/dev/null | grep -q ' mountd$'; then ready=yes; break; fi
  sleep 0.1
done
[ "$ready" = yes ] || { echo "ganesha did not register mountd within 10 s:"; tail -n 20 "$E2E_WORK/ganesha.log"; exit 1; }
if [ "$E2E_STATE" = iscsi ]; then
  # The node's state LUN: a sparse file behind tgtd on this namespace's loopback, admitting
  # only the node's own initiator name (as the TrueNAS target's initiator group does).
  truncate -s 2G "$E2E_WORK/state.img"
  if [ "$E2E_LUN_PREFORMAT" = yes ]; then
    mke2fs -q -F -t ext4 -L uhs-state "$E2E_WORK/state.img"
    echo "the image has no mkfs.ext4: the LUN is formatted here, so a node's first-use formatting is not tested"
  fi
  tgtd -f --iscsi portal=127.0.0.1:3260 >"$E2E_WORK/tgtd.log" 2>&1 &
  daemons+=($!)
  for _ in $(seq 1 50); do tgtadm --lld iscsi --op show --mode target >/dev/null 2>&1 && break; sleep 0.1; done
  tgtadm --lld iscsi --op new --mode target --tid 1 -T "$E2E_ISCSI_TARGET"
  tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$E2E_WORK/state.img"
  tgtadm --lld iscsi --op bind --mode target --tid 1 --initiator-name "$E2E_ISCSI_INITIATOR"
  echo "tgtd serves $E2E_ISCSI_TARGET LUN 1 to $E2E_ISCSI_INITIATOR"
fi
echo "ganesha ready; booting QEMU (timeout ${UHS_E2E_TIMEOUT:-900} s)"
e2e_qemu "$E2E_LOG" "$E2E_KERNEL" "$E2E_INITRD" "$E2E_CMDLINE" \
  -netdev user,id=n0 -device virtio-net-pci,netdev=n0
echo "qemu exit $E2E_QEMU_RC after $E2E_QEMU_SECONDS s"
echo "$E2E_QEMU_SECONDS" >"$E2E_WORK/qemu-seconds"
INNER
lun_preformat=no
if [ "$state" = iscsi ] && [ ! -e "$root/usr/sbin/mkfs.ext4" ] && [ ! -e "$root/sbin/mkfs.ext4" ]; then
  lun_preformat=yes
fi
E2E_LUN_PREFORMAT=$lun_preformat E2E_STATE=$state E2E_ISCSI_TARGET=$iscsi_target E2E_ISCSI_INITIATOR=$iscsi_initiator \
  E2E_LIB=$here/lib.sh E2E_WORK=$work E2E_LOG=$log E2E_KERNEL=$kernel E2E_INITRD=$initrd \
  E2E_CMDLINE=$qemu_cmdline unshare --net --mount --propagation private --fork \
  bash "$work/inner.sh" || { e2e_keep_log "$log" boot-nfsroot "$work_parent"; e2e_fail "the NFS side or QEMU failed"; }

echo "serial console report:"
if ! e2e_check_report "$log" "nfsroot-$state"; then
  e2e_keep_log "$log" boot-nfsroot "$work_parent"
  e2e_fail "the booted node is not what a uhs node must be (see above)"
fi
multi_user=$(tr -d '\r' <"$log" | sed -n 's/.*UHS-E2E: multi-user reached at \([0-9.]*\) s uptime.*/\1/p' | head -n 1)
echo "PASS: multi-user.target at ${multi_user} s guest uptime; QEMU ran $(cat "$work/qemu-seconds") s wall"
