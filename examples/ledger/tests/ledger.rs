//! The ledger example runs and prints what its main checks.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

#[test]
fn the_ledger_example_runs() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ledger")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("bob's balance: 2190"), "{stdout}");
    assert!(stdout.contains("refused: "), "{stdout}");
    assert_eq!(stdout.matches("audit: alice -> bob").count(), 20, "{stdout}");
}
