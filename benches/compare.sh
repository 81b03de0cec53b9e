#!/usr/bin/env bash
# Runs the comparison that exists so far: installs the peers' schema compilers (Debian),
# then the payload against FlatBuffers, Cap'n Proto, Thrift compact, prost and postcard, the
# IDL compiler bench, and the loopback RPC benches (raw TCP, Ferry, tonic). ~7 minutes on 2
# cores. Still to come (issue 7): a second payload shape, 4-connection tonic runs, charts.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v flatc >/dev/null || need+=(flatbuffers-compiler)
command -v capnp >/dev/null || need+=(capnproto)
command -v thrift >/dev/null || need+=(thrift-compiler)
command -v protoc >/dev/null || need+=(protobuf-compiler)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
secs="${1:-3}"
echo "## Payload, every format (criterion medians)"
cargo bench -q -p ferry-benches --features peers --bench peers -- --warm-up-time 1 --measurement-time "$secs" 2>&1 \
  | grep -E 'sizes|^peers/|time:' | paste - - 2>/dev/null || true
echo
echo "## Ferry vs prost and postcard"
cargo bench -q -p ferry-benches --bench wire -- --warm-up-time 1 --measurement-time "$secs" payload 2>&1 \
  | grep -E 'bytes|^payload/|time:' || true
echo
echo "## IDL front end"
cargo bench -q -p ferry-benches --bench idlc 2>&1 | grep -E 'generated|^idlc/|thrpt:' || true
echo
echo "## Loopback RPC (separate processes)"
cargo run -q --release -p ferry-benches --bin rpc-bench -- "$secs"
cargo run -q --release -p ferry-benches --features peers --bin tonic-bench -- "$secs" | tail -n 2
