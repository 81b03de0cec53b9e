//! tonic (gRPC) through the same loopback runs as `rpc-bench`, server and client in separate
//! processes: sequential latency, then calls/s and latency with 1, 16, 64 and 256 calls in
//! flight per channel on 1 and 4 channels, with CPU per call from /proc for both processes.
//!
//! `cargo run --release -p ferry-benches --features peers --bin tonic-bench [seconds]`
//! `… --bin tonic-bench --idle 10000`: server memory per idle HTTP/2 connection.
//! The `tonic TLS` rows run the same calls over TLS 1.3 (rustls with ring, as Ferry's),
//! with certificates made at start.
//! (protoc comes from Debian's protobuf-compiler; `benches/compare.sh` installs it.)
#![allow(missing_docs, unsafe_code)] // the generated gRPC code is tonic's, not ours

use std::time::{Duration, Instant};

use ferry_benches::e2e::{self, Outcome, CONNECTIONS, MESSAGE, WINDOWS};

mod pb {
    #![allow(clippy::all, warnings)]
    tonic::include_proto!("echo");
}

use pb::echo_client::EchoClient;
use pb::echo_server::{Echo, EchoServer};
use pb::Msg;

#[derive(Default)]
struct Svc;

#[tonic::async_trait]
impl Echo for Svc {
    async fn echo(&self, req: tonic::Request<Msg>) -> Result<tonic::Response<Msg>, tonic::Status> {
        Ok(tonic::Response::new(req.into_inner()))
    }
}

fn main() {
    // tonic's `tls-ring` and this crate's rustls (aws-lc-rs, as Ferry uses) both enable a
    // crypto provider, so rustls cannot pick one by itself: name it, or TLS rows panic.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--serve") => serve(None),
        Some("--serve-tls") => {
            let dir = std::path::PathBuf::from(args.get(2).expect("certificate folder"));
            let read = |f: &str| std::fs::read(dir.join(f)).expect("certificate file");
            let identity =
                tonic::transport::Identity::from_pem(read("server.pem"), read("server.key"));
            serve(Some(tonic::transport::ServerTlsConfig::new().identity(identity)))
        }
        Some("--idle") => {
            let n = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
            let (server, addr) = e2e::spawn_server(&["--serve"]);
            // An HTTP/2 client's connection preface and an empty SETTINGS frame; the server
            // answers with its own SETTINGS.
            let mut greeting = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
            greeting.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
            e2e::idle_connections("tonic", &server, &addr, n, &greeting);
            e2e::stop(server);
        }
        _ => {
            let secs: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2.0);
            run_all(Duration::from_secs_f64(secs));
        }
    }
}

fn serve(tls: Option<tonic::transport::ServerTlsConfig>) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("addr"));
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            builder = builder.tls_config(tls).expect("TLS settings");
        }
        builder
            .add_service(EchoServer::new(Svc))
            .serve_with_incoming(Accept(listener))
            .await
            .expect("serve");
    });
}

fn run_all(dur: Duration) {
    let (server, addr) = e2e::spawn_server(&["--serve"]);
    let plain = Target { url: format!("http://{addr}"), tls: None };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    e2e::print_header();
    e2e::measure("tonic", 1, 0, &server, || rt.block_on(sequential(&plain, dur)));
    for conns in CONNECTIONS {
        for window in WINDOWS {
            e2e::measure("tonic", conns, window, &server, || {
                rt.block_on(in_flight(&plain, dur, conns, window))
            });
        }
    }
    e2e::stop(server);
    tls_rows(&rt, dur);
}

/// The rows rpc-bench's `Ferry TLS` rows compare with.
fn tls_rows(rt: &tokio::runtime::Runtime, dur: Duration) {
    if std::env::var("RPC_BENCH_ONLY").is_ok_and(|only| !only.contains("TLS")) {
        return;
    }
    let (ca, dir) = e2e::server_certificates("tonic-bench-tls");
    let (server, addr) = e2e::spawn_server(&["--serve-tls", &dir.to_string_lossy()]);
    let port = addr.rsplit(':').next().expect("port");
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca.pem()))
        .domain_name("localhost");
    let target = Target { url: format!("https://localhost:{port}"), tls: Some(tls) };
    e2e::measure("tonic TLS", 1, 0, &server, || rt.block_on(sequential(&target, dur)));
    for window in [64, 256] {
        e2e::measure("tonic TLS", 1, window, &server, || {
            rt.block_on(in_flight(&target, dur, 1, window))
        });
    }
    e2e::measure("tonic TLS", 4, 64, &server, || rt.block_on(in_flight(&target, dur, 4, 64)));
    e2e::stop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where and how to connect.
struct Target {
    url: String,
    tls: Option<tonic::transport::ClientTlsConfig>,
}

impl Target {
    async fn client(&self) -> EchoClient<tonic::transport::Channel> {
        let mut endpoint =
            tonic::transport::Endpoint::from_shared(self.url.clone()).expect("endpoint");
        if let Some(tls) = &self.tls {
            endpoint = endpoint.tls_config(tls.clone()).expect("TLS settings");
        }
        EchoClient::new(endpoint.connect().await.expect("connect"))
    }
}

async fn sequential(target: &Target, dur: Duration) -> Outcome {
    let mut client = target.client().await;
    let msg = Msg { data: MESSAGE.to_vec() };
    client.echo(msg.clone()).await.expect("warm up");
    let mut lat = Vec::new();
    let end = Instant::now() + dur;
    while Instant::now() < end {
        let t = Instant::now();
        client.echo(msg.clone()).await.expect("call");
        lat.push(t.elapsed());
    }
    (lat.len() as u64, lat)
}

/// `window` tasks per channel, each calling in a loop: `window` calls in flight per channel.
async fn in_flight(target: &Target, dur: Duration, channels: usize, window: usize) -> Outcome {
    let msg = Msg { data: MESSAGE.to_vec() };
    let mut tasks = Vec::new();
    for _ in 0..channels {
        let mut client = target.client().await;
        client.echo(msg.clone()).await.expect("warm up");
        for _ in 0..window {
            let mut c = client.clone();
            let m = msg.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let end = Instant::now() + dur;
                while Instant::now() < end {
                    let t = Instant::now();
                    c.echo(m.clone()).await.expect("call");
                    lat.push(t.elapsed());
                }
                lat
            }));
        }
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("task"));
    }
    (lat.len() as u64, lat)
}

/// The stream of accepted connections tonic serves, with Nagle off as for every contender.
struct Accept(tokio::net::TcpListener);

impl futures_core::Stream for Accept {
    type Item = Result<tokio::net::TcpStream, std::io::Error>;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_accept(cx).map(|r| {
            Some(r.map(|(s, _)| {
                let _ = s.set_nodelay(true);
                s
            }))
        })
    }
}
