//! The client: one connection carrying every call made through it, from any number of
//! threads. An I/O thread owns the socket and a mio poll; callers hand calls over through a
//! bounded channel and wait on a per-call slot (blocking, with a timeout, or as a `Future`).
//!
//! Guarantees (spec/protocol.md § Client): every call ends by its deadline; a call is
//! re-sent only with its original (client id, call id), so the server runs it at most once;
//! after a server restart, calls whose outcome is unknown fail with `OutcomeUnknown`
//! unless marked idempotent.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context as TaskContext, Poll as TaskPoll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TryRecvError, TrySendError};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::metrics::{Metrics, Snapshot};
use crate::protocol::{self, ErrorCode, Header, Hello, HelloAck, Kind};
use crate::timers::Timers;

const SOCKET: Token = Token(0);
/// How long a blocking `call` polls for its reply before sleeping.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(100);

/// Callers of every client in this process currently polling for their reply. Process-wide
/// because the cores are: with one budget per client, four clients on two cores spun four
/// threads and starved their own I/O threads (4 connections × 16 in flight ran at half the
/// calls/s of one connection).
static SPINNING: AtomicUsize = AtomicUsize::new(0);

/// How many callers may poll at once: cores − 1, at least 1.
fn max_spinning() -> usize {
    static MAX: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
    })
}
const WAKER: Token = Token(1);

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
    /// The connection broke and the server restarted before the reply came: the call may
    /// have run once, or not at all. It was not re-sent (mark the method idempotent to
    /// allow that).
    OutcomeUnknown,
    /// Cancelled by the caller. It may have run if it was already executing.
    Cancelled,
    /// A protocol violation or a method the server does not have; it did not run.
    Protocol(String),
    /// The handler failed outside its declared results (or panicked); it ran, perhaps
    /// partially.
    Remote(String),
    /// The server could not decode the call's arguments; the handler did not run.
    InvalidArguments(String),
    /// The handler ran, but its reply could not be decoded (or had neither a result nor a
    /// declared exception): a mismatch between the two sides' IDL.
    BadReply(String),
    /// The request is larger than the server accepts (`max_frame` of its handshake): it was
    /// refused here, before sending, so it did not run.
    TooLarge { size: usize, limit: usize },
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::DeadlineExceeded => f.write_str("deadline exceeded; the call may or may not have run"),
            CallError::Overloaded(m) => write!(f, "server overloaded, call not run: {m}"),
            CallError::Unavailable(m) => write!(f, "server unavailable, call not sent: {m}"),
            CallError::OutcomeUnknown => f.write_str(
                "server restarted before replying: the call may have run once or not at all; it was not re-sent",
            ),
            CallError::Cancelled => f.write_str("call cancelled"),
            CallError::Protocol(m) => write!(f, "protocol error: {m}"),
            CallError::Remote(m) => write!(f, "handler failed: {m}"),
            CallError::InvalidArguments(m) => write!(f, "arguments refused, call not run: {m}"),
            CallError::BadReply(m) => write!(f, "the call ran but its reply is unreadable: {m}"),
            CallError::TooLarge { size, limit } => write!(
                f,
                "request of {size} bytes exceeds the server's limit of {limit}; not sent, so not run"
            ),
        }
    }
}

impl std::error::Error for CallError {}

/// Retries of calls the server refused without running them (`Overloaded`), all within the
/// call's one deadline. Backoff: random(0, min(initial × multiplier^(n−1), max)).
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, including the first. Default: 3.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
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
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(self.multiplier.saturating_pow(attempt.saturating_sub(1)));
        jitter(exp.min(self.max_backoff))
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
    pub reconnect_max: Duration,
    pub retry: RetryPolicy,
    /// While calls are pending and nothing has arrived for this long, the client pings the
    /// server; `None` turns keepalive off. Default: 2 s.
    pub keepalive_interval: Option<Duration>,
    /// A ping unanswered (nothing received at all) for this long abandons the connection,
    /// so a connection that silently stopped passing data does not hold calls. Default 3 s.
    pub keepalive_timeout: Duration,
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
        }
    }
}

/// Per-call options.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    /// Time allowed for the whole call, retries included; `None`: the client default.
    pub deadline: Option<Duration>,
    pub metadata: Vec<(String, Vec<u8>)>,
    /// The method may run again after an unknown outcome (`ferry.idempotent`).
    pub idempotent: bool,
    /// Fire and forget: the call completes once written; no reply is awaited.
    pub oneway: bool,
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
    /// Proves `client_id` is ours at every handshake (spec/protocol.md § 5, Identity).
    secret: u128,
    /// The next call id, taken under this lock together with the hand-over to the I/O
    /// thread: ids reach it in increasing order (so its lowest pending id is a correct
    /// acknowledgement), and a handle knows its id from the start.
    next_call_id: Mutex<u64>,
    config: ClientConfig,
    metrics: Metrics,
}

enum Command {
    Call(Box<Outgoing>),
    Cancel(Arc<Slot>),
}

struct Outgoing {
    call_id: u64,
    method: u32,
    flags: u16,
    metadata: Vec<u8>,
    payload: Vec<u8>,
    deadline: Instant,
    slot: Arc<Slot>,
}

#[derive(Debug, Default)]
struct Slot {
    state: Mutex<SlotState>,
    ready: Condvar,
    /// Assigned when the call starts (see `Shared::next_call_id`).
    call_id: AtomicU64,
}

#[derive(Debug, Default)]
struct SlotState {
    result: Option<Result<Vec<u8>, CallError>>,
    waker: Option<std::task::Waker>,
    /// A thread is blocked on the condvar: only then is a (system-call) notify needed.
    blocked: bool,
}

impl Slot {
    fn fill(&self, result: Result<Vec<u8>, CallError>) {
        let waker = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if s.result.is_some() {
                return;
            }
            s.result = Some(result);
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
    /// Creates a client for `addr` and starts connecting in the background.
    pub fn connect(addr: SocketAddr, config: ClientConfig) -> io::Result<Client> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let (tx, rx) = bounded(config.max_in_flight.max(1));
        let client_id = crate::random_u128();
        let secret = crate::random_u128();
        let closed = Arc::new(AtomicBool::new(false));
        let metrics = Metrics::default();
        let wake_pending = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            commands: tx,
            wake_pending: Arc::clone(&wake_pending),
            closed: Arc::clone(&closed),
            waker,
            client_id,
            secret,
            next_call_id: Mutex::new(1),
            config: config.clone(),
            metrics: metrics.clone(),
        });
        let mut io = Io::new(addr, poll, rx, Arc::clone(&shared));
        let io_thread =
            std::thread::Builder::new().name("ferry-client".into()).spawn(move || io.run())?;
        Ok(Client { shared, io_thread: Some(io_thread) })
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
        self.start(method, payload, options).wait()
    }

    /// Starts a call and returns a handle to wait on, poll as a `Future`, or cancel.
    pub fn start(&self, method: u32, payload: &[u8], options: &CallOptions) -> CallHandle {
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
        for (k, v) in &options.metadata {
            if !protocol::metadata::push(&mut metadata, k, v) {
                slot.fill(Err(CallError::Protocol(format!(
                    "metadata entry `{k}` is too long (keys ≤ 255 bytes, values ≤ 65535)"
                ))));
            }
        }
        let handle = CallHandle { slot: Arc::clone(&slot), shared: Arc::clone(&self.shared) };
        if metadata.len() > u16::MAX as usize {
            slot.fill(Err(CallError::Protocol("metadata exceeds 64 KiB".into())));
        }
        if slot.state.lock().unwrap_or_else(|p| p.into_inner()).result.is_some() {
            return handle;
        }
        let mut next_id = self.shared.next_call_id.lock().unwrap_or_else(|p| p.into_inner());
        let call_id = *next_id;
        slot.call_id.store(call_id, Ordering::Relaxed);
        let out = Outgoing {
            call_id,
            method,
            flags,
            metadata,
            payload: payload.to_vec(),
            deadline,
            slot,
        };
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

/// A call in progress.
#[derive(Debug)]
pub struct CallHandle {
    slot: Arc<Slot>,
    shared: Arc<Shared>,
}

impl CallHandle {
    /// Blocks until the call ends (it always ends by its deadline).
    ///
    /// It polls the reply slot for a short while before sleeping: a reply usually lands
    /// within tens of microseconds, and catching it awake saves the wake-up of a sleeping
    /// thread (tens of µs on these VMs). At most `cores − 1` callers poll at once, so polling
    /// never starves the client's I/O thread.
    pub fn wait(self) -> Result<Vec<u8>, CallError> {
        let spinning = &SPINNING;
        if spinning.fetch_add(1, Ordering::AcqRel) >= max_spinning() {
            spinning.fetch_sub(1, Ordering::AcqRel);
            return self.sleep_until_done();
        }
        let until = Instant::now() + SPIN_BEFORE_SLEEP;
        let mut early = None;
        while Instant::now() < until {
            if let Ok(mut s) = self.slot.state.try_lock() {
                if let Some(r) = s.result.take() {
                    early = Some(r);
                    break;
                }
            }
            std::hint::spin_loop();
        }
        spinning.fetch_sub(1, Ordering::AcqRel);
        match early {
            Some(r) => r,
            None => self.sleep_until_done(),
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

    /// Waits at most `timeout`; `Err(self)` if the call is still running.
    pub fn wait_timeout(self, timeout: Duration) -> Result<Result<Vec<u8>, CallError>, CallHandle> {
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

// ---- the I/O thread

struct Pending {
    call: Outgoing,
    started: Instant,
    attempts: u32,
    /// The server incarnation it was last sent to; `None` if not on the wire.
    sent_to: Option<u128>,
    /// Some attempt may have run: it was on the wire when its connection broke. From then
    /// on a refusal ("did not run") speaks only for the latest attempt, so the call's
    /// verdict cannot be "did not run" any more.
    maybe_ran: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Deadline(u64),
    Retry(u64),
    Reconnect,
    ConnectTimeout(u64),
    Keepalive,
}

enum Conn {
    Down { last_error: String },
    Connecting { stream: TcpStream, attempt: u64 },
    Handshaking { stream: TcpStream },
    Ready { stream: TcpStream, incarnation: u128, draining: bool },
}

struct Io {
    addr: SocketAddr,
    poll: Poll,
    commands: Receiver<Command>,
    closed: Arc<AtomicBool>,
    wake_pending: Arc<AtomicBool>,
    client_id: u128,
    config: ClientConfig,
    conn: Conn,
    connect_attempts: u64,
    reconnect_delay: Duration,
    reconnect_scheduled: bool,
    incarnation: Option<u128>,
    pending: BTreeMap<u64, Pending>,
    /// Calls to put on the wire once a connection is ready, in order.
    unsent: VecDeque<u64>,
    timers: Timers<Timer>,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    closing: bool,
    metrics: Metrics,
    secret: u128,
    /// The server's frame limit (its `HelloAck`).
    server_max_frame: usize,
    /// When bytes last arrived on the connection, and when an unanswered ping went out.
    last_received: Instant,
    ping_sent: Option<Instant>,
    keepalive_armed: bool,
}

impl Io {
    /// Ends a call: records it and hands the result to the caller.
    fn finish(&self, p: &Pending, result: Result<Vec<u8>, CallError>) {
        self.metrics.record(p.call.method, p.started.elapsed(), result.is_ok());
        p.call.slot.fill(result);
    }

    fn new(addr: SocketAddr, poll: Poll, commands: Receiver<Command>, shared: Arc<Shared>) -> Self {
        let config = shared.config.clone();
        Io {
            addr,
            poll,
            commands,
            closed: Arc::clone(&shared.closed),
            wake_pending: Arc::clone(&shared.wake_pending),
            client_id: shared.client_id,
            reconnect_delay: config.reconnect_initial,
            config,
            conn: Conn::Down { last_error: "not connected yet".into() },
            connect_attempts: 0,
            reconnect_scheduled: false,
            incarnation: None,
            pending: BTreeMap::new(),
            unsent: VecDeque::new(),
            timers: Timers::default(),
            inbuf: Vec::new(),
            outbuf: Vec::new(),
            closing: false,
            metrics: shared.metrics.clone(),
            secret: shared.secret,
            server_max_frame: usize::MAX,
            last_received: Instant::now(),
            ping_sent: None,
            keepalive_armed: false,
        }
    }

    fn run(&mut self) {
        self.start_connect();
        let mut events = Events::with_capacity(64);
        while !self.closing {
            let timeout = self.timers.timeout(Instant::now(), Duration::from_secs(60));
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!("client poll failed: {e}");
                    break;
                }
            }
            let mut socket_event = false;
            for event in events.iter() {
                if event.token() == SOCKET {
                    socket_event = true;
                }
            }
            self.take_commands();
            if socket_event {
                self.on_socket();
            }
            self.fire_timers();
            self.flush();
        }
        // The client was dropped: cancel what is left, telling the server where it was sent.
        let ready = matches!(self.conn, Conn::Ready { .. });
        for (id, p) in std::mem::take(&mut self.pending) {
            if ready && p.sent_to.is_some() {
                let h = Header { kind: Kind::Cancel, call_id: id, ..Header::new(Kind::Cancel) };
                protocol::push(&mut self.outbuf, &h, &[]);
            }
            self.finish(&p, Err(CallError::Cancelled));
        }
        self.flush();
    }

    fn take_commands(&mut self) {
        if self.closed.load(Ordering::SeqCst) {
            self.closing = true;
        }
        // Cleared before draining: a call queued after this point wakes the loop again.
        self.wake_pending.store(false, Ordering::Release);
        loop {
            match self.commands.try_recv() {
                Ok(Command::Call(out)) => self.add_call(*out),
                Ok(Command::Cancel(slot)) => {
                    let id = slot.call_id.load(Ordering::Relaxed);
                    if let Some(p) = self.pending.remove(&id) {
                        self.finish(&p, Err(CallError::Cancelled));
                        if p.sent_to.is_some() && matches!(self.conn, Conn::Ready { .. }) {
                            let h = Header {
                                kind: Kind::Cancel,
                                call_id: id,
                                ..Header::new(Kind::Cancel)
                            };
                            protocol::push(&mut self.outbuf, &h, &[]);
                        }
                    }
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.closing = true;
                    // Calls still pending keep their deadlines; nothing new can arrive.
                    return;
                }
            }
        }
    }

    fn add_call(&mut self, out: Outgoing) {
        let now = Instant::now();
        if now >= out.deadline {
            out.slot.fill(Err(CallError::DeadlineExceeded));
            return;
        }
        let call_id = out.call_id;
        self.timers.add(out.deadline, Timer::Deadline(call_id));
        let pending =
            Pending { call: out, started: now, attempts: 0, sent_to: None, maybe_ran: false };
        self.pending.insert(call_id, pending);
        self.arm_keepalive();
        self.send_or_queue(call_id);
    }

    fn send_or_queue(&mut self, call_id: u64) {
        match &self.conn {
            Conn::Ready { incarnation, draining: false, .. } => {
                let incarnation = *incarnation;
                self.write_request(call_id, incarnation);
            }
            Conn::Down { .. } => {
                self.unsent.push_back(call_id);
                if !self.reconnect_scheduled {
                    self.start_connect();
                }
            }
            _ => self.unsent.push_back(call_id),
        }
    }

    fn write_request(&mut self, call_id: u64, incarnation: u128) {
        let ack = self.pending.keys().next().copied().unwrap_or(call_id);
        let limit = self.server_max_frame;
        let Some(p) = self.pending.get_mut(&call_id) else { return };
        let size = protocol::HEADER_LEN - 4 + p.call.metadata.len() + p.call.payload.len();
        if size > limit {
            // The server would close the connection on it (and every other call with it).
            if let Some(p) = self.pending.remove(&call_id) {
                self.finish(&p, Err(CallError::TooLarge { size, limit }));
            }
            return;
        }
        let now = Instant::now();
        let remaining = p.call.deadline.saturating_duration_since(now);
        // Every send after the first is a retry (spec § 5), refused or re-sent alike.
        let retry = if p.attempts > 0 { protocol::FLAG_RETRY } else { 0 };
        let attempt = (p.attempts + 1).min(255) as u8;
        let header = Header {
            kind: Kind::Request,
            flags: protocol::with_attempt(p.call.flags | retry, attempt),
            call_id,
            ack,
            method: p.call.method,
            deadline_us: u32::try_from(remaining.as_micros()).unwrap_or(u32::MAX).max(1),
        };
        let mark = protocol::begin(&mut self.outbuf, &header);
        self.outbuf.extend_from_slice(&p.call.metadata);
        protocol::end_metadata(&mut self.outbuf, mark);
        self.outbuf.extend_from_slice(&p.call.payload);
        protocol::finish(&mut self.outbuf, mark);
        p.attempts += 1;
        p.sent_to = Some(incarnation);
        if p.call.flags & protocol::FLAG_ONEWAY != 0 {
            // Fire and forget: done once handed to the connection.
            if let Some(p) = self.pending.remove(&call_id) {
                self.finish(&p, Ok(Vec::new()));
            }
        }
    }

    // ---- connection management

    fn start_connect(&mut self) {
        self.reconnect_scheduled = false;
        match TcpStream::connect(self.addr) {
            Ok(mut stream) => {
                self.connect_attempts += 1;
                let attempt = self.connect_attempts;
                if let Err(e) = self.poll.registry().register(
                    &mut stream,
                    SOCKET,
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    return self.connection_lost(format!("cannot register socket: {e}"));
                }
                self.timers.add(
                    Instant::now() + self.config.connect_timeout,
                    Timer::ConnectTimeout(attempt),
                );
                self.conn = Conn::Connecting { stream, attempt };
            }
            Err(e) => self.connection_lost(format!("connect to {} failed: {e}", self.addr)),
        }
    }

    fn connection_lost(&mut self, why: String) {
        if let Conn::Connecting { stream, .. }
        | Conn::Handshaking { stream }
        | Conn::Ready { stream, .. } = &mut self.conn
        {
            let _ = self.poll.registry().deregister(stream);
        }
        log::debug!("connection to {} lost: {why}", self.addr);
        self.conn = Conn::Down { last_error: why };
        self.inbuf.clear();
        self.outbuf.clear();
        // Sent calls stay pending: their fate is decided by the next handshake. Each may
        // have run.
        for p in self.pending.values_mut() {
            if p.sent_to.is_some() {
                p.maybe_ran = true;
            }
        }
        self.ping_sent = None;
        if !self.pending.is_empty() && !self.reconnect_scheduled {
            self.reconnect_scheduled = true;
            self.timers.add(Instant::now() + jitter(self.reconnect_delay), Timer::Reconnect);
            self.reconnect_delay = (self.reconnect_delay * 2).min(self.config.reconnect_max);
        }
    }

    fn on_socket(&mut self) {
        if let Conn::Connecting { stream, .. } = &mut self.conn {
            match stream.take_error() {
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => {
                    return self.connection_lost(format!("connect to {} failed: {e}", self.addr))
                }
            }
            if stream.peer_addr().is_err() {
                return; // still connecting
            }
            let _ = stream.set_nodelay(true);
            let hello = Hello {
                client_id: self.client_id,
                max_frame: u32::try_from(self.config.max_frame).unwrap_or(u32::MAX),
                secret: self.secret,
            };
            protocol::push(&mut self.outbuf, &Header::new(Kind::Hello), &hello.encode());
            let Conn::Connecting { stream, .. } =
                std::mem::replace(&mut self.conn, Conn::Down { last_error: String::new() })
            else {
                return;
            };
            self.conn = Conn::Handshaking { stream };
        }
        self.read_socket();
    }

    fn read_socket(&mut self) {
        let stream = match &mut self.conn {
            Conn::Handshaking { stream } | Conn::Ready { stream, .. } => stream,
            _ => return,
        };
        let mut lost = None;
        loop {
            let len = self.inbuf.len();
            self.inbuf.resize(len + 64 * 1024, 0);
            match stream.read(&mut self.inbuf[len..]) {
                Ok(0) => {
                    self.inbuf.truncate(len);
                    lost = Some("server closed the connection".to_string());
                    break;
                }
                Ok(n) => {
                    self.inbuf.truncate(len + n);
                    self.last_received = Instant::now();
                    self.ping_sent = None;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.inbuf.truncate(len);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.inbuf.truncate(len),
                Err(e) => {
                    self.inbuf.truncate(len);
                    lost = Some(format!("read failed: {e}"));
                    break;
                }
            }
        }
        if let Err(e) = self.handle_input() {
            lost = Some(format!("protocol error from server: {e}"));
        }
        if let Some(why) = lost {
            self.connection_lost(why);
        }
    }

    fn handle_input(&mut self) -> Result<(), protocol::ProtocolError> {
        let input = std::mem::take(&mut self.inbuf);
        let mut used = 0;
        let result = loop {
            match protocol::decode(&input[used..], self.config.max_frame) {
                Ok(Some((frame, n))) => {
                    used += n;
                    self.handle_frame(frame.header, frame.payload)?;
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        // A connection lost while handling a frame cleared the buffer; keep it cleared.
        if matches!(self.conn, Conn::Handshaking { .. } | Conn::Ready { .. }) {
            self.inbuf = input;
            self.inbuf.drain(..used);
        }
        result
    }

    fn handle_frame(&mut self, h: Header, payload: &[u8]) -> Result<(), protocol::ProtocolError> {
        match h.kind {
            Kind::HelloAck => {
                let ack = HelloAck::decode(payload)?;
                let Conn::Handshaking { stream } =
                    std::mem::replace(&mut self.conn, Conn::Down { last_error: String::new() })
                else {
                    return Err(protocol::ProtocolError::Unexpected {
                        kind: Kind::HelloAck,
                        state: "outside the handshake",
                    });
                };
                self.conn = Conn::Ready { stream, incarnation: ack.incarnation, draining: false };
                self.server_max_frame = ack.max_frame as usize;
                self.reconnect_delay = self.config.reconnect_initial;
                self.on_ready(ack.incarnation);
            }
            Kind::Response => {
                if let Some(p) = self.pending.remove(&h.call_id) {
                    self.finish(&p, Ok(payload.to_vec()));
                }
            }
            Kind::Error if h.call_id == 0 => {
                let (_, message) = protocol::parse_error(payload);
                log::warn!("server reported a connection error: {message}");
            }
            Kind::Error => self.on_error(h.call_id, protocol::attempt_of(h.flags), payload),
            Kind::Ping => {
                protocol::push(&mut self.outbuf, &Header { kind: Kind::Pong, ..h }, payload);
            }
            Kind::Pong => self.ping_sent = None,
            Kind::GoAway => {
                if let Conn::Ready { draining, .. } = &mut self.conn {
                    *draining = true;
                }
            }
            kind => {
                return Err(protocol::ProtocolError::Unexpected { kind, state: "from a server" })
            }
        }
        Ok(())
    }

    /// A handshake completed with `incarnation`: settle calls sent before, send the rest.
    fn on_ready(&mut self, incarnation: u128) {
        let restarted = self.incarnation.is_some_and(|known| known != incarnation);
        self.incarnation = Some(incarnation);
        let in_doubt: Vec<u64> =
            self.pending.iter().filter(|(_, p)| p.sent_to.is_some()).map(|(id, _)| *id).collect();
        for id in in_doubt {
            let Some(p) = self.pending.get(&id) else { continue };
            let same_server = p.sent_to == Some(incarnation);
            if same_server || p.call.flags & protocol::FLAG_IDEMPOTENT != 0 {
                // Same incarnation: the server's records make the re-send run at most once.
                self.write_request(id, incarnation);
            } else if restarted {
                if let Some(p) = self.pending.remove(&id) {
                    self.finish(&p, Err(CallError::OutcomeUnknown));
                }
            }
        }
        while let Some(id) = self.unsent.pop_front() {
            if self.pending.contains_key(&id) {
                self.write_request(id, incarnation);
            }
        }
    }

    fn on_error(&mut self, call_id: u64, attempt: u8, payload: &[u8]) {
        let (code, message) = protocol::parse_error(payload);
        let Some(p) = self.pending.get_mut(&call_id) else { return };
        let latest = (p.attempts.min(255)) as u8;
        if attempt != 0 && attempt != latest && code.is_some_and(ErrorCode::not_executed) {
            // A refusal of an earlier attempt (say a duplicated frame's copy) arriving after
            // the retry went out: it says nothing about the retry, whose own answer follows.
            return;
        }
        let maybe_ran = p.maybe_ran;
        let now = Instant::now();
        let result = match code {
            Some(ErrorCode::Overloaded | ErrorCode::TooManyOutstanding) => {
                if p.attempts < self.config.retry.max_attempts {
                    let at = now + self.config.retry.backoff(p.attempts);
                    if at < p.call.deadline {
                        p.sent_to = None; // the server did not run it: a fresh send
                        self.timers.add(at, Timer::Retry(call_id));
                        return;
                    }
                }
                if maybe_ran {
                    // An earlier attempt may have run: "did not run" would be a lie.
                    Err(CallError::OutcomeUnknown)
                } else {
                    Err(CallError::Overloaded(message))
                }
            }
            Some(ErrorCode::ShuttingDown) => {
                // Not run; try again once connected to a server that accepts calls.
                p.sent_to = None;
                self.unsent.push_back(call_id);
                return;
            }
            Some(ErrorCode::DeadlineExceeded) => Err(CallError::DeadlineExceeded),
            Some(ErrorCode::Cancelled) => Err(CallError::Cancelled),
            Some(ErrorCode::UnknownMethod | ErrorCode::Protocol) | None => {
                Err(CallError::Protocol(message))
            }
            Some(ErrorCode::Internal) => Err(CallError::Remote(message)),
            Some(ErrorCode::InvalidArguments) => Err(CallError::InvalidArguments(message)),
        };
        if let Some(p) = self.pending.remove(&call_id) {
            self.finish(&p, result);
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(t) = self.timers.pop_due(now) {
            match t {
                Timer::Deadline(id) => {
                    let Some(p) = self.pending.get(&id) else { continue };
                    if p.call.deadline > now {
                        continue;
                    }
                    let Some(p) = self.pending.remove(&id) else { continue };
                    let never_sent = p.sent_to.is_none() && p.attempts == 0;
                    let result = match &self.conn {
                        Conn::Down { last_error } if never_sent => {
                            Err(CallError::Unavailable(last_error.clone()))
                        }
                        Conn::Connecting { .. } | Conn::Handshaking { .. } if never_sent => {
                            Err(CallError::Unavailable(
                                "no connection could be completed before the deadline".into(),
                            ))
                        }
                        _ => Err(CallError::DeadlineExceeded),
                    };
                    if p.sent_to.is_some() && matches!(self.conn, Conn::Ready { .. }) {
                        let h =
                            Header { kind: Kind::Cancel, call_id: id, ..Header::new(Kind::Cancel) };
                        protocol::push(&mut self.outbuf, &h, &[]);
                    }
                    self.finish(&p, result);
                }
                Timer::Retry(id) => {
                    if self.pending.contains_key(&id) {
                        self.send_or_queue(id);
                    }
                }
                Timer::Reconnect => {
                    if matches!(self.conn, Conn::Down { .. }) {
                        self.start_connect();
                    } else {
                        self.reconnect_scheduled = false;
                    }
                }
                Timer::Keepalive => {
                    self.keepalive_armed = false;
                    self.keepalive(now);
                }
                Timer::ConnectTimeout(attempt) => {
                    if matches!(self.conn, Conn::Connecting { attempt: a, .. } if a == attempt) {
                        self.connection_lost(format!("connect to {} timed out", self.addr));
                    }
                }
            }
        }
    }

    /// Keeps a timer running while calls are pending (an idle client sends nothing, so the
    /// server's idle timeout still applies to it).
    fn arm_keepalive(&mut self) {
        if let (Some(interval), false) = (self.config.keepalive_interval, self.keepalive_armed) {
            self.keepalive_armed = true;
            let step = interval.min(self.config.keepalive_timeout).max(Duration::from_millis(1));
            self.timers.add(Instant::now() + step, Timer::Keepalive);
        }
    }

    /// A connection that passes nothing is abandoned: ping after `keepalive_interval` of
    /// silence, give up `keepalive_timeout` after the ping.
    fn keepalive(&mut self, now: Instant) {
        let Some(interval) = self.config.keepalive_interval else { return };
        if self.pending.is_empty() {
            return;
        }
        if matches!(self.conn, Conn::Ready { .. } | Conn::Handshaking { .. }) {
            match self.ping_sent {
                Some(at) if now.duration_since(at) >= self.config.keepalive_timeout => {
                    let silent = now.duration_since(self.last_received);
                    self.connection_lost(format!(
                        "no data from the server for {} ms (keepalive ping unanswered)",
                        silent.as_millis()
                    ));
                }
                None if now.duration_since(self.last_received) >= interval
                    && matches!(self.conn, Conn::Ready { .. }) =>
                {
                    let h = Header { kind: Kind::Ping, ..Header::new(Kind::Ping) };
                    protocol::push(&mut self.outbuf, &h, &[]);
                    self.ping_sent = Some(now);
                }
                _ => {}
            }
        }
        self.arm_keepalive();
    }

    fn flush(&mut self) {
        let stream = match &mut self.conn {
            Conn::Handshaking { stream } | Conn::Ready { stream, .. } => stream,
            _ => return,
        };
        let mut written = 0;
        let mut lost = None;
        while written < self.outbuf.len() {
            match stream.write(&self.outbuf[written..]) {
                Ok(0) => {
                    lost = Some("write returned zero".to_string());
                    break;
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    lost = Some(format!("write failed: {e}"));
                    break;
                }
            }
        }
        self.outbuf.drain(..written);
        if let Some(why) = lost {
            self.connection_lost(why);
        }
    }
}

/// A random duration in [0, max] (full jitter).
fn jitter(max: Duration) -> Duration {
    let nanos = max.as_nanos().min(u128::from(u64::MAX)) as u64;
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos((crate::random_u128() as u64) % (nanos + 1))
}
