//! Generated code for the IDL corpus, included so the compiler checks it. Each output file
//! holds modules for its root and every file it includes, so each goes in its own module.
#![forbid(unsafe_code)]

/// `calculator.thrift` and its includes.
pub mod calculator {
    ferry_runtime::include_idl!("calculator");
}
/// `everything.thrift`: every construct.
pub mod everything {
    ferry_runtime::include_idl!("everything");
}
/// Recursive types.
pub mod recursive {
    ferry_runtime::include_idl!("recursive");
}
/// A Cassandra-like API.
pub mod storage {
    ferry_runtime::include_idl!("storage");
}
/// Deprecated constructs.
pub mod deprecated {
    ferry_runtime::include_idl!("deprecated");
}
/// Rust keywords and prelude names as IDL names.
pub mod keywords {
    ferry_runtime::include_idl!("keywords");
}
/// Two versions of one schema, for compatibility tests.
pub mod v1 {
    ferry_runtime::include_idl!("evolution_v1");
}
/// See [`v1`].
pub mod v2 {
    ferry_runtime::include_idl!("evolution_v2");
}
/// Small cases reduced from real-world Thrift files (`idl/thrift_cases`).
pub mod thrift_cases {
    ferry_runtime::include_idl!("cases");
}
/// `ferry.borrow` handlers.
pub mod borrow {
    ferry_runtime::include_idl!("borrow");
}
/// Constructs real-world Thrift files use (issue #11's regressions).
pub mod real_world {
    ferry_runtime::include_idl!("real_world");
}
/// Random schemas from `random_idl.rs` (see `build.rs`), each in its own module.
pub mod random {
    include!(concat!(env!("OUT_DIR"), "/random_modules.rs"));
}
