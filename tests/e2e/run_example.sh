#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the example cluster's image with its disk artifact (the README's main command:
# tests/fixtures/build-example.sh, plus --disk) and boots it with every e2e test. Here a
# skipped test is a failure: this run exists to boot, so a missing tool or a kernel that cannot
# boot must not pass as "skipped".
#   tests/e2e/run_example.sh BUILD_DIR [WORK_DIR]     (WORK_DIR default: BUILD_DIR/e2e-example)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: $0 BUILD_DIR [WORK_DIR]}" && pwd)
work=${2:-$build/e2e-example}
mkdir -p "$work"
started=$SECONDS

echo "e2e: building the example image (build-example.sh --disk)"
bash "$src/tests/fixtures/build-example.sh" "$build/builder/cli/uhs-image" "$work" --disk --json \
  >"$work/build.json"
image=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["image_dir"])' <"$work/build.json")
[ -f "$image/manifest.json" ] && [ -f "$image/disk.img" ] ||
  { echo "e2e: the build reported $image, which is not a complete image with disk.img" >&2; exit 1; }
echo "e2e: built $image in $((SECONDS - started)) s"

echo "e2e: verify"
"$build/builder/cli/uhs-image" verify "$image"

echo "e2e: boots"
booted=$SECONDS
set +e
UHS_E2E_IMAGE=$image ctest --test-dir "$build" -L e2e --output-on-failure 2>&1 | tee "$work/ctest.log"
rc=${PIPESTATUS[0]}
set -e
echo "e2e: boots took $((SECONDS - booted)) s; all of it $((SECONDS - started)) s"
[ "$rc" -eq 0 ] || exit "$rc"
if grep -q 'Skipped' "$work/ctest.log"; then
  echo "e2e: a boot test was skipped (see above): this run must boot every one" >&2
  exit 1
fi
