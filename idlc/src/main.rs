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
        /// Folder searched for `include`d files; may be repeated.
        #[arg(short = 'I', long = "include-dir", value_name = "DIR")]
        include_dirs: Vec<PathBuf>,
        /// The IDL files to compile.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
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
        Command::Gen { lang, out, include_dirs, files } => {
            if let Err(e) = std::fs::create_dir_all(&out) {
                eprintln!("error: cannot create `{}`: {e}", out.display());
                return ExitCode::from(2);
            }
            let language = match lang {
                Lang::Rust => ferry_idlc::Language::Rust,
                Lang::C => ferry_idlc::Language::C,
            };
            let mut builder = ferry_idlc::Builder::new().out_dir(&out).language(language).quiet();
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
