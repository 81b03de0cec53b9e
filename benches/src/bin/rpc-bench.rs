//! End-to-end loopback benchmarks, server and client in separate processes: raw TCP
//! (the floor) and Ferry, sequential latency and pipelined throughput, with CPU time per
//! call from /proc for both processes.
//!
//! `cargo run --release -p ferry-benches --bin rpc-bench [seconds-per-run]`
use ferry_benches::cpu_seconds;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferry_runtime::{CallOptions, Client, ClientConfig, Server, ServerConfig, Service};

const MSG: usize = 32;
const ECHO: u32 = 1;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--serve-raw") => serve_raw(),
        Some("--serve-ferry") => serve_ferry(args.get(2).and_then(|a| a.parse().ok())),
        Some("--idle") => {
            let n = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
            idle_connections(n);
        }
        _ => {
            let secs: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2.0);
            run_all(Duration::from_secs_f64(secs));
        }
    }
}

/// Starts this binary as a server child and reads the port it prints.
fn spawn(mode: &str) -> (Child, SocketAddr) {
    spawn_with(mode, &[])
}

fn spawn_with(mode: &str, extra: &[String]) -> (Child, SocketAddr) {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .arg(mode)
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("port");
    (child, line.trim().parse().expect("address"))
}

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

fn serve_ferry(event_loops: Option<usize>) {
    let service = Service::new().inline_method(ECHO, |_, req| Ok(req.to_vec()));
    let mut config = ServerConfig::default();
    if let Some(n) = event_loops {
        config.event_loops = n;
    }
    let server = Server::bind("127.0.0.1:0".parse().expect("addr"), service, config).expect("bind");
    println!("{}", server.local_addr());
    // Serve until the parent kills us.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Resident memory of a process in bytes, from /proc/PID/status.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Opens `n` connections to a Ferry server process, completes the handshake on each, and
/// reports the server's resident memory per idle connection.
fn idle_connections(n: usize) {
    use ferry_runtime::protocol::{self, Header, Hello, Kind};
    let (mut server, addr) = spawn("--serve-ferry");
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_bytes(server.id());
    let mut hello = Vec::new();
    protocol::push(
        &mut hello,
        &Header::new(Kind::Hello),
        &Hello { client_id: 1, max_frame: 1 << 20 }.encode(),
    );
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = match TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("stopped at {i} connections: {e}");
                break;
            }
        };
        s.write_all(&hello).expect("hello");
        let mut ack = [0u8; protocol::HEADER_LEN + 28];
        s.read_exact(&mut ack).expect("hello ack");
        conns.push(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_bytes(server.id());
    let per = after.saturating_sub(before) as f64 / conns.len().max(1) as f64;
    println!("| idle connections held | server RSS before | after | per connection |");
    println!("|---:|---:|---:|---:|");
    println!(
        "| {} | {:.1} MiB | {:.1} MiB | {:.0} B |",
        conns.len(),
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        per
    );
    drop(conns);
    let _ = server.kill();
    let _ = server.wait();
}

struct Result {
    name: String,
    calls: u64,
    secs: f64,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    cpu_us_per_call: f64,
}

fn measure(name: &str, server: &Child, run: impl FnOnce() -> (u64, Vec<Duration>)) -> Result {
    let me = std::process::id();
    let (c0, s0) = (cpu_seconds(me), cpu_seconds(server.id()));
    let start = Instant::now();
    let (calls, mut lat) = run();
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(me) - c0 + cpu_seconds(server.id()) - s0;
    lat.sort();
    let pct = |p: f64| {
        (!lat.is_empty()).then(|| lat[((lat.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6)
    };
    Result {
        name: name.into(),
        calls,
        secs,
        p50_us: pct(0.5),
        p99_us: pct(0.99),
        cpu_us_per_call: cpu * 1e6 / calls.max(1) as f64,
    }
}

fn raw_ping_pong(addr: SocketAddr, dur: Duration) -> (u64, Vec<Duration>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let msg = [7u8; MSG];
    let mut back = [0u8; MSG];
    let mut lat = Vec::new();
    let end = Instant::now() + dur;
    while Instant::now() < end {
        let t = Instant::now();
        s.write_all(&msg).expect("write");
        s.read_exact(&mut back).expect("read");
        lat.push(t.elapsed());
    }
    (lat.len() as u64, lat)
}

fn raw_pipelined(addr: SocketAddr, dur: Duration, window: usize) -> (u64, Vec<Duration>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let batch = vec![7u8; MSG * window];
    let mut back = vec![0u8; MSG * window];
    let mut n = 0u64;
    let end = Instant::now() + dur;
    while Instant::now() < end {
        s.write_all(&batch).expect("write");
        s.read_exact(&mut back).expect("read");
        n += window as u64;
    }
    (n, Vec::new())
}

fn ferry_sequential(addr: SocketAddr, dur: Duration) -> (u64, Vec<Duration>) {
    let client = Client::connect(addr, ClientConfig::default()).expect("client");
    let opts = CallOptions::default();
    let msg = [7u8; MSG];
    let _ = client.call(ECHO, &msg, &opts); // connect before timing
    let mut lat = Vec::new();
    let end = Instant::now() + dur;
    while Instant::now() < end {
        let t = Instant::now();
        client.call(ECHO, &msg, &opts).expect("call");
        lat.push(t.elapsed());
    }
    (lat.len() as u64, lat)
}

fn ferry_in_flight(addr: SocketAddr, dur: Duration, window: usize) -> (u64, Vec<Duration>) {
    let client = Client::connect(addr, ClientConfig::default()).expect("client");
    let opts = CallOptions::default();
    let msg = [7u8; MSG];
    let _ = client.call(ECHO, &msg, &opts);
    let mut n = 0u64;
    let end = Instant::now() + dur;
    let mut handles = std::collections::VecDeque::with_capacity(window);
    while Instant::now() < end {
        while handles.len() < window {
            handles.push_back(client.start(ECHO, &msg, &opts));
        }
        if let Some(h) = handles.pop_front() {
            h.wait().expect("call");
            n += 1;
        }
    }
    for h in handles {
        let _ = h.wait();
        n += 1;
    }
    (n, Vec::new())
}

fn run_all(dur: Duration) {
    let mut results = Vec::new();
    let (mut raw, raw_addr) = spawn("--serve-raw");
    results.push(measure("raw TCP ping-pong, 32 B", &raw, || raw_ping_pong(raw_addr, dur)));
    results
        .push(measure("raw TCP pipelined, window 64", &raw, || raw_pipelined(raw_addr, dur, 64)));
    let _ = raw.kill();
    let _ = raw.wait();
    let (mut ferry, ferry_addr) = spawn("--serve-ferry");
    results
        .push(measure("Ferry sequential call, 32 B", &ferry, || ferry_sequential(ferry_addr, dur)));
    for window in [1usize, 16, 64, 256] {
        let name = format!("Ferry {window} in flight, 1 connection");
        results.push(measure(&name, &ferry, || ferry_in_flight(ferry_addr, dur, window)));
    }
    let _ = ferry.kill();
    let _ = ferry.wait();
    // How many event loops: the same 4-connection load against 1 and 2 loops.
    for loops in [1usize, 2] {
        let (mut server, addr) = spawn_with("--serve-ferry", &[loops.to_string()]);
        let name = format!("Ferry 4 connections × 64 in flight, {loops} event loop(s)");
        results.push(measure(&name, &server, || {
            let threads: Vec<_> = (0..4)
                .map(|_| std::thread::spawn(move || ferry_in_flight(addr, dur, 64).0))
                .collect();
            (threads.into_iter().map(|t| t.join().expect("thread")).sum(), Vec::new())
        }));
        let _ = server.kill();
        let _ = server.wait();
    }

    println!("| run | calls/s | p50 µs | p99 µs | CPU µs/call |");
    println!("|---|---:|---:|---:|---:|");
    for r in &results {
        let f = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.1}"));
        println!(
            "| {} | {:.0} | {} | {} | {:.2} |",
            r.name,
            r.calls as f64 / r.secs,
            f(r.p50_us),
            f(r.p99_us),
            r.cpu_us_per_call
        );
    }
    let p50 = |name: &str| results.iter().find(|r| r.name.starts_with(name)).and_then(|r| r.p50_us);
    if let (Some(raw), Some(ferry)) = (p50("raw TCP ping-pong"), p50("Ferry sequential")) {
        println!("\nFerry sequential p50 / raw ping-pong p50 = {:.2}", ferry / raw);
    }
}
