#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `uhs-image verify` through a real libguestfs appliance: the hidden [guestfs] unit case builds
# a disk image with the real tools, verifies it, changes a file inside its FAT and checks that
# both the manifest and the inside view catch it. Skips (125) where no appliance can start:
# supermin builds it from the host's kernel, so one must be installed.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"
unit_tests=$1
if ! ls /boot/vmlinuz-* > /dev/null 2>&1; then
  uhs_needs "no host kernel in /boot for supermin's appliance (apt-get install linux-image-amd64)"
fi
export LIBGUESTFS_CACHEDIR=${LIBGUESTFS_CACHEDIR:-/var/tmp}
exec "$unit_tests" "[guestfs]"
