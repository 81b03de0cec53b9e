//! The server: one mio event loop thread owning the listener and every connection, and a
//! crossbeam worker pool behind a bounded queue. Shape of mio's `tcp_server` example: a
//! token per connection, each `Connection` owning its socket and buffers, reads until
//! `WouldBlock`, then frames handled, then writes batched into one buffer per connection.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::metrics::{Metrics, Snapshot};
use crate::protocol::{self, ErrorCode, Frame, Header, HelloAck, Kind, ProtocolError};
use crate::records::{Begin, RecordStore, StoredReply, Waiter};
use crate::service::{Context, Method, Service};
use crate::timers::Timers;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CONNECTION: usize = 2;
/// Bytes read per `read` call.
const READ_CHUNK: usize = 64 * 1024;

/// Server limits. Every default is documented in spec/protocol.md § Limits.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Event loop threads; connections are spread over them round-robin at accept.
    /// Default: available parallelism (one per core).
    pub event_loops: usize,
    /// Worker threads for handlers not marked inline. Default: available parallelism.
    pub workers: usize,
    /// Requests waiting for a worker; when full, new requests get `Overloaded` at once.
    /// Default: 1024.
    pub queue_capacity: usize,
    /// Largest frame accepted, checked from the length prefix before buffering. Default 8 MiB.
    pub max_frame: usize,
    /// Connections held at once; further ones are closed on accept. Default: 16 384.
    pub max_connections: usize,
    /// Calls in flight per connection; more get `Overloaded`. Default: 1024.
    pub max_in_flight_per_connection: usize,
    /// A connection with no traffic and no call in flight is closed after this. Default 5 min.
    pub idle_timeout: Duration,
    /// A connection must complete the handshake within this (slowloris). Default: 5 s.
    pub handshake_timeout: Duration,
    /// Unacknowledged completion records per client; at the cap new calls from that client
    /// are refused with `TooManyOutstanding` (records are never dropped). Default: 4096.
    pub max_records_per_client: usize,
    /// Records of a client idle this long are forgotten. Default: 10 min.
    pub client_lease: Duration,
    /// How long shutdown waits for calls in flight. Default: 10 s.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ServerConfig {
            event_loops: cores,
            workers: cores,
            queue_capacity: 1024,
            max_frame: 8 * 1024 * 1024,
            max_connections: 16_384,
            max_in_flight_per_connection: 1024,
            idle_timeout: Duration::from_secs(300),
            handshake_timeout: Duration::from_secs(5),
            max_records_per_client: 4096,
            client_lease: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A running server. Dropping it shuts it down gracefully.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    incarnation: u128,
    metrics: Metrics,
    shared: Arc<Shared>,
    event_loops: Vec<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    shutdown: AtomicBool,
    /// One per event loop, by loop index.
    wakers: Vec<Waker>,
    /// Where each loop receives connections and replies from the others.
    inboxes: Vec<Sender<LoopMsg>>,
    /// Completion channels, by loop index: workers reply to the loop that owns the call.
    done: Vec<Sender<Done>>,
    /// Completion records of every client, whichever loop its connections are on.
    records: std::sync::Mutex<RecordStore>,
    connections: std::sync::atomic::AtomicUsize,
}

impl Shared {
    fn wake(&self, loop_index: usize) {
        // A failed wake means that loop is gone; nothing waits there.
        let _ = self.wakers[loop_index].wake();
    }

    fn records(&self) -> std::sync::MutexGuard<'_, RecordStore> {
        // The store stays consistent across a panic (every update is a single insert or
        // remove), so a poisoned lock is still usable.
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Messages between event loops.
enum LoopMsg {
    /// A connection accepted by loop 0, with the token it was given.
    Connection(TcpStream, SocketAddr, usize),
    /// A reply for a waiter whose connection this loop owns.
    Deliver { connection: usize, call_id: u64, reply: StoredReply },
}

/// Connection tokens encode their loop: `FIRST_CONNECTION + n × loops + loop_index`.
fn owner_of(token: usize, loops: usize) -> usize {
    (token - FIRST_CONNECTION) % loops
}

impl Server {
    /// Binds `addr` (use port 0 for any free port) and starts serving `service`.
    pub fn bind(addr: SocketAddr, service: Service, config: ServerConfig) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(addr)?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let loops = config.event_loops.max(1);
        let mut polls = vec![poll];
        for _ in 1..loops {
            polls.push(Poll::new()?);
        }
        let wakers = polls
            .iter()
            .map(|p| Waker::new(p.registry(), WAKER))
            .collect::<io::Result<Vec<_>>>()?;
        let mut inbox_rxs = Vec::new();
        let mut inboxes = Vec::new();
        let mut done_rxs = Vec::new();
        let mut done = Vec::new();
        for _ in 0..loops {
            let (tx, rx) = bounded::<LoopMsg>(4096);
            inboxes.push(tx);
            inbox_rxs.push(rx);
            // Every job yields exactly one completion and jobs are bounded, so this bound is
            // never reached by workers; inline completions do not use the channel.
            let (tx, rx) = bounded::<Done>(config.queue_capacity.max(1) + config.workers + 1);
            done.push(tx);
            done_rxs.push(rx);
        }
        let shared = Arc::new(Shared {
            shutdown: AtomicBool::new(false),
            wakers,
            inboxes,
            done,
            records: std::sync::Mutex::new(RecordStore::new(
                config.max_records_per_client,
                config.client_lease,
            )),
            connections: std::sync::atomic::AtomicUsize::new(0),
        });
        let addr = listener.local_addr()?;
        let incarnation = crate::random_u128();
        let metrics = Metrics::default();

        let (jobs_tx, jobs_rx) = bounded::<Job>(config.queue_capacity.max(1));
        for i in 0..config.workers.max(1) {
            let (jobs_rx, shared) = (jobs_rx.clone(), Arc::clone(&shared));
            std::thread::Builder::new().name(format!("ferry-worker-{i}")).spawn(move || {
                for job in jobs_rx {
                    let owner = job.call.loop_index;
                    // A loop past its shutdown grace is gone: its completion has nowhere to go,
                    // but the worker stays for the other loops' jobs.
                    if shared.done[owner].send(job.run()).is_ok() {
                        shared.wake(owner);
                    }
                }
            })?;
        }
        let mut listener = Some(listener);
        let mut event_loops = Vec::new();
        for (index, ((poll, inbox), done_rx)) in
            polls.into_iter().zip(inbox_rxs).zip(done_rxs).enumerate()
        {
            let mut lp = Loop {
                poll,
                index,
                loops,
                listener: if index == 0 { listener.take() } else { None },
                conns: HashMap::new(),
                accepted: 0,
                inbox,
                timers: Timers::default(),
                jobs_tx: Some(jobs_tx.clone()),
                done_rx,
                cancels: HashMap::new(),
                in_flight: 0,
                draining_until: None,
                service: service.clone(),
                config: config.clone(),
                incarnation,
                shared: Arc::clone(&shared),
                dirty: Vec::new(),
                metrics: metrics.clone(),
                scratch: Vec::new(),
            };
            event_loops.push(
                std::thread::Builder::new().name(format!("ferry-server-{index}")).spawn(
                    move || {
                        if let Err(e) = lp.run() {
                            log::error!("server event loop failed: {e}");
                        }
                    },
                )?,
            );
        }
        log::info!("serving on {addr}, incarnation {incarnation:032x}");
        Ok(Server { addr, incarnation, metrics, shared, event_loops })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Per-method call counts, failures and handler latency (dispatch to completion).
    pub fn metrics(&self) -> Snapshot {
        self.metrics.snapshot()
    }

    /// The random id of this server start; clients use it to detect a restart.
    pub fn incarnation(&self) -> u128 {
        self.incarnation
    }

    /// Stops accepting, tells clients to go away, lets calls in flight finish (within the
    /// grace period) and flushes their replies, then closes everything.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        for i in 0..self.shared.wakers.len() {
            self.shared.wake(i);
        }
        for t in self.event_loops.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Which call a job or completion belongs to, and where its reply goes.
#[derive(Clone, Copy)]
struct CallRef {
    /// The event loop that owns `conn`.
    loop_index: usize,
    conn: usize,
    client: u128,
    call_id: u64,
    method_id: u32,
    dispatched: Instant,
    oneway: bool,
}

/// A request handed to a worker.
struct Job {
    call: CallRef,
    method: Method,
    payload: Vec<u8>,
    ctx: Context,
}

/// A finished request on its way back to the loop.
struct Done {
    call: CallRef,
    outcome: Outcome,
}

enum Outcome {
    Reply(Vec<u8>),
    /// The handler ran and failed, or panicked: the outcome of its effects is unknown.
    Failed(String),
    /// The handler never ran.
    NotRun(ErrorCode, &'static str),
}

impl Job {
    fn run(self) -> Done {
        Done { call: self.call, outcome: execute(&self.method, &self.ctx, &self.payload) }
    }
}

/// Runs a handler unless its call was cancelled or expired while it waited; a panic is an
/// `Internal` failure, never a crashed thread.
fn execute(method: &Method, ctx: &Context, payload: &[u8]) -> Outcome {
    if ctx.is_cancelled() {
        return if Instant::now() >= ctx.deadline {
            Outcome::NotRun(
                ErrorCode::DeadlineExceeded,
                "deadline passed before the handler started",
            )
        } else {
            Outcome::NotRun(ErrorCode::Cancelled, "cancelled before the handler started")
        };
    }
    match catch_unwind(AssertUnwindSafe(|| (method.handler)(ctx, payload))) {
        Ok(Ok(reply)) => Outcome::Reply(reply),
        Ok(Err(e)) => Outcome::Failed(e.message),
        Err(_) => Outcome::Failed("handler panicked".into()),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    AwaitHello,
    Ready {
        client: u128,
    },
    /// Write what is buffered, then close.
    Closing,
}

/// One client connection: its socket, buffers and protocol state.
struct Connection {
    socket: TcpStream,
    peer: SocketAddr,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    state: State,
    last_active: Instant,
    in_flight: usize,
    interest: Interest,
    /// Reading stopped because too much output is waiting for the peer.
    read_paused: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// Check a connection's handshake or idle deadline.
    Connection(usize),
    /// Forget clients whose lease expired.
    ExpireRecords,
    /// The shutdown grace period ended.
    GraceOver,
}

struct Loop {
    poll: Poll,
    /// This loop's position among the server's loops.
    index: usize,
    loops: usize,
    /// Loop 0 owns the listener and hands connections to the others.
    listener: Option<TcpListener>,
    conns: HashMap<usize, Connection>,
    /// Connections accepted so far (loop 0): numbers tokens and picks loops round-robin.
    accepted: usize,
    inbox: Receiver<LoopMsg>,
    timers: Timers<Timer>,
    jobs_tx: Option<Sender<Job>>,
    done_rx: Receiver<Done>,
    /// Cancellation flags of calls queued or running, by (client, call id).
    cancels: HashMap<(u128, u64), Arc<AtomicBool>>,
    /// Calls dispatched and not yet completed, over all connections.
    in_flight: usize,
    draining_until: Option<Instant>,
    service: Service,
    config: ServerConfig,
    incarnation: u128,
    shared: Arc<Shared>,
    /// Connections with output to flush or interest to update after this turn.
    dirty: Vec<usize>,
    metrics: Metrics,
    /// Read buffer shared by every connection of the loop.
    scratch: Vec<u8>,
}

impl Loop {
    fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        self.timers.add(Instant::now() + self.config.client_lease / 4, Timer::ExpireRecords);
        loop {
            let timeout = self.timers.timeout(Instant::now(), Duration::from_secs(3600));
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    Token(t) => {
                        // Spurious events are possible (mio docs): handlers tolerate them.
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.on_readable(t);
                        }
                        if event.is_writable() {
                            self.dirty.push(t);
                        }
                    }
                }
            }
            self.drain_inbox();
            self.drain_completions();
            self.fire_timers();
            if self.shared.shutdown.load(Ordering::SeqCst) && self.draining_until.is_none() {
                self.begin_shutdown();
            }
            self.flush_dirty();
            if let Some(until) = self.draining_until {
                let flushed = self.conns.values().all(|c| c.outbuf.is_empty());
                if (self.in_flight == 0 && flushed) || Instant::now() >= until {
                    break;
                }
            }
        }
        self.finish_shutdown();
        Ok(())
    }

    fn accept(&mut self) {
        loop {
            let Some(listener) = self.listener.as_ref() else { return };
            match listener.accept() {
                Ok((socket, peer)) => {
                    let open = self.shared.connections.load(Ordering::Relaxed);
                    if open >= self.config.max_connections {
                        log::warn!(
                            "refusing {peer}: {} connections is the limit",
                            self.config.max_connections
                        );
                        continue; // dropping the socket closes it
                    }
                    // Small frames must not wait for Nagle: latency is the product.
                    let _ = socket.set_nodelay(true);
                    let target = self.accepted % self.loops;
                    let token = FIRST_CONNECTION + self.accepted;
                    self.accepted += 1;
                    self.shared.connections.fetch_add(1, Ordering::Relaxed);
                    if target == self.index {
                        self.adopt(socket, peer, token);
                    } else if self.shared.inboxes[target]
                        .try_send(LoopMsg::Connection(socket, peer, token))
                        .is_ok()
                    {
                        self.shared.wake(target);
                    } else {
                        // That loop is far behind: close rather than queue without bound.
                        self.shared.connections.fetch_sub(1, Ordering::Relaxed);
                        log::warn!("refusing {peer}: event loop {target} is not keeping up");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // E.g. EMFILE: keep serving the connections we have.
                    log::warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Takes a connection into this loop.
    fn adopt(&mut self, mut socket: TcpStream, peer: SocketAddr, token: usize) {
        debug_assert_eq!(owner_of(token, self.loops), self.index);
        if let Err(e) = self.poll.registry().register(&mut socket, Token(token), Interest::READABLE)
        {
            log::warn!("cannot register {peer}: {e}");
            self.shared.connections.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let now = Instant::now();
        self.timers.add(now + self.config.handshake_timeout, Timer::Connection(token));
        self.conns.insert(
            token,
            Connection {
                socket,
                peer,
                inbuf: Vec::new(),
                outbuf: Vec::new(),
                state: State::AwaitHello,
                last_active: now,
                in_flight: 0,
                interest: Interest::READABLE,
                read_paused: false,
            },
        );
        log::debug!("loop {} adopted {peer} as connection {token}", self.index);
    }

    /// Connections handed over by loop 0 and replies produced on other loops.
    fn drain_inbox(&mut self) {
        while let Ok(msg) = self.inbox.try_recv() {
            match msg {
                LoopMsg::Connection(socket, peer, token) => self.adopt(socket, peer, token),
                LoopMsg::Deliver { connection, call_id, reply } => {
                    if let Some(c) = self.conns.get_mut(&connection) {
                        write_reply(c, call_id, &reply);
                        self.dirty.push(connection);
                    }
                }
            }
        }
    }

    fn on_readable(&mut self, token: usize) {
        let Some(mut conn) = self.conns.remove(&token) else { return };
        let mut closed = false;
        // Stop reading while the peer does not read its replies (bounded output).
        let out_limit = 2 * self.config.max_frame + READ_CHUNK;
        conn.read_paused = false;
        // Reads land in one scratch buffer shared by the loop's connections; a connection
        // keeps only the bytes of a frame still incomplete, so idle connections hold no
        // input buffer at all.
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.resize(READ_CHUNK, 0);
        while conn.state != State::Closing {
            if conn.outbuf.len() >= out_limit {
                conn.read_paused = true;
                break;
            }
            match conn.socket.read(&mut scratch) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    conn.last_active = Instant::now();
                    if let Err(e) = self.handle_input(token, &mut conn, &scratch[..n]) {
                        log::warn!("closing {}: {e}", conn.peer);
                        let payload = protocol::error_payload(ErrorCode::Protocol, &e.to_string());
                        protocol::push(&mut conn.outbuf, &Header::new(Kind::Error), &payload);
                        conn.state = State::Closing;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("read from {} failed: {e}", conn.peer);
                    closed = true;
                    break;
                }
            }
        }
        self.scratch = scratch;
        if closed {
            self.close(token, conn);
        } else {
            self.conns.insert(token, conn);
            self.dirty.push(token);
        }
    }

    /// Handles every complete frame in `read` (bytes just read), after any partial frame the
    /// connection held; keeps what is left of an incomplete frame.
    fn handle_input(
        &mut self,
        token: usize,
        conn: &mut Connection,
        read: &[u8],
    ) -> Result<(), ProtocolError> {
        if conn.inbuf.is_empty() {
            let used = self.handle_frames(token, conn, read)?;
            conn.inbuf.extend_from_slice(&read[used..]);
            return Ok(());
        }
        let mut input = std::mem::take(&mut conn.inbuf);
        input.extend_from_slice(read);
        let result = self.handle_frames(token, conn, &input);
        if let Ok(used) = result {
            input.drain(..used);
            // Keep the allocation only while a frame is still incomplete.
            conn.inbuf = if input.is_empty() { Vec::new() } else { input };
        }
        result.map(drop)
    }

    /// Handles the complete frames at the start of `input`; returns the bytes they took.
    fn handle_frames(
        &mut self,
        token: usize,
        conn: &mut Connection,
        input: &[u8],
    ) -> Result<usize, ProtocolError> {
        let mut used = 0;
        while conn.state != State::Closing {
            match protocol::decode(&input[used..], self.config.max_frame)? {
                Some((frame, n)) => {
                    used += n;
                    self.handle_frame(token, conn, frame)?;
                }
                None => break,
            }
        }
        Ok(used)
    }

    fn handle_frame(
        &mut self,
        token: usize,
        conn: &mut Connection,
        frame: Frame<'_>,
    ) -> Result<(), ProtocolError> {
        let h = frame.header;
        match (&conn.state, h.kind) {
            (State::AwaitHello, Kind::Hello) => {
                let hello = protocol::Hello::decode(frame.payload)?;
                let ack = HelloAck {
                    incarnation: self.incarnation,
                    max_frame: u32::try_from(self.config.max_frame).unwrap_or(u32::MAX),
                    max_in_flight: u32::try_from(self.config.max_in_flight_per_connection)
                        .unwrap_or(u32::MAX),
                    max_records: u32::try_from(self.config.max_records_per_client)
                        .unwrap_or(u32::MAX),
                };
                protocol::push(&mut conn.outbuf, &Header::new(Kind::HelloAck), &ack.encode());
                conn.state = State::Ready { client: hello.client_id };
                self.timers
                    .add(conn.last_active + self.config.idle_timeout, Timer::Connection(token));
                if self.draining_until.is_some() {
                    protocol::push(&mut conn.outbuf, &Header::new(Kind::GoAway), &[]);
                }
                Ok(())
            }
            (State::AwaitHello, kind) => {
                Err(ProtocolError::Unexpected { kind, state: "before the handshake" })
            }
            (State::Ready { .. }, Kind::Hello) => {
                Err(ProtocolError::Unexpected { kind: Kind::Hello, state: "after the handshake" })
            }
            (State::Ready { client }, Kind::Request) => {
                let client = *client;
                self.handle_request(token, conn, client, frame);
                Ok(())
            }
            (State::Ready { client }, Kind::Cancel) => {
                if let Some(flag) = self.cancels.get(&(*client, h.call_id)) {
                    flag.store(true, Ordering::Relaxed);
                }
                Ok(())
            }
            (State::Ready { .. }, Kind::Ping) => {
                protocol::push(&mut conn.outbuf, &Header { kind: Kind::Pong, ..h }, frame.payload);
                Ok(())
            }
            (State::Ready { .. }, Kind::Pong) => Ok(()),
            (State::Ready { .. }, Kind::GoAway) => {
                conn.state = State::Closing;
                Ok(())
            }
            (State::Ready { .. }, kind) => {
                Err(ProtocolError::Unexpected { kind, state: "from a client" })
            }
            (State::Closing, _) => Ok(()),
        }
    }

    fn handle_request(
        &mut self,
        token: usize,
        conn: &mut Connection,
        client: u128,
        frame: Frame<'_>,
    ) {
        let h = frame.header;
        let oneway = h.flags & protocol::FLAG_ONEWAY != 0;
        let refuse = |conn: &mut Connection, code: ErrorCode, msg: &str| {
            if !oneway {
                let payload = protocol::error_payload(code, msg);
                protocol::push(
                    &mut conn.outbuf,
                    &Header { kind: Kind::Error, call_id: h.call_id, ..Header::new(Kind::Error) },
                    &payload,
                );
            }
        };
        if self.draining_until.is_some() {
            return refuse(
                conn,
                ErrorCode::ShuttingDown,
                "server is shutting down; the call did not run",
            );
        }
        if conn.in_flight >= self.config.max_in_flight_per_connection {
            return refuse(
                conn,
                ErrorCode::Overloaded,
                "too many calls in flight on this connection; the call did not run",
            );
        }
        let now = Instant::now();
        let waiter = Waiter { connection: token, call_id: h.call_id };
        let begin = self.shared.records().begin(client, h.call_id, h.ack, waiter, now);
        match begin {
            Begin::Execute => {}
            Begin::Replay(reply) => {
                if !oneway {
                    write_reply(conn, h.call_id, &reply);
                }
                return;
            }
            Begin::Joined => return,
            Begin::Stale => {
                log::debug!("dropping stale duplicate {client:032x}/{}", h.call_id);
                return;
            }
            Begin::TooManyOutstanding { limit } => {
                return refuse(
                    conn,
                    ErrorCode::TooManyOutstanding,
                    &format!(
                        "{limit} calls of this client are unacknowledged; the call did not run"
                    ),
                );
            }
        }
        let Some(method) = self.service.methods.get(&h.method).cloned() else {
            self.shared.records().abandon(client, h.call_id);
            return refuse(
                conn,
                ErrorCode::UnknownMethod,
                &format!("no method {} on this server; the call did not run", h.method),
            );
        };
        let deadline = now + Duration::from_micros(u64::from(h.deadline_us));
        let metadata = protocol::metadata::iter(frame.metadata)
            .filter_map(Result::ok)
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), v.to_vec()))
            .collect();
        let cancelled = Arc::new(AtomicBool::new(false));
        let ctx = Context::new(deadline, client, h.call_id, metadata, Arc::clone(&cancelled));
        let call = CallRef {
            loop_index: self.index,
            conn: token,
            client,
            call_id: h.call_id,
            method_id: h.method,
            dispatched: now,
            oneway,
        };
        conn.in_flight += 1;
        self.in_flight += 1;
        if method.inline {
            // On the loop, straight from the read buffer: no copy, no hand-off.
            let outcome = execute(&method, &ctx, frame.payload);
            self.complete(Done { call, outcome }, Some((token, conn)));
            return;
        }
        let job = Job { call, method, payload: frame.payload.to_vec(), ctx };
        self.cancels.insert((client, h.call_id), cancelled);
        let Some(jobs) = self.jobs_tx.as_ref() else { return };
        match jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) | Err(TrySendError::Disconnected(job)) => {
                let done = Done {
                    call: job.call,
                    outcome: Outcome::NotRun(
                        ErrorCode::Overloaded,
                        "server queue is full; the call did not run",
                    ),
                };
                self.complete(done, Some((token, conn)));
            }
        }
    }

    fn drain_completions(&mut self) {
        while let Ok(done) = self.done_rx.try_recv() {
            self.complete(done, None);
        }
    }

    /// Records an outcome and sends it to every waiter. `current` is the connection being
    /// handled (out of the map at the moment).
    fn complete(
        &mut self,
        Done { call: done, outcome }: Done,
        mut current: Option<(usize, &mut Connection)>,
    ) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.metrics.record(
            done.method_id,
            done.dispatched.elapsed(),
            matches!(outcome, Outcome::Reply(_)),
        );
        self.cancels.remove(&(done.client, done.call_id));
        let owner = match &mut current {
            Some((t, c)) if *t == done.conn => Some(&mut **c),
            _ => self.conns.get_mut(&done.conn),
        };
        if let Some(c) = owner {
            c.in_flight = c.in_flight.saturating_sub(1);
        }
        let (reply, waiters) = match outcome {
            Outcome::Reply(payload) => {
                let reply = StoredReply { kind: Kind::Response, payload: payload.into() };
                (reply.clone(), self.shared.records().complete(done.client, done.call_id, reply))
            }
            Outcome::Failed(message) => {
                let payload = protocol::error_payload(ErrorCode::Internal, &message);
                let reply = StoredReply { kind: Kind::Error, payload: payload.into() };
                (reply.clone(), self.shared.records().complete(done.client, done.call_id, reply))
            }
            Outcome::NotRun(code, message) => {
                let payload = protocol::error_payload(code, message);
                let reply = StoredReply { kind: Kind::Error, payload: payload.into() };
                (reply, self.shared.records().abandon(done.client, done.call_id))
            }
        };
        if done.oneway {
            return;
        }
        for w in waiters {
            let owner = owner_of(w.connection, self.loops);
            if owner != self.index {
                // A duplicate that arrived on another loop's connection waits there.
                let msg = LoopMsg::Deliver {
                    connection: w.connection,
                    call_id: w.call_id,
                    reply: reply.clone(),
                };
                if self.shared.inboxes[owner].try_send(msg).is_ok() {
                    self.shared.wake(owner);
                } else {
                    // The caller is not lost: its retry replays the recorded reply.
                    log::warn!("event loop {owner} is not keeping up; a duplicate's reply waits for its retry");
                }
                continue;
            }
            let target = match &mut current {
                Some((t, c)) if *t == w.connection => Some(&mut **c),
                _ => self.conns.get_mut(&w.connection),
            };
            if let Some(c) = target {
                write_reply(c, w.call_id, &reply);
                self.dirty.push(w.connection);
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                Timer::ExpireRecords => {
                    if self.index == 0 {
                        self.shared.records().expire(now);
                    }
                    self.timers.add(now + self.config.client_lease / 4, Timer::ExpireRecords);
                }
                Timer::GraceOver => {}
                Timer::Connection(token) => {
                    let Some(conn) = self.conns.get(&token) else { continue };
                    let expired = match conn.state {
                        State::AwaitHello => true,
                        _ if conn.in_flight > 0 => false,
                        _ => now.duration_since(conn.last_active) >= self.config.idle_timeout,
                    };
                    if expired {
                        if let Some(conn) = self.conns.remove(&token) {
                            log::debug!("closing {}: handshake or idle timeout", conn.peer);
                            self.close(token, conn);
                        }
                    } else {
                        self.timers.add(
                            conn.last_active.max(now) + self.config.idle_timeout,
                            Timer::Connection(token),
                        );
                    }
                }
            }
        }
    }

    fn flush_dirty(&mut self) {
        // Flushing can read more input (a connection whose output was backed up resumes),
        // which can produce more output: repeat until nothing is left to flush.
        loop {
            let mut dirty = std::mem::take(&mut self.dirty);
            if dirty.is_empty() {
                return;
            }
            dirty.sort_unstable();
            dirty.dedup();
            self.flush_connections(&dirty);
        }
    }

    fn flush_connections(&mut self, dirty: &[usize]) {
        for &token in dirty {
            let Some(mut conn) = self.conns.remove(&token) else { continue };
            match flush(&mut conn) {
                Ok(()) if conn.state == State::Closing && conn.outbuf.is_empty() => {
                    self.close(token, conn)
                }
                Ok(()) => {
                    let mut interest = if conn.outbuf.is_empty() {
                        Interest::READABLE
                    } else {
                        Interest::READABLE | Interest::WRITABLE
                    };
                    if conn.outbuf.len() >= 2 * self.config.max_frame + READ_CHUNK {
                        interest = Interest::WRITABLE;
                    }
                    if interest != conn.interest {
                        if let Err(e) = self.poll.registry().reregister(
                            &mut conn.socket,
                            Token(token),
                            interest,
                        ) {
                            log::warn!("cannot reregister {}: {e}", conn.peer);
                        }
                        conn.interest = interest;
                    }
                    // Reading stopped while output was backed up: resume it now. (Edge-
                    // triggered readiness will not report bytes that arrived meanwhile.)
                    let resume = interest.is_readable() && conn.read_paused;
                    self.conns.insert(token, conn);
                    if resume {
                        self.on_readable(token);
                    }
                }
                Err(e) => {
                    log::debug!("write to {} failed: {e}", conn.peer);
                    self.close(token, conn);
                }
            }
        }
    }

    fn close(&mut self, token: usize, mut conn: Connection) {
        let _ = self.poll.registry().deregister(&mut conn.socket);
        self.shared.records().drop_waiters_of(token);
        self.shared.connections.fetch_sub(1, Ordering::Relaxed);
        log::debug!("closed connection {token} ({})", conn.peer);
    }

    fn begin_shutdown(&mut self) {
        let until = Instant::now() + self.config.shutdown_grace;
        self.draining_until = Some(until);
        self.timers.add(until, Timer::GraceOver);
        if let Some(mut l) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut l);
        }
        for (token, conn) in self.conns.iter_mut() {
            if matches!(conn.state, State::Ready { .. }) {
                protocol::push(&mut conn.outbuf, &Header::new(Kind::GoAway), &[]);
                self.dirty.push(*token);
            }
        }
        log::info!("shutting down: {} calls in flight", self.in_flight);
    }

    fn finish_shutdown(&mut self) {
        // Calls still queued must not start after their connections are gone.
        for flag in self.cancels.values() {
            flag.store(true, Ordering::Relaxed);
        }
        let tokens: Vec<usize> = self.conns.keys().copied().collect();
        for t in tokens {
            if let Some(conn) = self.conns.remove(&t) {
                self.close(t, conn);
            }
        }
        // Workers exit when every loop has dropped its end of the queue. They are not
        // joined: a handler that ignores its deadline must not hold shutdown hostage past
        // the grace period.
        self.jobs_tx = None;
    }
}

fn write_reply(conn: &mut Connection, call_id: u64, reply: &StoredReply) {
    let header = Header { kind: reply.kind, call_id, ..Header::new(reply.kind) };
    protocol::push(&mut conn.outbuf, &header, &reply.payload);
}

/// Writes as much buffered output as the socket takes.
fn flush(conn: &mut Connection) -> io::Result<()> {
    let mut written = 0;
    while written < conn.outbuf.len() {
        match conn.socket.write(&conn.outbuf[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    conn.outbuf.drain(..written);
    if conn.outbuf.is_empty() && conn.outbuf.capacity() > READ_CHUNK {
        // A burst of replies grew the buffer: give it back rather than hold it while idle.
        conn.outbuf = Vec::new();
    }
    Ok(())
}
