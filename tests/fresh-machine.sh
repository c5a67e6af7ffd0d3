#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves the README's two set-up commands, verbatim, on a fresh Debian 12 machine that this
# script makes itself: a minbase bookworm chroot (mmdebstrap, from this host's own APT sources)
# entered in new mount and PID namespaces with its own /proc, /sys, /dev and /run, nothing
# installed, binfmt_misc not mounted and no qemu-aarch64 entry in the kernel (as on a machine
# without systemd). Into it: a clean clone of this checkout's HEAD at /root/uhs and a copy of
# ../shared beside it at /root/shared, as CI has them. Then, in /root/uhs:
#   1. the README's first command (it must end with a built example image), then
#   2. the README's second command with CI=true, where a test that would skip for something
#      .ci/deps provides fails; the e2e boots (no UHS_E2E_IMAGE) are the documented skips.
# For maintainers before a release: about an hour on 2 cores, ~10 GB in WORK_DIR. Run as root.
#   tests/fresh-machine.sh [--keep] [--keep-binfmt] [WORK_DIR]   (default WORK_DIR: a new temp dir)
# --keep leaves the chroot in WORK_DIR; --keep-binfmt leaves the host's qemu-aarch64 entry
# alone (by default it is removed first, so the chroot's .ci/deps must register it again; a
# build running on the host at that moment would fail).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
keep=no keep_binfmt=no work=""
while [ $# -gt 0 ]; do
  case $1 in
    --keep) keep=yes ;;
    --keep-binfmt) keep_binfmt=yes ;;
    -*) echo "usage: $0 [--keep] [--keep-binfmt] [WORK_DIR]" >&2; exit 2 ;;
    *) work=$1 ;;
  esac
  shift
done
say() { echo "fresh-machine: $*" >&2; }
die() { say "FAIL: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (mmdebstrap, chroot, namespaces)"
command -v git > /dev/null || die "git is missing"
if ! command -v mmdebstrap > /dev/null; then
  say "installing mmdebstrap on this host"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap > /dev/null
fi

# The README's commands, exactly as written (the first two ```sh blocks' single lines).
mapfile -t commands < <(awk '/^```sh$/ { getline; print }' "$src/README.md" | head -n 2)
[ ${#commands[@]} -eq 2 ] || die "the README does not start with two \`\`\`sh commands"
for c in "${commands[@]}"; do say "README command: $c"; done

if [ -z "$work" ]; then
  work=$(mktemp -d /var/tmp/uhs-fresh.XXXXXX)
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
root=$work/root
[ ! -e "$root" ] || die "$root exists: remove it or give another WORK_DIR"
cleanup() {
  local rc=$?
  if [ "$keep" = no ]; then
    rm -rf --one-file-system "$root"
  else
    say "kept the chroot in $root"
  fi
  say "logs: $work/*.log"
  exit "$rc"
}
trap cleanup EXIT

# 1. A minbase Debian 12 root from this host's own APT sources (their files, pasted as they are).
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -s "$f" ] || continue
  case $f in *uhs-*) continue ;; esac # what an earlier .ci/deps added is not "fresh"
  sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || die "this host has no APT sources to build the chroot from"
start=$SECONDS
say "mmdebstrap bookworm (minbase) into $root"
mmdebstrap --variant=minbase --mode=root bookworm "$root" "${sources[@]}" > "$work/mmdebstrap.log" 2>&1 ||
  { tail -n 20 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
say "chroot ready in $((SECONDS - start)) s"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2> /dev/null || true

# 2. The checkout as CI has it: a clean clone of HEAD, ../shared beside it without write bits.
git clone -q --no-hardlinks "$src" "$root/root/uhs"
git -C "$root/root/uhs" checkout -q "$(git -C "$src" rev-parse HEAD)"
if [ -d "$src/../shared" ]; then
  cp -R "$src/../shared" "$root/root/shared"
  chmod -R a-w "$root/root/shared"
else
  say "no ../shared beside $src: the fixture tests will fail under CI=true"
fi

# 3. binfmt as a machine without systemd has it: no qemu-aarch64 entry in the kernel.
if [ "$keep_binfmt" = no ] && [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  say "removing the host's qemu-aarch64 binfmt entry (the chroot's .ci/deps must add it back)"
  echo -1 > /proc/sys/fs/binfmt_misc/qemu-aarch64
fi

# 4. Each command in the chroot, in its own mount and PID namespaces: /proc, /sys, /dev, /run,
# /tmp of its own; binfmt_misc is not mounted in that /proc until .ci/deps mounts it.
in_chroot() {
  local log=$1 env=$2 command=$3
  unshare --mount --pid --fork --propagation private bash -c '
    set -e
    root=$1
    # Its / a mount point of its own, as on a machine or in a container (the build makes / private).
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/run"
    exec chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      LANG=C.UTF-8 TERM=dumb $2 /bin/bash -c "cd /root/uhs && $3"
  ' in_chroot "$root" "$env" "$command" < /dev/null > "$log" 2>&1
}

say "1/2: the README's first command (the example image, about 30 min)"
start=$SECONDS
in_chroot "$work/first.log" "" "${commands[0]}" ||
  { tail -n 30 "$work/first.log" >&2; die "the README's first command failed (log: $work/first.log)"; }
images=("$root"/root/uhs/example/out/*/manifest.json)
[ -f "${images[0]}" ] || die "the first command exited 0 but left no example/out/<image-id>/manifest.json"
say "1/2: ok in $((SECONDS - start)) s: $(dirname "${images[0]}" | sed "s|^$root||")"

say "2/2: the README's second command with CI=true (about 25 min)"
start=$SECONDS
in_chroot "$work/second.log" "CI=true" "${commands[1]}" ||
  { tail -n 40 "$work/second.log" >&2; die "the README's second command failed (log: $work/second.log)"; }
grep -E '^[0-9]+% tests passed' "$work/second.log" >&2 || die "no ctest summary in $work/second.log"
skipped=$(grep -E '\*\*\*Skipped|Not Run' "$work/second.log" | sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: //; s/ \.+.*$//' || true)
unexpected=$(echo "$skipped" | grep -v -E '^e2e: ' | grep -v '^$' || true)
[ -z "$unexpected" ] || die "skipped on a fresh machine: $(echo "$unexpected" | tr '\n' ';')"
say "2/2: ok in $((SECONDS - start)) s; skipped (documented: no image): $(echo "$skipped" | grep -c . || true)"
say "PASS: both README commands work verbatim on a fresh Debian 12 root"
