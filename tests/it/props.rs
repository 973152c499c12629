//! Property tests of the parsers and the text functions: arbitrary input never
//! panics, every error names a line of its input, offsets stay inside the text
//! on character boundaries, and glossaries survive a round trip through every
//! format. Each property runs a fixed, small number of cases (`PROPTEST_CASES`
//! raises them for a longer local run); the `fuzz/` crate drives the same entry
//! points for as long as one wants.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::Config;
use serde_json::json;
use tarjim::article::segment::{self, Paragraph};
use tarjim::batch::{Source, discover};
use tarjim::glossary::normalize::{fold, is_removed};
use tarjim::glossary::parse::{self, Columns};
use tarjim::glossary::{Cue, Entry, Glossary, GlossaryError, Kind, Matcher, Origin, ShortForm, Warning};
use tarjim::glossary_tools::formats::{self, FormatError, GlossaryFormat};
use tarjim::glossary_tools::write::write_tsv;
use tarjim::model::{ModelError, read_weights};
use tarjim::tokenizer::{MarianTokenizer, TokenizerError};

use crate::util::repo;

/// `cases` cases, unless `PROPTEST_CASES` asks for another number; failures
/// are shrunk and printed, not written into the source tree.
fn cases(cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config.failure_persistence = None;
    config
}

/// Lines of `bytes` as error positions count them: one more than its line feeds.
fn line_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + 1
}

// ---------------------------------------------------------------------------
// Text strategies

/// One of `texts`.
fn pick(texts: &'static [&'static str]) -> impl Strategy<Value = String> {
    select(texts).prop_map(String::from)
}

/// Arabic letters that folding leaves as they are.
const PLAIN_LETTERS: &str = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي";

/// One piece of Arabic-looking text: letters, alef and ya forms that fold,
/// diacritics and Quranic marks, tatweel, presentation forms (ligatures),
/// invisible format characters, spaces of every kind, punctuation, Latin,
/// digits, or any character at all.
fn fragment() -> BoxedStrategy<String> {
    let chars = |ranges: &'static [(char, char)]| {
        proptest::sample::select(ranges).prop_flat_map(|(lo, hi)| proptest::char::range(lo, hi)).prop_map(String::from)
    };
    prop_oneof![
        8 => chars(&[('\u{0621}', '\u{064A}')]),
        3 => chars(&[
            ('\u{064B}', '\u{065F}'),
            ('\u{0670}', '\u{0670}'),
            ('\u{0610}', '\u{061A}'),
            ('\u{06D6}', '\u{06ED}'),
        ]),
        1 => Just("\u{0640}".to_string()),
        2 => chars(&[('\u{FB50}', '\u{FDFF}'), ('\u{FE70}', '\u{FEFF}')]),
        1 => pick(&["\u{200C}", "\u{200D}", "\u{200E}", "\u{200F}", "\u{FEFF}", "\u{00AD}", "\u{2066}"]),
        3 => pick(&[" ", " ", "  ", "\t", "\n", "\r\n", "\u{00A0}", "\u{3000}", "\u{2028}", "\u{85}"]),
        2 => pick(&[".", "،", ",", "؟", "?", "!", "؛", "…", "«", "»", "\"", ")", "(", "-", ":", "~", "|", "="]),
        1 => chars(&[('a', 'z'), ('A', 'Z'), ('0', '9'), ('\u{0660}', '\u{0669}')]),
        1 => any::<char>().prop_map(String::from),
        2 => pick(&["ال", "و", "ب", "ل", "ك", "ف", "ها", "هم", "ون", "ين", "ة", "ات"]),
        1 => pick(&["أ", "إ", "آ", "ى", "ی", "ک", "ﻻ", "ﷲ"]),
    ]
    .boxed()
}

/// Text made of [`fragment`]s.
fn arabic_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..max).prop_map(|parts| parts.concat())
}

/// The built-in glossary's forms, to put real terms into generated text.
fn builtin_forms() -> Vec<String> {
    let (glossary, _) = Glossary::builtin().expect("built-in glossary");
    glossary.entries().iter().flat_map(|e| e.forms().map(str::to_string).collect::<Vec<_>>()).collect()
}

/// Text that mixes the built-in glossary's terms (with proclitics and
/// suffixes) into [`fragment`]s.
fn text_with_terms(max: usize) -> impl Strategy<Value = String> {
    let forms = builtin_forms();
    let term = (
        select(&["", "", "و", "ب", "ل", "وب", "ال", "فل"][..]),
        select(forms),
        select(&["", "", "ه", "ها", "ون", "ين", "ات", "ية"][..]),
    )
        .prop_map(|(before, form, after)| format!(" {before}{form}{after} "));
    let piece = prop_oneof![3 => fragment(), 2 => term, 2 => Just(" ".to_string())];
    prop::collection::vec(piece, 0..max).prop_map(|parts| parts.concat())
}

/// An Arabic word of plain letters (1 to 5).
fn plain_word() -> impl Strategy<Value = String> {
    let letters: Vec<char> = PLAIN_LETTERS.chars().collect();
    prop::collection::vec(select(letters), 1..6).prop_map(|cs| cs.into_iter().collect())
}

// ---------------------------------------------------------------------------
// SentencePiece models and vocab.json

/// A small protobuf writer.
#[derive(Default)]
struct Proto(Vec<u8>);

impl Proto {
    fn varint(&mut self, mut v: u64) -> &mut Self {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return self;
            }
            self.0.push(byte | 0x80);
        }
    }
    fn uint(&mut self, number: u32, v: u64) -> &mut Self {
        self.varint(u64::from(number) << 3).varint(v)
    }
    fn bytes(&mut self, number: u32, b: &[u8]) -> &mut Self {
        self.varint((u64::from(number) << 3) | 2).varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    fn float(&mut self, number: u32, f: f32) -> &mut Self {
        self.varint((u64::from(number) << 3) | 5);
        self.0.extend_from_slice(&f.to_le_bytes());
        self
    }
}

/// One generated piece: text, score, type on the wire.
type GenPiece = (String, f32, u64);

/// The pieces every generated model has: the specials, then `▁` and letters.
fn base_pieces() -> Vec<GenPiece> {
    let mut pieces = vec![("<unk>".to_string(), 0.0, 2), ("</s>".to_string(), 0.0, 3), ("<pad>".to_string(), 0.0, 3)];
    pieces.push(("\u{2581}".to_string(), -2.0, 1));
    pieces.extend(PLAIN_LETTERS.chars().map(|c| (c.to_string(), -5.0, 1)));
    pieces
}

/// A generated piece: Arabic letters, `▁`, Latin, or any text.
fn gen_piece() -> impl Strategy<Value = GenPiece> {
    let text = prop_oneof![
        4 => (prop::option::of(Just("\u{2581}")), plain_word()).prop_map(|(s, w)| format!("{}{w}", s.unwrap_or(""))),
        1 => "[a-z\u{2581}]{1,4}",
        1 => any::<String>(),
    ];
    let score = prop_oneof![4 => -20.0f32..0.0, 1 => any::<f32>()];
    let kind = prop_oneof![80 => Just(1u64), 10 => Just(4u64), 5 => Just(3u64), 5 => Just(5u64), 1 => any::<u64>()];
    (text, score, kind)
}

/// A `precompiled_charsmap` blob: a double-array trie of random units (small
/// offsets, so that lookups walk it) and replacement strings, or any bytes.
fn charsmap() -> impl Strategy<Value = Vec<u8>> {
    let unit = prop_oneof![
        3 => (0u32..64, 0u32..0x200, any::<bool>())
            .prop_map(|(offset, label, leaf)| (offset << 10) | label | (u32::from(leaf) << 8)),
        1 => (0u32..64).prop_map(|value| value | (1 << 31)),
        1 => any::<u32>(),
    ];
    let structured = (prop::collection::vec(unit, 1..300), "([a-z \u{0627}\u{0644}]{0,3}\u{0}){1,6}").prop_map(
        |(units, strings)| {
            let mut blob = ((units.len() * 4) as u32).to_le_bytes().to_vec();
            blob.extend(units.iter().flat_map(|u| u.to_le_bytes()));
            blob.extend_from_slice(strings.as_bytes());
            blob
        },
    );
    prop_oneof![4 => structured, 1 => prop::collection::vec(any::<u8>(), 0..64)]
}

/// A serialized model from generated pieces and specs.
fn gen_model() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(gen_piece(), 0..40),
        prop::option::of(charsmap()),
        any::<[bool; 5]>(),
        prop_oneof![8 => Just(None), 1 => (0u64..6).prop_map(Some)],
        any::<bool>(),
        prop_oneof![8 => Just(false), 1 => Just(true)],
    )
        .prop_map(|(extra, charsmap, flags, model_type, shuffle, repeat)| {
            let mut pieces = base_pieces();
            for piece in extra {
                // A repeated piece makes the model invalid: at times only.
                if repeat || pieces.iter().all(|p| p.0 != piece.0) {
                    pieces.push(piece);
                }
            }
            if shuffle {
                pieces.reverse();
            }
            let mut model = Proto::default();
            for (text, score, kind) in &pieces {
                let mut piece = Proto::default();
                piece.bytes(1, text.as_bytes()).float(2, *score).uint(3, *kind);
                model.bytes(1, &piece.0);
            }
            let mut trainer = Proto::default();
            if let Some(model_type) = model_type {
                trainer.uint(3, model_type);
            }
            trainer.uint(24, u64::from(flags[0])).bytes(44, " ?? ".as_bytes());
            model.bytes(2, &trainer.0);
            let mut normalizer = Proto::default();
            if let Some(map) = &charsmap {
                normalizer.bytes(2, map);
            }
            normalizer.uint(3, u64::from(flags[1])).uint(4, u64::from(flags[2])).uint(5, u64::from(flags[3]));
            model.bytes(3, &normalizer.0);
            if flags[4] {
                model.bytes(5, &normalizer.0);
            }
            model.0
        })
}

/// `vocab.json` of the base pieces: the pieces generated beyond them are
/// `<unk>` to it.
fn base_vocab() -> Vec<u8> {
    let map: serde_json::Map<String, serde_json::Value> =
        base_pieces().into_iter().enumerate().map(|(i, (text, _, _))| (text, json!(i))).collect();
    serde_json::to_vec(&map).expect("vocab")
}

/// Writes the tokenizer files into `dir` and loads them.
fn load_tokenizer(dir: &Path, source: &[u8], target: &[u8], vocab: &[u8]) -> Result<MarianTokenizer, TokenizerError> {
    let paths = ["source.spm", "target.spm", "vocab.json"].map(|name| dir.join(name));
    for (path, bytes) in paths.iter().zip([source, target, vocab]) {
        std::fs::write(path, bytes).expect("write tokenizer file");
    }
    MarianTokenizer::from_files(&paths[0], &paths[1], &paths[2], None)
}

/// A model file's own error: invalid or unsupported.
fn is_model_error(err: &TokenizerError) -> bool {
    matches!(err, TokenizerError::InvalidModel { .. } | TokenizerError::UnsupportedModel { .. })
}

/// The error names the file it is about.
fn assert_names_file(err: &TokenizerError, dir: &Path) {
    let message = err.to_string();
    assert!(message.starts_with(&dir.display().to_string()), "{message}");
}

/// Encodes and decodes `text` with a loaded tokenizer: no panic, every token's
/// span lies inside the text on character boundaries, and `</s>` ends it.
fn exercise(tokenizer: &MarianTokenizer, text: &str) {
    let tokens = tokenizer.encode_tokens(text);
    let last = tokens.last().expect("at least </s>");
    assert_eq!((last.id, last.span.clone()), (tokenizer.eos_id(), text.len()..text.len()));
    for token in tokens.iter().chain(&tokenizer.encode_target_tokens(text)) {
        let span = &token.span;
        assert!(span.start <= span.end && span.end <= text.len(), "{token:?} in {text:?}");
        assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end), "{token:?} in {text:?}");
    }
    let ids: Vec<u32> = tokens.iter().map(|t| t.id).chain([u32::MAX, 0, 7]).collect();
    let _ = tokenizer.decode(&ids);
    let _ = tokenizer.encode_target(text);
    let normalized = tokenizer.source_normalizer().normalize(text);
    assert_eq!(normalized.offsets.len(), normalized.text.len() + 1, "{normalized:?}");
    assert!(normalized.offsets.iter().all(|&at| at <= text.len()), "{normalized:?} of {text:?}");
    let _ = normalized.char_offsets(text);
}

/// A file of the tiny test model.
fn tiny(name: &str) -> Vec<u8> {
    std::fs::read(repo("tests/fixtures/tiny").join(name)).expect("tiny fixture")
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn sentencepiece_model_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let vocab = base_vocab();
        match load_tokenizer(dir.path(), &bytes, &bytes, &vocab) {
            Ok(tokenizer) => exercise(&tokenizer, "قال الرئيس ﻻ إنَّ"),
            Err(err) => {
                assert!(is_model_error(&err), "{err}");
                assert_names_file(&err, dir.path());
            }
        }
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn generated_sentencepiece_models_load_or_fail_cleanly(model in gen_model(), text in arabic_text(30)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let vocab = base_vocab();
        match load_tokenizer(dir.path(), &model, &model, &vocab) {
            Ok(tokenizer) => exercise(&tokenizer, &text),
            Err(err) => {
                assert!(is_model_error(&err), "{err}");
                assert_names_file(&err, dir.path());
            }
        }
    }
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn corrupted_tiny_model_loads_or_fails_cleanly(
        edits in prop::collection::vec((any::<Index>(), any::<u8>()), 1..16),
        cut in prop_oneof![5 => Just(None), 1 => any::<Index>().prop_map(Some)],
        text in arabic_text(30),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut model = tiny("source.spm");
        for (at, byte) in edits {
            let at = at.index(model.len());
            model[at] = byte;
        }
        if let Some(cut) = cut {
            model.truncate(cut.index(model.len()));
        }
        match load_tokenizer(dir.path(), &model, &tiny("target.spm"), &tiny("vocab.json")) {
            Ok(tokenizer) => exercise(&tokenizer, &text),
            Err(err) => assert_names_file(&err, dir.path()),
        }
    }
}

/// A JSON value of any shape, numbers of every range included.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        (0u64..64).prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".*".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::vec(("[a-z<>/]{0,5}", inner), 0..4)
                .prop_map(|fields| serde_json::Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// `vocab.json` text: an object of pieces (the specials among them at times)
/// with ids of any JSON type, or a value of another shape.
fn vocab_json() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![pick(&["</s>", "<unk>", "<pad>", "\u{2581}", "ا"]), ".{0,6}"];
    let id = prop_oneof![16 => (0u64..64).prop_map(serde_json::Value::from), 1 => json_value()];
    let object = (any::<bool>(), prop::collection::vec((key, id), 0..12)).prop_map(|(specials, fields)| {
        let specials = if specials { r#""</s>": 0, "<unk>": 1, "<pad>": 2"# } else { "" };
        let body: Vec<String> = std::iter::once(specials.to_string())
            .filter(|s| !s.is_empty())
            .chain(fields.iter().map(|(k, v)| format!("{}: {v}", serde_json::Value::from(k.as_str()))))
            .collect();
        format!("{{{}}}", body.join(", ")).into_bytes()
    });
    prop_oneof![
        4 => object,
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn vocab_json_never_panics(vocab in vocab_json(), text in arabic_text(20)) {
        let dir = tempfile::tempdir().expect("temp dir");
        match load_tokenizer(dir.path(), &tiny("source.spm"), &tiny("target.spm"), &vocab) {
            Ok(tokenizer) => exercise(&tokenizer, &text),
            Err(err) => {
                assert!(matches!(err, TokenizerError::InvalidVocab { .. }), "{err}");
                assert_names_file(&err, dir.path());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Glossary files

/// Arabic text that is a valid glossary form: plain words, at times with a
/// diacritic or tatweel, ending with `tag` (which keeps forms apart when folded).
fn form(tag: String) -> impl Strategy<Value = String> {
    (prop::collection::vec(plain_word(), 0..3), select(&["", "", "\u{064E}", "\u{0651}", "\u{0640}"][..])).prop_map(
        move |(mut words, mark)| {
            if let Some(first) = words.first_mut() {
                first.push_str(mark);
            }
            words.push(tag.clone());
            words.join(" ")
        },
    )
}

/// A tag of plain letters that no other (entry, form) pair has.
fn tag(entry: usize, form: usize) -> String {
    let letters: Vec<char> = PLAIN_LETTERS.chars().collect();
    let mut n = entry * 16 + form;
    let mut out = String::from("ظظ");
    loop {
        out.push(letters[n % letters.len()]);
        n /= letters.len();
        if n == 0 {
            return out;
        }
    }
}

/// An English rendering: words with characters CSV and XML must escape.
fn english() -> impl Strategy<Value = String> {
    prop::collection::vec("[A-Z][a-z]{0,6}|al-[A-Z][a-z]{1,5}|&|\"Q\"|<x>|a,b|=|'s", 1..4).prop_map(|w| w.join(" "))
}

/// A note: free text without tabs or line breaks, not starting with a cue's prefix.
fn note() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "N[a-z ,;\"'&<>|=#~]{0,12}[a-z.]", "N \u{0628}\u{0644}  [a-z]{1,4}"]
}

/// A context cue, as the glossary writes it.
fn cue() -> impl Strategy<Value = Cue> {
    (
        prop::collection::vec(plain_word(), 0..3),
        prop::option::of(select(&["", "ب", "و", "ل", "وب"][..])),
        prop::collection::vec(plain_word(), 0..2),
    )
        .prop_filter_map("not a cue", |(before, tilde, after)| {
            let mut parts = before;
            if let Some(proclitic) = tilde {
                parts.push(format!("{proclitic}~"));
            }
            parts.extend(after);
            Cue::parse(&parts.join(" ")).ok()
        })
}

/// Any kind.
fn kind() -> impl Strategy<Value = Kind> {
    select(&[Kind::Org, Kind::Person, Kind::Place, Kind::Other][..])
}

/// Origins do not take part in comparisons of entries read back.
fn without_origin(entries: &[Entry]) -> Vec<Entry> {
    entries.iter().map(|e| Entry { origin: Origin { file: String::new(), line: 0 }, ..e.clone() }).collect()
}

/// Entry `i`: every Arabic form distinct from all others once folded; with
/// `senses`, short forms, ambiguous forms (a subsequence of the forms, spelled
/// as they are) and cues.
fn entry(i: usize, senses: bool) -> impl Strategy<Value = Entry> {
    let shorts = if senses { 0..3usize } else { 0..1 };
    (
        form(tag(i, 0)),
        english(),
        kind(),
        prop::collection::vec(Just(()), 0..3),
        note(),
        prop::collection::vec(english(), shorts),
        if senses { any::<u16>().boxed() } else { Just(0u16).boxed() },
        prop::collection::vec(cue(), if senses { 0..3 } else { 0..1 }),
        0..3usize,
    )
        .prop_flat_map(move |(arabic, english, kind, variants, note, short_english, ambiguous, cues, refuted)| {
            let variant_forms: Vec<_> = (0..variants.len()).map(|j| form(tag(i, 1 + j))).collect();
            let short_forms: Vec<_> = (0..short_english.len()).map(|j| form(tag(i, 8 + j))).collect();
            (variant_forms, short_forms).prop_map(move |(variants, shorts)| {
                let origin = Origin { file: String::new(), line: 0 };
                let mut entry = Entry::new(&arabic, &english, kind, variants, &note, origin);
                entry.short = shorts
                    .into_iter()
                    .zip(&short_english)
                    .map(|(arabic, english)| ShortForm { arabic, english: english.clone() })
                    .collect();
                let forms: Vec<String> = entry.forms().map(str::to_string).collect();
                entry.ambiguous =
                    forms.into_iter().enumerate().filter(|(k, _)| (ambiguous >> k) & 1 == 1).map(|(_, f)| f).collect();
                let split = refuted.min(cues.len());
                entry.confirm = cues[split..].to_vec();
                entry.refute = cues[..split].to_vec();
                entry
            })
        })
}

/// 0 to 6 entries whose forms never fold alike; with `senses`, they may use
/// the sense columns.
fn entries(senses: bool) -> impl Strategy<Value = Vec<Entry>> {
    (0..7usize).prop_flat_map(move |n| (0..n).map(|i| entry(i, senses)).collect::<Vec<_>>())
}

/// Either layout.
fn columns() -> impl Strategy<Value = Columns> {
    select(&[Columns::Basic, Columns::Senses][..])
}

/// A field of any glossary column, or something no column takes.
fn tsv_field() -> impl Strategy<Value = String> {
    prop_oneof![
        plain_word(),
        arabic_text(6),
        Just(String::new()),
        Just("  ".to_string()),
        pick(&["org", "person", "place", "other", "thing", "Org"]),
        (plain_word(), english()).prop_map(|(a, e)| format!("{a}={e}")),
        prop::collection::vec(plain_word(), 0..3).prop_map(|w| w.join("|")),
        cue().prop_map(|c| c.text().to_string()),
        Just("ب ~ ~".to_string()),
        Just("#".to_string()),
        Just("a\tb".to_string()),
        english(),
    ]
}

/// Glossary-like TSV: a written glossary with fields, lines and bytes
/// replaced, or lines of any fields; with CRLF, a byte-order mark, comments,
/// blank lines and invalid UTF-8.
fn tsv_like() -> impl Strategy<Value = Vec<u8>> {
    let edited = (
        entries(true),
        columns(),
        prop::collection::vec((any::<Index>(), any::<Index>(), tsv_field()), 0..3),
        prop::option::of((any::<Index>(), select(&["# comment", "", "  ", parse::HEADER][..]))),
    )
        .prop_map(|(entries, columns, edits, insert)| {
            let text = write_tsv(&entries, columns).expect("generated entries are writable");
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            for (line, field, junk) in edits {
                let n = lines.len();
                let line = &mut lines[line.index(n)];
                let mut fields: Vec<&str> = line.split('\t').collect();
                let at = field.index(fields.len());
                fields[at] = &junk;
                *line = fields.join("\t");
            }
            if let Some((at, line)) = insert {
                lines.insert(at.index(lines.len() + 1), line.to_string());
            }
            lines
        });
    let line = prop_oneof![
        6 => prop::collection::vec(tsv_field(), 0..11).prop_map(|fields| fields.join("\t")),
        1 => Just(parse::HEADER.to_string()),
        1 => Just(parse::HEADER_SENSES.to_string()),
        1 => Just("# comment".to_string()),
        1 => Just(String::new()),
    ];
    let lines = prop_oneof![3 => edited, 1 => prop::collection::vec(line, 0..8)];
    let bad = prop_oneof![3 => Just(None), 1 => (any::<Index>(), select(BAD_UTF8)).prop_map(Some)];
    (any::<bool>(), lines, any::<Index>(), bad).prop_map(|(bom, lines, crlf, bad)| {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice("\u{FEFF}".as_bytes());
        }
        // CRLF from some line on.
        let crlf = crlf.index(lines.len() + 2);
        for (i, line) in lines.iter().enumerate() {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(if i >= crlf { b"\r\n" } else { b"\n" });
        }
        if let Some((at, bytes)) = bad {
            let at = at.index(out.len() + 1);
            out.splice(at..at, bytes.iter().copied());
        }
        out
    })
}

/// Byte sequences that are not UTF-8 (and a NUL, which is).
const BAD_UTF8: &[&[u8]] = &[b"\xff", b"\xd8", b"\xe2\x82", b"\0"];

/// The lines of a glossary file as its parser numbers them (byte-order mark and
/// CR left out), each as characters.
fn lines_of(bytes: &[u8]) -> Vec<String> {
    let body = bytes.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(bytes);
    body.split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned())
        .collect()
}

/// `line` and `column` point into `lines`: the column at most one past the line's end.
fn assert_within(lines: &[String], line: usize, column: usize, what: &dyn std::fmt::Display) {
    assert!((1..=lines.len()).contains(&line), "line {line} of {}: {what}", lines.len());
    let chars = lines[line - 1].chars().count();
    assert!((1..=chars + 1).contains(&column), "column {column} of {chars}: {what}");
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn glossary_tsv_errors_name_a_line_of_the_input(
        bytes in prop_oneof![4 => tsv_like(), 1 => prop::collection::vec(any::<u8>(), 0..64)],
    ) {
        let lines = lines_of(&bytes);
        let parsed = parse::parse_all(&bytes, "g.tsv");
        for err in &parsed.errors {
            match err {
                GlossaryError::Parse { file, line, column, .. } => {
                    assert_eq!(file, "g.tsv");
                    assert_within(&lines, *line, *column, err);
                }
                other => panic!("not a parse error: {other}"),
            }
        }
        for warning in &parsed.warnings {
            match warning {
                Warning::Crlf { line, .. } | Warning::RedundantVariant { line, .. } => {
                    assert_within(&lines, *line, 1, warning)
                }
                Warning::Whitespace { line, column, .. } => assert_within(&lines, *line, *column, warning),
                Warning::Bom { .. } => assert!(bytes.starts_with("\u{FEFF}".as_bytes())),
                other => panic!("unexpected warning {other}"),
            }
        }
        for entry in &parsed.entries {
            assert_within(&lines, entry.origin.line, 1, &entry.origin);
        }
        // A glossary that reads without error also loads.
        if parsed.errors.is_empty() {
            let mut glossary = Glossary::new();
            if let Err(err) = glossary.add(&bytes, "g.tsv") {
                match &err {
                    GlossaryError::Conflict { second, first_line, .. } => {
                        assert_within(&lines, second.line, 1, &err);
                        assert_within(&lines, *first_line, 1, &err);
                    }
                    other => panic!("{other}"),
                }
            }
        }
    }

    #[test]
    fn glossary_tsv_round_trips(entries in entries(true), columns in columns()) {
        let text = write_tsv(&entries, columns).expect("generated entries are writable");
        let (read, warnings, read_columns) =
            parse::parse_with_columns(text.as_bytes(), "g.tsv").expect("written file parses");
        prop_assert!(warnings.is_empty(), "{warnings:?}");
        prop_assert_eq!(read_columns, columns.max(Columns::for_entries(&entries)));
        let mut expected = without_origin(&entries);
        expected.sort_by(|a, b| a.arabic.cmp(&b.arabic).then_with(|| a.english.cmp(&b.english)));
        prop_assert_eq!(without_origin(&read), expected);
        prop_assert_eq!(write_tsv(&read, read_columns).expect("rewrite"), text);
    }
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn glossary_csv_and_tbx_round_trip(entries in entries(true), columns in columns(), tbx in any::<bool>()) {
        let format = if tbx { GlossaryFormat::Tbx } else { GlossaryFormat::Csv };
        let exported = formats::export(&entries, columns, format).expect("generated entries export");
        prop_assert!(exported.losses.is_empty(), "{:?}", exported.losses);
        let imported = formats::import(exported.text.as_bytes(), "g", format, Kind::Other).expect("export imports");
        prop_assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
        prop_assert_eq!(imported.columns, columns.max(Columns::for_entries(&entries)));
        prop_assert_eq!(without_origin(&imported.entries), without_origin(&entries));
    }

    #[test]
    fn glossary_two_column_formats_round_trip(
        entries in entries(false),
        kind in kind(),
        format in select(&[GlossaryFormat::Deepl, GlossaryFormat::Google, GlossaryFormat::Amazon][..]),
    ) {
        // What the two columns hold: a term and its rendering.
        let entries: Vec<Entry> = entries
            .into_iter()
            .map(|e| Entry::new(&e.arabic, &e.english, kind, Vec::new(), "", e.origin))
            .collect();
        let exported = formats::export(&entries, Columns::Basic, format).expect("export");
        prop_assert!(exported.losses.is_empty() || kind != Kind::Other, "{:?}", exported.losses);
        let imported = formats::import(exported.text.as_bytes(), "g", format, kind).expect("export imports");
        prop_assert_eq!(without_origin(&imported.entries), without_origin(&entries));
    }
}

/// Text in the shape of a format: fragments of valid files, broken markup and
/// quoting, or a valid export with a piece cut out or put in.
fn format_like(format: GlossaryFormat) -> BoxedStrategy<Vec<u8>> {
    let pieces: &'static [&'static str] = match format {
        GlossaryFormat::Tbx => &[
            "<?xml version=\"1.0\"?>",
            "<?tarjim columns=\"9\"?>",
            "<?tarjim x?>",
            "<tbx>",
            "</tbx>",
            "<martif>",
            "<text><body>",
            "<conceptEntry id=\"c1\">",
            "</conceptEntry>",
            "<termEntry>",
            "<langSec xml:lang=\"ar\">",
            "<langSec xml:lang=\"en\">",
            "<langSet xml:lang='AR-eg'>",
            "</langSec>",
            "<termSec>",
            "</termSec>",
            "<tig>",
            "<term>",
            "</term>",
            "<termNote type=\"termType\">shortForm</termNote>",
            "<termNote type=\"usageNote\">ambiguous</termNote>",
            "<termNote type=\"administrativeStatus\">preferredTerm-admn-sts</termNote>",
            "<descrip type=\"subjectField\">org</descrip>",
            "<descrip type=\"subjectField\">rock</descrip>",
            "<note>confirm: قناة ~</note>",
            "<note>refute: ~ ~</note>",
            "<note>",
            "</note>",
            "<term/>",
            "<![CDATA[ك|ب]]>",
            "<!-- c -->",
            "<!DOCTYPE tbx>",
            "&amp;",
            "&#0;",
            "&#x110000;",
            "&nbsp;",
            "&",
            "<",
            "حزب الله",
            "Hezbollah",
            "ك=Q",
            "\n",
            " ",
            "\r\n",
            "<a b=\"1\" b=\"2\">",
            "<x:y xmlns:x=\"u\">",
        ],
        _ => &[
            "arabic,english,kind,variants,note",
            "arabic,english,kind,variants,note,short,ambiguous,confirm,refute",
            "ar,en",
            "AR , EN",
            ",",
            "\"",
            "\"\"",
            "\n",
            "\r\n",
            "\r",
            "حزب الله",
            "Hezbollah",
            "org",
            "person",
            "a|b",
            "ب|ت",
            "ترامب=Trump",
            "قناة ~",
            "#",
            " ",
            "\u{FEFF}",
        ],
    };
    let fragments =
        prop::collection::vec(prop_oneof![4 => pick(pieces), 1 => plain_word(), 1 => arabic_text(4)], 0..24)
            .prop_map(|parts| parts.concat().into_bytes());
    let edit = (any::<Index>(), 0usize..12, prop::collection::vec(select(pieces), 0..2));
    let spliced = (entries(true), prop::collection::vec(edit, 0..3)).prop_map(move |(entries, edits)| {
        let mut text = formats::export(&entries, Columns::Basic, format).map(|e| e.text).unwrap_or_default();
        for (at, cut, insert) in edits {
            let mut at = at.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + cut).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.replace_range(at..end, &insert.concat());
        }
        text.into_bytes()
    });
    prop_oneof![3 => fragments, 2 => spliced, 1 => prop::collection::vec(any::<u8>(), 0..64)].boxed()
}

/// Any format.
fn format() -> impl Strategy<Value = GlossaryFormat> {
    select(
        &[
            GlossaryFormat::Csv,
            GlossaryFormat::Tbx,
            GlossaryFormat::Deepl,
            GlossaryFormat::Google,
            GlossaryFormat::Amazon,
        ][..],
    )
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn glossary_import_errors_name_a_line_of_the_input(
        (format, bytes) in format().prop_flat_map(|f| (Just(f), format_like(f))),
        kind in kind(),
    ) {
        let lines = line_count(&bytes);
        let within = |line: usize, what: &dyn std::fmt::Display| {
            assert!((1..=lines).contains(&line), "line {line} of {lines}: {what}");
        };
        match formats::import(&bytes, "g", format, kind) {
            Ok(imported) => {
                for entry in &imported.entries {
                    within(entry.origin.line, &entry.origin);
                }
            }
            Err(err) => match &err {
                FormatError::Utf8 { line, column, .. } | FormatError::Xml { line, column, .. } => {
                    within(*line, &err);
                    assert!(*column >= 1, "{err}");
                }
                FormatError::Row { line, .. } => within(*line, &err),
                FormatError::Glossary(GlossaryError::Conflict { second, first_line, .. }) => {
                    within(second.line, &err);
                    within(*first_line, &err);
                }
                other => panic!("{format}: unexpected error {other}"),
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Batch JSON-lines documents

/// JSON-lines input: documents with ids of every sort (paths, `..`, controls,
/// numbers, other JSON), broken lines, blank lines, invalid UTF-8.
fn jsonl_like() -> impl Strategy<Value = Vec<u8>> {
    let id = prop_oneof![
        "[a-z0-9]{0,6}".prop_map(serde_json::Value::from),
        select(&["..", ".", "../../etc/passwd", "/abs", "a/../../b", "C:\\x", ".hidden", "a//b", "\u{0}", ""][..])
            .prop_map(serde_json::Value::from),
        ".{0,8}".prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
    ];
    let document = (id, arabic_text(8), any::<bool>()).prop_map(|(id, text, extra)| {
        let mut doc = json!({ "id": id, "text": text });
        if extra {
            doc["source"] = json!("x");
        }
        doc.to_string()
    });
    let line = prop_oneof![
        30 => document,
        1 => Just(String::new()),
        1 => Just("  \t".to_string()),
        1 => Just("{\"id\": 1}".to_string()),
        1 => Just("{\"id\": 1, \"text\": 2}".to_string()),
        1 => Just("[1, 2]".to_string()),
        1 => ".{0,12}",
    ];
    let bad = prop_oneof![4 => Just(None), 1 => (any::<Index>(), any::<u8>()).prop_map(Some)];
    (prop::collection::vec((line, any::<bool>()), 0..8), bad).prop_map(|(lines, bad)| {
        let mut out = Vec::new();
        for (line, crlf) in lines {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        if let Some((at, byte)) = bad {
            let at = at.index(out.len() + 1);
            out.insert(at, byte);
        }
        out
    })
}

/// Whether `path` is relative and goes nowhere above its base.
fn stays_inside(path: &Path) -> bool {
    path.components().all(|c| matches!(c, std::path::Component::Normal(_)))
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn jsonl_documents_never_escape_and_errors_name_a_line(
        bytes in prop_oneof![4 => jsonl_like(), 1 => prop::collection::vec(any::<u8>(), 0..64)],
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("docs.jsonl");
        std::fs::write(&path, &bytes).expect("write");
        let lines = line_count(&bytes);
        // A bad line costs only itself: it comes back as a notice naming it.
        let found = discover(std::slice::from_ref(&path)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut ids = std::collections::HashSet::new();
        for doc in &found.documents {
            prop_assert!(stays_inside(&doc.stem), "{:?}", doc.stem);
            prop_assert!(doc.stem.starts_with("docs"), "{:?}", doc.stem);
            prop_assert!(ids.insert(doc.id.clone()), "id {} twice", doc.id);
            match &doc.source {
                Source::Inline { file, line, .. } => {
                    prop_assert_eq!(file, &path);
                    prop_assert!((1..=lines).contains(line));
                }
                Source::File(other) => panic!("a JSON-lines document read as file {other:?}"),
            }
        }
        for notice in &found.notices {
            prop_assert_eq!(&notice.path, &path);
            if let Some(line) = notice.line {
                prop_assert!((1..=lines).contains(&line), "line {} of {}: {}", line, lines, notice.problem);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Safetensors headers

/// A safetensors file: a header of tensors with dtypes, shapes (huge and zero
/// dimensions included) and offsets (consistent or not), padded or not, and a
/// data section of the declared length or another.
fn safetensors_like() -> impl Strategy<Value = Vec<u8>> {
    let dim = prop_oneof![
        12 => 1usize..5,
        2 => Just(0usize),
        1 => Just(usize::MAX),
        1 => Just((1usize << 61) - 1),
        1 => Just(1usize << 32),
        1 => any::<usize>(),
    ];
    let dtype = prop_oneof![
        4 => select(&["F32", "F16", "BF16"][..]),
        1 => select(&["U8", "I64", "F64", "BOOL", "F8_E4M3", "F4", "Q"][..]),
    ];
    let offsets = prop_oneof![6 => Just(None), 1 => (any::<u64>(), any::<u64>()).prop_map(Some)];
    let tensor = ("[a-z.]{1,8}", dtype, prop::collection::vec(dim, 0..4), offsets);
    (
        prop::collection::vec(tensor, 0..5),
        any::<bool>(),
        0usize..9,
        prop_oneof![8 => Just(None), 1 => any::<u64>().prop_map(Some)],
        prop_oneof![4 => Just(None), 1 => (0usize..64).prop_map(Some)],
    )
        .prop_map(|(tensors, metadata, padding, header_len, data_len)| {
            let mut header = serde_json::Map::new();
            if metadata {
                header.insert("__metadata__".into(), json!({"format": "pt"}));
            }
            let mut offset = 0u64;
            for (name, dtype, shape, offsets) in tensors {
                let bits: u64 = match dtype {
                    "F64" | "I64" => 64,
                    "F32" => 32,
                    "F16" | "BF16" => 16,
                    "F4" => 4,
                    _ => 8,
                };
                let size =
                    shape.iter().try_fold(bits, |acc, &d| acc.checked_mul(d as u64)).map_or(u64::MAX / 2, |b| b / 8);
                let (start, end) = offsets.unwrap_or((offset, offset.saturating_add(size)));
                offset = end;
                header.insert(name, json!({"dtype": dtype, "shape": shape, "data_offsets": [start, end]}));
            }
            let mut json = serde_json::to_vec(&header).expect("header");
            json.extend(std::iter::repeat_n(b' ', padding));
            let mut file = header_len.unwrap_or(json.len() as u64).to_le_bytes().to_vec();
            file.extend_from_slice(&json);
            let data = data_len.map_or(offset.min(4096), |n| n as u64);
            file.extend(std::iter::repeat_n(0x3fu8, data as usize));
            file
        })
}

/// `read_weights` gave tensors the model can take, or an error naming `path`.
fn assert_weights_result(result: Result<HashMap<String, candle_core::Tensor>, ModelError>, path: &Path) {
    match result {
        Ok(tensors) => {
            for (name, tensor) in tensors {
                assert!(
                    matches!(
                        tensor.dtype(),
                        candle_core::DType::F32 | candle_core::DType::F16 | candle_core::DType::BF16
                    ),
                    "{name}"
                );
            }
        }
        Err(ModelError::Weights { path: at, .. }) => assert_eq!(at, path),
        Err(other) => panic!("{other}"),
    }
}

proptest! {
    #![proptest_config(cases(384))]

    #[test]
    fn safetensors_headers_never_panic(
        bytes in prop_oneof![3 => safetensors_like(), 1 => prop::collection::vec(any::<u8>(), 0..64)],
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("model.safetensors");
        std::fs::write(&path, &bytes).expect("write");
        assert_weights_result(read_weights(&path), &path);
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn corrupted_legacy_torch_files_read_or_fail_cleanly(
        edits in prop::collection::vec((any::<Index>(), any::<u8>()), 0..8),
        insert in prop_oneof![3 => Just(None), 1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(Some)],
        cut in prop_oneof![3 => Just(None), 1 => any::<Index>().prop_map(Some)],
    ) {
        let mut bytes = std::fs::read(repo("tests/fixtures/legacy/views.bin")).expect("fixture");
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        if let Some((at, extra)) = insert {
            let at = at.index(bytes.len());
            bytes.splice(at..at, extra);
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("pytorch_model.bin");
        std::fs::write(&path, &bytes).expect("write");
        assert_weights_result(read_weights(&path), &path);
    }
}

/// Writes a safetensors file of `header` (a JSON object) and `data` bytes.
fn safetensors_file(dir: &Path, header: &serde_json::Value, data: usize) -> PathBuf {
    let json = header.to_string();
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(json.as_bytes());
    bytes.extend(std::iter::repeat_n(0u8, data));
    let path = dir.join("model.safetensors");
    std::fs::write(&path, bytes).expect("write");
    path
}

/// Eight tensors of 2^61 - 1 bytes each: their data and the header together
/// are longer than a `u64` counts.
#[test]
fn safetensors_data_past_u64_is_an_error_not_an_overflow() {
    let dir = tempfile::tempdir().expect("temp dir");
    let size = (1u64 << 61) - 1;
    let header: serde_json::Map<String, serde_json::Value> = (0..8u64)
        .map(|i| (format!("t{i}"), json!({"dtype": "U8", "shape": [size], "data_offsets": [i * size, (i + 1) * size]})))
        .collect();
    let header = serde_json::Value::Object(header);
    let path = safetensors_file(dir.path(), &header, 0);
    let file_len = 8 + header.to_string().len() as u128;
    let err = read_weights(&path).expect_err("no file holds that much");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: cannot read weights: truncated: the file has {file_len} bytes, its header describes {}",
            path.display(),
            file_len + 8 * u128::from(size)
        )
    );
}

/// A tensor with a zero dimension holds no data, but dimensions whose product
/// overflows still cannot be indexed.
#[test]
fn safetensors_empty_tensor_with_huge_dimensions_is_an_error_not_an_overflow() {
    let dir = tempfile::tempdir().expect("temp dir");
    let header = json!({"t": {"dtype": "F32", "shape": [0, 2, u64::MAX], "data_offsets": [0, 0]}});
    let path = safetensors_file(dir.path(), &header, 0);
    let err = read_weights(&path).expect_err("cannot be indexed");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: cannot read weights: tensor `t` has shape [0, 2, {}], too large to index",
            path.display(),
            u64::MAX
        )
    );
    // With room for its strides, an empty tensor reads.
    let header = json!({"t": {"dtype": "F32", "shape": [0, 3, 1u64 << 40], "data_offsets": [0, 0]}});
    let path = safetensors_file(dir.path(), &header, 0);
    let tensors = read_weights(&path).expect("an empty tensor");
    assert_eq!(tensors["t"].dims(), [0, 3, 1 << 40]);
}

// ---------------------------------------------------------------------------
// Arabic folding and the matcher

proptest! {
    #![proptest_config(cases(2048))]

    #[test]
    fn folding_keeps_an_origin_per_character(text in arabic_text(40)) {
        let folded = fold(&text);
        prop_assert_eq!(folded.origins.len(), folded.text.chars().count());
        for (c, origin) in folded.text.chars().zip(&folded.origins) {
            prop_assert!(origin.start < origin.end && origin.end <= text.len(), "{:?} of {:?}", origin, text);
            prop_assert!(text.is_char_boundary(origin.start) && text.is_char_boundary(origin.end));
            prop_assert!(!is_removed(c) && (c == ' ' || !c.is_whitespace()), "{:?} in {:?}", c, folded.text);
        }
        // Characters of one original character (a decomposed ligature) share its
        // start; the next original character starts after its range ends.
        for pair in folded.origins.windows(2) {
            prop_assert!(
                pair[0].start == pair[1].start || pair[0].end <= pair[1].start,
                "{:?} then {:?} in {:?}", pair[0], pair[1], text
            );
            prop_assert!(pair[0].start <= pair[1].start);
        }
        prop_assert!(!folded.text.starts_with(' ') && !folded.text.ends_with(' ') && !folded.text.contains("  "));
        let n = folded.origins.len();
        for (start, end) in [(0, n), (n / 3, n / 2), (n / 2, n)] {
            if let Some(span) = folded.original_span(start..end) {
                prop_assert!(span.start <= span.end && span.end <= text.len());
                prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
            }
        }
    }
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn matches_lie_inside_the_text_and_never_overlap(text in text_with_terms(24)) {
        static MATCHER: std::sync::OnceLock<(Glossary, Matcher)> = std::sync::OnceLock::new();
        let (glossary, matcher) = MATCHER.get_or_init(|| {
            let (glossary, _) = Glossary::builtin().expect("built-in glossary");
            let matcher = Matcher::new(&glossary);
            (glossary, matcher)
        });
        let found = matcher.find(&text);
        let mut end = 0;
        for m in &found {
            prop_assert!(m.entry < glossary.entries().len());
            prop_assert!(end <= m.prefix.start, "{:?} overlaps the match before it in {:?}", m, text);
            prop_assert!(m.prefix.start <= m.prefix.end && m.prefix.end == m.span.start, "{:?}", m);
            prop_assert!(m.span.start < m.span.end && m.span.end <= text.len(), "{:?} in {:?}", m, text);
            for at in [m.prefix.start, m.span.start, m.span.end] {
                prop_assert!(text.is_char_boundary(at), "{:?} in {:?}", m, text);
            }
            end = m.span.end;
        }
    }
}

/// A glossary form as people write them: a letter, then letters with
/// diacritics, tatweel, ligatures, joiners and spaces.
fn written_form() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        8 => proptest::char::range('\u{0621}', '\u{064A}').prop_map(String::from),
        2 => proptest::char::range('\u{064B}', '\u{0652}').prop_map(String::from),
        1 => pick(&["\u{0640}", "\u{200C}", "\u{200D}", " ", "\u{0670}"]),
        1 => prop_oneof![proptest::char::range('\u{FB50}', '\u{FDFF}'), proptest::char::range('\u{FE70}', '\u{FEFC}')]
            .prop_map(String::from),
    ];
    let letter = proptest::char::range('\u{0621}', '\u{064A}');
    (letter, prop::collection::vec(piece, 0..10)).prop_map(|(first, rest)| format!("{first}{}", rest.concat()))
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn matches_of_written_forms_lie_inside_the_text_and_never_overlap(
        forms in prop::collection::vec((written_form(), kind()), 1..6),
        text in prop::collection::vec(
            prop_oneof![
                2 => fragment(),
                2 => Just(" ".to_string()),
                2 => any::<Index>().prop_map(|i| format!("#{}", i.index(6))),
            ],
            0..20,
        ),
    ) {
        let rows: Vec<String> = forms.iter().map(|(form, kind)| format!("{form}\tName\t{kind}\t\t")).collect();
        let file = format!("{}\n{}\n", parse::HEADER, rows.join("\n"));
        let mut glossary = Glossary::new();
        prop_assume!(glossary.add(file.as_bytes(), "g.tsv").is_ok());
        // `#N` stands for form N (with a proclitic at times).
        let text: String = text
            .iter()
            .enumerate()
            .map(|(i, piece)| match piece.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => format!("{}{}", ["", "و", "بال"][i % 3], forms[n % forms.len()].0),
                None => piece.clone(),
            })
            .collect();
        let found = Matcher::new(&glossary).find(&text);
        let mut end = 0;
        for m in &found {
            prop_assert!(end <= m.prefix.start && m.prefix.end == m.span.start, "{:?} in {:?}", m, text);
            prop_assert!(m.span.start < m.span.end && m.span.end <= text.len(), "{:?} in {:?}", m, text);
            for at in [m.prefix.start, m.span.start, m.span.end] {
                prop_assert!(text.is_char_boundary(at), "{:?} in {:?}", m, text);
            }
            end = m.span.end;
        }
    }

    #[test]
    fn tiny_tokenizer_spans_lie_inside_any_text(
        text in prop::collection::vec(
            prop_oneof![4 => fragment(), 1 => pick(&["</s>", "<unk>", "<pad>", ">>ara<<", ">>", "<<", "\u{2581}"])],
            0..30,
        ),
    ) {
        static TOKENIZER: std::sync::OnceLock<MarianTokenizer> = std::sync::OnceLock::new();
        let tokenizer = TOKENIZER
            .get_or_init(|| MarianTokenizer::from_dir(&repo("tests/fixtures/tiny")).expect("tiny tokenizer"));
        exercise(tokenizer, &text.concat());
    }
}

// ---------------------------------------------------------------------------
// Segmentation

/// Paragraph text: words, terminators and closers, decimals, abbreviations,
/// initials, commas and whitespace.
fn paragraph_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => plain_word(),
        3 => pick(&[" ", " ", "  ", "\t", "\u{00A0}", "\u{3000}", "\u{2028}"]),
        3 => pick(&[".", "!", "?", "؟", "؛", "…", "..", "?!"]),
        1 => pick(&["\"", "'", "»", "”", "’", ")", "]", "}", "›", "«"]),
        1 => pick(&["3.5", "2024.", "د.", "U.S.", "J.", "ق.م.", "etc.", "أ.د."]),
        2 => pick(&["،", ","]),
        1 => fragment(),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|parts| parts.concat())
}

/// `text` without its whitespace.
fn non_space(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

proptest! {
    #![proptest_config(cases(2048))]

    /// `sentences` cuts a paragraph at whitespace into consecutive pieces and
    /// trims them: the paragraph is the sentences in order, each non-empty and
    /// trimmed, separated by (and surrounded with) whitespace only, at least
    /// one whitespace character between two sentences.
    #[test]
    fn sentences_are_the_paragraph_cut_at_whitespace(text in paragraph_text()) {
        let sentences = segment::sentences(&text);
        let mut at = 0;
        for (i, sentence) in sentences.iter().enumerate() {
            prop_assert!(!sentence.is_empty() && sentence.trim() == sentence, "{:?}", sentence);
            let rest = &text[at..];
            let gap = rest.len() - rest.trim_start().len();
            prop_assert!(i == 0 || gap > 0, "no whitespace before {:?} in {:?}", sentence, text);
            prop_assert!(rest[gap..].starts_with(sentence.as_str()), "{:?} is not next in {:?}", sentence, text);
            at += gap + sentence.len();
        }
        prop_assert!(text[at..].trim().is_empty(), "{:?} lost from {:?}", &text[at..], text);
    }

    /// `fit` keeps every non-space character in order, and each piece within
    /// the limit unless it is one word.
    #[test]
    fn fitted_pieces_keep_the_text_and_the_limit(
        text in paragraph_text(),
        max in 1usize..8,
        by_chars in any::<bool>(),
    ) {
        let sentence = text.trim();
        prop_assume!(!sentence.is_empty());
        let count = |s: &str| if by_chars { s.chars().count() / 3 } else { s.split_whitespace().count() };
        let pieces = segment::fit(sentence, max, &count);
        prop_assert_eq!(non_space(&pieces.concat()), non_space(sentence));
        for piece in &pieces {
            prop_assert!(!piece.is_empty() && piece.trim() == piece, "{:?}", piece);
            prop_assert!(count(piece) <= max || !piece.contains(char::is_whitespace), "{:?} over {}", piece, max);
        }
    }

    /// `paragraphs`: one per line with text, numbered by its line, holding that
    /// line's non-space text in order.
    #[test]
    fn paragraphs_keep_every_line_with_text(lines in prop::collection::vec(paragraph_text(), 0..5), max in 1usize..8) {
        let count = |s: &str| s.split_whitespace().count();
        let paragraphs = segment::paragraphs(&lines, max, &count);
        let expected: Vec<usize> = (1..=lines.len()).filter(|&n| !lines[n - 1].trim().is_empty()).collect();
        prop_assert_eq!(paragraphs.iter().map(|p| p.line).collect::<Vec<_>>(), expected);
        for Paragraph { line, sentences } in &paragraphs {
            prop_assert_eq!(non_space(&sentences.concat()), non_space(&lines[line - 1]));
        }
    }
}
