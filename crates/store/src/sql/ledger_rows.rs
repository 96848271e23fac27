//! The ledger's rows: the head every write locks and continues, appending entries in the
//! writer's transaction, reading entries and checkpoints back.
use ledger::merkle::Frontier;
use ledger::{Checkpoint, Entry, Hash, NewEntry};

use super::{Arg, Column, Row, Sql};
use crate::StoreError;

/// Where the ledger (and the statement sequence) ends. Read under lock at the start of each
/// write transaction and written back at its end, so several processes continue one chain.
#[derive(Debug, Clone)]
pub(crate) struct LedgerHead {
    pub(crate) seq: u64,
    pub(crate) hash: Hash,
    pub(crate) frontier: Frontier,
    /// The newest `stored` (µs): `stored` never goes backwards.
    pub(crate) stored_us: i64,
    /// The last statement `seq` handed out.
    pub(crate) statement_seq: i64,
}

impl LedgerHead {
    /// Reads the head; `lock` is the backend's clause that holds it for the transaction.
    pub(crate) fn load(conn: &mut impl Sql, lock: &str) -> Result<LedgerHead, StoreError> {
        LedgerHead::from_rows(&conn.rows(&LedgerHead::select(lock), &[])?)
    }

    /// The query [`LedgerHead::load`] runs.
    pub(crate) fn select(lock: &str) -> String {
        format!(
            "SELECT seq, hash, frontier, stored_us, statement_seq FROM ledger_head WHERE id = 1{lock}"
        )
    }

    /// The head in the rows of [`LedgerHead::select`].
    pub(crate) fn from_rows(rows: &[Row]) -> Result<LedgerHead, StoreError> {
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Corrupt("the ledger head row is missing".into()))?;
        let frontier = Frontier::from_bytes(&row.bytes(2)?).ok_or_else(|| {
            StoreError::Corrupt("the ledger head's Merkle frontier is unreadable".into())
        })?;
        Ok(LedgerHead {
            seq: row.int(0)? as u64,
            hash: to_hash(&row.bytes(1)?)?,
            frontier,
            stored_us: row.int(3)?,
            statement_seq: row.int(4)?,
        })
    }

    /// Writes the head back (sent: an error may come with the commit).
    pub(crate) fn save(&self, conn: &mut impl Sql) -> Result<(), StoreError> {
        let frontier = self.frontier.to_bytes();
        conn.send(
            "UPDATE ledger_head SET seq = $1, hash = $2, frontier = $3, stored_us = $4, statement_seq = $5 WHERE id = 1",
            &[
                Arg::Int(self.seq as i64),
                Arg::Bytes(&self.hash),
                Arg::Bytes(&frontier),
                Arg::Int(self.stored_us),
                Arg::Int(self.statement_seq),
            ],
        )?;
        Ok(())
    }

    /// Appends one entry in the caller's transaction (sent: an error may come from the
    /// connection's next call that waits).
    pub(crate) fn append(
        &mut self,
        conn: &mut impl Sql,
        time: &str,
        change: NewEntry,
    ) -> Result<Entry, StoreError> {
        let entry = Entry::new(self.seq + 1, time.to_string(), change, self.hash);
        conn.send(
            "INSERT INTO ledger (seq, time, principal, action, kind, resource, content, previous_content, prev, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                Arg::Int(entry.seq as i64),
                Arg::Text(&entry.time),
                Arg::Text(&entry.change.principal),
                Arg::Text(&entry.change.action),
                Arg::Text(&entry.change.kind),
                Arg::Text(&entry.change.resource),
                Arg::Bytes(&entry.change.content),
                entry.change.previous_content.as_ref().map(|h| &h[..]).into(),
                Arg::Bytes(&entry.prev),
                Arg::Bytes(&entry.hash),
            ],
        )?;
        self.seq = entry.seq;
        self.hash = entry.hash;
        self.frontier.push(&entry.hash);
        Ok(entry)
    }

    /// Appends entries in order, with as few statements as the connection likes.
    pub(crate) fn append_all(
        &mut self,
        conn: &mut impl Sql,
        time: &str,
        changes: Vec<NewEntry>,
    ) -> Result<(), StoreError> {
        let entries: Vec<Entry> = changes
            .into_iter()
            .map(|change| {
                let entry = Entry::new(self.seq + 1, time.to_string(), change, self.hash);
                self.seq = entry.seq;
                self.hash = entry.hash;
                self.frontier.push(&entry.hash);
                entry
            })
            .collect();
        let mut args = Vec::with_capacity(entries.len() * 10);
        for entry in &entries {
            args.extend([
                Arg::Int(entry.seq as i64),
                Arg::Text(&entry.time),
                Arg::Text(&entry.change.principal),
                Arg::Text(&entry.change.action),
                Arg::Text(&entry.change.kind),
                Arg::Text(&entry.change.resource),
                Arg::Bytes(&entry.change.content),
                entry
                    .change
                    .previous_content
                    .as_ref()
                    .map(|h| &h[..])
                    .into(),
                Arg::Bytes(&entry.prev),
                Arg::Bytes(&entry.hash),
            ]);
        }
        super::append_rows(conn, "ledger", ENTRY_COLUMN_TYPES, "", &args)?;
        Ok(())
    }
}

/// The row the ledger head starts from (written by each backend's first migration).
pub(crate) fn genesis_frontier() -> Vec<u8> {
    Frontier::default().to_bytes()
}

/// [`ENTRY_COLUMNS`] with their types, for [`super::append_rows`].
const ENTRY_COLUMN_TYPES: &[(&str, Column)] = &[
    ("seq", Column::Int),
    ("time", Column::Text),
    ("principal", Column::Text),
    ("action", Column::Text),
    ("kind", Column::Text),
    ("resource", Column::Text),
    ("content", Column::Bytes),
    ("previous_content", Column::Bytes),
    ("prev", Column::Bytes),
    ("hash", Column::Bytes),
];

pub(crate) const ENTRY_COLUMNS: &str =
    "seq, time, principal, action, kind, resource, content, previous_content, prev, hash";

pub(crate) fn entry_from_row(row: &Row) -> Result<Entry, StoreError> {
    Ok(Entry {
        seq: row.int(0)? as u64,
        time: row.text(1)?,
        change: NewEntry {
            principal: row.text(2)?,
            action: row.text(3)?,
            kind: row.text(4)?,
            resource: row.text(5)?,
            content: to_hash(&row.bytes(6)?)?,
            previous_content: row.opt_bytes(7)?.map(|b| to_hash(&b)).transpose()?,
        },
        prev: to_hash(&row.bytes(8)?)?,
        hash: to_hash(&row.bytes(9)?)?,
    })
}

pub(crate) fn to_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| {
        StoreError::Corrupt(format!("a ledger hash has {} bytes, not 32", bytes.len()))
    })
}

pub(crate) fn entry(conn: &mut impl Sql, seq: u64) -> Result<Option<Entry>, StoreError> {
    conn.row(
        &format!("SELECT {ENTRY_COLUMNS} FROM ledger WHERE seq = $1"),
        &[Arg::Int(seq as i64)],
    )?
    .map(|r| entry_from_row(&r))
    .transpose()
}

pub(crate) fn entries_after(
    conn: &mut impl Sql,
    after: u64,
    limit: usize,
) -> Result<Vec<Entry>, StoreError> {
    conn.rows(
        &format!("SELECT {ENTRY_COLUMNS} FROM ledger WHERE seq > $1 ORDER BY seq LIMIT $2"),
        &[
            Arg::Int(after.min(i64::MAX as u64) as i64),
            Arg::Int(limit as i64),
        ],
    )?
    .iter()
    .map(entry_from_row)
    .collect()
}

pub(crate) fn record_history(
    conn: &mut impl Sql,
    kind: &str,
    resource: &str,
) -> Result<Vec<Entry>, StoreError> {
    conn.rows(
        &format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger WHERE kind = $1 AND resource = $2 ORDER BY seq"
        ),
        &[Arg::Text(kind), Arg::Text(resource)],
    )?
    .iter()
    .map(entry_from_row)
    .collect()
}

pub(crate) fn insert_checkpoint(
    conn: &mut impl Sql,
    checkpoint: &Checkpoint,
) -> Result<(), StoreError> {
    conn.exec(
        "INSERT INTO checkpoints (size, root, head, time, signature) VALUES ($1, $2, $3, $4, $5)",
        &[
            Arg::Int(checkpoint.size as i64),
            Arg::Bytes(&checkpoint.root),
            Arg::Bytes(&checkpoint.head),
            Arg::Text(&checkpoint.time),
            Arg::Bytes(&checkpoint.signature),
        ],
    )?;
    Ok(())
}

pub(crate) const CHECKPOINT_COLUMNS: &str = "size, root, head, time, signature";

pub(crate) fn checkpoint_from_row(row: &Row) -> Result<Checkpoint, StoreError> {
    Ok(Checkpoint {
        size: row.int(0)? as u64,
        root: to_hash(&row.bytes(1)?)?,
        head: to_hash(&row.bytes(2)?)?,
        time: row.text(3)?,
        signature: row
            .bytes(4)?
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Corrupt("a checkpoint signature is not 64 bytes".into()))?,
    })
}

pub(crate) fn latest_checkpoint(conn: &mut impl Sql) -> Result<Option<Checkpoint>, StoreError> {
    conn.row(
        &format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size DESC LIMIT 1"),
        &[],
    )?
    .map(|r| checkpoint_from_row(&r))
    .transpose()
}

pub(crate) fn checkpoint_of_size(
    conn: &mut impl Sql,
    size: u64,
) -> Result<Option<Checkpoint>, StoreError> {
    conn.row(
        &format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE size = $1"),
        &[Arg::Int(size as i64)],
    )?
    .map(|r| checkpoint_from_row(&r))
    .transpose()
}

/// The smallest checkpoint that covers entry `seq`.
pub(crate) fn checkpoint_covering(
    conn: &mut impl Sql,
    seq: u64,
) -> Result<Option<Checkpoint>, StoreError> {
    conn.row(
        &format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE size >= $1 ORDER BY size LIMIT 1"
        ),
        &[Arg::Int(seq as i64)],
    )?
    .map(|r| checkpoint_from_row(&r))
    .transpose()
}

/// How many rows a paged scan reads at a time.
pub(crate) const PAGE: i64 = 10_000;

/// The hashes of entries 1..=size, in order (read in pages).
pub(crate) fn entry_hashes(conn: &mut impl Sql, size: u64) -> Result<Vec<Hash>, StoreError> {
    let mut hashes = Vec::with_capacity(size as usize);
    let mut after = 0i64;
    loop {
        let rows = conn.rows(
            "SELECT seq, hash FROM ledger WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
            &[Arg::Int(after), Arg::Int(size as i64), Arg::Int(PAGE)],
        )?;
        let Some(last) = rows.last() else { break };
        after = last.int(0)?;
        for row in &rows {
            hashes.push(to_hash(&row.bytes(1)?)?);
        }
    }
    Ok(hashes)
}
