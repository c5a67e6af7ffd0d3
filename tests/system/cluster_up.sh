#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `uhs-image cluster up` against real sshd: three "nodes" (one control plane, two workers),
# each a network namespace with the system's sshd, its own host key, and its own /etc (an
# overlay in a private mount namespace, so /etc/kubernetes is the node's). The nodes' PATH puts
# the test's kubeadm and kubectl (tests/system/cluster_up/) first; they record their arguments
# and configs and make the files the real ones would. The workstation is a fourth namespace
# holding the LAN bridge. Cases: init once and join the rest; a second run records nothing; a
# wiped worker is joined again, alone; a failing `kubeadm config validate` names the node and
# step; a changed host key is refused with the node named.
# Args: uhs-image uhs-netboot source-dir. Exit 125 = skipped.
set -euo pipefail
UHS=$(realpath "$1")
SRC=$(realpath "$3")
STANDIN="$SRC/tests/system/cluster_up"

. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"
uhs_need_root "ip netns and mount namespaces"
uhs_need_tools ip ssh ssh-keygen sshd unshare nsenter script

ID=$$
WS=uhscu-ws-$ID
NODES=(n1 n2 n3)
declare -A IP=([n1]=10.79.0.11 [n2]=10.79.0.12 [n3]=10.79.0.13)
declare -A SSHD_PID=()
T=$(mktemp -d /tmp/uhs-cluster-up.XXXXXX)
cleanup() {
  local rc=$?
  set +e
  for node in "${NODES[@]}"; do
    [ -n "${SSHD_PID[$node]:-}" ] && kill -TERM "${SSHD_PID[$node]}" 2>/dev/null
  done
  for ns in "$WS" $(for node in "${NODES[@]}"; do nsname "$node"; done); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 125 ]; then
    for node in "${NODES[@]}"; do
      echo "--- $node: sshd log"; tail -20 "$T/$node/sshd.log" 2>/dev/null
      echo "--- $node: kubeadm calls"; cat "$T/$node/calls" 2>/dev/null
    done
    echo "kept $T"
  else
    rm -rf "$T"
  fi
  exit "$rc"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }
nsname() { echo "uhscu-$1-$ID"; }

# --- the LAN: a bridge in the workstation's namespace, a veth to each node.
if ! ip netns add "$WS"; then
  if ! unshare --net true 2>/dev/null; then uhs_needs "no network namespaces here"; fi
  fail "ip netns add $WS"
fi
ip netns exec "$WS" ip link set lo up
ip netns exec "$WS" ip link add br0 type bridge
ip netns exec "$WS" ip addr add 10.79.0.10/24 dev br0
ip netns exec "$WS" ip link set br0 up
for node in "${NODES[@]}"; do
  ns=$(nsname "$node")
  ip netns add "$ns"
  ip link add "e-$node-$ID" netns "$ns" type veth peer name "p-$node-$ID" netns "$WS"
  ip netns exec "$WS" ip link set "p-$node-$ID" master br0 up
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip link set "e-$node-$ID" name eth0
  ip netns exec "$ns" ip addr add "${IP[$node]}/24" dev eth0
  ip netns exec "$ns" ip link set eth0 up
done

# --- the workstation's key, the cluster file and its lock.
ssh-keygen -q -t ed25519 -N '' -C cluster-up-test -f "$T/id_ed25519"
cp "$T/id_ed25519.pub" "$T/authorized_keys"
mkdir -p "$T/api" "$T/ws"
echo "10.79.0.11:6443" > "$T/api/endpoint"
: > "$T/api/members"
cat > "$T/ws/lab.yaml" <<YAML
apiVersion: uhs/v1
cluster:
  name: lab
  domain: lab.home.arpa
  ssh_authorized_keys: ["$(cat "$T/id_ed25519.pub")"]
network:
  server: 10.79.0.10
  interface: br0
  subnet: 10.79.0.0/24
  gateway: 10.79.0.1
storage:
  truenas:
    host: 10.79.0.5
    api_key_file: nas.key
    dataset: tank/uhs
image:
  sources:
    - name: debian
      uri: auto
      suites: [trixie]
      components: [main]
      keyring: $SRC/tests/configs/keyrings/test-archive.gpg
  packages: [containerd, kubeadm]
  kernel: linux-image-arm64
kubernetes:
  version: "1.31"
  pod_cidr: 10.244.0.0/16
  service_cidr: 10.96.0.0/12
  control_plane_endpoint: 10.79.0.11:6443
nodes:
  - {name: n1, slot: 1, model: cm5, ip: 10.79.0.11, role: control-plane}
  - {name: n2, slot: 2, model: cm5, ip: 10.79.0.12, role: worker}
  - {name: n3, slot: 3, model: cm5, ip: 10.79.0.13, role: worker}
YAML
zeros=$(printf '%064d' 0)
cat > "$T/ws/lab.yaml.lock" <<LOCK
format 1
request $zeros
architecture arm64
package kubeadm 1.31.2-1.1 arm64 source=kubeadm from=kubernetes path=kubeadm_1.31.2-1.1_arm64.deb size=1 sha256=$zeros
LOCK

# --- sshd per node, in the node's namespace, with the node's own /etc and /run.
start_sshd() {
  local node=$1 dir=$T/$1
  mkdir -p "$dir"
  [ -e "$dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_host_ed25519_key"
  cat > "$dir/sshd_config" <<CONF
ListenAddress ${IP[$node]}:22
HostKey $dir/ssh_host_ed25519_key
PidFile none
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv PATH=$STANDIN:/usr/sbin:/usr/bin:/sbin:/bin UHS_TEST_NODE_DIR=$dir UHS_TEST_APISERVER=$T/api
CONF
  mkdir -p "$dir/rw"
  # shellcheck disable=SC2016 # expanded by the inner bash, with the node's directory as $1
  ip netns exec "$(nsname "$node")" unshare --mount --propagation private bash -c '
    set -e
    dir=$1
    mount -t tmpfs tmpfs "$dir/rw"
    mkdir "$dir/rw/upper" "$dir/rw/work"
    mount -t overlay overlay -o "lowerdir=/etc,upperdir=$dir/rw/upper,workdir=$dir/rw/work" /etc
    mount -t tmpfs tmpfs /run
    mkdir -m 0755 /run/sshd
    exec /usr/sbin/sshd -D -e -f "$dir/sshd_config"' bash "$dir" >> "$dir/sshd.log" 2>&1 &
  SSHD_PID[$node]=$!
  local deadline=$((SECONDS + 10))
  until ip netns exec "$WS" bash -c "exec 3<>/dev/tcp/${IP[$node]}/22" 2>/dev/null; do
    kill -0 "${SSHD_PID[$node]}" 2>/dev/null || fail "$node: sshd exited: $(tail -3 "$dir/sshd.log")"
    [ "$SECONDS" -ge "$deadline" ] && fail "$node: sshd not listening after 10 s"
    sleep 0.1
  done
}
stop_sshd() {
  local node=$1 pid=${SSHD_PID[$1]}
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -ge "$deadline" ] && kill -KILL "$pid" 2>/dev/null
    sleep 0.1
  done
  SSHD_PID[$1]=
}
# Runs a command in a node's mount namespace (where its sshd sees its /etc). Entering a mount
# namespace moves the caller to that namespace's root; in a chroot (tests/fresh-machine.sh) that
# is the host's /, outside the overlay, so -r -w take sshd's own root and directory too.
on_node() { local node=$1; shift; nsenter -t "${SSHD_PID[$node]}" -m -r -w -- "$@"; }
for node in "${NODES[@]}"; do start_sshd "$node"; done

up() {
  timeout 120 ip netns exec "$WS" "$UHS" cluster up "$T/ws/lab.yaml" --identity "$T/id_ed25519" \
    --timeout 30 "$@" > "$T/out" 2> "$T/err"
}
calls() { if [ -e "$T/$1/calls" ]; then wc -l < "$T/$1/calls"; else echo 0; fi; }

# 1. A new cluster: init on n1, n2 and n3 joined, the kubeconfig written.
up --json || fail "first run: exit $? $(cat "$T/err")"
grep -qx "kubeadm config validate --config /tmp/uhs-kubeadm.[A-Za-z0-9]*" "$T/n1/calls" ||
  fail "n1's config was not validated: $(cat "$T/n1/calls")"
[ "$(grep -c '^kubeadm init --config /tmp/uhs-kubeadm.* --upload-certs$' "$T/n1/calls")" = 1 ] ||
  fail "init did not run exactly once on n1"
grep -q '^kubeadm token create --ttl 1h --print-join-command$' "$T/n1/calls" || fail "no token"
for node in n2 n3; do
  grep -q '^kubeadm join --config ' "$T/$node/calls" || fail "$node not joined"
  ! grep -q '^kubeadm init' "$T/$node/calls" || fail "$node ran init"
done
init_config=$(grep -l 'kind: ClusterConfiguration' "$T"/n1/config.*.yaml | tail -1)
for line in 'kubernetesVersion: v1.31.2' 'controlPlaneEndpoint: 10.79.0.11:6443' \
  '  podSubnet: 10.244.0.0/16' '  serviceSubnet: 10.96.0.0/12' '  name: n1' \
  '  criSocket: unix:///run/containerd/containerd.sock' '      value: 10.79.0.11' \
  'cgroupDriver: systemd' '  advertiseAddress: 10.79.0.11'; do
  grep -qxF -- "$line" "$init_config" || fail "init config lacks '$line'"
done
# The stand-in keeps call N's config as config.N.yaml.
join_config=$T/n3/config.$(grep -n '^kubeadm join' "$T/n3/calls" | tail -1 | cut -d: -f1).yaml
grep -qxF '      value: 10.79.0.13' "$join_config" || fail "n3's join config has not its node-ip"
grep -qxF '    apiServerEndpoint: 10.79.0.11:6443' "$join_config" || fail "n3: endpoint"
python3 - "$T/out" <<'PY' || fail "first run's JSON: $(cat "$T/out")"
import json, sys
doc = json.load(open(sys.argv[1]))
got = {n["name"]: n["result"] for n in doc["nodes"]}
assert doc["ok"] and got == {"n1": "initialised", "n2": "joined", "n3": "joined"}, got
assert doc["kubernetes_version"] == "v1.31.2" and doc["kubeconfig"]["written"], doc
PY
[ "$(stat -c %a "$T/ws/lab.kubeconfig")" = 600 ] || fail "kubeconfig mode"
grep -qx 'admin of n1' "$T/ws/lab.kubeconfig" || fail "kubeconfig is not n1's admin.conf"
[ "$(wc -l < "$T/ws/lab.known_hosts")" = 3 ] || fail "known_hosts: $(cat "$T/ws/lab.known_hosts")"
! grep -q '^n[123]: ' "$T/err" || fail "progress lines without a terminal: $(cat "$T/err")"
pass "init on n1 once, n2 and n3 joined, kubeconfig 0600, 3 host keys recorded"

# 2. Run again: nothing recorded anywhere, the kubeconfig left alone.
before=$(for node in "${NODES[@]}"; do calls "$node"; done)
kubeconfig_before=$(stat -c %i:%Y "$T/ws/lab.kubeconfig")
up || fail "second run: exit $? $(cat "$T/err")"
after=$(for node in "${NODES[@]}"; do calls "$node"; done)
[ "$before" = "$after" ] || fail "second run called kubeadm: $before -> $after"
[ "$(stat -c %i:%Y "$T/ws/lab.kubeconfig")" = "$kubeconfig_before" ] || fail "kubeconfig rewritten"
grep -q 'n2  worker  10.79.0.12  unchanged' "$T/out" || fail "second run's text: $(cat "$T/out")"
# On a terminal (script(1) gives it one), progress per node and step.
timeout 120 script -qec "ip netns exec $WS $UHS cluster up $T/ws/lab.yaml --identity $T/id_ed25519" \
  /dev/null > "$T/tty" || fail "run on a terminal: $(tail -5 "$T/tty")"
for line in 'n1: connect' 'n2: connect' 'n3: connect' 'n1: members' 'n1: kubeconfig'; do
  grep -q "^$line"$'\r'"\?$" "$T/tty" || fail "no '$line' on the terminal: $(cat "$T/tty")"
done
after=$(for node in "${NODES[@]}"; do calls "$node"; done)
[ "$before" = "$after" ] || fail "the terminal run called kubeadm: $before -> $after"
pass "second run is a no-op; on a terminal it shows each node's steps"

# 3. n3's state is wiped: only n3 joins again, with a fresh token.
on_node n3 rm -rf /etc/kubernetes
n2_before=$(calls n2)
n1_before=$(calls n1)
up || fail "third run: exit $? $(cat "$T/err")"
[ "$(calls n2)" = "$n2_before" ] || fail "n2 was touched"
[ "$(tail -n +"$((n1_before + 1))" "$T/n1/calls")" = "kubeadm token create --ttl 1h --print-join-command" ] ||
  fail "n1 did more than issue a token: $(tail -n +"$((n1_before + 1))" "$T/n1/calls")"
[ "$(grep -c '^kubeadm join' "$T/n3/calls")" = 2 ] || fail "n3 not joined again"
on_node n3 test -e /etc/kubernetes/kubelet.conf || fail "n3 has no kubelet.conf"
pass "a wiped worker is joined again, alone"

# 4. kubeadm config validate fails on n2 (wiped too): the node and step are named, no join.
on_node n2 rm -rf /etc/kubernetes
touch "$T/n2/validate-fails"
n2_before=$(calls n2)
if up; then fail "validate failure: exit 0"; fi
grep -q 'uhs-image cluster up: error: node n2: validate: exit 1: strict decoding error' "$T/err" ||
  fail "validate failure not named: $(cat "$T/err")"
! tail -n +"$((n2_before + 1))" "$T/n2/calls" | grep -q '^kubeadm join' || fail "n2 joined anyway"
rm "$T/n2/validate-fails"
up || fail "after fixing validate: exit $? $(cat "$T/err")"
pass "a failing validate names n2 and the step; fixed, n2 joins"

# 5. n2's host key changes: refused, n2 named, nothing run there.
stop_sshd n2
rm "$T/n2/ssh_host_ed25519_key" "$T/n2/ssh_host_ed25519_key.pub"
start_sshd n2
on_node n2 rm -rf /etc/kubernetes  # a new sshd is a new mount namespace: the node was rebuilt
n2_before=$(calls n2)
if up; then fail "changed host key: exit 0"; fi
grep -q 'uhs-image cluster up: error: node n2: connect: ssh root@10.79.0.12 failed: .*Host key verification failed' "$T/err" ||
  fail "changed host key not named: $(cat "$T/err")"
[ "$(calls n2)" = "$n2_before" ] || fail "a command ran on n2 behind a changed host key"
grep -q 'ssh-keygen -R 10.79.0.12' "$T/err" || fail "no hint how to accept a reinstalled node"
pass "a changed host key is refused with the node named"
