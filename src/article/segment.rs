//! Paragraphs and sentences of Arabic news text.
//!
//! Every non-empty line is a paragraph. A sentence ends after `.`, `!`, `?`,
//! `؟`, `؛` or `…` (and runs of them, with closing quotes and brackets that
//! follow) when whitespace or the paragraph's end comes next — but not after a
//! decimal point (3.5), nor after an abbreviation ([`ABBREVIATIONS`]) or a
//! single Latin capital (initials). A sentence with more tokens than the model
//! takes is split at commas (`،` `,`), or at spaces when a clause alone is too
//! long, never truncated.

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

/// Splits one paragraph into sentences.
pub fn sentences(text: &str) -> Vec<String> {
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
            let sentence = text[start..end].trim();
            if !sentence.is_empty() {
                out.push(sentence.to_string());
            }
            start = end;
        }
        i = j;
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

/// Splits `sentence` into pieces of at most `max_tokens` tokens (as `count`
/// counts them): at commas first, at spaces when a clause alone is too long.
/// A single word over the limit stays whole (the caller reports it).
pub fn fit(sentence: &str, max_tokens: usize, count: &dyn Fn(&str) -> usize) -> Vec<String> {
    if count(sentence) <= max_tokens {
        return vec![sentence.to_string()];
    }
    let clauses = split_after(sentence, |c| COMMAS.contains(&c));
    let mut out = Vec::new();
    for clause in pack(&clauses, max_tokens, count) {
        if count(&clause) <= max_tokens {
            out.push(clause);
        } else {
            let words = split_after(&clause, char::is_whitespace);
            out.extend(pack(&words, max_tokens, count));
        }
    }
    out
}

/// Pieces of `text`, each ending after a character `is_end` accepts.
fn split_after(text: &str, is_end: impl Fn(char) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if is_end(c) {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Joins consecutive pieces while they fit.
fn pack(pieces: &[String], max_tokens: usize, count: &dyn Fn(&str) -> usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for piece in pieces {
        let joined = format!("{current}{piece}");
        if !current.trim().is_empty() && count(joined.trim()) > max_tokens {
            out.push(current.trim().to_string());
            current = piece.clone();
        } else {
            current = joined;
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
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
            sentences: sentences(line).iter().flat_map(|s| fit(s, max_tokens, count)).collect(),
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
