//! `attest verify`: one sequential pass over the ledger that recomputes every entry hash, the
//! chain, every checkpoint, and the content hash of every record, and names the first problem.
//! It only reads, in pages, so a running server is not disturbed.
use std::collections::{HashMap, HashSet};

use ledger::{ChainVerifier, Hash, Problem, VerifyingKey, content_hash};

use super::ledger_rows::{
    CHECKPOINT_COLUMNS, ENTRY_COLUMNS, PAGE, checkpoint_from_row, entry_from_row,
};
use super::reads::{CREDENTIAL_COLUMNS, credential_row};
use super::writer::{completion_hash, decision_hash, fact_hash, store_content};
use super::{Arg, Row, Sql, document_hash, select_in};
use crate::StoreError;

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

pub(crate) fn verify(
    conn: &mut impl Sql,
    key: &VerifyingKey,
    progress: VerifyProgress<'_>,
) -> Result<VerifyReport, StoreError> {
    let mut pass = Pass {
        key: *key,
        chain: ChainVerifier::new(),
        checkpoints_checked: 0,
        statement_seqs: Vec::new(),
        voided: HashSet::new(),
        latest: HashMap::new(),
    };
    let problem = pass.run(conn, progress)?.err();
    Ok(VerifyReport {
        entries: pass.chain.size(),
        statements: pass.statement_seqs.len() as u64,
        checkpoints: pass.checkpoints_checked,
        problem,
    })
}

struct Pass {
    key: VerifyingKey,
    chain: ChainVerifier,
    checkpoints_checked: u64,
    /// The `statements.seq` of each stored statement, in ledger order.
    statement_seqs: Vec<i64>,
    /// Statements the ledger says are voided.
    voided: HashSet<String>,
    /// The latest entry of each mutable record (credentials, documents, attachments).
    latest: HashMap<(String, String), (u64, String, Hash)>,
}

/// Reads a whole table in `seq`-like key order, a page at a time.
fn scan(
    conn: &mut impl Sql,
    select: &str,
    mut each: impl FnMut(&Row) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let mut after = i64::MIN;
    loop {
        let rows = conn.rows(select, &[Arg::Int(after), Arg::Int(PAGE)])?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.int(0)?;
        for row in &rows {
            if !each(row)? {
                return Ok(());
            }
        }
    }
}

/// A statement row as the ledger check needs it: where it is, its content hash, whether voided.
struct StatementRow {
    seq: i64,
    content: Hash,
    voided: bool,
}

/// The statements a page of entries names, by id, read a few hundred at a time (one round trip
/// for each, not one for each statement).
fn statements_named(
    conn: &mut impl Sql,
    entries: &[ledger::Entry],
) -> Result<HashMap<String, StatementRow>, StoreError> {
    let mut ids: Vec<&str> = entries
        .iter()
        .filter(|e| e.change.kind == "statement")
        .map(|e| e.change.resource.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(found);
    }
    let keys: Vec<Arg<'_>> = ids.iter().map(|id| Arg::Text(id)).collect();
    for row in select_in(
        conn,
        "SELECT id, seq, json, voided FROM statements WHERE id IN {keys}",
        &keys,
    )? {
        found.insert(
            row.text(0)?,
            StatementRow {
                seq: row.int(1)?,
                content: content_hash(row.text(2)?.as_bytes()),
                voided: row.bool(3)?,
            },
        );
    }
    Ok(found)
}

impl Pass {
    /// `Ok(Err(problem))` when the data is wrong; `Err` when it cannot be read at all.
    fn run(
        &mut self,
        conn: &mut impl Sql,
        progress: VerifyProgress<'_>,
    ) -> Result<Result<(), Problem>, StoreError> {
        let total = conn
            .row("SELECT coalesce(max(seq), 0) FROM ledger", &[])?
            .map(|r| r.int(0))
            .transpose()?
            .unwrap_or(0);
        let total = total.max(0) as u64;
        let checkpoints: Vec<_> = conn
            .rows(
                &format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size"),
                &[],
            )?
            .iter()
            .map(checkpoint_from_row)
            .collect::<Result<_, _>>()?;
        let mut next_checkpoint = checkpoints.iter().peekable();
        let mut found = None;
        // Entries are read and checked a page at a time.
        let mut after = 0u64;
        loop {
            let entries: Vec<ledger::Entry> = conn
                .rows(
                    &format!(
                        "SELECT {ENTRY_COLUMNS} FROM ledger WHERE seq > $1 ORDER BY seq LIMIT $2"
                    ),
                    &[Arg::Int(after as i64), Arg::Int(PAGE)],
                )?
                .iter()
                .map(entry_from_row)
                .collect::<Result<_, _>>()?;
            if entries.is_empty() {
                break;
            }
            let statements = statements_named(conn, &entries)?;
            for entry in entries {
                after = entry.seq;
                if let Err(problem) = self.chain.check(&entry) {
                    found = Some(problem);
                    break;
                }
                if let Err(problem) = self.check_record(&statements, &entry) {
                    found = Some(problem);
                    break;
                }
                while let Some(checkpoint) =
                    next_checkpoint.next_if(|c| c.size == self.chain.size())
                {
                    if let Err(problem) = self.chain.check_checkpoint(checkpoint, &self.key) {
                        found = Some(problem);
                        break;
                    }
                    self.checkpoints_checked += 1;
                }
                if found.is_some() {
                    break;
                }
                if entry.seq % 10_000 == 0 {
                    progress(entry.seq, total);
                }
            }
            if found.is_some() {
                break;
            }
        }
        if let Some(problem) = found {
            return Ok(Err(problem));
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
        for check in [
            Self::check_statements_accounted,
            Self::check_documents,
            Self::check_attachments,
            Self::check_credentials,
            Self::check_stores,
            Self::check_facts,
            Self::check_completions,
            Self::check_decisions,
        ] {
            if let Err(problem) = check(self, conn)? {
                return Ok(Err(problem));
            }
        }
        Ok(Ok(()))
    }

    /// The record an entry names must still have the content the entry hashed (`statements`:
    /// those the entry's page names, as [`statements_named`] read them).
    fn check_record(
        &mut self,
        statements: &HashMap<String, StatementRow>,
        entry: &ledger::Entry,
    ) -> Result<(), Problem> {
        let change = &entry.change;
        let named = |problem: fn(u64, String, String) -> Problem| {
            problem(entry.seq, change.kind.clone(), change.resource.clone())
        };
        if change.kind != "statement" {
            self.latest.insert(
                (change.kind.clone(), change.resource.clone()),
                (entry.seq, change.action.clone(), change.content),
            );
            return Ok(());
        }
        let Some(&StatementRow {
            seq,
            content,
            voided,
        }) = statements.get(&change.resource)
        else {
            return Err(named(|seq, kind, resource| Problem::RecordMissing {
                seq,
                kind,
                resource,
            }));
        };
        if content != change.content {
            return Err(named(|seq, kind, resource| Problem::RecordModified {
                seq,
                kind,
                resource,
            }));
        }
        match change.action.as_str() {
            "statement.store" => {
                if self.statement_seqs.last().is_some_and(|&last| last >= seq) {
                    return Err(named(|seq, kind, resource| Problem::RecordOrderChanged {
                        seq,
                        kind,
                        resource,
                    }));
                }
                self.statement_seqs.push(seq);
            }
            "statement.void" => {
                if !voided {
                    // The record was "unvoided" behind the ledger's back.
                    return Err(named(|seq, kind, resource| Problem::RecordModified {
                        seq,
                        kind,
                        resource,
                    }));
                }
                self.voided.insert(change.resource.clone());
            }
            _ => {}
        }
        Ok(())
    }

    /// Every statement row, in stored order, is one the ledger stored, and only those the ledger
    /// voided are voided.
    fn check_statements_accounted(
        &mut self,
        conn: &mut impl Sql,
    ) -> Result<Result<(), Problem>, StoreError> {
        let mut expected = self.statement_seqs.iter().peekable();
        let mut problem = None;
        scan(
            conn,
            "SELECT seq, id, voided FROM statements WHERE seq > $1 ORDER BY seq LIMIT $2",
            |row| {
                let (seq, id, voided) = (row.int(0)?, row.text(1)?, row.bool(2)?);
                if expected.next_if(|&&s| s == seq).is_none() {
                    problem = Some(Problem::RecordWithoutEntry {
                        kind: "statement".into(),
                        resource: id,
                    });
                } else if voided && !self.voided.contains(&id) {
                    problem = Some(Problem::RecordWithoutEntry {
                        kind: "statement void".into(),
                        resource: id,
                    });
                }
                Ok(problem.is_none())
            },
        )?;
        Ok(problem.map_or(Ok(()), Err))
    }

    fn check_documents(&mut self, conn: &mut impl Sql) -> Result<Result<(), Problem>, StoreError> {
        self.check_kind(
            conn,
            "document",
            "SELECT id, kind, activity, agent, registration, doc_id, content_type, content FROM documents WHERE id > $1 ORDER BY id LIMIT $2",
            |row| {
                let resource = serde_json::json!([row.text(1)?, row.text(2)?, row.text(3)?, row.text(4)?, row.text(5)?]).to_string();
                Ok((resource, document_hash(&row.text(6)?, &row.bytes(7)?)))
            },
        )
    }

    fn check_attachments(
        &mut self,
        conn: &mut impl Sql,
    ) -> Result<Result<(), Problem>, StoreError> {
        self.check_kind(
            conn,
            "attachment",
            "SELECT id, sha2, content_type, content FROM attachments WHERE id > $1 ORDER BY id LIMIT $2",
            |row| Ok((row.text(1)?, document_hash(&row.text(2)?, &row.bytes(3)?))),
        )
    }

    fn check_credentials(
        &mut self,
        conn: &mut impl Sql,
    ) -> Result<Result<(), Problem>, StoreError> {
        self.check_kind(
            conn,
            "credential",
            &format!(
                "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id > $1 ORDER BY id LIMIT $2"
            ),
            |row| {
                let (_, row) = credential_row(row)?;
                Ok((
                    row.key.clone(),
                    content_hash(row.ledger_content().as_bytes()),
                ))
            },
        )
    }

    fn check_facts(&mut self, conn: &mut impl Sql) -> Result<Result<(), Problem>, StoreError> {
        self.check_kind(
            conn,
            "compliance_fact",
            "SELECT id, kind, body, reason FROM compliance_facts WHERE id > $1 ORDER BY id LIMIT $2",
            |row| Ok((row.int(0)?.to_string(), fact_hash(&row.text(1)?, &row.text(2)?, &row.text(3)?))),
        )
    }

    fn check_completions(
        &mut self,
        conn: &mut impl Sql,
    ) -> Result<Result<(), Problem>, StoreError> {
        self.check_kind(
            conn,
            "compliance_completion",
            "SELECT id, body, invalidated_at FROM compliance_completions WHERE id > $1 ORDER BY id LIMIT $2",
            |row| {
                Ok((
                    row.int(0)?.to_string(),
                    completion_hash(&row.text(1)?, row.opt_text(2)?.as_deref()),
                ))
            },
        )
    }

    fn check_decisions(&mut self, conn: &mut impl Sql) -> Result<Result<(), Problem>, StoreError> {
        self.check_kind(
            conn,
            "compliance_decision",
            "SELECT id, person, body, principal, recorded_at FROM compliance_decisions WHERE id > $1 ORDER BY id LIMIT $2",
            |row| {
                Ok((
                    row.int(0)?.to_string(),
                    decision_hash(&row.text(1)?, &row.text(2)?, &row.text(3)?, &row.text(4)?),
                ))
            },
        )
    }

    /// Each store record has the content of its entry, and each entry's store still exists.
    fn check_stores(&mut self, conn: &mut impl Sql) -> Result<Result<(), Problem>, StoreError> {
        let mut present = HashSet::new();
        for row in conn.rows("SELECT name, created FROM stores ORDER BY name", &[])? {
            let (name, created) = (row.text(0)?, row.text(1)?);
            let hash = content_hash(store_content(&name, &created).as_bytes());
            match self.latest.get(&("store".to_string(), name.clone())) {
                Some((seq, _, stored)) if *stored != hash => {
                    return Ok(Err(Problem::RecordModified {
                        seq: *seq,
                        kind: "store".into(),
                        resource: name,
                    }));
                }
                Some(_) => {}
                None => {
                    return Ok(Err(Problem::RecordWithoutEntry {
                        kind: "store".into(),
                        resource: name,
                    }));
                }
            }
            present.insert(name);
        }
        let missing = self
            .latest
            .iter()
            .filter(|((k, r), _)| k == "store" && !present.contains(r))
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

    /// Every row of a kind (read by `select` as resource and content hash) has the content of its
    /// latest entry, and every record whose latest entry is not a delete still exists.
    fn check_kind(
        &self,
        conn: &mut impl Sql,
        kind: &str,
        select: &str,
        read: impl Fn(&Row) -> Result<(String, Hash), StoreError>,
    ) -> Result<Result<(), Problem>, StoreError> {
        let mut present = HashSet::new();
        let mut problem = None;
        scan(conn, select, |row| {
            let (resource, hash) = read(row)?;
            match self.latest.get(&(kind.to_string(), resource.clone())) {
                Some((seq, action, stored)) if !action.ends_with(".delete") => {
                    if *stored != hash {
                        problem = Some(Problem::RecordModified {
                            seq: *seq,
                            kind: kind.into(),
                            resource: resource.clone(),
                        });
                    }
                }
                _ => {
                    problem = Some(Problem::RecordWithoutEntry {
                        kind: kind.into(),
                        resource: resource.clone(),
                    })
                }
            }
            present.insert(resource);
            Ok(problem.is_none())
        })?;
        if let Some(problem) = problem {
            return Ok(Err(problem));
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
}
