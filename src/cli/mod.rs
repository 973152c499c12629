//! Argument parsing and the subcommands.

mod align;
mod batch;
mod glossary;
mod stream;
mod translate;
mod xliff;

use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use candle_core::Device;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tarjim::align::{AlignError, Aligner, Alignment, Method, Target};
use tarjim::glossary::Glossary;
use tarjim::hub::{self, HubConfig, Manifest, ModelSpec, Need};
use tarjim::tokenizer::MarianTokenizer;
use tarjim::translate::{GlossaryMode, LineError, LineTranslation, Terms, Translator};

/// Lines handed to the translator at a time from a file (stdin goes in
/// smaller chunks as it arrives): output streams chunk by chunk.
const CHUNK_LINES: usize = 256;

#[derive(Parser)]
#[command(name = "tarjim", version, about = "Arabic news to English with MarianMT on candle")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Translate lines from files (or stdin): one output line per input line.
    Translate(translate::TranslateArgs),
    /// Translate archives: directories or JSON-lines files of articles, one
    /// translated article per document, resumable and shardable.
    Batch(batch::BatchArgs),
    /// Print the source pieces and ids of each line, as MarianTokenizer gives them.
    Tokenize(TokenizeArgs),
    /// Print a model's architecture and its files' sizes and SHA-256 as JSON
    /// (the `sha256` object is what `models/manifest.json` records).
    ModelInfo(ModelInfoArgs),
    /// Word alignments of translations (from the cross-attention), one line per input line.
    Align(align::AlignArgs),
    /// Check, convert and edit glossary files.
    Glossary(glossary::GlossaryArgs),
    /// Pre-translate XLIFF 1.2 and 2.x files: fill their empty targets, marked
    /// as machine translation, and leave every other byte as it was.
    Xliff(xliff::XliffArgs),
}

#[derive(Args)]
struct ModelInfoArgs {
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(Args)]
struct ModelArgs {
    /// Local checkpoint directory, or hub repository `owner/name[@revision]`.
    #[arg(long, default_value = hub::DEFAULT_MODEL)]
    model: String,
    /// Use only the hub cache, never the network (also `HF_HUB_OFFLINE=1`).
    #[arg(long)]
    offline: bool,
}

impl ModelArgs {
    fn resolve(&self, need: Need) -> anyhow::Result<PathBuf> {
        let spec = ModelSpec::parse(&self.model)?;
        let config = HubConfig::from_env(self.offline)?;
        let mut progress = DownloadProgress::new(&self.model);
        Ok(hub::resolve(&spec, &Manifest::builtin(), need, &config, &mut |event| progress.show(event))?)
    }
}

/// Shows hub downloads on stderr: a progress bar per file on a terminal,
/// otherwise a line when each file starts and one when it is done.
struct DownloadProgress {
    model: String,
    terminal: bool,
    bar: Option<ProgressBar>,
}

impl DownloadProgress {
    fn new(model: &str) -> DownloadProgress {
        DownloadProgress { model: model.to_string(), terminal: std::io::stderr().is_terminal(), bar: None }
    }

    fn show(&mut self, event: hub::Event) {
        let size = |bytes: u64| match bytes {
            0..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
            _ => format!("{:.1} MB", bytes as f64 / 1e6),
        };
        match event {
            hub::Event::Started { file, done, total } => {
                if self.terminal {
                    let bar = ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr())
                        .with_finish(indicatif::ProgressFinish::AndClear);
                    bar.set_style(
                        ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}, eta {eta}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar.set_message(format!("{} {file}", self.model));
                    bar.set_position(done);
                    bar.reset_eta();
                    self.bar = Some(bar);
                } else {
                    let resumed = if done > 0 { format!(", resuming at {}", size(done)) } else { String::new() };
                    eprintln!("tarjim: downloading {} {file} ({}){resumed}", self.model, size(total));
                }
            }
            hub::Event::Progress { done, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(done);
                }
            }
            hub::Event::Finished { file, total } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                eprintln!("tarjim: downloaded {} {file} ({})", self.model, size(total));
            }
        }
    }
}

/// Decoding options shared by the commands that translate.
#[derive(Args)]
struct DecodeArgs {
    /// Beam width (default: the checkpoint's generation config; 1 is greedy; at
    /// most half the model's target vocabulary).
    #[arg(long)]
    beam: Option<usize>,
    /// Longest output in tokens, decoder start included (default: the checkpoint's;
    /// lowered with a warning to max_position_embeddings + 1).
    #[arg(long)]
    max_length: Option<usize>,
    /// Sentences per model call.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Compute threads (default: every core; at most 1024).
    #[arg(long)]
    threads: Option<usize>,
    /// Weights to compute with: f32 as stored, or int8 (quantized per row at load,
    /// CPU only; faster, and outputs may differ slightly from f32).
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    precision: Precision,
}

/// `--precision` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Precision {
    F32,
    Int8,
}

/// Glossary options shared by the commands that translate.
#[derive(Args)]
struct GlossaryOptions {
    /// A glossary file (TSV: arabic, english, kind, variants, note) stacked on the
    /// built-in one; repeatable, later files win.
    #[arg(long = "glossary", value_name = "FILE")]
    glossaries: Vec<PathBuf>,
    /// Leave the built-in glossary out.
    #[arg(long)]
    no_builtin_glossary: bool,
    /// constrain: every term found is written as the glossary says; report: terms
    /// are found and reported but decoding is left alone; off: no glossary.
    #[arg(long, value_enum, default_value_t = ModeArg::Constrain)]
    glossary_mode: ModeArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    Constrain,
    Report,
    Off,
}

/// Exit code when every line was translated but some glossary term is missing.
const EXIT_TERMS_MISSED: u8 = 3;

/// Output could not be written to stdout (a full disk, a closed pipe). The run
/// stops there with exit code 2: nothing more can be output.
fn stdout_failed(err: std::io::Error) -> anyhow::Error {
    anyhow::anyhow!("stdout: cannot write: {err}")
}

/// Loads the built-in glossary (unless `no_builtin`) with `files` stacked on it;
/// warnings go to stderr.
fn load_glossary(files: &[PathBuf], no_builtin: bool) -> anyhow::Result<Glossary> {
    let mut warnings = Vec::new();
    let mut glossary = if no_builtin {
        Glossary::new()
    } else {
        let (glossary, builtin_warnings) = Glossary::builtin()?;
        warnings.extend(builtin_warnings);
        glossary
    };
    for path in files {
        warnings.extend(glossary.add_file(path)?);
    }
    for warning in warnings {
        eprintln!("tarjim: warning: {warning}");
    }
    Ok(glossary)
}

/// Loads the glossaries the options ask for; warnings go to stderr.
fn load_terms(args: &GlossaryOptions) -> anyhow::Result<Option<Terms>> {
    let mode = match args.glossary_mode {
        ModeArg::Off => return Ok(None),
        ModeArg::Constrain => GlossaryMode::Constrain,
        ModeArg::Report => GlossaryMode::Report,
    };
    Ok(Some(Terms::new(load_glossary(&args.glossaries, args.no_builtin_glossary)?, mode)))
}

#[derive(Args)]
struct TokenizeArgs {
    /// Input files; stdin when none.
    files: Vec<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
}

/// Runs the command line; `Err` means nothing could be done (exit code 2).
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Translate(args) => translate::translate(args),
        Command::Batch(args) => batch::run(args),
        Command::Tokenize(args) => tokenize(args),
        Command::ModelInfo(args) => model_info(args),
        Command::Align(args) => align::align(args),
        Command::Glossary(args) => glossary::run(args),
        Command::Xliff(args) => xliff::run(args),
    }
}

/// One input: its name for messages and its lines, each valid UTF-8 or the
/// reason it is not.
struct Input {
    name: String,
    lines: Vec<Result<String, String>>,
}

/// Reads the inputs (stdin when `files` is empty). A file that cannot be read is
/// reported on stderr and skipped; the flag says whether that happened.
fn read_inputs(files: &[PathBuf]) -> (Vec<Input>, bool) {
    if files.is_empty() {
        let mut bytes = Vec::new();
        return match std::io::stdin().lock().read_to_end(&mut bytes) {
            Ok(_) => (vec![Input { name: "<stdin>".into(), lines: split_lines(&bytes) }], false),
            Err(err) => {
                eprintln!("<stdin>: cannot read: {err}");
                (Vec::new(), true)
            }
        };
    }
    let mut inputs = Vec::new();
    let mut failed = false;
    for path in files {
        match std::fs::read(path) {
            Ok(bytes) => inputs.push(Input { name: path.display().to_string(), lines: split_lines(&bytes) }),
            Err(err) => {
                eprintln!("{}: cannot read: {err}", path.display());
                failed = true;
            }
        }
    }
    (inputs, failed)
}

/// Splits on `\n` (a `\r` before it is dropped; a final newline ends the last
/// line rather than starting an empty one) and checks each line's UTF-8.
fn split_lines(bytes: &[u8]) -> Vec<Result<String, String>> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    body.split(|&b| b == b'\n').map(|line| check_line(line.strip_suffix(b"\r").unwrap_or(line))).collect()
}

/// One line's text, or why it is not valid UTF-8.
fn check_line(line: &[u8]) -> Result<String, String> {
    String::from_utf8(line.to_vec()).map_err(|e| format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()))
}

/// Most compute threads `--threads` accepts.
const MAX_THREADS: usize = 1024;

fn set_threads(threads: Option<usize>) -> anyhow::Result<()> {
    if let Some(n) = threads {
        anyhow::ensure!(n > 0, "--threads must be at least 1");
        anyhow::ensure!(n <= MAX_THREADS, "--threads {n} is more than {MAX_THREADS}");
        // SAFETY: called before any other thread exists; candle's CPU kernels read
        // this variable for their thread count.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
    }
    Ok(())
}

fn device() -> Device {
    #[cfg(feature = "cuda")]
    if let Ok(device) = Device::new_cuda(0) {
        return device;
    }
    #[cfg(feature = "metal")]
    if let Ok(device) = Device::new_metal(0) {
        return device;
    }
    Device::Cpu
}

/// A translator as the options ask for it: the model, decoding settings and,
/// when given, the glossary options. Also returns the model directory.
fn load_translator(
    model: &ModelArgs,
    decode: &DecodeArgs,
    glossary: Option<&GlossaryOptions>,
) -> anyhow::Result<(Translator, PathBuf)> {
    set_threads(decode.threads)?;
    anyhow::ensure!(decode.batch_size > 0, "--batch-size must be at least 1");
    let terms = glossary.map(load_terms).transpose()?.flatten();
    let dir = model.resolve(Need::Model)?;
    let precision = match decode.precision {
        Precision::F32 => tarjim::model::Precision::F32,
        Precision::Int8 => tarjim::model::Precision::Int8,
    };
    // Load errors name the file at fault.
    let mut translator = Translator::from_dir_as(&dir, &device(), precision)?;
    translator.set_terms(terms);
    let mut generation = translator.generation().clone();
    if let Some(beam) = decode.beam {
        anyhow::ensure!(beam > 0, "--beam must be at least 1");
        let vocab = translator.config().target_vocab_size();
        let most = tarjim::decoding::max_beams(vocab);
        anyhow::ensure!(
            beam <= most,
            "--beam {beam} is more than this model allows: at most {most} (each step ranks 2 × beam continuations, \
             and the model has {vocab} target ids)"
        );
        generation.num_beams = beam;
    }
    if let Some(max_length) = decode.max_length {
        anyhow::ensure!(max_length >= 2, "--max-length must be at least 2");
        generation.max_length = max_length;
    }
    if let Some(warning) = translator.set_generation(generation)? {
        eprintln!("tarjim: warning: {warning}");
    }
    Ok((translator, dir))
}

/// Aligns each translated line with its translation, sentence by sentence
/// (forcing the generated ids), joins the sentences' alignments into the
/// line's, and checks the line's placed terms against it. Returns one entry per
/// result: `None` for a line that was not translated.
fn align_lines(
    aligner: &Aligner,
    texts: &[&str],
    results: &mut [Result<LineTranslation, LineError>],
    batch_size: usize,
) -> Vec<Option<Result<Alignment, AlignError>>> {
    let aligned = {
        let sentences: Vec<(&str, Target)> = texts
            .iter()
            .zip(results.iter())
            .filter_map(|(line, r)| r.as_ref().ok().map(|t| (*line, t)))
            .flat_map(|(line, t)| {
                t.sentences.iter().map(move |s| {
                    let target = Target::Generated { ids: &s.translation.target_ids, text: &s.translation.text };
                    (char_slice(line, &s.source_span), target)
                })
            })
            .collect();
        aligner.align(&sentences, batch_size)
    };
    let mut aligned = aligned.into_iter();
    results
        .iter_mut()
        .map(|result| {
            let translation = result.as_mut().ok()?;
            let parts: Vec<Result<Alignment, AlignError>> =
                aligned.by_ref().take(translation.sentences.len()).collect();
            let parts: Result<Vec<(Alignment, usize, usize)>, AlignError> = parts
                .into_iter()
                .zip(&translation.sentences)
                .map(|(part, s)| part.map(|a| (a, s.source_span.start, s.target_span.start)))
                .collect();
            Some(parts.map(|parts| {
                let alignment = Alignment::concat(parts);
                translation.check_alignment(&alignment, &alignment.pairs(Method::Argmax));
                alignment
            }))
        })
        .collect()
}

/// The characters `span` of `text`.
fn char_slice<'a>(text: &'a str, span: &std::ops::Range<usize>) -> &'a str {
    let mut bounds = text.char_indices().map(|(i, _)| i).chain(std::iter::once(text.len()));
    let start = bounds.nth(span.start).unwrap_or(text.len());
    let end = if span.is_empty() { start } else { bounds.nth(span.len() - 1).unwrap_or(text.len()) };
    &text[start..end]
}

fn tokenize(args: TokenizeArgs) -> anyhow::Result<ExitCode> {
    let dir = args.model.resolve(Need::Tokenizer)?;
    let tokenizer = MarianTokenizer::from_dir(&dir)?;
    let (inputs, mut failed) = read_inputs(&args.files);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for input in &inputs {
        for (i, line) in input.lines.iter().enumerate() {
            match line {
                Ok(text) => {
                    let enc = tokenizer.encode(text);
                    writeln!(out, "{}", json!({"pieces": enc.pieces, "ids": enc.ids})).map_err(stdout_failed)?;
                }
                Err(problem) => {
                    failed = true;
                    eprintln!("{}:{}: {problem}", input.name, i + 1);
                    writeln!(out, "{}", json!({"error": problem})).map_err(stdout_failed)?;
                }
            }
        }
    }
    out.flush().map_err(stdout_failed)?;
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn model_info(args: ModelInfoArgs) -> anyhow::Result<ExitCode> {
    let dir = args.model.resolve(Need::Model)?;
    let cfg = tarjim::model::MarianConfig::from_file(&dir.join(tarjim::model::CONFIG_FILE))?;
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut bytes = serde_json::Map::new();
    let mut sha256 = serde_json::Map::new();
    for name in names {
        let path = dir.join(&name);
        let size = std::fs::metadata(&path).with_context(|| format!("{}: cannot read", path.display()))?.len();
        bytes.insert(name.clone(), json!(size));
        sha256.insert(name, json!(hub::sha256_file(&path)?));
    }
    let info = json!({
        "dir": dir.display().to_string(),
        "architecture": {
            "vocab_size": cfg.vocab_size, "target_vocab_size": cfg.target_vocab_size(), "d_model": cfg.d_model,
            "encoder_layers": cfg.encoder_layers, "decoder_layers": cfg.decoder_layers,
            "encoder_attention_heads": cfg.encoder_attention_heads,
            "decoder_attention_heads": cfg.decoder_attention_heads,
            "encoder_ffn_dim": cfg.encoder_ffn_dim, "decoder_ffn_dim": cfg.decoder_ffn_dim,
            "max_position_embeddings": cfg.max_position_embeddings,
            "pad_token_id": cfg.pad_token_id, "eos_token_id": cfg.eos_token_id,
            "decoder_start_token_id": cfg.decoder_start_token_id,
        },
        "bytes": bytes,
        "sha256": sha256,
    });
    writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&info)?).map_err(stdout_failed)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_an_editor_shows_them() {
        let lines = split_lines(b"a\r\n\nb\xff\nc");
        assert_eq!(
            lines,
            vec![Ok("a".into()), Ok(String::new()), Err("invalid UTF-8 at byte 1".into()), Ok("c".into())]
        );
        assert_eq!(split_lines(b"x\n"), vec![Ok("x".into())]);
        assert!(split_lines(b"").is_empty());
        assert_eq!(split_lines(b"\n"), vec![Ok(String::new())]);
    }
}
