//! Paragraphs and sentences of Arabic news text.
//!
//! Every non-empty line is a paragraph. A sentence ends after `.`, `!`, `?`,
//! `؟`, `؛` or `…` (and runs of them, with closing quotes and brackets that
//! follow) when whitespace or the paragraph's end comes next — but not after a
//! decimal point (3.5), nor after an abbreviation ([`ABBREVIATIONS`]) or a
//! single Latin capital (initials). A number or mark alone before a terminator
//! (a list item's `1.`) is no sentence: it opens the one that follows. A
//! sentence with more tokens than the model takes is split at commas (`،` `,`),
//! or at spaces when a clause alone is too long, never truncated. [`split`] gives the pieces as byte ranges of the
//! paragraph, so that offsets into the sentences map back to the line.

use std::ops::Range;

/// Words ending in `.` that do not end a sentence.
pub const ABBREVIATIONS: &[&str] = &[
    "د.", "م.", "هـ.", "ق.م.", "ص.", "ج.", "ت.", "أ.", "أ.د.", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "St.", "Jr.",
    "No.", "vs.", "etc.", "U.S.", "U.N.", "U.K.", "e.g.", "i.e.",
];

const TERMINATORS: &[char] = &['.', '!', '?', '؟', '؛', '…'];
const CLOSERS: &[char] = &['"', '\'', '»', '”', '’', ')', ']', '}', '›'];
const COMMAS: &[char] = &['،', ','];

/// One paragraph: its line number and sentences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    /// 1-based line of the article.
    pub line: usize,
    /// Its sentences, in order, trimmed.
    pub sentences: Vec<String>,
}

/// Whether the text before a terminator at byte `at` ends with an abbreviation
/// or an initial.
fn is_abbreviation(text: &str, at: usize) -> bool {
    let word_start =
        text[..at].rfind(char::is_whitespace).map_or(0, |i| i + text[i..].chars().next().map_or(1, char::len_utf8));
    let word = &text[word_start..at + 1];
    if ABBREVIATIONS.contains(&word) {
        return true;
    }
    let mut chars = word.chars();
    matches!((chars.next(), chars.next(), chars.next()), (Some(c), Some('.'), None) if c.is_ascii_uppercase())
}

/// Byte range `range` of `text` without its leading and trailing whitespace.
fn trimmed(text: &str, range: Range<usize>) -> Range<usize> {
    let piece = &text[range.clone()];
    let start = range.start + (piece.len() - piece.trim_start().len());
    let end = range.end - (piece.len() - piece.trim_end().len());
    start..end.max(start)
}

/// The sentences of one paragraph as byte ranges of `text`, in order, trimmed,
/// none empty.
pub fn sentence_spans(text: &str) -> Vec<Range<usize>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if !TERMINATORS.contains(&c) {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).map(|&(_, n)| n);
        let prev = i.checked_sub(1).map(|p| chars[p].1);
        let decimal = c == '.' && prev.is_some_and(|p| p.is_ascii_digit()) && next.is_some_and(|n| n.is_ascii_digit());
        if decimal || (c == '.' && is_abbreviation(text, at)) {
            i += 1;
            continue;
        }
        // Take the run of terminators and closers that follows.
        let mut j = i + 1;
        while j < chars.len() && (TERMINATORS.contains(&chars[j].1) || CLOSERS.contains(&chars[j].1)) {
            j += 1;
        }
        if j == chars.len() || chars[j].1.is_whitespace() {
            let end = chars.get(j).map_or(text.len(), |&(b, _)| b);
            let sentence = trimmed(text, start..end);
            // A number or mark alone (a list item's `1.`) opens the sentence
            // that follows rather than standing as one.
            if text[sentence.clone()].chars().any(char::is_alphabetic) {
                out.push(sentence);
                start = end;
            }
        }
        i = j;
    }
    let rest = trimmed(text, start..text.len());
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Splits one paragraph into sentences.
pub fn sentences(text: &str) -> Vec<String> {
    sentence_spans(text).into_iter().map(|s| text[s].to_string()).collect()
}

/// Splits the sentence at byte range `sentence` of `text` into pieces of at
/// most `max_tokens` tokens (as `count` counts them): at commas first, at
/// spaces when a clause alone is too long. A single word over the limit stays
/// whole (the caller reports it). Returns trimmed byte ranges of `text`.
pub fn fit_spans(
    text: &str,
    sentence: Range<usize>,
    max_tokens: usize,
    count: &dyn Fn(&str) -> usize,
) -> Vec<Range<usize>> {
    if count(&text[sentence.clone()]) <= max_tokens {
        return vec![sentence];
    }
    let clauses = split_after(text, sentence, |c| COMMAS.contains(&c));
    let mut out = Vec::new();
    for clause in pack(text, &clauses, max_tokens, count) {
        if count(&text[clause.clone()]) <= max_tokens {
            out.push(clause);
        } else {
            let words = split_after(text, clause, char::is_whitespace);
            out.extend(pack(text, &words, max_tokens, count));
        }
    }
    out
}

/// [`fit_spans`] of a whole sentence, as strings.
pub fn fit(sentence: &str, max_tokens: usize, count: &dyn Fn(&str) -> usize) -> Vec<String> {
    fit_spans(sentence, 0..sentence.len(), max_tokens, count).into_iter().map(|s| sentence[s].to_string()).collect()
}

/// The sentences of a paragraph, each split to fit `max_tokens` (see
/// [`sentence_spans`] and [`fit_spans`]), as trimmed byte ranges of `text`.
pub fn split(text: &str, max_tokens: usize, count: &dyn Fn(&str) -> usize) -> Vec<Range<usize>> {
    sentence_spans(text).into_iter().flat_map(|s| fit_spans(text, s, max_tokens, count)).collect()
}

/// Pieces of `range` of `text`, each ending after a character `is_end` accepts.
fn split_after(text: &str, range: Range<usize>, is_end: impl Fn(char) -> bool) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = range.start;
    for (at, c) in text[range.clone()].char_indices() {
        let end = range.start + at + c.len_utf8();
        if is_end(c) {
            out.push(start..end);
            start = end;
        }
    }
    if start < range.end {
        out.push(start..range.end);
    }
    out
}

/// Joins consecutive pieces while they fit; each result trimmed.
fn pack(text: &str, pieces: &[Range<usize>], max_tokens: usize, count: &dyn Fn(&str) -> usize) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut current: Option<Range<usize>> = None;
    for piece in pieces {
        current = match current {
            Some(now) if !trimmed(text, now.clone()).is_empty() => {
                let joined = trimmed(text, now.start..piece.end);
                if count(&text[joined]) > max_tokens {
                    out.push(trimmed(text, now));
                    Some(piece.clone())
                } else {
                    Some(now.start..piece.end)
                }
            }
            Some(now) => Some(now.start..piece.end),
            None => Some(piece.clone()),
        };
    }
    if let Some(now) = current.map(|c| trimmed(text, c)).filter(|c| !c.is_empty()) {
        out.push(now);
    }
    out
}

/// Paragraphs of cleaned lines (numbered from 1), each split into sentences
/// that fit `max_tokens`.
pub fn paragraphs(lines: &[String], max_tokens: usize, count: &dyn Fn(&str) -> usize) -> Vec<Paragraph> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| Paragraph {
            line: i + 1,
            sentences: split(line, max_tokens, count).into_iter().map(|s| line[s].to_string()).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_arabic_and_latin_terminators() {
        assert_eq!(
            sentences("قال الرئيس: «لن نتراجع.» ثم غادر! هل يعود؟ ربما؛ لا أحد يعلم… انتهى"),
            vec!["قال الرئيس: «لن نتراجع.»", "ثم غادر!", "هل يعود؟", "ربما؛", "لا أحد يعلم…", "انتهى"]
        );
    }

    #[test]
    fn numbers_abbreviations_and_initials_do_not_split() {
        assert_eq!(
            sentences("ارتفع المؤشر 3.5 بالمئة اليوم. وانخفض."),
            vec!["ارتفع المؤشر 3.5 بالمئة اليوم.", "وانخفض."]
        );
        assert_eq!(sentences("قال د. أحمد إن الوضع صعب."), vec!["قال د. أحمد إن الوضع صعب."]);
        assert_eq!(
            sentences("The U.S. envoy J. Smith left. He said so."),
            vec!["The U.S. envoy J. Smith left.", "He said so."]
        );
        assert_eq!(sentences("عام 2024.النص"), vec!["عام 2024.النص"]);
        assert_eq!(sentences("  "), Vec::<String>::new());
    }

    #[test]
    fn a_list_number_opens_its_sentence_instead_of_standing_alone() {
        assert_eq!(sentences("1. عاد الوفد. 2. غادر الرئيس."), vec!["1. عاد الوفد.", "2. غادر الرئيس."]);
        assert_eq!(sentences("وصل في عام 2024. ثم غادر."), vec!["وصل في عام 2024.", "ثم غادر."]);
    }

    #[test]
    fn spans_are_trimmed_byte_ranges_of_the_paragraph() {
        let text = "  أولى.   ثانية، طويلة جدا!  ";
        let words = |s: &str| s.split_whitespace().count();
        let spans = split(text, 2, &words);
        let pieces: Vec<&str> = spans.iter().map(|s| &text[s.clone()]).collect();
        assert_eq!(pieces, vec!["أولى.", "ثانية،", "طويلة جدا!"]);
        assert_eq!(spans[0].start, 2);
    }

    #[test]
    fn long_sentences_split_at_commas_then_spaces() {
        let words = |s: &str| s.split_whitespace().count();
        assert_eq!(fit("أ ب ج، د ه، و ز ح ط", 4, &words), vec!["أ ب ج،", "د ه،", "و ز ح ط"]);
        assert_eq!(fit("أ ب ج د ه و", 4, &words), vec!["أ ب ج د", "ه و"]);
        assert_eq!(fit("قصيرة", 4, &words), vec!["قصيرة"]);
        let text = "أ ب، ج د ه و ز ح، ط";
        let pieces = fit(text, 3, &words);
        assert_eq!(pieces, vec!["أ ب،", "ج د ه", "و ز ح،", "ط"]);
        assert_eq!(pieces.join(" "), text, "nothing is lost");
    }

    #[test]
    fn paragraphs_keep_line_numbers() {
        let lines = vec!["".to_string(), "أولى. ثانية.".to_string(), "ثالثة".to_string()];
        let got = paragraphs(&lines, 100, &|s: &str| s.len());
        assert_eq!(
            got,
            vec![
                Paragraph { line: 2, sentences: vec!["أولى.".into(), "ثانية.".into()] },
                Paragraph { line: 3, sentences: vec!["ثالثة".into()] },
            ]
        );
    }
}
