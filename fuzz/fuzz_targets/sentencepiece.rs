//! A SentencePiece model file (`source.spm`, `target.spm`) of any bytes: an
//! error or a tokenizer whose token spans stay inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tarjim::tokenizer::MarianTokenizer;
use tarjim_fuzz::{TEXTS, check_tokenizer, scratch_file};

fuzz_target!(|data: &[u8]| {
    let model = scratch_file("model.spm", data);
    let vocab = scratch_file("vocab.json", br#"{"</s>": 0, "<unk>": 1, "<pad>": 2}"#);
    if let Ok(tokenizer) = MarianTokenizer::from_files(&model, &model, &vocab, None) {
        for text in TEXTS {
            check_tokenizer(&tokenizer, text);
        }
    }
});
