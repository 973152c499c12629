//! What the fuzz targets share: scratch files for the entry points that read
//! files, a minimal SentencePiece model, and the checks of token spans.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tarjim::tokenizer::MarianTokenizer;

/// This process's own directory under the system's temporary directory (a
/// fuzzer's workers are processes of their own).
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tarjim-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

/// Writes `bytes` to the file `name` of the scratch directory.
pub fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, bytes).expect("scratch file");
    path
}

/// Appends a protobuf varint.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-delimited protobuf field.
fn bytes_field(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    varint(out, (number << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A minimal valid SentencePiece unigram model: `<unk>`, `</s>`, `<pad>`, `▁`
/// and the Arabic letters, without a character map.
pub fn minimal_model() -> Vec<u8> {
    let mut pieces: Vec<(String, u64)> =
        vec![("<unk>".into(), 2), ("</s>".into(), 3), ("<pad>".into(), 3), ("\u{2581}".into(), 1)];
    pieces.extend(('\u{0621}'..='\u{064A}').map(|c| (c.to_string(), 1)));
    let mut model = Vec::new();
    for (text, kind) in &pieces {
        let mut piece = Vec::new();
        bytes_field(&mut piece, 1, text.as_bytes());
        varint(&mut piece, (2 << 3) | 5);
        piece.extend_from_slice(&(-3.0f32).to_le_bytes());
        varint(&mut piece, 3 << 3);
        varint(&mut piece, *kind);
        bytes_field(&mut model, 1, &piece);
    }
    model
}

/// Texts the loaded tokenizers encode.
pub const TEXTS: &[&str] = &["", "قال الرئيس ﻻ إنَّ الحكومةَ", ">>ara<< </s> <unk>x", " \u{200C}\u{0640} ."];

/// Encodes and decodes `text`: every token's span lies inside it on character
/// boundaries, and `</s>` ends the encoding.
pub fn check_tokenizer(tokenizer: &MarianTokenizer, text: &str) {
    let tokens = tokenizer.encode_tokens(text);
    let last = tokens.last().expect("at least </s>");
    assert_eq!((last.id, last.span.clone()), (tokenizer.eos_id(), text.len()..text.len()));
    for token in tokens.iter().chain(&tokenizer.encode_target_tokens(text)) {
        let span = &token.span;
        assert!(span.start <= span.end && span.end <= text.len(), "{token:?} in {text:?}");
        assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end), "{token:?} in {text:?}");
    }
    let ids: Vec<u32> = tokens.iter().map(|t| t.id).chain([u32::MAX, 0]).collect();
    let _ = tokenizer.decode(&ids);
    let _ = tokenizer.encode_target(text);
}
