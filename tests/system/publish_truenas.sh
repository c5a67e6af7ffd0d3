#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# uhs-image publish against the TrueNAS stand-in (tests/fixtures/truenas/standin.py), started
# here on 127.0.0.1 over TLS with a certificate this test makes with openssl. Covers both API
# generations (REST v2.0 on 24.10, JSON-RPC over WebSocket on 25.04 and 25.10), idempotent
# re-publish, 5xx then success, auth failure, a dataset that already exists with other content,
# a connection dropped mid-call, a timeout told apart from a refusal, --prune, and greps every
# output for the API key and the CHAP secret.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"
uhs_image=$1 uhs_netboot=$2 source_dir=$3
for tool in python3 openssl tar; do
  uhs_need_tools "$tool"
done
standin=$source_dir/tests/fixtures/truenas/standin.py
T=$(mktemp -d /tmp/uhs-publish.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if [ "$failures" -eq 0 ]; then rm -rf "$T"; else echo "kept $T"; fi
}
failures=0
trap cleanup EXIT
run=0
check() { # check DESCRIPTION EXPECTED_CODE COMMAND... ; stdout+stderr in $out, kept in $T/out/
  local description=$1 expected=$2; shift 2
  run=$((run + 1))
  "$@" >"$T/out/$run.stdout" 2>"$T/out/$run.stderr"; local code=$?
  out=$(cat "$T/out/$run.stdout" "$T/out/$run.stderr")
  if [ "$code" -ne "$expected" ]; then
    echo "FAIL: $description: exit $code, expected $expected"; echo "$out" | sed 's/^/  | /'
    failures=$((failures + 1))
  fi
}
contains() { # contains DESCRIPTION TEXT  (in $out)
  if ! grep -qF -- "$2" <<<"$out"; then
    echo "FAIL: $1: output lacks '$2'"; echo "$out" | sed 's/^/  | /'
    failures=$((failures + 1))
  fi
}
lacks() { # lacks DESCRIPTION TEXT FILE...
  local description=$1 text=$2; shift 2
  if grep -qF -- "$text" "$@"; then
    echo "FAIL: $description: found '$text' in: $(grep -lF -- "$text" "$@" | tr '\n' ' ')"
    failures=$((failures + 1))
  fi
}
has() { # has DESCRIPTION TEXT FILE
  if ! grep -qF -- "$2" "$3"; then
    echo "FAIL: $1: $3 lacks '$2'"; sed 's/^/  | /' "$3" | tail -20
    failures=$((failures + 1))
  fi
}
expect() { # expect DESCRIPTION CONDITION...
  local description=$1; shift
  if ! "$@"; then echo "FAIL: $description"; failures=$((failures + 1)); fi
}

mkdir -p "$T/out" "$T/home/.config/uhs"
export HOME=$T/home

# --- fixtures: certificate, secrets, cluster file, images ---
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 \
  || uhs_needs "openssl cannot make a certificate"
api_key=1-UHSTESTKEYaaaaBBBBccccDDDDeeeeFFFFgggg0123456789
chap_secret=chapUHS0secret7
printf '%s\n' "$api_key" >"$HOME/.config/uhs/truenas.key"
chmod 600 "$HOME/.config/uhs/truenas.key"
printf '%s\n' "$chap_secret" >"$T/chap.secret"
chmod 600 "$T/chap.secret"
# A second home whose key file holds a key the NAS does not know (mode 0600, so it is sent).
mkdir -p "$T/wronghome/.config/uhs"
printf '%s\n' "0-wrongWRONGwrongWRONGwrong" >"$T/wronghome/.config/uhs/truenas.key"
chmod 600 "$T/wronghome/.config/uhs/truenas.key"
sed -e "s|keyrings/kubernetes-apt-keyring.gpg|$source_dir/configs/keyrings/kubernetes-apt-keyring.gpg|" \
  "$source_dir/configs/super6c-cm5.yaml" >"$T/cluster.yaml"
cluster=$T/cluster.yaml

# An image as `uhs-image build` lays it out: rootfs.tar, boot/, nodes/<dir>/.
make_image() { # make_image ID
  local id=$1 root=$T/rootfs-$1
  mkdir -p "$root/etc" "$root/usr/bin" "$root/var/lib/containerd" "$T/images/$id/boot"
  echo "image $id" >"$root/etc/uhs-release"
  printf '#!/bin/sh\necho hi\n' >"$root/usr/bin/hello"; chmod 755 "$root/usr/bin/hello"
  ln -sf ../usr/bin/hello "$root/etc/hello-link"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 \
    -C "$root" -cf "$T/images/$id/rootfs.tar" .
  echo "kernel $id" >"$T/images/$id/boot/kernel_2712.img"
  for n in 1 2 3 4 5 6; do
    for dir in a1b2c30$n 2c-cf-67-a1-c3-0$n; do
      mkdir -p "$T/images/$id/nodes/$dir"
      echo "config $id" >"$T/images/$id/nodes/$dir/config.txt"
      echo "cmdline $id" >"$T/images/$id/nodes/$dir/cmdline.txt"
    done
  done
}
img_a=aaaa000000000000000000000000000000000000000000000000000000000001
img_b=bbbb000000000000000000000000000000000000000000000000000000000002
img_c=cccc000000000000000000000000000000000000000000000000000000000003
for id in $img_a $img_b $img_c; do make_image $id; done

# start_standin NAME GENERATION [standin options...]: a fresh server; its state in $T/NAME.
port=
start_standin() {
  local name=$1 generation=$2; shift 2
  mkdir -p "$T/$name/mnt"
  rm -f "$T/$name/port"
  python3 "$standin" --generation "$generation" --cert "$T/tls.crt" --key "$T/tls.key" \
    --api-key-file "$HOME/.config/uhs/truenas.key" --port-file "$T/$name/port" \
    --log "$T/$name/requests.log" --state "$T/$name/state.json" --mnt-root "$T/$name/mnt" \
    "$@" 2>>"$T/$name/standin.stderr" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$T/$name/port" ] && break; sleep 0.1; done
  [ -s "$T/$name/port" ] || { echo "FAIL: stand-in $name did not start"; cat "$T/$name/standin.stderr"; exit 1; }
  port=$(cat "$T/$name/port")
}
stop_standin() {
  local pid=${pids[-1]}
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  unset 'pids[-1]'
}
publish() { # publish NAME IMAGE-ID [options...]
  local name=$1 id=$2; shift 2
  local chap_args=(--chap-secret-file "$T/chap.secret")
  if [ -n "${nochap:-}" ]; then chap_args=(); fi
  "$uhs_image" publish "$cluster" --image "$id" --out "$T/images" \
    --mount "$T/$name/mnt/tank/uhs/images" "${chap_args[@]}" --url "${url:-https://127.0.0.1:$port}" --ca "$T/tls.crt" --timeout "${timeout:-5}" "$@"
}
mutations() { # the create/update/delete calls in a request log since line $2
  tail -n +"$2" "$1" | grep -E '"method": "[a-z.]+\.(create|update|delete)"' || true
}

# --- no contact needed ---
mkdir -p "$T/emptyhome"
check "dry-run without an image or key" 0 env HOME="$T/emptyhome" "$uhs_image" publish "$cluster" --dry-run
contains "dry-run names the dataset" "dataset   tank/uhs/images/<image-id>"
contains "dry-run names the share" "nfs share /mnt/tank/uhs/images/<image-id>  ro, maproot root:root, networks 192.168.50.0/24"
contains "dry-run lists node state" "cm5-6  zvol tank/uhs/state/cm5-6  extent uhs-super6c-cm5-6  target uhs-super6c-cm5-6  initiator iqn.2025-01.arpa.home.lab:uhs-super6c-cm5-6"
contains "dry-run: no CHAP by default" "no CHAP"
check "dry-run --json with --image" 0 "$uhs_image" publish "$cluster" --dry-run --json --image $img_a --prune 2
contains "dry-run json snapshot" "\"snapshot\": \"tank/uhs/images/$img_a@uhs-$img_a\""
contains "dry-run json prune" '"prune_keep": 2'

chmod 644 "$HOME/.config/uhs/truenas.key"
check "key readable by others is refused" 2 publish none $img_a
contains "mode message" "has mode 0644, readable by others: run 'chmod 600"
chmod 600 "$HOME/.config/uhs/truenas.key"
chmod 640 "$T/chap.secret"
check "CHAP secret readable by group is refused" 2 publish none $img_a
contains "chap mode message" "CHAP secret file $T/chap.secret has mode 0640"
chmod 600 "$T/chap.secret"
url=http://127.0.0.1:9 check "plain http is refused" 2 publish none $img_a
contains "http refusal" "the API key would travel in clear"
url=ws://127.0.0.1:9 check "ws:// is refused" 2 publish none $img_a
contains "ws refusal" "the API key would travel in clear"

# A port nothing listens on: refused, not a timeout.
closed_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
check "closed port" 1 "$uhs_image" publish "$cluster" --image $img_a --out "$T/images" --mount "$T" \
  --chap-secret-file "$T/chap.secret" --url "https://127.0.0.1:$closed_port" --ca "$T/tls.crt"
contains "closed port is a refusal" "connection refused"

# --- 24.10: REST v2.0 after the WebSocket upgrade answers 404 ---
start_standin rest 24.10
check "TLS is verified (no --ca)" 1 "$uhs_image" publish "$cluster" --image $img_a --out "$T/images" \
  --mount "$T/rest/mnt/tank/uhs/images" --chap-secret-file "$T/chap.secret" --url "https://127.0.0.1:$port"
contains "untrusted certificate" "TLS failed"
contains "untrusted certificate hint" "--ca FILE"
check "publish on 24.10 (REST)" 0 publish rest $img_a
contains "REST chosen" "api: REST v2.0"
contains "dataset created" "created   dataset  tank/uhs/images/$img_a"
contains "snapshot created" "created   snapshot  tank/uhs/images/$img_a@uhs-$img_a"
has "upgrade answered 404" '"http": "GET /api/current", "status": 404' "$T/rest/requests.log"
has "REST used" '"http": "POST /api/v2.0/pool/dataset"' "$T/rest/requests.log"
has "dataset id URL-encoded in PUT" "\"http\": \"PUT /api/v2.0/pool/dataset/id/tank%2Fuhs%2Fimages%2F$img_a\"" "$T/rest/requests.log"
has "zfs.snapshot on 24.10" '"method": "zfs.snapshot.create"' "$T/rest/requests.log"
lacks "no REST call without a valid key" '"auth": "invalid"' "$T/rest/requests.log"
lacks "no REST call without a key" '"auth": "missing"' "$T/rest/requests.log"
has "CHAP secret arrived" "sha256:$(printf %s "$chap_secret" | sha256sum | cut -d' ' -f1)" "$T/rest/requests.log"
expect "rootfs extracted" grep -qx "image $img_a" "$T/rest/mnt/tank/uhs/images/$img_a/etc/uhs-release"
expect "mode kept" test -x "$T/rest/mnt/tank/uhs/images/$img_a/usr/bin/hello"
expect "symlink kept" test "$(readlink "$T/rest/mnt/tank/uhs/images/$img_a/etc/hello-link")" = ../usr/bin/hello
state=$T/rest/state.json
expect "dataset readonly" python3 -c "import json,sys; d=json.load(open('$state'))['datasets']['tank/uhs/images/$img_a']; sys.exit(d['readonly']!='ON' or d['user_properties']['uhs:image-id']!='$img_a')"
expect "share ro, maproot root, subnet" python3 -c "
import json,sys; s=[x for x in json.load(open('$state'))['sharing.nfs'] if x['path']=='/mnt/tank/uhs/images/$img_a']
sys.exit(not(len(s)==1 and s[0]['ro'] and s[0]['maproot_user']=='root' and s[0]['networks']==['192.168.50.0/24']))"
expect "six zvols, extents, targets, LUNs" python3 -c "
import json,sys; d=json.load(open('$state'))
ok = all(d['datasets'].get('tank/uhs/state/cm5-%d'%n,{}).get('type')=='VOLUME' for n in range(1,7))
ok = ok and len(d['iscsi.extent'])==6 and len(d['iscsi.target'])==6 and len(d['iscsi.targetextent'])==6
ok = ok and all(t['groups'][0]['authmethod']=='CHAP' for t in d['iscsi.target'])
ok = ok and sorted(i['initiators'][0] for i in d['iscsi.initiator'])[0]=='iqn.2025-01.arpa.home.lab:uhs-super6c-cm5-1'
ok = ok and sorted(t['name'] for t in d['iscsi.target'])[0]=='uhs-super6c-cm5-1'
ok = ok and all(t['auth_networks']==['192.168.50.0/24'] for t in d['iscsi.target'])
sys.exit(not ok)"

lines=$(($(wc -l <"$T/rest/requests.log") + 1))
check "re-publish on 24.10 changes nothing" 0 publish rest $img_a
contains "re-publish: dataset unchanged" "unchanged dataset  tank/uhs/images/$img_a"
expect "re-publish: no create/update/delete" test -z "$(mutations "$T/rest/requests.log" $lines)"
stop_standin

# 5xx on REST calls: two 503s after the upgrade (404) and system.info, then success.
start_standin rest 24.10 --fail-5xx 2 --fail-5xx-after 2
lines=$(($(wc -l <"$T/rest/requests.log") + 1))
check "REST 5xx then success" 0 publish rest $img_a
expect "two 503s were answered" test "$(tail -n +$lines "$T/rest/requests.log" | grep -c '"status": 503')" -eq 2
stop_standin

# Too many 5xx: bounded retries, then a clear error.
start_standin rest 24.10 --fail-5xx 50 --fail-5xx-after 2
check "REST 5xx forever gives up" 1 publish rest $img_a
contains "attempts are bounded" "HTTP 503"
contains "attempt count" "(after 4 attempts)"
stop_standin

start_standin rest 24.10 --drop-on sharing.nfs.create
check "REST connection dropped mid-call" 1 publish rest $img_b
contains "drop reported" "the connection was closed during sharing.nfs.create"
contains "drop hint" "run it again"
check "REST re-run after the drop finishes" 0 publish rest $img_b
contains "share made on the re-run" "created   nfs-share  /mnt/tank/uhs/images/$img_b"
stop_standin

start_standin rest 24.10 --stall-on pool.dataset.query
timeout=1 check "REST stalled call times out" 1 publish rest $img_a
contains "timeout reported as such" "timed out during pool.dataset.query"
stop_standin

start_standin rest 24.10 --flood-on pool.dataset.query
lines=$(($(wc -l <"$T/rest/requests.log") + 1))
check "REST answer without end is refused" 1 publish rest $img_c
contains "flood reported" "the answer to pool.dataset.query is over 64 MiB: refused"
expect "flood: nothing changed" test -z "$(mutations "$T/rest/requests.log" $lines)"
stop_standin

start_standin restauth 24.10
check "REST auth failure" 1 env HOME="$T/wronghome" "$uhs_image" publish "$cluster" --image $img_a --out "$T/images" \
  --mount "$T/restauth/mnt/tank/uhs/images" --chap-secret-file "$T/chap.secret" \
  --url "https://127.0.0.1:$port" --ca "$T/tls.crt"
contains "REST auth failure reported" "HTTP 401: the API key was rejected"
expect "REST auth failure: nothing changed" test -z "$(mutations "$T/restauth/requests.log" 1)"
has "REST: the wrong key was sent and refused" '"auth": "invalid"' "$T/restauth/requests.log"
stop_standin

# --- 25.04: JSON-RPC 2.0 over WebSocket ---
start_standin rpc 25.04
check "publish on 25.04 (JSON-RPC)" 0 publish rpc $img_a
contains "JSON-RPC chosen" "api: JSON-RPC 2.0 over WebSocket"
has "upgrade answered 101" '"http": "GET /api/current", "status": 101' "$T/rpc/requests.log"
lacks "no REST on 25.04" '"api": "rest"' "$T/rpc/requests.log"
has "logged in with the key" '"auth": "valid"' "$T/rpc/requests.log"
lacks "every ping was answered" '"pong": false' "$T/rpc/requests.log"
has "zfs.snapshot on 25.04" '"method": "zfs.snapshot.create"' "$T/rpc/requests.log"
expect "rootfs extracted (25.04)" grep -qx "image $img_a" "$T/rpc/mnt/tank/uhs/images/$img_a/etc/uhs-release"
lines=$(($(wc -l <"$T/rpc/requests.log") + 1))
check "re-publish on 25.04 changes nothing" 0 publish rpc $img_a --json
contains "json result" '"outcome": "unchanged"'
expect "re-publish (25.04): no create/update/delete" test -z "$(mutations "$T/rpc/requests.log" $lines)"
stop_standin

start_standin rpc 25.04 --fail-5xx 2
lines=$(($(wc -l <"$T/rpc/requests.log") + 1))
check "WebSocket upgrade 5xx then success" 0 publish rpc $img_a
expect "two 503s on the upgrade" test "$(tail -n +$lines "$T/rpc/requests.log" | grep -c '"status": 503')" -eq 2
stop_standin

start_standin rpc 25.04 --drop-on pool.dataset.create
check "JSON-RPC connection dropped mid-call" 1 publish rpc $img_b
contains "drop reported (rpc)" "the connection was closed during pool.dataset.create"
check "JSON-RPC re-run after the drop finishes" 0 publish rpc $img_b
contains "dataset made on the re-run" "created   dataset  tank/uhs/images/$img_b"
stop_standin

# The server ends the session between calls: the client sees the close before its next call
# and reconnects (and logs in again) instead of sending into a dead connection.
start_standin rpcclose 25.04 --close-after-calls 20
check "JSON-RPC session closed between calls" 0 publish rpcclose $img_a
expect "reconnected several times" test "$(grep -c '"status": 101' "$T/rpcclose/requests.log")" -ge 3
expect "logged in on every session" test "$(grep -c '"auth": "valid"' "$T/rpcclose/requests.log")" -eq "$(grep -c '"status": 101' "$T/rpcclose/requests.log")"
stop_standin
start_standin rpcclose2 25.04 --close-after-calls 1
check "JSON-RPC server closing after every call is reported" 1 publish rpcclose2 $img_a
contains "reconnects are bounded" "the server keeps closing the WebSocket"
stop_standin

start_standin rpc 25.04 --stall-on pool.dataset.query
timeout=1 check "JSON-RPC stalled call times out" 1 publish rpc $img_a
contains "timeout reported (rpc)" "timed out during pool.dataset.query"
stop_standin

start_standin rpcauth 25.04
check "JSON-RPC auth failure" 1 env HOME="$T/wronghome" "$uhs_image" publish "$cluster" --image $img_a --out "$T/images" \
  --mount "$T/rpcauth/mnt/tank/uhs/images" --chap-secret-file "$T/chap.secret" \
  --url "https://127.0.0.1:$port" --ca "$T/tls.crt"
contains "JSON-RPC auth failure reported" "the API key was rejected (auth.login_with_api_key)"
expect "JSON-RPC auth failure: nothing called after login" test "$(grep -c '"method"' "$T/rpcauth/requests.log")" -eq 1
has "JSON-RPC: the wrong key was refused" '"auth": "invalid"' "$T/rpcauth/requests.log"
stop_standin

# Dataset already there with someone else's content: refused, untouched.
start_standin other 25.04 --preexisting tank/uhs/images/$img_a
lines=$(($(wc -l <"$T/other/requests.log") + 1))
check "dataset exists with other content" 1 publish other $img_a
contains "other content refused" "already exists and is not this image (it has no uhs:image-id property)"
expect "their file untouched" test -f "$T/other/mnt/tank/uhs/images/$img_a/somebody-elses-file"
expect "nothing extracted into it" test ! -e "$T/other/mnt/tank/uhs/images/$img_a/etc/uhs-release"
expect "no update of their dataset" test -z "$(mutations "$T/other/requests.log" $lines | grep -F "$img_a" || true)"
stop_standin

# --- 25.10: pool.snapshot.* (zfs.snapshot.* is private there) and --prune ---
start_standin new 25.10
nochap=1 check "publish on 25.10 without CHAP" 0 publish new $img_a
expect "no CHAP: targets admit the initiator from the subnet only" python3 -c "
import json,sys; d=json.load(open('$T/new/state.json'))
sys.exit(not(d['iscsi.auth']==[] and all(t['groups'][0]['authmethod']=='NONE' and t['auth_networks']==['192.168.50.0/24'] for t in d['iscsi.target'])))"
check "publish on 25.10 with CHAP updates the targets" 0 publish new $img_a
contains "targets updated to CHAP" "updated   target  uhs-super6c-cm5-1"
has "pool.snapshot on 25.10" '"method": "pool.snapshot.create"' "$T/new/requests.log"
lacks "no zfs.snapshot on 25.10" '"method": "zfs.snapshot.' "$T/new/requests.log"
check "publish B on 25.10" 0 publish new $img_b
# Node cm5-1 is switched to image A by uhs-netboot: A is referenced, B is not.
check "uhs-netboot switch cm5-1 to A" 0 "$uhs_netboot" switch cm5-1 $img_a --cluster "$cluster" \
  --images "$T/images" --state "$T/netboot-state"
check "prune without the netboot state refuses" 1 publish new $img_c --prune 1 --state "$T/nowhere"
contains "prune needs the state" "cannot tell which images the nodes use"
check "publish C with --prune 1" 0 publish new $img_c --prune 1 --state "$T/netboot-state"
contains "A kept (a node serves it)" "kept      prune  tank/uhs/images/$img_a"
contains "B deleted" "deleted   prune  tank/uhs/images/$img_b"
contains "C kept (newest)" "kept      prune  tank/uhs/images/$img_c"
expect "B gone from the NAS" python3 -c "import json,sys; d=json.load(open('$T/new/state.json')); sys.exit('tank/uhs/images/$img_b' in d['datasets'] or any('$img_b' in s['path'] for s in d['sharing.nfs']))"
expect "state zvols survive prune" python3 -c "import json,sys; d=json.load(open('$T/new/state.json')); sys.exit('tank/uhs/state/cm5-1' not in d['datasets'])"
stop_standin

# --- no secret anywhere: our stdout/stderr, the stand-in's request log and stderr, every file
# publish wrote (the extracted trees) and the netboot state. The stand-in's state.json is the
# NAS's own database, which holds the CHAP secret as the real one does, so it is left out.
files=$(find "$T/out" "$T"/*/requests.log "$T/images" "$T"/*/standin.stderr "$T"/*/mnt "$T/netboot-state" -type f)
for secret in "$api_key" "$chap_secret"; do
  # shellcheck disable=SC2086
  lacks "secret leak" "$secret" $files
done
expect "outputs were captured" test "$(ls "$T/out" | wc -l)" -gt 40

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "publish_truenas: all passed ($run commands)"
