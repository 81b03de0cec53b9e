//! Decoding struct bodies: the field loop generated code is written against, and the
//! traits that tie owned types, views and encoders together.

use crate::container::Element;
use crate::error::{DecodeError, ErrorKind};
use crate::reader::Reader;
use crate::writer::{key_code, Encode};
use crate::{DecodeOptions, WireType};

/// A zero-copy view of a struct: borrows strings, bytes and containers from the message.
///
/// Generated code implements this by looping over [`StructReader::next_field`] and matching on
/// field ids; unknown ids are skipped, so old readers accept new writers.
pub trait View<'a>: Sized + Copy {
    /// The owned type this view converts to.
    type Owned;
    /// Decodes the fields of one struct body.
    fn decode_fields(fields: StructReader<'a>) -> Result<Self, DecodeError>;
    /// Copies everything into an owned value, decoding any containers not read yet.
    fn to_owned_value(&self) -> Result<Self::Owned, DecodeError>;
}

/// An owned struct that can be encoded and decoded through its view.
pub trait Message: Encode + Sized {
    /// The zero-copy view of this message.
    type View<'a>: View<'a, Owned = Self>;

    /// Decodes an owned value with the default [`DecodeOptions`].
    fn decode(message: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_with(message, &DecodeOptions::DEFAULT)
    }

    /// Decodes an owned value under `options`.
    fn decode_with(message: &[u8], options: &DecodeOptions) -> Result<Self, DecodeError> {
        decode_view_with::<Self::View<'_>>(message, options)?.to_owned_value()
    }
}

/// Decodes a view of `message` with the default [`DecodeOptions`].
#[inline]
pub fn decode_view<'a, V: View<'a>>(message: &'a [u8]) -> Result<V, DecodeError> {
    decode_view_with(message, &DecodeOptions::DEFAULT)
}

/// Decodes a view of `message` under `options`.
#[inline]
pub fn decode_view_with<'a, V: View<'a>>(
    message: &'a [u8],
    options: &DecodeOptions,
) -> Result<V, DecodeError> {
    V::decode_fields(StructReader::message(message, options)?)
}

/// The header of one field: its id, wire type and where its key starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field id from the IDL.
    pub id: i16,
    /// How the value is laid out.
    pub wire_type: WireType,
    /// Offset of the field's key in the message.
    pub offset: usize,
}

/// Iterates the fields of one struct body.
#[derive(Clone, Copy, Debug)]
pub struct StructReader<'a> {
    body: Reader<'a>,
    /// Nesting levels still allowed below this struct.
    depth_left: u16,
}

impl<'a> StructReader<'a> {
    /// A reader over a whole message, after checking it against `options`.
    pub fn message(message: &'a [u8], options: &DecodeOptions) -> Result<Self, DecodeError> {
        let (max_depth, max_size) = options.limits();
        if message.len() > max_size {
            return Err(DecodeError::new(
                ErrorKind::MessageTooLarge { size: message.len(), limit: max_size },
                0,
            ));
        }
        let Some(depth_left) = max_depth.checked_sub(1) else {
            return Err(DecodeError::new(ErrorKind::DepthLimitExceeded, 0));
        };
        Ok(StructReader { body: Reader::with_validation(message, options.validation), depth_left })
    }

    /// A reader over a nested struct body; `depth_left` already accounts for it.
    #[inline]
    pub fn nested(body: Reader<'a>, depth_left: u16) -> Self {
        StructReader { body, depth_left }
    }

    /// Offset just past the last byte read.
    #[inline]
    pub fn offset(&self) -> usize {
        self.body.offset()
    }

    /// The next field's header, or `None` at the end of the struct.
    #[inline(always)]
    pub fn next_field(&mut self) -> Result<Option<Field>, DecodeError> {
        if self.body.is_empty() {
            return Ok(None);
        }
        let offset = self.body.offset();
        let (id, wire_type) = self.body.key()?;
        Ok(Some(Field { id, wire_type, offset }))
    }

    /// True (and the key consumed) when the next field is `id` with `wire_type`.
    ///
    /// Encoders write fields in id order, so generated decoders first try each known field
    /// in that order: one predictable byte comparison per field instead of a dispatch on
    /// the id. Anything else (unknown, reordered, repeated fields) falls through to the
    /// general [`StructReader::next_field`] loop.
    #[inline(always)]
    pub fn next_is(&mut self, id: i16, wire_type: WireType) -> bool {
        let key = key_code(id, wire_type);
        if key < 0x80 {
            self.body.eat_byte(key as u8)
        } else {
            self.eat_long_key(key)
        }
    }

    #[inline(always)]
    fn eat_long_key(&mut self, key: u64) -> bool {
        let mut probe = self.body;
        if long_key_matches(&mut probe, key) {
            self.body = probe;
            true
        } else {
            false
        }
    }

    /// Reads the value of a field matched by [`StructReader::next_is`].
    #[inline(always)]
    pub fn value<T: Element<'a>>(&mut self) -> Result<T, DecodeError> {
        T::read(&mut self.body, self.depth_left)
    }

    /// Reads the value of `field` as a `T`, checking its wire type against the schema's.
    #[inline(always)]
    pub fn read<T: Element<'a>>(&mut self, field: Field) -> Result<T, DecodeError> {
        self.expect_wire_type(field, T::WIRE_TYPE)?;
        T::read(&mut self.body, self.depth_left)
    }

    /// Checks a known field's wire type against the schema's (an error at its key).
    #[inline(always)]
    pub fn expect_wire_type(&self, field: Field, expected: WireType) -> Result<(), DecodeError> {
        if field.wire_type != expected {
            return Err(DecodeError::new(
                ErrorKind::WireTypeMismatch { field: field.id, expected, found: field.wire_type },
                field.offset,
            ));
        }
        Ok(())
    }

    /// Steps over a field the schema does not know.
    #[inline(always)]
    pub fn skip(&mut self, field: Field) -> Result<(), DecodeError> {
        // Through a copy: only the copy's address is passed to the out-of-line skip, so the
        // generated decoder's own reader can stay in registers.
        let mut body = self.body;
        body.skip(field.wire_type, self.depth_left)?;
        self.body = body;
        Ok(())
    }

    /// The error for a `required` field that never arrived; `offset` is the struct's end.
    #[cold]
    pub fn missing(&self, field: i16) -> DecodeError {
        DecodeError::new(ErrorKind::MissingRequiredField { field }, self.body.offset())
    }

    /// The error for a union that carries a second known field.
    #[cold]
    pub fn union_conflict(&self, first: i16, second: Field) -> DecodeError {
        DecodeError::new(
            ErrorKind::UnionHasSeveralFields { first, second: second.id },
            second.offset,
        )
    }
}

/// Out of line, on a copy of the reader (see [`StructReader::skip`]).
#[inline(never)]
fn long_key_matches(probe: &mut Reader<'_>, key: u64) -> bool {
    probe.varint() == Ok(key)
}
