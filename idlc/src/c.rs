//! The C back end: one header per IDL file, C11, written against `ferry_wire.h` (the wire
//! format) and `ferry.h` (the runtime's C ABI), both in `capi/include`.
//!
//! Per IDL file `<file>.h` (C names prefixed by `namespace c`, else `namespace *`, else the
//! file name) holds, in order:
//! enums (`int32_t` typedefs and constants), constants (macros), forward declarations,
//! container types (`ferry_list_<elem>`, `ferry_map_<key>_<value>`, shared between headers
//! through include guards), structs in dependency order, then the functions: per struct
//! `_init`, `_encode`, `_decode` and the value-level helpers; per service the method ids,
//! argument and result structs, a blocking client stub per method, and a handler table with
//! `_register` for serving it from C.
//!
//! Decoded strings and binaries borrow from the input; lists and maps live in the caller's
//! `ferry_arena`. Fields of recursive struct types are pointers (NULL: absent).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use crate::diagnostics::BackendError;
use crate::model::{
    in_id_order, BaseType, DefRef, Definition, DefinitionKind, Field, Program, Requiredness,
    StructKind, Type, Value,
};
use crate::span::FileSpan;

/// A generated header: its file name and text.
#[derive(Debug)]
pub struct Header {
    /// The header's file name (`<idl file name>.h`).
    pub file_name: String,
    /// Its contents.
    pub text: String,
}

/// Generates one header per file of `program`. Errors name IDL constructs the C back end
/// cannot express.
pub fn generate(program: &Program) -> Result<Vec<Header>, BackendError> {
    let g = Gen::new(program);
    (0..program.files.len()).map(|f| g.file(f)).collect()
}

#[rustfmt::skip]
const C_KEYWORDS: &[&str] = &[
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "bool", "true", "false", "_Bool",
    "_Complex", "_Imaginary", "_Alignas", "_Alignof", "_Atomic", "_Generic", "_Noreturn",
    "_Static_assert", "_Thread_local", "alignas", "alignof", "static_assert", "thread_local",
    "NULL", "errno", "assert", "offsetof", "max_align_t", "size_t",
    // Macros and objects of the headers a generated header includes (stdio, stdlib, stdint,
    // stdbool, stddef): a field with one of these names would be expanded or shadowed.
    "EOF", "stdin", "stdout", "stderr", "BUFSIZ", "FILENAME_MAX", "FOPEN_MAX", "L_tmpnam",
    "SEEK_SET", "SEEK_CUR", "SEEK_END", "TMP_MAX", "RAND_MAX", "EXIT_SUCCESS", "EXIT_FAILURE",
    "MB_CUR_MAX", "SIZE_MAX", "PTRDIFF_MIN", "PTRDIFF_MAX", "SIG_ATOMIC_MIN", "SIG_ATOMIC_MAX",
    "WCHAR_MIN", "WCHAR_MAX", "WINT_MIN", "WINT_MAX", "INT8_MIN", "INT8_MAX", "INT16_MIN",
    "INT16_MAX", "INT32_MIN", "INT32_MAX", "INT64_MIN", "INT64_MAX", "UINT8_MAX", "UINT16_MAX",
    "UINT32_MAX", "UINT64_MAX", "INTMAX_MIN", "INTMAX_MAX", "UINTMAX_MAX", "INTPTR_MIN",
    "INTPTR_MAX", "UINTPTR_MAX", "INT8_C", "INT16_C", "INT32_C", "INT64_C", "UINT8_C",
    "UINT16_C", "UINT32_C", "UINT64_C", "INTMAX_C", "UINTMAX_C",
];

/// C++ keywords and alternative operator names: a generated header compiles as C++ too.
#[rustfmt::skip]
const CPP_KEYWORDS: &[&str] = &[
    "and", "and_eq", "asm", "bitand", "bitor", "catch", "char8_t", "char16_t", "char32_t",
    "class", "compl", "concept", "consteval", "constexpr", "constinit", "const_cast",
    "co_await", "co_return", "co_yield", "decltype", "delete", "dynamic_cast", "explicit",
    "export", "friend", "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr",
    "operator", "or", "or_eq", "private", "protected", "public", "reinterpret_cast", "requires",
    "static_cast", "template", "this", "throw", "try", "typeid", "typename", "using", "virtual",
    "wchar_t", "xor", "xor_eq",
];

/// An IDL name as a C identifier: dots become underscores, keywords of C and C++ (headers
/// are included from both) and the standard headers' names get a trailing `_`.
pub fn c_ident(name: &str) -> String {
    let name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if C_KEYWORDS.contains(&name.as_str()) || CPP_KEYWORDS.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// A C string literal: printable ASCII kept, everything else as octal escapes (which,
/// unlike `\x`, cannot swallow a following digit).
fn c_string(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in s {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'?' => out.push_str("\\?"), // no trigraphs
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    out
}

fn comment(out: &mut String, doc: &Option<String>) {
    if let Some(d) = doc {
        for line in d.lines() {
            // Neither `/*` (-Wcomment) nor `*/` (ends the comment) may appear inside.
            let line = line.replace("*/", "* /").replace("/*", "/ *");
            let _ = writeln!(out, "/* {line} */");
        }
    }
}

/// A value C has no constant for, at the definition it belongs to.
fn not_expressible(message: String, at: FileSpan) -> BackendError {
    BackendError {
        language: "C",
        message,
        at,
        also: None,
        help: "set this value in code instead of in the IDL".into(),
    }
}

use crate::method_id;

struct Gen<'p> {
    p: &'p Program,
    /// Per file: the prefix of its C names (`namespace c`, else `*`, else the file name).
    prefixes: Vec<String>,
    /// Per file: its header's name without `.h` (the file name).
    headers: Vec<String>,
    recursive: HashSet<(DefRef, String)>,
    /// Fields of cycles of required fields (`Program::unbuildable_fields`).
    unbuildable: HashSet<(DefRef, String)>,
}

/// Statics that constant initialisers point to (arrays of list items, map keys and values,
/// recursive members), named in order per header and written before their first use.
struct Hoist {
    prefix: String,
    /// Not yet written: (name, definition).
    pending: Vec<(String, String)>,
    /// The `T_DEFAULTS` macros defined so far, by name: a static whose initialiser uses one
    /// depends on the statics the macro's text names.
    macros: HashMap<String, String>,
    next: usize,
}

impl Hoist {
    fn new(prefix: &str) -> Self {
        Hoist { prefix: prefix.to_owned(), pending: Vec::new(), macros: HashMap::new(), next: 0 }
    }

    fn name(&mut self) -> String {
        self.next += 1;
        format!("{}_ferry_const_{}_", self.prefix, self.next)
    }

    /// `static const T name[] = { items };`; returns the name.
    fn array(&mut self, ctype: &str, items: &[String]) -> String {
        let name = self.name();
        let text = format!("static const {ctype} {name}[] = {{ {} }};", items.join(", "));
        self.pending.push((name.clone(), text));
        name
    }

    /// `static T name = value;` (not const: recursive members are non-const pointers).
    fn object(&mut self, ctype: &str, value: &str) -> String {
        let name = self.name();
        let text = format!("static {ctype} {name} FERRY_MAYBE_UNUSED = {value};");
        self.pending.push((name.clone(), text));
        name
    }

    fn define_macro(&mut self, name: String, body: String) {
        self.macros.insert(name, body);
    }

    /// Writes the pending statics, each after the ones its initialiser names directly or
    /// through a `T_DEFAULTS` macro. Creation order is not enough: a struct's boxed
    /// default (`static T x = T_DEFAULTS;`) can be created before T's own arrays are, when T
    /// is defined after the struct that points to it.
    fn flush(&mut self, out: &mut String) {
        let pending = std::mem::take(&mut self.pending);
        let index: HashMap<&str, usize> =
            pending.iter().enumerate().map(|(i, (name, _))| (name.as_str(), i)).collect();
        let deps: Vec<Vec<usize>> = pending
            .iter()
            .map(|(_, text)| {
                let mut found = Vec::new();
                let mut seen = HashSet::new();
                self.references(text, &index, &mut seen, &mut found);
                found
            })
            .collect();
        // Depth-first, dependencies first; the front end rules out cycles (E0232).
        let mut written = vec![false; pending.len()];
        fn visit(
            i: usize,
            deps: &[Vec<usize>],
            written: &mut [bool],
            pending: &[(String, String)],
            out: &mut String,
        ) {
            if written[i] {
                return;
            }
            written[i] = true;
            for &d in &deps[i] {
                visit(d, deps, written, pending, out);
            }
            out.push_str(&pending[i].1);
            out.push('\n');
        }
        for i in 0..pending.len() {
            visit(i, &deps, &mut written, &pending, out);
        }
    }

    /// The pending statics `text` names, looking through macros (each once).
    fn references<'m>(
        &'m self,
        text: &'m str,
        index: &HashMap<&str, usize>,
        seen: &mut HashSet<&'m str>,
        found: &mut Vec<usize>,
    ) {
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.is_empty() || !seen.insert(word) {
                continue;
            }
            if let Some(&i) = index.get(word) {
                found.push(i);
            } else if let Some(body) = self.macros.get(word) {
                self.references(body, index, seen, found);
            }
        }
    }
}

/// A struct to emit: a definition of the IDL or a service's argument/result struct.
struct StructSpec<'a> {
    cname: String,
    /// What the struct comes from, for messages.
    origin: String,
    kind: StructKind,
    fields: Vec<Field>,
    owner: Option<DefRef>,
    doc: &'a Option<String>,
    /// The IDL definition it comes from (the service, for argument and result structs).
    span: FileSpan,
}

impl<'p> Gen<'p> {
    fn new(p: &'p Program) -> Self {
        let prefixes = unique_names(
            p.files.iter().map(|f| f.namespace("c").unwrap_or(&f.include_name).to_string()),
        );
        let headers = unique_names(p.files.iter().map(|f| f.include_name.clone()));
        Gen {
            p,
            prefixes,
            headers,
            recursive: p.recursive_fields(),
            unbuildable: p.unbuildable_fields(),
        }
    }

    fn def(&self, r: DefRef) -> &'p Definition {
        self.p.definition(r)
    }

    fn cname(&self, r: DefRef) -> String {
        format!("{}_{}", self.prefixes[r.file], c_ident(&self.def(r).name))
    }

    fn header_name(&self, file: usize) -> String {
        format!("{}.h", self.headers[file])
    }

    fn is_recursive(&self, owner: Option<DefRef>, f: &Field) -> bool {
        owner.is_some_and(|o| self.recursive.contains(&(o, f.name.clone())))
    }

    /// The type with typedefs resolved; enums stay named.
    fn resolved<'t>(&'t self, t: &'t Type) -> &'t Type {
        self.p.underlying(t)
    }

    fn is_enum(&self, r: DefRef) -> bool {
        matches!(self.def(r).kind, DefinitionKind::Enum { .. })
    }

    /// A name for the type's C representation, used in container type names.
    fn mangle(&self, t: &Type) -> String {
        match self.resolved(t) {
            Type::Base(b) => b.name().into(),
            Type::Named(r) if self.is_enum(*r) => "i32".into(),
            Type::Named(r) => self.cname(*r),
            Type::List(e) | Type::Set(e) => format!("list_{}", self.mangle(e)),
            Type::Map(k, v) => format!("map_{}_{}", self.mangle(k), self.mangle(v)),
        }
    }

    fn ctype(&self, t: &Type) -> String {
        match self.resolved(t) {
            Type::Base(b) => base_ctype(*b).into(),
            Type::Named(r) if self.is_enum(*r) => self.cname(*r),
            Type::Named(r) => self.cname(*r),
            Type::List(_) | Type::Set(_) | Type::Map(..) => format!("ferry_{}", self.mangle(t)),
        }
    }

    fn wire_type(&self, t: &Type) -> &'static str {
        match self.resolved(t) {
            Type::Base(BaseType::Double) => "FERRY_WT_FIXED64",
            Type::Base(BaseType::F32) => "FERRY_WT_FIXED32",
            Type::Base(BaseType::String | BaseType::Binary | BaseType::Uuid) => "FERRY_WT_BYTES",
            Type::Base(_) => "FERRY_WT_VARINT",
            Type::Named(r) if self.is_enum(*r) => "FERRY_WT_VARINT",
            Type::Named(_) => "FERRY_WT_STRUCT",
            Type::List(_) | Type::Set(_) => "FERRY_WT_LIST",
            Type::Map(..) => "FERRY_WT_MAP",
        }
    }

    /// A C statement writing the value `v` (an lvalue of the type's C type).
    fn write_value(&self, t: &Type, v: &str) -> String {
        match self.resolved(t) {
            Type::Base(b) => match b {
                BaseType::Bool => format!("ferry_write_bool(w, {v});"),
                BaseType::I8 | BaseType::I16 | BaseType::I32 | BaseType::I64 => {
                    format!("ferry_write_signed(w, {v});")
                }
                BaseType::U8 | BaseType::U16 | BaseType::U32 | BaseType::U64 => {
                    format!("ferry_write_varint(w, {v});")
                }
                BaseType::Double => format!("ferry_write_f64(w, {v});"),
                BaseType::F32 => format!("ferry_write_f32(w, {v});"),
                BaseType::String => format!("ferry_write_str(w, {v});"),
                BaseType::Binary => format!("ferry_write_blob(w, {v}.ptr, {v}.len);"),
                BaseType::Uuid => format!("ferry_write_blob(w, {v}.bytes, 16);"),
            },
            Type::Named(r) if self.is_enum(*r) => format!("ferry_write_signed(w, {v});"),
            Type::Named(r) => format!("{}_write_value(w, &{v});", self.cname(*r)),
            _ => format!("ferry_w_{}(w, &{v});", self.mangle(t)),
        }
    }

    /// A C expression reading a value into the lvalue `v`; false on error.
    fn read_value(&self, t: &Type, v: &str) -> String {
        match self.resolved(t) {
            Type::Base(BaseType::Uuid) => format!("ferry_read_uuid(r, {v}.bytes)"),
            Type::Base(b) => format!("ferry_read_{}(r, &{v})", b.name()),
            Type::Named(r) if self.is_enum(*r) => format!("ferry_read_i32(r, &{v})"),
            Type::Named(r) => format!("{}_read_value(r, &{v})", self.cname(*r)),
            _ => format!("ferry_r_{}(r, &{v})", self.mangle(t)),
        }
    }

    // ---- constants

    /// A C constant expression (usable in static initialisers) for `value` of type `t`.
    fn const_expr(
        &self,
        t: &Type,
        value: &Value,
        what: &str,
        hoist: &mut Hoist,
    ) -> Result<String, String> {
        if let Value::Const(r) = value {
            return match &self.def(*r).kind {
                DefinitionKind::Const { value, .. } => self.const_expr(t, value, what, hoist),
                _ => Err(format!("{what}: `{}` is not a constant", self.def(*r).name)),
            };
        }
        let unsupported = || {
            Err(format!(
                "{what}: the C back end cannot express this value as a C constant yet \
                 (struct-valued constants and defaults); set it in code instead"
            ))
        };
        Ok(match (self.resolved(t), value) {
            (Type::Base(BaseType::Bool), Value::Bool(b)) => b.to_string(),
            (Type::Base(BaseType::Bool), Value::Int(i)) => (*i != 0).to_string(),
            (Type::Base(BaseType::Double | BaseType::F32), Value::Int(i)) => format!("{i}.0"),
            (Type::Base(BaseType::Double | BaseType::F32), Value::Double(d)) if d.is_finite() => {
                format!("{d:?}")
            }
            // The most negative values have no literal in C (the literal is the positive part).
            (Type::Base(BaseType::I64), Value::Int(i)) if *i == i128::from(i64::MIN) => {
                "INT64_MIN".into()
            }
            (Type::Base(BaseType::I64), Value::Int(i)) => format!("INT64_C({i})"),
            (Type::Base(BaseType::U64), Value::Int(i)) => format!("UINT64_C({i})"),
            (Type::Base(BaseType::U32), Value::Int(i)) => format!("UINT32_C({i})"),
            (Type::Base(BaseType::I32), Value::Int(i)) if *i == i128::from(i32::MIN) => {
                "INT32_MIN".into()
            }
            (Type::Base(_), Value::Int(i)) => i.to_string(),
            (Type::Named(r), Value::Int(i)) if self.is_enum(*r) => i.to_string(),
            (Type::Named(r), Value::EnumValue { value, .. }) if self.is_enum(*r) => {
                value.to_string()
            }
            (Type::Base(BaseType::String), Value::Str(s)) => {
                format!("{{ {}, {} }}", c_string(s.as_bytes()), s.len())
            }
            (Type::Base(BaseType::Binary), Value::Str(s)) => {
                format!("{{ (const uint8_t *){}, {} }}", c_string(s.as_bytes()), s.len())
            }
            (Type::Base(BaseType::Uuid), Value::Str(s)) => {
                let hex: String = s.chars().filter(char::is_ascii_hexdigit).collect();
                if hex.len() != 32 {
                    return Err(format!("{what}: `{s}` is not a uuid"));
                }
                let bytes: Vec<String> =
                    (0..16).map(|i| format!("0x{}", &hex[2 * i..2 * i + 2])).collect();
                format!("{{ {{ {} }} }}", bytes.join(", "))
            }
            // Non-empty arrays are named statics, not compound literals: C++ cannot take the
            // address of a temporary array.
            (Type::List(e) | Type::Set(e), Value::List(items)) => {
                if items.is_empty() {
                    "{ NULL, 0 }".into()
                } else {
                    let parts = items
                        .iter()
                        .map(|v| self.const_expr(e, v, what, hoist))
                        .collect::<Result<Vec<_>, _>>()?;
                    let items_name = hoist.array(&self.ctype(e), &parts);
                    format!("{{ {items_name}, {} }}", items.len())
                }
            }
            (Type::Named(r), Value::Map(pairs)) if self.p.direct_struct(t).is_some() => {
                let r = *r;
                let DefinitionKind::Struct { kind, fields } = &self.def(r).kind else {
                    return unsupported();
                };
                let mut given: Vec<(usize, String)> = Vec::new();
                for (name, value) in pairs {
                    let Value::Str(name) = name else { return unsupported() };
                    let Some(i) = fields.iter().position(|f| &f.name == name) else {
                        return Err(format!(
                            "{what}: `{}` has no field `{name}`",
                            self.def(r).name
                        ));
                    };
                    let f = &fields[i];
                    let mut expr = self.const_expr(&f.ty, value, what, hoist)?;
                    if self.recursive.contains(&(r, f.name.clone())) {
                        expr = format!("&{}", hoist.object(&self.ctype(&f.ty), &expr));
                    }
                    given.retain(|(j, _)| *j != i);
                    given.push((i, expr));
                }
                self.initializer(Some(r), *kind, fields, &given, what, hoist)?
            }
            (Type::Map(k, v), Value::Map(pairs)) => {
                if pairs.is_empty() {
                    "{ NULL, NULL, 0 }".into()
                } else {
                    let keys = pairs
                        .iter()
                        .map(|(x, _)| self.const_expr(k, x, what, hoist))
                        .collect::<Result<Vec<_>, _>>()?;
                    let values = pairs
                        .iter()
                        .map(|(_, y)| self.const_expr(v, y, what, hoist))
                        .collect::<Result<Vec<_>, _>>()?;
                    let keys_name = hoist.array(&self.ctype(k), &keys);
                    let values_name = hoist.array(&self.ctype(v), &values);
                    format!("{{ {keys_name}, {values_name}, {} }}", pairs.len())
                }
            }
            _ => return unsupported(),
        })
    }

    // ---- one file

    fn file(&self, file: usize) -> Result<Header, BackendError> {
        let f = &self.p.files[file];
        let prefix = &self.prefixes[file];
        let guard = format!("FERRY_GEN_{}_H", prefix.to_ascii_uppercase());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "/* @generated by idlc {} from {}. Do not edit. */",
            env!("CARGO_PKG_VERSION"),
            f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        );
        let _ = writeln!(out, "#ifndef {guard}\n#define {guard}\n");
        out.push_str("#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n\n#include \"ferry.h\"\n#include \"ferry_wire.h\"\n");
        for &inc in &f.includes {
            let _ = writeln!(out, "#include \"{}\"", self.header_name(inc));
        }
        out.push_str("\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");

        let defs: Vec<(DefRef, &Definition)> = f
            .definitions
            .iter()
            .enumerate()
            .map(|(index, d)| (DefRef { file, index }, d))
            .collect();
        // Enums.
        for (r, d) in &defs {
            if let DefinitionKind::Enum { values } = &d.kind {
                comment(&mut out, &d.doc);
                let name = self.cname(*r);
                let _ = writeln!(out, "typedef int32_t {name};");
                // `enum {}` is not C: an enum without values is only its typedef.
                if !values.is_empty() {
                    out.push_str("enum {\n");
                    for v in values {
                        comment(&mut out, &v.doc);
                        let value = if v.value == i32::MIN {
                            "INT32_MIN".into()
                        } else {
                            v.value.to_string()
                        };
                        let _ = writeln!(out, "  {name}_{} = {value},", c_ident(&v.name));
                    }
                    out.push_str("};\n");
                }
                out.push('\n');
            }
        }
        // Forward declarations of every struct of this file and of services' structs.
        let structs = self.struct_specs(&defs);
        self.check_names(&defs, &structs)?;
        for s in &structs {
            let _ = writeln!(out, "typedef struct {0} {0};", s.cname);
        }
        out.push('\n');
        // Container types used anywhere in this file, innermost first.
        let containers = self.containers(&structs, &defs);
        for t in &containers {
            self.container_type(&mut out, t);
        }
        // Typedefs.
        for (r, d) in &defs {
            if let DefinitionKind::Typedef { target } = &d.kind {
                comment(&mut out, &d.doc);
                let _ = writeln!(out, "typedef {} {};\n", self.ctype(target), self.cname(*r));
            }
        }
        // Struct definitions in dependency order (a by-value member must be complete).
        let mut hoist = Hoist::new(prefix);
        for s in self.dependency_order(&structs) {
            self.struct_definition(&mut out, s, &mut hoist)
                .map_err(|message| not_expressible(message, s.span))?;
        }
        // Now every struct is complete: the arrays defaults point into, each struct's static
        // defaults, and constants (whose arrays may hold structs).
        hoist.flush(&mut out);
        for s in &structs {
            let _ = writeln!(out, "static const {0} {0}_defaults_ = {0}_DEFAULTS;", s.cname);
        }
        out.push('\n');
        for (r, d) in &defs {
            if let DefinitionKind::Const { ty, value } = &d.kind {
                let what = format!("constant `{}`", d.name);
                let expr = self
                    .const_expr(ty, value, &what, &mut hoist)
                    .map_err(|message| not_expressible(message, d.span))?;
                hoist.flush(&mut out);
                comment(&mut out, &d.doc);
                let _ =
                    writeln!(out, "#define {} (({}){})\n", self.cname(*r), self.ctype(ty), expr);
            }
        }
        // Prototypes, then container functions, then struct functions.
        for s in &structs {
            let n = &s.cname;
            let _ = writeln!(
                out,
                "static inline void {n}_init({n} *v);\n\
                 static inline void {n}_encode_fields(const {n} *v, ferry_writer *w);\n\
                 static inline bool {n}_decode_fields(ferry_reader *r, {n} *v);\n\
                 static inline void {n}_write_value(ferry_writer *w, const {n} *v);\n\
                 static inline bool {n}_read_value(ferry_reader *r, {n} *v);"
            );
        }
        out.push('\n');
        for t in &containers {
            self.container_functions(&mut out, t);
        }
        for s in &structs {
            self.struct_functions(&mut out, s);
        }
        for (r, d) in &defs {
            if let DefinitionKind::Service { .. } = &d.kind {
                self.service(&mut out, *r, d);
            }
        }
        let _ = writeln!(
            out,
            "#ifdef __cplusplus\n}} /* extern \"C\" */\n#endif\n\n#endif /* {guard} */"
        );
        Ok(Header { file_name: self.header_name(file), text: out })
    }

    /// Every file-level C identifier the header defines, with what it comes from: two IDL
    /// names that map to one C name (`Calculator_add_args` beside service `Calculator`'s
    /// `add`, a struct `A_init` beside a struct `A`) are reported instead of generating a
    /// header that does not compile.
    fn check_names(
        &self,
        defs: &[(DefRef, &Definition)],
        structs: &[StructSpec<'_>],
    ) -> Result<(), BackendError> {
        let mut names: HashMap<String, (String, FileSpan)> = HashMap::new();
        let mut define = |name: String, origin: &str, at: FileSpan| -> Result<(), BackendError> {
            match names.insert(name.clone(), (origin.to_string(), at)) {
                Some((other, first)) if other != origin => Err(BackendError {
                    language: "C",
                    message: format!("{origin} and {other} would both define the C name `{name}`"),
                    at,
                    also: Some((first, format!("{other} defines `{name}` too"))),
                    help: "rename one of them (C has one namespace for all of a header's names)"
                        .into(),
                }),
                _ => Ok(()),
            }
        };
        for s in structs {
            let (origin, at) = (&s.origin, s.span);
            define(s.cname.clone(), origin, at)?;
            for suffix in [
                "DEFAULTS",
                "defaults_",
                "init",
                "encode_fields",
                "decode_fields",
                "write_value",
                "read_value",
                "encode",
                "decode",
            ] {
                define(format!("{}_{suffix}", s.cname), origin, at)?;
            }
            if s.kind == StructKind::Union {
                define(format!("{}_WHICH_NONE", s.cname), origin, at)?;
                for f in &s.fields {
                    define(format!("{}_WHICH_{}", s.cname, c_ident(&f.name)), origin, at)?;
                }
            }
        }
        for (r, d) in defs {
            let name = self.cname(*r);
            let origin = format!("`{}`", d.name);
            let (origin, at) = (&origin, d.span);
            match &d.kind {
                DefinitionKind::Enum { values } => {
                    define(name.clone(), origin, at)?;
                    for v in values {
                        define(format!("{name}_{}", c_ident(&v.name)), origin, at)?;
                    }
                }
                DefinitionKind::Const { .. } | DefinitionKind::Typedef { .. } => {
                    define(name, origin, at)?
                }
                DefinitionKind::Service { .. } => {
                    for suffix in ["handlers", "register"] {
                        define(format!("{name}_{suffix}"), origin, at)?;
                    }
                    for (owner, m) in self.all_methods(*r) {
                        let method = c_ident(&m.name);
                        define(format!("{name}_serve_{method}_"), origin, at)?;
                        if owner == *r {
                            define(format!("{name}_{method}"), origin, at)?;
                            define(format!("{name}_{method}_with"), origin, at)?;
                            define(format!("{name}_METHOD_{method}"), origin, at)?;
                        }
                    }
                }
                DefinitionKind::Struct { .. } => {}
            }
        }
        Ok(())
    }

    /// The structs of a file: its own, then every service's argument and result structs.
    fn struct_specs<'d>(&self, defs: &[(DefRef, &'d Definition)]) -> Vec<StructSpec<'d>> {
        let mut specs = Vec::new();
        for (r, d) in defs {
            if let DefinitionKind::Struct { kind, fields } = &d.kind {
                specs.push(StructSpec {
                    cname: self.cname(*r),
                    origin: format!("{} `{}`", kind.keyword(), d.name),
                    kind: *kind,
                    fields: fields.clone(),
                    owner: Some(*r),
                    doc: &d.doc,
                    span: d.span,
                });
            }
        }
        for (r, d) in defs {
            if let DefinitionKind::Service { methods, .. } = &d.kind {
                for m in methods {
                    let base = format!("{}_{}", self.cname(*r), c_ident(&m.name));
                    let params = m
                        .params
                        .iter()
                        // Every argument is always sent and an absent one decodes to its
                        // IDL default, except `optional` ones: those keep their `has_` flag
                        // (spec/c.md § 3), so a caller can leave them absent.
                        .map(|p| match p.requiredness {
                            Requiredness::Optional => p.clone(),
                            _ => Field { requiredness: Requiredness::Default, ..p.clone() },
                        })
                        .collect();
                    specs.push(StructSpec {
                        cname: format!("{base}_args"),
                        origin: format!("the arguments of `{}.{}`", d.name, m.name),
                        kind: StructKind::Struct,
                        fields: params,
                        owner: None,
                        doc: &None,
                        span: d.span,
                    });
                    specs.push(StructSpec {
                        cname: format!("{base}_result"),
                        origin: format!("the result of `{}.{}`", d.name, m.name),
                        kind: StructKind::Struct,
                        fields: m.result_fields(),
                        owner: None,
                        doc: &None,
                        span: d.span,
                    });
                }
            }
        }
        specs
    }

    /// Every container type the file's structs, typedefs and constants use, each after the
    /// containers it holds.
    fn containers(&self, structs: &[StructSpec<'_>], defs: &[(DefRef, &Definition)]) -> Vec<Type> {
        let mut seen = BTreeSet::new();
        let mut order = Vec::new();
        let mut visit = |t: &Type| self.collect_containers(t, &mut seen, &mut order);
        for s in structs {
            for f in &s.fields {
                visit(&f.ty);
            }
        }
        for (_, d) in defs {
            match &d.kind {
                DefinitionKind::Typedef { target } => visit(target),
                DefinitionKind::Const { ty, .. } => visit(ty),
                _ => {}
            }
        }
        order
    }

    fn collect_containers(&self, t: &Type, seen: &mut BTreeSet<String>, order: &mut Vec<Type>) {
        let t = self.resolved(t).clone();
        match &t {
            Type::List(e) | Type::Set(e) => self.collect_containers(e, seen, order),
            Type::Map(k, v) => {
                self.collect_containers(k, seen, order);
                self.collect_containers(v, seen, order);
            }
            _ => return,
        }
        if seen.insert(self.mangle(&t)) {
            order.push(t);
        }
    }

    fn container_type(&self, out: &mut String, t: &Type) {
        let m = self.mangle(t);
        let _ = writeln!(out, "#ifndef FERRY_TYPE_{m}\n#define FERRY_TYPE_{m}");
        match t {
            Type::Map(k, v) => {
                let _ = writeln!(
                    out,
                    "typedef struct ferry_{m} {{ const {} *keys; const {} *values; size_t count; }} ferry_{m};",
                    self.ctype(k),
                    self.ctype(v)
                );
            }
            Type::List(e) | Type::Set(e) => {
                let _ = writeln!(
                    out,
                    "typedef struct ferry_{m} {{ const {} *items; size_t count; }} ferry_{m};",
                    self.ctype(e)
                );
            }
            _ => {}
        }
        out.push_str("#endif\n\n");
    }

    fn container_functions(&self, out: &mut String, t: &Type) {
        let m = self.mangle(t);
        let _ = writeln!(out, "#ifndef FERRY_FUNCTIONS_{m}\n#define FERRY_FUNCTIONS_{m}");
        match t {
            Type::List(e) | Type::Set(e) => {
                let (wt, ct) = (self.wire_type(e), self.ctype(e));
                let _ = writeln!(
                    out,
                    "static inline void ferry_w_{m}(ferry_writer *w, const ferry_{m} *v) {{\n  \
                       ferry_write_list_header(w, {wt}, v->count);\n  \
                       for (size_t i = 0; i < v->count; i++) {{ {} }}\n}}\n\
                     static inline bool ferry_r_{m}(ferry_reader *r, ferry_{m} *out) {{\n  \
                       size_t at = r->pos, count;\n  unsigned type;\n  \
                       if (!ferry_enter(r) || !ferry_read_list_header(r, &type, &count)) return false;\n  \
                       if (type != {wt}) return ferry_fail(r, FERRY_WIRE_ELEMENT_TYPE_MISMATCH, at);\n  \
                       {ct} *items = NULL;\n  \
                       if (count > 0 && !(items = ({ct} *)ferry_reader_alloc(r, count, sizeof *items))) return false;\n  \
                       for (size_t i = 0; i < count; i++)\n    if (!{}) return false;\n  \
                       out->items = items;\n  out->count = count;\n  r->depth--;\n  return true;\n}}",
                    self.write_value(e, "v->items[i]"),
                    self.read_value(e, "items[i]")
                );
            }
            Type::Map(k, v) => {
                let (kw, vw) = (self.wire_type(k), self.wire_type(v));
                let (kc, vc) = (self.ctype(k), self.ctype(v));
                let _ = writeln!(
                    out,
                    "static inline void ferry_w_{m}(ferry_writer *w, const ferry_{m} *v) {{\n  \
                       ferry_write_map_header(w, {kw}, {vw}, v->count);\n  \
                       for (size_t i = 0; i < v->count; i++) {{ {} {} }}\n}}\n\
                     static inline bool ferry_r_{m}(ferry_reader *r, ferry_{m} *out) {{\n  \
                       size_t at = r->pos, count;\n  unsigned kt, vt;\n  \
                       if (!ferry_enter(r) || !ferry_read_map_header(r, &kt, &vt, &count)) return false;\n  \
                       if (kt != {kw} || vt != {vw}) return ferry_fail(r, FERRY_WIRE_ELEMENT_TYPE_MISMATCH, at);\n  \
                       {kc} *keys = NULL;\n  {vc} *values = NULL;\n  \
                       if (count > 0 && (!(keys = ({kc} *)ferry_reader_alloc(r, count, sizeof *keys)) ||\n      \
                       !(values = ({vc} *)ferry_reader_alloc(r, count, sizeof *values)))) return false;\n  \
                       for (size_t i = 0; i < count; i++)\n    if (!{} || !{}) return false;\n  \
                       out->keys = keys;\n  out->values = values;\n  out->count = count;\n  r->depth--;\n  return true;\n}}",
                    self.write_value(k, "v->keys[i]"),
                    self.write_value(v, "v->values[i]"),
                    self.read_value(k, "keys[i]"),
                    self.read_value(v, "values[i]")
                );
            }
            _ => {}
        }
        out.push_str("#endif\n\n");
    }

    /// Structs whose by-value members come first (pointers and containers need no order).
    fn dependency_order<'s, 'd>(&self, structs: &'s [StructSpec<'d>]) -> Vec<&'s StructSpec<'d>> {
        let index: HashMap<&str, usize> =
            structs.iter().enumerate().map(|(i, s)| (s.cname.as_str(), i)).collect();
        let mut done = vec![false; structs.len()];
        let mut order = Vec::new();
        fn visit<'s, 'd>(
            g: &Gen<'_>,
            i: usize,
            structs: &'s [StructSpec<'d>],
            index: &HashMap<&str, usize>,
            done: &mut Vec<bool>,
            order: &mut Vec<&'s StructSpec<'d>>,
        ) {
            if done[i] {
                return;
            }
            done[i] = true;
            let s = &structs[i];
            for f in &s.fields {
                if g.is_recursive(s.owner, f) {
                    continue;
                }
                if let Some(r) = g.p.direct_struct(&f.ty) {
                    if let Some(&j) = index.get(g.cname(r).as_str()) {
                        visit(g, j, structs, index, done, order);
                    }
                }
            }
            order.push(s);
        }
        for i in 0..structs.len() {
            visit(self, i, structs, &index, &mut done, &mut order);
        }
        order
    }

    /// The presence flag of an optional field.
    fn flag(&self, s: &StructSpec<'_>, f: &Field) -> String {
        flag_name(&s.fields, f)
    }

    /// A complete designated initialiser for a struct or union: every member in declaration
    /// order (C++ requires the order and warns about any member left out), `given` values
    /// (by field index) first, then IDL defaults, then zero.
    fn initializer(
        &self,
        owner: Option<DefRef>,
        kind: StructKind,
        fields: &[Field],
        given: &[(usize, String)],
        what: &str,
        hoist: &mut Hoist,
    ) -> Result<String, String> {
        if kind == StructKind::Union {
            let (which, member) = match given.last() {
                Some((i, expr)) => (i + 1, format!(".{} = {expr}", c_ident(&fields[*i].name))),
                None => match fields.first() {
                    Some(f) if self.is_recursive(owner, f) => {
                        (0, format!(".{} = NULL", c_ident(&f.name)))
                    }
                    Some(f) => (0, format!(".{} = {}", c_ident(&f.name), self.zero(&f.ty))),
                    None => (0, ".ferry_empty_ = 0".to_owned()),
                },
            };
            return Ok(format!("{{ .which = {which}, .value = {{ {member} }} }}"));
        }
        let mut parts = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            let name = c_ident(&f.name);
            let given = given.iter().find(|(j, _)| *j == i).map(|(_, e)| e.clone());
            if self.is_recursive(owner, f) {
                // A required recursive field always has a value (Rust's `Box<T>` at T's
                // defaults): a shared static at T's defaults. Optional and default-
                // requiredness ones, and cycles of required fields (W0227), start absent.
                let boxed = f.requiredness == Requiredness::Required
                    && owner.is_some_and(|o| !self.unbuildable.contains(&(o, f.name.clone())));
                let value = match given {
                    Some(e) => e,
                    None if boxed => {
                        format!("&{}", hoist.object(&self.ctype(&f.ty), &self.zero(&f.ty)))
                    }
                    None => "NULL".into(),
                };
                parts.push(format!(".{name} = {value}"));
                continue;
            }
            if self.is_optional(f) {
                parts.push(format!(".{} = {}", flag_name(fields, f), given.is_some()));
            }
            let value = match (given, &f.default) {
                (Some(e), _) => e,
                (None, Some(v)) if !self.is_optional(f) => {
                    let what = format!("{what}: the default of `{}`", f.name);
                    self.const_expr(&f.ty, v, &what, hoist)?
                }
                (None, _) => self.zero(&f.ty),
            };
            parts.push(format!(".{name} = {value}"));
        }
        if fields.is_empty() {
            parts.push(".ferry_empty_ = 0".into());
        }
        Ok(format!("{{ {} }}", parts.join(", ")))
    }

    /// The value a member of type `t` takes when nothing sets it: zero, or a struct's IDL
    /// defaults (`T_DEFAULTS`).
    fn zero(&self, t: &Type) -> String {
        match self.resolved(t) {
            Type::Base(BaseType::Bool) => "false".into(),
            Type::Base(BaseType::String | BaseType::Binary) => "{ NULL, 0 }".into(),
            Type::Base(BaseType::Uuid) => "{ { 0 } }".into(),
            Type::Base(_) => "0".into(),
            // An enum starts at its first declared value, as in Rust (0 when it has none).
            Type::Named(r) if self.is_enum(*r) => match &self.def(*r).kind {
                DefinitionKind::Enum { values } => {
                    values.first().map_or(0, |v| v.value).to_string()
                }
                _ => "0".into(),
            },
            Type::Named(r) => format!("{}_DEFAULTS", self.cname(*r)),
            Type::List(_) | Type::Set(_) => "{ NULL, 0 }".into(),
            Type::Map(..) => "{ NULL, NULL, 0 }".into(),
        }
    }

    fn is_optional(&self, f: &Field) -> bool {
        f.requiredness == Requiredness::Optional
    }

    fn struct_definition(
        &self,
        out: &mut String,
        s: &StructSpec<'_>,
        hoist: &mut Hoist,
    ) -> Result<(), String> {
        comment(out, s.doc);
        let n = &s.cname;
        let _ = writeln!(out, "struct {n} {{");
        if s.kind == StructKind::Union {
            let _ = writeln!(out, "  /* Which field is set: {n}_WHICH_<field>, 0 for none. */\n  uint32_t which;\n  union {{");
            for f in &s.fields {
                let ptr = if self.is_recursive(s.owner, f) { " *" } else { " " };
                let _ = writeln!(out, "    {}{ptr}{};", self.ctype(&f.ty), c_ident(&f.name));
            }
            if s.fields.is_empty() {
                out.push_str("    char ferry_empty_;\n");
            }
            out.push_str("  } value;\n};\n");
            let _ = writeln!(out, "enum {{\n  {n}_WHICH_NONE = 0,");
            for (i, f) in s.fields.iter().enumerate() {
                let _ = writeln!(out, "  {n}_WHICH_{} = {},", c_ident(&f.name), i + 1);
            }
            out.push_str("};\n");
        } else {
            for f in &s.fields {
                comment(out, &f.doc);
                if self.is_recursive(s.owner, f) {
                    let _ = writeln!(
                        out,
                        "  {} *{}; /* NULL: absent */",
                        self.ctype(&f.ty),
                        c_ident(&f.name)
                    );
                    continue;
                }
                if self.is_optional(f) {
                    let _ = writeln!(out, "  bool {};", self.flag(s, f));
                }
                let _ = writeln!(out, "  {} {};", self.ctype(&f.ty), c_ident(&f.name));
            }
            if s.fields.is_empty() {
                out.push_str("  char ferry_empty_;\n");
            }
            out.push_str("};\n");
        }
        // Defaults: a complete designated initialiser, usable at file scope. The static
        // copy `_init` uses is defined after every struct is complete (`file`).
        let what = s.origin.clone();
        let init = self.initializer(s.owner, s.kind, &s.fields, &[], &what, hoist)?;
        hoist.define_macro(format!("{n}_DEFAULTS"), init.clone());
        let _ = writeln!(
            out,
            "/* The IDL defaults, as an initialiser: `{n} v = {n}_DEFAULTS;`. */\n#define {n}_DEFAULTS {init}\n"
        );
        Ok(())
    }

    fn struct_functions(&self, out: &mut String, s: &StructSpec<'_>) {
        let n = &s.cname;
        let _ = writeln!(out, "/* Sets every field to its IDL default (optional fields: absent). */\nstatic inline void {n}_init({n} *v) {{ *v = {n}_defaults_; }}\n");
        // Encode.
        let _ =
            writeln!(out, "static inline void {n}_encode_fields(const {n} *v, ferry_writer *w) {{");
        if s.kind == StructKind::Union {
            out.push_str("  switch (v->which) {\n");
            for (i, f) in s.fields.iter().enumerate() {
                let value = if self.is_recursive(s.owner, f) {
                    format!("(*v->value.{})", c_ident(&f.name))
                } else {
                    format!("v->value.{}", c_ident(&f.name))
                };
                let guard = if self.is_recursive(s.owner, f) {
                    format!("if (v->value.{}) ", c_ident(&f.name))
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "  case {}: {guard}{{ ferry_write_key(w, {}, {}); {} }} break;",
                    i + 1,
                    f.id,
                    self.wire_type(&f.ty),
                    self.write_value(&f.ty, &value)
                );
            }
            out.push_str("  default: break;\n  }\n");
        } else {
            for f in in_id_order(&s.fields) {
                let name = c_ident(&f.name);
                let key = format!("ferry_write_key(w, {}, {});", f.id, self.wire_type(&f.ty));
                if self.is_recursive(s.owner, f) {
                    let _ = writeln!(
                        out,
                        "  if (v->{name}) {{ {key} {} }}",
                        self.write_value(&f.ty, &format!("(*v->{name})"))
                    );
                } else if self.is_optional(f) {
                    let _ = writeln!(
                        out,
                        "  if (v->{}) {{ {key} {} }}",
                        self.flag(s, f),
                        self.write_value(&f.ty, &format!("v->{name}"))
                    );
                } else {
                    let _ =
                        writeln!(out, "  {key} {}", self.write_value(&f.ty, &format!("v->{name}")));
                }
            }
        }
        out.push_str("  (void)v;\n  (void)w;\n}\n\n");
        // Decode.
        let _ = writeln!(
            out,
            "static inline bool {n}_decode_fields(ferry_reader *r, {n} *v) {{\n  {n}_init(v);"
        );
        // Missing required fields are reported lowest id first (spec/wire.md § 9).
        let required: Vec<&Field> = in_id_order(&s.fields)
            .into_iter()
            .filter(|f| f.requiredness == Requiredness::Required && s.kind != StructKind::Union)
            .collect();
        for f in &required {
            let _ = writeln!(out, "  bool seen_{} = false;", c_ident(&f.name));
        }
        out.push_str("  while (r->pos < r->end) {\n    size_t key_at = r->pos;\n    int16_t id;\n    unsigned type;\n    if (!ferry_read_key(r, &id, &type)) return false;\n    (void)key_at;\n    switch (id) {\n");
        for (i, f) in s.fields.iter().enumerate() {
            let name = c_ident(&f.name);
            let wt = self.wire_type(&f.ty);
            let _ = writeln!(out, "    case {}:\n      if (type != {wt}) return ferry_fail(r, FERRY_WIRE_WIRE_TYPE_MISMATCH, key_at);", f.id);
            let recursive = self.is_recursive(s.owner, f);
            let target = match (s.kind == StructKind::Union, recursive) {
                (true, _) => format!("v->value.{name}"),
                (false, _) => format!("v->{name}"),
            };
            if s.kind == StructKind::Union {
                let _ = writeln!(
                    out,
                    "      if (v->which != 0) return ferry_fail(r, FERRY_WIRE_UNION_HAS_SEVERAL_FIELDS, key_at);\n      v->which = {};",
                    i + 1
                );
            }
            if recursive {
                let ct = self.ctype(&f.ty);
                let _ = writeln!(
                    out,
                    "      {{\n        {ct} *p = ({ct} *)ferry_reader_alloc(r, 1, sizeof *p);\n        if (!p || !{}) return false;\n        {target} = p;\n      }}",
                    self.read_value(&f.ty, "(*p)")
                );
            } else {
                let _ =
                    writeln!(out, "      if (!{}) return false;", self.read_value(&f.ty, &target));
            }
            if s.kind != StructKind::Union && !recursive && self.is_optional(f) {
                let _ = writeln!(out, "      v->{} = true;", self.flag(s, f));
            }
            if f.requiredness == Requiredness::Required && s.kind != StructKind::Union {
                let _ = writeln!(out, "      seen_{name} = true;");
            }
            out.push_str("      break;\n");
        }
        out.push_str("    default:\n      if (!ferry_skip(r, type)) return false;\n    }\n  }\n");
        for f in &required {
            let _ = writeln!(
                out,
                "  if (!seen_{}) return ferry_fail(r, FERRY_WIRE_MISSING_REQUIRED_FIELD, r->end);",
                c_ident(&f.name)
            );
        }
        out.push_str("  return true;\n}\n\n");
        // Value level and message level.
        let _ = writeln!(
            out,
            "static inline void {n}_write_value(ferry_writer *w, const {n} *v) {{\n  size_t mark = ferry_struct_begin(w);\n  {n}_encode_fields(v, w);\n  ferry_struct_end(w, mark);\n}}\n\n\
             static inline bool {n}_read_value(ferry_reader *r, {n} *v) {{\n  size_t saved;\n  if (!ferry_struct_enter(r, &saved) || !{n}_decode_fields(r, v)) return false;\n  ferry_struct_leave(r, saved);\n  return true;\n}}\n\n\
             /* Encodes *v as a message into buf; returns its length. If that exceeds cap, buf\n * holds only a prefix: encode again into a buffer of the returned length. */\n\
             static inline size_t {n}_encode(const {n} *v, uint8_t *buf, size_t cap) {{\n  ferry_writer w = {{ buf, cap, 0 }};\n  {n}_encode_fields(v, &w);\n  return w.len;\n}}\n\n\
             /* Decodes a message. Strings and binaries point into data; lists and maps live in\n * arena. options may be NULL. On error, *error_offset (if not NULL) is its byte offset. */\n\
             static inline ferry_wire_error {n}_decode(const uint8_t *data, size_t len, ferry_arena *arena,\n    const ferry_decode_options *options, {n} *out, size_t *error_offset) {{\n  \
               ferry_reader r;\n  \
               if (ferry_reader_init(&r, data, len, arena, options)) {n}_decode_fields(&r, out);\n  \
               if (error_offset) *error_offset = r.error_offset;\n  return r.error;\n}}\n"
        );
    }

    /// The methods a service serves: inherited first (from the root of `extends`), then its own.
    fn all_methods(&self, r: DefRef) -> Vec<(DefRef, &'p crate::model::Method)> {
        let mut chain = vec![r];
        let mut cur = r;
        while let DefinitionKind::Service { extends: Some(base), .. } = &self.def(cur).kind {
            if chain.contains(base) {
                break;
            }
            chain.push(*base);
            cur = *base;
        }
        let mut out = Vec::new();
        for s in chain.into_iter().rev() {
            if let DefinitionKind::Service { methods, .. } = &self.def(s).kind {
                out.extend(methods.iter().map(|m| (s, m)));
            }
        }
        out
    }

    fn service(&self, out: &mut String, r: DefRef, d: &Definition) {
        let svc = self.cname(r);
        comment(out, &d.doc);
        let methods = self.all_methods(r);
        for (owner, m) in &methods {
            if *owner != r {
                continue;
            }
            let base = format!("{svc}_{}", c_ident(&m.name));
            let _ = writeln!(
                out,
                "#define {svc}_METHOD_{} UINT32_C({:#010x}) /* ferry_method_id(\"{}\") */",
                c_ident(&m.name),
                method_id(&m.name),
                m.name
            );
            comment(out, &m.doc);
            let _ = writeln!(
                out,
                "/* Calls {svc}.{name} and waits, under `options` (NULL: the IDL's defaults for the\n * method; a deadline_ms of 0 takes the method's default too; oneway is the method's;\n * metadata is sent as given).\n * On FERRY_STATUS_OK, *result holds the reply: its strings point into *reply and its\n * lists into *arena, so keep both until done, then ferry_bytes_free(reply) and\n * ferry_arena_free(arena). */\n\
                 static inline ferry_status {base}_with(const ferry_client *client, const {base}_args *args,\n    const ferry_call_options *call_options, {base}_result *result, ferry_bytes *reply, ferry_arena *arena,\n    ferry_error **error) {{\n  \
                   uint8_t stack[512];\n  uint8_t *buf = stack;\n  \
                   size_t len = {base}_args_encode(args, buf, sizeof stack);\n  \
                   if (len > sizeof stack) {{\n    \
                     if (!(buf = (uint8_t *)malloc(len))) {{\n      \
                       if (error) *error = ferry_error_new(FERRY_STATUS_INVALID_ARGUMENT, \"{svc}.{name}: out of memory encoding the arguments\");\n      \
                       return FERRY_STATUS_INVALID_ARGUMENT;\n    }}\n    \
                     {base}_args_encode(args, buf, len);\n  }}\n  \
                   ferry_call_options options = {{ {timeout}, {idempotent}, {oneway}, NULL, 0 }};\n  \
                   if (call_options) {{\n    \
                     if (call_options->deadline_ms) options.deadline_ms = call_options->deadline_ms;\n    \
                     options.idempotent = call_options->idempotent;\n    \
                     options.metadata = call_options->metadata;\n    \
                     options.metadata_len = call_options->metadata_len;\n  }}\n  \
                   ferry_status status = ferry_client_call(client, {svc}_METHOD_{cname}, buf, len, &options, reply, error);\n  \
                   if (buf != stack) free(buf);\n  \
                   if (status != FERRY_STATUS_OK) return status;\n  \
                   size_t at = 0;\n  \
                   ferry_wire_error e = {base}_result_decode(reply->data, reply->len, arena, NULL, result, &at);\n  \
                   if (e != FERRY_WIRE_OK) {{\n    \
                     if (error) {{\n      char message[200];\n      \
                       snprintf(message, sizeof message, \"the reply of {svc}.{name} does not decode: %s at byte %zu\", ferry_wire_error_code(e), at);\n      \
                       *error = ferry_error_new(FERRY_STATUS_PROTOCOL, message);\n    }}\n    \
                     return FERRY_STATUS_PROTOCOL;\n  }}\n  return FERRY_STATUS_OK;\n}}\n\n\
                 /* {base}_with under the IDL's defaults for the method. */\n\
                 static inline ferry_status {base}(const ferry_client *client, const {base}_args *args,\n    {base}_result *result, ferry_bytes *reply, ferry_arena *arena, ferry_error **error) {{\n  \
                   return {base}_with(client, args, NULL, result, reply, arena, error);\n}}\n",
                name = m.name,
                cname = c_ident(&m.name),
                timeout = m.timeout_ms.unwrap_or(0),
                idempotent = m.idempotent,
                oneway = m.oneway,
            );
        }
        // Serving from C: a table of implementations and its registration.
        let _ = writeln!(
            out,
            "/* Implementations of {svc}'s methods for {svc}_register. Each runs on a worker\n * thread, possibly several at once; it reads *args (borrowing from the request), fills\n * *result (allocating from arena if it needs lists), and returns 0; non-zero fails the\n * call, with a message if it called ferry_reply_fail(call, ...). `call` also tells the time\n * left (ferry_reply_remaining_ms) and whether the caller gave up (ferry_reply_is_cancelled).\n * NULL members are not served (callers get FERRY_STATUS_PROTOCOL). */\n\
             typedef struct {svc}_handlers {{\n  void *user_data;"
        );
        for (owner, m) in &methods {
            let base = format!("{}_{}", self.cname(*owner), c_ident(&m.name));
            let _ = writeln!(
                out,
                "  int32_t (*{})(void *user_data, const {base}_args *args, {base}_result *result, ferry_arena *arena,\n      ferry_reply *call);",
                c_ident(&m.name)
            );
        }
        out.push_str(&format!("}} {svc}_handlers;\n\n"));
        for (owner, m) in &methods {
            let base = format!("{}_{}", self.cname(*owner), c_ident(&m.name));
            let name = c_ident(&m.name);
            let _ = writeln!(
                out,
                "static inline int32_t {svc}_serve_{name}_(void *table, const uint8_t *request, size_t len, ferry_reply *reply) {{\n  \
                   const {svc}_handlers *h = (const {svc}_handlers *)table;\n  \
                   ferry_arena arena = {{ 0 }};\n  {base}_args args;\n  {base}_result result;\n  size_t at = 0;\n  \
                   ferry_wire_error e = {base}_args_decode(request, len, &arena, NULL, &args, &at);\n  \
                   if (e != FERRY_WIRE_OK) {{\n    char message[200];\n    \
                     snprintf(message, sizeof message, \"the arguments of {name} do not decode: %s at byte %zu\", ferry_wire_error_code(e), at);\n    \
                     ferry_reply_fail(reply, message, NULL);\n    ferry_arena_free(&arena);\n    return 1;\n  }}\n  \
                   {base}_result_init(&result);\n  \
                   int32_t rc = h->{name}(h->user_data, &args, &result, &arena, reply);\n  \
                   if (rc == 0) {{\n    uint8_t stack[512];\n    \
                     size_t n = {base}_result_encode(&result, stack, sizeof stack);\n    \
                     if (n <= sizeof stack) {{\n      ferry_reply_set(reply, stack, n, NULL);\n    }} else {{\n      \
                       uint8_t *buf = (uint8_t *)malloc(n);\n      \
                       if (buf) {{\n        {base}_result_encode(&result, buf, n);\n        ferry_reply_set(reply, buf, n, NULL);\n        free(buf);\n      }} else {{\n        \
                         ferry_reply_fail(reply, \"{name}: out of memory encoding the result\", NULL);\n        rc = 1;\n      }}\n    }}\n  }}\n  \
                   ferry_arena_free(&arena);\n  return rc;\n}}\n"
            );
        }
        let _ = writeln!(
            out,
            "/* Registers every non-NULL member of *handlers on service; handlers must outlive the\n * server. */\n\
             static inline ferry_status {svc}_register(ferry_service *service, const {svc}_handlers *handlers, ferry_error **error) {{"
        );
        if methods.is_empty() {
            // A service without methods registers nothing; -Wextra must not see unused
            // parameters.
            out.push_str("  (void)service;\n  (void)handlers;\n  (void)error;\n");
        }
        for (_, m) in &methods {
            let name = c_ident(&m.name);
            let _ = writeln!(
                out,
                "  if (handlers->{name}) {{\n    ferry_status s = ferry_service_add(service, {}, {svc}_serve_{name}_, (void *)handlers, error);\n    if (s != FERRY_STATUS_OK) return s;\n  }}",
                format_args!("UINT32_C({:#010x})", method_id(&m.name))
            );
        }
        out.push_str("  return FERRY_STATUS_OK;\n}\n\n");
    }
}

/// C identifiers for names (dots become underscores), the same name twice told apart by a
/// number.
fn unique_names(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut taken: HashMap<String, usize> = HashMap::new();
    names
        .map(|base| {
            let mut name = c_ident(&base.replace('.', "_"));
            if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                name.insert(0, '_');
            }
            let n = taken.entry(name.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                name = format!("{name}_{n}");
            }
            name
        })
        .collect()
}

/// The presence flag of an optional field: `has_<name>`, made unique among the fields.
fn flag_name(fields: &[Field], f: &Field) -> String {
    let names: HashSet<String> = fields.iter().map(|f| c_ident(&f.name)).collect();
    let mut flag = format!("has_{}", c_ident(&f.name));
    while names.contains(&flag) {
        flag.push('_');
    }
    flag
}

fn base_ctype(b: BaseType) -> &'static str {
    match b {
        BaseType::Bool => "bool",
        BaseType::I8 => "int8_t",
        BaseType::I16 => "int16_t",
        BaseType::I32 => "int32_t",
        BaseType::I64 => "int64_t",
        BaseType::U8 => "uint8_t",
        BaseType::U16 => "uint16_t",
        BaseType::U32 => "uint32_t",
        BaseType::U64 => "uint64_t",
        BaseType::F32 => "float",
        BaseType::Double => "double",
        BaseType::String => "ferry_str",
        BaseType::Binary => "ferry_blob",
        BaseType::Uuid => "ferry_uuid",
    }
}
