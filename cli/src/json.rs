//! The JSON mapping of Ferry values (spec/json.md), driven by a checked IDL model: JSON to
//! wire bytes in the canonical encoding, and wire bytes to JSON with every check strict
//! decoding makes. Errors name the place in the JSON document (`$.work.num1`).

use std::collections::HashSet;
use std::fmt;

use base64::Engine as _;
use ferry_idlc::model::{
    in_id_order, BaseType, DefRef, DefinitionKind, Field, Program, Requiredness, StructKind, Type,
    Value as Const,
};
use ferry_runtime::wire::dynamic::{self, DynStruct, Value as Wire};
use ferry_runtime::wire::{zigzag_decode, DecodeOptions, WireType, Writer};
use serde_json::{Map, Number, Value as Json};

/// A value that does not fit its type, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// Where in the JSON document (`$` is the whole of it).
    pub path: String,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.path, self.message)
    }
}

impl std::error::Error for JsonError {}

fn fail<T>(path: &str, message: impl Into<String>) -> Result<T, JsonError> {
    Err(JsonError { path: path.to_owned(), message: message.into() })
}

/// A struct's shape: its fields, its kind, and the definition it is (method arguments and
/// results have none).
#[derive(Clone, Copy, Debug)]
pub struct Shape<'p> {
    /// The fields, in declaration order.
    pub fields: &'p [Field],
    /// Struct, union or exception.
    pub kind: StructKind,
    /// The definition, for recursive fields; `None` for arguments and results.
    pub owner: Option<DefRef>,
}

/// Encodes and decodes JSON for the types of one program.
#[derive(Debug)]
pub struct Codec<'p> {
    program: &'p Program,
    recursive: HashSet<(DefRef, String)>,
}

/// Nesting beyond this is refused while filling in defaults (a required field cycle).
const MAX_DEPTH: usize = 64;

impl<'p> Codec<'p> {
    /// A codec for `program`'s types.
    pub fn new(program: &'p Program) -> Self {
        Codec { program, recursive: program.recursive_fields() }
    }

    /// The shape of struct definition `r`, or `None` if `r` is not a struct.
    pub fn shape(&self, r: DefRef) -> Option<Shape<'p>> {
        match &self.program.definition(r).kind {
            DefinitionKind::Struct { kind, fields } => {
                Some(Shape { fields, kind: *kind, owner: Some(r) })
            }
            _ => None,
        }
    }

    /// A message (a struct body) from `json`.
    pub fn encode(&self, shape: Shape<'_>, json: &Json) -> Result<Vec<u8>, JsonError> {
        let mut out = Vec::new();
        self.write_struct(&mut Writer::new(&mut out), shape, json, "$", 0)?;
        Ok(out)
    }

    /// A message's JSON, after the checks of strict decoding.
    pub fn decode(&self, shape: Shape<'_>, message: &[u8]) -> Result<Json, JsonError> {
        let parsed = dynamic::decode(message, &DecodeOptions::DEFAULT).map_err(|e| JsonError {
            path: "$".into(),
            message: format!("not a valid message: {e}"),
        })?;
        self.read_struct(&parsed, shape, "$")
    }

    // ---- JSON → wire

    fn write_struct(
        &self,
        w: &mut Writer<'_>,
        shape: Shape<'_>,
        json: &Json,
        path: &str,
        depth: usize,
    ) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return fail(path, format!("nested deeper than {MAX_DEPTH} levels"));
        }
        let Json::Object(object) = json else {
            return fail(
                path,
                format!("expected an object ({}), found {}", shape.kind.keyword(), describe(json)),
            );
        };
        enum Source<'a, 'j> {
            Given(&'a Field, &'j Json),
            Default(&'a Field),
            Unknown(i16, &'j Json),
        }
        let mut sources: Vec<(i16, Source<'_, '_>)> = Vec::new();
        for (key, value) in object {
            if let Some(id) = key.strip_prefix('#') {
                let Ok(id) = id.parse::<i16>() else {
                    return fail(
                        path,
                        format!("`{key}`: a field given by id needs a 16-bit id, as in `#7`"),
                    );
                };
                if let Some(f) = shape.fields.iter().find(|f| f.id == id) {
                    return fail(
                        path,
                        format!("`{key}` is the known field `{}`: give it by name", f.name),
                    );
                }
                sources.push((id, Source::Unknown(id, value)));
            } else if !shape.fields.iter().any(|f| &f.name == key) {
                let names: Vec<&str> = shape.fields.iter().map(|f| f.name.as_str()).collect();
                let hint = match closest(key, &names) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None if names.is_empty() => "it has no fields".to_owned(),
                    None => format!("its fields are {}", quoted(&names)),
                };
                return fail(&child(path, key), format!("no field `{key}` here; {hint}"));
            }
        }
        let given: Vec<&Field> = shape
            .fields
            .iter()
            .filter(|f| object.get(&f.name).is_some_and(|v| !v.is_null()))
            .collect();
        if shape.kind == StructKind::Union && given.len() > 1 {
            let names: Vec<&str> = given.iter().map(|f| f.name.as_str()).collect();
            return fail(path, format!("a union takes one member, found {}", quoted(&names)));
        }
        for f in in_id_order(shape.fields) {
            match object.get(&f.name) {
                Some(v) if !v.is_null() => sources.push((f.id, Source::Given(f, v))),
                _ if shape.kind == StructKind::Union => {}
                _ => match f.requiredness {
                    Requiredness::Required => {
                        return fail(
                            path,
                            format!(
                                "missing required field `{}` ({})",
                                f.name,
                                self.type_name(&f.ty)
                            ),
                        );
                    }
                    Requiredness::Optional => {}
                    // Recursive fields are written only when present (spec/wire.md § 4).
                    Requiredness::Default if self.is_recursive(shape.owner, f) => {}
                    Requiredness::Default => sources.push((f.id, Source::Default(f))),
                },
            }
        }
        sources.sort_by_key(|(id, _)| *id);
        for (_, source) in sources {
            match source {
                Source::Given(f, v) => {
                    w.key(f.id, self.wire_type(&f.ty));
                    self.write_value(w, &f.ty, v, &child(path, &f.name), depth)?;
                }
                Source::Default(f) => {
                    w.key(f.id, self.wire_type(&f.ty));
                    let value = match &f.default {
                        Some(c) => self.const_json(&f.ty, c),
                        None => self.zero(&f.ty),
                    };
                    self.write_value(w, &f.ty, &value, &child(path, &f.name), depth)?;
                }
                Source::Unknown(id, v) => {
                    let key = format!("#{id}");
                    let wire_type = raw_wire_type(v, &child(path, &key))?;
                    w.key(id, wire_type);
                    write_raw(w, v, wire_type, &child(path, &key))?;
                }
            }
        }
        Ok(())
    }

    fn write_value(
        &self,
        w: &mut Writer<'_>,
        ty: &Type,
        json: &Json,
        path: &str,
        depth: usize,
    ) -> Result<(), JsonError> {
        match self.program.underlying(ty) {
            Type::Base(b) => write_base(w, *b, json, path),
            Type::List(el) | Type::Set(el) => {
                let Json::Array(items) = json else {
                    return fail(
                        path,
                        format!(
                            "expected an array ({}), found {}",
                            self.type_name(ty),
                            describe(json)
                        ),
                    );
                };
                w.list_header(self.wire_type(el), items.len());
                for (i, item) in items.iter().enumerate() {
                    self.write_value(w, el, item, &format!("{path}[{i}]"), depth + 1)?;
                }
                Ok(())
            }
            Type::Map(k, v) => {
                let (kt, vt) = (self.wire_type(k), self.wire_type(v));
                match json {
                    Json::Object(entries) if self.keys_as_strings(k) => {
                        w.map_header(kt, vt, entries.len());
                        for (key, value) in entries {
                            let at = child(path, key);
                            self.write_value(w, k, &self.key_json(k, key, &at)?, &at, depth + 1)?;
                            self.write_value(w, v, value, &at, depth + 1)?;
                        }
                        Ok(())
                    }
                    Json::Array(pairs) => {
                        w.map_header(kt, vt, pairs.len());
                        for (i, pair) in pairs.iter().enumerate() {
                            let at = format!("{path}[{i}]");
                            let Some([key, value]) = pair.as_array().map(Vec::as_slice) else {
                                return fail(
                                    &at,
                                    format!(
                                        "a map entry is a `[key, value]` array, found {}",
                                        describe(pair)
                                    ),
                                );
                            };
                            self.write_value(w, k, key, &format!("{at}[0]"), depth + 1)?;
                            self.write_value(w, v, value, &format!("{at}[1]"), depth + 1)?;
                        }
                        Ok(())
                    }
                    _ => {
                        let forms = if self.keys_as_strings(k) {
                            "an object or an array of `[key, value]` pairs"
                        } else {
                            "an array of `[key, value]` pairs"
                        };
                        fail(
                            path,
                            format!(
                                "expected {forms} ({}), found {}",
                                self.type_name(ty),
                                describe(json)
                            ),
                        )
                    }
                }
            }
            Type::Named(r) => match &self.program.definition(*r).kind {
                DefinitionKind::Enum { values } => {
                    let number = match json {
                        Json::String(name) => match values.iter().find(|v| &v.name == name) {
                            Some(v) => i64::from(v.value),
                            None => {
                                let names: Vec<&str> =
                                    values.iter().map(|v| v.name.as_str()).collect();
                                let hint = closest(name, &names).map_or_else(
                                    || format!("its values are {}", quoted(&names)),
                                    |n| format!("did you mean `{n}`?"),
                                );
                                return fail(
                                    path,
                                    format!(
                                        "`{name}` is not a value of enum {}; {hint}",
                                        self.program.definition(*r).name
                                    ),
                                );
                            }
                        },
                        Json::Number(_) => integer(
                            json,
                            path,
                            i64::from(i32::MIN),
                            i64::from(i32::MAX),
                            "an enum value",
                        )?,
                        _ => {
                            return fail(
                                path,
                                format!(
                                    "expected a value of enum {} (a name or a number), found {}",
                                    self.program.definition(*r).name,
                                    describe(json)
                                ),
                            )
                        }
                    };
                    w.signed(number);
                    Ok(())
                }
                DefinitionKind::Struct { .. } => {
                    let shape = self.shape(*r).expect("a struct definition");
                    let mut result = Ok(());
                    w.delimited(|w| result = self.write_struct(w, shape, json, path, depth + 1));
                    result
                }
                _ => fail(path, "not a value type"),
            },
        }
    }

    fn keys_as_strings(&self, key: &Type) -> bool {
        match self.program.underlying(key) {
            Type::Base(b) => !matches!(b, BaseType::Double | BaseType::F32),
            Type::Named(r) => {
                matches!(self.program.definition(*r).kind, DefinitionKind::Enum { .. })
            }
            _ => false,
        }
    }

    /// An object key as the JSON value of the map's key type.
    fn key_json(&self, key: &Type, text: &str, path: &str) -> Result<Json, JsonError> {
        Ok(match self.program.underlying(key) {
            Type::Base(BaseType::Bool) => match text {
                "true" => Json::Bool(true),
                "false" => Json::Bool(false),
                _ => {
                    return fail(
                        path,
                        format!("a bool map key is \"true\" or \"false\", found \"{text}\""),
                    )
                }
            },
            Type::Base(b) if is_integer(*b) => match text.parse::<i128>() {
                Ok(_) => Json::String(text.to_owned()),
                Err(_) => return fail(path, format!("an integer map key, found \"{text}\"")),
            },
            Type::Named(_) => match text.parse::<i64>() {
                Ok(n) => Json::from(n),
                Err(_) => Json::String(text.to_owned()),
            },
            _ => Json::String(text.to_owned()),
        })
    }

    // ---- wire → JSON

    fn read_struct(
        &self,
        s: &DynStruct<'_>,
        shape: Shape<'_>,
        path: &str,
    ) -> Result<Json, JsonError> {
        let mut known: Vec<Option<Json>> = vec![None; shape.fields.len()];
        let mut unknown = Map::new();
        let mut member: Option<usize> = None;
        for (id, value) in &s.fields {
            match shape.fields.iter().position(|f| f.id == *id) {
                Some(i) => {
                    let f = &shape.fields[i];
                    let at = child(path, &f.name);
                    let expected = self.wire_type(&f.ty);
                    if value.wire_type() != expected {
                        return fail(
                            &at,
                            format!(
                                "field {} arrived as {}, its type {} is {expected}",
                                f.id,
                                value.wire_type(),
                                self.type_name(&f.ty)
                            ),
                        );
                    }
                    if shape.kind == StructKind::Union {
                        if let Some(first) = member {
                            return fail(
                                &at,
                                format!(
                                    "a union holds one member, but `{}` came before `{}`",
                                    shape.fields[first].name, f.name
                                ),
                            );
                        }
                        member = Some(i);
                    }
                    known[i] = Some(self.read_value(value, &f.ty, &at)?);
                }
                None => {
                    unknown.insert(format!("#{id}"), raw_json(value));
                }
            }
        }
        let mut out = Map::new();
        for (f, value) in shape.fields.iter().zip(known) {
            match value {
                Some(v) => {
                    out.insert(f.name.clone(), v);
                }
                None if shape.kind == StructKind::Union => {}
                None => match f.requiredness {
                    Requiredness::Required => {
                        return fail(
                            path,
                            format!("missing required field `{}` (id {})", f.name, f.id),
                        );
                    }
                    Requiredness::Optional => {}
                    Requiredness::Default if self.is_recursive(shape.owner, f) => {}
                    Requiredness::Default => {
                        let v = match &f.default {
                            Some(c) => self.const_json(&f.ty, c),
                            None => self.zero(&f.ty),
                        };
                        out.insert(f.name.clone(), v);
                    }
                },
            }
        }
        out.extend(unknown);
        Ok(Json::Object(out))
    }

    fn read_value(&self, value: &Wire<'_>, ty: &Type, path: &str) -> Result<Json, JsonError> {
        let ty = self.program.underlying(ty);
        match (ty, value) {
            (Type::Base(b), v) => read_base(*b, v, path),
            (Type::List(el) | Type::Set(el), Wire::List { element_type, elements }) => {
                let expected = self.wire_type(el);
                if *element_type != expected {
                    return fail(
                        path,
                        format!(
                            "elements arrived as {element_type}, {} is {expected}",
                            self.type_name(el)
                        ),
                    );
                }
                let items = elements
                    .iter()
                    .enumerate()
                    .map(|(i, e)| self.read_value(e, el, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?;
                Ok(Json::Array(items))
            }
            (Type::Map(k, v), Wire::Map { key_type, value_type, entries }) => {
                let (ek, ev) = (self.wire_type(k), self.wire_type(v));
                if (*key_type, *value_type) != (ek, ev) {
                    return fail(path, format!("entries arrived as {key_type} → {value_type}, the map's types are {ek} → {ev}"));
                }
                if self.keys_as_strings(k) {
                    let mut out = Map::new();
                    for (key, value) in entries {
                        let key = match self.read_value(key, k, path)? {
                            Json::String(s) => s,
                            other => other.to_string(),
                        };
                        let at = child(path, &key);
                        let value = self.read_value(value, v, &at)?;
                        out.insert(key, value);
                    }
                    Ok(Json::Object(out))
                } else {
                    let pairs = entries
                        .iter()
                        .enumerate()
                        .map(|(i, (key, value))| {
                            let at = format!("{path}[{i}]");
                            Ok(Json::Array(vec![
                                self.read_value(key, k, &format!("{at}[0]"))?,
                                self.read_value(value, v, &format!("{at}[1]"))?,
                            ]))
                        })
                        .collect::<Result<_, JsonError>>()?;
                    Ok(Json::Array(pairs))
                }
            }
            (Type::Named(r), value) => match &self.program.definition(*r).kind {
                DefinitionKind::Enum { values } => {
                    let Wire::Varint(raw) = value else { return fail(path, "expected a varint") };
                    let n = zigzag_decode(*raw);
                    let Ok(n) = i32::try_from(n) else {
                        return fail(path, format!("enum value {n} is outside i32"));
                    };
                    Ok(match values.iter().find(|v| v.value == n) {
                        Some(v) => Json::String(v.name.clone()),
                        None => Json::from(n),
                    })
                }
                DefinitionKind::Struct { .. } => {
                    let Wire::Struct(s) = value else { return fail(path, "expected a struct") };
                    self.read_struct(s, self.shape(*r).expect("a struct definition"), path)
                }
                _ => fail(path, "not a value type"),
            },
            (_, other) => fail(
                path,
                format!(
                    "arrived as {}, {} is {}",
                    other.wire_type(),
                    self.type_name(ty),
                    self.wire_type(ty)
                ),
            ),
        }
    }

    // ---- types

    /// The wire type values of `ty` take (spec/wire.md § 5).
    pub fn wire_type(&self, ty: &Type) -> WireType {
        match self.program.underlying(ty) {
            Type::Base(BaseType::Double) => WireType::Fixed64,
            Type::Base(BaseType::F32) => WireType::Fixed32,
            Type::Base(BaseType::String | BaseType::Binary | BaseType::Uuid) => WireType::Bytes,
            Type::Base(_) => WireType::Varint,
            Type::List(_) | Type::Set(_) => WireType::List,
            Type::Map(..) => WireType::Map,
            Type::Named(r) => match self.program.definition(*r).kind {
                DefinitionKind::Enum { .. } => WireType::Varint,
                _ => WireType::Struct,
            },
        }
    }

    /// `ty` as the IDL writes it.
    pub fn type_name(&self, ty: &Type) -> String {
        match ty {
            Type::Base(b) => b.name().to_owned(),
            Type::List(t) => format!("list<{}>", self.type_name(t)),
            Type::Set(t) => format!("set<{}>", self.type_name(t)),
            Type::Map(k, v) => format!("map<{}, {}>", self.type_name(k), self.type_name(v)),
            Type::Named(r) => self.program.definition(*r).name.clone(),
        }
    }

    fn is_recursive(&self, owner: Option<DefRef>, f: &Field) -> bool {
        owner.is_some_and(|o| self.recursive.contains(&(o, f.name.clone())))
    }

    /// The JSON of the type's zero (spec/wire.md § 4).
    fn zero(&self, ty: &Type) -> Json {
        match self.program.underlying(ty) {
            Type::Base(BaseType::Bool) => Json::Bool(false),
            Type::Base(BaseType::Double | BaseType::F32) => Json::from(0.0),
            Type::Base(BaseType::String | BaseType::Binary) => Json::String(String::new()),
            Type::Base(BaseType::Uuid) => {
                Json::String("00000000-0000-0000-0000-000000000000".into())
            }
            Type::Base(_) => Json::from(0),
            Type::List(_) | Type::Set(_) => Json::Array(Vec::new()),
            Type::Map(k, _) if self.keys_as_strings(k) => Json::Object(Map::new()),
            Type::Map(..) => Json::Array(Vec::new()),
            Type::Named(r) => match &self.program.definition(*r).kind {
                DefinitionKind::Enum { values } => {
                    values.first().map_or_else(|| Json::from(0), |v| Json::String(v.name.clone()))
                }
                DefinitionKind::Struct { kind: StructKind::Union, .. } => Json::Object(Map::new()),
                _ => self.struct_defaults(*r),
            },
        }
    }

    /// A struct at its zero: every field of default requiredness at its default or zero
    /// (recursive ones absent), required fields too, optional ones absent.
    fn struct_defaults(&self, r: DefRef) -> Json {
        let Some(shape) = self.shape(r) else { return Json::Object(Map::new()) };
        let mut out = Map::new();
        for f in shape.fields {
            if f.requiredness == Requiredness::Optional || self.is_recursive(Some(r), f) {
                continue;
            }
            let v = match &f.default {
                Some(c) => self.const_json(&f.ty, c),
                None => self.zero(&f.ty),
            };
            out.insert(f.name.clone(), v);
        }
        Json::Object(out)
    }

    /// An IDL constant (checked against `ty`) as JSON.
    pub fn const_json(&self, ty: &Type, value: &Const) -> Json {
        let ty = self.program.underlying(ty);
        match value {
            Const::Const(r) => match &self.program.definition(*r).kind {
                DefinitionKind::Const { value, .. } => self.const_json(ty, value),
                _ => Json::Null,
            },
            Const::Int(n) => match ty {
                Type::Base(BaseType::Bool) => Json::Bool(*n != 0),
                Type::Base(BaseType::Double | BaseType::F32) => Json::from(*n as f64),
                Type::Named(r) => match &self.program.definition(*r).kind {
                    DefinitionKind::Enum { values } => values
                        .iter()
                        .find(|v| i128::from(v.value) == *n)
                        .map_or_else(|| Json::from(*n as i64), |v| Json::String(v.name.clone())),
                    _ => Json::Null,
                },
                _ => match i64::try_from(*n) {
                    Ok(v) => Json::from(v),
                    Err(_) => Json::from(*n as u64),
                },
            },
            Const::Double(d) => float_json(*d),
            Const::Str(s) => match ty {
                Type::Base(BaseType::Binary) => Json::String(BASE64.encode(s.as_bytes())),
                _ => Json::String(s.clone()),
            },
            Const::Bool(b) => Json::Bool(*b),
            Const::EnumValue { name, .. } => Json::String(name.clone()),
            Const::List(items) => {
                let el = match ty {
                    Type::List(t) | Type::Set(t) => t.as_ref().clone(),
                    _ => return Json::Null,
                };
                Json::Array(items.iter().map(|i| self.const_json(&el, i)).collect())
            }
            Const::Map(entries) => match ty {
                Type::Map(k, v) if self.keys_as_strings(k) => {
                    let mut out = Map::new();
                    for (key, value) in entries {
                        let key = match self.const_json(k, key) {
                            Json::String(s) => s,
                            other => other.to_string(),
                        };
                        out.insert(key, self.const_json(v, value));
                    }
                    Json::Object(out)
                }
                Type::Map(k, v) => Json::Array(
                    entries
                        .iter()
                        .map(|(key, value)| {
                            Json::Array(vec![self.const_json(k, key), self.const_json(v, value)])
                        })
                        .collect(),
                ),
                Type::Named(r) => {
                    let Some(shape) = self.shape(*r) else { return Json::Null };
                    let mut out = match self.zero(ty) {
                        Json::Object(o) if shape.kind != StructKind::Union => o,
                        _ => Map::new(),
                    };
                    for (key, value) in entries {
                        let Const::Str(name) = key else { continue };
                        if let Some(f) = shape.fields.iter().find(|f| &f.name == name) {
                            out.insert(name.clone(), self.const_json(&f.ty, value));
                        }
                    }
                    Json::Object(out)
                }
                _ => Json::Null,
            },
        }
    }
}

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn is_integer(b: BaseType) -> bool {
    matches!(
        b,
        BaseType::I8
            | BaseType::I16
            | BaseType::I32
            | BaseType::I64
            | BaseType::U8
            | BaseType::U16
            | BaseType::U32
            | BaseType::U64
    )
}

fn signed_range(b: BaseType) -> Option<(i64, i64)> {
    Some(match b {
        BaseType::I8 => (i64::from(i8::MIN), i64::from(i8::MAX)),
        BaseType::I16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
        BaseType::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        BaseType::I64 => (i64::MIN, i64::MAX),
        _ => return None,
    })
}

fn unsigned_max(b: BaseType) -> Option<u64> {
    Some(match b {
        BaseType::U8 => u64::from(u8::MAX),
        BaseType::U16 => u64::from(u16::MAX),
        BaseType::U32 => u64::from(u32::MAX),
        BaseType::U64 => u64::MAX,
        _ => return None,
    })
}

/// An integer given as a JSON number or a decimal string (for 64-bit values that some JSON
/// tools cannot hold exactly), within `min..=max`.
fn integer(json: &Json, path: &str, min: i64, max: i64, what: &str) -> Result<i64, JsonError> {
    let n: Option<i128> = match json {
        Json::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)),
        Json::String(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n >= i128::from(min) && n <= i128::from(max) => Ok(n as i64),
        Some(n) => fail(path, format!("{n} is outside {what}'s range {min}..={max}")),
        None => fail(path, format!("expected {what} (a whole number), found {}", describe(json))),
    }
}

fn unsigned(json: &Json, path: &str, max: u64, what: &str) -> Result<u64, JsonError> {
    let n: Option<i128> = match json {
        Json::Number(n) => n.as_u64().map(i128::from).or_else(|| n.as_i64().map(i128::from)),
        Json::String(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n >= 0 && n <= i128::from(max) => Ok(n as u64),
        Some(n) => fail(path, format!("{n} is outside {what}'s range 0..={max}")),
        None => fail(path, format!("expected {what} (a whole number), found {}", describe(json))),
    }
}

fn float(json: &Json, path: &str, what: &str) -> Result<f64, JsonError> {
    match json {
        Json::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other
                .parse::<f64>()
                .or_else(|_| fail(path, format!("expected {what} (a number, \"NaN\", \"Infinity\" or \"-Infinity\"), found \"{other}\""))),
        },
        _ => fail(path, format!("expected {what} (a number), found {}", describe(json))),
    }
}

fn float_json(d: f64) -> Json {
    match Number::from_f64(d) {
        Some(n) => Json::Number(n),
        None if d.is_nan() => Json::String("NaN".into()),
        None if d > 0.0 => Json::String("Infinity".into()),
        None => Json::String("-Infinity".into()),
    }
}

fn write_base(w: &mut Writer<'_>, b: BaseType, json: &Json, path: &str) -> Result<(), JsonError> {
    if let Some((min, max)) = signed_range(b) {
        w.signed(integer(json, path, min, max, b.name())?);
        return Ok(());
    }
    if let Some(max) = unsigned_max(b) {
        w.unsigned(unsigned(json, path, max, b.name())?);
        return Ok(());
    }
    match b {
        BaseType::Bool => match json {
            Json::Bool(v) => w.bool(*v),
            _ => {
                return fail(
                    path,
                    format!("expected a bool (true or false), found {}", describe(json)),
                )
            }
        },
        BaseType::Double => w.f64(float(json, path, "a double")?),
        // Rounds to the nearest f32, as a cast does.
        BaseType::F32 => w.f32(float(json, path, "an f32")? as f32),
        BaseType::String => match json {
            Json::String(s) => w.str(s),
            _ => return fail(path, format!("expected a string, found {}", describe(json))),
        },
        BaseType::Binary => match json {
            Json::String(s) => w.bytes(&base64_decode(s, path)?),
            _ => {
                return fail(
                    path,
                    format!("expected binary as a base64 string, found {}", describe(json)),
                )
            }
        },
        BaseType::Uuid => match json {
            Json::String(s) => w.uuid(&parse_uuid(s, path)?),
            _ => {
                return fail(
                    path,
                    format!(
                        "expected a uuid string (8-4-4-4-12 hex digits), found {}",
                        describe(json)
                    ),
                )
            }
        },
        _ => unreachable!("integers are handled above"),
    }
    Ok(())
}

fn read_base(b: BaseType, value: &Wire<'_>, path: &str) -> Result<Json, JsonError> {
    let mismatch = |expected: &str| {
        fail(path, format!("arrived as {}, {} is {expected}", value.wire_type(), b.name()))
    };
    match (b, value) {
        (BaseType::Bool, Wire::Varint(v)) => match v {
            0 => Ok(Json::Bool(false)),
            1 => Ok(Json::Bool(true)),
            _ => fail(path, format!("a bool is 0 or 1, found {v}")),
        },
        (b, Wire::Varint(v)) if signed_range(b).is_some() => {
            let (min, max) = signed_range(b).expect("signed");
            let n = zigzag_decode(*v);
            if n < min || n > max {
                return fail(path, format!("{n} is outside {}'s range", b.name()));
            }
            Ok(Json::from(n))
        }
        (b, Wire::Varint(v)) if unsigned_max(b).is_some() => {
            if *v > unsigned_max(b).expect("unsigned") {
                return fail(path, format!("{v} is outside {}'s range", b.name()));
            }
            Ok(Json::from(*v))
        }
        (BaseType::Double, Wire::Fixed64(bits)) => Ok(float_json(f64::from_bits(*bits))),
        (BaseType::F32, Wire::Fixed32(bits)) => Ok(float_json(f64::from(f32::from_bits(*bits)))),
        (BaseType::String, Wire::Bytes(bytes)) => match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Json::String(s.to_owned())),
            Err(e) => {
                fail(path, format!("invalid UTF-8 at byte {} of the string", e.valid_up_to()))
            }
        },
        (BaseType::Binary, Wire::Bytes(bytes)) => Ok(Json::String(BASE64.encode(bytes))),
        (BaseType::Uuid, Wire::Bytes(bytes)) => match <[u8; 16]>::try_from(*bytes) {
            Ok(u) => Ok(Json::String(format_uuid(&u))),
            Err(_) => fail(path, format!("a uuid is 16 bytes, found {}", bytes.len())),
        },
        (BaseType::Double, _) => mismatch("fixed64"),
        (BaseType::F32, _) => mismatch("fixed32"),
        (BaseType::String | BaseType::Binary | BaseType::Uuid, _) => mismatch("bytes"),
        _ => mismatch("varint"),
    }
}

fn base64_decode(s: &str, path: &str) -> Result<Vec<u8>, JsonError> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let engines = [&BASE64, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD];
    match engines.iter().find_map(|e| e.decode(s).ok()) {
        Some(bytes) => Ok(bytes),
        None => match BASE64.decode(s) {
            Err(e) => fail(
                path,
                format!("binary is base64 (RFC 4648, padded or not, standard or URL-safe): {e}"),
            ),
            Ok(bytes) => Ok(bytes),
        },
    }
}

fn parse_uuid(s: &str, path: &str) -> Result<[u8; 16], JsonError> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let dashes: Vec<usize> = s.char_indices().filter(|(_, c)| *c == '-').map(|(i, _)| i).collect();
    let layout_ok = dashes.is_empty() || dashes == [8, 13, 18, 23];
    if hex.len() != 32 || !layout_ok || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return fail(path, format!("a uuid is 32 hex digits as 8-4-4-4-12, found \"{s}\""));
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex digits");
    }
    Ok(out)
}

fn format_uuid(u: &[u8; 16]) -> String {
    let h: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

// ---- fields the schema does not know (spec/json.md § 3)

/// An unknown value, schema-less: `{"varint": n}`, `{"fixed64": bits}`, `{"fixed32": bits}`,
/// `{"bytes": base64}`, `{"struct": {"#id": …}}`, `{"list": [...], "of": type}`,
/// `{"map": [[k, v], …], "of": [key type, value type]}`.
pub fn raw_json(value: &Wire<'_>) -> Json {
    let one = |k: &str, v: Json| {
        let mut m = Map::new();
        m.insert(k.to_owned(), v);
        Json::Object(m)
    };
    match value {
        Wire::Varint(v) => one("varint", Json::from(*v)),
        Wire::Fixed64(v) => one("fixed64", Json::from(*v)),
        Wire::Fixed32(v) => one("fixed32", Json::from(*v)),
        Wire::Bytes(b) => one("bytes", Json::String(BASE64.encode(b))),
        Wire::Struct(s) => one("struct", raw_struct(s)),
        Wire::List { element_type, elements } => {
            let mut m = Map::new();
            m.insert("list".into(), Json::Array(elements.iter().map(raw_json).collect()));
            m.insert("of".into(), Json::String(element_type.name().into()));
            Json::Object(m)
        }
        Wire::Map { key_type, value_type, entries } => {
            let mut m = Map::new();
            let pairs = entries.iter().map(|(k, v)| Json::Array(vec![raw_json(k), raw_json(v)]));
            m.insert("map".into(), Json::Array(pairs.collect()));
            m.insert(
                "of".into(),
                Json::Array(vec![key_type.name().into(), value_type.name().into()]),
            );
            Json::Object(m)
        }
    }
}

/// A whole message without its schema: every field as `"#id"`.
pub fn raw_struct(s: &DynStruct<'_>) -> Json {
    let mut m = Map::new();
    for (id, v) in &s.fields {
        m.insert(format!("#{id}"), raw_json(v));
    }
    Json::Object(m)
}

fn wire_type_named(name: &Json, path: &str) -> Result<WireType, JsonError> {
    match WireType::ALL.iter().find(|t| Json::String(t.name().into()) == *name) {
        Some(t) => Ok(*t),
        None => fail(path, format!("expected a wire type name (varint, fixed64, fixed32, bytes, struct, list or map), found {}", describe(name))),
    }
}

fn raw_wire_type(json: &Json, path: &str) -> Result<WireType, JsonError> {
    let form = "an unknown field's value is one of {\"varint\": n}, {\"fixed64\": n}, {\"fixed32\": n}, {\"bytes\": base64}, {\"struct\": {…}}, {\"list\": […], \"of\": type}, {\"map\": […], \"of\": [type, type]}";
    let Json::Object(m) = json else { return fail(path, form) };
    let key = m.keys().find(|k| *k != "of").map(String::as_str);
    Ok(match key {
        Some("varint") => WireType::Varint,
        Some("fixed64") => WireType::Fixed64,
        Some("fixed32") => WireType::Fixed32,
        Some("bytes") => WireType::Bytes,
        Some("struct") => WireType::Struct,
        Some("list") => WireType::List,
        Some("map") => WireType::Map,
        _ => return fail(path, form),
    })
}

fn write_raw(
    w: &mut Writer<'_>,
    json: &Json,
    wire_type: WireType,
    path: &str,
) -> Result<(), JsonError> {
    let actual = raw_wire_type(json, path)?;
    if actual != wire_type {
        return fail(path, format!("expected a {wire_type} value here, found {actual}"));
    }
    let value = &json[wire_type.name()];
    match wire_type {
        WireType::Varint => w.unsigned(unsigned(value, path, u64::MAX, "a varint")?),
        WireType::Fixed64 => {
            w.f64(f64::from_bits(unsigned(value, path, u64::MAX, "fixed64 bits")?))
        }
        WireType::Fixed32 => {
            w.f32(
                f32::from_bits(unsigned(value, path, u64::from(u32::MAX), "fixed32 bits")? as u32),
            )
        }
        WireType::Bytes => match value {
            Json::String(s) => w.bytes(&base64_decode(s, path)?),
            _ => return fail(path, "bytes are a base64 string"),
        },
        WireType::Struct => {
            let Json::Object(fields) = value else {
                return fail(path, "a struct is an object of \"#id\" fields");
            };
            let mut result = Ok(());
            w.delimited(|w| {
                for (key, v) in fields {
                    let at = child(path, key);
                    let Some(id) = key.strip_prefix('#').and_then(|i| i.parse::<i16>().ok()) else {
                        result =
                            fail(&at, "fields of an unknown struct are given by id, as in `#7`");
                        return;
                    };
                    let t = match raw_wire_type(v, &at) {
                        Ok(t) => t,
                        Err(e) => {
                            result = Err(e);
                            return;
                        }
                    };
                    w.key(id, t);
                    if let Err(e) = write_raw(w, v, t, &at) {
                        result = Err(e);
                        return;
                    }
                }
            });
            return result;
        }
        WireType::List => {
            let el = wire_type_named(&json["of"], &child(path, "of"))?;
            let Json::Array(items) = value else {
                return fail(path, "a list's elements are an array");
            };
            w.list_header(el, items.len());
            for (i, item) in items.iter().enumerate() {
                write_raw(w, item, el, &format!("{path}.list[{i}]"))?;
            }
        }
        WireType::Map => {
            let of = child(path, "of");
            let (Some(k), Some(v)) = (json["of"].get(0), json["of"].get(1)) else {
                return fail(&of, "a map's `of` is [key type, value type]");
            };
            let (k, v) = (wire_type_named(k, &of)?, wire_type_named(v, &of)?);
            let Json::Array(pairs) = value else {
                return fail(path, "a map's entries are an array of [key, value]");
            };
            w.map_header(k, v, pairs.len());
            for (i, pair) in pairs.iter().enumerate() {
                let at = format!("{path}.map[{i}]");
                let Some([key, value]) = pair.as_array().map(Vec::as_slice) else {
                    return fail(&at, "a map entry is a [key, value] array");
                };
                write_raw(w, key, k, &at)?;
                write_raw(w, value, v, &at)?;
            }
        }
    }
    Ok(())
}

// ---- messages

/// `$.name`, or `$["a b"]` for keys that are not identifiers: the path of `key` inside
/// the object at `path` (spec/json.md § 4).
pub fn child(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Json::String(key.to_owned()))
    }
}

fn describe(json: &Json) -> String {
    let text = json.to_string();
    let short = if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    };
    let kind = match json {
        Json::Null => return "null".into(),
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    };
    format!("{kind} `{short}`")
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// The name nearest to `word`, if near enough to be a typo (idlc's rule).
pub fn closest(word: &str, names: &[&str]) -> Option<String> {
    ferry_idlc::diagnostics::suggest(word, names.iter().copied())
}
