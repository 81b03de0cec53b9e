//! Encoding into a caller-owned, reusable buffer. Nothing here allocates except the
//! buffer's own growth, so a buffer reused across messages stops allocating at all.

use crate::varint::{put_key_and_varint, put_varint, varint_len, zigzag_encode};
use crate::WireType;

/// Something that encodes as a struct body (a message, or a nested struct's contents).
pub trait Encode {
    /// Appends this value's fields to `w`.
    fn encode(&self, w: &mut Writer<'_>);
    /// Exactly how many bytes [`Encode::encode`] appends.
    fn encoded_len(&self) -> usize;

    /// Encodes into a new vector of exactly the right capacity.
    fn encode_to_vec(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.encoded_len());
        self.encode(&mut Writer::new(&mut buf));
        buf
    }
}

/// Appends encoded values to a `Vec<u8>`.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut Vec<u8>,
}

impl<'b> Writer<'b> {
    /// A writer appending to `buf` (existing contents are kept).
    #[inline]
    pub fn new(buf: &'b mut Vec<u8>) -> Self {
        Writer { buf }
    }

    /// Bytes in the underlying buffer so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when the underlying buffer is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Writes a field key.
    #[inline]
    pub fn key(&mut self, id: i16, wire_type: WireType) {
        put_varint(self.buf, key_code(id, wire_type));
    }

    /// Writes a varint field: its key, then `v`. Generated encoders use it for integer,
    /// bool and enum fields, so that key and value go in one append.
    #[inline(always)]
    pub fn varint_field(&mut self, id: i16, v: u64) {
        let key = key_code(id, WireType::Varint);
        if key < 0x80 {
            put_key_and_varint(self.buf, key as u8, v);
        } else {
            put_varint(self.buf, key);
            put_varint(self.buf, v);
        }
    }

    /// Writes a signed integer or enum field (zigzag-encoded) with its key.
    #[inline(always)]
    pub fn signed_field(&mut self, id: i16, v: i64) {
        self.varint_field(id, zigzag_encode(v));
    }

    /// Writes a bool field with its key.
    #[inline(always)]
    pub fn bool_field(&mut self, id: i16, v: bool) {
        self.varint_field(id, u64::from(v));
    }

    /// Writes a length-prefixed field (string, binary, uuid): its key, its length and the
    /// bytes, the key and a one-byte length in one append.
    #[inline(always)]
    pub fn bytes_field(&mut self, id: i16, v: &[u8]) {
        let key = key_code(id, WireType::Bytes);
        if key < 0x80 && v.len() < 0x80 {
            self.buf.extend_from_slice(&[key as u8, v.len() as u8]);
            self.buf.extend_from_slice(v);
        } else {
            put_varint(self.buf, key);
            self.bytes(v);
        }
    }

    /// Writes a raw varint.
    #[inline]
    pub fn varint(&mut self, v: u64) {
        put_varint(self.buf, v);
    }

    /// Runs `body`, then prefixes what it wrote with its length as a varint.
    ///
    /// One byte is reserved up front; bodies of 128 bytes or more are shifted right by the
    /// extra length bytes (one `memmove`), so no length needs computing in advance.
    #[inline]
    pub fn delimited(&mut self, body: impl FnOnce(&mut Writer<'_>)) {
        let mark = self.buf.len();
        self.buf.push(0);
        body(&mut Writer { buf: self.buf });
        let len = self.buf.len() - mark - 1;
        if len < 0x80 {
            self.buf[mark] = len as u8;
        } else {
            self.patch_long_length(mark, len);
        }
    }

    #[inline(never)]
    fn patch_long_length(&mut self, mark: usize, len: usize) {
        let prefix = varint_len(len as u64);
        let end = self.buf.len();
        self.buf.resize(end + prefix - 1, 0);
        self.buf.copy_within(mark + 1..end, mark + prefix);
        let mut tmp = Vec::new();
        // `tmp` never allocates beyond 10 bytes; the long path is rare enough to not matter.
        put_varint(&mut tmp, len as u64);
        self.buf[mark..mark + prefix].copy_from_slice(&tmp);
    }

    // Values: the encoding after a key, or of a container element.

    /// A bool.
    #[inline]
    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    /// Any signed integer (i8 … i64) or enum value, zigzag-encoded.
    #[inline]
    pub fn signed(&mut self, v: i64) {
        put_varint(self.buf, zigzag_encode(v));
    }

    /// Any unsigned integer (u8 … u64).
    #[inline]
    pub fn unsigned(&mut self, v: u64) {
        put_varint(self.buf, v);
    }

    /// A double, 8 bytes little-endian.
    #[inline]
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// An f32, 4 bytes little-endian.
    #[inline]
    pub fn f32(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Length-prefixed bytes.
    #[inline(always)]
    pub fn bytes(&mut self, v: &[u8]) {
        put_varint(self.buf, v.len() as u64);
        self.buf.extend_from_slice(v);
    }

    /// A length-prefixed UTF-8 string.
    #[inline]
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    /// A uuid: 16 length-prefixed bytes.
    #[inline]
    pub fn uuid(&mut self, v: &[u8; 16]) {
        self.bytes(v);
    }

    /// A nested struct: its length, then its fields.
    #[inline]
    pub fn message<M: Encode + ?Sized>(&mut self, v: &M) {
        self.delimited(|w| v.encode(w));
    }

    /// A list or set header (`count` and element wire type); the caller then writes
    /// exactly `count` values of `element_type`.
    #[inline]
    pub fn list_header(&mut self, element_type: WireType, count: usize) {
        if count < 15 {
            self.buf.push(((count as u8) << 4) | element_type as u8);
        } else {
            self.buf.push(0xf0 | element_type as u8);
            put_varint(self.buf, count as u64);
        }
    }

    /// A map header (key and value wire types, `count`); the caller then writes exactly
    /// `count` key/value pairs.
    #[inline]
    pub fn map_header(&mut self, key_type: WireType, value_type: WireType, count: usize) {
        self.buf.push(((key_type as u8) << 4) | value_type as u8);
        put_varint(self.buf, count as u64);
    }
}

/// The key of field `id` with `wire_type`: `(id as u16) << 3 | wire_type`.
#[inline]
pub const fn key_code(id: i16, wire_type: WireType) -> u64 {
    // `as` conversions: i16 → u16 is the documented two's-complement mapping.
    ((id as u16 as u64) << 3) | wire_type as u64
}

/// Exact encoded sizes, for [`Encode::encoded_len`] implementations.
pub mod size {
    use super::key_code;
    use crate::varint::{varint_len, zigzag_encode};
    use crate::WireType;

    /// A key.
    #[inline]
    pub fn key(id: i16, wire_type: WireType) -> usize {
        varint_len(key_code(id, wire_type))
    }
    /// A signed integer or enum value.
    #[inline]
    pub fn signed(v: i64) -> usize {
        varint_len(zigzag_encode(v))
    }
    /// An unsigned integer.
    #[inline]
    pub fn unsigned(v: u64) -> usize {
        varint_len(v)
    }
    /// Length-prefixed bytes or string of `len` bytes.
    #[inline]
    pub fn bytes(len: usize) -> usize {
        varint_len(len as u64) + len
    }
    /// A delimited body (nested struct) of `body` bytes.
    #[inline]
    pub fn delimited(body: usize) -> usize {
        varint_len(body as u64) + body
    }
    /// A list of `count` elements whose encodings total `elements` bytes.
    #[inline]
    pub fn list(count: usize, elements: usize) -> usize {
        let header = if count < 15 { 1 } else { 1 + varint_len(count as u64) };
        header + elements
    }
    /// A map of `count` entries whose keys and values total `pairs` bytes.
    #[inline]
    pub fn map(count: usize, pairs: usize) -> usize {
        1 + varint_len(count as u64) + pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field written in one call equals its key followed by its value, whichever path
    /// (one-byte key and short value, or not) the call takes.
    #[test]
    fn field_calls_match_key_then_value() {
        for id in [0i16, 1, 15, 16, 300, -1, i16::MIN, i16::MAX] {
            for v in [0i64, -1, 63, 64, 1 << 20, i64::MIN, i64::MAX] {
                let (mut joint, mut apart) = (Vec::new(), Vec::new());
                Writer::new(&mut joint).signed_field(id, v);
                let mut w = Writer::new(&mut apart);
                w.key(id, WireType::Varint);
                w.signed(v);
                assert_eq!(joint, apart, "signed field {id} = {v}");
            }
            for v in [false, true] {
                let (mut joint, mut apart) = (Vec::new(), Vec::new());
                Writer::new(&mut joint).bool_field(id, v);
                let mut w = Writer::new(&mut apart);
                w.key(id, WireType::Varint);
                w.bool(v);
                assert_eq!(joint, apart, "bool field {id} = {v}");
            }
            for len in [0usize, 1, 127, 128, 300] {
                let bytes = vec![0x5a; len];
                let (mut joint, mut apart) = (Vec::new(), Vec::new());
                Writer::new(&mut joint).bytes_field(id, &bytes);
                let mut w = Writer::new(&mut apart);
                w.key(id, WireType::Bytes);
                w.bytes(&bytes);
                assert_eq!(joint, apart, "bytes field {id}, {len} bytes");
            }
        }
    }

    #[test]
    fn bytes_of_every_short_length_are_appended_whole() {
        for n in 0..=40usize {
            let v: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
            let mut buf = vec![0xaa, 0xbb];
            Writer::new(&mut buf).bytes(&v);
            assert_eq!(buf[..2], [0xaa, 0xbb], "length {n}: what was there is kept");
            assert_eq!(buf[2], n as u8, "length {n}: prefix");
            assert_eq!(buf[3..], v[..], "length {n}: contents");
        }
    }

    #[test]
    fn long_bodies_get_their_length_shifted_in() {
        for body_len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
            let mut buf = vec![0xaa];
            Writer::new(&mut buf).delimited(|w| {
                for i in 0..body_len {
                    w.buf.push(i as u8);
                }
            });
            assert_eq!(buf.len(), 1 + size::delimited(body_len));
            let mut r = crate::Reader::new(&buf[1..]);
            let body = r.bytes().unwrap();
            assert_eq!(body.len(), body_len);
            assert!(body.iter().enumerate().all(|(i, &b)| b == i as u8));
        }
    }
}
