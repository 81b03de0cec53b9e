// The reflection client (spec/reflect.thrift) the CLI calls servers with, and for the tests
// the demo's Calculator service, which they serve in process.
fn main() -> Result<(), ferry_idlc::BuildError> {
    println!("cargo:rerun-if-changed=../spec/reflect.thrift");
    println!("cargo:rerun-if-changed=../examples/calculator/idl/calculator.thrift");
    ferry_idlc::Builder::new().file("../spec/reflect.thrift").reflection(false).compile()?;
    ferry_idlc::Builder::new().file("../examples/calculator/idl/calculator.thrift").compile()?;
    Ok(())
}
