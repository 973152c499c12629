//! tarjim: Arabic-to-English news translation with MarianMT on candle.
//!
//! Pipeline: SentencePiece tokenization ([`tokenizer`]), our own Marian
//! encoder-decoder ([`model`]), greedy and beam search ([`decoding`]).

pub mod decoding;
pub mod model;
pub mod tokenizer;
