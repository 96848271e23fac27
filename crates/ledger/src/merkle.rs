//! RFC 6962 (Certificate Transparency) Merkle trees over the ledger: leaf `i` is entry `i + 1`'s
//! hash. Proof generation follows RFC 6962 section 2.1; verification follows RFC 9162 sections
//! 2.1.3.2 and 2.1.4.2, so any CT library can check our proofs.
use sha2::{Digest, Sha256};

use crate::Hash;

/// `SHA-256(0x00 || entry hash)`.
pub fn leaf_hash(entry_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry_hash);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of an empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two smaller than `n` (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// MTH over leaf hashes.
fn subtree_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&subtree_root(&leaves[..k]), &subtree_root(&leaves[k..]))
        }
    }
}

/// The Merkle tree hash of these entry hashes.
pub fn root(entry_hashes: &[Hash]) -> Hash {
    let leaves: Vec<Hash> = entry_hashes.iter().map(leaf_hash).collect();
    subtree_root(&leaves)
}

/// The audit path of leaf `index` in the tree of all `entry_hashes` (RFC 6962 2.1.1).
pub fn inclusion_proof(entry_hashes: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= entry_hashes.len() {
        return None;
    }
    let leaves: Vec<Hash> = entry_hashes.iter().map(leaf_hash).collect();
    let mut proof = Vec::new();
    path(index, &leaves, &mut proof);
    Some(proof)
}

fn path(m: usize, leaves: &[Hash], out: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, &leaves[..k], out);
        out.push(subtree_root(&leaves[k..]));
    } else {
        path(m - k, &leaves[k..], out);
        out.push(subtree_root(&leaves[..k]));
    }
}

/// The proof that the tree of the first `old_size` entries is a prefix of the tree of all
/// `entry_hashes` (RFC 6962 2.1.2).
pub fn consistency_proof(entry_hashes: &[Hash], old_size: usize) -> Option<Vec<Hash>> {
    if old_size == 0 || old_size > entry_hashes.len() {
        return None;
    }
    let leaves: Vec<Hash> = entry_hashes.iter().map(leaf_hash).collect();
    let mut proof = Vec::new();
    subproof(old_size, &leaves, true, &mut proof);
    Some(proof)
}

fn subproof(m: usize, leaves: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            out.push(subtree_root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], complete, out);
        out.push(subtree_root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, out);
        out.push(subtree_root(&leaves[..k]));
    }
}

/// Checks an audit path (RFC 9162 2.1.3.2): the entry with `entry_hash` is leaf `index` of the
/// tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    entry_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = leaf_hash(entry_hash);
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// Checks a consistency proof (RFC 9162 2.1.4.2): the tree of `old_size` leaves with root
/// `old_root` is a prefix of the tree of `new_size` leaves with root `new_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    fr == *old_root && sr == *new_root && s == 0
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest first. Appending
/// is O(log n), and the root of everything so far is available at any time without the leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (height, root) of each perfect subtree, left to right.
    peaks: Vec<(u32, Hash)>,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn push(&mut self, entry_hash: &Hash) {
        let mut node = (0u32, leaf_hash(entry_hash));
        while let Some(&(height, left)) = self.peaks.last() {
            if height != node.0 {
                break;
            }
            self.peaks.pop();
            node = (height + 1, node_hash(&left, &node.1));
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// A compact encoding (size, then each peak's height and root) for keeping the frontier
    /// beside the data, so any process can continue the tree.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(8 + self.peaks.len() * 33);
        bytes.extend_from_slice(&self.size.to_be_bytes());
        for (height, root) in &self.peaks {
            bytes.push(*height as u8);
            bytes.extend_from_slice(root);
        }
        bytes
    }

    /// Reads [`Frontier::to_bytes`]; `None` when the bytes are not a consistent frontier.
    pub fn from_bytes(bytes: &[u8]) -> Option<Frontier> {
        let (size, rest) = bytes.split_first_chunk::<8>()?;
        let size = u64::from_be_bytes(*size);
        if rest.len() % 33 != 0 {
            return None;
        }
        let peaks: Vec<(u32, Hash)> = rest
            .chunks_exact(33)
            .map(|chunk| {
                (
                    u32::from(chunk[0]),
                    chunk[1..].try_into().unwrap_or([0; 32]),
                )
            })
            .collect();
        // The peaks are the binary digits of the size, largest first.
        let covered: u64 = peaks.iter().map(|(h, _)| 1u64 << h).sum();
        let descending = peaks.windows(2).all(|w| w[0].0 > w[1].0);
        (covered == size && descending).then_some(Frontier { size, peaks })
    }

    /// The RFC 6962 root: the perfect subtrees folded from the right.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(&(_, mut acc)) = peaks.next() else {
            return empty_root();
        };
        for (_, left) in peaks {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| crate::content_hash(i.to_string().as_bytes()))
            .collect()
    }

    #[test]
    fn frontier_root_equals_the_full_tree_root() {
        let all = entries(70);
        let mut frontier = Frontier::default();
        assert_eq!(frontier.root(), empty_root());
        for n in 1..=all.len() {
            frontier.push(&all[n - 1]);
            assert_eq!(frontier.root(), root(&all[..n]), "size {n}");
        }
    }

    #[test]
    fn frontier_survives_its_encoding() {
        let mut frontier = Frontier::default();
        for (i, e) in entries(13).iter().enumerate() {
            frontier.push(e);
            let copy = Frontier::from_bytes(&frontier.to_bytes()).expect("decodes");
            assert_eq!(copy, frontier, "after {} entries", i + 1);
        }
        assert_eq!(Frontier::from_bytes(&[0; 5]), None);
        let mut bytes = frontier.to_bytes();
        bytes[7] ^= 1;
        assert_eq!(
            Frontier::from_bytes(&bytes),
            None,
            "a size that disagrees with the peaks"
        );
    }

    #[test]
    fn every_inclusion_proof_verifies_and_a_wrong_one_does_not() {
        let all = entries(37);
        for n in 1..=all.len() {
            let r = root(&all[..n]);
            for i in 0..n {
                let proof = inclusion_proof(&all[..n], i).expect("proof");
                assert!(
                    verify_inclusion(&all[i], i as u64, n as u64, &proof, &r),
                    "leaf {i} of {n}"
                );
                let other = (i + 1) % n;
                if other != i {
                    assert!(!verify_inclusion(
                        &all[other],
                        i as u64,
                        n as u64,
                        &proof,
                        &r
                    ));
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_a_forked_history_does_not() {
        let all = entries(33);
        for n in 1..=all.len() {
            for m in 1..=n {
                let proof = consistency_proof(&all[..n], m).expect("proof");
                let (old, new) = (root(&all[..m]), root(&all[..n]));
                assert!(
                    verify_consistency(m as u64, n as u64, &old, &new, &proof),
                    "{m} -> {n}"
                );
                if m < n {
                    let mut forked = all[..n].to_vec();
                    forked[m - 1] = [9u8; 32];
                    assert!(!verify_consistency(
                        m as u64,
                        n as u64,
                        &old,
                        &root(&forked),
                        &proof
                    ));
                }
            }
        }
    }

    #[test]
    fn matches_the_rfc_6962_definition_for_small_trees() {
        let e = entries(3);
        let (a, b, c) = (leaf_hash(&e[0]), leaf_hash(&e[1]), leaf_hash(&e[2]));
        assert_eq!(root(&e[..1]), a);
        assert_eq!(root(&e[..2]), node_hash(&a, &b));
        assert_eq!(root(&e), node_hash(&node_hash(&a, &b), &c));
    }
}
