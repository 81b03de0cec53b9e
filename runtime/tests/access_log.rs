//! The opt-in access log: one `info` line per finished call on target `ferry::access`,
//! naming the peer, the method (by its registered name), the outcome and the duration.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::sync::Mutex;
use std::time::Duration;

use ferry_runtime::{
    CallOptions, Client, ClientConfig, HandlerError, Server, ServerConfig, Service,
};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;
impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target() == "ferry::access"
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            LINES.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

#[test]
fn every_finished_call_is_one_line_when_enabled() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let service = Service::new()
        .method(1, |_, req| Ok(req.to_vec()))
        .name(1, "echo")
        .method(2, |_, _| Err(HandlerError::new("no")));
    let opts = CallOptions { deadline: Some(Duration::from_secs(5)), ..CallOptions::default() };
    for access_log in [false, true] {
        let config = ServerConfig { access_log, ..ServerConfig::default() };
        let server = Server::bind("127.0.0.1:0".parse().unwrap(), service.clone(), config).unwrap();
        let client = Client::connect(server.local_addr(), ClientConfig::default()).unwrap();
        client.call(1, b"x", &opts).unwrap();
        let _ = client.call(2, b"", &opts);
        drop(client);
        drop(server);
    }
    let lines = LINES.lock().unwrap().clone();
    assert_eq!(lines.len(), 2, "only the server with the log on wrote: {lines:?}");
    assert!(lines[0].starts_with("127.0.0.1:"), "{lines:?}");
    assert!(lines[0].contains(" echo ok "), "{lines:?}");
    assert!(lines[1].contains(" #00000002 failed "), "an unnamed method by id: {lines:?}");
    assert!(lines.iter().all(|l| l.contains("us client=")), "{lines:?}");
}
