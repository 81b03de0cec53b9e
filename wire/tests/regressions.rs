//! Inputs found by fuzzing, each a named test (kept before the fix, passing after it).
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.

use ferry_wire::{dynamic, DecodeOptions, Encode};

/// fuzz/skipper: `85 01 f0 00 …` decoded (a list count of 0 in the long header form) but
/// re-encoded in the short form, so the walker's byte-exact round trip failed. The long
/// form is now reserved for counts of 15 or more.
#[test]
fn fuzz_skipper_long_form_list_count_is_rejected() {
    let input = [0x85, 0x01, 0xf0, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x41];
    let err = dynamic::decode(&input, &DecodeOptions::DEFAULT).unwrap_err();
    assert_eq!((err.kind().code(), err.offset()), ("count_not_minimal", 2));
    // Whatever the walker accepts re-encodes exactly.
    let ok = [0x85, 0x01, 0x00];
    let v = dynamic::decode(&ok, &DecodeOptions::DEFAULT).unwrap();
    assert_eq!(v.encode_to_vec(), ok);
}

/// fuzz/skipper: 61 bytes of nested lists each claiming 14 elements made the schema-less
/// walker reserve 14 values at every level (20 KiB for 61 bytes) before finding the input
/// short. Reservations are now capped; the input still fails cleanly.
#[test]
fn fuzz_skipper_nested_counts_do_not_multiply_reservations() {
    let mut input = vec![0x15];
    input.extend(std::iter::repeat_n(0xe5, 60));
    let err = dynamic::decode(&input, &DecodeOptions::DEFAULT).unwrap_err();
    assert!(
        matches!(
            err.kind().code(),
            "truncated" | "depth_limit_exceeded" | "count_exceeds_remaining"
        ),
        "{err}"
    );
}
