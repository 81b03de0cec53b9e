#!/usr/bin/env bash
# The random-schema generator's long mode (issue #11): many seeds of FERRY_RANDOM_SCHEMAS
# schemas each, every one checked, compiled in Rust, C11 and C++17 and round-tripped
# (tests/random.rs). Usage: bash idlc/gen-tests/long.sh [FIRST_SEED] [SEEDS] [SCHEMAS_PER_SEED]
# Prints one line per seed and a total; exits 1 if any seed failed (its output is kept in
# target/random-long/seed-N.log).
set -uo pipefail
cd "$(dirname "$0")/../.."
first=${1:-1}
seeds=${2:-20}
per=${3:-50}
mkdir -p target/random-long
failed=0
for ((seed = first; seed < first + seeds; seed++)); do
  log=target/random-long/seed-$seed.log
  if FERRY_RANDOM_SEED=$seed FERRY_RANDOM_SCHEMAS=$per \
    cargo test -q -p ferry-idlc-gen-tests --test random >"$log" 2>&1; then
    echo "seed $seed: $per schemas ok"
  else
    echo "seed $seed: FAILED (see $log)"
    failed=$((failed + 1))
  fi
done
echo "$((seeds * per)) schemas in $seeds seeds: $failed seeds failed"
[ "$failed" -eq 0 ]
