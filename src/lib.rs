//! tarjim: Arabic-to-English news translation with MarianMT on candle.
//!
//! Pipeline: SentencePiece tokenization ([`tokenizer`]), our own Marian
//! encoder-decoder ([`model`]), greedy and beam search ([`decoding`]), put
//! together by [`translate::Translator`]; [`hub`] finds model directories;
//! [`align`] reads word alignments from the cross-attention; [`xliff`]
//! pre-translates XLIFF files.

pub mod align;
pub mod article;
pub mod atomic;
pub mod batch;
mod cpu;
pub mod decoding;
pub mod eval;
pub mod exchange;
pub mod glossary;
pub mod glossary_tools;
pub mod hash;
pub mod hub;
pub mod model;
mod text;
pub mod time;
pub mod tokenizer;
pub mod translate;
pub mod xliff;
