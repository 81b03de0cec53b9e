//! Client-side load balancing over a fleet, sans-I/O: which endpoint takes the next call,
//! which endpoints are sick, and how many retries a fleet can afford. Fed events and time
//! (`Instant`s passed in), these pieces make every decision and do no I/O, so the same code
//! serves the channel's I/O driver and a deterministic simulation of 1 000 endpoints
//! (`benches/src/fleet_sim.rs`).
//!
//! - [`Balancer`]: the endpoints a client may use, each with its calls outstanding, a
//!   latency EWMA, a weight, a warm-up and its health. `pick` is power of two choices on
//!   outstanding calls (scaled by weight and warm-up), latency breaking ties (gRPC's
//!   `least_request`, Finagle's P2C); a failure makes an endpoint lose draws for a while,
//!   and consecutive failures eject it for a backoff
//!   that doubles while it keeps failing, never more than a set fraction of the fleet at once
//!   (Envoy's outlier detection).
//! - [`RetryBudget`]: retries allowed as a fraction of calls over a sliding window, or a
//!   small floor per second when that is more (Finagle's and tower's retry budget), so a
//!   failing fleet sees at most `1 + ratio` times a busy caller's load.

mod balancer;
mod budget;

pub use balancer::{Balancer, BalancerConfig, EndpointId, EndpointStats, Outcome};
pub use budget::{RetryBudget, RetryBudgetConfig};

/// A small deterministic random source (xorshift64*), seeded by the caller: picks are
/// reproducible in tests and simulations, and need no global state.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift's state must not be 0).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform index below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        // Multiply-shift: unbiased enough for picking among endpoints, no division.
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A uniform float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
