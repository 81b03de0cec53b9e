//! C programs against the real library: a C client calls a Rust server, and a Rust client
//! calls a C server. The programs (`tests/c/*.c`) are compiled here with the system C
//! compiler (`cc`, or `$CC`) against `include/ferry.h` and the `libferry.a` cargo built
//! for this test run.
mod support;

use std::process::Command;
use std::time::Duration;

use support::{compile, CServer, Link};

use ferry_runtime::{
    method_id, CallError, CallOptions, Client, ClientConfig, HandlerError, Listen, Server,
    ServerConfig, Service,
};

fn rust_server() -> Server {
    Server::bind(
        "127.0.0.1:0".parse().expect("address"),
        rust_server_service(),
        ServerConfig::default(),
    )
    .expect("bind")
}

fn rust_server_service() -> Service {
    Service::new()
        .method(method_id("echo"), |_, req| Ok(req.to_vec()))
        .method(method_id("reverse"), |_, req| Ok(req.iter().rev().copied().collect()))
        .method(method_id("fail"), |_, _| Err(HandlerError::new("fail: this method always fails")))
}

#[test]
fn a_c_client_calls_a_rust_server() {
    c_client_against_a_rust_server(Link::Static);
}

#[test]
fn a_c_client_linked_to_the_shared_library_calls_a_rust_server() {
    c_client_against_a_rust_server(Link::Shared);
}

fn c_client_against_a_rust_server(link: Link) {
    let client = compile("client", link, &[]);
    let server = rust_server();
    let output = Command::new(client)
        .arg(server.local_addr().to_string())
        .output()
        .expect("run the C client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "C client failed:\n{stderr}");
    assert_eq!(stdout.trim(), "ok", "{stderr}");
}

/// `unix:PATH` reaches a server's Unix domain socket (the sidecar case).
#[test]
fn a_c_client_calls_a_rust_server_over_a_unix_socket() {
    let client = compile("client", Link::Static, &[]);
    let dir = std::env::temp_dir().join(format!("ferry-c-uds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("server.sock");
    let service = rust_server_service();
    let server = Server::bind_all(&[Listen::Unix(path.clone())], service, ServerConfig::default())
        .expect("bind");
    let output = Command::new(client)
        .arg(format!("unix:{}", path.display()))
        .output()
        .expect("run the C client");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "C client failed:\n{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "ok", "{stderr}");
    drop(server);
    std::fs::remove_dir_all(&dir).expect("remove the temp dir");
}

/// C handlers that answer after they return, from the program's own thread: a batch of
/// calls all pending at once on a server with one worker (so none holds it), a handler
/// that answers by returning, a responder freed unanswered, and deferral refused where the
/// method was not registered for it.
#[test]
fn a_c_server_answers_calls_after_its_handlers_return() {
    let server = CServer::start(&compile("deferred_server", Link::Static, &[]));
    let config =
        ClientConfig { default_deadline: Duration::from_secs(10), ..ClientConfig::default() };
    let client = Client::connect(server.address(), config).expect("client");
    let opts = CallOptions::default();
    for round in 0..3 {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                (i, client.start(method_id("batch"), format!("{round}:{i}").as_bytes(), &opts))
            })
            .collect();
        for (i, h) in handles {
            let mut expected = format!("{round}:{i}").into_bytes();
            expected.reverse();
            assert_eq!(h.wait().expect("batch"), expected);
        }
    }
    assert_eq!(client.call(method_id("inline"), b"now", &opts).expect("inline"), b"now");
    match client.call(method_id("dropped"), b"", &opts) {
        Err(CallError::Remote(m)) => assert!(m.contains("dropped its Responder"), "{m}"),
        other => panic!("a responder freed unanswered gave {other:?}"),
    }
    match client.call(method_id("plain"), b"", &opts) {
        Err(CallError::Remote(m)) => assert!(m.contains("ferry_service_add_deferred"), "{m}"),
        other => panic!("deferring a plain method gave {other:?}"),
    }
    let stderr = server.stop();
    assert!(stderr.contains("answered 48 deferred calls"), "{stderr}");
}

#[test]
fn a_rust_client_calls_a_c_server() {
    let server = CServer::start(&compile("echo_server", Link::Static, &[]));
    let client = Client::connect(
        server.address(),
        ClientConfig { default_deadline: Duration::from_secs(5), ..ClientConfig::default() },
    )
    .expect("client");
    let opts = CallOptions::default();

    assert_eq!(
        client.call(method_id("echo"), b"hello from Rust", &opts).expect("echo"),
        b"hello from Rust"
    );
    let handles: Vec<_> = (0..100u32)
        .map(|i| (i, client.start(method_id("reverse"), format!("n={i}").as_bytes(), &opts)))
        .collect();
    for (i, h) in handles {
        let mut expected = format!("n={i}").into_bytes();
        expected.reverse();
        assert_eq!(h.wait().expect("reverse"), expected);
    }
    match client.call(method_id("fail"), b"", &opts) {
        Err(CallError::Remote(m)) => assert!(m.contains("always fails"), "{m}"),
        other => panic!("fail returned {other:?}"),
    }
    match client.call(method_id("reverse"), &[b'x'; 2000], &opts) {
        Err(CallError::Remote(m)) => assert!(m.contains("over 1024 bytes"), "{m}"),
        other => panic!("an oversized reverse returned {other:?}"),
    }
    assert!(matches!(client.call(method_id("nope"), b"", &opts), Err(CallError::UnknownMethod(_))));

    // Closing its standard input stops the C server cleanly.
    let stderr = server.stop();
    assert!(stderr.contains("reverse served 101 calls"), "{stderr}");
}

#[test]
fn a_c_client_talks_mutual_tls_to_a_rust_server() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "C test CA");
    let ca_key = KeyPair::generate().expect("key");
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let issue = |cn: &str, name: &str| {
        let mut params = CertificateParams::new(vec![name.to_string()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &ca, &ca_key).expect("cert");
        (cert.pem(), key.serialize_pem())
    };
    let dir = support::scratch("tls_client");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p.to_string_lossy().into_owned()
    };
    let (server_cert, server_key) = issue("server", "localhost");
    let (client_cert, client_key) = issue("c-client", "client.example");
    let ca_path = write("ca.pem", &ca.pem());
    let tls = ferry_runtime::ServerTls::from_pem(
        server_cert.as_bytes(),
        server_key.as_bytes(),
        Some(ca.pem().as_bytes()),
    )
    .expect("server TLS");
    let service = Service::new().method(method_id("whoami"), |ctx, _| {
        Ok(ctx.peer_identity().map_or(b"anonymous".to_vec(), |p| p.subject.clone().into_bytes()))
    });
    let config = ServerConfig { tls: Some(tls), ..ServerConfig::default() };
    let server =
        Server::bind("127.0.0.1:0".parse().expect("address"), service, config).expect("bind");
    let client = compile("tls_client", Link::Static, &[]);
    let output = Command::new(client)
        .arg(server.local_addr().to_string())
        .arg(&ca_path)
        .arg(write("client.pem", &client_cert))
        .arg(write("client.key", &client_key))
        .output()
        .expect("run the C client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "C client failed:\n{stderr}");
    assert_eq!(stdout.trim(), "CN=c-client", "{stderr}");
}
