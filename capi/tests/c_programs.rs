//! C programs against the real library: a C client calls a Rust server, and a Rust client
//! calls a C server. The programs (`tests/c/*.c`) are compiled here with the system C
//! compiler (`cc`, or `$CC`) against `include/ferry.h` and the `libferry.a` cargo built
//! for this test run.
mod support;

use std::process::Command;
use std::time::Duration;

use support::{compile, CServer, Link};

use ferry_runtime::{
    method_id, CallError, CallOptions, Client, ClientConfig, HandlerError, Server, ServerConfig,
    Service,
};

fn rust_server() -> Server {
    let service = Service::new()
        .method(method_id("echo"), |_, req| Ok(req.to_vec()))
        .method(method_id("reverse"), |_, req| Ok(req.iter().rev().copied().collect()))
        .method(method_id("fail"), |_, _| Err(HandlerError::new("fail: this method always fails")));
    Server::bind("127.0.0.1:0".parse().expect("address"), service, ServerConfig::default())
        .expect("bind")
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
