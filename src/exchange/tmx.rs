//! TMX 1.4b translation memories (LISA OSCAR, `<tmx version="1.4">`): one
//! translation unit per sentence, Arabic source and English target, with
//! where it came from and the glossary terms enforced in it as properties.
//!
//! ```text
//! <?xml version="1.0" encoding="UTF-8"?>
//! <!DOCTYPE tmx SYSTEM "tmx14.dtd">
//! <tmx version="1.4">
//!   <header creationtool="tarjim" creationtoolversion="…" datatype="plaintext" segtype="sentence"
//!     adminlang="en" srclang="ar" o-tmf="tarjim" creationdate="20250501T100000Z"/>
//!   <body>
//!     <tu>
//!       <prop type="x-tarjim-document">news.txt</prop>
//!       <prop type="x-tarjim-line">3</prop>
//!       <prop type="x-tarjim-term">حزب الله=Hezbollah</prop>
//!       <tuv xml:lang="ar"><seg>…</seg></tuv>
//!       <tuv xml:lang="en"><seg>…</seg></tuv>
//!     </tu>
//!   </body>
//! </tmx>
//! ```
//!
//! Properties (user-defined types start with `x-`, as TMX asks):
//! `x-tarjim-document` (the input file or document id), `x-tarjim-line` (its
//! 1-based line, a paragraph), one `x-tarjim-term` per enforced glossary term
//! placed in the translation (`ARABIC=ENGLISH`: the glossary entry's term and
//! the rendering written) and one `x-tarjim-term-missed` per enforced term the
//! translation lacks. Text is escaped as [`super::xml`] says.

use super::xml;
use crate::time::Utc;
use crate::translate::TermUse;

/// The XML declaration, document type, root and header, and the opening of
/// the body, for a memory made at `created`.
pub fn start(created: &Utc) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE tmx SYSTEM \"tmx14.dtd\">\n<tmx version=\"1.4\">\n  \
         <header creationtool=\"tarjim\" creationtoolversion=\"{}\" datatype=\"plaintext\" segtype=\"sentence\" \
         adminlang=\"en\" srclang=\"ar\" o-tmf=\"tarjim\" creationdate=\"{}\"/>\n  <body>\n",
        xml::attribute(env!("CARGO_PKG_VERSION")),
        created.basic()
    )
}

/// The closing of the body and the root.
pub const END: &str = "  </body>\n</tmx>\n";

/// One sentence pair.
#[derive(Debug, Clone, Copy)]
pub struct Unit<'a> {
    /// The input file or document id.
    pub document: &'a str,
    /// The 1-based line of the paragraph in it.
    pub line: usize,
    /// The Arabic sentence.
    pub source: &'a str,
    /// Its English translation.
    pub target: &'a str,
    /// The glossary terms enforced in it.
    pub terms: &'a [TermUse],
}

/// One `<tu>` element, indented for the body, ending with a line feed.
pub fn unit(unit: &Unit) -> String {
    let mut out = String::from("    <tu>\n");
    let mut prop = |kind: &str, value: &str| {
        out.push_str(&format!("      <prop type=\"{kind}\">{}</prop>\n", xml::text(value)));
    };
    prop("x-tarjim-document", unit.document);
    prop("x-tarjim-line", &unit.line.to_string());
    for term in unit.terms {
        let kind = if term.target_span.is_some() { "x-tarjim-term" } else { "x-tarjim-term-missed" };
        prop(kind, &format!("{}={}", term.term, term.english));
    }
    for (lang, seg) in [("ar", unit.source), ("en", unit.target)] {
        out.push_str(&format!("      <tuv xml:lang=\"{lang}\"><seg>{}</seg></tuv>\n", xml::text(seg)));
    }
    out.push_str("    </tu>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glossary::Kind;

    fn term(arabic: &str, english: &str, placed: bool) -> TermUse {
        TermUse {
            term: arabic.into(),
            english: english.into(),
            kind: Kind::Org,
            source_span: 0..1,
            confirmed: None,
            target_span: placed.then_some(0..1),
            problem: None,
            aligned: None,
        }
    }

    #[test]
    fn a_memory_is_written_exactly() {
        let terms = [term("حزب الله", "Hezbollah", true), term("الأسد", "Assad", false)];
        let mut tmx = start(&Utc::from_unix(1_700_000_000));
        tmx.push_str(&unit(&Unit {
            document: "a&b.txt",
            line: 3,
            source: "قال حزب الله <اليوم>",
            target: "Hezbollah said \"today\"\u{7}",
            terms: &terms,
        }));
        tmx.push_str(END);
        let want = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<!DOCTYPE tmx SYSTEM \"tmx14.dtd\">
<tmx version=\"1.4\">
  <header creationtool=\"tarjim\" creationtoolversion=\"{}\" datatype=\"plaintext\" segtype=\"sentence\" \
adminlang=\"en\" srclang=\"ar\" o-tmf=\"tarjim\" creationdate=\"20231114T221320Z\"/>
  <body>
    <tu>
      <prop type=\"x-tarjim-document\">a&amp;b.txt</prop>
      <prop type=\"x-tarjim-line\">3</prop>
      <prop type=\"x-tarjim-term\">حزب الله=Hezbollah</prop>
      <prop type=\"x-tarjim-term-missed\">الأسد=Assad</prop>
      <tuv xml:lang=\"ar\"><seg>قال حزب الله &lt;اليوم&gt;</seg></tuv>
      <tuv xml:lang=\"en\"><seg>Hezbollah said &quot;today&quot;\u{FFFD}</seg></tuv>
    </tu>
  </body>
</tmx>
",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(tmx, want);
    }
}
