//! Articles as scraped: cleaning ([`clean`]) and segmentation ([`segment`]).

pub mod clean;
pub mod segment;

pub use clean::{Cleaned, Removal, clean};
pub use segment::Paragraph;

/// A cleaned article split into paragraphs of sentences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// What cleaning removed.
    pub removed: Vec<Removal>,
    /// Paragraphs with text, in order.
    pub paragraphs: Vec<Paragraph>,
}

impl Article {
    /// Cleans `text` and splits it; sentences are kept within `max_tokens` as
    /// `count` counts tokens.
    pub fn prepare(text: &str, max_tokens: usize, count: &dyn Fn(&str) -> usize) -> Self {
        let cleaned = clean(text);
        Self { removed: cleaned.removed, paragraphs: segment::paragraphs(&cleaned.lines, max_tokens, count) }
    }

    /// Number of sentences.
    pub fn sentence_count(&self) -> usize {
        self.paragraphs.iter().map(|p| p.sentences.len()).sum()
    }
}
