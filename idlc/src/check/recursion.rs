//! Checks about structs that reach themselves: through required fields (W0227: no finite
//! message has them all) and through defaults (E0232: building the default never ends).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::Checker;
use crate::diagnostics::Problem;
use crate::model::{DefRef, Type};
use crate::span::{FileId, Span};
use crate::syntax::ast::{
    ConstExpr, ConstKind, DefinitionKind, Requiredness, StructKind, TypeExpr, TypeKind,
};

/// Does `t` mention a defined type (directly or as a container's element, key or value)?
fn names_a_definition(t: &TypeExpr) -> bool {
    match &t.kind {
        TypeKind::Base(_) => false,
        TypeKind::List(e) | TypeKind::Set(e) => names_a_definition(e),
        TypeKind::Map(k, v) => names_a_definition(k) || names_a_definition(v),
        _ => true,
    }
}

impl Checker<'_> {
    pub(super) fn check_infinite_structs(&mut self) {
        for file in 0..self.sources.files.len() {
            for index in 0..self.sources.files[file].document.definitions.len() {
                let start = DefRef { file, index };
                if !matches!(self.def(start).kind, DefinitionKind::Struct { .. }) {
                    continue;
                }
                let mut path = vec![self.def(start).name.name.to_string()];
                let mut visiting = HashSet::default();
                if let Some(span) = self.required_path_back(start, start, &mut path, &mut visiting)
                {
                    // Report each cycle once: at its smallest member.
                    self.report(
                        file,
                        Problem::InfiniteStruct {
                            name: self.def(start).name.name.to_string(),
                            path,
                            span,
                        },
                    );
                }
            }
        }
    }

    /// Depth-first search along `required` struct-typed fields; returns the span of the
    /// first field (in `start`) of a path leading back to `start`.
    fn required_path_back(
        &mut self,
        start: DefRef,
        at: DefRef,
        path: &mut Vec<String>,
        visiting: &mut HashSet<DefRef>,
    ) -> Option<Span> {
        if !visiting.insert(at) {
            return None;
        }
        let DefinitionKind::Struct { fields, .. } = &self.def(at).kind else { return None };
        for f in fields.iter().filter(|f| f.requiredness == Requiredness::Required) {
            let Some(t) = self.resolve_type_quiet(at.file, &f.ty) else { continue };
            let Type::Named(next) = self.underlying(&t) else { continue };
            if !matches!(self.def(next).kind, DefinitionKind::Struct { .. }) || next < start {
                continue;
            }
            path.push(format!("{}.{}", self.def(at).name.name, f.name.name));
            if next == start || self.required_path_back(start, next, path, visiting).is_some() {
                if next == start {
                    path.push(self.def(start).name.name.to_string());
                }
                // Only the outermost call's span is used: the field of `start`.
                return Some(f.name.span);
            }
            path.pop();
        }
        None
    }

    /// A default that, with every unset field taking its own default in turn, never ends
    /// (`struct A { 1: list<A> xs = [{}] }`): every back end would build it forever. A
    /// field's default is expanded by walking its value: a struct value leaves its unset
    /// fields to their defaults; an optional field stays absent; a struct field without a
    /// default starts at the struct's defaults, unless it is recursive (absent, or boxed at
    /// a default that ends). Revisiting a field being expanded is the endless case.
    pub(super) fn check_endless_defaults(&mut self) {
        let mut state: HashMap<(DefRef, usize), bool> = HashMap::default();
        for file in 0..self.sources.files.len() {
            for index in 0..self.sources.files[file].document.definitions.len() {
                let r = DefRef { file, index };
                let DefinitionKind::Struct { fields, kind } = &self.def(r).kind else { continue };
                if *kind == StructKind::Union {
                    continue;
                }
                for i in 0..fields.len() {
                    self.expand_field(r, i, &mut state, 0);
                }
            }
        }
    }

    /// Expands field `i` of struct `s`; `state` is false while in progress, true when done.
    fn expand_field(
        &mut self,
        s: DefRef,
        i: usize,
        state: &mut HashMap<(DefRef, usize), bool>,
        depth: u32,
    ) {
        let DefinitionKind::Struct { fields, .. } = &self.def(s).kind else { return };
        let f = &fields[i];
        // Only a type that names a definition can lead to a struct (most fields do not:
        // skipping them before any lookup kept this check off the front end's profile).
        if f.requiredness == Requiredness::Optional || depth > 256 || !names_a_definition(&f.ty) {
            return;
        }
        match state.get(&(s, i)) {
            Some(true) => return,
            Some(false) => {
                let owner = self.def(s).name.name.to_string();
                let span = f.default.as_ref().map_or(f.name.span, |v| v.span);
                self.report(
                    s.file,
                    Problem::EndlessDefault { owner, field: f.name.name.to_string(), span },
                );
                state.insert((s, i), true);
                return;
            }
            None => {}
        }
        state.insert((s, i), false);
        if let Some(ty) = self.resolve_type_quiet(s.file, &f.ty) {
            match &f.default {
                Some(v) => self.expand_value(s.file, &ty, v, state, depth + 1),
                None => {
                    if let Some(t) = self.direct_non_union(&ty) {
                        // A recursive field starts absent (`None`, `NULL`), or boxed at
                        // a default that cannot lead back through required fields only.
                        let absent = self.struct_reaches(t, s);
                        if !absent {
                            self.expand_struct(t, &[], state, depth + 1);
                        }
                    }
                }
            }
        }
        state.insert((s, i), true);
    }

    /// A value of struct `t` that sets the fields named `given`: the others expand.
    fn expand_struct(
        &mut self,
        t: DefRef,
        given: &[String],
        state: &mut HashMap<(DefRef, usize), bool>,
        depth: u32,
    ) {
        let DefinitionKind::Struct { fields, .. } = &self.def(t).kind else { return };
        let unset: Vec<usize> = (0..fields.len())
            .filter(|&j| !given.iter().any(|g| *g == fields[j].name.name))
            .collect();
        for j in unset {
            self.expand_field(t, j, state, depth);
        }
    }

    fn expand_value(
        &mut self,
        file: FileId,
        ty: &Type,
        v: &ConstExpr,
        state: &mut HashMap<(DefRef, usize), bool>,
        depth: u32,
    ) {
        if depth > 256 {
            return;
        }
        let under = self.underlying(ty);
        match (&under, &v.kind) {
            (Type::List(e) | Type::Set(e), ConstKind::List(items)) => {
                for item in items {
                    self.expand_value(file, e, item, state, depth + 1);
                }
            }
            (Type::Map(k, val), ConstKind::Map(entries)) => {
                for (a, b) in entries {
                    self.expand_value(file, k, a, state, depth + 1);
                    self.expand_value(file, val, b, state, depth + 1);
                }
            }
            (Type::Named(r), ConstKind::Map(entries)) => {
                let r = *r;
                let DefinitionKind::Struct { kind, fields } = &self.def(r).kind else { return };
                let mut given = Vec::new();
                for (key, value) in entries {
                    let ConstKind::Str(name) = &key.kind else { continue };
                    let Some(field) = fields.iter().find(|f| f.name.name == name) else { continue };
                    given.push(name.clone());
                    if let Some(t) = self.resolve_type_quiet(r.file, &field.ty) {
                        self.expand_value(file, &t, value, state, depth + 1);
                    }
                }
                if *kind != StructKind::Union {
                    self.expand_struct(r, &given, state, depth + 1);
                }
            }
            (_, ConstKind::Ident(name)) => {
                let Some(c) = self.lookup(file, name) else { return };
                let DefinitionKind::Const { ty, value } = &self.def(c).kind else { return };
                if let Some(t) = self.resolve_type_quiet(c.file, ty) {
                    self.expand_value(c.file, &t, value, state, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// Whether struct `from` leads to `to` through struct-typed fields (of any struct or
    /// union): the test for a recursive field.
    fn struct_reaches(&mut self, from: DefRef, to: DefRef) -> bool {
        let mut stack = vec![from];
        let mut seen = HashSet::default();
        while let Some(x) = stack.pop() {
            if x == to {
                return true;
            }
            if !seen.insert(x) {
                continue;
            }
            let DefinitionKind::Struct { fields, .. } = &self.def(x).kind else { continue };
            for f in fields {
                if let Some(ty) = self.resolve_type_quiet(x.file, &f.ty) {
                    if let Type::Named(t) = self.underlying(&ty) {
                        if matches!(self.def(t).kind, DefinitionKind::Struct { .. }) {
                            stack.push(t);
                        }
                    }
                }
            }
        }
        false
    }

    fn direct_non_union(&mut self, ty: &Type) -> Option<DefRef> {
        let Type::Named(r) = self.underlying(ty) else { return None };
        matches!(self.def(r).kind, DefinitionKind::Struct { kind, .. } if kind != StructKind::Union)
            .then_some(r)
    }
}
