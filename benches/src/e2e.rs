//! What the loopback bench binaries (`rpc-bench`, `tonic-bench`) share: the server child
//! process, one timed run with CPU per call from /proc for both processes, the printed
//! table and the rows `report` reads.
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cpu_seconds;

/// Calls in flight per connection, for every throughput run.
pub const WINDOWS: [usize; 4] = [1, 16, 64, 256];
/// Connections (tonic: channels), for every throughput run.
pub const CONNECTIONS: [usize; 2] = [1, 4];
/// Request and reply payload of every echo call.
pub const MESSAGE: [u8; 32] = [7; 32];

/// Starts this binary again with `args` as the server and reads the address it prints.
pub fn spawn_server(args: &[&str]) -> (Child, String) {
    // `RPC_BENCH_SERVER_EXE=path`: serve from another build (A/B of one side at a time).
    let exe = std::env::var_os("RPC_BENCH_SERVER_EXE")
        .map_or_else(|| std::env::current_exe().expect("own path"), std::path::PathBuf::from);
    let mut child =
        Command::new(exe).args(args).stdout(Stdio::piped()).spawn().expect("spawn server");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("server address");
    (child, line.trim().to_string())
}

/// Stops a server child.
pub fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// What one run does: the calls it completed and, where measured, each call's latency.
pub type Outcome = (u64, Vec<Duration>);

/// Prints the table header the rows of [`measure`] follow.
pub fn print_header() {
    println!("| run | calls/s | p50 µs | p99 µs | CPU µs/call |");
    println!("|---|---:|---:|---:|---:|");
}

/// Times `run`, prints its row and records it for `report`. `in_flight` 0 means one blocking
/// call at a time (the sequential latency run).
pub fn measure(
    system: &str,
    conns: usize,
    in_flight: usize,
    server: &Child,
    run: impl FnOnce() -> Outcome,
) {
    let label = if in_flight == 0 {
        format!("{system} sequential, 32 B")
    } else {
        format!("{system} {in_flight} in flight × {conns} connection(s)")
    };
    // `RPC_BENCH_ONLY=text` runs only the rows whose label contains it.
    if std::env::var("RPC_BENCH_ONLY").is_ok_and(|only| !label.contains(&only)) {
        return;
    }
    let me = std::process::id();
    let (c0, s0) = (cpu_seconds(me), cpu_seconds(server.id()));
    let start = Instant::now();
    let (calls, mut latencies) = run();
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(me) - c0 + cpu_seconds(server.id()) - s0;
    latencies.sort_unstable();
    let pct = |p: f64| {
        let last = latencies.len().checked_sub(1)?;
        Some(latencies[(last as f64 * p) as usize].as_secs_f64() * 1e6)
    };
    let (p50, p99) = (pct(0.5), pct(0.99));
    let rate = calls as f64 / secs;
    let cpu_per_call = cpu * 1e6 / calls.max(1) as f64;
    let show = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.1}"));
    println!("| {label} | {rate:.0} | {} | {} | {cpu_per_call:.2} |", show(p50), show(p99));
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.2}"));
    crate::record!(
        "rpc",
        system,
        conns,
        in_flight,
        format!("{rate:.0}"),
        num(p50),
        num(p99),
        format!("{cpu_per_call:.3}")
    );
}

/// Runs `per_connection` on `conns` threads at once and adds up what they did.
pub fn on_connections<F>(conns: usize, per_connection: F) -> Outcome
where
    F: Fn() -> Outcome + Send + Sync + 'static,
{
    let f = std::sync::Arc::new(per_connection);
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let f = std::sync::Arc::clone(&f);
            std::thread::spawn(move || f())
        })
        .collect();
    let mut total = (0, Vec::new());
    for t in threads {
        let (n, lat) = t.join().expect("connection thread");
        total.0 += n;
        total.1.extend(lat);
    }
    total
}

/// Resident memory of a process in bytes, from /proc/PID/status.
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Opens up to `n` connections to `addr`, sends `greeting` on each and waits for the server's
/// first reply bytes (its side of the handshake), then reports the server's resident memory
/// per connection.
pub fn idle_connections(system: &str, server: &Child, addr: &str, n: usize, greeting: &[u8]) {
    use std::io::{Read, Write};
    idle_connections_with(system, server, n, |i| {
        let mut s = match std::net::TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{system}: stopped at {i} connections: {e}");
                return None;
            }
        };
        s.write_all(greeting).expect("handshake");
        let mut reply = [0u8; 256];
        if s.read(&mut reply).map_or(true, |got| got == 0) {
            eprintln!("{system}: connection {i} closed during the handshake");
            return None;
        }
        Some(Box::new(s))
    });
}

/// As [`idle_connections`], with `open(i)` making connection `i` (and its handshake), or
/// `None` to stop.
pub fn idle_connections_with(
    system: &str,
    server: &Child,
    n: usize,
    mut open: impl FnMut(usize) -> Option<Box<dyn std::any::Any>>,
) {
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_bytes(server.id());
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        match open(i) {
            Some(c) => conns.push(c),
            None => break,
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_bytes(server.id());
    let per = after.saturating_sub(before) as f64 / conns.len().max(1) as f64;
    println!("| server | idle connections held | RSS before | after | per connection |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| {system} | {} | {:.1} MiB | {:.1} MiB | {per:.0} B |",
        conns.len(),
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
    );
    crate::record!("idle", system, conns.len(), format!("{per:.0}"));
}

/// A fresh CA, and a folder holding a "localhost" certificate and key it signed, as
/// `--serve-ferry-tls` reads them.
pub fn server_certificates(purpose: &str) -> (TestCa, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("ferry-{purpose}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("certificate folder");
    let ca = test_ca();
    let (cert, key) = ca.issue("localhost");
    std::fs::write(dir.join("server.pem"), cert).expect("write");
    std::fs::write(dir.join("server.key"), key).expect("write");
    (ca, dir)
}

/// A CA made at start; nothing is committed.
pub struct TestCa {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestCa")
    }
}

fn test_ca() -> TestCa {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, "Ferry bench CA");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("CA");
    TestCa { cert, key }
}

impl TestCa {
    /// A certificate for `name` and its key, PEM.
    pub fn issue(&self, name: &str) -> (String, String) {
        let params = rcgen::CertificateParams::new(vec![name.to_string()]).expect("params");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.cert, &self.key).expect("cert");
        (cert.pem(), key.serialize_pem())
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> Vec<u8> {
        self.cert.der().to_vec()
    }
}
