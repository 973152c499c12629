//! A glossary TSV file of any bytes: every error names a line of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tarjim::glossary::{Glossary, GlossaryError, Matcher, parse};

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    let parsed = parse::parse_all(data, "g.tsv");
    for err in &parsed.errors {
        match err {
            GlossaryError::Parse { line, column, .. } => assert!((1..=lines).contains(line) && *column >= 1, "{err}"),
            other => panic!("not a parse error: {other}"),
        }
    }
    let mut glossary = Glossary::new();
    if glossary.add(data, "g.tsv").is_ok() {
        let _ = Matcher::new(&glossary).find("قال الرئيس إن الحكومة");
    }
});
