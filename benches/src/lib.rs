//! Shared code for Ferry's benches: the benchmark payload, built once for every bench.
#![forbid(unsafe_code)]

/// The benchmark payload's types, hand-written in the shape idlc will generate.
/// One source file serves the wire tests and the benches.
#[path = "../../wire/tests/common/payload.rs"]
pub mod payload;

pub mod peers;

pub mod idl_gen;
