//! Inline content: plain text for the model, codes kept aside, and codes put
//! back into the translation by the word alignment.

use quick_xml::events::{BytesStart, Event};

use super::XliffError;
use super::read::{Scope, Version, check_reference, is_xliff};
use crate::align::{Alignment, Word};
use crate::exchange::xml;

/// What a code does to the text around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// Opens a pair (`<g …>`, `<pc …>`, `<mrk …>`, or a matched `<bx/>`, `<bpt>`,
    /// `<sc/>`, `<sm/>`); `partner` is its closing code.
    Open {
        /// Index of the closing code.
        partner: usize,
    },
    /// Closes the pair opened by the code `partner`.
    Close {
        /// Index of the opening code.
        partner: usize,
    },
    /// Stands alone (`<x/>`, `<ph>`, `<it>`, an isolated code…).
    Point,
}

/// One code of a source, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// What it does.
    pub kind: CodeKind,
    /// Its XML, copied from the source (a whole element, or a start or end tag).
    pub xml: String,
    /// Character offset in the plain text where it stands.
    pub at: usize,
}

/// A source's content: plain text and codes in source order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inline {
    /// The text to translate (line breaks and tabs as spaces; character
    /// offsets are those of the source's text).
    pub text: String,
    /// Codes, in source order.
    pub codes: Vec<Code>,
}

/// Elements whose content is text to translate: they become a pair of codes.
fn is_wrapper(local: &str, attributes: &[(String, String)], version: Version) -> bool {
    let get = |name: &str| attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    match (version, local) {
        (Version::V1_2, "g") | (Version::V2, "pc") => true,
        (Version::V1_2, "mrk") => get("mtype") != Some("protected"),
        (Version::V2, "mrk") => get("translate") != Some("no"),
        _ => false,
    }
}

/// How a standalone code pairs: `(true, key)` opens, `(false, key)` closes.
fn pairing(local: &str, attributes: &[(String, String)], version: Version) -> Option<(bool, String)> {
    let get = |name: &str| attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    match (version, local) {
        (Version::V1_2, "bx" | "bpt") => Some((true, format!("{local}:{}", get("rid").or_else(|| get("id"))?))),
        (Version::V1_2, "ex") => Some((false, format!("bx:{}", get("rid").or_else(|| get("id"))?))),
        (Version::V1_2, "ept") => Some((false, format!("bpt:{}", get("rid").or_else(|| get("id"))?))),
        (Version::V2, "sc" | "sm") if get("isolated").as_deref() != Some("yes") => {
            Some((true, format!("{local}:{}", get("id")?)))
        }
        (Version::V2, "ec") => Some((false, format!("sc:{}", get("startRef")?))),
        (Version::V2, "em") => Some((false, format!("sm:{}", get("startRef")?))),
        _ => None,
    }
}

fn attribute_list(element: &BytesStart) -> Vec<(String, String)> {
    element
        .attributes()
        .filter_map(Result::ok)
        .filter_map(|a| {
            Some((
                a.key.local_name().as_ref().to_owned(),
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok()?.into_owned(),
            ))
        })
        .collect()
}

impl Inline {
    /// Reads the content of a `<source>` (`content`: its text between the
    /// tags, already checked to be well-formed; `offset`: where it starts in
    /// `document`, for error positions; `scope`: the namespace bindings in
    /// scope there, which tell XLIFF elements from others).
    pub fn parse(
        document: &str,
        offset: usize,
        content: &str,
        version: Version,
        scope: &Scope,
    ) -> Result<Self, XliffError> {
        let error = |at: usize, message: String| XliffError::at(document, offset + at, message);
        let mut inline = Self::default();
        let mut chars = 0;
        // Open wrappers: index of their opening code.
        let mut open: Vec<usize> = Vec::new();
        // Standalone codes that open, waiting for their closing code: key and index.
        let mut waiting: Vec<(String, usize)> = Vec::new();
        // Ids of the open 2.x `<sm translate="no"/>`: text is protected while any is.
        let mut protecting: Vec<String> = Vec::new();
        let mut reader = scope.reader(content);
        loop {
            let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX).min(content.len());
            let (xliff, event) = match reader.read_resolved_event() {
                Ok((namespace, event)) => (is_xliff(&namespace, Some(version)), event),
                Err(e) => return Err(error(at, format!("broken XML: {e}"))),
            };
            let end = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX).min(content.len());
            let mut push_point = |inline: &mut Self, xml: &str, pair: Option<(bool, String)>| {
                let index = inline.codes.len();
                inline.codes.push(Code { kind: CodeKind::Point, xml: xml.to_owned(), at: chars });
                match pair {
                    Some((true, key)) => waiting.push((key, index)),
                    Some((false, key)) => {
                        if let Some(w) = waiting.iter().rposition(|(k, _)| *k == key) {
                            let (_, partner) = waiting.remove(w);
                            inline.codes[partner].kind = CodeKind::Open { partner: index };
                            inline.codes[index].kind = CodeKind::Close { partner };
                        }
                    }
                    None => {}
                }
            };
            if !protecting.is_empty() && matches!(event, Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)) {
                // Protected text: kept as written, never seen by the model.
                if let Event::GeneralRef(reference) = &event {
                    check_reference(reference).map_err(|problem| error(at, problem))?;
                }
                push_point(&mut inline, &content[at..end], None);
                continue;
            }
            match event {
                Event::Text(text) => {
                    let text = text.xml10_content();
                    chars += text.chars().count();
                    inline.text.extend(text.chars().map(plain));
                }
                Event::CData(text) => {
                    let text = text.xml10_content();
                    chars += text.chars().count();
                    inline.text.extend(text.chars().map(plain));
                }
                Event::GeneralRef(reference) => {
                    let text = check_reference(&reference).map_err(|problem| error(at, problem))?;
                    chars += text.chars().count();
                    inline.text.extend(text.chars().map(plain));
                }
                Event::Start(element) => {
                    let local = element.local_name().as_ref().to_owned();
                    let attributes = attribute_list(&element);
                    if xliff && is_wrapper(&local, &attributes, version) {
                        open.push(inline.codes.len());
                        inline.codes.push(Code { kind: CodeKind::Point, xml: content[at..end].to_owned(), at: chars });
                        continue;
                    }
                    // A code whose content is not translated: copied whole.
                    let name = element.name().as_ref().to_owned();
                    let mut depth = 1;
                    let mut last = end;
                    while depth > 0 {
                        match reader.read_event().map_err(|e| error(last, format!("broken XML: {e}")))? {
                            Event::Start(_) => depth += 1,
                            Event::End(_) => depth -= 1,
                            Event::Eof => return Err(error(at, format!("broken XML: <{name}> is never closed"))),
                            _ => {}
                        }
                        last = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX).min(content.len());
                    }
                    let pair = if xliff { pairing(&local, &attributes, version) } else { None };
                    push_point(&mut inline, &content[at..last], pair);
                }
                Event::Empty(element) => {
                    let local = element.local_name().as_ref().to_owned();
                    let attributes = attribute_list(&element);
                    let pair = if xliff { pairing(&local, &attributes, version) } else { None };
                    if xliff && version == Version::V2 {
                        let get = |name: &str| attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
                        match local.as_str() {
                            "sm" if get("translate") == Some("no") => {
                                protecting.push(get("id").unwrap_or_default().to_owned());
                            }
                            "em" => protecting.retain(|id| Some(id.as_str()) != get("startRef")),
                            _ => {}
                        }
                    }
                    push_point(&mut inline, &content[at..end], pair);
                }
                Event::End(_) => {
                    let Some(partner) = open.pop() else {
                        return Err(error(at, "broken XML: an end tag without a start tag".into()));
                    };
                    let index = inline.codes.len();
                    inline.codes[partner].kind = CodeKind::Open { partner: index };
                    inline.codes.push(Code {
                        kind: CodeKind::Close { partner },
                        xml: content[at..end].to_owned(),
                        at: chars,
                    });
                }
                Event::Comment(_) | Event::PI(_) => push_point(&mut inline, &content[at..end], None),
                Event::Decl(_) | Event::DocType(_) => {
                    return Err(error(at, "broken XML: a declaration inside a source".into()));
                }
                Event::Eof => break,
            }
        }
        if let Some(&index) = open.last() {
            return Err(error(0, format!("broken XML: {} is never closed", inline.codes[index].xml)));
        }
        Ok(inline)
    }
}

/// A text character as the model sees it: line breaks and tabs as spaces.
fn plain(c: char) -> char {
    if matches!(c, '\n' | '\r' | '\t') { ' ' } else { c }
}

/// The target words the alignment links to the source words overlapping the
/// characters `range` of the source.
fn linked(alignment: &Alignment, pairs: &[(usize, usize)], range: std::ops::Range<usize>) -> Vec<usize> {
    let overlapping = |w: &Word| w.span.as_ref().is_some_and(|s| s.start < range.end && range.start < s.end);
    let sources: Vec<usize> =
        alignment.source_words.iter().enumerate().filter(|(_, w)| overlapping(w)).map(|(i, _)| i).collect();
    pairs.iter().filter(|(s, _)| sources.contains(s)).map(|&(_, t)| t).collect()
}

/// Character offset in the translation for a code standing at source character
/// `at`: before the target words of the first later source word that has any,
/// else after those of the last earlier one; at the start or end when no text
/// precedes or follows it in the source.
fn point(alignment: &Alignment, pairs: &[(usize, usize)], at: usize, target_len: usize) -> usize {
    let spans: Vec<std::ops::Range<usize>> = alignment.source_words.iter().filter_map(|w| w.span.clone()).collect();
    let target_span = |t: usize| alignment.target_words.get(t).and_then(|w| w.span.clone());
    if spans.first().is_none_or(|s| at <= s.start) {
        return 0;
    }
    if spans.last().is_none_or(|s| at >= s.end) {
        return target_len;
    }
    for (i, word) in alignment.source_words.iter().enumerate() {
        if word.span.as_ref().is_some_and(|s| s.start >= at)
            && let Some(t) = pairs.iter().filter(|(s, _)| *s == i).map(|&(_, t)| t).min()
            && let Some(span) = target_span(t)
        {
            return span.start;
        }
    }
    for (i, word) in alignment.source_words.iter().enumerate().rev() {
        if word.span.as_ref().is_some_and(|s| s.end <= at)
            && let Some(t) = pairs.iter().filter(|(s, _)| *s == i).map(|&(_, t)| t).max()
            && let Some(span) = target_span(t)
        {
            return span.end;
        }
    }
    target_len
}

/// Escapes text for XML content, leaving out characters XML cannot hold.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if !xml::is_allowed(c) => {}
            c => out.push(c),
        }
    }
}

/// The target content: `translation` with the codes of `inline` put back.
///
/// A pair of codes encloses the target words the alignment links to the source
/// words inside it; a point code, or a pair whose words have no link, stands
/// where [`point`] says. Codes keep their source order: one placed before the
/// code preceding it moves up to that code. Without an alignment, codes are
/// placed in proportion to their source offset.
pub fn place(inline: &Inline, translation: &str, alignment: Option<&Alignment>, pairs: &[(usize, usize)]) -> String {
    let target: Vec<char> = translation.chars().collect();
    let source_len = inline.text.chars().count();
    let proportional = |at: usize| (at * target.len()).checked_div(source_len).unwrap_or(0);
    let mut offsets: Vec<usize> = inline
        .codes
        .iter()
        .map(|code| {
            let Some(alignment) = alignment else { return proportional(code.at) };
            let span_of = |open: &Code, close: &Code| {
                let words = linked(alignment, pairs, open.at..close.at);
                let first = words.iter().min().and_then(|&t| alignment.target_words[t].span.clone());
                let last = words.iter().max().and_then(|&t| alignment.target_words[t].span.clone());
                first.zip(last).map(|(f, l)| (f.start, l.end))
            };
            let at_point = || point(alignment, pairs, code.at, target.len());
            match code.kind {
                CodeKind::Open { partner } => span_of(code, &inline.codes[partner]).map_or_else(at_point, |s| s.0),
                CodeKind::Close { partner } => span_of(&inline.codes[partner], code).map_or_else(at_point, |s| s.1),
                CodeKind::Point => at_point(),
            }
        })
        .collect();
    let mut floor = 0;
    for offset in &mut offsets {
        *offset = (*offset).clamp(floor, target.len());
        floor = *offset;
    }
    let mut out = String::with_capacity(translation.len() + inline.codes.iter().map(|c| c.xml.len()).sum::<usize>());
    let mut done = 0;
    for (code, &offset) in inline.codes.iter().zip(&offsets) {
        escape(&target[done..offset].iter().collect::<String>(), &mut out);
        out.push_str(&code.xml);
        done = offset;
    }
    escape(&target[done..].iter().collect::<String>(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(spans: &[(usize, usize)]) -> Vec<Word> {
        spans.iter().map(|&(s, e)| Word { text: String::new(), span: Some(s..e), pieces: 0..0 }).collect()
    }

    /// "قال <b>رئيس الوزراء</b> اليوم<x/> هنا" → "Today the prime minister said here",
    /// with the words linked by hand.
    fn case() -> (Inline, Alignment, Vec<(usize, usize)>) {
        let source = "قال <g id=\"1\">رئيس الوزراء</g> اليوم<x id=\"2\"/> هنا";
        let inline = Inline::parse(source, 0, source, Version::V1_2, &Scope::default()).unwrap();
        assert_eq!(inline.text, "قال رئيس الوزراء اليوم هنا");
        // قال 0..3, رئيس 4..8, الوزراء 9..16, اليوم 17..22, هنا 23..26
        let alignment = Alignment {
            source_words: words(&[(0, 3), (4, 8), (9, 16), (17, 22), (23, 26)]),
            // Today 0..5, the 6..9, prime 10..15, minister 16..24, said 25..29, here 30..34
            target_words: words(&[(0, 5), (6, 9), (10, 15), (16, 24), (25, 29), (30, 34)]),
            attention: Vec::new(),
            sentences: Vec::new(),
        };
        let pairs = vec![(0, 4), (1, 3), (2, 1), (2, 2), (3, 0), (4, 5)];
        (inline, alignment, pairs)
    }

    #[test]
    fn paired_codes_enclose_the_target_words_linked_to_their_source_words() {
        let (inline, alignment, pairs) = case();
        let kinds: Vec<CodeKind> = inline.codes.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [CodeKind::Open { partner: 1 }, CodeKind::Close { partner: 0 }, CodeKind::Point]);
        let target = "Today the prime minister said here";
        // <x/> stands before هنا, whose word is "here"; the pair holds "the prime minister".
        assert_eq!(
            place(&inline, target, Some(&alignment), &pairs),
            "Today <g id=\"1\">the prime minister</g> said <x id=\"2\"/>here"
        );
    }

    #[test]
    fn a_code_aligned_before_the_previous_one_moves_up_to_it() {
        let (inline, alignment, _) = case();
        // هنا → "Today": the point code would come before the pair; it follows it instead.
        let pairs = vec![(0, 4), (1, 3), (2, 1), (2, 2), (3, 5), (4, 0)];
        assert_eq!(
            place(&inline, "Today the prime minister said here", Some(&alignment), &pairs),
            "Today <g id=\"1\">the prime minister</g><x id=\"2\"/> said here"
        );
    }

    #[test]
    fn codes_at_the_edges_stay_at_the_edges_and_text_is_escaped() {
        let source = "<x id=\"1\"/>قال &amp; هنا<x id=\"2\"/>";
        let inline = Inline::parse(source, 0, source, Version::V1_2, &Scope::default()).unwrap();
        assert_eq!(inline.text, "قال & هنا");
        let alignment = Alignment {
            source_words: words(&[(0, 3), (4, 5), (6, 9)]),
            target_words: words(&[(0, 4), (5, 6), (7, 11)]),
            attention: Vec::new(),
            sentences: Vec::new(),
        };
        let pairs = vec![(0, 2), (1, 1), (2, 0)];
        assert_eq!(
            place(&inline, "here & said", Some(&alignment), &pairs),
            "<x id=\"1\"/>here &amp; said<x id=\"2\"/>"
        );
        assert_eq!(place(&inline, "abcdefghi", None, &[]), "<x id=\"1\"/>abcdefghi<x id=\"2\"/>");
    }

    #[test]
    fn standalone_codes_pair_by_their_ids() {
        let source =
            "<sc id=\"1\"/>أ<sm id=\"m\"/>ب<ec startRef=\"1\"/>ج<em startRef=\"m\"/><ec id=\"9\" isolated=\"yes\"/>";
        let inline = Inline::parse(source, 0, source, Version::V2, &Scope::default()).unwrap();
        let kinds: Vec<CodeKind> = inline.codes.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                CodeKind::Open { partner: 2 },
                CodeKind::Open { partner: 3 },
                CodeKind::Close { partner: 0 },
                CodeKind::Close { partner: 1 },
                CodeKind::Point
            ]
        );
        let source = "<bpt id=\"1\">&lt;b&gt;</bpt>أ<ept id=\"1\">&lt;/b&gt;</ept><ph id=\"2\">x</ph>";
        let inline = Inline::parse(source, 0, source, Version::V1_2, &Scope::default()).unwrap();
        assert_eq!(inline.text, "أ", "native code inside bpt, ept and ph is not text");
        assert_eq!(inline.codes[0].xml, "<bpt id=\"1\">&lt;b&gt;</bpt>");
        assert_eq!(inline.codes[0].kind, CodeKind::Open { partner: 1 });
    }

    #[test]
    fn inline_elements_are_told_by_namespace_not_by_prefix() {
        let scope = Scope {
            bindings: vec![("xlf".into(), Version::V1_2.namespace().into()), (String::new(), "urn:example".into())],
        };
        let source = "أ <xlf:g id=\"1\">ب</xlf:g> <g>ج</g>";
        let inline = Inline::parse(source, 0, source, Version::V1_2, &scope).unwrap();
        assert_eq!(inline.text, "أ ب ", "the <g> of another namespace is copied whole");
        let kinds: Vec<CodeKind> = inline.codes.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [CodeKind::Open { partner: 1 }, CodeKind::Close { partner: 0 }, CodeKind::Point]);
        assert_eq!(inline.codes[2].xml, "<g>ج</g>");
    }

    #[test]
    fn text_between_sm_and_em_with_translate_no_is_kept_and_not_translated() {
        // The protected span crosses the end of a <pc>, as sm/em may.
        let source = "ستعلن <pc id=\"1\">اليوم <sm id=\"p\" translate=\"no\"/>الحكومة &amp;</pc> الوزارة<em startRef=\"p\"/> عن خطة";
        let inline = Inline::parse(source, 0, source, Version::V2, &Scope::default()).unwrap();
        assert_eq!(inline.text, "ستعلن اليوم  عن خطة");
        let alignment = Alignment {
            // ستعلن 0..5, اليوم 6..11, عن 13..15, خطة 16..19
            source_words: words(&[(0, 5), (6, 11), (13, 15), (16, 19)]),
            // today 0..5, will 6..10, announce 11..19, a 20..21, plan 22..26
            target_words: words(&[(0, 5), (6, 10), (11, 19), (20, 21), (22, 26)]),
            attention: Vec::new(),
            sentences: Vec::new(),
        };
        let pairs = vec![(0, 1), (0, 2), (1, 0), (2, 3), (3, 4)];
        // The protected run stands whole before the words of the source word after it
        // (عن → "a"); the end of the <pc> inside it goes along, so the pair grows.
        assert_eq!(
            place(&inline, "today will announce a plan", Some(&alignment), &pairs),
            "<pc id=\"1\">today will announce <sm id=\"p\" translate=\"no\"/>الحكومة &amp;</pc> الوزارة<em startRef=\"p\"/>a plan"
        );
    }
}
