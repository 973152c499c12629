//! `tarjim xliff`: pre-translate XLIFF files, filling their empty targets.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tarjim::align::{Aligner, Method};
use tarjim::translate::{Split, Translator};
use tarjim::xliff::{Document, Filled, Inline, XliffError, place, write};

use super::{DecodeArgs, EXIT_TERMS_MISSED, GlossaryOptions, ModeArg, ModelArgs, align_lines, load_translator};

#[derive(Args)]
pub(super) struct XliffArgs {
    /// XLIFF 1.2 or 2.x files, or directories searched for `*.xlf` and `*.xliff`.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output directory: each file is written there under the same name (files
    /// found in a directory under their path inside it).
    #[arg(long, short)]
    output: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    decode: DecodeArgs,
    #[command(flatten)]
    glossary: GlossaryOptions,
}

/// Whether `path` names an XLIFF file by its extension.
fn is_xliff(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlf") || e.eq_ignore_ascii_case("xliff"))
}

/// The files under `dir` (sorted, recursively; `skip` is the output directory)
/// with their paths relative to `dir`. Entries that are not regular files or
/// directories are reported and skipped.
fn walk(dir: &Path, relative: &Path, skip: Option<&Path>, files: &mut Vec<(PathBuf, PathBuf)>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: cannot list", dir.display()))?;
    entries.sort();
    for path in entries {
        let name = PathBuf::from(path.file_name().unwrap_or_default());
        let link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                if link {
                    eprintln!("{}: skipped: symlink to a directory", path.display());
                } else if skip.is_none_or(|s| std::fs::canonicalize(&path).ok().as_deref() != Some(s)) {
                    walk(&path, &relative.join(&name), skip, files)?;
                }
            }
            Ok(meta) if meta.is_file() => {
                if is_xliff(&path) {
                    files.push((path, relative.join(name)));
                }
            }
            Ok(_) if is_xliff(&path) => eprintln!("{}: skipped: not a regular file", path.display()),
            Ok(_) => {}
            Err(err) => eprintln!("{}: skipped: {err}", path.display()),
        }
    }
    Ok(())
}

/// Each input file with its output path relative to the output directory.
fn discover(inputs: &[PathBuf], output: &Path) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let skip = std::fs::canonicalize(output).ok();
    let mut files = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).with_context(|| format!("{}: cannot read", input.display()))?;
        if meta.is_dir() {
            walk(input, Path::new(""), skip.as_deref(), &mut files)?;
        } else {
            let name = input.file_name().with_context(|| format!("{}: not a file name", input.display()))?;
            files.push((input.clone(), PathBuf::from(name)));
        }
    }
    Ok(files)
}

/// How one file went.
#[derive(Default)]
struct Outcome {
    /// Some segment could not be translated (the file is written without it).
    failed: bool,
    /// Some enforced glossary term is missing from a translation.
    missed_terms: bool,
}

/// The translator, its aligner and the settings every file shares.
struct Shared<'a> {
    translator: &'a Translator,
    aligner: Aligner<'a>,
    batch_size: usize,
    origin: String,
    constrain: bool,
}

/// Pre-translates one file; `Err` is the one line that says why nothing was written.
fn pretranslate(context: &Shared, input: &Path, output: &Path) -> Result<Outcome, String> {
    let name = input.display().to_string();
    let bytes = std::fs::read(input).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let document = Document::parse(&bytes).map_err(|e| e.located(&name))?;
    let mut inlines = Vec::new();
    for segment in document.segments() {
        let content = &document.text[segment.source.clone()];
        let inline = Inline::parse(&document.text, segment.source.start, content, document.version, &segment.scope)
            .map_err(|e: XliffError| e.located(&name))?;
        inlines.push(inline);
    }
    let texts: Vec<&str> = inlines.iter().map(|i| i.text.as_str()).filter(|t| !t.trim().is_empty()).collect();
    // One file is one document: a name confirmed in one unit confirms its short forms in the others.
    let documents = vec![0; texts.len()];
    // Each segment is split into sentences, translated and aligned sentence by
    // sentence, and joined: alignment spans count characters of the whole segment.
    let mut results =
        context.translator.translate_lines(&texts, &documents, Split::Sentences, context.batch_size, &mut |_| {});
    let aligned = align_lines(&context.aligner, &texts, &mut results, context.batch_size);
    let mut results = results.into_iter().zip(aligned);
    let mut outcome = Outcome::default();
    let mut filled = Filled { targets: Vec::new(), terms: Vec::new(), origin: &context.origin };
    let mut inlines = inlines.iter();
    for unit in &document.units {
        let mut targets = Vec::new();
        let mut terms: Vec<String> = Vec::new();
        for segment in &unit.segments {
            let inline = inlines.next().ok_or_else(|| format!("{name}: internal error: segment count"))?;
            if inline.text.trim().is_empty() {
                // A segment of a segmented unit with nothing to translate is copied.
                targets.push(unit.segmented.is_some().then(|| document.text[segment.source.clone()].to_owned()));
                continue;
            }
            let label = match &segment.id {
                Some(id) => format!("{name}:{}: unit {} segment {id}", unit.line, unit.id),
                None => format!("{name}:{}: unit {}", unit.line, unit.id),
            };
            let (translation, alignment) = match results.next() {
                Some((Ok(translation), alignment)) => (translation, alignment),
                Some((Err(err), _)) => {
                    eprintln!("{label}: {err}");
                    outcome.failed = true;
                    targets.push(None);
                    continue;
                }
                None => return Err(format!("{name}: internal error: result count")),
            };
            let alignment = match alignment {
                Some(Ok(alignment)) => Some(alignment),
                Some(Err(err)) => {
                    eprintln!("{label}: warning: no alignment ({err}); codes placed by position");
                    None
                }
                None => None,
            };
            let pairs = alignment.as_ref().map(|a| a.pairs(Method::Argmax)).unwrap_or_default();
            targets.push(Some(place(inline, &translation.text, alignment.as_ref(), &pairs)));
            for term in &translation.terms {
                if term.target_span.is_none() && context.constrain {
                    outcome.missed_terms = true;
                    let why = term.problem.as_deref().unwrap_or("missing");
                    eprintln!("{label}: term `{}` → `{}` not placed: {why}", term.term, term.english);
                }
                let entry = format!("{} → {}", term.term, term.english);
                if term.target_span.is_some() && !terms.contains(&entry) {
                    terms.push(entry);
                }
            }
        }
        filled.targets.push(targets);
        filled.terms.push(terms);
    }
    let bytes = write(&document, &filled);
    tarjim::atomic::write(output, &bytes).map_err(|e| format!("{}: cannot write: {e}", output.display()))?;
    let written = filled.targets.iter().flatten().filter(|t| t.is_some()).count();
    eprintln!(
        "{name}: {written} targets filled, {} already translated, {} locked → {}",
        document.translated,
        document.locked,
        output.display()
    );
    Ok(outcome)
}

/// The model as the notes name it: a local directory by its name.
fn model_name(model: &str) -> String {
    let path = Path::new(model);
    match path.file_name() {
        Some(name) if path.is_dir() => name.to_string_lossy().into_owned(),
        _ => model.to_owned(),
    }
}

pub(super) fn run(args: XliffArgs) -> anyhow::Result<ExitCode> {
    let files = discover(&args.inputs, &args.output)?;
    let (translator, _) = load_translator(&args.model, &args.decode, Some(&args.glossary))?;
    let aligner = Aligner::new(translator.model(), translator.tokenizer(), translator.model().alignment_head())?;
    let context = Shared {
        translator: &translator,
        aligner,
        batch_size: args.decode.batch_size,
        origin: format!("tarjim with model {}", model_name(&args.model.model)),
        constrain: args.glossary.glossary_mode == ModeArg::Constrain,
    };
    let (mut failed, mut missed_terms) = (false, false);
    let mut taken = HashSet::new();
    for (input, relative) in files {
        let output = args.output.join(&relative);
        let same =
            std::fs::canonicalize(&input).ok().zip(std::fs::canonicalize(&output).ok()).is_some_and(|(a, b)| a == b);
        let problem = if same {
            Some(format!("{}: skipped: the output would replace the input", input.display()))
        } else if !taken.insert(output.clone()) {
            Some(format!("{}: skipped: an earlier input is written to {}", input.display(), output.display()))
        } else {
            None
        };
        let outcome = match problem {
            Some(problem) => Err(problem),
            None => pretranslate(&context, &input, &output),
        };
        match outcome {
            Ok(outcome) => {
                failed |= outcome.failed;
                missed_terms |= outcome.missed_terms;
            }
            Err(line) => {
                eprintln!("{line}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else if missed_terms {
        ExitCode::from(EXIT_TERMS_MISSED)
    } else {
        ExitCode::SUCCESS
    })
}
