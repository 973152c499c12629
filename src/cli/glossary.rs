//! `tarjim glossary`: checking, converting and editing glossary files.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use tarjim::align::{Aligner, Method, Target};
use tarjim::atomic;
use tarjim::glossary::parse::parse_with_columns;
use tarjim::glossary::{Glossary, Kind, Matcher, dedup};
use tarjim::glossary_tools::corpus::{self, Pair, WordLinks};
use tarjim::glossary_tools::edit::{self, Added, NewEntry};
use tarjim::glossary_tools::formats::{self, GlossaryFormat};
use tarjim::glossary_tools::lint::{self, Severity};
use tarjim::glossary_tools::write::write_tsv;
use tarjim::glossary_tools::{ToolError, audit, suggest};
use tarjim::model::AttentionHead;
use tarjim::tokenizer::MarianTokenizer;
use tarjim::translate::Translator;

#[derive(Args)]
pub struct GlossaryArgs {
    #[command(subcommand)]
    command: GlossaryCommand,
}

#[derive(Subcommand)]
enum GlossaryCommand {
    /// Check glossary files on their own and against each other; exit code 1 when
    /// any error is found.
    Lint(LintArgs),
    /// Write a TSV glossary in another format.
    Export(ExportArgs),
    /// Read a glossary in another format and print it as canonical TSV.
    Import(ImportArgs),
    /// Add an entry to a TSV glossary, keeping it sorted and valid.
    Add(AddArgs),
    /// Report glossary terms and names that translations render inconsistently.
    Audit(AuditArgs),
    /// Mine recurring names the glossary lacks, with their renderings, as TSV for review.
    Suggest(SuggestArgs),
}

#[derive(Args)]
struct LintArgs {
    /// Glossary files (TSV), checked in the order `translate` stacks them.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Also check that this local checkpoint's target vocabulary can write every rendering.
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    format: LintFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LintFormat {
    /// `FILE:LINE[:COL]: error|warning: message`.
    Text,
    /// One JSON object per finding: file, line, column, severity, code, message.
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// The TSV columns as CSV, with a header row.
    Csv,
    /// TBX-Basic XML.
    Tbx,
    /// DeepL glossary entries: source,target rows, no header.
    Deepl,
    /// Google Cloud Translation unidirectional glossary: ar,en rows.
    Google,
    /// Amazon Translate custom terminology: the header ar,en, then rows.
    Amazon,
}

impl From<FormatArg> for GlossaryFormat {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Csv => GlossaryFormat::Csv,
            FormatArg::Tbx => GlossaryFormat::Tbx,
            FormatArg::Deepl => GlossaryFormat::Deepl,
            FormatArg::Google => GlossaryFormat::Google,
            FormatArg::Amazon => GlossaryFormat::Amazon,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Org,
    Person,
    Place,
    Other,
}

impl From<KindArg> for Kind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Org => Kind::Org,
            KindArg::Person => Kind::Person,
            KindArg::Place => Kind::Place,
            KindArg::Other => Kind::Other,
        }
    }
}

#[derive(Args)]
struct ExportArgs {
    /// The glossary (TSV).
    file: PathBuf,
    /// The format to write.
    #[arg(long, value_enum)]
    to: FormatArg,
    /// Write to OUT instead of stdout.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct ImportArgs {
    /// The glossary in the other format.
    file: PathBuf,
    /// Its format.
    #[arg(long, value_enum)]
    from: FormatArg,
    /// The kind of entries whose format has none (two-column formats, TBX entries
    /// without a subject field).
    #[arg(long, value_enum, default_value_t = KindArg::Other)]
    kind: KindArg,
    /// Write to OUT instead of stdout.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct AddArgs {
    /// The glossary (TSV); created with its header when it does not exist.
    file: PathBuf,
    /// The Arabic term.
    #[arg(long)]
    arabic: String,
    /// The English rendering it must get.
    #[arg(long)]
    english: String,
    /// What it names.
    #[arg(long, value_enum)]
    kind: KindArg,
    /// Other spellings, separated by `|`.
    #[arg(long, default_value = "", value_name = "V1|V2")]
    variants: String,
    /// A note.
    #[arg(long, default_value = "")]
    note: String,
    /// A part of the name used alone, with its own rendering; repeatable, or
    /// separated by `|`.
    #[arg(long, value_name = "ARABIC=English")]
    short: Vec<String>,
    /// A form of the entry (the term, a variant or a short form) that is also a
    /// common word; repeatable, or separated by `|`.
    #[arg(long, value_name = "FORM")]
    ambiguous: Vec<String>,
    /// Context that confirms the name sense of an ambiguous form: Arabic words,
    /// `~` for the mention; repeatable, or separated by `|`.
    #[arg(long, value_name = "CUE")]
    confirm: Vec<String>,
    /// Context that refutes the name sense of any form; repeatable, or separated by `|`.
    #[arg(long, value_name = "CUE")]
    refute: Vec<String>,
}

/// Translated sentence pairs, the glossary, and how to align them: the inputs of
/// `audit` and `suggest`.
#[derive(Args)]
struct PairsArgs {
    /// Outputs of `tarjim batch --format jsonl` (`*.en.jsonl` files, or directories
    /// searched for them) or of `tarjim translate --format jsonl [--align]`.
    archives: Vec<PathBuf>,
    /// A source file of parallel plain files, one sentence per line; paired with
    /// the `--target` at the same position. Repeatable.
    #[arg(long, value_name = "FILE")]
    source: Vec<PathBuf>,
    /// The translation of the `--source` at the same position, line for line.
    #[arg(long, value_name = "FILE")]
    target: Vec<PathBuf>,
    /// A glossary file stacked on the built-in one; repeatable, later files win.
    #[arg(long = "glossary", value_name = "FILE")]
    glossaries: Vec<PathBuf>,
    /// Leave the built-in glossary out.
    #[arg(long)]
    no_builtin_glossary: bool,
    /// Least occurrences of an Arabic n-gram outside the glossary to be reported.
    #[arg(long, value_name = "N", default_value_t = 3)]
    min_count: usize,
    /// Align every pair with this local checkpoint (forced decoding of the
    /// translation), replacing alignments the inputs carry.
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// With --model: decoder layer whose cross-attention is read (default: the last).
    #[arg(long, requires = "model")]
    layer: Option<usize>,
    /// With --model: attention head in that layer.
    #[arg(long, default_value_t = 0, requires = "model")]
    head: usize,
    /// With --model: sentences per model call.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// With --model: compute threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuditFormat {
    /// A Markdown report.
    Markdown,
    /// A self-contained HTML page.
    Html,
    /// JSON.
    Json,
}

#[derive(Args)]
struct AuditArgs {
    #[command(flatten)]
    pairs: PairsArgs,
    /// Report format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Markdown)]
    format: AuditFormat,
    /// Write to OUT instead of stdout.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct SuggestArgs {
    #[command(flatten)]
    pairs: PairsArgs,
    /// Write to OUT instead of stdout.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
}

/// Runs `tarjim glossary`; `Err` means nothing could be done (exit code 2).
pub fn run(args: GlossaryArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        GlossaryCommand::Lint(args) => lint(args),
        GlossaryCommand::Export(args) => export(args),
        GlossaryCommand::Import(args) => import(args),
        GlossaryCommand::Add(args) => add(args),
        GlossaryCommand::Audit(args) => audit(args),
        GlossaryCommand::Suggest(args) => suggest(args),
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// The file `path` names: symbolic links followed to the file they point to
/// (which may not exist yet), with its metadata when it exists.
fn resolve(path: &Path) -> anyhow::Result<(PathBuf, Option<Metadata>)> {
    let mut real = path.to_path_buf();
    // As many links as Linux follows in a path.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&real) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = std::fs::read_link(&real).with_context(|| format!("{}: cannot read", path.display()))?;
                // A relative target is relative to the link's directory.
                real = match real.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            Ok(metadata) => return Ok((real, Some(metadata))),
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok((real, None)),
            Err(err) => return Err(err).with_context(|| format!("{}: cannot read", path.display())),
        }
    }
    anyhow::bail!("{}: cannot read: too many levels of symbolic links", path.display())
}

/// Refuses to replace `real` (which `path` names) unless it is a regular file
/// that may be written: its owner's write bit is set (checked on the mode, as
/// root may write any file) and this process may open it for writing.
fn check_writable(path: &Path, real: &Path, metadata: &Metadata) -> anyhow::Result<()> {
    anyhow::ensure!(metadata.is_file(), "{}: cannot write: not a regular file", path.display());
    if let Some(mode) = read_only(metadata) {
        anyhow::bail!("{}: cannot write: the file is read-only{mode}", path.display());
    }
    // Opening without truncating changes nothing.
    OpenOptions::new().write(true).open(real).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// When the file's owner may not write it: `Some` with the mode to report.
#[cfg(unix)]
fn read_only(metadata: &Metadata) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode();
    (mode & 0o200 == 0).then(|| format!(" (mode {:04o})", mode & 0o7777))
}

/// When the file may not be written: `Some` with the mode to report.
#[cfg(not(unix))]
fn read_only(metadata: &Metadata) -> Option<String> {
    metadata.permissions().readonly().then(String::new)
}

/// Gives `file` the owner and group of `like`, as far as this process may: only
/// root gives a file to another user, and a member of the group may keep it.
#[cfg(unix)]
fn keep_owner(file: &File, like: &Metadata) {
    use std::os::unix::fs::{MetadataExt, fchown};
    if fchown(file, Some(like.uid()), Some(like.gid())).is_err() {
        // Best effort: otherwise the file is the writer's, as any file it writes.
        let _ = fchown(file, None, Some(like.gid()));
    }
}

#[cfg(not(unix))]
fn keep_owner(_: &File, _: &Metadata) {}

/// Whether `path` still names the file `file` has open.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (open, named) = (file.metadata()?, std::fs::metadata(path)?);
    Ok((open.dev(), open.ino()) == (named.dev(), named.ino()))
}

#[cfg(not(unix))]
fn same_file(_: &File, _: &Path) -> std::io::Result<bool> {
    Ok(true)
}

/// Writes `bytes` to a new temporary file beside `real`, with the permissions
/// (and, as far as allowed, the owner) of `like`, and syncs it. Its name holds
/// the process id and a counter, so that concurrent writers never share one;
/// it is removed when writing fails.
fn write_temp(real: &Path, like: Option<&Metadata>, bytes: &[u8]) -> std::io::Result<PathBuf> {
    atomic::write_temp(atomic::parent(real), &atomic::beside_prefix(real), bytes, |file| match like {
        Some(like) => {
            // The owner first: a change of owner may clear mode bits.
            keep_owner(file, like);
            file.set_permissions(like.permissions())
        }
        None => Ok(()),
    })
}

/// Replaces `real`, whose metadata is `like` (`None`: it does not exist), with
/// `bytes`, through a temporary file beside it renamed over it: readers see the
/// old file or the new one, never a part, and the file keeps its permissions.
fn replace(real: &Path, like: Option<&Metadata>, bytes: &[u8]) -> std::io::Result<()> {
    atomic::put(&write_temp(real, like, bytes)?, real)
}

/// Creates `real` with `bytes` unless a file appeared there meanwhile (then
/// `false`): the complete file is linked into place, which fails when the name is
/// taken.
fn create(real: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    let temp = write_temp(real, None, bytes)?;
    let created = match std::fs::hard_link(&temp, real) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == ErrorKind::AlreadyExists => Ok(false),
        // A file system without hard links: the temporary file itself goes in place.
        Err(_) => return atomic::put(&temp, real).map(|()| true),
    };
    atomic::remove(&temp);
    created
}

/// Writes `bytes` to `path`, through symbolic links, replacing the file atomically
/// with its permissions kept; a read-only file is refused.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let (real, metadata) = resolve(path)?;
    if let Some(metadata) = &metadata {
        check_writable(path, &real, metadata)?;
    }
    replace(&real, metadata.as_ref(), bytes).with_context(|| format!("{}: cannot write", path.display()))
}

/// Writes `text` to `output`, or to stdout.
fn emit(output: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(path) => write_atomic(path, text.as_bytes()),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(super::stdout_failed)
        }
    }
}

fn lint(args: LintArgs) -> anyhow::Result<ExitCode> {
    let tokenizer = match &args.model {
        Some(dir) => {
            // Tokenizer errors name the file at fault.
            Some(MarianTokenizer::from_dir(dir)?)
        }
        None => None,
    };
    let mut files = Vec::with_capacity(args.files.len());
    for path in &args.files {
        files.push((path.display().to_string(), read(path)?));
    }
    let named: Vec<(&str, &[u8])> = files.iter().map(|(name, bytes)| (name.as_str(), bytes.as_slice())).collect();
    let findings = lint::lint(&named, tokenizer.as_ref());
    let mut out = std::io::stdout().lock();
    for finding in &findings {
        match args.format {
            LintFormat::Text => writeln!(out, "{finding}")?,
            LintFormat::Json => writeln!(out, "{}", serde_json::to_string(finding)?)?,
        }
    }
    out.flush()?;
    Ok(if findings.iter().any(|f| f.severity == Severity::Error) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    let (entries, _, columns) = parse_with_columns(&read(&args.file)?, &name)?;
    let (entries, _) = dedup(&entries)?;
    let exported = formats::export(&entries, columns, args.to.into())?;
    for loss in &exported.losses {
        eprintln!("tarjim: warning: {loss}");
    }
    emit(args.output.as_deref(), &exported.text)?;
    Ok(ExitCode::SUCCESS)
}

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    let imported = formats::import(&read(&args.file)?, &name, args.from.into(), args.kind.into())?;
    for warning in &imported.warnings {
        eprintln!("tarjim: warning: {warning}");
    }
    emit(args.output.as_deref(), &write_tsv(&imported.entries, imported.columns)?)?;
    Ok(ExitCode::SUCCESS)
}

/// Adds the entry to the file that `args.file` names, through symbolic links.
/// The file is locked while it is read and replaced, so that concurrent adds
/// each see the others' entries; it keeps its permissions, and a read-only file
/// is refused (exit code 2).
fn add(args: AddArgs) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    let [short, ambiguous, confirm, refute] =
        [&args.short, &args.ambiguous, &args.confirm, &args.refute].map(|v| v.join("|"));
    let new = NewEntry {
        arabic: &args.arabic,
        english: &args.english,
        kind: args.kind.into(),
        variants: &args.variants,
        note: &args.note,
        short: &short,
        ambiguous: &ambiguous,
        confirm: &confirm,
        refute: &refute,
    };
    let outcome = loop {
        let (real, metadata) = resolve(&args.file)?;
        let Some(metadata) = metadata else {
            let outcome = edit::add(None, &name, &new);
            if let Ok(Added::Inserted { text, .. }) = &outcome
                && !create(&real, text.as_bytes()).with_context(|| format!("{name}: cannot write"))?
            {
                // Another process created the file meanwhile: add to that one.
                continue;
            }
            break outcome;
        };
        check_writable(&args.file, &real, &metadata)?;
        let mut file = File::open(&real).with_context(|| format!("{name}: cannot read"))?;
        file.lock().with_context(|| format!("{name}: cannot lock"))?;
        if !same_file(&file, &real).with_context(|| format!("{name}: cannot read"))? {
            // Replaced by another process while this one waited for the lock.
            continue;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).with_context(|| format!("{name}: cannot read"))?;
        let metadata = file.metadata().with_context(|| format!("{name}: cannot read"))?;
        let outcome = edit::add(Some(&bytes), &name, &new);
        if let Ok(Added::Inserted { text, .. }) = &outcome {
            replace(&real, Some(&metadata), text.as_bytes()).with_context(|| format!("{name}: cannot write"))?;
        }
        // Unlocked as the file closes, once the new file is in place.
        break outcome;
    };
    match outcome {
        Ok(Added::Inserted { entry, warnings, upgraded, .. }) => {
            for warning in &warnings {
                eprintln!("tarjim: warning: {warning}");
            }
            if upgraded {
                eprintln!(
                    "tarjim: {name}: added the sense columns short, ambiguous, confirm and refute to the header \
                     and empty cells for them to every row"
                );
            }
            eprintln!("tarjim: {}: added `{}` → `{}`", entry.origin, entry.arabic, entry.english);
            Ok(ExitCode::SUCCESS)
        }
        Ok(Added::Present { origin }) => {
            eprintln!("tarjim: {origin}: the entry is already there; nothing to do");
            Ok(ExitCode::SUCCESS)
        }
        Err(err @ (ToolError::Taken { .. } | ToolError::Overlaps { .. })) => {
            eprintln!("tarjim: {err}");
            Ok(ExitCode::from(1))
        }
        Err(err) => Err(err.into()),
    }
}

/// Reads the pairs and the glossary the options ask for, and aligns the pairs
/// when a model is given.
fn read_pairs(args: &PairsArgs) -> anyhow::Result<(Vec<Pair>, Glossary)> {
    anyhow::ensure!(
        args.source.len() == args.target.len(),
        "--source and --target go in pairs: {} --source, {} --target",
        args.source.len(),
        args.target.len()
    );
    anyhow::ensure!(
        !args.archives.is_empty() || !args.source.is_empty(),
        "no input: give tarjim batch or translate outputs, or --source FILE --target FILE"
    );
    anyhow::ensure!(args.min_count > 0, "--min-count must be at least 1");
    let glossary = super::load_glossary(&args.glossaries, args.no_builtin_glossary)?;
    let parallel: Vec<(PathBuf, PathBuf)> = args.source.iter().cloned().zip(args.target.iter().cloned()).collect();
    let mut pairs = corpus::read_inputs(&args.archives, &parallel)?;
    if let Some(dir) = &args.model {
        align_pairs(&mut pairs, dir, args)?;
    }
    Ok((pairs, glossary))
}

/// Aligns every pair with the model in `dir` (argmax links of the chosen head); a
/// pair that cannot be aligned is reported and left without links.
fn align_pairs(pairs: &mut [Pair], dir: &Path, args: &PairsArgs) -> anyhow::Result<()> {
    super::set_threads(args.threads)?;
    anyhow::ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    let translator = Translator::from_dir(dir, &super::device())?;
    let default = translator.model().alignment_head();
    let head = AttentionHead { layer: args.layer.unwrap_or(default.layer), head: args.head };
    let aligner = Aligner::new(translator.model(), translator.tokenizer(), head)?;
    let results = {
        let lines: Vec<(&str, Target)> = pairs.iter().map(|p| (p.source.as_str(), Target::Text(&p.target))).collect();
        aligner.align(&lines, args.batch_size)
    };
    for (pair, result) in pairs.iter_mut().zip(results) {
        match result {
            Ok(alignment) => pair.links = Some(WordLinks::new(&alignment, alignment.pairs(Method::Argmax))),
            Err(err) => eprintln!("tarjim: warning: {}: cannot align: {err}", pair.location),
        }
    }
    Ok(())
}

fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let (pairs, glossary) = read_pairs(&args.pairs)?;
    let mut report = audit::audit(&pairs, &glossary, args.pairs.min_count);
    if let Some(file) = args.pairs.glossaries.last() {
        report.add_to = file.display().to_string();
    }
    let text = match args.format {
        AuditFormat::Markdown => report.markdown(),
        AuditFormat::Html => report.html(),
        AuditFormat::Json => format!("{}\n", serde_json::to_string_pretty(&report.json())?),
    };
    emit(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn suggest(args: SuggestArgs) -> anyhow::Result<ExitCode> {
    let (pairs, glossary) = read_pairs(&args.pairs)?;
    let (evidence, suggestions) = suggest::suggest(&pairs, &Matcher::new(&glossary), args.pairs.min_count);
    emit(args.output.as_deref(), &suggest::suggestions_tsv(&suggestions)?)?;
    eprintln!(
        "tarjim: {} suggestions from {} sentence pairs, renderings by {}",
        suggestions.len(),
        pairs.len(),
        evidence.describe()
    );
    Ok(ExitCode::SUCCESS)
}
