//! `ferry-idlc`: Ferry's IDL compiler.
//!
//! Pipeline: text → tokens (`syntax::lexer`) → syntax tree (`syntax::parser`, which never
//! gives up) → includes loaded (`sources`) → names resolved and checked (`check`) →
//! [`model::Program`], the only thing back ends see. Every stage records problems as data
//! (`diagnostics::Problem`); [`Compilation::render`] turns them into codespan diagnostics.
//!
//! From a build script, [`Builder`] does all of it and writes the generated code to
//! `OUT_DIR`. As a library:
//!
//! ```
//! use std::path::Path;
//!
//! let c = ferry_idlc::compile_text(Path::new("demo.thrift"), "struct P { 1: i32 x; 2: strng s }", &[]);
//! assert_eq!(c.error_count(), 1);
//! let text = c.render_plain();
//! assert!(text.contains("error[E0"), "{text}");
//! assert!(text.contains("did you mean `string`?"), "{text}");
//!
//! let ok = ferry_idlc::compile_text(Path::new("demo.thrift"), "struct P { 1: i32 x }", &[]);
//! let program = ok.model().expect("no errors");
//! assert_eq!(program.files[0].definitions[0].name, "P");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod build;
pub mod c;
/// Name resolution and semantic checks (internal: public for benches and tools).
#[doc(hidden)]
pub mod check;
pub mod compat;
pub mod diagnostics;
pub mod model;
pub mod rust;
pub mod sources;
mod span;
/// Lexer, syntax tree and parser (internal: public for benches, fuzzers and tools).
#[doc(hidden)]
pub mod syntax;

use std::path::{Path, PathBuf};

use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::WriteColor};

pub use build::{BuildError, Builder, Language};
pub use diagnostics::Problem;
pub use sources::{LoadError, SourceMap};
pub use span::{FileId, FileSpan, Span};

/// A method's id on the wire: FNV-1a (32 bits) of its name (spec/protocol.md § 4.1), the
/// same function `ferry_runtime::method_id` and every back end use.
pub fn method_id(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// The result of checking a set of IDL files.
#[derive(Debug)]
pub struct Compilation {
    /// Every file read (the roots and what they include), with its text, syntax tree and problems.
    pub sources: SourceMap,
}

/// Loads `roots` and everything they include (searching `include_dirs` after each
/// including file's own folder), then checks them all. I/O errors on a root file are
/// returned; everything wrong *inside* the files is reported as problems.
pub fn compile(roots: &[PathBuf], include_dirs: &[PathBuf]) -> Result<Compilation, LoadError> {
    let mut sources = SourceMap::default();
    for root in roots {
        sources.add_root(root, include_dirs)?;
    }
    Ok(finish(sources))
}

/// Checks one file given as text (tests, tools); includes resolve relative to `path`.
pub fn compile_text(path: &Path, text: &str, include_dirs: &[PathBuf]) -> Compilation {
    let mut sources = SourceMap::default();
    sources.add_root_text(path, text.to_owned(), include_dirs);
    finish(sources)
}

/// Checks files already loaded (from memory, say: [`sources::MemoryFiles`]).
pub fn check_sources(sources: SourceMap) -> Compilation {
    finish(sources)
}

fn finish(mut sources: SourceMap) -> Compilation {
    check::check(&mut sources);
    Compilation { sources }
}

impl Compilation {
    /// The resolved model back ends consume; `None` when any file has an error.
    pub fn model(&self) -> Option<model::Program> {
        check::build_model(&self.sources)
    }

    /// Every problem, with the file it is in, in file order then source order.
    pub fn problems(&self) -> Vec<(FileId, &Problem)> {
        let mut out: Vec<(FileId, &Problem)> = Vec::new();
        for (id, f) in self.sources.files.iter().enumerate() {
            let mut ps: Vec<&Problem> = f.problems.iter().collect();
            ps.sort_by_key(|p| primary_start(p));
            out.extend(ps.into_iter().map(|p| (id, p)));
        }
        out
    }

    /// How many problems are errors.
    pub fn error_count(&self) -> usize {
        self.problems().iter().filter(|(_, p)| p.is_error()).count()
    }

    /// How many problems are warnings.
    pub fn warning_count(&self) -> usize {
        self.problems().iter().filter(|(_, p)| !p.is_error()).count()
    }

    /// Writes every diagnostic, rustc-style, followed by a summary line when there are any.
    pub fn render(&self, out: &mut dyn WriteColor) -> std::io::Result<()> {
        let mut files = SimpleFiles::new();
        for f in &self.sources.files {
            files.add(f.path.display().to_string(), f.text.clone());
        }
        let config = term::Config::default();
        for (file, problem) in self.problems() {
            term::emit(out, &config, &files, &problem.to_diagnostic(file))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        let (errors, warnings) = (self.error_count(), self.warning_count());
        if errors + warnings > 0 {
            writeln!(out, "{}", summary(errors, warnings))?;
        }
        Ok(())
    }

    /// A back end's error rendered like the front end's diagnostics (plain text).
    pub fn render_backend_error(&self, error: &diagnostics::BackendError) -> String {
        let mut files = SimpleFiles::new();
        for f in &self.sources.files {
            files.add(f.path.display().to_string(), f.text.clone());
        }
        let mut buf = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
        let _ = term::emit(&mut buf, &term::Config::default(), &files, &error.to_diagnostic());
        String::from_utf8_lossy(&buf.into_inner()).into_owned()
    }

    /// The diagnostics as plain text (no colour): what build scripts and tests show.
    pub fn render_plain(&self) -> String {
        let mut buf = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
        // Writing to memory cannot fail.
        let _ = self.render(&mut buf);
        String::from_utf8_lossy(&buf.into_inner()).into_owned()
    }
}

/// The result of `idlc compat`: both versions' files and what breaks between them.
#[derive(Debug)]
pub struct CompatReport {
    /// The old version, checked.
    pub old: Compilation,
    /// The new version, checked.
    pub new: Compilation,
    /// What breaks, in the order found.
    pub findings: Vec<compat::Finding>,
}

impl CompatReport {
    /// Compares two checked versions; `None` if either has errors (render them first).
    pub fn new(
        old: Compilation,
        new: Compilation,
        level: compat::Level,
        allow: &[String],
    ) -> Option<Self> {
        let findings = compat::compare(&old.model()?, &new.model()?, level, allow);
        Some(CompatReport { old, new, findings })
    }

    /// Every finding, with labels in both versions' files.
    pub fn render(&self, out: &mut dyn WriteColor) -> std::io::Result<()> {
        let mut files = SimpleFiles::new();
        for (tag, c) in [("OLD", &self.old), ("NEW", &self.new)] {
            for f in &c.sources.files {
                files.add(format!("{} ({tag})", f.path.display()), f.text.clone());
            }
        }
        let base = self.old.sources.files.len();
        let config = term::Config::default();
        for f in &self.findings {
            term::emit(out, &config, &files, &f.to_diagnostic(base))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        match self.findings.len() {
            0 => writeln!(out, "compatible: no breaking change found"),
            n => writeln!(
                out,
                "incompatible: {n} breaking change{} found",
                if n == 1 { "" } else { "s" }
            ),
        }
    }

    /// [`CompatReport::render`] as plain text.
    pub fn render_plain(&self) -> String {
        let mut buf = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
        let _ = self.render(&mut buf);
        String::from_utf8_lossy(&buf.into_inner()).into_owned()
    }
}

fn summary(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, w) => format!("{} emitted", plural(w, "warning")),
        (e, 0) => format!("could not check: {} emitted", plural(e, "error")),
        (e, w) => {
            format!("could not check: {} and {} emitted", plural(e, "error"), plural(w, "warning"))
        }
    }
}

fn primary_start(p: &Problem) -> usize {
    // The first label of the rendered diagnostic is always the primary one.
    p.to_diagnostic(0).labels.first().map_or(0, |l| l.range.start)
}
