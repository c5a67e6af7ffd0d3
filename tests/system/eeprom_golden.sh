#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Golden tests: uhs-image eeprom against rpi-eeprom-config's own output for real images
# (../shared/fixtures/eeprom, FACTS-pi-boot.md §6). Skips (125) when the fixtures are absent.
set -u
uhs_image=$1 source_dir=$3
fixtures=$source_dir/../shared/fixtures/eeprom
[ -f "$fixtures/pieeprom-2026-08-12.bin" ] || { echo "no $fixtures: skipped"; exit 125; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$uhs_image" eeprom show "$fixtures/pieeprom-2026-08-12.bin" > "$work/show.txt" || fail "show"
cmp -s "$work/show.txt" "$fixtures/bootconf-default.txt" || fail "show differs from rpi-eeprom-config"

SOURCE_DATE_EPOCH=1700000000 "$uhs_image" eeprom set --in "$fixtures/pieeprom-2026-08-12.bin" \
  --config "$fixtures/bootconf-netboot.txt" --out "$work/netboot.bin" --sig "$work/netboot.sig" \
  || fail "set --config"
cmp -s "$work/netboot.bin" "$fixtures/pieeprom-netboot.bin" || fail "set --config: image differs"
cmp -s "$work/netboot.sig" "$fixtures/pieeprom-netboot.sig" || fail "set --sig: .sig differs"

"$uhs_image" eeprom set --in "$fixtures/pieeprom-2026-08-12.bin" --boot-order 0xf21 \
  --tftp-prefix 0 --out "$work/keys.bin" || fail "set --boot-order --tftp-prefix"
cmp -s "$work/keys.bin" "$fixtures/pieeprom-netboot.bin" || fail "single-key edit differs"

"$uhs_image" eeprom set --in "$fixtures/pieeprom-netboot.bin" \
  --config "$fixtures/bootconf-default.txt" --out "$work/back.bin" || fail "loopback"
cmp -s "$work/back.bin" "$fixtures/pieeprom-2026-08-12.bin" || fail "loopback not identical"

head -c 4077 /dev/zero | tr '\0' x > "$work/big.txt"
if "$uhs_image" eeprom set --in "$fixtures/pieeprom-2026-08-12.bin" --config "$work/big.txt" \
  --out "$work/big.bin" 2> "$work/err"; then fail "4077-byte config accepted"; fi
grep -q "too large: 4077 bytes (at most 4076)" "$work/err" || fail "limit message: $(cat "$work/err")"
[ ! -e "$work/big.bin" ] || fail "an image was written on failure"

"$uhs_image" eeprom extract "$fixtures/pieeprom-2026-08-12.bin" --file bootconf.txt \
  --out "$work/extracted.txt" || fail "extract"
cmp -s "$work/extracted.txt" "$fixtures/bootconf-default.txt" || fail "extract differs"

echo "eeprom_golden.sh: $failures failure(s)"
[ "$failures" -eq 0 ]
