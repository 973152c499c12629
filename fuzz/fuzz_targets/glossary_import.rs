//! A glossary in another format (the first byte picks it and the kind): every
//! error names a line of the input, and what imports writes back as TSV.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tarjim::glossary_tools::formats::{self, GlossaryFormat, FormatError};
use tarjim::glossary_tools::write::write_tsv;
use tarjim::glossary::{GlossaryError, Kind, parse};

const FORMATS: [GlossaryFormat; 5] = [GlossaryFormat::Csv, GlossaryFormat::Tbx, GlossaryFormat::Deepl, GlossaryFormat::Google, GlossaryFormat::Amazon];
const KINDS: [Kind; 4] = [Kind::Org, Kind::Person, Kind::Place, Kind::Other];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let format = FORMATS[usize::from(selector) % FORMATS.len()];
    let kind = KINDS[usize::from(selector / 8) % KINDS.len()];
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    let within = |line: usize| (1..=lines).contains(&line);
    match formats::import(bytes, "g", format, kind) {
        Ok(imported) => {
            assert!(imported.entries.iter().all(|e| within(e.origin.line)));
            let tsv = write_tsv(&imported.entries, imported.columns).expect("imported entries are writable");
            let (entries, _) = parse::parse(tsv.as_bytes(), "g.tsv").expect("written TSV parses");
            assert_eq!(entries.len(), imported.entries.len());
        }
        Err(err) => match &err {
            FormatError::Utf8 { line, .. } | FormatError::Xml { line, .. } | FormatError::Row { line, .. } => {
                assert!(within(*line), "{err}")
            }
            FormatError::Glossary(GlossaryError::Conflict { second, first_line, .. }) => {
                assert!(within(second.line) && within(*first_line), "{err}")
            }
            other => panic!("{format}: unexpected error {other}"),
        },
    }
});
