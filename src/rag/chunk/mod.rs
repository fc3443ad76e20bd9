//! Text chunkers for the RAG pipeline: recursive-character splitting (plain
//! text, markdown, code) and fixed windows, measured in characters.
//!
//! Guarantees (checked by the property tests in `tests.rs`): every chunk has
//! `1..=chunk_size` characters; chunks are in order and cover the input with
//! no gap and nothing trimmed or dropped; consecutive chunks overlap by at
//! most `chunk_overlap` characters and always make progress; separators are
//! kept, attached to the start of the piece that follows them.

mod recursive;
#[cfg(test)]
mod tests;

use recursive::{Span, Splitter};

/// Chunk size used when a config asks for 0 characters.
pub const DEFAULT_CHUNK_SIZE: usize = 500;

/// Which separator list (or fixed windows) to split with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Recursive,
    Markdown,
    Code,
    Fixed,
}

impl Strategy {
    /// Parses a strategy name: `""`/`"recursive"`, `"markdown"`/`"md"`,
    /// `"code"`/`"go"`/`"python"`, `"fixed"`; anything else is `None`.
    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "" | "recursive" => Some(Strategy::Recursive),
            "markdown" | "md" => Some(Strategy::Markdown),
            "code" | "go" | "python" => Some(Strategy::Code),
            "fixed" => Some(Strategy::Fixed),
            _ => None,
        }
    }

    /// The separators this strategy tries, highest priority first. An empty
    /// string means "split between any two characters".
    pub fn separators(self) -> &'static [&'static str] {
        match self {
            Strategy::Recursive => &["\n\n", "\n", " ", ""],
            Strategy::Markdown => &["\n# ", "\n## ", "\n### ", "\n\n", "\n", " ", ""],
            Strategy::Code => &[
                "\nfn ", "\nfunc ", "\ndef ", "\nclass ", "\ntype ", "\nimpl ", "\n\n", "\n", " ",
                "",
            ],
            Strategy::Fixed => &[""],
        }
    }
}

/// How to split a text.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkConfig {
    pub strategy: Strategy,
    /// Maximum characters per chunk; 0 means [`DEFAULT_CHUNK_SIZE`].
    pub chunk_size: usize,
    /// Maximum characters shared by consecutive chunks. A value not below
    /// the chunk size is clamped to `chunk_size / 2`.
    pub chunk_overlap: usize,
    /// Custom separators replacing the strategy's list (ignored by
    /// [`Strategy::Fixed`]). Splitting between characters is always the
    /// implicit last resort, so chunks never exceed the size.
    pub separators: Option<Vec<String>>,
}

/// One chunk: `text` is exactly the input's characters `start..end`
/// (offsets in Unicode scalar values, `end` exclusive).
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// Effective `(chunk_size, chunk_overlap)` after clamping.
pub fn effective_sizes(cfg: &ChunkConfig) -> (usize, usize) {
    let size = if cfg.chunk_size == 0 {
        DEFAULT_CHUNK_SIZE
    } else {
        cfg.chunk_size
    };
    let overlap = if cfg.chunk_overlap >= size {
        size / 2
    } else {
        cfg.chunk_overlap
    };
    (size, overlap)
}

/// Splits `text` into chunks according to `cfg`. Empty input gives no chunk.
pub fn split(text: &str, cfg: &ChunkConfig) -> Vec<Chunk> {
    if text.is_empty() {
        return Vec::new();
    }
    let (size, overlap) = effective_sizes(cfg);
    let seps: Vec<String> = match (&cfg.separators, cfg.strategy) {
        (_, Strategy::Fixed) => Vec::new(),
        (Some(custom), _) => custom.clone(),
        (None, s) => s.separators().iter().map(|s| s.to_string()).collect(),
    };
    let splitter = Splitter {
        text,
        size,
        overlap,
        seps: &seps,
    };
    let whole = Span {
        b0: 0,
        b1: text.len(),
        c0: 0,
        c1: text.chars().count(),
    };
    splitter
        .run(whole)
        .into_iter()
        .map(|s| Chunk {
            text: text[s.b0..s.b1].to_string(),
            start: s.c0,
            end: s.c1,
        })
        .collect()
}
