//! The worker pool's side of a call: a job handed over by an event loop, the race between
//! the worker starting it and the loop withdrawing it, and the completion sent back.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use crate::service::{Context, Method};
use crate::session::server::{execute, CallRef, Outcome};

/// Where a queued call stands. The worker that takes the job and the loop that wants to
/// answer it early (its deadline passed, the client cancelled it, the shutdown grace ran
/// out) race for it once: exactly one wins, so a call is either run or answered "did not
/// run", never both, and never late because the queue was long.
#[derive(Debug, Default)]
pub(super) struct Claim(AtomicU8);

const QUEUED: u8 = 0;
const STARTED: u8 = 1;
const WITHDRAWN: u8 = 2;

impl Claim {
    /// The worker's side: true if the call is still to run (it is now started).
    pub fn start(&self) -> bool {
        self.0.compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// The loop's side: true if the call had not started (it never will now).
    pub fn withdraw(&self) -> bool {
        self.0.compare_exchange(QUEUED, WITHDRAWN, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

/// A request handed to a worker.
pub(super) struct Job {
    pub call: CallRef,
    pub method: Method,
    pub payload: Vec<u8>,
    pub ctx: Context,
    pub claim: Arc<Claim>,
}

/// A request back from a worker: `None` when the loop withdrew it first (and answered it).
pub(super) struct Done {
    pub call: CallRef,
    pub outcome: Option<Outcome>,
}

impl Job {
    pub fn run(self) -> Done {
        let outcome = self.claim.start().then(|| execute(&self.method, &self.ctx, &self.payload));
        Done { call: self.call, outcome }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_started_or_withdrawn_never_both() {
        let c = Claim::default();
        assert!(c.withdraw());
        assert!(!c.start(), "withdrawn: the worker skips it");
        let c = Claim::default();
        assert!(c.start());
        assert!(!c.withdraw(), "running: the loop waits for its outcome");
        // Racing threads: exactly one side wins each claim.
        for _ in 0..200 {
            let c = Arc::new(Claim::default());
            let other = Arc::clone(&c);
            let t = std::thread::spawn(move || other.start());
            let withdrew = c.withdraw();
            assert_ne!(withdrew, t.join().unwrap_or(false));
        }
    }
}
