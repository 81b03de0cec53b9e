//! The protocol of a client's connection, without I/O: calls, bytes and time in; bytes to
//! write, finished calls, connect requests and timers out. Every decision the client makes
//! is made here: call ids and acknowledgements, the handshake, which attempt an answer
//! belongs to, retries of refused calls, what a lost connection or a new server incarnation
//! means for each call (re-send, `OutcomeUnknown`, fail fast), deadlines, keepalive, and
//! local refusals (a request larger than the server accepts). The I/O thread in
//! `client.rs` owns the socket and the poll and only moves bytes.
//!
//! TLS (a later issue) sits between the socket and [`ClientSession::handle_input`]; several
//! endpoints become several sessions under one driver.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::call::{CallError, ClientConfig, RetryPolicy};
use crate::protocol::{self, ErrorCode, Header, Hello, HelloAck, Kind, ProtocolError};
use crate::timers::Timers;

/// A call handed to the session. `T` is the driver's token for delivering the result.
#[derive(Debug)]
pub(crate) struct NewCall<T> {
    pub call_id: u64,
    pub method: u32,
    pub flags: u16,
    pub metadata: Vec<u8>,
    pub payload: Vec<u8>,
    pub deadline: Instant,
    /// Wait for a connection instead of failing fast when none can be made.
    pub wait_for_ready: bool,
    /// Overrides the client's retry policy for this call.
    pub retry: Option<RetryPolicy>,
    pub token: T,
}

/// A call that ended: hand `result` to the caller behind `token`.
#[derive(Debug)]
pub(crate) struct Finished<T> {
    pub token: T,
    pub method: u32,
    pub started: Instant,
    pub result: Result<Vec<u8>, CallError>,
    /// Requests written for it: 0 if it was never sent, more after re-sends.
    pub attempts: u32,
}

#[derive(Debug)]
struct Pending<T> {
    call: NewCall<T>,
    started: Instant,
    attempts: u32,
    /// The server incarnation it was last sent to; `None` if not on the wire.
    sent_to: Option<u128>,
    /// Some attempt may have run: it was on the wire when its connection broke. From then
    /// on a refusal ("did not run") speaks only for the latest attempt, so the call's
    /// verdict cannot be "did not run" any more.
    maybe_ran: bool,
    /// In flight on a connection the server is draining (`GoAway`): its answer comes there,
    /// while new calls go to the next connection.
    on_retiring: bool,
    /// Holds one of the current connection's call slots (`ClientSession::on_wire`).
    holds_slot: bool,
}

/// A connection the server said `GoAway` on, kept until its calls in flight are answered
/// while new calls use a new connection.
#[derive(Debug)]
pub(crate) struct Retiring {
    inbuf: Vec<u8>,
    /// Bytes for the retiring connection (cancels, pongs, requests written before GoAway).
    pub outbuf: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Deadline(u64),
    Retry(u64),
    Reconnect,
    ConnectTimeout(u64),
    Keepalive,
}

/// The connection as the session sees it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Link {
    Down {
        last_error: String,
    },
    /// The driver is connecting (attempt number).
    Connecting(u64),
    Handshaking,
    Ready {
        incarnation: u128,
        draining: bool,
    },
}

#[derive(Debug)]
pub(crate) struct ClientSession<T> {
    client_id: u128,
    secret: u128,
    config: ClientConfig,
    pub link: Link,
    connect_attempts: u64,
    reconnect_delay: Duration,
    reconnect_scheduled: bool,
    /// The driver should start a TCP connection.
    connect_wanted: bool,
    /// The last incarnation a handshake reported.
    incarnation: Option<u128>,
    pending: BTreeMap<u64, Pending<T>>,
    /// Calls to put on the wire once a connection is ready, in order.
    unsent: VecDeque<u64>,
    timers: Timers<Timer>,
    inbuf: Vec<u8>,
    /// Bytes to write.
    pub outbuf: Vec<u8>,
    finished: Vec<Finished<T>>,
    /// The server's frame limit (its `HelloAck`).
    server_max_frame: usize,
    /// Calls the server takes in flight on one connection (its `HelloAck`): calls beyond it
    /// wait here, in `unsent`, instead of being sent to be refused.
    server_max_in_flight: usize,
    /// Calls on the current connection awaiting their answer (each `holds_slot`).
    on_wire: usize,
    last_received: Instant,
    ping_sent: Option<Instant>,
    keepalive_armed: bool,
    /// The connection the server is draining, while its calls in flight finish.
    pub retiring: Option<Retiring>,
    /// The server said `GoAway` in the input being handled: retire the connection after it.
    goaway_seen: bool,
    /// Calls finished since the last `ferry-ack` ranges went out.
    finished_since_ranges: usize,
    /// Send `ferry-ack` ranges after this many calls finished: a quarter of the records the
    /// server keeps per client (its `HelloAck`), at most `ACK_RANGES_EVERY`.
    ranges_every: usize,
}

impl<T> ClientSession<T> {
    pub fn new(client_id: u128, secret: u128, config: ClientConfig, now: Instant) -> Self {
        ClientSession {
            client_id,
            secret,
            reconnect_delay: config.reconnect_initial,
            config,
            link: Link::Down { last_error: "not connected yet".into() },
            connect_attempts: 0,
            reconnect_scheduled: false,
            connect_wanted: true,
            incarnation: None,
            pending: BTreeMap::new(),
            unsent: VecDeque::new(),
            timers: Timers::default(),
            inbuf: Vec::new(),
            outbuf: Vec::new(),
            finished: Vec::new(),
            server_max_frame: usize::MAX,
            server_max_in_flight: usize::MAX,
            on_wire: 0,
            last_received: now,
            ping_sent: None,
            keepalive_armed: false,
            retiring: None,
            goaway_seen: false,
            finished_since_ranges: 0,
            ranges_every: ACK_RANGES_EVERY,
        }
    }

    // ---- what the driver asks

    /// Calls that ended since the last call.
    pub fn take_finished(&mut self) -> std::vec::Drain<'_, Finished<T>> {
        self.finished.drain(..)
    }

    /// Whether the driver should start connecting now; it answers with
    /// [`ClientSession::connecting`] or [`ClientSession::connection_lost`].
    pub fn take_connect_request(&mut self) -> bool {
        std::mem::take(&mut self.connect_wanted)
    }

    /// When [`ClientSession::handle_timeout`] must next run.
    pub fn next_timeout(&self, now: Instant, max: Duration) -> Duration {
        self.timers.timeout(now, max)
    }

    // ---- events from the driver

    /// A call from the caller; call ids arrive in increasing order.
    pub fn add_call(&mut self, call: NewCall<T>, now: Instant) {
        if now >= call.deadline {
            let (method, token) = (call.method, call.token);
            self.finished.push(Finished {
                token,
                method,
                started: now,
                result: Err(CallError::DeadlineExceeded),
                attempts: 0,
            });
            return;
        }
        let call_id = call.call_id;
        debug_assert!(
            self.pending.last_key_value().is_none_or(|(last, _)| *last < call_id),
            "calls must reach the session in id order (the ack is the lowest pending id)"
        );
        self.timers.add(call.deadline, Timer::Deadline(call_id));
        let pending = Pending {
            call,
            started: now,
            attempts: 0,
            sent_to: None,
            maybe_ran: false,
            on_retiring: false,
            holds_slot: false,
        };
        self.pending.insert(call_id, pending);
        self.arm_keepalive(now);
        self.send_or_queue(call_id, now);
    }

    /// The caller cancelled: end the call, and tell the server if it has it.
    pub fn cancel(&mut self, call_id: u64) {
        if let Some(p) = self.pending.remove(&call_id) {
            self.tell_cancelled(&p);
            self.finish(p, Err(CallError::Cancelled));
        }
    }

    /// Sends `Cancel` for a call on the connection that carries it, if any does.
    fn tell_cancelled(&mut self, p: &Pending<T>) {
        let call_id = p.call.call_id;
        if p.on_retiring {
            if let Some(r) = self.retiring.as_mut() {
                let h = Header { kind: Kind::Cancel, call_id, ..Header::new(Kind::Cancel) };
                protocol::push(&mut r.outbuf, &h, &[]);
            }
        } else if p.sent_to.is_some() && matches!(self.link, Link::Ready { .. }) {
            self.push_cancel(call_id);
        }
    }

    /// The client is going away: cancel everything.
    pub fn close(&mut self) {
        let ids: Vec<u64> = self.pending.keys().copied().collect();
        for id in ids {
            self.cancel(id);
        }
    }

    /// The driver started a TCP connection (attempt `n`).
    pub fn connecting(&mut self, now: Instant) {
        self.connect_attempts += 1;
        let attempt = self.connect_attempts;
        self.timers.add(now + self.config.connect_timeout, Timer::ConnectTimeout(attempt));
        self.link = Link::Connecting(attempt);
    }

    /// The TCP connection is up: say hello.
    pub fn connected(&mut self, now: Instant) {
        let hello = Hello {
            client_id: self.client_id,
            max_frame: u32::try_from(self.config.max_frame).unwrap_or(u32::MAX),
            secret: self.secret,
        };
        protocol::push(&mut self.outbuf, &Header::new(Kind::Hello), &hello.encode());
        self.link = Link::Handshaking;
        self.last_received = now;
    }

    /// The connection failed or broke (`connected` is whether it ever came up). Calls on
    /// the wire stay pending (the next handshake decides their fate); when no connection
    /// could be made at all, calls fail fast unless they wait for ready.
    pub fn connection_lost(&mut self, why: String, now: Instant) {
        self.lose(why, false, now)
    }

    /// The connection was refused at the handshake in a way another try will not change
    /// (a certificate not trusted, TLS on one side only): calls fail at once as when no
    /// connection can be made, rather than at their deadlines.
    pub fn handshake_failed(&mut self, why: String, now: Instant) {
        self.lose(why, true, now)
    }

    fn lose(&mut self, why: String, refused: bool, now: Instant) {
        log::debug!("connection lost: {why}");
        let never_up = refused || matches!(self.link, Link::Connecting(_) | Link::Down { .. });
        self.link = Link::Down { last_error: why.clone() };
        self.inbuf.clear();
        self.outbuf.clear();
        self.ping_sent = None;
        // Calls on a retiring connection are not on this one: their answers still come.
        for p in self.pending.values_mut().filter(|p| !p.on_retiring) {
            if p.sent_to.is_some() {
                p.maybe_ran = true;
            }
            p.holds_slot = false;
        }
        self.on_wire = 0;
        if never_up {
            // Nothing listens there: say so now rather than at each call's deadline.
            let failing: Vec<u64> = self
                .pending
                .iter()
                .filter(|(_, p)| !p.call.wait_for_ready && !p.on_retiring)
                .map(|(id, _)| *id)
                .collect();
            for id in failing {
                if let Some(p) = self.pending.remove(&id) {
                    let result = if p.maybe_ran {
                        Err(CallError::OutcomeUnknown(format!(
                            "an attempt was on the wire when its connection broke, and no new connection could be made ({why})"
                        )))
                    } else {
                        Err(CallError::Unavailable(format!("{why}; the call was not sent")))
                    };
                    self.finish(p, result);
                }
            }
            self.unsent.retain(|id| self.pending.contains_key(id));
        }
        if !self.pending.is_empty() && !self.reconnect_scheduled {
            self.reconnect_scheduled = true;
            self.timers.add(now + jitter(self.reconnect_delay), Timer::Reconnect);
            self.reconnect_delay = (self.reconnect_delay * 2).min(self.config.reconnect_max);
        }
    }

    /// Bytes from the server. `Err` means the connection must close (then call
    /// [`ClientSession::connection_lost`]).
    pub fn handle_input(&mut self, read: &[u8], now: Instant) -> Result<(), ProtocolError> {
        if read.is_empty() {
            return Ok(());
        }
        self.last_received = now;
        self.ping_sent = None;
        if self.inbuf.is_empty() {
            // The usual case: frames straight from the read buffer, no copy; only an
            // incomplete tail is kept.
            let used = self.handle_frames(read, now)?;
            self.inbuf.extend_from_slice(&read[used..]);
        } else {
            let mut input = std::mem::take(&mut self.inbuf);
            input.extend_from_slice(read);
            let used = self.handle_frames(&input, now)?;
            input.drain(..used);
            self.inbuf = input;
        }
        if std::mem::take(&mut self.goaway_seen) {
            self.retire(now);
        }
        self.send_unsent(now);
        Ok(())
    }

    /// The server is draining this connection: calls in flight stay on it (their answers
    /// come there) and everything else goes to a new connection, opened now — a caller must
    /// not wait for the old one to close. The driver moves the socket aside when it sees
    /// [`ClientSession::retiring`] appear, and reads what follows on it with
    /// [`ClientSession::handle_retiring_input`].
    fn retire(&mut self, now: Instant) {
        if self.retiring.is_some() {
            return; // one retiring connection at a time; this one drains in place
        }
        let in_flight: Vec<u64> =
            self.pending.iter().filter(|(_, p)| p.sent_to.is_some()).map(|(id, _)| *id).collect();
        if in_flight.is_empty() {
            // Nothing to wait for: let it go, and connect again if calls are waiting.
            self.lose("the server is draining this connection (GoAway)".into(), false, now);
            self.connect_wanted = !self.pending.is_empty();
            return;
        }
        for id in in_flight {
            if let Some(p) = self.pending.get_mut(&id) {
                p.on_retiring = true;
                p.holds_slot = false;
            }
        }
        self.on_wire = 0;
        self.retiring = Some(Retiring {
            inbuf: std::mem::take(&mut self.inbuf),
            outbuf: std::mem::take(&mut self.outbuf),
        });
        self.link = Link::Down { last_error: "the server is draining the connection".into() };
        self.ping_sent = None;
        self.connect_wanted = true;
        self.reconnect_delay = self.config.reconnect_initial;
    }

    /// Bytes from the retiring connection.
    pub fn handle_retiring_input(
        &mut self,
        read: &[u8],
        now: Instant,
    ) -> Result<(), ProtocolError> {
        let Some(r) = self.retiring.as_mut() else { return Ok(()) };
        let mut input = std::mem::take(&mut r.inbuf);
        input.extend_from_slice(read);
        let mut used = 0;
        let result = loop {
            match protocol::decode(&input[used..], self.config.max_frame) {
                Ok(Some((frame, n))) => {
                    used += n;
                    let h = frame.header;
                    match h.kind {
                        Kind::Response | Kind::Error if h.call_id != 0 => {
                            self.handle_frame(h, frame.payload, now)?
                        }
                        Kind::Ping => {
                            if let Some(r) = self.retiring.as_mut() {
                                protocol::push(
                                    &mut r.outbuf,
                                    &Header { kind: Kind::Pong, ..h },
                                    frame.payload,
                                );
                            }
                        }
                        Kind::Pong | Kind::GoAway | Kind::Error => {}
                        kind => {
                            break Err(ProtocolError::Unexpected {
                                kind,
                                state: "on a draining connection",
                            })
                        }
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        input.drain(..used);
        if let Some(r) = self.retiring.as_mut() {
            r.inbuf = input;
        }
        result
    }

    /// The retiring connection closed (the server finished draining, or it broke): calls
    /// still on it are settled as for any lost connection, against the current one.
    pub fn retiring_lost(&mut self, now: Instant) {
        self.retiring = None;
        let orphans: Vec<u64> =
            self.pending.iter().filter(|(_, p)| p.on_retiring).map(|(id, _)| *id).collect();
        for id in &orphans {
            if let Some(p) = self.pending.get_mut(id) {
                p.on_retiring = false;
                p.maybe_ran = true;
            }
        }
        if let Link::Ready { incarnation, .. } = self.link {
            for id in orphans {
                self.settle_in_doubt(id, incarnation, now);
            }
        }
    }

    /// Handles the complete frames at the start of `input`; returns the bytes they took.
    fn handle_frames(&mut self, input: &[u8], now: Instant) -> Result<usize, ProtocolError> {
        let mut used = 0;
        while let Some((frame, n)) = protocol::decode(&input[used..], self.config.max_frame)? {
            used += n;
            self.handle_frame(frame.header, frame.payload, now)?;
        }
        Ok(used)
    }

    fn handle_frame(
        &mut self,
        h: Header,
        payload: &[u8],
        now: Instant,
    ) -> Result<(), ProtocolError> {
        match h.kind {
            Kind::HelloAck => {
                if self.link != Link::Handshaking {
                    return Err(ProtocolError::Unexpected {
                        kind: Kind::HelloAck,
                        state: "outside the handshake",
                    });
                }
                let ack = HelloAck::decode(payload)?;
                self.link = Link::Ready { incarnation: ack.incarnation, draining: false };
                self.server_max_frame = ack.max_frame as usize;
                self.server_max_in_flight = (ack.max_in_flight as usize).max(1);
                self.ranges_every = (ack.max_records as usize / 4).clamp(1, ACK_RANGES_EVERY);
                self.reconnect_delay = self.config.reconnect_initial;
                self.on_ready(ack.incarnation, now);
            }
            Kind::Response => {
                if let Some(p) = self.pending.remove(&h.call_id) {
                    self.finish(p, Ok(payload.to_vec()));
                }
            }
            Kind::Error if h.call_id == 0 => {
                let (_, message) = protocol::parse_error(payload);
                log::warn!("server reported a connection error: {message}");
            }
            Kind::Error => self.on_error(h.call_id, protocol::attempt_of(h.flags), payload, now),
            Kind::Ping => {
                protocol::push(&mut self.outbuf, &Header { kind: Kind::Pong, ..h }, payload);
            }
            Kind::Pong => {}
            Kind::GoAway => {
                if let Link::Ready { draining, .. } = &mut self.link {
                    *draining = true;
                    self.goaway_seen = true;
                }
            }
            kind => return Err(ProtocolError::Unexpected { kind, state: "from a server" }),
        }
        Ok(())
    }

    /// Timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(t) = self.timers.pop_due(now) {
            match t {
                Timer::Deadline(id) => self.deadline(id, now),
                Timer::Retry(id) => {
                    if self.pending.contains_key(&id) {
                        self.send_or_queue(id, now);
                    }
                }
                Timer::Reconnect => {
                    self.reconnect_scheduled = false;
                    if matches!(self.link, Link::Down { .. }) && !self.pending.is_empty() {
                        self.connect_wanted = true;
                    }
                }
                Timer::ConnectTimeout(attempt) => {
                    // The connect timeout covers the Hello/HelloAck exchange too: a host that
                    // accepts but never answers must not hold calls until their deadlines.
                    match self.link {
                        Link::Connecting(n) if n == attempt => {
                            self.connection_lost("connect timed out".into(), now)
                        }
                        Link::Handshaking if self.connect_attempts == attempt => {
                            let why = format!(
                                "the server accepted the connection but did not answer the handshake within {} ms",
                                self.config.connect_timeout.as_millis()
                            );
                            self.handshake_failed(why, now);
                        }
                        _ => {}
                    }
                }
                Timer::Keepalive => {
                    self.keepalive_armed = false;
                    self.keepalive(now);
                }
            }
        }
        // Calls that ended (deadline, cancel) freed slots for calls waiting here.
        self.send_unsent(now);
    }

    // ---- decisions

    fn finish(&mut self, p: Pending<T>, result: Result<Vec<u8>, CallError>) {
        self.finished_since_ranges += 1;
        if p.holds_slot {
            self.on_wire -= 1;
        }
        let Pending { call, started, attempts, .. } = p;
        let (token, method) = (call.token, call.method);
        self.finished.push(Finished { token, method, started, result, attempts });
    }

    fn push_cancel(&mut self, call_id: u64) {
        let h = Header { kind: Kind::Cancel, call_id, ..Header::new(Kind::Cancel) };
        protocol::push(&mut self.outbuf, &h, &[]);
    }

    fn send_or_queue(&mut self, call_id: u64, now: Instant) {
        match self.link {
            Link::Ready { incarnation, draining: false }
                if self.on_wire < self.server_max_in_flight =>
            {
                self.write_request(call_id, incarnation, now)
            }
            Link::Down { .. } => {
                self.unsent.push_back(call_id);
                if !self.reconnect_scheduled {
                    self.connect_wanted = true;
                }
            }
            _ => self.unsent.push_back(call_id),
        }
    }

    fn write_request(&mut self, call_id: u64, incarnation: u128, now: Instant) {
        let ack = self.pending.keys().next().copied().unwrap_or(call_id);
        let limit = self.server_max_frame;
        let mut ranges = if self.finished_since_ranges >= self.ranges_every {
            // A call pending long holds `ack` down; acknowledge what finished after it by
            // range, so the server frees those records (spec § 5, `ferry-ack`).
            finished_ranges(&self.pending)
        } else {
            Vec::new()
        };
        let Some(p) = self.pending.get_mut(&call_id) else { return };
        let size = protocol::HEADER_LEN - 4 + p.call.metadata.len() + p.call.payload.len();
        // The ranges ride in the metadata block (at most 65 535 bytes) if the frame has room.
        let entry = 1 + protocol::metadata::ACK.len() + 2;
        let room = (u16::MAX as usize)
            .saturating_sub(p.call.metadata.len())
            .min(limit.saturating_sub(size))
            .saturating_sub(entry);
        ranges.truncate(room / 16);
        if size > limit {
            // The server would close the connection on it (and every other call with it).
            if let Some(p) = self.pending.remove(&call_id) {
                let error = if p.maybe_ran {
                    // "Not sent, so not run" speaks for this attempt only.
                    CallError::OutcomeUnknown(format!(
                        "an earlier attempt may have run; the re-send of {size} bytes exceeds the server's new limit of {limit} and was not sent"
                    ))
                } else {
                    CallError::TooLarge { size, limit }
                };
                self.finish(p, Err(error));
            }
            return;
        }
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
        if self.finished_since_ranges >= self.ranges_every {
            self.finished_since_ranges = 0;
            if !ranges.is_empty() {
                protocol::metadata::push_ack(&mut self.outbuf, &ranges);
            }
        }
        protocol::end_metadata(&mut self.outbuf, mark);
        self.outbuf.extend_from_slice(&p.call.payload);
        protocol::finish(&mut self.outbuf, mark);
        p.attempts += 1;
        p.sent_to = Some(incarnation);
        if !p.holds_slot {
            p.holds_slot = true;
            self.on_wire += 1;
        }
        if p.call.flags & protocol::FLAG_ONEWAY != 0 {
            // Fire and forget: done once handed to the connection.
            if let Some(p) = self.pending.remove(&call_id) {
                self.finish(p, Ok(Vec::new()));
            }
        }
    }

    /// A handshake completed with `incarnation`: settle calls sent before, send the rest.
    fn on_ready(&mut self, incarnation: u128, now: Instant) {
        let restarted = self.incarnation.is_some_and(|known| known != incarnation);
        self.incarnation = Some(incarnation);
        // Calls still on a retiring connection wait for their answer there.
        let in_doubt: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.sent_to.is_some() && !p.on_retiring)
            .map(|(id, _)| *id)
            .collect();
        for id in in_doubt {
            if restarted || self.pending.get(&id).is_some_and(|p| p.sent_to == Some(incarnation)) {
                self.settle_in_doubt(id, incarnation, now);
            } else if self
                .pending
                .get(&id)
                .is_some_and(|p| p.call.flags & protocol::FLAG_IDEMPOTENT != 0)
            {
                self.write_request(id, incarnation, now);
            }
        }
        self.send_unsent(now);
    }

    /// Sends waiting calls while the connection is ready and has free call slots.
    fn send_unsent(&mut self, now: Instant) {
        let Link::Ready { incarnation, draining: false } = self.link else { return };
        while self.on_wire < self.server_max_in_flight {
            let Some(id) = self.unsent.pop_front() else { return };
            if self.pending.contains_key(&id) {
                self.write_request(id, incarnation, now);
            }
        }
    }

    /// The call no longer holds a slot of the current connection (refused, or moved off it).
    fn release_slot(&mut self, call_id: u64) {
        if let Some(p) = self.pending.get_mut(&call_id) {
            if std::mem::take(&mut p.holds_slot) {
                self.on_wire -= 1;
            }
        }
    }

    /// A call that was on the wire when its connection went, now that a connection to
    /// `incarnation` is ready: re-sent to the same server (its records make that run at most
    /// once) or if idempotent; otherwise its outcome is unknown.
    fn settle_in_doubt(&mut self, id: u64, incarnation: u128, now: Instant) {
        let Some(p) = self.pending.get(&id) else { return };
        if p.sent_to == Some(incarnation) || p.call.flags & protocol::FLAG_IDEMPOTENT != 0 {
            self.write_request(id, incarnation, now);
        } else if let Some(p) = self.pending.remove(&id) {
            let why = "the server restarted (a new incarnation) before replying; the call was not re-sent (mark the method idempotent to allow that)";
            self.finish(p, Err(CallError::OutcomeUnknown(why.into())));
        }
    }

    fn on_error(&mut self, call_id: u64, attempt: u8, payload: &[u8], now: Instant) {
        let (code, message) = protocol::parse_error(payload);
        let Some(p) = self.pending.get_mut(&call_id) else { return };
        let latest = p.attempts.min(255) as u8;
        if attempt != 0 && attempt != latest && code.is_some_and(ErrorCode::not_executed) {
            // A refusal of an earlier attempt (a duplicated frame's copy, say) arriving after
            // the retry went out: it says nothing about the retry, whose own answer follows.
            return;
        }
        let maybe_ran = p.maybe_ran;
        let result = match code {
            Some(ErrorCode::Overloaded | ErrorCode::TooManyOutstanding) => {
                let policy = p.call.retry.as_ref().unwrap_or(&self.config.retry);
                if p.attempts < policy.max_attempts {
                    let at = now + policy.backoff(p.attempts);
                    if at < p.call.deadline {
                        p.sent_to = None; // the server did not run it: a fresh send
                        self.timers.add(at, Timer::Retry(call_id));
                        self.release_slot(call_id);
                        return;
                    }
                }
                if maybe_ran {
                    // An earlier attempt may have run: "did not run" would be a lie.
                    Err(CallError::OutcomeUnknown(format!(
                        "an earlier attempt may have run (its connection broke); the latest was refused: {message}"
                    )))
                } else {
                    Err(CallError::Overloaded(message))
                }
            }
            Some(ErrorCode::ShuttingDown) => {
                // Not run; try again once connected to a server that accepts calls.
                p.sent_to = None;
                p.on_retiring = false;
                self.release_slot(call_id);
                self.send_or_queue(call_id, now);
                return;
            }
            Some(ErrorCode::DeadlineExceeded) => Err(CallError::DeadlineExceeded),
            Some(ErrorCode::Cancelled) => Err(CallError::Cancelled),
            Some(ErrorCode::UnknownMethod) => Err(CallError::UnknownMethod(message)),
            Some(ErrorCode::Protocol) | None => Err(CallError::Protocol(message)),
            Some(ErrorCode::Internal) => Err(CallError::Remote(message)),
            Some(ErrorCode::InvalidArguments) => Err(CallError::InvalidArguments(message)),
            Some(ErrorCode::PermissionDenied) => Err(CallError::PermissionDenied(message)),
        };
        if let Some(p) = self.pending.remove(&call_id) {
            self.finish(p, result);
        }
    }

    fn deadline(&mut self, id: u64, now: Instant) {
        let Some(p) = self.pending.get(&id) else { return };
        if p.call.deadline > now {
            return;
        }
        let Some(p) = self.pending.remove(&id) else { return };
        let never_sent = p.sent_to.is_none() && p.attempts == 0;
        let result = match &self.link {
            Link::Down { last_error } if never_sent => {
                Err(CallError::Unavailable(format!("{last_error}; the call was not sent")))
            }
            Link::Connecting(_) | Link::Handshaking if never_sent => Err(CallError::Unavailable(
                "no connection could be completed before the deadline; the call was not sent"
                    .into(),
            )),
            Link::Ready { .. } if never_sent => Err(CallError::Overloaded(format!(
                "the deadline passed while the call waited in this client for one of the {} calls the server takes at once; it was not sent, so it did not run",
                self.server_max_in_flight
            ))),
            _ => Err(CallError::DeadlineExceeded),
        };
        self.tell_cancelled(&p);
        self.finish(p, result);
    }

    /// Keeps a timer running while calls are pending (an idle client sends nothing, so the
    /// server's idle timeout still applies to it).
    fn arm_keepalive(&mut self, now: Instant) {
        if self.config.keepalive_interval.is_some() && !self.keepalive_armed {
            self.keepalive_armed = true;
            let at = self.keepalive_due().max(now);
            self.timers.add(at, Timer::Keepalive);
        }
    }

    /// When the keepalive must next act: `keepalive_interval` after the last byte heard
    /// (send a ping), or `keepalive_timeout` after an unanswered ping (give up). Exact, so
    /// a silent connection is abandoned at interval + timeout, not up to twice that.
    fn keepalive_due(&self) -> Instant {
        let interval = self.config.keepalive_interval.unwrap_or(Duration::MAX);
        match self.ping_sent {
            Some(at) => at + self.config.keepalive_timeout,
            None => self.last_received.checked_add(interval).unwrap_or(self.last_received),
        }
    }

    /// A connection that passes nothing is abandoned: ping after `keepalive_interval` of
    /// silence, give up `keepalive_timeout` after the ping.
    fn keepalive(&mut self, now: Instant) {
        if self.config.keepalive_interval.is_none() || self.pending.is_empty() {
            return;
        }
        if matches!(self.link, Link::Ready { .. }) && now >= self.keepalive_due() {
            if self.ping_sent.is_some() {
                let silent = now.duration_since(self.last_received);
                self.connection_lost(
                    format!(
                        "no data from the server for {} ms (keepalive ping unanswered)",
                        silent.as_millis()
                    ),
                    now,
                );
            } else {
                protocol::push(&mut self.outbuf, &Header::new(Kind::Ping), &[]);
                self.ping_sent = Some(now);
            }
        }
        if matches!(self.link, Link::Ready { .. }) {
            self.arm_keepalive(now);
        } else {
            // Not connected: look again after an interval (the handshake has its own timer).
            self.keepalive_armed = true;
            let step = self.config.keepalive_interval.unwrap_or(Duration::from_secs(1));
            self.timers.add(now + step, Timer::Keepalive);
        }
    }
}

/// How many calls must finish before a request carries `ferry-ack` ranges again.
const ACK_RANGES_EVERY: usize = 64;

/// The call ids below the newest pending one that are not pending: their outcomes are here
/// (call ids reach the session in order), as `[start, end)` ranges in ascending order.
fn finished_ranges<T>(pending: &BTreeMap<u64, T>) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    let mut ids = pending.keys();
    let Some(mut previous) = ids.next().copied() else { return ranges };
    for &id in ids {
        if id > previous + 1 {
            ranges.push((previous + 1, id));
        }
        previous = id;
    }
    ranges
}

/// A random duration in [0, max] (full jitter).
pub(crate) fn jitter(max: Duration) -> Duration {
    let nanos = max.as_nanos().min(u128::from(u64::MAX)) as u64;
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos((crate::random_u128() as u64) % (nanos + 1))
}

#[cfg(test)]
mod tests {
    //! The client's decisions, deterministically: frames in, frames out, time passed in.
    use super::*;
    use crate::protocol::{FLAG_IDEMPOTENT, FLAG_RETRY};

    fn config() -> ClientConfig {
        ClientConfig {
            keepalive_interval: Some(Duration::from_secs(2)),
            keepalive_timeout: Duration::from_secs(3),
            ..ClientConfig::default()
        }
    }

    fn call(call_id: u64, flags: u16, payload: &[u8], now: Instant) -> NewCall<u64> {
        NewCall {
            call_id,
            method: 9,
            flags,
            metadata: Vec::new(),
            payload: payload.to_vec(),
            deadline: now + Duration::from_secs(5),
            wait_for_ready: false,
            retry: None,
            token: call_id,
        }
    }

    fn frame(kind: Kind, call_id: u64, flags: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        protocol::push(&mut out, &Header { kind, call_id, flags, ..Header::new(kind) }, payload);
        out
    }

    fn hello_ack(incarnation: u128, max_frame: u32) -> Vec<u8> {
        let ack = HelloAck { incarnation, max_frame, max_in_flight: 64, max_records: 64 };
        frame(Kind::HelloAck, 0, 0, &ack.encode())
    }

    fn sent(s: &mut ClientSession<u64>) -> Vec<Header> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Ok(Some((f, n))) = protocol::decode(&s.outbuf[at..], usize::MAX >> 1) {
            out.push(f.header);
            at += n;
        }
        s.outbuf.clear();
        out
    }

    fn results(s: &mut ClientSession<u64>) -> Vec<(u64, Result<Vec<u8>, CallError>)> {
        s.take_finished().map(|f| (f.token, f.result)).collect()
    }

    /// A session connected to incarnation `inc`.
    fn ready(inc: u128, now: Instant) -> ClientSession<u64> {
        let mut s = ClientSession::new(1, 2, config(), now);
        assert!(s.take_connect_request());
        s.connecting(now);
        s.connected(now);
        assert_eq!(sent(&mut s)[0].kind, Kind::Hello);
        s.handle_input(&hello_ack(inc, 1 << 20), now).unwrap();
        s
    }

    /// The driver's part of a new connection: connect, say hello, get `HelloAck` from
    /// incarnation `inc` announcing `max_frame`.
    fn handshake(s: &mut ClientSession<u64>, inc: u128, max_frame: u32, now: Instant) {
        s.connecting(now);
        s.connected(now);
        s.handle_input(&hello_ack(inc, max_frame), now).unwrap();
    }

    #[test]
    fn requests_acknowledge_the_lowest_pending_call_and_count_attempts() {
        let now = Instant::now();
        let mut s = ready(7, now);
        s.add_call(call(1, 0, b"a", now), now);
        s.add_call(call(2, 0, b"b", now), now);
        let h = sent(&mut s);
        assert_eq!((h[0].call_id, h[0].ack, protocol::attempt_of(h[0].flags)), (1, 1, 1));
        assert_eq!((h[1].call_id, h[1].ack), (2, 1));
        s.handle_input(&frame(Kind::Response, 1, protocol::with_attempt(0, 1), b"r1"), now)
            .unwrap();
        s.add_call(call(3, 0, b"c", now), now);
        assert_eq!(sent(&mut s)[0].ack, 2, "call 1's outcome is here");
        assert_eq!(results(&mut s), vec![(1, Ok(b"r1".to_vec()))]);
    }

    #[test]
    fn a_refusal_of_an_earlier_attempt_does_not_answer_the_retry() {
        let now = Instant::now();
        let mut s = ready(7, now);
        s.add_call(call(1, 0, b"a", now), now);
        sent(&mut s);
        let overloaded = protocol::error_payload(ErrorCode::Overloaded, "busy");
        s.handle_input(&frame(Kind::Error, 1, protocol::with_attempt(0, 1), &overloaded), now)
            .unwrap();
        s.handle_timeout(now + Duration::from_secs(1));
        let retry = sent(&mut s);
        assert_eq!(retry[0].flags & FLAG_RETRY, FLAG_RETRY, "a re-send after a refusal is a retry");
        assert_eq!(protocol::attempt_of(retry[0].flags), 2);
        // A duplicated copy of attempt 1 was refused too; its answer comes late.
        s.handle_input(&frame(Kind::Error, 1, protocol::with_attempt(0, 1), &overloaded), now)
            .unwrap();
        assert!(results(&mut s).is_empty(), "attempt 2 is still running");
        s.handle_input(&frame(Kind::Response, 1, protocol::with_attempt(0, 2), b"ran"), now)
            .unwrap();
        assert_eq!(results(&mut s), vec![(1, Ok(b"ran".to_vec()))]);
    }

    #[test]
    fn a_calls_own_retry_policy_overrides_the_clients() {
        let now = Instant::now();
        let mut s = ready(7, now);
        let never = NewCall { retry: Some(RetryPolicy::NEVER), ..call(1, 0, b"a", now) };
        s.add_call(never, now);
        s.add_call(call(2, 0, b"b", now), now);
        sent(&mut s);
        let overloaded = protocol::error_payload(ErrorCode::Overloaded, "busy");
        for id in [1, 2] {
            let f = frame(Kind::Error, id, protocol::with_attempt(0, 1), &overloaded);
            s.handle_input(&f, now).unwrap();
        }
        let refused = Err(CallError::Overloaded("busy".into()));
        assert_eq!(results(&mut s), vec![(1, refused)], "call 1 allows no re-send");
        s.handle_timeout(now + Duration::from_secs(1));
        let resent = sent(&mut s);
        assert_eq!((resent.len(), resent[0].call_id), (1, 2), "call 2 follows the client's");
    }

    #[test]
    fn a_call_that_may_have_run_is_never_reported_as_not_run() {
        // Sent to incarnation 7, which died before replying; the idempotent re-send to the
        // restarted, saturated server is refused: the verdict is unknown, not "did not run".
        let now = Instant::now();
        let mut s = ready(7, now);
        s.add_call(call(1, FLAG_IDEMPOTENT, b"a", now), now);
        sent(&mut s);
        s.connection_lost("reset".into(), now);
        s.handle_timeout(now + Duration::from_secs(1));
        assert!(s.take_connect_request());
        handshake(&mut s, 8, 1 << 20, now);
        let h = sent(&mut s);
        assert_eq!(h.last().unwrap().flags & FLAG_RETRY, FLAG_RETRY);
        let overloaded = protocol::error_payload(ErrorCode::Overloaded, "busy");
        for attempt in 2..=3 {
            let f = frame(Kind::Error, 1, protocol::with_attempt(0, attempt), &overloaded);
            s.handle_input(&f, now).unwrap();
            s.handle_timeout(now + Duration::from_secs(2));
        }
        let r = results(&mut s);
        assert!(
            matches!(&r[..], [(1, Err(CallError::OutcomeUnknown(m)))] if m.contains("refused: busy")),
            "{r:?}"
        );
    }

    #[test]
    fn a_re_send_over_a_restarted_servers_smaller_limit_is_not_called_unrun() {
        // Sent to incarnation 7 (limit 1 MiB), which died; the restarted server announces
        // 100 bytes. The idempotent re-send cannot go, but the first attempt may have run.
        let now = Instant::now();
        let mut s = ready(7, now);
        s.add_call(call(1, FLAG_IDEMPOTENT, &[0; 200], now), now);
        sent(&mut s);
        s.connection_lost("reset".into(), now);
        s.handle_timeout(now + Duration::from_secs(1));
        s.take_connect_request();
        handshake(&mut s, 8, 100, now);
        let r = results(&mut s);
        assert!(
            matches!(&r[..], [(1, Err(CallError::OutcomeUnknown(m)))] if m.contains("new limit of 100")),
            "{r:?}"
        );
    }

    #[test]
    fn a_handshake_never_answered_fails_calls_by_the_connect_timeout() {
        let t0 = Instant::now();
        let mut s: ClientSession<u64> = ClientSession::new(1, 2, config(), t0);
        s.take_connect_request();
        s.connecting(t0);
        let mut c = call(1, 0, b"a", t0);
        c.deadline = t0 + Duration::from_secs(60);
        s.add_call(c, t0);
        s.connected(t0); // TCP is up; the Hello goes out and nothing comes back
        s.handle_timeout(t0 + config().connect_timeout);
        let r = results(&mut s);
        assert!(
            matches!(&r[..], [(1, Err(CallError::Unavailable(m)))] if m.contains("did not answer the handshake") && m.contains("not sent")),
            "{r:?}"
        );
    }

    #[test]
    fn after_a_restart_only_idempotent_calls_are_re_sent() {
        let now = Instant::now();
        let mut s = ready(7, now);
        s.add_call(call(1, 0, b"once", now), now);
        s.add_call(call(2, FLAG_IDEMPOTENT, b"again", now), now);
        sent(&mut s);
        s.connection_lost("reset".into(), now);
        s.handle_timeout(now + Duration::from_secs(1));
        s.take_connect_request();
        handshake(&mut s, 8, 1 << 20, now);
        let h = sent(&mut s);
        assert_eq!(
            h.iter().filter(|h| h.kind == Kind::Request).map(|h| h.call_id).collect::<Vec<_>>(),
            vec![2]
        );
        let r = results(&mut s);
        assert!(
            matches!(&r[..], [(1, Err(CallError::OutcomeUnknown(m)))] if m.contains("restarted")),
            "{r:?}"
        );
    }

    #[test]
    fn an_unreachable_server_fails_calls_at_once_unless_they_wait_for_ready() {
        let now = Instant::now();
        let mut s: ClientSession<u64> = ClientSession::new(1, 2, config(), now);
        s.take_connect_request();
        s.connecting(now);
        s.add_call(call(1, 0, b"a", now), now);
        let mut patient = call(2, 0, b"b", now);
        patient.wait_for_ready = true;
        s.add_call(patient, now);
        s.connection_lost("connection refused".into(), now);
        let r = results(&mut s);
        assert_eq!(r.len(), 1);
        assert!(matches!(&r[0], (1, Err(CallError::Unavailable(m))) if m.contains("not sent")));
        // The patient call waits for the reconnection.
        s.handle_timeout(now + Duration::from_secs(1));
        assert!(s.take_connect_request());
    }

    #[test]
    fn a_request_over_the_servers_limit_fails_before_sending() {
        let now = Instant::now();
        let mut s = ClientSession::new(1, 2, config(), now);
        s.take_connect_request();
        handshake(&mut s, 7, 100, now);
        sent(&mut s);
        s.add_call(call(1, 0, &[0; 200], now), now);
        assert!(sent(&mut s).is_empty());
        assert!(matches!(results(&mut s)[..], [(1, Err(CallError::TooLarge { limit: 100, .. }))]));
    }

    #[test]
    fn a_silent_connection_is_pinged_then_abandoned() {
        let t0 = Instant::now();
        let mut s = ready(7, t0);
        let mut long = call(1, 0, b"a", t0);
        long.deadline = t0 + Duration::from_secs(60);
        s.add_call(long, t0);
        sent(&mut s);
        // Timers fire exactly: a ping at interval (2 s), abandoned at interval + timeout.
        s.handle_timeout(t0 + Duration::from_millis(1999));
        assert!(sent(&mut s).is_empty());
        s.handle_timeout(t0 + Duration::from_secs(2));
        assert_eq!(sent(&mut s)[0].kind, Kind::Ping);
        s.handle_timeout(t0 + Duration::from_millis(4999));
        assert!(matches!(s.link, Link::Ready { .. }), "the ping has 3 s");
        s.handle_timeout(t0 + Duration::from_secs(5));
        assert!(matches!(&s.link, Link::Down { last_error } if last_error.contains("keepalive")));
    }

    #[test]
    fn the_deadline_says_whether_the_call_was_ever_sent() {
        let now = Instant::now();
        let mut s: ClientSession<u64> = ClientSession::new(1, 2, config(), now);
        s.take_connect_request();
        s.connecting(now);
        let mut c = call(1, 0, b"a", now);
        c.wait_for_ready = true;
        s.add_call(c, now);
        s.handle_timeout(now + Duration::from_secs(6));
        assert!(
            matches!(&results(&mut s)[..], [(1, Err(CallError::Unavailable(m)))] if m.contains("not sent"))
        );
        let mut s = ready(7, now);
        s.add_call(call(2, 0, b"b", now), now);
        s.handle_timeout(now + Duration::from_secs(6));
        assert_eq!(results(&mut s), vec![(2, Err(CallError::DeadlineExceeded))]);
        assert!(sent(&mut s).iter().any(|h| h.kind == Kind::Cancel), "the server is told");
    }

    #[test]
    fn finished_calls_after_a_long_one_are_acknowledged_by_range() {
        let now = Instant::now();
        let mut s = ready(7, now);
        let mut long = call(1, 0, b"long", now);
        long.deadline = now + Duration::from_secs(600);
        s.add_call(long, now);
        for id in 2..=70 {
            s.add_call(call(id, 0, b"x", now), now);
        }
        sent(&mut s);
        for id in 2..=69 {
            s.handle_input(&frame(Kind::Response, id, 0, b"r"), now).unwrap();
        }
        s.add_call(call(71, 0, b"y", now), now);
        let mut at = 0;
        let mut acks = Vec::new();
        while let Ok(Some((f, n))) = protocol::decode(&s.outbuf[at..], usize::MAX >> 1) {
            assert_eq!(f.header.ack, 1, "the long call holds the window's start");
            for (k, v) in protocol::metadata::iter(f.metadata).map(Result::unwrap) {
                if k == protocol::metadata::ACK.as_bytes() {
                    acks.push(protocol::metadata::ack_ranges(v).unwrap());
                }
            }
            at += n;
        }
        assert_eq!(acks, vec![vec![(2, 70)]], "2..=69 finished; 70 and 71 are pending");
    }

    #[test]
    fn a_draining_connection_keeps_its_calls_while_new_ones_use_a_new_connection() {
        let now = Instant::now();
        let mut s = ready(7, now);
        s.add_call(call(1, 0, b"long", now), now);
        s.add_call(call(2, 0, b"long too", now), now);
        sent(&mut s);
        s.handle_input(&frame(Kind::GoAway, 0, 0, b""), now).unwrap();
        assert!(s.retiring.is_some(), "the connection is kept for calls 1 and 2");
        assert!(s.take_connect_request(), "and a new one is asked for at once");
        s.add_call(call(3, 0, b"new", now), now);
        handshake(&mut s, 7, 1 << 20, now);
        let h = sent(&mut s);
        let requests: Vec<u64> =
            h.iter().filter(|h| h.kind == Kind::Request).map(|h| h.call_id).collect();
        assert_eq!(requests, vec![3], "calls 1 and 2 are not re-sent while their connection lives");
        // Call 1 is answered on the draining connection; then it closes with call 2 unanswered,
        // which the same server's records let the new connection re-send.
        s.handle_retiring_input(&frame(Kind::Response, 1, 0, b"one"), now).unwrap();
        assert_eq!(results(&mut s), vec![(1, Ok(b"one".to_vec()))]);
        s.retiring_lost(now);
        assert!(s.retiring.is_none());
        let resent: Vec<(u64, u16)> = sent(&mut s)
            .iter()
            .filter(|h| h.kind == Kind::Request)
            .map(|h| (h.call_id, h.flags & FLAG_RETRY))
            .collect();
        assert_eq!(resent, vec![(2, FLAG_RETRY)]);
        // Had the new connection reached another incarnation, call 2's outcome is unknown.
        let mut s = ready(7, now);
        s.add_call(call(1, 0, b"long", now), now);
        sent(&mut s);
        s.handle_input(&frame(Kind::GoAway, 0, 0, b""), now).unwrap();
        s.take_connect_request();
        handshake(&mut s, 8, 1 << 20, now);
        assert!(results(&mut s).is_empty(), "still waiting on the draining connection");
        s.retiring_lost(now);
        let r = results(&mut s);
        assert!(matches!(&r[..], [(1, Err(CallError::OutcomeUnknown(_)))]), "{r:?}");
    }

    #[test]
    fn calls_beyond_the_servers_in_flight_limit_wait_here_not_refused_there() {
        let now = Instant::now();
        let mut s: ClientSession<u64> = ClientSession::new(1, 2, config(), now);
        s.take_connect_request();
        let ack =
            HelloAck { incarnation: 7, max_frame: 1 << 20, max_in_flight: 2, max_records: 64 };
        s.connecting(now);
        s.connected(now);
        s.handle_input(&frame(Kind::HelloAck, 0, 0, &ack.encode()), now).unwrap();
        sent(&mut s);
        for id in 1..=5 {
            s.add_call(call(id, 0, b"x", now), now);
        }
        let requests = |s: &mut ClientSession<u64>| -> Vec<u64> {
            sent(s).iter().filter(|h| h.kind == Kind::Request).map(|h| h.call_id).collect()
        };
        assert_eq!(requests(&mut s), vec![1, 2], "two slots");
        s.handle_input(&frame(Kind::Response, 1, 0, b"one"), now).unwrap();
        assert_eq!(requests(&mut s), vec![3], "a slot freed, the next call goes");
        // A refusal frees the slot too (its retry waits its turn).
        let busy = protocol::error_payload(ErrorCode::Overloaded, "busy");
        s.handle_input(&frame(Kind::Error, 2, protocol::with_attempt(0, 1), &busy), now).unwrap();
        assert_eq!(requests(&mut s), vec![4]);
        // A call still queued when its deadline passes never left this client, and says so.
        s.cancel(3);
        s.handle_timeout(now + Duration::from_secs(6));
        let r = results(&mut s);
        assert!(
            r.iter().any(|(id, res)| *id == 5
                && matches!(res, Err(CallError::Overloaded(m)) if m.contains("it was not sent"))),
            "{r:?}"
        );
    }
}
