//! `tarjim batch`: archives in, one translated article per document out.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tarjim::batch::{self, BatchError, Event, FileDigests, Job, OutputFormat, ShardLock};
use tarjim::decoding::GENERATION_CONFIG_FILE;
use tarjim::glossary::BUILTIN;
use tarjim::hash::sha256_hex;
use tarjim::model::{CONFIG_FILE, PYTORCH_FILE, SAFETENSORS_FILE};
use tarjim::tokenizer::{SOURCE_SPM_FILE, TARGET_SPM_FILE, TOKENIZER_CONFIG_FILE, VOCAB_FILE};

use super::{DecodeArgs, EXIT_TERMS_MISSED, GlossaryOptions, ModeArg, ModelArgs, load_translator};

/// How often plain progress lines are printed when stderr is not a terminal.
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// The files of a model directory that change outputs, hashed whole into the
/// settings digest when present: configs, vocabularies, weights of every format.
const MODEL_FILES: [&str; 8] = [
    CONFIG_FILE,
    GENERATION_CONFIG_FILE,
    TOKENIZER_CONFIG_FILE,
    VOCAB_FILE,
    SOURCE_SPM_FILE,
    TARGET_SPM_FILE,
    SAFETENSORS_FILE,
    PYTORCH_FILE,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BatchFormat {
    /// `NAME.en.txt`, one line per paragraph.
    Text,
    /// `NAME.en.jsonl`: paragraphs with each sentence's source and translation.
    Jsonl,
    /// `NAME.en.tmx`: a TMX 1.4b memory, one unit per sentence, with its glossary terms.
    Tmx,
}

#[derive(Args)]
pub(super) struct BatchArgs {
    /// Directories (read recursively), `.jsonl` files of `{"id", "text"}`
    /// documents, or single files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output directory (mirrors the inputs; job state in `.tarjim/`).
    #[arg(long, short)]
    output: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BatchFormat::Text)]
    format: BatchFormat,
    /// Translate only shard K of N (0-based; documents are assigned by a stable
    /// hash of their id), e.g. a Kubernetes Indexed Job's completion index.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// List what would be translated, and stop.
    #[arg(long)]
    dry_run: bool,
    /// When another run holds this shard of the output directory, wait for it
    /// to finish (then skip what it did) instead of stopping with exit code 2.
    #[arg(long)]
    wait: bool,
    /// Sentences pooled across documents before translating (larger pools sort
    /// better by length).
    #[arg(long, default_value_t = 512)]
    pool: usize,
    /// Longest sentence in tokens; longer ones are split at commas, then spaces
    /// (default: the model's position limit).
    #[arg(long)]
    max_tokens: Option<usize>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    decode: DecodeArgs,
    #[command(flatten)]
    glossary: GlossaryOptions,
}

/// A digest of everything that changes a document's output: every model
/// file's content, the effective decoding settings, precision, the glossaries'
/// content and mode, the output format and the sentence length limit.
fn settings_digest(
    args: &BatchArgs,
    model_dir: &Path,
    translator: &tarjim::translate::Translator,
    max_tokens: usize,
    digests: &mut FileDigests,
) -> anyhow::Result<String> {
    let mut model = serde_json::Map::new();
    for name in MODEL_FILES {
        let path = model_dir.join(name);
        if path.is_file() {
            model.insert(name.to_string(), json!(digests.sha256(&path)?));
        }
    }
    let mut glossaries = Vec::new();
    if args.glossary.glossary_mode != ModeArg::Off {
        if !args.glossary.no_builtin_glossary {
            glossaries.push(sha256_hex(BUILTIN.as_bytes()));
        }
        for path in &args.glossary.glossaries {
            glossaries.push(sha256_hex(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?));
        }
    }
    let settings = json!({
        "tarjim": env!("CARGO_PKG_VERSION"),
        "model": model,
        "generation": format!("{:?}", translator.generation()),
        "int8": translator.model().is_int8(),
        "glossary_mode": format!("{:?}", args.glossary.glossary_mode),
        "glossaries": glossaries,
        "format": format!("{:?}", args.format),
        "max_tokens": max_tokens,
    });
    Ok(sha256_hex(settings.to_string().as_bytes()))
}

/// Takes the lock of the job's shard: when another run holds it, stops
/// naming the holder, or with `wait` says so and waits.
fn lock_shard(output: &Path, shard: Option<(u32, u32)>, wait: bool) -> anyhow::Result<ShardLock> {
    match ShardLock::try_acquire(output, shard) {
        Err(busy @ BatchError::Busy { .. }) if wait => {
            eprintln!("tarjim: {busy}; waiting for it to finish");
            Ok(ShardLock::acquire(output, shard)?)
        }
        Err(busy @ BatchError::Busy { .. }) => anyhow::bail!("{busy}; --wait waits for it"),
        taken => Ok(taken?),
    }
}

pub(super) fn run(args: BatchArgs) -> anyhow::Result<ExitCode> {
    let shard = args.shard.as_deref().map(batch::parse_shard).transpose()?;
    let discovery = batch::discover(&args.inputs)?;
    // Each shard worker reports its share of what was skipped; a bad line or
    // an unreadable entry may be a lost document and counts as a failure.
    let mut input_failures = 0;
    for notice in discovery.notices.iter().filter(|n| shard.is_none_or(|(k, count)| n.shard(count) == k)) {
        eprintln!("{notice}");
        input_failures += usize::from(notice.is_failure());
    }
    let docs = discovery.documents;
    batch::prepare_output(&args.inputs, &args.output)?;
    // Taken before the model loads, so that a second run on the shard stops at
    // once. A dry run writes nothing and needs none.
    let lock = if args.dry_run { None } else { Some(lock_shard(&args.output, shard, args.wait)?) };
    let (translator, model_dir) = load_translator(&args.model, &args.decode, Some(&args.glossary))?;
    let max_positions = translator.config().max_position_embeddings;
    let max_tokens = args.max_tokens.unwrap_or(max_positions).clamp(1, max_positions);
    let mut digests = FileDigests::load(&args.output);
    let settings = settings_digest(&args, &model_dir, &translator, max_tokens, &mut digests)?;
    if !digests.hashed().is_empty() {
        let names: Vec<String> = digests
            .hashed()
            .iter()
            .map(|(path, _)| path.file_name().unwrap_or_default().to_string_lossy().into())
            .collect();
        let bytes: u64 = digests.hashed().iter().map(|(_, size)| size).sum();
        eprintln!("tarjim: hashed {} ({:.1} MB) for the settings digest", names.join(", "), bytes as f64 / 1e6);
    }
    if let Some(lock) = &lock {
        digests.save(lock)?;
    }
    let job = Job {
        output: args.output.clone(),
        format: match args.format {
            BatchFormat::Text => OutputFormat::Text,
            BatchFormat::Jsonl => OutputFormat::Jsonl,
            BatchFormat::Tmx => OutputFormat::Tmx,
        },
        shard,
        settings,
        batch_size: args.decode.batch_size,
        pool_sentences: args.pool.max(1),
        max_tokens,
    };

    let terminal = std::io::stderr().is_terminal();
    let bar = ProgressBar::hidden();
    let start = Instant::now();
    let mut last_line = Instant::now();
    let (mut finished, mut sentences, mut total) = (0usize, 0usize, 0usize);
    // The first failed write of the dry-run listing, reported once the run ends.
    let mut stdout_error: Option<std::io::Error> = None;
    let mut on_event = |event: Event| match event {
        Event::Planned { total: t, done } => {
            total = t - done;
            if terminal && !args.dry_run {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                bar.set_length(total as u64);
                bar.set_style(
                    ProgressStyle::with_template("{bar:30} {pos}/{len} documents, {msg}, eta {eta}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
            }
            eprintln!("tarjim: {t} documents in this shard, {done} already done, {total} to translate");
        }
        Event::Finished { sentences: n, .. } => {
            finished += 1;
            sentences += n;
            let rate = sentences as f64 / start.elapsed().as_secs_f64().max(1e-9);
            if terminal {
                bar.set_message(format!("{sentences} sentences, {rate:.1} sentences/s"));
                bar.inc(1);
            } else if last_line.elapsed() >= PLAIN_PROGRESS_EVERY {
                last_line = Instant::now();
                eprintln!("tarjim: {finished}/{total} documents, {sentences} sentences, {rate:.1} sentences/s");
            }
        }
        Event::Failed { id, problem } => bar.suspend(|| eprintln!("{id}: {problem}")),
        Event::WouldTranslate { id, output } => {
            if stdout_error.is_none()
                && let Err(err) = writeln!(std::io::stdout(), "{id}\t{}", output.display())
            {
                stdout_error = Some(err);
            }
        }
    };
    let summary = match &lock {
        Some(lock) => job.run(lock, &translator, &docs, &mut on_event)?,
        None => job.dry_run(&docs, &mut on_event)?,
    };
    if let Some(err) = stdout_error {
        return Err(super::stdout_failed(err));
    }
    bar.finish_and_clear();
    if !args.dry_run {
        if !summary.removed.is_empty() {
            let removed: Vec<String> = summary.removed.iter().map(|(rule, n)| format!("{rule} {n}")).collect();
            eprintln!("tarjim: removed from articles: {}", removed.join(", "));
        }
        eprintln!(
            "tarjim: {} documents translated, {} already done, {} failed; {} sentences; {} glossary terms enforced, {} missed; {:.1} s",
            summary.translated,
            summary.skipped,
            summary.failed + input_failures,
            summary.sentences,
            summary.terms,
            summary.missed_terms,
            summary.time.as_secs_f64()
        );
    }
    Ok(if summary.failed + input_failures > 0 {
        ExitCode::from(1)
    } else if summary.missed_terms > 0 && args.glossary.glossary_mode == ModeArg::Constrain {
        ExitCode::from(EXIT_TERMS_MISSED)
    } else {
        ExitCode::SUCCESS
    })
}
