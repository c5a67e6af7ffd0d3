#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Label "network": locks a real trixie arm64 set from this host's own Debian mirror (uri: auto)
# and fetches a few of its packages. Then locks the kernel from trixie-backports, with
# trixie-security from the host's security archive (uri: auto), and compares the locked set with
# `apt-get --simulate install` over the same suites (private configuration, empty dpkg status).
# Skipped (125) when the mirror cannot be reached (a failure in CI: tests/lib/skip.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"
uhs_image=$1
src=$3
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || uhs_needs "$keyring missing (debian-archive-keyring)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e '/^image:/,/^nodes:/{/^nodes:/!d}' "$src/tests/configs/good.yaml" > "$work/cluster.yaml"
cat >> "$work/cluster.yaml" <<YAML
image:
  architecture: arm64
  variant: minbase
  sources:
    - name: debian
      uri: auto
      suites: [trixie, trixie-updates]
      components: [main, non-free-firmware]
      keyring: $keyring
  packages: [systemd-sysv, udev, kmod, iproute2, iptables, openssh-server, ca-certificates,
             containerd, runc, open-iscsi, nfs-common, initramfs-tools, raspi-firmware]
  kernel: linux-image-arm64
kubernetes:
  version: "1.31"
  control_plane_endpoint: 10.1.0.11:6443
YAML
start=$(date +%s.%N)
uhs_need_mirror
"$uhs_image" lock "$work/cluster.yaml" --store "$work/store" || { echo "FAIL: lock"; exit 1; }
end=$(date +%s.%N)
lock=$work/cluster.yaml.lock
count=$(grep -c '^package ' "$lock")
echo "locked $count packages in $(awk "BEGIN {print $end - $start}") s"
for p in base-files libc6 systemd systemd-sysv openssh-server containerd linux-image-arm64 raspi-firmware; do
  grep -q "^package $p .* arm64 \|^package $p .* all " "$lock" || { echo "FAIL: $p not locked"; exit 1; }
done
[ "$count" -gt 100 ] || { echo "FAIL: only $count packages"; exit 1; }
grep -q '^source debian trixie date=' "$lock"
grep -q '^source debian trixie-updates date=' "$lock"
"$uhs_image" lock --check "$work/cluster.yaml"

echo "== linux-image-arm64/trixie-backports against apt-get --simulate"
uhs_need_tools apt-get
bpo=$work/bpo
mkdir -p "$bpo"
sed -e '/^image:/,/^nodes:/{/^nodes:/!d}' "$src/tests/configs/good.yaml" > "$bpo/cluster.yaml"
cat >> "$bpo/cluster.yaml" <<YAML
image:
  architecture: arm64
  variant: minbase
  sources:
    - name: debian
      uri: auto
      suites: [trixie, trixie-backports]
      components: [main]
      keyring: $keyring
    - name: security
      uri: auto
      suites: [trixie-security]
      components: [main]
      keyring: $keyring
  packages: [openssh-server, initramfs-tools]
  kernel: linux-image-arm64/trixie-backports
kubernetes:
  version: "1.31"
  control_plane_endpoint: 10.1.0.11:6443
YAML
"$uhs_image" lock "$bpo/cluster.yaml" --store "$work/store"
# The same two host entries uri: auto takes: Signed-By Debian's keyring, *-security or not.
read -r mirror security < <(python3 - <<'PY'
import glob, re
entries = []
def add(uri, suites, signed):
    if re.match(r"(https?|file):", uri) and "debian-archive-" in signed:
        entries.append((uri.rstrip("/"), all(s.endswith("-security") for s in suites)))
try:
    for line in open("/etc/apt/sources.list"):
        m = re.match(r"\s*deb\s+(\[[^]]*\])?\s*(\S+)\s+(\S+)", line.split("#")[0])
        if m:
            add(m.group(2), [m.group(3)], m.group(1) or "")
except FileNotFoundError:
    pass
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in open(path).read().split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
        if "deb" in fields.get("Types", "").split() and fields.get("Enabled", "yes") != "no":
            for uri in fields.get("URIs", "").split():
                add(uri, fields.get("Suites", "").split(), fields.get("Signed-By", ""))
main = next(u for u, sec in entries if not sec)
sec = next(u for u, sec in entries if sec)
print(main, sec)
PY
)
apt=$work/apt
mkdir -p "$apt/etc/apt/apt.conf.d" "$apt/etc/apt/preferences.d" "$apt/var/lib/dpkg" \
  "$apt/var/lib/apt/lists/partial" "$apt/var/cache/apt/archives/partial"
: > "$apt/var/lib/dpkg/status"
{
  echo "deb [signed-by=$keyring] $mirror trixie main"
  echo "deb [signed-by=$keyring] $mirror trixie-backports main"
  echo "deb [signed-by=$keyring] $security trixie-security main"
} > "$apt/etc/apt/sources.list"
aptopts=(-o Dir="$apt" -o Dir::State::status="$apt/var/lib/dpkg/status" -o APT::Architecture=arm64
  -o APT::Architectures=arm64 -o Acquire::Languages=none -o APT::Install-Recommends=false
  -o Dir::Etc::Parts="$apt/etc/apt/apt.conf.d" -o Debug::NoLocking=true
  -o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false)
apt-get "${aptopts[@]}" -qq update 2>&1 | { grep -v "unsandboxed as root" || true; } >&2
base=$(apt-cache "${aptopts[@]}" dumpavail | awk -v RS= '/\nPriority: required/ || /\nEssential: yes/ {
  match($0, /^Package: [^\n]*/); print substr($0, 10, RLENGTH - 9)}' | sort -u)
# shellcheck disable=SC2086 # word lists on purpose
apt-get "${aptopts[@]}" --simulate install $base openssh-server initramfs-tools \
  linux-image-arm64/trixie-backports > "$bpo/apt.out"
sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1 \2/p' "$bpo/apt.out" | sort > "$bpo/apt.set"
sed -n 's/^package \([^ ]*\) \([^ ]*\) .*/\1 \2/p' "$bpo/cluster.yaml.lock" | sort > "$bpo/uhs.set"
if ! diff -u "$bpo/apt.set" "$bpo/uhs.set" > "$bpo/diff"; then
  grep '^[-+][^-+]' "$bpo/diff"
  echo "FAIL: the backports kernel lock differs from apt's resolution (- apt, + uhs)"
  exit 1
fi
grep -q '^linux-image-arm64 .*bpo' "$bpo/uhs.set" || { echo "FAIL: kernel not from backports"; exit 1; }
grep -q '^linux-base .*bpo' "$bpo/uhs.set" || { echo "FAIL: linux-base not from backports"; exit 1; }
! grep -q '^openssh-server .*bpo' "$bpo/uhs.set" || { echo "FAIL: openssh-server from backports"; exit 1; }
grep -q ' from=security ' "$bpo/cluster.yaml.lock" || echo "note: nothing locked from trixie-security"
echo "   same $(wc -l < "$bpo/uhs.set") packages as apt"
echo "ok"
