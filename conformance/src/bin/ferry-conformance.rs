//! `ferry-conformance`: checks an implementation of Ferry's wire format against the test
//! vectors (spec/conformance.md).
//!
//! ```text
//! ferry-conformance [--vectors DIR] -- COMMAND [ARGS...]
//! ferry-conformance [--vectors DIR] --mutants N [--seed S] -- COMMAND... --versus COMMAND...
//! ```
//!
//! The first form sends every vector to COMMAND and reports each one it gets wrong. The
//! second sends N mutants of the vectors, under every schema, to two implementations and
//! reports every input on which their verdicts (ok, or error code and offset) differ.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use ferry_conformance::{check, run_implementation, verdict};
use ferry_vectors::{mutant_limits, mutants, request};

const USAGE: &str = "usage: ferry-conformance [--vectors DIR] -- COMMAND [ARGS...]\n       \
ferry-conformance [--vectors DIR] --mutants N [--seed S] -- COMMAND... --versus COMMAND...";

struct Args {
    vectors: PathBuf,
    mutants: Option<usize>,
    seed: u64,
    command: Vec<String>,
    versus: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        vectors: ferry_vectors::spec_dir(),
        mutants: None,
        seed: 1,
        command: Vec::new(),
        versus: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |what: &str| it.next().ok_or(format!("{a} needs {what}"));
        match a.as_str() {
            "--vectors" => args.vectors = PathBuf::from(value("a folder")?),
            "--mutants" => {
                args.mutants = Some(value("a count")?.parse().map_err(|_| "--mutants: a count")?)
            }
            "--seed" => args.seed = value("a number")?.parse().map_err(|_| "--seed: a number")?,
            "--" => break,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    let rest: Vec<String> = it.collect();
    match rest.iter().position(|a| a == "--versus") {
        Some(i) => {
            args.command = rest[..i].to_vec();
            args.versus = rest[i + 1..].to_vec();
        }
        None => args.command = rest,
    }
    if args.command.is_empty() {
        return Err("no implementation command after `--`".into());
    }
    if args.mutants.is_some() == args.versus.is_empty() {
        return Err("--mutants compares two implementations: COMMAND... --versus COMMAND...".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("ferry-conformance: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let cases = match ferry_vectors::load(&args.vectors) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ferry-conformance: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match args.mutants {
        None => vectors(&args, &cases),
        Some(n) => differential(&args, &cases, n),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ferry-conformance: {e}");
            ExitCode::from(2)
        }
    }
}

fn vectors(args: &Args, cases: &[ferry_vectors::Case]) -> Result<bool, String> {
    let failures = check(&args.command, cases)?;
    for f in &failures {
        println!("FAIL {}: expected `{}`, got `{}`", f.name, f.expected, f.got);
    }
    println!("{} of {} vectors pass", cases.len() - failures.len(), cases.len());
    Ok(failures.is_empty())
}

fn differential(args: &Args, cases: &[ferry_vectors::Case], n: usize) -> Result<bool, String> {
    let seeds: Vec<Vec<u8>> = cases.iter().map(|c| c.bytes.clone()).collect();
    let mut schemas: Vec<&str> = cases.iter().map(|c| c.schema.as_str()).collect();
    schemas.sort_unstable();
    schemas.dedup();
    let inputs = mutants(&seeds, n, args.seed);
    let requests: Vec<String> = inputs
        .iter()
        .enumerate()
        .map(|(i, bytes)| request(schemas[i % schemas.len()], mutant_limits(i, args.seed), bytes))
        .collect();
    let a = run_implementation(&args.command, &requests)?;
    let b = run_implementation(&args.versus, &requests)?;
    let mut differ = 0;
    for ((r, a), b) in requests.iter().zip(&a).zip(&b) {
        if verdict(a) != verdict(b) {
            differ += 1;
            if differ <= 50 {
                println!("DIFFER `{r}`: `{}` vs `{}`", verdict(a), verdict(b));
            }
        }
    }
    println!("{} inputs, {differ} verdicts differ", requests.len());
    Ok(differ == 0)
}
