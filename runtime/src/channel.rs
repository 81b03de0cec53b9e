//! A balanced channel: one logical client over several endpoints (replicas of a service),
//! each a [`Client`] on the process's client reactor. Which endpoint takes a call, which
//! are sick and how many retries the fleet can afford are decided by `balance` (sans-I/O);
//! this module wires those decisions to real connections.
//!
//! **At-most-once across endpoints** (spec/protocol.md § 5.1): an attempt moves to another
//! endpoint only when the previous one provably did not run (never sent, refused before
//! dispatch), or the call is idempotent; otherwise the error is the caller's, saying on
//! which endpoints the call was tried.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use crate::balance::{
    Balancer, BalancerConfig, EndpointId, EndpointStats, Outcome, RetryBudget, RetryBudgetConfig,
    Rng,
};
use crate::client::{Client, ReadyHook};
use crate::socket::Address;
use crate::{CallError, CallOptions, ClientConfig};

/// What a [`Channel`] is made with.
#[derive(Clone, Debug)]
pub struct ChannelConfig {
    /// Each endpoint's client (deadlines, TLS, credentials, keepalive…).
    pub client: ClientConfig,
    /// Picking and health.
    pub balancer: BalancerConfig,
    /// Retries on other endpoints, as a fraction of calls.
    pub retry_budget: RetryBudgetConfig,
    /// Attempts per call, the first included, on distinct endpoints. Default 3.
    pub max_attempts: u32,
    /// How often a discovered channel ([`Channel::discover`]) resolves its target again.
    /// Default 30 s.
    pub discovery_refresh: Duration,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            client: ClientConfig::default(),
            balancer: BalancerConfig::default(),
            retry_budget: RetryBudgetConfig::default(),
            max_attempts: 3,
            discovery_refresh: Duration::from_secs(30),
        }
    }
}

/// How a call through a [`Channel`] failed: the last attempt's error, and every endpoint
/// the call was tried on, in order. Whether it may have run is the last error's
/// ([`CallError::may_have_run`]): the attempts before it provably did not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelError {
    /// The last attempt's error.
    pub error: CallError,
    /// The endpoints tried, first to last (empty: none could be tried).
    pub tried: Vec<Address>,
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        if self.tried.is_empty() {
            return f.write_str(" (no endpoint to try)");
        }
        let tried: Vec<String> = self.tried.iter().map(Address::to_string).collect();
        write!(f, " (tried {})", tried.join(", then "))
    }
}

impl std::error::Error for ChannelError {}

/// A balanced, failure-aware client over several endpoints (module docs). Cheap to share:
/// calls from many threads at once go to the endpoints the balancer picks.
#[derive(Clone, Debug)]
pub struct Channel {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ChannelConfig,
    members: RwLock<HashMap<EndpointId, Member>>,
    balancer: Mutex<Balancer>,
    budget: Mutex<RetryBudget>,
    /// For the fallback pick when no endpoint is ready yet.
    rng: Mutex<Rng>,
    next_id: AtomicU64,
    /// Dropped with the channel: its discovery thread, waiting on the other end, ends.
    _discovery: Option<crossbeam_channel::Sender<()>>,
}

#[derive(Clone, Debug)]
struct Member {
    address: Address,
    /// Shared with calls in flight: removing an endpoint lets them finish.
    client: Arc<Client>,
}

impl Channel {
    /// A channel with no endpoints yet ([`Channel::add`]).
    pub fn new(config: ChannelConfig) -> Channel {
        Channel::made(config, None)
    }

    fn made(config: ChannelConfig, discovery: Option<crossbeam_channel::Sender<()>>) -> Channel {
        let seed = crate::random_u128() as u64;
        let inner = Inner {
            balancer: Mutex::new(Balancer::new(config.balancer.clone(), seed)),
            budget: Mutex::new(RetryBudget::new(config.retry_budget.clone(), Instant::now())),
            rng: Mutex::new(Rng::new(seed ^ 0x5851_F42D_4C95_7F2D)),
            config,
            members: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            _discovery: discovery,
        };
        Channel { inner: Arc::new(inner) }
    }

    /// A channel over the endpoints `target` names, kept up to date: `dns://NAME:PORT` (the
    /// name's A and AAAA records at that port) or `dns://NAME` (its SRV records: ports and
    /// weights, the lowest priority), asked of the system's DNS server or of the one the
    /// target names (`dns://IP[:PORT]/NAME…`). Resolved once here (an error if that fails:
    /// a wrong name or server shows at once), then every `discovery_refresh` on a thread
    /// of its own: new endpoints are added, gone ones removed (their calls in flight
    /// finish); a failed refresh keeps the endpoints as they were.
    pub fn discover(target: &str, config: ChannelConfig) -> io::Result<Channel> {
        let target = crate::discovery::DnsTarget::parse(target)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let timeout = Duration::from_secs(2);
        let first = crate::discovery::resolve(&target, timeout)?;
        if first.is_empty() {
            let what = if target.port.is_some() { "A or AAAA" } else { "SRV" };
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "`{}` has no {what} records at the DNS server {}: check the name (and for SRV, the _service._proto labels)",
                    target.name, target.server
                ),
            ));
        }
        let refresh = config.discovery_refresh;
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let channel = Channel::made(config, Some(stop));
        channel.apply(&first)?;
        let weak = Arc::downgrade(&channel.inner);
        std::thread::Builder::new().name("ferry-discovery".into()).spawn(move || loop {
            match stopped.recv_timeout(refresh) {
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                _ => return, // the channel is gone
            }
            let found = crate::discovery::resolve(&target, timeout);
            let Some(inner) = weak.upgrade() else { return };
            match found {
                Ok(found) => {
                    if let Err(e) = (Channel { inner }).apply(&found) {
                        log::warn!("discovery of {}: {e}", target.name);
                    }
                }
                Err(e) => log::warn!("discovery of {}: {e}; keeping the endpoints", target.name),
            }
        })?;
        Ok(channel)
    }

    /// Makes the endpoints those of `found`: adds the new, removes the gone, updates
    /// weights.
    fn apply(&self, found: &[(SocketAddr, f64)]) -> io::Result<()> {
        let current: Vec<(EndpointId, Address)> = {
            let members = self.inner.members.read().unwrap_or_else(|p| p.into_inner());
            members.iter().map(|(id, m)| (*id, m.address.clone())).collect()
        };
        for (id, address) in &current {
            if !found.iter().any(|(a, _)| Address::Tcp(*a) == *address) {
                self.remove(*id);
            }
        }
        for (addr, weight) in found {
            match current.iter().find(|(_, a)| *a == Address::Tcp(*addr)) {
                Some((id, _)) => self.lock_balancer().add(*id, *weight, Instant::now()),
                None => {
                    self.add(Address::Tcp(*addr), *weight)?;
                }
            }
        }
        Ok(())
    }

    /// A channel over a static list of addresses (`"10.0.0.1:7000"`, `SocketAddr`s…),
    /// each resolved once to its first address (IPv4 first), with weight 1.
    pub fn connect<A: ToSocketAddrs>(
        addresses: impl IntoIterator<Item = A>,
        config: ChannelConfig,
    ) -> io::Result<Channel> {
        let channel = Channel::new(config);
        for a in addresses {
            let mut resolved: Vec<SocketAddr> = a.to_socket_addrs()?.collect();
            resolved.sort_by_key(|a| !a.is_ipv4());
            let first = resolved.first().copied().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "an address resolves to nothing")
            })?;
            channel.add(Address::Tcp(first), 1.0)?;
        }
        Ok(channel)
    }

    /// Adds an endpoint: its client starts connecting, and it takes calls once its
    /// handshake has succeeded (a refused or unanswered connect never makes it ready).
    pub fn add(&self, address: Address, weight: f64) -> io::Result<EndpointId> {
        let id = EndpointId(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        self.lock_balancer().add(id, weight, Instant::now());
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let hook = ReadyHook(Arc::new(move |ready| {
            if let Some(inner) = weak.upgrade() {
                inner.balancer.lock().unwrap_or_else(|p| p.into_inner()).set_ready(id, ready);
            }
        }));
        let client = match &address {
            Address::Unix(_) if self.inner.config.client.tls.is_some() => {
                self.lock_balancer().remove(id);
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "TLS over a Unix socket is not supported: clear ChannelConfig::client.tls",
                ));
            }
            a => Client::connect_watched(a.clone(), self.inner.config.client.clone(), Some(hook)),
        };
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                self.lock_balancer().remove(id);
                return Err(e);
            }
        };
        let member = Member { address, client: Arc::new(client) };
        self.inner.members.write().unwrap_or_else(|p| p.into_inner()).insert(id, member);
        Ok(id)
    }

    /// Removes an endpoint: no new call goes to it; calls in flight there finish.
    pub fn remove(&self, id: EndpointId) -> bool {
        let gone = self.inner.members.write().unwrap_or_else(|p| p.into_inner()).remove(&id);
        self.lock_balancer().remove(id);
        gone.is_some()
    }

    /// Every endpoint with its address and figures.
    pub fn endpoints(&self) -> Vec<(EndpointId, Address, EndpointStats)> {
        let members = self.inner.members.read().unwrap_or_else(|p| p.into_inner());
        let balancer = self.lock_balancer();
        let now = Instant::now();
        let mut all: Vec<_> = members
            .iter()
            .filter_map(|(id, m)| Some((*id, m.address.clone(), balancer.stats(*id, now)?)))
            .collect();
        all.sort_by_key(|(id, _, _)| *id);
        all
    }

    /// Calls `method` on an endpoint the balancer picks, and on others while attempts
    /// provably did not run (or the call is idempotent), within the retry budget, the
    /// attempt limit and the call's deadline. `start(..).wait()`.
    pub fn call(
        &self,
        method: u32,
        payload: &[u8],
        options: &CallOptions,
    ) -> Result<Vec<u8>, ChannelError> {
        self.start(method, payload, options).wait()
    }

    /// Starts a call on the endpoint the balancer picks and returns at once: many calls
    /// may be in flight, spread over the endpoints. A move to another endpoint happens in
    /// [`ChannelCall::wait`].
    pub fn start(&self, method: u32, payload: &[u8], options: &CallOptions) -> ChannelCall {
        let start = Instant::now();
        let allowed = options.deadline.unwrap_or(self.inner.config.client.default_deadline);
        self.lock_budget().deposit(start);
        let mut call = ChannelCall {
            channel: self.clone(),
            method,
            payload: payload.to_vec(),
            options: options.clone(),
            deadline: start.checked_add(allowed),
            attempt: None,
            tried: Vec::new(),
        };
        call.attempt = call.send();
        call
    }

    /// The endpoint for the next attempt: the balancer's pick among ready endpoints, or
    /// while none is ready (the channel is starting, or every connection is down) any
    /// endpoint not tried yet, whose client waits for its connection
    /// (`ClientConfig::wait_for_ready`) or fails the attempt unsent.
    /// The endpoint is counted as having the call at once (one lock for both: callers on
    /// many threads share the balancer).
    fn pick(&self, excluded: &[EndpointId]) -> Option<(EndpointId, Member)> {
        let members = self.inner.members.read().unwrap_or_else(|p| p.into_inner());
        let picked = {
            let mut balancer = self.lock_balancer();
            let picked = balancer.pick(Instant::now(), excluded);
            if let Some(id) = picked {
                balancer.started(id);
            }
            picked
        };
        let id = match picked {
            Some(id) => id,
            None => {
                let mut left: Vec<EndpointId> =
                    members.keys().copied().filter(|id| !excluded.contains(id)).collect();
                if left.is_empty() {
                    return None;
                }
                left.sort();
                let i = self.inner.rng.lock().unwrap_or_else(|p| p.into_inner()).below(left.len());
                self.lock_balancer().started(left[i]);
                left[i]
            }
        };
        members.get(&id).map(|m| (id, m.clone()))
    }

    fn lock_balancer(&self) -> std::sync::MutexGuard<'_, Balancer> {
        self.inner.balancer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_budget(&self) -> std::sync::MutexGuard<'_, RetryBudget> {
        self.inner.budget.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A call started on a [`Channel`]: wait for it, or cancel it.
#[derive(Debug)]
pub struct ChannelCall {
    channel: Channel,
    method: u32,
    /// Kept for a move to another endpoint (as gRPC's retry buffer keeps it).
    payload: Vec<u8>,
    options: CallOptions,
    deadline: Option<Instant>,
    /// The attempt in flight: where, its handle, when it was sent. `None`: no endpoint
    /// could be tried (`tried` says where it was).
    attempt: Option<Attempt>,
    tried: Vec<(EndpointId, Address)>,
}

#[derive(Debug)]
struct Attempt {
    id: EndpointId,
    address: Address,
    handle: crate::CallHandle,
    sent: Instant,
    /// Held until the attempt ends: dropping the last handle on a client (its endpoint
    /// removed meanwhile) would cancel the call.
    _client: Arc<Client>,
}

impl ChannelCall {
    /// Blocks until the call ends: its reply, or the error of its last attempt with every
    /// endpoint it was tried on. (Or `.await` it: a `ChannelCall` is a `Future` too.)
    pub fn wait(mut self) -> Result<Vec<u8>, ChannelError> {
        loop {
            let Some(attempt) = self.attempt.take() else {
                return Err(self.nowhere());
            };
            let result = attempt.handle.wait();
            if let Some(end) = self.settle(attempt.id, attempt.address, attempt.sent, result) {
                return end;
            }
        }
    }

    /// The call could not be (re)sent anywhere.
    fn nowhere(&mut self) -> ChannelError {
        let error = CallError::Unavailable(match self.tried.is_empty() {
            true => "the channel has no endpoint; the call was not sent".into(),
            false => "no other endpoint to try; the call was not sent again".into(),
        });
        self.failed(error)
    }

    /// An attempt ended with `result`: the call's end, or `None` when the next attempt
    /// is under way on another endpoint.
    fn settle(
        &mut self,
        id: EndpointId,
        address: Address,
        sent: Instant,
        result: Result<Vec<u8>, CallError>,
    ) -> Option<Result<Vec<u8>, ChannelError>> {
        let now = Instant::now();
        let health = match &result {
            Err(
                CallError::Unavailable(_)
                | CallError::Overloaded(_)
                | CallError::OutcomeUnknown(_)
                | CallError::DeadlineExceeded,
            ) => Outcome::Failed,
            _ => Outcome::Answered,
        };
        self.channel.lock_balancer().finished(id, now, now - sent, health);
        self.tried.push((id, address));
        let error = match result {
            Ok(reply) => return Some(Ok(reply)),
            Err(e) => e,
        };
        let elsewhere = match &error {
            // Never sent, or refused before dispatch: it did not run there.
            CallError::Unavailable(_) | CallError::Overloaded(_) => true,
            // It may have run: only an idempotent call may run again.
            CallError::OutcomeUnknown(_) => self.options.idempotent,
            _ => false,
        };
        let time_left = self.deadline.is_none_or(|d| d > now);
        let max = self.channel.inner.config.max_attempts.max(1) as usize;
        if !elsewhere
            || !time_left
            || self.tried.len() >= max
            || !self.channel.lock_budget().try_withdraw(now)
        {
            return Some(Err(self.failed(error)));
        }
        self.attempt = self.send();
        if self.attempt.is_none() {
            // Nowhere else to go: the last error stands.
            return Some(Err(self.failed(error)));
        }
        None
    }

    /// Tells the endpoint running the call to stop it (it may have run already); `wait`
    /// then ends `Cancelled`.
    pub fn cancel(&self) {
        if let Some(a) = &self.attempt {
            a.handle.cancel();
        }
    }

    /// Starts the next attempt on an endpoint not tried yet, with what is left of the
    /// deadline.
    fn send(&self) -> Option<Attempt> {
        let excluded: Vec<EndpointId> = self.tried.iter().map(|(id, _)| *id).collect();
        let (id, member) = self.channel.pick(&excluded)?;
        let mut options = self.options.clone();
        if let Some(deadline) = self.deadline {
            options.deadline = Some(deadline.saturating_duration_since(Instant::now()));
        }
        let handle = member.client.start(self.method, &self.payload, &options);
        let sent = Instant::now();
        Some(Attempt { id, address: member.address, handle, sent, _client: member.client })
    }

    fn failed(&mut self, error: CallError) -> ChannelError {
        let tried = std::mem::take(&mut self.tried);
        ChannelError { error, tried: tried.into_iter().map(|(_, a)| a).collect() }
    }
}

/// Awaiting a call: an attempt that did not run moves to another endpoint as in `wait`,
/// without blocking the task.
impl std::future::Future for ChannelCall {
    type Output = Result<Vec<u8>, ChannelError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        loop {
            let Some(attempt) = self.attempt.as_mut() else {
                return std::task::Poll::Ready(Err(self.nowhere()));
            };
            let result = match std::pin::Pin::new(&mut attempt.handle).poll(cx) {
                std::task::Poll::Pending => return std::task::Poll::Pending,
                std::task::Poll::Ready(r) => r,
            };
            let Some(attempt) = self.attempt.take() else { continue };
            if let Some(end) = self.settle(attempt.id, attempt.address, attempt.sent, result) {
                return std::task::Poll::Ready(end);
            }
        }
    }
}
