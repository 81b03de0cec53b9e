#!/usr/bin/env bash
# Builds the seed corpora: spec/vectors for the wire targets, the IDL corpus for `idl`,
# and a few hand-made frames for `frames`. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
for t in wire_view skipper round_trip frames idl; do mkdir -p "corpus/$t"; done
# Every hex line of the vector files becomes a seed.
i=0
for f in ../spec/vectors/valid.txt ../spec/vectors/invalid.txt; do
  grep '^hex = ' "$f" | sed 's/^hex = //' | while read -r hex; do
    i=$((i + 1))
    name=$(printf '%s' "$hex" | sha1sum | cut -c1-16)
    printf '%s' "$hex" | xxd -r -p > "corpus/wire_view/$name"
    cp "corpus/wire_view/$name" "corpus/skipper/$name"
    cp "corpus/wire_view/$name" "corpus/round_trip/$name"
  done
done
for f in ../idlc/tests/data/ok/*.thrift ../idlc/tests/data/ok/include/*.thrift ../idlc/tests/data/ok/include/common/*.thrift ../idlc/tests/data/err/*.thrift ../idlc/gen-tests/idl/*.thrift; do
  cp "$f" "corpus/idl/$(basename "$f")"
done
# frames: chunk byte, then a hello and a request (little-endian header, see spec/protocol.md).
printf '\x07\x32\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' > corpus/frames/hello
printf '\x03\x20\x00\x00\x00\x01\x03\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x40\x42\x0f\x00\x00\x00' > corpus/frames/request
echo "seeded: $(ls corpus/wire_view | wc -l) wire, $(ls corpus/idl | wc -l) idl, $(ls corpus/frames | wc -l) frame seeds"
