//! The worker pool's side of a call: a job handed over by an event loop, the race between
//! the worker starting it and the loop withdrawing it, and the completion sent back.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use crate::service::{Context, Method};
use crossbeam_channel::Sender;

use super::tasks::{RunQueue, Task};
use crate::service::Run;
use crate::session::server::{execute, CallRef, Outcome};

/// Wakes the event loop that owns a call (its completion is on the loop's channel).
pub(super) type WakeLoop = Arc<dyn Fn() + Send + Sync>;

/// Where a queued call stands. The worker that takes the job and the loop that wants to
/// answer it early (its deadline passed, the client cancelled it, the shutdown grace ran
/// out) race for it once: exactly one wins, so a call is either run or answered "did not
/// run", never both, and never late because the queue was long.
///
/// Once started, an async handler's task leaves its waker here: the loop wakes it to have
/// its future dropped (cancelled, deadline, shutdown), as the context's flag then says.
#[derive(Debug, Default)]
pub(super) struct Claim {
    state: AtomicU8,
    waker: Mutex<Option<Waker>>,
    by_shutdown: AtomicBool,
}

const QUEUED: u8 = 0;
const STARTED: u8 = 1;
const WITHDRAWN: u8 = 2;

impl Claim {
    /// The worker's side: true if the call is still to run (it is now started).
    pub fn start(&self) -> bool {
        self.state.compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// The loop's side: true if the call had not started (it never will now).
    pub fn withdraw(&self) -> bool {
        self.state.compare_exchange(QUEUED, WITHDRAWN, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// A started call must stop (its context's flag is set already): an async handler's
    /// task is woken so that its future is dropped. A blocking handler sees the flag.
    pub fn abort(&self, by_shutdown: bool) {
        if by_shutdown {
            self.by_shutdown.store(true, Ordering::Relaxed);
        }
        let waker = self.waker.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub fn aborted_by_shutdown(&self) -> bool {
        self.by_shutdown.load(Ordering::Relaxed)
    }

    pub fn set_waker(&self, waker: Waker) {
        *self.waker.lock().unwrap_or_else(|p| p.into_inner()) = Some(waker);
    }

    /// The task ended: the claim no longer keeps it alive.
    pub fn clear_waker(&self) {
        self.waker.lock().unwrap_or_else(|p| p.into_inner()).take();
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
    /// Runs a blocking handler's job here; an async handler's starts its task (which
    /// reports its own completion) and returns `None`.
    pub fn run(
        self,
        tasks: &Arc<RunQueue>,
        done: &Sender<Done>,
        wake_loop: &WakeLoop,
    ) -> Option<Done> {
        if !self.claim.start() {
            return Some(Done { call: self.call, outcome: None });
        }
        match &self.method.run {
            Run::Blocking(handler) => {
                let outcome = execute(handler, &self.ctx, &self.payload);
                Some(Done { call: self.call, outcome: Some(outcome) })
            }
            Run::Async(handler) => {
                let future = handler(self.ctx.clone(), self.payload);
                let (call, ctx, claim) = (self.call, self.ctx, self.claim);
                Task::start(call, ctx, claim, future, tasks, done.clone(), Arc::clone(wake_loop));
                None
            }
        }
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
