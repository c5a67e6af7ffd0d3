#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# TFTP bench: 6 and 60 concurrent simulated Pis fetch a ~40 MB boot set (config.txt twice, DTB,
# cmdline.txt, kernel, initramfs; tsize 0, blksize 1468, every byte checked) from uhs-netboot
# (in.tftpd) and from dnsmasq's TFTP serving the same tree, in the same run, over veths in
# network namespaces this script creates. Then the proxy's sustained DISCOVER rate.
# Usage: bench/tftp.sh [BUILD_DIR]   (root; default build dir: build)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath "${1:-$SRC/build}")
NETBOOT="$BUILD/netboot/uhs-netboot"
SIM="$BUILD/tests/pi-bootsim"
# shellcheck source=../tests/system/netboot/lib.sh
source "$SRC/tests/system/netboot/lib.sh"
for f in "$NETBOOT" "$SIM"; do [ -x "$f" ] || { echo "bench: $f not built" >&2; exit 2; }; done
for tool in ip dnsmasq in.tftpd openssl; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "bench: $tool missing" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "bench: needs root (ip netns)" >&2; exit 2; }

ID=$$
SRV=uhsbn-srv-$ID DQ=uhsbn-dq-$ID CLI=uhsbn-cli-$ID
T=$(mktemp -d /tmp/uhs-bench-tftp.XXXXXX)
chmod 755 "$T"  # dnsmasq's TFTP runs as nobody and must traverse it
DAEMON_PID= DNSMASQ_PID=
cleanup() {
  set +e
  [ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" 2>/dev/null && sleep 0.5
  [ -n "$DNSMASQ_PID" ] && kill -TERM "$DNSMASQ_PID" 2>/dev/null
  for ns in "$SRV" "$DQ" "$CLI"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT INT TERM

ip netns add "$SRV"; ip netns add "$DQ"; ip netns add "$CLI"
inns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
inns "$SRV" ip link set lo up
inns "$SRV" ip link add br0 type bridge
inns "$SRV" ip addr add 10.78.0.2/24 dev br0
inns "$SRV" ip link set br0 up
for peer in "$DQ:dq0:10.78.0.3" "$CLI:cli0:10.78.0.50"; do
  IFS=: read -r ns dev addr <<< "$peer"
  ip link add "$dev" netns "$ns" type veth peer name "p-$dev" netns "$SRV"
  inns "$SRV" ip link set "p-$dev" master br0 up
  inns "$ns" ip link set lo up
  inns "$ns" ip link set "$dev" up
  inns "$ns" ip addr add "$addr/24" dev "$dev"
done

echo "bench: making a 40 MB boot set"
nb_make_image "$T/out" bench 26000000
nb_cluster "$T/cluster.yaml" 10.78.0.2 br0 "$SRC"
ip netns exec "$SRV" "$NETBOOT" serve "$T/cluster.yaml" --images "$T/out" --state "$T/state" \
  --http 127.0.0.1:9469 > "$T/serve.log" 2>&1 &
DAEMON_PID=$!
nb_wait_for 20 grep -q "event=tftp-healthy" "$T/serve.log" || { tail "$T/serve.log"; echo "bench: daemon not healthy" >&2; exit 1; }
# dnsmasq serves the very same tree (it follows the relative symlinks; no chroot).
ip netns exec "$DQ" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --enable-tftp \
  --tftp-root="$T/state/tftproot" --interface=dq0 --bind-interfaces --tftp-max=200 \
  --pid-file="$T/dnsmasq.pid" > "$T/dnsmasq.log" 2>&1 &
DNSMASQ_PID=$!
sleep 0.5

# run_sim SERVER N: prints "seconds bytes" for N concurrent Pis, fails on any mismatch.
# Beyond six, Pis share the six nodes' directories (each is its own client all the same).
run_sim() {
  local server=$1 n=$2 specs=() args=() i out
  mapfile -t specs < <(nb_sim_nodes | cut -d' ' -f2)
  for ((i = 0; i < n; i++)); do args+=(--node "${specs[$((i % 6))]}"); done
  out=$(inns "$CLI" timeout 600 "$SIM" --no-dhcp --server "$server" --quiet --expect "$T/out/bench" \
    "${args[@]}") || { echo "$out" | tail -5 >&2; return 1; }
  echo "$out" | awk '/^summary/ {print $9, $7}'
}
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

printf '%-6s %-14s %10s %10s\n' pis server seconds MB/s
for n in 6 60; do
  r=$(run_sim 10.78.0.2 "$n") || { echo "bench: uhs-netboot run with $n Pis failed" >&2; exit 1; }
  read -r s_uhs b_uhs <<< "$r"
  r=$(run_sim 10.78.0.3 "$n") || { echo "bench: dnsmasq run with $n Pis failed" >&2; exit 1; }
  read -r s_dq b_dq <<< "$r"
  printf '%-6s %-14s %10s %10s\n' "$n" uhs-netboot "$(calc "$s_uhs")" "$(calc "$b_uhs / $s_uhs / 1000000")"
  printf '%-6s %-14s %10s %10s\n' "$n" dnsmasq "$(calc "$s_dq")" "$(calc "$b_dq / $s_dq / 1000000")"
  echo "ratio $n Pis: uhs-netboot (in.tftpd) is $(calc "$s_dq / $s_uhs")x dnsmasq (dnsmasq time / uhs-netboot time)"
done

# The proxy's sustained DISCOVER rate (32 in flight, 5 s).
inns "$CLI" timeout 30 "$SIM" --interface cli0 --flood 5 $(nb_sim_nodes) | sed 's/^/proxy: /'
