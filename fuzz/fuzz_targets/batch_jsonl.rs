//! A JSON-lines batch input of any bytes: documents whose outputs stay inside
//! the output directory, or an error naming a line of the input.
#![no_main]

use std::path::Component;

use libfuzzer_sys::fuzz_target;
use tarjim::batch::{BatchError, discover};
use tarjim_fuzz::scratch_file;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("docs.jsonl", data);
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    match discover(std::slice::from_ref(&path)) {
        Ok(docs) => {
            for doc in docs {
                assert!(doc.stem.components().all(|c| matches!(c, Component::Normal(_))), "{:?}", doc.stem);
            }
        }
        Err(BatchError::Jsonl { line, .. }) => assert!((1..=lines).contains(&line)),
        Err(other) => panic!("{other}"),
    }
});
