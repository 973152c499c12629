//! Decoding throughput on the model of opus-mt-ar-en's exact shape (generated
//! weights, see `tarjim::model::generated`): sentences/s and target tokens/s for
//! greedy search and beam 4, at batch 1 and batch 16, over the first FLORES
//! devtest lines as the decoding fixture tokenized them.
//!
//!     cargo bench --bench decode [-- --lines N --threads N]
//!
//! Generation uses the hub's opus-mt settings with the fixture's `max_length`
//! (48), so a random-weight hypothesis that never ends costs what a long
//! sentence does, not 511 steps.

mod common;

use std::time::Instant;

use candle_core::Device;
use common::arg;
use serde_json::Value;
use tarjim::decoding::{GenerationConfig, generate};
use tarjim::model::generated;

const FIXTURE: &str = "tests/fixtures/decoding/exact_shape.json";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let lines = arg(&args, "--lines", 48);
    if let Some(threads) = args.iter().position(|a| a == "--threads").map(|_| arg(&args, "--threads", 0)) {
        // SAFETY: set before candle starts any thread.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("decoding fixture")).expect("fixture JSON");
    let sources: Vec<Vec<u32>> = fixture["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .take(lines)
        .map(|r| r["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect())
        .collect();

    let load = Instant::now();
    let (model, cfg) = generated::exact_shape_model(&Device::Cpu).expect("generated model");
    println!("exact-shape model built in {:.2} s", load.elapsed().as_secs_f64());
    let beam = GenerationConfig::from_json(&fixture["generation_config"].to_string(), &cfg).expect("settings");
    let greedy = GenerationConfig { num_beams: 1, ..beam.clone() };
    let source_tokens: usize = sources.iter().map(Vec::len).sum();
    println!(
        "{} FLORES lines, {source_tokens} source tokens, threads {}",
        sources.len(),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into())
    );
    println!("{:<8} {:>6} {:>10} {:>12} {:>12} {:>9}", "search", "batch", "sent/s", "tokens/s", "tokens", "seconds");
    for (name, settings) in [("greedy", &greedy), ("beam4", &beam)] {
        for batch in [1, 16] {
            let start = Instant::now();
            let mut tokens = 0;
            for chunk in sources.chunks(batch) {
                let hyps = generate(&model, chunk, settings).expect("generate");
                tokens += hyps.iter().map(|h| h.tokens.len()).sum::<usize>();
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{name:<8} {batch:>6} {:>10.2} {:>12.1} {tokens:>12} {secs:>9.2}",
                sources.len() as f64 / secs,
                tokens as f64 / secs
            );
        }
    }
}
