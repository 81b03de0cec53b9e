//! Limits applied to untrusted input.

/// Limits that bound the work and memory spent on one message.
///
/// Element counts need no option: a container's count is checked against the bytes that
/// remain before anything is allocated, so memory stays proportional to the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// How deeply structs, lists and maps may nest. Default: 64.
    ///
    /// Owned conversion recurses once per level, so this bounds stack use.
    pub max_depth: u16,
    /// The longest message accepted, in bytes. Default: 16 MiB.
    pub max_message_size: usize,
}

impl DecodeOptions {
    /// The documented defaults (`max_depth` 64, `max_message_size` 16 MiB).
    pub const DEFAULT: DecodeOptions =
        DecodeOptions { max_depth: 64, max_message_size: 16 * 1024 * 1024 };
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}
