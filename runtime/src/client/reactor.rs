//! The process's client I/O: a small fixed set of threads ("lanes", one by default) that
//! drive the connections of every `Client` in the process, so a process with a thousand
//! upstream connections runs one I/O thread, not a thousand.
//!
//! Each lane owns a mio `Poll` and the drivers given to it (a client's session and socket,
//! `driver::Driver`), keyed by slot: a driver's socket is token `2 × slot`, the connection
//! it is draining `2 × slot + 1`. Clients tell their lane that a driver needs a turn (calls
//! or cancels queued, a caller stopped driving with a timer due) through the lane's inbox
//! and `Waker`; the lane keeps every driver's next timer in one ordered set, lazily pruned.
//! Decisions stay the sessions'; a lane only moves bytes and time, as the server loop does.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Registry, Token, Waker};

use super::driver::{nanos, ArmedUntil, Driver};

const WAKER: Token = Token(usize::MAX);

/// The lanes, started with the first client.
struct Reactor {
    lanes: Vec<Arc<Lane>>,
    next: AtomicUsize,
}

static REACTOR: OnceLock<io::Result<Reactor>> = OnceLock::new();
static LANES_WANTED: AtomicUsize = AtomicUsize::new(0);

/// Sets how many client I/O threads the process runs (default 1, or
/// `FERRY_CLIENT_IO_THREADS`). Takes effect only before the first `Client` is made;
/// returns false after.
pub fn set_client_io_threads(threads: usize) -> bool {
    LANES_WANTED.store(threads.max(1), Ordering::SeqCst);
    REACTOR.get().is_none()
}

fn lanes_wanted() -> usize {
    match LANES_WANTED.load(Ordering::SeqCst) {
        0 => std::env::var("FERRY_CLIENT_IO_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, 64),
        n => n,
    }
}

fn reactor() -> io::Result<&'static Reactor> {
    let r = REACTOR.get_or_init(|| {
        let mut lanes = Vec::new();
        for index in 0..lanes_wanted() {
            lanes.push(Lane::start(index)?);
        }
        Ok(Reactor { lanes, next: AtomicUsize::new(0) })
    });
    r.as_ref().map_err(|e| io::Error::new(e.kind(), format!("client I/O threads: {e}")))
}

/// One I/O thread's shared face.
pub(super) struct Lane {
    registry: Arc<Registry>,
    waker: Waker,
    inbox: Mutex<Inbox>,
    /// When the lane's current sleep ends (`nanos`; 0 while it is awake).
    armed_until: ArmedUntil,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inbox {
    added: Vec<(usize, Arc<Mutex<Driver>>, Arc<SeatFlags>)>,
    /// Drivers that want a turn.
    ready: Vec<usize>,
    removed: Vec<usize>,
    next_slot: usize,
    /// Slots given back, reused before new ones.
    free: Vec<usize>,
}

/// A client's place on a lane.
#[derive(Debug)]
pub(super) struct Seat {
    lane: Arc<Lane>,
    slot: usize,
    flags: Arc<SeatFlags>,
}

/// What a client and its lane tell each other without a lock.
#[derive(Debug, Default)]
pub(super) struct SeatFlags {
    /// The slot is on the lane's ready list: it is listed once however often it is
    /// readied before its turn (a burst of calls costs one entry and one wake-up).
    listed: AtomicBool,
    /// The lane was woken for this slot since it last took its list: a burst of calls
    /// costs one wake-up. (Separate from `listed`: `ready_before` may list a slot without
    /// waking the lane, and a call queued after that must still wake it.)
    woken: AtomicBool,
    /// The lane found the driver held by a caller and skipped its turn: the caller, when
    /// it stops driving, gives the lane a turn at once. (The lane never waits for a
    /// driver: a caller blocked on its socket would stall every client of the lane.)
    missed: AtomicBool,
}

impl Seat {
    /// A place on the next lane (round-robin), with its tokens.
    pub fn take() -> io::Result<Seat> {
        let r = reactor()?;
        let lane = Arc::clone(&r.lanes[r.next.fetch_add(1, Ordering::Relaxed) % r.lanes.len()]);
        let slot = {
            let mut inbox = lane.lock();
            inbox.free.pop().unwrap_or_else(|| {
                inbox.next_slot += 1;
                inbox.next_slot - 1
            })
        };
        Ok(Seat { lane, slot, flags: Arc::default() })
    }

    pub fn socket_token(&self) -> Token {
        Token(self.slot * 2)
    }

    pub fn retiring_token(&self) -> Token {
        Token(self.slot * 2 + 1)
    }

    pub fn registry(&self) -> Arc<Registry> {
        Arc::clone(&self.lane.registry)
    }

    /// Hands the lane its driver.
    pub fn board(&self, driver: Arc<Mutex<Driver>>) {
        self.lane.lock().added.push((self.slot, driver, Arc::clone(&self.flags)));
        self.lane.wake();
    }

    /// The driver wants a turn now (calls or cancels queued).
    pub fn ready(&self) {
        if !self.flags.listed.swap(true, Ordering::AcqRel) {
            self.lane.lock().ready.push(self.slot);
        }
        if !self.flags.woken.swap(true, Ordering::AcqRel) {
            self.lane.wake();
        }
    }

    /// A caller stopped driving and the session's next timer is `due`: the lane looks at
    /// the driver by then (at once if it sleeps past `due`).
    pub fn ready_before(&self, due: Instant) {
        if self.flags.missed.swap(false, Ordering::SeqCst) {
            // The lane skipped this driver while the caller held it: its turn is now.
            return self.ready();
        }
        if !self.flags.listed.swap(true, Ordering::AcqRel) {
            self.lane.lock().ready.push(self.slot);
        }
        let armed = self.lane.armed_until.load(Ordering::Acquire);
        if armed != 0 && armed > nanos(due) && !self.flags.woken.swap(true, Ordering::AcqRel) {
            self.lane.wake();
        }
    }

    /// The client is gone (its driver closed): the lane forgets the slot.
    pub fn leave(&self) {
        self.lane.lock().removed.push(self.slot);
        self.lane.wake();
    }
}

impl Lane {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wake(&self) {
        // A failed wake means the lane is gone; nothing waits there.
        let _ = self.waker.wake();
    }

    fn start(index: usize) -> io::Result<Arc<Lane>> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let lane = Arc::new(Lane {
            registry: Arc::new(poll.registry().try_clone()?),
            waker,
            inbox: Mutex::default(),
            armed_until: ArmedUntil::new(0),
        });
        let shared = Arc::clone(&lane);
        std::thread::Builder::new()
            .name(format!("ferry-client-io-{index}"))
            .spawn(move || LaneLoop::new(poll, shared).run())?;
        Ok(lane)
    }
}

/// The lane thread's own state.
struct LaneLoop {
    poll: Poll,
    lane: Arc<Lane>,
    drivers: HashMap<usize, (Arc<Mutex<Driver>>, Arc<SeatFlags>)>,
    /// Events of drivers whose turn was skipped (held by a caller), for their next turn.
    missed: HashMap<usize, (bool, bool)>,
    /// Each driver's armed timer, and the same ordered by time (entries not matching
    /// `armed` are stale and skipped).
    armed: HashMap<usize, Instant>,
    timers: BTreeSet<(Instant, usize)>,
}

impl LaneLoop {
    fn new(poll: Poll, lane: Arc<Lane>) -> Self {
        LaneLoop {
            poll,
            lane,
            drivers: HashMap::new(),
            missed: HashMap::new(),
            armed: HashMap::new(),
            timers: BTreeSet::new(),
        }
    }

    fn run(mut self) {
        let mut events = Events::with_capacity(256);
        let mut turns = Turns::default();
        loop {
            self.take_inbox(&mut turns);
            self.run_turns(&mut turns);
            let now = Instant::now();
            let timeout = self
                .timers
                .first()
                .map_or(Duration::from_secs(60), |(at, _)| at.saturating_duration_since(now));
            // Published before sleeping: a caller that needs a turn sooner wakes the lane.
            self.lane.armed_until.store(nanos(now + timeout), Ordering::Release);
            // Work that came in meanwhile must not wait for the timeout.
            let timeout = if self.lane.lock().ready.is_empty() { timeout } else { Duration::ZERO };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!("client I/O poll failed: {e}; its clients' calls fail");
                    for (driver, _) in self.drivers.values() {
                        driver.lock().unwrap_or_else(|p| p.into_inner()).close();
                    }
                    return;
                }
            }
            self.lane.armed_until.store(0, Ordering::Release);
            for event in events.iter() {
                if event.token() == WAKER {
                    continue;
                }
                let (slot, retiring) = (event.token().0 / 2, event.token().0 % 2 == 1);
                turns.want(slot, !retiring, retiring);
            }
            // Drivers boarded before their sockets were registered are in the inbox by now
            // (the client boards before its first connect), and must be known before their
            // events are handed out; drivers readied meanwhile join their event's turn.
            self.take_inbox(&mut turns);
            self.run_turns(&mut turns);
            let now = Instant::now();
            while let Some(&(at, slot)) = self.timers.first() {
                if at > now {
                    break;
                }
                self.timers.pop_first();
                if self.armed.get(&slot) == Some(&at) {
                    self.armed.remove(&slot);
                    self.turn(slot, false, false);
                }
            }
        }
    }

    fn run_turns(&mut self, turns: &mut Turns) {
        let mut batch = std::mem::take(&mut turns.batch);
        batch.extend(turns.wanted.drain().map(|(slot, (s, r))| (slot, s, r)));
        for (slot, socket, retiring) in batch.drain(..) {
            self.turn(slot, socket, retiring);
        }
        turns.batch = batch;
    }

    /// New drivers and drivers that want a turn (added to `turns`), drivers gone.
    fn take_inbox(&mut self, turns: &mut Turns) {
        let (added, ready, removed) = {
            let mut inbox = self.lane.lock();
            (
                std::mem::take(&mut inbox.added),
                std::mem::take(&mut inbox.ready),
                std::mem::take(&mut inbox.removed),
            )
        };
        for (slot, driver, flags) in added {
            self.drivers.insert(slot, (driver, flags));
            turns.want(slot, false, false);
        }
        for slot in ready {
            if let Some((_, flags)) = self.drivers.get(&slot) {
                // Before the turn: what is queued after this point lists it again.
                flags.listed.store(false, Ordering::Release);
                flags.woken.store(false, Ordering::Release);
            }
            turns.want(slot, false, false);
        }
        if !removed.is_empty() {
            for slot in &removed {
                self.drivers.remove(slot);
                self.missed.remove(slot);
                turns.wanted.remove(slot);
                if let Some(at) = self.armed.remove(slot) {
                    self.timers.remove(&(at, *slot));
                }
            }
            self.lane.lock().free.extend(removed);
        }
        if self.drivers.is_empty() && self.drivers.capacity() > 64 {
            self.drivers = HashMap::new();
        }
    }

    /// One driver's turn, then its next timer.
    fn turn(&mut self, slot: usize, mut socket: bool, mut retiring: bool) {
        let Some((driver, flags)) = self.drivers.get(&slot) else {
            if socket || retiring {
                // Not boarded yet (or gone): kept for its first turn; harmless if stale.
                let m = self.missed.entry(slot).or_default();
                (m.0, m.1) = (m.0 || socket, m.1 || retiring);
            }
            return;
        };
        if let Some((s, r)) = self.missed.remove(&slot) {
            (socket, retiring) = (socket || s, retiring || r);
        }
        let next = {
            let take = || match driver.try_lock() {
                Ok(d) => Some(d),
                Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            };
            let d = match take() {
                Some(d) => Some(d),
                None => {
                    // Said before trying again: a holder that lets go after this sees it.
                    flags.missed.store(true, Ordering::SeqCst);
                    take().inspect(|_| flags.missed.store(false, Ordering::SeqCst))
                }
            };
            let Some(mut d) = d else {
                self.missed.insert(slot, (socket, retiring));
                return;
            };
            if d.closing {
                return; // its client closes it (Drop) and then leaves
            }
            d.on_wake(socket, retiring);
            d.next_timer()
        };
        if self.armed.get(&slot).is_some_and(|at| *at <= next) {
            return; // an earlier (or this) timer is armed; it re-arms when it fires
        }
        if let Some(old) = self.armed.insert(slot, next) {
            self.timers.remove(&(old, slot));
        }
        self.timers.insert((next, slot));
    }
}

/// Drivers that get a turn this round, with their events (socket, draining socket): one
/// turn per driver however many reasons it has, since each turn ends in a write.
#[derive(Default)]
struct Turns {
    wanted: HashMap<usize, (bool, bool)>,
    /// Reused for the round's list, so a round allocates nothing.
    batch: Vec<(usize, bool, bool)>,
}

impl Turns {
    fn want(&mut self, slot: usize, socket: bool, retiring: bool) {
        let t = self.wanted.entry(slot).or_default();
        (t.0, t.1) = (t.0 || socket, t.1 || retiring);
    }
}
