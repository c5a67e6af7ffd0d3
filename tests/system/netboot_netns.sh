#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# uhs-netboot end to end in network namespaces this test creates: a LAN bridge in the server
# namespace, dnsmasq playing the home router (DHCP only) in another, the simulated Pis in a
# third. Covers: six CM5s booting at once, an unknown node ignored, silence while TFTP is
# unhealthy, a switch mid-boot never mixing images, rollback, a staged EEPROM update (served,
# fetched, reported), in.tftpd killed mid-transfer,
# fuzzed DHCP input, SIGHUP reload and a clean SIGTERM.
# Args: uhs-image uhs-netboot source-dir. Exit 125 = skipped.
set -euo pipefail
NETBOOT=$(realpath "$2")
SRC=$(realpath "$3")
BUILD=$(dirname "$(dirname "$NETBOOT")")
SIM="$BUILD/tests/pi-bootsim"
# shellcheck source=netboot/lib.sh
source "$SRC/tests/system/netboot/lib.sh"
. "$SRC/tests/lib/skip.sh"

for tool in ip in.tftpd dnsmasq openssl curl; do
  uhs_need_tools "$tool"
done
[ -x "$SIM" ] || uhs_needs "$SIM not built"
uhs_need_root "ip netns"

ID=$$
SRV=uhsnb-srv-$ID RTR=uhsnb-rtr-$ID CLI=uhsnb-cli-$ID
T=$(mktemp -d /tmp/uhs-netboot-netns.XXXXXX)
chmod 755 "$T"  # the daemon runs as nobody once its sockets are bound
DAEMON_PID= DNSMASQ_PID=
cleanup() {
  local rc=$?
  set +e
  [ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" 2>/dev/null && sleep 0.5
  [ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null
  [ -n "$DNSMASQ_PID" ] && kill -TERM "$DNSMASQ_PID" 2>/dev/null
  for ns in "$SRV" "$RTR" "$CLI"; do
    # Anything still running inside our namespaces is ours.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 125 ]; then
    echo "--- daemon log"; cat "$T/serve.log" 2>/dev/null | tail -40
    echo "kept $T"
  else
    rm -rf "$T"
  fi
  exit "$rc"
}
trap cleanup EXIT INT TERM

if ! ip netns add "$SRV"; then
  # Skip only where namespaces cannot exist at all (a container without CAP_SYS_ADMIN);
  # anywhere else a failing `ip netns add` is a failure of this machine's setup.
  if ! unshare --net true 2>/dev/null; then uhs_needs "no network namespaces here"; fi
  echo "FAIL: ip netns add $SRV"; exit 1
fi
ip netns add "$RTR"
ip netns add "$CLI"
inns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
inns "$SRV" ip link set lo up
inns "$SRV" ip link add br0 type bridge
inns "$SRV" ip addr add 10.77.0.2/24 dev br0
inns "$SRV" ip link set br0 up
for peer in "$RTR:rtr0" "$CLI:cli0"; do
  ns=${peer%%:*} dev=${peer##*:}
  ip link add "$dev" netns "$ns" type veth peer name "p-$dev" netns "$SRV"
  inns "$SRV" ip link set "p-$dev" master br0 up
  inns "$ns" ip link set lo up
  inns "$ns" ip link set "$dev" up
done
inns "$RTR" ip addr add 10.77.0.1/24 dev rtr0
inns "$CLI" ip addr add 10.77.0.50/24 dev cli0

fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }

# Fixtures: two images with known bytes, a cluster file for six enrolled CM5s.
nb_make_image "$T/out" img-a 3000000
nb_make_image "$T/out" img-b 3000000
nb_cluster "$T/cluster.yaml" 10.77.0.2 br0 "$SRC"

ip netns exec "$RTR" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=rtr0 --bind-interfaces \
  --dhcp-range=10.77.0.100,10.77.0.200,255.255.255.0,1h --dhcp-leasefile="$T/leases" \
  --dhcp-authoritative --no-ping --pid-file="$T/dnsmasq.pid" > "$T/dnsmasq.log" 2>&1 &
DNSMASQ_PID=$!

start_daemon() {
  # Not through inns (a function would put a subshell between us and the daemon's pid).
  ip netns exec "$SRV" "$NETBOOT" serve "$T/cluster.yaml" --images "$T/out" --image img-a \
    --state "$T/state" --http 10.77.0.2:9469 --user nobody >> "$T/serve.log" 2>&1 &
  DAEMON_PID=$!
  nb_wait_for 5 grep -qx uhs-netboot "/proc/$DAEMON_PID/comm" || fail "daemon pid $DAEMON_PID is not uhs-netboot"
  nb_wait_for 15 grep -q "event=tftp-healthy" "$T/serve.log" || fail "daemon never became healthy"
}
start_daemon
grep -q "event=privileges-dropped user=nobody" "$T/serve.log" || fail "daemon kept root"
[ "$(awk '/^Uid:/ {print $2}' "/proc/$DAEMON_PID/status")" = 65534 ] || fail "daemon uid is not nobody's"
pass "daemon up as nobody (in.tftpd healthy)"

# The in.tftpd the daemon runs now (its process group id), from the daemon's own log.
tftpd_pid() { grep -o 'event=tftpd-started pid=[0-9]*' "$T/serve.log" | tail -1 | cut -d= -f3; }

sim() { inns "$CLI" timeout 90 "$SIM" --interface cli0 "$@"; }

# 1. Six CM5s boot at once: router lease + proxy offer merged, every byte checked.
t0=$SECONDS
# shellcheck disable=SC2046
sim --expect "$T/out/img-a" --consistent $(nb_sim_nodes) > "$T/boot6.log" || { cat "$T/boot6.log"; fail "6-node boot"; }
[ "$(grep -c "BOOTED image img-a" "$T/boot6.log")" = 6 ] || { cat "$T/boot6.log"; fail "not 6 booted"; }
grep -q "dhcp address 10.77.0.1[0-9][0-9] tftp 10.77.0.2" "$T/boot6.log" || fail "no merged lease"
grep -q "//config.txt bytes" "$T/boot6.log" || fail "// path not served"
pass "6 simulated CM5s booted end to end in $((SECONDS - t0)) s"
# The daemon times each transfer until its in.tftpd process exits: wait for all six to finish.
six_done() { [ "$(inns "$SRV" curl -sf -m 5 http://10.77.0.2:9469/status | grep -c '"phase": "done"')" = 6 ]; }
nb_wait_for 10 six_done || { inns "$SRV" curl -sf -m 5 http://10.77.0.2:9469/status | head -80; fail "/status: not 6 nodes in phase done"; }
status=$(inns "$SRV" curl -sf -m 5 http://10.77.0.2:9469/status) || fail "GET /status"
grep -q '"path": "10000001/kernel_2712.img"' <<< "$status" || fail "/status lacks the kernel transfer"
for n in 1 2 3 4 5 6; do
  grep -q "\"name\": \"cm5-$n\"" <<< "$status" || fail "/status lacks cm5-$n"
done
[ "$(grep -c '"verdict": "offer"' <<< "$status")" = 6 ] || fail "/status: not 6 offers"
metrics=$(inns "$SRV" curl -sf -m 5 http://10.77.0.2:9469/metrics) || fail "GET /metrics"
grep -q '^uhs_netboot_tftp_healthy 1$' <<< "$metrics" || fail "/metrics tftp_healthy"
pass "/status and /metrics"

# 1a. Another local user writes a transfer line to in.tftpd's log socket (it must be 0666 for
# in.tftpd's user): the kernel's credentials give it away, and the daemon drops it.
setpriv --reuid=4242 --regid=4242 --clear-groups logger --socket-errors=on -d --rfc3164 \
  -u "$T/state/tftproot/dev/log" -t in.tftpd --id "RRQ from 10.77.0.99 filename 10000001/forged.img" ||
  fail "could not write to the log socket as uid 4242"
nb_wait_for 5 grep -q "event=tftpd-log-refused uid=4242" "$T/serve.log" || fail "a forged transfer line was not refused"
inns "$SRV" curl -sf -m 5 http://10.77.0.2:9469/status | grep -q forged.img && fail "/status shows a forged transfer"
pass "transfer lines from other local users are refused"

# 1b. Status clients that connect and then say nothing hold only their own slot: /status
# still answers at once and a node still boots while they sit there.
inns "$SRV" bash -c 'for i in $(seq 12); do exec {fd}<>/dev/tcp/10.77.0.2/9469; done; sleep 6' &
IDLE_PID=$!
sleep 0.5
t_idle=$(date +%s%N)
inns "$SRV" curl -sf -m 2 -o /dev/null http://10.77.0.2:9469/metrics || { kill "$IDLE_PID"; fail "/metrics stalled behind idle clients"; }
sim --expect "$T/out/img-a" --node 2c:cf:67:10:00:04,10000004,mac > "$T/idle.log" || { kill "$IDLE_PID"; cat "$T/idle.log"; fail "boot stalled behind idle status clients"; }
idle_ms=$(( ($(date +%s%N) - t_idle) / 1000000 ))
kill "$IDLE_PID" 2>/dev/null; wait "$IDLE_PID" 2>/dev/null || true
[ "$idle_ms" -lt 3000 ] || fail "a boot took $idle_ms ms behind idle status clients"
pass "12 idle status clients: /metrics and a boot in $idle_ms ms"

# 2. An unknown Pi gets the router's offer but never ours.
if sim --timeout 4 --node 2c:cf:67:99:99:99,99999999,serial > "$T/unknown.log"; then fail "unknown node booted"; fi
grep -q "router_offer=1 proxy_offer=0" "$T/unknown.log" || { cat "$T/unknown.log"; fail "unknown: wrong offers"; }
grep -q "verdict=unknown-node" "$T/serve.log" || fail "unknown node not logged"
pass "unknown node ignored"

# 3. TFTP unhealthy (in.tftpd frozen): the proxy stays silent; thawed: answers again.
TFTPD=$(tftpd_pid)
[ -n "$TFTPD" ] || fail "no in.tftpd child"
kill -STOP -- "-$TFTPD"
nb_wait_for 10 grep -q "event=tftp-unhealthy" "$T/serve.log" || { kill -CONT -- "-$TFTPD"; fail "unhealthy not detected"; }
if sim --timeout 3 --node 2c:cf:67:10:00:01,10000001,serial > "$T/unhealthy.log"; then kill -CONT -- "-$TFTPD"; fail "offered while unhealthy"; fi
kill -CONT -- "-$TFTPD"
# The simulator failed for the right reason: the router answered, we did not.
grep -q "router_offer=1 proxy_offer=0" "$T/unhealthy.log" || { cat "$T/unhealthy.log"; fail "unhealthy: wrong offers"; }
grep -q "verdict=tftp-unhealthy" "$T/serve.log" || fail "unhealthy verdict not logged"
nb_wait_for 10 bash -c "tail -1 '$T/serve.log' | grep -q tftp-healthy || grep -c event=tftp-healthy '$T/serve.log' | grep -q '^[2-9]'" || fail "never healthy again"
pass "silent while in.tftpd is unhealthy"

# 4. Switch mid-boot: the booting node finishes on its old image, the next boot gets the new one.
sim --expect "$T/out/img-a" --expect "$T/out/img-b" --consistent --pause-after 2 --pause-ms 2500 \
  --node 2c:cf:67:10:00:01,10000001,serial > "$T/midboot.log" &
SIMPID=$!
nb_wait_for 20 grep -q paused "$T/midboot.log" || fail "simulator never paused"
"$NETBOOT" switch cm5-1 img-b --cluster "$T/cluster.yaml" --images "$T/out" --state "$T/state" > "$T/switch.out"
grep -q "pending" "$T/switch.out" || fail "switch with a running daemon should be pending"
wait "$SIMPID" || { cat "$T/midboot.log"; fail "mid-boot simulator"; }
grep -q "BOOTED image img-a" "$T/midboot.log" || { cat "$T/midboot.log"; fail "mixed or wrong image mid-boot"; }
sim --expect "$T/out/img-a" --expect "$T/out/img-b" --consistent --node 2c:cf:67:10:00:01,10000001,serial > "$T/after.log" \
  || { cat "$T/after.log"; fail "boot after switch"; }
grep -q "BOOTED image img-b" "$T/after.log" || fail "switch not applied at next DISCOVER"
"$NETBOOT" rollback cm5-1 --cluster "$T/cluster.yaml" --state "$T/state" > "$T/rollback.out"
sim --expect "$T/out/img-a" --expect "$T/out/img-b" --consistent --node 2c:cf:67:10:00:01,10000001,serial > "$T/rolled.log" \
  || fail "boot after rollback"
grep -q "BOOTED image img-a" "$T/rolled.log" || fail "rollback not applied"
pass "switch mid-boot never mixed images; rollback applied at the next boot"

# 4b. Network EEPROM update: a staged pieeprom.upd/.sig reaches the node through in.tftpd's
# remap rules whatever image it boots, the simulated bootloader checks the sha256, and the
# daemon records the fetch. Needs a real bootloader image (../shared/fixtures/eeprom).
fixtures=$SRC/../shared/fixtures/eeprom
if [ -f "$fixtures/pieeprom-2026-08-12.bin" ]; then
  printf '[all]\nBOOT_ORDER=0xf12\nENABLE_SELF_UPDATE=1\n' > "$T/upd.conf"
  "$(realpath "$1")" eeprom set --in "$fixtures/pieeprom-2026-08-12.bin" --config "$T/upd.conf" \
    --out "$T/upd.bin" || fail "eeprom set for the update"
  "$NETBOOT" eeprom stage cm5-1 --cluster "$T/cluster.yaml" --state "$T/state" --force \
    --image "$T/upd.bin" --timestamp 1790000000 > "$T/stage.out" 2>&1 || { cat "$T/stage.out"; fail "eeprom stage"; }
  sim --self-update --expect "$T/out/img-a" --consistent --node 2c:cf:67:10:00:01,10000001,serial \
    > "$T/selfupdate.log" || { cat "$T/selfupdate.log"; fail "boot with a staged update"; }
  sha=$(head -c 64 "$T/state/tftproot/.eeprom/10000001/pieeprom.sig")
  grep -q "node 10000001 EEPROM update sha256 $sha bytes 2097152" "$T/selfupdate.log" \
    || { cat "$T/selfupdate.log"; fail "staged update not served"; }
  grep -q "BOOTED image img-a" "$T/selfupdate.log" || fail "boot after the update probe"
  nb_wait_for 10 test -f "$T/state/eeprom/10000001.fetched" || { tail -20 "$T/serve.log"; fail "the daemon did not record the fetch"; }
  "$NETBOOT" eeprom status cm5-1 --cluster "$T/cluster.yaml" --state "$T/state" > "$T/eeprom-status.out"
  grep -q "10000001/: pieeprom.upd fetched at" "$T/eeprom-status.out" || { cat "$T/eeprom-status.out"; fail "eeprom status: no fetch"; }
  # The node reports what it runs after the update (as overlays/bootloader-report does), from
  # its own address; any other address is refused.
  printf 'build-timestamp: 1786493216\nupdate-timestamp: 1790000000\nversion: f5e89631\n\n[all]\nENABLE_SELF_UPDATE=1\n' > "$T/report.txt"
  code=$(inns "$CLI" curl -s -m 5 -o /dev/null -w '%{http_code}' --data-binary @"$T/report.txt" \
    -H 'Content-Type: text/plain' http://10.77.0.2:9469/bootloader-report)
  [ "$code" = 403 ] || fail "a report from 10.77.0.50 (no node's address) got $code"
  inns "$CLI" ip addr add 10.77.0.11/24 dev cli0
  code=$(inns "$CLI" curl -s -m 5 -o /dev/null -w '%{http_code}' --interface 10.77.0.11 \
    --data-binary @"$T/report.txt" -H 'Content-Type: text/plain' http://10.77.0.2:9469/bootloader-report)
  inns "$CLI" ip addr del 10.77.0.11/24 dev cli0
  [ "$code" = 204 ] || fail "cm5-1's report got $code"
  "$NETBOOT" eeprom status cm5-1 --cluster "$T/cluster.yaml" --state "$T/state" > "$T/eeprom-status.out"
  grep -q "build 2026-08-12 (1786493216), update ts 1790000000, version f5e89631" "$T/eeprom-status.out" \
    && grep -q "staged update: applied" "$T/eeprom-status.out" || { cat "$T/eeprom-status.out"; fail "eeprom status after the report"; }
  "$NETBOOT" eeprom unstage cm5-1 --cluster "$T/cluster.yaml" --state "$T/state" > /dev/null || fail "eeprom unstage"
  sim --self-update --expect "$T/out/img-a" --node 2c:cf:67:10:00:01,10000001,serial > "$T/unstaged.log" \
    || { cat "$T/unstaged.log"; fail "boot after unstage"; }
  grep -q "node 10000001 no eeprom update" "$T/unstaged.log" || fail "unstaged update still served"
  pass "staged EEPROM update served through the remap, fetch recorded, node's report taken, unstaged"
else
  echo "skipped part: no $fixtures (network EEPROM update)"
fi

# 5. in.tftpd killed mid-transfer: the daemon restarts it, the client's retry succeeds.
sim --expect "$T/out/img-a" --pause-after 4 --pause-ms 500 --ack-delay-us 1500 \
  --node 2c:cf:67:10:00:03,10000003,serial > "$T/kill.log" &
SIMPID=$!
nb_wait_for 20 grep -q paused "$T/kill.log" || fail "simulator never paused"
sleep 1.2  # the kernel transfer (≈2000 blocks, 1.5 ms per ACK) is under way
TFTPD=$(tftpd_pid)
# Privileges: in.tftpd starts as root (from the daemon's root helper), so its transfer
# processes, once they are the tftp user, hold no capability at all; the daemon keeps only
# NET_BIND_SERVICE (bit 10) and NET_RAW (bit 13), none of them ambient.
caps() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
transfer_pids=
for pid in $(pgrep -g "$TFTPD"); do
  [ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" = 0 ] && continue
  [ -r "/proc/$pid/status" ] && transfer_pids="$transfer_pids $pid"
done
[ -n "$transfer_pids" ] || fail "no in.tftpd transfer process during the slow transfer"
for pid in $transfer_pids; do
  for set in CapPrm CapEff CapAmb CapInh; do
    v=$(caps "$pid" "$set")
    [ -z "$v" ] || [ "$v" = 0000000000000000 ] || fail "transfer process $pid has $set=$v"
  done
done
[ "$(caps "$DAEMON_PID" CapPrm)" = 0000000000002400 ] || fail "daemon CapPrm=$(caps "$DAEMON_PID" CapPrm)"
[ "$(caps "$DAEMON_PID" CapAmb)" = 0000000000000000 ] || fail "daemon CapAmb=$(caps "$DAEMON_PID" CapAmb)"
pass "transfer processes$transfer_pids hold no capability; the daemon only NET_BIND_SERVICE+NET_RAW"
kill -KILL -- "-$TFTPD"
wait "$SIMPID" || { cat "$T/kill.log"; fail "boot across in.tftpd kill"; }
grep -q "attempt 1 failed" "$T/kill.log" || { cat "$T/kill.log"; fail "the kill did not hit a transfer"; }
grep -q "BOOTED image img-a" "$T/kill.log" || fail "not booted after restart"
grep -q "event=tftpd-exited" "$T/serve.log" || fail "exit not logged"
pass "in.tftpd killed mid-transfer: restarted, retry succeeded"

# 5b. A switch applied while one of the node's transfers runs (a second DISCOVER of the node
# arrives mid-kernel): the file in flight comes whole from the old image, what follows from the
# new one; never a torn file.
sim --expect "$T/out/img-a" --expect "$T/out/img-b" --pause-after 4 --pause-ms 300 --ack-delay-us 1500 \
  --node 2c:cf:67:10:00:05,10000005,serial > "$T/inflight.log" &
SIMPID=$!
nb_wait_for 20 grep -q paused "$T/inflight.log" || fail "simulator never paused"
"$NETBOOT" switch cm5-5 img-b --cluster "$T/cluster.yaml" --images "$T/out" --state "$T/state" > /dev/null
sleep 0.8  # the kernel transfer (≈2000 blocks, 1.5 ms per ACK) is under way
sim --expect "$T/out/img-b" --node 2c:cf:67:10:00:05,10000005,serial > "$T/inflight2.log" \
  || { cat "$T/inflight2.log"; fail "second boot during the transfer"; }
grep -q "BOOTED image img-b" "$T/inflight2.log" || fail "the second DISCOVER did not apply the switch"
wait "$SIMPID" || { cat "$T/inflight.log"; fail "the transfer in flight across the switch"; }
grep -q "file 10000005/kernel_2712.img bytes 3000000 .* image img-a" "$T/inflight.log" \
  || { cat "$T/inflight.log"; fail "the kernel in flight was not whole from img-a"; }
grep -q "file 10000005/initramfs_2712 bytes .* image img-b" "$T/inflight.log" \
  || { cat "$T/inflight.log"; fail "the switch did not take effect during the first boot"; }
pass "switch applied mid-transfer: the file in flight stayed whole (img-a), the next came from img-b"

# 6. Fuzzed DHCP input: counted, dropped, daemon alive and still booting nodes.
sim --fuzz 3000 --node 2c:cf:67:10:00:02,10000002,mac > /dev/null
sleep 0.5
kill -0 "$DAEMON_PID" || fail "daemon died on fuzzed input"
malformed=$(inns "$SRV" curl -sf -m 5 http://10.77.0.2:9469/metrics | awk '/^uhs_netboot_dhcp_malformed_total/ {print $2}')
[ "${malformed:-0}" -gt 100 ] || fail "malformed count $malformed"
sim --expect "$T/out/img-a" --node 2c:cf:67:10:00:02,10000002,mac > "$T/postfuzz.log" || fail "boot after fuzz"
pass "fuzzed DHCP: $malformed malformed datagrams dropped, still serving"

# 6b. A TFTP request for a name in a node's directory that is not UTF-8 and holds an escape
# sequence: /status (which lists the node's files) still answers, the log line is escaped.
inns "$CLI" bash -c "printf '\\x00\\x0110000001/\\xff\\xfe\\x1b[2Jforged.txt\\x00octet\\x00' > /dev/udp/10.77.0.2/69"
nb_wait_for 10 grep -qF 'path="10000001/\xff\xfe\x1b[2Jforged.txt"' "$T/serve.log" || { tail -5 "$T/serve.log"; fail "hostile RRQ not logged escaped"; }
inns "$SRV" curl -sf -m 5 http://10.77.0.2:9469/status > "$T/status-hostile.json" || fail "GET /status after a non-UTF-8 RRQ"
grep -q "forged.txt" "$T/status-hostile.json" || fail "/status does not list the hostile request"
nb_wait_for 5 grep -q "event=tftp-nak pid=[0-9]* client=10.77.0.50 " "$T/serve.log" || fail "in.tftpd's NAK was not logged"
kill -0 "$DAEMON_PID" || fail "daemon died on a non-UTF-8 RRQ"
if grep -q "event=loop-error" "$T/serve.log"; then fail "the loop threw"; fi
pass "non-UTF-8 TFTP file name: escaped in the log, NAK logged, /status still answers"

# 7. SIGHUP reload (a node removed: it is no longer answered), then SIGTERM stops cleanly.
# The reloaded file also names another server address: in.tftpd and the DHCP sockets stay
# bound to the old one, so the daemon keeps offering it (and says so) until a restart.
nb_cluster "$T/cluster.yaml" 10.77.0.9 br0 "$SRC" cm5-6
kill -HUP "$DAEMON_PID"
nb_wait_for 10 grep -q "event=reloaded nodes=5" "$T/serve.log" || fail "reload"
grep -q "event=reload-kept-network .*tftp=10.77.0.2" "$T/serve.log" || fail "changed server address not reported"
sim --expect "$T/out/img-a" --expect "$T/out/img-b" --node 2c:cf:67:10:00:01,10000001,serial > "$T/reloaded.log" \
  || { cat "$T/reloaded.log"; fail "boot after a reload that changed network.server"; }
grep -q "tftp 10.77.0.2" "$T/reloaded.log" || fail "offer after reload does not name the bound TFTP address"
if sim --timeout 3 --node 2c:cf:67:10:00:06,10000006,mac > "$T/removed.log"; then fail "removed node still answered"; fi
grep -q "router_offer=1 proxy_offer=0" "$T/removed.log" || { cat "$T/removed.log"; fail "removed node: wrong offers"; }
pass "SIGHUP reload"
TFTPD=$(tftpd_pid)
kill -TERM "$DAEMON_PID"
for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$DAEMON_PID" 2>/dev/null; then fail "daemon did not stop on SIGTERM"; fi
wait "$DAEMON_PID" || fail "daemon exit code $?"
DAEMON_PID=
if [ -n "$TFTPD" ] && kill -0 "$TFTPD" 2>/dev/null; then fail "in.tftpd left running"; fi
grep -q "event=stopped" "$T/serve.log" || fail "no stopped log"
pass "SIGTERM: clean stop, in.tftpd gone"

# 8. A reload that imports a large image (800 MB here) runs beside the loop: /metrics answers
# at once and the reload completes. A daemon of its own: no --image, its own state and port.
mkdir -p "$T/out2" && cp -a "$T/out/img-a" "$T/out2/"
rm -rf "$T/out2/img-a/nodes/10000006" "$T/out2/img-a/nodes/2c-cf-67-10-00-06"
nb_cluster "$T/cluster2.yaml" 10.77.0.2 br0 "$SRC" cm5-6
ip netns exec "$SRV" "$NETBOOT" serve "$T/cluster2.yaml" --images "$T/out2" --state "$T/state2" \
  --http 127.0.0.1:9471 --user nobody > "$T/serve2.log" 2>&1 &
DAEMON_PID=$!
nb_wait_for 15 grep -q "event=tftp-healthy" "$T/serve2.log" || { cat "$T/serve2.log"; fail "second daemon never became healthy"; }
mkdir -p "$T/out2/img-big/boot" "$T/out2/img-big/nodes/10000006" "$T/out2/img-big/nodes/2c-cf-67-10-00-06"
head -c 800000000 /dev/zero > "$T/out2/img-big/boot/kernel_2712.img"
for d in 10000006 2c-cf-67-10-00-06; do printf 'arm_64bit=1\n' > "$T/out2/img-big/nodes/$d/config.txt"; done
nb_cluster "$T/cluster2.yaml" 10.77.0.2 br0 "$SRC"
kill -HUP "$DAEMON_PID"
nb_wait_for 5 grep -q "event=reload-started" "$T/serve2.log" || fail "reload not started"
inns "$SRV" curl -sf -m 1 -o /dev/null http://127.0.0.1:9471/metrics || fail "/metrics blocked by a reload's import"
nb_wait_for 60 grep -q "event=reloaded nodes=6" "$T/serve2.log" || { tail "$T/serve2.log"; fail "large reload never finished"; }
[ "$(stat -c %s "$T/state2/tftproot/.images/img-big/boot/kernel_2712.img")" = 800000000 ] || fail "img-big not imported"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || fail "second daemon exit code $?"
DAEMON_PID=
rm -rf "$T/out2" "$T/state2"
pass "a reload importing 800 MB never held up the loop"
echo "PASS"
