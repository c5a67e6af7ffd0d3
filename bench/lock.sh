#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Times `uhs-image lock` on the example cluster (configs/super6c-cm5.yaml, with a local stand-in
# for the Kubernetes repository) against apt-get's own resolution of the same request on the
# same mirror, in the same run, prints the ratio, and asserts both resolve the same set.
#   bench/lock.sh [BUILD_DIR]     (default: build)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
uhs_image=${1:-$src/build}/builder/cli/uhs-image
[ -x "$uhs_image" ] || { echo "bench: build uhs-image first ($uhs_image)"; exit 2; }
for tool in apt-get apt-cache gpg dpkg-deb python3 jq; do
  command -v $tool >/dev/null || { echo "bench: $tool missing"; exit 125; }
done
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT

. "$src/bench/lib.sh"
mirror=$(bench_host_mirror)
[ -n "$mirror" ] || { echo "bench: no Debian mirror in /etc/apt"; exit 125; }
security=$(bench_host_security)

bash "$src/tests/fixtures/aptrepo/make_repo.sh" "$work/kube" "$src/tests/fixtures/aptrepo/kube-standin.recipe" --flat
python3 "$src/tests/fixtures/aptrepo/http_server.py" "$work/kube/repo" --lifetime 900 > "$work/port" &
server=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
kube=http://127.0.0.1:$(cat "$work/port")

cp -r "$src/configs" "$work/configs"
cp "$work/kube/keyring.gpg" "$work/configs/keyrings/kubernetes-apt-keyring.gpg"
cluster=$work/configs/super6c-cm5.yaml
debian_keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# The request as uhs reads it (never the YAML by hand: comments, flow lists, quoting).
"$uhs_image" plan "$cluster" --json > "$work/plan.json"
image() { jq -r ".inputs.config.subset.image | $1" "$work/plan.json"; }
source_field() { bench_source_field "$work/plan.json" "$1" "$2" " "; }

security_args=()
if [ -n "$(image '.sources[] | select(.name == "security") | .name')" ]; then
  [ -n "$security" ] || { echo "bench: no Debian security entry in /etc/apt"; exit 125; }
  security_args=(--source "security=$security")
fi

t0=$(date +%s.%N)
"$uhs_image" lock "$cluster" --store "$work/store" --source "debian=$mirror" --source "kubernetes=$kube" \
  "${security_args[@]}"
t1=$(date +%s.%N)

# apt on the same mirror and suites, empty dpkg status, arm64 only, no recommends.
apt=$work/apt
mkdir -p "$apt/etc/apt/apt.conf.d" "$apt/etc/apt/preferences.d" "$apt/var/lib/dpkg" \
  "$apt/var/lib/apt/lists/partial" "$apt/var/cache/apt/archives/partial"
: > "$apt/var/lib/dpkg/status"
suites=$(source_field debian suites)
components=$(source_field debian components)
{
  for s in $suites; do echo "deb [signed-by=$debian_keyring] $mirror $s $components"; done
  if [ ${#security_args[@]} -gt 0 ]; then
    security_components=$(source_field security components)
    for s in $(source_field security suites); do
      echo "deb [signed-by=$debian_keyring] $security $s $security_components"
    done
  fi
  echo "deb [signed-by=$work/kube/keyring.gpg] $kube/ /"
} > "$apt/etc/apt/sources.list"
aptopts=(-o Dir="$apt" -o Dir::State::status="$apt/var/lib/dpkg/status" -o APT::Architecture=arm64
  -o APT::Architectures=arm64 -o Acquire::Languages=none -o APT::Install-Recommends=false
  -o Dir::Etc::Parts="$apt/etc/apt/apt.conf.d" -o Debug::NoLocking=true -o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false)
t2=$(date +%s.%N)
apt-get "${aptopts[@]}" -qq update
# The same request as uhs: Essential/required candidates, the packages, the kernel.
base=$(apt-cache "${aptopts[@]}" dumpavail | awk -v RS= '/\nPriority: required/ || /\nEssential: yes/ {
  match($0, /^Package: [^\n]*/); print substr($0, 10, RLENGTH - 9)}' | sort -u)
wanted=$(image '.packages | join(" ")')
kernel=$(image '.kernel')
apt-get "${aptopts[@]}" --simulate install $base $wanted $kernel > "$work/apt.out"
t3=$(date +%s.%N)

sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1 \2/p' "$work/apt.out" | sort > "$work/apt.set"
sed -n 's/^package \([^ ]*\) \([^ ]*\) .*/\1 \2/p' "$cluster.lock" | sort > "$work/uhs.set"
uhs_s=$(awk "BEGIN {print $t1 - $t0}"); apt_s=$(awk "BEGIN {print $t3 - $t2}")
echo "uhs-image lock: ${uhs_s} s ($(wc -l < "$work/uhs.set") packages)"
echo "apt-get update + --simulate: ${apt_s} s ($(wc -l < "$work/apt.set") packages)"
echo "ratio uhs/apt: $(awk "BEGIN {printf \"%.2f\", $uhs_s / $apt_s}")"
if ! diff -u "$work/apt.set" "$work/uhs.set" > "$work/diff"; then
  echo "FAIL: resolved sets differ (- apt, + uhs):"
  grep '^[-+][^-+]' "$work/diff"
  exit 1
fi
echo "ok: the resolved set equals apt's"
