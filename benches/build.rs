// The benchmark payload through idlc's Rust back end, as users would get it; with
// `--features peers`, the peers' code from their own schema compilers (never committed).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    ferry_idlc::Builder::new().file("idl/payload.thrift").file("idl/listing.thrift").compile()?;
    #[cfg(feature = "peers")]
    peers()?;
    Ok(())
}

#[cfg(feature = "peers")]
fn peers() -> Result<(), Box<dyn std::error::Error>> {
    use std::process::Command;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let payloads = ["payload", "listing"];
    for p in payloads {
        for ext in ["fbs", "capnp", "thrift"] {
            println!("cargo:rerun-if-changed=peers/{p}.{ext}");
        }
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
    for p in payloads {
        let fbs = format!("peers/{p}.fbs");
        // The object API gives FlatBuffers' "decode to owned" (`unpack`).
        run(
            Command::new("flatc").args(["--rust", "--gen-object-api", "-o"]).arg(&out).arg(fbs),
            "flatc",
        )?;
    }
    // Thrift names its output after the IDL file: keep it apart from idlc's own output.
    let thrift_dir = out.join("thrift");
    std::fs::create_dir_all(&thrift_dir)?;
    let mut capnp = capnpc::CompilerCommand::new();
    capnp.src_prefix("peers");
    for p in payloads {
        let idl = format!("peers/{p}.thrift");
        run(
            Command::new("thrift").args(["--gen", "rs", "-out"]).arg(&thrift_dir).arg(idl),
            "thrift",
        )?;
        // Thrift's Rust output starts with inner attributes, which `include!` cannot take.
        let text = std::fs::read_to_string(thrift_dir.join(format!("{p}.rs")))?;
        let body: String =
            text.lines().filter(|l| !l.starts_with("#![")).map(|l| format!("{l}\n")).collect();
        std::fs::write(out.join(format!("{p}_thrift.rs")), body)?;
        capnp.file(format!("peers/{p}.capnp"));
    }
    capnp.run()?;
    println!("cargo:rerun-if-changed=peers/echo.proto");
    tonic_prost_build::configure().compile_protos(&["peers/echo.proto"], &["peers"])?;
    Ok(())
}
