//! `attest verify`: one sequential pass over the ledger that recomputes every entry hash, the
//! chain, every checkpoint, and the content hash of every record, and names the first problem.
//! Opens the database read-only; a running server is not disturbed.
use std::collections::{HashMap, HashSet};
use std::path::Path;

use ledger::{ChainVerifier, Hash, Problem, content_hash};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::ledger_rows::{CHECKPOINT_COLUMNS, ENTRY_COLUMNS, checkpoint_from_row, entry_from_row};
use super::{DATABASE_FILE, key};
use crate::StoreError;
use crate::credentials::ledger_content;

/// What a verification looked at, and the first problem, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: u64,
    pub statements: u64,
    pub checkpoints: u64,
    pub problem: Option<Problem>,
}

/// Told how far the pass has come: (entries checked, entries in all).
pub type VerifyProgress<'a> = &'a mut dyn FnMut(u64, u64);

/// Verifies the store in `data_dir`.
pub fn verify(data_dir: &Path, progress: VerifyProgress<'_>) -> Result<VerifyReport, StoreError> {
    let path = data_dir.join(DATABASE_FILE);
    if !path.exists() {
        return Err(StoreError::Corrupt(format!(
            "no Attest database at {}",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let public_key = key::load(data_dir)?.verifying_key();
    let mut pass = Pass::new(&conn, public_key)?;
    let problem = pass.run(progress)?.err();
    Ok(VerifyReport {
        entries: pass.chain.size(),
        statements: pass.statement_seqs.len() as u64,
        checkpoints: pass.checkpoints_checked,
        problem,
    })
}

struct Pass<'c> {
    conn: &'c Connection,
    key: ledger::VerifyingKey,
    chain: ChainVerifier,
    checkpoints_checked: u64,
    /// The `statements.seq` of each stored statement, in ledger order.
    statement_seqs: Vec<i64>,
    /// Statements the ledger says are voided.
    voided: HashSet<String>,
    /// The latest entry of each mutable record (credentials, documents): seq, action, content.
    latest: HashMap<(String, String), (u64, String, Hash)>,
}

impl<'c> Pass<'c> {
    fn new(conn: &'c Connection, key: ledger::VerifyingKey) -> Result<Pass<'c>, StoreError> {
        Ok(Pass {
            conn,
            key,
            chain: ChainVerifier::new(),
            checkpoints_checked: 0,
            statement_seqs: Vec::new(),
            voided: HashSet::new(),
            latest: HashMap::new(),
        })
    }

    /// `Ok(Err(problem))` when the data is wrong; `Err` when it cannot be read at all.
    fn run(&mut self, progress: VerifyProgress<'_>) -> Result<Result<(), Problem>, StoreError> {
        let total: i64 =
            self.conn
                .query_row("SELECT coalesce(max(seq), 0) FROM ledger", [], |row| {
                    row.get(0)
                })?;
        let total = total.max(0) as u64;
        let mut checkpoints = Vec::new();
        {
            let mut select = self.conn.prepare(&format!(
                "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size"
            ))?;
            let mut rows = select.query([])?;
            while let Some(row) = rows.next()? {
                checkpoints.push(checkpoint_from_row(row)?);
            }
        }
        let mut next_checkpoint = checkpoints.iter().peekable();
        let mut select = self
            .conn
            .prepare(&format!("SELECT {ENTRY_COLUMNS} FROM ledger ORDER BY seq"))?;
        let mut rows = select.query([])?;
        while let Some(row) = rows.next()? {
            let entry = entry_from_row(row)?;
            if let Err(problem) = self.chain.check(&entry) {
                return Ok(Err(problem));
            }
            if let Err(problem) = self.check_record(&entry)? {
                return Ok(Err(problem));
            }
            while let Some(checkpoint) = next_checkpoint.next_if(|c| c.size == self.chain.size()) {
                if let Err(problem) = self.chain.check_checkpoint(checkpoint, &self.key) {
                    return Ok(Err(problem));
                }
                self.checkpoints_checked += 1;
            }
            if entry.seq % 10_000 == 0 {
                progress(entry.seq, total);
            }
        }
        progress(self.chain.size(), total);
        if let Some(checkpoint) = next_checkpoint.next() {
            // A checkpoint that covers more entries than exist, or whose size fell in a gap.
            let problem = if checkpoint.size > self.chain.size() {
                Problem::TailTruncated {
                    entries: self.chain.size(),
                    checkpoint_size: checkpoints.last().map_or(checkpoint.size, |c| c.size),
                }
            } else {
                Problem::CheckpointMismatch {
                    size: checkpoint.size,
                }
            };
            return Ok(Err(problem));
        }
        if let Err(problem) = self.check_statements_accounted()? {
            return Ok(Err(problem));
        }
        if let Err(problem) = self.check_documents()? {
            return Ok(Err(problem));
        }
        if let Err(problem) = self.check_attachments()? {
            return Ok(Err(problem));
        }
        self.check_mutable_records()
    }

    /// The record an entry names must still have the content the entry hashed.
    fn check_record(&mut self, entry: &ledger::Entry) -> Result<Result<(), Problem>, StoreError> {
        let change = &entry.change;
        let named = |problem: fn(u64, String, String) -> Problem| {
            problem(entry.seq, change.kind.clone(), change.resource.clone())
        };
        match change.kind.as_str() {
            "statement" => {
                let row: Option<(i64, String, bool)> = self
                    .conn
                    .prepare_cached("SELECT seq, json, voided FROM statements WHERE id = ?1")?
                    .query_row([&change.resource], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .optional()?;
                let Some((seq, json, voided)) = row else {
                    return Ok(Err(named(|seq, kind, resource| Problem::RecordMissing {
                        seq,
                        kind,
                        resource,
                    })));
                };
                if content_hash(json.as_bytes()) != change.content {
                    return Ok(Err(named(|seq, kind, resource| Problem::RecordModified {
                        seq,
                        kind,
                        resource,
                    })));
                }
                match change.action.as_str() {
                    "statement.store" => {
                        if self.statement_seqs.last().is_some_and(|&last| last >= seq) {
                            return Ok(Err(named(|seq, kind, resource| {
                                Problem::RecordOrderChanged {
                                    seq,
                                    kind,
                                    resource,
                                }
                            })));
                        }
                        self.statement_seqs.push(seq);
                    }
                    "statement.void" => {
                        if !voided {
                            // The record was "unvoided" behind the ledger's back.
                            return Ok(Err(named(|seq, kind, resource| Problem::RecordModified {
                                seq,
                                kind,
                                resource,
                            })));
                        }
                        self.voided.insert(change.resource.clone());
                    }
                    _ => {}
                }
            }
            _ => {
                self.latest.insert(
                    (change.kind.clone(), change.resource.clone()),
                    (entry.seq, change.action.clone(), change.content),
                );
            }
        }
        Ok(Ok(()))
    }

    /// Every statement row, in stored order, is one the ledger stored, and only those the ledger
    /// voided are voided.
    fn check_statements_accounted(&self) -> Result<Result<(), Problem>, StoreError> {
        let mut select = self
            .conn
            .prepare("SELECT seq, id, voided FROM statements ORDER BY seq")?;
        let mut rows = select.query([])?;
        let mut expected = self.statement_seqs.iter().peekable();
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let id: String = row.get(1)?;
            let voided: bool = row.get(2)?;
            if expected.next_if(|&&s| s == seq).is_none() {
                return Ok(Err(Problem::RecordWithoutEntry {
                    kind: "statement".into(),
                    resource: id,
                }));
            }
            if voided && !self.voided.contains(&id) {
                return Ok(Err(Problem::RecordWithoutEntry {
                    kind: "statement void".into(),
                    resource: id,
                }));
            }
        }
        Ok(Ok(()))
    }

    /// Each document has the content of its latest entry; each document the ledger did not
    /// delete last still exists.
    fn check_documents(&self) -> Result<Result<(), Problem>, StoreError> {
        self.check_kind(
            "document",
            "SELECT kind, activity, agent, registration, doc_id, content_type, content FROM documents ORDER BY id",
            |row| {
                let resource = serde_json::json!([
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?
                ])
                .to_string();
                let hash = super::documents::document_hash(&row.get::<_, String>(5)?, &row.get::<_, Vec<u8>>(6)?);
                Ok((resource, hash))
            },
        )
    }

    /// Attachments: immutable, content-addressed; each has its entry and its content.
    fn check_attachments(&self) -> Result<Result<(), Problem>, StoreError> {
        self.check_kind(
            "attachment",
            "SELECT sha2, content_type, content FROM attachments ORDER BY sha2",
            |row| {
                let hash = super::documents::document_hash(
                    &row.get::<_, String>(1)?,
                    &row.get::<_, Vec<u8>>(2)?,
                );
                Ok((row.get(0)?, hash))
            },
        )
    }

    /// Every row of a kind (read by `select` as resource and content hash) has the content of its
    /// latest entry, and every record whose latest entry is not a delete still exists.
    fn check_kind(
        &self,
        kind: &str,
        select: &str,
        read: impl Fn(&rusqlite::Row<'_>) -> Result<(String, Hash), StoreError>,
    ) -> Result<Result<(), Problem>, StoreError> {
        let mut select = self.conn.prepare(select)?;
        let mut rows = select.query([])?;
        let mut present = HashSet::new();
        while let Some(row) = rows.next()? {
            let (resource, hash) = read(row)?;
            match self.latest.get(&(kind.to_string(), resource.clone())) {
                Some((seq, action, stored)) if !action.ends_with(".delete") => {
                    if *stored != hash {
                        return Ok(Err(Problem::RecordModified {
                            seq: *seq,
                            kind: kind.into(),
                            resource,
                        }));
                    }
                }
                _ => {
                    return Ok(Err(Problem::RecordWithoutEntry {
                        kind: kind.into(),
                        resource,
                    }));
                }
            }
            present.insert(resource);
        }
        let missing = self
            .latest
            .iter()
            .filter(|((k, resource), (_, action, _))| {
                k == kind && !action.ends_with(".delete") && !present.contains(resource)
            })
            .min_by_key(|(_, (seq, _, _))| *seq);
        if let Some(((kind, resource), (seq, _, _))) = missing {
            return Ok(Err(Problem::RecordMissing {
                seq: *seq,
                kind: kind.clone(),
                resource: resource.clone(),
            }));
        }
        Ok(Ok(()))
    }

    /// Mutable records: each must have the content of its latest entry, and each must have one.
    fn check_mutable_records(&self) -> Result<Result<(), Problem>, StoreError> {
        let mut select = self.conn.prepare(
            "SELECT key, name, secret_hash, created, revoked FROM credentials ORDER BY id",
        )?;
        let mut rows = select.query([])?;
        let mut present = HashSet::new();
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            let revoked: Option<String> = row.get(4)?;
            let content = ledger_content(
                &key,
                &row.get::<_, String>(1)?,
                &row.get::<_, String>(2)?,
                &row.get::<_, String>(3)?,
                revoked.as_deref(),
            );
            match self.latest.get(&("credential".to_string(), key.clone())) {
                None => {
                    return Ok(Err(Problem::RecordWithoutEntry {
                        kind: "credential".into(),
                        resource: key,
                    }));
                }
                Some((seq, _, hash)) if *hash != content_hash(content.as_bytes()) => {
                    return Ok(Err(Problem::RecordModified {
                        seq: *seq,
                        kind: "credential".into(),
                        resource: key,
                    }));
                }
                Some(_) => {
                    present.insert(key);
                }
            }
        }
        let missing = self
            .latest
            .iter()
            .filter(|((kind, key), _)| kind == "credential" && !present.contains(key))
            .min_by_key(|(_, (seq, _, _))| *seq);
        if let Some(((kind, resource), (seq, _, _))) = missing {
            return Ok(Err(Problem::RecordMissing {
                seq: *seq,
                kind: kind.clone(),
                resource: resource.clone(),
            }));
        }
        Ok(Ok(()))
    }
}
