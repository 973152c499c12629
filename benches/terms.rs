//! Glossary benchmark on a real checkpoint: term accuracy on the committed term
//! test set (`tests/data/terms.tsv`: Arabic news sentences with the built-in
//! glossary's names in prefixed and inflected forms) and chrF on the first 200
//! FLORES devtest lines, with `--glossary-mode constrain` against `off`.
//!
//!     TARJIM_TEST_MODEL=DIR cargo bench --bench terms [-- --lines N --batch N]
//!
//! Without `TARJIM_TEST_MODEL` it says so and measures nothing: a random-weight
//! model says nothing about term accuracy or chrF.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;
use common::arg;
use tarjim::eval::corpus_chrf;
use tarjim::glossary::Glossary;
use tarjim::translate::{GlossaryMode, Terms, Translator};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(model) = std::env::var_os("TARJIM_TEST_MODEL").map(PathBuf::from) else {
        println!("skipped: set TARJIM_TEST_MODEL=DIR to a real Marian ar-en checkpoint");
        return;
    };
    let lines = arg(&args, "--lines", 200);
    let batch = arg(&args, "--batch", 16);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut translator = Translator::from_dir(&model, &Device::Cpu).expect("load the model");
    let (glossary, _) = Glossary::builtin().expect("built-in glossary");

    // Term set: sentence, then the expected entries' Arabic terms.
    let set = read(&root.join("tests/data/terms.tsv"));
    let rows: Vec<(&str, Vec<String>)> = set
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .map(|(sentence, terms)| {
            let english =
                terms.split('|').map(|t| glossary.lookup(t).expect("term set names glossary terms").english.clone());
            (sentence, english.collect())
        })
        .collect();
    let sentences: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let flores_ar = read(&root.join("../shared/eval/flores200-devtest/arb_Arab.txt"));
    let flores_en = read(&root.join("../shared/eval/flores200-devtest/eng_Latn.txt"));
    let flores: Vec<&str> = flores_ar.lines().take(lines).collect();
    let references: Vec<&str> = flores_en.lines().take(lines).collect();

    println!("{:<10} {:>14} {:>10} {:>9}", "mode", "term accuracy", "chrF", "seconds");
    for (name, mode) in [("off", None), ("constrain", Some(GlossaryMode::Constrain))] {
        translator.set_terms(mode.map(|m| Terms::new(glossary.clone(), m)));
        let start = Instant::now();
        let outputs = translator.translate(&sentences, batch, &mut |_| {});
        let (mut found, mut total) = (0, 0);
        for ((_, expected), output) in rows.iter().zip(&outputs) {
            let text = output.as_ref().map(|t| t.text.as_str()).unwrap_or_default();
            for english in expected {
                total += 1;
                found += usize::from(text.contains(english.as_str()));
            }
        }
        let translations: Vec<String> = translator
            .translate(&flores, batch, &mut |_| {})
            .into_iter()
            .map(|t| t.map(|t| t.text).unwrap_or_default())
            .collect();
        let chrf = corpus_chrf(&translations, &references);
        println!(
            "{name:<10} {:>13.1}% {chrf:>10.2} {:>9.1}",
            100.0 * found as f64 / total.max(1) as f64,
            start.elapsed().as_secs_f64()
        );
    }
}
