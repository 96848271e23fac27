use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";

fn voiding(target: &str) -> Value {
    json!({
        "actor": {"mbox": "mailto:qa@plant.example"},
        "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": target}
    })
}

async fn fetch(server: &TestServer, query: &str) -> Value {
    let response = server.get_statements(query).await;
    assert_eq!(response.status(), 200, "GET {query}");
    response.json().await.expect("json")
}

#[tokio::test]
async fn post_stores_and_fills_id_stored_authority_version_timestamp_d_2_4() {
    let server = TestServer::start().await;
    let ids = server.store(&statement()).await;
    assert_eq!(ids.len(), 1);
    let got = fetch(&server, &format!("statementId={}", ids[0])).await;
    assert_eq!(got["id"], ids[0].as_str());
    assert_eq!(got["version"], "1.0.0");
    assert!(got["stored"].as_str().expect("stored").ends_with('Z'));
    assert_eq!(
        got["timestamp"], got["stored"],
        "a missing timestamp is set to stored"
    );
    assert_eq!(got["actor"], statement()["actor"]);
    let v2 = TestServer::start().await.with_version("2.0.0");
    let ids = v2.store(&statement()).await;
    assert_eq!(
        fetch(&v2, &format!("statementId={}", ids[0])).await["version"],
        "2.0.0"
    );
}

#[tokio::test]
async fn post_batch_returns_ids_in_order_c_2_1_2() {
    let server = TestServer::start().await;
    let given = uuid();
    let mut second = statement();
    second["id"] = json!(given);
    let ids = server
        .store(&json!([statement(), second, statement()]))
        .await;
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[1], given);
    assert_eq!(server.query("").await.len(), 3);
}

#[tokio::test]
async fn a_bad_statement_rejects_the_whole_batch_c_3_2() {
    let server = TestServer::start().await;
    let bad = with(statement(), "/verb/id", json!("not an iri"));
    let message = expect_status(
        server
            .post_statements(&json!([statement(), bad, statement()]))
            .await,
        400,
    )
    .await;
    assert!(
        message.contains("[1].verb.id"),
        "the message names the statement and field: {message}"
    );
    assert!(
        server.query("").await.is_empty(),
        "nothing of the batch is stored"
    );
}

#[tokio::test]
async fn a_batch_with_a_repeated_id_is_refused_c_2_1_2() {
    let server = TestServer::start().await;
    let id = uuid();
    let mut a = statement();
    a["id"] = json!(id);
    expect_status(server.post_statements(&json!([a.clone(), a])).await, 400).await;
    assert!(server.query("").await.is_empty());
}

#[tokio::test]
async fn put_stores_under_the_given_id_c_2_1_1() {
    let server = TestServer::start().await;
    let id = uuid();
    let response = server.put_statement(&id, &statement()).await;
    assert_eq!(response.status(), 204);
    assert!(
        response
            .headers()
            .get("x-experience-api-consistent-through")
            .is_some()
    );
    assert_eq!(
        fetch(&server, &format!("statementId={id}")).await["id"],
        id.as_str()
    );
}

#[tokio::test]
async fn put_needs_a_valid_statement_id_that_matches_the_body_c_2_1_1() {
    let server = TestServer::start().await;
    let response = server
        .request(Method::PUT, "/xapi/statements")
        .json(&statement())
        .send()
        .await
        .expect("send");
    let message = expect_status(response, 400).await;
    assert!(message.contains("statementId"), "{message}");
    expect_status(server.put_statement("not-a-uuid", &statement()).await, 400).await;
    let mut other = statement();
    other["id"] = json!(uuid());
    expect_status(server.put_statement(&uuid(), &other).await, 400).await;
    expect_status(
        server.put_statement(&uuid(), &json!([statement()])).await,
        400,
    )
    .await;
    assert!(server.query("").await.is_empty());
}

#[tokio::test]
async fn same_id_same_content_is_a_no_op_different_content_is_409_d_2_3_1() {
    let server = TestServer::start().await;
    let id = uuid();
    assert_eq!(server.put_statement(&id, &statement()).await.status(), 204);
    let before = fetch(&server, &format!("statementId={id}")).await;
    // Same statement again: PUT and POST both succeed and change nothing.
    assert_eq!(server.put_statement(&id, &statement()).await.status(), 204);
    let mut again = statement();
    again["id"] = json!(id.to_uppercase());
    again["verb"]["display"] = json!({"de": "abgeschlossen"});
    assert_eq!(
        server.post_statements(&again).await.status(),
        200,
        "verb display is not part of the statement"
    );
    // Different content under the same id.
    let changed = with(
        statement(),
        "/object/id",
        json!("https://plant.example/sop/gowning/v4"),
    );
    let message = expect_status(server.put_statement(&id, &changed).await, 409).await;
    assert!(message.contains(&id), "{message}");
    let mut changed_post = changed.clone();
    changed_post["id"] = json!(id);
    expect_status(
        server
            .post_statements(&json!([statement(), changed_post]))
            .await,
        409,
    )
    .await;
    assert_eq!(
        fetch(&server, &format!("statementId={id}")).await,
        before,
        "the stored statement is untouched"
    );
    assert_eq!(
        server.query("").await.len(),
        1,
        "the conflicting batch stored nothing"
    );
}

#[tokio::test]
async fn voided_statements_are_found_only_by_voided_statement_id_c_2_1_4_a3() {
    let server = TestServer::start().await;
    let target = server.store(&statement()).await.remove(0);
    let original = fetch(&server, &format!("statementId={target}")).await;
    let voider = server.store(&voiding(&target)).await.remove(0);
    expect_status(
        server
            .get_statements(&format!("statementId={target}"))
            .await,
        404,
    )
    .await;
    assert_eq!(
        fetch(&server, &format!("voidedStatementId={target}")).await,
        original,
        "byte for byte the original"
    );
    // The voiding statement itself is an ordinary statement.
    assert_eq!(
        fetch(&server, &format!("statementId={voider}")).await["object"]["id"],
        target.as_str()
    );
    expect_status(
        server
            .get_statements(&format!("voidedStatementId={voider}"))
            .await,
        404,
    )
    .await;
    let listed: Vec<String> = server
        .query("")
        .await
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(
        listed,
        vec![voider],
        "queries never return voided statements"
    );
}

#[tokio::test]
async fn a_voiding_statement_cannot_be_voided_d_2_3_2() {
    let server = TestServer::start().await;
    let target = server.store(&statement()).await.remove(0);
    let voider = server.store(&voiding(&target)).await.remove(0);
    let second = server.store(&voiding(&voider)).await.remove(0);
    assert_eq!(
        fetch(&server, &format!("statementId={voider}")).await["id"],
        voider.as_str()
    );
    expect_status(
        server
            .get_statements(&format!("voidedStatementId={voider}"))
            .await,
        404,
    )
    .await;
    assert_eq!(server.query("").await.len(), 2, "{second} and {voider}");
}

#[tokio::test]
async fn voiding_an_unknown_statement_is_accepted_and_applies_when_it_arrives_d_2_3_2() {
    let server = TestServer::start().await;
    let target = uuid();
    server.store(&voiding(&target)).await;
    let mut late = statement();
    late["id"] = json!(target);
    server.store(&late).await;
    expect_status(
        server
            .get_statements(&format!("statementId={target}"))
            .await,
        404,
    )
    .await;
    fetch(&server, &format!("voidedStatementId={target}")).await;
}

#[tokio::test]
async fn voiding_needs_a_statement_ref_object_d_2_3_2() {
    let server = TestServer::start().await;
    let bad = with(statement(), "/verb/id", json!(VOIDED));
    let message = expect_status(server.post_statements(&bad).await, 400).await;
    assert!(message.contains("StatementRef"), "{message}");
}

#[tokio::test]
async fn single_get_rules_c_2_1_3() {
    let server = TestServer::start().await;
    let id = server.store(&statement()).await.remove(0);
    expect_status(
        server
            .get_statements(&format!("statementId={id}&voidedStatementId={id}"))
            .await,
        400,
    )
    .await;
    expect_status(
        server
            .get_statements(&format!("statementId={id}&limit=1"))
            .await,
        400,
    )
    .await;
    expect_status(
        server
            .get_statements(&format!("statementId={id}&verb=http://x.example/v"))
            .await,
        400,
    )
    .await;
    expect_status(server.get_statements("statementId=nope").await, 400).await;
    expect_status(
        server
            .get_statements(&format!("statementId={}", uuid()))
            .await,
        404,
    )
    .await;
    let response = server
        .get_statements(&format!(
            "statementId={}&format=ids&attachments=false",
            id.to_uppercase()
        ))
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("last-modified").is_some());
    let got: Value = response.json().await.expect("json");
    assert_eq!(
        got["verb"],
        json!({"id": "http://adlnet.gov/expapi/verbs/completed"})
    );
}

#[tokio::test]
async fn refuses_bodies_that_are_not_json_statements_c_3_2() {
    let server = TestServer::start().await;
    let cases: Vec<(&str, &str)> = vec![
        ("application/json", "{not json"),
        ("application/json", "\"a string\""),
        ("application/json", r#"{"actor": {"mbox": "mailto:a@b.c"}, "actor": {"mbox": "mailto:x@y.z"}, "verb": {"id": "http://v.example/v"}, "object": {"id": "http://o.example/o"}}"#),
        ("text/plain", &statement().to_string()),
        ("", &statement().to_string()),
    ]
    .into_iter()
    .map(|(t, b)| (t, Box::leak(b.to_string().into_boxed_str()) as &str))
    .collect();
    for (content_type, body) in cases {
        let mut request = server
            .request(Method::POST, "/xapi/statements")
            .body(body.to_string());
        if !content_type.is_empty() {
            request = request.header("Content-Type", content_type);
        }
        let response = request.send().await.expect("send");
        expect_status(response, 400).await;
    }
    // Valid JSON nested deeper than the parser reads: refused, and said so.
    let mut deep = statement();
    deep["result"] = json!({"extensions": {"http://example.com/deep": 0}});
    let nested = format!("{}0{}", "[".repeat(150), "]".repeat(150));
    let body = deep.to_string().replace(
        "\"http://example.com/deep\":0",
        &format!("\"http://example.com/deep\":{nested}"),
    );
    let response = server
        .request(Method::POST, "/xapi/statements")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    let message = expect_status(response, 400).await;
    assert!(message.contains("more than 128 deep"), "{message}");
    assert!(server.query("").await.is_empty());
}

#[tokio::test]
async fn v2_converts_timestamps_to_utc_2_0_4_2_7() {
    let server = TestServer::start().await.with_version("2.0.0");
    let mut s = statement();
    s["timestamp"] = json!("2026-03-01T12:00:00+02:00");
    let id = server.store(&s).await.remove(0);
    let got = fetch(&server, &format!("statementId={id}")).await;
    assert_eq!(got["timestamp"], "2026-03-01T10:00:00Z");
}

#[tokio::test]
async fn durations_take_a_fraction_on_the_lowest_order_and_compare_to_the_hundredth_d_4_6() {
    let server = TestServer::start().await;
    let lasting = |duration: &str| {
        let mut s = statement();
        s["result"] = json!({"duration": duration});
        s
    };
    let id = uuid();
    assert_eq!(
        server.put_statement(&id, &lasting("PT0.5H")).await.status(),
        204
    );
    expect_status(server.post_statements(&lasting("PT0.5H1M")).await, 400).await;

    let id = uuid();
    assert_eq!(
        server
            .put_statement(&id, &lasting("PT1.001S"))
            .await
            .status(),
        204
    );
    assert_eq!(
        server.put_statement(&id, &lasting("PT1S")).await.status(),
        204,
        "precision beyond 0.01 s is not compared"
    );
    expect_status(server.put_statement(&id, &lasting("PT1.01S")).await, 409).await;
    let got = fetch(&server, &format!("statementId={id}")).await;
    assert_eq!(got["result"]["duration"], "PT1.001S", "the first one stays");
}

#[tokio::test]
async fn an_empty_context_activities_map_is_accepted_and_kept_d_2_4_6_2() {
    let server = TestServer::start().await;
    let id = uuid();
    let mut s = statement();
    s["context"] = json!({"contextActivities": {}, "platform": "recipe"});
    assert_eq!(server.put_statement(&id, &s).await.status(), 204);
    assert_eq!(
        server.put_statement(&id, &s).await.status(),
        204,
        "the same again"
    );
    let got = fetch(&server, &format!("statementId={id}")).await;
    assert_eq!(got["context"]["contextActivities"], json!({}));
}

#[tokio::test]
async fn every_statement_response_has_consistent_through_c_2_1_3() {
    let server = TestServer::start().await;
    let post = server.post_statements(&statement()).await;
    let header = post.headers()["x-experience-api-consistent-through"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(header.parse::<jiff::Timestamp>().is_ok(), "{header}");
    let query = server.get_statements("").await;
    assert!(
        query
            .headers()
            .get("x-experience-api-consistent-through")
            .is_some()
    );
    let bad = server.get_statements("limit=x").await;
    assert!(
        bad.headers()
            .get("x-experience-api-consistent-through")
            .is_some()
    );
}
