//! The auditor scenarios of regulated.md Part 3 end to end over HTTP (issue 9): master data from
//! CSV and JSON feeds, real xAPI statements, then status, assignments, reports and the CAPA record.
//! Both backends: `scripts/test` runs this module again on PostgreSQL.
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;

use crate::support::*;

const SOP: &str = "https://qms.example/doc/SOP-123";
const QUIZ: &str = "https://lms.example/quiz/SOP-123";

fn enc(t: &str) -> String {
    t.replace(':', "%3A").replace('+', "%2B")
}

async fn import(server: &TestServer, kind: &str, csv: &str) -> (u16, Value) {
    let response = server
        .request(
            Method::POST,
            &format!("/api/compliance/import/{kind}?reason=nightly%20HR%20feed"),
        )
        .header("Content-Type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

async fn facts(server: &TestServer, facts: Value) -> (u16, Value) {
    let response = server
        .request(Method::POST, "/api/compliance/facts")
        .json(&json!({"reason": "QMS sync", "facts": facts}))
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

async fn get(server: &TestServer, path: &str) -> Value {
    let response = server
        .request(Method::GET, path)
        .send()
        .await
        .expect("send");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn fact_count(server: &TestServer) -> usize {
    get(server, "/api/compliance/facts").await["facts"]
        .as_array()
        .map_or(0, Vec::len)
}

const PEOPLE: &str = "\
person,name,employee_no,account_home_page,account_name,function,site,valid_from,valid_to
ann,Ann Example,E1,https://hr.example,E1,packaging,A,2025-06-01T00:00:00Z,
bob,Bob Example,E2,https://hr.example,E2,packaging,A,2025-06-01T00:00:00Z,
cid,Cid Example,E3,https://hr.example,E3,packaging,B,2025-06-01T00:00:00Z,
";

const VERSIONS: &str = "\
procedure,version,activity_iri,effective_from,approved_at,impact,rule
SOP-123,7,https://qms.example/doc/SOP-123/v7,2026-01-01T00:00:00Z,,FULL,read
SOP-123,8,https://qms.example/doc/SOP-123/v8,2026-05-01T00:00:00Z,2026-04-20T00:00:00Z,FULL,read
SOP-123,9,https://qms.example/doc/SOP-123/v9,2026-07-01T00:00:00Z,,NONE,read
";

/// Three operators in packaging at sites A and B; SOP-123 v7, v8 (FULL, grace 14 days), v9
/// (editorial); completing it counts.
async fn plant(server: &TestServer) {
    assert_eq!(import(server, "people", PEOPLE).await.0, 201);
    assert_eq!(import(server, "procedure-versions", VERSIONS).await.0, 201);
    let (status, body) = facts(
        server,
        json!([
            {"kind": "site", "id": "A", "name": "Plant A", "time_zone": "Europe/Dublin"},
            {"kind": "site", "id": "B", "name": "Plant B"},
            {"kind": "rule", "id": "read", "version": 1, "move_on": "COMPLETED", "effective_from": "2020-01-01T00:00:00Z"},
            {"kind": "requirement", "id": "PACK-SOP-123", "function": "packaging", "procedure": "SOP-123",
             "grace_days": 14, "due_days": 30, "valid_from": "2020-01-01T00:00:00Z"}
        ]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

fn statement(who: &str, verb: &str, object: &str, timestamp: &str) -> Value {
    json!({
        "actor": {"account": {"homePage": "https://hr.example", "name": who}},
        "verb": {"id": format!("http://adlnet.gov/expapi/verbs/{verb}")},
        "object": {"id": object},
        "timestamp": timestamp
    })
}

fn completed(who: &str, version: &str, timestamp: &str) -> Value {
    statement(who, "completed", &format!("{SOP}/v{version}"), timestamp)
}

fn quiz(who: &str, verb: &str, score: f64, timestamp: &str) -> Value {
    let mut s = statement(who, verb, QUIZ, timestamp);
    s["result"] = json!({"score": {"scaled": score}});
    s
}

fn person_of(rows: &Value, key: &str) -> Vec<String> {
    let mut people: Vec<String> = rows[key]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["person"].as_str().unwrap_or_default().to_string())
        .collect();
    people.sort();
    people
}

#[tokio::test]
async fn s2_revision_assigns_the_function_and_supersedes_after_grace() {
    let server = TestServer::start().await;
    plant(&server).await;
    server
        .store(&json!([
            completed("E1", "7", "2026-01-10T09:00:00Z"),
            completed("E2", "7", "2026-01-12T09:00:00Z"),
            completed("E3", "7", "2026-01-12T09:00:00Z"),
            completed("E1", "8", "2026-04-25T09:00:00Z"),
            // Stored after v8 exists: a v7 completion does not satisfy v8.
            completed("E2", "7", "2026-05-03T09:00:00Z"),
        ]))
        .await;
    let bob = get(
        &server,
        &format!(
            "/api/compliance/assignments?person=bob&at={}",
            enc("2026-05-10T00:00:00Z")
        ),
    )
    .await;
    let revision = bob["assignments"]
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["reason"] == "DOC_REVISION")
        .expect("a revision assignment")
        .clone();
    assert_eq!(revision["version"], "8");
    assert_eq!(revision["dueAt"], "2026-05-15T00:00:00Z");
    assert_eq!(revision["status"], "OPEN");
    assert_eq!(bob["name"], "Bob Example");

    let in_grace = get(
        &server,
        &format!(
            "/api/compliance/status?person=bob&procedure=SOP-123&at={}",
            enc("2026-05-10T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(in_grace["status"], "QUALIFIED_IN_GRACE", "{in_grace}");
    assert_eq!(in_grace["requirement"], "PACK-SOP-123", "its grace decides");
    assert_eq!(in_grace["expiresAt"], "2026-05-15T00:00:00Z");
    let after = get(
        &server,
        &format!(
            "/api/compliance/status?person=bob&procedure=SOP-123&at={}",
            enc("2026-05-16T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(
        (after["status"].as_str(), after["reason"].as_str()),
        (Some("NOT_QUALIFIED"), Some("VERSION_SUPERSEDED")),
        "{after}"
    );
    let overdue = get(
        &server,
        &format!(
            "/api/compliance/reports/overdue?at={}",
            enc("2026-05-16T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(person_of(&overdue, "assignments"), vec!["bob", "cid"]);
    let open = get(
        &server,
        &format!(
            "/api/compliance/reports/assignments?status=OPEN&at={}",
            enc("2026-05-10T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(
        person_of(&open, "assignments"),
        vec!["bob", "cid"],
        "a plant-wide list of open assignments"
    );
    let bad = server
        .request(
            Method::GET,
            "/api/compliance/reports/assignments?status=LATE",
        )
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 400);
    let overdue_a = get(
        &server,
        &format!(
            "/api/compliance/reports/overdue?site=A&at={}",
            enc("2026-05-16T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(person_of(&overdue_a, "assignments"), vec!["bob"]);
    let gaps = get(
        &server,
        &format!(
            "/api/compliance/reports/gaps?function=packaging&at={}",
            enc("2026-05-16T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(person_of(&gaps, "gaps"), vec!["bob", "cid"]);
    assert_eq!(gaps["gaps"][0]["reason"], "VERSION_SUPERSEDED");
    let none_yet = get(
        &server,
        &format!(
            "/api/compliance/reports/gaps?at={}",
            enc("2026-04-01T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(none_yet["gaps"], json!([]), "everyone trained on v7 then");
}

#[tokio::test]
async fn s3_an_editorial_revision_keeps_qualification_and_assigns_nothing() {
    let server = TestServer::start().await;
    plant(&server).await;
    server
        .store(&json!([
            completed("E1", "7", "2026-01-10T09:00:00Z"),
            completed("E1", "8", "2026-04-25T09:00:00Z"),
        ]))
        .await;
    let q = get(
        &server,
        &format!(
            "/api/compliance/status?person=ann&procedure=SOP-123&at={}",
            enc("2026-08-01T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(q["status"], "QUALIFIED");
    assert_eq!(q["version"], "9", "the version in force");
    let assignments = get(
        &server,
        &format!(
            "/api/compliance/assignments?person=ann&at={}",
            enc("2026-08-01T00:00:00Z")
        ),
    )
    .await;
    let reasons: Vec<&str> = assignments["assignments"]
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["reason"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        reasons,
        vec!["NEW_FUNCTION", "DOC_REVISION"],
        "nothing for v9"
    );
    // The "no training" decision is on record: the v9 fact, who recorded it, and why.
    let all = get(&server, "/api/compliance/facts").await;
    let v9 = all["facts"]
        .as_array()
        .expect("facts")
        .iter()
        .find(|f| f["fact"]["version"] == "9")
        .expect("v9")
        .clone();
    assert_eq!(v9["fact"]["impact"], "NONE");
    assert_eq!(v9["reason"], "nightly HR feed");
    assert!(v9["recordedBy"].as_str().is_some_and(|p| !p.is_empty()));
}

#[tokio::test]
async fn s7_annual_refresher_expires_and_is_reported_before_it_does() {
    let server = TestServer::start().await;
    plant(&server).await;
    let (status, body) = facts(
        &server,
        json!([
            {"kind": "procedure_version", "procedure": "GMP", "version": "2025", "activity_iri": "https://lms.example/gmp",
             "effective_from": "2020-01-01T00:00:00Z", "impact": "FULL", "rule": "read"},
            {"kind": "requirement", "id": "GMP-ANNUAL", "function": "packaging", "procedure": "GMP",
             "recurrence_days": 365, "early_window_days": 60, "valid_from": "2020-01-01T00:00:00Z"}
        ]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    server
        .store(&statement(
            "E1",
            "completed",
            "https://lms.example/gmp",
            "2025-04-10T09:00:00Z",
        ))
        .await;
    let status_at = |t: &'static str| {
        let server = &server;
        async move {
            get(
                server,
                &format!(
                    "/api/compliance/status?person=ann&procedure=GMP&at={}",
                    enc(t)
                ),
            )
            .await
        }
    };
    assert_eq!(
        status_at("2026-04-09T00:00:00Z").await["status"],
        "QUALIFIED"
    );
    let expired = status_at("2026-04-11T00:00:00Z").await;
    assert_eq!(
        (expired["status"].as_str(), expired["reason"].as_str()),
        (Some("NOT_QUALIFIED"), Some("EXPIRED"))
    );
    let soon = get(
        &server,
        &format!(
            "/api/compliance/reports/expiring?days=60&at={}",
            enc("2026-03-01T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(person_of(&soon, "expiring"), vec!["ann"]);
    assert_eq!(soon["expiring"][0]["expiresAt"], "2026-04-10T09:00:00Z");
    // Trained early, inside the window: the new expiry runs from the old one.
    server
        .store(&statement(
            "E1",
            "completed",
            "https://lms.example/gmp",
            "2026-03-01T09:00:00Z",
        ))
        .await;
    let renewed = status_at("2026-04-11T00:00:00Z").await;
    assert_eq!(renewed["status"], "QUALIFIED");
    assert_eq!(renewed["expiresAt"], "2027-04-10T09:00:00Z");
    let reminders = get(
        &server,
        &format!(
            "/api/compliance/assignments?person=ann&at={}",
            enc("2026-04-11T00:00:00Z")
        ),
    )
    .await;
    assert!(
        reminders["assignments"]
            .as_array()
            .expect("list")
            .iter()
            .any(|a| a["reason"] == "RECURRENCE" && a["status"] == "COMPLETE"),
        "{reminders}"
    );
}

#[tokio::test]
async fn s8_capa_retraining_with_a_delayed_quiz() {
    let server = TestServer::start().await;
    plant(&server).await;
    let (status, body) = facts(
        &server,
        json!([
            {"kind": "quality_event", "id": "CAPA-14", "type": "CAPA", "title": "DEV-88: line clearance",
             "activity_iri": "https://qms.example/capa/CAPA-14", "opened_at": "2026-06-01T00:00:00Z"},
            {"kind": "requirement", "id": "CAPA-14-SOP-123", "quality_event": "CAPA-14", "persons": ["ann", "bob", "cid"],
             "procedure": "SOP-123", "due_days": 10, "valid_from": "2026-06-01T00:00:00Z",
             "effectiveness": {"activity_iri": QUIZ, "after_days": 30, "mastery": 0.8}}
        ]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let mut retrained = completed("E1", "8", "2026-06-05T09:00:00Z");
    retrained["context"] =
        json!({"contextActivities": {"other": [{"id": "https://qms.example/capa/CAPA-14"}]}});
    server
        .store(&json!([
            completed("E1", "8", "2026-04-25T09:00:00Z"),
            retrained,
            completed("E2", "8", "2026-06-06T09:00:00Z"),
            quiz("E1", "passed", 0.9, "2026-07-10T09:00:00Z"),
            quiz("E2", "failed", 0.6, "2026-07-10T09:00:00Z"),
        ]))
        .await;
    let record = |t: &'static str| {
        let server = &server;
        async move {
            get(
                server,
                &format!("/api/compliance/quality-events/CAPA-14?at={}", enc(t)),
            )
            .await
        }
    };
    let pending = record("2026-06-20T00:00:00Z").await;
    assert_eq!(pending["type"], "CAPA");
    let rows = pending["assignments"].as_array().expect("assignments");
    assert_eq!(rows.len(), 3, "{pending}");
    let by = |rows: &[Value], person: &str| -> Vec<Value> {
        rows.iter()
            .filter(|a| a["person"] == person)
            .cloned()
            .collect()
    };
    let ann = by(rows, "ann");
    assert_eq!(ann[0]["reason"], "QUALITY_EVENT");
    assert_eq!(ann[0]["status"], "COMPLETE");
    assert_eq!(ann[0]["effectiveness"]["state"], "PENDING");
    assert_eq!(by(rows, "cid")[0]["status"], "OVERDUE");

    let closed = record("2026-07-11T00:00:00Z").await;
    let rows = closed["assignments"].as_array().expect("assignments");
    assert_eq!(by(rows, "ann")[0]["effectiveness"]["state"], "PASSED");
    let bob = by(rows, "bob");
    assert_eq!(bob[0]["effectiveness"]["state"], "FAILED");
    assert_eq!(
        bob[0]["effectiveness"]["score"], 0.6,
        "the closure record shows the quiz score"
    );
    assert_eq!(
        bob[1]["reason"], "EFFECTIVENESS_FAILED",
        "reopened: {closed}"
    );
    assert_eq!(bob[1]["status"], "OPEN");
    // Ann's retraining names CAPA-14 in contextActivities.other; Bob's does not, and the record
    // says so (regulated.md 2.2, S8).
    assert_eq!(by(rows, "ann")[0]["evidenceWithoutEventIri"], json!([]));
    assert_eq!(
        bob[0]["evidenceWithoutEventIri"], bob[0]["evidence"],
        "{closed}"
    );
    assert_eq!(bob[0]["evidence"].as_array().map(Vec::len), Some(1));
    assert_eq!(bob[0]["signatures"], json!([]));
    let ann_status = get(
        &server,
        &format!(
            "/api/compliance/status?person=ann&at={}",
            enc("2026-06-20T00:00:00Z")
        ),
    )
    .await;
    let capa = ann_status["requirements"]
        .as_array()
        .expect("requirements")
        .iter()
        .find(|r| r["qualityEvent"] == "CAPA-14")
        .expect("the CAPA requirement")
        .clone();
    assert_eq!(capa["status"], "TRAINED_EFFECTIVENESS_PENDING");
    let missing = server
        .request(Method::GET, "/api/compliance/quality-events/CAPA-99")
        .send()
        .await
        .expect("send");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn s9_failed_attempts_are_kept_and_mastery_is_the_rule_of_the_attempt() {
    let server = TestServer::start().await;
    plant(&server).await;
    let (status, _) = facts(
        &server,
        json!([
            {"kind": "rule", "id": "quiz", "version": 1, "move_on": "PASSED", "mastery": 0.8, "effective_from": "2020-01-01T00:00:00Z"},
            {"kind": "procedure_version", "procedure": "SOP-200", "version": "1", "activity_iri": QUIZ,
             "effective_from": "2026-01-01T00:00:00Z", "impact": "FULL", "rule": "quiz"},
            {"kind": "requirement", "id": "PACK-SOP-200", "function": "packaging", "procedure": "SOP-200", "valid_from": "2020-01-01T00:00:00Z"}
        ]),
    )
    .await;
    assert_eq!(status, 201);
    let ids = server
        .store(&json!([
            quiz("E1", "failed", 0.5, "2026-02-01T09:00:00Z"),
            quiz("E1", "failed", 0.7, "2026-02-02T09:00:00Z"),
            quiz("E1", "passed", 0.85, "2026-02-03T09:00:00Z"),
            // success=true but below mastery: does not count.
            quiz("E2", "passed", 0.75, "2026-02-03T09:00:00Z"),
        ]))
        .await;
    // Mastery raised to 0.9 after the pass, from 2026-03-01.
    let (status, _) = facts(
        &server,
        json!([{"kind": "rule", "id": "quiz", "version": 2, "move_on": "PASSED", "mastery": 0.9, "effective_from": "2026-03-01T00:00:00Z"}]),
    )
    .await;
    assert_eq!(status, 201);
    let ann = get(
        &server,
        &format!(
            "/api/compliance/status?person=ann&procedure=SOP-200&at={}",
            enc("2026-04-01T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(ann["status"], "QUALIFIED", "{ann}");
    assert_eq!(ann["evidence"], json!([ids[2]]));
    assert_eq!(ann["rule"], json!({"id": "quiz", "version": 1}));
    let bob = get(
        &server,
        &format!(
            "/api/compliance/status?person=bob&procedure=SOP-200&at={}",
            enc("2026-04-01T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(bob["status"], "NOT_QUALIFIED");
    // The transcript keeps all three attempts.
    let transcript = server
        .query(&format!(
            "agent={}&activity={}",
            enc(&json!({"account": {"homePage": "https://hr.example", "name": "E1"}}).to_string())
                .replace('"', "%22")
                .replace('{', "%7B")
                .replace('}', "%7D")
                .replace('/', "%2F"),
            enc(QUIZ).replace('/', "%2F")
        ))
        .await;
    assert_eq!(transcript.len(), 3);
}

#[tokio::test]
async fn s10_job_change_cancels_old_assignments_and_brings_new_ones() {
    let server = TestServer::start().await;
    plant(&server).await;
    let (status, body) = facts(
        &server,
        json!([
            {"kind": "membership", "person": "ann", "function": "packaging", "site": "A",
             "valid_from": "2025-06-01T00:00:00Z", "valid_to": "2026-06-01T00:00:00Z"},
            {"kind": "membership", "person": "ann", "function": "filling", "site": "A", "valid_from": "2026-06-01T00:00:00Z"},
            {"kind": "procedure_version", "procedure": "SOP-FILL", "version": "1", "activity_iri": "https://qms.example/doc/SOP-FILL/v1",
             "effective_from": "2020-01-01T00:00:00Z", "impact": "FULL", "rule": "read"},
            {"kind": "requirement", "id": "FILL", "function": "filling", "procedure": "SOP-FILL", "due_days": 7,
             "valid_from": "2020-01-01T00:00:00Z"}
        ]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["recorded"], 4);
    server
        .store(&completed("E1", "7", "2026-01-10T09:00:00Z"))
        .await;
    let june = get(
        &server,
        &format!(
            "/api/compliance/status?person=ann&at={}",
            enc("2026-06-02T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(june["functions"], json!(["filling"]));
    assert_eq!(
        june["status"], "NOT_QUALIFIED",
        "blocking FILL not done: {june}"
    );
    let may = get(
        &server,
        &format!(
            "/api/compliance/status?person=ann&function=packaging&at={}",
            enc("2026-04-15T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(
        may["status"], "QUALIFIED",
        "history stays answerable: {may}"
    );
    let assignments = get(
        &server,
        &format!(
            "/api/compliance/assignments?person=ann&at={}",
            enc("2026-06-02T00:00:00Z")
        ),
    )
    .await;
    let summary: Vec<(String, String)> = assignments["assignments"]
        .as_array()
        .expect("list")
        .iter()
        .map(|a| {
            (
                a["requirement"].as_str().unwrap_or_default().to_string(),
                a["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("PACK-SOP-123".to_string(), "COMPLETE".to_string()),
            ("PACK-SOP-123".to_string(), "CANCELLED".to_string()),
            ("FILL".to_string(), "OPEN".to_string()),
        ],
        "v7 done, v8 revision cancelled by the move, filling assigned"
    );
}

#[tokio::test]
async fn csv_imports_are_atomic_idempotent_and_report_every_bad_row() {
    let server = TestServer::start().await;
    plant(&server).await;
    let before = fact_count(&server).await;
    // Importing the same feed again changes nothing.
    let (status, body) = import(&server, "people", PEOPLE).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recorded"], 0);
    assert_eq!(fact_count(&server).await, before);

    let bad = "\
person,name,function,valid_from,mbox
dan,Dan,packaging,2026-01-01T00:00:00Z,mailto:dan@plant.example
eve,Eve,packaging,yesterday,mailto:eve@plant.example
fay,Fay,,2026-01-01T00:00:00Z,mailto:fay@plant.example
gus,Gus,packaging,2026-01-01T00:00:00Z,gus-at-plant
";
    let (status, body) = import(&server, "people", bad).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_rows");
    let lines: Vec<u64> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["line"].as_u64().unwrap_or_default())
        .collect();
    assert_eq!(lines, vec![3, 4, 5], "{body}");
    assert_eq!(fact_count(&server).await, before, "nothing half-applied");

    let (status, body) = import(&server, "people", "person,shoe_size\nann,42\n").await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("shoe_size"))
    );
    let (status, _) = import(&server, "people", "name\nAnn\n").await;
    assert_eq!(status, 400, "the person column is required");
    let (status, _) = import(&server, "payroll", "person\nann\n").await;
    assert_eq!(status, 404);
    let (status, body) = import(
        &server,
        "quality-events",
        "id,type,opened_at\nDEV-88,DEVIATION,2026-05-20T00:00:00Z\nDEV-89,RECALL,2026-05-20T00:00:00Z\n",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["line"], 3);
    let no_reason = server
        .request(Method::POST, "/api/compliance/import/people")
        .header("Content-Type", "text/csv")
        .body(PEOPLE)
        .send()
        .await
        .expect("send");
    assert_eq!(no_reason.status(), 400);
    let not_csv = server
        .request(Method::POST, "/api/compliance/import/people?reason=x")
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(not_csv.status(), 415);
    // A batch that would give one identifier to two people is refused whole.
    let (status, body) = facts(
        &server,
        json!([
            {"kind": "person", "id": "hal", "name": "Hal"},
            {"kind": "person_identifier", "person": "hal", "agent": {"account": {"homePage": "https://hr.example", "name": "E1"}}}
        ]),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("facts[1]"))
    );
    assert_eq!(fact_count(&server).await, before);
    // The same through a CSV names the line.
    let (status, body) = import(
        &server,
        "people",
        "person,name,account_home_page,account_name\nhal,Hal,https://hr.example,H1\nivy,Ivy,https://hr.example,E1\n",
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("line 3")),
        "{body}"
    );
    // A fact given twice in a batch is recorded once; the answer has one entry per fact given.
    let site = json!({"kind": "site", "id": "C", "name": "Plant C"});
    let (status, body) = facts(&server, json!([site, site])).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["recorded"].as_u64(), body["unchanged"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(body["facts"][0]["id"], body["facts"][1]["id"]);
    assert_eq!(fact_count(&server).await, before + 1);
    let strict = server
        .request(Method::GET, "/api/compliance/facts?colour=red")
        .send()
        .await
        .expect("send");
    assert_eq!(strict.status(), 400, "unknown parameters are refused");
}

#[tokio::test]
async fn concurrent_feeds_cannot_give_one_identifier_to_two_people() {
    let server = TestServer::start().await;
    for round in 0..5 {
        let requests = ["p", "q"].map(|person| {
            let request = server
                .request(Method::POST, "/api/compliance/facts")
                .json(&json!({"reason": "race", "fact": {"kind": "person_identifier", "person": format!("{person}{round}"),
                    "agent": {"account": {"homePage": "https://hr.example", "name": format!("R{round}")}}}}));
            tokio::spawn(async move { request.send().await.expect("send").status().as_u16() })
        });
        let mut codes = Vec::new();
        for r in requests {
            codes.push(r.await.expect("task"));
        }
        codes.sort();
        assert_eq!(codes, vec![201, 409], "round {round}");
    }
}

#[tokio::test]
async fn an_unknown_person_is_not_qualified() {
    let server = TestServer::start().await;
    plant(&server).await;
    for form in ["", "&procedure=SOP-123", "&function=packaging"] {
        let q = get(
            &server,
            &format!("/api/compliance/status?person=nobody{form}"),
        )
        .await;
        assert_eq!(
            (q["status"].as_str(), q["reason"].as_str()),
            (Some("NOT_QUALIFIED"), Some("UNKNOWN_PERSON")),
            "{form}: {q}"
        );
    }
    let empty = server
        .request(Method::GET, "/api/compliance/completions?person=")
        .send()
        .await
        .expect("send");
    assert_eq!(empty.status(), 400);
}

#[tokio::test]
async fn s6_a_late_entry_is_flagged_and_the_answer_as_known_now_is_shown() {
    let server = TestServer::start().await;
    plant(&server).await;
    let then = jiff::Timestamp::now().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let id = server
        .store(&completed("E1", "7", "2026-03-01T09:00:00Z"))
        .await
        .remove(0);
    let q = get(
        &server,
        &format!(
            "/api/compliance/status?person=ann&procedure=SOP-123&at={}&asKnownAt={}",
            enc("2026-03-04T09:00:00Z"),
            enc(&then)
        ),
    )
    .await;
    assert_eq!(q["status"], "NOT_QUALIFIED");
    assert_eq!(q["asKnownNow"]["status"], "QUALIFIED");
    assert_eq!(q["asKnownNow"]["differs"], true);
    let now = get(
        &server,
        &format!(
            "/api/compliance/status?person=ann&procedure=SOP-123&at={}",
            enc("2026-03-04T09:00:00Z")
        ),
    )
    .await;
    assert_eq!(
        now["lateEntries"],
        json!([id]),
        "stored months after its timestamp"
    );
    assert!(now.get("asKnownNow").is_none());
}

/// Polls the stored completions of a person until `done` holds (the server derives them in the
/// background after each write), for at most ten seconds.
async fn completions_until(
    server: &TestServer,
    person: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..200 {
        let list = get(
            server,
            &format!("/api/compliance/completions?person={person}"),
        )
        .await["completions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if done(&list) {
            return list;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the completions of {person} never reached the expected state");
}

#[tokio::test]
async fn completions_are_stored_as_statements_arrive_and_invalidated_by_a_void() {
    let server = TestServer::start().await;
    plant(&server).await;
    let ids = server
        .store(&json!([
            statement("E1", "failed", &format!("{SOP}/v7"), "2026-01-09T09:00:00Z"),
            completed("E1", "7", "2026-01-10T09:00:00Z"),
            completed("E2", "7", "2026-01-11T09:00:00Z"),
        ]))
        .await;
    let ann = completions_until(&server, "ann", |l| l.len() == 1).await;
    let c = &ann[0]["completion"];
    assert_eq!(c["procedure"], "SOP-123");
    assert_eq!(c["version"], "7");
    assert_eq!(c["evidence"], json!([ids[1]]));
    assert_eq!(c["rule"], "read");
    assert_eq!(c["achieved_at"], "2026-01-10T09:00:00Z");
    assert!(ann[0]["invalidatedAt"].is_null());
    completions_until(&server, "bob", |l| l.len() == 1).await;

    server
        .store(&json!({
            "actor": {"mbox": "mailto:qa@plant.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": ids[1]}
        }))
        .await;
    let ann = completions_until(&server, "ann", |l| {
        l.first().is_some_and(|c| !c["invalidatedAt"].is_null())
    })
    .await;
    assert_eq!(ann.len(), 1, "invalidated, never deleted");
    let bob = completions_until(&server, "bob", |l| l.len() == 1).await;
    assert!(bob[0]["invalidatedAt"].is_null(), "Bob's stands");
    // A page at a time: `more` is the `after` of the next page.
    let first = get(&server, "/api/compliance/completions?limit=1").await;
    assert_eq!(first["completions"].as_array().map(Vec::len), Some(1));
    let after = first["more"].as_i64().expect("a next page");
    let second = get(
        &server,
        &format!("/api/compliance/completions?limit=1&after={after}"),
    )
    .await;
    assert_ne!(
        second["completions"][0]["id"],
        first["completions"][0]["id"]
    );
    let all = get(&server, "/api/compliance/completions").await;
    assert!(all["more"].is_null(), "everything fits the default page");
    for bad in ["limit=0", "limit=10001", "after=x", "page=2"] {
        let response = server
            .request(Method::GET, &format!("/api/compliance/completions?{bad}"))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 400, "{bad}");
    }
    let entries = get(&server, "/api/audit/entries?limit=1000").await;
    let actions: Vec<&str> = entries["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == "compliance_completion")
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        actions,
        vec![
            "compliance.derive",
            "compliance.derive",
            "compliance.invalidate"
        ],
        "each change of a stored completion is ledgered"
    );
}

#[tokio::test]
async fn s4_a_void_of_gxp_evidence_needs_a_reason_and_not_the_learner_a4() {
    let server = TestServer::start().await;
    plant(&server).await;
    let (status, body) = facts(
        &server,
        json!([{"kind": "gxp_profile", "activity_prefixes": ["https://qms.example/"],
                "reason_extension": "https://qms.example/gxp/ext/reason"}]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = server
        .store(&completed("E1", "7", "2026-01-10T09:00:00Z"))
        .await
        .remove(0);
    let void = |actor: Value, reason: Option<Value>| {
        let mut v = json!({
            "actor": actor,
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": id}
        });
        if let Some(r) = reason {
            v["context"] = json!({"extensions": {"https://qms.example/gxp/ext/reason": r}});
        }
        v
    };
    let qa = json!({"account": {"homePage": "https://hr.example", "name": "QA1"}});
    let ann = json!({"account": {"homePage": "https://hr.example", "name": "E1"}});
    let bob = json!({"account": {"homePage": "https://hr.example", "name": "E2"}});
    let reason = json!({"code": "WRONG_LEARNER", "text": "recorded for Ann, done by Bob"});
    // B2 (3), A7: only QA voids GxP evidence, with their own credential; Quinn (QA1) holds the
    // QA role and has a credential of her own, the LMS's credential belongs to no one.
    let not_qa = server
        .post_statements(&void(bob.clone(), Some(reason.clone())))
        .await;
    assert_eq!(not_qa.status(), 403, "no QA role yet for anyone");
    let created = reqwest::Client::new()
        .post(server.url("/api/admin/credentials"))
        .basic_auth(ADMIN_KEY, Some(ADMIN_SECRET))
        .json(&json!({"name": "Quinn QA", "key": "quinn", "secret": "quinn-secret"}))
        .send()
        .await
        .expect("send");
    assert_eq!(created.status(), 201);
    let original: Value = server
        .get_statements(&format!("statementId={id}"))
        .await
        .json()
        .await
        .expect("json");
    let own = json!({"account": {"homePage": original["authority"]["account"]["homePage"], "name": "quinn"}});
    let (status, body) = facts(
        &server,
        json!([{"kind": "person", "id": "quinn", "name": "Quinn QA"},
               {"kind": "person_identifier", "person": "quinn", "agent": qa},
               {"kind": "person_identifier", "person": "quinn", "agent": own},
               {"kind": "role", "person": "quinn", "role": "QA", "valid_from": "2020-01-01T00:00:00Z"}]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let as_quinn = |body: Value| {
        reqwest::Client::new()
            .post(server.url("/xapi/statements"))
            .basic_auth("quinn", Some("quinn-secret"))
            .header("X-Experience-API-Version", "1.0.3")
            .json(&body)
            .send()
    };
    let lms = server
        .post_statements(&void(qa.clone(), Some(reason.clone())))
        .await;
    assert_eq!(lms.status(), 403, "the LMS's credential names QA as actor");
    let text = lms.text().await.expect("body");
    assert!(text.contains("own credential"), "{text}");
    let not_qa = server
        .post_statements(&void(bob, Some(reason.clone())))
        .await;
    assert_eq!(not_qa.status(), 403);

    let no_reason = as_quinn(void(qa.clone(), None)).await.expect("send");
    assert_eq!(no_reason.status(), 400);
    let text = no_reason.text().await.expect("body");
    assert!(text.contains("reason"), "{text}");
    let by_learner = server
        .post_statements(&void(ann, Some(reason.clone())))
        .await;
    assert_eq!(by_learner.status(), 403);
    // Nothing changed: the statement is still there, not voided.
    assert_eq!(
        server
            .get_statements(&format!("statementId={id}"))
            .await
            .status(),
        200
    );
    // A void and its target in one batch are checked too.
    let mut other = completed("E2", "7", "2026-01-11T09:00:00Z");
    let other_id = uuid();
    other["id"] = json!(other_id);
    let batch = server
        .post_statements(&json!([other, {
            "actor": qa, "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": other_id},
            "context": {"extensions": {"https://qms.example/gxp/ext/reason": "typo"}}
        }]))
        .await;
    assert_eq!(batch.status(), 403, "the batch is refused whole");
    // A void may not come before its target: it would void it on arrival past these rules.
    let early = as_quinn(void(qa.clone(), Some(reason.clone())))
        .await
        .expect("send");
    assert_eq!(early.status(), 200, "the stored target");
    let early_target = uuid();
    let mut before = void(qa.clone(), Some(reason.clone()));
    before["object"]["id"] = json!(early_target);
    let refused = as_quinn(before).await.expect("send");
    assert_eq!(refused.status(), 400);
    assert_eq!(
        server
            .get_statements(&format!("statementId={other_id}"))
            .await
            .status(),
        404
    );

    let early: Vec<String> = early.json().await.expect("ids");
    let void_id = early[0].clone();
    assert_eq!(
        server
            .get_statements(&format!("statementId={id}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        server
            .get_statements(&format!("voidedStatementId={id}"))
            .await
            .status(),
        200
    );
    let voiding: Value = server
        .get_statements(&format!("statementId={void_id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        voiding["context"]["extensions"]["https://qms.example/gxp/ext/reason"],
        reason
    );
    assert!(
        voiding["authority"].is_object(),
        "who sent it is on the void"
    );
    // Outside the profile, xAPI's own rules apply.
    let game = server
        .store(&statement(
            "E1",
            "completed",
            "https://lms.example/game/1",
            "2026-01-10T09:00:00Z",
        ))
        .await
        .remove(0);
    server
        .store(
            &json!({"actor": {"account": {"homePage": "https://hr.example", "name": "E1"}},
                       "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                       "object": {"objectType": "StatementRef", "id": game}}),
        )
        .await;
}

async fn decide_ann(server: &TestServer) -> Value {
    let response = server
        .request(Method::POST, "/api/compliance/decisions")
        .json(&json!({"person": "ann", "procedure": "SOP-123", "at": "2026-03-04T09:12:00Z"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    response.json().await.expect("json")
}

async fn void(server: &TestServer, id: &str) {
    server
        .store(&json!({"actor": {"mbox": "mailto:qa@plant.example"},
                       "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                       "object": {"objectType": "StatementRef", "id": id}}))
        .await;
}

/// Asks ann's decision again as known at its time `known` (`asKnownAt` or `recordedAt`).
async fn ask_again_as_known_at(server: &TestServer, decision: &Value, known: &str) {
    let k = decision[known].as_str().expect("a time");
    let again = get(
        server,
        &format!(
            "/api/compliance/status?person=ann&procedure=SOP-123&at={}&asKnownAt={}",
            enc("2026-03-04T09:12:00Z"),
            enc(k)
        ),
    )
    .await;
    assert_eq!(
        (&again["status"], &again["evidence"]),
        (&decision["status"], &decision["evidence"]),
        "asked again as known at the decision's {known} {k}: {again}"
    );
}

/// F5, §2: a decision asked while its evidence is being voided, or just before, is answered again
/// the same as known at its `asKnownAt`, and when the void came after it, as known at its
/// `recordedAt` too. Each write has a `stored` of its own, later than every write before it, and
/// a question waits for the writes stored before it (with millisecond times, a void in the
/// millisecond of the question counted as known at `asKnownAt` though the answer had not seen it;
/// one in the decision's own millisecond, as known at `recordedAt`).
#[tokio::test]
async fn f5_a_void_beside_or_after_a_decision_never_changes_the_answer_as_known_then() {
    let server = TestServer::start().await;
    plant(&server).await;
    for _ in 0..20 {
        let id = server
            .store(&completed("E1", "7", "2026-01-10T09:00:00Z"))
            .await
            .remove(0);
        let (decision, ()) = tokio::join!(decide_ann(&server), void(&server, &id));
        ask_again_as_known_at(&server, &decision, "asKnownAt").await;
    }
    for _ in 0..10 {
        let id = server
            .store(&completed("E1", "7", "2026-01-10T09:00:00Z"))
            .await
            .remove(0);
        let decision = decide_ann(&server).await;
        assert_eq!(decision["status"], "QUALIFIED", "{decision}");
        void(&server, &id).await;
        ask_again_as_known_at(&server, &decision, "asKnownAt").await;
        ask_again_as_known_at(&server, &decision, "recordedAt").await;
    }
}

#[tokio::test]
async fn s1_f5_a_gate_decision_is_recorded_with_its_evidence_and_stays_answerable() {
    let server = TestServer::start().await;
    plant(&server).await;
    let id = server
        .store(&completed("E1", "7", "2026-01-10T09:00:00Z"))
        .await
        .remove(0);
    let ask = |body: Value| {
        server
            .request(Method::POST, "/api/compliance/decisions")
            .json(&body)
            .send()
    };
    let response = ask(
        json!({"person": "ann", "procedure": "SOP-123", "at": "2026-03-04T09:12:00Z",
                              "context": {"batch": "B-2231", "step": 40, "site": "A"}}),
    )
    .await
    .expect("send");
    assert_eq!(response.status(), 201);
    let decision: Value = response.json().await.expect("json");
    assert_eq!(decision["status"], "QUALIFIED", "{decision}");
    assert_eq!(decision["evidence"], json!([id]));
    let recorded_at = decision["recordedAt"].as_str().expect("time").to_string();

    // Later the evidence is voided; the recorded decision and the as-known-then answer stand.
    server
        .store(&json!({"actor": {"mbox": "mailto:qa@plant.example"},
                       "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                       "object": {"objectType": "StatementRef", "id": id}}))
        .await;
    let then = get(
        &server,
        &format!(
            "/api/compliance/status?person=ann&procedure=SOP-123&at={}&asKnownAt={}",
            enc("2026-03-04T09:12:00Z"),
            enc(&recorded_at)
        ),
    )
    .await;
    assert_eq!(then["status"], "QUALIFIED");
    assert_eq!(
        then["evidence"], decision["evidence"],
        "the same answer, asked again"
    );
    assert_eq!(then["asKnownNow"]["status"], "NOT_QUALIFIED");
    let log = get(&server, "/api/compliance/decisions?person=ann").await;
    let entry = &log["decisions"][0];
    assert_eq!(entry["question"]["context"]["batch"], "B-2231");
    assert_eq!(entry["question"]["procedure"], "SOP-123");
    assert_eq!(entry["answer"]["status"], "QUALIFIED");
    assert_eq!(entry["answer"]["evidence"], json!([id]));
    assert!(entry["recordedBy"].as_str().is_some_and(|p| !p.is_empty()));
    let entries = get(&server, "/api/audit/entries?limit=1000").await;
    assert!(
        entries["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["action"] == "compliance.decide"),
        "the decision is ledgered"
    );

    for (body, code) in [
        (json!({"procedure": "SOP-123"}), 400),
        (
            json!({"person": "ann", "procedure": "SOP-123", "function": "packaging"}),
            400,
        ),
        (json!({"person": "ann", "at": "yesterday"}), 400),
        (json!({"person": "ann", "context": "B-2231"}), 400),
        (json!({"person": "ann", "shoe": 42}), 400),
    ] {
        assert_eq!(
            ask(body.clone()).await.expect("send").status(),
            code,
            "{body}"
        );
    }
    assert_eq!(
        get(&server, "/api/compliance/decisions").await["decisions"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "refused questions record nothing"
    );
}

#[tokio::test]
async fn s1_b2_ojt_evidence_counts_with_a_qualified_trainer_as_instructor() {
    let server = TestServer::start().await;
    plant(&server).await;
    let (status, body) = facts(
        &server,
        json!([
            {"kind": "person_identifier", "person": "tom", "agent": {"account": {"homePage": "https://hr.example", "name": "T1"}}},
            {"kind": "rule", "id": "ojt", "version": 1, "move_on": "COMPLETED", "instructor_qualified_for": "TRAINER-SOP-123",
             "effective_from": "2020-01-01T00:00:00Z"},
            {"kind": "procedure_version", "procedure": "OJT-123", "version": "1", "activity_iri": "https://qms.example/ojt/SOP-123",
             "effective_from": "2020-01-01T00:00:00Z", "impact": "FULL", "rule": "ojt"},
            {"kind": "procedure_version", "procedure": "TRAINER-SOP-123", "version": "1", "activity_iri": "https://qms.example/trainer/SOP-123",
             "effective_from": "2020-01-01T00:00:00Z", "impact": "FULL", "rule": "read"}
        ]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let mut ojt = statement(
        "E1",
        "completed",
        "https://qms.example/ojt/SOP-123",
        "2026-03-01T09:00:00Z",
    );
    ojt["context"] =
        json!({"instructor": {"account": {"homePage": "https://hr.example", "name": "T1"}}});
    let ojt_id = server.store(&ojt).await.remove(0);
    let at = |t: &str| {
        format!(
            "/api/compliance/status?person=ann&procedure=OJT-123&at={}",
            enc(t)
        )
    };
    assert_eq!(
        get(&server, &at("2026-04-01T00:00:00Z")).await["status"],
        "NOT_QUALIFIED",
        "Tom is not a trainer yet"
    );
    server
        .store(&statement(
            "T1",
            "completed",
            "https://qms.example/trainer/SOP-123",
            "2026-02-01T09:00:00Z",
        ))
        .await;
    let q = get(&server, &at("2026-04-01T00:00:00Z")).await;
    assert_eq!(q["status"], "QUALIFIED", "{q}");
    assert_eq!(q["evidence"], json!([ojt_id]));

    // S1, D1: the evidence pack: the statement exactly as stored, its hash, the ledger entry
    // that recorded it, the proof that the entry is in a signed checkpoint, and the trainer's
    // own qualification at the attempt.
    let checkpoint = server
        .request(Method::POST, "/api/audit/checkpoints")
        .send()
        .await
        .expect("send");
    assert_eq!(checkpoint.status(), 200);
    let pack = get(
        &server,
        &format!(
            "/api/compliance/evidence?person=ann&procedure=OJT-123&at={}",
            enc("2026-04-01T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(pack["answer"]["status"], "QUALIFIED", "{pack}");
    let statement = &pack["statements"][0];
    assert_eq!(statement["id"], json!(ojt_id));
    let exact = statement["exact"].as_str().expect("exact");
    let sha256 = hex::encode(sha2::Sha256::digest(exact.as_bytes()));
    assert_eq!(statement["sha256"], json!(sha256));
    let entry = &statement["ledger"][0];
    assert_eq!(entry["action"], "statement.store");
    assert_eq!(
        entry["contentHash"],
        json!(sha256),
        "the ledger recorded these bytes"
    );
    assert_eq!(entry["contentMatchesStatement"], true);
    let hash32 = |v: &Value| -> [u8; 32] {
        hex::decode(v.as_str().expect("hex"))
            .expect("hex")
            .try_into()
            .expect("32 bytes")
    };
    let inclusion = &entry["inclusion"];
    let path: Vec<[u8; 32]> = inclusion["auditPath"]
        .as_array()
        .expect("path")
        .iter()
        .map(hash32)
        .collect();
    assert!(ledger::merkle::verify_inclusion(
        &hash32(&entry["hash"]),
        inclusion["leafIndex"].as_u64().expect("index"),
        inclusion["checkpoint"]["size"].as_u64().expect("size"),
        &path,
        &hash32(&inclusion["checkpoint"]["root"]),
    ));
    let trainer = &pack["trainers"][0];
    assert_eq!(trainer["person"], "tom");
    assert_eq!(trainer["procedure"], "TRAINER-SOP-123");
    assert_eq!(trainer["status"], "QUALIFIED", "{trainer}");
    assert_eq!(trainer["at"], "2026-03-01T09:00:00Z");
    for bad in [
        "person=ann",
        "procedure=OJT-123",
        "person=ann&procedure=OJT-123&at=x",
    ] {
        let response = server
            .request(Method::GET, &format!("/api/compliance/evidence?{bad}"))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn s6_a6_a_late_entry_of_gxp_evidence_needs_a_reason() {
    let server = TestServer::start().await;
    plant(&server).await;
    // Without a profile, xAPI's rules: a backdated statement is accepted (and flagged late).
    let backdated = completed("E2", "7", "2026-01-10T09:00:00Z");
    server.store(&backdated).await;
    let (status, body) = facts(
        &server,
        json!([{"kind": "gxp_profile", "activity_prefixes": ["https://qms.example/"],
                "reason_extension": "https://qms.example/gxp/ext/reason", "late_entry_hours": 72}]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let refused = server.post_statements(&backdated).await;
    assert_eq!(refused.status(), 400);
    let text = refused.text().await.expect("body");
    assert!(
        text.contains("late entry") && text.contains("72 h"),
        "{text}"
    );
    let batch = server
        .post_statements(&json!([
            completed("E1", "7", &jiff::Timestamp::now().to_string()),
            backdated
        ]))
        .await;
    assert_eq!(batch.status(), 400, "the batch is refused whole");
    assert!(
        batch.text().await.expect("body").starts_with("{"),
        "a JSON error"
    );
    let mut with_reason = completed("E3", "7", "2026-01-10T09:00:00Z");
    with_reason["context"] = json!({"extensions": {"https://qms.example/gxp/ext/reason":
        {"code": "PAPER_BACKLOG", "text": "transcribed from the paper training record"}}});
    server.store(&with_reason).await;
    // Recent GxP evidence and anything outside the profile need no reason.
    server
        .store(&completed("E1", "7", &jiff::Timestamp::now().to_string()))
        .await;
    server
        .store(&statement(
            "E1",
            "completed",
            "https://lms.example/game/1",
            "2020-01-01T00:00:00Z",
        ))
        .await;
    let bad = json!({"kind": "gxp_profile", "activity_prefixes": ["https://qms.example/"],
                     "reason_extension": "https://qms.example/gxp/ext/reason", "late_entry_hours": 0});
    assert_eq!(facts(&server, json!([bad])).await.0, 400);
}

/// regulated.md A7, A10, A6 (future timestamps): under the GxP profile, evidence comes from a
/// known person (no Group), about a registered procedure version, with the matching
/// `context.revision`, a `success` that agrees with the score under the mastery in force, and no
/// timestamp ahead of the LRS clock; each refusal is a 400 that says why and stores nothing.
#[tokio::test]
async fn a7_a10_gxp_evidence_is_checked_when_it_arrives() {
    let server = TestServer::start().await;
    plant(&server).await;
    let (status, body) = facts(
        &server,
        json!([{"kind": "gxp_profile", "activity_prefixes": ["https://qms.example/"],
                "reason_extension": "https://qms.example/gxp/ext/reason"},
               {"kind": "rule", "id": "read", "version": 2, "move_on": "COMPLETED_OR_PASSED", "mastery": 0.8,
                "effective_from": "2026-01-01T00:00:00Z"}]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let scored = |scaled: f64, success: bool| {
        let mut s = statement("E1", "passed", &format!("{SOP}/v7"), "2026-03-01T09:00:00Z");
        s["result"] = json!({"score": {"scaled": scaled}, "success": success});
        s
    };
    let mut revision = completed("E1", "7", "2026-03-01T09:00:00Z");
    revision["context"] = json!({"revision": "8"});
    let mut group = completed("E1", "7", "2026-03-01T09:00:00Z");
    group["actor"] =
        json!({"objectType": "Group", "account": {"homePage": "https://hr.example", "name": "E1"}});
    let future = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(1))
        .expect("time")
        .to_string();
    for (bad, says) in [
        (
            completed("E99", "7", "2026-03-01T09:00:00Z"),
            "known person",
        ),
        (group, "known person"),
        (
            completed("E1", "99", "2026-03-01T09:00:00Z"),
            "no procedure version",
        ),
        (revision, "does not match the version '7'"),
        (scored(0.75, true), "below the mastery score 0.8"),
        (scored(0.85, false), "at or above the mastery score 0.8"),
        (completed("E1", "7", &future), "ahead of the LRS clock"),
    ] {
        let response = server.post_statements(&bad).await;
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.expect("json");
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains(says)),
            "{says}: {body}"
        );
    }
    assert!(
        server.query("limit=100").await.is_empty(),
        "nothing was stored"
    );
    let mut revised = scored(0.85, true);
    revised["context"] = json!({"revision": "7"});
    server.store(&revised).await;
    let stored = server
        .store(&statement(
            "E99",
            "completed",
            "https://lms.example/game/1",
            "2026-03-01T09:00:00Z",
        ))
        .await
        .remove(0);
    // A7: a credential whose authority is a person's identifier is that person's own, and
    // writes only their GxP evidence.
    let written: Value = server
        .get_statements(&format!("statementId={stored}"))
        .await
        .json()
        .await
        .expect("json");
    let authority = written["authority"]["account"].clone();
    let (status, body) = facts(
        &server,
        json!([{"kind": "person_identifier", "person": "ann", "agent": {"account": authority}}]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let bobs = server
        .post_statements(&completed("E2", "7", "2026-03-01T09:00:00Z"))
        .await;
    assert_eq!(bobs.status(), 403);
    let text = bobs.text().await.expect("body");
    assert!(text.contains("ann's own"), "{text}");
    server
        .store(&completed("E1", "7", "2026-03-01T09:00:00Z"))
        .await;
}

/// A curriculum over HTTP (regulated.md 2.1, 2.4): a requirement on it answers per item, and a
/// prerequisite completed after its item leaves the item PREREQ_MISSING.
#[tokio::test]
async fn a_curriculum_requirement_answers_per_item_with_prerequisites() {
    let server = TestServer::start().await;
    plant(&server).await;
    let (status, body) = facts(
        &server,
        json!([
            {"kind": "procedure_version", "procedure": "GMP", "version": "1", "activity_iri": "https://qms.example/doc/GMP/v1",
             "effective_from": "2020-01-01T00:00:00Z", "impact": "FULL", "rule": "read"},
            {"kind": "curriculum", "id": "PACK-CURR", "version": 1, "valid_from": "2020-01-01T00:00:00Z",
             "items": [{"procedure": "GMP"}, {"procedure": "SOP-123", "prerequisites": ["GMP"]}]},
            {"kind": "requirement", "id": "PACK-CURR-REQ", "function": "packaging", "curriculum": "PACK-CURR",
             "valid_from": "2020-01-01T00:00:00Z"}
        ]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    server
        .store(&json!([
            completed("E1", "7", "2026-02-01T09:00:00Z"),
            statement(
                "E1",
                "completed",
                "https://qms.example/doc/GMP/v1",
                "2026-02-03T09:00:00Z"
            ),
            statement(
                "E2",
                "completed",
                "https://qms.example/doc/GMP/v1",
                "2026-01-20T09:00:00Z"
            ),
            completed("E2", "7", "2026-02-01T09:00:00Z"),
        ]))
        .await;
    let item = |person: &str, requirement: &str| {
        let path = format!(
            "/api/compliance/status?person={person}&at={}",
            enc("2026-03-01T00:00:00Z")
        );
        let server = &server;
        let requirement = requirement.to_string();
        async move {
            let answer = get(server, &path).await;
            answer["requirements"]
                .as_array()
                .expect("requirements")
                .iter()
                .find(|r| r["requirement"] == requirement.as_str())
                .cloned()
                .unwrap_or_else(|| panic!("{requirement} in {answer}"))
        }
    };
    let ann = item("ann", "PACK-CURR-REQ/SOP-123").await;
    assert_eq!(ann["status"], "NOT_QUALIFIED", "{ann}");
    assert_eq!(ann["reason"], "PREREQ_MISSING");
    assert_eq!(
        item("ann", "PACK-CURR-REQ/GMP").await["status"],
        "QUALIFIED"
    );
    assert_eq!(
        item("bob", "PACK-CURR-REQ/SOP-123").await["status"],
        "QUALIFIED"
    );
    // One version at a time: v2 may start only where v1 is closed.
    let v2 = json!({"kind": "curriculum", "id": "PACK-CURR", "version": 2, "valid_from": "2026-06-01T00:00:00Z",
                    "items": [{"procedure": "GMP"}]});
    let (status, body) = facts(&server, json!([v2])).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("version 1"),
        "{body}"
    );
    let (status, body) = facts(
        &server,
        json!([{"kind": "curriculum", "id": "PACK-CURR", "version": 1, "valid_from": "2020-01-01T00:00:00Z",
                "valid_to": "2026-06-01T00:00:00Z",
                "items": [{"procedure": "GMP"}, {"procedure": "SOP-123", "prerequisites": ["GMP"]}]}, v2]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let after = get(
        &server,
        &format!(
            "/api/compliance/status?person=bob&at={}",
            enc("2026-07-01T00:00:00Z")
        ),
    )
    .await;
    let ids: Vec<&str> = after["requirements"]
        .as_array()
        .expect("requirements")
        .iter()
        .filter_map(|r| r["requirement"].as_str())
        .filter(|r| r.starts_with("PACK-CURR-REQ"))
        .collect();
    assert_eq!(ids, vec!["PACK-CURR-REQ/GMP"], "{after}");
}
