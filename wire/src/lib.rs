//! `ferry-wire`: Ferry's binary encoding (normative description: `spec/wire.md`).
//!
//! - [`Writer`] encodes into a caller-owned buffer; [`Encode`] is what generated structs
//!   implement.
//! - [`View`]s decode without copying: strings and bytes borrow from the message, and
//!   [`ListView`] / [`MapView`] decode elements lazily as they are iterated.
//! - Every decode error is a [`DecodeError`] with the byte offset; limits live in
//!   [`DecodeOptions`]. No input makes the decoder panic or allocate more than a constant
//!   times its length.
//! - [`dynamic`] walks and re-encodes any message without its schema.
//!
//! Generated code writes and reads fields through [`Writer`] and [`StructReader`]; by hand:
//!
//! ```
//! use ferry_wire::{dynamic, DecodeOptions, Encode, Reader, WireType, Writer};
//!
//! let mut bytes = Vec::new();
//! let mut w = Writer::new(&mut bytes);
//! w.key(1, WireType::Varint);
//! w.signed(-2);
//! w.key(2, WireType::Bytes);
//! w.str("hi");
//! assert_eq!(bytes, [0x08, 0x03, 0x13, 0x02, b'h', b'i']);
//!
//! // Without the schema: every field, checked, and re-encoded byte for byte.
//! let message = dynamic::decode(&bytes, &DecodeOptions::DEFAULT)?;
//! assert_eq!(message.encode_to_vec(), bytes);
//!
//! // Errors say what and where.
//! let err = dynamic::decode(&bytes[..4], &DecodeOptions::DEFAULT).unwrap_err();
//! assert_eq!((err.kind().code(), err.offset()), ("truncated", 3));
//! # let _ = Reader::new(&bytes);
//! # Ok::<(), ferry_wire::DecodeError>(())
//! ```
// `unsafe` is denied everywhere but `utf8`, which allows it for one proven fast path.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod container;
pub mod dynamic;
mod error;
mod message;
mod options;
mod reader;
mod utf8;
mod varint;
mod wire_type;
mod writer;

pub use container::{read_default, Element, Lazy, ListIter, ListView, MapIter, MapView};
pub use error::{DecodeError, ErrorKind};
pub use message::{decode_view, decode_view_with, Field, Message, StructReader, View};
pub use options::{DecodeOptions, Validation};
pub use reader::Reader;
pub use varint::{varint_len, zigzag_decode, zigzag_encode};
pub use wire_type::WireType;
pub use writer::{key_code, size, Encode, Writer};
