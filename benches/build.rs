// The benchmark payload through idlc's Rust back end, as users would get it.
fn main() -> Result<(), ferry_idlc::BuildError> {
    ferry_idlc::Builder::new().file("idl/payload.thrift").compile()?;
    Ok(())
}
