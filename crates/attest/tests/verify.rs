//! `attest verify` against a database tampered with directly in its SQLite file (regulated.md
//! A1: the system must discern altered records, and name what was altered).
use std::path::Path;
use std::process::Command;

use rusqlite::Connection;
use serde_json::json;
use store::{NewCredential, SqliteStore, Store};
use xapi::Version;

const BIN: &str = env!("CARGO_BIN_EXE_attest");

struct Fixture {
    dir: tempfile::TempDir,
    ids: Vec<String>,
}

/// A store with a credential, 20 statements (one voiding another) and a signed checkpoint,
/// written through the store's own write path.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let ids = runtime.block_on(async {
        let store = SqliteStore::open(dir.path()).expect("open");
        store
            .create_credential(
                "system".into(),
                NewCredential::full_access("lms".into(), store::hash_secret("pw").expect("hash"), "LMS".into()),
            )
            .await
            .expect("credential");
        let authority = json!({"objectType": "Agent", "account": {"homePage": "http://attest.test", "name": "lms"}});
        let mut ids = Vec::new();
        for batch in 0..4 {
            let statements: Vec<_> = (0..5)
                .map(|i| {
                    let s = json!({
                        "actor": {"mbox": format!("mailto:op{i}@plant.example")},
                        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
                        "object": {"id": format!("https://plant.example/sop/{batch}")},
                        "result": {"score": {"scaled": 0.9}}
                    });
                    xapi::statement::accept(s, Version::V1_0_3, &authority).expect("valid")
                })
                .collect();
            let stored = store.insert_statements("credential:lms".into(), statements, Vec::new()).await.expect("insert");
            ids.extend(stored.iter().map(|id| id.to_string()));
        }
        let void = json!({
            "actor": {"mbox": "mailto:qa@plant.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": ids[3]}
        });
        let void = xapi::statement::accept(void, Version::V1_0_3, &authority).expect("valid");
        ids.extend(
            store
                .insert_statements("credential:lms".into(), vec![void], Vec::new())
                .await
                .expect("void")
                .iter()
                .map(|id| id.to_string()),
        );
        let bookmark = store::DocumentWrite {
            key: store::DocumentKey {
                scope: store::DocumentScope {
                    kind: store::DocumentKind::State,
                    activity: "https://plant.example/sim".into(),
                    agent: "mbox:mailto:op1@plant.example".into(),
                    registration: None,
                },
                id: "bookmark".into(),
            },
            content_type: "text/plain".into(),
            content: b"page 12".to_vec(),
            merge: false,
            preconditions: store::Preconditions::default(),
        };
        store.write_document("credential:lms".into(), bookmark).await.expect("document");
        store.create_checkpoint().await.expect("checkpoint").expect("non-empty");
        ids
    });
    Fixture { dir, ids }
}

fn verify(dir: &Path) -> (bool, String) {
    let output = Command::new(BIN)
        .arg("verify")
        .arg("--data")
        .arg(dir)
        .output()
        .expect("run verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Opens the database as an intruder would: with the append-only triggers dropped.
fn tamper(dir: &Path, sql: &str) {
    let conn = Connection::open(dir.join("attest.db")).expect("open db");
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS ledger_append_only_update; DROP TRIGGER IF EXISTS ledger_append_only_delete;",
    )
    .expect("drop triggers");
    conn.execute_batch(sql).expect("tamper");
}

fn expect_problem(fixture: &Fixture, sql: &str, expected: &[&str]) {
    tamper(fixture.dir.path(), sql);
    let (ok, text) = verify(fixture.dir.path());
    assert!(!ok, "verify passed a tampered database: {text}");
    for part in expected {
        assert!(text.contains(part), "expected {part:?} in: {text}");
    }
}

#[test]
fn an_untouched_database_verifies_a1() {
    let f = fixture();
    let (ok, text) = verify(f.dir.path());
    assert!(ok, "{text}");
    // 1 credential + 21 statements + 1 void + 1 document = 24 entries.
    assert!(
        text.contains("intact: 24 ledger entries, 21 statements, 1 signed checkpoints"),
        "{text}"
    );
}

#[test]
fn names_a_statement_whose_json_was_edited_a1_a3() {
    let f = fixture();
    let id = &f.ids[7];
    let sql = format!(
        "UPDATE statements SET json = replace(json, '\"scaled\":0.9', '\"scaled\":1.0') WHERE id = '{id}';"
    );
    expect_problem(&f, &sql, &["statement", id, "modified"]);
}

#[test]
fn names_a_deleted_statement_a1() {
    let f = fixture();
    let id = &f.ids[12];
    expect_problem(
        &f,
        &format!("DELETE FROM statements WHERE id = '{id}';"),
        &[id, "missing"],
    );
}

#[test]
fn names_swapped_statement_rows_a1() {
    let f = fixture();
    let sql = "UPDATE statements SET seq = -1 WHERE seq = 5; UPDATE statements SET seq = 5 WHERE seq = 6; UPDATE statements SET seq = 6 WHERE seq = -1;";
    expect_problem(&f, sql, &["reordered"]);
}

#[test]
fn names_swapped_ledger_entries_a1() {
    let f = fixture();
    let sql = "UPDATE ledger SET seq = -1 WHERE seq = 9; UPDATE ledger SET seq = 9 WHERE seq = 10; UPDATE ledger SET seq = 10 WHERE seq = -1;";
    expect_problem(
        &f,
        sql,
        &["order changed", "position 9", "written as entry 10"],
    );
}

#[test]
fn names_an_edited_ledger_entry_a1() {
    let f = fixture();
    expect_problem(
        &f,
        "UPDATE ledger SET principal = 'credential:someone-else' WHERE seq = 4;",
        &["entry 4", "modified"],
    );
}

#[test]
fn names_a_deleted_ledger_entry_a1() {
    let f = fixture();
    expect_problem(
        &f,
        "DELETE FROM ledger WHERE seq = 6;",
        &["missing before entry 7"],
    );
}

#[test]
fn names_a_truncated_tail_a1() {
    let f = fixture();
    expect_problem(
        &f,
        "DELETE FROM ledger WHERE seq > 20;",
        &["truncated", "20 entries", "checkpoint 24"],
    );
}

#[test]
fn names_a_statement_written_around_the_ledger_a1() {
    let f = fixture();
    let sql = "INSERT INTO statements (id, stored_us, target, voiding, voided, json)
               SELECT '00000000-0000-4000-8000-000000000001', stored_us, NULL, 0, 0, json FROM statements WHERE seq = 1;";
    expect_problem(
        &f,
        sql,
        &["00000000-0000-4000-8000-000000000001", "no ledger entry"],
    );
}

#[test]
fn names_an_unvoided_statement_a3() {
    let f = fixture();
    let id = &f.ids[3];
    expect_problem(
        &f,
        &format!("UPDATE statements SET voided = 0 WHERE id = '{id}';"),
        &[id, "modified"],
    );
}

#[test]
fn names_a_forged_checkpoint_a1() {
    let f = fixture();
    expect_problem(
        &f,
        "UPDATE checkpoints SET root = zeroblob(32);",
        &["checkpoint 24", "not signed"],
    );
}

#[test]
fn names_a_changed_credential_b1() {
    let f = fixture();
    let hash = store::hash_secret("stolen").expect("hash");
    let sql = format!("UPDATE credentials SET secret_hash = '{hash}' WHERE key = 'lms';");
    expect_problem(&f, &sql, &["credential lms", "modified"]);
}

#[test]
fn the_ledger_refuses_updates_and_deletes_through_sql_a2() {
    let f = fixture();
    let conn = Connection::open(f.dir.path().join("attest.db")).expect("open");
    assert!(
        conn.execute("UPDATE ledger SET principal = 'x' WHERE seq = 1", [])
            .is_err()
    );
    assert!(
        conn.execute("DELETE FROM ledger WHERE seq = 1", [])
            .is_err()
    );
    let (ok, text) = verify(f.dir.path());
    assert!(ok, "{text}");
}

#[test]
fn every_write_has_exactly_one_entry_in_its_transaction_a2() {
    let f = fixture();
    let conn = Connection::open(f.dir.path().join("attest.db")).expect("open");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |row| row.get(0)).expect("count") };
    assert_eq!(
        count("SELECT count(*) FROM ledger WHERE action = 'statement.store'"),
        count("SELECT count(*) FROM statements")
    );
    assert_eq!(
        count("SELECT count(*) FROM ledger WHERE action = 'statement.void'"),
        1
    );
    assert_eq!(
        count("SELECT count(*) FROM ledger WHERE action = 'credential.create'"),
        1
    );
    let principal: String = conn
        .query_row(
            "SELECT principal FROM ledger WHERE action = 'statement.store' LIMIT 1",
            [],
            |row| row.get(0),
        )
        .expect("row");
    assert_eq!(principal, "credential:lms");
}

#[test]
fn names_a_deleted_credential_b1() {
    let f = fixture();
    expect_problem(
        &f,
        "DELETE FROM credentials WHERE key = 'lms';",
        &["credential lms is missing"],
    );
}

#[test]
fn names_an_edited_document_body_a2() {
    let f = fixture();
    expect_problem(
        &f,
        "UPDATE documents SET content = CAST('page 13' AS BLOB);",
        &["document", "bookmark", "modified"],
    );
}

#[test]
fn names_a_document_deleted_around_the_ledger_a2() {
    let f = fixture();
    expect_problem(
        &f,
        "DELETE FROM documents;",
        &["document", "bookmark", "missing"],
    );
}
