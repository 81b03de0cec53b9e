//! The CLI's schema-driven decoder (bytes from a server → JSON, spec/json.md) on arbitrary
//! bytes: no panic; what it accepts encodes back, and that encoding decodes to the same JSON.
#![no_main]
use std::sync::OnceLock;

use ferry_cli::json::Codec;
use ferry_idlc::model::{DefRef, Program};
use libfuzzer_sys::fuzz_target;

const IDL: &str = "
enum E { A = 1, B = 2, C = 7 }
union U { 1: i32 a, 2: string b, 3: E e, 4: Node n }
struct Node { 1: i64 v, 2: optional Node next, 3: list<Node> kids }
struct All {
  -2: uuid id
  -1: optional binary blob
  1: bool b
  2: i8 i8v
  3: u16 u16v
  4: i32 i32v = 7
  5: u64 u64v
  6: f32 f
  7: double d
  8: string s
  9: required E e
  10: U u
  11: list<set<string>> nested
  12: map<string, Node> by_name
  13: map<double, list<E>> by_double
  14: map<E, bool> by_enum
  15: optional All again
}
";

fn program() -> &'static Program {
    static PROGRAM: OnceLock<Program> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let c = ferry_idlc::compile_text(std::path::Path::new("fuzz.thrift"), IDL, &[]);
        c.model().unwrap_or_else(|| panic!("{}", c.render_plain()))
    })
}

fuzz_target!(|data: &[u8]| {
    let program = program();
    let codec = Codec::new(program);
    let (Some(&pick), rest) = (data.first(), data.get(1..).unwrap_or_default()) else { return };
    let name = ["All", "Node", "U"][pick as usize % 3];
    let index = program.files[0].definitions.iter().position(|d| d.name == name).unwrap();
    let shape = codec.shape(DefRef { file: 0, index }).unwrap();
    if let Ok(json) = codec.decode(shape, rest) {
        let bytes = codec.encode(shape, &json).expect("decoded JSON encodes");
        let again = codec.decode(shape, &bytes).expect("its encoding decodes");
        assert_eq!(again, json, "decode → encode → decode changed the value");
    }
});
