//! Rust for the vector schemas (spec/vectors/schema.thrift), for the Rust adapter.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    ferry_idlc::Builder::new().file("../spec/vectors/schema.thrift").compile()?;
    Ok(())
}
