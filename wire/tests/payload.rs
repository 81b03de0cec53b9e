//! The benchmark payload round-trips through encode → view → owned.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.
mod common;
use common::payload::{sample_order, Order, OrderView};
use ferry_wire::{decode_view, dynamic, DecodeOptions, Encode, Message};

#[test]
fn payload_round_trips_and_has_the_documented_size() {
    let order = sample_order();
    let bytes = order.encode_to_vec();
    assert_eq!(bytes.len(), order.encoded_len());
    assert_eq!(bytes.len(), 571, "spec/wire.md quotes this size");
    let view: OrderView<'_> = decode_view(&bytes).unwrap();
    assert_eq!(view.customer, "customer-000042");
    assert_eq!(view.items.len(), 10);
    let first = view.items.iter().next().unwrap().unwrap();
    assert_eq!(first.note, "note-000");
    assert_eq!(Order::decode(&bytes).unwrap(), order);
    // Schema-less decoding sees the same structure and re-encodes byte-exactly.
    let dynamic = dynamic::decode(&bytes, &DecodeOptions::DEFAULT).unwrap();
    assert_eq!(dynamic.encode_to_vec(), bytes);
}

#[test]
fn absent_fields_view_as_their_idl_defaults() {
    let empty: [u8; 0] = [];
    let order = Order::decode(&empty).unwrap();
    assert_eq!(order, Order::default());
}
