//! Names on both sides of a sentence pair, for auditing and mining glossaries.
//!
//! **English.** Words are whitespace tokens without surrounding punctuation (a
//! possessive `'s` is dropped too). A word is part of a name when it starts with a
//! capital letter or is an article-prefixed name such as `al-Sudani`; the
//! particles `al`, `bin`, `ibn`, `of`, `the` (and a few more) may stand inside a
//! name. A *run* is a longest sequence of such words that punctuation does not
//! interrupt, without particles at its ends. A sentence's first word is not a
//! name when it is a function word (`The`, `He`, `In`…) or when the texts also
//! write it in lower case elsewhere.
//!
//! **Arabic.** Words are those the glossary [`Matcher`](crate::glossary::Matcher) reads
//! (folded runs of letters and digits). A word's proclitics are stripped as the
//! matcher strips them, choosing among its readings without a glossary: a stem
//! that the sources also write as a word of its own (of at least 3 letters), else
//! one that starts with the article (`وبالحكومة` → `الحكومة`, `للحكومة` →
//! `الحكومة`), else the word as written. A name that starts with a letter
//! that is also a proclitic is kept whole: a stem the sources write alone is
//! taken only when the whole word is not more frequent, in the sources (unless
//! it writes ل + ال as لل) and in the common-word list (`بكين` stays whole
//! beside a rare `كين`), and a stem
//! with the article only when the whole word does not recur (`كاليفورنيا`).
//!
//! **Cues.** `glossaries/name-cues-en.tsv` lists English words that are no names
//! alone (weekdays, months, pronouns, common nouns), titles, words of direction,
//! and words that mark a place or an organization; `glossaries/name-cues-ar.tsv` lists Arabic
//! descriptor words (مدينة, شركة, السيد…) with the kind they point at and the
//! English words that render them when they are part of an English name
//! (إعصار: `Hurricane`, نهر: `River`; none for مدينة or السيد).

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::LazyLock;

use super::lint::per_billion;
use crate::glossary::Kind;
use crate::glossary::matcher::{proclitic_readings, words};
use crate::glossary::normalize::{fold, is_removed};
use crate::glossary::parse::has_arabic_letter;

/// English cue words: `word<TAB>role` lines, sorted by word.
const CUES_EN: &str = include_str!("../../glossaries/name-cues-en.tsv");
/// Arabic descriptor words (folded): `word<TAB>kind<TAB>inside` lines, sorted by word.
const CUES_AR: &str = include_str!("../../glossaries/name-cues-ar.tsv");

/// What an English cue word says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cue {
    /// Never a name alone: a weekday, month, pronoun or common noun.
    NotName,
    /// A person's title: not part of the name, evidence for a person.
    Title,
    /// A word of direction (`southern`): never a name alone; before a name,
    /// evidence for a place.
    Direction,
    /// A word that marks a name of this kind.
    Marks(Kind),
}

/// The `word<TAB>value` lines of a cue list (`#` lines are comments), with
/// `value` read by `read`; `Err` names the first line that does not read.
fn read_cues<'a, T>(text: &'a str, read: impl Fn(&'a str) -> Option<T>) -> Result<Vec<(&'a str, T)>, usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#'))
        .map(|(i, line)| line.split_once('\t').and_then(|(word, value)| Some((word, read(value)?))).ok_or(i + 1))
        .collect()
}

fn read_en_cue(value: &str) -> Option<Cue> {
    match value {
        "not-name" => Some(Cue::NotName),
        "title" => Some(Cue::Title),
        "direction" => Some(Cue::Direction),
        other => read_kind(other).map(Cue::Marks),
    }
}

fn read_kind(value: &str) -> Option<Kind> {
    match value {
        "person" => Some(Kind::Person),
        "place" => Some(Kind::Place),
        "org" => Some(Kind::Org),
        "other" => Some(Kind::Other),
        _ => None,
    }
}

static EN_CUES: LazyLock<Vec<(&'static str, Cue)>> =
    LazyLock::new(|| read_cues(CUES_EN, read_en_cue).unwrap_or_default());
/// What an Arabic descriptor word says: the kind of the name after it, and the
/// English words (lower case) that render it inside an English name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Descriptor {
    pub(crate) kind: Kind,
    pub(crate) inside: Vec<&'static str>,
}

/// `kind<TAB>inside` of a descriptor line: `inside` is `-` or lower-case words
/// separated by `|`.
fn read_descriptor(value: &'static str) -> Option<Descriptor> {
    let (kind, inside) = value.split_once('\t')?;
    let inside: Vec<&str> = if inside == "-" { Vec::new() } else { inside.split('|').collect() };
    inside
        .iter()
        .all(|w| !w.is_empty() && w.chars().all(|c| c.is_lowercase()))
        .then(|| Some(Descriptor { kind: read_kind(kind)?, inside }))
        .flatten()
}

static AR_CUES: LazyLock<Vec<(&'static str, Descriptor)>> =
    LazyLock::new(|| read_cues(CUES_AR, read_descriptor).unwrap_or_default());

/// What an English word says about a name it stands in or beside (case ignored).
pub(crate) fn en_cue(word: &str) -> Option<Cue> {
    let lower = word.trim_end_matches('.').to_lowercase();
    EN_CUES.binary_search_by(|(w, _)| w.cmp(&lower.as_str())).ok().map(|i| EN_CUES[i].1)
}

/// What an Arabic descriptor word (folded) says.
pub(crate) fn descriptor(folded: &str) -> Option<&'static Descriptor> {
    AR_CUES.binary_search_by(|(w, _)| w.cmp(&folded)).ok().map(|i| &AR_CUES[i].1)
}

impl Descriptor {
    /// Whether an English rendering holds a word that renders this descriptor
    /// (`Hurricane Rosa` for إعصار, `University of Texas` for جامعة).
    pub(crate) fn renders_in(&self, english: &str) -> bool {
        english.split(' ').any(|w| self.inside.contains(&w.to_lowercase().as_str()))
    }
}

/// Lower-case particles that may stand inside a name.
const PARTICLES: [&str; 13] = ["al", "el", "bin", "ibn", "bint", "of", "the", "de", "du", "da", "la", "van", "von"];
/// Lower-case article prefixes of names written with a hyphen (`al-Sudani`).
const NAME_PREFIXES: [&str; 12] = ["al", "el", "ad", "an", "ar", "as", "ash", "at", "az", "ul", "bin", "ibn"];
/// Capitalized function words that open sentences and are never names.
const FUNCTION_WORDS: [&str; 44] = [
    "A",
    "About",
    "According",
    "After",
    "Also",
    "An",
    "And",
    "As",
    "At",
    "Before",
    "But",
    "By",
    "During",
    "For",
    "From",
    "He",
    "Her",
    "His",
    "However",
    "I",
    "If",
    "In",
    "It",
    "Its",
    "Meanwhile",
    "On",
    "One",
    "Our",
    "She",
    "Since",
    "So",
    "That",
    "The",
    "Their",
    "There",
    "These",
    "They",
    "This",
    "Those",
    "To",
    "We",
    "When",
    "While",
    "With",
];
/// Arabic function words and reporting verbs (folded) that a mined name neither
/// starts nor ends with.
const STOPWORDS: [&str; 80] = [
    "في",
    "من",
    "الي",
    "علي",
    "عن",
    "ان",
    "او",
    "ثم",
    "مع",
    "هذا",
    "هذه",
    "ذلك",
    "تلك",
    "التي",
    "الذي",
    "الذين",
    "بين",
    "بعد",
    "قبل",
    "كان",
    "كانت",
    "لم",
    "لن",
    "ما",
    "لا",
    "قد",
    "كل",
    "حتي",
    "عند",
    "منذ",
    "خلال",
    "حول",
    "ضد",
    "دون",
    "اي",
    "غير",
    "بعض",
    "وفق",
    "ايضا",
    "يوم",
    "امس",
    "اليوم",
    "تم",
    "حيث",
    "لدي",
    "فيه",
    "فيها",
    "منه",
    "منها",
    "عليه",
    "عليها",
    "له",
    "لها",
    "هو",
    "هي",
    "هم",
    "قال",
    "قالت",
    "اكد",
    "اكدت",
    "اضاف",
    "اضافت",
    "اعلن",
    "اعلنت",
    "اشار",
    "اشارت",
    "اوضح",
    "اوضحت",
    "ذكر",
    "ذكرت",
    "افاد",
    "افادت",
    "التقي",
    "زار",
    "زارت",
    "استقبل",
    "وصل",
    "وصلت",
    "دعا",
    "شدد",
];
/// Shortest stem (in letters) that is stripped of its proclitics because the
/// sources write it alone.
const MIN_ATTESTED_STEM: usize = 3;
/// Longest English span considered inside a run, in words.
pub(crate) const MAX_SPAN_WORDS: usize = 6;

/// How an English word counts in a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Name,
    Particle,
    Other,
}

/// One English word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnWord {
    /// The word without surrounding punctuation.
    pub(crate) text: String,
    /// Characters of the line it covers, punctuation included.
    pub(crate) chars: Range<usize>,
    role: Role,
    /// Punctuation before or after it ends a run.
    break_before: bool,
    break_after: bool,
    /// It opens a sentence.
    sentence_start: bool,
}

/// Whether the word is an initialism with a final period (`U.S.`).
fn is_initialism(core: &str) -> bool {
    core.contains('.') && core.split('.').all(|part| part.chars().count() <= 1)
}

/// The words of an English line, before sentence starts are judged.
fn tokens(text: &str) -> Vec<EnWord> {
    let mut out: Vec<EnWord> = Vec::new();
    let mut chars = text.char_indices().enumerate().peekable();
    let mut sentence_start = true;
    while let Some(&(_, (_, c))) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut token: Vec<char> = Vec::new();
        let mut start = 0;
        while let Some(&(i, (_, c))) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            if token.is_empty() {
                start = i;
            }
            token.push(c);
            chars.next();
        }
        let lead = token.iter().take_while(|c| !c.is_alphanumeric()).count();
        let mut end = token.len();
        while end > lead && !token[end - 1].is_alphanumeric() {
            end -= 1;
        }
        // A possessive is dropped (and ends a run).
        let mut possessive = false;
        if end >= lead + 3 && token[end - 1] == 's' && matches!(token[end - 2], '\'' | '\u{2019}') {
            end -= 2;
            possessive = true;
        }
        let mut core: String = token[lead..end].iter().collect();
        let mut trail: String = token[end..].iter().collect();
        if possessive {
            trail = trail[trail.char_indices().nth(2).map_or(trail.len(), |(i, _)| i)..].to_string();
        }
        if trail.starts_with('.') && is_initialism(&format!("{core}.")) {
            core.push('.');
            end += 1;
            trail.remove(0);
        }
        let role = role(&core);
        out.push(EnWord {
            chars: start + lead..start + end.max(lead),
            role,
            break_before: lead > 0,
            break_after: possessive || !trail.is_empty(),
            sentence_start,
            text: core,
        });
        sentence_start = trail.contains(['.', '!', '?']);
    }
    out
}

/// The role of a word by its spelling.
fn role(core: &str) -> Role {
    let Some(first) = core.chars().next() else { return Role::Other };
    if first.is_uppercase() {
        return Role::Name;
    }
    if let Some((prefix, rest)) = core.split_once('-')
        && NAME_PREFIXES.contains(&prefix)
        && rest.chars().next().is_some_and(char::is_uppercase)
    {
        return Role::Name;
    }
    if PARTICLES.contains(&core) { Role::Particle } else { Role::Other }
}

/// Lower-cased words that `texts` write in lower case (not names nor particles):
/// a capitalized sentence start among them is an ordinary word.
pub(crate) fn lowercase_words<'a>(texts: impl IntoIterator<Item = &'a str>) -> HashSet<String> {
    let mut out = HashSet::new();
    for text in texts {
        for word in tokens(text) {
            if word.role == Role::Other && word.text.chars().next().is_some_and(char::is_lowercase) {
                out.insert(word.text.to_lowercase());
            }
        }
    }
    out
}

/// An English line's words and name runs.
#[derive(Debug, Clone)]
pub(crate) struct English {
    pub(crate) words: Vec<EnWord>,
    /// Runs of name words (indices into `words`).
    pub(crate) runs: Vec<Range<usize>>,
}

impl English {
    /// Reads `text`; `lowercase` is [`lowercase_words`] of the texts it belongs to.
    pub(crate) fn new(text: &str, lowercase: &HashSet<String>) -> Self {
        let mut words = tokens(text);
        for word in &mut words {
            if word.sentence_start
                && word.role == Role::Name
                && word.text.chars().next().is_some_and(char::is_uppercase)
                && (FUNCTION_WORDS.contains(&word.text.as_str()) || lowercase.contains(&word.text.to_lowercase()))
            {
                word.role = Role::Other;
            }
        }
        let mut runs = Vec::new();
        let mut i = 0;
        while i < words.len() {
            if words[i].role != Role::Name {
                i += 1;
                continue;
            }
            let mut end = i + 1;
            while end < words.len()
                && words[end].role != Role::Other
                && !words[end - 1].break_after
                && !words[end].break_before
            {
                end += 1;
            }
            let next = end;
            while words[end - 1].role == Role::Particle {
                end -= 1;
            }
            runs.push(i..end);
            i = next;
        }
        Self { words, runs }
    }

    /// The name words that do not open a sentence: capitalized by choice.
    pub(crate) fn mid_sentence_names(&self) -> impl Iterator<Item = &str> {
        self.words.iter().filter(|w| w.role == Role::Name && !w.sentence_start).map(|w| w.text.as_str())
    }

    /// The text of words `range`: their cores joined by single spaces.
    pub(crate) fn text(&self, range: Range<usize>) -> String {
        self.words[range].iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")
    }

    /// Every span of at most [`MAX_SPAN_WORDS`] words inside a run that starts and
    /// ends with a name word.
    pub(crate) fn spans(&self) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        for run in &self.runs {
            for start in run.clone().filter(|&i| self.words[i].role == Role::Name) {
                for end in start + 1..=run.end.min(start + MAX_SPAN_WORDS) {
                    if self.words[end - 1].role == Role::Name {
                        out.push(start..end);
                    }
                }
            }
        }
        out
    }

    /// The name span that the words covering `chars` (character ranges of the
    /// line, such as aligned target words) point at: within the run holding most of
    /// those words that are names (the first of equal ones), from the first such
    /// word to the last. `None` when no name word is covered.
    pub(crate) fn span_at(&self, chars: &[Range<usize>]) -> Option<Range<usize>> {
        let hit = |w: &EnWord| chars.iter().any(|c| c.start < w.chars.end && w.chars.start < c.end);
        let mut best: Option<(usize, Range<usize>)> = None;
        for run in &self.runs {
            let names: Vec<usize> =
                run.clone().filter(|&i| self.words[i].role == Role::Name && hit(&self.words[i])).collect();
            if let (Some(&first), Some(&last)) = (names.first(), names.last())
                && best.as_ref().is_none_or(|(n, _)| names.len() > *n)
            {
                best = Some((names.len(), first..last + 1));
            }
        }
        best.map(|(_, span)| span)
    }
}

/// One Arabic word of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArWord {
    /// Folded text.
    pub(crate) folded: String,
    /// Characters of the line it covers.
    pub(crate) chars: Range<usize>,
    /// Byte range in the line of each folded character.
    origins: Vec<Range<usize>>,
    /// Only one space separates it from the next word.
    pub(crate) adjacent: bool,
}

/// The words of an Arabic line.
pub(crate) fn arabic_words(text: &str) -> Vec<ArWord> {
    let folded = fold(text);
    let chars: Vec<char> = folded.text.chars().collect();
    let found = words(&folded.text);
    let char_of = |byte: usize| text[..byte].chars().count();
    found
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let origins = folded.origins[w.chars.clone()].to_vec();
            let bytes = folded.original_span(w.chars.clone()).unwrap_or(0..0);
            let adjacent =
                found.get(i + 1).is_some_and(|next| next.chars.start == w.chars.end + 1 && chars[w.chars.end] == ' ');
            ArWord { folded: w.text.clone(), chars: char_of(bytes.start)..char_of(bytes.end), origins, adjacent }
        })
        .collect()
}

/// A word with its proclitics stripped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stem {
    /// Folded characters of proclitics.
    prefix: usize,
    /// The folded stem.
    pub(crate) text: String,
    /// ل + ال written لل: the stem's article is not in the text.
    lam: bool,
}

/// The stem of `word` (see the module documentation); `attested` counts the
/// folded words the sources write.
pub(crate) fn stem(word: &ArWord, attested: &HashMap<String, usize>) -> Stem {
    let readings = proclitic_readings(&word.folded);
    let stripped = || readings.iter().filter(|(prefix, _)| *prefix > 0).rev();
    let count = |w: &str| attested.get(w).copied().unwrap_or(0);
    let whole = count(&word.folded);
    let chosen = stripped()
        .find(|(prefix, stem)| {
            // ل + ال written لل: the stem's article is not in the word.
            let lam =
                stem.starts_with("ال") && !word.folded.chars().skip(*prefix).collect::<String>().starts_with("ال");
            stem.chars().count() >= MIN_ATTESTED_STEM
                && count(stem) > 0
                && (lam || whole <= 1 || count(stem) >= whole)
                && per_billion(stem) >= per_billion(&word.folded)
        })
        .or_else(|| stripped().find(|(_, stem)| whole <= 1 && stem.starts_with("ال")))
        .cloned()
        .unwrap_or((0, word.folded.clone()));
    let (prefix, text) = chosen;
    let rest: String = word.folded.chars().skip(prefix).collect();
    Stem { prefix, lam: text.starts_with("ال") && !rest.starts_with("ال"), text }
}

impl ArWord {
    /// The word as `line` writes it from its folded character `from` on, without
    /// diacritics and tatweel (a ligature that folds to several letters once).
    pub(crate) fn written(&self, line: &str, from: usize) -> String {
        let mut out = String::new();
        let mut last: Option<&Range<usize>> = None;
        for range in &self.origins[from.min(self.origins.len())..] {
            if last != Some(range) {
                out.extend(line[range.clone()].chars().filter(|&c| !is_removed(c)));
            }
            last = Some(range);
        }
        out
    }
}

impl Stem {
    /// The stem as `line` writes it (the word `word` of it), without diacritics
    /// and tatweel; the article restored where لل wrote it.
    pub(crate) fn surface(&self, word: &ArWord, line: &str) -> String {
        let article = if self.lam { "ا" } else { "" };
        format!("{article}{}", word.written(line, self.prefix))
    }
}

/// The consonant skeleton of a folded Arabic n-gram, in Latin letters: the
/// article and long vowels (ا و ي), ع and hamza left out, ة at a word's end too,
/// letters that romanize alike merged (ث ت ط → t, ذ د ض → d, س ش ص → s, ز ظ → z,
/// ق ك خ → k), ه kept inside a word only, repeats collapsed.
fn arabic_skeleton(folded: &str) -> Vec<char> {
    let mut out: Vec<char> = Vec::new();
    for word in folded.split(' ') {
        let word = word.strip_prefix("ال").filter(|w| w.chars().count() >= 2).unwrap_or(word);
        let last = word.chars().count().saturating_sub(1);
        for (i, c) in word.chars().enumerate() {
            let latin = match c {
                'ب' => 'b',
                'ت' | 'ث' | 'ط' => 't',
                'ج' => 'j',
                'ح' => 'h',
                'ه' if i < last => 'h',
                'خ' | 'ق' | 'ك' => 'k',
                'د' | 'ذ' | 'ض' => 'd',
                'ر' => 'r',
                'ز' | 'ظ' => 'z',
                'س' | 'ش' | 'ص' => 's',
                'غ' => 'g',
                'ف' => 'f',
                'ل' => 'l',
                'م' => 'm',
                'ن' => 'n',
                _ => continue,
            };
            if out.last() != Some(&latin) {
                out.push(latin);
            }
        }
    }
    out
}

/// The consonant skeleton of an English span, comparable with
/// [`arabic_skeleton`]: article prefixes (`al-`) and vowels (with w and y) left
/// out, digraphs (sh kh th dh gh ph) as one letter, repeats collapsed.
fn english_skeleton(text: &str) -> Vec<char> {
    let mut out: Vec<char> = Vec::new();
    for word in text.split(' ') {
        let lower = word.to_lowercase();
        let word = NAME_PREFIXES
            .iter()
            .find_map(|p| lower.strip_prefix(p).and_then(|w| w.strip_prefix('-')))
            .unwrap_or(&lower);
        let chars: Vec<char> = word.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let pair = (chars[i], chars.get(i + 1).copied());
            let (latin, width) = match pair {
                ('s', Some('h')) => (Some('s'), 2),
                ('k', Some('h')) => (Some('k'), 2),
                ('t', Some('h')) => (Some('t'), 2),
                ('d', Some('h')) => (Some('d'), 2),
                ('g', Some('h')) => (Some('g'), 2),
                ('p', Some('h')) => (Some('f'), 2),
                ('q' | 'c', _) => (Some('k'), 1),
                ('v', _) => (Some('f'), 1),
                ('p', _) => (Some('b'), 1),
                ('x', _) => (Some('k'), 1),
                (c, _) if "bdfghjklmnrstz".contains(c) => (Some(c), 1),
                _ => (None, 1),
            };
            if let Some(latin) = latin
                && out.last() != Some(&latin)
            {
                out.push(latin);
            }
            i += width;
        }
    }
    out
}

/// How much an English span sounds like a folded Arabic n-gram: the Dice
/// coefficient of the longest common subsequence of their consonant skeletons
/// (1 for `حسين` and `Hussein`, 0 for `التقي` and `Baghdad`). Used to break ties
/// between equally associated renderings.
pub(crate) fn sounds_alike(folded: &str, english: &str) -> f64 {
    let (a, b) = (arabic_skeleton(folded), english_skeleton(english));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let mut row = vec![0usize; b.len() + 1];
    for x in &a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y { diagonal + 1 } else { above.max(row[j]) };
            diagonal = above;
        }
    }
    2.0 * row[b.len()] as f64 / (a.len() + b.len()) as f64
}

/// Whether a folded word may open or close a mined name.
pub(crate) fn is_content_word(folded: &str) -> bool {
    has_arabic_letter(folded) && !STOPWORDS.contains(&folded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glossary::normalize::fold_str;

    fn runs(text: &str, lowercase: &[&str]) -> Vec<String> {
        let lowercase = lowercase.iter().map(|s| s.to_string()).collect();
        let english = English::new(text, &lowercase);
        english.runs.iter().map(|r| english.text(r.clone())).collect()
    }

    #[test]
    fn runs_of_capitalized_words_with_particles_inside() {
        assert_eq!(
            runs("Prime Minister Mohammed Shia al-Sudani met the head of the Popular Mobilization Forces.", &[]),
            vec!["Prime Minister Mohammed Shia al-Sudani", "Popular Mobilization Forces"]
        );
        assert_eq!(runs("The Ministry of the Interior of Iraq said", &[]), vec!["Ministry of the Interior of Iraq"]);
        assert_eq!(runs("Osama bin Laden and the al-Nusra Front", &[]), vec!["Osama bin Laden", "al-Nusra Front"]);
        // Punctuation and possessives end runs; particles do not end them.
        assert_eq!(
            runs("Baghdad, Erbil (Kurdistan Region) and Iran's Foreign Ministry of", &[]),
            vec!["Baghdad", "Erbil", "Kurdistan Region", "Iran", "Foreign Ministry"]
        );
        assert_eq!(runs("U.S. Secretary of State said", &[]), vec!["U.S. Secretary of State"]);
    }

    #[test]
    fn sentence_starts_are_names_only_when_nothing_says_otherwise() {
        assert_eq!(runs("Security forces said. Baghdad is calm. He left", &["security"]), vec!["Baghdad"]);
        assert_eq!(runs("Security forces said", &[]), vec!["Security"]);
        assert_eq!(runs("“The Hezbollah fighters", &[]), vec!["Hezbollah"]);
        let lowercase = lowercase_words(["the security forces of al-Sudani and Basra", "said Iraqi"]);
        let mut sorted: Vec<&String> = lowercase.iter().collect();
        sorted.sort();
        assert_eq!(sorted, ["and", "forces", "said", "security"]);
    }

    #[test]
    fn spans_inside_runs_and_the_span_at_aligned_words() {
        let english = English::new("Iraqi President Abdul Latif Rashid of the PUK, in Baghdad", &HashSet::new());
        let texts: Vec<String> = english.spans().into_iter().map(|s| english.text(s)).collect();
        // Spans start and end at names and hold at most 6 words: 19 in the first
        // run, 1 in the second.
        assert_eq!(texts.len(), 20);
        assert!(texts.contains(&"Abdul Latif Rashid".to_string()));
        assert!(texts.contains(&"Rashid of the PUK".to_string()));
        assert!(!texts.iter().any(|t| t.ends_with("of") || t.ends_with("the")));
        // Characters of "Latif" and "Rashid"; of "the" (no name word); of "Baghdad"
        // and "Iraqi" (one name in each run: the first run wins).
        let span = english.span_at(&[22..27, 28..34]).unwrap();
        assert_eq!(english.text(span), "Latif Rashid");
        assert_eq!(english.span_at(std::slice::from_ref(&(38..41))), None);
        assert_eq!(english.span_at(&[50..57, 0..5]).map(|s| english.text(s)), Some("Iraqi".into()));
    }

    #[test]
    fn stems_strip_proclitics_as_the_sources_attest_them() {
        let attested: HashMap<String, usize> =
            [("لبنان", 1), ("حماس", 1)].iter().map(|(s, n)| (s.to_string(), *n)).collect();
        let line = "وبالحكومةِ للحكومة للبنان وحماس بغداد وزير";
        let words = arabic_words(line);
        let stems: Vec<(String, String)> = words
            .iter()
            .map(|w| {
                let s = stem(w, &attested);
                (s.text.clone(), s.surface(w, line))
            })
            .collect();
        let want = [
            ("الحكومة", "الحكومة"),
            ("الحكومة", "الحكومة"),
            ("لبنان", "لبنان"),
            ("حماس", "حماس"),
            ("بغداد", "بغداد"),
            ("وزير", "وزير"),
        ];
        assert_eq!(stems, want.map(|(a, b)| (a.to_string(), b.to_string())));
        assert_eq!(words[0].chars, 0..10);
        assert_eq!(words.iter().map(|w| w.adjacent).collect::<Vec<_>>(), [true, true, true, true, true, false]);
        let words = arabic_words("حزب، الله");
        assert!(!words[0].adjacent);
        assert!(is_content_word("بغداد") && !is_content_word("الي") && !is_content_word("2024"));
    }

    #[test]
    fn cue_lists_are_sorted_and_read_whole() {
        let en = read_cues(CUES_EN, read_en_cue).unwrap();
        let ar = read_cues(CUES_AR, read_descriptor).unwrap();
        assert!(en.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ar.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(en.iter().all(|(w, _)| *w == w.to_lowercase()));
        assert!(ar.iter().all(|(w, _)| fold_str(w) == *w));
        // Words that render a descriptor inside a name are English cue words, so
        // that a rendering is compared with the Arabic without them.
        for (word, d) in &ar {
            assert!(d.inside.iter().all(|w| en_cue(w).is_some()), "{word}");
        }
        assert_eq!(EN_CUES.len(), en.len());
        assert_eq!(AR_CUES.len(), ar.len());
        assert_eq!(en_cue("July"), Some(Cue::NotName));
        assert_eq!(en_cue("Mr."), Some(Cue::Title));
        assert_eq!(en_cue("River"), Some(Cue::Marks(Kind::Place)));
        assert_eq!(en_cue("Baghdad"), None);
        assert_eq!(descriptor("مدينة"), Some(&Descriptor { kind: Kind::Place, inside: vec![] }));
        assert_eq!(descriptor("اعصار"), Some(&Descriptor { kind: Kind::Other, inside: vec!["hurricane"] }));
        assert!(descriptor("جامعة").is_some_and(|d| d.renders_in("University of Texas")));
        assert!(descriptor("مدينة").is_some_and(|d| !d.renders_in("Vatican City")));
        assert_eq!(read_cues("# c\na\tplace\nb\tcity\n", read_kind), Err(3));
        // An inside word in capitals, an empty one, an unknown kind: not read.
        for bad in ["a\tplace\tRiver\n", "a\tplace\triver|\n", "a\tcity\t-\n", "a\tplace\n"] {
            assert_eq!(read_cues(bad, read_descriptor), Err(1), "{bad}");
        }
    }

    #[test]
    fn names_that_start_with_a_proclitic_letter_stay_whole() {
        // كاليفورنيا recurs, so its ك is no proclitic although اليفورنيا has the
        // article; بكين recurs more than كين stands alone; وبغداد is و + بغداد.
        let line = "كاليفورنيا كاليفورنيا بكين بكين كين وبغداد بغداد ولكاليفورنيا";
        let words = arabic_words(line);
        let mut attested: HashMap<String, usize> = HashMap::new();
        for w in &words {
            *attested.entry(w.folded.clone()).or_default() += 1;
        }
        let stems: Vec<String> = words.iter().map(|w| stem(w, &attested).text).collect();
        assert_eq!(stems, ["كاليفورنيا", "كاليفورنيا", "بكين", "بكين", "كين", "بغداد", "بغداد", "كاليفورنيا"]);
    }

    #[test]
    fn transliterated_names_sound_alike() {
        for (arabic, english) in [
            ("حسين", "Hussein"),
            ("السوداني", "al-Sudani"),
            ("السوداني", "Sudani"),
            ("فؤاد حسين", "Fuad Hussein"),
            ("فؤاد حسين", "Fouad Hussein"),
            ("الحشد الشعبي", "Hashd al-Shaabi"),
            ("الشام", "Sham"),
        ] {
            assert_eq!(sounds_alike(arabic, english), 1.0, "{arabic} {english}");
        }
        assert_eq!(sounds_alike("التقي", "Baghdad"), 0.0);
        assert_eq!(sounds_alike("بغداد", "Baghdad"), 1.0);
        assert_eq!(sounds_alike("طهران", "Tehran"), 1.0);
        // h z b l against h z b l h.
        assert_eq!(sounds_alike("حزب الله", "Hezbollah"), 8.0 / 9.0);
        assert_eq!(sounds_alike("السوداني", "Hezbollah"), 0.0);
        assert!(sounds_alike("الحشد الشعبي", "Popular Mobilization Forces") < 0.3);
        assert_eq!(sounds_alike("في", ""), 0.0);
    }
}
