//! Splicing the filled targets, states and notes into the document.

use super::Splice;
use super::read::{Document, Encoding, NotesAt, Segmented, TargetAt, Version, indent_before};

/// What to write into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled<'a> {
    /// Per unit of [`Document::units`], per segment: the target content (XML,
    /// from [`super::place`]), or `None` to leave the segment as it is.
    pub targets: Vec<Vec<Option<String>>>,
    /// Per unit: the glossary terms its translations used, as `ARABIC → English`.
    pub terms: Vec<Vec<String>>,
    /// Who translated, for the notes (e.g. `tarjim with model Helsinki-NLP/opus-mt-ar-en`).
    pub origin: &'a str,
}

/// The state attributes tarjim gives what it wrote.
fn states(version: Version) -> &'static [(&'static str, &'static str)] {
    match version {
        Version::V1_2 => &[("state", "needs-review-translation"), ("state-qualifier", "mt-suggestion")],
        Version::V2 => &[("state", "initial"), ("subState", "tarjim:mt")],
    }
}

/// Escapes text for XML content or a double-quoted attribute.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Byte range of the value of attribute `name` in the start tag `tag`.
fn find_attribute(tag: &str, name: &str) -> Option<std::ops::Range<usize>> {
    let bytes = tag.as_bytes();
    let mut i = tag.find(|c: char| c.is_whitespace() || c == '/' || c == '>')?;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] == b'>' || bytes[i] == b'/' {
            return None;
        }
        let key_start = i;
        while i < bytes.len() && bytes[i] != b'=' && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = &tag[key_start..i];
        while i < bytes.len() && (bytes[i] == b'=' || bytes[i].is_ascii_whitespace()) {
            i += 1;
        }
        let quote = *bytes.get(i)?;
        let value_start = i + 1;
        let value_end = value_start + tag[value_start..].find(quote as char)?;
        if key == name {
            return Some(value_start..value_end);
        }
        i = value_end + 1;
    }
}

/// The start tag `tag` with each attribute of `set` given its value: replaced
/// where it is, added after the last attribute where it is not.
fn set_attributes(tag: &str, set: &[(&str, &str)]) -> String {
    let mut out = tag.to_owned();
    for (name, value) in set {
        match find_attribute(&out, name) {
            Some(range) => out.replace_range(range, &escape(value)),
            None => {
                let close = out.strip_suffix("/>").or_else(|| out.strip_suffix('>')).unwrap_or(&out);
                let at = close.trim_end().len();
                out.insert_str(at, &format!(" {name}=\"{}\"", escape(value)));
            }
        }
    }
    out
}

/// The qualified name of the element whose start tag is `tag`.
fn element_name(tag: &str) -> &str {
    let name = tag.trim_start_matches('<');
    &name[..name.find(|c: char| c.is_whitespace() || c == '/' || c == '>').unwrap_or(name.len())]
}

/// The splices that write `content` into the target at `target`, giving the
/// target element the attributes `set`; a new target's name gets `prefix`.
fn target_splices(
    text: &str,
    target: &TargetAt,
    content: &str,
    set: &[(&str, &str)],
    prefix: &str,
    out: &mut Vec<Splice>,
) {
    match target {
        TargetAt::Empty(range) => {
            let tag = &text[range.clone()];
            let open = tag.strip_suffix("/>").unwrap_or(tag).trim_end();
            let open = set_attributes(&format!("{open}>"), set);
            let text = format!("{open}{content}</{}>", element_name(tag));
            out.push(Splice { range: range.clone(), text });
        }
        TargetAt::Open { start_tag, content: range } => {
            if !set.is_empty() {
                let tag = set_attributes(&text[start_tag.clone()], set);
                out.push(Splice { range: start_tag.clone(), text: tag });
            }
            out.push(Splice { range: range.clone(), text: content.to_owned() });
        }
        TargetAt::Missing { at, indent } => {
            let open = set_attributes(&format!("<{prefix}target>"), set);
            let indent = indent.as_deref().unwrap_or_default();
            out.push(Splice { range: *at..*at, text: format!("{indent}{open}{content}</{prefix}target>") });
        }
        TargetAt::Composed => {}
    }
}

/// The splices that write `filled` into `document`.
pub fn splices(document: &Document, filled: &Filled) -> Vec<Splice> {
    let text = &document.text;
    let version = document.version;
    let mut out = Vec::new();
    let mut wrote = false;
    for (u, unit) in document.units.iter().enumerate() {
        let content_of = |s: usize| filled.targets.get(u).and_then(|t| t.get(s)).and_then(Option::as_deref);
        // 1.2 states go on the target element, which a segmented unit writes once.
        let target_states = if version == Version::V1_2 && unit.segmented.is_none() { states(version) } else { &[] };
        let mut written = Vec::new();
        for (s, segment) in unit.segments.iter().enumerate() {
            let Some(content) = content_of(s) else {
                continue;
            };
            written.push(segment.id.clone().unwrap_or_else(|| (s + 1).to_string()));
            if let Some(tag) = &segment.segment_tag {
                out.push(Splice { range: tag.clone(), text: set_attributes(&text[tag.clone()], states(version)) });
            }
            target_splices(text, &segment.target, content, target_states, &unit.prefix, &mut out);
        }
        if written.is_empty() {
            continue;
        }
        match &unit.segmented {
            Some(Segmented::Whole { target, template }) => {
                // The seg-source's content, each segment's `<mrk>` holding its translation.
                let mut content = String::with_capacity(template.len());
                let mut done = template.start;
                for (s, segment) in unit.segments.iter().enumerate() {
                    content.push_str(&text[done..segment.source.start.max(done)]);
                    content.push_str(content_of(s).unwrap_or_default());
                    done = done.max(segment.source.end);
                }
                content.push_str(&text[done..template.end.max(done)]);
                target_splices(text, target, &content, states(version), &unit.prefix, &mut out);
            }
            Some(Segmented::Marks { start_tag }) => {
                let tag = set_attributes(&text[start_tag.clone()], states(version));
                out.push(Splice { range: start_tag.clone(), text: tag });
            }
            None => {}
        }
        wrote = true;
        let terms = filled.terms.get(u).filter(|t| !t.is_empty());
        let p = &unit.prefix;
        let glossary = terms.map(|t| escape(&format!("glossary: {}", t.join("; "))));
        match &unit.notes {
            NotesAt::AfterTarget { at, indent } => {
                if let Some(glossary) = glossary {
                    let indent = indent.as_deref().unwrap_or_default();
                    let note = format!("{indent}<{p}note from=\"tarjim\" annotates=\"target\">{glossary}</{p}note>");
                    out.push(Splice { range: *at..*at, text: note });
                }
            }
            NotesAt::Inside(at) | NotesAt::New { at, .. } => {
                let origin = escape(&format!(
                    "machine translation by {}, to be reviewed: segment {}",
                    filled.origin,
                    written.join(", ")
                ));
                let mut notes = vec![format!("<{p}note category=\"tarjim\" appliesTo=\"target\">{origin}</{p}note>")];
                if let Some(glossary) = glossary {
                    notes.push(format!(
                        "<{p}note category=\"tarjim-glossary\" appliesTo=\"target\">{glossary}</{p}note>"
                    ));
                }
                let text = match &unit.notes {
                    NotesAt::New { indent: Some(indent), .. } => {
                        let inner: String = notes.iter().map(|n| format!("{indent}  {n}")).collect();
                        format!("<{p}notes>{inner}{indent}</{p}notes>{indent}")
                    }
                    NotesAt::New { indent: None, .. } => format!("<{p}notes>{}</{p}notes>", notes.concat()),
                    _ => match indent_before(&document.text, *at) {
                        Some(indent) => notes.iter().map(|n| format!("  {n}{indent}")).collect(),
                        None => notes.concat(),
                    },
                };
                out.push(Splice { range: *at..*at, text });
            }
        }
    }
    if wrote && let Some(at) = document.trg_lang_at {
        out.push(Splice { range: at..at, text: " trgLang=\"en\"".into() });
    }
    // Insertions go before a replacement starting at the same offset (a new
    // `<notes>` before the `<segment>` tag that gets the state); the sort is
    // stable, so insertions at one offset stay in the order made (a target
    // before its note).
    out.sort_by_key(|s| (s.range.start, !s.range.is_empty()));
    out
}

/// The document with `filled` written in, encoded as the input was.
pub fn write(document: &Document, filled: &Filled) -> Vec<u8> {
    let text = &document.text;
    let mut spliced = String::with_capacity(text.len() + 1024);
    let mut done = 0;
    for splice in splices(document, filled) {
        spliced.push_str(&text[done..splice.range.start.max(done)]);
        spliced.push_str(&splice.text);
        done = done.max(splice.range.end);
    }
    spliced.push_str(&text[done..]);
    match document.encoding {
        Encoding::Utf8 { bom } => {
            let mut bytes = if bom { vec![0xEF, 0xBB, 0xBF] } else { Vec::new() };
            bytes.extend_from_slice(spliced.as_bytes());
            bytes
        }
        Encoding::Utf16 { big_endian } => {
            let mut bytes = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
            for unit in spliced.encode_utf16() {
                bytes.extend_from_slice(&if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
            }
            bytes
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_replaced_in_place_or_added_after_the_last() {
        let set = [("state", "needs-review-translation"), ("state-qualifier", "mt-suggestion")];
        assert_eq!(
            set_attributes("<target xml:lang='en' state = \"new\" >", &set),
            "<target xml:lang='en' state = \"needs-review-translation\" state-qualifier=\"mt-suggestion\" >"
        );
        assert_eq!(set_attributes("<target/>", &set[..1]), "<target state=\"needs-review-translation\"/>");
        assert_eq!(find_attribute("<x substate='a' state=\"b\">", "state"), Some(23..24));
        assert_eq!(element_name("<xlf:target state=\"new\"/>"), "xlf:target");
    }
}
