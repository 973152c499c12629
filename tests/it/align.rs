//! Word alignment: cross-attention against HF transformers, forced decoding, and
//! exact alignments from a model whose attention heads are set by hand.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, IndexOp, Tensor};
use tarjim::align::{AlignError, Aligner, Method, Target, pharaoh};
use tarjim::decoding::forced_attention;
use tarjim::model::{AttentionHead, DecoderCache, MarianMTModel, load_model};
use tarjim::translate::Translator;

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
    let tokenizer = tarjim::tokenizer::MarianTokenizer::from_dir(&repo("tests/fixtures/tiny")).unwrap();
    let (input_ids, mask, decoder_input_ids) = reference_batch();
    let enc = model.encode(&input_ids, &mask).unwrap();
    let err = model.forced_attention(&decoder_input_ids, &enc, AttentionHead { layer: 3, head: 0 }).unwrap_err();
    assert!(err.to_string().contains("no cross-attention head 0 in layer 3"), "{err}");
    let err = Aligner::new(&model, &tokenizer, AttentionHead { layer: 0, head: 2 }).unwrap_err();
    assert_eq!(err, AlignError::NoSuchHead { layer: 0, head: 2, layers: 3, heads: 2 });
    assert_eq!(
        err.to_string(),
        "no cross-attention head 2 in decoder layer 0: the model has 3 decoder layers of 2 heads"
    );
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

// ---------------------------------------------------------------------------
// A model whose attention is set by hand
// ---------------------------------------------------------------------------

/// Source and target of the hand-set model, and their tiny-tokenizer pieces:
/// source `▁قال | ▁ رئ يس | ▁ال وز ر اء` (ids 182 2 68 62 4 149 20 34, then 0),
/// target `▁Th e | ▁pri me | ▁minist er | ▁said` (ids 252 250 315 301 287 271 267).
const SOURCE: &str = "قال رئيس الوزراء";
const TARGET: &str = "The prime minister said";
const SOURCE_IDS: [u32; 9] = [182, 2, 68, 62, 4, 149, 20, 34, 0];
/// The decoder start (`<pad>`) and every target token but the last.
const DECODER_INPUT_IDS: [u32; 7] = [492, 252, 250, 315, 301, 287, 271];

const D_MODEL: usize = 64;
const HEAD_DIM: usize = 32;
/// Embedding size: large against the position table, so each token is one direction.
const EMBED: f32 = 1000.0;

/// Source piece each target piece attends to, per (layer, head), with the query
/// scale of each target piece (a smaller scale attends less sharply).
struct Pattern {
    layer: usize,
    head: usize,
    to: [usize; 7],
    scale: [f32; 7],
}

const PATTERNS: [Pattern; 3] = [
    // The alignment head: The → ال, prime → رئيس, minister → الوزراء (less
    // sharply), said → قال.
    Pattern { layer: 1, head: 0, to: [4, 4, 2, 3, 5, 7, 0], scale: [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 1.0] },
    Pattern { layer: 1, head: 1, to: [7, 6, 0, 0, 2, 3, 5], scale: [1.0; 7] },
    Pattern { layer: 0, head: 0, to: [0, 0, 1, 1, 4, 4, 7], scale: [1.0; 7] },
];

/// Writes a checkpoint (the tiny tokenizer, 1 encoder and 2 decoder layers) into
/// `dir` whose cross-attention heads follow [`PATTERNS`]; every other head
/// attends uniformly.
///
/// Token embeddings are one-hot: source token `s` on dimension `s`, the decoder
/// input at position `p` on dimension `32 + p`; attention blocks write nothing
/// (zero output projections) and the feed-forward blocks are zero, so every layer
/// sees these directions (layer-normed). Keys copy dimensions 0..32 into each
/// head; a pattern's query maps dimension `32 + p` to `to[p]` in its head, so
/// decoder position `p` (predicting target piece `p`) attends to source piece
/// `to[p]`, its score ahead of the others by about `11 * scale`.
fn write_hand_set_model(dir: &Path) {
    for name in ["source.spm", "target.spm", "vocab.json", "tokenizer_config.json"] {
        std::fs::copy(repo("tests/fixtures/tiny").join(name), dir.join(name)).unwrap();
    }
    let vocab = 493;
    let config = serde_json::json!({
        "vocab_size": vocab, "d_model": D_MODEL, "encoder_layers": 1, "decoder_layers": 2,
        "encoder_attention_heads": 1, "decoder_attention_heads": 2, "encoder_ffn_dim": 4,
        "decoder_ffn_dim": 4, "activation_function": "relu", "scale_embedding": false,
        "max_position_embeddings": 64, "pad_token_id": 492, "eos_token_id": 0,
        "decoder_start_token_id": 492, "num_beams": 1, "max_length": 16,
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();

    let mut weights = Weights::default();
    let mut shared = vec![0f32; vocab * D_MODEL];
    for (dim, &id) in SOURCE_IDS.iter().enumerate() {
        shared[id as usize * D_MODEL + dim] = EMBED;
    }
    for (p, &id) in DECODER_INPUT_IDS.iter().enumerate() {
        shared[id as usize * D_MODEL + HEAD_DIM + p] = EMBED;
    }
    weights.put("model.shared.weight", &[vocab, D_MODEL], shared);
    let square = vec![0f32; D_MODEL * D_MODEL];
    let encoder = "model.encoder.layers.0";
    weights.attention(&format!("{encoder}.self_attn"), square.clone(), square.clone());
    weights.layer_norm(&format!("{encoder}.self_attn_layer_norm"));
    weights.feed_forward(encoder);
    weights.layer_norm(&format!("{encoder}.final_layer_norm"));
    // Keys: source dimensions 0..32 copied into both heads.
    let mut keys = square.clone();
    for head in 0..2 {
        for dim in 0..HEAD_DIM {
            keys[(head * HEAD_DIM + dim) * D_MODEL + dim] = 1.0;
        }
    }
    for layer in 0..2 {
        let prefix = format!("model.decoder.layers.{layer}");
        let mut queries = square.clone();
        for pattern in PATTERNS.iter().filter(|p| p.layer == layer) {
            for (p, (&to, &scale)) in pattern.to.iter().zip(&pattern.scale).enumerate() {
                queries[(pattern.head * HEAD_DIM + to) * D_MODEL + HEAD_DIM + p] = scale;
            }
        }
        weights.attention(&format!("{prefix}.self_attn"), square.clone(), square.clone());
        weights.layer_norm(&format!("{prefix}.self_attn_layer_norm"));
        weights.attention(&format!("{prefix}.encoder_attn"), queries, keys.clone());
        weights.layer_norm(&format!("{prefix}.encoder_attn_layer_norm"));
        weights.feed_forward(&prefix);
        weights.layer_norm(&format!("{prefix}.final_layer_norm"));
    }
    candle_core::safetensors::save(&weights.0, dir.join("model.safetensors")).unwrap();
}

/// Checkpoint tensors of the hand-set model by name.
#[derive(Default)]
struct Weights(HashMap<String, Tensor>);

impl Weights {
    fn put(&mut self, name: &str, dims: &[usize], values: Vec<f32>) {
        self.0.insert(name.to_string(), Tensor::from_vec(values, dims, &Device::Cpu).unwrap());
    }

    /// An attention block with these query and key weights; values, output and
    /// biases zero.
    fn attention(&mut self, prefix: &str, query: Vec<f32>, key: Vec<f32>) {
        let zeros = vec![0f32; D_MODEL * D_MODEL];
        for (proj, weight) in [("q_proj", query), ("k_proj", key), ("v_proj", zeros.clone()), ("out_proj", zeros)] {
            self.put(&format!("{prefix}.{proj}.weight"), &[D_MODEL, D_MODEL], weight);
            self.put(&format!("{prefix}.{proj}.bias"), &[D_MODEL], vec![0.0; D_MODEL]);
        }
    }

    /// A layer norm that only normalizes.
    fn layer_norm(&mut self, prefix: &str) {
        self.put(&format!("{prefix}.weight"), &[D_MODEL], vec![1.0; D_MODEL]);
        self.put(&format!("{prefix}.bias"), &[D_MODEL], vec![0.0; D_MODEL]);
    }

    /// A feed-forward block (inner size 4) that outputs zero.
    fn feed_forward(&mut self, prefix: &str) {
        self.put(&format!("{prefix}.fc1.weight"), &[4, D_MODEL], vec![0.0; 4 * D_MODEL]);
        self.put(&format!("{prefix}.fc1.bias"), &[4], vec![0.0; 4]);
        self.put(&format!("{prefix}.fc2.weight"), &[D_MODEL, 4], vec![0.0; 4 * D_MODEL]);
        self.put(&format!("{prefix}.fc2.bias"), &[D_MODEL], vec![0.0; D_MODEL]);
    }
}

/// A temporary checkpoint directory holding the hand-set model.
fn hand_set_model() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_hand_set_model(dir.path());
    dir
}

#[test]
fn hand_set_heads_attend_where_they_were_set() {
    let dir = hand_set_model();
    let translator = Translator::from_dir(dir.path(), &Device::Cpu).unwrap();
    let tokenizer = translator.tokenizer();
    assert_eq!(tokenizer.encode(SOURCE).ids, SOURCE_IDS);
    let target = tokenizer.encode_target(TARGET).unwrap();
    assert_eq!(target[..6], DECODER_INPUT_IDS[1..]);
    let sources = vec![SOURCE_IDS.to_vec()];
    for pattern in &PATTERNS {
        let head = AttentionHead { layer: pattern.layer, head: pattern.head };
        let rows = &forced_attention(translator.model(), &sources, std::slice::from_ref(&target), head).unwrap()[0];
        for (p, row) in rows.iter().enumerate() {
            let best = row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap();
            assert_eq!(
                best.0, pattern.to[p],
                "layer {} head {}, target piece {p}: {row:?}",
                pattern.layer, pattern.head
            );
            assert!(*best.1 > if pattern.scale[p] == 1.0 { 0.99 } else { 0.9 }, "{row:?}");
        }
    }
    // The head no pattern sets attends uniformly over the 9 source tokens.
    let rows =
        &forced_attention(translator.model(), &sources, &[target], AttentionHead { layer: 0, head: 1 }).unwrap()[0];
    assert!(rows.iter().flatten().all(|&v| (v - 1.0 / 9.0).abs() < 1e-6), "{rows:?}");
}

#[test]
fn hand_set_model_gives_the_expected_word_alignments() {
    let dir = hand_set_model();
    let translator = Translator::from_dir(dir.path(), &Device::Cpu).unwrap();
    let (model, tokenizer) = (translator.model(), translator.tokenizer());
    let align = |head: AttentionHead| {
        let aligner = Aligner::new(model, tokenizer, head).unwrap();
        aligner.align(&[(SOURCE, Target::Text(TARGET))], 4).pop().unwrap().unwrap()
    };
    let alignment = align(model.alignment_head());
    let words = |words: &[tarjim::align::Word]| -> Vec<(String, Option<std::ops::Range<usize>>)> {
        words.iter().map(|w| (w.text.clone(), w.span.clone())).collect()
    };
    assert_eq!(
        words(&alignment.source_words),
        vec![("قال".into(), Some(0..3)), ("رئيس".into(), Some(4..8)), ("الوزراء".into(), Some(9..16))]
    );
    assert_eq!(
        words(&alignment.target_words),
        vec![
            ("The".into(), Some(0..3)),
            ("prime".into(), Some(4..9)),
            ("minister".into(), Some(10..18)),
            ("said".into(), Some(19..23))
        ]
    );
    let pieces: Vec<_> = alignment.source_words.iter().map(|w| w.pieces.clone()).collect();
    assert_eq!(pieces, vec![0..1, 1..4, 4..8]);
    let pieces: Vec<_> = alignment.target_words.iter().map(|w| w.pieces.clone()).collect();
    assert_eq!(pieces, vec![0..2, 2..4, 4..6, 6..7]);

    assert_eq!(pharaoh(&alignment.pairs(Method::Argmax)), "0-3 1-1 2-0 2-2");
    // Backward, الوزراء goes to "The" (attended more sharply than by "minister").
    assert_eq!(pharaoh(&alignment.pairs(Method::Intersect)), "0-3 1-1 2-0");
    assert_eq!(pharaoh(&alignment.pairs(Method::threshold(0.5).unwrap())), "0-3 1-1 2-0 2-2");
    assert_eq!(pharaoh(&alignment.pairs(Method::threshold(0.0).unwrap())).split(' ').count(), 12);

    let other = align(AttentionHead { layer: 1, head: 1 });
    assert_eq!(pharaoh(&other.pairs(Method::Argmax)), "0-1 1-2 2-0 2-3");
    let first_layer = align(AttentionHead { layer: 0, head: 0 });
    assert_eq!(pharaoh(&first_layer.pairs(Method::Argmax)), "0-0 1-1 2-2 2-3");
}

#[test]
fn generated_and_given_targets_align_alike() {
    // On the tiny model: a translation aligned from its generated ids, and the same
    // text given as a target, when the target model tokenizes it into those ids.
    let translator = Translator::from_dir(&repo("tests/fixtures/tiny"), &Device::Cpu).unwrap();
    let fixture = json("tests/fixtures/decoding/tiny_generate.json");
    let case = fixture["cases"].as_array().unwrap().iter().find(|c| c["name"] == "beam_default").unwrap();
    let sources: Vec<&str> = case["sources"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let translations = translator.translate(&sources, 8, &mut |_| {});
    let aligner =
        Aligner::new(translator.model(), translator.tokenizer(), translator.model().alignment_head()).unwrap();
    let mut compared = 0;
    for (source, translation) in sources.iter().zip(&translations) {
        let t = translation.as_ref().unwrap();
        let generated = Target::Generated { ids: &t.target_ids, text: &t.text };
        let a = aligner.align(&[(source, generated)], 1).pop().unwrap().unwrap();
        assert_eq!(a.target_words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "), t.text);
        assert!(a.target_words.iter().all(|w| w.span.is_some()));
        let mut ids: Vec<u32> = translator.tokenizer().encode_target_tokens(&t.text).iter().map(|t| t.id).collect();
        ids.push(0);
        if ids == t.target_ids {
            let b = aligner.align(&[(source, Target::Text(&t.text))], 1).pop().unwrap().unwrap();
            assert_eq!(a, b, "{source}");
            compared += 1;
        }
    }
    assert!(compared > 0, "no translation tokenizes back into its generated ids");
}

#[test]
fn lines_too_long_fail_alone() {
    let model = tiny();
    let tokenizer = tarjim::tokenizer::MarianTokenizer::from_dir(&repo("tests/fixtures/tiny")).unwrap();
    let aligner = Aligner::new(&model, &tokenizer, model.alignment_head()).unwrap();
    let long = "قال ".repeat(300);
    let results =
        aligner.align(&[(&long, Target::Text("a")), (SOURCE, Target::Text(TARGET)), ("", Target::Text(""))], 8);
    assert_eq!(results[0], Err(AlignError::Decode("source has 301 tokens, the model accepts at most 256".into())));
    assert_eq!(results[1].as_ref().unwrap().pairs(Method::Argmax).len(), 4);
    let empty = results[2].as_ref().unwrap();
    assert!(empty.source_words.is_empty() && empty.target_words.is_empty());
}

// ---------------------------------------------------------------------------
// The `align` command
// ---------------------------------------------------------------------------

/// Runs `tarjim align --model DIR --target TARGETS SOURCES ARGS` on files written
/// into a temporary directory.
fn align_given(model: &Path, sources: &str, targets: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let (source_path, target_path) = (dir.path().join("source.txt"), dir.path().join("target.txt"));
    std::fs::write(&source_path, sources).unwrap();
    std::fs::write(&target_path, targets).unwrap();
    let mut all = vec![
        "align",
        "--model",
        model.to_str().unwrap(),
        "--target",
        target_path.to_str().unwrap(),
        source_path.to_str().unwrap(),
    ];
    all.extend(args);
    crate::util::tarjim(&all, b"")
}

#[test]
fn align_command_prints_pharaoh_pairs_of_given_targets() {
    let dir = hand_set_model();
    let sources = format!("{SOURCE}\n\n{SOURCE}\n");
    let targets = format!("{TARGET}\n\n{TARGET}\n");
    for (args, want) in [
        (&[][..], "0-3 1-1 2-0 2-2"),
        (&["--method", "intersect"][..], "0-3 1-1 2-0"),
        (&["--threshold", "0.5"][..], "0-3 1-1 2-0 2-2"),
        (&["--method", "threshold", "--threshold", "0.5"][..], "0-3 1-1 2-0 2-2"),
        (&["--head", "1"][..], "0-1 1-2 2-0 2-3"),
        (&["--layer", "0"][..], "0-0 1-1 2-2 2-3"),
        (&["--layer", "1", "--head", "0", "--method", "argmax", "--batch-size", "1"][..], "0-3 1-1 2-0 2-2"),
    ] {
        let out = align_given(dir.path(), &sources, &targets, args);
        assert_eq!(crate::util::text(&out.stderr), "", "{args:?}");
        assert_eq!(crate::util::text(&out.stdout), format!("{want}\n\n{want}\n"), "{args:?}");
        assert!(out.status.success());
    }
}

#[test]
fn align_command_writes_words_with_character_spans_as_json() {
    let dir = hand_set_model();
    let out = align_given(dir.path(), &format!("  {SOURCE}\n"), &format!("{TARGET} \n"), &["--format", "json"]);
    assert!(out.status.success(), "{}", crate::util::text(&out.stderr));
    let mut got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = got.as_object_mut().unwrap().remove("file").unwrap();
    assert!(file.as_str().unwrap().ends_with("source.txt"), "{file}");
    let want = serde_json::json!({
        "line": 1, "source": format!("  {SOURCE}"), "target": format!("{TARGET} "),
        "source_words": [
            {"text": "قال", "span": [2, 5]}, {"text": "رئيس", "span": [6, 10]}, {"text": "الوزراء", "span": [11, 18]}
        ],
        "target_words": [
            {"text": "The", "span": [0, 3]}, {"text": "prime", "span": [4, 9]},
            {"text": "minister", "span": [10, 18]}, {"text": "said", "span": [19, 23]}
        ],
        "pairs": [[0, 3], [1, 1], [2, 0], [2, 2]],
    });
    assert_eq!(got, want);
}

#[test]
fn align_command_errors() {
    let dir = hand_set_model();
    let model = dir.path();
    let out = align_given(model, &format!("{SOURCE}\n{SOURCE}\n"), &format!("{TARGET}\n"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = crate::util::text(&out.stderr);
    let target = stderr.strip_prefix("tarjim: ").and_then(|s| s.strip_suffix(": 1 target lines for 2 source lines\n"));
    assert!(target.is_some_and(|t| t.ends_with("/target.txt")), "{stderr}");
    assert_eq!(crate::util::text(&out.stdout), "");
    for (args, message) in [
        (
            &["--layer", "2"][..],
            "no cross-attention head 0 in decoder layer 2: the model has 2 decoder layers of 2 heads",
        ),
        (
            &["--head", "2"][..],
            "no cross-attention head 2 in decoder layer 1: the model has 2 decoder layers of 2 heads",
        ),
        (&["--method", "threshold"][..], "--method threshold needs --threshold T"),
        (&["--method", "intersect", "--threshold", "0.2"][..], "--threshold applies to --method threshold only"),
        (&["--threshold", "1.5"][..], "threshold 1.5 is not between 0 and 1"),
    ] {
        let out = align_given(model, &format!("{SOURCE}\n"), &format!("{TARGET}\n"), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(crate::util::text(&out.stderr), format!("tarjim: {message}\n"), "{args:?}");
    }
    // A target line that is not UTF-8 fails alone.
    let dir2 = tempfile::tempdir().unwrap();
    let (sources, targets) = (dir2.path().join("s.txt"), dir2.path().join("t.txt"));
    std::fs::write(&sources, format!("{SOURCE}\n{SOURCE}\n")).unwrap();
    std::fs::write(&targets, [b"\xff\n".as_slice(), TARGET.as_bytes(), b"\n"].concat()).unwrap();
    let out = crate::util::tarjim(
        &[
            "align",
            "--model",
            model.to_str().unwrap(),
            "--target",
            targets.to_str().unwrap(),
            sources.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(crate::util::text(&out.stderr), format!("{}:1: target: invalid UTF-8 at byte 0\n", sources.display()));
    assert_eq!(crate::util::text(&out.stdout), "\n0-3 1-1 2-0 2-2\n");
}

#[test]
fn align_command_aligns_the_translation_translate_prints() {
    // The tiny model's beam-4 translations as HF generated them: the command's
    // targets must be those texts, and its pairs those of forcing HF's token ids.
    let fixture = json("tests/fixtures/decoding/tiny_generate.json");
    let translator = Translator::from_dir(&repo("tests/fixtures/tiny"), &Device::Cpu).unwrap();
    let aligner =
        Aligner::new(translator.model(), translator.tokenizer(), translator.model().alignment_head()).unwrap();
    let pad = translator.tokenizer().pad_id();
    let mut input = String::new();
    let mut want = Vec::new();
    for case in fixture["cases"].as_array().unwrap().iter().filter(|c| c["name"] == "beam_default") {
        let sequences = id_rows(&case["sequences"]);
        for ((source, translation), sequence) in
            case["sources"].as_array().unwrap().iter().zip(case["translations"].as_array().unwrap()).zip(&sequences)
        {
            let (source, translation) = (source.as_str().unwrap(), translation.as_str().unwrap());
            input.push_str(source);
            input.push('\n');
            let ids = crate::util::generated(sequence, pad);
            let target = Target::Generated { ids: &ids, text: translation };
            let alignment = aligner.align(&[(source, target)], 1).pop().unwrap().unwrap();
            want.push((translation.to_string(), alignment.pairs(Method::Argmax)));
        }
    }
    let out = crate::util::tarjim(
        &["align", "--no-split", "--model", repo("tests/fixtures/tiny").to_str().unwrap(), "--format", "json"],
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", crate::util::text(&out.stderr));
    let lines: Vec<serde_json::Value> =
        crate::util::text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), want.len());
    for (line, (translation, pairs)) in lines.iter().zip(&want) {
        assert_eq!(line["target"], translation.as_str());
        let got: Vec<(usize, usize)> = line["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_u64().unwrap() as usize, p[1].as_u64().unwrap() as usize))
            .collect();
        assert_eq!(&got, pairs, "{translation}");
    }
    let out = crate::util::tarjim(
        &["align", "--no-split", "--model", repo("tests/fixtures/tiny").to_str().unwrap()],
        input.as_bytes(),
    );
    let pharaoh_lines: Vec<String> = want.iter().map(|(_, pairs)| pharaoh(pairs)).collect();
    assert_eq!(crate::util::text(&out.stdout), pharaoh_lines.join("\n") + "\n");
}

#[test]
fn source_tokens_keep_their_pieces_and_tile_the_line() {
    // The tokenizer fixtures (MarianTokenizer's pieces and ids) through
    // `encode_tokens`: the same pieces, and spans that cover the line in order.
    let tiny = repo("tests/fixtures/tiny");
    let ar_fr = repo("data/spm/opus-mt-ar-fr");
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
