#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# uhs-image eeprom plan, flash bundle and enroll as an operator runs them, on a copy of the
# worked example. The bundle part uses the real images in ../shared/fixtures/eeprom when present
# (recovery.bin has no synthetic stand-in the bootloader would accept; the unit tests build one).
set -u
uhs_image=$1 uhs_netboot=$2 source_dir=$3
fixtures=$source_dir/../shared/fixtures/eeprom
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

cp -r "$source_dir/configs" "$work/configs"
cluster=$work/configs/super6c-cm5.yaml

"$uhs_image" eeprom plan "$cluster" > "$work/plan.txt" || fail "eeprom plan"
[ "$(grep -c '^# node cm5-' "$work/plan.txt")" -eq 6 ] || fail "plan: not 6 nodes"
grep -qx 'BOOT_ORDER=0xf12' "$work/plan.txt" || fail "plan: no network-first BOOT_ORDER"
# No TFTP_IP unless the cluster pins its server; the timeout is explained.
grep -q 'TFTP_IP=' "$work/plan.txt" && fail "plan: TFTP_IP without network.pin_tftp_server"
grep -qx 'ENABLE_SELF_UPDATE=1' "$work/plan.txt" || fail "plan: no ENABLE_SELF_UPDATE=1"
grep -qx 'TFTP_FILE_TIMEOUT=110000' "$work/plan.txt" || fail "plan: default TFTP_FILE_TIMEOUT"
grep -q '^# TFTP_FILE_TIMEOUT=110000: no built image found (give --image DIR): assumes a 200 MB' \
  "$work/plan.txt" || fail "plan does not say which default it used: $(head -3 "$work/plan.txt")"
# From a built image's largest boot file: 150 MB at 3 MB/s x1.5 + 10 s = 85 s.
mkdir -p "$work/image/boot"
truncate -s 150000000 "$work/image/boot/initramfs_2712"
truncate -s 52000000 "$work/image/boot/kernel_2712.img"
"$uhs_image" eeprom plan "$cluster" --image "$work/image" > "$work/plan-image.txt" \
  || fail "eeprom plan --image"
grep -qx 'TFTP_FILE_TIMEOUT=85000' "$work/plan-image.txt" || fail "plan --image: timeout"
grep -q "largest boot file $work/image/boot/initramfs_2712 (150000000 bytes)" \
  "$work/plan-image.txt" || fail "plan --image does not name the file"
grep -q '^# note: that file is over 65535 TFTP blocks' "$work/plan-image.txt" \
  || fail "plan --image: no block-wrap note"
if "$uhs_image" eeprom plan "$cluster" --image "$work/nothing" 2> "$work/err"; then
  fail "plan --image of a directory with no boot/ succeeded"
fi
sed 's/^  gateway: \(.*\)$/  gateway: \1\n  pin_tftp_server: true/' "$cluster" \
  > "$work/configs/pinned.yaml"
"$uhs_image" eeprom plan "$work/configs/pinned.yaml" > "$work/plan-pinned.txt" \
  || fail "eeprom plan (pinned)"
grep -qx 'TFTP_IP=192.168.50.10' "$work/plan-pinned.txt" || fail "pinned plan: no TFTP_IP"

# enroll --serial edits just the node's values, atomically, and the file stays valid.
before=$(grep -v 'name: cm5-3' "$cluster")
"$uhs_image" enroll "$cluster" --slot 3 --serial 10000000C0FFEE03 --mac 2C:CF:67:C0:FF:03 \
  > "$work/enroll.txt" || fail "enroll --slot 3"
grep -q 'enrolled cm5-3 (slot 3): serial 10000000c0ffee03, MAC 2c:cf:67:c0:ff:03' \
  "$work/enroll.txt" || fail "enroll output: $(cat "$work/enroll.txt")"
grep -q '{name: cm5-3, slot: 3, model: cm5-lite, serial: "10000000c0ffee03", mac: "2c:cf:67:c0:ff:03", ip: 192.168.50.13' \
  "$cluster" || fail "enroll: slot 3's entry not rewritten in place"
[ "$(grep -v 'name: cm5-3' "$cluster")" = "$before" ] || fail "enroll touched other lines"
"$uhs_image" validate "$cluster" > /dev/null || fail "enrolled file no longer validates"
if "$uhs_image" enroll "$cluster" --slot 4 --serial 10000000c0ffee03 2> "$work/err"; then
  fail "a serial already enrolled in slot 3 was accepted for slot 4"
fi
grep -q 'would make .* invalid' "$work/err" || fail "duplicate serial message: $(cat "$work/err")"
if "$uhs_image" enroll "$cluster" --slot 9 --serial a1b2c3d4 2> "$work/err"; then
  fail "slot 9 accepted"
fi
ls -A "$work/configs" | grep -q '\.tmp\.' && fail "a temp file was left behind"

if [ -f "$fixtures/recovery.bin" ]; then
  SOURCE_DATE_EPOCH=1700000000 "$uhs_image" flash bundle "$cluster" --node cm5-2 \
    --out "$work/bundle" --recovery "$fixtures/recovery.bin" \
    --eeprom "$fixtures/pieeprom-2026-08-12.bin" > /dev/null || fail "flash bundle"
  for f in bootcode5.bin config.txt pieeprom.bin pieeprom.sig; do
    [ -s "$work/bundle/$f" ] || fail "bundle has no $f"
  done
  cmp -s "$work/bundle/bootcode5.bin" "$fixtures/recovery.bin" || fail "bootcode5.bin differs"
  [ "$(head -1 "$work/bundle/pieeprom.sig")" = "$(sha256sum < "$work/bundle/pieeprom.bin" | cut -c1-64)" ] \
    || fail "pieeprom.sig does not vouch for pieeprom.bin"
  grep -qx 'ts: 1700000000' "$work/bundle/pieeprom.sig" || fail "sig ts"
  "$uhs_image" eeprom show "$work/bundle/pieeprom.bin" > "$work/bundle.conf" || fail "show bundle"
  sed -n '/^# node cm5-2 /,/^$/p' "$work/plan.txt" | grep -v '^#' | sed '/^$/d' > "$work/plan-cm5-2"
  cmp -s "$work/bundle.conf" "$work/plan-cm5-2" || fail "bundle config is not the plan's"
  # The same inputs give the same bytes.
  SOURCE_DATE_EPOCH=1700000000 "$uhs_image" flash bundle "$cluster" --node cm5-2 \
    --out "$work/bundle2" --recovery "$fixtures/recovery.bin" \
    --eeprom "$fixtures/pieeprom-2026-08-12.bin" > /dev/null || fail "flash bundle again"
  diff -r "$work/bundle" "$work/bundle2" > /dev/null || fail "bundle not reproducible"
  # rpi-eeprom-config's own procedure on the plan's config gives the same image.
  "$uhs_image" eeprom set --in "$fixtures/pieeprom-2026-08-12.bin" --config "$work/plan-cm5-2" \
    --timestamp 1700000000 --out "$work/set.bin" || fail "eeprom set with the plan"
  cmp -s "$work/set.bin" "$work/bundle/pieeprom.bin" || fail "bundle image differs from eeprom set"
  if "$uhs_image" flash bundle "$cluster" --node cm5-2 --out "$work/bad" \
    --recovery "$fixtures/recovery.bin" --eeprom "$fixtures/recovery.bin" 2> "$work/err"; then
    fail "a non-EEPROM base image was accepted"
  fi
  [ ! -e "$work/bad/pieeprom.sig" ] || fail "a .sig was written for a refused bundle"

  # The network path: stage the bundle's image for cm5-2's self-update.
  state=$work/state
  "$uhs_image" enroll "$cluster" --slot 2 --serial 10000000c0ffee02 > /dev/null \
    || fail "enroll slot 2"
  if "$uhs_netboot" eeprom stage cm5-2 --cluster "$cluster" --state "$state" \
    --image "$work/bundle/pieeprom.bin" 2> "$work/err"; then
    fail "staged for a node that never reported, without --force"
  fi
  grep -q 'bootloader is unknown' "$work/err" || fail "unknown-node message: $(cat "$work/err")"
  "$uhs_netboot" eeprom stage cm5-2 --cluster "$cluster" --state "$state" --force \
    --image "$work/bundle/pieeprom.bin" --timestamp 1790000000 > "$work/stage.txt" 2> "$work/err" \
    || fail "eeprom stage --force: $(cat "$work/err")"
  grep -q 'note: unknown' "$work/err" || fail "--force does not say the node is unknown"
  upd=$state/tftproot/.eeprom/c0ffee02/pieeprom.upd
  [ -s "$upd" ] || fail "no pieeprom.upd staged"
  [ "$(head -1 "${upd%.upd}.sig")" = "$(sha256sum < "$upd" | cut -c1-64)" ] \
    || fail "staged pieeprom.sig does not vouch for pieeprom.upd"
  grep -qx 'ts: 1790000000' "${upd%.upd}.sig" || fail "staged sig ts"
  "$uhs_netboot" eeprom status cm5-2 --cluster "$cluster" --state "$state" > "$work/status.txt" \
    || fail "eeprom status"
  grep -q 'c0ffee02/: staged build 2026-08-12 (1786493216), update ts 1790000000' \
    "$work/status.txt" || fail "status: $(cat "$work/status.txt")"
  grep -q 'reported: nothing yet' "$work/status.txt" || fail "status: report line"
  # An image without ENABLE_SELF_UPDATE=1 is refused even with --force.
  if "$uhs_netboot" eeprom stage cm5-2 --cluster "$cluster" --state "$state" --force \
    --image "$fixtures/pieeprom-2026-08-12.bin" 2> "$work/err"; then
    fail "staged an image without ENABLE_SELF_UPDATE=1"
  fi
  grep -q 'ENABLE_SELF_UPDATE=1' "$work/err" || fail "self-update message: $(cat "$work/err")"
  "$uhs_netboot" eeprom unstage cm5-2 --cluster "$cluster" --state "$state" > /dev/null \
    || fail "eeprom unstage"
  [ ! -e "$upd" ] || fail "unstage left pieeprom.upd"
else
  echo "no $fixtures: flash bundle part skipped"
fi

echo "firmware_cli.sh: $failures failure(s)"
[ "$failures" -eq 0 ]
