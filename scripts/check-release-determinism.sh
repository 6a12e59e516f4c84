#!/usr/bin/env bash
# A seed's trace hash must not depend on the build: runs every scenario's seeds in the
# simulation's debug-ish profile (`sim`, the default) and in the optimised `sim-release`
# profile (`cargo sim --release`), with one and with two workers, and compares every hash.
# Not part of CI (the release build takes minutes); run it after changes to the seam. The
# runs' exit codes are not its business (a scenario that finds its expected violation only
# in rarer seeds fails a short range): it compares hashes, and fails only on a difference.
#   scripts/check-release-determinism.sh [SEEDS, default 1..5]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-1..5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
names=$(cargo sim list | awk 'NF {print $1}')
hashes() { grep -E '^(PASS|FAIL) (scenario=|seed=)' | sed -E 's/ found$//' ; }
echo "debug build, --jobs 1"
{ cargo sim run $names --seeds "$seeds" --jobs 1 || true; } | hashes > "$out/debug-1"
echo "debug build, --jobs 2"
{ cargo sim run $names --seeds "$seeds" --jobs 2 || true; } | hashes > "$out/debug-2"
echo "release build, --jobs 2"
{ cargo sim --release run $names --seeds "$seeds" --jobs 2 || true; } | hashes > "$out/release-2"
lines=$(grep -c trace_hash "$out/debug-1" || true)
for other in debug-2 release-2; do
  if ! diff -u "$out/debug-1" "$out/$other"; then
    echo "FAIL: trace hashes differ between debug --jobs 1 and $other"
    exit 1
  fi
done
echo "PASS: $lines seeds gave the same trace hash in the debug build (1 and 2 workers) and the release build"
