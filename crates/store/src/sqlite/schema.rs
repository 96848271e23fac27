//! The SQLite schema, applied in order on open; `PRAGMA user_version` records how far.
use rusqlite::Connection;

use crate::StoreError;

/// Each entry is one migration. Never edit a released one: add another.
const MIGRATIONS: &[&str] = &[r#"
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
    sha2         TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    content      BLOB NOT NULL
);

-- The canonical definition of each Activity (Data 2.4.4.1).
CREATE TABLE activities (
    iri        TEXT PRIMARY KEY,
    definition TEXT NOT NULL
) WITHOUT ROWID;

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

-- Signed checkpoints over the ledger.
CREATE TABLE checkpoints (
    size      INTEGER PRIMARY KEY,
    root      BLOB NOT NULL,
    head      BLOB NOT NULL,
    time      TEXT NOT NULL,
    signature BLOB NOT NULL
);

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

CREATE TABLE credentials (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    name        TEXT NOT NULL,
    created     TEXT NOT NULL,
    revoked     TEXT
);
"#];

/// Applies the migrations the database has not seen yet, in one transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
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
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()?;
    Ok(())
}

/// Settings of every connection: WAL so readers never block the writer, `synchronous=FULL` so a
/// commit is on disk before a 2xx, and a busy timeout for the rare checkpoint contention.
pub(crate) fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}
