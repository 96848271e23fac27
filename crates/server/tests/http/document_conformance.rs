//! Document-resource rules where the ADL conformance suite (1.0.3 and 2.0 batteries) found Attest
//! wanting: the 2.0 409 rule for State, the text of the 409, and the Agents resource's name.
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const ACTIVITY: &str = "http://www.example.com/activityId/hashset";
const RICK: &str = r#"{"objectType":"Agent","account":{"homePage":"http://www.example.com/agentId/1","name":"Rick James"}}"#;

fn enc(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).expect("encode")[2..].to_string()
}

fn state_path(state_id: &str, extra: &str) -> String {
    format!(
        "/xapi/activities/state?activityId={}&agent={}&stateId={state_id}{extra}",
        enc(ACTIVITY),
        enc(RICK)
    )
}

async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = server.request(method, path);
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("send")
}

#[tokio::test]
async fn state_put_over_an_existing_document_without_precondition_is_409_only_under_2_0_c_3_1() {
    let server = TestServer::start().await;
    let path = state_path("bookmark", "");
    // 1.0.3: "The State Resource will permit PUT, POST and DELETE requests without concurrency
    // headers" (Communication 3.1).
    for n in 0..2 {
        assert_eq!(
            send(&server, Method::PUT, &path, Some(json!({ "n": n })), &[])
                .await
                .status(),
            204
        );
    }
    // 2.0 names State among the resources the 409 rule covers (4.1.4); creating still needs no
    // header, and If-Match still lets the write through.
    let server = server.with_version("2.0.0");
    let fresh = state_path("fresh", "");
    assert_eq!(
        send(&server, Method::PUT, &fresh, Some(json!({"n": 0})), &[])
            .await
            .status(),
        204
    );
    expect_status(
        send(&server, Method::PUT, &fresh, Some(json!({"n": 1})), &[]).await,
        409,
    )
    .await;
    let got = send(&server, Method::GET, &fresh, None, &[]).await;
    let etag = got.headers()["etag"].to_str().expect("etag").to_string();
    assert_eq!(
        got.json::<Value>().await.expect("json"),
        json!({"n": 0}),
        "the 409 changed nothing"
    );
    assert_eq!(
        send(
            &server,
            Method::PUT,
            &fresh,
            Some(json!({"n": 2})),
            &[("If-Match", &etag)]
        )
        .await
        .status(),
        204
    );
    // POST merges without a header in both versions.
    assert_eq!(
        send(&server, Method::POST, &fresh, Some(json!({"m": 1})), &[])
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn put_conflict_explains_itself_in_plain_text_c_3_1() {
    let server = TestServer::start().await.with_version("2.0.0");
    let path = format!(
        "/xapi/activities/profile?activityId={}&profileId=p1",
        enc(ACTIVITY)
    );
    send(&server, Method::POST, &path, Some(json!({"a": 1})), &[]).await;
    let conflict = send(&server, Method::PUT, &path, Some(json!({"a": 2})), &[]).await;
    assert_eq!(conflict.status(), 409);
    let content_type = conflict.headers()["content-type"]
        .to_str()
        .expect("content type")
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = conflict.text().await.expect("body");
    // The ADL 2.0 suite reads the body as a string: it must not parse as JSON.
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(text.contains("If-Match"), "{text}");
}

#[tokio::test]
async fn person_name_comes_from_a_statement_that_gives_one_c_2_4() {
    let server = TestServer::start().await;
    let verb = json!({"id": "http://adlnet.gov/expapi/verbs/attended"});
    let object = json!({"id": "http://www.example.com/meetings/occurances/34534"});
    server
        .store(&json!({
            "actor": {"name": "xAPI mbox", "mbox": "mailto:xapi@adlnet.gov"},
            "verb": verb, "object": object
        }))
        .await;
    // A newer statement names the same agent without a name.
    server
        .store(&json!({
            "actor": {"mbox": "mailto:other@adlnet.gov"},
            "verb": verb, "object": object,
            "context": {"instructor": {"mbox": "mailto:xapi@adlnet.gov"}}
        }))
        .await;
    let person: Value = send(
        &server,
        Method::GET,
        &format!(
            "/xapi/agents?agent={}",
            enc(r#"{"mbox":"mailto:xapi@adlnet.gov"}"#)
        ),
        None,
        &[],
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(
        person,
        json!({"objectType": "Person", "name": ["xAPI mbox"], "mbox": ["mailto:xapi@adlnet.gov"]})
    );
    // An agent no statement names: the Person has what the request said about it.
    let person: Value = send(
        &server,
        Method::GET,
        &format!(
            "/xapi/agents?agent={}",
            enc(&RICK.replace("{\"objectType\"", "{\"name\":\"Rick James\",\"objectType\""))
        ),
        None,
        &[],
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(
        person,
        json!({
            "objectType": "Person",
            "name": ["Rick James"],
            "account": [{"homePage": "http://www.example.com/agentId/1", "name": "Rick James"}]
        })
    );
}
