//! How many retries a client may make: a fraction of its calls over a sliding window, or a
//! small floor when that is more, so that a client making few calls can still retry now
//! and then.

use std::time::{Duration, Instant};

/// What a [`RetryBudget`] allows: over the window, `max(ratio × calls, min_per_second ×
/// window)` retries. The floor is not added to the fraction (as Finagle does) but taken
/// when it is larger: a busy client then retries at most `ratio` of its calls, so a fleet
/// where every call fails sees at most `1 + ratio` times its callers' load.
#[derive(Clone, Debug)]
pub struct RetryBudgetConfig {
    /// Retries allowed per call made, over the window. Default 0.2: a fleet where every
    /// call fails sees at most 1.2 × the callers' load.
    pub ratio: f64,
    /// Retries allowed per second however few the calls. Default 1.
    pub min_per_second: f64,
    /// How long calls and retries count. Default 10 s.
    pub window: Duration,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        RetryBudgetConfig { ratio: 0.2, min_per_second: 1.0, window: Duration::from_secs(10) }
    }
}

/// Slices of the window: calls and retries are counted per slice, and a slice leaves the
/// window whole (the window is accurate to a tenth of its length).
const SLICES: usize = 10;

/// Calls and retries over a sliding window ([`RetryBudgetConfig`]).
#[derive(Clone, Debug)]
pub struct RetryBudget {
    config: RetryBudgetConfig,
    slice: Duration,
    /// Calls and retries per slice, a ring indexed by slice number.
    calls: [u64; SLICES],
    retries: [u64; SLICES],
    /// The slice number `current` stands for, counted from `start`.
    start: Instant,
    current: u64,
}

impl RetryBudget {
    /// An empty budget (only the floor is available), its window starting `now`.
    pub fn new(config: RetryBudgetConfig, now: Instant) -> RetryBudget {
        let slice = (config.window / SLICES as u32).max(Duration::from_millis(1));
        RetryBudget {
            config,
            slice,
            calls: [0; SLICES],
            retries: [0; SLICES],
            start: now,
            current: 0,
        }
    }

    /// A call was made (not a retry): it adds `ratio` to what may be retried.
    pub fn deposit(&mut self, now: Instant) {
        let i = self.advance(now);
        self.calls[i] += 1;
    }

    /// Whether one more retry is allowed now; if so it is counted.
    pub fn try_withdraw(&mut self, now: Instant) -> bool {
        let i = self.advance(now);
        let calls: u64 = self.calls.iter().sum();
        let retries: u64 = self.retries.iter().sum();
        let floor = self.config.min_per_second * self.config.window.as_secs_f64();
        let allowed = (calls as f64 * self.config.ratio).max(floor);
        if (retries as f64) < allowed.floor() {
            self.retries[i] += 1;
            true
        } else {
            false
        }
    }

    /// Moves the window to `now`, emptying the slices it left; the index of `now`'s slice.
    fn advance(&mut self, now: Instant) -> usize {
        let elapsed = now.saturating_duration_since(self.start);
        let slice = (elapsed.as_nanos() / self.slice.as_nanos().max(1)) as u64;
        if slice > self.current {
            let gone = (slice - self.current).min(SLICES as u64);
            for k in 1..=gone {
                let i = ((self.current + k) % SLICES as u64) as usize;
                self.calls[i] = 0;
                self.retries[i] = 0;
            }
            self.current = slice;
        }
        (self.current % SLICES as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_a_fraction_of_calls_or_a_floor() {
        let t0 = Instant::now();
        let config =
            RetryBudgetConfig { ratio: 0.2, min_per_second: 1.0, window: Duration::from_secs(10) };
        let mut b = RetryBudget::new(config, t0);
        // The floor alone: 1 per second over 10 s.
        let floor = (0..100).filter(|_| b.try_withdraw(t0)).count();
        assert_eq!(floor, 10);
        for _ in 0..1000 {
            b.deposit(t0);
        }
        let more = (0..1000).filter(|_| b.try_withdraw(t0)).count();
        assert_eq!(10 + more, 200, "a fifth of 1 000 calls, the floor's 10 included");
    }

    #[test]
    fn the_window_forgets_old_calls_and_retries() {
        let t0 = Instant::now();
        let config = RetryBudgetConfig { min_per_second: 0.0, ..RetryBudgetConfig::default() };
        let mut b = RetryBudget::new(config, t0);
        for _ in 0..100 {
            b.deposit(t0);
        }
        assert_eq!((0..50).filter(|_| b.try_withdraw(t0)).count(), 20);
        // Half a window later the calls still count, and so do the retries.
        let half = t0 + Duration::from_secs(5);
        assert!(!b.try_withdraw(half));
        // A whole window later both are gone: nothing to retry on.
        let later = t0 + Duration::from_secs(11);
        assert!(!b.try_withdraw(later));
        for _ in 0..10 {
            b.deposit(later);
        }
        assert_eq!((0..10).filter(|_| b.try_withdraw(later)).count(), 2);
    }
}
