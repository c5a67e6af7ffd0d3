#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Drives the built binaries the way a user does: exit codes, messages, the worked example.
set -u
uhs_image=$1 uhs_netboot=$2 source_dir=$3
failures=0
check() { # check DESCRIPTION EXPECTED_CODE COMMAND... ; output is in $out
  local description=$1 expected=$2; shift 2
  out=$("$@" 2>&1); local code=$?
  if [ "$code" -ne "$expected" ]; then
    echo "FAIL: $description: exit $code, expected $expected"; echo "$out" | sed 's/^/  | /'
    failures=$((failures + 1))
  fi
}
contains() { # contains DESCRIPTION TEXT
  if ! grep -qF -- "$2" <<<"$out"; then
    echo "FAIL: $1: output lacks '$2'"; echo "$out" | sed 's/^/  | /'
    failures=$((failures + 1))
  fi
}

cd "$source_dir" || exit 1

check "version" 0 "$uhs_image" --version
contains "version" "uhs-image 0."

check "worked example validates" 0 "$uhs_image" validate configs/super6c-cm5.yaml
contains "worked example validates" "configs/super6c-cm5.yaml: ok (6 nodes)"

# The Raspberry Pi archive profile validates once its key is added by hand (see
# configs/keyrings/README.md); until then validate must say where to get it.
if [ -e configs/keyrings/raspberrypi-archive-keyring.gpg ]; then
  check "Raspberry Pi profile validates" 0 "$uhs_image" validate configs/super6c-cm5-raspberrypi.yaml
else
  check "Raspberry Pi profile without its key" 2 "$uhs_image" validate configs/super6c-cm5-raspberrypi.yaml
  contains "Raspberry Pi profile without its key" "image.sources[1].keyring: keyring configs/keyrings/raspberrypi-archive-keyring.gpg does not exist (configs/keyrings/README.md says how to get it)"
fi

check "worked example plans" 0 "$uhs_image" plan configs/super6c-cm5.yaml
for n in 1 2 3 4 5 6; do
  contains "plan lists node $n" "tftp a1b2c30$n/  ->  nodes/a1b2c30$n/{config.txt,cmdline.txt}"
  contains "plan lists node $n by MAC" "tftp 2c-cf-67-a1-c3-0$n/"
done
contains "plan names the device tree the nodes choose (the Pi 5 tree)" "boots kernel_2712.img + initramfs_2712 + bcm2712-rpi-5-b.dtb"

check "plan --json" 0 "$uhs_image" plan configs/super6c-cm5.yaml --json
contains "plan --json" '"netboot_directories": ['

# Every bad file: exit 2 and exactly the expected lines on stderr.
for file in tests/configs/bad/*.yaml; do
  name=$(basename "$file")
  # The overlay search path in a message depends on where the binary is; compare without it.
  normalise() { sed -E 's/ not found in [^(]*\(/ not found in SEARCH-PATH (/'; }
  expected=$(sed -n "s|^# expect: |$name:|p" "$file" | normalise)
  actual=$(cd tests/configs/bad && "$uhs_image" validate "$name" 2>&1 >/dev/null)
  code=$?
  actual=$(normalise <<<"$actual")
  if [ "$code" -ne 2 ] || [ "$actual" != "$expected" ]; then
    echo "FAIL: validate $name: exit $code"; diff <(echo "$expected") <(echo "$actual") | sed 's/^/  | /'
    failures=$((failures + 1))
  fi
done

check "unknown command" 2 "$uhs_image" valdiate
contains "unknown command" "did you mean 'validate'?"
check "missing argument" 2 "$uhs_image" validate
check "missing file" 2 "$uhs_image" validate /nonexistent/cluster.yaml
contains "missing file" "/nonexistent/cluster.yaml: error: no such file"
check "help" 0 "$uhs_image" --help

check "netboot check on the example" 0 "$uhs_netboot" check configs/super6c-cm5.yaml
contains "netboot check" "cm5-6 (slot 6, 192.168.50.16): tftp a1b2c306/ tftp 2c-cf-67-a1-c3-06/"

# diff: 0 identical, 1 different (naming the file), 2 on error.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/a/boot" "$scratch/b/boot"
echo one > "$scratch/a/boot/config.txt"
echo one > "$scratch/b/boot/config.txt"
check "diff of identical builds" 0 "$uhs_image" diff "$scratch/a" "$scratch/b"
echo two > "$scratch/b/boot/config.txt"
check "diff of different builds" 1 "$uhs_image" diff "$scratch/a" "$scratch/b"
contains "diff names the file" "boot/config.txt: content differs (sha256 "
check "diff of a missing build" 2 "$uhs_image" diff "$scratch/a" "$scratch/missing"

echo "cli.sh: $failures failure(s)"
[ "$failures" -eq 0 ]
