//! Limits applied to untrusted input, and how much of it is checked up front.

/// When the checks on values inside containers and nested lazy structs run
/// (spec/wire.md § 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Validation {
    /// Every error is found before decoding returns: each list, set and map element and each
    /// nested struct is checked against the schema when its container is reached, and the
    /// struct values of unknown fields are walked as struct bodies. The default.
    #[default]
    Strict,
    /// The message's framing (keys, lengths, container headers, element framing) is checked
    /// up front; what is inside string, struct and container elements is checked when an
    /// element is read, with the same error and offset strict mode reports, or never if it
    /// is not read. The struct values of unknown fields are stepped over by their length.
    Lazy,
}

/// Limits that bound the work and memory spent on one message.
///
/// Element counts need no option: a container's count is checked against the bytes that
/// remain before anything is allocated, so memory stays proportional to the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// How deeply structs, lists and maps may nest. Default: 64; 0 also means the default
    /// (as in the C decoder, where a zeroed options struct is the defaults).
    ///
    /// Owned conversion recurses once per level, so this bounds stack use.
    pub max_depth: u16,
    /// The longest message accepted, in bytes. Default: 16 MiB; 0 also means the default.
    pub max_message_size: usize,
    /// Strict (the default) or lazy checking of container elements.
    pub validation: Validation,
}

impl DecodeOptions {
    /// The documented defaults (`max_depth` 64, `max_message_size` 16 MiB, strict).
    pub const DEFAULT: DecodeOptions = DecodeOptions {
        max_depth: 64,
        max_message_size: 16 * 1024 * 1024,
        validation: Validation::Strict,
    };

    /// The defaults with [`Validation::Lazy`]: views that read part of a message pay only
    /// for the part they read.
    pub const LAZY: DecodeOptions =
        DecodeOptions { validation: Validation::Lazy, ..DecodeOptions::DEFAULT };
}

impl DecodeOptions {
    /// The limits in force: 0 stands for the default (spec/wire.md § 8).
    pub(crate) fn limits(&self) -> (u16, usize) {
        let depth = if self.max_depth == 0 { Self::DEFAULT.max_depth } else { self.max_depth };
        let size = match self.max_message_size {
            0 => Self::DEFAULT.max_message_size,
            n => n,
        };
        (depth, size)
    }
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_limits_mean_the_defaults_as_in_the_c_decoder() {
        // Field 1, a struct holding field 1 = 1: two levels, four bytes.
        let nested = [0x0c, 0x02, 0x08, 0x01];
        let zero = DecodeOptions { max_depth: 0, max_message_size: 0, ..DecodeOptions::DEFAULT };
        assert_eq!(zero.limits(), (64, 16 << 20));
        assert!(crate::dynamic::decode(&nested, &zero).is_ok());
        let one = DecodeOptions { max_depth: 1, ..DecodeOptions::DEFAULT };
        let e = crate::dynamic::decode(&nested, &one).unwrap_err();
        assert_eq!((e.kind().code(), e.offset()), ("depth_limit_exceeded", 1));
        let small = DecodeOptions { max_message_size: 3, ..DecodeOptions::DEFAULT };
        let e = crate::dynamic::decode(&nested, &small).unwrap_err();
        assert_eq!((e.kind().code(), e.offset()), ("message_too_large", 0));
    }
}
