//! The main demo: a Calculator server and a client in one process, talking over loopback.
//! `cargo run -p ferry-examples --bin calculator`
//! `… --bin calculator -- --serve 127.0.0.1:7000`: only the server, for other clients (the C
//! client in examples/c); it prints "serving Calculator on ADDRESS" and serves until
//! Ctrl-C or SIGTERM, then shuts down gracefully.
#![forbid(unsafe_code)]

mod generated {
    ferry_runtime::include_idl!("calculator");
}

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_runtime::{
    Client, ClientConfig, Context, NoException, RpcError, Server, ServerConfig, ServiceError,
};
use generated::calculator::{Calculator, InvalidOperation, Operation, Work};

#[derive(Default)]
struct Service {
    logged: AtomicUsize,
}

impl Calculator::Server for Service {
    fn add(&self, _ctx: &Context, num1: i32, num2: i32) -> Result<i32, ServiceError<NoException>> {
        Ok(num1.wrapping_add(num2))
    }

    fn calculate(
        &self,
        ctx: &Context,
        logid: i32,
        w: Work,
    ) -> Result<i32, ServiceError<Calculator::calculate_Exception>> {
        // A declared exception converts into the handler's error with `.into()` (or `?`).
        let invalid = |why: &str| -> ServiceError<Calculator::calculate_Exception> {
            InvalidOperation { whatOp: w.op.value(), why: why.into() }.into()
        };
        println!(
            "  server: calculate #{logid} {:?} ({} ms left)",
            w.op,
            ctx.remaining().as_millis()
        );
        match w.op {
            Operation::ADD => Ok(w.num1.wrapping_add(w.num2)),
            Operation::SUBTRACT => Ok(w.num1.wrapping_sub(w.num2)),
            Operation::MULTIPLY => Ok(w.num1.wrapping_mul(w.num2)),
            Operation::DIVIDE if w.num2 == 0 => Err(invalid("cannot divide by 0")),
            Operation::DIVIDE => Ok(w.num1 / w.num2),
            Operation::Other(_) => Err(invalid("unknown operation")),
        }
    }

    fn log(&self, _ctx: &Context, message: String) -> Result<(), ServiceError<NoException>> {
        self.logged.fetch_add(1, Ordering::Relaxed);
        println!("  server: log {message:?}");
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let serve_only = args.get(1).map(String::as_str) == Some("--serve");
    let address =
        if serve_only { args.get(2).map_or("127.0.0.1:0", String::as_str) } else { "127.0.0.1:0" };
    let service = Arc::new(Service::default());
    let server = Server::bind(
        address.parse()?,
        Calculator::service(Arc::clone(&service)),
        ServerConfig::default(),
    )?;
    println!("serving Calculator on {}", server.local_addr());
    if serve_only {
        std::io::Write::flush(&mut std::io::stdout())?;
        // The server's own threads do the work; this one waits for Ctrl-C or SIGTERM and
        // then lets calls in flight finish.
        let signal = server.run_until_signal()?;
        println!(
            "signal {signal}: shut down after {} log message(s)",
            service.logged.load(Ordering::Relaxed)
        );
        return Ok(());
    }

    let client = Calculator::Client::new(Arc::new(Client::connect(
        server.local_addr(),
        ClientConfig::default(),
    )?));
    println!("add(2, 3) = {}", client.add(2, 3)?);
    let work = Work { num1: 84, num2: 2, op: Operation::DIVIDE, comment: None };
    println!("calculate(84 / 2) = {}", client.calculate(1, work)?);
    match client.calculate(2, Work { num1: 1, num2: 0, op: Operation::DIVIDE, comment: None }) {
        Err(RpcError::Exception(Calculator::calculate_Exception::ouch(e))) => {
            println!("calculate(1 / 0) failed as declared: {} (op {})", e.why, e.whatOp)
        }
        other => println!("calculate(1 / 0) = {other:?}"),
    }
    client.log("hello from the client".into())?;
    // Many calls in flight on the one connection.
    let pending: Vec<_> = (0..100).map(|i| client.add_start(&Default::default(), i, i)).collect();
    let sum: i32 = pending.into_iter().map(|p| p.wait()).sum::<Result<i32, _>>()?;
    println!("100 concurrent adds, sum of results = {sum}");
    // The oneway log may still be in flight: give it a moment before shutting down.
    std::thread::sleep(Duration::from_millis(50));
    server.shutdown();
    println!("server shut down after {} log message(s)", service.logged.load(Ordering::Relaxed));
    Ok(())
}
