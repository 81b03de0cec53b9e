//! The fleet simulation at the size: 1 000 endpoints, 10 000 clients (each over a
//! random subset of 100), 50 calls/s each, with slow, refusing and black-holed endpoints and
//! churn; then every endpoint failing, for retry amplification.
//!
//! `cargo run --release -p ferry-benches --bin fleet-sim [seconds]`
use std::time::{Duration, Instant};

use ferry_benches::fleet_sim::{run, SimConfig};

fn main() {
    let secs: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let config = SimConfig {
        duration: Duration::from_secs(secs),
        fail_at: Duration::from_secs(secs / 3),
        ..SimConfig::full()
    };
    let started = Instant::now();
    let r = run(&config);
    println!(
        "{} endpoints, {} clients (subsets of {}), {} s simulated in {:.1} s",
        config.endpoints,
        config.clients,
        config.subset,
        secs,
        started.elapsed().as_secs_f64()
    );
    println!(
        "calls {} attempts {} answered {} failed {}",
        r.calls, r.attempts, r.answered, r.failed
    );
    println!(
        "load spread (max / mean outstanding, healthy endpoints): mean {:.2}, worst sample {:.2}",
        r.spread_mean, r.spread_max
    );
    println!("route around a dead endpoint (connections refused): {:?}", r.route_around_refusing);
    println!("route around an endpoint answering \"did not run\": {:?}", r.route_around_erroring);
    let shares: Vec<String> =
        r.erroring_share.iter().map(|f| format!("{:.0} %", f * 100.0)).collect();
    println!(
        "  its calls in each second after its failure, of an average endpoint's: {}",
        shares.join(", ")
    );
    println!(
        "route around a black-holed endpoint (keepalive {:?}): {:?}",
        config.keepalive, r.route_around_blackholed
    );
    println!("endpoints replaced by churn: {}", r.replaced);
    let all = SimConfig {
        all_fail: true,
        refusing: 0,
        erroring: 0,
        blackholed: 0,
        churn_per_second: 0.0,
        ..config
    };
    let r = run(&all);
    println!(
        "every endpoint failing from {:?}: retry amplification {:.3} ({} attempts for {} calls)",
        all.fail_at,
        r.amplification(),
        r.attempts,
        r.calls
    );
}
