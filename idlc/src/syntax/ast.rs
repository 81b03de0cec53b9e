//! The syntax tree: what the file says, with a span on everything a diagnostic may point at.
//! Names are not resolved here; see `resolve`.

pub use smol_str::SmolStr;

use crate::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: SmolStr,
    pub span: Span,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    pub headers: Vec<Header>,
    pub definitions: Vec<Definition>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Header {
    Include { path: String, span: Span },
    CppInclude { path: String, span: Span },
    Namespace { scope: Ident, name: Ident, span: Span },
}

/// `key = "value"` inside `( … )`; the value may be omitted (`(cpp.noexcept)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Annotation {
    pub key: Ident,
    pub value: Option<(String, Span)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub doc: Option<String>,
    pub name: Ident,
    pub kind: DefinitionKind,
    pub annotations: Vec<Annotation>,
    /// From the keyword to the end of the definition.
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StructKind {
    Struct,
    Union,
    Exception,
}

impl StructKind {
    pub fn keyword(self) -> &'static str {
        match self {
            StructKind::Struct => "struct",
            StructKind::Union => "union",
            StructKind::Exception => "exception",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum DefinitionKind {
    Const {
        ty: TypeExpr,
        value: ConstExpr,
    },
    Typedef {
        target: TypeExpr,
    },
    Enum {
        values: Vec<EnumValue>,
    },
    /// Deprecated string enum: parsed, warned about, treated as `string`.
    Senum {
        values: Vec<(String, Span)>,
    },
    Struct {
        kind: StructKind,
        fields: Vec<Field>,
    },
    Service {
        extends: Option<Ident>,
        functions: Vec<Function>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumValue {
    pub doc: Option<String>,
    pub name: Ident,
    pub value: Option<(i64, Span)>,
    pub annotations: Vec<Annotation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requiredness {
    Required,
    Optional,
    Default,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub doc: Option<String>,
    /// The explicit id and its span; `None` when the id was left out.
    pub id: Option<(i64, Span)>,
    pub requiredness: Requiredness,
    pub requiredness_span: Option<Span>,
    pub ty: TypeExpr,
    /// Thrift's `&` reference marker (C++ back end hint), accepted and ignored.
    pub reference: bool,
    pub name: Ident,
    pub default: Option<ConstExpr>,
    pub annotations: Vec<Annotation>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub doc: Option<String>,
    pub oneway: Option<Span>,
    /// `None` for `void`.
    pub returns: Option<TypeExpr>,
    pub returns_span: Span,
    pub name: Ident,
    pub params: Vec<Field>,
    pub throws: Vec<Field>,
    pub annotations: Vec<Annotation>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BaseType {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    Double,
    String,
    Binary,
    Uuid,
}

impl BaseType {
    pub fn name(self) -> &'static str {
        match self {
            BaseType::Bool => "bool",
            BaseType::I8 => "i8",
            BaseType::I16 => "i16",
            BaseType::I32 => "i32",
            BaseType::I64 => "i64",
            BaseType::U8 => "u8",
            BaseType::U16 => "u16",
            BaseType::U32 => "u32",
            BaseType::U64 => "u64",
            BaseType::F32 => "f32",
            BaseType::Double => "double",
            BaseType::String => "string",
            BaseType::Binary => "binary",
            BaseType::Uuid => "uuid",
        }
    }

    /// Base type names that are identifiers to the lexer (`byte`, `i32`, …), with their
    /// deprecated spellings flagged.
    /// Every base type's name (for "did you mean" on unknown types).
    pub const NAMES: &'static [&'static str] = &[
        "bool", "byte", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "double",
        "string", "binary", "uuid",
    ];

    pub fn from_name(name: &str) -> Option<(BaseType, bool)> {
        Some(match name {
            "bool" => (BaseType::Bool, false),
            "byte" => (BaseType::I8, false),
            "i8" => (BaseType::I8, false),
            "i16" => (BaseType::I16, false),
            "i32" => (BaseType::I32, false),
            "i64" => (BaseType::I64, false),
            "u8" => (BaseType::U8, false),
            "u16" => (BaseType::U16, false),
            "u32" => (BaseType::U32, false),
            "u64" => (BaseType::U64, false),
            "f32" => (BaseType::F32, false),
            "double" => (BaseType::Double, false),
            "string" => (BaseType::String, false),
            "binary" => (BaseType::Binary, false),
            "uuid" => (BaseType::Uuid, false),
            "slist" => (BaseType::String, true),
            _ => return None,
        })
    }

    /// The inclusive range of an integer type.
    pub fn int_range(self) -> Option<(i128, i128)> {
        Some(match self {
            BaseType::I8 => (i8::MIN.into(), i8::MAX.into()),
            BaseType::I16 => (i16::MIN.into(), i16::MAX.into()),
            BaseType::I32 => (i32::MIN.into(), i32::MAX.into()),
            BaseType::I64 => (i64::MIN.into(), i64::MAX.into()),
            BaseType::U8 => (0, u8::MAX.into()),
            BaseType::U16 => (0, u16::MAX.into()),
            BaseType::U32 => (0, u32::MAX.into()),
            BaseType::U64 => (0, u64::MAX.into()),
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeKind,
    pub span: Span,
    pub annotations: Vec<Annotation>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeKind {
    Base(BaseType),
    /// A name to resolve: a typedef, enum, struct, … possibly `include_name.Type`.
    Named(SmolStr),
    List(Box<TypeExpr>),
    Set(Box<TypeExpr>),
    Map(Box<TypeExpr>, Box<TypeExpr>),
    /// A type the parser could not read; already reported.
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConstExpr {
    pub kind: ConstKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ConstKind {
    /// Integers are kept wide so that out-of-range values can be reported, not wrapped.
    Int(i128),
    Double(f64),
    Str(String),
    Bool(bool),
    /// A reference to a constant or enum value (`MAX`, `Color.RED`, `shared.LIMIT`).
    Ident(SmolStr),
    List(Vec<ConstExpr>),
    Map(Vec<(ConstExpr, ConstExpr)>),
    Error,
}
