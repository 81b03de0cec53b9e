//! The `idlc` binary: exit codes, streams and colour choice.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::process::Command;

fn idlc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_idlc")).args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn valid_files_exit_zero_and_print_nothing() {
    let (code, stdout, stderr) =
        idlc(&["check", "-I", "tests/data/ok/include", "tests/data/ok/calculator.thrift"]);
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));
}

#[test]
fn warnings_alone_exit_zero() {
    let (code, _, stderr) = idlc(&["check", "tests/data/ok/deprecated.thrift"]);
    assert_eq!(code, 0);
    assert!(stderr.contains("warning[W0007]"), "{stderr}");
}

#[test]
fn errors_exit_one_with_diagnostics_on_stderr() {
    let (code, stdout, stderr) =
        idlc(&["check", "--color", "never", "tests/data/err/unknown_type.thrift"]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.contains("error[E0201]: unknown type `strng`"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colour when asked for none");
}

#[test]
fn colour_is_used_when_forced() {
    let (_, _, stderr) =
        idlc(&["check", "--color", "always", "tests/data/err/unknown_type.thrift"]);
    assert!(stderr.contains('\u{1b}'));
}

#[test]
fn missing_files_and_bad_usage_exit_two() {
    let (code, _, stderr) = idlc(&["check", "tests/data/no_such_file.thrift"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read `tests/data/no_such_file.thrift`"), "{stderr}");
    assert_eq!(idlc(&["check"]).0, 2);
    assert_eq!(idlc(&["frobnicate"]).0, 2);
}

#[test]
fn help_explains_the_commands() {
    let (code, stdout, _) = idlc(&["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("check") && stdout.contains("Exit status"), "{stdout}");
    let (_, stdout, _) = idlc(&["check", "--help"]);
    assert!(stdout.contains("-I, --include-dir <DIR>"), "{stdout}");
}
