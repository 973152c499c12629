//! Cross-attention against HF transformers, forced decoding, and source tokens
//! with their spans (for word alignment).

use candle_core::{Device, IndexOp, Tensor};
use tarjim::decoding::forced_attention;
use tarjim::model::{AttentionHead, DecoderCache, MarianMTModel, load_model};

use crate::util::{id_rows, json, max_abs_diff, repo, tensor2};

/// HF's cross-attention probabilities `(layers, batch, heads, tgt_len, src_len)`.
fn reference_attention() -> Tensor {
    let path = repo("tests/fixtures/align/tiny_cross_attentions.safetensors");
    let mut tensors = candle_core::safetensors::load(&path, &Device::Cpu).expect("reference attention");
    tensors.remove("cross_attentions").expect("cross_attentions key")
}

fn tiny() -> MarianMTModel {
    load_model(&repo("tests/fixtures/tiny"), &Device::Cpu).expect("tiny model").0
}

/// The reference batch: source ids, mask, decoder input ids.
fn reference_batch() -> (Tensor, Tensor, Tensor) {
    let reference = json("tests/fixtures/align/tiny_attention.json");
    (
        tensor2(&id_rows(&reference["input_ids"])),
        tensor2(&id_rows(&reference["attention_mask"])),
        tensor2(&id_rows(&reference["decoder_input_ids"])),
    )
}

#[test]
fn cross_attention_matches_transformers_for_every_head() {
    let model = tiny();
    let want = reference_attention();
    let (input_ids, mask, decoder_input_ids) = reference_batch();
    let enc = model.encode(&input_ids, &mask).unwrap();
    let logits = {
        let mut cache = DecoderCache::new(3);
        model.decode(&decoder_input_ids, &enc, &mut cache).unwrap()
    };
    assert_eq!(model.alignment_head(), AttentionHead { layer: 2, head: 0 });
    for layer in 0..3 {
        for head in 0..2 {
            let which = AttentionHead { layer, head };
            let reference = want.i((layer, .., head)).unwrap();
            let mut cache = DecoderCache::new(3);
            let (with_logits, probs) =
                model.decode_with_attention(&decoder_input_ids, &enc, &mut cache, which).unwrap();
            let diff = max_abs_diff(&probs, &reference);
            assert!(diff < 1e-5, "layer {layer} head {head}: attention differs from transformers by {diff}");
            assert_eq!(max_abs_diff(&with_logits, &logits), 0.0, "logits change when attention is returned");
            let forced = model.forced_attention(&decoder_input_ids, &enc, which).unwrap();
            let diff = max_abs_diff(&forced, &reference);
            assert!(diff < 1e-5, "layer {layer} head {head}: forced attention differs from transformers by {diff}");
        }
    }
}

#[test]
fn cached_steps_return_the_teacher_forced_attention() {
    let model = tiny();
    let (input_ids, mask, decoder_input_ids) = reference_batch();
    let enc = model.encode(&input_ids, &mask).unwrap();
    let head = model.alignment_head();
    let full = model.forced_attention(&decoder_input_ids, &enc, head).unwrap();
    let mut cache = DecoderCache::new(3);
    for step in 0..decoder_input_ids.dim(1).unwrap() {
        let input = decoder_input_ids.i((.., step..step + 1)).unwrap();
        let (_, probs) = model.decode_with_attention(&input, &enc, &mut cache, head).unwrap();
        let diff = max_abs_diff(&probs, &full.i((.., step..step + 1, ..)).unwrap());
        assert!(diff < 1e-5, "step {step}: cached attention differs by {diff}");
    }
}

#[test]
fn missing_heads_are_errors() {
    let model = tiny();
    let (input_ids, mask, decoder_input_ids) = reference_batch();
    let enc = model.encode(&input_ids, &mask).unwrap();
    let err = model.forced_attention(&decoder_input_ids, &enc, AttentionHead { layer: 3, head: 0 }).unwrap_err();
    assert!(err.to_string().contains("no cross-attention head 0 in layer 3"), "{err}");
}

#[test]
fn forced_attention_of_a_padded_batch_equals_single_pairs() {
    let model = tiny();
    let reference = json("tests/fixtures/align/tiny_attention.json");
    let masks = id_rows(&reference["attention_mask"]);
    let sources: Vec<Vec<u32>> = id_rows(&reference["input_ids"])
        .into_iter()
        .zip(&masks)
        .map(|(ids, mask)| ids[..mask.iter().filter(|&&m| m == 1).count()].to_vec())
        .collect();
    // Targets of different lengths, one empty.
    let targets: Vec<Vec<u32>> = vec![vec![252, 250, 315], vec![], vec![374, 300, 397, 250, 267, 0], vec![267]];
    let head = model.alignment_head();
    let batch = forced_attention(&model, &sources, &targets, head).unwrap();
    for (i, (source, target)) in sources.iter().zip(&targets).enumerate() {
        let single =
            forced_attention(&model, std::slice::from_ref(source), std::slice::from_ref(target), head).unwrap();
        assert_eq!(batch[i].len(), target.len());
        assert!(batch[i].iter().all(|row| row.len() == source.len()));
        for (a, b) in batch[i].iter().flatten().zip(single[0].iter().flatten()) {
            assert!((a - b).abs() < 1e-5, "pair {i}: {a} vs {b}");
        }
        for row in &batch[i] {
            let sum: f32 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "pair {i}: a row sums to {sum}");
        }
    }
}

#[test]
fn source_tokens_keep_their_pieces_and_tile_the_line() {
    // The tokenizer fixtures (MarianTokenizer's pieces and ids) through
    // `encode_tokens`: the same pieces, and spans that cover the line in order.
    let tiny = repo("tests/fixtures/tiny");
    let ar_fr = repo("../shared/spm/opus-mt-ar-fr");
    let vocab = repo("tests/fixtures/ar-fr-vocab");
    let tokenizers = [
        ("tiny", tarjim::tokenizer::MarianTokenizer::from_dir(&tiny).unwrap()),
        (
            "ar-fr",
            tarjim::tokenizer::MarianTokenizer::from_files(
                &ar_fr.join("source.spm"),
                &ar_fr.join("target.spm"),
                &vocab.join("vocab.json"),
                Some(&vocab.join("tokenizer_config.json")),
            )
            .unwrap(),
        ),
    ];
    for (name, tokenizer) in &tokenizers {
        let fixture = std::fs::read_to_string(repo(&format!("tests/fixtures/tokenizer/{name}-encode.jsonl"))).unwrap();
        for line in fixture.lines() {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = row["text"].as_str().unwrap();
            let tokens = tokenizer.encode_tokens(text);
            let (eos, tokens) = tokens.split_last().unwrap();
            assert_eq!(eos.span, text.len()..text.len());
            let pieces: Vec<&str> = tokens.iter().map(|t| t.piece.as_str()).collect();
            let want: Vec<&str> = row["pieces"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
            assert_eq!(pieces, want, "{text:?}");
            let mut ids: Vec<u32> = tokens.iter().map(|t| t.id).collect();
            ids.push(eos.id);
            assert_eq!(ids, crate::util::ids(&row["ids"]), "{text:?}");
            // Spans follow each other; what lies between them is text the normalizer
            // drops (whitespace, a literal ▁, format characters, U+FFFD).
            let dropped = |gap: &str| {
                gap.chars().all(|c| tokenizer.source_normalizer().normalize(&c.to_string()).text.is_empty())
            };
            let mut at = 0;
            for t in tokens {
                assert!(t.span.start >= at && t.span.start <= t.span.end, "{text:?} {t:?}");
                assert!(text.get(t.span.clone()).is_some(), "{text:?} {t:?}");
                assert!(dropped(&text[at..t.span.start]), "{text:?} {t:?}");
                at = t.span.end;
            }
            assert!(dropped(&text[at..]), "{text:?}");
        }
    }
}
