//! `tarjim align`: word alignments of translations, from the cross-attention.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::json;
use tarjim::align::{Aligner, Alignment, Method, Target, Word, pharaoh};
use tarjim::model::AttentionHead;
use tarjim::translate::{Split, Translator};

use super::{
    CHUNK_LINES, DecodeArgs, ModelArgs, align_lines, load_translator, read_inputs, split_lines, stdout_failed,
};

#[derive(Args)]
pub(super) struct AlignArgs {
    /// Source files (UTF-8, one sentence or paragraph per line); stdin when none.
    files: Vec<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    /// Align these translations instead of translating: one line per source line,
    /// across all inputs in order.
    #[arg(long, value_name = "FILE")]
    target: Option<PathBuf>,
    /// Decoder layer whose cross-attention is read, 0-based (default: the last).
    #[arg(long)]
    layer: Option<usize>,
    /// Attention head in that layer, 0-based.
    #[arg(long, default_value_t = 0)]
    head: usize,
    /// argmax (default): each target word to its most attended source word; threshold: every
    /// pair with attention at least --threshold; intersect: argmax both ways.
    #[arg(long, value_enum)]
    method: Option<MethodArg>,
    /// Threshold for --method threshold (implies it), between 0 and 1.
    #[arg(long, value_name = "T")]
    threshold: Option<f32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AlignFormat::Pharaoh)]
    format: AlignFormat,
    /// Translate each line whole, for input that is already one sentence a
    /// line (by default each line is split into sentences, each aligned with
    /// its translation; the words are numbered through the line). Lines given
    /// with --target are always aligned whole.
    #[arg(long)]
    no_split: bool,
    #[command(flatten)]
    decode: DecodeArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MethodArg {
    Argmax,
    Threshold,
    Intersect,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AlignFormat {
    /// `i-j` pairs (source word - target word, 0-based), as fast_align writes them.
    Pharaoh,
    /// One JSON object per line: words with character spans on both sides, pairs.
    Json,
}

/// The extraction rule the options ask for.
fn method(args: &AlignArgs) -> anyhow::Result<Method> {
    Ok(match (args.method, args.threshold) {
        (None | Some(MethodArg::Argmax), None) => Method::Argmax,
        (Some(MethodArg::Intersect), None) => Method::Intersect,
        (None | Some(MethodArg::Threshold), Some(t)) => Method::threshold(t)?,
        (Some(MethodArg::Threshold), None) => anyhow::bail!("--method threshold needs --threshold T"),
        (Some(_), Some(_)) => anyhow::bail!("--threshold applies to --method threshold only"),
    })
}

/// One line aligned: source, target and their alignment (`None` for a line with
/// nothing to align).
struct Aligned {
    source: String,
    target: String,
    alignment: Option<Alignment>,
}

/// One source line's outcome, or why it failed.
type Outcome = Result<Aligned, String>;

/// A line with nothing to align.
fn empty(source: &str) -> Outcome {
    Ok(Aligned { source: source.to_owned(), target: String::new(), alignment: None })
}

pub(super) fn align(args: AlignArgs) -> anyhow::Result<ExitCode> {
    let method = method(&args)?;
    let targets = match &args.target {
        Some(path) => {
            Some(split_lines(&std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?))
        }
        None => None,
    };
    let (translator, _) = load_translator(&args.model, &args.decode, None)?;
    let default = translator.model().alignment_head();
    let head = AttentionHead { layer: args.layer.unwrap_or(default.layer), head: args.head };
    let aligner = Aligner::new(translator.model(), translator.tokenizer(), head)?;

    let (inputs, mut failed) = read_inputs(&args.files);
    if let (Some(targets), Some(path)) = (&targets, &args.target) {
        let sources: usize = inputs.iter().map(|i| i.lines.len()).sum();
        anyhow::ensure!(
            targets.len() == sources,
            "{}: {} target lines for {sources} source lines",
            path.display(),
            targets.len()
        );
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut seen = 0;
    for input in &inputs {
        for (chunk_index, chunk) in input.lines.chunks(CHUNK_LINES).enumerate() {
            let first_line = chunk_index * CHUNK_LINES + 1;
            let outcomes = match &targets {
                Some(targets) => {
                    align_given(&aligner, chunk, &targets[seen..seen + chunk.len()], args.decode.batch_size)
                }
                None => {
                    let split = if args.no_split { Split::Lines } else { Split::Sentences };
                    align_translations(&translator, &aligner, chunk, split, args.decode.batch_size)
                }
            };
            seen += chunk.len();
            for (offset, outcome) in outcomes.into_iter().enumerate() {
                let number = first_line + offset;
                match outcome {
                    Ok(aligned) => write_alignment(&mut out, args.format, &input.name, number, aligned, method)
                        .map_err(stdout_failed)?,
                    Err(problem) => {
                        failed = true;
                        eprintln!("{}:{number}: {problem}", input.name);
                        match args.format {
                            AlignFormat::Pharaoh => writeln!(out),
                            AlignFormat::Json => {
                                writeln!(out, "{}", json!({"file": input.name, "line": number, "error": problem}))
                            }
                        }
                        .map_err(stdout_failed)?;
                    }
                }
            }
            out.flush().map_err(stdout_failed)?;
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Aligns source lines with the given target lines (forced decoding of each target).
fn align_given(
    aligner: &Aligner,
    sources: &[Result<String, String>],
    targets: &[Result<String, String>],
    batch_size: usize,
) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(sources.len());
    let mut todo = Vec::new();
    for (i, (source, target)) in sources.iter().zip(targets).enumerate() {
        match (source, target) {
            (Err(problem), _) => outcomes.push(Err(problem.clone())),
            (_, Err(problem)) => outcomes.push(Err(format!("target: {problem}"))),
            (Ok(source), Ok(target)) => {
                outcomes.push(empty(source));
                todo.push((i, source.as_str(), target.as_str()));
            }
        }
    }
    let lines: Vec<(&str, Target)> = todo.iter().map(|&(_, source, target)| (source, Target::Text(target))).collect();
    for (&(i, source, target), result) in todo.iter().zip(aligner.align(&lines, batch_size)) {
        outcomes[i] = result
            .map(|a| Aligned { source: source.to_owned(), target: target.to_owned(), alignment: Some(a) })
            .map_err(|e| e.to_string());
    }
    outcomes
}

/// Translates source lines (as `translate --glossary-mode off` does, split as
/// `split` says) and aligns each with its translation by forcing the generated
/// tokens, sentence by sentence.
fn align_translations(
    translator: &Translator,
    aligner: &Aligner,
    sources: &[Result<String, String>],
    split: Split,
    batch_size: usize,
) -> Vec<Outcome> {
    let texts: Vec<&str> = sources.iter().filter_map(|l| l.as_deref().ok()).filter(|t| !t.trim().is_empty()).collect();
    let documents: Vec<usize> = (0..texts.len()).collect();
    let mut translations = translator.translate_lines(&texts, &documents, split, batch_size, &mut |_| {});
    let alignments = align_lines(aligner, &texts, &mut translations, batch_size);
    let mut results = translations.into_iter().zip(alignments);
    sources
        .iter()
        .map(|source| match source {
            Err(problem) => Err(problem.clone()),
            Ok(text) if text.trim().is_empty() => empty(text),
            Ok(text) => match results.next() {
                Some((Ok(translation), Some(Ok(alignment)))) => {
                    Ok(Aligned { source: text.clone(), target: translation.text, alignment: Some(alignment) })
                }
                Some((Ok(_), Some(Err(err)))) => Err(err.to_string()),
                Some((Err(err), _)) => Err(err.to_string()),
                Some((Ok(_), None)) | None => Err("no result".into()),
            },
        })
        .collect()
}

/// A word and its character span, as the JSON outputs write it.
#[derive(serde::Serialize)]
pub(super) struct WordRow<'a> {
    span: Option<[usize; 2]>,
    text: &'a str,
}

/// Words with their character spans, as JSON rows.
pub(super) fn word_rows(words: &[Word]) -> Vec<WordRow<'_>> {
    words.iter().map(|w| WordRow { span: w.span.as_ref().map(|s| [s.start, s.end]), text: &w.text }).collect()
}

fn write_alignment(
    out: &mut impl Write,
    format: AlignFormat,
    file: &str,
    number: usize,
    aligned: Aligned,
    method: Method,
) -> std::io::Result<()> {
    let pairs = aligned.alignment.as_ref().map(|a| a.pairs(method)).unwrap_or_default();
    match format {
        AlignFormat::Pharaoh => writeln!(out, "{}", pharaoh(&pairs)),
        AlignFormat::Json => {
            let (source_words, target_words) = match &aligned.alignment {
                Some(a) => (word_rows(&a.source_words), word_rows(&a.target_words)),
                None => (Vec::new(), Vec::new()),
            };
            let value = json!({
                "file": file, "line": number, "source": aligned.source, "target": aligned.target,
                "source_words": source_words, "target_words": target_words,
                "pairs": pairs.iter().map(|&(s, t)| [s, t]).collect::<Vec<_>>(),
            });
            writeln!(out, "{value}")
        }
    }
}
