//! Runs Ferry's wire test vectors (spec/vectors) against an implementation that speaks the
//! conformance line protocol on stdin/stdout (spec/conformance.md), and compares two
//! implementations on mutated inputs.
//!
//! Two implementations of the protocol ship here: `ferry-wire-adapter` (the Rust decoders
//! idlc generates, strict validation) and `c/adapter.c` (the C decoders of `ferry_wire.h`
//! and idlc's C headers).
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

pub use ferry_vectors::{Answer, Case, Expect, Limits};

/// The Rust types generated for spec/vectors/schema.thrift.
pub mod schema {
    ferry_runtime::include_idl!("schema");
}

/// Sends every request line to `command` (one process for all of them) and returns its
/// answer lines, parsed. The requests are written from a second thread: an implementation
/// answers as it reads, and with both pipes full neither side would move.
pub fn run_implementation(command: &[String], requests: &[String]) -> Result<Vec<Answer>, String> {
    let (program, args) = command.split_first().ok_or("no implementation command given")?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut answers = Vec::with_capacity(requests.len());
    let mut problem = None;
    for (n, line) in BufReader::new(stdout).lines().enumerate() {
        let line = line.map_err(|e| format!("reading answers: {e}"))?;
        match ferry_vectors::parse_answer(&line) {
            Ok(a) => answers.push(a),
            Err(e) => {
                problem.get_or_insert(format!("answer {}: {}", n + 1, e.message));
            }
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for `{program}`: {e}"))?;
    // A broken pipe here only means the implementation stopped early; that is reported below.
    let _ = writer.join();
    if let Some(p) = problem {
        return Err(p);
    }
    if !status.success() {
        return Err(format!("`{program}` exited with {status} after {} answers", answers.len()));
    }
    if answers.len() != requests.len() {
        return Err(format!("{} answers to {} requests", answers.len(), requests.len()));
    }
    Ok(answers)
}

/// One vector an implementation got wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The vector.
    pub name: String,
    /// What the spec requires.
    pub expected: Answer,
    /// What the implementation answered.
    pub got: Answer,
}

/// Runs `cases` against `command`; the failures, in vector order.
pub fn check(command: &[String], cases: &[Case]) -> Result<Vec<Failure>, String> {
    let requests: Vec<String> = cases.iter().map(Case::request).collect();
    let answers = run_implementation(command, &requests)?;
    Ok(cases
        .iter()
        .zip(answers)
        .filter_map(|(case, got)| {
            let expected = case.expected_answer();
            (!case.passes(&got)).then(|| Failure { name: case.name.clone(), expected, got })
        })
        .collect())
}

/// The verdict part of an answer: `ok` or `err <code> <offset>` (re-encodings of inputs that
/// are accepted but not canonical may differ between implementations: spec/wire.md § 6).
pub fn verdict(answer: &Answer) -> String {
    match answer {
        Answer::Decoded(_) => "ok".into(),
        failed => failed.to_string(),
    }
}

/// Is `code` an error every reader finds, with or without the schema (spec/wire.md § 9:
/// the framing errors), as opposed to one only a reader with the schema can find?
pub fn is_framing_error(code: &str) -> bool {
    matches!(
        code,
        "truncated"
            | "varint_overflow"
            | "varint_not_minimal"
            | "unknown_wire_type"
            | "field_id_out_of_range"
            | "count_not_minimal"
            | "count_exceeds_remaining"
            | "depth_limit_exceeded"
            | "message_too_large"
    )
}
