//! Every IDL type, hand-written in the shape `idlc` generates (schema: spec/vectors/schema.thrift).
use std::collections::BTreeMap;

use ferry_wire::{
    size, DecodeError, Element, Encode, Lazy, ListView, MapView, Message, Reader, StructReader,
    View, WireType, Writer,
};

/// `enum Color { RED = 1, GREEN = 2, BLUE = -3 }`; unknown values are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Color(pub i32);

impl<'a> Element<'a> for Color {
    const WIRE_TYPE: WireType = WireType::Varint;
    type Owned = Color;
    fn read(r: &mut Reader<'a>, depth_left: u16) -> Result<Self, DecodeError> {
        i32::read(r, depth_left).map(Color)
    }
    fn to_owned_element(&self) -> Result<Color, DecodeError> {
        Ok(*self)
    }
}

/// `struct Point { 1: i32 x; 2: i32 y }`
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct PointView {
    pub x: i32,
    pub y: i32,
}

impl Encode for Point {
    fn encode(&self, w: &mut Writer<'_>) {
        w.key(1, WireType::Varint);
        w.signed(self.x.into());
        w.key(2, WireType::Varint);
        w.signed(self.y.into());
    }
    fn encoded_len(&self) -> usize {
        2 + size::signed(self.x.into()) + size::signed(self.y.into())
    }
}

impl<'a> View<'a> for PointView {
    type Owned = Point;
    fn decode_fields(mut r: StructReader<'a>) -> Result<Self, DecodeError> {
        let mut v = PointView::default();
        while let Some(f) = r.next_field()? {
            match f.id {
                1 => v.x = r.read(f)?,
                2 => v.y = r.read(f)?,
                _ => r.skip(f)?,
            }
        }
        Ok(v)
    }
    fn to_owned_value(&self) -> Result<Point, DecodeError> {
        Ok(Point { x: self.x, y: self.y })
    }
}

impl Message for Point {
    type View<'a> = PointView;
}

/// `union Shape { 1: Point point; 2: double radius; 3: string label }`
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Shape {
    Point(Point),
    Radius(f64),
    Label(String),
    /// No known field set (an empty union, or only fields this reader does not know).
    #[default]
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum ShapeView<'a> {
    Point(PointView),
    Radius(f64),
    Label(&'a str),
    #[default]
    Unknown,
}

impl Encode for Shape {
    fn encode(&self, w: &mut Writer<'_>) {
        match self {
            Shape::Point(p) => {
                w.key(1, WireType::Struct);
                w.message(p);
            }
            Shape::Radius(r) => {
                w.key(2, WireType::Fixed64);
                w.f64(*r);
            }
            Shape::Label(l) => {
                w.key(3, WireType::Bytes);
                w.str(l);
            }
            Shape::Unknown => {}
        }
    }
    fn encoded_len(&self) -> usize {
        match self {
            Shape::Point(p) => 1 + size::delimited(p.encoded_len()),
            Shape::Radius(_) => 9,
            Shape::Label(l) => 1 + size::bytes(l.len()),
            Shape::Unknown => 0,
        }
    }
}

impl<'a> View<'a> for ShapeView<'a> {
    type Owned = Shape;
    fn decode_fields(mut r: StructReader<'a>) -> Result<Self, DecodeError> {
        let mut v = ShapeView::Unknown;
        let mut set: Option<i16> = None;
        while let Some(f) = r.next_field()? {
            let expected = match f.id {
                1 => WireType::Struct,
                2 => WireType::Fixed64,
                3 => WireType::Bytes,
                _ => {
                    r.skip(f)?;
                    continue;
                }
            };
            // A second member is an error at its key, before its value (as idlc generates).
            r.expect_wire_type(f, expected)?;
            if let Some(first) = set {
                return Err(r.union_conflict(first, f));
            }
            let value = match f.id {
                1 => ShapeView::Point(r.value()?),
                2 => ShapeView::Radius(r.value()?),
                _ => ShapeView::Label(r.value()?),
            };
            set = Some(f.id);
            v = value;
        }
        Ok(v)
    }
    fn to_owned_value(&self) -> Result<Shape, DecodeError> {
        Ok(match self {
            ShapeView::Point(p) => Shape::Point(p.to_owned_value()?),
            ShapeView::Radius(r) => Shape::Radius(*r),
            ShapeView::Label(l) => Shape::Label((*l).to_owned()),
            ShapeView::Unknown => Shape::Unknown,
        })
    }
}

impl Message for Shape {
    type View<'a> = ShapeView<'a>;
}

/// `struct AllTypes` — every field optional, so each test vector sets only what it shows.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AllTypes {
    pub flag: Option<bool>,
    pub tiny: Option<i8>,
    pub small: Option<i16>,
    pub medium: Option<i32>,
    pub large: Option<i64>,
    pub ubyte: Option<u8>,
    pub ushort: Option<u16>,
    pub uint: Option<u32>,
    pub ulong: Option<u64>,
    pub single: Option<f32>,
    pub real: Option<f64>,
    pub text: Option<String>,
    pub blob: Option<Vec<u8>>,
    pub id: Option<[u8; 16]>,
    pub color: Option<Color>,
    pub numbers: Option<Vec<i32>>,
    pub names: Option<Vec<String>>,
    pub counts: Option<BTreeMap<String, i64>>,
    pub point: Option<Point>,
    pub matrix: Option<Vec<Vec<i32>>>,
    pub shape: Option<Shape>,
    pub groups: Option<BTreeMap<i32, Vec<Point>>>,
    pub reals: Option<Vec<f64>>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct AllTypesView<'a> {
    pub flag: Option<bool>,
    pub tiny: Option<i8>,
    pub small: Option<i16>,
    pub medium: Option<i32>,
    pub large: Option<i64>,
    pub ubyte: Option<u8>,
    pub ushort: Option<u16>,
    pub uint: Option<u32>,
    pub ulong: Option<u64>,
    pub single: Option<f32>,
    pub real: Option<f64>,
    pub text: Option<&'a str>,
    pub blob: Option<&'a [u8]>,
    pub id: Option<[u8; 16]>,
    pub color: Option<Color>,
    pub numbers: Option<ListView<'a, i32>>,
    pub names: Option<ListView<'a, &'a str>>,
    pub counts: Option<MapView<'a, &'a str, i64>>,
    pub point: Option<PointView>,
    pub matrix: Option<ListView<'a, ListView<'a, i32>>>,
    pub shape: Option<ShapeView<'a>>,
    pub groups: Option<MapView<'a, i32, ListView<'a, PointView>>>,
    pub reals: Option<ListView<'a, f64>>,
}

impl Encode for AllTypes {
    fn encode(&self, w: &mut Writer<'_>) {
        if let Some(v) = self.flag {
            w.key(1, WireType::Varint);
            w.bool(v);
        }
        if let Some(v) = self.tiny {
            w.key(2, WireType::Varint);
            w.signed(v.into());
        }
        if let Some(v) = self.small {
            w.key(3, WireType::Varint);
            w.signed(v.into());
        }
        if let Some(v) = self.medium {
            w.key(4, WireType::Varint);
            w.signed(v.into());
        }
        if let Some(v) = self.large {
            w.key(5, WireType::Varint);
            w.signed(v);
        }
        if let Some(v) = self.ubyte {
            w.key(6, WireType::Varint);
            w.unsigned(v.into());
        }
        if let Some(v) = self.ushort {
            w.key(7, WireType::Varint);
            w.unsigned(v.into());
        }
        if let Some(v) = self.uint {
            w.key(8, WireType::Varint);
            w.unsigned(v.into());
        }
        if let Some(v) = self.ulong {
            w.key(9, WireType::Varint);
            w.unsigned(v);
        }
        if let Some(v) = self.single {
            w.key(10, WireType::Fixed32);
            w.f32(v);
        }
        if let Some(v) = self.real {
            w.key(11, WireType::Fixed64);
            w.f64(v);
        }
        if let Some(v) = &self.text {
            w.key(12, WireType::Bytes);
            w.str(v);
        }
        if let Some(v) = &self.blob {
            w.key(13, WireType::Bytes);
            w.bytes(v);
        }
        if let Some(v) = &self.id {
            w.key(14, WireType::Bytes);
            w.uuid(v);
        }
        if let Some(v) = self.color {
            w.key(15, WireType::Varint);
            w.signed(v.0.into());
        }
        if let Some(v) = &self.numbers {
            w.key(16, WireType::List);
            w.list_header(WireType::Varint, v.len());
            v.iter().for_each(|&e| w.signed(e.into()));
        }
        if let Some(v) = &self.names {
            w.key(17, WireType::List);
            w.list_header(WireType::Bytes, v.len());
            v.iter().for_each(|e| w.str(e));
        }
        if let Some(v) = &self.counts {
            w.key(18, WireType::Map);
            w.map_header(WireType::Bytes, WireType::Varint, v.len());
            for (k, e) in v {
                w.str(k);
                w.signed(*e);
            }
        }
        if let Some(v) = &self.point {
            w.key(19, WireType::Struct);
            w.message(v);
        }
        if let Some(v) = &self.matrix {
            w.key(20, WireType::List);
            w.list_header(WireType::List, v.len());
            for row in v {
                w.list_header(WireType::Varint, row.len());
                row.iter().for_each(|&e| w.signed(e.into()));
            }
        }
        if let Some(v) = &self.shape {
            w.key(21, WireType::Struct);
            w.message(v);
        }
        if let Some(v) = &self.groups {
            w.key(22, WireType::Map);
            w.map_header(WireType::Varint, WireType::List, v.len());
            for (k, points) in v {
                w.signed((*k).into());
                w.list_header(WireType::Struct, points.len());
                points.iter().for_each(|p| w.message(p));
            }
        }
        if let Some(v) = &self.reals {
            w.key(23, WireType::List);
            w.list_header(WireType::Fixed64, v.len());
            v.iter().for_each(|&e| w.f64(e));
        }
    }

    fn encoded_len(&self) -> usize {
        let int_list =
            |v: &[i32]| size::list(v.len(), v.iter().map(|&e| size::signed(e.into())).sum());
        let key = |id: i16, wt| size::key(id, wt);
        let mut n = 0;
        n += self.flag.map_or(0, |_| key(1, WireType::Varint) + 1);
        n += self.tiny.map_or(0, |v| key(2, WireType::Varint) + size::signed(v.into()));
        n += self.small.map_or(0, |v| key(3, WireType::Varint) + size::signed(v.into()));
        n += self.medium.map_or(0, |v| key(4, WireType::Varint) + size::signed(v.into()));
        n += self.large.map_or(0, |v| key(5, WireType::Varint) + size::signed(v));
        n += self.ubyte.map_or(0, |v| key(6, WireType::Varint) + size::unsigned(v.into()));
        n += self.ushort.map_or(0, |v| key(7, WireType::Varint) + size::unsigned(v.into()));
        n += self.uint.map_or(0, |v| key(8, WireType::Varint) + size::unsigned(v.into()));
        n += self.ulong.map_or(0, |v| key(9, WireType::Varint) + size::unsigned(v));
        n += self.single.map_or(0, |_| key(10, WireType::Fixed32) + 4);
        n += self.real.map_or(0, |_| key(11, WireType::Fixed64) + 8);
        n += self.text.as_ref().map_or(0, |v| key(12, WireType::Bytes) + size::bytes(v.len()));
        n += self.blob.as_ref().map_or(0, |v| key(13, WireType::Bytes) + size::bytes(v.len()));
        n += self.id.map_or(0, |_| key(14, WireType::Bytes) + size::bytes(16));
        n += self.color.map_or(0, |v| key(15, WireType::Varint) + size::signed(v.0.into()));
        n += self.numbers.as_ref().map_or(0, |v| key(16, WireType::List) + int_list(v));
        n += self.names.as_ref().map_or(0, |v| {
            key(17, WireType::List)
                + size::list(v.len(), v.iter().map(|e| size::bytes(e.len())).sum())
        });
        n += self.counts.as_ref().map_or(0, |v| {
            key(18, WireType::Map)
                + size::map(
                    v.len(),
                    v.iter().map(|(k, e)| size::bytes(k.len()) + size::signed(*e)).sum(),
                )
        });
        n += self
            .point
            .as_ref()
            .map_or(0, |v| key(19, WireType::Struct) + size::delimited(v.encoded_len()));
        n += self.matrix.as_ref().map_or(0, |v| {
            key(20, WireType::List) + size::list(v.len(), v.iter().map(|row| int_list(row)).sum())
        });
        n += self
            .shape
            .as_ref()
            .map_or(0, |v| key(21, WireType::Struct) + size::delimited(v.encoded_len()));
        n += self.groups.as_ref().map_or(0, |v| {
            key(22, WireType::Map)
                + size::map(
                    v.len(),
                    v.iter()
                        .map(|(k, points)| {
                            size::signed((*k).into())
                                + size::list(
                                    points.len(),
                                    points.iter().map(|p| size::delimited(p.encoded_len())).sum(),
                                )
                        })
                        .sum(),
                )
        });
        n += self
            .reals
            .as_ref()
            .map_or(0, |v| key(23, WireType::List) + size::list(v.len(), 8 * v.len()));
        n
    }
}

impl<'a> View<'a> for AllTypesView<'a> {
    type Owned = AllTypes;
    fn decode_fields(mut r: StructReader<'a>) -> Result<Self, DecodeError> {
        let mut v = AllTypesView::default();
        while let Some(f) = r.next_field()? {
            match f.id {
                1 => v.flag = Some(r.read(f)?),
                2 => v.tiny = Some(r.read(f)?),
                3 => v.small = Some(r.read(f)?),
                4 => v.medium = Some(r.read(f)?),
                5 => v.large = Some(r.read(f)?),
                6 => v.ubyte = Some(r.read(f)?),
                7 => v.ushort = Some(r.read(f)?),
                8 => v.uint = Some(r.read(f)?),
                9 => v.ulong = Some(r.read(f)?),
                10 => v.single = Some(r.read(f)?),
                11 => v.real = Some(r.read(f)?),
                12 => v.text = Some(r.read(f)?),
                13 => v.blob = Some(r.read(f)?),
                14 => v.id = Some(r.read(f)?),
                15 => v.color = Some(r.read(f)?),
                16 => v.numbers = Some(r.read(f)?),
                17 => v.names = Some(r.read(f)?),
                18 => v.counts = Some(r.read(f)?),
                19 => v.point = Some(r.read(f)?),
                20 => v.matrix = Some(r.read(f)?),
                21 => v.shape = Some(r.read(f)?),
                22 => v.groups = Some(r.read(f)?),
                23 => v.reals = Some(r.read(f)?),
                _ => r.skip(f)?,
            }
        }
        Ok(v)
    }

    fn to_owned_value(&self) -> Result<AllTypes, DecodeError> {
        Ok(AllTypes {
            flag: self.flag,
            tiny: self.tiny,
            small: self.small,
            medium: self.medium,
            large: self.large,
            ubyte: self.ubyte,
            ushort: self.ushort,
            uint: self.uint,
            ulong: self.ulong,
            single: self.single,
            real: self.real,
            text: self.text.map(str::to_owned),
            blob: self.blob.map(<[u8]>::to_vec),
            id: self.id,
            color: self.color,
            numbers: self.numbers.map(|l| l.to_owned_value()).transpose()?,
            names: self.names.map(|l| l.to_owned_value()).transpose()?,
            counts: self.counts.map(|m| m.collect_owned()).transpose()?,
            point: self.point.map(|p| p.to_owned_value()).transpose()?,
            matrix: self.matrix.map(|l| l.to_owned_value()).transpose()?,
            shape: self.shape.map(|s| s.to_owned_value()).transpose()?,
            groups: self.groups.map(|m| m.collect_owned()).transpose()?,
            reals: self.reals.map(|l| l.to_owned_value()).transpose()?,
        })
    }
}

impl Message for AllTypes {
    type View<'a> = AllTypesView<'a>;
}

/// `struct Required { 1: required i32 id; 2: string name }`
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Required {
    pub id: i32,
    pub name: String,
}

#[derive(Clone, Copy, Debug)]
pub struct RequiredView<'a> {
    pub id: i32,
    pub name: &'a str,
}

impl Encode for Required {
    fn encode(&self, w: &mut Writer<'_>) {
        w.key(1, WireType::Varint);
        w.signed(self.id.into());
        w.key(2, WireType::Bytes);
        w.str(&self.name);
    }
    fn encoded_len(&self) -> usize {
        2 + size::signed(self.id.into()) + size::bytes(self.name.len())
    }
}

impl<'a> View<'a> for RequiredView<'a> {
    type Owned = Required;
    fn decode_fields(mut r: StructReader<'a>) -> Result<Self, DecodeError> {
        let mut id = None;
        let mut name = "";
        while let Some(f) = r.next_field()? {
            match f.id {
                1 => id = Some(r.read(f)?),
                2 => name = r.read(f)?,
                _ => r.skip(f)?,
            }
        }
        let Some(id) = id else { return Err(r.missing(1)) };
        Ok(RequiredView { id, name })
    }
    fn to_owned_value(&self) -> Result<Required, DecodeError> {
        Ok(Required { id: self.id, name: self.name.to_owned() })
    }
}

impl Message for Required {
    type View<'a> = RequiredView<'a>;
}

/// `struct Legacy { string name; 1: i32 id; list<i32> codes }`: implicit ids, `name` -1 and
/// `codes` -2, written in signed id order (codes, name, id).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Legacy {
    pub name: String,
    pub id: i32,
    pub codes: Vec<i32>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct LegacyView<'a> {
    pub name: &'a str,
    pub id: i32,
    pub codes: ListView<'a, i32>,
}

impl Encode for Legacy {
    fn encode(&self, w: &mut Writer<'_>) {
        w.key(-2, WireType::List);
        w.list_header(WireType::Varint, self.codes.len());
        for c in &self.codes {
            w.signed((*c).into());
        }
        w.key(-1, WireType::Bytes);
        w.str(&self.name);
        w.key(1, WireType::Varint);
        w.signed(self.id.into());
    }
    fn encoded_len(&self) -> usize {
        let codes: usize = self.codes.iter().map(|c| size::signed((*c).into())).sum();
        size::key(-2, WireType::List)
            + size::list(self.codes.len(), codes)
            + size::key(-1, WireType::Bytes)
            + size::bytes(self.name.len())
            + 1
            + size::signed(self.id.into())
    }
}

impl<'a> View<'a> for LegacyView<'a> {
    type Owned = Legacy;
    fn decode_fields(mut r: StructReader<'a>) -> Result<Self, DecodeError> {
        let mut v = LegacyView::default();
        while let Some(f) = r.next_field()? {
            match f.id {
                -1 => v.name = r.read(f)?,
                1 => v.id = r.read(f)?,
                -2 => v.codes = r.read(f)?,
                _ => r.skip(f)?,
            }
        }
        Ok(v)
    }
    fn to_owned_value(&self) -> Result<Legacy, DecodeError> {
        Ok(Legacy { name: self.name.to_owned(), id: self.id, codes: self.codes.to_owned_value()? })
    }
}

impl Message for Legacy {
    type View<'a> = LegacyView<'a>;
}

/// `struct Node { 1: i32 value; 2: optional Node next }` — recursive, so the view is lazy.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Node {
    pub value: i32,
    pub next: Option<Box<Node>>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct NodeView<'a> {
    pub value: i32,
    pub next: Option<Lazy<'a, NodeView<'a>>>,
}

impl Encode for Node {
    fn encode(&self, w: &mut Writer<'_>) {
        w.key(1, WireType::Varint);
        w.signed(self.value.into());
        if let Some(next) = &self.next {
            w.key(2, WireType::Struct);
            w.message(next.as_ref());
        }
    }
    fn encoded_len(&self) -> usize {
        1 + size::signed(self.value.into())
            + self.next.as_ref().map_or(0, |n| 1 + size::delimited(n.encoded_len()))
    }
}

impl<'a> View<'a> for NodeView<'a> {
    type Owned = Node;
    fn decode_fields(mut r: StructReader<'a>) -> Result<Self, DecodeError> {
        let mut v = NodeView::default();
        while let Some(f) = r.next_field()? {
            match f.id {
                1 => v.value = r.read(f)?,
                2 => v.next = Some(r.read(f)?),
                _ => r.skip(f)?,
            }
        }
        Ok(v)
    }
    fn to_owned_value(&self) -> Result<Node, DecodeError> {
        Ok(Node {
            value: self.value,
            next: self.next.map(|n| n.get()?.to_owned_value().map(Box::new)).transpose()?,
        })
    }
}

impl Message for Node {
    type View<'a> = NodeView<'a>;
}

/// `struct PersonV1 { 1: string name; 2: i32 age }`
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PersonV1 {
    pub name: String,
    pub age: i32,
}

/// `struct PersonV2 { 1: string name; 2: i32 age; 3: optional string email;
///  4: list<string> nicknames; 5: optional Point home }` — fields added later.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PersonV2 {
    pub name: String,
    pub age: i32,
    pub email: Option<String>,
    pub nicknames: Vec<String>,
    pub home: Option<Point>,
}

#[derive(Clone, Copy, Debug)]
pub struct PersonV1View<'a> {
    pub name: &'a str,
    pub age: i32,
}

#[derive(Clone, Copy, Debug)]
pub struct PersonV2View<'a> {
    pub name: &'a str,
    pub age: i32,
    pub email: Option<&'a str>,
    pub nicknames: ListView<'a, &'a str>,
    pub home: Option<PointView>,
}

impl Encode for PersonV1 {
    fn encode(&self, w: &mut Writer<'_>) {
        w.key(1, WireType::Bytes);
        w.str(&self.name);
        w.key(2, WireType::Varint);
        w.signed(self.age.into());
    }
    fn encoded_len(&self) -> usize {
        2 + size::bytes(self.name.len()) + size::signed(self.age.into())
    }
}

impl Encode for PersonV2 {
    fn encode(&self, w: &mut Writer<'_>) {
        w.key(1, WireType::Bytes);
        w.str(&self.name);
        w.key(2, WireType::Varint);
        w.signed(self.age.into());
        if let Some(email) = &self.email {
            w.key(3, WireType::Bytes);
            w.str(email);
        }
        w.key(4, WireType::List);
        w.list_header(WireType::Bytes, self.nicknames.len());
        self.nicknames.iter().for_each(|n| w.str(n));
        if let Some(home) = &self.home {
            w.key(5, WireType::Struct);
            w.message(home);
        }
    }
    fn encoded_len(&self) -> usize {
        2 + size::bytes(self.name.len())
            + size::signed(self.age.into())
            + self.email.as_ref().map_or(0, |e| 1 + size::bytes(e.len()))
            + 1
            + size::list(
                self.nicknames.len(),
                self.nicknames.iter().map(|n| size::bytes(n.len())).sum(),
            )
            + self.home.as_ref().map_or(0, |h| 1 + size::delimited(h.encoded_len()))
    }
}

impl<'a> View<'a> for PersonV1View<'a> {
    type Owned = PersonV1;
    fn decode_fields(mut r: StructReader<'a>) -> Result<Self, DecodeError> {
        let mut v = PersonV1View { name: "", age: 0 };
        while let Some(f) = r.next_field()? {
            match f.id {
                1 => v.name = r.read(f)?,
                2 => v.age = r.read(f)?,
                _ => r.skip(f)?,
            }
        }
        Ok(v)
    }
    fn to_owned_value(&self) -> Result<PersonV1, DecodeError> {
        Ok(PersonV1 { name: self.name.to_owned(), age: self.age })
    }
}

impl<'a> View<'a> for PersonV2View<'a> {
    type Owned = PersonV2;
    fn decode_fields(mut r: StructReader<'a>) -> Result<Self, DecodeError> {
        let mut v = PersonV2View {
            name: "",
            age: 0,
            email: None,
            nicknames: ListView::empty(),
            home: None,
        };
        while let Some(f) = r.next_field()? {
            match f.id {
                1 => v.name = r.read(f)?,
                2 => v.age = r.read(f)?,
                3 => v.email = Some(r.read(f)?),
                4 => v.nicknames = r.read(f)?,
                5 => v.home = Some(r.read(f)?),
                _ => r.skip(f)?,
            }
        }
        Ok(v)
    }
    fn to_owned_value(&self) -> Result<PersonV2, DecodeError> {
        Ok(PersonV2 {
            name: self.name.to_owned(),
            age: self.age,
            email: self.email.map(str::to_owned),
            nicknames: self.nicknames.to_owned_value()?,
            home: self.home.map(|h| h.to_owned_value()).transpose()?,
        })
    }
}

impl Message for PersonV1 {
    type View<'a> = PersonV1View<'a>;
}

impl Message for PersonV2 {
    type View<'a> = PersonV2View<'a>;
}
