//! Sentence splitting and fitting on any text: nothing lost, nothing added.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tarjim::article::{Article, segment};

fn non_space(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fuzz_target!(|text: &str| {
    // The sentences are the text cut at whitespace, in order.
    let mut at = 0;
    for sentence in segment::sentences(text) {
        assert!(!sentence.is_empty() && sentence.trim() == sentence);
        let rest = &text[at..];
        let gap = rest.len() - rest.trim_start().len();
        assert!(rest[gap..].starts_with(&sentence), "{sentence:?} is not next in {text:?}");
        at += gap + sentence.len();
    }
    assert!(text[at..].trim().is_empty());
    let words = |s: &str| s.split_whitespace().count();
    let sentence = text.trim();
    if !sentence.is_empty() {
        let pieces = segment::fit(sentence, 3, &words);
        assert_eq!(non_space(&pieces.concat()), non_space(sentence));
    }
    let _ = Article::prepare(text, 3, &words);
});
