//! Byte ranges in one source file.

/// A byte range `start..end` in one file, stored in 8 bytes: every AST node carries spans,
/// and halving them measurably sped up parsing. Files are far below 4 GiB; larger offsets
/// saturate (pointing at the end) rather than wrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// The range `start..end` (offsets past 4 GiB saturate).
    pub fn new(start: usize, end: usize) -> Self {
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Span { start: clamp(start), end: clamp(end) }
    }

    /// Its first byte.
    pub fn start(self) -> usize {
        self.start as usize
    }

    /// One past its last byte.
    pub fn end(self) -> usize {
        self.end as usize
    }

    /// `start..end`.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start()..self.end()
    }
}

/// Index of a file in the [`crate::SourceMap`].
pub type FileId = usize;

/// A span together with the file it is in, for labels that point into another file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FileSpan {
    /// The file.
    pub file: FileId,
    /// The range in it.
    pub span: Span,
}
