#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# arm64 UEFI PXE through uhs-netboot, with a client nobody here wrote: QEMU's own edk2 firmware
# (qemu-efi-aarch64, `-M virt`) on a tap in a bridge inside a network namespace this test
# creates, dnsmasq playing the home router (DHCP only) in a second namespace, uhs-netboot as the
# proxyDHCP + in.tftpd. The node is `model: uefi-arm64`; its boot file is the image's
# boot/bootaa64.efi, here the EFI stub of a Debian arm64 kernel. Passes when the serial log
# shows "EFI stub: Booting Linux Kernel".
# The kernel is real data: Debian's linux-image-cloud-arm64, fetched with apt-get download from
# this host's own APT sources into the test's temp dir (skip 125 when they cannot be reached).
# Args: uhs-image uhs-netboot source-dir. Exit 125 = skipped.
set -euo pipefail
NETBOOT=$(realpath "$2")
SRC=$(realpath "$3")
FIRMWARE=/usr/share/qemu-efi-aarch64/QEMU_EFI.fd
BOOT_TIMEOUT=${UHS_UEFI_BOOT_TIMEOUT:-90}
# shellcheck source=netboot/lib.sh
source "$SRC/tests/system/netboot/lib.sh"
. "$SRC/tests/lib/skip.sh"

for tool in ip in.tftpd dnsmasq qemu-system-aarch64 apt-get apt-cache dpkg-deb; do
  uhs_need_tools "$tool"
done
[ -r "$FIRMWARE" ] || uhs_needs "$FIRMWARE missing (package qemu-efi-aarch64)"
uhs_need_root "ip netns and tap devices"
[ -c /dev/net/tun ] || uhs_needs "no /dev/net/tun"

ID=$$
SRV=uhsuefi-srv-$ID RTR=uhsuefi-rtr-$ID
MAC=52:54:00:75:68:01
T=$(mktemp -d /tmp/uhs-netboot-uefi.XXXXXX)
chmod 755 "$T"  # the daemon runs as nobody once its sockets are bound
DAEMON_PID= DNSMASQ_PID= QEMU_PID=
cleanup() {
  local rc=$?
  set +e
  [ -n "$QEMU_PID" ] && kill -KILL "$QEMU_PID" 2>/dev/null
  [ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" 2>/dev/null && sleep 0.5
  [ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null
  [ -n "$DNSMASQ_PID" ] && kill -TERM "$DNSMASQ_PID" 2>/dev/null
  for ns in "$SRV" "$RTR"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 125 ]; then
    echo "--- daemon log"; tail -30 "$T/serve.log" 2>/dev/null
    echo "--- serial log"; tail -30 "$T/serial.log" 2>/dev/null
    echo "kept $T"
  else
    rm -rf "$T"
  fi
  exit "$rc"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }
t_start=$SECONDS

# 1. The EFI application: a Debian arm64 kernel (its Image is an EFI-stub PE), downloaded with
# this host's own APT sources into a private APT state, nothing installed on the host.
APT=(-q -o "Dir::State=$T/apt/state" -o "Dir::Cache=$T/apt/cache" -o APT::Architecture=arm64
     -o APT::Architectures=arm64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root
     -o Acquire::Retries=0)
mkdir -p "$T/apt/state/lists/partial" "$T/apt/cache/archives/partial"
if [ -n "${UHS_UEFI_KERNEL_DEB:-}" ]; then
  # A developer's shortcut: a .deb fetched by an earlier run.
  pkg=$(basename "$UHS_UEFI_KERNEL_DEB" | cut -d_ -f1)
  cp "$UHS_UEFI_KERNEL_DEB" "$T/apt/"
else
  uhs_need_mirror
  timeout 120 apt-get "${APT[@]}" update > "$T/apt.log" 2>&1 || { tail -3 "$T/apt.log"; fail "apt-get update from the host's APT sources"; }
fi
if [ -z "${UHS_UEFI_KERNEL_DEB:-}" ]; then
  pkg=$(apt-cache "${APT[@]}" depends linux-image-cloud-arm64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$pkg" ] || uhs_needs "no linux-image-cloud-arm64 in the host's APT sources (a Debian source with arm64)"
  if ! (cd "$T/apt" && timeout 120 apt-get "${APT[@]}" download "$pkg" >> "$T/apt.log" 2>&1); then
    tail -3 "$T/apt.log"; fail "cannot download $pkg from the host's APT sources"
  fi
fi
dpkg-deb -x "$T"/apt/"$pkg"_*.deb "$T/kernel"
vmlinuz=$(ls "$T"/kernel/boot/vmlinuz-*)
[ "$(head -c 2 "$vmlinuz")" = MZ ] || fail "$vmlinuz is not a PE image (no EFI stub)"
pass "kernel $pkg ($(stat -c %s "$vmlinuz") bytes) in $((SECONDS - t_start)) s"

# 2. An image in uhs-image build's layout whose boot/bootaa64.efi is that kernel; the cluster
# file enrols one uefi-arm64 node by MAC.
dir=${MAC//:/-}
mkdir -p "$T/out/img-u/boot" "$T/out/img-u/nodes/$dir"
cp "$vmlinuz" "$T/out/img-u/boot/bootaa64.efi"
printf 'console=ttyAMA0 uhs.node=u1\n' > "$T/out/img-u/nodes/$dir/cmdline.txt"
nb_cluster_head "$T/cluster.yaml" 10.78.0.2 br0 "$SRC"
cat >> "$T/cluster.yaml" <<YAML
  - name: u1
    slot: 1
    model: uefi-arm64
    mac: "$MAC"
    ip: 10.78.0.11
    role: control-plane
YAML

# 3. The LAN: br0 (10.78.0.2) + tap0 in the server namespace, the router on a veth.
if ! ip netns add "$SRV"; then
  if ! unshare --net true 2>/dev/null; then uhs_needs "no network namespaces here"; fi
  fail "ip netns add $SRV"
fi
ip netns add "$RTR"
inns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
inns "$SRV" ip link set lo up
inns "$SRV" ip link add br0 type bridge
inns "$SRV" ip addr add 10.78.0.2/24 dev br0
inns "$SRV" ip link set br0 up
inns "$SRV" ip tuntap add tap0 mode tap
inns "$SRV" ip link set tap0 master br0 up
ip link add rtr0 netns "$RTR" type veth peer name p-rtr0 netns "$SRV"
inns "$SRV" ip link set p-rtr0 master br0 up
inns "$RTR" ip link set lo up
inns "$RTR" ip addr add 10.78.0.1/24 dev rtr0
inns "$RTR" ip link set rtr0 up

ip netns exec "$RTR" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=rtr0 --bind-interfaces \
  --dhcp-range=10.78.0.50,10.78.0.99,255.255.255.0,1h --dhcp-leasefile="$T/leases" \
  --dhcp-authoritative --no-ping --log-dhcp --pid-file="$T/dnsmasq.pid" > "$T/dnsmasq.log" 2>&1 &
DNSMASQ_PID=$!

ip netns exec "$SRV" "$NETBOOT" serve "$T/cluster.yaml" --images "$T/out" --image img-u \
  --state "$T/state" --http 127.0.0.1:9470 --user nobody > "$T/serve.log" 2>&1 &
DAEMON_PID=$!
nb_wait_for 15 grep -q "event=tftp-healthy" "$T/serve.log" || fail "daemon never became healthy"
pass "router, uhs-netboot (as nobody) and in.tftpd up"

# 4. QEMU's edk2 on the tap, no iPXE option ROM: the firmware's own PXE client.
t_boot=$SECONDS
ip netns exec "$SRV" timeout "$((BOOT_TIMEOUT + 10))" qemu-system-aarch64 -M virt -cpu cortex-a72 -m 1024 \
  -bios "$FIRMWARE" -display none -monitor none -serial "file:$T/serial.log" -no-reboot \
  -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
  -device virtio-net-pci,netdev=n0,mac="$MAC",romfile= > "$T/qemu.log" 2>&1 &
QEMU_PID=$!
stub() { grep -aq "EFI stub: Booting Linux Kernel" "$T/serial.log"; }
nb_wait_for "$BOOT_TIMEOUT" stub || fail "no 'EFI stub: Booting Linux Kernel' within $BOOT_TIMEOUT s"
boot_s=$((SECONDS - t_boot))
{ kill -KILL "$QEMU_PID"; wait "$QEMU_PID"; } 2>/dev/null || true
QEMU_PID=

# What happened on the wire, from the daemon's log: our offer, the boot server exchange when
# edk2 made one, and the NBP served by in.tftpd.
grep -q "event=dhcp-offer node=u1 mac=$MAC .*model=uefi-arm64 file=$dir/bootaa64.efi" "$T/serve.log" \
  || fail "no proxy offer for u1"
# edk2 takes an offer with PXEClient and a file but no PXE menu as a "ProxyBinl" offer and asks
# again, with a DHCPREQUEST to the proxy's port 4011 (PxeBcRetryBinlOffer): without our ACK it
# would not boot.
grep -q "event=pxe-ack node=u1 mac=$MAC .*file=$dir/bootaa64.efi" "$T/serve.log" \
  || fail "no ACK on the PXE boot server port (4011)"
grep -aq "$dir/bootaa64.efi" "$T/serial.log" || fail "the firmware did not report our boot file"
nb_wait_for 10 grep -q "event=tftp-done .*path=$dir/bootaa64.efi .*found=yes" "$T/serve.log" \
  || fail "in.tftpd did not serve $dir/bootaa64.efi"
grep -q "verdict=unknown-node" "$T/serve.log" && fail "the UEFI node was not recognised"
pass "edk2 booted the EFI stub through uhs-netboot in $boot_s s"

kill -TERM "$DAEMON_PID"
for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
wait "$DAEMON_PID" || fail "daemon exit code $?"
DAEMON_PID=
echo "PASS ($((SECONDS - t_start)) s in all)"
