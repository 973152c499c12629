//! Errors from loading tokenizer files.

use std::path::PathBuf;

/// Why a tokenizer could not be loaded. Every variant names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// A file could not be read (missing, unreadable).
    #[error("{}: cannot read: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// A SentencePiece model file is corrupt or inconsistent.
    #[error("{}: invalid SentencePiece model: {reason}", path.display())]
    InvalidModel {
        /// The `.spm` file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A SentencePiece model uses a feature this tokenizer does not implement.
    #[error("{}: unsupported SentencePiece model: {reason}", path.display())]
    UnsupportedModel {
        /// The `.spm` file.
        path: PathBuf,
        /// The feature.
        reason: String,
    },
    /// `vocab.json` is not a JSON object of token ids, or lacks a special token.
    #[error("{}: invalid vocabulary: {reason}", path.display())]
    InvalidVocab {
        /// The `vocab.json` file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// `tokenizer_config.json` is malformed.
    #[error("{}: invalid tokenizer config: {reason}", path.display())]
    InvalidConfig {
        /// The `tokenizer_config.json` file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// `tokenizer_config.json` asks for something this tokenizer does not implement.
    #[error("{}: unsupported tokenizer config: {reason}", path.display())]
    UnsupportedConfig {
        /// The `tokenizer_config.json` file.
        path: PathBuf,
        /// The setting.
        reason: String,
    },
}
