//! Decode errors: small, `Copy`, carrying the byte offset where decoding failed.

use core::fmt;

use crate::WireType;

/// What went wrong while decoding, and at which byte offset of the message.
///
/// Stored as four words, not as an [`ErrorKind`]: a `Result<View, DecodeError>` overlays the
/// error on the view, and the enum's one- and two-byte fields made the optimiser split the
/// view's words into bytes and put them back together for every element a list iterator
/// yielded (a third of the listing iteration's instructions). [`DecodeError::kind`]
/// unpacks it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    /// The kind's variant (low byte) and its narrow fields (above it).
    head: u64,
    /// The kind's first wide field (`needed`, `value`, `len`, `count`, `size`), else 0.
    first: u64,
    /// The kind's second wide field (`remaining`, `limit`), else 0.
    second: u64,
    offset: usize,
}

/// [`ErrorKind`] as three words: variant and narrow fields, then up to two wide fields.
fn pack(kind: ErrorKind) -> (u64, u64, u64) {
    let narrow = |variant: u64, fields: u64| (variant | fields << 8, 0, 0);
    let wire = |t: WireType| t as u64;
    let id = |field: i16| u64::from(field as u16);
    match kind {
        ErrorKind::Truncated { needed } => (0, needed as u64, 0),
        ErrorKind::VarintOverflow => narrow(1, 0),
        ErrorKind::VarintNotMinimal => narrow(2, 0),
        ErrorKind::UnknownWireType { code } => narrow(3, u64::from(code)),
        ErrorKind::FieldIdOutOfRange => narrow(4, 0),
        ErrorKind::WireTypeMismatch { field, expected, found } => {
            narrow(5, id(field) | wire(expected) << 16 | wire(found) << 24)
        }
        ErrorKind::ElementTypeMismatch { expected, found } => {
            narrow(6, wire(expected) | wire(found) << 8)
        }
        ErrorKind::InvalidUtf8 => narrow(7, 0),
        ErrorKind::InvalidBool { value } => (8, value, 0),
        ErrorKind::IntegerOutOfRange { value } => (9, value, 0),
        ErrorKind::InvalidUuidLength { len } => (10, len as u64, 0),
        ErrorKind::CountNotMinimal => narrow(11, 0),
        ErrorKind::CountExceedsRemaining { count, remaining } => (12, count, remaining as u64),
        ErrorKind::DepthLimitExceeded => narrow(13, 0),
        ErrorKind::MessageTooLarge { size, limit } => (14, size as u64, limit as u64),
        ErrorKind::MissingRequiredField { field } => narrow(15, id(field)),
        ErrorKind::UnionHasSeveralFields { first, second } => {
            narrow(16, id(first) | id(second) << 16)
        }
    }
}

/// The inverse of [`pack`].
fn unpack(head: u64, first: u64, second: u64) -> ErrorKind {
    let fields = head >> 8;
    // Packed from a valid `WireType`, so the fallback is never taken.
    let wire =
        |shift: u32| WireType::from_code((fields >> shift) as u8).unwrap_or(WireType::Varint);
    let id = |shift: u32| (fields >> shift) as u16 as i16;
    match head & 0xff {
        0 => ErrorKind::Truncated { needed: first as usize },
        1 => ErrorKind::VarintOverflow,
        2 => ErrorKind::VarintNotMinimal,
        3 => ErrorKind::UnknownWireType { code: fields as u8 },
        4 => ErrorKind::FieldIdOutOfRange,
        5 => ErrorKind::WireTypeMismatch { field: id(0), expected: wire(16), found: wire(24) },
        6 => ErrorKind::ElementTypeMismatch { expected: wire(0), found: wire(8) },
        7 => ErrorKind::InvalidUtf8,
        8 => ErrorKind::InvalidBool { value: first },
        9 => ErrorKind::IntegerOutOfRange { value: first },
        10 => ErrorKind::InvalidUuidLength { len: first as usize },
        11 => ErrorKind::CountNotMinimal,
        12 => ErrorKind::CountExceedsRemaining { count: first, remaining: second as usize },
        13 => ErrorKind::DepthLimitExceeded,
        14 => ErrorKind::MessageTooLarge { size: first as usize, limit: second as usize },
        15 => ErrorKind::MissingRequiredField { field: id(0) },
        _ => ErrorKind::UnionHasSeveralFields { first: id(0), second: id(16) },
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("kind", &self.kind())
            .field("offset", &self.offset)
            .finish()
    }
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
        let (head, first, second) = pack(kind);
        DecodeError { head, first, second, offset }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        unpack(self.head, self.first, self.second)
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
        write!(f, "{} at byte {}", self.kind(), self.offset)
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind, with extreme field values, comes back unchanged from its packed form.
    #[test]
    fn every_kind_survives_packing() {
        let types = WireType::ALL;
        let mut kinds = vec![
            ErrorKind::VarintOverflow,
            ErrorKind::VarintNotMinimal,
            ErrorKind::FieldIdOutOfRange,
            ErrorKind::InvalidUtf8,
            ErrorKind::CountNotMinimal,
            ErrorKind::DepthLimitExceeded,
        ];
        for wide in [0u64, 1, 0xff, u64::from(u32::MAX), u64::MAX] {
            kinds.extend([
                ErrorKind::Truncated { needed: wide as usize },
                ErrorKind::InvalidBool { value: wide },
                ErrorKind::IntegerOutOfRange { value: wide },
                ErrorKind::InvalidUuidLength { len: wide as usize },
                ErrorKind::CountExceedsRemaining { count: wide, remaining: !wide as usize },
                ErrorKind::MessageTooLarge { size: !wide as usize, limit: wide as usize },
            ]);
        }
        for code in [0u8, 7, 15, 255] {
            kinds.push(ErrorKind::UnknownWireType { code });
        }
        for id in [i16::MIN, -1, 0, 1, i16::MAX] {
            kinds.extend([
                ErrorKind::MissingRequiredField { field: id },
                ErrorKind::UnionHasSeveralFields { first: id, second: id.wrapping_neg() },
                ErrorKind::UnionHasSeveralFields { first: i16::MIN, second: id },
            ]);
            for (&expected, &found) in types.iter().zip(types.iter().rev()) {
                kinds.push(ErrorKind::WireTypeMismatch { field: id, expected, found });
                kinds.push(ErrorKind::ElementTypeMismatch { expected, found });
            }
        }
        for kind in kinds {
            let e = DecodeError::new(kind, 12_345);
            assert_eq!(e.kind(), kind);
            assert_eq!(e.offset(), 12_345);
            assert_eq!(e, DecodeError::new(kind, 12_345));
        }
        assert_ne!(
            DecodeError::new(ErrorKind::InvalidUtf8, 1),
            DecodeError::new(ErrorKind::InvalidUtf8, 2)
        );
    }

    #[test]
    fn debug_shows_the_kind_and_offset() {
        let e = DecodeError::new(ErrorKind::UnknownWireType { code: 7 }, 3);
        assert_eq!(
            format!("{e:?}"),
            "DecodeError { kind: UnknownWireType { code: 7 }, offset: 3 }"
        );
    }
}
