//! End-to-end behaviour of the runtime on loopback: calls, concurrency, deadlines,
//! overload, shutdown, and hostile peers.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.
mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use ferry_runtime::protocol::{ErrorCode, Kind};
use ferry_runtime::{
    CallError, CallHandle, CallOptions, Client, ClientConfig, HandlerError, RetryPolicy, Server,
    ServerConfig, Service,
};
use support::RawPeer;

const ECHO: u32 = 1;
const SLOW: u32 = 2;
const FAIL: u32 = 3;
const INLINE_ECHO: u32 = 4;
/// Sleeps for the requested milliseconds ignoring its deadline: a hung handler.
const HANG: u32 = 5;

fn local() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn echo_service() -> Service {
    Service::new()
        .method(ECHO, |_, req| Ok(req.to_vec()))
        .method(SLOW, |ctx, req| {
            let ms = u64::from_le_bytes(req[..8].try_into().unwrap());
            let end = Instant::now() + Duration::from_millis(ms);
            while Instant::now() < end && !ctx.is_cancelled() {
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(b"slept".to_vec())
        })
        .method(FAIL, |_, _| Err(HandlerError::new("disk full")))
        .inline_method(INLINE_ECHO, |_, req| Ok(req.to_vec()))
        .method(HANG, |_, req| {
            std::thread::sleep(Duration::from_millis(u64::from_le_bytes(
                req[..8].try_into().unwrap(),
            )));
            Ok(b"woke".to_vec())
        })
}

/// A client that never re-sends a refused call, so every refusal shows.
fn no_retry() -> ClientConfig {
    ClientConfig {
        retry: RetryPolicy { max_attempts: 1, ..RetryPolicy::default() },
        ..ClientConfig::default()
    }
}

fn opts(deadline_ms: u64) -> CallOptions {
    CallOptions { deadline: Some(Duration::from_millis(deadline_ms)), ..CallOptions::default() }
}

#[test]
fn calls_return_replies_and_errors() {
    let server = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    assert_eq!(client.call(ECHO, b"hello", &opts(5000)).unwrap(), b"hello");
    assert_eq!(client.call(INLINE_ECHO, b"inline", &opts(5000)).unwrap(), b"inline");
    assert_eq!(client.call(FAIL, b"", &opts(5000)), Err(CallError::Remote("disk full".into())));
    assert!(
        matches!(client.call(999, b"", &opts(5000)), Err(CallError::UnknownMethod(m)) if m.contains("no method with id 999"))
    );
}

/// A caller that may not poll blocks on the socket itself (what a 1-CPU process does);
/// another thread's call made meanwhile must not wait for the blocked caller's reply.
#[test]
fn a_caller_blocked_on_the_socket_makes_way_for_others() {
    // Workers enough for the slow call and the echoes, whatever the machine's cores.
    let config = ServerConfig { workers: 4, ..ServerConfig::default() };
    let server = Server::bind(local(), echo_service(), config).unwrap();
    let config = ClientConfig { busy_poll: Duration::ZERO, ..ClientConfig::default() };
    let client = Arc::new(Client::connect(server.local_addr(), config).unwrap());
    for i in 0..200u32 {
        assert_eq!(client.call(ECHO, &i.to_le_bytes(), &opts(5000)).unwrap(), i.to_le_bytes());
    }
    let slow_done = Arc::new(AtomicUsize::new(0));
    let slow = {
        let (client, slow_done) = (Arc::clone(&client), Arc::clone(&slow_done));
        std::thread::spawn(move || {
            let r = client.call(SLOW, &800u64.to_le_bytes(), &opts(5000));
            slow_done.store(1, Ordering::SeqCst);
            r
        })
    };
    // Let the slow caller reach its blocking wait (the order below holds either way).
    std::thread::sleep(Duration::from_millis(50));
    for i in 0..20u32 {
        assert_eq!(client.call(ECHO, &i.to_le_bytes(), &opts(5000)).unwrap(), i.to_le_bytes());
        let h = client.start(ECHO, b"started", &opts(5000));
        assert_eq!(h.wait().unwrap(), b"started");
    }
    assert_eq!(slow_done.load(Ordering::SeqCst), 0, "the echoes finished behind the slow call");
    assert_eq!(slow.join().unwrap().unwrap(), b"slept");
}

#[test]
fn many_threads_share_one_connection() {
    let server = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
    let client = Arc::new(Client::connect(server.local_addr(), ClientConfig::default()).unwrap());
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let client = Arc::clone(&client);
            std::thread::spawn(move || {
                for i in 0..200u32 {
                    let msg = format!("{t}-{i}");
                    let method = if i % 2 == 0 { ECHO } else { INLINE_ECHO };
                    assert_eq!(
                        client.call(method, msg.as_bytes(), &opts(10_000)).unwrap(),
                        msg.as_bytes()
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Many calls in flight at once through handles.
    let handles: Vec<_> =
        (0..256u32).map(|i| client.start(ECHO, &i.to_le_bytes(), &opts(10_000))).collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.wait().unwrap(), (i as u32).to_le_bytes());
    }
}

struct ThreadWaker(std::thread::Thread);
impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// A minimal executor: proves the handle is a real `Future` that wakes its task.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

#[test]
fn handles_are_futures() {
    let server = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    let reply = block_on(async { client.start(ECHO, b"awaited", &opts(5000)).await });
    assert_eq!(reply.unwrap(), b"awaited");
}

#[test]
fn a_hung_server_cannot_hold_a_call_past_its_deadline() {
    let server = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    let start = Instant::now();
    let r = client.call(HANG, &3_000u64.to_le_bytes(), &opts(200));
    assert_eq!(r, Err(CallError::DeadlineExceeded));
    // The handler takes 3 s; the call ended at its deadline instead.
    assert!(start.elapsed() < Duration::from_millis(2_500));
    // The connection still works.
    assert_eq!(client.call(ECHO, b"after", &opts(5000)).unwrap(), b"after");
}

#[test]
fn a_caller_reading_its_own_reply_still_gets_its_deadline_once_it_sleeps() {
    // After the first call the connection is up, so `call` writes and reads itself; when
    // it stops polling, the I/O thread must be woken to time the call out.
    let server = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    for _ in 0..3 {
        assert_eq!(client.call(INLINE_ECHO, b"warm", &opts(5000)).unwrap(), b"warm");
    }
    for deadline_ms in [150, 20] {
        let start = Instant::now();
        let r = client.call(HANG, &3_000u64.to_le_bytes(), &opts(deadline_ms));
        assert_eq!(r, Err(CallError::DeadlineExceeded));
        assert!(start.elapsed() < Duration::from_millis(2_500));
        // Replies reach later callers whether they or the I/O thread read them.
        assert_eq!(client.call(ECHO, b"after", &opts(5000)).unwrap(), b"after");
        let h = client.start(INLINE_ECHO, b"handle", &opts(5000));
        assert_eq!(h.wait().unwrap(), b"handle");
    }
}

#[test]
fn wait_timeout_and_cancel() {
    let server = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    let h = client.start(SLOW, &60_000u64.to_le_bytes(), &opts(30_000));
    let h = h.wait_timeout(Duration::from_millis(50)).expect_err("still running");
    h.cancel();
    assert_eq!(h.wait(), Err(CallError::Cancelled));
}

#[test]
fn a_server_that_is_down_yields_unavailable_by_the_deadline() {
    // Bind and drop a listener to get a port with nothing behind it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let client = Client::connect(addr, ClientConfig::default()).unwrap();
    let start = Instant::now();
    let r = client.call(ECHO, b"x", &opts(300));
    assert!(matches!(r, Err(CallError::Unavailable(_))), "{r:?}");
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_flood_gets_overloaded_while_other_clients_still_succeed() {
    let config = ServerConfig { workers: 1, queue_capacity: 2, ..ServerConfig::default() };
    // Handlers wait for a release (or give up after 10 s), so the queue stays full.
    let (release, gate) = crossbeam_channel::unbounded::<()>();
    let service = echo_service().method(10, move |_, _| {
        let _ = gate.recv_timeout(Duration::from_secs(10));
        Ok(Vec::new())
    });
    let server = Server::bind(local(), service, config).unwrap();
    let flooder = Client::connect(server.local_addr(), no_retry()).unwrap();
    let handles: Vec<_> = (0..20).map(|_| flooder.start(10, b"", &opts(20_000))).collect();
    // Another client's cheap calls are served on the event loop meanwhile.
    let other = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    assert_eq!(other.call(INLINE_ECHO, b"still here", &opts(5000)).unwrap(), b"still here");
    for _ in 0..20 {
        release.send(()).unwrap();
    }
    let (mut overloaded, mut ok) = (0, 0);
    for h in handles {
        match h.wait() {
            Err(CallError::Overloaded(_)) => overloaded += 1,
            Ok(_) => ok += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(overloaded > 0, "a queue of 2 cannot take 20 calls");
    assert!(ok >= 1, "the calls that were queued ran");
}

#[test]
fn duplicate_requests_run_the_handler_once_and_get_the_same_reply() {
    let runs = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&runs);
    let service = Service::new().method(7, move |_, req| {
        let n = r.fetch_add(1, Ordering::SeqCst) + 1;
        Ok([req, &(n as u32).to_le_bytes()[..]].concat())
    });
    let server = Server::bind(local(), service, ServerConfig::default()).unwrap();
    let client_id = 0x1234_5678_9abc_def0_1234_5678_9abc_def0u128;
    let request = RawPeer::request_bytes(1, 1, 7, b"pay");
    let mut a = RawPeer::connect(server.local_addr());
    a.hello(client_id);
    a.send(&request);
    a.send(&request); // duplicate on the same connection
    let first = a.read_frame().unwrap();
    let second = a.read_frame().unwrap();
    // A retry on a new connection, as after a reconnect.
    let mut b = RawPeer::connect(server.local_addr());
    b.hello(client_id);
    b.send(&request);
    let third = b.read_frame().unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1, "handler ran once");
    for reply in [&first, &second, &third] {
        assert_eq!(reply.0.kind, Kind::Response);
        assert_eq!(reply.1, b"pay\x01\x00\x00\x00");
    }
    // Once acknowledged (ack = 2), a late duplicate is dropped, not re-run.
    b.send(&RawPeer::request_bytes(2, 2, 7, b"two"));
    assert_eq!(b.read_frame().unwrap().1, b"two\x02\x00\x00\x00");
    b.send(&request);
    b.send(&RawPeer::request_bytes(3, 3, 7, b"three"));
    let next = b.read_frame().unwrap();
    assert_eq!(next.0.call_id, 3, "the stale duplicate got no reply");
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[test]
fn an_oversized_frame_is_refused_from_its_header() {
    let config = ServerConfig { max_frame: 1024, ..ServerConfig::default() };
    let server = Server::bind(local(), echo_service(), config).unwrap();
    let mut peer = RawPeer::connect(server.local_addr());
    peer.hello(1);
    // Claim a 1 GiB frame; send only its length. The server must answer without waiting.
    peer.send(&(1u32 << 30).to_le_bytes());
    let (h, payload) = peer.read_frame().expect("an error frame");
    assert_eq!(h.kind, Kind::Error);
    let (code, message) = ferry_runtime::protocol::parse_error(&payload);
    assert_eq!(code, Some(ErrorCode::Protocol));
    assert!(message.contains("exceeds the limit of 1024"), "{message}");
    assert!(peer.read_frame().is_none(), "connection closed");
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    assert_eq!(client.call(ECHO, b"fine", &opts(5000)).unwrap(), b"fine");
}

#[test]
fn garbage_and_slowloris_peers_cost_others_nothing() {
    let config =
        ServerConfig { handshake_timeout: Duration::from_millis(200), ..ServerConfig::default() };
    let server = Server::bind(local(), echo_service(), config).unwrap();
    let mut rng = support::Rng::new(42);
    let mut garbage = RawPeer::connect(server.local_addr());
    let bytes: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
    garbage.send(&bytes);
    let silent = RawPeer::connect(server.local_addr()); // never says hello
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    for i in 0..50u32 {
        assert_eq!(client.call(ECHO, &i.to_le_bytes(), &opts(5000)).unwrap(), i.to_le_bytes());
    }
    // Both bad peers get disconnected.
    while garbage.read_frame().is_some() {}
    let mut silent = silent;
    assert!(silent.read_frame().is_none(), "handshake timeout closes the connection");
}

#[test]
fn graceful_shutdown_finishes_calls_in_flight() {
    let server = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    let handles: Vec<_> =
        (0..4).map(|_| client.start(SLOW, &200u64.to_le_bytes(), &opts(10_000))).collect();
    std::thread::sleep(Duration::from_millis(50)); // let them reach the workers
    server.shutdown();
    for h in handles {
        assert_eq!(h.wait().unwrap(), b"slept");
    }
}

#[test]
fn metadata_reaches_the_handler() {
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let s = Arc::clone(&seen);
    let service = Service::new().method(1, move |ctx, _| {
        s.lock().unwrap().insert("trace", ctx.metadata("trace").map(<[u8]>::to_vec));
        Ok(ctx.remaining().as_millis().to_string().into_bytes())
    });
    let server = Server::bind(local(), service, ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    let options = CallOptions { metadata: vec![("trace".into(), b"abc".to_vec())], ..opts(2000) };
    let remaining: u64 =
        String::from_utf8(client.call(1, b"", &options).unwrap()).unwrap().parse().unwrap();
    assert!(
        remaining > 0 && remaining <= 2000,
        "the deadline travelled as a duration: {remaining}"
    );
    assert_eq!(seen.lock().unwrap()["trace"], Some(b"abc".to_vec()));
}

#[test]
fn servers_and_clients_count_calls_per_method() {
    let server = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    for _ in 0..10 {
        client.call(ECHO, b"x", &opts(5000)).unwrap();
    }
    let _ = client.call(FAIL, b"", &opts(5000));
    let s = server.metrics();
    assert_eq!((s[ECHO].calls, s[ECHO].failures), (10, 0));
    assert_eq!((s[FAIL].calls, s[FAIL].failures), (1, 1));
    assert!(s[ECHO].latency.quantile(0.99).is_some());
    let c = client.metrics();
    assert_eq!((c[ECHO].calls, c[FAIL].failures), (10, 1));
}

#[test]
fn a_duplicate_on_another_event_loop_waits_for_the_first_execution() {
    let runs = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&runs);
    let service = Service::new().method(7, move |_, _| {
        r.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(200));
        Ok(b"once".to_vec())
    });
    let config = ServerConfig { event_loops: 2, ..ServerConfig::default() };
    let server = Server::bind(local(), service, config).unwrap();
    let request = RawPeer::request_bytes(1, 1, 7, b"");
    // Connections are spread round-robin: `a` and `b` land on different loops.
    let mut a = RawPeer::connect(server.local_addr());
    let mut b = RawPeer::connect(server.local_addr());
    a.hello(42);
    b.hello(42);
    a.send(&request);
    std::thread::sleep(Duration::from_millis(50)); // the first execution is running
    b.send(&request);
    assert_eq!(a.read_frame().unwrap().1, b"once");
    assert_eq!(b.read_frame().unwrap().1, b"once");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn one_event_loop_serves_many_connections() {
    let config = ServerConfig { event_loops: 1, ..ServerConfig::default() };
    let server = Server::bind(local(), echo_service(), config).unwrap();
    let clients: Vec<_> = (0..4)
        .map(|_| Client::connect(server.local_addr(), ClientConfig::default()).unwrap())
        .collect();
    for (i, c) in clients.iter().enumerate() {
        assert_eq!(c.call(ECHO, &[i as u8], &opts(5000)).unwrap(), [i as u8]);
    }
}

#[test]
fn another_clients_id_without_its_secret_gets_nothing() {
    let runs = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&runs);
    let service = Service::new().method(7, move |_, req| {
        r.fetch_add(1, Ordering::SeqCst);
        Ok(req.to_vec())
    });
    let server = Server::bind(local(), service, ServerConfig::default()).unwrap();
    let victim_id = 0xfeed_u128;
    // A squatter says Hello with the victim's id first and keeps its connection open: the
    // victim is served all the same (the id was once the squatter's until its lease ended).
    let mut squatter = RawPeer::connect(server.local_addr());
    squatter.hello_with_secret(victim_id, 1).unwrap();
    let mut victim = RawPeer::connect(server.local_addr());
    victim.hello(victim_id);
    victim.send(&RawPeer::request_bytes(1, 1, 7, b"secret reply"));
    assert_eq!(victim.read_frame().unwrap().1, b"secret reply");
    // Read the recorded reply, inject the next call, acknowledge everything away: each
    // handshake with the victim's id but another secret is served under records of its
    // own, so none of it touches the victim's.
    for (i, attack) in [
        RawPeer::request_bytes(1, 1, 7, b"anything"),
        RawPeer::request_bytes(2, 2, 7, b"injected"),
        RawPeer::request_bytes(1 << 62, 1 << 62, 7, b"ack all"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut attacker = RawPeer::connect(server.local_addr());
        attacker.hello_with_secret(victim_id, 999 + i as u128).unwrap();
        attacker.send(&attack);
        let (_, reply) = attacker.read_frame().unwrap();
        assert_ne!(reply, b"secret reply", "the victim's record is not the attacker's");
    }
    // The victim's next call and its retry behave as if nobody had tried.
    victim.send(&RawPeer::request_bytes(2, 2, 7, b"mine"));
    assert_eq!(victim.read_frame().unwrap().1, b"mine");
    // A late copy of the first request is stale (acknowledged by call 2's ack).
    victim.send(&RawPeer::request_bytes(1, 1, 7, b"secret reply"));
    victim.send(&RawPeer::request_bytes(3, 3, 7, b"three"));
    assert_eq!(victim.read_frame().unwrap().0.call_id, 3, "id 1 was acknowledged");
    assert_eq!(runs.load(Ordering::SeqCst), 6, "the victim's three and the attackers' own");
}

#[test]
fn a_frame_started_must_complete_within_the_frame_timeout() {
    let config =
        ServerConfig { frame_timeout: Duration::from_millis(300), ..ServerConfig::default() };
    let server = Server::bind(local(), echo_service(), config).unwrap();
    let mut slow = RawPeer::connect(server.local_addr());
    slow.hello(3);
    let request = RawPeer::request_bytes(1, 1, ECHO, b"trickled");
    slow.send(&request[..10]);
    assert!(slow.read_frame().is_none(), "closed with the frame incomplete");
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    assert_eq!(client.call(ECHO, b"ok", &opts(5000)).unwrap(), b"ok");
}

#[test]
fn a_request_over_the_servers_frame_limit_fails_here_and_spares_the_others() {
    let config = ServerConfig { max_frame: 1024, ..ServerConfig::default() };
    let server = Server::bind(local(), echo_service(), config).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    assert_eq!(client.call(ECHO, b"warm", &opts(5000)).unwrap(), b"warm");
    let big = vec![7u8; 4096];
    assert!(matches!(
        client.call(ECHO, &big, &opts(5000)),
        Err(CallError::TooLarge { limit: 1024, .. })
    ));
    assert_eq!(client.call(ECHO, b"still fine", &opts(5000)).unwrap(), b"still fine");
}

#[test]
fn an_unbounded_deadline_and_a_fresh_handle_behave() {
    let server = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    let forever = CallOptions { deadline: Some(Duration::MAX), ..CallOptions::default() };
    let handle = client.start(ECHO, b"x", &forever);
    assert!(handle.call_id() > 0, "the id is known at once");
    assert_eq!(handle.wait().unwrap(), b"x");
}

#[test]
fn dropping_a_client_cancels_its_pending_calls() {
    let server = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    let handle = client.start(HANG, &10_000u64.to_le_bytes(), &opts(60_000));
    drop(client);
    assert_eq!(handle.wait(), Err(CallError::Cancelled));
}

#[test]
fn a_method_id_registered_twice_is_refused_at_bind() {
    let service = Service::new()
        .method(ECHO, |_, r| Ok(r.to_vec()))
        .inline_method(ECHO, |_, r| Ok(r.to_vec()));
    let e = Server::bind(local(), service, ServerConfig::default()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("registered twice"), "{e}");
}

#[test]
fn dropping_a_handle_cancels_its_call_on_the_server() {
    let (saw_cancel, cancelled) = crossbeam_channel::bounded::<()>(1);
    let service = Service::new().method(77, move |ctx, _| {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if ctx.is_cancelled() {
                let _ = saw_cancel.try_send(());
                return Ok(Vec::new());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(Vec::new())
    });
    let server = Server::bind(local(), service, ServerConfig::default()).unwrap();
    // Any `ToSocketAddrs`, not only a SocketAddr.
    let addr = format!("127.0.0.1:{}", server.local_addr().port());
    let client = Client::connect(addr.as_str(), ClientConfig::default()).unwrap();
    let handle = client.start(77, b"", &opts(30_000));
    std::thread::sleep(Duration::from_millis(50)); // let the handler start
    drop(handle);
    assert!(cancelled.recv_timeout(Duration::from_secs(10)).is_ok(), "the handler saw the cancel");
}

#[test]
fn a_report_counts_the_requests_a_call_took() {
    // Never sent: nothing listens.
    let closed = std::net::TcpListener::bind(local()).unwrap();
    let nowhere = closed.local_addr().unwrap();
    drop(closed);
    let client = Client::connect(nowhere, ClientConfig::default()).unwrap();
    let report = client.start(ECHO, b"x", &opts(2000)).wait_report();
    assert!(matches!(report.result, Err(CallError::Unavailable(_))), "{report:?}");
    assert_eq!(report.attempts, 0);

    // One worker, one queue place: of three slow calls one runs, one waits, and the third
    // is refused and re-sent until there is room (or its attempts run out).
    let config = ServerConfig { workers: 1, queue_capacity: 1, ..ServerConfig::default() };
    let server = Server::bind(local(), echo_service(), config).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    let report = client.start(ECHO, b"y", &opts(5000)).wait_report();
    assert_eq!((report.result, report.attempts), (Ok(b"y".to_vec()), 1));
    let handles: Vec<_> =
        (0..3).map(|_| client.start(HANG, &150u64.to_le_bytes(), &opts(5000))).collect();
    let reports: Vec<_> = handles.into_iter().map(CallHandle::wait_report).collect();
    assert!(reports.iter().any(|r| r.attempts >= 2), "{reports:?}");
    for r in &reports {
        match &r.result {
            Ok(_) => assert!(r.attempts >= 1),
            // Refused every time: as many requests as the policy allows.
            Err(CallError::Overloaded(_)) => {
                assert_eq!(r.attempts, RetryPolicy::default().max_attempts)
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn merged_services_keep_their_own_authorizers_and_reflection_is_reserved() {
    const OPEN: u32 = 10;
    const GUARDED: u32 = 11;
    let open = Service::new().method(OPEN, |_, req| Ok(req.to_vec()));
    let guarded = Service::new()
        .method(GUARDED, |_, req| Ok(req.to_vec()))
        .authorize(|_, _, _| Err("members only".into()));
    let server = Server::bind(local(), open.with(guarded), ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    assert_eq!(client.call(OPEN, b"hi", &opts(5000)).unwrap(), b"hi");
    match client.call(GUARDED, b"hi", &opts(5000)) {
        Err(CallError::PermissionDenied(m)) => assert!(m.contains("members only"), "{m}"),
        other => panic!("{other:?}"),
    }
    // The listing would show the guarded service's schema too: its authorizer applies to
    // reflection as well (it was skipped once services were merged).
    match client.call(ferry_runtime::reflect::REFLECT_ID, b"", &opts(5000)) {
        Err(CallError::PermissionDenied(m)) => assert!(m.contains("members only"), "{m}"),
        other => panic!("reflection of a guarded service answered: {other:?}"),
    }
    server.shutdown();
    // Merged services that both let everyone in: the built-in reflection answers, with
    // nothing to list for hand-written handlers.
    let open2 = Service::new().method(GUARDED, |_, req| Ok(req.to_vec()));
    let open = Service::new().method(OPEN, |_, req| Ok(req.to_vec()));
    let server = Server::bind(local(), open.with(open2), ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
    let reply = client.call(ferry_runtime::reflect::REFLECT_ID, b"", &opts(5000)).unwrap();
    assert!(!reply.is_empty());
    server.shutdown();

    // A method on the reserved id is refused at bind, naming it.
    let clash = Service::new()
        .method(ferry_runtime::reflect::REFLECT_ID, |_, _| Ok(Vec::new()))
        .name(ferry_runtime::reflect::REFLECT_ID, "mine");
    let err = Server::bind(local(), clash, ServerConfig::default()).unwrap_err();
    assert!(err.to_string().contains("mine has method id"), "{err}");
    // Both services registering one id: refused as any duplicate.
    let a = Service::new().method(OPEN, |_, _| Ok(Vec::new()));
    let b = Service::new().method(OPEN, |_, _| Ok(Vec::new()));
    let err = Server::bind(local(), a.with(b), ServerConfig::default()).unwrap_err();
    assert!(err.to_string().contains("registered twice"), "{err}");
}

/// One worker held by a hung call, so the next call waits in the queue.
fn one_worker(config: ServerConfig) -> (Server, RawPeer, Arc<AtomicUsize>) {
    let echoed = Arc::new(AtomicUsize::new(0));
    let e = Arc::clone(&echoed);
    let service = echo_service().method(40, move |_, req| {
        e.fetch_add(1, Ordering::SeqCst);
        Ok(req.to_vec())
    });
    let config = ServerConfig { workers: 1, ..config };
    let server = Server::bind(local(), service, config).unwrap();
    let mut peer = RawPeer::connect(server.local_addr());
    peer.hello(0x77);
    peer.send(&RawPeer::request_bytes(1, 1, HANG, &600u64.to_le_bytes()));
    (server, peer, echoed)
}

fn error_of(frame: &(ferry_runtime::protocol::Header, Vec<u8>)) -> (u64, Option<ErrorCode>) {
    assert_eq!(frame.0.kind, Kind::Error, "{frame:?}");
    (frame.0.call_id, ferry_runtime::protocol::parse_error(&frame.1).0)
}

#[test]
fn a_queued_call_is_answered_when_its_deadline_passes_not_when_a_worker_frees() {
    let (server, mut peer, echoed) = one_worker(ServerConfig::default());
    peer.send(&RawPeer::request_with(2, 1, 40, 0, 50_000, b"late"));
    // The queued call's refusal comes first, while the hung call still holds the worker.
    let first = peer.read_reply().unwrap();
    assert_eq!(error_of(&first), (2, Some(ErrorCode::DeadlineExceeded)));
    assert!(String::from_utf8_lossy(&first.1).contains("did not run"));
    assert_eq!(peer.read_reply().unwrap().1, b"woke");
    assert_eq!(echoed.load(Ordering::SeqCst), 0, "the expired call never ran");
    server.shutdown();
}

#[test]
fn a_cancelled_queued_call_is_answered_at_once_and_never_runs() {
    let (server, mut peer, echoed) = one_worker(ServerConfig::default());
    peer.send(&RawPeer::request_bytes(2, 1, 40, b"x"));
    peer.send(&RawPeer::frame_bytes(Kind::Cancel, 2));
    assert_eq!(error_of(&peer.read_reply().unwrap()), (2, Some(ErrorCode::Cancelled)));
    assert_eq!(peer.read_reply().unwrap().1, b"woke");
    // A copy of the cancelled attempt is answered as it was; a retry (a later attempt) runs.
    peer.send(&RawPeer::request_bytes(2, 2, 40, b"x"));
    assert_eq!(error_of(&peer.read_reply().unwrap()), (2, Some(ErrorCode::Cancelled)));
    let retry = ferry_runtime::protocol::with_attempt(ferry_runtime::protocol::FLAG_RETRY, 2);
    peer.send(&RawPeer::request_with(2, 2, 40, retry, 5_000_000, b"x"));
    assert_eq!(peer.read_reply().unwrap().1, b"x");
    assert_eq!(echoed.load(Ordering::SeqCst), 1);
    server.shutdown();
}

#[test]
fn calls_still_queued_when_the_grace_ends_are_told_they_did_not_run() {
    let config =
        ServerConfig { shutdown_grace: Duration::from_millis(100), ..ServerConfig::default() };
    let (server, mut peer, echoed) = one_worker(config);
    peer.send(&RawPeer::request_bytes(2, 1, 40, b"queued"));
    // The request is on the server's queue before the shutdown begins.
    peer.send(&RawPeer::frame_bytes(Kind::Ping, 0));
    while peer.read_frame().unwrap().0.kind != Kind::Pong {}
    let stopping = std::thread::spawn(move || server.shutdown());
    let reply = peer.read_reply().unwrap();
    assert_eq!(error_of(&reply), (2, Some(ErrorCode::ShuttingDown)));
    assert!(String::from_utf8_lossy(&reply.1).contains("did not run"), "{reply:?}");
    stopping.join().unwrap();
    assert_eq!(echoed.load(Ordering::SeqCst), 0);
}

#[test]
fn the_in_flight_limit_never_refuses_a_call_that_is_running() {
    // A duplicate or retry of a running call, on its own connection or another, joins it:
    // refusing it "did not run" while it runs would be a lie.
    let config = ServerConfig { max_in_flight_per_connection: 1, ..ServerConfig::default() };
    let server = Server::bind(local(), echo_service(), config).unwrap();
    let mut peer = RawPeer::connect(server.local_addr());
    peer.hello(0x99);
    let slow = 300u64.to_le_bytes();
    peer.send(&RawPeer::request_bytes(1, 1, SLOW, &slow));
    let retry = ferry_runtime::protocol::with_attempt(ferry_runtime::protocol::FLAG_RETRY, 2);
    peer.send(&RawPeer::request_with(1, 1, SLOW, retry, 5_000_000, &slow));
    // A new call is over the limit: refused, truthfully.
    peer.send(&RawPeer::request_bytes(2, 1, ECHO, b"new"));
    assert_eq!(error_of(&peer.read_reply().unwrap()), (2, Some(ErrorCode::Overloaded)));
    let mut other = RawPeer::connect(server.local_addr());
    other.hello(0x99);
    other.send(&RawPeer::request_with(1, 1, SLOW, retry, 5_000_000, &slow));
    let (h, body) = peer.read_reply().unwrap();
    assert_eq!((h.kind, h.call_id, body.as_slice()), (Kind::Response, 1, &b"slept"[..]));
    assert_eq!(ferry_runtime::protocol::attempt_of(h.flags), 2, "one reply, for the latest");
    assert_eq!(other.read_reply().unwrap().1, b"slept");
    server.shutdown();
}

#[test]
fn flooding_peers_are_shed_not_their_neighbours_and_leave_nothing_behind() {
    // Eight peers pipeline calls and never read a reply; a well-behaved client (no retries,
    // so any refusal shows) keeps calling a worker method meanwhile.
    const WORK: u32 = 41;
    let service = echo_service().method(WORK, |_, req| {
        std::thread::sleep(Duration::from_micros(100));
        Ok(req.to_vec())
    });
    let config = ServerConfig { workers: 2, queue_capacity: 256, ..ServerConfig::default() };
    let server = Server::bind(local(), service, config).unwrap();
    let mut flooders = Vec::new();
    for i in 0..8u128 {
        let mut peer = RawPeer::connect(server.local_addr());
        peer.hello(0xf100d + i);
        let burst: Vec<u8> =
            (1..=1500).flat_map(|id| RawPeer::request_bytes(id, 1, WORK, b"flood")).collect();
        peer.send(&burst);
        flooders.push(peer);
    }
    let neighbour = Client::connect(server.local_addr(), no_retry()).unwrap();
    for i in 0..30u8 {
        assert_eq!(neighbour.call(WORK, &[i], &opts(10_000)), Ok(vec![i]), "call {i}");
    }
    let held = server.load();
    assert!(held.connections >= 9, "{held:?}");
    drop(flooders);
    drop(neighbour);
    // Everything the flood made the server hold is given back once it has passed.
    let mut load = server.load();
    for _ in 0..1000 {
        if load.connections == 0 && load.calls_held == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        load = server.load();
    }
    assert_eq!((load.connections, load.calls_held, load.buffered_bytes), (0, 0, 0), "{load:?}");
    server.shutdown();
}

#[test]
fn a_copy_of_a_refused_attempt_is_refused_again_not_run_later() {
    // A frame duplicated in the stream: its first copy is refused (the queue is full), its
    // second arrives once there is room. Running it then would contradict the "did not
    // run" the caller already has for that attempt.
    let config = ServerConfig { queue_capacity: 1, ..ServerConfig::default() };
    let (server, mut peer, echoed) = one_worker(config);
    peer.send(&RawPeer::request_bytes(2, 1, 40, b"queued"));
    let attempt1 = ferry_runtime::protocol::with_attempt(0, 1);
    let copy = RawPeer::request_with(3, 1, 40, attempt1, 5_000_000, b"dup");
    peer.send(&copy);
    assert_eq!(error_of(&peer.read_reply().unwrap()), (3, Some(ErrorCode::Overloaded)));
    assert_eq!(peer.read_reply().unwrap().1, b"woke");
    assert_eq!(peer.read_reply().unwrap().1, b"queued");
    peer.send(&copy);
    assert_eq!(error_of(&peer.read_reply().unwrap()), (3, Some(ErrorCode::Overloaded)));
    assert_eq!(echoed.load(Ordering::SeqCst), 1, "only call 2 ran");
    // The client's retry is a later attempt, and runs.
    let retry = ferry_runtime::protocol::with_attempt(ferry_runtime::protocol::FLAG_RETRY, 2);
    peer.send(&RawPeer::request_with(3, 1, 40, retry, 5_000_000, b"dup"));
    assert_eq!(peer.read_reply().unwrap().1, b"dup");
    assert_eq!(echoed.load(Ordering::SeqCst), 2);
    server.shutdown();
}

/// A call started alone is written by its caller (no I/O thread wake-up); its reply is
/// still read for it while the caller does something else than wait, and a later call
/// waited on alone is read by its caller.
#[test]
fn a_call_started_alone_completes_whether_or_not_its_caller_waits() {
    use std::future::Future;
    use std::task::{Context as TaskContext, Poll, Waker};
    let server = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
    let client = Client::connect(server.local_addr(), no_retry()).unwrap();
    assert_eq!(client.call(ECHO, b"warm", &opts(5000)).unwrap(), b"warm");
    let mut started = client.start(ECHO, b"alone", &opts(5000));
    let end = Instant::now() + Duration::from_secs(10);
    let mut cx = TaskContext::from_waker(Waker::noop());
    let result = loop {
        if let Poll::Ready(r) = std::pin::Pin::new(&mut started).poll(&mut cx) {
            break r;
        }
        assert!(Instant::now() < end, "nobody read the reply of a call nobody waited on");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(result.unwrap(), b"alone");
    for i in 0..100u32 {
        let h = client.start(ECHO, &i.to_le_bytes(), &opts(5000));
        assert_eq!(h.wait().unwrap(), i.to_le_bytes());
    }
    server.shutdown();
}

#[test]
fn one_long_call_does_not_stop_its_client() {
    // The long call holds the lowest pending id (the `ack`); the calls after it finish and
    // are acknowledged by range, so the client's record bound never fills.
    let config = ServerConfig { max_records_per_client: 64, ..ServerConfig::default() };
    let server = Server::bind(local(), echo_service(), config).unwrap();
    let client = Client::connect(server.local_addr(), no_retry()).unwrap();
    let long = client.start(SLOW, &1500u64.to_le_bytes(), &opts(10_000));
    for i in 0..300u32 {
        assert_eq!(client.call(ECHO, &i.to_le_bytes(), &opts(5000)), Ok(i.to_le_bytes().to_vec()));
    }
    assert_eq!(long.wait(), Ok(b"slept".to_vec()));
    server.shutdown();
}

#[test]
fn during_a_graceful_drain_new_calls_go_to_a_new_connection_at_once() {
    // Server A drains (GoAway) with a call in flight; a new server takes its port. A call
    // made meanwhile must not wait for A's connection to close: it goes out on a new one,
    // while the call in flight is answered on the old.
    let a = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
    let addr = a.local_addr();
    let client = Client::connect(addr, ClientConfig::default()).unwrap();
    assert_eq!(client.call(ECHO, b"warm", &opts(5000)).unwrap(), b"warm");
    let in_flight = client.start(SLOW, &1500u64.to_le_bytes(), &opts(10_000));
    // Give the request time to reach A before its shutdown begins.
    std::thread::sleep(Duration::from_millis(100));
    let stopping = std::thread::spawn(move || a.shutdown());
    let mut b = None;
    for _ in 0..500 {
        match Server::bind(addr, echo_service(), ServerConfig::default()) {
            Ok(server) => {
                b = Some(server);
                break;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    let b = b.expect("A's listener closes when its drain begins");
    // The deadline is shorter than what is left of the call in flight on A.
    assert_eq!(client.call(ECHO, b"new", &opts(1000)), Ok(b"new".to_vec()));
    assert_eq!(in_flight.wait(), Ok(b"slept".to_vec()), "answered on the draining connection");
    stopping.join().unwrap();
    assert_eq!(client.call(ECHO, b"after", &opts(1000)), Ok(b"after".to_vec()));
    b.shutdown();
}

#[test]
fn calls_beyond_the_servers_in_flight_limit_wait_in_the_client_and_all_succeed() {
    // The server takes 16 calls at once per connection (its HelloAck says so); 200 started
    // together, with retries off, all succeed: the other 184 wait in the client.
    let config = ServerConfig { max_in_flight_per_connection: 16, ..ServerConfig::default() };
    let server = Server::bind(local(), echo_service(), config).unwrap();
    let client = Client::connect(server.local_addr(), no_retry()).unwrap();
    let handles: Vec<_> =
        (0..200u64).map(|_| client.start(SLOW, &5u64.to_le_bytes(), &opts(20_000))).collect();
    for h in handles {
        assert_eq!(h.wait(), Ok(b"slept".to_vec()));
    }
    server.shutdown();
    // The figure: 2 000 at once against a limit of 1 024 (a queue of 2 048, so one
    // connection alone may fill the 1 024 as its share).
    let config = ServerConfig {
        max_in_flight_per_connection: 1024,
        queue_capacity: 2048,
        ..ServerConfig::default()
    };
    let server = Server::bind(local(), echo_service(), config).unwrap();
    let client = Client::connect(server.local_addr(), no_retry()).unwrap();
    let handles: Vec<_> =
        (0..2000u32).map(|i| client.start(ECHO, &i.to_le_bytes(), &opts(20_000))).collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.wait(), Ok((i as u32).to_le_bytes().to_vec()));
    }
    server.shutdown();
}

/// Clients come and go on the process's shared I/O thread: a new client's socket can get
/// the slot and the descriptor of one just dropped, and its first events must not be lost.
#[test]
fn clients_made_and_dropped_one_after_another_all_connect() {
    for i in 0..100 {
        let server = Server::bind(local(), echo_service(), ServerConfig::default()).unwrap();
        let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
        let r = client.call(ECHO, b"x", &opts(5000));
        assert!(r.is_ok(), "iteration {i}: {r:?}");
        let _ = client.call(FAIL, b"", &opts(5000));
    }
}

/// `ClientConfig::max_in_flight` bounds the calls a client holds (queued or on the wire):
/// one more is refused at once, unsent, and the room comes back as calls end.
#[test]
fn a_client_holds_at_most_max_in_flight_calls() {
    let config = ServerConfig { workers: 4, ..ServerConfig::default() };
    let server = Server::bind(local(), echo_service(), config).unwrap();
    let config = ClientConfig { max_in_flight: 3, ..no_retry() };
    let client = Client::connect(server.local_addr(), config).unwrap();
    let held: Vec<_> =
        (0..3).map(|_| client.start(SLOW, &300u64.to_le_bytes(), &opts(5000))).collect();
    let refused = client.start(ECHO, b"one too many", &opts(5000)).wait_report();
    assert_eq!(refused.attempts, 0);
    assert!(matches!(&refused.result, Err(CallError::Overloaded(m)) if m.contains("not sent")));
    for h in held {
        assert_eq!(h.wait().unwrap(), b"slept");
    }
    for _ in 0..10 {
        assert_eq!(client.call(ECHO, b"room", &opts(5000)).unwrap(), b"room");
    }
}
