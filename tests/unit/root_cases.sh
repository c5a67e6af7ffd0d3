#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the unit cases tagged [root] (hidden from the default run): they chown and mknod, so
# they need root; without it they are skipped on a user's machine and fail in CI.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"
uhs_need_root "the [root] unit cases chown and mknod"
exec "$1" "[root]"
