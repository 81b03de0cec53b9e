#!/usr/bin/env bash
# The main demo with a C client: builds libferry and the demo server, generates the C header
# from the demo's IDL, compiles examples/c/calculator_client.c, runs it against the server.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/examples-c
mkdir -p "$out"
# FERRY_DEMO_SERVER and FERRY_DEMO_CLIENT: prebuilt programs to use instead (the test of
# this script, examples/calculator/tests/c_client.rs, passes its own).
server=${FERRY_DEMO_SERVER:-target/release/calculator}
client=${FERRY_DEMO_CLIENT:-$out/calculator_client}
if [ -z "${FERRY_DEMO_SERVER:-}" ]; then
  cargo build -q --release -p ferry-capi -p ferry-examples -p ferry-idlc
  target/release/idlc gen --lang c -o "$out" examples/calculator/idl/calculator.thrift >/dev/null
  cc -std=c11 -Wall -Wextra -O2 -Icapi/include -I"$out" examples/c/calculator_client.c \
    target/release/libferry.a -lpthread -ldl -lm -o "$client"
fi
# `exec`: the coproc's pid is the server's own, so the trap stops the server itself (a
# subshell killed instead would leave the server running, holding this script's output).
coproc SERVER { exec "$server" --serve 127.0.0.1:0; }
server_pid=$SERVER_PID
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
read -r _ _ _ address <&"${SERVER[0]}"   # "serving Calculator on ADDRESS"
# Keep reading what the server prints, so it never blocks or fails on a full pipe.
cat <&"${SERVER[0]}" >/dev/null &
"$client" "$address"
