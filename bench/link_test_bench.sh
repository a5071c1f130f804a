#!/usr/bin/env bash
# The edge's link test, 60 s per link: the two cases of tests/integration/link_test_test.sh
# (a 3 Mbit/s link with a 1 s drop-tail queue at 40 ms each way; the TMobile-LTE-short uplink
# trace with its downlink for feedback), each checked from braid-linkem's record by
# tests/integration/pacing_check.py. Prints the edge's report and the record's figures
# (utilization, standing queue, 10 ms bursts, reported vs true capacity) with the acceptance
# verdicts; exits with the test's status.
#
# usage: bench/link_test_bench.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build/release}" && pwd)
[[ -x $build/src/edge/braid-edge && -x $build/src/linkem/braid-linkem ]] || {
  echo "build first: ninja -C $build" >&2
  exit 2
}
BRAID_BUILD_ROOT=$build BRAID_SOURCE_ROOT=$repo LINK_TEST_SECONDS=${2:-60} LINK_TEST_STRICT=1 \
  exec "$repo/tests/integration/link_test_test.sh"
