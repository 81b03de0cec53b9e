//! End-to-end loopback benchmarks, server and client in separate processes: raw TCP (the
//! floor) and Ferry. Sequential latency, then calls/s and latency with 1, 16, 64 and 256
//! calls in flight per connection on 1 and 4 connections, with CPU time per call from /proc
//! for both processes. `tonic-bench` runs tonic through the same matrix.
//!
//! `cargo run --release -p ferry-benches --bin rpc-bench [seconds-per-run]`
//! `… --bin rpc-bench --sequential ADDR [seconds]`: sequential calls to a server started
//! with `--serve-ferry` (one side at a time under a profiler, or pinned apart).
//! `… --bin rpc-bench --nested 1000`: a cheap method's latency on a server with 4 workers,
//! alone and while 1 000 async handlers each await a 1 s nested call.
//! `… --bin rpc-bench --upstreams 1000`: this process's memory and threads per client
//! connection, 1 000 clients to a server process, each after one call.
//! `… --bin rpc-bench --channel [seconds]`: four server processes, called by four threads
//! with 16 calls in flight each, through a client per server and through one `Channel`
//! over the four; and how evenly the channel spread its calls.
//! `… --bin rpc-bench --idle 10000`: server memory per idle connection.
//! `… --bin rpc-bench --flood [peers] [rounds] [seconds]`: server memory while peers send
//! calls and never read, and after they leave; a well-behaved client's refusals meanwhile.
//! TLS rows (`Ferry TLS`) use certificates made at start (rcgen) in a temporary folder.
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use ferry_benches::e2e::{self, Outcome, CONNECTIONS, MESSAGE, WINDOWS};
use ferry_runtime::{
    CallOptions, Channel, ChannelConfig, Client, ClientConfig, ClientTls, Server, ServerConfig,
    ServerTls, Service,
};

const ECHO: u32 = 1;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--serve-raw") => serve_raw(),
        Some("--serve-raw-serial") => serve_raw_serial(),
        Some("--serve-ferry") => serve_ferry(args.get(2).and_then(|a| a.parse().ok()), None),
        Some("--serve-ferry-tls") => {
            let dir = std::path::PathBuf::from(args.get(2).expect("certificate folder"));
            let tls =
                ServerTls::from_pem_files(dir.join("server.pem"), dir.join("server.key"), None)
                    .expect("server TLS");
            serve_ferry(None, Some(tls))
        }
        Some("--serve-ferry-work") => serve_ferry_work(),
        Some("--flood") => {
            let arg = |i: usize, default: u64| {
                args.get(i).and_then(|a| a.parse::<u64>().ok()).unwrap_or(default)
            };
            ferry_benches::flood::run(arg(2, 16) as usize, arg(3, 3) as usize, arg(4, 10));
        }
        Some("--sequential") => {
            // One client against a server started elsewhere (`--serve-ferry`), for
            // profiling one side: `rpc-bench --sequential ADDR [seconds]`.
            let addr: SocketAddr = args.get(2).and_then(|a| a.parse().ok()).expect("ADDR");
            let secs: f64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(2.0);
            let (n, mut lat) = ferry_sequential(addr, Duration::from_secs_f64(secs), &None);
            lat.sort();
            println!("{n} calls, p50 {:?}", lat.get(lat.len() / 2).copied().unwrap_or_default());
        }
        Some("--nested") => {
            let n = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
            nested(n);
        }
        Some("--channel") => {
            let secs: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2.0);
            channel_rows(Duration::from_secs_f64(secs));
        }
        Some("--upstreams") => {
            let n = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
            upstreams(n);
        }
        Some("--idle") => {
            let n = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
            idle_connections(n);
            idle_tls_connections(n);
        }
        _ => {
            let secs: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2.0);
            run_all(Duration::from_secs_f64(secs));
        }
    }
}

/// The raw baseline: a blocking echo thread per connection (the floor to compare against,
/// not how Ferry serves).
fn serve_raw() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    println!("{}", listener.local_addr().expect("addr"));
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let mut s = stream;
            let _ = s.set_nodelay(true);
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// Raw TCP served one connection at a time on the accepting thread: the baseline of a new
/// connection + call, without the thread `serve_raw` starts per connection.
fn serve_raw_serial() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    println!("{}", listener.local_addr().expect("addr"));
    let mut buf = vec![0u8; 64 * 1024];
    for mut s in listener.incoming().flatten() {
        let _ = s.set_nodelay(true);
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
    }
}

fn serve_ferry(event_loops: Option<usize>, tls: Option<ServerTls>) {
    let service = Service::new().inline_method(ECHO, |_, req| Ok(req.to_vec()));
    let mut config = ServerConfig { tls, ..ServerConfig::default() };
    if let Some(n) = event_loops {
        config.event_loops = n;
    }
    // `RPC_BENCH_BUSY_POLL_US=0` measures the server without busy-polling.
    if let Some(us) = std::env::var("RPC_BENCH_BUSY_POLL_US").ok().and_then(|v| v.parse().ok()) {
        config.busy_poll = Duration::from_micros(us);
    }
    let server = Server::bind("127.0.0.1:0".parse().expect("addr"), service, config).expect("bind");
    println!("{}", server.local_addr());
    // Serve until the parent kills us.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// A server whose echo runs on the worker pool (as most handlers do), for `--flood`.
fn serve_ferry_work() {
    let service = Service::new().method(ECHO, |_, req| Ok(req.to_vec()));
    let server =
        Server::bind("127.0.0.1:0".parse().expect("addr"), service, ServerConfig::default())
            .expect("bind");
    println!("{}", server.local_addr());
    // What the server holds, each second, on stderr: tells the allocator's keeping from ours.
    loop {
        std::thread::sleep(Duration::from_secs(1));
        if std::env::var_os("RPC_BENCH_LOAD").is_some() {
            eprintln!("server holds {:?}", server.load());
        }
    }
}

/// Opens `n` connections to a Ferry server process, completes the handshake on each, and
/// reports the server's resident memory per idle connection.
fn idle_connections(n: usize) {
    use ferry_runtime::protocol::{self, Header, Hello, Kind};
    let (server, addr) = e2e::spawn_server(&["--serve-ferry"]);
    let mut hello = Vec::new();
    protocol::push(
        &mut hello,
        &Header::new(Kind::Hello),
        &Hello { client_id: 1, max_frame: 1 << 20, secret: 7 }.encode(),
    );
    e2e::idle_connections("Ferry", &server, &addr, n, &hello);
    e2e::stop(server);
}

/// As `idle_connections`, over TLS 1.3: each connection completes the TLS handshake and
/// Ferry's, then stays idle.
fn idle_tls_connections(n: usize) {
    use ferry_runtime::protocol::{self, Header, Hello, Kind};
    use std::sync::Arc;
    let (ca, dir) = e2e::server_certificates("rpc-bench-idle");
    let (server, addr) = e2e::spawn_server(&["--serve-ferry-tls", &dir.to_string_lossy()]);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from(ca.der())).expect("root");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"ferry/1".to_vec()];
    let config = Arc::new(config);
    e2e::idle_connections_with("Ferry TLS", &server, n, |i| {
        let tcp = match TcpStream::connect(&addr) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("Ferry TLS: stopped at {i} connections: {e}");
                return None;
            }
        };
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let conn = rustls::ClientConnection::new(Arc::clone(&config), name).expect("TLS");
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut hello = Vec::new();
        let h = Hello { client_id: 1000 + i as u128, max_frame: 1 << 20, secret: 7 };
        protocol::push(&mut hello, &Header::new(Kind::Hello), &h.encode());
        tls.write_all(&hello).expect("hello");
        let mut reply = [0u8; 256];
        if tls.read(&mut reply).map_or(true, |got| got == 0) {
            eprintln!("Ferry TLS: connection {i} closed during the handshake");
            return None;
        }
        Some(Box::new(tls))
    });
    e2e::stop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One blocking 32-byte echo at a time, each timed.
fn raw_ping_pong(addr: SocketAddr, dur: Duration) -> Outcome {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let mut back = [0u8; MESSAGE.len()];
    let mut lat = Vec::new();
    let end = Instant::now() + dur;
    while Instant::now() < end {
        let t = Instant::now();
        s.write_all(&MESSAGE).expect("write");
        s.read_exact(&mut back).expect("read");
        lat.push(t.elapsed());
    }
    (lat.len() as u64, lat)
}

/// One echo at a time with a caller that spins on its reply, as Ferry's waiting caller does
/// (a nonblocking socket polled until the reply is there): the baseline Ferry's sequential
/// latency compares with, without the two thread wake-ups of a blocking `read`.
fn raw_ping_pong_spinning(addr: SocketAddr, dur: Duration) -> Outcome {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.set_nonblocking(true).expect("nonblocking");
    let mut back = [0u8; MESSAGE.len()];
    let mut lat = Vec::new();
    let end = Instant::now() + dur;
    while Instant::now() < end {
        let t = Instant::now();
        let mut written = 0;
        while written < MESSAGE.len() {
            match s.write(&MESSAGE[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::hint::spin_loop(),
                Err(e) => panic!("write: {e}"),
            }
        }
        let mut got = 0;
        while got < back.len() {
            match s.read(&mut back[got..]) {
                Ok(0) => panic!("closed"),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::hint::spin_loop(),
                Err(e) => panic!("read: {e}"),
            }
        }
        lat.push(t.elapsed());
    }
    (lat.len() as u64, lat)
}

/// `window` messages written at once, then all read back: the physical floor of pipelining
/// (each message's latency is the batch's round trip).
fn raw_pipelined(addr: SocketAddr, dur: Duration, window: usize) -> Outcome {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let batch = MESSAGE.repeat(window);
    let mut back = vec![0u8; batch.len()];
    let (mut n, mut lat) = (0u64, Vec::new());
    let end = Instant::now() + dur;
    while Instant::now() < end {
        let t = Instant::now();
        s.write_all(&batch).expect("write");
        s.read_exact(&mut back).expect("read");
        lat.push(t.elapsed());
        n += window as u64;
    }
    (n, lat)
}

fn client_config(tls: &Option<ClientTls>) -> ClientConfig {
    ClientConfig { tls: tls.clone(), ..ClientConfig::default() }
}

fn ferry_sequential(addr: SocketAddr, dur: Duration, tls: &Option<ClientTls>) -> Outcome {
    let client = Client::connect(addr, client_config(tls)).expect("client");
    let opts = CallOptions::default();
    let _ = client.call(ECHO, &MESSAGE, &opts); // connect before timing
    let mut lat = Vec::new();
    let end = Instant::now() + dur;
    while Instant::now() < end {
        let t = Instant::now();
        client.call(ECHO, &MESSAGE, &opts).expect("call");
        lat.push(t.elapsed());
    }
    (lat.len() as u64, lat)
}

/// Keeps `window` calls in flight on one client (one connection), each timed from start
/// to the end of its wait.
fn ferry_in_flight(
    addr: SocketAddr,
    dur: Duration,
    window: usize,
    tls: &Option<ClientTls>,
) -> Outcome {
    let client = Client::connect(addr, client_config(tls)).expect("client");
    let opts = CallOptions::default();
    let _ = client.call(ECHO, &MESSAGE, &opts);
    keep_in_flight(
        dur,
        window,
        || client.start(ECHO, &MESSAGE, &opts),
        |h| {
            h.wait().expect("call");
        },
    )
}

/// Keeps `window` calls in flight for `dur` (`start` one, `wait` the oldest), each timed
/// from its start to the end of its wait.
fn keep_in_flight<H>(
    dur: Duration,
    window: usize,
    mut start: impl FnMut() -> H,
    wait: impl Fn(H),
) -> Outcome {
    let mut lat = Vec::new();
    let end = Instant::now() + dur;
    let mut calls = VecDeque::with_capacity(window);
    while Instant::now() < end {
        while calls.len() < window {
            calls.push_back((Instant::now(), start()));
        }
        if let Some((t, c)) = calls.pop_front() {
            wait(c);
            lat.push(t.elapsed());
        }
    }
    for (t, c) in calls {
        wait(c);
        lat.push(t.elapsed());
    }
    (lat.len() as u64, lat)
}

fn run_all(dur: Duration) {
    e2e::print_header();
    let (raw, raw_addr) = e2e::spawn_server(&["--serve-raw"]);
    let raw_addr: SocketAddr = raw_addr.parse().expect("address");
    e2e::measure("raw TCP", 1, 0, &raw, || raw_ping_pong(raw_addr, dur));
    e2e::measure("raw TCP spinning", 1, 0, &raw, || raw_ping_pong_spinning(raw_addr, dur));
    for conns in CONNECTIONS {
        for window in WINDOWS {
            e2e::measure("raw TCP", conns, window, &raw, || {
                e2e::on_connections(conns, move || raw_pipelined(raw_addr, dur, window))
            });
        }
    }
    e2e::stop(raw);
    if std::env::var("RPC_BENCH_ONLY")
        .is_ok_and(|only| "raw TCP (new connection per call)".contains(&only))
        || std::env::var("RPC_BENCH_ONLY").is_err()
    {
        let (raw, raw_addr) = e2e::spawn_server(&["--serve-raw-serial"]);
        let raw_addr: SocketAddr = raw_addr.parse().expect("address");
        e2e::measure("raw TCP (new connection per call)", 1, 0, &raw, || {
            raw_new_connections(raw_addr, dur)
        });
        e2e::stop(raw);
    }
    let (ferry, addr) = e2e::spawn_server(&["--serve-ferry"]);
    let addr: SocketAddr = addr.parse().expect("address");
    e2e::measure("Ferry", 1, 0, &ferry, || ferry_sequential(addr, dur, &None));
    for conns in CONNECTIONS {
        for window in WINDOWS {
            e2e::measure("Ferry", conns, window, &ferry, || {
                e2e::on_connections(conns, move || ferry_in_flight(addr, dur, window, &None))
            });
        }
    }
    // Many calls in flight: per-call CPU must not grow with the window (acknowledgements
    // never walk the calls in flight).
    e2e::measure("Ferry", 1, 1000, &ferry, || ferry_in_flight(addr, dur, 1000, &None));
    e2e::measure("Ferry (new connection per call)", 1, 0, &ferry, || {
        new_connections(addr, dur, &None)
    });
    e2e::stop(ferry);
    tls_rows(dur);
    flood(dur);
}

/// The same server with TLS 1.3: plaintext and TLS rows side by side give TLS's cost per
/// call; a new connection per call gives the handshake's.
fn tls_rows(dur: Duration) {
    if std::env::var("RPC_BENCH_ONLY").is_ok_and(|only| !only.contains("TLS")) {
        return; // nothing to measure: do not start the server
    }
    let (ca, dir) = e2e::server_certificates("rpc-bench-tls");
    let tls = Some(ClientTls::from_pem(ca.pem().as_bytes(), "localhost", None).expect("TLS"));
    let (ferry, addr) = e2e::spawn_server(&["--serve-ferry-tls", &dir.to_string_lossy()]);
    let addr: SocketAddr = addr.parse().expect("address");
    e2e::measure("Ferry TLS", 1, 0, &ferry, || ferry_sequential(addr, dur, &tls));
    for window in [64, 256] {
        e2e::measure("Ferry TLS", 1, window, &ferry, || ferry_in_flight(addr, dur, window, &tls));
    }
    e2e::measure("Ferry TLS", 4, 64, &ferry, || {
        let tls = tls.clone();
        e2e::on_connections(4, move || ferry_in_flight(addr, dur, 64, &tls))
    });
    e2e::measure("Ferry TLS (new connection per call)", 1, 0, &ferry, || {
        new_connections(addr, dur, &tls)
    });
    e2e::stop(ferry);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A new TCP connection per echo: connect, write, read, close.
fn raw_new_connections(addr: SocketAddr, dur: Duration) -> Outcome {
    let mut back = [0u8; MESSAGE.len()];
    let mut lat = Vec::new();
    let end = Instant::now() + dur;
    while Instant::now() < end {
        let t = Instant::now();
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        s.write_all(&MESSAGE).expect("write");
        s.read_exact(&mut back).expect("read");
        drop(s);
        lat.push(t.elapsed());
    }
    (lat.len() as u64, lat)
}

/// A fresh client, connection and handshake for every call: the latency is the whole
/// connection setup plus one call.
fn new_connections(addr: SocketAddr, dur: Duration, tls: &Option<ClientTls>) -> Outcome {
    let opts = CallOptions::default();
    let mut lat = Vec::new();
    let end = Instant::now() + dur;
    while Instant::now() < end {
        let t = Instant::now();
        let client = Client::connect(addr, client_config(tls)).expect("client");
        client.call(ECHO, &MESSAGE, &opts).expect("call");
        lat.push(t.elapsed());
    }
    (lat.len() as u64, lat)
}

/// A well-behaved sequential caller alone, then beside a connection flooding the same
/// event loop (one loop, so both share it) with 1000 calls in flight: the per-connection
/// read budget keeps its latency near the quiet figure.
fn flood(dur: Duration) {
    let (ferry, addr) = e2e::spawn_server(&["--serve-ferry", "1"]);
    let addr: SocketAddr = addr.parse().expect("address");
    e2e::measure("Ferry quiet (1 loop)", 1, 0, &ferry, || ferry_sequential(addr, dur, &None));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooder = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                ferry_in_flight(addr, Duration::from_millis(200), 1000, &None);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    e2e::measure("Ferry beside a flood (1 loop)", 1, 0, &ferry, || {
        ferry_sequential(addr, dur, &None)
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = flooder.join();
    e2e::stop(ferry);
}

/// One process with `n` clients (one connection each) to a Ferry server process: threads
/// and resident memory added per connection, once each client has made one call.
fn upstreams(n: usize) {
    let threads = || std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0);
    let (server, addr) = e2e::spawn_server(&["--serve-ferry"]);
    let addr: SocketAddr = addr.parse().expect("address");
    let opts = CallOptions { deadline: Some(Duration::from_secs(30)), ..CallOptions::default() };
    // The first client starts the client I/O thread; measure from there.
    let first = Client::connect(addr, ClientConfig::default()).expect("client");
    first.call(ECHO, &MESSAGE, &opts).expect("call");
    let (rss0, threads0) = (e2e::rss_bytes(std::process::id()), threads());
    let started = Instant::now();
    let clients: Vec<Client> =
        (0..n).map(|_| Client::connect(addr, ClientConfig::default()).expect("client")).collect();
    let pending: Vec<_> = clients.iter().map(|c| c.start(ECHO, &MESSAGE, &opts)).collect();
    for p in pending {
        p.wait().expect("call");
    }
    let took = started.elapsed();
    let (rss1, threads1) = (e2e::rss_bytes(std::process::id()), threads());
    println!(
        "{n} client connections, one call each: {:.1} ms to connect and call all; {} threads added; {:.1} KiB resident per connection",
        took.as_secs_f64() * 1e3,
        threads1 as i64 - threads0 as i64,
        (rss1 as f64 - rss0 as f64) / n as f64 / 1024.0
    );
    drop(clients);
    e2e::stop(server);
}

/// A cheap method's latency on a 4-worker server, alone and while `n` async handlers each
/// await a 1 s call to an upstream (kept at `n` in flight throughout). Everything in this
/// process: the point is the workers, not the network.
fn nested(n: usize) {
    use std::sync::{Arc, Mutex};
    const NESTED: u32 = 2;
    const CHEAP: u32 = 3;
    // The upstream answers each call 1 s after it came, from one timer thread.
    let parked: Arc<Mutex<VecDeque<(Instant, ferry_runtime::Responder)>>> = Arc::default();
    let park = Arc::clone(&parked);
    let upstream_service = Service::new().deferred_method(NESTED, move |_, _, responder| {
        park.lock().expect("lock").push_back((Instant::now() + Duration::from_secs(1), responder));
    });
    let up_config = ServerConfig { max_in_flight_per_connection: 4096, ..ServerConfig::default() };
    let up = Server::bind("127.0.0.1:0".parse().expect("addr"), upstream_service, up_config)
        .expect("bind");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let timer = {
        let (parked, stop) = (Arc::clone(&parked), Arc::clone(&stop));
        std::thread::spawn(move || loop {
            let due: Vec<_> = {
                let mut q = parked.lock().expect("lock");
                let mut due = Vec::new();
                while q.front().is_some_and(|(at, _)| *at <= Instant::now()) {
                    due.extend(q.pop_front());
                }
                due
            };
            for (_, r) in due {
                r.reply(Ok(b"done".to_vec()));
            }
            if stop.load(std::sync::atomic::Ordering::Relaxed)
                && parked.lock().expect("lock").is_empty()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        })
    };
    let upstream = Arc::new(
        Client::connect(
            up.local_addr(),
            ClientConfig { max_in_flight: 8192, ..ClientConfig::default() },
        )
        .expect("client"),
    );
    let front_service = Service::new()
        .async_method(NESTED, move |ctx, req| {
            let upstream = Arc::clone(&upstream);
            async move {
                let options =
                    CallOptions { deadline: Some(ctx.remaining()), ..CallOptions::default() };
                upstream
                    .start(NESTED, &req, &options)
                    .await
                    .map_err(|e| ferry_runtime::HandlerError::new(e.to_string()))
            }
        })
        .method(CHEAP, |_, req| Ok(req.to_vec()));
    let config =
        ServerConfig { workers: 4, max_in_flight_per_connection: 4096, ..ServerConfig::default() };
    let front =
        Server::bind("127.0.0.1:0".parse().expect("addr"), front_service, config).expect("bind");
    let cheap_client =
        Client::connect(front.local_addr(), ClientConfig::default()).expect("client");
    let opts = CallOptions { deadline: Some(Duration::from_secs(10)), ..CallOptions::default() };
    let measure = |label: &str| {
        let mut lat = Vec::new();
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            let t = Instant::now();
            cheap_client.call(CHEAP, &MESSAGE, &opts).expect("cheap call");
            lat.push(t.elapsed());
        }
        lat.sort();
        let p = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
        println!("{label}: {} calls, p50 {:.1} µs, p99 {:.1} µs", lat.len(), p(0.5), p(0.99));
    };
    measure("cheap method alone");
    // Keep n nested calls in flight from another client, for the whole measurement.
    let feeder = {
        let (addr, stop) = (front.local_addr(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let client = Client::connect(
                addr,
                ClientConfig { max_in_flight: 8192, ..ClientConfig::default() },
            )
            .expect("client");
            let opts =
                CallOptions { deadline: Some(Duration::from_secs(10)), ..CallOptions::default() };
            let mut window: VecDeque<_> =
                (0..n).map(|_| client.start(NESTED, b"", &opts)).collect();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(h) = window.pop_front() {
                    h.wait().expect("nested call");
                    window.push_back(client.start(NESTED, b"", &opts));
                }
            }
            for h in window {
                let _ = h.wait();
            }
        })
    };
    while front.load().calls_held < n {
        std::thread::sleep(Duration::from_millis(10));
    }
    measure(&format!("cheap method beside {n} handlers awaiting 1 s nested calls"));
    println!("front server holds {} calls on 4 workers", front.load().calls_held);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = feeder.join();
    let _ = timer.join();
}

/// Four servers; four threads with 16 calls in flight each, first each on its own client
/// to one server, then all through one channel over the four. The CPU column counts the
/// first server only.
fn channel_rows(dur: Duration) {
    e2e::print_header();
    let servers: Vec<(std::process::Child, SocketAddr)> = (0..4)
        .map(|_| {
            let (child, addr) = e2e::spawn_server(&["--serve-ferry"]);
            (child, addr.parse().expect("address"))
        })
        .collect();
    let addrs: Vec<SocketAddr> = servers.iter().map(|(_, a)| *a).collect();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let direct = addrs.clone();
    e2e::measure("Ferry, a client per server,", 4, 16, &servers[0].0, || {
        e2e::on_connections(4, move || {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % direct.len();
            ferry_in_flight(direct[i], dur, 16, &None)
        })
    });
    let channel = Channel::connect(addrs.clone(), ChannelConfig::default()).expect("channel");
    let end = Instant::now() + Duration::from_secs(10);
    while channel.endpoints().iter().filter(|(_, _, s)| s.ready).count() < addrs.len() {
        assert!(Instant::now() < end, "the channel's endpoints never became ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    let shared = channel.clone();
    e2e::measure("Ferry, one channel over 4 servers,", 4, 16, &servers[0].0, || {
        e2e::on_connections(4, move || channel_in_flight(&shared, dur, 16))
    });
    let calls: Vec<f64> = channel.endpoints().iter().map(|(_, _, s)| s.calls as f64).collect();
    let mean = calls.iter().sum::<f64>() / calls.len() as f64;
    let max = calls.iter().copied().fold(0.0, f64::max);
    println!("channel: calls per endpoint {calls:?}, max ÷ mean {:.3}", max / mean);
    for (child, _) in servers {
        e2e::stop(child);
    }
}

/// Keeps `window` calls in flight through `channel`, each timed from start to the end of
/// its wait.
fn channel_in_flight(channel: &Channel, dur: Duration, window: usize) -> Outcome {
    let opts = CallOptions::default();
    keep_in_flight(
        dur,
        window,
        || channel.start(ECHO, &MESSAGE, &opts),
        |c| {
            c.wait().expect("call");
        },
    )
}
