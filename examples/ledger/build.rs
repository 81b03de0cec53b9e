fn main() -> Result<(), ferry_idlc::BuildError> {
    ferry_idlc::Builder::new().file("idl/ledger.thrift").compile()?;
    Ok(())
}
