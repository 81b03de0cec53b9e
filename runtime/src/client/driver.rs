//! The client's I/O: the socket, and the thread that polls it. Decisions are the session's
//! (`session::client`); this module only moves bytes and time between it and the OS.
//!
//! Two threads may drive the session, one at a time under `Shared::driver`: the client's
//! lane (`reactor`: the process's client I/O thread that serves it), and a caller blocked
//! in `Client::call`. A caller that finds the driver free
//! writes its own request and then reads the socket itself while it waits, so a sequential
//! call costs no cross-thread wake-up on the client side (each costs tens of µs on a VM);
//! when the driver is busy the call goes through the command channel and the I/O thread.
//! The I/O thread stays the owner of everything that must happen without a caller:
//! connecting, timers, replies for callers that went to sleep.

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use super::{Command, Slot};
use crate::metrics::Metrics;
use crate::session::client::{ClientSession, Link, NewCall};
use crate::socket::{Address, Socket};
use crate::tls::ClientTls;
use crate::transport::{self, Stream};

/// Tokens of a blocked caller's own poll (`block_for_input`).
const CALLER_SOCKET: Token = Token(0);
const CALLER_WAKER: Token = Token(1);

thread_local! {
    /// The read buffer, one per thread that reads sockets (a lane, a driving caller),
    /// not one per connection: 1 000 idle clients hold none of it.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's 64 KiB read buffer.
fn with_scratch<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < 64 * 1024 {
            buf.resize(64 * 1024, 0);
        }
        f(&mut buf)
    })
}

/// Instants as nanoseconds since the first use, so that one fits an atomic.
pub(super) fn nanos(t: Instant) -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(t.saturating_duration_since(base).as_nanos()).unwrap_or(u64::MAX)
}

/// The session and its socket: whoever holds the lock drives them.
#[derive(Debug)]
pub(super) struct Driver {
    addr: Address,
    /// The lane's registry, and this client's tokens in it.
    registry: Arc<Registry>,
    socket_token: Token,
    /// The connection the server is draining (`GoAway`), while its calls in flight finish.
    retiring_token: Token,
    commands: Receiver<Command>,
    closed: Arc<AtomicBool>,
    session: ClientSession<Arc<Slot>>,
    stream: Option<Stream>,
    /// The draining connection's socket, polled by the I/O thread alone.
    retiring: Option<Stream>,
    tls: Option<ClientTls>,
    /// The TCP connection is up (the session has said hello).
    established: bool,
    /// The client was dropped (or its channel closed): no more calls.
    pub(super) closing: bool,
    metrics: Metrics,
    /// The client's count of calls not finished (`Shared::calls`).
    calls: Arc<std::sync::atomic::AtomicUsize>,
    /// Callers in `Client::call` reading the socket themselves: while there are any, the
    /// I/O thread does not poll it for reading, or every reply would wake it for nothing.
    callers_driving: usize,
    /// What the poll watches the socket for (`None`: not registered).
    interest: Option<Interest>,
    /// Where a caller that may not poll (`spin`) blocks for the socket itself, without
    /// handing the wait to the lane: one wake-up per call instead of two, which is what a
    /// 1-CPU process feels most. Made when first needed; the socket is registered here as
    /// well (a second epoll set, edge-triggered like the lane's).
    caller: Option<CallerPoll>,
    /// Its waker, which other callers use to make the blocked one let go (`make_way`).
    caller_waker: Arc<OnceLock<Waker>>,
    /// Connections made so far.
    connections: u64,
    /// Whether the connection is ready (published for `Client::is_ready`), and who else
    /// is told when it changes.
    ready: Arc<AtomicBool>,
    on_ready: Option<ReadyHook>,
}

/// How far a read of the socket goes (`Driver::read_socket_to`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadTo {
    /// Until the socket says `WouldBlock`.
    WouldBlock,
    /// Until a read comes back short (the socket is then empty).
    Short,
}

/// A blocked caller's poll, and the connection registered in it.
#[derive(Debug)]
struct CallerPoll {
    poll: Poll,
    events: Events,
    registered: u64,
}

impl Driver {
    pub(super) fn new(
        addr: Address,
        seat: &super::reactor::Seat,
        commands: Receiver<Command>,
        shared: &ClientParts,
    ) -> Self {
        let session = ClientSession::new(
            shared.client_id,
            shared.secret,
            shared.config.clone(),
            Instant::now(),
        );
        Driver {
            addr,
            registry: seat.registry(),
            socket_token: seat.socket_token(),
            retiring_token: seat.retiring_token(),
            commands,
            closed: Arc::clone(&shared.closed),
            session,
            stream: None,
            retiring: None,
            tls: shared.config.tls.clone(),
            established: false,
            closing: false,
            metrics: shared.metrics.clone(),
            calls: Arc::clone(&shared.calls),
            callers_driving: 0,
            interest: None,
            caller: None,
            caller_waker: Arc::clone(&shared.caller_waker),
            connections: 0,
            ready: Arc::clone(&shared.ready),
            on_ready: shared.on_ready.clone(),
        }
    }

    /// The client is gone: pending calls end `Cancelled` (the server is told to skip
    /// those it has not started), and the sockets leave the lane's poll.
    pub(super) fn close(&mut self) {
        // Calls still in the channel are the session's too: they end `Cancelled` with it.
        self.take_commands();
        self.closing = true;
        self.session.close();
        self.sync();
        self.drop_stream();
        if let Some(mut old) = self.retiring.take() {
            let _ = self.registry.deregister(old.socket());
        }
    }

    /// Whether a driving caller may block on the socket: a connection is up or being made
    /// (the caller then sees it through: connect, handshake, its call), no other
    /// caller has a call waiting for the I/O thread (it would wait for this caller), and
    /// no connection is draining (its replies are read by the I/O thread alone, which the
    /// blocked caller would keep from its turn).
    pub(super) fn may_block(&self) -> bool {
        self.stream.is_some()
            && self.retiring.is_none()
            && !self.closing
            && !self.closed.load(Ordering::SeqCst)
            && self.commands.is_empty()
    }

    /// A driving caller blocks until the socket has input, the session's next timer, its
    /// `caller_waker` or `until`, whichever comes first; then reads and fires what is due.
    /// Returns false when it was woken to make way (another caller's call waits for the
    /// I/O thread) or the socket cannot be watched: the caller then sleeps on its slot.
    pub(super) fn block_for_input(&mut self, until: Instant) -> bool {
        if self.caller.is_none() {
            let made = Poll::new().and_then(|poll| {
                let waker = Waker::new(poll.registry(), CALLER_WAKER)?;
                Ok((poll, waker))
            });
            match made {
                Ok((poll, waker)) => {
                    let _ = self.caller_waker.set(waker);
                    let events = Events::with_capacity(4);
                    self.caller = Some(CallerPoll { poll, events, registered: 0 });
                }
                Err(e) => {
                    log::debug!("cannot make a poll for a blocked caller: {e}");
                    return false;
                }
            }
        }
        let (Some(caller), Some(stream)) = (self.caller.as_mut(), self.stream.as_mut()) else {
            return false;
        };
        if caller.registered != self.connections {
            let fd = std::os::fd::AsRawFd::as_raw_fd(stream.socket());
            let source = &mut mio::unix::SourceFd(&fd);
            // The previous connection's socket left the set when it was closed.
            let registry = caller.poll.registry();
            // Writable too: a connection being made is ready when it becomes writable.
            // Once it is up, writability changes only after a full send buffer drains.
            let interest = Interest::READABLE | Interest::WRITABLE;
            if let Err(e) = registry.register(source, CALLER_SOCKET, interest) {
                log::debug!("cannot watch the socket for a blocked caller: {e}");
                return false;
            }
            caller.registered = self.connections;
            // Registration reports input already waiting, so nothing is missed.
        }
        let now = Instant::now();
        let due = now + self.session.next_timeout(now, Duration::from_secs(60));
        let timeout = due.min(until).saturating_duration_since(now);
        let Some(caller) = self.caller.as_mut() else { return false };
        if let Err(e) = caller.poll.poll(&mut caller.events, Some(timeout)) {
            if e.kind() != io::ErrorKind::Interrupted {
                return false;
            }
        }
        let made_way = caller.events.iter().any(|e| e.token() == CALLER_WAKER);
        let input = caller.events.iter().find(|e| e.token() == CALLER_SOCKET);
        let announced = input.is_some();
        let drained =
            input.is_some_and(|e| e.is_readable() && !e.is_read_closed() && !e.is_error());
        let to = if drained { ReadTo::Short } else { ReadTo::WouldBlock };
        if self.established {
            self.read_socket_to(Instant::now(), to);
        } else if announced {
            self.on_socket_to(to);
        }
        self.session.handle_timeout(Instant::now());
        self.sync();
        !made_way
    }

    /// A caller's call, added by the caller itself while it holds the id lock. The channel
    /// is drained first: calls queued there have lower ids, and the session wants them in
    /// order. The caller then sends it with [`Driver::sync`], the id lock released.
    pub(super) fn add_call(&mut self, call: NewCall<Arc<Slot>>) {
        self.take_commands();
        self.session.add_call(call, Instant::now());
    }

    /// Whether a caller reads the socket now.
    pub(super) fn caller_driving(&self) -> bool {
        self.callers_driving > 0
    }

    /// A caller starts reading the socket itself.
    pub(super) fn caller_begins(&mut self) {
        self.callers_driving += 1;
        self.update_interest();
    }

    /// A caller stops; returns when the session's next timer is due, which the I/O thread
    /// must now see to.
    pub(super) fn caller_ends(&mut self) -> Instant {
        self.callers_driving = self.callers_driving.saturating_sub(1);
        self.update_interest();
        self.next_timer()
    }

    /// When the session's next timer is due.
    pub(super) fn next_timer(&self) -> Instant {
        let now = Instant::now();
        now + self.session.next_timeout(now, Duration::from_secs(60))
    }

    /// What the I/O thread polls the socket for: nothing while a caller drives (it reads
    /// and writes itself, and sees a connection being made through); otherwise reading, and writing only while the connection is
    /// being made or bytes wait for room. Writability is not watched otherwise: (re-)
    /// registering a writable socket reports it at once and would wake the thread.
    fn update_interest(&mut self) {
        let wanted = if self.callers_driving > 0 && self.stream.is_some() {
            None
        } else if !self.established
            || !self.session.outbuf.is_empty()
            || self.stream.as_ref().is_some_and(Stream::wants_write)
        {
            Some(Interest::READABLE | Interest::WRITABLE)
        } else {
            Some(Interest::READABLE)
        };
        if wanted == self.interest {
            return;
        }
        let Some(stream) = self.stream.as_mut() else { return };
        let stream = stream.socket();
        // Registering for reading reports data that is already waiting.
        let done = match (self.interest, wanted) {
            (_, None) => self.registry.deregister(stream),
            (None, Some(i)) => self.registry.register(stream, self.socket_token, i),
            (Some(_), Some(i)) => self.registry.reregister(stream, self.socket_token, i),
        };
        match done {
            Ok(()) => self.interest = wanted,
            Err(e) => log::warn!("cannot change what the socket is polled for: {e}"),
        }
    }

    /// A waiting caller's turn: whatever the server sent, and any reply it completes.
    pub(super) fn poll_socket(&mut self) {
        if self.established {
            self.read_socket(Instant::now());
            self.sync();
        } else if self.stream.is_some() {
            self.on_socket();
            self.sync();
        }
    }

    /// The lane's turn for this driver: its events, queued commands, timers.
    pub(super) fn on_wake(&mut self, socket_event: bool, retiring_event: bool) {
        self.take_commands();
        if socket_event {
            self.on_socket();
        }
        if retiring_event {
            self.read_retiring(Instant::now());
        }
        self.session.handle_timeout(Instant::now());
        self.sync();
    }

    /// Carries out what the session decided: deliver results, connect, drop a connection
    /// it gave up, write its bytes.
    pub(super) fn sync(&mut self) {
        loop {
            for f in self.session.take_finished() {
                self.calls.fetch_sub(1, Ordering::AcqRel);
                self.metrics.record(f.method, f.started.elapsed(), f.result.is_ok());
                f.token.attempts.store(f.attempts, Ordering::Relaxed);
                f.token.fill(f.result);
            }
            if self.session.retiring.is_some() && self.retiring.is_none() && self.stream.is_some() {
                self.retire_stream();
            }
            if self.session.retiring.is_none() && self.retiring.is_some() {
                if let Some(mut old) = self.retiring.take() {
                    let _ = self.registry.deregister(old.socket());
                }
            }
            if matches!(self.session.link, Link::Down { .. }) && self.stream.is_some() {
                self.drop_stream();
            }
            if self.session.take_connect_request() && !self.closing {
                self.start_connect();
                continue; // a failed connect may have finished calls
            }
            break;
        }
        self.flush();
        self.publish_ready();
    }

    /// Publishes whether calls can go out now: after the handshake (a connect that
    /// succeeded is not enough), and not while the server drains the connection.
    fn publish_ready(&mut self) {
        let ready = !self.closing
            && matches!(self.session.link, Link::Ready { draining: false, .. })
            && self.retiring.is_none();
        if self.ready.swap(ready, Ordering::AcqRel) != ready {
            if let Some(hook) = &self.on_ready {
                (hook.0)(ready);
            }
        }
    }

    /// The server is draining the connection: its socket moves aside (the I/O thread reads
    /// the answers of the calls still on it) and the next connection is made.
    fn retire_stream(&mut self) {
        let Some(mut stream) = self.stream.take() else { return };
        let registered = match self.interest.take() {
            Some(_) => self.registry.reregister(
                stream.socket(),
                self.retiring_token,
                Interest::READABLE | Interest::WRITABLE,
            ),
            None => self.registry.register(
                stream.socket(),
                self.retiring_token,
                Interest::READABLE | Interest::WRITABLE,
            ),
        };
        self.established = false;
        if let Err(e) = registered {
            log::warn!("cannot keep the draining connection: {e}");
            self.session.retiring_lost(Instant::now());
            return;
        }
        self.retiring = Some(stream);
        // Edge-triggered: what already arrived on it must be read now.
        self.read_retiring(Instant::now());
    }

    /// Reads the draining connection until it is empty; its end settles what is left on it.
    fn read_retiring(&mut self, now: Instant) {
        let Some(stream) = self.retiring.as_mut() else { return };
        let mut ended = false;
        let session = &mut self.session;
        with_scratch(|scratch| loop {
            match stream.read(scratch) {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(n) => {
                    if let Err(e) = session.handle_retiring_input(&scratch[..n], now) {
                        log::warn!("protocol error on the draining connection: {e}");
                        ended = true;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    ended = true;
                    break;
                }
            }
        });
        if ended {
            self.session.retiring_lost(now);
        }
    }

    /// Writes what the session has for the draining connection (cancels, pongs).
    fn flush_retiring(&mut self) {
        let (Some(stream), Some(r)) = (self.retiring.as_mut(), self.session.retiring.as_mut())
        else {
            return;
        };
        let _ = stream.flush_tls();
        let mut written = 0;
        while written < r.outbuf.len() {
            match stream.write(&r.outbuf[written..]) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break, // would block, or broken: its reading side will tell
            }
        }
        r.outbuf.drain(..written);
    }

    fn drop_stream(&mut self) {
        if let Some(mut stream) = self.stream.take() {
            if self.interest.take().is_some() {
                let _ = self.registry.deregister(stream.socket());
            }
        }
        self.established = false;
    }

    fn take_commands(&mut self) {
        if self.closed.load(Ordering::SeqCst) {
            self.closing = true;
        }
        let now = Instant::now();
        loop {
            match self.commands.try_recv() {
                Ok(Command::Call(out)) => self.session.add_call(*out, now),
                Ok(Command::Cancel(slot)) => {
                    self.session.cancel(slot.call_id.load(Ordering::Relaxed));
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.closing = true;
                    return;
                }
            }
        }
    }

    fn start_connect(&mut self) {
        let now = Instant::now();
        match Socket::connect(&self.addr) {
            Ok(mut stream) => {
                if let Err(e) = self.registry.register(
                    &mut stream,
                    self.socket_token,
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    self.session.connection_lost(format!("cannot register socket: {e}"), now);
                    return;
                }
                let stream = match &self.tls {
                    Some(tls) => {
                        let name = tls.server_name.clone();
                        match rustls::ClientConnection::new(Arc::clone(&tls.config), name) {
                            Ok(conn) => Stream::tls(stream, conn),
                            Err(e) => {
                                let _ = self.registry.deregister(&mut stream);
                                let why = format!("cannot start TLS: {e}");
                                self.session.connection_lost(why, now);
                                return;
                            }
                        }
                    }
                    None => Stream::Plain(stream),
                };
                self.stream = Some(stream);
                self.connections += 1;
                self.interest = Some(Interest::READABLE | Interest::WRITABLE);
                self.established = false;
                self.session.connecting(now);
                // A caller driving sees the connection through itself: not the lane.
                self.update_interest();
            }
            Err(e) => {
                self.session.connection_lost(format!("connect to {} failed: {e}", self.addr), now)
            }
        }
    }

    fn on_socket(&mut self) {
        self.on_socket_to(ReadTo::WouldBlock);
    }

    /// The socket's event: a connection made (or refused), input (read as `to` says).
    fn on_socket_to(&mut self, to: ReadTo) {
        let now = Instant::now();
        let Some(stream) = self.stream.as_mut() else { return };
        if !self.established {
            let stream = stream.socket();
            match stream.connected() {
                Ok(true) => {}
                Ok(false) => return, // still connecting
                Err(e) => {
                    let why = format!("connect to {} failed: {e}", self.addr);
                    self.session.connection_lost(why, now);
                    return;
                }
            }
            stream.set_nodelay();
            self.established = true;
            self.session.connected(now);
        }
        self.read_socket_to(now, to);
    }

    /// Reads until the socket is empty: the poll is edge-triggered, so whoever reads, the
    /// caller or the I/O thread, must leave nothing behind.
    fn read_socket(&mut self, now: Instant) {
        self.read_socket_to(now, ReadTo::WouldBlock);
    }

    /// Reads until the socket is empty, as `read_socket`, or (`ReadTo::Short`) until a
    /// read returns less than asked of a plain socket, which left the socket empty: bytes
    /// that come later raise a new edge, so the read that would end in `EAGAIN` (a system
    /// call per call) is saved. Only for input announced by an event that did not also
    /// report the peer's close: a close that came with the data raises no edge of its own.
    fn read_socket_to(&mut self, now: Instant, to: ReadTo) {
        let Some(stream) = self.stream.as_mut() else { return };
        let mut lost = None;
        // Why the handshake cannot succeed on another try (TLS refused it).
        let mut refused = None;
        let (session, retiring, addr) = (&mut self.session, &self.retiring, &self.addr);
        with_scratch(|scratch| loop {
            match stream.read(scratch) {
                Ok(0) => {
                    lost = Some("server closed the connection".to_string());
                    break;
                }
                Ok(n) => {
                    if matches!(session.link, Link::Handshaking)
                        && !stream.is_tls()
                        && transport::looks_like_tls(&scratch[..n])
                    {
                        refused = Some(format!(
                            "{} expects TLS; this client speaks plaintext (set ClientConfig::tls)",
                            addr
                        ));
                        break;
                    }
                    if let Err(e) = session.handle_input(&scratch[..n], now) {
                        lost = Some(format!("protocol error from server: {e}"));
                        break;
                    }
                    if session.retiring.is_some() && retiring.is_none() {
                        // GoAway: what follows on this socket is the draining connection's,
                        // read by `retire_stream` once `sync` has moved it aside.
                        break;
                    }
                    if to == ReadTo::Short && n < scratch.len() && !stream.is_tls() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidData && stream.is_tls() => {
                    refused = Some(format!("TLS with {} failed: {e}", addr));
                    break;
                }
                Err(e) => {
                    lost = Some(format!("read failed: {e}"));
                    break;
                }
            }
        });
        if let Some(why) = refused {
            self.session.handshake_failed(why, now);
        } else if let Some(why) = lost {
            self.session.connection_lost(why, now);
        }
    }

    fn flush(&mut self) {
        self.flush_retiring();
        if !self.established {
            return;
        }
        let Some(stream) = self.stream.as_mut() else { return };
        let out = &mut self.session.outbuf;
        let mut written = 0;
        let mut lost = stream.flush_tls().err().map(|e| format!("write failed: {e}"));
        while lost.is_none() && written < out.len() {
            match stream.write(&out[written..]) {
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
        out.drain(..written);
        if lost.is_none() {
            self.update_interest(); // watch for room if bytes are left, stop once sent
        }
        if let Some(why) = lost {
            self.session.connection_lost(why, Instant::now());
            self.sync();
        }
    }
}

/// What the driver takes from the client's shared state when it is made.
pub(super) struct ClientParts {
    pub ready: Arc<AtomicBool>,
    pub on_ready: Option<ReadyHook>,
    pub client_id: u128,
    pub secret: u128,
    pub config: crate::ClientConfig,
    pub closed: Arc<AtomicBool>,
    pub caller_waker: Arc<OnceLock<Waker>>,
    pub metrics: Metrics,
    pub calls: Arc<std::sync::atomic::AtomicUsize>,
}

/// Told whether the client's connection is ready for calls (handshake done, not
/// draining), each time that changes: how a balanced channel learns an endpoint is up.
#[derive(Clone)]
pub(crate) struct ReadyHook(pub Arc<dyn Fn(bool) + Send + Sync>);

impl std::fmt::Debug for ReadyHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadyHook")
    }
}

/// A lane's current sleep ends at this `nanos` value (0: it is awake).
pub(super) type ArmedUntil = AtomicU64;
