//! Compiling C test programs against the headers and the libraries cargo built.
// Each test file uses part of this module.
#![allow(dead_code)]
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The folder holding `libferry.a` and `libferry.so`: `target/<profile>/deps`, where cargo
/// builds them (also when `ferry-capi` is only a dependency of the tested crate), beside
/// this test's executable.
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().expect("target/<profile>/deps/<test>").to_path_buf()
}

/// The `capi` folder (this file is shared with other crates' tests through `#[path]`).
pub fn capi_dir() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("capi/include/ferry.h").exists() {
        assert!(dir.pop(), "no capi/include/ferry.h above {}", env!("CARGO_MANIFEST_DIR"));
    }
    dir.join("capi")
}

/// A scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    // Emptied first: files of an earlier run (headers of another IDL) must not be picked up.
    let _ = std::fs::remove_dir_all(&dir).or_else(|_| std::fs::remove_file(&dir));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Static,
    Shared,
}

/// Generates C headers for `idl` (and the files it includes, found in `include_dirs`) into
/// `out` with idlc's C back end.
pub fn generate_headers(idl: &Path, include_dirs: &[&Path], out: &Path) {
    let mut builder =
        ferry_idlc::Builder::new().language(ferry_idlc::Language::C).out_dir(out).quiet().file(idl);
    for dir in include_dirs {
        builder = builder.include_dir(dir);
    }
    builder.compile().unwrap_or_else(|e| panic!("idlc --lang c on {}: {e}", idl.display()));
}

/// Compiles `capi/tests/c/<name>.c`; see [`compile_source`].
pub fn compile(name: &str, link: Link, include_dirs: &[&Path]) -> PathBuf {
    compile_source(&capi_dir().join(format!("tests/c/{name}.c")), link, include_dirs)
}

/// Compiles a C program (with `include_dirs` after capi/include) against the static or
/// shared library, strictly (`-Wall -Wextra -Wpedantic -Werror`); returns the executable.
pub fn compile_source(source: &Path, link: Link, include_dirs: &[&Path]) -> PathBuf {
    compile_with(source, link, include_dirs, &[])
}

/// [`compile_source`] with extra compiler flags (e.g. sanitizers).
pub fn compile_with(source: &Path, link: Link, include_dirs: &[&Path], flags: &[&str]) -> PathBuf {
    compile_as(Lang::C11, source, link, include_dirs, flags)
}

/// The language a C source is compiled as: generated headers are valid in both.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// `cc -std=c11 -Wall -Wextra -Wpedantic -Werror`.
    C11,
    /// `c++ -x c++ -std=c++17 -Wall -Wextra -Werror` (no -Wpedantic: C99 designated
    /// initialisers are a GNU extension before C++20).
    Cxx17,
}

/// Compiles `source` as `lang` against libferry; see [`compile_source`].
pub fn compile_as(
    lang: Lang,
    source: &Path,
    link: Link,
    include_dirs: &[&Path],
    flags: &[&str],
) -> PathBuf {
    let name = source.file_stem().expect("a .c file").to_string_lossy().into_owned();
    let lib_dir = lib_dir();
    let lib = lib_dir.join(if link == Link::Static { "libferry.a" } else { "libferry.so" });
    assert!(lib.exists(), "{} is missing: cargo builds it with the crate", lib.display());
    let suffix = if link == Link::Static { "static" } else { "shared" };
    let (compiler, language_flags, lang_suffix): (String, &[&str], &str) = match lang {
        Lang::C11 => (
            std::env::var("CC").unwrap_or_else(|_| "cc".into()),
            &["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O1"],
            "",
        ),
        Lang::Cxx17 => (
            std::env::var("CXX").unwrap_or_else(|_| "c++".into()),
            &["-x", "c++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-O1"],
            "-cxx",
        ),
    };
    // A file per compilation: tests compile the same program in parallel.
    static COMPILED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COMPILED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-programs");
    std::fs::create_dir_all(&dir).expect("c-programs folder");
    let out = dir.join(format!("{name}-{suffix}{lang_suffix}-{}-{n}", std::process::id()));
    let cc = compiler;
    let mut command = Command::new(&cc);
    command
        .args(language_flags)
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(source)
        .arg("-I")
        .arg(capi_dir().join("include"));
    for dir in include_dirs {
        command.arg("-I").arg(dir);
    }
    // `-x c++` applies to the inputs after it: the library is not a source file.
    command.args(["-x", "none"]);
    match link {
        // What Rust's standard library needs from the system on Linux.
        Link::Static => command.arg(&lib).args(["-lpthread", "-ldl", "-lm"]),
        Link::Shared => command
            .arg("-L")
            .arg(&lib_dir)
            .arg("-lferry")
            .arg(format!("-Wl,-rpath,{}", lib_dir.display())),
    };
    let status =
        command.status().unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(status.success(), "compiling {} failed", source.display());
    out
}

/// A C server program running: it printed its port and serves until its stdin closes.
pub struct CServer {
    child: Child,
    pub port: u16,
}

impl CServer {
    pub fn start(exe: &Path) -> CServer {
        let mut child = Command::new(exe)
            .env("ASAN_OPTIONS", "detect_leaks=0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the C server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("port");
        let port = line.trim().parse().unwrap_or_else(|_| panic!("the C server printed {line:?}"));
        CServer { child, port }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Closes its stdin, waits for a clean exit and returns what it printed on stderr.
    pub fn stop(mut self) -> String {
        drop(self.child.stdin.take());
        let output = self.child.wait_with_output().expect("the C server exits");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "the C server failed: {stderr}");
        stderr
    }
}
