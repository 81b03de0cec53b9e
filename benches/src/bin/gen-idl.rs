//! Writes the compiler bench's generated IDL to stdout, to time other compilers on it:
//! `cargo run -p ferry-benches --bin gen-idl -- 20000 > /tmp/big.thrift`
fn main() {
    let lines = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    print!("{}", ferry_benches::idl_gen::generate(lines));
}
