//! The runtime's frame decoder fed arbitrary bytes in arbitrary chunk sizes (as reads
//! deliver them), and the at-most-once record store driven by decoded requests.
#![no_main]
use std::time::{Duration, Instant};

use ferry_runtime::protocol::{self, Kind};
use ferry_runtime::records::{self, Begin, Fingerprint, RecordStore, StoredReply, Waiter};
use libfuzzer_sys::fuzz_target;

const MAX_FRAME: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, data)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let mut buf = Vec::new();
    let mut store = RecordStore::new(8, Duration::from_secs(60));
    let now = Instant::now();
    'outer: for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match protocol::decode(&buf, MAX_FRAME) {
                Ok(Some((frame, used))) => {
                    assert!(used <= buf.len() && used <= MAX_FRAME + 4);
                    let h = frame.header;
                    for entry in protocol::metadata::iter(frame.metadata) {
                        assert!(entry.is_ok(), "validated metadata iterates cleanly");
                    }
                    if h.kind == Kind::Request {
                        let client = u128::from(h.method);
                        store.claim(client, now);
                        let attempt = protocol::attempt_of(h.flags);
                        let w = Waiter { connection: 1, call_id: h.call_id, attempt };
                        let fingerprint = Fingerprint {
                            method: h.method,
                            digest: records::digest(frame.payload),
                        };
                        match store.begin(client, h.call_id, h.ack, fingerprint, w, now) {
                            Begin::Execute => {
                                let waiters = store.complete(
                                    client,
                                    h.call_id,
                                    StoredReply {
                                        kind: Kind::Response,
                                        payload: frame.payload.into(),
                                    },
                                );
                                assert!(waiters.contains(&w));
                            }
                            Begin::Replay(r) => assert_eq!(r.kind, Kind::Response),
                            Begin::Joined
                            | Begin::Stale
                            | Begin::Mismatch
                            | Begin::TooManyOutstanding { .. } => {}
                        }
                    }
                    let _ = protocol::Hello::decode(frame.payload);
                    let _ = protocol::HelloAck::decode(frame.payload);
                    let _ = protocol::parse_error(frame.payload);
                    buf.drain(..used);
                }
                Ok(None) => {
                    // Never buffer more than one maximal frame waiting for its end.
                    assert!(buf.len() < MAX_FRAME + 4 + chunk);
                    break;
                }
                Err(_) => break 'outer,
            }
        }
    }
});
