//! TLS 1.3 and mutual TLS on loopback, with certificates made at test time (rcgen): no
//! private key is committed.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_runtime::{
    Address, CallError, CallOptions, Client, ClientConfig, ClientTls, Credentials, Listen, Server,
    ServerConfig, ServerTls, Service,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

const WHO: u32 = 1;
const TOKEN: u32 = 2;

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// A leaf for `names` (PEM chain, PEM key); `expired` dates it in the past.
    fn issue(&self, common_name: &str, names: &[&str], expired: bool) -> (String, String) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, common_name);
        if expired {
            params.not_before = rcgen::date_time_ymd(2001, 1, 1);
            params.not_after = rcgen::date_time_ymd(2002, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A leaf whose subject is `dn`, in order (several attributes of one type allowed).
    fn issue_dn(&self, dn: &[(DnType, &str)]) -> (String, String) {
        let mut params = CertificateParams::new(vec!["client".to_string()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (kind, value) in dn {
            // rcgen keeps one value per type: a second CN goes in under its OID.
            let kind = match kind {
                DnType::CommonName if params.distinguished_name.get(kind).is_some() => {
                    DnType::CustomDnType(vec![2, 5, 4, 3])
                }
                k => k.clone(),
            };
            params.distinguished_name.push(kind, *value);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }
}

/// A folder of PEM files, removed when the test ends.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("ferry-tls-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn service(ran: &Arc<AtomicUsize>) -> Service {
    let ran = Arc::clone(ran);
    Service::new()
        .method(WHO, move |ctx, _| {
            ran.fetch_add(1, Ordering::SeqCst);
            let who = ctx.peer_identity().map_or("anonymous".to_string(), |p| {
                format!("{} {}", p.subject, p.alt_names.join(","))
            });
            Ok(who.into_bytes())
        })
        .method(TOKEN, |ctx, _| Ok(ctx.metadata("authorization").unwrap_or(b"none").to_vec()))
        .name(WHO, "who")
}

fn server(tls: Option<ServerTls>, service: Service) -> Server {
    let config = ServerConfig {
        tls,
        handshake_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    };
    Server::bind("127.0.0.1:0".parse().unwrap(), service, config).unwrap()
}

fn client(server: &Server, tls: Option<ClientTls>) -> Client {
    let config = ClientConfig { tls, ..ClientConfig::default() };
    Client::connect(server.local_addr(), config).unwrap()
}

fn opts() -> CallOptions {
    CallOptions { deadline: Some(Duration::from_secs(5)), ..CallOptions::default() }
}

/// A server for "localhost" signed by `ca`, requiring client certificates of `client_ca`.
fn mtls_server(ca: &Ca, client_ca: Option<&Ca>, ran: &Arc<AtomicUsize>) -> Server {
    let (cert, key) = ca.issue("server", &["localhost"], false);
    let client_ca = client_ca.map(Ca::pem);
    let tls = ServerTls::from_pem(
        cert.as_bytes(),
        key.as_bytes(),
        client_ca.as_deref().map(str::as_bytes),
    )
    .unwrap();
    server(Some(tls), service(ran))
}

fn unavailable(r: Result<Vec<u8>, CallError>) -> String {
    match r {
        Err(CallError::Unavailable(m)) => m,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn mutual_tls_calls_carry_the_verified_identity_to_the_handler() {
    let ca = Ca::new("Test CA");
    let ran = Arc::new(AtomicUsize::new(0));
    let server = mtls_server(&ca, Some(&ca), &ran);
    let (cert, key) = ca.issue("billing", &["spiffe://example.org/billing"], false);
    let tls = ClientTls::from_pem(
        ca.pem().as_bytes(),
        "localhost",
        Some((cert.as_bytes(), key.as_bytes())),
    )
    .unwrap();
    let client = client(&server, Some(tls));
    let who = String::from_utf8(client.call(WHO, b"", &opts()).unwrap()).unwrap();
    assert!(who.contains("CN=billing"), "{who}");
    assert!(who.contains("spiffe://example.org/billing") || who.contains("DNS:"), "{who}");
    // Many calls on the one connection.
    for _ in 0..50 {
        client.call(WHO, b"", &opts()).unwrap();
    }
    assert_eq!(ran.load(Ordering::SeqCst), 51);
}

#[test]
fn handshakes_fail_with_a_reason_for_every_kind_of_bad_certificate() {
    let ca = Ca::new("Test CA");
    let other = Ca::new("Other CA");
    let ran = Arc::new(AtomicUsize::new(0));
    let server = mtls_server(&ca, Some(&ca), &ran);
    let (good, good_key) = ca.issue("ok", &["client"], false);
    let pair = Some((good.as_bytes(), good_key.as_bytes()));

    // The client trusts another CA.
    let tls = ClientTls::from_pem(other.pem().as_bytes(), "localhost", pair).unwrap();
    let m = unavailable(client(&server, Some(tls)).call(WHO, b"", &opts()));
    assert!(m.to_lowercase().contains("certificate"), "{m}");

    // The certificate names another host.
    let tls = ClientTls::from_pem(ca.pem().as_bytes(), "elsewhere.example", pair).unwrap();
    let m = unavailable(client(&server, Some(tls)).call(WHO, b"", &opts()));
    assert!(m.to_lowercase().contains("certificate"), "{m}");

    // No client certificate where one is required.
    let tls = ClientTls::from_pem(ca.pem().as_bytes(), "localhost", None).unwrap();
    let r = client(&server, Some(tls)).call(WHO, b"", &opts());
    assert!(r.is_err(), "{r:?}");

    // An expired client certificate, and one from a CA the server does not trust.
    for (cert, key) in [ca.issue("old", &["client"], true), other.issue("stranger", &["c"], false)]
    {
        let tls = ClientTls::from_pem(
            ca.pem().as_bytes(),
            "localhost",
            Some((cert.as_bytes(), key.as_bytes())),
        )
        .unwrap();
        let r = client(&server, Some(tls)).call(WHO, b"", &opts());
        assert!(r.is_err(), "{r:?}");
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0, "no handler ran for a refused peer");

    // And the good one still gets through.
    let tls = ClientTls::from_pem(ca.pem().as_bytes(), "localhost", pair).unwrap();
    assert!(client(&server, Some(tls)).call(WHO, b"", &opts()).is_ok());
}

/// One server, a plaintext, a TLS and a Unix socket listener: all serve the same service
/// with one set of loops, workers and records, each listener speaking its own protocol.
#[test]
fn one_server_listens_in_plaintext_over_tls_and_on_a_unix_socket() {
    let ca = Ca::new("Test CA");
    let (cert, key) = ca.issue("server", &["localhost"], false);
    let tls = ServerTls::from_pem(cert.as_bytes(), key.as_bytes(), None).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let local = "127.0.0.1:0".parse().unwrap();
    let dir = std::env::temp_dir().join(format!("ferry-uds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("server.sock");
    let listens = [Listen::Tcp(local), Listen::Tls(local, tls), Listen::Unix(path.clone())];
    let config = ServerConfig { workers: 2, ..ServerConfig::default() };
    let server = Server::bind_all(&listens, service(&ran), config).unwrap();
    let [Address::Tcp(plain_addr), Address::Tcp(tls_addr), Address::Unix(unix_path)] =
        server.local_addrs()
    else {
        panic!("three addresses: {:?}", server.local_addrs())
    };
    let (plain_addr, tls_addr) = (*plain_addr, *tls_addr);
    assert_ne!(plain_addr, tls_addr);
    assert_eq!(unix_path, &path);
    assert_eq!(server.local_addr(), plain_addr);

    let plain = Client::connect(plain_addr, ClientConfig::default()).unwrap();
    assert_eq!(plain.call(WHO, b"", &opts()).unwrap(), b"anonymous");
    let tls = ClientTls::from_pem(ca.pem().as_bytes(), "localhost", None).unwrap();
    let config = ClientConfig { tls: Some(tls.clone()), ..ClientConfig::default() };
    let secure = Client::connect(tls_addr, config).unwrap();
    assert_eq!(secure.call(WHO, b"", &opts()).unwrap(), b"anonymous");
    let local = Client::connect_unix(&path, ClientConfig::default()).unwrap();
    assert_eq!(local.call(WHO, b"", &opts()).unwrap(), b"anonymous");
    // Each listener keeps its own protocol.
    let m = unavailable(Client::connect(tls_addr, ClientConfig::default()).unwrap().call(
        WHO,
        b"",
        &opts(),
    ));
    assert!(m.contains("expects TLS"), "{m}");
    let config = ClientConfig { tls: Some(tls.clone()), ..ClientConfig::default() };
    let m = unavailable(Client::connect(plain_addr, config).unwrap().call(WHO, b"", &opts()));
    assert!(m.contains("does not speak TLS"), "{m}");
    let config = ClientConfig { tls: Some(tls), ..ClientConfig::default() };
    let e = Client::connect_unix(&path, config).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
    assert_eq!(ran.load(Ordering::SeqCst), 3);
    let end = Instant::now() + Duration::from_secs(10);
    while server.load().connections != 3 {
        assert!(Instant::now() < end, "the refused connections were never closed");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The socket path is taken while the server runs, and freed when it stops.
    let e =
        Server::bind_all(&[Listen::Unix(path.clone())], Service::new(), ServerConfig::default())
            .unwrap_err();
    assert!(e.to_string().contains("another server is listening"), "{e}");
    drop((plain, secure, local));
    server.shutdown();
    assert!(!path.exists(), "the server removes its socket file");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(Server::bind_all(&[], Service::new(), ServerConfig::default()).is_err());
}

/// A Unix socket client reconnects when its server restarts on the same path, like a TCP
/// one, and a path with no server behind it fails calls `Unavailable`, saying where.
#[test]
fn a_unix_socket_client_reconnects_to_a_restarted_server() {
    let ran = Arc::new(AtomicUsize::new(0));
    let dir = std::env::temp_dir().join(format!("ferry-uds-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.sock");
    let listen = [Listen::Unix(path.clone())];
    let client = Client::connect_unix(&path, ClientConfig::default()).unwrap();
    let m = unavailable(client.call(WHO, b"", &opts()));
    assert!(m.contains("s.sock"), "{m}");
    let server = Server::bind_all(&listen, service(&ran), ServerConfig::default()).unwrap();
    assert_eq!(client.call(WHO, b"", &opts()).unwrap(), b"anonymous");
    server.shutdown();
    let server = Server::bind_all(&listen, service(&ran), ServerConfig::default()).unwrap();
    assert_eq!(client.call(WHO, b"", &opts()).unwrap(), b"anonymous");
    assert_eq!(ran.load(Ordering::SeqCst), 2);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plaintext_and_tls_peers_are_told_what_the_other_side_expects() {
    let ca = Ca::new("Test CA");
    let ran = Arc::new(AtomicUsize::new(0));
    let tls_server = mtls_server(&ca, None, &ran);
    let m = unavailable(client(&tls_server, None).call(WHO, b"", &opts()));
    assert!(m.contains("expects TLS"), "{m}");

    let plain = server(None, service(&ran));
    let tls = ClientTls::from_pem(ca.pem().as_bytes(), "localhost", None).unwrap();
    let m = unavailable(client(&plain, Some(tls)).call(WHO, b"", &opts()));
    assert!(m.contains("does not speak TLS"), "{m}");
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn a_denied_call_never_runs_its_handler() {
    let ca = Ca::new("Test CA");
    let ran = Arc::new(AtomicUsize::new(0));
    let (cert, key) = ca.issue("server", &["localhost"], false);
    let tls =
        ServerTls::from_pem(cert.as_bytes(), key.as_bytes(), Some(ca.pem().as_bytes())).unwrap();
    let service = service(&ran).authorize(|ctx, method, name| {
        let subject = ctx.peer_identity().map(|p| p.subject.clone()).unwrap_or_default();
        let cn = ctx.peer_identity().and_then(|p| p.common_name());
        if cn == Some("admin") || method != WHO {
            Ok(())
        } else {
            Err(format!("{subject} may not call {}", name.unwrap_or("?")))
        }
    });
    let server = server(Some(tls), service);
    let as_user = |cn: &str| {
        let (cert, key) = ca.issue(cn, &["client"], false);
        let tls = ClientTls::from_pem(
            ca.pem().as_bytes(),
            "localhost",
            Some((cert.as_bytes(), key.as_bytes())),
        )
        .unwrap();
        client(&server, Some(tls))
    };
    match as_user("guest").call(WHO, b"", &opts()) {
        Err(CallError::PermissionDenied(m)) => {
            assert!(m.contains("CN=guest may not call who"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert!(as_user("admin").call(WHO, b"", &opts()).is_ok());
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn credentials_travel_over_tls_only_unless_allowed() {
    let ca = Ca::new("Test CA");
    let ran = Arc::new(AtomicUsize::new(0));
    let tls_server = mtls_server(&ca, None, &ran);
    let token = || {
        Credentials::new(|_method| Ok(vec![("authorization".into(), b"Bearer s3cret".to_vec())]))
    };
    let tls = ClientTls::from_pem(ca.pem().as_bytes(), "localhost", None).unwrap();
    let config =
        ClientConfig { tls: Some(tls), credentials: Some(token()), ..ClientConfig::default() };
    let c = Client::connect(tls_server.local_addr(), config).unwrap();
    assert_eq!(c.call(TOKEN, b"", &opts()).unwrap(), b"Bearer s3cret");

    let plain = server(None, service(&ran));
    let config = ClientConfig { credentials: Some(token()), ..ClientConfig::default() };
    let c = Client::connect(plain.local_addr(), config).unwrap();
    match c.start(TOKEN, b"", &opts()).wait_report() {
        r if matches!(r.result, Err(CallError::PermissionDenied(_))) => assert_eq!(r.attempts, 0),
        other => panic!("{other:?}"),
    }
    let creds = Credentials { allow_plaintext: true, ..token() };
    let config = ClientConfig { credentials: Some(creds), ..ClientConfig::default() };
    let c = Client::connect(plain.local_addr(), config).unwrap();
    assert_eq!(c.call(TOKEN, b"", &opts()).unwrap(), b"Bearer s3cret");
}

#[test]
fn certificates_rotate_under_load_and_a_bad_file_keeps_the_old_one() {
    let ca = Ca::new("Test CA");
    let dir = Dir::new("rotate");
    let (cert, key) = ca.issue("server-1", &["localhost"], false);
    let (cert_path, key_path) = (dir.write("cert.pem", &cert), dir.write("key.pem", &key));
    let tls = ServerTls::from_pem_files(&cert_path, &key_path, None).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let server = server(Some(tls.clone()), service(&ran));
    let client_tls = ClientTls::from_pem(ca.pem().as_bytes(), "localhost", None).unwrap();
    let addr = server.local_addr();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (stop, client_tls) = (Arc::clone(&stop), client_tls.clone());
        std::thread::spawn(move || {
            let config = ClientConfig { tls: Some(client_tls), ..ClientConfig::default() };
            let c = Client::connect(addr, config).unwrap();
            let mut calls = 0;
            while !stop.load(Ordering::SeqCst) {
                c.call(WHO, b"", &opts()).expect("no call fails during a rotation");
                calls += 1;
            }
            calls
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    // A broken file: the error names it, the old certificate stays.
    std::fs::write(&key_path, "not a key").unwrap();
    let e = tls.reload().unwrap_err().to_string();
    assert!(e.contains("key.pem"), "{e}");
    let fresh = client(&server, Some(client_tls.clone()));
    assert!(fresh.call(WHO, b"", &opts()).is_ok(), "still served with the old certificate");
    // A new pair: new handshakes use it, established connections carry on.
    let (cert2, key2) = ca.issue("server-2", &["localhost"], false);
    std::fs::write(&cert_path, cert2).unwrap();
    std::fs::write(&key_path, key2).unwrap();
    tls.reload().unwrap();
    let fresh = client(&server, Some(client_tls));
    assert!(fresh.call(WHO, b"", &opts()).is_ok());
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::SeqCst);
    assert!(load.join().unwrap() > 0);
}

#[test]
fn garbage_and_stalls_during_the_tls_handshake_cost_others_nothing() {
    let ca = Ca::new("Test CA");
    let ran = Arc::new(AtomicUsize::new(0));
    let server = mtls_server(&ca, None, &ran);
    let addr = server.local_addr();
    // Garbage instead of a ClientHello: the server closes the connection.
    let mut garbage = std::net::TcpStream::connect(addr).unwrap();
    garbage.write_all(&[0xde; 64]).unwrap();
    garbage.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut sink = Vec::new();
    let _ = garbage.read_to_end(&mut sink); // an alert, then the end of the stream
                                            // A handshake that never completes: closed by the handshake timeout (500 ms here).
    let mut stalled = std::net::TcpStream::connect(addr).unwrap();
    stalled.write_all(&[0x16, 0x03]).unwrap();
    stalled.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let start = Instant::now();
    let n = stalled.read(&mut [0u8; 64]).unwrap_or(0);
    assert_eq!(n, 0, "closed without a reply");
    assert!(start.elapsed() < Duration::from_secs(4));
    // Meanwhile a real client is served.
    let tls = ClientTls::from_pem(ca.pem().as_bytes(), "localhost", None).unwrap();
    assert!(client(&server, Some(tls)).call(WHO, b"", &opts()).is_ok());
}

#[test]
fn settings_errors_name_what_is_wrong() {
    let dir = Dir::new("errors");
    let missing = dir.0.join("nope.pem");
    let e = ServerTls::from_pem_files(&missing, &missing, None).unwrap_err().to_string();
    assert!(e.contains("nope.pem"), "{e}");
    let empty = dir.write("empty.pem", "");
    let e = ServerTls::from_pem_files(&empty, &empty, None).unwrap_err().to_string();
    assert!(e.contains("no certificate") && e.contains("empty.pem"), "{e}");
    let ca = Ca::new("Test CA");
    let (cert, _) = ca.issue("a", &["localhost"], false);
    let (_, other_key) = ca.issue("b", &["localhost"], false);
    let e = ServerTls::from_pem(cert.as_bytes(), other_key.as_bytes(), None).unwrap_err();
    assert!(e.to_string().contains("refused"), "{e}");
    let e = ClientTls::from_pem(ca.pem().as_bytes(), "not a name!", None).unwrap_err();
    assert!(e.to_string().contains("not a valid server name"), "{e}");
}

#[test]
fn a_watched_certificate_reloads_when_its_files_change() {
    let (old_ca, new_ca) = (Ca::new("Old CA"), Ca::new("New CA"));
    let dir = Dir::new("watch");
    let (cert, key) = old_ca.issue("server", &["localhost"], false);
    let (cert_path, key_path) = (dir.write("cert.pem", &cert), dir.write("key.pem", &key));
    let tls = ServerTls::from_pem_files(&cert_path, &key_path, None)
        .unwrap()
        .watch(Duration::from_millis(20))
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let server = server(Some(tls), service(&ran));
    let trusting = |ca: &Ca| ClientTls::from_pem(ca.pem().as_bytes(), "localhost", None).unwrap();
    let up = client(&server, Some(trusting(&old_ca)));
    assert!(up.call(WHO, b"", &opts()).is_ok());
    // New files from another CA: once the server has looked, new handshakes use them.
    let (cert, key) = new_ca.issue("server", &["localhost"], false);
    std::fs::write(&key_path, key).unwrap();
    std::fs::write(&cert_path, cert).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if client(&server, Some(trusting(&new_ca))).call(WHO, b"", &opts()).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the new certificate was never served");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The connection made before the change carries on.
    assert!(up.call(WHO, b"", &opts()).is_ok());
    let (cert, key) = old_ca.issue("server", &["localhost"], false);
    let from_buffers = ServerTls::from_pem(cert.as_bytes(), key.as_bytes(), None).unwrap();
    let e = from_buffers.watch(Duration::from_secs(1)).unwrap_err().to_string();
    assert!(e.contains("not read from files"), "{e}");
}

#[test]
fn subjects_cannot_be_spoofed_and_exact_names_authorize() {
    // The README's authorizer shape, by exact common name: each impostor once passed a
    // `subject.contains("CN=teller")` test.
    let ca = Ca::new("Test CA");
    let ran = Arc::new(AtomicUsize::new(0));
    let (cert, key) = ca.issue("server", &["localhost"], false);
    let tls =
        ServerTls::from_pem(cert.as_bytes(), key.as_bytes(), Some(ca.pem().as_bytes())).unwrap();
    let service = service(&ran).authorize(|ctx, _, _| {
        match ctx.peer_identity().and_then(|p| p.common_name()) {
            Some("teller") => Ok(()),
            _ => Err("tellers only".into()),
        }
    });
    let server = server(Some(tls), service);
    let call_as = |dn: &[(DnType, &str)]| {
        let (cert, key) = ca.issue_dn(dn);
        let tls = ClientTls::from_pem(
            ca.pem().as_bytes(),
            "localhost",
            Some((cert.as_bytes(), key.as_bytes())),
        )
        .unwrap();
        client(&server, Some(tls)).call(WHO, b"", &opts())
    };
    let org = (DnType::OrganizationName, "Payments");
    let impostors: [&[(DnType, &str)]; 4] = [
        &[org.clone(), (DnType::CommonName, "teller-trainee")],
        &[org.clone(), (DnType::OrganizationalUnitName, "CN=teller"), (DnType::CommonName, "bob")],
        &[org.clone(), (DnType::CommonName, "teller"), (DnType::CommonName, "intern")],
        &[org.clone(), (DnType::CommonName, "intern, CN=teller")],
    ];
    for dn in impostors {
        match call_as(dn) {
            Err(CallError::PermissionDenied(m)) => assert!(m.contains("tellers only"), "{m}"),
            other => panic!("{dn:?} got {other:?}"),
        }
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    let who = call_as(&[org.clone(), (DnType::CommonName, "teller")]).unwrap();
    assert!(String::from_utf8_lossy(&who).starts_with("CN=teller,O=Payments "), "{who:?}");
    // The comma stays inside its value in the subject string: not two CNs.
    let open = mtls_server(&ca, Some(&ca), &Arc::new(AtomicUsize::new(0)));
    let (cert, key) = ca.issue_dn(&[org, (DnType::CommonName, "intern, CN=teller")]);
    let tls = ClientTls::from_pem(
        ca.pem().as_bytes(),
        "localhost",
        Some((cert.as_bytes(), key.as_bytes())),
    )
    .unwrap();
    let who = client(&open, Some(tls)).call(WHO, b"", &opts()).unwrap();
    assert!(
        String::from_utf8_lossy(&who).starts_with(r"CN=intern\, CN=teller,O=Payments "),
        "{who:?}"
    );
}

#[test]
fn a_tls_client_with_a_small_client_hello_hears_at_once_that_the_server_is_plaintext() {
    // A classical-only ClientHello is small: its record header reads, as a Ferry length,
    // ~66 KB (within the frame limit), so a plaintext server once waited for the rest and
    // the caller waited out its deadline.
    let ca = Ca::new("Test CA");
    let ran = Arc::new(AtomicUsize::new(0));
    // The server's handshake timeout (5 s) outlasts the call's deadline (2 s).
    let plain =
        Server::bind("127.0.0.1:0".parse().unwrap(), service(&ran), ServerConfig::default())
            .unwrap();
    let classic = rustls::crypto::CryptoProvider {
        kx_groups: vec![rustls::crypto::aws_lc_rs::kx_group::X25519],
        ..rustls::crypto::aws_lc_rs::default_provider()
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from(ca.cert.der().to_vec())).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(classic))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = ClientTls::from_rustls(config, "localhost").unwrap();
    let config = ClientConfig {
        tls: Some(tls),
        connect_timeout: Duration::from_secs(30),
        ..ClientConfig::default()
    };
    let client = Client::connect(plain.local_addr(), config).unwrap();
    let short = CallOptions { deadline: Some(Duration::from_secs(2)), ..CallOptions::default() };
    let m = unavailable(client.call(WHO, b"", &short));
    assert!(m.contains("does not speak TLS"), "{m}");
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}
