#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Golden tests: uhs-image eeprom against rpi-eeprom-config's own output for real images
# (../shared/fixtures/eeprom, FACTS-pi-boot.md §6). Skips (125) when the fixtures are absent.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"
uhs_image=$1 source_dir=$3
fixtures=$source_dir/../shared/fixtures/eeprom
[ -f "$fixtures/pieeprom-2026-08-12.bin" ] || uhs_needs "no $fixtures (the shared fixtures beside the clone)"
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

# The fixtures are the ones FACTS-pi-boot.md §6 documents (its sha256 table).
while read -r sum name; do
  echo "$sum  $fixtures/$name" | sha256sum -c --status || fail "$name is not the documented fixture"
done <<'SUMS'
faf29252673a5d699a774a1953b95e4d8d714dd39b676e9db89a6208b14fe326 pieeprom-2026-08-12.bin
545d607b2fd905e3916ab9be0363ebd5a23cd7f0c162c0e03f90e2176a98b480 bootconf-default.txt
e96d5da61c629745c9b94f6faf4eaf6557ad23d17dbcb8b6c763fb23e0bddd41 bootconf-netboot.txt
090e45fcf8e3232981f8ab081b2022a8df50977407ae0f641a34f269dd13e9d8 pieeprom-netboot.bin
4cc7ed85ca7a509026bc437792355797707eb7841fe6ad194c4e24b67278cbba pieeprom-netboot.sig
SUMS

# --timestamp, from the documented algorithm (§1.6): ~ts then ts, u32 little-endian, in the
# RO updatetime (payload 0x67b8) and its partition-A copy (0xa1f50); nothing else changes.
# 1700000000 = 0x6553f100, ~ = 0x9aac0eff.
"$uhs_image" eeprom set --in "$fixtures/pieeprom-2026-08-12.bin" --config \
  "$fixtures/bootconf-netboot.txt" --timestamp 1700000000 --out "$work/ts.bin" \
  --sig "$work/ts.sig" || fail "set --timestamp"
cmp -l "$fixtures/pieeprom-netboot.bin" "$work/ts.bin" | awk '{printf "%x:%s\n", $1 - 1, $3}' \
  > "$work/ts.diff"
expected_ts=""
for base in 67b8 a1f50; do
  for i in 0 1 2 3 4 5 6 7; do
    value=$(echo "ff 0e ac 9a 00 f1 53 65" | cut -d' ' -f$((i + 1)))
    expected_ts+=$(printf '%x:%o' $((0x$base + i)) $((0x$value)))$'\n'
  done
done
[ "$(cat "$work/ts.diff")" = "${expected_ts%$'\n'}" ] || fail "--timestamp bytes: $(cat "$work/ts.diff")"
printf '%s\nts: 1700000000\ntarget-soc: 2712\n' "$(sha256sum < "$work/ts.bin" | cut -d' ' -f1)" \
  | cmp -s - "$work/ts.sig" || fail "--timestamp .sig"

# Other named files: the boot code (F00F payload, §1.3: 25984 bytes) and an LZ4 file.
"$uhs_image" eeprom extract "$fixtures/pieeprom-2026-08-12.bin" --file bootcode.bin \
  --out "$work/bootcode.bin" && [ "$(stat -c %s "$work/bootcode.bin")" = 25984 ] \
  || fail "extract bootcode.bin"
"$uhs_image" eeprom extract "$fixtures/pieeprom-2026-08-12.bin" --file bootmain \
  --out "$work/bootmain" && [ "$(head -c 4 "$work/bootmain" | od -An -tx1 | tr -d ' ')" = 04224d18 ] \
  && [ "$(stat -c %s "$work/bootmain")" = $((402251 - 16)) ] || fail "extract bootmain (LZ4)"

# Corrupted copies of the real image are refused with the offset, and nothing is written.
corrupt() { # NAME OFFSET HEXBYTES EXPECTED-MESSAGE
  cp "$fixtures/pieeprom-2026-08-12.bin" "$work/$1.bin"
  printf "$(echo "$3" | sed 's/../\\x&/g')" | dd of="$work/$1.bin" bs=1 seek=$(($2)) \
    conv=notrunc status=none
  if "$uhs_image" eeprom set --in "$work/$1.bin" --boot-order 0xf21 --out "$work/$1.out" \
    2> "$work/$1.err"; then fail "$1: accepted"; fi
  grep -qF "$4" "$work/$1.err" || fail "$1: message: $(cat "$work/$1.err")"
  [ ! -e "$work/$1.out" ] || fail "$1: an image was written"
}
corrupt bad-magic 0x10000 12345678 "bad section magic 0x12345678 at offset 0x010000"
corrupt past-end 0xa4004 7fffffff "section at 0x0a4000 claims 2147483647 bytes, past the end"
# bootsys 8 bytes longer: the next header is read from inside bootmain's.
corrupt overlap 0x10004 0001322c "the section chain ends at 0x023238 but a section header follows at 0x023448"
head -c 2097151 "$fixtures/pieeprom-2026-08-12.bin" > "$work/truncated.bin"
if "$uhs_image" eeprom show "$work/truncated.bin" > /dev/null 2> "$work/truncated.err"; then
  fail "truncated image accepted"
fi
grep -qF "2097151 bytes (expected 524288 for BCM2711 or 2097152 for BCM2712)" \
  "$work/truncated.err" || fail "truncated: $(cat "$work/truncated.err")"

echo "eeprom_golden.sh: $failures failure(s)"
[ "$failures" -eq 0 ]
