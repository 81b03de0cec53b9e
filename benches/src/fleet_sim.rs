//! A deterministic simulation of a fleet: many clients, each balancing its calls over a
//! subset of many endpoints with `ferry_runtime::balance` (the same picker, ejection and
//! retry budget the channel uses), endpoints whose latency grows with their load, some
//! slow, some failing (refusing at once, or black-holed: accepting and never answering),
//! and churn (endpoints removed and added). Time is simulated, so 1 000 endpoints and
//! 10 000 clients run on one core in seconds, and a seed reproduces a run exactly.
//!
//! It reports what the fleet issue asks of a balancer: the load spread (max ÷ mean calls
//! outstanding over the healthy endpoints), how long until a failed endpoint gets no more
//! calls, and retry amplification (attempts ÷ calls) when every endpoint fails.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use ferry_runtime::balance::{
    Balancer, BalancerConfig, EndpointId, Outcome, RetryBudget, RetryBudgetConfig, Rng,
};

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub endpoints: usize,
    pub clients: usize,
    /// Endpoints each client balances over (a random subset, as large fleets do); all if
    /// larger than `endpoints`.
    pub subset: usize,
    /// Calls per second per client (Poisson arrivals).
    pub rate: f64,
    /// Simulated time.
    pub duration: Duration,
    /// An endpoint's mean latency when idle is drawn between these, and grows by
    /// `1 + outstanding / capacity`.
    pub latency: (Duration, Duration),
    pub capacity: f64,
    /// This fraction of endpoints is 10 × slower than drawn.
    pub slow_fraction: f64,
    /// Endpoints whose process dies at `fail_at`: the host's kernel closes their
    /// connections (every client sees its connection end at once) and refuses new ones
    /// (clients reconnect with backoff, and keep failing).
    pub refusing: usize,
    /// Endpoints that from `fail_at` answer every call at once with a "did not run"
    /// error (overloaded, unavailable): only their failures tell.
    pub erroring: usize,
    /// Endpoints that start black-holing every call at `fail_at`; clients' keepalive drops
    /// their connections `keepalive` later.
    pub blackholed: usize,
    pub fail_at: Duration,
    /// Every endpoint errors from `fail_at` (for retry amplification).
    pub all_fail: bool,
    /// Per call.
    pub deadline: Duration,
    pub keepalive: Duration,
    /// Endpoints replaced (one removed, a new one added) per simulated second.
    pub churn_per_second: f64,
    pub seed: u64,
}

impl SimConfig {
    /// The size: 1 000 endpoints, 10 000 clients.
    pub fn full() -> SimConfig {
        SimConfig {
            endpoints: 1000,
            clients: 10_000,
            subset: 100,
            rate: 50.0,
            duration: Duration::from_secs(20),
            ..SimConfig::small()
        }
    }

    /// A bounded run for tests: 100 endpoints, 1 000 clients.
    pub fn small() -> SimConfig {
        SimConfig {
            endpoints: 100,
            clients: 1000,
            subset: 20,
            rate: 20.0,
            duration: Duration::from_secs(16),
            latency: (Duration::from_millis(20), Duration::from_millis(100)),
            capacity: 32.0,
            slow_fraction: 0.05,
            refusing: 1,
            erroring: 1,
            blackholed: 1,
            fail_at: Duration::from_secs(6),
            all_fail: false,
            deadline: Duration::from_secs(1),
            keepalive: Duration::from_secs(5),
            churn_per_second: 0.5,
            seed: 1,
        }
    }
}

/// What a run measured.
#[derive(Clone, Debug, Default)]
pub struct SimReport {
    /// Calls made (first attempts) and attempts sent (with retries).
    pub calls: u64,
    pub attempts: u64,
    /// Calls that ended answered, and failed.
    pub answered: u64,
    pub failed: u64,
    /// Load spread before any failure: mean over samples (every 100 ms from 2 s on) of max
    /// ÷ mean calls outstanding over the healthy endpoints.
    pub spread_mean: f64,
    pub spread_max: f64,
    /// For each failed endpoint, from its failure until the calls the fleet sends it over
    /// the next second average under 5 % of an average endpoint's before the failure
    /// (`None`: never within the run).
    pub route_around_refusing: Vec<Option<Duration>>,
    pub route_around_erroring: Vec<Option<Duration>>,
    pub route_around_blackholed: Vec<Option<Duration>>,
    /// The first erroring endpoint's calls in each second after its failure, as a fraction
    /// of an average endpoint's before it.
    pub erroring_share: Vec<f64>,
    /// Endpoints removed and added by churn.
    pub replaced: u64,
}

impl SimReport {
    /// Attempts ÷ calls.
    pub fn amplification(&self) -> f64 {
        self.attempts as f64 / self.calls.max(1) as f64
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// A client makes a call.
    Call { client: u32 },
    /// An attempt ends at its endpoint (answer, refusal or deadline).
    Done { client: u32, endpoint: u32, started_ns: u64, failed: bool },
    /// Clients drop their connections to a black-holed endpoint (keepalive).
    KeepaliveLost { endpoint: u32 },
    /// A client tries again to connect to an endpoint that refused it.
    Reconnect { client: u32, endpoint: u32, backoff_ms: u32 },
    /// Replace an endpoint.
    Churn,
    /// Measure the spread.
    Sample,
}

#[derive(Clone, Debug)]
struct Endpoint {
    latency_ns: f64,
    outstanding: u32,
    alive: bool,
    failure: Failure,
    /// Calls sent per 100 ms bucket.
    buckets: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    None,
    Refusing,
    Erroring,
    Blackholed,
}

struct Client {
    balancer: Balancer,
    budget: RetryBudget,
    subset: Vec<u32>,
}

/// Runs the simulation `config` describes.
pub fn run(config: &SimConfig) -> SimReport {
    // Simulated time starts an hour from now, so that "a minute before the start" (the
    // initial fleet, already warm) is an `Instant` too.
    let t0 = Instant::now() + Duration::from_secs(3600);
    let at = |ns: u64| t0 + Duration::from_nanos(ns);
    let bucket_ns = 100_000_000u64;
    let buckets = (config.duration.as_nanos() as u64 / bucket_ns + 1) as usize;
    let (lo, hi) = (config.latency.0.as_nanos() as f64, config.latency.1.as_nanos() as f64);
    let new_endpoint = |rng: &mut Rng| {
        let mut latency_ns = lo + (hi - lo) * rng.unit();
        if rng.unit() < config.slow_fraction {
            latency_ns *= 10.0;
        }
        Endpoint {
            latency_ns,
            outstanding: 0,
            alive: true,
            failure: Failure::None,
            buckets: vec![0; buckets],
        }
    };
    let mut rng = Rng::new(config.seed);
    let endpoints: Vec<Endpoint> = (0..config.endpoints).map(|_| new_endpoint(&mut rng)).collect();
    let subset = config.subset.min(config.endpoints).max(1);
    let balancer_config =
        BalancerConfig { warm_up: Duration::from_secs(1), ..BalancerConfig::default() };
    let mut clients: Vec<Client> = (0..config.clients)
        .map(|c| {
            let mut balancer = Balancer::new(balancer_config.clone(), config.seed ^ (c as u64 + 1));
            let mut chosen = Vec::with_capacity(subset);
            while chosen.len() < subset {
                let e = rng.below(config.endpoints) as u32;
                if !chosen.contains(&e) {
                    chosen.push(e);
                }
            }
            for &e in &chosen {
                // Present from the start: no warm-up for the initial fleet.
                balancer.add(EndpointId(e.into()), 1.0, t0 - Duration::from_secs(60));
                balancer.set_ready(EndpointId(e.into()), true);
            }
            Client {
                balancer,
                budget: RetryBudget::new(RetryBudgetConfig::default(), t0),
                subset: chosen,
            }
        })
        .collect();
    // Which endpoints fail.
    let mut order: Vec<u32> = (0..config.endpoints as u32).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut failing = order.iter().copied();
    let refusing: Vec<u32> = failing.by_ref().take(config.refusing).collect();
    let erroring: Vec<u32> = failing.by_ref().take(config.erroring).collect();
    let blackholed: Vec<u32> = failing.take(config.blackholed).collect();
    let doomed = |v: u32| refusing.contains(&v) || erroring.contains(&v) || blackholed.contains(&v);
    let fail_ns = config.fail_at.as_nanos() as u64;
    let end_ns = config.duration.as_nanos() as u64;

    let mut fleet = Fleet {
        config,
        bucket_ns,
        endpoints,
        rng,
        queue: BinaryHeap::new(),
        seq: 0,
        report: SimReport::default(),
    };
    let exp = |rng: &mut Rng, mean_ns: f64| -> u64 { (-(1.0 - rng.unit()).ln() * mean_ns) as u64 };
    let gap_ns = 1e9 / config.rate.max(1e-9);
    for c in 0..config.clients as u32 {
        let t = exp(&mut fleet.rng, gap_ns);
        fleet.push(t, Event::Call { client: c });
    }
    if config.churn_per_second > 0.0 {
        fleet.push((1e9 / config.churn_per_second) as u64, Event::Churn);
    }
    fleet.push(100_000_000, Event::Sample);
    let mut spreads = Vec::new();
    let mut failed_yet = false;

    while let Some(Reverse((now_ns, _, event))) = fleet.queue.pop() {
        if now_ns > end_ns {
            break;
        }
        let now = at(now_ns);
        if !failed_yet && now_ns >= fail_ns {
            failed_yet = true;
            for i in 0..fleet.endpoints.len() {
                let endpoint = i as u32;
                if config.all_fail || erroring.contains(&endpoint) {
                    fleet.endpoints[i].failure = Failure::Erroring;
                } else if refusing.contains(&endpoint) {
                    fleet.endpoints[i].failure = Failure::Refusing;
                    // The kernel closes its connections: every client sees it at once.
                    let id = EndpointId(endpoint.into());
                    for (n, c) in clients.iter_mut().enumerate() {
                        if c.subset.contains(&endpoint) {
                            c.balancer.set_ready(id, false);
                            let again =
                                Event::Reconnect { client: n as u32, endpoint, backoff_ms: 1000 };
                            let jitter = (fleet.rng.unit() * 1e9) as u64;
                            fleet.push(now_ns + 500_000_000 + jitter, again);
                        }
                    }
                } else if blackholed.contains(&endpoint) {
                    fleet.endpoints[i].failure = Failure::Blackholed;
                    let lost = now_ns + config.keepalive.as_nanos() as u64;
                    fleet.push(lost, Event::KeepaliveLost { endpoint });
                }
            }
        }
        match event {
            Event::Call { client } => {
                fleet.report.calls += 1;
                let c = &mut clients[client as usize];
                c.budget.deposit(now);
                fleet.send(c, client, now_ns, now, &[]);
                let next = now_ns + exp(&mut fleet.rng, gap_ns);
                fleet.push(next, Event::Call { client });
            }
            Event::Done { client, endpoint, started_ns, failed } => {
                let c = &mut clients[client as usize];
                let ep = &mut fleet.endpoints[endpoint as usize];
                ep.outstanding = ep.outstanding.saturating_sub(1);
                if failed && ep.failure == Failure::Refusing {
                    // The connection is gone and the next connect is refused: not ready
                    // until a reconnect succeeds (its handshake, not its attempt).
                    c.balancer.set_ready(EndpointId(endpoint.into()), false);
                    let again = Event::Reconnect { client, endpoint, backoff_ms: 1000 };
                    fleet.push(now_ns + 1_000_000_000, again);
                }
                let latency = Duration::from_nanos(now_ns - started_ns);
                let id = EndpointId(endpoint.into());
                let outcome = if failed { Outcome::Failed } else { Outcome::Answered };
                c.balancer.finished(id, now, latency, outcome);
                if !failed {
                    fleet.report.answered += 1;
                } else if c.budget.try_withdraw(now) {
                    // A refused call provably did not run: it may go to another endpoint.
                    fleet.send(c, client, now_ns, now, &[id]);
                } else {
                    fleet.report.failed += 1;
                }
            }
            Event::Reconnect { client, endpoint, backoff_ms } => {
                let c = &mut clients[client as usize];
                if !c.subset.contains(&endpoint) {
                    // Churn removed it meanwhile.
                } else if fleet.endpoints[endpoint as usize].failure == Failure::Refusing {
                    let backoff_ms = (backoff_ms * 2).min(30_000);
                    let again = Event::Reconnect { client, endpoint, backoff_ms };
                    fleet.push(now_ns + u64::from(backoff_ms) * 1_000_000, again);
                } else {
                    c.balancer.set_ready(EndpointId(endpoint.into()), true);
                }
            }
            Event::KeepaliveLost { endpoint } => {
                for c in clients.iter_mut() {
                    c.balancer.set_ready(EndpointId(endpoint.into()), false);
                }
            }
            Event::Churn => {
                // One endpoint leaves (not a failed one, to keep the failure figures clean)
                // and a new one joins, announced to every client that had the old one.
                let victim = loop {
                    let v = fleet.rng.below(fleet.endpoints.len()) as u32;
                    let e = &fleet.endpoints[v as usize];
                    if e.alive && e.failure == Failure::None && !doomed(v) {
                        break v;
                    }
                };
                fleet.endpoints[victim as usize].alive = false;
                fleet.endpoints.push(new_endpoint(&mut fleet.rng));
                let fresh = (fleet.endpoints.len() - 1) as u32;
                fleet.report.replaced += 1;
                for c in clients.iter_mut() {
                    if let Some(slot) = c.subset.iter().position(|&e| e == victim) {
                        c.balancer.remove(EndpointId(victim.into()));
                        c.subset[slot] = fresh;
                        c.balancer.add(EndpointId(fresh.into()), 1.0, now);
                        c.balancer.set_ready(EndpointId(fresh.into()), true);
                    }
                }
                fleet.push(now_ns + (1e9 / config.churn_per_second) as u64, Event::Churn);
            }
            Event::Sample => {
                // After the start's transient (every endpoint unmeasured, outstanding calls
                // of the slow ones lasting up to a second), before any failure.
                if now_ns >= 2_000_000_000 && now_ns < fail_ns {
                    let live: Vec<f64> = fleet
                        .endpoints
                        .iter()
                        .filter(|e| e.alive && e.failure == Failure::None)
                        .map(|e| f64::from(e.outstanding))
                        .collect();
                    let mean = live.iter().sum::<f64>() / live.len().max(1) as f64;
                    let max = live.iter().cloned().fold(0.0, f64::max);
                    if mean > 0.0 {
                        spreads.push(max / mean);
                    }
                }
                fleet.push(now_ns + 100_000_000, Event::Sample);
            }
        }
    }
    fleet.report.spread_mean = spreads.iter().sum::<f64>() / spreads.len().max(1) as f64;
    fleet.report.spread_max = spreads.iter().cloned().fold(0.0, f64::max);
    let fail_bucket = (fail_ns / bucket_ns) as usize;
    // Routed around: from the first 100 ms bucket after which the endpoint's calls over
    // the next second average under 5 % of an average endpoint's in the 2 s before the
    // failure (probes after an ejection, a few calls a second, are allowed). The fleet's
    // average, not the endpoint's own: a slow endpoint already had a small share.
    let before = fail_bucket.saturating_sub(20)..fail_bucket;
    let live = fleet.endpoints.iter().filter(|e| e.alive).count().max(1) as f64;
    let total: f64 = fleet
        .endpoints
        .iter()
        .map(|e| e.buckets[before.clone()].iter().map(|&n| f64::from(n)).sum::<f64>())
        .sum();
    let share = total / live / before.len().max(1) as f64;
    let route_around = |e: &Endpoint| -> Option<Duration> {
        (fail_bucket..buckets.saturating_sub(10))
            .find(|&b| {
                let next = &e.buckets[b..b + 10];
                next.iter().map(|&n| f64::from(n)).sum::<f64>() / 10.0 <= share * 0.05
            })
            .map(|b| Duration::from_nanos((b - fail_bucket) as u64 * bucket_ns))
    };
    fleet.report.route_around_refusing =
        refusing.iter().map(|&e| route_around(&fleet.endpoints[e as usize])).collect();
    if let Some(&e) = erroring.first() {
        let b = &fleet.endpoints[e as usize].buckets;
        fleet.report.erroring_share = (fail_bucket..buckets.saturating_sub(10))
            .step_by(10)
            .map(|s| b[s..s + 10].iter().map(|&n| f64::from(n)).sum::<f64>() / 10.0 / share)
            .collect();
    }
    fleet.report.route_around_erroring =
        erroring.iter().map(|&e| route_around(&fleet.endpoints[e as usize])).collect();
    fleet.report.route_around_blackholed =
        blackholed.iter().map(|&e| route_around(&fleet.endpoints[e as usize])).collect();
    fleet.report
}

/// The endpoints, the event queue and what is measured: what every event handler touches.
struct Fleet<'a> {
    config: &'a SimConfig,
    bucket_ns: u64,
    endpoints: Vec<Endpoint>,
    rng: Rng,
    /// Events by time, then by the order they were queued (runs reproduce exactly).
    queue: BinaryHeap<Reverse<(u64, u64, Event)>>,
    seq: u64,
    report: SimReport,
}

impl Fleet<'_> {
    fn push(&mut self, at_ns: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse((at_ns, self.seq, event)));
    }

    /// Sends one attempt of a client's call to the endpoint its balancer picks (not
    /// `exclude`, where an earlier attempt went).
    fn send(
        &mut self,
        c: &mut Client,
        client: u32,
        now_ns: u64,
        now: Instant,
        exclude: &[EndpointId],
    ) {
        let Some(id) = c.balancer.pick(now, exclude) else {
            self.report.failed += 1; // nothing to send to: not sent, so not run
            return;
        };
        self.report.attempts += 1;
        c.balancer.started(id);
        let endpoint = id.0 as u32;
        let ep = &mut self.endpoints[endpoint as usize];
        ep.outstanding += 1;
        if let Some(b) = ep.buckets.get_mut((now_ns / self.bucket_ns) as usize) {
            *b += 1;
        }
        let deadline = self.config.deadline.as_nanos() as u64;
        let (after, failed) = match ep.failure {
            // A refused connect, and an immediate "did not run" answer: a tenth of a
            // millisecond.
            Failure::Refusing | Failure::Erroring => (100_000, true),
            Failure::Blackholed => (deadline, true),
            Failure::None => {
                let mean = ep.latency_ns * (1.0 + f64::from(ep.outstanding) / self.config.capacity);
                let took = (-(1.0 - self.rng.unit()).ln() * mean) as u64;
                // Past its deadline the caller gives up: a failure of the endpoint's.
                if took > deadline {
                    (deadline, true)
                } else {
                    (took, false)
                }
            }
        };
        let done = Event::Done { client, endpoint, started_ns: now_ns, failed };
        self.push(now_ns + after.max(1), done);
    }
}
