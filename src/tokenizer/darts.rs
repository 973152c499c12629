//! The precompiled character map of a SentencePiece normalizer: a Darts-clone double-array
//! trie over UTF-8 byte strings whose values point into a blob of NUL-terminated
//! replacement strings.
//!
//! Blob layout (`normalizer.cc`, `EncodePrecompiledCharsMap`): a little-endian `u32` giving
//! the trie size in bytes, the trie (32-bit little-endian units), then the replacement
//! strings. Every access is bounds-checked: a corrupt trie yields fewer matches, never a
//! panic.

/// A decoded precompiled character map.
#[derive(Debug, Clone)]
pub(crate) struct CharsMap {
    /// Double-array units.
    units: Vec<u32>,
    /// The replacement strings, each terminated by NUL.
    replacements: String,
}

impl CharsMap {
    /// Splits and checks a `precompiled_charsmap` blob.
    pub(crate) fn parse(blob: &[u8]) -> Result<Self, String> {
        let Some((size, rest)) = blob.split_first_chunk::<4>() else {
            return Err(format!("precompiled_charsmap of {} bytes has no trie size", blob.len()));
        };
        let size = u32::from_le_bytes(*size) as usize;
        if size >= rest.len() {
            return Err(format!("precompiled_charsmap: trie of {size} bytes does not fit in {} bytes", rest.len()));
        }
        let (trie, strings) = rest.split_at(size);
        let units = trie.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let replacements = String::from_utf8(strings.to_vec())
            .map_err(|e| format!("precompiled_charsmap: replacement strings are not UTF-8 ({e})"))?;
        Ok(CharsMap { units, replacements })
    }

    /// The longest rule whose key is a prefix of `input`: the number of input bytes it
    /// covers and its replacement. Matches that do not end on a character boundary of
    /// `input`, or whose replacement does not start on one in the string blob, are ignored.
    pub(crate) fn longest_match<'a>(&'a self, input: &str) -> Option<(usize, &'a str)> {
        let mut best = None;
        for (len, value) in self.common_prefixes(input.as_bytes()) {
            if input.is_char_boundary(len)
                && let Some(tail) = self.replacements.get(value as usize..)
            {
                let end = tail.find('\0').unwrap_or(tail.len());
                best = Some((len, &tail[..end]));
            }
        }
        best
    }

    /// Darts-clone `commonPrefixSearch` with an explicit key length: every `(length, value)`
    /// whose key is a prefix of `key`, shortest first.
    fn common_prefixes<'k>(&'k self, key: &'k [u8]) -> impl Iterator<Item = (usize, u32)> + 'k {
        let mut node = self.units.first().map(|&u| offset(u));
        key.iter()
            .enumerate()
            .map_while(move |(i, &byte)| {
                let pos = node? ^ byte as usize;
                let unit = *self.units.get(pos)?;
                if label(unit) != u32::from(byte) {
                    node = None;
                    return None;
                }
                let next = pos ^ offset(unit);
                node = Some(next);
                Some(if has_leaf(unit) { self.units.get(next).map(|&leaf| (i + 1, leaf & 0x7fff_ffff)) } else { None })
            })
            .flatten()
    }
}

/// Darts-clone unit accessors (`DoubleArrayUnit`).
fn has_leaf(unit: u32) -> bool {
    (unit >> 8) & 1 == 1
}

fn label(unit: u32) -> u32 {
    unit & ((1 << 31) | 0xff)
}

fn offset(unit: u32) -> usize {
    ((unit >> 10) << ((unit & (1 << 9)) >> 6)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-built trie: "a" → "x", "ab" → "yz", root offset 1.
    fn sample() -> Vec<u8> {
        let mut units = vec![0u32; 200];
        units[0] = 1 << 10; // root: children at 1 ^ byte
        // 'a' (0x61) at 1 ^ 0x61 = 0x60, with a leaf at 0x60 ^ 1 = 0x61
        units[0x60] = 0x61 | (1 << 8) | (1 << 10);
        units[0x61] = 1 << 31; // value: offset 0 in the strings
        // 'b' (0x62) from node 0x61: at 0x61 ^ 0x62 = 0x03, leaf at 0x03 ^ 4 = 0x07
        units[0x03] = 0x62 | (1 << 8) | (4 << 10);
        units[0x07] = (1 << 31) | 2;
        let mut blob = ((units.len() * 4) as u32).to_le_bytes().to_vec();
        for u in units {
            blob.extend_from_slice(&u.to_le_bytes());
        }
        blob.extend_from_slice(b"x\0yz\0");
        blob
    }

    #[test]
    fn longest_prefix_wins() {
        let map = CharsMap::parse(&sample()).expect("valid blob");
        assert_eq!(map.longest_match("a"), Some((1, "x")));
        assert_eq!(map.longest_match("abc"), Some((2, "yz")));
        assert_eq!(map.longest_match("ac"), Some((1, "x")));
        assert_eq!(map.longest_match("b"), None);
        assert_eq!(map.longest_match(""), None);
        let all: Vec<_> = map.common_prefixes(b"ab").collect();
        assert_eq!(all, vec![(1, 0), (2, 2)]);
    }

    #[test]
    fn rejects_broken_blobs_and_survives_corrupt_tries() {
        assert!(CharsMap::parse(&[1, 0, 0]).is_err());
        assert!(CharsMap::parse(&[4, 0, 0, 0, 1, 2, 3, 4]).is_err(), "no room for strings");
        assert!(CharsMap::parse(&[0, 0, 0, 0, 0xff]).is_err(), "strings not UTF-8");
        // A root whose offset points far outside the array: no match, no panic.
        let mut blob = 4u32.to_le_bytes().to_vec();
        blob.extend_from_slice(&(0xfff_u32 << 10).to_le_bytes());
        blob.extend_from_slice(b"\0");
        let map = CharsMap::parse(&blob).expect("structurally valid");
        assert_eq!(map.longest_match("abc"), None);
        // A value pointing past the strings is ignored.
        let mut bad = sample();
        let at = 4 + 0x61 * 4;
        bad[at..at + 4].copy_from_slice(&((1u32 << 31) | 99).to_le_bytes());
        let map = CharsMap::parse(&bad).expect("structurally valid");
        assert_eq!(map.longest_match("a"), None);
        assert_eq!(map.longest_match("ab"), Some((2, "yz")));
    }
}
