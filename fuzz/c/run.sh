#!/usr/bin/env bash
# Builds and runs the libFuzzer target of the C wire decoders for SECONDS (default 30), with
# AddressSanitizer and UBSan: `bash fuzz/c/run.sh 3600` for a campaign. Seeds: every vector
# of spec/vectors under every schema. Needs clang (Debian's ships -fsanitize=fuzzer).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-30}"
work=target/fuzz-c
mkdir -p "$work/gen" "$work/corpus" "$work/artifacts"
# Without the fuzz step's RUSTC_BOOTSTRAP, so the test build's idlc is reused, not rebuilt.
env -u RUSTC_BOOTSTRAP cargo run -q -p ferry-idlc -- gen --lang c spec/vectors/schema.thrift -o "$work/gen" >/dev/null
clang -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Icapi/include -I"$work/gen" fuzz/c/wire_decode.c -o "$work/wire_decode"
# Seeds: each vector's bytes behind each schema selector.
i=0
grep -h '^hex = ' spec/vectors/valid.txt spec/vectors/invalid.txt | sed 's/^hex = //' |
  while read -r hex; do
    for s in 0 1 2 3 4 5 6 7 8; do
      printf '%02x %s' "$s" "$hex" | xxd -r -p >"$work/corpus/v$i-$s"
    done
    i=$((i + 1))
  done
echo "== C wire_decode ($secs s)"
"$work/wire_decode" "$work/corpus" -max_total_time="$secs" -max_len=4096 \
  -artifact_prefix="$work/artifacts/" 2>&1 | grep -E '^#[0-9]+ *DONE|Done [0-9]+ runs|ERROR|SUMMARY|abort' || true
if [ -n "$(find "$work/artifacts" -type f 2>/dev/null)" ]; then
  echo "the C wire fuzz target found a failure: see $work/artifacts" >&2
  exit 1
fi
