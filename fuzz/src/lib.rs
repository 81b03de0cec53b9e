//! Shared pieces of the fuzz targets: an allocation-counting allocator, and the decoders
//! each target drives (so a target for another decoder, such as the C one, is a few lines).
// Only `counting_alloc` (a GlobalAlloc must be unsafe) opts back in.
#![deny(unsafe_code)]

pub mod counting_alloc;

use ferry_runtime::wire::{decode_view, dynamic, DecodeOptions, Message, View};

/// Decodes `data` as every generated view of the corpus and walks everything each defers.
pub fn walk_generated_views(data: &[u8]) {
    use ferry_idlc_gen_tests::everything::everything as e;
    use ferry_idlc_gen_tests::recursive::recursive as r;
    walk::<e::Scalars>(data);
    walk::<e::Containers>(data);
    walk::<e::Shape>(data);
    walk::<r::RecTree>(data);
    walk::<r::Expr>(data);
    walk::<r::CoRec>(data);
}

/// A view that decodes must convert to owned (which reads every field and element) and
/// the owned value must re-encode and decode to itself.
fn walk<M: Message + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(view) = decode_view::<M::View<'_>>(data) else { return };
    if let Ok(owned) = view.to_owned_value() {
        let again = owned.encode_to_vec();
        let back = M::decode(&again).expect("re-encoding of a decoded value must decode");
        // NaN payloads compare unequal; compare encodings instead.
        assert_eq!(back.encode_to_vec(), again, "round trip is stable");
    }
}

/// The schema-less walker: every success re-encodes to exactly the input.
pub fn check_dynamic(data: &[u8]) {
    if let Ok(value) = dynamic::decode(data, &DecodeOptions::DEFAULT) {
        assert_eq!(
            ferry_runtime::wire::Encode::encode_to_vec(&value),
            data,
            "canonical input re-encodes byte-exactly"
        );
    }
}
