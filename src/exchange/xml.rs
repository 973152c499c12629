//! Text written into XML 1.0 documents.
//!
//! `&`, `<`, `>`, `"` and `'` become entity references; a carriage return
//! becomes `&#13;` (a parser would read a raw one as a line feed). Characters
//! XML 1.0 does not allow at all (C0 controls other than tab, line feed and
//! carriage return; U+FFFE and U+FFFF) cannot be written even as references:
//! they are replaced by U+FFFD, so that a reader sees where something was.

use std::borrow::Cow;

/// The replacement for characters XML 1.0 does not allow.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Whether XML 1.0 allows `c` in a document (its `Char` production).
pub fn is_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `text` as character data (between tags); tabs and line feeds stay as they
/// are.
pub fn text(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// `text` as an attribute value in double or single quotes; tabs and line
/// feeds are written as references, which attribute-value normalization would
/// otherwise turn into spaces.
pub fn attribute(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, attribute: bool) -> Cow<'_, str> {
    let special = |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'' | '\r') || !is_allowed(c);
    let needs = |c: char| special(c) || (attribute && matches!(c, '\t' | '\n'));
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            c if !is_allowed(c) => out.push(REPLACEMENT),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_references_and_forbidden_characters_are_replaced() {
        assert_eq!(text("a < b & \"c\" > 'd'"), "a &lt; b &amp; &quot;c&quot; &gt; &apos;d&apos;");
        assert_eq!(text("x\u{0}y\u{1b}z\u{FFFE}\u{FFFF}"), "x\u{FFFD}y\u{FFFD}z\u{FFFD}\u{FFFD}");
        assert_eq!(text("tab\tline\ncr\r"), "tab\tline\ncr&#13;");
        assert_eq!(attribute("tab\tline\n"), "tab&#9;line&#10;");
        assert!(matches!(text("قال ترامب"), Cow::Borrowed(_)));
        assert_eq!(text("\u{85}\u{10FFFF}"), "\u{85}\u{10FFFF}", "C1 controls and astral characters are allowed");
    }
}
