//! Build-script integration: `ferry_idlc::Builder` compiles IDL files to Rust in `OUT_DIR`.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     ferry_idlc::Builder::new().file("idl/calculator.thrift").include_dir("idl").compile()?;
//!     Ok(())
//! }
//! // src/lib.rs: ferry_runtime::include_idl!("calculator");
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

/// Compiles IDL files. Rust: one output file per root file (`calculator.thrift` →
/// `$OUT_DIR/calculator.rs`, holding a module for it and one for each file it includes).
/// C: one header per IDL file, root or included (`calculator.h`, …).
#[derive(Clone, Debug, Default)]
pub struct Builder {
    files: Vec<PathBuf>,
    include_dirs: Vec<PathBuf>,
    out_dir: Option<PathBuf>,
    quiet: bool,
    hide_warnings: bool,
    language: Language,
    no_reflection: bool,
}

/// The back end a [`Builder`] runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Language {
    /// Rust modules for `ferry-runtime` (the default).
    #[default]
    Rust,
    /// C11 headers for `libferry` (`capi/include/ferry.h` and `ferry_wire.h`).
    C,
}

/// Why code generation failed: the IDL has errors (with the rendered diagnostics), or a
/// file could not be read or written.
pub struct BuildError {
    message: String,
    /// The IDL is at fault (diagnostics, or a construct the back end cannot express), not
    /// the file system or the setup.
    in_idl: bool,
    /// The diagnostics were printed already (a build script): `Debug`, which a `main`
    /// returning the error prints, then says so instead of printing them twice.
    printed: bool,
}

impl BuildError {
    fn setup(message: impl Into<String>) -> Self {
        BuildError { message: message.into(), in_idl: false, printed: false }
    }

    fn idl(message: impl Into<String>) -> Self {
        BuildError { message: message.into(), in_idl: true, printed: false }
    }

    /// True when the IDL must change (its diagnostics were printed, or a back end cannot
    /// express it); false for I/O and setup errors.
    pub fn is_in_idl(&self) -> bool {
        self.in_idl
    }
}

/// `Debug` shows the diagnostics as text: a build script returning `Err` prints this.
impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.printed {
            f.write_str("idlc: the IDL has errors (diagnostics above)")
        } else {
            f.write_str(&self.message)
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}

impl Builder {
    /// A builder with no files, Rust output, and `OUT_DIR` as the output folder.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Adds a root IDL file.
    pub fn file(mut self, path: impl AsRef<Path>) -> Self {
        self.files.push(path.as_ref().to_path_buf());
        self
    }

    /// Adds a folder searched for `include`d files (after the including file's folder).
    pub fn include_dir(mut self, path: impl AsRef<Path>) -> Self {
        self.include_dirs.push(path.as_ref().to_path_buf());
        self
    }

    /// Which back end runs; default Rust.
    pub fn language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// Where to write the generated files; default `$OUT_DIR`.
    pub fn out_dir(mut self, path: impl AsRef<Path>) -> Self {
        self.out_dir = Some(path.as_ref().to_path_buf());
        self
    }

    /// Do not pass warnings on as `cargo:warning=` lines (for IDL that is meant to warn, such
    /// as a test corpus of deprecated syntax). Errors are always shown.
    pub fn hide_warnings(mut self) -> Self {
        self.hide_warnings = true;
        self
    }

    /// Outside build scripts: do not print `cargo:rerun-if-changed` lines.
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// Whether generated services embed their IDL for server reflection (`ferry.reflect`,
    /// spec/protocol.md § 4.2). Default: yes. Turn it off to keep the schema out of the
    /// binary (servers then list no services to tools, which need the IDL given).
    pub fn reflection(mut self, embed: bool) -> Self {
        self.no_reflection = !embed;
        self
    }

    /// Checks and generates. On IDL errors, the diagnostics are printed to stderr (cargo
    /// shows them when a build script fails) and returned in the error.
    pub fn compile(self) -> Result<Vec<PathBuf>, BuildError> {
        let out_dir =
            match self.out_dir.clone().or_else(|| std::env::var_os("OUT_DIR").map(PathBuf::from)) {
                Some(d) => d,
                None => return Err(BuildError::setup(
                    "no output folder: set Builder::out_dir or run from a build script (OUT_DIR)",
                )),
            };
        let mut written = Vec::new();
        for root in &self.files {
            let compilation = crate::compile(std::slice::from_ref(root), &self.include_dirs)
                .map_err(|e| BuildError::setup(e.to_string()))?;
            if !self.quiet {
                for f in &compilation.sources.files {
                    println!("cargo:rerun-if-changed={}", f.path.display());
                }
            }
            let rendered = compilation.render_plain();
            if compilation.error_count() > 0 {
                eprint!("{rendered}");
                return Err(BuildError { printed: !self.quiet, ..BuildError::idl(rendered) });
            }
            if !rendered.is_empty() && !self.quiet && !self.hide_warnings {
                // Cargo shows a build script's stderr only when it fails; warnings reach the
                // user as `cargo:warning=` lines, one per line of the diagnostic.
                for line in rendered.lines() {
                    println!("cargo:warning={line}");
                }
            }
            let program = compilation.model().ok_or_else(|| BuildError::idl(rendered.clone()))?;
            let outputs = match self.language {
                Language::Rust => {
                    let code = crate::rust::generate_with(
                        &program,
                        &crate::rust::Options { reflection: !self.no_reflection },
                    )
                    .map_err(BuildError::setup)?;
                    let stem = root
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "idl".into());
                    vec![(format!("{stem}.rs"), code)]
                }
                Language::C => crate::c::generate(&program)
                    .map_err(|e| {
                        let rendered = compilation.render_backend_error(&e);
                        eprint!("{rendered}");
                        BuildError { printed: !self.quiet, ..BuildError::idl(rendered) }
                    })?
                    .into_iter()
                    .map(|h| (h.file_name, h.text))
                    .collect(),
            };
            for (name, code) in outputs {
                let path = out_dir.join(name);
                // Unchanged output is not rewritten, so cargo does not rebuild dependents.
                if std::fs::read_to_string(&path).ok().as_deref() != Some(code.as_str()) {
                    std::fs::write(&path, code).map_err(|e| {
                        BuildError::setup(format!("cannot write `{}`: {e}", path.display()))
                    })?;
                }
                if !written.contains(&path) {
                    written.push(path);
                }
            }
        }
        Ok(written)
    }
}
