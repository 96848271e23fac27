//! The rules of Attest's tamper-evident ledger (regulated.md A1–A3). Every write appends an
//! [`Entry`]; each entry's hash covers the previous entry's hash (the chain), and signed
//! [`Checkpoint`]s commit to all entries so far with an RFC 6962 Merkle root, so that anyone with
//! the public key can check that an entry is included ([`merkle::verify_inclusion`]) and that a
//! later checkpoint extends an earlier one ([`merkle::verify_consistency`]).
//!
//! This crate is pure: it hashes, signs and verifies values; the store keeps them. The byte
//! encodings are specified in `docs/ledger.md` so a third party can re-implement the checks.
#![forbid(unsafe_code)]

mod checkpoint;
mod entry;
pub mod merkle;
mod verify;

pub use checkpoint::{Checkpoint, SigningKey, VerifyingKey};
pub use entry::{Entry, NewEntry, content_hash, framed_hash};
pub use verify::{ChainVerifier, Problem};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The hash the first entry chains to.
pub const GENESIS: Hash = [0u8; 32];

/// Writes a field as `<decimal length>:<bytes>,`, so no choice of field contents can make two
/// different entries encode alike (netstring framing).
pub(crate) fn frame(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(field.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(field);
    out.push(b',');
}
