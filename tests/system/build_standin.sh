#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Label "build": a real `uhs-image build` of a small trixie arm64 minbase cluster
# (tests/configs/build-standin.yaml) from this host's own Debian mirror (uri: auto) plus the
# Kubernetes stand-in repository generated from tests/fixtures/aptrepo/kube-standin.recipe and
# served on 127.0.0.1. The target's own dpkg runs the maintainer scripts under qemu-user.
# Checks the root (owners, modes, dpkg status, the stand-ins' preinst/postinst effects,
# policy-rc.d gone, enabled units), boot/ and nodes/; then builds again from scratch under
# another TZ, umask, LANG and working directory and requires every artifact to be identical
# (printing `uhs-image diff` when not); then a no-op rebuild and an overlay-only rebuild
# that must re-use the stage cache. Skipped (125) without root, qemu-user binfmt or mirror
# (a failure instead in CI, which provides all three: tests/lib/skip.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"
uhs_image=$1
src=$3
fixtures=$src/tests/fixtures/aptrepo

uhs_need_root "chroot, mount namespaces"
grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
  uhs_needs "no enabled qemu-aarch64 binfmt entry (bash .ci/arm64-emulation)"
uhs_need_tools python3 tar dpkg-deb gpg sha256sum dtc
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || uhs_needs "debian-archive-keyring missing"

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk "BEGIN {printf \"%.1f\", $(now) - $1}"; }

# The stand-in Kubernetes repository, served on loopback for the whole test (bounded lifetime).
bash "$fixtures/make_repo.sh" "$work/kube" "$fixtures/kube-standin.recipe" --flat
python3 "$fixtures/http_server.py" "$work/kube/repo" --lifetime 2400 > "$work/port" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(head -n1 "$work/port")
[ -n "$port" ] || fail "the stand-in HTTP server did not start"
kube="--source=kubernetes=http://127.0.0.1:$port/"

# The cluster file beside its stand-in keyring and overlay.
a=$work/a
mkdir -p "$a/keyrings"
cp "$src/tests/configs/build-standin.yaml" "$a/cluster.yaml"
cp -R "$src/tests/configs/build-standin-overlay" "$a/"
cp "$work/kube/keyring.asc" "$a/keyrings/kube-standin.asc"

export XDG_CACHE_HOME=$work/cache-a
uhs_need_mirror
"$uhs_image" lock "$a/cluster.yaml" "$kube" || fail "lock"
lock=$a/cluster.yaml.lock
echo "locked $(grep -c '^package ' "$lock") packages"

# Build A.
start=$(now)
(cd "$a" && "$uhs_image" build cluster.yaml --out "$work/out-a" --disk "$kube" --json > "$work/a.json")
echo "build A (stage cache cold): $(elapsed "$start") s"
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image_id"])' "$work/a.json")
img=$work/out-a/$id
[ -f "$img/manifest.json" ] || fail "no manifest.json in $img"
ls "$work/out-a" | grep -q partial && fail "a temp directory was left in the output"
# Nothing the chroot mounted (/proc, /sys, /dev) is visible on the host: it lived in the
# child's own mount namespace.
! grep -q " $work/" /proc/self/mounts || fail "the build left mounts on the host: $(grep " $work/" /proc/self/mounts)"

# The root: owners, modes, mtimes, build-only files gone (Python's tarfile reads the pax tar).
python3 - "$img/rootfs.tar" "$lock" <<'PY'
import sys, tarfile, re, datetime
tar_path, lock_path = sys.argv[1], sys.argv[2]
dates = re.findall(r"^source \S+ \S+ date=(\S+)", open(lock_path).read(), re.M)
sde = max(int(datetime.datetime.strptime(d, "%Y-%m-%dT%H:%M:%SZ").replace(
    tzinfo=datetime.timezone.utc).timestamp()) for d in dates)
def fail(msg):
    print("FAIL:", msg); sys.exit(1)
members = {}
with tarfile.open(tar_path) as t:
    if t.format != tarfile.PAX_FORMAT and not any(m.pax_headers for m in t.getmembers()):
        pass  # restricted pax: ustar headers unless an entry needs more
    for m in t.getmembers():
        members[m.name] = m
        if m.mtime > sde:
            fail(f"{m.name}: mtime {m.mtime} is after SOURCE_DATE_EPOCH {sde}")
        if m.uname or m.gname:
            fail(f"{m.name}: owner names '{m.uname}:{m.gname}' (numeric owners only)")
        if not m.name.startswith("."):
            fail(f"{m.name}: not relative to ./")
    status = t.extractfile("./var/lib/dpkg/status").read().decode()
    postinst = t.extractfile("./var/lib/kubelet/uhs-standin-postinst").read().decode()
    preinst = t.extractfile("./etc/kubernetes/uhs-standin-preinst").read().decode()
    machine_id = t.extractfile("./etc/machine-id").read()
    hostname = t.extractfile("./etc/hostname").read()
def expect(name, mode, uid=0, gid=0, kind=None, link=None):
    m = members.get(name)
    if m is None:
        fail(f"{name} missing from rootfs.tar")
    if mode is not None and (m.mode & 0o7777) != mode:
        fail(f"{name}: mode {m.mode:04o}, expected {mode:04o}")
    if (m.uid, m.gid) != (uid, gid):
        fail(f"{name}: owner {m.uid}:{m.gid}, expected {uid}:{gid}")
    if kind == "dir" and not m.isdir(): fail(f"{name} is not a directory")
    if kind == "link" and (not m.issym() or m.linkname != link):
        fail(f"{name}: expected a symlink to {link}, got {m.linkname!r}")
expect(".", 0o755, kind="dir")
expect("./tmp", 0o1777, kind="dir")
expect("./root", 0o700, kind="dir")
expect("./bin", None, kind="link", link="usr/bin")
expect("./usr/bin/kubelet", 0o755)
expect("./usr/bin/passwd", 0o4755)
expect("./etc/shadow", 0o640, gid=42)
expect("./etc/uhs-standin-overlay", 0o644)
expect("./etc/systemd/system/multi-user.target.wants/kubelet.service", None, kind="link",
       link="/usr/lib/systemd/system/kubelet.service")
expect("./etc/systemd/system/multi-user.target.wants/uhs-standin-marker.service", None,
       kind="link", link="/usr/lib/systemd/system/uhs-standin-marker.service")
for gone in ["./usr/sbin/policy-rc.d", "./usr/sbin/start-stop-daemon.REAL",
             "./var/cache/uhs-debs", "./var/log/dpkg.log", "./var/cache/ldconfig/aux-cache",
             "./var/lib/dpkg/status-old"]:
    if gone in members:
        fail(f"{gone} is in the image (build-only or non-reproducible)")
if any(n.startswith("./etc/ssh/ssh_host_") for n in members):
    fail("SSH host keys in the shared root")
expect("./usr/sbin/start-stop-daemon", 0o755)
# The cluster file's admin keys, for root (sshd: prohibit-password), and root's home kept 0700.
expect("./root/.ssh/authorized_keys", 0o644)
with tarfile.open(tar_path) as t:
    keys = t.extractfile("./root/.ssh/authorized_keys").read().decode()
if keys != "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHn0bCkVxP1wQ8b1zq3Yh0m5Zp2cYv8Hq7sKfD3eLxQw standin@test\n":
    fail(f"authorized_keys holds {keys!r}, not the cluster file's key")
# Every locked package is installed, configured, by the target's dpkg.
state = dict(re.findall(r"^Package: (\S+)\n(?:.*\n)*?Status: (.*)$", status, re.M))
locked = re.findall(r"^package (\S+) ", open(lock_path).read(), re.M)
for name in locked:
    if state.get(name) != "install ok installed":
        fail(f"dpkg status of {name}: {state.get(name)!r}")
# The stand-ins' maintainer scripts ran inside the arm64 target, with policy-rc.d refusing.
for line in ["arch=arm64", "machine=aarch64", "policy-rc.d=101"]:
    if line not in postinst.split("\n"):
        fail(f"kubelet postinst record lacks {line!r}: {postinst!r}")
if preinst != "preinst install\n":
    fail(f"kubeadm preinst record: {preinst!r}")
if machine_id != b"" or hostname != b"localhost\n":
    fail(f"machine-id {machine_id!r} / hostname {hostname!r} are not the shared-root values")
print(f"rootfs.tar: {len(members)} entries, {len(locked)} packages installed, mtimes <= {sde}")
PY

# The root works as an arm64 system: its kubelet prints its version through the target's sh.
mkdir "$work/chroot"
tar -C "$work/chroot" -xf "$img/rootfs.tar"
version=$(chroot "$work/chroot" /usr/bin/kubelet)
[ "$version" = "Kubernetes v1.31.2" ] || fail "kubelet --version printed '$version'"
rm -rf "$work/chroot"

# boot/ and nodes/.
# BCM2712's firmware inflates a gzip kernel: boot/ holds it compressed, the same bytes inside.
gzip -t "$img/boot/kernel_2712.img" || fail "boot/kernel_2712.img is not gzip-compressed"
cmp <(gzip -dc "$img/boot/kernel_2712.img") <(tar -xOf "$img/rootfs.tar" ./boot/vmlinuz-6.12.0-uhs-standin) ||
  fail "boot/kernel_2712.img is not the root's kernel"
gzip -t "$img/boot/initramfs_2712" || fail "boot/initramfs_2712 is not the postinst's initramfs"
for f in bcm2712-rpi-cm5l-cm5io.dtb bcm2712-rpi-cm5-cm5io.dtb; do
  [ -s "$img/boot/$f" ] || fail "boot/$f missing"
done
[ -d "$img/boot/overlays" ] || fail "boot/overlays/ missing"
for dir in a1b2c301 2c-cf-67-a1-c3-01 a1b2c302 2c-cf-67-a1-c3-02; do
  for f in config.txt cmdline.txt kernel_2712.img initramfs_2712; do
    [ -e "$img/nodes/$dir/$f" ] || fail "nodes/$dir/$f missing or dangling"
  done
  grep -q "nfsroot=10.1.0.5:.*$id" "$img/nodes/$dir/cmdline.txt" || fail "nodes/$dir/cmdline.txt has no nfsroot for $id"
done
[ -e "$img/nodes/a1b2c302/bcm2712-rpi-cm5-cm5io.dtb" ] || fail "the cm5 node's device tree link is dangling"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["spdxVersion"]=="SPDX-2.3", d' "$img/sbom.spdx.json"
[ -s "$img/disk.img" ] || fail "--disk wrote no disk.img"

# Build B from scratch: no stage cache, its own store, another TZ, umask, locale and directory.
elsewhere=$work/elsewhere/deeper
mkdir -p "$elsewhere"
start=$(now)
(cd "$elsewhere" && umask 077 && TZ=Pacific/Kiritimati LANG=de_DE.UTF-8 LC_ALL=de_DE.UTF-8 \
  XDG_CACHE_HOME=$work/cache-b "$uhs_image" build ../../a/cluster.yaml --out "$work/out-b" \
  --no-cache --disk "$kube" > "$work/b.out")
echo "build B (--no-cache, other TZ/umask/LANG/cwd): $(elapsed "$start") s"
[ -d "$work/out-b/$id" ] || fail "build B made another image-id: $(ls "$work/out-b")"
[ ! -d "$work/cache-b/uhs/stages" ] || [ -z "$(ls -A "$work/cache-b/uhs/stages")" ] ||
  fail "--no-cache wrote the stage cache"
sums() { (cd "$1" && find . \( -type f -o -type l \) -print0 | LC_ALL=C sort -z |
  while IFS= read -r -d '' f; do
    if [ -L "$f" ]; then echo "link $(readlink "$f") $f"; else echo "$(sha256sum < "$f" | cut -d' ' -f1) $f"; fi
  done); }
sums "$img" > "$work/sums-a"
sums "$work/out-b/$id" > "$work/sums-b"
if ! cmp -s "$work/sums-a" "$work/sums-b"; then
  diff "$work/sums-a" "$work/sums-b" || true
  "$uhs_image" diff "$img" "$work/out-b/$id" | head -n 20 || true
  fail "the two builds differ"
fi
echo "reproducible: $(wc -l < "$work/sums-a") artifacts identical"

# Killed builds (SIGKILL, as a crash or the OOM killer would): one in the target's dpkg of the
# Essential set, one in its dpkg of the rest, one while rootfs.tar is written (the configured
# root from a copy of A's stage cache). Each build removes what the killed one before it left;
# none may leave a stage cache entry or a process behind; the build after them gives A's bytes.
kill_when() { # NAME CACHE SETTLE GLOB: start a build, kill it SETTLE s after GLOB (below a
  # work directory of OUT) first matches
  local name=$1 cache=$2 settle=$3 glob=$4
  XDG_CACHE_HOME=$cache "$uhs_image" build "$a/cluster.yaml" --out "$work/out-k" --disk "$kube" \
    > /dev/null 2> "$work/kill-$name.err" &
  local pid=$! found=""
  for _ in $(seq 3000); do # at most 600 s
    found=$(compgen -G "$work/out-k/.*.partial-*/$glob" | head -n 1 || true)
    [ -n "$found" ] && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.2
  done
  [ -n "$found" ] || { cat "$work/kill-$name.err" >&2; fail "killed build '$name': its stage never came"; }
  sleep "$settle"
  kill -0 "$pid" 2> /dev/null || fail "killed build '$name': it ended before the kill"
  kill -KILL "$pid"
  wait "$pid" 2> /dev/null || true
  echo "killed build '$name' at ${found#"$work/out-k/"}"
  # Its chroot's PID 1 dies with it (PR_SET_PDEATHSIG), and every process of its namespace
  # with that: nothing may still run inside its root (bounded wait, 10 s).
  local alive=""
  for _ in $(seq 50); do
    alive=$(for p in /proc/[0-9]*; do readlink "$p/root" 2> /dev/null; done | grep -F "$work/out-k/" || true)
    [ -z "$alive" ] && break
    sleep 0.2
  done
  [ -z "$alive" ] || fail "killed build '$name' left processes in its root: $alive"
  # Only its own work directory is left: the build before it was removed when it started.
  local left
  left=$(ls -A "$work/out-k" | grep -c '\.partial-' || true)
  [ "$left" -eq 1 ] || fail "after killed build '$name': $left work directories in OUT: $(ls -A "$work/out-k")"
}
mkdir -p "$work/out-k"
# The rest's packages are staged while the target's dpkg installs the Essential set.
kill_when essential-dpkg "$work/cache-k" 2 'root/var/cache/uhs-debs/rest/*'
# The real start-stop-daemon is set aside exactly while the rest installs.
kill_when other-dpkg "$work/cache-k" 5 'root/usr/sbin/start-stop-daemon.REAL'
[ -z "$(compgen -G "$work/cache-k/uhs/stages/[!.]*" || true)" ] ||
  fail "a killed build left a stage cache entry: $(ls -A "$work/cache-k/uhs/stages")"
cp -R "$work/cache-a" "$work/cache-k2"
kill_when rootfs-tar "$work/cache-k2" 0 'image/.rootfs.tar.tmp.*'
XDG_CACHE_HOME=$work/cache-k2 "$uhs_image" build "$a/cluster.yaml" --out "$work/out-k" --disk "$kube" > /dev/null
[ -z "$(ls -A "$work/out-k" | grep -v "^$id\$")" ] || fail "left in OUT after the rerun: $(ls -A "$work/out-k")"
sums "$work/out-k/$id" > "$work/sums-k"
cmp -s "$work/sums-a" "$work/sums-k" || { diff "$work/sums-a" "$work/sums-k" || true; fail "the rerun after the kills differs from build A"; }
echo "killed 3 builds; each next build removed the leftover, the rerun gave A's bytes"

# No-op: the complete image is left alone, quickly.
start=$(now)
out=$(cd "$a" && "$uhs_image" build cluster.yaml --out "$work/out-a" "$kube")
t=$(elapsed "$start")
echo "no-op rebuild: $t s: $out"
echo "$out" | grep -q "up to date" || fail "no-op rebuild did not say up to date"
awk "BEGIN {exit !($t <= 2.0)}" || fail "no-op rebuild took $t s (limit 2 s)"

# Overlay-only change: a new image-id, the configured root from the stage cache (no dpkg).
echo "changed" > "$a/build-standin-overlay/etc/uhs-standin-overlay"
start=$(now)
(cd "$a" && "$uhs_image" build cluster.yaml --out "$work/out-a" "$kube" --json > "$work/c.json")
echo "overlay-only rebuild: $(elapsed "$start") s"
python3 - "$work/c.json" "$id" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["stage_cache_hit"], d
assert d["image_id"] != sys.argv[2], d
assert not any(p["phase"] == "configure" for p in d["phases"]), d
PY
new_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image_id"])' "$work/c.json")
[ "$(tar -xOf "$work/out-a/$new_id/rootfs.tar" ./etc/uhs-standin-overlay)" = changed ] ||
  fail "the overlay change is not in the new image"
echo "ok"
