//! Schema-less decoding: every message can be walked, checked, printed and re-encoded
//! without its IDL, because every value carries its wire type.

use core::fmt;

use crate::error::{DecodeError, ErrorKind};
use crate::reader::Reader;
use crate::writer::{size, Encode, Writer};
use crate::{DecodeOptions, WireType};

/// A value as the wire shows it, without a schema.
#[derive(Clone, Debug, PartialEq)]
// Variant fields are named for what they hold.
#[allow(missing_docs)]
pub enum Value<'a> {
    /// A varint (bool, integer or enum; signed ones are zigzag-encoded).
    Varint(u64),
    /// Eight bytes (a double), as little-endian bits.
    Fixed64(u64),
    /// Four bytes (an f32), as little-endian bits.
    Fixed32(u32),
    /// Length-prefixed bytes (string, binary, uuid).
    Bytes(&'a [u8]),
    /// A nested struct.
    Struct(DynStruct<'a>),
    /// A list or set.
    List { element_type: WireType, elements: Vec<Value<'a>> },
    /// A map.
    Map { key_type: WireType, value_type: WireType, entries: Vec<(Value<'a>, Value<'a>)> },
}

/// A struct's fields in wire order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DynStruct<'a> {
    /// `(field id, value)` pairs.
    pub fields: Vec<(i16, Value<'a>)>,
}

/// Decodes a whole message without a schema, checking its structure to the last byte.
///
/// Memory use is bounded by a constant times the input length (at most 512 bytes per input
/// byte, asserted by fuzz/skipper): every value takes at least one input byte, and vectors
/// grow only as values are decoded.
pub fn decode<'a>(
    message: &'a [u8],
    options: &DecodeOptions,
) -> Result<DynStruct<'a>, DecodeError> {
    let (max_depth, max_size) = options.limits();
    if message.len() > max_size {
        return Err(DecodeError::new(
            ErrorKind::MessageTooLarge { size: message.len(), limit: max_size },
            0,
        ));
    }
    let depth_left = max_depth
        .checked_sub(1)
        .ok_or_else(|| DecodeError::new(ErrorKind::DepthLimitExceeded, 0))?;
    decode_struct(Reader::new(message), depth_left)
}

fn decode_struct(mut body: Reader<'_>, depth_left: u16) -> Result<DynStruct<'_>, DecodeError> {
    let mut fields = Vec::new();
    while !body.is_empty() {
        let (id, wire_type) = body.key()?;
        fields.push((id, decode_value(&mut body, wire_type, depth_left)?));
    }
    Ok(DynStruct { fields })
}

fn decode_value<'a>(
    r: &mut Reader<'a>,
    wire_type: WireType,
    depth_left: u16,
) -> Result<Value<'a>, DecodeError> {
    Ok(match wire_type {
        WireType::Varint => Value::Varint(r.varint()?),
        WireType::Fixed64 => Value::Fixed64(u64::from_le_bytes(r.array()?)),
        WireType::Fixed32 => Value::Fixed32(u32::from_le_bytes(r.array()?)),
        WireType::Bytes => Value::Bytes(r.bytes()?),
        WireType::Struct => {
            let inner = r.descend(depth_left)?;
            Value::Struct(decode_struct(r.delimited()?, inner)?)
        }
        WireType::List => {
            let inner = r.descend(depth_left)?;
            let (element_type, count) = r.list_header()?;
            // No reservation from the count: nested containers would each reserve before any
            // element is decoded (found by fuzz/skipper). Vectors grow only as elements
            // decode, so memory stays proportional to the input consumed.
            let mut elements = Vec::new();
            for _ in 0..count {
                elements.push(decode_value(r, element_type, inner)?);
            }
            Value::List { element_type, elements }
        }
        WireType::Map => {
            let inner = r.descend(depth_left)?;
            let (key_type, value_type, count) = r.map_header()?;
            let mut entries = Vec::new();
            for _ in 0..count {
                let k = decode_value(r, key_type, inner)?;
                entries.push((k, decode_value(r, value_type, inner)?));
            }
            Value::Map { key_type, value_type, entries }
        }
    })
}

impl Encode for DynStruct<'_> {
    fn encode(&self, w: &mut Writer<'_>) {
        for (id, value) in &self.fields {
            w.key(*id, value.wire_type());
            value.encode_value(w);
        }
    }

    fn encoded_len(&self) -> usize {
        self.fields.iter().map(|(id, v)| size::key(*id, v.wire_type()) + v.encoded_len()).sum()
    }
}

impl Value<'_> {
    /// The wire type this value is encoded with.
    pub fn wire_type(&self) -> WireType {
        match self {
            Value::Varint(_) => WireType::Varint,
            Value::Fixed64(_) => WireType::Fixed64,
            Value::Fixed32(_) => WireType::Fixed32,
            Value::Bytes(_) => WireType::Bytes,
            Value::Struct(_) => WireType::Struct,
            Value::List { .. } => WireType::List,
            Value::Map { .. } => WireType::Map,
        }
    }

    /// Writes the value (without a key).
    pub fn encode_value(&self, w: &mut Writer<'_>) {
        match self {
            Value::Varint(v) => w.unsigned(*v),
            Value::Fixed64(bits) => w.f64(f64::from_bits(*bits)),
            Value::Fixed32(bits) => w.f32(f32::from_bits(*bits)),
            Value::Bytes(b) => w.bytes(b),
            Value::Struct(s) => w.message(s),
            Value::List { element_type, elements } => {
                w.list_header(*element_type, elements.len());
                elements.iter().for_each(|e| e.encode_value(w));
            }
            Value::Map { key_type, value_type, entries } => {
                w.map_header(*key_type, *value_type, entries.len());
                for (k, v) in entries {
                    k.encode_value(w);
                    v.encode_value(w);
                }
            }
        }
    }

    /// Exact length of [`Value::encode_value`]'s output.
    pub fn encoded_len(&self) -> usize {
        match self {
            Value::Varint(v) => size::unsigned(*v),
            Value::Fixed64(_) => 8,
            Value::Fixed32(_) => 4,
            Value::Bytes(b) => size::bytes(b.len()),
            Value::Struct(s) => size::delimited(s.encoded_len()),
            Value::List { elements, .. } => {
                size::list(elements.len(), elements.iter().map(Value::encoded_len).sum())
            }
            Value::Map { entries, .. } => size::map(
                entries.len(),
                entries.iter().map(|(k, v)| k.encoded_len() + v.encoded_len()).sum(),
            ),
        }
    }
}

/// An indented, human-readable rendering: `1: varint 42`, `4: bytes "gift"`, …
///
/// Bytes that are printable UTF-8 print as a string, others as hex.
impl fmt::Display for DynStruct<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_struct(f, self, 0)
    }
}

fn write_struct(f: &mut fmt::Formatter<'_>, s: &DynStruct<'_>, indent: usize) -> fmt::Result {
    for (id, value) in &s.fields {
        write!(f, "{:indent$}{id}: ", "")?;
        write_value(f, value, indent)?;
    }
    Ok(())
}

fn write_value(f: &mut fmt::Formatter<'_>, v: &Value<'_>, indent: usize) -> fmt::Result {
    let inner = indent + 2;
    match v {
        Value::Varint(x) => writeln!(f, "varint {x}"),
        Value::Fixed64(bits) => writeln!(f, "fixed64 {:?}", f64::from_bits(*bits)),
        Value::Fixed32(bits) => writeln!(f, "fixed32 {:?}", f32::from_bits(*bits)),
        Value::Bytes(b) => match core::str::from_utf8(b) {
            Ok(s) if s.chars().all(|c| !c.is_control()) => writeln!(f, "bytes {s:?}"),
            _ => {
                f.write_str("bytes 0x")?;
                b.iter().try_for_each(|byte| write!(f, "{byte:02x}"))?;
                writeln!(f)
            }
        },
        Value::Struct(s) => {
            writeln!(f, "struct {{")?;
            write_struct(f, s, inner)?;
            writeln!(f, "{:indent$}}}", "")
        }
        Value::List { element_type, elements } => {
            writeln!(f, "list<{element_type}> [")?;
            for e in elements {
                write!(f, "{:inner$}", "")?;
                write_value(f, e, inner)?;
            }
            writeln!(f, "{:indent$}]", "")
        }
        Value::Map { key_type, value_type, entries } => {
            writeln!(f, "map<{key_type}, {value_type}> {{")?;
            for (k, v) in entries {
                write!(f, "{:inner$}", "")?;
                write_value(f, k, inner)?;
                write!(f, "{:inner$}=> ", "")?;
                write_value(f, v, inner)?;
            }
            writeln!(f, "{:indent$}}}", "")
        }
    }
}
