//! The SQL engine both backends share: the writer thread with group commit, the read pool, the
//! queries, the ledger rows and verification, written once against the small [`Sql`] interface.
//! A [`Backend`] supplies connections, its schema and its few dialect differences.
mod documents;
mod ledger_rows;
mod reads;
mod verify;
mod writer;

pub(crate) use documents::document_hash;
pub(crate) use ledger_rows::genesis_frontier;
pub use verify::{VerifyProgress, VerifyReport};

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use ledger::SigningKey;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{
    Accepted, AttachmentContent, Checkpoint, ConsistencyProof, Credential, CredentialChange,
    Document, DocumentKey, DocumentScope, DocumentWrite, Entry, EvidenceOf, EvidenceRow,
    InclusionProof, NewCredential, Page, Preconditions, StatementPage, StatementQuery, Store,
    StoreError, StoredCompletion, StoredDecision, StoredFact, StoredStatement, VerifyingKey,
};
use writer::{Command, IDLE, WriterState};

/// A value bound to a statement parameter. SQL text numbers its parameters `$1`, `$2`, …
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
    Bool(bool),
    Null,
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Bytes(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

impl<'a, T: Into<Arg<'a>>> From<Option<T>> for Arg<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

/// A value read from a result column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub(crate) Vec<Cell>);

impl Row {
    fn cell(&self, i: usize) -> Result<&Cell, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Corrupt(format!("a query returned no column {i}")))
    }

    pub(crate) fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.cell(i)? {
            Cell::Int(v) => Ok(*v),
            other => Err(StoreError::Corrupt(format!(
                "column {i}: expected a number, found {other:?}"
            ))),
        }
    }

    pub(crate) fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    pub(crate) fn bool(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.int(i)? != 0)
    }

    pub(crate) fn text(&self, i: usize) -> Result<String, StoreError> {
        match self.cell(i)? {
            Cell::Text(v) => Ok(v.clone()),
            other => Err(StoreError::Corrupt(format!(
                "column {i}: expected text, found {other:?}"
            ))),
        }
    }

    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    pub(crate) fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.cell(i)? {
            Cell::Bytes(v) => Ok(v.clone()),
            other => Err(StoreError::Corrupt(format!(
                "column {i}: expected bytes, found {other:?}"
            ))),
        }
    }

    pub(crate) fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.bytes(i).map(Some),
        }
    }
}

/// What the engine needs of a database connection. Statements are prepared once per connection.
pub trait Sql {
    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError>;
    fn rows(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>, StoreError>;
    /// Runs statements without parameters or results (BEGIN, SAVEPOINT, COMMIT, DDL).
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;

    /// Runs a statement whose result nobody waits for (an insert, an update, a savepoint). A
    /// connection to a server may hold it and send it with the next call that waits (`exec`,
    /// `rows`, `batch`, `flush`, …), all in one round trip: its error is then that call's.
    /// Statements run in the order they were given either way.
    fn send(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<(), StoreError> {
        self.exec(sql, args).map(|_| ())
    }

    /// Waits for the statements [`Sql::send`] holds: gives the first one's error, if any.
    fn flush(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Runs several queries, in the order given, and gives each one's rows. A connection to a
    /// server sends them all before it waits for the first answer: one round trip.
    fn rows_together(&mut self, queries: &[Query<'_>]) -> Result<Vec<Vec<Row>>, StoreError> {
        queries
            .iter()
            .map(|(sql, args)| self.rows(sql, args))
            .collect()
    }

    fn row(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<Row>, StoreError> {
        Ok(self.rows(sql, args)?.into_iter().next())
    }

    /// Sends ([`Sql::send`]) one statement inserting rows of `columns.len()` values each (`args`
    /// holds them row after row) into `table`, whatever their number: PostgreSQL's `INSERT …
    /// SELECT unnest($1::bigint[]), unnest($2::text[]), …`, one array a column, one prepared
    /// statement a table. False when the connection has no such statement (then [`insert_rows`]
    /// sends one `INSERT … VALUES` a row).
    fn insert_columns(
        &mut self,
        _table: &str,
        _columns: &[(&str, Column)],
        _tail: &str,
        _args: &[Arg<'_>],
    ) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// Appends rows of `columns.len()` values each (`args` holds them row after row) to `table`
    /// in one stream, PostgreSQL's binary `COPY … FROM STDIN`: no statement to parse or plan
    /// per row. `None` when the connection has no such path (then [`append_rows`] inserts).
    fn copy_rows(
        &mut self,
        _table: &str,
        _columns: &[(&str, Column)],
        _args: &[Arg<'_>],
    ) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
}

/// The type of a column [`Sql::copy_rows`] writes (a binary copy must name each exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// A 64-bit integer (`BIGINT`).
    Int,
    Text,
    Bool,
    Bytes,
}

/// Below this many rows, one `INSERT` (one round trip) beats a `COPY` (two, and the statements
/// held before it sent on their own).
const COPY_MIN_ROWS: usize = 64;

/// Appends rows to `table` the fastest way the connection has: a `COPY` when it can and the
/// rows are many, else [`insert_rows`] with `tail` (such as an `ON CONFLICT` clause, which a
/// `COPY` cannot have: callers pass one only where no conflict can occur but an engine may
/// want it anyway).
pub(crate) fn append_rows(
    conn: &mut impl Sql,
    table: &str,
    columns: &[(&str, Column)],
    tail: &str,
    args: &[Arg<'_>],
) -> Result<(), StoreError> {
    if args.len() / columns.len() >= COPY_MIN_ROWS
        && conn.copy_rows(table, columns, args)?.is_some()
    {
        return Ok(());
    }
    insert_rows(conn, table, columns, tail, args)
}

/// The stored canonical part of `kind` (Activity definition, Verb display) of each of `ids` that
/// has a readable one, read in one round trip.
fn canonical_parts(
    conn: &mut impl Sql,
    kind: &writer::CanonicalKind,
    ids: &[String],
) -> Result<HashMap<String, Value>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let keys: Vec<Arg<'_>> = ids.iter().map(|id| Arg::Text(id)).collect();
    let mut found = HashMap::new();
    for row in select_in(
        conn,
        &format!("{} WHERE iri IN {{keys}}", kind.select),
        &keys,
    )? {
        if let Ok(part) = serde_json::from_str(&row.text(1)?) {
            found.insert(row.text(0)?, part);
        }
    }
    Ok(found)
}

/// The most keys one `IN` list carries. Lists are padded to powers of two up to this, so a
/// connection prepares at most a few statements per query whatever the number of keys.
const MAX_ROWS: usize = 256;

/// Inserts rows of `columns` (`args` holds their values row after row) into `table`, each
/// statement sent ([`Sql::send`]): an error may come from the connection's next call that
/// waits. One statement where the connection takes a column as an array
/// ([`Sql::insert_columns`]), else one `INSERT … VALUES ($1, …) {tail}` a row: an embedded
/// engine pays nothing per statement, while a multi-row insert there needs a statement journal
/// (a copy of every page it touches).
pub(crate) fn insert_rows(
    conn: &mut impl Sql,
    table: &str,
    columns: &[(&str, Column)],
    tail: &str,
    args: &[Arg<'_>],
) -> Result<(), StoreError> {
    if args.is_empty() || conn.insert_columns(table, columns, tail, args)? {
        return Ok(());
    }
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let values: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({}){tail}",
        names.join(", "),
        values.join(", ")
    );
    for row in args.chunks(columns.len()) {
        conn.send(&sql, row)?;
    }
    Ok(())
}

/// Runs `select` for all `keys`, where `{keys}` (as often as it occurs) stands for the list
/// `($1, …)`: a few statements at most, each list padded to a power of two with repeats of its
/// first key (a repeat changes nothing in an `IN` list).
pub(crate) fn select_in(
    conn: &mut impl Sql,
    select: &str,
    keys: &[Arg<'_>],
) -> Result<Vec<Row>, StoreError> {
    let queries = select_in_queries(select, keys);
    let borrowed: Vec<Query<'_>> = queries
        .iter()
        .map(|(sql, args)| (sql.as_str(), args.as_slice()))
        .collect();
    Ok(conn
        .rows_together(&borrowed)?
        .into_iter()
        .flatten()
        .collect())
}

/// The queries of [`select_in`], to be run with others.
pub(crate) fn select_in_queries<'a>(select: &str, keys: &[Arg<'a>]) -> Vec<(String, Vec<Arg<'a>>)> {
    keys.chunks(MAX_ROWS)
        .map(|piece| {
            let size = piece.len().next_power_of_two();
            let mut args = piece.to_vec();
            args.resize(size, piece[0]);
            let list: Vec<String> = (1..=size).map(|i| format!("${i}")).collect();
            (
                select.replace("{keys}", &format!("({})", list.join(", "))),
                args,
            )
        })
        .collect()
}

/// A query and its arguments, for [`Sql::rows_together`].
pub type Query<'a> = (&'a str, &'a [Arg<'a>]);

/// A database the engine runs on.
pub trait Backend: Send + Sync + 'static {
    type Conn: Sql + Send + 'static;

    /// A connection for the writer thread (schema already migrated).
    fn write_connection(&self) -> Result<Self::Conn, StoreError>;
    /// A connection for reads.
    fn read_connection(&self) -> Result<Self::Conn, StoreError>;
    /// The statement that opens a write transaction.
    fn begin_write(&self) -> &'static str;
    /// Appended to the read of the ledger head, to hold it for the transaction.
    fn lock_head(&self) -> &'static str;
    /// Where other processes may write (PostgreSQL: several nodes), the lock every write
    /// transaction holds from its start, and the read that waits for whoever holds it; `None`
    /// where only this process writes (its writer is waited for in memory).
    fn writer_lock(&self) -> Option<&'static WriterLock> {
        None
    }
    /// True when other processes may write to the same database (several nodes): then
    /// consistency is bounded by what is committed, not by this process's writer.
    fn shared(&self) -> bool;
    /// True when a read is a read of a local file (no round trip to a server), so that a lookup
    /// by primary key takes microseconds and may run on an async worker thread.
    fn local_reads(&self) -> bool;
    /// True when the database may refuse a value that validation let through (PostgreSQL: text
    /// with a NUL character, an index row over about 2.7 KB), so that statements written
    /// together need a savepoint to fall back to writing them request by request.
    fn refuses_values(&self) -> bool;
    /// The server's checkpoint signing key, created on first use.
    fn signing_key(&self, conn: &mut Self::Conn) -> Result<SigningKey, StoreError>;

    /// Opens a new write connection, for the writer to replace one that broke (a database
    /// server that restarted).
    fn reconnector(&self) -> Reconnect<Self::Conn>;

    /// What a bulk import into an empty store may defer to its end, if the backend can.
    fn deferred_indexes(&self) -> Option<&'static DeferredIndexes> {
        None
    }
}

/// The SQL of a bulk load that defers indexes (see [`Store::begin_bulk_import`]). Every
/// statement is idempotent, so a rebuild can run again after a crash.
pub struct DeferredIndexes {
    /// Drops the deferred indexes and creates the staging table of postings.
    pub(crate) defer: &'static str,
    /// Builds the indexes, moves the staged postings into place, drops the staging table.
    pub(crate) rebuild: &'static str,
    /// Returns a row when the indexes are deferred as `defer` left them.
    pub(crate) deferred: &'static str,
    /// The staging table of postings, `(term, seq)`.
    pub(crate) staged_postings: &'static str,
    /// Returns a row with `true` when this connection may defer: on a database several nodes
    /// share, the claim (a session lock) keeps other nodes from building the indexes at their
    /// start while the import runs. `None`: no claim needed (one process per store).
    pub(crate) claim: Option<&'static str>,
    /// Gives the claim back.
    pub(crate) release: Option<&'static str>,
}

/// See [`Backend::writer_lock`]. A lock of the database's lock manager, not of a row: waiting
/// for it writes nothing (a `SELECT … FOR SHARE` on the ledger head marks the row, takes a
/// transaction id and a commit, and holds the next writer back meanwhile).
pub struct WriterLock {
    /// Sent by a write transaction right after it begins, before it reads the ledger head.
    pub(crate) hold: &'static str,
    /// A read that returns once no transaction holds the lock.
    pub(crate) wait: &'static str,
}

/// Makes a fresh write connection.
pub type Reconnect<C> = Box<dyn Fn() -> Result<C, StoreError> + Send>;

/// A store on any [`Backend`].
pub struct SqlStore<B: Backend> {
    inner: Arc<Inner<B>>,
}

impl<B: Backend> Clone for SqlStore<B> {
    fn clone(&self) -> Self {
        SqlStore {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<B: Backend> {
    backend: B,
    writer: mpsc::Sender<Command>,
    writer_state: Arc<WriterState>,
    readers: Mutex<Vec<B::Conn>>,
    public_key: VerifyingKey,
}

impl<B: Backend> Inner<B> {
    /// Runs `read` on a pooled read connection (a new one when none is free), on this thread.
    fn with_reader<T>(
        &self,
        read: impl FnOnce(&mut B::Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.readers.lock().ok().and_then(|mut pool| pool.pop());
        let mut conn = match pooled {
            Some(conn) => conn,
            None => self.backend.read_connection()?,
        };
        let result = read(&mut conn);
        // A connection that failed may be broken: let it go rather than pool it.
        if result.is_ok()
            && let Ok(mut pool) = self.readers.lock()
        {
            pool.push(conn);
        }
        result
    }
}

impl<B: Backend> Drop for Inner<B> {
    fn drop(&mut self) {
        // Closing a connection may block (PostgreSQL's client waits for the server): never on an
        // async worker thread.
        let readers = std::mem::take(self.readers.get_mut().unwrap_or_else(|e| e.into_inner()));
        if readers.is_empty() {
            return;
        }
        let slot = Arc::new(Mutex::new(Some(readers)));
        let theirs = slot.clone();
        let spawned = std::thread::Builder::new()
            .name("attest-close".into())
            .spawn(move || drop(theirs.lock().ok().and_then(|mut r| r.take())));
        if spawned.is_err() {
            // No thread to close them on: leave them open (the process is ending) rather than
            // block, or drop a PostgreSQL connection's runtime, on an async worker.
            std::mem::forget(slot.lock().ok().and_then(|mut r| r.take()));
        }
    }
}

impl<B: Backend> SqlStore<B> {
    pub(crate) fn start(backend: B) -> Result<SqlStore<B>, StoreError> {
        let mut conn = backend.write_connection()?;
        let signing_key = backend.signing_key(&mut conn)?;
        let public_key = signing_key.verifying_key();
        let writer_state = Arc::new(WriterState {
            inflight_us: IDLE.into(),
            committed_us: AtomicI64::new(0),
            settled: tokio::sync::Notify::new(),
            asked_us: AtomicI64::new(0),
        });
        let writer = writer::spawn(
            conn,
            backend.reconnector(),
            writer_state.clone(),
            signing_key,
            writer::Dialect {
                begin: backend.begin_write(),
                lock: backend.lock_head(),
                deferred: backend.deferred_indexes(),
                refuses_values: backend.refuses_values(),
                writer_lock: backend.writer_lock().map(|lock| lock.hold),
            },
        )?;
        Ok(SqlStore {
            inner: Arc::new(Inner {
                backend,
                writer,
                writer_state,
                readers: Mutex::new(Vec::new()),
                public_key,
            }),
        })
    }

    /// Runs `read` on a pooled read connection in a blocking task.
    pub(crate) async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut B::Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.with_reader(read))
            .await
            .map_err(|e| StoreError::Corrupt(format!("read task failed: {e}")))?
    }

    /// Runs a lookup by primary key: on the calling thread where the backend's reads are local
    /// ([`Backend::local_reads`]), since handing a read of a few microseconds to the blocking
    /// pool costs more than the read (two thread switches); in a blocking task otherwise.
    async fn lookup<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut B::Conn) -> Result<T, StoreError> + Send + 'static,
    {
        if self.inner.backend.local_reads() {
            self.inner.with_reader(read)
        } else {
            self.read(read).await
        }
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

    /// An import's batch: in a transaction of its own; `restore` keeps each statement's `stored`.
    async fn import(
        &self,
        principal: String,
        batch: Vec<Accepted>,
        restore: bool,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.write(|reply| Command::Statements {
            principal,
            batch,
            attachments: Vec::new(),
            alone: true,
            restore,
            reply,
        })
        .await
    }

    /// The `stored` of the newest committed statement, as the database knows it.
    async fn committed_stored_us(&self) -> Result<i64, StoreError> {
        self.read(|conn| {
            let row = conn.row("SELECT stored_us FROM ledger_head WHERE id = 1", &[])?;
            Ok(row.map(|r| r.int(0)).transpose()?.unwrap_or(0))
        })
        .await
    }
}

fn stored_statement(json: String, stored_us: i64) -> Result<StoredStatement, StoreError> {
    let stored = Timestamp::from_microsecond(stored_us)
        .map_err(|e| StoreError::Corrupt(format!("stored time out of range: {e}")))?;
    Ok(StoredStatement { json, stored })
}

impl<B: Backend> Store for SqlStore<B> {
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
            alone: false,
            restore: false,
            reply,
        })
        .await
    }

    async fn import_statements(
        &self,
        principal: String,
        batch: Vec<Accepted>,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.import(principal, batch, false).await
    }

    async fn restore_statements(
        &self,
        principal: String,
        batch: Vec<Accepted>,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.import(principal, batch, true).await
    }

    async fn begin_bulk_import(&self) -> Result<bool, StoreError> {
        self.write(|reply| Command::BeginBulkImport { reply }).await
    }

    async fn finish_bulk_import(&self) -> Result<(), StoreError> {
        self.write(|reply| Command::FinishBulkImport { reply })
            .await
    }

    async fn attachments(&self, sha2: Vec<String>) -> Result<Vec<AttachmentContent>, StoreError> {
        self.read(move |conn| {
            let mut found = Vec::new();
            for sha2 in sha2 {
                let row = conn.row(
                    "SELECT content_type, content FROM attachments WHERE sha2 = $1",
                    &[Arg::Text(&sha2)],
                )?;
                if let Some(row) = row {
                    found.push(AttachmentContent {
                        content_type: row.text(0)?,
                        content: row.bytes(1)?,
                        sha2,
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
            let id = id.to_string();
            let row = conn.row(
                "SELECT json, stored_us FROM statements WHERE id = $1 AND voided = $2",
                &[Arg::Text(&id), Arg::Bool(voided)],
            )?;
            row.map(|r| stored_statement(r.text(0)?, r.int(1)?))
                .transpose()
        })
        .await
    }

    async fn query(&self, query: StatementQuery) -> Result<StatementPage, StoreError> {
        self.read(move |conn| reads::run_query(conn, &query)).await
    }

    fn consistent_through(&self) -> Timestamp {
        let now = Timestamp::now();
        let state = &self.inner.writer_state;
        let bound_us = if self.inner.backend.shared() {
            // Another node may be writing: only what is committed is certain. Every write
            // serialises on the ledger head, so anything not yet committed is stored at or
            // after the newest commit this process has seen.
            state.committed_us.load(Ordering::SeqCst) - 1
        } else {
            match state.inflight_us.load(Ordering::SeqCst) {
                IDLE => return now,
                inflight => inflight - 1,
            }
        };
        Timestamp::from_microsecond(bound_us)
            .unwrap_or(now)
            .min(now)
    }

    async fn activity_definitions(
        &self,
        ids: Vec<String>,
    ) -> Result<HashMap<String, Value>, StoreError> {
        self.read(move |conn| canonical_parts(conn, &writer::ACTIVITY_DEFINITIONS, &ids))
            .await
    }

    async fn verb_displays(&self, ids: Vec<String>) -> Result<HashMap<String, Value>, StoreError> {
        self.read(move |conn| canonical_parts(conn, &writer::VERB_DISPLAYS, &ids))
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
        // Every request reads its credential (a revocation holds from the next request).
        self.lookup(move |conn| reads::credential(conn, &key)).await
    }

    async fn credential_count(&self) -> Result<u64, StoreError> {
        let count = self
            .read(|conn| {
                conn.row("SELECT count(*) FROM credentials", &[])?
                    .map(|r| r.int(0))
                    .transpose()
            })
            .await?;
        Ok(count.unwrap_or(0).max(0) as u64)
    }

    async fn credentials(&self, store: Option<String>) -> Result<Vec<Credential>, StoreError> {
        self.read(move |conn| reads::credentials(conn, store.as_deref()))
            .await
    }

    async fn change_credential(
        &self,
        principal: String,
        key: String,
        change: CredentialChange,
    ) -> Result<Credential, StoreError> {
        self.write(|reply| Command::ChangeCredential {
            principal,
            key,
            change,
            reply,
        })
        .await
    }

    async fn create_store_entry(&self, principal: String, name: String) -> Result<(), StoreError> {
        self.write(|reply| Command::CreateStore {
            principal,
            name,
            reply,
        })
        .await
    }

    async fn store_entries(&self) -> Result<Vec<(String, Timestamp)>, StoreError> {
        self.read(reads::store_entries).await
    }

    async fn record_facts(
        &self,
        principal: String,
        facts: Vec<(String, String)>,
        reason: String,
        after: Option<i64>,
    ) -> Result<Vec<(i64, Timestamp)>, StoreError> {
        self.write(|reply| Command::RecordFacts {
            principal,
            facts,
            reason,
            after,
            reply,
        })
        .await
    }

    async fn facts(&self, page: Page) -> Result<Vec<StoredFact>, StoreError> {
        self.read(move |conn| reads::facts(conn, page)).await
    }

    async fn record_decision(
        &self,
        principal: String,
        person: String,
        body: String,
    ) -> Result<(i64, Timestamp), StoreError> {
        self.write(|reply| Command::RecordDecision {
            principal,
            person,
            body,
            reply,
        })
        .await
    }

    async fn decisions(
        &self,
        person: Option<String>,
        page: Page,
    ) -> Result<Vec<StoredDecision>, StoreError> {
        self.read(move |conn| reads::decisions(conn, person.as_deref(), page))
            .await
    }

    async fn completions(
        &self,
        person: Option<String>,
        page: Page,
    ) -> Result<Vec<StoredCompletion>, StoreError> {
        self.read(move |conn| reads::completions(conn, person.as_deref(), page))
            .await
    }

    async fn sync_completions(
        &self,
        principal: String,
        persons: Option<Vec<String>>,
        derived: Vec<(String, String)>,
        as_of: (Option<i64>, i64),
    ) -> Result<(usize, usize), StoreError> {
        self.write(|reply| Command::SyncCompletions {
            principal,
            persons,
            derived,
            as_of,
            reply,
        })
        .await
    }

    async fn evidence(&self, about: EvidenceOf) -> Result<Vec<EvidenceRow>, StoreError> {
        self.read(move |conn| reads::evidence(conn, &about)).await
    }

    async fn statements_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        self.read(move |conn| reads::statements_after(conn, after, limit))
            .await
    }

    async fn compliance_watermarks(&self) -> Result<(Option<i64>, i64), StoreError> {
        // Every group this process's writer begins from here on is stored after now.
        let now_us = i64::try_from(Timestamp::now().as_nanosecond().div_euclid(1000) + 1)
            .unwrap_or(i64::MAX);
        let state = &self.inner.writer_state;
        state.asked_us.fetch_max(now_us, Ordering::SeqCst);
        // Where several processes write, every writer holds the writer lock from before it reads
        // the ledger head and chooses its `stored`: one that holds it now is waited for, one
        // that takes it later stores later than now (by its own clock, on another node). This
        // process's writer is one of them.
        if let Some(lock) = self.inner.backend.writer_lock() {
            return self
                .read(move |conn| reads::compliance_watermarks(conn, Some(lock.wait)))
                .await;
        }
        // Otherwise this process's writer alone: a group that began by now may be stored by now.
        loop {
            let settled = state.settled.notified();
            let mut settled = std::pin::pin!(settled);
            settled.as_mut().enable();
            if state.inflight_us.load(Ordering::SeqCst) > now_us {
                break;
            }
            if self.inner.writer.is_closed() {
                // The writer stopped half-way (it would have said so on settling).
                return Err(StoreError::Closed);
            }
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), settled).await;
        }
        self.read(|conn| reads::compliance_watermarks(conn, None))
            .await
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
        self.read(move |conn| ledger_rows::entries_after(conn, after, limit))
            .await
    }

    async fn record_history(
        &self,
        kind: String,
        resource: String,
    ) -> Result<Vec<Entry>, StoreError> {
        self.read(move |conn| ledger_rows::record_history(conn, &kind, &resource))
            .await
    }

    async fn inclusion_proof(&self, seq: u64) -> Result<Option<InclusionProof>, StoreError> {
        self.read(move |conn| {
            let Some(checkpoint) = ledger_rows::checkpoint_covering(conn, seq)? else {
                return Ok(None);
            };
            let Some(entry) = ledger_rows::entry(conn, seq)? else {
                return Ok(None);
            };
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

impl<B: Backend> SqlStore<B> {
    /// Reads the committed head now and then, so a node that writes little still advances
    /// X-Experience-API-Consistent-Through past other nodes' writes (shared backends only).
    pub(crate) fn follow_commits(&self) {
        if !self.inner.backend.shared() {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                let Some(inner) = weak.upgrade() else { return };
                let store = SqlStore { inner };
                if let Ok(committed) = store.committed_stored_us().await {
                    store
                        .inner
                        .writer_state
                        .committed_us
                        .fetch_max(committed, Ordering::SeqCst);
                }
            }
        });
    }

    /// Verifies the whole store (see `attest verify`).
    pub(crate) fn verify_with(
        conn: &mut B::Conn,
        key: &VerifyingKey,
        progress: VerifyProgress<'_>,
    ) -> Result<VerifyReport, StoreError> {
        verify::verify(conn, key, progress)
    }
}
