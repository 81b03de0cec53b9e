// The three lines a user adds to build.rs: compile the IDL into OUT_DIR. Errors are shown
// as the same diagnostics `idlc check` prints.
fn main() -> Result<(), ferry_idlc::BuildError> {
    ferry_idlc::Builder::new().file("idl/calculator.thrift").compile()?;
    Ok(())
}
