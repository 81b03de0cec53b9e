//! The thin typed layer generated code is written against: typed errors and a typed
//! handle over the untyped call machinery.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use crate::client::{CallError, CallHandle, CallOptions, Client};
use crate::service::HandlerError;

/// What a generated client method returns on failure: one of the method's declared
/// exceptions, or a transport-level error.
#[derive(Clone, Debug, PartialEq)]
pub enum RpcError<E> {
    /// The server's handler returned a declared exception.
    Exception(E),
    /// The call itself failed (deadline, overload, unknown outcome, …).
    Call(CallError),
}

impl<E: fmt::Display> fmt::Display for RpcError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::Exception(e) => write!(f, "remote exception: {e}"),
            RpcError::Call(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for RpcError<E> {}

impl<E> From<CallError> for RpcError<E> {
    fn from(e: CallError) -> Self {
        RpcError::Call(e)
    }
}

impl<E> From<ferry_wire::DecodeError> for RpcError<E> {
    fn from(e: ferry_wire::DecodeError) -> Self {
        // The handler ran: only its reply is unreadable.
        RpcError::Call(CallError::BadReply(format!("malformed reply: {e}")))
    }
}

/// What a generated server method returns on failure.
#[derive(Clone, Debug, PartialEq)]
pub enum ServiceError<E> {
    /// A declared exception, delivered to the caller as `RpcError::Exception`.
    Exception(E),
    /// Any other failure: the caller gets `CallError::Remote` with the message.
    Internal(HandlerError),
}

impl<E> From<HandlerError> for ServiceError<E> {
    fn from(e: HandlerError) -> Self {
        ServiceError::Internal(e)
    }
}

/// `?` on I/O in a handler: the caller gets `Remote` with the error's text. (Generated code
/// adds `From` for each declared exception, so `Err(NotFound { .. }.into())` works too.)
impl<E> From<std::io::Error> for ServiceError<E> {
    fn from(e: std::io::Error) -> Self {
        ServiceError::Internal(HandlerError::new(e.to_string()))
    }
}

/// `Err("no such key".into())` or `?` on a `String` error: `Remote` with the message.
impl<E> From<String> for ServiceError<E> {
    fn from(message: String) -> Self {
        ServiceError::Internal(HandlerError::new(message))
    }
}

impl<E> From<&str> for ServiceError<E> {
    fn from(message: &str) -> Self {
        ServiceError::Internal(HandlerError::new(message))
    }
}

/// Methods without `throws` use this exception type: it has no values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoException {}

impl fmt::Display for NoException {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl std::error::Error for NoException {}

/// A typed call in progress: wait for it, wait with a timeout, cancel it, or `.await` it.
pub struct Pending<T, E> {
    handle: CallHandle,
    decode: fn(&[u8]) -> Result<T, RpcError<E>>,
    /// The IDL method's name, for errors the server can only state by id.
    method: &'static str,
    result: PhantomData<fn() -> (T, E)>,
}

impl<T, E> fmt::Debug for Pending<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending").field("handle", &self.handle).finish()
    }
}

impl<T, E> Pending<T, E> {
    /// Wraps an untyped handle with the reply decoder generated for the method.
    pub fn new(handle: CallHandle, decode: fn(&[u8]) -> Result<T, RpcError<E>>) -> Self {
        Pending { handle, decode, method: "", result: PhantomData }
    }

    /// [`Pending::new`] for the IDL method `name`: an `UnknownMethod` error names it.
    pub fn for_method(
        name: &'static str,
        handle: CallHandle,
        decode: fn(&[u8]) -> Result<T, RpcError<E>>,
    ) -> Self {
        Pending { handle, decode, method: name, result: PhantomData }
    }

    fn finish(
        method: &'static str,
        decode: fn(&[u8]) -> Result<T, RpcError<E>>,
        r: Result<Vec<u8>, CallError>,
    ) -> Result<T, RpcError<E>> {
        match r {
            Ok(bytes) => decode(&bytes),
            Err(CallError::UnknownMethod(m)) if !method.is_empty() => {
                Err(RpcError::Call(CallError::UnknownMethod(format!(
                    "the server has no method `{method}` (id {:#010x}): {m}",
                    method_id(method)
                ))))
            }
            Err(e) => Err(RpcError::Call(e)),
        }
    }

    /// Blocks until the call ends; the decoded result, a declared exception or a call error.
    pub fn wait(self) -> Result<T, RpcError<E>> {
        let (method, decode) = (self.method, self.decode);
        Self::finish(method, decode, self.handle.wait())
    }

    /// Waits at most `timeout`; `Err(self)` if the call is still running.
    pub fn wait_timeout(self, timeout: Duration) -> Result<Result<T, RpcError<E>>, Self> {
        let (method, decode) = (self.method, self.decode);
        match self.handle.wait_timeout(timeout) {
            Ok(r) => Ok(Self::finish(method, decode, r)),
            Err(handle) => Err(Pending { handle, decode, method, result: PhantomData }),
        }
    }

    /// Tells the server to stop the call (it may have run already) and ends the wait with `Cancelled`.
    pub fn cancel(&self) {
        self.handle.cancel();
    }
}

/// A blocking typed call: [`Client::call`] (whose caller drives the connection while it
/// waits, sparing the I/O thread a wake-up) with the method's reply decoder; an
/// `UnknownMethod` error names the IDL method. Generated blocking methods use it.
pub fn call_method<T, E>(
    client: &Client,
    name: &'static str,
    id: u32,
    payload: &[u8],
    options: &CallOptions,
    decode: fn(&[u8]) -> Result<T, RpcError<E>>,
) -> Result<T, RpcError<E>> {
    Pending::<T, E>::finish(name, decode, client.call(id, payload, options))
}

impl<T, E> Future for Pending<T, E> {
    type Output = Result<T, RpcError<E>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let (method, decode) = (self.method, self.decode);
        Pin::new(&mut self.handle).poll(cx).map(|r| Self::finish(method, decode, r))
    }
}

/// FNV-1a of a method name: the method id generated code uses, so ids are stable across
/// IDL edits that reorder methods and identical for methods inherited through `extends`.
pub const fn method_id(name: &str) -> u32 {
    let bytes = name.as_bytes();
    let mut hash: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash
}

/// Includes the Rust code `ferry_idlc::Builder` generated in `OUT_DIR` for an IDL file:
/// `ferry_runtime::include_idl!("calculator");` for `calculator.thrift`.
#[macro_export]
macro_rules! include_idl {
    ($name:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $name, ".rs"));
    };
}
