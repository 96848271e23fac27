//! State, Activity Profile, Agent Profile, Agents and Activities (Communication 2.2–2.7, 3.1).
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const ACTIVITY: &str = "https://plant.example/sim/cleanroom";

fn enc(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).expect("encode")[2..].to_string()
}

fn ann() -> String {
    enc(r#"{"mbox":"mailto:ann@plant.example"}"#)
}

fn state_path(extra: &str) -> String {
    format!(
        "/xapi/activities/state?activityId={}&agent={}{extra}",
        enc(ACTIVITY),
        ann()
    )
}

fn profile_path(id: &str) -> String {
    format!(
        "/xapi/activities/profile?activityId={}&profileId={id}",
        enc(ACTIVITY)
    )
}

async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = server.request(method, path);
    if let Some((content_type, bytes)) = body {
        request = request.header("Content-Type", content_type).body(bytes);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("send")
}

fn json_body(value: Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", value.to_string().into_bytes()))
}

#[tokio::test]
async fn state_round_trips_bytes_and_content_type_with_etag_c_2_3() {
    let server = TestServer::start().await;
    let bytes: Vec<u8> = (0..=255u8).collect();
    let path = state_path("&stateId=bookmark");
    let put = send(
        &server,
        Method::PUT,
        &path,
        Some(("application/octet-stream", bytes.clone())),
        &[],
    )
    .await;
    assert_eq!(put.status(), 204);
    let got = send(&server, Method::GET, &path, None, &[]).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "application/octet-stream");
    let etag = got.headers()["etag"].to_str().expect("etag").to_string();
    assert_eq!(
        etag,
        format!("\"{}\"", xapi::document::etag(&bytes)),
        "quoted SHA-1 of the content"
    );
    assert!(got.headers().get("last-modified").is_some());
    assert_eq!(got.bytes().await.expect("body").to_vec(), bytes);
    let head = send(&server, Method::HEAD, &path, None, &[]).await;
    assert_eq!(head.status(), 200);
    assert!(head.bytes().await.expect("body").is_empty());
    let missing = send(
        &server,
        Method::GET,
        &state_path("&stateId=nothing"),
        None,
        &[],
    )
    .await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn state_post_merges_json_objects_and_refuses_anything_else_c_2_2() {
    let server = TestServer::start().await;
    let path = state_path("&stateId=progress");
    assert_eq!(
        send(
            &server,
            Method::POST,
            &path,
            json_body(json!({"a": 1, "b": 1})),
            &[]
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        send(
            &server,
            Method::POST,
            &path,
            json_body(json!({"b": 2, "c": 3})),
            &[]
        )
        .await
        .status(),
        204
    );
    let merged: Value = send(&server, Method::GET, &path, None, &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(merged, json!({"a": 1, "b": 2, "c": 3}));
    expect_status(
        send(
            &server,
            Method::POST,
            &path,
            Some(("text/plain", b"hello".to_vec())),
            &[],
        )
        .await,
        400,
    )
    .await;
    expect_status(
        send(&server, Method::POST, &path, json_body(json!([1, 2])), &[]).await,
        400,
    )
    .await;
    let text_path = state_path("&stateId=note");
    send(
        &server,
        Method::PUT,
        &text_path,
        Some(("text/plain", b"free text".to_vec())),
        &[],
    )
    .await;
    expect_status(
        send(
            &server,
            Method::POST,
            &text_path,
            json_body(json!({"a": 1})),
            &[],
        )
        .await,
        400,
    )
    .await;
    let unchanged: Value = send(&server, Method::GET, &path, None, &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        unchanged,
        json!({"a": 1, "b": 2, "c": 3}),
        "a refused POST changes nothing"
    );
}

/// "all state data for this context (Activity + Agent [+ registration if specified])" (C 2.3):
/// without a registration, the ids and a delete of all cover every registration; a single
/// document's key includes its registration.
#[tokio::test]
async fn state_ids_since_registration_and_delete_all_c_2_3() {
    let server = TestServer::start().await;
    let registration = uuid();
    let with_registration = format!("&registration={registration}");
    let put = |id: &'static str, extra: String, body: Value| {
        let server = &server;
        async move {
            let path = state_path(&format!("&stateId={id}{extra}"));
            let response = send(server, Method::PUT, &path, json_body(body), &[]).await;
            assert_eq!(response.status(), 204, "{path}");
        }
    };
    let ids = |extra: String| {
        let server = &server;
        async move {
            send(server, Method::GET, &state_path(&extra), None, &[])
                .await
                .json::<Vec<String>>()
                .await
                .expect("json")
        }
    };
    for id in ["s1", "s2"] {
        put(id, String::new(), json!({"id": id})).await;
    }
    put("r1", with_registration.clone(), json!({})).await;
    put("s1", with_registration.clone(), json!({"registered": true})).await;

    assert_eq!(
        ids(String::new()).await,
        vec!["r1", "s1", "s2"],
        "every registration, each id once"
    );
    assert_eq!(ids(with_registration.clone()).await, vec!["r1", "s1"]);
    let unregistered: Value = send(&server, Method::GET, &state_path("&stateId=s1"), None, &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        unregistered,
        json!({"id": "s1"}),
        "registration is part of a document's key"
    );
    assert!(
        ids(format!("&since={}", enc("2999-01-01T00:00:00Z")))
            .await
            .is_empty()
    );
    assert_eq!(
        ids(format!("&since={}", enc("2000-01-01T00:00:00Z")))
            .await
            .len(),
        3
    );

    let delete = |extra: String| {
        let server = &server;
        async move {
            send(server, Method::DELETE, &state_path(&extra), None, &[])
                .await
                .status()
        }
    };
    assert_eq!(delete(with_registration.clone()).await, 204);
    assert_eq!(
        ids(String::new()).await,
        vec!["s1", "s2"],
        "a delete with a registration leaves the other documents alone"
    );
    put("r1", with_registration.clone(), json!({})).await;
    assert_eq!(delete(String::new()).await, 204);
    assert!(ids(String::new()).await.is_empty());
    assert!(
        ids(with_registration).await.is_empty(),
        "a delete without a registration covers every registration"
    );
}

#[tokio::test]
async fn document_parameters_are_validated_c_2_3_c_3_2() {
    let server = TestServer::start().await;
    let cases = [
        format!("/xapi/activities/state?agent={}&stateId=x", ann()),
        format!(
            "/xapi/activities/state?activityId={}&stateId=x",
            enc(ACTIVITY)
        ),
        format!(
            "/xapi/activities/state?activityId=not-an-iri&agent={}&stateId=x",
            ann()
        ),
        format!(
            "/xapi/activities/state?activityId={}&agent=%7Bbad&stateId=x",
            enc(ACTIVITY)
        ),
        format!(
            "/xapi/activities/state?activityId={}&agent={}&stateId=x",
            enc(ACTIVITY),
            enc(r#"{"objectType":"Group","member":[{"mbox":"mailto:a@b.c"}]}"#)
        ),
        state_path("&registration=nope&stateId=x"),
        state_path("&stateId=x&since=2020-01-01T00:00:00Z"),
        state_path("&StateId=x"),
        state_path("&stateId=x&foo=bar"),
        "/xapi/activities/profile?profileId=x".to_string(),
        "/xapi/agents/profile?profileId=x".to_string(),
    ];
    for path in &cases {
        expect_status(send(&server, Method::GET, path, None, &[]).await, 400).await;
    }
    expect_status(
        send(
            &server,
            Method::PUT,
            &state_path(""),
            json_body(json!({})),
            &[],
        )
        .await,
        400,
    )
    .await;
    expect_status(
        send(
            &server,
            Method::DELETE,
            &format!("/xapi/activities/profile?activityId={}", enc(ACTIVITY)),
            None,
            &[],
        )
        .await,
        400,
    )
    .await;
    // U+0000 in an id: 400 on both backends (PostgreSQL cannot keep it as text), nothing stored.
    expect_status(
        send(
            &server,
            Method::PUT,
            &state_path("&stateId=a%00b"),
            json_body(json!({"k": 1})),
            &[],
        )
        .await,
        400,
    )
    .await;
    let ids = send(&server, Method::GET, &state_path(""), None, &[]).await;
    assert_eq!(ids.status(), 200);
    assert_eq!(ids.json::<Value>().await.expect("json"), json!([]));
}

#[tokio::test]
async fn profile_put_over_an_existing_document_needs_a_precondition_c_3_1() {
    let server = TestServer::start().await;
    let path = profile_path("rules");
    // 1.0.3: even a create needs a header (the ADL suite, XAPI-00273); 2.0 creates without one.
    expect_status(
        send(&server, Method::PUT, &path, json_body(json!({"v": 1})), &[]).await,
        400,
    )
    .await;
    let v2 = TestServer::start().await.with_version("2.0.0");
    assert_eq!(
        send(&v2, Method::PUT, &path, json_body(json!({"v": 1})), &[])
            .await
            .status(),
        204
    );
    assert_eq!(
        send(
            &server,
            Method::PUT,
            &path,
            json_body(json!({"v": 1})),
            &[("If-None-Match", "*")]
        )
        .await
        .status(),
        204,
        "If-None-Match: * creates"
    );
    let message = expect_status(
        send(&server, Method::PUT, &path, json_body(json!({"v": 2})), &[]).await,
        409,
    )
    .await;
    assert!(message.contains("If-Match"), "{message}");
    let etag = send(&server, Method::GET, &path, None, &[]).await.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_string();
    expect_status(
        send(
            &server,
            Method::PUT,
            &path,
            json_body(json!({"v": 2})),
            &[("If-Match", "\"0000\"")],
        )
        .await,
        412,
    )
    .await;
    expect_status(
        send(
            &server,
            Method::PUT,
            &path,
            json_body(json!({"v": 2})),
            &[("If-None-Match", "*")],
        )
        .await,
        412,
    )
    .await;
    expect_status(
        send(
            &server,
            Method::POST,
            &path,
            json_body(json!({"w": 1})),
            &[("If-Match", "\"0000\"")],
        )
        .await,
        412,
    )
    .await;
    expect_status(
        send(
            &server,
            Method::DELETE,
            &path,
            None,
            &[("If-Match", "\"0000\"")],
        )
        .await,
        412,
    )
    .await;
    let unchanged: Value = send(&server, Method::GET, &path, None, &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        unchanged,
        json!({"v": 1}),
        "failed preconditions change nothing"
    );
    // If-Match compares strongly: a weak tag matches nothing; If-None-Match compares weakly
    // (RFC 2616 14.24, 14.26; C 3.1).
    let weak = format!("W/{etag}");
    for header in ["If-Match", "If-None-Match"] {
        expect_status(
            send(
                &server,
                Method::PUT,
                &path,
                json_body(json!({"v": 9})),
                &[(header, &weak)],
            )
            .await,
            412,
        )
        .await;
    }
    assert_eq!(
        send(
            &server,
            Method::PUT,
            &path,
            json_body(json!({"v": 2})),
            &[("If-Match", &etag)]
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        send(
            &server,
            Method::PUT,
            &path,
            json_body(json!({"v": 3})),
            &[("If-Match", "*")]
        )
        .await
        .status(),
        204
    );
    let fresh = profile_path("fresh");
    assert_eq!(
        send(
            &server,
            Method::PUT,
            &fresh,
            json_body(json!({})),
            &[("If-None-Match", "*")]
        )
        .await
        .status(),
        204
    );
    expect_status(
        send(
            &server,
            Method::PUT,
            &profile_path("absent"),
            json_body(json!({})),
            &[("If-Match", "\"abc\"")],
        )
        .await,
        412,
    )
    .await;
    let ids: Vec<String> = send(
        &server,
        Method::GET,
        &format!("/xapi/activities/profile?activityId={}", enc(ACTIVITY)),
        None,
        &[],
    )
    .await
    .json()
    .await
    .expect("ids");
    assert_eq!(ids, vec!["fresh", "rules"]);
    assert_eq!(
        send(&server, Method::DELETE, &path, None, &[])
            .await
            .status(),
        204
    );
    expect_status(send(&server, Method::GET, &path, None, &[]).await, 404).await;
}

#[tokio::test]
async fn agent_profile_documents_belong_to_the_agent_c_2_6() {
    let server = TestServer::start().await;
    let path = |agent: &str| format!("/xapi/agents/profile?agent={}&profileId=prefs", enc(agent));
    let ann = r#"{"mbox":"mailto:ann@plant.example"}"#;
    let bob = r#"{"mbox":"mailto:bob@plant.example"}"#;
    send(
        &server,
        Method::PUT,
        &path(ann),
        json_body(json!({"lang": "de"})),
        &[("If-None-Match", "*")],
    )
    .await;
    let got: Value = send(
        &server,
        Method::GET,
        &path(r#"{"objectType":"Agent","mbox":"mailto:ann@PLANT.example"}"#),
        None,
        &[],
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(
        got,
        json!({"lang": "de"}),
        "the same agent, however written"
    );
    expect_status(send(&server, Method::GET, &path(bob), None, &[]).await, 404).await;
}

#[tokio::test]
async fn concurrent_if_match_writers_lose_no_update_c_3_1() {
    let server = Arc::new(TestServer::start().await);
    let path = profile_path("counter");
    send(
        &server,
        Method::PUT,
        &path,
        json_body(json!({"n": 0})),
        &[("If-None-Match", "*")],
    )
    .await;
    let writers = 8;
    let increments_each = 5;
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (server, path) = (server.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            let mut conflicts = 0;
            while done < increments_each {
                let got = send(&server, Method::GET, &path, None, &[]).await;
                let etag = got.headers()["etag"].to_str().expect("etag").to_string();
                let n = got.json::<Value>().await.expect("json")["n"]
                    .as_i64()
                    .expect("n");
                let put = send(
                    &server,
                    Method::PUT,
                    &path,
                    json_body(json!({"n": n + 1})),
                    &[("If-Match", &etag)],
                )
                .await;
                match put.status().as_u16() {
                    204 => done += 1,
                    412 => conflicts += 1,
                    other => panic!("unexpected {other}"),
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.expect("task");
    }
    let last: Value = send(&server, Method::GET, &path, None, &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        last["n"],
        writers * increments_each,
        "every acknowledged increment is there ({conflicts} refused with 412)"
    );
}

#[tokio::test]
async fn agents_resource_returns_a_person_c_2_4() {
    let server = TestServer::start().await;
    server.store(&statement()).await;
    let person: Value = send(
        &server,
        Method::GET,
        &format!("/xapi/agents?agent={}", ann()),
        None,
        &[],
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(
        person,
        json!({"objectType": "Person", "name": ["Ann Operator"], "mbox": ["mailto:ann@plant.example"]})
    );
    let unknown: Value = send(
        &server,
        Method::GET,
        &format!(
            "/xapi/agents?agent={}",
            enc(r#"{"account":{"homePage":"https://hr.example","name":"E7"}}"#)
        ),
        None,
        &[],
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(
        unknown,
        json!({"objectType": "Person", "account": [{"homePage": "https://hr.example", "name": "E7"}]})
    );
    expect_status(
        send(&server, Method::GET, "/xapi/agents", None, &[]).await,
        400,
    )
    .await;
    expect_status(
        send(
            &server,
            Method::GET,
            &format!(
                "/xapi/agents?agent={}",
                enc(r#"{"objectType":"Group","mbox":"mailto:g@x.org"}"#)
            ),
            None,
            &[],
        )
        .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn activities_resource_returns_the_canonical_activity_c_2_5() {
    let server = TestServer::start().await;
    server.store(&statement()).await;
    let id = "https://plant.example/sop/gowning/v3";
    let activity: Value = send(
        &server,
        Method::GET,
        &format!("/xapi/activities?activityId={}", enc(id)),
        None,
        &[],
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(
        activity,
        json!({"objectType": "Activity", "id": id, "definition": {"name": {"en-US": "Gowning SOP v3"}}})
    );
    let unknown: Value = send(
        &server,
        Method::GET,
        &format!(
            "/xapi/activities?activityId={}",
            enc("https://x.example/none")
        ),
        None,
        &[],
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(
        unknown,
        json!({"objectType": "Activity", "id": "https://x.example/none"})
    );
    expect_status(
        send(&server, Method::GET, "/xapi/activities", None, &[]).await,
        400,
    )
    .await;
    expect_status(
        send(
            &server,
            Method::GET,
            "/xapi/activities?activityId=nope",
            None,
            &[],
        )
        .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn document_writes_are_in_the_ledger_with_what_they_replaced_a2() {
    let server = TestServer::start().await;
    let path = state_path("&stateId=bookmark");
    send(
        &server,
        Method::PUT,
        &path,
        Some(("text/plain", b"page 1".to_vec())),
        &[],
    )
    .await;
    send(
        &server,
        Method::PUT,
        &path,
        Some(("text/plain", b"page 2".to_vec())),
        &[],
    )
    .await;
    send(&server, Method::DELETE, &path, None, &[]).await;
    let entries: Value = server
        .request(Method::GET, "/api/audit/entries")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let documents: Vec<&Value> = entries["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == "document")
        .collect();
    let actions: Vec<&str> = documents
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        vec!["document.put", "document.put", "document.delete"]
    );
    assert!(documents[0]["previousContentHash"].is_null());
    assert_eq!(
        documents[1]["previousContentHash"], documents[0]["contentHash"],
        "an overwrite keeps the hash of what it replaced"
    );
    assert_eq!(
        documents[2]["previousContentHash"], documents[1]["contentHash"],
        "a delete keeps the hash of what it deleted"
    );
}
