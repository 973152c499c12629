//! A byte trie over vocabulary pieces for common-prefix search: the role of the Darts trie
//! that sentencepiece builds over its pieces when it loads a model.

/// Marks a node that ends no key.
const NO_VALUE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    /// Index of the node's first edge in [`PieceTrie::edges`].
    first_edge: u32,
    /// Number of edges (at most 256).
    edge_count: u16,
    /// The value of the key ending here, or [`NO_VALUE`].
    value: u32,
}

const LEAF: Node = Node { first_edge: 0, edge_count: 0, value: NO_VALUE };

/// An immutable byte trie mapping keys to `u32` values.
#[derive(Debug, Clone)]
pub(crate) struct PieceTrie {
    nodes: Vec<Node>,
    /// `(byte, child node)`; the edges of one node are contiguous and sorted by byte.
    edges: Vec<(u8, u32)>,
}

impl PieceTrie {
    /// Builds the trie. Empty keys are ignored; of duplicate keys the first one wins.
    /// `values` must not contain `u32::MAX`.
    pub(crate) fn new<'k>(keys: impl IntoIterator<Item = (&'k [u8], u32)>) -> Self {
        let mut keys: Vec<_> = keys.into_iter().filter(|(k, _)| !k.is_empty()).collect();
        keys.sort_by(|a, b| a.0.cmp(b.0)); // stable: duplicates keep their order
        let mut trie = PieceTrie { nodes: vec![LEAF], edges: Vec::new() };
        // (node, first key, end of keys, depth): the keys in range share `depth` leading bytes.
        let mut stack = vec![(0usize, 0usize, keys.len(), 0usize)];
        while let Some((node, mut lo, hi, depth)) = stack.pop() {
            while lo < hi && keys[lo].0.len() == depth {
                if trie.nodes[node].value == NO_VALUE {
                    trie.nodes[node].value = keys[lo].1;
                }
                lo += 1;
            }
            trie.nodes[node].first_edge = trie.edges.len() as u32;
            while lo < hi {
                let byte = keys[lo].0[depth];
                let end = lo + keys[lo..hi].iter().take_while(|(k, _)| k[depth] == byte).count();
                let child = trie.nodes.len();
                trie.nodes.push(LEAF);
                trie.edges.push((byte, child as u32));
                trie.nodes[node].edge_count += 1;
                stack.push((child, lo, end, depth + 1));
                lo = end;
            }
        }
        trie
    }

    /// Every `(length, value)` whose key is a prefix of `text`, shortest first.
    pub(crate) fn prefixes<'t>(&'t self, text: &'t [u8]) -> impl Iterator<Item = (usize, u32)> + 't {
        let mut node = 0usize;
        text.iter()
            .enumerate()
            .map_while(move |(i, &byte)| {
                let Node { first_edge, edge_count, .. } = self.nodes[node];
                let edges = &self.edges[first_edge as usize..first_edge as usize + usize::from(edge_count)];
                let k = edges.binary_search_by_key(&byte, |&(b, _)| b).ok()?;
                node = edges[k].1 as usize;
                let value = self.nodes[node].value;
                Some((value != NO_VALUE).then_some((i + 1, value)))
            })
            .flatten()
    }

    /// The longest key that is a prefix of `text`, as `(length, value)`.
    pub(crate) fn longest_prefix(&self, text: &[u8]) -> Option<(usize, u32)> {
        self.prefixes(text).last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_prefix_in_order() {
        let keys: [(&[u8], u32); 6] = [(b"ab", 1), (b"a", 0), (b"abcd", 2), (b"b", 3), (b"", 9), (b"a", 7)];
        let trie = PieceTrie::new(keys);
        assert_eq!(trie.prefixes(b"abcde").collect::<Vec<_>>(), vec![(1, 0), (2, 1), (4, 2)]);
        assert_eq!(trie.prefixes(b"abc").collect::<Vec<_>>(), vec![(1, 0), (2, 1)]);
        assert_eq!(trie.prefixes(b"ba").collect::<Vec<_>>(), vec![(1, 3)]);
        assert_eq!(trie.prefixes(b"c").count(), 0);
        assert_eq!(trie.prefixes(b"").count(), 0);
        assert_eq!(trie.longest_prefix(b"abcz"), Some((2, 1)));
        assert_eq!(trie.longest_prefix(b"z"), None);
    }

    #[test]
    fn handles_full_byte_range_and_long_keys() {
        let bytes: Vec<[u8; 1]> = (0..=255u8).map(|b| [b]).collect();
        let long = vec![b'x'; 100_000];
        let trie = PieceTrie::new(bytes.iter().map(|b| (&b[..], u32::from(b[0]))).chain([(&long[..], 1000)]));
        for b in 0..=255u8 {
            assert_eq!(trie.longest_prefix(&[b, b]), Some((1, u32::from(b))));
        }
        assert_eq!(trie.longest_prefix(&long), Some((100_000, 1000)));
    }
}
