//! At-most-once: per-client completion records (RIFL's shape, Birrell–Nelson's call ids).
//! Pure state; time is passed in. Normative rules: spec/protocol.md § At-most-once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A reply kept for duplicates of a completed call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReply {
    /// `Kind::Response` or `Kind::Error`.
    pub kind: crate::protocol::Kind,
    pub payload: Arc<[u8]>,
}

/// Where to send a reply: a connection (by its token number) and the call id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Waiter {
    pub connection: usize,
    pub call_id: u64,
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
    TooManyOutstanding { limit: usize },
}

#[derive(Debug)]
enum Record {
    InProgress { waiters: Vec<Waiter> },
    Done(StoredReply),
}

#[derive(Debug)]
struct ClientRecords {
    /// Every call id below this is acknowledged: its record is gone and duplicates are stale.
    acked_below: u64,
    records: BTreeMap<u64, Record>,
    last_seen: Instant,
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
}

impl RecordStore {
    pub fn new(max_per_client: usize, lease: Duration) -> Self {
        RecordStore { clients: HashMap::new(), max_per_client, lease }
    }

    /// Handles request `call_id` from `client`, which acknowledges every id below `ack`.
    pub fn begin(
        &mut self,
        client: u128,
        call_id: u64,
        ack: u64,
        waiter: Waiter,
        now: Instant,
    ) -> Begin {
        let c = self.clients.entry(client).or_insert_with(|| ClientRecords {
            acked_below: 0,
            records: BTreeMap::new(),
            last_seen: now,
        });
        c.last_seen = now;
        if ack > c.acked_below {
            // Acknowledged records are freed. An acknowledged call still in progress cannot
            // exist (the client acknowledges only outcomes it has), but if a buggy client
            // claims so, keep it: forgetting a live record could run a call twice.
            let keep = c.records.split_off(&ack);
            let freed = std::mem::replace(&mut c.records, keep);
            for (id, r) in freed {
                if matches!(r, Record::InProgress { .. }) {
                    c.records.insert(id, r);
                }
            }
            c.acked_below = ack;
        }
        if call_id < c.acked_below && !c.records.contains_key(&call_id) {
            return Begin::Stale;
        }
        let held = c.records.len();
        match c.records.get_mut(&call_id) {
            Some(Record::Done(reply)) => Begin::Replay(reply.clone()),
            Some(Record::InProgress { waiters }) => {
                if !waiters.contains(&waiter) {
                    waiters.push(waiter);
                }
                Begin::Joined
            }
            None if held >= self.max_per_client => {
                Begin::TooManyOutstanding { limit: self.max_per_client }
            }
            None => {
                c.records.insert(call_id, Record::InProgress { waiters: vec![waiter] });
                Begin::Execute
            }
        }
    }

    /// Records the outcome of an executed call; returns everyone waiting for it.
    pub fn complete(&mut self, client: u128, call_id: u64, reply: StoredReply) -> Vec<Waiter> {
        let Some(c) = self.clients.get_mut(&client) else { return Vec::new() };
        match c.records.insert(call_id, Record::Done(reply)) {
            Some(Record::InProgress { waiters }) => waiters,
            _ => Vec::new(),
        }
    }

    /// Forgets a call whose handler never ran (refused, expired, cancelled before start), so a
    /// retry may execute it; returns everyone waiting for it.
    pub fn abandon(&mut self, client: u128, call_id: u64) -> Vec<Waiter> {
        let Some(c) = self.clients.get_mut(&client) else { return Vec::new() };
        match c.records.remove(&call_id) {
            Some(Record::InProgress { waiters }) => waiters,
            Some(done @ Record::Done(_)) => {
                // Never forget an outcome that was produced.
                c.records.insert(call_id, done);
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// Removes `waiter` from every call it waits on (its connection closed).
    pub fn drop_waiters_of(&mut self, connection: usize) {
        for c in self.clients.values_mut() {
            for r in c.records.values_mut() {
                if let Record::InProgress { waiters } = r {
                    waiters.retain(|w| w.connection != connection);
                }
            }
        }
    }

    /// Forgets clients idle past the lease with nothing in progress.
    pub fn expire(&mut self, now: Instant) {
        let lease = self.lease;
        self.clients.retain(|_, c| {
            now.duration_since(c.last_seen) < lease
                || c.records.values().any(|r| matches!(r, Record::InProgress { .. }))
        });
    }

    /// Records held for `client` (for tests and metrics).
    pub fn len_for(&self, client: u128) -> usize {
        self.clients.get(&client).map_or(0, |c| c.records.len())
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
        Waiter { connection, call_id }
    }

    #[test]
    fn a_duplicate_of_a_completed_call_gets_the_recorded_reply() {
        let now = Instant::now();
        let mut s = RecordStore::new(8, Duration::from_secs(60));
        assert_eq!(s.begin(1, 5, 0, w(1, 5), now), Begin::Execute);
        assert_eq!(s.complete(1, 5, reply(b"r")), vec![w(1, 5)]);
        assert_eq!(s.begin(1, 5, 0, w(2, 5), now), Begin::Replay(reply(b"r")));
    }

    #[test]
    fn a_duplicate_of_a_running_call_waits_for_the_first_execution() {
        let now = Instant::now();
        let mut s = RecordStore::new(8, Duration::from_secs(60));
        assert_eq!(s.begin(1, 5, 0, w(1, 5), now), Begin::Execute);
        assert_eq!(s.begin(1, 5, 0, w(2, 5), now), Begin::Joined);
        assert_eq!(s.complete(1, 5, reply(b"r")), vec![w(1, 5), w(2, 5)]);
    }

    #[test]
    fn acknowledgements_free_records_and_make_duplicates_stale() {
        let now = Instant::now();
        let mut s = RecordStore::new(8, Duration::from_secs(60));
        for id in 1..=3 {
            assert_eq!(s.begin(1, id, 1, w(1, id), now), Begin::Execute);
            s.complete(1, id, reply(b"x"));
        }
        assert_eq!(s.len_for(1), 3);
        assert_eq!(s.begin(1, 4, 3, w(1, 4), now), Begin::Execute);
        assert_eq!(s.len_for(1), 2, "ids 1 and 2 acknowledged");
        assert_eq!(s.begin(1, 1, 3, w(1, 1), now), Begin::Stale);
    }

    #[test]
    fn the_record_limit_refuses_instead_of_forgetting() {
        let now = Instant::now();
        let mut s = RecordStore::new(2, Duration::from_secs(60));
        assert_eq!(s.begin(1, 1, 0, w(1, 1), now), Begin::Execute);
        assert_eq!(s.begin(1, 2, 0, w(1, 2), now), Begin::Execute);
        assert_eq!(s.begin(1, 3, 0, w(1, 3), now), Begin::TooManyOutstanding { limit: 2 });
        // Other clients are unaffected.
        assert_eq!(s.begin(2, 1, 0, w(2, 1), now), Begin::Execute);
    }

    #[test]
    fn abandoned_calls_may_run_on_retry_but_outcomes_are_never_forgotten() {
        let now = Instant::now();
        let mut s = RecordStore::new(8, Duration::from_secs(60));
        assert_eq!(s.begin(1, 1, 0, w(1, 1), now), Begin::Execute);
        assert_eq!(s.abandon(1, 1), vec![w(1, 1)]);
        assert_eq!(s.begin(1, 1, 0, w(1, 1), now), Begin::Execute);
        s.complete(1, 1, reply(b"done"));
        assert!(s.abandon(1, 1).is_empty());
        assert_eq!(s.begin(1, 1, 0, w(1, 1), now), Begin::Replay(reply(b"done")));
    }

    #[test]
    fn leases_expire_idle_clients_but_not_running_calls() {
        let t0 = Instant::now();
        let mut s = RecordStore::new(8, Duration::from_secs(10));
        assert_eq!(s.begin(1, 1, 0, w(1, 1), t0), Begin::Execute);
        assert_eq!(s.begin(2, 1, 0, w(2, 1), t0), Begin::Execute);
        s.complete(2, 1, reply(b"x"));
        s.expire(t0 + Duration::from_secs(11));
        assert_eq!(s.len_for(1), 1, "in progress: kept");
        assert_eq!(s.len_for(2), 0, "idle and complete: expired");
    }
}
