use sha2::{Digest, Sha256};

use crate::{Hash, frame};

/// What a write tells the ledger: who did what to which record, and the hash of the content it
/// wrote (and, for an overwrite or delete, of the content before, so nothing is obscured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The credential or user that made the change (`credential:<key>`, `cli`, `system`).
    pub principal: String,
    /// What was done: `statement.store`, `statement.voided`, `credential.create`, …
    pub action: String,
    /// The kind of record: `statement`, `credential`, `document`, …
    pub kind: String,
    /// The record's id within its kind.
    pub resource: String,
    /// SHA-256 of the record's content as written ([`content_hash`]).
    pub content: Hash,
    /// SHA-256 of the content this write replaced or deleted, when there was one.
    pub previous_content: Option<Hash>,
}

/// A ledger entry as stored: the change, its place in the chain, and the hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1, 2, 3, … without gaps.
    pub seq: u64,
    /// Server UTC time of the write, RFC 3339 (never the client's clock).
    pub time: String,
    pub change: NewEntry,
    /// The hash of entry `seq - 1` ([`crate::GENESIS`] for the first).
    pub prev: Hash,
    /// The hash of this entry ([`Entry::compute_hash`]).
    pub hash: Hash,
}

impl Entry {
    /// Builds entry `seq` after the entry whose hash is `prev`.
    pub fn new(seq: u64, time: String, change: NewEntry, prev: Hash) -> Entry {
        let hash = Self::compute_hash(seq, &time, &change, &prev);
        Entry {
            seq,
            time,
            change,
            prev,
            hash,
        }
    }

    /// SHA-256 over the framed fields (docs/ledger.md, "Entry hash"):
    /// `"attest-ledger-entry-v1"`, seq, time, principal, action, kind, resource, content hash,
    /// previous content hash (empty when none), previous entry hash.
    pub fn compute_hash(seq: u64, time: &str, change: &NewEntry, prev: &Hash) -> Hash {
        let mut bytes = Vec::with_capacity(256);
        frame(&mut bytes, b"attest-ledger-entry-v1");
        frame(&mut bytes, seq.to_string().as_bytes());
        frame(&mut bytes, time.as_bytes());
        frame(&mut bytes, change.principal.as_bytes());
        frame(&mut bytes, change.action.as_bytes());
        frame(&mut bytes, change.kind.as_bytes());
        frame(&mut bytes, change.resource.as_bytes());
        frame(&mut bytes, &change.content);
        frame(
            &mut bytes,
            change.previous_content.as_ref().map_or(&[][..], |h| &h[..]),
        );
        frame(&mut bytes, prev);
        Sha256::digest(&bytes).into()
    }

    /// True when the stored hash is the hash of the stored fields.
    pub fn hash_is_intact(&self) -> bool {
        Self::compute_hash(self.seq, &self.time, &self.change, &self.prev) == self.hash
    }
}

/// SHA-256 of a record's content: the exact bytes stored.
pub fn content_hash(content: &[u8]) -> Hash {
    Sha256::digest(content).into()
}

/// SHA-256 of a record made of several parts (a document: its Content-Type and its bytes), each
/// framed as in the entry hash so that no two records hash alike by moving bytes between parts.
pub fn framed_hash(parts: &[&[u8]]) -> Hash {
    let mut bytes = Vec::with_capacity(parts.iter().map(|p| p.len() + 12).sum());
    for part in parts {
        frame(&mut bytes, part);
    }
    Sha256::digest(&bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(resource: &str) -> NewEntry {
        NewEntry {
            principal: "credential:lms".into(),
            action: "statement.store".into(),
            kind: "statement".into(),
            resource: resource.into(),
            content: content_hash(b"{}"),
            previous_content: None,
        }
    }

    #[test]
    fn every_field_is_covered_by_the_hash_a1() {
        let entry = Entry::new(
            1,
            "2026-01-01T00:00:00Z".into(),
            change("a"),
            crate::GENESIS,
        );
        assert!(entry.hash_is_intact());
        let mut edits: Vec<Entry> = Vec::new();
        let mut e = entry.clone();
        e.seq = 2;
        edits.push(e);
        let mut e = entry.clone();
        e.time = "2026-01-01T00:00:01Z".into();
        edits.push(e);
        let mut e = entry.clone();
        e.change.principal = "credential:other".into();
        edits.push(e);
        let mut e = entry.clone();
        e.change.resource = "b".into();
        edits.push(e);
        let mut e = entry.clone();
        e.change.content = content_hash(b"{ }");
        edits.push(e);
        let mut e = entry.clone();
        e.change.previous_content = Some(content_hash(b""));
        edits.push(e);
        let mut e = entry.clone();
        e.prev = [1u8; 32];
        edits.push(e);
        for edited in edits {
            assert!(!edited.hash_is_intact(), "{edited:?}");
        }
    }

    #[test]
    fn framing_keeps_fields_apart() {
        let mut a = change("x");
        a.action = "ab".into();
        a.kind = "c".into();
        let mut b = change("x");
        b.action = "a".into();
        b.kind = "bc".into();
        assert_ne!(
            Entry::compute_hash(1, "t", &a, &crate::GENESIS),
            Entry::compute_hash(1, "t", &b, &crate::GENESIS)
        );
    }
}
