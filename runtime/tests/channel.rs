//! Balanced channels over real loopback servers: load goes to every ready endpoint, an
//! endpoint whose handshake never completes takes no call, a call moves to another
//! endpoint only when it provably did not run, and under injected faults (duplicated
//! frames, connections cut mid-request and mid-reply) no call runs twice anywhere.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.
mod support;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_runtime::{
    Address, CallError, CallOptions, Channel, ChannelConfig, ClientConfig, Server, ServerConfig,
    Service,
};
use support::{Faults, Proxy};

const ECHO: u32 = 1;

/// A server counting the calls it ran, by payload.
struct Counted {
    server: Server,
    ran: Arc<Mutex<HashMap<Vec<u8>, usize>>>,
    calls: Arc<AtomicUsize>,
}

fn counted() -> Counted {
    let ran = Arc::new(Mutex::new(HashMap::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (r, c) = (Arc::clone(&ran), Arc::clone(&calls));
    let service = Service::new().method(ECHO, move |_, req| {
        *r.lock().unwrap().entry(req.to_vec()).or_insert(0) += 1;
        c.fetch_add(1, Ordering::SeqCst);
        Ok(req.to_vec())
    });
    let server = Server::bind(local(), service, ServerConfig::default()).unwrap();
    Counted { server, ran, calls }
}

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn opts() -> CallOptions {
    CallOptions { deadline: Some(Duration::from_secs(10)), ..CallOptions::default() }
}

/// A port nothing listens on: connects are refused.
fn refused_port() -> SocketAddr {
    TcpListener::bind(local()).unwrap().local_addr().unwrap()
}

/// Waits (bounded) until `n` endpoints of the channel are ready.
fn wait_ready(channel: &Channel, n: usize) {
    let end = Instant::now() + Duration::from_secs(10);
    while channel.endpoints().iter().filter(|(_, _, s)| s.ready).count() < n {
        assert!(Instant::now() < end, "endpoints never became ready: {:?}", channel.endpoints());
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn calls_spread_over_every_ready_endpoint() {
    let servers: Vec<Counted> = (0..3).map(|_| counted()).collect();
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.server.local_addr()).collect();
    let channel = Channel::connect(addrs, ChannelConfig::default()).unwrap();
    wait_ready(&channel, 3);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let channel = channel.clone();
            std::thread::spawn(move || {
                for i in 0..150u32 {
                    let payload = format!("{t}:{i}").into_bytes();
                    assert_eq!(channel.call(ECHO, &payload, &opts()).unwrap(), payload);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let counts: Vec<usize> = servers.iter().map(|s| s.calls.load(Ordering::SeqCst)).collect();
    assert_eq!(counts.iter().sum::<usize>(), 600, "{counts:?}");
    assert!(counts.iter().all(|&n| n >= 60), "every endpoint takes a share: {counts:?}");
}

/// tonic's balanced channel sends calls to an endpoint whose reconnect failed because its
/// reconnect layer reports ready before the handshake (hyperium/tonic#643): here an
/// endpoint that accepts TCP connections and never answers the handshake is never ready,
/// and takes no call once another endpoint is.
#[test]
fn an_endpoint_whose_handshake_never_completes_takes_no_call() {
    let silent = TcpListener::bind(local()).unwrap(); // accepts (backlog), never answers
    let live: Vec<Counted> = (0..2).map(|_| counted()).collect();
    let mut addrs = vec![silent.local_addr().unwrap()];
    addrs.extend(live.iter().map(|s| s.server.local_addr()));
    let channel = Channel::connect(addrs, ChannelConfig::default()).unwrap();
    wait_ready(&channel, 2);
    for i in 0..200u32 {
        channel.call(ECHO, &i.to_le_bytes(), &opts()).unwrap();
    }
    let endpoints = channel.endpoints();
    let (_, _, silent_stats) = &endpoints[0];
    assert!(!silent_stats.ready, "{endpoints:?}");
    assert_eq!(silent_stats.calls + u64::from(silent_stats.outstanding), 0, "{endpoints:?}");
    let ran: usize = live.iter().map(|s| s.calls.load(Ordering::SeqCst)).sum();
    assert_eq!(ran, 200);
}

/// While nothing is ready (the channel just made), a call may be tried on a dead endpoint:
/// its connect is refused, so it was never sent, and it moves to another endpoint.
#[test]
fn a_call_refused_unsent_moves_to_another_endpoint() {
    let live = counted();
    let addrs = [refused_port(), refused_port(), live.server.local_addr()];
    for round in 0..20u32 {
        let channel = Channel::connect(addrs, ChannelConfig::default()).unwrap();
        let payload = round.to_le_bytes();
        assert_eq!(channel.call(ECHO, &payload, &opts()).unwrap(), payload);
    }
    assert_eq!(live.calls.load(Ordering::SeqCst), 20, "each call ran once");
}

#[test]
fn every_endpoint_down_fails_unsent_and_says_where_it_was_tried() {
    let addrs = [refused_port(), refused_port(), refused_port(), refused_port()];
    let config = ChannelConfig { max_attempts: 3, ..ChannelConfig::default() };
    let channel = Channel::connect(addrs, config).unwrap();
    let e = channel.call(ECHO, b"x", &opts()).unwrap_err();
    assert!(matches!(e.error, CallError::Unavailable(_)), "{e}");
    assert!(!e.error.may_have_run());
    assert_eq!(e.tried.len(), 3, "max_attempts: {e}");
    assert!(e.to_string().contains("tried 127.0.0.1:"), "{e}");
    let empty = Channel::new(ChannelConfig::default());
    let e = empty.call(ECHO, b"x", &opts()).unwrap_err();
    assert!(e.tried.is_empty() && e.to_string().contains("no endpoint"), "{e}");
}

#[test]
fn a_removed_endpoint_takes_no_new_calls() {
    let servers: Vec<Counted> = (0..2).map(|_| counted()).collect();
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.server.local_addr()).collect();
    let channel = Channel::connect(addrs, ChannelConfig::default()).unwrap();
    wait_ready(&channel, 2);
    let (first, ..) = channel.endpoints()[0].clone();
    assert!(channel.remove(first));
    assert!(!channel.remove(first), "removed once");
    let before: Vec<usize> = servers.iter().map(|s| s.calls.load(Ordering::SeqCst)).collect();
    for i in 0..50u32 {
        channel.call(ECHO, &i.to_le_bytes(), &opts()).unwrap();
    }
    let after: Vec<usize> = servers.iter().map(|s| s.calls.load(Ordering::SeqCst)).collect();
    assert_eq!(after[0], before[0], "the removed endpoint got calls: {after:?}");
    assert_eq!(after[1], before[1] + 50);
    assert_eq!(channel.endpoints().len(), 1);
}

#[test]
fn calls_in_flight_on_a_removed_endpoint_finish() {
    const SLOW: u32 = 2;
    let service = Service::new().method(SLOW, |_, req| {
        std::thread::sleep(Duration::from_millis(200));
        Ok(req.to_vec())
    });
    let server = Server::bind(local(), service, ServerConfig::default()).unwrap();
    let channel = Channel::connect([server.local_addr()], ChannelConfig::default()).unwrap();
    wait_ready(&channel, 1);
    let calls: Vec<_> = (0..8u32).map(|i| channel.start(SLOW, &i.to_le_bytes(), &opts())).collect();
    let (id, ..) = channel.endpoints()[0].clone();
    assert!(channel.remove(id));
    for (i, c) in calls.into_iter().enumerate() {
        assert_eq!(c.wait().unwrap(), (i as u32).to_le_bytes());
    }
    let e = channel.call(SLOW, b"", &opts()).unwrap_err();
    assert!(e.to_string().contains("no endpoint"), "{e}");
}

/// An async handler awaits a call through a channel (a fleet upstream): the call moves
/// off a dead endpoint without blocking the handler's worker.
#[test]
fn an_async_handler_awaits_a_call_through_a_channel() {
    let upstream: Vec<Counted> = (0..2).map(|_| counted()).collect();
    let mut addrs = vec![refused_port()];
    addrs.extend(upstream.iter().map(|s| s.server.local_addr()));
    let channel = Channel::connect(addrs, ChannelConfig::default()).unwrap();
    let front = Service::new().async_method(ECHO, move |_, req| {
        let call = channel.start(ECHO, &req, &opts());
        async move { call.await.map_err(|e| ferry_runtime::HandlerError::new(e.to_string())) }
    });
    let config = ServerConfig { workers: 1, ..ServerConfig::default() };
    let front = Server::bind(local(), front, config).unwrap();
    let client =
        ferry_runtime::Client::connect(front.local_addr(), ClientConfig::default()).unwrap();
    for i in 0..30u32 {
        assert_eq!(client.call(ECHO, &i.to_le_bytes(), &opts()).unwrap(), i.to_le_bytes());
    }
    let ran: usize = upstream.iter().map(|s| s.calls.load(Ordering::SeqCst)).sum();
    assert_eq!(ran, 30, "each call ran once upstream");
}

/// Three servers behind fault-injecting proxies (requests duplicated, connections cut
/// mid-request and mid-reply): every non-idempotent call runs at most once over the whole
/// fleet; a call that succeeded ran exactly once, one whose error proves it did not run
/// ran nowhere; and a call that may have run was tried on one endpoint only.
#[test]
fn no_call_runs_twice_across_endpoints_under_faults() {
    let servers: Vec<Counted> = (0..3).map(|_| counted()).collect();
    let faults = Faults { duplicate_request: 30, cut_mid_request: 30, cut_mid_reply: 30, delay: 0 };
    let proxies: Vec<Proxy> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| Proxy::start(s.server.local_addr(), faults, 7 + i as u64))
        .collect();
    let addrs: Vec<Address> = proxies.iter().map(|p| Address::Tcp(p.addr)).collect();
    let config = ChannelConfig {
        client: ClientConfig { wait_for_ready: true, ..ClientConfig::default() },
        ..ChannelConfig::default()
    };
    let channel = Channel::new(config);
    for a in addrs {
        channel.add(a, 1.0).unwrap();
    }
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (channel, outcomes) = (channel.clone(), Arc::clone(&outcomes));
            std::thread::spawn(move || {
                for i in 0..250u32 {
                    let payload = format!("{t}:{i}").into_bytes();
                    let o = CallOptions { deadline: Some(Duration::from_secs(5)), ..opts() };
                    let r = channel.call(ECHO, &payload, &o);
                    outcomes.lock().unwrap().push((payload, r));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut ran: HashMap<Vec<u8>, usize> = HashMap::new();
    for s in &servers {
        for (k, n) in s.ran.lock().unwrap().iter() {
            *ran.entry(k.clone()).or_insert(0) += n;
        }
    }
    let outcomes = outcomes.lock().unwrap();
    let mut ok = 0;
    for (payload, r) in outcomes.iter() {
        let n = ran.get(payload).copied().unwrap_or(0);
        assert!(n <= 1, "{:?} ran {n} times", String::from_utf8_lossy(payload));
        match r {
            Ok(_) => {
                ok += 1;
                assert_eq!(n, 1);
            }
            Err(e) if !e.error.may_have_run() => assert_eq!(n, 0, "{e}"),
            Err(e) => assert_eq!(e.tried.len(), 1, "a call that may have run moved: {e}"),
        }
    }
    assert!(ok > 900, "most calls succeed: {ok} of 1000");
    let cuts: u64 = proxies.iter().map(|p| p.cuts.load(Ordering::SeqCst)).sum();
    assert!(cuts > 0, "faults were injected");
    eprintln!("{ok} of 1000 succeeded; {cuts} connections cut");
}
