//! Lists, sets, maps and nested structs, iterated lazily over the message bytes.

use core::fmt;
use core::marker::PhantomData;

use crate::error::{DecodeError, ErrorKind};
use crate::message::{StructReader, View};
use crate::reader::Reader;
use crate::WireType;

/// A value that can be read from the wire: a field's value or a container element.
pub trait Element<'a>: Sized + Copy {
    /// The wire type of this value.
    const WIRE_TYPE: WireType;
    /// The owned form (`String` for `&str`, `Vec<T>` for a list, …).
    type Owned;
    /// Reads one value; `depth_left` is how many nesting levels may still be entered.
    fn read(r: &mut Reader<'a>, depth_left: u16) -> Result<Self, DecodeError>;
    /// Converts to the owned form.
    fn to_owned_element(&self) -> Result<Self::Owned, DecodeError>;
}

macro_rules! scalar_element {
    ($ty:ty, $wire:ident, |$r:ident| $read:expr) => {
        impl<'a> Element<'a> for $ty {
            const WIRE_TYPE: WireType = WireType::$wire;
            type Owned = $ty;
            #[inline(always)]
            fn read($r: &mut Reader<'a>, _depth_left: u16) -> Result<Self, DecodeError> {
                $read
            }
            #[inline]
            fn to_owned_element(&self) -> Result<$ty, DecodeError> {
                Ok(*self)
            }
        }
    };
}

scalar_element!(bool, Varint, |r| r.bool());
scalar_element!(i8, Varint, |r| r.signed(i8::MIN.into(), i8::MAX.into()).map(|v| v as i8));
scalar_element!(i16, Varint, |r| r.signed(i16::MIN.into(), i16::MAX.into()).map(|v| v as i16));
scalar_element!(i32, Varint, |r| r.signed(i32::MIN.into(), i32::MAX.into()).map(|v| v as i32));
scalar_element!(i64, Varint, |r| r.signed(i64::MIN, i64::MAX));
scalar_element!(u8, Varint, |r| r.unsigned(u8::MAX.into()).map(|v| v as u8));
scalar_element!(u16, Varint, |r| r.unsigned(u16::MAX.into()).map(|v| v as u16));
scalar_element!(u32, Varint, |r| r.unsigned(u32::MAX.into()).map(|v| v as u32));
scalar_element!(u64, Varint, |r| r.varint());
scalar_element!(f32, Fixed32, |r| r.f32());
scalar_element!(f64, Fixed64, |r| r.f64());
scalar_element!([u8; 16], Bytes, |r| r.uuid());

impl<'a> Element<'a> for &'a str {
    const WIRE_TYPE: WireType = WireType::Bytes;
    type Owned = String;
    #[inline(always)]
    fn read(r: &mut Reader<'a>, _depth_left: u16) -> Result<Self, DecodeError> {
        r.str()
    }
    #[inline]
    fn to_owned_element(&self) -> Result<String, DecodeError> {
        Ok((*self).to_owned())
    }
}

impl<'a> Element<'a> for &'a [u8] {
    const WIRE_TYPE: WireType = WireType::Bytes;
    type Owned = Vec<u8>;
    #[inline(always)]
    fn read(r: &mut Reader<'a>, _depth_left: u16) -> Result<Self, DecodeError> {
        r.bytes()
    }
    #[inline]
    fn to_owned_element(&self) -> Result<Vec<u8>, DecodeError> {
        Ok(self.to_vec())
    }
}

/// A struct value decoded eagerly into its view (fields and container elements).
/// Recursive types use [`Lazy`] instead, since a view cannot contain itself.
impl<'a, V: View<'a>> Element<'a> for V {
    const WIRE_TYPE: WireType = WireType::Struct;
    type Owned = V::Owned;
    #[inline(always)]
    fn read(r: &mut Reader<'a>, depth_left: u16) -> Result<Self, DecodeError> {
        let depth_left = r.descend(depth_left)?;
        let body = r.delimited()?;
        V::decode_fields(StructReader::nested(body, depth_left))
    }
    #[inline]
    fn to_owned_element(&self) -> Result<V::Owned, DecodeError> {
        View::to_owned_value(self)
    }
}

/// Reads one value from its encoding in `bytes`: generated views use it for IDL defaults of
/// container type, kept as constant encoded bytes so an absent field views as its default.
pub fn read_default<'a, T: Element<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    T::read(&mut Reader::new(bytes), u16::MAX)
}

/// A nested struct not decoded yet: needed for recursive types, whose views cannot
/// contain themselves. [`Lazy::get`] decodes it.
#[derive(Clone, Copy)]
pub struct Lazy<'a, V> {
    body: Reader<'a>,
    depth_left: u16,
    view: PhantomData<V>,
}

impl<'a, V: View<'a>> Lazy<'a, V> {
    /// Decodes the struct.
    pub fn get(&self) -> Result<V, DecodeError> {
        V::decode_fields(StructReader::nested(self.body, self.depth_left))
    }
}

impl<V> fmt::Debug for Lazy<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lazy({} bytes at {})", self.body.remaining().len(), self.body.offset())
    }
}

impl<'a, V: View<'a>> Element<'a> for Lazy<'a, V> {
    const WIRE_TYPE: WireType = WireType::Struct;
    type Owned = V::Owned;
    #[inline(always)]
    fn read(r: &mut Reader<'a>, depth_left: u16) -> Result<Self, DecodeError> {
        let depth_left = r.descend(depth_left)?;
        let body = r.delimited()?;
        if !r.is_strict() {
            return Ok(Lazy { body, depth_left, view: PhantomData });
        }
        V::decode_fields(StructReader::nested(body, depth_left))?;
        Ok(Lazy { body: body.checked(), depth_left, view: PhantomData })
    }
    fn to_owned_element(&self) -> Result<V::Owned, DecodeError> {
        View::to_owned_value(&self.get()?)
    }
}

/// Checks a container's declared wire type against the schema's.
fn expect_type(at: usize, found: WireType, expected: WireType) -> Result<(), DecodeError> {
    if found != expected {
        return Err(DecodeError::new(ErrorKind::ElementTypeMismatch { expected, found }, at));
    }
    Ok(())
}

/// A list or set whose elements are decoded as they are iterated.
pub struct ListView<'a, T> {
    elements: Reader<'a>,
    count: usize,
    depth_left: u16,
    element: PhantomData<T>,
}

impl<T> Clone for ListView<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ListView<'_, T> {}

impl<T> fmt::Debug for ListView<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListView({} elements at {})", self.count, self.elements.offset())
    }
}

impl<'a, T: Element<'a>> ListView<'a, T> {
    /// An empty list (the value of an absent list field).
    pub fn empty() -> Self {
        ListView { elements: Reader::new(&[]), count: 0, depth_left: 0, element: PhantomData }
    }

    /// Number of elements, as declared by the header (checked against the length).
    pub fn len(&self) -> usize {
        self.count
    }

    /// True for a list without elements.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Iterates the elements; each is decoded (and checked) as it is reached.
    pub fn iter(&self) -> ListIter<'a, T> {
        ListIter {
            rest: self.elements,
            left: self.count,
            depth_left: self.depth_left,
            failed: false,
            element: PhantomData,
        }
    }

    /// Copies every element into a `Vec` of owned values.
    pub fn to_owned_value(&self) -> Result<Vec<T::Owned>, DecodeError> {
        self.to_owned_element()
    }

    /// Converts every element with `f` into a `Vec`, reserving for what the input can hold.
    /// Generated code uses it to build owned lists of any element type.
    pub fn map_owned<U>(
        &self,
        mut f: impl FnMut(T) -> Result<U, DecodeError>,
    ) -> Result<Vec<U>, DecodeError> {
        let mut out = Vec::with_capacity(self.count.min(self.elements.remaining().len()).min(1024));
        for e in self.iter() {
            out.push(f(e?)?);
        }
        Ok(out)
    }

    /// Collects the owned elements into any collection (`Vec`, `BTreeSet`, …).
    pub fn collect_owned<C: FromIterator<T::Owned>>(&self) -> Result<C, DecodeError> {
        self.iter().map(|e| e.and_then(|e| e.to_owned_element())).collect()
    }
}

impl<'a, T: Element<'a>> Default for ListView<'a, T> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<'a, T: Element<'a>> IntoIterator for ListView<'a, T> {
    type Item = Result<T, DecodeError>;
    type IntoIter = ListIter<'a, T>;
    fn into_iter(self) -> ListIter<'a, T> {
        self.iter()
    }
}

impl<'a, T: Element<'a>> Element<'a> for ListView<'a, T> {
    const WIRE_TYPE: WireType = WireType::List;
    type Owned = Vec<T::Owned>;
    fn read(r: &mut Reader<'a>, depth_left: u16) -> Result<Self, DecodeError> {
        let depth_left = r.descend(depth_left)?;
        let header = r.offset();
        let (element_type, count) = r.list_header()?;
        expect_type(header, element_type, T::WIRE_TYPE)?;
        // Find the list's end now, so the view is a bounded region iterated later; strict
        // validation reads (and so checks) every element on the way.
        let elements = if r.is_strict() {
            r.region(|r| (0..count).try_for_each(|_| T::read(r, depth_left).map(drop)))?.checked()
        } else {
            r.region(|r| r.skip_elements(element_type, count, depth_left))?
        };
        Ok(ListView { elements, count, depth_left, element: PhantomData })
    }
    fn to_owned_element(&self) -> Result<Vec<T::Owned>, DecodeError> {
        // Reserve for what the input can hold, not more: owned elements can be much larger
        // than their encodings (an empty struct is one byte), and the count is unverified
        // until the elements decode.
        let mut out = Vec::with_capacity(self.count.min(self.elements.remaining().len()).min(1024));
        for e in self.iter() {
            out.push(e?.to_owned_element()?);
        }
        Ok(out)
    }
}

/// Iterator over a [`ListView`]; yields an error (and then stops) on malformed input.
#[derive(Debug)]
pub struct ListIter<'a, T> {
    rest: Reader<'a>,
    left: usize,
    depth_left: u16,
    failed: bool,
    element: PhantomData<T>,
}

impl<'a, T: Element<'a>> Iterator for ListIter<'a, T> {
    type Item = Result<T, DecodeError>;
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let item = T::read(&mut self.rest, self.depth_left);
        self.failed = item.is_err();
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

/// A map whose entries are decoded as they are iterated.
pub struct MapView<'a, K, V> {
    entries: Reader<'a>,
    count: usize,
    depth_left: u16,
    types: PhantomData<(K, V)>,
}

impl<K, V> Clone for MapView<'_, K, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K, V> Copy for MapView<'_, K, V> {}

impl<K, V> fmt::Debug for MapView<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapView({} entries at {})", self.count, self.entries.offset())
    }
}

impl<'a, K: Element<'a>, V: Element<'a>> MapView<'a, K, V> {
    /// An empty map (the value of an absent map field).
    pub fn empty() -> Self {
        MapView { entries: Reader::new(&[]), count: 0, depth_left: 0, types: PhantomData }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True for a map without entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Iterates the entries in wire order.
    pub fn iter(&self) -> MapIter<'a, K, V> {
        MapIter {
            rest: self.entries,
            left: self.count,
            depth_left: self.depth_left,
            failed: false,
            types: PhantomData,
        }
    }

    /// Collects owned entries into any map type (`HashMap`, `BTreeMap`, …).
    pub fn collect_owned<C: FromIterator<(K::Owned, V::Owned)>>(&self) -> Result<C, DecodeError> {
        self.iter()
            .map(|e| e.and_then(|(k, v)| Ok((k.to_owned_element()?, v.to_owned_element()?))))
            .collect()
    }
}

impl<'a, K: Element<'a>, V: Element<'a>> Default for MapView<'a, K, V> {
    fn default() -> Self {
        Self::empty()
    }
}

/// Nested maps convert to entry vectors: keys need not be ordered or hashable (Thrift allows
/// struct keys). Use [`MapView::collect_owned`] to build a `BTreeMap` or `HashMap`.
impl<'a, K: Element<'a>, V: Element<'a>> Element<'a> for MapView<'a, K, V> {
    const WIRE_TYPE: WireType = WireType::Map;
    type Owned = Vec<(K::Owned, V::Owned)>;
    fn read(r: &mut Reader<'a>, depth_left: u16) -> Result<Self, DecodeError> {
        let depth_left = r.descend(depth_left)?;
        let header = r.offset();
        let (key_type, value_type, count) = r.map_header()?;
        expect_type(header, key_type, K::WIRE_TYPE)?;
        expect_type(header, value_type, V::WIRE_TYPE)?;
        let strict = r.is_strict();
        let entries = r.region(|r| {
            (0..count).try_for_each(|_| {
                if strict {
                    // Read (and so checked) in full; iteration reads through `checked()`.
                    K::read(r, depth_left)?;
                    V::read(r, depth_left).map(drop)
                } else {
                    r.skip(key_type, depth_left)?;
                    r.skip(value_type, depth_left)
                }
            })
        })?;
        let entries = if strict { entries.checked() } else { entries };
        Ok(MapView { entries, count, depth_left, types: PhantomData })
    }
    fn to_owned_element(&self) -> Result<Self::Owned, DecodeError> {
        self.collect_owned()
    }
}

/// Iterator over a [`MapView`]'s entries.
#[derive(Debug)]
pub struct MapIter<'a, K, V> {
    rest: Reader<'a>,
    left: usize,
    depth_left: u16,
    failed: bool,
    types: PhantomData<(K, V)>,
}

impl<'a, K: Element<'a>, V: Element<'a>> Iterator for MapIter<'a, K, V> {
    type Item = Result<(K, V), DecodeError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let entry = K::read(&mut self.rest, self.depth_left)
            .and_then(|k| Ok((k, V::read(&mut self.rest, self.depth_left)?)));
        self.failed = entry.is_err();
        Some(entry)
    }
}
