//! Greedy and beam search against HF `generate`.

use candle_core::Device;
use serde_json::Value;
use tarjim::decoding::{Constraint, EarlyStopping, GenerationConfig, generate, generate_constrained};
use tarjim::model::{MarianConfig, MarianMTModel, generated, load_model};
use tarjim::tokenizer::MarianTokenizer;

use crate::util::{generated, id_rows, ids, json, repo};

/// The tiny checkpoint's generation config with a case's `generate()` arguments on top.
fn settings(base: &GenerationConfig, args: &Value) -> GenerationConfig {
    let mut cfg = base.clone();
    for (key, value) in args.as_object().expect("settings object") {
        match key.as_str() {
            "num_beams" => cfg.num_beams = value.as_u64().unwrap() as usize,
            "max_length" => cfg.max_length = value.as_u64().unwrap() as usize,
            "length_penalty" => cfg.length_penalty = value.as_f64().unwrap() as f32,
            "early_stopping" => {
                cfg.early_stopping = match value {
                    Value::Bool(true) => EarlyStopping::Always,
                    Value::Bool(false) => EarlyStopping::Heuristic,
                    _ => EarlyStopping::Never,
                }
            }
            other => panic!("unknown setting {other}"),
        }
    }
    cfg
}

#[test]
fn tiny_greedy_and_beam_match_transformers_generate() {
    let dir = repo("tests/fixtures/tiny");
    let (model, model_cfg) = load_model(&dir, &Device::Cpu).unwrap();
    let base = GenerationConfig::from_model_dir(&dir, &model_cfg).unwrap();
    assert_eq!((base.num_beams, base.max_length, base.renormalize_logits), (4, 64, true));
    let tokenizer = MarianTokenizer::from_dir(&dir).unwrap();
    let fixture = json("tests/fixtures/decoding/tiny_generate.json");
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 20);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let cfg = settings(&base, &case["settings"]);
        let sources: Vec<Vec<u32>> = id_rows(&case["input_ids"])
            .into_iter()
            .zip(id_rows(&case["attention_mask"]))
            .map(|(ids, mask)| ids[..mask.iter().filter(|&&m| m == 1).count()].to_vec())
            .collect();
        // The fixture's inputs are the tokenizer's ids for the sources.
        for (text, source) in case["sources"].as_array().unwrap().iter().zip(&sources) {
            assert_eq!(&tokenizer.encode(text.as_str().unwrap()).ids, source, "{name}: tokenizer");
        }
        let hypotheses = generate(&model, &sources, &cfg).unwrap();
        let want = id_rows(&case["sequences"]);
        for (i, (hyp, row)) in hypotheses.iter().zip(&want).enumerate() {
            assert_eq!(hyp.tokens, generated(row, cfg.pad_token_id), "{name}: source {i}");
            if let Some(score) = case["scores"].get(i).and_then(Value::as_f64) {
                assert!(
                    (f64::from(hyp.score) - score).abs() < 1e-4,
                    "{name}: source {i}: score {} vs {score}",
                    hyp.score
                );
            }
            let text = case["translations"][i].as_str().unwrap();
            assert_eq!(tokenizer.decode(&hyp.tokens), text, "{name}: source {i}: text");
        }
    }
}

/// Greedy and beam 4 on `model` against transformers' ids and beam scores, in
/// batches of `batch` rows as the fixture's script ran them (`fixture`: a
/// `scripts/gen_model_fixtures.py` output with `generation_config` and `rows`).
fn check_generate(fixture: &str, model: &MarianMTModel, model_cfg: &MarianConfig, batch: usize) -> Vec<Vec<u32>> {
    let reference = json(fixture);
    // The hub's generation settings, with the fixture's shorter max_length.
    let hub = reference["generation_config"].to_string();
    let beam = GenerationConfig::from_json(&hub, model_cfg).unwrap();
    assert_eq!((beam.num_beams, beam.forced_eos_token_id), (4, Some(model_cfg.eos_token_id)));
    let greedy = GenerationConfig { num_beams: 1, ..beam.clone() };
    let mut outputs = Vec::new();
    for rows in reference["rows"].as_array().unwrap().chunks(batch) {
        let sources: Vec<Vec<u32>> = rows.iter().map(|r| ids(&r["input_ids"])).collect();
        for (cfg, key) in [(&greedy, "greedy"), (&beam, "beam4")] {
            let hypotheses = generate(model, &sources, cfg).unwrap();
            for (row, hyp) in rows.iter().zip(hypotheses) {
                let line = row["line"].as_u64().unwrap();
                let want = generated(&ids(&row[key]), model_cfg.pad_token_id);
                assert_eq!(hyp.tokens, want, "{fixture}: FLORES line {line}: {key}");
                if key == "beam4" {
                    let want = row["beam4_score"].as_f64().unwrap();
                    assert!((f64::from(hyp.score) - want).abs() < 1e-4, "line {line}: score {} vs {want}", hyp.score);
                }
                outputs.push(hyp.tokens);
            }
        }
    }
    outputs
}

#[test]
fn exact_shape_greedy_and_beam4_match_transformers_on_flores() {
    let (model, model_cfg) = generated::exact_shape_model(&Device::Cpu).unwrap();
    let outputs = check_generate("tests/fixtures/decoding/exact_shape.json", &model, &model_cfg, 10);
    assert!(outputs.len() >= 200);
}

#[test]
fn transformer_big_shape_greedy_and_beam4_match_transformers_on_flores() {
    let (model, model_cfg) = crate::util::big_model();
    let outputs = check_generate("tests/fixtures/decoding/exact_big.json", model, model_cfg, 6);
    // </s> is 25894 in opus-mt-tc-big-ar-en, not 0: outputs end there at once,
    // early, and at max_length (forced).
    let lengths: Vec<usize> = outputs.iter().map(Vec::len).collect();
    assert!(outputs.iter().all(|o| o.last() == Some(&25894)), "{outputs:?}");
    assert!(lengths.contains(&1) && lengths.contains(&19) && lengths.iter().any(|&n| 1 < n && n < 19), "{lengths:?}");
}

#[test]
fn settings_that_cannot_work_are_refused() {
    let dir = repo("tests/fixtures/tiny");
    let (model, model_cfg) = load_model(&dir, &Device::Cpu).unwrap();
    let mut cfg = GenerationConfig::from_model_dir(&dir, &model_cfg).unwrap();
    cfg.num_beams = 0;
    let err = generate(&model, &[vec![5, 0]], &cfg).unwrap_err().to_string();
    assert_eq!(err, "invalid generation settings: num_beams must be at least 1");
    cfg.num_beams = 1;
    let long = vec![5u32; model_cfg.max_position_embeddings + 1];
    let err = generate(&model, &[long], &cfg).unwrap_err().to_string();
    assert_eq!(err, "source has 257 tokens, the model accepts at most 256");
    assert!(generate(&model, &[], &cfg).unwrap().is_empty());
}

#[test]
fn library_settings_past_the_limits_are_errors_or_clamped_never_panics() {
    let dir = repo("tests/fixtures/tiny");
    let (model, model_cfg) = load_model(&dir, &Device::Cpu).unwrap();
    let base = GenerationConfig::from_model_dir(&dir, &model_cfg).unwrap();
    let source = [vec![5, 17, 42, 0]];
    let mut cfg = base.clone();
    cfg.num_beams = usize::MAX;
    let err = generate(&model, &source, &cfg).unwrap_err().to_string();
    assert!(err.starts_with(&format!("invalid generation settings: num_beams {} is more", usize::MAX)), "{err}");
    // Past the position table, generate stops where the table ends.
    let mut cfg = base.clone();
    cfg.min_length = usize::MAX;
    cfg.max_length = usize::MAX;
    let long = generate(&model, &source, &cfg).unwrap();
    cfg.max_length = tarjim::decoding::max_length_limit(&model_cfg);
    assert_eq!(generate(&model, &source, &cfg).unwrap(), long);
    assert_eq!(long[0].tokens.len(), 256);
    // A constraint id outside the target vocabulary.
    let constraint = Constraint { alternatives: vec![vec![493]], sentence_start: Vec::new() };
    let err = generate_constrained(&model, &source, &[vec![constraint]], &base).unwrap_err().to_string();
    assert_eq!(err, "invalid generation settings: constraint token id 493 is outside the target vocabulary of 493");
}
