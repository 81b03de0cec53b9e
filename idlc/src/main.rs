//! `idlc`: the command line over `ferry_idlc`.
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};

/// Ferry's IDL compiler. Reads Thrift-compatible IDL (with Ferry's extensions) and reports
/// every problem with its exact place, an explanation and a suggested fix.
///
/// Exit status: 0 when the files are valid (warnings allowed), 1 when any file has an
/// error, 2 for usage or I/O errors.
#[derive(Parser, Debug)]
#[command(name = "idlc", version)]
struct Cli {
    /// When to use colours in diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check IDL files and everything they include; print diagnostics on stderr.
    Check {
        /// Folder searched for `include`d files, after the including file's own folder.
        /// May be given several times; searched in order.
        #[arg(short = 'I', long = "include-dir", value_name = "DIR")]
        include_dirs: Vec<PathBuf>,
        /// The IDL files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Generate code: one output file per IDL file given (plus modules for its includes).
    Gen {
        /// Target language.
        #[arg(long, value_enum)]
        lang: Lang,
        /// Output folder (created if missing).
        #[arg(short = 'o', long = "out", value_name = "OUTDIR")]
        out: PathBuf,
        /// Rust: do not embed the IDL in generated services for server reflection
        /// (`ferry.reflect`); tools then need the IDL files to call the server.
        #[arg(long)]
        no_reflection: bool,
        /// Folder searched for `include`d files; may be repeated.
        #[arg(short = 'I', long = "include-dir", value_name = "DIR")]
        include_dirs: Vec<PathBuf>,
        /// The IDL files to compile.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Is NEW compatible with OLD? Reports every breaking change with spans in both
    /// versions (rules and codes: spec/idl.md § 8). Exit status 0: compatible; 1: breaking
    /// changes (or errors in either version); 2: usage or I/O errors.
    ///
    /// Examples:
    ///   idlc compat old/calc.thrift calc.thrift
    ///   idlc compat --against origin/main idl/*.thrift
    ///   idlc compat --level source --allow C0201 old.thrift new.thrift
    #[command(verbatim_doc_comment)]
    Compat {
        /// Compare each FILE with its version at this git revision (includes resolve in
        /// that revision's tree). Without it, give exactly two files: OLD NEW.
        #[arg(long, value_name = "GIT_REF")]
        against: Option<String>,
        /// `wire`: peers built from either version interoperate; `source`: also, code
        /// written against OLD's generated code still compiles.
        #[arg(long, value_enum, default_value_t = CompatLevel::Wire)]
        level: CompatLevel,
        /// Accept findings with this code (e.g. C0201); may be repeated.
        #[arg(long, value_name = "CODE")]
        allow: Vec<String>,
        /// Folder searched for `include`d files (in both versions); may be repeated.
        #[arg(short = 'I', long = "include-dir", value_name = "DIR")]
        include_dirs: Vec<PathBuf>,
        /// OLD NEW, or with --against the files to compare.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CompatLevel {
    Wire,
    Source,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Lang {
    /// Rust, for the `ferry-runtime` crate.
    Rust,
    /// C11 headers, for `libferry` (capi/include: ferry.h, ferry_wire.h).
    C,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    /// Colour when stderr is a terminal.
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let choice = match cli.color {
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
        Color::Auto if std::io::stderr().is_terminal() => ColorChoice::Auto,
        Color::Auto => ColorChoice::Never,
    };
    match cli.command {
        Command::Gen { lang, out, no_reflection, include_dirs, files } => {
            if let Err(e) = std::fs::create_dir_all(&out) {
                eprintln!("error: cannot create `{}`: {e}", out.display());
                return ExitCode::from(2);
            }
            let language = match lang {
                Lang::Rust => ferry_idlc::Language::Rust,
                Lang::C => ferry_idlc::Language::C,
            };
            let mut builder = ferry_idlc::Builder::new().out_dir(&out).language(language).quiet();
            builder = builder.reflection(!no_reflection);
            for d in include_dirs {
                builder = builder.include_dir(d);
            }
            for f in files {
                builder = builder.file(f);
            }
            match builder.compile() {
                Ok(paths) => {
                    for p in paths {
                        println!("{}", p.display());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) if e.is_in_idl() => {
                    // Diagnostics were already printed; a back end's refusal was not.
                    if !e.to_string().contains("error[") {
                        eprintln!("{e}");
                    }
                    ExitCode::from(1)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Compat { against, level, allow, include_dirs, files } => {
            let level = match level {
                CompatLevel::Wire => ferry_idlc::compat::Level::Wire,
                CompatLevel::Source => ferry_idlc::compat::Level::Source,
            };
            match compat(against.as_deref(), level, &allow, &include_dirs, &files, choice) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Check { include_dirs, files } => {
            let compilation = match ferry_idlc::compile(&files, &include_dirs) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let mut stderr = StandardStream::stderr(choice);
            if let Err(e) = compilation.render(&mut stderr) {
                eprintln!("error: cannot write diagnostics: {e}");
                return ExitCode::from(2);
            }
            if compilation.error_count() > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}

/// `idlc compat`: loads both versions, renders their errors if any, else the findings.
fn compat(
    against: Option<&str>,
    level: ferry_idlc::compat::Level,
    allow: &[String],
    include_dirs: &[PathBuf],
    files: &[PathBuf],
    choice: ColorChoice,
) -> Result<ExitCode, String> {
    let (old_roots, old_includes, new_roots, _tree) = match against {
        None => {
            let [old, new] = files else {
                return Err(format!(
                    "give two files, OLD and NEW ({} given), or --against GIT_REF with the files",
                    files.len()
                ));
            };
            (vec![old.clone()], include_dirs.to_vec(), vec![new.clone()], None)
        }
        Some(rev) => {
            let tree = GitTree::export(rev)?;
            let old_roots = files.iter().map(|f| tree.path_of(f)).collect::<Result<_, _>>()?;
            let old_includes =
                include_dirs.iter().map(|d| tree.path_of(d)).collect::<Result<_, _>>()?;
            (old_roots, old_includes, files.to_vec(), Some(tree))
        }
    };
    let old = ferry_idlc::compile(&old_roots, &old_includes).map_err(|e| format!("OLD: {e}"))?;
    let new = ferry_idlc::compile(&new_roots, include_dirs).map_err(|e| format!("NEW: {e}"))?;
    let mut stderr = StandardStream::stderr(choice);
    let write_error = |e: std::io::Error| format!("cannot write diagnostics: {e}");
    if old.error_count() + new.error_count() > 0 {
        old.render(&mut stderr).map_err(write_error)?;
        new.render(&mut stderr).map_err(write_error)?;
        eprintln!("error: both versions must check without errors before they can be compared");
        return Ok(ExitCode::from(1));
    }
    let Some(report) = ferry_idlc::CompatReport::new(old, new, level, allow) else {
        return Err("the checked files did not produce a model".into());
    };
    report.render(&mut stderr).map_err(write_error)?;
    Ok(if report.findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// A git revision's files, exported to a temporary folder (removed on drop).
struct GitTree {
    dir: PathBuf,
    /// The repository's top folder, which paths given on the command line are under.
    top: PathBuf,
}

impl GitTree {
    fn export(rev: &str) -> Result<GitTree, String> {
        let git = |args: &[&str]| -> Result<std::process::Output, String> {
            let out = std::process::Command::new("git")
                .args(args)
                .output()
                .map_err(|e| format!("cannot run git: {e}"))?;
            if out.status.success() {
                Ok(out)
            } else {
                Err(format!(
                    "git {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        };
        let top = git(&["rev-parse", "--show-toplevel"])?;
        let top = PathBuf::from(String::from_utf8_lossy(&top.stdout).trim());
        let dir = std::env::temp_dir().join(format!("idlc-compat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let tree = GitTree { dir, top };
        let archive = git(&["-C", &tree.top.to_string_lossy(), "archive", "--format=tar", rev])?;
        let mut tar = std::process::Command::new("tar")
            .args(["-x", "-C"])
            .arg(&tree.dir)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run tar: {e}"))?;
        use std::io::Write as _;
        if let Some(mut stdin) = tar.stdin.take() {
            stdin.write_all(&archive.stdout).map_err(|e| format!("tar: {e}"))?;
        }
        let status = tar.wait().map_err(|e| format!("tar: {e}"))?;
        if !status.success() {
            return Err(format!("tar could not unpack {rev}"));
        }
        Ok(tree)
    }

    /// Where `path` (as given on the command line) is in the exported tree.
    fn path_of(&self, path: &std::path::Path) -> Result<PathBuf, String> {
        let absolute = std::fs::canonicalize(path)
            .or_else(|_| std::env::current_dir().map(|d| d.join(path)))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let relative = absolute.strip_prefix(&self.top).map_err(|_| {
            format!("{} is not inside the git repository {}", path.display(), self.top.display())
        })?;
        Ok(self.dir.join(relative))
    }
}

impl Drop for GitTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
