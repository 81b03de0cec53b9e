//! LEB128 varints and zigzag mapping of signed integers.

/// Maps signed to unsigned so that small magnitudes stay small: 0, -1, 1, -2 → 0, 1, 2, 3.
#[inline]
pub fn zigzag_encode(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag_encode`].
#[inline]
pub fn zigzag_decode(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Number of bytes the varint encoding of `v` takes (1 to 10).
#[inline]
pub fn varint_len(v: u64) -> usize {
    // Each byte carries 7 bits; `| 1` makes 0 take one byte.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Appends the varint encoding of `v` to `buf`.
#[inline]
pub fn put_varint(buf: &mut Vec<u8>, v: u64) {
    if v < 0x80 {
        buf.push(v as u8);
        return;
    }
    if v >> 56 == 0 {
        put_varint_word(buf, v);
    } else {
        put_varint_long(buf, v);
    }
}

/// Up to eight bytes (`v` below 2^56), appended as one fixed-size word (a variable-length
/// `extend_from_slice` compiles to a `memcpy` call that cost more than the whole encode of a
/// small integer field).
#[inline]
fn put_varint_word(buf: &mut Vec<u8>, v: u64) {
    let (word, len) = varint_word(v);
    let end = buf.len() + len;
    buf.extend_from_slice(&word.to_le_bytes());
    buf.truncate(end);
}

/// The encoding of `v` (below 2^56) as the low bytes of a word, and its length: the 7-bit
/// groups spread into bytes with three shift-and-mask steps, the length taken from the
/// highest non-zero byte (no division by 7), the continuation bits set.
#[inline(always)]
fn varint_word(v: u64) -> (u64, usize) {
    let x = (v & 0x0000_0000_0fff_ffff) | ((v & 0x00ff_ffff_f000_0000) << 4);
    let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x0fff_c000_0fff_c000) << 2);
    let x = (x & 0x007f_007f_007f_007f) | ((x & 0x3f80_3f80_3f80_3f80) << 1);
    let len = 8 - (x | 1).leading_zeros() as usize / 8;
    let continuation = 0x8080_8080_8080_8080 & ((1u64 << (8 * (len - 1))) - 1);
    (x | continuation, len)
}

/// Appends a one-byte field key and then the varint `v`: one append of a fixed-size word
/// for values below 2^49 (seven varint bytes), so a scalar field costs one capacity check.
#[inline(always)]
pub fn put_key_and_varint(buf: &mut Vec<u8>, key: u8, v: u64) {
    if v < 0x80 {
        buf.extend_from_slice(&[key, v as u8]);
    } else if v >> 49 == 0 {
        let (word, len) = varint_word(v);
        let end = buf.len() + 1 + len;
        buf.extend_from_slice(&(u64::from(key) | word << 8).to_le_bytes());
        buf.truncate(end);
    } else {
        buf.push(key);
        put_varint(buf, v);
    }
}

#[inline(never)]
fn put_varint_long(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time encoder against the plain loop, at every length boundary.
    #[test]
    fn put_varint_matches_the_bytewise_encoding() {
        let mut values = vec![0u64, 1, u64::MAX, u64::MAX - 1];
        for bits in 1..64 {
            values.extend([(1u64 << bits) - 1, 1u64 << bits, (1u64 << bits) + 1]);
        }
        values.extend((0..10_000u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (i % 64)));
        for v in values {
            let (mut fast, mut plain) = (vec![0xaa], vec![0xaa]);
            put_varint(&mut fast, v);
            put_varint_long(&mut plain, v);
            assert_eq!(fast, plain, "{v:#x}");
            assert_eq!(fast.len() - 1, varint_len(v));
        }
    }

    /// A key and a value in one append equal the key's byte followed by the value's varint.
    #[test]
    fn key_and_varint_match_the_separate_encodings() {
        let mut values = vec![0u64, 0x7f, 0x80, u64::MAX];
        for bits in 1..64 {
            values.extend([(1u64 << bits) - 1, 1u64 << bits, (1u64 << bits) + 1]);
        }
        for v in values {
            for key in [0x00u8, 0x18, 0x7f] {
                let (mut joint, mut apart) = (vec![0xaa], vec![0xaa, key]);
                put_key_and_varint(&mut joint, key, v);
                put_varint_long(&mut apart, v);
                assert_eq!(joint, apart, "key {key:#x}, value {v:#x}");
            }
        }
    }

    #[test]
    fn zigzag_maps_small_magnitudes_to_small_codes() {
        let pairs = [
            (0i64, 0u64),
            (-1, 1),
            (1, 2),
            (-2, 3),
            (i64::MAX, u64::MAX - 1),
            (i64::MIN, u64::MAX),
        ];
        for (signed, code) in pairs {
            assert_eq!(zigzag_encode(signed), code);
            assert_eq!(zigzag_decode(code), signed);
        }
    }

    #[test]
    fn varint_len_matches_put_varint() {
        for shift in 0..64 {
            for v in [1u64 << shift, (1u64 << shift) - 1, (1u64 << shift) + 1] {
                let mut buf = Vec::new();
                put_varint(&mut buf, v);
                assert_eq!(buf.len(), varint_len(v), "value {v}");
            }
        }
        assert_eq!(varint_len(0), 1);
        assert_eq!(varint_len(u64::MAX), 10);
    }
}
