//! `idlc compat`: each folder of `data/compat/` holds `old.thrift` and `new.thrift`; the
//! findings at `--level source` (which includes `wire`) match `expected.txt` beside them
//! (`UPDATE_EXPECT=1 cargo test -p ferry-idlc --test compat` rewrites them), and the CLI's
//! exit status and `--against` (git) work.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::path::{Path, PathBuf};
use std::process::Command;

use ferry_idlc::compat::Level;

fn report(dir: &Path, level: Level, allow: &[String]) -> ferry_idlc::CompatReport {
    let old = ferry_idlc::compile(&[dir.join("old.thrift")], &[]).unwrap();
    let new = ferry_idlc::compile(&[dir.join("new.thrift")], &[]).unwrap();
    assert_eq!(
        old.error_count() + new.error_count(),
        0,
        "{}{}",
        old.render_plain(),
        new.render_plain()
    );
    ferry_idlc::CompatReport::new(old, new, level, allow).unwrap()
}

#[test]
fn every_rule_matches_its_snapshot() {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir("tests/data/compat").unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    assert!(dirs.len() >= 5);
    let mut codes = std::collections::BTreeSet::new();
    for dir in dirs {
        let r = report(&dir, Level::Source, &[]);
        codes.extend(r.findings.iter().map(|f| f.code));
        expect_test::expect_file![std::env::current_dir().unwrap().join(dir.join("expected.txt"))]
            .assert_eq(&r.render_plain());
    }
    // Every rule of spec/idl.md § 8 has a case.
    for code in [
        "C0101", "C0102", "C0103", "C0104", "C0105", "C0106", "C0107", "C0108", "C0109", "C0110",
        "C0112", "C0201", "C0202", "C0203", "C0204", "C0205",
    ] {
        assert!(codes.contains(code), "no compat case reports {code}");
    }
}

#[test]
fn wire_level_leaves_out_source_breaks_and_allow_removes_codes() {
    let dir = Path::new("tests/data/compat/source_breaks");
    assert!(report(dir, Level::Wire, &[]).findings.is_empty(), "renames are wire-compatible");
    let all = report(Path::new("tests/data/compat/wire_breaks"), Level::Wire, &[]).findings;
    assert!(all.iter().all(|f| f.level == Level::Wire));
    let fewer =
        report(Path::new("tests/data/compat/wire_breaks"), Level::Wire, &["C0101".into()]).findings;
    assert_eq!(fewer.len(), all.len() - all.iter().filter(|f| f.code == "C0101").count());
    assert!(fewer.len() < all.len());
}

#[test]
fn the_command_line_exits_by_verdict() {
    let idlc = env!("CARGO_BIN_EXE_idlc");
    let run = |args: &[&str]| Command::new(idlc).args(args).output().unwrap();
    let d = "tests/data/compat";
    let ok = run(&[
        "compat",
        &format!("{d}/compatible/old.thrift"),
        &format!("{d}/compatible/new.thrift"),
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let bad = run(&[
        "compat",
        &format!("{d}/wire_breaks/old.thrift"),
        &format!("{d}/wire_breaks/new.thrift"),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("error[C0104]"));
    let usage = run(&["compat", "only-one.thrift"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("give two files"));
}

#[test]
fn against_a_git_revision() {
    // A scratch repository: commit OLD, then write NEW over it and compare with HEAD.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compat-git");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("idl")).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"]);
    std::fs::write(dir.join("idl/common.thrift"), "struct Id { 1: i64 v }\n").unwrap();
    std::fs::write(
        dir.join("idl/api.thrift"),
        "include \"common.thrift\"\nservice Api { common.Id next() }\n",
    )
    .unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "v1"]);
    // The included file changes the id's type: found through the include, in both trees.
    std::fs::write(dir.join("idl/common.thrift"), "struct Id { 1: string v }\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_idlc"))
        .args(["compat", "--against", "HEAD", "idl/api.thrift"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "error[C0101]: field 1 `v` of struct `Id` changed type from `i64` to `string`"
        ),
        "{text}"
    );
    assert!(text.contains("common.thrift (OLD)") && text.contains("common.thrift (NEW)"), "{text}");
    // Unchanged against the working tree once restored.
    std::fs::write(dir.join("idl/common.thrift"), "struct Id { 1: i64 v }\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_idlc"))
        .args(["compat", "--against", "HEAD", "idl/api.thrift"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}
