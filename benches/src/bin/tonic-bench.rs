//! tonic (gRPC) on the same loopback runs as `rpc-bench`, server and client in separate
//! processes: sequential latency and calls/s with 64 in flight on one channel, with CPU per
//! call from /proc for both processes. `cargo run --release -p ferry-benches --features peers
//! --bin tonic-bench [seconds]` (protoc comes from Debian's protobuf-compiler).
#![allow(missing_docs, unsafe_code)] // the generated gRPC code is tonic's, not ours

use ferry_benches::cpu_seconds;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            println!("{}", listener.local_addr().expect("addr"));
            let incoming = tokio_stream_from(listener);
            tonic::transport::Server::builder()
                .add_service(EchoServer::new(Svc))
                .serve_with_incoming(incoming)
                .await
                .expect("serve");
        });
        return;
    }
    let secs: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let dur = Duration::from_secs_f64(secs);
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe).arg("--serve").stdout(Stdio::piped()).spawn().expect("spawn");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("addr");
    let addr = format!("http://{}", line.trim());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let me = std::process::id();
    println!("| run | calls/s | p50 µs | p99 µs | CPU µs/call |");
    println!("|---|---:|---:|---:|---:|");
    rt.block_on(async {
        let mut client = EchoClient::connect(addr.clone()).await.expect("connect");
        let msg = Msg { data: vec![7u8; 32] };
        client.echo(msg.clone()).await.expect("warm up");
        // Sequential.
        let (c0, s0) = (cpu_seconds(me), cpu_seconds(child.id()));
        let mut lat = Vec::new();
        let end = Instant::now() + dur;
        while Instant::now() < end {
            let t = Instant::now();
            client.echo(msg.clone()).await.expect("call");
            lat.push(t.elapsed());
        }
        let cpu = cpu_seconds(me) - c0 + cpu_seconds(child.id()) - s0;
        lat.sort();
        let n = lat.len();
        println!(
            "| tonic sequential, 32 B | {:.0} | {:.1} | {:.1} | {:.2} |",
            n as f64 / secs,
            lat[n / 2].as_secs_f64() * 1e6,
            lat[(n - 1) * 99 / 100].as_secs_f64() * 1e6,
            cpu * 1e6 / n as f64
        );
        // 64 in flight on one channel.
        let (c0, s0) = (cpu_seconds(me), cpu_seconds(child.id()));
        let end = Instant::now() + dur;
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let mut c = client.clone();
            let m = msg.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < end {
                    c.echo(m.clone()).await.expect("call");
                    n += 1;
                }
                n
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.expect("task");
        }
        let cpu = cpu_seconds(me) - c0 + cpu_seconds(child.id()) - s0;
        println!(
            "| tonic 64 in flight, 1 channel | {:.0} | — | — | {:.2} |",
            total as f64 / secs,
            cpu * 1e6 / total as f64
        );
    });
    let _ = child.kill();
    let _ = child.wait();
}

/// Adapts a tokio listener to the stream of connections tonic serves.
fn tokio_stream_from(
    listener: tokio::net::TcpListener,
) -> impl futures_core::Stream<Item = Result<tokio::net::TcpStream, std::io::Error>> {
    async_stream_accept(listener)
}

fn async_stream_accept(
    listener: tokio::net::TcpListener,
) -> impl futures_core::Stream<Item = Result<tokio::net::TcpStream, std::io::Error>> {
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
    Accept(listener)
}
