//! `rpc-bench --flood`: peers that send calls and never read a reply, in rounds, against a
//! Ferry server process. Reports the server's resident memory idle, at the end of each
//! round and one second after the peers left, and what a well-behaved client saw meanwhile
//! (calls that succeeded, refusals). Issue: memory kept after floods, neighbours shed.
use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_runtime::protocol::{self, Header, Hello, Kind};
use ferry_runtime::{CallError, CallOptions, Client, ClientConfig, RetryPolicy};

use crate::e2e::{self, MESSAGE};

const ECHO: u32 = 1;
const MIB: f64 = 1024.0 * 1024.0;

/// Runs `rounds` rounds of `peers` flooding peers for `seconds` each and prints a table.
pub fn run(peers: usize, rounds: usize, seconds: u64) {
    let (server, addr) = e2e::spawn_server(&["--serve-ferry-work"]);
    let pid = server.id();
    let target: std::net::SocketAddr = addr.parse().expect("address");
    // The well-behaved client first, so its connection is up before the flood.
    let no_retry = ClientConfig {
        retry: RetryPolicy { max_attempts: 1, ..RetryPolicy::default() },
        ..ClientConfig::default()
    };
    let client = Client::connect(target, no_retry).expect("client");
    let opts = CallOptions { deadline: Some(Duration::from_secs(5)), ..CallOptions::default() };
    client.call(ECHO, &MESSAGE, &opts).expect("warm-up call");
    std::thread::sleep(Duration::from_millis(500));
    let idle = e2e::rss_bytes(pid);
    println!("flood: {peers} peers sending calls and never reading, {rounds} × {seconds} s");
    println!("| round | RSS at end MiB | RSS 1 s after MiB | above idle MiB | client ok | client refused | other errors | new connection + call, max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for round in 0..rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let floods: Vec<_> = (0..peers)
            .map(|i| {
                let stop = Arc::clone(&stop);
                let id = ((round as u128) << 32) | i as u128 | 0xf100d << 64;
                std::thread::spawn(move || flood(target, id, &stop))
            })
            .collect();
        let end = Instant::now() + Duration::from_secs(seconds);
        let (mut ok, mut refused, mut other) = (0u64, 0u64, 0u64);
        let mut slowest_new = Duration::ZERO;
        let mut next_new = Instant::now();
        while Instant::now() < end {
            // Every 250 ms a new client connects and calls once: how long a newcomer waits.
            let fresh = Instant::now() >= next_new;
            let started = Instant::now();
            let result = if fresh {
                next_new = started + Duration::from_millis(250);
                Client::connect(target, ClientConfig::default())
                    .map_err(|e| CallError::Unavailable(e.to_string()))
                    .and_then(|c| c.call(ECHO, &MESSAGE, &opts))
            } else {
                client.call(ECHO, &MESSAGE, &opts)
            };
            if fresh {
                slowest_new = slowest_new.max(started.elapsed());
            }
            match result {
                Ok(_) => ok += 1,
                Err(CallError::Overloaded(_)) => refused += 1,
                Err(_) => other += 1,
            }
        }
        let at_end = e2e::rss_bytes(pid);
        stop.store(true, Ordering::SeqCst);
        for f in floods {
            let _ = f.join();
        }
        std::thread::sleep(Duration::from_secs(1));
        let after = e2e::rss_bytes(pid);
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {ok} | {refused} | {other} | {:.1} |",
            round + 1,
            at_end as f64 / MIB,
            after as f64 / MIB,
            (after as f64 - idle as f64) / MIB,
            slowest_new.as_secs_f64() * 1e3
        );
    }
    println!("idle RSS before the flood: {:.1} MiB", idle as f64 / MIB);
    e2e::stop(server);
}

/// One flooding peer: the handshake, then pipelined requests with rising call ids until
/// `stop`, never reading; writes that would block wait at most 50 ms so the peer notices
/// `stop` (a partial frame is finished before the next).
fn flood(target: std::net::SocketAddr, client_id: u128, stop: &AtomicBool) {
    let Ok(mut s) = TcpStream::connect(target) else { return };
    let _ = s.set_write_timeout(Some(Duration::from_millis(50)));
    let mut out = Vec::new();
    let hello = Hello { client_id, max_frame: 1 << 20, secret: client_id ^ 0x5eed };
    protocol::push(&mut out, &Header::new(Kind::Hello), &hello.encode());
    let mut next_id = 1u64;
    let mut at = 0;
    while !stop.load(Ordering::Relaxed) {
        if at == out.len() {
            out.clear();
            at = 0;
            for _ in 0..256 {
                let h = Header {
                    kind: Kind::Request,
                    flags: 0,
                    call_id: next_id,
                    ack: 1,
                    method: ECHO,
                    deadline_us: 5_000_000,
                };
                protocol::push(&mut out, &h, &MESSAGE);
                next_id += 1;
            }
        }
        match s.write(&out[at..]) {
            Ok(0) => return,
            Ok(n) => at += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}
