//! Per-method counters and latency histograms, readable from servers and clients.
//!
//! Recording happens on the one thread that completes calls (the server's event loop, the
//! client's I/O thread), so the lock is uncontended except while someone reads a snapshot.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Latencies in power-of-two buckets of microseconds: bucket `i` counts calls that took
/// `[2^i, 2^(i+1))` µs (bucket 0 also takes everything under 1 µs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    buckets: [u64; 40],
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { buckets: [0; 40] }
    }
}

impl Histogram {
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        let i = (63 - us.leading_zeros()) as usize;
        self.buckets[i.min(39)] += 1;
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// An upper bound (bucket edge) of the `p`-quantile, `p` in [0, 1]; `None` when empty.
    pub fn quantile(&self, p: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * p.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(Duration::from_micros(1u64 << (i + 1).min(63)));
            }
        }
        None
    }
}

/// What one method did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MethodStats {
    /// Calls that completed (with a reply or an error).
    pub calls: u64,
    /// Calls that ended in an error of any kind.
    pub failures: u64,
    /// Time from dispatch (server) or start (client) to completion.
    pub latency: Histogram,
}

/// A snapshot: method id → stats.
pub type Snapshot = BTreeMap<u32, MethodStats>;

#[derive(Clone, Debug, Default)]
pub(crate) struct Metrics {
    methods: Arc<Mutex<Snapshot>>,
}

impl Metrics {
    pub(crate) fn record(&self, method: u32, took: Duration, ok: bool) {
        let mut m = self.methods.lock().unwrap_or_else(|p| p.into_inner());
        let s = m.entry(method).or_default();
        s.calls += 1;
        s.failures += u64::from(!ok);
        s.latency.record(took);
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        self.methods.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_bound_their_quantiles() {
        let mut h = Histogram::default();
        for us in [3u64, 5, 9, 1000] {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.count(), 4);
        assert_eq!(h.quantile(0.5), Some(Duration::from_micros(8)));
        assert_eq!(h.quantile(1.0), Some(Duration::from_micros(1024)));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn stats_count_calls_and_failures_per_method() {
        let m = Metrics::default();
        m.record(1, Duration::from_micros(10), true);
        m.record(1, Duration::from_micros(10), false);
        m.record(2, Duration::from_micros(10), true);
        let s = m.snapshot();
        assert_eq!((s[&1].calls, s[&1].failures, s[&2].calls), (2, 1, 1));
    }
}
