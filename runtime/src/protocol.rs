//! Frames: the unit every Ferry connection carries (normative: spec/protocol.md § Frames).
//! Pure functions over byte slices; no I/O.

use std::fmt;

/// Protocol version spoken by this implementation.
pub const VERSION: u8 = 1;

/// Bytes of the fixed header, including the length prefix.
pub const HEADER_LEN: usize = 34;

/// The least `max_frame` a `Hello` may announce: room for any error frame a server sends.
pub const MIN_MAX_FRAME: usize = 1024;

/// What a frame is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Client → server, first frame: protocol version, client id, limits, secret.
    Hello = 1,
    /// Server → client: the server's incarnation and limits.
    HelloAck = 2,
    /// A call: method id, call id, deadline, metadata, arguments.
    Request = 3,
    /// A call's result (the handler ran).
    Response = 4,
    /// A call's failure: an `ErrorCode` and a message.
    Error = 5,
    /// The client gave up on a call.
    Cancel = 6,
    /// Keepalive probe.
    Ping = 7,
    /// Keepalive answer.
    Pong = 8,
    /// The sender stops taking calls on this connection (draining or protocol error).
    GoAway = 9,
}

impl Kind {
    fn from_u8(v: u8) -> Option<Kind> {
        Some(match v {
            1 => Kind::Hello,
            2 => Kind::HelloAck,
            3 => Kind::Request,
            4 => Kind::Response,
            5 => Kind::Error,
            6 => Kind::Cancel,
            7 => Kind::Ping,
            8 => Kind::Pong,
            9 => Kind::GoAway,
            _ => return None,
        })
    }
}

/// Flag: the method may be re-executed after an unknown outcome (`ferry.idempotent`).
pub const FLAG_IDEMPOTENT: u16 = 1;
/// Flag: the caller wants no response (`oneway`).
pub const FLAG_ONEWAY: u16 = 2;
/// Flag (requests): this is a retry of a call id sent before, perhaps on another connection.
pub const FLAG_RETRY: u16 = 4;
/// Flags bits 8–15: the attempt (requests: 1 for the first send of a call, then 2, 3, …,
/// wrapping after 255; replies: the attempt of the request they answer), so a client can
/// tell a late answer to an earlier attempt from the answer to its latest one.
pub const ATTEMPT_SHIFT: u16 = 8;
/// Flags a receiver understands; other bits are ignored (reserved, sent as 0).
pub const KNOWN_FLAGS: u16 = FLAG_IDEMPOTENT | FLAG_ONEWAY | FLAG_RETRY | (0xff << ATTEMPT_SHIFT);

/// The attempt number carried in `flags`.
pub fn attempt_of(flags: u16) -> u8 {
    (flags >> ATTEMPT_SHIFT) as u8
}

/// `flags` with the attempt number set.
pub fn with_attempt(flags: u16, attempt: u8) -> u16 {
    (flags & 0x00ff) | (u16::from(attempt) << ATTEMPT_SHIFT)
}

/// The fixed part of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// What the frame is.
    pub kind: Kind,
    /// Kind-specific flag bits (the attempt number in bits 8–15 of a request).
    pub flags: u16,
    /// The call's sequence number in its client's session (0 for connection-level frames).
    pub call_id: u64,
    /// Requests: every call id below this has its outcome received by the client, so the
    /// server may forget their completion records.
    pub ack: u64,
    /// The method id (requests; 0 otherwise).
    pub method: u32,
    /// Requests: time left until the caller's deadline, in microseconds (`u32::MAX` means
    /// "at least 71 minutes"). Never an absolute time: clocks differ between machines.
    pub deadline_us: u32,
}

impl Header {
    /// A header of `kind` with every other field zero.
    pub fn new(kind: Kind) -> Self {
        Header { kind, flags: 0, call_id: 0, ack: 0, method: 0, deadline_us: 0 }
    }
}

/// A decoded frame, borrowing its metadata and payload from the read buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The fixed-size header.
    pub header: Header,
    /// Encoded metadata: see [`metadata`].
    pub metadata: &'a [u8],
    /// What follows the header and metadata.
    pub payload: &'a [u8],
}

/// Why bytes from a peer are not a valid frame. The connection is closed after it: a peer
/// that breaks framing cannot be resynchronised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// The length prefix exceeds the negotiated maximum: refused before buffering it.
    FrameTooLarge {
        /// The declared length.
        len: usize,
        /// The negotiated maximum.
        max: usize,
    },
    /// A frame shorter than its own header.
    FrameTooShort {
        /// Its length.
        len: usize,
    },
    /// A protocol version this side does not speak.
    UnsupportedVersion {
        /// The version the peer sent.
        version: u8,
    },
    /// A frame kind this side does not know.
    UnknownKind {
        /// The kind byte the peer sent.
        kind: u8,
    },
    /// Metadata length runs past the frame, or a metadata entry is malformed.
    BadMetadata,
    /// A frame that is not allowed in the connection's current state.
    Unexpected {
        /// The frame's kind.
        kind: Kind,
        /// The connection's state (`handshake`, `open`, …).
        state: &'static str,
    },
    /// A handshake payload of the wrong size or content.
    BadHandshake,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::FrameTooLarge { len, max } => {
                write!(f, "frame of {len} bytes exceeds the limit of {max}")
            }
            ProtocolError::FrameTooShort { len } => {
                write!(f, "frame of {len} bytes is shorter than its header")
            }
            ProtocolError::UnsupportedVersion { version } => {
                write!(
                    f,
                    "protocol version {version} is not supported (this side speaks {VERSION})"
                )
            }
            ProtocolError::UnknownKind { kind } => write!(f, "unknown frame kind {kind}"),
            ProtocolError::BadMetadata => f.write_str("malformed frame metadata"),
            ProtocolError::Unexpected { kind, state } => {
                write!(f, "{kind:?} frame is not allowed {state}")
            }
            ProtocolError::BadHandshake => f.write_str("malformed handshake"),
        }
    }
}

impl std::error::Error for ProtocolError {}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Decodes the first frame in `buf`: `Ok(None)` if more bytes are needed, else the frame
/// and how many bytes it took. The length prefix is checked against `max_frame` as soon as
/// its 4 bytes arrive, so an oversized frame is refused before anything is buffered for it.
pub fn decode(buf: &[u8], max_frame: usize) -> Result<Option<(Frame<'_>, usize)>, ProtocolError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32_at(buf, 0) as usize;
    if len > max_frame {
        return Err(ProtocolError::FrameTooLarge { len, max: max_frame });
    }
    if len < HEADER_LEN - 4 {
        return Err(ProtocolError::FrameTooShort { len });
    }
    // Version and kind are checked as soon as they arrive, not once the whole frame has:
    // bytes that are not Ferry at all (a TLS ClientHello, whose first four bytes read as a
    // 66 KB length) are refused at once instead of waited for.
    if let Some(&version) = buf.get(4) {
        if version != VERSION {
            return Err(ProtocolError::UnsupportedVersion { version });
        }
    }
    if let Some(&kind) = buf.get(5) {
        if Kind::from_u8(kind).is_none() {
            return Err(ProtocolError::UnknownKind { kind });
        }
    }
    if buf.len() < 4 + len {
        return Ok(None);
    }
    let b = &buf[..4 + len];
    let kind = Kind::from_u8(b[5]).ok_or(ProtocolError::UnknownKind { kind: b[5] })?;
    let header = Header {
        kind,
        flags: u16_at(b, 6),
        call_id: u64_at(b, 8),
        ack: u64_at(b, 16),
        method: u32_at(b, 24),
        deadline_us: u32_at(b, 28),
    };
    let meta_len = u16_at(b, 32) as usize;
    let rest = &b[HEADER_LEN..];
    if meta_len > rest.len() {
        return Err(ProtocolError::BadMetadata);
    }
    let (metadata, payload) = rest.split_at(meta_len);
    metadata::validate(metadata)?;
    Ok(Some((Frame { header, metadata, payload }, 4 + len)))
}

/// Appends a frame's header to `out` and returns a mark for [`finish`]. The caller then
/// appends the metadata (see [`metadata::push`]) and the payload directly, with no copy.
pub fn begin(out: &mut Vec<u8>, h: &Header) -> usize {
    let mark = out.len();
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(VERSION);
    out.push(h.kind as u8);
    out.extend_from_slice(&h.flags.to_le_bytes());
    out.extend_from_slice(&h.call_id.to_le_bytes());
    out.extend_from_slice(&h.ack.to_le_bytes());
    out.extend_from_slice(&h.method.to_le_bytes());
    out.extend_from_slice(&h.deadline_us.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    mark
}

/// Records the metadata length: call after pushing all metadata, before the payload.
pub fn end_metadata(out: &mut [u8], mark: usize) {
    let meta_len = out.len() - mark - HEADER_LEN;
    // Metadata beyond 64 KiB is refused when it is added (`metadata::push`).
    let meta_len = u16::try_from(meta_len).unwrap_or(u16::MAX);
    out[mark + 32..mark + 34].copy_from_slice(&meta_len.to_le_bytes());
}

/// Writes the length prefix of the frame started at `mark`.
pub fn finish(out: &mut [u8], mark: usize) {
    let len = (out.len() - mark - 4) as u32;
    out[mark..mark + 4].copy_from_slice(&len.to_le_bytes());
}

/// Appends a whole frame with no metadata.
pub fn push(out: &mut Vec<u8>, h: &Header, payload: &[u8]) {
    let mark = begin(out, h);
    out.extend_from_slice(payload);
    finish(out, mark);
}

/// Metadata: key/value pairs (`u8` key length, key, `u16` value length, value), at most
/// 64 KiB in all. Keys are ASCII; values are bytes.
pub mod metadata {
    use super::ProtocolError;

    /// Checks that `bytes` is a well-formed sequence of entries.
    pub fn validate(bytes: &[u8]) -> Result<(), ProtocolError> {
        iter(bytes).try_for_each(|e| e.map(drop))
    }

    /// Iterates the entries; a malformed tail yields one error.
    pub fn iter(mut bytes: &[u8]) -> impl Iterator<Item = Result<(&[u8], &[u8]), ProtocolError>> {
        std::iter::from_fn(move || {
            if bytes.is_empty() {
                return None;
            }
            let entry = (|| {
                let klen = *bytes.first()? as usize;
                let key = bytes.get(1..1 + klen)?;
                let vlen_at = 1 + klen;
                let vlen =
                    u16::from_le_bytes([*bytes.get(vlen_at)?, *bytes.get(vlen_at + 1)?]) as usize;
                let value = bytes.get(vlen_at + 2..vlen_at + 2 + vlen)?;
                Some((key, value, vlen_at + 2 + vlen))
            })();
            match entry {
                Some((k, v, used)) => {
                    bytes = &bytes[used..];
                    Some(Ok((k, v)))
                }
                None => {
                    bytes = &[];
                    Some(Err(ProtocolError::BadMetadata))
                }
            }
        })
    }

    /// Keys starting with this are Ferry's own; only those this version defines are sent.
    pub const RESERVED_PREFIX: &[u8] = b"ferry-";

    /// Acknowledges call ids above the header's `ack` one range at a time: its value is a
    /// sequence of `[start, end)` ranges, each two little-endian u64 (spec § 5).
    pub const ACK: &str = "ferry-ack";

    /// The ranges of a `ferry-ack` value; `None` if it is not a whole number of ascending,
    /// non-empty ranges.
    pub fn ack_ranges(value: &[u8]) -> Option<Vec<(u64, u64)>> {
        if value.len() % 16 != 0 {
            return None;
        }
        let ranges: Vec<(u64, u64)> =
            value.chunks_exact(16).map(|c| (super::u64_at(c, 0), super::u64_at(c, 8))).collect();
        let ascending = ranges.windows(2).all(|w| w[0].1 <= w[1].0);
        (ascending && ranges.iter().all(|(s, e)| s < e)).then_some(ranges)
    }

    /// Appends a `ferry-ack` entry for `ranges` (at most 4 095 of them fit).
    pub fn push_ack(out: &mut Vec<u8>, ranges: &[(u64, u64)]) {
        let ranges = &ranges[..ranges.len().min(4095)];
        out.push(ACK.len() as u8);
        out.extend_from_slice(ACK.as_bytes());
        out.extend_from_slice(&((ranges.len() * 16) as u16).to_le_bytes());
        for (start, end) in ranges {
            out.extend_from_slice(&start.to_le_bytes());
            out.extend_from_slice(&end.to_le_bytes());
        }
    }

    /// Why `key` cannot be a metadata key (spec/protocol.md § 1): 1–255 bytes of printable
    /// ASCII (`!` to `~`), not starting with `ferry-`.
    pub fn check_key(key: &[u8]) -> Result<(), String> {
        let shown = String::from_utf8_lossy(key);
        if key.is_empty() {
            return Err("a metadata key is empty (keys are 1-255 bytes)".into());
        }
        if key.len() > 255 {
            return Err(format!("metadata key `{shown}` is longer than 255 bytes"));
        }
        if let Some(at) = key.iter().position(|b| !(0x21..=0x7e).contains(b)) {
            return Err(format!(
                "metadata key `{}` has byte 0x{:02x} at {at}; keys are printable ASCII without spaces",
                shown.escape_debug(),
                key[at]
            ));
        }
        if key.starts_with(RESERVED_PREFIX) && key != ACK.as_bytes() {
            return Err(format!(
                "metadata key `{shown}` starts with `ferry-`, which is reserved (version 1 defines only `{ACK}`)"
            ));
        }
        Ok(())
    }

    /// Checks a whole metadata block as a server receives it: well-formed entries, each key
    /// valid, no key twice.
    pub fn check(bytes: &[u8]) -> Result<(), String> {
        for (i, entry) in iter(bytes).enumerate() {
            let (key, value) = entry.map_err(|e| e.to_string())?;
            check_key(key)?;
            if key == ACK.as_bytes() && ack_ranges(value).is_none() {
                return Err(format!(
                    "`{ACK}` is not a sequence of ascending [start, end) ranges of two u64 each"
                ));
            }
            // Entries are few: compare with the earlier ones in place, allocating nothing
            // per request.
            if iter(bytes).take(i).any(|earlier| earlier.is_ok_and(|(k, _)| k == key)) {
                let shown = String::from_utf8_lossy(key);
                return Err(format!("metadata key `{shown}` appears twice"));
            }
        }
        Ok(())
    }

    /// Appends one entry, or says why it cannot be sent (a bad key, a value over 65 535
    /// bytes); nothing is written then.
    pub fn push(out: &mut Vec<u8>, key: &str, value: &[u8]) -> Result<(), String> {
        check_key(key.as_bytes())?;
        if key.as_bytes().starts_with(RESERVED_PREFIX) {
            return Err(format!("metadata key `{key}` is Ferry's own; the runtime sends it"));
        }
        let Ok(vlen) = u16::try_from(value.len()) else {
            return Err(format!("the value of metadata key `{key}` is longer than 65535 bytes"));
        };
        out.push(key.len() as u8);
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&vlen.to_le_bytes());
        out.extend_from_slice(value);
        Ok(())
    }
}

/// Error codes carried by `Error` frames (spec/protocol.md § Errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum ErrorCode {
    /// The server's queue is full; the handler did not run. Safe to retry later.
    Overloaded = 1,
    /// The deadline passed before the handler started; it did not run.
    DeadlineExceeded = 2,
    /// No handler is registered for the method id; it did not run.
    UnknownMethod = 3,
    /// The peer broke the protocol; the connection closes.
    Protocol = 4,
    /// The call was cancelled before its handler started.
    Cancelled = 5,
    /// The server holds too many unacknowledged completion records for this client; the
    /// call was refused before running. Acknowledge earlier calls, then retry.
    TooManyOutstanding = 6,
    /// The server is shutting down and refused the call before running it.
    ShuttingDown = 7,
    /// The handler panicked or failed outside the application's error type: outcome of
    /// side effects unknown.
    Internal = 8,
    /// The request's arguments did not decode; the handler did not run. Not recorded: the
    /// same bytes sent again get the same answer.
    InvalidArguments = 9,
    /// The server's authorization refused the call (its peer identity, credentials or
    /// method); the handler did not run. Not recorded.
    PermissionDenied = 10,
}

impl ErrorCode {
    /// The highest code this version defines.
    pub const MAX: ErrorCode = ErrorCode::PermissionDenied;

    /// The code for a wire value, `None` for values this side does not know.
    pub fn from_u16(v: u16) -> Option<ErrorCode> {
        Some(match v {
            1 => ErrorCode::Overloaded,
            2 => ErrorCode::DeadlineExceeded,
            3 => ErrorCode::UnknownMethod,
            4 => ErrorCode::Protocol,
            5 => ErrorCode::Cancelled,
            6 => ErrorCode::TooManyOutstanding,
            7 => ErrorCode::ShuttingDown,
            8 => ErrorCode::Internal,
            9 => ErrorCode::InvalidArguments,
            10 => ErrorCode::PermissionDenied,
            _ => return None,
        })
    }

    /// Whether the handler certainly did not run (so any call may be retried).
    pub fn not_executed(self) -> bool {
        !matches!(self, ErrorCode::Internal | ErrorCode::Protocol)
    }
}

/// Payload of an `Error` frame: the code, then a UTF-8 message.
pub fn error_payload(code: ErrorCode, message: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(2 + message.len());
    p.extend_from_slice(&(code as u16).to_le_bytes());
    p.extend_from_slice(message.as_bytes());
    p
}

/// Parses an `Error` frame's payload.
pub fn parse_error(payload: &[u8]) -> (Option<ErrorCode>, String) {
    if payload.len() < 2 {
        return (None, String::new());
    }
    let code = ErrorCode::from_u16(u16_at(payload, 0));
    (code, String::from_utf8_lossy(&payload[2..]).into_owned())
}

/// `Hello` (client → server): the client's 128-bit id, the largest frame it accepts, and
/// the secret that proves the id is its own (a server honours an id only on connections
/// that present the secret it first saw with it: spec/protocol.md § 5, Identity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The client's 128-bit identity (random per client instance).
    pub client_id: u128,
    /// The largest frame the client accepts.
    pub max_frame: u32,
    /// Binds the client id to this client: records are found only with both.
    pub secret: u128,
}

/// `HelloAck` (server → client): the server's incarnation (new at every start), its frame
/// limit, and how many calls a client may have in flight / unacknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HelloAck {
    /// The server process's 128-bit incarnation (a restart changes it).
    pub incarnation: u128,
    /// The largest frame the server accepts.
    pub max_frame: u32,
    /// Calls the server runs at once per connection.
    pub max_in_flight: u32,
    /// Unacknowledged records the server keeps per client.
    pub max_records: u32,
}

impl Hello {
    /// The payload's size in bytes.
    pub const LEN: usize = 36;

    /// The payload bytes.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[..16].copy_from_slice(&self.client_id.to_le_bytes());
        b[16..20].copy_from_slice(&self.max_frame.to_le_bytes());
        b[20..].copy_from_slice(&self.secret.to_le_bytes());
        b
    }

    /// Parses a payload; a wrong size is `BadHandshake`.
    pub fn decode(p: &[u8]) -> Result<Hello, ProtocolError> {
        if p.len() != Self::LEN {
            return Err(ProtocolError::BadHandshake);
        }
        let u128_at = |at: usize| {
            let mut b = [0u8; 16];
            b.copy_from_slice(&p[at..at + 16]);
            u128::from_le_bytes(b)
        };
        Ok(Hello { client_id: u128_at(0), max_frame: u32_at(p, 16), secret: u128_at(20) })
    }
}

impl HelloAck {
    /// The payload bytes.
    pub fn encode(&self) -> [u8; 28] {
        let mut b = [0u8; 28];
        b[..16].copy_from_slice(&self.incarnation.to_le_bytes());
        b[16..20].copy_from_slice(&self.max_frame.to_le_bytes());
        b[20..24].copy_from_slice(&self.max_in_flight.to_le_bytes());
        b[24..].copy_from_slice(&self.max_records.to_le_bytes());
        b
    }

    /// Parses a payload; a wrong size is `BadHandshake`.
    pub fn decode(p: &[u8]) -> Result<HelloAck, ProtocolError> {
        if p.len() != 28 {
            return Err(ProtocolError::BadHandshake);
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&p[..16]);
        Ok(HelloAck {
            incarnation: u128::from_le_bytes(id),
            max_frame: u32_at(p, 16),
            max_in_flight: u32_at(p, 20),
            max_records: u32_at(p, 24),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            kind: Kind::Request,
            flags: FLAG_IDEMPOTENT,
            call_id: 7,
            ack: 3,
            method: 42,
            deadline_us: 250_000,
        }
    }

    #[test]
    fn frames_round_trip_with_metadata_and_payload() {
        let mut out = Vec::new();
        let mark = begin(&mut out, &sample());
        assert_eq!(metadata::push(&mut out, "trace", b"abc"), Ok(()));
        // Keys a server would refuse are refused here, unwritten.
        let before = out.len();
        for bad in ["", "has space", "ferry-x", "caf\u{e9}"] {
            assert!(metadata::push(&mut out, bad, b"v").is_err(), "{bad:?}");
        }
        assert!(metadata::push(&mut out, "big", &vec![0; 65_536]).is_err());
        assert_eq!(out.len(), before);
        end_metadata(&mut out, mark);
        out.extend_from_slice(b"payload");
        finish(&mut out, mark);
        let (frame, used) = decode(&out, 1024).unwrap().unwrap();
        assert_eq!(used, out.len());
        assert_eq!(frame.header, sample());
        assert_eq!(frame.payload, b"payload");
        let entries: Vec<_> = metadata::iter(frame.metadata).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries, vec![(&b"trace"[..], &b"abc"[..])]);
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let mut out = Vec::new();
        push(&mut out, &sample(), b"xyz");
        for cut in 0..out.len() {
            assert_eq!(decode(&out[..cut], 1024), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn oversized_frames_are_refused_from_the_length_alone() {
        let huge = (1u32 << 30).to_le_bytes();
        assert_eq!(
            decode(&huge, 1 << 20),
            Err(ProtocolError::FrameTooLarge { len: 1 << 30, max: 1 << 20 })
        );
    }

    #[test]
    fn malformed_frames_are_errors() {
        let mut out = Vec::new();
        push(&mut out, &sample(), b"");
        let mut bad = out.clone();
        bad[4] = 9;
        assert_eq!(decode(&bad, 1024), Err(ProtocolError::UnsupportedVersion { version: 9 }));
        let mut bad = out.clone();
        bad[5] = 77;
        assert_eq!(decode(&bad, 1024), Err(ProtocolError::UnknownKind { kind: 77 }));
        let mut bad = out.clone();
        bad[32] = 200;
        assert_eq!(decode(&bad, 1024), Err(ProtocolError::BadMetadata));
        assert_eq!(
            decode(&[3, 0, 0, 0, 1, 1, 0], 1024),
            Err(ProtocolError::FrameTooShort { len: 3 })
        );
    }

    #[test]
    fn handshakes_round_trip() {
        let h = Hello { client_id: u128::MAX - 5, max_frame: 1 << 20, secret: 7 << 70 };
        assert_eq!(Hello::decode(&h.encode()), Ok(h));
        let a = HelloAck { incarnation: 99, max_frame: 4096, max_in_flight: 64, max_records: 1024 };
        assert_eq!(HelloAck::decode(&a.encode()), Ok(a));
        assert_eq!(Hello::decode(&[1, 2]), Err(ProtocolError::BadHandshake));
    }

    #[test]
    fn bytes_that_are_not_ferry_are_refused_before_the_frame_completes() {
        // A TLS 1.3 ClientHello's record header: its first four bytes read as a 66 KB
        // length, within the limit; its fifth happens to be 1; the sixth is no kind.
        let client_hello = [0x16, 0x03, 0x01, 0x00, 0xf8, 0x01, 0x00, 0x00, 0xf4];
        let mut bytes = client_hello.to_vec();
        bytes[4] = 0x01;
        bytes[5] = 0x00;
        assert!(matches!(decode(&bytes, 8 << 20), Err(ProtocolError::UnknownKind { kind: 0 })));
        let mut wrong_version = [0u8; 5];
        wrong_version[..4].copy_from_slice(&100u32.to_le_bytes());
        wrong_version[4] = 9;
        assert!(matches!(
            decode(&wrong_version, 1024),
            Err(ProtocolError::UnsupportedVersion { version: 9 })
        ));
        // A valid start still waits for the rest.
        let mut out = Vec::new();
        push(&mut out, &sample(), b"payload");
        assert!(matches!(decode(&out[..10], 1024), Ok(None)));
    }
}
