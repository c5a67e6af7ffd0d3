#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Label "network": locks a real trixie arm64 set from this host's own Debian mirror (uri: auto)
# and fetches a few of its packages. Skipped (125) when the mirror cannot be reached (a failure
# in CI: tests/lib/skip.sh).
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
echo "ok"
