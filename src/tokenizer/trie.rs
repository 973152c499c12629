//! A byte trie over vocabulary pieces for exact and common-prefix search: the role of the
//! Darts trie and the piece map that sentencepiece builds when it loads a model.

/// Marks a node that ends no key.
const NO_VALUE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    /// Index of the node's first child in [`PieceTrie::nodes`]; the children of one node
    /// are contiguous and sorted by byte.
    first_child: u32,
    /// The value of the key ending here, or [`NO_VALUE`].
    value: u32,
    /// Number of children (at most 256).
    child_count: u16,
    /// The byte of the edge from the parent (0 for the root).
    byte: u8,
}

const LEAF: Node = Node { first_child: 0, value: NO_VALUE, child_count: 0, byte: 0 };

/// An immutable byte trie mapping keys to `u32` values.
#[derive(Debug, Clone)]
pub(crate) struct PieceTrie {
    /// The root first.
    nodes: Vec<Node>,
}

impl PieceTrie {
    /// Builds the trie. Empty keys are ignored; of duplicate keys the first one wins.
    /// `values` must not contain `u32::MAX`.
    pub(crate) fn new<'k>(keys: impl IntoIterator<Item = (&'k [u8], u32)>) -> Self {
        let mut keys: Vec<_> = keys.into_iter().filter(|(k, _)| !k.is_empty()).collect();
        keys.sort_by(|a, b| a.0.cmp(b.0)); // stable: duplicates keep their order
        let mut nodes = vec![LEAF];
        // (node, first key, end of keys, depth): the keys in range share `depth` leading bytes.
        let mut stack = vec![(0usize, 0usize, keys.len(), 0usize)];
        while let Some((node, mut lo, hi, depth)) = stack.pop() {
            while lo < hi && keys[lo].0.len() == depth {
                if nodes[node].value == NO_VALUE {
                    nodes[node].value = keys[lo].1;
                }
                lo += 1;
            }
            nodes[node].first_child = nodes.len() as u32;
            while lo < hi {
                let byte = keys[lo].0[depth];
                let end = lo + keys[lo..hi].iter().take_while(|(k, _)| k[depth] == byte).count();
                stack.push((nodes.len(), lo, end, depth + 1));
                nodes.push(Node { byte, ..LEAF });
                nodes[node].child_count += 1;
                lo = end;
            }
        }
        nodes.shrink_to_fit();
        PieceTrie { nodes }
    }

    /// The children of a node.
    fn children(&self, node: usize) -> &[Node] {
        let Node { first_child, child_count, .. } = self.nodes[node];
        &self.nodes[first_child as usize..first_child as usize + usize::from(child_count)]
    }

    /// The node reached from `node` by `byte`.
    fn child(&self, node: usize, byte: u8) -> Option<usize> {
        let k = self.children(node).binary_search_by_key(&byte, |child| child.byte).ok()?;
        Some(self.nodes[node].first_child as usize + k)
    }

    /// The value of the key `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<u32> {
        let node = key.iter().try_fold(0, |node, &byte| self.child(node, byte))?;
        let value = self.nodes[node].value;
        (value != NO_VALUE).then_some(value)
    }

    /// Every `(length, value)` whose key is a prefix of `text`, shortest first.
    pub(crate) fn prefixes<'t>(&'t self, text: &'t [u8]) -> impl Iterator<Item = (usize, u32)> + 't {
        let mut node = 0usize;
        text.iter()
            .enumerate()
            .map_while(move |(i, &byte)| {
                node = self.child(node, byte)?;
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
        assert_eq!(trie.get(b"a"), Some(0));
        assert_eq!(trie.get(b"abcd"), Some(2));
        assert_eq!(trie.get(b"abc"), None);
        assert_eq!(trie.get(b"abcde"), None);
        assert_eq!(trie.get(b""), None);
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
