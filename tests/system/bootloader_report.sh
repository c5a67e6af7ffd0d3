#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# overlays/bootloader-report's script on a fake /proc and /sys: what it reads from the
# bootloader's device-tree node and the nvmem config, and the request it sends to the boot
# server (a listener on 127.0.0.1 that records it). The daemon's side of the same format is
# tested in tests/unit/netboot_eeprom_test.cpp.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"
uhs_need_tools python3 timeout
source_dir=$3
script=$source_dir/overlays/bootloader-report/usr/lib/uhs/bootloader-report
T=$(mktemp -d)
LISTENER=
trap '[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null; rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The fake device tree: build 1786493216 (0x6a7bb920), update 1790000000 (0x6ab13b80).
dt=$T/proc/device-tree
mkdir -p "$dt/chosen/bootloader" "$dt/aliases"
printf '\x6a\x7b\xb9\x20' > "$dt/chosen/bootloader/build-timestamp"
printf '\x6a\xb1\x3b\x80' > "$dt/chosen/bootloader/update-timestamp"
printf 'f5e89631\0' > "$dt/chosen/bootloader/version"
printf '/reserved-memory/nvram@0\0' > "$dt/aliases/blconfig"
mkdir -p "$T/sys/firmware/devicetree/base/reserved-memory/nvram@0" "$T/sys/bus/nvmem/devices/rmem0"
ln -s "$T/sys/firmware/devicetree/base/reserved-memory/nvram@0" "$T/sys/bus/nvmem/devices/rmem0/of_node"
{ printf '[all]\nBOOT_ORDER=0xf12\nENABLE_SELF_UPDATE=1\n'; head -c 64 /dev/zero; } \
  > "$T/sys/bus/nvmem/devices/rmem0/nvmem"

# One-connection listener: records the request, answers with $1's status line.
listen() {
  python3 - "$T/port" "$T/request" "$1" <<'PY' &
import socket, sys
port_file, out, status = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(20)
open(port_file + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(port_file + ".tmp", port_file)
c, _ = s.accept()
c.settimeout(10)
data = b""
while b"\r\n\r\n" not in data:
    data += c.recv(4096)
head, body = data.split(b"\r\n\r\n", 1)
length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
while len(body) < length:
    body += c.recv(4096)
open(out, "wb").write(head + b"\r\n\r\n" + body)
c.sendall(("HTTP/1.0 " + status + "\r\nContent-Length: 0\r\n\r\n").encode())
c.close()
PY
  LISTENER=$!
  for _ in $(seq 50); do [ -f "$T/port" ] && break; sleep 0.1; done
  [ -f "$T/port" ] || fail "listener did not start"
}

listen "204 No Content"
port=$(cat "$T/port")
printf 'console=ttyAMA10 uhs.node=n1 uhs.bootserver=127.0.0.1:%s uhs.image=x\n' "$port" > "$T/proc/cmdline"
UHS_PROC=$T/proc UHS_SYS=$T/sys UHS_REPORT_TRIES=1 bash "$script" > "$T/out" 2>&1 \
  || fail "script failed: $(cat "$T/out")"
wait "$LISTENER"; LISTENER=
grep -qx "reported bootloader build 1786493216, update 1790000000 to 127.0.0.1:$port" "$T/out" \
  || fail "script output: $(cat "$T/out")"
head -1 "$T/request" | grep -q '^POST /bootloader-report HTTP/1.0' || fail "request line: $(head -1 "$T/request")"
expected=$'build-timestamp: 1786493216\nupdate-timestamp: 1790000000\nversion: f5e89631\n\n[all]\nBOOT_ORDER=0xf12\nENABLE_SELF_UPDATE=1\n'
body=$(python3 -c 'import sys; print(open(sys.argv[1],"rb").read().split(b"\r\n\r\n",1)[1].decode(), end="")' "$T/request")
[ "$body" = "${expected%$'\n'}" ] || fail "body: [$body]"
grep -qi "^Content-Length: ${#expected}" "$T/request" || fail "Content-Length: $(grep -i content-length "$T/request")"

# A refusal is logged, never fails the boot.
rm -f "$T/port"
listen "403 Forbidden"
port=$(cat "$T/port")
printf 'uhs.bootserver=127.0.0.1:%s\n' "$port" > "$T/proc/cmdline"
UHS_PROC=$T/proc UHS_SYS=$T/sys UHS_REPORT_TRIES=1 bash "$script" > "$T/out" 2>&1 \
  || fail "a refused report failed the unit"
wait "$LISTENER"; LISTENER=
grep -q 'boot server answered: HTTP/1.0 403 Forbidden' "$T/out" || fail "403 output: $(cat "$T/out")"

# No uhs.bootserver=, and no bootloader node: nothing to do, exit 0.
printf 'console=ttyAMA10\n' > "$T/proc/cmdline"
UHS_PROC=$T/proc UHS_SYS=$T/sys bash "$script" > "$T/out" 2>&1 || fail "no server: failed"
grep -q 'no uhs.bootserver=' "$T/out" || fail "no server: $(cat "$T/out")"
printf 'uhs.bootserver=127.0.0.1\n' > "$T/proc/cmdline"
rm "$dt/chosen/bootloader/build-timestamp"
UHS_PROC=$T/proc UHS_SYS=$T/sys bash "$script" > "$T/out" 2>&1 || fail "no bootloader: failed"
grep -q 'not booted by a Raspberry Pi EEPROM bootloader' "$T/out" || fail "no dt: $(cat "$T/out")"

echo "bootloader_report.sh: $failures failure(s)"
[ "$failures" -eq 0 ]
