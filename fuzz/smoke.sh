#!/usr/bin/env bash
# A bounded run of every fuzz target (CI), or a long campaign: `fuzz/smoke.sh 3600`.
# Needs cargo-fuzz; on stable Rust, RUSTC_BOOTSTRAP=1 enables the sanitizer flags.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-30}"
export RUSTC_BOOTSTRAP=1
./seed.sh
# Build first, so a target that no longer compiles fails the run (the runs below filter
# their output, which would hide a build error).
cargo fuzz build
for t in wire_view skipper round_trip frames idl tls_handshake json_decode dns_response; do
  dict=()
  [ "$t" = idl ] && dict=(-dict=idl.dict)
  echo "== $t ($secs s)"
  mkdir -p "corpus/$t"
  out=$(cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048 "${dict[@]}" 2>&1 || true)
  echo "$out" | grep -E '^#[0-9]+ *DONE|Done [0-9]+ runs|ERROR|panicked|SUMMARY' || true
  if ! echo "$out" | grep -qE 'Done [0-9]+ runs'; then
    echo "fuzz target $t did not complete a run:" >&2
    echo "$out" | tail -20 >&2
    exit 1
  fi
  # A crash leaves an artifact and a non-zero status: fail the run.
  if [ -n "$(find "artifacts/$t" -type f 2>/dev/null)" ]; then
    echo "fuzz target $t found a failure: see fuzz/artifacts/$t" >&2
    exit 1
  fi
done
# The C decoders of ferry_wire.h, under libFuzzer with ASan and UBSan.
bash c/run.sh "$secs"
