//! Services that call services. `Ledger::transfer` is an `async fn`: it awaits the risk
//! service (a nested Ferry call, with the caller's remaining time as its deadline) and then
//! an audit write running on the application's own tokio runtime. While it awaits it holds
//! no Ferry worker, so `balance` keeps answering on a server with one worker even while
//! many transfers wait for risk.
//!
//! `cargo run -p ferry-example-ledger`
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_runtime::{
    CallOptions, Client, ClientConfig, Context, Server, ServerConfig, ServiceError,
};

ferry_runtime::include_idl!("ledger");
use ledger::{Ledger, Refused, Risk};

/// The risk service: blocking handlers are fine where nothing is awaited.
struct Scoring;

impl Risk::Server for Scoring {
    fn approve(
        &self,
        _ctx: &Context,
        _source: String,
        _target: String,
        cents: i64,
    ) -> Result<bool, ServiceError<ferry_runtime::NoException>> {
        std::thread::sleep(Duration::from_millis(200)); // the model thinks
        Ok(cents <= 100_000)
    }
}

struct Books {
    accounts: Mutex<HashMap<String, i64>>,
    risk: Risk::Client,
    /// The application's runtime, where its own async I/O (here: the audit log) runs.
    tokio: tokio::runtime::Handle,
}

impl Ledger::AsyncServer for Books {
    async fn transfer(
        &self,
        ctx: Context,
        source: String,
        target: String,
        cents: i64,
    ) -> Result<i64, ServiceError<Ledger::transfer_Exception>> {
        // A nested call with what is left of the caller's deadline: the whole tree ends in
        // time, and if the caller gives up this future is dropped, cancelling the call.
        let options = CallOptions { deadline: Some(ctx.remaining()), ..CallOptions::default() };
        let approved = self
            .risk
            .approve_start(&options, source.clone(), target.clone(), cents)
            .await
            .map_err(|e| format!("risk service: {e}"))?;
        if !approved {
            return Err(Refused { why: format!("{cents} cents needs a human") }.into());
        }
        let balance = {
            let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
            *accounts.entry(source.clone()).or_default() -= cents;
            let to = accounts.entry(target.clone()).or_default();
            *to += cents;
            *to
        };
        // A future of the application's tokio runtime, awaited from Ferry's executor.
        let audit = self.tokio.spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            format!("{source} -> {target}: {cents}")
        });
        let line = audit.await.map_err(|e| format!("audit: {e}"))?;
        println!("audit: {line}");
        Ok(balance)
    }

    async fn balance(
        &self,
        _ctx: Context,
        account: String,
    ) -> Result<i64, ServiceError<ferry_runtime::NoException>> {
        let accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        Ok(accounts.get(&account).copied().unwrap_or(0))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let local = "127.0.0.1:0".parse()?;
    let tokio =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_time().build()?;
    let risk_server =
        Server::bind(local, Risk::service(Arc::new(Scoring)), ServerConfig::default())?;
    let risk = Risk::Client::new(Arc::new(Client::connect(
        risk_server.local_addr(),
        ClientConfig::default(),
    )?));
    let books = Books { accounts: Mutex::default(), risk, tokio: tokio.handle().clone() };
    // One worker: awaiting handlers must not need more.
    let config = ServerConfig { workers: 1, ..ServerConfig::default() };
    let ledger_server = Server::bind(local, Ledger::async_service(Arc::new(books)), config)?;
    let ledger = Ledger::Client::new(Arc::new(Client::connect(
        ledger_server.local_addr(),
        ClientConfig::default(),
    )?));

    let opts = CallOptions { deadline: Some(Duration::from_secs(5)), ..CallOptions::default() };
    // Started together; each awaits risk's 200 ms on the ledger's one worker.
    let transfers: Vec<_> = (0..20)
        .map(|i| ledger.transfer_start(&opts, "alice".into(), "bob".into(), 100 + i))
        .collect();
    // The 20 transfers await risk; the one worker still answers balances meanwhile.
    let before = ledger.balance("bob".into())?;
    println!("bob's balance while 20 transfers await risk: {before}");
    for t in transfers {
        t.wait()?;
    }
    match ledger.transfer("alice".into(), "mallory".into(), 1_000_000) {
        Err(ferry_runtime::RpcError::Exception(e)) => println!("refused: {e:?}"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    let bob = ledger.balance("bob".into())?;
    println!("bob's balance: {bob}");
    assert_eq!(bob, (0..20).map(|i| 100 + i).sum::<i64>());
    Ok(())
}
