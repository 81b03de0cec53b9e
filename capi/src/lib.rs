//! `ferry-capi`: Ferry's runtime for C programs. Builds `libferry.a` and `libferry.so`;
//! `include/ferry.h` (generated from this crate by cbindgen, checked by a test) declares
//! everything here.
//!
//! - A C client calls any Ferry server: `ferry_client_connect`, `ferry_client_call`
//!   (blocking) or `ferry_client_start` + `ferry_call_wait` / `ferry_call_cancel` (many
//!   calls in flight on one connection), with deadlines and idempotency per call.
//! - A C server serves any Ferry client: `ferry_service_add` registers a C function per
//!   method id, `ferry_server_start` runs it on the runtime's event loops and worker pool.
//!   `ferry_service_add_deferred` + `ferry_reply_defer` let a handler answer later from
//!   any thread (`ferry_responder_reply`), holding no worker meanwhile.
//! - TLS and mutual TLS from PEM files or text: `ferry_tls_server` / `ferry_tls_client`
//!   into the options' `tls`; a handler reads its caller's certificate with
//!   `ferry_reply_peer_subject`.
//! - Every fallible function returns a [`ferry_status`] and, if asked, a [`ferry_error`]
//!   whose message says what went wrong and what to do. No function panics across the ABI:
//!   a Rust panic becomes `FERRY_STATUS_PANIC`.
//!
//! Payloads are Ferry wire-format bytes (spec/wire.md); method ids are
//! `ferry_method_id("name")`, the same FNV-1a hash generated Rust code uses.
#![deny(unsafe_code)]

mod abi;
mod server;
mod tls;
mod types;

pub use abi::*;
pub use server::*;
pub use tls::*;
pub use types::*;
