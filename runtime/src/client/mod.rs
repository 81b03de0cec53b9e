//! The client: one connection carrying every call made through it, from any number of
//! threads. The process's client I/O thread (`reactor`; one by default, serving every
//! client) polls its socket; callers hand calls over through a bounded channel and wait on
//! a per-call slot (blocking, with a timeout, or as a `Future`).
//!
//! Guarantees (spec/protocol.md § Client): every call ends by its deadline; a call is
//! re-sent only with its original (client id, call id), so the server runs it at most once;
//! after a server restart, calls whose outcome is unknown fail with `OutcomeUnknown`
//! unless marked idempotent.

use std::future::Future;
mod driver;
mod reactor;
pub use reactor::set_client_io_threads;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context as TaskContext, Poll as TaskPoll};
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Sender, TrySendError};
use mio::Waker;

pub use crate::call::{
    CallError, CallOptions, ClientConfig, Credentials, FetchCredentials, Metadata, RetryPolicy,
};
use crate::metrics::{Metrics, Snapshot};
use crate::protocol;
use crate::session::client::NewCall;
use crate::socket::Address;
pub(crate) use driver::ReadyHook;
use driver::{ClientParts, Driver};
use reactor::Seat;

/// How long a caller blocks on the socket before it looks at its slot again (a reply can
/// be delivered by another path: a retry's, a cancel's).
const BLOCK_SLICE: Duration = Duration::from_millis(50);

/// A client. Cheap to share: clone the `Arc` or use `&Client` from many threads.
#[derive(Debug)]
pub struct Client {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    commands: Sender<Command>,
    /// Calls handed to the session (or on their way) and not finished: at most
    /// `ClientConfig::max_in_flight`.
    calls: Arc<AtomicUsize>,
    /// Set when the `Client` is dropped.
    closed: Arc<AtomicBool>,
    /// Its place on a client I/O thread ("lane"): how it asks for the lane's attention (a
    /// burst of calls costs one wake-up, an eventfd write, not one each).
    seat: Seat,
    client_id: u128,
    /// The next call id, taken under this lock together with the hand-over to the I/O
    /// thread: ids reach it in increasing order (so its lowest pending id is a correct
    /// acknowledgement), and a handle knows its id from the start.
    /// Boxed: callers write it on every call, and nothing the I/O thread touches may share
    /// its cache line.
    next_call_id: Box<Mutex<u64>>,
    config: ClientConfig,
    metrics: Metrics,
    /// The session and socket; see `driver` for who drives them when.
    /// Apart from `Shared` (its own allocation), so that what the lane writes on every
    /// turn shares no cache line with what callers write on every call: false sharing
    /// cost microseconds per call with 16 in flight.
    driver: Arc<Mutex<Driver>>,
    /// Whether callers' polling for replies has been paying (`spin`).
    spin: crate::spin::SpinSite,
    /// A caller blocks on the socket holding the driver (`Driver::block_for_input`): a
    /// call handed to the I/O thread must wake it with `caller_waker` so it makes way.
    caller_blocked: AtomicBool,
    /// Made with the blocked caller's poll, the first time one blocks.
    caller_waker: Arc<OnceLock<Waker>>,
    /// The connection is ready for calls (see `Client::is_ready`).
    ready: Arc<AtomicBool>,
}

impl Shared {
    fn lock_driver(&self) -> std::sync::MutexGuard<'_, Driver> {
        self.driver.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A caller that drove the session stops (it has its reply, or goes to sleep): the
    /// I/O thread reads the socket again, and is woken if the session now has a timer
    /// (a deadline, say) due before the end of its sleep.
    fn stop_driving(&self) {
        let due = self.lock_driver().caller_ends();
        self.seat.ready_before(due);
    }

    /// A caller blocked on the socket holding the driver lets go of it: the I/O thread
    /// needs it (a call was handed to it, the client is closing).
    fn make_way(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.caller_blocked.load(Ordering::SeqCst) {
            if let Some(waker) = self.caller_waker.get() {
                let _ = waker.wake();
            }
        }
    }
}

#[derive(Debug)]
enum Command {
    Call(Box<Outgoing>),
    Cancel(Arc<Slot>),
}

type Outgoing = NewCall<Arc<Slot>>;

#[derive(Debug, Default)]
struct Slot {
    state: Mutex<SlotState>,
    ready: Condvar,
    /// Assigned when the call starts (see `Shared::next_call_id`).
    call_id: AtomicU64,
    /// Requests sent for the call, stored before the result is filled.
    attempts: AtomicU32,
}

#[derive(Debug, Default)]
struct SlotState {
    result: Option<Result<Vec<u8>, CallError>>,
    /// The call ended (its result may have been taken since).
    ended: bool,
    waker: Option<std::task::Waker>,
    /// A thread is blocked on the condvar: only then is a (system-call) notify needed.
    blocked: bool,
}

impl Slot {
    fn fill(&self, result: Result<Vec<u8>, CallError>) {
        let waker = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if s.ended {
                return;
            }
            s.result = Some(result);
            s.ended = true;
            (s.waker.take(), s.blocked)
        };
        let (waker, blocked) = waker;
        if blocked {
            self.ready.notify_all();
        }
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Client {
    /// Creates a client for `addr` (`"localhost:7000"`, a `SocketAddr`, …; of the
    /// addresses it resolves to, the first IPv4 one, else the first) and starts connecting
    /// in the background. Calls made before
    /// the connection is up wait for it; when it cannot be made they fail at once with
    /// `Unavailable` (see `ClientConfig::wait_for_ready`).
    pub fn connect(addr: impl std::net::ToSocketAddrs, config: ClientConfig) -> io::Result<Client> {
        let mut addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        // Servers commonly listen on IPv4 only while `localhost` resolves to ::1 first.
        addrs.sort_by_key(|a| !a.is_ipv4());
        let addr = *addrs.first().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the address resolves to nothing")
        })?;
        Client::connect_to(Address::Tcp(addr), config)
    }

    /// Creates a client for a server's Unix domain socket at `path` ([`Listen::Unix`]),
    /// in plaintext (the socket file's permissions are the boundary): a config with TLS is
    /// refused with `InvalidInput`. Otherwise as [`Client::connect`].
    ///
    /// [`Listen::Unix`]: crate::Listen::Unix
    pub fn connect_unix(path: impl AsRef<Path>, config: ClientConfig) -> io::Result<Client> {
        if config.tls.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "TLS over a Unix socket is not supported: the socket file's permissions admit its peers; clear ClientConfig::tls",
            ));
        }
        Client::connect_to(Address::Unix(path.as_ref().to_path_buf()), config)
    }

    fn connect_to(addr: Address, config: ClientConfig) -> io::Result<Client> {
        Client::connect_watched(addr, config, None)
    }

    /// A client whose connection's readiness is reported to `on_ready` as it changes.
    pub(crate) fn connect_watched(
        addr: Address,
        config: ClientConfig,
        on_ready: Option<driver::ReadyHook>,
    ) -> io::Result<Client> {
        let seat = Seat::take()?;
        // Bounded by `calls` (at most `max_in_flight` calls, each queued once, and at most
        // two cancels each); a list channel allocates as it fills, where an array one of
        // `max_in_flight` slots would hold ~100 KiB per idle client.
        let (tx, rx) = unbounded();
        let calls = Arc::new(AtomicUsize::new(0));
        let client_id = crate::random_u128();
        let secret = crate::random_u128();
        let closed = Arc::new(AtomicBool::new(false));
        let metrics = Metrics::default();
        let caller_waker = Arc::new(OnceLock::new());
        let ready = Arc::new(AtomicBool::new(false));
        let parts = ClientParts {
            ready: Arc::clone(&ready),
            on_ready,
            client_id,
            secret,
            config: config.clone(),
            closed: Arc::clone(&closed),
            caller_waker: Arc::clone(&caller_waker),
            metrics: metrics.clone(),
            calls: Arc::clone(&calls),
        };
        let driver = Arc::new(Mutex::new(Driver::new(addr, &seat, rx, &parts)));
        seat.board(Arc::clone(&driver));
        let shared = Arc::new(Shared {
            commands: tx,
            calls,
            closed,
            seat,
            client_id,
            next_call_id: Box::new(Mutex::new(1)),
            config,
            metrics,
            driver,
            spin: crate::spin::SpinSite::default(),
            caller_blocked: AtomicBool::new(false),
            caller_waker,
            ready,
        });
        Ok(Client { shared })
    }

    /// Whether calls go out at once: the connection is up, its handshake done, and the
    /// server is not draining it. (A call made while it is not waits for the connection,
    /// or fails `Unavailable` without it: `ClientConfig::wait_for_ready`.)
    pub fn is_ready(&self) -> bool {
        self.shared.ready.load(Ordering::Acquire)
    }

    /// Names method `id` (its IDL name) in [`Client::metrics`]; typed clients name theirs.
    pub fn name_method(&self, id: u32, name: &'static str) {
        self.shared.metrics.name(id, name);
    }

    /// Per-method calls, failures and latency as the caller saw them (start to end).
    pub fn metrics(&self) -> Snapshot {
        self.shared.metrics.snapshot()
    }

    /// This client's 128-bit id.
    pub fn id(&self) -> u128 {
        self.shared.client_id
    }

    /// Calls `method` and blocks until the reply, an error, or the deadline.
    pub fn call(
        &self,
        method: u32,
        payload: &[u8],
        options: &CallOptions,
    ) -> Result<Vec<u8>, CallError> {
        // The caller will wait at once, driving the session itself while it polls: the
        // I/O thread need not be woken for this call unless the caller goes to sleep.
        self.start_call(method, payload, options, true).wait()
    }

    /// Starts a call and returns a handle to wait on, poll as a `Future`, or cancel.
    pub fn start(&self, method: u32, payload: &[u8], options: &CallOptions) -> CallHandle {
        self.start_call(method, payload, options, false)
    }

    fn start_call(
        &self,
        method: u32,
        payload: &[u8],
        options: &CallOptions,
        caller_waits: bool,
    ) -> CallHandle {
        let slot = Arc::new(Slot::default());
        let now = Instant::now();
        let allowed = options.deadline.unwrap_or(self.shared.config.default_deadline);
        // A deadline too far to represent is as good as none: a century.
        let deadline = now
            .checked_add(allowed)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600));
        let mut flags = 0;
        if options.idempotent {
            flags |= protocol::FLAG_IDEMPOTENT;
        }
        if options.oneway {
            flags |= protocol::FLAG_ONEWAY;
        }
        let mut metadata = Vec::new();
        if let Some(creds) = &self.shared.config.credentials {
            if self.shared.config.tls.is_none() && !creds.allow_plaintext {
                slot.fill(Err(CallError::PermissionDenied(
                    "credentials are never sent over plaintext: set ClientConfig::tls (or Credentials::allow_plaintext); the call was not sent".into(),
                )));
            } else {
                match (creds.fetch)(method) {
                    Ok(entries) => {
                        for (k, v) in &entries {
                            if let Err(why) = protocol::metadata::push(&mut metadata, k, v) {
                                slot.fill(Err(CallError::PermissionDenied(format!(
                                    "credentials: {why}; the call was not sent"
                                ))));
                            }
                        }
                    }
                    Err(e) => slot.fill(Err(CallError::PermissionDenied(format!(
                        "credentials: {e}; the call was not sent"
                    )))),
                }
            }
        }
        for (k, v) in &options.metadata {
            if let Err(why) = protocol::metadata::push(&mut metadata, k, v) {
                slot.fill(Err(CallError::Protocol(format!("{why}; the call was not sent"))));
            }
        }
        if let Err(why) = protocol::metadata::check(&metadata) {
            // A key twice (the options and the credentials, say): the server would refuse.
            slot.fill(Err(CallError::Protocol(format!("{why}; the call was not sent"))));
        }
        let mut handle = CallHandle {
            slot: Arc::clone(&slot),
            shared: Arc::clone(&self.shared),
            driving: false,
        };
        if metadata.len() > u16::MAX as usize {
            slot.fill(Err(CallError::Protocol("metadata exceeds 64 KiB".into())));
        }
        if slot.state.lock().unwrap_or_else(|p| p.into_inner()).result.is_some() {
            return handle;
        }
        let max = self.shared.config.max_in_flight.max(1);
        if self.shared.calls.fetch_add(1, Ordering::AcqRel) >= max {
            self.shared.calls.fetch_sub(1, Ordering::AcqRel);
            slot.fill(Err(CallError::Overloaded(format!(
                "{max} calls already waiting or in flight in this client (ClientConfig::max_in_flight); the call was not sent"
            ))));
            return handle;
        }
        let mut next_id = self.shared.next_call_id.lock().unwrap_or_else(|p| p.into_inner());
        let call_id = *next_id;
        slot.call_id.store(call_id, Ordering::Relaxed);
        let wait_for_ready = options.wait_for_ready.unwrap_or(self.shared.config.wait_for_ready);
        let out = Outgoing {
            call_id,
            method,
            flags,
            metadata,
            payload: payload.to_vec(),
            deadline,
            wait_for_ready,
            retry: options.retry.clone(),
            token: slot,
        };
        // A caller about to wait (`Client::call`) drives the session itself if no one else
        // is (see `driver`); other calls go through the I/O thread, which batches their
        // writes. Still under the id lock, so calls reach the session in id order either
        // way. A `start`ed call is written by its caller only when it is the client's one
        // call in flight (a thread per connection, one call at a time): in a burst the
        // first call would cost its own send while the I/O thread is still woken for the
        // rest (16 in flight: 8.4–9.0 µs of CPU per call instead of 6.3–6.8). Its caller
        // does not drive: it may do other work before it waits (`CallHandle::wait` takes
        // over then, `take_over_driving`).
        let alone = || self.shared.calls.load(Ordering::Acquire) == 1;
        let driver =
            (caller_waits || alone()).then(|| self.shared.driver.try_lock().ok()).flatten();
        if let Some(mut driver) = driver {
            if !driver.closing {
                *next_id += 1;
                driver.add_call(out);
                drop(next_id);
                if caller_waits {
                    driver.caller_begins();
                    handle.driving = true;
                    driver.sync();
                } else {
                    driver.sync();
                    let due = driver.next_timer();
                    drop(driver);
                    self.shared.seat.ready_before(due);
                }
                return handle;
            }
        }
        let sent = self.shared.commands.try_send(Command::Call(Box::new(out)));
        if sent.is_ok() {
            *next_id += 1;
        }
        drop(next_id);
        match sent {
            Ok(()) => {
                // One wake-up per burst: the lane drains everything queued.
                self.shared.seat.ready();
                self.shared.make_way();
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.shared.calls.fetch_sub(1, Ordering::AcqRel);
                handle.slot.fill(Err(CallError::Unavailable("client is shut down".into())));
            }
        }
        handle
    }
}

/// Dropping a client cancels the calls still pending: each ends at once with `Cancelled`
/// (the server is told to skip those it has not started), and the I/O thread exits.
impl Drop for Client {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.make_way();
        // Here, not on the lane: when `drop` returns, every pending call has ended and
        // the server has been told (as far as the socket takes it now).
        self.shared.lock_driver().close();
        self.shared.seat.leave();
    }
}

/// How a call ended, and how many requests it took ([`CallHandle::wait_report`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallReport {
    /// The reply or the error, as [`CallHandle::wait`] returns it.
    pub result: Result<Vec<u8>, CallError>,
    /// Requests sent: 0 if the call never left the client.
    pub attempts: u32,
}

/// A call in progress.
#[derive(Debug)]
pub struct CallHandle {
    slot: Arc<Slot>,
    shared: Arc<Shared>,
    /// This handle's caller drives the session until it stops waiting (`Client::call`).
    driving: bool,
}

impl CallHandle {
    /// Blocks until the call ends (it always ends by its deadline).
    ///
    /// It may poll the reply slot for a short while before sleeping
    /// (`ClientConfig::busy_poll`): a reply usually lands within tens of microseconds, and
    /// catching it awake saves the wake-up of a sleeping thread (tens of µs on these VMs).
    /// It polls only when a core is free for it (never with one CPU; at most `cores − 1`
    /// pollers per process; not on a busy machine; less while polls go unanswered), so
    /// polling never delays the reply it waits for.
    pub fn wait(mut self) -> Result<Vec<u8>, CallError> {
        self.take_over_driving();
        let limit = self.shared.config.busy_poll;
        let Some(spinning) = self.shared.spin.begin(limit) else {
            if let Some(r) = self.block_driving() {
                return r;
            }
            self.stop_driving();
            return self.sleep_until_done();
        };
        let until = Instant::now() + limit;
        let mut early = None;
        while Instant::now() < until {
            if let Ok(mut s) = self.slot.state.try_lock() {
                if let Some(r) = s.result.take() {
                    early = Some(r);
                    break;
                }
            }
            // Read the reply ourselves: catching it here saves waking the I/O thread and
            // being woken by it.
            if self.driving {
                if let Ok(mut driver) = self.shared.driver.try_lock() {
                    driver.poll_socket();
                }
            }
            std::hint::spin_loop();
        }
        drop(spinning);
        self.shared.spin.end(early.is_some());
        self.stop_driving();
        match early {
            Some(r) => r,
            None => self.sleep_until_done(),
        }
    }

    /// The caller that drives the session, when it may not poll, blocks on the socket
    /// itself until its reply (one wake-up, as a plain blocking client), unless another
    /// caller's call needs the I/O thread: then `None`, and it sleeps on its slot.
    fn block_driving(&mut self) -> Option<Result<Vec<u8>, CallError>> {
        if !self.driving {
            return None;
        }
        let shared = Arc::clone(&self.shared);
        let Ok(mut driver) = shared.driver.try_lock() else { return None };
        loop {
            if let Some(r) = self.take_result() {
                return Some(r);
            }
            // Published before checking for company: a call handed over after the check
            // sees the flag and wakes us (SeqCst on both sides).
            shared.caller_blocked.store(true, Ordering::SeqCst);
            std::sync::atomic::fence(Ordering::SeqCst);
            let blocked =
                driver.may_block() && driver.block_for_input(Instant::now() + BLOCK_SLICE);
            shared.caller_blocked.store(false, Ordering::SeqCst);
            if !blocked {
                return self.take_result();
            }
        }
    }

    /// A `start`ed call waited on while it is the client's only call: its caller reads
    /// the reply itself, as `Client::call` does, if nobody else drives the session. The
    /// I/O thread would otherwise be woken by the reply only to wake this caller (two
    /// wake-ups per call for a thread per connection with one call at a time).
    fn take_over_driving(&mut self) {
        if self.driving || self.shared.calls.load(Ordering::Acquire) != 1 {
            return;
        }
        let Ok(mut driver) = self.shared.driver.try_lock() else { return };
        if driver.caller_driving() || driver.closing {
            return;
        }
        driver.caller_begins();
        self.driving = true;
    }

    fn take_result(&self) -> Option<Result<Vec<u8>, CallError>> {
        self.slot.state.lock().unwrap_or_else(|p| p.into_inner()).result.take()
    }

    fn stop_driving(&mut self) {
        if std::mem::take(&mut self.driving) {
            self.shared.stop_driving();
        }
    }

    fn sleep_until_done(self) -> Result<Vec<u8>, CallError> {
        let mut s = self.slot.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = s.result.take() {
                return r;
            }
            s.blocked = true;
            s = self.slot.ready.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Blocks as [`CallHandle::wait`] does, and says how many requests were sent for the
    /// call: 0 means it never left this client (so it did not run, whatever the error),
    /// more than 1 that it was re-sent (after a refusal or a broken connection; still run
    /// at most once).
    pub fn wait_report(self) -> CallReport {
        let slot = Arc::clone(&self.slot);
        let result = self.wait();
        CallReport { result, attempts: slot.attempts.load(Ordering::Relaxed) }
    }

    /// Waits at most `timeout`; `Err(self)` if the call is still running.
    pub fn wait_timeout(
        mut self,
        timeout: Duration,
    ) -> Result<Result<Vec<u8>, CallError>, CallHandle> {
        self.stop_driving();
        let end = Instant::now() + timeout;
        {
            let mut s = self.slot.state.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(r) = s.result.take() {
                    return Ok(r);
                }
                let now = Instant::now();
                if now >= end {
                    break;
                }
                s.blocked = true;
                s = self.slot.ready.wait_timeout(s, end - now).unwrap_or_else(|p| p.into_inner()).0;
            }
        }
        Err(self)
    }

    /// Cancels the call: it ends with `Cancelled` and the server is told to skip it if it has
    /// not started.
    pub fn cancel(&self) {
        self.slot.fill(Err(CallError::Cancelled));
        if self.shared.commands.try_send(Command::Cancel(Arc::clone(&self.slot))).is_ok() {
            self.shared.seat.ready();
            self.shared.make_way();
        }
    }

    /// The call's sequence number in this client's session (0 if it was refused before
    /// it got one).
    pub fn call_id(&self) -> u64 {
        self.slot.call_id.load(Ordering::Relaxed)
    }
}

/// Dropping a handle whose call has not ended cancels it (the server skips it if it has not
/// started), as dropping a future cancels it in async Rust: a caller that gave up (a
/// `tokio::time::timeout` around the future, say) does not leave work running.
impl Drop for CallHandle {
    fn drop(&mut self) {
        self.stop_driving();
        let ended = self.slot.state.lock().unwrap_or_else(|p| p.into_inner()).ended;
        if !ended && self.shared.commands.try_send(Command::Cancel(Arc::clone(&self.slot))).is_ok()
        {
            self.shared.seat.ready();
            self.shared.make_way();
        }
    }
}

impl Future for CallHandle {
    type Output = Result<Vec<u8>, CallError>;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> TaskPoll<Self::Output> {
        let mut s = self.slot.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.result.take() {
            Some(r) => TaskPoll::Ready(r),
            None => {
                s.waker = Some(cx.waker().clone());
                TaskPoll::Pending
            }
        }
    }
}
