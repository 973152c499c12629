//! Tokenization exactly as transformers' `MarianTokenizer` does it on top of SentencePiece
//! 0.2 unigram models: the same pieces, ids and decoded text.
//!
//! Pipeline, one module per stage:
//! - `proto`: reads the SentencePiece `ModelProto` (`.spm` files);
//! - [`Normalizer`]: the model's precompiled character map (a Darts double-array trie),
//!   whitespace cleanup, `▁` escaping and the dummy prefix, with an alignment back to the
//!   original text ([`Normalized`]);
//! - `sentencepiece`: the unigram Viterbi search over the model's pieces;
//! - `vocab`: the joint `vocab.json` as Python reads it, piece ↔ id;
//! - [`MarianTokenizer`]: special tokens, language codes, the joint `vocab.json` ids and
//!   decoding.
//!
//! Not the `tokenizers` crate: its Unigram ids are list positions, not `vocab.json`'s; it has
//! no piece types; its scores are f64, not SentencePiece's f32; and its `Precompiled`
//! normalizer takes the shortest match, not the longest (huggingface/tokenizers#2116).

mod darts;
mod error;
mod marian;
mod normalizer;
mod proto;
mod sentencepiece;
mod trie;
mod vocab;

pub use error::TokenizerError;
pub use marian::{
    Encoding, MarianTokenizer, SOURCE_SPM_FILE, TARGET_SPM_FILE, TOKENIZER_CONFIG_FILE, Token, VOCAB_FILE,
};
pub use normalizer::{Normalized, Normalizer};
