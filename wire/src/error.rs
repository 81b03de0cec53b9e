//! Decode errors: small, `Copy`, carrying the byte offset where decoding failed.

use core::fmt;

use crate::WireType;

/// What went wrong while decoding, and at which byte offset of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    kind: ErrorKind,
    offset: usize,
}

/// The kinds of decode failure. Each is documented in `spec/wire.md` § Errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
// Variant fields are named for what they hold; the variant docs explain them.
#[allow(missing_docs)]
pub enum ErrorKind {
    /// The input ended inside a value: `needed` more bytes were required.
    Truncated { needed: usize },
    /// A varint ran past 10 bytes or past the range of u64.
    VarintOverflow,
    /// A varint had a redundant trailing zero group (e.g. `80 00`); only the
    /// shortest encoding is valid, so every value has exactly one encoding.
    VarintNotMinimal,
    /// A reserved wire-type code: 7 in a key's low three bits, or 7–15 in a four-bit nibble of
    /// a list or map header.
    UnknownWireType { code: u8 },
    /// A field id did not fit in 16 bits.
    FieldIdOutOfRange,
    /// A field arrived with a wire type other than its schema's.
    WireTypeMismatch { field: i16, expected: WireType, found: WireType },
    /// A list, set or map declared elements of a wire type other than the schema's.
    ElementTypeMismatch { expected: WireType, found: WireType },
    /// A string was not valid UTF-8.
    InvalidUtf8,
    /// A bool was encoded as a varint other than 0 or 1.
    InvalidBool { value: u64 },
    /// An integer did not fit the schema's type (e.g. 300 for a u8).
    IntegerOutOfRange { value: u64 },
    /// A uuid was not exactly 16 bytes long.
    InvalidUuidLength { len: usize },
    /// A list count below 15 written in the long header form (only the short form is valid,
    /// so every list has one encoding).
    CountNotMinimal,
    /// A container declared more elements than its remaining bytes can hold.
    CountExceedsRemaining { count: u64, remaining: usize },
    /// Values were nested deeper than `DecodeOptions::max_depth`.
    DepthLimitExceeded,
    /// The message is longer than `DecodeOptions::max_message_size`.
    MessageTooLarge { size: usize, limit: usize },
    /// A `required` field was absent.
    MissingRequiredField { field: i16 },
    /// A union carried more than one of its known fields.
    UnionHasSeveralFields { first: i16, second: i16 },
}

impl DecodeError {
    /// Creates an error of `kind` at byte `offset` of the message.
    #[cold]
    #[inline(never)]
    pub fn new(kind: ErrorKind, offset: usize) -> Self {
        DecodeError { kind, offset }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Offset in bytes from the start of the message where the offending value starts.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl ErrorKind {
    /// A stable snake_case name, used by spec/vectors and other implementations.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::Truncated { .. } => "truncated",
            ErrorKind::VarintOverflow => "varint_overflow",
            ErrorKind::VarintNotMinimal => "varint_not_minimal",
            ErrorKind::UnknownWireType { .. } => "unknown_wire_type",
            ErrorKind::FieldIdOutOfRange => "field_id_out_of_range",
            ErrorKind::WireTypeMismatch { .. } => "wire_type_mismatch",
            ErrorKind::ElementTypeMismatch { .. } => "element_type_mismatch",
            ErrorKind::InvalidUtf8 => "invalid_utf8",
            ErrorKind::InvalidBool { .. } => "invalid_bool",
            ErrorKind::IntegerOutOfRange { .. } => "integer_out_of_range",
            ErrorKind::InvalidUuidLength { .. } => "invalid_uuid_length",
            ErrorKind::CountNotMinimal => "count_not_minimal",
            ErrorKind::CountExceedsRemaining { .. } => "count_exceeds_remaining",
            ErrorKind::DepthLimitExceeded => "depth_limit_exceeded",
            ErrorKind::MessageTooLarge { .. } => "message_too_large",
            ErrorKind::MissingRequiredField { .. } => "missing_required_field",
            ErrorKind::UnionHasSeveralFields { .. } => "union_has_several_fields",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ErrorKind::Truncated { needed } => {
                write!(f, "input ends early: {needed} more byte(s) needed")
            }
            ErrorKind::VarintOverflow => {
                f.write_str("varint longer than 10 bytes or above u64::MAX")
            }
            ErrorKind::VarintNotMinimal => {
                f.write_str("varint is not in its shortest form (trailing zero group)")
            }
            ErrorKind::UnknownWireType { code } => write!(f, "unknown wire type {code}"),
            ErrorKind::FieldIdOutOfRange => f.write_str("field id does not fit in 16 bits"),
            ErrorKind::WireTypeMismatch { field, expected, found } => {
                write!(f, "field {field} has wire type {found}, but the schema expects {expected}")
            }
            ErrorKind::ElementTypeMismatch { expected, found } => write!(
                f,
                "container elements have wire type {found}, but the schema expects {expected}"
            ),
            ErrorKind::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            ErrorKind::InvalidBool { value } => write!(f, "bool encoded as {value}, not 0 or 1"),
            ErrorKind::IntegerOutOfRange { value } => {
                write!(f, "integer (raw varint {value}) out of range for its type")
            }
            ErrorKind::InvalidUuidLength { len } => {
                write!(f, "uuid is {len} bytes long, expected 16")
            }
            ErrorKind::CountNotMinimal => {
                f.write_str("list count below 15 written in the long header form")
            }
            ErrorKind::CountExceedsRemaining { count, remaining } => {
                write!(f, "container claims {count} element(s) but only {remaining} byte(s) remain")
            }
            ErrorKind::DepthLimitExceeded => {
                f.write_str("values nested deeper than DecodeOptions::max_depth allows")
            }
            ErrorKind::MessageTooLarge { size, limit } => {
                write!(f, "message of {size} bytes exceeds the limit of {limit} bytes")
            }
            ErrorKind::MissingRequiredField { field } => {
                write!(f, "required field {field} is missing")
            }
            ErrorKind::UnionHasSeveralFields { first, second } => {
                write!(f, "union sets both field {first} and field {second}")
            }
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl std::error::Error for DecodeError {}
