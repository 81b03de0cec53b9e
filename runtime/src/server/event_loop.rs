//! One event loop thread of a server: the connections it owns (each a socket and a
//! sans-I/O `ServerSession`), the calls it handed to the workers, its timers, and the
//! listeners (loop 0). Shape of mio's `tcp_server` example: reads up to a fair budget per
//! connection per turn, writes batched into one buffer per connection, every protocol
//! decision in the session.

use super::*;

/// One client connection: its byte stream (TCP, or TLS over it) and its protocol state.
struct Connection {
    stream: Stream,
    peer: PeerAddr,
    session: ServerSession,
    interest: Interest,
    /// Reading stopped because too much output is waiting for the peer.
    read_paused: bool,
    /// The earliest connection timer armed.
    armed: Instant,
    /// This connection's output counted in `Shared::buffered`.
    accounted: usize,
    /// The TLS peer's identity was handed to the session.
    identified: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// Check a connection's handshake, frame or idle deadline.
    Connection(usize),
    /// Forget clients whose lease expired.
    ExpireRecords,
    /// Refresh the recorded bytes counted against the memory budget.
    Budget,
    /// The shutdown grace period ended.
    GraceOver,
    /// Loop 0 checks whether the TLS certificate's files changed (`ServerTls::watch`).
    TlsFiles,
}

pub(super) struct Loop {
    poll: Poll,
    /// This loop's position among the server's loops.
    index: usize,
    loops: usize,
    /// Loop 0 owns the listeners (token = index; each with its TLS or none) and hands
    /// connections to the others.
    listeners: Vec<(Listener, Option<ServerTls>)>,
    conns: HashMap<usize, Connection>,
    /// Connections accepted so far (loop 0): numbers tokens and picks loops round-robin.
    accepted: usize,
    inbox: Receiver<LoopMsg>,
    timers: Timers<Timer>,
    jobs_tx: Option<Sender<Job>>,
    done_rx: Receiver<Done>,
    /// Calls handed to the workers and not yet back, by (client key, call id).
    queued: HashMap<(u128, u64), Queued>,
    /// Calls of async handlers among `queued`, by connection: once started they hold no
    /// queue place, so they do not count against the connection's queue share.
    async_by_conn: HashMap<usize, usize>,
    /// The deadlines of `queued` calls, earliest first: one still waiting for a worker when
    /// its deadline passes is answered `DeadlineExceeded` then, not when a worker gets to it.
    deadlines: BTreeSet<(Instant, u128, u64)>,
    /// Calls withdrawn from the queue (never started), to be answered this turn.
    early: Vec<(CallRef, Outcome)>,
    /// Calls dispatched and not yet completed, over all connections.
    in_flight: usize,
    draining_until: Option<Instant>,
    service: Service,
    config: ServerConfig,
    limits: Limits,
    /// Connections that used their read budget with input perhaps left: read next turn.
    again: Vec<usize>,
    incarnation: u128,
    shared: Arc<Shared>,
    /// Connections with output to flush or interest to update after this turn.
    dirty: Vec<usize>,
    metrics: Metrics,
    /// Read buffer shared by every connection of the loop.
    scratch: Vec<u8>,
}

impl Endpoint for Loop {
    fn authorize(&self, method_id: u32, ctx: &Context) -> Result<(), String> {
        self.service.check(method_id, ctx)
    }

    fn records(&self) -> &SharedRecords {
        &self.shared.records
    }

    fn incarnation(&self) -> u128 {
        self.incarnation
    }

    fn method(&self, id: u32) -> Option<Method> {
        self.service.methods.get(&id).cloned()
    }

    fn shutting_down(&self) -> bool {
        self.draining_until.is_some()
    }

    fn over_budget(&self) -> bool {
        self.shared.buffered.load(Ordering::Relaxed) + self.shared.recorded.load(Ordering::Relaxed)
            > self.config.memory_budget
    }

    fn queue_share(&self, conn: usize, own: usize) -> usize {
        let awaiting = self.async_by_conn.get(&conn).copied().unwrap_or(0);
        // Half of what the other connections leave of the queue: a connection alone may
        // fill half of it, and n flooders leave about a (n + 1)th free for newcomers. The
        // session counts its calls in flight, running ones included, so the workers' places
        // are added and its own calls are not counted as the others'.
        let waiting = self.jobs_tx.as_ref().map_or(0, Sender::len);
        let others = waiting.saturating_sub(own);
        let left = self.config.queue_capacity.max(1).saturating_sub(others);
        (left / 2).max(1) + self.config.workers.max(1) + awaiting
    }

    fn dispatch(&mut self, d: Dispatch<'_>) -> Option<Outcome> {
        let call = CallRef { loop_index: self.index, ..d.call };
        self.in_flight += 1;
        self.shared.held.fetch_add(1, Ordering::Relaxed);
        let asynchronous = matches!(d.method.run, Run::Async(_));
        if let (true, Run::Blocking(handler)) = (d.method.inline, &d.method.run) {
            // On the loop, straight from the read buffer: no copy, no hand-off.
            let outcome = execute(handler, &d.ctx, d.payload);
            self.finished(&call, &outcome);
            return Some(outcome);
        }
        if asynchronous
            && self.shared.tasks.load(Ordering::Relaxed) >= self.config.max_handler_tasks
        {
            let outcome = Outcome::NotRun(
                ErrorCode::Overloaded,
                format!(
                    "{} async handlers are running already (ServerConfig::max_handler_tasks); the call did not run",
                    self.config.max_handler_tasks
                ),
            );
            self.finished(&call, &outcome);
            return Some(outcome);
        }
        let claim = Arc::new(Claim::default());
        let deadline = d.ctx.deadline;
        let job = Job {
            call,
            method: d.method,
            payload: d.payload.to_vec(),
            ctx: d.ctx,
            claim: Arc::clone(&claim),
        };
        let sent = match self.jobs_tx.as_ref() {
            Some(jobs) => match jobs.try_send(job) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
            },
            None => false,
        };
        if sent {
            if asynchronous {
                self.shared.tasks.fetch_add(1, Ordering::Relaxed);
                *self.async_by_conn.entry(call.conn).or_default() += 1;
            }
            let queued = Queued { call, cancelled: d.cancelled, claim, deadline, asynchronous };
            self.queued.insert((call.client, call.call_id), queued);
            self.deadlines.insert((deadline, call.client, call.call_id));
            return None;
        }
        let outcome = Outcome::NotRun(
            ErrorCode::Overloaded,
            "server queue is full; the call did not run".into(),
        );
        self.finished(&call, &outcome);
        Some(outcome)
    }

    fn cancel(&mut self, client: u128, call_id: u64) {
        if let Some(q) = self.queued.get(&(client, call_id)) {
            // A started handler sees the flag (an async one is woken to be dropped); one
            // still queued is answered now.
            q.cancelled.store(true, Ordering::Relaxed);
            q.claim.abort(false);
            self.withdraw(
                (client, call_id),
                ErrorCode::Cancelled,
                "cancelled before the handler started; the call did not run",
            );
        }
    }

    fn deliver(&mut self, waiter: Waiter, reply: &StoredReply) {
        let owner = owner_of(waiter.connection, self.loops);
        if owner != self.index {
            // A duplicate that arrived on another loop's connection waits there.
            let msg = LoopMsg::Deliver { waiter, reply: reply.clone() };
            if self.shared.inboxes[owner].try_send(msg).is_ok() {
                self.shared.wake(owner);
            } else {
                // The caller is not lost: its retry replays the recorded reply.
                log::warn!(
                    "event loop {owner} is not keeping up; a duplicate's reply waits for its retry"
                );
            }
        } else if let Some(c) = self.conns.get_mut(&waiter.connection) {
            c.session.write_reply(waiter.call_id, waiter.attempt, reply);
            self.dirty.push(waiter.connection);
        }
    }
}

/// What a loop is made of, from `Server::bind_all`.
pub(super) struct LoopParts {
    pub poll: Poll,
    pub index: usize,
    pub loops: usize,
    pub listeners: Vec<(Listener, Option<ServerTls>)>,
    pub inbox: Receiver<LoopMsg>,
    pub jobs_tx: Sender<Job>,
    pub done_rx: Receiver<Done>,
    pub service: Service,
    pub config: ServerConfig,
    pub limits: Limits,
    pub incarnation: u128,
    pub shared: Arc<Shared>,
    pub metrics: Metrics,
}

impl Loop {
    pub(super) fn new(p: LoopParts) -> Loop {
        Loop {
            poll: p.poll,
            index: p.index,
            loops: p.loops,
            listeners: p.listeners,
            conns: HashMap::new(),
            accepted: 0,
            inbox: p.inbox,
            timers: Timers::default(),
            jobs_tx: Some(p.jobs_tx),
            done_rx: p.done_rx,
            queued: HashMap::new(),
            async_by_conn: HashMap::new(),
            deadlines: BTreeSet::new(),
            early: Vec::new(),
            in_flight: 0,
            draining_until: None,
            service: p.service,
            config: p.config,
            limits: p.limits,
            again: Vec::new(),
            incarnation: p.incarnation,
            shared: p.shared,
            dirty: Vec::new(),
            metrics: p.metrics,
            scratch: Vec::new(),
        }
    }

    pub(super) fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        self.timers.add(Instant::now() + self.config.client_lease / 4, Timer::ExpireRecords);
        if self.index == 0 {
            self.timers.add(Instant::now() + BUDGET_REFRESH, Timer::Budget);
            if let Some(every) = self.tls_watch_interval() {
                self.timers.add(Instant::now() + every, Timer::TlsFiles);
            }
        }
        // Polling without sleeping until this instant (`ServerConfig::busy_poll`), while
        // holding a place in the process's spin budget (`spin`: never on one CPU, never on
        // a busy machine, less where polling has stopped paying).
        let mut busy_until: Option<Instant> = None;
        let mut spinning = None;
        let site = crate::spin::SpinSite::default();
        loop {
            let now = Instant::now();
            let mut timeout = self.timers.timeout(now, Duration::from_secs(3600));
            if let Some(&(at, ..)) = self.deadlines.first() {
                timeout = timeout.min(at.saturating_duration_since(now));
            }
            if !self.again.is_empty() {
                timeout = Duration::ZERO;
            }
            // Only while nothing waits on a worker: a polling loop must not hold the core a
            // handler needs.
            let window_open = busy_until.is_some_and(|until| now < until) && self.in_flight == 0;
            if !window_open && spinning.take().is_some() {
                site.end(false); // the window closed with nothing caught
            }
            if window_open && spinning.is_none() {
                spinning = site.begin(self.config.busy_poll);
                if spinning.is_none() {
                    busy_until = None;
                }
            }
            if spinning.is_some() {
                timeout = Duration::ZERO;
                // Any other thread that is ready (a client's I/O thread on the same core,
                // say) runs first: polling must only use time no one else wants.
                std::thread::yield_now();
            }
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if !events.is_empty() {
                if spinning.take().is_some() {
                    site.end(true);
                }
                if !self.config.busy_poll.is_zero() {
                    busy_until = Some(Instant::now() + self.config.busy_poll);
                }
            }
            // Connections that used their budget last turn go after this turn's events.
            let again = std::mem::take(&mut self.again);
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    Token(t) if t < MAX_LISTENERS => self.accept(t),
                    Token(t) => {
                        // Spurious events are possible (mio docs): handlers tolerate them.
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            // Data alone: a short read empties the socket (`on_readable`).
                            let closing = event.is_read_closed() || event.is_error();
                            self.on_readable(t, !closing);
                        }
                        if event.is_writable() {
                            self.dirty.push(t);
                        }
                    }
                }
            }
            for t in again {
                self.on_readable(t, false);
            }
            self.drain_inbox();
            self.expire_queued(Instant::now());
            self.drain_completions();
            self.fire_timers();
            if self.shared.shutdown.load(Ordering::SeqCst) && self.draining_until.is_none() {
                self.begin_shutdown();
            }
            self.flush_dirty();
            if let Some(until) = self.draining_until {
                let flushed = self.conns.values().all(|c| c.session.outbuf.is_empty());
                if (self.in_flight == 0 && flushed) || Instant::now() >= until {
                    break;
                }
            }
        }
        self.finish_shutdown();
        Ok(())
    }

    /// The shortest interval at which a listener's TLS files are to be checked.
    fn tls_watch_interval(&self) -> Option<Duration> {
        self.listeners.iter().filter_map(|(_, tls)| tls.as_ref()?.watch_interval()).min()
    }

    fn accept(&mut self, index: usize) {
        loop {
            let Some((listener, tls)) = self.listeners.get(index) else { return };
            let tls = tls.clone();
            match listener.accept() {
                Ok((socket, peer)) => {
                    let open = self.shared.connections.load(Ordering::Relaxed);
                    if open >= self.config.max_connections {
                        log::warn!(
                            "refusing {peer}: {} connections is the limit",
                            self.config.max_connections
                        );
                        continue; // dropping the socket closes it
                    }
                    socket.set_nodelay();
                    let target = self.accepted % self.loops;
                    let token = FIRST_CONNECTION + self.accepted;
                    self.accepted += 1;
                    self.shared.connections.fetch_add(1, Ordering::Relaxed);
                    if target == self.index {
                        self.adopt(socket, peer, token, tls);
                    } else if self.shared.inboxes[target]
                        .try_send(LoopMsg::Connection(socket, peer.clone(), token, tls))
                        .is_ok()
                    {
                        self.shared.wake(target);
                    } else {
                        // That loop is far behind: close rather than queue without bound.
                        self.shared.connections.fetch_sub(1, Ordering::Relaxed);
                        log::warn!("refusing {peer}: event loop {target} is not keeping up");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // E.g. EMFILE: keep serving the connections we have.
                    log::warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Takes a connection into this loop.
    fn adopt(&mut self, mut socket: Socket, peer: PeerAddr, token: usize, tls: Option<ServerTls>) {
        debug_assert_eq!(owner_of(token, self.loops), self.index);
        if let Err(e) = self.poll.registry().register(&mut socket, Token(token), Interest::READABLE)
        {
            log::warn!("cannot register {peer}: {e}");
            self.shared.connections.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let stream = match &tls {
            Some(tls) => match rustls::ServerConnection::new(Arc::clone(&tls.config)) {
                Ok(conn) => Stream::tls(socket, conn),
                Err(e) => {
                    log::warn!("cannot start TLS with {peer}: {e}");
                    let _ = self.poll.registry().deregister(&mut socket);
                    self.shared.connections.fetch_sub(1, Ordering::Relaxed);
                    return;
                }
            },
            None => Stream::Plain(socket),
        };
        let now = Instant::now();
        // The handshake timeout runs from here: it covers the TLS handshake too.
        let session = ServerSession::new(token, now);
        let armed = session.next_timeout(&self.limits);
        self.timers.add(armed, Timer::Connection(token));
        self.conns.insert(
            token,
            Connection {
                stream,
                peer: peer.clone(),
                session,
                interest: Interest::READABLE,
                read_paused: false,
                armed,
                accounted: 0,
                identified: false,
            },
        );
        log::debug!("loop {} adopted {peer} as connection {token}", self.index);
    }

    /// Connections handed over by loop 0 and replies produced on other loops.
    fn drain_inbox(&mut self) {
        while let Ok(msg) = self.inbox.try_recv() {
            match msg {
                LoopMsg::Connection(socket, peer, token, tls) => {
                    self.adopt(socket, peer, token, tls)
                }
                LoopMsg::Deliver { waiter, reply } => {
                    if let Some(c) = self.conns.get_mut(&waiter.connection) {
                        c.session.write_reply(waiter.call_id, waiter.attempt, &reply);
                        self.dirty.push(waiter.connection);
                    }
                }
            }
        }
    }

    /// Reads the connection until the socket is empty (edge-triggered: nothing may be left
    /// behind), its fair budget is used, or its output backs up. With `short_ends`, a read
    /// of a plain socket that returns less than asked ends it: it left the socket empty
    /// and later bytes raise a new edge, so the read that would end in `EAGAIN` (a system
    /// call per request) is saved. Only for input an event announced without the peer's
    /// close, which raises no edge of its own once its event has been taken.
    fn on_readable(&mut self, token: usize, short_ends: bool) {
        let Some(mut conn) = self.conns.remove(&token) else { return };
        let mut closed = false;
        // Stop reading while the peer does not read its replies (bounded output).
        conn.read_paused = false;
        // Reads land in one scratch buffer shared by the loop's connections; the session
        // keeps only the bytes of a frame still incomplete, so idle connections hold no
        // input buffer at all.
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.resize(READ_CHUNK, 0);
        let mut budget = self.config.read_budget.max(1);
        let limits = self.limits.clone();
        let mut next = Next::Continue;
        while conn.session.accepts_input() && next == Next::Continue {
            if conn.session.outbuf.len() >= OUTPUT_PAUSE {
                conn.read_paused = true;
                break;
            }
            if budget == 0 {
                // Fair share used: the others on this loop go first; read again next turn.
                self.again.push(token);
                break;
            }
            let want = budget.min(READ_CHUNK);
            match conn.stream.read(&mut scratch[..want]) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    budget -= n;
                    if conn.stream.is_tls() && !conn.identified {
                        // Plaintext comes only after the TLS handshake: the peer's
                        // certificate (mutual TLS) is known before the session sees Hello.
                        conn.identified = true;
                        if let Some(identity) = conn.stream.peer_identity() {
                            conn.session.set_identity(identity);
                        }
                    }
                    next = conn.session.handle_input(self, &limits, &scratch[..n], Instant::now());
                    if short_ends && n < want && !conn.stream.is_tls() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("read from {} failed: {e}", conn.peer);
                    closed = true;
                    break;
                }
            }
        }
        self.scratch = scratch;
        if closed {
            self.close(token, conn);
            return;
        }
        self.rearm(token, &mut conn);
        self.conns.insert(token, conn);
        self.dirty.push(token);
    }

    /// Arms the connection's timer if its session now needs one earlier.
    fn rearm(&mut self, token: usize, conn: &mut Connection) {
        let at = conn.session.next_timeout(&self.limits);
        if at < conn.armed || conn.armed <= Instant::now() {
            conn.armed = at;
            self.timers.add(at, Timer::Connection(token));
        }
    }

    /// Answers a queued call that has not started, unrun, if the worker has not taken it
    /// yet (the answer goes out this turn, from `drain_completions`).
    /// A started one is told to stop instead (an async handler's future is dropped).
    fn withdraw(&mut self, key: (u128, u64), code: ErrorCode, message: &str) {
        let Some(q) = self.queued.get(&key) else { return };
        if q.claim.withdraw() {
            let call = q.call;
            self.forget_queued(key);
            self.early.push((call, Outcome::NotRun(code, message.to_owned())));
        } else {
            q.cancelled.store(true, Ordering::Relaxed);
            q.claim.abort(code == ErrorCode::ShuttingDown);
        }
    }

    fn forget_queued(&mut self, key: (u128, u64)) {
        let Some(q) = self.queued.remove(&key) else { return };
        self.deadlines.remove(&(q.deadline, key.0, key.1));
        if q.asynchronous {
            self.shared.tasks.fetch_sub(1, Ordering::Relaxed);
            if let Some(n) = self.async_by_conn.get_mut(&q.call.conn) {
                *n -= 1;
                if *n == 0 {
                    self.async_by_conn.remove(&q.call.conn);
                }
            }
        }
        if self.queued.is_empty() && self.queued.capacity() > SHRINK_ABOVE {
            // A burst (or a flood) grew the map: give the memory back once it has passed.
            self.queued = HashMap::new();
        }
    }

    /// Queued calls whose deadline passed: answered now if no worker has started them.
    fn expire_queued(&mut self, now: Instant) {
        while let Some(&(at, client, call_id)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            self.withdraw(
                (client, call_id),
                ErrorCode::DeadlineExceeded,
                "the deadline passed while the call waited for a worker; it did not run",
            );
        }
    }

    fn drain_completions(&mut self) {
        for (call, outcome) in std::mem::take(&mut self.early) {
            self.conclude(call, outcome);
        }
        while let Ok(done) = self.done_rx.try_recv() {
            // `None`: withdrawn before it started, and answered then.
            let Done { call, outcome: Some(outcome) } = done else { continue };
            self.forget_queued((call.client, call.call_id));
            self.conclude(call, outcome);
        }
    }

    /// A call ended (ran, or was answered unrun): bookkeeping, the reply to its connection,
    /// the record for duplicates and retries.
    fn conclude(&mut self, call: CallRef, outcome: Outcome) {
        self.finished(&call, &outcome);
        match self.conns.remove(&call.conn) {
            Some(mut conn) => {
                conn.session.complete(self, call, outcome);
                self.conns.insert(call.conn, conn);
                self.dirty.push(call.conn);
            }
            None => {
                // Its connection closed: record the outcome all the same (a retry on
                // another connection gets it) and answer duplicates waiting elsewhere.
                let (reply, waiters) = settle(&self.shared.records, &call, outcome);
                if !call.oneway {
                    for w in waiters {
                        self.deliver(w, &reply);
                    }
                }
            }
        }
    }

    /// Bookkeeping of a call that ended: the loop's count and the metrics.
    fn finished(&mut self, call: &CallRef, outcome: &Outcome) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.shared.held.fetch_sub(1, Ordering::Relaxed);
        let took = call.dispatched.elapsed();
        self.metrics.record(call.method_id, took, matches!(outcome, Outcome::Reply(_)));
        if self.config.access_log {
            let peer = self.conns.get(&call.conn).map(|c| &c.peer);
            access_log(&self.metrics, call, outcome, took, peer);
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                Timer::ExpireRecords => {
                    if self.index == 0 {
                        self.shared.records.expire(now);
                    }
                    self.timers.add(now + self.config.client_lease / 4, Timer::ExpireRecords);
                }
                Timer::Budget => {
                    self.shared.recorded.store(self.shared.records.bytes(), Ordering::Relaxed);
                    self.timers.add(now + BUDGET_REFRESH, Timer::Budget);
                }
                Timer::GraceOver => {}
                Timer::TlsFiles => {
                    for tls in self.listeners.iter().filter_map(|(_, tls)| tls.as_ref()) {
                        tls.reload_if_changed();
                    }
                    if let Some(every) = self.tls_watch_interval() {
                        self.timers.add(now + every, Timer::TlsFiles);
                    }
                }
                Timer::Connection(token) => {
                    let Some(mut conn) = self.conns.remove(&token) else { continue };
                    if conn.armed > now {
                        // A stale entry: a later one is armed.
                        self.conns.insert(token, conn);
                        continue;
                    }
                    if conn.session.handle_timeout(&self.limits, now) == Next::Close {
                        log::debug!("closing {}: handshake, frame or idle timeout", conn.peer);
                        self.close(token, conn);
                        continue;
                    }
                    self.rearm(token, &mut conn);
                    self.conns.insert(token, conn);
                    self.dirty.push(token);
                }
            }
        }
    }

    fn flush_dirty(&mut self) {
        // Flushing can read more input (a connection whose output was backed up resumes),
        // which can produce more output: repeat until nothing is left to flush.
        loop {
            let mut dirty = std::mem::take(&mut self.dirty);
            if dirty.is_empty() {
                return;
            }
            dirty.sort_unstable();
            dirty.dedup();
            self.flush_connections(&dirty);
        }
    }

    fn flush_connections(&mut self, dirty: &[usize]) {
        for &token in dirty {
            let Some(mut conn) = self.conns.remove(&token) else { continue };
            let result = flush(&mut conn);
            self.account(&mut conn);
            let closing = conn.session.closing() && conn.session.in_flight == 0;
            match result {
                Ok(()) if closing && conn.session.outbuf.is_empty() => self.close(token, conn),
                Ok(()) => {
                    let mut interest =
                        if conn.session.outbuf.is_empty() && !conn.stream.wants_write() {
                            Interest::READABLE
                        } else {
                            Interest::READABLE | Interest::WRITABLE
                        };
                    if conn.session.outbuf.len() >= OUTPUT_PAUSE {
                        interest = Interest::WRITABLE;
                    }
                    if interest != conn.interest {
                        if let Err(e) = self.poll.registry().reregister(
                            conn.stream.socket(),
                            Token(token),
                            interest,
                        ) {
                            log::warn!("cannot reregister {}: {e}", conn.peer);
                        }
                        conn.interest = interest;
                    }
                    // Reading stopped while output was backed up: resume it now. (Edge-
                    // triggered readiness will not report bytes that arrived meanwhile.)
                    let resume = interest.is_readable() && conn.read_paused;
                    self.conns.insert(token, conn);
                    if resume {
                        self.on_readable(token, false);
                    }
                }
                Err(e) => {
                    log::debug!("write to {} failed: {e}", conn.peer);
                    self.close(token, conn);
                }
            }
        }
    }

    /// Keeps `Shared::buffered` equal to the input and output every connection holds.
    fn account(&self, conn: &mut Connection) {
        let now = conn.session.outbuf.len() + conn.session.input_held();
        if now > conn.accounted {
            self.shared.buffered.fetch_add(now - conn.accounted, Ordering::Relaxed);
        } else {
            self.shared.buffered.fetch_sub(conn.accounted - now, Ordering::Relaxed);
        }
        conn.accounted = now;
    }

    fn close(&mut self, token: usize, mut conn: Connection) {
        let _ = self.poll.registry().deregister(conn.stream.socket());
        self.shared.buffered.fetch_sub(conn.accounted, Ordering::Relaxed);
        self.shared.records.drop_waiters_of(token);
        self.shared.connections.fetch_sub(1, Ordering::Relaxed);
        log::debug!("closed connection {token} ({})", conn.peer);
    }

    fn begin_shutdown(&mut self) {
        let until = Instant::now() + self.config.shutdown_grace;
        self.draining_until = Some(until);
        self.timers.add(until, Timer::GraceOver);
        for (mut l, _) in std::mem::take(&mut self.listeners) {
            let _ = self.poll.registry().deregister(&mut l);
        }
        for (token, conn) in self.conns.iter_mut() {
            conn.session.go_away();
            self.dirty.push(*token);
        }
        log::info!("shutting down: {} calls in flight", self.in_flight);
    }

    fn finish_shutdown(&mut self) {
        // Calls still queued never start: each is answered `ShuttingDown` (it did not run,
        // so the client may send it elsewhere), and those replies are flushed before the
        // connections close. Running ones are told to stop; their outcome stays unknown.
        let keys: Vec<_> = self.queued.keys().copied().collect();
        for key in keys {
            self.withdraw(
                key,
                ErrorCode::ShuttingDown,
                "the server shut down before the call started; it did not run",
            );
        }
        self.drain_completions();
        self.flush_dirty();
        for q in self.queued.values() {
            q.cancelled.store(true, Ordering::Relaxed);
        }
        let tokens: Vec<usize> = self.conns.keys().copied().collect();
        for t in tokens {
            if let Some(conn) = self.conns.remove(&t) {
                self.close(t, conn);
            }
        }
        // Workers exit when every loop has dropped its end of the queue. They are not
        // joined: a handler that ignores its deadline must not hold shutdown hostage past
        // the grace period.
        self.jobs_tx = None;
    }
}

/// A call handed to a worker, as its loop keeps it until it comes back.
struct Queued {
    call: CallRef,
    cancelled: Arc<AtomicBool>,
    claim: Arc<Claim>,
    deadline: Instant,
    /// An async handler's call (counted in `Shared::tasks` and `async_by_conn`).
    asynchronous: bool,
}

/// A connection whose unwritten output reaches this is not read until it drains: a peer
/// that does not read its replies holds this much (plus the replies of calls it already
/// had in flight), not a multiple of the frame limit. One reply of any size still goes out.
const OUTPUT_PAUSE: usize = 256 * 1024;

/// Maps that a burst grew past this many entries are given back once empty.
const SHRINK_ABOVE: usize = 1024;

/// How often loop 0 re-counts recorded bytes for the memory budget.
const BUDGET_REFRESH: Duration = Duration::from_millis(100);

/// Writes as much buffered output as the socket takes.
fn flush(conn: &mut Connection) -> io::Result<()> {
    conn.stream.flush_tls()?;
    let out = &mut conn.session.outbuf;
    let mut written = 0;
    while written < out.len() {
        match conn.stream.write(&out[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    out.drain(..written);
    if out.is_empty() && out.capacity() > READ_CHUNK {
        // A burst of replies grew the buffer: give it back rather than hold it while idle.
        *out = Vec::new();
    }
    Ok(())
}

/// One line per finished call at `info` on target `ferry::access`:
/// `peer method outcome duration_us client call_id`.
fn access_log(
    metrics: &Metrics,
    call: &CallRef,
    outcome: &Outcome,
    took: Duration,
    peer: Option<&PeerAddr>,
) {
    let outcome = match outcome {
        Outcome::Reply(_) => "ok".to_owned(),
        Outcome::Failed(_) => "failed".to_owned(),
        Outcome::NotRun(code, _) => format!("not_run:{code:?}"),
    };
    let peer = peer.map_or_else(|| "-".to_owned(), |p| p.to_string());
    log::info!(
        target: "ferry::access",
        "{peer} {} {outcome} {}us client={:032x} call={}{}",
        metrics.method_name(call.method_id),
        took.as_micros(),
        call.client_id,
        call.call_id,
        if call.oneway { " oneway" } else { "" }
    );
}
