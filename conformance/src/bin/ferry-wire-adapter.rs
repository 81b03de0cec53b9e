//! The conformance protocol (spec/conformance.md) over `ferry-wire` and the Rust code idlc
//! generates: each request line `<schema> <max_depth> <max_message_size> <hex>` is decoded
//! with strict validation and answered `ok <hex of the re-encoding>` or
//! `err <code> <offset>`. Schema `dynamic` uses the schema-less walker (and answers with the
//! input, which it re-encodes byte for byte).
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};

use ferry_conformance::schema::vectors::*;
use ferry_conformance::Answer;
use ferry_runtime::wire::{dynamic, DecodeError, DecodeOptions, Encode, Message, Validation};

fn round_trip<M: Message>(bytes: &[u8], options: &DecodeOptions) -> Result<Vec<u8>, DecodeError> {
    Ok(M::decode_with(bytes, options)?.encode_to_vec())
}

fn answer(schema: &str, bytes: &[u8], options: &DecodeOptions) -> Answer {
    let result = match schema {
        "AllTypes" => round_trip::<AllTypes>(bytes, options),
        "Required" => round_trip::<Required>(bytes, options),
        "Node" => round_trip::<Node>(bytes, options),
        "Point" => round_trip::<Point>(bytes, options),
        "PersonV1" => round_trip::<PersonV1>(bytes, options),
        "PersonV2" => round_trip::<PersonV2>(bytes, options),
        "Legacy" => round_trip::<Legacy>(bytes, options),
        "Order" => round_trip::<Order>(bytes, options),
        "Shape" => round_trip::<Shape>(bytes, options),
        "dynamic" => dynamic::decode(bytes, options).map(|m| m.encode_to_vec()),
        other => {
            // spec/conformance.md § 2: exactly this answer (not a code made from the name).
            let _ = other;
            return Answer::Failed { code: "unknown_schema".to_owned(), offset: 0 };
        }
    };
    match result {
        Ok(b) => Answer::Decoded(b),
        Err(e) => Answer::Failed { code: e.kind().code().to_owned(), offset: e.offset() },
    }
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let a = match ferry_vectors::parse_request(&line) {
            Ok((schema, limits, bytes)) => {
                let options = DecodeOptions {
                    max_depth: u16::try_from(limits.max_depth).unwrap_or(u16::MAX),
                    max_message_size: usize::try_from(limits.max_message_size)
                        .unwrap_or(usize::MAX),
                    validation: Validation::Strict,
                };
                answer(&schema, &bytes, &options)
            }
            Err(_) => Answer::Failed { code: "bad_request".into(), offset: 0 },
        };
        if writeln!(out, "{a}").and_then(|()| out.flush()).is_err() {
            break;
        }
    }
}
