//! Generates Rust for the IDL corpus: every file must produce code that compiles without
//! warnings (the crate is built with `-D warnings` in CI).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    ferry_idlc::Builder::new()
        .file("../tests/data/ok/calculator.thrift")
        .file("../tests/data/ok/everything.thrift")
        .file("../tests/data/ok/recursive.thrift")
        .file("../tests/data/ok/storage.thrift")
        .file("../tests/data/ok/deprecated.thrift")
        .file("idl/keywords.thrift")
        .file("idl/c_names.thrift")
        .file("idl/evolution_v1.thrift")
        .file("idl/evolution_v2.thrift")
        .file("idl/real_world.thrift")
        .include_dir("../tests/data/ok/include")
        .compile()?;
    Ok(())
}
