//! Picking an endpoint and keeping score of each: load, latency, warm-up and health.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::Rng;

/// An endpoint, as its owner (a channel, a simulation) names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(pub u64);

/// How a finished call counts for its endpoint's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered (a handler's own error is an answer: the endpoint is well).
    Answered,
    /// The endpoint failed the call itself: refused the connection, answered "overloaded"
    /// or "unavailable", broke the connection, or let the deadline pass.
    Failed,
}

/// What a [`Balancer`] is tuned by. The defaults are those of the channel.
#[derive(Clone, Debug)]
pub struct BalancerConfig {
    /// A new endpoint's share ramps from a tenth to all of its weight over this time, so
    /// that it is not handed every call at once while its caches are cold. Default 5 s.
    pub warm_up: Duration,
    /// How fast the latency average forgets: a sample's weight halves after this long.
    /// Default 5 s.
    pub latency_half_life: Duration,
    /// Consecutive failures that eject an endpoint. Default 2: the first failure already
    /// keeps calls away for `failure_memory`, the second (the probe after it) ejects.
    pub eject_after: u32,
    /// The first ejection's length; each further one doubles it while the endpoint keeps
    /// failing, up to `ejection_max`; one answered call resets it. Default 30 s (Envoy's
    /// and gRPC's outlier detection).
    pub ejection_base: Duration,
    /// The longest ejection. Default 300 s.
    pub ejection_max: Duration,
    /// After a failure an endpoint's load counts `1 + 4 × failures in a row` times for
    /// `failure_memory × 2^(failures in a row − 1)`: it loses nearly every draw at once,
    /// long before failures enough to eject it come from a client that calls it rarely,
    /// and is tried again when that time has passed (one failure must not starve an
    /// endpoint; a probe that fails makes the next wait twice as long). It must be long
    /// beside the time between a client's calls to one endpoint, which in a large fleet is
    /// seconds (50 calls/s over 100 endpoints: one every 2 s). Default 10 s.
    pub failure_memory: Duration,
    /// At most this fraction of the endpoints is ejected at once (rounded down): past it a
    /// failing endpoint stays in use, since the failures may be the callers' own (a bad
    /// request, a network partition on the client side). Default 0.5.
    pub max_ejected_fraction: f64,
}

impl Default for BalancerConfig {
    fn default() -> Self {
        BalancerConfig {
            warm_up: Duration::from_secs(5),
            latency_half_life: Duration::from_secs(5),
            eject_after: 2,
            ejection_base: Duration::from_secs(30),
            ejection_max: Duration::from_secs(300),
            failure_memory: Duration::from_secs(10),
            max_ejected_fraction: 0.5,
        }
    }
}

/// One endpoint's figures ([`Balancer::stats`]).
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointStats {
    /// Calls picked for it and not finished.
    pub outstanding: u32,
    /// Its latency average, once it answered a call.
    pub latency: Option<Duration>,
    /// Its connection is up (handshake done): only ready endpoints are picked.
    pub ready: bool,
    /// Ejected now, for its failures.
    pub ejected: bool,
    /// Calls finished.
    pub calls: u64,
    /// Calls of those failed by the endpoint.
    pub failures: u64,
    /// Times it was ejected.
    pub ejections: u64,
}

#[derive(Clone, Debug)]
struct Endpoint {
    id: EndpointId,
    weight: f64,
    added: Instant,
    ready: bool,
    outstanding: u32,
    /// Latency average in nanoseconds and when it was last updated; `None` before the
    /// first answer.
    latency: Option<(f64, Instant)>,
    consecutive_failures: u32,
    last_failure: Option<Instant>,
    /// Ejections since the endpoint last answered: the next one lasts base × 2^this.
    strikes: u32,
    ejected_until: Option<Instant>,
    calls: u64,
    failures: u64,
    ejections: u64,
}

impl Endpoint {
    fn eligible(&self, now: Instant) -> bool {
        self.ready && self.ejected_until.is_none_or(|until| until <= now)
    }
}

/// The endpoints one client balances over, and its decisions (module docs).
#[derive(Clone, Debug)]
pub struct Balancer {
    config: BalancerConfig,
    endpoints: Vec<Endpoint>,
    by_id: HashMap<EndpointId, usize>,
    rng: Rng,
    /// The sum of the measured endpoints' latency averages, and how many they are.
    latency_sum: f64,
    measured: usize,
}

/// Random draws before `pick` falls back to a scan: with most endpoints eligible two are
/// found in a few draws, and a fleet mostly down is scanned rather than sampled forever.
const DRAWS: usize = 8;

impl Balancer {
    /// An empty balancer; `seed` makes its random choices reproducible.
    pub fn new(config: BalancerConfig, seed: u64) -> Balancer {
        Balancer {
            config,
            endpoints: Vec::new(),
            by_id: HashMap::new(),
            rng: Rng::new(seed),
            latency_sum: 0.0,
            measured: 0,
        }
    }

    /// Adds an endpoint (not ready until [`Balancer::set_ready`]), or changes the weight
    /// of one already there. Weights below a thousandth count as a thousandth.
    pub fn add(&mut self, id: EndpointId, weight: f64, now: Instant) {
        let weight = if weight.is_finite() { weight.max(0.001) } else { 1.0 };
        if let Some(&i) = self.by_id.get(&id) {
            self.endpoints[i].weight = weight;
            return;
        }
        self.by_id.insert(id, self.endpoints.len());
        self.endpoints.push(Endpoint {
            id,
            weight,
            added: now,
            ready: false,
            outstanding: 0,
            latency: None,
            consecutive_failures: 0,
            last_failure: None,
            strikes: 0,
            ejected_until: None,
            calls: 0,
            failures: 0,
            ejections: 0,
        });
    }

    /// Forgets an endpoint (its calls outstanding finish uncounted).
    pub fn remove(&mut self, id: EndpointId) {
        let Some(i) = self.by_id.remove(&id) else { return };
        let gone = self.endpoints.swap_remove(i);
        if let Some((l, _)) = gone.latency {
            self.latency_sum -= l;
            self.measured -= 1;
        }
        if let Some(moved) = self.endpoints.get(i) {
            self.by_id.insert(moved.id, i);
        }
    }

    /// An endpoint's connection came up (its handshake succeeded) or went down. Only a
    /// ready endpoint is picked: a connect that failed never makes it ready.
    pub fn set_ready(&mut self, id: EndpointId, ready: bool) {
        if let Some(e) = self.get_mut(id) {
            e.ready = ready;
        }
    }

    /// The endpoints known, ready or not.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether no endpoint is known.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// The endpoints that may take a call now (ready, not ejected).
    pub fn eligible(&self, now: Instant) -> usize {
        self.endpoints.iter().filter(|e| e.eligible(now)).count()
    }

    /// The endpoint for the next call, of those ready and not ejected and not in `exclude`
    /// (where earlier attempts of the call went): the less loaded of two drawn at random,
    /// load being calls outstanding over weight (ramped during warm-up; raised for a while
    /// by a recent failure), the lower latency breaking a tie. (Weighting load by latency
    /// instead, Finagle's peak EWMA, spread load no better in the fleet simulation and let
    /// a fast endpoint that fails every call keep its share: `benches/RESULTS.md`.) `None` when no endpoint may take it.
    pub fn pick(&mut self, now: Instant, exclude: &[EndpointId]) -> Option<EndpointId> {
        let n = self.endpoints.len();
        if n == 0 {
            return None;
        }
        let usable = |e: &Endpoint| e.eligible(now) && !exclude.contains(&e.id);
        let mut found: [Option<usize>; 2] = [None, None];
        for _ in 0..DRAWS {
            let i = self.rng.below(n);
            if !usable(&self.endpoints[i]) || found[0] == Some(i) {
                continue;
            }
            if found[0].is_none() {
                found[0] = Some(i);
            } else {
                found[1] = Some(i);
                break;
            }
        }
        if found[1].is_none() {
            // Few usable endpoints: choose among all of them.
            let all: Vec<usize> = (0..n).filter(|&i| usable(&self.endpoints[i])).collect();
            match all.len() {
                0 => return None,
                1 => return Some(self.endpoints[all[0]].id),
                k => {
                    let a = self.rng.below(k);
                    let b = (a + 1 + self.rng.below(k - 1)) % k;
                    found = [Some(all[a]), Some(all[b])];
                }
            }
        }
        let (a, b) = (found[0]?, found[1]?);
        let (ea, eb) = (&self.endpoints[a], &self.endpoints[b]);
        // One never measured counts as the average of the others: were it the fastest, a
        // slow newcomer would win every draw until its first (slow) answer.
        let neutral = self.latency_sum / self.measured.max(1) as f64;
        let latency = |e: &Endpoint| e.latency.map_or(neutral, |(l, _)| l).max(1.0);
        let (la, lb) = (self.load(ea, now), self.load(eb, now));
        let better = if (la - lb).abs() > f64::EPSILON * la.max(lb) {
            if la < lb {
                a
            } else {
                b
            }
        } else {
            // Equal: the faster one.
            if latency(ea) <= latency(eb) {
                a
            } else {
                b
            }
        };
        Some(self.endpoints[better].id)
    }

    /// Calls outstanding (counting the one being placed) per unit of effective weight.
    fn load(&self, e: &Endpoint, now: Instant) -> f64 {
        let ramp = if self.config.warm_up.is_zero() {
            1.0
        } else {
            let age = now.saturating_duration_since(e.added).as_secs_f64();
            (age / self.config.warm_up.as_secs_f64()).clamp(0.1, 1.0)
        };
        let penalty = match e.last_failure {
            Some(at) if e.consecutive_failures > 0 => {
                let doubling = 2u32.saturating_pow((e.consecutive_failures - 1).min(16));
                let memory = self.config.failure_memory.saturating_mul(doubling);
                if now.saturating_duration_since(at) < memory {
                    1.0 + 4.0 * f64::from(e.consecutive_failures)
                } else {
                    1.0
                }
            }
            _ => 1.0,
        };
        f64::from(e.outstanding + 1) * penalty / (e.weight * ramp)
    }

    /// A call was sent to `id`.
    pub fn started(&mut self, id: EndpointId) {
        if let Some(e) = self.get_mut(id) {
            e.outstanding += 1;
        }
    }

    /// A call to `id` ended after `latency`. An answer updates the latency average and
    /// clears the endpoint's failures; `eject_after` failures in a row eject it (unless
    /// that would eject more than `max_ejected_fraction` of the endpoints).
    pub fn finished(&mut self, id: EndpointId, now: Instant, latency: Duration, outcome: Outcome) {
        let Some(&i) = self.by_id.get(&id) else { return };
        let half_life = self.config.latency_half_life.as_secs_f64().max(1e-9);
        let e = &mut self.endpoints[i];
        e.outstanding = e.outstanding.saturating_sub(1);
        e.calls += 1;
        match outcome {
            Outcome::Answered => {
                e.consecutive_failures = 0;
                e.strikes = 0;
                let sample = latency.as_nanos() as f64;
                let (old, new) = match e.latency {
                    None => (None, sample),
                    Some((avg, at)) => {
                        let age = now.saturating_duration_since(at).as_secs_f64();
                        let keep = 0.5f64.powf(age / half_life);
                        (Some(avg), avg * keep + sample * (1.0 - keep))
                    }
                };
                e.latency = Some((new, now));
                match old {
                    None => {
                        self.latency_sum += new;
                        self.measured += 1;
                    }
                    Some(old) => self.latency_sum += new - old,
                }
            }
            Outcome::Failed => {
                // A failure does not feed the latency average: a fast failure would make a
                // broken endpoint look like the best one.
                e.failures += 1;
                e.consecutive_failures += 1;
                e.last_failure = Some(now);
                if e.consecutive_failures >= self.config.eject_after.max(1) {
                    self.eject(i, now);
                }
            }
        }
    }

    fn eject(&mut self, i: usize, now: Instant) {
        if self.endpoints[i].ejected_until.is_some_and(|until| until > now) {
            return;
        }
        let ejected = self.endpoints.iter().filter(|e| e.ejected_until.is_some_and(|u| u > now));
        let cap = (self.endpoints.len() as f64 * self.config.max_ejected_fraction).floor();
        if ejected.count() as f64 + 1.0 > cap {
            return; // over the cap: it stays in use
        }
        let e = &mut self.endpoints[i];
        let factor = 2u32.saturating_pow(e.strikes.min(16));
        let length = self.config.ejection_base.saturating_mul(factor).min(self.config.ejection_max);
        e.ejected_until = Some(now + length);
        e.strikes += 1;
        e.ejections += 1;
        e.consecutive_failures = 0;
    }

    /// One endpoint's figures, if it is known.
    pub fn stats(&self, id: EndpointId, now: Instant) -> Option<EndpointStats> {
        let e = &self.endpoints[*self.by_id.get(&id)?];
        Some(EndpointStats {
            outstanding: e.outstanding,
            latency: e.latency.map(|(l, _)| Duration::from_nanos(l as u64)),
            ready: e.ready,
            ejected: e.ejected_until.is_some_and(|u| u > now),
            calls: e.calls,
            failures: e.failures,
            ejections: e.ejections,
        })
    }

    /// The endpoints known, in no particular order.
    pub fn endpoints(&self) -> impl Iterator<Item = EndpointId> + '_ {
        self.endpoints.iter().map(|e| e.id)
    }

    fn get_mut(&mut self, id: EndpointId) -> Option<&mut Endpoint> {
        let i = *self.by_id.get(&id)?;
        self.endpoints.get_mut(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(n: u64, now: Instant) -> Balancer {
        let config = BalancerConfig {
            warm_up: Duration::ZERO,
            eject_after: 5,
            failure_memory: Duration::from_secs(1),
            ejection_base: Duration::from_secs(2),
            ejection_max: Duration::from_secs(60),
            ..BalancerConfig::default()
        };
        let mut b = Balancer::new(config, 7);
        for i in 0..n {
            b.add(EndpointId(i), 1.0, now);
            b.set_ready(EndpointId(i), true);
        }
        b
    }

    #[test]
    fn only_ready_endpoints_are_picked() {
        let now = Instant::now();
        let mut b = Balancer::new(BalancerConfig::default(), 1);
        b.add(EndpointId(1), 1.0, now);
        b.add(EndpointId(2), 1.0, now);
        assert_eq!(b.pick(now, &[]), None, "a connect that has not succeeded is not ready");
        b.set_ready(EndpointId(2), true);
        for _ in 0..100 {
            assert_eq!(b.pick(now, &[]), Some(EndpointId(2)));
        }
        assert_eq!(b.pick(now, &[EndpointId(2)]), None, "excluded: where the call already was");
        b.set_ready(EndpointId(2), false);
        assert_eq!(b.pick(now, &[]), None);
    }

    #[test]
    fn load_spreads_evenly_when_calls_pile_up() {
        let now = Instant::now();
        let mut b = fleet(10, now);
        for _ in 0..1000 {
            let id = b.pick(now, &[]).unwrap();
            b.started(id);
        }
        let loads: Vec<u32> =
            b.endpoints().map(|id| b.stats(id, now).unwrap().outstanding).collect();
        let (max, min) = (*loads.iter().max().unwrap(), *loads.iter().min().unwrap());
        // Two choices keep the spread within a few calls of the mean (100).
        assert!(max - min <= 6, "{loads:?}");
    }

    #[test]
    fn the_faster_of_two_equally_loaded_endpoints_wins() {
        let now = Instant::now();
        let mut b = fleet(2, now);
        for (id, ms) in [(0, 50), (1, 5)] {
            b.started(EndpointId(id));
            b.finished(EndpointId(id), now, Duration::from_millis(ms), Outcome::Answered);
        }
        for _ in 0..20 {
            assert_eq!(b.pick(now, &[]), Some(EndpointId(1)));
        }
    }

    #[test]
    fn a_weighted_endpoint_takes_its_share_and_a_new_one_warms_up() {
        let t0 = Instant::now();
        let config =
            BalancerConfig { warm_up: Duration::from_secs(10), ..BalancerConfig::default() };
        let mut b = Balancer::new(config, 3);
        b.add(EndpointId(0), 1.0, t0);
        b.add(EndpointId(1), 3.0, t0);
        b.set_ready(EndpointId(0), true);
        b.set_ready(EndpointId(1), true);
        let later = t0 + Duration::from_secs(60);
        for _ in 0..400 {
            let id = b.pick(later, &[]).unwrap();
            b.started(id);
        }
        let out = |b: &Balancer, id| b.stats(EndpointId(id), later).unwrap().outstanding;
        let (light, heavy) = (out(&b, 0), out(&b, 1));
        assert!((2..=4).contains(&(heavy / light.max(1))), "{light} vs {heavy}");
        // A newcomer beside a loaded old endpoint: at first a tenth of its weight.
        b.add(EndpointId(2), 1.0, later);
        b.set_ready(EndpointId(2), true);
        b.remove(EndpointId(1));
        for _ in 0..200 {
            let id = b.pick(later, &[]).unwrap();
            b.started(id);
        }
        let (old, new) = (out(&b, 0), out(&b, 2));
        assert!(new < old, "a cold endpoint is not flooded: {new} vs {old}");
    }

    #[test]
    fn failures_eject_with_a_doubling_backoff_and_an_answer_resets_it() {
        let t0 = Instant::now();
        let mut b = fleet(4, t0);
        let sick = EndpointId(3);
        let fail = |b: &mut Balancer, at: Instant| {
            for _ in 0..5 {
                b.started(sick);
                b.finished(sick, at, Duration::from_millis(1), Outcome::Failed);
            }
        };
        fail(&mut b, t0);
        assert!(b.stats(sick, t0).unwrap().ejected);
        for _ in 0..100 {
            assert_ne!(b.pick(t0, &[]), Some(sick), "an ejected endpoint takes no call");
        }
        // Back after 2 s; failing again costs 4 s.
        let t1 = t0 + Duration::from_secs(2);
        assert!(!b.stats(sick, t1).unwrap().ejected);
        fail(&mut b, t1);
        assert!(b.stats(sick, t1 + Duration::from_millis(3900)).unwrap().ejected);
        assert!(!b.stats(sick, t1 + Duration::from_secs(4)).unwrap().ejected);
        // An answer resets the backoff.
        let t2 = t1 + Duration::from_secs(4);
        b.started(sick);
        b.finished(sick, t2, Duration::from_millis(1), Outcome::Answered);
        fail(&mut b, t2);
        assert!(!b.stats(sick, t2 + Duration::from_secs(2)).unwrap().ejected);
        assert_eq!(b.stats(sick, t2).unwrap().ejections, 3);
    }

    #[test]
    fn a_failure_makes_an_endpoint_lose_draws_for_a_while() {
        let t0 = Instant::now();
        let mut b = fleet(10, t0);
        let sick = EndpointId(0);
        b.started(sick);
        b.finished(sick, t0, Duration::from_millis(1), Outcome::Failed);
        let picked = (0..1000).filter(|_| b.pick(t0, &[]) == Some(sick)).count();
        assert_eq!(picked, 0, "one failure in a row: 5 × the load of an idle peer");
        let later = t0 + Duration::from_secs(1);
        let picked = (0..1000).filter(|_| b.pick(later, &[]) == Some(sick)).count();
        assert!(picked > 50, "tried again after failure_memory (a fair share is 100): {picked}");
        // A second failure in a row: twice as long.
        b.started(sick);
        b.finished(sick, later, Duration::from_millis(1), Outcome::Failed);
        let soon = later + Duration::from_millis(1900);
        assert_eq!((0..1000).filter(|_| b.pick(soon, &[]) == Some(sick)).count(), 0);
        let after = later + Duration::from_secs(2);
        assert!((0..1000).filter(|_| b.pick(after, &[]) == Some(sick)).count() > 50);
    }

    #[test]
    fn at_most_the_configured_fraction_is_ejected() {
        let now = Instant::now();
        let mut b = fleet(4, now);
        for id in 0..4 {
            for _ in 0..10 {
                b.started(EndpointId(id));
                b.finished(EndpointId(id), now, Duration::from_millis(1), Outcome::Failed);
            }
        }
        let ejected = (0..4).filter(|&i| b.stats(EndpointId(i), now).unwrap().ejected).count();
        assert_eq!(ejected, 2, "half of 4");
        assert_eq!(b.eligible(now), 2);
        // A sole endpoint is never ejected: there would be nothing left to call.
        let mut one = fleet(1, now);
        for _ in 0..10 {
            one.started(EndpointId(0));
            one.finished(EndpointId(0), now, Duration::from_millis(1), Outcome::Failed);
        }
        assert_eq!(one.pick(now, &[]), Some(EndpointId(0)));
    }

    #[test]
    fn removing_endpoints_keeps_the_others_addressable() {
        let now = Instant::now();
        let mut b = fleet(5, now);
        b.remove(EndpointId(0));
        b.remove(EndpointId(4));
        b.remove(EndpointId(9)); // unknown: nothing happens
        let mut ids: Vec<_> = b.endpoints().collect();
        ids.sort();
        assert_eq!(ids, [EndpointId(1), EndpointId(2), EndpointId(3)]);
        for id in ids {
            assert!(b.stats(id, now).unwrap().ready);
        }
    }
}
