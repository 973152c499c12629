//! Auditing translations for glossary consistency.
//!
//! [`audit`] reads sentence pairs ([`super::corpus`]) and reports:
//!
//! * **Glossary terms rendered inconsistently.** Every term the
//!   [`Matcher`] finds in a source counts as rendered as the glossary says when
//!   the translation holds the rendering (case-insensitive, as whole words; the
//!   k-th occurrence of a term in a sentence needs k occurrences of its
//!   rendering). Otherwise its candidate rendering is the English name span (a
//!   run of capitalized words, particles such as `al-`, `bin`, `of` inside) of
//!   the target words the pair's word links tie to the term's source words, or
//!   *missing* when the pair has no links or they point at no name. Terms with any such occurrence are listed, with each rendering's
//!   count and up to [`MAX_EXAMPLES`] examples.
//! * **Names rendered several ways.** The Arabic n-grams outside the glossary
//!   that [`mine`] finds at least `min_count` times, that `glossary suggest`
//!   would suggest ([`judge`]: whole names, names only, with a kind) and that
//!   have two renderings or more, grouped by the folded n-gram. Each rendering
//!   comes with its examples and the `tarjim glossary add` command line that
//!   adds the name with it ([`NameAudit::add_command`]).
//!
//! The report is written as Markdown ([`Audit::markdown`]), a self-contained
//! HTML page ([`Audit::html`]) or JSON ([`Audit::json`]).

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::Origin;
use super::corpus::Pair;
use super::names::{English, lowercase_words};
use super::suggest::{Evidence, judge, mine};
use crate::glossary::{Glossary, Kind, Matcher};

/// Examples listed per rendering.
pub const MAX_EXAMPLES: usize = 3;

/// How an occurrence was rendered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rendering {
    /// As the glossary says.
    Glossary,
    /// By this English span.
    Other(String),
    /// No rendering was found.
    Missing,
}

/// A sentence pair shown as an example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Where it was read.
    pub location: Origin,
    /// The Arabic sentence.
    pub source: String,
    /// Its translation.
    pub translation: String,
}

/// One rendering of a term or name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The rendering.
    pub rendering: Rendering,
    /// Occurrences rendered so.
    pub count: usize,
    /// Up to [`MAX_EXAMPLES`] of them, in input order (none for the glossary's own).
    pub examples: Vec<Example>,
}

/// A glossary term and how it was rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermAudit {
    /// The entry's Arabic term.
    pub arabic: String,
    /// The rendering the glossary asks for.
    pub english: String,
    /// What it names.
    pub kind: Kind,
    /// Occurrences found in the sources.
    pub occurrences: usize,
    /// Its renderings, the most frequent first.
    pub renderings: Vec<Rendered>,
}

impl TermAudit {
    /// Occurrences rendered as the glossary says.
    pub fn as_glossary(&self) -> usize {
        self.renderings.iter().filter(|r| r.rendering == Rendering::Glossary).map(|r| r.count).sum()
    }
}

/// A name outside the glossary (a mined n-gram that [`judge`] takes for a
/// name) and its renderings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAudit {
    /// The term `glossary suggest` would give it: as the sources most often
    /// write it, with a descriptor that its top rendering holds in front.
    pub arabic: String,
    /// As the sources most often write it.
    pub surface: String,
    /// Folded, proclitics stripped: what occurrences are grouped by.
    pub folded: String,
    /// What it names, as `glossary suggest` guesses it.
    pub kind: Kind,
    /// The rendering `glossary suggest` would give it.
    pub english: String,
    /// Its occurrences.
    pub occurrences: usize,
    /// Its renderings, the most frequent first.
    pub renderings: Vec<Rendered>,
}

impl NameAudit {
    /// The `tarjim glossary add` command line that adds this name to `file`
    /// with `rendering` (the term with its descriptor for the top rendering,
    /// as the sources write it for the others); `None` for no rendering.
    pub fn add_command(&self, rendering: &Rendering, file: &str) -> Option<String> {
        let Rendering::Other(english) = rendering else { return None };
        let arabic = if *english == self.english { &self.arabic } else { &self.surface };
        Some(format!(
            "tarjim glossary add {} --arabic {} --english {} --kind {}",
            shell_quote(file),
            shell_quote(arabic),
            shell_quote(english),
            self.kind
        ))
    }
}

/// `text` quoted for a POSIX shell: in single quotes, a single quote written `'\''`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The audit of a set of sentence pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    /// Sentence pairs read.
    pub pairs: usize,
    /// Pairs with word links.
    pub aligned_pairs: usize,
    /// Glossary term occurrences found.
    pub term_occurrences: usize,
    /// Distinct glossary terms found.
    pub terms_found: usize,
    /// Terms with an occurrence not rendered as the glossary says, the most such
    /// occurrences first.
    pub terms: Vec<TermAudit>,
    /// Where the names' renderings come from.
    pub evidence: Evidence,
    /// Least occurrences of a listed name.
    pub min_count: usize,
    /// Names rendered several ways, the most frequent first.
    pub names: Vec<NameAudit>,
    /// The glossary file the report's `tarjim glossary add` commands write to.
    pub add_to: String,
}

/// The file the `glossary add` commands of a report name unless told otherwise.
pub const ADD_TO: &str = "glossary.tsv";

/// Occurrences of `needle` in `haystack` as whole words, ignoring case.
fn count_words(haystack: &str, needle: &str) -> usize {
    let (hay, needle) = (haystack.to_lowercase(), needle.to_lowercase());
    if needle.is_empty() {
        return 0;
    }
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    let mut count = 0;
    let mut from = 0;
    while let Some(at) = hay[from..].find(&needle) {
        let start = from + at;
        let end = start + needle.len();
        if boundary(hay[..start].chars().next_back()) && boundary(hay[end..].chars().next()) {
            count += 1;
            from = end;
        } else {
            from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    count
}

/// Groups `(rendering, pair)` occurrences into [`Rendered`]s: the most frequent
/// first, then in [`Rendering`] order.
fn rendered(occurrences: Vec<(Rendering, usize)>, pairs: &[Pair]) -> Vec<Rendered> {
    let mut by: HashMap<Rendering, Vec<usize>> = HashMap::new();
    for (rendering, pair) in occurrences {
        by.entry(rendering).or_default().push(pair);
    }
    let mut out: Vec<Rendered> = by
        .into_iter()
        .map(|(rendering, at)| Rendered {
            examples: if rendering == Rendering::Glossary {
                Vec::new()
            } else {
                at.iter()
                    .take(MAX_EXAMPLES)
                    .map(|&p| Example {
                        location: pairs[p].location.clone(),
                        source: pairs[p].source.clone(),
                        translation: pairs[p].target.clone(),
                    })
                    .collect()
            },
            count: at.len(),
            rendering,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.rendering.cmp(&b.rendering)));
    out
}

/// Audits `pairs` against `glossary` (see the module documentation).
pub fn audit(pairs: &[Pair], glossary: &Glossary, min_count: usize) -> Audit {
    let matcher = Matcher::new(glossary);
    let lowercase = lowercase_words(pairs.iter().map(|p| p.target.as_str()));
    let mut by_entry: HashMap<usize, Vec<(Rendering, usize)>> = HashMap::new();
    let mut term_occurrences = 0;
    for (p, pair) in pairs.iter().enumerate() {
        let mut seen: HashMap<usize, usize> = HashMap::new();
        let mut english: Option<English> = None;
        for m in matcher.find(&pair.source) {
            term_occurrences += 1;
            let entry = &glossary.entries()[m.entry];
            let k = seen.entry(m.entry).or_default();
            let present = count_words(&pair.target, &entry.english) > *k;
            *k += 1;
            let rendering = match &pair.links {
                _ if present => Rendering::Glossary,
                Some(links) => {
                    let chars = |b: usize| pair.source[..b].chars().count();
                    let targets: Vec<std::ops::Range<usize>> = links
                        .targets_of(&(chars(m.span.start)..chars(m.span.end)))
                        .into_iter()
                        .filter_map(|t| links.target.get(t).cloned().flatten())
                        .collect();
                    let en = english.get_or_insert_with(|| English::new(&pair.target, &lowercase));
                    en.span_at(&targets).map_or(Rendering::Missing, |span| Rendering::Other(en.text(span)))
                }
                None => Rendering::Missing,
            };
            by_entry.entry(m.entry).or_default().push((rendering, p));
        }
    }
    let terms_found = by_entry.len();
    let mut terms: Vec<TermAudit> = by_entry
        .into_iter()
        .map(|(e, occurrences)| {
            let entry = &glossary.entries()[e];
            TermAudit {
                arabic: entry.arabic.clone(),
                english: entry.english.clone(),
                kind: entry.kind,
                occurrences: occurrences.len(),
                renderings: rendered(occurrences, pairs),
            }
        })
        .filter(|t| t.as_glossary() < t.occurrences)
        .collect();
    terms.sort_by(|a, b| {
        (b.occurrences - b.as_glossary())
            .cmp(&(a.occurrences - a.as_glossary()))
            .then(b.occurrences.cmp(&a.occurrences))
            .then(a.arabic.cmp(&b.arabic))
    });

    let mined = mine(pairs, &matcher, min_count);
    let mut names: Vec<NameAudit> = mined
        .candidates
        .iter()
        .filter(|c| c.renderings().iter().filter(|(r, _)| r.is_some()).count() >= 2)
        .filter_map(|c| Some((c, judge(c, &mined)?)))
        .map(|(c, name)| NameAudit {
            arabic: name.arabic,
            surface: c.surface().to_string(),
            folded: c.key.clone(),
            kind: name.kind,
            english: name.english,
            occurrences: c.occurrences.len(),
            renderings: rendered(
                c.occurrences
                    .iter()
                    .map(|o| (o.rendering.clone().map_or(Rendering::Missing, Rendering::Other), o.pair))
                    .collect(),
                pairs,
            ),
        })
        .collect();
    names.sort_by(|a, b| b.occurrences.cmp(&a.occurrences).then(a.folded.cmp(&b.folded)));

    Audit {
        pairs: pairs.len(),
        aligned_pairs: pairs.iter().filter(|p| p.links.is_some()).count(),
        term_occurrences,
        terms_found,
        terms,
        evidence: mined.evidence,
        min_count,
        names,
        add_to: ADD_TO.to_string(),
    }
}

/// Escapes text for Markdown: ASCII punctuation that marks up is backslashed,
/// line breaks become spaces.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes text for HTML content and attribute values.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// How a rendering reads in a report (unescaped); `english` is the glossary's.
fn label(rendering: &Rendering, english: &str) -> String {
    match rendering {
        Rendering::Glossary => format!("{english} (glossary)"),
        Rendering::Other(text) => text.clone(),
        Rendering::Missing => "(missing)".into(),
    }
}

impl Audit {
    /// Summary lines (unescaped).
    fn summary(&self) -> [String; 3] {
        [
            format!("Sentence pairs: {} ({} with word alignments)", self.pairs, self.aligned_pairs),
            format!(
                "Glossary terms found: {} occurrences of {} terms; not always rendered as the glossary says: {}",
                self.term_occurrences,
                self.terms_found,
                self.terms.len()
            ),
            format!(
                "Names: Arabic n-grams outside the glossary seen at least {} times, rendered by {}",
                self.min_count,
                self.evidence.describe()
            ),
        ]
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::from("# Glossary audit\n\n");
        for line in self.summary() {
            let _ = writeln!(out, "- {}", md(&line));
        }
        out.push_str("\n## Glossary terms rendered inconsistently\n\n");
        if self.terms.is_empty() {
            out.push_str("None.\n\n");
        }
        for term in &self.terms {
            let _ = writeln!(out, "### {} → {}\n", md(&term.arabic), md(&term.english));
            let _ = writeln!(
                out,
                "{}, {} occurrences, {} rendered as the glossary says.\n",
                term.kind,
                term.occurrences,
                term.as_glossary()
            );
            md_renderings(&mut out, &term.renderings, &term.english);
        }
        out.push_str("## Names rendered several ways\n\n");
        if self.names.is_empty() {
            out.push_str("None.\n\n");
        }
        for name in &self.names {
            let _ = writeln!(out, "### {}\n", md(&name.arabic));
            let _ = writeln!(
                out,
                "{}, {} occurrences (folded: {}), suggested: {}.\n",
                name.kind,
                name.occurrences,
                md(&name.folded),
                md(&name.english)
            );
            md_renderings(&mut out, &name.renderings, "");
            out.push_str("To add a rendering to the glossary:\n\n```\n");
            for r in &name.renderings {
                if let Some(command) = name.add_command(&r.rendering, &self.add_to) {
                    let _ = writeln!(out, "{}", command.replace(['\n', '\r'], " "));
                }
            }
            out.push_str("```\n\n");
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }

    /// The report as a self-contained HTML page.
    pub fn html(&self) -> String {
        let mut out = String::from(concat!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<title>Glossary audit</title>\n<style>\n",
            "body { font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; }\n",
            "table { border-collapse: collapse; }\n",
            "th, td { border: 1px solid #bbb; padding: 0.2em 0.6em; text-align: left; }\n",
            "td.count { text-align: right; }\n",
            "</style>\n</head>\n<body>\n<h1>Glossary audit</h1>\n<ul>\n",
        ));
        for line in self.summary() {
            let _ = writeln!(out, "<li>{}</li>", html(&line));
        }
        out.push_str("</ul>\n<h2>Glossary terms rendered inconsistently</h2>\n");
        if self.terms.is_empty() {
            out.push_str("<p>None.</p>\n");
        }
        for term in &self.terms {
            let _ = writeln!(
                out,
                "<h3><span lang=\"ar\" dir=\"rtl\">{}</span> → {}</h3>",
                html(&term.arabic),
                html(&term.english)
            );
            let _ = writeln!(
                out,
                "<p>{}, {} occurrences, {} rendered as the glossary says.</p>",
                term.kind,
                term.occurrences,
                term.as_glossary()
            );
            html_renderings(&mut out, &term.renderings, &term.english);
        }
        out.push_str("<h2>Names rendered several ways</h2>\n");
        if self.names.is_empty() {
            out.push_str("<p>None.</p>\n");
        }
        for name in &self.names {
            let _ = writeln!(out, "<h3><span lang=\"ar\" dir=\"rtl\">{}</span></h3>", html(&name.arabic));
            let _ = writeln!(
                out,
                "<p>{}, {} occurrences (folded: <span lang=\"ar\" dir=\"rtl\">{}</span>), suggested: {}.</p>",
                name.kind,
                name.occurrences,
                html(&name.folded),
                html(&name.english)
            );
            html_renderings(&mut out, &name.renderings, "");
            out.push_str("<p>To add a rendering to the glossary:</p>\n<pre><code>");
            for r in &name.renderings {
                if let Some(command) = name.add_command(&r.rendering, &self.add_to) {
                    let _ = writeln!(out, "{}", html(&command));
                }
            }
            out.push_str("</code></pre>\n");
        }
        out.push_str("</body>\n</html>\n");
        out
    }

    /// The report as JSON.
    pub fn json(&self) -> Value {
        json!({
            "pairs": self.pairs,
            "aligned_pairs": self.aligned_pairs,
            "term_occurrences": self.term_occurrences,
            "terms_found": self.terms_found,
            "terms": self.terms.iter().map(|t| json!({
                "arabic": t.arabic, "english": t.english, "kind": t.kind.to_string(),
                "occurrences": t.occurrences, "renderings": json_renderings(&t.renderings, &t.english),
            })).collect::<Vec<_>>(),
            "names": {
                "evidence": self.evidence.name(),
                "min_count": self.min_count,
                "items": self.names.iter().map(|n| {
                    let mut renderings = json_renderings(&n.renderings, "");
                    for (value, r) in renderings.iter_mut().zip(&n.renderings) {
                        value["add"] = json!(n.add_command(&r.rendering, &self.add_to));
                    }
                    json!({
                        "arabic": n.arabic, "surface": n.surface, "folded": n.folded, "kind": n.kind.to_string(),
                        "english": n.english, "occurrences": n.occurrences, "renderings": renderings,
                    })
                }).collect::<Vec<_>>(),
            },
        })
    }
}

fn md_renderings(out: &mut String, renderings: &[Rendered], english: &str) {
    out.push_str("| Rendering | Count |\n| --- | ---: |\n");
    for r in renderings {
        let _ = writeln!(out, "| {} | {} |", md(&label(&r.rendering, english)), r.count);
    }
    out.push('\n');
    if renderings.iter().all(|r| r.examples.is_empty()) {
        return;
    }
    out.push_str("Examples:\n\n");
    for r in renderings {
        for e in &r.examples {
            let _ = writeln!(out, "- {}, {}", md(&label(&r.rendering, english)), md(&e.location.to_string()));
            let _ = writeln!(out, "  - {}", md(&e.source));
            let _ = writeln!(out, "  - {}", md(&e.translation));
        }
    }
    out.push('\n');
}

fn html_renderings(out: &mut String, renderings: &[Rendered], english: &str) {
    out.push_str("<table>\n<tr><th>Rendering</th><th>Count</th></tr>\n");
    for r in renderings {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"count\">{}</td></tr>",
            html(&label(&r.rendering, english)),
            r.count
        );
    }
    out.push_str("</table>\n");
    if renderings.iter().all(|r| r.examples.is_empty()) {
        return;
    }
    out.push_str("<p>Examples:</p>\n<ul>\n");
    for r in renderings {
        for e in &r.examples {
            let _ = writeln!(
                out,
                "<li>{}, {}<br>\n<span lang=\"ar\" dir=\"rtl\">{}</span><br>\n{}</li>",
                html(&label(&r.rendering, english)),
                html(&e.location.to_string()),
                html(&e.source),
                html(&e.translation)
            );
        }
    }
    out.push_str("</ul>\n");
}

fn json_renderings(renderings: &[Rendered], english: &str) -> Vec<Value> {
    renderings
        .iter()
        .map(|r| {
            let text = match &r.rendering {
                Rendering::Glossary => Some(english),
                Rendering::Other(text) => Some(text.as_str()),
                Rendering::Missing => None,
            };
            json!({
                "rendering": text,
                "glossary": r.rendering == Rendering::Glossary,
                "count": r.count,
                "examples": r.examples.iter().map(|e| json!({
                    "location": e.location.to_string(), "source": e.source, "translation": e.translation,
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::suggest::tests::{glossary, pair};
    use super::*;

    #[test]
    fn renderings_are_counted_as_whole_words_ignoring_case() {
        assert_eq!(count_words("Hezbollah's fighters and HEZBOLLAH", "hezbollah"), 2);
        assert_eq!(count_words("Iranian officials", "Iran"), 0);
        assert_eq!(count_words("Al-Sudani met al-Sudani", "al-Sudani"), 2);
        assert_eq!(count_words("the Kataib Hezbollah", "Kataib Hezbollah"), 1);
        assert_eq!(count_words("x", ""), 0);
    }

    fn pairs() -> Vec<Pair> {
        vec![
            pair(1, "قال حزب الله إن طهران تدعمه", "Hezbollah said Tehran supports it", None),
            pair(
                2,
                "انتقد حزب الله الحكومة",
                "Hizbullah criticized the government",
                Some(&[(0, 1), (1, 0), (2, 0), (3, 2), (3, 3)]),
            ),
            pair(3, "وصل وفد من طهران", "A delegation arrived from Iran", None),
            // The second occurrence needs a second Hezbollah.
            pair(4, "قال حزب الله إن حزب الله سيرد", "Hezbollah said it would respond", None),
        ]
    }

    fn audited() -> Audit {
        let g = glossary(&["حزب الله\tHezbollah\torg\t\t", "طهران\tTehran\tplace\t\t"]);
        audit(&pairs(), &g, 3)
    }

    #[test]
    fn terms_are_listed_with_each_rendering_and_examples() {
        let a = audited();
        assert_eq!((a.pairs, a.aligned_pairs, a.term_occurrences, a.terms_found), (4, 1, 6, 2));
        assert_eq!(a.evidence, Evidence::Alignment);
        assert!(a.names.is_empty());
        // Each rendering with its count and the lines of its examples.
        type Lines = Vec<(Rendering, usize, Vec<usize>)>;
        let summary: Vec<(&str, usize, Lines)> = a
            .terms
            .iter()
            .map(|t| {
                let renderings = t
                    .renderings
                    .iter()
                    .map(|r| (r.rendering.clone(), r.count, r.examples.iter().map(|e| e.location.line).collect()))
                    .collect();
                (t.arabic.as_str(), t.occurrences, renderings)
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "حزب الله",
                    4,
                    vec![
                        (Rendering::Glossary, 2, vec![]),
                        (Rendering::Other("Hizbullah".into()), 1, vec![2]),
                        (Rendering::Missing, 1, vec![4]),
                    ]
                ),
                ("طهران", 2, vec![(Rendering::Glossary, 1, vec![]), (Rendering::Missing, 1, vec![3])]),
            ]
        );
        // All as the glossary says: nothing to list.
        let g = glossary(&["طهران\tTehran\tplace\t\t"]);
        let all_right = audit(&pairs()[..1], &g, 3);
        assert_eq!((all_right.term_occurrences, all_right.terms.len()), (1, 0));
    }

    #[test]
    fn markdown_report() {
        let want = "\
# Glossary audit

- Sentence pairs: 4 (1 with word alignments)
- Glossary terms found: 6 occurrences of 2 terms; not always rendered as the glossary says: 2
- Names: Arabic n-grams outside the glossary seen at least 3 times, rendered by word alignments

## Glossary terms rendered inconsistently

### حزب الله → Hezbollah

org, 4 occurrences, 2 rendered as the glossary says.

| Rendering | Count |
| --- | ---: |
| Hezbollah (glossary) | 2 |
| Hizbullah | 1 |
| (missing) | 1 |

Examples:

- Hizbullah, t.txt:2
  - انتقد حزب الله الحكومة
  - Hizbullah criticized the government
- (missing), t.txt:4
  - قال حزب الله إن حزب الله سيرد
  - Hezbollah said it would respond

### طهران → Tehran

place, 2 occurrences, 1 rendered as the glossary says.

| Rendering | Count |
| --- | ---: |
| Tehran (glossary) | 1 |
| (missing) | 1 |

Examples:

- (missing), t.txt:3
  - وصل وفد من طهران
  - A delegation arrived from Iran

## Names rendered several ways

None.
";
        assert_eq!(audited().markdown(), want);
    }

    #[test]
    fn names_rendered_several_ways_link_each_rendering_to_examples_and_an_add_command() {
        let pairs = [
            pair(1, "قال السيد أوبراين إن الوضع هادئ", "Mr O'Brien said the situation is calm", None),
            pair(2, "وصل السيد أوبراين إلى المدينة", "Mr O'Brien arrived in the city", None),
            pair(3, "غادر أوبراين المدينة", "O'Brien left the city", None),
            pair(4, "التقى أوبراين الوزير", "Obrien met the minister", None),
            // No name in the English: a common word rendered twice is no name.
            pair(5, "قال الوزير إن الوضع هادئ", "The Minister said things are calm", None),
            pair(6, "قال الوزير إن الوضع صعب", "The minister said it is hard", None),
            pair(7, "قال الوزير إن الوضع جيد", "The Minister of State said it is good", None),
        ];
        let mut a = audit(&pairs, &Glossary::new(), 3);
        assert_eq!(a.names.len(), 1);
        let name = &a.names[0];
        assert_eq!(
            (name.arabic.as_str(), name.folded.as_str(), name.kind, name.english.as_str(), name.occurrences),
            ("أوبراين", "اوبراين", Kind::Person, "O'Brien", 4)
        );
        let lines: Vec<(Rendering, Vec<usize>)> = name
            .renderings
            .iter()
            .map(|r| (r.rendering.clone(), r.examples.iter().map(|e| e.location.line).collect()))
            .collect();
        assert_eq!(
            lines,
            [(Rendering::Other("O'Brien".into()), vec![1, 2, 3]), (Rendering::Other("Obrien".into()), vec![4])]
        );
        a.add_to = "names.tsv".into();
        let markdown = a.markdown();
        let section = &markdown[markdown.find("## Names").unwrap()..];
        assert!(section.starts_with(
            "## Names rendered several ways\n\n### أوبراين\n\nperson, 4 occurrences (folded: اوبراين), suggested: O'Brien.\n"
        ));
        assert!(section.contains("- Obrien, t.txt:4\n  - التقى أوبراين الوزير\n  - Obrien met the minister\n"));
        assert!(section.ends_with(
            "To add a rendering to the glossary:\n\n```\n\
             tarjim glossary add 'names.tsv' --arabic 'أوبراين' --english 'O'\\''Brien' --kind person\n\
             tarjim glossary add 'names.tsv' --arabic 'أوبراين' --english 'Obrien' --kind person\n```\n"
        ));
        let json = a.json();
        let item = &json["names"]["items"][0];
        assert_eq!(item["kind"], "person");
        assert_eq!(
            item["renderings"][1]["add"],
            "tarjim glossary add 'names.tsv' --arabic 'أوبراين' --english 'Obrien' --kind person"
        );
        assert!(a.html().contains("<pre><code>tarjim glossary add &#39;names.tsv&#39;"));
    }

    #[test]
    fn text_is_escaped_for_markdown_and_html() {
        assert_eq!(
            md("a|b *c* _d_ [e](f) <g> `h` \\ # & ~\nx"),
            "a\\|b \\*c\\* \\_d\\_ \\[e\\](f) \\<g\\> \\`h\\` \\\\ \\# \\& \\~ x"
        );
        assert_eq!(html("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
