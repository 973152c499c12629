//! Deciding which mentions are names: ambiguous forms, context cues and one
//! sense per document.
//!
//! Some forms of a name are also common words (الجزيرة is Al Jazeera and "the
//! island", الأسد is Assad and "the lion"). A glossary marks such forms
//! ambiguous and gives cues: short phrases around a mention, written with `~` for
//! the mention (`قناة ~`, `~ بالأعمال`, `شبه ~`; letters written against it
//! name the proclitic on the mention: `ل~` for لصالح "in favour of"), or without
//! `~` for words anywhere in the same sentence. Each mention gets a [`Decision`]:
//!
//! 1. a refuting cue around it skips it, whatever the form;
//! 2. an unambiguous form is enforced, and confirms its entry for the document;
//! 3. an ambiguous form with a confirming cue, written between quotation marks,
//!    or listed with a name of its kind (الفلوجة والرمادي) is enforced, and
//!    confirms its entry;
//! 4. any other ambiguous form is enforced only when its entry is confirmed
//!    somewhere in the same document (one sense per discourse: Gale, Church &
//!    Yarowsky 1992), and skipped otherwise.
//!
//! Cue words are compared folded, as the matcher compares terms; a text word
//! matches a cue word with proclitics before it (و ف ب ل ك, لل for ل + ال) and
//! a possessive suffix after it (رأسه for رأس). The words of a positioned cue
//! must be adjacent to the mention, with nothing but a space between them.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use super::matcher::{Match, Sentence, proclitic_readings, with_suffix};
use super::normalize::fold_str;
use super::{Form, Glossary, Matcher};

/// Where a cue's words stand: around the mention, or anywhere in its sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// Words right before and right after the mention, and the proclitic
    /// written on it (`ل~`: the mention as لصالح), if the cue names one.
    Around { before: Vec<String>, proclitic: Option<String>, after: Vec<String> },
    /// A phrase anywhere in the sentence, outside the mention.
    Anywhere(Vec<String>),
}

/// A context cue: words that confirm or refute the name sense of a mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cue {
    text: String,
    place: Place,
}

impl fmt::Display for Cue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The folded words of a cue phrase; an error names what is wrong.
fn cue_words(text: &str, cue: &str) -> Result<Vec<String>, String> {
    let words: Vec<String> = fold_str(text).split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect();
    for word in &words {
        if !word.chars().all(char::is_alphanumeric) || !super::parse::has_arabic_letter(word) {
            return Err(format!("cue `{cue}`: `{word}` is not an Arabic word"));
        }
    }
    Ok(words)
}

impl Cue {
    /// Reads a cue as a glossary writes it: Arabic words with at most one `~`
    /// standing for the mention.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let place = match text.split_once('~') {
            Some((before, after)) => {
                if after.contains('~') {
                    return Err(format!("cue `{text}` has more than one `~`"));
                }
                // Letters written against `~` are the mention's proclitic.
                let (before, proclitic) = match before.rsplit_once(' ') {
                    Some((words, attached)) => (words, attached),
                    None => ("", before),
                };
                let proclitic = fold_str(proclitic);
                if !proclitic.is_empty() && !is_proclitic(&proclitic) {
                    return Err(format!("cue `{text}`: `{proclitic}` is not a proclitic (و ف ب ل ك)"));
                }
                let (before, after) = (cue_words(before, &text)?, cue_words(after, &text)?);
                if before.is_empty() && after.is_empty() && proclitic.is_empty() {
                    return Err(format!("cue `{text}` has no word besides `~`"));
                }
                Place::Around { before, proclitic: (!proclitic.is_empty()).then_some(proclitic), after }
            }
            None => {
                let words = cue_words(&text, &text)?;
                if words.is_empty() {
                    return Err("empty cue".to_string());
                }
                Place::Anywhere(words)
            }
        };
        Ok(Self { text, place })
    }

    /// The cue as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the cue holds around a mention of `sentence` covering `words`
    /// (indices into its words) with the folded proclitic `prefix` on it; a
    /// conjunction (و ف) on the mention separates it from the words before.
    fn holds(&self, sentence: &Sentence, words: &Range<usize>, prefix: &str) -> bool {
        let conjoined = prefix.starts_with(['و', 'ف']);
        match &self.place {
            Place::Around { before, proclitic, after } => {
                let preposition = prefix.trim_start_matches(['و', 'ف']);
                if proclitic.as_ref().is_some_and(|p| p.as_str() != preposition && p.as_str() != prefix) {
                    return false;
                }
                let before_ok = before.is_empty()
                    || (!conjoined
                        && words.start >= before.len()
                        && phrase_at(sentence, before, words.start - before.len())
                        && sentence.joined(words.start - 1));
                let after_ok = after.is_empty()
                    || (words.end + after.len() <= sentence.words.len()
                        && phrase_at(sentence, after, words.end)
                        && sentence.joined(words.end - 1));
                before_ok && after_ok
            }
            Place::Anywhere(phrase) => (0..=sentence.words.len().saturating_sub(phrase.len()))
                .filter(|&at| at + phrase.len() <= words.start || at >= words.end)
                .any(|at| phrase_at(sentence, phrase, at)),
        }
    }
}

/// Whether `text` is proclitics the matcher reads: a conjunction (و ف), a
/// preposition (ب ل ك), or both.
fn is_proclitic(text: &str) -> bool {
    let rest = text.strip_prefix(['و', 'ف']).unwrap_or(text);
    rest.is_empty() && text != rest || matches!(rest, "ب" | "ل" | "ك")
}

/// Whether the cue words `phrase` stand at word `at` of `sentence`, adjacent.
fn phrase_at(sentence: &Sentence, phrase: &[String], at: usize) -> bool {
    phrase.iter().enumerate().all(|(k, cue)| {
        let word = &sentence.words[at + k].text;
        (k == 0 || sentence.joined(at + k - 1))
            && proclitic_readings(word).iter().any(|(_, stem)| {
                let bare = stem.strip_prefix("ال").unwrap_or(stem);
                stem == cue || bare == cue || with_suffix(cue, stem)
            })
    })
}

/// What becomes of a mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Its rendering is enforced. `confirmed` says how an ambiguous form was
    /// confirmed (`None` for an unambiguous form).
    Enforce {
        /// How the name sense was confirmed.
        confirmed: Option<String>,
    },
    /// It is found but not enforced.
    Skip {
        /// Why.
        why: String,
    },
}

impl Decision {
    /// Whether the rendering is enforced.
    pub fn is_enforced(&self) -> bool {
        matches!(self, Decision::Enforce { .. })
    }
}

/// A glossary form found in a sentence, and the decision on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// Index of the entry in [`Glossary::entries`].
    pub entry: usize,
    /// Which of its forms the sentence uses.
    pub form: Form,
    /// Byte range of the form in the sentence (proclitics excluded).
    pub span: Range<usize>,
    /// Byte range of its proclitics (empty when none).
    pub prefix: Range<usize>,
    /// Whether it is enforced, and why (not).
    pub decision: Decision,
}

/// Finds the glossary's forms in documents and decides which are names.
#[derive(Debug, Clone)]
pub struct Senses {
    matcher: Matcher,
}

impl Senses {
    /// Prepares `glossary` for matching.
    pub fn new(glossary: &Glossary) -> Self {
        Self { matcher: Matcher::new(glossary) }
    }

    /// The matcher underneath.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// The mentions of each sentence of one document (sentences in reading
    /// order), with their decisions. A name confirmed anywhere in the document
    /// confirms its ambiguous forms everywhere in it.
    pub fn document(&self, glossary: &Glossary, sentences: &[&str]) -> Vec<Vec<Mention>> {
        let mut confirmed: HashSet<usize> = HashSet::new();
        let mut out: Vec<Vec<Mention>> = Vec::with_capacity(sentences.len());
        for text in sentences {
            let sentence = Sentence::new(text);
            let matches = self.matcher.find_in(&sentence);
            let mut decisions: Vec<Decision> =
                matches.iter().map(|m| decide(&glossary.entries()[m.entry], &sentence, m)).collect();
            confirm_lists(glossary, &sentence, &matches, &mut decisions);
            let mentions = matches.into_iter().zip(decisions).map(|(m, decision)| {
                if decision.is_enforced() {
                    confirmed.insert(m.entry);
                }
                Mention { entry: m.entry, form: m.form, span: m.span, prefix: m.prefix, decision }
            });
            out.push(mentions.collect());
        }
        for mention in out.iter_mut().flatten() {
            if let Decision::Skip { why } = &mention.decision
                && why == UNCONFIRMED
                && confirmed.contains(&mention.entry)
            {
                mention.decision = Decision::Enforce { confirmed: Some(CONFIRMED_IN_DOCUMENT.to_string()) };
            }
        }
        out
    }
}

/// Why an ambiguous form without a confirming cue is skipped.
pub const UNCONFIRMED: &str = "ambiguous form without a confirming cue";
/// How an ambiguous form confirmed by another mention is enforced.
pub const CONFIRMED_IN_DOCUMENT: &str = "the name is confirmed elsewhere in the document";

/// Confirms unconfirmed ambiguous mentions listed with an enforced name of the
/// same kind (الفلوجة والرمادي, "Falluja and Ramadi"; الكوت، العمارة): the next
/// mention follows with nothing between but و on it or a comma. Repeats until
/// nothing changes, so a confirmed mention confirms the next in its list.
fn confirm_lists(glossary: &Glossary, sentence: &Sentence, matches: &[Match], decisions: &mut [Decision]) {
    let listed = |a: &Match, b: &Match| {
        if b.words.start != a.words.end || a.words.end == 0 {
            return false;
        }
        let gap = sentence.gap(a.words.end - 1);
        let prefix = sentence.folded_slice(b.prefix.clone());
        let same_kind = glossary.entries()[a.entry].kind == glossary.entries()[b.entry].kind;
        same_kind
            && ((gap == " " && prefix == "و")
                || (matches!(gap.trim(), "،" | ",") && (prefix.is_empty() || prefix == "و")))
    };
    loop {
        let mut changed = false;
        for i in 0..matches.len() {
            if !matches!(&decisions[i], Decision::Skip { why } if why == UNCONFIRMED) {
                continue;
            }
            let before = i.checked_sub(1).filter(|&p| listed(&matches[p], &matches[i]));
            let after = Some(i + 1).filter(|&n| n < matches.len() && listed(&matches[i], &matches[n]));
            let by = before.into_iter().chain(after).find(|&j| decisions[j].is_enforced());
            if let Some(j) = by {
                let name = sentence.text_of(matches[j].span.clone());
                decisions[i] = Decision::Enforce { confirmed: Some(format!("listed with the name `{name}`")) };
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// The decision on one mention from its own sentence alone.
fn decide(entry: &super::Entry, sentence: &Sentence, m: &Match) -> Decision {
    let prefix = sentence.folded_slice(m.prefix.clone());
    if let Some(cue) = entry.refute.iter().find(|c| c.holds(sentence, &m.words, &prefix)) {
        return Decision::Skip { why: format!("refuted by the cue `{cue}`") };
    }
    if !m.ambiguous {
        return Decision::Enforce { confirmed: None };
    }
    if let Some(cue) = entry.confirm.iter().find(|c| c.holds(sentence, &m.words, &prefix)) {
        return Decision::Enforce { confirmed: Some(format!("confirmed by the cue `{cue}`")) };
    }
    if quoted(sentence.text_of(0..m.prefix.start), sentence.text_of(m.span.end..usize::MAX)) {
        return Decision::Enforce { confirmed: Some(QUOTED.to_string()) };
    }
    Decision::Skip { why: UNCONFIRMED.to_string() }
}

/// How an ambiguous form written between quotation marks is enforced.
pub const QUOTED: &str = "quoted as a name";

/// Whether a mention with `before` and `after` it stands between quotation
/// marks («الجزيرة», "الجزيرة"), as news quotes the names of outlets and works.
fn quoted(before: &str, after: &str) -> bool {
    let opening = before.trim_end_matches(['ـ', ' ']).chars().next_back();
    let closing = after.trim_start_matches(['ـ', ' ']).chars().next();
    matches!((opening, closing), (Some('«'), Some('»')) | (Some('"'), Some('"')) | (Some('“'), Some('”')))
}

#[cfg(test)]
mod tests {
    use super::super::parse::HEADER_SENSES;
    use super::*;

    fn glossary() -> Glossary {
        let rows = [
            "الجزيرة\tAl Jazeera\torg\t\tQatari broadcaster\t\tالجزيرة\tقناة ~|مراسل ~|قالت ~\tشبه ~",
            "بشار الأسد\tBashar al-Assad\tperson\t\t\tالأسد=Assad\tالأسد\tنظام ~|الرئيس ~\t",
            "القائم\tAl-Qaim\tplace\t\t\t\tالقائم\tمدينة ~|قضاء ~\t~ بالأعمال|الوضع ~",
            "مسقط\tMuscat\tplace\t\t\t\t\t\t~ رأس",
        ];
        let mut g = Glossary::new();
        g.add(format!("{HEADER_SENSES}\n{}\n", rows.join("\n")).as_bytes(), "s.tsv").unwrap();
        g
    }

    /// `(source text, rendering, decision)` per mention of each sentence.
    fn decided(sentences: &[&str]) -> Vec<Vec<(String, String, String)>> {
        let g = glossary();
        Senses::new(&g)
            .document(&g, sentences)
            .into_iter()
            .zip(sentences)
            .map(|(mentions, text)| {
                mentions
                    .into_iter()
                    .map(|m| {
                        let entry = &g.entries()[m.entry];
                        let decision = match m.decision {
                            Decision::Enforce { confirmed } => confirmed.unwrap_or_else(|| "enforced".into()),
                            Decision::Skip { why } => format!("skipped: {why}"),
                        };
                        (text[m.span].to_string(), entry.rendering(m.form).to_string(), decision)
                    })
                    .collect()
            })
            .collect()
    }

    fn d(text: &str, rendering: &str, decision: &str) -> (String, String, String) {
        (text.into(), rendering.into(), decision.into())
    }

    #[test]
    fn cues_confirm_and_refute_ambiguous_forms() {
        assert_eq!(
            decided(&["قال مراسل الجزيرة إن شبه الجزيرة هادئة، وإن الجزيرة بعيدة"]),
            vec![vec![
                d("الجزيرة", "Al Jazeera", "confirmed by the cue `مراسل ~`"),
                d("الجزيرة", "Al Jazeera", "skipped: refuted by the cue `شبه ~`"),
                d("الجزيرة", "Al Jazeera", "the name is confirmed elsewhere in the document"),
            ]]
        );
        assert_eq!(
            decided(&["وصل القائم بالأعمال", "زار مدينة القائم", "الوضع القائم"]),
            vec![
                vec![d("القائم", "Al-Qaim", "skipped: refuted by the cue `~ بالأعمال`")],
                vec![d("القائم", "Al-Qaim", "confirmed by the cue `مدينة ~`")],
                vec![d("القائم", "Al-Qaim", "skipped: refuted by the cue `الوضع ~`")],
            ]
        );
        // Cue words take proclitics and suffixes; a positioned cue needs adjacency.
        assert_eq!(
            decided(&["وقالت لقناة الجزيرة", "ولد في مسقط رأسه"]),
            vec![
                vec![d("الجزيرة", "Al Jazeera", "confirmed by the cue `قناة ~`")],
                vec![d("مسقط", "Muscat", "skipped: refuted by the cue `~ رأس`")],
            ]
        );
        assert_eq!(
            decided(&["قناة، الجزيرة"]),
            vec![vec![d("الجزيرة", "Al Jazeera", "skipped: ambiguous form without a confirming cue")]]
        );
    }

    #[test]
    fn a_name_confirmed_once_confirms_its_short_forms_in_the_document() {
        let article = ["التقى الرئيس السوري بشار الأسد وفدا", "وقال الأسد إن", "زأر الأسد"];
        assert_eq!(
            decided(&article),
            vec![
                vec![d("بشار الأسد", "Bashar al-Assad", "enforced")],
                vec![d("الأسد", "Assad", "the name is confirmed elsewhere in the document")],
                vec![d("الأسد", "Assad", "the name is confirmed elsewhere in the document")],
            ]
        );
        // Each sentence alone: nothing confirms the bare surname.
        assert_eq!(
            decided(&["وقال الأسد إن"]),
            vec![vec![d("الأسد", "Assad", "skipped: ambiguous form without a confirming cue")]]
        );
        assert_eq!(decided(&["قوات نظام الأسد"])[0][0].2, "confirmed by the cue `نظام ~`");
    }

    #[test]
    fn a_cue_may_name_the_proclitic_on_the_mention() {
        let rows = ["برهم صالح\tBarham Salih\tperson\t\t\tصالح=Salih\tصالح\t\tل~"];
        let mut g = Glossary::new();
        g.add(format!("{HEADER_SENSES}\n{}\n", rows.join("\n")).as_bytes(), "p.tsv").unwrap();
        let decided: Vec<Vec<Decision>> = Senses::new(&g)
            .document(&g, &["زار برهم صالح بغداد", "صوت البرلمان لصالح القرار", "وقال صالح إن"])
            .into_iter()
            .map(|mentions| mentions.into_iter().map(|m| m.decision).collect())
            .collect();
        let enforced = |confirmed: Option<&str>| Decision::Enforce { confirmed: confirmed.map(str::to_string) };
        assert_eq!(
            decided,
            vec![
                vec![enforced(None)],
                vec![Decision::Skip { why: "refuted by the cue `ل~`".into() }],
                vec![enforced(Some(CONFIRMED_IN_DOCUMENT))],
            ]
        );
    }

    #[test]
    fn quoted_ambiguous_forms_are_names() {
        assert_eq!(decided(&["قالت مصادر لـ«الجزيرة» إن"])[0][0].2, QUOTED);
        assert_eq!(decided(&["نشر \"الجزيرة\" تقريرا"])[0][0].2, QUOTED);
    }

    #[test]
    fn malformed_cues_are_refused() {
        assert_eq!(Cue::parse("قناة س~").unwrap_err(), "cue `قناة س~`: `س` is not a proclitic (و ف ب ل ك)");
        assert_eq!(Cue::parse("~").unwrap_err(), "cue `~` has no word besides `~`");
        assert_eq!(Cue::parse("~ a ~").unwrap_err(), "cue `~ a ~` has more than one `~`");
        assert_eq!(Cue::parse("قناة Al").unwrap_err(), "cue `قناة Al`: `Al` is not an Arabic word");
        assert_eq!(Cue::parse(" قناة  ~ ").unwrap().text(), "قناة ~");
    }
}
