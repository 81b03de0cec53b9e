//! The tutorial Calculator (idlc/tests/data/ok/calculator.thrift, extending
//! base.BaseService): a Rust implementation and the client-side checks, shared by the Rust
//! end-to-end test and the C interop tests.
// Each test file uses part of this module; tests may unwrap.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_idlc_gen_tests::calculator;
use ferry_runtime::{CallOptions, Client, ClientConfig, Context, RpcError, ServiceError};

pub struct Calc;

impl calculator::tutorial::Calculator::Server for Calc {
    fn getName(&self, _: &Context) -> Result<String, ServiceError<ferry_runtime::NoException>> {
        Ok("calc".into())
    }
    fn getStatus(
        &self,
        _: &Context,
    ) -> Result<calculator::base::Status, ServiceError<ferry_runtime::NoException>> {
        Ok(calculator::base::Status::ALIVE)
    }
    fn getCounters(
        &self,
        _: &Context,
    ) -> Result<BTreeMap<String, i64>, ServiceError<ferry_runtime::NoException>> {
        Ok(BTreeMap::from([("calls".into(), 3)]))
    }
    fn aliveSince(&self, _: &Context) -> Result<i64, ServiceError<ferry_runtime::NoException>> {
        Ok(42)
    }
    fn reinitialize(&self, _: &Context) -> Result<(), ServiceError<ferry_runtime::NoException>> {
        Ok(())
    }
    fn shutdown(&self, _: &Context) -> Result<(), ServiceError<ferry_runtime::NoException>> {
        Ok(())
    }
    fn now(&self, _: &Context) -> Result<i64, ServiceError<ferry_runtime::NoException>> {
        Ok(1_700_000_000)
    }
    fn ping(&self, _: &Context) -> Result<(), ServiceError<ferry_runtime::NoException>> {
        Ok(())
    }
    fn add(
        &self,
        ctx: &Context,
        num1: i32,
        num2: i32,
    ) -> Result<i32, ServiceError<ferry_runtime::NoException>> {
        // ferry.timeout_ms = "250" travels with the call.
        assert!(ctx.remaining() <= Duration::from_millis(250));
        // Metadata travels too: the C client's per-call options send an offset.
        let offset = ctx
            .metadata("add-offset")
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<i32>().ok())
            .unwrap_or(0);
        Ok(num1 + num2 + offset)
    }
    fn calculate(
        &self,
        _: &Context,
        logid: i32,
        w: calculator::tutorial::Work,
    ) -> Result<i32, ServiceError<calculator::tutorial::Calculator::calculate_Exception>> {
        use calculator::tutorial::{Calculator::calculate_Exception, InvalidOperation, Operation};
        match w.op {
            Operation::DIVIDE if w.num2 == 0 => {
                Err(ServiceError::Exception(calculate_Exception::ouch(InvalidOperation {
                    whatOp: w.op.value(),
                    why: format!("cannot divide by 0 (log {logid})"),
                })))
            }
            Operation::DIVIDE => Ok(w.num1 / w.num2),
            Operation::ADD => Ok(w.num1 + w.num2),
            _ => Err(ServiceError::Internal(ferry_runtime::HandlerError::new("not implemented"))),
        }
    }
    fn zip(&self, _: &Context) -> Result<(), ServiceError<ferry_runtime::NoException>> {
        Ok(())
    }
}

/// Every behaviour of the tutorial Calculator a client can see, against the server at
/// `addr` (the Rust `Calc`, or the C server in `c/calculator_server.c`).
pub fn exercise_calculator(addr: &str) {
    use calculator::tutorial::{Calculator, InvalidOperation, Operation, Work};
    let raw = Arc::new(Client::connect(addr, ClientConfig::default()).unwrap());
    let client = Calculator::Client::new(raw);
    client.ping().unwrap();
    assert_eq!(client.add(2, 3).unwrap(), 5);
    assert_eq!(client.getName().unwrap(), "calc", "inherited methods are served and called");
    assert_eq!(client.getCounters().unwrap()["calls"], 3);
    let work = Work { num1: 1, num2: 0, op: Operation::DIVIDE, ..Work::default() };
    match client.calculate(9, work) {
        Err(RpcError::Exception(Calculator::calculate_Exception::ouch(InvalidOperation {
            whatOp,
            why,
        }))) => {
            assert_eq!(whatOp, 4);
            assert!(why.contains("log 9"));
        }
        other => panic!("expected the declared exception, got {other:?}"),
    }
    let failed = client.calculate(1, Work { op: Operation::MULTIPLY, ..Work::default() });
    assert!(
        matches!(failed, Err(RpcError::Call(ferry_runtime::CallError::Remote(m))) if m == "not implemented")
    );
    client.zip().unwrap();
    // Non-blocking form with options.
    let opts = CallOptions { deadline: Some(Duration::from_secs(2)), ..CallOptions::default() };
    let pending = client.calculate_start(
        &opts,
        1,
        Work { num1: 6, num2: 3, op: Operation::DIVIDE, ..Work::default() },
    );
    assert_eq!(pending.wait().unwrap(), 2);
}
