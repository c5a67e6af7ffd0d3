#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Times a full `uhs-image build` with an empty stage cache (the target's dpkg under qemu-user;
# it also saves the stage cache, which mmdebstrap has no counterpart of) against
# `mmdebstrap --variant=apt --architectures=arm64 --include=<the same packages>` producing a
# tarball, in the same run, with warm package caches on both sides (our store; mmdebstrap's
# apt archive pre-filled from it), prints the wall-time ratio and uhs's phases; then the
# no-op rebuild and a rebuild after an overlay change the initramfs does not read (/etc/motd
# in an extra overlay).
#   bench/build.sh [BUILD_DIR] [standin|example]   (defaults: build, standin)
# standin = tests/configs/build-standin.yaml (minbase + the Kubernetes stand-ins, ~100 packages);
# example = configs/super6c-cm5.yaml with the Kubernetes stand-in (real kernel, containerd...).
# Needs root, qemu-user binfmt and this host's Debian mirror; installs mmdebstrap if missing.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
uhs_image=$(cd "${1:-$src/build}" && pwd)/builder/cli/uhs-image
which_cluster=${2:-standin}
[ -x "$uhs_image" ] || { echo "bench: build uhs-image first ($uhs_image)"; exit 2; }
command -v jq > /dev/null || { echo "bench: jq missing (bash .ci/deps)"; exit 125; }
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root"; exit 125; }
grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 || { echo "bench: no qemu-aarch64 binfmt"; exit 125; }
if ! command -v mmdebstrap > /dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap > /dev/null
fi
work=$(mktemp -d)
# apt verifies signatures as the _apt user: mktemp's 0700 would hide the stand-in's keyring
# from it (NO_PUBKEY), so the work directory is world-readable.
chmod 0755 "$work"
server=""
trap '[ -n "$server" ] && kill $server 2> /dev/null; rm -rf "$work"' EXIT
now() { date +%s.%N; }
since() { awk "BEGIN {printf \"%.1f\", $(now) - $1}"; }

. "$src/bench/lib.sh"
mirror=$(bench_host_mirror)
[ -n "$mirror" ] || { echo "bench: no Debian mirror in /etc/apt"; exit 125; }
security=$(bench_host_security)

bash "$src/tests/fixtures/aptrepo/make_repo.sh" "$work/kube" "$src/tests/fixtures/aptrepo/kube-standin.recipe" --flat > /dev/null
python3 "$src/tests/fixtures/aptrepo/http_server.py" "$work/kube/repo" --lifetime 3600 > "$work/port" &
server=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
kube=http://127.0.0.1:$(cat "$work/port")

case $which_cluster in
  standin)
    mkdir -p "$work/c/keyrings"
    cp "$src/tests/configs/build-standin.yaml" "$work/c/cluster.yaml"
    cp -R "$src/tests/configs/build-standin-overlay" "$work/c/"
    cp "$work/kube/keyring.asc" "$work/c/keyrings/kube-standin.asc"
    cluster=$work/c/cluster.yaml ;;
  example)
    cp -r "$src/configs" "$work/c"
    cp "$work/kube/keyring.gpg" "$work/c/keyrings/kubernetes-apt-keyring.gpg"
    cluster=$work/c/super6c-cm5.yaml ;;
  *) echo "bench: unknown cluster '$which_cluster' (standin or example)"; exit 2 ;;
esac
export XDG_CACHE_HOME=$work/cache
"$uhs_image" lock "$cluster" --source "debian=$mirror" --source "kubernetes=$kube" > /dev/null
"$uhs_image" fetch "$cluster" --source "debian=$mirror" --source "kubernetes=$kube" > /dev/null
lock=$cluster.lock
npkg=$(grep -c '^package ' "$lock")

# An extra overlay with /etc/motd, so that a later change of it is an overlay-only change.
mkdir -p "$work/c/bench-motd/etc"
echo "uhs bench" > "$work/c/bench-motd/etc/motd"
sed -i 's|^\(  overlays: \[.*\)\]$|\1, ./bench-motd]|' "$cluster"
grep -q 'bench-motd' "$cluster" || { echo "bench: could not add the motd overlay to $cluster"; exit 1; }
build() { "$uhs_image" build "$cluster" --out "$work/out" --source "debian=$mirror" --source "kubernetes=$kube" "$@"; }
phases() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(", ".join(f"{p['"'"'phase'"'"']} {p['"'"'seconds'"'"']:.1f}" for p in d["phases"]))' "$1"; }

# Ours: a full build (empty stage cache), the store warm.
t=$(now)
build --json > "$work/cold.json"
ours=$(since "$t")
t=$(now)
build > "$work/noop"
noop=$(since "$t")
grep -q "up to date" "$work/noop" || { echo "bench: the rebuild was not a no-op"; cat "$work/noop"; exit 1; }
echo "uhs bench, changed" > "$work/c/bench-motd/etc/motd"
t=$(now)
build --json > "$work/motd.json"
motd=$(since "$t")
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["stage_cache_hit"], d' "$work/motd.json"
initramfs_cached=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["initramfs_cache_hit"])' "$work/motd.json")

echo "bench build ($which_cluster cluster, $npkg packages, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)):"
echo "  uhs-image build (cold)     : $ours s  (rootfs.tar $(stat -c %s "$work"/out/*/rootfs.tar | head -n1) B)"
echo "    phases: $(phases "$work/cold.json")"
# dpkg's own split of its time: the maintainer scripts (configure) are arm64 code that has to
# run emulated; prepare and unpack are the target dpkg's handling of the archives.
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["dpkg"]
top=sorted(d["packages"], key=lambda p: -p["configure"])[:6]
print(f"    dpkg: configure {d['"'"'configure'"'"']:.0f} s, prepare {d['"'"'prepare'"'"']:.0f} s, unpack {d['"'"'unpack'"'"']:.0f} s, triggers {d['"'"'triggers'"'"']:.0f} s")
print("    longest maintainer scripts: " + ", ".join(f"{p['"'"'package'"'"']} {p['"'"'configure'"'"']:.0f} s" for p in top))' "$work/cold.json"
echo "  no-op rebuild              : $noop s"
echo "  /etc/motd overlay changed  : $motd s  (initramfs from the cache: $initramfs_cached)"
echo "    phases: $(phases "$work/motd.json")"

# mmdebstrap: the same package names, its apt archive pre-filled with the same verified .debs
# (apt re-checks their hashes), the same SOURCE_DATE_EPOCH, a tarball out.
archives=$work/mm-archives
mkdir -p "$archives"
while read -r _ name version arch _ _ _ _ sha; do
  sha=${sha#sha256=}
  ln -f "$XDG_CACHE_HOME/uhs/store/sha256/${sha:0:2}/$sha" "$archives/${name}_${version//:/%3a}_$arch.deb"
done < <(grep '^package ' "$lock")
# name=version: the lock's versions, so that apt takes a backport where the lock has one (the
# example's kernel and its linux-base) instead of its default candidate.
include=$(awk '/^package / {print $2 "=" $3}' "$lock" | paste -sd, -)
# The sources as uhs reads them (never the YAML by hand).
"$uhs_image" plan "$cluster" --json > "$work/plan.json"
suites=$(bench_source_field "$work/plan.json" debian suites " ")
components=$(bench_source_field "$work/plan.json" debian components ",")
sources=()
for s in $suites; do sources+=("deb $mirror $s ${components//,/ }"); done
if jq -e '.inputs.config.subset.image.sources[] | select(.name == "security")' "$work/plan.json" > /dev/null; then
  [ -n "$security" ] || { echo "bench: no Debian security entry in /etc/apt"; exit 125; }
  for s in $(bench_source_field "$work/plan.json" security suites " "); do
    sources+=("deb $security $s $(bench_source_field "$work/plan.json" security components " ")")
  done
fi
sources+=("deb [signed-by=$work/kube/keyring.gpg] $kube/ /")
sde=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["source_date_epoch"])' "$work/cold.json")
t=$(now)
if ! SOURCE_DATE_EPOCH=$sde mmdebstrap --mode=root --variant=apt --architectures=arm64 \
  --include="$include" --skip=download/empty \
  --setup-hook="mkdir -p \"\$1\"/var/cache/apt/archives && cp $archives/*.deb \"\$1\"/var/cache/apt/archives/" \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
  "${suites%% *}" "$work/mm.tar" "${sources[@]}" > "$work/mmdebstrap.log" 2>&1; then
  echo "bench: mmdebstrap failed; the end of its output:"
  tail -n 40 "$work/mmdebstrap.log"
  exit 1
fi
mm=$(since "$t")
ratio=$(awk "BEGIN {printf \"%.2f\", $ours / $mm}")
echo "  mmdebstrap --variant=apt   : $mm s  (tarball $(stat -c %s "$work/mm.tar") B)"
echo "  ratio uhs/mmdebstrap       : $ratio"
# What a node fetches by TFTP at boot: config.txt's kernel and initramfs, its device tree.
image=$(ls -d "$work"/out/*/ | head -n 1)
for node in "$image"nodes/*/; do
  [ -f "$node/config.txt" ] || continue
  case $(basename "$node") in *-*) continue ;; esac # the MAC directory is the same set
  bytes=$(awk '/^(kernel|device_tree)=/ {sub(/^[a-z_]+=/, ""); print} /^initramfs / {print $2}' "$node/config.txt" |
    sort -u | while read -r f; do [ -e "$node/$f" ] && stat -L -c %s "$node/$f"; done | awk '{s += $1} END {print s + 0}')
  echo "  boot set $(basename "$node"): $bytes B, $(awk "BEGIN {printf \"%.1f\", $bytes / 3.3e6}") s at 3.3 MB/s"
done
