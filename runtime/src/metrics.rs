//! Per-method counters and latency histograms, readable from servers and clients.
//!
//! Recording happens on the one thread that completes calls (the server's event loop, the
//! client's I/O thread), so the lock is uncontended except while someone reads a snapshot.

use std::collections::{BTreeMap, HashMap};
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
    /// Counts one call that took `d`.
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        let i = (63 - us.leading_zeros()) as usize;
        self.buckets[i.min(39)] += 1;
    }

    /// Calls counted.
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
    /// The method's IDL name, when the service or typed client registered it.
    pub name: Option<&'static str>,
    /// Calls that completed (with a reply or an error).
    pub calls: u64,
    /// Calls that ended in an error of any kind.
    pub failures: u64,
    /// Time from dispatch (server) or start (client) to completion.
    pub latency: Histogram,
}

/// Per-method statistics at one moment, by method id; look a method up by id or name.
///
/// ```
/// # use ferry_runtime::metrics::Snapshot;
/// fn report(s: &Snapshot) {
///     if let Some(get) = s.by_name("get") {
///         println!("get: {} calls, p99 {:?}", get.calls, get.latency.quantile(0.99));
///     }
///     print!("{s}"); // a table: method, calls, failures, p50, p99
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    methods: BTreeMap<u32, MethodStats>,
}

impl Snapshot {
    /// The stats of method `id`.
    pub fn get(&self, id: u32) -> Option<&MethodStats> {
        self.methods.get(&id)
    }

    /// The stats of the method named `name` (as registered by generated code).
    pub fn by_name(&self, name: &str) -> Option<&MethodStats> {
        self.methods.values().find(|m| m.name == Some(name))
    }

    /// Every method seen, by id.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &MethodStats)> {
        self.methods.iter().map(|(id, m)| (*id, m))
    }

    /// Number of methods seen.
    pub fn len(&self) -> usize {
        self.methods.len()
    }

    /// True before the first call.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }
}

impl std::ops::Index<u32> for Snapshot {
    type Output = MethodStats;
    /// Panics if the method was never called.
    fn index(&self, id: u32) -> &MethodStats {
        self.methods.get(&id).unwrap_or_else(|| panic!("no calls of method {id:#010x}"))
    }
}

impl std::ops::Index<&str> for Snapshot {
    type Output = MethodStats;
    /// Panics if the method was never called.
    fn index(&self, name: &str) -> &MethodStats {
        self.by_name(name).unwrap_or_else(|| panic!("no calls of method `{name}`"))
    }
}

impl std::fmt::Display for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<24} {:>10} {:>10} {:>10} {:>10}",
            "method", "calls", "failures", "p50", "p99"
        )?;
        for (id, m) in &self.methods {
            let q = |p| m.latency.quantile(p).map_or("-".into(), |d| format!("{d:?}"));
            writeln!(
                f,
                "{:<24} {:>10} {:>10} {:>10} {:>10}",
                display_name(*id, m.name),
                m.calls,
                m.failures,
                q(0.5),
                q(0.99)
            )?;
        }
        Ok(())
    }
}

fn display_name(id: u32, name: Option<&'static str>) -> String {
    name.map_or_else(|| format!("#{id:08x}"), str::to_owned)
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Metrics {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    methods: BTreeMap<u32, MethodStats>,
    names: HashMap<u32, &'static str>,
}

impl Metrics {
    pub(crate) fn record(&self, method: u32, took: Duration, ok: bool) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Inner { methods, names } = &mut *m;
        // The name is looked up once, when the method's first call creates its entry.
        let s = methods.entry(method).or_insert_with(|| MethodStats {
            name: names.get(&method).copied(),
            ..MethodStats::default()
        });
        s.calls += 1;
        s.failures += u64::from(!ok);
        s.latency.record(took);
    }

    /// Names method `id` in snapshots and the access log.
    pub(crate) fn name(&self, id: u32, name: &'static str) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        m.names.insert(id, name);
        if let Some(s) = m.methods.get_mut(&id) {
            s.name = Some(name);
        }
    }

    /// The method's name, or `#<id>` when none was registered.
    pub(crate) fn method_name(&self, id: u32) -> String {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        display_name(id, m.names.get(&id).copied())
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Snapshot { methods: m.methods.clone() }
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
        m.name(2, "two");
        let s = m.snapshot();
        assert_eq!((s[1].calls, s[1].failures, s[2].calls), (2, 1, 1));
        assert_eq!(s["two"].calls, 1, "named after the fact");
        assert_eq!(s.by_name("one"), None);
        assert!(s.to_string().contains("two"), "{s}");
        assert!(s.to_string().contains("#00000001"), "{s}");
    }
}
