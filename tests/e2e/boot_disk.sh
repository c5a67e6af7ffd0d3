#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: boot a built image's disk artifact (disk.img from `uhs-image build --disk`) as a virtio
# disk in QEMU (virt, cortex-a72, TCG) with the image's own kernel and initramfs. Passes when
# systemd reaches multi-user.target, containerd is active and `kubelet --version` runs, read
# from the serial console where a marker unit this test writes into a COPY of the disk reports.
# Usage: boot_disk.sh UHS_IMAGE SOURCE_DIR WORK_DIR     (exit 125 = skipped)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work_parent=${3:-${TMPDIR:-/tmp}}

e2e_need_tools qemu-system-aarch64 sfdisk debugfs mtype timeout
e2e_image
[ -f "$E2E_IMAGE/disk.img" ] || e2e_skip "$E2E_IMAGE has no disk.img (build it with 'uhs-image build --disk')"

mkdir -p "$work_parent"
work=$(mktemp -d "$work_parent/boot-disk.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# A copy: the artifact is never written. Partitions from its MBR: 1 = FAT boot, 2 = ext4 root.
disk=$work/disk.img
cp --sparse=always "$E2E_IMAGE/disk.img" "$disk"
part() { # part N FIELD -> value in sectors
  sfdisk --dump "$disk" | sed -n "s|^$disk$1 *:.*$2= *\([0-9]*\).*|\1|p"
}
boot_start=$(part 1 start) root_start=$(part 2 start) root_size=$(part 2 size)
[ -n "$boot_start" ] && [ -n "$root_start" ] && [ -n "$root_size" ] ||
  e2e_fail "disk.img does not have the boot + root partitions (sfdisk --dump: $(sfdisk --dump "$disk" 2>&1 | tr '\n' ' '))"
fat="$disk@@$((boot_start * 512))"

# The marker goes into the root partition with debugfs (no loop devices, no root needed).
dd if="$disk" of="$work/root.img" bs=512 skip="$root_start" count="$root_size" status=none
mkdir -p "$work/marker"
e2e_install_marker "$work/marker"
debugfs -w "$work/root.img" -f - >"$work/debugfs.log" 2>&1 <<CMDS
mkdir /etc/systemd/system/multi-user.target.wants
write $work/marker/usr/local/sbin/uhs-e2e-marker /usr/local/sbin/uhs-e2e-marker
sif /usr/local/sbin/uhs-e2e-marker mode 0100755
write $work/marker/etc/systemd/system/uhs-e2e-marker.service /etc/systemd/system/uhs-e2e-marker.service
sif /etc/systemd/system/uhs-e2e-marker.service mode 0100644
symlink /etc/systemd/system/multi-user.target.wants/uhs-e2e-marker.service ../uhs-e2e-marker.service
CMDS
debugfs -R 'stat /usr/local/sbin/uhs-e2e-marker' "$work/root.img" 2>/dev/null | grep -q 'Mode:  0755' ||
  e2e_fail "could not write the marker into the root partition: $(cat "$work/debugfs.log")"
dd if="$work/root.img" of="$disk" bs=512 seek="$root_start" conv=notrunc status=none
rm -f "$work/root.img"

# The kernel and initramfs the boot partition holds, as config.txt names them.
MTOOLS_SKIP_CHECK=1 mtype -i "$fat" ::config.txt >"$work/config.txt" 2>/dev/null ||
  e2e_fail "the boot partition has no config.txt"
k=$(e2e_config_value "$work/config.txt" kernel)
i=$(e2e_config_value "$work/config.txt" initramfs)
[ -n "$k" ] && [ -n "$i" ] || e2e_fail "config.txt names no kernel= or initramfs"
MTOOLS_SKIP_CHECK=1 mcopy -n -i "$fat" "::$k" "$work/kernel" || e2e_fail "the boot partition has no $k"
MTOOLS_SKIP_CHECK=1 mcopy -n -i "$fat" "::$i" "$work/initrd" || e2e_fail "the boot partition has no $i"
e2e_need_arm64_image "$work/kernel"
echo "kernel: $k ($(stat -c %s "$work/kernel") bytes), initramfs: $i ($(stat -c %s "$work/initrd") bytes)"

# The disk's own cmdline.txt when it has one; a disk boots its own root, so an NFS root on it
# is replaced by the root partition's label (mke2fs -L rootfs in builder/image/disk_image.cpp).
cmdline=
if MTOOLS_SKIP_CHECK=1 mtype -i "$fat" ::cmdline.txt >"$work/cmdline.txt" 2>/dev/null; then
  cmdline=$(tr -d '\r\n' <"$work/cmdline.txt")
fi
qemu_cmdline= has_root=no
for word in $cmdline; do
  case $word in
  console=* | nfsroot=* | ip=* | uhs.state=* | uhs.iscsi.* | ro | rw) continue ;;
  root=/dev/nfs) continue ;;
  root=*) has_root=yes ;;
  systemd.hostname=*) E2E_HOSTNAME=${word#systemd.hostname=} ;;
  esac
  qemu_cmdline+="$word "
done
[ "$has_root" = yes ] || qemu_cmdline+="root=LABEL=rootfs "
qemu_cmdline+="rw rootwait console=ttyAMA0"
echo "cmdline: $qemu_cmdline"

log=$work/serial.log
echo "booting QEMU (timeout ${UHS_E2E_TIMEOUT:-900} s)"
e2e_qemu "$log" "$work/kernel" "$work/initrd" "$qemu_cmdline" \
  -drive "file=$disk,format=raw,if=none,id=d0" -device virtio-blk-pci,drive=d0 \
  -netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0
echo "qemu exit $E2E_QEMU_RC after $E2E_QEMU_SECONDS s"
echo "serial console report:"
if ! e2e_check_report "$log" disk; then
  e2e_keep_log "$log" boot-disk "$work_parent"
  e2e_fail "the booted disk is not what a uhs node must be (see above)"
fi
multi_user=$(tr -d '\r' <"$log" | sed -n 's/.*UHS-E2E: multi-user reached at \([0-9.]*\) s uptime.*/\1/p' | head -n 1)
echo "PASS: multi-user.target at ${multi_user} s guest uptime; QEMU ran $E2E_QEMU_SECONDS s wall"
