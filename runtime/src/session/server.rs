//! The protocol of one server connection, without I/O: bytes and time in, bytes to write,
//! calls to run and a close decision out (rustls' and quinn-proto's shape). Every decision
//! the server makes about a connection is made here: the handshake and the identity it
//! binds, which frames are allowed when, at-most-once (with the shared records), refusals,
//! cancellation, GoAway and draining, and the timeouts of handshakes, idle connections and
//! frames left incomplete. The mio loop in `server.rs` moves bytes and runs handlers.
//!
//! TLS (a later issue) sits between the socket and [`ServerSession::handle_input`]; streams
//! and other frame kinds add arms to [`ServerSession::handle_frame`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::protocol::{self, ErrorCode, Frame, Header, HelloAck, Kind, ProtocolError};
use crate::records::{self, Begin, Fingerprint, SharedRecords, StoredReply, Waiter};
use crate::service::{Context, Handler, Method};
use crate::tls::PeerIdentity;

/// The limits a session enforces (from `ServerConfig`).
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub max_frame: usize,
    pub max_in_flight: usize,
    pub max_records: usize,
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
    /// A frame, once its first byte arrived, must be complete within this (slowloris).
    pub frame_timeout: Duration,
}

/// Which call a job or completion belongs to, and where its reply goes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallRef {
    /// The event loop that owns `conn`.
    pub loop_index: usize,
    pub conn: usize,
    /// The key of the client's records.
    pub client: u128,
    /// The id the client announced.
    pub client_id: u128,
    pub call_id: u64,
    pub method_id: u32,
    pub dispatched: Instant,
    pub oneway: bool,
}

/// A call to run: the driver runs it on the loop (inline methods, straight from the read
/// buffer) or hands it to a worker (copying the payload).
pub(crate) struct Dispatch<'a> {
    pub call: CallRef,
    pub method: Method,
    pub payload: &'a [u8],
    pub ctx: Context,
    pub cancelled: Arc<AtomicBool>,
}

/// How a dispatched call ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    Reply(Vec<u8>),
    /// The handler ran and failed, or panicked: the outcome of its effects is unknown.
    Failed(String),
    /// The handler never ran.
    NotRun(ErrorCode, String),
}

/// What a session needs from the rest of the server.
pub(crate) trait Endpoint {
    fn records(&self) -> &SharedRecords;
    fn incarnation(&self) -> u128;
    fn method(&self, id: u32) -> Option<Method>;
    /// The server is shutting down: no new calls.
    fn shutting_down(&self) -> bool;
    /// The server-wide memory budget (buffered input and output, and records) is spent.
    fn over_budget(&self) -> bool;
    /// How many calls connection `conn`, holding `own`, may hold now: half of the worker
    /// queue that the other connections leave (plus the workers, as calls in flight include
    /// running ones; and its async handlers' calls, which hold no queue place once started).
    /// A flooding connection is refused once it holds its share, and the free places it
    /// leaves are what its neighbours' calls use — shedding falls on the cause.
    fn queue_share(&self, conn: usize, own: usize) -> usize;
    /// Runs or queues a call; `Some` when it ended at once (inline, or refused).
    fn dispatch(&mut self, call: Dispatch<'_>) -> Option<Outcome>;
    /// The client asked to skip a call not yet started.
    fn cancel(&mut self, client: u128, call_id: u64);
    /// The service's authorization hook: `Err(reason)` refuses the call unrun.
    fn authorize(&self, method_id: u32, ctx: &Context) -> Result<(), String>;
    /// A reply for a waiter on another connection (a duplicate that arrived there).
    fn deliver(&mut self, waiter: Waiter, reply: &StoredReply);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    AwaitHello,
    Ready {
        /// Where the client's records live ([`records::record_key`]).
        client: u128,
        /// The id the client announced (for handlers and logs).
        client_id: u128,
    },
    /// The client said `GoAway`: it sends no new calls; its cancels and pings are still
    /// handled, a request is refused as a protocol error, and the connection closes once
    /// the calls in flight are answered.
    ClientGoneAway {
        client: u128,
    },
    /// No more input is handled (after a protocol error or a timeout); replies of calls in
    /// flight are still written, then the connection closes.
    Draining,
}

/// What the driver should do after handling input or a timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    Continue,
    /// Write what is buffered, then close.
    Close,
}

/// The state of one connection.
#[derive(Debug)]
pub(crate) struct ServerSession {
    token: usize,
    phase: Phase,
    /// Bytes of a frame still incomplete (nothing while idle).
    inbuf: Vec<u8>,
    /// Bytes to write.
    pub outbuf: Vec<u8>,
    pub in_flight: usize,
    opened: Instant,
    last_active: Instant,
    /// When the incomplete frame in `inbuf` started arriving.
    partial_since: Option<Instant>,
    goaway_sent: bool,
    /// The peer's verified certificate (mutual TLS), set by the driver once the TLS
    /// handshake is done, before any plaintext reaches the session.
    identity: Option<Arc<PeerIdentity>>,
    /// The largest frame the client accepts (its `Hello`): no reply is written larger.
    peer_max_frame: usize,
}

impl ServerSession {
    pub fn new(token: usize, now: Instant) -> Self {
        ServerSession {
            token,
            phase: Phase::AwaitHello,
            inbuf: Vec::new(),
            outbuf: Vec::new(),
            in_flight: 0,
            opened: now,
            last_active: now,
            partial_since: None,
            goaway_sent: false,
            identity: None,
            peer_max_frame: usize::MAX,
        }
    }

    /// The peer proved this identity (its certificate, verified by TLS).
    pub fn set_identity(&mut self, identity: PeerIdentity) {
        self.identity = Some(Arc::new(identity));
    }

    /// Whether input should still be read and handled.
    pub fn accepts_input(&self) -> bool {
        self.phase != Phase::Draining
    }

    /// Nothing new will come: close once the calls in flight are answered and written.
    pub fn closing(&self) -> bool {
        matches!(self.phase, Phase::Draining | Phase::ClientGoneAway { .. })
    }

    /// Handles bytes read from the peer: every complete frame, keeping what is left of an
    /// incomplete one.
    pub fn handle_input(
        &mut self,
        ep: &mut dyn Endpoint,
        limits: &Limits,
        read: &[u8],
        now: Instant,
    ) -> Next {
        if !self.accepts_input() || read.is_empty() {
            return self.next();
        }
        self.last_active = now;
        let result = if self.inbuf.is_empty() {
            let r = self.handle_frames(ep, limits, read, now);
            if let Ok(used) = r {
                self.keep_partial(&read[used..]);
            }
            r.map(drop)
        } else {
            let mut input = std::mem::take(&mut self.inbuf);
            reserve_frame(&mut input, read);
            input.extend_from_slice(read);
            let r = self.handle_frames(ep, limits, &input, now);
            if let Ok(used) = r {
                input.drain(..used);
                // Keep the allocation only while a frame is still incomplete.
                self.inbuf = if input.is_empty() { Vec::new() } else { input };
            }
            r.map(drop)
        };
        if let Err(e) = result {
            self.protocol_error(&e.to_string());
        } else if let Some(len) = self.partial_len().filter(|&n| n > BUFFER_WHEN_OVER_BUDGET) {
            if ep.over_budget() {
                // Buffering it would take memory the server does not have: this connection
                // is the one asking, so it is the one shed (others keep being served).
                self.protocol_error(&format!(
                    "the server's memory budget is spent and cannot hold a frame of {len} bytes; the connection closes"
                ));
            }
        }
        self.partial_since = match (self.inbuf.is_empty(), self.partial_since) {
            (true, _) => None,
            (false, Some(since)) => Some(since),
            (false, None) => Some(now),
        };
        self.next()
    }

    /// Keeps the start of a frame still incomplete, in a buffer sized for that frame alone
    /// (its length prefix, once known, is already checked against the frame limit): a
    /// stalled large frame holds its own size, never the doubling growth of a `Vec`.
    fn keep_partial(&mut self, rest: &[u8]) {
        if rest.is_empty() {
            return;
        }
        reserve_frame(&mut self.inbuf, rest);
        self.inbuf.extend_from_slice(rest);
    }

    /// The declared size of the incomplete frame held, once its length prefix is known.
    fn partial_len(&self) -> Option<usize> {
        let prefix = self.inbuf.get(..4)?;
        Some(4 + u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize)
    }

    /// Bytes this connection holds for input (an incomplete frame), for the memory budget.
    pub fn input_held(&self) -> usize {
        self.inbuf.capacity()
    }

    fn handle_frames(
        &mut self,
        ep: &mut dyn Endpoint,
        limits: &Limits,
        input: &[u8],
        now: Instant,
    ) -> Result<usize, ProtocolError> {
        let mut used = 0;
        while self.accepts_input() {
            match protocol::decode(&input[used..], limits.max_frame)? {
                Some((frame, n)) => {
                    used += n;
                    self.handle_frame(ep, limits, frame, now)?;
                }
                None => break,
            }
        }
        Ok(used)
    }

    fn handle_frame(
        &mut self,
        ep: &mut dyn Endpoint,
        limits: &Limits,
        frame: Frame<'_>,
        now: Instant,
    ) -> Result<(), ProtocolError> {
        let h = frame.header;
        match (self.phase, h.kind) {
            (Phase::AwaitHello, Kind::Hello) => {
                let hello = protocol::Hello::decode(frame.payload)?;
                if (hello.max_frame as usize) < protocol::MIN_MAX_FRAME {
                    return Err(ProtocolError::Unexpected {
                        kind: Kind::Hello,
                        state: "with a max_frame below 1024 bytes, the least a server must be allowed to send",
                    });
                }
                self.peer_max_frame = hello.max_frame as usize;
                let fingerprint = self.identity.as_ref().map(|i| &i.fingerprint);
                let key = records::record_key(hello.client_id, hello.secret, fingerprint);
                ep.records().of(key).claim(key, now);
                let ack = HelloAck {
                    incarnation: ep.incarnation(),
                    max_frame: u32::try_from(limits.max_frame).unwrap_or(u32::MAX),
                    max_in_flight: u32::try_from(limits.max_in_flight).unwrap_or(u32::MAX),
                    max_records: u32::try_from(limits.max_records).unwrap_or(u32::MAX),
                };
                protocol::push(&mut self.outbuf, &Header::new(Kind::HelloAck), &ack.encode());
                self.phase = Phase::Ready { client: key, client_id: hello.client_id };
                if ep.shutting_down() {
                    self.go_away();
                }
                Ok(())
            }
            (Phase::AwaitHello, kind) => {
                Err(ProtocolError::Unexpected { kind, state: "before the handshake" })
            }
            (Phase::Ready { .. }, Kind::Hello) => {
                Err(ProtocolError::Unexpected { kind: Kind::Hello, state: "after the handshake" })
            }
            (Phase::Ready { client, client_id }, Kind::Request) => {
                self.handle_request(ep, limits, (client, client_id), frame, now);
                Ok(())
            }
            (Phase::Ready { client, .. }, Kind::Cancel) => {
                ep.cancel(client, h.call_id);
                Ok(())
            }
            (Phase::Ready { .. }, Kind::Ping) => {
                protocol::push(&mut self.outbuf, &Header { kind: Kind::Pong, ..h }, frame.payload);
                Ok(())
            }
            (Phase::Ready { .. }, Kind::Pong) => Ok(()),
            (Phase::Ready { client, .. }, Kind::GoAway) => {
                // The client sends no more calls here: finish those in flight, then close.
                self.phase = Phase::ClientGoneAway { client };
                Ok(())
            }
            (Phase::ClientGoneAway { .. }, Kind::Request) => {
                let message = format!(
                    "call id {} came after the client's GoAway, which promised no new calls; the call did not run",
                    h.call_id
                );
                self.refuse(
                    h.call_id,
                    protocol::attempt_of(h.flags),
                    false,
                    ErrorCode::Protocol,
                    &message,
                );
                Ok(())
            }
            (Phase::ClientGoneAway { client }, Kind::Cancel) => {
                ep.cancel(client, h.call_id);
                Ok(())
            }
            (Phase::ClientGoneAway { .. }, Kind::Ping) => {
                protocol::push(&mut self.outbuf, &Header { kind: Kind::Pong, ..h }, frame.payload);
                Ok(())
            }
            (Phase::ClientGoneAway { .. }, Kind::Pong | Kind::GoAway) => Ok(()),
            (Phase::ClientGoneAway { .. }, kind) => {
                Err(ProtocolError::Unexpected { kind, state: "after the client's GoAway" })
            }
            (Phase::Ready { .. }, kind) => {
                Err(ProtocolError::Unexpected { kind, state: "from a client" })
            }
            (Phase::Draining, _) => Ok(()),
        }
    }

    fn handle_request(
        &mut self,
        ep: &mut dyn Endpoint,
        limits: &Limits,
        (client, client_id): (u128, u128),
        frame: Frame<'_>,
        now: Instant,
    ) {
        let h = frame.header;
        let oneway = h.flags & protocol::FLAG_ONEWAY != 0;
        let attempt = protocol::attempt_of(h.flags);
        if h.ack > h.call_id {
            // The ack is the client's lowest pending call, which includes this one.
            let message = format!(
                "ack {} is above the request's own call id {}; the call did not run",
                h.ack, h.call_id
            );
            return self.refuse(h.call_id, attempt, false, ErrorCode::Protocol, &message);
        }
        if h.call_id == 0 {
            return self.refuse(
                0,
                attempt,
                false,
                ErrorCode::Protocol,
                "call id 0 is reserved for connection-level frames; the call did not run",
            );
        }
        if let Some(ranges) = protocol::metadata::iter(frame.metadata)
            .filter_map(Result::ok)
            .find(|(k, _)| *k == protocol::metadata::ACK.as_bytes())
            .and_then(|(_, v)| protocol::metadata::ack_ranges(v))
        {
            ep.records().of(client).ack_ranges(client, ranges.into_iter());
        }
        let fingerprint = Fingerprint { method: h.method, digest: records::digest(frame.payload) };
        let waiter = Waiter { connection: self.token, call_id: h.call_id, attempt };
        let begin =
            ep.records().of(client).begin(client, h.call_id, h.ack, fingerprint, waiter, now);
        match begin {
            Begin::Execute => {
                if let Err(why) = protocol::metadata::check(frame.metadata) {
                    let message = format!("{why}; the call did not run");
                    let code = ErrorCode::InvalidArguments;
                    return self.refuse_new(ep, client, h.call_id, attempt, oneway, code, &message);
                }
                // Limits apply to new calls only, after the records were asked: a
                // duplicate or retry of a call that is running or finished is joined or
                // answered above, never refused as "did not run" while it runs.
                if let Some((code, message)) = self.refusal(ep, limits) {
                    return self.refuse_new(ep, client, h.call_id, attempt, oneway, code, message);
                }
            }
            Begin::Replay(reply) => {
                if !oneway {
                    self.write_reply(h.call_id, attempt, &reply);
                }
                return;
            }
            Begin::Joined => return,
            Begin::Stale => {
                log::debug!("dropping stale duplicate {client:032x}/{}", h.call_id);
                return;
            }
            Begin::TooManyOutstanding { limit } => {
                let message = format!(
                    "{limit} calls of this client are unacknowledged; the call did not run"
                );
                return self.refuse(
                    h.call_id,
                    attempt,
                    oneway,
                    ErrorCode::TooManyOutstanding,
                    &message,
                );
            }
            Begin::Mismatch => {
                let message = format!(
                    "call id {} was sent before with another method or arguments; the call did not run",
                    h.call_id
                );
                return self.refuse(h.call_id, attempt, false, ErrorCode::Protocol, &message);
            }
        }
        let call = CallRef {
            loop_index: 0,
            conn: self.token,
            client,
            client_id,
            call_id: h.call_id,
            method_id: h.method,
            dispatched: now,
            oneway,
        };
        let Some(method) = ep.method(h.method) else {
            let outcome = Outcome::NotRun(
                ErrorCode::UnknownMethod,
                format!("no method with id {} on this server; the call did not run", h.method),
            );
            self.in_flight += 1;
            return self.complete(ep, call, outcome);
        };
        if method.oneway.is_some_and(|declared| declared != oneway) {
            let (declared, sent) =
                if oneway { ("two-way", "ONEWAY") } else { ("oneway", "no ONEWAY") };
            let message = format!(
                "method {} is {declared} in the server's IDL but the request has {sent} flag (the caller's IDL differs); the call did not run",
                h.method
            );
            log::warn!("connection {}: {message}", self.token);
            self.in_flight += 1;
            return self.complete(ep, call, Outcome::NotRun(ErrorCode::InvalidArguments, message));
        }
        // `deadline_us` 0: the caller's time is up already; the call is refused unrun.
        let deadline = now + Duration::from_micros(u64::from(h.deadline_us));
        let metadata = protocol::metadata::iter(frame.metadata)
            .filter_map(Result::ok)
            .filter(|(k, _)| !k.starts_with(protocol::metadata::RESERVED_PREFIX))
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), v.to_vec()))
            .collect();
        let cancelled = Arc::new(AtomicBool::new(false));
        let mut ctx =
            Context::new(deadline, client_id, h.call_id, h.flags, metadata, Arc::clone(&cancelled));
        ctx.peer = self.identity.clone();
        if let Err(why) = ep.authorize(h.method, &ctx) {
            let outcome = Outcome::NotRun(
                ErrorCode::PermissionDenied,
                format!("permission denied: {why}; the call did not run"),
            );
            self.in_flight += 1;
            return self.complete(ep, call, outcome);
        }
        self.in_flight += 1;
        if let Some(outcome) =
            ep.dispatch(Dispatch { call, method, payload: frame.payload, ctx, cancelled })
        {
            self.complete(ep, call, outcome);
        }
    }

    /// Why a new call cannot be taken now (it does not run), or `None`.
    fn refusal(&self, ep: &dyn Endpoint, limits: &Limits) -> Option<(ErrorCode, &'static str)> {
        if ep.shutting_down() {
            Some((ErrorCode::ShuttingDown, "server is shutting down; the call did not run"))
        } else if self.in_flight >= limits.max_in_flight {
            Some((
                ErrorCode::Overloaded,
                "too many calls in flight on this connection; the call did not run",
            ))
        } else if self.in_flight >= ep.queue_share(self.token, self.in_flight) {
            Some((
                ErrorCode::Overloaded,
                "this connection holds its share of the server's queue (half of what is free); the call did not run",
            ))
        } else if ep.over_budget() {
            Some((
                ErrorCode::Overloaded,
                "the server's memory budget is spent; the call did not run",
            ))
        } else {
            None
        }
    }

    /// Settles a call of this connection: records the outcome (or forgets a call that never
    /// ran), writes the reply here and hands it to waiters elsewhere.
    pub fn complete(&mut self, ep: &mut dyn Endpoint, call: CallRef, outcome: Outcome) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let (reply, waiters) = settle(ep.records(), &call, outcome);
        if call.oneway {
            return;
        }
        for w in waiters {
            if w.connection == self.token {
                self.write_reply(w.call_id, w.attempt, &reply);
            } else {
                ep.deliver(w, &reply);
            }
        }
    }

    /// Writes a call's reply; one larger than the client accepts (its `Hello`'s
    /// `max_frame`) is replaced by an `Internal` error saying so (the handler ran), and an
    /// error's message is cut to fit.
    pub fn write_reply(&mut self, call_id: u64, attempt: u8, reply: &StoredReply) {
        let room = self.peer_max_frame.saturating_sub(protocol::HEADER_LEN - 4);
        let header = |kind| Header {
            kind,
            call_id,
            flags: protocol::with_attempt(0, attempt),
            ..Header::new(kind)
        };
        if reply.payload.len() <= room {
            protocol::push(&mut self.outbuf, &header(reply.kind), &reply.payload);
            return;
        }
        let payload = if reply.kind == Kind::Response {
            let message = format!(
                "the handler ran, but its reply of {} bytes is larger than this client accepts (max_frame {})",
                reply.payload.len(),
                self.peer_max_frame
            );
            protocol::error_payload(ErrorCode::Internal, &message)
        } else {
            let (code, message) = protocol::parse_error(&reply.payload);
            let mut cut = room.saturating_sub(2).min(message.len());
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            protocol::error_payload(code.unwrap_or(ErrorCode::Internal), &message[..cut])
        };
        protocol::push(&mut self.outbuf, &header(Kind::Error), &payload);
    }

    /// Refuses a call the records just took as new: the refusal is recorded against the
    /// attempt (`RecordStore::abandon`), then answered.
    #[allow(clippy::too_many_arguments)]
    fn refuse_new(
        &mut self,
        ep: &mut dyn Endpoint,
        client: u128,
        call_id: u64,
        attempt: u8,
        oneway: bool,
        code: ErrorCode,
        message: &str,
    ) {
        ep.records().of(client).abandon(client, call_id, code);
        self.refuse(call_id, attempt, oneway, code, message);
    }

    fn refuse(&mut self, call_id: u64, attempt: u8, oneway: bool, code: ErrorCode, message: &str) {
        if code == ErrorCode::Protocol {
            log::warn!("connection {}: {message}", self.token);
        }
        if !oneway {
            let payload = protocol::error_payload(code, message);
            let header = Header {
                kind: Kind::Error,
                call_id,
                flags: protocol::with_attempt(0, attempt),
                ..Header::new(Kind::Error)
            };
            protocol::push(&mut self.outbuf, &header, &payload);
        }
        if code == ErrorCode::Protocol {
            self.phase = Phase::Draining;
            self.inbuf = Vec::new();
        }
    }

    /// A framing or state violation: say so, stop reading, finish what is in flight, close.
    fn protocol_error(&mut self, message: &str) {
        log::warn!("connection {}: {message}", self.token);
        let payload = protocol::error_payload(ErrorCode::Protocol, message);
        protocol::push(&mut self.outbuf, &Header::new(Kind::Error), &payload);
        self.phase = Phase::Draining;
        self.inbuf = Vec::new();
    }

    /// The server is shutting down: tell the client (once).
    pub fn go_away(&mut self) {
        if matches!(self.phase, Phase::Ready { .. }) && !self.goaway_sent {
            protocol::push(&mut self.outbuf, &Header::new(Kind::GoAway), &[]);
            self.goaway_sent = true;
        }
    }

    fn next(&self) -> Next {
        if self.closing() && self.in_flight == 0 {
            Next::Close
        } else {
            Next::Continue
        }
    }

    /// When [`ServerSession::handle_timeout`] must next be called.
    pub fn next_timeout(&self, limits: &Limits) -> Instant {
        let mut at = match self.phase {
            Phase::AwaitHello => self.opened + limits.handshake_timeout,
            _ => self.last_active + limits.idle_timeout,
        };
        if let Some(since) = self.partial_since {
            at = at.min(since + limits.frame_timeout);
        }
        at
    }

    /// Closes a connection whose handshake, idle time or incomplete frame ran out of time.
    pub fn handle_timeout(&mut self, limits: &Limits, now: Instant) -> Next {
        let expired = match self.phase {
            Phase::AwaitHello => now >= self.opened + limits.handshake_timeout,
            _ if self.partial_since.is_some_and(|s| now >= s + limits.frame_timeout) => true,
            _ if self.in_flight > 0 => false,
            _ => now >= self.last_active + limits.idle_timeout,
        };
        if expired {
            log::debug!("connection {}: handshake, frame or idle timeout", self.token);
            self.phase = Phase::Draining;
            self.inbuf = Vec::new();
            self.partial_since = None;
            if self.in_flight == 0 {
                return Next::Close;
            }
        }
        self.next()
    }
}

/// The largest incomplete frame a connection may start while the memory budget is spent.
const BUFFER_WHEN_OVER_BUDGET: usize = 64 * 1024;

/// Grows `buf`, about to receive `more`, to exactly the size of the frame it holds the start
/// of, when the length prefix is known; otherwise to what it needs.
fn reserve_frame(buf: &mut Vec<u8>, more: &[u8]) {
    let need = buf.len() + more.len();
    let mut prefix = [0u8; 4];
    for (i, b) in buf.iter().chain(more).take(4).enumerate() {
        prefix[i] = *b;
    }
    let frame = if need >= 4 { 4 + u32::from_le_bytes(prefix) as usize } else { need };
    buf.reserve_exact(frame.max(need).saturating_sub(buf.len()));
}

/// Runs a handler unless its call was cancelled or expired while it waited; a panic is an
/// `Internal` failure, never a crashed thread; arguments that do not decode are refused as
/// not run.
pub(crate) fn execute(handler: &Handler, ctx: &Context, payload: &[u8]) -> Outcome {
    if ctx.is_cancelled() {
        return if Instant::now() >= ctx.deadline {
            Outcome::NotRun(
                ErrorCode::DeadlineExceeded,
                "deadline passed before the handler started".into(),
            )
        } else {
            Outcome::NotRun(ErrorCode::Cancelled, "cancelled before the handler started".into())
        };
    }
    match catch_unwind(AssertUnwindSafe(|| handler(ctx, payload))) {
        Ok(Ok(reply)) => Outcome::Reply(reply),
        Ok(Err(e)) if e.not_run => Outcome::NotRun(ErrorCode::InvalidArguments, e.message),
        Ok(Err(e)) => Outcome::Failed(e.message),
        Err(_) => Outcome::Failed("handler panicked".into()),
    }
}

/// The at-most-once decision for a finished call: an outcome that was produced (a reply, or
/// `Internal`) is recorded for duplicates; a call that never ran is recorded as refused for
/// the attempts seen, so a later attempt (a retry) may run it while a copy of a refused
/// attempt is refused again. Returns the reply and everyone waiting for it.
pub(crate) fn settle(
    records: &SharedRecords,
    call: &CallRef,
    outcome: Outcome,
) -> (StoredReply, Vec<Waiter>) {
    let mut store = records.of(call.client);
    match outcome {
        Outcome::Reply(payload) => {
            let reply = StoredReply { kind: Kind::Response, payload: payload.into() };
            let waiters = store.complete(call.client, call.call_id, reply.clone());
            (reply, waiters)
        }
        Outcome::Failed(message) => {
            let payload = protocol::error_payload(ErrorCode::Internal, &message);
            let reply = StoredReply { kind: Kind::Error, payload: payload.into() };
            let waiters = store.complete(call.client, call.call_id, reply.clone());
            (reply, waiters)
        }
        Outcome::NotRun(code, message) => {
            let payload = protocol::error_payload(code, &message);
            let reply = StoredReply { kind: Kind::Error, payload: payload.into() };
            let waiters = store.abandon(call.client, call.call_id, code);
            (reply, waiters)
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every decision of a server connection, deterministically: no sockets, no threads, time
    //! passed in.
    use std::collections::HashMap;

    use super::*;
    use crate::protocol::{Hello, FLAG_ONEWAY, FLAG_RETRY};
    use crate::service::HandlerError;

    const ECHO: u32 = 1;
    const SLOW: u32 = 2;
    const STRICT: u32 = 3;
    /// Registered, but the authorization hook refuses it.
    const DENIED: u32 = 13;

    /// The rest of a server: records, methods, and calls "running" until completed by hand.
    struct Fake {
        records: SharedRecords,
        methods: HashMap<u32, Method>,
        runs: usize,
        queued: Vec<CallRef>,
        delivered: Vec<(Waiter, StoredReply)>,
        shutting_down: bool,
        share: usize,
        over_budget: bool,
    }

    impl Fake {
        fn new() -> Self {
            let mut methods = HashMap::new();
            let echo: crate::service::Handler = Arc::new(|_, p: &[u8]| Ok(p.to_vec()));
            methods.insert(
                ECHO,
                Method {
                    run: crate::service::Run::Blocking(echo),
                    inline: true,
                    authorizer: None,
                    oneway: None,
                },
            );
            let slow: crate::service::Handler = Arc::new(|_, _: &[u8]| Ok(b"slow".to_vec()));
            methods.insert(
                SLOW,
                Method {
                    run: crate::service::Run::Blocking(slow),
                    inline: false,
                    authorizer: None,
                    oneway: Some(false),
                },
            );
            let strict: crate::service::Handler =
                Arc::new(|_, _: &[u8]| Err(HandlerError::invalid_arguments("bad args")));
            methods.insert(
                STRICT,
                Method {
                    run: crate::service::Run::Blocking(strict),
                    inline: true,
                    authorizer: None,
                    oneway: None,
                },
            );
            let denied: crate::service::Handler = Arc::new(|_, _: &[u8]| Ok(b"ran!".to_vec()));
            methods.insert(
                DENIED,
                Method {
                    run: crate::service::Run::Blocking(denied),
                    inline: true,
                    authorizer: None,
                    oneway: None,
                },
            );
            Fake {
                records: SharedRecords::new(4, 64, Duration::from_secs(60)),
                methods,
                runs: 0,
                queued: Vec::new(),
                delivered: Vec::new(),
                shutting_down: false,
                share: usize::MAX,
                over_budget: false,
            }
        }
    }

    impl Endpoint for Fake {
        fn authorize(&self, method_id: u32, _ctx: &Context) -> Result<(), String> {
            if method_id == DENIED {
                Err("method 13 is closed".into())
            } else {
                Ok(())
            }
        }

        fn records(&self) -> &SharedRecords {
            &self.records
        }
        fn incarnation(&self) -> u128 {
            77
        }
        fn method(&self, id: u32) -> Option<Method> {
            self.methods.get(&id).cloned()
        }
        fn shutting_down(&self) -> bool {
            self.shutting_down
        }
        fn over_budget(&self) -> bool {
            self.over_budget
        }
        fn queue_share(&self, _conn: usize, _own: usize) -> usize {
            self.share
        }
        fn dispatch(&mut self, d: Dispatch<'_>) -> Option<Outcome> {
            if let (true, crate::service::Run::Blocking(handler)) = (d.method.inline, &d.method.run)
            {
                let outcome = execute(handler, &d.ctx, d.payload);
                if !matches!(outcome, Outcome::NotRun(..)) {
                    self.runs += 1;
                }
                Some(outcome)
            } else {
                self.queued.push(d.call);
                None
            }
        }
        fn cancel(&mut self, _: u128, _: u64) {}
        fn deliver(&mut self, waiter: Waiter, reply: &StoredReply) {
            self.delivered.push((waiter, reply.clone()));
        }
    }

    fn limits() -> Limits {
        Limits {
            max_frame: 1 << 20,
            max_in_flight: 16,
            max_records: 64,
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(300),
            frame_timeout: Duration::from_secs(10),
        }
    }

    fn hello(client_id: u128, secret: u128) -> Vec<u8> {
        let mut out = Vec::new();
        let h = Hello { client_id, max_frame: 1 << 20, secret };
        protocol::push(&mut out, &Header::new(Kind::Hello), &h.encode());
        out
    }

    fn request(call_id: u64, ack: u64, method: u32, flags: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let h = Header { kind: Kind::Request, flags, call_id, ack, method, deadline_us: 5_000_000 };
        protocol::push(&mut out, &h, payload);
        out
    }

    /// Every frame the session wants written (and clears them).
    fn frames(s: &mut ServerSession) -> Vec<(Header, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Ok(Some((f, n))) = protocol::decode(&s.outbuf[at..], usize::MAX >> 1) {
            out.push((f.header, f.payload.to_vec()));
            at += n;
        }
        s.outbuf.clear();
        out
    }

    fn ready(ep: &mut Fake, client: u128, secret: u128, now: Instant) -> ServerSession {
        let mut s = ServerSession::new(7, now);
        assert_eq!(s.handle_input(ep, &limits(), &hello(client, secret), now), Next::Continue);
        let f = frames(&mut s);
        assert_eq!(f[0].0.kind, Kind::HelloAck);
        s
    }

    fn error_code(f: &(Header, Vec<u8>)) -> Option<ErrorCode> {
        assert_eq!(f.0.kind, Kind::Error);
        protocol::parse_error(&f.1).0
    }

    #[test]
    fn a_client_id_without_its_secret_reaches_only_records_of_its_own() {
        let now = Instant::now();
        let mut ep = Fake::new();
        // The attacker knows the victim's id, not its secret, and says Hello first: it is
        // served, under records of its own, and cannot squat the id.
        let mut attacker = ready(&mut ep, 5, 2222, now);
        attacker.handle_input(&mut ep, &limits(), &request(1, 1, ECHO, 0, b"squat"), now);
        assert_eq!(frames(&mut attacker)[0].1, b"squat");
        let mut victim = ready(&mut ep, 5, 1111, now);
        victim.handle_input(&mut ep, &limits(), &request(1, 1, ECHO, 0, b"mine"), now);
        assert_eq!(frames(&mut victim)[0].1, b"mine", "call id 1 ran for its owner");
        // A replay of call 1 reads the attacker's own record, never the victim's; an ack
        // far ahead frees only the attacker's records.
        attacker.handle_input(&mut ep, &limits(), &request(1, 1, ECHO, FLAG_RETRY, b"squat"), now);
        assert_eq!(frames(&mut attacker)[0].1, b"squat");
        attacker.handle_input(&mut ep, &limits(), &request(1 << 40, 1 << 40, ECHO, 0, b"a"), now);
        frames(&mut attacker);
        // The owner reconnects with its secret and gets its recorded reply.
        let mut again = ready(&mut ep, 5, 1111, now);
        again.handle_input(&mut ep, &limits(), &request(1, 1, ECHO, FLAG_RETRY, b"mine"), now);
        assert_eq!(frames(&mut again)[0].1, b"mine");
        assert_eq!(ep.runs, 3, "squat, mine, and the attacker's far call; no replay ran");
    }

    #[test]
    fn a_retry_with_other_arguments_is_a_protocol_error_not_a_replay() {
        let now = Instant::now();
        let mut ep = Fake::new();
        let mut s = ready(&mut ep, 5, 1, now);
        s.handle_input(&mut ep, &limits(), &request(1, 1, ECHO, 0, b"first"), now);
        assert_eq!(frames(&mut s)[0].1, b"first");
        let next =
            s.handle_input(&mut ep, &limits(), &request(1, 1, ECHO, FLAG_RETRY, b"other"), now);
        let f = frames(&mut s);
        assert_eq!((f[0].0.call_id, error_code(&f[0])), (1, Some(ErrorCode::Protocol)));
        assert_eq!(next, Next::Close);
        assert_eq!(ep.runs, 1);
    }

    #[test]
    fn under_mutual_tls_another_tenant_with_the_same_id_and_secret_is_apart() {
        let now = Instant::now();
        let mut ep = Fake::new();
        let tenant = |n: u8| {
            let cn = vec![("CN".to_owned(), format!("tenant-{n}"))];
            crate::tls::PeerIdentity::new(vec![cn], Vec::new(), Vec::new(), [n; 32])
        };
        let mut victim = ServerSession::new(7, now);
        victim.set_identity(tenant(1));
        victim.handle_input(&mut ep, &limits(), &hello(5, 1111), now);
        victim.handle_input(&mut ep, &limits(), &request(1, 1, SLOW, 0, b""), now);
        // Tenant 2 learned both the id and the secret: its call id 1 is a call of its own,
        // not a duplicate joining (or reading) tenant 1's.
        let mut other = ServerSession::new(8, now);
        other.set_identity(tenant(2));
        other.handle_input(&mut ep, &limits(), &hello(5, 1111), now);
        other.handle_input(&mut ep, &limits(), &request(1, 1, SLOW, FLAG_RETRY, b""), now);
        assert_eq!(ep.queued.len(), 2, "two calls, not one call and a duplicate");
        let (b, a) = (ep.queued.pop().unwrap(), ep.queued.pop().unwrap());
        assert_ne!(a.client, b.client);
        assert_eq!((a.client_id, b.client_id), (5, 5));
        victim.complete(&mut ep, a, Outcome::Reply(b"one".to_vec()));
        other.complete(&mut ep, b, Outcome::Reply(b"two".to_vec()));
        assert_eq!(frames(&mut victim).last().unwrap().1, b"one");
        assert_eq!(frames(&mut other).last().unwrap().1, b"two");
        assert!(ep.delivered.is_empty());
    }

    #[test]
    fn a_denied_call_is_refused_unrun_and_unrecorded() {
        let now = Instant::now();
        let mut ep = Fake::new();
        let mut s = ready(&mut ep, 5, 1, now);
        for flags in [protocol::with_attempt(0, 1), protocol::with_attempt(FLAG_RETRY, 2)] {
            s.handle_input(&mut ep, &limits(), &request(1, 1, DENIED, flags, b"x"), now);
            let f = frames(&mut s);
            assert_eq!(error_code(&f[0]), Some(ErrorCode::PermissionDenied));
            let message = String::from_utf8_lossy(&f[0].1[2..]).into_owned();
            assert!(message.contains("method 13 is closed"), "{message}");
        }
        assert_eq!(ep.runs, 0);
        s.handle_input(&mut ep, &limits(), &request(2, 1, ECHO, 0, b"ok"), now);
        assert_eq!(frames(&mut s)[0].1, b"ok", "the connection serves on");
    }

    #[test]
    fn undecodable_arguments_are_refused_unrun_and_unrecorded() {
        let now = Instant::now();
        let mut ep = Fake::new();
        let mut s = ready(&mut ep, 5, 1, now);
        s.handle_input(&mut ep, &limits(), &request(1, 1, STRICT, 0, b"?"), now);
        let f = frames(&mut s);
        assert_eq!(error_code(&f[0]), Some(ErrorCode::InvalidArguments));
        // No outcome is recorded: a retry (a later attempt) runs it.
        let key = records::record_key(5, 1, None);
        let fingerprint = Fingerprint { method: STRICT, digest: records::digest(b"?") };
        let retry = Waiter { connection: 7, call_id: 1, attempt: 2 };
        let begin = ep.records.of(key).begin(key, 1, 1, fingerprint, retry, now);
        assert_eq!(begin, Begin::Execute);
    }

    #[test]
    fn an_ack_above_the_call_id_and_call_id_zero_are_answered() {
        let now = Instant::now();
        let mut ep = Fake::new();
        let mut s = ready(&mut ep, 5, 1, now);
        s.handle_input(&mut ep, &limits(), &request(3, 1 << 62, ECHO, 0, b"x"), now);
        let f = frames(&mut s);
        assert_eq!((f[0].0.call_id, error_code(&f[0])), (3, Some(ErrorCode::Protocol)));
        let mut s = ready(&mut ep, 6, 1, now);
        s.handle_input(&mut ep, &limits(), &request(0, 0, ECHO, 0, b"x"), now);
        assert_eq!(error_code(&frames(&mut s)[0]), Some(ErrorCode::Protocol));
        assert_eq!(ep.runs, 0);
    }

    #[test]
    fn replies_echo_the_attempt_they_answer() {
        let now = Instant::now();
        let mut ep = Fake::new();
        let mut s = ready(&mut ep, 5, 1, now);
        let flags = protocol::with_attempt(FLAG_RETRY, 3);
        s.handle_input(&mut ep, &limits(), &request(1, 1, ECHO, flags, b"x"), now);
        assert_eq!(protocol::attempt_of(frames(&mut s)[0].0.flags), 3);
        // A duplicate of a running call on the same connection: one reply, for the latest.
        s.handle_input(
            &mut ep,
            &limits(),
            &request(2, 1, SLOW, protocol::with_attempt(0, 1), b""),
            now,
        );
        s.handle_input(
            &mut ep,
            &limits(),
            &request(2, 1, SLOW, protocol::with_attempt(FLAG_RETRY, 2), b""),
            now,
        );
        let call = ep.queued.pop().unwrap();
        s.complete(&mut ep, call, Outcome::Reply(b"slow".to_vec()));
        let f = frames(&mut s);
        assert_eq!(f.len(), 1);
        assert_eq!(protocol::attempt_of(f[0].0.flags), 2);
    }

    #[test]
    fn a_partial_frame_must_complete_in_time() {
        let t0 = Instant::now();
        let mut ep = Fake::new();
        let mut s = ready(&mut ep, 5, 1, t0);
        let bytes = request(1, 1, ECHO, 0, b"trickle");
        // One byte a second refreshes the idle timer, but not the frame's.
        for (i, b) in bytes.iter().take(9).enumerate() {
            let now = t0 + Duration::from_secs(i as u64);
            s.handle_input(&mut ep, &limits(), std::slice::from_ref(b), now);
        }
        assert_eq!(s.next_timeout(&limits()), t0 + limits().frame_timeout);
        assert_eq!(s.handle_timeout(&limits(), t0 + Duration::from_secs(9)), Next::Continue);
        assert_eq!(s.handle_timeout(&limits(), t0 + Duration::from_secs(10)), Next::Close);
    }

    #[test]
    fn goaway_and_protocol_errors_still_deliver_the_replies_of_calls_in_flight() {
        let now = Instant::now();
        let mut ep = Fake::new();
        let mut s = ready(&mut ep, 5, 1, now);
        // A valid call, then the client's GoAway: the call's reply still goes out.
        let mut input = request(1, 1, SLOW, 0, b"");
        protocol::push(&mut input, &Header::new(Kind::GoAway), &[]);
        assert_eq!(s.handle_input(&mut ep, &limits(), &input, now), Next::Continue);
        let call = ep.queued.pop().unwrap();
        s.complete(&mut ep, call, Outcome::Reply(b"slow".to_vec()));
        assert_eq!(frames(&mut s)[0].1, b"slow");
        assert!(s.closing() && s.in_flight == 0);
        // A valid call followed by garbage in the same read.
        let mut s = ready(&mut ep, 6, 1, now);
        let mut input = request(1, 1, SLOW, 0, b"");
        input.extend_from_slice(&[0xff; 40]);
        assert_eq!(s.handle_input(&mut ep, &limits(), &input, now), Next::Continue);
        let call = ep.queued.pop().unwrap();
        s.complete(&mut ep, call, Outcome::Reply(b"slow".to_vec()));
        let f = frames(&mut s);
        assert_eq!(error_code(&f[0]), Some(ErrorCode::Protocol));
        assert_eq!((f[1].0.kind, f[1].1.as_slice()), (Kind::Response, &b"slow"[..]));
    }

    #[test]
    fn oneway_refusals_are_silent_and_duplicates_on_other_connections_are_delivered() {
        let now = Instant::now();
        let mut ep = Fake::new();
        ep.shutting_down = true;
        let mut s = ready(&mut ep, 5, 1, now);
        assert_eq!(frames(&mut s).len(), 0, "GoAway was sent with the HelloAck");
        s.handle_input(&mut ep, &limits(), &request(1, 1, ECHO, FLAG_ONEWAY, b""), now);
        assert!(frames(&mut s).is_empty());
        ep.shutting_down = false;
        let mut a = ready(&mut ep, 9, 1, now);
        a.handle_input(&mut ep, &limits(), &request(1, 1, SLOW, 0, b""), now);
        let mut b = ServerSession::new(8, now);
        b.handle_input(&mut ep, &limits(), &hello(9, 1), now);
        frames(&mut b);
        b.handle_input(&mut ep, &limits(), &request(1, 1, SLOW, FLAG_RETRY, b""), now);
        let call = ep.queued.pop().unwrap();
        a.complete(&mut ep, call, Outcome::Reply(b"once".to_vec()));
        assert_eq!(frames(&mut a)[0].1, b"once");
        assert_eq!(ep.delivered.len(), 1, "the duplicate on connection 8 gets it too");
        assert_eq!(ep.delivered[0].0.connection, 8);
    }

    fn hello_with_frame(client_id: u128, max_frame: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let h = Hello { client_id, max_frame, secret: 1 };
        protocol::push(&mut out, &Header::new(Kind::Hello), &h.encode());
        out
    }

    #[test]
    fn the_clients_max_frame_is_honoured_and_must_leave_room_for_errors() {
        let now = Instant::now();
        let mut ep = Fake::new();
        for tiny in [0, 30, 1023] {
            let mut s = ServerSession::new(7, now);
            let next = s.handle_input(&mut ep, &limits(), &hello_with_frame(5, tiny), now);
            assert_eq!(next, Next::Close, "max_frame {tiny}");
            assert_eq!(error_code(&frames(&mut s)[0]), Some(ErrorCode::Protocol));
        }
        let mut s = ServerSession::new(7, now);
        s.handle_input(&mut ep, &limits(), &hello_with_frame(5, 1024), now);
        frames(&mut s);
        let big = vec![7u8; 2000];
        s.handle_input(&mut ep, &limits(), &request(1, 1, ECHO, 0, &big), now);
        let f = frames(&mut s);
        assert_eq!(error_code(&f[0]), Some(ErrorCode::Internal), "the handler ran");
        let message = protocol::parse_error(&f[0].1).1;
        assert!(message.contains("reply of 2000 bytes") && message.contains("1024"), "{message}");
        assert!(f[0].1.len() + protocol::HEADER_LEN <= 1024);
        // A retry replays the record, cut to the client's size again.
        s.handle_input(&mut ep, &limits(), &request(1, 1, ECHO, FLAG_RETRY, &big), now);
        assert_eq!(error_code(&frames(&mut s)[0]), Some(ErrorCode::Internal));
        s.handle_input(&mut ep, &limits(), &request(2, 2, ECHO, 0, b"small"), now);
        assert_eq!(frames(&mut s)[0].1, b"small");
        assert_eq!(ep.runs, 2);
    }

    fn request_with_metadata(call_id: u64, entries: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let h = Header {
            kind: Kind::Request,
            flags: 0,
            call_id,
            ack: call_id,
            method: ECHO,
            deadline_us: 5_000_000,
        };
        let mark = protocol::begin(&mut out, &h);
        for (k, v) in entries {
            out.push(k.len() as u8);
            out.extend_from_slice(k);
            out.extend_from_slice(&(v.len() as u16).to_le_bytes());
            out.extend_from_slice(v);
        }
        protocol::end_metadata(&mut out, mark);
        out.extend_from_slice(b"p");
        protocol::finish(&mut out, mark);
        out
    }

    #[test]
    fn bad_metadata_keys_are_refused_unrun_and_the_connection_serves_on() {
        let now = Instant::now();
        let mut ep = Fake::new();
        let mut s = ready(&mut ep, 5, 1, now);
        let bad: [&[(&[u8], &[u8])]; 5] = [
            &[(b"", b"v")],
            &[(b"\xff", b"v")],
            &[(b"has space", b"v")],
            &[(b"ferry-x", b"v")],
            &[(b"tag", b"1"), (b"tag", b"2")],
        ];
        for (i, entries) in bad.iter().enumerate() {
            let id = i as u64 + 1;
            s.handle_input(&mut ep, &limits(), &request_with_metadata(id, entries), now);
            let f = frames(&mut s);
            assert_eq!(error_code(&f[0]), Some(ErrorCode::InvalidArguments), "{entries:?}");
            assert!(protocol::parse_error(&f[0].1).1.contains("did not run"));
        }
        assert_eq!(ep.runs, 0);
        let good: &[(&[u8], &[u8])] = &[(b"tag", b"1"), (b"x-trace", b"2")];
        s.handle_input(&mut ep, &limits(), &request_with_metadata(9, good), now);
        assert_eq!(frames(&mut s)[0].1, b"p");
    }

    #[test]
    fn after_the_clients_goaway_cancels_are_handled_and_new_calls_refused() {
        let now = Instant::now();
        let mut ep = Fake::new();
        let mut s = ready(&mut ep, 5, 1, now);
        let mut input = request(1, 1, SLOW, 0, b"");
        protocol::push(&mut input, &Header::new(Kind::GoAway), &[]);
        input.extend_from_slice(&request(2, 1, ECHO, 0, b"late"));
        let mut ping = Header::new(Kind::Ping);
        ping.call_id = 0;
        protocol::push(&mut input, &ping, b"?");
        assert_eq!(s.handle_input(&mut ep, &limits(), &input, now), Next::Continue);
        let f = frames(&mut s);
        assert_eq!((f[0].0.call_id, error_code(&f[0])), (2, Some(ErrorCode::Protocol)));
        assert!(protocol::parse_error(&f[0].1).1.contains("after the client's GoAway"));
        assert_eq!(ep.runs, 0, "the late call did not run");
        // The call in flight still gets its reply; then the connection closes.
        let call = ep.queued.pop().unwrap();
        s.complete(&mut ep, call, Outcome::Reply(b"slow".to_vec()));
        assert_eq!(frames(&mut s)[0].1, b"slow");
        assert!(s.closing() && s.in_flight == 0);
    }

    #[test]
    fn a_connection_over_its_share_of_the_queue_is_refused_not_its_neighbours() {
        let now = Instant::now();
        let mut ep = Fake::new();
        ep.share = 3;
        let mut flooder = ready(&mut ep, 5, 1, now);
        for id in 1..=5 {
            flooder.handle_input(&mut ep, &limits(), &request(id, 1, SLOW, 0, b""), now);
        }
        let f = frames(&mut flooder);
        assert_eq!(ep.queued.len(), 3, "its share");
        assert_eq!(f.len(), 2);
        for refusal in &f {
            assert_eq!(error_code(refusal), Some(ErrorCode::Overloaded));
            assert!(protocol::parse_error(&refusal.1).1.contains("its share"));
        }
        // A neighbour holding nothing gets in.
        let mut other = ready(&mut ep, 6, 1, now);
        other.handle_input(&mut ep, &limits(), &request(1, 1, SLOW, 0, b""), now);
        assert!(frames(&mut other).is_empty());
        assert_eq!(ep.queued.len(), 4);
    }

    #[test]
    fn a_stalled_large_frame_holds_its_own_size_not_more() {
        let now = Instant::now();
        let mut ep = Fake::new();
        let mut s = ready(&mut ep, 5, 1, now);
        let big = request(1, 1, ECHO, 0, &vec![1u8; 300_000]);
        // Everything but the last byte, in 1000-byte reads.
        for chunk in big[..big.len() - 1].chunks(1000) {
            s.handle_input(&mut ep, &limits(), chunk, now);
        }
        assert_eq!(s.input_held(), big.len(), "one frame's bytes, not a doubled Vec");
        s.handle_input(&mut ep, &limits(), &big[big.len() - 1..], now);
        assert_eq!(frames(&mut s)[0].1.len(), 300_000);
        assert_eq!(s.input_held(), 0, "nothing held once the frame is whole");
        // Over the budget, a small frame may still trickle in (and is refused as a new
        // call); a large one closes its connection instead of being held.
        ep.over_budget = true;
        let small = request(2, 2, ECHO, 0, b"small");
        s.handle_input(&mut ep, &limits(), &small[..10], now);
        assert_eq!(s.handle_input(&mut ep, &limits(), &small[10..], now), Next::Continue);
        assert_eq!(error_code(&frames(&mut s)[0]), Some(ErrorCode::Overloaded));
        assert_eq!(s.handle_input(&mut ep, &limits(), &big[..70_000], now), Next::Close);
        let f = frames(&mut s);
        assert_eq!(error_code(&f[0]), Some(ErrorCode::Protocol));
        assert!(protocol::parse_error(&f[0].1).1.contains("memory budget"));
        assert_eq!(s.input_held(), 0);
    }

    #[test]
    fn a_oneway_flag_that_contradicts_the_idl_is_refused_unrun() {
        let now = Instant::now();
        let mut ep = Fake::new();
        let mut s = ready(&mut ep, 5, 1, now);
        // SLOW is declared two-way: a ONEWAY request for it does not run (and, oneway,
        // gets no reply).
        s.handle_input(&mut ep, &limits(), &request(1, 1, SLOW, FLAG_ONEWAY, b""), now);
        assert!(ep.queued.is_empty() && frames(&mut s).is_empty());
        let mut oneway = Fake::new();
        oneway.methods.get_mut(&SLOW).unwrap().oneway = Some(true);
        let mut s = ready(&mut oneway, 5, 1, now);
        s.handle_input(&mut oneway, &limits(), &request(1, 1, SLOW, 0, b""), now);
        let f = frames(&mut s);
        assert_eq!(error_code(&f[0]), Some(ErrorCode::InvalidArguments));
        assert!(protocol::parse_error(&f[0].1).1.contains("is oneway in the server's IDL"));
        assert!(oneway.queued.is_empty());
        // ECHO was never declared: either is accepted.
        s.handle_input(&mut oneway, &limits(), &request(2, 1, ECHO, FLAG_ONEWAY, b"x"), now);
        assert_eq!(oneway.runs, 1);
    }
}
