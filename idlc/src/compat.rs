//! `idlc compat`: is NEW compatible with OLD? Compares two checked models definition by
//! definition (matched by file and name) and reports each break as a [`Finding`] with
//! spans in both versions. The rules and their codes are spec/idl.md § 8.
//!
//! Two levels: *wire* (would a peer built from one version misread or reject the other's
//! messages or calls) and *source* (would code generated from NEW stop compiling for code
//! written against OLD: renames and removals). `source` includes `wire`.

use std::collections::{BTreeMap, BTreeSet};

use codespan_reporting::diagnostic::{Diagnostic, Label};

use crate::model::{
    BaseType, Definition, DefinitionKind, Field, Method, Program, Requiredness, StructKind, Type,
};
use crate::span::FileSpan;

/// What `idlc compat` checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Messages and calls between peers built from either version.
    Wire,
    /// Also: code generated from NEW compiles where code from OLD did.
    Source,
}

/// One incompatibility.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Stable code (`C0101` …), listed in spec/idl.md § 8.
    pub code: &'static str,
    /// The level it breaks at.
    pub level: Level,
    /// What changed, in one sentence.
    pub message: String,
    /// Where it was in OLD, with a label ("was `i32` here").
    pub old: Option<(FileSpan, String)>,
    /// Where it is in NEW.
    pub new: Option<(FileSpan, String)>,
    /// What to do instead.
    pub help: String,
}

impl Finding {
    /// A codespan diagnostic; OLD's files are numbered from 0 and NEW's from `new_base`.
    pub fn to_diagnostic(&self, new_base: usize) -> Diagnostic<usize> {
        let mut labels = Vec::new();
        if let Some((at, text)) = &self.new {
            labels.push(Label::primary(new_base + at.file, at.span.range()).with_message(text));
        }
        if let Some((at, text)) = &self.old {
            let label = if labels.is_empty() {
                Label::primary(at.file, at.span.range())
            } else {
                Label::secondary(at.file, at.span.range())
            };
            labels.push(label.with_message(text));
        }
        let kind = match self.level {
            Level::Wire => "wire",
            Level::Source => "source",
        };
        Diagnostic::error()
            .with_message(&self.message)
            .with_code(self.code)
            .with_labels(labels)
            .with_notes(vec![
                format!("help: {}", self.help),
                format!(
                    "note: a {kind} break; to accept it, annotate NEW with \
                     `(ferry.compat.allow = \"{}\")` or pass `--allow {}`",
                    self.code, self.code
                ),
            ])
    }
}

/// Every incompatibility of `new` with `old` at `level`, minus those `allow`ed (by code) or
/// allowed in NEW by a `ferry.compat.allow` annotation on the definition, field or method.
pub fn compare(old: &Program, new: &Program, level: Level, allow: &[String]) -> Vec<Finding> {
    let mut c = Compare { old, new, findings: Vec::new() };
    c.programs();
    c.findings
        .into_iter()
        .filter(|f| f.level <= level && !allow.iter().any(|a| a == f.code))
        .collect()
}

struct Compare<'p> {
    old: &'p Program,
    new: &'p Program,
    findings: Vec<Finding>,
}

/// `ferry.compat.allow = "C0101, C0104"`.
/// `d`'s `ferry.reserved` retires `id`.
fn reserves(d: &Definition, id: i16) -> bool {
    d.annotations
        .get("ferry.reserved")
        .and_then(|v| crate::check::reserved_ranges(v))
        .is_some_and(|r| r.iter().any(|&(lo, hi)| (lo..=hi).contains(&i64::from(id))))
}

fn allows(annotations: &BTreeMap<String, String>, code: &str) -> bool {
    annotations
        .get("ferry.compat.allow")
        .is_some_and(|v| v.split(',').any(|c| c.trim().eq_ignore_ascii_case(code)))
}

fn type_name(p: &Program, t: &Type) -> String {
    match t {
        Type::Base(b) => b.name().to_owned(),
        Type::List(e) => format!("list<{}>", type_name(p, e)),
        Type::Set(e) => format!("set<{}>", type_name(p, e)),
        Type::Map(k, v) => format!("map<{}, {}>", type_name(p, k), type_name(p, v)),
        Type::Named(r) => p.definition(*r).name.clone(),
    }
}

fn kind_name(d: &Definition) -> &'static str {
    match &d.kind {
        DefinitionKind::Const { .. } => "constant",
        DefinitionKind::Typedef { .. } => "typedef",
        DefinitionKind::Enum { .. } => "enum",
        DefinitionKind::Struct { kind: StructKind::Struct, .. } => "struct",
        DefinitionKind::Struct { kind: StructKind::Union, .. } => "union",
        DefinitionKind::Struct { kind: StructKind::Exception, .. } => "exception",
        DefinitionKind::Service { .. } => "service",
    }
}

fn requiredness(r: Requiredness) -> &'static str {
    match r {
        Requiredness::Required => "required",
        Requiredness::Optional => "optional",
        Requiredness::Default => "of default requiredness",
    }
}

fn integer_range(b: BaseType) -> Option<(bool, u32)> {
    Some(match b {
        BaseType::I8 => (true, 8),
        BaseType::I16 => (true, 16),
        BaseType::I32 => (true, 32),
        BaseType::I64 => (true, 64),
        BaseType::U8 => (false, 8),
        BaseType::U16 => (false, 16),
        BaseType::U32 => (false, 32),
        BaseType::U64 => (false, 64),
        _ => return None,
    })
}

/// What a type is on the wire, for comparison: typedefs followed, enums as i32.
enum Shape<'p> {
    Base(BaseType),
    List(&'p Type),
    Map(&'p Type, &'p Type),
    Struct(&'p Definition),
}

fn shape<'p>(p: &'p Program, t: &'p Type) -> Shape<'p> {
    match p.underlying(t) {
        Type::Base(b) => Shape::Base(*b),
        Type::List(e) | Type::Set(e) => Shape::List(e),
        Type::Map(k, v) => Shape::Map(k, v),
        Type::Named(r) => {
            let d = p.definition(*r);
            match d.kind {
                DefinitionKind::Enum { .. } => Shape::Base(BaseType::I32),
                _ => Shape::Struct(d),
            }
        }
    }
}

impl<'p> Compare<'p> {
    fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Can a reader of `new` read every value a writer of `old` sends? `Err(why)` if not.
    /// Widening integers is accepted (spec/wire.md § 10: readers of the narrower type
    /// reject values only the wider one holds).
    fn type_compatible(&self, old: &Type, new: &Type) -> Result<(), String> {
        // A typedef kept by name is compared once, where it is defined.
        if let (Type::Named(a), Type::Named(b)) = (old, new) {
            let (a, b) = (self.old.definition(*a), self.new.definition(*b));
            if a.name == b.name
                && matches!(a.kind, DefinitionKind::Typedef { .. })
                && matches!(b.kind, DefinitionKind::Typedef { .. })
            {
                return Ok(());
            }
        }
        let (o, n) = (shape(self.old, old), shape(self.new, new));
        match (o, n) {
            (Shape::Base(a), Shape::Base(b)) if a == b => Ok(()),
            (Shape::Base(a), Shape::Base(b)) => match (integer_range(a), integer_range(b)) {
                (Some((sa, _)), Some((sb, _))) if sa != sb => {
                    Err("signed and unsigned integers are encoded differently (zigzag or not): \
                         every value would be misread"
                        .into())
                }
                (Some((_, wa)), Some((_, wb))) if wb < wa => Err(format!(
                    "narrower: values of `{}` above the range of `{}` are rejected",
                    a.name(),
                    b.name()
                )),
                (Some(_), Some(_)) => Ok(()),
                _ => match (a, b) {
                    (BaseType::String | BaseType::Uuid, BaseType::Binary) => Ok(()),
                    (BaseType::Binary, BaseType::String) => {
                        Err("binary values that are not UTF-8 are rejected as strings".into())
                    }
                    (BaseType::Binary | BaseType::String, BaseType::Uuid) => {
                        Err("values that are not 16 bytes are rejected as uuids".into())
                    }
                    _ => Err(format!("`{}` and `{}` have different encodings", a.name(), b.name())),
                },
            },
            (Shape::List(a), Shape::List(b)) => self.type_compatible(a, b),
            (Shape::Map(ka, va), Shape::Map(kb, vb)) => {
                self.type_compatible(ka, kb)?;
                self.type_compatible(va, vb)
            }
            // Struct contents are compared where the struct is defined; a struct of another
            // name is another type (a rename is reported once, at the definition).
            (Shape::Struct(a), Shape::Struct(b)) if a.name == b.name => Ok(()),
            (Shape::Struct(a), Shape::Struct(b)) => {
                Err(format!("`{}` and `{}` are different types", a.name, b.name))
            }
            _ => Err(format!(
                "`{}` and `{}` are different wire types",
                type_name(self.old, old),
                type_name(self.new, new)
            )),
        }
    }

    fn programs(&mut self) {
        // Root files are matched in order (`idlc compat old.thrift new.thrift`), included
        // ones by their include name (the file name without `.thrift`).
        let mut pairs: Vec<(usize, usize)> =
            self.old.roots.iter().copied().zip(self.new.roots.iter().copied()).collect();
        for (n, new_file) in self.new.files.iter().enumerate() {
            if pairs.iter().any(|&(_, b)| b == n) {
                continue;
            }
            if let Some(o) =
                self.old.files.iter().position(|f| f.include_name == new_file.include_name)
            {
                if !pairs.iter().any(|&(a, _)| a == o) {
                    pairs.push((o, n));
                }
            }
        }
        for (o, n) in pairs {
            let (old_file, new_file) = (&self.old.files[o], &self.new.files[n]);
            for scope in ["rs", "c", "*"] {
                let (a, b) = (old_file.namespaces.get(scope), new_file.namespaces.get(scope));
                if a != b {
                    let at = |f: &crate::model::File| f.definitions.first().map(|d| d.span);
                    self.push(Finding {
                        code: "C0204",
                        level: Level::Source,
                        message: format!(
                            "`namespace {scope}` changed from {} to {}",
                            a.map_or("none".into(), |n| format!("`{n}`")),
                            b.map_or("none".into(), |n| format!("`{n}`"))
                        ),
                        old: at(old_file).map(|s| (s, "this file's first definition in OLD".into())),
                        new: at(new_file).map(|s| (s, "and in NEW".into())),
                        help: "generated code moves to another module or prefix: code using it must change".into(),
                    });
                }
            }
            for od in &old_file.definitions {
                match new_file.definitions.iter().find(|d| d.name == od.name) {
                    Some(nd) => self.definition(od, nd),
                    None => self.push(Finding {
                        code: "C0202",
                        level: Level::Source,
                        message: format!("{} `{}` was removed (or renamed)", kind_name(od), od.name),
                        old: Some((od.span, "defined here in OLD".into())),
                        new: None,
                        help: "code that names it stops compiling; keep it (deprecated) or accept the break".into(),
                    }),
                }
            }
        }
    }

    fn definition(&mut self, od: &'p Definition, nd: &'p Definition) {
        let before = self.findings.len();
        match (&od.kind, &nd.kind) {
            (
                DefinitionKind::Struct { kind: ok, fields: of },
                DefinitionKind::Struct { kind: nk, fields: nf },
            ) if ok == nk || (*ok != StructKind::Union && *nk != StructKind::Union) => {
                let what = format!("{} `{}`", kind_name(nd), nd.name);
                self.fields(&what, *nk == StructKind::Union, of, nf, Some(nd));
            }
            (DefinitionKind::Enum { values: ov }, DefinitionKind::Enum { values: nv }) => {
                for o in ov {
                    match nv.iter().find(|n| n.name == o.name) {
                        Some(n) if n.value != o.value => self.push(Finding {
                            code: "C0105",
                            level: Level::Wire,
                            message: format!("enum value `{}.{}` was renumbered from {} to {}", nd.name, o.name, o.value, n.value),
                            old: Some((o.span, format!("was {} here", o.value))),
                            new: Some((n.span, format!("is {} here", n.value))),
                            help: "numbers are what travel: keep the old number and add a new value instead".into(),
                        }),
                        Some(_) => {}
                        None => match nv.iter().find(|n| n.value == o.value) {
                            Some(n) => self.push(Finding {
                                code: "C0203",
                                level: Level::Source,
                                message: format!("enum value `{}.{}` was renamed to `{}`", nd.name, o.name, n.name),
                                old: Some((o.span, "was this name".into())),
                                new: Some((n.span, "is this name now".into())),
                                help: "the wire is unchanged; code naming the old value stops compiling".into(),
                            }),
                            None => self.push(Finding {
                                code: "C0105",
                                level: Level::Wire,
                                message: format!("enum value `{}.{}` ({}) was removed", nd.name, o.name, o.value),
                                old: Some((o.span, "defined here in OLD".into())),
                                new: Some((nd.span, "the enum in NEW".into())),
                                help: "peers built from OLD still send it; NEW readers see an unnamed number. Keep the value (deprecated)".into(),
                            }),
                        },
                    }
                }
            }
            (DefinitionKind::Service { .. }, DefinitionKind::Service { extends: ne, .. }) => {
                let (om, nm) = (self.methods(self.old, od), self.methods(self.new, nd));
                for (name, o) in &om {
                    match nm.get(name) {
                        Some(n) => self.method(&nd.name, o, n),
                        None => self.push(Finding {
                            code: "C0107",
                            level: Level::Wire,
                            message: format!("method `{}.{name}` was removed (or renamed)", nd.name),
                            old: Some((o.span, "defined here in OLD".into())),
                            new: Some((nd.span, "the service in NEW".into())),
                            help: "clients built from OLD get `unknown method`; a method's id is its name, so a rename is a removal".into(),
                        }),
                    }
                }
                let name_of = |p: &Program, d: &Definition| match &d.kind {
                    DefinitionKind::Service { extends, .. } => {
                        extends.map(|r| p.definition(r).name.clone())
                    }
                    _ => None,
                };
                let (oe, nee) =
                    (name_of(self.old, od), ne.map(|r| self.new.definition(r).name.clone()));
                if oe != nee {
                    self.push(Finding {
                        code: "C0109",
                        level: Level::Source,
                        message: format!(
                            "service `{}` extended {} and now extends {}",
                            nd.name,
                            oe.map_or("nothing".into(), |n| format!("`{n}`")),
                            nee.map_or("nothing".into(), |n| format!("`{n}`"))
                        ),
                        old: Some((od.span, "in OLD".into())),
                        new: Some((nd.span, "in NEW".into())),
                        help: "the generated trait's supertrait changes; methods that left are reported on their own".into(),
                    });
                }
            }
            (DefinitionKind::Typedef { target: o }, DefinitionKind::Typedef { target: n }) => {
                if let Err(why) = self.type_compatible(o, n) {
                    self.push(Finding {
                        code: "C0101",
                        level: Level::Wire,
                        message: format!(
                            "typedef `{}` changed from `{}` to `{}`",
                            nd.name,
                            type_name(self.old, o),
                            type_name(self.new, n)
                        ),
                        old: Some((od.span, format!("was `{}`", type_name(self.old, o)))),
                        new: Some((nd.span, format!("is `{}`", type_name(self.new, n)))),
                        help: why,
                    });
                }
            }
            (DefinitionKind::Const { .. }, DefinitionKind::Const { .. }) => {}
            _ => self.push(Finding {
                code: "C0110",
                level: Level::Wire,
                message: format!(
                    "`{}` was a {} and is a {} now",
                    nd.name,
                    kind_name(od),
                    kind_name(nd)
                ),
                old: Some((od.span, format!("a {} here", kind_name(od)))),
                new: Some((nd.span, format!("a {} here", kind_name(nd)))),
                help: "define a new type under a new name instead".into(),
            }),
        }
        // Findings inside a definition are allowed by an annotation on it.
        let findings = self.findings.split_off(before);
        self.findings.extend(findings.into_iter().filter(|f| !allows(&nd.annotations, f.code)));
    }

    /// A service's methods by name, inherited ones included (a method moving to a base
    /// service is no change on the wire).
    fn methods(&self, p: &'p Program, d: &'p Definition) -> BTreeMap<String, &'p Method> {
        let mut out = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let mut next = Some(d);
        while let Some(d) = next {
            if !seen.insert(&d.name) {
                break;
            }
            next = None;
            if let DefinitionKind::Service { extends, methods } = &d.kind {
                for m in methods {
                    out.entry(m.name.clone()).or_insert(m);
                }
                next = extends.map(|r| p.definition(r));
            }
        }
        out
    }

    fn method(&mut self, service: &str, o: &'p Method, n: &'p Method) {
        let before = self.findings.len();
        let what = format!("`{service}.{}`", n.name);
        if o.oneway != n.oneway {
            let is = |m: &Method| if m.oneway { "oneway" } else { "a call with a reply" };
            self.push(Finding {
                code: "C0108",
                level: Level::Wire,
                message: format!("method {what} was {} and is {} now", is(o), is(n)),
                old: Some((o.span, is(o).into())),
                new: Some((n.span, is(n).into())),
                help: "a client waits for a reply a oneway server never sends (or the reverse): add a new method".into(),
            });
        }
        self.fields(&format!("the arguments of {what}"), false, &o.params, &n.params, None);
        match (&o.returns, &n.returns) {
            (Some(a), Some(b)) => {
                if let Err(why) = self.type_compatible(a, b) {
                    self.push(Finding {
                        code: "C0101",
                        level: Level::Wire,
                        message: format!(
                            "method {what} returned `{}` and returns `{}` now",
                            type_name(self.old, a),
                            type_name(self.new, b)
                        ),
                        old: Some((o.span, format!("returned `{}`", type_name(self.old, a)))),
                        new: Some((n.span, format!("returns `{}`", type_name(self.new, b)))),
                        help: why,
                    });
                }
            }
            (Some(a), None) => self.push(Finding {
                code: "C0101",
                level: Level::Wire,
                message: format!(
                    "method {what} returned `{}` and returns nothing now",
                    type_name(self.old, a)
                ),
                old: Some((o.span, format!("returned `{}`", type_name(self.old, a)))),
                new: Some((n.span, "returns `void`".into())),
                help: "clients built from OLD get a reply without a result (a bad reply)".into(),
            }),
            _ => {}
        }
        for ne in &n.throws {
            match o.throws.iter().find(|oe| oe.id == ne.id) {
                None => self.push(Finding {
                    code: "C0112",
                    level: Level::Wire,
                    message: format!("method {what} throws `{}` now", type_name(self.new, &ne.ty)),
                    old: Some((o.span, "without it in OLD".into())),
                    new: Some((ne.span, "added here".into())),
                    help: "clients built from OLD cannot read this exception: they see a reply without a result".into(),
                }),
                Some(oe) => {
                    if let Err(why) = self.type_compatible(&oe.ty, &ne.ty) {
                        self.push(Finding {
                            code: "C0101",
                            level: Level::Wire,
                            message: format!("exception {} of method {what} changed type", ne.id),
                            old: Some((oe.type_span, format!("was `{}`", type_name(self.old, &oe.ty)))),
                            new: Some((ne.type_span, format!("is `{}`", type_name(self.new, &ne.ty)))),
                            help: why,
                        });
                    }
                }
            }
        }
        let findings = self.findings.split_off(before);
        self.findings.extend(findings.into_iter().filter(|f| !allows(&n.annotations, f.code)));
    }

    /// The fields of a struct, union, exception or argument list, matched by id.
    fn fields(
        &mut self,
        what: &str,
        union: bool,
        old: &'p [Field],
        new: &'p [Field],
        def: Option<&Definition>,
    ) {
        for of in old {
            let Some(nf) = new.iter().find(|f| f.id == of.id) else {
                if union {
                    self.push(Finding {
                        code: "C0106",
                        level: Level::Wire,
                        message: format!("member {} `{}` of {what} was removed", of.id, of.name),
                        old: Some((of.span, "defined here in OLD".into())),
                        new: def.map(|d| (d.span, "the union in NEW".into())),
                        help: "peers built from OLD still send it; NEW readers see an unknown member. Keep it".into(),
                    });
                } else if of.requiredness == Requiredness::Required {
                    self.push(Finding {
                        code: "C0104",
                        level: Level::Wire,
                        message: format!("required field {} `{}` of {what} was removed", of.id, of.name),
                        old: Some((of.span, "required here in OLD".into())),
                        new: def.map(|d| (d.span, "not in NEW".into())),
                        help: "readers built from OLD reject every message NEW writes: make it optional first, and remove it once no such reader is left".into(),
                    });
                } else if let Some(d) = def.filter(|d| !reserves(d, of.id)) {
                    self.push(Finding {
                        code: "C0205",
                        level: Level::Source,
                        message: format!(
                            "field {} `{}` of {what} was removed without reserving its id",
                            of.id, of.name
                        ),
                        old: Some((of.span, "defined here in OLD".into())),
                        new: Some((d.span, "the definition in NEW".into())),
                        help: format!(
                            "the wire is unchanged, but a later field given id {} would be read by OLD peers as `{}`: add `(ferry.reserved = \"{}\")`",
                            of.id, of.name, of.id
                        ),
                    });
                }
                continue;
            };
            let before = self.findings.len();
            if let Err(why) = self.type_compatible(&of.ty, &nf.ty) {
                self.push(Finding {
                    code: "C0101",
                    level: Level::Wire,
                    message: format!(
                        "field {} `{}` of {what} changed type from `{}` to `{}`",
                        nf.id,
                        nf.name,
                        type_name(self.old, &of.ty),
                        type_name(self.new, &nf.ty)
                    ),
                    old: Some((
                        of.type_span,
                        format!("was `{}` here", type_name(self.old, &of.ty)),
                    )),
                    new: Some((nf.type_span, format!("is `{}` here", type_name(self.new, &nf.ty)))),
                    help: format!("{why}; add a field with a new id instead"),
                });
            }
            let tightened = of.requiredness == Requiredness::Optional
                && nf.requiredness == Requiredness::Required;
            let loosened = of.requiredness == Requiredness::Required
                && nf.requiredness == Requiredness::Optional;
            if tightened || loosened {
                let (who, why) = if tightened {
                    ("readers built from NEW reject", "messages from OLD writers that leave it out")
                } else {
                    ("readers built from OLD reject", "messages from NEW writers that leave it out")
                };
                self.push(Finding {
                    code: "C0102",
                    level: Level::Wire,
                    message: format!(
                        "field {} `{}` of {what} was {} and is {} now",
                        nf.id,
                        nf.name,
                        requiredness(of.requiredness),
                        requiredness(nf.requiredness)
                    ),
                    old: Some((of.span, format!("{} here", requiredness(of.requiredness)))),
                    new: Some((nf.span, format!("{} here", requiredness(nf.requiredness)))),
                    help: format!("{who} {why}"),
                });
            }
            if of.name != nf.name {
                self.push(Finding {
                    code: "C0201",
                    level: Level::Source,
                    message: format!("field {} of {what} was renamed from `{}` to `{}`", nf.id, of.name, nf.name),
                    old: Some((of.span, "was this name".into())),
                    new: Some((nf.span, "is this name now".into())),
                    help: "the wire is unchanged (ids travel, not names); code naming the field stops compiling".into(),
                });
            }
            let findings = self.findings.split_off(before);
            self.findings.extend(findings.into_iter().filter(|f| !allows(&nf.annotations, f.code)));
        }
        for nf in new {
            if nf.requiredness == Requiredness::Required && !old.iter().any(|f| f.id == nf.id) {
                let finding = Finding {
                    code: "C0103",
                    level: Level::Wire,
                    message: format!("required field {} `{}` was added to {what}", nf.id, nf.name),
                    old: None,
                    new: Some((nf.span, "added here".into())),
                    help: "readers built from NEW reject every message OLD writers send: add it as optional".into(),
                };
                if !allows(&nf.annotations, finding.code) {
                    self.push(finding);
                }
            }
        }
    }
}
