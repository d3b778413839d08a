#!/usr/bin/env bash
# Runs the whole fast test suite on the CPU (set-up and build first; both are no-ops when up to date).
# Extra arguments go to ctest, e.g. scripts/test.sh -R PmsaVit
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${STABLEPOSE_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "$@"
