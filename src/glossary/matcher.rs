//! Finding glossary terms in Arabic as written in news.
//!
//! Text and terms are folded ([`super::normalize`]) and split into words (runs of
//! letters and digits). A term matches a run of whole words where:
//!
//! * the first word may carry proclitics: a conjunction (و ف), then a
//!   preposition (ب ل ك), and ل + ال is written لل (للحشد → ل + الحشد);
//! * the last word may be inflected: a sound plural's ون/ين alternate after
//!   three letters or more (الحوثيون, الحوثيين; عون is not عين), and for
//!   organizations and other terms without the article a possessive suffix may
//!   follow (ه ها هم هما هن ك كم نا), with ة written ت before it (حكومة →
//!   حكومته);
//! * every other word is equal.
//!
//! Morphology rules a reading out where the letters alone would allow it: ة and
//! the suffix ه are different letters (جده "his grandfather" is not جدة, وفاة
//! "death" is not وفا + ه); a word with tanween (ً ٌ ٍ) is not a name (دومًا); and
//! where a term is written with diacritics, a text letter whose diacritics
//! contradict the term's (a shadda where the term has none, another vowel) is
//! not that term (تدمّر "destroys" is not تَدْمُر Palmyra).
//!
//! Where matches overlap, the one starting first wins, then the longer one;
//! equal spans go to the entry read last. Spans point into the original text.

use std::collections::HashMap;
use std::ops::Range;

use super::normalize::{Folded, fold};
use super::{Form, Glossary, Kind};

pub(crate) const CONJUNCTIONS: [&str; 2] = ["و", "ف"];
pub(crate) const PREPOSITIONS: [&str; 3] = ["ب", "ل", "ك"];
const SUFFIXES: [&str; 9] = ["ه", "ها", "هم", "هما", "هن", "ك", "كم", "كما", "نا"];
/// Shortest stem left after removing proclitics.
const MIN_STEM_CHARS: usize = 2;
/// Shortest word before a sound plural's ون/ين: a singular has three letters
/// at least, so عون (Aoun) is not read as a plural of ع, and عين ("eye",
/// "appointed") does not match it, nor جنون ("madness") جنين (Jenin).
const MIN_PLURAL_BASE_CHARS: usize = 3;

/// Diacritics on one letter, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Marks(u8);

impl Marks {
    const SHADDA: u8 = 1;
    const TANWEEN: u8 = 2;
    /// The short vowel or sukun, in the bits above.
    const VOWEL_SHIFT: u8 = 2;

    /// The marks among `chars` (a letter and the marks after it).
    fn of(chars: &str) -> Self {
        let mut bits = 0;
        for c in chars.chars() {
            bits |= match c {
                '\u{0651}' => Self::SHADDA,
                '\u{064B}'..='\u{064D}' => Self::TANWEEN,
                '\u{064E}' => 1 << Self::VOWEL_SHIFT,
                '\u{064F}' => 2 << Self::VOWEL_SHIFT,
                '\u{0650}' => 3 << Self::VOWEL_SHIFT,
                '\u{0652}' => 4 << Self::VOWEL_SHIFT,
                _ => 0,
            };
        }
        Self(bits)
    }

    fn shadda(self) -> bool {
        self.0 & Self::SHADDA != 0
    }

    fn tanween(self) -> bool {
        self.0 & Self::TANWEEN != 0
    }

    fn vowel(self) -> u8 {
        self.0 >> Self::VOWEL_SHIFT
    }

    /// Whether a text letter with these marks contradicts a term letter with
    /// `term`'s, in a term written with diacritics.
    fn contradicts(self, term: Marks) -> bool {
        (self.shadda() && !term.shadda()) || (self.vowel() != 0 && term.vowel() != 0 && self.vowel() != term.vowel())
    }
}

/// One term found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the entry in [`Glossary::entries`].
    pub entry: usize,
    /// Which of the entry's forms it is.
    pub form: Form,
    /// Byte range of the term in the original text: without its proclitics, with
    /// any inflection of its last word.
    pub span: Range<usize>,
    /// Byte range of the proclitics before it (empty when none).
    pub prefix: Range<usize>,
    /// The words of the text it covers (indices into [`Sentence::words`]).
    pub(crate) words: Range<usize>,
    /// Whether the entry marks this form ambiguous (read once, when the matcher
    /// is built).
    pub(crate) ambiguous: bool,
}

#[derive(Debug, Clone)]
struct Term {
    words: Vec<String>,
    entry: usize,
    form: Form,
    /// The entry marks this form ambiguous.
    ambiguous: bool,
    /// Possessive suffixes may follow the last word.
    suffixes: bool,
    /// Per word, the diacritics of each letter, when the form is written with any.
    marks: Option<Vec<Vec<Marks>>>,
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

/// A text folded and split into words, with what the matcher and cues need.
pub(crate) struct Sentence<'a> {
    /// The original text.
    text: &'a str,
    /// Its folded form.
    folded: Folded,
    /// The folded form's words.
    pub(crate) words: Vec<Word>,
    /// Per word, whether only one space separates it from the next.
    joined: Vec<bool>,
}

impl<'a> Sentence<'a> {
    /// Folds and splits `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        let folded = fold(text);
        let words = words(&folded.text);
        let chars: Vec<char> = folded.text.chars().collect();
        let joined = words
            .windows(2)
            .map(|pair| pair[1].chars.start == pair[0].chars.end + 1 && chars[pair[0].chars.end] == ' ')
            .collect();
        Self { text, folded, words, joined }
    }

    /// Whether word `i` and word `i + 1` are separated by one space only.
    pub(crate) fn joined(&self, i: usize) -> bool {
        self.joined.get(i).copied().unwrap_or(false)
    }

    /// The folded text between word `i` and word `i + 1`.
    pub(crate) fn gap(&self, i: usize) -> String {
        match (self.words.get(i), self.words.get(i + 1)) {
            (Some(a), Some(b)) => {
                self.folded.text.chars().skip(a.chars.end).take(b.chars.start - a.chars.end).collect()
            }
            _ => String::new(),
        }
    }

    /// The original text of a byte range (clamped to the text).
    pub(crate) fn text_of(&self, range: Range<usize>) -> &str {
        let end = range.end.min(self.text.len());
        self.text.get(range.start.min(end)..end).unwrap_or_default()
    }

    /// The original text of a byte range, folded.
    pub(crate) fn folded_slice(&self, range: Range<usize>) -> String {
        self.text.get(range).map(super::normalize::fold_str).unwrap_or_default()
    }

    /// The diacritics of each letter of word `i`, from character `from` of it on.
    fn marks(&self, i: usize, from: usize) -> impl Iterator<Item = Marks> + '_ {
        let chars = self.words[i].chars.clone();
        self.folded.origins[chars.start + from..chars.end].iter().map(|r| Marks::of(&self.text[r.clone()]))
    }
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

/// Whether `word` is `base` with a possessive suffix (a final ة of `base`
/// written ت before it).
pub(crate) fn with_suffix(base: &str, word: &str) -> bool {
    let stem = match base.strip_suffix('ة') {
        Some(b) => format!("{b}ت"),
        None => base.to_string(),
    };
    word.strip_prefix(stem.as_str()).is_some_and(|rest| SUFFIXES.contains(&rest))
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
                && base.chars().count() >= MIN_PLURAL_BASE_CHARS
                && text.strip_prefix(base) == Some(b)
            {
                return true;
            }
        }
        self.suffixes && with_suffix(word, text)
    }

    /// Whether the text's diacritics allow this term: no word carries tanween,
    /// and where the term is written with diacritics, no letter contradicts it.
    /// `first` is the text's first word and `stem_at` where the term starts in it.
    fn diacritics_allow(&self, sentence: &Sentence, first: usize, stem_at: usize) -> bool {
        for (k, term_word) in self.words.iter().enumerate() {
            let i = first + k;
            let from = if k == 0 { stem_at } else { 0 };
            let text_word: String = sentence.words[i].text.chars().skip(from).collect();
            if sentence.marks(i, from).any(Marks::tanween) {
                return false;
            }
            let Some(marks) = &self.marks else { continue };
            // Letters compared while the text spells the term's word (an
            // inflection or لل for ل + ال ends the comparison).
            let same = term_word.chars().zip(text_word.chars()).take_while(|(a, b)| a == b).count();
            if sentence.marks(i, from).zip(&marks[k]).take(same).any(|(text, &term)| text.contradicts(term)) {
                return false;
            }
        }
        true
    }
}

impl Matcher {
    /// A matcher for every form the glossary's entries own.
    pub fn new(glossary: &Glossary) -> Self {
        let mut terms = Vec::new();
        for (key, entry_index, form) in glossary.owned_forms() {
            let entry = &glossary.entries[entry_index];
            let words: Vec<String> = key.split(' ').map(str::to_string).collect();
            if words.iter().any(String::is_empty) {
                continue;
            }
            let written = entry.form_text(form);
            let folded = fold(written);
            let marks: Vec<Marks> = folded.origins.iter().map(|r| Marks::of(&written[r.clone()])).collect();
            let marks = marks.iter().any(|m| m.0 != 0).then(|| {
                let mut per_word = vec![Vec::new()];
                for (c, m) in folded.text.chars().zip(marks) {
                    if c == ' ' {
                        per_word.push(Vec::new());
                    } else if let Some(word) = per_word.last_mut() {
                        word.push(m);
                    }
                }
                per_word
            });
            let last = &words[words.len() - 1];
            terms.push(Term {
                suffixes: matches!(entry.kind, Kind::Org | Kind::Other)
                    && !last.starts_with("ال")
                    && last.chars().count() >= 3,
                words,
                entry: entry_index,
                form,
                ambiguous: entry.is_ambiguous(form),
                marks,
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
        self.find_in(&Sentence::new(text))
    }

    /// The terms in a folded sentence, in text order, without overlaps.
    pub(crate) fn find_in(&self, sentence: &Sentence) -> Vec<Match> {
        /// A candidate match: where it starts and ends, in folded characters.
        struct Candidate {
            start: usize,
            end: usize,
            prefix: usize,
            words: Range<usize>,
            term: usize,
        }
        let words = &sentence.words;
        let mut candidates: Vec<Candidate> = Vec::new();
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
                        && (i..i + n - 1).all(|k| sentence.joined(k))
                        && term.last_word_matches(&words[i + n - 1].text)
                        && term.diacritics_allow(sentence, i, prefix)
                    {
                        let end = words[i + n - 1].chars.end;
                        candidates.push(Candidate { start, end, prefix, words: i..i + n, term: t });
                    }
                }
                // One-word terms: the stem, possibly inflected.
                for (t, term) in self.single_word_candidates(&stem) {
                    if term.last_word_matches(&stem) && term.diacritics_allow(sentence, i, prefix) {
                        candidates.push(Candidate { start, end: word.chars.end, prefix, words: i..i + 1, term: t });
                    }
                }
            }
        }
        candidates.sort_by(|a, b| {
            a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(self.terms[b.term].entry.cmp(&self.terms[a.term].entry))
        });
        let mut out = Vec::new();
        let mut taken_until = 0;
        for c in candidates {
            if c.start < taken_until {
                continue;
            }
            taken_until = c.end;
            let folded = &sentence.folded;
            let span = folded.original_span(c.start..c.end).unwrap_or(0..0);
            let prefix = if c.prefix > 0 {
                folded
                    .original_span(c.start - c.prefix..c.start)
                    .map_or(span.start..span.start, |p| p.start..span.start)
            } else {
                span.start..span.start
            };
            let term = &self.terms[c.term];
            out.push(Match {
                entry: term.entry,
                form: term.form,
                span,
                prefix,
                words: c.words,
                ambiguous: term.ambiguous,
            });
        }
        out
    }

    /// One-word terms that a stem may be an inflection of.
    fn single_word_candidates<'a>(&'a self, stem: &str) -> impl Iterator<Item = (usize, &'a Term)> + 'a {
        let mut keys = vec![stem.to_string()];
        for (a, b) in [("ون", "ين"), ("ين", "ون")] {
            if let Some(base) = stem.strip_suffix(a)
                && base.chars().count() >= MIN_PLURAL_BASE_CHARS
            {
                keys.push(format!("{base}{b}"));
            }
        }
        for suffix in SUFFIXES {
            if let Some(base) = stem.strip_suffix(suffix)
                && base.chars().count() >= 3
            {
                keys.push(base.to_string());
                if let Some(b) = base.strip_suffix('ت') {
                    keys.push(format!("{b}ة"));
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
            "جوزيف عون\tJoseph Aoun\tperson\tعون\t",
            "جنين\tJenin\tplace\t\t",
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

    fn morphology_glossary() -> Glossary {
        let rows = [
            "جدة\tJeddah\tplace\t\t",
            "وفا\tWAFA\torg\t\t",
            "حديثة\tHaditha\tplace\t\t",
            "دوما\tDouma\tplace\t\t",
            "تَدْمُر\tPalmyra\tplace\t\t",
            "حكومة\tgovernment\tother\t\t",
        ];
        let mut g = Glossary::new();
        g.add(format!("{HEADER}\n{}\n", rows.join("\n")).as_bytes(), "m.tsv").unwrap();
        g
    }

    fn found_in(g: &Glossary, text: &str) -> Vec<String> {
        Matcher::new(g).find(text).into_iter().map(|m| text[m.span].to_string()).collect()
    }

    #[test]
    fn taa_marbuta_is_not_the_suffix_ha() {
        let g = morphology_glossary();
        // جده is جد + ه "his grandfather", not جدة; وفاة "death" is not وفا + ه.
        assert!(found_in(&g, "زار جده في القرية").is_empty());
        assert!(found_in(&g, "أعلن وفاة والدته").is_empty());
        assert!(found_in(&g, "في حديثه للصحفيين").is_empty());
        assert_eq!(found_in(&g, "وصل إلى جدة"), ["جدة"]);
        assert_eq!(found_in(&g, "ذكرت وفا"), ["وفا"]);
        // Before a suffix ة is written ت, and ه stays a suffix where it is one.
        assert_eq!(found_in(&g, "حكومته وحكومتها"), ["حكومته", "حكومتها"]);
        assert_eq!(found_in(&g, "وفاه"), ["وفاه"]);
    }

    #[test]
    fn tanween_and_contradicting_diacritics_rule_a_match_out() {
        let g = morphology_glossary();
        assert!(found_in(&g, "كان دومًا يقول").is_empty());
        assert!(found_in(&g, "كان دوماً يقول").is_empty());
        assert_eq!(found_in(&g, "في دوما"), ["دوما"]);
        // تَدْمُر has no shadda: تدمّر "destroys" is not Palmyra; ت with damma neither.
        assert!(found_in(&g, "الغارات تدمّر المنازل").is_empty());
        assert!(found_in(&g, "الغارات تُدمر المنازل").is_empty());
        assert_eq!(found_in(&g, "آثار تدمر"), ["تدمر"]);
        assert_eq!(found_in(&g, "آثار تَدمُر"), ["تَدمُر"]);
        // A term written without diacritics accepts any: مُحَمَّد, السّوداني.
        assert_eq!(found("مُحَمَّد شياع السّوداني").len(), 1);
    }

    #[test]
    fn words_must_be_whole_and_adjacent() {
        assert!(found("بغدادي").is_empty());
        assert!(found("حزب، الله").is_empty());
        assert!(found("السودانيين").is_empty());
        // A sound plural's ending needs a singular of three letters or more.
        assert!(found("وعين وزيرا").is_empty());
        assert!(found("جنون").is_empty());
        assert_eq!(found("قال عون"), vec![t("", "عون", "Joseph Aoun")]);
        // Places and people take no possessive suffix.
        assert!(found("بغدادنا").is_empty());
        assert_eq!(found("حزب الله وحزب الله").len(), 2);
    }
}
