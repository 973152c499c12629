//! Arabic folding for glossary matching, with a map back to the original text.
//!
//! The model reads raw Arabic (OPUS-MT's preprocessing does not fold letters), so
//! folding is used only to find terms: diacritics, Quranic marks, tatweel and
//! invisible format characters are removed; alef forms (أ إ آ ٱ) become ا, ى and
//! Persian ی become ي, ۀ becomes ه, Persian ک becomes ك (ة stays: it is
//! not the suffix ه); presentation forms
//! (ligatures such as ﻻ) are decomposed to their letters; whitespace runs become
//! one space. Every folded character remembers the byte range of the original
//! character it came from.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;

/// Folded text and, for each of its characters, the byte range in the original
/// text of the character it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    /// The folded text.
    pub text: String,
    /// One original byte range per character of `text`.
    pub origins: Vec<Range<usize>>,
}

impl Folded {
    /// Original byte range covered by the folded characters `chars` (a range of
    /// character indices into `text`); `None` for an empty or out-of-range span.
    pub fn original_span(&self, chars: Range<usize>) -> Option<Range<usize>> {
        if chars.is_empty() || chars.end > self.origins.len() {
            return None;
        }
        Some(self.origins[chars.start].start..self.origins[chars.end - 1].end)
    }
}

/// Characters removed by folding: harakat and tanwin, superscript alef, Quranic
/// annotation marks, tatweel, and invisible format characters (zero-width and
/// bidi controls, BOM).
pub fn is_removed(c: char) -> bool {
    matches!(c,
        '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{0640}'
        | '\u{06D6}'..='\u{06ED}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2069}'
        | '\u{FEFF}'
        | '\u{00AD}')
}

/// The folded form of one letter (after presentation forms are decomposed).
fn fold_letter(c: char) -> char {
    match c {
        'أ' | 'إ' | 'آ' | 'ٱ' | '\u{0672}' | '\u{0673}' => 'ا',
        'ى' | 'ی' | 'ې' => 'ي',
        'ۀ' | 'ە' => 'ه',
        'ک' | 'ڪ' => 'ك',
        'ٸ' => 'ي',
        'ٶ' => 'ؤ',
        _ => c,
    }
}

/// Whether `c` is in an Arabic presentation-forms block (decomposed by NFKC).
fn is_presentation_form(c: char) -> bool {
    matches!(c, '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFE}')
}

/// Folds `text` for matching (see the module documentation).
pub fn fold(text: &str) -> Folded {
    let mut out = String::with_capacity(text.len());
    let mut origins = Vec::with_capacity(text.len());
    let mut pending_space: Option<Range<usize>> = None;
    for (start, c) in text.char_indices() {
        let range = start..start + c.len_utf8();
        if c.is_whitespace() {
            // Leading whitespace is dropped; a run counts once, from its first character.
            if !out.is_empty() && pending_space.is_none() {
                pending_space = Some(range);
            }
            continue;
        }
        let mut push = |f: char, out: &mut String, origins: &mut Vec<Range<usize>>| {
            if is_removed(f) {
                // A mark belongs to the letter before it, within the same word.
                if pending_space.is_none()
                    && let Some(last) = origins.last_mut()
                    && last.end == range.start
                {
                    last.end = range.end;
                }
                return;
            }
            if let Some(space) = pending_space.take() {
                out.push(' ');
                origins.push(space);
            }
            out.push(fold_letter(f));
            origins.push(range.clone());
        };
        if is_presentation_form(c) {
            for f in std::iter::once(c).nfkc() {
                if f.is_whitespace() {
                    continue;
                }
                push(f, &mut out, &mut origins);
            }
        } else {
            push(c, &mut out, &mut origins);
        }
    }
    Folded { text: out, origins }
}

/// The folded form alone, for building keys.
pub fn fold_str(text: &str) -> String {
    fold(text).text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_letters_and_drops_marks() {
        assert_eq!(fold_str("أَحْمَد"), "احمد");
        assert_eq!(fold_str("إيران"), "ايران");
        assert_eq!(fold_str("آمرلي"), "امرلي");
        assert_eq!(fold_str("ٱلله"), "الله");
        assert_eq!(fold_str("مصطفى"), "مصطفي");
        assert_eq!(fold_str("الحكومة"), "الحكومة");
        assert_eq!(fold_str("جده"), "جده");
        assert_eq!(fold_str("پزشکیان"), "پزشكيان");
        assert_eq!(fold_str("حـــزب"), "حزب");
        assert_eq!(fold_str("حزب\u{200C}الله"), "حزبالله");
        assert_eq!(fold_str("  كتائب \t\n حزب  الله "), "كتائب حزب الله");
    }

    #[test]
    fn presentation_forms_decompose() {
        // U+FEFB is the lam-alef ligature; U+FE8D isolated alef; U+FEE1 isolated meem.
        assert_eq!(fold_str("\u{FEFB}"), "لا");
        assert_eq!(fold_str("\u{FE8D}\u{FEE1}"), "ام");
    }

    #[test]
    fn origins_point_back_into_the_original() {
        let text = "وَالحَشْد  الشعبي";
        let folded = fold(text);
        assert_eq!(folded.text, "والحشد الشعبي");
        assert_eq!(folded.origins.len(), folded.text.chars().count());
        for (c, range) in folded.text.chars().zip(&folded.origins) {
            let original = &text[range.clone()];
            if c == ' ' {
                assert_eq!(original, " ");
            } else {
                assert_eq!(fold_str(original), c.to_string());
            }
        }
        // Characters 1..6 ("الحشد") come from the original "الحَشْد" with its marks.
        let span = folded.original_span(1..6).unwrap();
        assert_eq!(&text[span], "الحَشْد");
        // A final mark belongs to the last letter.
        let marked = fold("حزبُ");
        assert_eq!(marked.original_span(0..3).unwrap(), 0..8);
        let ligature = fold("ب\u{FEFB}د");
        assert_eq!(ligature.text, "بلاد");
        assert_eq!(ligature.original_span(1..3).unwrap(), 2..5);
        assert_eq!(fold("").original_span(0..0), None);
    }
}
