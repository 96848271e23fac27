//! Verification of a ledger read in order: the chain, the entry hashes and the checkpoints. The
//! store adds what only it can check (that each record still has the content its entry names),
//! reporting through the same [`Problem`].
use std::fmt;

use crate::merkle::Frontier;
use crate::{Checkpoint, Entry, GENESIS, Hash, VerifyingKey};

/// The first thing found wrong, named precisely enough to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The entry's fields no longer hash to its stored hash.
    EntryModified { seq: u64 },
    /// The entry is intact but sits at the wrong place: it was written as entry `written_as`.
    OrderChanged { seq: u64, written_as: u64 },
    /// Entries are missing before this one.
    EntryMissing { seq: u64 },
    /// The entry does not link to the entry before it.
    ChainBroken { seq: u64 },
    /// The record the entry names now has other content than it had.
    RecordModified {
        seq: u64,
        kind: String,
        resource: String,
    },
    /// The record the entry names is gone.
    RecordMissing {
        seq: u64,
        kind: String,
        resource: String,
    },
    /// Records now stand in another order than the ledger wrote them.
    RecordOrderChanged {
        seq: u64,
        kind: String,
        resource: String,
    },
    /// A record exists that no entry accounts for.
    RecordWithoutEntry { kind: String, resource: String },
    /// The ledger ends before the last checkpoint says it should.
    TailTruncated { entries: u64, checkpoint_size: u64 },
    /// A checkpoint's root or head does not match the entries it covers.
    CheckpointMismatch { size: u64 },
    /// A checkpoint's signature does not verify with the server's public key.
    CheckpointForged { size: u64 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::EntryModified { seq } => write!(
                f,
                "ledger entry {seq} was modified: its hash does not match its fields"
            ),
            Problem::OrderChanged { seq, written_as } => {
                write!(
                    f,
                    "ledger order changed: entry at position {seq} was written as entry {written_as}"
                )
            }
            Problem::EntryMissing { seq } => {
                write!(f, "ledger entries are missing before entry {seq}")
            }
            Problem::ChainBroken { seq } => write!(
                f,
                "ledger entry {seq} does not chain to the entry before it"
            ),
            Problem::RecordModified {
                seq,
                kind,
                resource,
            } => {
                write!(
                    f,
                    "{kind} {resource} was modified after it was written (ledger entry {seq})"
                )
            }
            Problem::RecordMissing {
                seq,
                kind,
                resource,
            } => {
                write!(
                    f,
                    "{kind} {resource} is missing (written in ledger entry {seq})"
                )
            }
            Problem::RecordOrderChanged {
                seq,
                kind,
                resource,
            } => {
                write!(
                    f,
                    "{kind} {resource} no longer stands where it was written (ledger entry {seq}): records were reordered"
                )
            }
            Problem::RecordWithoutEntry { kind, resource } => {
                write!(
                    f,
                    "{kind} {resource} has no ledger entry: it was written around the ledger"
                )
            }
            Problem::TailTruncated {
                entries,
                checkpoint_size,
            } => write!(
                f,
                "the ledger was truncated: it has {entries} entries but checkpoint {checkpoint_size} covers {checkpoint_size}"
            ),
            Problem::CheckpointMismatch { size } => {
                write!(
                    f,
                    "checkpoint {size} does not match the first {size} ledger entries"
                )
            }
            Problem::CheckpointForged { size } => {
                write!(f, "checkpoint {size} is not signed by this server's key")
            }
        }
    }
}

/// How far a reordered entry is searched for its original place.
const REORDER_WINDOW: u64 = 64;

/// Checks entries fed in stored order.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    expected_seq: u64,
    prev: Option<Hash>,
    frontier: Frontier,
}

impl ChainVerifier {
    pub fn new() -> ChainVerifier {
        ChainVerifier {
            expected_seq: 1,
            prev: Some(GENESIS),
            frontier: Frontier::default(),
        }
    }

    /// Entries checked so far.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn check(&mut self, entry: &Entry) -> Result<(), Problem> {
        if !entry.hash_is_intact() {
            let written_as = (entry.seq.saturating_sub(REORDER_WINDOW).max(1)
                ..=entry.seq + REORDER_WINDOW)
                .find(|&s| {
                    s != entry.seq
                        && Entry::compute_hash(s, &entry.time, &entry.change, &entry.prev)
                            == entry.hash
                });
            return Err(match written_as {
                Some(written_as) => Problem::OrderChanged {
                    seq: entry.seq,
                    written_as,
                },
                None => Problem::EntryModified { seq: entry.seq },
            });
        }
        if entry.seq != self.expected_seq {
            return Err(Problem::EntryMissing { seq: entry.seq });
        }
        if Some(entry.prev) != self.prev {
            return Err(Problem::ChainBroken { seq: entry.seq });
        }
        self.prev = Some(entry.hash);
        self.expected_seq += 1;
        self.frontier.push(&entry.hash);
        Ok(())
    }

    /// Checks a checkpoint of exactly the entries seen so far.
    pub fn check_checkpoint(
        &self,
        checkpoint: &Checkpoint,
        key: &VerifyingKey,
    ) -> Result<(), Problem> {
        let size = checkpoint.size;
        if !checkpoint.signature_is_valid(key) {
            return Err(Problem::CheckpointForged { size });
        }
        let head = self.prev.unwrap_or(GENESIS);
        if self.frontier.size() != size
            || self.frontier.root() != checkpoint.root
            || head != checkpoint.head
        {
            return Err(Problem::CheckpointMismatch { size });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewEntry, SigningKey, content_hash};

    fn chain(n: u64) -> Vec<Entry> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let change = NewEntry {
                    principal: "system".into(),
                    action: "statement.store".into(),
                    kind: "statement".into(),
                    resource: format!("r{seq}"),
                    content: content_hash(seq.to_string().as_bytes()),
                    previous_content: None,
                };
                let entry = Entry::new(seq, "2026-01-01T00:00:00Z".into(), change, prev);
                prev = entry.hash;
                entry
            })
            .collect()
    }

    fn run(entries: &[Entry]) -> Result<(), Problem> {
        let mut verifier = ChainVerifier::new();
        entries.iter().try_for_each(|e| verifier.check(e))
    }

    #[test]
    fn an_intact_chain_and_its_checkpoint_verify() {
        let entries = chain(10);
        let mut verifier = ChainVerifier::new();
        let key = SigningKey::from_bytes(&[1; 32]);
        for e in &entries {
            verifier.check(e).expect("intact");
        }
        let root = crate::merkle::root(&entries.iter().map(|e| e.hash).collect::<Vec<_>>());
        let checkpoint = Checkpoint::sign(&key, 10, root, entries[9].hash, "t".into());
        verifier
            .check_checkpoint(&checkpoint, &key.verifying_key())
            .expect("matches");
        let other = Checkpoint::sign(&key, 10, [0; 32], entries[9].hash, "t".into());
        assert_eq!(
            verifier.check_checkpoint(&other, &key.verifying_key()),
            Err(Problem::CheckpointMismatch { size: 10 })
        );
    }

    #[test]
    fn names_a_modified_a_missing_and_a_moved_entry() {
        let mut entries = chain(10);
        entries[4].change.principal = "intruder".into();
        assert_eq!(run(&entries), Err(Problem::EntryModified { seq: 5 }));

        let mut entries = chain(10);
        entries.remove(6);
        assert_eq!(run(&entries), Err(Problem::EntryMissing { seq: 8 }));

        let mut entries = chain(10);
        // Swap the contents of entries 3 and 4, each keeping its position's seq.
        let (a, b) = (entries[2].clone(), entries[3].clone());
        entries[2] = Entry { seq: 3, ..b };
        entries[3] = Entry { seq: 4, ..a };
        assert_eq!(
            run(&entries),
            Err(Problem::OrderChanged {
                seq: 3,
                written_as: 4
            })
        );
    }
}
