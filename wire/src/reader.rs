//! Bounds-checked reading. Every access to input bytes goes through [`Reader::take`],
//! [`Reader::byte`] or [`Reader::varint`], so there is one place to audit.

use crate::error::{DecodeError, ErrorKind};
use crate::varint::zigzag_decode;
use crate::{Validation, WireType};

/// A cursor over a region of a message; offsets in errors are relative to the message start.
///
/// The current offset is derived (`end - rest.len()`) rather than stored: taking bytes then
/// updates two words, not three, and offsets are computed only where an error or a field
/// header needs one.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
    /// Offset of the end of `rest` from the start of the message.
    end: usize,
    /// `Validation::Strict`: skipped struct values are walked, and containers check every
    /// element when they are reached (spec/wire.md § 9).
    strict: bool,
}

impl<'a> Reader<'a> {
    /// A strict reader over the whole message.
    #[inline]
    pub fn new(message: &'a [u8]) -> Self {
        Reader { rest: message, end: message.len(), strict: true }
    }

    /// A reader over the whole message that checks as `validation` says.
    #[inline]
    pub fn with_validation(message: &'a [u8], validation: Validation) -> Self {
        Reader { rest: message, end: message.len(), strict: validation == Validation::Strict }
    }

    /// A strict reader over `region`, which starts `offset` bytes into the message.
    #[inline]
    pub fn at(region: &'a [u8], offset: usize) -> Self {
        Reader { rest: region, end: offset + region.len(), strict: true }
    }

    /// A reader over `region` (part of this reader's message, `offset` bytes into it) that
    /// checks as this one does.
    #[inline(always)]
    fn sub(&self, region: &'a [u8], offset: usize) -> Self {
        Reader { rest: region, end: offset + region.len(), strict: self.strict }
    }

    /// This reader over bytes already checked in full: what is read through it later (a
    /// view's elements as they are iterated) is not checked a second time in depth.
    #[inline(always)]
    pub(crate) fn checked(self) -> Self {
        Reader { strict: false, ..self }
    }

    /// True under [`Validation::Strict`].
    #[inline(always)]
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Offset of the next unread byte from the start of the message.
    #[inline]
    pub fn offset(&self) -> usize {
        self.end - self.rest.len()
    }

    /// The bytes not read yet.
    #[inline]
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// True when every byte has been read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// An error of `kind` at the current offset. Inlined (the constructor is cold) so that
    /// no error path takes the reader's address, which would keep it out of registers.
    #[inline(always)]
    pub fn error(&self, kind: ErrorKind) -> DecodeError {
        DecodeError::new(kind, self.offset())
    }

    // Hot paths remember where a value started as a plain offset, never as a copy of the
    // reader: copying the just-updated (pointer, length) pair defeats store forwarding and
    // cost 4x on the payload decode.

    /// Takes the next `n` bytes.
    #[inline(always)]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.rest.len() {
            return Err(self.error(ErrorKind::Truncated { needed: n - self.rest.len() }));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// Takes `N` bytes as an array.
    #[inline(always)]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Takes one byte.
    #[inline(always)]
    pub fn byte(&mut self) -> Result<u8, DecodeError> {
        match self.rest.split_first() {
            Some((&b, tail)) => {
                self.rest = tail;
                Ok(b)
            }
            None => Err(self.error(ErrorKind::Truncated { needed: 1 })),
        }
    }

    /// Consumes the next byte if it equals `expected`.
    #[inline(always)]
    pub fn eat_byte(&mut self, expected: u8) -> bool {
        match self.rest.split_first() {
            Some((&b, tail)) if b == expected => {
                self.rest = tail;
                true
            }
            _ => false,
        }
    }

    /// Reads a varint in its shortest form.
    #[inline(always)]
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        match *self.rest {
            [b, ref tail @ ..] if b < 0x80 => {
                self.rest = tail;
                Ok(u64::from(b))
            }
            [b0, b1, ref tail @ ..] if b1 < 0x80 && b1 != 0 => {
                self.rest = tail;
                Ok(u64::from(b0 & 0x7f) | u64::from(b1) << 7)
            }
            [b0, b1, b2, ref tail @ ..] if b1 >= 0x80 && b2 < 0x80 && b2 != 0 => {
                self.rest = tail;
                Ok(u64::from(b0 & 0x7f) | u64::from(b1 & 0x7f) << 7 | u64::from(b2) << 14)
            }
            [b0, b1, b2, b3, ref tail @ ..] if b1 & b2 >= 0x80 && b3 < 0x80 && b3 != 0 => {
                self.rest = tail;
                Ok(u64::from(b0 & 0x7f)
                    | u64::from(b1 & 0x7f) << 7
                    | u64::from(b2 & 0x7f) << 14
                    | u64::from(b3) << 21)
            }
            [b0, b1, b2, b3, b4, ref tail @ ..] if b1 & b2 & b3 >= 0x80 && b4 < 0x80 && b4 != 0 => {
                self.rest = tail;
                Ok(u64::from(b0 & 0x7f)
                    | u64::from(b1 & 0x7f) << 7
                    | u64::from(b2 & 0x7f) << 14
                    | u64::from(b3 & 0x7f) << 21
                    | u64::from(b4) << 28)
            }
            _ => self.varint_multibyte(),
        }
    }

    /// Varints the inline patterns above did not match: six bytes and more, the last bytes
    /// of a buffer, and malformed ones. Decoded from the slice alone, out of line, so the
    /// reader never has its address taken and generated decoders keep it in registers.
    #[inline(always)]
    fn varint_multibyte(&mut self) -> Result<u64, DecodeError> {
        match varint_from_words(self.rest) {
            (value, len @ 1..) => {
                self.rest = self.rest.get(len..).unwrap_or_default();
                Ok(value)
            }
            _ => Err(self.error(varint_fault(self.rest))),
        }
    }

    /// The plain byte-by-byte decoder, for the tests' comparison.
    #[cfg(test)]
    fn varint_bytewise(&mut self) -> Result<u64, DecodeError> {
        match varint_bytewise(self.rest) {
            Ok((value, len)) => {
                self.rest = &self.rest[len..];
                Ok(value)
            }
            Err(kind) => Err(self.error(kind)),
        }
    }

    /// Reads a varint length and checks it against the bytes that remain.
    #[inline(always)]
    pub fn length(&mut self) -> Result<usize, DecodeError> {
        let start = self.offset();
        let len = self.varint()?;
        if len > self.rest.len() as u64 {
            let needed = usize::try_from(len).unwrap_or(usize::MAX) - self.rest.len();
            return Err(DecodeError::new(ErrorKind::Truncated { needed }, start));
        }
        Ok(len as usize)
    }

    /// Reads a length-delimited region (bytes, struct, list or map) and returns a reader over it.
    #[inline(always)]
    pub fn delimited(&mut self) -> Result<Reader<'a>, DecodeError> {
        let len = self.length()?;
        let region = self.take_within(len);
        Ok(Reader { rest: region, end: self.offset(), strict: self.strict })
    }

    /// Reads a field key: returns (field id, wire type).
    #[inline(always)]
    pub fn key(&mut self) -> Result<(i16, WireType), DecodeError> {
        let start = self.offset();
        let key = self.varint()?;
        let code = (key & 7) as u8;
        let Some(wire_type) = WireType::from_code(code) else {
            return Err(DecodeError::new(ErrorKind::UnknownWireType { code }, start));
        };
        let Ok(id) = u16::try_from(key >> 3) else {
            return Err(DecodeError::new(ErrorKind::FieldIdOutOfRange, start));
        };
        // Field ids are i16 in the IDL; the wire carries their 16-bit two's complement.
        Ok((id as i16, wire_type))
    }

    /// Reads a wire-type code (as in a list or map header).
    #[inline]
    pub fn wire_type(&mut self, code: u8) -> Result<WireType, DecodeError> {
        WireType::from_code(code).ok_or_else(|| {
            DecodeError::new(ErrorKind::UnknownWireType { code }, self.offset().saturating_sub(1))
        })
    }

    /// Reads a list header: element wire type and count. The count is checked against the
    /// bytes that remain (`count × minimum element size`), so nothing sized by it can
    /// outgrow the input.
    #[inline]
    pub fn list_header(&mut self) -> Result<(WireType, usize), DecodeError> {
        let start = self.offset();
        let header = self.byte()?;
        let Some(element_type) = WireType::from_code(header & 0x0f) else {
            return Err(DecodeError::new(
                ErrorKind::UnknownWireType { code: header & 0x0f },
                start,
            ));
        };
        let count = if header >> 4 == 15 {
            let count = self.varint()?;
            if count < 15 {
                return Err(DecodeError::new(ErrorKind::CountNotMinimal, start));
            }
            count
        } else {
            u64::from(header >> 4)
        };
        let count = self.check_count(start, count, element_type.min_len())?;
        Ok((element_type, count))
    }

    /// Reads a map header: key and value wire types and the entry count (checked as for
    /// lists).
    #[inline]
    pub fn map_header(&mut self) -> Result<(WireType, WireType, usize), DecodeError> {
        let start = self.offset();
        let types = self.byte()?;
        let code = |c: u8| {
            WireType::from_code(c)
                .ok_or_else(|| DecodeError::new(ErrorKind::UnknownWireType { code: c }, start))
        };
        let (key_type, value_type) = (code(types >> 4)?, code(types & 0x0f)?);
        let count = self.varint()?;
        let count = self.check_count(start, count, key_type.min_len() + value_type.min_len())?;
        Ok((key_type, value_type, count))
    }

    #[inline]
    fn check_count(&self, header: usize, count: u64, min_len: usize) -> Result<usize, DecodeError> {
        let remaining = self.rest.len();
        match usize::try_from(count) {
            Ok(n) if n.checked_mul(min_len).is_some_and(|need| need <= remaining) => Ok(n),
            _ => {
                Err(DecodeError::new(ErrorKind::CountExceedsRemaining { count, remaining }, header))
            }
        }
    }

    /// Runs `step`, then returns a reader over exactly the bytes it consumed.
    #[inline]
    pub fn region(
        &mut self,
        step: impl FnOnce(&mut Self) -> Result<(), DecodeError>,
    ) -> Result<Reader<'a>, DecodeError> {
        let (rest, offset) = (self.rest, self.offset());
        step(self)?;
        let consumed = rest.len() - self.rest.len();
        Ok(self.sub(&rest[..consumed], offset))
    }

    /// Steps over one value of `wire_type` without interpreting it. Strings and structs
    /// are skipped by their length; lists and maps element by element, entering at most
    /// `depth_left` levels of nested containers.
    pub fn skip(&mut self, wire_type: WireType, depth_left: u16) -> Result<(), DecodeError> {
        match wire_type {
            WireType::Varint => self.varint().map(drop),
            WireType::Fixed64 => self.take(8).map(drop),
            WireType::Fixed32 => self.take(4).map(drop),
            WireType::Bytes => self.delimited().map(drop),
            WireType::Struct => self.skip_struct(depth_left),
            WireType::List => {
                let inner = self.descend(depth_left)?;
                let (element_type, count) = self.list_header()?;
                self.skip_elements(element_type, count, inner)
            }
            WireType::Map => {
                let inner = self.descend(depth_left)?;
                let (key_type, value_type, count) = self.map_header()?;
                (0..count).try_for_each(|_| {
                    self.skip(key_type, inner)?;
                    self.skip(value_type, inner)
                })
            }
        }
    }

    /// Steps over `count` values of `element_type`.
    #[inline]
    pub fn skip_elements(
        &mut self,
        element_type: WireType,
        count: usize,
        depth_left: u16,
    ) -> Result<(), DecodeError> {
        match element_type {
            // `count` was checked against the remaining bytes, so this cannot overflow.
            WireType::Fixed64 | WireType::Fixed32 => {
                self.take(count * element_type.min_len()).map(drop)
            }
            WireType::Bytes => (0..count).try_for_each(|_| self.delimited().map(drop)),
            WireType::Struct => (0..count).try_for_each(|_| self.skip_struct(depth_left)),
            WireType::Varint => (0..count).try_for_each(|_| self.varint().map(drop)),
            WireType::List | WireType::Map => {
                (0..count).try_for_each(|_| self.skip(element_type, depth_left))
            }
        }
    }

    /// Steps over a struct value: by its length under lazy validation; under strict
    /// validation its body is walked field by field, one level deeper, as a schema-less
    /// reader would (so both modes find the same errors in the same order).
    #[inline]
    fn skip_struct(&mut self, depth_left: u16) -> Result<(), DecodeError> {
        if !self.strict {
            return self.delimited().map(drop);
        }
        let inner = self.descend(depth_left)?;
        let mut body = self.delimited()?;
        while !body.is_empty() {
            let (_, wire_type) = body.key()?;
            body.skip(wire_type, inner)?;
        }
        Ok(())
    }

    /// Enters one nesting level: the levels left below it, or an error at the limit.
    #[inline]
    pub fn descend(&self, depth_left: u16) -> Result<u16, DecodeError> {
        depth_left.checked_sub(1).ok_or_else(|| self.error(ErrorKind::DepthLimitExceeded))
    }

    // Typed scalar reads shared by fields and container elements.

    /// A bool (varint 0 or 1).
    #[inline(always)]
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        let start = self.offset();
        match self.varint()? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(DecodeError::new(ErrorKind::InvalidBool { value }, start)),
        }
    }

    /// An unsigned integer that must fit in `max`.
    #[inline(always)]
    pub fn unsigned(&mut self, max: u64) -> Result<u64, DecodeError> {
        let start = self.offset();
        let v = self.varint()?;
        if v > max {
            return Err(DecodeError::new(ErrorKind::IntegerOutOfRange { value: v }, start));
        }
        Ok(v)
    }

    /// A zigzag-encoded signed integer that must lie in `min..=max`.
    #[inline(always)]
    pub fn signed(&mut self, min: i64, max: i64) -> Result<i64, DecodeError> {
        let start = self.offset();
        let raw = self.varint()?;
        let v = zigzag_decode(raw);
        if v < min || v > max {
            return Err(DecodeError::new(ErrorKind::IntegerOutOfRange { value: raw }, start));
        }
        Ok(v)
    }

    /// A little-endian f64.
    #[inline(always)]
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// A little-endian f32.
    #[inline(always)]
    pub fn f32(&mut self) -> Result<f32, DecodeError> {
        Ok(f32::from_le_bytes(self.array()?))
    }

    /// Length-prefixed bytes, borrowed.
    #[inline(always)]
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.length()?;
        Ok(self.take_within(len))
    }

    /// Takes `len` bytes, which [`Reader::length`] has just checked are there.
    #[inline(always)]
    fn take_within(&mut self, len: usize) -> &'a [u8] {
        let (head, tail) = self.rest.split_at(len.min(self.rest.len()));
        self.rest = tail;
        head
    }

    /// A length-prefixed UTF-8 string, borrowed.
    #[inline(always)]
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.length()?;
        let bytes = self.take_within(len);
        crate::utf8::validate(bytes).map_err(|e| {
            DecodeError::new(ErrorKind::InvalidUtf8, self.offset() - len + e.valid_up_to())
        })
    }

    /// A 16-byte uuid, carried as length-prefixed bytes.
    #[inline(always)]
    pub fn uuid(&mut self) -> Result<[u8; 16], DecodeError> {
        let start = self.offset();
        let bytes = self.bytes()?;
        <[u8; 16]>::try_from(bytes)
            .map_err(|_| DecodeError::new(ErrorKind::InvalidUuidLength { len: bytes.len() }, start))
    }
}

/// Varints of up to 8 bytes (in practice 6 to 8: hashes, large ids; shorter ones are matched
/// inline by [`Reader::varint`]) in one 8-byte load: find the first byte without a
/// continuation bit, then pack the 7-bit groups with three shift-and-mask steps instead of
/// a branch per byte. Returns the value and its length, or length 0 for input that is not a
/// valid varint ([`varint_fault`] says why): a pair comes back in two registers where a
/// `Result` would go through memory.
#[inline(never)]
fn varint_from_words(rest: &[u8]) -> (u64, usize) {
    // The last field of a struct usually ends its region with fewer than 8 bytes left:
    // 4 to 7 bytes are assembled from two overlapping 4-byte loads (the bytes above them
    // zero, so a varint running past the end is seen as too long below).
    let word = match rest.first_chunk::<8>() {
        Some(word) => Some(u64::from_le_bytes(*word)),
        None => match rest.len() {
            n @ 4..=7 => match (rest.first_chunk::<4>(), rest.last_chunk::<4>()) {
                (Some(low), Some(high)) => {
                    let (low, high) = (u32::from_le_bytes(*low), u32::from_le_bytes(*high));
                    Some(u64::from(low) | u64::from(high) << (8 * (n - 4)))
                }
                _ => None,
            },
            _ => None,
        },
    };
    if let Some(word) = word {
        let stops = !word & 0x8080_8080_8080_8080;
        let len = (stops.trailing_zeros() / 8 + 1) as usize;
        if stops != 0 && len <= rest.len() {
            // `len` is 1..=8 here.
            let kept = word & (u64::MAX >> (64 - 8 * len));
            if len > 1 && kept >> (8 * (len - 1)) == 0 {
                return (0, 0);
            }
            let x = kept & 0x7f7f_7f7f_7f7f_7f7f;
            let x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
            let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
            let x = (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4);
            return (x, len);
        }
    }
    match varint_bytewise(rest) {
        Ok((value, len)) => (value, len),
        Err(_) => (0, 0),
    }
}

/// Why `rest` does not start with a valid varint (the slow path after
/// [`varint_from_words`] said it does not).
#[cold]
#[inline(never)]
fn varint_fault(rest: &[u8]) -> ErrorKind {
    match varint_bytewise(rest) {
        Err(kind) => kind,
        // Unreachable while both decoders agree (the proptest below checks they do).
        Ok(_) => ErrorKind::VarintNotMinimal,
    }
}

/// The general varint decoder: 9- and 10-byte values and the last bytes of a buffer.
#[inline(never)]
fn varint_bytewise(rest: &[u8]) -> Result<(u64, usize), ErrorKind> {
    let mut value = 0u64;
    for (i, &b) in rest.iter().enumerate().take(10) {
        let low = u64::from(b & 0x7f);
        if i == 9 && b > 1 {
            return Err(ErrorKind::VarintOverflow);
        }
        value |= low << (7 * i);
        if b < 0x80 {
            if b == 0 && i > 0 {
                return Err(ErrorKind::VarintNotMinimal);
            }
            return Ok((value, i + 1));
        }
    }
    if rest.len() >= 10 {
        Err(ErrorKind::VarintOverflow)
    } else {
        Err(ErrorKind::Truncated { needed: 1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_varint(bytes: &[u8]) -> Result<u64, DecodeError> {
        Reader::new(bytes).varint()
    }

    proptest::proptest! {
        /// Every fast path (one to three bytes inline, four to eight in one word) agrees with
        /// the plain byte-by-byte decoder on value, consumed length and error, for any bytes.
        #[test]
        fn varint_fast_paths_agree_with_the_bytewise_decoder(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..14),
            high in proptest::collection::vec(0x80u8..=0xff, 0..10),
        ) {
            for input in [bytes.clone(), [high.clone(), bytes.clone()].concat()] {
                let mut fast = Reader::new(&input);
                let mut plain = Reader::new(&input);
                proptest::prop_assert_eq!(fast.varint(), plain.varint_bytewise());
                proptest::prop_assert_eq!(fast.offset(), plain.offset());
            }
        }
    }

    #[test]
    fn varint_accepts_shortest_forms_only() {
        assert_eq!(read_varint(&[0x00]), Ok(0));
        assert_eq!(read_varint(&[0x96, 0x01]), Ok(150));
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Ok(u64::MAX)
        );
        assert_eq!(read_varint(&[0x80, 0x00]).unwrap_err().kind(), ErrorKind::VarintNotMinimal);
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
                .unwrap_err()
                .kind(),
            ErrorKind::VarintOverflow
        );
        assert_eq!(read_varint(&[0x80; 11]).unwrap_err().kind(), ErrorKind::VarintOverflow);
        assert_eq!(read_varint(&[0x80]).unwrap_err().kind(), ErrorKind::Truncated { needed: 1 });
        assert_eq!(read_varint(&[]).unwrap_err().kind(), ErrorKind::Truncated { needed: 1 });
    }

    #[test]
    fn offsets_are_relative_to_the_message() {
        let msg = [0x01, 0x02, 0x05, 0xff];
        let mut r = Reader::new(&msg);
        r.take(2).unwrap();
        let err = r.bytes().unwrap_err();
        assert_eq!(err.offset(), 2);
        assert_eq!(err.kind(), ErrorKind::Truncated { needed: 4 });
    }

    #[test]
    fn key_rejects_reserved_wire_type() {
        let err = Reader::new(&[0x0f]).key().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownWireType { code: 7 });
    }

    #[test]
    fn negative_field_ids_round_trip_through_the_key() {
        let mut buf = Vec::new();
        crate::varint::put_varint(&mut buf, (u64::from(-3i16 as u16) << 3) | 3);
        assert_eq!(Reader::new(&buf).key(), Ok((-3, WireType::Bytes)));
    }
}
