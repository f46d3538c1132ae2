//! Tornado's height-20 MiMC Merkle tree: incremental inserts, paths and bulk rebuilds.

use rayon::prelude::*;

use crate::{
    ZkError,
    field::Fr,
    mimc::{TREE_LEVELS, hash_left_right, zeros},
};

/// Leaves a height-20 tree holds.
pub const TREE_CAPACITY: usize = 1 << TREE_LEVELS;

/// Layers smaller than this are hashed on one thread; splitting them costs more than it saves.
const PARALLEL_THRESHOLD: usize = 256;

/// An authentication path: what the withdraw circuit takes as `pathElements`/`pathIndices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MerklePath {
    /// Sibling at each level, leaf level first.
    pub elements: [Fr; TREE_LEVELS],
    /// Bit i of the leaf index: `true` when the current node is the right input.
    pub indices: [bool; TREE_LEVELS],
}

impl MerklePath {
    /// The root this path leads to from `leaf`.
    pub fn root_from(&self, leaf: Fr) -> Fr {
        self.elements
            .iter()
            .zip(self.indices)
            .fold(leaf, |node, (sibling, is_right)| {
                if is_right {
                    hash_left_right(*sibling, node)
                } else {
                    hash_left_right(node, *sibling)
                }
            })
    }

    /// The leaf index the path's bits encode.
    pub fn leaf_index(&self) -> usize {
        self.indices
            .iter()
            .enumerate()
            .map(|(level, bit)| usize::from(*bit) << level)
            .sum()
    }
}

/// A height-20 tree that keeps every filled node, so any leaf's path is available.
#[derive(Debug, Clone)]
pub struct MerkleTree {
    /// `layers[0]` holds the leaves; `layers[i]` the nodes of level i that have a filled
    /// descendant. Missing right siblings are `zeros[i]`.
    layers: Vec<Vec<Fr>>,
}

impl Default for MerkleTree {
    fn default() -> Self {
        Self::new()
    }
}

impl MerkleTree {
    /// An empty tree (root `zeros[20]`).
    pub fn new() -> Self {
        Self {
            layers: vec![Vec::new(); TREE_LEVELS + 1],
        }
    }

    /// Builds the tree from leaves in `leafIndex` order, layer by layer, hashing each
    /// layer in parallel.
    pub fn from_leaves(leaves: &[Fr]) -> Result<Self, ZkError> {
        if leaves.len() > TREE_CAPACITY {
            return Err(ZkError::TreeFull {
                capacity: TREE_CAPACITY,
            });
        }
        let zeros = zeros();
        let mut layers = Vec::with_capacity(TREE_LEVELS + 1);
        layers.push(leaves.to_vec());
        for level in 0..TREE_LEVELS {
            let below = &layers[level];
            let hash_pair = |pair: &[Fr]| {
                let right = pair.get(1).copied().unwrap_or(zeros[level]);
                hash_left_right(pair[0], right)
            };
            let above: Vec<Fr> = if below.len() >= PARALLEL_THRESHOLD {
                below.par_chunks(2).map(hash_pair).collect()
            } else {
                below.chunks(2).map(hash_pair).collect()
            };
            layers.push(above);
        }
        Ok(Self { layers })
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.layers[0].len()
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.layers[0].is_empty()
    }

    /// The leaves, in index order.
    pub fn leaves(&self) -> &[Fr] {
        &self.layers[0]
    }

    /// Appends a leaf (like `MerkleTreeWithHistory._insert`) and returns its index.
    pub fn insert(&mut self, leaf: Fr) -> Result<usize, ZkError> {
        let index = self.len();
        if index >= TREE_CAPACITY {
            return Err(ZkError::TreeFull {
                capacity: TREE_CAPACITY,
            });
        }
        self.layers[0].push(leaf);
        let mut position = index;
        for (level, zero) in zeros().iter().enumerate().take(TREE_LEVELS) {
            let left_index = position & !1;
            let layer = &self.layers[level];
            let left = layer[left_index];
            let right = layer.get(left_index + 1).copied().unwrap_or(*zero);
            let parent = hash_left_right(left, right);
            position >>= 1;
            let above = &mut self.layers[level + 1];
            if position < above.len() {
                above[position] = parent;
            } else {
                above.push(parent);
            }
        }
        Ok(index)
    }

    /// The current root.
    pub fn root(&self) -> Fr {
        self.layers[TREE_LEVELS]
            .first()
            .copied()
            .unwrap_or(zeros()[TREE_LEVELS])
    }

    /// The authentication path of leaf `index`.
    pub fn path(&self, index: usize) -> Result<MerklePath, ZkError> {
        if index >= self.len() {
            return Err(ZkError::LeafIndexOutOfRange {
                index,
                len: self.len(),
            });
        }
        let zeros = zeros();
        let mut elements = [Fr::default(); TREE_LEVELS];
        let mut indices = [false; TREE_LEVELS];
        let mut position = index;
        for level in 0..TREE_LEVELS {
            let sibling = position ^ 1;
            elements[level] = self.layers[level]
                .get(sibling)
                .copied()
                .unwrap_or(zeros[level]);
            indices[level] = position & 1 == 1;
            position >>= 1;
        }
        Ok(MerklePath { elements, indices })
    }
}

/// Seed of shared/bench's deterministic leaf generator (`lib/tornado.mjs`).
pub const BENCH_LEAF_SEED: u64 = 0x0074_616f_6e61_646f;

/// Deterministic pseudo-random leaves from shared/bench's splitmix64 generator: each leaf
/// is four outputs, most significant first, reduced modulo p. Lets benchmarks here
/// rebuild exactly the trees the peer benchmarks built and compare roots.
pub fn splitmix_leaves(count: usize, seed: u64) -> Vec<Fr> {
    use ark_ff::PrimeField;
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..count)
        .map(|_| {
            let mut bytes = [0u8; 32];
            for chunk in bytes.chunks_exact_mut(8) {
                chunk.copy_from_slice(&next().to_be_bytes());
            }
            Fr::from_be_bytes_mod_order(&bytes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tree_root_is_the_last_zero() {
        assert_eq!(MerkleTree::new().root(), zeros()[TREE_LEVELS]);
        assert_eq!(
            MerkleTree::from_leaves(&[]).map(|t| t.root()).ok(),
            Some(zeros()[TREE_LEVELS])
        );
    }

    #[test]
    fn incremental_and_bulk_agree_and_paths_lead_to_the_root() {
        let leaves: Vec<Fr> = (1..=5u64).map(Fr::from).collect();
        let mut tree = MerkleTree::new();
        for (i, leaf) in leaves.iter().enumerate() {
            assert_eq!(tree.insert(*leaf).ok(), Some(i));
            let bulk = MerkleTree::from_leaves(&leaves[..=i]).expect("small tree");
            assert_eq!(tree.root(), bulk.root());
        }
        for (i, leaf) in leaves.iter().enumerate() {
            let path = tree.path(i).expect("index in range");
            assert_eq!(path.leaf_index(), i);
            assert_eq!(path.root_from(*leaf), tree.root());
        }
        assert!(matches!(
            tree.path(5),
            Err(ZkError::LeafIndexOutOfRange { index: 5, len: 5 })
        ));
    }
}
