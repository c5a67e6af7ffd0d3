#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# apt's pinning in `uhs-image lock`, proved against apt itself: a "trixie" suite and a
# "trixie-backports" suite (Release: NotAutomatic: yes, ButAutomaticUpgrades: yes) are generated
# and served on 127.0.0.1, then for each request (plain; the kernel from backports with
# PKG/SUITE; image.pins on a glob; a pin of the whole suite) the locked name=version set must
# equal what `apt-get --simulate install` resolves for the same request over the same served
# indices with a private configuration (empty dpkg status, arm64, no recommends, the pins as a
# preferences file).
set -euo pipefail
uhs_image=$1
src=$3
fixtures=$src/tests/fixtures/aptrepo
. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"
uhs_need_tools apt-get apt-cache dpkg-deb gpg gpgv python3 xz
work=$(mktemp -d /tmp/uhs-apt-pinning.XXXXXX)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  if [ "${keep:-no}" = yes ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { keep=yes; echo "FAIL: $*" >&2; exit 1; }

# One repository tree with both suites. make_repo.sh indexes every .deb of its pool, so the
# backports suite is built apart (same key) and merged in: its index lists only its own .debs.
repo=$work/www/debian
bash "$fixtures/make_repo.sh" "$repo" "$fixtures/pinning-main.recipe" --suite trixie
mkdir -p "$work/bpo"
cp -a "$repo/gnupg" "$repo/keyring.gpg" "$repo/keyring.asc" "$work/bpo/"
bash "$fixtures/make_repo.sh" "$work/bpo" "$fixtures/pinning-backports.recipe" \
  --suite trixie-backports --release-field "NotAutomatic: yes" \
  --release-field "ButAutomaticUpgrades: yes"
cp -a "$work/bpo/repo/dists/trixie-backports" "$repo/repo/dists/"
for deb in "$work/bpo/repo/pool/main/"*.deb; do
  [ ! -e "$repo/repo/pool/main/$(basename "$deb")" ] || fail "file name in both suites: $deb"
  cp "$deb" "$repo/repo/pool/main/"
done
grep -q '^NotAutomatic: yes$' "$repo/repo/dists/trixie-backports/InRelease" || fail "no NotAutomatic"

python3 "$fixtures/http_server.py" "$work/www" --lifetime 240 > "$work/port" &
server=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "test server did not start"
uri=http://127.0.0.1:$(cat "$work/port")/debian/repo

# apt over the same indices: a private root, empty dpkg status, arm64 only, no recommends.
apt=$work/apt
mkdir -p "$apt/etc/apt/apt.conf.d" "$apt/etc/apt/preferences.d" "$apt/var/lib/dpkg" \
  "$apt/var/lib/apt/lists/partial" "$apt/var/cache/apt/archives/partial"
: > "$apt/var/lib/dpkg/status"
{
  echo "deb [signed-by=$repo/keyring.gpg] $uri trixie main"
  echo "deb [signed-by=$repo/keyring.gpg] $uri trixie-backports main"
} > "$apt/etc/apt/sources.list"
aptopts=(-o Dir="$apt" -o Dir::State::status="$apt/var/lib/dpkg/status" -o APT::Architecture=arm64
  -o APT::Architectures=arm64 -o Acquire::Languages=none -o APT::Install-Recommends=false
  -o Dir::Etc::Parts="$apt/etc/apt/apt.conf.d" -o Debug::NoLocking=true
  -o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false)
apt-get "${aptopts[@]}" -qq update 2>&1 | { grep -v "unsandboxed as root" || true; } >&2
# uhs requests the Essential/Priority: required candidates too; so does apt here.
base=$(apt-cache "${aptopts[@]}" dumpavail | awk -v RS= '/\nPriority: required/ || /\nEssential: yes/ {
  match($0, /^Package: [^\n]*/); print substr($0, 10, RLENGTH - 9)}' | sort -u)
[ -n "$base" ] || fail "no base packages in the served indices"

# scenario NAME PACKAGES KERNEL PINS_YAML PREFERENCES: locks with uhs, resolves with apt,
# compares the sets; leaves the set in $work/NAME.uhs.
scenario() {
  local name=$1 packages=$2 kernel=$3 pins=$4 prefs=$5 dir=$work/$1
  echo "== $name"
  mkdir -p "$dir/keyrings"
  cp "$repo/keyring.gpg" "$dir/keyrings/debian.gpg"
  sed -n '/^image:/q;p' "$src/tests/configs/good.yaml" > "$dir/cluster.yaml"
  {
    echo "image:"
    echo "  sources:"
    echo "    - name: debian"
    echo "      uri: $uri"
    echo "      suites: [trixie, trixie-backports]"
    echo "      components: [main]"
    echo "      keyring: keyrings/debian.gpg"
    echo "  packages: [$packages]"
    echo "  kernel: $kernel"
    [ -z "$pins" ] || printf '  pins:\n%s\n' "$pins"
    sed -n '/^kubernetes:/,$p' "$src/tests/configs/good.yaml"
  } >> "$dir/cluster.yaml"
  "$uhs_image" lock "$dir/cluster.yaml" --store "$work/store" --host-root "$work/nohost" \
    > "$dir/lock.out" 2>&1 || { cat "$dir/lock.out" >&2; fail "$name: uhs-image lock failed"; }
  "$uhs_image" lock --check "$dir/cluster.yaml" --store "$work/store" --host-root "$work/nohost" \
    > /dev/null || fail "$name: lock --check does not accept the fresh lock"
  sed -n 's/^package \([^ ]*\) \([^ ]*\) .*/\1 \2/p' "$dir/cluster.yaml.lock" | sort > "$work/$name.uhs"

  rm -f "$apt/etc/apt/preferences.d/"*
  [ -z "$prefs" ] || printf '%s\n' "$prefs" > "$apt/etc/apt/preferences.d/uhs-test.pref"
  # shellcheck disable=SC2086 # word lists on purpose
  apt-get "${aptopts[@]}" --simulate install $base ${packages//,/ } $kernel > "$dir/apt.out" 2>&1 \
    || { cat "$dir/apt.out" >&2; fail "$name: apt-get --simulate failed"; }
  sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1 \2/p' "$dir/apt.out" | sort > "$work/$name.apt"
  [ -s "$work/$name.apt" ] || { cat "$dir/apt.out" >&2; fail "$name: apt installs nothing"; }
  if ! diff -u "$work/$name.apt" "$work/$name.uhs" > "$dir/diff"; then
    grep 'Selected version' "$dir/apt.out" >&2 || true
    grep '^[-+][^-+]' "$dir/diff" >&2
    fail "$name: uhs's lock differs from apt's resolution (- apt, + uhs)"
  fi
  echo "   same $(wc -l < "$work/$name.uhs") packages as apt"
}

# has NAME PACKAGE VERSION: the scenario's set holds exactly that version (a sanity check that
# the scenario exercises what it claims; the proof is the comparison with apt above).
has() { grep -qx "$2 $3" "$work/$1.uhs" || fail "$1: expected $2 $3 in the lock"; }

scenario plain "openssh-server" linux-image-arm64 "" ""
! grep -q 'bpo' "$work/plain.uhs" || fail "plain: a backport was taken unasked"
has plain linux-image-arm64 6.12.43-1

scenario kernel-from-backports "openssh-server" linux-image-arm64/trixie-backports "" ""
has kernel-from-backports linux-image-arm64 7.3.4-1~bpo13+1
has kernel-from-backports linux-base 4.17~bpo13+1
has kernel-from-backports openssh-server 1:10.0p1-7
has kernel-from-backports kmod 34.2-2

scenario pin-glob "openssh-server" linux-image-arm64 \
  "    - packages: \"openssh-*\"
      suite: trixie-backports
      priority: 990" \
  "Package: openssh-*
Pin: release trixie-backports
Pin-Priority: 990"
has pin-glob openssh-server 1:10.3p1-1~bpo13+1
has pin-glob openssh-client 1:10.3p1-1~bpo13+1
has pin-glob linux-image-arm64 6.12.43-1

scenario pin-suite "openssh-server" linux-image-arm64 \
  "    - packages: \"*\"
      suite: trixie-backports
      priority: 500" \
  "Package: *
Pin: release trixie-backports
Pin-Priority: 500"
has pin-suite kmod 35-1~bpo13+1
has pin-suite linux-image-arm64 7.3.4-1~bpo13+1

# ButAutomaticUpgrades gives 100 even with nothing installed: a pin of 50 on trixie's ssh
# leaves backports' (100) the candidate.
scenario pin-below-backports "openssh-server" linux-image-arm64 \
  "    - packages: [openssh-server, openssh-client]
      suite: trixie
      priority: 50" \
  "Package: openssh-server openssh-client
Pin: release trixie
Pin-Priority: 50"
has pin-below-backports openssh-server 1:10.3p1-1~bpo13+1

echo "== a changed request makes lock --check fail"
sed -i 's|kernel: linux-image-arm64$|kernel: linux-image-arm64/trixie-backports|' "$work/plain/cluster.yaml"
if "$uhs_image" lock --check "$work/plain/cluster.yaml" --store "$work/store" \
  --host-root "$work/nohost" > /dev/null 2>&1; then
  fail "lock --check accepted a lock made without /trixie-backports"
fi

echo "== an unknown suite is an error naming the field"
sed -i 's|kernel: linux-image-arm64/trixie-backports$|kernel: linux-image-arm64/bookworm-backports|' \
  "$work/plain/cluster.yaml"
if "$uhs_image" lock --update "$work/plain/cluster.yaml" --store "$work/store" \
  --host-root "$work/nohost" > "$work/out" 2> "$work/err"; then
  fail "an unknown suite was accepted"
fi
grep -q "cluster.yaml:[0-9]*:[0-9]*: error: image.kernel: .*'bookworm-backports' is not the suite or codename" \
  "$work/err" || { cat "$work/err" >&2; fail "the unknown-suite error does not name the field"; }
echo "ok"
