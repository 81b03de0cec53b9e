//! The checked, resolved model that back ends consume. Every name is resolved to a
//! [`DefRef`], every id and enum value is explicit, every constant is type-checked.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::span::{FileId, FileSpan};
pub use crate::syntax::ast::{BaseType, Requiredness, StructKind};

/// A definition: the file it is in and its index among that file's definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DefRef {
    /// The file it is in.
    pub file: FileId,
    /// Its position among that file's definitions.
    pub index: usize,
}

#[derive(Clone, Debug, PartialEq)]
/// A resolved type.
pub enum Type {
    /// A base type (`i32`, `string`, …).
    Base(BaseType),
    /// `list<T>`.
    List(Box<Type>),
    /// `set<T>`.
    Set(Box<Type>),
    /// `map<K, V>`.
    Map(Box<Type>, Box<Type>),
    /// A struct, union, exception, enum or typedef.
    Named(DefRef),
}

#[derive(Clone, Debug, PartialEq)]
/// A checked constant value (of the type it was checked against).
pub enum Value {
    /// An integer (any width: the type says which).
    Int(i128),
    /// A floating-point number.
    Double(f64),
    /// A string (or binary) literal.
    Str(String),
    /// `true` or `false`.
    Bool(bool),
    /// A list or set literal.
    List(Vec<Value>),
    /// A map literal, or a struct literal (field name → value).
    Map(Vec<(Value, Value)>),
    /// A value of an enum, by name.
    EnumValue {
        /// The enum.
        enum_ref: DefRef,
        /// The value's name.
        name: String,
        /// Its number.
        value: i32,
    },
    /// A reference to another constant.
    Const(DefRef),
}

#[derive(Clone, Debug, PartialEq)]
/// Every checked file, resolved: what back ends generate from.
pub struct Program {
    /// The files, roots and includes alike; `DefRef::file` indexes this.
    pub files: Vec<File>,
    /// The files named on the command line or by the build script.
    pub roots: Vec<FileId>,
}

#[derive(Clone, Debug, PartialEq)]
/// One IDL file.
pub struct File {
    /// Where it was read from.
    pub path: std::path::PathBuf,
    /// The name other files include it by (its file name without `.thrift`).
    pub include_name: String,
    /// scope → namespace (`rs` → `ferry.demo`, `*` → …).
    pub namespaces: BTreeMap<String, String>,
    /// The files it includes.
    pub includes: Vec<FileId>,
    /// The same includes by the path as written in each `include` statement.
    pub include_paths: Vec<(String, FileId)>,
    /// Its IDL text, as compiled (embedded by back ends for server reflection).
    pub text: String,
    /// Its definitions, in source order.
    pub definitions: Vec<Definition>,
}

impl File {
    /// The namespace a back end uses: its own scope's entry, else `*`'s (spec/idl.md § 3).
    pub fn namespace(&self, scope: &str) -> Option<&str> {
        self.namespaces.get(scope).or_else(|| self.namespaces.get("*")).map(String::as_str)
    }
}

#[derive(Clone, Debug, PartialEq)]
/// A named definition: constant, typedef, enum, struct, union, exception or service.
pub struct Definition {
    /// Its name.
    pub name: String,
    /// Where the name is written: back ends' diagnostics point here.
    pub span: FileSpan,
    /// Its doc comment.
    pub doc: Option<String>,
    /// Its annotations (`key = value`).
    pub annotations: BTreeMap<String, String>,
    /// What it defines.
    pub kind: DefinitionKind,
}

#[derive(Clone, Debug, PartialEq)]
/// What a definition defines.
pub enum DefinitionKind {
    /// `const T NAME = value`.
    Const {
        /// The declared type.
        ty: Type,
        /// The value, checked against it.
        value: Value,
    },
    /// `typedef T Name`.
    Typedef {
        /// The type it stands for.
        target: Type,
    },
    /// An enum.
    Enum {
        /// Its values, in order.
        values: Vec<EnumValue>,
    },
    /// A struct, union or exception.
    Struct {
        /// Which of the three.
        kind: StructKind,
        /// Its fields, in declaration order.
        fields: Vec<Field>,
    },
    /// A service.
    Service {
        /// The service it extends.
        extends: Option<DefRef>,
        /// Its own methods (not the inherited ones).
        methods: Vec<Method>,
    },
}

#[derive(Clone, Debug, PartialEq)]
/// One value of an enum.
pub struct EnumValue {
    /// Its name.
    pub name: String,
    /// Its number (explicit, or one more than the previous).
    pub value: i32,
    /// Its doc comment.
    pub doc: Option<String>,
    /// The value's name in the IDL (`idlc compat` points here).
    pub span: FileSpan,
}

#[derive(Clone, Debug, PartialEq)]
/// A field of a struct, union or exception, or a method's argument or exception.
pub struct Field {
    /// Its id (explicit, or Thrift's implicit negative ids).
    pub id: i16,
    /// Its name.
    pub name: String,
    /// `required`, `optional` or default.
    pub requiredness: Requiredness,
    /// Its type.
    pub ty: Type,
    /// Its IDL default.
    pub default: Option<Value>,
    /// Its doc comment.
    pub doc: Option<String>,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
    /// The whole field in the IDL (`idlc compat` points here).
    pub span: FileSpan,
    /// Its type in the IDL.
    pub type_span: FileSpan,
}

/// `fields` in the order encoders write them: increasing id, negative ids first (spec/wire.md
/// § 4, the canonical encoding). Declaration order is kept for everything else (struct
/// layouts, initialisers).
pub fn in_id_order(fields: &[Field]) -> Vec<&Field> {
    let mut sorted: Vec<&Field> = fields.iter().collect();
    sorted.sort_by_key(|f| f.id);
    sorted
}

#[derive(Clone, Debug, PartialEq)]
/// A service method.
pub struct Method {
    /// Its name (its id on the wire is `method_id(name)`).
    pub name: String,
    /// The method's name in the IDL.
    pub span: FileSpan,
    /// `oneway`: no reply.
    pub oneway: bool,
    /// `None` for `void`.
    pub returns: Option<Type>,
    /// Its arguments.
    pub params: Vec<Field>,
    /// The exceptions it declares.
    pub throws: Vec<Field>,
    /// Its doc comment.
    pub doc: Option<String>,
    /// `ferry.timeout_ms`: the method's default deadline.
    pub timeout_ms: Option<u32>,
    /// `ferry.idempotent`: safe to retry after an unknown outcome.
    pub idempotent: bool,
    /// `ferry.borrow`: the handler receives the zero-copy view of its arguments.
    pub borrow: bool,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
}

impl Method {
    /// The fields of the struct a `Response` carries in every back end: field 0 the returned
    /// value (absent for `void`), then one per declared exception, all optional.
    pub fn result_fields(&self) -> Vec<Field> {
        let success = self.returns.iter().map(|t| Field {
            id: 0,
            name: "success".into(),
            requiredness: Requiredness::Optional,
            ty: t.clone(),
            default: None,
            doc: None,
            annotations: BTreeMap::new(),
            span: self.span,
            type_span: self.span,
        });
        let exceptions = self.throws.iter().map(|t| Field {
            requiredness: Requiredness::Optional,
            default: None,
            ..t.clone()
        });
        success.chain(exceptions).collect()
    }
}

impl Program {
    /// The definition `r` names.
    pub fn definition(&self, r: DefRef) -> &Definition {
        &self.files[r.file].definitions[r.index]
    }

    /// Follows typedefs to the type they stand for.
    pub fn underlying<'a>(&'a self, mut ty: &'a Type) -> &'a Type {
        // The checker rejects typedef cycles, so this terminates; the bound is a backstop.
        for _ in 0..1024 {
            match ty {
                Type::Named(r) => match &self.definition(*r).kind {
                    DefinitionKind::Typedef { target } => ty = target,
                    _ => return ty,
                },
                _ => return ty,
            }
        }
        ty
    }

    /// The struct a type names directly (through typedefs, not containers).
    pub fn direct_struct(&self, t: &Type) -> Option<DefRef> {
        match self.underlying(t) {
            Type::Named(r) if matches!(self.definition(*r).kind, DefinitionKind::Struct { .. }) => {
                Some(*r)
            }
            _ => None,
        }
    }

    /// Struct-typed fields (by owner and field name) that lead back to their own struct
    /// through other structs' fields: a back end must store them indirectly (a `Box`, a
    /// pointer) for the type to have a finite size. Containers do not count: they are
    /// indirect already.
    pub fn recursive_fields(&self) -> HashSet<(DefRef, String)> {
        self.fields_leading_back(|_| true)
    }

    /// Required fields that lead back to their own struct through required struct fields
    /// only (W0227): no finite value has them all, so back ends let them be absent in memory
    /// (and decoding a message that lacks one is an error). A subset of
    /// [`Program::recursive_fields`]; unions break such a cycle (their members are never
    /// required).
    pub fn unbuildable_fields(&self) -> HashSet<(DefRef, String)> {
        self.fields_leading_back(|f| {
            f.requiredness == Requiredness::Required
                && self.direct_struct(&f.ty).is_some_and(|t| {
                    !matches!(
                        self.definition(t).kind,
                        DefinitionKind::Struct { kind: StructKind::Union, .. }
                    )
                })
        })
    }

    /// Fields accepted by `follow` whose struct type reaches their owner again along fields
    /// accepted by `follow`.
    fn fields_leading_back(&self, follow: impl Fn(&Field) -> bool) -> HashSet<(DefRef, String)> {
        let mut structs = Vec::new();
        for (file, f) in self.files.iter().enumerate() {
            for (index, d) in f.definitions.iter().enumerate() {
                if let DefinitionKind::Struct { fields, .. } = &d.kind {
                    structs.push((DefRef { file, index }, fields));
                }
            }
        }
        let edges: HashMap<DefRef, Vec<DefRef>> = structs
            .iter()
            .map(|(r, fields)| {
                let targets = fields
                    .iter()
                    .filter(|f| follow(f))
                    .filter_map(|f| self.direct_struct(&f.ty))
                    .collect();
                (*r, targets)
            })
            .collect();
        let reaches = |from: DefRef, to: DefRef| {
            let mut stack = vec![from];
            let mut seen = HashSet::new();
            while let Some(x) = stack.pop() {
                if x == to {
                    return true;
                }
                if seen.insert(x) {
                    stack.extend(edges.get(&x).into_iter().flatten().copied());
                }
            }
            false
        };
        let mut found = HashSet::new();
        for (r, fields) in &structs {
            for f in fields.iter().filter(|f| follow(f)) {
                if let Some(target) = self.direct_struct(&f.ty) {
                    if reaches(target, *r) {
                        found.insert((*r, f.name.clone()));
                    }
                }
            }
        }
        found
    }
}
