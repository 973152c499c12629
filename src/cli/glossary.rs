//! `tarjim glossary`: checking, converting and editing glossary files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use tarjim::glossary::edit::{self, Added, NewEntry};
use tarjim::glossary::formats::{self, Format};
use tarjim::glossary::lint::{self, Severity};
use tarjim::glossary::parse::{parse, write_tsv};
use tarjim::glossary::{GlossaryError, Kind, dedup};
use tarjim::tokenizer::MarianTokenizer;

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
    /// The five TSV columns as CSV, with a header row.
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

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Csv => Format::Csv,
            FormatArg::Tbx => Format::Tbx,
            FormatArg::Deepl => Format::Deepl,
            FormatArg::Google => Format::Google,
            FormatArg::Amazon => Format::Amazon,
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
}

/// Runs `tarjim glossary`; `Err` means nothing could be done (exit code 2).
pub fn run(args: GlossaryArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        GlossaryCommand::Lint(args) => lint(args),
        GlossaryCommand::Export(args) => export(args),
        GlossaryCommand::Import(args) => import(args),
        GlossaryCommand::Add(args) => add(args),
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Writes `bytes` to `path` through a temporary file in the same directory, renamed
/// over it, so that readers see the old file or the new one and never a part.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().with_context(|| format!("{}: not a file name", path.display()))?;
    let temp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        file.write_all(bytes)?;
        if let Ok(metadata) = std::fs::metadata(path) {
            file.set_permissions(metadata.permissions())?;
        }
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        // Best effort: the temporary file may not exist.
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| format!("{}: cannot write", path.display()))
}

/// Writes `text` to `output`, or to stdout.
fn emit(output: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(path) => write_atomic(path, text.as_bytes()),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            Ok(out.flush()?)
        }
    }
}

fn lint(args: LintArgs) -> anyhow::Result<ExitCode> {
    let tokenizer = match &args.model {
        Some(dir) => {
            Some(MarianTokenizer::from_dir(dir).with_context(|| format!("loading tokenizer {}", dir.display()))?)
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
    let (entries, _) = parse(&read(&args.file)?, &name)?;
    let (entries, _) = dedup(&entries)?;
    let exported = formats::export(&entries, args.to.into())?;
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
    emit(args.output.as_deref(), &write_tsv(&imported.entries)?)?;
    Ok(ExitCode::SUCCESS)
}

fn add(args: AddArgs) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => Some(bytes),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err).with_context(|| format!("{name}: cannot read")),
    };
    let new = NewEntry {
        arabic: &args.arabic,
        english: &args.english,
        kind: args.kind.into(),
        variants: &args.variants,
        note: &args.note,
    };
    match edit::add(bytes.as_deref(), &name, &new) {
        Ok(Added::Inserted { text, entry, warnings }) => {
            for warning in &warnings {
                eprintln!("tarjim: warning: {warning}");
            }
            write_atomic(&args.file, text.as_bytes())?;
            eprintln!("tarjim: {}: added `{}` → `{}`", entry.origin, entry.arabic, entry.english);
            Ok(ExitCode::SUCCESS)
        }
        Ok(Added::Present { origin }) => {
            eprintln!("tarjim: {origin}: the entry is already there; nothing to do");
            Ok(ExitCode::SUCCESS)
        }
        Err(err @ (GlossaryError::Taken { .. } | GlossaryError::Overlaps { .. })) => {
            eprintln!("tarjim: {err}");
            Ok(ExitCode::from(1))
        }
        Err(err) => Err(err.into()),
    }
}
