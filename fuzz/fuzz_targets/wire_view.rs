//! Generated views over arbitrary bytes: no panic, every deferred element walked, stable
//! round trips, and allocation bounded by the input (owned conversion excluded: it builds
//! values the input describes).
#![no_main]
use ferry_fuzz::counting_alloc::{allocated_during, Counting};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: Counting = Counting;

fuzz_target!(|data: &[u8]| {
    ferry_fuzz::walk_generated_views(data);
    // Views themselves borrow: decoding one allocates nothing.
    let bytes = allocated_during(|| {
        let _ = ferry_runtime::wire::decode_view::<
            ferry_idlc_gen_tests::everything::everything::views::Containers<'_>,
        >(data);
    });
    assert_eq!(bytes, 0, "a view decode allocated {bytes} bytes");
});
