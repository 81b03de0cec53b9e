//! spec/vectors: every valid vector decodes to its value and re-encodes byte-exactly; every
//! invalid vector fails with its documented error code and offset.
//!
//! The vector files are generated from the tables below; `UPDATE_VECTORS=1 cargo test -p
//! ferry-wire --test vectors` rewrites them after a deliberate change.
#![allow(clippy::unwrap_used)] // Tests: a panic is how a failure is reported.
mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use common::all_types::*;
use common::payload::{sample_order, Order};
use ferry_wire::{dynamic, DecodeError, DecodeOptions, Encode, Message};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

fn unhex(s: &str) -> Vec<u8> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

/// A value of one of the vector schemas.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // a handful of test values; boxing would only add noise
enum Sample {
    AllTypes(AllTypes),
    Required(Required),
    Shape(Shape),
    Node(Node),
    PersonV1(PersonV1),
    PersonV2(PersonV2),
    Legacy(Legacy),
    Order(Order),
}

impl Sample {
    fn schema(&self) -> &'static str {
        match self {
            Sample::AllTypes(_) => "AllTypes",
            Sample::Required(_) => "Required",
            Sample::Shape(_) => "Shape",
            Sample::Node(_) => "Node",
            Sample::PersonV1(_) => "PersonV1",
            Sample::PersonV2(_) => "PersonV2",
            Sample::Legacy(_) => "Legacy",
            Sample::Order(_) => "Order",
        }
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Sample::AllTypes(v) => v.encode_to_vec(),
            Sample::Required(v) => v.encode_to_vec(),
            Sample::Shape(v) => v.encode_to_vec(),
            Sample::Node(v) => v.encode_to_vec(),
            Sample::PersonV1(v) => v.encode_to_vec(),
            Sample::PersonV2(v) => v.encode_to_vec(),
            Sample::Legacy(v) => v.encode_to_vec(),
            Sample::Order(v) => v.encode_to_vec(),
        }
    }

    /// Decodes `bytes` with this sample's schema and checks the value equals `self`.
    fn check_decodes_to_self(&self, bytes: &[u8]) {
        fn check<M: Message + PartialEq + std::fmt::Debug>(want: &M, bytes: &[u8]) {
            assert_eq!(&M::decode(bytes).unwrap(), want);
        }
        match self {
            Sample::AllTypes(v) => check(v, bytes),
            Sample::Required(v) => check(v, bytes),
            Sample::Shape(v) => check(v, bytes),
            Sample::Node(v) => check(v, bytes),
            Sample::PersonV1(v) => check(v, bytes),
            Sample::PersonV2(v) => check(v, bytes),
            Sample::Legacy(v) => check(v, bytes),
            Sample::Order(v) => check(v, bytes),
        }
    }
}

fn decode_with_schema(
    schema: &str,
    bytes: &[u8],
    options: &DecodeOptions,
) -> Result<(), DecodeError> {
    match schema {
        "AllTypes" => AllTypes::decode_with(bytes, options).map(drop),
        "Required" => Required::decode_with(bytes, options).map(drop),
        "Shape" => Shape::decode_with(bytes, options).map(drop),
        "Node" => Node::decode_with(bytes, options).map(drop),
        "PersonV1" => PersonV1::decode_with(bytes, options).map(drop),
        "Legacy" => Legacy::decode_with(bytes, options).map(drop),
        "dynamic" => dynamic::decode(bytes, options).map(drop),
        other => panic!("unknown schema {other}"),
    }
}

struct Valid {
    name: &'static str,
    description: &'static str,
    /// The value the bytes decode to (None: schema-less vector, checked with `dynamic`).
    value: Option<Sample>,
    /// The bytes, when they are not the canonical encoding of `value` (unknown fields,
    /// fields out of order, duplicates).
    bytes: Option<Vec<u8>>,
    /// The bytes are accepted but a re-encoding is not pinned down: set elements out of
    /// order or repeated, repeated map keys (spec/wire.md § 6), which a decoder into arrays
    /// (C) keeps as they came and one into ordered collections (Rust) sorts and merges.
    reencoding_unspecified: bool,
}

fn all(f: impl FnOnce(&mut AllTypes)) -> Option<Sample> {
    let mut v = AllTypes::default();
    f(&mut v);
    Some(Sample::AllTypes(v))
}

fn node_chain(depth: usize) -> Node {
    let mut node = Node { value: depth as i32, next: None };
    for i in (1..depth).rev() {
        node = Node { value: i as i32, next: Some(Box::new(node)) };
    }
    node
}

fn valid_vectors() -> Vec<Valid> {
    let v = |name, description, value| Valid {
        name,
        description,
        value,
        bytes: None,
        reencoding_unspecified: false,
    };
    let raw = |name, description, value, hex: &str| Valid {
        name,
        description,
        value,
        bytes: Some(unhex(hex)),
        reencoding_unspecified: false,
    };
    let loose = |name, description, value, hex: &str| Valid {
        name,
        description,
        value,
        bytes: Some(unhex(hex)),
        reencoding_unspecified: true,
    };
    let uuid = *b"\x12\x34\x56\x78\x9a\xbc\xde\xf0\x0f\xed\xcb\xa9\x87\x65\x43\x21";
    // PersonV2 bytes with extra unknown fields of every wire type, read by PersonV1.
    let mut unknown = PersonV2 {
        name: "ada".into(),
        age: 36,
        email: Some("ada@example.org".into()),
        nicknames: vec!["countess".into()],
        home: Some(Point { x: 1, y: -1 }),
    }
    .encode_to_vec();
    {
        let mut w = ferry_wire::Writer::new(&mut unknown);
        w.key(6, ferry_wire::WireType::Varint);
        w.unsigned(99);
        w.key(7, ferry_wire::WireType::Fixed64);
        w.f64(2.5);
        w.key(8, ferry_wire::WireType::Fixed32);
        w.f32(-1.0);
        w.key(9, ferry_wire::WireType::Map);
        w.map_header(ferry_wire::WireType::Varint, ferry_wire::WireType::List, 1);
        w.unsigned(1);
        w.list_header(ferry_wire::WireType::Bytes, 1);
        w.str("x");
        w.key(-1, ferry_wire::WireType::Bytes);
        w.str("negative id");
    }
    let mut negative = Vec::new();
    {
        let mut w = ferry_wire::Writer::new(&mut negative);
        w.key(-1, ferry_wire::WireType::Varint);
        w.signed(-1);
        w.key(i16::MIN, ferry_wire::WireType::Bytes);
        w.str("min id");
        w.key(i16::MAX, ferry_wire::WireType::Fixed32);
        w.f32(0.5);
    }
    vec![
        v("empty_struct", "AllTypes with no field set: zero bytes", all(|_| {})),
        v("bool_true", "flag = true", all(|v| v.flag = Some(true))),
        v("bool_false", "flag = false (present, so encoded: optional fields distinguish absent from default)", all(|v| v.flag = Some(false))),
        v("i8_min_max", "tiny = -128, then ubyte = 255", all(|v| { v.tiny = Some(i8::MIN); v.ubyte = Some(u8::MAX) })),
        v("i8_max", "tiny = 127", all(|v| v.tiny = Some(i8::MAX))),
        v("i16_min_max", "small = -32768, ushort = 65535", all(|v| { v.small = Some(i16::MIN); v.ushort = Some(u16::MAX) })),
        v("i32_min", "medium = -2147483648", all(|v| v.medium = Some(i32::MIN))),
        v("i32_max", "medium = 2147483647, uint = 4294967295", all(|v| { v.medium = Some(i32::MAX); v.uint = Some(u32::MAX) })),
        v("i64_min", "large = -9223372036854775808", all(|v| v.large = Some(i64::MIN))),
        v("i64_max", "large = 9223372036854775807", all(|v| v.large = Some(i64::MAX))),
        v("zigzag_small", "large = -1 (zigzag 1), medium = 1 (zigzag 2)", all(|v| { v.large = Some(-1); v.medium = Some(1) })),
        v("u64_zero_and_max", "ulong = 18446744073709551615 (ten-byte varint)", all(|v| v.ulong = Some(u64::MAX))),
        v("u64_zero", "ulong = 0", all(|v| v.ulong = Some(0))),
        v("f32", "single = 1.5", all(|v| v.single = Some(1.5))),
        v("double", "real = -2.25", all(|v| v.real = Some(-2.25))),
        v("double_infinity", "real = +infinity", all(|v| v.real = Some(f64::INFINITY))),
        v("string_utf8", "text = \"héllo, 世界\"", all(|v| v.text = Some("héllo, 世界".into()))),
        v("string_empty", "text = \"\"", all(|v| v.text = Some(String::new()))),
        v("binary", "blob = 00 ff 80 7f", all(|v| v.blob = Some(vec![0, 0xff, 0x80, 0x7f]))),
        v("binary_200", "blob = 200 bytes 0..199 (two-byte length)", all(|v| v.blob = Some((0..200).collect()))),
        v("uuid", "id = 12345678-9abc-def0-0fed-cba987654321", all(|v| v.id = Some(uuid))),
        v("enum_known", "color = BLUE (-3)", all(|v| v.color = Some(Color(-3)))),
        v("enum_unknown_value", "color = 42, a value this schema does not name: kept, not rejected", all(|v| v.color = Some(Color(42)))),
        v("list_empty", "numbers = []", all(|v| v.numbers = Some(vec![]))),
        v("list_i32", "numbers = [1, -1, 300]", all(|v| v.numbers = Some(vec![1, -1, 300]))),
        v("list_15_elements", "numbers = [0..14] (count 15 takes the long header form)", all(|v| v.numbers = Some((0..15).collect()))),
        v("set_string", "names = {\"a\", \"bc\"}", all(|v| v.names = Some(vec!["a".into(), "bc".into()]))),
        v("map_string_i64", "counts = {\"x\": 1, \"y\": -2}", all(|v| v.counts = Some(BTreeMap::from([("x".into(), 1), ("y".into(), -2)])))),
        v("map_empty", "counts = {}", all(|v| v.counts = Some(BTreeMap::new()))),
        v("struct", "point = Point { x: 3, y: -4 }", all(|v| v.point = Some(Point { x: 3, y: -4 }))),
        v("struct_empty", "point = Point { x: 0, y: 0 } (default fields still written)", all(|v| v.point = Some(Point::default()))),
        v("list_of_lists", "matrix = [[1, 2], [], [3]]", all(|v| v.matrix = Some(vec![vec![1, 2], vec![], vec![3]]))),
        v("list_double", "reals = [0.5, -1.0]", all(|v| v.reals = Some(vec![0.5, -1.0]))),
        v("union_struct", "shape = Shape.point(Point { x: 1, y: 2 })", all(|v| v.shape = Some(Shape::Point(Point { x: 1, y: 2 })))),
        v("union_double", "Shape.radius(1.0) as a message of its own", Some(Sample::Shape(Shape::Radius(1.0)))),
        v("union_string", "Shape.label(\"hex\")", Some(Sample::Shape(Shape::Label("hex".into())))),
        v("union_empty", "Shape with no field set", Some(Sample::Shape(Shape::Unknown))),
        v("map_of_lists_of_structs", "groups = {-5: [], 1: [Point {x:1,y:1}]} (keys ascending: -5 first)", all(|v| v.groups = Some(BTreeMap::from([(1, vec![Point { x: 1, y: 1 }]), (-5, vec![])])))),
        v("required_present", "Required { id: 7, name: \"r\" }", Some(Sample::Required(Required { id: 7, name: "r".into() }))),
        v("recursive_depth_3", "Node 1 -> Node 2 -> Node 3", Some(Sample::Node(node_chain(3)))),
        v("person_v2", "PersonV2 { name: \"ada\", age: 36, email: \"ada@example.org\", nicknames: [\"countess\"], home: Point { x: 1, y: -1 } }", Some(Sample::PersonV2(PersonV2 {
            name: "ada".into(), age: 36, email: Some("ada@example.org".into()), nicknames: vec!["countess".into()], home: Some(Point { x: 1, y: -1 }),
        }))),
        Valid {
            name: "unknown_fields_every_wire_type",
            description: "person_v2 plus fields 6 (varint), 7 (fixed64), 8 (fixed32), 9 (map<varint, list<bytes>>) and -1 (bytes), read with PersonV1: fields 3.. are skipped, the value is PersonV1 { name: \"ada\", age: 36 }",
            value: Some(Sample::PersonV1(PersonV1 { name: "ada".into(), age: 36 })),
            bytes: Some(unknown),
            reencoding_unspecified: false,
        },
        Valid { name: "negative_and_extreme_field_ids", description: "schema-less: field -1 varint -1 (zigzag 1), field -32768 bytes \"min id\", field 32767 fixed32 0.5", value: None, bytes: Some(negative), reencoding_unspecified: false },
        raw("fields_out_of_order", "medium = 1 before flag = true: accepted; the canonical encoding has fields by increasing id", all(|v| { v.flag = Some(true); v.medium = Some(1) }), "20 02 08 01"),
        raw("duplicate_field_last_wins", "medium = 1, then medium = 2: the last occurrence wins", all(|v| v.medium = Some(2)), "20 02 20 04"),
        raw("duplicate_struct_field_last_wins", "point twice: the last occurrence wins whole (no merge)", all(|v| v.point = Some(Point { x: 0, y: 5 })), "9c 01 02 08 02 9c 01 02 10 0a"),
        loose("set_out_of_order", "names = {\"bc\", \"a\"}: accepted; canonical is ascending (\"a\", \"bc\")", all(|v| v.names = Some(vec!["bc".into(), "a".into()])), "8d 01 23 02 62 63 01 61"),
        loose("set_duplicate_element", "names = {\"a\", \"a\"}: accepted, the set is {\"a\"}", all(|v| v.names = Some(vec!["a".into(), "a".into()])), "8d 01 23 01 61 01 61"),
        loose("map_duplicate_key_last_wins", "counts = {\"x\": 1, \"x\": 2}: accepted, the map is {\"x\": 2}", all(|v| v.counts = Some(BTreeMap::from([("x".into(), 2)]))), "96 01 30 02 01 78 02 01 78 04"),
        loose("map_keys_out_of_order", "counts = {\"y\": 1, \"x\": 2}: accepted; canonical is ascending", all(|v| v.counts = Some(BTreeMap::from([("x".into(), 2), ("y".into(), 1)]))), "96 01 30 02 01 79 02 01 78 04"),
        raw("union_unknown_member_ignored", "Shape with an unknown member 9 then radius 1.0: unknown members do not count", Some(Sample::Shape(Shape::Radius(1.0))), "48 05 11 00 00 00 00 00 00 f0 3f"),
        raw("skipped_struct_valid_inside", "PersonV1 with an unknown field 9 holding a struct body (field 1 = 1): skipped, its body checked", Some(Sample::PersonV1(PersonV1::default())), "4c 02 08 02"),
        v("implicit_ids", "Legacy { name: \"old\", id: 5, codes: [1, -1] }: the implicit ids -2 (codes) and -1 (name) come before id 1, by signed id", Some(Sample::Legacy(Legacy { name: "old".into(), id: 5, codes: vec![1, -1] }))),
        raw("implicit_ids_in_declaration_order", "Legacy written name (-1), id (1), codes (-2), as declared: accepted; canonical is by signed id", Some(Sample::Legacy(Legacy { name: "a".into(), id: 1, codes: vec![2] })), "fb ff 1f 01 61 08 02 f5 ff 1f 10 04"),
        v("benchmark_payload", "the benchmark Order: 10 items, 3 tags, 256-byte payload (571 bytes)", Some(Sample::Order(sample_order()))),
    ]
}

struct Invalid {
    name: &'static str,
    description: &'static str,
    schema: &'static str,
    options: DecodeOptions,
    bytes: Vec<u8>,
    error: &'static str,
    offset: usize,
}

fn invalid_vectors() -> Vec<Invalid> {
    let d = DecodeOptions::DEFAULT;
    let x = |name, description, schema, hex: &str, error, offset| Invalid {
        name,
        description,
        schema,
        options: d,
        bytes: unhex(hex),
        error,
        offset,
    };
    // Node nested 70 deep against the default max_depth of 64.
    let deep = node_chain(70).encode_to_vec();
    // Offset of the length of Node 65, the first level past the limit (the message is Node 1).
    let mut deep_offset = 0;
    {
        let mut r = ferry_wire::Reader::new(&deep);
        for _ in 0..64 {
            r.key().unwrap();
            r.varint().unwrap();
            r.key().unwrap();
            deep_offset = r.offset();
            r.varint().unwrap();
        }
    }
    let mut v = vec![
        x("truncated_string", "text declares 5 bytes, 2 follow", "AllTypes", "63 05 61 62", "truncated", 1),
        x("truncated_varint", "flag's varint has its continuation bit set at the end of input", "AllTypes", "08 80", "truncated", 1),
        x("truncated_fixed64", "real needs 8 bytes, 3 follow", "AllTypes", "59 00 00 00", "truncated", 1),
        x("truncated_key", "a key's varint ends early", "AllTypes", "80", "truncated", 0),
        x("varint_overflow", "ulong with 11 varint bytes", "AllTypes", "48 ff ff ff ff ff ff ff ff ff ff 01", "varint_overflow", 1),
        x("varint_overflow_10th_byte", "ulong whose 10th byte carries bits above 64", "AllTypes", "48 ff ff ff ff ff ff ff ff ff 02", "varint_overflow", 1),
        x("varint_not_minimal", "ulong 0 written as 80 00", "AllTypes", "48 80 00", "varint_not_minimal", 1),
        x("invalid_utf8", "text holds C3 28 (an invalid sequence)", "AllTypes", "63 02 c3 28", "invalid_utf8", 2),
        x("count_exceeds_remaining", "numbers claims 100 elements in 2 bytes", "AllTypes", "85 01 f0 64 02 04", "count_exceeds_remaining", 2),
        x("count_exceeds_remaining_fixed", "reals claims 2 doubles in 8 bytes", "AllTypes", "bd 01 21 00 00 00 00 00 00 f0 3f", "count_exceeds_remaining", 2),
        x("map_count_exceeds_remaining", "counts claims 2^32 entries", "AllTypes", "96 01 30 80 80 80 80 10", "count_exceeds_remaining", 2),
        // Precedence: errors in byte order; at one offset, framing before schema (§ 9).
        x("key_unknown_wire_type_before_id_range", "a key with id 65536 and wire type 7: the wire type is checked first", "AllTypes", "87 80 20", "unknown_wire_type", 0),
        x("list_count_before_element_type", "numbers (list<i32>) with bytes elements and a count of 100 in no bytes: the header's framing is checked before its element type", "AllTypes", "85 01 f3 64", "count_exceeds_remaining", 2),
        x("list_header_type_nibble_8", "numbers' header names element type 8 (header nibbles are 4 bits; 7-15 are reserved)", "AllTypes", "85 01 08", "unknown_wire_type", 2),
        x("map_header_value_nibble_15", "counts' header names value type 15", "AllTypes", "96 01 3f 00", "unknown_wire_type", 2),
        x("union_second_key_before_its_value", "Shape: radius, then label whose bytes are invalid UTF-8: the second member is an error at its key", "Shape", "11 00 00 00 00 00 00 f0 3f 1b 01 ff", "union_has_several_fields", 9),
        x("union_same_member_twice", "Shape: radius twice", "Shape", "11 00 00 00 00 00 00 f0 3f 11 00 00 00 00 00 00 00 40", "union_has_several_fields", 9),
        x("implicit_id_wrong_wire_type", "Legacy: field -1 (the implicit id of `name`, a string) sent as a varint: its key is f8 ff 1f", "Legacy", "f8 ff 1f 01", "wire_type_mismatch", 0),
        x("union_second_member_wrong_wire_type", "Shape: radius, then label (bytes) sent as a varint: at one key the wire type is checked first", "Shape", "11 00 00 00 00 00 00 f0 3f 18 01", "wire_type_mismatch", 9),
        x("duplicate_field_first_occurrence_invalid", "names twice, the first holding invalid UTF-8: every occurrence is checked (strict)", "AllTypes", "8d 01 13 01 ff 8d 01 13 01 61", "invalid_utf8", 4),
        x("invalid_utf8_in_map_key", "counts with the key FF: checked before the map is used (strict)", "AllTypes", "96 01 30 01 01 ff 00", "invalid_utf8", 5),
        x("invalid_element_in_list_of_lists", "matrix = [[2^31]]: elements of nested lists are checked (strict)", "AllTypes", "a5 01 15 10 80 80 80 80 10", "integer_out_of_range", 4),
        x("skipped_struct_is_walked", "PersonV1 with an unknown field 9 whose struct body holds a truncated key (strict walks skipped structs)", "PersonV1", "4c 01 80", "truncated", 2),
        x("skipped_varint_not_minimal", "PersonV1 with an unknown field 9 varint written 80 00: skipped values are checked", "PersonV1", "48 80 00", "varint_not_minimal", 1),
        x("enum_outside_i32", "color = 2^31 (zigzag 2^32): enums are i32", "AllTypes", "78 80 80 80 80 10", "integer_out_of_range", 1),
        x("count_checked_against_enclosing_struct", "schema-less: field 1 struct of 2 bytes holding a list of 3 varints: the 3 bytes after the struct do not count", "dynamic", "0c 02 0d 31 00 00 00", "count_exceeds_remaining", 3),
        x("missing_required_in_empty_message", "Required as zero bytes: the struct ends at once without field 1 (offset: its end)", "Required", "", "missing_required_field", 0),
        x("count_not_minimal", "numbers' count 0 in the long header form (found by fuzzing)", "AllTypes", "85 01 f0 00", "count_not_minimal", 2),
        x("unknown_wire_type_key", "a key with wire type 7", "AllTypes", "0f 00", "unknown_wire_type", 0),
        x("unknown_wire_type_element", "numbers' header names element type 7", "AllTypes", "85 01 17 00", "unknown_wire_type", 2),
        x("unknown_wire_type_in_skipped_field", "an unknown field 30 of type list whose element type is 7: the skipper rejects it", "AllTypes", "f5 01 17 00", "unknown_wire_type", 2),
        x("field_id_out_of_range", "a key whose id is 65536", "AllTypes", "80 80 20", "field_id_out_of_range", 0),
        x("wire_type_mismatch", "flag (bool) sent as bytes", "AllTypes", "0b 01 61", "wire_type_mismatch", 0),
        x("element_type_mismatch", "numbers (list<i32>) with bytes elements", "AllTypes", "85 01 13 01 61", "element_type_mismatch", 2),
        x("invalid_bool", "flag = 2", "AllTypes", "08 02", "invalid_bool", 1),
        x("u8_out_of_range", "ubyte = 300", "AllTypes", "30 ac 02", "integer_out_of_range", 1),
        x("i8_out_of_range", "tiny = 200 (zigzag 400)", "AllTypes", "10 90 03", "integer_out_of_range", 1),
        x("i32_out_of_range", "medium = 2^31 (zigzag 2^32)", "AllTypes", "20 80 80 80 80 10", "integer_out_of_range", 1),
        x("uuid_wrong_length", "id with 3 bytes", "AllTypes", "73 03 01 02 03", "invalid_uuid_length", 1),
        x("missing_required_field", "Required without field 1", "Required", "13 01 61", "missing_required_field", 3),
        x("union_two_fields", "Shape with radius and label", "Shape", "11 00 00 00 00 00 00 f0 3f 1b 01 61", "union_has_several_fields", 9),
        x("truncated_nested_struct", "point's length is 4, its body ends after 2 bytes", "AllTypes", "9c 01 04 08 02", "truncated", 2),
        x("error_inside_nested_struct", "point.x = 2^31: offsets are from the message start", "AllTypes", "9c 01 06 08 80 80 80 80 10", "integer_out_of_range", 4),
        Invalid {
            name: "nesting_over_limit",
            description: "Node nested 70 deep; the default max_depth is 64",
            schema: "Node",
            options: d,
            bytes: deep,
            error: "depth_limit_exceeded",
            offset: deep_offset,
        },
        Invalid {
            name: "list_nesting_over_limit",
            description: "schema-less: field 1 list<list<list<varint>>> with max_depth 3; the message is level 1, so the innermost list (byte 3) is level 4",
            schema: "dynamic",
            options: DecodeOptions { max_depth: 3, ..d },
            bytes: unhex("0d 15 15 10"),
            error: "depth_limit_exceeded",
            offset: 3,
        },
        Invalid {
            name: "skipped_struct_counts_toward_depth",
            description: "PersonV1 with an unknown field 9 holding struct { 4: struct {} } under max_depth 3: a skipped struct is a level (the innermost is level 4; offset: its length)",
            schema: "PersonV1",
            options: DecodeOptions { max_depth: 3, ..d },
            bytes: unhex("4c 02 24 00 4c 04 24 02 24 00"),
            error: "depth_limit_exceeded",
            offset: 9,
        },
        Invalid {
            name: "depth_inside_list_elements",
            description: "matrix = [[]] under max_depth 2: the inner list (byte 3) is level 3 (strict: checked before the list is used)",
            schema: "AllTypes",
            options: DecodeOptions { max_depth: 2, ..d },
            bytes: unhex("a5 01 15 10"),
            error: "depth_limit_exceeded",
            offset: 3,
        },
        Invalid {
            name: "message_too_large",
            description: "a 5-byte message with max_message_size 4",
            schema: "dynamic",
            options: DecodeOptions { max_message_size: 4, ..d },
            bytes: unhex("08 01 08 01 08"),
            error: "message_too_large",
            offset: 0,
        },
    ];
    v.sort_by_key(|i| i.name);
    v
}

fn render_valid(vectors: &[Valid]) -> String {
    let mut out = String::from("# Ferry wire test vectors: valid messages (generated by wire/tests/vectors.rs).\n# Each decodes with `schema` to the value described and re-encodes to the same bytes\n# (schema-less: through a generic walker), or, where `canonical` is given (the bytes hold\n# fields the schema does not know), to those bytes. Schemas: spec/vectors/schema.thrift.\n");
    for v in vectors {
        let canonical = v.value.as_ref().map(Sample::encode);
        let bytes = v.bytes.clone().or_else(|| canonical.clone()).unwrap();
        let schema = v.value.as_ref().map_or("dynamic", Sample::schema);
        writeln!(
            out,
            "\n[{}]\nschema = {}\nvalue = {}\nhex = {}",
            v.name,
            schema,
            v.description,
            hex(&bytes)
        )
        .unwrap();
        if v.reencoding_unspecified {
            writeln!(out, "canonical = unspecified").unwrap();
        } else if let Some(c) = canonical.filter(|c| *c != bytes) {
            writeln!(out, "canonical = {}", hex(&c)).unwrap();
        }
    }
    out
}

fn render_invalid(vectors: &[Invalid]) -> String {
    let mut out = String::from("# Ferry wire test vectors: invalid messages (generated by wire/tests/vectors.rs).\n# Each must fail with `error` (spec/wire.md § Errors) at byte `offset` of the message.\n# `limits` lists options that differ from the defaults (max_depth 64, max_message_size 16 MiB).\n");
    for v in vectors {
        writeln!(out, "\n[{}]\nschema = {}\nwhat = {}", v.name, v.schema, v.description).unwrap();
        if v.options != DecodeOptions::DEFAULT {
            writeln!(
                out,
                "limits = max_depth={} max_message_size={}",
                v.options.max_depth, v.options.max_message_size
            )
            .unwrap();
        }
        writeln!(out, "hex = {}\nerror = {}\noffset = {}", hex(&v.bytes), v.error, v.offset)
            .unwrap();
    }
    out
}

/// Compares a generated file with the committed one, or rewrites it with UPDATE_VECTORS=1.
fn check_file(name: &str, generated: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors").join(name);
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} differs from what the vector tables produce; if the change is intended, run \
         UPDATE_VECTORS=1 cargo test -p ferry-wire --test vectors",
        path.display()
    );
}

#[test]
fn valid_vectors_decode_and_reencode_byte_exactly() {
    let table = valid_vectors();
    let text = render_valid(&table);
    check_file("valid.txt", &text);
    // Read back through the parser every implementation's tests share.
    let parsed = ferry_vectors::valid_cases(&text).unwrap();
    assert_eq!(parsed.len(), table.len());
    for (case, vector) in parsed.iter().zip(&table) {
        let name = &case.name;
        assert_eq!(name, vector.name);
        let bytes = case.bytes.clone();
        if let Some(value) = &vector.value {
            value.check_decodes_to_self(&bytes);
            if vector.bytes.is_none() {
                assert_eq!(value.encode(), bytes, "{name}: typed re-encoding differs");
            }
        }
        let walked = dynamic::decode(&bytes, &DecodeOptions::DEFAULT).unwrap();
        assert_eq!(walked.encode_to_vec(), bytes, "{name}: schema-less re-encoding differs");
        assert_eq!(walked.encoded_len(), bytes.len(), "{name}");
    }
}

#[test]
fn invalid_vectors_fail_with_their_documented_error() {
    let table = invalid_vectors();
    assert!(table.len() >= 12);
    let text = render_invalid(&table);
    check_file("invalid.txt", &text);
    let parsed = ferry_vectors::invalid_cases(&text).unwrap();
    assert_eq!(parsed.len(), table.len());
    for (case, v) in parsed.iter().zip(&table) {
        assert_eq!((case.name.as_str(), &case.bytes), (v.name, &v.bytes));
        let err = decode_with_schema(v.schema, &v.bytes, &v.options)
            .expect_err(&format!("{} must not decode", v.name));
        assert_eq!((err.kind().code(), err.offset()), (v.error, v.offset), "{}: got {err}", v.name);
    }
}
