//! A real checkpoint (e.g. the hub's opus-mt-ar-en), when one is present:
//! `TARJIM_TEST_MODEL=DIR`, with HF transformers' translations of FLORES lines
//! from `scripts/gen_real_model_reference.py` in `DIR/tarjim_hf_reference.jsonl`
//! (or `TARJIM_TEST_REFERENCE=FILE`). Without `TARJIM_TEST_MODEL` the test says it
//! was skipped.

use std::path::PathBuf;

use candle_core::Device;
use serde_json::Value;
use tarjim::translate::Translator;

use crate::util::ids;

#[test]
fn real_model_translates_flores_like_transformers() {
    let Some(dir) = std::env::var_os("TARJIM_TEST_MODEL").map(PathBuf::from) else {
        eprintln!("skipped: TARJIM_TEST_MODEL is not set (no real model directory)");
        return;
    };
    let reference = std::env::var_os("TARJIM_TEST_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("tarjim_hf_reference.jsonl"));
    let text = std::fs::read_to_string(&reference).unwrap_or_else(|e| {
        panic!("{}: {e}; create it with scripts/gen_real_model_reference.py {}", reference.display(), dir.display())
    });
    let rows: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("reference row")).collect();
    assert!(!rows.is_empty(), "{}: no rows", reference.display());
    let mut translator = Translator::from_dir(&dir, &Device::Cpu).expect("load the model");
    let sources: Vec<&str> = rows.iter().map(|r| r["source"].as_str().unwrap()).collect();
    for row in &rows {
        let got = translator.tokenizer().encode(row["source"].as_str().unwrap()).ids;
        assert_eq!(got, ids(&row["input_ids"]), "line {}: source ids", row["line"]);
    }
    let beam = translator.translate(&sources, 8, &mut |_| {});
    translator.generation_mut().num_beams = 1;
    let greedy = translator.translate(&sources, 8, &mut |_| {});
    for ((row, beam), greedy) in rows.iter().zip(beam).zip(greedy) {
        let (beam, greedy) = (beam.expect("beam translation"), greedy.expect("greedy translation"));
        let line = &row["line"];
        assert_eq!(beam.target_ids, ids(&row["beam_ids"]), "line {line}: beam ids");
        assert_eq!(beam.text, row["beam"].as_str().unwrap(), "line {line}: beam text");
        assert_eq!(greedy.target_ids, ids(&row["greedy_ids"]), "line {line}: greedy ids");
        assert_eq!(greedy.text, row["greedy"].as_str().unwrap(), "line {line}: greedy text");
    }
}
