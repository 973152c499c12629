//! `tarjim translate`: lines in, one output line (text or JSON) or TMX units
//! per input line out, with an optional report of each line's glossary terms.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tarjim::align::{AlignError, Aligner, Alignment, Method, pharaoh};
use tarjim::exchange::tmx;
use tarjim::time::Utc;
use tarjim::translate::{LineError, LineTranslation, Split, Translator};

use super::align::{WordRow, word_rows};
use super::stream::stdin_chunks;
use super::{
    CHUNK_LINES, DecodeArgs, EXIT_TERMS_MISSED, GlossaryOptions, ModeArg, ModelArgs, align_lines, char_slice,
    load_translator, read_inputs, stdout_failed,
};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum TranslateFormat {
    /// The translation only.
    Text,
    /// One JSON object per line: file, line, source, translation, token counts, score, time,
    /// and each sentence's source and translation.
    Jsonl,
    /// A TMX 1.4b translation memory: one unit per sentence, with its glossary terms.
    Tmx,
}

#[derive(Args)]
pub(super) struct TranslateArgs {
    /// Input files (UTF-8, one sentence or paragraph per line); stdin when none.
    files: Vec<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    decode: DecodeArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TranslateFormat::Text)]
    format: TranslateFormat,
    #[command(flatten)]
    glossary: GlossaryOptions,
    /// Write a JSON-lines report of the terms of each line to FILE: the terms
    /// enforced and the glossary forms found but not enforced, with why.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Treat each input file (or stdin) as one article: a name confirmed in one
    /// line (by its full form or a cue) confirms its short and ambiguous forms in
    /// the others. Without it each line stands alone.
    #[arg(long)]
    document: bool,
    /// Add each line's word alignment to the jsonl output (forced decoding of the
    /// translation, last decoder layer's head 0), and check that placed glossary
    /// terms align to their source span.
    #[arg(long)]
    align: bool,
    /// Translate each line whole, for input that is already one sentence a
    /// line (by default each line is split into sentences, translated, and its
    /// translations joined by one space).
    #[arg(long)]
    no_split: bool,
}

/// What became of one input line.
enum Outcome {
    /// An empty (or blank) line: an empty output line.
    Empty,
    /// The translation, with its word alignment under `--align`.
    Translated(LineTranslation, Option<Alignment>),
    /// Why the line has no translation.
    Failed(String),
}

impl Outcome {
    /// The outcome of `line`; `next` gives the translator's result (and
    /// alignment) for the next line with text.
    fn of(
        line: &Result<String, String>,
        next: impl FnOnce() -> Option<(Result<LineTranslation, LineError>, Option<Result<Alignment, AlignError>>)>,
    ) -> Outcome {
        match line {
            Err(problem) => return Outcome::Failed(problem.clone()),
            Ok(text) if text.trim().is_empty() => return Outcome::Empty,
            Ok(_) => {}
        }
        let Some((translation, alignment)) = next() else {
            return Outcome::Failed("no result".into());
        };
        match (translation, alignment.transpose()) {
            (Err(err), _) => Outcome::Failed(err.to_string()),
            (Ok(_), Err(err)) => Outcome::Failed(format!("alignment: {err}")),
            (Ok(translation), Ok(alignment)) => Outcome::Translated(translation, alignment),
        }
    }
}

// The rows below are written as JSON lines. Their fields stand in alphabetical
// order, the order the output has always had; scores are widened to f64 as
// they always have been written.

/// A character range as `[start, end]`.
fn span(range: &std::ops::Range<usize>) -> [usize; 2] {
    [range.start, range.end]
}

/// One line of `--format jsonl`.
#[derive(Serialize)]
struct LineRow<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    alignment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alignment_words: Option<AlignmentWords<'a>>,
    file: &'a str,
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    sentences: Vec<SentenceRow<'a>>,
    source: &'a str,
    source_tokens: usize,
    target_tokens: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    terms: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    terms_missed: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    terms_skipped: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    terms_unaligned: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_ms: Option<f64>,
    translation: &'a str,
}

/// The words a jsonl line's alignment numbers.
#[derive(Serialize)]
struct AlignmentWords<'a> {
    source: Vec<WordRow<'a>>,
    target: Vec<WordRow<'a>>,
}

/// One sentence of a jsonl line.
#[derive(Serialize)]
struct SentenceRow<'a> {
    score: f64,
    source: &'a str,
    source_span: [usize; 2],
    target_span: [usize; 2],
    translation: &'a str,
}

/// A line that was not translated, in jsonl.
#[derive(Serialize)]
struct FailureRow<'a> {
    error: &'a str,
    file: &'a str,
    line: usize,
}

/// One line of the `--report` file.
#[derive(Serialize)]
struct ReportRow<'a> {
    file: &'a str,
    line: usize,
    skipped: Vec<SkippedRow<'a>>,
    source: &'a str,
    terms: Vec<TermRow<'a>>,
    translation: &'a str,
}

/// An enforced term in the report.
#[derive(Serialize)]
struct TermRow<'a> {
    aligned: Option<bool>,
    confirmed: &'a Option<String>,
    english: &'a str,
    kind: String,
    placed: bool,
    problem: &'a Option<String>,
    source_span: [usize; 2],
    source_text: &'a str,
    target_span: Option<[usize; 2]>,
    term: &'a str,
}

/// A glossary form found but not enforced, in the report.
#[derive(Serialize)]
struct SkippedRow<'a> {
    english: &'a str,
    kind: String,
    source_span: [usize; 2],
    source_text: &'a str,
    term: &'a str,
    why: &'a str,
}

/// Writes `row` as one JSON line.
fn write_row(out: &mut impl Write, row: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, row)?;
    writeln!(out)
}

/// The state of a `translate` run, fed chunk by chunk.
struct TranslateRun<'a, W: Write> {
    args: &'a TranslateArgs,
    translator: &'a Translator,
    aligner: Option<Aligner<'a>>,
    report: Option<(BufWriter<std::fs::File>, &'a PathBuf)>,
    out: W,
    progress: ProgressBar,
    /// Some line failed.
    failed: bool,
    /// Some enforced term was not placed.
    missed_terms: bool,
}

impl<W: Write> TranslateRun<'_, W> {
    /// Translates and writes one chunk of lines of input `name` (lines from
    /// `first_line`, 1-based), then flushes the output.
    fn chunk(&mut self, name: &str, first_line: usize, lines: &[Result<String, String>]) -> anyhow::Result<()> {
        let args = self.args;
        let split = if args.no_split { Split::Lines } else { Split::Sentences };
        // Lines with text go to the model; empty and invalid lines keep their place.
        let texts: Vec<&str> =
            lines.iter().filter_map(|l| l.as_deref().ok()).filter(|t| !t.trim().is_empty()).collect();
        let documents: Vec<usize> = if args.document { vec![0; texts.len()] } else { (0..texts.len()).collect() };
        let mut results =
            self.translator.translate_lines(&texts, &documents, split, args.decode.batch_size, &mut |_| {});
        let alignments = match &self.aligner {
            Some(aligner) => align_lines(aligner, &texts, &mut results, args.decode.batch_size),
            None => vec![None; results.len()],
        };
        let mut results = results.into_iter().zip(alignments);
        for (offset, line) in lines.iter().enumerate() {
            let number = first_line + offset;
            let outcome = Outcome::of(line, || results.next());
            let source = line.as_deref().unwrap_or_default();
            if let Outcome::Translated(translation, _) = &outcome {
                if let Some((report, path)) = self.report.as_mut() {
                    write_report(report, name, number, source, translation)
                        .with_context(|| format!("{}: cannot write", path.display()))?;
                }
                if args.glossary.glossary_mode == ModeArg::Constrain && translation.missed_terms() > 0 {
                    self.missed_terms = true;
                    for term in translation.terms.iter().filter(|t| t.target_span.is_none()) {
                        let why = term.problem.as_deref().unwrap_or("missing");
                        self.progress.suspend(|| {
                            eprintln!("{name}:{number}: term `{}` → `{}` not placed: {why}", term.term, term.english)
                        });
                    }
                }
            }
            if let Outcome::Failed(problem) = &outcome {
                self.failed = true;
                self.progress.suspend(|| eprintln!("{name}:{number}: {problem}"));
            }
            write_outcome(&mut self.out, args.format, name, number, source, &outcome, args.align)
                .map_err(stdout_failed)?;
            self.progress.inc(1);
        }
        self.out.flush().map_err(stdout_failed)
    }
}

pub(super) fn translate(args: TranslateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(!args.align || args.format == TranslateFormat::Jsonl, "--align needs --format jsonl");
    let (translator, _) = load_translator(&args.model, &args.decode, Some(&args.glossary))?;
    let aligner = if args.align {
        Some(Aligner::new(translator.model(), translator.tokenizer(), translator.model().alignment_head())?)
    } else {
        None
    };
    let report = match &args.report {
        Some(path) => {
            let file = std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
            Some((BufWriter::new(file), path))
        }
        None => None,
    };
    // Cleared when dropped too, so that an error ending the run is not printed after a stale bar.
    let progress = ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr())
        .with_finish(indicatif::ProgressFinish::AndClear);
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} lines, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let stdout = std::io::stdout();
    let mut run = TranslateRun {
        args: &args,
        translator: &translator,
        aligner,
        report,
        out: BufWriter::new(stdout.lock()),
        progress,
        failed: false,
        missed_terms: false,
    };
    if args.format == TranslateFormat::Tmx {
        run.out.write_all(tmx::start(&Utc::now()).as_bytes()).map_err(stdout_failed)?;
    }
    let read_failed = if args.files.is_empty() {
        // Streamed: each chunk is written as soon as it is translated.
        run.progress.set_style(
            ProgressStyle::with_template("{pos} lines, {per_sec}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        stdin_chunks(args.document, &mut |first_line, lines| run.chunk("<stdin>", first_line, lines))?
    } else {
        let (inputs, failed) = read_inputs(&args.files);
        run.progress.set_length(inputs.iter().map(|i| i.lines.len() as u64).sum());
        for input in &inputs {
            // A document is decided whole, so it goes to the translator in one piece.
            let chunk_lines = if args.document { input.lines.len().max(1) } else { CHUNK_LINES };
            for (chunk_index, chunk) in input.lines.chunks(chunk_lines).enumerate() {
                run.chunk(&input.name, chunk_index * chunk_lines + 1, chunk)?;
            }
        }
        failed
    };
    if args.format == TranslateFormat::Tmx {
        run.out.write_all(tmx::END.as_bytes()).and_then(|()| run.out.flush()).map_err(stdout_failed)?;
    }
    run.progress.finish_and_clear();
    if let Some((mut report, path)) = run.report {
        report.flush().with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(if run.failed || read_failed {
        ExitCode::from(1)
    } else if run.missed_terms {
        ExitCode::from(EXIT_TERMS_MISSED)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_report(
    out: &mut impl Write,
    file: &str,
    number: usize,
    source: &str,
    translation: &LineTranslation,
) -> std::io::Result<()> {
    let row = ReportRow {
        file,
        line: number,
        skipped: translation
            .skipped
            .iter()
            .map(|t| SkippedRow {
                english: &t.english,
                kind: t.kind.to_string(),
                source_span: span(&t.source_span),
                source_text: char_slice(source, &t.source_span),
                term: &t.term,
                why: &t.why,
            })
            .collect(),
        source,
        terms: translation
            .terms
            .iter()
            .map(|t| TermRow {
                aligned: t.aligned,
                confirmed: &t.confirmed,
                english: &t.english,
                kind: t.kind.to_string(),
                placed: t.target_span.is_some(),
                problem: &t.problem,
                source_span: span(&t.source_span),
                source_text: char_slice(source, &t.source_span),
                target_span: t.target_span.as_ref().map(span),
                term: &t.term,
            })
            .collect(),
        translation: &translation.text,
    };
    write_row(out, &row)
}

/// Writes one line's output. `align` (`format` is then jsonl): the jsonl
/// object gets the word alignment (empty for an empty line) and the count
/// of placed terms that do not align.
fn write_outcome(
    out: &mut impl Write,
    format: TranslateFormat,
    file: &str,
    number: usize,
    source: &str,
    outcome: &Outcome,
    align: bool,
) -> std::io::Result<()> {
    match (format, outcome) {
        (TranslateFormat::Text, Outcome::Translated(t, _)) => writeln!(out, "{}", t.text.replace(['\n', '\r'], " ")),
        (TranslateFormat::Text, Outcome::Empty | Outcome::Failed(_)) => writeln!(out),
        (TranslateFormat::Tmx, Outcome::Translated(t, _)) => {
            for sentence in &t.sentences {
                let unit = tmx::Unit {
                    document: file,
                    line: number,
                    source: char_slice(source, &sentence.source_span),
                    target: &sentence.translation.text,
                    terms: &sentence.translation.terms,
                };
                out.write_all(tmx::unit(&unit).as_bytes())?;
            }
            Ok(())
        }
        // The memory holds translated sentences only; stderr names a failed line.
        (TranslateFormat::Tmx, Outcome::Empty | Outcome::Failed(_)) => Ok(()),
        (TranslateFormat::Jsonl, Outcome::Failed(problem)) => {
            write_row(out, &FailureRow { error: problem, file, line: number })
        }
        (TranslateFormat::Jsonl, Outcome::Empty) => {
            let row = LineRow {
                alignment: align.then(String::new),
                alignment_words: align.then(|| AlignmentWords { source: Vec::new(), target: Vec::new() }),
                file,
                line: number,
                score: None,
                sentences: Vec::new(),
                source,
                source_tokens: 0,
                target_tokens: 0,
                terms: None,
                terms_missed: None,
                terms_skipped: None,
                terms_unaligned: None,
                time_ms: None,
                translation: "",
            };
            write_row(out, &row)
        }
        (TranslateFormat::Jsonl, Outcome::Translated(t, alignment)) => {
            let sentences = t
                .sentences
                .iter()
                .map(|s| SentenceRow {
                    score: f64::from(s.translation.score),
                    source: char_slice(source, &s.source_span),
                    source_span: span(&s.source_span),
                    target_span: span(&s.target_span),
                    translation: &s.translation.text,
                })
                .collect();
            let row = LineRow {
                alignment: alignment.as_ref().map(|a| pharaoh(&a.pairs(Method::Argmax))),
                alignment_words: alignment
                    .as_ref()
                    .map(|a| AlignmentWords { source: word_rows(&a.source_words), target: word_rows(&a.target_words) }),
                file,
                line: number,
                score: Some(f64::from(t.score())),
                sentences,
                source,
                source_tokens: t.source_tokens(),
                target_tokens: t.target_tokens(),
                terms: Some(t.terms.len()),
                terms_missed: Some(t.missed_terms()),
                terms_skipped: Some(t.skipped.len()),
                terms_unaligned: alignment
                    .as_ref()
                    .map(|_| t.terms.iter().filter(|term| term.aligned == Some(false)).count()),
                time_ms: Some((t.time().as_secs_f64() * 1e4).round() / 10.0),
                translation: &t.text,
            };
            write_row(out, &row)
        }
    }
}
