//! What a server runs: handlers by method id, and the context each call gets.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::tls::PeerIdentity;

/// Everything a handler knows about its call. Nested calls made from a handler should pass
/// [`Context::remaining`] as their deadline so the whole tree ends in time.
#[derive(Clone, Debug)]
pub struct Context {
    /// When the caller stops waiting.
    pub deadline: Instant,
    /// The caller's 128-bit client id and the call's sequence number.
    pub client_id: u128,
    /// The call's sequence number within its client.
    pub call_id: u64,
    /// Metadata sent with the call.
    pub metadata: Vec<(String, Vec<u8>)>,
    flags: u16,
    cancelled: Arc<AtomicBool>,
    /// The peer's verified certificate, under mutual TLS.
    pub(crate) peer: Option<Arc<PeerIdentity>>,
}

impl Context {
    pub(crate) fn new(
        deadline: Instant,
        client_id: u128,
        call_id: u64,
        flags: u16,
        metadata: Vec<(String, Vec<u8>)>,
        cancelled: Arc<AtomicBool>,
    ) -> Self {
        Context { deadline, client_id, call_id, metadata, flags, cancelled, peer: None }
    }

    /// Who the caller proved to be: its client certificate's subject, alternative names and
    /// chain, verified by mutual TLS. `None` over plaintext or TLS without client
    /// certificates.
    pub fn peer_identity(&self) -> Option<&PeerIdentity> {
        self.peer.as_deref()
    }

    /// The client re-sent this call (after a lost connection or a refusal). At-most-once
    /// still holds: the handler runs only if no earlier attempt ran.
    pub fn is_retry(&self) -> bool {
        self.flags & crate::protocol::FLAG_RETRY != 0
    }

    /// The caller marked the method idempotent (`ferry.idempotent`).
    pub fn is_idempotent(&self) -> bool {
        self.flags & crate::protocol::FLAG_IDEMPOTENT != 0
    }

    /// Which attempt of the call this is (1 for the first send, wrapping after 255).
    pub fn attempt(&self) -> u8 {
        crate::protocol::attempt_of(self.flags)
    }

    /// Time left before the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// True once the caller cancelled the call or its deadline passed: long handlers should
    /// check it and stop early.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    /// A metadata value by key.
    pub fn metadata(&self, key: &str) -> Option<&[u8]> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_slice())
    }
}

/// A handler failure outside the method's declared results (typed exceptions are encoded
/// in the reply by generated code). The caller sees `CallError::Remote`… with an unknown
/// outcome only if the handler may have had effects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerError {
    /// What went wrong, sent to the caller as the error's message.
    pub message: String,
    /// The request was refused before any effect (its arguments did not decode): the
    /// caller is told the call did not run (`InvalidArguments`), and nothing is recorded.
    pub not_run: bool,
}

impl HandlerError {
    /// The handler ran and failed: the caller sees `Remote` (the call ran, perhaps partly).
    pub fn new(message: impl Into<String>) -> Self {
        HandlerError { message: message.into(), not_run: false }
    }

    /// The arguments did not decode, so nothing ran: the caller sees `InvalidArguments`.
    pub fn invalid_arguments(message: impl Into<String>) -> Self {
        HandlerError { message: message.into(), not_run: true }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HandlerError {}

/// Decides whether a call may run, before its handler: the call's context (peer identity,
/// metadata, deadline), the method id and its name when registered. `Err(reason)` refuses
/// it with `PermissionDenied` (the handler did not run; the reason goes to the caller).
pub type Authorizer = Arc<dyn Fn(&Context, u32, Option<&str>) -> Result<(), String> + Send + Sync>;

/// An untyped handler: encoded request in, encoded reply out.
pub type Handler = Arc<dyn Fn(&Context, &[u8]) -> Result<Vec<u8>, HandlerError> + Send + Sync>;

/// An untyped async handler: the call's context and encoded request in, a future of the
/// encoded reply out (polled by the server's executor; see [`Service::async_method`]).
pub type AsyncHandler = Arc<dyn Fn(Context, Vec<u8>) -> HandlerFuture + Send + Sync>;

pub use crate::server::{HandlerFuture, Responder};

/// How a method's handler runs.
#[derive(Clone)]
pub(crate) enum Run {
    /// Called on a worker (or the loop, inline) and returns the reply.
    Blocking(Handler),
    /// Returns a future, polled on the workers by the server's executor.
    Async(AsyncHandler),
}

#[derive(Clone)]
pub(crate) struct Method {
    pub run: Run,
    /// Runs on the event loop thread: for cheap handlers that never block.
    pub inline: bool,
    /// The authorizer of the service it was registered in, once merged into another
    /// ([`Service::with`]); otherwise the service's own applies.
    pub authorizer: Option<Authorizer>,
    /// Declared oneway (`Some(true)`) or two-way (`Some(false)`) by its IDL; `None` for a
    /// hand-written handler that accepts either.
    pub oneway: Option<bool>,
}

/// Handlers by method id.
#[derive(Clone, Default)]
pub struct Service {
    pub(crate) methods: HashMap<u32, Method>,
    /// Ids registered more than once (two names with one hash, or a repeated
    /// registration): `Server::bind` refuses the service.
    pub(crate) duplicates: Vec<u32>,
    /// Method names for metrics and the access log.
    pub(crate) names: HashMap<u32, &'static str>,
    pub(crate) authorizer: Option<Authorizer>,
    /// Embedded IDL, served by `ferry.reflect`.
    pub(crate) schemas: Vec<crate::reflect::ServiceSchema>,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<_> = self.methods.keys().collect();
        ids.sort();
        f.debug_struct("Service").field("methods", &ids).finish()
    }
}

impl Service {
    /// A service with no methods; add them with `method` / `inline_method`.
    pub fn new() -> Self {
        Service::default()
    }

    /// Registers a handler that runs on the worker pool.
    pub fn method(
        self,
        id: u32,
        handler: impl Fn(&Context, &[u8]) -> Result<Vec<u8>, HandlerError> + Send + Sync + 'static,
    ) -> Self {
        self.register(
            id,
            Method {
                run: Run::Blocking(Arc::new(handler)),
                inline: false,
                authorizer: None,
                oneway: None,
            },
        )
    }

    /// Registers an async handler: its future is polled on the worker pool by Ferry's own
    /// executor (no async runtime needed), and while it awaits (a nested Ferry call, a
    /// timer or I/O of the application's own runtime) it holds no thread. The caller
    /// cancelling, the deadline passing and the end of the shutdown grace period drop the
    /// future at its next poll (dropping a nested `Pending` call cancels that too), and the
    /// caller is told the handler ran. Live handler tasks are bounded
    /// (`ServerConfig::max_handler_tasks`); calls past it are refused unrun.
    ///
    /// ```
    /// # use ferry_runtime::{Service, HandlerError};
    /// let service = Service::new().async_method(7, |ctx, request| async move {
    ///     // e.g. `upstream.check_start(&ctx.remaining(), ..).await`
    ///     let _ = ctx.remaining();
    ///     Ok::<_, HandlerError>(request)
    /// });
    /// ```
    pub fn async_method<F, Fut>(self, id: u32, handler: F) -> Self
    where
        F: Fn(Context, Vec<u8>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Vec<u8>, HandlerError>> + Send + 'static,
    {
        let run = Run::Async(Arc::new(move |ctx, request| Box::pin(handler(ctx, request))));
        self.register(id, Method { run, inline: false, authorizer: None, oneway: None })
    }

    /// Registers a handler that answers later: it gets a [`Responder`] and returns at once;
    /// whoever holds the responder (another thread, a callback, C code through
    /// `ferry_reply`) answers the call once, or drops it (the call then fails, having run).
    /// The call holds no thread meanwhile; cancellation and the deadline end it as for
    /// [`Service::async_method`].
    pub fn deferred_method(
        self,
        id: u32,
        handler: impl Fn(&Context, &[u8], Responder) + Send + Sync + 'static,
    ) -> Self {
        // The answer is already a boxed future: registered as is, not boxed again.
        let run = Run::Async(Arc::new(move |ctx: Context, request: Vec<u8>| {
            let (responder, answer) = Responder::new();
            handler(&ctx, &request, responder);
            answer
        }));
        self.register(id, Method { run, inline: false, authorizer: None, oneway: None })
    }

    /// Names method `id` (its IDL name) in metrics snapshots and the access log; generated
    /// services name every method.
    pub fn name(mut self, id: u32, name: &'static str) -> Self {
        self.names.insert(id, name);
        self
    }

    /// Declares method `id` (registered before) oneway or two-way, as its IDL says: the
    /// server refuses, unrun, a request whose `ONEWAY` flag disagrees (a caller built from
    /// another IDL). Generated services declare every method; a method never declared
    /// accepts either.
    pub fn oneway(mut self, id: u32, oneway: bool) -> Self {
        if let Some(m) = self.methods.get_mut(&id) {
            m.oneway = Some(oneway);
        }
        self
    }

    /// Every call to this service is first put to `authorize` (one hook for the service;
    /// it sees the method, so per-method rules live in it). A refusal is answered
    /// `PermissionDenied` and the handler does not run.
    pub fn authorize(
        mut self,
        authorize: impl Fn(&Context, u32, Option<&str>) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.authorizer = Some(Arc::new(authorize));
        self
    }

    /// Adds `schema` to what the server's reflection (`ferry.reflect`) lists; generated
    /// `service()` functions call it unless idlc was told `--no-reflection`.
    pub fn schema(mut self, schema: crate::reflect::ServiceSchema) -> Self {
        self.schemas.push(schema);
        self
    }

    /// This service and `other` on one server: every method of both, each still under the
    /// authorizer of the service it came from. A method id both register is refused by
    /// `Server::bind`, as any duplicate.
    pub fn with(mut self, other: Service) -> Self {
        let own = self.authorizer.take();
        for method in self.methods.values_mut() {
            method.authorizer = method.authorizer.take().or_else(|| own.clone());
        }
        for (id, mut method) in other.methods {
            method.authorizer = method.authorizer.or_else(|| other.authorizer.clone());
            self = self.register(id, method);
        }
        self.duplicates.extend(other.duplicates);
        self.names.extend(other.names);
        self.schemas.extend(other.schemas);
        self
    }

    pub(crate) fn check(&self, id: u32, ctx: &Context) -> Result<(), String> {
        let method = self.methods.get(&id).and_then(|m| m.authorizer.as_ref());
        match method.or(self.authorizer.as_ref()) {
            Some(a) => a(ctx, id, self.names.get(&id).copied()),
            None => Ok(()),
        }
    }

    /// Registers the built-in `ferry.reflect` (spec/protocol.md § 4.2), answered on the
    /// event loop from a listing fixed now.
    pub(crate) fn with_reflection(self) -> Result<Self, String> {
        use crate::reflect::{Listing, REFLECT_ID, REFLECT_METHOD};
        if self.methods.contains_key(&REFLECT_ID) {
            let name = self.names.get(&REFLECT_ID).copied().unwrap_or("a method");
            return Err(format!(
                "{name} has method id {REFLECT_ID}, reserved for the built-in `{REFLECT_METHOD}`; rename it, or turn reflection off (ServerConfig::reflection)"
            ));
        }
        let listing = Arc::new(Listing::of(&self));
        let authorizer = self.reflection_authorizer();
        let reflect = Method {
            run: Run::Blocking(Arc::new(move |_ctx, request| listing.reply(request))),
            inline: true,
            authorizer,
            oneway: Some(false),
        };
        Ok(self.register(REFLECT_ID, reflect).name(REFLECT_ID, REFLECT_METHOD))
    }

    /// Who may read the listing: it shows every merged service's IDL, so every authorizer
    /// among them must allow the call (one service's open door must not reveal another's
    /// schema). `None` when the service's own authorizer (or none) applies.
    fn reflection_authorizer(&self) -> Option<Authorizer> {
        let mut all: Vec<Authorizer> = Vec::new();
        for a in self.methods.values().filter_map(|m| m.authorizer.as_ref()) {
            if !all.iter().any(|b| Arc::ptr_eq(a, b)) {
                all.push(Arc::clone(a));
            }
        }
        if all.is_empty() {
            return None;
        }
        if let Some(own) = &self.authorizer {
            all.push(Arc::clone(own));
        }
        Some(Arc::new(move |ctx: &Context, id: u32, name: Option<&str>| {
            all.iter().try_for_each(|a| a(ctx, id, name))
        }))
    }

    fn register(mut self, id: u32, method: Method) -> Self {
        if self.methods.insert(id, method).is_some() {
            self.duplicates.push(id);
        }
        self
    }

    /// Registers a handler that runs on the event loop: no thread hand-off, so the fastest
    /// path for cheap, non-blocking handlers. A slow inline handler stalls every connection
    /// of its loop.
    pub fn inline_method(
        self,
        id: u32,
        handler: impl Fn(&Context, &[u8]) -> Result<Vec<u8>, HandlerError> + Send + Sync + 'static,
    ) -> Self {
        self.register(
            id,
            Method {
                run: Run::Blocking(Arc::new(handler)),
                inline: true,
                authorizer: None,
                oneway: None,
            },
        )
    }
}
