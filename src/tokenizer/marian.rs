//! `MarianTokenizer` (transformers, Python backend, without sacremoses): the source
//! SentencePiece model for encoding, the joint `vocab.json` for ids, and the target model
//! for decoding.

use std::ops::Range;
use std::path::Path;

use serde_json::Value;

use super::error::TokenizerError;
use super::normalizer::{Normalizer, SPACE_SYMBOL};
use super::sentencepiece::{ModelError, SentencePiece};
use super::vocab::Vocab;

/// The result of encoding one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    /// The tokens, as `MarianTokenizer.tokenize` gives them, then `</s>`.
    pub pieces: Vec<String>,
    /// The token ids (`input_ids`), ending with the eos id.
    pub ids: Vec<u32>,
}

/// One token of an encoded text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The piece, as in [`Encoding::pieces`].
    pub piece: String,
    /// Its id, as in [`Encoding::ids`].
    pub id: u32,
    /// The bytes of the encoded text it was read from: from the character behind
    /// its first normalized byte to the character behind the next piece's first (a
    /// leading `▁` covers the whitespace it stands for, or nothing for the dummy
    /// prefix; a character whose normalized form is split between pieces goes to
    /// the last of them).
    pub span: Range<usize>,
}

/// A special token: its text and id.
#[derive(Debug, Clone)]
struct Special {
    text: String,
    id: u32,
}

/// Tokenizes like transformers' `MarianTokenizer` with a joint vocabulary
/// (`separate_vocabs: false`).
#[derive(Debug, Clone)]
pub struct MarianTokenizer {
    source: SentencePiece,
    target: SentencePiece,
    vocab: Vocab,
    eos: Special,
    unk: Special,
    pad: Special,
}

/// The source SentencePiece model of a checkpoint directory.
pub const SOURCE_SPM_FILE: &str = "source.spm";
/// The target SentencePiece model of a checkpoint directory.
pub const TARGET_SPM_FILE: &str = "target.spm";
/// The piece-to-id vocabulary of a checkpoint directory.
pub const VOCAB_FILE: &str = "vocab.json";
/// The tokenizer settings of a checkpoint directory (optional).
pub const TOKENIZER_CONFIG_FILE: &str = "tokenizer_config.json";

impl MarianTokenizer {
    /// Loads `source.spm`, `target.spm`, `vocab.json` and, when present,
    /// `tokenizer_config.json` from a model directory.
    pub fn from_dir(dir: &Path) -> Result<Self, TokenizerError> {
        let config = dir.join(TOKENIZER_CONFIG_FILE);
        let config = config.exists().then_some(config.as_path());
        Self::from_files(&dir.join(SOURCE_SPM_FILE), &dir.join(TARGET_SPM_FILE), &dir.join(VOCAB_FILE), config)
    }

    /// Loads the tokenizer from its files; without a config the special tokens are
    /// `</s>`, `<unk>` and `<pad>`.
    pub fn from_files(
        source_spm: &Path,
        target_spm: &Path,
        vocab_json: &Path,
        tokenizer_config: Option<&Path>,
    ) -> Result<Self, TokenizerError> {
        let config = match tokenizer_config {
            Some(path) => Config::read(path)?,
            None => Config::default(),
        };
        let vocab = read_vocab(vocab_json)?;
        let special = |text: &str, name: &str| match vocab.id(text) {
            Some(id) => Ok(Special { text: text.to_owned(), id }),
            None => Err(TokenizerError::InvalidVocab {
                path: vocab_json.to_owned(),
                reason: format!("special token {text:?} ({name}) is missing"),
            }),
        };
        let eos = special(&config.eos, "eos_token")?;
        let unk = special(&config.unk, "unk_token")?;
        let pad = special(&config.pad, "pad_token")?;
        if let Some(path) = tokenizer_config {
            config.check_added_tokens(path, &vocab)?;
        }
        Ok(MarianTokenizer { source: read_model(source_spm)?, target: read_model(target_spm)?, vocab, eos, unk, pad })
    }

    /// Encodes one text: special-token text (`</s>`, `<unk>`, `<pad>`) becomes that token;
    /// each remaining stretch loses a leading language code `>>xx<<` (kept as one token)
    /// and is encoded by the source model; pieces missing from the vocabulary get the
    /// `<unk>` id; `</s>` ends the sequence.
    pub fn encode(&self, text: &str) -> Encoding {
        let (pieces, ids) = self.encode_tokens(text).into_iter().map(|t| (t.piece, t.id)).unzip();
        Encoding { pieces, ids }
    }

    /// [`Self::encode`] with each token's byte range in `text` (see [`Token::span`]);
    /// the final `</s>` gets the empty range at the end of `text`.
    pub fn encode_tokens(&self, text: &str) -> Vec<Token> {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut base = 0;
        loop {
            let next = self.specials().filter_map(|s| rest.find(&s.text).map(|at| (at, s))).min_by(|a, b| {
                a.0.cmp(&b.0).then(b.1.text.len().cmp(&a.1.text.len())) // leftmost, then longest
            });
            let Some((at, special)) = next else {
                self.encode_stretch(rest, base, &mut pieces);
                break;
            };
            self.encode_stretch(&rest[..at], base, &mut pieces);
            let end = at + special.text.len();
            pieces.push((special.text.clone(), base + at..base + end));
            rest = &rest[end..];
            base += end;
        }
        let eos = Token { piece: self.eos.text.clone(), id: self.eos.id, span: text.len()..text.len() };
        pieces
            .into_iter()
            .map(|(piece, span)| Token { id: self.vocab.id(&piece).unwrap_or(self.unk.id), piece, span })
            .chain([eos])
            .collect()
    }

    /// The target-side ids of `text` (as `MarianTokenizer(text_target=text)` gives
    /// them, without `</s>`): the tokens the model must produce to write it. `None`
    /// when a piece is missing from the vocabulary, so the model cannot write it.
    pub fn encode_target(&self, text: &str) -> Option<Vec<u32>> {
        self.target.encode(text).iter().map(|p| self.vocab.id(p)).collect()
    }

    /// The target model's pieces of `text` with their byte ranges in `text`, without
    /// `</s>` (special-token text is not treated specially); pieces missing from the
    /// vocabulary get the `<unk>` id. For teacher forcing a given translation.
    pub fn encode_target_tokens(&self, text: &str) -> Vec<Token> {
        self.target
            .encode_with_offsets(text)
            .into_iter()
            .map(|(piece, span)| Token { id: self.vocab.id(&piece).unwrap_or(self.unk.id), piece, span })
            .collect()
    }

    /// `MarianTokenizer._tokenize` on text without special tokens, which starts at
    /// byte `base` of the whole text: pieces and their byte ranges in the whole text.
    fn encode_stretch(&self, text: &str, base: usize, pieces: &mut Vec<(String, Range<usize>)>) {
        let mut text = text;
        let mut base = base;
        if text.starts_with(">>")
            && let Some(end) = text.find("<<")
        {
            pieces.push((text[..end + 2].to_owned(), base..base + end + 2));
            text = &text[end + 2..];
            base += end + 2;
        }
        pieces.extend(
            self.source.encode_with_offsets(text).into_iter().map(|(p, span)| (p, base + span.start..base + span.end)),
        );
    }

    /// Whether `id` is one of the special tokens (`</s>`, `<unk>`, `<pad>`), which
    /// [`Self::decode`] leaves out.
    pub fn is_special(&self, id: u32) -> bool {
        self.specials().any(|s| s.id == id)
    }

    /// Decodes ids into text, as `decode(ids, skip_special_tokens=True)` does: special
    /// tokens and ids outside the vocabulary are skipped, the rest is joined as the target
    /// SentencePiece model decodes pieces, `▁` becomes a space and surrounding
    /// whitespace is trimmed.
    pub fn decode(&self, ids: &[u32]) -> String {
        let pieces: Vec<&str> =
            ids.iter().filter(|&&id| !self.is_special(id)).filter_map(|&id| self.vocab.piece(id)).collect();
        let text = self.target.decode_pieces(&pieces).replace(SPACE_SYMBOL, " ");
        text.trim_matches(is_python_whitespace).to_owned()
    }

    fn specials(&self) -> impl Iterator<Item = &Special> {
        [&self.eos, &self.unk, &self.pad].into_iter()
    }

    /// Id of the end-of-sequence token `</s>`.
    pub fn eos_id(&self) -> u32 {
        self.eos.id
    }

    /// Id of the padding token `<pad>` (Marian's decoder start token).
    pub fn pad_id(&self) -> u32 {
        self.pad.id
    }

    /// Id of the unknown token `<unk>`.
    pub fn unk_id(&self) -> u32 {
        self.unk.id
    }

    /// Number of entries in `vocab.json`.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The largest id in `vocab.json` and its entry (`None` when it is empty).
    pub fn largest_id(&self) -> Option<(u32, &str)> {
        self.vocab.last()
    }

    /// The vocabulary entry with this id.
    pub fn id_to_piece(&self, id: u32) -> Option<&str> {
        self.vocab.piece(id)
    }

    /// The id of a vocabulary entry.
    pub fn piece_to_id(&self, piece: &str) -> Option<u32> {
        self.vocab.id(piece)
    }

    /// The source model's normalizer, to align source text with its normalized form.
    pub fn source_normalizer(&self) -> &Normalizer {
        self.source.normalizer()
    }
}

/// Python's `str.isspace`: Unicode White_Space plus the ASCII separators U+001C..U+001F.
fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, TokenizerError> {
    std::fs::read(path).map_err(|error| TokenizerError::Io { path: path.to_owned(), error })
}

fn read_model(path: &Path) -> Result<SentencePiece, TokenizerError> {
    SentencePiece::from_bytes(&read_bytes(path)?).map_err(|e| match e {
        ModelError::Invalid(reason) => TokenizerError::InvalidModel { path: path.to_owned(), reason },
        ModelError::Unsupported(reason) => TokenizerError::UnsupportedModel { path: path.to_owned(), reason },
    })
}

/// Reads `vocab.json`.
fn read_vocab(path: &Path) -> Result<Vocab, TokenizerError> {
    serde_json::from_slice(&read_bytes(path)?)
        .map_err(|e| TokenizerError::InvalidVocab { path: path.to_owned(), reason: e.to_string() })
}

/// What `tokenizer_config.json` says about the special tokens.
#[derive(Debug)]
struct Config {
    eos: String,
    unk: String,
    pad: String,
    /// `added_tokens_decoder`: (id, content).
    added: Vec<(u32, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Config { eos: "</s>".into(), unk: "<unk>".into(), pad: "<pad>".into(), added: Vec::new() }
    }
}

impl Config {
    fn read(path: &Path) -> Result<Config, TokenizerError> {
        let invalid = |reason: String| TokenizerError::InvalidConfig { path: path.to_owned(), reason };
        let unsupported = |reason: String| TokenizerError::UnsupportedConfig { path: path.to_owned(), reason };
        let value: Value = serde_json::from_slice(&read_bytes(path)?).map_err(|e| invalid(e.to_string()))?;
        let Value::Object(fields) = value else {
            return Err(invalid("not a JSON object".into()));
        };
        match fields.get("separate_vocabs") {
            None | Some(Value::Null | Value::Bool(false)) => {}
            Some(Value::Bool(true)) => {
                return Err(unsupported("separate_vocabs is true (separate target vocabulary)".into()));
            }
            Some(_) => return Err(invalid("separate_vocabs is not a boolean".into())),
        }
        for key in ["additional_special_tokens", "extra_special_tokens"] {
            let empty = match fields.get(key) {
                None | Some(Value::Null) => true,
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Object(o)) => o.is_empty(),
                Some(_) => false,
            };
            if !empty {
                return Err(unsupported(format!("{key}: extra special tokens are not supported")));
            }
        }
        let mut config = Config::default();
        for (key, slot) in
            [("eos_token", &mut config.eos), ("unk_token", &mut config.unk), ("pad_token", &mut config.pad)]
        {
            match fields.get(key) {
                None | Some(Value::Null) => {}
                Some(token) => match token_content(token) {
                    Some(content) if !content.is_empty() => *slot = content.to_owned(),
                    _ => return Err(invalid(format!("{key} is not a non-empty string or AddedToken"))),
                },
            }
        }
        if let Some(added) = fields.get("added_tokens_decoder") {
            let Value::Object(added) = added else {
                return Err(invalid("added_tokens_decoder is not an object".into()));
            };
            for (id, token) in added {
                let (Ok(id), Some(content)) = (id.parse::<u32>(), token_content(token)) else {
                    return Err(invalid(format!("added_tokens_decoder entry {id:?} is malformed")));
                };
                let flag = |name: &str| token.get(name).and_then(Value::as_bool).unwrap_or(false);
                if let Some(name) = ["lstrip", "rstrip", "single_word"].into_iter().find(|&name| flag(name)) {
                    return Err(unsupported(format!("added token {content:?} sets {name}")));
                }
                config.added.push((id, content.to_owned()));
            }
        }
        Ok(config)
    }

    /// Added tokens must be the special tokens, with their `vocab.json` ids.
    fn check_added_tokens(&self, path: &Path, vocab: &Vocab) -> Result<(), TokenizerError> {
        for (id, content) in &self.added {
            if ![&self.eos, &self.unk, &self.pad].contains(&content) {
                return Err(TokenizerError::UnsupportedConfig {
                    path: path.to_owned(),
                    reason: format!("added token {content:?} is not one of the special tokens"),
                });
            }
            if vocab.id(content) != Some(*id) {
                return Err(TokenizerError::InvalidConfig {
                    path: path.to_owned(),
                    reason: format!("added token {content:?} has id {id}, not its vocab.json id"),
                });
            }
        }
        Ok(())
    }
}

/// A token given as a string or as an `AddedToken` object (`{"content": ...}`).
fn token_content(token: &Value) -> Option<&str> {
    match token {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("content").and_then(Value::as_str),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_whitespace() {
        for c in
            ['\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1c}', '\u{1f}', ' ', '\u{85}', '\u{a0}', '\u{3000}', '\u{2028}']
        {
            assert!(is_python_whitespace(c), "{c:?}");
        }
        for c in ['\u{0}', '\u{1b}', '\u{200b}', '\u{feff}', 'a', '\u{2581}'] {
            assert!(!is_python_whitespace(c), "{c:?}");
        }
    }

    #[test]
    fn vocab_keeps_python_dict_semantics() {
        let dir = std::env::temp_dir().join(format!("tarjim-vocab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("vocab.json");
        std::fs::write(&path, r#"{"a": 0, "b": 1, "a": 2, "c": 1}"#).expect("write");
        let vocab = read_vocab(&path).expect("valid vocab");
        assert_eq!(vocab.len(), 3);
        assert_eq!(vocab.id("a"), Some(2));
        assert_eq!(vocab.piece(1), Some("c"));
        assert_eq!(vocab.piece(2), Some("a"));
        assert_eq!(vocab.piece(0), None);
        std::fs::write(&path, r#"{"a": -1}"#).expect("write");
        assert!(matches!(read_vocab(&path), Err(TokenizerError::InvalidVocab { .. })));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
