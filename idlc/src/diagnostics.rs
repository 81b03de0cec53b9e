//! Every problem idlc can report, as data with spans, and the one function that turns a
//! problem into a codespan diagnostic (stable code, message, labels, help).

use codespan_reporting::diagnostic::{Diagnostic, Label, Severity};

use crate::span::{FileId, FileSpan, Span};

/// One problem in one file. Errors stop code generation; warnings do not.
/// Something wrong (an error) or doubtful (a warning) in an IDL file, as data; rendered by
/// [`Problem::to_diagnostic`] with its code, spans, notes and suggestions.
// Each variant's meaning is its rendered message (codes listed in spec/idl.md § 4); the
// fields are the spans and names that message shows.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    // Syntax (E00xx)
    /// `unclosed`: for a missing closer, where its group was opened.
    Unclosed {
        expected: String,
        found: &'static str,
        found_text: String,
        opener: Span,
        span: Span,
    },
    Expected {
        expected: String,
        found: &'static str,
        found_text: String,
        span: Span,
    },
    BadCharacter {
        span: Span,
    },
    UnterminatedString {
        span: Span,
    },
    UnterminatedComment {
        span: Span,
    },
    TooDeep {
        what: &'static str,
        limit: u32,
        span: Span,
    },
    IntegerLiteralTooLarge {
        span: Span,
    },
    /// A keyword where a name belongs (`string service`): taken as the name, so the rest
    /// of the file parses.
    KeywordAsName {
        keyword: String,
        what: String,
        span: Span,
    },
    Deprecated {
        what: String,
        instead: String,
        span: Span,
    },
    /// Syntax of another Thrift compiler that is unambiguous here: accepted, with a warning.
    Dialect {
        what: String,
        instead: String,
        span: Span,
    },
    // Files (E01xx)
    IncludeNotFound {
        path: String,
        searched: Vec<String>,
        span: Span,
    },
    IncludeCycle {
        path: String,
        chain: Vec<String>,
        span: Span,
    },
    // Names and types (E02xx)
    UnknownType {
        name: String,
        suggestion: Option<String>,
        span: Span,
    },
    NotAType {
        name: String,
        is: &'static str,
        defined: FileSpan,
        span: Span,
    },
    DuplicateDefinition {
        name: String,
        previous: Span,
        span: Span,
    },
    DuplicateFieldId {
        id: i64,
        previous: Span,
        span: Span,
        next_free: i64,
    },
    DuplicateFieldName {
        name: String,
        previous: Span,
        span: Span,
    },
    DuplicateEnumValue {
        value: i64,
        previous_name: String,
        previous: Span,
        span: Span,
    },
    DuplicateEnumName {
        name: String,
        previous: Span,
        span: Span,
    },
    MissingFieldId {
        name: String,
        implicit: i64,
        suggested: i64,
        span: Span,
    },
    FieldIdOutOfRange {
        id: i64,
        span: Span,
    },
    EnumValueOutOfRange {
        value: i64,
        span: Span,
    },
    WrongConstType {
        expected: String,
        found: &'static str,
        span: Span,
        declared: Option<Span>,
    },
    IntegerOutOfRange {
        ty: &'static str,
        value: i128,
        min: i128,
        max: i128,
        span: Span,
    },
    UnknownConst {
        name: String,
        suggestion: Option<String>,
        span: Span,
    },
    UnknownEnumValue {
        enum_name: String,
        value: String,
        suggestion: Option<String>,
        /// The enum's values, listed in the note.
        valid: Vec<String>,
        span: Span,
    },
    /// `MyEnum1.B` where the field's enum is `MyEnum2`, which has a `B`: Thrift looks up the
    /// last component in the field's own enum.
    /// Two method names of one service whose ids (FNV-1a of the name) are equal.
    MethodIdCollision {
        name: String,
        other: String,
        id: u32,
        previous: FileSpan,
        span: Span,
    },
    /// A field id or enum value that the definition's `ferry.reserved` retires.
    ReservedIdUsed {
        /// "field id" or "enum value".
        what: &'static str,
        id: i64,
        owner: String,
        reserved: Span,
        span: Span,
        next_free: i64,
    },
    /// A default holding a value of a struct whose defaults lead back to the owner.
    EndlessDefault {
        owner: String,
        field: String,
        span: Span,
    },
    RenamedInRust {
        name: String,
        rust_name: String,
        why: String,
        span: Span,
    },
    /// A method marked streaming in another dialect (Kitex's `streaming.mode`), which Ferry
    /// generates as a unary method until it has streams.
    StreamingNotSupported {
        method: String,
        mode: String,
        span: Span,
    },
    EnumValueOfOtherEnum {
        written: String,
        field_enum: String,
        value: String,
        span: Span,
    },
    ConstCycle {
        name: String,
        span: Span,
    },
    TypedefCycle {
        name: String,
        span: Span,
    },
    RequiredInUnion {
        union_name: String,
        span: Span,
    },
    InvalidMapKey {
        key: String,
        span: Span,
    },
    UnknownExtends {
        name: String,
        suggestion: Option<String>,
        span: Span,
    },
    ExtendsNotService {
        name: String,
        span: Span,
    },
    CyclicExtends {
        chain: Vec<String>,
        span: Span,
    },
    DuplicateMethod {
        name: String,
        previous: FileSpan,
        inherited_from: Option<String>,
        span: Span,
    },
    OnewayWithResult {
        method: String,
        oneway: Span,
        span: Span,
    },
    OnewayWithThrows {
        method: String,
        oneway: Span,
        span: Span,
    },
    ThrowsNonException {
        name: String,
        span: Span,
    },
    InfiniteStruct {
        name: String,
        path: Vec<String>,
        span: Span,
    },
    UnknownFerryAnnotation {
        key: String,
        suggestion: Option<String>,
        span: Span,
    },
    BadAnnotationValue {
        key: String,
        value: String,
        expected: &'static str,
        span: Span,
    },
    FerryAnnotationMisplaced {
        key: String,
        span: Span,
    },
}

impl Problem {
    /// True for errors (the file cannot be compiled), false for warnings.
    pub fn is_error(&self) -> bool {
        !matches!(
            self,
            Problem::Deprecated { .. }
                | Problem::Dialect { .. }
                | Problem::DuplicateEnumValue { .. }
                | Problem::MissingFieldId { .. }
                | Problem::InvalidMapKey { .. }
                | Problem::InfiniteStruct { .. }
                | Problem::EnumValueOfOtherEnum { .. }
                | Problem::RenamedInRust { .. }
                | Problem::StreamingNotSupported { .. }
        )
    }

    /// The stable code (`E0201`); warnings use `W`.
    pub fn code(&self) -> &'static str {
        use Problem::*;
        match self {
            Expected { .. } | Unclosed { .. } => "E0001",
            BadCharacter { .. } => "E0002",
            UnterminatedString { .. } => "E0003",
            UnterminatedComment { .. } => "E0004",
            TooDeep { .. } => "E0005",
            IntegerLiteralTooLarge { .. } => "E0006",
            KeywordAsName { .. } => "E0009",
            Deprecated { .. } => "W0007",
            Dialect { .. } => "W0008",
            IncludeNotFound { .. } => "E0101",
            IncludeCycle { .. } => "E0102",
            UnknownType { .. } => "E0201",
            NotAType { .. } => "E0202",
            DuplicateDefinition { .. } => "E0203",
            DuplicateFieldId { .. } => "E0204",
            DuplicateFieldName { .. } => "E0205",
            DuplicateEnumValue { .. } => "W0206",
            DuplicateEnumName { .. } => "E0207",
            MissingFieldId { .. } => "W0208",
            FieldIdOutOfRange { .. } => "E0209",
            EnumValueOutOfRange { .. } => "E0210",
            WrongConstType { .. } => "E0211",
            IntegerOutOfRange { .. } => "E0212",
            UnknownConst { .. } => "E0213",
            UnknownEnumValue { .. } => "E0214",
            ConstCycle { .. } => "E0215",
            TypedefCycle { .. } => "E0216",
            RequiredInUnion { .. } => "E0217",
            InvalidMapKey { .. } => "W0219",
            UnknownExtends { .. } => "E0220",
            ExtendsNotService { .. } => "E0221",
            CyclicExtends { .. } => "E0222",
            DuplicateMethod { .. } => "E0223",
            OnewayWithResult { .. } => "E0224",
            OnewayWithThrows { .. } => "E0225",
            ThrowsNonException { .. } => "E0226",
            InfiniteStruct { .. } => "W0227",
            EnumValueOfOtherEnum { .. } => "W0231",
            RenamedInRust { .. } => "W0234",
            StreamingNotSupported { .. } => "W0236",
            EndlessDefault { .. } => "E0232",
            MethodIdCollision { .. } => "E0233",
            ReservedIdUsed { .. } => "E0235",
            UnknownFerryAnnotation { .. } => "E0228",
            BadAnnotationValue { .. } => "E0229",
            FerryAnnotationMisplaced { .. } => "E0230",
        }
    }

    /// Renders the problem found in `file` as a codespan diagnostic.
    pub fn to_diagnostic(&self, file: FileId) -> Diagnostic<FileId> {
        use Problem::*;
        let severity = if self.is_error() { Severity::Error } else { Severity::Warning };
        let d = Diagnostic::new(severity).with_code(self.code());
        let at = |span: &Span| Label::primary(file, span.range());
        let also = |span: &Span| Label::secondary(file, span.range());
        let did_you_mean = |s: &Option<String>| {
            s.as_ref().map(|s| vec![format!("help: did you mean `{s}`?")]).unwrap_or_default()
        };
        match self {
            Unclosed { expected, found, found_text, opener, span } => {
                let found = if found_text.is_empty() || *found == "the end of the file" {
                    found.to_string()
                } else {
                    format!("`{found_text}`")
                };
                d.with_message(format!("expected {expected}, found {found}")).with_labels(vec![
                    at(span).with_message(format!("expected {expected}")),
                    also(opener).with_message("unclosed delimiter"),
                ])
            }
            Expected { expected, found, found_text, span } => {
                let found = if found_text.is_empty() || *found == "the end of the file" {
                    found.to_string()
                } else {
                    format!("`{found_text}`")
                };
                d.with_message(format!("expected {expected}, found {found}"))
                    .with_labels(vec![at(span).with_message(format!("expected {expected}"))])
            }
            KeywordAsName { keyword, what, span } => d
                .with_message(format!("`{keyword}` is a keyword, so it cannot be {what}"))
                .with_labels(vec![at(span).with_message(format!("keyword used as {what}"))])
                .with_notes(vec![format!(
                    "help: rename it, for example `{keyword}_` or `{keyword}Name` (Thrift reserves its keywords in every position)"
                )]),
            BadCharacter { span } => d
                .with_message("this character cannot start a token")
                .with_labels(vec![at(span)])
                .with_notes(vec!["help: remove it, or put it inside a quoted string".into()]),
            UnterminatedString { span } => d
                .with_message("string is not closed before the end of the line")
                .with_labels(vec![at(span).with_message("string starts here")])
                .with_notes(vec!["help: add the closing quote; strings cannot span lines".into()]),
            UnterminatedComment { span } => d
                .with_message("block comment is never closed")
                .with_labels(vec![at(&Span::new(span.start(), span.start() + 2)).with_message("comment starts here")])
                .with_notes(vec!["help: close it with `*/`".into()]),
            TooDeep { what, limit, span } => d
                .with_message(format!("{what} nested more than {limit} levels deep"))
                .with_labels(vec![at(span).with_message("nesting limit reached here")])
                .with_notes(vec![format!("help: introduce a typedef or a struct to flatten the {what}")]),
            IntegerLiteralTooLarge { span } => d
                .with_message("integer literal does not fit in 64 bits")
                .with_labels(vec![at(span)]),
            Deprecated { what, instead, span } => d
                .with_message(format!("{what} is deprecated"))
                .with_labels(vec![at(span)])
                .with_notes(vec![format!("help: write `{instead}` instead")]),
            Dialect { what, instead, span } => d
                .with_message(format!("{what}: not Apache Thrift syntax"))
                .with_labels(vec![at(span).with_message("accepted, as other Thrift compilers do")])
                .with_notes(vec![format!("help: for Apache Thrift, {instead}")]),
            IncludeNotFound { path, searched, span } => d
                .with_message(format!("cannot find included file `{path}`"))
                .with_labels(vec![at(span).with_message("included here")])
                .with_notes(vec![
                    format!("note: looked in: {}", searched.join(", ")),
                    "help: check the path, or add its folder with `-I DIR`".into(),
                ]),
            IncludeCycle { path, chain, span } => d
                .with_message(format!("including `{path}` creates a cycle"))
                .with_labels(vec![at(span).with_message("this include closes the cycle")])
                .with_notes(vec![format!("note: {}", chain.join(" includes "))]),
            UnknownType { name, suggestion, span } => d
                .with_message(format!("unknown type `{name}`"))
                .with_labels(vec![at(span).with_message("not defined in this file or its includes")])
                .with_notes(did_you_mean(suggestion)),
            NotAType { name, is, defined, span } => d
                .with_message(format!("`{name}` is a {is}, not a type"))
                .with_labels(vec![
                    at(span).with_message("used as a type here"),
                    Label::secondary(defined.file, defined.span.range()).with_message(format!("{is} defined here")),
                ]),
            DuplicateDefinition { name, previous, span } => d
                .with_message(format!("`{name}` is defined more than once"))
                .with_labels(vec![at(span).with_message("defined again here"), also(previous).with_message("first defined here")])
                .with_notes(vec!["help: rename one of them".into()]),
            DuplicateFieldId { id, previous, span, next_free } => d
                .with_message(format!("field id {id} is used more than once"))
                .with_labels(vec![at(span).with_message("id used again here"), also(previous).with_message("first used here")])
                .with_notes(vec![format!("help: give this field an unused id, such as {next_free}")]),
            DuplicateFieldName { name, previous, span } => d
                .with_message(format!("field `{name}` is declared more than once"))
                .with_labels(vec![at(span).with_message("declared again here"), also(previous).with_message("first declared here")]),
            DuplicateEnumValue { value, previous_name, previous, span } => d
                .with_message(format!("enum value {value} is already used by `{previous_name}`"))
                .with_labels(vec![at(span).with_message("same value here"), also(previous).with_message("first used here")])
                .with_notes(vec!["note: accepted because existing Thrift files use aliases; both names decode to the first".into()]),
            DuplicateEnumName { name, previous, span } => d
                .with_message(format!("enum value `{name}` is declared more than once"))
                .with_labels(vec![at(span).with_message("declared again here"), also(previous).with_message("first declared here")]),
            MissingFieldId { name, implicit, suggested, span } => d
                .with_message(format!("field `{name}` has no id; it gets the implicit id {implicit}"))
                .with_labels(vec![at(span)])
                .with_notes(vec![
                    "note: implicit ids change when fields are reordered, which breaks compatibility".into(),
                    format!("help: give it an explicit id: `{suggested}: …`"),
                ]),
            FieldIdOutOfRange { id, span } => d
                .with_message(format!("field id {id} is out of range"))
                .with_labels(vec![at(span)])
                .with_notes(vec![format!("note: field ids must fit in 16 bits ({} to {})", i16::MIN, i16::MAX)]),
            EnumValueOutOfRange { value, span } => d
                .with_message(format!("enum value {value} does not fit in 32 bits"))
                .with_labels(vec![at(span)])
                .with_notes(vec![format!("note: enum values range from {} to {}", i32::MIN, i32::MAX)]),
            WrongConstType { expected, found, span, declared } => {
                let mut labels = vec![at(span).with_message(format!("this is {found}"))];
                if let Some(declared) = declared {
                    labels.push(also(declared).with_message(format!("expected {expected} because of this type")));
                }
                d.with_message(format!("expected {expected}, found {found}")).with_labels(labels)
            }
            IntegerOutOfRange { ty, value, min, max, span } => d
                .with_message(format!("{value} is out of range for `{ty}`"))
                .with_labels(vec![at(span)])
                .with_notes(vec![format!("note: `{ty}` holds {min} to {max}")]),
            UnknownConst { name, suggestion, span } => d
                .with_message(format!("unknown constant `{name}`"))
                .with_labels(vec![at(span)])
                .with_notes(did_you_mean(suggestion)),
            UnknownEnumValue { enum_name, value, suggestion, valid, span } => d
                .with_message(format!("enum `{enum_name}` has no value `{value}`"))
                .with_labels(vec![at(span)])
                .with_notes({
                    let mut notes = did_you_mean(suggestion);
                    notes.push(if valid.is_empty() {
                        format!("note: `{enum_name}` has no values")
                    } else {
                        format!("note: `{enum_name}` has {}", valid.join(", "))
                    });
                    notes
                }),
            ConstCycle { name, span } => d
                .with_message(format!("constant `{name}` is defined in terms of itself"))
                .with_labels(vec![at(span)]),
            TypedefCycle { name, span } => d
                .with_message(format!("typedef `{name}` refers to itself"))
                .with_labels(vec![at(span)])
                .with_notes(vec!["help: a typedef must end in a real type".into()]),
            RequiredInUnion { union_name, span } => d
                .with_message(format!("union `{union_name}` cannot have required fields"))
                .with_labels(vec![at(span).with_message("declared required here")])
                .with_notes(vec!["help: remove `required`: exactly one field of a union is set".into()]),
            InvalidMapKey { key, span } => d
                .with_message(format!("`{key}` map keys are fragile"))
                .with_labels(vec![at(span).with_message("floating-point key")])
                .with_notes(vec![
                    "note: a NaN key never equals itself, and -0.0 and 0.0 are different keys on the wire".into(),
                    "help: prefer an integer (e.g. fixed-point) or a string key".into(),
                ]),
            UnknownExtends { name, suggestion, span } => d
                .with_message(format!("cannot extend unknown service `{name}`"))
                .with_labels(vec![at(span)])
                .with_notes(did_you_mean(suggestion)),
            ExtendsNotService { name, span } => d
                .with_message(format!("`{name}` is not a service"))
                .with_labels(vec![at(span)])
                .with_notes(vec!["help: `extends` must name a service".into()]),
            CyclicExtends { chain, span } => d
                .with_message("services extend each other in a cycle")
                .with_labels(vec![at(span)])
                .with_notes(vec![format!("note: {}", chain.join(" extends "))]),
            DuplicateMethod { name, previous, inherited_from, span } => {
                let msg = match inherited_from {
                    Some(base) => format!("method `{name}` is already defined by the base service `{base}`"),
                    None => format!("method `{name}` is defined more than once"),
                };
                d.with_message(msg).with_labels(vec![
                    at(span).with_message("defined again here"),
                    Label::secondary(previous.file, previous.span.range()).with_message("first defined here"),
                ])
            }
            OnewayWithResult { method, oneway, span } => d
                .with_message(format!("oneway method `{method}` must return void"))
                .with_labels(vec![at(span).with_message("returns a value"), also(oneway).with_message("declared oneway here")])
                .with_notes(vec!["help: return `void`, or remove `oneway` so the caller gets the result".into()]),
            OnewayWithThrows { method, oneway, span } => d
                .with_message(format!("oneway method `{method}` cannot throw"))
                .with_labels(vec![at(span).with_message("exceptions declared here"), also(oneway).with_message("declared oneway here")])
                .with_notes(vec!["help: a oneway call has no reply to carry an exception; remove `throws` or `oneway`".into()]),
            ThrowsNonException { name, span } => d
                .with_message(format!("`{name}` is not an exception"))
                .with_labels(vec![at(span).with_message("only exceptions can be thrown")])
                .with_notes(vec![format!("help: declare `{name}` with `exception` instead of `struct`")]),
            InfiniteStruct { name, path, span } => d
                .with_message(format!("struct `{name}` contains itself through required fields"))
                .with_labels(vec![at(span).with_message("required field leads back to the struct")])
                .with_notes(vec![
                    format!("note: {}", path.join(" → ")),
                    "note: no finite message has all these fields; decoding one that lacks them is an error".into(),
                    "help: make one of these fields optional, or hold it in a list".into(),
                ]),
            MethodIdCollision { name, other, id, previous, span } => d
                .with_message(format!("methods `{name}` and `{other}` have the same id ({id:#010x})"))
                .with_labels(vec![
                    at(span).with_message("this name's id"),
                    Label::secondary(previous.file, previous.span.range()).with_message("is this name's id too"),
                ])
                .with_notes(vec![
                    "note: a method's id is the FNV-1a hash of its name; calls to either would reach one handler".into(),
                    "help: rename one of them".into(),
                ]),
            ReservedIdUsed { what, id, owner, reserved, span, next_free } => d
                .with_message(format!("{what} {id} of `{owner}` is reserved"))
                .with_labels(vec![
                    at(span).with_message("used here"),
                    also(reserved).with_message("reserved here"),
                ])
                .with_notes(vec![
                    "note: reserved ids belonged to removed members; peers built from older IDL still read them with the old meaning".into(),
                    format!("help: use an unreserved one, such as {next_free}"),
                ]),
            EndlessDefault { owner, field, span } => d
                .with_message(format!("the default of `{owner}.{field}` never ends"))
                .with_labels(vec![at(span).with_message(format!("its unset fields take their defaults, which lead back to `{owner}.{field}`"))])
                .with_notes(vec![
                    "note: every back end would build this default forever".into(),
                    "help: set the fields that lead back explicitly, or make one of them optional".into(),
                ]),
            StreamingNotSupported { method, mode, span } => d
                .with_message(format!(
                    "method `{method}` is marked streaming (`{mode}`), which Ferry does not support yet: it is generated as a unary method"
                ))
                .with_labels(vec![at(span).with_message("this annotation asks for a stream")])
                .with_notes(vec![
                    "note: callers get one request and one reply, not a stream; peers that stream will not interoperate".into(),
                    "help: remove the annotation, or keep this method out of Ferry services until streaming lands".into(),
                ]),
            RenamedInRust { name, rust_name, why, span } => d
                .with_message(if rust_name.starts_with(&format!("{name}_start")) {
                    format!("the Rust client starts method `{name}` without waiting through `{rust_name}`, not `{name}_start`")
                } else {
                    format!("the Rust client calls method `{name}` through `{rust_name}`")
                })
                .with_labels(vec![at(span).with_message(why.clone())])
                .with_notes(vec![
                    "note: the server trait and the wire keep the IDL name; spec/idl.md § 7 has the rule".into(),
                    "help: rename the method to keep the names alike in every language".into(),
                ]),
            EnumValueOfOtherEnum { written, field_enum, value, span } => d
                .with_message(format!("`{written}` names another enum; it is read as `{field_enum}.{value}`"))
                .with_labels(vec![at(span).with_message(format!("the field's type is `{field_enum}`"))])
                .with_notes(vec![
                    "note: Thrift looks the last component up in the field's own enum".into(),
                    format!("help: write `{field_enum}.{value}`"),
                ]),
            UnknownFerryAnnotation { key, suggestion, span } => d
                .with_message(format!("unknown Ferry annotation `{key}`"))
                .with_labels(vec![at(span)])
                .with_notes({
                    let mut n = did_you_mean(suggestion);
                    n.push("note: Ferry annotations are `ferry.timeout_ms`, `ferry.idempotent`, `ferry.borrow` (methods), `ferry.reserved` (structs and enums) and `ferry.compat.allow`".into());
                    n
                }),
            BadAnnotationValue { key, value, expected, span } => d
                .with_message(format!("`{key}` must be {expected}, not \"{value}\""))
                .with_labels(vec![at(span)]),
            FerryAnnotationMisplaced { key, span } if key == "ferry.reserved" => d
                .with_message(format!("`{key}` applies to structs, unions, exceptions and enums only"))
                .with_labels(vec![at(span)])
                .with_notes(vec!["help: move it after the definition's closing brace: `struct S { … } (ferry.reserved = \"2, 5-7\")`".into()]),
            FerryAnnotationMisplaced { key, span } => d
                .with_message(format!("`{key}` applies to service methods only"))
                .with_labels(vec![at(span)])
                .with_notes(vec!["help: move it to a method's annotations: `void f() (ferry.timeout_ms = \"250\")`".into()]),
        }
    }
}

/// A construct a back end cannot express (a C name two definitions would both generate, a
/// value C has no constant for): an error like the front end's, at the IDL's spans.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendError {
    /// `c`, `rust`.
    pub language: &'static str,
    /// What cannot be generated.
    pub message: String,
    /// The IDL construct at fault.
    pub at: FileSpan,
    /// Another place involved (the first of two colliding definitions).
    pub also: Option<(FileSpan, String)>,
    /// What to change in the IDL.
    pub help: String,
}

impl BackendError {
    /// The error as a codespan diagnostic, labels in the IDL files.
    pub fn to_diagnostic(&self) -> Diagnostic<FileId> {
        let mut labels = vec![Label::primary(self.at.file, self.at.span.range())
            .with_message(format!("the {} back end cannot generate this", self.language))];
        if let Some((span, message)) = &self.also {
            labels
                .push(Label::secondary(span.file, span.span.range()).with_message(message.clone()));
        }
        Diagnostic::error()
            .with_code("E0301")
            .with_message(self.message.clone())
            .with_labels(labels)
            .with_notes(vec![format!("help: {}", self.help)])
    }
}

/// Edit distance with adjacent transpositions (optimal string alignment), for "did you
/// mean" suggestions: `Entyr` is one edit from `Entry`, as `Entr` is.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let same = |x: char, y: char| x.eq_ignore_ascii_case(&y);
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(!same(a[i - 1], b[j - 1]));
            let mut d = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1]) {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// The candidate closest to `name`, if close enough to be a plausible typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name) // never "did you mean" the very name that failed
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.to_owned())
}
