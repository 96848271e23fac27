//! `attest compliance rederive`: completions derived from scratch and diffed against the stored
//! ones (regulated.md 2.1: derived tables are re-derivable; an OQ test re-derives and diffs), and
//! stored completions under `attest verify`.
use std::path::Path;
use std::process::Command;

use serde_json::json;
use store::{SqliteStore, Store};
use xapi::Version;

const BIN: &str = env!("CARGO_BIN_EXE_attest");

fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(dir)
        .output()
        .expect("run attest");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn statement(verb: &str, version: &str, timestamp: &str) -> xapi::statement::Accepted {
    let authority = json!({"objectType": "Agent", "account": {"homePage": "http://attest.test", "name": "lms"}});
    let s = json!({
        "actor": {"account": {"homePage": "https://hr.example", "name": "E1"}},
        "verb": {"id": format!("http://adlnet.gov/expapi/verbs/{verb}")},
        "object": {"id": format!("https://qms.example/doc/SOP-123/v{version}")},
        "timestamp": timestamp
    });
    xapi::statement::accept(s, Version::V2_0_0, &authority).expect("valid")
}

#[test]
fn rederive_finds_what_was_not_derived_stores_it_and_verify_covers_it() {
    let dir = tempfile::tempdir().expect("dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // Facts and statements written straight into the store: no server derived anything.
    let ids = runtime.block_on(async {
        let store = SqliteStore::open(dir.path()).expect("open");
        let facts = [
            json!({"kind": "person_identifier", "person": "ann", "agent": {"account": {"homePage": "https://hr.example", "name": "E1"}}}),
            json!({"kind": "rule", "id": "read", "version": 1, "move_on": "COMPLETED", "effective_from": "2020-01-01T00:00:00Z"}),
            json!({"kind": "procedure_version", "procedure": "SOP-123", "version": "7", "activity_iri": "https://qms.example/doc/SOP-123/v7", "effective_from": "2026-01-01T00:00:00Z", "impact": "FULL", "rule": "read"}),
        ];
        store
            .record_facts(
                "credential:qa".into(),
                facts.iter().map(|f| (f["kind"].as_str().unwrap_or_default().to_string(), f.to_string())).collect(),
                "initial load".into(),
                None,
            )
            .await
            .expect("facts");
        let stored = store
            .insert_statements(
                "credential:lms".into(),
                vec![
                    statement("failed", "7", "2026-01-05T09:00:00Z"),
                    statement("completed", "7", "2026-01-06T09:00:00Z"),
                    statement("completed", "7", "2026-02-06T09:00:00Z"),
                ],
                Vec::new(),
            )
            .await
            .expect("insert");
        stored.iter().map(|id| id.to_string()).collect::<Vec<_>>()
    });

    let (ok, out, err) = run(dir.path(), &["compliance", "rederive"]);
    assert!(!ok, "stored completions are missing: {out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("+ ")).count(),
        2,
        "{out}"
    );
    assert!(
        out.contains(&ids[1]) && out.contains(&ids[2]) && !out.contains(&ids[0]),
        "the failed attempt is no completion: {out}"
    );
    let (ok, _, err) = run(dir.path(), &["compliance", "rederive", "--apply"]);
    assert!(!ok);
    assert!(err.contains("stored 2 new completions"), "{err}");
    let (ok, out, err) = run(dir.path(), &["compliance", "rederive"]);
    assert!(ok, "derived and stored agree now: {out}{err}");

    // A void invalidates the completion it rested on; the stored row stays, marked.
    runtime.block_on(async {
        let store = SqliteStore::open(dir.path()).expect("open");
        let authority = json!({"objectType": "Agent", "account": {"homePage": "http://attest.test", "name": "qa"}});
        let void = json!({
            "actor": {"mbox": "mailto:qa@plant.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": ids[2]}
        });
        let void = xapi::statement::accept(void, Version::V2_0_0, &authority).expect("valid");
        store.insert_statements("credential:qa".into(), vec![void], Vec::new()).await.expect("void");
    });
    let (ok, out, _) = run(dir.path(), &["compliance", "rederive", "--apply"]);
    assert!(!ok);
    let removed: Vec<&str> = out.lines().filter(|l| l.starts_with("- ")).collect();
    assert_eq!(removed.len(), 1, "{out}");
    assert!(removed[0].contains(&ids[2]));
    let (ok, _, _) = run(dir.path(), &["compliance", "rederive"]);
    assert!(ok);
    let (ok, out, err) = run(dir.path(), &["verify"]);
    assert!(
        ok,
        "completions and their invalidation are ledgered: {out}{err}"
    );

    // Editing a stored completion is caught by verify, and named.
    let conn = rusqlite::Connection::open(dir.path().join("attest.db")).expect("db");
    conn.execute(
        "UPDATE compliance_completions SET body = replace(body, '2026-01-06', '2025-01-06') WHERE id = 1",
        [],
    )
    .expect("tamper");
    let (ok, out, err) = run(dir.path(), &["verify"]);
    assert!(!ok, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("compliance_completion"),
        "{out}{err}"
    );
}
