//! The one writer: a thread that owns the write connection and commits many requests in one
//! transaction (group commit). Each request runs in a savepoint, so one failing request leaves the
//! others of its group untouched; nobody is answered before the commit is on disk.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use ledger::{Checkpoint, NewEntry, SigningKey, content_hash};

use super::ledger_rows::{LedgerHead, insert_checkpoint};
use crate::{
    Accepted, AttachmentContent, Credential, DocumentScope, DocumentWrite, NewCredential,
    Preconditions, StoreError,
};

/// The most requests one transaction takes.
const GROUP_LIMIT: usize = 512;
/// How deep a chain of StatementRefs is followed for the StatementRef filter rule.
const REF_DEPTH: usize = 32;
/// Marks "no group in flight" in [`WriterState::inflight_us`].
pub(crate) const IDLE: i64 = i64::MAX;

pub(crate) enum Command {
    Statements {
        principal: String,
        batch: Vec<Accepted>,
        attachments: Vec<AttachmentContent>,
        reply: Reply<Vec<Uuid>>,
    },
    CreateCredential {
        principal: String,
        credential: NewCredential,
        reply: Reply<Credential>,
    },
    WriteDocument {
        principal: String,
        write: DocumentWrite,
        reply: Reply<()>,
    },
    DeleteDocuments {
        principal: String,
        scope: DocumentScope,
        id: Option<String>,
        preconditions: Preconditions,
        reply: Reply<u64>,
    },
    Checkpoint {
        reply: Reply<Option<Checkpoint>>,
    },
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// What readers may know of the writer.
#[derive(Debug)]
pub(crate) struct WriterState {
    /// The lowest `stored` a group being written may use, or [`IDLE`].
    pub(crate) inflight_us: AtomicI64,
}

pub(crate) fn spawn(
    conn: Connection,
    state: Arc<WriterState>,
    key: SigningKey,
) -> Result<mpsc::Sender<Command>, StoreError> {
    let (sender, receiver) = mpsc::channel(4096);
    let last_stored_us: i64 = conn.query_row(
        "SELECT coalesce(max(stored_us), 0) FROM statements",
        [],
        |row| row.get(0),
    )?;
    let ledger = LedgerHead::load(&conn)?;
    let writer = Writer {
        conn,
        state,
        last_stored_us,
        term_ids: HashMap::new(),
        ledger,
        key,
    };
    std::thread::Builder::new()
        .name("attest-writer".into())
        .spawn(move || writer.run(receiver))
        .map_err(|e| StoreError::Corrupt(format!("cannot start the writer thread: {e}")))?;
    Ok(sender)
}

struct Writer {
    conn: Connection,
    state: Arc<WriterState>,
    last_stored_us: i64,
    /// Term ids seen before; cleared when large so memory stays bounded.
    term_ids: HashMap<String, i64>,
    /// The end of the ledger as committed (plus what the open transaction appended).
    ledger: LedgerHead,
    /// Signs checkpoints.
    key: SigningKey,
}

/// A request's result, held until its group's commit is known.
trait Pending: Send {
    fn is_ok(&self) -> bool;
    /// Answers the requester; a success becomes an error when the group's commit failed.
    fn answer(self: Box<Self>, commit_error: Option<&str>);
}

struct Outcome<T> {
    reply: Reply<T>,
    result: Result<T, StoreError>,
}

impl<T: Send + 'static> Outcome<T> {
    fn boxed(reply: Reply<T>, result: Result<T, StoreError>) -> Box<dyn Pending> {
        Box::new(Outcome { reply, result })
    }
}

impl<T: Send> Pending for Outcome<T> {
    fn is_ok(&self) -> bool {
        self.result.is_ok()
    }

    fn answer(self: Box<Self>, commit_error: Option<&str>) {
        let result = match commit_error {
            None => self.result,
            Some(e) => Err(StoreError::Corrupt(format!("commit failed: {e}"))),
        };
        // A requester that gave up (client gone) is no error: the write stands.
        let _ = self.reply.send(result);
    }
}

impl Writer {
    fn run(mut self, mut receiver: mpsc::Receiver<Command>) {
        while let Some(first) = receiver.blocking_recv() {
            let mut group = vec![first];
            while group.len() < GROUP_LIMIT {
                match receiver.try_recv() {
                    Ok(command) => group.push(command),
                    Err(_) => break,
                }
            }
            self.write_group(group);
        }
    }

    fn write_group(&mut self, group: Vec<Command>) {
        let now_us = Timestamp::now().as_millisecond() * 1000;
        // Published before any `stored` of this group is chosen, so readers never claim
        // consistency past a statement that is not yet committed.
        self.state.inflight_us.store(now_us, Ordering::SeqCst);
        let stored_us = now_us.max(self.last_stored_us);
        let ledger_before = self.ledger.clone();
        let term_cache_size = self.term_ids.len();
        let mut context = Context {
            term_ids: &mut self.term_ids,
            ledger: &mut self.ledger,
            key: &self.key,
            stored_us,
            time: String::new(),
        };
        context.time = match Timestamp::from_microsecond(stored_us) {
            Ok(t) => xapi::statement::format_stored(t),
            Err(_) => Timestamp::now().to_string(),
        };
        let (done, commit) = match self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        {
            Ok(mut tx) => {
                let mut done = Vec::with_capacity(group.len());
                for command in group {
                    done.push(apply(&mut tx, &mut context, command));
                }
                let commit = tx.commit().map_err(|e| e.to_string());
                (done, commit)
            }
            Err(e) => {
                let message = e.to_string();
                let done = group
                    .into_iter()
                    .map(|command| failed(command, StoreError::Corrupt(message.clone())))
                    .collect();
                (done, Err(message))
            }
        };
        match &commit {
            Ok(()) => {
                if done.iter().any(|d| d.is_ok()) {
                    self.last_stored_us = stored_us;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "a write transaction failed to commit");
                self.ledger = ledger_before;
                // Term ids created in the failed transaction are gone: forget the new ones.
                if self.term_ids.len() != term_cache_size {
                    self.term_ids.clear();
                }
            }
        }
        if self.term_ids.len() > 200_000 {
            self.term_ids.clear();
        }
        self.state.inflight_us.store(IDLE, Ordering::SeqCst);
        let commit_error = commit.err();
        for d in done {
            d.answer(commit_error.as_deref());
        }
    }
}

/// What the requests of one group share.
pub(crate) struct Context<'a> {
    term_ids: &'a mut HashMap<String, i64>,
    pub(crate) ledger: &'a mut LedgerHead,
    key: &'a SigningKey,
    /// `stored` of every statement (and `updated` of every document) in the group.
    pub(crate) stored_us: i64,
    /// The server time of the group's ledger entries.
    pub(crate) time: String,
}

fn failed(command: Command, error: StoreError) -> Box<dyn Pending> {
    match command {
        Command::Statements { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::CreateCredential { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::WriteDocument { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::DeleteDocuments { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::Checkpoint { reply } => Outcome::boxed(reply, Err(error)),
    }
}

/// Runs one request in a savepoint: it either applies whole (with its ledger entries) or not at all.
fn apply(tx: &mut Transaction<'_>, cx: &mut Context<'_>, command: Command) -> Box<dyn Pending> {
    let savepoint = match tx.savepoint() {
        Ok(sp) => sp,
        Err(e) => return failed(command, e.into()),
    };
    let terms_before = cx.term_ids.len();
    let ledger_before = cx.ledger.clone();
    let request = Request {
        savepoint,
        cx,
        terms_before,
        ledger_before,
    };
    match command {
        Command::Statements {
            principal,
            batch,
            attachments,
            reply,
        } => {
            let result = insert_statements(&request.savepoint, request.cx, &principal, batch)
                .and_then(|ids| {
                    insert_attachments(&request.savepoint, request.cx, &principal, attachments)?;
                    Ok(ids)
                });
            request.finish(reply, result)
        }
        Command::CreateCredential {
            principal,
            credential,
            reply,
        } => {
            let result = insert_credential(&request.savepoint, request.cx, &principal, credential);
            request.finish(reply, result)
        }
        Command::WriteDocument {
            principal,
            write,
            reply,
        } => {
            let result = super::documents::write(&request.savepoint, request.cx, &principal, write);
            request.finish(reply, result)
        }
        Command::DeleteDocuments {
            principal,
            scope,
            id,
            preconditions,
            reply,
        } => {
            let result = super::documents::delete(
                &request.savepoint,
                request.cx,
                &principal,
                &scope,
                id.as_deref(),
                &preconditions,
            );
            request.finish(reply, result)
        }
        Command::Checkpoint { reply } => {
            let result = checkpoint(&request.savepoint, request.cx);
            request.finish(reply, result)
        }
    }
}

/// One request's savepoint, and what to restore if it rolls back.
struct Request<'t, 'c, 'a> {
    savepoint: rusqlite::Savepoint<'t>,
    cx: &'c mut Context<'a>,
    terms_before: usize,
    ledger_before: LedgerHead,
}

impl Request<'_, '_, '_> {
    /// Releases the savepoint on success, rolls it back (with the writer's caches) on failure.
    fn finish<T: Send + 'static>(
        self,
        reply: Reply<T>,
        result: Result<T, StoreError>,
    ) -> Box<dyn Pending> {
        let Request {
            mut savepoint,
            cx,
            terms_before,
            ledger_before,
        } = self;
        let outcome = if result.is_ok() {
            savepoint.commit()
        } else {
            if cx.term_ids.len() != terms_before {
                cx.term_ids.clear();
            }
            *cx.ledger = ledger_before;
            savepoint.rollback()
        };
        match outcome {
            Ok(()) => Outcome::boxed(reply, result),
            Err(e) => Outcome::boxed(reply, Err(e.into())),
        }
    }
}

/// Signs a checkpoint over the ledger as it stands, unless the newest checkpoint covers it already.
fn checkpoint(conn: &Connection, cx: &mut Context<'_>) -> Result<Option<Checkpoint>, StoreError> {
    let size = cx.ledger.seq;
    if size == 0 {
        return Ok(None);
    }
    if let Some(latest) = super::ledger_rows::latest_checkpoint(conn)?
        && latest.size == size
    {
        return Ok(Some(latest));
    }
    let checkpoint = Checkpoint::sign(
        cx.key,
        size,
        cx.ledger.frontier.root(),
        cx.ledger.hash,
        cx.time.clone(),
    );
    insert_checkpoint(conn, &checkpoint)?;
    Ok(Some(checkpoint))
}

fn insert_credential(
    conn: &Connection,
    cx: &mut Context<'_>,
    principal: &str,
    new: NewCredential,
) -> Result<Credential, StoreError> {
    let created = Timestamp::now();
    let taken: bool = conn
        .query_row(
            "SELECT 1 FROM credentials WHERE key = ?1",
            [&new.key],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if taken {
        return Err(StoreError::DuplicateKey(new.key));
    }
    conn.execute(
        "INSERT INTO credentials (key, secret_hash, name, created) VALUES (?1, ?2, ?3, ?4)",
        params![new.key, new.secret_hash, new.name, created.to_string()],
    )?;
    let credential = Credential {
        id: conn.last_insert_rowid(),
        key: new.key,
        secret_hash: new.secret_hash,
        name: new.name,
        created,
        revoked: None,
    };
    cx.ledger.append(
        conn,
        &cx.time,
        NewEntry {
            principal: principal.to_string(),
            action: "credential.create".into(),
            kind: "credential".into(),
            resource: credential.key.clone(),
            content: content_hash(credential.ledger_content().as_bytes()),
            previous_content: None,
        },
    )?;
    Ok(credential)
}

fn insert_statements(
    conn: &Connection,
    cx: &mut Context<'_>,
    principal: &str,
    batch: Vec<Accepted>,
) -> Result<Vec<Uuid>, StoreError> {
    let stored = Timestamp::from_microsecond(cx.stored_us)
        .map_err(|e| StoreError::Corrupt(format!("clock out of range: {e}")))?;
    let mut ids = Vec::with_capacity(batch.len());
    for mut accepted in batch {
        ids.push(accepted.id);
        let id = accepted.id.to_string();
        let existing: Option<String> = conn
            .query_row("SELECT json FROM statements WHERE id = ?1", [&id], |row| {
                row.get(0)
            })
            .optional()?;
        if let Some(existing) = existing {
            let existing: Value = serde_json::from_str(&existing)
                .map_err(|e| StoreError::Corrupt(format!("statement {id}: {e}")))?;
            if xapi::compare::same_statement(&accepted.statement, &existing) {
                continue;
            }
            return Err(StoreError::Conflict(accepted.id));
        }
        accepted.stamp(stored);
        insert_one(conn, cx, principal, &accepted)?;
    }
    Ok(ids)
}

/// Stores attachment bytes not stored yet, each with its ledger entry.
fn insert_attachments(
    conn: &Connection,
    cx: &mut Context<'_>,
    principal: &str,
    attachments: Vec<AttachmentContent>,
) -> Result<(), StoreError> {
    for attachment in attachments {
        let added = conn
            .prepare_cached("INSERT OR IGNORE INTO attachments (sha2, content_type, content) VALUES (?1, ?2, ?3)")?
            .execute(params![attachment.sha2, attachment.content_type, attachment.content])?;
        if added == 1 {
            let time = cx.time.clone();
            cx.ledger.append(
                conn,
                &time,
                NewEntry {
                    principal: principal.to_string(),
                    action: "attachment.store".into(),
                    kind: "attachment".into(),
                    resource: attachment.sha2.clone(),
                    content: super::documents::document_hash(
                        &attachment.content_type,
                        &attachment.content,
                    ),
                    previous_content: None,
                },
            )?;
        }
    }
    Ok(())
}

fn insert_one(
    conn: &Connection,
    cx: &mut Context<'_>,
    principal: &str,
    accepted: &Accepted,
) -> Result<(), StoreError> {
    let id = accepted.id.to_string();
    let target = accepted.target.map(|t| t.to_string());
    // Voided already, when a voiding statement arrived before this one.
    let voided = !accepted.voiding
        && conn
            .query_row(
                "SELECT 1 FROM statements WHERE target = ?1 AND voiding = 1 LIMIT 1",
                [&id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
    let json = serde_json::to_string(&accepted.statement)
        .map_err(|e| StoreError::Corrupt(format!("statement {id}: {e}")))?;
    conn.prepare_cached(
        "INSERT INTO statements (id, stored_us, target, voiding, voided, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, cx.stored_us, target, accepted.voiding, voided, json])?;
    let seq = conn.last_insert_rowid();
    let entry = |action: &str, resource: &str, content: &str| NewEntry {
        principal: principal.to_string(),
        action: action.into(),
        kind: "statement".into(),
        resource: resource.to_string(),
        content: content_hash(content.as_bytes()),
        previous_content: None,
    };
    cx.ledger
        .append(conn, &cx.time, entry("statement.store", &id, &json))?;
    if voided {
        cx.ledger
            .append(conn, &cx.time, entry("statement.void", &id, &json))?;
    }
    // A statement that targets a voiding statement cannot void it (Data 2.3.2).
    if let (Some(t), true) = (&target, accepted.voiding) {
        let voided_json: Option<String> = conn
            .prepare_cached("UPDATE statements SET voided = 1 WHERE id = ?1 AND voiding = 0 AND voided = 0 RETURNING json")?
            .query_row([t], |row| row.get(0))
            .optional()?;
        if let Some(voided_json) = voided_json {
            cx.ledger
                .append(conn, &cx.time, entry("statement.void", t, &voided_json))?;
        }
    }

    // The StatementRef filter rule (Communication 2.1.3): a statement that targets another meets
    // every non-time filter its target meets, so it carries its target's terms too.
    let mut terms: HashSet<String> = accepted.terms.iter().cloned().collect();
    if let Some(target) = &target {
        terms.extend(chain_terms(conn, target)?);
    }
    add_postings(conn, cx.term_ids, &terms, seq)?;
    // Statements that arrived earlier and target this one now inherit its terms.
    propagate_to_referrers(conn, cx.term_ids, &id, &terms, 0)?;

    for (iri, definition) in xapi::format::activity_definitions(&accepted.statement) {
        merge_definition(conn, &iri, &definition)?;
    }
    Ok(())
}

/// All terms of a stored statement, including those it inherits along its StatementRef chain.
fn chain_terms(conn: &Connection, first: &str) -> Result<HashSet<String>, StoreError> {
    let mut terms = HashSet::new();
    let mut next = Some(first.to_string());
    let mut seen = HashSet::new();
    while let Some(id) = next.take() {
        if seen.len() >= REF_DEPTH || !seen.insert(id.clone()) {
            break;
        }
        let row: Option<(String, Option<String>)> = conn
            .prepare_cached("SELECT json, target FROM statements WHERE id = ?1")?
            .query_row([&id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let Some((json, target)) = row else { break };
        let statement: Value = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("statement {id}: {e}")))?;
        terms.extend(xapi::index::terms(&statement));
        next = target;
    }
    Ok(terms)
}

fn propagate_to_referrers(
    conn: &Connection,
    term_ids: &mut HashMap<String, i64>,
    id: &str,
    terms: &HashSet<String>,
    depth: usize,
) -> Result<(), StoreError> {
    if depth >= REF_DEPTH {
        return Ok(());
    }
    let referrers: Vec<(i64, String)> = conn
        .prepare_cached("SELECT seq, id FROM statements WHERE target = ?1")?
        .query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (seq, referrer) in referrers {
        add_postings(conn, term_ids, terms, seq)?;
        propagate_to_referrers(conn, term_ids, &referrer, terms, depth + 1)?;
    }
    Ok(())
}

fn add_postings(
    conn: &Connection,
    term_ids: &mut HashMap<String, i64>,
    terms: &HashSet<String>,
    seq: i64,
) -> Result<(), StoreError> {
    let mut insert =
        conn.prepare_cached("INSERT OR IGNORE INTO postings (term, seq) VALUES (?1, ?2)")?;
    for term in terms {
        let term_id = term_id(conn, term_ids, term)?;
        insert.execute(params![term_id, seq])?;
    }
    Ok(())
}

fn term_id(
    conn: &Connection,
    cache: &mut HashMap<String, i64>,
    term: &str,
) -> Result<i64, StoreError> {
    if let Some(id) = cache.get(term) {
        return Ok(*id);
    }
    let found: Option<i64> = conn
        .prepare_cached("SELECT id FROM terms WHERE term = ?1")?
        .query_row([term], |row| row.get(0))
        .optional()?;
    let id = match found {
        Some(id) => id,
        None => {
            conn.prepare_cached("INSERT INTO terms (term) VALUES (?1)")?
                .execute([term])?;
            conn.last_insert_rowid()
        }
    };
    cache.insert(term.to_string(), id);
    Ok(id)
}

fn merge_definition(conn: &Connection, iri: &str, definition: &Value) -> Result<(), StoreError> {
    let old: Option<String> = conn
        .prepare_cached("SELECT definition FROM activities WHERE iri = ?1")?
        .query_row([iri], |row| row.get(0))
        .optional()?;
    let merged = match old.as_deref().map(serde_json::from_str::<Value>) {
        Some(Ok(old)) => {
            let merged = xapi::format::merge_definition(&old, definition);
            // Most statements repeat the definition the store already has: no write then.
            if merged == old {
                return Ok(());
            }
            merged
        }
        _ => definition.clone(),
    };
    conn.prepare_cached(
        "INSERT INTO activities (iri, definition) VALUES (?1, ?2)
         ON CONFLICT (iri) DO UPDATE SET definition = excluded.definition",
    )?
    .execute(params![iri, merged.to_string()])?;
    Ok(())
}
