//! A `vocab.json` of any bytes: an error or a tokenizer whose token spans stay
//! inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tarjim::tokenizer::MarianTokenizer;
use tarjim_fuzz::{TEXTS, check_tokenizer, minimal_model, scratch_file};

fuzz_target!(|data: &[u8]| {
    let model = scratch_file("model.spm", &minimal_model());
    let vocab = scratch_file("vocab.json", data);
    if let Ok(tokenizer) = MarianTokenizer::from_files(&model, &model, &vocab, None) {
        for text in TEXTS {
            check_tokenizer(&tokenizer, text);
        }
    }
});
