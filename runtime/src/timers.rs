//! Timers owned by an event loop: a min-heap of deadlines. mio has none; the next deadline
//! becomes the poll timeout. Entries are not removed when obsolete: the owner checks, when
//! one fires, whether it still applies (cheaper than finding it in the heap).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Timers<T: Ord> {
    heap: BinaryHeap<Reverse<(Instant, T)>>,
}

impl<T: Ord> Default for Timers<T> {
    fn default() -> Self {
        Timers { heap: BinaryHeap::new() }
    }
}

impl<T: Ord> Timers<T> {
    pub fn add(&mut self, at: Instant, what: T) {
        self.heap.push(Reverse((at, what)));
    }

    /// How long the loop may sleep: until the earliest timer, capped by `max`.
    pub fn timeout(&self, now: Instant, max: Duration) -> Duration {
        match self.heap.peek() {
            Some(Reverse((at, _))) => at.saturating_duration_since(now).min(max),
            None => max,
        }
    }

    /// Removes and returns the next timer due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.heap.peek().is_some_and(|Reverse((at, _))| *at <= now) {
            self.heap.pop().map(|Reverse((_, t))| t)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_in_deadline_order_and_bound_the_poll_timeout() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.add(t0 + Duration::from_millis(30), 3);
        t.add(t0 + Duration::from_millis(10), 1);
        t.add(t0 + Duration::from_millis(20), 2);
        assert_eq!(t.timeout(t0, Duration::from_secs(1)), Duration::from_millis(10));
        assert_eq!(t.pop_due(t0), None);
        let later = t0 + Duration::from_millis(25);
        assert_eq!(
            (t.pop_due(later), t.pop_due(later), t.pop_due(later)),
            (Some(1), Some(2), None)
        );
        assert_eq!(t.timeout(later, Duration::from_secs(1)), Duration::from_millis(5));
    }
}
