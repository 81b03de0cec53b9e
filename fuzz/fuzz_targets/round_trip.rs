//! encode → decode → encode is the identity on generated types, starting from any value a
//! decoder accepts.
#![no_main]
use ferry_runtime::wire::{Encode, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    use ferry_idlc_gen_tests::everything::everything::{Containers, Scalars};
    if let Ok(v) = Scalars::decode(data) {
        let once = v.encode_to_vec();
        assert_eq!(once.len(), v.encoded_len());
        assert_eq!(Scalars::decode(&once).expect("decodes").encode_to_vec(), once);
    }
    if let Ok(v) = Containers::decode(data) {
        let once = v.encode_to_vec();
        assert_eq!(once.len(), v.encoded_len());
        assert_eq!(Containers::decode(&once).expect("decodes").encode_to_vec(), once);
    }
});
