// The benchmark payload through idlc's Rust back end, as users would get it; with
// `--features peers`, the peers' code from their own schema compilers (never committed).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    ferry_idlc::Builder::new().file("idl/payload.thrift").compile()?;
    #[cfg(feature = "peers")]
    peers()?;
    Ok(())
}

#[cfg(feature = "peers")]
fn peers() -> Result<(), Box<dyn std::error::Error>> {
    use std::process::Command;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    for f in ["peers/payload.fbs", "peers/payload.capnp", "peers/payload.thrift"] {
        println!("cargo:rerun-if-changed={f}");
    }
    let run = |cmd: &mut Command, what: &str| -> Result<(), Box<dyn std::error::Error>> {
        let status = cmd
            .status()
            .map_err(|e| format!("{what}: {e} (run benches/compare.sh, which installs it)"))?;
        if !status.success() {
            return Err(format!("{what} failed").into());
        }
        Ok(())
    };
    run(Command::new("flatc").args(["--rust", "-o"]).arg(&out).arg("peers/payload.fbs"), "flatc")?;
    // Thrift names its output after the IDL file: keep it apart from idlc's `payload.rs`.
    let thrift_dir = out.join("thrift");
    std::fs::create_dir_all(&thrift_dir)?;
    run(
        Command::new("thrift")
            .args(["--gen", "rs", "-out"])
            .arg(&thrift_dir)
            .arg("peers/payload.thrift"),
        "thrift",
    )?;
    // Thrift's Rust output starts with inner attributes, which `include!` cannot take.
    let thrift_rs = thrift_dir.join("payload.rs");
    let text = std::fs::read_to_string(&thrift_rs)?;
    let body: String =
        text.lines().filter(|l| !l.starts_with("#![")).map(|l| format!("{l}\n")).collect();
    std::fs::write(out.join("payload_thrift.rs"), body)?;
    capnpc::CompilerCommand::new().src_prefix("peers").file("peers/payload.capnp").run()?;
    println!("cargo:rerun-if-changed=peers/echo.proto");
    tonic_prost_build::configure().compile_protos(&["peers/echo.proto"], &["peers"])?;
    Ok(())
}
