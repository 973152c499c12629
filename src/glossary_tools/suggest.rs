//! Mining glossary candidates from translated sentence pairs.
//!
//! [`mine`] collects Arabic word n-grams (1 to [`MAX_NGRAM`] words, folded, the
//! first word's proclitics stripped as the matcher strips them) that recur in
//! the sources, that no glossary term overlaps, whose words are adjacent (no
//! punctuation between them) and that neither start nor end with a function word.
//! An n-gram is left out when a longer one holds every occurrence of it. Each
//! occurrence gets an English rendering, a name span of its translation
//! (a run of capitalized words, particles such as `al-`, `bin`, `of` inside):
//!
//! * **alignment**, when pairs carry word links (from `translate --align` output,
//!   or computed with a model): the span of the target words linked to the
//!   n-gram's source words;
//! * **co-occurrence** otherwise: over the pairs, each n-gram and each English span
//!   is counted once per pair, and their association is the Dice coefficient
//!   `2·c(a,e) / (c(a) + c(e))`. Within a pair, n-gram occurrences and spans are
//!   linked greedily from the most associated (competitive linking, Melamed 2000):
//!   a span linked to an n-gram is not linked to another n-gram that shares no
//!   word with it. Ties go to more shared pairs, then to a span that sounds more
//!   like the n-gram (consonant skeletons, for transliterated names), then to one
//!   whose word count is closest to the n-gram's, then to the longer span. Spans
//!   are a pair's whole runs of name words, and spans inside them that are whole
//!   runs elsewhere (`Fuad Hussein` inside `Foreign Minister Fuad Hussein`).
//!
//! [`suggest`] keeps the n-grams that [`judge`] takes for names (their most
//! frequent rendering agrees with at least half their occurrences, and both
//! sides behave as a name) and ranks them by frequency × consistency (the share
//! of occurrences with that rendering), that is, by the occurrences that agree.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::ToolError;
use super::corpus::Pair;
use super::lint::common_word;
use super::names::{
    ArWord, Cue, English, MAX_SPAN_WORDS, Stem, arabic_words, descriptor, en_cue, is_content_word, lowercase_words,
    sounds_alike, stem,
};
use super::write::row;
use crate::glossary::matcher::proclitic_readings;
use crate::glossary::normalize::fold_str;
use crate::glossary::parse::{Columns, has_arabic_letter};
use crate::glossary::{Cue as SenseCue, Entry, GlossaryError, Kind, Matcher, Origin};

/// Longest n-gram mined, in words.
pub const MAX_NGRAM: usize = 4;
/// Least share of occurrences the top rendering must cover for a suggestion.
pub const MIN_CONSISTENCY: f64 = 0.5;
/// Least share for a suggestion whose rendering does not sound like the Arabic
/// (a translated name, or a wrong link): it needs stronger agreement.
pub const MIN_CONSISTENCY_UNLIKE: f64 = 0.75;
/// Least agreeing occurrences for agreement counted among the rendered
/// occurrences only (see [`Candidate::agrees`]).
pub const MIN_AGREEING: usize = 3;
/// Least [`sounds_alike`] score of a transliterated rendering.
const MIN_ALIKE: f64 = 0.75;

/// Where renderings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// Word links of the pairs.
    Alignment,
    /// Co-occurrence across pairs (Dice coefficient, competitive linking).
    Cooccurrence,
}

impl Evidence {
    /// How it reads in a report.
    pub fn describe(self) -> &'static str {
        match self {
            Evidence::Alignment => "word alignments",
            Evidence::Cooccurrence => "co-occurrence (Dice coefficient)",
        }
    }

    /// Its name in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Evidence::Alignment => "alignment",
            Evidence::Cooccurrence => "co-occurrence",
        }
    }
}

/// One occurrence of a mined n-gram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// Index of its pair.
    pub pair: usize,
    /// The n-gram as the source writes it (proclitics stripped, no diacritics).
    pub surface: String,
    /// The English name span it is rendered by, when one was found.
    pub rendering: Option<String>,
    /// What the words beside it say about its kind: the kind, and the word.
    pub cues: Vec<(Kind, String)>,
    /// The descriptor word right before it (مدينة, إعصار…), as the source
    /// writes it without proclitics.
    pub descriptor: Option<String>,
}

/// A recurring Arabic n-gram that the glossary does not cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Folded, proclitics stripped.
    pub key: String,
    /// Its occurrences in pair order.
    pub occurrences: Vec<Occurrence>,
}

impl Candidate {
    /// The most frequent way the sources write it (the first in sort order of
    /// equally frequent ones).
    pub fn surface(&self) -> &str {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for o in &self.occurrences {
            *counts.entry(o.surface.as_str()).or_default() += 1;
        }
        counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0))).map_or("", |(s, _)| s)
    }

    /// Each rendering (`None`: no name span) with the indices of its occurrences;
    /// the most frequent first, then renderings before `None`, then in sort order.
    pub fn renderings(&self) -> Vec<(Option<&str>, Vec<usize>)> {
        let mut by: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
        for (i, o) in self.occurrences.iter().enumerate() {
            by.entry(o.rendering.as_deref()).or_default().push(i);
        }
        let mut out: Vec<(Option<&str>, Vec<usize>)> = by.into_iter().collect();
        out.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.is_none().cmp(&b.0.is_none())).then(a.0.cmp(&b.0)));
        out
    }

    /// The most frequent rendering and its count; an acronym that another
    /// rendering spells out (`USOC`, `United States Olympic Committee`) counts
    /// for that one.
    pub fn top(&self) -> Option<(&str, usize)> {
        let renderings = self.renderings();
        let named: Vec<(&str, usize)> = renderings.iter().filter_map(|(r, occ)| r.map(|r| (r, occ.len()))).collect();
        let (first, n) = *named.first()?;
        if is_acronym(first)
            && let Some((full, m)) = named.iter().find(|(r, _)| initials(r) == first)
        {
            return Some((full, n + m));
        }
        let spelled: usize = named.iter().filter(|(r, _)| is_acronym(r) && initials(first) == *r).map(|(_, m)| m).sum();
        Some((first, n + spelled))
    }

    /// Occurrences with a rendering.
    pub fn rendered(&self) -> usize {
        self.occurrences.iter().filter(|o| o.rendering.is_some()).count()
    }

    /// Whether the top rendering covers at least `share` of the occurrences,
    /// or, in at least [`MIN_AGREEING`] occurrences, at least `share` (and
    /// three quarters) of those with a rendering while outnumbering those
    /// without (where the English uses an adjective, such as `South African`,
    /// no name renders it).
    pub fn agrees(&self, share: f64) -> bool {
        let Some((_, n)) = self.top() else { return false };
        let rendered = self.rendered();
        n as f64 >= share * self.occurrences.len() as f64
            || n >= MIN_AGREEING
                && n > self.occurrences.len() - rendered
                && n as f64 >= share.max(MIN_CONSISTENCY_UNLIKE) * rendered as f64
    }

    /// Whether the top rendering agrees with [`MIN_CONSISTENCY`] of the
    /// occurrences (see [`Candidate::agrees`]).
    pub fn is_consistent(&self) -> bool {
        self.agrees(MIN_CONSISTENCY)
    }
}

/// The initials of the capitalized words of a rendering (`USOC` for `United
/// States Olympic Committee`); empty for one word.
fn initials(english: &str) -> String {
    if !english.contains(' ') {
        return String::new();
    }
    english.split(' ').filter_map(|w| w.chars().next().filter(|c| c.is_uppercase())).collect()
}

/// What [`mine`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Mined {
    /// Where the renderings come from.
    pub evidence: Evidence,
    /// The n-grams, by key.
    pub candidates: Vec<Candidate>,
    /// English words the translations capitalize where they do not open a
    /// sentence.
    pub capitalized: HashSet<String>,
    /// The sources' words, each with its proclitics read off in every way.
    pub words: HashSet<String>,
}

/// A pair read for mining.
struct Line {
    ar: Vec<ArWord>,
    stems: Vec<Stem>,
    en: English,
}

/// One occurrence of an n-gram: its pair, its first word and length, its key.
#[derive(Debug, Clone, Copy)]
struct Gram {
    pair: usize,
    start: usize,
    len: usize,
    key: usize,
}

impl Gram {
    fn words(&self) -> Range<usize> {
        self.start..self.start + self.len
    }
}

/// Whether two ranges share an element.
fn overlap(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Characters of `text` before byte `byte`.
fn chars_before(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

/// Mines the n-grams that recur at least `min_count` times in `pairs` (see the
/// module documentation); `matcher` finds the glossary's terms.
pub fn mine(pairs: &[Pair], matcher: &Matcher, min_count: usize) -> Mined {
    let ar: Vec<Vec<ArWord>> = pairs.iter().map(|p| arabic_words(&p.source)).collect();
    let mut attested: HashMap<String, usize> = HashMap::new();
    for w in ar.iter().flatten() {
        *attested.entry(w.folded.clone()).or_default() += 1;
    }
    let lowercase = lowercase_words(pairs.iter().map(|p| p.target.as_str()));
    let lines: Vec<Line> = pairs
        .iter()
        .zip(ar)
        .map(|(pair, ar)| Line {
            stems: ar.iter().map(|w| stem(w, &attested)).collect(),
            ar,
            en: English::new(&pair.target, &lowercase),
        })
        .collect();

    // Every n-gram occurrence outside the glossary's terms.
    let mut keys: HashMap<String, usize> = HashMap::new();
    let mut key_texts: Vec<String> = Vec::new();
    let mut grams: Vec<Gram> = Vec::new();
    for (p, (pair, line)) in pairs.iter().zip(&lines).enumerate() {
        let covered: Vec<Range<usize>> = matcher
            .find(&pair.source)
            .into_iter()
            .map(|m| chars_before(&pair.source, m.prefix.start)..chars_before(&pair.source, m.span.end))
            .collect();
        for start in 0..line.ar.len() {
            if !is_content_word(&line.stems[start].text) || descriptor(&line.stems[start].text).is_some() {
                continue;
            }
            let mut key = line.stems[start].text.clone();
            for len in 1..=MAX_NGRAM {
                let last = start + len - 1;
                let Some(word) = line.ar.get(last) else { break };
                if len > 1 {
                    if !line.ar[last - 1].adjacent || !has_arabic_letter(&word.folded) {
                        break;
                    }
                    key.push(' ');
                    key.push_str(&word.folded);
                }
                let chars = line.ar[start].chars.start..word.chars.end;
                if covered.iter().any(|c| overlap(c, &chars)) {
                    break;
                }
                let closing = if len == 1 { &line.stems[start].text } else { &word.folded };
                if !is_content_word(closing) {
                    continue;
                }
                let next = key_texts.len();
                let id = *keys.entry(key.clone()).or_insert(next);
                if id == next {
                    key_texts.push(key.clone());
                }
                grams.push(Gram { pair: p, start, len, key: id });
            }
        }
    }

    // Recurring n-grams that no longer one holds every time.
    let mut counts = vec![0usize; key_texts.len()];
    for g in &grams {
        counts[g.key] += 1;
    }
    grams.retain(|g| counts[g.key] >= min_count.max(1));
    let at: HashMap<(usize, usize, usize), usize> = grams.iter().map(|g| ((g.pair, g.start, g.len), g.key)).collect();
    let mut parents: HashMap<usize, HashSet<usize>> = HashMap::new();
    for g in &grams {
        let mine: HashSet<usize> = [(g.start.wrapping_sub(1), g.len + 1), (g.start, g.len + 1)]
            .iter()
            .filter_map(|&(start, len)| at.get(&(g.pair, start, len)).copied())
            .collect();
        parents.entry(g.key).and_modify(|common| common.retain(|k| mine.contains(k))).or_insert(mine);
    }
    grams.retain(|g| parents.get(&g.key).is_none_or(HashSet::is_empty));

    let evidence = if pairs.iter().any(|p| p.links.is_some()) { Evidence::Alignment } else { Evidence::Cooccurrence };
    let renderings = match evidence {
        Evidence::Alignment => aligned_renderings(pairs, &lines, &grams),
        Evidence::Cooccurrence => linked_renderings(&lines, &grams, &key_texts),
    };

    let mut by_key: HashMap<usize, Vec<Occurrence>> = HashMap::new();
    for (g, span) in grams.iter().zip(renderings) {
        let line = &lines[g.pair];
        let mut cues = Vec::new();
        let mut before = None;
        if let Some(i) = g.start.checked_sub(1)
            && let Some(d) = descriptor(&line.stems[i].text)
        {
            let written = line.stems[i].surface(&line.ar[i], &pairs[g.pair].source);
            cues.push((d.kind, written.clone()));
            before = Some(written);
        }
        let rendering = span.map(|span| {
            cues.extend(english_cues(&line.en, span.clone()));
            line.en.text(span)
        });
        let source = &pairs[g.pair].source;
        let mut surface = line.stems[g.start].surface(&line.ar[g.start], source);
        for word in &line.ar[g.start + 1..g.start + g.len] {
            surface.push(' ');
            surface.push_str(&word.written(source, 0));
        }
        by_key.entry(g.key).or_default().push(Occurrence {
            pair: g.pair,
            surface,
            rendering,
            cues,
            descriptor: before,
        });
    }
    let mut candidates: Vec<Candidate> =
        by_key.into_iter().map(|(key, occurrences)| Candidate { key: key_texts[key].clone(), occurrences }).collect();
    candidates.sort_by(|a, b| a.key.cmp(&b.key));
    let capitalized = lines.iter().flat_map(|l| l.en.mid_sentence_names().map(str::to_string)).collect();
    let words = lines
        .iter()
        .flat_map(|l| &l.ar)
        .flat_map(|w| proclitic_readings(&w.folded).into_iter().map(|(_, stem)| stem))
        .collect();
    Mined { evidence, candidates, capitalized, words }
}

/// English words that tell a rendering's kind: before it, a title (person), a
/// word of direction or a preposition of place (place), a given name in the same
/// run of name words before a one-word span (person: `Kristoffer` before
/// `Schneider`); a word of it that
/// marks a place or an organization (`River`, `University`); after it, a
/// reporting verb (person) or a title (place: `Texas governor`).
fn english_cues(en: &English, span: Range<usize>) -> Vec<(Kind, String)> {
    let mut out = Vec::new();
    let in_run = span.len() == 1 && en.runs.iter().any(|r| r.start < span.start && span.start < r.end);
    if let Some(word) = span.start.checked_sub(1).map(|i| en.words[i].text.as_str()) {
        match en_cue(word) {
            Some(Cue::Title) => out.push((Kind::Person, word.to_string())),
            Some(Cue::Direction) => out.push((Kind::Place, word.to_string())),
            None if PLACE_PREPOSITIONS.contains(&word) => out.push((Kind::Place, word.to_string())),
            None if in_run && word.chars().next().is_some_and(char::is_uppercase) => {
                out.push((Kind::Person, word.to_string()));
            }
            _ => {}
        }
    }
    for w in &en.words[span.clone()] {
        if let Some(Cue::Marks(kind)) = en_cue(&w.text) {
            out.push((kind, w.text.clone()));
        }
    }
    if let Some(after) = en.words.get(span.end) {
        if REPORTING_VERBS.contains(&after.text.as_str()) {
            out.push((Kind::Person, after.text.clone()));
        } else if after.text.chars().next().is_some_and(char::is_lowercase) && en_cue(&after.text) == Some(Cue::Title) {
            out.push((Kind::Place, after.text.clone()));
        }
    }
    out
}

/// Prepositions that put a name after them in a place.
const PLACE_PREPOSITIONS: [&str; 4] = ["in", "from", "near", "across"];
/// Verbs after a name that make it a person.
const REPORTING_VERBS: [&str; 6] = ["said", "says", "told", "wrote", "added", "explained"];

/// Whether an English span (of name words: capitalized, and not written in lower
/// case elsewhere when it opens a sentence) can render a name: it does not open
/// with a title, and not every word is a cue word (`Supreme Court`, `July`).
fn is_name_span(en: &English, span: &Range<usize>) -> bool {
    let words = &en.words[span.clone()];
    words.first().is_some_and(|w| en_cue(&w.text) != Some(Cue::Title))
        && !words.iter().all(|w| en_cue(&w.text).is_some())
}

/// Renderings from the pairs' word links.
fn aligned_renderings(pairs: &[Pair], lines: &[Line], grams: &[Gram]) -> Vec<Option<Range<usize>>> {
    grams
        .iter()
        .map(|g| {
            let links = pairs[g.pair].links.as_ref()?;
            let line = &lines[g.pair];
            let chars = line.ar[g.start].chars.start..line.ar[g.start + g.len - 1].chars.end;
            let targets: Vec<Range<usize>> =
                links.targets_of(&chars).into_iter().filter_map(|t| links.target.get(t).cloned().flatten()).collect();
            line.en.span_at(&targets)
        })
        .collect()
}

/// A possible link of an n-gram occurrence to a span of its pair.
struct Link<'a> {
    /// Dice coefficient of the n-gram and the span's text.
    dice: f64,
    /// Pairs holding both.
    shared: usize,
    /// [`sounds_alike`] of the two.
    alike: f64,
    /// Difference of their word counts.
    length_gap: usize,
    /// Words of the span.
    words: usize,
    /// The span's text.
    text: &'a str,
    /// Index of the n-gram occurrence.
    gram: usize,
    /// Index of the span in its pair.
    span: usize,
}

/// Renderings by co-occurrence and competitive linking.
fn linked_renderings(lines: &[Line], grams: &[Gram], key_texts: &[String]) -> Vec<Option<Range<usize>>> {
    // Each pair's spans (whole runs, and spans inside runs that are whole runs
    // elsewhere or follow a run's titles), with their texts interned; only spans
    // that can render a name.
    let untitled = |en: &English, run: &Range<usize>| {
        let start = run.clone().find(|&i| en_cue(&en.words[i].text) != Some(Cue::Title)).unwrap_or(run.end);
        start..run.end
    };
    let runs: HashSet<String> = lines
        .iter()
        .flat_map(|l| l.en.runs.iter().flat_map(|r| [l.en.text(r.clone()), l.en.text(untitled(&l.en, r))]))
        .collect();
    let mut texts: HashMap<String, usize> = HashMap::new();
    let mut text_of: Vec<String> = Vec::new();
    let spans: Vec<Vec<(Range<usize>, usize)>> = lines
        .iter()
        .map(|line| {
            line.en
                .spans()
                .into_iter()
                .chain(line.en.runs.iter().filter(|r| r.len() > MAX_SPAN_WORDS).cloned())
                .filter(|span| line.en.runs.contains(span) || runs.contains(&line.en.text(span.clone())))
                .filter(|span| is_name_span(&line.en, span))
                .map(|span| {
                    let text = line.en.text(span.clone());
                    let next = text_of.len();
                    let id = *texts.entry(text.clone()).or_insert(next);
                    if id == next {
                        text_of.push(text);
                    }
                    (span, id)
                })
                .collect()
        })
        .collect();
    let mut by_pair: Vec<Vec<usize>> = vec![Vec::new(); lines.len()];
    for (i, g) in grams.iter().enumerate() {
        by_pair[g.pair].push(i);
    }
    // Pairs counted once each: n-grams, spans, and both together.
    let mut c_key: HashMap<usize, usize> = HashMap::new();
    let mut c_text = vec![0usize; text_of.len()];
    let mut joint: HashMap<(usize, usize), usize> = HashMap::new();
    for (p, gram_ids) in by_pair.iter().enumerate() {
        let keys: HashSet<usize> = gram_ids.iter().map(|&i| grams[i].key).collect();
        let ids: HashSet<usize> = spans[p].iter().map(|s| s.1).collect();
        for &k in &keys {
            *c_key.entry(k).or_default() += 1;
            for &t in &ids {
                *joint.entry((k, t)).or_default() += 1;
            }
        }
        for &t in &ids {
            c_text[t] += 1;
        }
    }

    let mut out: Vec<Option<Range<usize>>> = vec![None; grams.len()];
    for (p, gram_ids) in by_pair.iter().enumerate() {
        let mut links: Vec<Link> = Vec::new();
        for &gram in gram_ids {
            let key = grams[gram].key;
            for (span, (words, t)) in spans[p].iter().enumerate() {
                let shared = joint.get(&(key, *t)).copied().unwrap_or(0);
                let text = text_of[*t].as_str();
                links.push(Link {
                    dice: 2.0 * shared as f64 / (c_key[&key] + c_text[*t]) as f64,
                    shared,
                    alike: sounds_alike(&key_texts[key], text),
                    length_gap: words.len().abs_diff(grams[gram].len),
                    words: words.len(),
                    text,
                    gram,
                    span,
                });
            }
        }
        links.sort_by(|a, b| {
            b.dice
                .total_cmp(&a.dice)
                .then(b.shared.cmp(&a.shared))
                .then(b.alike.total_cmp(&a.alike))
                .then(a.length_gap.cmp(&b.length_gap))
                .then(b.words.cmp(&a.words))
                .then(a.text.cmp(b.text))
                .then(a.gram.cmp(&b.gram))
        });
        let mut linked: Vec<(usize, usize)> = Vec::new();
        for link in &links {
            let (g, s) = (link.gram, link.span);
            if out[g].is_some() {
                continue;
            }
            let span = &spans[p][s].0;
            let taken = linked
                .iter()
                .any(|&(g2, s2)| overlap(&spans[p][s2].0, span) && !overlap(&grams[g2].words(), &grams[g].words()));
            if !taken {
                out[g] = Some(span.clone());
                linked.push((g, s));
            }
        }
    }
    out
}

/// A suggested glossary entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The Arabic term as the sources most often write it, with the descriptor
    /// before it when the rendering holds it (إعصار روزا: `Hurricane Rosa`).
    pub arabic: String,
    /// The folded n-gram mined (without such a descriptor).
    pub key: String,
    /// The most frequent rendering.
    pub english: String,
    /// Occurrences of the n-gram.
    pub count: usize,
    /// Occurrences rendered `english`.
    pub agreeing: usize,
    /// The kind its cues point at most often (`Other` without cues).
    pub kind: Kind,
    /// The cue words of that kind, with how often each was seen, most often first.
    pub kind_cues: Vec<(String, usize)>,
    /// The term is also a common word: marked ambiguous, with the descriptors
    /// seen before it as confirming cues (`مدينة ~`).
    pub ambiguous: bool,
    /// Confirming cues of an ambiguous term.
    pub confirm: Vec<String>,
}

impl Suggestion {
    /// Share of occurrences rendered `english`, in whole percent.
    pub fn consistency_percent(&self) -> usize {
        (100.0 * self.agreeing as f64 / self.count.max(1) as f64).round() as usize
    }

    /// The review note: `count N, consistency P%`, then `, cues W ×N; …` for
    /// the words that gave its kind.
    pub fn note(&self) -> String {
        let mut note = format!("count {}, consistency {}%", self.count, self.consistency_percent());
        if !self.kind_cues.is_empty() {
            let cues: Vec<String> = self.kind_cues.iter().map(|(w, n)| format!("{w} ×{n}")).collect();
            note.push_str(&format!(", cues {}", cues.join("; ")));
        }
        note
    }

    /// The suggestion as a glossary entry (its line in a suggestions file: `line`).
    pub fn entry(&self, file: &str, line: usize) -> Result<Entry, GlossaryError> {
        let origin = Origin { file: file.into(), line };
        let mut entry = Entry::new(&self.arabic, &self.english, self.kind, Vec::new(), &self.note(), origin);
        if self.ambiguous {
            entry.ambiguous = vec![self.arabic.clone()];
            entry.confirm = self
                .confirm
                .iter()
                .map(|c| {
                    SenseCue::parse(c).map_err(|message| GlossaryError::Parse {
                        file: file.into(),
                        line,
                        column: 1,
                        message,
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(entry)
    }
}

/// The kind that the cues of `occurrences` point at most often (ties: person,
/// place, org), with its cue words; `Other` and none without cues.
fn kind_of<'a>(occurrences: impl IntoIterator<Item = &'a Occurrence>) -> (Kind, Vec<(String, usize)>) {
    let mut by: HashMap<Kind, HashMap<&str, usize>> = HashMap::new();
    for o in occurrences {
        for (kind, word) in &o.cues {
            *by.entry(*kind).or_default().entry(word.as_str()).or_default() += 1;
        }
    }
    let votes = |kind: Kind| by.get(&kind).map_or(0, |words| words.values().sum::<usize>());
    let Some(kind) = [Kind::Person, Kind::Place, Kind::Org]
        .into_iter()
        .filter(|&k| votes(k) > 0)
        .max_by(|&a, &b| votes(a).cmp(&votes(b)).then(rank(b).cmp(&rank(a))))
    else {
        return (Kind::Other, Vec::new());
    };
    let mut words: Vec<(String, usize)> =
        by.remove(&kind).unwrap_or_default().into_iter().map(|(w, n)| (w.to_string(), n)).collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    (kind, words)
}

/// Whether an English rendering is an acronym (`DNA`, `GMT`): a word of capitals
/// only, at least two.
fn is_acronym(english: &str) -> bool {
    !english.contains(' ') && english.chars().count() >= 2 && english.chars().all(|c| c.is_uppercase())
}

/// The relative adjectives (nisba) that the name of a place takes, for a
/// folded one-word key: the key, or without a final ا, with ي or ية added,
/// with and without the article (اليابان: الياباني; كندا: الكندية). A term
/// whose adjective the sources write names a place.
fn nisba(key: &str) -> Vec<String> {
    if key.contains(' ') || key.chars().count() < 3 {
        return Vec::new();
    }
    let bare = key.strip_prefix("ال").unwrap_or(key);
    let base = bare.strip_suffix('ا').unwrap_or(bare);
    ["ي", "ية"].iter().flat_map(|end| [format!("{base}{end}"), format!("ال{base}{end}")]).collect()
}

/// Whether a folded one-word key is the relative adjective of a name the sources
/// write (النيوزيلندي beside ونيوزيلندا, الرومانية beside الرومان): with the
/// article and ending in ي or ية, and its stem (with a final ا, or with the
/// article, or as it is) a word of the sources, proclitics read off.
fn is_adjective(key: &str, words: &HashSet<String>) -> bool {
    let Some(rest) = key.strip_prefix("ال") else { return false };
    let Some(stem) = rest.strip_suffix("ية").or_else(|| rest.strip_suffix('ي')) else { return false };
    stem.chars().count() >= 3
        && [stem.to_string(), format!("{stem}ا"), format!("ال{stem}")].iter().any(|w| words.contains(w))
}

/// Order of kinds when their cues are equally many.
fn rank(kind: Kind) -> usize {
    match kind {
        Kind::Person => 0,
        Kind::Place => 1,
        Kind::Org => 2,
        Kind::Other => 3,
    }
}

/// The words of a rendering that name it, without the words of kind that a
/// descriptor may render (`Atlantic` of `Atlantic Ocean`, `Rosa` of `Hurricane
/// Rosa`); the rendering itself when every word is such a word.
fn name_part(english: &str) -> String {
    let kept: Vec<&str> =
        english.split(' ').filter(|w| !matches!(en_cue(w), Some(Cue::Marks(_) | Cue::NotName))).collect();
    if kept.is_empty() { english.to_string() } else { kept.join(" ") }
}

/// The descriptor that belongs in front of the term: one that at least half the
/// agreeing occurrences have before them and that the rendering holds (إعصار
/// for `Hurricane Rosa`), as the sources most often write it.
fn inside_descriptor(agreeing: &[&Occurrence], english: &str) -> Option<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for o in agreeing {
        if let Some(d) = o.descriptor.as_deref()
            && descriptor(&fold_str(d)).is_some_and(|d| d.renders_in(english))
        {
            *counts.entry(d).or_default() += 1;
        }
    }
    let (d, n) = counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))?;
    (2 * n >= agreeing.len()).then(|| d.to_string())
}

/// The entry a mined n-gram makes, if it behaves as a name (see [`suggest`]).
pub fn judge(c: &Candidate, mined: &Mined) -> Option<Suggestion> {
    let (english, agreeing) = c.top()?;
    if !c.is_consistent() {
        return None;
    }
    let occurrences: Vec<&Occurrence> = c
        .occurrences
        .iter()
        .filter(|o| o.rendering.as_deref().is_some_and(|r| r == english || initials(english) == r))
        .collect();
    let named = name_part(english);
    let alike = sounds_alike(&c.key, &named) >= MIN_ALIKE;
    let longer = named.split(' ').count() > c.key.split(' ').count();
    let strong = c.agrees(MIN_CONSISTENCY_UNLIKE);
    let one_word = !english.contains(' ');
    if (!alike || longer) && !strong
        || !alike && is_acronym(english)
        || is_adjective(&c.key, &mined.words)
        || one_word && !mined.capitalized.contains(english)
    {
        return None;
    }
    let before = inside_descriptor(&occurrences, english);
    let common = before.is_none() && common_word(&c.key, &[]).is_some();
    if common && !(alike && strong) {
        return None;
    }
    let (mut kind, mut kind_cues) = kind_of(occurrences.iter().copied());
    if kind == Kind::Other
        && let Some(adjective) = nisba(&c.key).into_iter().find(|a| mined.words.contains(a))
    {
        kind = Kind::Place;
        kind_cues = vec![(adjective, 1)];
    }
    let surface = c.surface();
    let mut confirm: Vec<String> = Vec::new();
    if common {
        for d in occurrences.iter().filter_map(|o| o.descriptor.as_deref()) {
            let cue = format!("{d} ~");
            if !confirm.contains(&cue) {
                confirm.push(cue);
            }
        }
        confirm.sort();
    }
    Some(Suggestion {
        arabic: before.map_or_else(|| surface.to_string(), |d| format!("{d} {surface}")),
        key: c.key.clone(),
        english: english.to_string(),
        count: c.occurrences.len(),
        agreeing,
        kind,
        kind_cues,
        ambiguous: common,
        confirm,
    })
}

/// Candidate entries: [`mine`]'s n-grams whose top rendering (an acronym
/// counted with the rendering it abbreviates, see [`Candidate::top`]) agrees
/// with at least half the occurrences ([`Candidate::is_consistent`]; at least
/// [`MIN_CONSISTENCY_UNLIKE`] when it does not sound like the Arabic or has
/// more words than it, words of kind such as `Ocean` or `Hurricane` left out)
/// and that behave as names: a one-word rendering is a word the translations
/// capitalize inside a sentence; not a relative adjective (see
/// [`is_adjective`]) nor an acronym that does not sound like the Arabic; a
/// one-word term that is a common word (see [`common_word`]) only when its
/// rendering sounds like it and agrees strongly, and then marked ambiguous.
/// A descriptor that the agreeing occurrences have before them and the
/// rendering holds (`Hurricane`, `River`, `University`) goes in front of the
/// term. Each gets a kind ([`kind_of`] its agreeing occurrences; else a place
/// when the sources write its [`nisba`] adjective). They are ranked by
/// agreeing occurrences (frequency × consistency), then by frequency, then by
/// the Arabic.
pub fn suggest(pairs: &[Pair], matcher: &Matcher, min_count: usize) -> (Evidence, Vec<Suggestion>) {
    let mined = mine(pairs, matcher, min_count);
    let mut out: Vec<Suggestion> = mined.candidates.iter().filter_map(|c| judge(c, &mined)).collect();
    out.sort_by(|a, b| b.agreeing.cmp(&a.agreeing).then(b.count.cmp(&a.count)).then(a.arabic.cmp(&b.arabic)));
    (mined.evidence, out)
}

/// The suggestions as a glossary file for review: the header (with the sense
/// columns when a term is ambiguous), then one row per suggestion in rank order
/// (its kind, no variants, the note of [`Suggestion::note`]).
pub fn suggestions_tsv(suggestions: &[Suggestion]) -> Result<String, ToolError> {
    let entries: Vec<Entry> =
        suggestions.iter().enumerate().map(|(i, s)| s.entry("suggestions", i + 2)).collect::<Result<_, _>>()?;
    let columns = Columns::for_entries(&entries);
    let mut out = format!("{}\n", columns.header());
    for entry in &entries {
        out.push_str(&row(entry, columns)?);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::corpus::WordLinks;
    use super::*;
    use crate::glossary::{Glossary, parse::HEADER};

    /// A pair; with `links`, word links between its space-separated words.
    pub(crate) fn pair(line: usize, source: &str, target: &str, links: Option<&[(usize, usize)]>) -> Pair {
        let spans = |text: &str| -> Vec<Option<Range<usize>>> {
            let mut at = 0;
            text.split(' ')
                .map(|w| {
                    let n = w.chars().count();
                    at += n + 1;
                    Some(at - n - 1..at - 1)
                })
                .collect()
        };
        Pair {
            location: Origin { file: "t.txt".into(), line },
            source: source.into(),
            target: target.into(),
            links: links.map(|pairs| WordLinks { source: spans(source), target: spans(target), pairs: pairs.to_vec() }),
        }
    }

    pub(crate) fn glossary(rows: &[&str]) -> Glossary {
        let mut g = Glossary::new();
        g.add(format!("{HEADER}\n{}\n", rows.join("\n")).as_bytes(), "g.tsv").unwrap();
        g
    }

    fn renderings(c: &Candidate) -> Vec<(Option<&str>, usize)> {
        c.renderings().into_iter().map(|(r, o)| (r, o.len())).collect()
    }

    #[test]
    fn cooccurrence_links_names_by_dice_and_competition() {
        let pairs = [
            pair(1, "زار فؤاد حسين طهران", "Fuad Hussein visited Tehran", None),
            pair(2, "التقى فؤاد حسين نظيره في أنقرة", "Fuad Hussein met his counterpart in Ankara", None),
            pair(3, "وصل فؤاد حسين إلى طهران", "Fouad Hussein arrived in Tehran", None),
            pair(4, "قال حزب الله إن طهران تدعمه", "Hezbollah said Tehran supports it", None),
        ];
        let g = glossary(&["حزب الله\tHezbollah\torg\t\t"]);
        let mined = mine(&pairs, &Matcher::new(&g), 2);
        assert_eq!(mined.evidence, Evidence::Cooccurrence);
        // فؤاد and حسين always stand inside فؤاد حسين; حزب الله is the glossary's.
        let keys: Vec<&str> = mined.candidates.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["طهران", "فؤاد حسين"]);
        assert_eq!(renderings(&mined.candidates[0]), [(Some("Tehran"), 3)]);
        // In pair 3 طهران takes Tehran (Dice 1), so فؤاد حسين gets Fouad Hussein.
        assert_eq!(renderings(&mined.candidates[1]), [(Some("Fuad Hussein"), 2), (Some("Fouad Hussein"), 1)]);
        assert_eq!(mined.candidates[1].surface(), "فؤاد حسين");

        let (_, suggestions) = suggest(&pairs, &Matcher::new(&g), 2);
        assert_eq!(
            suggestions_tsv(&suggestions).unwrap(),
            format!(
                "{HEADER}\nطهران\tTehran\tplace\t\tcount 3, consistency 100%, cues in ×1\n\
                 فؤاد حسين\tFuad Hussein\tother\t\tcount 3, consistency 67%\n"
            )
        );
        assert_eq!(suggest(&pairs, &Matcher::new(&g), 4).1, vec![]);
    }

    #[test]
    fn descriptors_weekdays_and_titles_stay_out_of_suggestions() {
        let pairs = [
            pair(1, "ضرب الزلزال مدينة بالو يوم السبت", "The earthquake hit the city of Palu on Saturday", None),
            pair(2, "وصل السيد كافانو إلى بالو السبت", "Mr Kavanaugh arrived in Palu on Saturday", None),
            pair(3, "غادر السيد كافانو مدينة بالو السبت", "Mr Kavanaugh left Palu on Saturday", None),
            pair(4, "قال السيد كافانو إن بالو هادئة", "Mr Kavanaugh said Palu is calm", None),
        ];
        let (_, suggestions) = suggest(&pairs, &Matcher::new(&Glossary::new()), 3);
        // مدينة and السيد are no part of the terms but give their kinds; السبت
        // renders Saturday, a weekday: no suggestion.
        assert_eq!(
            suggestions_tsv(&suggestions).unwrap(),
            format!(
                "{HEADER}\nبالو\tPalu\tplace\t\tcount 4, consistency 100%, cues مدينة ×2; in ×1\n\
                 كافانو\tKavanaugh\tperson\t\tcount 3, consistency 100%, cues Mr ×3; السيد ×3; said ×1\n"
            )
        );
    }

    #[test]
    fn word_links_give_each_occurrence_its_aligned_span() {
        let pairs = [
            pair(
                1,
                "وصل فؤاد حسين إلى طهران",
                "Fouad Hussein arrived in Tehran",
                Some(&[(0, 2), (1, 0), (2, 1), (3, 3), (4, 4)]),
            ),
            pair(2, "زار فؤاد حسين طهران", "Fuad Hussein visited Tehran", Some(&[(0, 2), (1, 0), (2, 1), (3, 3)])),
            // فؤاد is not linked: the span holds the name words linked to حسين.
            pair(3, "وزار فؤاد حسين العراق", "Hussein visited Iraq", Some(&[(0, 1), (2, 0), (3, 2)])),
            // Linked to no name word, and not linked at all.
            pair(4, "التقى فؤاد حسين نظيره", "He met his counterpart", Some(&[(0, 1), (1, 0), (2, 0), (3, 3)])),
            pair(5, "فؤاد حسين", "Fuad Hussein", None),
        ];
        let mined = mine(&pairs, &Matcher::new(&Glossary::new()), 3);
        assert_eq!(mined.evidence, Evidence::Alignment);
        assert_eq!(mined.candidates.len(), 1);
        let c = &mined.candidates[0];
        assert_eq!(c.key, "فؤاد حسين");
        assert_eq!(
            renderings(c),
            [(None, 2), (Some("Fouad Hussein"), 1), (Some("Fuad Hussein"), 1), (Some("Hussein"), 1)]
        );
        assert_eq!(c.top(), Some(("Fouad Hussein", 1)));
        assert!(!c.is_consistent());
        assert_eq!(c.occurrences.iter().map(|o| o.pair).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn proclitics_and_diacritics_leave_the_surface_and_the_key() {
        let pairs = [
            pair(1, "وصل وفد لِلحكومة العراقية", "A delegation of the Iraqi Government arrived", None),
            pair(2, "انتقد الحكومة العراقية", "He criticized the Iraqi Government", None),
            pair(3, "وبالحكومة العراقية", "And the Iraqi Government", None),
        ];
        let (evidence, suggestions) = suggest(&pairs, &Matcher::new(&Glossary::new()), 3);
        assert_eq!(evidence, Evidence::Cooccurrence);
        assert_eq!(
            suggestions,
            [Suggestion {
                arabic: "الحكومة العراقية".into(),
                key: "الحكومة العراقية".into(),
                english: "Iraqi Government".into(),
                count: 3,
                agreeing: 3,
                kind: Kind::Other,
                kind_cues: Vec::new(),
                ambiguous: false,
                confirm: Vec::new(),
            }]
        );
    }
}
