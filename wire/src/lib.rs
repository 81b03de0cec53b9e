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
