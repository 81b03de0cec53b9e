//! Async handlers on Ferry's executor: nested calls that hold no thread, cancellation and
//! deadlines that drop the handler's future (and its nested call), deferred replies, and
//! the bound on live handler tasks.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_runtime::{
    CallError, CallOptions, Client, ClientConfig, HandlerError, RetryPolicy, Server, ServerConfig,
    Service,
};

const SLOW: u32 = 1;
const NESTED: u32 = 2;
const CHEAP: u32 = 3;
const FOREVER: u32 = 4;
const DEFERRED: u32 = 5;

fn local() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn opts(ms: u64) -> CallOptions {
    CallOptions { deadline: Some(Duration::from_millis(ms)), ..CallOptions::default() }
}

fn no_retry() -> ClientConfig {
    ClientConfig {
        retry: RetryPolicy { max_attempts: 1, ..RetryPolicy::default() },
        ..ClientConfig::default()
    }
}

/// Waits (bounded) until `done` holds; the bound is a hang guard, not a timing assertion.
fn eventually(what: &str, done: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < end, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The upstream: `SLOW` sleeps the requested ms on a blocking worker unless cancelled, and
/// counts the calls that were cancelled while it slept.
fn upstream(cancelled: Arc<AtomicUsize>) -> Server {
    let service = Service::new().method(SLOW, move |ctx, req| {
        let ms = u64::from_le_bytes(req[..8].try_into().unwrap());
        let end = Instant::now() + Duration::from_millis(ms);
        while Instant::now() < end {
            if ctx.is_cancelled() {
                cancelled.fetch_add(1, Ordering::SeqCst);
                return Err(HandlerError::new("stopped"));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(b"slow".to_vec())
    });
    let config = ServerConfig { workers: 4, ..ServerConfig::default() };
    Server::bind(local(), service, config).unwrap()
}

/// Counts drops of the futures it is part of.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A front server whose `NESTED` handler awaits a call to the upstream's `SLOW`.
fn front(upstream: &Server, workers: usize, dropped: Arc<AtomicUsize>) -> Server {
    let nested = Arc::new(Client::connect(upstream.local_addr(), no_retry()).unwrap());
    let service = Service::new()
        .async_method(NESTED, move |ctx, req| {
            let nested = Arc::clone(&nested);
            let guard = DropCount(Arc::clone(&dropped));
            async move {
                let _guard = guard;
                let options = CallOptions { deadline: Some(ctx.remaining()), ..opts(0) };
                let reply = nested.start(SLOW, &req, &options).await;
                reply.map_err(|e| HandlerError::new(format!("upstream: {e}")))
            }
        })
        .method(CHEAP, |_, req| Ok(req.to_vec()));
    let config = ServerConfig {
        workers,
        queue_capacity: 4096,
        max_in_flight_per_connection: 4096,
        ..ServerConfig::default()
    };
    Server::bind(local(), service, config).unwrap()
}

#[test]
fn a_thousand_handlers_await_nested_calls_on_four_workers() {
    // The upstream parks every call until the test lets them go: 1 000 nested calls are
    // out at once, for as long as the test needs.
    let parked: Arc<Mutex<Vec<ferry_runtime::Responder>>> = Arc::default();
    let keep = Arc::clone(&parked);
    let service = Service::new().deferred_method(SLOW, move |_, _, responder| {
        keep.lock().unwrap().push(responder);
    });
    let config = ServerConfig { max_in_flight_per_connection: 4096, ..ServerConfig::default() };
    let up = Server::bind(local(), service, config).unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    let server = front(&up, 4, Arc::clone(&dropped));
    let config = ClientConfig { max_in_flight: 4096, ..no_retry() };
    let client = Client::connect(server.local_addr(), config).unwrap();
    let pending: Vec<_> = (0..1000).map(|_| client.start(NESTED, &[], &opts(20_000))).collect();
    eventually("all nested calls reached the upstream", || parked.lock().unwrap().len() == 1000);
    // Every handler is mid-call, and the four workers are free: the cheap method answers.
    for i in 0..50u32 {
        assert_eq!(client.call(CHEAP, &i.to_le_bytes(), &opts(5000)).unwrap(), i.to_le_bytes());
    }
    assert_eq!(server.load().calls_held, 1000);
    for r in parked.lock().unwrap().drain(..) {
        r.reply(Ok(b"slow".to_vec()));
    }
    for p in pending {
        assert_eq!(p.wait().unwrap(), b"slow");
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 1000, "each future dropped once, when done");
    eventually("the server holds nothing", || server.load().calls_held == 0);
}

#[test]
fn cancelling_or_the_deadline_drops_the_future_and_its_nested_call() {
    let upstream_cancelled = Arc::new(AtomicUsize::new(0));
    let up = upstream(Arc::clone(&upstream_cancelled));
    let dropped = Arc::new(AtomicUsize::new(0));
    let server = front(&up, 2, Arc::clone(&dropped));
    let client = Client::connect(server.local_addr(), no_retry()).unwrap();

    // Cancelled by the caller.
    let h = client.start(NESTED, &10_000u64.to_le_bytes(), &opts(20_000));
    eventually("the nested call is out", || up.load().calls_held == 1);
    h.cancel();
    assert!(matches!(h.wait(), Err(CallError::Cancelled)));
    eventually("the future was dropped", || dropped.load(Ordering::SeqCst) == 1);
    eventually("the nested call was cancelled", || upstream_cancelled.load(Ordering::SeqCst) == 1);

    // Ended by the deadline: the future is dropped. The caller hears its own deadline, or
    // (the server's clock reached it first) that the handler ran and was stopped.
    let r = client.call(NESTED, &10_000u64.to_le_bytes(), &opts(300));
    let stopped = |m: &str| m.contains("deadline passed while the handler awaited");
    assert!(
        matches!(&r, Err(CallError::DeadlineExceeded))
            || matches!(&r, Err(CallError::Remote(m)) if stopped(m)),
        "{r:?}"
    );
    eventually("the future was dropped", || dropped.load(Ordering::SeqCst) == 2);
    eventually("the nested call ended", || upstream_cancelled.load(Ordering::SeqCst) == 2);
    eventually("the server holds nothing", || server.load().calls_held == 0);
}

#[test]
fn deferred_replies_come_from_any_thread_and_a_dropped_responder_fails() {
    let parked: Arc<Mutex<Vec<ferry_runtime::Responder>>> = Arc::default();
    let keep = Arc::clone(&parked);
    let service = Service::new()
        .deferred_method(DEFERRED, move |_ctx, req, responder| {
            let req = req.to_vec();
            if req == b"drop" {
                return; // the responder is dropped unanswered
            }
            if req == b"park" {
                keep.lock().unwrap().push(responder);
                return;
            }
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                responder.reply(Ok([b"later: ".as_slice(), &req].concat()));
            });
        })
        .method(CHEAP, |_, req| Ok(req.to_vec()));
    let config = ServerConfig { workers: 1, ..ServerConfig::default() };
    let server = Server::bind(local(), service, config).unwrap();
    let client = Client::connect(server.local_addr(), no_retry()).unwrap();
    assert_eq!(client.call(DEFERRED, b"hi", &opts(5000)).unwrap(), b"later: hi");
    let dropped = client.call(DEFERRED, b"drop", &opts(5000));
    assert!(
        matches!(&dropped, Err(CallError::Remote(m)) if m.contains("without replying")),
        "{dropped:?}"
    );
    // A parked call holds no worker: the one worker still answers.
    let parked_call = client.start(DEFERRED, b"park", &opts(5000));
    eventually("the call is parked", || parked.lock().unwrap().len() == 1);
    assert_eq!(client.call(CHEAP, b"free", &opts(5000)).unwrap(), b"free");
    parked.lock().unwrap().pop().unwrap().reply(Ok(b"unparked".to_vec()));
    assert_eq!(parked_call.wait().unwrap(), b"unparked");
}

#[test]
fn live_handler_tasks_are_bounded_and_refusals_say_not_run() {
    let gate: Arc<Mutex<Vec<ferry_runtime::Responder>>> = Arc::default();
    let keep = Arc::clone(&gate);
    let service = Service::new().deferred_method(FOREVER, move |_, _, responder| {
        keep.lock().unwrap().push(responder);
    });
    let config = ServerConfig { max_handler_tasks: 8, ..ServerConfig::default() };
    let server = Server::bind(local(), service, config).unwrap();
    let client = Client::connect(server.local_addr(), no_retry()).unwrap();
    let held: Vec<_> = (0..8).map(|_| client.start(FOREVER, b"", &opts(10_000))).collect();
    eventually("eight tasks are parked", || gate.lock().unwrap().len() == 8);
    let refused = client.start(FOREVER, b"", &opts(10_000)).wait_report();
    match &refused.result {
        Err(CallError::Overloaded(m)) => assert!(m.contains("did not run"), "{m}"),
        other => panic!("{other:?}"),
    }
    for r in gate.lock().unwrap().drain(..) {
        r.reply(Ok(b"ok".to_vec()));
    }
    for h in held {
        assert_eq!(h.wait().unwrap(), b"ok");
    }
    // Room again once they ended.
    let again = client.start(FOREVER, b"", &opts(10_000));
    eventually("a new task is parked", || gate.lock().unwrap().len() == 1);
    gate.lock().unwrap().pop().unwrap().reply(Ok(b"again".to_vec()));
    assert_eq!(again.wait().unwrap(), b"again");
}
