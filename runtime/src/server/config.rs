//! What a server may use and how long it waits: every limit has a documented default.

use std::time::Duration;

use crate::tls::ServerTls;

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
    /// Calls in flight per connection; more get `Overloaded`. Announced in `HelloAck`, so
    /// Ferry clients keep further calls waiting on their side. Default: 512, half the worker
    /// queue, which one connection alone may always fill (its share, spec § 7).
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
    /// A frame whose first byte arrived must be complete within this, or the connection is
    /// closed (a peer trickling bytes holds nothing for long). Default: 30 s.
    pub frame_timeout: Duration,
    /// Bytes of buffered output (all connections) and recorded replies the server may hold;
    /// beyond it new calls are refused with `Overloaded` (they did not run) until it drains.
    /// Default: 1 GiB.
    pub memory_budget: usize,
    /// Input handled per connection per loop turn before the loop serves the others (one
    /// flooding client cannot hold up the rest of its loop). Default: 256 KiB.
    pub read_budget: usize,
    /// Log every finished call at `info` on the `ferry::access` target (peer, method name,
    /// outcome, duration, client and call id), through the `log` facade. Default: off.
    pub access_log: bool,
    /// After a loop turn with events, an event loop polls without sleeping this long
    /// before it blocks again (while no call waits on a worker, and within a process-wide
    /// budget of `cores − 1` polling threads): a client's next request usually comes
    /// within tens of µs, and catching it awake saves a thread wake-up of as much. Costs
    /// at most this much CPU per quiet period. `Duration::ZERO` turns it off. Default 50 µs.
    pub busy_poll: Duration,
    /// TLS 1.3 (and mutual TLS when it names client CAs); `None` serves plaintext, which a
    /// server bound beyond loopback warns about once. Default: `None`.
    pub tls: Option<ServerTls>,
    /// Answer the built-in `ferry.reflect` with the services' embedded IDL (what generated
    /// code embeds unless idlc was told `--no-reflection`), so tools can call the server
    /// without its schema. Authorizers see it as method `ferry.reflect` and may refuse it.
    /// Default: on.
    pub reflection: bool,
    /// Calls of async handlers (`Service::async_method`, `deferred_method`, generated
    /// `AsyncServer`s) held at once, queued or awaiting; past it new ones are refused
    /// `Overloaded` (they did not run). A task holds its future's state, not a thread.
    /// Default: 10 000.
    pub max_handler_tasks: usize,
    /// Connections the kernel may hold before the server accepts them (`listen`'s
    /// backlog; capped by `net.core.somaxconn`). Past it new connections' SYNs are dropped
    /// and retried by their clients after a second. Default: 1024.
    pub listen_backlog: u32,
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
            max_in_flight_per_connection: 512,
            idle_timeout: Duration::from_secs(300),
            handshake_timeout: Duration::from_secs(5),
            max_records_per_client: 4096,
            client_lease: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(10),
            frame_timeout: Duration::from_secs(30),
            memory_budget: 1 << 30,
            read_budget: 256 * 1024,
            access_log: false,
            busy_poll: Duration::from_micros(50),
            tls: None,
            reflection: true,
            max_handler_tasks: 10_000,
            listen_backlog: 1024,
        }
    }
}
