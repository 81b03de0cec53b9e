//! The client: one connection carrying every call made through it, from any number of
//! threads. An I/O thread owns the socket and a mio poll; callers hand calls over through a
//! bounded channel and wait on a per-call slot (blocking, with a timeout, or as a `Future`).
//!
//! Guarantees (spec/protocol.md § Client): every call ends by its deadline; a call is
//! re-sent only with its original (client id, call id), so the server runs it at most once;
//! after a server restart, calls whose outcome is unknown fail with `OutcomeUnknown`
//! unless marked idempotent.

use std::fmt;
use std::future::Future;
mod driver;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context as TaskContext, Poll as TaskPoll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Sender, TrySendError};
use mio::{Poll, Waker};

use crate::metrics::{Metrics, Snapshot};
use crate::protocol;
use crate::session::client::NewCall;
use crate::tls::ClientTls;
use driver::{nanos, ArmedUntil, ClientParts, Driver, WAKER};

/// How long a blocking `call` polls for its reply before sleeping.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(100);

/// Why a call did not return a reply. Each variant says whether the handler may have run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The deadline passed. The call may or may not have run on the server.
    DeadlineExceeded,
    /// The server refused the call for lack of capacity; it did not run. Retry later.
    Overloaded(String),
    /// No connection could be made before the deadline; the call was never sent, so it did
    /// not run.
    Unavailable(String),
    /// An attempt was on the wire when its connection broke, and what followed cannot
    /// tell whether it ran: the server restarted before replying (the call was not re-sent:
    /// mark the method idempotent to allow that), no new connection could be made, or the
    /// re-send was refused. The call may have run once, or not at all; the message says
    /// which of these happened.
    OutcomeUnknown(String),
    /// Cancelled by the caller. It may have run if it was already executing.
    Cancelled,
    /// A protocol violation or a method the server does not have; it did not run.
    Protocol(String),
    /// The handler failed outside its declared results (or panicked); it ran, perhaps
    /// partially.
    Remote(String),
    /// The server could not decode the call's arguments; the handler did not run.
    InvalidArguments(String),
    /// The server's authorization refused the call (identity, credentials or method); it
    /// did not run. Also refused here, unsent, when credentials would go over plaintext.
    PermissionDenied(String),
    /// The server has no such method (an older or other service); it did not run.
    UnknownMethod(String),
    /// The handler ran, but its reply could not be decoded (or had neither a result nor a
    /// declared exception): a mismatch between the two sides' IDL.
    BadReply(String),
    /// The request is larger than the server accepts (`max_frame` of its handshake): it was
    /// refused here, before sending, so it did not run.
    TooLarge {
        /// The encoded request's size in bytes.
        size: usize,
        /// The server's limit.
        limit: usize,
    },
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::DeadlineExceeded => f.write_str("deadline exceeded; the call may or may not have run"),
            CallError::Overloaded(m) => write!(f, "server overloaded, call not run: {m}"),
            CallError::Unavailable(m) => write!(f, "server unavailable, call not sent: {m}"),
            CallError::OutcomeUnknown(m) => {
                write!(f, "outcome unknown, the call may have run once or not at all: {m}")
            }
            CallError::Cancelled => f.write_str("call cancelled"),
            CallError::Protocol(m) => write!(f, "protocol error: {m}"),
            CallError::Remote(m) => write!(f, "handler failed: {m}"),
            CallError::InvalidArguments(m) => write!(f, "arguments refused, call not run: {m}"),
            CallError::PermissionDenied(m) => write!(f, "permission denied, call not run: {m}"),
            CallError::UnknownMethod(m) => write!(f, "unknown method, call not run: {m}"),
            CallError::BadReply(m) => write!(f, "the call ran but its reply is unreadable: {m}"),
            CallError::TooLarge { size, limit } => write!(
                f,
                "request of {size} bytes exceeds the server's limit of {limit}; not sent, so not run"
            ),
        }
    }
}

impl std::error::Error for CallError {}

/// Re-sends of calls the server refused without running them (`Overloaded`,
/// `TooManyOutstanding`), all within the call's one deadline. Backoff:
/// random(0, min(initial × multiplier^(n−1), max)).
///
/// The other re-sends are not a policy's to refuse, because they cannot run a call twice:
/// a call the server answered `ShuttingDown` goes to the next connection; a call on a
/// connection that broke is re-sent under its original call id (the server runs it at
/// most once, and answers a re-send of a finished call from its record) unless the server
/// restarted, when only idempotent calls are re-sent and the others end `OutcomeUnknown`.
/// Errors that say the handler ran (`Remote`, `BadReply`) are never retried: whether
/// running it again is right is the application's decision.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, including the first. Default: 3.
    pub max_attempts: u32,
    /// Wait before the first re-send.
    pub initial_backoff: Duration,
    /// The longest wait between re-sends.
    pub max_backoff: Duration,
    /// Each wait is the previous one times this (exponential backoff).
    pub multiplier: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(200),
            multiplier: 2,
        }
    }
}

impl RetryPolicy {
    /// No re-sends: a refusal ends the call with `Overloaded`.
    pub const NEVER: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        multiplier: 1,
    };

    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(self.multiplier.saturating_pow(attempt.saturating_sub(1)));
        crate::session::client::jitter(exp.min(self.max_backoff))
    }
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Deadline of calls that set none (and whose method has no `ferry.timeout_ms`).
    /// Always finite. Default: 5 s.
    pub default_deadline: Duration,
    /// Calls waiting or in flight; beyond it `call` fails with `Overloaded` at once.
    /// Default: 4096.
    pub max_in_flight: usize,
    /// Largest frame accepted. Default: 8 MiB.
    pub max_frame: usize,
    /// How long one connection attempt may take. Default: 1 s.
    pub connect_timeout: Duration,
    /// Reconnection backoff, first and largest delay (with jitter).
    pub reconnect_initial: Duration,
    /// The longest wait between reconnection attempts (they back off up to it).
    pub reconnect_max: Duration,
    /// When calls refused before they ran are re-sent (never calls that may have run).
    pub retry: RetryPolicy,
    /// While calls are pending and nothing has arrived for this long, the client pings the
    /// server; `None` turns keepalive off. Default: 2 s.
    pub keepalive_interval: Option<Duration>,
    /// A ping unanswered (nothing received at all) for this long abandons the connection,
    /// so a connection that silently stopped passing data does not hold calls. Default 3 s.
    pub keepalive_timeout: Duration,
    /// When no connection can be made (refused, timed out), calls fail at once with
    /// `Unavailable` (never sent) or `OutcomeUnknown` (sent before the connection broke),
    /// as gRPC does; `true` makes them wait for a connection until their deadline instead.
    /// Default: false.
    pub wait_for_ready: bool,
    /// TLS 1.3 to the server (and mutual TLS when it holds a client certificate); `None`:
    /// plaintext. Default: `None`.
    pub tls: Option<ClientTls>,
    /// Adds credentials (a bearer token, say) to every call's metadata. Default: none.
    pub credentials: Option<Credentials>,
}

/// Metadata entries: (key, value) pairs.
pub type Metadata = Vec<(String, Vec<u8>)>;

/// Gives the credential entries for a call of a method id, or why there are none.
pub type FetchCredentials = Arc<dyn Fn(u32) -> Result<Metadata, String> + Send + Sync>;

/// Per-call credentials: `fetch` gives the metadata entries to add to a call of method
/// `id` (a token it refreshes as it likes), or refuses (the call fails, unsent, with
/// `PermissionDenied`). They are never sent over plaintext unless `allow_plaintext` says
/// so (gRPC's `RequireTransportSecurity`): a token on an unencrypted link is a token given
/// away.
#[derive(Clone)]
pub struct Credentials {
    /// The entries for a call of method `id`.
    pub fetch: FetchCredentials,
    /// Send them without TLS too (loopback tests, a trusted network). Default false.
    pub allow_plaintext: bool,
}

impl Credentials {
    /// Credentials that `fetch` gives, over TLS only.
    pub fn new(
        fetch: impl Fn(u32) -> Result<Vec<(String, Vec<u8>)>, String> + Send + Sync + 'static,
    ) -> Credentials {
        Credentials { fetch: Arc::new(fetch), allow_plaintext: false }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("allow_plaintext", &self.allow_plaintext).finish()
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            default_deadline: Duration::from_secs(5),
            max_in_flight: 4096,
            max_frame: 8 * 1024 * 1024,
            connect_timeout: Duration::from_secs(1),
            reconnect_initial: Duration::from_millis(10),
            reconnect_max: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            keepalive_interval: Some(Duration::from_secs(2)),
            keepalive_timeout: Duration::from_secs(3),
            wait_for_ready: false,
            tls: None,
            credentials: None,
        }
    }
}

/// Per-call options.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    /// Time allowed for the whole call, retries included; `None`: the client default.
    pub deadline: Option<Duration>,
    /// Key/value pairs sent with the call; the handler reads them with `Context::metadata`.
    pub metadata: Vec<(String, Vec<u8>)>,
    /// The method may run again after an unknown outcome (`ferry.idempotent`).
    pub idempotent: bool,
    /// Fire and forget: the call completes once written; no reply is awaited.
    pub oneway: bool,
    /// Wait (within the deadline) for a server that cannot be reached instead of failing
    /// at once with `Unavailable`; `None`: the client's `wait_for_ready`.
    pub wait_for_ready: Option<bool>,
    /// This call's re-sends after refusals; `None`: the client's `retry`
    /// ([`RetryPolicy::NEVER`] makes a refusal final at once).
    pub retry: Option<RetryPolicy>,
}

/// A client. Cheap to share: clone the `Arc` or use `&Client` from many threads.
#[derive(Debug)]
pub struct Client {
    shared: Arc<Shared>,
    io_thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    commands: Sender<Command>,
    /// Set by callers when they wake the I/O thread, cleared by it before it drains the
    /// channel: a burst of calls costs one wake-up (an eventfd write), not one each.
    wake_pending: Arc<AtomicBool>,
    /// Set when the `Client` is dropped: the I/O thread finishes the calls it has and exits.
    closed: Arc<AtomicBool>,
    waker: Waker,
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
    /// Apart from `Shared` (its own allocation, as `armed_until`), so that what the I/O
    /// thread writes on every turn shares no cache line with what callers write on every
    /// call: false sharing cost microseconds per call with 16 in flight.
    driver: Arc<Mutex<Driver>>,
    /// When the I/O thread's current sleep ends (`driver::nanos`; 0 while it is awake).
    armed_until: Arc<ArmedUntil>,
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
        self.wake_before(due);
    }

    /// Wakes the I/O thread if its sleep ends after `due`.
    fn wake_before(&self, due: Instant) {
        let armed = self.armed_until.load(Ordering::Acquire);
        if armed != 0 && armed > nanos(due) {
            let _ = self.waker.wake();
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
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let (tx, rx) = bounded(config.max_in_flight.max(1));
        let client_id = crate::random_u128();
        let secret = crate::random_u128();
        let closed = Arc::new(AtomicBool::new(false));
        let metrics = Metrics::default();
        let wake_pending = Arc::new(AtomicBool::new(false));
        let parts = ClientParts {
            client_id,
            secret,
            config: config.clone(),
            closed: Arc::clone(&closed),
            wake_pending: Arc::clone(&wake_pending),
            metrics: metrics.clone(),
        };
        let driver = Driver::new(addr, poll.registry().try_clone()?, rx, &parts);
        let shared = Arc::new(Shared {
            commands: tx,
            wake_pending,
            closed,
            waker,
            client_id,
            next_call_id: Box::new(Mutex::new(1)),
            config,
            metrics,
            driver: Arc::new(Mutex::new(driver)),
            armed_until: Arc::new(ArmedUntil::new(0)),
        });
        let (io_driver, io_armed) = (Arc::clone(&shared.driver), Arc::clone(&shared.armed_until));
        let io_thread = std::thread::Builder::new()
            .name("ferry-client".into())
            .spawn(move || driver::run(poll, io_driver, io_armed))?;
        Ok(Client { shared, io_thread: Some(io_thread) })
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
        // way. A `start`ed call is never written by its caller, even when alone: the first
        // call of every burst would then cost its own send, and the I/O thread would still
        // be woken for the rest (16 in flight: 8.4–9.0 µs of CPU per call instead of
        // 6.3–6.8). Generated blocking methods use `Client::call`.
        let driver = caller_waits.then(|| self.shared.driver.try_lock().ok()).flatten();
        if let Some(mut driver) = driver {
            if !driver.closing {
                *next_id += 1;
                driver.add_call(out);
                drop(next_id);
                driver.caller_begins();
                handle.driving = true;
                driver.sync();
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
                // One wake-up per burst: the I/O thread drains everything queued.
                if !self.shared.wake_pending.swap(true, Ordering::AcqRel) {
                    let _ = self.shared.waker.wake();
                }
            }
            Err(TrySendError::Full(_)) => {
                handle.slot.fill(Err(CallError::Overloaded(format!(
                    "{} calls already waiting in this client",
                    self.shared.config.max_in_flight
                ))));
            }
            Err(TrySendError::Disconnected(_)) => {
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
        let _ = self.shared.waker.wake();
        if let Some(t) = self.io_thread.take() {
            let _ = t.join();
        }
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
    /// It polls the reply slot for a short while before sleeping: a reply usually lands
    /// within tens of microseconds, and catching it awake saves the wake-up of a sleeping
    /// thread (tens of µs on these VMs). At most `cores − 1` callers poll at once, so polling
    /// never starves the client's I/O thread.
    pub fn wait(mut self) -> Result<Vec<u8>, CallError> {
        let Some(spinning) = crate::spin::Spinning::try_begin() else {
            self.stop_driving();
            return self.sleep_until_done();
        };
        let until = Instant::now() + SPIN_BEFORE_SLEEP;
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
        self.stop_driving();
        match early {
            Some(r) => r,
            None => self.sleep_until_done(),
        }
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
            let _ = self.shared.waker.wake();
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
            let _ = self.shared.waker.wake();
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
