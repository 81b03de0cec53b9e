//! Data-driven tests: every `data/ok/*.thrift` checks without errors; every
//! `data/err/*.thrift` reports at least one error and every `data/warn/*.thrift` warnings
//! but no error, and their rendered diagnostics match the `.stderr` snapshot beside them (`UPDATE_EXPECT=1 cargo test -p ferry-idlc --test data`
//! rewrites the snapshots after a deliberate change).
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::path::{Path, PathBuf};

fn thrift_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "thrift"))
        .collect();
    files.sort();
    files
}

fn include_dirs() -> Vec<PathBuf> {
    vec![PathBuf::from("tests/data/ok/include")]
}

#[test]
fn ok_corpus_checks_without_errors() {
    let files = thrift_files("tests/data/ok");
    assert!(files.len() >= 5);
    for file in files {
        let c = ferry_idlc::compile(std::slice::from_ref(&file), &include_dirs()).unwrap();
        assert_eq!(c.error_count(), 0, "{}:\n{}", file.display(), c.render_plain());
        assert!(c.model().is_some(), "{}: no model", file.display());
    }
}

#[test]
fn err_corpus_matches_snapshots() {
    check_snapshots("tests/data/err", 40, |c, file| {
        assert!(c.error_count() > 0, "{} reports no error", file.display());
        assert!(c.model().is_none());
    });
}

/// Accepted constructs that deserve a warning (deprecated or dialect syntax, fragile types):
/// never an error, always a model, and the exact warning text.
#[test]
fn warn_corpus_is_accepted_with_snapshot_warnings() {
    check_snapshots("tests/data/warn", 5, |c, file| {
        assert_eq!(c.error_count(), 0, "{}:\n{}", file.display(), c.render_plain());
        assert!(c.model().is_some(), "{}: no model", file.display());
        assert!(!c.render_plain().is_empty(), "{} warns of nothing", file.display());
    });
}

fn check_snapshots(dir: &str, at_least: usize, verdict: impl Fn(&ferry_idlc::Compilation, &Path)) {
    let files = thrift_files(dir);
    assert!(files.len() >= at_least, "only {} cases in {dir}", files.len());
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut mismatches = Vec::new();
    for file in files {
        let c = ferry_idlc::compile(std::slice::from_ref(&file), &include_dirs()).unwrap();
        verdict(&c, &file);
        let rendered = c.render_plain();
        let snapshot = file.with_extension("stderr");
        if update {
            std::fs::write(&snapshot, &rendered).unwrap();
        } else if std::fs::read_to_string(&snapshot).unwrap_or_default() != rendered {
            mismatches.push(format!("--- {}\n{rendered}", snapshot.display()));
        }
    }
    assert!(
        mismatches.is_empty(),
        "diagnostics changed (UPDATE_EXPECT=1 to accept):\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn one_run_reports_every_syntax_error() {
    let c = ferry_idlc::compile(&[PathBuf::from("tests/data/err/many_syntax_errors.thrift")], &[])
        .unwrap();
    assert!(c.error_count() >= 6, "{}", c.render_plain());
}

#[test]
fn the_model_resolves_names_across_includes() {
    let c =
        ferry_idlc::compile(&[PathBuf::from("tests/data/ok/calculator.thrift")], &include_dirs())
            .unwrap();
    let program = c.model().unwrap();
    let root = &program.files[program.roots[0]];
    let calculator = root.definitions.iter().find(|d| d.name == "Calculator").unwrap();
    let ferry_idlc::model::DefinitionKind::Service { extends, methods } = &calculator.kind else {
        panic!("not a service")
    };
    assert_eq!(program.definition(extends.unwrap()).name, "BaseService");
    let add = methods.iter().find(|m| m.name == "add").unwrap();
    assert_eq!((add.timeout_ms, add.idempotent), (Some(250), true));
    let work = root.definitions.iter().find(|d| d.name == "Work").unwrap();
    let ferry_idlc::model::DefinitionKind::Struct { fields, .. } = &work.kind else { panic!() };
    assert!(matches!(
        fields[4].default,
        Some(ferry_idlc::model::Value::Const(r)) if program.definition(r).name == "DEFAULT_REGION"
    ));
    assert_eq!(Path::new(&program.files[1].path).file_name().unwrap(), "base.thrift");
}
