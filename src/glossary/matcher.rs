//! Finding glossary terms in Arabic as written in news.
//!
//! Text and terms are folded ([`super::normalize`]) and split into words (runs of
//! letters and digits). A term matches a run of whole words where:
//!
//! * the first word may carry proclitics: a conjunction (و ف), then a
//!   preposition (ب ل ك), and ل + ال is written لل (للحشد → ل + الحشد);
//! * the last word may be inflected: a sound plural's ون/ين alternate
//!   (الحوثيون, الحوثيين), and for organizations and other terms without the
//!   article a possessive suffix may follow (ه ها هم هما هن ك كم نا), with ة
//!   written ت before it (حكومة → حكومته);
//! * every other word is equal.
//!
//! Where matches overlap, the one starting first wins, then the longer one;
//! equal spans go to the entry read last. Spans point into the original text.

use std::collections::HashMap;
use std::ops::Range;

use super::normalize::{Folded, fold};
use super::{Glossary, Kind};

const CONJUNCTIONS: [&str; 2] = ["و", "ف"];
const PREPOSITIONS: [&str; 3] = ["ب", "ل", "ك"];
const SUFFIXES: [&str; 9] = ["ه", "ها", "هم", "هما", "هن", "ك", "كم", "كما", "نا"];
/// Shortest stem left after removing proclitics.
const MIN_STEM_CHARS: usize = 2;

/// One term found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the entry in [`Glossary::entries`].
    pub entry: usize,
    /// Byte range of the term in the original text: without its proclitics, with
    /// any inflection of its last word.
    pub span: Range<usize>,
    /// Byte range of the proclitics before it (empty when none).
    pub prefix: Range<usize>,
}

#[derive(Debug, Clone)]
struct Term {
    words: Vec<String>,
    entry: usize,
    /// The last word ends in ة (folded to ه), so it is written ت before a suffix.
    taa_marbuta: bool,
    /// Possessive suffixes may follow the last word.
    suffixes: bool,
}

/// Finds the terms of a glossary in text.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    terms: Vec<Term>,
    /// First folded word → terms starting with it, longest first.
    by_first: HashMap<String, Vec<usize>>,
}

/// A word of the folded text: its characters' range and its text.
pub(crate) struct Word {
    /// Characters of the folded text it covers.
    pub(crate) chars: Range<usize>,
    /// Its folded text.
    pub(crate) text: String,
}

/// The words (runs of letters and digits) of folded text.
pub(crate) fn words(folded: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut current: Option<Word> = None;
    for (i, c) in folded.chars().enumerate() {
        if c.is_alphanumeric() {
            let word = current.get_or_insert_with(|| Word { chars: i..i, text: String::new() });
            word.text.push(c);
            word.chars.end = i + 1;
        } else if let Some(word) = current.take() {
            out.push(word);
        }
    }
    out.extend(current);
    out
}

/// `(proclitic chars, stem)` readings of a word, the bare word first.
pub(crate) fn proclitic_readings(word: &str) -> Vec<(usize, String)> {
    let mut out = vec![(0, word.to_string())];
    for conj in std::iter::once("").chain(CONJUNCTIONS) {
        let Some(after_conj) = word.strip_prefix(conj) else { continue };
        let conj_chars = conj.chars().count();
        if !conj.is_empty() && after_conj.chars().count() >= MIN_STEM_CHARS {
            out.push((conj_chars, after_conj.to_string()));
        }
        for prep in PREPOSITIONS {
            let Some(stem) = after_conj.strip_prefix(prep) else { continue };
            if stem.chars().count() >= MIN_STEM_CHARS {
                out.push((conj_chars + 1, stem.to_string()));
            }
            // ل + ال is written لل: the second ل stands for the article.
            if prep == "ل"
                && let Some(rest) = stem.strip_prefix('ل')
                && rest.chars().count() >= MIN_STEM_CHARS
            {
                out.push((conj_chars + 1, format!("ال{rest}")));
            }
        }
    }
    out
}

impl Term {
    /// Whether `text` is this term's last word, as written or inflected.
    fn last_word_matches(&self, text: &str) -> bool {
        let word = &self.words[self.words.len() - 1];
        if text == word {
            return true;
        }
        for (a, b) in [("ون", "ين"), ("ين", "ون")] {
            if let Some(base) = word.strip_suffix(a)
                && text.strip_prefix(base) == Some(b)
            {
                return true;
            }
        }
        if self.suffixes {
            let base = if self.taa_marbuta {
                let mut base = word.strip_suffix('ه').unwrap_or(word).to_string();
                base.push('ت');
                base
            } else {
                word.clone()
            };
            if let Some(rest) = text.strip_prefix(base.as_str()) {
                return SUFFIXES.contains(&rest);
            }
        }
        false
    }
}

impl Matcher {
    /// A matcher for every form the glossary's entries own.
    pub fn new(glossary: &Glossary) -> Self {
        let mut keys: Vec<(&String, &usize)> = glossary.forms.iter().collect();
        keys.sort();
        let mut terms = Vec::with_capacity(keys.len());
        for (key, &entry_index) in keys {
            let entry = &glossary.entries[entry_index];
            let words: Vec<String> = key.split(' ').map(str::to_string).collect();
            if words.iter().any(String::is_empty) {
                continue;
            }
            let original = entry.forms().find(|f| super::normalize::fold_str(f) == *key).unwrap_or(&entry.arabic);
            let last = &words[words.len() - 1];
            terms.push(Term {
                taa_marbuta: original.trim_end().ends_with('ة'),
                suffixes: matches!(entry.kind, Kind::Org | Kind::Other)
                    && !last.starts_with("ال")
                    && last.chars().count() >= 3,
                words,
                entry: entry_index,
            });
        }
        let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, term) in terms.iter().enumerate() {
            by_first.entry(term.words[0].clone()).or_default().push(i);
        }
        for list in by_first.values_mut() {
            list.sort_by_key(|&i| std::cmp::Reverse(terms[i].words.len()));
        }
        Self { terms, by_first }
    }

    /// Number of forms the matcher knows.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether it knows none.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The terms in `text`, in text order, without overlaps.
    pub fn find(&self, text: &str) -> Vec<Match> {
        let folded = fold(text);
        let words = words(&folded.text);
        // (start char, end char, prefix chars, term)
        let mut candidates: Vec<(usize, usize, usize, usize)> = Vec::new();
        for (i, word) in words.iter().enumerate() {
            for (prefix, stem) in proclitic_readings(&word.text) {
                let start = word.chars.start + prefix;
                // Multi-word terms: the stem is their first word.
                for &t in self.by_first.get(&stem).into_iter().flatten() {
                    let term = &self.terms[t];
                    let n = term.words.len();
                    if n == 1 || i + n > words.len() {
                        continue;
                    }
                    let middle_ok = (1..n - 1).all(|k| words[i + k].text == term.words[k]);
                    if middle_ok
                        && self.adjacent(&folded, &words[i..i + n])
                        && term.last_word_matches(&words[i + n - 1].text)
                    {
                        candidates.push((start, words[i + n - 1].chars.end, prefix, t));
                    }
                }
                // One-word terms: the stem, possibly inflected.
                for (t, term) in self.single_word_candidates(&stem) {
                    if term.last_word_matches(&stem) {
                        candidates.push((start, word.chars.end, prefix, t));
                    }
                }
            }
        }
        candidates
            .sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(self.terms[b.3].entry.cmp(&self.terms[a.3].entry)));
        let mut out = Vec::new();
        let mut taken_until = 0;
        for (start, end, prefix, t) in candidates {
            if start < taken_until {
                continue;
            }
            taken_until = end;
            out.push(self.to_match(&folded, start, end, prefix, t));
        }
        out
    }

    /// One-word terms that a stem may be an inflection of.
    fn single_word_candidates<'a>(&'a self, stem: &str) -> impl Iterator<Item = (usize, &'a Term)> + 'a {
        let mut keys = vec![stem.to_string()];
        for (a, b) in [("ون", "ين"), ("ين", "ون")] {
            if let Some(base) = stem.strip_suffix(a) {
                keys.push(format!("{base}{b}"));
            }
        }
        for suffix in SUFFIXES {
            if let Some(base) = stem.strip_suffix(suffix)
                && base.chars().count() >= 3
            {
                keys.push(base.to_string());
                if let Some(b) = base.strip_suffix('ت') {
                    keys.push(format!("{b}ه"));
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .flat_map(move |k| self.by_first.get(&k).into_iter().flatten().copied().collect::<Vec<_>>())
            .map(move |t| (t, &self.terms[t]))
            .filter(|(_, term)| term.words.len() == 1)
    }

    /// Whether consecutive words are separated only by one space (no punctuation).
    fn adjacent(&self, folded: &Folded, words: &[Word]) -> bool {
        let chars: Vec<char> = folded.text.chars().collect();
        words.windows(2).all(|pair| pair[1].chars.start == pair[0].chars.end + 1 && chars[pair[0].chars.end] == ' ')
    }

    fn to_match(&self, folded: &Folded, start: usize, end: usize, prefix: usize, t: usize) -> Match {
        let span = folded.original_span(start..end).unwrap_or(0..0);
        let prefix = if prefix > 0 {
            folded.original_span(start - prefix..start).map_or(span.start..span.start, |p| p.start..span.start)
        } else {
            span.start..span.start
        };
        Match { entry: self.terms[t].entry, span, prefix }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::HEADER;
    use super::*;

    fn glossary() -> Glossary {
        let rows = [
            "حزب الله\tHezbollah\torg\t\t",
            "كتائب حزب الله\tKataib Hezbollah\torg\t\t",
            "الحشد الشعبي\tPopular Mobilization Forces\torg\t\t",
            "الحوثيون\tHouthis\torg\t\t",
            "الحكومة العراقية\tIraqi government\torg\t\t",
            "حكومة\tgovernment\tother\t\t",
            "بغداد\tBaghdad\tplace\t\t",
            "محمد شياع السوداني\tMohammed Shia al-Sudani\tperson\tالسوداني\t",
            "مسعود بازشكيان\tMasoud Pezeshkian\tperson\tبزشكيان\t",
        ];
        let mut g = Glossary::new();
        g.add(format!("{HEADER}\n{}\n", rows.join("\n")).as_bytes(), "t.tsv").unwrap();
        g
    }

    fn found(text: &str) -> Vec<(String, String, String)> {
        let g = glossary();
        Matcher::new(&g)
            .find(text)
            .into_iter()
            .map(|m| {
                (
                    text[m.prefix.clone()].to_string(),
                    text[m.span.clone()].to_string(),
                    g.entries()[m.entry].english.clone(),
                )
            })
            .collect()
    }

    fn t(prefix: &str, span: &str, english: &str) -> (String, String, String) {
        (prefix.into(), span.into(), english.into())
    }

    #[test]
    fn longest_match_wins_and_prefixes_are_split_off() {
        assert_eq!(found("قالت كتائب حزب الله إن"), vec![t("", "كتائب حزب الله", "Kataib Hezbollah")]);
        assert_eq!(found("ولحزب الله"), vec![t("ول", "حزب الله", "Hezbollah")]);
        assert_eq!(found("للحشد الشعبي"), vec![t("ل", "لحشد الشعبي", "Popular Mobilization Forces")]);
        assert_eq!(found("وبالحشد الشعبي"), vec![t("وب", "الحشد الشعبي", "Popular Mobilization Forces")]);
        assert_eq!(found("فالحكومة العراقية"), vec![t("ف", "الحكومة العراقية", "Iraqi government")]);
    }

    #[test]
    fn inflections_diacritics_and_variants() {
        assert_eq!(found("قصف الحوثيين"), vec![t("", "الحوثيين", "Houthis")]);
        assert_eq!(found("حكومته"), vec![t("", "حكومته", "government")]);
        assert_eq!(found("وحكومتها"), vec![t("و", "حكومتها", "government")]);
        assert_eq!(found("مُحَمَّد شياع السّوداني"), vec![t("", "مُحَمَّد شياع السّوداني", "Mohammed Shia al-Sudani")]);
        assert_eq!(found("قال السوداني"), vec![t("", "السوداني", "Mohammed Shia al-Sudani")]);
        assert_eq!(found("الرئيس بزشكيان"), vec![t("", "بزشكيان", "Masoud Pezeshkian")]);
        assert_eq!(found("إلى بغداد، ثم"), vec![t("", "بغداد", "Baghdad")]);
    }

    #[test]
    fn words_must_be_whole_and_adjacent() {
        assert!(found("بغدادي").is_empty());
        assert!(found("حزب، الله").is_empty());
        assert!(found("السودانيين").is_empty());
        // Places and people take no possessive suffix.
        assert!(found("بغدادنا").is_empty());
        assert_eq!(found("حزب الله وحزب الله").len(), 2);
    }
}
