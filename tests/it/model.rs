//! The Marian model against HF transformers' logits, and loading errors.

use std::path::Path;

use candle_core::{Device, IndexOp, Tensor};
use tarjim::model::{DecoderCache, EncoderOutput, MarianConfig, MarianMTModel, ModelError, generated, load_model};

use crate::util::{id_rows, json, max_abs_diff, repo, tensor2};

/// Logits of HF's reference, `(batch, tgt_len, vocab)`.
fn reference_logits(key: &str) -> Tensor {
    let path = repo("tests/fixtures/model/tiny_logits.safetensors");
    let mut tensors = candle_core::safetensors::load(&path, &Device::Cpu).expect("reference logits");
    tensors.remove(key).expect("logits key")
}

/// The reference batch on `model`: its encoder output and decoder inputs.
fn reference_batch(model: &MarianMTModel) -> (EncoderOutput, Vec<Vec<u32>>) {
    let reference = json("tests/fixtures/model/tiny_reference.json");
    let input_ids = tensor2(&id_rows(&reference["input_ids"]));
    let mask = tensor2(&id_rows(&reference["attention_mask"]));
    (model.encode(&input_ids, &mask).expect("encode"), id_rows(&reference["decoder_input_ids"]))
}

/// Teacher-forced logits of `model` on the reference batch.
fn teacher_forced(model: &MarianMTModel) -> Tensor {
    let (enc, decoder) = reference_batch(model);
    let mut cache = DecoderCache::new(model.config().decoder_layers);
    model.decode(&tensor2(&decoder), &enc, &mut cache).expect("decode")
}

fn load(dir: &str) -> MarianMTModel {
    load_model(&repo(dir), &Device::Cpu).expect("load fixture model").0
}

#[test]
fn tiny_logits_match_transformers_in_every_key_layout() {
    let want = reference_logits("logits");
    for dir in ["tests/fixtures/tiny", "tests/fixtures/tiny-bin", "tests/fixtures/tiny-legacy"] {
        let got = teacher_forced(&load(dir));
        let diff = max_abs_diff(&got, &want);
        assert!(diff < 1e-4, "{dir}: logits differ from transformers by {diff}");
    }
}

#[test]
fn tiny_f16_checkpoint_matches_transformers_f16() {
    let got = teacher_forced(&load("tests/fixtures/tiny-f16"));
    let diff = max_abs_diff(&got, &reference_logits("logits_f16"));
    assert!(diff < 1e-4, "f16 logits differ from transformers by {diff}");
}

#[test]
fn cached_steps_equal_teacher_forcing() {
    let model = load("tests/fixtures/tiny");
    let (enc, decoder) = reference_batch(&model);
    let decoder_input_ids = tensor2(&decoder);
    let full = teacher_forced(&model);
    let mut cache = DecoderCache::new(model.config().decoder_layers);
    for step in 0..decoder_input_ids.dim(1).unwrap() {
        let input = decoder_input_ids.i((.., step..step + 1)).unwrap();
        let logits = model.decode(&input, &enc, &mut cache).unwrap();
        let diff = max_abs_diff(&logits, &full.i((.., step..step + 1, ..)).unwrap());
        assert!(diff < 1e-4, "step {step}: cached decoding differs by {diff}");
    }
    assert_eq!(cache.len(), decoder_input_ids.dim(1).unwrap());
}

#[test]
fn padded_batch_rows_equal_single_sources() {
    let model = load("tests/fixtures/tiny");
    let reference = json("tests/fixtures/model/tiny_reference.json");
    let inputs = id_rows(&reference["input_ids"]);
    let masks = id_rows(&reference["attention_mask"]);
    let decoder = id_rows(&reference["decoder_input_ids"]);
    let full = teacher_forced(&model);
    for (row, (ids, mask)) in inputs.iter().zip(&masks).enumerate() {
        let n = mask.iter().filter(|&&m| m == 1).count();
        let enc = model.encode(&tensor2(&[ids[..n].to_vec()]), &tensor2(&[mask[..n].to_vec()])).unwrap();
        let mut cache = DecoderCache::new(model.config().decoder_layers);
        let single = model.decode(&tensor2(&[decoder[row].clone()]), &enc, &mut cache).unwrap();
        let diff = max_abs_diff(&single, &full.i(row..row + 1).unwrap());
        // Rounding only: the encoder's products have other shapes when padded
        // (masking a position wrongly changes logits by far more).
        assert!(diff < 5e-5, "row {row}: padded batch differs from the single source by {diff}");
    }
}

/// 24 sources of 2 to 39 tokens padded to 40 positions (more source tokens
/// than one encoder run takes on the CPU): ids and masks.
fn long_batch(model: &MarianMTModel) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    let (width, pad, eos) = (40, model.config().pad_token_id, model.config().eos_token_id);
    (0..24u32)
        .map(|i| {
            let len = 2 + (i as usize * 7) % 38;
            let token = |t: usize| match t + 1 {
                n if n < len => 5 + (i * 31 + t as u32 * 7) % 400,
                n if n == len => eos,
                _ => pad,
            };
            ((0..width).map(token).collect(), (0..width).map(|t| u32::from(t < len)).collect())
        })
        .unzip()
}

/// The first step's logits of every source of `enc`, `(sources, vocab)`.
fn first_step(model: &MarianMTModel, enc: &EncoderOutput) -> Vec<Vec<f32>> {
    let mut cache = DecoderCache::new(model.config().decoder_layers);
    let start = vec![vec![model.config().decoder_start_token_id]; enc.batch_size()];
    model.decode(&tensor2(&start), enc, &mut cache).unwrap().squeeze(1).unwrap().to_vec2().unwrap()
}

#[test]
fn encoder_rows_do_not_depend_on_the_batch_around_them() {
    let model = load("tests/fixtures/tiny");
    let (ids, masks) = long_batch(&model);
    let batch = first_step(&model, &model.encode(&tensor2(&ids), &tensor2(&masks)).unwrap());
    for (i, want) in batch.iter().enumerate() {
        let enc = model.encode(&tensor2(&ids[i..=i]), &tensor2(&masks[i..=i])).unwrap();
        assert_eq!(&first_step(&model, &enc)[0], want, "source {i}");
    }
}

#[test]
fn selected_sources_read_as_in_the_whole_batch() {
    let model = load("tests/fixtures/tiny");
    let (ids, masks) = long_batch(&model);
    let enc = model.encode(&tensor2(&ids), &tensor2(&masks)).unwrap();
    let batch = first_step(&model, &enc);
    // Recorded rows (more than half the sources), then a copy of a few and the
    // same few kept in place.
    let many: Vec<u32> = (0..24).rev().filter(|i| i % 5 != 0).collect();
    let few = [20u32, 3, 3, 7];
    let rows = |rows: &[u32]| Tensor::new(rows, &Device::Cpu).unwrap();
    let want = |rows: &[u32]| rows.iter().map(|&r| batch[r as usize].clone()).collect::<Vec<_>>();
    assert_eq!(first_step(&model, &enc.index_select(&rows(&many)).unwrap()), want(&many));
    assert_eq!(first_step(&model, &enc.index_select(&rows(&few)).unwrap()), want(&few));
    let chained = enc.index_select(&rows(&many)).unwrap().retain(&rows(&[0, 5])).unwrap();
    assert_eq!(first_step(&model, &chained), want(&[many[0], many[5]]));
    assert_eq!(first_step(&model, &enc.retain(&rows(&few)).unwrap()), want(&few));
}

#[test]
fn beams_reading_their_source_once_equal_beams_with_their_own_copy() {
    let model = load("tests/fixtures/tiny");
    let (enc, decoder) = reference_batch(&model);
    let (sources, beams) = (decoder.len(), 3);
    // Beam b of source s is row s * beams + b, with its own target (rotated by b).
    let targets: Vec<Vec<u32>> = (0..sources * beams)
        .map(|row| {
            let mut target = decoder[row / beams].clone();
            target[1..].rotate_left(row % beams);
            target
        })
        .collect();
    let expand: Vec<u32> = (0..sources * beams).map(|row| (row / beams) as u32).collect();
    let expanded = enc.index_select(&Tensor::new(expand.as_slice(), &Device::Cpu).unwrap()).unwrap();
    let head = model.alignment_head();
    let forced = |enc| {
        let mut cache = DecoderCache::new(model.config().decoder_layers);
        model.decode_with_attention(&tensor2(&targets), enc, &mut cache, head).unwrap()
    };
    let ((shared_logits, shared_probs), (own_logits, own_probs)) = (forced(&enc), forced(&expanded));
    assert!(max_abs_diff(&shared_logits, &own_logits) < 1e-5);
    assert!(max_abs_diff(&shared_probs, &own_probs) < 1e-6);
    // Step by step, with the beams reordered after the second step.
    let swap: Vec<u32> = (0..sources * beams).map(|row| (row - row % beams + (row + 1) % beams) as u32).collect();
    let swap = Tensor::new(swap.as_slice(), &Device::Cpu).unwrap();
    let (mut shared, mut own) =
        (DecoderCache::new(model.config().decoder_layers), DecoderCache::new(model.config().decoder_layers));
    for step in 0..targets[0].len() {
        let input = tensor2(&targets.iter().map(|t| vec![t[step]]).collect::<Vec<_>>());
        let (a, b) =
            (model.decode(&input, &enc, &mut shared).unwrap(), model.decode(&input, &expanded, &mut own).unwrap());
        let diff = max_abs_diff(&a, &b);
        assert!(diff < 1e-5, "step {step}: shared and copied sources differ by {diff}");
        if step == 1 {
            shared.reorder(&swap).unwrap();
            own.reorder(&swap).unwrap();
        }
    }
    // Rows that are not a multiple of the sources are refused.
    let mut cache = DecoderCache::new(model.config().decoder_layers);
    let err = model.decode(&tensor2(&vec![vec![0u32]; sources + 1]), &enc, &mut cache).unwrap_err();
    let want = format!("{} decoder rows cannot attend to {sources} sources", sources + 1);
    assert!(err.to_string().starts_with(&want), "{err}");
}

/// `model`'s teacher-forced logits at the fixture's columns and its argmax
/// against transformers' (`fixture`: a `scripts/gen_model_fixtures.py` output
/// with `rows` and `teacher_forced`).
fn check_teacher_forced(fixture: &str, model: &MarianMTModel) {
    let reference = json(fixture);
    let columns: Vec<u32> = crate::util::ids(&reference["columns"]);
    let columns = Tensor::new(columns.as_slice(), &Device::Cpu).unwrap();
    let rows = reference["rows"].as_array().unwrap();
    let forced = reference["teacher_forced"].as_array().unwrap();
    assert!(!forced.is_empty());
    for forced in forced {
        let line = forced["line"].as_u64().unwrap() as usize;
        let source = crate::util::ids(&rows[line]["input_ids"]);
        let decoder_input = crate::util::ids(&forced["decoder_input_ids"]);
        let mask = vec![1u32; source.len()];
        let enc = model.encode(&tensor2(&[source]), &tensor2(&[mask])).unwrap();
        let mut cache = DecoderCache::new(model.config().decoder_layers);
        let logits = model.decode(&tensor2(&[decoder_input]), &enc, &mut cache).unwrap().squeeze(0).unwrap();
        let got = logits.index_select(&columns, 1).unwrap();
        let want: Vec<Vec<f32>> = forced["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect())
            .collect();
        let want = Tensor::new(want, &Device::Cpu).unwrap();
        let diff = max_abs_diff(&got, &want);
        assert!(diff < 1e-4, "{fixture}: line {line}: logits differ from transformers by {diff}");
        let argmax: Vec<u32> = logits.argmax(1).unwrap().to_vec1().unwrap();
        assert_eq!(argmax, crate::util::ids(&forced["argmax"]), "{fixture}: line {line}: argmax");
    }
}

#[test]
fn exact_shape_teacher_forced_logits_match_transformers() {
    let (model, _) = generated::exact_shape_model(&Device::Cpu).expect("generated model");
    check_teacher_forced("tests/fixtures/decoding/exact_shape.json", &model);
}

#[test]
fn transformer_big_shape_teacher_forced_logits_match_transformers() {
    let (model, cfg) = crate::util::big_model();
    assert_eq!((cfg.d_model, cfg.eos_token_id), (1024, 25894));
    check_teacher_forced("tests/fixtures/decoding/exact_big.json", model);
}

/// A copy of the tiny checkpoint in a temporary directory, for breaking it.
fn tiny_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo("tests/fixtures/tiny")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn load_err(dir: &Path) -> String {
    load_model(dir, &Device::Cpu).expect_err("loading must fail").to_string()
}

#[test]
fn missing_weights_are_named() {
    let dir = tiny_copy();
    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    assert_eq!(
        load_err(dir.path()),
        format!("{}: no weights: expected model.safetensors or pytorch_model.bin", dir.path().display())
    );
}

#[test]
fn truncated_weights_are_an_error_naming_the_file() {
    let dir = tiny_copy();
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(
        load_err(dir.path()),
        format!(
            "{}: cannot read weights: truncated: the file has {} bytes, its header describes {}",
            path.display(),
            bytes.len() / 2,
            bytes.len()
        )
    );
}

#[test]
fn config_problems_are_named() {
    let dir = tiny_copy();
    let path = dir.path().join("config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"d_model\"", "\"d_modelx\"")).unwrap();
    let err = load_err(dir.path());
    assert!(err.starts_with(&format!("{}: invalid model config: missing field `d_model`", path.display())), "{err}");

    std::fs::write(&path, text.replace("\"decoder_layers\": 3", "\"decoder_layers\": 4")).unwrap();
    let err = load_model(dir.path(), &Device::Cpu).unwrap_err();
    assert!(
        matches!(&err, ModelError::MissingTensor { name, .. } if name == "model.decoder.layers.3.self_attn.q_proj.weight"),
        "{err}"
    );

    std::fs::write(&path, text.replace("\"decoder_ffn_dim\": 48", "\"decoder_ffn_dim\": 40")).unwrap();
    assert_eq!(
        load_err(dir.path()),
        format!(
            "{}: tensor `model.decoder.layers.0.fc1.weight` has shape [48, 32], the config needs [40, 32]",
            dir.path().join("model.safetensors").display()
        )
    );
}

#[test]
fn exact_shape_config_is_opus_mt_ar_en() {
    let cfg: MarianConfig = generated::exact_shape_config();
    assert_eq!(
        (cfg.vocab_size, cfg.pad_token_id, cfg.decoder_start_token_id, cfg.eos_token_id),
        (62834, 62833, 62833, 0)
    );
    assert_eq!((cfg.encoder_layers, cfg.decoder_layers, cfg.d_model, cfg.encoder_ffn_dim), (6, 6, 512, 2048));
}

#[test]
fn bf16_and_f16_safetensors_read_like_tensors_in_memory() {
    let f32_tensors = tarjim::model::read_weights(&repo("tests/fixtures/tiny/model.safetensors")).unwrap();
    let cfg = MarianConfig::from_file(&repo("tests/fixtures/tiny/config.json")).unwrap();
    for dtype in [candle_core::DType::BF16, candle_core::DType::F16] {
        let dir = tiny_copy();
        let converted: std::collections::HashMap<String, Tensor> =
            f32_tensors.iter().map(|(k, v)| (k.clone(), v.to_dtype(dtype).unwrap())).collect();
        candle_core::safetensors::save(&converted, dir.path().join("model.safetensors")).unwrap();
        let read = tarjim::model::read_weights(&dir.path().join("model.safetensors")).unwrap();
        assert_eq!(read.len(), converted.len());
        for (name, tensor) in &converted {
            assert_eq!(read[name].dtype(), dtype, "{name}");
            assert_eq!(
                max_abs_diff(
                    &read[name].to_dtype(candle_core::DType::F32).unwrap(),
                    &tensor.to_dtype(candle_core::DType::F32).unwrap()
                ),
                0.0,
                "{name}"
            );
        }
        let from_file = teacher_forced(&load_model(dir.path(), &Device::Cpu).unwrap().0);
        let in_memory =
            teacher_forced(&tarjim::model::model_from_tensors(&cfg, converted, "memory", &Device::Cpu).unwrap());
        assert_eq!(max_abs_diff(&from_file, &in_memory), 0.0, "{dtype:?}");
    }
}

#[test]
fn unsupported_weight_dtypes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let ids = Tensor::new(&[1i64, 2, 3], &Device::Cpu).unwrap();
    candle_core::safetensors::save(&std::collections::HashMap::from([("positions".to_string(), ids)]), &path).unwrap();
    let err = tarjim::model::read_weights(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: cannot read weights: tensor `positions` is stored as I64, expected F32, F16 or BF16",
            path.display()
        )
    );
}

#[test]
fn int8_loading_equals_quantizing_the_f32_model() {
    let dir = repo("tests/fixtures/tiny");
    let (direct, _) = tarjim::model::load_model_as(&dir, &Device::Cpu, tarjim::model::Precision::Int8).unwrap();
    assert!(direct.is_int8());
    let converted = load("tests/fixtures/tiny").into_int8().unwrap();
    let (a, b) = (teacher_forced(&direct), teacher_forced(&converted));
    assert_eq!(max_abs_diff(&a, &b), 0.0);
}

#[test]
fn int8_logits_stay_close_to_f32() {
    let model = load("tests/fixtures/tiny");
    let want = teacher_forced(&model);
    let int8 = model.into_int8().expect("int8 model");
    assert!(int8.is_int8());
    let got = teacher_forced(&int8);
    let diff = max_abs_diff(&got, &want);
    let scale = want.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
    eprintln!("int8 logits differ from f32 by {diff} (largest logit {scale})");
    assert!(diff < 0.05 * scale, "int8 logits differ from f32 by {diff} (largest logit {scale})");
}

#[test]
fn weights_longer_or_shorter_than_their_header_say_which() {
    let dir = tiny_copy();
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let cases = [
        (
            [&bytes[..], b"xyz"].concat(),
            format!(
                "3 trailing bytes after the last tensor: the file has {} bytes, its header describes {}",
                bytes.len() + 3,
                bytes.len()
            ),
        ),
        (
            bytes[..bytes.len() - 1].to_vec(),
            format!("truncated: the file has {} bytes, its header describes {}", bytes.len() - 1, bytes.len()),
        ),
        (
            bytes[..20].to_vec(),
            format!(
                "truncated: the file has 20 bytes, its header of {} bytes ends at byte {header_end}",
                header_end - 8
            ),
        ),
        (bytes[..3].to_vec(), "truncated: the file has 3 bytes, fewer than the 8 of the header length".to_string()),
    ];
    for (contents, problem) in cases {
        std::fs::write(&path, &contents).unwrap();
        assert_eq!(load_err(dir.path()), format!("{}: cannot read weights: {problem}", path.display()));
    }
}

#[test]
fn unreadable_config_names_the_file_and_the_os_error_once() {
    let dir = tiny_copy();
    let path = dir.path().join("config.json");
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let os = std::fs::read_to_string(&path).unwrap_err().to_string();
    let err = load_model(dir.path(), &Device::Cpu).unwrap_err();
    assert_eq!(err.to_string(), format!("{}: cannot read: {os}", path.display()));
    // The cause is part of the message, so it is not also a source that
    // `{:#}` would print a second time.
    assert!(std::error::Error::source(&err).is_none());
}

#[test]
fn legacy_checkpoint_logits_equal_the_safetensors_checkpoint_exactly() {
    let want = teacher_forced(&load("tests/fixtures/tiny"));
    assert_eq!(max_abs_diff(&teacher_forced(&load("tests/fixtures/tiny-legacy")), &want), 0.0);
}

#[test]
fn legacy_tiny_checkpoint_holds_the_2020_hub_layout_and_the_tiny_weights() {
    let legacy = tarjim::model::read_weights(&repo("tests/fixtures/tiny-legacy/pytorch_model.bin")).unwrap();
    let tiny = tarjim::model::read_weights(&repo("tests/fixtures/tiny/model.safetensors")).unwrap();
    assert!(!legacy.contains_key("lm_head.weight"));
    for name in ["model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"] {
        assert_eq!(legacy[name].dims(), [256, 32], "{name}");
    }
    let shared = &tiny["model.shared.weight"];
    for name in ["model.shared.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"] {
        assert_eq!(max_abs_diff(&legacy[name], shared), 0.0, "{name}");
    }
    for (name, tensor) in &tiny {
        assert_eq!(legacy[name].dtype(), candle_core::DType::F32, "{name}");
        assert_eq!(max_abs_diff(&legacy[name], tensor), 0.0, "{name}");
    }
    assert_eq!(legacy.len(), tiny.len() + 4);
}

#[test]
fn legacy_tensors_read_as_torch_wrote_them() {
    let reference = json("tests/fixtures/legacy/views.json");
    let want = reference["tensors"].as_object().unwrap();
    let tensors = tarjim::model::read_weights(&repo("tests/fixtures/legacy/views.bin")).unwrap();
    assert_eq!(tensors.len(), want.len());
    for (name, expected) in want {
        let tensor = &tensors[name];
        let dtype = match expected["dtype"].as_str().unwrap() {
            "float32" => candle_core::DType::F32,
            "float16" => candle_core::DType::F16,
            "bfloat16" => candle_core::DType::BF16,
            other => panic!("{name}: {other}"),
        };
        assert_eq!(tensor.dtype(), dtype, "{name}");
        let shape: Vec<usize> =
            expected["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        assert_eq!(tensor.dims(), shape, "{name}");
        let values: Vec<f32> =
            tensor.to_dtype(candle_core::DType::F32).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let expected: Vec<f32> =
            expected["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        assert_eq!(values, expected, "{name}");
    }
    // The fixture covers what it is for: views at offsets and with strides.
    assert_eq!(want["columns"]["storage_offset"], 2);
    assert_eq!(want["transposed"]["stride"], serde_json::json!([1, 6]));
    assert_eq!(want["half_view"]["stride"], serde_json::json!([1, 4]));
}

#[test]
fn legacy_tensors_of_other_dtypes_are_named() {
    let path = repo("tests/fixtures/legacy/long.bin");
    assert_eq!(
        tarjim::model::read_weights(&path).unwrap_err().to_string(),
        format!(
            "{}: cannot read weights: PyTorch legacy format: tensor `positions` is stored as LongStorage, \
             expected FloatStorage, HalfStorage or BFloat16Storage",
            path.display()
        )
    );
}

#[test]
fn weight_format_is_told_by_content_not_by_file_name() {
    let want = teacher_forced(&load("tests/fixtures/tiny"));
    for source in ["tests/fixtures/tiny-legacy/pytorch_model.bin", "tests/fixtures/tiny-bin/pytorch_model.bin"] {
        let dir = tiny_copy();
        std::fs::copy(repo(source), dir.path().join("model.safetensors")).unwrap();
        let got = teacher_forced(&load_model(dir.path(), &Device::Cpu).unwrap().0);
        assert!(max_abs_diff(&got, &want) < 1e-4, "{source} named model.safetensors");
    }
    let dir = tiny_copy();
    std::fs::rename(dir.path().join("model.safetensors"), dir.path().join("pytorch_model.bin")).unwrap();
    assert_eq!(max_abs_diff(&teacher_forced(&load_model(dir.path(), &Device::Cpu).unwrap().0), &want), 0.0);
}

#[test]
fn corrupt_legacy_weights_are_an_error_naming_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo("tests/fixtures/tiny-legacy")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let path = dir.path().join("pytorch_model.bin");
    let bytes = std::fs::read(&path).unwrap();
    let global = bytes.windows(11).position(|w| w == b"OrderedDict").unwrap();
    let cases = [
        (bytes[..bytes.len() - 10].to_vec(), "PyTorch legacy format: truncated: storage `".to_string()),
        ([&bytes[..], b"\0"].concat(), "PyTorch legacy format: 1 trailing bytes after the last storage".to_string()),
        (
            [&bytes[..global], b"Counter\n", &bytes[global + 12..]].concat(),
            format!(
                "PyTorch legacy format: the global `collections.Counter` at byte {} is not part of a state dict of \
                 tensors",
                global - 13
            ),
        ),
    ];
    for (contents, problem) in cases {
        std::fs::write(&path, &contents).unwrap();
        let err = load_err(dir.path());
        let prefix = format!("{}: cannot read weights: ", path.display());
        assert!(err.starts_with(&prefix) && err[prefix.len()..].starts_with(&problem), "{err}");
    }
}

#[test]
fn legacy_checkpoint_loads_as_int8_like_the_safetensors_checkpoint() {
    let int8 =
        |dir: &str| tarjim::model::load_model_as(&repo(dir), &Device::Cpu, tarjim::model::Precision::Int8).unwrap().0;
    let want = teacher_forced(&int8("tests/fixtures/tiny"));
    assert_eq!(max_abs_diff(&teacher_forced(&int8("tests/fixtures/tiny-legacy")), &want), 0.0);
}
