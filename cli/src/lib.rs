//! `ferry-cli`: the library behind the `ferry` command — the JSON mapping of Ferry values
//! ([`json`], spec/json.md) and the schemas it is driven by ([`schema`]: IDL files, or a
//! server's reflection).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod json;
pub mod schema;
