#![forbid(unsafe_code)]
//! Ferry IDL compiler.
