//! Test support: a fault-injecting TCP proxy and a raw protocol speaker. Tests may use
//! blocking std sockets and threads; the runtime under test may not.
#![allow(dead_code)] // each test binary uses part of this

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use ferry_runtime::protocol::{self, Header, Hello, Kind};

/// A small deterministic PRNG (xorshift64*), so a failing fault schedule can be replayed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

/// Fault probabilities, per frame, in thousandths.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Forward a request frame twice.
    pub duplicate_request: u64,
    /// Forward half a request frame, then cut the connection.
    pub cut_mid_request: u64,
    /// Cut the connection instead of forwarding a reply.
    pub cut_mid_reply: u64,
    /// Hold a frame for a few milliseconds.
    pub delay: u64,
}

/// Forwards connections to `target`, injecting `faults`. Counts what it did.
pub struct Proxy {
    pub addr: SocketAddr,
    pub duplicated: Arc<AtomicU64>,
    pub cuts: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// When set, new connections are refused (closed at once): a network partition.
    pub partitioned: Arc<AtomicBool>,
    /// While set, no byte is forwarded in either direction: a stalled network.
    pub stalled: Arc<AtomicBool>,
    target: Arc<Mutex<SocketAddr>>,
}

impl Proxy {
    pub fn start(target: SocketAddr, faults: Faults, seed: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let duplicated = Arc::new(AtomicU64::new(0));
        let cuts = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let partitioned = Arc::new(AtomicBool::new(false));
        let stalled = Arc::new(AtomicBool::new(false));
        let target = Arc::new(Mutex::new(target));
        let (d, c, s, p, t) =
            (duplicated.clone(), cuts.clone(), stop.clone(), partitioned.clone(), target.clone());
        let st = stalled.clone();
        thread::spawn(move || {
            let mut rng = Rng::new(seed);
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        if p.load(Ordering::SeqCst) {
                            continue;
                        }
                        let target = *t.lock().unwrap();
                        let Ok(server) = TcpStream::connect(target) else { continue };
                        client.set_nonblocking(false).unwrap();
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        let seed = rng.next();
                        pump(
                            client.try_clone().unwrap(),
                            server.try_clone().unwrap(),
                            faults,
                            true,
                            seed,
                            d.clone(),
                            c.clone(),
                            st.clone(),
                        );
                        pump(
                            server,
                            client,
                            faults,
                            false,
                            seed ^ 0xabcdef,
                            d.clone(),
                            c.clone(),
                            st.clone(),
                        );
                    }
                    Err(_) => thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        Proxy { addr, duplicated, cuts, stop, partitioned, stalled, target }
    }

    /// Points new connections at another server (after a restart on a new port).
    pub fn retarget(&self, target: SocketAddr) {
        *self.target.lock().unwrap() = target;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Copies frames from `from` to `to`, applying faults; ends both sockets on a cut or EOF.
#[allow(clippy::too_many_arguments)] // test plumbing: each is one fault knob or counter
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    faults: Faults,
    requests: bool,
    seed: u64,
    dup: Arc<AtomicU64>,
    cuts: Arc<AtomicU64>,
    stalled: Arc<AtomicBool>,
) {
    thread::spawn(move || {
        let mut rng = Rng::new(seed);
        let mut frames_seen = 0u64;
        loop {
            let mut len = [0u8; 4];
            if from.read_exact(&mut len).is_err() {
                break;
            }
            let n = u32::from_le_bytes(len) as usize;
            let mut frame = len.to_vec();
            frame.resize(4 + n.min(64 << 20), 0);
            if from.read_exact(&mut frame[4..]).is_err() {
                break;
            }
            frames_seen += 1;
            // A stalled network holds frames (bounded: tests clear the flag or drop the proxy).
            let mut held = 0;
            while stalled.load(Ordering::SeqCst) && held < 30_000 {
                thread::sleep(Duration::from_millis(1));
                held += 1;
            }
            // Never disturb the handshake (frame 1): faults target calls.
            let eligible = frames_seen > 1
                && frame.len() > 5
                && (frame[5] == Kind::Request as u8 || frame[5] == Kind::Response as u8);
            if eligible && rng.chance(faults.delay) {
                thread::sleep(Duration::from_millis(rng.next() % 5));
            }
            if eligible && requests && rng.chance(faults.cut_mid_request) {
                let _ = to.write_all(&frame[..frame.len() / 2]);
                cuts.fetch_add(1, Ordering::Relaxed);
                break;
            }
            if eligible && !requests && rng.chance(faults.cut_mid_reply) {
                cuts.fetch_add(1, Ordering::Relaxed);
                break;
            }
            if to.write_all(&frame).is_err() {
                break;
            }
            if eligible && requests && rng.chance(faults.duplicate_request) {
                dup.fetch_add(1, Ordering::Relaxed);
                if to.write_all(&frame).is_err() {
                    break;
                }
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// Speaks the protocol by hand over a blocking socket, for tests that must control bytes.
pub struct RawPeer {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawPeer {
    pub fn connect(addr: SocketAddr) -> RawPeer {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        RawPeer { stream, buf: Vec::new() }
    }

    pub fn hello(&mut self, client_id: u128) -> protocol::HelloAck {
        self.hello_with_secret(client_id, client_id ^ 0x5ec7e7).expect("hello ack")
    }

    /// The handshake with an explicit secret; `Err` with the server's error frame's message
    /// when it refuses.
    pub fn hello_with_secret(
        &mut self,
        client_id: u128,
        secret: u128,
    ) -> Result<protocol::HelloAck, String> {
        let mut out = Vec::new();
        protocol::push(
            &mut out,
            &Header::new(Kind::Hello),
            &Hello { client_id, max_frame: 1 << 20, secret }.encode(),
        );
        self.stream.write_all(&out).unwrap();
        let (h, payload) = self.read_frame().ok_or("closed without an answer")?;
        if h.kind != Kind::HelloAck {
            return Err(protocol::parse_error(&payload).1);
        }
        Ok(protocol::HelloAck::decode(&payload).unwrap())
    }

    pub fn request_bytes(call_id: u64, ack: u64, method: u32, payload: &[u8]) -> Vec<u8> {
        Self::request_with(call_id, ack, method, 0, 5_000_000, payload)
    }

    /// A request with chosen flags and deadline.
    pub fn request_with(
        call_id: u64,
        ack: u64,
        method: u32,
        flags: u16,
        deadline_us: u32,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let h = Header { kind: Kind::Request, flags, call_id, ack, method, deadline_us };
        protocol::push(&mut out, &h, payload);
        out
    }

    /// A frame of `kind` (Cancel, GoAway, Ping) naming `call_id`.
    pub fn frame_bytes(kind: Kind, call_id: u64) -> Vec<u8> {
        let mut out = Vec::new();
        protocol::push(&mut out, &Header { call_id, ..Header::new(kind) }, &[]);
        out
    }

    /// The next frame that is not a GoAway or Ping.
    pub fn read_reply(&mut self) -> Option<(Header, Vec<u8>)> {
        loop {
            let f = self.read_frame()?;
            if !matches!(f.0.kind, Kind::GoAway | Kind::Ping | Kind::Pong) {
                return Some(f);
            }
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next frame, or `None` when the server closed the connection.
    pub fn read_frame(&mut self) -> Option<(Header, Vec<u8>)> {
        loop {
            if let Ok(Some((frame, used))) = protocol::decode(&self.buf, usize::MAX >> 1) {
                let out = (frame.header, frame.payload.to_vec());
                self.buf.drain(..used);
                return Some(out);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}
