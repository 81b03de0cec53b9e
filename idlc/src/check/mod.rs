//! Name resolution and semantic checks over every loaded file, producing the model.
//!
//! Checks never stop early: each finds what it can, reports with spans, and goes on with a
//! best guess, so a file with ten mistakes gets ten diagnostics.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::diagnostics::{suggest, Problem};
use crate::model::{self, DefRef, Type, Value};
use crate::sources::SourceMap;
use crate::span::{FileId, FileSpan, Span};
mod recursion;

use crate::syntax::ast::{
    Annotation, BaseType, ConstExpr, ConstKind, Definition, DefinitionKind, Field, Header,
    Requiredness, StructKind, TypeExpr, TypeKind,
};

/// The Ferry annotations the runtime honours, on service methods.
pub const FERRY_ANNOTATIONS: &[&str] = &[
    "ferry.timeout_ms",
    "ferry.idempotent",
    "ferry.borrow",
    "ferry.compat.allow",
    "ferry.reserved",
];

/// Checks every file in `sources`, appending problems to each file's list.
pub fn check(sources: &mut SourceMap) {
    let mut checker = Checker::new(sources);
    checker.run();
    let Checker { problems, .. } = checker;
    for (file, problem) in problems {
        sources.files[file].problems.push(problem);
    }
}

/// Builds the resolved model of checked sources; `None` if any file has an error.
/// Separate from [`check`] because only back ends need it (`idlc check` does not).
pub fn build_model(sources: &SourceMap) -> Option<model::Program> {
    if sources.files.iter().any(|f| f.problems.iter().any(Problem::is_error)) {
        return None;
    }
    Checker::new(sources).build()
}

struct Checker<'s> {
    sources: &'s SourceMap,
    /// Per file: definition name → index (the first definition of a name wins).
    tables: Vec<HashMap<&'s str, usize>>,
    problems: Vec<(FileId, Problem)>,
    typedefs: HashMap<DefRef, Option<Type>>,
    typedefs_in_progress: HashSet<DefRef>,
}

impl<'s> Checker<'s> {
    fn new(sources: &'s SourceMap) -> Self {
        let mut problems = Vec::new();
        let tables = sources
            .files
            .iter()
            .enumerate()
            .map(|(file, f)| {
                let mut table: HashMap<&str, usize> = HashMap::default();
                for (index, def) in f.document.definitions.iter().enumerate() {
                    if def.name.name.is_empty() {
                        continue; // already reported as a syntax error
                    }
                    if let Some(&first) = table.get(def.name.name.as_str()) {
                        problems.push((
                            file,
                            Problem::DuplicateDefinition {
                                name: def.name.name.to_string(),
                                previous: f.document.definitions[first].name.span,
                                span: def.name.span,
                            },
                        ));
                    } else {
                        table.insert(def.name.name.as_str(), index);
                    }
                }
                table
            })
            .collect();
        Checker {
            sources,
            tables,
            problems,
            typedefs: HashMap::default(),
            typedefs_in_progress: HashSet::default(),
        }
    }

    fn def(&self, r: DefRef) -> &'s Definition {
        &self.sources.files[r.file].document.definitions[r.index]
    }

    fn report(&mut self, file: FileId, p: Problem) {
        self.problems.push((file, p));
    }

    // ---- lookup

    /// Resolves `name` as seen from `file`: a local definition, or `include.Name`.
    fn lookup(&self, file: FileId, name: &str) -> Option<DefRef> {
        if let Some(&index) = self.tables[file].get(name) {
            return Some(DefRef { file, index });
        }
        // `include.Name`, where the include's name may itself have dots (`a.b.c.thrift`):
        // the longest include name that prefixes `name` wins.
        let (target, rest) = self.sources.files[file]
            .includes
            .iter()
            .filter_map(|(n, target)| {
                let rest = name.strip_prefix(n.as_str())?.strip_prefix('.')?;
                Some((*target, rest, n.len()))
            })
            .max_by_key(|(_, _, len)| *len)
            .map(|(target, rest, _)| (target, rest))?;
        self.tables[target].get(rest).map(|&index| DefRef { file: target, index })
    }

    /// The enum that `qualifier` names in a constant `qualifier.VALUE` read where `expected`
    /// belongs: an enum, a typedef of one, or — as Apache Thrift resolves it — a name not
    /// visible here whose last part is the expected enum's own name (`E.A` for a field of
    /// type `Types.E`).
    fn enum_of_qualifier(
        &mut self,
        file: FileId,
        qualifier: &str,
        expected: &Type,
        value: &str,
    ) -> Option<DefRef> {
        if let Some(r) = self.lookup(file, qualifier) {
            match &self.def(r).kind {
                DefinitionKind::Enum { .. } => return Some(r),
                DefinitionKind::Typedef { target } => {
                    let target = target.clone();
                    if let Some(t) = self.resolve_type_quiet(r.file, &target) {
                        if let Type::Named(e) = self.underlying(&t) {
                            if matches!(self.def(e).kind, DefinitionKind::Enum { .. }) {
                                return Some(e);
                            }
                        }
                    }
                }
                // Another kind of definition with that name here (a struct `E` beside the
                // included enum `E`): the expected enum's rule below still applies.
                _ => {}
            }
        }
        let Type::Named(e) = self.underlying(expected) else { return None };
        let d = self.def(e);
        let DefinitionKind::Enum { values } = &d.kind else { return None };
        let own = d.name.name.as_str();
        let names_it = qualifier == own || qualifier.ends_with(&format!(".{own}"));
        (names_it && values.iter().any(|v| v.name.name == value)).then_some(e)
    }

    /// Every name visible from `file` whose definition satisfies `keep`.
    fn visible(&self, file: FileId, keep: impl Fn(&DefinitionKind) -> bool) -> Vec<String> {
        let f = &self.sources.files[file];
        let mut out: Vec<String> = f
            .document
            .definitions
            .iter()
            .filter(|d| keep(&d.kind))
            .map(|d| d.name.name.to_string())
            .collect();
        for (prefix, target) in &f.includes {
            for d in &self.sources.files[*target].document.definitions {
                if keep(&d.kind) {
                    out.push(format!("{prefix}.{}", d.name.name));
                }
            }
        }
        out
    }

    fn suggest_among(
        &self,
        file: FileId,
        name: &str,
        keep: impl Fn(&DefinitionKind) -> bool,
    ) -> Option<String> {
        let candidates = self.visible(file, keep);
        suggest(name, candidates.iter().map(String::as_str))
    }

    // ---- types

    fn resolve_type(&mut self, file: FileId, ty: &TypeExpr) -> Option<Type> {
        self.check_annotations(file, &ty.annotations, false);
        Some(match &ty.kind {
            TypeKind::Base(b) => Type::Base(*b),
            TypeKind::List(e) => Type::List(Box::new(self.resolve_type(file, e)?)),
            TypeKind::Set(e) => Type::Set(Box::new(self.resolve_type(file, e)?)),
            TypeKind::Map(k, v) => {
                let key = self.resolve_type(file, k);
                let value = self.resolve_type(file, v);
                let key = key?;
                if let Type::Base(BaseType::Double | BaseType::F32) = self.underlying(&key) {
                    self.report(file, Problem::InvalidMapKey { key: type_text(k), span: k.span });
                }
                Type::Map(Box::new(key), Box::new(value?))
            }
            TypeKind::Named(name) => {
                let Some(r) = self.lookup(file, name) else {
                    // Defined types and base types alike (`binray` → `binary`, `i23` → `i32`).
                    let mut candidates = self.visible(file, is_type);
                    candidates.extend(BaseType::NAMES.iter().map(|b| (*b).to_owned()));
                    let suggestion = suggest(name, candidates.iter().map(String::as_str));
                    self.report(
                        file,
                        Problem::UnknownType { name: name.to_string(), suggestion, span: ty.span },
                    );
                    return None;
                };
                let def = self.def(r);
                match &def.kind {
                    DefinitionKind::Const { .. } | DefinitionKind::Service { .. } => {
                        let is = if matches!(def.kind, DefinitionKind::Const { .. }) {
                            "constant"
                        } else {
                            "service"
                        };
                        let defined = FileSpan { file: r.file, span: def.name.span };
                        self.report(
                            file,
                            Problem::NotAType {
                                name: name.to_string(),
                                is,
                                defined,
                                span: ty.span,
                            },
                        );
                        return None;
                    }
                    DefinitionKind::Senum { .. } => Type::Base(BaseType::String),
                    _ => Type::Named(r),
                }
            }
            TypeKind::Error => return None,
        })
    }

    /// The type a typedef stands for (one level), resolved once; `None` if broken.
    fn typedef_target(&mut self, r: DefRef) -> Option<Type> {
        if let Some(t) = self.typedefs.get(&r) {
            return t.clone();
        }
        let DefinitionKind::Typedef { target } = &self.def(r).kind else { return None };
        if !self.typedefs_in_progress.insert(r) {
            let name = self.def(r).name.name.to_string();
            let span = self.def(r).name.span;
            self.report(r.file, Problem::TypedefCycle { name: name.to_string(), span });
            self.typedefs.insert(r, None);
            return None;
        }
        let resolved = self.resolve_type(r.file, target);
        // Walk the chain now so cycles are found while `r` is in progress.
        if let Some(Type::Named(next)) = &resolved {
            if matches!(self.def(*next).kind, DefinitionKind::Typedef { .. })
                && !self.typedefs.contains_key(next)
            {
                let _ = self.typedef_target(*next);
            }
        }
        self.typedefs_in_progress.remove(&r);
        let resolved = match self.typedefs.get(&r) {
            Some(None) => None, // the cycle was reported while resolving
            _ => resolved,
        };
        self.typedefs.insert(r, resolved.clone());
        resolved
    }

    /// Follows typedefs; a broken typedef yields itself.
    fn underlying(&mut self, ty: &Type) -> Type {
        let mut current = ty.clone();
        let mut seen = HashSet::default();
        while let Type::Named(r) = current {
            if !matches!(self.def(r).kind, DefinitionKind::Typedef { .. }) || !seen.insert(r) {
                return Type::Named(r);
            }
            match self.typedef_target(r) {
                Some(t) => current = t,
                None => return Type::Named(r),
            }
        }
        current
    }

    // ---- the walk

    fn run(&mut self) {
        for file in 0..self.sources.files.len() {
            for index in 0..self.sources.files[file].document.definitions.len() {
                self.check_definition(DefRef { file, index });
            }
        }
        self.check_infinite_structs();
        self.check_endless_defaults();
    }

    fn check_definition(&mut self, r: DefRef) {
        let file = r.file;
        let def = self.def(r);
        self.check_annotations(file, &def.annotations, false);
        self.check_reserved(file, def);
        match &def.kind {
            DefinitionKind::Const { ty, value } => {
                if let Some(t) = self.resolve_type(file, ty) {
                    self.check_value(file, &t, value, Some(ty.span));
                    self.check_const_cycle(r);
                }
            }
            DefinitionKind::Typedef { .. } => {
                let _ = self.typedef_target(r);
            }
            DefinitionKind::Enum { values } => {
                let mut next: i64 = 0;
                let mut by_value: HashMap<i64, (usize, Span)> = HashMap::default();
                let mut by_name: HashMap<&str, Span> = HashMap::default();
                for (i, v) in values.iter().enumerate() {
                    self.check_annotations(file, &v.annotations, false);
                    let value = v.value.map_or(next, |(x, _)| x);
                    let span = v.value.map_or(v.name.span, |(_, s)| s);
                    if i32::try_from(value).is_err() {
                        self.report(file, Problem::EnumValueOutOfRange { value, span });
                    }
                    if let Some(previous) = by_name.insert(v.name.name.as_str(), v.name.span) {
                        self.report(
                            file,
                            Problem::DuplicateEnumName {
                                name: v.name.name.to_string(),
                                previous,
                                span: v.name.span,
                            },
                        );
                    }
                    if let Some(&(first, previous)) = by_value.get(&value) {
                        let previous_name = values[first].name.name.to_string();
                        self.report(
                            file,
                            Problem::DuplicateEnumValue { value, previous_name, previous, span },
                        );
                    } else {
                        by_value.insert(value, (i, span));
                    }
                    next = value.saturating_add(1);
                }
            }
            DefinitionKind::Senum { .. } => {}
            DefinitionKind::Struct { kind, fields } => {
                self.check_fields(file, fields, Some((*kind, def.name.name.as_str())));
            }
            DefinitionKind::Service { extends, functions } => {
                self.check_service(r, extends.as_ref(), functions)
            }
        }
    }

    /// `ferry.reserved = "3, 7-9"` on a struct or enum: none of its fields or values may
    /// use a reserved id (removed members' ids stay retired; spec/idl.md § 8).
    fn check_reserved(&mut self, file: FileId, def: &Definition) {
        let Some(a) = def.annotations.iter().find(|a| a.key.name == "ferry.reserved") else {
            return;
        };
        let Some((value, at)) = a.value.clone() else { return };
        let Some(ranges) = reserved_ranges(&value) else { return }; // reported as a bad value
        let reserved = |id: i64| ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&id));
        let (what, used): (&'static str, Vec<(i64, Span)>) = match &def.kind {
            DefinitionKind::Struct { fields, .. } => {
                ("field id", fields.iter().filter_map(|f| f.id).collect())
            }
            DefinitionKind::Enum { values } => {
                let mut next = 0i64;
                let used = values
                    .iter()
                    .map(|v| {
                        let value = v.value.map_or(next, |(x, _)| x);
                        next = value.saturating_add(1);
                        (value, v.value.map_or(v.name.span, |(_, s)| s))
                    })
                    .collect();
                ("enum value", used)
            }
            _ => {
                let key = "ferry.reserved".to_owned();
                return self
                    .report(file, Problem::FerryAnnotationMisplaced { key, span: a.key.span });
            }
        };
        for &(id, span) in &used {
            if reserved(id) {
                let next_free =
                    (1..).find(|c| !reserved(*c) && used.iter().all(|(u, _)| u != c)).unwrap_or(1);
                let owner = def.name.name.to_string();
                let problem =
                    Problem::ReservedIdUsed { what, id, owner, reserved: at, span, next_free };
                self.report(file, problem);
            }
        }
    }

    /// Ids, names, types, defaults and annotations of a field list (struct body, method
    /// parameters or throws). `owner` is set for structs, unions and exceptions.
    fn check_fields(
        &mut self,
        file: FileId,
        fields: &[Field],
        owner: Option<(StructKind, &str)>,
    ) -> Vec<Option<Type>> {
        let mut ids: HashMap<i64, Span> = HashMap::default();
        let mut names: HashMap<&str, Span> = HashMap::default();
        let max_explicit = fields.iter().filter_map(|f| f.id.map(|(id, _)| id)).max().unwrap_or(0);
        let mut implicit: i64 = 0;
        let mut types = Vec::with_capacity(fields.len());
        for f in fields {
            let id = match f.id {
                Some((id, span)) => {
                    if i16::try_from(id).is_err() {
                        self.report(file, Problem::FieldIdOutOfRange { id, span });
                    }
                    Some((id, span))
                }
                None => {
                    implicit -= 1;
                    let suggested = max_explicit.max(0) + 1 + (-implicit - 1);
                    self.report(
                        file,
                        Problem::MissingFieldId {
                            name: f.name.name.to_string(),
                            implicit,
                            suggested,
                            span: f.name.span,
                        },
                    );
                    None
                }
            };
            if let Some((id, span)) = id {
                if let Some(&previous) = ids.get(&id) {
                    let next_free = (1..)
                        .find(|c| {
                            !ids.contains_key(c)
                                && fields.iter().all(|g| g.id.map(|x| x.0) != Some(*c))
                        })
                        .unwrap_or(1);
                    self.report(file, Problem::DuplicateFieldId { id, previous, span, next_free });
                } else {
                    ids.insert(id, span);
                }
            }
            if let Some(previous) = names.insert(f.name.name.as_str(), f.name.span) {
                self.report(
                    file,
                    Problem::DuplicateFieldName {
                        name: f.name.name.to_string(),
                        previous,
                        span: f.name.span,
                    },
                );
            }
            if let (Some((StructKind::Union, union_name)), Requiredness::Required) =
                (owner, f.requiredness)
            {
                let span = f.requiredness_span.unwrap_or(f.name.span);
                self.report(
                    file,
                    Problem::RequiredInUnion { union_name: union_name.to_owned(), span },
                );
            }
            self.check_annotations(file, &f.annotations, false);
            let ty = self.resolve_type(file, &f.ty);
            if let (Some(t), Some(default)) = (&ty, &f.default) {
                self.check_value(file, t, default, Some(f.ty.span));
            }
            types.push(ty);
        }
        types
    }

    fn check_service(
        &mut self,
        r: DefRef,
        extends: Option<&crate::syntax::ast::Ident>,
        functions: &[crate::syntax::ast::Function],
    ) {
        let file = r.file;
        // Methods inherited through `extends`, by name.
        let mut inherited: HashMap<String, (FileSpan, String)> = HashMap::default();
        if let Some(base) = extends {
            match self.lookup(file, &base.name) {
                None => {
                    let suggestion = self.suggest_among(file, &base.name, |k| {
                        matches!(k, DefinitionKind::Service { .. })
                    });
                    self.report(
                        file,
                        Problem::UnknownExtends {
                            name: base.name.to_string(),
                            suggestion,
                            span: base.span,
                        },
                    );
                }
                Some(b) if !matches!(self.def(b).kind, DefinitionKind::Service { .. }) => {
                    self.report(
                        file,
                        Problem::ExtendsNotService { name: base.name.to_string(), span: base.span },
                    );
                }
                Some(b) => {
                    let mut chain = vec![self.def(r).name.name.to_string()];
                    let mut seen = HashSet::default();
                    seen.insert(r);
                    let mut current = Some(b);
                    while let Some(s) = current {
                        let def = self.def(s);
                        chain.push(def.name.name.to_string());
                        if !seen.insert(s) {
                            if s == r {
                                self.report(
                                    file,
                                    Problem::CyclicExtends {
                                        chain: chain.clone(),
                                        span: base.span,
                                    },
                                );
                            }
                            break;
                        }
                        let DefinitionKind::Service { extends, functions } = &def.kind else {
                            break;
                        };
                        for f in functions {
                            inherited.entry(f.name.name.to_string()).or_insert((
                                FileSpan { file: s.file, span: f.name.span },
                                def.name.name.to_string(),
                            ));
                        }
                        current = extends.as_ref().and_then(|e| self.lookup(s.file, &e.name));
                    }
                }
            }
        }
        // Method ids are hashes of names (spec/protocol.md § 4.1): two names of one service
        // with one id would reach one handler.
        let mut ids: HashMap<u32, (String, FileSpan)> = HashMap::default();
        for (name, (at, _)) in &inherited {
            ids.insert(crate::method_id(name), (name.clone(), *at));
        }
        for f in functions {
            let id = crate::method_id(&f.name.name);
            match ids.get(&id) {
                Some((other, previous)) if *other != f.name.name => {
                    let (other, previous) = (other.clone(), *previous);
                    self.report(
                        file,
                        Problem::MethodIdCollision {
                            name: f.name.name.to_string(),
                            other,
                            id,
                            previous,
                            span: f.name.span,
                        },
                    );
                }
                _ => {
                    ids.insert(id, (f.name.name.to_string(), FileSpan { file, span: f.name.span }));
                }
            }
        }
        // Names the Rust client cannot use as they are (spec/idl.md § 7): said, not silent.
        let names: Vec<&str> = functions.iter().map(|f| f.name.name.as_str()).collect();
        for f in functions {
            let name = f.name.name.as_str();
            let renamed = if name == "new" || name == "inner" {
                Some((format!("{name}_"), "the client has a method of that name of its own"))
            } else if names.contains(&format!("{name}_start").as_str()) {
                Some((format!("{name}_start_"), "another method is named `{name}_start`"))
            } else {
                None
            };
            if let Some((rust_name, why)) = renamed {
                let why = why.replace("{name}", name);
                self.report(
                    file,
                    Problem::RenamedInRust {
                        name: name.to_owned(),
                        rust_name,
                        why,
                        span: f.name.span,
                    },
                );
            }
        }
        let mut own: HashMap<&str, Span> = HashMap::default();
        for f in functions {
            if let Some(previous) = own.get(f.name.name.as_str()) {
                let previous = FileSpan { file, span: *previous };
                self.report(
                    file,
                    Problem::DuplicateMethod {
                        name: f.name.name.to_string(),
                        previous,
                        inherited_from: None,
                        span: f.name.span,
                    },
                );
            } else {
                own.insert(&f.name.name, f.name.span);
                if let Some((previous, base)) = inherited.get(f.name.name.as_str()) {
                    let (previous, base) = (*previous, base.clone());
                    self.report(
                        file,
                        Problem::DuplicateMethod {
                            name: f.name.name.to_string(),
                            previous,
                            inherited_from: Some(base),
                            span: f.name.span,
                        },
                    );
                }
            }
            if let Some(oneway) = f.oneway {
                if let Some(ret) = &f.returns {
                    self.report(
                        file,
                        Problem::OnewayWithResult {
                            method: f.name.name.to_string(),
                            oneway,
                            span: ret.span,
                        },
                    );
                }
                if let (Some(first), Some(last)) = (f.throws.first(), f.throws.last()) {
                    let span = Span::new(first.span.start(), last.span.end());
                    self.report(
                        file,
                        Problem::OnewayWithThrows { method: f.name.name.to_string(), oneway, span },
                    );
                }
            }
            if let Some(ret) = &f.returns {
                let _ = self.resolve_type(file, ret);
            }
            self.check_fields(file, &f.params, None);
            let thrown = self.check_fields(file, &f.throws, None);
            for (field, ty) in f.throws.iter().zip(thrown) {
                let Some(ty) = ty else { continue };
                let is_exception = match self.underlying(&ty) {
                    Type::Named(e) => matches!(
                        self.def(e).kind,
                        DefinitionKind::Struct { kind: StructKind::Exception, .. }
                    ),
                    _ => false,
                };
                if !is_exception {
                    self.report(
                        file,
                        Problem::ThrowsNonException {
                            name: type_text(&field.ty),
                            span: field.ty.span,
                        },
                    );
                }
            }
            self.check_annotations(file, &f.annotations, true);
            // Kitex marks streaming methods with `streaming.mode`; Ferry has no streams yet.
            for a in f.annotations.iter().filter(|a| a.key.name.as_str() == "streaming.mode") {
                let mode = a.value.as_ref().map(|v| v.0.clone()).unwrap_or_default();
                if !mode.is_empty() && mode != "unary" {
                    let problem = Problem::StreamingNotSupported {
                        method: f.name.name.to_string(),
                        mode: format!("streaming.mode = \"{mode}\""),
                        span: a.key.span,
                    };
                    self.report(file, problem);
                }
            }
        }
    }

    /// `ferry.*` annotations: known keys with valid values, on methods only.
    fn check_annotations(&mut self, file: FileId, annotations: &[Annotation], on_method: bool) {
        for a in annotations {
            let key = a.key.name.as_str();
            if !key.starts_with("ferry.") {
                continue;
            }
            if !FERRY_ANNOTATIONS.contains(&key) {
                let suggestion = suggest(key, FERRY_ANNOTATIONS.iter().copied());
                self.report(
                    file,
                    Problem::UnknownFerryAnnotation {
                        key: key.to_owned(),
                        suggestion,
                        span: a.key.span,
                    },
                );
                continue;
            }
            if key == "ferry.reserved" {
                // On structs, unions, exceptions and enums (`check_definition` applies it).
                let (value, span) = a.value.clone().unwrap_or((String::new(), a.key.span));
                if on_method {
                    let key = key.to_owned();
                    self.report(file, Problem::FerryAnnotationMisplaced { key, span: a.key.span });
                } else if reserved_ranges(&value).is_none() {
                    let expected = "ids and ranges separated by commas (\"3, 7-9\")";
                    self.report(
                        file,
                        Problem::BadAnnotationValue { key: key.to_owned(), value, expected, span },
                    );
                }
                continue;
            }
            if key == "ferry.compat.allow" {
                // Anywhere: codes of `idlc compat` findings accepted for this definition,
                // field or method.
                let (value, span) = a.value.clone().unwrap_or((String::new(), a.key.span));
                let is_code = |c: &str| {
                    let c = c.trim();
                    c.len() == 5
                        && c.starts_with(['C', 'c'])
                        && c[1..].bytes().all(|b| b.is_ascii_digit())
                };
                if !value.split(',').all(is_code) {
                    let expected = "compat codes separated by commas (\"C0101, C0201\")";
                    self.report(
                        file,
                        Problem::BadAnnotationValue { key: key.to_owned(), value, expected, span },
                    );
                }
                continue;
            }
            if !on_method {
                self.report(
                    file,
                    Problem::FerryAnnotationMisplaced { key: key.to_owned(), span: a.key.span },
                );
                continue;
            }
            let (value, span) = a.value.clone().unwrap_or((String::new(), a.key.span));
            let ok = match key {
                "ferry.timeout_ms" => value.parse::<u32>().is_ok_and(|v| v > 0),
                _ => value == "true" || value == "false",
            };
            if !ok {
                let expected = if key == "ferry.timeout_ms" {
                    "a whole number of milliseconds from 1 to 4294967295"
                } else {
                    "\"true\" or \"false\""
                };
                self.report(
                    file,
                    Problem::BadAnnotationValue { key: key.to_owned(), value, expected, span },
                );
            }
        }
    }

    // ---- constants

    fn check_value(&mut self, file: FileId, ty: &Type, v: &ConstExpr, declared: Option<Span>) {
        let under = self.underlying(ty);
        let wrong = |expected: String, v: &ConstExpr| Problem::WrongConstType {
            expected,
            found: found_kind(&v.kind),
            span: v.span,
            declared,
        };
        match (&under, &v.kind) {
            (_, ConstKind::Error) => {}
            (_, ConstKind::Ident(name)) => {
                self.check_ident_value(file, &under, name, v.span, declared)
            }
            (Type::Base(b), kind) => match (b, kind) {
                (BaseType::Bool, ConstKind::Bool(_)) => {}
                (BaseType::Bool, ConstKind::Int(0 | 1)) => {}
                (BaseType::Double | BaseType::F32, ConstKind::Double(_) | ConstKind::Int(_)) => {}
                (BaseType::String | BaseType::Binary, ConstKind::Str(_)) => {}
                (BaseType::Uuid, ConstKind::Str(s)) if is_uuid(s) => {}
                (BaseType::Uuid, ConstKind::Str(_)) => {
                    self.report(
                        file,
                        wrong("a uuid such as \"00000000-0000-0000-0000-000000000000\"".into(), v),
                    );
                }
                (_, ConstKind::Int(x)) if b.int_range().is_some() => {
                    let (min, max) = b.int_range().unwrap_or((0, 0));
                    if *x < min || *x > max {
                        self.report(
                            file,
                            Problem::IntegerOutOfRange {
                                ty: b.name(),
                                value: *x,
                                min,
                                max,
                                span: v.span,
                            },
                        );
                    }
                }
                _ => self.report(file, wrong(format!("{} value", article(b.name())), v)),
            },
            // Thrift reads `{}` as an empty map, and takes it for an empty list or set too.
            (Type::List(_) | Type::Set(_), ConstKind::Map(entries)) if entries.is_empty() => {}
            (Type::List(e) | Type::Set(e), ConstKind::List(items)) => {
                for item in items {
                    self.check_value(file, e, item, None);
                }
            }
            (Type::Map(k, val), ConstKind::Map(entries)) => {
                for (key, value) in entries {
                    self.check_value(file, k, key, None);
                    self.check_value(file, val, value, None);
                }
            }
            (Type::Named(r), kind) => {
                let def = self.def(*r);
                match (&def.kind, kind) {
                    (DefinitionKind::Enum { .. }, ConstKind::Int(x))
                        if i32::try_from(*x).is_err() =>
                    {
                        self.report(
                            file,
                            Problem::IntegerOutOfRange {
                                ty: "i32",
                                value: *x,
                                min: i32::MIN.into(),
                                max: i32::MAX.into(),
                                span: v.span,
                            },
                        );
                    }
                    (DefinitionKind::Enum { .. }, ConstKind::Int(_)) => {}
                    (DefinitionKind::Struct { fields, .. }, ConstKind::Map(entries)) => {
                        let struct_file = r.file;
                        for (key, value) in entries {
                            let ConstKind::Str(field_name) = &key.kind else {
                                self.report(file, wrong("a quoted field name".into(), key));
                                continue;
                            };
                            match fields.iter().find(|f| f.name.name == field_name) {
                                Some(field) => {
                                    if let Some(ft) =
                                        self.resolve_type_quiet(struct_file, &field.ty)
                                    {
                                        self.check_value(file, &ft, value, None);
                                    }
                                }
                                None => {
                                    let suggestion = suggest(
                                        field_name,
                                        fields.iter().map(|f| f.name.name.as_str()),
                                    );
                                    let name = format!("{}.{field_name}", def.name.name);
                                    self.report(
                                        file,
                                        Problem::UnknownConst { name, suggestion, span: key.span },
                                    );
                                }
                            }
                        }
                    }
                    (DefinitionKind::Enum { .. }, _) => {
                        self.report(file, wrong(format!("a value of enum `{}`", def.name.name), v))
                    }
                    (DefinitionKind::Struct { .. }, _) => self.report(
                        file,
                        wrong(format!("a map of field names to values for `{}`", def.name.name), v),
                    ),
                    _ => {}
                }
            }
            (Type::List(_) | Type::Set(_), _) => self.report(file, wrong("a list `[…]`".into(), v)),
            (Type::Map(..), _) => self.report(file, wrong("a map `{…}`".into(), v)),
        }
    }

    /// Resolves a type already checked elsewhere, without reporting again.
    fn resolve_type_quiet(&mut self, file: FileId, ty: &TypeExpr) -> Option<Type> {
        let mark = self.problems.len();
        let t = self.resolve_type(file, ty);
        self.problems.truncate(mark);
        t
    }

    /// A constant referenced by name: another constant, or an enum value.
    fn check_ident_value(
        &mut self,
        file: FileId,
        expected: &Type,
        name: &str,
        span: Span,
        declared: Option<Span>,
    ) {
        if let Some(r) = self.lookup(file, name) {
            let def = self.def(r);
            if let DefinitionKind::Const { ty, .. } = &def.kind {
                if let Some(t) = self.resolve_type_quiet(r.file, ty) {
                    let got = self.underlying(&t);
                    if !compatible(expected, &got) {
                        let expected_text = self.type_description(expected);
                        self.report(
                            file,
                            Problem::WrongConstType {
                                expected: expected_text,
                                found: "a constant of another type",
                                span,
                                declared,
                            },
                        );
                    }
                }
                return;
            }
        }
        // `Enum.VALUE` or `include.Enum.VALUE`.
        if let Some((enum_name, value)) = name.rsplit_once('.') {
            if let Some(r) = self.enum_of_qualifier(file, enum_name, expected, value) {
                if let DefinitionKind::Enum { values } = &self.def(r).kind {
                    if let Some(field_enum) = self.other_enum_with(expected, r, value) {
                        let field_enum = self.def(field_enum).name.name.to_string();
                        self.report(
                            file,
                            Problem::EnumValueOfOtherEnum {
                                written: name.to_owned(),
                                field_enum,
                                value: value.to_owned(),
                                span,
                            },
                        );
                    } else if !values.iter().any(|v| v.name.name == value) {
                        let suggestion =
                            suggest(value, values.iter().map(|v| v.name.name.as_str()));
                        let valid = values.iter().map(|v| v.name.name.to_string()).collect();
                        self.report(
                            file,
                            Problem::UnknownEnumValue {
                                enum_name: enum_name.to_owned(),
                                value: value.to_owned(),
                                suggestion,
                                valid,
                                span,
                            },
                        );
                    } else if let Type::Named(e) = self.underlying(expected) {
                        let e = &e;
                        let is_other_enum =
                            *e != r && matches!(self.def(*e).kind, DefinitionKind::Enum { .. });
                        if is_other_enum
                            || matches!(self.def(*e).kind, DefinitionKind::Struct { .. })
                        {
                            let expected_text = self.type_description(expected);
                            self.report(
                                file,
                                Problem::WrongConstType {
                                    expected: expected_text,
                                    found: "a value of another enum",
                                    span,
                                    declared,
                                },
                            );
                        }
                    }
                    return;
                }
            }
        }
        let mut candidates = self.visible(file, |k| matches!(k, DefinitionKind::Const { .. }));
        for e in self.visible(file, |k| matches!(k, DefinitionKind::Enum { .. })) {
            if let Some(r) = self.lookup(file, &e) {
                if let DefinitionKind::Enum { values } = &self.def(r).kind {
                    candidates.extend(values.iter().map(|v| format!("{e}.{}", v.name.name)));
                }
            }
        }
        let suggestion = suggest(name, candidates.iter().map(String::as_str));
        self.report(file, Problem::UnknownConst { name: name.to_owned(), suggestion, span });
    }

    /// `expected` is an enum other than `written` that has a value named `value`: Thrift reads
    /// `Written.value` as `Expected.value` (a default qualified by the wrong enum's name).
    fn other_enum_with(&self, expected: &Type, written: DefRef, value: &str) -> Option<DefRef> {
        let Type::Named(e) = expected else { return None };
        let DefinitionKind::Enum { values } = &self.def(*e).kind else { return None };
        (*e != written && values.iter().any(|v| v.name.name == value)).then_some(*e)
    }

    fn type_description(&self, t: &Type) -> String {
        match t {
            Type::Base(b) => format!("{} value", article(b.name())),
            Type::List(_) | Type::Set(_) => "a list".into(),
            Type::Map(..) => "a map".into(),
            Type::Named(r) => format!("a value of `{}`", self.def(*r).name.name),
        }
    }

    /// `const A = B` chains that lead back to the start.
    fn check_const_cycle(&mut self, start: DefRef) {
        let mut current = start;
        let mut seen = HashSet::default();
        loop {
            let DefinitionKind::Const { value, .. } = &self.def(current).kind else { return };
            let ConstKind::Ident(name) = &value.kind else { return };
            let Some(next) = self.lookup(current.file, name) else { return };
            if next == start {
                let def = self.def(start);
                self.report(
                    start.file,
                    Problem::ConstCycle { name: def.name.name.to_string(), span: def.name.span },
                );
                return;
            }
            if !seen.insert(next) {
                return;
            }
            current = next;
        }
    }

    // ---- the model

    fn build(&mut self) -> Option<model::Program> {
        if self.problems.iter().any(|(_, p)| p.is_error())
            || self.sources.files.iter().any(|f| f.problems.iter().any(Problem::is_error))
        {
            return None;
        }
        let mut files = Vec::with_capacity(self.sources.files.len());
        for (file, f) in self.sources.files.iter().enumerate() {
            let namespaces = f
                .document
                .headers
                .iter()
                .filter_map(|h| match h {
                    Header::Namespace { scope, name, .. } => {
                        Some((scope.name.to_string(), name.name.to_string()))
                    }
                    _ => None,
                })
                .collect();
            let mut definitions = Vec::new();
            for def in &f.document.definitions {
                definitions.push(self.build_definition(file, def)?);
            }
            files.push(model::File {
                path: f.path.clone(),
                include_name: f.include_name.clone(),
                namespaces,
                includes: f.includes.iter().map(|(_, id)| *id).collect(),
                include_paths: f.include_paths.clone(),
                text: f.text.clone(),
                definitions,
            });
        }
        Some(model::Program { files, roots: self.sources.roots.clone() })
    }

    fn build_definition(&mut self, file: FileId, def: &Definition) -> Option<model::Definition> {
        let kind = match &def.kind {
            DefinitionKind::Const { ty, value } => {
                let ty = self.resolve_type_quiet(file, ty)?;
                let value = self.build_value(file, &ty, value)?;
                model::DefinitionKind::Const { ty, value }
            }
            DefinitionKind::Typedef { target } => {
                model::DefinitionKind::Typedef { target: self.resolve_type_quiet(file, target)? }
            }
            DefinitionKind::Senum { .. } => {
                model::DefinitionKind::Typedef { target: Type::Base(BaseType::String) }
            }
            DefinitionKind::Enum { values } => {
                let mut next = 0i64;
                let values = values
                    .iter()
                    .map(|v| {
                        let value = v.value.map_or(next, |(x, _)| x);
                        next = value + 1;
                        model::EnumValue {
                            name: v.name.name.to_string(),
                            value: value as i32,
                            doc: v.doc.clone(),
                            span: FileSpan { file, span: v.name.span },
                        }
                    })
                    .collect();
                model::DefinitionKind::Enum { values }
            }
            DefinitionKind::Struct { kind, fields } => model::DefinitionKind::Struct {
                kind: *kind,
                fields: self.build_fields(file, fields)?,
            },
            DefinitionKind::Service { extends, functions } => {
                let extends = extends.as_ref().and_then(|e| self.lookup(file, &e.name));
                let mut methods = Vec::new();
                for f in functions {
                    let annotations = annotation_map(&f.annotations);
                    methods.push(model::Method {
                        name: f.name.name.to_string(),
                        span: FileSpan { file, span: f.name.span },
                        oneway: f.oneway.is_some(),
                        returns: match &f.returns {
                            Some(t) => Some(self.resolve_type_quiet(file, t)?),
                            None => None,
                        },
                        params: self.build_fields(file, &f.params)?,
                        throws: self.build_fields(file, &f.throws)?,
                        doc: f.doc.clone(),
                        timeout_ms: annotations
                            .get("ferry.timeout_ms")
                            .and_then(|v| v.parse().ok()),
                        idempotent: annotations
                            .get("ferry.idempotent")
                            .is_some_and(|v| v == "true"),
                        borrow: annotations.get("ferry.borrow").is_some_and(|v| v == "true"),
                        annotations,
                    });
                }
                model::DefinitionKind::Service { extends, methods }
            }
        };
        Some(model::Definition {
            name: def.name.name.to_string(),
            span: FileSpan { file, span: def.name.span },
            doc: def.doc.clone(),
            annotations: annotation_map(&def.annotations),
            kind,
        })
    }

    fn build_fields(&mut self, file: FileId, fields: &[Field]) -> Option<Vec<model::Field>> {
        let mut implicit = 0i64;
        fields
            .iter()
            .map(|f| {
                let id = match f.id {
                    Some((id, _)) => id,
                    None => {
                        implicit -= 1;
                        implicit
                    }
                };
                let ty = self.resolve_type_quiet(file, &f.ty)?;
                let default = match &f.default {
                    Some(v) => Some(self.build_value(file, &ty, v)?),
                    None => None,
                };
                Some(model::Field {
                    id: i16::try_from(id).ok()?,
                    name: f.name.name.to_string(),
                    requiredness: f.requiredness,
                    ty,
                    default,
                    doc: f.doc.clone(),
                    annotations: annotation_map(&f.annotations),
                    span: FileSpan { file, span: f.span },
                    type_span: FileSpan { file, span: f.ty.span },
                })
            })
            .collect()
    }

    fn build_value(&mut self, file: FileId, ty: &Type, v: &ConstExpr) -> Option<Value> {
        let under = self.underlying(ty);
        Some(match &v.kind {
            ConstKind::Int(x) => match &under {
                Type::Base(BaseType::Bool) => Value::Bool(*x != 0),
                Type::Base(BaseType::Double | BaseType::F32) => Value::Double(*x as f64),
                _ => Value::Int(*x),
            },
            ConstKind::Double(x) => Value::Double(*x),
            ConstKind::Str(s) => Value::Str(s.clone()),
            ConstKind::Bool(b) => Value::Bool(*b),
            ConstKind::List(items) => {
                let element = match &under {
                    Type::List(e) | Type::Set(e) => (**e).clone(),
                    _ => return None,
                };
                Value::List(
                    items
                        .iter()
                        .map(|i| self.build_value(file, &element, i))
                        .collect::<Option<_>>()?,
                )
            }
            ConstKind::Map(entries) => match &under {
                Type::List(_) | Type::Set(_) if entries.is_empty() => Value::List(Vec::new()),
                Type::Map(k, val) => {
                    let (k, val) = ((**k).clone(), (**val).clone());
                    Value::Map(
                        entries
                            .iter()
                            .map(|(a, b)| {
                                Some((
                                    self.build_value(file, &k, a)?,
                                    self.build_value(file, &val, b)?,
                                ))
                            })
                            .collect::<Option<_>>()?,
                    )
                }
                Type::Named(r) => {
                    let DefinitionKind::Struct { fields, .. } = &self.def(*r).kind else {
                        return None;
                    };
                    let struct_file = r.file;
                    let mut out = Vec::new();
                    for (a, b) in entries {
                        let ConstKind::Str(name) = &a.kind else { return None };
                        let field = fields.iter().find(|f| f.name.name == name)?;
                        let ft = self.resolve_type_quiet(struct_file, &field.ty)?;
                        out.push((Value::Str(name.clone()), self.build_value(file, &ft, b)?));
                    }
                    Value::Map(out)
                }
                _ => return None,
            },
            ConstKind::Ident(name) => {
                if let Some(r) = self.lookup(file, name) {
                    if let DefinitionKind::Const { ty: const_ty, value } = &self.def(r).kind {
                        let (const_ty, value) = (const_ty.clone(), value.clone());
                        let declared = self.resolve_type_quiet(r.file, &const_ty)?;
                        if self.underlying(&declared) == under {
                            return Some(Value::Const(r));
                        }
                        // Another type (`list<i32>` where `list<i64>` belongs): the value
                        // converted to the slot's type, as Apache Thrift does.
                        return self.build_value(r.file, &under, &value);
                    }
                }
                let (enum_name, value_name) = name.rsplit_once('.')?;
                let written = self.enum_of_qualifier(file, enum_name, &under, value_name)?;
                let r = self.other_enum_with(&under, written, value_name).unwrap_or(written);
                let DefinitionKind::Enum { values } = &self.def(r).kind else { return None };
                let mut next = 0i64;
                for v in values {
                    let value = v.value.map_or(next, |(x, _)| x);
                    next = value + 1;
                    if v.name.name == value_name {
                        if let Type::Base(_) = under {
                            // An enum value where an integer belongs: its number.
                            return Some(Value::Int(i128::from(value)));
                        }
                        return Some(Value::EnumValue {
                            enum_ref: r,
                            name: value_name.to_owned(),
                            value: value as i32,
                        });
                    }
                }
                return None;
            }
            ConstKind::Error => return None,
        })
    }
}

fn is_type(kind: &DefinitionKind) -> bool {
    !matches!(kind, DefinitionKind::Const { .. } | DefinitionKind::Service { .. })
}

fn annotation_map(annotations: &[Annotation]) -> BTreeMap<String, String> {
    annotations
        .iter()
        .map(|a| {
            (a.key.name.to_string(), a.value.as_ref().map(|v| v.0.clone()).unwrap_or_default())
        })
        .collect()
}

fn found_kind(kind: &ConstKind) -> &'static str {
    match kind {
        ConstKind::Int(_) => "an integer",
        ConstKind::Double(_) => "a floating-point number",
        ConstKind::Str(_) => "a string",
        ConstKind::Bool(_) => "a bool",
        ConstKind::Ident(_) => "a constant",
        ConstKind::List(_) => "a list",
        ConstKind::Map(_) => "a map",
        ConstKind::Error => "an invalid value",
    }
}

fn article(name: &str) -> String {
    if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an `{name}`")
    } else {
        format!("a `{name}`")
    }
}

/// Whether a constant of type `got` may initialise `expected` (both with typedefs followed).
fn compatible(expected: &Type, got: &Type) -> bool {
    let int = |t: &Type| matches!(t, Type::Base(b) if b.int_range().is_some());
    match (expected, got) {
        (a, b) if a == b => true,
        (a, b) if int(a) && int(b) => true,
        (Type::Base(BaseType::Double | BaseType::F32), b) if int(b) => true,
        (Type::Base(BaseType::Double), Type::Base(BaseType::F32)) => true,
        (Type::Base(BaseType::String), Type::Base(BaseType::Binary)) => true,
        (Type::Base(BaseType::Binary), Type::Base(BaseType::String)) => true,
        (Type::List(a) | Type::Set(a), Type::List(b) | Type::Set(b)) => compatible(a, b),
        _ => false,
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, optionally in braces (as Thrift accepts).
fn is_uuid(s: &str) -> bool {
    let s = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')).unwrap_or(s);
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// The type as written, for messages.
pub fn type_text(ty: &TypeExpr) -> String {
    match &ty.kind {
        TypeKind::Base(b) => b.name().to_owned(),
        TypeKind::Named(n) => n.to_string(),
        TypeKind::List(e) => format!("list<{}>", type_text(e)),
        TypeKind::Set(e) => format!("set<{}>", type_text(e)),
        TypeKind::Map(k, v) => format!("map<{}, {}>", type_text(k), type_text(v)),
        TypeKind::Error => "?".to_owned(),
    }
}

/// `"3, 7-9"` as inclusive ranges; `None` if any part is not an id or `a-b` with a ≤ b.
pub(crate) fn reserved_ranges(value: &str) -> Option<Vec<(i64, i64)>> {
    value
        .split(',')
        .map(|part| {
            let part = part.trim();
            let (lo, hi) = part.split_once('-').map_or((part, part), |(a, b)| (a.trim(), b.trim()));
            let (lo, hi) = (lo.parse::<i64>().ok()?, hi.parse::<i64>().ok()?);
            (lo <= hi).then_some((lo, hi))
        })
        .collect()
}
