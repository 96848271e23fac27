//! The raw SQLite reference of issue 8: the same generated statements inserted straight into a
//! fresh SQLite file, as plain rows, with the pragmas of Attest's store. It is what SQLite itself
//! sustains on this machine, the yardstick for Attest's batched ingest.
//!
//! What it writes, per statement: one `statements` row (seq, id, stored_us, target, voiding,
//! voided, json: the statement as Attest stores it, authority, version and stored included) and
//! one `postings` row per index term (`xapi::index::terms`, the terms Attest indexes), with a
//! `terms` row for each new term; the tables and indexes are those of Attest's SQLite schema.
//! What it leaves out (Attest does it): validation and parsing, the ledger entry and its hash,
//! the duplicate check, Activity definitions, HTTP.
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use rusqlite::{Connection, params};
use serde_json::json;
use xapi::Version;

use crate::dataset::Dataset;

/// The statements, terms and postings tables as in Attest's first SQLite migration
/// (crates/store/src/sqlite.rs).
const SCHEMA: &str = "
CREATE TABLE statements (
    seq       INTEGER PRIMARY KEY,
    id        TEXT    NOT NULL UNIQUE,
    stored_us INTEGER NOT NULL,
    target    TEXT,
    voiding   INTEGER NOT NULL,
    voided    INTEGER NOT NULL DEFAULT 0,
    json      TEXT    NOT NULL
);
CREATE INDEX statements_stored ON statements (stored_us);
CREATE INDEX statements_target ON statements (target) WHERE target IS NOT NULL;
CREATE TABLE terms (
    id   INTEGER PRIMARY KEY,
    term TEXT NOT NULL UNIQUE
);
CREATE TABLE postings (
    term INTEGER NOT NULL,
    seq  INTEGER NOT NULL,
    PRIMARY KEY (term, seq)
) WITHOUT ROWID;
";

/// `stored` of every statement (the reference does not look at the clock).
const STORED: &str = "2026-01-01T00:00:00.000Z";
const STORED_US: i64 = 1_767_225_600_000_000;

/// Statements `offset..offset + count` into a new database at `path`, `batch` per transaction.
pub fn run(
    data: &Dataset,
    path: &Path,
    count: usize,
    batch: usize,
    offset: usize,
) -> anyhow::Result<()> {
    if batch == 0 {
        bail!("batch must be at least 1");
    }
    if path.exists() {
        bail!("{} exists: the reference needs a new file", path.display());
    }
    // The rows are made before the clock starts: only SQLite is timed.
    let authority = json!({
        "objectType": "Agent",
        "name": "bench",
        "account": {"homePage": "http://localhost", "name": "bench"}
    });
    let mut rows = Vec::with_capacity(count);
    for n in offset..offset + count {
        let accepted = xapi::statement::accept(data.statement(n), Version::V1_0_3, &authority)
            .map_err(|e| anyhow::anyhow!("statement {n}: {e}"))?;
        let mut statement = accepted.statement;
        statement["stored"] = json!(STORED);
        rows.push((
            accepted.id.to_string(),
            serde_json::to_string(&statement)?,
            accepted.terms,
        ));
    }

    let mut conn = Connection::open(path).with_context(|| format!("open {}", path.display()))?;
    // The pragmas of Attest's write connection.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.execute_batch(SCHEMA)?;
    let mut term_ids: HashMap<String, i64> = HashMap::new();
    let mut seq = 0i64;
    let mut postings = 0usize;
    let started = Instant::now();
    for chunk in rows.chunks(batch) {
        let tx = conn.transaction()?;
        {
            let mut insert_statement = tx.prepare_cached(
                "INSERT INTO statements (seq, id, stored_us, target, voiding, voided, json)
                 VALUES (?1, ?2, ?3, NULL, 0, 0, ?4)",
            )?;
            let mut insert_term = tx.prepare_cached("INSERT INTO terms (term) VALUES (?1)")?;
            let mut insert_posting =
                tx.prepare_cached("INSERT INTO postings (term, seq) VALUES (?1, ?2)")?;
            for (id, json, terms) in chunk {
                seq += 1;
                insert_statement.execute(params![seq, id, STORED_US, json])?;
                for term in terms {
                    let term_id = match term_ids.get(term) {
                        Some(&term_id) => term_id,
                        None => {
                            insert_term.execute([term])?;
                            let term_id = tx.last_insert_rowid();
                            term_ids.insert(term.clone(), term_id);
                            term_id
                        }
                    };
                    insert_posting.execute(params![term_id, seq])?;
                    postings += 1;
                }
            }
        }
        tx.commit()?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "raw-sqlite: {count} statements ({postings} postings, {} terms), batch {batch} per transaction: {elapsed:.2} s, {:.0} statements/s",
        term_ids.len(),
        count as f64 / elapsed
    );
    Ok(())
}
