//! The seven wire types: what a skipper needs to know to step over any value.

use core::fmt;

/// How a value is laid out on the wire, independent of its IDL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum WireType {
    /// LEB128 varint: bool, integers (signed ones zigzag-encoded), enums.
    Varint = 0,
    /// 8 bytes little-endian: double.
    Fixed64 = 1,
    /// 4 bytes little-endian: f32.
    Fixed32 = 2,
    /// Varint length, then that many bytes: string, binary, uuid.
    Bytes = 3,
    /// Varint length, then fields: struct, union, exception.
    Struct = 4,
    /// Count and element type, then the elements: list, set.
    List = 5,
    /// Key and value types, count, then the pairs: map.
    Map = 6,
}

impl WireType {
    /// Every wire type, in code order.
    pub const ALL: [WireType; 7] = [
        WireType::Varint,
        WireType::Fixed64,
        WireType::Fixed32,
        WireType::Bytes,
        WireType::Struct,
        WireType::List,
        WireType::Map,
    ];

    /// Decodes the 3-bit code; 7 is reserved and yields `None`.
    #[inline]
    pub fn from_code(code: u8) -> Option<WireType> {
        Some(match code {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Fixed32,
            3 => WireType::Bytes,
            4 => WireType::Struct,
            5 => WireType::List,
            6 => WireType::Map,
            _ => return None,
        })
    }

    /// The smallest number of bytes a value of this type occupies (as a list element).
    #[inline]
    pub fn min_len(self) -> usize {
        match self {
            WireType::Fixed64 => 8,
            WireType::Fixed32 => 4,
            WireType::Map => 2,
            _ => 1,
        }
    }

    /// Lower-case name used in error messages and dumps.
    pub fn name(self) -> &'static str {
        match self {
            WireType::Varint => "varint",
            WireType::Fixed64 => "fixed64",
            WireType::Fixed32 => "fixed32",
            WireType::Bytes => "bytes",
            WireType::Struct => "struct",
            WireType::List => "list",
            WireType::Map => "map",
        }
    }
}

impl fmt::Display for WireType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
