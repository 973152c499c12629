//! Archive throughput: `tarjim batch`'s job (pooled, length-sorted batches
//! across documents, atomic writes, manifest) on a generated archive of 1,000
//! short articles with the tiny fixture model, against translating the same
//! documents one at a time (the peer, measured in the same run).
//!
//!     cargo bench --bench batch [-- --docs N --beam N]

mod common;

use std::path::Path;
use std::time::Instant;

use candle_core::Device;
use common::arg;
use tarjim::article::Article;
use tarjim::batch::{Job, OutputFormat, ShardLock, discover};
use tarjim::translate::Translator;

const SENTENCES: [&str; 6] = [
    "قال رئيس الوزراء إن الحكومة ستعلن عن خطة جديدة للاقتصاد الأسبوع المقبل.",
    "وصل وزير الخارجية إلى القاهرة في زيارة رسمية تستمر يومين.",
    "عقد مجلس الأمن جلسة طارئة لبحث الوضع في المنطقة.",
    "ارتفعت أسعار النفط في الأسواق العالمية بعد قرار منظمة أوبك.",
    "أعلنت وزارة الصحة عن تسجيل حالات جديدة في عدة مدن.",
    "قالت الشرطة إن الحادث وقع صباح اليوم ولم يسفر عن إصابات.",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let docs = arg(&args, "--docs", 1000);
    let beam = arg(&args, "--beam", 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("archive");
    for i in 0..docs {
        let sub = input.join(format!("{:02}", i % 50));
        std::fs::create_dir_all(&sub).expect("archive dir");
        let paragraphs: Vec<String> = (0..1 + i % 4)
            .map(|p| {
                (0..1 + (i + p) % 3)
                    .map(|s| SENTENCES[(i * 7 + p * 3 + s) % SENTENCES.len()])
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        std::fs::write(sub.join(format!("{i:05}.txt")), paragraphs.join("\n")).expect("article");
    }
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny");
    let mut translator = Translator::from_dir(&model, &Device::Cpu).expect("tiny model");
    translator.generation_mut().num_beams = beam;
    let documents = discover(&[input]).expect("documents").documents;
    let max = translator.config().max_position_embeddings;

    let start = Instant::now();
    let job = Job {
        output: dir.path().join("out"),
        format: OutputFormat::Text,
        shard: None,
        settings: "bench".into(),
        batch_size: 32,
        pool_sentences: 1024,
        max_tokens: max,
    };
    std::fs::create_dir_all(&job.output).expect("output directory");
    let lock = ShardLock::try_acquire(&job.output, None).expect("shard lock");
    let summary = job.run(&lock, &translator, &documents, &mut |_| {}).expect("batch job");
    let pooled = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut sentences = 0;
    for doc in &documents {
        let text = String::from_utf8(doc.read().expect("read")).expect("UTF-8");
        let article = Article::prepare(&text, max, &|s| translator.tokenizer().encode(s).ids.len());
        let lines: Vec<&str> = article.paragraphs.iter().flat_map(|p| p.sentences.iter().map(String::as_str)).collect();
        sentences += translator.translate(&lines, 32, &mut |_| {}).len();
    }
    let single = start.elapsed().as_secs_f64();
    assert_eq!(sentences, summary.sentences);

    println!("{docs} generated articles, {sentences} sentences, tiny fixture model, beam {beam}");
    println!("{:<28} {:>10} {:>12} {:>9}", "system", "docs/s", "sentences/s", "seconds");
    for (name, secs) in [("tarjim batch (pooled)", pooled), ("one document at a time", single)] {
        println!("{name:<28} {:>10.1} {:>12.1} {secs:>9.2}", docs as f64 / secs, sentences as f64 / secs);
    }
    println!("ratio (pooled / one at a time): {:.2}x", single / pooled);
}
