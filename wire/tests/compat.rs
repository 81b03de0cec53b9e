//! Schema evolution: old readers accept new writers and new readers accept old writers.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.
mod common;

use common::all_types::{PersonV1, PersonV2, PersonV2View, Point};
use ferry_wire::{decode_view, Encode, Message};

fn v2() -> PersonV2 {
    PersonV2 {
        name: "grace".into(),
        age: 85,
        email: Some("grace@example.org".into()),
        nicknames: vec!["amazing".into(), "grandma COBOL".into()],
        home: Some(Point { x: -77, y: 38 }),
    }
}

#[test]
fn old_reader_skips_fields_added_by_a_new_writer() {
    let bytes = v2().encode_to_vec();
    let old = PersonV1::decode(&bytes).unwrap();
    assert_eq!(old, PersonV1 { name: "grace".into(), age: 85 });
}

#[test]
fn new_reader_fills_defaults_for_fields_an_old_writer_lacks() {
    let bytes = PersonV1 { name: "alan".into(), age: 41 }.encode_to_vec();
    let new = PersonV2::decode(&bytes).unwrap();
    assert_eq!(new, PersonV2 { name: "alan".into(), age: 41, ..PersonV2::default() });
    let view: PersonV2View<'_> = decode_view(&bytes).unwrap();
    assert!(view.email.is_none() && view.nicknames.is_empty() && view.home.is_none());
}

#[test]
fn optional_fields_distinguish_absent_from_default() {
    let mut with_empty = v2();
    with_empty.email = Some(String::new());
    let mut without = v2();
    without.email = None;
    assert_eq!(PersonV2::decode(&with_empty.encode_to_vec()).unwrap().email, Some(String::new()));
    assert_eq!(PersonV2::decode(&without.encode_to_vec()).unwrap().email, None);
}

#[test]
fn fields_may_arrive_in_any_order_and_the_last_occurrence_wins() {
    let first = PersonV1 { name: "first".into(), age: 1 }.encode_to_vec();
    let second = PersonV1 { name: "second".into(), age: 2 }.encode_to_vec();
    let mut both = second.clone();
    both.extend_from_slice(&first);
    // Fields of `first` follow those of `second`: a reader keeps the later values.
    assert_eq!(PersonV1::decode(&both).unwrap(), PersonV1 { name: "first".into(), age: 1 });
}

#[test]
fn a_changed_field_type_is_an_error_not_a_misread() {
    // PersonV1's field 2 is i32; a writer that changed it to string is refused with the field
    // id and both wire types, never silently misread.
    let mut bytes = Vec::new();
    let mut w = ferry_wire::Writer::new(&mut bytes);
    w.key(2, ferry_wire::WireType::Bytes);
    w.str("eighty-five");
    let err = PersonV1::decode(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field 2 has wire type bytes, but the schema expects varint at byte 0"
    );
}
