//! `Server::run_until_signal`, in a test binary of its own: the signal goes to the whole
//! process.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::sync::mpsc;
use std::time::Duration;

use ferry_runtime::{
    CallOptions, Client, ClientConfig, Server, ServerConfig, Service, ShutdownSignals,
};

#[test]
fn sigterm_shuts_the_server_down_gracefully_and_returns() {
    let service = Service::new().method(1, |_, req| {
        std::thread::sleep(Duration::from_millis(300));
        Ok(req.to_vec())
    });
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), service, ServerConfig::default())
        .expect("bind");
    let addr = server.local_addr();
    let (tx, rx) = mpsc::channel();
    // Installed here, before the signal is raised (a SIGTERM with no handler would end the
    // test process).
    let signals = ShutdownSignals::install().unwrap();
    let serving = std::thread::spawn(move || tx.send(server.run_until(signals)).unwrap());
    let client = Client::connect(addr, ClientConfig::default()).unwrap();
    let opts = CallOptions { deadline: Some(Duration::from_secs(10)), ..CallOptions::default() };
    // A call in flight when the signal comes still gets its reply (the grace period).
    let pending = client.start(1, b"in flight", &opts);
    std::thread::sleep(Duration::from_millis(100));
    signal_hook::low_level::raise(signal_hook::consts::SIGTERM).unwrap();
    assert_eq!(pending.wait().unwrap(), b"in flight");
    let returned = rx.recv_timeout(Duration::from_secs(20)).expect("run_until_signal returned");
    assert_eq!(returned, signal_hook::consts::SIGTERM);
    serving.join().unwrap();
    // Nothing listens any more.
    assert!(std::net::TcpStream::connect(addr).is_err());
}
