//! Ferry's executor for async handlers: a handler's future is a task polled on the worker
//! pool; a task that returns `Pending` holds no thread, and its waker (called from any
//! thread: a Ferry client's I/O thread, a tokio runtime, a `Responder`) puts it on the run
//! queue, which the workers serve before new jobs.
//!
//! Bounds: a task is on the run queue at most once (`scheduled`), and the loops refuse new
//! async calls past `ServerConfig::max_handler_tasks` live tasks, so a queue of that
//! capacity never fills. Cancellation, the deadline and the end of the shutdown grace drop
//! the future at its next poll (`Claim::abort` wakes it for that).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context as TaskContext, Poll, Wake, Waker};

use crossbeam_channel::{Receiver, Sender};

use super::worker::{Claim, Done};
use crate::service::{Context, HandlerError};
use crate::session::server::{CallRef, Outcome};

/// What an async handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Vec<u8>, HandlerError>> + Send>>;

/// Woken tasks waiting for a worker.
pub(super) struct RunQueue {
    tx: Sender<Arc<Task>>,
}

impl RunQueue {
    pub fn new(capacity: usize) -> (Arc<RunQueue>, Receiver<Arc<Task>>) {
        let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
        (Arc::new(RunQueue { tx }), rx)
    }
}

/// One async handler's call, from its first poll to its outcome.
pub(super) struct Task {
    call: CallRef,
    ctx: Context,
    claim: Arc<Claim>,
    future: Mutex<Option<HandlerFuture>>,
    /// On the run queue (or about to be): a second wake adds nothing.
    scheduled: AtomicBool,
    /// Weak: a task woken after the workers are gone is dropped, not kept by the queue.
    queue: Weak<RunQueue>,
    done: Sender<Done>,
    wake_loop: Arc<dyn Fn() + Send + Sync>,
}

impl Task {
    /// Starts a task for a claimed call and polls it once on this worker.
    pub fn start(
        call: CallRef,
        ctx: Context,
        claim: Arc<Claim>,
        future: HandlerFuture,
        queue: &Arc<RunQueue>,
        done: Sender<Done>,
        wake_loop: Arc<dyn Fn() + Send + Sync>,
    ) {
        let task = Arc::new(Task {
            call,
            ctx,
            claim: Arc::clone(&claim),
            future: Mutex::new(Some(future)),
            scheduled: AtomicBool::new(true),
            queue: Arc::downgrade(queue),
            done,
            wake_loop,
        });
        claim.set_waker(Waker::from(Arc::clone(&task)));
        task.run();
    }

    /// Polls the future once (a worker's turn), or drops it if the call was cancelled, its
    /// deadline passed or the server is past its grace period.
    pub fn run(self: Arc<Self>) {
        self.scheduled.store(false, Ordering::SeqCst);
        let mut slot = self.future.lock().unwrap_or_else(|p| p.into_inner());
        let Some(future) = slot.as_mut() else { return }; // finished already
        let outcome = if self.ctx.is_cancelled() {
            Some(Outcome::Failed(if self.claim.aborted_by_shutdown() {
                "the server shut down while the handler awaited; it was stopped (it may have had effects)".into()
            } else if std::time::Instant::now() >= self.ctx.deadline {
                "the deadline passed while the handler awaited; it was stopped (it may have had effects)".into()
            } else {
                "cancelled while the handler awaited; it was stopped (it may have had effects)"
                    .into()
            }))
        } else {
            let waker = Waker::from(Arc::clone(&self));
            let mut cx = TaskContext::from_waker(&waker);
            let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                future.as_mut().poll(&mut cx)
            }));
            match polled {
                Ok(Poll::Pending) => None,
                Ok(Poll::Ready(Ok(reply))) => Some(Outcome::Reply(reply)),
                Ok(Poll::Ready(Err(e))) if e.not_run => {
                    Some(Outcome::NotRun(crate::protocol::ErrorCode::InvalidArguments, e.message))
                }
                Ok(Poll::Ready(Err(e))) => Some(Outcome::Failed(e.message)),
                Err(_) => Some(Outcome::Failed("handler panicked".into())),
            }
        };
        if let Some(outcome) = outcome {
            // Dropped here, on a worker: what it holds (a nested call, say) is let go now.
            *slot = None;
            drop(slot);
            self.claim.clear_waker();
            if self.done.send(Done { call: self.call, outcome: Some(outcome) }).is_ok() {
                (self.wake_loop)();
            }
        }
    }
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.scheduled.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(queue) = self.queue.upgrade() {
            // Never full: each live task is on it at most once and the loops keep live
            // tasks under its capacity.
            if queue.tx.try_send(Arc::clone(self)).is_err() {
                log::error!("the run queue is full; a woken handler task is dropped");
            }
        }
    }
}

/// Hands a worker's woken tasks and new jobs out, woken tasks first.
pub(super) fn next_work(
    runs: &Receiver<Arc<Task>>,
    jobs: &Receiver<super::worker::Job>,
) -> Option<Work> {
    if let Ok(task) = runs.try_recv() {
        return Some(Work::Task(task));
    }
    crossbeam_channel::select! {
        recv(runs) -> task => task.ok().map(Work::Task),
        recv(jobs) -> job => match job {
            Ok(job) => Some(Work::Job(job)),
            // The loops are gone: tasks woken since (told to stop) are dropped as they come.
            Err(_) => None,
        },
    }
}

/// A worker's next piece of work.
// A value lives on one worker's stack for a moment and is never stored in bulk: boxing the
// job would cost an allocation per call for nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Work {
    Task(Arc<Task>),
    Job(super::worker::Job),
}

/// A completion handle for a deferred reply: the handler returns at once, and whoever holds
/// the `Responder` (any thread, a callback, C code) answers the call later, once. Dropped
/// without an answer, the call fails `Internal` ("the handler ran").
#[derive(Debug)]
pub struct Responder {
    shared: Arc<Mutex<ResponderState>>,
}

#[derive(Debug, Default)]
struct ResponderState {
    result: Option<Result<Vec<u8>, HandlerError>>,
    /// The responder was used or dropped: the future ends at its next poll.
    ended: bool,
    waker: Option<Waker>,
}

impl Responder {
    /// A responder and the future that ends when it answers.
    pub(crate) fn new() -> (Responder, HandlerFuture) {
        let shared = Arc::new(Mutex::new(ResponderState::default()));
        let future = Answer { shared: Arc::clone(&shared) };
        (Responder { shared }, Box::pin(future))
    }

    /// Answers the call with an encoded reply, or a failure.
    pub fn reply(self, result: Result<Vec<u8>, HandlerError>) {
        self.finish(Some(result));
    }

    fn finish(&self, result: Option<Result<Vec<u8>, HandlerError>>) {
        let waker = {
            let mut s = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            if s.ended {
                return;
            }
            s.ended = true;
            s.result = result;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.finish(None);
    }
}

struct Answer {
    shared: Arc<Mutex<ResponderState>>,
}

impl Future for Answer {
    type Output = Result<Vec<u8>, HandlerError>;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut s = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        if !s.ended {
            s.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(s.result.take().unwrap_or_else(|| {
            Err(HandlerError::new("the handler dropped its Responder without replying"))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop_waker() -> Waker {
        struct Noop;
        impl Wake for Noop {
            fn wake(self: Arc<Self>) {}
        }
        Waker::from(Arc::new(Noop))
    }

    #[test]
    fn a_responder_answers_once_and_a_dropped_one_fails() {
        let waker = noop_waker();
        let mut cx = TaskContext::from_waker(&waker);
        let (responder, mut answer) = Responder::new();
        assert!(answer.as_mut().poll(&mut cx).is_pending());
        std::thread::spawn(move || responder.reply(Ok(b"later".to_vec()))).join().unwrap_or(());
        assert!(matches!(answer.as_mut().poll(&mut cx), Poll::Ready(Ok(r)) if r == b"later"));
        let (responder, mut answer) = Responder::new();
        drop(responder);
        assert!(
            matches!(answer.as_mut().poll(&mut cx), Poll::Ready(Err(e)) if e.message.contains("without replying"))
        );
    }
}
