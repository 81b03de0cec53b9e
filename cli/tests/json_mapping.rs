//! The JSON mapping (spec/json.md) on random schemas and random values: JSON → bytes →
//! JSON gives back every value given, the bytes are canonical (re-encoding the decoded JSON
//! and the schema-less walk both give the same bytes), and a value of the wrong type
//! anywhere is refused with the JSON path of exactly that value.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::path::Path;

use ferry_cli::json::{child, Codec};
use ferry_idlc::model::DefRef;
use ferry_runtime::wire::{dynamic, DecodeOptions, Encode};
use proptest::prelude::*;

mod common;
use common::Rng;
use serde_json::{json, Map, Value as Json};

const BASES: [&str; 14] = [
    "bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "double", "string",
    "binary", "uuid",
];
/// Map keys: object form (string, integer, bool, enum) and pairs form (double).
const KEYS: [&str; 6] = ["string", "i32", "u64", "bool", "E", "double"];

#[derive(Clone, Debug)]
enum Ty {
    Base(&'static str),
    Enum,
    Union,
    Ints,
    /// An earlier struct, by index.
    Struct(usize),
    List(Box<Ty>),
    Set(Box<Ty>),
    Map(&'static str, Box<Ty>),
}

impl Ty {
    fn idl(&self) -> String {
        match self {
            Ty::Base(b) => (*b).to_owned(),
            Ty::Enum => "E".into(),
            Ty::Union => "U".into(),
            Ty::Ints => "Ints".into(),
            Ty::Struct(i) => format!("S{i}"),
            Ty::List(t) => format!("list<{}>", t.idl()),
            Ty::Set(t) => format!("set<{}>", t.idl()),
            Ty::Map(k, v) => format!("map<{k}, {}>", v.idl()),
        }
    }
}

#[derive(Clone, Debug)]
struct Field {
    id: i16,
    ty: Ty,
    /// 0 default, 1 required, 2 optional.
    req: u8,
}

fn ty() -> impl Strategy<Value = Ty> {
    let leaf = prop_oneof![
        (0..BASES.len()).prop_map(|i| Ty::Base(BASES[i])),
        Just(Ty::Enum),
        Just(Ty::Union),
        Just(Ty::Ints),
        (0usize..8).prop_map(Ty::Struct),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| Ty::List(Box::new(t))),
            inner.clone().prop_map(|t| Ty::Set(Box::new(t))),
            ((0..KEYS.len()), inner).prop_map(|(k, v)| Ty::Map(KEYS[k], Box::new(v))),
        ]
    })
}

/// Structs S0…Sn; field ids in random order, negative ones included; a struct refers only to
/// earlier ones (references to later ones become `i32`).
fn structs() -> impl Strategy<Value = Vec<Vec<Field>>> {
    let field = (-8i16..40, ty(), 0u8..3).prop_map(|(id, ty, req)| Field { id, ty, req });
    proptest::collection::vec(proptest::collection::vec(field, 0..7), 1..4).prop_map(|mut ss| {
        for (i, fields) in ss.iter_mut().enumerate() {
            let mut seen = std::collections::BTreeSet::new();
            fields.retain(|f| f.id != 0 && seen.insert(f.id));
            for f in fields.iter_mut() {
                fix_refs(&mut f.ty, i);
            }
        }
        ss
    })
}

fn fix_refs(t: &mut Ty, owner: usize) {
    match t {
        Ty::Struct(j) if *j >= owner => *t = Ty::Base("i32"),
        Ty::List(e) | Ty::Set(e) | Ty::Map(_, e) => fix_refs(e, owner),
        _ => {}
    }
}

fn render(structs: &[Vec<Field>]) -> String {
    let mut s = String::from(
        "enum E { A = 1, B = 2, C = 7 }\nunion U { 1: i32 a, 2: string b, 3: E e }\ntypedef list<i32> Ints\n",
    );
    for (i, fields) in structs.iter().enumerate() {
        s += &format!("struct S{i} {{\n");
        for f in fields {
            let req = ["", "required ", "optional "][f.req as usize];
            s += &format!("  {}: {req}{} {}\n", f.id, f.ty.idl(), field_name(f.id));
        }
        s += "}\n";
    }
    s
}

fn field_name(id: i16) -> String {
    if id < 0 {
        format!("m{}", -id)
    } else {
        format!("f{id}")
    }
}

/// Generates values and remembers where the scalar ones are (JSON paths, spec/json.md § 4).
struct Gen<'s> {
    structs: &'s [Vec<Field>],
    rng: Rng,
    scalars: Vec<String>,
}

impl Gen<'_> {
    fn base(&mut self, b: &str) -> Json {
        let n = self.rng.next();
        match b {
            "bool" => json!(n & 1 == 1),
            "i8" => json!(n as i8),
            "i16" => json!(n as i16),
            "i32" => json!(n as i32),
            "i64" => json!(n as i64),
            "u8" => json!(n as u8),
            "u16" => json!(n as u16),
            "u32" => json!(n as u32),
            "u64" => json!(n),
            "f32" => json!(f64::from(n as i16) / 4.0),
            "double" => match n % 8 {
                0 => json!("NaN"),
                1 => json!("-Infinity"),
                _ => json!(f64::from(n as i32) / 1024.0),
            },
            "string" => {
                json!(["", "plain", "two words", "é ü ✓", "\u{1F600}", "7"][(n % 6) as usize])
            }
            "binary" => {
                use base64::Engine as _;
                let len = (n % 9) as usize;
                json!(base64::engine::general_purpose::STANDARD
                    .encode(&n.to_le_bytes()[..len.min(8)]))
            }
            "uuid" => {
                let h = format!("{:016x}{:016x}", n, self.rng.next());
                json!(format!(
                    "{}-{}-{}-{}-{}",
                    &h[0..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..32]
                ))
            }
            other => panic!("no values for {other}"),
        }
    }

    fn key(&mut self, k: &str) -> String {
        let n = self.rng.next();
        match k {
            "string" => ["a", "b c", "", "x_1", "9lives"][(n % 5) as usize].to_owned(),
            "i32" => (n as i32 % 1000).to_string(),
            "u64" => n.to_string(),
            "bool" => (n & 1 == 1).to_string(),
            "E" => ["A", "B", "C", "42"][(n % 4) as usize].to_owned(),
            other => panic!("{other} keys are pairs"),
        }
    }

    fn value(&mut self, ty: &Ty, path: &str, depth: usize) -> Json {
        match ty {
            Ty::Base(b) => {
                self.scalars.push(path.to_owned());
                self.base(b)
            }
            Ty::Enum => {
                self.scalars.push(path.to_owned());
                [json!("A"), json!("C"), json!(99)][self.rng.below(3) as usize].clone()
            }
            Ty::Union => match self.rng.below(4) {
                0 => json!({}),
                1 => json!({"a": self.rng.next() as i32}),
                2 => json!({"b": "u"}),
                _ => json!({"e": "B"}),
            },
            Ty::Ints => Json::Array((0..self.rng.below(3)).map(|i| json!(i)).collect()),
            Ty::Struct(j) => self.object(*j, path, depth + 1),
            Ty::List(e) | Ty::Set(e) => {
                let n = if depth > 3 { 0 } else { self.rng.below(4) };
                Json::Array(
                    (0..n).map(|i| self.value(e, &format!("{path}[{i}]"), depth + 1)).collect(),
                )
            }
            Ty::Map(k, v) => {
                let n = if depth > 3 { 0 } else { self.rng.below(4) };
                if *k == "double" {
                    let pairs = (0..n).map(|i| {
                        let at = format!("{path}[{i}]");
                        let key = self.base("double");
                        self.scalars.push(format!("{at}[0]"));
                        Json::Array(vec![key, self.value(v, &format!("{at}[1]"), depth + 1)])
                    });
                    Json::Array(pairs.collect())
                } else {
                    let mut m = Map::new();
                    for _ in 0..n {
                        let key = self.key(k);
                        if m.contains_key(&key) {
                            continue;
                        }
                        let value = self.value(v, &child(path, &key), depth + 1);
                        m.insert(key, value);
                    }
                    Json::Object(m)
                }
            }
        }
    }

    fn object(&mut self, i: usize, path: &str, depth: usize) -> Json {
        let mut m = Map::new();
        for f in &self.structs[i] {
            if f.req == 1 || self.rng.below(3) != 0 {
                let name = field_name(f.id);
                let value = self.value(&f.ty, &child(path, &name), depth);
                m.insert(name, value);
            }
        }
        Json::Object(m)
    }
}

/// `given`, with fields added only: objects have at least its keys, holding the same.
fn holds(decoded: &Json, given: &Json) -> bool {
    match (decoded, given) {
        (Json::Object(d), Json::Object(g)) => {
            g.iter().all(|(k, v)| d.get(k).is_some_and(|x| holds(x, v)))
        }
        (Json::Array(d), Json::Array(g)) => {
            d.len() == g.len() && d.iter().zip(g).all(|(x, y)| holds(x, y))
        }
        _ => decoded == given,
    }
}

/// Replaces the value at `path` (one of the generator's scalar paths) with `[]`.
fn break_at(json: &mut Json, path: &str) {
    let mut here = json;
    let mut rest = path.strip_prefix('$').unwrap();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            here = &mut here[&r[..end]];
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("[\"") {
            // A quoted key: JSON string text up to the closing `"]`.
            let end = r.find("\"]").unwrap();
            let key: String = serde_json::from_str(&format!("\"{}\"", &r[..end])).unwrap();
            here = &mut here[key.as_str()];
            rest = &r[end + 2..];
        } else {
            let r = rest.strip_prefix('[').unwrap();
            let end = r.find(']').unwrap();
            here = &mut here[r[..end].parse::<usize>().unwrap()];
            rest = &r[end + 1..];
        }
    }
    *here = json!([]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn json_round_trips_canonically_and_errors_name_their_path(structs in structs(), seed in 1u64..) {
        let text = render(&structs);
        let c = ferry_idlc::compile_text(Path::new("random.thrift"), &text, &[]);
        prop_assert_eq!(c.error_count(), 0, "{}\n{}", c.render_plain(), text);
        let program = c.model().unwrap();
        let codec = Codec::new(&program);
        let top = structs.len() - 1;
        let index = program.files[0].definitions.iter().position(|d| d.name == format!("S{top}")).unwrap();
        let shape = codec.shape(DefRef { file: 0, index }).unwrap();

        let mut g = Gen { structs: &structs, rng: Rng(seed), scalars: Vec::new() };
        let json = g.object(top, "$", 0);
        let bytes = codec.encode(shape, &json).unwrap();
        let walked = dynamic::decode(&bytes, &DecodeOptions::DEFAULT).unwrap();
        prop_assert_eq!(walked.encode_to_vec(), bytes.clone(), "schema-less re-encoding");
        let decoded = codec.decode(shape, &bytes).unwrap();
        // Decoding adds the defaults of absent fields; everything given comes back as given.
        prop_assert!(holds(&decoded, &json), "{} came back as {}\n{}", json, decoded, text);
        prop_assert_eq!(codec.encode(shape, &decoded).unwrap(), bytes, "decoded JSON re-encodes to the same bytes\n{}", text);

        if !g.scalars.is_empty() {
            let path = g.scalars[(seed % g.scalars.len() as u64) as usize].clone();
            let mut broken = json.clone();
            break_at(&mut broken, &path);
            let err = codec.encode(shape, &broken).unwrap_err();
            prop_assert_eq!(&err.path, &path, "{} in {}", err, broken);
        }
    }
}
