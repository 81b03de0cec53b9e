//! What a call is configured with and how it fails: `ClientConfig`, `CallOptions`,
//! `RetryPolicy`, `Credentials` and `CallError`. Below both the client's I/O (`client/`)
//! and its sans-I/O session (`session/client.rs`), which take their settings and errors
//! from here, so neither imports the other's module.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::tls::ClientTls;

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

impl CallError {
    /// Whether the handler may have run (and had its effects): false when the error
    /// proves it did not (refused before dispatch, never sent, refused here).
    pub fn may_have_run(&self) -> bool {
        match self {
            CallError::DeadlineExceeded
            | CallError::OutcomeUnknown(_)
            | CallError::Cancelled
            | CallError::Remote(_)
            | CallError::BadReply(_) => true,
            CallError::Overloaded(_)
            | CallError::Unavailable(_)
            | CallError::Protocol(_)
            | CallError::InvalidArguments(_)
            | CallError::PermissionDenied(_)
            | CallError::UnknownMethod(_)
            | CallError::TooLarge { .. } => false,
        }
    }
}

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
    /// A blocking caller polls for its reply this long before it sleeps, when a core is
    /// free for it (never when the process may use one CPU or the machine is busy, and
    /// less while its polls go unanswered: the rule is in ARCHITECTURE.md, "Waiting").
    /// `Duration::ZERO`: always sleep. Default: 100 µs.
    pub busy_poll: Duration,
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
            busy_poll: Duration::from_micros(100),
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
