use ed25519_dalek::Signer;
pub use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::{Hash, frame};

/// A signed statement of the ledger's state: after `size` entries, the Merkle root is `root` and
/// the last entry's hash is `head`. Signed with the server's Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub size: u64,
    pub root: Hash,
    pub head: Hash,
    /// Server UTC time, RFC 3339.
    pub time: String,
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The bytes that are signed (docs/ledger.md, "Checkpoint signature").
    pub fn signed_bytes(size: u64, root: &Hash, head: &Hash, time: &str) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(160);
        frame(&mut bytes, b"attest-ledger-checkpoint-v1");
        frame(&mut bytes, size.to_string().as_bytes());
        frame(&mut bytes, root);
        frame(&mut bytes, head);
        frame(&mut bytes, time.as_bytes());
        bytes
    }

    pub fn sign(key: &SigningKey, size: u64, root: Hash, head: Hash, time: String) -> Checkpoint {
        let signature = key
            .sign(&Self::signed_bytes(size, &root, &head, &time))
            .to_bytes();
        Checkpoint {
            size,
            root,
            head,
            time,
            signature,
        }
    }

    pub fn signature_is_valid(&self, key: &VerifyingKey) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(&self.signature);
        key.verify_strict(
            &Self::signed_bytes(self.size, &self.root, &self.head, &self.time),
            &signature,
        )
        .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forged_checkpoint_fails_its_signature() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let checkpoint =
            Checkpoint::sign(&key, 10, [1; 32], [2; 32], "2026-01-01T00:00:00Z".into());
        assert!(checkpoint.signature_is_valid(&key.verifying_key()));
        let mut forged = checkpoint.clone();
        forged.size = 9;
        assert!(!forged.signature_is_valid(&key.verifying_key()));
        let mut forged = checkpoint.clone();
        forged.root = [3; 32];
        assert!(!forged.signature_is_valid(&key.verifying_key()));
        let other = SigningKey::from_bytes(&[8u8; 32]);
        assert!(!checkpoint.signature_is_valid(&other.verifying_key()));
    }
}
