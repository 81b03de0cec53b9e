//! The server's I/O: mio event loop threads owning the listener and the connections, and a
//! crossbeam worker pool behind a bounded queue. Shape of mio's `tcp_server` example: a
//! token per connection, each `Connection` owning its socket and its protocol state (a
//! sans-I/O `ServerSession`, where every protocol decision is made), reads up to a fair
//! budget per turn, then writes batched into one buffer per connection.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::metrics::{Metrics, Snapshot};
use crate::protocol::ErrorCode;
use crate::records::{SharedRecords, StoredReply, Waiter};
use crate::service::{Context, Method, Run, Service};
use crate::session::server::{
    execute, settle, CallRef, Dispatch, Endpoint, Limits, Next, Outcome, ServerSession,
};
use crate::socket::{Address, Listener, PeerAddr, Socket};
use crate::timers::Timers;
use crate::tls::ServerTls;
use crate::transport::Stream;

mod config;
mod event_loop;
mod signals;
mod tasks;
mod worker;
pub use config::ServerConfig;
use event_loop::{Loop, LoopParts};
pub use signals::ShutdownSignals;
pub use tasks::{HandlerFuture, Responder};
use worker::{Claim, Done, Job, WakeLoop};

/// Listener `i` is token `i`; connections come after the most listeners a server may have.
const MAX_LISTENERS: usize = 64;
const WAKER: Token = Token(usize::MAX);
const FIRST_CONNECTION: usize = MAX_LISTENERS;
/// Bytes read per `read` call.
const READ_CHUNK: usize = 64 * 1024;

/// A running server. Dropping it shuts it down gracefully.
#[derive(Debug)]
pub struct Server {
    addrs: Vec<Address>,
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
    records: SharedRecords,
    connections: std::sync::atomic::AtomicUsize,
    /// Bytes of output buffered on every loop's connections.
    buffered: AtomicUsize,
    /// Bytes of recorded replies, refreshed by loop 0's budget timer.
    recorded: AtomicUsize,
    /// Calls dispatched and not yet finished, over every loop.
    held: AtomicUsize,
    /// Calls of async handlers dispatched and not finished (queued or awaiting), over
    /// every loop: bounded by `ServerConfig::max_handler_tasks`.
    tasks: AtomicUsize,
}

impl Shared {
    fn wake(&self, loop_index: usize) {
        // A failed wake means that loop is gone; nothing waits there.
        let _ = self.wakers[loop_index].wake();
    }
}

/// Messages between event loops.
enum LoopMsg {
    /// A connection accepted by loop 0, with the token it was given and its listener's TLS.
    Connection(Socket, PeerAddr, usize, Option<ServerTls>),
    /// A reply for a waiter whose connection this loop owns.
    Deliver { waiter: Waiter, reply: StoredReply },
}

/// Connection tokens encode their loop: `FIRST_CONNECTION + n × loops + loop_index`.
fn owner_of(token: usize, loops: usize) -> usize {
    (token - FIRST_CONNECTION) % loops
}

/// One address a server listens on ([`Server::bind_all`]).
#[derive(Clone, Debug)]
pub enum Listen {
    /// Plaintext TCP.
    Tcp(SocketAddr),
    /// TLS 1.3 over TCP, with these settings (mutual TLS if they name client CAs).
    Tls(SocketAddr, ServerTls),
    /// A Unix domain socket at this path, in plaintext: for a sidecar or agent on the same
    /// host, which the socket file's permissions admit (set them on its directory). A
    /// socket file left there by a server that ended without removing it is replaced; the
    /// server removes its own when it stops.
    Unix(PathBuf),
}

impl Listen {
    fn address(&self) -> Address {
        match self {
            Listen::Tcp(a) | Listen::Tls(a, _) => Address::Tcp(*a),
            Listen::Unix(p) => Address::Unix(p.clone()),
        }
    }

    fn tls(&self) -> Option<&ServerTls> {
        match self {
            Listen::Tcp(_) | Listen::Unix(_) => None,
            Listen::Tls(_, tls) => Some(tls),
        }
    }
}

impl Server {
    /// Binds `addr` (use port 0 for any free port) and starts serving `service`, over TLS
    /// if `config.tls` is set.
    ///
    /// Fails with `InvalidInput` when the service registers one method id twice (two method
    /// names whose ids collide): calls would silently reach the wrong handler.
    pub fn bind(addr: SocketAddr, service: Service, config: ServerConfig) -> io::Result<Server> {
        let listen = match &config.tls {
            Some(tls) => Listen::Tls(addr, tls.clone()),
            None => Listen::Tcp(addr),
        };
        Server::bind_all(&[listen], service, config)
    }

    /// Serves `service` on every address of `listens` (plaintext and TLS side by side,
    /// say), with one set of event loops, workers, completion records and limits (the
    /// connection limit and memory budget count every listener's). `config.tls` is not used;
    /// each [`Listen::Tls`] carries its own. [`Server::local_addrs`] lists the bound
    /// addresses in the same order.
    pub fn bind_all(
        listens: &[Listen],
        service: Service,
        config: ServerConfig,
    ) -> io::Result<Server> {
        if listens.is_empty() || listens.len() > MAX_LISTENERS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a server needs 1 to {MAX_LISTENERS} listeners, not {}", listens.len()),
            ));
        }
        if let Some(id) = service.duplicates.first() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("method id {id} is registered twice; rename one of the methods"),
            ));
        }
        let service = if config.reflection {
            service.with_reflection().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?
        } else {
            service
        };
        let poll = Poll::new()?;
        let mut listeners = Vec::new();
        let mut addrs = Vec::new();
        for (i, l) in listens.iter().enumerate() {
            let at = l.address();
            let mut listener = Listener::bind(&at, config.listen_backlog)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {at}: {e}")))?;
            if l.tls().is_none() && !listener.is_local() {
                log::warn!(
                    "serving {at} in plaintext: any peer that reaches it can read and make calls; serve TLS (ServerConfig::tls, Listen::Tls)"
                );
            }
            poll.registry().register(&mut listener, Token(i), Interest::READABLE)?;
            addrs.push(listener.local_addr()?);
            listeners.push((listener, l.tls().cloned()));
        }
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
            let (tx, rx) = bounded::<Done>(
                config.queue_capacity.max(1) + config.workers + config.max_handler_tasks + 1,
            );
            done.push(tx);
            done_rxs.push(rx);
        }
        let shared = Arc::new(Shared {
            shutdown: AtomicBool::new(false),
            wakers,
            inboxes,
            done,
            records: SharedRecords::new(16, config.max_records_per_client, config.client_lease),
            connections: std::sync::atomic::AtomicUsize::new(0),
            buffered: AtomicUsize::new(0),
            recorded: AtomicUsize::new(0),
            held: AtomicUsize::new(0),
            tasks: AtomicUsize::new(0),
        });
        let limits = Limits {
            max_frame: config.max_frame,
            max_in_flight: config.max_in_flight_per_connection,
            max_records: config.max_records_per_client,
            handshake_timeout: config.handshake_timeout,
            idle_timeout: config.idle_timeout,
            frame_timeout: config.frame_timeout,
        };
        let incarnation = crate::random_u128();
        let metrics = Metrics::default();
        for (id, name) in &service.names {
            metrics.name(*id, name);
        }

        let (jobs_tx, jobs_rx) = bounded::<Job>(config.queue_capacity.max(1));
        // Each live task is on the run queue at most once, and live tasks are bounded.
        let (run_queue, runs_rx) = tasks::RunQueue::new(config.max_handler_tasks + 1);
        let wake_loops: Vec<WakeLoop> = (0..loops)
            .map(|owner| {
                let shared = Arc::clone(&shared);
                Arc::new(move || shared.wake(owner)) as WakeLoop
            })
            .collect();
        for i in 0..config.workers.max(1) {
            let (jobs_rx, runs_rx, shared) =
                (jobs_rx.clone(), runs_rx.clone(), Arc::clone(&shared));
            let (run_queue, wake_loops) = (Arc::clone(&run_queue), wake_loops.clone());
            std::thread::Builder::new().name(format!("ferry-worker-{i}")).spawn(move || {
                while let Some(work) = tasks::next_work(&runs_rx, &jobs_rx) {
                    let job = match work {
                        tasks::Work::Task(task) => {
                            task.run();
                            continue;
                        }
                        tasks::Work::Job(job) => job,
                    };
                    let owner = job.call.loop_index;
                    let (done, wake) = (&shared.done[owner], &wake_loops[owner]);
                    // A loop past its shutdown grace is gone: its completion has nowhere to go,
                    // but the worker stays for the other loops' jobs.
                    if let Some(d) = job.run(&run_queue, done, wake) {
                        if done.send(d).is_ok() {
                            wake();
                        }
                    }
                }
                // The loops are gone. Tasks they told to stop are dropped as they come;
                // tasks still awaiting are dropped by whoever holds their wakers.
                while let Ok(task) = runs_rx.try_recv() {
                    task.run();
                }
            })?;
        }
        drop((run_queue, runs_rx));
        let mut listeners = Some(listeners);
        let mut event_loops = Vec::new();
        for (index, ((poll, inbox), done_rx)) in
            polls.into_iter().zip(inbox_rxs).zip(done_rxs).enumerate()
        {
            let listeners =
                if index == 0 { listeners.take().unwrap_or_default() } else { Vec::new() };
            let parts = LoopParts {
                poll,
                index,
                loops,
                listeners,
                inbox,
                jobs_tx: jobs_tx.clone(),
                done_rx,
                service: service.clone(),
                config: config.clone(),
                limits: limits.clone(),
                incarnation,
                shared: Arc::clone(&shared),
                metrics: metrics.clone(),
            };
            let mut lp = Loop::new(parts);
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
        log::info!("serving on {addrs:?}, incarnation {incarnation:032x}");
        Ok(Server { addrs, incarnation, metrics, shared, event_loops })
    }

    /// The TCP address the server listens on (with the port the OS chose for port 0);
    /// with several listeners, the first TCP one.
    ///
    /// Panics if the server listens on Unix sockets only: use [`Server::local_addrs`].
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs
            .iter()
            .find_map(Address::tcp)
            .expect("Server::local_addr: this server has no TCP listener; see Server::local_addrs")
    }

    /// Every address the server listens on, in the order they were given to
    /// [`Server::bind_all`].
    pub fn local_addrs(&self) -> &[Address] {
        &self.addrs
    }

    /// Per-method call counts, failures and handler latency (dispatch to completion).
    pub fn metrics(&self) -> Snapshot {
        self.metrics.snapshot()
    }

    /// What the server holds right now: connections, buffered bytes, recorded bytes, calls.
    pub fn load(&self) -> Load {
        Load {
            connections: self.shared.connections.load(Ordering::Relaxed),
            buffered_bytes: self.shared.buffered.load(Ordering::Relaxed),
            recorded_bytes: self.shared.recorded.load(Ordering::Relaxed),
            calls_held: self.shared.held.load(Ordering::Relaxed),
        }
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

    /// Serves until the process gets SIGINT or SIGTERM, then shuts down gracefully (as
    /// [`Server::shutdown`]) and returns the signal's number: `ShutdownSignals::install`
    /// then [`Server::run_until`].
    pub fn run_until_signal(self) -> io::Result<i32> {
        let signals = ShutdownSignals::install()?;
        Ok(self.run_until(signals))
    }

    /// Serves until one of `signals` arrives, then shuts down gracefully and returns its
    /// number. Blocks the calling thread, which does the waiting: no thread is started.
    pub fn run_until(self, mut signals: ShutdownSignals) -> i32 {
        let sig = signals.signals.forever().next().unwrap_or(signal_hook::consts::SIGTERM);
        signals.again.store(true, Ordering::SeqCst);
        log::info!("signal {sig}: shutting down {:?}", self.addrs);
        self.shutdown();
        sig
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

/// What a server holds at one moment ([`Server::load`]): for operators, and to check that
/// a burst or a flood leaves nothing behind once it has passed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Load {
    /// Open connections.
    pub connections: usize,
    /// Bytes held for connections: incomplete input frames and output not yet written.
    pub buffered_bytes: usize,
    /// Bytes of replies kept in completion records (re-counted every 100 ms).
    pub recorded_bytes: usize,
    /// Calls dispatched and not finished: waiting for a worker or running.
    pub calls_held: usize,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
