//! Busy-polling: when a thread may poll instead of sleeping, and for how long.
//!
//! A thread that will be handed work within microseconds (a caller awaiting its reply, an
//! event loop that just answered one) saves a wake-up — tens of µs on a VM — by polling
//! instead of sleeping. But polling takes a core, and when the thread it waits for needs
//! that core (client and server on one CPU, a sidecar, a loaded machine) every µs polled
//! delays the very reply it waits for: a 1-CPU container measured 25 × raw TCP's latency
//! with unconditional polling. So a thread polls only when all of these hold
//! (ARCHITECTURE.md, "Waiting"):
//!
//! 1. **A core is free for it in this process**: at most `cores − 1` threads poll at once,
//!    where `cores` is what the process may use (`available_parallelism`: the affinity mask
//!    and the cgroup CPU quota). With one CPU nothing ever polls.
//! 2. **The machine is not busy**: the kernel's count of runnable threads
//!    (`/proc/loadavg`, re-read at most every [`LOAD_REFRESH`]) exceeds its cores by at
//!    most one. This sees other processes, which the budget cannot.
//! 3. **Polling has been paying at this site**: every wait that polled to its end without
//!    the event arriving doubles how many of the site's next waits sleep at once (up to
//!    [`MAX_SKIP`]); one that caught its event resets it. A server whose replies take
//!    milliseconds stops polling after a few calls and costs nothing.
//!
//! The budget is shared by every client and server in the process because the cores are.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static SPINNING: AtomicUsize = AtomicUsize::new(0);

/// How often the machine's runnable-thread count is re-read.
const LOAD_REFRESH: Duration = Duration::from_millis(50);

/// At most this many waits in a row sleep at once after polling stopped paying.
const MAX_SKIP: u32 = 256;

/// The cores this process may use (affinity mask and cgroup quota, as the standard library
/// reads them).
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Threads allowed to poll at once: one core is always left for the threads doing the
/// work, so a process that may use one CPU never polls.
fn max_spinning() -> usize {
    cores().saturating_sub(1)
}

/// True when the machine's runnable threads leave a core free for one more poller.
fn machine_has_room() -> bool {
    static CHECKED_AT: AtomicU64 = AtomicU64::new(0);
    static ROOM: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    let now = u64::try_from(base.elapsed().as_millis()).unwrap_or(u64::MAX).max(1);
    let last = CHECKED_AT.load(Ordering::Relaxed);
    let refresh = LOAD_REFRESH.as_millis() as u64;
    if last == 0 || now.saturating_sub(last) >= refresh {
        // One thread re-reads; the others use the last answer meanwhile.
        if CHECKED_AT.compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            let room = match std::fs::read_to_string("/proc/loadavg") {
                Ok(text) => runnable_leaves_room(&text, cores()),
                // Not Linux, or /proc hidden: the process budget alone decides.
                Err(_) => true,
            };
            ROOM.store(room, Ordering::Relaxed);
        }
    }
    ROOM.load(Ordering::Relaxed)
}

/// `/proc/loadavg`'s fourth field is `runnable/total` scheduling entities, the reader
/// included. Polling is allowed while they exceed the machine's cores (not the process's
/// share: other processes run on them too) by at most one: a client and a server on two
/// cores run a poller, an I/O thread and an event loop, and counting the peer's poller as
/// load made each side defer to the other (16 calls in flight lost 45 % of their rate).
fn runnable_leaves_room(loadavg: &str, process_cores: usize) -> bool {
    let runnable = loadavg
        .split_whitespace()
        .nth(3)
        .and_then(|f| f.split('/').next())
        .and_then(|n| n.parse::<usize>().ok());
    let machine = machine_cores().max(process_cores);
    match runnable {
        Some(n) => n <= machine + 1,
        None => true,
    }
}

/// Online cores of the machine (not this process's share): `/proc/loadavg` counts threads
/// of every process.
fn machine_cores() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/system/cpu/online")
            .ok()
            .and_then(|s| parse_cpu_list(s.trim()))
            .unwrap_or_else(cores)
    })
}

/// `0-3,5,7-8` → 7.
fn parse_cpu_list(list: &str) -> Option<usize> {
    let mut n = 0;
    for part in list.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?);
                n += b.checked_sub(a)? + 1;
            }
            None => {
                part.parse::<usize>().ok()?;
                n += 1;
            }
        }
    }
    Some(n)
}

/// A place in the process's polling budget, given back on drop.
#[derive(Debug)]
pub(crate) struct Spinning(());

impl Spinning {
    /// A place if one is free.
    fn try_begin() -> Option<Spinning> {
        if SPINNING.fetch_add(1, Ordering::AcqRel) >= max_spinning() {
            SPINNING.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Spinning(()))
    }
}

impl Drop for Spinning {
    fn drop(&mut self) {
        SPINNING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One place that polls (a client's waiting callers, a server event loop): whether polling
/// pays here, learned from how its polls ended.
#[derive(Debug, Default)]
pub(crate) struct SpinSite {
    /// Waits that sleep at once before polling is tried again.
    skip: AtomicU32,
    /// How many waits to skip after the next miss (doubles per miss, up to `MAX_SKIP`).
    penalty: AtomicU32,
}

impl SpinSite {
    /// A place to poll for up to `limit`, or `None`: sleep instead.
    pub(crate) fn begin(&self, limit: Duration) -> Option<Spinning> {
        if limit.is_zero() {
            return None;
        }
        let skip = self.skip.load(Ordering::Relaxed);
        if skip > 0 {
            self.skip.store(skip - 1, Ordering::Relaxed);
            return None;
        }
        if max_spinning() == 0 || !machine_has_room() {
            return None;
        }
        Spinning::try_begin()
    }

    /// How the poll ended: `caught` if the event came while polling.
    pub(crate) fn end(&self, caught: bool) {
        if caught {
            self.penalty.store(0, Ordering::Relaxed);
        } else {
            let penalty = (self.penalty.load(Ordering::Relaxed) * 2).clamp(1, MAX_SKIP);
            self.penalty.store(penalty, Ordering::Relaxed);
            self.skip.store(penalty, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_bounded_and_given_back() {
        let held: Vec<Spinning> = std::iter::from_fn(Spinning::try_begin).take(1000).collect();
        assert_eq!(held.len(), max_spinning(), "one core is always left to the workers");
        assert!(Spinning::try_begin().is_none());
        drop(held);
        assert_eq!(Spinning::try_begin().is_some(), max_spinning() > 0);
    }

    #[test]
    fn misses_back_off_and_a_catch_resets() {
        let site = SpinSite::default();
        site.end(false);
        assert!(site.begin(Duration::from_micros(50)).is_none(), "one miss: the next wait sleeps");
        site.end(false);
        site.end(false);
        for _ in 0..4 {
            assert!(site.begin(Duration::from_micros(50)).is_none(), "three misses: four sleep");
        }
        assert_eq!(site.skip.load(Ordering::Relaxed), 0);
        site.end(true);
        site.end(false);
        assert_eq!(site.skip.load(Ordering::Relaxed), 1, "after a catch, a miss starts over");
        for _ in 0..20 {
            site.end(false);
        }
        assert_eq!(site.skip.load(Ordering::Relaxed), MAX_SKIP);
        assert!(SpinSite::default().begin(Duration::ZERO).is_none(), "zero: never polls");
    }

    #[test]
    fn the_machine_must_leave_a_core_free() {
        let four = machine_cores().max(4);
        assert!(runnable_leaves_room("0.5 0.4 0.3 1/300 42", four));
        assert!(runnable_leaves_room(&format!("3.0 2.0 1.0 {}/300 42", four + 1), four));
        assert!(!runnable_leaves_room(&format!("3.0 2.0 1.0 {}/300 42", four + 2), four));
        assert!(!runnable_leaves_room(&format!("9.0 9.0 9.0 {}/300 42", four + 5), four));
        assert!(runnable_leaves_room("garbage", four), "unreadable: the budget alone decides");
        assert_eq!(parse_cpu_list("0-3,5,7-8"), Some(7));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("x"), None);
    }
}
