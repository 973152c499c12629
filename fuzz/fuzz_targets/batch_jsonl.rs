//! A JSON-lines batch input of any bytes: documents whose outputs stay inside
//! the output directory, and a notice naming a line of the input for each bad
//! line (one bad line costs only itself).
#![no_main]

use std::path::Component;

use libfuzzer_sys::fuzz_target;
use tarjim::batch::discover;
use tarjim_fuzz::scratch_file;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("docs.jsonl", data);
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    match discover(std::slice::from_ref(&path)) {
        Ok(discovery) => {
            for doc in &discovery.documents {
                assert!(doc.stem.components().all(|c| matches!(c, Component::Normal(_))), "{:?}", doc.stem);
            }
            for notice in &discovery.notices {
                if let Some(line) = notice.line {
                    assert!((1..=lines).contains(&line), "{notice:?}");
                }
            }
        }
        Err(error) => panic!("{error}"),
    }
});
