#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compares uhs's Debian version ordering with `dpkg --compare-versions` on >= 10 000 pairs of
# real versions from this host's APT lists (skipped, 125, when there are none).
#   apt_version_oracle.sh APT_VERCMP
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"
vercmp=$1
uhs_need_tools dpkg
shopt -s nullglob
lists=(/var/lib/apt/lists/*_Packages*)
[ ${#lists[@]} -gt 0 ] || uhs_needs "no Packages file in /var/lib/apt/lists (apt-get update)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in "${lists[@]}"; do
  /usr/lib/apt/apt-helper cat-file "$f"
done | sed -n 's/^Version: *//p' | LC_ALL=C sort -u > "$work/versions"
n=$(wc -l < "$work/versions")
[ "$n" -ge 2000 ] || uhs_needs "only $n distinct versions in /var/lib/apt/lists (apt-get update)"
# Half the pairs are neighbours in byte order (similar strings: the hard cases), half are
# neighbours after a seeded shuffle (epochs, tildes and revisions against anything).
paste -d' ' <(head -n 5000 "$work/versions") <(sed -n '2,5001p' "$work/versions") > "$work/pairs"
shuf --random-source=<(yes uhs) -n 10002 -o "$work/shuffled" "$work/versions"
paste -d' ' <(sed -n '1~2p' "$work/shuffled") <(sed -n '2~2p' "$work/shuffled") | head -n 5000 >> "$work/pairs"
pairs=$(wc -l < "$work/pairs")
[ "$pairs" -ge 10000 ] || { echo "FAIL: only $pairs pairs"; exit 1; }
"$vercmp" < "$work/pairs" > "$work/ours"
while read -r a b; do
  if dpkg --compare-versions "$a" lt "$b"; then echo "$a $b -1"
  elif dpkg --compare-versions "$a" eq "$b"; then echo "$a $b 0"
  else echo "$a $b 1"; fi
done < "$work/pairs" > "$work/dpkg"
if ! diff "$work/dpkg" "$work/ours" > "$work/diff"; then
  echo "FAIL: ordering differs from dpkg on $(grep -c '^>' "$work/diff") of $pairs pairs:"
  head -20 "$work/diff"
  exit 1
fi
echo "ok: $pairs pairs agree with dpkg --compare-versions"
