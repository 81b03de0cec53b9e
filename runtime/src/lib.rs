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
mod timers;
pub mod typed;

pub use client::{CallError, CallHandle, CallOptions, Client, ClientConfig, RetryPolicy};
/// Re-exported so generated code needs only `ferry_runtime` in scope.
pub use ferry_wire as wire;
pub use server::{Server, ServerConfig};
pub use service::{Context, Handler, HandlerError, Service};
pub use typed::{method_id, NoException, Pending, RpcError, ServiceError};

/// A random 128-bit id (client ids, server incarnations). std's `RandomState` is seeded
/// from the operating system's randomness; hashing the time and a counter with two fresh
/// instances gives 128 unpredictable-enough bits without another dependency.
pub(crate) fn random_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let half = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.finish()
    };
    (u128::from(half()) << 64) | u128::from(half())
}
