//! The vectors of spec/vectors against both implementations of the conformance protocol
//! (the Rust adapter and the C adapter), the runner's own verdicts, and the differential
//! test on mutated inputs: the Rust decoders in strict mode, the C decoders and the
//! schema-less walker agree on every input, as spec/wire.md § 9 says they must.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ferry_conformance::{check, is_framing_error, run_implementation, verdict, Answer};
use ferry_vectors::{mutant_limits, mutants, request, spec_dir, Case};

fn rust_adapter() -> Vec<String> {
    vec![env!("CARGO_BIN_EXE_ferry-wire-adapter").to_owned()]
}

/// The C adapter, built once per test binary, under AddressSanitizer and UBSan: an
/// out-of-bounds read or an overflow in the C decoder aborts it and fails the test.
fn c_adapter() -> Vec<String> {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    let exe = EXE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-adapter");
        std::fs::create_dir_all(&out).unwrap();
        ferry_idlc::Builder::new()
            .language(ferry_idlc::Language::C)
            .out_dir(&out)
            .quiet()
            .file(root.join("../spec/vectors/schema.thrift"))
            .compile()
            .unwrap();
        let exe = out.join("adapter");
        let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args(["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror"])
            .args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
            .arg("-I")
            .arg(root.join("../capi/include"))
            .arg("-I")
            .arg(&out)
            .arg(root.join("c/adapter.c"))
            .arg("-o")
            .arg(&exe)
            .status()
            .expect("a C compiler (cc)");
        assert!(status.success(), "compiling c/adapter.c");
        exe
    });
    vec![exe.to_string_lossy().into_owned()]
}

fn cases() -> Vec<Case> {
    ferry_vectors::load(&spec_dir()).unwrap()
}

fn assert_passes(command: &[String], who: &str) {
    let cases = cases();
    assert!(cases.len() > 70, "the vector files are read");
    let failures = check(command, &cases).unwrap();
    let report: Vec<String> = failures
        .iter()
        .map(|f| format!("{}: expected `{}`, got `{}`", f.name, f.expected, f.got))
        .collect();
    assert!(
        report.is_empty(),
        "{who}: {} of {} vectors fail:\n{}",
        report.len(),
        cases.len(),
        report.join("\n")
    );
}

#[test]
fn the_rust_decoders_pass_every_vector() {
    assert_passes(&rust_adapter(), "Rust");
}

#[test]
fn the_c_decoders_pass_every_vector() {
    assert_passes(&c_adapter(), "C");
}

#[test]
fn the_runner_reports_a_wrong_implementation() {
    let runner = env!("CARGO_BIN_EXE_ferry-conformance");
    // Answers `ok` to everything: every invalid vector (and every valid one with bytes) fails.
    let out = Command::new(runner).args(["--", "sed", "-u", "s/.*/ok/"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "FAIL count_exceeds_remaining: expected `err count_exceeds_remaining 2`, got `ok`"
        ),
        "{text}"
    );
    // A correct implementation passes.
    let out = Command::new(runner).arg("--").args(rust_adapter()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("{0} of {0} vectors pass", cases().len())), "{text}");
    // An implementation that stops answering is an error, not a pass.
    let out = Command::new(runner).args(["--", "head", "-n", "3"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Every vector's bytes, mutated, under every schema (and `dynamic`).
fn mutated_requests(count: usize, seed: u64) -> Vec<(String, String)> {
    let cases = cases();
    let seeds: Vec<Vec<u8>> = cases.iter().map(|c| c.bytes.clone()).collect();
    let schemas = [
        "AllTypes", "Required", "Node", "Point", "PersonV1", "PersonV2", "Legacy", "Order", "Shape",
    ];
    mutants(&seeds, count, seed)
        .iter()
        .enumerate()
        .flat_map(|(i, bytes)| {
            let schema = schemas[i % schemas.len()];
            [
                (schema.to_owned(), request(schema, mutant_limits(i, seed), bytes)),
                ("dynamic".to_owned(), request("dynamic", mutant_limits(i, seed), bytes)),
            ]
        })
        .collect()
}

#[test]
fn rust_c_and_the_walker_agree_on_mutated_inputs() {
    let requests = mutated_requests(12_000, 0x9e37_79b9_7f4a_7c15);
    let lines: Vec<String> = requests.iter().map(|(_, r)| r.clone()).collect();
    let rust = run_implementation(&rust_adapter(), &lines).unwrap();
    let c = run_implementation(&c_adapter(), &lines).unwrap();
    let mut differ = Vec::new();
    for (((_, r), a), b) in requests.iter().zip(&rust).zip(&c) {
        if verdict(a) != verdict(b) {
            differ.push(format!("`{r}`: Rust `{}`, C `{}`", verdict(a), verdict(b)));
        }
    }
    let failed = rust.iter().filter(|a| matches!(a, Answer::Failed { .. })).count();
    assert!(
        failed > lines.len() / 4 && failed < lines.len() * 19 / 20,
        "valid and invalid inputs mix ({failed} of {})",
        lines.len()
    );
    assert!(
        differ.is_empty(),
        "{} of {} verdicts differ:\n{}",
        differ.len(),
        lines.len(),
        differ[..differ.len().min(30)].join("\n")
    );

    // The walker against the typed decoders (spec/wire.md § 9): a framing error the typed
    // decoder reports, the walker reports too; the walker's error is the typed decoder's,
    // or the typed decoder stopped earlier at an error only the schema shows.
    let mut broken = Vec::new();
    for pair in requests.chunks(2).zip(rust.chunks(2)) {
        let ([(_, typed_request), _], [typed, walker]) = (pair.0, pair.1) else { continue };
        let fine = match (typed, walker) {
            (Answer::Decoded(_), w) => matches!(w, Answer::Decoded(_)),
            (Answer::Failed { code, offset }, w) if is_framing_error(code) => {
                w == &Answer::Failed { code: code.clone(), offset: *offset }
            }
            (Answer::Failed { offset, .. }, Answer::Failed { code: wc, offset: wo }) => {
                is_framing_error(wc) && offset <= wo
            }
            (Answer::Failed { .. }, Answer::Decoded(_)) => true,
        };
        if !fine {
            broken.push(format!("`{typed_request}`: typed `{typed}`, walker `{walker}`"));
        }
    }
    assert!(
        broken.is_empty(),
        "{} walker disagreements:\n{}",
        broken.len(),
        broken[..broken.len().min(30)].join("\n")
    );
}

#[test]
fn an_unknown_schema_is_answered_as_the_protocol_says_by_both_adapters() {
    let requests = vec!["NoSuchSchema 64 16777216 08 01".to_owned()];
    for (who, adapter) in [("Rust", rust_adapter()), ("C", c_adapter())] {
        let answers = ferry_conformance::run_implementation(&adapter, &requests).unwrap();
        assert_eq!(ferry_conformance::verdict(&answers[0]), "err unknown_schema 0", "{who}");
    }
}
