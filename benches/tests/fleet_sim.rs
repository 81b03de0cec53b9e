//! The fleet simulation at a bounded size (100 endpoints, 1 000 clients, 16 simulated
//! seconds): the balancer spreads load, routes around a dead, an erroring and a black-holed
//! endpoint, and the retry budget caps amplification when every endpoint fails. The full
//! size (1 000
//! endpoints, 10 000 clients) is `cargo run --release -p ferry-benches --bin fleet-sim`.
use std::time::Duration;

use ferry_benches::fleet_sim::{run, SimConfig};

#[test]
fn load_spreads_and_failed_endpoints_are_routed_around() {
    // Three fleets (the seed draws latencies, subsets, which endpoints fail and churn).
    for seed in 1..=3 {
        let config = SimConfig { seed, ..SimConfig::small() };
        let r = run(&config);
        assert!(r.calls > 200_000, "{r:?}");
        // Idle latencies differ 5 × between endpoints (and 5 % are 10 × slower still), so
        // the slower ones hold more calls: the busiest holds under 2.5 × the mean.
        assert!(r.spread_mean < 2.5, "seed {seed}: spread {:.2}: {r:?}", r.spread_mean);
        // A dead endpoint is down for each client at its next attempt; a black-holed one
        // fails calls at their deadline and loses its connections at the keepalive. One
        // answering "did not run" loses its draws at a client's first failure and is
        // ejected at the second: every client must call it once, and a client calls a
        // given endpoint about once every 1.7 s here.
        let keepalive = config.keepalive;
        let bounds = [
            (&r.route_around_refusing, keepalive),
            (&r.route_around_blackholed, keepalive),
            (&r.route_around_erroring, keepalive * 3 / 2),
        ];
        for (times, bound) in bounds {
            for t in times {
                let t = t.unwrap_or_else(|| {
                    panic!("seed {seed}: a failed endpoint kept its calls: {r:?}")
                });
                assert!(t <= bound, "seed {seed}: routed around after {t:?}: {r:?}");
            }
        }
        assert!(r.replaced >= 4, "churn replaced endpoints: {r:?}");
        assert!(r.answered + r.failed <= r.calls);
    }
}

#[test]
fn the_retry_budget_caps_amplification_when_every_endpoint_fails() {
    let config = SimConfig {
        all_fail: true,
        fail_at: Duration::from_secs(2),
        refusing: 0,
        erroring: 0,
        blackholed: 0,
        churn_per_second: 0.0,
        // A busy client (the floor of one retry a second matters only to quiet ones).
        rate: 50.0,
        clients: 200,
        duration: Duration::from_secs(22),
        ..SimConfig::small()
    };
    let r = run(&config);
    assert!(r.failed > 0, "{r:?}");
    // Over the whole run (calls before the failure count too); the window is 10 s.
    assert!(r.amplification() <= 1.2 + 0.01, "amplification {:.3}: {r:?}", r.amplification());
    assert!(r.amplification() > 1.05, "retries happened: {r:?}");
}

#[test]
fn a_seed_reproduces_a_run() {
    let config = SimConfig {
        clients: 100,
        duration: Duration::from_secs(3),
        fail_at: Duration::from_secs(1),
        ..SimConfig::small()
    };
    let (a, b) = (run(&config), run(&config));
    assert_eq!(
        (a.calls, a.attempts, a.answered, a.failed),
        (b.calls, b.attempts, b.answered, b.failed)
    );
}
