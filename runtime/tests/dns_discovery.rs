//! A channel discovers its endpoints from a real DNS server: Debian's dnsmasq, started on a
//! loopback port with records for loopback servers, restarted with fewer, then stopped.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_runtime::{CallOptions, Channel, ChannelConfig, Server, ServerConfig, Service};

const ECHO: u32 = 1;
const SERVICE: &str = "_echo._tcp.ferry.test";
const HOST: &str = "h.ferry.test";

/// dnsmasq on 127.0.0.1:`port`, serving `HOST` → 127.0.0.1 and an SRV record of
/// `SERVICE` per port in `ports`, and nothing else (no upstream, no /etc/hosts).
struct Dnsmasq(Child);

impl Dnsmasq {
    fn start(port: u16, ports: &[u16]) -> Dnsmasq {
        let mut args = vec![
            "--keep-in-foreground".to_string(),
            "--conf-file=/dev/null".into(),
            "--no-resolv".into(),
            "--no-hosts".into(),
            "--bind-interfaces".into(),
            "--listen-address=127.0.0.1".into(),
            format!("--port={port}"),
            "--pid-file=".into(),
            format!("--host-record={HOST},127.0.0.1"),
        ];
        for p in ports {
            args.push(format!("--srv-host={SERVICE},{HOST},{p},0,1"));
        }
        let child = Command::new("dnsmasq")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start dnsmasq ({e}): install it (`apt-get install dnsmasq-base`; .ci/run does)")
            });
        Dnsmasq(child)
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free UDP port on loopback, for dnsmasq (which must be told one).
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn counted() -> (Server, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let service = Service::new().method(ECHO, move |_, req| {
        c.fetch_add(1, Ordering::SeqCst);
        Ok(req.to_vec())
    });
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    (Server::bind(addr, service, ServerConfig::default()).unwrap(), calls)
}

/// `Channel::discover`, retried while dnsmasq is still starting (bounded).
fn discover(target: &str, config: &ChannelConfig) -> Channel {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        match Channel::discover(target, config.clone()) {
            Ok(c) => return c,
            Err(e) if Instant::now() < end => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("{target}: {e}"),
        }
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn opts() -> CallOptions {
    CallOptions { deadline: Some(Duration::from_secs(5)), ..CallOptions::default() }
}

#[test]
fn a_channel_follows_srv_records_as_they_change() {
    let servers: Vec<(Server, Arc<AtomicUsize>)> = (0..3).map(|_| counted()).collect();
    let ports: Vec<u16> = servers.iter().map(|(s, _)| s.local_addr().port()).collect();
    let dns_port = free_port();
    let dns = Dnsmasq::start(dns_port, &ports);
    let config =
        ChannelConfig { discovery_refresh: Duration::from_millis(100), ..ChannelConfig::default() };
    let channel = discover(&format!("dns://127.0.0.1:{dns_port}/{SERVICE}"), &config);
    assert_eq!(channel.endpoints().len(), 3, "{:?}", channel.endpoints());
    wait_for("three ready endpoints", || {
        channel.endpoints().iter().filter(|(_, _, s)| s.ready).count() == 3
    });
    for i in 0..90u32 {
        channel.call(ECHO, &i.to_le_bytes(), &opts()).unwrap();
    }
    assert!(servers.iter().all(|(_, n)| n.load(Ordering::SeqCst) > 0), "every server took calls");

    // The third server leaves the records: the channel drops it at its next refresh.
    drop(dns);
    let dns = Dnsmasq::start(dns_port, &ports[..2]);
    wait_for("the removed endpoint to leave", || channel.endpoints().len() == 2);
    let third = servers[2].1.load(Ordering::SeqCst);
    for i in 0..60u32 {
        channel.call(ECHO, &i.to_le_bytes(), &opts()).unwrap();
    }
    assert_eq!(servers[2].1.load(Ordering::SeqCst), third, "no call after its removal");

    // DNS gone: refreshes fail, the endpoints stay, calls go on.
    drop(dns);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(channel.endpoints().len(), 2);
    channel.call(ECHO, b"still", &opts()).unwrap();
}

#[test]
fn a_name_and_port_target_uses_address_records_and_a_wrong_name_is_an_error() {
    let (server, calls) = counted();
    let dns_port = free_port();
    let _dns = Dnsmasq::start(dns_port, &[]);
    let port = server.local_addr().port();
    let config = ChannelConfig::default();
    let channel = discover(&format!("dns://127.0.0.1:{dns_port}/{HOST}:{port}"), &config);
    assert_eq!(channel.call(ECHO, b"a", &opts()).unwrap(), b"a");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let e = Channel::discover(&format!("dns://127.0.0.1:{dns_port}/nope.ferry.test:1"), config)
        .unwrap_err();
    // dnsmasq without upstream servers refuses names it does not know (an authoritative
    // server says NXDOMAIN: "no A or AAAA records"); either way the name is named.
    assert!(e.to_string().contains("nope.ferry.test"), "{e}");
}
