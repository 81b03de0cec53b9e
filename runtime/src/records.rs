//! At-most-once: per-client completion records (RIFL's shape, Birrell–Nelson's call ids).
//! Pure state; time is passed in. Normative rules: spec/protocol.md § At-most-once.

use std::collections::{BTreeMap, HashMap};

use crate::protocol::ErrorCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A reply kept for duplicates of a completed call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReply {
    /// `Kind::Response` or `Kind::Error`.
    pub kind: crate::protocol::Kind,
    /// The encoded reply or error.
    pub payload: Arc<[u8]>,
}

/// Where to send a reply: a connection (by its token number), the call id, and the attempt
/// the reply answers (echoed so the client can tell answers to its attempts apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Waiter {
    /// The connection's token number.
    pub connection: usize,
    /// The call's id.
    pub call_id: u64,
    /// The attempt the reply answers.
    pub attempt: u8,
}

/// What a retry must match: a call id names one call, so a re-send with another method or
/// other arguments is a broken or hostile client, never a retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// The method id.
    pub method: u32,
    /// [`digest`] of the payload.
    pub digest: u64,
}

/// A fast 64-bit digest of a payload (not cryptographic: it tells a client's honest
/// re-send from a different request under the same call id; the client id is already
/// bound to its secret, so only the client itself can send either).
pub fn digest(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(K).rotate_left(29);
    }
    h ^ (h >> 32)
}

/// What to do with an arriving request.
#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    /// First time seen: run the handler.
    Execute,
    /// Completed before: send this reply without running anything.
    Replay(StoredReply),
    /// Running now: the reply will go to this waiter too.
    Joined,
    /// The client acknowledged this call's outcome already; a late duplicate. Drop it.
    Stale,
    /// The client holds `limit` unacknowledged records: refuse (the handler does not run).
    TooManyOutstanding {
        /// The per-client limit.
        limit: usize,
    },
    /// The call id is known with another method or payload: refuse as a protocol error.
    Mismatch,
}

/// The key a client's records are kept under: a digest of everything its connection
/// proved — the client id, the secret sent with it in `Hello`, and under mutual TLS the
/// certificate's fingerprint. A peer that knows only a client's id (ids appear in logs)
/// derives another key, so it creates records of its own and can neither read, inject,
/// acknowledge away nor fill the owner's, nor hold the id against the owner (squat); a
/// second tenant with the same id and secret but its own certificate is apart likewise.
/// SHA-256, so finding another (id, secret, certificate) with the same key is out of reach.
pub fn record_key(client_id: u128, secret: u128, certificate: Option<&[u8; 32]>) -> u128 {
    let mut input = [0u8; 8 + 16 + 16 + 33];
    input[..8].copy_from_slice(b"ferry-rk");
    input[8..24].copy_from_slice(&client_id.to_le_bytes());
    input[24..40].copy_from_slice(&secret.to_le_bytes());
    if let Some(fp) = certificate {
        input[40] = 1;
        input[41..].copy_from_slice(fp);
    }
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input);
    let mut key = [0u8; 16];
    key.copy_from_slice(&d.as_ref()[..16]);
    u128::from_le_bytes(key)
}

#[derive(Debug)]
struct Running {
    fingerprint: Fingerprint,
    waiters: Vec<Waiter>,
}

/// The reply kept for copies of a refused attempt, one per error code for the process.
fn refusal_of(code: ErrorCode) -> StoredReply {
    use std::sync::OnceLock;
    static REPLIES: OnceLock<Vec<Arc<[u8]>>> = OnceLock::new();
    let replies = REPLIES.get_or_init(|| {
        (0..=ErrorCode::MAX as u16)
            .map(|c| {
                let mut p = c.to_le_bytes().to_vec();
                p.extend_from_slice(
                    b"refused before it ran (this request repeats an attempt already refused); the call did not run",
                );
                p.into()
            })
            .collect()
    });
    let payload = Arc::clone(&replies[usize::from(code as u16).min(replies.len() - 1)]);
    StoredReply { kind: crate::protocol::Kind::Error, payload }
}

#[derive(Debug)]
struct Completed {
    fingerprint: Fingerprint,
    reply: StoredReply,
    /// A refusal ("did not run"), not an outcome: copies of attempts up to this one get it
    /// again (a frame duplicated in the stream is answered as its first copy was), a later
    /// attempt — a real retry — may run the call.
    refused_up_to: Option<u8>,
}

/// What one record costs beyond its reply (its map entry and bookkeeping), as counted
/// against the memory budget.
const RECORD_OVERHEAD: usize = 96;

impl Completed {
    /// Bytes counted against the memory budget: the entry, and the reply unless it is a
    /// refusal's (shared by every refusal record).
    fn bytes(&self) -> usize {
        let reply = if self.refused_up_to.is_some() { 0 } else { self.reply.payload.len() };
        RECORD_OVERHEAD + reply
    }
}

#[derive(Debug)]
struct ClientRecords {
    /// Every call id below this is acknowledged: its record is gone and duplicates are stale.
    acked_below: u64,
    /// Ranges `[start, end)` above `acked_below` acknowledged one by one (`ferry-ack`): a
    /// long call holds the lowest pending id, but the outcomes after it can still be freed.
    acked_ranges: BTreeMap<u64, u64>,
    /// Outcomes, ordered so that an acknowledgement frees a prefix in O(freed).
    done: BTreeMap<u64, Completed>,
    /// Calls running now, apart from `done`: an acknowledgement never walks them (it used to
    /// take them out and put them back, O(calls in flight) per request).
    running: HashMap<u64, Running>,
    last_seen: Instant,
}

impl ClientRecords {
    fn in_acked_range(&self, id: u64) -> bool {
        self.acked_ranges.range(..=id).next_back().is_some_and(|(_, &end)| id < end)
    }

    /// Adds `[start, end)`, merged with the ranges it touches.
    fn add_acked_range(&mut self, mut start: u64, mut end: u64) {
        if let Some((&s, &e)) = self.acked_ranges.range(..=start).next_back() {
            if e >= start {
                start = s;
                end = end.max(e);
            }
        }
        let touching: Vec<(u64, u64)> =
            self.acked_ranges.range(start..=end).map(|(&s, &e)| (s, e)).collect();
        for (s, e) in touching {
            self.acked_ranges.remove(&s);
            end = end.max(e);
        }
        self.acked_ranges.insert(start, end);
    }
}

/// The records of every client of one server incarnation.
///
/// Memory is bounded: at most `max_per_client` records per client (a client must
/// acknowledge before it gets more), and clients idle longer than `lease` with nothing in
/// progress are forgotten. A record still in progress is never dropped.
#[derive(Debug)]
pub struct RecordStore {
    clients: HashMap<u128, ClientRecords>,
    max_per_client: usize,
    lease: Duration,
    /// Bytes of records, replies and per-record overhead (for the server's memory budget).
    bytes: usize,
}

impl RecordStore {
    /// A store keeping at most `max_per_client` unacknowledged records per client, each client's for `lease` after it was last heard from.
    pub fn new(max_per_client: usize, lease: Duration) -> Self {
        RecordStore { clients: HashMap::new(), max_per_client, lease, bytes: 0 }
    }

    /// The handshake of a client whose records live under `key` ([`record_key`]): makes
    /// its entry if it has none and renews its lease.
    pub fn claim(&mut self, key: u128, now: Instant) {
        let c = self.clients.entry(key).or_insert_with(|| ClientRecords {
            acked_below: 0,
            acked_ranges: BTreeMap::new(),
            done: BTreeMap::new(),
            running: HashMap::new(),
            last_seen: now,
        });
        c.last_seen = now;
    }

    /// Handles request `call_id` from the client under key `client` (claimed by the
    /// handshake), which
    /// acknowledges every id below `ack`.
    pub fn begin(
        &mut self,
        client: u128,
        call_id: u64,
        ack: u64,
        fingerprint: Fingerprint,
        waiter: Waiter,
        now: Instant,
    ) -> Begin {
        let Some(c) = self.clients.get_mut(&client) else {
            // Expired between the handshake and now (a lease shorter than the connection):
            // start over as a fresh client would be unsafe, so refuse without running.
            return Begin::TooManyOutstanding { limit: 0 };
        };
        c.last_seen = now;
        if ack > c.acked_below {
            let keep = c.done.split_off(&ack);
            let freed = std::mem::replace(&mut c.done, keep);
            self.bytes -= freed.values().map(Completed::bytes).sum::<usize>();
            c.acked_below = ack;
            // Ranges now below the window are covered by it.
            let above = c.acked_ranges.split_off(&ack);
            let below = std::mem::replace(&mut c.acked_ranges, above);
            if let Some((_, &end)) = below.iter().next_back().filter(|(_, &end)| end > ack) {
                c.acked_ranges.insert(ack, end);
            }
        }
        if let Some(d) = c.done.get(&call_id) {
            if d.fingerprint != fingerprint {
                return Begin::Mismatch;
            }
            match d.refused_up_to {
                Some(refused) if waiter.attempt > refused => {
                    // A retry of a refused call: the refusal's record gives way.
                    if let Some(d) = c.done.remove(&call_id) {
                        self.bytes -= d.bytes();
                    }
                }
                _ => return Begin::Replay(d.reply.clone()),
            }
        }
        if let Some(r) = c.running.get_mut(&call_id) {
            if r.fingerprint != fingerprint {
                return Begin::Mismatch;
            }
            // One reply per connection: a later attempt on the same one replaces the earlier.
            match r.waiters.iter_mut().find(|w| w.connection == waiter.connection) {
                Some(w) => w.attempt = waiter.attempt,
                None => r.waiters.push(waiter),
            }
            return Begin::Joined;
        }
        if call_id < c.acked_below || c.in_acked_range(call_id) {
            return Begin::Stale;
        }
        if c.done.len() + c.running.len() >= self.max_per_client {
            return Begin::TooManyOutstanding { limit: self.max_per_client };
        }
        c.running.insert(call_id, Running { fingerprint, waiters: vec![waiter] });
        Begin::Execute
    }

    /// The client has the outcomes of the calls in `ranges` (`[start, end)`, above its
    /// lowest pending call): their records are freed and later duplicates are stale. Calls
    /// still running are not touched. Ranges beyond the per-client bound are ignored (an
    /// ignored acknowledgement only keeps records longer).
    pub fn ack_ranges(&mut self, client: u128, ranges: impl Iterator<Item = (u64, u64)>) {
        let Some(c) = self.clients.get_mut(&client) else { return };
        for (start, end) in ranges {
            let start = start.max(c.acked_below);
            if start >= end {
                continue;
            }
            let freed: Vec<u64> = c.done.range(start..end).map(|(id, _)| *id).collect();
            for id in freed {
                if let Some(d) = c.done.remove(&id) {
                    self.bytes -= d.bytes();
                }
            }
            if c.acked_ranges.len() < self.max_per_client {
                c.add_acked_range(start, end);
            }
        }
    }

    /// Records the outcome of an executed call; returns everyone waiting for it.
    pub fn complete(&mut self, client: u128, call_id: u64, reply: StoredReply) -> Vec<Waiter> {
        let Some(c) = self.clients.get_mut(&client) else { return Vec::new() };
        let Some(r) = c.running.remove(&call_id) else { return Vec::new() };
        if call_id >= c.acked_below && !c.in_acked_range(call_id) {
            let record = Completed { fingerprint: r.fingerprint, reply, refused_up_to: None };
            self.bytes += record.bytes();
            c.done.insert(call_id, record);
        }
        r.waiters
    }

    /// A call whose handler never ran (refused with error `code`, expired, cancelled before
    /// start): a retry (a later attempt) may execute it, while a copy of an attempt already
    /// seen — a frame duplicated in the stream — is refused with `code` again rather than
    /// running where its first copy was refused. The record shares one reply per code, so
    /// a flood of refusals costs a map entry each. Returns everyone waiting for it.
    pub fn abandon(&mut self, client: u128, call_id: u64, code: ErrorCode) -> Vec<Waiter> {
        let Some(c) = self.clients.get_mut(&client) else { return Vec::new() };
        let Some(r) = c.running.remove(&call_id) else { return Vec::new() };
        let latest = r.waiters.iter().map(|w| w.attempt).max().unwrap_or(0);
        if call_id >= c.acked_below {
            let record = Completed {
                fingerprint: r.fingerprint,
                reply: refusal_of(code),
                refused_up_to: Some(latest),
            };
            self.bytes += record.bytes();
            c.done.insert(call_id, record);
        }
        r.waiters
    }

    /// Removes `waiter` from every call it waits on (its connection closed).
    pub fn drop_waiters_of(&mut self, connection: usize) {
        for c in self.clients.values_mut() {
            for r in c.running.values_mut() {
                r.waiters.retain(|w| w.connection != connection);
            }
        }
    }

    /// Forgets clients idle past the lease with nothing in progress.
    pub fn expire(&mut self, now: Instant) {
        let lease = self.lease;
        let mut freed = 0;
        self.clients.retain(|_, c| {
            let keep = now.duration_since(c.last_seen) < lease || !c.running.is_empty();
            if !keep {
                freed += c.done.values().map(Completed::bytes).sum::<usize>();
            }
            keep
        });
        self.bytes -= freed;
    }

    /// Records held for `client` (for tests and metrics).
    pub fn len_for(&self, client: u128) -> usize {
        self.clients.get(&client).map_or(0, |c| c.done.len() + c.running.len())
    }

    /// Bytes of records: their replies and a per-record overhead.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The record stores of a server, sharded by client id: event loops that serve different
/// clients do not wait for one lock.
#[derive(Debug)]
pub struct SharedRecords {
    shards: Box<[std::sync::Mutex<RecordStore>]>,
}

impl SharedRecords {
    /// A store split in `shards` locks (by client id); limits as in `Records::new`.
    pub fn new(shards: usize, max_per_client: usize, lease: Duration) -> Self {
        let shards = (0..shards.max(1))
            .map(|_| std::sync::Mutex::new(RecordStore::new(max_per_client, lease)))
            .collect();
        SharedRecords { shards }
    }

    /// The store holding `client`'s records.
    pub fn of(&self, client: u128) -> std::sync::MutexGuard<'_, RecordStore> {
        let i = ((client ^ (client >> 64)) as u64 % self.shards.len() as u64) as usize;
        // Every update is a single insert or remove, so a poisoned lock is still consistent.
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    fn each(&self, mut f: impl FnMut(&mut RecordStore)) {
        for shard in self.shards.iter() {
            f(&mut shard.lock().unwrap_or_else(|p| p.into_inner()));
        }
    }

    /// Forgets the waiters on `connection` (it closed; their replies stay recorded).
    pub fn drop_waiters_of(&self, connection: usize) {
        self.each(|s| s.drop_waiters_of(connection));
    }

    /// Drops the records of clients whose lease ran out by `now`.
    pub fn expire(&self, now: Instant) {
        self.each(|s| s.expire(now));
    }

    /// Bytes of recorded replies in every shard.
    pub fn bytes(&self) -> usize {
        let mut total = 0;
        self.each(|s| total += s.bytes());
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Kind;

    fn reply(b: &[u8]) -> StoredReply {
        StoredReply { kind: Kind::Response, payload: b.into() }
    }

    fn w(connection: usize, call_id: u64) -> Waiter {
        Waiter { connection, call_id, attempt: 1 }
    }

    const F: Fingerprint = Fingerprint { method: 1, digest: 2 };

    fn store(max: usize, lease: u64, clients: &[u128], now: Instant) -> RecordStore {
        let mut s = RecordStore::new(max, Duration::from_secs(lease));
        for &c in clients {
            s.claim(c, now);
        }
        s
    }

    #[test]
    fn a_duplicate_of_a_completed_call_gets_the_recorded_reply() {
        let now = Instant::now();
        let mut s = store(8, 60, &[1, 2], now);
        assert_eq!(s.begin(1, 5, 0, F, w(1, 5), now), Begin::Execute);
        assert_eq!(s.complete(1, 5, reply(b"r")), vec![w(1, 5)]);
        assert_eq!(s.begin(1, 5, 0, F, w(2, 5), now), Begin::Replay(reply(b"r")));
    }

    #[test]
    fn a_duplicate_of_a_running_call_waits_for_the_first_execution() {
        let now = Instant::now();
        let mut s = store(8, 60, &[1, 2], now);
        assert_eq!(s.begin(1, 5, 0, F, w(1, 5), now), Begin::Execute);
        assert_eq!(s.begin(1, 5, 0, F, w(2, 5), now), Begin::Joined);
        assert_eq!(s.complete(1, 5, reply(b"r")), vec![w(1, 5), w(2, 5)]);
    }

    #[test]
    fn acknowledgements_free_records_and_make_duplicates_stale() {
        let now = Instant::now();
        let mut s = store(8, 60, &[1, 2], now);
        for id in 1..=3 {
            assert_eq!(s.begin(1, id, 1, F, w(1, id), now), Begin::Execute);
            s.complete(1, id, reply(b"x"));
        }
        assert_eq!(s.len_for(1), 3);
        assert_eq!(s.begin(1, 4, 3, F, w(1, 4), now), Begin::Execute);
        assert_eq!(s.len_for(1), 2, "ids 1 and 2 acknowledged");
        assert_eq!(s.begin(1, 1, 3, F, w(1, 1), now), Begin::Stale);
    }

    #[test]
    fn the_record_limit_refuses_instead_of_forgetting() {
        let now = Instant::now();
        let mut s = store(2, 60, &[1, 2], now);
        assert_eq!(s.begin(1, 1, 0, F, w(1, 1), now), Begin::Execute);
        assert_eq!(s.begin(1, 2, 0, F, w(1, 2), now), Begin::Execute);
        assert_eq!(s.begin(1, 3, 0, F, w(1, 3), now), Begin::TooManyOutstanding { limit: 2 });
        // Other clients are unaffected.
        assert_eq!(s.begin(2, 1, 0, F, w(2, 1), now), Begin::Execute);
    }

    #[test]
    fn abandoned_calls_may_run_on_retry_but_outcomes_are_never_forgotten() {
        let now = Instant::now();
        let mut s = store(8, 60, &[1, 2], now);
        let attempt = |n: u8| Waiter { connection: 1, call_id: 1, attempt: n };
        assert_eq!(s.begin(1, 1, 0, F, attempt(1), now), Begin::Execute);
        assert_eq!(s.abandon(1, 1, ErrorCode::Overloaded), vec![attempt(1)]);
        // A copy of attempt 1 (duplicated in the stream) is refused as the first was.
        let Begin::Replay(again) = s.begin(1, 1, 0, F, attempt(1), now) else { panic!() };
        assert_eq!(again.kind, Kind::Error);
        let (code, message) = crate::protocol::parse_error(&again.payload);
        assert_eq!(code, Some(ErrorCode::Overloaded));
        assert!(message.contains("did not run"), "{message}");
        // Attempt 2, a retry, may run.
        assert_eq!(s.begin(1, 1, 0, F, attempt(2), now), Begin::Execute);
        assert_eq!(s.bytes(), 0);
        s.complete(1, 1, reply(b"done"));
        assert!(s.abandon(1, 1, ErrorCode::Overloaded).is_empty());
        assert_eq!(s.begin(1, 1, 0, F, attempt(1), now), Begin::Replay(reply(b"done")));
        assert_eq!(s.begin(1, 1, 0, F, attempt(3), now), Begin::Replay(reply(b"done")));
    }

    #[test]
    fn leases_expire_idle_clients_but_not_running_calls() {
        let t0 = Instant::now();
        let mut s = store(8, 10, &[1, 2], t0);
        assert_eq!(s.begin(1, 1, 0, F, w(1, 1), t0), Begin::Execute);
        assert_eq!(s.begin(2, 1, 0, F, w(2, 1), t0), Begin::Execute);
        s.complete(2, 1, reply(b"x"));
        s.expire(t0 + Duration::from_secs(11));
        assert_eq!(s.len_for(1), 1, "in progress: kept");
        assert_eq!(s.len_for(2), 0, "idle and complete: expired");
    }

    #[test]
    fn ranges_acknowledged_above_a_long_call_free_their_records() {
        // Call 1 runs long and pins the lowest pending id; 2..=9 finish and are acknowledged
        // by range, so the bound of 8 does not fill and their duplicates are stale.
        let now = Instant::now();
        let mut s = store(8, 60, &[1], now);
        assert_eq!(s.begin(1, 1, 1, F, w(1, 1), now), Begin::Execute);
        for id in 2..=7 {
            assert_eq!(s.begin(1, id, 1, F, w(1, id), now), Begin::Execute);
            s.complete(1, id, reply(b"r"));
        }
        assert_eq!(s.len_for(1), 7);
        s.ack_ranges(1, [(2, 5), (5, 7)].into_iter());
        assert_eq!(s.len_for(1), 2, "the long call and call 7 remain");
        assert_eq!(s.bytes(), RECORD_OVERHEAD + 1);
        for id in 2..7 {
            assert_eq!(s.begin(1, id, 1, F, w(1, id), now), Begin::Stale, "id {id}");
        }
        assert_eq!(s.begin(1, 7, 1, F, w(1, 7), now), Begin::Replay(reply(b"r")));
        for id in 8..=13 {
            assert_eq!(s.begin(1, id, 1, F, w(1, id), now), Begin::Execute, "id {id}");
            s.complete(1, id, reply(b"r"));
            s.ack_ranges(1, [(id, id + 1)].into_iter());
        }
        // A running call named in a range is untouched, and its outcome is kept.
        s.ack_ranges(1, [(1, 2)].into_iter());
        assert_eq!(s.begin(1, 1, 1, F, w(2, 1), now), Begin::Joined);
        // The window catching up absorbs the ranges.
        s.complete(1, 1, reply(b"long"));
        assert_eq!(s.begin(1, 20, 14, F, w(1, 20), now), Begin::Execute);
        assert_eq!(s.len_for(1), 1);
    }
}

#[cfg(test)]
mod identity_tests {
    use super::*;
    use crate::protocol::Kind;

    const F: Fingerprint = Fingerprint { method: 1, digest: 2 };

    fn w(connection: usize, call_id: u64) -> Waiter {
        Waiter { connection, call_id, attempt: 1 }
    }

    #[test]
    fn records_are_keyed_by_everything_the_connection_proved() {
        let key = record_key(1, 42, None);
        assert_eq!(key, record_key(1, 42, None), "a reconnect with the same secret");
        assert_ne!(key, record_key(1, 43, None), "someone who only knows the id");
        assert_ne!(key, record_key(2, 42, None));
        // Under mutual TLS the certificate is part of the key: another tenant that learned
        // both id and secret gets its own, and so does the owner without its certificate.
        let tls = record_key(2, 7, Some(&[1; 32]));
        assert_ne!(tls, record_key(2, 7, Some(&[2; 32])));
        assert_ne!(tls, record_key(2, 7, None));
        // A squatter's records are its own: the owner's call id 1 still runs.
        let now = Instant::now();
        let mut s = RecordStore::new(8, Duration::from_secs(60));
        let squatter = record_key(1, 666, None);
        s.claim(squatter, now);
        assert_eq!(s.begin(squatter, 1, 1, F, w(1, 1), now), Begin::Execute);
        s.claim(key, now);
        assert_eq!(s.begin(key, 1, 1, F, w(2, 1), now), Begin::Execute);
    }

    #[test]
    fn a_retry_with_another_method_or_payload_is_a_mismatch() {
        let now = Instant::now();
        let mut s = RecordStore::new(8, Duration::from_secs(60));
        s.claim(1, now);
        assert_eq!(s.begin(1, 5, 0, F, w(1, 5), now), Begin::Execute);
        let other_method = Fingerprint { method: 9, ..F };
        let other_payload = Fingerprint { digest: 9, ..F };
        assert_eq!(s.begin(1, 5, 0, other_method, w(1, 5), now), Begin::Mismatch);
        s.complete(1, 5, StoredReply { kind: Kind::Response, payload: b"r"[..].into() });
        assert_eq!(s.begin(1, 5, 0, other_payload, w(1, 5), now), Begin::Mismatch);
        assert_ne!(digest(b"abcdefgh1"), digest(b"abcdefgh2"));
        assert_ne!(digest(b""), digest(b"\0"));
    }

    #[test]
    fn acknowledgements_never_walk_the_calls_in_flight() {
        // 1000 calls running, then acknowledgements rising with each new call: the running
        // ones stay (and are not re-inserted), finished ones below the ack are freed.
        let now = Instant::now();
        let mut s = RecordStore::new(4096, Duration::from_secs(60));
        s.claim(1, now);
        for id in 1..=1000 {
            assert_eq!(s.begin(1, id, 1, F, w(1, id), now), Begin::Execute);
        }
        for id in 1001..=1100 {
            s.complete(
                1,
                id - 1000,
                StoredReply { kind: Kind::Response, payload: b"x"[..].into() },
            );
            assert_eq!(s.begin(1, id, id - 1000, F, w(1, id), now), Begin::Execute);
        }
        assert_eq!(s.len_for(1), 1100 - 99, "ids 1..=99 acknowledged and freed");
        assert_eq!(s.bytes(), RECORD_OVERHEAD + 1);
    }
}
