//! Several Attest nodes on one PostgreSQL (issue 7): loaded concurrently through both, every
//! acknowledged statement is readable through either, cursors work across nodes, nothing fails,
//! and the shared ledger verifies. Runs when `ATTEST_TEST_DATABASE_URL` names a PostgreSQL server
//! (`scripts/test` starts one).
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_attest");

fn database() -> Option<String> {
    let url = std::env::var("ATTEST_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!(
            "ATTEST_TEST_DATABASE_URL is not set: the multi-node test needs PostgreSQL (run scripts/test)"
        );
    }
    url
}

/// A new schema on the test server and the URL that makes it the default.
fn fresh_schema(url: &str) -> String {
    let schema = format!("n_{}", uuid::Uuid::new_v4().simple());
    let mut client =
        postgres::Client::connect(url, postgres::NoTls).expect("connect to the test PostgreSQL");
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create schema");
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

fn start(database: &str) -> (Child, String) {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            database,
            "--data",
        ])
        .arg(dir.path())
        .env("ATTEST_BOOTSTRAP_KEY", "k")
        .env("ATTEST_BOOTSTRAP_SECRET", "s")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn attest");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("attest exited before listening")
            .expect("read");
        if let Some(rest) = line.split("xAPI base URL ").nth(1) {
            break rest.split("/xapi").next().expect("url").to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
}

fn statement(worker: usize, n: usize) -> Value {
    // Few activities and agents, shared by every batch: the contention that deadlocks other LRSs.
    json!({
        "actor": {"mbox": format!("mailto:op{}@plant.example", n % 7)},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": format!("https://plant.example/sop/{}", n % 3), "definition": {"name": {"en": format!("SOP {} from {worker}", n % 3)}}},
        "context": {"contextActivities": {"parent": [{"id": "https://plant.example/curriculum"}]}}
    })
}

#[test]
fn two_nodes_on_one_database_stay_consistent() {
    let Some(url) = database() else { return };
    let database = fresh_schema(&url);
    // The first node creates the schema and the bootstrap credential; the second finds both.
    let (first, base_a) = start(&database);
    let (second, base_b) = start(&database);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (acknowledged, failures) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for worker in 0..8 {
            let base = if worker % 2 == 0 {
                base_a.clone()
            } else {
                base_b.clone()
            };
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                let mut failures = Vec::new();
                for round in 0..15 {
                    let batch: Vec<Value> =
                        (0..10).map(|i| statement(worker, round * 10 + i)).collect();
                    let response = client
                        .post(format!("{base}/xapi/statements"))
                        .basic_auth("k", Some("s"))
                        .header("X-Experience-API-Version", "1.0.3")
                        .json(&batch)
                        .send()
                        .await
                        .expect("send");
                    let status = response.status();
                    if status == 200 {
                        acked.extend(
                            response
                                .json::<Vec<String>>()
                                .await
                                .expect("ids")
                                .into_iter()
                                .map(|id| (id, base.clone())),
                        );
                    } else {
                        failures.push(format!(
                            "{status}: {}",
                            response.text().await.unwrap_or_default()
                        ));
                    }
                }
                (acked, failures)
            }));
        }
        let mut acknowledged = Vec::new();
        let mut failures = Vec::new();
        for task in tasks {
            let (a, f) = task.await.expect("task");
            acknowledged.extend(a);
            failures.extend(f);
        }
        (acknowledged, failures)
    });
    assert!(
        failures.is_empty(),
        "error responses under concurrent load: {failures:?}"
    );
    assert_eq!(acknowledged.len(), 8 * 15 * 10);

    let (missing, paged) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let get = |url: String| {
            let client = client.clone();
            async move {
                client
                    .get(url)
                    .basic_auth("k", Some("s"))
                    .header("X-Experience-API-Version", "1.0.3")
                    .send()
                    .await
                    .expect("send")
            }
        };
        let mut missing = Vec::new();
        for (id, acked_by) in &acknowledged {
            // Read through the node that did NOT acknowledge it.
            let other = if *acked_by == base_a {
                &base_b
            } else {
                &base_a
            };
            let response = get(format!("{other}/xapi/statements?statementId={id}")).await;
            if response.status() != 200 {
                missing.push(id.clone());
            }
        }
        // A `more` cursor from one node continues on the other.
        let mut seen = std::collections::HashSet::new();
        let mut next = format!("{base_a}/xapi/statements?limit=100");
        let mut turn = 0;
        while !next.is_empty() {
            let body: Value = get(next).await.json().await.expect("json");
            for s in body["statements"].as_array().expect("list") {
                seen.insert(s["id"].as_str().expect("id").to_string());
            }
            let more = body["more"].as_str().expect("more").to_string();
            turn += 1;
            let base = if turn % 2 == 0 { &base_a } else { &base_b };
            next = if more.is_empty() {
                String::new()
            } else {
                format!("{base}{more}")
            };
        }
        (missing, seen.len())
    });
    assert!(
        missing.is_empty(),
        "{} acknowledged statements not readable through the other node",
        missing.len()
    );
    assert_eq!(
        paged,
        acknowledged.len(),
        "paging across nodes sees every statement once"
    );

    stop(first);
    stop(second);
    let output = Command::new(BIN)
        .args(["verify", "--database", &database])
        .output()
        .expect("verify");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains(&format!("{} statements", acknowledged.len())),
        "{text}"
    );
}

#[test]
fn verify_names_a_statement_edited_in_postgresql_a1() {
    let Some(url) = database() else { return };
    let database = fresh_schema(&url);
    let (node, base) = start(&database);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let ids: Vec<String> = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/xapi/statements"))
            .basic_auth("k", Some("s"))
            .header("X-Experience-API-Version", "2.0.0")
            .json(&(0..5).map(|n| statement(0, n)).collect::<Vec<_>>())
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("ids")
    });
    stop(node);
    let verify = || {
        Command::new(BIN)
            .args(["verify", "--database", &database])
            .output()
            .expect("verify")
    };
    assert!(verify().status.success());
    let mut client = postgres::Client::connect(&database, postgres::NoTls).expect("connect");
    client
        .execute(
            "UPDATE statements SET json = replace(json, 'op2@', 'op9@') WHERE id = $1",
            &[&ids[2]],
        )
        .expect("tamper");
    let output = verify();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains(&ids[2]) && text.contains("modified"),
        "{text}"
    );
    // The ledger itself refuses SQL changes.
    assert!(
        client
            .execute("DELETE FROM ledger WHERE seq = 1", &[])
            .is_err()
    );
}
