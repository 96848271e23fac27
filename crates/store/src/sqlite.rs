//! The embedded SQLite backend: one file in the data directory, WAL with `synchronous=FULL`,
//! a background checkpointer, and the signing key in a file beside the database.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ledger::SigningKey;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql, params_from_iter};

use crate::sql::{
    Arg, Backend, Cell, DeferredIndexes, Reconnect, Row, Sql, SqlStore, VerifyProgress,
    VerifyReport,
};
use crate::{StoreError, key_file};

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "attest.db";

/// The store on SQLite.
pub type SqliteStore = SqlStore<SqliteBackend>;

pub struct SqliteBackend {
    path: PathBuf,
    data_dir: PathBuf,
    /// Tells the checkpointer to stop when the store is dropped.
    closed: Arc<AtomicBool>,
}

impl Drop for SqliteBackend {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
    }
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
        configure(&conn)?;
        migrate(&mut conn)?;
        rebuild_deferred(&mut conn)?;
        let closed = Arc::new(AtomicBool::new(false));
        spawn_checkpointer(&path, closed.clone())?;
        SqlStore::start(SqliteBackend {
            path,
            data_dir: data_dir.to_path_buf(),
            closed,
        })
    }
}

/// Verifies the store in `data_dir` without opening it for writing (see `attest verify`).
pub fn verify(data_dir: &Path, progress: VerifyProgress<'_>) -> Result<VerifyReport, StoreError> {
    let path = data_dir.join(DATABASE_FILE);
    if !path.exists() {
        return Err(StoreError::Corrupt(format!(
            "no Attest database at {}",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    refuse_deferred(&conn)?;
    let mut conn = SqliteConn(conn);
    let key = key_file::load(data_dir)?.verifying_key();
    SqliteStore::verify_with(&mut conn, &key, progress)
}

impl Backend for SqliteBackend {
    type Conn = SqliteConn;

    fn write_connection(&self) -> Result<SqliteConn, StoreError> {
        writer_connection(&self.path)
    }

    fn read_connection(&self) -> Result<SqliteConn, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(256);
        Ok(SqliteConn(conn))
    }

    fn begin_write(&self) -> &'static str {
        "BEGIN IMMEDIATE"
    }

    fn lock_head(&self) -> &'static str {
        // BEGIN IMMEDIATE already holds the database's one write lock.
        ""
    }

    fn shared(&self) -> bool {
        false
    }

    fn local_reads(&self) -> bool {
        true
    }

    fn refuses_values(&self) -> bool {
        false
    }

    fn signing_key(&self, _: &mut SqliteConn) -> Result<SigningKey, StoreError> {
        key_file::load_or_create(&self.data_dir)
    }

    fn deferred_indexes(&self) -> Option<&'static DeferredIndexes> {
        Some(&DEFERRED_INDEXES)
    }

    fn reconnector(&self) -> Reconnect<SqliteConn> {
        let path = self.path.clone();
        Box::new(move || writer_connection(&path))
    }
}

/// The writer's connection, tuned for appending.
pub(crate) fn writer_connection(path: &Path) -> Result<SqliteConn, StoreError> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    // The writer touches the id index and the postings at random places: a page cache of
    // 64 MiB keeps their upper levels in memory (the default is 2 MiB).
    conn.pragma_update(None, "cache_size", -65_536)?;
    // Each request runs in a savepoint; its statement journal belongs in memory, not in a
    // temporary file written page by page.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Checkpoints copy the WAL into the database and fsync it. The checkpointer thread does
    // that in the background, on the other core; the writer still checkpoints when the WAL
    // passes 64 MiB, which is cheap then (most frames are copied already) and is what lets the
    // WAL start over instead of growing for as long as writes keep coming. (At 16 MiB, the
    // writer's own checkpoints were 16 % of an import's time.)
    conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;
    // Once checkpointed, the WAL shrinks back to this size rather than keeping its peak.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    Ok(SqliteConn(conn))
}

/// A SQLite connection speaking the engine's [`Sql`].
pub struct SqliteConn(Connection);

/// SQLite binds `$N` by order of first appearance, not by N; `?N` binds by N.
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Arg::Int(v) => ToSqlOutput::from(*v),
            Arg::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Arg::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Arg::Bool(b) => ToSqlOutput::from(i64::from(*b)),
            Arg::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

impl Sql for SqliteConn {
    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let mut statement = self.0.prepare_cached(&numbered(sql))?;
        Ok(statement.execute(params_from_iter(args.iter()))? as u64)
    }

    fn rows(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>, StoreError> {
        let mut statement = self.0.prepare_cached(&numbered(sql))?;
        let columns = statement.column_count();
        let mut rows = statement.query(params_from_iter(args.iter()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(columns);
            for i in 0..columns {
                cells.push(match row.get_ref(i)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Text(v.to_string()),
                    ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
                });
            }
            out.push(Row(cells));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        if sql.contains(';') {
            return Ok(self.0.execute_batch(sql)?);
        }
        // One statement (BEGIN, SAVEPOINT, RELEASE, COMMIT, …), run for every request or group:
        // prepared once, not parsed on each use.
        let mut statement = self.0.prepare_cached(sql)?;
        let mut rows = statement.query([])?;
        while rows.next()?.is_some() {}
        Ok(())
    }
}

/// Settings of every connection: WAL so readers never block the writer, `synchronous=FULL` so a
/// commit is on disk before a 2xx, and a busy timeout for the rare checkpoint contention.
fn configure(conn: &Connection) -> Result<(), StoreError> {
    // Room for every statement the writer and the queries use (rusqlite keeps 16 by default;
    // past that, statements are prepared again on each use).
    conn.set_prepared_statement_cache_capacity(256);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

/// How often the checkpointer looks at the WAL.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// How soon it looks again after a checkpoint that found frames to copy.
const CHECKPOINT_BUSY: std::time::Duration = std::time::Duration::from_millis(50);

/// Runs passive checkpoints (they never block the writer or readers) until the store closes.
fn spawn_checkpointer(path: &Path, closed: Arc<AtomicBool>) -> Result<(), StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    std::thread::Builder::new()
        .name("attest-checkpoint".into())
        .spawn(move || {
            let (mut pause, mut copied) = (CHECKPOINT_EVERY, 0);
            while !closed.load(Ordering::Relaxed) {
                std::thread::sleep(pause);
                // (busy, frames in the WAL, frames checkpointed): while it finds work (a
                // steady stream of writes), it comes back soon, so the writer seldom has to.
                match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                    Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
                }) {
                    Ok((frames, done)) if frames > 0 && (done != copied || done < frames) => {
                        copied = done;
                        pause = CHECKPOINT_BUSY;
                    }
                    Ok((_, done)) => {
                        copied = done;
                        pause = CHECKPOINT_EVERY;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "WAL checkpoint failed; will retry");
                        pause = CHECKPOINT_EVERY;
                    }
                }
            }
        })
        .map_err(|e| StoreError::Corrupt(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(())
}

/// Each entry is one migration. Never edit a released one: add another.
const MIGRATIONS: &[&str] = &[
    r#"
-- Statements in stored order. `seq` is the keyset for `more` cursors and stored order; `stored_us`
-- never decreases as `seq` grows, so since/until become seq ranges.
CREATE TABLE statements (
    seq       INTEGER PRIMARY KEY,
    id        TEXT    NOT NULL UNIQUE,   -- lowercase hyphenated UUID
    stored_us INTEGER NOT NULL,          -- microseconds since the epoch
    target    TEXT,                      -- the id a StatementRef object points at
    voiding   INTEGER NOT NULL,          -- 1 when this statement voids its target
    voided    INTEGER NOT NULL DEFAULT 0,-- 1 once a voiding statement targets this one
    json      TEXT    NOT NULL           -- the statement as stored
);
CREATE INDEX statements_stored ON statements (stored_us);
CREATE INDEX statements_target ON statements (target) WHERE target IS NOT NULL;

-- Index terms (xapi::index) and their postings: a query intersects the postings of its terms.
CREATE TABLE terms (
    id   INTEGER PRIMARY KEY,
    term TEXT NOT NULL UNIQUE
);
CREATE TABLE postings (
    term INTEGER NOT NULL,
    seq  INTEGER NOT NULL,
    PRIMARY KEY (term, seq)
) WITHOUT ROWID;

-- Attachment bytes, stored once by the sha2 statements give for them (Data 2.4.11).
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    sha2         TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    content      BLOB NOT NULL
);

-- The canonical definition of each Activity (Data 2.4.4.1).
CREATE TABLE activities (
    iri        TEXT PRIMARY KEY,
    definition TEXT NOT NULL
) WITHOUT ROWID;

-- State, Activity Profile and Agent Profile documents (Communication 2.2-2.7). Empty strings
-- stand for "not part of this kind's key" (e.g. no registration), so the key is one UNIQUE index.
CREATE TABLE documents (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,   -- state | activity_profile | agent_profile
    activity     TEXT    NOT NULL,
    agent        TEXT    NOT NULL,   -- the agent's IFI key (xapi::agent::Ifi::key)
    registration TEXT    NOT NULL,
    doc_id       TEXT    NOT NULL,   -- stateId / profileId
    content_type TEXT    NOT NULL,
    content      BLOB    NOT NULL,
    etag         TEXT    NOT NULL,
    updated_us   INTEGER NOT NULL,
    UNIQUE (kind, activity, agent, registration, doc_id)
);

-- The tamper-evident ledger (crates/ledger, docs/ledger.md): one entry per write, in the same
-- transaction as the write. Append-only: the triggers refuse changes through SQL; changes made
-- around SQLite are what `attest verify` finds.
CREATE TABLE ledger (
    seq              INTEGER PRIMARY KEY,
    time             TEXT NOT NULL,
    principal        TEXT NOT NULL,
    action           TEXT NOT NULL,
    kind             TEXT NOT NULL,
    resource         TEXT NOT NULL,
    content          BLOB NOT NULL,
    previous_content BLOB,
    prev             BLOB NOT NULL,
    hash             BLOB NOT NULL
);
CREATE INDEX ledger_record ON ledger (kind, resource);
CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;

-- Where the ledger and the statement sequence end; every write transaction reads it first and
-- writes it last (see sql/writer.rs).
CREATE TABLE ledger_head (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    seq           INTEGER NOT NULL,
    hash          BLOB    NOT NULL,
    frontier      BLOB    NOT NULL,
    stored_us     INTEGER NOT NULL,
    statement_seq INTEGER NOT NULL
);

-- Signed checkpoints over the ledger.
CREATE TABLE checkpoints (
    size      INTEGER PRIMARY KEY,
    root      BLOB NOT NULL,
    head      BLOB NOT NULL,
    time      TEXT NOT NULL,
    signature BLOB NOT NULL
);

CREATE TABLE credentials (
    id          INTEGER PRIMARY KEY,
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
    id          INTEGER PRIMARY KEY,
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
    id             INTEGER PRIMARY KEY,
    person         TEXT NOT NULL,
    body           TEXT NOT NULL,
    derived_at     TEXT NOT NULL,
    invalidated_at TEXT
);
CREATE INDEX compliance_completions_person ON compliance_completions (person, id);

-- Qualification decisions asked for by a gate (an MES before a batch step, regulated.md F5):
-- the question, the answer given and the evidence it rested on, as they were.
CREATE TABLE compliance_decisions (
    id          INTEGER PRIMARY KEY,
    person      TEXT NOT NULL,
    body        TEXT NOT NULL,
    principal   TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX compliance_decisions_person ON compliance_decisions (person, id);
"#,
    r#"
-- The statement id's uniqueness as an index of its own, which (unlike the index of a UNIQUE
-- constraint) can be dropped: a bulk import into an empty store builds it once at its end
-- (DEFERRED_INDEXES). The table is rebuilt to lose the constraint; nothing else changes.
CREATE TABLE statements_v3 (
    seq       INTEGER PRIMARY KEY,
    id        TEXT    NOT NULL,          -- lowercase hyphenated UUID, unique (statements_id)
    stored_us INTEGER NOT NULL,          -- microseconds since the epoch
    target    TEXT,                      -- the id a StatementRef object points at
    voiding   INTEGER NOT NULL,          -- 1 when this statement voids its target
    voided    INTEGER NOT NULL DEFAULT 0,-- 1 once a voiding statement targets this one
    json      TEXT    NOT NULL           -- the statement as stored
);
INSERT INTO statements_v3 (seq, id, stored_us, target, voiding, voided, json)
    SELECT seq, id, stored_us, target, voiding, voided, json FROM statements ORDER BY seq;
DROP TABLE statements;
ALTER TABLE statements_v3 RENAME TO statements;
CREATE UNIQUE INDEX statements_id ON statements (id);
CREATE INDEX statements_stored ON statements (stored_us);
CREATE INDEX statements_target ON statements (target) WHERE target IS NOT NULL;
"#,
    r#"
-- The canonical display of each Verb (Data 2.4.3), merged from the displays of the statements
-- stored from this version on, language by language.
CREATE TABLE verbs (
    iri     TEXT PRIMARY KEY,
    display TEXT NOT NULL
) WITHOUT ROWID;
"#,
];

/// What a bulk import into an empty store defers: the two indexes with random keys that every
/// statement would otherwise touch at a random page (the statement id, the ledger's
/// `(kind, resource)`), and the postings, gathered unsorted in `postings_load` instead of the
/// `(term, seq)` B-tree. [`REBUILD_DEFERRED`] builds them once, from sorted runs.
const DEFER_INDEXES: &str = "DROP INDEX IF EXISTS statements_id;
DROP INDEX IF EXISTS ledger_record;
CREATE TABLE IF NOT EXISTS postings_load (term INTEGER NOT NULL, seq INTEGER NOT NULL);";

/// Builds what [`DEFER_INDEXES`] deferred; does nothing when nothing is deferred. Run at the end
/// of a bulk import, and when a store is opened (an import that was killed leaves its indexes
/// deferred; its committed batches are whole, with their ledger entries).
/// The sorts spill to temporary files, not to memory (`temp_store` MEMORY, the setting of the
/// writer's connection, would hold about 450 MB per million statements while the postings are
/// sorted); the setting is put back at the end.
const REBUILD_DEFERRED: &str = "PRAGMA temp_store = FILE;
CREATE UNIQUE INDEX IF NOT EXISTS statements_id ON statements (id);
CREATE INDEX IF NOT EXISTS ledger_record ON ledger (kind, resource);
CREATE TABLE IF NOT EXISTS postings_load (term INTEGER NOT NULL, seq INTEGER NOT NULL);
INSERT OR IGNORE INTO postings (term, seq) SELECT term, seq FROM postings_load ORDER BY term, seq;
DROP TABLE postings_load;
PRAGMA temp_store = MEMORY;";

/// One row when the indexes are deferred as [`DEFER_INDEXES`] left them.
const INDEXES_DEFERRED: &str = "SELECT 1 FROM sqlite_master
 WHERE type = 'table' AND name = 'postings_load'
   AND NOT EXISTS (SELECT 1 FROM sqlite_master WHERE name IN ('statements_id', 'ledger_record'))";

/// Something of [`DEFER_INDEXES`] is in place (a table to drain or an index to build).
const ANY_DEFERRED: &str =
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'postings_load'
 UNION ALL SELECT 1 WHERE (SELECT count(*) FROM sqlite_master
   WHERE type = 'index' AND name IN ('statements_id', 'ledger_record')) < 2";

pub(crate) static DEFERRED_INDEXES: DeferredIndexes = DeferredIndexes {
    defer: DEFER_INDEXES,
    rebuild: REBUILD_DEFERRED,
    deferred: INDEXES_DEFERRED,
    staged_postings: "postings_load",
    // One writer per store file: nothing to claim.
    claim: None,
    release: None,
};

/// Builds indexes a killed bulk import left deferred, so no store runs without them.
fn rebuild_deferred(conn: &mut Connection) -> Result<(), StoreError> {
    let pending = conn.prepare(ANY_DEFERRED)?.exists([])?;
    if pending {
        tracing::warn!("an import into this store did not finish; building its deferred indexes");
        let tx = conn.transaction()?;
        tx.execute_batch(REBUILD_DEFERRED)?;
        tx.commit()?;
    }
    Ok(())
}

/// Refuses to verify a store whose indexes an interrupted import left deferred (its statements
/// are there, but looking each up without the id index would take hours).
fn refuse_deferred(conn: &Connection) -> Result<(), StoreError> {
    if conn.prepare(ANY_DEFERRED)?.exists([])? {
        return Err(StoreError::Corrupt(
            "an import into this store did not finish and its indexes are not built yet; open the store once (`attest serve`, `attest import`) to build them, then verify".into(),
        ));
    }
    Ok(())
}

/// Applies the migrations the database has not seen yet, in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "the database is at schema version {applied}, newer than this Attest ({}); upgrade Attest",
            MIGRATIONS.len()
        )));
    }
    let tx = conn.transaction()?;
    for sql in &MIGRATIONS[applied..] {
        tx.execute_batch(sql)?;
    }
    if applied == 0 {
        tx.execute(
            "INSERT INTO ledger_head (id, seq, hash, frontier, stored_us, statement_seq) VALUES (1, 0, ?1, ?2, 0, 0)",
            rusqlite::params![&ledger::GENESIS[..], crate::sql::genesis_frontier()],
        )?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_names(conn: &Connection) -> Vec<String> {
        let mut statement = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'statements' ORDER BY name")
            .expect("prepare");
        statement
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn migration_3_keeps_the_statements_and_their_id_stays_unique() {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = Connection::open(dir.path().join(DATABASE_FILE)).expect("open");
        // A store as the previous release left it.
        for sql in &MIGRATIONS[..2] {
            conn.execute_batch(sql).expect("old schema");
        }
        conn.pragma_update(None, "user_version", 2)
            .expect("version");
        conn.execute_batch(
            "INSERT INTO statements (seq, id, stored_us, target, voiding, voided, json) VALUES
               (1, 'a', 10, NULL, 0, 1, '{\"n\":1}'),
               (2, 'b', 11, 'a', 1, 0, '{\"n\":2}');",
        )
        .expect("rows");
        assert_eq!(
            index_names(&conn),
            [
                "sqlite_autoindex_statements_1",
                "statements_stored",
                "statements_target"
            ]
        );

        migrate(&mut conn).expect("migrate");
        assert_eq!(
            index_names(&conn),
            ["statements_id", "statements_stored", "statements_target"]
        );
        /// seq, id, stored_us, target, voiding, voided, json.
        type StatementRow = (i64, String, i64, Option<String>, bool, bool, String);
        let rows: Vec<StatementRow> = conn
            .prepare("SELECT seq, id, stored_us, target, voiding, voided, json FROM statements ORDER BY seq")
            .expect("prepare")
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
            })
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(
            rows,
            [
                (1, "a".into(), 10, None, false, true, r#"{"n":1}"#.into()),
                (
                    2,
                    "b".into(),
                    11,
                    Some("a".into()),
                    true,
                    false,
                    r#"{"n":2}"#.into()
                ),
            ]
        );
        let again = conn.execute(
            "INSERT INTO statements (seq, id, stored_us, voiding, json) VALUES (3, 'a', 12, 0, '{}')",
            [],
        );
        assert!(again.is_err(), "a second row with id 'a' is refused");
    }
}
