//! Property tests: round trips for arbitrary values of every type, and arbitrary bytes never
//! panic any decoder.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.
mod common;

use common::all_types::*;
use common::payload::{Item, Order, OrderView};
use ferry_wire::{decode_view, dynamic, DecodeOptions, Encode, Message, Reader, WireType};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

fn point() -> impl Strategy<Value = Point> {
    (any::<i32>(), any::<i32>()).prop_map(|(x, y)| Point { x, y })
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        point().prop_map(Shape::Point),
        any::<u64>().prop_map(|b| Shape::Radius(f64::from_bits(b))),
        ".*".prop_map(Shape::Label),
        Just(Shape::Unknown),
    ]
}

prop_compose! {
    fn all_types()(
        scalars in (any::<Option<bool>>(), any::<Option<i8>>(), any::<Option<i16>>(), any::<Option<i32>>(),
                    any::<Option<i64>>(), any::<Option<u8>>(), any::<Option<u16>>(), any::<Option<u32>>(),
                    any::<Option<u64>>()),
        floats in (any::<Option<u32>>(), any::<Option<u64>>()),
        bytes in (proptest::option::of(".*"), proptest::option::of(vec(any::<u8>(), 0..300)),
                  any::<Option<[u8; 16]>>(), any::<Option<i32>>()),
        lists in (proptest::option::of(vec(any::<i32>(), 0..40)), proptest::option::of(vec(".{0,5}", 0..20)),
                  proptest::option::of(btree_map(".{0,8}", any::<i64>(), 0..10)),
                  proptest::option::of(point()), proptest::option::of(vec(vec(any::<i32>(), 0..5), 0..5))),
        nested in (proptest::option::of(shape()),
                   proptest::option::of(btree_map(any::<i32>(), vec(point(), 0..3), 0..4)),
                   proptest::option::of(vec(any::<u64>(), 0..20))),
    ) -> AllTypes {
        AllTypes {
            flag: scalars.0, tiny: scalars.1, small: scalars.2, medium: scalars.3, large: scalars.4,
            ubyte: scalars.5, ushort: scalars.6, uint: scalars.7, ulong: scalars.8,
            single: floats.0.map(f32::from_bits), real: floats.1.map(f64::from_bits),
            text: bytes.0, blob: bytes.1, id: bytes.2, color: bytes.3.map(Color),
            numbers: lists.0, names: lists.1, counts: lists.2, point: lists.3, matrix: lists.4,
            shape: nested.0, groups: nested.1,
            reals: nested.2.map(|v| v.into_iter().map(f64::from_bits).collect()),
        }
    }
}

prop_compose! {
    fn order()(items in vec((any::<u64>(), any::<u32>(), any::<u64>(), ".{0,12}"), 0..30),
               tags in vec(".{0,10}", 0..8), payload in vec(any::<u8>(), 0..600),
               id in any::<u64>(), customer in ".{0,30}", amount_cents in any::<i64>()) -> Order {
        Order {
            id, customer, amount_cents, tags, payload,
            items: items.into_iter().map(|(sku, qty, price, note)| Item { sku, qty, price: f64::from_bits(price), note }).collect(),
        }
    }
}

/// The generic round-trip property (prost's shape): the length is exact, the encoding
/// decodes to an equal value (compared through its canonical re-encoding, so NaN payloads
/// count), and the schema-less walker consumes every byte and re-encodes identically.
fn round_trip<M: Message + std::fmt::Debug>(value: &M) -> Result<(), TestCaseError> {
    let bytes = value.encode_to_vec();
    prop_assert_eq!(bytes.len(), value.encoded_len());
    let decoded = M::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(decoded.encode_to_vec(), bytes.clone());
    prop_assert_eq!(format!("{decoded:?}"), format!("{value:?}"));
    let walked = dynamic::decode(&bytes, &DecodeOptions::DEFAULT)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(walked.encode_to_vec(), bytes);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn all_types_round_trip(value in all_types()) {
        round_trip(&value)?;
    }

    #[test]
    fn orders_round_trip(value in order()) {
        round_trip(&value)?;
        let bytes = value.encode_to_vec();
        let view: OrderView<'_> = decode_view(&bytes).unwrap();
        prop_assert_eq!(view.items.len(), value.items.len());
    }

    #[test]
    fn recursive_round_trip(depth in 1usize..60, values in vec(any::<i32>(), 60)) {
        let mut node = Node { value: values[0], next: None };
        for v in values.iter().take(depth).skip(1) {
            node = Node { value: *v, next: Some(Box::new(node)) };
        }
        round_trip(&node)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_any_decoder(bytes in vec(any::<u8>(), 0..200)) {
        let _ = AllTypes::decode(&bytes);
        let _ = Order::decode(&bytes);
        let _ = Node::decode(&bytes);
        let _ = Shape::decode(&bytes);
        let _ = Required::decode(&bytes);
        let _ = dynamic::decode(&bytes, &DecodeOptions::DEFAULT);
        // A view that decodes must also survive iterating everything it defers.
        if let Ok(view) = decode_view::<OrderView<'_>>(&bytes) {
            for item in view.items { let _ = item; }
            for tag in view.tags { let _ = tag; }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_skipper(bytes in vec(any::<u8>(), 0..200), code in 0u8..7, depth in 0u16..70) {
        let mut r = Reader::new(&bytes);
        let wire_type = WireType::from_code(code).unwrap();
        if r.skip(wire_type, depth).is_ok() {
            prop_assert!(r.offset() <= bytes.len());
        }
    }

    /// Mutating a valid encoding (the fuzzers' favourite input) errs cleanly or decodes.
    #[test]
    fn mutated_messages_never_panic(value in all_types(), flips in vec((any::<usize>(), any::<u8>()), 1..4)) {
        let mut bytes = value.encode_to_vec();
        if !bytes.is_empty() {
            for (at, byte) in flips {
                let i = at % bytes.len();
                bytes[i] = byte;
            }
        }
        if let Ok(decoded) = AllTypes::decode(&bytes) {
            // Whatever decodes re-encodes to something that decodes to the same value.
            let again = decoded.encode_to_vec();
            prop_assert_eq!(AllTypes::decode(&again).unwrap().encode_to_vec(), again);
        }
    }
}

#[test]
fn errors_carry_offsets_inside_nested_values() {
    let mut value = AllTypes { matrix: Some(vec![vec![1], vec![2, 3]]), ..AllTypes::default() };
    let mut bytes = value.encode_to_vec();
    // Corrupt the last element into an over-long varint.
    let last = bytes.len() - 1;
    bytes[last] = 0x80;
    let err = AllTypes::decode(&bytes).unwrap_err();
    assert_eq!(err.offset(), last);
    value.matrix = None;
    assert!(AllTypes::decode(&value.encode_to_vec()).is_ok());
}

#[test]
fn allocation_is_bounded_by_the_input() {
    // A count that claims u32::MAX elements in a tiny message is refused before any
    // allocation sized by it: the error says how little input remained.
    let bytes = [0x85, 0x01, 0xf0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
    let err = AllTypes::decode(&bytes).unwrap_err();
    assert_eq!(err.kind().code(), "count_exceeds_remaining");
    assert_eq!(err.offset(), 2);
}
