//! Subword pieces to whitespace words, and words to character spans.
//!
//! SentencePiece marks the start of a word with `▁` (U+2581). A word is a run of
//! pieces from one that starts with `▁` up to the next such piece; pieces without
//! visible text (a lone `▁`, special tokens) join the word in progress, so a lone
//! `▁` followed by a piece that starts with `▁` does not make an empty word.
//!
//! Spans: each piece brings the byte range of the line it stands for (or none);
//! a word spans from the first to the last non-whitespace byte its pieces cover,
//! counted in characters (Unicode scalar values) of the line.

use std::ops::Range;

use crate::tokenizer::Token;

/// SentencePiece's word-start mark.
const WORD_START: char = '\u{2581}';

/// One word of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word as the line writes it (its pieces joined when it has no span).
    pub text: String,
    /// Characters of the line it covers; `None` when none of its pieces could be
    /// located in the line.
    pub span: Option<Range<usize>>,
    /// Its pieces: indices into the line's tokens.
    pub pieces: Range<usize>,
}

/// Groups pieces into words (see the module documentation). `pieces` are the
/// pieces' surfaces, empty for tokens without text. Returns each word's range of
/// piece indices, in order, covering every piece.
pub fn group_words(pieces: &[&str]) -> Vec<Range<usize>> {
    let mut words: Vec<Range<usize>> = Vec::new();
    let mut has_text = false;
    for (i, piece) in pieces.iter().enumerate() {
        let visible = !piece.trim_start_matches(WORD_START).is_empty();
        match words.last_mut() {
            Some(word) if !(piece.starts_with(WORD_START) && has_text) => {
                word.end = i + 1;
                has_text |= visible;
            }
            _ => {
                words.push(i..i + 1);
                has_text = visible;
            }
        }
    }
    // A last word without text (a trailing lone `▁`) belongs to the one before.
    if !has_text && words.len() > 1 {
        let last = words.pop().map_or(0, |w| w.end);
        if let Some(word) = words.last_mut() {
            word.end = last;
        }
    }
    words
}

/// Builds the words of `line` from its tokens' pieces and byte spans (`spans[i]`
/// for `pieces[i]`).
pub(super) fn words(line: &str, pieces: &[&str], spans: &[Option<Range<usize>>]) -> Vec<Word> {
    let chars = CharIndex::new(line);
    group_words(pieces)
        .into_iter()
        .map(|range| {
            let bytes = spans[range.clone()]
                .iter()
                .flatten()
                .filter_map(|span| trimmed(line, span.clone()))
                .reduce(|a, b| a.start.min(b.start)..a.end.max(b.end));
            let text = match &bytes {
                Some(bytes) => line[bytes.clone()].to_owned(),
                None => pieces[range.clone()].concat().replace(WORD_START, " ").trim().to_owned(),
            };
            Word { text, span: bytes.map(|b| chars.of(b.start)..chars.of(b.end)), pieces: range }
        })
        .collect()
}

/// The source side: the tokens of [`crate::tokenizer::MarianTokenizer::encode_tokens`]
/// without the final `</s>`.
pub(super) fn token_words(line: &str, tokens: &[Token]) -> Vec<Word> {
    let pieces: Vec<&str> = tokens.iter().map(|t| t.piece.as_str()).collect();
    let spans: Vec<Option<Range<usize>>> = tokens.iter().map(|t| Some(t.span.clone())).collect();
    words(line, &pieces, &spans)
}

/// `span` of `line` without whitespace at either end; `None` when nothing is left
/// or the span is not on character boundaries of `line`.
fn trimmed(line: &str, span: Range<usize>) -> Option<Range<usize>> {
    let text = line.get(span.clone())?;
    let start = span.start + (text.len() - text.trim_start().len());
    let end = span.start + text.trim_end().len();
    (start < end).then_some(start..end)
}

/// Locates generated pieces in the text they decode to (`decode` joins them, turns
/// `▁` into spaces and trims the ends): each piece's text is looked for after the
/// previous one, past whitespace. Pieces without text, or not found there, get
/// `None`.
pub(super) fn locate(text: &str, pieces: &[&str]) -> Vec<Option<Range<usize>>> {
    let mut cursor = 0;
    pieces
        .iter()
        .map(|piece| {
            let surface = piece.replace(WORD_START, " ");
            let surface = surface.trim();
            if surface.is_empty() {
                return None;
            }
            let rest = &text[cursor..];
            let start = cursor + (rest.len() - rest.trim_start().len());
            if !text[start..].starts_with(surface) {
                return None;
            }
            cursor = start + surface.len();
            Some(start..cursor)
        })
        .collect()
}

/// Byte offsets of a text to character offsets.
struct CharIndex {
    /// Byte offset of each character, then the text's length.
    starts: Vec<usize>,
}

impl CharIndex {
    fn new(text: &str) -> Self {
        Self { starts: text.char_indices().map(|(i, _)| i).chain([text.len()]).collect() }
    }

    /// Characters before byte `byte` (a character boundary).
    fn of(&self, byte: usize) -> usize {
        self.starts.partition_point(|&b| b < byte)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_group_into_words_at_word_starts() {
        assert_eq!(group_words(&["▁The", "▁govern", "ment", "▁said", "."]), vec![0..1, 1..3, 3..5]);
        // A lone ▁ starts a word whose text follows; before a ▁ piece it makes none.
        assert_eq!(group_words(&["▁a", "▁", "٢٠", "٢٤", "▁", "▁b"]), vec![0..1, 1..4, 4..6]);
        // Tokens without text join the word in progress; a trailing lone ▁ too.
        assert_eq!(group_words(&["▁x", "", "y", "▁z", "▁"]), vec![0..3, 3..5]);
        // A first piece without ▁ (a language code) is a word of its own.
        assert_eq!(group_words(&[">>ara<<", "▁a", "b"]), vec![0..1, 1..3]);
        assert_eq!(group_words(&["", "▁a"]), vec![0..2]);
        assert_eq!(group_words(&["▁"]), vec![0..1]);
        assert_eq!(group_words(&[]), Vec::<Range<usize>>::new());
    }

    #[test]
    fn words_span_characters_of_the_line() {
        // "قال" is 6 bytes, "  " 2, "الوزير" 12, "." 1.
        let line = "قال  الوزير.";
        let pieces = ["▁قال", "▁", "الو", "زير", "."];
        let spans = [Some(0..6), Some(6..8), Some(8..14), Some(14..20), Some(20..21)];
        let spans: Vec<Option<Range<usize>>> = spans.into_iter().collect();
        let got = words(line, &pieces, &spans);
        assert_eq!(
            got,
            vec![
                Word { text: "قال".into(), span: Some(0..3), pieces: 0..1 },
                Word { text: "الوزير.".into(), span: Some(5..12), pieces: 1..5 },
            ]
        );
        // A word none of whose pieces has a span keeps its pieces' text.
        let got = words("x", &["▁a", "b"], &[None, None]);
        assert_eq!(got, vec![Word { text: "ab".into(), span: None, pieces: 0..2 }]);
    }

    #[test]
    fn generated_pieces_are_located_in_the_decoded_text() {
        let text = "The govern ment, said";
        let pieces = ["▁The", "▁govern", "", "▁ment", ",", "▁", "said", "▁missing"];
        assert_eq!(
            locate(text, &pieces),
            vec![Some(0..3), Some(4..10), None, Some(11..15), Some(15..16), None, Some(17..21), None]
        );
    }

    #[test]
    fn char_index() {
        let index = CharIndex::new("aب c");
        assert_eq!([0, 1, 3, 4, 5].map(|b| index.of(b)), [0, 1, 2, 3, 4]);
    }
}
