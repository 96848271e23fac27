//! The compliance API end to end: facts in, xAPI statements in, qualification out (issue 9;
//! regulated.md Part 3 scenarios through HTTP).
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const V7: &str = "https://qms.example/doc/SOP-123/v7";

async fn fact(server: &TestServer, fact: Value) -> u16 {
    let response = server
        .request(Method::POST, "/api/compliance/facts")
        .json(&json!({"reason": "initial load from HR/QMS", "fact": fact}))
        .send()
        .await
        .expect("send");
    response.status().as_u16()
}

async fn status(server: &TestServer, query: &str) -> Value {
    let response = server
        .request(Method::GET, &format!("/api/compliance/status?{query}"))
        .send()
        .await
        .expect("send");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "{body}");
    body
}

fn enc(t: &str) -> String {
    t.replace(':', "%3A").replace('+', "%2B")
}

/// Ann (HR id E7) in packaging, which requires SOP-123; v7 effective 2026-01-01; mastery 0.8.
async fn master_data(server: &TestServer) {
    for f in [
        json!({"kind": "person_identifier", "person": "ann", "agent": {"account": {"homePage": "https://hr.example", "name": "E7"}}}),
        json!({"kind": "membership", "person": "ann", "function": "packaging", "valid_from": "2025-01-01T00:00:00Z", "valid_to": null}),
        json!({"kind": "rule", "id": "quiz", "version": 1, "move_on": "PASSED", "mastery": 0.8, "effective_from": "2025-01-01T00:00:00Z"}),
        json!({"kind": "procedure_version", "procedure": "SOP-123", "version": "7", "activity_iri": V7, "effective_from": "2026-01-01T00:00:00Z", "impact": "FULL", "rule": "quiz"}),
        json!({"kind": "requirement", "id": "pack-sop-123", "function": "packaging", "procedure": "SOP-123", "grace_days": null, "recurrence_days": null, "valid_from": "2025-01-01T00:00:00Z", "valid_to": null}),
    ] {
        assert_eq!(fact(server, f).await, 201);
    }
}

fn passed(score: f64, timestamp: &str) -> Value {
    json!({
        "actor": {"account": {"homePage": "https://hr.example", "name": "E7"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
        "object": {"id": V7},
        "result": {"score": {"scaled": score}},
        "timestamp": timestamp
    })
}

#[tokio::test]
async fn s1_trained_at_the_time_of_the_step_with_the_evidence() {
    let server = TestServer::start().await;
    master_data(&server).await;
    server.store(&passed(0.6, "2026-02-01T08:00:00Z")).await;
    let id = server
        .store(&passed(0.9, "2026-02-02T08:00:00Z"))
        .await
        .remove(0);
    let q = status(
        &server,
        &format!(
            "person=ann&procedure=SOP-123&at={}",
            enc("2026-03-04T09:12:00Z")
        ),
    )
    .await;
    assert_eq!(q["status"], "QUALIFIED", "{q}");
    assert_eq!(q["version"], "7");
    assert_eq!(q["evidence"], json!([id]));
    assert_eq!(q["rule"], json!({"id": "quiz", "version": 1}));
    let before = status(
        &server,
        &format!(
            "person=ann&procedure=SOP-123&at={}",
            enc("2026-02-01T12:00:00Z")
        ),
    )
    .await;
    assert_eq!(
        before["status"], "NOT_QUALIFIED",
        "the failed 0.6 attempt does not count: {before}"
    );
    let function = status(
        &server,
        &format!(
            "person=ann&function=packaging&at={}",
            enc("2026-03-04T09:12:00Z")
        ),
    )
    .await;
    assert_eq!(function["status"], "QUALIFIED", "{function}");
    assert_eq!(function["requirements"][0]["requirement"], "pack-sop-123");
}

#[tokio::test]
async fn s4_s6_as_known_then_differs_from_as_known_now() {
    let server = TestServer::start().await;
    master_data(&server).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let before_pass = jiff::Timestamp::now().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // S6: a completion dated 2026-02-02 but stored only now.
    let id = server
        .store(&passed(0.9, "2026-02-02T08:00:00Z"))
        .await
        .remove(0);
    let after_pass = jiff::Timestamp::now().to_string();
    // As known before the statement was stored, she was not trained on 2026-03-01.
    let q = status(
        &server,
        &format!(
            "person=ann&procedure=SOP-123&at={}&asKnownAt={}",
            enc("2026-03-01T00:00:00Z"),
            enc(&before_pass)
        ),
    )
    .await;
    assert_eq!(
        (q["status"].as_str(), q["reason"].as_str()),
        (Some("NOT_QUALIFIED"), Some("NEVER_TRAINED")),
        "{q}"
    );
    // S4: void the pass; as known now the evidence is gone, as known before the void it stands.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    server
        .store(&json!({
            "actor": {"mbox": "mailto:qa@plant.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": id}
        }))
        .await;
    let now = status(
        &server,
        &format!(
            "person=ann&procedure=SOP-123&at={}",
            enc("2026-03-04T00:00:00Z")
        ),
    )
    .await;
    assert_eq!(
        (now["status"].as_str(), now["reason"].as_str()),
        (Some("NOT_QUALIFIED"), Some("EVIDENCE_VOIDED")),
        "{now}"
    );
    let then = status(
        &server,
        &format!(
            "person=ann&procedure=SOP-123&at={}&asKnownAt={}",
            enc("2026-03-04T00:00:00Z"),
            enc(&after_pass)
        ),
    )
    .await;
    assert_eq!(then["status"], "QUALIFIED", "{then}");
}

#[tokio::test]
async fn facts_are_validated_need_a_reason_and_are_ledgered_a4() {
    let server = TestServer::start().await;
    master_data(&server).await;
    let no_reason = server
        .request(Method::POST, "/api/compliance/facts")
        .json(&json!({"fact": {"kind": "membership", "person": "bob", "function": "f", "valid_from": "2025-01-01T00:00:00Z", "valid_to": null}}))
        .send()
        .await
        .expect("send");
    assert_eq!(no_reason.status(), 400);
    assert_eq!(
        fact(&server, json!({"kind": "membership", "person": "bob"})).await,
        400
    );
    assert_eq!(
        fact(&server, json!({"kind": "shoe_size", "person": "bob"})).await,
        400
    );
    let huge = json!({"kind": "requirement", "id": "r", "function": "f", "procedure": "p", "grace_days": i64::MAX, "recurrence_days": null, "valid_from": "2025-01-01T00:00:00Z", "valid_to": null});
    assert_eq!(
        fact(&server, huge).await,
        400,
        "a day count that would overflow is refused"
    );
    let mastery = json!({"kind": "rule", "id": "q", "version": 1, "move_on": "PASSED", "mastery": 1.5, "effective_from": "2025-01-01T00:00:00Z"});
    assert_eq!(fact(&server, mastery).await, 400);
    assert_eq!(
        fact(
            &server,
            json!({"kind": "person_identifier", "person": "bob", "agent": {"mbox": "bob@x"}})
        )
        .await,
        400
    );
    // An identifier names one person forever.
    let reuse = json!({"kind": "person_identifier", "person": "bob", "agent": {"account": {"homePage": "https://hr.example", "name": "E7"}}});
    assert_eq!(fact(&server, reuse).await, 409);
    let facts: Value = server
        .request(Method::GET, "/api/compliance/facts")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(
        facts["facts"].as_array().map(Vec::len),
        Some(5),
        "refused facts change nothing"
    );
    assert_eq!(facts["facts"][0]["reason"], "initial load from HR/QMS");
    let entries: Value = server
        .request(Method::GET, "/api/audit/entries?limit=1000")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let recorded = entries["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "compliance.record")
        .count();
    assert_eq!(recorded, 5);
    let bad = server
        .request(
            Method::GET,
            "/api/compliance/status?person=ann&procedure=SOP-123&function=packaging",
        )
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 400);
}

/// `GET /facts` pages by id: `more` is the `after` of the next page; bad paging is a 400.
#[tokio::test]
async fn facts_are_listed_a_page_at_a_time() {
    let server = TestServer::start().await;
    master_data(&server).await;
    let page = |query: &str| {
        let server = &server;
        let path = format!("/api/compliance/facts{query}");
        async move {
            let response = server
                .request(Method::GET, &path)
                .send()
                .await
                .expect("send");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        }
    };
    let (status, all) = page("").await;
    assert_eq!(status, 200);
    let total = all["facts"].as_array().expect("facts").len();
    assert!(total >= 3, "{all}");
    assert_eq!(all["more"], Value::Null);
    let (_, first) = page("?limit=2").await;
    assert_eq!(first["facts"].as_array().expect("facts").len(), 2);
    let after = first["more"].as_i64().expect("more");
    assert_eq!(after, first["facts"][1]["id"].as_i64().expect("id"));
    let (_, rest) = page(&format!("?after={after}&limit=1000")).await;
    assert_eq!(rest["facts"].as_array().expect("facts").len(), total - 2);
    assert_eq!(rest["facts"][0]["id"], all["facts"][2]["id"]);
    for bad in [
        "?limit=0",
        "?limit=x",
        "?after=y",
        "?person=ann",
        "?kind=person",
    ] {
        assert_eq!(page(bad).await.0, 400, "{bad}");
    }
}

/// Facts may arrive in any order (HR before QMS), so an id no fact defines is accepted, with a
/// warning that names it.
#[tokio::test]
async fn facts_naming_unknown_ids_are_recorded_with_a_warning() {
    let server = TestServer::start().await;
    let response = server
        .request(Method::POST, "/api/compliance/facts")
        .json(&json!({"reason": "QMS feed first", "facts": [
            {"kind": "membership", "person": "zed", "function": "packaging", "site": "Z", "valid_from": "2025-01-01T00:00:00Z"},
            {"kind": "person", "id": "amy", "name": "Amy"},
            {"kind": "membership", "person": "amy", "function": "packaging", "valid_from": "2025-01-01T00:00:00Z"},
            {"kind": "requirement", "id": "R", "function": "packaging", "procedure": "SOP-404", "valid_from": "2025-01-01T00:00:00Z"}
        ]}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["warnings"],
        json!([
            "facts[0]: person 'zed' is not known (yet)",
            "facts[0]: site 'Z' is not known (yet)",
            "facts[3]: procedure 'SOP-404' is not known (yet)"
        ])
    );
    let response = server
        .request(Method::POST, "/api/compliance/facts")
        .json(&json!({"reason": "HR feed", "fact": {"kind": "person", "id": "zed", "name": "Zed"}}))
        .send()
        .await
        .expect("send");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["warnings"], json!([]));
    let response = server
        .request(Method::POST, "/api/compliance/facts")
        .json(&json!({"reason": "QA", "fact": {"kind": "role", "person": "nobody", "role": "QA", "valid_from": "2025-01-01T00:00:00Z"}}))
        .send()
        .await
        .expect("send");
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["warnings"],
        json!(["fact: person 'nobody' is not known (yet)"])
    );
    let response = server
        .request(Method::POST, "/api/compliance/import/people?reason=HR")
        .header("Content-Type", "text/csv")
        .body("person,name,employee_no,account_home_page,account_name,function,site,valid_from,valid_to\nbea,Bea,E9,https://hr.example,E9,packaging,Q,2025-06-01T00:00:00Z,\n")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["warnings"],
        json!(["line 2: site 'Q' is not known (yet)"])
    );
    for bad in [
        json!({"kind": "role", "person": "amy", "role": "JANITOR", "valid_from": "2025-01-01T00:00:00Z"}),
        json!({"kind": "role", "person": "amy", "role": "QA", "valid_from": "2025-01-01T00:00:00Z", "valid_to": "2024-01-01T00:00:00Z"}),
    ] {
        assert_eq!(fact(&server, bad.clone()).await, 400, "{bad}");
    }
}

/// One activity IRI names one procedure version and no effectiveness check: otherwise one
/// statement would be evidence for each (409, nothing recorded).
#[tokio::test]
async fn an_activity_iri_names_one_version() {
    let server = TestServer::start().await;
    master_data(&server).await;
    let before = fact(
        &server,
        json!({"kind": "procedure_version", "procedure": "SOP-123", "version": "7", "activity_iri": V7,
               "effective_from": "2026-01-01T00:00:00Z", "impact": "FULL", "rule": "sop-quiz"}),
    )
    .await;
    assert!(
        before == 200 || before == 201,
        "the same version again: {before}"
    );
    for clash in [
        json!({"kind": "procedure_version", "procedure": "SOP-123", "version": "8", "activity_iri": V7,
               "effective_from": "2026-06-01T00:00:00Z", "impact": "FULL", "rule": "sop-quiz"}),
        json!({"kind": "procedure_version", "procedure": "SOP-9", "version": "1", "activity_iri": V7,
               "effective_from": "2026-06-01T00:00:00Z", "impact": "FULL", "rule": "sop-quiz"}),
        json!({"kind": "requirement", "id": "R2", "person": "ann", "procedure": "SOP-123",
               "effectiveness": {"activity_iri": V7, "after_days": 30, "mastery": 0.8},
               "valid_from": "2026-01-01T00:00:00Z"}),
    ] {
        assert_eq!(fact(&server, clash.clone()).await, 409, "{clash}");
    }
}

/// A void stored before its target (xAPI lets it arrive first): the target is voided from the
/// start, also for an engine already built and brought up to date statement by statement.
#[tokio::test]
async fn a_statement_whose_void_came_first_never_counts() {
    let server = TestServer::start().await;
    master_data(&server).await;
    let now = || enc(&jiff::Timestamp::now().to_string());
    let before = status(
        &server,
        &format!("person=ann&procedure=SOP-123&at={}", now()),
    )
    .await;
    assert_eq!(before["status"], "NOT_QUALIFIED", "the engine is built now");
    let target = uuid();
    server
        .store(
            &json!({"actor": {"account": {"homePage": "https://hr.example", "name": "QA9"}},
                       "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                       "object": {"objectType": "StatementRef", "id": target}}),
        )
        .await;
    let mut late = passed(0.9, "2026-02-01T09:00:00Z");
    late["id"] = json!(target);
    server.store(&late).await;
    let after = status(
        &server,
        &format!("person=ann&procedure=SOP-123&at={}", now()),
    )
    .await;
    assert_eq!(after["status"], "NOT_QUALIFIED", "{after}");
}

/// `R/ITEM` names the requirements of a curriculum requirement: no explicit requirement id has
/// a '/' (400, nothing recorded).
#[tokio::test]
async fn a_requirement_id_has_no_slash() {
    let server = TestServer::start().await;
    master_data(&server).await;
    let status = fact(
        &server,
        json!({"kind": "requirement", "id": "PACK/SOP-123", "function": "packaging", "procedure": "SOP-123",
               "valid_from": "2025-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(status, 400);
}

/// U+0000 in a reason, an id, a name or a CSV cell is a 400 that says where, and records nothing
/// (PostgreSQL keeps no U+0000 in a text column: a reason holding one was a 500 there; an id
/// holding one could never be asked for, since no query parameter may hold it).
#[tokio::test]
async fn u0000_in_any_compliance_or_admin_body_is_refused_and_records_nothing() {
    let server = TestServer::start().await;
    master_data(&server).await;
    // How many facts (xAPI credential) and credentials (admin credential) are recorded.
    let counts = || async {
        let list = |request: reqwest::RequestBuilder, name: &'static str| async move {
            let body: Value = request
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            body[name].as_array().map(Vec::len)
        };
        let facts = list(
            server.request(Method::GET, "/api/compliance/facts"),
            "facts",
        )
        .await;
        let credentials = list(
            reqwest::Client::new()
                .get(server.url("/api/admin/credentials"))
                .basic_auth(ADMIN_KEY, Some(ADMIN_SECRET)),
            "credentials",
        )
        .await;
        (facts, credentials)
    };
    let before = counts().await;
    for (path, body, at) in [
        (
            "/api/compliance/facts",
            json!({"reason": "HR\u{0}load", "fact": {"kind": "person", "id": "amy", "name": "Amy"}}),
            "/reason",
        ),
        (
            "/api/compliance/facts",
            json!({"reason": "HR", "facts": [{"kind": "person", "id": "amy", "name": "Amy"},
                                             {"kind": "person", "id": "b\u{0}b", "name": "Bob"}]}),
            "/facts/1/id",
        ),
        (
            "/api/compliance/decisions",
            json!({"person": "a\u{0}nn", "procedure": "SOP-123"}),
            "/person",
        ),
        (
            "/api/compliance/signers",
            json!({"person": "ann", "verifiedBy": "qa", "identityEvidence": "badge\u{0}",
                   "reason": "enrolment", "password": "temporary-password-1"}),
            "/identityEvidence",
        ),
    ] {
        let response = server
            .request(Method::POST, path)
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 400, "{path} {body}");
        let message = response.text().await.unwrap_or_default();
        assert!(
            message.contains(&format!("the body at {at} contains the character U+0000")),
            "{path}: {message}"
        );
    }
    let csv = server
        .request(Method::POST, "/api/compliance/import/people?reason=HR")
        .header("Content-Type", "text/csv")
        .body("person,name,employee_no,account_home_page,account_name,function,site,valid_from,valid_to\nbea,B\0ea,E9,https://hr.example,E9,packaging,Q,2025-06-01T00:00:00Z,\n")
        .send()
        .await
        .expect("send");
    assert_eq!(csv.status(), 400);
    assert!(csv.text().await.unwrap_or_default().contains("U+0000"));
    let credential = reqwest::Client::new()
        .post(server.url("/api/admin/credentials"))
        .basic_auth(ADMIN_KEY, Some(ADMIN_SECRET))
        .json(&json!({"name": "L\u{0}MS", "key": "lms", "secret": "lms-secret"}))
        .send()
        .await
        .expect("send");
    assert_eq!(credential.status(), 400);
    assert_eq!(
        counts().await,
        before,
        "no fact recorded, no credential created"
    );
}
