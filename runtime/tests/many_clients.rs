//! One process, a thousand upstream connections: they share the process's client I/O
//! thread (one by default) instead of running one thread each.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::time::Duration;

use ferry_runtime::{CallOptions, Client, ClientConfig, Server, ServerConfig, Service};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

#[test]
fn a_thousand_connections_to_ten_servers_share_the_client_io_thread() {
    let config = ServerConfig { event_loops: 1, workers: 1, ..ServerConfig::default() };
    let servers: Vec<Server> = (0..10)
        .map(|_| {
            let service = Service::new().inline_method(1, |_, req| Ok(req.to_vec()));
            Server::bind("127.0.0.1:0".parse().unwrap(), service, config.clone()).unwrap()
        })
        .collect();
    // The first client starts the process's I/O thread; count from there.
    let first = Client::connect(servers[0].local_addr(), ClientConfig::default()).unwrap();
    let opts = CallOptions { deadline: Some(Duration::from_secs(20)), ..CallOptions::default() };
    assert_eq!(first.call(1, b"hi", &opts).unwrap(), b"hi");
    let before = threads();
    let clients: Vec<Client> = (0..1000)
        .map(|i| Client::connect(servers[i % 10].local_addr(), ClientConfig::default()).unwrap())
        .collect();
    let pending: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| c.start(1, &(i as u32).to_le_bytes(), &opts))
        .collect();
    for (i, p) in pending.into_iter().enumerate() {
        assert_eq!(p.wait().unwrap(), (i as u32).to_le_bytes());
    }
    let connected: usize = servers.iter().map(|s| s.load().connections).sum();
    assert_eq!(connected, 1001);
    let after = threads();
    assert!(after <= before, "1 000 clients started {} threads", after.saturating_sub(before));
    drop(clients);
    for s in &servers {
        // Connections close as the clients go (each server sees its peers leave).
        let end = std::time::Instant::now() + Duration::from_secs(20);
        while s.load().connections > usize::from(s.local_addr() == servers[0].local_addr()) {
            assert!(std::time::Instant::now() < end, "connections left open");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
