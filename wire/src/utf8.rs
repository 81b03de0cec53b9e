//! UTF-8 validation of decoded strings: the only `unsafe` in `ferry-wire`.
//!
//! Why: on the listing benchmark (200 entries, 400 strings of 4–16 bytes) `core::str::from_utf8`
//! cost ~100 instructions per string under callgrind, a third of the whole decode; most
//! strings on the wire are short ASCII (names, keys, tags), which two word loads settle.
//! Everything else goes to the standard library's validator. Covered by the proptest below
//! (agreement with `core::str::from_utf8` on arbitrary bytes) and by every fuzz target that
//! decodes strings (`wire_view`, `round_trip`, `skipper`).
#![allow(unsafe_code)]

use core::str::Utf8Error;

/// Checks that `bytes` are UTF-8 and returns them as a `&str`, exactly as
/// `core::str::from_utf8` would.
#[inline(always)]
pub(crate) fn validate(bytes: &[u8]) -> Result<&str, Utf8Error> {
    if is_short_ascii(bytes) {
        // SAFETY: `is_short_ascii` returns true only when every byte is below 0x80, and a
        // sequence of ASCII bytes is valid UTF-8.
        return Ok(unsafe { core::str::from_utf8_unchecked(bytes) });
    }
    core::str::from_utf8(bytes)
}

/// True when `bytes` are at most 32 long and all ASCII. Lengths 17–32 take four overlapping
/// 8-byte loads, 8–16 two, 4–7 two overlapping 4-byte loads; longer strings are left to the
/// standard library, whose word-at-a-time ASCII path serves them (for 17–32 bytes its setup
/// cost ~100 instructions a string: file names with an extension are often that long).
#[inline(always)]
fn is_short_ascii(bytes: &[u8]) -> bool {
    const HIGH8: u64 = 0x8080_8080_8080_8080;
    const HIGH4: u32 = 0x8080_8080;
    let n = bytes.len();
    match n {
        0..=3 => bytes.iter().all(|&b| b < 0x80),
        4..=7 => {
            let (head, tail) = (word4(&bytes[..4]), word4(&bytes[n - 4..]));
            (head | tail) & HIGH4 == 0
        }
        8..=16 => {
            let (head, tail) = (word8(&bytes[..8]), word8(&bytes[n - 8..]));
            (head | tail) & HIGH8 == 0
        }
        17..=32 => {
            let head = word8(&bytes[..8]) | word8(&bytes[8..16]);
            let tail = word8(&bytes[n - 16..n - 8]) | word8(&bytes[n - 8..]);
            (head | tail) & HIGH8 == 0
        }
        _ => false,
    }
}

#[inline(always)]
fn word4(b: &[u8]) -> u32 {
    b.first_chunk::<4>().map_or(0, |w| u32::from_le_bytes(*w))
}

#[inline(always)]
fn word8(b: &[u8]) -> u64 {
    b.first_chunk::<8>().map_or(0, |w| u64::from_le_bytes(*w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn agrees_with_the_standard_library(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(validate(&bytes), core::str::from_utf8(&bytes));
        }

        #[test]
        fn agrees_on_mostly_ascii_input(
            bytes in proptest::collection::vec(prop_oneof![9 => 0u8..0x80, 1 => 0x80u8..=0xff], 0..40)
        ) {
            prop_assert_eq!(validate(&bytes), core::str::from_utf8(&bytes));
        }

        #[test]
        fn accepts_any_string(s in ".{0,20}") {
            prop_assert_eq!(validate(s.as_bytes()), Ok(s.as_str()));
        }
    }

    #[test]
    fn rejects_a_high_byte_at_every_position_of_every_short_length() {
        for n in 1..=34 {
            for at in 0..n {
                let mut bytes = vec![b'a'; n];
                bytes[at] = 0xff;
                assert!(validate(&bytes).is_err(), "length {n}, 0xff at {at}");
            }
        }
    }
}
