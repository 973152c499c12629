//! A SentencePiece unigram model: loading and checking a `ModelProto` as
//! `ModelInterface::InitializePieces` does, encoding with the optimized Viterbi search of
//! `unigram_model.cc` (`EncodeOptimized`) followed by the merging of unknown runs of
//! `PopulateSentencePieceText`, and `DecodePieces`.

use std::ops::Range;

use super::normalizer::{Normalizer, SPACE_SYMBOL};
use super::proto::{ModelType, PieceType, parse_model};
use super::trie::PieceTrie;

/// What is wrong with a model file, before the caller adds the file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ModelError {
    /// The file is not a valid SentencePiece model.
    Invalid(String),
    /// The model is valid but uses something this implementation does not do.
    Unsupported(String),
}

/// Score penalty of an unknown character below the lowest piece score (`kUnkPenalty`).
const UNK_PENALTY: f32 = 10.0;

/// A loaded unigram model with its normalizer.
#[derive(Debug, Clone)]
pub(crate) struct SentencePiece {
    normalizer: Normalizer,
    /// Every piece (normal or reserved) to its id, also searched by the encoder.
    ids: PieceTrie,
    /// Score of each piece, by id.
    scores: Vec<f32>,
    /// Type of each piece, by id: the encoder emits only normal and user-defined pieces.
    kinds: Vec<PieceType>,
    unk_id: u32,
    /// Lowest and highest score of a normal piece (sentencepiece starts them at
    /// `FLT_MAX` and `FLT_MIN`, the smallest positive float).
    min_score: f32,
    max_score: f32,
    unk_surface: String,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
}

impl SentencePiece {
    /// Parses and checks a serialized model.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let model = parse_model(bytes).map_err(|e| ModelError::Invalid(e.0))?;
        let spec = &model.trainer_spec;
        let model_type = match spec.model_type {
            ModelType::Unigram => None,
            ModelType::Bpe => Some("BPE".to_owned()),
            ModelType::Word => Some("WORD".to_owned()),
            ModelType::Char => Some("CHAR".to_owned()),
            ModelType::Other(n) => Some(format!("unknown ({n})")),
        };
        if let Some(name) = model_type {
            return Err(ModelError::Unsupported(format!("model type {name}; only unigram models are supported")));
        }
        if spec.byte_fallback {
            return Err(ModelError::Unsupported("byte_fallback is enabled".into()));
        }
        let ids = PieceTrie::new(model.pieces.iter().zip(0u32..).map(|(p, id)| (p.piece.as_bytes(), id)));
        let mut unk_id = None;
        let mut user_defined = Vec::new();
        let (mut min_score, mut max_score) = (f32::MAX, f32::MIN_POSITIVE);
        for (i, piece) in model.pieces.iter().enumerate() {
            let id = u32::try_from(i).map_err(|_| ModelError::Invalid("too many pieces".into()))?;
            if piece.piece.is_empty() {
                return Err(ModelError::Invalid(format!("piece {id} is empty")));
            }
            // Of equal pieces the trie keeps the first.
            if ids.get(piece.piece.as_bytes()) != Some(id) {
                return Err(ModelError::Invalid(format!("piece {:?} is defined twice", piece.piece)));
            }
            match piece.kind {
                PieceType::Unknown if unk_id.is_some() => {
                    return Err(ModelError::Invalid(format!("second unknown piece {:?}", piece.piece)));
                }
                PieceType::Unknown => unk_id = Some(id),
                PieceType::Byte => {
                    return Err(ModelError::Invalid(format!("byte piece {:?} without byte_fallback", piece.piece)));
                }
                PieceType::UserDefined => user_defined.push(piece.piece),
                PieceType::Normal => {
                    min_score = min_score.min(piece.score);
                    max_score = max_score.max(piece.score);
                }
                PieceType::Control | PieceType::Unused => {}
            }
        }
        let unk_id = unk_id.ok_or_else(|| ModelError::Invalid("no unknown piece (<unk>)".into()))?;
        let normalizer = Normalizer::new(&model.normalizer_spec, spec.treat_whitespace_as_suffix, &user_defined)
            .map_err(ModelError::Invalid)?;
        Ok(SentencePiece {
            normalizer,
            ids,
            scores: model.pieces.iter().map(|p| p.score).collect(),
            kinds: model.pieces.iter().map(|p| p.kind).collect(),
            unk_id,
            min_score,
            max_score,
            unk_surface: spec.unk_surface.clone(),
            add_dummy_prefix: model.normalizer_spec.add_dummy_prefix,
            remove_extra_whitespaces: model.normalizer_spec.remove_extra_whitespaces,
        })
    }

    /// The model's normalizer.
    pub(crate) fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// Encodes `text` into pieces as `EncodeAsPieces` does: unknown pieces carry their
    /// normalized surface, and consecutive unknown pieces are merged into one.
    pub(crate) fn encode(&self, text: &str) -> Vec<String> {
        self.encode_with_offsets(text).into_iter().map(|(piece, _)| piece).collect()
    }

    /// [`Self::encode`] with, for each piece, the byte range of `text` it was read
    /// from: from the original position of its first normalized byte to that of the
    /// byte after it (a leading `▁` starts at the whitespace it stands for; pieces
    /// inside one character's expansion may get an empty range).
    pub(crate) fn encode_with_offsets(&self, text: &str) -> Vec<(String, Range<usize>)> {
        let normalized = self.normalizer.normalize(text);
        let offsets = &normalized.offsets;
        let mut pieces: Vec<(String, Range<usize>)> = Vec::new();
        let mut prev_unknown = false;
        for (range, id) in self.viterbi(&normalized.text) {
            let piece = &normalized.text[range.clone()];
            let span = offsets[range.start]..offsets[range.end];
            let unknown = id == self.unk_id;
            match pieces.last_mut() {
                Some((last, last_span)) if unknown && prev_unknown => {
                    last.push_str(piece);
                    last_span.end = span.end;
                }
                _ => pieces.push((piece.to_owned(), span)),
            }
            prev_unknown = unknown;
        }
        pieces
    }

    /// The best segmentation of a normalized text: byte ranges and piece ids, the unknown
    /// id for characters no piece covers. Scores follow sentencepiece's arithmetic: piece
    /// candidates are summed and compared in double precision (the C++ score expression is
    /// a `double`), unknown candidates in single precision; the first best candidate found
    /// wins ties.
    fn viterbi(&self, normalized: &str) -> Vec<(Range<usize>, u32)> {
        #[derive(Clone, Copy)]
        struct Best {
            score: f32,
            /// Start of the last piece; `usize::MAX` while no path ends here.
            start: usize,
            id: u32,
        }
        let bytes = normalized.as_bytes();
        let size = bytes.len();
        let unk_score = self.min_score - UNK_PENALTY;
        let mut best = vec![Best { score: 0.0, start: usize::MAX, id: self.unk_id }; size + 1];
        let mut start = 0;
        while start < size {
            let here = best[start].score;
            let char_len = utf8_len(bytes[start]).min(size - start);
            let mut has_single_char_piece = false;
            for (len, id) in self.ids.prefixes(&bytes[start..]) {
                let score = match self.kinds[id as usize] {
                    PieceType::Normal => f64::from(self.scores[id as usize]),
                    PieceType::UserDefined => f64::from(len as f32 * self.max_score) - 0.1,
                    PieceType::Unknown | PieceType::Control | PieceType::Unused | PieceType::Byte => continue,
                };
                let candidate = score + f64::from(here);
                let target = &mut best[start + len];
                if target.start == usize::MAX || candidate > f64::from(target.score) {
                    *target = Best { score: candidate as f32, start, id };
                }
                has_single_char_piece |= len == char_len;
            }
            if !has_single_char_piece {
                let candidate = unk_score + here;
                let target = &mut best[start + char_len];
                if target.start == usize::MAX || candidate > target.score {
                    *target = Best { score: candidate, start, id: self.unk_id };
                }
            }
            start += char_len;
        }
        let mut path = Vec::new();
        let mut end = size;
        while end > 0 && best[end].start < end {
            let node = best[end];
            path.push((node.start..end, node.id));
            end = node.start;
        }
        path.reverse();
        path
    }

    /// Joins pieces into text as `DecodePieces` does: control pieces vanish, the unknown
    /// piece itself prints as `unk_surface`, other pieces the model does not know print
    /// verbatim, `▁` becomes a space, and the leading `▁` of the first pieces goes.
    pub(crate) fn decode_pieces(&self, pieces: &[&str]) -> String {
        let mut text = String::new();
        let mut at_start = true;
        let mut start_space_seen = false;
        for &piece in pieces {
            if start_space_seen || !text.is_empty() {
                at_start = false;
            }
            start_space_seen = false;
            match self.ids.get(piece.as_bytes()).map(|id| self.kinds[id as usize]) {
                None => text.push_str(piece),
                Some(PieceType::Control) => {}
                Some(PieceType::Unknown) => text.push_str(&self.unk_surface),
                Some(_) => {
                    let mut piece = piece;
                    if at_start
                        && (self.add_dummy_prefix || self.remove_extra_whitespaces)
                        && let Some(rest) = piece.strip_prefix(SPACE_SYMBOL)
                    {
                        piece = rest;
                        // With whitespace removal every leading ▁ goes, not only the first.
                        start_space_seen = !self.remove_extra_whitespaces;
                    }
                    text.push_str(&piece.replace(SPACE_SYMBOL, " "));
                }
            }
        }
        text
    }
}

/// Length of the UTF-8 sequence starting with `byte` (sentencepiece's `OneCharLen`).
fn utf8_len(byte: u8) -> usize {
    const LENGTHS: [u8; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
    usize::from(LENGTHS[usize::from(byte >> 4)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::proto::tests::{Writer, piece};

    const NORMAL: u64 = 1;
    const UNKNOWN: u64 = 2;
    const CONTROL: u64 = 3;
    const USER_DEFINED: u64 = 4;
    const UNUSED: u64 = 5;
    const BYTE: u64 = 6;

    /// A model with the given pieces (after `<unk>`, `<s>`, `</s>`) and no charsmap.
    fn model_bytes(pieces: &[(&str, f32, u64)], trainer: &[u8], normalizer: &[u8]) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(1, &piece("<unk>", 0.0, UNKNOWN)).bytes(1, &piece("<s>", 0.0, CONTROL));
        w.bytes(1, &piece("</s>", 0.0, CONTROL));
        for &(text, score, kind) in pieces {
            w.bytes(1, &piece(text, score, kind));
        }
        w.bytes(2, trainer).bytes(3, normalizer);
        w.0
    }

    fn model(pieces: &[(&str, f32, u64)]) -> SentencePiece {
        SentencePiece::from_bytes(&model_bytes(pieces, &[], &[])).expect("valid model")
    }

    fn segment(sp: &SentencePiece, normalized: &str) -> Vec<(String, u32)> {
        sp.viterbi(normalized).into_iter().map(|(r, id)| (normalized[r].to_owned(), id)).collect()
    }

    fn owned(pieces: &[&str]) -> Vec<String> {
        pieces.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn viterbi_takes_the_best_path_and_the_first_of_equals() {
        let sp = model(&[("a", -1.0, NORMAL), ("b", -1.0, NORMAL), ("ab", -2.5, NORMAL), ("abc", -2.0, NORMAL)]);
        assert_eq!(segment(&sp, "ab"), vec![("a".into(), 3), ("b".into(), 4)]);
        assert_eq!(segment(&sp, "abc"), vec![("abc".into(), 6)]);
        assert_eq!(segment(&sp, ""), vec![]);
        // A tie: "ab" (found first, from the earlier start) beats "a" + "b".
        let tie = model(&[("a", -1.0, NORMAL), ("b", -1.0, NORMAL), ("ab", -2.0, NORMAL)]);
        assert_eq!(segment(&tie, "ab"), vec![("ab".into(), 5)]);
    }

    #[test]
    fn viterbi_compares_piece_candidates_in_double_precision() {
        // -0.75 + -(0.25 - 2^-26) rounds to -1.0 in f32 but is above -1.0 in f64.
        let y = -(0.25 - 2f32.powi(-26));
        assert_eq!(-0.75f32 + y, -1.0);
        let sp = model(&[("ab", -1.0, NORMAL), ("a", -0.75, NORMAL), ("b", y, NORMAL)]);
        assert_eq!(segment(&sp, "ab"), vec![("a".into(), 4), ("b".into(), 5)]);
    }

    #[test]
    fn unknown_characters_and_runs() {
        let sp = model(&[("▁", -1.0, NORMAL), ("a", -2.0, NORMAL), ("▁a", -2.5, NORMAL)]);
        // Unknown characters cost min_score - 10 = -12.5 each.
        assert_eq!(segment(&sp, "x☃a"), vec![("x".into(), 0), ("☃".into(), 0), ("a".into(), 4)]);
        assert_eq!(sp.encode("x☃a ☃☃"), owned(&["▁", "x☃", "a", "▁", "☃☃"]));
        assert_eq!(sp.encode("a"), owned(&["▁a"]));
        assert_eq!(sp.encode(""), Vec::<String>::new());
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let sp = model(&[("▁", -1.0, NORMAL), ("a", -2.0, NORMAL), ("▁a", -2.5, NORMAL), ("b", -2.0, NORMAL)]);
        let text = "  ab  ☃☃ a ";
        let pieces = sp.encode_with_offsets(text);
        let want: Vec<(String, Range<usize>)> = vec![
            ("▁a".into(), 2..3),
            ("b".into(), 3..4),
            ("▁".into(), 4..6),
            ("☃☃".into(), 6..12),
            ("▁a".into(), 12..14),
        ];
        assert_eq!(pieces, want);
        assert_eq!(sp.encode(text), owned(&["▁a", "b", "▁", "☃☃", "▁a"]));
    }

    #[test]
    fn user_defined_pieces_win_and_unused_pieces_are_never_used() {
        let sp = model(&[("a", -1.0, NORMAL), ("b", -1.0, NORMAL), ("<ab>", 0.0, USER_DEFINED), ("ab", -0.5, UNUSED)]);
        assert_eq!(segment(&sp, "a<ab>b"), vec![("a".into(), 3), ("<ab>".into(), 5), ("b".into(), 4)]);
        assert_eq!(segment(&sp, "ab"), vec![("a".into(), 3), ("b".into(), 4)]);
        assert_eq!(sp.encode("<ab> b"), owned(&["▁", "<ab>", "▁", "b"]));
    }

    #[test]
    fn decode_pieces_like_sentencepiece() {
        let sp = model(&[("▁a", -1.0, NORMAL), ("▁", -1.0, NORMAL), ("b", -1.0, NORMAL)]);
        assert_eq!(sp.decode_pieces(&["▁", "▁a", "b", "▁a"]), "ab a");
        assert_eq!(sp.decode_pieces(&["<s>", "▁a", "</s>", "<unk>", "▁zz▁"]), "a ⁇ ▁zz▁");
        assert_eq!(sp.decode_pieces(&[]), "");
        // Without whitespace removal only the first leading ▁ goes.
        let mut normalizer = Writer::default();
        normalizer.uint(4, 0);
        let keep = SentencePiece::from_bytes(&model_bytes(&[("▁", -1.0, NORMAL)], &[], &normalizer.0)).expect("valid");
        assert_eq!(keep.decode_pieces(&["▁", "▁", "▁"]), "  ");
    }

    fn load_error(bytes: &[u8]) -> ModelError {
        SentencePiece::from_bytes(bytes).expect_err("invalid model")
    }

    #[test]
    fn rejects_invalid_and_unsupported_models() {
        let mut bpe = Writer::default();
        bpe.uint(3, 2);
        let e = load_error(&model_bytes(&[], &bpe.0, &[]));
        assert_eq!(e, ModelError::Unsupported("model type BPE; only unigram models are supported".into()));
        let mut fallback = Writer::default();
        fallback.uint(35, 1);
        assert_eq!(
            load_error(&model_bytes(&[], &fallback.0, &[])),
            ModelError::Unsupported("byte_fallback is enabled".into())
        );
        assert_eq!(
            load_error(&model_bytes(&[("a", 0.0, NORMAL), ("a", 0.0, NORMAL)], &[], &[])),
            ModelError::Invalid("piece \"a\" is defined twice".into())
        );
        assert_eq!(
            load_error(&model_bytes(&[("", 0.0, NORMAL)], &[], &[])),
            ModelError::Invalid("piece 3 is empty".into())
        );
        assert_eq!(
            load_error(&model_bytes(&[("<u2>", 0.0, UNKNOWN)], &[], &[])),
            ModelError::Invalid("second unknown piece \"<u2>\"".into())
        );
        assert_eq!(
            load_error(&model_bytes(&[("<0x41>", 0.0, BYTE)], &[], &[])),
            ModelError::Invalid("byte piece \"<0x41>\" without byte_fallback".into())
        );
        let mut no_unk = Writer::default();
        no_unk.bytes(1, &piece("a", 0.0, NORMAL));
        assert_eq!(load_error(&no_unk.0), ModelError::Invalid("no unknown piece (<unk>)".into()));
        let mut bad_map = Writer::default();
        bad_map.bytes(2, &[9, 0, 0, 0, 1]);
        assert!(matches!(load_error(&model_bytes(&[], &[], &bad_map.0)), ModelError::Invalid(_)));
        assert!(matches!(load_error(&[0x0a, 0x05, 0x0a]), ModelError::Invalid(_)));
    }
}
