//! Hand-written stand-ins for idlc's generated code, shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different part
pub mod all_types;
pub mod payload;
