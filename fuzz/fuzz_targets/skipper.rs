//! The schema-less skipper and walker: no panic, offsets within the input, canonical inputs
//! re-encode byte-exactly, memory within a constant times the input.
#![no_main]
use ferry_fuzz::counting_alloc::{allocated_during, Counting};
use ferry_runtime::wire::{DecodeOptions, Reader, WireType};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: Counting = Counting;

fuzz_target!(|data: &[u8]| {
    if let Some((&code, rest)) = data.split_first() {
        if let Some(wt) = WireType::from_code(code % 8) {
            let mut r = Reader::new(rest);
            match r.skip(wt, 64) {
                Ok(()) => assert!(r.offset() <= rest.len()),
                Err(e) => {
                    assert!(e.offset() <= rest.len(), "error offset {} past the input", e.offset())
                }
            }
        }
    }
    let used = allocated_during(|| ferry_fuzz::check_dynamic(data));
    // Each value takes ≥ 1 input byte and a few dozen bytes of tree; vectors grow in steps:
    // the documented bound is 512 bytes per input byte.
    assert!(
        used <= 1024 + 512 * data.len(),
        "{used} bytes allocated for {} input bytes",
        data.len()
    );
    let _ = ferry_runtime::wire::dynamic::decode(
        data,
        &DecodeOptions { max_depth: 3, ..DecodeOptions::DEFAULT },
    );
});
