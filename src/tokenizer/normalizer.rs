//! SentencePiece text normalization (`normalizer.cc`): the precompiled character map,
//! whitespace cleanup, `▁` escaping and the dummy prefix, with an alignment from every
//! normalized byte back to the original text.

use super::darts::CharsMap;
use super::proto::NormalizerSpec;
use super::trie::PieceTrie;

/// SentencePiece's whitespace symbol, U+2581 LOWER ONE EIGHTH BLOCK.
pub(crate) const SPACE_SYMBOL: &str = "\u{2581}";

/// A normalized text aligned with the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The normalized text, with `▁` for whitespace when the model escapes it.
    pub text: String,
    /// For each byte of `text`, the byte offset in the original text of the input
    /// character (or character sequence) that produced it, then one last entry: where the
    /// original text behind `text` ends. Always `text.len() + 1` entries; `[0]` when `text`
    /// is empty because the input was empty or only whitespace.
    pub offsets: Vec<usize>,
}

impl Normalized {
    /// The same alignment in Unicode characters, as Python sentencepiece's
    /// `Normalize(text, with_offsets=True)` gives it: one entry per character of `text`,
    /// the index of the original character it came from, then the end.
    /// `original` must be the text that was normalized.
    pub fn char_offsets(&self, original: &str) -> Vec<usize> {
        // byte offset in `original` → index of the character holding that byte
        let mut char_index = vec![0; original.len() + 1];
        let mut count = 0;
        for (start, c) in original.char_indices() {
            char_index[start..start + c.len_utf8()].fill(count);
            count += 1;
        }
        char_index[original.len()] = count;
        let at = |byte: usize| char_index.get(byte).copied().unwrap_or(count);
        let mut out: Vec<usize> = self.text.char_indices().map(|(i, _)| at(self.offsets[i])).collect();
        out.push(self.offsets.last().map_or(0, |&end| at(end)));
        out
    }
}

/// SentencePiece's normalizer for one model.
#[derive(Debug, Clone)]
pub struct Normalizer {
    charsmap: Option<CharsMap>,
    /// User-defined pieces: kept verbatim, never normalized.
    user_defined: Option<PieceTrie>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
    treat_whitespace_as_suffix: bool,
}

impl Normalizer {
    /// Builds the normalizer of a model from its spec, `trainer_spec.treat_whitespace_as_suffix`
    /// and its user-defined pieces.
    pub(crate) fn new(
        spec: &NormalizerSpec,
        treat_whitespace_as_suffix: bool,
        user_defined: &[&str],
    ) -> Result<Self, String> {
        let charsmap = if spec.precompiled_charsmap.is_empty() {
            None
        } else {
            Some(CharsMap::parse(&spec.precompiled_charsmap)?)
        };
        let user_defined = (!user_defined.is_empty())
            .then(|| PieceTrie::new(user_defined.iter().enumerate().map(|(i, s)| (s.as_bytes(), i as u32))));
        Ok(Normalizer {
            charsmap,
            user_defined,
            add_dummy_prefix: spec.add_dummy_prefix,
            remove_extra_whitespaces: spec.remove_extra_whitespaces,
            escape_whitespaces: spec.escape_whitespaces,
            treat_whitespace_as_suffix,
        })
    }

    /// Normalizes `input` exactly as `SentencePieceProcessor::Normalize` does.
    pub fn normalize(&self, input: &str) -> Normalized {
        let mut text = String::with_capacity(input.len() * 3);
        let mut offsets = Vec::with_capacity(input.len() * 3 + 1);
        let mut rest = input;
        let mut consumed = 0;
        if self.remove_extra_whitespaces {
            // Leading whitespace goes.
            while !rest.is_empty() {
                let (replacement, len) = self.normalize_prefix(rest);
                if replacement != " " {
                    break;
                }
                rest = &rest[len..];
                consumed += len;
            }
        }
        if rest.is_empty() {
            return Normalized { text, offsets: vec![0] };
        }
        let space = if self.escape_whitespaces { SPACE_SYMBOL } else { " " };
        let push = |text: &mut String, offsets: &mut Vec<usize>, s: &str, at: usize| {
            text.push_str(s);
            offsets.resize(offsets.len() + s.len(), at);
        };
        if self.add_dummy_prefix && !self.treat_whitespace_as_suffix {
            push(&mut text, &mut offsets, space, consumed);
        }
        let mut is_prev_space = self.remove_extra_whitespaces;
        while !rest.is_empty() {
            let (mut replacement, len) = self.normalize_prefix(rest);
            if is_prev_space {
                replacement = replacement.trim_start_matches(' ');
            }
            if !replacement.is_empty() {
                for (i, piece) in replacement.split(' ').enumerate() {
                    if i > 0 {
                        push(&mut text, &mut offsets, space, consumed);
                    }
                    push(&mut text, &mut offsets, piece, consumed);
                }
                is_prev_space = replacement.ends_with(' ');
            }
            consumed += len;
            rest = &rest[len..];
            if !self.remove_extra_whitespaces {
                is_prev_space = false;
            }
        }
        if self.remove_extra_whitespaces {
            // Trailing whitespace goes; the end then maps to where it started.
            while let Some(kept) = text.strip_suffix(space).map(str::len) {
                consumed = offsets[kept];
                text.truncate(kept);
                offsets.truncate(kept);
            }
        }
        if self.add_dummy_prefix && self.treat_whitespace_as_suffix {
            push(&mut text, &mut offsets, space, consumed);
        }
        offsets.push(consumed);
        Normalized { text, offsets }
    }

    /// The normalized form of the longest rule matching at the start of non-empty `input`,
    /// and how many bytes of `input` it covers (`Normalizer::NormalizePrefix`).
    fn normalize_prefix<'a>(&'a self, input: &'a str) -> (&'a str, usize) {
        if let Some(trie) = &self.user_defined
            && let Some((len, _)) = trie.longest_prefix(input.as_bytes())
            && let Some(symbol) = input.get(..len)
        {
            return (symbol, len);
        }
        if let Some(map) = &self.charsmap
            && let Some((len, replacement)) = map.longest_match(input)
        {
            return (replacement, len);
        }
        let len = input.chars().next().map_or(0, char::len_utf8);
        (&input[..len], len)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tokenizer::proto::parse_model;

    /// The normalizer spec of the tiny fixture model (nmt_nfkc).
    pub(crate) fn nmt_nfkc() -> NormalizerSpec {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny/source.spm");
        let bytes = std::fs::read(path).expect("tiny fixture model");
        parse_model(&bytes).expect("valid model").normalizer_spec
    }

    fn plain(add_dummy_prefix: bool, remove_extra_whitespaces: bool, escape_whitespaces: bool) -> NormalizerSpec {
        NormalizerSpec {
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix,
            remove_extra_whitespaces,
            escape_whitespaces,
        }
    }

    fn run(normalizer: &Normalizer, input: &str) -> (String, Vec<usize>) {
        let n = normalizer.normalize(input);
        assert_eq!(n.offsets.len(), n.text.len() + 1, "{input:?}");
        let chars = n.char_offsets(input);
        (n.text, chars)
    }

    #[test]
    fn nfkc_map_and_whitespace_cleanup() {
        let n = Normalizer::new(&nmt_nfkc(), false, &[]).expect("valid spec");
        assert_eq!(run(&n, "ﬁne"), ("▁fine".into(), vec![0, 0, 0, 1, 2, 3]));
        assert_eq!(run(&n, "  a \u{3000} b  "), ("▁a▁b".into(), vec![2, 2, 3, 6, 7]));
        assert_eq!(run(&n, "ＡＢ"), ("▁AB".into(), vec![0, 0, 1, 2]));
        assert_eq!(run(&n, ""), (String::new(), vec![0]));
        assert_eq!(run(&n, " \t "), (String::new(), vec![0]));
        let bytes = n.normalize("é x");
        assert_eq!(bytes.offsets, vec![0, 0, 0, 0, 0, 2, 2, 2, 3, 4]);
    }

    #[test]
    fn identity_map_with_flags() {
        let all = Normalizer::new(&plain(true, true, true), false, &[]).expect("valid spec");
        assert_eq!(run(&all, " a  b "), ("▁a▁b".into(), vec![1, 1, 2, 4, 5]));
        let keep = Normalizer::new(&plain(false, false, false), false, &[]).expect("valid spec");
        assert_eq!(run(&keep, " a  b "), (" a  b ".into(), vec![0, 1, 2, 3, 4, 5, 6]));
        let escape_only = Normalizer::new(&plain(false, false, true), false, &[]).expect("valid spec");
        assert_eq!(run(&escape_only, "a b"), ("a▁b".into(), vec![0, 1, 2, 3]));
        let suffix = Normalizer::new(&plain(true, true, true), true, &[]).expect("valid spec");
        assert_eq!(run(&suffix, "a b "), ("a▁b▁".into(), vec![0, 1, 2, 3, 3]));
        // A literal ▁ at the end counts as trailing whitespace once escaped.
        assert_eq!(run(&all, "a▁"), ("▁a".into(), vec![0, 0, 1]));
    }

    #[test]
    fn user_defined_pieces_bypass_the_map() {
        let n = Normalizer::new(&nmt_nfkc(), false, &["ＡＢ", "<x y>"]).expect("valid spec");
        assert_eq!(run(&n, "ＡＢＡ"), ("▁ＡＢA".into(), vec![0, 0, 0, 2, 3]));
        assert_eq!(run(&n, "<x y>"), ("▁<x▁y>".into(), vec![0, 0, 0, 0, 0, 0, 5]));
    }
}
