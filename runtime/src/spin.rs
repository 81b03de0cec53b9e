//! Busy-polling, and its process-wide budget. A thread that will be handed work within
//! microseconds (a caller awaiting its reply, an event loop that just answered one) saves a
//! wake-up — tens of µs on a VM — by polling instead of sleeping. The budget is shared by
//! every client and server in the process because the cores are: at most `cores − 1`
//! threads poll at once, so polling never starves the threads that do the work.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

static SPINNING: AtomicUsize = AtomicUsize::new(0);

fn max_spinning() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
    })
}

/// A place in the budget, given back on drop.
#[derive(Debug)]
pub(crate) struct Spinning(());

impl Spinning {
    /// A place if one is free.
    pub(crate) fn try_begin() -> Option<Spinning> {
        if SPINNING.fetch_add(1, Ordering::AcqRel) >= max_spinning() {
            SPINNING.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Spinning(()))
    }
}

impl Drop for Spinning {
    fn drop(&mut self) {
        SPINNING.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_bounded_and_given_back() {
        let held: Vec<Spinning> = std::iter::from_fn(Spinning::try_begin).take(1000).collect();
        assert!(!held.is_empty() && held.len() <= max_spinning());
        assert!(Spinning::try_begin().is_none());
        drop(held);
        assert!(Spinning::try_begin().is_some());
    }
}
