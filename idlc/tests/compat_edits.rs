//! `idlc compat` on random schemas and random edits: every edit the spec calls
//! wire-compatible (spec/idl.md § 8) yields no wire finding, and every breaking edit yields
//! the finding of its rule. The schemas are this test's own small model, rendered to IDL,
//! so each edit is known to be of one kind.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use std::collections::BTreeSet;

use ferry_idlc::compat::Level;
use proptest::prelude::*;

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
            methods: methods.into_iter().collect(),
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

fn findings(old: &str, new: &str, level: Level) -> Vec<&'static str> {
    let dir = std::env::temp_dir().join(format!(
        "ferry-compat-edits-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (o, n) = (dir.join("old.thrift"), dir.join("new.thrift"));
    std::fs::write(&o, old).unwrap();
    std::fs::write(&n, new).unwrap();
    let old_c = ferry_idlc::compile(&[o], &[]).unwrap();
    let new_c = ferry_idlc::compile(&[n], &[]).unwrap();
    assert_eq!(old_c.error_count(), 0, "{}\n{old}", old_c.render_plain());
    assert_eq!(new_c.error_count(), 0, "{}\n{new}", new_c.render_plain());
    let r = ferry_idlc::CompatReport::new(old_c, new_c, level, &[]).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    r.findings.iter().map(|f| f.code).collect()
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
    fn breaking_edits_report_their_rule(s in schema(), edit in breaking()) {
        // Removing the last enum value or method needs one to remain.
        prop_assume!(s.values.len() > 1 || !matches!(edit, Breaking::RemoveEnumValue));
        if let Some((new, code)) = apply_breaking(&s, &edit) {
            let found = findings(&s.render(), &new.render(), Level::Wire);
            prop_assert!(found.contains(&code), "{edit:?} should report {code}, got {found:?}\nOLD:\n{}\nNEW:\n{}", s.render(), new.render());
        }
    }
}
