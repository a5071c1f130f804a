#!/bin/bash
# Runs one libFuzzer target for a fixed time on a throw-away copy of its seed corpus
# (the source tree is never written). Exits non-zero on any finding and prints the
# final stats.
#
# usage: run_fuzz.sh FUZZER SEED_CORPUS_DIR SECONDS SEED [extra libFuzzer flags...]
set -u

if [ $# -lt 4 ]; then
  echo "usage: $0 FUZZER SEED_CORPUS_DIR SECONDS SEED [libFuzzer flags...]" >&2
  exit 2
fi
fuzzer=$1 seeds=$2 seconds=$3 seed=$4
shift 4
name=$(basename "$fuzzer")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/braid-fuzz-$name.XXXXXX") || exit 1
mkdir "$tmp/corpus"
if [ -d "$seeds" ]; then
  cp -R "$seeds"/. "$tmp/corpus"/
else
  echo "$name: no seed corpus at $seeds, starting empty"
fi

# UBSan must stop the run (and so leave an artifact) rather than print and carry on.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

"$fuzzer" -seed="$seed" -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix="$tmp/" "$@" "$tmp/corpus" >"$tmp/log" 2>&1
rc=$?

stats=$(grep '^stat::' "$tmp/log" | sed 's/^stat:://; s/:[[:space:]]*/=/' | tr '\n' ' ')
done_line=$(grep -E '^Done [0-9]+ runs' "$tmp/log" | tail -n 1)
artifacts=$(find "$tmp" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
  -o -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) | sort)

if [ "$rc" -ne 0 ] || [ -n "$artifacts" ]; then
  tail -n 60 "$tmp/log"
  for a in $artifacts; do
    echo "--- $a"
    od -A d -t x1 "$a" | head -n 40
  done
  echo "$name: FAILED (exit $rc); log and artifacts kept in $tmp"
  # libFuzzer reports findings with exit code 77, which meson would read as "skipped".
  exit 1
fi

echo "$name: ${done_line:-no Done line} | $stats| seed $seed, ${seconds}s"
rm -rf "$tmp"
exit 0
