//! `ferry-runtime`: Ferry's RPC runtime over mio, with no async runtime inside.
//!
//! - [`protocol`]: frames and the handshake (spec/protocol.md), pure functions.
//! - [`records`]: at-most-once completion records, pure state.
//! - [`Server`]: one event loop thread + a bounded worker pool.
//! - [`Client`]: one connection multiplexing calls from any number of threads; blocking
//!   calls, handles with timeouts, and `Future`s.
#![forbid(unsafe_code)]

pub mod client;
pub mod metrics;
pub mod protocol;
pub mod records;
mod server;
mod service;
mod session;
mod timers;
pub mod typed;

pub use client::{CallError, CallHandle, CallOptions, Client, ClientConfig, RetryPolicy};
/// Re-exported so generated code needs only `ferry_runtime` in scope.
pub use ferry_wire as wire;
pub use server::{Server, ServerConfig};
pub use service::{Context, Handler, HandlerError, Service};
pub use typed::{method_id, NoException, Pending, RpcError, ServiceError};

/// A random 128-bit value from the operating system's random source (client ids and
/// secrets, server incarnations). Without one the process cannot make unguessable ids, so
/// a failure (no entropy source at all) is fatal rather than silently predictable.
pub(crate) fn random_u128() -> u128 {
    let mut bytes = [0u8; 16];
    if let Err(e) = getrandom::fill(&mut bytes) {
        panic!("the operating system's random source failed: {e}");
    }
    u128::from_le_bytes(bytes)
}
