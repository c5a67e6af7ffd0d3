#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `uhs-image lock` and `fetch` against signed APT repositories this test generates and serves on
# 127.0.0.1: the good path, then every failure case (tampered index, wrong key, bad signature,
# expired Valid-Until, truncated download, hash mismatch, 404, dropped connections), each
# asserting the error and that the store holds nothing bad.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"
uhs_image=$1
src=$3
fixtures=$src/tests/fixtures/aptrepo
for tool in dpkg-deb gpg gpgv python3 xz; do
  uhs_need_tools "$tool"
done
work=$(mktemp -d /tmp/uhs-apt-test.XXXXXX)
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ "${keep:-no}" = yes ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { keep=yes; echo "FAIL: $*" >&2; exit 1; }

# serve [FAULT...]: starts a server for $work/www, sets $port.
serve() {
  local args=()
  for f in "$@"; do args+=(--fault "$f"); done
  local port_file=$work/port.$RANDOM
  python3 "$fixtures/http_server.py" "$work/www" --lifetime 120 "${args[@]}" > "$port_file" &
  servers+=($!)
  for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
  port=$(cat "$port_file")
  [ -n "$port" ] || fail "test server did not start"
}

# Every object in the store must hash to its own name.
check_store() {
  local store=$1 f
  [ -d "$store/sha256" ] || return 0
  while IFS= read -r f; do
    [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || fail "store holds a bad object $f"
  done < <(find "$store/sha256" -type f)
}

# expect_fail PATTERN CMD...: CMD must fail and print PATTERN on stderr.
expect_fail() {
  local pattern=$1; shift
  if "$@" > "$work/out" 2> "$work/err"; then fail "expected failure ($pattern): $*"; fi
  grep -q -- "$pattern" "$work/err" || { cat "$work/err" >&2; fail "error does not mention '$pattern'"; }
}

mkdir -p "$work/www"
bash "$fixtures/make_repo.sh" "$work/www/debian" "$fixtures/basic.recipe" --suite trixie
bash "$fixtures/make_repo.sh" "$work/www/kube" "$fixtures/kube.recipe" --flat
bash "$fixtures/make_repo.sh" "$work/www/expired" "$fixtures/basic.recipe" --suite trixie \
  --valid-until "Sun, 02 Mar 2025 12:00:00 UTC"

# cluster DIR URI_DEBIAN KEYRING_DEBIAN: writes DIR/cluster.yaml (the kubernetes source is auto).
cluster() {
  local dir=$1 uri=$2 keyring=$3
  mkdir -p "$dir/keyrings"
  cp "$keyring" "$dir/keyrings/debian.gpg"
  cp "$work/www/kube/keyring.asc" "$dir/keyrings/kubernetes.asc"
  sed -e '/^image:/,/^nodes:/{/^nodes:/!d}' "$src/tests/configs/good.yaml" > "$dir/cluster.yaml"
  cat >> "$dir/cluster.yaml" <<YAML
image:
  architecture: arm64
  sources:
    - name: debian
      uri: $uri
      suites: [trixie]
      components: [main]
      keyring: keyrings/debian.gpg
    - name: kubernetes
      uri: auto
      suites: [/]
      keyring: keyrings/kubernetes.asc
  packages: [hello, kubelet]
  kernel: linux-image-arm64
kubernetes:
  version: "1.31"
  control_plane_endpoint: 10.1.0.11:6443
YAML
}

serve
base=http://127.0.0.1:$port
good=$work/good
cluster "$good" "$base/debian/repo" "$work/www/debian/keyring.gpg"
store=$work/store
opts=(--store "$store" --host-root "$work/nohost")

echo "== auto without a matching host source fails clearly"
expect_fail "pass --source kubernetes=URI" "$uhs_image" lock "$good/cluster.yaml" "${opts[@]}"
[ ! -e "$good/cluster.yaml.lock" ] || fail "a lock was written on failure"

echo "== good path: lock"
"$uhs_image" lock "$good/cluster.yaml" "${opts[@]}" --source "kubernetes=$base/kube/repo"
lock=$good/cluster.yaml.lock
grep -q '^package hello 2.10-3 arm64 source=hello from=debian ' "$lock" || fail "hello 2.10-3 not locked"
grep -q '^package kubelet 1.31.2-1.1 arm64 .*from=kubernetes path=kubelet_1.31.2-1.1_arm64.deb ' "$lock" \
  || fail "kubelet candidate not the newest"
for p in base-files coreutils libc6 mawk greeter perl linux-image-arm64; do
  grep -q "^package $p " "$lock" || fail "$p missing from the lock"
done
! grep -q '^package gawk ' "$lock" || fail "gawk should not be chosen (mawk provides awk)"
grep -q '^source debian trixie date=2025-03-01T12:00:00Z inrelease-sha256=' "$lock" || fail "source line"
[ "$(grep -c '^package ' "$lock")" = 9 ] || fail "expected 9 packages"
sort -c <(grep '^package ' "$lock") || fail "lock not sorted"
cp "$lock" "$work/lock.first"

echo "== lock again changes nothing; --check passes; --update is stable"
"$uhs_image" lock "$good/cluster.yaml" "${opts[@]}" | grep -q "up to date"
cmp "$lock" "$work/lock.first"
"$uhs_image" lock --check "$good/cluster.yaml" "${opts[@]}"
"$uhs_image" lock --update "$good/cluster.yaml" "${opts[@]}" --source "kubernetes=$base/kube/repo"
cmp "$lock" "$work/lock.first" || fail "re-resolving the same indices changed the lock"

echo "== --update refuses an InRelease older than the lock's (rollback)"
mkdir -p "$work/www/older"
cp -a "$work/www/debian/gnupg" "$work/www/debian/keyring.gpg" "$work/www/debian/keyring.asc" "$work/www/older/"
bash "$fixtures/make_repo.sh" "$work/www/older" "$fixtures/basic.recipe" --suite trixie \
  --date "Fri, 28 Feb 2025 12:00:00 UTC"
expect_fail "Date 2025-02-28T12:00:00Z is older than 2025-03-01T12:00:00Z in the existing lock" \
  "$uhs_image" lock --update "$good/cluster.yaml" "${opts[@]}" --source "debian=$base/older/repo" \
  --source "kubernetes=$base/kube/repo"
cmp "$lock" "$work/lock.first" || fail "a refused rollback changed the lock"

echo "== a corrupt lock: lock and --check fail naming it, --update re-resolves with a warning"
printf 'format 1\n \n' > "$lock"
expect_fail "cluster.yaml.lock:2: blank line" "$uhs_image" lock "$good/cluster.yaml" "${opts[@]}"
expect_fail "cluster.yaml.lock:2: blank line" "$uhs_image" lock --check "$good/cluster.yaml" "${opts[@]}"
"$uhs_image" lock --update "$good/cluster.yaml" "${opts[@]}" --source "kubernetes=$base/kube/repo" \
  2> "$work/err" > "$work/out" || { cat "$work/err"; fail "--update blocked by a corrupt lock"; }
grep -q "warning: ignoring the unreadable lock" "$work/err" || fail "no warning about the corrupt lock"
cmp "$lock" "$work/lock.first" || fail "--update over a corrupt lock differs"

echo "== good path: fetch"
"$uhs_image" fetch "$good/cluster.yaml" "${opts[@]}" --source "kubernetes=$base/kube/repo" > "$work/out"
grep -q "fetched 9 packages" "$work/out" || { cat "$work/out"; fail "fetch count"; }
check_store "$store"
while read -r sha; do
  [ -f "$store/sha256/${sha:0:2}/$sha" ] || fail "locked $sha not in store"
done < <(sed -n 's/^package .* sha256=\([0-9a-f]*\)$/\1/p' "$lock")
"$uhs_image" fetch "$good/cluster.yaml" "${opts[@]}" --source "kubernetes=$base/kube/repo" | grep -q "fetched 0 packages"
"$uhs_image" fetch --offline "$good/cluster.yaml" "${opts[@]}"
expect_fail "not in the store" "$uhs_image" fetch --offline "$good/cluster.yaml" --store "$work/empty"
echo "== store objects are re-hashed: --offline finds a rotten one, fetch replaces it"
hello_sha=$(sed -n 's/^package hello .* sha256=\([0-9a-f]*\)$/\1/p' "$lock")
hello_obj=$store/sha256/${hello_sha:0:2}/$hello_sha
printf 'X' | dd of="$hello_obj" bs=1 seek=10 conv=notrunc 2>/dev/null
expect_fail "1 locked packages are not in the store .*(1 of them were corrupt and have been removed) (first: hello 2.10-3)" \
  "$uhs_image" fetch --offline "$good/cluster.yaml" "${opts[@]}"
[ ! -e "$hello_obj" ] || fail "the corrupt object is still in the store"
"$uhs_image" fetch "$good/cluster.yaml" "${opts[@]}" --source "kubernetes=$base/kube/repo" | grep -q "fetched 1 packages" \
  || fail "the removed object was not fetched again"
printf 'X' | dd of="$hello_obj" bs=1 seek=10 conv=notrunc 2>/dev/null
"$uhs_image" fetch "$good/cluster.yaml" "${opts[@]}" --source "kubernetes=$base/kube/repo" | grep -q "fetched 1 packages" \
  || fail "an online fetch kept a corrupt object"
"$uhs_image" fetch --offline "$good/cluster.yaml" "${opts[@]}"
check_store "$store"

echo "== --check notices a changed cluster file"
sed -i 's/packages: \[hello, kubelet\]/packages: [hello, kubelet, kubectl]/' "$good/cluster.yaml"
expect_fail "no longer matches" "$uhs_image" lock --check "$good/cluster.yaml" "${opts[@]}"
expect_fail "out of date" "$uhs_image" lock "$good/cluster.yaml" "${opts[@]}"
cmp "$lock" "$work/lock.first"
expect_fail "no longer matches" "$uhs_image" fetch "$good/cluster.yaml" "${opts[@]}"

# lock_fails NAME PATTERN URI KEYRING: a fresh cluster dir whose lock must fail with PATTERN.
lock_fails() {
  local name=$1 pattern=$2 uri=$3 keyring=$4
  cluster "$work/$name" "$uri" "$keyring"
  expect_fail "$pattern" "$uhs_image" lock "$work/$name/cluster.yaml" --store "$work/store-$name" \
    --source "kubernetes=$base/kube/repo"
  [ ! -e "$work/$name/cluster.yaml.lock" ] || fail "$name: a lock was written"
  check_store "$work/store-$name"
}

echo "== wrong key"
lock_fails wrongkey "signature verification failed" "$base/debian/repo" "$work/www/kube/keyring.gpg"
echo "== an expired signing key is named with its date and the refresh steps"
bash "$fixtures/make_repo.sh" "$work/www/expkey" "$fixtures/basic.recipe" --suite trixie --expired-key
lock_fails expkey "expired on 2025-01-02" "$base/expkey/repo" "$work/www/expkey/keyring.gpg"
grep -q "the signing key .* (uhs test archive <test@uhs.invalid>) expired on 2025-01-02 in .*debian.gpg (gpgv: EXPKEYSIG): refresh the keyring .*configs/keyrings/README.md" "$work/err" ||
  { cat "$work/err" >&2; fail "the expired key is not described"; }
"$uhs_image" validate "$work/expkey/cluster.yaml" > /dev/null 2> "$work/err" || fail "validate refused a cluster whose key expired"
grep -q "warning: image.sources\[0\].keyring: .*expired on 2025-01-02: lock will refuse" "$work/err" ||
  { cat "$work/err" >&2; fail "validate does not warn about the expired key"; }
echo "== validate warns about a key that expires within 30 days"
bash "$fixtures/make_repo.sh" "$work/www/soonkey" "$fixtures/basic.recipe" --suite trixie --key-expires 10d
cluster "$work/soonkey" "$base/soonkey/repo" "$work/www/soonkey/keyring.gpg"
"$uhs_image" validate "$work/soonkey/cluster.yaml" > "$work/out" 2> "$work/err" || fail "validate soonkey"
grep -q ": ok (" "$work/out" || fail "validate soonkey: no ok line"
grep -Eq "warning: image.sources\[0\].keyring: .*expires on [0-9-]+ \(in (9|10) days\)" "$work/err" ||
  { cat "$work/err" >&2; fail "validate does not warn about the key expiring in 10 days"; }
"$uhs_image" validate "$good/cluster.yaml" > /dev/null 2> "$work/err"
! grep -q "warning:" "$work/err" || { cat "$work/err" >&2; fail "validate warns about a key that never expires"; }
echo "== expired Valid-Until"
lock_fails expired "expired: Valid-Until 2025-03-02T12:00:00Z" "$base/expired/repo" "$work/www/expired/keyring.gpg"
echo "== tampered Packages (signature still good)"
cp -a "$work/www/debian" "$work/www/tampered"
index=$work/www/tampered/repo/dists/trixie/main/binary-arm64
xz -dc "$index/Packages.xz" | sed 's/^Version: 2.10-3/Version: 2.10-4/' | xz -c > "$work/Packages.xz"
mv "$work/Packages.xz" "$index/Packages.xz"
lock_fails tampered "SHA256 differs from InRelease" "$base/tampered/repo" "$work/www/debian/keyring.gpg"
echo "== tampered InRelease (bad signature)"
cp -a "$work/www/debian" "$work/www/badsig"
sed -i 's/^Date: .*/Date: Sun, 02 Mar 2025 12:00:00 UTC/' "$work/www/badsig/repo/dists/trixie/InRelease"
lock_fails badsig "bad signature" "$base/badsig/repo" "$work/www/debian/keyring.gpg"
echo "== unsigned InRelease"
cp -a "$work/www/debian" "$work/www/unsigned"
cp "$work/www/unsigned/repo/dists/trixie/Release" "$work/www/unsigned/repo/dists/trixie/InRelease"
lock_fails unsigned "signature verification failed" "$base/unsigned/repo" "$work/www/debian/keyring.gpg"
# merge_signatures OUT FIRST SECOND: OUT = FIRST's clearsigned text with the signature packets of
# FIRST and then SECOND (as one armored block, CRC24 recomputed): a file signed by two keys.
merge_signatures() {
  python3 - "$@" <<'PY'
import base64, sys
def crc24(data):
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF
def split(path):
    text = open(path).read()
    begin = text.index("-----BEGIN PGP SIGNATURE-----")
    armor = text[begin:text.index("-----END PGP SIGNATURE-----")].split("\n\n", 1)[1]
    return text[:begin], base64.b64decode("".join(l for l in armor.split() if not l.startswith("=")))
out, first, second = sys.argv[1:4]
signed, packets = split(first)
packets += split(second)[1]
b64 = base64.b64encode(packets).decode()
lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
crc = base64.b64encode(crc24(packets).to_bytes(3, "big")).decode()
with open(out, "w") as f:
    f.write(signed + "-----BEGIN PGP SIGNATURE-----\n\n" + "\n".join(lines) + "\n=" + crc
            + "\n-----END PGP SIGNATURE-----\n")
PY
}
# resign DIR ARGS...: clearsign DIR/Release again with the debian test key and gpg ARGS.
resign() {
  local dir=$1; shift
  GNUPGHOME=$work/www/debian/gnupg gpg --batch --quiet --yes "$@" --clearsign -o "$dir/InRelease" "$dir/Release"
}
echo "== signed by two keys, the keyring has one: accepted (gpgv exits 2, as apt allows)"
cp -a "$work/www/debian" "$work/www/twokeys"
dists=$work/www/twokeys/repo/dists/trixie
GNUPGHOME=$work/www/kube/gnupg gpg --batch --quiet --yes --clearsign -o "$work/second.sig" "$dists/Release"
merge_signatures "$work/twokeys.InRelease" "$dists/InRelease" "$work/second.sig"
mv "$work/twokeys.InRelease" "$dists/InRelease"
set +e; gpgv --keyring "$work/www/debian/keyring.gpg" "$dists/InRelease" 2>/dev/null; rc=$?; set -e
[ $rc = 2 ] || fail "fixture: gpgv should exit 2 for a signature by an unknown key, got $rc"
cluster "$work/twokeys" "$base/twokeys/repo" "$work/www/debian/keyring.gpg"
"$uhs_image" lock "$work/twokeys/cluster.yaml" --store "$work/store-twokeys" \
  --source "kubernetes=$base/kube/repo" > "$work/out" || fail "two signatures, one known key: rejected"
cmp <(grep '^package ' "$work/twokeys/cluster.yaml.lock") <(grep '^package ' "$work/lock.first") \
  || fail "two-key lock differs"
echo "== a good signature and a bad one: rejected"
cp -a "$work/www/debian" "$work/www/goodbad"
dists=$work/www/goodbad/repo/dists/trixie
sed 's/^Date: .*/Date: Sun, 02 Mar 2025 12:00:00 UTC/' "$dists/Release" > "$work/other.Release"
GNUPGHOME=$work/www/kube/gnupg gpg --batch --quiet --yes --clearsign -o "$work/other.sig" "$work/other.Release"
merge_signatures "$work/goodbad.InRelease" "$dists/InRelease" "$work/other.sig"
mv "$work/goodbad.InRelease" "$dists/InRelease"
cat "$work/www/debian/keyring.gpg" "$work/www/kube/keyring.gpg" > "$work/both.gpg"
lock_fails goodbad "signature verification failed: bad signature" "$base/goodbad/repo" "$work/both.gpg"
echo "== signed only with SHA-1: rejected (gpgv itself accepts it)"
cp -a "$work/www/debian" "$work/www/sha1"
resign "$work/www/sha1/repo/dists/trixie" --digest-algo SHA1
gpgv --keyring "$work/www/debian/keyring.gpg" "$work/www/sha1/repo/dists/trixie/InRelease" 2>/dev/null \
  || fail "fixture: gpgv should accept the SHA-1 signature"
lock_fails sha1 "weak digest" "$base/sha1/repo" "$work/www/debian/keyring.gpg"
echo "== a validly signed InRelease of another suite served as trixie"
cp -a "$work/www/debian" "$work/www/othersuite"
sed -i 's/^Suite: trixie/Suite: bookworm/; s/^Codename: trixie/Codename: bookworm/' \
  "$work/www/othersuite/repo/dists/trixie/Release"
resign "$work/www/othersuite/repo/dists/trixie"
lock_fails othersuite "conflicting distribution: expected suite trixie" "$base/othersuite/repo" \
  "$work/www/debian/keyring.gpg"
echo "== missing InRelease (404)"
lock_fails missing "HTTP 404" "$base/nothing-here" "$work/www/debian/keyring.gpg"

# fetch_with FAULTS... : fetch the good lock into a fresh store through a faulty server.
fetch_with() {
  serve "$@"
  fstore=$work/store-$RANDOM
  "$uhs_image" fetch "$good/cluster.yaml" --store "$fstore" --attempts 3 \
    --source "debian=http://127.0.0.1:$port/debian/repo" --source "kubernetes=http://127.0.0.1:$port/kube/repo"
}
cp "$work/lock.first" "$lock"
sed -i 's/packages: \[hello, kubelet, kubectl\]/packages: [hello, kubelet]/' "$good/cluster.yaml"

echo "== truncated once: resumed"
fetch_with "truncate:.deb:3" > "$work/out"
grep -q "fetched 9 packages" "$work/out" || fail "resume after truncation"
check_store "$fstore"
echo "== dropped connections, twice per file at most: retried"
fetch_with "drop:hello:2" > "$work/out"
grep -q "fetched 9 packages" "$work/out" || fail "retry after drops"
check_store "$fstore"
echo "== always truncated: fails, nothing partial in the store"
expect_fail "hello_2.10-3_arm64.deb: .* after 3 attempts" fetch_with "truncate:hello_"
check_store "$fstore"
hello_sha=$(sed -n 's/^package hello .* sha256=\([0-9a-f]*\)$/\1/p' "$lock")
[ ${#hello_sha} = 64 ] || fail "no hello sha256 in the lock"
[ ! -e "$fstore/sha256/${hello_sha:0:2}/$hello_sha" ] || fail "a truncated hello entered the store"
echo "== hash mismatch"
expect_fail "hello_2.10-3_arm64.deb: SHA-256 mismatch" fetch_with "corrupt:hello_"
check_store "$fstore"
echo "== 404"
expect_fail "greeter_1.0_all.deb: HTTP 404" fetch_with "404:greeter"
check_store "$fstore"
echo "== server always dropping connections"
expect_fail "perl_5.40.1-2_arm64.deb: .*after 3 attempts" fetch_with "drop:perl"
check_store "$fstore"
for f in $(find "$fstore/sha256" -type f 2>/dev/null); do
  grep -q "sha256=$(basename "$f")\$" "$lock" || fail "unexpected store object $f"
done
echo "all apt repo tests passed"
