//! `idlc compat` on random schemas and random edits: every edit the spec calls
//! wire-compatible (spec/idl.md § 8) yields no wire finding, and messages encoded with OLD
//! decode with NEW and come back to OLD unchanged; every breaking edit yields the finding
//! of its rule, and a message shows the break. The schemas are this test's own small model,
//! rendered to IDL, so each edit is known to be of one kind. It lives in the CLI crate
//! because the schema-driven codec (`ferry_cli::json`) it encodes messages with does.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine as _;
use ferry_cli::json::{Codec, Shape};
use ferry_idlc::compat::Level;
use ferry_idlc::model::{DefRef, Program};
use proptest::prelude::*;

mod common;
use common::Rng;
use serde_json::{json, Map, Value as Json};

#[derive(Clone, Debug)]
struct Field {
    id: i16,
    /// Renamed fields keep their id.
    renamed: bool,
    ty: &'static str,
    required: bool,
    optional: bool,
}

#[derive(Clone, Debug)]
struct Schema {
    /// Structs by index, each with fields of distinct ids.
    structs: Vec<Vec<Field>>,
    /// Enum values (distinct, ascending).
    values: Vec<i32>,
    methods: Vec<String>,
}

impl Schema {
    fn render(&self) -> String {
        let mut s = String::from("enum E {");
        for (i, v) in self.values.iter().enumerate() {
            s += &format!(" V{i} = {v},");
        }
        s += " }\n";
        for (i, fields) in self.structs.iter().enumerate() {
            s += &format!("struct S{i} {{\n");
            for f in fields {
                let req = if f.required {
                    "required "
                } else if f.optional {
                    "optional "
                } else {
                    ""
                };
                let name = if f.renamed { "renamed" } else { "f" };
                s += &format!("  {}: {req}{} {name}{}\n", f.id, f.ty, f.id);
            }
            s += "}\n";
        }
        s += "service Svc {\n";
        for m in &self.methods {
            s += &format!("  S0 {m}(1: i32 x)\n");
        }
        s + "}\n"
    }
}

const TYPES: [&str; 6] = ["i32", "i64", "string", "bool", "double", "list<i32>"];

fn field() -> impl Strategy<Value = Field> {
    (1i16..60, 0..TYPES.len(), 0u8..3).prop_map(|(id, t, r)| Field {
        id,
        renamed: false,
        ty: TYPES[t],
        required: r == 1,
        optional: r == 2,
    })
}

fn schema() -> impl Strategy<Value = Schema> {
    let fields = proptest::collection::vec(field(), 1..6).prop_map(|mut fs| {
        let mut seen = BTreeSet::new();
        fs.retain(|f| seen.insert(f.id));
        fs
    });
    (
        proptest::collection::vec(fields, 1..4),
        proptest::collection::btree_set(0i32..40, 1..6),
        proptest::collection::btree_set("[a-z]{3,8}", 1..4),
    )
        .prop_map(|(structs, values, methods)| Schema {
            structs,
            values: values.into_iter().collect(),
            // `_m`: random letters can spell a keyword (`map`, `list`, `void`), which no
            // method may be named (E0009); no keyword ends so.
            methods: methods.into_iter().map(|m| format!("{m}_m")).collect(),
        })
}

/// Edits the spec calls wire-compatible.
#[derive(Clone, Debug)]
enum Compatible {
    AddOptionalField(usize),
    AddEnumValue,
    AddMethod,
    WidenI32(usize),
    StringToBinary(usize),
    RenameField(usize),
    DefaultToRequired(usize),
}

/// Edits that break the wire, with the rule that must report them.
#[derive(Clone, Debug)]
enum Breaking {
    ChangeType(usize),
    AddRequiredField(usize),
    RemoveEnumValue,
    RemoveMethod,
    OptionalToRequired(usize),
}

fn compatible() -> impl Strategy<Value = Compatible> {
    prop_oneof![
        any::<usize>().prop_map(Compatible::AddOptionalField),
        Just(Compatible::AddEnumValue),
        Just(Compatible::AddMethod),
        any::<usize>().prop_map(Compatible::WidenI32),
        any::<usize>().prop_map(Compatible::StringToBinary),
        any::<usize>().prop_map(Compatible::RenameField),
        any::<usize>().prop_map(Compatible::DefaultToRequired),
    ]
}

fn breaking() -> impl Strategy<Value = Breaking> {
    prop_oneof![
        any::<usize>().prop_map(Breaking::ChangeType),
        any::<usize>().prop_map(Breaking::AddRequiredField),
        Just(Breaking::RemoveEnumValue),
        Just(Breaking::RemoveMethod),
        any::<usize>().prop_map(Breaking::OptionalToRequired),
    ]
}

fn free_id(fields: &[Field]) -> i16 {
    (1..).find(|id| fields.iter().all(|f| f.id != *id)).unwrap()
}

/// The schema after `edit`; `None` when the edit does not apply to it (nothing to widen).
fn apply_compatible(s: &Schema, edit: &Compatible) -> Option<Schema> {
    let mut n = s.clone();
    let count = n.structs.len();
    let pick = |i: usize| i % count;
    match *edit {
        Compatible::AddOptionalField(i) => {
            let fields = &mut n.structs[pick(i)];
            let id = free_id(fields);
            fields.push(Field {
                id,
                renamed: false,
                ty: "string",
                required: false,
                optional: true,
            });
        }
        Compatible::AddEnumValue => {
            let v = n.values.last().unwrap() + 1;
            n.values.push(v);
        }
        Compatible::AddMethod => n.methods.push(format!("added{}", n.methods.len())),
        Compatible::WidenI32(i) => {
            let f = n.structs[pick(i)].iter_mut().find(|f| f.ty == "i32")?;
            f.ty = "i64";
        }
        Compatible::StringToBinary(i) => {
            let f = n.structs[pick(i)].iter_mut().find(|f| f.ty == "string")?;
            f.ty = "binary";
        }
        // Renames are source breaks only: the wire level must stay silent.
        Compatible::RenameField(i) => n.structs[pick(i)].first_mut()?.renamed = true,
        Compatible::DefaultToRequired(i) => {
            let f = n.structs[pick(i)].iter_mut().find(|f| !f.required && !f.optional)?;
            f.required = true;
        }
    }
    Some(n)
}

fn apply_breaking(s: &Schema, edit: &Breaking) -> Option<(Schema, &'static str)> {
    let mut n = s.clone();
    let count = n.structs.len();
    let pick = |i: usize| i % count;
    match *edit {
        Breaking::ChangeType(i) => {
            let f = n.structs[pick(i)].iter_mut().find(|f| f.ty == "bool" || f.ty == "double")?;
            f.ty = if f.ty == "bool" { "string" } else { "i32" };
            Some((n, "C0101"))
        }
        Breaking::AddRequiredField(i) => {
            let fields = &mut n.structs[pick(i)];
            let id = free_id(fields);
            fields.push(Field { id, renamed: false, ty: "i32", required: true, optional: false });
            Some((n, "C0103"))
        }
        Breaking::RemoveEnumValue => {
            n.values.pop();
            Some((n, "C0105"))
        }
        Breaking::RemoveMethod => {
            n.methods.pop();
            Some((n, "C0107"))
        }
        Breaking::OptionalToRequired(i) => {
            let f = n.structs[pick(i)].iter_mut().find(|f| f.optional)?;
            f.optional = false;
            f.required = true;
            Some((n, "C0102"))
        }
    }
}

fn compile(name: &str, text: &str) -> ferry_idlc::Compilation {
    let c = ferry_idlc::compile_text(Path::new(name), text, &[]);
    assert_eq!(c.error_count(), 0, "{}\n{text}", c.render_plain());
    c
}

fn findings(old: &str, new: &str, level: Level) -> Vec<&'static str> {
    let (old_c, new_c) = (compile("old.thrift", old), compile("new.thrift", new));
    let r = ferry_idlc::CompatReport::new(old_c, new_c, level, &[]).unwrap();
    r.findings.iter().map(|f| f.code).collect()
}

fn value(ty: &str, rng: &mut Rng) -> Json {
    let n = rng.next();
    match ty {
        "i32" => json!(n as i32),
        "i64" => json!(n as i64),
        "bool" => json!(n & 1 == 1),
        "double" => json!(f64::from(n as i32) / 8.0),
        "string" => json!(["", "a", "é ü", "ferry"][(n % 4) as usize]),
        "binary" => json!(base64::engine::general_purpose::STANDARD.encode(n.to_le_bytes())),
        "list<i32>" => Json::Array((0..n % 4).map(|i| json!(i as i32 - 1)).collect()),
        other => panic!("no values for {other}"),
    }
}

/// A value of struct `fields` (as OLD names them): required fields always, the others
/// sometimes; `absent` is left out whatever it is.
fn message(fields: &[Field], rng: &mut Rng, absent: Option<i16>) -> Json {
    let mut out = Map::new();
    for f in fields {
        if Some(f.id) != absent && (f.required || rng.coin()) {
            let name = if f.renamed { "renamed".to_owned() } else { format!("f{}", f.id) };
            out.insert(name, value(f.ty, rng));
        }
    }
    Json::Object(out)
}

fn struct_ref(p: &Program, name: &str) -> DefRef {
    let index = p.files[0].definitions.iter().position(|d| d.name == name).unwrap();
    DefRef { file: 0, index }
}

/// Both versions' models, and the shape of struct `Si` in each.
struct Versions {
    old: Program,
    new: Program,
}

impl Versions {
    fn new(old: &Schema, new: &Schema) -> Versions {
        let old = compile("old.thrift", &old.render()).model().unwrap();
        let new = compile("new.thrift", &new.render()).model().unwrap();
        Versions { old, new }
    }

    fn shapes<'a>(&self, codecs: &'a (Codec<'a>, Codec<'a>), i: usize) -> (Shape<'a>, Shape<'a>) {
        let name = format!("S{i}");
        let old = codecs.0.shape(struct_ref(&self.old, &name)).unwrap();
        let new = codecs.1.shape(struct_ref(&self.new, &name)).unwrap();
        (old, new)
    }
}

fn new_text(s: &Schema, edits: &[Compatible]) -> String {
    let mut new = s.clone();
    for e in edits {
        if let Some(n) = apply_compatible(&new, e) {
            new = n;
        }
    }
    new.render()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn compatible_edits_pass_the_wire_level(s in schema(), edits in proptest::collection::vec(compatible(), 1..4)) {
        let mut new = s.clone();
        for e in &edits {
            if let Some(n) = apply_compatible(&new, e) {
                new = n;
            }
        }
        let new_text = new.render();
        let found = findings(&s.render(), &new_text, Level::Wire);
        prop_assert!(found.is_empty(), "compatible edits {edits:?} reported {found:?}\nOLD:\n{}\nNEW:\n{new_text}", s.render());
    }

    #[test]
    fn messages_of_old_decode_with_new_and_come_back(s in schema(), edits in proptest::collection::vec(compatible(), 1..4), seed in 1u64..) {
        let mut new = s.clone();
        for e in &edits {
            if let Some(n) = apply_compatible(&new, e) {
                new = n;
            }
        }
        let v = Versions::new(&s, &new);
        let codecs = (Codec::new(&v.old), Codec::new(&v.new));
        let mut rng = Rng(seed);
        for (i, fields) in s.structs.iter().enumerate() {
            let (old, new) = v.shapes(&codecs, i);
            let json = message(fields, &mut rng, None);
            let bytes = codecs.0.encode(old, &json).unwrap();
            let as_new = codecs.1.decode(new, &bytes);
            prop_assert!(as_new.is_ok(), "S{i} {json} from OLD does not decode with NEW after {edits:?}: {as_new:?}\nNEW:\n{}", new_text(&s, &edits));
            let back = codecs.1.encode(new, &as_new.unwrap()).unwrap();
            prop_assert_eq!(codecs.0.decode(old, &back).unwrap(), codecs.0.decode(old, &bytes).unwrap(), "S{} through NEW and back", i);
        }
    }

    #[test]
    fn breaking_edits_have_a_message_that_shows_them(s in schema(), edit in breaking(), seed in 1u64..) {
        let Some((new, code)) = apply_breaking(&s, &edit) else { return Ok(()) };
        // Enum values and methods are not in these messages.
        if matches!(edit, Breaking::RemoveEnumValue | Breaking::RemoveMethod) {
            return Ok(());
        }
        let v = Versions::new(&s, &new);
        let codecs = (Codec::new(&v.old), Codec::new(&v.new));
        let mut rng = Rng(seed);
        // The struct the edit touched is the one whose fields differ.
        let i = (0..s.structs.len()).find(|&i| format!("{:?}", s.structs[i]) != format!("{:?}", new.structs[i])).unwrap();
        let (old, new_shape) = v.shapes(&codecs, i);
        // Optional → required breaks messages without the field; a type change, those with it.
        let absent = match edit {
            Breaking::OptionalToRequired(_) => s.structs[i].iter().zip(&new.structs[i]).find(|(a, b)| a.optional != b.optional).map(|(a, _)| a.id),
            _ => None,
        };
        let mut json = message(&s.structs[i], &mut rng, absent);
        if let Breaking::ChangeType(_) = edit {
            let f = s.structs[i].iter().zip(&new.structs[i]).find(|(a, b)| a.ty != b.ty).unwrap().0;
            json[format!("f{}", f.id)] = value(f.ty, &mut rng);
        }
        let bytes = codecs.0.encode(old, &json).unwrap();
        prop_assert!(codecs.1.decode(new_shape, &bytes).is_err(), "{edit:?} ({code}) but S{i} {json} decodes with NEW");
    }

    #[test]
    fn breaking_edits_report_their_rule(s in schema(), edit in breaking()) {
        // Removing the last enum value or method needs one to remain.
        prop_assume!(s.values.len() > 1 || !matches!(edit, Breaking::RemoveEnumValue));
        if let Some((new, code)) = apply_breaking(&s, &edit) {
            let found = findings(&s.render(), &new.render(), Level::Wire);
            prop_assert!(found.contains(&code), "{edit:?} should report {code}, got {found:?}\nOLD:\n{}\nNEW:\n{}", s.render(), new.render());
        }
    }
}
