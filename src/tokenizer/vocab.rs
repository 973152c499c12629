//! The joint vocabulary of `vocab.json` as Python reads it into a dict: every piece stored
//! once in one string, found by text through an open-addressing hash table of entry
//! numbers and by id through an index sorted by id.

use std::borrow::Cow;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// Marks a free slot of [`Vocab::slots`].
const FREE: u32 = u32::MAX;

/// Piece → id and id → piece with Python's dict semantics: a repeated piece keeps its
/// place and its last id, and of pieces sharing an id the last one decodes.
#[derive(Debug, Clone)]
pub(crate) struct Vocab {
    /// The pieces, each once, in order of first appearance.
    text: String,
    /// Where each entry starts in `text`, then where the last one ends.
    bounds: Vec<u32>,
    /// The id of each entry.
    ids: Vec<u32>,
    /// Open-addressing hash table (linear probing) of entry numbers, [`FREE`] for an
    /// empty slot; its length is a power of two and at most half of it is used.
    slots: Vec<u32>,
    /// The entry that decodes each id, sorted by id.
    by_id: Vec<u32>,
}

impl Default for Vocab {
    fn default() -> Self {
        Vocab { text: String::new(), bounds: vec![0], ids: Vec::new(), slots: vec![FREE; 16], by_id: Vec::new() }
    }
}

impl Vocab {
    /// Adds the next entry of the file: a new piece at the end, a repeated one gets `id`.
    /// [`Self::finish`] must follow the last one.
    fn insert(&mut self, piece: &str, id: u32) -> Result<(), String> {
        let slot = match self.find(piece) {
            Ok(entry) => {
                self.ids[entry as usize] = id;
                return Ok(());
            }
            Err(slot) => slot,
        };
        let entry = u32::try_from(self.ids.len()).ok().filter(|&entry| entry != FREE);
        let end = u32::try_from(self.text.len() + piece.len()).ok();
        let (Some(entry), Some(end)) = (entry, end) else {
            return Err("the vocabulary is too large".into());
        };
        self.text.push_str(piece);
        self.bounds.push(end);
        self.ids.push(id);
        self.slots[slot] = entry;
        if self.ids.len() * 2 > self.slots.len() {
            self.slots = vec![FREE; self.slots.len() * 2];
            for entry in 0..entry + 1 {
                if let Err(slot) = self.find(self.entry(entry)) {
                    self.slots[slot] = entry;
                }
            }
        }
        Ok(())
    }

    /// Indexes the entries by id and releases spare capacity.
    fn finish(mut self) -> Self {
        let ids = &self.ids;
        let mut by_id: Vec<u32> = (0..ids.len() as u32).collect();
        by_id.sort_by_key(|&entry| ids[entry as usize]); // stable: entries of one id keep their order
        by_id.dedup_by(|next, kept| {
            let same = ids[*next as usize] == ids[*kept as usize];
            if same {
                *kept = *next;
            }
            same
        });
        by_id.shrink_to_fit();
        self.by_id = by_id;
        self.text.shrink_to_fit();
        self.bounds.shrink_to_fit();
        self.ids.shrink_to_fit();
        self
    }

    /// The piece of an entry.
    fn entry(&self, entry: u32) -> &str {
        let entry = entry as usize;
        &self.text[self.bounds[entry] as usize..self.bounds[entry + 1] as usize]
    }

    /// The entry holding `piece`, or the free slot where it would go.
    fn find(&self, piece: &str) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut slot = BuildHasherDefault::<DefaultHasher>::default().hash_one(piece) as usize & mask;
        loop {
            match self.slots[slot] {
                FREE => return Err(slot),
                entry if self.entry(entry) == piece => return Ok(entry),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    /// Number of distinct pieces.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The id of a piece.
    pub(crate) fn id(&self, piece: &str) -> Option<u32> {
        self.find(piece).ok().map(|entry| self.ids[entry as usize])
    }

    /// The largest id and the piece that decodes it (`None` when empty).
    pub(crate) fn last(&self) -> Option<(u32, &str)> {
        self.by_id.last().map(|&entry| (self.ids[entry as usize], self.entry(entry)))
    }

    /// The piece that decodes `id`.
    pub(crate) fn piece(&self, id: u32) -> Option<&str> {
        let id_of = |&entry: &u32| self.ids[entry as usize];
        // Ids usually run from 0 without gaps: then `id` is at position `id`.
        let entry = match self.by_id.get(id as usize) {
            Some(entry) if id_of(entry) == id => *entry,
            _ => self.by_id[self.by_id.binary_search_by_key(&id, id_of).ok()?],
        };
        Some(self.entry(entry))
    }
}

/// Reads a JSON object of pieces and ids without copying the pieces that have no escapes.
impl<'de> Deserialize<'de> for Vocab {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// A piece, borrowed from the input when it can be.
        struct Piece<'de>(Cow<'de, str>);

        impl<'de> Deserialize<'de> for Piece<'de> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct PieceVisitor;
                impl<'de> Visitor<'de> for PieceVisitor {
                    type Value = Piece<'de>;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_borrowed_str<E: de::Error>(self, piece: &'de str) -> Result<Piece<'de>, E> {
                        Ok(Piece(Cow::Borrowed(piece)))
                    }
                    fn visit_str<E: de::Error>(self, piece: &str) -> Result<Piece<'de>, E> {
                        Ok(Piece(Cow::Owned(piece.to_owned())))
                    }
                }
                deserializer.deserialize_str(PieceVisitor)
            }
        }

        struct VocabVisitor;
        impl<'de> Visitor<'de> for VocabVisitor {
            type Value = Vocab;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object mapping pieces to token ids")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vocab, A::Error> {
                let mut vocab = Vocab::default();
                while let Some((Piece(piece), id)) = map.next_entry::<Piece, u32>()? {
                    vocab.insert(&piece, id).map_err(de::Error::custom)?;
                }
                Ok(vocab.finish())
            }
        }
        deserializer.deserialize_map(VocabVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vocabulary of these entries in file order.
    fn from_entries<'p>(entries: impl IntoIterator<Item = (&'p str, u32)>) -> Vocab {
        let mut vocab = Vocab::default();
        for (piece, id) in entries {
            vocab.insert(piece, id).expect("small vocabulary");
        }
        vocab.finish()
    }

    #[test]
    fn keeps_python_dict_semantics() {
        let vocab = from_entries([("a", 0), ("b", 1), ("a", 2), ("c", 1), ("", 7)]);
        assert_eq!(vocab.len(), 4);
        assert_eq!(vocab.id("a"), Some(2));
        assert_eq!(vocab.id("b"), Some(1));
        assert_eq!(vocab.id(""), Some(7));
        assert_eq!(vocab.id("d"), None);
        assert_eq!(vocab.id("ab"), None);
        assert_eq!(vocab.piece(1), Some("c"));
        assert_eq!(vocab.piece(2), Some("a"));
        assert_eq!(vocab.piece(7), Some(""));
        assert_eq!(vocab.piece(0), None);
        assert_eq!(vocab.piece(3), None);
        assert_eq!(vocab.piece(u32::MAX), None);
        assert_eq!(vocab.last(), Some((7, "")));
        assert_eq!(Vocab::default().last(), None);
    }

    #[test]
    fn grows_and_finds_every_piece() {
        let pieces: Vec<String> = (0..10_000).map(|i| format!("▁{i}")).collect();
        // Sparse ids, in decreasing order.
        let vocab = from_entries(pieces.iter().zip(0..).map(|(p, i)| (p.as_str(), 3 * (10_000 - i))));
        assert_eq!(vocab.len(), pieces.len());
        for (piece, i) in pieces.iter().zip(0..) {
            assert_eq!(vocab.id(piece), Some(3 * (10_000 - i)));
            assert_eq!(vocab.piece(3 * (10_000 - i)), Some(piece.as_str()));
            assert_eq!(vocab.piece(3 * (10_000 - i) + 1), None);
        }
        assert_eq!(vocab.id("▁10000"), None);
        assert!(vocab.slots.len().is_power_of_two() && vocab.slots.len() >= 2 * vocab.len());
    }

    #[test]
    fn reads_json_with_escapes() {
        let vocab: Vocab = serde_json::from_str(r#"{"a\"b": 0, "\u00e9": 1, "é": 2, "plain": 3}"#).expect("valid");
        assert_eq!(vocab.len(), 3);
        assert_eq!(vocab.id("a\"b"), Some(0));
        assert_eq!(vocab.id("é"), Some(2));
        assert_eq!(vocab.piece(1), None);
        assert_eq!(vocab.piece(3), Some("plain"));
        assert!(serde_json::from_str::<Vocab>(r#"{"a": -1}"#).is_err());
        assert!(serde_json::from_str::<Vocab>(r#"["a"]"#).is_err());
    }
}
