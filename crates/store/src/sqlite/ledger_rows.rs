//! The ledger's rows: appending entries in the writer's transaction, reading them back.
use ledger::merkle::Frontier;
use ledger::{Checkpoint, Entry, GENESIS, Hash, NewEntry};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::StoreError;

/// Where the ledger ends: what the next append chains to. Small and cheap to copy, so the writer
/// snapshots it before each request and restores it when the request rolls back.
#[derive(Debug, Clone)]
pub(crate) struct LedgerHead {
    pub(crate) seq: u64,
    pub(crate) hash: Hash,
    pub(crate) frontier: Frontier,
}

impl LedgerHead {
    /// Reads the whole chain once (hashes only, in order) to rebuild the Merkle frontier.
    pub(crate) fn load(conn: &Connection) -> Result<LedgerHead, StoreError> {
        let mut head = LedgerHead {
            seq: 0,
            hash: GENESIS,
            frontier: Frontier::default(),
        };
        let mut select = conn.prepare("SELECT seq, hash FROM ledger ORDER BY seq")?;
        let mut rows = select.query([])?;
        while let Some(row) = rows.next()? {
            head.seq = row.get::<_, i64>(0)? as u64;
            head.hash = hash_column(row, 1)?;
            head.frontier.push(&head.hash);
        }
        Ok(head)
    }

    /// Appends one entry in the caller's transaction.
    pub(crate) fn append(
        &mut self,
        conn: &Connection,
        time: &str,
        change: NewEntry,
    ) -> Result<Entry, StoreError> {
        let entry = Entry::new(self.seq + 1, time.to_string(), change, self.hash);
        conn.prepare_cached(
            "INSERT INTO ledger (seq, time, principal, action, kind, resource, content, previous_content, prev, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            entry.seq as i64,
            entry.time,
            entry.change.principal,
            entry.change.action,
            entry.change.kind,
            entry.change.resource,
            &entry.change.content[..],
            entry.change.previous_content.as_ref().map(|h| &h[..]),
            &entry.prev[..],
            &entry.hash[..],
        ])?;
        self.seq = entry.seq;
        self.hash = entry.hash;
        self.frontier.push(&entry.hash);
        Ok(entry)
    }
}

pub(crate) const ENTRY_COLUMNS: &str =
    "seq, time, principal, action, kind, resource, content, previous_content, prev, hash";

pub(crate) fn entry_from_row(row: &Row<'_>) -> Result<Entry, StoreError> {
    let previous: Option<Vec<u8>> = row.get(7)?;
    Ok(Entry {
        seq: row.get::<_, i64>(0)? as u64,
        time: row.get(1)?,
        change: NewEntry {
            principal: row.get(2)?,
            action: row.get(3)?,
            kind: row.get(4)?,
            resource: row.get(5)?,
            content: hash_column(row, 6)?,
            previous_content: previous.map(|bytes| to_hash(&bytes)).transpose()?,
        },
        prev: hash_column(row, 8)?,
        hash: hash_column(row, 9)?,
    })
}

pub(crate) fn hash_column(row: &Row<'_>, index: usize) -> Result<Hash, StoreError> {
    let bytes: Vec<u8> = row.get(index)?;
    to_hash(&bytes)
}

fn to_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| {
        StoreError::Corrupt(format!("a ledger hash has {} bytes, not 32", bytes.len()))
    })
}

pub(crate) fn insert_checkpoint(
    conn: &Connection,
    checkpoint: &Checkpoint,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO checkpoints (size, root, head, time, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            checkpoint.size as i64,
            &checkpoint.root[..],
            &checkpoint.head[..],
            checkpoint.time,
            &checkpoint.signature[..],
        ],
    )?;
    Ok(())
}

pub(crate) const CHECKPOINT_COLUMNS: &str = "size, root, head, time, signature";

pub(crate) fn checkpoint_from_row(row: &Row<'_>) -> Result<Checkpoint, StoreError> {
    let signature: Vec<u8> = row.get(4)?;
    Ok(Checkpoint {
        size: row.get::<_, i64>(0)? as u64,
        root: hash_column(row, 1)?,
        head: hash_column(row, 2)?,
        time: row.get(3)?,
        signature: signature
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("a checkpoint signature is not 64 bytes".into()))?,
    })
}

pub(crate) fn latest_checkpoint(conn: &Connection) -> Result<Option<Checkpoint>, StoreError> {
    let mut select = conn.prepare_cached(&format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size DESC LIMIT 1"
    ))?;
    let mut rows = select.query([])?;
    match rows.next()? {
        Some(row) => Ok(Some(checkpoint_from_row(row)?)),
        None => Ok(None),
    }
}

pub(crate) fn checkpoint_of_size(
    conn: &Connection,
    size: u64,
) -> Result<Option<Checkpoint>, StoreError> {
    let mut select = conn.prepare_cached(&format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE size = ?1"
    ))?;
    let mut rows = select.query([size as i64])?;
    match rows.next()? {
        Some(row) => Ok(Some(checkpoint_from_row(row)?)),
        None => Ok(None),
    }
}

/// The smallest checkpoint that covers entry `seq`.
pub(crate) fn checkpoint_covering(
    conn: &Connection,
    seq: u64,
) -> Result<Option<Checkpoint>, StoreError> {
    let size: Option<i64> = conn
        .query_row(
            "SELECT size FROM checkpoints WHERE size >= ?1 ORDER BY size LIMIT 1",
            [seq as i64],
            |row| row.get(0),
        )
        .optional()?;
    match size {
        Some(size) => checkpoint_of_size(conn, size as u64),
        None => Ok(None),
    }
}

/// The hashes of entries 1..=size, in order.
pub(crate) fn entry_hashes(conn: &Connection, size: u64) -> Result<Vec<Hash>, StoreError> {
    let mut select = conn.prepare("SELECT hash FROM ledger WHERE seq <= ?1 ORDER BY seq")?;
    let mut rows = select.query([size as i64])?;
    let mut hashes = Vec::with_capacity(size as usize);
    while let Some(row) = rows.next()? {
        hashes.push(hash_column(row, 0)?);
    }
    Ok(hashes)
}
