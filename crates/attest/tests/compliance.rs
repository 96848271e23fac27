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

/// `attest serve` on a random port with a bootstrap credential; returns the process and base URL.
fn serve(dir: &Path) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .envs([
            ("ATTEST_BOOTSTRAP_KEY", "qa"),
            ("ATTEST_BOOTSTRAP_SECRET", "pw"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn attest");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = loop {
        let line = lines.next().expect("attest exited").expect("read");
        if let Some(rest) = line.split("xAPI base URL ").nth(1) {
            break rest.split("/xapi").next().expect("url").to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

/// The server keeps its compliance engine in memory and brings it up to date write by write; the
/// completions it stores that way must be exactly those a derivation from scratch gives.
#[test]
fn completions_stored_by_the_server_agree_with_a_derivation_from_scratch() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut child, base) = serve(dir.path());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let post = |path: &str, body: serde_json::Value| {
            client
                .post(format!("{base}{path}"))
                .basic_auth("qa", Some("pw"))
                .header("X-Experience-API-Version", "2.0.0")
                .json(&body)
                .send()
        };
        let statement = |who: &str, verb: &str, iri: &str, day: u32| {
            json!({
                "actor": {"account": {"homePage": "https://hr.example", "name": who}},
                "verb": {"id": format!("http://adlnet.gov/expapi/verbs/{verb}")},
                "object": {"id": iri},
                "result": {"score": {"scaled": 0.85}},
                "timestamp": format!("2026-02-{day:02}T09:00:00Z")
            })
        };
        let v = |n: u32| format!("https://qms.example/doc/SOP-9/v{n}");
        // Statements before the facts that make them evidence, facts in between, a void, a rule
        // correction: every path of the cache (build, new facts, new statements, voids).
        let ids: Vec<String> = post(
            "/xapi/statements",
            json!([statement("E1", "completed", &v(1), 1), statement("E2", "passed", &v(1), 2)]),
        )
        .await
        .expect("send")
        .json()
        .await
        .expect("ids");
        let facts = json!({"reason": "load", "facts": [
            {"kind": "person_identifier", "person": "ann", "agent": {"account": {"homePage": "https://hr.example", "name": "E1"}}},
            {"kind": "rule", "id": "r", "version": 1, "move_on": "COMPLETED_OR_PASSED", "mastery": 0.8, "effective_from": "2020-01-01T00:00:00Z"},
            {"kind": "procedure_version", "procedure": "SOP-9", "version": "1", "activity_iri": v(1), "effective_from": "2026-01-01T00:00:00Z", "impact": "FULL", "rule": "r"}
        ]});
        assert_eq!(post("/api/compliance/facts", facts).await.expect("send").status(), 201);
        post("/xapi/statements", json!([statement("E1", "passed", &v(1), 3), statement("E2", "completed", &v(2), 4)]))
            .await
            .expect("send");
        // Let the server derive Ann's two completions before the corrections.
        for _ in 0..100 {
            let list: serde_json::Value = client
                .get(format!("{base}/api/compliance/completions?person=ann"))
                .basic_auth("qa", Some("pw"))
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            if list["completions"].as_array().map_or(0, Vec::len) == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let later = json!({"reason": "load", "facts": [
            {"kind": "person_identifier", "person": "bob", "agent": {"account": {"homePage": "https://hr.example", "name": "E2"}}},
            {"kind": "procedure_version", "procedure": "SOP-9", "version": "2", "activity_iri": v(2), "effective_from": "2026-03-01T00:00:00Z", "impact": "FULL", "rule": "r"},
            {"kind": "rule", "id": "r", "version": 1, "move_on": "COMPLETED_OR_PASSED", "mastery": 0.9, "effective_from": "2020-01-01T00:00:00Z"}
        ]});
        assert_eq!(post("/api/compliance/facts", later).await.expect("send").status(), 201);
        post(
            "/xapi/statements",
            json!({"actor": {"mbox": "mailto:qa@plant.example"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                   "object": {"objectType": "StatementRef", "id": ids[0]}}),
        )
        .await
        .expect("send");
        let decision = post(
            "/api/compliance/decisions",
            json!({"person": "ann", "procedure": "SOP-9", "context": {"batch": "B-1"}}),
        )
        .await
        .expect("send");
        assert_eq!(decision.status(), 201);
        // Wait until the background derivation has caught up with the last write.
        let mut stable = 0;
        let mut last = String::new();
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let now = client
                .get(format!("{base}/api/compliance/completions"))
                .basic_auth("qa", Some("pw"))
                .send()
                .await
                .expect("send")
                .text()
                .await
                .expect("body");
            stable = if now == last { stable + 1 } else { 0 };
            last = now;
            if stable >= 5 {
                break;
            }
        }
        // Ann's two completions (the voided one, the pass judged again under the corrected
        // mastery 0.9) were stored and invalidated; Bob's v2 completion stands.
        let list: serde_json::Value = serde_json::from_str(&last).expect("json");
        let invalidated = list["completions"]
            .as_array()
            .expect("list")
            .iter()
            .filter(|c| !c["invalidatedAt"].is_null())
            .count();
        assert_eq!(invalidated, 2, "{last}");
    });
    let _ = child.kill();
    let _ = child.wait();
    let (ok, out, err) = run(dir.path(), &["compliance", "rederive"]);
    assert!(ok, "the cached engine and a fresh one disagree: {out}{err}");
    assert!(err.contains("1 completions derived"), "{err}");
    let (ok, out, err) = run(dir.path(), &["verify"]);
    assert!(ok, "{out}{err}");
    // A recorded gate decision edited afterwards is caught and named.
    let conn = rusqlite::Connection::open(dir.path().join("attest.db")).expect("db");
    conn.execute(
        "UPDATE compliance_decisions SET body = replace(body, 'NOT_QUALIFIED', 'QUALIFIED')",
        [],
    )
    .expect("tamper");
    let (ok, out, err) = run(dir.path(), &["verify"]);
    assert!(!ok, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("compliance_decision"),
        "{out}{err}"
    );
}

/// regulated.md S5: someone with database access raises a failed attempt's score from 0.6 to 0.9.
/// `attest verify` names the statement, and `rederive` shows the completion the edit would
/// fabricate (never derived, so never stored).
#[test]
fn s5_a_score_edited_in_the_database_is_named_by_verify_and_rederive() {
    let dir = tempfile::tempdir().expect("dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let id = runtime.block_on(async {
        let store = SqliteStore::open(dir.path()).expect("open");
        let facts = [
            json!({"kind": "person_identifier", "person": "ann", "agent": {"account": {"homePage": "https://hr.example", "name": "E1"}}}),
            json!({"kind": "rule", "id": "quiz", "version": 1, "move_on": "PASSED", "mastery": 0.8, "effective_from": "2020-01-01T00:00:00Z"}),
            json!({"kind": "procedure_version", "procedure": "SOP-123", "version": "7", "activity_iri": "https://qms.example/doc/SOP-123/v7", "effective_from": "2026-01-01T00:00:00Z", "impact": "FULL", "rule": "quiz"}),
        ];
        store
            .record_facts(
                "credential:qa".into(),
                facts
                    .iter()
                    .map(|f| (f["kind"].as_str().unwrap_or_default().to_string(), f.to_string()))
                    .collect(),
                "initial load".into(),
                None,
            )
            .await
            .expect("facts");
        let authority = json!({"objectType": "Agent", "account": {"homePage": "http://attest.test", "name": "lms"}});
        let attempt = json!({
            "actor": {"account": {"homePage": "https://hr.example", "name": "E1"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
            "object": {"id": "https://qms.example/doc/SOP-123/v7"},
            "result": {"score": {"scaled": 0.6}},
            "timestamp": "2026-02-01T09:00:00Z"
        });
        let attempt = xapi::statement::accept(attempt, Version::V2_0_0, &authority).expect("valid");
        store
            .insert_statements("credential:lms".into(), vec![attempt], Vec::new())
            .await
            .expect("insert")[0]
            .to_string()
    });
    let (ok, out, err) = run(dir.path(), &["compliance", "rederive"]);
    assert!(ok, "a 0.6 under mastery 0.8 is no completion: {out}{err}");
    assert!(run(dir.path(), &["verify"]).0);

    let conn = rusqlite::Connection::open(dir.path().join("attest.db")).expect("db");
    let changed = conn
        .execute(
            "UPDATE statements SET json = replace(json, '\"scaled\":0.6', '\"scaled\":0.9') WHERE id = ?1",
            [&id],
        )
        .expect("tamper");
    assert_eq!(changed, 1);
    let (ok, out, err) = run(dir.path(), &["verify"]);
    assert!(!ok, "{out}{err}");
    assert!(
        format!("{out}{err}").contains(&id),
        "verify names the statement: {out}{err}"
    );
    let (ok, out, _) = run(dir.path(), &["compliance", "rederive"]);
    assert!(!ok);
    assert!(
        out.lines().any(|l| l.starts_with("+ ") && l.contains(&id)),
        "the fabricated completion shows: {out}"
    );
}
