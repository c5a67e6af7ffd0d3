#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# uhs-image eeprom plan, flash bundle and enroll as an operator runs them, on a copy of the
# worked example. The bundle part uses the real images in ../shared/fixtures/eeprom when present
# (recovery.bin has no synthetic stand-in the bootloader would accept; the unit tests build one).
set -u
uhs_image=$1 source_dir=$3
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
grep -qx 'TFTP_IP=192.168.50.10' "$work/plan.txt" || fail "plan: no TFTP_IP of the server"

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
else
  echo "no $fixtures: flash bundle part skipped"
fi

echo "firmware_cli.sh: $failures failure(s)"
[ "$failures" -eq 0 ]
