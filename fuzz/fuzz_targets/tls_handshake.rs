//! A TLS server fed arbitrary bytes where a ClientHello belongs (then the end of the
//! stream): it must close that connection without panicking and keep serving real TLS
//! clients. The server runs in this process, on loopback, started once.
#![no_main]
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use ferry_runtime::{
    CallOptions, Client, ClientConfig, ClientTls, Server, ServerConfig, ServerTls, Service,
};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    addr: SocketAddr,
    client_tls: ClientTls,
    _server: Server,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let ca = ca.self_signed(&ca_key).expect("CA");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("params")
            .signed_by(&key, &ca, &ca_key)
            .expect("certificate");
        let tls = ServerTls::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes(), None)
            .expect("server TLS");
        let config = ServerConfig {
            tls: Some(tls),
            event_loops: 1,
            workers: 1,
            handshake_timeout: Duration::from_millis(500),
            ..ServerConfig::default()
        };
        let service = Service::new().inline_method(1, |_, req| Ok(req.to_vec()));
        let server = Server::bind("127.0.0.1:0".parse().expect("address"), service, config)
            .expect("bind");
        let client_tls =
            ClientTls::from_pem(ca.pem().as_bytes(), "localhost", None).expect("client TLS");
        Fixture { addr: server.local_addr(), client_tls, _server: server }
    })
}

fuzz_target!(|data: &[u8]| {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let f = fixture();
    let mut s = TcpStream::connect(f.addr).expect("connect");
    let _ = s.write_all(data);
    let _ = s.shutdown(Shutdown::Write);
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    // The server answers (an alert, perhaps a ServerHello) and closes; the end of our
    // stream ends its handshake at once. A read that times out means it kept a dead
    // handshake open past its handshake timeout.
    let mut sink = Vec::new();
    if let Err(e) = s.read_to_end(&mut sink) {
        assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "connection held open");
    }
    if RUNS.fetch_add(1, Ordering::Relaxed) % 256 == 0 {
        let config = ClientConfig { tls: Some(f.client_tls.clone()), ..ClientConfig::default() };
        let client = Client::connect(f.addr, config).expect("client");
        let opts = CallOptions { deadline: Some(Duration::from_secs(5)), ..Default::default() };
        assert_eq!(client.call(1, b"still serving", &opts).expect("a real client is served"), b"still serving");
    }
});
