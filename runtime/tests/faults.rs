//! At-most-once under injected faults: a proxy duplicates request frames, cuts connections
//! mid-request and mid-reply, and delays frames; the server is restarted mid-run. A counting
//! handler proves how often each logical call ran.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.
mod support;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_runtime::{CallError, CallOptions, Client, ClientConfig, Server, ServerConfig, Service};
use support::{Faults, Proxy};

const COUNT: u32 = 1;

type Counts = Arc<Mutex<HashMap<u64, u32>>>;

/// Method `COUNT` takes a u64 key, counts one execution of it, and returns the key.
fn counting_service(counts: &Counts, work: Duration) -> Service {
    let counts = Arc::clone(counts);
    Service::new().method(COUNT, move |_, req| {
        let key = u64::from_le_bytes(req[..8].try_into().unwrap());
        if !work.is_zero() {
            std::thread::sleep(work);
        }
        *counts.lock().unwrap().entry(key).or_insert(0) += 1;
        Ok(key.to_le_bytes().to_vec())
    })
}

fn local() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[test]
fn every_call_runs_exactly_once_through_duplicates_and_broken_connections() {
    let counts: Counts = Arc::default();
    let server =
        Server::bind(local(), counting_service(&counts, Duration::ZERO), ServerConfig::default())
            .unwrap();
    let faults =
        Faults { duplicate_request: 50, cut_mid_request: 15, cut_mid_reply: 15, delay: 20 };
    let proxy = Proxy::start(server.local_addr(), faults, 0x5eed);
    let config = ClientConfig {
        reconnect_initial: Duration::from_millis(1),
        reconnect_max: Duration::from_millis(20),
        ..ClientConfig::default()
    };
    let client = Arc::new(Client::connect(proxy.addr, config).unwrap());
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let client = Arc::clone(&client);
            std::thread::spawn(move || {
                let options = CallOptions {
                    deadline: Some(Duration::from_secs(30)),
                    ..CallOptions::default()
                };
                (0..500u64)
                    .map(|i| {
                        let key = t * 1_000_000 + i;
                        (key, client.call(COUNT, &key.to_le_bytes(), &options))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let counts = counts.lock().unwrap();
    for (key, result) in &results {
        assert_eq!(result.as_deref(), Ok(&key.to_le_bytes()[..]), "call {key}");
        assert_eq!(counts.get(key), Some(&1), "call {key} ran {:?} times", counts.get(key));
    }
    assert_eq!(counts.len(), results.len());
    assert!(proxy.duplicated.load(Ordering::Relaxed) > 0, "the proxy duplicated requests");
    assert!(proxy.cuts.load(Ordering::Relaxed) > 0, "the proxy cut connections");
}

#[test]
fn across_a_restart_calls_run_at_most_once_and_unknown_outcomes_are_reported() {
    let counts: Counts = Arc::default();
    let work = Duration::from_millis(20);
    let fast_shutdown = ServerConfig { shutdown_grace: Duration::ZERO, ..ServerConfig::default() };
    let first =
        Server::bind(local(), counting_service(&counts, work), fast_shutdown.clone()).unwrap();
    let proxy = Proxy::start(first.local_addr(), Faults::default(), 7);
    let config = ClientConfig {
        reconnect_initial: Duration::from_millis(1),
        reconnect_max: Duration::from_millis(20),
        ..ClientConfig::default()
    };
    let client = Arc::new(Client::connect(proxy.addr, config).unwrap());
    let calls: Vec<_> = (0..200u64)
        .map(|key| {
            let options = CallOptions {
                deadline: Some(Duration::from_secs(20)),
                idempotent: key % 4 == 0,
                ..CallOptions::default()
            };
            (key, options.idempotent, client.start(COUNT, &key.to_le_bytes(), &options))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100)); // some calls run on the first server
    let second = Server::bind(local(), counting_service(&counts, work), fast_shutdown).unwrap();
    proxy.retarget(second.local_addr());
    first.shutdown(); // in-flight replies are lost; the client reconnects to `second`
    let (mut ok, mut unknown) = (0, 0);
    for (key, idempotent, handle) in calls {
        let result = handle.wait();
        let runs = counts.lock().unwrap().get(&key).copied().unwrap_or(0);
        match result {
            Ok(reply) => {
                assert_eq!(reply, key.to_le_bytes());
                ok += 1;
                assert!(runs >= 1);
            }
            Err(CallError::OutcomeUnknown(_)) => {
                assert!(!idempotent, "idempotent calls are re-sent, not reported unknown");
                unknown += 1;
            }
            Err(other) => panic!("call {key}: unexpected {other:?}"),
        }
        if !idempotent {
            assert!(runs <= 1, "non-idempotent call {key} ran {runs} times");
        }
    }
    assert!(ok > 0);
    eprintln!("restart: {ok} calls completed, {unknown} reported OutcomeUnknown");
    drop(second);
}

#[test]
fn a_stalled_network_cannot_hold_a_call_past_its_deadline() {
    let counts: Counts = Arc::default();
    let server =
        Server::bind(local(), counting_service(&counts, Duration::ZERO), ServerConfig::default())
            .unwrap();
    let proxy = Proxy::start(server.local_addr(), Faults::default(), 9);
    let client = Client::connect(proxy.addr, ClientConfig::default()).unwrap();
    let options =
        CallOptions { deadline: Some(Duration::from_millis(300)), ..CallOptions::default() };
    assert!(client.call(COUNT, &1u64.to_le_bytes(), &options).is_ok());
    proxy.stalled.store(true, Ordering::SeqCst);
    let start = std::time::Instant::now();
    assert_eq!(client.call(COUNT, &2u64.to_le_bytes(), &options), Err(CallError::DeadlineExceeded));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "ended at its deadline, not when the network recovered"
    );
    proxy.stalled.store(false, Ordering::SeqCst);
}

#[test]
fn a_silent_host_fails_calls_by_the_keepalive_and_handshake_timeouts() {
    // The server goes silent (SIGSTOP, a black hole): the keepalive abandons the connection,
    // and the reconnection's handshake, never answered, is bounded by the connect timeout,
    // so callers hear at once instead of at their deadlines.
    let counts: Counts = Arc::default();
    let server =
        Server::bind(local(), counting_service(&counts, Duration::ZERO), ServerConfig::default())
            .unwrap();
    let proxy = Proxy::start(server.local_addr(), Faults::default(), 11);
    let config = ClientConfig {
        connect_timeout: Duration::from_millis(200),
        keepalive_interval: Some(Duration::from_millis(100)),
        keepalive_timeout: Duration::from_millis(200),
        ..ClientConfig::default()
    };
    let client = Client::connect(proxy.addr, config).unwrap();
    let patient = CallOptions { deadline: Some(Duration::from_secs(60)), ..CallOptions::default() };
    assert!(client.call(COUNT, &1u64.to_le_bytes(), &patient).is_ok());
    proxy.stalled.store(true, Ordering::SeqCst);
    match client.call(COUNT, &2u64.to_le_bytes(), &patient) {
        Err(CallError::OutcomeUnknown(m)) => {
            assert!(m.contains("did not answer the handshake"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // A call made while the host is silent is told it was not sent.
    match client.call(COUNT, &3u64.to_le_bytes(), &patient) {
        Err(CallError::Unavailable(m)) => assert!(m.contains("not sent"), "{m}"),
        other => panic!("{other:?}"),
    }
    proxy.stalled.store(false, Ordering::SeqCst);
    assert!(client.call(COUNT, &4u64.to_le_bytes(), &patient).is_ok());
    assert_eq!(counts.lock().unwrap().get(&3), None);
}
