//! The PostgreSQL backend: several stateless Attest nodes on one database. Every write
//! transaction locks the ledger head row first (`SELECT … FOR UPDATE`), so writers on all nodes
//! are serialised: the ledger stays one chain, `stored` follows `seq`, and concurrent batches that
//! share activities and agents never deadlock. The checkpoint signing key lives in the database,
//! so every node signs with the same key.
use std::collections::HashMap;
use std::error::Error;
use std::pin::Pin;
use std::task::Poll;

use bytes::BytesMut;
use ledger::SigningKey;
use rand::RngCore;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Statement};

use crate::StoreError;
use crate::sql::{
    Arg, Backend, Cell, Column, DeferredIndexes, Query, Reconnect, Row, Sql, SqlStore,
    VerifyProgress, VerifyReport, WriterLock,
};

/// The store on PostgreSQL.
pub type PgStore = SqlStore<PgBackend>;

pub struct PgBackend {
    url: String,
    /// The schema this store lives in, when not the one the URL's connection defaults to.
    schema: Option<String>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db`), applying migrations.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        Self::start_on(PgBackend {
            url: url.to_string(),
            schema: None,
        })
        .await
    }

    /// Connects to a store in its own schema (created when missing).
    pub async fn connect_schema(url: &str, schema: &str) -> Result<PgStore, StoreError> {
        Self::start_on(PgBackend {
            url: url.to_string(),
            schema: Some(schema.to_string()),
        })
        .await
    }

    /// The schema this store's tables are in.
    pub async fn current_schema(&self) -> Result<String, StoreError> {
        self.read(|conn| {
            conn.row("SELECT current_schema()", &[])?
                .map(|r| r.text(0))
                .transpose()?
                .ok_or_else(|| StoreError::Corrupt("no current schema".into()))
        })
        .await
    }

    async fn start_on(backend: PgBackend) -> Result<PgStore, StoreError> {
        // The synchronous client blocks: keep it off the async worker threads.
        let store = tokio::task::spawn_blocking(move || {
            let mut conn = backend.connect()?;
            migrate(&mut conn)?;
            build_abandoned_indexes(&mut conn)?;
            SqlStore::start(backend)
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("connect task failed: {e}")))??;
        store.follow_commits();
        Ok(store)
    }
}

/// What a bulk import into an empty store defers (see `Store::begin_bulk_import`): the two
/// indexes with random keys that every statement would otherwise update at a random page (the
/// statement id's unique constraint, the ledger's `(kind, resource)`), and the postings, which
/// go to `postings_load`, a table without an index, instead of the `(term, seq)` B-tree.
/// `postings` itself keeps its primary key, so other nodes' writes meanwhile (which end the
/// deferral) insert into it as always.
const DEFER_INDEXES: &str = "ALTER TABLE statements DROP CONSTRAINT IF EXISTS statements_id_key;
DROP INDEX IF EXISTS ledger_record;
CREATE TABLE IF NOT EXISTS postings_load (term BIGINT NOT NULL, seq BIGINT NOT NULL);";

/// Builds what [`DEFER_INDEXES`] deferred, each index in one sorted pass; does nothing when
/// nothing is deferred. When nobody wrote postings meanwhile (the usual case), the staging table
/// becomes the postings table and gets its primary key, instead of copying every row. Run in the
/// writer's transaction with the ledger head locked, so no other writer is half-way through.
/// A larger sort memory than the default 64 MB for this transaction only: the postings' sort
/// (about 11 rows per statement) then spills less.
const REBUILD_DEFERRED: &str = "SET LOCAL maintenance_work_mem = '256MB';
DO $$
BEGIN
    IF to_regclass('statements_id_key') IS NULL THEN
        ALTER TABLE statements ADD CONSTRAINT statements_id_key UNIQUE (id);
    END IF;
    IF to_regclass('postings_load') IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM postings) THEN
            DROP TABLE postings;
            ALTER TABLE postings_load RENAME TO postings;
            ALTER TABLE postings ADD PRIMARY KEY (term, seq);
        ELSE
            INSERT INTO postings (term, seq)
                SELECT term, seq FROM postings_load ORDER BY term, seq
                ON CONFLICT (term, seq) DO NOTHING;
            DROP TABLE postings_load;
        END IF;
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS ledger_record ON ledger (kind, resource);";

/// One row when the indexes are deferred as [`DEFER_INDEXES`] left them.
const INDEXES_DEFERRED: &str = "SELECT 1 WHERE to_regclass('postings_load') IS NOT NULL
 AND to_regclass('statements_id_key') IS NULL AND to_regclass('ledger_record') IS NULL";

/// Something of [`DEFER_INDEXES`] is in place (a table to drain or an index to build).
const ANY_DEFERRED: &str = "SELECT 1 WHERE to_regclass('postings_load') IS NOT NULL
 OR to_regclass('statements_id_key') IS NULL OR to_regclass('ledger_record') IS NULL";

/// The bulk import's claim on a store: a session advisory lock, keyed by the store's ledger head
/// table (one per schema), held by the importing writer's connection from the deferral to the
/// index build. A node that starts meanwhile sees it held and leaves the indexes to the import;
/// a killed import's connection ends and the lock with it.
const CLAIM: &str = "SELECT pg_try_advisory_lock(7461627, 'ledger_head'::regclass::oid::int)";
const RELEASE: &str = "SELECT pg_advisory_unlock(7461627, 'ledger_head'::regclass::oid::int)";

/// Held by every write transaction of any node, keyed like [`CLAIM`] by the store's ledger head
/// table (one per schema); a compliance question takes it shared for one statement, so it waits
/// for the writer holding it (a transaction-level advisory lock: no row marked, no transaction id).
static WRITER_LOCK: WriterLock = WriterLock {
    hold: "SELECT pg_advisory_xact_lock(7461628, 'ledger_head'::regclass::oid::int)",
    wait: "SELECT 1 FROM (SELECT pg_advisory_xact_lock_shared(7461628, 'ledger_head'::regclass::oid::int)) AS waited",
};

static DEFERRED_INDEXES: DeferredIndexes = DeferredIndexes {
    defer: DEFER_INDEXES,
    rebuild: REBUILD_DEFERRED,
    deferred: INDEXES_DEFERRED,
    staged_postings: "postings_load",
    claim: Some(CLAIM),
    release: Some(RELEASE),
};

/// Builds indexes that a killed bulk import left deferred, so no node runs without them for
/// long; unless an import holds the claim (it runs on another node and builds them at its end).
fn build_abandoned_indexes(conn: &mut PgConn) -> Result<(), StoreError> {
    if conn.row(ANY_DEFERRED, &[])?.is_none() {
        return Ok(());
    }
    if conn.row(CLAIM, &[])?.map(|r| r.bool(0)).transpose()? != Some(true) {
        tracing::info!("an import is deferring this store's indexes; it builds them when it ends");
        return Ok(());
    }
    tracing::warn!("an import into this store did not finish; building its deferred indexes");
    let built = (|| {
        conn.batch("BEGIN")?;
        conn.batch("SELECT 1 FROM ledger_head WHERE id = 1 FOR UPDATE")?;
        conn.batch(REBUILD_DEFERRED)?;
        conn.batch("COMMIT")
    })();
    if built.is_err() {
        let _ = conn.batch("ROLLBACK");
    }
    conn.batch(RELEASE)?;
    built
}

/// Refuses to verify a store whose indexes an import defers (running, or killed and the store
/// not opened since): looking each statement up without the id index would take hours.
fn refuse_deferred(conn: &mut PgConn) -> Result<(), StoreError> {
    if conn.row(ANY_DEFERRED, &[])?.is_some() {
        return Err(StoreError::Corrupt(
            "an import into this store is running or did not finish, and its indexes are not built yet; when no import runs, open the store once (`attest serve`, `attest import`) to build them, then verify".into(),
        ));
    }
    Ok(())
}

/// Verifies a store on PostgreSQL (see `attest verify`): the default store where `url` points,
/// or the named store in its own schema.
pub fn verify_postgres(
    url: &str,
    store: &str,
    progress: VerifyProgress<'_>,
) -> Result<VerifyReport, StoreError> {
    let default = PgBackend {
        url: url.to_string(),
        schema: None,
    };
    let mut conn = default.connect()?;
    if store != crate::DEFAULT_STORE {
        if conn
            .row("SELECT 1 FROM stores WHERE name = $1", &[Arg::Text(store)])?
            .is_none()
        {
            return Err(StoreError::NotFound(format!("no store named '{store}'")));
        }
        let base = conn
            .row("SELECT current_schema()", &[])?
            .map(|r| r.text(0))
            .transpose()?
            .ok_or_else(|| StoreError::Corrupt("no current schema".into()))?;
        let schema = crate::stores::store_schema(&base, store);
        conn = PgBackend {
            url: url.to_string(),
            schema: Some(schema),
        }
        .connect()?;
    }
    refuse_deferred(&mut conn)?;
    let key = read_key(&mut conn)?.ok_or_else(|| {
        StoreError::Corrupt("this database has no ledger key: it was never opened by Attest".into())
    })?;
    PgStore::verify_with(&mut conn, &key.verifying_key(), progress)
}

impl PgBackend {
    fn connect(&self) -> Result<PgConn, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot start a connection runtime: {e}")))?;
        let (client, connection) = runtime
            .block_on(tokio_postgres::connect(&self.url, NoTls))
            .map_err(pg)?;
        // Runs whenever the connection's owner waits on it (`PgConn::wait`).
        runtime.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a PostgreSQL connection ended");
            }
        });
        let mut conn = PgConn {
            client,
            runtime,
            statements: HashMap::new(),
            held: Vec::new(),
        };
        // Every query Attest runs finds its rows through an index, but PostgreSQL plans a
        // prepared statement once for all after its first few runs, from the statistics of the
        // time: planned while the store is new and a table holds a hundred rows, a look-up would
        // scan the whole table on every later run, however large it grew, until autovacuum next
        // analyses it (a fresh store taking 2,000 single POSTs a second fell to 500 in some runs,
        // its term look-up 3.9 ms a call). Scans stay possible where no index serves, only never
        // preferred. (Planning every run instead, `plan_cache_mode = force_custom_plan`, cost
        // 37 µs of the database's time per credential read, four times the read.)
        conn.batch("SET enable_seqscan = off")?;
        // Nor is any query of Attest worth compiling: JIT takes tens of milliseconds, and it is
        // chosen from the estimated cost, which is huge for a table not yet analysed (seen on a
        // new store's catch-up of compliance evidence).
        conn.batch("SET jit = off")?;
        if let Some(schema) = &self.schema {
            // The name comes from a validated store name, never from a request as such.
            let schema = schema.replace('"', "");
            conn.batch(&format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET search_path TO \"{schema}\""
            ))?;
        }
        Ok(conn)
    }
}

fn pg(error: tokio_postgres::Error) -> StoreError {
    // The error's own text is only "db error": the server's message is its source.
    match error.as_db_error() {
        Some(db) => StoreError::Backend(format!("{error}: {db}")),
        None => StoreError::Backend(error.to_string()),
    }
}

impl Backend for PgBackend {
    type Conn = PgConn;

    fn write_connection(&self) -> Result<PgConn, StoreError> {
        self.connect()
    }

    fn read_connection(&self) -> Result<PgConn, StoreError> {
        self.connect()
    }

    fn begin_write(&self) -> &'static str {
        "BEGIN"
    }

    fn lock_head(&self) -> &'static str {
        " FOR UPDATE"
    }

    fn shared(&self) -> bool {
        true
    }

    fn writer_lock(&self) -> Option<&'static WriterLock> {
        Some(&WRITER_LOCK)
    }

    fn local_reads(&self) -> bool {
        false
    }

    fn refuses_values(&self) -> bool {
        true
    }

    fn deferred_indexes(&self) -> Option<&'static DeferredIndexes> {
        Some(&DEFERRED_INDEXES)
    }

    fn reconnector(&self) -> Reconnect<PgConn> {
        let backend = PgBackend {
            url: self.url.clone(),
            schema: self.schema.clone(),
        };
        Box::new(move || backend.write_connection())
    }

    fn signing_key(&self, conn: &mut PgConn) -> Result<SigningKey, StoreError> {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        // The first node to get here creates the key; every node then reads the same one.
        conn.exec(
            "INSERT INTO ledger_key (id, seed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
            &[Arg::Bytes(&seed)],
        )?;
        read_key(conn)?.ok_or_else(|| StoreError::Corrupt("the ledger key row vanished".into()))
    }
}

fn read_key(conn: &mut PgConn) -> Result<Option<SigningKey>, StoreError> {
    let Some(row) = conn.row("SELECT seed FROM ledger_key WHERE id = 1", &[])? else {
        return Ok(None);
    };
    let seed: [u8; 32] = row
        .bytes(0)?
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Corrupt("the ledger key is not 32 bytes".into()))?;
    Ok(Some(SigningKey::from_bytes(&seed)))
}

/// A PostgreSQL connection speaking the engine's [`Sql`], with its prepared statements. The
/// engine's calls are synchronous (they run on the writer thread and blocking tasks): each waits
/// on the connection's own single-threaded runtime, as the `postgres` crate does, but a `COPY`
/// streams all its rows in one wait.
pub struct PgConn {
    client: Client,
    /// Drives the connection (a task on it) while a call waits.
    runtime: tokio::runtime::Runtime,
    statements: HashMap<String, Statement>,
    /// Statements sent ([`Sql::send`]) and not yet waited for: they go to the server with the
    /// next call that waits, in one round trip.
    held: Vec<(Statement, Vec<OwnedArg>)>,
}

/// An [`Arg`] a held statement keeps until it is sent, or a column of them sent as one array.
#[derive(Debug)]
enum OwnedArg {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
    Null,
    Array(Vec<OwnedArg>),
}

impl From<&Arg<'_>> for OwnedArg {
    fn from(arg: &Arg<'_>) -> Self {
        match *arg {
            Arg::Int(v) => OwnedArg::Int(v),
            Arg::Text(s) => OwnedArg::Text(s.to_string()),
            Arg::Bytes(b) => OwnedArg::Bytes(b.to_vec()),
            Arg::Bool(b) => OwnedArg::Bool(b),
            Arg::Null => OwnedArg::Null,
        }
    }
}

impl ToSql for OwnedArg {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            OwnedArg::Int(v) => Arg::Int(*v).to_sql(ty, out),
            OwnedArg::Text(s) => Arg::Text(s).to_sql(ty, out),
            OwnedArg::Bytes(b) => Arg::Bytes(b).to_sql(ty, out),
            OwnedArg::Bool(b) => Arg::Bool(*b).to_sql(ty, out),
            OwnedArg::Null => Ok(IsNull::Yes),
            // An array of the column's type, each element written as the type asks.
            OwnedArg::Array(members) => members.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Runs `call` on `client` after the statements `held` there, all sent before any answer is
/// awaited (the client pipelines requests that are pending together). The first error of a
/// held statement is the result: the transaction is then aborted, and whatever `call` answered
/// (PostgreSQL answers a COMMIT in an aborted transaction with a rollback, not an error) is not
/// to be trusted.
fn wait_on<T>(
    runtime: &tokio::runtime::Runtime,
    held: &mut Vec<(Statement, Vec<OwnedArg>)>,
    client: &Client,
    call: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, StoreError> {
    if held.is_empty() {
        return runtime.block_on(call).map_err(pg);
    }
    let held = std::mem::take(held);
    let params: Vec<Vec<&(dyn ToSql + Sync)>> = held
        .iter()
        .map(|(_, args)| args.iter().map(|a| a as &(dyn ToSql + Sync)).collect())
        .collect();
    // Each request goes out when its future is first polled: poll them in order, the held
    // statements first, every round, until all have answered.
    let mut sent: Vec<_> = held
        .iter()
        .zip(&params)
        .map(|((statement, _), params)| Box::pin(client.execute(statement, params)))
        .collect();
    let mut results: Vec<Option<Result<u64, tokio_postgres::Error>>> =
        sent.iter().map(|_| None).collect();
    let mut call = std::pin::pin!(call);
    let mut answer = None;
    let answer = runtime.block_on(std::future::poll_fn(|cx| {
        let mut pending = poll_in_order(&mut sent, &mut results, cx);
        if answer.is_none() {
            match call.as_mut().poll(cx) {
                Poll::Ready(done) => answer = Some(done),
                Poll::Pending => pending = true,
            }
        }
        match answer.take() {
            Some(done) if !pending => Poll::Ready(done),
            kept => {
                answer = kept;
                Poll::Pending
            }
        }
    }));
    for result in results.into_iter().flatten() {
        result.map_err(pg)?;
    }
    answer.map_err(pg)
}

/// Polls each of `futures` not answered yet, in order (a request goes out when its future is
/// first polled), keeping each answer in `answers`: true while any is pending.
fn poll_in_order<F: Future>(
    futures: &mut [Pin<Box<F>>],
    answers: &mut [Option<F::Output>],
    cx: &mut std::task::Context<'_>,
) -> bool {
    let mut pending = false;
    for (future, answer) in futures.iter_mut().zip(answers.iter_mut()) {
        if answer.is_none() {
            match future.as_mut().poll(cx) {
                Poll::Ready(done) => *answer = Some(done),
                Poll::Pending => pending = true,
            }
        }
    }
    pending
}

impl PgConn {
    fn prepared(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        // Prepares without running anything: the statements held wait for a call that runs.
        let statement = self
            .runtime
            .block_on(self.client.prepare(sql))
            .map_err(pg)?;
        if self.statements.len() > 1_000 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

impl ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Arg::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Arg::Int(v) => v.to_sql(ty, out),
            Arg::Text(s) => s.to_sql(ty, out),
            Arg::Bytes(b) => b.to_sql(ty, out),
            Arg::Bool(b) => b.to_sql(ty, out),
            Arg::Null => Ok(IsNull::Yes),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn cell(row: &tokio_postgres::Row, i: usize) -> Result<Cell, StoreError> {
    let ty = row.columns()[i].type_().clone();
    let cell = if ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)
            .map(|v| v.map_or(Cell::Null, Cell::Int))
    } else if ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)
            .map(|v| v.map_or(Cell::Null, |v| Cell::Int(v.into())))
    } else if ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i)
            .map(|v| v.map_or(Cell::Null, |v| Cell::Int(v.into())))
    } else if ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)
            .map(|v| v.map_or(Cell::Null, |v| Cell::Int(v.into())))
    } else if ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i)
            .map(|v| v.map_or(Cell::Null, Cell::Bytes))
    } else {
        row.try_get::<_, Option<String>>(i)
            .map(|v| v.map_or(Cell::Null, Cell::Text))
    };
    cell.map_err(pg)
}

fn row(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    (0..row.len())
        .map(|i| cell(row, i))
        .collect::<Result<Vec<_>, _>>()
        .map(Row)
}

impl Sql for PgConn {
    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let statement = self.prepared(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        let call = self.client.execute(&statement, &params);
        wait_on(&self.runtime, &mut self.held, &self.client, call)
    }

    fn rows(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>, StoreError> {
        let statement = self.prepared(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        let call = self.client.query(&statement, &params);
        let rows = wait_on(&self.runtime, &mut self.held, &self.client, call)?;
        rows.iter().map(row).collect()
    }

    fn rows_together(&mut self, queries: &[Query<'_>]) -> Result<Vec<Vec<Row>>, StoreError> {
        let statements = queries
            .iter()
            .map(|(sql, _)| self.prepared(sql))
            .collect::<Result<Vec<_>, _>>()?;
        let params: Vec<Vec<&(dyn ToSql + Sync)>> = queries
            .iter()
            .map(|(_, args)| args.iter().map(|a| a as &(dyn ToSql + Sync)).collect())
            .collect();
        let mut calls: Vec<_> = statements
            .iter()
            .zip(&params)
            .map(|(statement, params)| Box::pin(self.client.query(statement, params)))
            .collect();
        let mut answers: Vec<Option<Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>>> =
            calls.iter().map(|_| None).collect();
        // Polled in order, each query is sent before any answer is awaited.
        let together = std::future::poll_fn(|cx| {
            if poll_in_order(&mut calls, &mut answers, cx) {
                return Poll::Pending;
            }
            Poll::Ready(
                answers
                    .iter_mut()
                    .map(|a| a.take().unwrap_or(Ok(Vec::new())))
                    .collect::<Result<Vec<_>, _>>(),
            )
        });
        let answers = wait_on(&self.runtime, &mut self.held, &self.client, together)?;
        answers
            .iter()
            .map(|rows| rows.iter().map(row).collect())
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let call = self.client.batch_execute(sql);
        wait_on(&self.runtime, &mut self.held, &self.client, call)
    }

    fn send(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<(), StoreError> {
        let statement = self.prepared(sql)?;
        self.held
            .push((statement, args.iter().map(OwnedArg::from).collect()));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if self.held.is_empty() {
            return Ok(());
        }
        let ready = std::future::ready(Ok(()));
        wait_on(&self.runtime, &mut self.held, &self.client, ready)
    }

    fn insert_columns(
        &mut self,
        table: &str,
        columns: &[(&str, Column)],
        tail: &str,
        args: &[Arg<'_>],
    ) -> Result<bool, StoreError> {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let arrays: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, (_, column))| format!("unnest(${}::{}[])", i + 1, sql_type(*column)))
            .collect();
        let statement = self.prepared(&format!(
            "INSERT INTO {table} ({}) SELECT {}{tail}",
            names.join(", "),
            arrays.join(", ")
        ))?;
        let rows = args.len() / columns.len();
        let mut arrays: Vec<Vec<OwnedArg>> = (0..columns.len())
            .map(|_| Vec::with_capacity(rows))
            .collect();
        for row in args.chunks(columns.len()) {
            for (array, arg) in arrays.iter_mut().zip(row) {
                array.push(OwnedArg::from(arg));
            }
        }
        self.held
            .push((statement, arrays.into_iter().map(OwnedArg::Array).collect()));
        Ok(true)
    }

    fn copy_rows(
        &mut self,
        table: &str,
        columns: &[(&str, Column)],
        args: &[Arg<'_>],
    ) -> Result<Option<u64>, StoreError> {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let statement = self.prepared(&format!(
            "COPY {table} ({}) FROM STDIN (FORMAT binary)",
            names.join(", ")
        ))?;
        let types: Vec<Type> = columns
            .iter()
            .map(|(_, column)| match column {
                Column::Int => Type::INT8,
                Column::Text => Type::TEXT,
                Column::Bool => Type::BOOL,
                Column::Bytes => Type::BYTEA,
            })
            .collect();
        // The statements held go first, on their own (a copy streams after its answer).
        self.flush()?;
        let client = &self.client;
        self.runtime
            .block_on(async {
                let sink = client.copy_in(&statement).await?;
                // Dropped unfinished on an error, the copy is aborted (and the transaction with it).
                let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
                for row in args.chunks(columns.len()) {
                    writer.as_mut().write_raw(row).await?;
                }
                writer.finish().await
            })
            .map(Some)
            .map_err(pg)
    }
}

/// The PostgreSQL type of a [`Column`].
fn sql_type(column: Column) -> &'static str {
    match column {
        Column::Int => "bigint",
        Column::Text => "text",
        Column::Bool => "boolean",
        Column::Bytes => "bytea",
    }
}

/// Each entry is one migration. Never edit a released one: add another.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE statements (
    seq       BIGINT  PRIMARY KEY,
    id        TEXT    NOT NULL UNIQUE,
    stored_us BIGINT  NOT NULL,
    target    TEXT,
    voiding   BOOLEAN NOT NULL,
    voided    BOOLEAN NOT NULL DEFAULT FALSE,
    json      TEXT    NOT NULL
);
CREATE INDEX statements_stored ON statements (stored_us);
CREATE INDEX statements_target ON statements (target) WHERE target IS NOT NULL;

CREATE TABLE terms (
    id   BIGSERIAL PRIMARY KEY,
    term TEXT NOT NULL UNIQUE
);
CREATE TABLE postings (
    term BIGINT NOT NULL,
    seq  BIGINT NOT NULL,
    PRIMARY KEY (term, seq)
);

CREATE TABLE attachments (
    id           BIGSERIAL PRIMARY KEY,
    sha2         TEXT  NOT NULL UNIQUE,
    content_type TEXT  NOT NULL,
    content      BYTEA NOT NULL
);

CREATE TABLE activities (
    iri        TEXT PRIMARY KEY,
    definition TEXT NOT NULL
);

CREATE TABLE documents (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT   NOT NULL,
    activity     TEXT   NOT NULL,
    agent        TEXT   NOT NULL,
    registration TEXT   NOT NULL,
    doc_id       TEXT   NOT NULL,
    content_type TEXT   NOT NULL,
    content      BYTEA  NOT NULL,
    etag         TEXT   NOT NULL,
    updated_us   BIGINT NOT NULL,
    UNIQUE (kind, activity, agent, registration, doc_id)
);

CREATE TABLE ledger (
    seq              BIGINT PRIMARY KEY,
    time             TEXT   NOT NULL,
    principal        TEXT   NOT NULL,
    action           TEXT   NOT NULL,
    kind             TEXT   NOT NULL,
    resource         TEXT   NOT NULL,
    content          BYTEA  NOT NULL,
    previous_content BYTEA,
    prev             BYTEA  NOT NULL,
    hash             BYTEA  NOT NULL
);
CREATE INDEX ledger_record ON ledger (kind, resource);
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'ledger entries are append-only'; END $$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

CREATE TABLE ledger_head (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    seq           BIGINT  NOT NULL,
    hash          BYTEA   NOT NULL,
    frontier      BYTEA   NOT NULL,
    stored_us     BIGINT  NOT NULL,
    statement_seq BIGINT  NOT NULL
);

CREATE TABLE ledger_key (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seed BYTEA   NOT NULL
);

CREATE TABLE checkpoints (
    size      BIGINT PRIMARY KEY,
    root      BYTEA  NOT NULL,
    head      BYTEA  NOT NULL,
    time      TEXT   NOT NULL,
    signature BYTEA  NOT NULL
);

CREATE TABLE credentials (
    id          BIGSERIAL PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    name        TEXT NOT NULL,
    store       TEXT NOT NULL,   -- the store (tenant) it reaches
    kind        TEXT NOT NULL,   -- xapi | admin
    scopes      TEXT NOT NULL,   -- space-separated xAPI scope names
    created     TEXT NOT NULL,
    expires     TEXT,
    revoked     TEXT
);

-- Training-compliance master data (crates/compliance): append-only facts, each recorded at a
-- server time with who and why; a later fact with the same key corrects an earlier one.
CREATE TABLE compliance_facts (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    principal   TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

-- The stores (tenants) of this installation. Each has a database of its own; this list lives in
-- the default store's database with the credentials.
CREATE TABLE stores (
    name    TEXT PRIMARY KEY,
    created TEXT NOT NULL
);
"#,
    r#"
-- Completions derived from the evidence by the compliance rules (regulated.md 2.1), stored as
-- they are derived; a completion no longer derived (its evidence voided, a rule corrected) is
-- invalidated, never deleted. Re-derivable: `attest compliance rederive` diffs against this.
CREATE TABLE compliance_completions (
    id             BIGSERIAL PRIMARY KEY,
    person         TEXT NOT NULL,
    body           TEXT NOT NULL,
    derived_at     TEXT NOT NULL,
    invalidated_at TEXT
);
CREATE INDEX compliance_completions_person ON compliance_completions (person, id);

-- Qualification decisions asked for by a gate (an MES before a batch step, regulated.md F5):
-- the question, the answer given and the evidence it rested on, as they were.
CREATE TABLE compliance_decisions (
    id          BIGSERIAL PRIMARY KEY,
    person      TEXT NOT NULL,
    body        TEXT NOT NULL,
    principal   TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX compliance_decisions_person ON compliance_decisions (person, id);
"#,
    r#"
-- The canonical display of each Verb (Data 2.4.3), merged from the displays of the statements
-- stored from this version on, language by language.
CREATE TABLE verbs (
    iri     TEXT PRIMARY KEY,
    display TEXT NOT NULL
);
"#,
];

/// Applies the migrations the database has not seen yet. Nodes starting together take turns
/// (an advisory lock), so each migration runs once.
fn migrate(conn: &mut PgConn) -> Result<(), StoreError> {
    conn.batch(
        "SELECT pg_advisory_lock(7461626); CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
    )?;
    let result = (|| {
        let applied = conn
            .row("SELECT max(version) FROM schema_version", &[])?
            .and_then(|r| r.opt_int(0).ok().flatten())
            .unwrap_or(0);
        let applied = usize::try_from(applied).unwrap_or(usize::MAX);
        if applied > MIGRATIONS.len() {
            return Err(StoreError::Corrupt(format!(
                "the database is at schema version {applied}, newer than this Attest ({}); upgrade Attest",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            conn.batch("BEGIN")?;
            conn.batch(sql)?;
            if i == 0 {
                conn.exec(
                    "INSERT INTO ledger_head (id, seq, hash, frontier, stored_us, statement_seq) VALUES (1, 0, $1, $2, 0, 0)",
                    &[Arg::Bytes(&ledger::GENESIS), Arg::Bytes(&crate::sql::genesis_frontier())],
                )?;
            }
            conn.exec(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[Arg::Int(i as i64 + 1)],
            )?;
            conn.batch("COMMIT")?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = conn.batch("ROLLBACK");
    }
    conn.batch("SELECT pg_advisory_unlock(7461626)")?;
    result
}

/// A writer's connection to a new, migrated store in a schema of its own on the server
/// `ATTEST_TEST_DATABASE_URL` names (as `scripts/test` sets it); `None` without it.
#[cfg(test)]
pub(crate) fn test_write_connection() -> Option<PgConn> {
    let mut conn = tests::test_backend()?.write_connection().expect("connect");
    migrate(&mut conn).expect("migrate");
    Some(conn)
}

/// Runs `read` and counts the rows of `table` it went through: those of scans of the table, and
/// the entries of its indexes that index scans returned (counted until the session reports
/// them, so read before and after, in one transaction, rolled back).
#[cfg(test)]
pub(crate) fn rows_read<T>(
    conn: &mut PgConn,
    table: &str,
    read: impl FnOnce(&mut PgConn) -> T,
) -> (T, i64) {
    let sql = format!(
        "SELECT pg_stat_get_xact_tuples_returned('{table}'::regclass)
              + coalesce((SELECT sum(pg_stat_get_xact_tuples_returned(indexrelid))::bigint
                          FROM pg_index WHERE indrelid = '{table}'::regclass), 0)"
    );
    let counted = |conn: &mut PgConn| {
        conn.row(&sql, &[])
            .expect("count rows read")
            .expect("a row")
            .int(0)
            .expect("a count")
    };
    conn.batch("BEGIN").expect("begin");
    let before = counted(conn);
    let result = read(conn);
    let after = counted(conn);
    conn.batch("ROLLBACK").expect("rollback");
    (result, after - before)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::select_in;

    /// Run against `ATTEST_TEST_DATABASE_URL` (as `scripts/test` does); skipped without it (or
    /// empty, as the HTTP tests read it).
    pub(super) fn test_backend() -> Option<PgBackend> {
        let url = std::env::var("ATTEST_TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())?;
        Some(PgBackend {
            url,
            schema: Some(format!("t_{}", uuid::Uuid::new_v4().simple())),
        })
    }

    /// Runs `lookup` (which finds nothing) on `conn` ten times while the term table is as a new
    /// store's (a hundred rows, analysed), then once more after the table grew to 20,100 rows:
    /// gives the rows that last run read by scanning the table.
    fn rows_scanned_once_grown(
        conn: &mut PgConn,
        lookup: impl Fn(&mut PgConn) -> Result<Vec<Row>, StoreError>,
    ) -> i64 {
        migrate(conn).expect("migrate");
        conn.batch(
            "INSERT INTO terms (term) SELECT 'new ' || i FROM generate_series(1, 100) i; ANALYZE terms",
        )
        .expect("a new store's terms");
        for _ in 0..10 {
            lookup(conn).expect("look up");
        }
        conn.batch(
            "INSERT INTO terms (term) SELECT 'grown ' || i FROM generate_series(1, 20000) i",
        )
        .expect("grow");
        let (found, read) = rows_read(conn, "terms", |conn| lookup(conn).expect("look up"));
        assert!(found.is_empty());
        read
    }

    /// PostgreSQL plans a prepared statement once for all after a few runs, from the table's
    /// statistics then. Planned while the store is new (autovacuum analysed the term table at a
    /// hundred rows), a look-up would read the whole table on every later run, however large it
    /// grew, until the next ANALYZE: a fresh store taking 2,000 single POSTs a second fell to a
    /// few hundred. The writer's look-ups must stay on their indexes.
    #[test]
    fn writer_lookups_planned_on_a_new_store_use_their_indexes_once_it_grew() {
        let Some(backend) = test_backend() else {
            return;
        };
        let mut conn = backend.write_connection().expect("connect");
        let keys: Vec<String> = (0..16).map(|i| format!("term {i}")).collect();
        let args: Vec<Arg<'_>> = keys.iter().map(|k| Arg::Text(k)).collect();
        let read = rows_scanned_once_grown(&mut conn, |conn| {
            select_in(
                conn,
                "SELECT term, id FROM terms WHERE term IN {keys}",
                &args,
            )
        });
        assert_eq!(read, 0, "the writer's look-up read the whole term table");
    }

    /// The same for the queries' reads (here the term of a filter).
    #[test]
    fn reads_planned_on_a_new_store_use_their_indexes_once_it_grew() {
        let Some(backend) = test_backend() else {
            return;
        };
        let mut conn = backend.read_connection().expect("connect");
        let read = rows_scanned_once_grown(&mut conn, |conn| {
            conn.rows(
                "SELECT id FROM terms WHERE term = $1",
                &[Arg::Text("no such term")],
            )
        });
        assert_eq!(read, 0, "the query's look-up read the whole term table");
    }

    /// §2 of docs/compliance.md: a question's watermarks are read once the write another node
    /// is committing (it holds the writer lock and the ledger head) is done: that write may be
    /// stored before the question's time. Here a connection holds both as another node's writer
    /// would.
    #[test]
    fn a_compliance_question_waits_for_the_write_another_node_is_committing() {
        let Some(backend) = test_backend() else {
            return;
        };
        let url = backend.url.clone();
        let schema = backend.schema.clone();
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = runtime.block_on(PgStore::start_on(backend)).expect("start");
        let mut other = PgBackend { url, schema }
            .write_connection()
            .expect("connect");
        other.batch("BEGIN").expect("begin");
        other.batch(WRITER_LOCK.hold).expect("the writer lock");
        other
            .row("SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE", &[])
            .expect("hold the head");
        let asking = runtime.spawn({
            let store = store.clone();
            async move { crate::Store::compliance_watermarks(&store).await }
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!asking.is_finished(), "the question waits for the writer");
        other.batch("COMMIT").expect("commit");
        runtime.block_on(asking).expect("task").expect("watermarks");
    }

    /// Queries run together answer each in its place, after the statements held before them
    /// and in the order given (the second sees what the first's statement changed); a failing
    /// one is the call's error.
    #[test]
    fn queries_run_together_answer_each_in_order_after_the_held_statements() {
        let Some(mut conn) = test_write_connection() else {
            return;
        };
        conn.send("BEGIN", &[]).expect("send");
        conn.send("INSERT INTO terms (term) VALUES ($1)", &[Arg::Text("a")])
            .expect("send");
        let answers = conn
            .rows_together(&[
                ("SELECT count(*) FROM terms", &[]),
                (
                    "WITH added AS (INSERT INTO terms (term) VALUES ($1) RETURNING term) SELECT term FROM added",
                    &[Arg::Text("b")],
                ),
                ("SELECT term FROM terms ORDER BY term", &[]),
                ("SELECT 1 WHERE false", &[]),
            ])
            .expect("answers");
        let texts = |rows: &[Row]| -> Vec<String> {
            rows.iter().map(|r| r.text(0).expect("text")).collect()
        };
        assert_eq!(answers.len(), 4);
        assert_eq!(
            answers[0][0].int(0).expect("count"),
            1,
            "the held insert ran first"
        );
        assert_eq!(texts(&answers[1]), ["b"]);
        assert_eq!(texts(&answers[2]), ["a", "b"], "in the order given");
        assert!(answers[3].is_empty());
        let error = conn
            .rows_together(&[("SELECT count(*) FROM terms", &[]), ("SELECT 1 / 0", &[])])
            .expect_err("division by zero");
        assert!(error.to_string().contains("division by zero"), "{error}");
        conn.batch("ROLLBACK").expect("rollback");
    }

    /// Statements sent are held until a call waits, then run first and in order; the first
    /// one's error is that call's, even when the call is a COMMIT that PostgreSQL would answer
    /// (in the aborted transaction) with a rollback and no error.
    #[test]
    fn held_statements_run_in_order_before_the_call_that_waits_and_their_error_is_its() {
        let Some(mut conn) = test_write_connection() else {
            return;
        };
        let count = |conn: &mut PgConn| {
            conn.row("SELECT count(*) FROM terms", &[])
                .expect("count")
                .expect("a row")
                .int(0)
                .expect("a count")
        };
        conn.send("BEGIN", &[]).expect("send");
        conn.send("INSERT INTO terms (term) VALUES ($1)", &[Arg::Text("a")])
            .expect("send");
        conn.send(
            "UPDATE terms SET term = $1 WHERE term = $2",
            &[Arg::Text("b"), Arg::Text("a")],
        )
        .expect("send");
        let row = conn
            .row("SELECT term FROM terms", &[])
            .expect("the held statements ran")
            .expect("a row");
        assert_eq!(row.text(0).expect("text"), "b", "in the order sent");
        conn.batch("COMMIT").expect("commit");

        // A held statement fails: the call that waits gives its error.
        conn.send("BEGIN", &[]).expect("send");
        conn.send("INSERT INTO terms (term) VALUES ($1)", &[Arg::Text("c")])
            .expect("send");
        conn.send("INSERT INTO terms (term) VALUES ($1)", &[Arg::Text("b")])
            .expect("send (the duplicate is found when it runs)");
        let error = conn
            .row("SELECT count(*) FROM terms", &[])
            .expect_err("the duplicate's error");
        assert!(error.to_string().contains("duplicate key"), "{error}");
        conn.batch("ROLLBACK").expect("rollback");
        assert_eq!(count(&mut conn), 1, "nothing of the failed transaction");

        // The same with the commit as the call that waits: an error, and nothing committed.
        conn.send("BEGIN", &[]).expect("send");
        conn.send("INSERT INTO terms (term) VALUES ($1)", &[Arg::Text("d")])
            .expect("send");
        conn.send("INSERT INTO terms (term) VALUES ($1)", &[Arg::Text("b")])
            .expect("send");
        conn.batch("COMMIT")
            .expect_err("the commit fails with the duplicate");
        assert_eq!(count(&mut conn), 1, "nothing committed");

        // And `flush` waits for them alone.
        conn.send("INSERT INTO terms (term) VALUES ($1)", &[Arg::Text("b")])
            .expect("send");
        conn.flush().expect_err("the duplicate");
        conn.flush().expect("nothing held any more");
    }
}
