//! The embedded SQLite store: one file in the data directory, WAL, one writer thread with group
//! commit, and a pool of read connections used from blocking tasks.
mod documents;
mod key;
mod ledger_rows;
mod schema;
mod verify;
mod writer;

pub use verify::{VerifyProgress, VerifyReport, verify};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params_from_iter};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{
    Accepted, AttachmentContent, Checkpoint, ConsistencyProof, Credential, Document, DocumentKey,
    DocumentScope, DocumentWrite, Entry, InclusionProof, NewCredential, Preconditions,
    StatementPage, StatementQuery, Store, StoreError, StoredStatement, VerifyingKey,
};
use writer::{Command, IDLE, WriterState};

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "attest.db";

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: mpsc::Sender<Command>,
    writer_state: Arc<WriterState>,
    readers: Mutex<Vec<Connection>>,
    public_key: VerifyingKey,
    /// Tells the checkpointer to stop.
    closed: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}

/// How often the checkpointer looks at the WAL.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs passive checkpoints (they never block the writer or readers) until the store closes.
fn spawn_checkpointer(path: &Path, closed: Arc<AtomicBool>) -> Result<(), StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    std::thread::Builder::new()
        .name("attest-checkpoint".into())
        .spawn(move || {
            while !closed.load(Ordering::Relaxed) {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                {
                    tracing::warn!(%error, "WAL checkpoint failed; will retry");
                }
            }
        })
        .map_err(|e| StoreError::Corrupt(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating when absent) the store in `data_dir`, applying migrations.
    pub fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Corrupt(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DATABASE_FILE);
        let mut conn = Connection::open(&path)?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn)?;
        // The writer touches the id index and the postings at random places: a page cache of
        // 64 MiB keeps their upper levels in memory (the default is 2 MiB).
        conn.pragma_update(None, "cache_size", -65_536)?;
        // Each request runs in a savepoint; its statement journal belongs in memory, not in a
        // temporary file written page by page.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Checkpoints copy the WAL into the database and fsync it. A thread of their own does
        // most of that work in the background; the writer still checkpoints when the WAL passes
        // 16 MiB, which is cheap then (most frames are copied already) and is what lets the WAL
        // start over instead of growing for as long as writes keep coming.
        conn.pragma_update(None, "wal_autocheckpoint", 4_000)?;
        // Once checkpointed, the WAL shrinks back to this size rather than keeping its peak.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        let closed = Arc::new(AtomicBool::new(false));
        spawn_checkpointer(&path, closed.clone())?;
        let writer_state = Arc::new(WriterState {
            inflight_us: IDLE.into(),
        });
        let signing_key = key::load_or_create(data_dir)?;
        let public_key = key::public(&signing_key);
        let writer = writer::spawn(conn, writer_state.clone(), signing_key)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer,
                writer_state,
                readers: Mutex::new(Vec::new()),
                public_key,
                closed,
            }),
        })
    }

    /// Runs `read` on a pooled read connection in a blocking task.
    async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match inner.readers.lock().map(|mut pool| pool.pop()) {
                Ok(Some(conn)) => conn,
                _ => {
                    let conn = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    conn.busy_timeout(std::time::Duration::from_secs(10))?;
                    conn
                }
            };
            let result = read(&conn);
            if let Ok(mut pool) = inner.readers.lock() {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("read task failed: {e}")))?
    }

    async fn write<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Command,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .writer
            .send(command(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

impl Store for SqliteStore {
    async fn insert_statements(
        &self,
        principal: String,
        batch: Vec<Accepted>,
        attachments: Vec<AttachmentContent>,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.write(|reply| Command::Statements {
            principal,
            batch,
            attachments,
            reply,
        })
        .await
    }

    async fn attachments(&self, sha2: Vec<String>) -> Result<Vec<AttachmentContent>, StoreError> {
        self.read(move |conn| {
            let mut select = conn
                .prepare_cached("SELECT content_type, content FROM attachments WHERE sha2 = ?1")?;
            let mut found = Vec::new();
            for sha2 in sha2 {
                let row: Option<(String, Vec<u8>)> = select
                    .query_row([&sha2], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?;
                if let Some((content_type, content)) = row {
                    found.push(AttachmentContent {
                        sha2,
                        content_type,
                        content,
                    });
                }
            }
            Ok(found)
        })
        .await
    }

    async fn statement(
        &self,
        id: Uuid,
        voided: bool,
    ) -> Result<Option<StoredStatement>, StoreError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT json, stored_us FROM statements WHERE id = ?1 AND voided = ?2",
            )?
            .query_row(rusqlite::params![id.to_string(), voided], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .optional()?
            .map(|(json, stored_us)| stored_statement(json, stored_us))
            .transpose()
        })
        .await
    }

    async fn query(&self, query: StatementQuery) -> Result<StatementPage, StoreError> {
        self.read(move |conn| run_query(conn, &query)).await
    }

    fn consistent_through(&self) -> Timestamp {
        let inflight = self.inner.writer_state.inflight_us.load(Ordering::SeqCst);
        let now = Timestamp::now();
        if inflight == IDLE {
            return now;
        }
        Timestamp::from_microsecond(inflight - 1000)
            .unwrap_or(now)
            .min(now)
    }

    async fn activity_definitions(
        &self,
        ids: Vec<String>,
    ) -> Result<HashMap<String, Value>, StoreError> {
        self.read(move |conn| {
            let mut select =
                conn.prepare_cached("SELECT definition FROM activities WHERE iri = ?1")?;
            let mut found = HashMap::new();
            for id in ids {
                let definition: Option<String> =
                    select.query_row([&id], |row| row.get(0)).optional()?;
                if let Some(definition) = definition.and_then(|d| serde_json::from_str(&d).ok()) {
                    found.insert(id, definition);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn create_credential(
        &self,
        principal: String,
        credential: NewCredential,
    ) -> Result<Credential, StoreError> {
        self.write(|reply| Command::CreateCredential {
            principal,
            credential,
            reply,
        })
        .await
    }

    async fn credential(&self, key: String) -> Result<Option<Credential>, StoreError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT id, key, secret_hash, name, created, revoked FROM credentials WHERE key = ?1",
            )?
            .query_row([&key], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, Option<String>>(5)?,
                ))
            })
            .optional()?
            .map(|(id, key, secret_hash, name, created, revoked)| {
                let time = |s: &str| {
                    s.parse::<Timestamp>()
                        .map_err(|e| StoreError::Corrupt(format!("credential {key}: {e}")))
                };
                Ok(Credential {
                    id,
                    created: time(&created)?,
                    revoked: revoked.as_deref().map(time).transpose()?,
                    key: key.clone(),
                    secret_hash,
                    name,
                })
            })
            .transpose()
        })
        .await
    }

    async fn credential_count(&self) -> Result<u64, StoreError> {
        let count: i64 = self
            .read(|conn| {
                Ok(conn.query_row("SELECT count(*) FROM credentials", [], |row| row.get(0))?)
            })
            .await?;
        Ok(count.max(0) as u64)
    }

    async fn document(&self, key: DocumentKey) -> Result<Option<Document>, StoreError> {
        self.read(move |conn| documents::read_document(conn, &key))
            .await
    }

    async fn document_ids(
        &self,
        scope: DocumentScope,
        since: Option<Timestamp>,
    ) -> Result<Vec<(String, Timestamp)>, StoreError> {
        self.read(move |conn| documents::read_ids(conn, &scope, since))
            .await
    }

    async fn write_document(
        &self,
        principal: String,
        write: DocumentWrite,
    ) -> Result<(), StoreError> {
        self.write(|reply| Command::WriteDocument {
            principal,
            write,
            reply,
        })
        .await
    }

    async fn delete_documents(
        &self,
        principal: String,
        scope: DocumentScope,
        id: Option<String>,
        preconditions: Preconditions,
    ) -> Result<u64, StoreError> {
        self.write(|reply| Command::DeleteDocuments {
            principal,
            scope,
            id,
            preconditions,
            reply,
        })
        .await
    }

    async fn create_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.write(|reply| Command::Checkpoint { reply }).await
    }

    async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.read(ledger_rows::latest_checkpoint).await
    }

    fn public_key(&self) -> VerifyingKey {
        self.inner.public_key
    }

    async fn ledger_entries(&self, after: u64, limit: usize) -> Result<Vec<Entry>, StoreError> {
        self.read(move |conn| {
            let mut select = conn.prepare_cached(&format!(
                "SELECT {} FROM ledger WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                ledger_rows::ENTRY_COLUMNS
            ))?;
            let mut rows = select.query(rusqlite::params![after as i64, limit as i64])?;
            let mut entries = Vec::new();
            while let Some(row) = rows.next()? {
                entries.push(ledger_rows::entry_from_row(row)?);
            }
            Ok(entries)
        })
        .await
    }

    async fn record_history(
        &self,
        kind: String,
        resource: String,
    ) -> Result<Vec<Entry>, StoreError> {
        self.read(move |conn| {
            let mut select = conn.prepare_cached(&format!(
                "SELECT {} FROM ledger WHERE kind = ?1 AND resource = ?2 ORDER BY seq",
                ledger_rows::ENTRY_COLUMNS
            ))?;
            let mut rows = select.query([&kind, &resource])?;
            let mut entries = Vec::new();
            while let Some(row) = rows.next()? {
                entries.push(ledger_rows::entry_from_row(row)?);
            }
            Ok(entries)
        })
        .await
    }

    async fn inclusion_proof(&self, seq: u64) -> Result<Option<InclusionProof>, StoreError> {
        self.read(move |conn| {
            let Some(checkpoint) = ledger_rows::checkpoint_covering(conn, seq)? else {
                return Ok(None);
            };
            let mut select = conn.prepare_cached(&format!(
                "SELECT {} FROM ledger WHERE seq = ?1",
                ledger_rows::ENTRY_COLUMNS
            ))?;
            let mut rows = select.query([seq as i64])?;
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            let entry = ledger_rows::entry_from_row(row)?;
            let hashes = ledger_rows::entry_hashes(conn, checkpoint.size)?;
            let path =
                ledger::merkle::inclusion_proof(&hashes, (seq - 1) as usize).ok_or_else(|| {
                    StoreError::Corrupt(format!("ledger entry {seq} is outside its checkpoint"))
                })?;
            Ok(Some(InclusionProof {
                entry,
                checkpoint,
                path,
            }))
        })
        .await
    }

    async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Option<ConsistencyProof>, StoreError> {
        self.read(move |conn| {
            let (Some(old), Some(new)) = (
                ledger_rows::checkpoint_of_size(conn, old_size)?,
                ledger_rows::checkpoint_of_size(conn, new_size)?,
            ) else {
                return Ok(None);
            };
            let hashes = ledger_rows::entry_hashes(conn, new_size)?;
            Ok(
                ledger::merkle::consistency_proof(&hashes, old_size as usize)
                    .map(|path| ConsistencyProof { old, new, path }),
            )
        })
        .await
    }
}

fn stored_statement(json: String, stored_us: i64) -> Result<StoredStatement, StoreError> {
    let stored = Timestamp::from_microsecond(stored_us)
        .map_err(|e| StoreError::Corrupt(format!("stored time out of range: {e}")))?;
    Ok(StoredStatement { json, stored })
}

/// A query as a range scan: the first term's postings in seq order, joined with the postings of
/// the other terms and the statements, bounded by the seq range that since/until/cursor give.
fn run_query(conn: &Connection, query: &StatementQuery) -> Result<StatementPage, StoreError> {
    let mut term_ids = Vec::with_capacity(query.terms.len());
    for term in &query.terms {
        let id: Option<i64> = conn
            .prepare_cached("SELECT id FROM terms WHERE term = ?1")?
            .query_row([term], |row| row.get(0))
            .optional()?;
        match id {
            Some(id) => term_ids.push(id),
            // A term no statement has: nothing can match.
            None => {
                return Ok(StatementPage {
                    statements: Vec::new(),
                    next: None,
                });
            }
        }
    }
    let (mut low, mut high) = (i64::MIN, i64::MAX);
    if let Some(since) = query.since {
        let first: Option<i64> = conn.query_row(
            "SELECT min(seq) FROM statements WHERE stored_us > ?1",
            [since.as_microsecond()],
            |row| row.get(0),
        )?;
        low = first.unwrap_or(i64::MAX);
    }
    if let Some(until) = query.until {
        let last: Option<i64> = conn.query_row(
            "SELECT max(seq) FROM statements WHERE stored_us <= ?1",
            [until.as_microsecond()],
            |row| row.get(0),
        )?;
        high = last.unwrap_or(i64::MIN);
    }
    if let Some(after) = query.after {
        if query.ascending {
            low = low.max(after.saturating_add(1));
        } else {
            high = high.min(after.saturating_sub(1));
        }
    }
    if low > high {
        return Ok(StatementPage {
            statements: Vec::new(),
            next: None,
        });
    }

    let seq = if term_ids.is_empty() {
        "s.seq"
    } else {
        "p0.seq"
    };
    let mut sql = String::from("SELECT s.seq, s.json, s.stored_us FROM ");
    let mut args: Vec<i64> = Vec::new();
    if term_ids.is_empty() {
        sql.push_str("statements s WHERE 1");
    } else {
        sql.push_str("postings p0");
        for (i, _) in term_ids.iter().enumerate().skip(1) {
            sql.push_str(&format!(
                " JOIN postings p{i} ON p{i}.term = ? AND p{i}.seq = p0.seq"
            ));
        }
        sql.push_str(" JOIN statements s ON s.seq = p0.seq WHERE p0.term = ?");
        args.extend(term_ids.iter().skip(1));
        args.push(term_ids[0]);
    }
    sql.push_str(&format!(
        " AND {seq} >= ? AND {seq} <= ? AND s.voided = 0 ORDER BY {seq} "
    ));
    sql.push_str(if query.ascending { "ASC" } else { "DESC" });
    sql.push_str(" LIMIT ?");
    args.extend([low, high, query.limit as i64 + 1]);

    let mut select = conn.prepare_cached(&sql)?;
    let mut rows = select.query(params_from_iter(args))?;
    let mut statements = Vec::new();
    let mut last_seq = None;
    let mut next = None;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        if statements.len() == query.limit {
            next = last_seq;
            break;
        }
        statements.push(stored_statement(row.get(1)?, row.get(2)?)?);
        last_seq = Some(seq);
    }
    Ok(StatementPage { statements, next })
}
