//! Arabic folding and the built-in glossary's matcher on any text: an origin
//! per folded character, inside the text on character boundaries and in order;
//! matches inside the text, on boundaries, without overlaps.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tarjim::glossary::normalize::fold;
use tarjim::glossary::{Glossary, Matcher};

fuzz_target!(|text: &str| {
    let folded = fold(text);
    assert_eq!(folded.origins.len(), folded.text.chars().count());
    for origin in &folded.origins {
        assert!(origin.start < origin.end && origin.end <= text.len());
        assert!(text.is_char_boundary(origin.start) && text.is_char_boundary(origin.end));
    }
    for pair in folded.origins.windows(2) {
        assert!(pair[0].start == pair[1].start || pair[0].end <= pair[1].start, "{pair:?}");
    }
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    let matcher = MATCHER.get_or_init(|| Matcher::new(&Glossary::builtin().expect("built-in glossary").0));
    let mut end = 0;
    for m in matcher.find(text) {
        assert!(end <= m.prefix.start && m.prefix.end == m.span.start && m.span.start < m.span.end, "{m:?}");
        assert!(
            m.span.end <= text.len()
                && [m.prefix.start, m.span.start, m.span.end].iter().all(|&at| text.is_char_boundary(at))
        );
        end = m.span.end;
    }
});
