//! Glossary benchmark.
//!
//! **Precision** (no model needed): the built-in glossary's matches on the 1012
//! FLORES devtest lines, each line its own document as `translate` reads lines,
//! checked against the human English references. A match enforced in `report`
//! mode counts as confirmed when the reference holds its rendering, its short
//! form, or an accepted other way of writing it (`tests/data/accepted.tsv`),
//! compared as whole words ignoring case, periods, hyphens and Latin diacritics.
//! It prints the counts, every unconfirmed match and every skipped mention.
//!
//! **Term accuracy and chrF** on a real checkpoint: term accuracy on the committed
//! term test set (`tests/data/terms.tsv`: Arabic news sentences with the built-in
//! glossary's names in prefixed and inflected forms) and chrF on the first 200
//! FLORES devtest lines, with `--glossary-mode constrain` against `off`.
//!
//!     [TARJIM_TEST_MODEL=DIR] cargo bench --bench terms [-- --lines N --batch N]
//!
//! Without `TARJIM_TEST_MODEL` the second part says so and measures nothing: a
//! random-weight model says nothing about term accuracy or chrF.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;
use common::arg;
use tarjim::eval::corpus_chrf;
use tarjim::glossary::Glossary;
use tarjim::translate::{GlossaryMode, Terms, Translator};
use unicode_normalization::UnicodeNormalization;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Lower-cased words of `text` without Latin diacritics, periods or hyphens,
/// joined by single spaces and padded with one at each end.
fn comparable(text: &str) -> String {
    let plain: String = text
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c) && *c != '.')
        .map(|c| if c.is_alphanumeric() { c.to_lowercase().next().unwrap_or(c) } else { ' ' })
        .collect();
    format!(" {} ", plain.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Report-mode precision of the built-in glossary on FLORES devtest.
fn precision(root: &Path, glossary: &Glossary) {
    let flores_ar = read(&root.join("data/eval/flores200-devtest/arb_Arab.txt"));
    let flores_en = read(&root.join("data/eval/flores200-devtest/eng_Latn.txt"));
    let accepted_text = read(&root.join("tests/data/accepted.tsv"));
    let mut accepted: HashMap<&str, Vec<&str>> = HashMap::new();
    for line in accepted_text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        if let Some((english, others)) = line.split_once('\t') {
            accepted.insert(english, others.split('|').collect());
        }
    }
    let terms = Terms::new(glossary.clone(), GlossaryMode::Report);
    let (mut enforced, mut confirmed, mut unconfirmed, mut skipped) = (0, 0, Vec::new(), Vec::new());
    for (number, (source, reference)) in flores_ar.lines().zip(flores_en.lines()).enumerate() {
        let reference = comparable(reference);
        let Some((uses, skips)) = terms.find(&[source]).into_iter().next() else { continue };
        let text =
            |span: &std::ops::Range<usize>| -> String { source.chars().skip(span.start).take(span.len()).collect() };
        for term in uses {
            enforced += 1;
            let entry = glossary.lookup(&term.term).expect("an enforced term is a glossary entry");
            let mut ways: Vec<&str> = vec![&term.english, &entry.english];
            ways.extend(entry.short.iter().map(|s| s.english.as_str()));
            ways.extend(accepted.get(entry.english.as_str()).into_iter().flatten());
            if ways.iter().any(|way| reference.contains(&comparable(way))) {
                confirmed += 1;
            } else {
                unconfirmed.push(format!("  line {}: {} → {}", number + 1, text(&term.source_span), term.english));
            }
        }
        for skip in skips {
            skipped.push(format!(
                "  line {}: {} ({}): {}",
                number + 1,
                text(&skip.source_span),
                skip.english,
                skip.why
            ));
        }
    }
    println!(
        "FLORES devtest, report mode, built-in glossary: {enforced} matches enforced, {confirmed} confirmed by the \
         reference, {} unconfirmed ({:.1}%), {} skipped",
        unconfirmed.len(),
        100.0 * unconfirmed.len() as f64 / enforced.max(1) as f64,
        skipped.len()
    );
    println!("unconfirmed:\n{}", unconfirmed.join("\n"));
    println!("skipped:\n{}", skipped.join("\n"));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (glossary, _) = Glossary::builtin().expect("built-in glossary");
    precision(root, &glossary);
    let Some(model) = std::env::var_os("TARJIM_TEST_MODEL").map(PathBuf::from) else {
        println!("skipped: set TARJIM_TEST_MODEL=DIR to a real Marian ar-en checkpoint");
        return;
    };
    let lines = arg(&args, "--lines", 200);
    let batch = arg(&args, "--batch", 16);
    let mut translator = Translator::from_dir(&model, &Device::Cpu).expect("load the model");

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
    let flores_ar = read(&root.join("data/eval/flores200-devtest/arb_Arab.txt"));
    let flores_en = read(&root.join("data/eval/flores200-devtest/eng_Latn.txt"));
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
